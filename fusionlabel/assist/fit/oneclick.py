"""Orchestration: the one-click box (segmentation around a click, the box of the segment, the
heading from neighbouring sweeps), the click of a 3D-view ray and auto-fit of a rough box.

Frames: every function works in one z-up frame, the frame of the points it is given (the world
frame in the tools and in pre-labelling); ``origin`` is the sensor position in that frame and the
``ground`` model is fitted in that frame too (:mod:`fusionlabel.assist.ground`). Boxes are
:class:`~fusionlabel.box.Box3D` (geometric centre, (l, w, h), yaw about +z). Metres, radians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import wrap_angle
from fusionlabel.assist.cluster import ClusterParams, cluster_points, grow_cluster
from fusionlabel.assist.fit.classes import ClassGuess, assign_axes, full_cost, guess_class, resolve_class, top_coverage
from fusionlabel.assist.fit.cluster_box import box_from_cluster
from fusionlabel.assist.fit.freespace import extend_interval
from fusionlabel.assist.fit.heading import heading_from_cabin, heading_from_motion, lshape_yaw, rectangle_at
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams
from fusionlabel.assist.fit.small import small_object_cuts
from fusionlabel.assist.ground import GROUND_TOLERANCE, GroundModel
from fusionlabel.assist.motion import MotionEstimate, estimate_motion
from fusionlabel.box import Box3D
from fusionlabel.ontology import ClassSpec, Ontology

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class BoxFit:
    """Result of a one-click box or an auto-fit: the box (None when nothing was found), the class
    guess, ``confidence`` in [0, 1], the indices of the object's points in the input array, and
    a reason when no box was made. ``heading_source``: ``"shape"`` (the points of this sweep) or
    ``"motion"`` (the direction the object moves over the neighbouring sweeps; for vehicles
    ``"shape+motion"``: the shape's axis, its sign from the motion; ``"shape+cabin"``: a vehicle
    that does not move, its sign from its cabin, which sits behind the middle); ``motion`` the
    estimate when neighbouring sweeps were given."""

    box: Box3D | None
    label: str | None
    confidence: float
    indices: NDArray[np.intp]
    guess: ClassGuess | None = None
    partial: bool = False
    reason: str = ""
    heading_source: str = "shape"
    motion: MotionEstimate | None = None


def _nonground(pts: F64, ground: GroundModel | None, tolerance: float,
               fit_params: FitParams = DEFAULT_FIT_PARAMS) -> NDArray[np.intp]:
    if ground is None:
        return np.arange(len(pts))
    dz = ground.height_above(pts)
    return np.flatnonzero((dz >= tolerance) & (dz <= fit_params.max_object_height))


def click_from_ray(
    pts: ArrayLike, ray_origin: ArrayLike, ray_direction: ArrayLike, ground: GroundModel | None = None,
    tolerance_rad: float = 0.01, min_tolerance_m: float = 0.15, *, fit_params: FitParams = DEFAULT_FIT_PARAMS,
) -> tuple[float, float] | None:
    """The BEV position (x, y) that a 3D-view click ray hits: the nearest non-ground point within
    ``tolerance_rad`` (angle, at least ``min_tolerance_m``) of the ray, else where the ray meets the
    ground (z = ground height), else None. Ray and points in the same frame."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    o = np.asarray(ray_origin, dtype=np.float64).reshape(3)
    d = np.asarray(ray_direction, dtype=np.float64).reshape(3)
    d = d / np.linalg.norm(d)
    idx = _nonground(p, ground, GROUND_TOLERANCE, fit_params)
    q = p[idx] - o
    t = q @ d
    perp = np.linalg.norm(q - t[:, None] * d, axis=1)
    hit = (t > 0) & (perp <= np.maximum(tolerance_rad * t, min_tolerance_m))
    if hit.any():
        k = np.flatnonzero(hit)[np.argmin(t[hit])]
        return float(p[idx[k], 0]), float(p[idx[k], 1])
    # the ground: march along the ray
    zg = (lambda x, y: float(ground(x, y))) if ground is not None else (lambda x, y: 0.0)
    if d[2] >= 0:
        return None
    tt = (zg(o[0], o[1]) - o[2]) / d[2]
    for _ in range(5):
        x, y = o[0] + tt * d[0], o[1] + tt * d[1]
        tt = (zg(x, y) - o[2]) / d[2]
    return float(o[0] + tt * d[0]), float(o[1] + tt * d[1])


