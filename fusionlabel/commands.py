"""Undoable edits of an :class:`~fusionlabel.document.AnnotationDocument`.

Every change of the document is a :class:`Command` with ``apply(doc)`` / ``revert(doc)``, pushed
on an :class:`UndoStack`. A command validates before it changes anything, so a command whose
``apply`` raises leaves the document unchanged; a :class:`CommandGroup` that fails part-way
reverts the part already applied before re-raising. Commands remember what they replaced when
applied, so ``revert`` restores the exact previous state (the previous keyframe box or its
absence, the previous label, attribute value or review), and a keyframe's revert restores every
interpolated box between its neighbours because those are computed from the keyframes.

Boxes are world-frame :class:`~fusionlabel.box.Box3D`; frames are integer indices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument, IssueMarker, Review
from fusionlabel.errors import ModelError
from fusionlabel.model import DEFAULT_INTERPOLATION, Track


class Command:
    """An undoable edit. Subclasses implement ``apply`` and ``revert``.

    ``merge_key``: when not None, an :class:`UndoStack` may fold this command into the previous
    step if that step has the same ``merge_key`` and its :meth:`merge` accepts it (consecutive
    nudges of one box in one gesture become one undo step).
    """

    description: str = "edit"
    merge_key: Hashable | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        raise NotImplementedError

    def revert(self, doc: AnnotationDocument) -> None:
        raise NotImplementedError

    def merge(self, later: Command) -> bool:
        """Absorb ``later`` (already applied) into this step; True when done. Default: never."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description}>"


class CreateTrack(Command):
    """A new track with its first keyframe. ``track_id`` None picks a fresh id at the first apply
    (kept for redo); after apply, ``self.track_id`` is the id of the created track. The
    interpolation method defaults to the model's (``DEFAULT_INTERPOLATION``, smooth).

    ``end``: the track's last frame (None: it ends at its last keyframe, see
    :class:`~fusionlabel.model.Track`); ``to_sequence_end`` True makes it last to the end of the
    sequence (``frame_count - 1`` of the document, when known): a labeler's new box is an object
    that stays (held) until the labeler ends the track, moves it or auto-tracks it."""

    def __init__(
        self,
        label: str,
        frame: int,
        box: Box3D,
        attributes: Mapping[str, str] | None = None,
        track_id: int | None = None,
        interpolation: str = DEFAULT_INTERPOLATION,
        end: int | None = None,
        *,
        to_sequence_end: bool = False,
    ) -> None:
        self.label, self.frame, self.box = label, frame, box
        self.attributes = dict(attributes or {})
        self.track_id = track_id
        self.interpolation = interpolation
        self.end, self.to_sequence_end = end, bool(to_sequence_end)
        self.description = f"Create {label}"

    def apply(self, doc: AnnotationDocument) -> None:
        tid = doc.new_track_id() if self.track_id is None else _index(self.track_id)
        frame = doc.check_frame(self.frame)
        end = self.end
        if self.to_sequence_end and doc.frame_count:
            end = max(doc.frame_count - 1, frame)
        track = Track(tid, self.label, dict(self.attributes), {frame: self.box}, self.interpolation, end=end)  # type: ignore[arg-type]
        doc._insert_track(track)
        self.track_id = tid

    def revert(self, doc: AnnotationDocument) -> None:
        assert self.track_id is not None
        doc._remove_track(self.track_id)


class DeleteTrack(Command):
    """Remove a track with all its keyframes and box reviews (restored by revert)."""

    def __init__(self, track_id: int) -> None:
        self.track_id = track_id
        self.description = f"Delete track {track_id}"
        self._removed: tuple[Track, dict[int, Review]] | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._removed = doc._remove_track(self.track_id)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._removed is not None
        track, reviews = self._removed
        doc._insert_track(track, reviews)


class SetKeyframe(Command):
    """Add or replace the keyframe box of a track at a frame (revert restores the previous box or
    its absence). Pushes with the same non-None ``merge_key`` on the same track and frame merge
    into one undo step (e.g. ``merge_key=("nudge", gesture_id)``)."""

    def __init__(self, track_id: int, frame: int, box: Box3D, merge_key: Hashable | None = None) -> None:
        self.track_id, self.frame, self.box = track_id, frame, box
        self.merge_key = merge_key
        self.description = f"Edit box of track {track_id} at frame {frame}"
        self._previous: Box3D | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._previous = doc._set_keyframe(self.track_id, self.frame, self.box)

    def revert(self, doc: AnnotationDocument) -> None:
        if self._previous is None:
            doc._remove_keyframe(self.track_id, self.frame)
        else:
            doc._set_keyframe(self.track_id, self.frame, self._previous)

    def merge(self, later: Command) -> bool:
        if (
            isinstance(later, SetKeyframe)
            and later.merge_key == self.merge_key
            and (later.track_id, later.frame) == (self.track_id, self.frame)
        ):
            self.box = later.box  # the document already shows it; keep our own _previous
            return True
        return False


