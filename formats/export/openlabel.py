"""ASAM OpenLABEL 1.0 JSON writer: a sequence's tracks, sensors and poses (read back by
``formats.datasets.openlabel``).

What is written (``docs/openlabel.md`` has the full mapping)
------------------------------------------------------------
* ``metadata``: ``schema_version`` "1.0.0", the sequence name, ``annotator`` "fusionlabel".
* ``coordinate_systems``: ``odom`` (the sequence's ``world``, root, ``scene_cs``), ``base`` (the
  ``ego`` frame, ``local_cs``, child of ``odom``) and one ``sensor_cs`` per sensor (child of
  ``base``). ``pose_wrt_parent`` is ``{"matrix4x4": [16 values, row-major]}`` with
  ``X_parent = M X_child``, i.e. ``T_parent_from_child`` (``T_world_from_ego`` of frame 0 for
  ``base``, ``T_ego_from_sensor`` for sensors), as the schema defines a transform
  (``X_dst = matrix4x4 * X_src``) and as the ``vcd`` library reads it.
* ``streams``: one per sensor (``type`` camera / lidar / radar / other). Camera streams carry
  ``stream_properties.intrinsics_pinhole`` (``camera_matrix`` 3x4 = ``[K | 0]`` row-major,
  ``distortion_coeffs`` in OpenCV order (k1, k2, p1, p2, k3[, k4, k5, k6]; zeros for an
  undistorted camera), ``width_px``, ``height_px``) or, for OpenCV fisheye (equidistant) cameras,
  ``intrinsics_fisheye`` (``lens_coeffs`` k1..k4, ``focal_length_x/y``, ``center_x/y_px``, plus
  ``camera_matrix`` and ``model`` "opencv_fisheye" as extensions).
* ``frames``: key = frame index; ``frame_properties.timestamp`` = LiDAR time as a decimal string of
  seconds with 9 decimals (exact), ``timestamp_ns`` (integer, an extension),
  ``transforms.base_to_odom`` (``T_world_from_ego`` of that frame: src ``base``, dst ``odom``),
  ``streams.<sensor>`` with the sensor file ``uri`` (relative to the JSON file) and its capture time
  in ``stream_properties.sync``; ``objects.<track id>.object_data.cuboid`` = one cuboid
  ``{"name": "box3d", "coordinate_system": "odom", "val": [x, y, z, qx, qy, qz, qw, sx, sy, sz]}``:
  geometric centre (m) in ``odom``, the rotation as a quaternion (x, y, z, w) of a yaw about +z, and
  the size (length along the heading, width, height) m; ``attributes.boolean`` ``keyframe``.
* ``objects``: key = the track id (object identity), ``name`` "<label>-<id>", ``type`` = the class,
  ``coordinate_system`` "odom", ``frame_intervals`` where a box exists, the track's attributes as
  ``object_data.text`` and its interpolation method as the ``interpolation`` text.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.rig import Rig
from calib.transforms import rotation_to_quat
from formats.datasets.openlabel import DEFAULT_FILE, EGO_CS, SCHEMA_VERSION, WORLD_CS
from formats.errors import FormatError
from formats.export.summary import ConvertSummary
from formats.io import atomic_write_text
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import SequenceInfo
from fusionlabel.sequence import SensorSequence

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]
ProgressFn = Callable[[int, int], None]

CUBOID_NAME = "box3d"
_STREAM_TYPES = {"camera": "camera", "lidar": "lidar", "radar": "radar", "imu": "gps_imu", "gps": "gps_imu"}


# ---- writing ---------------------------------------------------------------------------------------
def _mat(T: F64) -> dict[str, list[float]]:
    return {"matrix4x4": [float(v) for v in np.asarray(T, dtype=np.float64).reshape(16)]}


def _time_text(ns: int) -> str:
    """Integer ns -> exact decimal seconds string with 9 decimals ("1600000000.100000000")."""
    sign = "-" if ns < 0 else ""
    s, frac = divmod(abs(int(ns)), 1_000_000_000)
    return f"{sign}{s}.{frac:09d}"


def _intrinsics(cam: CameraModel) -> dict[str, Any]:
    K = cam.K
    P = [float(K[0, 0]), float(K[0, 1]), float(K[0, 2]), 0.0,
         0.0, float(K[1, 1]), float(K[1, 2]), 0.0,
         0.0, 0.0, 1.0, 0.0]
    if cam.model == "fisheye":
        return {"intrinsics_fisheye": {
            "width_px": cam.width, "height_px": cam.height,
            "focal_length_x": float(K[0, 0]), "focal_length_y": float(K[1, 1]),
            "center_x_px": float(K[0, 2]), "center_y_px": float(K[1, 2]),
            "lens_coeffs": [float(c) for c in cam.dist], "model": "opencv_fisheye", "camera_matrix": P}}
    dist = [float(c) for c in cam.dist] if cam.model == "radtan" else []
    dist = dist + [0.0] * (5 - len(dist))  # the schema asks for 5..14 coefficients (k3 = 0 when absent)
    # extension: how many coefficients the camera model had (4, 5 or 8), so that reading is exact
    return {"intrinsics_pinhole": {"width_px": cam.width, "height_px": cam.height, "camera_matrix": P,
                                   "distortion_coeffs": dist, "distortion_count": len(cam.dist)}}


def _rel_uri(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).resolve().as_posix()


def _intervals(frames: Iterable[int]) -> list[dict[str, int]]:
    out: list[dict[str, int]] = []
    for f in sorted(frames):
        if out and f == out[-1]["frame_end"] + 1:
            out[-1]["frame_end"] = f
        else:
            out.append({"frame_start": f, "frame_end": f})
    return out


def cuboid_val(box: Box3D) -> list[float]:
    """OpenLABEL cuboid ``val`` of a box: [x, y, z, qx, qy, qz, qw, sx, sy, sz] (centre m, rotation
    as an (x, y, z, w) quaternion with w >= 0: about +z for an upright box, with the tilt for a
    tilted one; size l w h m)."""
    if box.tilted:
        qw, qx, qy, qz = (float(v) for v in rotation_to_quat(box.rotation()))
        return [*box.center, qx, qy, qz, qw, *box.size]
    h = box.yaw / 2.0
    qz, qw = math.sin(h), math.cos(h)
    if qw < 0:
        qz, qw = -qz, -qw
    return [*box.center, 0.0, 0.0, qz, qw, *box.size]


def openlabel_dict(info: SequenceInfo, doc: AnnotationDocument, base_dir: Path | None = None,
                   rigs: list[Rig] | None = None, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The OpenLABEL 1.0 document (``{"openlabel": {...}}``) of a sequence and its tracks.

    ``base_dir`` is the folder URIs are made relative to (the JSON file's folder; None: no URIs);
    ``rigs`` per-frame rigs (KITTI object) are written as per-frame sensor transforms."""
    rig: Rig = info.rig
    cs: dict[str, Any] = {
        WORLD_CS: {"type": "scene_cs", "parent": "", "children": [EGO_CS]},
        EGO_CS: {"type": "local_cs", "parent": WORLD_CS, "children": rig.names(),
                 "pose_wrt_parent": _mat(info.frames[0].T_world_from_ego if info.frames else np.eye(4))},
    }
    streams: dict[str, Any] = {}
    for s in rig.sensors:
        cs[s.name] = {"type": "sensor_cs", "parent": EGO_CS, "children": [],
                     "pose_wrt_parent": _mat(s.T_ego_from_sensor)}
        st: dict[str, Any] = {"type": _STREAM_TYPES.get(s.kind, "other"), "description": f"{s.kind} {s.name}"}
        if s.camera is not None:
            st["stream_properties"] = _intrinsics(s.camera)
        streams[s.name] = st

    n = len(info.frames)
    frames: dict[str, Any] = {}
    seen: dict[int, set[int]] = {}
    for i, fi in enumerate(info.frames):
        props: dict[str, Any] = {
            "timestamp": _time_text(fi.timestamp_ns),
            "timestamp_ns": int(fi.timestamp_ns),
            "transforms": {f"{EGO_CS}_to_{WORLD_CS}": {"src": EGO_CS, "dst": WORLD_CS,
                                                        "transform_src_to_dst": _mat(fi.T_world_from_ego)}},
        }
        if rigs is not None:
            for s in rigs[i].sensors:
                props["transforms"][f"{s.name}_to_{EGO_CS}"] = {
                    "src": s.name, "dst": EGO_CS, "transform_src_to_dst": _mat(s.T_ego_from_sensor)}
        fstreams: dict[str, Any] = {}
        files = {**fi.lidar_files, **fi.camera_files}
        for name, path in files.items():
            entry: dict[str, Any] = {}
            if base_dir is not None:
                entry["uri"] = _rel_uri(path, base_dir)
            t = fi.camera_timestamps_ns.get(name, fi.timestamp_ns)
            entry["stream_properties"] = {"sync": {"frame_stream": i, "timestamp": _time_text(t)}}
            fstreams[name] = entry
        if rigs is not None:  # per-frame intrinsics where a frame's camera differs (KITTI object)
            for name in rig.camera_names():
                cam_i = rigs[i].camera(name) if name in rigs[i] else None
                if cam_i is not None and cam_i != rig.camera(name):
                    fstreams.setdefault(name, {}).setdefault("stream_properties", {}).update(_intrinsics(cam_i))
        if fstreams:
            props["streams"] = fstreams
        objs: dict[str, Any] = {}
        for ref in doc.boxes_at(i):
            seen.setdefault(ref.track_id, set()).add(i)
            objs[str(ref.track_id)] = {"object_data": {"cuboid": [{
                "name": CUBOID_NAME, "coordinate_system": WORLD_CS, "val": cuboid_val(ref.box),
                "attributes": {"boolean": [{"name": "keyframe", "val": bool(ref.is_keyframe)}]}}]}}
        frame: dict[str, Any] = {"frame_properties": props}
        if objs:
            frame["objects"] = objs
        frames[str(i)] = frame
        if progress is not None:
            progress(i + 1, n)

    objects: dict[str, Any] = {}
    for tid in sorted(seen):
        tr = doc.track(tid)
        texts = [{"name": "interpolation", "val": tr.interpolation}]
        texts += [{"name": f"attribute:{k}", "val": str(v)} for k, v in sorted(tr.attributes.items())]
        objects[str(tid)] = {"name": f"{tr.label}-{tid}", "type": tr.label, "coordinate_system": WORLD_CS,
                             "frame_intervals": _intervals(seen[tid]), "object_data": {"text": texts}}
    root: dict[str, Any] = {
        "metadata": {"schema_version": SCHEMA_VERSION, "name": info.name, "annotator": "fusionlabel",
                     "file_version": "1", "comment": f"exported from {info.format} by fusionlabel; "
                     "boxes in 'odom' (the sequence world frame); frame keys are frame indices"},
        "coordinate_systems": cs,
        "streams": streams,
        "objects": objects,
        "frames": frames,
    }
    if n:
        root["frame_intervals"] = [{"frame_start": 0, "frame_end": n - 1}]
    return {"openlabel": root}


