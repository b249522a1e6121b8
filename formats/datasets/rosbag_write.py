"""Write an opened sequence as a recording (ROS 1 bag, ROS 2 bag with MCAP or sqlite3 storage)
with the ``rosbags`` library's own writers and message types: the reference data of the
recording reader's tests and of ``benchmarks/bench_bag.py``.

Topics written (``<lidar>``/``<cam>`` are the rig's sensor names, also the messages' frame ids):

* ``/sensors/<lidar>/points``: ``sensor_msgs/PointCloud2`` per sweep (x, y, z, intensity float32,
  4 bytes of padding, and a per-point ``time`` field: float32 seconds after the header stamp:
  the source's own per-point times where it has them (``formats.timing.point_times_s``), else
  from the point's azimuth as a spinning LiDAR would have it), stamped at the sweep time.
* ``/sensors/<cam>/image/compressed``: ``sensor_msgs/CompressedImage`` (PNG, lossless; or JPEG)
  or, with ``image_encoding="rgb8"``, ``/sensors/<cam>/image``: ``sensor_msgs/Image``; stamped at
  the camera's own capture time.
* ``/sensors/<cam>/camera_info``: ``sensor_msgs/CameraInfo`` with each image (``plumb_bob``,
  ``rational_polynomial`` or ``equidistant`` from the camera model).
* ``/tf_static``: ``base_link -> <lidar>`` and ``<lidar> -> <cam>`` (a chain to resolve), once.
* ``/tf``: ``map -> base_link`` at every sweep time (the ego poses), unless ``odometry`` is set:
  then ``/odom`` (``nav_msgs/Odometry``) carries them.

Message log times equal the header stamps. ``frames`` repeats the source frames cyclically (with
timestamps continuing at the source's frame period) to write a recording larger than the source.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from calib.camera import CameraModel
from calib.transforms import rotation_to_quat
from formats.datasets.base import LoadedSequence
from formats.errors import FormatError
from formats.timing import point_times_s as sweep_times_s

#: The recording kinds :func:`write_bag` writes.
KINDS = ("ros1", "ros2-mcap", "ros2-sqlite3")
EGO_FRAME = "base_link"
WORLD_FRAME = "map"

_TFMESSAGE_MSG = "geometry_msgs/TransformStamped[] transforms\n"


def typestore_for(kind: str) -> Any:
    """The ``rosbags`` typestore for ``kind`` (ROS 1 Noetic with ``tf2_msgs/TFMessage`` added, or
    ROS 2 Humble)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    if kind == "ros1":
        ts = get_typestore(Stores.ROS1_NOETIC)
        ts.register(get_types_from_msg(_TFMESSAGE_MSG, "tf2_msgs/msg/TFMessage"))
        return ts
    return get_typestore(Stores.ROS2_HUMBLE)


def camera_info_fields(cam: CameraModel) -> tuple[str, list[float]]:
    """(ROS ``distortion_model``, ``D``) of a camera model: ``radtan`` with 4/5 coefficients ->
    ``plumb_bob`` (5), 8 -> ``rational_polynomial``, ``fisheye`` -> ``equidistant``, none ->
    ``plumb_bob`` with zeros."""
    d = list(cam.dist)
    if cam.model == "fisheye":
        return "equidistant", d
    if cam.model == "radtan" and len(d) == 8:
        return "rational_polynomial", d
    return "plumb_bob", (d + [0.0] * 5)[:5]


def point_times_s(xyz: np.ndarray, period_s: float = 0.1) -> np.ndarray:
    """Per-point capture time (s after the sweep stamp) of a spinning LiDAR turning once per
    ``period_s`` counter-clockwise from the -x axis: ``(azimuth + pi) / 2 pi * period``."""
    az = np.arctan2(xyz[:, 1], xyz[:, 0])
    return ((az + math.pi) / (2 * math.pi) * period_s).astype(np.float32)