class RemoveKeyframe(Command):
    """Remove a keyframe (not a track's only one); the frame becomes interpolated or empty."""

    def __init__(self, track_id: int, frame: int) -> None:
        self.track_id, self.frame = track_id, frame
        self.description = f"Remove keyframe of track {track_id} at frame {frame}"
        self._box: Box3D | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._box = doc._remove_keyframe(self.track_id, self.frame)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._box is not None
        doc._set_keyframe(self.track_id, self.frame, self._box)


class SetLabel(Command):
    """Change the class of a track."""

    def __init__(self, track_id: int, label: str) -> None:
        self.track_id, self.label = track_id, label
        self.description = f"Set class of track {track_id} to {label}"
        self._previous: str | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._previous = doc._set_label(self.track_id, self.label)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None
        doc._set_label(self.track_id, self._previous)


class SetAttribute(Command):
    """Set a track attribute to a string value, or remove it with ``value=None``."""

    def __init__(self, track_id: int, key: str, value: str | None) -> None:
        self.track_id, self.key, self.value = track_id, key, value
        verb = "Remove" if value is None else "Set"
        self.description = f"{verb} attribute {key} of track {track_id}"
        self._previous: str | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._previous = doc._set_attribute(self.track_id, self.key, self.value)

    def revert(self, doc: AnnotationDocument) -> None:
        doc._set_attribute(self.track_id, self.key, self._previous)


class SetReview(Command):
    """Set the review of a box (``track_id`` given) or of a whole frame (``track_id`` None).

    ``review`` None clears the stored review. Use :meth:`make` to build one from a status; a
    box review needs the track to have a box at that frame.
    """

    def __init__(self, frame: int, review: Review | None, track_id: int | None = None) -> None:
        self.frame, self.review, self.track_id = frame, review, track_id
        target = f"frame {frame}" if track_id is None else f"track {track_id} at frame {frame}"
        self.description = f"Review {target}" if review is None else f"Mark {target} {review.status}"
        self._previous: Review | None = None

    @classmethod
    def make(
        cls,
        frame: int,
        status: str,
        track_id: int | None = None,
        comment: str = "",
        who: str = "",
        when: str | int | None = None,
    ) -> SetReview:
        """A review command stamped now (integer ns) unless ``when`` is given."""
        return cls(frame, Review(status, comment, who, time.time_ns() if when is None else when), track_id)

    def apply(self, doc: AnnotationDocument) -> None:
        if self.track_id is not None and self.review is not None:
            if doc.track(self.track_id).box_at(self.frame) is None:
                raise ModelError(f"track {self.track_id} has no box at frame {self.frame} to review")
        self._previous = doc._set_review(self.frame, self.track_id, self.review)

    def revert(self, doc: AnnotationDocument) -> None:
        doc._set_review(self.frame, self.track_id, self._previous)


class AddIssueMarker(Command):
    """Place an issue marker: a world-frame point ``position`` (x, y, z, metres) with ``text`` for
    the labeler, by ``author``, at ``frame`` (None: the whole sequence), optionally about a track.
    ``marker_id`` None picks a fresh id at the first apply (kept for redo); after apply
    ``self.marker_id`` is the marker's id. ``when`` defaults to now (integer ns)."""

    def __init__(
        self,
        position: Sequence[float],
        text: str,
        author: str = "",
        frame: int | None = None,
        track_id: int | None = None,
        when: str | int | None = None,
        marker_id: int | None = None,
    ) -> None:
        self.position, self.text, self.author = tuple(position), text, author
        self.frame, self.track_id = frame, track_id
        self.when = time.time_ns() if when is None else when
        self.marker_id = marker_id
        self.description = "Add issue marker" if frame is None else f"Add issue marker at frame {frame}"

    def apply(self, doc: AnnotationDocument) -> None:
        mid = doc.new_issue_id() if self.marker_id is None else _index(self.marker_id)
        if self.track_id is not None:
            doc.track(self.track_id)
        marker = IssueMarker(mid, self.position, self.text, self.author, False, _index(self.frame),  # type: ignore[arg-type]
                             _index(self.track_id), self.when)  # type: ignore[arg-type]
        doc._put_issue(marker, replace=False)
        self.marker_id = marker.marker_id

    def revert(self, doc: AnnotationDocument) -> None:
        assert self.marker_id is not None
        doc._remove_issue(self.marker_id)


