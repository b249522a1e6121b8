"""Pre-labels for a whole sequence: per-frame object proposals (point clusters with a class guess
from the size priors, or an external detector), associated across frames into tracks with a
confidence.

Frames: each sweep's points are moved to the **world** frame (``T_world_from_sensor`` of the
frame), the ground is fitted there per sweep, clusters and boxes are world-frame, so parked cars
stand still and association is ego-motion free.

Association: a constant-velocity prediction of every live track (world BEV centre and velocity,
time from the frames' integer-ns timestamps), a cost matrix of BEV centre distances between the
predictions and the frame's detections, gated (``gate_m`` + ``gate_per_s`` x time since the
track was last seen; vehicles never match people or bikes), solved by the Hungarian method
(``scipy.optimize.linear_sum_assignment``). Unmatched detections start tracks; tracks unseen for
more than ``max_missed`` frames end. Tracks shorter than ``min_hits`` frames are dropped (unless
the sequence has independent frames, e.g. KITTI object, where every detection is its own
proposal and nothing is associated).

Confidence of a proposal: the mean of its per-frame scores times ``1 - exp(-hits / 3)`` (a
longer track is more trustworthy); a per-frame score combines how well a class's size prior
explains the cluster, the class probability and the number of points.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from calib.transforms import wrap_angle
from fusionlabel.assist.cluster import ClusterParams, cluster_points
from fusionlabel.assist.detection import Detection, FrameInput
from fusionlabel.assist.fit import DEFAULT_CANDIDATES, MAX_OBJECT_HEIGHT, SMALL_OBJECT_LENGTH, box_from_cluster
from fusionlabel.assist.ground import GROUND_TOLERANCE, GroundModel, fit_ground
from fusionlabel.assist.structure import HIGH_BAND, SweepCues, elevations_deg, top_ring_elevation
from fusionlabel.box import Box3D
from fusionlabel.document import Proposal
from fusionlabel.geometry import bev_iou_matrix, points_in_boxes
from fusionlabel.ontology import Ontology
from fusionlabel.sequence import SensorSequence

F64 = NDArray[np.float64]

#: The proposal attribute that says why the track-level cues lowered a proposal's confidence
#: (:mod:`fusionlabel.assist.trackcues`: a wall, a pole, clutter)
CUE_ATTRIBUTE = "prelabel_cue"

#: Classes counted as vehicles for association gating (the others: people and bikes).
VEHICLE_CLASSES = frozenset({"car", "van", "truck", "bus", "bus_bendy", "trailer", "construction_vehicle",
                             "ambulance", "police_car", "tram"})


@dataclass(frozen=True)
class PrelabelParams:
    """Knobs of the cluster proposals and of the association (metres, seconds)."""

    max_range: float = 60.0
    min_points: int = 8
    min_height: float = 0.4
    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    min_score: float = 0.1
    cluster: ClusterParams = field(default_factory=lambda: ClusterParams(voxel=0.15))
    coarse: ClusterParams = field(default_factory=lambda: ClusterParams(base=0.7, per_metre=0.02, max_radius=1.5,
                                                                         voxel=0.15))
    gate_m: float = 2.0
    gate_per_s: float = 3.0
    max_missed: int = 3
    min_hits: int = 2
    nms_iou: float = 0.3
    #: track-level pre-labels (one size per track, consistent heading, merged fragments, smoothed
    #: poses); False: the frame-level boxes of the earlier path (kept for comparison)
    track_level: bool = True
    #: a still vehicle's track is extended by its box to this many frames before its first and
    #: after its last observation (within ``max_range`` of the sensor); 0: not extended
    still_extend: int = 10


# ---- per-frame proposals ------------------------------------------------------------------------
def cluster_detections(
    points_world: F64,
    origin_world: F64,
    ontology: Ontology,
    ground: GroundModel | None = None,
    params: PrelabelParams | None = None,
    R_world_from_sensor: F64 | None = None,
    ego_yaw: float | None = None,
) -> list[Detection]:
    """Object proposals of one sweep from its world-frame points (N, 3): ground removed (fitted
    here when ``ground`` is None), clusters within ``max_range`` of the sensor, each boxed with a
    class guess; clusters no candidate class explains (walls, bushes, poles) score low and those
    below ``min_score`` are dropped. Structure cues (:mod:`fusionlabel.assist.structure`: a top
    cut by the sensor's highest ring or going on above the height limit, a thin wall, a floating
    cluster) lower the score. ``R_world_from_sensor`` (3, 3): the sensor's axes (for elevation
    angles about it; None: the world's). ``ego_yaw`` (rad): the ego's heading, kept with each
    detection (a walker track's re-boxing uses it)."""
    prm = params or PrelabelParams()
    p = np.asarray(points_world, dtype=np.float64)[:, :3]
    o = np.asarray(origin_world, dtype=np.float64).reshape(3)
    if ground is None:
        ground = fit_ground(p, o, frame="world", max_range=prm.max_range + 10.0)
    rng = np.hypot(p[:, 0] - o[0], p[:, 1] - o[1])
    dz = ground.height_above(p)
    keep = (rng <= prm.max_range) & (dz >= GROUND_TOLERANCE) & (dz <= MAX_OBJECT_HEIGHT)
    q = p[keep]
    if len(q) == 0:
        return []
    zq = dz[keep]
    max_len = max(ontology[c].size.max[0] for c in prm.candidates if c in ontology)
    max_wid = max(ontology[c].size.max[1] for c in prm.candidates if c in ontology)
    elev = elevations_deg(p, o, R_world_from_sensor)
    high = (rng <= prm.max_range + 5.0) & (dz > MAX_OBJECT_HEIGHT) & (dz <= MAX_OBJECT_HEIGHT + HIGH_BAND)
    sweep = SweepCues(q, zq, elev[keep], top_ring_elevation(elev), p[high], dz[high], MAX_OBJECT_HEIGHT)
    fine = cluster_points(q, o, prm.cluster)
    coarse = cluster_points(q, o, prm.coarse)

    def evaluate(idx: NDArray[np.intp]) -> Detection | None:
        if len(idx) < prm.min_points:
            return None
        c = q[idx]
        span = c[:, :2].max(axis=0) - c[:, :2].min(axis=0)
        if float(np.hypot(*span)) > 1.2 * max_len or float(zq[idx].max()) < prm.min_height:
            return None
        cues = sweep.cues(idx, max_wid)
        box, guess, partial = box_from_cluster(c, ground, ontology, o, candidates=prm.candidates,
                                               top_unseen=cues.min_height)
        density = min(1.0, len(idx) / 30.0)
        score = guess.fit * math.sqrt(guess.probability) * (0.5 + 0.5 * density) * (0.85 if partial else 1.0)
        score *= cues.factor(ontology[guess.label].size.max[0] < SMALL_OBJECT_LENGTH)
        return Detection(box, guess.label, float(np.clip(score, 0.0, 1.0)), int(len(idx)), "cluster",
                         guess.probabilities, c, ground, o, partial, ego_yaw, cues.top_unseen)

    # over-segmentation (an occluder's shadow, glass that returns nothing) splits objects; a
    # coarse cluster replaces its fine parts when it scores at least as well as the best of them
    out: list[Detection] = []
    for cl in _groups(coarse):
        parts = [fp for fp in _groups(fine[cl], cl) if len(fp) >= prm.min_points]
        whole = evaluate(cl)
        dets = [d for d in (evaluate(fp) for fp in parts) if d is not None]
        if whole is not None and (not dets or whole.score >= max(d.score for d in dets)):
            dets = [whole]
        out.extend(d for d in dets if d.score >= prm.min_score)
    return nms(out, prm.nms_iou)


def _groups(labels: NDArray[np.int64], index: NDArray[np.intp] | None = None) -> list[NDArray[np.intp]]:
    """Indices per non-negative label (into ``index`` when given)."""
    if len(labels) == 0:
        return []
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    cuts = np.flatnonzero(np.diff(sl)) + 1
    out = []
    for g in np.split(order, cuts):
        if len(g) and labels[g[0]] >= 0:
            out.append(g if index is None else index[g])
    return out


def nms(dets: Sequence[Detection], iou: float, contained: float = 0.8, margin: float = 0.05) -> list[Detection]:
    """Greedy non-maximum suppression on BEV IoU (highest score first), then containment: a
    detection at least ``contained`` of whose points lie in the box (grown by ``margin`` m) of a
    detection fitted to more points is a fragment of that object (a car's wheel arch or mirror
    split off by the clustering) and is dropped. Detections without points (detector plug-ins)
    take part in the IoU step only."""
    if len(dets) < 2:
        return list(dets)
    order = sorted(range(len(dets)), key=lambda i: -dets[i].score)
    m = bev_iou_matrix([dets[i].box for i in order], [dets[i].box for i in order])
    kept: list[int] = []
    for a in range(len(order)):
        if all(m[a, b] <= iou for b in kept):
            kept.append(a)
    out = [dets[order[a]] for a in kept]
    boxes = [d.box for d in out]
    drop: set[int] = set()
    for i, d in enumerate(out):
        if d.points is None or len(d.points) == 0:
            continue
        inside = points_in_boxes(d.points, boxes, margin=margin).mean(axis=1)  # (K,) share per box
        for j, other in enumerate(out):
            if j != i and other.points is not None and other.n_points > d.n_points and inside[j] >= contained:
                drop.add(i)
                break
    return [d for i, d in enumerate(out) if i not in drop]


# ---- association --------------------------------------------------------------------------------
@dataclass
class _Track:
    tid: int
    dets: dict[int, Detection]
    boxes: dict[int, Box3D]
    scores: dict[int, float]
    labels: dict[str, float]
    sources: set[str]
    pos: F64
    vel: F64
    last_frame: int
    last_t: float
    times: dict[int, float] = field(default_factory=dict)
    hits: int = 1
    misses: int = 0

    def predict(self, t: float) -> F64:
        return self.pos + self.vel * (t - self.last_t)

    @property
    def vehicle(self) -> bool:
        return max(self.labels, key=self.labels.get) in VEHICLE_CLASSES  # type: ignore[arg-type]


def associate(
    detections: Sequence[Sequence[Detection]],
    frames: Sequence[int],
    times_ns: Sequence[int],
    params: PrelabelParams | None = None,
    ontology: Ontology | None = None,
) -> list[Proposal]:
    """Link per-frame detections (``detections[i]`` at frame ``frames[i]``, time ``times_ns[i]``)
    into proposals (ids from 0) by constant-velocity prediction and Hungarian assignment on BEV
    distance with gating (see the module doc). Cluster detections are then refined per track
    (:func:`refine_track`)."""
    prm = params or PrelabelParams()
    onto = ontology or Ontology.default()
    live: list[_Track] = []
    done: list[_Track] = []
    next_id = 0
    for dets, f, t_ns in zip(detections, frames, times_ns, strict=True):
        t = int(t_ns) * 1e-9
        if live and dets:
            cost = np.full((len(live), len(dets)), 1e6)
            centres = np.array([d.box.center[:2] for d in dets])
            for i, tr in enumerate(live):
                pred = tr.predict(t)
                dist = np.linalg.norm(centres - pred, axis=1)
                gate = prm.gate_m + prm.gate_per_s * (t - tr.last_t)
                for j, d in enumerate(dets):
                    if (d.label in VEHICLE_CLASSES) != tr.vehicle:
                        continue
                    if dist[j] <= gate:
                        cost[i, j] = dist[j]
            rows, cols = linear_sum_assignment(cost)
            pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 1e5]
        else:
            pairs = []
        matched_t = {r for r, _ in pairs}
        matched_d = {c for _, c in pairs}
        for r, c in pairs:
            tr, d = live[r], dets[c]
            centre = np.array(d.box.center[:2])
            dt = t - tr.last_t
            if dt > 0:
                v_obs = (centre - tr.pos) / dt
                tr.vel = v_obs if tr.hits == 1 else 0.5 * tr.vel + 0.5 * v_obs
            tr.pos, tr.last_t, tr.last_frame = centre, t, f
            tr.times[f] = t
            tr.boxes[f], tr.scores[f], tr.dets[f] = d.box, d.score, d
            tr.labels[d.label] = tr.labels.get(d.label, 0.0) + d.score
            tr.sources.add(d.source)
            tr.hits += 1
            tr.misses = 0
        still: list[_Track] = []
        for i, tr in enumerate(live):
            if i not in matched_t:
                tr.misses += 1
            (still if tr.misses <= prm.max_missed else done).append(tr)
        live = still
        for j, d in enumerate(dets):
            if j in matched_d:
                continue
            live.append(_Track(next_id, {f: d}, {f: d.box}, {f: d.score}, {d.label: d.score}, {d.source},
                               np.array(d.box.center[:2]), np.zeros(2), f, t, {f: t}))
            next_id += 1
    done.extend(live)
    done.sort(key=lambda x: x.tid)
    if prm.track_level:
        return _track_level(done, prm, onto)
    out = []
    for tr in done:
        if tr.hits < prm.min_hits:
            continue
        refine_track(tr, onto)
        out.append(_to_proposal(tr, len(out)))
    return out


