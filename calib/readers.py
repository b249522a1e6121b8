"""Calibration readers: KITTI object/tracking calib, KITTI raw calib, nuScenes records, native rig.

Every malformed input (missing key, wrong number of values, non-numeric or non-finite values,
non-orthonormal rotation, bad intrinsics) raises :class:`calib.errors.CalibrationError` naming the
file (or the record token) and the key.

KITTI frames
------------
* ``velo``: the Velodyne frame (x forward, y left, z up).
* ``cam0`` (unrectified reference camera) and ``cam0rect`` (rectified reference camera, optical
  axes): ``Tr_velo_to_cam`` maps velo -> cam0, ``R0_rect`` maps cam0 -> cam0rect. KITTI object
  labels (location, ry) live in cam0rect.
* ``cami`` (i = 0..3): the *rectified* camera i. Its projection is ``P_i = K_i [I | t_i]`` applied
  to cam0rect points, so ``t_i = K_i^-1 P_i[:, 3]`` and ``T_cami_from_cam0rect`` is a pure
  translation by ``t_i``; the camera model of image_i is the pinhole ``K_i = P_i[:, :3]``.

In :meth:`KittiCalib.to_rig` the rig's ``ego`` frame **is the Velodyne frame** (KITTI object data
has no ego pose), with a lidar sensor ``"velodyne"`` at identity, cameras named ``"image_<i>"``
(the KITTI folder names: image_0/1 grey, image_2/3 colour) in their rectified frames, and
``"imu"`` (OXTS) when ``Tr_imu_to_velo`` is given.

Accepted KITTI keys (with or without a trailing colon): ``P0..P3``, ``R0_rect`` or ``R_rect``,
``Tr_velo_to_cam`` or ``Tr_velo_cam``, optional ``Tr_imu_to_velo`` or ``Tr_imu_velo``.

nuScenes
--------
``calibrated_sensor`` records give the sensor pose in the ego frame (``translation`` metres,
``rotation`` quaternion w, x, y, z) and, for cameras, ``camera_intrinsic`` (3x3, no distortion:
nuScenes images are undistorted). ``ego_pose`` records give ``T_global_from_ego``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.errors import CalibrationError, TransformError
from calib.fileio import check_confined
from calib.rig import Rig, Sensor, load_rig_json, save_rig_json
from calib.transforms import check_rotation, invert, make_transform, quat_to_rotation

F64 = NDArray[np.float64]
ImageSize = tuple[int, int]

__all__ = [
    "KittiCalib",
    "KittiRawCameras",
    "load_kitti_calib",
    "load_kitti_raw_calib",
    "load_rig_json",
    "nuscenes_ego_pose",
    "nuscenes_sensor",
    "save_rig_json",
]

#: Orthonormality tolerance for rotations read from calibration files (KITTI prints 7 digits).
FILE_ROT_TOL = 1e-4


# ---- generic "key: numbers" text files ------------------------------------------------------------
def _read_text(path: str | os.PathLike[str]) -> str:
    check_confined(path, lambda src, msg: CalibrationError(msg, path=src))
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CalibrationError(f"cannot read: {e.strerror or e}", path=str(path)) from None
    except UnicodeDecodeError:
        raise CalibrationError("not a text file", path=str(path)) from None


def parse_key_values(text: str, source: str) -> dict[str, tuple[str, int]]:
    """Lines ``KEY: v v v`` or ``KEY v v v`` -> {KEY: (rest of the line, line number)}.

    Blank lines are skipped; a repeated key is an error."""
    out: dict[str, tuple[str, int]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if ":" in head:
            key, _, after = line.partition(":")
            key, rest = key.strip(), after.strip()
        else:
            key, rest = head, rest.strip()
        if not key:
            raise CalibrationError(f"line {lineno} has no key", path=source)
        if key in out:
            raise CalibrationError(f"repeated on lines {out[key][1]} and {lineno}", path=source, key=key)
        out[key] = (rest, lineno)
    return out


def _numbers(
    values: Mapping[str, tuple[str, int]], keys: str | Iterable[str], count: int, source: str
) -> F64:
    """The ``count`` finite numbers of the first present key among ``keys``."""
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    key = next((k for k in keys if k in values), None)
    if key is None:
        raise CalibrationError(
            "missing" + (f" (also tried {', '.join(keys[1:])})" if len(keys) > 1 else ""),
            path=source,
            key=keys[0],
        )
    text, lineno = values[key]
    try:
        a = np.array([float(v) for v in text.split()], dtype=np.float64)
    except ValueError:
        raise CalibrationError(
            f"line {lineno}: non-numeric value in {text[:60]!r}", path=source, key=key
        ) from None
    if a.size != count:
        raise CalibrationError(f"line {lineno}: expected {count} numbers, got {a.size}", path=source, key=key)
    if not np.all(np.isfinite(a)):
        raise CalibrationError(f"line {lineno}: contains NaN or inf", path=source, key=key)
    return a


def _rotation(R: F64, source: str, key: str) -> F64:
    try:
        return check_rotation(R, name=key, tol=FILE_ROT_TOL)
    except TransformError as e:
        raise CalibrationError(str(e), path=source, key=key) from None


def _rigid_3x4(a: F64, source: str, key: str) -> F64:
    """(12,) row-major [R | t] -> 4x4 rigid transform, rotation checked."""
    M = a.reshape(3, 4)
    _rotation(M[:, :3], source, key)
    T = np.eye(4)
    T[:3] = M
    return T


def _projection(a: F64, source: str, key: str) -> F64:
    """(12,) row-major 3x4 projection P = K [I | t] with a valid upper-triangular K."""
    P = a.reshape(3, 4)
    K = P[:, :3]
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise CalibrationError(
            f"focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}", path=source, key=key
        )
    if abs(K[1, 0]) > 1e-9 or np.abs(K[2] - [0.0, 0.0, 1.0]).max() > 1e-9:
        raise CalibrationError(
            "left 3x3 block must be an intrinsic matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]], "
            f"got {K.tolist()}",
            path=source,
            key=key,
        )
    return P


def _image_size(size: Any, source: str, key: str) -> ImageSize:
    try:
        w, h = (float(v) for v in size)
    except (TypeError, ValueError):
        raise CalibrationError(
            f"image size must be (width, height), got {size!r}", path=source, key=key
        ) from None
    if not (w.is_integer() and h.is_integer() and w > 0 and h > 0):
        raise CalibrationError(
            f"image size must be positive whole pixels, got {size!r}", path=source, key=key
        )
    return int(w), int(h)


# ---- KITTI ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class KittiCalib:
    """The matrices of a KITTI calibration, as read. ``P`` holds the four 3x4 rectified projections,
    ``R0_rect`` (3, 3), ``Tr_velo_to_cam`` and ``Tr_imu_to_velo`` as 4x4 rigid transforms
    (``T_cam0_from_velo``, ``T_velo_from_imu``; the latter may be None). ``image_sizes`` maps camera
    index -> (width, height) px when the file gives them (KITTI raw ``S_rect_xx``)."""

    P: tuple[F64, F64, F64, F64]
    R0_rect: F64
    Tr_velo_to_cam: F64
    Tr_imu_to_velo: F64 | None = None
    image_sizes: dict[int, ImageSize] = field(default_factory=dict)
    source: str = "<kitti calib>"

    # ---- transforms ---------------------------------------------------------------------------
    def T_cam0rect_from_velo(self) -> F64:
        """4x4: Velodyne -> rectified reference camera (``R0_rect`` padded @ ``Tr_velo_to_cam``)."""
        R0 = np.eye(4)
        R0[:3, :3] = self.R0_rect
        return R0 @ self.Tr_velo_to_cam

    def K(self, i: int) -> F64:
        """(3, 3) intrinsics of rectified camera ``i`` (``P_i[:, :3]``)."""
        return self._P(i)[:, :3].copy()

    def t_cam(self, i: int) -> F64:
        """(3,) translation ``t_i = K_i^-1 P_i[:, 3]`` from cam0rect to rectified camera ``i`` (m)."""
        P = self._P(i)
        return np.linalg.solve(P[:, :3], P[:, 3])

    def T_cami_from_cam0rect(self, i: int) -> F64:
        """4x4 pure translation by ``t_i``."""
        return make_transform(None, self.t_cam(i))

    def T_cami_from_velo(self, i: int) -> F64:
        """4x4: Velodyne -> rectified camera ``i`` (``Translate(t_i) @ T_cam0rect_from_velo``)."""
        return self.T_cami_from_cam0rect(i) @ self.T_cam0rect_from_velo()

    def T_velo_from_imu(self) -> F64:
        """4x4 ``Tr_imu_to_velo``; CalibrationError when the file had none."""
        if self.Tr_imu_to_velo is None:
            raise CalibrationError("missing", path=self.source, key="Tr_imu_to_velo")
        return self.Tr_imu_to_velo.copy()

    def _P(self, i: int) -> F64:
        if i not in (0, 1, 2, 3):
            raise CalibrationError(f"camera index must be 0..3, got {i!r}", path=self.source, key=f"P{i}")
        return self.P[i]

    # ---- cameras and rig ----------------------------------------------------------------------
    def camera_model(self, i: int, image_size: ImageSize | None = None) -> CameraModel:
        """Pinhole model of rectified camera ``i`` for an image of ``image_size`` = (width, height)
        px. The size is needed (KITTI object calib files do not give it: 1242x375 and 1224x370
        both occur); it defaults to the file's own ``S_rect`` size where there is one."""
        if image_size is None:
            if i not in self.image_sizes:
                raise CalibrationError(
                    f"no image size for camera {i}: pass image_size=(width, height) of image_{i}",
                    path=self.source,
                    key=f"P{i}",
                )
            image_size = self.image_sizes[i]
        w, h = _image_size(image_size, self.source, f"image_size[{i}]")
        return CameraModel(self.K(i), w, h, "none", ())

    def to_rig(
        self,
        image_size: ImageSize | Mapping[int, ImageSize] | None = None,
        cameras: Iterable[int] = (2,),
    ) -> Rig:
        """A Rig whose ``ego`` frame is the Velodyne frame: lidar ``"velodyne"`` (identity),
        cameras ``"image_<i>"`` for ``i`` in ``cameras`` (rectified pinhole models) and ``"imu"``
        when ``Tr_imu_to_velo`` is known. ``image_size`` is one (width, height) for all cameras or
        a mapping camera index -> size (default: the file's sizes)."""
        sensors = [Sensor("velodyne", "lidar", np.eye(4))]
        for i in cameras:
            size = image_size.get(i) if isinstance(image_size, Mapping) else image_size
            cam = self.camera_model(i, size)
            sensors.append(Sensor(f"image_{i}", "camera", invert(self.T_cami_from_velo(i)), cam))
        if self.Tr_imu_to_velo is not None:
            sensors.append(Sensor("imu", "imu", self.Tr_imu_to_velo.copy()))
        return Rig(sensors)


