"""Recordings as sequences: ROS 1 bags (``.bag``), ROS 2 bags (a folder with ``metadata.yaml``,
sqlite3 or MCAP storage) and plain ``.mcap`` / ``.db3`` files, read with ``rosbags`` (no ROS
installation needed).

What is read
------------
* LiDAR: ``sensor_msgs/PointCloud2`` (any field types, offsets and padding, ``is_bigendian``,
  organised clouds, row padding). One frame per message of the first LiDAR topic, at its header
  stamp. Per-point time fields (``time``, ``t``, ``timestamp``, ``offset_time``, ``time_offset``)
  become ``fields["time"]``: float64 seconds after the sweep's stamp (integer fields are taken as
  nanoseconds, values that look absolute - above 1e8 s or 1e17 ns - have the stamp removed).
* Cameras: ``sensor_msgs/Image`` (rgb8, bgr8, rgba8, bgra8, mono8, mono16, the four 8-bit Bayer
  patterns, demosaiced) and ``sensor_msgs/CompressedImage`` (JPEG, PNG), as RGB; each camera's
  ``sensor_msgs/CameraInfo`` (its namespace's ``camera_info``, else the one with the image's
  ``frame_id``): ``plumb_bob`` -> ``radtan`` (5), ``rational_polynomial`` -> ``radtan`` (8),
  ``equidistant`` -> ``fisheye``, no or zero distortion -> ``none`` (the raw image's ``K`` and ``D``).
  Images are paired with sweeps by header stamp (:func:`formats.sync.synchronize`).
* Extrinsics: ``/tf_static`` (and ``/tf`` edges that never change) resolved through the tree
  from each sensor's ``frame_id`` to the ego frame (``base_link`` when present, else
  ``base_footprint``, else the LiDAR's frame).
* Ego poses: a ``nav_msgs/Odometry`` topic (``odom_topic``, or the only one when there is no
  dynamic ``/tf``) or the dynamic ``/tf`` chain from the world frame (``map``, ``odom``,
  ``world``, or the tree's root) to the ego frame, interpolated (translation linear, rotation
  slerp) at every sweep time and at every image's time (``sensor_poses``).

Topics are chosen automatically when unambiguous; otherwise (two PointCloud2 topics, a raw and
a compressed stream of one camera) the loader says what to choose with ``lidar_topic``,
``camera_topics``, ``odom_topic`` (``--lidar-topic`` ...) or a mapping file (``mapping``,
YAML or JSON with the same keys, plus ``ego_frame``, ``world_frame``, ``stamps``). ``stamps``
``"log"`` uses the bag's log times instead of header stamps.

The bag is indexed once at open (per topic: log times and message locations; header stamps read
from the first bytes of each message, see :mod:`formats.datasets.rosbag_store`); sweeps and
images are decoded lazily by ``read_lidar``/``read_image``. Sensor names are the messages'
``frame_id``. ``info.meta["recording"]`` holds the topics (type, count, rate) and the mapping.
Damaged bags or messages raise :class:`DatasetError` naming the file and the topic.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

from calib.camera import CameraModel
from calib.errors import CalibrationError
from calib.rig import Rig, Sensor
from calib.transforms import invert, make_transform
from formats.datasets.base import LoadedSequence, decode_camera_image
from formats.datasets.errors import DatasetError
from formats.datasets.options import check_options
from formats.datasets.rosbag_store import BAG_SUFFIXES, BagStore, header_stamp_ns
from formats.io import outside_roots
from formats.limits import MAX_FRAMES, MAX_IMAGE_PIXELS
from formats.pointcloud import PointCloud, _finish
from formats.sync import DEFAULT_TOLERANCE_NS, synchronize
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import FusionLabelError
from fusionlabel.model import FrameInfo, SequenceInfo

F64 = NDArray[np.float64]

CLOUD = "sensor_msgs/msg/PointCloud2"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
#: Transform message types (``tf/tfMessage`` in older ROS 1 bags).
TF_TYPES = ("tf2_msgs/msg/TFMessage", "tf/msg/tfMessage")
ODOMETRY = "nav_msgs/msg/Odometry"
#: Ego frame names tried in order, then the LiDAR's frame.
EGO_FRAMES = ("base_link", "base_footprint")
#: World frame names tried in order, then the root of the ego frame's tree.
WORLD_FRAMES = ("map", "odom", "world")
#: Names of per-point time fields, in order of preference.
TIME_FIELDS = ("time", "t", "timestamp", "offset_time", "time_offset", "ts")
#: The options of a mapping file (and of :func:`load_recording`).
MAPPING_KEYS = ("lidar_topic", "camera_topics", "odom_topic", "ego_frame", "world_frame", "stamps", "tolerance_ms")

_POINTFIELD_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}


# ---- detection ---------------------------------------------------------------------------------
def _head(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of a file (empty when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def is_recording(path: Path) -> bool:
    """A ROS 1 bag, an MCAP or rosbag2 sqlite3 file (by magic bytes), or a ROS 2 bag folder."""
    p = Path(path)
    if p.is_dir():
        meta = p / "metadata.yaml"
        if meta.is_file() and outside_roots(meta, [os.path.realpath(p)]) is not None:
            return True  # a link out of the folder: not read here; the loader refuses it, naming it
        return meta.is_file() and b"rosbag2_bagfile_information" in _head(meta, 4096)
    if p.suffix.lower() not in BAG_SUFFIXES or not p.is_file():
        return False
    return _head(p, 16).startswith((b"#ROSBAG V2.0", b"\x89MCAP0\r\n", b"SQLite format 3\x00"))


# ---- point clouds ------------------------------------------------------------------------------
def decode_pointcloud2(msg: Any, source: Path, topic: str, stamp_ns: int | None = None) -> PointCloud:
    """A ``sensor_msgs/PointCloud2`` -> :class:`PointCloud` (xyz float32 in the message's frame,
    other fields by name, the time field normalised as the module docstring says). Vectorised:
    one structured view of the data buffer. DatasetError names ``source`` and ``topic`` when the
    layout and the data disagree."""
    where = f"topic {topic}"
    h, w, step, row = int(msg.height), int(msg.width), int(msg.point_step), int(msg.row_step)
    data = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if h * w and (step <= 0 or row < w * step):
        raise DatasetError(source, f"{where}: point_step {step} / row_step {row} too small for width {w}")
    if data.size < h * row:
        raise DatasetError(source, f"{where}: {data.size} data bytes, the header needs {h} x {row}")
    if stamp_ns is None and hasattr(msg, "header"):
        st = msg.header.stamp
        stamp_ns = int(st.sec) * 1_000_000_000 + int(st.nanosec)
    order = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    seen: set[str] = set()
    for f in msg.fields:
        code = _POINTFIELD_TYPES.get(int(f.datatype))
        if code is None:
            raise DatasetError(source, f"{where}: field {f.name!r} has unknown datatype {f.datatype}")
        count = max(int(f.count), 1)
        size = np.dtype(code).itemsize * count
        if int(f.offset) + size > step:
            raise DatasetError(source, f"{where}: field {f.name!r} (offset {f.offset}, {size} bytes) "
                                       f"exceeds point_step {step}")
        if f.name in seen or not f.name:
            continue
        seen.add(f.name)
        names.append(f.name)
        formats.append((order + code, (count,)) if count > 1 else order + code)
        offsets.append(int(f.offset))
    for need in ("x", "y", "z"):
        if need not in seen:
            raise DatasetError(source, f"{where}: no {need!r} field (fields: {sorted(seen)})")
    dt = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": step})
    if h * w == 0:
        flat = np.zeros(0, dtype=np.uint8)
    elif row == w * step:  # no row padding: a view of the message buffer
        flat = data[: h * row]
    else:
        flat = np.ascontiguousarray(data[: h * row].reshape(h, row)[:, : w * step]).reshape(-1)
    rows = flat.view(dt)
    ox, oy, oz = (offsets[names.index(c)] for c in "xyz")
    fx = formats[names.index("x")]
    if oy == ox + np.dtype(fx).itemsize and oz == oy + np.dtype(fx).itemsize and all(
            formats[names.index(c)] == fx for c in "yz"):  # x, y, z adjacent: one strided (N, 3) view
        packed = np.dtype({"names": ["p"], "formats": [(fx, (3,))], "offsets": [ox], "itemsize": step})
        xyz_view = flat.view(packed)["p"]
        xyz = xyz_view if xyz_view.dtype == np.float32 else xyz_view.astype(np.float32)
    else:
        xyz = np.stack([rows["x"], rows["y"], rows["z"]], axis=1).astype(np.float32)
    fields: dict[str, np.ndarray] = {}
    time_name = next((n for n in TIME_FIELDS if n in seen), None)
    for n in names:
        if n in ("x", "y", "z"):
            continue
        col = rows[n]
        if n == time_name:
            fields["time"] = _point_times(col, stamp_ns)
        else:
            fields["intensity" if n == "i" else n] = col.astype(col.dtype.newbyteorder("="))
    return _finish(xyz, fields, source, [], contiguous=False)  # xyz may stay a view of the message


def _point_times(col: np.ndarray, stamp_ns: int | None) -> F64:
    """A per-point time column -> float64 seconds after the sweep stamp (see module docstring)."""
    if col.size == 0:
        return np.zeros(0)
    if np.issubdtype(col.dtype, np.integer):
        v = col.astype(np.int64)
        if stamp_ns is not None and int(v.max()) > 10**17:
            v = v - stamp_ns
        return v.astype(np.float64) * 1e-9
    s = col.astype(np.float64)
    if stamp_ns is not None and float(np.nanmax(s)) > 1e8:
        return (s - stamp_ns // 1_000_000_000) - (stamp_ns % 1_000_000_000) * 1e-9
    return s


# ---- images ------------------------------------------------------------------------------------
_BAYER = {"bayer_rggb8": cv2.COLOR_BayerBG2RGB, "bayer_bggr8": cv2.COLOR_BayerRG2RGB,
          "bayer_gbrg8": cv2.COLOR_BayerGR2RGB, "bayer_grbg8": cv2.COLOR_BayerGB2RGB}
_CHANNELS = {"rgb8": (3, "u1"), "bgr8": (3, "u1"), "rgba8": (4, "u1"), "bgra8": (4, "u1"), "mono8": (1, "u1"),
             "8UC1": (1, "u1"), "8UC3": (3, "u1"), "mono16": (1, "u2"), "16UC1": (1, "u2"),
             **{k: (1, "u1") for k in _BAYER}}


def decode_image_msg(msg: Any, source: Path, topic: str, rig: Rig, camera: str) -> np.ndarray:
    """A ``sensor_msgs/Image`` or ``CompressedImage`` -> (H, W, 3) uint8 RGB, or (H, W) grey;
    the size is checked against the camera model."""
    where = f"{source} topic {topic}"
    if hasattr(msg, "format"):  # CompressedImage
        return decode_camera_image(np.asarray(msg.data, dtype=np.uint8), where, rig, camera)
    enc = str(msg.encoding)
    if enc not in _CHANNELS:
        raise DatasetError(source, f"topic {topic}: image encoding {enc!r} is not supported "
                                   f"(known: {', '.join(sorted(_CHANNELS))})")
    ch, code = _CHANNELS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    item = np.dtype(code).itemsize
    if h * w > MAX_IMAGE_PIXELS or step < w * ch * item:
        raise DatasetError(source, f"topic {topic}: image {w}x{h} with step {step} is inconsistent")
    data = np.asarray(msg.data, dtype=np.uint8).reshape(-1)
    if data.size < h * step:
        raise DatasetError(source, f"topic {topic}: {data.size} image bytes, {h} x {step} expected")
    cam = rig.camera(camera)
    if (cam.width, cam.height) != (w, h):
        raise DatasetError(source, f"topic {topic}: image is {w}x{h} px but camera {camera!r} "
                                   f"is calibrated for {cam.width}x{cam.height}")
    rows = data[: h * step].reshape(h, step)[:, : w * ch * item]
    dt = np.dtype((">" if msg.is_bigendian else "<") + code)
    img = np.ascontiguousarray(rows).view(dt).reshape((h, w, ch) if ch > 1 else (h, w))
    if enc in _BAYER:
        return cv2.cvtColor(img, _BAYER[enc])
    if enc in ("bgr8", "8UC3"):
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if enc == "bgra8":
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if enc == "rgba8":
        return np.ascontiguousarray(img[:, :, :3])
    return img.astype(img.dtype.newbyteorder("="), copy=False)


@contextmanager
def _fields(source: Path, topic: str, i: int) -> Iterator[None]:
    """Reading message ``i`` of ``topic``: a message whose type definition in the recording is
    damaged (a field renamed or of another type) is a DatasetError naming the file and the topic,
    not the AttributeError / TypeError of the field reached."""
    try:
        yield
    except FusionLabelError:
        raise
    except (AttributeError, TypeError, ValueError, IndexError, KeyError, OverflowError) as e:
        raise DatasetError(source, f"topic {topic}: message {i} does not have the fields of its type "
                                   f"({type(e).__name__}: {' '.join(str(e).split())[:160]})") from None


def _get(msg: Any, *names: str) -> Any:
    for n in names:
        if hasattr(msg, n):
            return getattr(msg, n)
    raise AttributeError(names[0])


def camera_from_info(msg: Any, source: Path, topic: str) -> CameraModel:
    """A ``sensor_msgs/CameraInfo`` -> :class:`CameraModel` (``K`` and ``D`` of the raw image)."""
    model = str(msg.distortion_model).strip().lower()
    d = [float(x) for x in np.asarray(_get(msg, "d", "D"), dtype=np.float64).reshape(-1)]
    K = np.asarray(_get(msg, "k", "K"), dtype=np.float64).reshape(3, 3)
    if not any(d):
        kind, dist = "none", ()
    elif model in ("plumb_bob", "radtan", ""):
        if len(d) not in (4, 5, 8):
            raise DatasetError(source, f"topic {topic}: plumb_bob with {len(d)} coefficients (4, 5 or 8 expected)")
        kind, dist = "radtan", tuple(d)
    elif model == "rational_polynomial":
        if len(d) < 8:
            raise DatasetError(source, f"topic {topic}: rational_polynomial with {len(d)} coefficients (8 expected)")
        if any(d[8:]):
            raise DatasetError(source, f"topic {topic}: rational_polynomial thin-prism terms {d[8:]} are not supported")
        kind, dist = "radtan", tuple(d[:8])
    elif model in ("equidistant", "fisheye"):
        if len(d) != 4:
            raise DatasetError(source, f"topic {topic}: equidistant with {len(d)} coefficients (4 expected)")
        kind, dist = "fisheye", tuple(d)
    else:
        raise DatasetError(source, f"topic {topic}: distortion model {model!r} is not supported "
                                   "(plumb_bob, rational_polynomial, equidistant)")
    try:
        return CameraModel(K, int(msg.width), int(msg.height), kind, dist)
    except CalibrationError as e:
        raise DatasetError(source, f"topic {topic}: {e}") from None


# ---- transforms --------------------------------------------------------------------------------
def _tf_matrix(tr: Any) -> F64:
    q = tr.rotation
    R = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
    return make_transform(R, [tr.translation.x, tr.translation.y, tr.translation.z])


def _frame(name: str) -> str:
    return str(name).strip().lstrip("/")


class TfTree:
    """Edges ``parent -> child`` (``T_parent_from_child``): static ones (one matrix) and
    dynamic ones (times (M,) int64 ns, matrices (M, 4, 4)), with chain resolution."""

    def __init__(self) -> None:
        self.static: dict[tuple[str, str], F64] = {}
        self.dynamic: dict[tuple[str, str], tuple[NDArray[np.int64], F64]] = {}

    def add_samples(self, samples: dict[tuple[str, str], list[tuple[int, F64]]], static: bool) -> None:
        for edge, vals in samples.items():
            vals.sort(key=lambda x: x[0])
            Ts = np.stack([v[1] for v in vals])
            if static or np.allclose(Ts, Ts[0], atol=1e-9):
                self.static[edge] = Ts[-1]
                continue
            t = np.array([v[0] for v in vals], dtype=np.int64)
            keep = np.concatenate([[True], np.diff(t) > 0])
            self.dynamic[edge] = (t[keep], Ts[keep])

    def frames(self) -> set[str]:
        return {f for e in (*self.static, *self.dynamic) for f in e}

    def _neighbours(self, static_only: bool) -> dict[str, list[tuple[str, tuple[str, str], bool]]]:
        nb: dict[str, list[tuple[str, tuple[str, str], bool]]] = {}
        edges = list(self.static) + ([] if static_only else list(self.dynamic))
        for p, c in edges:
            nb.setdefault(p, []).append((c, (p, c), False))
            nb.setdefault(c, []).append((p, (p, c), True))
        return nb

    def path(self, dst: str, src: str, static_only: bool) -> list[tuple[tuple[str, str], bool]] | None:
        """Edges from ``dst`` to ``src`` (each with 'inverted'), or None when not connected."""
        if dst == src:
            return []
        nb = self._neighbours(static_only)
        prev: dict[str, tuple[str, tuple[str, str], bool]] = {}
        todo = deque([dst])
        seen = {dst}
        while todo:
            f = todo.popleft()
            for g, edge, inv in nb.get(f, []):
                if g not in seen:
                    seen.add(g)
                    prev[g] = (f, edge, inv)
                    todo.append(g)
        if src not in seen:
            return None
        out = []
        f = src
        while f != dst:
            p, edge, inv = prev[f]
            out.append((edge, inv))
            f = p
        return out[::-1]

    def root(self, frame: str) -> str:
        parents = {c: p for p, c in (*self.static, *self.dynamic)}
        seen = set()
        while frame in parents and frame not in seen:
            seen.add(frame)
            frame = parents[frame]
        return frame

    def static_T(self, dst: str, src: str) -> F64 | None:
        """``T_dst_from_src`` through static edges, or None."""
        path = self.path(dst, src, static_only=True)
        if path is None:
            return None
        T = np.eye(4)
        for edge, inv in path:
            T = T @ (invert(self.static[edge]) if inv else self.static[edge])
        return T

    def at(self, dst: str, src: str, times: NDArray[np.int64]) -> tuple[F64, int]:
        """``T_dst_from_src`` at ``times`` (K, 4, 4), dynamic edges interpolated; and how many
        times lay outside some dynamic edge's samples (clamped to its first or last)."""
        path = self.path(dst, src, static_only=False)
        if path is None:
            raise KeyError(f"no transform chain from {src!r} to {dst!r}")
        out = np.broadcast_to(np.eye(4), (len(times), 4, 4)).copy()
        outside = np.zeros(len(times), bool)
        for edge, inv in path:
            if edge in self.static:
                Ts = np.broadcast_to(self.static[edge], out.shape)
            else:
                t, S = self.dynamic[edge]
                Ts, out_e = interpolate_poses(t, S, times)
                outside |= out_e
            if inv:
                Ts = np.linalg.inv(Ts)
            out = out @ Ts
        return out, int(outside.sum())