def _track_level(tracks: list[_Track], prm: PrelabelParams, onto: Ontology) -> list[Proposal]:
    """Proposals of associated tracks finished as wholes (:mod:`fusionlabel.assist.tracklabel`):
    fragments merged, then per track one class, one size, a consistent heading and smoothed
    poses (tracks of detector boxes without points keep their boxes, headed along their motion)."""
    from fusionlabel.assist.trackcues import track_cues
    from fusionlabel.assist.tracklabel import finish_track, merge_fragments, ridden_instead, track_confidence

    times = {f: t for tr in tracks for f, t in tr.times.items()}
    origins = {f: x.origin for tr in tracks for f, x in tr.dets.items() if x.origin is not None}
    dets = [dict(tr.dets) for tr in tracks]
    keep = merge_fragments(dets, times, [tr.vehicle for tr in tracks])
    out = []
    for i in keep:
        tr, d = tracks[i], dets[i]
        if len(d) < prm.min_hits:
            continue
        tr.dets, tr.times = d, {f: times[f] for f in d}
        tr.boxes = {f: x.box for f, x in d.items()}
        tr.scores = {f: x.score for f, x in d.items()}
        tr.labels, tr.sources, tr.hits = {}, {x.source for x in d.values()}, len(d)
        for x in d.values():
            tr.labels[x.label] = tr.labels.get(x.label, 0.0) + x.score
        clustered = {f: x for f, x in d.items() if x.points is not None and x.probabilities}
        if len(clustered) == len(d):
            tr.labels = {_track_class(clustered.values(), _track_speed(clustered, tr.times), onto): 1.0}
            label = next(iter(tr.labels))
            fin = finish_track(clustered, tr.times, label, onto)
            rider = ridden_instead(clustered, fin, label, onto)
            if rider is not None:  # a bike seen from behind in most sweeps
                label, tr.labels = rider, {rider: 1.0}
                fin = finish_track(clustered, tr.times, label, onto)
            tr.boxes = fin.boxes
            small = onto[label].size.max[0] < SMALL_OBJECT_LENGTH
            cues = track_cues(clustered, label, onto, fin.moving, small)
            conf = track_confidence(clustered, tr.boxes, label, small, fin.measured) * cues.factor()
            if not fin.moving and not small:
                tr.boxes.update(_still_extension(tr.boxes, origins, prm))
            prop = _to_proposal(tr, len(out), flip=False, confidence=conf)
            if cues.reason:  # why it sank in the queue (the review dock shows it)
                prop.attributes[CUE_ATTRIBUTE] = cues.reason
            out.append(prop)
        else:
            refine_track(tr, onto)
            out.append(_to_proposal(tr, len(out)))
    return out


