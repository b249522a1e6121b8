"""Track-level pre-labels: one object, one consistent box over the whole track.

After association (:mod:`fusionlabel.assist.prelabel`) every track is finished as a whole, in the
**world** frame:

- **fragments merged**: a track whose boxes lie inside another track's boxes at most of its frames
  (a car's wheel arch or a person standing by a car split off by the clustering) is dropped;
  a track that starts where an ended one of the same kind would be by its motion (an occlusion
  broke it) is joined to it (:func:`merge_fragments`);
- **one size** per track: vehicles from their best-seen frames (fully seen, most points; median),
  people and riders from their points (a high quantile of the per-frame extents along and across
  the heading plus a quarter of the point spacing, clipped to the class's limits), never the class
  prior alone;
- **heading**: movers along their motion (a local straight-line fit of the centres, smoothed);
  parked objects one heading for the whole track: the axis from the best views, its direction
  from the car's shape (the cabin sits behind the middle: the hood is longer than the trunk) by a
  vote over the frames that show the side, so the 180-degree ambiguity is resolved per track;
  a standing person along the thinner axis of the rectangle its upper body's points hug over the
  whole track (:func:`body_axis`);
- **smoothed poses**: a parked object gets one box at every frame, a mover's centres are smoothed
  by a local linear fit in time (people and riders: without the frames it leaves far off);
- **riders seen end-on**: a moving "person" whose points reach along its motion as a bike's do is
  a rider (:func:`ridden_instead`); a rider whose side was never seen is at least its class's
  typical length.

:func:`reduce_keyframes` keeps only the keyframes a track's interpolation needs (accepting a
proposal: :class:`fusionlabel.assist.review.AcceptProposal`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from calib.transforms import wrap_angle
from fusionlabel.assist.fit import SMALL_OBJECT_LENGTH, box_from_cluster, cabin_vote
from fusionlabel.assist.fit.heading import lshape_yaw, pca_yaw
from fusionlabel.box import Box3D
from fusionlabel.geometry import points_in_boxes
from fusionlabel.interpolation import interpolate_boxes_at
from fusionlabel.ontology import Ontology

F64 = NDArray[np.float64]


class Detection(Protocol):
    """What a track's frame offers (:class:`fusionlabel.assist.prelabel.Detection`): the world
    ``box``, class ``label``, ``score``, ``n_points`` and the cluster's world ``points`` (M, 3)
    with the ``ground``, sensor ``origin`` and ego heading ``ego_yaw`` it was boxed with."""

    box: Box3D
    label: str
    score: float
    n_points: int
    points: Any
    ground: Any
    origin: Any
    ego_yaw: float | None

#: keyframe reduction tolerances: BEV/3D centre distance (m) and heading (rad)
KEYFRAME_TOL_M = 0.15
KEYFRAME_TOL_YAW = math.radians(3.0)
#: ... and the centre distance at most this share of the box's smaller BEV side (a walker's
#: 0.3 x 0.5 m box 15 cm off its place overlaps it by a third; a car's tolerance stays 0.15 m)
KEYFRAME_TOL_SHARE = 0.1


@dataclass(frozen=True)
class TrackParams:
    """Knobs of the track-level finishing (metres, seconds, radians)."""

    #: a track is a mover when its straight-line fit moves at least this fast (m/s) and this far (m)
    moving_speed: float = 0.5
    moving_distance: float = 1.0
    #: half window (frames) of the local motion fits (heading, smoothing)
    window: int = 4
    #: people and riders: a frame whose box lies farther than this (m) from the local motion fit
    #: (and 3 median residuals) is left out of the fits (a neighbour merged into its cluster)
    small_reject_m: float = 0.2
    #: share of a track's boxes inside another (bigger) track's boxes that makes it a fragment
    fragment_share: float = 0.6
    fragment_margin: float = 0.3
    #: joining tracks over a gap: at most this many frames, within gate_m + gate_per_s x gap (s) of the prediction
    join_frames: int = 10
    join_gate_m: float = 1.5
    join_gate_per_s: float = 2.0
    #: one still object, two tracks (a passer-by split its cluster for a while and a second track
    #: started): tracks of one kind whose centres stay within ``still_spread_m`` (median distance
    #: to their median) and whose medians lie within ``still_gate_m`` (people and riders: a third
    #: of it) are one track, overlapping in time or not
    still_spread_m: float = 0.5
    still_gate_m: float = 1.0
    #: quantile of the per-frame extents that sizes people and riders, plus ``small_margin`` x the
    #: point spacing (the median distance of a point to its nearest neighbour): a sweep's extent
    #: falls short of the body by up to a spacing, its best-seen frames by a fraction of one
    small_quantile: float = 0.9
    small_margin: float = 0.25
    #: a still person or rider is boxed from the union of its points over the track (at least this
    #: many); people (typical length under ``walker_length`` m) face across its principal axis
    still_min_points: int = 30
    walker_length: float = 1.0
    #: a still person's heading: from the points above this share of its top (the upper body)
    torso_share: float = 0.55
    #: a moving vehicle's heading: the axes of its fitted boxes (the L-shape's edges, known
    #: modulo 90 degrees) chained through the track from the best-seen frame whose axis lies
    #: within ``axis_gate`` (rad) of the motion's direction; from one frame to the next the axis
    #: nearest the heading expected there (the last heading turned as the motion turned, or as
    #: the last two taken axes turned, at most ``axis_turn_max`` rad/s), when it is within
    #: ``axis_step`` + ``axis_rate`` x the time between them of it (rad, rad/s; at most
    #: ``axis_step_max``), or else within ``axis_gate`` of the motion's direction (a turn
    #: begins), and within ``axis_drift`` of the motion, on frames with at least
    #: ``axis_min_points`` points; elsewhere the heading turns as the motion does (a line fit over
    #: a few frames, which lags in turns and at the track's ends). Not smoothed further: a fitted
    #: axis is within a degree or two where it is taken.
    axis_gate: float = math.radians(15.0)
    axis_step: float = math.radians(5.0)
    axis_rate: float = 0.5
    axis_turn_max: float = 1.5
    axis_step_max: float = math.radians(40.0)
    axis_drift: float = math.radians(60.0)
    axis_min_points: int = 80
    #: a vehicle's length and width: this quantile of its fully seen frames' fitted extents (a
    #: partial view or an occluded corner only shortens a fit); with fewer than
    #: ``min_full_frames`` such frames not under the class's typical size
    size_quantile: float = 0.8
    min_full_frames: int = 3
    #: extents of the union of a still person's or rider's points: this low / high percentile
    still_percentile: float = 2.0
    #: a rider's length is measured when at least ``side_frames`` frames see its side at least
    #: ``side_angle`` (rad) off its heading; else it is at least the class's typical length
    side_frames: int = 3
    side_angle: float = math.radians(15.0)
    #: a moving "person" whose points reach along its motion as far as a rider's smallest length
    #: at this many frames (and this share of its frames) is a rider
    rider_frames: int = 3
    rider_share: float = 0.1


# ---- keyframes ------------------------------------------------------------------------------------
def _box_error(a: Box3D, b: Box3D) -> tuple[float, float]:
    return (float(np.linalg.norm(np.subtract(a.center, b.center))), abs(wrap_angle(a.yaw - b.yaw)))


def _within(a: Box3D, b: Box3D, tol_m: float, tol_yaw: float) -> bool:
    d, y = _box_error(a, b)
    return d <= min(tol_m, KEYFRAME_TOL_SHARE * min(b.size[0], b.size[1])) and y <= tol_yaw


def reduce_keyframes(boxes: Mapping[int, Box3D], method: str = "smooth", tol_m: float = KEYFRAME_TOL_M,
                     tol_yaw: float = KEYFRAME_TOL_YAW, hold: bool = False) -> dict[int, Box3D]:
    """The keyframes a track needs: greedily (in frame order) drop every keyframe whose removal
    keeps the track's interpolation (``method``) within ``tol_m`` (centre, m; at most
    ``KEYFRAME_TOL_SHARE`` of the given box's smaller BEV side) and ``tol_yaw`` (rad) of every
    given box near it; the first and last are kept (the track's span). With
    ``hold`` (the track's ``end`` is set to the last frame, so its latest keyframe box is held up
    to it) the trailing keyframes go too while the held box stays within tolerance: a parked
    object keeps one keyframe. World-frame boxes in, a subset out."""
    frames = sorted(boxes)
    if len(frames) <= 2:
        keep = list(frames)
        while hold and len(keep) > 1 and _within(boxes[keep[-2]], boxes[keep[-1]], tol_m, tol_yaw):
            keep.pop()
        return {f: boxes[f] for f in keep}
    keep = list(frames)
    i = 1
    while i < len(keep) - 1:
        trial = keep[:i] + keep[i + 1:]
        lo, hi = keep[max(i - 2, 0)], keep[min(i + 2, len(keep) - 1)]
        check = [f for f in frames if lo <= f <= hi]
        got = interpolate_boxes_at({f: boxes[f] for f in trial}, check, method)
        ok = all(g is not None and _within(g, boxes[f], tol_m, tol_yaw) for f, g in zip(check, got, strict=True))
        if ok:
            keep = trial
        else:
            i += 1
    while hold and len(keep) > 1 and all(_within(boxes[keep[-2]], boxes[f], tol_m, tol_yaw)
                                         for f in frames if f > keep[-2]):
        keep.pop()
    return {f: boxes[f] for f in keep}


# ---- motion ---------------------------------------------------------------------------------------
def line_velocity(t: F64, c: F64) -> F64:
    """Least-squares velocity (D,) of positions ``c`` (N, D) at times ``t`` (N,) s."""
    t = t - t.mean()
    den = float((t * t).sum())
    if den <= 0:
        return np.zeros(c.shape[1])
    return (t[:, None] * (c - c.mean(axis=0))).sum(axis=0) / den


def _local_fit(t: F64, c: F64, window: int, reject_m: float | None = None) -> tuple[F64, F64]:
    """Per sample: a straight-line fit over the samples within ``window`` (index) of it: the
    fitted position (N, D) and velocity (N, D). With ``reject_m`` (m) the fits are done twice,
    the second time without the samples the first left farther than ``reject_m`` and 3 median
    residuals from their fit (a box thrown off by a neighbour merged into the cluster would
    otherwise pull every fit within the window)."""
    n = len(t)
    pos, vel = np.empty_like(c), np.empty_like(c)
    keep = np.ones(n, dtype=bool)
    for rnd in range(1 if reject_m is None else 2):
        for i in range(n):
            lo, hi = max(0, i - window), min(n, i + window + 1)
            use = np.arange(lo, hi)[keep[lo:hi]]
            if len(use) < 2:
                use = np.arange(lo, hi)
            v = line_velocity(t[use], c[use])
            pos[i] = c[use].mean(axis=0) + v * (t[i] - t[use].mean())
            vel[i] = v
        if reject_m is not None and rnd == 0:
            res = np.linalg.norm(c - pos, axis=1)
            keep = res <= max(reject_m, 3.0 * float(np.median(res)))
            if keep.all():
                break
    return pos, vel


def _side_seen(dets: Mapping[int, Detection], fitted: Mapping[int, Any], yaw_f: Mapping[int, float],
               prm: TrackParams) -> bool:
    """Whether the sensor saw the track's side: at ``side_frames`` frames or more its line of sight
    (sensor origin to the fitted box's centre) is at least ``side_angle`` off the heading's axis.
    True when origins are unknown."""
    n = 0
    for f, y in yaw_f.items():
        o = dets[f].origin
        if o is None:
            return True
        c = fitted[f][0].center
        los = math.atan2(c[1] - float(o[1]), c[0] - float(o[0]))
        n += abs(math.sin(los - y)) >= math.sin(prm.side_angle)
    return n >= prm.side_frames


def _axis_mean(yaws: Sequence[float], weights: Sequence[float]) -> float:
    """Weighted mean of headings modulo 180 degrees (doubled-angle mean), in (-pi/2, pi/2]."""
    y = 2.0 * np.asarray(yaws, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    return 0.5 * math.atan2(float((w * np.sin(y)).sum()), float((w * np.cos(y)).sum()))


def _axis_offset(axis: float, direction: float) -> float:
    """The signed angle (rad) from ``direction`` to the nearest of ``axis`` + k x 90 degrees."""
    d = float(wrap_angle(axis - direction))
    return d - (math.pi / 2) * round(d / (math.pi / 2))


def chain_axes(axes: Sequence[float], motion: Sequence[float], t: F64, usable: Sequence[bool] | F64,
               prm: TrackParams) -> list[float]:
    """A moving vehicle's heading per frame (rad, world frame) from its fitted boxes' ``axes``
    (rad, known modulo 90 degrees) and the ``motion``'s direction (rad) at times ``t`` (s), on the
    frames marked ``usable`` (enough points): see :attr:`TrackParams.axis_gate`. Without a frame
    whose axis agrees with the motion, the motion's directions."""
    n = len(motion)
    off = [_axis_offset(axes[k], motion[k]) for k in range(n)]
    seeds = [k for k in range(n) if usable[k] and abs(off[k]) <= prm.axis_gate]
    if not seeds:
        return [float(m) for m in motion]
    out: list[float] = [0.0] * n
    a = max(seeds, key=lambda k: (float(usable[k]), -abs(off[k]), -k))
    out[a] = motion[a] + off[a]
    for order in (range(a + 1, n), range(a - 1, -1, -1)):
        taken = [a]  # frames whose fitted axis was taken, latest last
        prev = a
        for k in order:
            dt = float(t[k] - t[prev])
            guesses = [out[prev] + float(wrap_angle(motion[k] - motion[prev]))]  # turned as the motion did
            if len(taken) >= 2 and taken[-1] == prev:  # turned as the last two taken axes did
                i, j = taken[-2], taken[-1]
                rate = float(np.clip((out[j] - out[i]) / float(t[j] - t[i]), -prm.axis_turn_max, prm.axis_turn_max))
                guesses.append(out[prev] + rate * dt)
            step = min(prm.axis_step + prm.axis_rate * abs(dt), prm.axis_step_max)
            out[k] = guesses[0]
            if usable[k]:  # else, or when no guess has the axis near it: as the motion turned
                for g, tol in [*((g, step) for g in guesses), (motion[k], prm.axis_gate)]:
                    d = _axis_offset(axes[k], g)
                    if abs(d) <= tol and abs(float(wrap_angle(g + d - motion[k]))) <= prm.axis_drift:
                        out[k] = g + d
                        taken.append(k)
                        break
            prev = k
    return out


def points_move(dets: Mapping[int, Detection], times: Mapping[int, float], velocity: F64, pairs: int = 6) -> bool:
    """Whether a track's points follow ``velocity`` (2,) m/s better than they stand still: for
    frame pairs half the track apart, the median BEV distance from one frame's points to the
    other's nearest, with the later frame's points moved back by the velocity, against unmoved.
    (Box centres of a parked car drift with the side it shows; its points do not.)"""
    from scipy.spatial import cKDTree

    frames = sorted(dets)
    half = len(frames) // 2
    if half < 1:
        return False
    still = moved = 0.0
    for a in np.linspace(0, len(frames) - half - 1, min(pairs, len(frames) - half)).astype(int):
        fa, fb = frames[a], frames[a + half]
        pa, pb = dets[fa].points[:, :2], dets[fb].points[:, :2]
        tree = cKDTree(pa)
        still += float(np.median(tree.query(pb)[0]))
        moved += float(np.median(tree.query(pb - velocity * (times[fb] - times[fa]))[0]))
    return moved < still


def _inside_share(det: Detection, box: Box3D, margin: float) -> float:
    """Share of a detection's points (its box centre when it has none) inside ``box`` grown by
    ``margin`` m."""
    pts = det.points if det.points is not None and len(det.points) else np.array([det.box.center])
    return float(points_in_boxes(pts, [box], margin=margin)[0].mean())


def track_confidence(dets: Mapping[int, Detection], boxes: Mapping[int, Box3D], label: str, small: bool,
                     measured: bool = True) -> float:
    """Confidence in [0, 1] of a finished track of class ``label``: ``max(mean per-frame score,
    agreement x support x class share) x (1 - exp(-frames / 6))`` (people and riders: ``min(agreement
    x support, 2 x mean per-frame score)`` in place of the max; a track whose size was not
    ``measured``: the mean per-frame score alone). Class share: the share of frames whose own
    guess is ``label``. Agreement: how well the track's boxes explain the
    frames (mean BEV IoU of the per-frame detection box with the track's box; for people and
    riders, whose per-frame boxes are the class prior, the mean share of their points inside the
    track's box grown by 0.1 m); support: log10 of the most points seen, 1 from 300 points on. A
    long, well-seen and consistent track is an object even where single sweeps are ambiguous;
    a short one never reaches the top."""
    from fusionlabel.geometry import bev_iou

    frames = sorted(boxes)
    if small:
        agree = float(np.mean([_inside_share(dets[f], boxes[f], 0.1) for f in frames]))
    else:
        agree = float(np.mean([bev_iou(dets[f].box, boxes[f]) for f in frames]))
    most = max(dets[f].n_points for f in frames)
    support = min(1.0, math.log10(max(most, 1)) / math.log10(300.0))
    mean_score = float(np.mean([dets[f].score for f in frames]))
    # people and riders: the point share says little alone (a pole's points fit a person's box
    # too), so their single-sweep scores cap it
    share = float(np.mean([dets[f].label == label for f in frames]))
    if small:
        track = min(agree * support, 2.0 * mean_score)
    elif not measured:  # its extent never seen (a wall going on, a far car): no agreement to speak of
        track = mean_score
    else:
        track = max(mean_score, agree * support * share)
    return float(np.clip(track * (1.0 - math.exp(-len(frames) / 6.0)), 0.0, 1.0))


# ---- fragments -------------------------------------------------------------------------------------
def merge_fragments(tracks: list[dict[int, Detection]], times: Mapping[int, float], vehicle: Sequence[bool],
                    params: TrackParams | None = None) -> list[int]:
    """Indices of ``tracks`` (frame -> detection) to keep after merging fragments (in place: a
    joined track's detections move into the track it continues). ``vehicle[i]``: track ``i`` is a
    vehicle (vehicles and others never join). A track whose box centres lie inside another
    track's boxes (grown by ``fragment_margin``) at ``fragment_share`` of its frames, and that has
    fewer points there, is a fragment and is dropped. Two tracks that stand still at one place are
    one (``still_gate_m``), overlapping in time or not; a track that starts where an ended one
    would be by its motion, or where it stood, continues it."""
    prm = params or TrackParams()
    alive = [bool(t) for t in tracks]
    # fragments in space
    for i, ti in enumerate(tracks):
        if not alive[i]:
            continue
        for j, tj in enumerate(tracks):
            if i == j or not alive[j]:
                continue
            shared = [f for f in ti if f in tj]
            if len(shared) < prm.fragment_share * len(ti):
                continue
            if sum(tj[f].n_points for f in shared) <= sum(ti[f].n_points for f in shared):
                continue
            inside = sum(1 for f in shared if _inside_share(ti[f], tj[f].box, prm.fragment_margin) >= 0.5)
            if inside >= prm.fragment_share * len(ti):
                alive[i] = False
                break
    # one still object tracked twice: join B to A (A the longer) when both stand still at one place
    _join_still_duplicates(tracks, alive, vehicle, prm)
    # fragments in time: join B to A when B starts where A's motion takes it (or, A's last box
    # thrown off by a partial view, where A stood: the median of its last centres)
    changed = True
    while changed:
        changed = False
        best: tuple[float, int, int] | None = None
        for a, ta in enumerate(tracks):
            if not alive[a] or len(ta) < 2:
                continue
            fa = sorted(ta)
            ca = np.array([ta[f].box.center[:2] for f in fa[-6:]])
            t_a = np.array([times[f] for f in fa[-6:]])
            va = line_velocity(t_a, ca)
            for b, tb in enumerate(tracks):
                if b == a or not alive[b] or vehicle[a] != vehicle[b]:
                    continue
                fb = min(tb)
                if fb <= fa[-1] or fb - fa[-1] > prm.join_frames:
                    continue
                dt = times[fb] - times[fa[-1]]
                pred = ca.mean(axis=0) + va * (times[fb] - t_a.mean())
                start = np.array(tb[fb].box.center[:2])
                d = float(min(np.linalg.norm(start - pred), np.linalg.norm(start - np.median(ca, axis=0))))
                if d <= prm.join_gate_m + prm.join_gate_per_s * dt and (best is None or d < best[0]):
                    best = (d, a, b)
        if best is not None:
            _, a, b = best
            tracks[a].update(tracks[b])
            alive[b] = False
            changed = True
    return [i for i, ok in enumerate(alive) if ok]


def _join_still_duplicates(tracks: list[dict[int, Detection]], alive: list[bool], vehicle: Sequence[bool],
                           prm: TrackParams) -> None:
    """Join (in place) tracks of one kind that stand still at one place (see
    :attr:`TrackParams.still_gate_m`) into the one with the most frames; at a frame both have,
    the detection nearer their joint median centre stays."""
    med: dict[int, F64] = {}
    for i, t in enumerate(tracks):
        if not alive[i] or len(t) < 2:
            continue
        c = np.array([d.box.center[:2] for d in t.values()])
        m = np.median(c, axis=0)
        if float(np.median(np.linalg.norm(c - m, axis=1))) <= prm.still_spread_m:
            med[i] = m
    for i in sorted(med, key=lambda k: -len(tracks[k])):
        if not alive[i]:
            continue
        gate = prm.still_gate_m if vehicle[i] else prm.still_gate_m / 3.0
        for j in sorted(med, key=lambda k: -len(tracks[k])):
            if j == i or not alive[j] or vehicle[j] != vehicle[i] or len(tracks[j]) > len(tracks[i]):
                continue
            if float(np.linalg.norm(med[i] - med[j])) > gate:
                continue
            joint = (med[i] * len(tracks[i]) + med[j] * len(tracks[j])) / (len(tracks[i]) + len(tracks[j]))
            for f, d in tracks[j].items():
                own = tracks[i].get(f)
                if own is None or (np.linalg.norm(np.asarray(d.box.center[:2]) - joint)
                                   < np.linalg.norm(np.asarray(own.box.center[:2]) - joint)):
                    tracks[i][f] = d
            alive[j] = False


# ---- one track ---------------------------------------------------------------------------------------
def point_spacing(dets: Mapping[int, Detection], frames: Sequence[int]) -> float:
    """The point spacing (m) of a track's sweeps: the median over ``frames`` of each frame's median
    distance from a point to its nearest neighbour (3D, world frame); 0 where no frame has two
    points. On a body seen at range r it is about the LiDAR's azimuth step x r."""
    from scipy.spatial import cKDTree

    per = []
    for f in frames:
        p = np.asarray(dets[f].points, dtype=np.float64)[:, :3]
        if len(p) >= 2:
            d, _ = cKDTree(p).query(p, k=2)
            per.append(float(np.median(d[:, 1])))
    return float(np.median(per)) if per else 0.0


def body_axis(xy: F64) -> float:
    """The heading axis (rad, modulo pi) of a person's body from its BEV points (N, 2) (the upper
    body's, over all frames): of the axes of the rectangle the points hug best (the closeness
    criterion of the L-shape fit: a torso seen from one or two sides shows straight faces) and
    their principal axes (a body filled with points, or round), the pair whose rectangle around
    2-98 % of the points is the smallest; of its two axes, the one along which the points reach
    less far (shoulders are wider than a body is deep). The principal axis alone is biased by the
    sides the sensor saw (one face seen edge-on pulls it round)."""
    lo, hi = 2.0, 98.0
    best: tuple[float, float, float, float] | None = None  # (area, axis, extent along, across)
    for th in (lshape_yaw(xy), pca_yaw(xy)[0]):
        c, s = math.cos(th), math.sin(th)
        a = float(np.ptp(np.percentile(xy[:, 0] * c + xy[:, 1] * s, [lo, hi])))
        b = float(np.ptp(np.percentile(-xy[:, 0] * s + xy[:, 1] * c, [lo, hi])))
        if best is None or a * b < best[0]:
            best = (a * b, th, a, b)
    assert best is not None
    _, th, a, b = best
    return float(wrap_angle(th if a <= b else th + math.pi / 2))


def _still_footprint(dets: Mapping[int, Detection], frames: Sequence[int], spec: Any, ref_yaw: float,
                     prm: TrackParams, spacing: float) -> tuple[F64, float, tuple[float, float]] | None:
    """A still person's or rider's footprint from the union of its points over the track (the
    sensor sees other sides of it as it moves): BEV centre (2,), heading (rad) and (length, width)
    m. People (a class whose typical length is under ``walker_length``) are headed by
    :func:`body_axis` of their upper body (the points above ``torso_share`` of the top: the
    shoulders, whatever the legs do; not snapped to the ego's axes: standing people face
    anywhere); riders along the principal axis of all their points (a bike is long). Of the two
    directions, the one nearer ``ref_yaw``. Extents: ``still_percentile`` to 100 minus it of the
    points plus ``small_margin`` x ``spacing`` (m), clipped to the class's limits. None with fewer
    than ``still_min_points`` points."""
    p3 = np.vstack([np.asarray(dets[f].points, dtype=np.float64)[:, :3] for f in frames])
    if len(p3) < prm.still_min_points:
        return None
    pts = p3[:, :2]
    walker = spec.size.mean[0] < prm.walker_length
    if walker:
        g = next((dets[f].ground for f in frames if dets[f].ground is not None), None)
        h = g.height_above(p3) if g is not None else p3[:, 2] - p3[:, 2].min()
        upper = h >= prm.torso_share * float(np.percentile(h, 98))
        yaw = body_axis(pts[upper] if upper.sum() >= 10 else pts)
    else:
        mean = pts.mean(axis=0)
        _, vec = np.linalg.eigh((pts - mean).T @ (pts - mean))
        yaw = math.atan2(float(vec[1, 1]), float(vec[0, 1]))
    if abs(wrap_angle(yaw - ref_yaw)) > math.pi / 2:
        yaw = wrap_angle(yaw + math.pi)
    cy, sy = math.cos(yaw), math.sin(yaw)
    u = pts[:, 0] * cy + pts[:, 1] * sy
    w = -pts[:, 0] * sy + pts[:, 1] * cy
    q = [prm.still_percentile, 100.0 - prm.still_percentile]
    (u0, u1), (w0, w1) = np.percentile(u, q), np.percentile(w, q)
    m = prm.small_margin * spacing
    size = (float(np.clip(u1 - u0 + m, spec.size.min[0], spec.size.max[0])),
            float(np.clip(w1 - w0 + m, spec.size.min[1], spec.size.max[1])))
    uc, wc = (u0 + u1) / 2.0, (w0 + w1) / 2.0
    return np.array([uc * cy - wc * sy, uc * sy + wc * cy]), float(yaw), size


@dataclass
class FinishedTrack:
    """One finished track: world-frame ``boxes`` (frame -> box), whether it ``moving``, and
    whether its size was ``measured`` (from fully seen frames or, for people and riders, their
    points; False: the class's typical size, its extent never seen)."""

    boxes: dict[int, Box3D]
    moving: bool
    measured: bool


def class_loglik(probs: Iterable[Mapping[str, float]], classes: Iterable[str]) -> dict[str, float]:
    """Per class, the sum over a track's frames of the log of its per-frame class probability
    (``probs``: one mapping class -> probability per frame; a class a frame does not name counts
    as 1e-4): one revealing view outweighs many ambiguous ones."""
    probs = list(probs)
    return {c: sum(math.log(pr.get(c, 0.0) + 1e-4) for pr in probs) for c in classes}


def ridden_instead(dets: Mapping[int, Detection], finished: FinishedTrack, label: str, ontology: Ontology,
                   params: TrackParams | None = None) -> str | None:
    """The ridden class (a small class whose typical length is at least ``walker_length``; of
    several, the one with the highest sum of per-frame log probabilities) a moving track finished
    as the walker class ``label`` is instead, or None: a bike seen from behind looks like a person
    in most sweeps, but a person's points never reach along its motion as far as a bike's
    (``rider_frames`` frames and ``rider_share`` of them at least the ridden class's smallest
    length, 2-98 % of the points along the finished heading; world frame)."""
    prm = params or TrackParams()
    spec = ontology[label]
    if not finished.moving or spec.size.mean[0] >= prm.walker_length:
        return None
    probs = [getattr(d, "probabilities", None) or {} for d in dets.values()]  # a cluster's class guess
    names = sorted({c for pr in probs for c in pr})
    riders = []
    for name in names:
        try:
            other = ontology[name]
        except KeyError:
            continue
        if prm.walker_length <= other.size.mean[0] and other.size.max[0] < SMALL_OBJECT_LENGTH:
            riders.append(name)
    if not riders:
        return None
    loglik = class_loglik(probs, riders)
    rider = max(riders, key=lambda c: loglik[c])
    reach = ontology[rider].size.min[0]
    n = 0
    for f, b in finished.boxes.items():
        p = np.asarray(dets[f].points, dtype=np.float64)[:, :2]
        along = p[:, 0] * math.cos(b.yaw) + p[:, 1] * math.sin(b.yaw)
        n += float(np.ptp(np.percentile(along, [2, 98]))) >= reach
    return rider if n >= max(prm.rider_frames, prm.rider_share * len(finished.boxes)) else None


def finish_track(dets: Mapping[int, Detection], times: Mapping[int, float], label: str, ontology: Ontology,
                 params: TrackParams | None = None) -> FinishedTrack:
    """One track of cluster detections (with points) of class ``label`` finished as a whole:
    one size, a consistent heading, smoothed poses (see the module doc). ``times``: frame -> time
    (s)."""
    prm = params or TrackParams()
    spec = ontology[label]
    small = spec.size.max[0] < SMALL_OBJECT_LENGTH
    frames = sorted(dets)
    fitted = {f: box_from_cluster(dets[f].points, dets[f].ground, ontology, dets[f].origin, class_hint=label,
                                  ego_yaw=dets[f].ego_yaw) for f in frames}
    t = np.array([times[f] for f in frames])
    c = np.array([fitted[f][0].center[:2] for f in frames])
    v = line_velocity(t, c) if len(frames) > 1 else np.zeros(2)
    span = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    moving = (float(np.linalg.norm(v)) >= prm.moving_speed and float(np.linalg.norm(v)) * span >= prm.moving_distance
              and points_move(dets, times, v))
    npts = np.array([dets[f].n_points for f in frames], dtype=np.float64)
    # heading
    if moving:
        _, vel = _local_fit(t, c, prm.window, prm.small_reject_m if small else None)
        yaws = []
        for k in range(len(frames)):
            vk = vel[k] if float(np.linalg.norm(vel[k])) >= prm.moving_speed else v
            yaws.append(math.atan2(vk[1], vk[0]))
        if not small:
            yaws = chain_axes([fitted[f][0].yaw for f in frames], yaws, t, npts >= prm.axis_min_points, prm)
        un = np.unwrap(np.array(yaws))
        if small:
            un = np.convolve(np.pad(un, 1, mode="edge"), np.ones(3) / 3, "valid")
        yaw_f = {f: float(wrap_angle(un[k])) for k, f in enumerate(frames)}
    else:
        axis = _axis_mean([fitted[f][0].yaw for f in frames], npts)
        if small:  # a standing person: the direction cannot be told; the one the fits agree on
            ref = fitted[frames[int(np.argmax(npts))]][0].yaw
            yaw = axis if abs(wrap_angle(axis - ref)) <= math.pi / 2 else wrap_angle(axis + math.pi)
        else:
            probe = {f: fitted[f][0].replace(yaw=axis) for f in frames}
            vote = sum(cabin_vote(dets[f].points, probe[f]) for f in frames)
            yaw = axis if vote >= 0 else wrap_angle(axis + math.pi)
        yaw_f = dict.fromkeys(frames, float(yaw))
    # size
    measured = True
    spacing = point_spacing(dets, frames) if small else 0.0
    if small:
        ext = []
        for f in frames:
            p = dets[f].points
            cy, sy = math.cos(yaw_f[f]), math.sin(yaw_f[f])
            u = p[:, 0] * cy + p[:, 1] * sy
            w = -p[:, 0] * sy + p[:, 1] * cy
            ext.append((float(np.ptp(np.percentile(u, [2, 98]))), float(np.ptp(np.percentile(w, [2, 98])))))
        e = np.quantile(np.array(ext), prm.small_quantile, axis=0) + prm.small_margin * spacing
        if spec.size.mean[0] >= prm.walker_length and moving and not _side_seen(dets, fitted, yaw_f, prm):
            # a bike seen only from behind or ahead shows its wheel and rider, not its length: its
            # extent along the heading is a lower bound
            e[0] = max(float(e[0]), spec.size.mean[0])
        size = (float(np.clip(e[0], spec.size.min[0], spec.size.max[0])),
                float(np.clip(e[1], spec.size.min[1], spec.size.max[1])))
    else:
        full = [f for f in frames if not fitted[f][2]]
        measured = bool(full)
        if full:
            size = (float(np.quantile([fitted[f][0].length for f in full], prm.size_quantile)),
                    float(np.quantile([fitted[f][0].width for f in full], prm.size_quantile)))
            if len(full) < prm.min_full_frames:  # seen whole once or twice: not trusted to be short
                size = (max(size[0], spec.size.mean[0]), max(size[1], spec.size.mean[1]))
        else:
            size = (spec.size.mean[0], spec.size.mean[1])
    still_person = None
    if small and not moving:
        still_person = _still_footprint(dets, frames, spec, yaw_f[frames[0]], prm, spacing)
        if still_person is not None:
            yaw_f = dict.fromkeys(frames, still_person[1])
            size = still_person[2]
    boxes = {f: box_from_cluster(dets[f].points, dets[f].ground, ontology, dets[f].origin, class_hint=label,
                                 size=size, yaw=yaw_f[f])[0] for f in frames}
    height = float(np.median([b.size[2] for b in boxes.values()]))
    bottom = np.array([boxes[f].center[2] - boxes[f].size[2] / 2 for f in frames])
    cc = np.array([boxes[f].center[:2] for f in frames])
    if moving:
        pos, _ = _local_fit(t, cc, prm.window, prm.small_reject_m if small else None)
        z = np.array([np.median(bottom[max(0, k - prm.window):k + prm.window + 1]) for k in range(len(frames))])
    else:
        w = npts / npts.sum()
        centre = (w[:, None] * cc).sum(axis=0) if still_person is None else still_person[0]
        pos = np.repeat(np.asarray(centre, dtype=np.float64)[None, :], len(frames), axis=0)
        z = np.full(len(frames), float(np.median(bottom)))
    return FinishedTrack({f: Box3D((float(pos[k, 0]), float(pos[k, 1]), float(z[k] + height / 2)),
                                   (size[0], size[1], height), yaw_f[f]) for k, f in enumerate(frames)},
                         moving, measured)