def interpolate_poses(t: NDArray[np.int64], Ts: F64, times: NDArray[np.int64]) -> tuple[F64, NDArray[np.bool_]]:
    """Poses ``Ts`` (M, 4, 4) sampled at ``t`` (M,) ns, at ``times`` (K,): translation linear,
    rotation slerp; clamped outside ``[t[0], t[-1]]`` (returned mask)."""
    times = np.asarray(times, dtype=np.int64)
    outside = (times < t[0]) | (times > t[-1])
    if len(t) == 1:
        return np.broadcast_to(Ts[0], (len(times), 4, 4)).copy(), outside
    tc = np.clip(times, t[0], t[-1])
    x = (tc - t[0]).astype(np.float64)
    xs = (t - t[0]).astype(np.float64)
    out = np.zeros((len(times), 4, 4))
    out[:, 3, 3] = 1.0
    out[:, :3, :3] = Slerp(xs, Rotation.from_matrix(Ts[:, :3, :3]))(x).as_matrix()
    for k in range(3):
        out[:, k, 3] = np.interp(x, xs, Ts[:, k, 3])
    return out, outside


# ---- mapping -----------------------------------------------------------------------------------
def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A topic mapping file (YAML or JSON) -> options (keys :data:`MAPPING_KEYS`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(p, f"cannot read the topic mapping: {e}") from None
    try:
        from ruamel.yaml import YAML

        data = YAML(typ="safe", pure=True).load(text)
    except Exception as e:  # noqa: BLE001 - any parse failure names the file
        raise DatasetError(p, f"not a YAML/JSON mapping: {' '.join(str(e).split())[:200]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DatasetError(p, "the topic mapping must be a mapping of option -> value")
    unknown = sorted(set(data) - set(MAPPING_KEYS), key=str)
    if unknown:
        raise DatasetError(p, f"unknown keys {unknown}; known: {', '.join(MAPPING_KEYS)}")
    check_options(p, data)  # each value of the kind the option takes (a topic, a tolerance in range)
    return dict(data)


def _as_topics(v: Any, source: Path, key: str) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = [x.strip() for x in v.split(",") if x.strip()]
    if isinstance(v, dict):
        v = list(v.values())
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise DatasetError(source, f"{key}: expected a topic or a list of topics, got {v!r}")
    return list(v)


def _strip_image_suffix(topic: str) -> str:
    t = topic.rstrip("/")
    for suf in ("/compressed", "/theora", "/compressedDepth"):
        if t.endswith(suf):
            t = t[: -len(suf)]
    return t


def _name_from_topic(topic: str) -> str:
    parts = [p for p in _strip_image_suffix(topic).split("/") if p]
    generic = {"image", "image_raw", "image_color", "image_rect", "image_rect_color", "points", "pointcloud",
               "points_raw", "cloud", "camera_info"}
    while len(parts) > 1 and parts[-1] in generic:
        parts.pop()
    return re.sub(r"[^A-Za-z0-9_.-]", "_", parts[-1] if parts else "sensor")


# ---- the loader --------------------------------------------------------------------------------
def _stamps(store: BagStore, topic: str, use_header: bool) -> NDArray[np.int64]:
    idx = store.topics[topic]
    if not use_header:
        return idx.log_ns.copy()
    out = np.empty(len(idx), dtype=np.int64)
    for i in range(len(idx)):
        s = header_stamp_ns(store.peek(topic, i, 16), store.is_ros1)
        if s is None:
            raise DatasetError(store.path, f"topic {topic}: message {i} is too short for a header")
        out[i] = s
    return out


def _order(stamps: NDArray[np.int64], store: BagStore, topic: str) -> NDArray[np.int64]:
    """Message indices sorted by stamp; DatasetError when two messages share a stamp."""
    order = np.argsort(stamps, kind="stable")
    s = stamps[order]
    if s.size > 1 and np.any(np.diff(s) <= 0):
        k = int(np.argmax(np.diff(s) <= 0))
        raise DatasetError(store.path, f"topic {topic}: two messages with the stamp {int(s[k])} ns")
    return order


def _tf_samples(store: BagStore, topics: list[str], use_header: bool) -> dict[tuple[str, str], list[tuple[int, F64]]]:
    out: dict[tuple[str, str], list[tuple[int, F64]]] = {}
    for topic in topics:
        idx = store.topics[topic]
        for i in range(len(idx)):
            msg = store.message(topic, i)
            with _fields(store.path, topic, i):
                for ts in msg.transforms:
                    st = ts.header.stamp
                    t = int(st.sec) * 1_000_000_000 + int(st.nanosec) if use_header else int(idx.log_ns[i])
                    try:
                        T = _tf_matrix(ts.transform)
                    except ValueError as e:
                        raise DatasetError(store.path, f"topic {topic}: transform {ts.header.frame_id} -> "
                                                       f"{ts.child_frame_id}: {e}") from None
                    out.setdefault((_frame(ts.header.frame_id), _frame(ts.child_frame_id)), []).append((t, T))
    return out


def _rate(ts: NDArray[np.int64]) -> float:
    if ts.size < 2 or ts[-1] <= ts[0]:
        return 0.0
    return float((ts.size - 1) / ((ts[-1] - ts[0]) * 1e-9))


def load_recording(
    path: Path,
    lidar_topic: Any = None,
    camera_topics: Any = None,
    odom_topic: str | None = None,
    ego_frame: str | None = None,
    world_frame: str | None = None,
    mapping: str | os.PathLike[str] | None = None,
    stamps: str | None = None,
    tolerance_ms: float | None = None,
    name: str | None = None,
) -> LoadedSequence:
    """Open a recording (see the module docstring for what is read and the options)."""
    path = Path(path)
    opts: dict[str, Any] = read_mapping(mapping) if mapping is not None else {}
    given = {"lidar_topic": lidar_topic, "camera_topics": camera_topics, "odom_topic": odom_topic,
             "ego_frame": ego_frame, "world_frame": world_frame, "stamps": stamps, "tolerance_ms": tolerance_ms}
    opts.update({k: v for k, v in given.items() if v is not None})
    stamp_mode = opts.get("stamps") or "header"
    if stamp_mode not in ("header", "log"):
        raise DatasetError(path, f"stamps: expected 'header' or 'log', got {stamp_mode!r}")
    use_header = stamp_mode == "header"
    tol = opts.get("tolerance_ms")
    tol_ns = DEFAULT_TOLERANCE_NS if tol is None else int(round(float(tol) * 1e6))
    store = BagStore(path)
    try:
        return _load(store, path, opts, use_header, tol_ns, name)
    except BaseException:
        store.close()
        raise


def _choose_topics(store: BagStore, path: Path, opts: dict[str, Any]) -> tuple[list[str], list[str]]:
    by_type: dict[str, list[str]] = {}
    for t, ix in store.topics.items():
        by_type.setdefault(ix.msgtype, []).append(t)
    lidars = _as_topics(opts.get("lidar_topic"), path, "lidar_topic")
    if lidars is None:
        lidars = by_type.get(CLOUD, [])
        if len(lidars) > 1:
            raise DatasetError(path, f"several PointCloud2 topics {lidars}: choose with --lidar-topic "
                                     "(or lidar_topic in a mapping file); the first given drives the frames")
    if not lidars:
        raise DatasetError(path, "no sensor_msgs/PointCloud2 topic: a sequence needs a LiDAR")
    for t in lidars:
        if store.topics.get(t) is None or store.topics[t].msgtype != CLOUD:
            raise DatasetError(path, f"lidar topic {t!r} is not a PointCloud2 topic of the recording "
                                     f"(PointCloud2 topics: {by_type.get(CLOUD, [])})")
    cams = _as_topics(opts.get("camera_topics"), path, "camera_topics")
    if cams is None:
        cams = sorted(by_type.get(IMAGE, []) + by_type.get(COMPRESSED, []))
        bases: dict[str, list[str]] = {}
        for t in cams:
            bases.setdefault(_strip_image_suffix(t), []).append(t)
        dup = [v for v in bases.values() if len(v) > 1]
        if dup:
            raise DatasetError(path, f"a camera has several image streams {dup[0]}: choose with --camera-topics "
                                     "(or camera_topics in a mapping file)")
    for t in cams:
        if store.topics.get(t) is None or store.topics[t].msgtype not in (IMAGE, COMPRESSED):
            raise DatasetError(path, f"camera topic {t!r} is not an Image/CompressedImage topic of the recording")
    return lidars, cams


def _info_topic(store: BagStore, image_topic: str, frame_id: str) -> str | None:
    infos = [t for t, ix in store.topics.items() if ix.msgtype == CAMERA_INFO and len(ix)]
    ns = _strip_image_suffix(image_topic).rsplit("/", 1)[0]
    if f"{ns}/camera_info" in infos:
        return f"{ns}/camera_info"
    for t in infos:
        msg = store.message(t, 0)
        with _fields(store.path, t, 0):
            if _frame(msg.header.frame_id) == frame_id:
                return t
    return None


def _load(store: BagStore, path: Path, opts: dict[str, Any], use_header: bool, tol_ns: int,
          name: str | None) -> LoadedSequence:
    warnings: list[str] = []
    lidar_topics, cam_topics = _choose_topics(store, path, opts)
    tf_topics = [t for t, ix in store.topics.items() if ix.msgtype in TF_TYPES]
    tree = TfTree()
    tree.add_samples(_tf_samples(store, [t for t in tf_topics if "static" in t], use_header), static=True)
    tree.add_samples(_tf_samples(store, [t for t in tf_topics if "static" not in t], use_header), static=False)

    # sensors: name = frame_id of the first message
    sensors: dict[str, tuple[str, str]] = {}  # name -> (topic, frame_id)
    kinds: dict[str, str] = {}
    for topic in lidar_topics + cam_topics:
        if not len(store.topics[topic]):
            warnings.append(f"topic {topic} has no messages; skipped")
            continue
        msg = store.message(topic, 0)
        with _fields(path, topic, 0):
            fid = _frame(msg.header.frame_id)
        nm = fid or _name_from_topic(topic)
        if nm in sensors or nm == "ego":
            nm = f"{nm}_{_name_from_topic(topic)}"
        sensors[nm] = (topic, fid or nm)
        kinds[nm] = "lidar" if topic in lidar_topics else "camera"
    lidar_names = [n for n in sensors if kinds[n] == "lidar"]
    if not lidar_names:
        raise DatasetError(path, f"LiDAR topic {lidar_topics[0]} has no messages")
    primary = lidar_names[0]
    primary_frame = sensors[primary][1]

    frames_known = tree.frames()
    ego = opts.get("ego_frame") or next((f for f in EGO_FRAMES if f in frames_known), primary_frame)
    ego = _frame(ego)

    def T_ego_from(fid: str, what: str) -> F64:
        T = tree.static_T(ego, fid)
        if T is None:
            raise DatasetError(path, f"{what}: no /tf_static chain from frame {fid!r} to the ego frame {ego!r} "
                                     f"(frames in /tf_static: {sorted(tree.frames())})")
        return T

    rig_sensors = []
    cam_models: dict[str, CameraModel] = {}
    info_topics: dict[str, str] = {}
    for nm, (topic, fid) in sensors.items():
        if kinds[nm] == "camera":
            it = _info_topic(store, topic, fid)
            if it is None:
                warnings.append(f"camera topic {topic}: no CameraInfo (same namespace or frame_id {fid!r}); skipped")
                continue
            info_msg = store.message(it, 0)
            with _fields(path, it, 0):
                cam_models[nm] = camera_from_info(info_msg, path, it)
            info_topics[nm] = it
            rig_sensors.append(Sensor(nm, "camera", T_ego_from(fid, f"camera topic {topic}"), cam_models[nm]))
        else:
            rig_sensors.append(Sensor(nm, "lidar", T_ego_from(fid, f"lidar topic {topic}"), None))
    rig = Rig(rig_sensors)

    # frames: one per message of the primary LiDAR, ordered by stamp
    lt = sensors[primary][0]
    l_stamps = _stamps(store, lt, use_header)
    l_order = _order(l_stamps, store, lt)
    if l_order.size > MAX_FRAMES:
        raise DatasetError(path, f"topic {lt}: {l_order.size} sweeps, more than {MAX_FRAMES} frames")
    sweep_ns = l_stamps[l_order]
    # other LiDARs and cameras: paired by time
    cams = {n: sensors[n][0] for n in cam_models}
    per_topic: dict[str, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
    for n in [*lidar_names[1:], *cams]:
        t = sensors[n][0]
        st = _stamps(store, t, use_header)
        o = _order(st, store, t)
        per_topic[n] = (st[o], o)
    pairs, report = synchronize(sweep_ns, {n: per_topic[n][0] for n in cams}, tol_ns)
    extra_pairs, _ = synchronize(sweep_ns, {n: per_topic[n][0] for n in lidar_names[1:]}, tol_ns)

    # ego poses
    poses_from, T_world_from_ego, cam_poses = _poses(store, path, tree, opts, ego, sweep_ns, use_header, warnings,
                                                     {n: per_topic[n][0] for n in cams})
    files = store.files
    # the file the frames name (a ROS 2 folder's storage file, unless decompressed elsewhere)
    data_file = path if path.is_file() else next((f for f in files if f.parent == path), path)
    frames: list[FrameInfo] = []
    msg_of: dict[str, list[int | None]] = {primary: [int(i) for i in l_order]}
    for n in lidar_names[1:]:
        msg_of[n] = [None if j is None else int(per_topic[n][1][j]) for j in extra_pairs[n]]
    for n in cams:
        msg_of[n] = [None if j is None else int(per_topic[n][1][j]) for j in pairs[n]]
    sensor_poses: list[dict[str, F64]] | None = [] if cam_poses is not None else None
    for k, t in enumerate(sweep_ns):
        lid = {n: data_file for n in lidar_names if msg_of[n][k] is not None}
        cam_files = {n: data_file for n in cams if msg_of[n][k] is not None}
        cts = {n: int(per_topic[n][0][pairs[n][k]]) for n in cams if pairs[n][k] is not None}
        frames.append(FrameInfo(k, int(t), T_world_from_ego[k], lid, cam_files, cts))
        if sensor_poses is not None and cam_poses is not None:
            sensor_poses.append({n: cam_poses[n][pairs[n][k]] for n in cams if pairs[n][k] is not None})

    topics_meta = [
        {"topic": t, "type": ix.msgtype.replace("/msg/", "/"), "messages": len(ix),
         "rate_hz": round(_rate(ix.log_ns), 3)}
        for t, ix in store.topics.items()
    ]
    mapping = {
        "lidars": {n: sensors[n][0] for n in lidar_names},
        "cameras": {n: {"image": cams[n], "camera_info": info_topics[n]} for n in cams},
        "tf": tf_topics, "ego_frame": ego, "poses": poses_from, "stamps": "header" if use_header else "log",
    }
    meta = {"recording": {"path": str(path), "kind": "ros1" if store.is_ros1 else "ros2",
                          "files": [str(f) for f in files], "topics": topics_meta, "mapping": mapping}}
    seq_name = name or (path.stem if path.is_file() else path.name)
    info = SequenceInfo(seq_name, "rosbag", frames, rig, root=path if path.is_dir() else path.parent, meta=meta)

    def read_lidar(frame: int, lidar: str) -> PointCloud | None:
        i = msg_of[lidar][frame]
        if i is None:
            return None
        topic = sensors[lidar][0]
        msg = store.message(topic, i)
        with _fields(path, topic, i):
            pc = decode_pointcloud2(msg, path, topic)
        pc.path = data_file
        return pc

    def read_image(frame: int, cam: str) -> np.ndarray | None:
        if cam not in msg_of:
            return None
        i = msg_of[cam][frame]
        if i is None:
            return None
        topic = sensors[cam][0]
        msg = store.message(topic, i)
        with _fields(path, topic, i):
            return decode_image_msg(msg, path, topic, rig, cam)

    return LoadedSequence(
        info=info,
        annotations=AnnotationDocument.from_tracks([], len(frames)),
        sync=report,
        sensor_poses=sensor_poses,
        warnings=warnings,
        lidar_reader=read_lidar,
        image_reader=read_image,
        closer=store.close,
    )


def _poses(store: BagStore, path: Path, tree: TfTree, opts: dict[str, Any], ego: str, sweep_ns: NDArray[np.int64],
           use_header: bool, warnings: list[str], cam_ns: dict[str, NDArray[np.int64]]
           ) -> tuple[str, F64, dict[str, F64] | None]:
    """(where the poses came from, T_world_from_ego per sweep (F, 4, 4), per camera per image)."""
    odom = opts.get("odom_topic")
    odoms = [t for t, ix in store.topics.items() if ix.msgtype == ODOMETRY]
    if odom is not None and odom not in odoms:
        raise DatasetError(path, f"odom topic {odom!r} is not a nav_msgs/Odometry topic (found: {odoms})")
    if odom is None and not tree.dynamic and len(odoms) == 1:
        odom = odoms[0]
    elif odom is None and not tree.dynamic and len(odoms) > 1:
        raise DatasetError(path, f"several Odometry topics {odoms}: choose with --odom-topic")

    def sample(fn: Any) -> tuple[F64, dict[str, F64]]:
        T, outside = fn(sweep_ns)
        per_cam = {}
        for c, ts in cam_ns.items():
            per_cam[c], o2 = fn(ts)
            outside += o2
        if outside:
            warnings.append(f"{outside} sensor times outside the ego pose samples: nearest pose used")
        return T, per_cam

    if odom is not None:
        idx = store.topics[odom]
        ts, Ts, child = [], [], None
        for i in range(len(idx)):
            m = store.message(odom, i)
            with _fields(path, odom, i):
                st = m.header.stamp
                ts.append(int(st.sec) * 1_000_000_000 + int(st.nanosec) if use_header else int(idx.log_ns[i]))
                p, q = m.pose.pose.position, m.pose.pose.orientation
                Ts.append(make_transform(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(), [p.x, p.y, p.z]))
                child = _frame(m.child_frame_id) or ego
        if not ts:
            raise DatasetError(path, f"topic {odom}: no Odometry messages")
        o = np.argsort(np.asarray(ts), kind="stable")
        t_arr, T_arr = np.asarray(ts, np.int64)[o], np.stack(Ts)[o]
        keep = np.concatenate([[True], np.diff(t_arr) > 0])
        T_child_from_ego = tree.static_T(child or ego, ego)
        if T_child_from_ego is None:
            raise DatasetError(path, f"topic {odom}: no /tf_static chain from its child frame {child!r} to {ego!r}")

        def fn(times: NDArray[np.int64]) -> tuple[F64, int]:
            T, out = interpolate_poses(t_arr[keep], T_arr[keep], times)
            return T @ T_child_from_ego, int(out.sum())

        T, per_cam = sample(fn)
        return f"odometry {odom}", T, per_cam
    if not tree.dynamic:
        warnings.append("no ego poses (no dynamic /tf, no Odometry): identity poses")
        return "none", np.broadcast_to(np.eye(4), (len(sweep_ns), 4, 4)).copy(), None
    world = opts.get("world_frame")
    if world is None:
        world = next((f for f in WORLD_FRAMES if tree.path(f, ego, False) is not None and f != ego), tree.root(ego))
    world = _frame(world)
    if world == ego or tree.path(world, ego, False) is None:
        raise DatasetError(path, f"no /tf chain from the ego frame {ego!r} to the world frame {world!r}")

    def fn_tf(times: NDArray[np.int64]) -> tuple[F64, int]:
        return tree.at(world, ego, times)

    T, per_cam = sample(fn_tf)
    return f"tf {world} -> {ego}", T, per_cam
