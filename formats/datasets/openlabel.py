"""ASAM OpenLABEL 1.0 JSON reader: a sequence's tracks, sensors and poses (the layout
``formats.export.openlabel`` writes; ``docs/openlabel.md`` has the full mapping).

Reading (:func:`read_openlabel`, :func:`load_openlabel`) accepts the same plus: cuboids in any
coordinate system of the chain (``base``, a sensor; 10-value quaternion or 9-value Euler
``rx, ry, rz`` form, rotations reduced to their yaw), ``matrix4x4`` / quaternion / Euler
transforms, per-frame ``odom_to_base`` transforms (inverted), and ``vcd``'s key spellings
(``camera_matrix_3x4``, ``distortion_coeffs_1xN``, ``lens_coeffs_1xN``). Every cuboid becomes a
keyframe; frames without a box inside a track's span become gaps (OpenLABEL lists what exists).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.errors import CalibrationError, TransformError
from calib.rig import Rig, Sensor
from calib.transforms import check_transform, invert, make_transform, quat_to_rotation, rotation_to_yaw
from formats.datasets.base import LoadedSequence, dense_tracks
from formats.errors import FormatError
from formats.io import read_json_file
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo, Track

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]

SCHEMA_VERSION = "1.0.0"
#: The coordinate systems of the world (``odom``) and ego (``base``) frames.
WORLD_CS = "odom"
EGO_CS = "base"
#: File name used when a folder is given.
DEFAULT_FILE = "openlabel.json"


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


    full = {tid: tr.copy(keyframes=keyframes[tid]) for tid, tr in tracks.items() if keyframes[tid]}
    doc = AnnotationDocument.from_tracks(dense_tracks(full), frame_count=len(frames))
    if frames:
        doc.set_frame_times([f.timestamp_ns for f in frames])
    info = SequenceInfo(str(meta.get("name", p.stem)), "openlabel", frames, rig, root=p,
                        meta={"openlabel_metadata": meta})
    return info, doc, (frame_rigs if rig_varies else None)


def load_openlabel(path: PathLike) -> LoadedSequence:
    """:func:`read_openlabel` as a ``formats.datasets.LoadedSequence`` (sensor files are read
    through the stream URIs; native ``.bin`` sweeps use the KITTI x y z intensity layout; per-frame
    sensor transforms give ``frame_rigs``)."""
    info, doc, frame_rigs = _read(path)
    if frame_rigs is not None:  # the sequence rig is that of frame 0, as the dataset loaders do
        info.rig = frame_rigs[0]
    return LoadedSequence(info=info, annotations=doc, lidar_layout="kitti", frame_rigs=frame_rigs)