def _still_extension(boxes: dict[int, Box3D], origins: dict[int, F64], prm: PrelabelParams) -> dict[int, Box3D]:
    """A still vehicle does not come and go: its one box at the frames up to ``still_extend``
    before its first and after its last observation (where the clustering lost it: merged with a
    neighbour, occluded for a while) whose sensor origin (``origins``: frame -> world (3,)) is
    within ``max_range`` of it."""
    frames = sorted(boxes)
    if not frames or prm.still_extend <= 0:
        return {}
    first, last = frames[0], frames[-1]
    out = {}
    for f, o in origins.items():
        if f in boxes or not (first - prm.still_extend <= f < first or last < f <= last + prm.still_extend):
            continue
        box = boxes[first if f < first else last]
        if math.hypot(box.center[0] - float(o[0]), box.center[1] - float(o[1])) <= prm.max_range:
            out[f] = box
    return out


def _track_speed(dets: Mapping[int, Detection], times: Mapping[int, float], min_span_s: float = 1.0,
                 min_frames: int = 5) -> float:
    """A track's speed (m/s): its box centres' straight-line fit over time (BEV); 0 for a track
    shorter than ``min_span_s`` s or ``min_frames`` frames (too short to tell)."""
    from fusionlabel.assist.tracklabel import line_velocity

    frames = sorted(dets)
    t = np.array([times[f] for f in frames], dtype=np.float64)
    if len(frames) < min_frames or float(t[-1] - t[0]) < min_span_s:
        return 0.0
    c = np.array([dets[f].box.center[:2] for f in frames], dtype=np.float64)
    return float(np.linalg.norm(line_velocity(t, c)))


