"""The annotation document: the one mutable annotation set of a sequence.

An :class:`AnnotationDocument` holds the tracks (world-frame keyframes, see
:class:`~fusionlabel.model.Track`) and the QA review state of boxes and frames. Everything outside
``fusionlabel.commands`` treats it as read-only: edits are commands pushed on an
:class:`~fusionlabel.commands.UndoStack`, which call the document's ``_``-prefixed mutation
primitives. Each primitive validates first and then changes one thing, so a failing primitive
leaves the document as it was; after a change it notifies the subscribed plain-Python listeners
with a :class:`DocumentEvent` (no Qt here; the GUI adapts these to its own signals).

``to_dict`` / ``from_dict`` give the versioned, JSON-ready form that ``formats.native`` writes.

**Proposals** (machine pre-labels, see :mod:`fusionlabel.assist`) are held in a separate set,
``proposals``, apart from the human ``tracks``: ``boxes_at``, ``tracks``, exports and QA never see
them. A proposal becomes a track only when accepted (``fusionlabel.assist.review``); the set is
serialised under an optional ``"proposals"`` key that is written only when it is non-empty, so a
document without proposals keeps exactly the version-1 layout.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import FrameTimes, normalize_gaps
from fusionlabel.map.element import MapElement, element_from_dict
from fusionlabel.model import BOX_STATES, INTERPOLATION_METHODS, Track

log = logging.getLogger(__name__)

#: Version of the ``to_dict`` layout; ``from_dict`` refuses any other.
DOCUMENT_VERSION = 1

REVIEW_STATUSES = ("unreviewed", "accepted", "rejected")

#: Kinds of :class:`DocumentEvent`.
EVENT_KINDS = (
    "track_added",  # also brings back the track's box reviews (undo of a delete)
    "track_removed",  # its box reviews go with it
    "track_changed",  # keyframes (boxes) changed; ``frames`` are the frames whose box changed
    "label_changed",
    "attributes_changed",
    "review_changed",  # ``track_id`` None for a frame review
    "proposal_added",  # ``track_id`` is the proposal id (proposals have their own id space)
    "proposal_removed",
    "proposal_changed",  # a proposal's box, label or confidence changed
    "issue_changed",  # an issue marker was added, changed (resolved) or deleted; ``frames`` its frame
    "map_changed",  # a map element was added, changed or removed; ``track_id`` is the element id
    "point_labels_changed",  # per-point labels changed (fusionlabel.pointlabels); ``frames`` the frames
)


# ---- small value types ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BoxRef:
    """A box of a track at one frame: world-frame ``box``; ``is_keyframe`` False unless the labeler
    set it; ``state`` one of ``fusionlabel.model.BOX_STATES`` (``"keyframe"``, ``"tracked"``,
    ``"interpolated"``, ``"held"``; left empty it follows ``is_keyframe``: keyframe or
    interpolated); ``confidence`` the tracking confidence in [0, 1] of a tracked box, else None."""

    track_id: int
    label: str
    box: Box3D
    is_keyframe: bool
    frame: int
    state: str = ""
    confidence: float | None = None

    def __post_init__(self) -> None:
        if not self.state:
            object.__setattr__(self, "state", "keyframe" if self.is_keyframe else "interpolated")
        elif self.state not in BOX_STATES:
            raise ModelError(f"box state must be one of {BOX_STATES}, got {self.state!r}")


@dataclass(frozen=True, slots=True)
class Review:
    """QA review of one box (track at a frame) or of a whole frame.

    ``status`` is one of ``REVIEW_STATUSES``; ``who`` names the reviewer; ``when`` is an ISO 8601
    string or integer nanoseconds since the epoch (None when unknown).
    """

    status: str = "unreviewed"
    comment: str = ""
    who: str = ""
    when: str | int | None = None

    def __post_init__(self) -> None:
        if self.status not in REVIEW_STATUSES:
            raise ModelError(f"review status must be one of {REVIEW_STATUSES}, got {self.status!r}")
        if not isinstance(self.comment, str) or not isinstance(self.who, str):
            raise ModelError("review comment and who must be strings")
        if self.when is not None and (isinstance(self.when, bool) or not isinstance(self.when, (str, int))):
            raise ModelError(f"review time must be an ISO string or integer ns, got {self.when!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "comment": self.comment, "who": self.who, "when": self.when}


@dataclass(frozen=True, slots=True)
class IssueMarker:
    """A QA issue marker: a 3D point ``position`` (x, y, z) in the world frame (metres) with a
    ``text`` for the labeler, its ``author``, whether it is ``resolved`` (and by whom), the frame it
    was placed in (None: the whole sequence), an optional track it concerns, and ``when`` it was
    made (ISO 8601 string or integer ns since the epoch, None when unknown). ``marker_id`` is unique
    in a document."""

    marker_id: int
    position: tuple[float, float, float]
    text: str
    author: str = ""
    resolved: bool = False
    frame: int | None = None
    track_id: int | None = None
    when: str | int | None = None
    resolved_by: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.marker_id, bool) or not isinstance(self.marker_id, (int, np.integer)):
            raise ModelError(f"issue marker id must be an int, got {self.marker_id!r}")
        object.__setattr__(self, "marker_id", int(self.marker_id))
        bad = ModelError(f"issue marker {self.marker_id}: position must be 3 finite numbers, got {self.position!r}")
        if isinstance(self.position, (str, bytes)) or not isinstance(self.position, Iterable):
            raise bad
        try:
            pos = tuple(float(v) for v in self.position)
        except (TypeError, ValueError):
            raise bad from None
        if len(pos) != 3 or not all(math.isfinite(v) for v in pos):
            raise bad
        object.__setattr__(self, "position", pos)
        if not isinstance(self.text, str) or not isinstance(self.author, str) or not isinstance(self.resolved_by, str):
            raise ModelError(f"issue marker {self.marker_id}: text, author and resolved_by must be strings")
        if not isinstance(self.resolved, bool):
            raise ModelError(f"issue marker {self.marker_id}: resolved must be true or false, got {self.resolved!r}")
        for name in ("frame", "track_id"):
            v = getattr(self, name)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                    raise ModelError(f"issue marker {self.marker_id}: {name} must be an int or None, got {v!r}")
                object.__setattr__(self, name, int(v))
        if self.when is not None and (isinstance(self.when, bool) or not isinstance(self.when, (str, int))):
            raise ModelError(f"issue marker {self.marker_id}: time must be an ISO string or int ns, got {self.when!r}")

    def replace(self, **changes: Any) -> IssueMarker:
        d = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        d.update(changes)
        return IssueMarker(**d)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.marker_id,
            "position": list(self.position),
            "text": self.text,
            "author": self.author,
            "resolved": self.resolved,
            "resolved_by": self.resolved_by,
            "frame": self.frame,
            "track_id": self.track_id,
            "when": self.when,
        }


@dataclass(frozen=True, slots=True)
class DocumentEvent:
    """A change of the document: ``kind`` (one of ``EVENT_KINDS``), the track concerned (None for
    frame reviews) and the frames whose displayed content changed."""

    kind: str
    track_id: int | None = None
    frames: tuple[int, ...] = field(default_factory=tuple)


Listener = Callable[[DocumentEvent], None]


@dataclass
class Proposal:
    """A machine-proposed object (pre-label): world-frame boxes at the frames where it was observed
    (no interpolation), a class guess, per-frame ``scores`` and an overall ``confidence`` in [0, 1],
    and the ``source`` that produced it (``"cluster"``, ``"detector:<name>"``). Kept apart from
    the human tracks until accepted."""

    proposal_id: int
    label: str
    boxes: dict[int, Box3D] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)
    confidence: float = 0.0
    source: str = "cluster"
    attributes: dict[str, str] = field(default_factory=dict)

    def frames(self) -> list[int]:
        """Sorted frames with a box."""
        return sorted(self.boxes)

    def copy(self, **changes: Any) -> Proposal:
        fields = {
            "proposal_id": self.proposal_id, "label": self.label, "boxes": dict(self.boxes),
            "scores": dict(self.scores), "confidence": self.confidence, "source": self.source,
            "attributes": dict(self.attributes),
        }
        fields.update(changes)
        return Proposal(**fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.proposal_id,
            "label": self.label,
            "confidence": float(self.confidence),
            "source": self.source,
            "attributes": dict(sorted(self.attributes.items())),
            "boxes": {
                str(f): {"center": list(b.center), "size": list(b.size), "yaw": b.yaw,
                         "score": float(self.scores.get(f, self.confidence))}
                for f, b in sorted(self.boxes.items())
            },
        }


@dataclass(frozen=True, slots=True)
class ProposalRef:
    """A proposal's box at one frame (world frame) with its per-frame ``score``."""

    proposal_id: int
    label: str
    box: Box3D
    score: float
    confidence: float
    frame: int


