"""ASAM OpenLABEL 1.0 JSON: write a sequence's tracks, sensors and poses, and read them back.

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

Reading (:func:`read_openlabel`, :func:`load_openlabel`) accepts the same plus: cuboids in any
coordinate system of the chain (``base``, a sensor; 10-value quaternion or 9-value Euler
``rx, ry, rz`` form, rotations reduced to their yaw), ``matrix4x4`` / quaternion / Euler
transforms, per-frame ``odom_to_base`` transforms (inverted), and ``vcd``'s key spellings
(``camera_matrix_3x4``, ``distortion_coeffs_1xN``, ``lens_coeffs_1xN``). Every cuboid becomes a
keyframe; frames without a box inside a track's span become gaps (OpenLABEL lists what exists).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.errors import CalibrationError, TransformError
from calib.rig import Rig, Sensor
from calib.transforms import (
    check_transform,
    invert,
    make_transform,
    quat_to_rotation,
    rotation_to_quat,
    rotation_to_yaw,
)
from formats.errors import FormatError
from formats.io import atomic_write_text, read_json_file
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo, Track

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]
ProgressFn = Callable[[int, int], None]

SCHEMA_VERSION = "1.0.0"
WORLD_CS = "odom"
EGO_CS = "base"
CUBOID_NAME = "box3d"
#: File name used when ``dst`` is a folder.
DEFAULT_FILE = "openlabel.json"
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


def write_openlabel(loaded: Any, dst: PathLike, *, progress: ProgressFn | None = None,
                    indent: int | None = None, overwrite: bool = False, **options: Any) -> Any:
    """Write ``loaded`` (a ``formats.datasets.LoadedSequence``) as OpenLABEL 1.0 JSON.

    ``dst`` is a ``.json`` file, or a folder that gets ``openlabel.json``; an existing file is
    replaced only with ``overwrite``. Written atomically. Returns a ``formats.summary.ConvertSummary``
    (frames, boxes; nothing is skipped)."""
    from formats.summary import ConvertSummary

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


# ---- reading ---------------------------------------------------------------------------------------
def _err(path: Path, where: str, msg: str) -> FormatError:
    return FormatError(path, f"{where}: {msg}")


def _obj(v: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _err(path, where, f"expected an object, got {type(v).__name__}")
    return v


def _nums(v: Any, n: int | tuple[int, ...], path: Path, where: str) -> F64:
    counts = (n,) if isinstance(n, int) else n
    if not isinstance(v, list) or len(v) not in counts or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise _err(path, where, f"expected a list of {' or '.join(map(str, counts))} numbers, got {v!r:.80}")
    a = np.array(v, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise _err(path, where, "contains a non-finite number")
    return a


def transform_matrix(td: Any, path: Path, where: str) -> F64:
    """A schema ``transform_data`` (``matrix4x4``, ``quaternion`` (x, y, z, w) + ``translation``, or
    ``euler_angles`` + ``translation`` [+ ``sequence``, default "ZYX"]) -> 4x4 ``X_dst = M X_src``."""
    td = _obj(td, path, where)
    try:
        if "matrix4x4" in td:
            return check_transform(_nums(td["matrix4x4"], 16, path, f"{where}.matrix4x4").reshape(4, 4), where)
        if "quaternion" in td:
            qx, qy, qz, qw = _nums(td["quaternion"], 4, path, f"{where}.quaternion")
            t = _nums(td.get("translation"), 3, path, f"{where}.translation")
            return make_transform(quat_to_rotation([qw, qx, qy, qz]), t)
        if "euler_angles" in td:
            e = _nums(td["euler_angles"], 3, path, f"{where}.euler_angles")
            t = _nums(td.get("translation"), 3, path, f"{where}.translation")
            return make_transform(_euler(e, str(td.get("sequence", "ZYX")), path, where), t)
    except TransformError as e:
        raise _err(path, where, str(e)) from None
    raise _err(path, where, "no matrix4x4, quaternion or euler_angles")


def _euler(angles: F64, seq: str, path: Path, where: str) -> F64:
    """Intrinsic rotations in ``seq`` order (e.g. "ZYX": R = Rz(a0) Ry(a1) Rx(a2))."""
    if len(seq) != 3 or any(c not in "XYZ" for c in seq.upper()):
        raise _err(path, where, f"unknown Euler sequence {seq!r}")
    R = np.eye(3)
    for axis, a in zip(seq.upper(), angles, strict=True):
        c, s = math.cos(a), math.sin(a)
        m = {"X": [[1, 0, 0], [0, c, -s], [0, s, c]], "Y": [[c, 0, s], [0, 1, 0], [-s, 0, c]],
             "Z": [[c, -s, 0], [s, c, 0], [0, 0, 1]]}[axis]
        R = R @ np.array(m, dtype=np.float64)
    return R


def _camera(props: dict[str, Any], path: Path, where: str) -> CameraModel | None:
    try:
        if "intrinsics_pinhole" in props:
            ip = _obj(props["intrinsics_pinhole"], path, f"{where}.intrinsics_pinhole")
            P = _nums(ip.get("camera_matrix", ip.get("camera_matrix_3x4")), 12, path, f"{where}.camera_matrix")
            P = P.reshape(3, 4)
            dist = [float(c) for c in ip.get("distortion_coeffs", ip.get("distortion_coeffs_1xN")) or []]
            count = ip.get("distortion_count")
            if isinstance(count, int) and count in (0, 4, 5, 8) and all(c == 0.0 for c in dist[count:]):
                dist = dist[:count]
            while len(dist) > 5 and dist[-1] == 0.0 and len(dist) != 8:
                dist.pop()
            if len(dist) > 8 and all(c == 0.0 for c in dist[8:]):
                dist = dist[:8]
            if all(c == 0.0 for c in dist):
                model, dist = "none", []
            else:
                model = "radtan"
                if len(dist) == 5 and dist[4] == 0.0 and count != 5:
                    dist = dist[:4]
            return CameraModel(P[:, :3], ip.get("width_px"), ip.get("height_px"), model, tuple(dist))
        if "intrinsics_fisheye" in props:
            ip = _obj(props["intrinsics_fisheye"], path, f"{where}.intrinsics_fisheye")
            if "camera_matrix" in ip:
                K = _nums(ip["camera_matrix"], 12, path, f"{where}.camera_matrix").reshape(3, 4)[:, :3]
            else:
                fx, fy = ip.get("focal_length_x"), ip.get("focal_length_y")
                cx, cy = ip.get("center_x_px", ip.get("center_x")), ip.get("center_y_px", ip.get("center_y"))
                K = _nums([fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0], 9, path, f"{where}.focal/center").reshape(3, 3)
            lens = _nums(ip.get("lens_coeffs", ip.get("lens_coeffs_1xN")), (4,), path, f"{where}.lens_coeffs")
            return CameraModel(K, ip.get("width_px"), ip.get("height_px"), "fisheye", tuple(lens))
    except (CalibrationError, TypeError, ValueError) as e:  # e.g. distortion given as a number or text
        raise _err(path, where, str(e)) from None
    return None


def _parse_time(props: dict[str, Any], path: Path, where: str) -> int | None:
    v = props.get("timestamp_ns")
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    v = props.get("timestamp")
    if v is None:
        return None
    try:
        if isinstance(v, bool):
            raise InvalidOperation
        dec = Decimal(str(v).strip())
        if not dec.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise _err(path, f"{where}.timestamp", f"not a number of seconds: {v!r}") from None
    return int((dec * 1_000_000_000).to_integral_value())


class _Chain:
    """Coordinate systems of the file: pose of any system in ``odom`` at a frame."""

    def __init__(self, cs: dict[str, Any], path: Path) -> None:
        self.path = path
        self.parent: dict[str, str] = {}
        self.static: dict[str, F64] = {}
        for name, body in cs.items():
            body = _obj(body, path, f"coordinate_systems.{name}")
            self.parent[name] = str(body.get("parent", ""))
            if "pose_wrt_parent" in body:
                self.static[name] = transform_matrix(body["pose_wrt_parent"], path,
                                                     f"coordinate_systems.{name}.pose_wrt_parent")

    def edge(self, child: str, frame_tf: Mapping[tuple[str, str], F64]) -> F64:
        """``T_parent_from_child`` at a frame (per-frame transform, else the static pose)."""
        par = self.parent[child]
        if (child, par) in frame_tf:
            return frame_tf[(child, par)]
        if (par, child) in frame_tf:
            return invert(frame_tf[(par, child)])
        return self.static.get(child, np.eye(4))

    def T_root_from(self, name: str, frame_tf: Mapping[tuple[str, str], F64], root: str) -> F64:
        T = np.eye(4)
        cur, hops = name, 0
        while cur != root:
            if cur not in self.parent:
                raise _err(self.path, "coordinate_systems", f"unknown coordinate system {cur!r}")
            if not self.parent[cur]:
                raise _err(self.path, "coordinate_systems", f"{name!r} does not descend from {root!r}")
            T = self.edge(cur, frame_tf) @ T
            cur = self.parent[cur]
            hops += 1
            if hops > 64:
                raise _err(self.path, "coordinate_systems", "parent chain has a cycle")
        return T


def _frame_transforms(props: dict[str, Any], path: Path, where: str) -> dict[tuple[str, str], F64]:
    out: dict[tuple[str, str], F64] = {}
    for name, tf in _obj(props.get("transforms", {}), path, f"{where}.transforms").items():
        tf = _obj(tf, path, f"{where}.transforms.{name}")
        if "src" not in tf or "dst" not in tf or "transform_src_to_dst" not in tf:
            raise _err(path, f"{where}.transforms.{name}", "needs src, dst and transform_src_to_dst")
        out[(str(tf["src"]), str(tf["dst"]))] = transform_matrix(
            tf["transform_src_to_dst"], path, f"{where}.transforms.{name}.transform_src_to_dst")
    return out


def _cuboid_box(cub: dict[str, Any], T_world_from_cs: F64, path: Path, where: str) -> Box3D:
    val = _nums(cub.get("val"), (9, 10), path, f"{where}.val")
    if len(val) == 10:
        x, y, z, qx, qy, qz, qw, sx, sy, sz = val
        try:
            R = quat_to_rotation([qw, qx, qy, qz])
        except TransformError as e:
            raise _err(path, f"{where}.val", str(e)) from None
    else:
        x, y, z, rx, ry, rz, sx, sy, sz = val
        R = _euler(np.array([rz, ry, rx]), "ZYX", path, where)
    if min(sx, sy, sz) <= 0:
        raise _err(path, f"{where}.val", f"cuboid size must be positive, got {(sx, sy, sz)}")
    T = T_world_from_cs @ make_transform(R, [x, y, z])
    if Box3D.from_rotation((x, y, z), (sx, sy, sz), R).tilted:  # a tilted cuboid keeps its tilt
        return Box3D.from_rotation(T[:3, 3], (sx, sy, sz), T[:3, :3])
    return Box3D(tuple(T[:3, 3]), (sx, sy, sz), rotation_to_yaw(T[:3, :3]))


def read_openlabel(path: PathLike) -> tuple[SequenceInfo, AnnotationDocument]:
    """Read an OpenLABEL 1.0 file (or a folder holding ``openlabel.json``) -> the sequence
    description (frames with timestamps and ``T_world_from_ego``, the rig from the coordinate
    systems and streams, sensor files from the stream URIs) and the world-frame tracks (object uid
    = track id, ``type`` = label). Malformed content raises :class:`FormatError` naming the file
    and the JSON location."""
    info, doc, _ = _read(path)
    return info, doc


def _read(path: PathLike) -> tuple[SequenceInfo, AnnotationDocument, list[Rig] | None]:
    """:func:`read_openlabel` plus per-frame rigs where sensor poses change from frame to frame
    (per-frame ``<sensor>_to_base`` transforms), else None."""
    p = Path(path)
    if p.is_dir():
        p = p / DEFAULT_FILE
    data = read_json_file(p, FormatError)
    root = _obj(_obj(data, p, "file").get("openlabel"), p, "openlabel")
    meta = _obj(root.get("metadata"), p, "openlabel.metadata")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise _err(p, "openlabel.metadata.schema_version",
                   f"expected {SCHEMA_VERSION!r}, got {meta.get('schema_version')!r}")
    cs = _obj(root.get("coordinate_systems", {}), p, "openlabel.coordinate_systems")
    chain = _Chain(cs, p)
    world = WORLD_CS if WORLD_CS in cs else next((n for n, par in chain.parent.items() if not par), None)
    ego = EGO_CS if EGO_CS in cs else None
    streams = _obj(root.get("streams", {}), p, "openlabel.streams")

    frames_d = _obj(root.get("frames", {}), p, "openlabel.frames")
    try:
        keys = sorted(frames_d, key=int)
    except ValueError:
        raise _err(p, "openlabel.frames", "frame keys must be integers") from None
    if keys and [int(k) for k in keys] != list(range(int(keys[-1]) + 1)):
        raise _err(p, "openlabel.frames", f"frames must be 0..N-1 without holes, got {keys[:5]}...")

    # the rig: sensors are coordinate systems below the ego one (or streams without one: identity)
    sensors = []
    for name in dict.fromkeys([*(n for n in cs if n not in (world, ego)), *streams]):
        st = _obj(streams.get(name, {}), p, f"openlabel.streams.{name}")
        kind = {"camera": "camera", "lidar": "lidar", "radar": "radar", "gps_imu": "imu"}.get(st.get("type"), "other")
        T = chain.T_root_from(name, {}, ego) if (ego and name in cs) else np.eye(4)
        cam = _camera(_obj(st.get("stream_properties", {}), p, f"streams.{name}"), p, f"openlabel.streams.{name}")
        if kind == "camera" and cam is None:
            raise _err(p, f"openlabel.streams.{name}", "camera stream without intrinsics")
        if cam is not None:
            kind = "camera"
        if name not in streams and kind == "other":
            kind = "frame"
        sensors.append(Sensor(name, kind, T, cam))
    rig = Rig(sensors)

    objects = _obj(root.get("objects", {}), p, "openlabel.objects")
    tracks: dict[int, Track] = {}
    for uid, ob in objects.items():
        ob = _obj(ob, p, f"openlabel.objects.{uid}")
        try:
            tid = int(uid)
        except ValueError:
            raise _err(p, f"openlabel.objects.{uid}", "object uids must be integers (track ids)") from None
        if not isinstance(ob.get("type"), str) or not ob["type"]:
            raise _err(p, f"openlabel.objects.{uid}.type", "missing class")
        attrs, interp = {}, None
        texts = _obj(ob.get("object_data", {}), p, f"openlabel.objects.{uid}.object_data").get("text", [])
        if not isinstance(texts, list):
            raise _err(p, f"openlabel.objects.{uid}.object_data.text", "expected a list")
        for i, t in enumerate(texts):
            t = _obj(t, p, f"openlabel.objects.{uid}.object_data.text[{i}]")
            name = str(t.get("name", ""))
            if name == "interpolation":
                interp = str(t.get("val"))
            elif name.startswith("attribute:"):
                attrs[name[len("attribute:"):]] = str(t.get("val"))
        try:
            tr = Track(tid, ob["type"], attrs)
            tracks[tid] = tr.copy(interpolation=interp) if interp else tr
        except (ValueError, TypeError) as e:
            raise _err(p, f"openlabel.objects.{uid}", str(e)) from None

    frames: list[FrameInfo] = []
    frame_rigs: list[Rig] = []
    rig_varies = False
    keyframes: dict[int, dict[int, Box3D]] = {tid: {} for tid in tracks}
    base = p.parent
    for k in keys:
        where = f"openlabel.frames.{k}"
        fr = _obj(frames_d[k], p, where)
        props = _obj(fr.get("frame_properties", {}), p, f"{where}.frame_properties")
        i = int(k)
        t = _parse_time(props, p, f"{where}.frame_properties")
        if t is None:
            raise _err(p, f"{where}.frame_properties", "no timestamp")
        tfs = _frame_transforms(props, p, f"{where}.frame_properties")
        T_world_from_ego = chain.T_root_from(ego, tfs, world) if ego else np.eye(4)
        lidar_files, camera_files, cam_t = {}, {}, {}
        frame_cams: dict[str, CameraModel] = {}
        for sname, st in _obj(props.get("streams", {}), p, f"{where}.frame_properties.streams").items():
            st = _obj(st, p, f"{where}.frame_properties.streams.{sname}")
            if sname not in rig:
                raise _err(p, f"{where}.frame_properties.streams.{sname}", "unknown stream")
            kind = rig.sensor(sname).kind
            if "uri" in st:
                f = Path(os.path.normpath(base / str(st["uri"])))
                (camera_files if kind == "camera" else lidar_files)[sname] = f
            sprops = _obj(st.get("stream_properties", {}), p, f"{where}.frame_properties.streams.{sname}")
            cam_i = _camera(sprops, p, f"{where}.frame_properties.streams.{sname}.stream_properties")
            if cam_i is not None:
                frame_cams[sname] = cam_i
            sync = _obj(sprops.get("sync", {}), p, f"{where}.frame_properties.streams.{sname}.sync")
            if kind == "camera" and "timestamp" in sync:
                cam_t[sname] = _parse_time(sync, p, f"{where}.frame_properties.streams.{sname}.sync")
        if frame_cams or (ego and any(a in rig and b == ego or b in rig and a == ego for a, b in tfs)):
            sensors_i = []
            for sn in rig.sensors:
                T_s = chain.T_root_from(sn.name, tfs, ego) if (ego and sn.name in cs) else sn.T_ego_from_sensor
                cam = frame_cams.get(sn.name, sn.camera)
                rig_varies |= cam != sn.camera or not np.allclose(T_s, sn.T_ego_from_sensor, rtol=0, atol=1e-12)
                sensors_i.append(Sensor(sn.name, sn.kind, T_s, cam))
            frame_rigs.append(Rig(sensors_i))
        else:
            frame_rigs.append(rig)
        try:
            frames.append(FrameInfo(i, t, T_world_from_ego, lidar_files, camera_files, cam_t))
        except TransformError as e:
            raise _err(p, where, str(e)) from None
        for uid, od in _obj(fr.get("objects", {}), p, f"{where}.objects").items():
            try:
                tid = int(uid)
            except ValueError:
                raise _err(p, f"{where}.objects.{uid}", "object uids must be integers") from None
            if tid not in tracks:
                raise _err(p, f"{where}.objects.{uid}", "object not declared in openlabel.objects")
            odata = _obj(_obj(od, p, f"{where}.objects.{uid}").get("object_data", {}), p,
                         f"{where}.objects.{uid}.object_data")
            cubs = odata.get("cuboid", [])
            if not isinstance(cubs, list):
                raise _err(p, f"{where}.objects.{uid}.object_data.cuboid", "expected a list")
            if not cubs:
                continue
            cub = _obj(cubs[0], p, f"{where}.objects.{uid}.object_data.cuboid[0]")
            cs_name = str(cub.get("coordinate_system", objects[uid].get("coordinate_system", world)))
            T = chain.T_root_from(cs_name, tfs, world) if cs_name != world else np.eye(4)
            keyframes[tid][i] = _cuboid_box(cub, T, p, f"{where}.objects.{uid}.object_data.cuboid[0]")

    from formats.datasets.base import dense_tracks

    full = {tid: tr.copy(keyframes=keyframes[tid]) for tid, tr in tracks.items() if keyframes[tid]}
    doc = AnnotationDocument.from_tracks(dense_tracks(full), frame_count=len(frames))
    if frames:
        doc.set_frame_times([f.timestamp_ns for f in frames])
    info = SequenceInfo(str(meta.get("name", p.stem)), "openlabel", frames, rig, root=p,
                        meta={"openlabel_metadata": meta})
    return info, doc, (frame_rigs if rig_varies else None)


def load_openlabel(path: PathLike) -> Any:
    """:func:`read_openlabel` as a ``formats.datasets.LoadedSequence`` (sensor files are read
    through the stream URIs; native ``.bin`` sweeps use the KITTI x y z intensity layout; per-frame
    sensor transforms give ``frame_rigs``)."""
    from formats.datasets.base import LoadedSequence

    info, doc, frame_rigs = _read(path)
    if frame_rigs is not None:  # the sequence rig is that of frame 0, as the dataset loaders do
        info.rig = frame_rigs[0]
    return LoadedSequence(info=info, annotations=doc, lidar_layout="kitti", frame_rigs=frame_rigs)