#: A track faster than this (m/s) is not a walker when another class is possible: people in a
#: street walk at 1-2 m/s; a rider seen from behind looks like one.
WALKER_SPEED = 3.0


def _track_class(dets: Iterable[Detection], speed: float = 0.0, ontology: Ontology | None = None) -> str:
    """The class of a track: the highest sum of per-frame log class probabilities (one revealing
    view outweighs many ambiguous ones) among the classes that can move at the track's ``speed``
    (m/s): within their motion limits (:func:`fusionlabel.motion_model.limits_for`), walkers up
    to :data:`WALKER_SPEED`; all classes when none can."""
    from fusionlabel.assist.tracklabel import class_loglik
    from fusionlabel.motion_model import class_kind, limits_for

    dets = list(dets)
    classes = sorted({c for d in dets for c in d.probabilities})
    loglik = class_loglik((d.probabilities for d in dets), classes)
    if ontology is not None and speed > 0.0:
        def can(c: str) -> bool:
            if c not in ontology:
                return True
            top = limits_for(c, ontology).max_speed
            return speed <= (min(top, WALKER_SPEED) if class_kind(ontology[c]) == "walker" else top)

        classes = [c for c in classes if can(c)] or classes
    return max(classes, key=lambda c: loglik[c])


def refine_track(tr: _Track, ontology: Ontology, static_speed: float = 1.0, moving_speed: float = 2.0) -> None:
    """Make a track's cluster boxes consistent: one class for the whole track (the highest sum of
    per-frame log class probabilities, so one revealing view outweighs many ambiguous ones), every
    frame re-boxed with that class; a static track (straight-line fit of its centres slower than
    ``static_speed`` m/s) gets the box of its best view (most points, fully seen first) at every
    frame; a moving one gets one size (median of its fully seen frames, else the class's typical
    size) applied at every frame from the edges nearest the sensor, and where it moves faster than
    ``moving_speed`` m/s its heading is the direction of motion (partial views leave the L-shape
    unsure which side is the length)."""
    dets = {f: d for f, d in tr.dets.items() if d.points is not None and d.probabilities}
    if not dets:
        return
    label = _track_class(dets.values())
    tr.labels = {label: 1.0}
    fitted: dict[int, tuple[Box3D, bool]] = {}
    for f, d in dets.items():
        box, _, partial = box_from_cluster(d.points, d.ground, ontology, d.origin, class_hint=label, ego_yaw=d.ego_yaw)
        fitted[f] = (box, partial)
    frames = sorted(fitted)
    centres = np.array([fitted[f][0].center[:2] for f in frames])
    times = np.array([tr.times.get(f, float(f) * 0.1) for f in frames])
    if len(frames) == 1 or float(np.linalg.norm(_velocity(times, centres))) < static_speed:
        best = max(fitted, key=lambda f: (not fitted[f][1], dets[f].n_points))
        for f in fitted:
            tr.boxes[f] = fitted[best][0]
        return
    headings = _motion_headings(frames, times, centres, moving_speed)
    full = [b.size for b, partial in fitted.values() if not partial]
    spec = ontology[label]
    size = (float(np.median([s[0] for s in full])), float(np.median([s[1] for s in full]))) if full else \
        (spec.size.mean[0], spec.size.mean[1])
    for f in frames:
        d = dets[f]
        box, _, _ = box_from_cluster(d.points, d.ground, ontology, d.origin, class_hint=label, size=size,
                                     yaw=headings.get(f), ego_yaw=d.ego_yaw)
        tr.boxes[f] = box


