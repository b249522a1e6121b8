"""An object's BEV velocity from its segment in neighbouring sweeps (one-click heading of walkers and
riders from the direction they move).

Frame: every point and position here is in one z-up frame in which the scene stands still: the
**world** frame (sweeps moved by ``T_world_from_sensor`` with the ego poses), so a parked car's
centroid does not move and a walker's moves at its speed. Times are seconds relative to the
current sweep (negative: earlier sweeps). Metres, m/s, radians.

The clicked object's segment (its points in the current sweep) is followed through the neighbouring
sweeps, nearest in time first: in each, the candidates are the segments (see ``segment_at``) seeded
at the predicted position and at the non-ground clusters whose centroids lie within the class's
gate (``max speed x |dt| + GATE_SLACK``); the one nearest the prediction among those of a similar
size (top height, BEV extent, point count) is taken, and the velocity is refitted after each. The
velocity is the least-squares line through the BEV centroids (the current one included); with four
or more centroids, one that lies far off the line fitted to the others (a wrong association) is
dropped. The object **moves** when its speed exceeds the class's floor (``MIN_SPEED_*``) and
``SPEED_SIGNIFICANCE`` standard errors (centroid noise: the fit's residual, at least
``CENTROID_NOISE_*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from fusionlabel.assist.cluster import ClusterParams, cluster_points
from fusionlabel.assist.ground import GROUND_TOLERANCE, GroundModel
from fusionlabel.motion_model import class_kind
from fusionlabel.ontology import ClassSpec

F64 = NDArray[np.float64]

#: Fastest plausible speed (m/s) of a walker, a ridden class and a vehicle: the association gate.
MAX_SPEED_WALKER = 4.0
MAX_SPEED_RIDDEN = 15.0
MAX_SPEED_VEHICLE = 40.0
#: Slowest speed (m/s) that counts as moving: a walker's 0.5 m/s is a slow stroll; below it a
#: person turning on the spot, swaying or gesturing moves the centroid as much.
MIN_SPEED_WALKER = 0.5
MIN_SPEED_OTHER = 1.0
MIN_SPEED_VEHICLE = 3.0
#: Floor (m) of the BEV centroid noise of one segment between neighbouring sweeps (the visible part
#: of a body changes with the viewpoint and the scan pattern), measured on the synthetic standing
#: walkers and parked cars (see docs/assist.md).
CENTROID_NOISE_SMALL = 0.05
CENTROID_NOISE_VEHICLE = 0.3
#: The speed must exceed this many standard errors of the fit.
SPEED_SIGNIFICANCE = 3.0
#: Added to every gate (m): the centroid noise and a walker's sway.
GATE_SLACK = 0.3
#: Size similarity of a neighbour's segment: top height within ``max(HEIGHT_TOL, 25%)``, BEV extent
#: (4 standard deviations along the principal axis) and point count within these ratios.
HEIGHT_TOL = 0.3
EXTENT_RATIO = 1.8
EXTENT_SLACK = 0.3
COUNT_RATIO = 4.0
#: A centroid farther than this many noise levels (and ``OUTLIER_MIN`` m) from the line fitted to
#: the others is a wrong association.
OUTLIER_SIGMAS = 4.0
OUTLIER_MIN = 0.25
#: Neighbour sweeps are cropped (BEV) to the gate plus this margin (m) around the object.
CROP_MARGIN = 3.0
#: The segment at the predicted position is taken without looking at other candidates when its
#: cost (distance / gate + half the shape dissimilarity) is below this.
ACCEPT_COST = 0.5
#: A vehicle is followed over at most this many sweeps (the nearest in time).
MAX_NEIGHBOURS_VEHICLE = 2
#: At most this many candidate clusters are segmented per neighbour sweep (nearest first).
MAX_CANDIDATES = 3
#: The displacement between two sweeps' segments is refined by a translation-only BEV ICP (trimmed:
#: pairs farther than ``ICP_TRIM`` m apart are ignored; at most ``ICP_POINTS`` points a side). The
#: centroid of the visible part moves as the viewpoint changes (the ego passing a parked car sees
#: more of its side); the surfaces seen in both sweeps do not.
ICP_TRIM = 0.25
ICP_POINTS = 600
ICP_MIN_SHARE = 0.3
REFINE_ICP = True

#: ``segment_at(points (N, 3), seed_xy) -> indices into points``: the object's segment seeded at a
#: BEV position (the one-click segmentation, ground removed by it).
SegmentFn = Callable[[F64, tuple[float, float]], NDArray[np.intp]]


@dataclass(frozen=True)
class MotionEstimate:
    """An object's BEV motion over the neighbouring sweeps (world frame).

    ``velocity`` (vx, vy) m/s and ``speed`` (None when fewer than one neighbour was associated);
    ``speed_sigma`` its standard error (m/s); ``moving`` when the speed is clearly above the noise
    and the class's floor; ``heading`` (rad) the direction of motion; ``track``: (dt s, x, y) of the
    centroids used (the current one at dt 0); ``rejected``: associations dropped as inconsistent;
    ``reason`` says why the object does not count as moving."""

    velocity: tuple[float, float] | None
    speed: float | None
    speed_sigma: float
    moving: bool
    heading: float | None
    track: tuple[tuple[float, float, float], ...] = ()
    rejected: int = 0
    reason: str = ""
    candidates: dict[float, int] = field(default_factory=dict)


def _limits(kind: str) -> tuple[float, float, float]:
    """(max speed, min moving speed, centroid noise floor) of a class kind."""
    if kind == "walker":
        return MAX_SPEED_WALKER, MIN_SPEED_WALKER, CENTROID_NOISE_SMALL
    if kind == "ridden":
        return MAX_SPEED_RIDDEN, MIN_SPEED_OTHER, CENTROID_NOISE_SMALL
    return MAX_SPEED_VEHICLE, MIN_SPEED_VEHICLE, CENTROID_NOISE_VEHICLE


@dataclass(frozen=True)
class _Shape:
    centroid: F64  # (2,)
    top: float
    extent: float
    count: int


def _shape(q: F64, ground: GroundModel | None, floor: float) -> _Shape:
    xy = q[:, :2]
    c = xy.mean(axis=0)
    if ground is not None:
        top = float(np.percentile(ground.height_above(q), 98.0))
    else:
        top = float(np.percentile(q[:, 2], 98.0)) - floor
    ext = 0.0
    if len(q) >= 3:
        ev = np.linalg.eigvalsh(np.cov((xy - c).T))
        ext = 4.0 * math.sqrt(max(float(ev[-1]), 0.0))
    return _Shape(c, top, ext, len(q))


def _similar(a: _Shape, b: _Shape) -> float | None:
    """A dissimilarity >= 0 of two segments' shapes, or None when they cannot be one object."""
    dh = abs(a.top - b.top)
    if dh > max(HEIGHT_TOL, 0.25 * max(a.top, b.top)):
        return None
    re = (max(a.extent, b.extent) + EXTENT_SLACK) / (min(a.extent, b.extent) + EXTENT_SLACK)
    rc = max(a.count, b.count) / max(min(a.count, b.count), 1)
    if re > EXTENT_RATIO or rc > COUNT_RATIO:
        return None
    return dh / HEIGHT_TOL + math.log(re) / math.log(EXTENT_RATIO) + 0.5 * math.log(rc) / math.log(COUNT_RATIO)