def parse_kitti_calib(text: str, source: str = "<kitti calib>") -> KittiCalib:
    """Parse the text of a KITTI object (or tracking) calibration file."""
    v = parse_key_values(text, source)
    P = tuple(_projection(_numbers(v, f"P{i}", 12, source), source, f"P{i}") for i in range(4))
    R0 = _rotation(
        _numbers(v, ("R0_rect", "R_rect"), 9, source).reshape(3, 3),
        source,
        "R0_rect" if "R0_rect" in v else "R_rect",
    )
    velo_key = "Tr_velo_to_cam" if "Tr_velo_to_cam" in v else "Tr_velo_cam"
    Tr = _rigid_3x4(_numbers(v, ("Tr_velo_to_cam", "Tr_velo_cam"), 12, source), source, velo_key)
    imu = None
    for key in ("Tr_imu_to_velo", "Tr_imu_velo"):
        if key in v:
            imu = _rigid_3x4(_numbers(v, key, 12, source), source, key)
            break
    return KittiCalib(P=P, R0_rect=R0, Tr_velo_to_cam=Tr, Tr_imu_to_velo=imu, source=source)  # type: ignore[arg-type]


def load_kitti_calib(path: str | os.PathLike[str]) -> KittiCalib:
    """Read a KITTI object/tracking calibration file (``P0..P3``, ``R0_rect``, ``Tr_velo_to_cam``,
    optional ``Tr_imu_to_velo``; tracking spellings accepted)."""
    return parse_kitti_calib(_read_text(path), str(path))


