"""Drawing 3D boxes into camera images: near-plane clipping, lens-aware sampling, image clipping.

All inputs are in the camera optical frame (x right, y down, z forward, metres); outputs are pixels
in the convention of :mod:`calib.camera` (pixel centres at integer coordinates, image rectangle
``camera.image_rect()``).

How an edge is drawn (:func:`project_box_edges`)
-----------------------------------------------
1. The 3D segment is clipped at the near plane ``z = near`` (so a box partly behind the camera
   keeps its visible part; nothing is projected from behind the camera).
2. It is mapped to the normalised image plane ``(x/z, y/z)``, where a 3D segment stays a straight
   segment, and clipped there to the valid field of view disk ``r < camera.max_radius`` and to the
   bounding box of the (undistorted) image, slightly enlarged.
3. For a distorted camera the remaining segment is sampled uniformly in the normalised plane, one
   sample every ``step_px`` pixels of undistorted length (default 4 px, at most ``max_samples``
   per edge), and every sample goes through the distortion, so the polyline bends like the lens.
   Without distortion the two end points suffice.
4. The pixel polyline is clipped to the image rectangle (Liang-Barsky per segment); every piece is
   returned with the index of its edge in :data:`BOX_EDGES`. Only finite points inside the image
   come out.

2D boxes (:func:`box_extent2d`, :func:`box_bbox2d`) use the outline of the whole box instead of
its edges: the box is clipped at the near plane as a solid, its convex hull is taken in the
normalised plane, clipped to the valid field of view, densified and distorted like an edge, and
finally clipped to the image rectangle. The ratio of the clipped to the unclipped outline area
gives a KITTI-style truncation estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.camera import DEFAULT_NEAR, CameraModel

F64 = NDArray[np.float64]

#: The 12 box edges as corner index pairs: bottom ring, top ring, verticals. Identical to
#: ``fusionlabel.box.BOX_EDGES`` (calib may not import fusionlabel; a test keeps them equal).
BOX_EDGES = np.array(
    [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]],
    dtype=np.int64,
)
#: Edges of the front face (x = +l/2 in the box frame): corners 0, 1, 4, 5.
FRONT_FACE_EDGES = (0, 4, 8, 9)

DEFAULT_STEP_PX = 4.0
DEFAULT_MAX_SAMPLES = 256
_DISK_SIDES = 256


def _check_corners(corners_cam: ArrayLike) -> F64:
    c = np.asarray(corners_cam, dtype=np.float64)
    if c.shape != (8, 3):
        raise ValueError(f"corners_cam must have shape (8, 3), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("corners_cam contains NaN or inf")
    return c


# ---- small geometry helpers ----------------------------------------------------------------------
def clip_segments_near(a: F64, b: F64, near: float) -> tuple[F64, F64, NDArray[np.bool_]]:
    """Clip 3D segments ``a[i]-b[i]`` (N, 3) to ``z >= near``; returns new ends and a keep mask."""
    a = a.copy()
    b = b.copy()
    za, zb = a[:, 2], b[:, 2]
    keep = (za >= near) | (zb >= near)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (near - za) / (zb - za)
    fix_a = keep & (za < near)
    fix_b = keep & (zb < near)
    a[fix_a] = a[fix_a] + (b[fix_a] - a[fix_a]) * t[fix_a, None]
    b[fix_b] = a[fix_b] + (b[fix_b] - a[fix_b]) * t[fix_b, None]
    # exact plane (rounding)
    a[fix_a, 2] = near
    b[fix_b, 2] = near
    return a, b, keep


def _liang_barsky(p0: F64, p1: F64, rect: tuple[float, float, float, float]) -> tuple[F64, F64]:
    """Parameter ranges [t0, t1] of segments p0->p1 (N, 2) inside ``rect``; t0 > t1 means outside."""
    x0, y0, x1, y1 = rect
    d = p1 - p0
    t0 = np.zeros(len(p0))
    t1 = np.ones(len(p0))
    for axis, lo, hi in ((0, x0, x1), (1, y0, y1)):
        dd = d[:, axis]
        pp = p0[:, axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = (lo - pp) / dd
            tb = (hi - pp) / dd
        tmin = np.minimum(ta, tb)
        tmax = np.maximum(ta, tb)
        par = dd == 0
        inside_par = (pp >= lo) & (pp <= hi)
        tmin = np.where(par, np.where(inside_par, -np.inf, np.inf), tmin)
        tmax = np.where(par, np.where(inside_par, np.inf, -np.inf), tmax)
        t0 = np.maximum(t0, tmin)
        t1 = np.minimum(t1, tmax)
    bad = ~np.isfinite(p0).all(axis=1) | ~np.isfinite(p1).all(axis=1)
    t0[bad] = 1.0
    t1[bad] = 0.0
    return t0, t1


def clip_polyline(poly: ArrayLike, rect: tuple[float, float, float, float]) -> list[F64]:
    """The pieces (K, 2), K >= 2, of one image polyline (M, 2) px that lie inside ``rect``
    ``(u_min, v_min, u_max, v_max)`` px."""
    uv = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    return [piece for _, piece in _clip_polylines(uv, np.zeros(len(uv), np.int64), rect)]


def _clip_polylines(
    uv: F64, group: NDArray[np.int64], rect: tuple[float, float, float, float]
) -> list[tuple[int, F64]]:
    """Clip polylines stored back to back (points ``uv`` (M, 2), polyline id ``group`` (M,),
    consecutive ids) to ``rect``; returns ``(id, (K, 2))`` pieces inside, K >= 2."""
    if len(uv) < 2:
        return []
    p0, p1 = uv[:-1], uv[1:]
    same = group[:-1] == group[1:]
    t0, t1 = _liang_barsky(p0, p1, rect)
    vis = (t0 <= t1) & same
    idx = np.flatnonzero(vis)
    if idx.size == 0:
        return []
    d = p1 - p0
    with np.errstate(invalid="ignore"):
        s = p0 + d * t0[:, None]
        e = p0 + d * t1[:, None]
    # a new piece starts at a visible segment that does not continue the previous one
    cont = np.zeros(idx.size, dtype=bool)
    cont[1:] = (idx[1:] == idx[:-1] + 1) & (t1[idx[:-1]] >= 1.0) & (t0[idx[1:]] <= 0.0)
    starts = np.flatnonzero(~cont)
    bounds = [*starts.tolist(), idx.size]
    pieces: list[tuple[int, F64]] = []
    for k in range(len(starts)):
        seg = idx[bounds[k] : bounds[k + 1]]
        pts = np.concatenate([s[seg[:1]], e[seg]], axis=0)
        if len(pts) > 2 or np.abs(pts[-1] - pts[0]).max() > 0:
            pieces.append((int(group[seg[0]]), pts))
    return pieces


def clip_polyline_to_rect(poly: ArrayLike, rect: tuple[float, float, float, float]) -> list[F64]:
    """Clip an (M, 2) polyline to an axis-aligned rectangle ``(x0, y0, x1, y1)``.

    Returns the pieces inside (each (K, 2), K >= 2). Non-finite points break the polyline."""
    poly = np.asarray(poly, dtype=np.float64)
    return [p for _, p in _clip_polylines(poly, np.zeros(len(poly), dtype=np.int64), rect)]


def _clip_segments_disk(p: F64, q: F64, radius: float) -> tuple[F64, F64]:
    """Parameter ranges [t0, t1] of 2D segments p->q (N, 2) inside the disk |x| < radius."""
    n = len(p)
    if not math.isfinite(radius):
        return np.zeros(n), np.ones(n)
    d = q - p
    a = np.einsum("ij,ij->i", d, d)
    b = 2.0 * np.einsum("ij,ij->i", p, d)
    c = np.einsum("ij,ij->i", p, p) - radius * radius
    disc = b * b - 4 * a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        sq = np.sqrt(np.maximum(disc, 0.0))
        t0 = np.maximum(0.0, (-b - sq) / (2 * a))
        t1 = np.minimum(1.0, (-b + sq) / (2 * a))
    degenerate = a == 0.0
    t0 = np.where(degenerate, np.where(c < 0, 0.0, 1.0), np.where(disc > 0, t0, 1.0))
    t1 = np.where(degenerate, np.where(c < 0, 1.0, 0.0), np.where(disc > 0, t1, 0.0))
    return t0, t1


def _normalized_bounds(camera: CameraModel) -> tuple[float, float, float, float]:
    """Bounding box of the image in the undistorted normalised plane (enlarged by 5 %), clipped to
    the valid FOV disk. Cached on the camera instance."""
    cache = camera.__dict__.get("_norm_bounds")
    if cache is not None:
        return cache
    u0, v0, u1, v1 = camera.image_rect()
    n = 65
    us = np.linspace(u0, u1, n)
    vs = np.linspace(v0, v1, n)
    border = np.concatenate(
        [
            np.stack([us, np.full(n, v0)], 1),
            np.stack([us, np.full(n, v1)], 1),
            np.stack([np.full(n, u0), vs], 1),
            np.stack([np.full(n, u1), vs], 1),
        ]
    )
    rays = camera.rays(border)
    ok = np.isfinite(rays).all(axis=1)
    R = camera.max_radius
    if ok.all():
        lo = rays[:, :2].min(axis=0)
        hi = rays[:, :2].max(axis=0)
    else:  # part of the border is beyond the valid FOV: the disk bounds the rest
        lo = np.array([-R, -R])
        hi = np.array([R, R])
    pad = 0.05 * (hi - lo) + 1e-9
    lo, hi = lo - pad, hi + pad
    if math.isfinite(R):
        lo = np.maximum(lo, -R)
        hi = np.minimum(hi, R)
    out = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    object.__setattr__(camera, "_norm_bounds", out)  # frozen dataclass: cache by hand
    return out


def _samples(length_norm: float, camera: CameraModel, step_px: float, max_samples: int) -> int:
    """Number of segments to sample an undistorted normalised segment with."""
    if not camera.is_distorted:
        return 1
    length_px = length_norm * max(camera.fx, camera.fy)
    return int(min(max(math.ceil(length_px / step_px), 1), max_samples))


# ---- edges -------------------------------------------------------------------------------------
def project_box_edges(
    corners_cam: ArrayLike,
    camera: CameraModel,
    near: float = DEFAULT_NEAR,
    step_px: float = DEFAULT_STEP_PX,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> list[tuple[int, F64]]:
    """The 12 edges of a box (corners (8, 3) in the camera frame, metres, order of ``BOX_EDGES``)
    as pixel polylines inside the image: a list of ``(edge_index, (M, 2) float64)``, M >= 2, in
    edge order; an edge may give several pieces or none. See the module docstring."""
    corners = _check_corners(corners_cam)
    return [(e, poly) for _, e, poly in project_boxes_edges(corners[None], camera, near, step_px, max_samples)]


def project_boxes_edges(
    corners_cam: ArrayLike,
    camera: CameraModel,
    near: float = DEFAULT_NEAR,
    step_px: float = DEFAULT_STEP_PX,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> list[tuple[int, int, F64]]:
    """:func:`project_box_edges` of many boxes (B, 8, 3) camera frame (m) in one vectorised pass:
    ``(box index, edge_index, (M, 2) float64 px)`` pieces, by box then edge order."""
    corners = np.asarray(corners_cam, dtype=np.float64).reshape(-1, 8, 3)
    if not np.isfinite(corners).all():
        raise ValueError("corners_cam contains NaN or inf")
    if len(corners) == 0:
        return []
    a0 = corners[:, BOX_EDGES[:, 0]].reshape(-1, 3)
    b0 = corners[:, BOX_EDGES[:, 1]].reshape(-1, 3)
    n_edges = len(BOX_EDGES)
    return [(*divmod(g, n_edges), piece) for g, piece in project_segments(a0, b0, camera, near, step_px, max_samples)]


def project_segments(
    a_cam: ArrayLike,
    b_cam: ArrayLike,
    camera: CameraModel,
    near: float = DEFAULT_NEAR,
    step_px: float = DEFAULT_STEP_PX,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> list[tuple[int, F64]]:
    """3D segments ``a_cam[i] -> b_cam[i]`` ((S, 3) each, camera frame, metres) as pixel polylines
    inside the image, drawn like a box edge (module docstring: near-plane clipping, valid field of
    view, distortion-aware sampling, image clipping): ``(segment index, (M, 2) float64 px)``
    pieces in segment order; a segment may give several pieces or none."""
    a0 = np.asarray(a_cam, dtype=np.float64).reshape(-1, 3)
    b0 = np.asarray(b_cam, dtype=np.float64).reshape(-1, 3)
    if a0.shape != b0.shape:
        raise ValueError(f"segment ends must have the same shape, got {a0.shape} and {b0.shape}")
    if not (np.isfinite(a0).all() and np.isfinite(b0).all()):
        raise ValueError("segments contain NaN or inf")
    if len(a0) == 0:
        return []
    a, b, keep = clip_segments_near(a0, b0, near)
    seg_ids = np.flatnonzero(keep)
    if seg_ids.size == 0:
        return []
    a, b = a[keep], b[keep]
    p = a[:, :2] / a[:, 2:3]
    q = b[:, :2] / b[:, 2:3]
    lb0, lb1 = _liang_barsky(p, q, _normalized_bounds(camera))
    dk0, dk1 = _clip_segments_disk(p, q, camera.max_radius * (1.0 - 1e-9))
    lo = np.maximum(lb0, dk0)
    hi = np.minimum(lb1, dk1)
    ok = lo <= hi
    if not ok.any():
        return []
    seg_ids, p, q, lo, hi = seg_ids[ok], p[ok], q[ok], lo[ok], hi[ok]
    p2 = p + (q - p) * lo[:, None]
    q2 = p + (q - p) * hi[:, None]
    if camera.is_distorted:
        length_px = np.hypot(*(q2 - p2).T) * max(camera.fx, camera.fy)
        n = np.clip(np.ceil(length_px / step_px), 1, max_samples).astype(np.int64)
    else:
        n = np.ones(len(p2), dtype=np.int64)
    counts = n + 1
    which = np.repeat(np.arange(len(p2)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    t = (np.arange(which.size) - first) / n[which]
    xy = p2[which] + (q2 - p2)[which] * t[:, None]
    uv = camera.project_normalized(xy)
    return [(int(seg_ids[g]), piece) for g, piece in _clip_polylines(uv, which, camera.image_rect())]


# ---- polygons ----------------------------------------------------------------------------------
def convex_hull(pts: ArrayLike) -> F64:
    """Convex hull (K, 2) of 2D points (N, 2), counter-clockwise, by the monotone chain."""
    pts = np.unique(np.round(np.asarray(pts, dtype=np.float64).reshape(-1, 2), 12), axis=0)
    if len(pts) <= 2:
        return pts

    def cross(o: F64, a: F64, b: F64) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    lower: list[F64] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[F64] = []
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def _clip_polygon_halfplane(poly: F64, n: F64, c: float) -> F64:
    """Sutherland-Hodgman step: keep the part of a polygon (K, 2) with ``n . x <= c``."""
    if len(poly) == 0:
        return poly
    prev = np.roll(poly, 1, axis=0)
    s_cur = poly @ n - c
    s_prev = prev @ n - c
    ins = s_cur <= 0
    prev_ins = s_prev <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = s_prev / (s_prev - s_cur)
        inter = prev + (poly - prev) * t[:, None]
    emit_i = ins != prev_ins
    stacked = np.stack([inter, poly], axis=1).reshape(-1, 2)
    mask = np.stack([emit_i, ins], axis=1).reshape(-1)
    return stacked[mask]


def clip_polygon_to_rect(poly: ArrayLike, rect: tuple[float, float, float, float]) -> F64:
    """Clip a simple polygon (K, 2) to an axis-aligned rectangle (Sutherland-Hodgman)."""
    poly = np.asarray(poly, dtype=np.float64)
    x0, y0, x1, y1 = rect
    for n, c in (((-1.0, 0.0), -x0), ((1.0, 0.0), x1), ((0.0, -1.0), -y0), ((0.0, 1.0), y1)):
        poly = _clip_polygon_halfplane(poly, np.array(n), c)
    return poly


def _clip_polygon_disk(poly: F64, radius: float) -> F64:
    """Clip a convex polygon to a regular polygon inscribed in the disk of ``radius``."""
    if not math.isfinite(radius) or len(poly) == 0:
        return poly
    c = radius * math.cos(math.pi / _DISK_SIDES)
    phi = 2 * math.pi * (np.arange(_DISK_SIDES) + 0.5) / _DISK_SIDES
    normals = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    # Clipping only moves vertices inside the half-planes already satisfied, so the half-planes
    # violated by the input are the only ones that can cut.
    cutting = np.flatnonzero(((poly @ normals.T) > c).any(axis=0))
    for k in cutting:
        poly = _clip_polygon_halfplane(poly, normals[k], c)
        if len(poly) == 0:
            break
    return poly


def _polygon_area(poly: F64) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _densify(poly: F64, camera: CameraModel, step_px: float, max_samples: int) -> F64:
    """Insert samples along a closed normalised polygon's edges (for distortion)."""
    if not camera.is_distorted or len(poly) < 2:
        return poly
    d = np.roll(poly, -1, axis=0) - poly
    length_px = np.hypot(d[:, 0], d[:, 1]) * max(camera.fx, camera.fy)
    n = np.clip(np.ceil(length_px / step_px), 1, max_samples).astype(np.int64)
    which = np.repeat(np.arange(len(poly)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    t = (np.arange(which.size) - first) / n[which]
    return poly[which] + d[which] * t[:, None]


def box_outline_normalized(corners_cam: ArrayLike, camera: CameraModel, near: float = DEFAULT_NEAR) -> F64:
    """Convex outline (K, 2) of the box's visible part (z >= near) in the normalised plane,
    clipped to the valid field of view; empty (0, 2) when nothing is in front."""
    corners = _check_corners(corners_cam)
    a, b, keep = clip_segments_near(corners[BOX_EDGES[:, 0]], corners[BOX_EDGES[:, 1]], near)
    pts3 = np.concatenate([a[keep], b[keep]])
    if len(pts3) == 0:
        return np.zeros((0, 2))
    hull = convex_hull(pts3[:, :2] / pts3[:, 2:3])
    return _clip_polygon_disk(hull, camera.max_radius * (1.0 - 1e-9))


@dataclass(frozen=True)
class BoxExtent2D:
    """2D extent of a projected box, pixels.

    ``unclipped``: (x1, y1, x2, y2) of the whole outline (near plane and FOV clipped, not image
    clipped); ``clipped``: the same after clipping to the image, None when nothing is in the image;
    ``truncation``: 1 - area(clipped outline) / area(unclipped outline), in [0, 1] (KITTI-style
    estimate of the share of the object outside the image); ``polygon``: the clipped outline (K, 2).
    """

    unclipped: tuple[float, float, float, float]
    clipped: tuple[float, float, float, float] | None
    truncation: float
    polygon: F64


def _bbox(poly: F64) -> tuple[float, float, float, float]:
    lo = poly.min(axis=0)
    hi = poly.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def box_extent2d(
    corners_cam: ArrayLike,
    camera: CameraModel,
    near: float = DEFAULT_NEAR,
    step_px: float = DEFAULT_STEP_PX,
    max_samples: int = DEFAULT_MAX_SAMPLES,
) -> BoxExtent2D | None:
    """Unclipped and image-clipped 2D extent of a box (corners (8, 3), camera frame, metres);
    None when no part of it is in front of the near plane inside the valid field of view."""
    outline = box_outline_normalized(corners_cam, camera, near)
    if len(outline) < 3:
        return None
    # Unclipped outline: coarse sampling is enough for the extent and the area ratio.
    full = camera.project_normalized(_densify(outline, camera, step_px * 8, min(max_samples, 64)))
    # Clipped outline: restrict to the image's normalised bounds first, then sample finely.
    bx0, by0, bx1, by1 = _normalized_bounds(camera)
    near_img = clip_polygon_to_rect(outline, (bx0, by0, bx1, by1))
    rect = camera.image_rect()
    clipped_poly = np.zeros((0, 2))
    if len(near_img) >= 3:
        px = camera.project_normalized(_densify(near_img, camera, step_px, max_samples))
        clipped_poly = clip_polygon_to_rect(px, rect)
    area_full = _polygon_area(full)
    area_clip = _polygon_area(clipped_poly) if len(clipped_poly) >= 3 else 0.0
    if len(clipped_poly) >= 3 and area_clip > 0:
        clipped: tuple[float, float, float, float] | None = _bbox(clipped_poly)
    else:
        clipped = None
    trunc = 1.0 - area_clip / area_full if area_full > 0 else (0.0 if clipped else 1.0)
    return BoxExtent2D(_bbox(full), clipped, float(min(max(trunc, 0.0), 1.0)), clipped_poly)


def box_bbox2d(
    corners_cam: ArrayLike,
    camera: CameraModel,
    near: float = DEFAULT_NEAR,
    step_px: float = DEFAULT_STEP_PX,
) -> tuple[float, float, float, float] | None:
    """2D box ``(x1, y1, x2, y2)`` px of the projected box clipped to the image, or None when no
    part of it is visible. Corners (8, 3) in the camera frame, metres."""
    ext = box_extent2d(corners_cam, camera, near, step_px)
    return None if ext is None else ext.clipped


def project_points(
    pts_cam: ArrayLike, camera: CameraModel, near: float = DEFAULT_NEAR
) -> tuple[F64, F64, NDArray[np.int64]]:
    """Project (N, 3) camera-frame points; keep those valid (in front, in FOV, in image).

    Returns ``uv`` (M, 2) px, ``depth`` (M,) m and ``index`` (M,) into the input."""
    uv, depth, valid = camera.project(pts_cam, near=near)
    idx = np.flatnonzero(valid)
    return uv[idx], depth[idx], idx
