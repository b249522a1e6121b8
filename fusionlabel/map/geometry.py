"""Geometry of map lines: arc-length resampling, smoothing, self-intersection, Chamfer distance.

Lines are ``(N, D)`` float arrays (D = 2 or 3, metres, any one frame); a ``closed`` line is a
polygon given without repeating its first vertex.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.errors import ModelError

F64 = NDArray[np.float64]


def _ring(pts: F64, closed: bool) -> F64:
    return np.concatenate([pts, pts[:1]]) if closed else pts


def arc_length(pts: ArrayLike, closed: bool = False) -> F64:
    """Cumulative arc length (M,) at each vertex (M = N, or N + 1 for a closed line)."""
    p = _ring(np.asarray(pts, dtype=np.float64), closed)
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def resample(pts: ArrayLike, num: int | None = None, spacing: float | None = None, closed: bool = False) -> F64:
    """Points at equal arc-length steps along a line: ``num`` points (first and last vertex kept;
    for a closed line, ``num`` points around the ring starting at the first vertex, the ring's
    end not repeated) or, with ``spacing`` (m), as many as fit plus the end. Shape (num, D)."""
    p = np.asarray(pts, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1:
        raise ModelError(f"resample: expected an (N, D) line, got shape {p.shape}")
    if (num is None) == (spacing is None):
        raise ModelError("resample: give exactly one of num and spacing")
    ring = _ring(p, closed)
    u = arc_length(p, closed)
    total = float(u[-1])
    if spacing is not None:
        if spacing <= 0:
            raise ModelError(f"resample: spacing must be > 0, got {spacing}")
        steps = max(int(np.ceil(total / spacing - 1e-9)), 1)
        num = steps if closed else steps + 1
    assert num is not None
    if num < 1:
        raise ModelError(f"resample: num must be >= 1, got {num}")
    if total <= 0.0:
        return np.repeat(p[:1], num, axis=0)
    t = np.linspace(0.0, total, num, endpoint=not closed) if num > 1 else np.zeros(1)
    keep = np.concatenate([[True], np.diff(u) > 0])  # drop repeated vertices (np.interp needs increasing u)
    return np.stack([np.interp(t, u[keep], ring[keep, k]) for k in range(p.shape[1])], axis=1)


def smooth(pts: ArrayLike, window_m: float = 2.0, closed: bool = False, iterations: int = 1) -> F64:
    """A line smoothed by a moving average over ``window_m`` metres of arc length (Gaussian-like
    after a few ``iterations``), with the same vertex count; an open line keeps its end points."""
    p = np.asarray(pts, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 3 or window_m <= 0:
        return p.copy()
    out = p.copy()
    for _ in range(max(int(iterations), 1)):
        u = arc_length(out, closed)
        if closed:
            period = u[-1]
            uu = u[:-1]
            diff = np.abs(uu[:, None] - uu[None, :])
            diff = np.minimum(diff, period - diff)
        else:
            uu = u
            diff = np.abs(uu[:, None] - uu[None, :])
        w = (diff <= window_m / 2.0).astype(np.float64)
        new = (w @ out) / w.sum(axis=1, keepdims=True)
        if not closed:
            new[0], new[-1] = out[0], out[-1]
        out = new
    return out


def _segments_cross(a0: F64, a1: F64, b0: F64, b1: F64) -> NDArray[np.bool_]:
    """Proper crossing (interiors intersect, touching excluded) of 2D segments, broadcast."""
    def orient(p: F64, q: F64, r: F64) -> F64:
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])

    d1, d2 = orient(a0, a1, b0), orient(a0, a1, b1)
    d3, d4 = orient(b0, b1, a0), orient(b0, b1, a1)
    return (d1 * d2 < 0) & (d3 * d4 < 0)


def self_intersections(pts: ArrayLike, closed: bool = False) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` (i < j) of non-adjacent segments of the line (in the xy plane) that cross;
    segment ``i`` runs from vertex ``i`` to ``i + 1`` (the closing segment of a polygon is the last)."""
    p = _ring(np.asarray(pts, dtype=np.float64)[:, :2], closed)
    n = p.shape[0] - 1
    if n < 3:
        return []
    a0, a1 = p[:-1], p[1:]
    hit = _segments_cross(a0[:, None], a1[:, None], a0[None], a1[None])
    ii, jj = np.nonzero(np.triu(hit, k=2))
    pairs = [(int(i), int(j)) for i, j in zip(ii, jj, strict=True)]
    if closed:
        pairs = [(i, j) for i, j in pairs if not (i == 0 and j == n - 1)]
    return pairs