@dataclass(frozen=True, eq=False)
class KittiRawCameras:
    """Unrectified camera data of KITTI raw ``calib_cam_to_cam.txt`` for camera ``i``: ``S`` image
    size (w, h), ``K`` (3, 3), ``D`` (5,) OpenCV radtan (k1, k2, p1, p2, k3), ``T_cami_from_cam0``
    (4, 4, unrectified frames)."""

    S: dict[int, ImageSize]
    K: dict[int, F64]
    D: dict[int, F64]
    T_cami_from_cam0: dict[int, F64]

    def camera_model(self, i: int) -> CameraModel:
        """Distorted (radtan, 5 coefficients) model of unrectified camera ``i``."""
        return CameraModel(self.K[i], self.S[i][0], self.S[i][1], "radtan", tuple(self.D[i]))


def load_kitti_raw_calib(
    cam_to_cam: str | os.PathLike[str],
    velo_to_cam: str | os.PathLike[str],
    imu_to_velo: str | os.PathLike[str] | None = None,
) -> tuple[KittiCalib, KittiRawCameras]:
    """Read KITTI raw calibration (``calib_cam_to_cam.txt``, ``calib_velo_to_cam.txt`` and optional
    ``calib_imu_to_velo.txt``) into the same rectified :class:`KittiCalib` (``P_i = P_rect_0i``,
    ``R0_rect = R_rect_00``, image sizes from ``S_rect_0i``) plus the unrectified cameras."""
    src_cc = str(cam_to_cam)
    cc = parse_key_values(_read_text(cam_to_cam), src_cc)
    P, sizes, S, Kd, D, Tc = [], {}, {}, {}, {}, {}
    for i in range(4):
        k = f"0{i}"
        P.append(_projection(_numbers(cc, f"P_rect_{k}", 12, src_cc), src_cc, f"P_rect_{k}"))
        sizes[i] = _image_size(_numbers(cc, f"S_rect_{k}", 2, src_cc), src_cc, f"S_rect_{k}")
        S[i] = _image_size(_numbers(cc, f"S_{k}", 2, src_cc), src_cc, f"S_{k}")
        Kd[i] = _projection(
            np.c_[_numbers(cc, f"K_{k}", 9, src_cc).reshape(3, 3), np.zeros(3)].ravel(), src_cc, f"K_{k}"
        )[:, :3]
        D[i] = _numbers(cc, f"D_{k}", 5, src_cc)
        R = _rotation(_numbers(cc, f"R_{k}", 9, src_cc).reshape(3, 3), src_cc, f"R_{k}")
        Tc[i] = make_transform(R, _numbers(cc, f"T_{k}", 3, src_cc))
        _rotation(_numbers(cc, f"R_rect_{k}", 9, src_cc).reshape(3, 3), src_cc, f"R_rect_{k}")
    R0 = _rotation(_numbers(cc, "R_rect_00", 9, src_cc).reshape(3, 3), src_cc, "R_rect_00")

    src_vc = str(velo_to_cam)
    vc = parse_key_values(_read_text(velo_to_cam), src_vc)
    R = _rotation(_numbers(vc, "R", 9, src_vc).reshape(3, 3), src_vc, "R")
    Tr = make_transform(R, _numbers(vc, "T", 3, src_vc))
    imu = None
    if imu_to_velo is not None:
        src_iv = str(imu_to_velo)
        iv = parse_key_values(_read_text(imu_to_velo), src_iv)
        imu = make_transform(
            _rotation(_numbers(iv, "R", 9, src_iv).reshape(3, 3), src_iv, "R"), _numbers(iv, "T", 3, src_iv)
        )
    calib = KittiCalib(
        P=tuple(P),  # type: ignore[arg-type]
        R0_rect=R0,
        Tr_velo_to_cam=Tr,
        Tr_imu_to_velo=imu,
        image_sizes=sizes,
        source=f"{src_cc} + {src_vc}",
    )
    return calib, KittiRawCameras(S=S, K=Kd, D=D, T_cami_from_cam0=Tc)