def _velocity(t: F64, c: F64) -> F64:
    """Least-squares velocity (2,) m/s of BEV centres ``c`` (N, 2) at times ``t`` (N,) s."""
    t = t - t.mean()
    den = float((t * t).sum())
    if den <= 0:
        return np.zeros(2)
    return (t[:, None] * (c - c.mean(axis=0))).sum(axis=0) / den


def _motion_headings(frames: Sequence[int], times: F64, centres: F64, min_speed: float,
                     window: int = 3) -> dict[int, float]:
    """Heading (rad) of the motion at each frame: the direction of a straight-line fit of the BEV
    centres over the frames within ``window`` of it, where that fit is faster than ``min_speed``
    m/s."""
    out: dict[int, float] = {}
    fr = np.asarray(frames)
    for f in frames:
        sel = np.abs(fr - f) <= window
        if sel.sum() < 3:
            continue
        v = _velocity(times[sel], centres[sel])
        if float(np.linalg.norm(v)) >= min_speed:
            out[f] = math.atan2(v[1], v[0])
    return out


def _to_proposal(tr: _Track, pid: int, flip: bool = True, confidence: float | None = None) -> Proposal:
    label = max(tr.labels, key=tr.labels.get)  # type: ignore[arg-type]
    boxes = dict(tr.boxes)
    frames = sorted(boxes) if flip else []
    # heading along the motion for moving objects (the L-shape leaves the direction open): the
    # displacement between the neighbouring observations, when over ~1.5 m/s at 10 Hz
    centres = {f: np.array(b.center[:2]) for f, b in boxes.items()}
    for i, f in enumerate(frames):
        lo, hi = frames[max(i - 1, 0)], frames[min(i + 1, len(frames) - 1)]
        if lo == hi:
            continue
        step = centres[hi] - centres[lo]
        if np.linalg.norm(step) / (hi - lo) < 0.15:
            continue
        heading = math.atan2(step[1], step[0])
        if abs(wrap_angle(boxes[f].yaw - heading)) > math.pi / 2:
            boxes[f] = boxes[f].replace(yaw=wrap_angle(boxes[f].yaw + math.pi))
    mean_score = float(np.mean(list(tr.scores.values())))
    conf = mean_score * (1.0 - math.exp(-tr.hits / 3.0)) if confidence is None else confidence
    source = sorted(tr.sources)[0] if len(tr.sources) == 1 else "+".join(sorted(tr.sources))
    return Proposal(pid, label, boxes, {f: float(s) for f, s in tr.scores.items()}, float(np.clip(conf, 0, 1)),
                    source)


