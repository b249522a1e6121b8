"""Boxes from point clusters: heading by L-shape fit, size priors for partial views, class guess,
the one-click box and auto-fit.

Frames: every function works in one z-up frame, the frame of the points it is given (the world
frame in the tools and in pre-labelling); ``origin`` is the sensor position in that frame and the
``ground`` model is fitted in that frame too (:mod:`fusionlabel.assist.ground`). Boxes are
:class:`~fusionlabel.box.Box3D` (geometric centre, (l, w, h), yaw about +z). Metres, radians.

Heading: the L-shape fit searches the rectangle orientation in [0, pi/2) that makes the points
hug two perpendicular edges (the closeness criterion: sum of 1 / max(d, d0) where ``d`` is a
point's distance to the nearest of the two chosen edges), then takes the tight rectangle at that
orientation. When only part of an object is seen (one face, or the near corner), the rectangle is
extended with the class's typical size (:class:`~fusionlabel.ontology.SizePrior`) **away from the
sensor**, keeping the visible near edges where they were measured, unless free space (ground points
the LiDAR saw) says otherwise: toward the sensor when the far side is seen free (a cloud cut to a
camera's field of view), and never past the place where the rays to the seen ground cross the
object's near face.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import wrap_angle
from fusionlabel.assist.cluster import ClusterParams, cluster_points, grow_cluster
from fusionlabel.assist.ground import GROUND_TOLERANCE, GroundModel
from fusionlabel.assist.motion import MotionEstimate, class_kind, estimate_motion
from fusionlabel.box import Box3D
from fusionlabel.ontology import ClassSpec, Ontology

F64 = NDArray[np.float64]

#: Classes a cluster may be guessed as when no candidates are given (names of the default ontology).
DEFAULT_CANDIDATES = ("car", "van", "truck", "bus", "cyclist", "pedestrian")
#: Prior class frequencies (road scenes) for the class guess; classes not listed get
#: ``OTHER_CLASS_PRIOR``. A partly seen car (its rear only) looks like a cyclist's side: the
#: frequency decides such ties.
CLASS_PRIORS = {"car": 0.5, "pedestrian": 0.2, "cyclist": 0.1, "van": 0.08, "truck": 0.06, "bus": 0.03}
OTHER_CLASS_PRIOR = 0.03
#: Classes whose side view is a rider above a bike (low :func:`top_coverage`).
TWO_WHEELERS = frozenset({"cyclist", "bicycle", "motorcycle"})
#: Top coverage above which a cluster looks like a vehicle face rather than a rider on a bike.
TOP_COVER_SPLIT = 0.75
#: Points higher than this above the ground are ignored when segmenting (overhangs, trees).
MAX_OBJECT_HEIGHT = 4.5
#: Classes whose longest plausible length is below this (m) are "small" (people, bikes): their
#: heading comes from the principal axis of the points rather than the L-shape.
SMALL_OBJECT_LENGTH = 3.0
#: One-click segmentation: the range-adaptive link of :class:`ClusterParams`, elliptical (finer
#: across the line of sight, where the azimuth resolution is fine, than along it).
ONE_CLICK_CLUSTER = ClusterParams(tangential=(0.15, 0.008))
#: The across-the-line-of-sight link (base m, per metre of range) of the finest segmentation tried.
FINE_TANGENTIAL = (0.1, 0.004)
#: The across-the-line-of-sight link (base m, per metre of range) of the coarse segmentation.
COARSE_TANGENTIAL = (0.3, 0.012)
#: A person's or a bike's centre lies this far (m) behind the centroid of its points, as seen from
#: the sensor: the LiDAR sees only the near half of a body (about a third of a body's 0.3 m radius).
SMALL_DEPTH_SHIFT = 0.1
#: A person's or a bike's points lie within this share of the class's typical length (+ 5 cm) of
#: its centre: half the length, the farthest a body reaches from its middle.
BODY_RADIUS = 0.5
#: Free-space points (ground) count against a footprint only this far (m) inside its edges (the
#: LiDAR sees a little under a car's bumpers and sills).
FREE_INSET = 0.3
#: A face ends in unobserved space when nothing at all was seen this far (m) past its end.
OPEN_END_GAP = 1.0
#: Free space stops a grown side at the third ray through it (one or two may be stray ground points).
FREE_MIN_POINTS = 3
#: Ground points within this distance (m) of a click are the free space a partly seen object must
#: not grow into.
FREE_SPACE_RADIUS = 8.0
#: A visible extent may exceed the class's largest by this much (m) of range noise and mirrors.
MAX_EXTENT_SLACK = 0.1
#: When the size prior's two assignments of length and width to a cluster's visible extents cost
#: within this much of each other, free space decides between them.
AXIS_AMBIGUITY = 8.0
#: One-click segmentation uses the points at least this high (m) above the ground: kerbs, low
#: vegetation and ground noise (up to about 0.25 m) would bridge a car to a wall or a hedge; a
#: car's body, a person's legs and a bike's wheels reach higher.
SEGMENT_MIN_HEIGHT = 0.3
#: Small classes at least this long (m) are ridden (bikes, scooters): their heading comes from the
#: points below ``BIKE_TOP`` m above the ground and their centre along it from the middle of the
#: points' extent (a rider's torso makes the rear denser).
RIDDEN_LENGTH = 1.2
BIKE_TOP = 1.0
#: A walker's heading from one sweep is poor (its principal axis is the stride or the shoulders,
#: whichever shows more): with the ego's heading known, a walker's heading is taken as the ego axis
#: (ego heading + k * 90 degrees) nearest the principal axis. People walk along the road the ego
#: drives on or across it: in the real KITTI, SUSTechPOINTS and nuScenes samples 85% of the labelled
#: people lie within 20 degrees of an ego axis (docs/assist.md, "Walkers' heading").
WALKER_EGO_AXES = True
#: When a vehicle shows no extent longer than its widest, the L-shape heading is kept if it lies within
#: this many degrees (modulo 90) of the normal of the face (see :func:`end_face_yaw`), else that normal
#: is the heading (a rounded front or rear).
END_FACE_AGREE_DEG = 15.0
#: Two people side by side are cut apart at an empty strip at least this wide (m) across their points
#: when each side holds at least ``PERSON_GAP_SHARE`` of them.
PERSON_GAP = 0.15
PERSON_GAP_SHARE = 0.2
#: A visible extent shorter than this share of the prior's typical size counts as partly seen.
PARTIAL_SHARE = 0.75
#: A post beside a rider (a sign, a lamp, a bollard with a plate) is cut out of a ridden class's
#: segment: a thin column (points within ``POLE_RADIUS`` m in BEV) spanning at least
#: ``POLE_SPAN_SHARE`` of the class's typical height whose top rises more than ``POLE_EXCESS`` m above
#: every point away from it. A rider's own tallest column (the head over the torso) rises only about
#: a head's height (~0.25-0.3 m) above the shoulders and arms beside it; signs are mounted above head
#: height. The column is grown by ``POLE_RADIUS`` steps (``POLE_GROW`` times) to take the post's lower
#: part and its plate.
POLE_RADIUS = 0.12
POLE_SPAN_SHARE = 0.7
POLE_EXCESS = 0.45
POLE_GROW = 3
#: A walker standing in front of someone or something (a companion walking behind, a wall) shows an
#: occluding contour: on the laser rings crossing one bearing the range steps back by more than
#: ``OCCLUSION_STEP`` m (deeper than a torso, ~0.25 m), at the same place across the line of sight
#: (within ``OCCLUSION_EDGE`` m) and the same way round, on at least ``OCCLUSION_MIN_RINGS`` rings and
#: ``OCCLUSION_RING_SHARE`` of the rings crossing that bearing, reaching over ``OCCLUSION_SPAN_SHARE``
#: of the class's typical height. One body does not: a stride's back leg steps back only at leg
#: height, a swinging arm only at arm height (and the arm swinging back is on the other side from the
#: leg swinging back), and a torso's side curves away smoothly. Rings: points whose elevation angles
#: (seen from the sensor) lie within ``RING_GAP_DEG`` of each other.
OCCLUSION_STEP = 0.3
OCCLUSION_EDGE = 0.1
OCCLUSION_MIN_RINGS = 4
OCCLUSION_RING_SHARE = 0.6
OCCLUSION_SPAN_SHARE = 0.45
RING_GAP_DEG = 0.1


@dataclass(frozen=True)
class Rectangle:
    """A BEV rectangle: centre (x, y), ``yaw`` of its first axis, extents ``a`` (along the first
    axis) and ``b`` (along the second), metres."""

    center: tuple[float, float]
    yaw: float
    a: float
    b: float

    def axes(self) -> tuple[F64, F64]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([c, s]), np.array([-s, c])


@dataclass(frozen=True)
class ClassGuess:
    """A class guess: ``label`` and its probability among the candidates, with every candidate's."""

    label: str
    probability: float
    probabilities: dict[str, float] = field(default_factory=dict)
    fit: float = 0.0  # 0..1: how well the best class's size explains the cluster at all


