"""One size for a whole track: a robust estimate from the frames where the object is seen best,
and the placement of a resized box that keeps its visible faces where they were.

Everything is in the ``world`` frame: boxes are world-frame :class:`~fusionlabel.box.Box3D`
(geometric centre, size (l, w, h) m, yaw about +z), points ``(N, 3)`` arrays ``pts_world`` in
metres. The box frame used here has u along the heading, v to the left, z up, origin at the
box centre.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.model import Track

F64 = NDArray[np.float64]
#: A function giving the world points (N, 3) of a frame.
PointsAt = Callable[[int], ArrayLike]
#: Where a resized box is anchored (see :func:`resize_box`).
ANCHORS = ("visible", "bottom", "center")


def to_box_frame(box: Box3D, pts_world: ArrayLike) -> F64:
    """World points ``(N, 3)`` in the box frame (u along the heading, v left, z up; metres)."""
    p = np.asarray(pts_world, dtype=np.float64).reshape(-1, 3)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    d = p - np.asarray(box.center)
    return np.column_stack((c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]))


def _grown(q: F64, box: Box3D, grow: float | tuple[float, float], ground_clearance: float) -> F64:
    """The box-frame points ``q`` inside the box grown by ``grow`` metres (one value, or (along,
    across) the heading) on its side faces and the top (at most 0.3 m), without the ground (the
    lowest ``ground_clearance`` metres of the box)."""
    l, w, h = box.size
    gu, gv = (grow, grow) if isinstance(grow, (int, float)) else grow
    keep = (
        (np.abs(q[:, 0]) <= l / 2 + gu)
        & (np.abs(q[:, 1]) <= w / 2 + gv)
        & (q[:, 2] >= -h / 2 + ground_clearance)
        & (q[:, 2] <= h / 2 + min(gu, gv, 0.3))
    )
    return q[keep]


def _object_points(box: Box3D, pts_world: ArrayLike, grow: float | tuple[float, float],
                   ground_clearance: float) -> F64:
    """:func:`_grown` of world points, in the box frame."""
    return _grown(to_box_frame(box, pts_world), box, grow, ground_clearance)


def _connected_extent(x: F64, half: float, max_gap: float, percentiles: tuple[float, float]) -> tuple[float, float]:
    """Robust (low, high) of the 1D coordinates ``x`` after dropping the runs separated by more
    than ``max_gap`` from the runs that overlap ``[-half, half]`` (a neighbour's points)."""
    xs = np.sort(x)
    cuts = np.flatnonzero(np.diff(xs) > max_gap) + 1
    runs = np.split(xs, cuts)
    kept = [r for r in runs if r[-1] >= -half and r[0] <= half] or [max(runs, key=len)]
    pts = np.concatenate(kept)
    lo, hi = np.percentile(pts, percentiles)
    return float(lo), float(hi)


def rays_through(origin: F64, q: F64, lo: ArrayLike, hi: ArrayLike) -> int:
    """Number of rays from ``origin`` (3,) to the points ``q`` (N, 3) that cross the axis-aligned
    region ``[lo, hi]`` (3,) and end beyond it (the region was seen empty along them); all in one
    frame (the box frame)."""
    d = q - origin
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (np.asarray(lo, dtype=np.float64) - origin) / d
        t2 = (np.asarray(hi, dtype=np.float64) - origin) / d
    t1 = np.where(np.isnan(t1), -np.inf, t1)
    t2 = np.where(np.isnan(t2), np.inf, t2)
    t_in = np.minimum(t1, t2).max(axis=1)
    t_out = np.maximum(t1, t2).min(axis=1)
    return int(np.count_nonzero((t_in <= t_out) & (t_out > 0.0) & (t_out < 1.0)))


def _unseen(o: F64, q: F64, axis: int, lo: tuple[float, float, float], hi: tuple[float, float, float],
            min_rays: int, min_thickness: float = 0.1) -> float:
    """Thickness along ``axis`` of the box part ``[lo, hi]`` (box frame) beyond the object's
    points, unless rays from ``o`` to the points ``q`` saw it empty (then 0)."""
    thick = hi[axis] - lo[axis]
    if thick <= min_thickness:
        return max(thick, 0.0)
    return 0.0 if rays_through(o, q, lo, hi) >= min_rays else thick


def estimate_track_size(
    track: Track,
    points_at: PointsAt,
    frames: Iterable[int] | None = None,
    *,
    origin_at: Callable[[int], ArrayLike] | None = None,
    times_ns: object = None,
    best: int = 5,
    min_points: int = 20,
    grow: float = 0.25,
    max_gap: float = 0.4,
    percentiles: tuple[float, float] = (1.0, 99.0),
    occluded_tolerance: float = 0.1,
    min_free_rays: int = 3,
    ground_clearance: float = 0.15,
) -> tuple[float, float, float]:
    """One size (l, w, h) metres for ``track``, estimated from the frames where it is seen best.

    ``points_at(frame)`` gives that frame's world points ``(N, 3)``; ``origin_at(frame)`` the
    world position of the sensor that saw them (optional: needed to shrink a box); ``frames`` the
    frames to consider (default: the keyframes and tracked boxes, the boxes a person or the
    tracker placed).

    In each frame the points of the box grown by ``grow`` times its size on each side (at least
    0.2 m; the lowest ``ground_clearance`` m cut off, runs of points more than ``max_gap`` m
    away from the box's own dropped as neighbours) are taken in the box frame; their spread
    between the ``percentiles`` along and across the heading is a lower bound of the object's
    length and width, the upper percentile above the box's bottom (the ground) one of its height.
    Per axis the lower bound is the largest of the ``best`` frames with the most points but one
    (one frame with a stray point does not decide).

    The part of the box beyond its points on either side is kept unless the sensor saw it empty:
    at least ``min_free_rays`` rays from ``origin_at`` cross it and end behind it (an occluded or
    unseen side keeps the labeler's size). Per axis this gives an upper bound per frame; the
    smallest but one is the size when it is above the lower bound. Without ``origin_at`` an axis
    never shrinks more than ``occluded_tolerance`` below the current size (the median over the
    frames), and the height never does (a LiDAR samples a roof sparsely). Without enough points
    (``min_points``) the current size is returned.
    """
    if best < 1 or min_points < 1:
        raise ModelError("best and min_points must be >= 1")
    if frames is None:
        frames = [f for f in {*track.keyframes, *track.tracked} if f in track.keyframes or not track.in_gap(f)]
    frames = sorted({int(f) for f in frames})
    boxes = [(f, b) for f, b in zip(frames, track.boxes_at(frames, times_ns), strict=True)  # type: ignore[arg-type]
             if b is not None]
    if not boxes:
        raise ModelError(f"track {track.track_id} has no box at the frames given")
    current = np.median(np.array([b.size for _, b in boxes]), axis=0)
    seen: list[tuple[int, tuple[float, float, float], tuple[float, float] | None]] = []  # points, lower, upper
    for f, box in boxes:
        l, w, h = box.size
        q_all = to_box_frame(box, points_at(f))
        q = _grown(q_all, box, (max(0.2, grow * l), max(0.2, grow * w)), ground_clearance)
        if len(q) < min_points:
            continue
        u0, u1 = _connected_extent(q[:, 0], l / 2, max_gap, percentiles)
        v0, v1 = _connected_extent(q[:, 1], w / 2, max_gap, percentiles)
        top = float(np.percentile(q[:, 2], percentiles[1]))
        lower = (u1 - u0, v1 - v0, top + h / 2)
        upper = None
        if origin_at is not None:
            o = to_box_frame(box, np.asarray(origin_at(f), dtype=np.float64).reshape(1, 3))[0]
            # the object's cross-section seen in its points (shrunk by a fifth), in the lower half
            # of the box (bumper to waist): a body fills it, while rays may pass over a bonnet,
            # between a walker's arms or beside a car in a box wider than it
            z0, z1 = -h / 2 + ground_clearance, 0.0
            du, dv = 0.2 * (u1 - u0) / 2, 0.2 * (v1 - v0) / 2
            a0, a1, b0, b1 = u0 + du, u1 - du, v0 + dv, v1 - dv
            upper = (
                lower[0] + _unseen(o, q_all, 0, (u1, b0, z0), (l / 2, b1, z1), min_free_rays)
                + _unseen(o, q_all, 0, (-l / 2, b0, z0), (u0, b1, z1), min_free_rays),
                lower[1] + _unseen(o, q_all, 1, (a0, v1, z0), (a1, w / 2, z1), min_free_rays)
                + _unseen(o, q_all, 1, (a0, -w / 2, z0), (a1, v0, z1), min_free_rays),
            )
        seen.append((len(q), lower, upper))
    if not seen:
        return tuple(float(v) for v in current)  # type: ignore[return-value]
    seen.sort(key=lambda item: -item[0])
    size = current.copy()
    for axis in range(3):
        lows = sorted(rec[1][axis] for rec in seen[:best])
        low = lows[-2] if len(lows) >= 3 else lows[-1]
        ups = sorted(rec[2][axis] for rec in seen if rec[2] is not None) if axis < 2 else []
        if ups:
            up = ups[1] if len(ups) >= 3 else ups[0]
            size[axis] = max(low, up)
        else:
            size[axis] = max(low, current[axis] - occluded_tolerance)
    return tuple(float(max(v, 0.05)) for v in size)  # type: ignore[return-value]


def face_support(box: Box3D, pts_world: ArrayLike, tolerance: float = 0.2,
                 ground_clearance: float = 0.15) -> tuple[int, int, int, int]:
    """Numbers of points within ``tolerance`` m of the box's rear (-u), front (+u), right (-v) and
    left (+v) faces (within the box's extent along the other axis, above the ground)."""
    q = _object_points(box, pts_world, tolerance, ground_clearance)
    hl, hw = box.size[0] / 2, box.size[1] / 2
    along = np.abs(q[:, 1]) <= hw + tolerance
    across = np.abs(q[:, 0]) <= hl + tolerance
    return (
        int(np.count_nonzero(along & (np.abs(q[:, 0] + hl) <= tolerance))),
        int(np.count_nonzero(along & (np.abs(q[:, 0] - hl) <= tolerance))),
        int(np.count_nonzero(across & (np.abs(q[:, 1] + hw) <= tolerance))),
        int(np.count_nonzero(across & (np.abs(q[:, 1] - hw) <= tolerance))),
    )


def resize_box(box: Box3D, size: tuple[float, float, float], anchor: str = "visible",
               pts_world: ArrayLike | None = None, min_support: int = 5) -> Box3D:
    """``box`` with ``size`` (l, w, h) metres, placed by ``anchor``:

    - ``"center"``: the centre stays;
    - ``"bottom"``: the bottom centre stays (the box keeps standing on the ground);
    - ``"visible"``: the bottom stays and, along the heading and across it, the face with more
      points of ``pts_world`` near it (at least ``min_support``; the face the sensor sees) stays
      where it was while the other face moves; without points this is ``"bottom"``.
    """
    if anchor not in ANCHORS:
        raise ModelError(f"resize anchor must be one of {ANCHORS}, got {anchor!r}")
    l, w, h = (float(v) for v in size)
    new = box.replace(size=(l, w, h))
    if anchor == "center":
        return new
    du = dv = 0.0
    if anchor == "visible" and pts_world is not None:
        rear, front, right, left = face_support(box, pts_world)
        if max(rear, front) >= min_support:  # keep the supported face: move the centre by half the change
            du = (l - box.size[0]) / 2 * (1.0 if rear >= front else -1.0)
        if max(right, left) >= min_support:
            dv = (w - box.size[1]) / 2 * (1.0 if right >= left else -1.0)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    x, y, z = box.center
    return new.replace(center=(x + c * du - s * dv, y + s * du + c * dv, z + (h - box.size[2]) / 2))
