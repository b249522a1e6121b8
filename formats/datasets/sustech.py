"""SUSTechPOINTS scene layout::

    <scene>/lidar/<frame>.pcd
    <scene>/camera/<name>/<frame>.jpg          (or .png)
    <scene>/calib/camera/<name>.json           {"extrinsic": 16 floats, row-major LiDAR -> camera,
                                                "intrinsic": 9 floats, row-major K}
    <scene>/label/<frame>.json                 [{obj_type, obj_id, psr: {position, scale, rotation}}]

* Frames are the sorted ``lidar/*.pcd`` ids. There are no ego poses: world = ego = the LiDAR frame
  of each frame (so boxes of one object are not comparable across frames when the car moves).
* Rig: LiDAR ``lidar`` at the ego origin; camera ``<name>`` with ``T_ego_from_cam = inv(extrinsic)``
  and pinhole ``K`` (no distortion), sized by its images (all one size, else ImageSizeError).
  Cameras without a calib file (or calib files without images) are left out with a warning.
* Timestamps (``timestamps=``): ``"points"`` (default when the clouds carry a per-point
  ``timestamp`` field, in seconds) uses each sweep's **median** point time; ``"ids"`` uses
  ``frame id * 100 ms`` (a 10 Hz LiDAR). Images have no time of their own and pair with the sweep
  of the same id; frames without an image are reported as missing in ``sync``.
* Labels are in the LiDAR frame: ``position`` is the centre, ``scale`` (x, y, z) = (l, w, h),
  ``rotation`` (x, y, z) a three.js Euler of order XYZ (:func:`sustech_rotation`): with x = y = 0
  an upright box of yaw z, else a tilted box (its roll and pitch kept, ``Box3D``). ``obj_id`` ->
  track id (:func:`map_track_ids`; the original id is kept as the ``obj_id`` attribute when it is
  not a plain integer).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from calib.camera import CameraModel
from calib.errors import CalibrationError
from calib.rig import Rig, Sensor
from calib.transforms import check_transform, invert, yaw_to_rotation
from formats.datasets.base import (
    DEFAULT_PERIOD_NS,
    IMAGE_SUFFIXES,
    LoadedSequence,
    check_image_size,
    check_increasing,
    dense_tracks,
    image_size,
    list_files,
    map_track_ids,
)
from formats.datasets.errors import DatasetError
from formats.io import read_json_file
from formats.pointcloud import read_pcd
from formats.sync import DEFAULT_TOLERANCE_NS, report_from_pairs
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import FrameInfo, SequenceInfo, Track

LIDAR = "lidar"


def sustech_rotation(rx: float, ry: float, rz: float) -> np.ndarray:
    """The (3, 3) rotation of a SUSTechPOINTS ``psr.rotation`` (radians): a three.js Euler of order
    ``"XYZ"``, ``Rx(rx) @ Ry(ry) @ Rz(rz)`` (the tool's default); (0, 0, yaw) is a yaw about +z."""
    cx, sx, cy, sy = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry)
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    Ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    return Rx @ Ry @ yaw_to_rotation(rz)


def is_sustech(path: Path) -> bool:
    return (path / "lidar").is_dir() and ((path / "label").is_dir() or (path / "calib" / "camera").is_dir()) and bool(
        list_files(path / "lidar", (".pcd",))
    )


def _read_json(p: Path) -> Any:
    return read_json_file(p, DatasetError)


def _camera(p: Path, name: str, size: tuple[int, int]) -> Sensor:
    d = _read_json(p)
    if not isinstance(d, dict):
        raise DatasetError(p, "camera calibration must be a JSON object")
    try:
        E = np.asarray(d["extrinsic"], dtype=np.float64)
        K = np.asarray(d["intrinsic"], dtype=np.float64)
    except KeyError as e:
        raise DatasetError(p, f"missing key {e.args[0]!r}") from None
    except (TypeError, ValueError):
        raise DatasetError(p, "extrinsic/intrinsic must be lists of numbers") from None
    if E.size != 16 or K.size != 9:
        raise DatasetError(p, f"extrinsic needs 16 values and intrinsic 9, got {E.size} and {K.size}")
    try:
        T_cam_from_lidar = check_transform(E.reshape(4, 4), f"{p.name} extrinsic")
        return Sensor(name, "camera", invert(T_cam_from_lidar), CameraModel(K.reshape(3, 3), size[0], size[1]))
    except (ValueError, CalibrationError) as e:
        raise DatasetError(p, str(e)) from None


def _median_point_time_s(path: Path) -> float | None:
    pc = read_pcd(path)
    t = pc.fields.get("timestamp")
    if t is None or len(t) == 0:
        return None
    return float(np.median(np.asarray(t, dtype=np.float64)))


