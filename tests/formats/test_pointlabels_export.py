"""Point-label exports: SemanticKITTI (exact round trip), nuScenes lidarseg / panoptic (read back, and
loaded by the official devkit in its own venv: render_sample_data draws, get_sample_lidarseg_stats
counts the same points per class as our labels)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from formats.convert import convert
from formats.datasets import open_dataset
from formats.export.lidarseg import read_lidarseg
from formats.export.nuscenes import DEFAULT_VERSION
from formats.export.semantickitti import read_semantickitti
from formats.native import write_synth_scene
from formats.pointlabels import ensure_point_labels, sweeps_of
from fusionlabel.cli import main
from fusionlabel.commands import UndoStack
from fusionlabel.pointlabels.classes import NUSCENES_LIDARSEG
from fusionlabel.pointlabels.tools import fill_from_boxes
from fusionlabel.synth import SynthConfig, SynthScene
from tests.conftest import nusc_python, real_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth_seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plexport") / "seq"
    write_synth_scene(SynthScene(SynthConfig(frames=3, seed=3, cameras=0, beams=32, azimuths=900)), out)
    return out


def test_semantickitti_round_trip_is_exact(synth_seq: Path, tmp_path: Path) -> None:
    dst = tmp_path / "skitti"
    assert main(["convert", str(synth_seq), str(dst), "--to", "semantickitti"]) == 0
    gt = open_dataset(synth_seq).annotations.point_labels
    table, frames = read_semantickitti(dst)
    assert sorted(frames) == [0, 1, 2]
    seq = dst / "sequences" / "00"
    for f, lab in frames.items():
        n_pts = (seq / "velodyne" / f"{f:06d}.bin").stat().st_size // 16
        assert (seq / "labels" / f"{f:06d}.label").stat().st_size == 4 * n_pts == 4 * len(gt.get(f))
        assert np.array_equal(lab.semantic, gt.get(f).semantic)
        assert np.array_equal(lab.instance, gt.get(f).instance)
    raw = np.fromfile(seq / "labels" / "000000.label", dtype="<u4")
    assert set(np.unique(raw & 0xFFFF).tolist()) <= {10, 11, 30, 40, 48, 50, 72, 80}
    assert "40: \"road\"" in (dst / "semantic-kitti.yaml").read_text()
    assert len((seq / "poses.txt").read_text().splitlines()) == 3


def test_semantickitti_read_back_names_bad_files(synth_seq: Path, tmp_path: Path) -> None:
    """A label file not named by a frame number, or an inverse table out of range, is a FormatError
    naming the file (not ValueError / IndexError)."""
    from formats.errors import FormatError

    dst = tmp_path / "skitti"
    assert main(["convert", str(synth_seq), str(dst), "--to", "semantickitti"]) == 0
    labels = dst / "sequences" / "00" / "labels"
    (labels / "000001.label").rename(labels / "000001 copy.label")
    with pytest.raises(FormatError, match="000001 copy.label: a label file is named by its frame number"):
        read_semantickitti(dst)
    (labels / "000001 copy.label").rename(labels / "000001.label")
    cf = dst / "fusionlabel-pointclasses.json"
    d = json.loads(cf.read_text())
    for inverse in ({"70000": 1}, {"10": 300}, {"10": -1}, {"x": 1}, [1]):
        cf.write_text(json.dumps({**d, "inverse": inverse}))
        with pytest.raises(FormatError, match="fusionlabel-pointclasses.json: inverse"):
            read_semantickitti(dst)


def _partition_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same grouping of points into instances (0 = none in both), up to renumbering."""
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a[a != 0], b[b != 0]], axis=1), axis=0)
    return len(np.unique(pairs[:, 0])) == len(pairs) == len(np.unique(pairs[:, 1]))