class MessageBuilder:
    """Message builders for one typestore (ROS 1 and ROS 2 differ in field names)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.ros1 = kind == "ros1"
        self.ts = typestore_for(kind)
        self.T = self.ts.types
        self.seq = 0

    def serialize(self, msg: Any, msgtype: str) -> bytes:
        if self.ros1:
            return bytes(self.ts.serialize_ros1(msg, msgtype))
        return bytes(self.ts.serialize_cdr(msg, msgtype))

    def header(self, t_ns: int, frame_id: str) -> Any:
        stamp = self.T["builtin_interfaces/msg/Time"](sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)
        if self.ros1:
            self.seq += 1
            return self.T["std_msgs/msg/Header"](seq=self.seq, stamp=stamp, frame_id=frame_id)
        return self.T["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)

    def cloud(self, t_ns: int, frame_id: str, xyz: np.ndarray, intensity: np.ndarray | None,
              times_s: np.ndarray | None = None) -> Any:
        n = len(xyz)
        rec = np.zeros(n, dtype=np.dtype({"names": ["x", "y", "z", "intensity", "time"],
                                          "formats": ["<f4"] * 5, "offsets": [0, 4, 8, 12, 20], "itemsize": 24}))
        rec["x"], rec["y"], rec["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
        if intensity is not None:
            rec["intensity"] = intensity
        rec["time"] = point_times_s(xyz) if times_s is None else times_s
        PF = self.T["sensor_msgs/msg/PointField"]
        fields = [PF(name=nm, offset=off, datatype=7, count=1)
                  for nm, off in (("x", 0), ("y", 4), ("z", 8), ("intensity", 12), ("time", 20))]
        return self.T["sensor_msgs/msg/PointCloud2"](
            header=self.header(t_ns, frame_id), height=1, width=n, fields=fields, is_bigendian=False,
            point_step=24, row_step=24 * n, data=rec.view(np.uint8).reshape(-1), is_dense=True)

    def compressed(self, t_ns: int, frame_id: str, img: np.ndarray, fmt: str) -> Any:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
        ok, buf = cv2.imencode("." + fmt, bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1] if fmt == "png" else [])
        if not ok:
            raise FormatError(None, f"cannot encode a {fmt} image")
        return self.T["sensor_msgs/msg/CompressedImage"](
            header=self.header(t_ns, frame_id), format=f"{'bgr8' if img.ndim == 3 else 'mono8'}; {fmt} compressed",
            data=buf.reshape(-1))

    def raw_image(self, t_ns: int, frame_id: str, img: np.ndarray) -> Any:
        h, w = img.shape[:2]
        enc = "rgb8" if img.ndim == 3 else "mono8"
        ch = 3 if img.ndim == 3 else 1
        return self.T["sensor_msgs/msg/Image"](
            header=self.header(t_ns, frame_id), height=h, width=w, encoding=enc, is_bigendian=0, step=w * ch,
            data=np.ascontiguousarray(img, dtype=np.uint8).reshape(-1))

    def camera_info(self, t_ns: int, frame_id: str, cam: CameraModel) -> Any:
        model, d = camera_info_fields(cam)
        K = cam.K.reshape(-1).astype(np.float64)
        P = np.zeros((3, 4))
        P[:, :3] = cam.K
        roi = self.T["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        arrays = {"D": np.asarray(d, np.float64), "K": K, "R": np.eye(3).reshape(-1), "P": P.reshape(-1)}
        if not self.ros1:
            arrays = {k.lower(): v for k, v in arrays.items()}
        return self.T["sensor_msgs/msg/CameraInfo"](
            header=self.header(t_ns, frame_id), height=cam.height, width=cam.width, distortion_model=model,
            binning_x=0, binning_y=0, roi=roi, **arrays)

    def transform(self, t_ns: int, parent: str, child: str, T_parent_from_child: np.ndarray) -> Any:
        q = rotation_to_quat(T_parent_from_child[:3, :3])
        tr = self.T["geometry_msgs/msg/Transform"](
            translation=self.T["geometry_msgs/msg/Vector3"](*map(float, T_parent_from_child[:3, 3])),
            rotation=self.T["geometry_msgs/msg/Quaternion"](x=float(q[1]), y=float(q[2]), z=float(q[3]), w=float(q[0])))
        return self.T["geometry_msgs/msg/TransformStamped"](
            header=self.header(t_ns, parent), child_frame_id=child, transform=tr)

    def tf(self, transforms: list[Any]) -> Any:
        return self.T["tf2_msgs/msg/TFMessage"](transforms=transforms)

    def odometry(self, t_ns: int, parent: str, child: str, T: np.ndarray) -> Any:
        q = rotation_to_quat(T[:3, :3])
        G = self.T
        pose = G["geometry_msgs/msg/Pose"](
            position=G["geometry_msgs/msg/Point"](*map(float, T[:3, 3])),
            orientation=G["geometry_msgs/msg/Quaternion"](x=float(q[1]), y=float(q[2]), z=float(q[3]), w=float(q[0])))
        zero3 = G["geometry_msgs/msg/Vector3"](0.0, 0.0, 0.0)
        return G["nav_msgs/msg/Odometry"](
            header=self.header(t_ns, parent), child_frame_id=child,
            pose=G["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
            twist=G["geometry_msgs/msg/TwistWithCovariance"](
                twist=G["geometry_msgs/msg/Twist"](linear=zero3, angular=zero3), covariance=np.zeros(36)))


def _open_writer(kind: str, out: Path, compression: str | None) -> Any:
    if kind == "ros1":
        from rosbags.rosbag1 import Writer as Writer1

        w1 = Writer1(out)
        if compression is not None:
            if compression not in ("bz2", "lz4"):
                raise FormatError(out, f"ROS 1 compression is bz2 or lz4, not {compression!r}")
            w1.set_compression(Writer1.CompressionFormat[compression.upper()])
        return w1
    from rosbags.rosbag2 import StoragePlugin
    from rosbags.rosbag2 import Writer as Writer2
    from rosbags.rosbag2.enums import CompressionFormat, CompressionMode

    plugin = StoragePlugin.MCAP if kind == "ros2-mcap" else StoragePlugin.SQLITE3
    w2 = Writer2(out, version=8, storage_plugin=plugin)
    if compression is not None:
        if compression not in ("file", "message", "storage"):
            raise FormatError(out, f"ROS 2 compression (zstd) is file, message or storage, not {compression!r}")
        w2.set_compression(CompressionMode[compression.upper()], CompressionFormat.ZSTD)
    return w2


def write_bag(
    loaded: LoadedSequence,
    out: str | os.PathLike[str],
    kind: str = "ros2-mcap",
    frames: int | None = None,
    image_format: str = "png",
    odometry: bool = False,
    log_delay_ns: int = 0,
    compression: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``loaded`` as a recording of ``kind`` (:data:`KINDS`) at ``out`` (a ``.bag`` file for
    ROS 1, a new folder for ROS 2). ``frames``: how many frames to write (default all; more
    repeats the source cyclically). ``image_format``: ``png``/``jpg`` (CompressedImage) or
    ``rgb8`` (Image). ``odometry``: ego poses on ``/odom`` instead of ``/tf``. ``log_delay_ns``: log
    times this much after the header stamps (as a recorder receiving late would have them).
    ``compression``: ROS 1 ``bz2``/``lz4`` chunks; ROS 2 zstd by ``file``, ``message`` or
    ``storage`` (MCAP chunks).
    Returns ``out``."""
    if kind not in KINDS:
        raise FormatError(out, f"unknown recording kind {kind!r}; known: {', '.join(KINDS)}")
    out = Path(out)
    m = MessageBuilder(kind)
    info = loaded.info
    rig = info.rig
    n_src = len(info.frames)
    if n_src == 0:
        raise FormatError(info.root, "no frames to write")
    n_out = n_src if frames is None else int(frames)
    times = info.frame_times_ns()
    period = (times[-1] - times[0]) // max(n_src - 1, 1) if n_src > 1 else 100_000_000
    lidar_names = rig.lidar_names()
    primary = lidar_names[0] if lidar_names else None
    writer = _open_writer(kind, out, compression)
    writer.open()
    try:
        def conn(topic: str, msgtype: str) -> Any:
            return writer.add_connection(topic, msgtype, typestore=m.ts)

        c_lidar = {n: conn(f"/sensors/{n}/points", "sensor_msgs/msg/PointCloud2") for n in lidar_names}
        img_type = "sensor_msgs/msg/Image" if image_format == "rgb8" else "sensor_msgs/msg/CompressedImage"
        img_topic = "image" if image_format == "rgb8" else "image/compressed"
        c_img = {c: conn(f"/sensors/{c}/{img_topic}", img_type) for c in rig.camera_names()}
        c_info = {c: conn(f"/sensors/{c}/camera_info", "sensor_msgs/msg/CameraInfo") for c in rig.camera_names()}
        c_static = conn("/tf_static", "tf2_msgs/msg/TFMessage")
        c_pose = conn("/odom", "nav_msgs/msg/Odometry") if odometry else conn("/tf", "tf2_msgs/msg/TFMessage")

        def put(c: Any, t_ns: int, msg: Any) -> None:
            writer.write(c, t_ns + log_delay_ns, m.serialize(msg, c.msgtype))

        t0 = times[0]
        static = []
        for s in rig.sensors:
            if primary is not None and s.name != primary and s.kind == "camera":
                static.append(m.transform(t0, primary, s.name, rig.T(primary, s.name)))
            else:
                static.append(m.transform(t0, EGO_FRAME, s.name, rig.T("ego", s.name)))
        put(c_static, t0, m.tf(static))
        for k in range(n_out):
            src = k % n_src
            shift = (k // n_src) * (times[-1] - times[0] + period)
            fi = info.frames[src]
            t = fi.timestamp_ns + shift
            if odometry:
                put(c_pose, t, m.odometry(t, WORLD_FRAME, EGO_FRAME, fi.T_world_from_ego))
            else:
                put(c_pose, t, m.tf([m.transform(t, WORLD_FRAME, EGO_FRAME, fi.T_world_from_ego)]))
            for n in lidar_names:
                pc = loaded.read_lidar(src, n)
                if pc is not None:
                    times_s = sweep_times_s(pc.fields, fi.timestamp_ns)  # the source's own, if any
                    put(c_lidar[n], t, m.cloud(t, n, pc.xyz, pc.intensity, times_s))
            for c in rig.camera_names():
                img = loaded.read_image(src, c)
                if img is None:
                    continue
                tc = fi.camera_timestamps_ns.get(c, fi.timestamp_ns) + shift
                if image_format == "rgb8":
                    put(c_img[c], tc, m.raw_image(tc, c, img))
                else:
                    put(c_img[c], tc, m.compressed(tc, c, img, image_format))
                put(c_info[c], tc, m.camera_info(tc, c, rig.camera(c)))
            if progress is not None:
                progress(k + 1, n_out)
    finally:
        writer.close()
    return out