# ---- nuScenes -----------------------------------------------------------------------------------
def _record_field(record: Mapping[str, Any], key: str, shape: tuple[int, ...], where: str) -> F64:
    if key not in record:
        raise CalibrationError("missing", path=where, key=key)
    try:
        a = np.array(record[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(f"non-numeric value {record[key]!r:.80}", path=where, key=key) from None
    if a.shape != shape:
        raise CalibrationError(f"expected shape {shape}, got {a.shape}", path=where, key=key)
    if not np.all(np.isfinite(a)):
        raise CalibrationError("contains NaN or inf", path=where, key=key)
    return a


def _record_pose(record: Mapping[str, Any], where: str) -> F64:
    """4x4 from a record's ``translation`` (3,) and ``rotation`` (w, x, y, z) unit quaternion."""
    t = _record_field(record, "translation", (3,), where)
    q = _record_field(record, "rotation", (4,), where)
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > 1e-3:
        raise CalibrationError(
            f"quaternion (w, x, y, z) is not unit length (norm {norm:.6f})", path=where, key="rotation"
        )
    return make_transform(quat_to_rotation(q), t)


def _where(record: Any, table: str) -> str:
    if not isinstance(record, Mapping):
        raise CalibrationError(f"record must be a dict, got {type(record).__name__}", path=table)
    return f"{table} record {record.get('token', '<no token>')}"


def nuscenes_sensor(
    calibrated_sensor_record: Mapping[str, Any],
    sensor_record: Mapping[str, Any] | None = None,
    image_size: ImageSize | None = None,
    name: str | None = None,
) -> Sensor:
    """A :class:`Sensor` from a nuScenes ``calibrated_sensor`` record (pose of the sensor in the
    ego frame; camera intrinsics) and its ``sensor`` record (``channel`` -> name, ``modality`` ->
    kind). Cameras need ``image_size`` = (width, height) px (from their sample_data record).
    Without a sensor record, ``name`` defaults to the calibrated_sensor token and the kind is
    "camera" when there are intrinsics, else an error."""
    where = _where(calibrated_sensor_record, "calibrated_sensor")
    rec = calibrated_sensor_record
    T = _record_pose(rec, where)
    kind = None
    if sensor_record is not None:
        swhere = _where(sensor_record, "sensor")
        if (
            "sensor_token" in rec
            and "token" in sensor_record
            and rec["sensor_token"] != sensor_record["token"]
        ):
            raise CalibrationError(
                f"belongs to sensor {rec['sensor_token']}, "
                f"not to the given sensor record {sensor_record['token']}",
                path=where,
                key="sensor_token",
            )
        for key in ("channel", "modality"):
            if not isinstance(sensor_record.get(key), str) or not sensor_record[key]:
                raise CalibrationError("missing or not a string", path=swhere, key=key)
        name = name or sensor_record["channel"]
        kind = sensor_record["modality"]
    intr = rec.get("camera_intrinsic", [])
    has_intr = intr is not None and len(intr) > 0
    if kind is None:
        if not has_intr:
            raise CalibrationError(
                "no sensor record and no camera_intrinsic: cannot tell the kind",
                path=where,
                key="camera_intrinsic",
            )
        kind = "camera"
    name = name or str(rec.get("token", "sensor"))
    camera = None
    if kind == "camera":
        if not has_intr:
            raise CalibrationError("camera without intrinsics", path=where, key="camera_intrinsic")
        K = _record_field(rec, "camera_intrinsic", (3, 3), where)
        if image_size is None:
            raise CalibrationError(
                "camera needs image_size=(width, height) (see its sample_data record)",
                path=where,
                key="image_size",
            )
        w, h = _image_size(image_size, where, "image_size")
        try:
            camera = CameraModel(K, w, h, "none", ())
        except CalibrationError as e:
            raise CalibrationError(e.detail, path=where, key="camera_intrinsic") from None
    try:
        return Sensor(name, kind, T, camera)
    except CalibrationError as e:
        raise CalibrationError(e.detail, path=where, key=e.key) from None


def nuscenes_ego_pose(record: Mapping[str, Any]) -> F64:
    """4x4 ``T_global_from_ego`` of a nuScenes ``ego_pose`` record (translation m, rotation wxyz)."""
    return _record_pose(record, _where(record, "ego_pose"))


def nuscenes_rig(
    calibrated_sensors: Iterable[Mapping[str, Any]],
    sensors: Mapping[str, Mapping[str, Any]],
    image_sizes: Mapping[str, ImageSize] | None = None,
) -> Rig:
    """A Rig from calibrated_sensor records, the sensor records by token and camera image sizes by
    channel (nuScenes cameras are 1600x900, but pass what the sample_data records say)."""
    out = []
    for rec in calibrated_sensors:
        where = _where(rec, "calibrated_sensor")
        token = rec.get("sensor_token")
        if token not in sensors:
            raise CalibrationError(f"unknown sensor token {token!r}", path=where, key="sensor_token")
        srec = sensors[token]
        size = (image_sizes or {}).get(srec.get("channel", ""))
        out.append(nuscenes_sensor(rec, srec, size))
    return Rig(out)
