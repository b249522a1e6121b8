"""Reviewing proposals: undoable accept / reject / edit commands and a review queue.

Proposals live in :attr:`AnnotationDocument.proposals`, apart from the human tracks (see
``fusionlabel.document``). Every change is a :class:`~fusionlabel.commands.Command` pushed on the
:class:`~fusionlabel.commands.UndoStack`, so accept, reject and edit undo and redo exactly:

- :class:`AcceptProposal`: the proposal (all its frames, or some) becomes a human track (a new
  track id; one keyframe per observed frame; class default attributes); the accepted frames leave
  the proposal, which disappears when none is left.
- :class:`RejectProposal`: the proposal (or some of its frames) is removed.
- :class:`EditProposal`: replace a proposal's box at a frame, its class, or both (before accepting).
- :class:`SetProposals`: replace the whole proposal set (a pre-labelling run), human tracks untouched.

:class:`ReviewQueue` orders the proposals highest confidence first (``lowest_first=True``: the
uncertain ones first), accepts the current proposal as a whole track (a proposal is one track over
its frames), accepts every proposal at or above a confidence threshold in one undoable step
(:class:`AcceptAbove`), rejects the rest of the queue from the current proposal on, or everything
below a threshold, in one undoable step (:class:`RejectMany`), and follows the document: it stays
current after accepts, rejects, undo and redo. Accepted tracks get keyframes only where the motion needs them
(:func:`fusionlabel.assist.tracklabel.reduce_keyframes`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

from fusionlabel.assist.tracklabel import KEYFRAME_TOL_M, KEYFRAME_TOL_YAW, reduce_keyframes
from fusionlabel.box import Box3D
from fusionlabel.commands import Command, CommandGroup, UndoStack
from fusionlabel.document import AnnotationDocument, DocumentEvent, Proposal
from fusionlabel.errors import ModelError
from fusionlabel.model import DEFAULT_INTERPOLATION, Track


class SetProposals(Command):
    """Replace every proposal of the document by ``proposals`` (ids are re-assigned from 0 in the
    given order when ``renumber``); tracks and reviews are not touched."""

    def __init__(self, proposals: Sequence[Proposal], renumber: bool = True) -> None:
        self.proposals = [p.copy(proposal_id=i) if renumber else p for i, p in enumerate(proposals)]
        self.description = f"Set {len(self.proposals)} proposals"
        self._previous: list[Proposal] = []

    def apply(self, doc: AnnotationDocument) -> None:
        ids = [p.proposal_id for p in self.proposals]
        if len(set(ids)) != len(ids):
            raise ModelError("proposals: duplicate proposal ids")
        previous = [doc.proposals[k] for k in sorted(doc.proposals)]
        for p in previous:
            doc._remove_proposal(p.proposal_id)
        done: list[Proposal] = []
        try:
            for p in self.proposals:
                doc._insert_proposal(p)
                done.append(p)
        except ModelError:
            for p in done:
                doc._remove_proposal(p.proposal_id)
            for p in previous:
                doc._insert_proposal(p)
            raise
        self._previous = previous

    def revert(self, doc: AnnotationDocument) -> None:
        for p in self.proposals:
            doc._remove_proposal(p.proposal_id)
        for p in self._previous:
            doc._insert_proposal(p)


#: Default confidence threshold of "accept above threshold" (synthetic seeds 0-4, with the
#: track-level structure cues: 133 of the 134 proposals at or above it are right; 0.6 before the
#: cues, when walls proposed as trucks reached 0.86: docs/assist.md).
ACCEPT_THRESHOLD = 0.45


#: Accepted moving objects of these class kinds keep one keyframe, their other boxes tracked
#: (:class:`AcceptProposal`).
MACHINE_BOXES = True
MACHINE_KINDS = ("vehicle",)


def _kind(label: str) -> str:
    from fusionlabel.motion_model import class_kind
    from fusionlabel.ontology import Ontology

    return class_kind(Ontology.default().get(label))


class AcceptProposal(Command):
    """Turn a proposal into a human track: its boxes at ``frames`` (default: all) become the
    keyframes of a new track (``track_id`` None: a fresh id, kept for redo) labelled ``label``
    (default: the proposal's) with ``attributes`` (e.g. the ontology's class defaults). With
    ``reduce`` (default) only the keyframes the motion needs are kept: a keyframe whose box the
    track's interpolation from the kept ones reproduces within ``tol_m`` metres and ``tol_yaw`` rad
    is dropped (:func:`~fusionlabel.assist.tracklabel.reduce_keyframes`; the first stays, the
    track's ``end`` is the last accepted frame and its latest keyframe box is held up to it, so a
    parked object keeps one keyframe and the track spans the same frames). The accepted frames
    leave the proposal; it is removed when none is left. With ``machine_boxes`` (default
    ``MACHINE_BOXES``), a vehicle that moves (more than one keyframe needed) keeps its first
    keyframe only and its other boxes become tracked boxes (the machine's, not the labeler's): an
    edit there re-tracks them from the edited box (``fusionlabel.follow``), so one fix corrects the
    frames around it. After apply, ``self.track_id`` is the new track's id."""

    def __init__(
        self,
        proposal_id: int,
        frames: Iterable[int] | None = None,
        label: str | None = None,
        attributes: Mapping[str, str] | None = None,
        track_id: int | None = None,
        interpolation: str = DEFAULT_INTERPOLATION,
        reduce: bool = True,
        tol_m: float = KEYFRAME_TOL_M,
        tol_yaw: float = KEYFRAME_TOL_YAW,
        machine_boxes: bool = MACHINE_BOXES,
    ) -> None:
        self.proposal_id = proposal_id
        self.reduce, self.tol_m, self.tol_yaw = reduce, tol_m, tol_yaw
        self.machine_boxes = machine_boxes
        self.frames = None if frames is None else sorted({int(f) for f in frames})
        self.label = label
        self.attributes = dict(attributes or {})
        self.track_id = track_id
        self.interpolation = interpolation
        self.description = f"Accept proposal {proposal_id}"
        self._previous: Proposal | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        p = doc.proposal(self.proposal_id)
        frames = p.frames() if self.frames is None else self.frames
        missing = [f for f in frames if f not in p.boxes]
        if missing or not frames:
            raise ModelError(f"proposal {self.proposal_id} has no box at frame(s) {missing or frames}")
        tid = doc.new_track_id() if self.track_id is None else self.track_id
        keyframes = {f: p.boxes[f] for f in frames}
        if self.reduce:
            keyframes = reduce_keyframes(keyframes, self.interpolation, self.tol_m, self.tol_yaw, hold=True)
        label = self.label or p.label
        tracked: dict[int, Box3D] = {}
        if self.machine_boxes and len(keyframes) > 1 and _kind(label) in MACHINE_KINDS:
            # a moving vehicle: one keyframe, the detector's boxes tracked (an edit re-tracks them)
            first = min(keyframes)
            tracked = {f: p.boxes[f] for f in frames if f != first}
            keyframes = {first: keyframes[first]}
        conf = {f: float(p.scores.get(f, p.confidence)) for f in tracked}
        track = Track(tid, label, dict(self.attributes), keyframes, self.interpolation, end=max(frames),
                      tracked=tracked, tracked_confidence=conf)
        doc._insert_track(track)
        rest = {f: b for f, b in p.boxes.items() if f not in frames}
        try:
            if rest:
                doc._replace_proposal(p.copy(boxes=rest, scores={f: s for f, s in p.scores.items() if f in rest}))
            else:
                doc._remove_proposal(p.proposal_id)
        except ModelError:
            doc._remove_track(tid)
            raise
        self._previous = p
        self.track_id = tid

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None and self.track_id is not None
        doc._remove_track(self.track_id)
        if self._previous.proposal_id in doc.proposals:
            doc._replace_proposal(self._previous)
        else:
            doc._insert_proposal(self._previous)


