"""Vectorised ray casting against oriented boxes and the ground plane (world frame, metres).

Rays share one origin ``o`` (3,) and have directions ``D`` (M, 3) (not necessarily unit length);
hits are returned as the ray parameter ``t`` (the point is ``o + t D``), ``inf`` for a miss.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def ray_box(
    origin: F64, dirs: NDArray[np.floating], center: F64, half: F64, yaw: float, t_min: float = 1e-6
) -> tuple[F64, F64, NDArray[np.int64], F64]:
    """Slab test of rays against one box with yaw about +z.

    Returns ``t_in`` (M,) entry parameter (``inf`` for a miss), ``t_out`` (M,) exit parameter,
    ``axis`` (M,) the box axis (0, 1, 2) of the entry face and ``sign`` (M,) +-1 the side of that
    face (the face normal in the box frame is ``sign * e_axis``). A ray starting inside a box
    misses it (only entries in front of the origin count)."""
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    dt = dirs.dtype if dirs.dtype in (np.float32, np.float64) else np.float64
    o = ((origin - center) @ R).astype(dt)  # box frame
    d = dirs @ R.astype(dt)
    half = np.asarray(half, dtype=dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (-half - o) * inv
        t2 = (half - o) * inv
    lo = np.minimum(t1, t2)
    hi = np.maximum(t1, t2)
    # rays parallel to a slab: inside it -> (-inf, inf), outside -> empty
    par = d == 0.0
    if par.any():
        inside = np.abs(o) <= half
        lo = np.where(par, np.where(inside, -np.inf, np.inf), lo)
        hi = np.where(par, np.where(inside, np.inf, -np.inf), hi)
    axis = np.argmax(lo, axis=1)
    t_in = np.take_along_axis(lo, axis[:, None], axis=1)[:, 0]
    t_out = hi.min(axis=1)
    hit = (t_in <= t_out) & (t_in > t_min)
    t_in = np.where(hit, t_in, np.inf)
    d_axis = np.take_along_axis(d, axis[:, None], axis=1)[:, 0]
    sign = np.where(d_axis > 0, -1.0, 1.0)
    return t_in, t_out, axis, sign


def ray_ground(origin: F64, dirs: NDArray[np.floating], t_min: float = 1e-6) -> F64:
    """Parameter of the intersection with the ground plane z = 0 (``inf`` when none ahead)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -origin[2] / dirs[:, 2]
    return np.where((dirs[:, 2] < 0) & (t > t_min), t, np.inf)


def face_normal_world(axis: NDArray[np.int64], sign: F64, yaw: float | F64) -> F64:
    """World-frame unit normals (M, 3) of box faces given by ``axis``/``sign`` for box yaw(s)
    (a scalar or (M,))."""
    yaw = np.broadcast_to(np.asarray(yaw, dtype=np.float64), axis.shape)
    c, s = np.cos(yaw), np.sin(yaw)
    n = np.zeros((axis.shape[0], 3))
    m0, m1, m2 = axis == 0, axis == 1, axis == 2
    n[m0, 0], n[m0, 1] = c[m0], s[m0]
    n[m1, 0], n[m1, 1] = -s[m1], c[m1]
    n[m2, 2] = 1.0
    return n * sign[:, None]