# ---- the document --------------------------------------------------------------------------------
class AnnotationDocument:
    """Tracks by id and review state of one sequence (``frame_count`` frames, when known).

    Read API: ``tracks`` (dict id -> Track, read-only by convention), ``track(id)``,
    ``boxes_at(frame)``, ``num_boxes()``, ``box_review(track_id, frame)``, ``frame_review(frame)``.
    Mutations: through ``fusionlabel.commands`` only.
    """

    def __init__(self, frame_count: int | None = None, frame_times_ns: FrameTimes | None = None) -> None:
        if frame_count is not None and (isinstance(frame_count, bool) or not isinstance(frame_count, int)
                                        or frame_count < 0):
            raise ModelError(f"frame_count must be a non-negative int or None, got {frame_count!r}")
        self.frame_count = frame_count
        self._tracks: dict[int, Track] = {}
        self._box_reviews: dict[tuple[int, int], Review] = {}
        self._frame_reviews: dict[int, Review] = {}
        self._issues: dict[int, IssueMarker] = {}
        self._listeners: list[Listener] = []
        self._proposals: dict[int, Proposal] = {}
        self._map: dict[int, MapElement] = {}  # map elements by id (fusionlabel.map)
        self._frame_times_ns: tuple[int, ...] | None = None
        if frame_times_ns is not None:
            self.set_frame_times(frame_times_ns)
        #: Per-point labels (``fusionlabel.pointlabels.PointLabels``) or None; stored beside the
        #: project (``formats.pointlabels``), not in ``to_dict``; edited by point-label commands.
        self.point_labels: Any = None

    @classmethod
    def from_tracks(cls, tracks: Iterable[Track], frame_count: int | None = None) -> AnnotationDocument:
        """A document holding copies of ``tracks`` (e.g. synthetic ground truth), no reviews."""
        doc = cls(frame_count)
        for t in tracks:
            doc._insert_track(t.copy())
        return doc

    # ---- frame times (sequence metadata, not annotation: not a command, not serialised) ----------
    @property
    def frame_times_ns(self) -> tuple[int, ...] | None:
        """Timestamps (integer ns) of the frames, indexed by frame, or None (uniform frames)."""
        return self._frame_times_ns

    def set_frame_times(self, frame_times_ns: FrameTimes | None) -> None:
        """Use these frame timestamps (integer ns, one per frame from frame 0, strictly increasing;
        e.g. ``SequenceInfo.frame_times_ns()``) to interpolate boxes in time, or None for uniform
        frames. Emits ``track_changed`` for every track (interpolated boxes may move)."""
        if frame_times_ns is None:
            times = None
        else:
            if isinstance(frame_times_ns, Mapping):
                if sorted(frame_times_ns) != list(range(len(frame_times_ns))):
                    raise ModelError("frame times: a mapping must have every frame 0..n-1")
                frame_times_ns = [frame_times_ns[f] for f in range(len(frame_times_ns))]
            values = list(frame_times_ns)
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
                raise ModelError("frame times must be integer nanoseconds")
            times = tuple(int(v) for v in values)
            if any(b <= a for a, b in zip(times, times[1:], strict=False)):
                raise ModelError("frame times must increase strictly")
            if self.frame_count is not None and len(times) < self.frame_count:
                raise ModelError(f"frame times: {len(times)} given for {self.frame_count} frames")
        self._frame_times_ns = times
        for tid in sorted(self._tracks):
            self._emit("track_changed", tid, self._tracks[tid].frames())

    def attach_point_labels(self, labels: Any) -> None:
        """Carry ``labels`` (a ``fusionlabel.pointlabels.PointLabels``, or None to drop them);
        like frame times this is not an edit (no command, no undo, no event)."""
        self.point_labels = labels

    # ---- read API -------------------------------------------------------------------------------
    @property
    def tracks(self) -> dict[int, Track]:
        """Tracks by id. Treat as read-only: change them through commands."""
        return self._tracks

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._tracks

    def __len__(self) -> int:
        return len(self._tracks)

    def track(self, track_id: int) -> Track:
        """The track with this id; ModelError naming the id when there is none."""
        try:
            return self._tracks[track_id]
        except KeyError:
            raise ModelError(f"no track with id {track_id}") from None

    def track_ids(self) -> list[int]:
        return sorted(self._tracks)

    def new_track_id(self) -> int:
        """An id not used by any track (one more than the largest; 0 for an empty document)."""
        return max(self._tracks, default=-1) + 1

    def boxes_at(self, frame: int) -> list[BoxRef]:
        """Every box at ``frame`` (keyframes, tracked, interpolated and held ones), in track-id
        order."""
        self.check_frame(frame)
        out = []
        for tid in sorted(self._tracks):
            ref = self._ref(self._tracks[tid], frame)
            if ref is not None:
                out.append(ref)
        return out

    def box_at(self, track_id: int, frame: int) -> BoxRef | None:
        """The box of one track at ``frame`` (any state), or None where the track has none."""
        return self._ref(self.track(track_id), frame)

    def _ref(self, t: Track, frame: int) -> BoxRef | None:
        box = t.keyframes.get(frame)
        if box is not None:  # the common case first (imported labels: every frame a keyframe)
            return BoxRef(t.track_id, t.label, box, True, frame, "keyframe", None)
        box, state, conf = t.resolve([frame], self._frame_times_ns)[0]
        if box is None or state is None:
            return None
        return BoxRef(t.track_id, t.label, box, state == "keyframe", frame, state, conf)

    def num_boxes(self) -> int:
        """Number of boxes over all frames, tracked, interpolated and held ones included."""
        return sum(len(t.frames()) for t in self._tracks.values())

    def num_keyframes(self) -> int:
        return sum(len(t.keyframes) for t in self._tracks.values())

    def box_review(self, track_id: int, frame: int) -> Review:
        """Review of a track's box at a frame (a default ``unreviewed`` one when none is stored)."""
        return self._box_reviews.get((track_id, frame), Review())

    def frame_review(self, frame: int) -> Review:
        """Review of a whole frame (a default ``unreviewed`` one when none is stored)."""
        return self._frame_reviews.get(frame, Review())

    def box_reviews(self) -> dict[tuple[int, int], Review]:
        """Stored box reviews by (track_id, frame) (a copy)."""
        return dict(self._box_reviews)

    def frame_reviews(self) -> dict[int, Review]:
        """Stored frame reviews by frame (a copy)."""
        return dict(self._frame_reviews)

    # ---- proposals (machine pre-labels, apart from the tracks) ---------------------------------
    @property
    def proposals(self) -> dict[int, Proposal]:
        """Proposals by id (their own id space). Read-only: change them through commands
        (``fusionlabel.assist.review``)."""
        return self._proposals

    def proposal(self, proposal_id: int) -> Proposal:
        try:
            return self._proposals[proposal_id]
        except KeyError:
            raise ModelError(f"no proposal with id {proposal_id}") from None

    def new_proposal_id(self) -> int:
        return max(self._proposals, default=-1) + 1

    def proposals_at(self, frame: int) -> list[ProposalRef]:
        """Every proposal box at ``frame`` (observed frames only), in proposal-id order."""
        frame = self.check_frame(frame)
        out = []
        for pid in sorted(self._proposals):
            p = self._proposals[pid]
            box = p.boxes.get(frame)
            if box is not None:
                out.append(ProposalRef(pid, p.label, box, float(p.scores.get(frame, p.confidence)),
                                       float(p.confidence), frame))
        return out
    def issue_markers(self) -> list[IssueMarker]:
        """Issue markers in id order (a copy of the list; markers are immutable)."""
        return [self._issues[k] for k in sorted(self._issues)]

    def issue_marker(self, marker_id: int) -> IssueMarker:
        """The issue marker with this id; ModelError naming the id when there is none."""
        try:
            return self._issues[marker_id]
        except KeyError:
            raise ModelError(f"no issue marker with id {marker_id}") from None

    def new_issue_id(self) -> int:
        """An issue-marker id not used yet (one more than the largest; 0 when there is none)."""
        return max(self._issues, default=-1) + 1

    # ---- map elements (world frame, fusionlabel.map; edited by fusionlabel.map.commands) ---------
    @property
    def map_elements(self) -> dict[int, MapElement]:
        """Map elements by id. Treat as read-only: change them through commands."""
        return self._map

    def map_element(self, element_id: int) -> MapElement:
        try:
            return self._map[element_id]
        except KeyError:
            raise ModelError(f"no map element with id {element_id}") from None

    def new_map_element_id(self) -> int:
        return max(self._map, default=-1) + 1

    def _put_map_element(self, element: MapElement, replace: bool) -> MapElement | None:
        """Add (``replace`` False: the id must be new) or replace (it must exist) a map element;
        returns the previous element with that id or None."""
        if not isinstance(element, MapElement):
            raise ModelError(f"expected a MapElement, got {type(element).__name__}")
        previous = self._map.get(element.element_id)
        if replace != (previous is not None):
            raise ModelError(f"map element id {element.element_id} "
                             + ("does not exist" if replace else "already exists"))
        self._map[element.element_id] = element
        self._emit("map_changed", element.element_id)
        return previous

    def _remove_map_element(self, element_id: int) -> MapElement:
        element = self.map_element(element_id)
        del self._map[element_id]
        self._emit("map_changed", element_id)
        return element

    def check_frame(self, frame: int) -> int:
        """Return ``frame`` as an int if it is a valid frame index (numpy integers accepted), else
        raise ModelError naming it."""
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
            raise ModelError(f"frame index must be an int, got {frame!r}")
        frame = int(frame)
        if frame < 0 or (self.frame_count is not None and frame >= self.frame_count):
            n = "unknown" if self.frame_count is None else self.frame_count
            raise ModelError(f"frame {frame} is outside the sequence (frame count {n})")
        return frame

    # ---- events ---------------------------------------------------------------------------------
    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes.

        A listener that raises is logged (with its traceback) and does not stop the change nor
        the other listeners: the document stays consistent whatever a view does.
        """
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _emit(self, kind: str, track_id: int | None = None, frames: Iterable[int] = ()) -> None:
        event = DocumentEvent(kind, track_id, tuple(frames))
        for cb in list(self._listeners):
            try:
                cb(event)
            except Exception:
                log.exception("document listener %r failed on %s", cb, event)

    # ---- mutation primitives (for fusionlabel.commands only) ------------------------------------
    def _check_box(self, box: object, what: str) -> Box3D:
        if not isinstance(box, Box3D):
            raise ModelError(f"{what}: expected a Box3D, got {type(box).__name__}")
        return box

    def _insert_track(self, track: Track, reviews: Mapping[int, Review] | None = None) -> None:
        """Add a track (and its box reviews by frame). The track must have a keyframe."""
        if not isinstance(track, Track):
            raise ModelError(f"expected a Track, got {type(track).__name__}")
        if isinstance(track.track_id, bool) or not isinstance(track.track_id, int):
            raise ModelError(f"track id must be an int, got {track.track_id!r}")
        if track.track_id in self._tracks:
            raise ModelError(f"track id {track.track_id} already exists")
        if not track.keyframes:
            raise ModelError(f"track {track.track_id} has no keyframe")
        _check_label(track.label, track.track_id)
        kf = track.keyframes
        fc = self.frame_count
        if not (all(type(f) is int for f in kf) and min(kf) >= 0 and (fc is None or max(kf) < fc)
                and all(isinstance(b, Box3D) for b in kf.values())):  # (all well: checked at once)
            self._check_keyframes(track)
        for gap in track.gaps:
            self.check_frame(gap[1])
        for f, box in track.tracked.items():
            self.check_frame(f)
            if not isinstance(f, int):
                raise ModelError(f"track {track.track_id}: tracked frame {f!r} must be a Python int")
            self._check_box(box, f"track {track.track_id} tracked frame {f}")
        if track.end is not None:
            try:
                self.check_frame(track.end)
            except ModelError as e:
                raise ModelError(f"track {track.track_id}: end: {e}") from None
        self._tracks[track.track_id] = track
        for f, r in (reviews or {}).items():
            self._box_reviews[(track.track_id, f)] = r
        self._emit("track_added", track.track_id, track.frames())

    def _check_keyframes(self, track: Track) -> None:
        """ModelError naming the first keyframe of ``track`` whose frame or box is not valid."""
        for f, box in track.keyframes.items():
            self.check_frame(f)
            if not isinstance(f, int):
                raise ModelError(f"track {track.track_id}: keyframe index {f!r} must be a Python int")
            self._check_box(box, f"track {track.track_id} frame {f}")

    def _remove_track(self, track_id: int) -> tuple[Track, dict[int, Review]]:
        """Remove a track and its box reviews; returns both (reviews by frame) for an undo."""
        track = self.track(track_id)
        del self._tracks[track_id]
        reviews = {f: r for (t, f), r in self._box_reviews.items() if t == track_id}
        for f in reviews:
            del self._box_reviews[(track_id, f)]
        self._emit("track_removed", track_id, track.frames())
        return track, reviews

    def _changed_frames(self, track: Track, frame: int) -> range:
        """Frames whose box changes when the keyframe at ``frame`` is set or removed: from just
        after the previous keyframe to just before the next one (``frame`` included), two
        keyframes each side for the smooth method (see ``Track.affected_frames``)."""
        return track.affected_frames(frame)

    def _set_keyframe(self, track_id: int, frame: int, box: Box3D) -> Box3D | None:
        """Add or replace the keyframe at ``frame``; returns the previous keyframe box or None."""
        track = self.track(track_id)
        frame = self.check_frame(frame)
        self._check_box(box, f"track {track_id} frame {frame}")
        previous = track.keyframes.get(frame)
        track.keyframes[frame] = box
        self._emit("track_changed", track_id, self._changed_frames(track, frame))
        return previous

    def _remove_keyframe(self, track_id: int, frame: int) -> Box3D:
        """Remove the keyframe at ``frame`` (not the last one of the track); returns its box."""
        track = self.track(track_id)
        frame = self.check_frame(frame)
        if frame not in track.keyframes:
            raise ModelError(f"track {track_id} has no keyframe at frame {frame}")
        if len(track.keyframes) == 1:
            raise ModelError(f"track {track_id}: cannot remove its only keyframe (delete the track)")
        frames = self._changed_frames(track, frame)
        box = track.keyframes.pop(frame)
        self._emit("track_changed", track_id, frames)
        return box

    def _set_label(self, track_id: int, label: str) -> str:
        """Set a track's class; returns the previous one."""
        track = self.track(track_id)
        _check_label(label, track_id)
        previous, track.label = track.label, label
        self._emit("label_changed", track_id, track.frames())
        return previous

    def _set_attribute(self, track_id: int, key: str, value: str | None) -> str | None:
        """Set (or with None remove) a track attribute; returns the previous value or None."""
        track = self.track(track_id)
        if not isinstance(key, str) or not key:
            raise ModelError(f"track {track_id}: attribute name must be a non-empty string, got {key!r}")
        if value is not None and not isinstance(value, str):
            raise ModelError(f"track {track_id}: attribute {key!r} must be a string, got {value!r}")
        previous = track.attributes.get(key)
        if value is None:
            track.attributes.pop(key, None)
        else:
            track.attributes[key] = value
        self._emit("attributes_changed", track_id, track.frames())
        return previous

    def _set_review(self, frame: int, track_id: int | None, review: Review | None) -> Review | None:
        """Store (or with None clear) the review of a track's box at ``frame`` or, with
        ``track_id`` None, of the frame. Returns the previously stored review or None."""
        frame = self.check_frame(frame)
        if review is not None and not isinstance(review, Review):
            raise ModelError(f"expected a Review, got {type(review).__name__}")
        if track_id is None:
            previous = self._frame_reviews.get(frame)
            store: dict[Any, Review] = self._frame_reviews
            key: Any = frame
        else:
            track_id = self.track(track_id).track_id  # the stored (Python int) id
            previous = self._box_reviews.get((track_id, frame))
            store, key = self._box_reviews, (track_id, frame)
        if review is None:
            store.pop(key, None)
        else:
            store[key] = review
        self._emit("review_changed", track_id, (frame,))
        return previous

    def _insert_proposal(self, proposal: Proposal) -> None:
        """Add a proposal (validated: int id not in use, a label, boxes at valid frames, scores
        and confidence in [0, 1])."""
        if not isinstance(proposal, Proposal):
            raise ModelError(f"expected a Proposal, got {type(proposal).__name__}")
        pid = proposal.proposal_id
        where = f"proposal {pid}"
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise ModelError(f"proposal id must be an int, got {pid!r}")
        if pid in self._proposals:
            raise ModelError(f"{where} already exists")
        if not proposal.boxes:
            raise ModelError(f"{where} has no box")
        if not isinstance(proposal.label, str) or not proposal.label.strip():
            raise ModelError(f"{where}: label must be a non-empty string, got {proposal.label!r}")
        for f, box in proposal.boxes.items():
            self.check_frame(f)
            self._check_box(box, f"{where} frame {f}")
        for v in (proposal.confidence, *proposal.scores.values()):
            if not _is_number(v) or not 0.0 <= float(v) <= 1.0:
                raise ModelError(f"{where}: confidence and scores must be numbers in [0, 1], got {v!r}")
        self._proposals[pid] = proposal
        self._emit("proposal_added", pid, proposal.frames())

    def _remove_proposal(self, proposal_id: int) -> Proposal:
        p = self.proposal(proposal_id)
        del self._proposals[proposal_id]
        self._emit("proposal_removed", proposal_id, p.frames())
        return p

    def _replace_proposal(self, proposal: Proposal) -> Proposal:
        """Replace the stored proposal of the same id (edited boxes, label, confidence); returns
        the previous one."""
        previous = self.proposal(proposal.proposal_id)
        del self._proposals[proposal.proposal_id]
        try:
            self._insert_proposal(proposal)
        except ModelError:
            self._proposals[previous.proposal_id] = previous
            raise
        self._emit("proposal_changed", proposal.proposal_id, sorted(set(previous.frames()) | set(proposal.frames())))
        return previous

    def _put_issue(self, marker: IssueMarker, replace: bool) -> IssueMarker | None:
        """Add (``replace`` False: the id must be new) or replace (the id must exist) an issue
        marker; returns the previous marker with that id or None."""
        if not isinstance(marker, IssueMarker):
            raise ModelError(f"expected an IssueMarker, got {type(marker).__name__}")
        previous = self._issues.get(marker.marker_id)
        if replace and previous is None:
            raise ModelError(f"no issue marker with id {marker.marker_id}")
        if not replace and previous is not None:
            raise ModelError(f"issue marker id {marker.marker_id} already exists")
        if marker.frame is not None:
            self.check_frame(marker.frame)
        self._issues[marker.marker_id] = marker
        self._emit("issue_changed", marker.track_id, () if marker.frame is None else (marker.frame,))
        return previous

    def _remove_issue(self, marker_id: int) -> IssueMarker:
        """Remove an issue marker; returns it (for an undo)."""
        marker = self.issue_marker(marker_id)
        del self._issues[marker_id]
        self._emit("issue_changed", marker.track_id, () if marker.frame is None else (marker.frame,))
        return marker

    # ---- plain-data form ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (version ``DOCUMENT_VERSION``); see :meth:`from_dict`.

        ``{"version": 1, "frame_count": int | None,
        "tracks": [{"id", "label", "attributes", "interpolation",
        "keyframes": {"<frame>": {"center": [x, y, z], "size": [l, w, h], "yaw": rad}},
        "gaps": [[first, last], ...]}],
        "reviews": {"boxes": [{"track_id", "frame", "status", "comment", "who", "when"}],
        "frames": [{"frame", "status", "comment", "who", "when"}]}}``; world frame, metres,
        radians; tracks by id, keyframes and reviews by frame. ``gaps`` (inclusive frame intervals
        where the object is absent) is optional and written only for a track that has gaps, so a
        document without gaps has exactly the original version-1 layout; so are a track's ``"end":
        frame`` (its last frame, when set) and ``"tracked": {"<frame>": {"center", "size", "yaw",
        "confidence"}}`` (boxes found by auto-tracking, confidence in [0, 1]). Likewise the optional
        top-level ``"issues": [{"id", "position": [x, y, z] (world, m), "text", "author",
        "resolved", "resolved_by", "frame", "track_id", "when"}]`` is written only when the document
        has issue markers, and ``"proposals": [{"id", "label", "confidence", "source",
        "attributes", "boxes": {"<frame>": {"center", "size", "yaw", "score"}}}]`` only when it has
        proposals, and ``"map": [{"id", "label", "attributes", "vertices": [[x, y, z], ...]}]``
        (world-frame map elements, :mod:`fusionlabel.map`) only when it has map elements.
        """
        tracks = [track_to_dict(self._tracks[tid]) for tid in sorted(self._tracks)]
        boxes = [
            {"track_id": tid, "frame": f, **r.to_dict()} for (tid, f), r in sorted(self._box_reviews.items())
        ]
        frames = [{"frame": f, **r.to_dict()} for f, r in sorted(self._frame_reviews.items())]
        out: dict[str, Any] = {
            "version": DOCUMENT_VERSION,
            "frame_count": self.frame_count,
            "tracks": tracks,
            "reviews": {"boxes": boxes, "frames": frames},
        }
        if self._proposals:
            out["proposals"] = [self._proposals[pid].to_dict() for pid in sorted(self._proposals)]
        if self._issues:
            out["issues"] = [m.to_dict() for m in self.issue_markers()]
        if self._map:
            out["map"] = [self._map[i].to_dict() for i in sorted(self._map)]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnnotationDocument:
        """Build a document from :meth:`to_dict` data; strict: a missing, unknown or ill-typed key
        raises ModelError naming it (and the track / frame it belongs to)."""
        d = _keys(data, "document", {"version", "frame_count", "tracks", "reviews"},
                  optional={"issues", "proposals", "map"})
        if d["version"] != DOCUMENT_VERSION:
            raise ModelError(f"document: unsupported version {d['version']!r} (expected {DOCUMENT_VERSION})")
        frame_count = d["frame_count"]
        if frame_count is not None:
            frame_count = _int(frame_count, "document: frame_count")
        doc = cls(frame_count)
        if not isinstance(d["tracks"], list):
            raise ModelError("document: 'tracks' must be a list")
        for i, td in enumerate(d["tracks"]):
            track = track_from_dict(td, f"tracks[{i}]")
            where = f"track {track.track_id}"
            if track.track_id in doc._tracks:
                raise ModelError(f"{where}: duplicate track id")
            try:
                doc._insert_track(track)
            except ModelError as e:
                raise ModelError(f"{where}: {e}") from None
        reviews = _keys(d["reviews"], "reviews", {"boxes", "frames"})
        for name in ("boxes", "frames"):
            if not isinstance(reviews[name], list):
                raise ModelError(f"reviews: '{name}' must be a list")
        for i, rd in enumerate(reviews["boxes"]):
            rd = _keys(rd, f"reviews.boxes[{i}]", {"track_id", "frame", "status", "comment", "who", "when"})
            tid = _int(rd.pop("track_id"), f"reviews.boxes[{i}]: track_id")
            f = _int(rd.pop("frame"), f"reviews.boxes[{i}]: frame")
            if tid not in doc._tracks:
                raise ModelError(f"reviews.boxes[{i}]: no track with id {tid}")
            where = f"reviews.boxes[{i}] (track {tid}, frame {f})"
            _load_review(doc, f, tid, _review(rd, where), where)
        for i, rd in enumerate(reviews["frames"]):
            rd = _keys(rd, f"reviews.frames[{i}]", {"frame", "status", "comment", "who", "when"})
            f = _int(rd.pop("frame"), f"reviews.frames[{i}]: frame")
            where = f"reviews.frames[{i}] (frame {f})"
            _load_review(doc, f, None, _review(rd, where), where)
        proposals = d.get("proposals", [])
        if not isinstance(proposals, list):
            raise ModelError("document: 'proposals' must be a list")
        for i, pd in enumerate(proposals):
            doc._insert_proposal(_proposal_from_dict(pd, f"proposals[{i}]"))
        issues = d.get("issues", [])
        if not isinstance(issues, list):
            raise ModelError("document: 'issues' must be a list")
        for i, md in enumerate(issues):
            where = f"issues[{i}]"
            md = _keys(md, where, {"id", "position", "text"},
                       optional={"author", "resolved", "resolved_by", "frame", "track_id", "when"})
            try:
                marker = IssueMarker(
                    _int(md["id"], f"{where}: id"), md["position"], md["text"], md.get("author", ""),
                    md.get("resolved", False), md.get("frame"), md.get("track_id"), md.get("when"),
                    md.get("resolved_by", ""),
                )
                doc._put_issue(marker, replace=False)
            except ModelError as e:
                raise ModelError(f"{where}: {e}") from None
        elements = d.get("map", [])
        if not isinstance(elements, list):
            raise ModelError("document: 'map' must be a list")
        for i, ed in enumerate(elements):
            try:
                doc._put_map_element(element_from_dict(ed, f"map[{i}]"), replace=False)
            except ModelError as e:
                raise ModelError(f"map[{i}]: {e}") from None
        return doc


# ---- one track as plain data (the document's layout; also the edit journal's, formats.project) ----
def box_dict(b: Box3D) -> dict[str, Any]:
    """A keyframe box as the document writes it: ``center``, ``size``, ``yaw`` and, for a tilted
    box only, ``roll`` and ``pitch`` (radians)."""
    d: dict[str, Any] = {"center": list(b.center), "size": list(b.size), "yaw": b.yaw}
    if b.tilted:
        d["roll"], d["pitch"] = b.roll, b.pitch
    return d


def track_to_dict(t: Track) -> dict[str, Any]:
    """One track as :meth:`AnnotationDocument.to_dict` writes it (world frame, metres, radians)."""
    d: dict[str, Any] = {
        "id": t.track_id,
        "label": t.label,
        "attributes": dict(sorted(t.attributes.items())),
        "interpolation": t.interpolation,
        "keyframes": {str(f): box_dict(b) for f, b in sorted(t.keyframes.items())},
    }
    if t.gaps:
        d["gaps"] = [list(g) for g in t.gaps]
    if t.end is not None:
        d["end"] = t.end
    if t.tracked:
        d["tracked"] = {
            str(f): {"center": list(b.center), "size": list(b.size), "yaw": b.yaw,
                     "confidence": float(t.tracked_confidence[f])}
            for f, b in sorted(t.tracked.items())
        }
    return d


def track_from_dict(td: object, where: str = "track") -> Track:
    """A :class:`Track` from :func:`track_to_dict` data; strict (ModelError naming ``where`` and the
    key). Frames are not checked against a sequence here (the document does that on insert)."""
    td = _keys(td, where, {"id", "label", "attributes", "interpolation", "keyframes"},
               optional={"gaps", "end", "tracked"})
    tid = _int(td["id"], f"{where}: id")
    where = f"track {tid}"
    attrs = td["attributes"]
    if not isinstance(attrs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()
    ):
        raise ModelError(f"{where}: 'attributes' must map strings to strings")
    if td["interpolation"] not in INTERPOLATION_METHODS:
        raise ModelError(f"{where}: unknown interpolation {td['interpolation']!r}")
    if not isinstance(td["keyframes"], dict) or not td["keyframes"]:
        raise ModelError(f"{where}: 'keyframes' must be a non-empty mapping frame -> box")
    keyframes: dict[int, Box3D] = {}
    for fkey, bd in td["keyframes"].items():
        f = _frame_key(fkey, f"{where}: keyframe key")
        keyframes[f] = _box_from_dict(bd, f"{where} keyframe {f}")
    _check_label(td["label"], tid)
    gaps = td.get("gaps", [])
    if not isinstance(gaps, list):
        raise ModelError(f"{where}: 'gaps' must be a list of [first, last] pairs")
    gaps = normalize_gaps((tuple(g) if isinstance(g, list) else g for g in gaps), f"{where}: gaps")
    end = td.get("end")
    if end is not None:
        end = _int(end, f"{where}: end")
    tracked, confidence = _tracked_from_dict(td.get("tracked", {}), where)
    try:
        return Track(tid, td["label"], dict(attrs), keyframes, td["interpolation"], gaps, end, tracked, confidence)
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None


# ---- helpers -------------------------------------------------------------------------------------
def _check_label(label: object, track_id: int) -> None:
    if not isinstance(label, str) or not label.strip():
        raise ModelError(f"track {track_id}: label must be a non-empty string, got {label!r}")


def _keys(data: object, where: str, expected: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ModelError(f"{where}: expected a mapping, got {type(data).__name__}")
    missing = expected - set(data)
    if missing:
        raise ModelError(f"{where}: missing key {sorted(missing)[0]!r}")
    unknown = set(data) - expected - optional
    if unknown:
        raise ModelError(f"{where}: unknown key {sorted(map(str, unknown))[0]!r}")
    return dict(data)


def _int(v: object, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ModelError(f"{where}: expected an integer, got {v!r}")
    return v


def _frame_key(k: object, where: str) -> int:
    if isinstance(k, str) and k.strip().lstrip("-").isdigit():
        return int(k)
    return _int(k, where)


def _box_from_dict(bd: object, where: str) -> Box3D:
    if type(bd) is dict and len(bd) == 3:  # the common upright box of floats: checked at once
        c, s, yaw = bd.get("center"), bd.get("size"), bd.get("yaw")
        if (type(c) is list and type(s) is list and len(c) == 3 and len(s) == 3
                and type(yaw) is float and _FLOAT_TYPES.issuperset(map(type, c + s))
                and math.isfinite(c[0] + c[1] + c[2] + s[0] + s[1] + s[2] + yaw)):
            # exactly the keys center, size, yaw; 7 finite numbers (a finite sum: finite terms)
            try:
                return Box3D(tuple(c), tuple(s), yaw)
            except ModelError as e:
                raise ModelError(f"{where}: {e}") from None
    bd = _keys(bd, where, {"center", "size", "yaw"}, optional={"roll", "pitch"})
    for name, n in (("center", 3), ("size", 3)):
        v = bd[name]
        if not isinstance(v, (list, tuple)) or len(v) != n or not all(_is_number(x) for x in v):
            raise ModelError(f"{where}: {name!r} must be {n} numbers, got {v!r}")
    for name in ("yaw", "roll", "pitch"):
        if name in bd and not _is_number(bd[name]):
            raise ModelError(f"{where}: {name!r} must be a number, got {bd[name]!r}")
    try:
        return Box3D(tuple(bd["center"]), tuple(bd["size"]), bd["yaw"], bd.get("roll", 0.0), bd.get("pitch", 0.0))
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None


def _tracked_from_dict(data: object, where: str) -> tuple[dict[int, Box3D], dict[int, float]]:
    """Tracked boxes and their confidences from ``{"<frame>": {"center", "size", "yaw",
    "confidence"}}``."""
    if not isinstance(data, dict):
        raise ModelError(f"{where}: 'tracked' must be a mapping frame -> box")
    boxes: dict[int, Box3D] = {}
    confidence: dict[int, float] = {}
    for fkey, bd in data.items():
        f = _frame_key(fkey, f"{where}: tracked key")
        bd = _keys(bd, f"{where} tracked frame {f}", {"center", "size", "yaw", "confidence"})
        c = bd.pop("confidence")
        if not _is_number(c) or not 0.0 <= float(c) <= 1.0:
            raise ModelError(f"{where} tracked frame {f}: 'confidence' must be a number in [0, 1], got {c!r}")
        confidence[f] = float(c)
        boxes[f] = _box_from_dict(bd, f"{where} tracked frame {f}")
    return boxes, confidence


def _proposal_from_dict(pd: object, where: str) -> Proposal:
    pd = _keys(pd, where, {"id", "label", "confidence", "source", "attributes", "boxes"})
    pid = _int(pd["id"], f"{where}: id")
    where = f"proposal {pid}"
    if not isinstance(pd["label"], str) or not pd["label"].strip():
        raise ModelError(f"{where}: label must be a non-empty string")
    if not isinstance(pd["source"], str):
        raise ModelError(f"{where}: source must be a string")
    if not _is_number(pd["confidence"]):
        raise ModelError(f"{where}: confidence must be a number")
    attrs = pd["attributes"]
    if not isinstance(attrs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
        raise ModelError(f"{where}: 'attributes' must map strings to strings")
    if not isinstance(pd["boxes"], dict) or not pd["boxes"]:
        raise ModelError(f"{where}: 'boxes' must be a non-empty mapping frame -> box")
    boxes: dict[int, Box3D] = {}
    scores: dict[int, float] = {}
    for fkey, bd in pd["boxes"].items():
        f = _frame_key(fkey, f"{where}: box key")
        bd = _keys(bd, f"{where} frame {f}", {"center", "size", "yaw", "score"})
        if not _is_number(bd["score"]):
            raise ModelError(f"{where} frame {f}: 'score' must be a number")
        scores[f] = float(bd.pop("score"))
        boxes[f] = _box_from_dict(bd, f"{where} frame {f}")
    try:
        return Proposal(pid, pd["label"], boxes, scores, float(pd["confidence"]), pd["source"], dict(attrs))
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None


#: The value types of :func:`_box_from_dict`'s fast path (``bool`` is not one: not a number there).
_FLOAT_TYPES = frozenset({float})


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _load_review(
    doc: AnnotationDocument, frame: int, track_id: int | None, review: Review, where: str
) -> None:
    try:
        doc._set_review(frame, track_id, review)
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None


def _review(rd: dict[str, Any], where: str) -> Review:
    try:
        return Review(rd["status"], rd["comment"], rd["who"], rd["when"])
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None