class RejectProposal(Command):
    """Remove a proposal, or only its boxes at ``frames``."""

    def __init__(self, proposal_id: int, frames: Iterable[int] | None = None) -> None:
        self.proposal_id = proposal_id
        self.frames = None if frames is None else sorted({int(f) for f in frames})
        self.description = f"Reject proposal {proposal_id}"
        self._previous: Proposal | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        p = doc.proposal(self.proposal_id)
        rest = {} if self.frames is None else {f: b for f, b in p.boxes.items() if f not in self.frames}
        if rest:
            doc._replace_proposal(p.copy(boxes=rest, scores={f: s for f, s in p.scores.items() if f in rest}))
        else:
            doc._remove_proposal(p.proposal_id)
        self._previous = p

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None
        if self._previous.proposal_id in doc.proposals:
            doc._replace_proposal(self._previous)
        else:
            doc._insert_proposal(self._previous)


class AcceptAbove(CommandGroup):
    """Accept every proposal whose confidence is at least ``threshold`` (each a new track, see
    :class:`AcceptProposal`) as one undoable step; ``attributes_for(label)`` gives each track's
    attributes. ``self.track_ids`` are the new tracks after apply (empty when none qualified)."""

    def __init__(self, proposal_ids: Sequence[int], labels: Mapping[int, str] | None = None,
                 attributes_for: object = None, threshold: float = ACCEPT_THRESHOLD) -> None:
        labels = dict(labels or {})
        cmds = [AcceptProposal(pid, None, labels.get(pid),
                               attributes_for(labels[pid]) if callable(attributes_for) and pid in labels else None)
                for pid in proposal_ids]
        super().__init__(f"Accept {len(cmds)} proposals with confidence >= {threshold:.2f}", cmds)
        self.threshold = threshold

    @property
    def track_ids(self) -> list[int]:
        return [c.track_id for c in self.commands if isinstance(c, AcceptProposal) and c.track_id is not None]


