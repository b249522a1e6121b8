"""Compiled per-point passes of the exporters' box numbers (:mod:`formats.export.occlusion`):
the box index of a sweep (which box holds each point, nuScenes' ``num_lidar_pts``) and the
occlusion heuristic's counts of one camera, as numba kernels.

Each kernel computes exactly what the NumPy code of :class:`~formats.export.occlusion.SweepBoxes`
computes, point by point: the same float32 and float64 operations in the same order (no fast math,
no fused multiply-add), the trigonometry and every other per-box number precomputed by NumPy and
passed in. Only the order in which points are visited differs, which no count depends on.

The kernels are compiled on their first call and cached on disk (``cache=True``: numba's
``__pycache__`` next to this file, or its user-wide cache folder where that is not writable, or
``NUMBA_CACHE_DIR``); importing this module imports numba, so callers import it lazily
(:func:`formats.export.occlusion.kernels`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray


@njit(cache=True, nogil=True, error_model="numpy")
def _point_F(xyz: NDArray[np.floating], n: int, T: NDArray[np.float64], rotated: bool) -> tuple[float, float, float]:
    """Sweep point ``n`` in frame F, float64: ``common.xform(T, xyz[n])`` when ``rotated``, else
    the point as it is (each coordinate widened to float64)."""
    x, y, z = np.float64(xyz[0, n]), np.float64(xyz[1, n]), np.float64(xyz[2, n])
    if not rotated:
        return x, y, z
    return (T[0, 0] * x + T[0, 1] * y + T[0, 2] * z + T[0, 3],
            T[1, 0] * x + T[1, 1] * y + T[1, 2] * z + T[1, 3],
            T[2, 0] * x + T[2, 1] * y + T[2, 2] * z + T[2, 3])


@njit(cache=True, nogil=True, error_model="numpy")
def _inside(x: float, y: float, z: float, b: int, boxes: NDArray[np.float64], half: NDArray[np.float64],
            cos: NDArray[np.float64], sin: NDArray[np.float64]) -> bool:
    """``fusionlabel.geometry._inside_pairs`` of one point (float64, m) and box ``b``: ``boxes``
    (M, >=3) the centres, ``half`` (M, 3) the half sizes with margin, ``cos``/``sin`` (M,) of the yaws."""
    dx = x - boxes[b, 0]
    dy = y - boxes[b, 1]
    c = cos[b]
    s = sin[b]
    return ((abs(z - boxes[b, 2]) <= half[b, 2]) & (abs(c * dx + s * dy) <= half[b, 0])
            & (abs(c * dy - s * dx) <= half[b, 1]))


@njit(cache=True, nogil=True, error_model="numpy")
def box_index(cols: NDArray[np.float32], xyz: NDArray[np.floating], T_F_from_src: NDArray[np.float64], rotated: bool,
              lo0: np.float32, lo1: np.float32, inv: np.float32, nx: int, ny: int, table: NDArray[np.int32],
              win: NDArray[np.int64], boxes: NDArray[np.float64], half: NDArray[np.float64], cos: NDArray[np.float64],
              sin: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(cell, box_of)`` (N,) of the sweep's points: the cell of the boxes' disc grid each lies in
    (``i * (ny + 1) + j``; -1 outside the grid or in a cell no disc touches) and the first box
    holding it in frame F (hit margin; -1 none), as ``SweepBoxes._cells`` and ``near_box_index``:
    ``cols`` (3, N) float32 the source points, ``xyz`` (3, N) them as given, ``T_F_from_src``
    (4, 4) applied when ``rotated``; the grid's origin ``lo0``/``lo1`` and ``inv`` = 1 / cell size
    (float32), ``table`` ((nx + 1) * (ny + 1),) the one box of a cell (-1 none, -2 several),
    ``win`` (M, 4) each box's cell window (i0, i1, j0, j1); the boxes (frame F, see :func:`_inside`)."""
    n = cols.shape[1]
    cell = np.full(n, -1, dtype=np.int64)
    box_of = np.full(n, -1, dtype=np.int64)
    w = ny + 1
    for k in range(n):
        fx = (cols[0, k] - lo0) * inv
        fy = (cols[1, k] - lo1) * inv
        ok = (fx >= 0) & (fx < nx + 1) & (fy >= 0) & (fy < ny + 1)
        ci = np.int64(fx) if ok else 0
        cj = np.int64(fy) if ok else 0
        c = ci * w + cj
        code = table[c] if ok else -1
        if code == -1:
            continue
        cell[k] = c
        x, y, z = _point_F(xyz, k, T_F_from_src, rotated)
        if code >= 0:
            if _inside(x, y, z, code, boxes, half, cos, sin):
                box_of[k] = code
            continue
        for b in range(win.shape[0]):  # the boxes whose window holds the cell, the first holding the point
            if win[b, 0] <= ci <= win[b, 1] and win[b, 2] <= cj <= win[b, 3] and _inside(x, y, z, b, boxes, half,
                                                                                        cos, sin):
                box_of[k] = b
                break
    return cell, box_of


