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


def _devkit(root: Path, version: str, body: str) -> dict:
    """Run ``body`` (Python; ``n`` is the devkit's ``NuScenes`` over ``root``; it sets ``res``) in
    the devkit venv and return ``res`` (skips when the venv is not installed)."""
    py = nusc_python()
    if py is None:
        pytest.skip("the nuScenes devkit venv (.venv-nusc) is not installed")
    script = ("import sys, json\nfrom nuscenes.nuscenes import NuScenes\n"
              "n = NuScenes(version=sys.argv[2], dataroot=sys.argv[1], verbose=False)\n"
              f"{body}print(json.dumps(res))\n")
    out = subprocess.run([str(py), "-c", script, str(root), version], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    res = _devkit(tmp_path / "again", tables.name,
                  "s = n.sample[0]; tok = s['data']['LIDAR_TOP']; chain = 0\n"
                  "while tok:\n    chain += 1; tok = n.get('sample_data', tok)['next']\n"
                  "res = {'samples': len(n.sample), 'chain': chain}\n")
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


def test_real_sample_without_sweeps_says_so() -> None:
    root = real_data("nuscenes_kf")
    b = open_dataset(root, sweeps=True)
    assert any("no LIDAR_TOP sweeps" in w and "1 keyframe" in w for w in b.warnings), b.warnings
    assert not any("sweeps" in w for w in open_dataset(root).warnings)


SWEEP_OFFSETS_MS = (-100, -50, 50, 100, 150)  # LiDAR sweeps around the real keyframe (20 Hz)


def _with_sweeps(src: Path, dst: Path) -> dict[str, object]:
    """A copy of the real keyframe sample with LiDAR sweeps (and one CAM_FRONT sweep) added around
    its keyframe: the keyframe's point file under new names, ego poses along the ego's own motion
    (its velocity from the keyframe's per-camera poses). Returns the expected times and poses."""
    import shutil

    shutil.copytree(src, dst)
    v = dst / "v1.0-mini-kf"
    tab = {n: json.loads((v / f"{n}.json").read_text()) for n in ("sample_data", "ego_pose", "sensor",
                                                                  "calibrated_sensor")}
    poses = {p["token"]: p for p in tab["ego_pose"]}
    chan = {s["token"]: s["channel"] for s in tab["sensor"]}
    cs_chan = {c["token"]: chan[c["sensor_token"]] for c in tab["calibrated_sensor"]}
    by = {cs_chan[r["calibrated_sensor_token"]]: r for r in tab["sample_data"]}
    key = by["LIDAR_TOP"]
    cams = [poses[r["ego_pose_token"]] for ch, r in by.items() if ch != "LIDAR_TOP"]
    t_us = np.array([p["timestamp"] for p in cams], dtype=np.float64)
    xyz = np.array([p["translation"] for p in cams])
    vel = np.polyfit((t_us - t_us.mean()) * 1e-6, xyz, 1)[0]  # m/s
    kp = poses[key["ego_pose_token"]]
    expect: dict[str, object] = {"times": [], "xyz": []}

    def add(ch: str, base: dict, ms: int, suffix: str) -> None:
        ts = int(base["timestamp"]) + ms * 1000
        name = f"sweeps/{ch}/{Path(base['filename']).name.split('__')[0]}__{ch}__{ts}{suffix}"
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dst / base["filename"], dst / name)
        pose = {"token": f"pose_{ch}_{ts}", "timestamp": ts, "rotation": kp["rotation"],
                "translation": list(np.add(kp["translation"], vel * (ts - kp["timestamp"]) * 1e-6))}
        tab["ego_pose"].append(pose)
        tab["sample_data"].append({**base, "token": f"sd_{ch}_{ts}", "ego_pose_token": pose["token"],
                                   "timestamp": ts, "is_key_frame": False, "filename": name})
        if ch == "LIDAR_TOP":
            expect["times"].append(ts * 1000)  # type: ignore[union-attr]
            expect["xyz"].append(pose["translation"])  # type: ignore[union-attr]

    for ms in SWEEP_OFFSETS_MS:
        add("LIDAR_TOP", key, ms, ".pcd.bin")
    add("CAM_FRONT", by["CAM_FRONT"], 100, ".jpg")
    for n in ("sample_data", "ego_pose"):
        (v / f"{n}.json").write_text(json.dumps(tab[n]))
    expect["key_ns"] = int(key["timestamp"]) * 1000
    expect["key_xyz"] = kp["translation"]
    return expect