def box_from_click(
    points_world: ArrayLike,
    click: ArrayLike | tuple[ArrayLike, ArrayLike],
    ground: GroundModel | None,
    ontology: Ontology | None = None,
    class_hint: str | None = None,
    *,
    origin: ArrayLike = (0.0, 0.0, 0.0),
    candidates: Sequence[str] | None = None,
    params: ClusterParams | None = None,
    neighbours: Sequence[tuple[float, ArrayLike]] | None = None,
    ego_yaw: float | None = None,
    fit_params: FitParams = DEFAULT_FIT_PARAMS,
) -> BoxFit:
    """One-click box. ``points_world`` (N, 3+) of the sweep in the world frame; ``click`` either a
    BEV position (x, y) in the world frame or a ray ``(origin (3,), direction (3,))`` from the 3D
    view (world frame); ``ground`` fitted in the world frame (or None); ``origin`` the sensor
    position in the world frame (for the range-adaptive radius and the extension away from the
    sensor). Segments the non-ground cluster around the click, fits heading and size (class
    prior for partial views), snaps the bottom to the ground and guesses the class.
    ``class_hint`` (the labeler's current class) fixes the class; the guess is still reported.
    ``neighbours``: (dt seconds relative to this sweep, points (M, 3+) world frame) of neighbouring
    sweeps of the sequence; a walker or rider that clearly moves over them is headed along its motion
    (a vehicle keeps its shape's axis and takes the sign from the motion), see
    :mod:`fusionlabel.assist.motion`. Without them (or standing still, or not followed) the heading
    is the one of this sweep. ``ego_yaw`` (rad, world frame): the ego's heading at this sweep (the GUI
    gives it); a walker's single-sweep heading is then the ego axis nearest its points' principal
    axis (people walk along the ego's road or across it); None: the principal axis. ``fit_params``:
    the fitting parameters (:class:`FitParams`; ``params`` is the segmentation's link)."""
    onto = ontology or Ontology.default()
    p = np.asarray(points_world, dtype=np.float64)
    p = p.reshape(-1, p.shape[-1])[:, :3] if p.size else np.zeros((0, 3))
    empty = np.zeros(0, dtype=np.intp)
    if isinstance(click, tuple) and len(click) == 2 and np.size(click[0]) == 3:
        xy = click_from_ray(p, click[0], click[1], ground)
        if xy is None:
            return BoxFit(None, None, 0.0, empty, reason="the ray hits nothing")
    else:
        xy = tuple(float(v) for v in np.asarray(click, dtype=np.float64).reshape(2))
    spec = resolve_class(onto, class_hint) if class_hint is not None else None
    idx = _nonground(p, ground, fit_params.segment_min_height if spec is not None else GROUND_TOLERANCE, fit_params)
    if len(idx) == 0:
        return BoxFit(None, None, 0.0, empty, reason="no non-ground points")
    reach = None
    if spec is not None:
        reach = math.hypot(spec.size.max[0], spec.size.max[1]) * 0.5 + 0.3
    # the tighter segmentation (elliptical link, points above kerb height) may split an object: it
    # needs the class to tell a fragment from a small object; without a hint the round link on all
    # non-ground points is used
    prm = params or (fit_params.one_click_cluster if spec is not None else ClusterParams())
    # two segmentations: the fine one may split an object (sparse rings on a near roof, an
    # occluder's shadow), the coarse one may merge neighbours; the one whose shape the class
    # (given, or the best guess) explains better wins
    options = []
    coarse = ClusterParams(**{**prm.__dict__, "base": 0.7, "per_metre": 0.02, "max_radius": 1.5,
                              "tangential": None if prm.tangential is None else fit_params.coarse_tangential})
    tries = [prm, coarse]
    if prm.tangential is not None:
        # a third, finer across the line of sight: on a dense sensor a car 0.4 m beside a wall or a
        # parked row still links at the fine link sized for coarse sensors
        tries.append(ClusterParams(**{**prm.__dict__, "tangential": fit_params.fine_tangential}))
    for cp in tries:
        sel = _segment(p, idx, xy, origin, cp, reach)
        if len(sel):
            # a later one must be clearly better (the coarse one may have swallowed a neighbour, the
            # finest may have split the object)
            cost = _shape_cost(p[sel], ground, onto, spec, candidates, fit_params) + 1.5 * len(options)
            options.append((cost, len(options), sel, cp))
    if not options:
        return BoxFit(None, None, 0.0, empty, reason="no object points near the click")
    _, _, sel, chosen = min(options, key=lambda o: (o[0], o[1]))
    sel = small_object_cuts(p, sel, xy, origin, ground, spec, fit_params=fit_params)
    free = None
    if ground is not None:
        near = np.flatnonzero(np.hypot(p[:, 0] - xy[0], p[:, 1] - xy[1]) <= fit_params.free_space_radius)
        free = p[near[ground.height_above(p[near]) < GROUND_TOLERANCE], :2]
    box, guess, partial = box_from_cluster(p[sel], ground, onto, origin, class_hint, candidates, free_xy=free,
                                           seen_xy=None if free is None else p[near, :2], ego_yaw=ego_yaw,
                                           fit_params=fit_params)
    label = spec.name if spec is not None else guess.label
    prob = guess.probabilities.get(label, guess.probability) if spec is None else 1.0
    conf = float(np.clip(prob * guess.fit * min(1.0, len(sel) / 30.0) * (0.8 if partial else 1.0), 0.0, 1.0))
    mspec = spec if spec is not None else resolve_class(onto, label)
    if neighbours is None:
        box, cabin = heading_from_cabin(box, p[sel], mspec, fit_params=fit_params)
        return BoxFit(box, label, conf, sel, guess, partial, heading_source="shape+cabin" if cabin else "shape")
    min_height = fit_params.segment_min_height if spec is not None else GROUND_TOLERANCE

    def segment_at(q: F64, seed: tuple[float, float]) -> NDArray[np.intp]:
        # the same segmentation as this sweep's (the option that won), so the centroids compare;
        # with a class, only the points within its reach (+ a margin, so that a cluster going on
        # beyond the reach is still cut there) are clustered
        near = np.arange(len(q))
        if reach is not None:
            dist = np.hypot(q[:, 0] - seed[0], q[:, 1] - seed[1])
            near = np.flatnonzero(dist <= reach + fit_params.neighbour_margin)
        qn = q[near]
        qi = _nonground(qn, ground, min_height, fit_params)
        if len(qi) == 0:
            return np.zeros(0, dtype=np.intp)
        s = _segment(qn, qi, seed, origin, chosen, reach)
        return near[small_object_cuts(qn, s, seed, origin, ground, spec, fit_params=fit_params)] if len(s) else near[s]

    motion = estimate_motion(p[sel], neighbours, ground, mspec, segment_at, origin=origin)
    box, source = heading_from_motion(box, motion, mspec, fit_params=fit_params)
    if source == "shape":  # the motion does not tell the direction: a vehicle's cabin does
        box, cabin = heading_from_cabin(box, p[sel], mspec, fit_params=fit_params)
        source = "shape+cabin" if cabin else source
    return BoxFit(box, label, conf, sel, guess, partial, heading_source=source, motion=motion)