def test_nuscenes_lidarseg_and_panoptic_read_back(synth_seq: Path, tmp_path: Path) -> None:
    dst = tmp_path / "nusc"
    convert(synth_seq, dst, "nuscenes")
    gt = open_dataset(synth_seq).annotations.point_labels
    back = read_lidarseg(dst, DEFAULT_VERSION, gt.table)
    assert len(back) == 3
    cats = json.loads((dst / DEFAULT_VERSION / "category.json").read_text())
    assert [c["index"] for c in cats] == list(range(32)) and cats[17]["name"] == "vehicle.car"
    sds = {r["token"]: r for r in json.loads((dst / DEFAULT_VERSION / "sample_data.json").read_text())}
    for token, lab in back.items():
        f = sorted(sds[t]["timestamp"] for t in back).index(sds[token]["timestamp"])
        truth = gt.get(f)
        assert np.array_equal(gt.table.to_nuscenes(lab.semantic), gt.table.to_nuscenes(truth.semantic))
        thing = gt.table.thing_mask()[truth.semantic]
        assert _partition_equal(lab.instance, np.where(thing, truth.instance, 0))


DEVKIT_SCRIPT = r'''
import contextlib, io, json, re, sys
import matplotlib
matplotlib.use("Agg")
from nuscenes.nuscenes import NuScenes

dataroot, version, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
nusc = NuScenes(version=version, dataroot=dataroot, verbose=False)
out = {"stats": {}, "drawn": []}
for sample in nusc.sample:
    per = {}
    for gt_from in ("lidarseg", "panoptic"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            nusc.get_sample_lidarseg_stats(sample["token"], sort_by="index", gt_from=gt_from)
        per[gt_from] = {m.group(1): int(m.group(2).replace(",", ""))
                        for m in re.finditer(r"^\s*\d+\s+(\S+)\s+n=\s*([\d,]+)", buf.getvalue(), re.M)}
    out["stats"][sample["data"]["LIDAR_TOP"]] = per
sd = nusc.sample[0]["data"]["LIDAR_TOP"]
for name, kw in (("lidarseg", {"show_lidarseg": True}), ("panoptic", {"show_panoptic": True})):
    path = f"{outdir}/{name}.png"
    nusc.render_sample_data(sd, out_path=path, underlay_map=False, verbose=False, **kw)
    out["drawn"].append(path)
json.dump(out, sys.stdout)
'''