# ---- sequence -------------------------------------------------------------------------------------
def frames_from_sequence(loaded: SensorSequence, lidar: str | None = None, frames: Iterable[int] | None = None,
                         with_images: bool = False) -> Iterator[FrameInput]:
    """:class:`FrameInput` s of an opened sequence (any object with ``info`` (SequenceInfo),
    ``read_lidar(frame, name)`` -> object with ``xyz`` (and ``fields``), ``T_world_from_sensor``,
    ``read_image`` and ``rig(frame)``: e.g. ``formats.datasets.LoadedSequence``). Frames without a
    sweep are skipped."""
    info = loaded.info
    for k in range(len(info.frames)) if frames is None else frames:
        fi = info.frames[k]
        name = lidar or next(iter(fi.lidar_files), None)
        if name is None:
            continue
        pc = loaded.read_lidar(k, name)
        if pc is None:
            continue
        pts = np.asarray(pc.xyz, dtype=np.float32)
        inten = getattr(pc, "fields", {}).get("intensity") if hasattr(pc, "fields") else None
        if inten is not None:
            pts = np.column_stack([pts, np.asarray(inten, dtype=np.float32).reshape(-1)])
        images = (lambda cam, _k=k: loaded.read_image(_k, cam)) if with_images else None
        yield FrameInput(k, int(fi.timestamp_ns), pts, np.asarray(loaded.T_world_from_sensor(k, name)), name,
                         images, loaded.rig(k) if hasattr(loaded, "rig") else None, info.T_world_from_ego(k))