@dataclass(frozen=True)
class BoxFit:
    """Result of a one-click box or an auto-fit: the box (None when nothing was found), the class
    guess, ``confidence`` in [0, 1], the indices of the object's points in the input array, and
    a reason when no box was made. ``heading_source``: ``"shape"`` (the points of this sweep) or
    ``"motion"`` (the direction the object moves over the neighbouring sweeps; for vehicles
    ``"shape+motion"``: the shape's axis, its sign from the motion); ``motion`` the estimate when
    neighbouring sweeps were given."""

    box: Box3D | None
    label: str | None
    confidence: float
    indices: NDArray[np.intp]
    guess: ClassGuess | None = None
    partial: bool = False
    reason: str = ""
    heading_source: str = "shape"
    motion: MotionEstimate | None = None


# ---- heading ----------------------------------------------------------------------------------------
def lshape_yaw(xy: ArrayLike, step_deg: float = 1.0, d0: float = 0.05, max_points: int = 600) -> float:
    """Heading (rad, in [0, pi/2)) of the rectangle that best fits the BEV points ``xy`` (N, 2) by
    the closeness criterion; refined to ``step_deg / 10``."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    if len(p) > max_points:
        p = p[np.linspace(0, len(p) - 1, max_points).astype(np.intp)]
    p = p - p.mean(axis=0)

    def scores(thetas: F64) -> F64:
        c, s = np.cos(thetas), np.sin(thetas)
        c1 = p[:, 0:1] * c + p[:, 1:2] * s  # (N, T)
        c2 = -p[:, 0:1] * s + p[:, 1:2] * c
        out = []
        for cc in (c1, c2):
            lo, hi = cc.min(axis=0), cc.max(axis=0)
            d_lo, d_hi = cc - lo, hi - cc
            use_hi = np.linalg.norm(d_hi, axis=0) < np.linalg.norm(d_lo, axis=0)
            out.append(np.where(use_hi, d_hi, d_lo))
        d = np.maximum(np.minimum(out[0], out[1]), d0)
        return (1.0 / d).sum(axis=0)

    thetas = np.radians(np.arange(0.0, 90.0, step_deg))
    best = thetas[int(np.argmax(scores(thetas)))]
    fine = best + np.radians(np.arange(-step_deg, step_deg + 1e-9, step_deg / 10.0))
    return float(np.mod(fine[int(np.argmax(scores(fine)))], math.pi / 2))


def pca_yaw(xy: ArrayLike) -> tuple[float, float]:
    """Principal BEV axis (rad) of points (N, 2) and the elongation (ratio of the standard
    deviations along the principal and the second axis, >= 1)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0, 1.0
    ev, evec = np.linalg.eigh(np.cov((p - p.mean(axis=0)).T))
    ratio = math.sqrt(max(ev[1], 1e-12) / max(ev[0], 1e-12))
    return float(math.atan2(evec[1, 1], evec[0, 1])), ratio


def end_face_yaw(xy: ArrayLike, half_band: float = 0.1, step_deg: float = 2.0, max_points: int = 600) -> float:
    """Heading (rad, in [0, pi)) of an object whose BEV points (N, 2) show only one end face (a
    vehicle's front or rear): the normal of the straight band ``2 * half_band`` m wide that holds
    the most points (the face, even when rounded, with roof and rear-window rings or a few stray
    points elsewhere). A rounded face looks like a corner to an L-shape fit."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    if len(p) > max_points:
        p = p[np.linspace(0, len(p) - 1, max_points).astype(np.intp)]
    thetas = np.radians(np.arange(0.0, 180.0, step_deg))
    # coordinate across the band's direction theta, sorted per angle
    across = np.sort(-p[:, 0:1] * np.sin(thetas) + p[:, 1:2] * np.cos(thetas), axis=0)  # (N, T)
    best, best_n = 0.0, -1
    for k in range(len(thetas)):
        col = across[:, k]
        n = int((np.searchsorted(col, col + 2.0 * half_band, side="right") - np.arange(len(col))).max())
        if n > best_n:
            best, best_n = float(thetas[k]), n
    return best + math.pi / 2


def rectangle_at(xy: ArrayLike, yaw: float) -> Rectangle:
    """The tightest rectangle with first axis at ``yaw`` around the BEV points (N, 2)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    c, s = math.cos(yaw), math.sin(yaw)
    u = p[:, 0] * c + p[:, 1] * s
    v = -p[:, 0] * s + p[:, 1] * c
    ul, uh, vl, vh = u.min(), u.max(), v.min(), v.max()
    um, vm = (ul + uh) / 2, (vl + vh) / 2
    return Rectangle((um * c - vm * s, um * s + vm * c), yaw, uh - ul, vh - vl)