def _thin(xy: F64, n: int) -> F64:
    return xy if len(xy) <= n else xy[np.linspace(0, len(xy) - 1, n).astype(np.intp)]


def icp_shift(a: ArrayLike, b: ArrayLike, d0: ArrayLike, iterations: int = 15) -> F64 | None:
    """Translation (2,) that moves the BEV points ``a`` (N, 2) onto ``b`` (M, 2) (same frame),
    starting at ``d0``: trimmed point-to-point ICP (pairs within ``ICP_TRIM`` m, the first
    iterations within twice that). None when under ``ICP_MIN_SHARE`` of ``a`` finds a partner."""
    pa = _thin(np.asarray(a, dtype=np.float64).reshape(-1, 2), ICP_POINTS)
    pb = _thin(np.asarray(b, dtype=np.float64).reshape(-1, 2), ICP_POINTS)
    if len(pa) < 3 or len(pb) < 3:
        return None
    tree = cKDTree(pb)
    d = np.asarray(d0, dtype=np.float64).reshape(2).copy()
    ok = np.zeros(len(pa), dtype=bool)
    for k in range(iterations):
        thr = ICP_TRIM * (2.0 if k < 3 else 1.0)
        dist, j = tree.query(pa + d, distance_upper_bound=thr)
        ok = np.isfinite(dist)
        if ok.sum() < max(3, ICP_MIN_SHARE * len(pa)):
            return None
        step = (pb[j[ok]] - (pa[ok] + d)).mean(axis=0)
        d = d + step
        if k >= 3 and float(np.hypot(*step)) < 1e-3:
            break
    return d