@dataclass
class PrelabelResult:
    """Proposals (ids from 0), the per-frame detections, and timings (seconds)."""

    proposals: list[Proposal]
    detections: dict[int, list[Detection]]
    seconds_per_frame: float = 0.0
    frames: int = 0


Detector = Callable[[FrameInput], Iterable[Detection]]


def prelabel(
    frames: Iterable[FrameInput],
    ontology: Ontology | None = None,
    *,
    detector: Detector | None = None,
    params: PrelabelParams | None = None,
    independent_frames: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> PrelabelResult:
    """Pre-label a sequence: per-frame detections (``detector`` when given, see
    :mod:`fusionlabel.assist.detectors`; else world-frame clusters with size-prior classes),
    then association into tracks (or one proposal per detection with ``independent_frames``)."""
    onto = ontology or Ontology.default()
    prm = params or PrelabelParams()
    if detector is not None:
        from fusionlabel.assist.detectors import wrap_detector

        detector = wrap_detector(detector, f"detector:{getattr(detector, '__name__', 'detector')}", onto)
    per_frame: dict[int, list[Detection]] = {}
    times: dict[int, int] = {}
    t0 = time.perf_counter()
    n = 0
    for fin in frames:
        if detector is not None:
            dets = list(detector(fin))
        else:
            dets = cluster_detections(fin.points_world, fin.origin_world, onto, None, prm,
                                      np.asarray(fin.T_world_from_sensor, dtype=np.float64)[:3, :3], fin.ego_yaw)
        per_frame[fin.frame] = dets
        times[fin.frame] = fin.timestamp_ns
        n += 1
        if progress is not None:
            progress(n, None)
    dt = (time.perf_counter() - t0) / max(n, 1)
    order = sorted(per_frame)
    if independent_frames or len(order) == 1:  # nothing to associate (min_hits cannot apply)
        props: list[Proposal] = []
        for f in order:
            for d in per_frame[f]:
                props.append(Proposal(len(props), d.label, {f: d.box}, {f: d.score}, d.score, d.source))
    else:
        props = associate([per_frame[f] for f in order], order, [times[f] for f in order], prm, onto)
    return PrelabelResult(props, per_frame, dt, n)


def drop_overlapping(proposals: Sequence[Proposal], human_boxes: Callable[[int], Sequence[Box3D]],
                     iou: float = 0.1) -> list[Proposal]:
    """Proposals without the boxes that overlap a human label at the same frame (BEV IoU > ``iou``);
    a proposal left without boxes is dropped. ``human_boxes(frame)`` gives the human boxes there."""
    out = []
    for p in proposals:
        boxes, scores = {}, {}
        for f, b in p.boxes.items():
            hb = list(human_boxes(f))
            if hb and float(bev_iou_matrix([b], hb).max()) > iou:
                continue
            boxes[f], scores[f] = b, p.scores.get(f, p.confidence)
        if boxes:
            out.append(p.copy(boxes=boxes, scores=scores))
    return out
