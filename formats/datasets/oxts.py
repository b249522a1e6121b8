"""KITTI OXTS (GPS/IMU) records and the poses computed from them, as in the KITTI raw devkit.

A record is one line of 30 numbers: ``lat lon alt roll pitch yaw vn ve vf vl vu ax ay az af al au
wx wy wz wf wl wu pos_accuracy vel_accuracy navstat numsats posmode velmode orimode`` (degrees,
metres, radians). Only the first six are used here.

Pose of the IMU (``T_mercator_from_imu``), with ``er = 6378137`` m the Earth radius and
``scale = cos(lat_0 * pi / 180)`` from the **first** record's latitude::

    tx = scale * lon * pi * er / 180
    ty = scale * er * ln(tan((90 + lat) * pi / 360))
    tz = alt
    R  = Rz(yaw) @ Ry(pitch) @ Rx(roll)

The loaders make the first frame the world origin: with ``T_imu_from_ego`` the rig's IMU pose
(KITTI: ``ego`` is the Velodyne frame, ``T_imu_from_velo = inv(Tr_imu_to_velo)``)::

    T_world_from_ego[i] = inv(P_0 @ T_imu_from_ego) @ P_i @ T_imu_from_ego

so frame 0's ego pose is the identity and world is the Velodyne frame at frame 0 (x forward, y
left, z up, as the Mercator frame's east/north/up turned by the first heading).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from calib.transforms import invert
from formats.datasets.errors import DatasetError
from formats.io import check_confined

F64 = NDArray[np.float64]

EARTH_RADIUS_M = 6378137.0
OXTS_FIELDS = 30


#: Largest OXTS altitude accepted (metres).
MAX_ALTITUDE_M = 100_000.0


def parse_oxts_line(line: str, source: Path | str, lineno: int | None = None) -> F64:
    """One OXTS record -> (30,) float64; DatasetError naming the file (and line) when malformed."""
    parts = line.split()
    where = f"line {lineno}: " if lineno is not None else ""
    if len(parts) != OXTS_FIELDS:
        raise DatasetError(source, f"{where}expected {OXTS_FIELDS} OXTS values, got {len(parts)}")
    try:
        v = np.array([float(p) for p in parts])
    except ValueError as e:
        raise DatasetError(source, f"{where}non-numeric OXTS value ({e})") from None
    if not np.all(np.isfinite(v[:6])):
        raise DatasetError(source, f"{where}non-finite lat/lon/alt/roll/pitch/yaw")
    lat, lon, alt = v[:3]
    # the Mercator projection needs a latitude off the poles; positions beyond the earth are errors
    if not (-89.0 <= lat <= 89.0 and -360.0 <= lon <= 360.0 and abs(alt) <= MAX_ALTITUDE_M):
        raise DatasetError(source, f"{where}lat {lat:g} / lon {lon:g} / alt {alt:g} out of range "
                                   f"(|lat| <= 89, |lon| <= 360 degrees, |alt| <= {MAX_ALTITUDE_M:g} m)")
    if not np.all(np.abs(v[3:6]) <= 100.0):
        raise DatasetError(source, f"{where}roll/pitch/yaw {v[3:6].tolist()} out of range (|angle| <= 100 rad)")
    return v


def read_oxts_file(path: Path) -> F64:
    """A tracking ``oxts/<seq>.txt`` (one record per frame) -> (F, 30)."""
    check_confined(path, DatasetError)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(path, f"cannot read OXTS: {e}") from None
    rows = [parse_oxts_line(ln, path, i) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not rows:
        raise DatasetError(path, "no OXTS records")
    return np.stack(rows)


def read_oxts_folder(files: list[Path]) -> F64:
    """Raw-drive ``oxts/data/*.txt`` (one record per file) -> (F, 30)."""
    rows = []
    for p in files:
        check_confined(p, DatasetError)
        try:
            text = p.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise DatasetError(p, f"cannot read OXTS: {e}") from None
        rows.append(parse_oxts_line(text, p))
    if not rows:
        raise DatasetError("oxts/data", "no OXTS records")
    return np.stack(rows)


def _rot(roll: float, pitch: float, yaw: float) -> F64:
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch),
                              math.cos(yaw), math.sin(yaw))
    Rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    Ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def oxts_imu_poses(oxts: F64) -> F64:
    """(F, 30) records -> (F, 4, 4) ``T_mercator_from_imu`` (formula in the module docstring)."""
    oxts = np.asarray(oxts, dtype=np.float64)
    scale = math.cos(oxts[0, 0] * math.pi / 180.0)
    out = np.tile(np.eye(4), (len(oxts), 1, 1))
    for i, r in enumerate(oxts):
        lat, lon, alt, roll, pitch, yaw = r[:6]
        out[i, 0, 3] = scale * lon * math.pi * EARTH_RADIUS_M / 180.0
        out[i, 1, 3] = scale * EARTH_RADIUS_M * math.log(math.tan((90.0 + lat) * math.pi / 360.0))
        out[i, 2, 3] = alt
        out[i, :3, :3] = _rot(roll, pitch, yaw)
    return out


def ego_poses_from_oxts(oxts: F64, T_imu_from_ego: F64) -> F64:
    """(F, 4, 4) ``T_world_from_ego`` with the ego frame at the first record as world origin."""
    P = oxts_imu_poses(oxts)
    T0 = invert(P[0] @ T_imu_from_ego)
    out = np.einsum("ij,njk,kl->nil", T0, P, T_imu_from_ego)
    # re-orthonormalise what float round-off left (the check tolerance is 1e-4, but keep it exact)
    for k in range(len(out)):
        u, _, vt = np.linalg.svd(out[k, :3, :3])
        out[k, :3, :3] = u @ vt
        out[k, 3] = (0.0, 0.0, 0.0, 1.0)
    return out