# ---- class guess ------------------------------------------------------------------------------------
def resolve_class(ontology: Ontology, name: str | None) -> ClassSpec | None:
    """The ontology class for a name: exact, case-insensitive, or via the KITTI / nuScenes mapping."""
    if name is None:
        return None
    spec = ontology.get(name)
    if spec is not None:
        return spec
    low = name.lower()
    for c in ontology:
        if c.name.lower() == low:
            return c
    return ontology.from_kitti(name) or ontology.from_nuscenes(name)


def _log_sigma(prior: ClassSpec, k: int) -> float:
    return max(math.log(prior.size.max[k] / prior.size.min[k]) / 4.0, 0.05)


def _full_cost(v: float, prior: ClassSpec, k: int) -> float:
    """Squared normalised log-distance of a fully seen extent ``v`` from the class's typical one."""
    z = (math.log(max(v, 0.05)) - math.log(prior.size.mean[k])) / _log_sigma(prior, k)
    return z * z


def _bound_cost(v: float, prior: ClassSpec, k: int) -> float:
    """A partly seen extent is a lower bound: it costs only when above the typical size."""
    return _full_cost(v, prior, k) if v > prior.size.mean[k] else 0.0


def _tail_cost(v: float, prior: ClassSpec, k: int) -> float:
    """An extent whose end is not seen (a top cut by the sensor's field of view) is at least ``v``:
    ``-2 ln min(1, 2 P(extent >= v))`` under the class's log-normal prior (0 up to the typical
    size, then about the full cost plus a little)."""
    z = (math.log(max(v, 0.05)) - math.log(prior.size.mean[k])) / _log_sigma(prior, k)
    if z <= 0.0:
        return 0.0
    tail = math.erfc(z / math.sqrt(2.0))  # 2 P(Z >= z)
    return -2.0 * math.log(max(tail, 1e-12))


def _assign_cost(ext: tuple[float, float], prior: ClassSpec) -> float:
    """Size-prior cost of taking the first of two visible extents as the length, the second as
    the width (a lower bound: it may be cut short by the viewpoint)."""
    first, second = ext
    c = _full_cost(first, prior, 0) + _bound_cost(second, prior, 1)
    if second > prior.size.max[1] + MAX_EXTENT_SLACK:
        c += 25.0
    return c


def assign_axes(ext: tuple[float, float], prior: ClassSpec, big_open: bool = False) -> tuple[bool, float]:
    """Which rectangle axis is the class's length: returns (True when the first axis is the length,
    cost). The larger visible extent is taken as a fully seen face (a lower bound too when
    ``big_open``: it ends in unobserved space, see :func:`_open_ends`); the smaller one as a lower
    bound (it may be cut short by the viewpoint)."""
    a, b = ext
    big, small, big_first = (a, b, True) if a >= b else (b, a, False)
    cost = _bound_cost if big_open else _full_cost
    # big face is the length
    c_len = cost(big, prior, 0) + _bound_cost(small, prior, 1)
    # big face is the width; a face clearly wider than the class's widest cannot be its width (a
    # near car's side cut short by the field of view looks as long as a wide car's rear)
    c_wid = cost(big, prior, 1) + _bound_cost(small, prior, 0)
    if big > prior.size.max[1] + MAX_EXTENT_SLACK and big <= prior.size.max[0] + MAX_EXTENT_SLACK:
        c_wid += 25.0
    if c_len <= c_wid:
        return big_first, c_len
    return (not big_first), c_wid


def guess_class(
    ext: tuple[float, float],
    height: float,
    ontology: Ontology,
    candidates: Sequence[str] | None = None,
    priors: dict[str, float] | None = None,
    top_cover: float | None = None,
    height_bound: bool = False,
) -> ClassGuess:
    """Class probabilities from a cluster's visible BEV extents (two axes, m) and height above the
    ground (m), under each candidate class's size prior (log-normal, sigma from its min..max range;
    the smaller BEV extent only as a lower bound) times the class frequency ``priors`` (default
    ``CLASS_PRIORS``). ``top_cover`` (see :func:`top_coverage`), when given, separates a car's
    rear (a full face: high coverage) from a cyclist's side (a rider above a bike: low). With
    ``height_bound`` the top was not seen (cut by the sensor's vertical field of view, or the
    object goes on above the height limit): the height is a lower bound (:func:`_tail_cost`)."""
    pri = CLASS_PRIORS if priors is None else priors
    names = [n for n in (candidates or DEFAULT_CANDIDATES) if n in ontology]
    if not names:
        names = ontology.class_names()
    costs = []
    for n in names:
        spec = ontology[n]
        _, c = assign_axes(ext, spec)
        c += _tail_cost(height, spec, 2) if height_bound else _full_cost(height, spec, 2)
        if top_cover is not None:
            if n in TWO_WHEELERS and top_cover > TOP_COVER_SPLIT:
                c += ((top_cover - TOP_COVER_SPLIT) / 0.08) ** 2
            elif n not in TWO_WHEELERS and spec.size.mean[0] >= SMALL_OBJECT_LENGTH and top_cover < TOP_COVER_SPLIT:
                c += ((TOP_COVER_SPLIT - top_cover) / 0.08) ** 2
        costs.append(c)
    costs_a = np.array(costs)
    logits = -0.5 * costs_a + np.log([max(pri.get(n, OTHER_CLASS_PRIOR), 1e-6) for n in names])
    prob = np.exp(logits - logits.max())
    prob /= prob.sum()
    i = int(np.argmax(prob))
    fit = float(math.exp(-0.5 * costs_a[i] / 3.0))  # per-dimension average
    return ClassGuess(names[i], float(prob[i]), {n: float(p) for n, p in zip(names, prob, strict=True)}, fit)


