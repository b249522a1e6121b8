"""Mutation fuzzer over every reader: malformed input must end in the project's own error (naming
the file) or load, never in a foreign exception, a hang, a memory blow-up or a read outside the
dataset.

Seeds are small files written by the project itself: a synthetic native sequence (``synth``,
thinned to ~1,100 points per sweep; with per-point ground truth and a map), its packed HDF5 copy,
its KITTI object / tracking, nuScenes (with lidarseg / panoptic) and OpenLABEL exports (the
OpenLABEL sensor files copied next to it), a flat KITTI folder, a KITTI raw date folder, a
SUSTechPOINTS scene and a plain folder written here, point clouds (PCD ascii / binary /
binary_compressed, PLY ascii / binary, ``.bin``, ``.npy``, ``.npz``), a project (point labels
beside it, map elements in it) and a recovery copy with its edit journal; and (:data:`LATER_SEEDS`)
recordings (a ROS 1 bag, one with a topic mapping file, ROS 2 bags with sqlite3 and MCAP storage,
a plain MCAP file), nuScenes opened with its sweeps, a SemanticKITTI export read back, the map
files ``import-map`` reads (native, Argoverse 2, MapTR, OpenLABEL ``poly3d``) and a project with
pre-label proposals. Each case copies one seed, applies one mutation (byte flips, truncation, a
JSON value of another type, deep nesting, huge numbers, non-UTF-8 bytes, renamed or deleted files,
path entries pointing to ``../`` or absolute paths, in JSON or in a ROS 2 bag's
``metadata.yaml``, outward symlinks) and consumes it as the window or the command does:
``open_dataset``, every frame's points (coloured as the window colours them) and images, the
calibration and sensor poses, the labels and per-point labels; a project is opened through
``formats.source.open_source`` (point labels beside it), saved and reopened; a recovery copy and
journal restored; proposals accepted and rejected as ``review-proposals`` does; a map file
imported as ``import-map`` does; a SemanticKITTI folder read back.

Each case runs in a forked child with ``RLIMIT_AS`` (default 2 GiB) and a watchdog (default
10 s). Outcomes: ``ok``, ``project-error`` (the project's error family), ``foreign`` (any other
exception; its type and the innermost project frame are the *place*), ``timeout``, ``memory``
(MemoryError or killed at the limit), ``crash`` (killed by a signal) and ``escape`` (a file
outside the case's dataset root, or one of the absolute paths the mutations write, was opened:
an audit hook sees every ``open``). Project errors whose message names no file of the case are
counted too.

    python benchmarks/fuzz_readers.py                 # quick: 300 cases
    python benchmarks/fuzz_readers.py --cases 2000 --seed 7 --show 20
    python benchmarks/fuzz_readers.py --long          # 50,000 cases (hours on two cores)
    python benchmarks/fuzz_readers.py --cases 17000 --seed 1 --seeds-dir /tmp/fz --json a.json  # one of
    python benchmarks/fuzz_readers.py --summarize a.json b.json c.json   # several runs' merged report
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

#: The code under test (``FUZZ_CODE_ROOT`` points the fuzzer at another checkout, e.g. to measure
#: a former version with the same cases).
ROOT = Path(os.environ.get("FUZZ_CODE_ROOT") or Path(__file__).resolve().parents[1]).resolve()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from formats.datasets.base import LoadedSequence

PROJECT_PACKAGES = ("calib", "fusionlabel", "formats", "gui")
QUICK_CASES = 300
LONG_CASES = 50_000
OUTCOMES = ("ok", "project-error", "foreign", "timeout", "memory", "crash", "escape")


# ---- the project's error family ------------------------------------------------------------------
def project_errors() -> tuple[type[BaseException], ...]:
    """The exception classes that count as the project's own (whatever module defines them)."""
    from calib import errors as ce
    from fusionlabel.errors import FusionLabelError

    out: list[type[BaseException]] = [FusionLabelError]
    for name in ("CalibrationError", "TransformError", "UnknownSensorError"):
        cls = getattr(ce, name, None)
        if isinstance(cls, type) and not issubclass(cls, FusionLabelError):
            out.append(cls)
    return tuple(out)


# ---- seeds -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seed:
    """A seed: a folder ``root`` copied per case; ``entry`` (relative to root) is what is opened;
    ``kind`` is ``dataset``, ``project`` or ``cloud``."""

    name: str
    root: Path
    entry: str
    kind: str
    #: reader options (``open_dataset`` keywords) the seed is opened with
    options: dict[str, Any] = field(default_factory=dict, hash=False)


def _run_cli(*args: str) -> None:
    import contextlib
    import io

    from fusionlabel.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = main(list(args))
    if rc != 0:
        raise RuntimeError(f"fusionlabel {' '.join(args)} -> exit {rc}")


def _thin_native(root: Path, step: int = 100) -> None:
    """Keep every ``step``-th point of each sweep (and instance id and class) and fix the index counts."""
    index = json.loads((root / "fusionlabel.json").read_text())
    for fr in index["frames"]:
        for name, rel in fr["lidar"].items():
            pts = np.fromfile(root / rel, dtype="<f4").reshape(-1, 4)[::step]
            (root / rel).write_bytes(pts.tobytes())
            fr["lidar_points"][name] = int(len(pts))
            inst_rel = fr.get("lidar_instance", {}).get(name)
            if inst_rel:
                inst = np.fromfile(root / inst_rel, dtype="<i4")[::step]
                (root / inst_rel).write_bytes(inst.tobytes())
            sem_rel = fr.get("lidar_semantic", {}).get(name)
            if sem_rel:
                sem = np.fromfile(root / sem_rel, dtype=np.uint8)[::step]
                (root / sem_rel).write_bytes(sem.tobytes())
    (root / "fusionlabel.json").write_text(json.dumps(index, indent=1))