class ResolveIssueMarker(Command):
    """Mark an issue marker resolved (by ``who``), or with ``resolved=False`` open it again."""

    def __init__(self, marker_id: int, resolved: bool = True, who: str = "") -> None:
        self.marker_id, self.resolved, self.who = marker_id, bool(resolved), who
        self.description = f"{'Resolve' if resolved else 'Reopen'} issue {marker_id}"
        self._previous: IssueMarker | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        current = doc.issue_marker(self.marker_id)
        updated = current.replace(resolved=self.resolved, resolved_by=self.who if self.resolved else "")
        self._previous = doc._put_issue(updated, replace=True)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._previous is not None
        doc._put_issue(self._previous, replace=True)


class DeleteIssueMarker(Command):
    """Remove an issue marker (restored by revert)."""

    def __init__(self, marker_id: int) -> None:
        self.marker_id = marker_id
        self.description = f"Delete issue {marker_id}"
        self._removed: IssueMarker | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        self._removed = doc._remove_issue(self.marker_id)

    def revert(self, doc: AnnotationDocument) -> None:
        assert self._removed is not None
        doc._put_issue(self._removed, replace=False)


class CommandGroup(Command):
    """Several commands as one step: applied in order, reverted in reverse order. If one fails
    during apply, the ones already applied are reverted and the error is re-raised."""

    def __init__(self, description: str, commands: Sequence[Command]) -> None:
        self.description = description
        self.commands = list(commands)

    def apply(self, doc: AnnotationDocument) -> None:
        done: list[Command] = []
        try:
            for cmd in self.commands:
                cmd.apply(doc)
                done.append(cmd)
        except BaseException:
            for cmd in reversed(done):
                cmd.revert(doc)
            raise

    def revert(self, doc: AnnotationDocument) -> None:
        for cmd in reversed(self.commands):
            cmd.revert(doc)