def _devkit(dataroot: Path, version: str, tmp_path: Path) -> dict:
    exe = nusc_python()
    if exe is None:
        pytest.skip(f"no .venv-nusc (with nuscenes-devkit) at {ROOT} or its main checkout")
    script = tmp_path / "lidarseg_reference.py"
    script.write_text(DEVKIT_SCRIPT)
    res = subprocess.run([str(exe), str(script), str(dataroot), version, str(tmp_path)], capture_output=True,
                         text=True, timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def _check_devkit(out: dict, ours: dict[str, np.ndarray]) -> None:
    names = [n for n, _, _ in NUSCENES_LIDARSEG]
    assert set(out["stats"]) == set(ours)
    for sd, seg in ours.items():
        counts = np.bincount(seg, minlength=32)
        expected = {names[i]: int(c) for i, c in enumerate(counts) if c}
        assert out["stats"][sd]["lidarseg"] == expected
        assert out["stats"][sd]["panoptic"] == expected
    import cv2

    for path in out["drawn"]:
        img = cv2.imread(path)
        assert img is not None and img.std() > 1.0  # something was drawn


@pytest.mark.slow
def test_devkit_loads_synthetic_lidarseg_and_panoptic(synth_seq: Path, tmp_path: Path) -> None:
    dst = tmp_path / "nusc"
    convert(synth_seq, dst, "nuscenes")
    gt = open_dataset(synth_seq).annotations.point_labels
    back = read_lidarseg(dst, DEFAULT_VERSION, gt.table)
    ours = {sd: gt.table.to_nuscenes(lab.semantic) for sd, lab in back.items()}
    _check_devkit(_devkit(dst, DEFAULT_VERSION, tmp_path), ours)


@pytest.mark.slow
def test_devkit_loads_the_real_keyframe_labelled_from_its_boxes(tmp_path: Path) -> None:
    root = real_data("nuscenes_kf")
    loaded = open_dataset(root)
    labels = ensure_point_labels(loaded)
    UndoStack(loaded.annotations).push(fill_from_boxes(loaded.annotations, sweeps_of(loaded)))
    labelled = {f: labels.get(f).semantic.copy() for f in range(len(loaded))}
    assert sum(int((s != 255).sum()) for s in labelled.values()) > 1000
    from formats.export.nuscenes import write_nuscenes

    dst = tmp_path / "nusc"
    write_nuscenes(loaded, dst, version="v1.0-labelled")
    back = read_lidarseg(dst, "v1.0-labelled", labels.table)
    ours = {sd: labels.table.to_nuscenes(lab.semantic) for sd, lab in back.items()}
    assert sorted(int((s != 0).sum()) for s in ours.values()) == sorted(
        int((s != 255).sum()) for s in labelled.values())
    out = _devkit(dst, "v1.0-labelled", tmp_path)
    _check_devkit(out, ours)
    assert any(re.match(r"vehicle\.", k) for per in out["stats"].values() for k in per["lidarseg"])


def test_label_points_cli_writes_a_project_that_converts(synth_seq: Path, tmp_path: Path) -> None:
    proj = tmp_path / "p.flproj"
    assert main(["label-points", str(synth_seq), "--out", str(proj), "--clear", "--fill-boxes", "--ground-road",
                 "--road-width", "15.75", "5.25", "--ground-class", "flat.sidewalk", "--qa"]) == 0
    assert (tmp_path / "p.flproj.pointlabels" / "index.json").is_file()
    gt = open_dataset(synth_seq).annotations.point_labels
    dst = tmp_path / "sk"
    assert main(["convert", str(proj), str(dst), "--to", "semantickitti"]) == 0
    table, frames = read_semantickitti(dst)
    lab, truth = frames[1], gt.get(1)
    obj = truth.instance != 0
    assert (lab.instance[obj] == truth.instance[obj]).mean() > 0.99
    road = truth.semantic == table.index("flat.driveable_surface")
    assert (lab.semantic[road] == truth.semantic[road]).mean() > 0.95
    # the second run on the project adds nothing new and keeps the labels
    assert main(["label-points", str(proj), "--fill-boxes"]) == 0
    assert main(["label-points", str(synth_seq)]) == 2  # a sequence needs --out


def test_export_bev_rasters_point_classes(synth_seq: Path, tmp_path: Path) -> None:
    from formats.bev import load_bev_frame

    dst = tmp_path / "bev"
    assert main(["export-bev", str(synth_seq), str(dst), "--resolution", "0.5"]) == 0
    meta = json.loads((dst / "meta.json").read_text())
    table = open_dataset(synth_seq).annotations.point_labels.table
    assert meta["point_classes"] == table.to_dict()
    z = load_bev_frame(dst / "npz" / "000000.npz")
    sem = z["point_semantic"]
    assert sem.shape == (meta["size"][0], meta["size"][1]) and sem.dtype == np.uint8
    present = set(np.unique(sem).tolist())
    assert {table.index("vehicle.car"), table.index("flat.driveable_surface"), 255} <= present
    # where boxes cover cells, the majority class there is the box's (object points on top of ground)
    car = z["occupancy"][list(z["classes"]).index("car")]
    on_car = sem[car & (sem != 255)]
    assert (on_car == table.index("vehicle.car")).mean() > 0.8
    assert (dst / "png" / "semantic" / "000000.png").is_file()


def test_nuscenes_reader_attaches_lidarseg_labels(synth_seq: Path, tmp_path: Path) -> None:
    dst = tmp_path / "nusc"
    convert(synth_seq, dst, "nuscenes")
    gt = open_dataset(synth_seq).annotations.point_labels
    back = open_dataset(dst)
    labels = back.annotations.point_labels
    assert labels is not None and labels.labelled_frames() == [0, 1, 2] and labels.sensor == "LIDAR_TOP"
    for f in range(3):
        lab, truth = labels.get(f), gt.get(f)
        assert len(lab) == len(back.read_lidar(f, "LIDAR_TOP"))
        assert np.array_equal(gt.table.to_nuscenes(lab.semantic), gt.table.to_nuscenes(truth.semantic))
        assert _partition_equal(lab.instance, np.where(gt.table.thing_mask()[truth.semantic], truth.instance, 0))
    # and on to SemanticKITTI: the labels travel
    sk = tmp_path / "sk"
    convert(dst, sk, "semantickitti")
    _, frames = read_semantickitti(sk)
    assert np.array_equal(frames[2].semantic, labels.get(2).semantic)
