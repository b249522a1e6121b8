"""Small objects (people, bikes): their segment cut out of a cluster (a companion behind, a
neighbour beside, a post beside a rider) and their box (the class's typical footprint along the
principal axis of the points). World frame (z up), metres.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import wrap_angle
from fusionlabel.assist.fit.heading import pca_yaw, snap_to_axes
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams
from fusionlabel.assist.ground import GroundModel
from fusionlabel.box import Box3D
from fusionlabel.ontology import ClassSpec

F64 = NDArray[np.float64]


def small_object_cuts(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], origin: ArrayLike,
                      ground: GroundModel | None, spec: ClassSpec | None, *,
                      fit_params: FitParams = DEFAULT_FIT_PARAMS) -> NDArray[np.intp]:
    """A person's or a bike's segment cut out of its cluster (a companion behind, the mean shift
    around the click, walkers side by side, a post beside a rider); other classes unchanged."""
    if spec is not None and spec.size.max[0] < fit_params.small_object_length:
        if spec.size.mean[0] < fit_params.ridden_length and ground is not None:
            sel = cut_occluded(p, sel, xy, origin, ground, spec, fit_params=fit_params)
        sel = body_around(p, sel, xy, spec, fit_params=fit_params)
        if spec.size.mean[0] < fit_params.ridden_length:
            sel = split_at_gap(p, sel, xy, fit_params=fit_params)
        elif ground is not None:
            sel = drop_pole(p, sel, ground, spec, fit_params=fit_params)
    return sel


def body_around(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], spec: ClassSpec, *,
                fit_params: FitParams = DEFAULT_FIT_PARAMS) -> NDArray[np.intp]:
    """The part of a segment (indices ``sel`` into ``p``) that is one person or bike: the points
    within ``body_radius`` x the class's typical length of a centre that starts at the click ``xy``
    and moves to the Gaussian-weighted mean of the points (mean shift), so that two people walking
    together or a bike against a pole are cut apart."""
    length = spec.size.mean[0]
    c = np.asarray(xy, dtype=np.float64)
    q = p[sel, :2]
    for _ in range(20):  # Gaussian mean shift: converges on the body under the click
        w = np.exp(-0.5 * (np.hypot(q[:, 0] - c[0], q[:, 1] - c[1]) / (0.25 * length)) ** 2)
        if w.sum() < 1e-6:
            return sel
        c_new = (q * w[:, None]).sum(axis=0) / w.sum()
        done = float(np.hypot(*(c_new - c))) < 0.005
        c = c_new
        if done:
            break
    keep = np.hypot(q[:, 0] - c[0], q[:, 1] - c[1]) <= fit_params.body_radius * length + 0.05
    return sel[keep] if keep.sum() >= 3 else sel


def split_at_gap(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], *,
                 fit_params: FitParams = DEFAULT_FIT_PARAMS) -> NDArray[np.intp]:
    """Two people side by side (shoulder to shoulder, closer than a body length): the points
    ``sel`` (indices into ``p``) are split where an empty strip at least ``person_gap`` m wide
    crosses the whole segment along its principal BEV axis (a body seen from any side, legs and
    arms included, shows none: the torso fills the gap between the legs) and the part whose
    centroid is nearer the click ``xy`` is kept; both parts must hold ``person_gap_share`` of the
    points."""
    if len(sel) < 10:
        return sel
    q = p[sel, :2]
    th, _ = pca_yaw(q)
    t = q @ np.array([math.cos(th), math.sin(th)])
    order = np.argsort(t)
    gaps = np.diff(t[order])
    lo = max(int(math.ceil(fit_params.person_gap_share * len(t))) - 1, 0)
    hi = len(t) - 1 - lo
    if hi <= lo:
        return sel
    k = lo + int(np.argmax(gaps[lo:hi]))
    if gaps[k] < fit_params.person_gap:
        return sel
    a, b = order[: k + 1], order[k + 1:]
    c = np.asarray(xy, dtype=np.float64)
    near_a = np.linalg.norm(q[a].mean(axis=0) - c) <= np.linalg.norm(q[b].mean(axis=0) - c)
    return sel[np.sort(a if near_a else b)]


def cut_occluded(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], origin: ArrayLike,
                 ground: GroundModel, spec: ClassSpec, *,
                 fit_params: FitParams = DEFAULT_FIT_PARAMS) -> NDArray[np.intp]:
    """A walker's segment (indices ``sel`` into ``p``, world frame) cut at an occluding contour (see
    ``occlusion_step``): someone walking behind the clicked person and to one side, partly hidden by
    that person, joins the segment. Where the contour is found, the points beyond the middle of the
    steps (in range from the sensor ``origin``) are one object and the nearer ones the other; the
    part whose centroid is nearer the click ``xy`` is kept (unchanged when it would hold under 10
    points)."""
    if len(sel) < 20:
        return sel
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    q = p[sel] - o
    rho = np.hypot(q[:, 0], q[:, 1])
    az = np.arctan2(q[:, 1], q[:, 0])
    az = wrap_angle(az - az[0])
    s = az * float(np.median(rho))  # across the line of sight (m)
    el = np.arctan2(q[:, 2], rho)
    h = ground.height_above(p[sel])
    order = np.argsort(el)
    ring = np.empty(len(q), dtype=np.intp)
    ring[order] = np.concatenate([[0], np.cumsum(np.diff(el[order]) > math.radians(fit_params.ring_gap_deg))])
    steps = []  # (ring, s at the step, +1 when the nearer side has the larger s, step mid-range, height)
    spans = []  # (ring, s min, s max)
    for r in range(int(ring.max()) + 1):
        m = np.flatnonzero(ring == r)
        if len(m) < 2:
            continue
        m = m[np.argsort(s[m])]
        spans.append((r, s[m[0]], s[m[-1]]))
        for a, b in zip(m[:-1], m[1:], strict=True):
            if s[b] - s[a] <= fit_params.occlusion_edge and abs(rho[b] - rho[a]) > fit_params.occlusion_step:
                steps.append((r, 0.5 * (s[a] + s[b]), 1 if rho[b] < rho[a] else -1, 0.5 * (rho[a] + rho[b]),
                              float(min(h[a], h[b]))))
    if len(steps) < fit_params.occlusion_min_rings:
        return sel
    best = None
    for _, s0, sign, _, _ in steps:
        same = [st for st in steps if st[2] == sign and abs(st[1] - s0) <= fit_params.occlusion_edge]
        rings = {st[0] for st in same}
        crossing = sum(1 for r, lo, hi in spans if lo < s0 < hi)
        hs = [st[4] for st in same]
        if (len(rings) >= fit_params.occlusion_min_rings
                and len(rings) >= fit_params.occlusion_ring_share * max(crossing, 1)
                and max(hs) - min(hs) >= fit_params.occlusion_span_share * spec.size.mean[2]
                and (best is None or len(rings) > best[0])):
            best = (len(rings), same)
    if best is None:
        return sel
    cut = float(np.median([st[3] for st in best[1]]))
    far = rho > cut
    c = np.asarray(xy, dtype=np.float64)
    parts = [sel[~far], sel[far]]
    dist = [np.linalg.norm(p[part, :2].mean(axis=0) - c) if len(part) else np.inf for part in parts]
    keep = parts[int(np.argmin(dist))]
    return keep if len(keep) >= 10 else sel


def drop_pole(p: F64, sel: NDArray[np.intp], ground: GroundModel, spec: ClassSpec, *,
              fit_params: FitParams = DEFAULT_FIT_PARAMS) -> NDArray[np.intp]:
    """A ridden class's segment (indices ``sel`` into ``p``, world frame) without a post standing
    beside the rider: a thin vertical column (see ``pole_radius``, ``pole_span_share``) whose top
    rises more than ``pole_excess`` m above every point farther than ``2 x pole_radius`` from it,
    grown to the points within ``pole_radius`` of it. Unchanged when no such column is found or
    the rest would be under half the segment (or under 10 points)."""
    if len(sel) < 10:
        return sel
    q = p[sel]
    h = ground.height_above(q)
    xy = q[:, :2]
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])  # (N, N), N <= a few hundred
    near = d <= fit_params.pole_radius
    hi = np.where(near, h[None, :], -np.inf).max(axis=1)
    lo = np.where(near, h[None, :], np.inf).min(axis=1)
    away = np.where(d > 2 * fit_params.pole_radius, h[None, :], -np.inf).max(axis=1)
    pole = (hi - lo >= fit_params.pole_span_share * spec.size.mean[2]) & (hi - away > fit_params.pole_excess)
    if not pole.any():
        return sel
    drop = near[pole].any(axis=0)
    for _ in range(fit_params.pole_grow):
        drop = drop | near[drop].any(axis=0)
    keep = ~drop
    if keep.sum() < max(10, 0.5 * len(sel)):
        return sel
    return sel[keep]


def small_object_box(p: F64, ground: GroundModel | None, spec: ClassSpec, origin: F64, top: float,
                     ego_yaw: float | None = None, *, fit_params: FitParams = DEFAULT_FIT_PARAMS) -> Box3D:
    """A person's or a bike's box from its points (N, 3): the class's typical footprint, its length
    along the principal BEV axis of the points (a walker's legs and a bike's frame lie along the
    heading; the sign stays ambiguous), centred ``small_depth_shift`` m behind the points' centroid
    as seen from the sensor ``origin`` (the LiDAR sees only the near half of a body). With the ego's
    heading ``ego_yaw`` (rad, world frame) a walker's heading is the ego axis nearest that principal
    axis (see ``walker_ego_axes``)."""
    rider = spec.size.mean[0] >= fit_params.ridden_length
    low = p
    if rider and ground is not None:
        # a bike (wheels, frame, the rider's legs) lies along the heading; the torso and arms above
        # spread across it
        below = p[ground.height_above(p) < fit_params.bike_top]
        if len(below) >= 10:
            low = below
    th, _ = pca_yaw(low[:, :2])
    if not rider and ego_yaw is not None and fit_params.walker_ego_axes:
        th = snap_to_axes(th, ego_yaw)
    e1 = np.array([math.cos(th), math.sin(th)])
    e2 = np.array([-e1[1], e1[0]])
    u, v = p[:, :2] @ e1, p[:, :2] @ e2
    lo, hi = np.percentile(u, [5.0, 95.0])
    # along the heading the middle of the extent (a rider's torso makes the rear denser), across it
    # the centroid
    c = (0.5 * (lo + hi) if rider else float(u.mean())) * e1 + float(v.mean()) * e2
    los = c - origin[:2]
    c = c + fit_params.small_depth_shift * los / max(float(np.linalg.norm(los)), 1e-9)
    gz = float(ground(c[0], c[1])) if ground is not None else float(p[:, 2].min())
    height = max(top - gz, 0.1)
    if height < 0.5 * spec.size.min[2]:
        height = spec.size.mean[2]
    return Box3D((float(c[0]), float(c[1]), gz + height / 2), (spec.size.mean[0], spec.size.mean[1], height),
                 float(wrap_angle(th)))
