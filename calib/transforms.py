"""Rigid transforms as 4x4 float64 arrays named ``T_<dst>_from_<src>``.

Conventions: ``pts_dst = (T_dst_from_src @ [pts_src, 1].T).T``; compose right to left
(``T_c_from_a = T_c_from_b @ T_b_from_a``). Quaternions are (w, x, y, z). Yaw is a rotation about
+z in radians, wrapped to (-pi, pi].
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from calib.errors import TransformError

F64 = NDArray[np.float64]

#: Default tolerance for orthonormality checks of rotation matrices read from files.
ROT_TOL = 1e-4


def check_rotation(R: ArrayLike, name: str = "R", tol: float = ROT_TOL) -> F64:
    """Return ``R`` as a (3, 3) float64 proper rotation, or raise TransformError saying why."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3):
        raise TransformError(f"{name}: expected a 3x3 rotation, got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise TransformError(f"{name}: rotation contains NaN or inf")
    err = np.abs(R @ R.T - np.eye(3)).max()
    if err > tol:
        raise TransformError(f"{name}: rotation is not orthonormal (max |R R^T - I| = {err:.3g})")
    det = np.linalg.det(R)
    if det < 0:
        raise TransformError(f"{name}: rotation has determinant {det:.3f} (a reflection, not a rotation)")
    return R


def check_transform(T: ArrayLike, name: str = "T", tol: float = ROT_TOL) -> F64:
    """Return ``T`` as a (4, 4) float64 rigid transform, or raise TransformError saying why.

    Checks the shape, finiteness, the bottom row ``[0, 0, 0, 1]`` and an orthonormal,
    right-handed rotation block.
    """
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4):
        raise TransformError(f"{name}: expected a 4x4 transform, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise TransformError(f"{name}: transform contains NaN or inf")
    if np.abs(T[3] - np.array([0.0, 0.0, 0.0, 1.0])).max() > 1e-9:
        raise TransformError(f"{name}: bottom row must be [0, 0, 0, 1], got {T[3].tolist()}")
    check_rotation(T[:3, :3], name=f"{name} rotation block", tol=tol)
    return T


def make_transform(R: ArrayLike | None = None, t: ArrayLike | None = None) -> F64:
    """Build a 4x4 transform from a (3, 3) rotation and a (3,) translation (metres)."""
    T = np.eye(4)
    if R is not None:
        T[:3, :3] = check_rotation(R)
    if t is not None:
        t = np.asarray(t, dtype=np.float64).reshape(3)
        T[:3, 3] = t
    return T


def invert(T: ArrayLike) -> F64:
    """Inverse of a rigid transform: ``T_a_from_b -> T_b_from_a`` (exact, no matrix inverse)."""
    T = np.asarray(T, dtype=np.float64)
    R = T[:3, :3]
    out = np.eye(4)
    out[:3, :3] = R.T
    out[:3, 3] = -R.T @ T[:3, 3]
    return out


def compose(*Ts: ArrayLike) -> F64:
    """Compose transforms right to left: ``compose(T_c_from_b, T_b_from_a) = T_c_from_a``."""
    out = np.eye(4)
    for T in Ts:
        out = out @ np.asarray(T, dtype=np.float64)
    return out


def transform_points(T: ArrayLike, pts: ArrayLike) -> F64:
    """Apply a (4, 4) transform to (N, 3) points; returns (N, 3) float64."""
    T = np.asarray(T, dtype=np.float64)
    pts = np.asarray(pts, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points must have shape (N, 3), got {pts.shape}")
    return pts @ T[:3, :3].T + T[:3, 3]


def quat_to_rotation(q_wxyz: ArrayLike) -> F64:
    """(w, x, y, z) quaternion (normalised here) -> (3, 3) rotation matrix."""
    q = np.asarray(q_wxyz, dtype=np.float64).reshape(4)
    n = math.sqrt(q.dot(q))  # np.linalg.norm's own arithmetic for a vector, without its overhead
    if not math.isfinite(n) or n < 1e-12:
        raise TransformError(f"quaternion {q.tolist()} has zero or non-finite norm")
    w, x, y, z = (q / n).tolist()
    # the unit quaternion's matrix, as scipy's Rotation.as_matrix writes it (without its overhead
    # of some 20 us a call: the readers convert one quaternion per box and pose)
    x2, y2, z2, w2 = x * x, y * y, z * z, w * w
    xy, zw, xz, yw, yz, xw = x * y, z * w, x * z, y * w, y * z, x * w
    return np.array([[x2 - y2 - z2 + w2, 2 * (xy - zw), 2 * (xz + yw)],
                     [2 * (xy + zw), -x2 + y2 - z2 + w2, 2 * (yz - xw)],
                     [2 * (xz - yw), 2 * (yz + xw), -x2 - y2 + z2 + w2]])


def rotation_to_quat(R: ArrayLike) -> F64:
    """(3, 3) rotation -> (w, x, y, z) quaternion with w >= 0."""
    x, y, z, w = Rotation.from_matrix(check_rotation(R)).as_quat()
    q = np.array([w, x, y, z])
    return -q if q[0] < 0 else q


def yaw_to_rotation(yaw: float) -> F64:
    """Rotation about +z by ``yaw`` radians, (3, 3)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_to_yaw(R: ArrayLike) -> float:
    """Heading about +z of a rotation: angle of the rotated x axis in the xy plane, radians."""
    R = np.asarray(R, dtype=np.float64)
    return float(np.arctan2(R[1, 0], R[0, 0]))


def ypr_to_rotation(yaw: float, pitch: float = 0.0, roll: float = 0.0) -> F64:
    """``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (intrinsic z-y'-x'': heading, then pitch about the
    turned y axis, then roll about the box's own x axis), radians, (3, 3)."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def rotation_to_ypr(R: ArrayLike) -> tuple[float, float, float]:
    """(yaw, pitch, roll) of :func:`ypr_to_rotation` from a (3, 3) rotation; pitch in
    [-pi/2, pi/2]; the yaw equals :func:`rotation_to_yaw`."""
    R = np.asarray(R, dtype=np.float64)
    yaw = math.atan2(R[1, 0], R[0, 0])
    pitch = math.atan2(-R[2, 0], math.hypot(R[0, 0], R[1, 0]))
    roll = math.atan2(R[2, 1], R[2, 2])
    return yaw, pitch, roll


def quat_to_yaw(q_wxyz: ArrayLike) -> float:
    """Heading about +z of a (w, x, y, z) quaternion, radians."""
    return rotation_to_yaw(quat_to_rotation(q_wxyz))


def yaw_to_quat(yaw: float) -> F64:
    """(w, x, y, z) quaternion of a rotation about +z by ``yaw`` radians."""
    return np.array([np.cos(yaw / 2.0), 0.0, 0.0, np.sin(yaw / 2.0)])


_TWO_PI = 2.0 * math.pi


def wrap_angle(a: ArrayLike) -> F64 | float:
    """Wrap angle(s) in radians to (-pi, pi]."""
    if type(a) is float:  # one Python float: the same arithmetic (Python's % is numpy's mod) without numpy
        return math.pi - (math.pi - a) % _TWO_PI
    a = np.asarray(a, dtype=np.float64)
    w = np.pi - np.mod(np.pi - a, 2.0 * np.pi)
    return float(w) if w.ndim == 0 else w


def pose_from_xyz_yaw(x: float, y: float, z: float, yaw: float) -> F64:
    """4x4 transform with translation (x, y, z) metres and rotation ``yaw`` about +z."""
    return make_transform(yaw_to_rotation(yaw), [x, y, z])