def top_coverage(pts: ArrayLike, rect: Rectangle, ground_z: float, height: float, bin_m: float = 0.2) -> float | None:
    """Share of the rectangle's longer side (in ``bin_m`` bins) under which some point is higher
    than 60% of ``height`` above ``ground_z``: a car's rear or side is a full face (near 1), a
    cyclist's side is a rider over a bike (low). None for sides shorter than 1 m."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    e1, e2 = rect.axes()
    axis, length = (e1, rect.a) if rect.a >= rect.b else (e2, rect.b)
    if length < 1.0 or len(p) < 5:
        return None
    t = p[:, :2] @ axis
    t0 = float(np.dot(rect.center, axis)) - length / 2
    nb = max(int(math.ceil(length / bin_m)), 1)
    k = np.clip(((t - t0) / bin_m).astype(np.int64), 0, nb - 1)
    high = p[:, 2] - ground_z > 0.6 * height
    occupied = np.bincount(k, minlength=nb) > 0
    covered = np.bincount(k[high], minlength=nb) > 0
    return float(covered.sum() / max(occupied.sum(), 1))


# ---- box from a cluster -------------------------------------------------------------------------------
def _extend(lo: float, hi: float, target: float, sensor: float, exact: bool = False,
            centre: bool = False) -> tuple[float, float]:
    """Grow the interval [lo, hi] to length ``target`` away from ``sensor`` (its coordinate on the
    same axis): the edge nearest the sensor stays. With ``exact`` a longer interval is shortened
    the same way, or about its middle with ``centre`` (else it is kept)."""
    if hi - lo >= target and not exact:
        return lo, hi
    if centre:  # thin objects (a bike's frame) show their middle, not a near face
        m = (lo + hi) / 2
        if hi - lo < target:  # still, a body hides its far half: move half way away from the sensor
            m += (0.25 if abs(sensor - lo) <= abs(sensor - hi) else -0.25) * (target - (hi - lo))
        return m - target / 2, m + target / 2
    if abs(sensor - lo) <= abs(sensor - hi):
        return lo, lo + target
    return hi - target, hi


def box_from_cluster(
    pts: ArrayLike,
    ground: GroundModel | None,
    ontology: Ontology,
    origin: ArrayLike = (0.0, 0.0, 0.0),
    class_hint: str | None = None,
    candidates: Sequence[str] | None = None,
    yaw: float | None = None,
    size: tuple[float, float] | None = None,
    free_xy: ArrayLike | None = None,
    seen_xy: ArrayLike | None = None,
    top_unseen: float | None = None,
    ego_yaw: float | None = None,
) -> tuple[Box3D, ClassGuess, bool]:
    """The box of one object's points (N, 3) (ground removed): L-shape heading (or the given
    ``yaw``), the class from ``class_hint`` or guessed from the size priors, extension to the
    class's typical size away from the sensor ``origin`` where the object is only partly seen,
    bottom on the ``ground`` (None: the lowest point). With ``size`` (length, width) m the
    footprint gets exactly that size, its edges nearest the sensor kept (a track's size applied
    to each frame). ``free_xy`` (M, 2): BEV positions seen as free space (ground points near the
    object); a partly seen object then grows toward the sensor instead when its far side is seen
    free. ``seen_xy`` (K, 2): BEV positions of every return near the object; a face that ends
    where nothing at all was seen (a camera's field of view, an occluder's shadow) may go on, so
    its length is then only a lower bound when choosing which side is the length. ``top_unseen`` (m):
    the object's top was not seen and it reaches at least this high above the ground (its height is
    then a lower bound for the class guess). ``ego_yaw`` (rad, world frame): the ego's heading; a
    walker (class given) is headed along the ego axis nearest its principal axis. Returns (box,
    guess, partial)."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    if len(p) == 0:
        raise ValueError("box_from_cluster: no points")
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    spec = resolve_class(ontology, class_hint) if class_hint is not None else None
    if yaw is not None:
        th = float(yaw)
    else:
        th = lshape_yaw(p[:, :2])
        rect = rectangle_at(p[:, :2], th)
        small = spec.size.max[0] < SMALL_OBJECT_LENGTH if spec is not None else max(rect.a, rect.b) < 2.2
        if small:  # people and bikes show no corners: their principal axis is the better heading
            th_pca, ratio = pca_yaw(p[:, :2])
            if ratio >= 1.2:
                th = th_pca
    rect = rectangle_at(p[:, :2], th)
    cx, cy = rect.center
    g0 = float(ground(cx, cy)) if ground is not None else float(p[:, 2].min())
    top = float(np.percentile(p[:, 2], 99.5)) if len(p) > 50 else float(p[:, 2].max())
    height = max(top - g0, 0.1)
    guess = guess_class((rect.a, rect.b), height if top_unseen is None else max(height, top_unseen), ontology,
                        candidates, top_cover=top_coverage(p, rect, g0, height), height_bound=top_unseen is not None)
    if spec is None:
        spec = ontology[guess.label]
    end_face = (yaw is None and spec.size.max[0] >= SMALL_OBJECT_LENGTH
                and max(rect.a, rect.b) <= spec.size.max[1] + MAX_EXTENT_SLACK)
    if end_face:
        # no visible extent is longer than the vehicle's widest: only its front or rear is seen (an
        # unoccluded side shows its whole length; roof and rear-window rings behind the face may
        # reach deeper than the face is wide), so the length runs across the face, taken as the
        # straight band holding most points. A rounded face looks like a corner to the L-shape fit:
        # its heading is kept only when it agrees with the face's normal
        th_face = end_face_yaw(p[:, :2])
        k = th + np.arange(-2, 3) * (math.pi / 2)
        dk = np.abs(wrap_angle(k - th_face))
        th = float(k[int(np.argmin(dk))]) if dk.min() <= math.radians(END_FACE_AGREE_DEG) else th_face
        rect = rectangle_at(p[:, :2], th)
    e1, e2 = rect.axes()
    big_open = False
    if seen_xy is not None and yaw is None and not end_face:
        big_open = _open_ends(rect, seen_xy, e1 if rect.a >= rect.b else e2)
    if end_face:
        first_is_length = True  # e1 (at th) is the length
    else:
        first_is_length, _ = assign_axes((rect.a, rect.b), spec, big_open) if yaw is None else (True, 0.0)
    u0 = float(np.dot(rect.center, e1))
    v0 = float(np.dot(rect.center, e2))
    lo_u, hi_u = u0 - rect.a / 2, u0 + rect.a / 2
    lo_v, hi_v = v0 - rect.b / 2, v0 + rect.b / 2
    su, sv = float(np.dot(o[:2], e1)), float(np.dot(o[:2], e2))
    # people and bikes vary little in size and their points (arms, pedals, a neighbour) say little
    # about it: with the class given, their footprint is the class's typical one
    template = size is None and class_hint is not None and spec.size.max[0] < SMALL_OBJECT_LENGTH
    if template and yaw is None:
        return _small_object_box(p, ground, spec, o, top, ego_yaw), guess, False
    if template:
        size = (spec.size.mean[0], spec.size.mean[1])

    def footprints(length_first: bool) -> tuple[list[tuple[float, float]], list[tuple[float, float]], bool]:
        """Candidate intervals along e1 and e2 (the first: grown away from the sensor) and partial."""
        len_k, wid_k = (0, 1) if length_first else (1, 0)
        targets, part = [], False
        for ext, k in ((rect.a, len_k), (rect.b, wid_k)):
            mean = spec.size.mean[k]
            part = part or ext < PARTIAL_SHARE * mean
            if size is not None:
                targets.append(float(size[k]))
            else:
                targets.append(mean if ext < PARTIAL_SHARE * mean else ext)
        opts_u = [_extend(lo_u, hi_u, targets[0], su, exact=size is not None, centre=template)]
        opts_v = [_extend(lo_v, hi_v, targets[1], sv, exact=size is not None, centre=template)]
        if free_xy is not None and not template:
            # the other way too, where the box grows: toward the sensor when the far side is seen
            # free (ground points there) and the near side is not (cut by a camera's field of view)
            for opts, lo, hi, t in ((opts_u, lo_u, hi_u, targets[0]), (opts_v, lo_v, hi_v, targets[1])):
                if hi - lo < t:
                    opts.append((hi - t, hi) if opts[0][0] == lo else (lo, lo + t))
        return opts_u, opts_v, part

    cands = [(first_is_length, *footprints(first_is_length))]
    if yaw is None and free_xy is not None and not template:
        # the other assignment of length and width when the size prior hardly tells them apart
        other = (rect.b, rect.a) if first_is_length else (rect.a, rect.b)
        cur = (rect.a, rect.b) if first_is_length else (rect.b, rect.a)
        if _assign_cost(other, spec) - _assign_cost(cur, spec) < AXIS_AMBIGUITY:
            cands.append((not first_is_length, *footprints(not first_is_length)))
    trim = None
    if free_xy is not None and not template and size is None:
        # a grown side stops where free space begins (at least the class's smallest size)
        f = np.asarray(free_xy, dtype=np.float64).reshape(-1, 2)
        fu, fv = f @ e1, f @ e2
        seen_u = (u0 - rect.a / 2, u0 + rect.a / 2)
        seen_v = (v0 - rect.b / 2, v0 + rect.b / 2)
        # where the rays to the seen ground cross the line of the near face: the face cannot reach there
        cross_u = _ray_crossings(fu, fv, su, sv, seen_v[0] if abs(sv - seen_v[0]) <= abs(sv - seen_v[1]) else seen_v[1])
        cross_v = _ray_crossings(fv, fu, sv, su, seen_u[0] if abs(su - seen_u[0]) <= abs(su - seen_u[1]) else seen_u[1])

        def trim(length_first: bool, iu: tuple[float, float], iv: tuple[float, float]) -> tuple:
            mins = (spec.size.min[0], spec.size.min[1]) if length_first else (spec.size.min[1], spec.size.min[0])
            return (_stop_at_free(*iu, *seen_u, mins[0], cross_u),
                    _stop_at_free(*iv, *seen_v, mins[1], cross_v))

    k, (lo_u, hi_u), (lo_v, hi_v) = _least_free(cands, e1, e2, free_xy, trim, (su, sv))
    first_is_length, partial = cands[k][0], cands[k][3]
    um, vm = (lo_u + hi_u) / 2, (lo_v + hi_v) / 2
    centre_xy = um * e1 + vm * e2
    du, dv = hi_u - lo_u, hi_v - lo_v
    if first_is_length:
        length, width, box_yaw = du, dv, th
    else:
        length, width, box_yaw = dv, du, th + math.pi / 2
    gz = float(ground(centre_xy[0], centre_xy[1])) if ground is not None else g0
    height = max(top - gz, 0.1)
    if height < 0.5 * spec.size.min[2]:
        height = spec.size.mean[2]
        partial = True
    box = Box3D((float(centre_xy[0]), float(centre_xy[1]), gz + height / 2), (length, width, height),
                float(wrap_angle(box_yaw)))
    return box, guess, partial


