"""`fusionlabel qa` / `agree` on a written synthetic sequence, projects and the HTML report."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from formats.native import write_synth_scene
from formats.project import SequenceRef, load_project, save_project
from formats.qa_report import bev_thumbnail, camera_thumbnail, open_qa_source, render_html, world_point_loader
from fusionlabel.box import Box3D
from fusionlabel.cli import main
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import Track
from fusionlabel.ontology import Ontology
from fusionlabel.qa import QAConfig, run_checks
from fusionlabel.synth import SynthConfig, SynthScene

N = 6


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("qa")
    scene = SynthScene(SynthConfig(frames=N, seed=0, cameras=1, image_size=(160, 90), azimuths=720))
    seq = write_synth_scene(scene, root / "seq")
    gt = scene.tracks()
    save_project(root / "gt.flproj", AnnotationDocument.from_tracks(gt, N), SequenceRef(seq, "native"))
    work = []
    moving_car = next(t for t in gt if t.label == "car" and t.attributes["state"] == "moving")
    for t in gt:
        if t.track_id == moving_car.track_id:  # a heading flip at frame 3
            kf = dict(t.keyframes)
            kf[3] = kf[3].replace(yaw=kf[3].yaw + math.pi)
            t = t.copy(keyframes=kf)
        work.append(t)
    save_project(root / "work.flproj", AnnotationDocument.from_tracks(work, N), SequenceRef(seq, "native"))
    return {"root": root, "seq": seq, "gt": gt, "flipped": moving_car.track_id}


def test_qa_cli_json_and_html(data: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = data["root"]
    html_path = tmp_path / "report.html"
    rc = main(["qa", str(root / "work.flproj"), "--json", "--html", str(html_path), "--against",
               str(root / "gt.flproj"), "--sample-rate", "0.5"])
    assert rc == 1  # error findings (the flip) fail by default
    out = json.loads(capsys.readouterr().out)
    flips = [f for f in out["findings"] if f["check"] == "heading_flip"]
    assert [(f["track_id"], f["frame"], f["severity"]) for f in flips] == [
        (data["flipped"], 3, "error"), (data["flipped"], 4, "error")]
    assert out["by_severity"]["error"] == 2 and out["kind"] == "project"
    assert "empty_box" in out["counts"] and out["skipped"] == {}  # points, range and duplicates all checked
    assert {3, 4} <= {s["frame"] for s in out["sampled_frames"]} and len(out["sampled_frames"]) == 3
    ag = out["agreement"]  # the flipped box still overlaps fully in BEV
    assert ag["precision"] == 1.0 and ag["recall"] == 1.0 and ag["id_switches"] == 0
    text = html_path.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 2
    assert not re.search(r"(src|href)=['\"](?!data:)", text)  # self-contained: no external resource
    imgs = re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", text)
    flagged = {f["frame"] for f in out["findings"] if f["severity"] != "info"}
    assert len(imgs) == len(flagged) and {3, 4} <= flagged  # one thumbnail per frame with an error or warning
    img = cv2.imdecode(np.frombuffer(base64.b64decode(imgs[0]), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[1] == 480 and img.shape[0] == 270
    assert "Agreement" in text and "heading_flip" in text and "Frames to review" in text
    assert main(["qa", str(root / "gt.flproj"), "--fail-on", "error"]) == 0  # clean ground truth
    assert "0 errors" in capsys.readouterr().out


def test_qa_on_a_dataset_and_agree(data: dict, capsys: pytest.CaptureFixture[str]) -> None:
    root, seq = data["root"], data["seq"]
    assert main(["qa", str(seq), "--json", "--fail-on", "never"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "dataset" and out["by_severity"]["error"] == 0 and out["tracks"] == len(data["gt"])
    assert "duplicate_id" in out["skipped"]
    assert main(["agree", str(seq), str(root / "gt.flproj"), "--json", "--iou", "3d"]) == 0
    ag = json.loads(capsys.readouterr().out)
    assert ag["tp"] == N * len(data["gt"]) and ag["fp"] == ag["fn"] == 0 and ag["mean_iou"] == pytest.approx(1.0)
    assert main(["agree", str(root / "gt.flproj"), str(root / "work.flproj"), "--iou", "3d"]) == 0
    text = capsys.readouterr().out
    assert "id switches 0" in text and re.search(r"car\s+\d+\s+0\s+0\s+1\.000\s+1\.000", text)
    # the flipped car: its boxes more than 90 degrees off the ground truth's are heading flips
    gt_doc, work_doc = (load_project(root / n).document for n in ("gt.flproj", "work.flproj"))
    flipped = sum(
        abs(math.remainder(w.box.yaw - g.box.yaw, 2 * math.pi)) > math.pi / 2
        for f in range(N) for g in gt_doc.boxes_at(f) for w in work_doc.boxes_at(f) if g.track_id == w.track_id)
    assert flipped >= 1
    assert main(["agree", str(root / "gt.flproj"), str(root / "work.flproj"), "--json"]) == 0
    ag = json.loads(capsys.readouterr().out)
    assert ag["heading_flips"] == {"count": flipped, "share": pytest.approx(flipped / ag["matched"])}
    assert ag["per_class"]["car"]["heading_flips"]["count"] == flipped
    assert ag["per_class"]["pedestrian"]["heading_flips"]["count"] == 0
    # the other boxes are the ground truth's own: the mean is the flips' 180 degrees spread over all pairs
    assert ag["heading_error_deg"] == {"mean": pytest.approx(180.0 * flipped / ag["matched"], abs=1e-6),
                                       "p95": pytest.approx(0.0, abs=1e-6)}
    assert main(["agree", str(root / "gt.flproj"), str(root / "work.flproj")]) == 0
    text = capsys.readouterr().out
    assert f"flips (> 90 deg) {flipped} (" in text
    assert re.search(rf"car\s+\d+\s+0\s+0\s+1\.000\s+1\.000\s+1\.000\s+\d+\.\d\s+0\.0\s+{flipped} \(", text)


def test_qa_project_with_repeated_track_ids(data: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads((data["root"] / "gt.flproj").read_text())
    entry = json.loads(json.dumps(raw["document"]["tracks"][0]))
    raw["document"]["tracks"].append(entry)  # a bad merge: one id twice over the whole sequence
    raw["sequence"]["path"] = str(data["seq"])
    p = tmp_path / "merged.flproj"
    p.write_text(json.dumps(raw))
    assert main(["qa", str(p), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    dups = [f for f in out["findings"] if f["check"] == "duplicate_id"]
    assert [(f["track_id"], f["frame"]) for f in dups] == [(entry["id"], k) for k in range(N)]
    assert any("renumbered" in n for n in out["notes"])
    # the renumbered copy lies exactly on the original: overlap errors on every frame too
    assert len([f for f in out["findings"] if f["check"] == "overlap" and f["severity"] == "error"]) == N


def test_qa_cli_errors_are_one_line(tmp_path: Path, data: dict, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "qa.json"
    bad.write_text(json.dumps({"checks": {"ground": {"tolerance": 1}}}))
    assert main(["qa", str(data["root"] / "gt.flproj"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "qa.json" in err and "checks.ground.tolerance: unknown parameter" in err and err.count("\n") == 1
    assert main(["agree", str(tmp_path / "nope"), str(data["seq"])]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_thumbnails_draw_boxes(data: dict) -> None:
    src = open_qa_source(data["root"] / "gt.flproj")
    boxes = [(r.track_id, r.label, r.box) for r in src.document.boxes_at(0)]
    cam = src.loaded.info.camera_names[0]
    plain = src.loaded.read_image(0, cam)
    drawn = camera_thumbnail(src.loaded, 0, cam, boxes, {boxes[0][0]: "error"}, src.ontology, width=320)
    assert drawn.shape == (180, 320, 3)
    ref = cv2.resize(plain, (320, 180), interpolation=cv2.INTER_LINEAR)
    assert (np.abs(drawn.astype(int) - ref).sum(axis=2) > 60).mean() > 0.01  # edges were drawn
    pts = world_point_loader(src.loaded)(0)
    T = src.loaded.T_world_from_sensor(0, src.loaded.info.lidar_names[0])
    bev = bev_thumbnail(pts, T[:2, 3], boxes, {}, src.ontology, size=200)
    assert bev.shape == (200, 200, 3) and (bev > 40).any()
    # a box straight ahead of the LiDAR is drawn in its class colour at the right pixel
    ahead = Box3D((T[0, 3] + 20, T[1, 3], 0.8), (4.0, 2.0, 1.6), 0.0)
    only = bev_thumbnail(None, T[:2, 3], [(0, "car", ahead)], {}, Ontology.default(), size=200, extent_m=50)
    car = 0.6 * np.array(Ontology.default().color("car")) + 0.4 * 18  # half-transparent over the background
    near = lambda v, u: np.abs(only[v - 1:v + 2, u - 1:u + 2].astype(int) - car).sum(axis=2).min() < 60  # noqa: E731
    assert near(100, 100 + 44) and near(100, 100 + 36)  # front / rear edge at x + 22 m / x + 18 m (2 px per m)
    assert not near(100, 100 + 40) and not near(100, 100 + 50)  # inside and beyond: background


def test_report_without_sequence(data: dict) -> None:
    doc = AnnotationDocument.from_tracks([Track(0, "car", {}, {0: Box3D((0, 0, 0.8), (9.0, 1.9, 1.6), 0.0)})], 2)
    res = run_checks(doc)
    text = render_html(res, None, config=QAConfig.default())
    assert "size_range" in text and "attributes" in text and "skipped: no point loader" in text
    assert "data:image" not in text


def test_qa_on_real_nuscenes_keyframe(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import real_data

    root = real_data("nuscenes_kf")
    src = open_qa_source(root)
    res = run_checks(src.document, src.loaded.info, world_point_loader(src.loaded), src.ontology)
    # nuScenes category names resolve to ontology classes: no "unknown class", size priors apply
    assert not [f for f in res.findings if "unknown class" in f.message]
    assert res.by_severity()["error"] == 0 and res.boxes == 69
    assert {"empty_box", "ground", "size_range", "lidar_range"} <= set(res.checks_run)
    empty = {f.track_id for f in res.select(check="empty_box")}
    assert len(empty) < 69 * 0.1  # most boxes hold points once the sweep is in the world frame
