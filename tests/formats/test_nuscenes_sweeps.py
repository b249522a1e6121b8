"""nuScenes with its sweeps: every LiDAR sweep a frame, the annotated samples keyframes, the frames
between interpolated; the export writes the sweeps back as sweeps (checked by the devkit)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from formats.convert import call_writer, convert, get_writer
from formats.datasets import open_dataset
from formats.datasets.errors import DatasetError
from formats.native import write_synth_scene
from fusionlabel.synth import SynthConfig, SynthScene
from tests.conftest import nusc_python, real_data

EVERY = 5


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("nusc_sweeps")
    native = d / "synth"
    write_synth_scene(SynthScene(SynthConfig(frames=11, seed=4, cameras=6, image_size=(160, 90), azimuths=360)),
                      native)
    convert(native, d / "nusc", "nuscenes", keyframe_every=EVERY)  # 3 samples, 8 sweeps
    return native, d / "nusc"


def test_sweeps_are_frames_and_samples_keyframes(scenes: tuple[Path, Path]) -> None:
    native, nusc = scenes
    nat = open_dataset(native)
    keyed = open_dataset(nusc)
    assert len(keyed) == 3
    got = open_dataset(nusc, sweeps=True)
    assert len(got) == len(nat) == 11
    assert got.info.meta["keyframes"] == [0, 5, 10]
    assert got.info.frame_times_ns() == nat.info.frame_times_ns()
    for k in range(len(nat)):
        assert np.allclose(got.read_lidar(k).xyz, nat.read_lidar(k).xyz, atol=1e-6)
        assert np.abs(got.info.frames[k].T_world_from_ego - nat.info.frames[k].T_world_from_ego).max() < 1e-6
        assert sorted(got.info.frames[k].camera_files) == sorted(keyed.camera_names)  # nearest images paired
    assert got.sync.complete
    # annotations: keyframes at the samples only, the frames between interpolated
    errs = []
    for tr in got.annotations.tracks.values():
        assert set(tr.keyframe_indices()) <= {0, 5, 10}
    for k in (2, 7):
        want = {round(r.box.center[0], 1): r.box for r in nat.annotations.boxes_at(k)}
        for r in got.annotations.boxes_at(k):
            near = min(want.values(), key=lambda b: np.linalg.norm(np.subtract(b.center, r.box.center)))
            errs.append(float(np.linalg.norm(np.subtract(near.center, r.box.center))))
    assert errs and np.median(errs) < 0.05 and max(errs) < 1.0  # synthetic motion is smooth
    # sweeps on a scene without sweeps: the samples only
    with pytest.raises(DatasetError, match="option 'sweeps'"):
        open_dataset(nusc, sweeps="yes")


def test_export_writes_sweeps_back_as_sweeps(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    _, nusc = scenes
    got = open_dataset(nusc, sweeps=True)
    s = call_writer(get_writer("nuscenes"), got, tmp_path / "again", None, {})
    assert s.frames == 11
    tables = next(p for p in (tmp_path / "again").iterdir() if (p / "sample.json").is_file())
    assert len(json.loads((tables / "sample.json").read_text())) == 3
    sd = json.loads((tables / "sample_data.json").read_text())
    lidar = [r for r in sd if "LIDAR_TOP" in r["filename"]]
    assert sum(r["is_key_frame"] for r in lidar) == 3 and len(lidar) == 11
    assert len(list((tmp_path / "again" / "sweeps" / "LIDAR_TOP").iterdir())) == 8
    back = open_dataset(tmp_path / "again", sweeps=True)
    assert back.info.meta["keyframes"] == [0, 5, 10]
    for k in (0, 5, 10):
        a = sorted(tuple(np.round(r.box.center, 4)) for r in got.annotations.boxes_at(k))
        b = sorted(tuple(np.round(r.box.center, 4)) for r in back.annotations.boxes_at(k))
        assert a == b
    py = nusc_python()
    if py is None:
        pytest.skip("the nuScenes devkit venv (.venv-nusc) is not installed")
    script = (
        "import sys, json\nfrom nuscenes.nuscenes import NuScenes\n"
        "n = NuScenes(version=sys.argv[2], dataroot=sys.argv[1], verbose=False)\n"
        "s = n.sample[0]; tok = s['data']['LIDAR_TOP']; chain = 0\n"
        "while tok:\n    chain += 1; tok = n.get('sample_data', tok)['next']\n"
        "print(json.dumps({'samples': len(n.sample), 'chain': chain}))\n")
    out = subprocess.run([str(py), "-c", script, str(tmp_path / "again"), tables.name], capture_output=True,
                         text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res == {"samples": 3, "chain": 11}


def test_real_keyframe_sample_with_sweeps_option() -> None:
    root = real_data("nuscenes_kf")
    a = open_dataset(root)
    b = open_dataset(root, sweeps=True)  # the sample has no sweeps: its keyframe is the only frame
    assert len(a) == len(b) == 1 and b.info.meta["keyframes"] == [0]
    assert np.array_equal(a.read_lidar(0).xyz, b.read_lidar(0).xyz)
    assert sorted(a.info.frames[0].camera_files) == sorted(b.info.frames[0].camera_files)
    assert len(b.annotations) == len(a.annotations) > 0


def test_slower_cameras_serve_neighbouring_sweeps(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    """A camera slower than the LiDAR (nuScenes: 12 Hz against 20 Hz): each sweep shows the
    nearest image within the tolerance, with that image's own time and pose."""
    import shutil

    _, nusc = scenes
    copy = tmp_path / "nusc"
    shutil.copytree(nusc, copy)
    tables = next(p for p in copy.iterdir() if (p / "sample_data.json").is_file())
    sd = json.loads((tables / "sample_data.json").read_text())
    # drop the CAM_FRONT sweeps of odd frames (keep the keyframes 0, 5, 10)
    front = sorted((r for r in sd if "CAM_FRONT__" in r["filename"]), key=lambda r: r["timestamp"])
    drop = {r["token"] for i, r in enumerate(front) if i % 2 == 1 and not r["is_key_frame"]}
    (tables / "sample_data.json").write_text(json.dumps([r for r in sd if r["token"] not in drop]))
    strict = open_dataset(copy, sweeps=True)  # tolerance 75 ms: the neighbours 100 ms away are not used
    assert strict.sync.cameras["CAM_FRONT"].missing == len(drop)
    loose = open_dataset(copy, sweeps=True, tolerance_ms=120)
    st = loose.sync.cameras["CAM_FRONT"]
    assert st.missing == 0 and st.max_abs_dt_ns == 100_000_000
    ts = [f.camera_timestamps_ns["CAM_FRONT"] for f in loose.info.frames]
    assert len(set(ts)) == len(front) - len(drop)  # an image serves two sweeps
    k = next(i for i in range(1, len(ts)) if ts[i] == ts[i - 1])
    assert np.array_equal(loose.read_image(k, "CAM_FRONT"), loose.read_image(k - 1, "CAM_FRONT"))
    assert np.allclose(loose.T_world_from_sensor(k, "CAM_FRONT"), loose.T_world_from_sensor(k - 1, "CAM_FRONT"))