def _segment(p: F64, idx: NDArray[np.intp], xy: tuple[float, float], origin: ArrayLike, params: ClusterParams,
             reach: float | None) -> NDArray[np.intp]:
    """Indices (into ``p``) of the cluster at ``xy`` among the non-ground points ``idx``; a cluster
    reaching beyond ``reach`` m from the click (a crowd, a car against a hedge) is cut there and
    clustered again with a tighter radius."""
    members = grow_cluster(p[idx], xy, origin, params)
    if len(members) == 0:
        return np.zeros(0, dtype=np.intp)
    sel = idx[members]
    if reach is not None:
        d = np.hypot(p[sel, 0] - xy[0], p[sel, 1] - xy[1])
        if d.max() > reach:
            sel = sel[d <= reach]
            tight = ClusterParams(**{**params.__dict__, "base": params.base * 0.7,
                                     "max_radius": params.max_radius * 0.7})
            sub = grow_cluster(p[sel], xy, origin, tight)
            if len(sub):
                sel = sel[sub]
    return sel


def _shape_cost(pts: F64, ground: GroundModel | None, ontology: Ontology, spec: ClassSpec | None,
                candidates: Sequence[str] | None, fit_params: FitParams = DEFAULT_FIT_PARAMS) -> float:
    """How badly a segment's visible extents and height fit the class ``spec`` (or, when None, the
    best candidate class): the size-prior cost of :func:`guess_class`."""
    th = lshape_yaw(pts[:, :2])
    rect = rectangle_at(pts[:, :2], th)
    cx, cy = rect.center
    g0 = float(ground(cx, cy)) if ground is not None else float(pts[:, 2].min())
    height = max(float(np.percentile(pts[:, 2], 99.5)) - g0, 0.1)
    if spec is not None:
        return assign_axes((rect.a, rect.b), spec, fit_params=fit_params)[1] + full_cost(height, spec, 2)
    guess = guess_class((rect.a, rect.b), height, ontology, candidates,
                        top_cover=top_coverage(pts, rect, g0, height), fit_params=fit_params)
    return -math.log(max(guess.fit, 1e-12))


