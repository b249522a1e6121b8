"""Auto-track: a track with one or more keyframes followed through the sequence on the LiDAR points.

Frame: world. Boxes are world-frame :class:`~fusionlabel.box.Box3D` (size held from the nearest
keyframe); points are ``(N, 3)`` world-frame arrays in metres, given per frame by a callable
``points_at(frame)`` (:class:`SweepPoints` builds one from an opened sequence: each sweep moved
by ``T_world_from_sensor`` and its ground removed). Time: seconds from the frames' integer-ns
timestamps.

Each step (frame to frame, forwards or backwards):

1. **predict** the box with the motion model (:mod:`fusionlabel.motion_model`) fitted to the
   keyframes and the boxes tracked so far (weighted by confidence), around the current time;
2. **search** around the prediction for the placement of the box that best explains the frame's
   points (:func:`scan_match`: a robust distance of the points to the box's faces, minimised over
   (along, across, yaw) offsets by a coarse grid and a refinement; size and z held). The window is
   the class's top speed along the heading (both ways) while the motion is unknown (a single
   keyframe), then a fraction of it plus a slack; walkers' yaw is not fitted to their points (a
   body has no clear axis), it follows their motion when they move;
3. **gate**: a fit is accepted when enough points support it (``min_points`` within the box,
   ``min_support`` of the region's points near its faces) and it lies inside the window; its
   confidence in [0, 1] combines the point count, the fit residual and the agreement with the
   prediction;
4. otherwise the step **misses**: the predicted box is carried on (coasted) at a low confidence;
   a moving object that misses ``max_misses`` steps in a row is lost: the coasted boxes after its
   last fit are dropped and the frames after are left without a tracked box (occluded or gone).
   A still object (no motion seen) is held in place instead, at a low confidence.

**Hold still**: a track whose motion state says it stands (``TrackSeed.still``) gets its nearest
keyframe's box at every frame (confidence where its points support it); :func:`still_test`
decides from the points, frame by frame, whether an object stands still over the frames it is
seen, and where (``fusionlabel.follow`` holds a new track still on it).

Several keyframes: the frames between two keyframes are tracked from both ends and blended
(weighted by the distance to each end and the confidences), so the result passes through the
keyframes; before the first and after the last keyframe a single pass runs outwards.

:func:`review_list` gives the lowest-confidence tracked frames (the review queue).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from fusionlabel.box import Box3D
from fusionlabel.commands import CommandGroup
from fusionlabel.geometry import points_in_boxes
from fusionlabel.interpolation import FrameTimes, gap_between, in_gap
from fusionlabel.motion_model import (
    LIMITS,
    MotionLimits,
    MotionModel,
    class_kind,
    fit_motion,
    frame_seconds,
)
from fusionlabel.ontology import Ontology
from fusionlabel.propagation import _fit_cost, _signed_distance

F64 = NDArray[np.float64]
#: Radius (m) of the disc whose points' mean centre places a walker's box.
WALKER_RADIUS = 0.45
#: A walker's box centre lies this share of :func:`visible_offset` behind its points' centre (legs,
#: arms and head are narrower than the box: measured on the synthetic sequences, a scale measured
#: at the keyframe was worse).
WALKER_SCALE = 0.85
#: ``points_at(frame) -> (N, 3)`` world-frame points of that frame (ground removed or not), or None.
PointsAt = Callable[[int], "F64 | None"]
#: ``progress(done, total) -> bool``: called after each tracked frame; return False to cancel.
Progress = Callable[[int, int], bool | None]
#: ``origin_at(frame) -> (3,)`` the LiDAR's world position at that frame, or None.
OriginAt = Callable[[int], "F64 | None"]


class Cancelled(Exception):
    """Raised when the progress callback asks to stop."""


@dataclass(frozen=True)
class AutoTrackParams:
    """Knobs of auto-tracking (metres, radians, seconds).

    ``slack``: search half-width (m) beyond the motion model's prediction once the motion is
    known; ``speed_share``: plus this share of the class's top speed times the step; ``yaw_window``
    (rad): yaw search of vehicles and ridden classes (walkers' yaw is not fitted);
    ``tolerance``: the distance (m) within which a point counts as on a face; ``clearance``: points
    this high above the box's bottom and higher are the object's (the road surface is left out
    even when the ground was not removed); ``min_points``: fewest points in the box for a fit
    (``min_points_walker`` near a walker);
    ``min_support``: share of the points near the box that lie on its faces; ``max_misses``: a
    moving object missed this many steps in a row is lost; ``max_points``: points per fit
    (an even subsample beyond); ``prior``: pull towards the prediction (a share of the squared
    tolerance at the window's edge) that decides where the points leave the position free;
    ``smooth_s``: time scale (s) of the smoothing of the fitted path (0: none); ``method``:
    ``"scan"`` (:func:`scan_match`, the default) or ``"icp"`` (:func:`icp_match`: the object's
    points of the previous fitted frame registered onto the frame's points with open3d; measured
    worse, see docs/interpolation.md) for vehicles and ridden classes once the motion is known.
    """

    slack: float = 0.35
    speed_share: float = 0.25
    yaw_window: float = math.radians(8.0)
    tolerance: float = 0.15
    clearance: float = 0.3
    min_points: int = 10
    min_points_walker: int = 1
    min_support: float = 0.4
    max_misses: int = 10
    max_points: int = 500
    prior: float = 0.1
    smooth_s: float = 0.2
    method: str = "scan"
    keyframe_motion: bool = True


@dataclass(frozen=True)
class Match:
    """Outcome of :func:`scan_match`: ``ok`` (accepted), the fitted (or, when refused, the input)
    ``box``, ``n_points`` in the search region, ``n_inside`` in the fitted box, ``support`` (share
    of the region's points within the tolerance of the fitted faces), the mean fit ``cost``, the
    ``offset`` (along, across, yaw) from the input box and why it was refused."""

    ok: bool
    box: Box3D
    n_points: int
    n_inside: int
    support: float
    cost: float
    offset: tuple[float, float, float]
    reason: str = ""


def _crop(box: Box3D, pts: F64, grow_l: float, grow_w: float, clearance: float) -> tuple[F64, F64]:
    """Points near ``box`` in its own BEV frame: (u, v) arrays of those within the box grown by
    ``grow_l`` / ``grow_w`` and between ``clearance`` above its bottom and 0.2 m above its top."""
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    half_l, half_w, half_h = box.size[0] / 2, box.size[1] / 2, box.size[2] / 2
    r = math.hypot(half_l + grow_l, half_w + grow_w)
    near = (np.abs(pts[:, 0] - box.center[0]) <= r) & (np.abs(pts[:, 1] - box.center[1]) <= r)
    q = pts[near]
    dx, dy, dz = q[:, 0] - box.center[0], q[:, 1] - box.center[1], q[:, 2] - box.center[2]
    u, v = c * dx + s * dy, -s * dx + c * dy
    sel = (np.abs(u) <= half_l + grow_l) & (np.abs(v) <= half_w + grow_w)
    sel &= (dz >= -half_h + clearance) & (dz <= half_h + 0.2)
    return u[sel], v[sel]


def _without(pts: F64, box: Box3D, others: Sequence[Box3D], reach: float) -> F64:
    """``pts`` without those inside any of ``others`` (grown by 0.1 m) near ``box``."""
    r = math.hypot(box.size[0], box.size[1]) / 2 + reach
    near = [o for o in others
            if math.hypot(o.center[0] - box.center[0], o.center[1] - box.center[1]) <= r + math.hypot(*o.size[:2]) / 2]
    if not near:
        return pts
    sel = (np.abs(pts[:, 0] - box.center[0]) <= r + 3) & (np.abs(pts[:, 1] - box.center[1]) <= r + 3)
    q = pts[sel]
    keep = ~points_in_boxes(q, near, margin=0.1).any(axis=0)
    return q[keep]


def scan_match(
    box: Box3D,
    pts_world: F64,
    along: float,
    across: float,
    yaw_window: float,
    params: AutoTrackParams,
    exclude: Sequence[Box3D] = (),
    behind: float | None = None,
) -> Match:
    """Fit the BEV placement of ``box`` (size and z held) to world points ``(N, 3)`` within
    +-``along`` m along its heading (``-behind`` .. ``along`` when ``behind`` is given; a negative
    ``along`` with ``behind`` searches backwards), +-``across`` m across it and +-``yaw_window`` rad: minimises
    the robust distance of the points to the box's faces (as :func:`fusionlabel.propagation.
    refine_box`, points outside weigh more) plus a pull towards the input box; a coarse grid over
    the window, then the best cells refined. Refused when fewer than ``min_points`` points fall in
    the fitted box, when under ``min_support`` of the nearby points lie on its faces, or when the
    fit is at the edge of a window wider than the slack. Points inside ``exclude`` (other
    objects' boxes, grown by 0.1 m) are left out."""
    tol = params.tolerance
    if exclude:
        pts_world = _without(pts_world, box, exclude, along + 3 * tol)
    u, v = _crop(box, pts_world, along + 3 * tol, across + 3 * tol, params.clearance)
    n = len(u)
    half_l, half_w = box.size[0] / 2, box.size[1] / 2
    if n < params.min_points:
        return Match(False, box, n, 0, 0.0, math.inf, (0.0, 0.0, 0.0), f"too few points: {n}")
    if n > params.max_points:
        idx = np.linspace(0, n - 1, params.max_points).astype(np.intp)
        uf, vf = u[idx], v[idx]
    else:
        uf, vf = u, v
    lo_a, hi_a = (-along, along) if behind is None else (min(-behind, along), max(-behind, along))
    lim = np.array([max(abs(lo_a), abs(hi_a), 1e-3), max(across, 1e-3), max(yaw_window, 1e-6)])
    lo = np.array([lo_a if hi_a - lo_a > 1e-3 else -1e-3, -lim[1], -lim[2]])
    hi = np.array([hi_a if hi_a - lo_a > 1e-3 else 1e-3, lim[1], lim[2]])
    w_prior = params.prior * tol**2

    def costs(g: F64) -> F64:
        ca, sa = np.cos(g[:, 2])[:, None], np.sin(g[:, 2])[:, None]
        pu, pv = uf[None, :] - g[:, 0:1], vf[None, :] - g[:, 1:2]
        d = _signed_distance(ca * pu + sa * pv, -sa * pu + ca * pv, half_l, half_w)
        return _fit_cost(d, tol) + w_prior * (((g / lim) ** 2).sum(axis=1))

    step = max(0.5 * tol, 0.08)
    na = int(min(41, max(3, 2 * math.ceil(along / step) + 1)))
    nc = int(min(15, max(3, 2 * math.ceil(across / step) + 1)))
    ny = 5 if yaw_window > 0 else 1
    axes = [np.linspace(lo[0], hi[0], na), np.linspace(-lim[1], lim[1], nc),
            np.linspace(-lim[2], lim[2], ny) if ny > 1 else np.zeros(1)]
    grid = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
    coarse = costs(grid)
    spans = np.array([(hi[0] - lo[0]) / 2 / max(na - 1, 1), lim[1] / max(nc - 1, 1),
                      lim[2] / max(ny - 1, 1) if ny > 1 else 0.0])
    best, best_cost = np.zeros(3), math.inf
    for k in np.argsort(coarse)[:3]:
        cand, span = grid[k].copy(), spans.copy()
        cost_k = float(coarse[k])
        for _ in range(4):
            loc = [np.clip(cand[i] + np.linspace(-span[i], span[i], 3), lo[i], hi[i]) for i in range(3)]
            g = np.stack([a.ravel() for a in np.meshgrid(*loc, indexing="ij")], axis=1)
            cs = costs(g)
            j = int(np.argmin(cs))
            cand, cost_k, span = g[j], float(cs[j]), span / 2.0
        if cost_k < best_cost:
            best, best_cost = cand, cost_k
    bu, bv, bt = (float(x) for x in best)
    ca, sa = math.cos(bt), math.sin(bt)
    pu, pv = u - bu, v - bv
    lu, lv = ca * pu + sa * pv, -sa * pu + ca * pv
    d = _signed_distance(lu, lv, half_l, half_w)
    inside = int((d <= tol).sum())
    near = d <= 3 * tol
    on_face = int((np.abs(d[near]) <= tol).sum()) if box.size[0] > 1.5 else inside
    support = on_face / max(int(near.sum()), 1)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    fitted = Box3D((box.center[0] + c * bu - s * bv, box.center[1] + s * bu + c * bv, box.center[2]), box.size,
                   box.yaw + bt)
    off = (bu, bv, bt)
    if inside < params.min_points:
        return Match(False, box, n, inside, support, best_cost, off, f"too few points in the box: {inside}")
    if support < params.min_support:
        return Match(False, box, n, inside, support, best_cost, off, f"poor fit: {support:.2f} on the faces")
    edge = [(x <= lo[i] + 0.03 * (hi[i] - lo[i]) and -lo[i] > params.slack + 1e-6)
            or (x >= hi[i] - 0.03 * (hi[i] - lo[i]) and hi[i] > params.slack + 1e-6) for i, x in enumerate(best[:2])]
    if any(edge):
        return Match(False, box, n, inside, support, best_cost, off, "fit at the edge of the search")
    return Match(True, fitted, n, inside, support, best_cost, off)


def _centre_of(u: F64, v: F64, start: tuple[float, float], radius: float) -> tuple[float, float, int]:
    """Mean shift of BEV points (u, v) from ``start`` with a disc of ``radius`` m: (x, y, count)."""
    cx, cy, n = start[0], start[1], 0
    for _ in range(8):
        sel = (u - cx) ** 2 + (v - cy) ** 2 <= radius * radius
        n = int(sel.sum())
        if n == 0:
            break
        nx, ny = float(u[sel].mean()), float(v[sel].mean())
        done = math.hypot(nx - cx, ny - cy) < 1e-3
        cx, cy = nx, ny
        if done:
            break
    return cx, cy, n


def blob_match(
    box: Box3D,
    pts_world: F64,
    reach: float,
    offset: tuple[float, float],
    params: AutoTrackParams,
    exclude: Sequence[Box3D] = (),
) -> Match:
    """Place a walker's box on its points: the mean shift (disc of ``WALKER_RADIUS`` m) of the
    points near ``box`` (world frame, within ``reach`` m of it, the box's height band, without
    ``exclude``) seeded at the box, plus ``offset`` (x, y) m (the box centre relative to the
    points' centre, measured at the keyframe: the points lie on the side facing the sensor). A
    person's points have no clear axis: size and yaw are held. Refused with fewer than
    ``min_points`` points in the disc, or a centre beyond ``reach``."""
    if exclude:
        pts_world = _without(pts_world, box, exclude, reach + WALKER_RADIUS)
    u, v = _crop(Box3D(box.center, box.size, 0.0), pts_world, reach + WALKER_RADIUS, reach + WALKER_RADIUS,
                 params.clearance)
    n = len(u)
    seed = (-offset[0], -offset[1])  # where the points' centre should be, relative to the box
    cx, cy, k = _centre_of(u, v, seed, WALKER_RADIUS)
    du, dv = cx + offset[0], cy + offset[1]
    fitted = Box3D((box.center[0] + du, box.center[1] + dv, box.center[2]), box.size, box.yaw)
    spread = 0.0
    if k:
        sel = (u - cx) ** 2 + (v - cy) ** 2 <= WALKER_RADIUS**2
        spread = float(np.mean((u[sel] - cx) ** 2 + (v[sel] - cy) ** 2))
    along, across = math.cos(box.yaw) * du + math.sin(box.yaw) * dv, -math.sin(box.yaw) * du + math.cos(box.yaw) * dv
    m = Match(True, fitted, n, k, 1.0, spread, (along, across, 0.0))
    if k < params.min_points_walker:
        return Match(False, box, n, k, 0.0, spread, m.offset, f"too few points near the walker: {k}")
    if math.hypot(du, dv) > reach:
        return Match(False, box, n, k, 1.0, spread, m.offset, "walker centre beyond the search")
    return m


def _unit(box: Box3D, origin: F64 | Sequence[float]) -> F64:
    """BEV unit vector (2,) from the sensor ``origin`` to the box centre (zero when they meet)."""
    d = np.array([box.center[0] - origin[0], box.center[1] - origin[1]])
    n = float(np.hypot(*d))
    return d / n if n > 1e-9 else np.zeros(2)


def visible_offset(box: Box3D, origin: F64 | Sequence[float]) -> F64:
    """The box centre minus the expected centre of the points a sensor at ``origin`` (world) sees
    on ``box`` (world BEV x, y m, shape (2,)): the faces turned towards the sensor, each weighted by
    its width as seen from there (a spinning LiDAR samples evenly in azimuth) and sampled at its
    middle. Zero when the sensor is at the centre."""
    los = _unit(box, origin)
    if not los.any():
        return np.zeros(2)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    hl, hw = box.size[0] / 2, box.size[1] / 2
    acc, total = np.zeros(2), 0.0
    for normal, half, length in (((c, s), hl, box.size[1]), ((-c, -s), hl, box.size[1]),
                                 ((-s, c), hw, box.size[0]), ((s, -c), hw, box.size[0])):
        facing = -(normal[0] * los[0] + normal[1] * los[1])
        if facing > 0:
            acc += length * facing * half * np.asarray(normal)
            total += length * facing
    return -acc / total if total > 0 else np.zeros(2)


def walker_offset(box: Box3D, pts_world: F64 | None, params: AutoTrackParams) -> tuple[float, float]:
    """A walker's box centre minus the mean-shift centre of its points (world x, y m), (0, 0)
    without enough points."""
    if pts_world is None or not len(pts_world):
        return (0.0, 0.0)
    u, v = _crop(Box3D(box.center, box.size, 0.0), pts_world, WALKER_RADIUS, WALKER_RADIUS, params.clearance)
    cx, cy, k = _centre_of(u, v, (0.0, 0.0), WALKER_RADIUS)
    return (-cx, -cy) if k >= params.min_points_walker else (0.0, 0.0)


def box_points(box: Box3D, pts_world: F64 | None, params: AutoTrackParams) -> F64 | None:
    """The points (M, 3) of ``box`` (grown by the tolerance, above the clearance) in the box's own
    frame (x along the heading, z from its centre); None with fewer than ``min_points``."""
    if pts_world is None or not len(pts_world):
        return None
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    d = pts_world[:, :3] - np.asarray(box.center)
    u, v = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    hl, hw, hh = box.size[0] / 2 + params.tolerance, box.size[1] / 2 + params.tolerance, box.size[2] / 2
    sel = (np.abs(u) <= hl) & (np.abs(v) <= hw) & (d[:, 2] >= -hh + params.clearance) & (d[:, 2] <= hh + 0.1)
    if int(sel.sum()) < params.min_points:
        return None
    return np.column_stack([u[sel], v[sel], d[sel, 2]])


def icp_match(
    box: Box3D,
    template: F64,
    pts_world: F64,
    along: float,
    across: float,
    yaw_window: float,
    params: AutoTrackParams,
    exclude: Sequence[Box3D] = (),
) -> Match:
    """Register the object's ``template`` points (box frame, see :func:`box_points`) onto the world
    points near ``box`` with open3d's point-to-point ICP started at ``box``; the result is reduced
    to a BEV pose (x, y, yaw; z held). Refused when under half of the template finds a partner
    within 2 tolerances, or the pose leaves the window."""
    import open3d as o3d

    if exclude:
        pts_world = _without(pts_world, box, exclude, along + 3 * params.tolerance)
    r = math.hypot(box.size[0] / 2 + along, box.size[1] / 2 + across) + 0.5
    q = pts_world[(np.abs(pts_world[:, 0] - box.center[0]) <= r) & (np.abs(pts_world[:, 1] - box.center[1]) <= r)]
    bottom, top = box.center[2] - box.size[2] / 2, box.center[2] + box.size[2] / 2
    q = q[(q[:, 2] >= bottom + params.clearance) & (q[:, 2] <= top + 0.2)]
    if len(q) < params.min_points:
        return Match(False, box, len(q), 0, 0.0, math.inf, (0.0, 0.0, 0.0), f"too few points: {len(q)}")
    src, dst = o3d.geometry.PointCloud(), o3d.geometry.PointCloud()
    src.points = o3d.utility.Vector3dVector(template)
    dst.points = o3d.utility.Vector3dVector(q[:, :3])
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    T0 = np.array([[c, -s, 0, box.center[0]], [s, c, 0, box.center[1]], [0, 0, 1, box.center[2]], [0, 0, 0, 1]])
    reg = o3d.pipelines.registration.registration_icp(
        src, dst, 2 * params.tolerance, T0, o3d.pipelines.registration.TransformationEstimationPointToPoint(),
        o3d.pipelines.registration.ICPConvergenceCriteria(max_iteration=30))
    T = np.asarray(reg.transformation)
    yaw = math.atan2(T[1, 0], T[0, 0])
    dx, dy = T[0, 3] - box.center[0], T[1, 3] - box.center[1]
    off = (c * dx + s * dy, -s * dx + c * dy, math.remainder(yaw - box.yaw, 2 * math.pi))
    fitted = Box3D((float(T[0, 3]), float(T[1, 3]), box.center[2]), box.size, yaw)
    n_in = int(round(reg.fitness * len(template)))
    if reg.fitness < 0.5:
        return Match(False, box, len(q), n_in, reg.fitness, math.inf, off, f"poor registration: {reg.fitness:.2f}")
    if abs(off[0]) > along or abs(off[1]) > across or abs(off[2]) > max(yaw_window, 1e-3):
        return Match(False, box, len(q), n_in, reg.fitness, math.inf, off, "registration outside the search")
    return Match(True, fitted, len(q), n_in, float(reg.fitness), float(reg.inlier_rmse) ** 2, off)


#: Neighbouring sweeps (each side) whose points estimate a keyframe's motion, and the fewest points
#: a fit there needs (the consistency over several sweeps guards the sparse fits).
MOTION_NEIGHBOURS = 3
MOTION_MIN_POINTS = 5
#: The fits in the neighbouring sweeps agree with one velocity when each lies within this many
#: metres (plus ``MOTION_SPREAD`` of its displacement) of the line through the keyframe.
MOTION_RESIDUAL = 0.25
MOTION_SPREAD = 0.15
#: Displacement (m) over the neighbours that proves a vehicle (other classes: half) moves: a sparse
#: parked car's fits jitter by half a metre.
MOTION_TRAVEL = 1.0
#: A shift is seen only when it scores clearly above no shift (a parked car passed by the sensor is
#: sampled at other spots of its surfaces in every sweep).
STILL_SHARE = 0.8
#: Margin (m/s, at least; else a fifth of the sensor's speed) around the velocities the sensor's
#: own motion explains, refused when the shift rests on all of a keyframe's points.
EGO_MARGIN = 1.0


def _band(box: Box3D, pts: F64 | None, reach: float, params: AutoTrackParams,
          exclude: Sequence[Box3D], faces: bool = False) -> F64 | None:
    """World BEV points (M, 2) of ``pts`` within ``box`` grown by the tolerance (and by ``reach``
    m both ways along its heading), above its bottom's clearance, without those in ``exclude``;
    with ``faces``, only those within twice the tolerance of its side faces (a ring crossing a roof or
    a bonnet moves with the sensor, not with the object)."""
    if pts is None or not len(pts):
        return None
    if exclude:
        pts = _without(pts, box, exclude, reach + params.tolerance)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    d = pts[:, :3] - np.asarray(box.center)
    u, v = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    hl, hw, hh = box.size[0] / 2 + params.tolerance + reach, box.size[1] / 2 + params.tolerance, box.size[2] / 2
    sel = (np.abs(u) <= hl) & (np.abs(v) <= hw) & (d[:, 2] >= -hh + params.clearance) & (d[:, 2] <= hh + 0.1)
    if faces:
        sel &= np.abs(_signed_distance(u, v, box.size[0] / 2, box.size[1] / 2)) <= 2 * params.tolerance
    return pts[sel, :2] if int(sel.sum()) else None


def shift_along(template: F64, pts: F64, yaw: float, reach: float, tolerance: float) -> float | None:
    """The shift (m, within +-``reach``) along the heading ``yaw`` that lays the BEV points
    ``template`` (N, 2, world) on ``pts`` (M, 2): a grid search of a robust score (each template
    point scores ``1 - (d / 2 tolerance)^2`` by its nearest neighbour at distance ``d``), refined
    to a centimetre; 0 when no shift at all (standing still) scores ``STILL_SHARE`` of the best.
    None when the best shift is not distinct (shifts scoring within 10 % of the best spread over
    more than a metre: a side face seen along its length fits anywhere) or under half of the
    template finds a partner at it."""
    from scipy.spatial import cKDTree

    if len(template) < 3 or len(pts) < 3:
        return None
    tree = cKDTree(pts)
    tau = 2.0 * tolerance
    h = np.array([math.cos(yaw), math.sin(yaw)])
    tpl = template if len(template) <= 200 else template[np.linspace(0, len(template) - 1, 200).astype(np.intp)]

    def score(shifts: F64) -> F64:
        q = (tpl[None, :, :] + shifts[:, None, None] * h[None, None, :]).reshape(-1, 2)
        d, _ = tree.query(q, distance_upper_bound=tau)
        sc = np.where(np.isfinite(d), 1.0 - (np.minimum(d, tau) / tau) ** 2, 0.0)
        return sc.reshape(len(shifts), len(tpl)).sum(axis=1)

    grid = np.arange(-reach, reach + 1e-9, 0.05)
    sc = score(grid)
    best = int(np.argmax(sc))
    near = grid[sc >= 0.9 * sc[best]]
    if sc[best] <= 0 or float(near.max() - near.min()) > 1.0:
        return None
    if float(score(np.zeros(1))[0]) >= STILL_SHARE * float(sc[best]):
        return 0.0  # standing still explains the points nearly as well: no shift
    fine = grid[best] + np.arange(-0.05, 0.0501, 0.01)
    sf = score(fine)
    s_best = float(fine[int(np.argmax(sf))])
    d, _ = tree.query(tpl + s_best * h, distance_upper_bound=tau)
    if int(np.isfinite(d).sum()) < 0.5 * len(tpl):
        return None
    return s_best


def keyframe_motion(
    box: Box3D,
    frame: int,
    neighbours: Sequence[int],
    points_at: PointsAt,
    secs: Mapping[int, float],
    kind: str,
    params: AutoTrackParams,
    exclude: Callable[[int], Sequence[Box3D]] | None = None,
    origin_at: OriginAt | None = None,
) -> list[tuple[float, Box3D, float]]:
    """The motion of a keyframe's object (world ``box`` at ``frame``) seen in the neighbouring
    sweeps ``neighbours`` (frames; at most ``MOTION_NEIGHBOURS`` each side are used): the
    keyframe's points on the box's side faces (or, with fewer than ``MOTION_MIN_POINTS`` there
    and ``origin_at`` given, all of its points) are shifted along its heading onto each sweep's
    points (:func:`shift_along`, as far as the class's top speed reaches, either way). The object
    moves when at least two shifts (three when there are three or more sweeps) lie on one constant
    velocity through the keyframe (within ``MOTION_RESIDUAL`` m plus ``MOTION_SPREAD`` of the
    displacement), of at least the class's ``min_speed`` and a displacement of ``MOTION_TRAVEL`` m
    (half for ridden classes) over them. With all points, a velocity between zero and the
    sensor's own (``origin_at(frame)``, along the heading; plus a margin) is refused: a LiDAR ring
    crossing a roof or a sloped window moves with the sensor. ``kind``: the class kind
    (:func:`~fusionlabel.motion_model.class_kind`). Returns motion samples ``(t s, box, 0.5)``:
    the keyframe's box carried along that velocity to the neighbours' times (empty when it does
    not clearly move: a parked object gets no velocity)."""
    limits = LIMITS[kind]
    t0 = secs[frame]
    near = sorted((f for f in neighbours if f != frame and f in secs), key=lambda f: abs(f - frame))
    before = [f for f in near if f < frame][:MOTION_NEIGHBOURS]
    after = [f for f in near if f > frame][:MOTION_NEIGHBOURS]
    others = exclude if exclude is not None else (lambda f: ())
    template = _band(box, points_at(frame), 0.0, params, others(frame), faces=True)
    ego: tuple[float, float] | None = None  # range of velocities (m/s) the sensor's motion explains
    if template is None or len(template) < MOTION_MIN_POINTS:
        template = _band(box, points_at(frame), 0.0, params, others(frame))
        nb = (after or before)[:1]
        o0, o1 = (origin_at(frame), origin_at(nb[0])) if origin_at is not None and nb else (None, None)
        if template is None or len(template) < MOTION_MIN_POINTS or o0 is None or o1 is None:
            return []
        d = (np.asarray(o1) - np.asarray(o0))[:2] / (secs[nb[0]] - t0)
        ve = float(d[0] * math.cos(box.yaw) + d[1] * math.sin(box.yaw))
        margin = max(EGO_MARGIN, 0.2 * abs(ve))
        ego = (min(0.0, ve) - margin, max(0.0, ve) + margin)
    fits: list[tuple[float, float]] = []
    for f in [*after, *before]:
        dt = secs[f] - t0
        reach = params.slack + limits.max_speed * abs(dt)
        q = _band(box, points_at(f), reach, params, others(f))
        if q is None or dt == 0.0:
            continue
        shift = shift_along(template, q, box.yaw, reach, params.tolerance)
        if shift is not None:
            fits.append((dt, shift))
    need = 3 if len(after) + len(before) >= 3 else 2
    if len(fits) < need:
        return []
    t = np.array([x[0] for x in fits])
    a = np.array([x[1] for x in fits])
    v = float((t * a).sum() / (t * t).sum())
    ok = np.abs(a - v * t) <= MOTION_RESIDUAL + MOTION_SPREAD * np.abs(v * t)
    if int(ok.sum()) < need:
        return []
    t, a = t[ok], a[ok]
    v = float((t * a).sum() / (t * t).sum())
    travel = MOTION_TRAVEL if kind == "vehicle" else 0.5 * MOTION_TRAVEL
    if abs(v) < limits.min_speed or float(np.abs(v * t).max()) < travel or abs(v) > limits.max_speed:
        return []
    if float(np.abs(a - v * t).max()) > MOTION_RESIDUAL + MOTION_SPREAD * float(np.abs(v * t).max()):
        return []
    if ego is not None and ego[0] <= v <= ego[1]:
        return []
    cy, sy = math.cos(box.yaw), math.sin(box.yaw)
    return [(t0 + float(dt), Box3D((box.center[0] + v * dt * cy, box.center[1] + v * dt * sy, box.center[2]),
                                   box.size, box.yaw), 0.5) for dt in t]


#: "Hold still" (:func:`still_test`): each frame's still fit looks this far (m) around the
#: reference box (one-click's box may be off by a few decimetres).
STILL_WINDOW = 0.5
#: A walker's still fits (its points' centre) may drift by at most this (m) over the frames seen
#: (their linear trend times the span), and at most at half the class's ``min_speed``.
STILL_TRAVEL = 0.3
#: The held box explains a frame's points when it has at least this share of the face points
#: (:func:`face_score`) of the best of that frame's own still fit and the tracker's box there.
STILL_RATIO = 0.8
#: A frame tells whether the held box explains it when the best of its boxes has at least this
#: share of the held box's face points at the best-supported frames.
STILL_INFORMATIVE = 0.25
#: Share of the frames where the object was fitted with confidence that the held box must explain
#: (a car that drives off leaves the held box at its last frames).
STILL_EXPLAINED = 0.9
#: ... and no run of this many of them at either end goes unexplained (it drives off, or it came).
STILL_END_RUN = 2
#: ... and the median of its still fits at the first and at the last this many frames lies within
#: ``STILL_TRAVEL`` of the held box (one that starts walking late barely moves the overall trend).
STILL_END_FRAMES = 3
#: Fewest frames with a still fit, and the shortest span (s) they cover, for a decision (a walker at
#: 0.8 m/s moves 0.16 m in two frame steps: too short to tell from standing).
STILL_MIN_FRAMES = 5
STILL_MIN_SPAN_S = {"vehicle": 0.5, "ridden": 1.0, "walker": 1.0}
#: The best-supported still fits (most points) whose median places the held box.
STILL_POSE_FRAMES = 10
#: Tracked boxes of a held track without points to support them (occluded, out of range).
HELD_UNSEEN_CONFIDENCE = 0.2


@dataclass(frozen=True)
class StillTest:
    """Outcome of :func:`still_test`: ``still`` (hold the box still), the held ``box`` (one pose
    for every frame), each frame's ``confidence`` where its points support the held box,
    ``travel`` (m, a walker's fits' trend over the frames seen), ``explained`` (share of the frames
    fitted with confidence that a still fit explains), the ``frames`` with a still fit, and
    ``reason`` when not still."""

    still: bool
    box: Box3D
    confidence: dict[int, float] = field(default_factory=dict)
    travel: float = math.inf
    explained: float = 0.0
    frames: tuple[int, ...] = ()
    reason: str = ""


def face_score(box: Box3D, pts: F64 | None, params: AutoTrackParams, exclude: Sequence[Box3D] = ()) -> int:
    """How many of the points ``(N, 3)`` near ``box`` (above its bottom's clearance, without those
    in ``exclude``) lie within the tolerance of its faces (a walker's: inside it, grown by the
    tolerance): how well the box, as it stands, explains them."""
    if pts is None or not len(pts):
        return 0
    tol = params.tolerance
    if exclude:
        pts = _without(pts, box, exclude, 3 * tol)
    u, v = _crop(box, pts, 3 * tol, 3 * tol, params.clearance)
    d = _signed_distance(u, v, box.size[0] / 2, box.size[1] / 2)
    if box.size[0] <= 1.5:  # a person or a small object: its points fill it
        return int((d <= tol).sum())
    return int((np.abs(d) <= tol).sum())


def _still_fit(box: Box3D, pts: F64 | None, kind: str, window: float, params: AutoTrackParams,
               exclude: Sequence[Box3D], origin: F64 | None) -> Match | None:
    """``box`` fitted to one frame's points without motion: a walker's on its points' centre
    (:func:`blob_match`, behind its visible side when the sensor's position ``origin`` is known),
    else a scan match within +-``window`` m and 2 degrees."""
    if pts is None or not len(pts):
        return None
    if kind == "walker":
        off = (0.0, 0.0) if origin is None else tuple(WALKER_SCALE * visible_offset(box, origin))
        return blob_match(box, pts, window, off, params, exclude)  # type: ignore[arg-type]
    return scan_match(box, pts, window, window, math.radians(2.0), params, exclude)


def still_test(
    box: Box3D,
    frames: Iterable[int],
    required: Iterable[int],
    points_at: PointsAt,
    secs: Mapping[int, float],
    kind: str,
    params: AutoTrackParams | None = None,
    exclude: Callable[[int], Sequence[Box3D]] | None = None,
    origin_at: OriginAt | None = None,
    tracked: Mapping[int, Box3D] | None = None,
) -> StillTest:
    """Whether an object stands still over ``frames`` (the frames it is seen: its keyframes and
    fitted frames), from its points, not from a tracker's boxes (a tracker's per-frame
    registration may wander off a parked car along a face): ``box`` (world, e.g. the keyframe's)
    is fitted to each frame's points on its own (:func:`_still_fit`, at most ``STILL_WINDOW`` m
    away, no motion); the held box is the median of the ``STILL_POSE_FRAMES`` best-supported
    fits (position and yaw; size and height of ``box``). The object stands still when there are
    ``STILL_MIN_FRAMES`` fits over at least ``STILL_MIN_SPAN_S`` of the class kind and the held
    box, as it stands, explains the points of ``required`` (the frames where a tracker fitted it
    with confidence) nearly as well as that frame's own fit or ``tracked`` box (the tracker's)
    does (:func:`face_score`: at least ``STILL_RATIO`` of the best), at ``STILL_EXPLAINED`` of
    them and at none of ``STILL_END_RUN`` in a row at either end (where it drives off or came,
    its points leave the held box); a frame whose best box has under ``STILL_INFORMATIVE`` of
    the held box's face points at its best-supported frames tells nothing (an occluded parked
    car's tracker holds on to a few stray points). A walker's fits are its points' centre: they also must show no
    motion: their linear trend (weighted by points) moves less than ``STILL_TRAVEL`` m over the
    span, slower than half the class's ``min_speed``, and the fits at the first and at the last
    ``STILL_END_FRAMES`` frames lie within ``STILL_TRAVEL`` of the held box. ``secs``: frame ->
    seconds; ``exclude(frame)``: other objects' boxes there (their points are left out);
    ``origin_at(frame)``: the sensor's world position (walkers)."""
    prm = params or AutoTrackParams()
    limits = LIMITS.get(kind, LIMITS["vehicle"])
    others = exclude if exclude is not None else (lambda f: ())
    fr = sorted({int(f) for f in frames if int(f) in secs})
    fits: dict[int, Match] = {}
    for f in fr:
        o = origin_at(f) if origin_at is not None else None
        m = _still_fit(box, points_at(f), kind, STILL_WINDOW, prm, others(f),
                       None if o is None else np.asarray(o, dtype=np.float64))
        if m is not None and m.ok:
            fits[f] = m
    out = StillTest(False, box, frames=tuple(sorted(fits)))
    if len(fits) < STILL_MIN_FRAMES:
        return replace(out, reason=f"seen in {len(fits)} frames")
    t = np.array([secs[f] for f in fits])
    span = float(t.max() - t.min())
    if span < STILL_MIN_SPAN_S.get(kind, 0.5):
        return replace(out, reason=f"seen over {span:.2f} s")
    best = sorted(fits, key=lambda f: -fits[f].n_inside)[:STILL_POSE_FRAMES]
    x, y = (float(np.median([fits[f].box.center[i] for f in best])) for i in (0, 1))
    dyaw = float(np.median([math.remainder(fits[f].box.yaw - box.yaw, 2 * math.pi) for f in best]))
    held = Box3D((x, y, box.center[2]), box.size, box.yaw + dyaw)
    conf = {f: _confidence(m, 0.0, 1.0, prm) for f, m in fits.items()}
    out = replace(out, box=held, confidence=conf)
    need = sorted({int(f) for f in required if int(f) in secs} | set(best))
    scores: dict[int, tuple[int, int]] = {}  # frame -> (held box's face points, best of the frame's boxes)
    for f in need:
        pts = points_at(f)
        mine = face_score(held, pts, prm, others(f))
        alt = [b for b in ((fits[f].box if f in fits else None), (tracked or {}).get(f)) if b is not None]
        scores[f] = (mine, max([mine, *(face_score(b, pts, prm, others(f)) for b in alt)]))
    # a frame tells only when its best box has a share of the points the held box has where the
    # object is seen best (an occluded object's tracker may hold on to a few stray points)
    ref = float(np.median([scores[f][0] for f in best]))
    ok = [mine >= STILL_RATIO * top for f, (mine, top) in scores.items() if top >= STILL_INFORMATIVE * ref]
    explained = float(np.mean(ok)) if ok else 1.0
    out = replace(out, explained=explained)
    if explained < STILL_EXPLAINED:
        return replace(out, reason=f"the held box explains {explained:.0%} of the frames")
    lead = next((i for i, v in enumerate(ok) if v), len(ok))
    trail = next((i for i, v in enumerate(reversed(ok)) if v), len(ok))
    if max(lead, trail) >= STILL_END_RUN:
        return replace(out, reason=f"its points leave the held box at {max(lead, trail)} frames at an end")
    if kind == "walker":
        xy = np.array([m.box.center[:2] for m in fits.values()])
        w = np.array([max(m.n_inside, 1) for m in fits.values()], dtype=np.float64)
        tc = t - float(np.average(t, weights=w))
        dxy = xy - np.average(xy, axis=0, weights=w)
        v = (w[:, None] * tc[:, None] * dxy).sum(axis=0) / float((w * tc * tc).sum())
        speed = float(np.hypot(*v))
        out = replace(out, travel=speed * span)
        if speed * span > STILL_TRAVEL or speed > 0.5 * limits.min_speed:
            return replace(out, reason=f"its points move {speed * span:.2f} m ({speed:.2f} m/s)")
        order = sorted(fits)
        for end in (order[:STILL_END_FRAMES], order[-STILL_END_FRAMES:]):  # it starts or stops walking
            mx, my = (float(np.median([fits[f].box.center[i] for f in end])) for i in (0, 1))
            off = math.hypot(mx - x, my - y)
            if off > STILL_TRAVEL:
                return replace(out, reason=f"its points at frames {end[0]}-{end[-1]} lie {off:.2f} m off")
    return replace(out, still=True)


def held_confidence(
    box: Box3D,
    frames: Iterable[int],
    points_at: PointsAt,
    kind: str,
    params: AutoTrackParams | None = None,
    exclude: Callable[[int], Sequence[Box3D]] | None = None,
    origin_at: OriginAt | None = None,
) -> dict[int, float]:
    """A held box's confidence at each of ``frames`` where its points support it (a still fit
    within a tolerance of it accepted; see :func:`_still_fit`); frames without are left out."""
    prm = params or AutoTrackParams()
    out: dict[int, float] = {}
    for f in frames:
        o = origin_at(f) if origin_at is not None else None
        m = _still_fit(box, points_at(f), kind, prm.tolerance, prm, exclude(f) if exclude is not None else (),
                       None if o is None else np.asarray(o, dtype=np.float64))
        if m is not None and m.ok:
            out[int(f)] = _confidence(m, 0.0, 1.0, prm)
    return out


@dataclass
class AutoTrackResult:
    """Boxes tracked for one track: ``boxes`` / ``confidence`` (frame -> world box, [0, 1]) over
    the tracked frames (keyframes excluded), ``lost`` frames of the range left without a box
    (object occluded or gone), ``fitted`` frames whose box was fitted to points (the others were
    carried by the motion model)."""

    track_id: int
    boxes: dict[int, Box3D] = field(default_factory=dict)
    confidence: dict[int, float] = field(default_factory=dict)
    lost: list[int] = field(default_factory=list)
    fitted: set[int] = field(default_factory=set)


@dataclass
class _Step:
    box: Box3D
    conf: float
    fitted: bool


def _confidence(m: Match, dist: float, window: float, params: AutoTrackParams) -> float:
    """Confidence of an accepted fit: more points, a lower residual and a fit near the prediction
    score higher."""
    pts = 1.0 - math.exp(-m.n_inside / 15.0)
    resid = math.exp(-m.cost / (params.tolerance**2))
    near = math.exp(-((dist / max(window, 1e-3)) ** 2))
    return float(np.clip(0.15 + 0.85 * pts * (0.5 + 0.5 * resid) * (0.6 + 0.4 * near) * m.support ** 0.5, 0.0, 1.0))


def _motion_yaw(model: MotionModel, box: Box3D) -> float:
    """The heading a moving walker faces: its direction of motion, on the side of its current
    heading's half-plane when it walks backwards is implausible (walkers face their motion)."""
    v = model.velocity_for(box)
    return math.atan2(v[1], v[0]) if model.speed >= 0 else math.atan2(-v[1], -v[0])


def _follow(
    start_frame: int,
    start_box: Box3D,
    frames: Sequence[int],
    points_at: PointsAt,
    secs: Mapping[int, float],
    samples: list[tuple[float, Box3D, float]],
    limits: MotionLimits,
    kind: str,
    params: AutoTrackParams,
    tick: Callable[[], None],
    exclude: Callable[[int], Sequence[Box3D]] | None = None,
    origin_at: OriginAt | None = None,
    seen_moving: bool = False,
) -> dict[int, _Step]:
    """Track from ``start_box`` at ``start_frame`` through ``frames`` (in order of travel); the
    samples (keyframes, as ``(t, box, weight)``) grow with the accepted fits. ``seen_moving``: the
    samples hold a motion seen around the keyframe (:func:`keyframe_motion`)."""
    out: dict[int, _Step] = {}
    own = list(samples)
    prev_f, prev_box = start_frame, start_box
    misses, moved = 0, False
    # a motion seen in the sweeps around the keyframe (:func:`keyframe_motion`) counts as moving
    # from the start, and sparser fits along it are trusted (they lie where the motion says)
    sparse = params
    if seen_moving and kind != "walker":
        moved = True
        sparse = replace(params, min_points=min(params.min_points, MOTION_MIN_POINTS))
    travel = 1.0 if kind == "vehicle" else 0.5  # displacement (m) that proves the object moves
    anchor = start_box
    offset = walker_offset(start_box, points_at(start_frame), params) if kind == "walker" else (0.0, 0.0)
    # a walker's points lie on the faces turned towards the sensor: with the sensor's position
    # known, the box centre lies behind their centre as those faces say (:func:`visible_offset`,
    # scaled by ``WALKER_SCALE``), else by the offset measured at the keyframe
    o0 = origin_at(start_frame) if origin_at is not None and kind == "walker" else None
    template = box_points(start_box, points_at(start_frame), params) if params.method == "icp" else None
    for f in frames:
        tick()
        t_prev, t = secs[prev_f], secs[f]
        dt = t - t_prev
        model = fit_motion(own, t_prev, limits, ref_yaw=prev_box.yaw)
        # a still object is looked for where it was put (its fits do not walk it away), else carried
        pred = model.predict(prev_box, dt) if model.moving or moved else anchor
        if kind == "walker" and moved and model.moving:  # a walker faces where it goes
            pred = Box3D(pred.center, pred.size, _motion_yaw(model, pred))
        known = model.samples >= 2
        # how far it may have got since its last fit (it widens over missed frames only while the
        # object is known to move: a sparse parked car must not reach out to its neighbours)
        reach = limits.max_speed * abs(dt) * (misses + 1 if model.moving else 1)
        if known:  # the speed may change by a share of the top speed (less while it stands still)
            share = params.speed_share if model.moving else 0.05
            along = params.slack + share * reach
            across = params.slack + (0.5 * share * reach if kind == "walker" else 0.0)
        else:  # the speed is unknown: along the heading up to three quarters of the top speed
            along = params.slack + 0.75 * reach
            across = params.slack + (reach if kind == "walker" else 0.0)
        # wheeled objects go forwards (reversing slowly): before a motion is known, the search
        # reaches the top speed ahead in the direction of travel in time, a quarter of it behind
        behind = None if known or kind == "walker" else params.slack + 0.25 * reach
        # the yaw turns no faster than the speed allows (a parked car does not rotate)
        speed = abs(model.speed) if known else limits.max_speed
        yaw_w = 0.0 if kind == "walker" else min(
            params.yaw_window, limits.turn_rate_limit(speed) * abs(dt) * (misses + 1) + math.radians(1.0))
        pts = points_at(f)
        others = exclude(f) if exclude is not None else ()
        m = None
        if pts is not None and len(pts) and kind == "walker":
            o = origin_at(f) if o0 is not None and origin_at is not None else None
            off = offset if o is None else tuple(WALKER_SCALE * visible_offset(pred, o))
            m = blob_match(pred, pts, max(along, across), off, params, others)
        elif pts is not None and len(pts):
            if not known:  # standing still explains the points as well? then it stands still
                m = scan_match(pred, pts, params.slack, params.slack, min(yaw_w, math.radians(2.0)), params, others)
                if not m.ok or max(abs(m.offset[0]), abs(m.offset[1])) > 0.8 * params.slack:
                    m = None
            if m is None and params.method == "icp" and known and template is not None:
                m = icp_match(pred, template, pts, along, across, yaw_w, params, others)
            if m is None:
                fwd = (along, behind) if dt >= 0 or behind is None else (-along, -behind)
                m = scan_match(pred, pts, fwd[0], across, yaw_w, sparse if model.moving else params, others,
                               behind=None if behind is None else fwd[1])
        if m is not None and m.ok:
            box = m.box
            if kind == "walker":
                box = Box3D(box.center, box.size, pred.yaw)
            dist = math.hypot(m.offset[0], m.offset[1])
            conf = _confidence(m, dist, max(along, across), params)
            out[f] = _Step(box, conf, True)
            own.append((t, box, conf))
            if params.method == "icp" and kind != "walker":
                template = box_points(box, pts, params)
            misses = 0
            prev_f, prev_box = f, box
            moved = moved or (model.moving and math.hypot(box.center[0] - start_box.center[0],
                                                          box.center[1] - start_box.center[1]) >= travel)
            continue
        misses += 1
        if moved and misses > params.max_misses:
            for g in list(out)[-(misses - 1):] if misses > 1 else []:
                if not out[g].fitted:
                    del out[g]
            break
        if not moved:  # nothing shows that it moves: it stays where it was last seen
            pred = prev_box
        out[f] = _Step(pred, 0.1 if moved else 0.2, False)
        prev_f, prev_box = f, pred
    _smooth(out, start_frame, start_box, secs, kind != "walker", params.smooth_s)
    return out


def _smooth(steps: dict[int, _Step], start_frame: int, start_box: Box3D, secs: Mapping[int, float],
            with_yaw: bool, sigma: float) -> None:
    """Replace each fitted box's xy (and yaw when ``with_yaw``) by a local weighted line through
    the fitted boxes around it in time (Gaussian weights of ``sigma`` s times their confidences;
    the keyframe weighs 10), in place: one frame's registration noise is averaged out."""
    fit = [f for f, st in steps.items() if st.fitted]
    if sigma <= 0 or len(fit) < 3:
        return
    frames = [start_frame, *fit]
    t = np.array([secs[f] for f in frames])
    conf = np.array([10.0, *(steps[f].conf for f in fit)])
    boxes = [start_box, *(steps[f].box for f in fit)]
    xy = np.array([b.center[:2] for b in boxes])
    yaw = [boxes[0].yaw]
    for b in boxes[1:]:
        yaw.append(yaw[-1] + math.remainder(b.yaw - yaw[-1], 2 * math.pi))
    ya = np.array(yaw)
    out: dict[int, Box3D] = {}
    for i, f in enumerate(fit, start=1):
        w = conf * np.exp(-0.5 * ((t - t[i]) / sigma) ** 2)
        A = np.stack([np.ones_like(t), t - t[i]], axis=1) * np.sqrt(w)[:, None]
        sol, *_ = np.linalg.lstsq(A, np.column_stack([xy, ya]) * np.sqrt(w)[:, None], rcond=None)
        b = steps[f].box
        yaw_f = float(sol[0, 2]) if with_yaw else b.yaw
        out[f] = Box3D((float(sol[0, 0]), float(sol[0, 1]), b.center[2]), b.size, yaw_f)
    for f, b in out.items():
        steps[f] = _Step(b, steps[f].conf, True)


def _blend(a: Box3D, b: Box3D, wb: float) -> Box3D:
    dyaw = math.remainder(b.yaw - a.yaw, 2 * math.pi)
    return Box3D(tuple(x + wb * (y - x) for x, y in zip(a.center, b.center, strict=True)), a.size, a.yaw + wb * dyaw)


def auto_track(
    track_id: int,
    label: str,
    keyframes: Mapping[int, Box3D],
    points_at: PointsAt,
    frames: Iterable[int],
    times_ns: FrameTimes | None = None,
    params: AutoTrackParams | None = None,
    *,
    gaps: Sequence[tuple[int, int]] = (),
    ontology: Ontology | None = None,
    progress: Callable[[], None] | None = None,
    exclude: Callable[[int], Sequence[Box3D]] | None = None,
    origin_at: OriginAt | None = None,
    still: bool = False,
) -> AutoTrackResult:
    """Follow a track's object through ``frames`` (ascending, contiguous or not) from its
    ``keyframes`` (frame -> world box; at least one), on the world points ``points_at(frame)``.
    ``times_ns``: frame timestamps (integer ns; frames 0.1 s apart when None); ``gaps``: the
    track's gaps (frames in them are not tracked, and tracking does not cross them); ``label``
    picks the motion limits (``ontology``, default the shipped one). ``progress()`` is called once
    per frame step (raise :class:`Cancelled` in it to stop). ``exclude(frame)``: boxes of other
    objects there, whose points the fits leave out; ``origin_at(frame)``: the sensor's world
    position there (places walkers behind their visible side). ``still``: the track holds still
    (its motion state says it stands): every frame gets its nearest keyframe's box, no fit moves
    it (the confidence says where its points support it). See the module doc."""
    prm = params or AutoTrackParams()
    if not keyframes:
        raise ValueError(f"track {track_id}: auto-tracking needs at least one keyframe")
    onto = ontology or Ontology.default()
    kind = class_kind(onto.get(label))
    limits = LIMITS[kind]
    fr = sorted({int(f) for f in frames})
    ks = sorted(int(k) for k in keyframes)
    secs = frame_seconds(sorted(set(fr) | set(ks)), times_ns, ks[0])
    samples_all = [(secs[k], keyframes[k], 1.0) for k in ks]
    tick = progress or (lambda: None)
    res = AutoTrackResult(track_id)
    if kind == "static" or still:  # cones, barriers, a parked car: they stay where they were put
        for f in fr:
            if f in keyframes or in_gap(gaps, f):
                continue
            k = min(ks, key=lambda k: abs(k - f))
            if not gap_between(gaps, min(k, f), max(k, f)):
                res.boxes[f], res.confidence[f] = keyframes[k], 0.5
        if still and kind != "static":
            for k in ks:
                mine = [f for f, b in res.boxes.items() if b is keyframes[k]]
                conf = held_confidence(keyframes[k], mine, points_at, kind, prm, exclude, origin_at)
                for f in mine:
                    tick()
                    res.confidence[f] = conf.get(f, HELD_UNSEEN_CONFIDENCE)
                res.fitted.update(conf)
        return res

    def linked(a: int, b: int) -> bool:
        return not gap_between(gaps, min(a, b) + 1, max(a, b) - 1)

    # a lone keyframe says nothing about the motion; the sweeps around it do
    seen: dict[int, list[tuple[float, Box3D, float]]] = {}
    if prm.keyframe_motion and kind == "vehicle":  # measured: ridden classes lost 0.01-0.03
        for k in ks:
            if any(kk != k and abs(kk - k) <= MOTION_NEIGHBOURS for kk in ks):
                continue
            nb = [f for f in fr if f not in keyframes and 0 < abs(f - k) <= MOTION_NEIGHBOURS
                  and not in_gap(gaps, f) and linked(f, k)]
            seen[k] = keyframe_motion(keyframes[k], k, nb, points_at, secs, kind, prm, exclude, origin_at)

    def samples_for(k: int) -> list[tuple[float, Box3D, float]]:
        return [s for kk, s in zip(ks, samples_all, strict=True) if linked(kk, k)] + seen.get(k, [])

    todo = [f for f in fr if f not in keyframes and not in_gap(gaps, f)]
    results: dict[int, list[tuple[_Step, float]]] = {}

    def run(k: int, seq: list[int], weight: Callable[[int], float]) -> None:
        steps = _follow(k, keyframes[k], seq, points_at, secs, samples_for(k), limits, kind, prm, tick, exclude,
                        origin_at, bool(seen.get(k)))
        for f, st in steps.items():
            results.setdefault(f, []).append((st, weight(f)))

    before = [f for f in todo if f < ks[0] and linked(f, ks[0])]
    if before:
        run(ks[0], before[::-1], lambda f: 1.0)
    for a, b in zip(ks, ks[1:], strict=False):
        inner = [f for f in todo if a < f < b]
        if not inner:
            continue
        if linked(a, b):
            run(a, inner, lambda f, a=a, b=b: (b - f) / (b - a))
            run(b, inner[::-1], lambda f, a=a, b=b: (f - a) / (b - a))
        else:
            run(a, [f for f in inner if linked(a, f)], lambda f: 1.0)
            run(b, [f for f in inner if linked(b, f)][::-1], lambda f: 1.0)
    after = [f for f in todo if f > ks[-1] and linked(f, ks[-1])]
    if after:
        run(ks[-1], after, lambda f: 1.0)
    for f in todo:
        got = results.get(f)
        if not got:
            res.lost.append(f)
            continue
        if len(got) == 1:
            st = got[0][0]
            res.boxes[f], res.confidence[f] = st.box, st.conf
        else:
            (sa, wa), (sb, wb) = got[0], got[1]
            ea, eb = wa * sa.conf, wb * sb.conf
            share = eb / (ea + eb) if ea + eb > 0 else 0.5
            res.boxes[f] = _blend(sa.box, sb.box, share)
            res.confidence[f] = float(max(sa.conf, sb.conf) * (1.0 - 0.5 * min(1.0, _disagreement(sa.box, sb.box))))
        if any(st.fitted for st, _ in got):
            res.fitted.add(f)
    return res


def _disagreement(a: Box3D, b: Box3D) -> float:
    """How far two estimates of one box disagree, in box lengths (0: identical)."""
    return math.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1]) / max(a.size[0], 0.5)


def review_list(results: Iterable[AutoTrackResult], limit: int | None = None) -> list[tuple[int, int, float]]:
    """``(track_id, frame, confidence)`` of every tracked box, lowest confidence first (ties by
    track and frame); the first ``limit`` when given: the frames a reviewer should look at."""
    rows = [(r.track_id, f, float(c)) for r in results for f, c in r.confidence.items()]
    rows.sort(key=lambda x: (x[2], x[0], x[1]))
    return rows if limit is None else rows[:limit]


#: Order in which :func:`auto_track_all` follows the class kinds (largest objects first).
KIND_ORDER = {"vehicle": 0, "ridden": 1, "walker": 2, "static": 3}


@dataclass(frozen=True)
class TrackSeed:
    """What auto-tracking needs of a track: id, class label, keyframes (frame -> world box),
    gaps (inclusive frame intervals) and whether it holds still (its motion state says it stands:
    :func:`fusionlabel.ontology.holds_still`)."""

    track_id: int
    label: str
    keyframes: Mapping[int, Box3D]
    gaps: Sequence[tuple[int, int]] = ()
    still: bool = False


def auto_track_all(
    tracks: Sequence[TrackSeed],
    points_at: PointsAt,
    frames: Iterable[int],
    times_ns: FrameTimes | None = None,
    params: AutoTrackParams | None = None,
    *,
    ontology: Ontology | None = None,
    passes: int = 2,
    progress: Progress | None = None,
    context: Sequence[TrackSeed] = (),
    origin_at: OriginAt | None = None,
) -> dict[int, AutoTrackResult]:
    """:func:`auto_track` for several tracks, in ``passes`` rounds, vehicles first, then ridden
    classes, then walkers: each fit leaves out the points of the other tracks' boxes known so far
    (their keyframes and the boxes fitted with a confidence of at least 0.3, from this round or
    the one before), so a cyclist beside a car or a walker beside another is not drawn onto it.
    ``context``: further tracks whose boxes are left out but which are not tracked. One track is
    followed in one round (a second would see the same boxes). ``progress(done, total)`` after
    every frame step; it returns False (or raises :class:`Cancelled`) to cancel, which raises
    :class:`Cancelled`. ``origin_at``: see :func:`auto_track` (default: ``points_at.origin`` when
    it has one, as :class:`SweepPoints`). Returns track id -> result."""
    if origin_at is None:
        origin_at = getattr(points_at, "origin", None)
    fr = sorted({int(f) for f in frames})
    seeds = [t for t in tracks if t.keyframes]
    if len(seeds) == 1:  # a second round would see the same boxes of the others: the same result
        passes = 1
    total = max(1, passes * sum(2 * len(fr) for _ in seeds))
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and progress(min(done, total), total) is False:
            raise Cancelled("auto-tracking cancelled")

    known: dict[int, dict[int, Box3D]] = {t.track_id: dict(t.keyframes) for t in (*seeds, *context)}
    results: dict[int, AutoTrackResult] = {}
    onto = ontology or Ontology.default()
    # vehicles first: the smaller objects beside them then leave their points out in the first pass
    order = sorted(seeds, key=lambda t: (KIND_ORDER.get(class_kind(onto.get(t.label)), 0), t.track_id))
    for _ in range(max(1, passes)):
        for t in order:
            def exclude(f: int, own: int = t.track_id) -> list[Box3D]:
                return [boxes[f] for tid, boxes in known.items() if tid != own and f in boxes]

            r = auto_track(t.track_id, t.label, t.keyframes, points_at, fr, times_ns, params, gaps=t.gaps,
                           ontology=onto, progress=tick, exclude=exclude, origin_at=origin_at, still=t.still)
            results[t.track_id] = r
            known[t.track_id] = {**{f: r.boxes[f] for f in r.fitted if r.confidence[f] >= 0.3}, **t.keyframes}
    if progress is not None:
        progress(total, total)
    return results


def tracked_range(result: AutoTrackResult, frames: Iterable[int]) -> tuple[int, int] | None:
    """The inclusive frame range whose tracked boxes a result replaces: the tracked frames'
    range widened to ``frames`` (so a re-track clears what it no longer finds); None without
    frames."""
    fr = [int(f) for f in frames]
    if not fr:
        return None
    return min(fr), max(fr)


class AutoTrack(CommandGroup):
    """Set the tracked boxes of several tracks from auto-tracking results as one undoable step:
    per track, a :class:`fusionlabel.trackops.SetTracked` that replaces its tracked boxes over
    ``frames`` (the range that was tracked) by the result's boxes and confidences (keyframes are
    never touched). Refused (ModelError from the document) for an unknown track."""

    def __init__(self, results: Mapping[int, AutoTrackResult], frames: Iterable[int]) -> None:
        from fusionlabel.trackops import SetTracked

        fr = sorted({int(f) for f in frames})
        cmds = []
        for tid, r in sorted(results.items()):
            rng = tracked_range(r, fr)
            if rng is None:
                continue
            cmds.append(SetTracked(tid, dict(r.boxes), dict(r.confidence), replace=rng))
        n = sum(len(r.boxes) for r in results.values())
        super().__init__(f"Auto-track {len(cmds)} track{'s' if len(cmds) != 1 else ''} ({n} boxes)", cmds)


class SweepPoints:
    """``points_at`` over an opened sequence (any object with ``info``, ``read_lidar`` and
    ``T_world_from_sensor``, e.g. ``formats.datasets.LoadedSequence``): the frame's sweep moved to
    the world frame, ground removed (:func:`fusionlabel.assist.ground.fit_ground`, points under
    ``GROUND_TOLERANCE`` above it or over 4 m dropped), cached for the ``cache`` most recent
    frames. ``lidar``: the sensor (default: each frame's first)."""

    def __init__(self, loaded: object, lidar: str | None = None, cache: int = 64, remove_ground: bool = True) -> None:
        self.loaded, self.lidar, self.remove_ground = loaded, lidar, remove_ground
        self._cache: dict[int, F64 | None] = {}
        self._origins: dict[int, F64] = {}
        self._size = max(1, int(cache))

    def __call__(self, frame: int) -> F64 | None:
        if frame in self._cache:
            return self._cache[frame]
        from fusionlabel.assist.ground import GROUND_TOLERANCE, fit_ground
        from fusionlabel.assist.prelabel import frames_from_sequence

        pts: F64 | None = None
        for fin in frames_from_sequence(self.loaded, self.lidar, [frame]):
            p = fin.points_world
            self._origins[frame] = fin.origin_world
            if self.remove_ground and len(p):
                g = fit_ground(p, fin.origin_world, frame="world")
                h = g.height_above(p)
                p = p[(h >= GROUND_TOLERANCE) & (h <= 4.0)]
            pts = p
        if len(self._cache) >= self._size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[frame] = pts
        return pts

    def origin(self, frame: int) -> F64 | None:
        """The sensor's world position (3,) at ``frame`` (None without a sweep)."""
        if frame not in self._origins:
            self(frame) if frame not in self._cache else None
        return self._origins.get(frame)