def point_to_polyline_distance(q: ArrayLike, line: ArrayLike, closed: bool = False) -> F64:
    """Distance (M,) of each point of ``q`` (M, D) to the nearest point of the line (N, D)."""
    qq = np.atleast_2d(np.asarray(q, dtype=np.float64))
    p = _ring(np.asarray(line, dtype=np.float64), closed)
    if p.shape[0] == 1:
        return np.linalg.norm(qq - p[0], axis=1)
    a, b = p[:-1], p[1:]
    ab = b - a
    den = np.maximum((ab * ab).sum(axis=1), 1e-18)
    t = np.clip(((qq[:, None, :] - a[None]) * ab[None]).sum(axis=2) / den[None], 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.linalg.norm(qq[:, None, :] - nearest, axis=2).min(axis=1)


def chamfer_distance(a: ArrayLike, b: ArrayLike) -> float:
    """Symmetric Chamfer distance between two point sets (N, D) and (M, D): the mean of the two
    directed mean nearest-point distances, as MapTR's evaluation computes it (metres)."""
    pa, pb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = np.linalg.norm(pa[:, None, :] - pb[None, :, :], axis=2)
    return float((d.min(axis=1).mean() + d.min(axis=0).mean()) / 2.0)


def polygon_area(pts: ArrayLike) -> float:
    """Signed area (m^2) of a polygon in the xy plane (positive counter-clockwise)."""
    p = np.asarray(pts, dtype=np.float64)
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def transform_points(T: ArrayLike, pts: ArrayLike) -> F64:
    """(N, 3) points through a 4x4 transform (``pts_dst = T_dst_from_src @ pts_src``)."""
    T = np.asarray(T, dtype=np.float64)
    p = np.asarray(pts, dtype=np.float64)
    return p @ T[:3, :3].T + T[:3, 3]


Rect = tuple[float, float, float, float]  # xmin, xmax, ymin, ymax (m)


def clip_polyline_to_rect(pts: ArrayLike, rect: Rect) -> list[F64]:
    """The pieces (each (M, D), M >= 2) of a line inside the axis-aligned rectangle ``rect`` of the
    xy plane, in order; other coordinates (z) are interpolated linearly where a segment is cut."""
    p = np.asarray(pts, dtype=np.float64)
    xmin, xmax, ymin, ymax = rect
    pieces: list[F64] = []
    cur: list[F64] = []
    for a, b in zip(p[:-1], p[1:], strict=True):
        d = b - a
        t0, t1 = 0.0, 1.0
        ok = True
        for q, r in ((-d[0], a[0] - xmin), (d[0], xmax - a[0]), (-d[1], a[1] - ymin), (d[1], ymax - a[1])):
            if q == 0.0:
                if r < 0.0:
                    ok = False
                    break
            else:
                t = r / q
                if q < 0.0:
                    t0 = max(t0, t)
                else:
                    t1 = min(t1, t)
        if not ok or t0 > t1:
            if len(cur) >= 2:
                pieces.append(np.array(cur))
            cur = []
            continue
        pa, pb = a + t0 * d, a + t1 * d
        if not cur or np.linalg.norm(cur[-1] - pa) > 1e-9 or t0 > 0.0:
            if len(cur) >= 2:
                pieces.append(np.array(cur))
            cur = [pa]
        cur.append(pb)
        if t1 < 1.0:
            pieces.append(np.array(cur))
            cur = []
    if len(cur) >= 2:
        pieces.append(np.array(cur))
    return [q for q in pieces if arc_length(q)[-1] > 1e-9]


def clip_polygon_to_rect(poly: ArrayLike, rect: Rect) -> F64:
    """A polygon (N, D) clipped to the rectangle ``rect`` of the xy plane (Sutherland-Hodgman; z
    interpolated); (0, D) when nothing is inside."""
    out = np.asarray(poly, dtype=np.float64)
    xmin, xmax, ymin, ymax = rect
    for axis, bound, keep_below in ((0, xmin, False), (0, xmax, True), (1, ymin, False), (1, ymax, True)):
        if len(out) == 0:
            break
        res: list[F64] = []
        prev = out[-1]
        for cur in out:
            cin = cur[axis] <= bound if keep_below else cur[axis] >= bound
            pin = prev[axis] <= bound if keep_below else prev[axis] >= bound
            if cin != pin:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                res.append(prev + t * (cur - prev))
            if cin:
                res.append(cur)
            prev = cur
        out = np.array(res).reshape(-1, out.shape[1])
    return out


def polylines_cross(a: ArrayLike, b: ArrayLike) -> bool:
    """Whether two lines cross each other in the xy plane (a proper crossing of two segments)."""
    p = np.asarray(a, dtype=np.float64)[:, :2]
    q = np.asarray(b, dtype=np.float64)[:, :2]
    if len(p) < 2 or len(q) < 2:
        return False
    if (p.min(axis=0) > q.max(axis=0)).any() or (q.min(axis=0) > p.max(axis=0)).any():
        return False
    return bool(_segments_cross(p[:-1, None], p[1:, None], q[None, :-1], q[None, 1:]).any())


def ray_polyline_distance(origin: ArrayLike, direction: ArrayLike, pts: ArrayLike,
                          closed: bool = False) -> tuple[float, float]:
    """Closest approach of a ray (``origin`` (3,), ``direction`` (3,), world frame) to the 3D
    polyline ``pts`` (N, 3) (closed: with its last edge): ``(distance m, range m along the unit
    direction at that point)``; ``(inf, inf)`` when the polyline lies wholly behind the origin."""
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    n = float(np.linalg.norm(d))
    if not n > 0.0:
        raise ValueError("ray direction must not be zero")
    d = d / n
    p = _ring(np.asarray(pts, dtype=np.float64).reshape(-1, 3), closed)
    a, e = p[:-1], p[1:] - p[:-1]
    # minimise |o + t d - (a + s e)| over t >= 0, s in [0, 1]: s from the infinite lines, clipped
    ee = (e * e).sum(axis=1)
    de = e @ d
    w = a - o
    denom = ee - de * de
    s = np.where(denom > 1e-12, (de * (w @ d) - (w * e).sum(axis=1)) / np.where(denom > 1e-12, denom, 1.0), 0.0)
    s = np.clip(s, 0.0, 1.0)
    q = a + e * s[:, None]
    t = (q - o) @ d
    ok = t > 0.0
    if not ok.any():
        return float("inf"), float("inf")
    dist = np.linalg.norm(q - o - t[:, None] * d, axis=1)
    dist = np.where(ok, dist, np.inf)
    k = int(np.argmin(dist))
    return float(dist[k]), float(t[k])