def load_sustech(
    path: Path, timestamps: str | None = None, tolerance_ms: float | None = None, **_: Any
) -> LoadedSequence:
    """Open a SUSTechPOINTS scene folder (the one holding ``lidar/``)."""
    root = Path(path)
    clouds = list_files(root / "lidar", (".pcd",))
    if not clouds:
        raise DatasetError(root / "lidar", "no .pcd sweeps")
    ids = list(clouds)
    warnings: list[str] = []

    # cameras
    sensors = [Sensor(LIDAR, "lidar", np.eye(4))]
    images: dict[str, dict[str, Path]] = {}
    cam_root = root / "camera"
    calib_root = root / "calib" / "camera"
    cam_dirs = sorted(p.name for p in cam_root.iterdir() if p.is_dir()) if cam_root.is_dir() else []
    calib_files = list_files(calib_root, (".json",))
    for name in sorted(set(cam_dirs) | set(calib_files)):
        files = list_files(cam_root / name, IMAGE_SUFFIXES)
        if name not in calib_files:
            warnings.append(f"{cam_root / name}: no calib/camera/{name}.json; camera left out")
            continue
        if not files:
            warnings.append(f"{calib_files[name]}: no images in camera/{name}/; camera left out")
            continue
        sensor = _camera(calib_files[name], name, image_size(next(iter(files.values()))))
        sensors.append(sensor)
        images[name] = {k: v for k, v in files.items() if k in clouds}
        extra = sorted(set(files) - set(clouds))
        if extra:
            warnings.append(f"{cam_root / name}: {len(extra)} images without a sweep ignored ({extra[:3]}...)")
    rig = Rig(sensors)
    for name, files in images.items():
        for p in files.values():
            check_image_size(p, image_size(p), rig, name)

    # timestamps
    if timestamps not in (None, "points", "ids"):
        raise ValueError(f"timestamps must be 'points' or 'ids', got {timestamps!r}")
    stamps: list[int] = []
    if timestamps in (None, "points"):
        for fid in ids:
            m = _median_point_time_s(clouds[fid])
            if m is None:
                if timestamps == "points":
                    raise DatasetError(clouds[fid], "no per-point timestamp field (use timestamps='ids')")
                stamps = []
                break
            stamps.append(int(round(m * 1e9)))
    source = "points"
    if not stamps:
        source = "ids"
        for fid in ids:
            if not fid.isdigit():
                raise DatasetError(clouds[fid], "frame id is not a number and the sweep has no point times")
        stamps = [int(fid) * DEFAULT_PERIOD_NS for fid in ids]
    check_increasing(stamps, root / "lidar", [clouds[f].name for f in ids])

    frames = []
    for k, fid in enumerate(ids):
        cams = {n: m[fid] for n, m in images.items() if fid in m}
        frames.append(
            FrameInfo(k, stamps[k], lidar_files={LIDAR: clouds[fid]}, camera_files=cams,
                      camera_timestamps_ns={n: stamps[k] for n in cams})
        )
    tol = DEFAULT_TOLERANCE_NS if tolerance_ms is None else int(tolerance_ms * 1e6)
    per_cam = {n: {k: None for k, fid in enumerate(ids) if fid in m} for n, m in images.items()}
    _, report = report_from_pairs(stamps, per_cam, tol)

    # labels
    raw: list[tuple[int, str, str, Box3D, Path]] = []
    for k, fid in enumerate(ids):
        lp = root / "label" / f"{fid}.json"
        if not lp.is_file():
            continue
        data = _read_json(lp)
        if not isinstance(data, list):
            raise DatasetError(lp, "a label file must be a JSON list of objects")
        for i, obj in enumerate(data):
            try:
                psr = obj["psr"]
                pos, scale, rot = psr["position"], psr["scale"], psr["rotation"]
                box = Box3D.from_rotation(
                    (float(pos["x"]), float(pos["y"]), float(pos["z"])),
                    (float(scale["x"]), float(scale["y"]), float(scale["z"])),
                    sustech_rotation(float(rot.get("x", 0.0)), float(rot.get("y", 0.0)), float(rot["z"])),
                )
                oid, typ = str(obj["obj_id"]), str(obj["obj_type"])
                if not typ.strip():
                    raise ValueError("obj_type is empty")
            except (KeyError, TypeError, ValueError, AttributeError, ModelError) as e:
                raise DatasetError(lp, f"object {i}: malformed ({type(e).__name__}: {e})") from None
            raw.append((k, oid, typ, box, lp))
    ids_map = map_track_ids(o for _, o, _, _, _ in raw)
    tracks: dict[int, Track] = {}
    for k, oid, typ, box, lp in raw:
        tid = ids_map[oid]
        tr = tracks.get(tid)
        if tr is None:
            attrs = {} if str(tid) == oid else {"obj_id": oid}
            tr = tracks[tid] = Track(tid, typ, attrs)
        if k in tr.keyframes:
            raise DatasetError(lp, f"obj_id {oid!r} appears twice")
        tr.keyframes[k] = box
    info = SequenceInfo(root.name, "sustech", frames, rig, root=root,
                        meta={"frame_ids": ids, "timestamps_from": source})
    return LoadedSequence(
        info=info,
        annotations=AnnotationDocument.from_tracks(dense_tracks(tracks), len(frames)),
        sync=report,
        warnings=warnings,
    )