@njit(cache=True, nogil=True)
def fill_table(table: NDArray[np.int32], win: NDArray[np.int64]) -> None:
    """Mark each box's window of cells ``win`` (M, 4: i0, i1, j0, j1) in ``table`` (nx + 1, ny + 1):
    a cell no box touched (-1) gets the box, a touched one -2 (several)."""
    for b in range(win.shape[0]):
        for i in range(win[b, 0], win[b, 1] + 1):
            for j in range(win[b, 2], win[b, 3] + 1):
                table[i, j] = b if table[i, j] == -1 else -2


@njit(cache=True, nogil=True, error_model="numpy")
def world_counts(xyz: NDArray[np.floating], T_F_from_src: NDArray[np.float64], rotated: bool,
                 idx: NDArray[np.int64], cell: NDArray[np.int64], ny: int, table: NDArray[np.int32],
                 win: NDArray[np.int64], T_world_from_F: NDArray[np.float64], boxes: NDArray[np.float64],
                 half: NDArray[np.float64], cos: NDArray[np.float64], sin: NDArray[np.float64]) -> NDArray[np.int64]:
    """(M,) points of the sweep in each box in the world frame (no margin: ``half`` without it),
    as ``SweepBoxes.world_counts``: the points ``idx`` (their ``cell`` from :func:`box_index`), each
    put through ``common.xform(T_world_from_F, ...)`` and tested against the one box of its cell or
    every box whose window holds it."""
    m = win.shape[0]
    counts = np.zeros(m, dtype=np.int64)
    T = T_world_from_F
    w = ny + 1
    for k in idx:
        px, py, pz = _point_F(xyz, k, T_F_from_src, rotated)
        x = T[0, 0] * px + T[0, 1] * py + T[0, 2] * pz + T[0, 3]
        y = T[1, 0] * px + T[1, 1] * py + T[1, 2] * pz + T[1, 3]
        z = T[2, 0] * px + T[2, 1] * py + T[2, 2] * pz + T[2, 3]
        c = cell[k]
        code = table[c]
        if code >= 0:
            if _inside(x, y, z, code, boxes, half, cos, sin):
                counts[code] += 1
            continue
        ci = c // w
        cj = c - ci * w
        for b in range(m):
            if win[b, 0] <= ci <= win[b, 1] and win[b, 2] <= cj <= win[b, 3] and _inside(x, y, z, b, boxes, half,
                                                                                        cos, sin):
                counts[b] += 1
    return counts


@njit(cache=True, nogil=True, error_model="numpy")
def _project(xyz: NDArray[np.floating], k: int, T_F_from_src: NDArray[np.float64], rotated: bool,
             T: NDArray[np.float64], K: NDArray[np.float64]) -> tuple[float, float, float]:
    """``(u, v, depth)`` of sweep point ``k`` (:func:`_point_F`) in the pinhole camera ``K``
    (3, 3) with ``T`` (4, 4) camera from F, as ``SweepBoxes._project`` (any depth: the caller tests it)."""
    x, y, z = _point_F(xyz, k, T_F_from_src, rotated)
    zc = T[2, 0] * x + T[2, 1] * y + T[2, 2] * z + T[2, 3]
    xn = (T[0, 0] * x + T[0, 1] * y + T[0, 2] * z + T[0, 3]) / zc
    yn = (T[1, 0] * x + T[1, 1] * y + T[1, 2] * z + T[1, 3]) / zc
    return K[0, 0] * xn + K[0, 1] * yn + K[0, 2], K[1, 1] * yn + K[1, 2], zc


