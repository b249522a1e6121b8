"""Tracks that follow themselves: the window's automatic tracking of the labeler's own tracks
(Qt-free policy; the window runs it as a background job, ``gui/model/follow.py``).

Frames are indices into the sequence; boxes are world-frame :class:`~fusionlabel.box.Box3D`;
points ``(N, 3)`` world-frame arrays in metres (``points_at(frame)``, ground removed or not).

- **A new box tracks itself** (``FollowOptions.on_create``): a track made by the labeler
  (:class:`~fusionlabel.commands.CreateTrack`: one-click, a drawn box, a camera box) is
  auto-tracked (:mod:`fusionlabel.autotrack`) through the whole sequence, forwards and
  backwards, and **finished as a whole** (``finish``, :func:`finish_track`): a vehicle's heading
  is taken for the whole track from its motion when it moves (it drives forwards) and from its
  shape seen over all the frames when it stands (the cabin sits behind the middle:
  :func:`body_cabin_vote` on the points accumulated over the track); one size
  for the track (:func:`fusionlabel.tracksize.estimate_track_size`, as ``U``); the motion state
  (an attribute with the value ``"moving"``, e.g. ``state``) set to moving when the track moves
  and cleared when it stands still (one box cannot tell). A track whose points stand still over
  the frames it is seen (:func:`fusionlabel.autotrack.still_test`) **holds still**: one box for
  the whole track, its motion state set to the class's still value (``parked``, ``standing``,
  ``stopped``).
- **An edit re-tracks its neighbourhood** (``FollowOptions.on_edit``): a box edited at frame k
  (:class:`~fusionlabel.commands.SetKeyframe`: a drag, the keys, the 3D view;
  :class:`~fusionlabel.propagation.PropagateBoxes`: ``Shift+C``) of a track that has tracked boxes
  makes a keyframe there, and the frames between the keyframe before k and the one after it
  (the sequence's ends, or the track's end, where there is none) are tracked again from the
  keyframes on both sides, so one fix corrects the frames around it. An edit that changes the
  box's size gives the whole track that size (one size per track; each box keeps the faces its
  points support); so does a size edit of an interpolated track whose keyframes share one size
  (an accepted pre-label of a walker or rider: its keyframes are its frames). An edit of a track
  that holds still puts the edited box at every frame of it
  (one pose per still track). A motion state set by hand re-tracks the whole track: a still
  value holds it (:func:`fusionlabel.ontology.holds_still`), ``moving`` follows it.

The result is applied as part of the step that asked for it (``UndoStack.amend``): one undo
removes a new box with its tracking, or an edit with its re-tracking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from fusionlabel.autotrack import (
    HELD_UNSEEN_CONFIDENCE,
    AutoTrack,
    AutoTrackParams,
    AutoTrackResult,
    PointsAt,
    Progress,
    held_confidence,
    still_test,
)
from fusionlabel.box import Box3D
from fusionlabel.commands import Command, CommandGroup, CreateTrack, SetAttribute, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import in_gap
from fusionlabel.model import Track
from fusionlabel.motion_model import class_kind, frame_seconds
from fusionlabel.ontology import (
    MOVING_VALUE,
    STILL_VALUES,
    Ontology,
    holds_still,
    motion_state_attribute,
    still_value,
)
from fusionlabel.trackjob import ApplyOutcome, AutoTrackPlan, plan_autotrack, run_plan, track_state

F64 = NDArray[np.float64]
#: A vehicle whose fitted boxes lie at least this far (m) apart moves: its heading follows its path.
MOVING_DISTANCE = 2.0
#: ... and whose path's chord is this consistent with its boxes' positions (share of the path
#: length that is net displacement): a track that jitters in place does not decide a heading.
MOVING_STRAIGHTNESS = 0.6
#: A standing vehicle is turned around when the cabin vote on its accumulated points says its
#: front is the other way by more than this (m, hood minus trunk gap; the one-frame cue's 0.2 m).
CABIN_FLIP_VOTE = 0.2
#: Only boxes fitted with at least this confidence show how the track moves and what it looks like
#: (a far parked car's weak fits on stray points must not make it "moving").
MIN_FIT_CONFIDENCE = 0.5
#: Points of a track's box grown by this (m) are its points (the cabin vote, the resize).
NEAR_MARGIN = 0.5
#: An edit that changes a box's length, width or height by more than this (m) sizes the whole track.
SIZE_EDIT = 0.02
#: Frames whose points are accumulated for the cabin vote and the size (the best-supported ones).
MAX_FINISH_FRAMES = 20


@dataclass(frozen=True)
class FollowOptions:
    """What the window does by itself (Assist menu toggles): ``on_create`` track a new box through
    the sequence; ``finish`` give a newly tracked track its heading, size and motion state;
    ``on_edit`` re-track the frames around an edited box; ``on_accept`` extend an accepted
    pre-label track with tracked boxes (a moving vehicle) past its ends."""

    on_create: bool = True
    on_edit: bool = True
    finish: bool = True
    on_accept: bool = True


@dataclass(frozen=True)
class FollowRequest:
    """One run to do: track ``track_id`` over the inclusive ``frames`` range; ``finish`` it as a
    new track (:func:`finish_track`); ``reason``: ``"created"`` or ``"edited"``; ``size``: the
    edit gave the box a new size (l, w, h), which the whole track takes (one size per track);
    ``hold``: the edited box of a track that holds still, which every frame of it takes (one pose
    per still track); ``extend``: an accepted pre-label track, followed from its boxes (all of
    them, as keyframes) past its first and last frame, its own boxes kept (:func:`extend_result`)."""

    track_id: int
    frames: tuple[int, int]
    finish: bool
    reason: str
    size: tuple[float, float, float] | None = None
    hold: Box3D | None = None
    extend: bool = False


def _commands(cmd: Command) -> Iterable[Command]:
    if isinstance(cmd, CommandGroup):
        for c in cmd.commands:
            yield from _commands(c)
    else:
        yield cmd


def _differ(a: Sequence[float], b: Sequence[float]) -> bool:
    """Two sizes differ by more than ``SIZE_EDIT`` in some dimension."""
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) > SIZE_EDIT


def edit_range(track: Track, frame: int, frame_count: int) -> tuple[int, int] | None:
    """The frames re-tracked after an edit of ``track`` at ``frame``: from the keyframe before it
    (exclusive; the sequence's first frame when there is none) to the keyframe after it
    (exclusive; the track's end, else the sequence's last frame, when there is none); None when
    that leaves no frame but ``frame``."""
    ks = track.keyframe_indices()
    before = [k for k in ks if k < frame]
    after = [k for k in ks if k > frame]
    last = frame_count - 1 if track.end is None else min(frame_count - 1, int(track.end))
    lo = before[-1] + 1 if before else 0
    hi = after[0] - 1 if after else last
    if lo >= hi and lo == frame:
        return None
    return (lo, hi) if lo <= hi else None


def requests_for(doc: AnnotationDocument, cmd: Command, frame_count: int,
                 options: FollowOptions = FollowOptions()) -> list[FollowRequest]:
    """The runs a just-applied command asks for (see the module doc): a created track is tracked
    over the whole sequence (and finished); an edited box of a track with tracked boxes re-tracks
    its neighbourhood, or, when the track holds still, puts the edited box at every frame of it;
    a motion state set by hand (moving, or a still value) on a tracked track tracks it again over
    the whole sequence (held still, or followed). Commands of other kinds (auto-tracking's own,
    whole-track edits, the rest of the review) ask for nothing, but an accepted pre-label with
    tracked boxes (a moving vehicle) is extended past its ends (``options.on_accept``): the
    detector often finds a car a few frames later or loses it a few frames earlier than it is
    seen."""
    from fusionlabel.assist.review import AcceptProposal  # the review's command (assist loads late)

    out: dict[int, FollowRequest] = {}
    for c in _commands(cmd):
        if isinstance(c, CreateTrack) and options.on_create and c.track_id is not None and c.track_id in doc:
            out[c.track_id] = FollowRequest(int(c.track_id), (0, frame_count - 1), options.finish, "created")
            continue
        if isinstance(c, AcceptProposal):  # a pre-label accepted (review queue; Y, Shift+Y)
            tid = getattr(c, "track_id", None)
            if options.on_accept and tid is not None and tid in doc and tid not in out:
                tr = doc.track(tid)
                if tr.tracked and not holds_still(tr.attributes):  # a moving vehicle's machine boxes
                    out[int(tid)] = FollowRequest(int(tid), (0, frame_count - 1), False, "accepted", extend=True)
            continue
        if not options.on_edit:
            continue
        if isinstance(c, SetAttribute) and c.track_id in doc and c.track_id not in out:
            # the motion state set by hand: a track now still is held, one now moving tracked again
            values = {c.value, getattr(c, "_previous", None)}
            tr = doc.track(c.track_id)
            if tr.tracked and values & {MOVING_VALUE, *STILL_VALUES}:
                last = frame_count - 1 if tr.end is None else min(frame_count - 1, int(tr.end))
                out[int(c.track_id)] = FollowRequest(int(c.track_id), (0, last), False, "state")
            continue
        edits: list[tuple[int, int, Box3D | None]] = []
        if isinstance(c, SetKeyframe):
            edits.append((int(c.track_id), int(c.frame), c.box))
        elif type(c).__name__ == "PropagateBoxes":  # Shift+C / Alt+C: boxes placed at the target
            edits.extend((int(t), int(c.target), None) for t in (c.outcomes or {}))  # type: ignore[attr-defined]
        for tid, f, box in edits:
            if tid not in doc or tid in out:
                continue
            tr = doc.track(tid)
            if not tr.tracked:  # interpolated tracks stay interpolated, but one size stays one size:
                # a size edit of a track whose other keyframes share one size (an accepted walker's,
                # rider's) gives them all the new size, as it does a tracked track
                sizes = [b.size for k, b in tr.keyframes.items() if k != f]
                if (box is not None and sizes and _differ(box.size, sizes[0])
                        and not any(_differ(o, sizes[0]) for o in sizes)):
                    out[tid] = FollowRequest(tid, (f, f), False, "edited", tuple(float(v) for v in box.size))
                continue
            if holds_still(tr.attributes):  # a still object: the edit moves it at every frame
                ref = doc.box_at(tid, f)
                if ref is not None:
                    last = frame_count - 1 if tr.end is None else min(frame_count - 1, int(tr.end))
                    out[tid] = FollowRequest(tid, (0, last), False, "edited", hold=box or ref.box)
                continue
            others = [b.size for k, b in (*tr.keyframes.items(), *tr.tracked.items()) if k != f]
            size = None
            if box is not None and any(max(abs(a - b) for a, b in zip(box.size, o, strict=True)) > SIZE_EDIT
                                       for o in others):
                size = tuple(float(v) for v in box.size)
            rng = edit_range(tr, f, frame_count)
            if rng is not None or size is not None:
                out[tid] = FollowRequest(tid, rng or (f, f), False, "edited", size)  # type: ignore[arg-type]
    return list(out.values())


# ---- finishing a new track ------------------------------------------------------------------------
@dataclass
class Finish:
    """How a newly tracked track is finished: turned by 180 degrees (``flip``, why in
    ``heading``: ``"motion"`` / ``"shape"``), given one ``size`` (None: kept), its motion state
    attribute set (``state``: (name, value or None to clear), None: kept); ``points``: the
    track's points per frame (world, near its boxes) that place the resized boxes. ``hold``: the
    track holds still: this one box (flip and size included) at every keyframe and at the tracked
    frames of ``hold_confidence`` (frame -> confidence), which replace its tracked boxes over
    ``hold_range`` (inclusive)."""

    track_id: int
    flip: bool = False
    heading: str = ""
    size: tuple[float, float, float] | None = None
    state: tuple[str, str | None] | None = None
    points: dict[int, F64] = field(default_factory=dict)
    hold: Box3D | None = None
    hold_confidence: dict[int, float] = field(default_factory=dict)
    hold_range: tuple[int, int] | None = None
    keyframes: tuple[int, ...] = ()

    def commands(self) -> list[Command]:
        """The commands that finish the track (applied after its tracked boxes)."""
        from fusionlabel.trackops import FlipTrack, ResizeTrack, SetTracked

        out: list[Command] = []
        if self.hold is not None:
            conf = self.hold_confidence
            rng = self.hold_range or ((min(conf), max(conf)) if conf else None)
            if rng is not None:
                out.append(SetTracked(self.track_id, dict.fromkeys(conf, self.hold), conf, replace=rng))
            out += [SetKeyframe(self.track_id, k, self.hold) for k in self.keyframes]
            if self.state is not None:
                out.append(SetAttribute(self.track_id, self.state[0], self.state[1]))
            return out
        if self.flip:
            out.append(FlipTrack(self.track_id))
        if self.size is not None:
            empty = np.zeros((0, 3))
            out.append(ResizeTrack(self.track_id, self.size, lambda f: self.points.get(f, empty)))
        if self.state is not None:
            out.append(SetAttribute(self.track_id, self.state[0], self.state[1]))
        return out


def _near(box: Box3D, pts: F64 | None, margin: float = NEAR_MARGIN) -> F64:
    """The points ``(M, 3)`` of ``pts`` within ``box`` grown by ``margin`` (BEV) and its height
    (plus ``margin`` above)."""
    if pts is None or len(pts) == 0:
        return np.zeros((0, 3))
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    d = pts[:, :3] - np.asarray(box.center)
    u, v = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    sel = ((np.abs(u) <= box.size[0] / 2 + margin) & (np.abs(v) <= box.size[1] / 2 + margin)
           & (d[:, 2] >= -box.size[2] / 2 - 0.1) & (d[:, 2] <= box.size[2] / 2 + margin))
    return np.asarray(pts[sel, :3], dtype=np.float64)


def _to_box(src: Box3D, dst: Box3D, pts: F64) -> F64:
    """World points ``(N, 3)`` near box ``src`` moved with it onto box ``dst`` (the object's
    points of another frame in this frame's place; ``src``'s heading taken on ``dst``'s side)."""
    yaw = src.yaw if abs(math.remainder(src.yaw - dst.yaw, 2 * math.pi)) <= math.pi / 2 else src.yaw + math.pi
    cs, ss = math.cos(yaw), math.sin(yaw)
    d = pts - np.asarray(src.center)
    u, v = cs * d[:, 0] + ss * d[:, 1], -ss * d[:, 0] + cs * d[:, 1]
    cd, sd = math.cos(dst.yaw), math.sin(dst.yaw)
    return np.column_stack((dst.center[0] + cd * u - sd * v, dst.center[1] + sd * u + cd * v,
                            d[:, 2] + dst.center[2]))


def body_cabin_vote(points: F64, box: Box3D, min_cover: float = 0.8) -> float:
    """Evidence (signed, m) that a vehicle's front is toward +heading of ``box``, from its points
    ``(N, 3)`` (world, around the box; accumulated over frames; those within the box's width and
    height): the cabin (points in the top 30 % of the box's height) spans an interval along the
    heading, the body (every point 0.3 m above the bottom) another; the gap from the cabin to the body's front
    (hood) minus the gap to its rear (trunk). Measured against the body's own ends, not the box's
    (a box grown over unseen space would fake a gap); 0 when the body spans less than
    ``min_cover`` of the box's length (an end unseen) or the cabin less than a third of it."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    dx, dy = p[:, 0] - box.center[0], p[:, 1] - box.center[1]
    u, v = dx * c + dy * s, -dx * s + dy * c
    bottom = box.center[2] - box.size[2] / 2
    # the box's own column (a pole or a person beside the car is not its body), up to its top
    inside = (np.abs(v) <= box.size[1] / 2 + 0.15) & (p[:, 2] <= bottom + box.size[2] + 0.15)
    body = inside & (p[:, 2] >= bottom + 0.3)
    high = inside & (p[:, 2] >= bottom + 0.7 * box.size[2])
    if body.sum() < 20 or high.sum() < 10:
        return 0.0
    b0, b1 = np.percentile(u[body], [1, 99])
    c0, c1 = np.percentile(u[high], [3, 97])
    if b1 - b0 < min_cover * box.size[0] or c1 - c0 < (b1 - b0) / 3:
        return 0.0
    return float((b1 - c1) - (c0 - b0))


def _path(boxes: Mapping[int, Box3D]) -> tuple[float, float, F64]:
    """(path length, net displacement, unit direction of the displacement) of boxes in frame
    order (BEV, m)."""
    fr = sorted(boxes)
    xy = np.array([boxes[f].center[:2] for f in fr], dtype=np.float64)
    if len(xy) < 2:
        return 0.0, 0.0, np.zeros(2)
    length = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
    d = xy[-1] - xy[0]
    net = float(np.linalg.norm(d))
    return length, net, d / net if net > 0 else np.zeros(2)


def finish_track(
    track: Track,
    result: AutoTrackResult,
    points_at: Callable[[int], F64 | None],
    ontology: Ontology,
    *,
    origin_at: Callable[[int], object] | None = None,
    times_ns: object = None,
    fit_points_at: Callable[[int], F64 | None] | None = None,
    exclude: Callable[[int], Sequence[Box3D]] | None = None,
) -> Finish:
    """How to finish ``track`` (its keyframes as made, before ``result`` is applied) once
    ``result`` tracked it (see the module doc); reads the world points ``points_at(frame)``
    (``(N, 3+)``, the whole sweep: the size's free-space test needs what lies behind the box) of
    at most ``MAX_FINISH_FRAMES`` of its frames (its keyframes and the fitted ones with the
    highest confidence); ``origin_at(frame)``: the sensor's world position there.

    A track that does not move and whose points stand still over the frames it is seen
    (:func:`fusionlabel.autotrack.still_test` on ``fit_points_at(frame)``, the points tracking
    fits, default ``points_at``; ``exclude(frame)``: the other objects' boxes there) **holds
    still**: one box for the whole track (``Finish.hold``: the still fits' pose, turned and
    sized as decided), its motion state set to the class's still value (``parked``,
    ``standing``, ``stopped``), so that later edits and re-tracking keep it in one place."""
    from fusionlabel.tracksize import estimate_track_size, resize_box

    spec = ontology.get(track.label)
    kind = class_kind(spec)
    out = Finish(track.track_id)
    if kind == "static":
        return out
    fitted = {f: result.boxes[f] for f in result.fitted
              if f in result.boxes and result.confidence.get(f, 0.0) >= MIN_FIT_CONFIDENCE}
    boxes = {**fitted, **track.keyframes}
    best = sorted(fitted, key=lambda f: -result.confidence.get(f, 0.0))[: MAX_FINISH_FRAMES - len(track.keyframes)]
    frames = sorted({*track.keyframes, *best})
    full: dict[int, F64] = {}
    for f in frames:
        p = points_at(f)
        full[f] = np.zeros((0, 3)) if p is None else np.asarray(p, dtype=np.float64)[:, :3]
        near = _near(boxes[f], full[f])
        if len(near):
            out.points[f] = near
    length, net, unit = _path(boxes)
    moving = net >= MOVING_DISTANCE and net >= MOVING_STRAIGHTNESS * length
    k0 = min(track.keyframes)
    yaw = track.keyframes[k0].yaw
    if moving and kind in ("vehicle", "ridden"):  # wheels go forwards
        if float(np.dot(unit, (math.cos(yaw), math.sin(yaw)))) < -math.cos(math.radians(45.0)):
            out.flip, out.heading = True, "motion"
    elif kind == "vehicle":  # standing: its shape over every frame, in the keyframe's box
        acc = [_to_box(boxes[f], track.keyframes[k0], out.points[f]) for f in frames if f in out.points]
        if acc and body_cabin_vote(np.concatenate(acc), track.keyframes[k0]) < -CABIN_FLIP_VOTE:
            out.flip, out.heading = True, "shape"
    value = still_value(spec)
    still = None
    if not moving and value is not None:  # its points stand still: hold it still
        fit_at = fit_points_at or points_at
        span = sorted({*track.keyframes, *result.boxes, *result.lost})
        secs = frame_seconds(span, times_ns, k0)  # type: ignore[arg-type]
        test = still_test(track.keyframes[k0], sorted({*track.keyframes, *result.fitted}),
                          sorted({*track.keyframes, *fitted}), fit_at, secs,
                          kind, exclude=exclude, origin_at=origin_at, tracked=result.boxes)  # type: ignore[arg-type]
        still = test if test.still else None
    if spec is not None:
        attr = motion_state_attribute(spec)
        name = attr.name if attr is not None else None
        current = track.attributes.get(name) if name else None
        if name and still is not None and current != value:
            out.state = (name, value)
        elif name and moving and current is None:
            out.state = (name, MOVING_VALUE)
        elif name and not moving and still is None and current == MOVING_VALUE:
            out.state = (name, None)
    probe = track.copy(tracked=dict(fitted), tracked_confidence={f: result.confidence[f] for f in fitted})
    try:  # the whole sweeps: rays that end behind the box show it empty (a box too long shrinks)
        size = estimate_track_size(probe, full.__getitem__, frames, origin_at=origin_at, times_ns=times_ns)
    except ModelError:
        size = None
    if size is not None:
        cur = track.keyframes[min(track.keyframes)].size
        if any(abs(a - b) > 0.02 for a, b in zip(size, cur, strict=True)):
            out.size = tuple(float(v) for v in size)  # type: ignore[assignment]
    if still is not None:
        held = still.box.replace(yaw=still.box.yaw + math.pi) if out.flip else still.box
        if out.size is not None:
            near = [_near(held, fit_at(f)) for f in still.frames[:MAX_FINISH_FRAMES]]
            held = resize_box(held, out.size, "visible", np.concatenate(near) if near else None)
        todo = [f for f in span if f not in track.keyframes]
        out.hold = held
        out.hold_confidence = {f: still.confidence.get(f, HELD_UNSEEN_CONFIDENCE) for f in todo}
        out.hold_range = (min(todo), max(todo)) if todo else None
        out.keyframes = tuple(sorted(track.keyframes))
    return out


def follow_command(results: Mapping[int, AutoTrackResult], frames: Iterable[int],
                   finishes: Iterable[Finish] = ()) -> Command:
    """One command: the tracked boxes of ``results`` over ``frames`` (an
    :class:`~fusionlabel.autotrack.AutoTrack`), then each track's finish."""
    track = AutoTrack(results, frames)
    extra = [c for fin in finishes for c in fin.commands()]
    if not extra:
        return track
    return CommandGroup(track.description, [track, *extra])


# ---- a run: plan on the document, work on a snapshot, apply as part of the step -------------------
@dataclass(frozen=True)
class FollowPlan:
    """A :class:`FollowRequest` planned on the document: the auto-track ``plan`` (a snapshot of
    the track and its neighbours) and the ``track`` as it was (for finishing)."""

    request: FollowRequest
    plan: AutoTrackPlan
    track: Track


@dataclass
class FollowResult:
    """What a run found: the auto-track ``results`` and, for a new track, its ``finish``."""

    results: dict[int, AutoTrackResult]
    finish: Finish | None = None


def plan_follow(doc: AnnotationDocument, frame_count: int, request: FollowRequest,
                times_ns: Sequence[int] | None = None) -> FollowPlan:
    """Snapshot what ``request`` needs (ModelError when its track is gone or has no keyframe)."""
    plan = plan_autotrack(doc, frame_count, [request.track_id], times_ns, frames=request.frames)
    return FollowPlan(request, plan, doc.track(request.track_id).copy())


def run_follow(fp: FollowPlan, points_at: PointsAt, *, full_points_at: PointsAt | None = None,
               ontology: Ontology | None = None, progress: Progress | None = None,
               params: AutoTrackParams | None = None) -> FollowResult:
    """Track ``fp`` on ``points_at(frame)`` (world points, ground removed: what auto-tracking
    fits) and, for a new track, decide its finish on ``full_points_at(frame)`` (the whole sweep;
    default ``points_at``); ``points_at.origin(frame)``, when it has one, is the sensor's world
    position. Touches no document (safe in a worker thread)."""
    onto = ontology or Ontology.default()
    req = fp.request
    origin_at = getattr(points_at, "origin", None)

    def exclude(f: int) -> list[Box3D]:
        return [s.keyframes[f] for s in fp.plan.context if f in s.keyframes]

    if req.hold is not None:  # a still track: the edited box at every frame, nothing tracked
        kind = class_kind(onto.get(fp.track.label))
        todo = [f for f in fp.plan.frames if f not in fp.track.keyframes and not in_gap(fp.track.gaps, f)]
        conf = held_confidence(req.hold, todo, points_at, kind, params, exclude, origin_at)
        fin = Finish(req.track_id, hold=req.hold, hold_range=(fp.plan.frames[0], fp.plan.frames[-1]),
                     hold_confidence={f: conf.get(f, HELD_UNSEEN_CONFIDENCE) for f in todo},
                     keyframes=tuple(k for k, b in sorted(fp.track.keyframes.items()) if b != req.hold))
        return FollowResult({req.track_id: AutoTrackResult(req.track_id)}, fin)
    if req.extend:
        return FollowResult({req.track_id: extend_result(fp, points_at, progress=progress, params=params,
                                                         ontology=onto)})
    results = run_plan(fp.plan, points_at, progress=progress, params=params, ontology=onto)
    out = FollowResult(results)
    r = results.get(req.track_id)
    if req.finish and r is not None:
        out.finish = finish_track(fp.track, r, full_points_at or points_at, onto,
                                  origin_at=origin_at, times_ns=fp.plan.times_ns,
                                  fit_points_at=points_at, exclude=exclude)
    elif req.size is not None and r is not None:  # the edit's size for the whole track, faces kept
        boxes = {**fp.track.tracked, **r.boxes, **fp.track.keyframes}
        out.finish = Finish(req.track_id, size=req.size,
                            points={f: _near(b, points_at(f)) for f, b in boxes.items()})
    return out


def extend_result(fp: FollowPlan, points_at: PointsAt, *, progress: Progress | None = None,
                  params: AutoTrackParams | None = None, ontology: Ontology | None = None) -> AutoTrackResult:
    """An accepted track extended past its ends: auto-tracked over ``fp``'s frames outside the
    span of its boxes, from all its boxes (keyframes and tracked, as keyframes: the motion model
    sees the whole track), forwards up to the last frame fitted to points and backwards down to
    the first (boxes only carried by the motion model past where the object is last seen are
    left out). The result holds the track's own tracked boxes too, unchanged, so applying it over
    the whole range replaces nothing of them."""
    tr = fp.track
    tid = fp.request.track_id
    known = {**tr.tracked, **tr.keyframes}
    out = AutoTrackResult(tid, dict(tr.tracked), dict(tr.tracked_confidence))
    if not known:
        return out
    first, last = min(known), max(known)
    if not any(f < first or f > last for f in fp.plan.frames):
        return out
    seed = next(s for s in fp.plan.seeds if s.track_id == tid)
    plan = replace(fp.plan, seeds=(replace(seed, keyframes=known),))
    r = run_plan(plan, points_at, progress=progress, params=params, ontology=ontology).get(tid)
    if r is None:
        return out
    lo = min((f for f in r.fitted if f < first), default=first)
    hi = max((f for f in r.fitted if f > last), default=last)
    for f, b in r.boxes.items():
        if lo <= f < first or last < f <= hi:
            out.boxes[f], out.confidence[f] = b, r.confidence[f]
            if f in r.fitted:
                out.fitted.add(f)
    return out


def apply_follow(undo: UndoStack, fp: FollowPlan, result: FollowResult, step: Command | None) -> ApplyOutcome:
    """Apply ``result`` to ``undo``'s document, as part of ``step`` (the step that asked for it,
    while it is the top step; else as a step of its own), unless the track changed or went
    meanwhile (then nothing is applied; a change asks for its own run)."""
    doc = undo.doc
    tid = fp.request.track_id
    if tid not in doc:
        return ApplyOutcome([], [], [tid])
    if track_state(doc.track(tid)) != fp.plan.states.get(tid) or tid not in result.results:
        return ApplyOutcome([], [tid], [])
    cmd = follow_command({tid: result.results[tid]}, fp.plan.frames,
                         [result.finish] if result.finish is not None else [])
    undo.amend(cmd, step)
    return ApplyOutcome([tid], [], [], cmd.description)
