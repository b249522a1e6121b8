"""Reviewing map proposals (lane-paint and curb extraction results) before they become map
elements: undoable set / accept / reject commands and a review queue, the map counterpart of
``fusionlabel.assist.review`` for box proposals.

The proposals of a document live in a :class:`MapProposalSet` kept beside the document
(:func:`map_proposals`; in memory: they are not written to the project file, the assist makes them
again). Every change goes through a :class:`~fusionlabel.commands.Command` on the document's undo
stack, so accept, reject, undo and redo keep the proposals and the map elements consistent:

- :class:`SetMapProposals`: replace the proposals (an extraction run), map elements untouched;
- :class:`AcceptMapProposals`: proposals become map elements (fresh element ids, kept for redo)
  and leave the set;
- :class:`RejectMapProposals`: proposals leave the set.

:class:`MapProposalQueue` orders them highest confidence first and reviews them one by one (accept,
reject, next, previous), or many in one undoable step (accept above a threshold, reject the rest).
Geometry is world frame (metres), as the elements'.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence

from fusionlabel.commands import Command, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.map.element import MapElement
from fusionlabel.map.extract import MapProposal

__all__ = ["AcceptMapProposals", "MapProposalQueue", "MapProposalSet", "RejectMapProposals",
           "SetMapProposals", "map_proposals"]


class MapProposalSet:
    """The map proposals of one document by proposal id (``proposals``: id -> :class:`MapProposal`;
    the element's own id is ignored until accepted). Change it through the commands;
    ``subscribe(fn)`` calls ``fn()`` after every change and returns the unsubscribe function."""

    def __init__(self) -> None:
        self.proposals: dict[int, MapProposal] = {}
        self._listeners: list[Callable[[], None]] = []

    def __len__(self) -> int:
        return len(self.proposals)

    def subscribe(self, fn: Callable[[], None]) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _changed(self) -> None:
        for fn in list(self._listeners):
            fn()

    def _put(self, items: dict[int, MapProposal]) -> None:
        clash = set(items) & set(self.proposals)
        if clash:
            raise ModelError(f"map proposal ids already in use: {sorted(clash)}")
        self.proposals.update(items)
        self._changed()

    def _take(self, ids: Iterable[int]) -> dict[int, MapProposal]:
        ids = list(ids)
        missing = [i for i in ids if i not in self.proposals]
        if missing:
            raise ModelError(f"no map proposal with id {missing[0]}")
        out = {i: self.proposals.pop(i) for i in ids}
        self._changed()
        return out


_SETS: weakref.WeakKeyDictionary[AnnotationDocument, MapProposalSet] = weakref.WeakKeyDictionary()


def map_proposals(doc: AnnotationDocument) -> MapProposalSet:
    """The map proposals kept beside ``doc`` (an empty set the first time)."""
    s = _SETS.get(doc)
    if s is None:
        s = _SETS[doc] = MapProposalSet()
    return s


class SetMapProposals(Command):
    """Replace every map proposal of the document by ``proposals`` (ids 0, 1, ... in the given
    order); the map elements are not touched."""

    def __init__(self, proposals: Sequence[MapProposal]) -> None:
        self.new = dict(enumerate(proposals))
        self.description = f"Set {len(self.new)} map proposals"
        self._old: dict[int, MapProposal] = {}

    def apply(self, doc: AnnotationDocument) -> None:
        s = map_proposals(doc)
        self._old = s._take(list(s.proposals))
        s._put(dict(self.new))

    def revert(self, doc: AnnotationDocument) -> None:
        s = map_proposals(doc)
        s._take(list(self.new))
        s._put(dict(self._old))


class AcceptMapProposals(Command):
    """Map proposals ``ids`` become map elements (their class, vertices and attributes; fresh
    element ids picked at the first apply and kept for redo: ``element_ids``) and leave the set."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = [int(i) for i in ids]
        if not self.ids:
            raise ModelError("no map proposal to accept")
        self.element_ids: list[int] = []
        self.description = (f"Accept map proposal {self.ids[0]}" if len(self.ids) == 1
                            else f"Accept {len(self.ids)} map proposals")
        self._taken: dict[int, MapProposal] = {}

    def apply(self, doc: AnnotationDocument) -> None:
        s = map_proposals(doc)
        taken = s._take(self.ids)
        fresh = not self.element_ids
        added: list[int] = []
        try:
            for k, pid in enumerate(self.ids):
                eid = doc.new_map_element_id() if fresh else self.element_ids[k]
                doc._put_map_element(taken[pid].element.replace(element_id=eid), replace=False)
                added.append(eid)
        except ModelError:
            for eid in added:
                doc._remove_map_element(eid)
            s._put(taken)
            raise
        self.element_ids, self._taken = added, taken

    def revert(self, doc: AnnotationDocument) -> None:
        for eid in reversed(self.element_ids):
            doc._remove_map_element(eid)
        map_proposals(doc)._put(dict(self._taken))


class RejectMapProposals(Command):
    """Map proposals ``ids`` leave the set (restored by revert)."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = [int(i) for i in ids]
        if not self.ids:
            raise ModelError("no map proposal to reject")
        self.description = (f"Reject map proposal {self.ids[0]}" if len(self.ids) == 1
                            else f"Reject {len(self.ids)} map proposals")
        self._taken: dict[int, MapProposal] = {}

    def apply(self, doc: AnnotationDocument) -> None:
        self._taken = map_proposals(doc)._take(self.ids)

    def revert(self, doc: AnnotationDocument) -> None:
        map_proposals(doc)._put(dict(self._taken))


class MapProposalQueue:
    """The map proposals of ``doc`` in review order (highest confidence first; ties by id) with a
    ``current`` one; verbs push undoable commands on ``undo``. The current proposal follows the
    set: after an accept or reject it is the next one in order; after undo the queue refreshes."""

    def __init__(self, doc: AnnotationDocument, undo: UndoStack) -> None:
        self.doc, self.undo = doc, undo
        self.set = map_proposals(doc)
        self._current: int | None = None
        self.refresh()

    def __len__(self) -> int:
        return len(self.set)

    def ids(self) -> list[int]:
        """Proposal ids in review order."""
        p = self.set.proposals
        return sorted(p, key=lambda i: (-p[i].confidence, i))

    def refresh(self) -> None:
        """Keep ``current`` on an existing proposal (the first in order when it left)."""
        ids = self.ids()
        if self._current not in ids:
            self._current = ids[0] if ids else None

    @property
    def current(self) -> int | None:
        """The id of the proposal under review, or None."""
        self.refresh()
        return self._current

    def proposal(self, pid: int) -> MapProposal:
        try:
            return self.set.proposals[pid]
        except KeyError:
            raise ModelError(f"no map proposal with id {pid}") from None

    def pick(self, pid: int) -> None:
        """Make ``pid`` the proposal under review."""
        self.proposal(pid)
        self._current = pid

    def step(self, direction: int) -> int | None:
        """Next (+1) or previous (-1) proposal, wrapping round; returns it."""
        ids = self.ids()
        if not ids:
            return None
        cur = self.current
        k = ids.index(cur) if cur in ids else 0
        self._current = ids[(k + (1 if direction > 0 else -1)) % len(ids)]
        return self._current

    def _after(self, ids: list[int], cmd: Command) -> Command:
        """Push ``cmd`` that removes ``ids``; the current one moves to the next proposal left."""
        order = self.ids()
        cur = self.current
        nxt = None
        if cur is not None:
            rest = order[order.index(cur):] + order[:order.index(cur)]
            nxt = next((i for i in rest if i not in ids), None)
        self.undo.push(cmd)
        self._current = nxt
        self.refresh()
        return cmd

    def accept(self) -> AcceptMapProposals:
        """Accept the current proposal as a map element (one undoable step)."""
        cur = self.current
        if cur is None:
            raise ModelError("no map proposal to review")
        return self._after([cur], AcceptMapProposals([cur]))  # type: ignore[return-value]

    def reject(self) -> RejectMapProposals:
        """Reject the current proposal (one undoable step)."""
        cur = self.current
        if cur is None:
            raise ModelError("no map proposal to review")
        return self._after([cur], RejectMapProposals([cur]))  # type: ignore[return-value]

    def accept_above(self, threshold: float) -> AcceptMapProposals | None:
        """Accept every proposal with confidence >= ``threshold`` in one undoable step (None: none)."""
        ids = [i for i in self.ids() if self.set.proposals[i].confidence >= threshold]
        return None if not ids else self._after(ids, AcceptMapProposals(ids))  # type: ignore[return-value]

    def reject_rest(self) -> RejectMapProposals | None:
        """Reject the current proposal and every one after it in review order (one step)."""
        ids, cur = self.ids(), self.current
        if cur is None:
            return None
        rest = ids[ids.index(cur):]
        return self._after(rest, RejectMapProposals(rest))  # type: ignore[return-value]


def proposal_elements(queue: MapProposalQueue) -> list[tuple[int, MapElement, float]]:
    """``(proposal id, element, confidence)`` in review order (for drawing and listing)."""
    return [(i, queue.set.proposals[i].element, queue.set.proposals[i].confidence) for i in queue.ids()]