def _lzf_literal(data: bytes) -> bytes:
    """LZF stream of literal runs only (valid input for any LZF decoder)."""
    out = bytearray()
    for i in range(0, len(data), 32):
        chunk = data[i:i + 32]
        out.append(len(chunk) - 1)
        out += chunk
    return bytes(out)


def _write_clouds(folder: Path, xyz: np.ndarray, inten: np.ndarray) -> None:
    from formats.pointcloud import PointCloud, write_pcd

    folder.mkdir(parents=True, exist_ok=True)
    n = len(xyz)
    cloud = PointCloud(xyz.astype(np.float32), {"intensity": inten.astype(np.float32)})
    write_pcd(folder / "ascii.pcd", cloud, data="ascii")
    write_pcd(folder / "binary.pcd", cloud, data="binary")
    soa = xyz[:, 0].astype("<f4").tobytes() + xyz[:, 1].astype("<f4").tobytes() + xyz[:, 2].astype(
        "<f4").tobytes() + inten.astype("<f4").tobytes()
    comp = _lzf_literal(soa)
    head = (f"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\n"
            f"COUNT 1 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary_compressed\n")
    (folder / "compressed.pcd").write_bytes(head.encode() + struct.pack("<II", len(comp), len(soa)) + comp)
    ply_head = (f"ply\nformat {{fmt}} 1.0\nelement vertex {n}\nproperty float x\nproperty float y\n"
                f"property float z\nproperty float intensity\nend_header\n")
    rows = np.column_stack([xyz, inten]).astype("<f4")
    (folder / "binary.ply").write_bytes(ply_head.format(fmt="binary_little_endian").encode() + rows.tobytes())
    text = "\n".join(" ".join(f"{v:.4f}" for v in r) for r in rows) + "\n"
    (folder / "ascii.ply").write_text(ply_head.format(fmt="ascii") + text)
    rows.tofile(folder / "sweep.bin")
    np.save(folder / "sweep.npy", rows)
    np.savez(folder / "sweep.npz", points=rows)


def _self_contained_openlabel(folder: Path) -> None:
    """An OpenLABEL export refers to its source's sensor files (``uri`` relative to the JSON, e.g.
    ``../native/lidar/...``): copy them into the folder and point the ``uri`` there, so that the
    seed is one dataset root."""
    p = folder / "openlabel.json"
    d = json.loads(p.read_text())
    for fr in d["openlabel"]["frames"].values():
        for st in fr.get("frame_properties", {}).get("streams", {}).values():
            if "uri" in st:
                src = (folder / st["uri"]).resolve()
                rel = Path("data") / src.parent.name / src.name
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, folder / rel)
                st["uri"] = rel.as_posix()
    p.write_text(json.dumps(d, indent=1))


def _kitti_raw(date: Path, kd: Path) -> Path:
    """A KITTI raw date folder (calibration files, one drive with velodyne, image_02 and oxts
    streams and their timestamps) from the KITTI object export's sweeps and images; returns
    the date folder (the drive is found inside it)."""
    import cv2

    w, h = (int(v) for v in cv2.imread(str(kd / "image_2" / "000000.png")).shape[1::-1])
    cam = "".join(f"S_0{i}: {w} {h}\nK_0{i}: 50 0 {w / 2} 0 50 {h / 2} 0 0 1\nD_0{i}: 0 0 0 0 0\n"
                  f"R_0{i}: 1 0 0 0 1 0 0 0 1\nT_0{i}: {-0.5 * i} 0 0\nS_rect_0{i}: {w} {h}\n"
                  f"R_rect_0{i}: 1 0 0 0 1 0 0 0 1\nP_rect_0{i}: 50 0 {w / 2} {-25.0 * i} 0 50 {h / 2} 0 0 0 1 0\n"
                  for i in range(4))
    date.mkdir(parents=True)
    (date / "calib_cam_to_cam.txt").write_text("calib_time: 09-Jan-2012 13:57:47\n" + cam)
    (date / "calib_velo_to_cam.txt").write_text("calib_time: x\nR: 0 -1 0 0 0 -1 1 0 0\nT: 0 -0.08 -0.27\n")
    (date / "calib_imu_to_velo.txt").write_text("calib_time: x\nR: 1 0 0 0 1 0 0 0 1\nT: -0.81 0.32 -0.80\n")
    drive = date / "2011_09_26_drive_0005_sync"
    streams = {"velodyne_points": ".bin", "image_02": ".png", "oxts": ".txt"}
    for s in streams:
        (drive / s / "data").mkdir(parents=True)
    for k in range(2):
        shutil.copy(kd / "velodyne" / f"{k:06d}.bin", drive / "velodyne_points" / "data" / f"{k:010d}.bin")
        shutil.copy(kd / "image_2" / f"{k:06d}.png", drive / "image_02" / "data" / f"{k:010d}.png")
        oxts = [49.0, 8.4 + 1e-5 * k, 10.0, 0.0, 0.0, 0.1 * k] + [0.0] * 24
        (drive / "oxts" / "data" / f"{k:010d}.txt").write_text(" ".join(f"{v:.9f}" for v in oxts) + "\n")
    for i, s in enumerate(streams):
        stamps = [f"2011-09-26 13:02:25.{100_000_000 * k + 1_000_000 * i:09d}" for k in range(2)]
        (drive / s / "timestamps.txt").write_text("\n".join(stamps) + "\n")
    return date