def _candidate(q: F64, seed: tuple[float, float], segment_at: SegmentFn, ref: _Shape, pred: F64, gate: float,
               ground: GroundModel | None, floor: float, tried: list[F64],
               taken: NDArray[np.bool_]) -> tuple[float, F64, NDArray[np.intp]] | None:
    """The segment of ``q`` seeded at ``seed`` as a candidate: (cost, centroid (2,), indices), or
    None when it is too far from the prediction, not of a similar shape, or already ``tried``.
    Marks its points in ``taken``."""
    sel = segment_at(q, seed)
    if len(sel) < 3:
        return None
    taken[sel] = True
    sh = _shape(q[sel], ground, floor)
    if any(np.linalg.norm(sh.centroid - c) < 1e-6 for c in tried):
        return None
    tried.append(sh.centroid)
    dist = float(np.linalg.norm(sh.centroid - pred))
    sim = _similar(ref, sh)
    if dist > gate or sim is None:
        return None
    return dist / gate + 0.5 * sim, sh.centroid, sel


def _fit_line(t: F64, xy: F64) -> tuple[F64, F64, F64]:
    """Least-squares ``xy = p0 + v t``: returns (p0 (2,), v (2,), residuals (K,))."""
    A = np.stack([np.ones_like(t), t], axis=1)
    sol, *_ = np.linalg.lstsq(A, xy, rcond=None)
    res = np.linalg.norm(xy - A @ sol, axis=1)
    return sol[0], sol[1], res


def _velocity(track: list[tuple[float, F64]], noise: float) -> tuple[F64, float, list[int]]:
    """Velocity (2,), its standard error (m/s) and the indices into ``track`` used. With four or
    more entries, the one farthest from the line through the others is dropped when it lies more
    than ``OUTLIER_SIGMAS`` noise levels (and ``OUTLIER_MIN`` m) off; the current sweep (dt 0,
    index 0) is never dropped."""
    t = np.array([e[0] for e in track])
    xy = np.array([e[1] for e in track])
    keep = list(range(len(track)))
    if len(track) >= 4:
        worst, worst_err = -1, 0.0
        for k in range(1, len(track)):
            others = [i for i in keep if i != k]
            p0, v, _ = _fit_line(t[others], xy[others])
            err = float(np.linalg.norm(xy[k] - (p0 + v * t[k])))
            if err > worst_err:
                worst, worst_err = k, err
        if worst_err > max(OUTLIER_SIGMAS * noise, OUTLIER_MIN):
            keep.remove(worst)
    tk, xk = t[keep], xy[keep]
    _, v, res = _fit_line(tk, xk)
    dof = len(keep) - 2
    sigma = noise
    if dof > 0:
        # per-axis residual standard deviation (2 coordinates per centroid)
        sigma = max(noise, float(math.sqrt((res**2).sum() / (2 * dof))))
    spread = float(((tk - tk.mean()) ** 2).sum())
    se = sigma / math.sqrt(spread) if spread > 0 else math.inf
    return v, se, keep