class RejectMany(CommandGroup):
    """Reject several proposals (each whole, see :class:`RejectProposal`) as one undoable step
    ("reject the rest" of the review queue, or everything below a confidence threshold)."""

    def __init__(self, proposal_ids: Sequence[int], description: str | None = None) -> None:
        super().__init__(description or f"Reject {len(proposal_ids)} proposals",
                         [RejectProposal(pid) for pid in proposal_ids])

    @property
    def proposal_ids(self) -> list[int]:
        return [c.proposal_id for c in self.commands if isinstance(c, RejectProposal)]


class EditProposal(Command):
    """Change a proposal before accepting it: its box at ``frame`` (with ``box``; a frame without a
    box gets one) and/or its class (``label``)."""

    def __init__(self, proposal_id: int, frame: int | None = None, box: Box3D | None = None,
                 label: str | None = None, merge_key: Hashable | None = None) -> None:
        if (frame is None) != (box is None):
            raise ModelError("EditProposal: give both frame and box, or neither")
        if box is None and label is None:
            raise ModelError("EditProposal: nothing to change")
        self.proposal_id, self.frame, self.box, self.label = proposal_id, frame, box, label
        self.merge_key = merge_key
        self.description = f"Edit proposal {proposal_id}"
        self._previous: Proposal | None = None

    def merge(self, later: Command) -> bool:
        """Consecutive box edits (same ``merge_key``, proposal and frame; no class change) are one
        undo step (keyboard nudges of the proposal under review)."""
        if (
            isinstance(later, EditProposal)
            and later.merge_key == self.merge_key
            and (later.proposal_id, later.frame) == (self.proposal_id, self.frame)
            and later.box is not None
            and later.label is None
            and self.label is None
        ):
            self.box = later.box  # the document already shows it; keep our own _previous
            return True
        return False

    def apply(self, doc: AnnotationDocument) -> None:
        p = doc.proposal(self.proposal_id)
        boxes, scores = dict(p.boxes), dict(p.scores)
        if self.box is not None and self.frame is not None:
            boxes[int(self.frame)] = self.box
            scores.setdefault(int(self.frame), p.confidence)
        self._previous = doc._replace_proposal(p.copy(boxes=boxes, scores=scores, label=self.label or p.label))

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None
        doc._replace_proposal(self._previous)