def _recovery(folder: Path, native: Path, doc: Any) -> Path:
    """A saved project next to a copy of the sequence, then edits never saved: a full recovery
    copy (``a.flproj.recovery.json``) and the edit journal continuing it; returns the folder."""
    from formats.project import RecoveryStore, save_project
    from fusionlabel.commands import CreateTrack, SetKeyframe, SetLabel, SetReview, UndoStack
    from fusionlabel.document import AnnotationDocument, Review

    shutil.copytree(native, folder / "seq")
    work = AnnotationDocument.from_dict(doc.to_dict())
    stack = UndoStack(work)
    save_project(folder / "a.flproj", work, folder / "seq", sequence_format="native")
    stack.mark_clean()
    store = RecoveryStore(work, folder / "seq", project_path=folder / "a.flproj", stack=stack)
    tid = min(work.tracks)
    box = next(iter(work.tracks[tid].keyframes.values()))
    stack.push(SetLabel(tid, "truck"))
    store.write_recovery()  # a full copy; the journal continues it
    stack.push(SetKeyframe(tid, 1, box.replace(center=(box.center[0] + 0.5, *box.center[1:]))))
    stack.push(CreateTrack("pedestrian", 0, box.replace(size=(0.6, 0.6, 1.7))))
    stack.push(SetReview(1, Review("accepted", "ok", "qa"), track_id=tid))
    store.close()
    return folder


def build_seeds(work: Path) -> list[Seed]:
    """Write every seed under ``work`` (a few MB) and return them."""
    from calib.rig import load_rig_json
    from formats.datasets import open_dataset
    from formats.project import save_project

    work.mkdir(parents=True, exist_ok=True)
    seeds: list[Seed] = []
    native = work / "native"
    _run_cli("synth", str(native), "--frames", "2", "--cameras", "1", "--size", "64x48", "--seed", "3")
    _thin_native(native)
    seeds.append(Seed("native", native, "", "dataset"))
    _run_cli("pack", str(native), str(work / "packed" / "seq.h5"))
    seeds.append(Seed("packed", work / "packed", "seq.h5", "dataset"))
    for to in ("kitti", "kitti-tracking", "nuscenes", "openlabel"):
        _run_cli("convert", str(native), str(work / to), "--to", to)
        seeds.append(Seed(to, work / to, "", "dataset"))
    _self_contained_openlabel(work / "openlabel")
    flat = work / "kitti-flat"  # <id>.bin, <id>.png, <id>.txt (calib), <id>_gt.txt in one folder
    flat.mkdir()
    for k in range(2):
        kd = work / "kitti"
        shutil.copy(kd / "velodyne" / f"{k:06d}.bin", flat / f"{k:06d}.bin")
        shutil.copy(kd / "image_2" / f"{k:06d}.png", flat / f"{k:06d}.png")
        shutil.copy(kd / "calib" / f"{k:06d}.txt", flat / f"{k:06d}.txt")
        shutil.copy(kd / "label_2" / f"{k:06d}.txt", flat / f"{k:06d}_gt.txt")
    seeds.append(Seed("kitti-flat", flat, "", "dataset"))
    seeds.append(Seed("kitti-raw", _kitti_raw(work / "kitti-raw", work / "kitti"), "", "dataset"))
    # SUSTechPOINTS: lidar/*.pcd, camera/<cam>/*.png, calib/camera/<cam>.json, label/*.json
    loaded = open_dataset(native)
    rig = load_rig_json(native / "rig.json")
    sus = work / "sustech"
    cam = rig.camera_names()[0]
    lidar = rig.lidar_names()[0]
    T_cam_from_lidar = np.linalg.inv(rig.T(lidar, cam))
    (sus / "calib" / "camera").mkdir(parents=True)
    (sus / "calib" / "camera" / f"{cam}.json").write_text(json.dumps(
        {"extrinsic": T_cam_from_lidar.ravel().tolist(), "intrinsic": rig.camera(cam).K.ravel().tolist()}))
    from formats.pointcloud import write_pcd

    for k in range(len(loaded)):
        pc = loaded.read_lidar(k)
        assert pc is not None
        (sus / "lidar").mkdir(exist_ok=True)
        write_pcd(sus / "lidar" / f"{k:06d}.pcd", pc)
        (sus / "camera" / cam).mkdir(parents=True, exist_ok=True)
        shutil.copy(loaded.info.frames[k].camera_files[cam], sus / "camera" / cam / f"{k:06d}.png")
        (sus / "label").mkdir(exist_ok=True)
        labels = [{"obj_type": r.label, "obj_id": str(r.track_id),
                   "psr": {"position": dict(zip("xyz", map(float, r.box.center), strict=True)),
                           "scale": dict(zip("xyz", map(float, r.box.size), strict=True)),
                           "rotation": {"x": 0.01 * (i % 2), "y": -0.02 * (i % 2), "z": float(r.box.yaw)}}}
                  for i, r in enumerate(loaded.annotations.boxes_at(k)[:5])]
        (sus / "label" / f"{k:06d}.json").write_text(json.dumps(labels))
    seeds.append(Seed("sustech", sus, "", "dataset"))
    # a plain folder: rig.json + lidar_top/*.pcd + cam_front/*.png, timestamps by file order
    folder = work / "folder"
    (folder / lidar).mkdir(parents=True)
    (folder / cam).mkdir()
    shutil.copy(native / "rig.json", folder / "rig.json")
    for k in range(len(loaded)):
        shutil.copy(sus / "lidar" / f"{k:06d}.pcd", folder / lidar / f"{k:06d}.pcd")
        shutil.copy(sus / "camera" / cam / f"{k:06d}.png", folder / cam / f"{k:06d}.png")
    seeds.append(Seed("folder", folder, "", "dataset"))
    # point clouds
    pc = loaded.read_lidar(0)
    assert pc is not None and pc.intensity is not None
    clouds = work / "clouds"
    _write_clouds(clouds, pc.xyz[:300], pc.intensity[:300])
    for p in sorted(clouds.iterdir()):
        seeds.append(Seed(f"cloud-{p.name}", clouds, p.name, "cloud"))
    # a project next to a copy of the sequence (the pair is the seed)
    proj = work / "project"
    shutil.copytree(native, proj / "seq")
    save_project(proj / "a.flproj", loaded.annotations, proj / "seq", sequence_format="native")
    seeds.append(Seed("project", proj, "a.flproj", "project"))
    seeds.append(Seed("recovery", _recovery(work / "recovery", native, loaded.annotations), "a.flproj", "recovery"))
    seeds += _later_seeds(work, native, loaded)
    loaded.close()
    return seeds