def test_real_sample_with_sweeps_added_opens_them_and_the_devkit_loads_the_export(tmp_path: Path) -> None:
    """The real keyframe sample with sweep records added: every sweep a frame (count, times, ego
    poses), the keyframe's annotations at its frame; our nuScenes export of it loads in the
    devkit with the same sweeps chained around the sample."""
    root = real_data("nuscenes_kf")
    exp = _with_sweeps(root, tmp_path / "nusc")
    plain = open_dataset(tmp_path / "nusc")
    assert len(plain) == 1 and any("5 LIDAR_TOP sweeps" in w for w in plain.warnings)
    got = open_dataset(tmp_path / "nusc", sweeps=True)
    want_t = sorted([*exp["times"], exp["key_ns"]])  # type: ignore[misc]
    assert len(got) == 6 and got.info.frame_times_ns() == want_t
    assert got.info.meta["keyframes"] == [2] and not got.warnings
    by_t = dict(zip(exp["times"], exp["xyz"], strict=True))  # type: ignore[arg-type]
    by_t[exp["key_ns"]] = exp["key_xyz"]  # type: ignore[index]
    for f in got.info.frames:
        assert np.allclose(f.T_world_from_ego[:3, 3], by_t[f.timestamp_ns], atol=1e-9)
        assert np.array_equal(got.read_lidar(f.index).xyz, plain.read_lidar(0).xyz)
    # cameras: each sweep the nearest CAM_FRONT image within 75 ms: the keyframe image (35 ms before
    # the LiDAR keyframe) or the added sweep image 100 ms after it; none for the last sweep
    front = [f.camera_timestamps_ns.get("CAM_FRONT") for f in got.info.frames]
    t_front = plain.info.frames[0].camera_timestamps_ns["CAM_FRONT"]
    assert front == [t_front] * 3 + [t_front + 100_000_000] * 2 + [None]
    assert got.sync.cameras["CAM_FRONT"].missing == 1
    assert len(got.annotations.boxes_at(2)) == len(plain.annotations.boxes_at(0)) > 0
    out = tmp_path / "export"
    s = call_writer(get_writer("nuscenes"), got, out, None, {})
    assert s.frames == 6
    tables = next(p for p in out.iterdir() if (p / "sample.json").is_file())
    back = open_dataset(out, sweeps=True)
    assert back.info.frame_times_ns() == want_t and back.info.meta["keyframes"] == [2]
    # an image serving several sweeps is written once (the keyframe's image as a sample)
    sd = json.loads((tables / "sample_data.json").read_text())
    fr = sorted((r["timestamp"], r["is_key_frame"]) for r in sd if "__CAM_FRONT__" in r["filename"])
    assert fr == [(t_front // 1000, True), (t_front // 1000 + 100_000, False)]
    assert [f.camera_timestamps_ns.get("CAM_FRONT") for f in back.info.frames] == front
    r = _devkit(out, tables.name,
                "tok = n.sample[0]['data']['LIDAR_TOP']\n"
                "while n.get('sample_data', tok)['prev']:\n    tok = n.get('sample_data', tok)['prev']\n"
                "out = []\n"
                "while tok:\n    sd = n.get('sample_data', tok); p = n.get('ego_pose', sd['ego_pose_token'])\n"
                "    pts = n.get_sample_data_path(tok)\n"
                "    out.append([sd['timestamp'], sd['is_key_frame'], p['translation'], len(open(pts, 'rb').read())])\n"
                "    tok = sd['next']\n"
                "res = {'samples': len(n.sample), 'anns': len(n.sample[0]['anns']), 'chain': out}\n")
    assert r["samples"] == 1 and r["anns"] == len(plain.annotations.boxes_at(0))
    assert [c[0] * 1000 for c in r["chain"]] == want_t
    assert [c[1] for c in r["chain"]] == [False, False, True, False, False, False]
    n_bytes = len(plain.read_lidar(0)) * 5 * 4
    for c in r["chain"]:
        assert np.allclose(c[2], by_t[c[0] * 1000], atol=1e-6) and c[3] == n_bytes


def test_a_sweep_with_a_dangling_sensor_token_names_the_table(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    """A sweep's calibrated_sensor token that names no record is a DatasetError naming the table
    and the sample_data (KeyError before; the keyframes' tokens were checked, not the sweeps')."""
    import shutil

    _, nusc = scenes
    d = tmp_path / "n"
    shutil.copytree(nusc, d)
    tables = next(p for p in d.iterdir() if (p / "sample_data.json").is_file())
    recs = json.loads((tables / "sample_data.json").read_text())
    sweep = next(r for r in recs if not r["is_key_frame"])
    sweep["calibrated_sensor_token"] = "nope"
    (tables / "sample_data.json").write_text(json.dumps(recs))
    open_dataset(d)  # the keyframes alone do not need it
    with pytest.raises(DatasetError, match=f"calibrated_sensor.json: sample_data {sweep['token']}: unknown "
                                           "calibrated_sensor token 'nope'"):
        open_dataset(d, sweeps=True)


def test_a_timestamp_beyond_int64_nanoseconds_names_the_record(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    """A sample_data timestamp of -1e308 us is a DatasetError naming the table and the record
    (OverflowError when the sweeps' times became an int64 array before)."""
    import shutil

    _, nusc = scenes
    d = tmp_path / "n"
    shutil.copytree(nusc, d)
    tables = next(p for p in d.iterdir() if (p / "sample_data.json").is_file())
    recs = json.loads((tables / "sample_data.json").read_text())
    cam = next(r for r in recs if "CAM_" in r["filename"])
    cam["timestamp"] = -1e308
    (tables / "sample_data.json").write_text(json.dumps(recs))
    with pytest.raises(DatasetError, match=f"sample_data.json: sample_data {cam['token']}: timestamp -1e[+]?308 is "
                                           "out of range"):
        open_dataset(d, sweeps=True)
