"""Labeling effort: a simulated labeler labels whole sequences through the window's own Qt-free
actions and counts what a person would do.

The labeler (policy; see docs/effort.md)
----------------------------------------
- **Works through the same actions as the window**: a :class:`~fusionlabel.tools.ToolController`
  with a :class:`~fusionlabel.tools.ToolContext` kept current like the window keeps it (world
  points of the frame, the one-click tool's sensor origin and ego heading, the neighbouring sweeps
  when the data has ego poses, the "copy to next frame" predictor = prediction + refinement on the
  target frame's points), key presses as :class:`~fusionlabel.tools.KeyEvent` through the keymap,
  mouse gestures as :class:`~fusionlabel.tools.PointerEvent` (BEV, 40 px per metre), the window's
  application actions (``K``, ``Shift+C``, ``Alt+C``, ``Y`` / ``X`` / ``L`` / ``J``) done with the
  same core commands, and the pre-label :class:`~fusionlabel.assist.ReviewQueue`.
- **Ground truth only for what a person sees.** A box *looks wrong* at a frame when its BEV IoU
  with the truth is below 0.7, or its heading is off by more than 30 degrees, or it is missing where
  the object is visible. The labeler clicks where the object visibly is (the truth's centre, as a
  person clicking on the object's points) and drags a wrong box to where the object is (the truth:
  a drag whose end a person sees; one drag). It never sets a box from the truth otherwise.
- **Scope**: every ground-truth object with >= 10 LiDAR points within 40 m of the sensor in at least
  one frame; those frames are its *visible* frames, where it is judged and evaluated.
- **Counts**: clicks, drags and keys (the *actions*) and one visual check per box it inspects at a
  frame. Stepping through frames while inspecting is part of the check; any other frame change is
  counted (one key for a step of 1 or 10 frames, ``Home`` or ``End``; else one click on the
  timeline). Choosing the class of new boxes in the class list costs one click when it changes.
  Costs per action: 1.3 s per pointed click or drag, 0.3 s per key, 1.4 s per visual check.
- **Fixing a wrong box** at a frame (:meth:`Desk.fix`), until it looks right (at most 6 rounds):
  a missing box is brought there (``Shift+C``); a heading off by more than 10 degrees is turned
  (``Shift+Q`` / ``Shift+E`` and ``Q`` / ``E`` when that takes at most 4 presses; else one drag of
  the rotation handle); a length or width off by more than 15 % is set with ``Alt+W/S/D/A`` (at
  most 4 presses) or two corner drags (two opposite corners to where the object's corners are); a
  centre off by more than 5 cm is moved with ``W/A/S/D`` (at most 4 presses) or one drag; then the
  last degrees and centimetres. Keys act on the selected box (a click selects it). With the track
  model's whole-track edits, a box pointing backwards is flipped for the whole track (``H``) and a
  wrong size is first given one size for the whole track (``U``, once per track).
- **A track of the wrong class** (an accepted pre-label) is seen at its first look: the track is
  selected in the track list and given its class in the Objects panel's class box (3 clicks).
- **Inspecting a track** (:meth:`Desk.inspect`): its first and last visible frames and every 5th
  visible frame between; after a fix, the frame halfway to each neighbouring inspected frame (and so
  on while those look wrong). With auto-track, the frames it marks low-confidence are inspected too.

Routes (each a list of pluggable steps; the "before" ones use only what the window offers today)
-----------------------------------------------------------------------------------------------
- ``hand/before``: frame by frame: one-click (``G`` + click) every object at its first visible
  frame, check it and fix it; ``Alt+C`` (propagate every box to the next frame, one key shared by
  the tracks there), check every visible box there and fix the wrong ones before the next ``Alt+C``.
- ``hand/after`` (the track model, ``fusionlabel.autotrack``): one-click every object at its first
  visible frame (the track lasts to the end of the sequence), ``Shift+T`` (auto-track every track:
  one key, shared), inspect each track and fix; a fix that edited a box at its frame is followed
  by ``T`` (the track re-tracked from its keyframes). With ``fusionlabel.follow`` (the window's
  default; ``--no-follow`` leaves it out) each new box tracks itself and is finished as a whole
  (heading, size, motion state), each fix re-tracks its neighbourhood (no ``Shift+T``, no ``T``;
  the desk lets those jobs finish after each box and fix), and the objects are boxed at the first
  frame, then the last frame's new ones (``End``), then the rest where they appear.
- ``prelabel/before``: pre-label the sequence (one click, shared), review the queue as it is
  ordered (lowest confidence first): look at each proposal at the frame the window shows, ``Y``
  when it is on an object not yet labelled (``L`` after choosing the class when its class is wrong),
  ``X`` otherwise; then inspect every accepted track and fix. Objects without a proposal stay
  unlabelled (recall).
- ``prelabel/after`` (track-level pre-labels, the review queue's bulk accept): the queue highest
  confidence first, everything above its threshold accepted with ``Shift+Y`` (not looked at one by
  one), the rest reviewed one by one; inspect every accepted track (a false track found there is
  deleted: click + ``Shift+Delete``) and fix. With ``fusionlabel.follow`` (the window's default) a
  fix of a track with tracked boxes (an accepted moving vehicle's machine boxes) re-tracks the
  frames around it; the desk lets that job finish after each fix. Accepting such a track extends
  it past its ends (the window's job on accept; the desk lets it finish after ``Shift+Y`` and
  after the one-by-one review); the frames it gained below the review confidence are inspected.

Prints per route and class (moving / static vehicles, pedestrians, cyclists, ...): tracks, actions
per track (clicks + drags + keys; overhead such as rejecting false proposals is shared evenly over
the route's tracks), visual checks per track, estimated seconds per track, mean BEV IoU over the
visible frames (a missing box counts 0), boxes pointing backwards (heading error > 90 degrees), and
recall / precision for the pre-label routes. Synthetic seeds 0-4 (30 frames, 6-camera rig, exact
truth; the LiDAR and the truth do not depend on the cameras, which the labeler does not use) and
the real SUSTechPOINTS example (4 sweeps, ego poses estimated; skipped when absent).

Run: ``PYTHONPATH=. python benchmarks/bench_effort.py [--seeds 0 1 2 3 4] [--frames 30] [--quick]
[--before] [--no-real] [--routes hand prelabel]``; ``--before`` runs today's routes even when the
new features exist (both are printed when both are available).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calib.transforms import transform_points, wrap_angle  # noqa: E402
from fusionlabel.assist.fit import resolve_class  # noqa: E402
from fusionlabel.assist.prelabel import VEHICLE_CLASSES  # noqa: E402
from fusionlabel.assist.review import ReviewQueue, set_prelabels  # noqa: E402
from fusionlabel.box import Box3D  # noqa: E402
from fusionlabel.commands import CreateTrack, SetLabel, UndoStack  # noqa: E402
from fusionlabel.document import AnnotationDocument, Proposal  # noqa: E402
from fusionlabel.errors import ModelError  # noqa: E402
from fusionlabel.geometry import bev_iou, count_points_in_boxes  # noqa: E402
from fusionlabel.ontology import Ontology  # noqa: E402
from fusionlabel.propagation import PropagateBoxes, bring_plan, predict_box_at, refine_box  # noqa: E402
from fusionlabel.tools import KeyEvent, PointerEvent, ToolContext, ToolController  # noqa: E402
from fusionlabel.tools.handles import box_handles  # noqa: E402
from fusionlabel.tools.select import pick_candidates  # noqa: E402
from fusionlabel.trackops import MakeKeyframe  # noqa: E402

SUSTECH = ROOT.parent / "shared" / "data" / "real" / "sustechpoints_example" / "data" / "example"

# ---- the policy's constants (docs/effort.md) -------------------------------------------------------
WRONG_IOU = 0.7  #: a box looks wrong below this BEV IoU with the truth
WRONG_HEADING_DEG = 30.0  #: ... or with its heading off by more than this
TURN_DEG = 10.0  #: a fix turns a box whose heading is off by more than this first
SIZE_TOLERANCE = 0.15  #: ... then sets a length or width off by more than this share
FINE_MOVE = 0.05  #: ... then moves a box off by more than this (m), and sizes off by more than this
FINE_TURN_DEG = 2.0  #: ... and turns the last degrees beyond this
MAX_KEYS = 4  #: a fix by keys takes at most this many presses; else the mouse (drag) is used
MIN_POINTS = 10  #: an object is visible in a frame with at least this many LiDAR points ...
MAX_RANGE = 40.0  #: ... within this distance (m) of the sensor
ON_OBJECT_IOU = 0.3  #: a proposal whose box overlaps an object this much is "on" it ...
ON_OBJECT_M = 0.5  #: ... or whose centre is this close (m) to the object's
INSPECT_STRIDE = 5  #: inspection: every 5th visible frame (and the first and last)
PX_PER_M = 40.0  #: BEV zoom of the gestures (handles are picked within 8 px)
FIX_ROUNDS = 6
REJECT_RUN = 5  #: the rest of the review queue is rejected (Shift+X) after this many wrong proposals in a row
VEHICLES = VEHICLE_CLASSES  #: the vehicle classes of the pre-labeller


@dataclass(frozen=True)
class Costs:
    """Seconds per action: a pointed click or drag, a key, a visual check."""

    click: float = 1.3
    key: float = 0.3
    check: float = 1.4


COSTS = Costs()


# ---- sequences -------------------------------------------------------------------------------------
@dataclass
class GtTrack:
    """A ground-truth object: world boxes per frame, its class (ontology name), category for the
    report (``moving car``, ``static car``, ``pedestrian``, ...) and the frames where it is visible."""

    gt_id: int
    label: str
    category: str
    boxes: dict[int, Box3D]
    visible: list[int]


@dataclass
class SeqData:
    """What the labeler's window has of a sequence: per frame the world points ``(N, 3)``, the
    LiDAR's world position and the ego heading (rad); frame times (ns); whether there are ego poses;
    the FrameInputs for pre-labelling; the truth."""

    name: str
    times_ns: list[int]
    points: list[np.ndarray]
    origins: list[np.ndarray]
    ego_yaws: list[float]
    has_poses: bool
    gt: dict[int, GtTrack]
    ontology: Ontology
    frame_inputs: Callable[[], Iterable[Any]]
    independent_frames: bool = False

    def __len__(self) -> int:
        return len(self.times_ns)


def category(label: str, moved_m: float) -> str:
    """Report category: vehicles split into moving (> 1 m between first and last visible frame) and
    static; other classes by name."""
    if label in VEHICLES:
        return f"{'moving' if moved_m > 1.0 else 'static'} {label}"
    return label


def _truth(tracks: dict[int, tuple[str, dict[int, Box3D]]], points: list[np.ndarray], origins: list[np.ndarray],
           ontology: Ontology) -> dict[int, GtTrack]:
    """GtTracks with their visible frames (>= MIN_POINTS points, within MAX_RANGE)."""
    out = {}
    for gid, (label, boxes) in tracks.items():
        spec = resolve_class(ontology, label)
        if spec is None:
            continue
        vis = []
        for f, b in sorted(boxes.items()):
            if math.dist(b.center[:2], origins[f][:2]) > MAX_RANGE:
                continue
            if int(count_points_in_boxes(points[f], [b])[0]) >= MIN_POINTS:
                vis.append(f)
        if not vis:
            continue
        moved = math.dist(boxes[vis[0]].center[:2], boxes[vis[-1]].center[:2])
        out[gid] = GtTrack(gid, spec.name, category(spec.name, moved), boxes, vis)
    return out


def synth_sequence(seed: int, frames: int = 30, cameras: int = 6) -> SeqData:
    """A synthetic sequence in memory (the LiDAR and truth of ``fusionlabel synth --seed S --frames F
    --cameras 6``; the camera images are not rendered: the labeler does not use them)."""
    from fusionlabel.assist.prelabel import FrameInput
    from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene

    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=cameras))
    T_ego_lidar = scene.rig.T("ego", LIDAR_NAME)
    pts, origins, yaws, times, inputs = [], [], [], [], []
    for k in range(frames):
        fr = scene.frame(k, cameras=False)
        T = fr.T_world_from_ego @ T_ego_lidar
        sweep = fr.lidar[LIDAR_NAME].points
        pts.append(transform_points(T, sweep[:, :3].astype(np.float64)))
        origins.append(T[:3, 3].copy())
        yaws.append(math.atan2(fr.T_world_from_ego[1, 0], fr.T_world_from_ego[0, 0]))
        times.append(int(fr.timestamp_ns))
        inputs.append(FrameInput(k, fr.timestamp_ns, sweep, T, LIDAR_NAME, T_world_from_ego=fr.T_world_from_ego))
    onto = Ontology.default()
    tracks = {t.track_id: (t.label, dict(t.keyframes)) for t in scene.tracks()}
    return SeqData(scene.name, times, pts, origins, yaws, True, _truth(tracks, pts, origins, onto), onto,
                   lambda: inputs)


def sustech_sequence(path: Path = SUSTECH) -> SeqData | None:
    """The SUSTechPOINTS example opened as the window opens it with ``--estimate-poses`` (None when
    absent)."""
    if not path.exists():
        return None
    from formats.datasets import open_dataset
    from fusionlabel.assist.prelabel import frames_from_sequence

    ls = open_dataset(path, format="sustech", estimate_poses=True)
    onto = Ontology.default().for_dataset(ls.info.format)
    lidar = ls.lidar_names[0]
    pts, origins, yaws = [], [], []
    for k in range(len(ls.info.frames)):
        T = np.asarray(ls.T_world_from_sensor(k, lidar))
        pts.append(transform_points(T, ls.read_lidar(k, lidar).xyz.astype(np.float64)))
        origins.append(T[:3, 3].copy())
        Te = ls.info.T_world_from_ego(k)
        yaws.append(math.atan2(Te[1, 0], Te[0, 0]))
    times = [int(f.timestamp_ns) for f in ls.info.frames]
    tracks = {tid: (t.label, dict(t.keyframes)) for tid, t in ls.annotations.tracks.items()}
    return SeqData("sustechpoints-example", times, pts, origins, yaws, True, _truth(tracks, pts, origins, onto),
                   onto, lambda: frames_from_sequence(ls))


# ---- counting --------------------------------------------------------------------------------------
@dataclass
class Tally:
    """What a person did for one account (a ground-truth object, or the route's overhead)."""

    clicks: float = 0.0
    drags: float = 0.0
    keys: float = 0.0
    checks: float = 0.0

    @property
    def actions(self) -> float:
        return self.clicks + self.drags + self.keys

    def seconds(self, costs: Costs = COSTS) -> float:
        return (self.clicks + self.drags) * costs.click + self.keys * costs.key + self.checks * costs.check

    def add(self, other: Tally, share: float = 1.0) -> None:
        self.clicks += other.clicks * share
        self.drags += other.drags * share
        self.keys += other.keys * share
        self.checks += other.checks * share


OVERHEAD = -1  #: the account of actions that serve no one object (e.g. rejecting a false proposal)


class Ledger:
    """Tallies per account; ``charge_to`` sets the accounts (their share each) of what follows."""

    def __init__(self) -> None:
        self.accounts: dict[int, Tally] = defaultdict(Tally)
        self._to: list[int] = [OVERHEAD]
        self.log: list[tuple[tuple[int, ...], str, str]] = []  #: (accounts, kind, what) of every count

    def charge_to(self, *accounts: int) -> None:
        self._to = list(accounts) or [OVERHEAD]

    def count(self, kind: str, n: float = 1.0, what: str = "") -> None:
        self.log.append((tuple(self._to), kind, what))
        for a in self._to:
            t = self.accounts[a]
            setattr(t, kind, getattr(t, kind) + n / len(self._to))


# ---- features: what the window offers (today's, or the new ones when they exist) ------------------
@dataclass
class Features:
    """The optional features the routes use when present (detected by import)."""

    autotrack: Any = None  #: the ``fusionlabel.autotrack`` module
    flip_track: bool = False  #: ``H`` flips a track (``fusionlabel.trackops.FlipTrack``)
    resize_track: bool = False  #: ``U`` gives a track one size (``fusionlabel.trackops.ResizeTrack``)
    held: bool = False  #: a new box lasts to the end of the sequence (held), a parked car needs one
    bulk_accept: bool = False  #: ReviewQueue accepts everything above a threshold
    reject_rest: bool = False  #: ReviewQueue rejects the rest of the queue in one action (``Shift+X``)
    held_oneclick: bool = False  #: ``Shift+G`` holds the one-click tool on, box after box
    follow: Any = None  #: ``fusionlabel.follow``: a new box tracks itself, an edit re-tracks around it

    @classmethod
    def detect(cls) -> Features:
        f = cls()
        try:
            f.autotrack = importlib.import_module("fusionlabel.autotrack")
        except ImportError:
            pass
        ops = importlib.import_module("fusionlabel.trackops")
        f.flip_track, f.resize_track = hasattr(ops, "FlipTrack"), hasattr(ops, "ResizeTrack")
        f.held = "to_sequence_end" in inspect.signature(CreateTrack).parameters
        f.bulk_accept = hasattr(ReviewQueue, "accept_above")
        f.reject_rest = hasattr(ReviewQueue, "reject_rest")
        km = importlib.import_module("fusionlabel.tools.keymap").Keymap.default()
        f.held_oneclick = bool(km.shortcuts_for("tool_oneclick_held"))
        try:
            f.follow = importlib.import_module("fusionlabel.follow")
        except ImportError:
            pass
        return f

    def describe(self) -> str:
        return ", ".join(f"{name}={'yes' if getattr(self, name) else 'no'}"
                         for name in ("autotrack", "flip_track", "resize_track", "held", "bulk_accept", "reject_rest",
                                      "held_oneclick", "follow"))


TODAY = Features()


def key_steps(delta: float, large: float, small: float, tolerance: float) -> tuple[int, int]:
    """Signed numbers of large and small key steps that bring ``delta`` within ``tolerance``
    (overshooting with one more large step when that needs fewer presses)."""
    sign, a = (1 if delta >= 0 else -1), abs(delta)
    best: tuple[int, int] | None = None
    for n_large in (int(a // large), int(a // large) + 1):
        r = a - n_large * large
        n_small = math.ceil((abs(r) - tolerance) / small - 1e-9) if abs(r) > tolerance else 0
        cand = (sign * n_large, (sign if r >= 0 else -sign) * n_small)
        if best is None or abs(cand[0]) + abs(cand[1]) < abs(best[0]) + abs(best[1]):
            best = cand
    assert best is not None
    return best


# ---- the labeler's desk: the window's Qt-free parts -------------------------------------------------
class _Sweeps:
    """What auto-tracking reads, as the window's ``fusionlabel.autotrack.SweepPoints`` gives it:
    each frame's ground-free world points, and ``origin(frame)`` the LiDAR's world position (it
    places a walker's box behind its visible side)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def __call__(self, f: int) -> np.ndarray:
        return self.desk.sweep_points(f)

    def origin(self, f: int) -> np.ndarray:
        return self.desk.seq.origins[f]


class Desk:
    """A document, undo stack, tool context and controller for ``seq``, kept current as the window
    keeps them, with every gesture counted in ``ledger``."""

    def __init__(self, seq: SeqData, features: Features = TODAY, ledger: Ledger | None = None) -> None:
        self.seq, self.features = seq, features
        self.ledger = ledger if ledger is not None else Ledger()
        self.doc = AnnotationDocument(len(seq), seq.times_ns)
        self.stack = UndoStack(self.doc)
        self.ctx = ToolContext(self.doc, self.stack, 0, ontology=seq.ontology, on_frame=self._on_frame)
        self.ctl = ToolController(self.ctx, on_app_action=self._app_action)
        self.ctx.box_predictor = self._predict
        if seq.has_poses:
            self.ctx.neighbour_points = self._neighbour
        self.queue: ReviewQueue | None = None
        self.owner: dict[int, int] = {}  # labeler track id -> ground-truth id it was made for
        self.flagged: dict[int, set[int]] = {}  # track id -> frames auto-tracking flags for review
        self.on_fixed: Callable[[int], None] | None = None  # called after a fix edited a box at its frame
        self.frame_edits = 0  # edits of a box at one frame (not whole-track edits) since the last fix began
        self._sweeps: dict[int, np.ndarray] = {}
        self.resized: set[int] = set()  # tracks given one size with U
        self._follow: list[tuple[Any, Any]] = []  # (request, step) the window's follow-up runs are to do
        self.following = False  # the window's automatic tracking (Assist toggles) is on
        self.stack.on_push(self._pushed)
        self.sweeps = _Sweeps(self)
        self._on_frame(0)

    # ---- the window's frame handling ------------------------------------------------------------
    def _on_frame(self, f: int) -> None:
        """The window's frame facts: world points, the LiDAR's world position, the ego heading."""
        self.ctx.set_frame_data(self.seq.points[f], self.seq.origins[f], self.seq.ego_yaws[f])

    def _neighbour(self, offset: int) -> tuple[float, np.ndarray] | None:
        f = self.ctx.frame + int(offset)
        if not 0 <= f < len(self.seq):
            return None
        return (self.seq.times_ns[f] - self.seq.times_ns[self.ctx.frame]) * 1e-9, self.seq.points[f]

    def _predict(self, doc: AnnotationDocument, tid: int, frame: int, target: int) -> Box3D | None:
        """The window's "copy to next frame" predictor: motion prediction, refined on the points."""
        box = predict_box_at(doc.track(tid), frame, target, doc.frame_times_ns)
        others = [r.box for r in doc.boxes_at(target) if r.track_id != tid]
        return refine_box(box, self.seq.points[target], exclude_boxes=others).box

    def _push(self, cmd: Any) -> bool:
        try:
            self.stack.push(cmd)
        except ModelError:
            return False
        return True

    def _app_action(self, name: str) -> None:
        """The actions the controller hands to the window, done as the window does them."""
        f, tid = self.ctx.frame, self.ctx.selection
        if name == "make_keyframe" and tid is not None:
            self._push(MakeKeyframe(tid, f))
        elif name == "copy_to_this_frame" and tid is not None:
            self._copy_here(tid, f)
        elif name == "propagate_all" and f + 1 < len(self.seq):
            if self._push(PropagateBoxes(f, f + 1, None, points_world=self.seq.points[f + 1])):
                self.ctx.set_frame(f + 1)
        elif name in ("accept_proposal", "reject_proposal", "next_proposal", "relabel_proposal") and self.queue:
            self._review(name)
        elif name == "accept_above_threshold" and self.queue:
            self.queue.accept_above()  # type: ignore[attr-defined]  # the dock's default threshold
            self.show_current()
        elif name == "reject_rest" and self.queue:
            self.queue.reject_rest()  # type: ignore[attr-defined]
            self.show_current()
        elif name in ("flip_track", "end_track", "extend_track", "resize_track") and tid is not None:
            self._track_edit(name, tid, f)
        elif name == "auto_track_all" or (name == "auto_track" and tid is not None):
            self._auto_track(None if name == "auto_track_all" else [tid])

    def _auto_track(self, track_ids: list[int] | None) -> None:
        """``T`` / ``Shift+T``: the window's auto-track job, run to its end here (plan on the
        document, run on the ground-free world sweeps, apply as one undoable command); the tracked
        boxes below the review confidence join the frames inspected of their track."""
        from fusionlabel import trackjob

        try:
            plan = trackjob.plan_autotrack(self.doc, len(self.seq), track_ids)
        except ModelError:
            return
        results = trackjob.run_plan(plan, self.sweeps, ontology=self.seq.ontology)
        trackjob.apply_results(self.doc, self.stack, plan, results)
        for tid in results:
            self.flagged[tid] = set()
        for item in trackjob.TrackedReviewQueue.from_results(results.values()).items:
            self.flagged[item.track_id].add(item.frame)

    def _pushed(self, cmd: Any, step: Any) -> None:
        """The window's follow-up of a pushed command (``fusionlabel.follow``: a new box tracked
        through the sequence, an edited one's neighbourhood re-tracked), queued as its jobs are."""
        if self.following and self.features.follow is not None:
            for req in self.features.follow.requests_for(self.doc, cmd, len(self.seq)):
                self._follow = [(r, s) for r, s in self._follow if r.track_id != req.track_id]
                self._follow.append((req, step))

    def settle(self) -> None:
        """Let the window's follow-up jobs finish (they run in the background while the labeler
        looks on; here one after the other): each planned, run on the ground-free sweeps,
        applied as part of the step that asked for it; the low-confidence tracked boxes join the
        frames inspected of their track."""
        from fusionlabel.trackjob import REVIEW_BELOW

        fw = self.features.follow
        while self._follow:
            req, step = self._follow.pop(0)
            try:
                fp = fw.plan_follow(self.doc, len(self.seq), req)
            except ModelError:
                continue
            res = fw.run_follow(fp, self.sweeps, full_points_at=lambda k: self.seq.points[k],
                                ontology=self.seq.ontology)
            applied = fw.apply_follow(self.stack, fp, res, step).applied
            if applied and req.finish:  # the window says so: the new track already has one size (U)
                self.resized.add(req.track_id)
            if req.track_id in self.doc:
                tr = self.doc.track(req.track_id)
                low = {f for f, c in tr.tracked_confidence.items() if c < REVIEW_BELOW}
                if getattr(req, "extend", False):  # an accepted track extended: the frames it gained
                    low -= set(fp.track.tracked)  # (its own boxes are the detector's, scored by it)
                self.flagged[req.track_id] = low

    def sweep_points(self, f: int) -> np.ndarray:
        """Frame ``f``'s world points without the ground, as the window gives auto-tracking
        (``fusionlabel.autotrack.SweepPoints``: points under the ground tolerance or over 4 m
        above the fitted ground dropped)."""
        if f not in self._sweeps:
            from fusionlabel.assist.ground import GROUND_TOLERANCE, fit_ground

            p = self.seq.points[f]
            h = fit_ground(p, self.seq.origins[f], frame="world").height_above(p)
            self._sweeps[f] = p[(h >= GROUND_TOLERANCE) & (h <= 4.0)]
        return self._sweeps[f]

    def origin(self, f: int) -> np.ndarray:
        return self.seq.origins[f]

    def _track_edit(self, name: str, tid: int, f: int) -> None:
        """The window's whole-track edits (``H``, ``Ctrl+End``, ``Ctrl+Shift+End``, ``U``)."""
        from fusionlabel import trackops

        if name == "flip_track":
            self._push(trackops.FlipTrack(tid))
        elif name == "end_track":
            self._push(trackops.EndTrack(tid, f))
        elif name == "extend_track":
            self._push(trackops.ExtendTrack(tid))
        else:
            from fusionlabel.tracksize import estimate_track_size

            track = self.doc.track(tid)
            anchors = sorted({*track.keyframes, *track.tracked})
            if len(anchors) > 20:  # the window reads at most 20 frames, evenly spread
                step = (len(anchors) - 1) / 19
                anchors = sorted({anchors[round(i * step)] for i in range(20)})
            empty = np.zeros((0, 3))

            def points_at(k: int) -> np.ndarray:
                return self.seq.points[k] if k in anchors else empty

            try:
                size = estimate_track_size(track, points_at, anchors, origin_at=lambda k: self.seq.origins[k],
                                           times_ns=self.doc.frame_times_ns)
            except ModelError:
                return
            self._push(trackops.ResizeTrack(tid, size, points_at))

    def _copy_here(self, tid: int, f: int) -> None:
        """``Shift+C`` as the window does it (:func:`fusionlabel.propagation.bring_plan`): an
        interpolated or tracked box here becomes a keyframe as it is; else the track's nearest box
        is brought here, predicted and refined on this frame's points."""
        try:
            plan = bring_plan(self.doc.track(tid), f, self.doc.frame_times_ns)
        except ModelError:
            return
        if plan.action == "make_keyframe":
            self._push(MakeKeyframe(tid, f))
        elif plan.action == "propagate":
            self._push(PropagateBoxes(plan.source, f, [tid], points_world=self.seq.points[f]))

    def _review(self, name: str) -> None:
        q = self.queue
        assert q is not None
        if name == "next_proposal":
            q.next()
        elif name == "relabel_proposal":
            if q.current is not None and self.ctx.default_class != q.current.label:
                q.edit(label=self.ctx.default_class)
        elif q.current is not None:
            if name == "accept_proposal":
                cmd = q.accept()
                self.ctx.set_selection(cmd.track_id)
            else:
                q.reject()
        self.show_current()

    def show_current(self) -> None:
        """The window shows the proposal under review at its frame nearest to the current one."""
        p = self.queue.current if self.queue is not None else None
        if p is not None and p.boxes and self.ctx.frame not in p.boxes:
            self.ctx.set_frame(min(p.frames(), key=lambda k: abs(k - self.ctx.frame)))

    # ---- counted gestures -----------------------------------------------------------------------
    def key(self, key: str, *mods: str) -> str | None:
        self.ledger.count("keys", what=f"f{self.ctx.frame} {'+'.join([*mods, key])}")
        return self.ctl.on_key(KeyEvent(key, frozenset(mods)))

    def _ev(self, kind: str, xy: Iterable[float]) -> PointerEvent:
        x, y = (float(v) for v in list(xy)[:2])
        return PointerEvent(kind, (x, y), button="left", view="bev", pixels_per_metre=PX_PER_M)

    def click(self, xy: Iterable[float], what: str = "click") -> None:
        self.ledger.count("clicks", what=f"f{self.ctx.frame} {what}")
        xy = list(xy)
        self.ctl.on_pointer(self._ev("press", xy))
        self.ctl.on_pointer(self._ev("release", xy))

    def drag(self, start: Iterable[float], end: Iterable[float], what: str = "drag") -> None:
        self.ledger.count("drags", what=f"f{self.ctx.frame} {what}")
        a, b = list(start)[:2], list(end)[:2]
        self.ctl.on_pointer(self._ev("press", a))
        for t in (0.25, 0.5, 1.0):
            self.ctl.on_pointer(self._ev("move", [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]))
        self.ctl.on_pointer(self._ev("release", b))

    def check(self) -> None:
        self.ledger.count("checks", what=f"f{self.ctx.frame}")

    def choose_class(self, label: str) -> None:
        """Pick the class of new boxes in the class list (one click when it changes)."""
        if self.ctx.default_class != label:
            self.ledger.count("clicks", what=f"class {label}")
            self.ctx.default_class = label

    def goto(self, f: int) -> None:
        """Go to frame ``f``: a key for a step of 1 or 10 frames, Home, End; else a timeline click."""
        cur, last = self.ctx.frame, len(self.seq) - 1
        if f == cur:
            return
        d = f - cur
        if abs(d) in (1, 10):
            self.key("right" if d > 0 else "left", *(("shift",) if abs(d) == 10 else ()))
        elif f == 0:
            self.key("home")
        elif f == last:
            self.key("end")
        else:
            self.ledger.count("clicks", what=f"timeline f{f}")
            self.ctx.set_frame(f)

    def look(self, f: int) -> None:
        """Step to ``f`` while inspecting (part of the check) and look at the box: one check."""
        self.ctx.set_frame(f)
        self.check()

    def select(self, tid: int) -> bool:
        """Select track ``tid`` by clicking its box (repeated clicks cycle through overlaps)."""
        for _ in range(4):
            if self.ctx.selection == tid:
                return True
            ref = self.doc.box_at(tid, self.ctx.frame)
            if ref is None:
                return False
            self.click(ref.box.center[:2], "select")
        return self.ctx.selection == tid

    # ---- creation -------------------------------------------------------------------------------
    def one_click(self, g: GtTrack, f: int) -> int | None:
        """``G`` (unless the one-click tool is held on with ``Shift+G``) and a click on the object's
        points at frame ``f``; without a box there, ``N`` (a class-default box at the pointer).
        Returns the new track id."""
        self.goto(f)
        self.choose_class(g.label)
        before = set(self.doc.track_ids())
        if self.ctl.held != "oneclick":
            self.key("g")
        self.click(g.boxes[f].center[:2], "one-click")
        new = set(self.doc.track_ids()) - before
        if not new:
            if self.ctl.held != "oneclick":
                self.ctl.set_tool("edit")
            self.key("n")
            new = set(self.doc.track_ids()) - before
        if not new:
            return None
        tid = new.pop()
        self.owner[tid] = g.gt_id
        return tid

    # ---- judging and fixing ---------------------------------------------------------------------
    def looks_wrong(self, tid: int, f: int, gt: Box3D) -> str | None:
        """What a person sees as wrong with track ``tid``'s box at ``f`` (None: looks right)."""
        if tid not in self.doc:
            return "missing"
        ref = self.doc.box_at(tid, f)
        if ref is None:
            return "missing"
        if abs(math.degrees(wrap_angle(ref.box.yaw - gt.yaw))) > WRONG_HEADING_DEG:
            return "heading"
        if bev_iou(ref.box, gt) < WRONG_IOU:
            return "iou"
        return None

    def fix(self, tid: int, f: int, gt: Box3D) -> None:
        """Fix track ``tid``'s box at the current frame ``f`` until it looks right (see the policy):
        heading, then size, then position, then the last degrees and centimetres."""
        for _ in range(FIX_ROUNDS):
            if self.looks_wrong(tid, f, gt) is None or tid not in self.doc:
                return
            ref = self.doc.box_at(tid, f)
            if ref is None:
                if not self.select_track(tid):
                    return
                self.frame_edits += 1
                self.key("c", "shift")
                if self.doc.box_at(tid, f) is None:
                    return
                continue
            box = ref.box
            dyaw = math.degrees(wrap_angle(gt.yaw - box.yaw))
            dsize = (gt.size[0] - box.size[0], gt.size[1] - box.size[1])
            rel = max(abs(dsize[0]) / gt.size[0], abs(dsize[1]) / gt.size[1])
            off = math.dist(box.center[:2], gt.center[:2])
            if abs(dyaw) > TURN_DEG:
                if abs(dyaw) > 150.0 and self.features.flip_track and self.select(tid):
                    self.key("h")  # the whole track turned by 180 degrees
                else:
                    self.frame_edits += 1
                    self.turn(tid, box, dyaw, gt)
            elif rel > SIZE_TOLERANCE and self.features.resize_track and tid not in self.resized and self.select(tid):
                self.resized.add(tid)
                self.key("u")  # one size for the whole track, once
            elif rel > SIZE_TOLERANCE:
                self.frame_edits += 1
                self.resize_to(tid, box, dsize, gt)
            elif off > FINE_MOVE:
                self.frame_edits += 1
                self.move_to(tid, box, gt)
            elif abs(dyaw) > FINE_TURN_DEG:
                self.frame_edits += 1
                self.turn(tid, box, dyaw, gt)
            elif max(abs(d) for d in dsize) > FINE_MOVE:
                self.frame_edits += 1
                self.resize_to(tid, box, dsize, gt)
            else:
                return  # nothing left a person could see to change

    def set_class(self, tid: int, g: GtTrack, f: int) -> None:
        """A track of the wrong class (its colour and label say so at its first look, ``f``):
        select it (the track list: one click) and pick the class in the Objects panel's class box
        (two clicks: open, choose); one command for the whole track."""
        if tid not in self.doc or self.doc.track(tid).label == g.label:
            return
        self.ctx.set_frame(f)  # the first look of the inspection
        self.select_track(tid)
        self.ledger.count("clicks", what="class box")
        self.ledger.count("clicks", what=f"class {g.label}")
        self.stack.push(SetLabel(tid, g.label))

    def select_track(self, tid: int) -> bool:
        """Select a track that may have no box here (the track list: one click)."""
        if self.ctx.selection != tid:
            self.ledger.count("clicks", what="track list")
            self.ctx.set_selection(tid)
        return self.ctx.selection == tid


    def presses(self, plus: str, minus: str, steps: tuple[int, int], *mods: str) -> None:
        """Signed (large, small) key steps: ``plus`` / ``minus`` with ``mods`` (and ``Shift`` for the
        large ones)."""
        for n, extra in zip(steps, (("shift",), ()), strict=True):
            for _ in range(abs(n)):
                self.key(plus if n > 0 else minus, *mods, *extra)

    def turn(self, tid: int, box: Box3D, dyaw_deg: float, gt: Box3D) -> None:
        """Turn by ``dyaw_deg`` with ``Q`` / ``E`` (``Shift``: 10 degrees) when that takes at most
        MAX_KEYS presses, else by dragging the rotation handle."""
        if not self.select(tid):
            return
        steps = key_steps(dyaw_deg, 10.0, 1.0, FINE_TURN_DEG)
        if abs(steps[0]) + abs(steps[1]) <= MAX_KEYS:
            self.presses("q", "e", steps)
            return
        handle = next(h for h in box_handles("bev", box, PX_PER_M) if h.kind == "rotate")
        c = np.asarray(box.center[:2])
        r = math.hypot(*(np.asarray(handle.pos) - c))
        self.drag(handle.pos, c + r * np.array([math.cos(gt.yaw), math.sin(gt.yaw)]), "rotate")

    def move_to(self, tid: int, box: Box3D, gt: Box3D) -> None:
        """Move the box to where the object is: nudge keys (box frame; ``Shift``: 0.5 m) when that
        takes at most MAX_KEYS presses, else a drag by its middle (a drag inside an unselected box
        selects and moves it; when another box is on top there it is selected first)."""
        c = np.asarray(box.center[:2])
        d = np.asarray(gt.center[:2]) - c
        cy, sy = math.cos(box.yaw), math.sin(box.yaw)
        along, left = cy * d[0] + sy * d[1], -sy * d[0] + cy * d[1]
        fwd, side = key_steps(along, 0.5, 0.05, FINE_MOVE), key_steps(left, 0.5, 0.05, FINE_MOVE)
        if sum(map(abs, fwd + side)) <= MAX_KEYS or math.hypot(*d) * PX_PER_M < 4.0:
            if self.select(tid):
                self.presses("w", "s", fwd)
                self.presses("a", "d", side)
            return
        cand = pick_candidates(self.ctx, tuple(c), 0.0)
        if (not cand or cand[0] != tid) and not self.select(tid):
            return
        self.drag(c, gt.center[:2], "move")

    def resize_to(self, tid: int, box: Box3D, dsize: tuple[float, float], gt: Box3D) -> None:
        """Set the length and width: ``Alt`` + ``W`` / ``S`` / ``D`` / ``A`` (symmetric, ``Shift``:
        0.5 m) when that takes at most MAX_KEYS presses, else two corner drags (the box's front-left
        and rear-right corners to the object's, which also places it)."""
        if not self.select(tid):
            return
        length, width = key_steps(dsize[0], 0.5, 0.05, FINE_MOVE), key_steps(dsize[1], 0.5, 0.05, FINE_MOVE)
        if sum(map(abs, length + width)) <= MAX_KEYS:
            self.presses("w", "s", length, "alt")
            self.presses("d", "a", width, "alt")
            return
        cg, sg = math.cos(gt.yaw), math.sin(gt.yaw)
        for name, sx, sy in (("front_left", 1, 1), ("rear_right", -1, -1)):
            ref = self.doc.box_at(tid, self.ctx.frame)
            if ref is None:
                return
            h = next(h for h in box_handles("bev", ref.box, PX_PER_M)
                     if h.kind == "corner" and h.signs[0] == sx and h.signs[1] == sy)
            hx, hy = sx * gt.size[0] / 2, sy * gt.size[1] / 2
            self.drag(h.pos, (gt.center[0] + cg * hx - sg * hy, gt.center[1] + sg * hx + cg * hy), f"corner {name}")

    # ---- inspection -----------------------------------------------------------------------------
    def inspect(self, tid: int, g: GtTrack, stride: int = INSPECT_STRIDE) -> int:
        """Inspect track ``tid`` of object ``g`` (see the policy) and fix what looks wrong; returns
        the number of frames fixed."""
        vis = g.visible
        self.set_class(tid, g, vis[0])
        marks = sorted({vis[0], vis[-1], *vis[::stride]})
        marks = sorted(set(marks) | (self.flagged.get(tid, set()) & set(vis)))
        pending = list(marks)
        seen: set[int] = set()
        pos = {f: i for i, f in enumerate(vis)}
        fixed = 0
        while pending:
            f = pending.pop(0)
            if f in seen:
                continue
            seen.add(f)
            self.look(f)
            if self.looks_wrong(tid, f, g.boxes[f]) is None:
                continue
            self.frame_edits = 0
            self.fix(tid, f, g.boxes[f])
            fixed += 1
            if self.on_fixed is not None and self.frame_edits:
                self.on_fixed(tid)
            done = sorted(seen | set(marks))
            i = done.index(f)
            for a, b in ((done[i - 1] if i else None, f), (f, done[i + 1] if i + 1 < len(done) else None)):
                if a is None or b is None or pos[b] - pos[a] <= 1:
                    continue
                mid = vis[(pos[a] + pos[b]) // 2]
                if mid not in seen:
                    pending.append(mid)
        return fixed


# ---- routes ----------------------------------------------------------------------------------------
@dataclass
class RouteResult:
    """One route on one sequence: per ground-truth object its tally, mean IoU and flips."""

    route: str
    seq: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0  #: tracks accepted from proposals (pre-label routes)
    accepted_true: int = 0  #: ... of which on an object in scope


def _first_visible(seq: SeqData) -> dict[int, list[GtTrack]]:
    by_frame: dict[int, list[GtTrack]] = defaultdict(list)
    for g in sorted(seq.gt.values(), key=lambda g: (g.label, g.gt_id)):
        by_frame[g.visible[0]].append(g)
    return by_frame


def _visits(seq: SeqData, ends_first: bool) -> list[tuple[int, list[GtTrack]]]:
    """The frames the labeler boxes objects at, in order, each with the objects boxed there: each
    object at its first visible frame; with ``ends_first`` (new boxes are tracked backwards and
    forwards by themselves, so an object may be boxed at any frame where it is seen), first the
    objects seen at the first frame, then those seen at the last frame (``End``: one key), then the
    rest at their first visible frames. (Boxing each object at the nearer of the two ends, where
    it is seen best, was measured worse: a car boxed after its turn is tracked back through it.)"""
    if not ends_first:
        return sorted(_first_visible(seq).items())
    last = len(seq) - 1
    order = sorted(seq.gt.values(), key=lambda g: (g.label, g.gt_id))
    out: list[tuple[int, list[GtTrack]]] = []
    done: set[int] = set()
    for f in (0, last):
        gs = [g for g in order if f in g.visible and g.gt_id not in done]
        if gs:
            out.append((f, gs))
            done.update(g.gt_id for g in gs)
    rest = {f: [g for g in gs if g.gt_id not in done] for f, gs in _first_visible(seq).items()}
    out += sorted((f, gs) for f, gs in rest.items() if gs)
    return out


def hand_before(desk: Desk) -> None:
    """One-click each object at its first visible frame; ``Alt+C`` frame by frame, checking and fixing
    every visible box before the next ``Alt+C``."""
    seq, led = desk.seq, desk.ledger
    starts = _first_visible(seq)
    mine: dict[int, int] = {}  # gt id -> track id
    for f in range(len(seq)):
        if desk.ctx.frame != f:
            desk.goto(f)
        for g in seq.gt.values():  # boxes carried here by Alt+C
            tid = mine.get(g.gt_id)
            if tid is None or f not in g.visible:
                continue
            led.charge_to(g.gt_id)
            desk.check()
            if desk.looks_wrong(tid, f, g.boxes[f]) is not None:
                desk.fix(tid, f, g.boxes[f])
        for g in starts.get(f, []):
            led.charge_to(g.gt_id)
            tid = desk.one_click(g, f)
            if tid is None:
                continue
            mine[g.gt_id] = tid
            desk.check()
            desk.fix(tid, f, g.boxes[f])
        if f + 1 < len(seq) and desk.doc.boxes_at(f):
            led.charge_to(*[desk.owner[r.track_id] for r in desk.doc.boxes_at(f)])
            desk.key("c", "alt")
    led.charge_to(OVERHEAD)


def hand_after(desk: Desk) -> None:
    """One-click each object at its first visible frame; inspect each track and fix. With the
    window's automatic tracking (``fusionlabel.follow``, on by default) each new box tracks itself
    through the sequence and is finished as a whole (heading, size, motion state) while the
    labeler goes on, and each fix re-tracks the frames around it: no key; the objects are boxed
    at the first frame, then the last, then the rest where they appear (:func:`_visits`). Else, with auto-track,
    ``Shift+T`` (one key shared by all tracks) and each fix that made or changed a keyframe is
    followed by ``T`` (the track re-tracked from its keyframes) before the inspection goes on."""
    seq, led, tracking = desk.seq, desk.ledger, desk.features.autotrack is not None
    desk.following = desk.features.follow is not None
    mine: dict[int, int] = {}
    held = desk.features.held_oneclick
    if held:  # Shift+G: the one-click tool held on for every object (one key, shared)
        led.charge_to(*seq.gt)
        desk.key("g", "shift")
    for f, gs in _visits(seq, desk.following):
        for g in gs:
            led.charge_to(g.gt_id)
            tid = desk.one_click(g, f)
            if tid is not None:
                mine[g.gt_id] = tid
            desk.settle()
    if held:  # V: back to the edit tool (one key, shared)
        led.charge_to(*seq.gt)
        desk.key("v")
    if desk.following:
        desk.on_fixed = lambda _tid: desk.settle()
    elif tracking and mine:
        led.charge_to(*mine)
        desk.key("t", "shift")

        def retrack(tid: int) -> None:
            if desk.select(tid):
                desk.key("t")

        desk.on_fixed = retrack
    for gid, tid in mine.items():
        led.charge_to(gid)
        desk.inspect(tid, seq.gt[gid])
    desk.on_fixed = None
    led.charge_to(OVERHEAD)


def _prelabel(desk: Desk, proposals: list[Proposal] | None = None) -> None:
    """The "Pre-label sequence" button (one click, overhead): proposals (made by
    ``fusionlabel.assist.prelabel`` unless given) minus what is labelled, and the review queue."""
    from fusionlabel.assist.prelabel import PrelabelParams, prelabel

    desk.ledger.charge_to(OVERHEAD)
    desk.ledger.count("clicks", what="pre-label button")
    if proposals is None:
        proposals = prelabel(desk.seq.frame_inputs(), desk.seq.ontology,
                             params=PrelabelParams(max_range=MAX_RANGE + 10.0),
                             independent_frames=desk.seq.independent_frames).proposals
    set_prelabels(desk.doc, proposals, desk.stack)
    opts: dict[str, Any] = {}
    if "lowest_first" in inspect.signature(ReviewQueue).parameters:  # today's order without bulk accept
        opts["lowest_first"] = not desk.features.bulk_accept
    desk.queue = ReviewQueue(desk.doc, desk.stack, attributes_for=desk.seq.ontology.default_attributes, **opts)
    desk.show_current()


def _object_under(desk: Desk, box: Box3D, f: int, claimed: set[int],
                  boxes: dict[int, Box3D] | None = None) -> GtTrack | None:
    """The object in scope, not labelled yet, that a person sees a proposal's box at ``f`` sit on:
    BEV IoU >= ON_OBJECT_IOU, or centres within ON_OBJECT_M (a walker's box of the class prior
    size around a thin person); the best IoU wins. Where the truth has no box of an object at
    ``f`` (a real sample labels part of its frames; the object is there all the same), it is
    judged at the proposal's nearest frame of ``boxes`` (its boxes by frame) where it has one."""
    best, best_key = None, (0.0, -math.inf)
    for g in desk.seq.gt.values():
        if g.gt_id in claimed:
            continue
        k = f
        if f not in g.boxes:
            common = [j for j in (boxes or {}) if j in g.boxes]
            if not common:
                continue
            k = min(common, key=lambda j: (abs(j - f), j))
        b = (boxes or {}).get(k, box)
        iou = bev_iou(b, g.boxes[k])
        d = math.dist(b.center[:2], g.boxes[k].center[:2])
        if (iou >= ON_OBJECT_IOU or d <= ON_OBJECT_M) and (iou, -d) > best_key:
            best, best_key = g, (iou, -d)
    return best


def review_one_by_one(desk: Desk, claimed: dict[int, int], result: RouteResult,
                      reject_run: int | None = None) -> None:
    """Look at each proposal left in the queue in its order; ``Y`` (after ``L`` with the right class
    when its class is wrong) when it is on an object not yet labelled, else ``X``. With
    ``reject_run`` (the queue's "reject the rest", highest confidence first): once that many
    proposals in a row were wrong, ``Shift+X`` rejects the rest unseen (what it drops of real
    objects shows in the recall)."""
    q, led = desk.queue, desk.ledger
    assert q is not None
    wrong = 0
    while q.current is not None:
        if reject_run is not None and wrong >= reject_run:
            led.charge_to(OVERHEAD)
            desk.key("x", "shift")
            break
        p = q.current
        f = desk.ctx.frame if desk.ctx.frame in p.boxes else p.frames()[0]
        g = _object_under(desk, p.boxes[f], f, set(claimed), p.boxes)
        led.charge_to(g.gt_id if g is not None else OVERHEAD)
        desk.check()
        wrong = wrong + 1 if g is None else 0
        if g is None:
            desk.key("x")
            continue
        if p.label != g.label:
            desk.choose_class(g.label)
            desk.key("l")
        before = set(desk.doc.track_ids())
        desk.key("y")
        new = set(desk.doc.track_ids()) - before
        if new:
            tid = new.pop()
            claimed[g.gt_id] = tid
            desk.owner[tid] = g.gt_id
            result.accepted += 1
            result.accepted_true += 1


def prelabel_before(desk: Desk, result: RouteResult, proposals: list[Proposal] | None = None) -> dict[int, int]:
    """Today's queue (lowest confidence first), one by one; then inspect each accepted track."""
    _prelabel(desk, proposals)
    claimed: dict[int, int] = {}
    review_one_by_one(desk, claimed, result)
    for gid, tid in claimed.items():
        desk.ledger.charge_to(gid)
        desk.inspect(tid, desk.seq.gt[gid])
    desk.ledger.charge_to(OVERHEAD)
    return claimed


def prelabel_after(desk: Desk, result: RouteResult, proposals: list[Proposal] | None = None) -> dict[int, int]:
    """Highest confidence first; bulk accept above the queue's threshold (one action) when the queue
    offers it; the rest one by one; inspect every accepted track (deleting a false one) and fix (with
    the whole-track edits when they exist)."""
    _prelabel(desk, proposals)
    q, led = desk.queue, desk.ledger
    assert q is not None
    claimed: dict[int, int] = {}
    before = set(desk.doc.track_ids())
    # the window's automatic tracking is on (its default): an accepted moving vehicle's track is
    # extended past its ends, an edit of a track with tracked boxes re-tracks the frames around it
    desk.following = desk.features.follow is not None
    if desk.features.bulk_accept:
        led.charge_to(OVERHEAD)
        desk.key("y", "shift")  # accept everything above the threshold
        desk.settle()
    for tid in sorted(set(desk.doc.track_ids()) - before):
        tr = desk.doc.track(tid)
        f0 = tr.keyframe_indices()[0]
        result.accepted += 1
        g = _object_under(desk, tr.keyframes[f0], f0, set(claimed),
                          {k: r.box for k in tr.frames() if (r := desk.doc.box_at(tid, k)) is not None})
        if g is None:  # a false track: found when inspecting it, deleted
            desk.ctx.set_frame(f0)
            desk.check()
            if desk.select(tid):
                desk.key("delete", "shift")
            continue
        result.accepted_true += 1
        claimed[g.gt_id] = tid
        desk.owner[tid] = g.gt_id
    review_one_by_one(desk, claimed, result, REJECT_RUN if desk.features.reject_rest else None)
    desk.settle()
    if desk.following:
        desk.on_fixed = lambda _tid: desk.settle()
    for gid, tid in claimed.items():
        led.charge_to(gid)
        desk.inspect(tid, desk.seq.gt[gid])
    desk.on_fixed = None
    led.charge_to(OVERHEAD)
    return claimed


# ---- running and scoring ---------------------------------------------------------------------------
def score(desk: Desk, route: str, result: RouteResult | None = None) -> RouteResult:
    """Per object in scope: its tally (plus an even share of the overhead), mean BEV IoU over its
    visible frames (missing box: 0), boxes pointing backwards, whether it got a track."""
    res = result or RouteResult(route, desk.seq.name)
    res.route = route
    by_gt = {gid: tid for tid, gid in desk.owner.items() if tid in desk.doc}
    n = max(len(desk.seq.gt), 1)
    over = desk.ledger.accounts.get(OVERHEAD, Tally())
    for gid, g in sorted(desk.seq.gt.items()):
        tally = Tally()
        tally.add(desk.ledger.accounts.get(gid, Tally()))
        tally.add(over, 1.0 / n)
        tid = by_gt.get(gid)
        ious, flips = [], 0
        for f in g.visible:
            ref = desk.doc.box_at(tid, f) if tid is not None else None
            if ref is None:
                ious.append(0.0)
                continue
            ious.append(bev_iou(ref.box, g.boxes[f]))
            flips += abs(math.degrees(wrap_angle(ref.box.yaw - g.boxes[f].yaw))) > 90.0
        res.rows.append({"gt": gid, "category": g.category, "tally": tally, "iou": float(np.mean(ious)),
                         "flips": flips, "boxes": len(g.visible), "found": tid is not None})
    return res


def run_route(seq: SeqData, route: str, features: Features) -> RouteResult:
    """Run ``route`` (``hand/before``, ``hand/after``, ``prelabel/before``, ``prelabel/after``) on a
    fresh desk with ``features``."""
    desk = Desk(seq, features)
    result = RouteResult(route, seq.name)
    if route == "hand/before":
        hand_before(desk)
    elif route == "hand/after":
        hand_after(desk)
    elif route == "prelabel/before":
        prelabel_before(desk, result)
    elif route == "prelabel/after":
        prelabel_after(desk, result)
    else:
        raise ValueError(f"unknown route {route!r}")
    return score(desk, route, result)


def routes_for(features: Features, kinds: Iterable[str], before: bool,
               after: bool = True) -> Iterator[tuple[str, Features]]:
    """The routes to run: today's when ``before`` or when no new feature exists; the new ones when
    their feature exists (and ``after``)."""
    for kind in kinds:
        if kind == "hand":
            new = features.autotrack is not None or features.held or features.flip_track
        else:
            new = features.bulk_accept or features.flip_track
        if before or not new:
            yield f"{kind}/before", TODAY
        if new and after:
            yield f"{kind}/after", features


def summarize(results: list[RouteResult]) -> list[dict[str, Any]]:
    """Rows per route and category (and ``all``): tracks, actions / checks / seconds per track, mean
    IoU, boxes pointing backwards, recall (share of objects with a track)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        for row in r.rows:
            groups[(r.route, row["category"])].append(row)
            groups[(r.route, "all")].append(row)
    out = []
    for (route, cat), rows in sorted(groups.items()):
        t = Tally()
        for row in rows:
            t.add(row["tally"], 1.0 / len(rows))
        boxes = sum(row["boxes"] for row in rows)
        out.append({"route": route, "category": cat, "tracks": len(rows), "clicks": t.clicks + t.drags,
                    "keys": t.keys, "actions": t.actions, "checks": t.checks, "seconds": t.seconds(),
                    "iou": float(np.mean([row["iou"] for row in rows])),
                    "flips": sum(row["flips"] for row in rows), "boxes": boxes,
                    "recall": float(np.mean([row["found"] for row in rows]))})
    return out


def print_summary(title: str, results: list[RouteResult]) -> None:
    print(f"== {title}")
    print(f"{'route':16s} {'class':16s} {'tracks':>6s} {'actions':>7s} {'(clk+drg':>8s} {'keys)':>5s} "
          f"{'checks':>6s} {'s/track':>7s} {'IoU':>5s} {'flips':>9s} {'recall':>6s}")
    for row in summarize(results):
        print(f"{row['route']:16s} {row['category']:16s} {row['tracks']:6d} {row['actions']:7.2f} "
              f"{row['clicks']:8.2f} {row['keys']:5.2f} {row['checks']:6.1f} {row['seconds']:7.1f} "
              f"{row['iou']:5.3f} {row['flips']:4d}/{row['boxes']:<4d} {row['recall']:6.2f}")
    for route in sorted({r.route for r in results if r.route.startswith("prelabel")}):
        rs = [r for r in results if r.route == route]
        acc = sum(r.accepted for r in rs)
        true = sum(r.accepted_true for r in rs)
        print(f"{route}: {acc} tracks accepted, {true} on objects in scope (precision {true / max(acc, 1):.2f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="seed 0, 8 frames")
    ap.add_argument("--before", action="store_true", help="also run today's routes when new features exist")
    ap.add_argument("--no-after", action="store_true", help="with --before: only today's routes")
    ap.add_argument("--routes", nargs="*", default=["hand", "prelabel"], choices=["hand", "prelabel"])
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--no-follow", action="store_true",
                    help="by hand without the automatic tracking of new and edited tracks (Shift+T and T instead)")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.frames, args.no_real = [0], 8, True
    feats = Features.detect()
    if args.no_follow:
        feats.follow = None
    print(f"features: {feats.describe()}")
    print(f"costs: {COSTS.click} s per click or drag, {COSTS.key} s per key, {COSTS.check} s per visual check")
    plan = list(routes_for(feats, args.routes, args.before, not args.no_after))
    synth: list[RouteResult] = []
    for s in args.seeds:
        seq = synth_sequence(s, args.frames)
        for route, f in plan:
            t0 = time.perf_counter()
            synth.append(run_route(seq, route, f))
            print(f"  seed {s} {route}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if synth:
        print_summary(f"synthetic seeds {args.seeds} ({args.frames} frames)", synth)
    if not args.no_real:
        seq = sustech_sequence()
        if seq is None:
            print(f"SUSTechPOINTS: skipped ({SUSTECH} is absent)")
        else:
            print_summary("SUSTechPOINTS example (4 sweeps, estimated poses)", [run_route(seq, r, f) for r, f in plan])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