#: The seeds of the readers added after the first ones (recordings, nuScenes sweeps, point labels,
#: SemanticKITTI, map files, proposals): name -> (entry relative to the seed's folder, kind, options).
LATER_SEEDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ros1": ("rec.bag", "dataset", {}),
    "ros2-sqlite3": ("", "dataset", {}),
    "ros2-mcap": ("", "dataset", {}),
    "mcap": ("rec.mcap", "dataset", {}),
    "ros1-mapping": ("rec.bag", "dataset", {"mapping": "@mapping.yaml"}),
    "nuscenes-sweeps": ("", "dataset", {"sweeps": True}),
    "semantickitti": ("", "semantickitti", {}),
    "map-native": ("map.json", "map", {}),
    "map-av2": ("log_map_archive_seq.json", "map", {}),
    "map-maptr": ("maptr.json", "map", {}),
    "map-openlabel": ("map.openlabel.json", "map", {}),
    "proposals": ("a.flproj", "proposals", {}),
}


def _later_seeds(work: Path, native: Path, loaded: Any) -> list[Seed]:
    """Write the :data:`LATER_SEEDS` (each with the project's own writers) and return them."""
    from formats.convert import convert
    from formats.datasets.rosbag_write import write_bag

    write_bag(loaded, (work / "ros1").mkdir() or work / "ros1" / "rec.bag", "ros1")
    write_bag(loaded, work / "ros2-sqlite3", "ros2-sqlite3", odometry=True)
    write_bag(loaded, work / "ros2-mcap", "ros2-mcap")
    (work / "mcap").mkdir()
    shutil.copy(next((work / "ros2-mcap").glob("*.mcap")), work / "mcap" / "rec.mcap")
    # a ROS 1 bag opened with a topic mapping file beside it (YAML, the reader's ``mapping``)
    shutil.copytree(work / "ros1", work / "ros1-mapping")
    (work / "ros1-mapping" / "mapping.yaml").write_text(
        "lidar_topic: /sensors/lidar_top/points\ncamera_topics: [/sensors/cam_front/image/compressed]\n"
        "ego_frame: base_link\nworld_frame: map\nstamps: header\ntolerance_ms: 50\n")
    # nuScenes with its sweeps: 3 frames, keyframes every 2nd (2 samples, 1 sweep between)
    three = work / "tmp-native3"
    _run_cli("synth", str(three), "--frames", "3", "--cameras", "1", "--size", "64x48", "--seed", "5")
    _thin_native(three)
    convert(three, work / "nuscenes-sweeps", "nuscenes", keyframe_every=2)
    shutil.rmtree(three)
    _run_cli("convert", str(native), str(work / "semantickitti"), "--to", "semantickitti")
    # map files: the native map of the sequence, and the project's map exported as each kind
    (work / "map-native").mkdir()
    shutil.copy(native / "labels" / "map.json", work / "map-native" / "map.json")
    for kind, name in (("av2", "map-av2"), ("maptr", "map-maptr"), ("openlabel", "map-openlabel")):
        _run_cli("export-map", str(native), str(work / name), "--to", kind, "--log-id", "seq")
    (next((work / "map-maptr").glob("maptr_*.json"))).rename(work / "map-maptr" / "maptr.json")
    (next((work / "map-openlabel").glob("*_map.openlabel.json"))).rename(work / "map-openlabel" / "map.openlabel.json")
    # a project with proposals (pre-labels) next to a copy of the sequence
    shutil.copytree(native, work / "proposals" / "seq")
    _run_cli("prelabel", str(work / "proposals" / "seq"), "--out", str(work / "proposals" / "a.flproj"))
    return _existing_later(work)


def _existing_later(d: Path) -> list[Seed]:
    return [Seed(name, d / name, entry, kind, dict(opts)) for name, (entry, kind, opts) in LATER_SEEDS.items()]


# ---- mutations -------------------------------------------------------------------------------------
HUGE = [99999999, 4000000000, 2**63, -1, 0, 1e308, -1e308, 1e39, 10**400]
ESCAPES = ["../outside/secret", "/etc/hostname", "../../../../../../etc/hostname", "..", "/", ""]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _json_nodes(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _json_nodes(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:20]):
            out += _json_nodes(v, (*path, i))
    return out


def _json_set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = value
    return obj


