"""Auto-tracking as an application job (Qt-free): what to track, the run on a snapshot, applying the
result to a document that the labeler may have edited meanwhile, and the review queue of the
lowest-confidence tracked boxes.

The window (``gui/tracking.py``) runs :func:`run_plan` in a worker thread; everything it reads of
the document is copied into an :class:`AutoTrackPlan` on the GUI thread first. Boxes are
world-frame :class:`~fusionlabel.box.Box3D`; frames are indices into the sequence.

Policy (docs/gui.md "Auto-track"):

- A run covers the **whole sequence** for the chosen tracks, forwards and backwards from their
  keyframes. Keyframes are never changed; the tracked boxes of the chosen tracks are replaced
  over the whole sequence, so re-tracking after a fix at frame k (which made a keyframe there)
  re-blends the frames on both sides of k between its neighbouring keyframes.
- A track whose motion state says it stands still (``parked``, ``standing``, ...:
  :func:`fusionlabel.ontology.holds_still`) **holds still**: its keyframe's box at every frame.
- **Edited meanwhile**: a track whose keyframes, tracked boxes, gaps, end or class changed (or
  that was deleted) while the job ran keeps its state; the other tracks get their result
  (:func:`apply_results`). The caller reports the tracks left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fusionlabel.autotrack import (
    AutoTrack,
    AutoTrackParams,
    AutoTrackResult,
    PointsAt,
    Progress,
    TrackSeed,
    auto_track_all,
    review_list,
)
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.ontology import Ontology, holds_still

#: Tracked boxes below this confidence join the review queue (at most ``REVIEW_LIMIT`` of them).
REVIEW_BELOW = 0.6
REVIEW_LIMIT = 100
#: The other tracks' tracked boxes of at least this confidence are left out of a run's fits.
CONTEXT_CONFIDENCE = 0.3


def track_state(track: Track) -> tuple[Any, ...]:
    """A value that changes whenever the parts of ``track`` that auto-tracking reads or writes
    change (class, keyframes, tracked boxes and confidences, gaps, end); compared with ``==``."""
    return (
        track.label,
        tuple(sorted(track.keyframes.items())),
        tuple(sorted(track.tracked.items())),
        tuple(sorted(track.tracked_confidence.items())),
        tuple(tuple(g) for g in track.gaps),
        track.end,
    )


def _seed(track_id: int, t: Track) -> TrackSeed:
    return TrackSeed(track_id, t.label, dict(t.keyframes), tuple(tuple(g) for g in t.gaps), holds_still(t.attributes))


@dataclass(frozen=True)
class AutoTrackPlan:
    """What one run tracks, copied from the document: ``seeds`` (the tracks to follow),
    ``context`` (the other tracks, whose keyframes' points the fits leave out), the ``frames``
    (ascending indices), ``times_ns`` (frame timestamps, integer ns, or None) and each tracked
    track's :func:`track_state` at the start."""

    seeds: tuple[TrackSeed, ...]
    context: tuple[TrackSeed, ...]
    frames: tuple[int, ...]
    times_ns: tuple[int, ...] | None
    states: Mapping[int, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def track_ids(self) -> list[int]:
        return [s.track_id for s in self.seeds]


def _context_seed(track_id: int, t: Track, min_confidence: float = CONTEXT_CONFIDENCE) -> TrackSeed:
    """A track whose boxes the fits leave out: its keyframes and its tracked boxes of at least
    ``min_confidence`` (the tracker's own boxes of it, fitted on points)."""
    boxes = {f: b for f, b in t.tracked.items() if t.tracked_confidence.get(f, 0.0) >= min_confidence}
    boxes.update(t.keyframes)
    return TrackSeed(track_id, t.label, boxes, tuple(tuple(g) for g in t.gaps))


def plan_autotrack(doc: AnnotationDocument, frame_count: int, track_ids: Iterable[int] | None = None,
                   times_ns: Sequence[int] | None = None, frames: tuple[int, int] | None = None) -> AutoTrackPlan:
    """Plan a run over frames ``0 .. frame_count - 1`` (``frames``: only the inclusive range
    ``(first, last)`` of them, e.g. the frames between two keyframes after an edit) for
    ``track_ids`` (default: every track with a keyframe). ``times_ns``: frame timestamps (default:
    the document's). The other tracks' keyframes and confident tracked boxes are left out of the
    fits. ModelError for an unknown track, a track without keyframes, no track to follow or no
    frame."""
    if frame_count <= 0:
        raise ModelError("auto-track: the sequence has no frame")
    first, last = (0, int(frame_count) - 1) if frames is None else (max(0, int(frames[0])),
                                                                      min(int(frame_count) - 1, int(frames[1])))
    if first > last:
        raise ModelError(f"auto-track: no frame in {frames[0]}..{frames[1]}")  # type: ignore[index]
    if track_ids is None:
        ids = [t for t in doc.track_ids() if doc.track(t).keyframes]
    else:
        ids = []
        for t in track_ids:
            if t not in doc:
                raise ModelError(f"auto-track: no track {t}")
            if not doc.track(t).keyframes:
                raise ModelError(f"auto-track: track {t} has no keyframe to start from")
            if t not in ids:
                ids.append(int(t))
    if not ids:
        raise ModelError("auto-track: no track with a keyframe to follow")
    times = times_ns if times_ns is not None else doc.frame_times_ns
    chosen = set(ids)
    return AutoTrackPlan(
        seeds=tuple(_seed(t, doc.track(t)) for t in ids),
        context=tuple(_context_seed(t, doc.track(t)) for t in doc.track_ids()
                      if t not in chosen and doc.track(t).keyframes),
        frames=tuple(range(first, last + 1)),
        times_ns=tuple(int(v) for v in times) if times is not None else None,
        states={t: track_state(doc.track(t)) for t in ids},
    )


def run_plan(plan: AutoTrackPlan, points_at: PointsAt, *, progress: Progress | None = None,
             params: AutoTrackParams | None = None, ontology: Ontology | None = None) -> dict[int, AutoTrackResult]:
    """Run :func:`fusionlabel.autotrack.auto_track_all` for ``plan`` on the world points
    ``points_at(frame)``; ``progress(done, total)`` returning False cancels (raises
    :class:`fusionlabel.autotrack.Cancelled`). Touches no document (safe in a worker thread)."""
    return auto_track_all(list(plan.seeds), points_at, plan.frames, plan.times_ns, params, ontology=ontology,
                          progress=progress, context=list(plan.context))


@dataclass
class ApplyOutcome:
    """What :func:`apply_results` did: the ``applied`` track ids (one undoable command, ``text``
    its description; empty when nothing applied), those ``changed`` meanwhile and left as they were,
    and those ``deleted`` meanwhile."""

    applied: list[int]
    changed: list[int]
    deleted: list[int]
    text: str = ""

    def message(self) -> str:
        """A one-line status text (what was applied and what was left out, and why)."""
        parts = []
        if self.applied:
            parts.append(self.text)
        if self.changed:
            ids = ", ".join(str(t) for t in self.changed)
            parts.append(f"track{'s' if len(self.changed) > 1 else ''} {ids} edited while tracking: "
                         "left as edited (track again to update)")
        if self.deleted:
            parts.append(f"deleted while tracking: {', '.join(str(t) for t in self.deleted)}")
        return "; ".join(parts) or "auto-track: nothing to apply"


def apply_results(doc: AnnotationDocument, undo: UndoStack, plan: AutoTrackPlan,
                  results: Mapping[int, AutoTrackResult]) -> ApplyOutcome:
    """Push one :class:`fusionlabel.autotrack.AutoTrack` command on ``undo`` (whose document is
    ``doc``) for the results of the tracks still as they were when ``plan`` was made; the others
    are reported, not applied (module doc)."""
    applied, changed, deleted = [], [], []
    for tid in plan.track_ids:
        if tid not in results:
            continue
        if tid not in doc:
            deleted.append(tid)
        elif track_state(doc.track(tid)) != plan.states.get(tid):
            changed.append(tid)
        else:
            applied.append(tid)
    out = ApplyOutcome(applied, changed, deleted)
    if applied:
        cmd = AutoTrack({t: results[t] for t in applied}, plan.frames)
        undo.push(cmd)
        out.text = cmd.description
    return out


# ---- the review queue ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewItem:
    """One tracked box to look at: track, frame and its tracking confidence in [0, 1]."""

    track_id: int
    frame: int
    confidence: float


class TrackedReviewQueue:
    """The lowest-confidence tracked boxes of a run, lowest first (:func:`review_list`), and a
    cursor stepping through them. An item whose box is no longer a tracked box (the labeler fixed
    it into a keyframe, deleted it, re-tracked it away, or the track is gone) is skipped."""

    def __init__(self, items: Sequence[ReviewItem] = ()) -> None:
        self.items: list[ReviewItem] = list(items)
        self.pos = -1  # index of the current item; -1 before the first

    @classmethod
    def from_results(cls, results: Iterable[AutoTrackResult], below: float = REVIEW_BELOW,
                     limit: int | None = REVIEW_LIMIT) -> TrackedReviewQueue:
        """The tracked boxes with confidence below ``below``, lowest first, at most ``limit``."""
        rows = [r for r in review_list(results) if r[2] < below]
        if limit is not None:
            rows = rows[:limit]
        return cls([ReviewItem(t, f, c) for t, f, c in rows])

    def __len__(self) -> int:
        return len(self.items)

    @property
    def current(self) -> ReviewItem | None:
        return self.items[self.pos] if 0 <= self.pos < len(self.items) else None

    @staticmethod
    def is_open(doc: AnnotationDocument, item: ReviewItem) -> bool:
        """Whether ``item``'s box is still a tracked box of ``doc``."""
        return item.track_id in doc and doc.track(item.track_id).is_tracked(item.frame)

    def open_items(self, doc: AnnotationDocument) -> list[ReviewItem]:
        """The items still to review, in queue order."""
        return [it for it in self.items if self.is_open(doc, it)]

    def step(self, doc: AnnotationDocument, direction: int = 1) -> ReviewItem | None:
        """Move to the next (+1) or previous (-1) open item and return it (None, cursor kept, when
        there is none that way)."""
        d = 1 if direction >= 0 else -1
        i = self.pos + d
        if d < 0 and self.pos < 0:
            return None
        while 0 <= i < len(self.items):
            if self.is_open(doc, self.items[i]):
                self.pos = i
                return self.items[i]
            i += d
        return None

    def select(self, index: int) -> ReviewItem | None:
        """Make item ``index`` current (a click in a list); None when out of range."""
        if 0 <= index < len(self.items):
            self.pos = index
            return self.items[index]
        return None