def auto_fit(
    box: Box3D,
    points: ArrayLike,
    ground: GroundModel | None = None,
    *,
    fit_yaw: bool = False,
    margin: float = 0.5,
    min_points: int = 3,
    yaw_window_deg: float = 30.0,
    origin: ArrayLike | None = None,
    params: ClusterParams | None = None,
    fit_params: FitParams = DEFAULT_FIT_PARAMS,
) -> BoxFit:
    """Tighten or grow a rough ``box`` to its points (same frame as ``points`` (N, 3+)): the
    points inside the box enlarged by ``margin`` m on every side, minus ground, give the new
    footprint (of the cluster holding most points inside the rough box; keeping the yaw, or with
    ``fit_yaw`` the L-shape yaw within ``yaw_window_deg`` of the box's, either heading kept),
    top at the highest point and bottom on the ground (or the lowest point when ``ground`` is
    None). Along an axis where the points cover less than
    ``partial_share`` of the rough box (only the near face is seen), the rough size is kept and
    placed from the points' edge nearest the sensor ``origin`` (when given; else around the
    points). The box is returned unchanged with fewer than ``min_points`` points."""
    p = np.asarray(points, dtype=np.float64)
    p = p.reshape(-1, p.shape[-1])[:, :3] if p.size else np.zeros((0, 3))
    big = box.replace(size=(box.length + 2 * margin, box.width + 2 * margin, box.height + 2 * margin))
    T = np.linalg.inv(big.pose())
    local = p @ T[:3, :3].T + T[:3, 3]
    half = np.asarray(big.size) / 2
    inside = np.all(np.abs(local) <= half, axis=1)
    sel = np.flatnonzero(inside)
    if ground is not None:
        sel = sel[ground.height_above(p[sel]) >= GROUND_TOLERANCE]
    if len(sel) >= min_points:
        # the margin may catch a neighbour (a pole, a person, the next car): keep the cluster
        # with the most points inside the rough box itself
        labels = cluster_points(p[sel], origin if origin is not None else box.center, params)
        inner = np.all(np.abs(local[sel]) <= np.asarray(box.size) / 2 + 1e-9, axis=1)
        lab_in = labels[inner & (labels >= 0)]
        if len(lab_in):
            sel = sel[labels == np.bincount(lab_in).argmax()]
    if len(sel) < min_points:
        return BoxFit(box, None, 0.0, sel, reason=f"only {len(sel)} points near the box")
    q = p[sel]
    yaw = box.yaw
    if fit_yaw:
        th = lshape_yaw(q[:, :2])
        # the candidate orientations th + k pi/2 nearest the box's yaw
        cands = th + np.arange(-4, 5) * (math.pi / 2)
        diff = np.abs(wrap_angle(cands - box.yaw))
        k = int(np.argmin(diff))
        if diff[k] <= math.radians(yaw_window_deg):
            yaw = float(cands[k])
    c, s = math.cos(yaw), math.sin(yaw)
    u = q[:, 0] * c + q[:, 1] * s
    v = -q[:, 0] * s + q[:, 1] * c
    sensor = None if origin is None else np.asarray(origin, dtype=np.float64).reshape(-1)[:2]
    bounds = []
    for vals, rough, axis in ((u, box.length, np.array([c, s])), (v, box.width, np.array([-s, c]))):
        lo, hi = float(vals.min()), float(vals.max())
        if hi - lo < fit_params.partial_share * rough:
            if sensor is not None:
                lo, hi = extend_interval(lo, hi, rough, float(np.dot(sensor, axis)))
            else:
                mid = (lo + hi) / 2
                lo, hi = mid - rough / 2, mid + rough / 2
        bounds.append((lo, hi))
    (ul, uh), (vl, vh) = bounds
    um, vm = (ul + uh) / 2, (vl + vh) / 2
    cx, cy = um * c - vm * s, um * s + vm * c
    length, width = max(uh - ul, 0.1), max(vh - vl, 0.1)
    gz = float(ground(cx, cy)) if ground is not None else float(q[:, 2].min())
    height = max(float(q[:, 2].max()) - gz, 0.1)
    out = Box3D((cx, cy, gz + height / 2), (length, width, height), float(wrap_angle(yaw)))
    return BoxFit(out, None, 1.0, sel)