def _json_get(obj: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _other_value(rng: random.Random, old: Any) -> Any:
    choices: list[Any] = [None, True, "x", "", 0, -1, 1.5, [], {}, [1, 2], {"a": 1}, "../outside/secret",
                          *HUGE, float("nan")]
    v = rng.choice(choices)
    while type(v) is type(old) and v == old:
        v = rng.choice(choices)
    return v


def _load_json_file(p: Path) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


_PATH_KEYS = ("filename", "uri", "path", "rig", "ground_truth", "ontology", "absolute_path")
_PATH_SUFFIXES = (".bin", ".png", ".jpg", ".json", ".pcd", ".ply", ".npy", ".npz", ".txt", ".h5")


def _looks_like_path(node: tuple[Any, ...], value: Any) -> bool:
    return isinstance(value, str) and (
        (bool(node) and node[-1] in _PATH_KEYS) or "/" in value or value.lower().endswith(_PATH_SUFFIXES))


def mutate(rng: random.Random, root: Path, outside: Path, entry: Path | None = None) -> str:
    """Apply one random mutation to the tree at ``root`` (``outside`` is a sibling folder holding
    copies of the seed's files, the target of escapes; ``entry``, the file the user opens, is never
    replaced by a symlink: where it lives is the user's choice); returns a short description."""
    files = _files(root)
    target = rng.choice(files)
    rel = target.relative_to(root).as_posix()
    data = target.read_bytes()
    is_json = target.suffix in (".json", ".flproj")
    ops = ["flip", "truncate", "numbers", "non_utf8", "rename", "delete", "header"]
    # a dataset (a lone cloud file is opened by its own path: there is no root to escape)
    if len([f for f in files if f != entry]) > 1:
        ops.append("symlink")
    if is_json:
        ops += ["json_type", "json_type", "json_type", "json_deep", "json_path", "json_path", "json_number"]
    if target.suffix == ".yaml" and b"relative_file_paths" in data:  # a ROS 2 bag's storage files
        ops += ["yaml_path", "yaml_path"]
    op = rng.choice(ops)
    if op == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        target.write_bytes(bytes(b))
    elif op == "truncate":
        n = rng.choice([0, 1, rng.randrange(len(data) + 1), len(data) // 2, max(len(data) - 1, 0)])
        target.write_bytes(data[:n])
    elif op in ("numbers", "header"):
        # replace one number token (anywhere, or in the first 1 KB: headers) by a huge or odd value
        span = data if op == "numbers" else data[:1024]
        import re

        toks = list(re.finditer(rb"-?\d+(?:\.\d+)?", span))
        if not toks:
            target.write_bytes(data + b"\x00")
            return f"{op} {rel}: appended NUL"
        m = rng.choice(toks)
        v = str(rng.choice(HUGE + [3, 1, 65536])).encode()
        target.write_bytes(data[:m.start()] + v + data[m.end():])
        return f"{op} {rel}: {m.group().decode()!r} -> {v.decode()}"
    elif op == "non_utf8":
        i = rng.randrange(len(data) + 1)
        target.write_bytes(data[:i] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xfe\xff"]) + data[i:])
    elif op == "rename":
        new = rng.choice(["1000000", "99999999", "x", ".hidden", "0", "-1", "000000 copy"])
        dst = target.with_name(new + "".join(target.suffixes))
        target.rename(dst)
        return f"rename {rel} -> {dst.name}"
    elif op == "delete":
        target.unlink()
    elif op == "yaml_path":
        # a storage file named by metadata.yaml moved outside the bag (a valid copy), or an
        # absolute / upward path in its place
        import re

        names = re.findall(rb"^  - ([^\s:]+)$", data, flags=re.M)
        if not names:
            target.write_bytes(data + b"\x00")
            return f"{op} {rel}: no storage file, appended NUL"
        old = rng.choice(names).decode(errors="replace")
        value = rng.choice(ESCAPES)
        if value == "../outside/secret" and (target.parent / old).is_file():
            shutil.copy(target.parent / old, outside / Path(old).name)
            value = os.path.relpath(outside / Path(old).name, target.parent)
            if rng.random() < 0.5:
                value = str((outside / Path(old).name).resolve())
        new = data.replace(f"  - {old}\n".encode(), f"  - '{value}'\n".encode(), 1)
        new = new.replace(f"path: {old}\n".encode(), f"path: '{value}'\n".encode(), 1)
        target.write_bytes(new)
        return f"{op} {rel}: {old} -> {value}"
    elif op == "symlink":
        if entry is not None and target == entry:
            target = rng.choice([f for f in files if f != entry])
            rel = target.relative_to(root).as_posix()
        out = outside / target.name
        shutil.copy(target, out)
        target.unlink()
        target.symlink_to(out if rng.random() < 0.5 else os.path.relpath(out, target.parent))
        return f"symlink {rel} -> outside"
    elif op in ("json_type", "json_deep", "json_path", "json_number"):
        obj = _load_json_file(target)
        if obj is None:
            target.write_bytes(data[: len(data) // 2])
            return f"{op} {rel}: not JSON, truncated"
        nodes = _json_nodes(obj)
        if op == "json_path":
            strs = [p for p in nodes if _looks_like_path(p, _json_get(obj, p))]
            strs = strs or [p for p in nodes if isinstance(_json_get(obj, p), str)]
            node = rng.choice(strs) if strs else rng.choice(nodes)
            value: Any = rng.choice(ESCAPES)
            if value == "../outside/secret":  # point at a valid copy of the file that was referenced
                old = _json_get(obj, node)
                base = None
                if isinstance(old, str) and old:
                    base = next((b for b in (target.parent, root) if (b / old).is_file()), None)
                if base is not None:
                    src = base / old
                    shutil.copy(src, outside / src.name)
                    value = os.path.relpath(outside / src.name, base)
                    if rng.random() < 0.5:
                        value = str((outside / src.name).resolve())
        elif op == "json_deep":
            node = rng.choice(nodes)
            depth = rng.choice([200, 2000, 100_000])
            text = json.dumps(_json_set(obj, node, "@@DEEP@@"))
            target.write_text(text.replace('"@@DEEP@@"', "[" * depth + "1" + "]" * depth, 1))
            return f"json_deep {rel} at {list(node)[:6]} depth {depth}"
        elif op == "json_number":
            nums = [p for p in nodes if isinstance(_json_get(obj, p), int | float)
                    and not isinstance(_json_get(obj, p), bool)]
            node = rng.choice(nums) if nums else rng.choice(nodes)
            value = rng.choice(HUGE)
        else:
            node = rng.choice(nodes)
            value = _other_value(rng, _json_get(obj, node))
        obj = _json_set(obj, node, value)
        target.write_text(json.dumps(obj))
        return f"{op} {rel} at {list(node)[:6]} = {str(value)[:40]}"
    return f"{op} {rel}"


# ---- consumption (what the window does) ------------------------------------------------------------
def consume_dataset(path: Path, save_to: Path | None = None, options: dict[str, Any] | None = None) -> None:
    """Open, read every frame's points and images, the calibration and poses, the labels (boxes
    and per-point labels); colour the points as the window does; with ``save_to``: save a
    project, reload it, reopen."""
    from formats.datasets import open_dataset, reopen_format
    from gui.colors import point_colors

    loaded = open_dataset(path, **(options or {}))
    try:
        _consume_loaded(loaded, point_colors)
        if save_to is not None:
            from formats.project import SequenceRef, load_project, save_project

            ref = SequenceRef(path, reopen_format(loaded), options=dict(options or {}))
            save_project(save_to, loaded.annotations, ref)
            proj = load_project(save_to)
            proj.sequence.open().close()
    finally:
        loaded.close()


def _consume_loaded(loaded: LoadedSequence, point_colors: Callable[..., Any]) -> None:
    from calib.transforms import transform_points

    for k in range(len(loaded)):
        rig = loaded.rig(k)
        fi = loaded.info.frames[k]
        for s in (*rig.lidar_names(), *rig.camera_names()):
            loaded.T_world_from_sensor(k, s)
        data = loaded.read_frame(k)
        for name, pc in data.lidar.items():
            pts_world = transform_points(loaded.T_world_from_sensor(k, name), np.asarray(pc.xyz, np.float64))
            for mode in ("height", "distance", "intensity"):
                point_colors(mode, pts_world, pc.intensity, fi.T_world_from_ego[:3, 3],
                             ground_z=float(fi.T_world_from_ego[2, 3]) - 1.8)
        for cam in rig.camera_names():
            T = loaded.T_sensor_from_world(k, cam)
            c = rig.camera(cam)
            for ref in loaded.annotations.boxes_at(k):
                pts_cam = transform_points(T, ref.box.corners())
                c.project(pts_cam)
    _consume_point_labels(loaded)


def _consume_point_labels(loaded: LoadedSequence) -> None:
    """Every labelled frame's per-point labels (a project's, a native sequence's ground truth,
    nuScenes lidarseg / panoptic), sized by the frame's sweep as the window sizes them."""
    labels = loaded.annotations.point_labels
    if labels is None:
        return
    for f in labels.labelled_frames():
        if 0 <= f < len(loaded):
            pc = loaded.read_lidar(f, labels.sensor) if labels.sensor in loaded.lidar_names else None
            lab = labels.get(f, None if pc is None else len(pc))
            np.bincount(lab.semantic, minlength=256)


def _resolve_options(options: dict[str, Any], root: Path) -> dict[str, Any]:
    """Option values ``@name`` name a file of the case's dataset folder."""
    return {k: str(root / v[1:]) if isinstance(v, str) and v.startswith("@") else v for k, v in options.items()}


def _consume_project(path: Path, scratch: Path) -> None:
    """The window's open of a project (``formats.source.open_source``: the sequence, the point
    labels beside it, the frame rule), its consumption, a save and a reopen."""
    from formats.project import save_project
    from formats.source import open_source
    from gui.colors import point_colors

    opened = open_source(path)
    try:
        if opened.project is None:  # the project file was renamed or deleted: what is left opened as a dataset
            assert opened.sequence is not None
            _consume_loaded(opened.sequence, point_colors)
            return
        assert opened.sequence is not None  # open_source requires the sequence
        _consume_loaded(opened.sequence, point_colors)
        save_project(scratch / "again.flproj", opened.document, opened.project.sequence,
                     ontology=opened.project.ontology)
    finally:
        opened.close()
    open_source(scratch / "again.flproj").close()


def consume(kind: str, path: Path, scratch: Path, options: dict[str, Any] | None = None) -> None:
    if kind == "dataset":
        consume_dataset(path, scratch / "saved.flproj", options)
    elif kind == "cloud":
        from formats.pointcloud import read_point_cloud

        pc = read_point_cloud(path, "kitti" if path.suffix == ".bin" else None)
        np.asarray(pc.xyz).sum()
    elif kind == "project":
        _consume_project(path, scratch)
    elif kind == "recovery":  # the window's restore of unsaved work: recovery copy + edit journal
        from formats.project import RecoveryStore, load_project, save_project
        from fusionlabel.commands import UndoStack
        from fusionlabel.document import AnnotationDocument

        saved = load_project(path)
        store = RecoveryStore(AnnotationDocument(saved.document.frame_count), saved.sequence, project_path=path,
                              stack=UndoStack(AnnotationDocument(saved.document.frame_count)))
        if store.has_recovery():
            proj = store.load_recovery()
            save_project(scratch / "restored.flproj", proj.document, proj.sequence, ontology=proj.ontology)
            load_project(scratch / "restored.flproj")
        store.close()
    elif kind == "proposals":  # review-proposals: accept above, reject the rest, save, reload
        from formats.project import load_project, save_project
        from fusionlabel.assist.review import ReviewQueue
        from fusionlabel.commands import UndoStack

        _consume_project(path, scratch)
        if not path.is_file():  # the project file was renamed or deleted: nothing to review
            return
        project = load_project(path)
        doc = project.document
        queue = ReviewQueue(doc, UndoStack(doc))
        queue.accept_above(0.5)
        queue.reject_rest()
        queue.close()
        save_project(scratch / "reviewed.flproj", doc, project.sequence, ontology=project.ontology)
        load_project(scratch / "reviewed.flproj")
    elif kind == "map":  # import-map: read the file, import into a document, write and read a native map
        from formats.maps.imports import read_map_file
        from formats.maps.native import load_map, save_map
        from fusionlabel.commands import UndoStack
        from fusionlabel.document import AnnotationDocument
        from fusionlabel.map.commands import ImportMapElements

        elements = read_map_file(path)
        doc = AnnotationDocument(2)
        UndoStack(doc).push(ImportMapElements(elements))
        save_map(scratch / "map.json", doc.map_elements.values())
        load_map(scratch / "map.json")
    elif kind == "semantickitti":  # the SemanticKITTI export read back
        from formats.export.semantickitti import read_semantickitti

        table, frames = read_semantickitti(path)
        for lab in frames.values():
            np.bincount(lab.semantic, minlength=256)
    else:
        raise ValueError(kind)


# ---- running cases ---------------------------------------------------------------------------------
@dataclass
class Result:
    case: int
    seed: str
    mutation: str
    outcome: str
    error: str = ""
    place: str = ""
    seconds: float = 0.0
    maxrss_mb: float = 0.0
    unnamed: bool = False


def _place(exc: BaseException) -> str:
    """The innermost frame of the project's code in the traceback (``module.py:line``)."""
    best = ""
    for fs in traceback.extract_tb(exc.__traceback__):
        rel = Path(fs.filename)
        try:
            rel = rel.resolve().relative_to(ROOT)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] in PROJECT_PACKAGES:
            best = f"{rel.as_posix()}:{fs.lineno}"
    return best or "?"


def _child(seed: Seed, case: int, base_seed: int, tmp: Path, mem_bytes: int, fd: int) -> None:
    res: dict[str, Any] = {"outcome": "ok", "mutation": "", "error": "", "place": ""}
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)  # the libraries' own chatter (libpng, warnings)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        warnings.simplefilter("ignore")
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        rng = random.Random(base_seed * 1_000_003 + case)
        case_dir = tmp / f"case{case}"
        root = case_dir / "data"
        outside = case_dir / "outside"
        scratch = case_dir / "scratch"
        for d in (outside, scratch):
            d.mkdir(parents=True)
        shutil.copytree(seed.root, root, symlinks=True)
        (outside / "secret").write_text("outside the dataset\n")
        entry = root / seed.entry if seed.entry else root
        if seed.kind == "cloud":  # mutate only the cloud itself
            for p in root.iterdir():
                if p.name != seed.entry:
                    p.unlink()
        res["mutation"] = mutate(rng, root, outside, entry if entry != root else None)
        if not entry.exists() and seed.kind != "dataset":
            cands = sorted(root.iterdir())
            entry = cands[0] if cands else entry
        opened: list[str] = []
        out_prefix = str(outside.resolve())
        absolute_targets = {os.path.realpath(e) for e in ESCAPES if e.startswith("/") and len(e) > 1}

        def hook(event: str, args: tuple[Any, ...]) -> None:
            if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
                try:
                    p = os.path.realpath(os.fsdecode(args[0]))
                except (TypeError, ValueError):
                    return
                if p.startswith(out_prefix) or p in absolute_targets:
                    opened.append(p)

        sys.addaudithook(hook)
        errors = project_errors()
        try:
            consume(seed.kind, entry, scratch, _resolve_options(seed.options, root))
            if opened:
                res.update(outcome="escape", error=f"read {opened[0]}")
        except MemoryError as e:
            res.update(outcome="memory", error=f"MemoryError: {str(e)[:200]}", place=_place(e))
        except errors as e:
            res.update(outcome="project-error", error=f"{type(e).__name__}: {str(e)[:300]}")
            res["unnamed"] = str(case_dir) not in str(e)  # the message names no file of the case
            if opened:
                res.update(outcome="escape", error=f"read {opened[0]} then {res['error']}")
        except RecursionError as e:
            res.update(outcome="foreign", error=f"RecursionError: {str(e)[:200]}", place=_place(e))
        except Exception as e:  # noqa: BLE001 - classifying every foreign exception is the point
            res.update(outcome="foreign", error=f"{type(e).__name__}: {str(e)[:300]}", place=_place(e))
    except MemoryError as e:
        res.update(outcome="memory", error=f"MemoryError during setup: {e}")
    except BaseException as e:  # noqa: BLE001
        res.update(outcome="foreign", error=f"setup {type(e).__name__}: {e}", place="fuzzer")
    os.write(fd, json.dumps(res).encode())
    os.close(fd)
    os._exit(0)


def run_case(seed: Seed, case: int, base_seed: int, tmp: Path, timeout_s: float, mem_bytes: int) -> Result:
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(r)
        try:
            _child(seed, case, base_seed, tmp, mem_bytes, w)
        finally:
            os._exit(3)
    os.close(w)
    chunks: list[bytes] = []
    deadline = t0 + timeout_s
    timed_out = False
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
    os.close(r)
    _, status, ru = os.wait4(pid, 0)
    secs = time.perf_counter() - t0
    maxrss = ru.ru_maxrss / 1024.0
    shutil.rmtree(tmp / f"case{case}", ignore_errors=True)
    if timed_out:
        return Result(case, seed.name, "?", "timeout", f"> {timeout_s:g} s", "", secs, maxrss)
    try:
        d = json.loads(b"".join(chunks).decode())
    except ValueError:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        outcome = "memory" if sig == signal.SIGKILL else "crash"
        return Result(case, seed.name, "?", outcome, f"child died (signal {sig}, status {status})", "", secs, maxrss)
    return Result(case, seed.name, d["mutation"], d["outcome"], d["error"], d["place"], secs, maxrss,
                  bool(d.get("unnamed")))


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(r.outcome for r in self.results)

    def places(self) -> Counter[str]:
        return Counter(f"{r.error.split(':')[0]} at {r.place}" for r in self.results if r.outcome == "foreign")

    def peak_mb(self) -> float:
        return max((r.maxrss_mb for r in self.results), default=0.0)


def run(cases: int, base_seed: int = 0, timeout_s: float = 10.0, mem_gib: float = 2.0,
        seeds_dir: Path | None = None, only: str | None = None,
        progress: Callable[[Result], None] | None = None) -> Summary:
    """Build the seeds and run ``cases`` cases spread round-robin over them."""
    # import everything once in the parent: children are forked with the modules loaded
    import formats.datasets  # noqa: F401
    import formats.datasets.openlabel  # noqa: F401
    import formats.packed  # noqa: F401
    import formats.project  # noqa: F401
    import gui.colors  # noqa: F401
    from calib.schema import prepare

    prepare()  # the JSON schemas compiled once, as a long-running window does

    own = seeds_dir is None
    work = Path(tempfile.mkdtemp(prefix="fl-fuzz-")) if own else Path(seeds_dir)  # type: ignore[arg-type]
    try:
        seeds = build_seeds(work / "seeds") if not (work / "seeds").is_dir() else _existing(work / "seeds")
        if only:
            seeds = [s for s in seeds if only in s.name]
        tmp = work / f"cases-{os.getpid()}"  # runs sharing a seeds folder do not share cases
        tmp.mkdir(exist_ok=True)
        summary = Summary()
        for i in range(cases):
            res = run_case(seeds[i % len(seeds)], i, base_seed, tmp, timeout_s, int(mem_gib * 2**30))
            summary.results.append(res)
            if progress is not None:
                progress(res)
        shutil.rmtree(tmp, ignore_errors=True)
        return summary
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _existing(d: Path) -> list[Seed]:
    seeds = [Seed(n, d / n, "", "dataset") for n in
             ("native", "kitti", "kitti-tracking", "nuscenes", "openlabel", "kitti-flat", "kitti-raw", "sustech",
              "folder")]
    seeds.insert(1, Seed("packed", d / "packed", "seq.h5", "dataset"))
    seeds += [Seed(f"cloud-{p.name}", d / "clouds", p.name, "cloud") for p in sorted((d / "clouds").iterdir())]
    seeds.append(Seed("project", d / "project", "a.flproj", "project"))
    seeds.append(Seed("recovery", d / "recovery", "a.flproj", "recovery"))
    return seeds + _existing_later(d)


def report(summary: Summary, show: int = 10) -> str:
    c = summary.counts()
    n = len(summary.results)
    lines = [f"cases: {n}", "outcomes: " + ", ".join(f"{k} {c.get(k, 0)}" for k in OUTCOMES)]
    places = summary.places()
    lines.append(f"foreign exceptions: {c.get('foreign', 0)} at {len(places)} distinct places")
    for p, k in places.most_common(show):
        lines.append(f"  {k:5d}  {p}")
    unnamed = [r for r in summary.results if r.unnamed]
    lines.append(f"project errors naming no file of the case: {len(unnamed)}")
    for r in unnamed[:show]:
        lines.append(f"  unnamed: case {r.case} {r.seed}: {r.mutation}: {r.error}")
    for outcome in ("timeout", "memory", "crash", "escape"):
        for r in [r for r in summary.results if r.outcome == outcome][:show]:
            lines.append(f"  {outcome}: case {r.case} {r.seed}: {r.mutation}: {r.error}")
    lines.append(f"peak memory of a case: {summary.peak_mb():.0f} MiB; "
                 f"slowest case {max((r.seconds for r in summary.results), default=0):.1f} s; "
                 f"total {sum(r.seconds for r in summary.results):.0f} s")
    return "\n".join(lines)


def per_seed(summary: Summary) -> str:
    """One line per seed: its cases and their outcomes."""
    by: dict[str, Counter[str]] = {}
    for r in summary.results:
        by.setdefault(r.seed, Counter())[r.outcome] += 1
    lines = ["cases per seed (ok / project error / other):"]
    for name, c in sorted(by.items()):
        other = sum(v for k, v in c.items() if k not in ("ok", "project-error"))
        ok, err = c.get("ok", 0), c.get("project-error", 0)
        lines.append(f"  {name:22s} {sum(c.values()):6d}  {ok:6d} / {err:6d} / {other}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=None, help=f"number of cases (default {QUICK_CASES})")
    ap.add_argument("--long", action="store_true", help=f"the long run: {LONG_CASES} cases")
    ap.add_argument("--seed", type=int, default=0, help="base random seed")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--mem-gib", type=float, default=2.0, help="address-space limit per case (GiB)")
    ap.add_argument("--only", default=None, help="only seeds whose name contains this")
    ap.add_argument("--show", type=int, default=15, help="places / cases listed per outcome")
    ap.add_argument("--json", type=Path, default=None, help="write every case's result to this JSON file")
    ap.add_argument("--verbose", action="store_true", help="print each non-ok case as it happens")
    ap.add_argument("--every", type=int, default=0, help="print running counts every N cases (0: never)")
    ap.add_argument("--seeds-dir", type=Path, default=None,
                    help="keep the seeds (and the cases' scratch) in this folder; seeds already there are reused")
    ap.add_argument("--summarize", type=Path, nargs="+", default=None, metavar="FILE",
                    help="merge the --json result files of several runs and print their report (runs nothing)")
    args = ap.parse_args(argv)
    if args.summarize:
        merged = Summary([Result(**d) for f in args.summarize for d in json.loads(f.read_text())])
        print(report(merged, args.show))
        print(per_seed(merged))
        bad = sum(merged.counts().get(k, 0) for k in ("foreign", "timeout", "memory", "crash", "escape"))
        return 1 if bad else 0
    n = args.cases if args.cases is not None else (LONG_CASES if args.long else QUICK_CASES)

    running = Summary()
    t0 = time.perf_counter()

    def progress(r: Result) -> None:
        running.results.append(r)
        if args.verbose and r.outcome not in ("ok", "project-error"):
            print(f"case {r.case} {r.seed} {r.outcome}: {r.mutation}: {r.error} [{r.place}]", flush=True)
        if args.every and len(running.results) % args.every == 0:
            if args.json:  # the results so far: a run stopped later still leaves them
                args.json.write_text(json.dumps([x.__dict__ for x in running.results]))
            c = running.counts()
            print(f"[{len(running.results)} cases, {time.perf_counter() - t0:.0f} s] "
                  + ", ".join(f"{k} {c.get(k, 0)}" for k in OUTCOMES)
                  + f"; peak {running.peak_mb():.0f} MiB; slowest "
                  f"{max(x.seconds for x in running.results):.1f} s", flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a run stopped with SIGTERM reports the cases it ran
    try:
        summary = run(n, args.seed, args.timeout, args.mem_gib, seeds_dir=args.seeds_dir, only=args.only,
                      progress=progress)
    except KeyboardInterrupt:
        print(f"stopped after {len(running.results)} cases")
        summary = running
    print(report(summary, args.show))
    print(per_seed(summary))
    print(f"wall time {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in summary.results], indent=1))
    bad = sum(summary.counts().get(k, 0) for k in ("foreign", "timeout", "memory", "crash", "escape"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