def proposals_apart_from(doc: AnnotationDocument, proposals: Sequence[Proposal], iou: float = 0.1) -> list[Proposal]:
    """``proposals`` without their boxes that overlap a human box of ``doc`` at the same frame
    (BEV IoU above ``iou``): what is labelled already is not proposed again."""
    from fusionlabel.assist.prelabel import drop_overlapping

    return drop_overlapping(proposals, lambda f: [r.box for r in doc.boxes_at(f)], iou)


def set_prelabels(doc: AnnotationDocument, proposals: Sequence[Proposal], stack: UndoStack | None = None,
                  iou: float = 0.1) -> SetProposals:
    """Replace the document's proposals by ``proposals`` minus what human tracks already cover
    (:func:`proposals_apart_from`): pushed on ``stack`` (undoable) or applied directly when None."""
    cmd = SetProposals(proposals_apart_from(doc, proposals, iou))
    if stack is not None:
        stack.push(cmd)
    else:
        cmd.apply(doc)
    return cmd


class ReviewQueue:
    """The proposals of a document in review order: highest confidence first (ties by id;
    ``lowest_first``: lowest first).

    ``current`` is the proposal under review (None when the queue is empty); ``next()`` /
    ``previous()`` move through the queue (wrapping); ``accept()`` / ``reject()`` / ``edit()``
    push the commands on the undo stack and keep the position (the next proposal becomes
    current). The queue follows document changes (accepts, rejects, undo, redo, new pre-labels).
    ``frame`` (optional) restricts the queue to proposals with a box at that frame.
    ``attributes_for(label)`` gives the attributes of an accepted track (e.g. the ontology's
    ``default_attributes``). ``accept_above(threshold)`` accepts every proposal at or above the
    threshold in one undoable step; ``accept_track()`` accepts the current proposal's whole track
    (every frame, whichever frame the labeler looks at); ``reject_rest()`` rejects the current
    proposal and all after it (``reject_below(threshold)``: all below), one undoable step."""

    def __init__(self, doc: AnnotationDocument, stack: UndoStack, frame: int | None = None,
                 attributes_for: object = None, lowest_first: bool = False) -> None:
        self.doc, self.stack, self.frame = doc, stack, frame
        self.attributes_for = attributes_for
        self.lowest_first = lowest_first
        self._order: list[int] = []
        self._pos = 0
        self._current: int | None = None
        self._unsubscribe = doc.subscribe(self._on_change)
        self.refresh()

    def close(self) -> None:
        """Stop following the document."""
        self._unsubscribe()

    def _on_change(self, event: DocumentEvent) -> None:
        if event.kind.startswith("proposal_"):
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the order; the current proposal stays current if it still exists, else the one
        that took its place in the order."""
        props = self.doc.proposals.values()
        if self.frame is not None:
            props = [p for p in props if self.frame in p.boxes]
        sign = 1.0 if self.lowest_first else -1.0
        self._order = [p.proposal_id for p in sorted(props, key=lambda p: (sign * p.confidence, p.proposal_id))]
        if self._current in self._order:
            self._pos = self._order.index(self._current)
        else:
            self._pos = min(self._pos, max(len(self._order) - 1, 0))
        self._current = self._order[self._pos] if self._order else None

    def __len__(self) -> int:
        return len(self._order)

    def ids(self) -> list[int]:
        """Proposal ids in review order."""
        return list(self._order)

    @property
    def position(self) -> int:
        return self._pos

    @property
    def current(self) -> Proposal | None:
        return None if self._current is None else self.doc.proposals.get(self._current)

    def next(self) -> Proposal | None:
        if self._order:
            self._pos = (self._pos + 1) % len(self._order)
            self._current = self._order[self._pos]
        return self.current

    def previous(self) -> Proposal | None:
        if self._order:
            self._pos = (self._pos - 1) % len(self._order)
            self._current = self._order[self._pos]
        return self.current

    def _require(self) -> Proposal:
        p = self.current
        if p is None:
            raise ModelError("the review queue is empty")
        return p

    def _advance_after(self, pid: int) -> None:
        # the command already removed or changed it; keep the position in the order
        if pid not in self.doc.proposals:
            self._current = None
        self.refresh()

    def accept(self, frames: Iterable[int] | None = None, label: str | None = None) -> AcceptProposal:
        """Accept the current proposal (see :class:`AcceptProposal`); returns the pushed command
        (``.track_id`` is the new track)."""
        p = self._require()
        lab = label or p.label
        attrs = self.attributes_for(lab) if callable(self.attributes_for) else {}
        cmd = AcceptProposal(p.proposal_id, frames, lab, attrs)
        self.stack.push(cmd)
        self._advance_after(p.proposal_id)
        return cmd

    def accept_track(self, label: str | None = None) -> AcceptProposal:
        """Accept the current proposal over all its frames as one track (see :meth:`accept`)."""
        return self.accept(None, label)

    def set_lowest_first(self, lowest_first: bool) -> None:
        """Review lowest confidence first (True) or highest first (False); the current proposal
        stays current."""
        self.lowest_first = bool(lowest_first)
        self.refresh()

    def above(self, threshold: float = ACCEPT_THRESHOLD) -> list[int]:
        """Ids of the queued proposals with confidence >= ``threshold``, in review order."""
        return [i for i in self._order if self.doc.proposals[i].confidence >= threshold]

    def accept_above(self, threshold: float = ACCEPT_THRESHOLD) -> AcceptAbove:
        """Accept every queued proposal with confidence >= ``threshold`` as tracks, one undoable
        step (:class:`AcceptAbove`; pushed only when some qualify: ``track_ids`` is empty
        otherwise). The queue goes on from its head with what is left."""
        ids = self.above(threshold)
        labels = {i: self.doc.proposals[i].label for i in ids}
        cmd = AcceptAbove(ids, labels, self.attributes_for, threshold)
        if ids:
            self.stack.push(cmd)
        if self._current in ids:
            self._current, self._pos = None, 0
        self.refresh()
        return cmd

    def rest(self) -> list[int]:
        """Ids of the current proposal and every one after it in review order (highest first:
        the current one and all of lower confidence); empty when the queue is."""
        return list(self._order[self._pos:]) if self._current is not None else []

    def below(self, threshold: float) -> list[int]:
        """Ids of the queued proposals with confidence < ``threshold``, in review order."""
        return [i for i in self._order if self.doc.proposals[i].confidence < threshold]

    def _reject_many(self, ids: Sequence[int], description: str) -> RejectMany:
        cmd = RejectMany(ids, description)
        if ids:
            self.stack.push(cmd)
        self._current, self._pos = None, 0
        self.refresh()
        return cmd

    def reject_rest(self) -> RejectMany:
        """Reject the current proposal and every one after it in review order (after accepting
        what is above the threshold and the good ones at the head: the rest of the queue), one
        undoable step (:class:`RejectMany`; pushed only when there is one). The queue goes on from
        its head with what is left (the proposals before the current one)."""
        ids = self.rest()
        return self._reject_many(ids, f"Reject the rest of the review queue ({len(ids)} proposals)")

    def reject_below(self, threshold: float) -> RejectMany:
        """Reject every queued proposal with confidence < ``threshold``, one undoable step
        (:class:`RejectMany`; pushed only when some qualify)."""
        ids = self.below(threshold)
        return self._reject_many(ids, f"Reject {len(ids)} proposals with confidence < {threshold:.2f}")

    def reject(self, frames: Iterable[int] | None = None) -> RejectProposal:
        p = self._require()
        cmd = RejectProposal(p.proposal_id, frames)
        self.stack.push(cmd)
        self._advance_after(p.proposal_id)
        return cmd

    def edit(self, frame: int | None = None, box: Box3D | None = None, label: str | None = None) -> EditProposal:
        p = self._require()
        cmd = EditProposal(p.proposal_id, frame, box, label)
        self.stack.push(cmd)
        return cmd