class UndoStack:
    """Applies commands to a document and keeps them for undo/redo.

    - ``push(cmd)`` applies ``cmd`` (raising, with the document unchanged, if it fails) and
      records it; redo history is dropped. Consecutive commands with the same ``merge_key``
      merge into one step until :meth:`break_merge`, an undo/redo or :meth:`mark_clean`.
    - ``with stack.group("Move boxes"):`` records every push inside as one step; nested groups
      fold into the outermost; an exception inside reverts the group's pushes and propagates.
    - ``amend(cmd, step)`` applies ``cmd`` as part of ``step`` while that is the top step (work a
      step started, such as tracking a new box, undone with it).
    - ``mark_clean()`` / ``is_clean`` track the saved state; ``limit`` caps the number of steps
      (oldest dropped). ``subscribe(callback)`` calls ``callback()`` whenever undo/redo
      availability, texts or the clean state may have changed.
    """

    def __init__(self, doc: AnnotationDocument, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"undo limit must be >= 1 or None, got {limit}")
        self.doc = doc
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean: int | None = 0  # len(_done) at the saved state; None: unreachable
        self._merge_open = False  # may the top step absorb a later push with its merge_key?
        self._group_cmds: list[Command] = []
        self._group_starts: list[int] = []
        self._group_text = ""
        self._listeners: list[Callable[[], None]] = []
        self._push_listeners: list[Callable[[Command, Command], None]] = []

    # ---- queries --------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._done) and not self._group_starts

    @property
    def can_redo(self) -> bool:
        return bool(self._undone) and not self._group_starts

    @property
    def undo_text(self) -> str:
        """Description of the step that ``undo()`` would revert ("" when none)."""
        return self._done[-1].description if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].description if self._undone else ""

    @property
    def is_clean(self) -> bool:
        """True when the document is in the state of the last :meth:`mark_clean` (e.g. saved)."""
        return self._clean == len(self._done) and not self._group_cmds

    @property
    def in_group(self) -> bool:
        return bool(self._group_starts)

    def __len__(self) -> int:
        """Number of undoable steps."""
        return len(self._done)

    def steps(self) -> list[str]:
        """Descriptions of the undoable steps, oldest first."""
        return [c.description for c in self._done]

    # ---- listeners ------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each push/undo/redo/clean change; returns an unsubscriber."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def on_push(self, callback: Callable[[Command, Command], None]) -> Callable[[], None]:
        """Call ``callback(cmd, step)`` after each push is recorded (a group's commands once, as
        the group, when it closes): ``step`` is the top step that now holds ``cmd`` (``cmd``
        itself, or the step it merged into). Undo and redo do not call it. Returns an
        unsubscriber."""
        self._push_listeners.append(callback)
        return lambda: self._push_listeners.remove(callback) if callback in self._push_listeners else None

    def _changed(self) -> None:
        for cb in list(self._listeners):
            cb()

    # ---- editing --------------------------------------------------------------------------------
    def push(self, cmd: Command) -> Command:
        """Apply ``cmd`` and record it as a step (or into the open group); returns ``cmd``."""
        cmd.apply(self.doc)  # raises with the document unchanged
        if self._group_starts:
            self._group_cmds.append(cmd)
            return cmd
        self._record(cmd, mergeable=True)
        self._pushed(cmd)
        return cmd

    def _pushed(self, cmd: Command) -> None:
        step = self.top
        if step is not None:
            for cb in list(self._push_listeners):
                cb(cmd, step)

    @property
    def top(self) -> Command | None:
        """The step :meth:`undo` would revert (None when there is none)."""
        return self._done[-1] if self._done else None

    def amend(self, cmd: Command, step: Command | None) -> bool:
        """Apply ``cmd`` as part of ``step`` when that is still the top step (the work a step
        started, e.g. tracking a new box: one undo reverts both); else, or when the top step is
        the saved state or a group is open, push ``cmd`` as its own step. Returns whether it was
        folded into ``step``."""
        if step is None or self.top is not step or self._group_starts or self._clean == len(self._done):
            self.push(cmd)
            return False
        cmd.apply(self.doc)  # raises with the document unchanged
        if self._undone:  # a new change: the redo history goes, as with push
            self._undone.clear()
            if self._clean is not None and self._clean > len(self._done):
                self._clean = None
        self._done[-1] = CommandGroup(step.description, [step, cmd])
        self._merge_open = False
        self._changed()
        return True

    def _record(self, cmd: Command, mergeable: bool) -> None:
        if self._undone:
            self._undone.clear()
            if self._clean is not None and self._clean > len(self._done):
                self._clean = None  # the saved state was in the dropped redo branch
        top = self._done[-1] if self._done else None
        if (
            mergeable
            and self._merge_open
            and top is not None
            and cmd.merge_key is not None
            and top.merge_key == cmd.merge_key
            and self._clean != len(self._done)  # never change the saved step
            and top.merge(cmd)
        ):
            self._changed()
            return
        self._done.append(cmd)
        self._merge_open = cmd.merge_key is not None
        if self.limit is not None and len(self._done) > self.limit:
            drop = len(self._done) - self.limit
            del self._done[:drop]
            if self._clean is not None:
                self._clean = self._clean - drop if self._clean >= drop else None
        self._changed()

    def break_merge(self) -> None:
        """End the current gesture: the next push starts a new step even with the same merge key."""
        self._merge_open = False

    @contextmanager
    def group(self, description: str) -> Iterator[None]:
        """Record every push inside the block as one step named ``description`` (nested groups
        fold into the outermost). On an exception the block's pushes are reverted (newest first)
        and the exception propagates; an empty group records nothing."""
        if not self._group_starts:
            self._group_text = description
        self._group_starts.append(len(self._group_cmds))
        ok = False
        try:
            yield
            ok = True
        finally:
            start = self._group_starts.pop()
            if not ok:
                for cmd in reversed(self._group_cmds[start:]):
                    cmd.revert(self.doc)
                del self._group_cmds[start:]
            if not self._group_starts:
                cmds, self._group_cmds = self._group_cmds, []
                if cmds:
                    group = CommandGroup(self._group_text, cmds)
                    self._record(group, mergeable=False)
                    self._pushed(group)

    def undo(self) -> bool:
        """Revert the last step; False when there is none."""
        self._check_not_in_group("undo")
        if not self._done:
            return False
        cmd = self._done[-1]
        cmd.revert(self.doc)
        self._done.pop()
        self._undone.append(cmd)
        self._merge_open = False
        self._changed()
        return True

    def redo(self) -> bool:
        """Re-apply the last undone step; False when there is none."""
        self._check_not_in_group("redo")
        if not self._undone:
            return False
        cmd = self._undone[-1]
        cmd.apply(self.doc)
        self._undone.pop()
        self._done.append(cmd)
        self._merge_open = False
        self._changed()
        return True

    def undo_all(self) -> int:
        """Undo every step; returns how many were undone."""
        n = 0
        while self.undo():
            n += 1
        return n

    def mark_clean(self) -> None:
        """The current state is the saved one (call after a successful save)."""
        self._check_not_in_group("mark clean")
        self._clean = len(self._done)
        self._merge_open = False
        self._changed()

    def clear(self) -> None:
        """Forget all history (the document is kept as it is, and counts as clean)."""
        self._check_not_in_group("clear")
        self._done.clear()
        self._undone.clear()
        self._clean = 0
        self._merge_open = False
        self._changed()

    def _check_not_in_group(self, what: str) -> None:
        if self._group_starts:
            raise RuntimeError(f"cannot {what} inside an open command group")


def _index(v: object) -> object:
    """numpy integers as Python ints (ids and frames stay JSON-ready); anything else unchanged."""
    return int(v) if isinstance(v, np.integer) else v
