"""Round trips of the export writers on a synthetic scene, read back by the dataset readers.

Tolerances (done-when): centre and size <= 1 cm, yaw <= 0.01 rad, ids kept where the format has
them. KITTI object has neither ids nor poses: boxes are compared per frame in the LiDAR frame and
matched by position. KITTI tracking keeps ids; its reader's world is the LiDAR frame at frame 0.
nuScenes keeps identity through instance tokens and the global frame exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calib.transforms import invert, wrap_angle
from formats.convert import ConvertSummary, convert, convert_path, get_writer, writer_names
from formats.datasets import open_dataset
from formats.errors import FormatError
from formats.native import write_synth_scene
from fusionlabel.box import Box3D
from fusionlabel.ontology import Ontology
from fusionlabel.synth import SynthConfig, SynthScene

CENTRE_TOL = 0.01
SIZE_TOL = 0.01
YAW_TOL = 0.01
LIDAR = "lidar_top"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export_rt") / "synth"
    cfg = SynthConfig(frames=4, seed=5, cameras=6, image_size=(160, 90), azimuths=360)
    write_synth_scene(SynthScene(cfg), out)
    return out


def _errors(a: Box3D, b: Box3D) -> tuple[float, float, float]:
    return (
        float(np.linalg.norm(np.subtract(a.center, b.center))),
        float(np.abs(np.subtract(a.size, b.size)).max()),
        abs(float(wrap_angle(a.yaw - b.yaw))),
    )


def _T_velo_from_world(src: object, k: int) -> np.ndarray:
    """The written velodyne frame: the LiDAR's origin with the ego's axes."""
    T = np.eye(4)
    T[:3, :3] = src.rig(k).T("ego", LIDAR)[:3, :3]  # type: ignore[attr-defined]
    return T @ invert(src.T_world_from_sensor(k, LIDAR))  # type: ignore[attr-defined]


def _check(errs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    worst = tuple(max(e[i] for e in errs) for i in range(3))
    assert worst[0] <= CENTRE_TOL and worst[1] <= SIZE_TOL and worst[2] <= YAW_TOL, worst
    return worst  # type: ignore[return-value]


def test_registry_names_the_formats() -> None:
    assert set(writer_names()) >= {"kitti", "kitti-tracking", "nuscenes", "openlabel", "native"}
    assert callable(get_writer("kitti-object"))  # alias
    with pytest.raises(FormatError, match="unknown output format 'bogus'"):
        get_writer("bogus")


def test_native_kitti_native(scene: Path, tmp_path: Path) -> None:
    src = open_dataset(scene)
    s = convert(scene, tmp_path / "kitti", "kitti")
    assert (tmp_path / "kitti" / "label_2" / "000000.txt").is_file()
    assert sorted(p.name for p in (tmp_path / "kitti").iterdir()) == ["calib", "image_2", "label_2", "velodyne"]
    s2 = convert(tmp_path / "kitti", tmp_path / "native", "native")
    assert s2.frames == len(src)
    back = open_dataset(tmp_path / "native")
    assert back.format == "native" and len(back) == len(src)
    errs = []
    kept = 0
    for k in range(len(src)):
        want = [r.box.transformed(_T_velo_from_world(src, k)) for r in src.annotations.boxes_at(k)]
        # the read-back world is the velodyne frame of each frame
        got = [r.box.transformed(invert(back.T_world_from_sensor(k, "velodyne"))) for r in back.annotations.boxes_at(k)]
        assert {r.label for r in back.annotations.boxes_at(k)} <= {"Car", "Pedestrian", "Cyclist"}
        used = set()
        for g in got:
            d = [np.linalg.norm(np.subtract(w.center, g.center)) for w in want]
            j = int(np.argmin(d))
            assert j not in used
            used.add(j)
            errs.append(_errors(want[j], g))
        kept += len(got)
    assert kept == s.boxes and kept > 10
    # every source box is either written or skipped with a reason
    assert kept + len(s.skipped) == src.annotations.num_boxes()
    assert all("outside the cam_front image" in why or "less than 1 pixel wide or high" in why for _, why in s.skipped)
    print("native->kitti->native worst (centre m, size m, yaw rad):", _check(errs))


def test_native_kitti_tracking_native(scene: Path, tmp_path: Path) -> None:
    src = open_dataset(scene)
    s = convert(scene, tmp_path / "kt", "kitti-tracking")
    for sub in ("calib/0000.txt", "label_02/0000.txt", "oxts/0000.txt", "velodyne/0000/000003.bin",
                "image_02/0000/000000.png"):
        assert (tmp_path / "kt" / sub).is_file(), sub
    convert(tmp_path / "kt", tmp_path / "native", "native")
    back = open_dataset(tmp_path / "native")
    # the reader's world: the velodyne frame at frame 0 (poses from the written OXTS)
    T_w2_from_w = _T_velo_from_world(src, 0)
    pose_err = max(
        np.abs(back.info.frames[k].T_world_from_ego - T_w2_from_w @ invert(_T_velo_from_world(src, k))).max()
        for k in range(len(src))
    )
    assert pose_err < 1e-6
    errs = []
    for k in range(len(src)):
        want = {r.track_id: r.box.transformed(T_w2_from_w) for r in src.annotations.boxes_at(k)}
        got = back.annotations.boxes_at(k)
        assert got
        for r in got:
            assert r.track_id in want  # ids kept
            assert r.label == Ontology.default().to_kitti(src.annotations.tracks[r.track_id].label)
            errs.append(_errors(want[r.track_id], r.box))
    assert len(errs) == s.boxes
    print("native->kitti-tracking->native worst:", _check(errs), "pose", pose_err)


def test_native_nuscenes_native(scene: Path, tmp_path: Path) -> None:
    src = open_dataset(scene)
    s = convert(scene, tmp_path / "nusc", "nuscenes")
    assert not s.skipped and s.boxes == src.annotations.num_boxes()
    convert(tmp_path / "nusc", tmp_path / "native", "native")
    back = open_dataset(tmp_path / "native")
    assert [f.timestamp_ns for f in back.info.frames] == [f.timestamp_ns for f in src.info.frames]
    for k in range(len(src)):
        assert np.abs(back.info.frames[k].T_world_from_ego - src.info.frames[k].T_world_from_ego).max() < 1e-9
    onto = Ontology.default()
    mapping: dict[int, int] = {}
    errs = []
    for k in range(len(src)):
        want = src.annotations.boxes_at(k)
        got = back.annotations.boxes_at(k)
        assert len(got) == len(want)
        for g in got:
            w = min(want, key=lambda r: np.linalg.norm(np.subtract(r.box.center, g.box.center)))
            assert mapping.setdefault(g.track_id, w.track_id) == w.track_id  # identity kept across frames
            assert g.label == onto.to_nuscenes(w.label)
            errs.append(_errors(w.box, g.box))
    assert len(set(mapping.values())) == len(mapping) == len(src.annotations)
    assert _check(errs) < (1e-9, 1e-9, 1e-9)
    # cameras come back as nuScenes channels with the pinhole models written
    assert sorted(back.camera_names) == ["CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT", "CAM_FRONT",
                                         "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT"]
    assert back.rig(0).camera("CAM_FRONT").model == "none"
    assert np.allclose(back.rig(0).camera("CAM_FRONT").K, src.rig(0).camera("cam_front").K)


def test_nuscenes_keyframe_rate_and_tables(scene: Path, tmp_path: Path) -> None:
    import json

    src = open_dataset(scene)
    s = convert(scene, tmp_path / "nusc", "nuscenes", keyframe_hz=5.0)  # 10 Hz -> every 2nd frame
    vdir = tmp_path / "nusc" / "v1.0-fusionlabel"
    tables = {p.stem: json.loads(p.read_text()) for p in vdir.glob("*.json")}
    assert set(tables) == {"scene", "sample", "sample_data", "sample_annotation", "instance", "category",
                           "attribute", "visibility", "ego_pose", "calibrated_sensor", "sensor", "log", "map",
                           "lidarseg", "panoptic"}  # a synthetic scene carries per-point ground truth
    assert len(tables["sample"]) == 2
    assert len(tables["lidarseg"]) == len(tables["panoptic"]) == 2  # keyframes only
    sd = tables["sample_data"]
    assert sum(r["is_key_frame"] for r in sd) == 2 * 7 and sum(not r["is_key_frame"] for r in sd) == 2 * 7
    assert all(r["filename"].startswith("sweeps/") for r in sd if not r["is_key_frame"])
    # prev/next chains: each channel is one chain over all frames
    by_token = {r["token"]: r for r in sd}
    heads = [r for r in sd if r["prev"] == ""]
    assert len(heads) == 7
    for h in heads:
        n, r = 1, h
        while r["next"]:
            r = by_token[r["next"]]
            n += 1
        assert n == len(src)
    anns = tables["sample_annotation"]
    assert s.boxes == len(anns) == sum(len(src.annotations.boxes_at(k)) for k in (0, 2))
    a = anns[0]
    assert len(a["size"]) == 3 and len(a["rotation"]) == 4 and a["num_radar_pts"] == 0
    assert a["visibility_token"] in {"1", "2", "3", "4"}
    assert max(x["num_lidar_pts"] for x in anns) > 0
    inst = {i["token"]: i for i in tables["instance"]}
    assert sum(i["nbr_annotations"] for i in inst.values()) == len(anns)
    back = open_dataset(tmp_path / "nusc")
    assert len(back) == 2
    for kb, ks in ((0, 0), (1, 2)):
        got = sorted(r.box.center for r in back.annotations.boxes_at(kb))
        want = sorted(r.box.center for r in src.annotations.boxes_at(ks))
        assert np.allclose(got, want, atol=1e-9)


def test_num_lidar_pts_counts_the_sweep(scene: Path, tmp_path: Path) -> None:
    """num_lidar_pts equals the ground-truth per-point instance ids of the synthetic sweep."""
    import json

    from formats.native import load_sequence, read_lidar_instance

    convert(scene, tmp_path / "nusc", "nuscenes")
    anns = json.loads((tmp_path / "nusc" / "v1.0-fusionlabel" / "sample_annotation.json").read_text())
    seq = load_sequence(scene)
    inst = read_lidar_instance(seq, 0)
    from formats.export.common import token

    tok0 = {token(seq.name, "sample_annotation", tid, 0): tid for tid in range(200)}
    checked = 0
    for a in anns:
        tid = tok0.get(a["token"])
        if tid is None:
            continue
        gt = int(np.count_nonzero(inst == tid))
        assert abs(a["num_lidar_pts"] - gt) <= max(2, 0.02 * gt), (tid, a["num_lidar_pts"], gt)
        checked += 1
    assert checked > 10


def test_conversions_chain_kitti_tracking_nuscenes(scene: Path, tmp_path: Path) -> None:
    """native -> nuScenes -> KITTI tracking -> native: boxes stay put (in the KITTI world)."""
    src = open_dataset(scene)
    convert(scene, tmp_path / "nusc", "nuscenes")
    convert(tmp_path / "nusc", tmp_path / "kt", "kitti-tracking")
    back = open_dataset(tmp_path / "kt")
    T_w2_from_w = _T_velo_from_world(src, 0)
    errs = []
    for k in range(len(src)):
        want = [r.box.transformed(T_w2_from_w) for r in src.annotations.boxes_at(k)]
        for g in back.annotations.boxes_at(k):
            w = min(want, key=lambda b: np.linalg.norm(np.subtract(b.center, g.box.center)))
            errs.append(_errors(w, g.box))
    assert errs
    _check(errs)


def test_existing_output_is_refused_and_failures_leave_nothing(scene: Path, tmp_path: Path) -> None:
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "keep.txt").write_text("x")
    with pytest.raises(FormatError, match="not empty"):
        convert(scene, dst, "kitti")
    assert (dst / "keep.txt").read_text() == "x"
    s = convert(scene, dst, "kitti", overwrite=True)
    assert s.frames == 4 and not (dst / "keep.txt").exists()
    # a writer error mid-way leaves no folder behind
    with pytest.raises(FormatError, match="no camera 'nope'"):
        convert(scene, tmp_path / "bad", "kitti", camera="nope")
    assert not (tmp_path / "bad").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_kitti_object_frames_with_different_calibrations_are_refused_by_native(tmp_path: Path) -> None:
    from tests.conftest import real_data

    root = real_data("kitti_object_vis", "data", "object", "training")
    with pytest.raises(FormatError, match="different calibrations"):
        convert(root, tmp_path / "n", "native")
    with pytest.raises(FormatError, match="different calibrations"):
        convert(root, tmp_path / "t", "kitti-tracking")


def test_folder_of_sequences_in_parallel(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for i in range(3):
        cfg = SynthConfig(frames=2, seed=10 + i, cameras=1, image_size=(96, 54), azimuths=180)
        write_synth_scene(SynthScene(cfg), root / f"s{i}")
    (root / "notes").mkdir()  # not a sequence: ignored
    # OpenCV's thread pool running in this process must not hang the workers (they are not forks)
    import cv2

    big = np.zeros((720, 1280, 3), np.uint8)
    grid = np.indices((720, 1280)).astype(np.float32)
    cv2.remap(big, grid[1], grid[0], cv2.INTER_LINEAR)
    seen: list[tuple[int, int]] = []
    s = convert_path(root, tmp_path / "out", "kitti-tracking", jobs=2, progress=lambda d, t: seen.append((d, t)))
    assert not s.failed and s.frames == 6
    assert sorted(Path(o).name for o in s.outputs) == ["s0", "s1", "s2"]
    assert seen[-1] == (6, 6) and all(t == 6 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) or seen[-1][0] == 6
    for i in range(3):
        back = open_dataset(tmp_path / "out" / f"s{i}")
        assert back.format == "kitti-tracking" and len(back) == 2
    # one failing sequence is reported, the others are written
    (root / "s1" / "rig.json").write_text("{broken")
    s2 = convert_path(root, tmp_path / "out2", "native", jobs=2)
    assert [n for n, _ in s2.failed] == ["s1"] and s2.frames == 4


def test_project_file_as_source(scene: Path, tmp_path: Path) -> None:
    from formats.project import save_project
    from fusionlabel.commands import DeleteTrack, UndoStack

    src = open_dataset(scene)
    doc = src.annotations
    victim = doc.track_ids()[0]
    UndoStack(doc).push(DeleteTrack(victim))
    proj = tmp_path / "p.flproj"
    save_project(proj, doc, scene, sequence_format="native")
    convert(proj, tmp_path / "out", "native")
    back = open_dataset(tmp_path / "out")
    assert victim not in back.annotations.tracks
    assert len(back.annotations) == len(doc)


def test_summary_text_and_merge() -> None:
    a = ConvertSummary(2, 5, [("frame 0 track 1", "outside the image_2 image")], ["x"])
    b = ConvertSummary(1, 1, [("frame 0 track 2", "outside the image_2 image")], ["y"], failed=[("z", "boom")])
    a.merge(b, prefix="seq: ")
    assert (a.frames, a.boxes, a.skip_reasons()) == (3, 6, {"outside the image_2 image": 2})
    text = a.text()
    assert "3 frames, 6 boxes" in text and "skipped 2: outside the image_2 image" in text and "FAILED z" in text
    assert a.to_dict()["failed"] == [["z", "boom"]]


def test_cli_convert(scene: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fusionlabel.cli import main

    rc = main(["convert", str(scene), str(tmp_path / "k"), "--to", "kitti", "--decimals", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "4 frames" in out and "skipped" in out
    line = (tmp_path / "k" / "label_2" / "000000.txt").read_text().splitlines()[0].split()
    assert all(len(v.split(".")[1]) == 2 for v in line[1:] if "." in v)
    rc = main(["convert", str(scene), str(tmp_path / "k"), "--to", "kitti"])
    assert rc == 2 and "not empty" in capsys.readouterr().err
    rc = main(["convert", str(scene), str(tmp_path / "n"), "--to", "nuscenes", "--keyframe-every", "2"])
    assert rc == 0 and len(open_dataset(tmp_path / "n")) == 2


def _plugin_writer(loaded: object, dst: Path, *, progress: object = None) -> ConvertSummary:
    """A writer without ``**options`` (as a plug-in may be): only what it names is passed."""
    n = len(loaded)  # type: ignore[arg-type]
    dst.mkdir()
    (dst / "frames.txt").write_text(str(n))
    if callable(progress):
        progress(n, n)
    return ConvertSummary(frames=n, outputs=[str(dst)])


def test_a_registered_writer_plugs_in(scene: Path, tmp_path: Path) -> None:
    from formats.convert import WRITERS, register_writer

    register_writer("plugin-test", _plugin_writer, "test")
    try:
        assert WRITERS["plugin-test"].target == "tests.formats.test_export_roundtrip:_plugin_writer"
        seen: list[tuple[int, int]] = []
        s = convert(scene, tmp_path / "p", "plugin-test", progress=lambda d, t: seen.append((d, t)),
                    camera="ignored", decimals=2)
        assert s.frames == 4 and seen == [(4, 4)] and (tmp_path / "p" / "frames.txt").read_text() == "4"
    finally:
        del WRITERS["plugin-test"]
    with pytest.raises(ValueError, match="module:function"):
        register_writer("x", "no_colon")


def test_find_sequences(tmp_path: Path) -> None:
    from formats.convert import find_sequences
    from formats.datasets import UnknownFormatError
    from tests.conftest import real_data

    with pytest.raises(UnknownFormatError, match="not a recognised dataset layout"):
        find_sequences(tmp_path)
    root = real_data("ab3dmot_kitti_tracking", "data", "KITTI", "mini", "training")
    assert [s.name for s in find_sequences(root)] == ["0001", "0016"]  # every sequence of the folder
    one = find_sequences(root, open_options={"sequence": "0016"})
    assert len(one) == 1 and dict(one[0].options)["sequence"] == "0016"