def _least_free(cands: list[tuple[bool, list[tuple[float, float]], list[tuple[float, float]], bool]], e1: F64,
                e2: F64, free_xy: ArrayLike | None, trim: Callable[..., tuple] | None = None,
                sensor: tuple[float, float] = (0.0, 0.0)) -> tuple[int, tuple[float, float], tuple[float, float]]:
    """Among candidate footprints (per candidate axis assignment, intervals along ``e1`` and ``e2``;
    the very first is the default: the size prior's assignment grown away from the sensor), the one
    that the fewest rays from the ``sensor`` (its coordinates along e1, e2) to the ``free_xy`` (M, 2)
    BEV points seen as free space (ground) pass through, more than ``FREE_INSET`` m inside it (the
    LiDAR saw through there); another than the default is taken only when clearly fewer rays cross
    it (at most half and 3 fewer). The chosen one is then cut back by ``trim(length_first, iu, iv)``
    where free space says the object ends. Returns (candidate index, interval along e1, along e2)."""
    if trim is None:
        def trim(_: bool, iu: tuple[float, float], iv: tuple[float, float]) -> tuple:
            return iu, iv
    best = (0, cands[0][1][0], cands[0][2][0])
    if free_xy is None:
        return (0, *trim(cands[0][0], best[1], best[2]))
    f = np.asarray(free_xy, dtype=np.float64).reshape(-1, 2)
    fu, fv = f @ e1, f @ e2

    du, dv = fu - sensor[0], fv - sensor[1]

    def count(iu: tuple[float, float], iv: tuple[float, float]) -> int:
        """Rays from the sensor to the free-space points that pass through the footprint shrunk
        by FREE_INSET (slab test; a point inside it counts too)."""
        t_lo, t_hi = np.zeros(len(fu)), np.ones(len(fu))
        for d, s0, (a, b) in ((du, sensor[0], iu), (dv, sensor[1], iv)):
            a, b = a + FREE_INSET, b - FREE_INSET
            inside = (s0 > a) & (s0 < b)
            with np.errstate(divide="ignore", invalid="ignore"):
                t1, t2 = (a - s0) / d, (b - s0) / d
            flat = np.abs(d) < 1e-12
            t1 = np.where(flat, -np.inf if inside else np.inf, t1)
            t2 = np.where(flat, np.inf if inside else -np.inf, t2)
            t_lo = np.maximum(t_lo, np.minimum(t1, t2))
            t_hi = np.minimum(t_hi, np.maximum(t1, t2))
        return int(np.count_nonzero(t_lo < t_hi))

    n0 = count(best[1], best[2])
    n_best = n0
    for k, (_, opts_u, opts_v, _) in enumerate(cands):
        for iu in opts_u:
            for iv in opts_v:
                n = count(iu, iv)
                if n < n_best and n <= 0.5 * n0 and n <= n0 - 3:
                    best, n_best = (k, iu, iv), n
    return (best[0], *trim(cands[best[0]][0], best[1], best[2]))


