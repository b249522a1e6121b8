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


def _object_points(box: Box3D, pts_world: ArrayLike, grow: float | tuple[float, float],
                   ground_clearance: float) -> F64:
    """Points of the box grown by ``grow`` metres (one value, or (along, across) the heading) on
    its side faces and the top, without the ground (the lowest ``ground_clearance`` metres of the
    box); in the box frame."""
    q = to_box_frame(box, pts_world)
    l, w, h = box.size
    gu, gv = (grow, grow) if isinstance(grow, (int, float)) else grow
    keep = (
        (np.abs(q[:, 0]) <= l / 2 + gu)
        & (np.abs(q[:, 1]) <= w / 2 + gv)
        & (q[:, 2] >= -h / 2 + ground_clearance)
        & (q[:, 2] <= h / 2 + min(gu, gv, 0.3))
    )
    return q[keep]


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
    ground_clearance: float = 0.15,
) -> tuple[float, float, float]:
    """One size (l, w, h) metres for ``track``, estimated from the frames where it is seen best.

    ``points_at(frame)`` gives that frame's world points ``(N, 3)``; ``origin_at(frame)`` the
    world position of the sensor that saw them (optional); ``frames`` the frames to consider
    (default: the keyframes and tracked boxes, the boxes a person or the tracker placed).

    In each frame the points of the box grown by ``grow`` times its size on each side (at least
    0.2 m; the lowest ``ground_clearance`` m cut off, runs of points more than ``max_gap`` m
    away from the box's own dropped as neighbours) are taken in the box frame; their spread
    between the ``percentiles`` gives the extents along and across the heading, and the height
    runs from the box's bottom (the ground) to the upper percentile. An extent is *complete* in
    a frame when the sensor saw the whole of it: the length when the sensor was beside the object
    (a side face in view), the width when it was in front or behind, the height when it was above
    the top. Per axis, the complete extents of the ``best`` frames with the most points give the
    size (the largest but one of three or more, so one frame with a stray point does not decide).
    An axis never seen complete (occluded sides, or no ``origin_at``) only grows: its points
    give a lower bound, and it never goes below the track's current size (the median over the
    frames) minus ``occluded_tolerance``. Without enough points (``min_points``) the current size
    is returned.
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
    complete: list[list[tuple[int, float]]] = [[], [], []]  # per axis: (points, extent)
    partial: list[list[tuple[int, float]]] = [[], [], []]
    for f, box in boxes:
        l, w, h = box.size
        q = _object_points(box, points_at(f), (max(0.2, grow * l), max(0.2, grow * w)), ground_clearance)
        if len(q) < min_points:
            continue
        u0, u1 = _connected_extent(q[:, 0], l / 2, max_gap, percentiles)
        v0, v1 = _connected_extent(q[:, 1], w / 2, max_gap, percentiles)
        top = float(np.percentile(q[:, 2], percentiles[1]))
        ext = (u1 - u0, v1 - v0, top + h / 2)
        seen = (False, False, False)
        if origin_at is not None:
            ou, ov, oz = to_box_frame(box, np.asarray(origin_at(f), dtype=np.float64).reshape(1, 3))[0]
            seen = (
                abs(ov) > w / 2 + 0.5 and abs(ou) < 3.0 * abs(ov),  # a side face in view
                abs(ou) > l / 2 + 0.5 and abs(ov) < 3.0 * abs(ou),  # the front or the rear in view
                False,  # the top: a LiDAR samples a roof sparsely, so the height is a lower bound
            )
        for axis in range(3):
            (complete if seen[axis] else partial)[axis].append((len(q), ext[axis]))
    size = current.copy()
    for axis in range(3):
        if len(complete[axis]) >= 2:  # seen whole at least twice: occlusion only shortens, so the largest
            size[axis] = max(e for _, e in sorted(complete[axis], reverse=True)[:best])
            continue
        group = complete[axis] + partial[axis]
        if group:  # a lower bound: the largest but one of the best frames (a stray point does not decide)
            top_k = sorted(e for _, e in sorted(group, reverse=True)[:best])
            value = top_k[-2] if len(top_k) >= 3 else top_k[-1]
            size[axis] = max(value, current[axis] - occluded_tolerance)
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