@njit(cache=True, nogil=True, error_model="numpy")
def _in_view(xyz: NDArray[np.floating], T_F_from_src: NDArray[np.float64], rotated: bool, T: NDArray[np.float64],
             K: NDArray[np.float64], max_depth: float, image: NDArray[np.float64], rect: NDArray[np.float64],
             out: NDArray[np.bool_]) -> None:
    """``out`` (N,): the point's depth is in (0.1, ``max_depth``] and its pixel in the valid
    ``image`` (u0, v0, u1, v1; upper ends exclusive) and in ``rect`` (inclusive). Branch-free, so
    that it runs on vectors."""
    for k in range(xyz.shape[1]):
        u, v, zc = _project(xyz, k, T_F_from_src, rotated, T, K)
        out[k] = ((zc > 0.1) & (zc <= max_depth) & (u >= image[0]) & (u < image[2]) & (v >= image[1])
                  & (v < image[3]) & (u >= rect[0]) & (u <= rect[2]) & (v >= rect[1]) & (v <= rect[3]))


#: Bins of the outlines' bounding rectangle per side (:func:`camera_counts`).
BINS = 32


@njit(cache=True, nogil=True, error_model="numpy")
def camera_counts(xyz: NDArray[np.floating], T_F_from_src: NDArray[np.float64], rotated: bool,
                  T: NDArray[np.float64], max_depth: float, K: NDArray[np.float64], image: NDArray[np.float64],
                  pad: NDArray[np.float64], ex: NDArray[np.float64], ey: NDArray[np.float64], lo: NDArray[np.float64],
                  hi: NDArray[np.float64], ms: NDArray[np.int64], near: NDArray[np.float64],
                  box_of: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(hits, occluders)`` (P,) of one pinhole camera's P box outlines, as
    ``SweepBoxes.occlusion_counts`` with the frame's box index: every sweep point (``xyz`` (3, N)
    in the source frame, F as :func:`_point_F`) projected as ``SweepBoxes._project`` does (``T``
    (4, 4) camera from F; depth in (0.1, ``max_depth``]; ``K`` (3, 3); ``image`` the valid pixel
    rectangle (u0, v0, u1, v1), upper ends exclusive), then tested against each outline as
    ``_in_polygons``: its rectangle ``lo``/``hi`` (P, 2) inclusive, and ``pad`` (P, V, 2) its
    vertices padded to V, ``ex``/``ey`` (P, V) its edges, every cross product within 1e-9 of one
    sign. A point inside outline j is a hit when its box (``box_of``, (N,)) is ``ms[j]``, else an
    occluder when nearer than ``near[j]`` (m). The outlines are looked up in a grid of bins over
    their bounding rectangle (a pixel's bin lies between its outlines' rectangles' bins: the
    bin of a coordinate is monotonic in it)."""
    p = pad.shape[0]
    nv = pad.shape[1]
    hits = np.zeros(p, dtype=np.int64)
    occ = np.zeros(p, dtype=np.int64)
    rect = np.empty(4)
    rect[0], rect[1], rect[2], rect[3] = lo[0, 0], lo[0, 1], hi[0, 0], hi[0, 1]
    for j in range(p):
        rect[0], rect[1] = min(rect[0], lo[j, 0]), min(rect[1], lo[j, 1])
        rect[2], rect[3] = max(rect[2], hi[j, 0]), max(rect[3], hi[j, 1])
    su = BINS / (rect[2] - rect[0]) if rect[2] > rect[0] else 0.0
    sv = BINS / (rect[3] - rect[1]) if rect[3] > rect[1] else 0.0
    # the outlines of each bin (CSR): those whose rectangle's bins cover it
    b0 = np.empty((p, 4), dtype=np.int64)
    count = np.zeros(BINS * BINS + 1, dtype=np.int64)
    for j in range(p):
        b0[j, 0] = _bin(lo[j, 0], rect[0], su)
        b0[j, 1] = _bin(hi[j, 0], rect[0], su)
        b0[j, 2] = _bin(lo[j, 1], rect[1], sv)
        b0[j, 3] = _bin(hi[j, 1], rect[1], sv)
        for a in range(b0[j, 0], b0[j, 1] + 1):
            for b in range(b0[j, 2], b0[j, 3] + 1):
                count[a * BINS + b + 1] += 1
    for c in range(BINS * BINS):
        count[c + 1] += count[c]
    items = np.empty(count[BINS * BINS], dtype=np.int64)
    fill = count[:-1].copy()
    for j in range(p):
        for a in range(b0[j, 0], b0[j, 1] + 1):
            for b in range(b0[j, 2], b0[j, 3] + 1):
                items[fill[a * BINS + b]] = j
                fill[a * BINS + b] += 1
    seen = np.empty(xyz.shape[1], dtype=np.bool_)
    _in_view(xyz, T_F_from_src, rotated, T, K, max_depth, image, rect, seen)
    for k in range(xyz.shape[1]):
        if not seen[k]:
            continue
        u, v, zc = _project(xyz, k, T_F_from_src, rotated, T, K)
        c = _bin(u, rect[0], su) * BINS + _bin(v, rect[1], sv)
        for i in range(count[c], count[c + 1]):
            j = items[i]
            if not ((u >= lo[j, 0]) & (u <= hi[j, 0]) & (v >= lo[j, 1]) & (v <= hi[j, 1])):
                continue
            pos = True
            neg = True
            for q in range(nv):
                cross = ex[j, q] * (v - pad[j, q, 1]) - ey[j, q] * (u - pad[j, q, 0])
                pos &= cross >= -1e-9
                neg &= cross <= 1e-9
            if not (pos or neg):
                continue
            if box_of[k] == ms[j]:
                hits[j] += 1
            elif zc < near[j]:
                occ[j] += 1
    return hits, occ


@njit(cache=True, nogil=True, error_model="numpy")
def _bin(a: float, a0: float, scale: float) -> int:
    """The bin (0 .. BINS - 1) of coordinate ``a`` from ``a0`` at ``scale`` bins per unit,
    non-decreasing in ``a``."""
    f = (a - a0) * scale
    return np.int64(min(max(f, 0.0), BINS - 1.0))


# ---- box outlines on a pinhole camera ------------------------------------------------------------
#: Vertices an outline can have: a hull of 8 points clipped by 4 half-planes.
MAX_VERTS = 16


@njit(cache=True, nogil=True, error_model="numpy")
def _clip(poly: NDArray[np.float64], n: int, nx: float, ny: float, c: float, out: NDArray[np.float64]) -> int:
    """``occlusion._clip`` of ``poly[:n]`` into ``out``: the part with ``n . x <= c``; its vertex count."""
    m = 0
    if n == 0:
        return 0
    px, py = poly[n - 1, 0], poly[n - 1, 1]
    s_prev = px * nx + py * ny - c
    for i in range(n):
        qx, qy = poly[i, 0], poly[i, 1]
        s_cur = qx * nx + qy * ny - c
        ins = s_cur <= 0
        if ins != (s_prev <= 0):
            t = s_prev / (s_prev - s_cur)
            out[m, 0] = px + (qx - px) * t
            out[m, 1] = py + (qy - py) * t
            m += 1
        if ins:
            out[m, 0] = qx
            out[m, 1] = qy
            m += 1
        px, py, s_prev = qx, qy, s_cur
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def _clip_rect(poly: NDArray[np.float64], n: int, x0: float, y0: float, x1: float, y1: float,
               tmp: NDArray[np.float64]) -> int:
    """``occlusion._clip_rect`` of ``poly[:n]`` in place (``tmp`` a scratch array); the vertex count."""
    inside = True
    for i in range(n):
        inside &= (x0 <= poly[i, 0]) & (poly[i, 0] <= x1) & (y0 <= poly[i, 1]) & (poly[i, 1] <= y1)
    if inside:
        return n
    n = _clip(poly, n, -1.0, 0.0, -x0, tmp)
    n = _clip(tmp, n, 1.0, 0.0, x1, poly)
    n = _clip(poly, n, 0.0, -1.0, -y0, tmp)
    n = _clip(tmp, n, 0.0, 1.0, y1, poly)
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def _cross(ox: float, oy: float, ax: float, ay: float, bx: float, by: float) -> float:
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


@njit(cache=True, nogil=True, error_model="numpy")
def outlines(rounded: NDArray[np.float64], bounds: NDArray[np.float64], K: NDArray[np.float64],
             image: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``(polygons (J, MAX_VERTS, 2), counts (J,))``: the clipped 2D outline of each of J boxes on an
    undistorted pinhole camera (px), as ``occlusion.pinhole_extent2d``'s polygon for a box in
    front of the near plane: ``rounded`` (J, 8, 2) its corners' ``np.round(xy / z, 12)``, the
    sorted distinct points' convex hull (monotone chain), clipped to ``bounds`` (the normalised
    image bounds x0, y0, x1, y1), through ``K`` (3, 3), clipped to ``image`` (u0, v0, u1, v1).
    ``counts[j]``: its vertex count (0 where the outline is empty or degenerate)."""
    nb = rounded.shape[0]
    polys = np.zeros((nb, MAX_VERTS, 2))
    counts = np.zeros(nb, dtype=np.int64)
    pts = np.empty((8, 2))
    hull = np.empty((MAX_VERTS, 2))
    tmp = np.empty((MAX_VERTS, 2))
    k00, k01, k02, k11, k12 = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    for j in range(nb):
        # sorted(set(points)): insertion sort by (x, y), duplicates dropped
        n = 0
        for i in range(8):
            x, y = rounded[j, i, 0], rounded[j, i, 1]
            dup = False
            for q in range(n):
                dup |= (pts[q, 0] == x) & (pts[q, 1] == y)
            if dup:
                continue
            q = n
            while q > 0 and (pts[q - 1, 0] > x or (pts[q - 1, 0] == x and pts[q - 1, 1] > y)):
                pts[q, 0], pts[q, 1] = pts[q - 1, 0], pts[q - 1, 1]
                q -= 1
            pts[q, 0], pts[q, 1] = x, y
            n += 1
        if n <= 2:
            continue
        # occlusion._hull: lower[:-1] + upper[:-1]
        h = 0
        for i in range(n):
            while h >= 2 and _cross(hull[h - 2, 0], hull[h - 2, 1], hull[h - 1, 0], hull[h - 1, 1],
                                    pts[i, 0], pts[i, 1]) <= 0:
                h -= 1
            hull[h, 0], hull[h, 1] = pts[i, 0], pts[i, 1]
            h += 1
        h -= 1
        base = h  # the upper chain starts after the lower one (its first point is the lower's last)
        hull[h, 0], hull[h, 1] = pts[n - 1, 0], pts[n - 1, 1]
        h += 1
        for i in range(n - 2, -1, -1):
            while h - base >= 2 and _cross(hull[h - 2, 0], hull[h - 2, 1], hull[h - 1, 0], hull[h - 1, 1],
                                           pts[i, 0], pts[i, 1]) <= 0:
                h -= 1
            hull[h, 0], hull[h, 1] = pts[i, 0], pts[i, 1]
            h += 1
        h -= 1
        if h < 3:
            continue
        h = _clip_rect(hull, h, bounds[0], bounds[1], bounds[2], bounds[3], tmp)
        if h < 3:
            continue
        for i in range(h):
            x, y = hull[i, 0], hull[i, 1]
            hull[i, 0] = k00 * x + k01 * y + k02
            hull[i, 1] = k11 * y + k12
        h = _clip_rect(hull, h, image[0], image[1], image[2], image[3], tmp)
        for i in range(h):
            polys[j, i, 0], polys[j, i, 1] = hull[i, 0], hull[i, 1]
        counts[j] = h
    return polys, counts