def _open_ends(rect: Rectangle, seen_xy: ArrayLike, axis: F64) -> bool:
    """Whether the rectangle's extent along ``axis`` (one of its unit axes) ends in unobserved
    space: no return at all (ground or object) within ``OPEN_END_GAP`` m past one of its ends,
    across the rectangle's width (a face cut by the field of view of the cloud or by a shadow)."""
    q = np.asarray(seen_xy, dtype=np.float64).reshape(-1, 2) - np.asarray(rect.center)
    other = np.array([-axis[1], axis[0]])
    t, w = q @ axis, q @ other
    half = (rect.a if abs(float(np.dot(axis, rect.axes()[0]))) > 0.5 else rect.b) / 2
    half_w = (rect.b if abs(float(np.dot(axis, rect.axes()[0]))) > 0.5 else rect.a) / 2
    band = np.abs(w) <= half_w
    for sign in (1.0, -1.0):
        past = sign * t - half
        if not np.any(band & (past > 0.05) & (past < OPEN_END_GAP)):
            return True
    return False


def _ray_crossings(f_along: F64, f_across: F64, s_along: float, s_across: float, near: float) -> F64:
    """Where (coordinate along the face) the rays from the sensor (``s_along``, ``s_across``) to the
    free-space points (``f_along``, ``f_across``) cross the line ``across = near`` of an object's
    seen near face; only rays that do cross it (points beyond the line). The LiDAR saw through
    there, so the face does not reach any of these places."""
    d = f_across - s_across
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (near - s_across) / d
    ok = np.isfinite(t) & (t > 0.0) & (t < 1.0)
    return s_along + t[ok] * (f_along[ok] - s_along)


def _stop_at_free(lo: float, hi: float, seen_lo: float, seen_hi: float, minimum: float,
                  cross: F64) -> tuple[float, float]:
    """Trim the grown part of an interval [lo, hi] (the points cover [seen_lo, seen_hi]) back to the
    ``FREE_MIN_POINTS``-th ray crossing ``cross`` (see :func:`_ray_crossings`) past the seen end,
    never below ``minimum`` nor the seen extent."""
    k = FREE_MIN_POINTS - 1
    if hi > seen_hi + 1e-6:  # grown toward +
        beyond = np.sort(cross[(cross > seen_hi) & (cross < hi)])
        if len(beyond) > k:
            hi = max(float(beyond[k]), lo + minimum, seen_hi)
    if lo < seen_lo - 1e-6:  # grown toward -
        beyond = np.sort(cross[(cross < seen_lo) & (cross > lo)])[::-1]
        if len(beyond) > k:
            lo = min(float(beyond[k]), hi - minimum, seen_lo)
    return lo, hi


def _body_around(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], spec: ClassSpec) -> NDArray[np.intp]:
    """The part of a segment (indices ``sel`` into ``p``) that is one person or bike: the points
    within ``BODY_RADIUS`` x the class's typical length of a centre that starts at the click ``xy``
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
    keep = np.hypot(q[:, 0] - c[0], q[:, 1] - c[1]) <= BODY_RADIUS * length + 0.05
    return sel[keep] if keep.sum() >= 3 else sel


def _split_at_gap(p: F64, sel: NDArray[np.intp], xy: tuple[float, float]) -> NDArray[np.intp]:
    """Two people side by side (shoulder to shoulder, closer than a body length): the points
    ``sel`` (indices into ``p``) are split where an empty strip at least ``PERSON_GAP`` m wide
    crosses the whole segment along its principal BEV axis (a body seen from any side, legs and
    arms included, shows none: the torso fills the gap between the legs) and the part whose
    centroid is nearer the click ``xy`` is kept; both parts must hold ``PERSON_GAP_SHARE`` of the
    points."""
    if len(sel) < 10:
        return sel
    q = p[sel, :2]
    th, _ = pca_yaw(q)
    t = q @ np.array([math.cos(th), math.sin(th)])
    order = np.argsort(t)
    gaps = np.diff(t[order])
    lo = max(int(math.ceil(PERSON_GAP_SHARE * len(t))) - 1, 0)
    hi = len(t) - 1 - lo
    if hi <= lo:
        return sel
    k = lo + int(np.argmax(gaps[lo:hi]))
    if gaps[k] < PERSON_GAP:
        return sel
    a, b = order[: k + 1], order[k + 1:]
    c = np.asarray(xy, dtype=np.float64)
    near_a = np.linalg.norm(q[a].mean(axis=0) - c) <= np.linalg.norm(q[b].mean(axis=0) - c)
    return sel[np.sort(a if near_a else b)]


def _cut_occluded(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], origin: ArrayLike,
                  ground: GroundModel, spec: ClassSpec) -> NDArray[np.intp]:
    """A walker's segment (indices ``sel`` into ``p``, world frame) cut at an occluding contour (see
    ``OCCLUSION_STEP``): someone walking behind the clicked person and to one side, partly hidden by
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
    ring[order] = np.concatenate([[0], np.cumsum(np.diff(el[order]) > math.radians(RING_GAP_DEG))])
    steps = []  # (ring, s at the step, +1 when the nearer side has the larger s, step mid-range, height)
    spans = []  # (ring, s min, s max)
    for r in range(int(ring.max()) + 1):
        m = np.flatnonzero(ring == r)
        if len(m) < 2:
            continue
        m = m[np.argsort(s[m])]
        spans.append((r, s[m[0]], s[m[-1]]))
        for a, b in zip(m[:-1], m[1:], strict=True):
            if s[b] - s[a] <= OCCLUSION_EDGE and abs(rho[b] - rho[a]) > OCCLUSION_STEP:
                steps.append((r, 0.5 * (s[a] + s[b]), 1 if rho[b] < rho[a] else -1, 0.5 * (rho[a] + rho[b]),
                              float(min(h[a], h[b]))))
    if len(steps) < OCCLUSION_MIN_RINGS:
        return sel
    best = None
    for _, s0, sign, _, _ in steps:
        same = [st for st in steps if st[2] == sign and abs(st[1] - s0) <= OCCLUSION_EDGE]
        rings = {st[0] for st in same}
        crossing = sum(1 for r, lo, hi in spans if lo < s0 < hi)
        hs = [st[4] for st in same]
        if (len(rings) >= OCCLUSION_MIN_RINGS and len(rings) >= OCCLUSION_RING_SHARE * max(crossing, 1)
                and max(hs) - min(hs) >= OCCLUSION_SPAN_SHARE * spec.size.mean[2]
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


def _drop_pole(p: F64, sel: NDArray[np.intp], ground: GroundModel, spec: ClassSpec) -> NDArray[np.intp]:
    """A ridden class's segment (indices ``sel`` into ``p``, world frame) without a post standing
    beside the rider: a thin vertical column (see ``POLE_RADIUS``, ``POLE_SPAN_SHARE``) whose top
    rises more than ``POLE_EXCESS`` m above every point farther than ``2 x POLE_RADIUS`` from it,
    grown to the points within ``POLE_RADIUS`` of it. Unchanged when no such column is found or
    the rest would be under half the segment (or under 10 points)."""
    if len(sel) < 10:
        return sel
    q = p[sel]
    h = ground.height_above(q)
    xy = q[:, :2]
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])  # (N, N), N <= a few hundred
    near = d <= POLE_RADIUS
    hi = np.where(near, h[None, :], -np.inf).max(axis=1)
    lo = np.where(near, h[None, :], np.inf).min(axis=1)
    away = np.where(d > 2 * POLE_RADIUS, h[None, :], -np.inf).max(axis=1)
    pole = (hi - lo >= POLE_SPAN_SHARE * spec.size.mean[2]) & (hi - away > POLE_EXCESS)
    if not pole.any():
        return sel
    drop = near[pole].any(axis=0)
    for _ in range(POLE_GROW):
        drop = drop | near[drop].any(axis=0)
    keep = ~drop
    if keep.sum() < max(10, 0.5 * len(sel)):
        return sel
    return sel[keep]