def estimate_motion(
    segment: ArrayLike,
    neighbours: Sequence[tuple[float, ArrayLike]],
    ground: GroundModel | None,
    spec: ClassSpec | None,
    segment_at: SegmentFn,
    origin: ArrayLike = (0.0, 0.0, 0.0),
) -> MotionEstimate:
    """The BEV motion of the object whose points in the current sweep are ``segment`` (N, 3+), from
    ``neighbours``: (dt seconds relative to the current sweep, that sweep's points (M, 3+)), all in
    the world frame. ``ground`` (world frame, the current sweep's; the scene's ground stands still)
    separates object points (None: 0.3 m above the lowest point near the object). ``spec`` sets the
    gate and thresholds (see :func:`class_kind`). ``segment_at`` segments an object at a seed
    position (the same segmentation as the current sweep's, so that the centroids are comparable).
    ``origin``: the sensor position (world frame) for the range-adaptive cluster link. See the module
    doc."""
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    seg = np.asarray(segment, dtype=np.float64)
    seg = seg.reshape(-1, seg.shape[-1])[:, :3] if seg.size else np.zeros((0, 3))
    kind = class_kind(spec)
    vmax, vmin, noise = _limits(kind)
    if len(seg) < 3:
        return MotionEstimate(None, None, math.inf, False, None, reason="too few points")
    if kind == "static":
        return MotionEstimate(None, None, math.inf, False, None, reason="a static class")
    floor = float(np.percentile(seg[:, 2], 2.0))
    ref = _shape(seg, ground, floor)
    c0 = ref.centroid
    track: list[tuple[float, F64]] = [(0.0, c0)]
    n_cand: dict[float, int] = {}
    order = sorted((n for n in neighbours if n[0] != 0.0 and n[1] is not None), key=lambda n: abs(n[0]))
    if kind == "vehicle":
        # the sign of a vehicle's heading needs only the nearest sweeps (and a near car is costly)
        order = order[:MAX_NEIGHBOURS_VEHICLE]
    velocity = np.zeros(2)
    for dt, pts in order:
        dt = float(dt)
        p = np.asarray(pts, dtype=np.float64)
        if p.size == 0:
            continue
        p = p.reshape(-1, p.shape[-1])[:, :3]
        gate = vmax * abs(dt) + GATE_SLACK
        if len(track) >= 2:
            # a known velocity narrows the gate to how much it can change (the class's speed range
            # over the extrapolation) but never below the slack
            pred = c0 + velocity * dt
            gate = min(gate, 0.5 * vmax * abs(dt) + GATE_SLACK)
        else:
            pred = c0.copy()
        r = gate + CROP_MARGIN + 0.5 * ref.extent
        crop = np.flatnonzero((np.abs(p[:, 0] - pred[0]) <= r) & (np.abs(p[:, 1] - pred[1]) <= r))
        q = p[crop]
        if ground is not None:
            h = ground.height_above(q)
        else:
            h = q[:, 2] - floor
        nonground = np.flatnonzero((h >= GROUND_TOLERANCE) & (h <= 4.5))
        if len(nonground) < 3:
            continue
        tried: list[F64] = []
        taken = np.zeros(len(q), dtype=bool)
        # the segment at the prediction; when it is not clearly the object, the segments at the
        # centroids of the clusters nearest the prediction (one an earlier segment holds is skipped)
        best = _candidate(q, (float(pred[0]), float(pred[1])), segment_at, ref, pred, gate, ground, floor, tried, taken)
        if best is None or best[0] > ACCEPT_COST:
            labels = cluster_points(q[nonground], o, ClusterParams())
            if (labels >= 0).any():
                lab = labels[labels >= 0]
                nl = int(lab.max()) + 1
                cnt = np.bincount(lab, minlength=nl).astype(np.float64)
                cx = np.bincount(lab, weights=q[nonground[labels >= 0], 0], minlength=nl) / cnt
                cy = np.bincount(lab, weights=q[nonground[labels >= 0], 1], minlength=nl) / cnt
                d = np.hypot(cx - pred[0], cy - pred[1])
                for k in np.argsort(d)[:MAX_CANDIDATES]:
                    members = nonground[labels == k]
                    if d[k] <= gate + 0.5 * ref.extent and taken[members].mean() <= 0.5:
                        c = _candidate(q, (float(cx[k]), float(cy[k])), segment_at, ref, pred, gate, ground, floor,
                                       tried, taken)
                        if c is not None and (best is None or c[0] < best[0]):
                            best = c
        n_cand[dt] = len(tried)
        if best is None:
            continue
        pos = best[1]
        if REFINE_ICP:
            d = icp_shift(seg[:, :2], q[best[2], :2], best[1] - c0)
            if d is not None and float(np.linalg.norm(c0 + d - pred)) <= gate:
                pos = c0 + d
        track.append((dt, pos))
        if len(track) >= 2:
            t = np.array([e[0] for e in track])
            xy = np.array([e[1] for e in track])
            _, velocity, _ = _fit_line(t, xy)
    if len(track) < 2:
        return MotionEstimate(None, None, math.inf, False, None, ((0.0, float(c0[0]), float(c0[1])),),
                              reason="not found in the neighbouring sweeps", candidates=n_cand)
    v, se, keep = _velocity(track, noise)
    rejected = len(track) - len(keep)
    used = tuple((float(track[i][0]), float(track[i][1][0]), float(track[i][1][1])) for i in keep)
    speed = float(np.hypot(v[0], v[1]))
    moving = speed >= vmin and speed >= SPEED_SIGNIFICANCE * se
    reason = ""
    if not moving:
        reason = f"speed {speed:.2f} m/s is below {'the class floor' if speed < vmin else 'the noise'}"
    heading = float(math.atan2(v[1], v[0])) if speed > 0 else None
    return MotionEstimate((float(v[0]), float(v[1])), speed, float(se), bool(moving), heading, used, rejected, reason,
                          n_cand)
