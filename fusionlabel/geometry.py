"""Vectorised box geometry: corners, points in boxes, BEV polygons, exact BEV and 3D IoU.

Boxes are arrays ``(M, 7)`` of ``[x, y, z, l, w, h, yaw]`` (geometric centre and size in metres,
yaw in radians about +z), all in one common frame (usually ``world``). Every function that takes
boxes also accepts a single :class:`~fusionlabel.box.Box3D`, a sequence of them, or a ``(7,)`` array.
Points are ``(N, 3)`` float arrays in the same frame as the boxes.

IoU is exact: the bird's-eye-view (BEV) intersection of two yawed rectangles is computed by
clipping one convex polygon by the other (Sutherland-Hodgman), and the 3D intersection is that
area times the overlap of the z intervals (boxes only rotate about z).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import wrap_angle
from fusionlabel.box import CORNER_SIGNS, Box3D

F64 = NDArray[np.float64]

#: Re-export: wrap angle(s) in radians to (-pi, pi].
wrap_yaw = wrap_angle

#: Points within this distance (m) outside a face still count as inside (absorbs rounding, so a
#: box's own corners are inside it).
BOUNDARY_EPS = 1e-9

#: Number of (box, candidate point) pairs tested at once by the points-in-boxes kernels.
_CHUNK_PAIRS = 1 << 21

# Bottom-face corners of Box3D (indices into CORNER_SIGNS) in counter-clockwise order seen from
# +z: front-right, front-left, rear-left, rear-right.
_BEV_CORNERS = np.array([1, 0, 3, 2])


# ---- conversions -------------------------------------------------------------------------------
def boxes_to_array(boxes: Iterable[Box3D]) -> F64:
    """``(M, 7)`` float64 array ``[x, y, z, l, w, h, yaw]`` of a sequence of boxes (M may be 0)."""
    rows = [b.to_array() for b in boxes]
    if not rows:
        return np.zeros((0, 7))
    return np.stack(rows)


def as_box_array(boxes: Box3D | Sequence[Box3D] | ArrayLike) -> F64:
    """Boxes as a ``(M, 7)`` float64 array: accepts a Box3D, a sequence of Box3D, ``(7,)`` or
    ``(M, 7)`` arrays. Raises ValueError for any other shape, a non-finite value or a size <= 0."""
    if isinstance(boxes, Box3D):
        return boxes.to_array()[None, :]
    if isinstance(boxes, (list, tuple)) and boxes and isinstance(boxes[0], Box3D):
        return boxes_to_array(boxes)
    a = np.asarray(boxes, dtype=np.float64)
    if a.ndim == 1 and a.shape[0] == 7:
        a = a[None, :]
    if a.ndim == 1 and a.shape[0] == 0:
        a = a.reshape(0, 7)
    if a.ndim != 2 or a.shape[1] != 7:
        raise ValueError(f"boxes must have shape (M, 7) [x, y, z, l, w, h, yaw], got {a.shape}")
    bad = ~np.isfinite(a).all(axis=1) | (a[:, 3:6] <= 0.0).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"box {i} has a non-finite value or a non-positive size: {a[i].tolist()}")
    return a


def _as_points(pts: ArrayLike) -> F64:
    p = np.asarray(pts, dtype=np.float64)
    if p.ndim == 1 and p.shape[0] == 0:
        p = p.reshape(0, 3)
    if p.ndim != 2 or p.shape[1] < 3:
        raise ValueError(f"points must have shape (N, 3), got {p.shape}")
    return p[:, :3]


# ---- angles ------------------------------------------------------------------------------------
def yaw_diff(a: ArrayLike, b: ArrayLike) -> F64 | float:
    """Shortest signed angle ``a - b`` in radians, wrapped to (-pi, pi] (broadcasts)."""
    return wrap_angle(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))


# ---- corners and polygons ----------------------------------------------------------------------
def box_corners(boxes: Box3D | Sequence[Box3D] | ArrayLike) -> F64:
    """``(M, 8, 3)`` corners of ``(M, 7)`` boxes, in the boxes' frame, ordered as ``CORNER_SIGNS``
    (the same order as :meth:`Box3D.corners`)."""
    b = as_box_array(boxes)
    local = CORNER_SIGNS[None, :, :] * (b[:, None, 3:6] / 2.0)  # (M, 8, 3)
    c, s = np.cos(b[:, 6])[:, None], np.sin(b[:, 6])[:, None]
    out = np.empty_like(local)
    out[..., 0] = c * local[..., 0] - s * local[..., 1] + b[:, None, 0]
    out[..., 1] = s * local[..., 0] + c * local[..., 1] + b[:, None, 1]
    out[..., 2] = local[..., 2] + b[:, None, 2]
    return out


def box3d_corners(boxes: Sequence[Box3D]) -> F64:
    """(M, 8, 3) ``Box3D.corners()`` of every box, in the boxes' frame (m), equal to it: the
    upright boxes in one stacked product (the same products and sums as ``corners``; exporters
    that must write the same numbers as box by box use this), tilted ones box by box (with their
    tilt, which :func:`box_corners` of the (M, 7) array form drops)."""
    m = len(boxes)
    out = np.empty((m, 8, 3), dtype=np.float64)
    if m == 0:
        return out
    half = np.array([b.size for b in boxes], dtype=np.float64) / 2.0
    yaw = np.array([b.yaw for b in boxes], dtype=np.float64)
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.zeros((m, 3, 3))  # yaw_to_rotation of each box
    R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1], R[:, 2, 2] = c, -s, s, c, 1.0
    local = CORNER_SIGNS[None, :, :] * half[:, None, :]
    out[:] = local @ R.transpose(0, 2, 1) + np.array([b.center for b in boxes], dtype=np.float64)[:, None, :]
    for j, b in enumerate(boxes):
        if b.tilted:
            out[j] = b.corners()
    return out


def bev_polygons(boxes: Box3D | Sequence[Box3D] | ArrayLike) -> F64:
    """``(M, 4, 2)`` BEV rectangles (xy, metres), counter-clockwise seen from +z, starting at the
    front-right corner: front-right, front-left, rear-left, rear-right."""
    return box_corners(boxes)[:, _BEV_CORNERS, :2]


def bev_polygon(box: Box3D | ArrayLike) -> F64:
    """``(4, 2)`` BEV rectangle of one box, counter-clockwise (see :func:`bev_polygons`)."""
    return bev_polygons(box)[0]


def polygon_area(poly: ArrayLike) -> float:
    """Signed area (m^2) of a simple ``(K, 2)`` polygon: positive when counter-clockwise."""
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def point_in_polygon(poly: ArrayLike, xy: Sequence[float]) -> bool:
    """Whether the 2D point ``xy`` lies inside the polygon ``poly`` (K, 2) (even-odd rule; any
    units, both the same). Fewer than 3 vertices: False."""
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return False
    x, y = float(xy[0]), float(xy[1])
    px, py = p[:, 0], p[:, 1]
    qx, qy = np.roll(px, -1), np.roll(py, -1)
    cond = (py > y) != (qy > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = px + (y - py) * (qx - px) / (qy - py)
    return bool(np.count_nonzero(cond & (x < xs)) % 2)


# ---- points in boxes ---------------------------------------------------------------------------
def _repeat_arange(starts: NDArray[np.intp], counts: NDArray[np.intp]) -> NDArray[np.intp]:
    """Concatenation of ``arange(starts[i], starts[i] + counts[i])`` over i, vectorised."""
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + np.arange(total) - offsets


def _box_hits(pts: F64, boxes: F64, margin: float) -> Iterable[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """Yield ``(box_idx, pt_idx)`` arrays of the (box, point) pairs with the point inside the box,
    in ascending box order.

    Candidates come from a cheap spatial index: points sorted by (x cell, y), with cells about
    one box diameter wide. Each box's bounding circle selects a few x cells and, in each, a
    contiguous y run of the sorted points; only those candidates are transformed into the box
    frame and tested exactly. Work is done in chunks of about ``_CHUNK_PAIRS`` candidates.
    """
    n, m = len(pts), len(boxes)
    if n == 0 or m == 0:
        return
    finite = np.isfinite(pts).all(axis=1)
    if not finite.all():  # NaN / inf points (invalid returns) are in no box
        keep = np.flatnonzero(finite)
        for bi, pi in _box_hits(pts[keep], boxes, margin):
            yield bi, keep[pi]
        return
    half = boxes[:, 3:6] / 2.0 + (margin + BOUNDARY_EPS)
    radius = np.hypot(half[:, 0], half[:, 1]) + 1e-6  # the index's key loses ~1e-9 m
    x0, y0 = pts[:, 0].min(), pts[:, 1].min()
    x_span, y_span = pts[:, 0].max() - x0, pts[:, 1].max() - y0
    cell = max(float(np.median(2.0 * radius)), x_span / 65536.0, 1e-6)
    n_cells = int(x_span // cell) + 1
    stride = y_span + 1.0  # key = cell * stride + (y - y0): cells never interleave
    key = (pts[:, 0] - x0) // cell * stride + (pts[:, 1] - y0)
    order = np.argsort(key)
    key = key[order]
    pts_sorted = pts[order]
    ix_lo = np.clip((boxes[:, 0] - radius - x0) // cell, 0, n_cells - 1).astype(np.intp)
    ix_hi = np.clip((boxes[:, 0] + radius - x0) // cell, 0, n_cells - 1).astype(np.intp)
    r_key = radius + 1e-15 * n_cells * stride  # rounding of the largest key
    y_lo = np.clip(boxes[:, 1] - r_key - y0, -0.5, stride - 0.5)
    y_hi = np.clip(boxes[:, 1] + r_key - y0, -0.5, stride - 0.5)
    # one (box, cell) "run" per cell a box's circle spans, in box order
    run_cells = ix_hi - ix_lo + 1
    run_box = np.repeat(np.arange(m), run_cells)
    run_ix = _repeat_arange(ix_lo, run_cells)
    lo = np.searchsorted(key, run_ix * stride + y_lo[run_box], side="left")
    hi = np.searchsorted(key, run_ix * stride + y_hi[run_box], side="right")
    counts = hi - lo
    cum = np.cumsum(counts)
    cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    start = 0
    while start < len(counts):
        base = cum[start - 1] if start else 0
        end = max(int(np.searchsorted(cum, base + _CHUNK_PAIRS, side="right")), start + 1)
        cnt = counts[start:end]
        bsel = run_box[start:end]
        pos = _repeat_arange(lo[start:end], cnt)
        start = end
        if len(pos) == 0:
            continue
        box_idx = np.repeat(bsel, cnt)
        ok = _inside_pairs(pts_sorted[pos], boxes, box_idx, half, cos, sin)
        yield box_idx[ok], order[pos[ok]]


def _inside_pairs(p: F64, boxes: F64, box_idx: NDArray[np.intp], half: F64, cos: F64, sin: F64) -> NDArray[np.bool_]:
    """The exact test of the points-in-boxes kernels: ``(K,)`` whether point ``p[k]`` (K, 3)
    lies in box ``box_idx[k]``; ``half`` (M, 3) the half sizes with margin, ``cos`` / ``sin`` (M,)
    of the yaws. Every kernel uses this one expression, so their answers agree bit for bit."""
    ok = np.abs(p[:, 2] - boxes[box_idx, 2]) <= half[box_idx, 2]
    dx = p[:, 0] - boxes[box_idx, 0]
    dy = p[:, 1] - boxes[box_idx, 1]
    c, s = cos[box_idx], sin[box_idx]
    ok &= np.abs(c * dx + s * dy) <= half[box_idx, 0]
    ok &= np.abs(c * dy - s * dx) <= half[box_idx, 1]
    return ok


def points_in_boxes(
    pts: ArrayLike, boxes: Box3D | Sequence[Box3D] | ArrayLike, margin: float = 0.0
) -> NDArray[np.bool_]:
    """``(M, N)`` bool mask: point ``n`` lies in box ``m`` (boundary included).

    ``pts`` is ``(N, 3)`` (extra columns such as intensity are ignored), ``boxes`` ``(M, 7)``, both
    in the same frame, metres. A point is inside when its coordinates in the box frame satisfy
    ``|x| <= l/2 + margin``, ``|y| <= w/2 + margin``, ``|z| <= h/2 + margin`` (up to
    ``BOUNDARY_EPS``, so points computed on a face or corner count as inside). Non-finite points
    are in no box.
    """
    p, b = _as_points(pts), as_box_array(boxes)
    mask = np.zeros((len(b), len(p)), dtype=bool)
    for bi, pi in _box_hits(p, b, float(margin)):
        mask[bi, pi] = True
    return mask


def count_points_in_boxes(
    pts: ArrayLike, boxes: Box3D | Sequence[Box3D] | ArrayLike, margin: float = 0.0
) -> NDArray[np.int64]:
    """``(M,)`` number of points of ``pts (N, 3)`` inside each box (see :func:`points_in_boxes`)."""
    p, b = _as_points(pts), as_box_array(boxes)
    counts = np.zeros(len(b), dtype=np.int64)
    for bi, _ in _box_hits(p, b, float(margin)):
        counts += np.bincount(bi, minlength=len(b))
    return counts


def point_box_indices(
    pts: ArrayLike, boxes: Box3D | Sequence[Box3D] | ArrayLike, margin: float = 0.0
) -> NDArray[np.int64]:
    """``(N,)`` index of the first box (lowest index) that contains each point, -1 for none."""
    p, b = _as_points(pts), as_box_array(boxes)
    out = np.full(len(p), len(b), dtype=np.int64)
    for bi, pi in _box_hits(p, b, float(margin)):
        # hits come in ascending box order: a point's first occurrence has its lowest box
        u, first = np.unique(pi, return_index=True)
        out[u] = np.minimum(out[u], bi[first])
    out[out == len(b)] = -1
    return out


#: Cell (m) of the BEV raster of :func:`points_in_any_box`; the raster gets coarser past this many cells.
_RASTER_CELL = 0.5
_RASTER_MAX_CELLS = 4_000_000


def points_in_any_box(
    pts: ArrayLike, boxes: Box3D | Sequence[Box3D] | ArrayLike, margin: float = 0.0
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """The points of a whole sweep that lie in a box: ``(indices, box_of)``, the ascending indices
    of those points and the index of the first (lowest) box holding each; the same answer as
    :func:`point_box_indices` (``box_of == point_box_indices(pts, boxes)[indices]``, bit for bit)
    but made for a large sweep with few points inside boxes.

    ``pts`` (N, 3+) may be float32 (no float64 copy of the sweep is made: only candidates are
    converted). The boxes' BEV bounding rectangles (+ ``margin``, padded for rounding) are drawn
    into a raster of ``_RASTER_CELL`` m cells; a point whose cell no box touches is in no box, a
    cell touched by one box is tested against that box only, and the rare cells several boxes
    touch go through :func:`point_box_indices`."""
    p = np.asarray(pts)
    if p.dtype.kind != "f":
        p = p.astype(np.float64)
    if p.ndim == 1 and p.shape[0] == 0:
        p = p.reshape(0, 3)
    if p.ndim != 2 or p.shape[1] < 3:
        raise ValueError(f"points must have shape (N, 3), got {p.shape}")
    b = as_box_array(boxes)
    none = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64))
    if len(p) == 0 or len(b) == 0:
        return none
    margin = float(margin)
    half = b[:, 3:6] / 2.0 + (margin + BOUNDARY_EPS)
    cos, sin = np.cos(b[:, 6]), np.sin(b[:, 6])
    # BEV bounding rectangles, padded for the rounding of float32 points far from the origin
    pad = 1e-3 + 1e-6 * float(np.abs(b[:, :2]).max() + np.abs(half[:, :2]).max())
    ext = np.c_[np.abs(cos) * half[:, 0] + np.abs(sin) * half[:, 1],
                np.abs(sin) * half[:, 0] + np.abs(cos) * half[:, 1]] + pad
    lo_xy, hi_xy = b[:, :2] - ext, b[:, :2] + ext
    g0, g1 = lo_xy.min(axis=0), hi_xy.max(axis=0)
    cell = max(_RASTER_CELL, float(np.sqrt((g1 - g0).prod() / _RASTER_MAX_CELLS)))
    shape = np.floor((g1 - g0) / cell).astype(np.int64) + 1
    first = np.full((int(shape[0]), int(shape[1])), -1, dtype=np.int32)  # -1 none, -2 several, else the box
    cl = np.floor((lo_xy - g0) / cell).astype(np.int64)
    ch = np.floor((hi_xy - g0) / cell).astype(np.int64) + 1
    for i in range(len(b)):
        win = first[cl[i, 0]:ch[i, 0], cl[i, 1]:ch[i, 1]]
        win[win >= 0] = -2
        win[win == -1] = i
    zlo = float((b[:, 2] - half[:, 2]).min()) - pad
    zhi = float((b[:, 2] + half[:, 2]).max()) + pad
    # the cell of every point (in the points' own precision; NaN compares False)
    # Python floats keep float32 points in float32 (NEP 50); the pad covers its rounding
    u = (p[:, 0] - float(g0[0])) * (1.0 / cell)
    v = (p[:, 1] - float(g0[1])) * (1.0 / cell)
    z = p[:, 2]
    ok = (u >= 0) & (u < int(shape[0])) & (v >= 0) & (v < int(shape[1])) & (z >= zlo) & (z <= zhi)
    cand = np.flatnonzero(ok)
    cell_of = u[cand].astype(np.intp)
    cell_of *= int(shape[1])
    cell_of += v[cand].astype(np.intp)
    code = first.ravel().take(cell_of)
    keep = code != -1
    cand, code = cand[keep], code[keep]
    box_of = np.full(len(cand), -1, dtype=np.int64)
    one = np.flatnonzero(code >= 0)
    if one.size:
        bi = code[one].astype(np.intp)
        inside = _inside_pairs(p[cand[one], :3].astype(np.float64), b, bi, half, cos, sin)
        box_of[one[inside]] = bi[inside]
    several = np.flatnonzero(code == -2)
    if several.size * len(b) <= _CHUNK_PAIRS:  # every (point, box) pair; the first box holding it wins
        q = p[cand[several], :3].astype(np.float64)
        ok = _inside_pairs(np.repeat(q, len(b), axis=0), b, np.tile(np.arange(len(b)), len(q)), half, cos,
                           sin).reshape(len(q), len(b))
        box_of[several] = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
    else:
        box_of[several] = point_box_indices(p[cand[several], :3], b, margin)
    hit = box_of >= 0
    return cand[hit], box_of[hit]


# ---- convex polygon intersection (one pair) ----------------------------------------------------
def _cross(o: F64, a: F64, p: F64) -> F64:
    """z of (a - o) x (p - o), broadcasting over leading axes (last axis xy)."""
    ax, ay = a[..., 0] - o[..., 0], a[..., 1] - o[..., 1]
    return ax * (p[..., 1] - o[..., 1]) - ay * (p[..., 0] - o[..., 0])


def convex_intersection(poly_a: ArrayLike, poly_b: ArrayLike) -> F64:
    """Intersection of two convex counter-clockwise polygons ``(K, 2)`` and ``(L, 2)`` as a
    ``(J, 2)`` counter-clockwise polygon (J = 0 when they do not overlap with positive area;
    touching polygons may give a degenerate polygon of zero area).

    Sutherland-Hodgman: ``poly_a`` is clipped by each edge of ``poly_b``. Points on a clip edge
    count as inside, and an edge crossing is computed only for a strict sign change, so shared or
    parallel edges never divide by zero.
    """
    out = np.asarray(poly_a, dtype=np.float64).reshape(-1, 2)
    clip = np.asarray(poly_b, dtype=np.float64).reshape(-1, 2)
    for i in range(len(clip)):
        if len(out) == 0:
            break
        a, b = clip[i], clip[(i + 1) % len(clip)]
        d = _cross(a, b, out)
        nxt = np.roll(out, -1, axis=0)
        d_nxt = np.roll(d, -1)
        res: list[F64] = []
        for k in range(len(out)):
            if d[k] >= 0.0:
                res.append(out[k])
            if d[k] * d_nxt[k] < 0.0:
                t = d[k] / (d[k] - d_nxt[k])
                res.append(out[k] + t * (nxt[k] - out[k]))
        out = np.array(res).reshape(-1, 2)
    return out


def bev_intersection_area(a: Box3D | ArrayLike, b: Box3D | ArrayLike) -> float:
    """Exact area (m^2) of the BEV intersection of two boxes."""
    return max(0.0, polygon_area(convex_intersection(bev_polygon(a), bev_polygon(b))))


def _iou_pair(a: F64, b: F64, three_d: bool) -> float:
    inter = bev_intersection_area(a, b)
    if three_d:
        dz = min(a[2] + a[5] / 2, b[2] + b[5] / 2) - max(a[2] - a[5] / 2, b[2] - b[5] / 2)
        inter *= max(0.0, dz)
        va, vb = a[3] * a[4] * a[5], b[3] * b[4] * b[5]
    else:
        va, vb = a[3] * a[4], b[3] * b[4]
    return float(min(1.0, max(0.0, inter / (va + vb - inter))))


def bev_iou(a: Box3D | ArrayLike, b: Box3D | ArrayLike) -> float:
    """Exact BEV (xy) intersection over union of two yawed boxes, in [0, 1]."""
    return _iou_pair(as_box_array(a)[0], as_box_array(b)[0], three_d=False)


def iou_3d(a: Box3D | ArrayLike, b: Box3D | ArrayLike) -> float:
    """Exact 3D IoU of two yawed boxes: BEV intersection area x z overlap / union volume."""
    return _iou_pair(as_box_array(a)[0], as_box_array(b)[0], three_d=True)


# ---- batched intersections ---------------------------------------------------------------------
def _clip_batch(poly: F64, n: NDArray[np.intp], a: F64, b: F64) -> tuple[F64, NDArray[np.intp]]:
    """Clip P convex polygons ``poly (P, C, 2)`` with ``n (P,)`` valid vertices by the half-plane
    left of the directed lines ``a -> b`` (``(P, 2)`` each). Returns ``(P, C + 1, 2)`` and counts."""
    p_count, cap = poly.shape[:2]
    idx = np.arange(cap)[None, :]
    valid = idx < n[:, None]
    nxt_i = np.where(idx + 1 < n[:, None], idx + 1, 0)
    nxt = np.take_along_axis(poly, nxt_i[..., None], axis=1)
    d = _cross(a[:, None, :], b[:, None, :], poly)
    d_nxt = np.take_along_axis(d, nxt_i, axis=1)
    keep = valid & (d >= 0.0)
    cross_ = valid & (d * d_nxt < 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(cross_, d / np.where(cross_, d - d_nxt, 1.0), 0.0)
    inter = poly + t[..., None] * (nxt - poly)
    cand = np.stack([poly, inter], axis=2).reshape(p_count, 2 * cap, 2)
    cmask = np.stack([keep, cross_], axis=2).reshape(p_count, 2 * cap)
    # compact the kept candidates to the front of each row, in order
    slot = np.cumsum(cmask, axis=1) - 1
    rows, cols = np.nonzero(cmask & (slot <= cap))
    out = np.zeros((p_count, cap + 1, 2))
    out[rows, slot[rows, cols]] = cand[rows, cols]
    # a convex polygon gains at most one vertex per clip; rounding on (nearly) collinear vertices
    # could flag more, all on the clip line, so dropping the excess loses no area
    return out, np.minimum(cmask.sum(axis=1), cap + 1)


def _bev_intersection_areas(pa: F64, pb: F64) -> F64:
    """``(P,)`` intersection areas of P pairs of convex quadrilaterals ``(P, 4, 2)`` (CCW)."""
    p_count = len(pa)
    poly = pa.copy()
    n = np.full(p_count, 4, dtype=np.intp)
    for i in range(4):
        poly, n = _clip_batch(poly, n, pb[:, i], pb[:, (i + 1) % 4])
    cap = poly.shape[1]
    idx = np.arange(cap)[None, :]
    nxt_i = np.where(idx + 1 < n[:, None], idx + 1, 0)
    nxt = np.take_along_axis(poly, nxt_i[..., None], axis=1)
    terms = poly[..., 0] * nxt[..., 1] - nxt[..., 0] * poly[..., 1]
    area = 0.5 * np.where(idx < n[:, None], terms, 0.0).sum(axis=1)
    return np.where(n >= 3, np.maximum(area, 0.0), 0.0)


def _iou_matrix(a_boxes: ArrayLike, b_boxes: ArrayLike, three_d: bool) -> F64:
    A, B = as_box_array(a_boxes), as_box_array(b_boxes)
    out = np.zeros((len(A), len(B)))
    if len(A) == 0 or len(B) == 0:
        return out
    ra = np.hypot(A[:, 3], A[:, 4]) / 2.0
    rb = np.hypot(B[:, 3], B[:, 4]) / 2.0
    dist2 = (A[:, None, 0] - B[None, :, 0]) ** 2 + (A[:, None, 1] - B[None, :, 1]) ** 2
    near = dist2 < (ra[:, None] + rb[None, :]) ** 2
    if three_d:
        dz = np.minimum(A[:, None, 2] + A[:, None, 5] / 2, B[None, :, 2] + B[None, :, 5] / 2) - np.maximum(
            A[:, None, 2] - A[:, None, 5] / 2, B[None, :, 2] - B[None, :, 5] / 2
        )
        near &= dz > 0.0
    ia, ib = np.nonzero(near)
    if len(ia) == 0:
        return out
    pa, pb = bev_polygons(A), bev_polygons(B)
    inter = _bev_intersection_areas(pa[ia], pb[ib])
    if three_d:
        inter = inter * dz[ia, ib]
        va, vb = A[ia, 3] * A[ia, 4] * A[ia, 5], B[ib, 3] * B[ib, 4] * B[ib, 5]
    else:
        va, vb = A[ia, 3] * A[ia, 4], B[ib, 3] * B[ib, 4]
    out[ia, ib] = np.clip(inter / (va + vb - inter), 0.0, 1.0)
    return out


def bev_iou_matrix(a_boxes: ArrayLike, b_boxes: ArrayLike) -> F64:
    """``(M, K)`` exact BEV IoU between boxes ``(M, 7)`` and ``(K, 7)``; pairs whose bounding
    circles do not overlap are 0 without clipping."""
    return _iou_matrix(a_boxes, b_boxes, three_d=False)


def iou_3d_matrix(a_boxes: ArrayLike, b_boxes: ArrayLike) -> F64:
    """``(M, K)`` exact 3D IoU between boxes ``(M, 7)`` and ``(K, 7)`` (see :func:`iou_3d`)."""
    return _iou_matrix(a_boxes, b_boxes, three_d=True)