def _small_object_box(p: F64, ground: GroundModel | None, spec: ClassSpec, origin: F64, top: float,
                      ego_yaw: float | None = None) -> Box3D:
    """A person's or a bike's box from its points (N, 3): the class's typical footprint, its length
    along the principal BEV axis of the points (a walker's legs and a bike's frame lie along the
    heading; the sign stays ambiguous), centred ``SMALL_DEPTH_SHIFT`` m behind the points' centroid
    as seen from the sensor ``origin`` (the LiDAR sees only the near half of a body). With the ego's
    heading ``ego_yaw`` (rad, world frame) a walker's heading is the ego axis nearest that principal
    axis (see ``WALKER_EGO_AXES``)."""
    rider = spec.size.mean[0] >= RIDDEN_LENGTH
    low = p
    if rider and ground is not None:
        # a bike (wheels, frame, the rider's legs) lies along the heading; the torso and arms above
        # spread across it
        below = p[ground.height_above(p) < BIKE_TOP]
        if len(below) >= 10:
            low = below
    th, _ = pca_yaw(low[:, :2])
    if not rider and ego_yaw is not None and WALKER_EGO_AXES:
        th = snap_to_axes(th, ego_yaw)
    e1 = np.array([math.cos(th), math.sin(th)])
    e2 = np.array([-e1[1], e1[0]])
    u, v = p[:, :2] @ e1, p[:, :2] @ e2
    lo, hi = np.percentile(u, [5.0, 95.0])
    # along the heading the middle of the extent (a rider's torso makes the rear denser), across it
    # the centroid
    c = (0.5 * (lo + hi) if rider else float(u.mean())) * e1 + float(v.mean()) * e2
    los = c - origin[:2]
    c = c + SMALL_DEPTH_SHIFT * los / max(float(np.linalg.norm(los)), 1e-9)
    gz = float(ground(c[0], c[1])) if ground is not None else float(p[:, 2].min())
    height = max(top - gz, 0.1)
    if height < 0.5 * spec.size.min[2]:
        height = spec.size.mean[2]
    return Box3D((float(c[0]), float(c[1]), gz + height / 2), (spec.size.mean[0], spec.size.mean[1], height),
                 float(wrap_angle(th)))


def snap_to_axes(yaw: float, axes_yaw: float) -> float:
    """The direction among ``axes_yaw + k * pi / 2`` (rad) nearest ``yaw`` (rad)."""
    q = math.pi / 2
    return float(wrap_angle(axes_yaw + round((yaw - axes_yaw) / q) * q))


def _nonground(pts: F64, ground: GroundModel | None, tolerance: float) -> NDArray[np.intp]:
    if ground is None:
        return np.arange(len(pts))
    dz = ground.height_above(pts)
    return np.flatnonzero((dz >= tolerance) & (dz <= MAX_OBJECT_HEIGHT))