def _output_file(dst: Path) -> Path:
    return dst if dst.suffix.lower() == ".json" else dst / DEFAULT_FILE


def write_openlabel(loaded: SensorSequence, dst: PathLike, *, progress: ProgressFn | None = None,
                    indent: int | None = None, overwrite: bool = False, **options: Any) -> ConvertSummary:
    """Write ``loaded`` (a ``formats.datasets.LoadedSequence``) as OpenLABEL 1.0 JSON.

    ``dst`` is a ``.json`` file, or a folder that gets ``openlabel.json``; an existing file is
    replaced only with ``overwrite``. Written atomically. Returns a :class:`ConvertSummary`
    (frames, boxes; nothing is skipped)."""
    out = _output_file(Path(dst))
    if out.parent.exists() and not out.parent.is_dir():
        raise FormatError(out.parent, "exists and is not a folder")
    if out.exists() and not overwrite:
        raise FormatError(out, "exists (use overwrite / --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc: AnnotationDocument = loaded.annotations
    data = openlabel_dict(loaded.info, doc, base_dir=out.parent, rigs=loaded.frame_rigs, progress=progress)
    atomic_write_text(out, json.dumps(data, indent=indent, allow_nan=False))
    nboxes = sum(len(f.get("objects", {})) for f in data["openlabel"]["frames"].values())
    return ConvertSummary(frames=len(loaded.info.frames), boxes=nboxes, outputs=[str(out)])