def click_from_ray(
    pts: ArrayLike, ray_origin: ArrayLike, ray_direction: ArrayLike, ground: GroundModel | None = None,
    tolerance_rad: float = 0.01, min_tolerance_m: float = 0.15,
) -> tuple[float, float] | None:
    """The BEV position (x, y) that a 3D-view click ray hits: the nearest non-ground point within
    ``tolerance_rad`` (angle, at least ``min_tolerance_m``) of the ray, else where the ray meets the
    ground (z = ground height), else None. Ray and points in the same frame."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    o = np.asarray(ray_origin, dtype=np.float64).reshape(3)
    d = np.asarray(ray_direction, dtype=np.float64).reshape(3)
    d = d / np.linalg.norm(d)
    idx = _nonground(p, ground, GROUND_TOLERANCE)
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
    axis (people walk along the ego's road or across it); None: the principal axis."""
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
    idx = _nonground(p, ground, SEGMENT_MIN_HEIGHT if spec is not None else GROUND_TOLERANCE)
    if len(idx) == 0:
        return BoxFit(None, None, 0.0, empty, reason="no non-ground points")
    reach = None
    if spec is not None:
        reach = math.hypot(spec.size.max[0], spec.size.max[1]) * 0.5 + 0.3
    # the tighter segmentation (elliptical link, points above kerb height) may split an object: it
    # needs the class to tell a fragment from a small object; without a hint the round link on all
    # non-ground points is used
    prm = params or (ONE_CLICK_CLUSTER if spec is not None else ClusterParams())
    # two segmentations: the fine one may split an object (sparse rings on a near roof, an
    # occluder's shadow), the coarse one may merge neighbours; the one whose shape the class
    # (given, or the best guess) explains better wins
    options = []
    coarse = ClusterParams(**{**prm.__dict__, "base": 0.7, "per_metre": 0.02, "max_radius": 1.5,
                              "tangential": None if prm.tangential is None else COARSE_TANGENTIAL})
    tries = [prm, coarse]
    if prm.tangential is not None:
        # a third, finer across the line of sight: on a dense sensor a car 0.4 m beside a wall or a
        # parked row still links at the fine link sized for coarse sensors
        tries.append(ClusterParams(**{**prm.__dict__, "tangential": FINE_TANGENTIAL}))
    for cp in tries:
        sel = _segment(p, idx, xy, origin, cp, reach)
        if len(sel):
            # a later one must be clearly better (the coarse one may have swallowed a neighbour, the
            # finest may have split the object)
            cost = _shape_cost(p[sel], ground, onto, spec, candidates) + 1.5 * len(options)
            options.append((cost, len(options), sel, cp))
    if not options:
        return BoxFit(None, None, 0.0, empty, reason="no object points near the click")
    _, _, sel, chosen = min(options, key=lambda o: (o[0], o[1]))
    sel = _small_object_cuts(p, sel, xy, origin, ground, spec)
    free = None
    if ground is not None:
        near = np.flatnonzero(np.hypot(p[:, 0] - xy[0], p[:, 1] - xy[1]) <= FREE_SPACE_RADIUS)
        free = p[near[ground.height_above(p[near]) < GROUND_TOLERANCE], :2]
    box, guess, partial = box_from_cluster(p[sel], ground, onto, origin, class_hint, candidates, free_xy=free,
                                           seen_xy=None if free is None else p[near, :2], ego_yaw=ego_yaw)
    label = spec.name if spec is not None else guess.label
    prob = guess.probabilities.get(label, guess.probability) if spec is None else 1.0
    conf = float(np.clip(prob * guess.fit * min(1.0, len(sel) / 30.0) * (0.8 if partial else 1.0), 0.0, 1.0))
    if neighbours is None:
        return BoxFit(box, label, conf, sel, guess, partial)
    mspec = spec if spec is not None else resolve_class(onto, label)
    min_height = SEGMENT_MIN_HEIGHT if spec is not None else GROUND_TOLERANCE

    def segment_at(q: F64, seed: tuple[float, float]) -> NDArray[np.intp]:
        # the same segmentation as this sweep's (the option that won), so the centroids compare;
        # with a class, only the points within its reach (+ a margin, so that a cluster going on
        # beyond the reach is still cut there) are clustered
        near = np.arange(len(q))
        if reach is not None:
            near = np.flatnonzero(np.hypot(q[:, 0] - seed[0], q[:, 1] - seed[1]) <= reach + NEIGHBOUR_MARGIN)
        qn = q[near]
        qi = _nonground(qn, ground, min_height)
        if len(qi) == 0:
            return np.zeros(0, dtype=np.intp)
        s = _segment(qn, qi, seed, origin, chosen, reach)
        return near[_small_object_cuts(qn, s, seed, origin, ground, spec)] if len(s) else near[s]

    motion = estimate_motion(p[sel], neighbours, ground, mspec, segment_at, origin=origin)
    box, source = heading_from_motion(box, motion, mspec)
    return BoxFit(box, label, conf, sel, guess, partial, heading_source=source, motion=motion)


#: In a neighbouring sweep, an object of a given class is segmented among the points within its
#: reach of the seed plus this margin (m).
NEIGHBOUR_MARGIN = 1.5
#: A vehicle's motion sets only the sign of its shape heading (see docs/assist.md: on the synthetic
#: cars the L-shape axis is more precise than the direction of the centroids' motion).
VEHICLE_MOTION_SIGN_ONLY = True


def heading_from_motion(box: Box3D, motion: MotionEstimate, spec: ClassSpec | None) -> tuple[Box3D, str]:
    """The box headed by the object's motion when it clearly moves: a walker or rider takes the
    direction of motion as its yaw (centre and size kept: the single-sweep principal axis of a body
    is poor); a vehicle keeps its shape's axis, turned by pi when that points against the motion.
    Returns (box, heading source: ``"motion"``, ``"shape+motion"`` or ``"shape"``)."""
    if not motion.moving or motion.heading is None:
        return box, "shape"
    kind = class_kind(spec)
    if kind in ("walker", "ridden"):
        return box.replace(yaw=float(wrap_angle(motion.heading))), "motion"
    if kind == "vehicle":
        if VEHICLE_MOTION_SIGN_ONLY:
            if abs(wrap_angle(box.yaw - motion.heading)) > math.pi / 2:
                return box.replace(yaw=float(wrap_angle(box.yaw + math.pi))), "shape+motion"
            return box, "shape+motion"
        return box.replace(yaw=float(wrap_angle(motion.heading))), "motion"
    return box, "shape"


def _small_object_cuts(p: F64, sel: NDArray[np.intp], xy: tuple[float, float], origin: ArrayLike,
                       ground: GroundModel | None, spec: ClassSpec | None) -> NDArray[np.intp]:
    """A person's or a bike's segment cut out of its cluster (a companion behind, the mean shift
    around the click, walkers side by side, a post beside a rider); other classes unchanged."""
    if spec is not None and spec.size.max[0] < SMALL_OBJECT_LENGTH:
        if spec.size.mean[0] < RIDDEN_LENGTH and ground is not None:
            sel = _cut_occluded(p, sel, xy, origin, ground, spec)
        sel = _body_around(p, sel, xy, spec)
        if spec.size.mean[0] < RIDDEN_LENGTH:
            sel = _split_at_gap(p, sel, xy)
        elif ground is not None:
            sel = _drop_pole(p, sel, ground, spec)
    return sel


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
                candidates: Sequence[str] | None) -> float:
    """How badly a segment's visible extents and height fit the class ``spec`` (or, when None, the
    best candidate class): the size-prior cost of :func:`guess_class`."""
    th = lshape_yaw(pts[:, :2])
    rect = rectangle_at(pts[:, :2], th)
    cx, cy = rect.center
    g0 = float(ground(cx, cy)) if ground is not None else float(pts[:, 2].min())
    height = max(float(np.percentile(pts[:, 2], 99.5)) - g0, 0.1)
    if spec is not None:
        return assign_axes((rect.a, rect.b), spec)[1] + _full_cost(height, spec, 2)
    guess = guess_class((rect.a, rect.b), height, ontology, candidates,
                        top_cover=top_coverage(pts, rect, g0, height))
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
) -> BoxFit:
    """Tighten or grow a rough ``box`` to its points (same frame as ``points`` (N, 3+)): the
    points inside the box enlarged by ``margin`` m on every side, minus ground, give the new
    footprint (of the cluster holding most points inside the rough box; keeping the yaw, or with
    ``fit_yaw`` the L-shape yaw within ``yaw_window_deg`` of the box's, either heading kept),
    top at the highest point and bottom on the ground (or the lowest point when ``ground`` is
    None). Along an axis where the points cover less than
    ``PARTIAL_SHARE`` of the rough box (only the near face is seen), the rough size is kept and
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
        if hi - lo < PARTIAL_SHARE * rough:
            if sensor is not None:
                lo, hi = _extend(lo, hi, rough, float(np.dot(sensor, axis)))
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
