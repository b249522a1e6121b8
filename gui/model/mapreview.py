"""Map proposals in the window, Qt-free (``model.map.proposals``): the lane-paint and kerb assist
run as a background job on the session's sweeps (``fusionlabel.map.assist``), its proposals are
set in one undoable step and reviewed like box proposals, highest confidence first: accept (the
proposal becomes a map element), reject, next / previous, accept every one at or above a threshold,
reject the rest; each an undoable command (``fusionlabel.map.review``) on the session's undo stack.

``layer``: a :class:`~gui.model.layers.PolylineLayer` (``"map_proposals"``, proposal style: dotted
pale lilac, the one under review white and wider) in every view. Events: ``changed((rows, current
id))`` with rows ``(proposal id, class, confidence, length m)`` in review order (the dock's list),
``look_at(world centre (3,) | None)`` (the window centres its views on the one under review).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fusionlabel.errors import ModelError
from fusionlabel.events import EventGroup
from fusionlabel.map.assist import ASSIST_KINDS, map_assist
from fusionlabel.map.review import MapProposalQueue, SetMapProposals
from gui.model.layers import MapElement as PlainElement
from gui.model.layers import PolylineLayer

#: Default confidence threshold of "accept above" for map proposals.
MAP_ACCEPT_THRESHOLD = 0.6
#: Sweeps the assist reads (spread over the sequence; all when fewer).
ASSIST_SWEEPS = 50


class MapProposalWork:
    """See the module doc. ``model`` the window's ``ViewerModel`` (its session, jobs, status line)."""

    def __init__(self, model: Any, message: Callable[[str], None] | None = None) -> None:
        self.model = model
        self.message = message or (lambda _t: None)
        self.layer = PolylineLayer("map_proposals", style="proposal")
        self.events = EventGroup("changed", "look_at")
        self.queue: MapProposalQueue | None = None
        self.threshold = MAP_ACCEPT_THRESHOLD
        self.job: Any = None
        self._unsub: Callable[[], None] | None = None
        self._doc: Any = None

    # ---- binding --------------------------------------------------------------------------------
    def bind(self) -> None:
        """Follow the session's document (call after a session is loaded)."""
        s = getattr(self.model, "session", None)
        if s is None or s.doc is self._doc:
            return
        self.unbind()
        self._doc = s.doc
        self.queue = MapProposalQueue(s.doc, s.undo)
        self._unsub = self.queue.set.subscribe(self.refresh)
        self.refresh()

    def unbind(self) -> None:
        if self._unsub is not None:
            self._unsub()
        self._unsub, self.queue, self._doc = None, None, None
        self.layer.set_data(())

    def refresh(self) -> None:
        """Redraw the layer and the dock's list from the queue."""
        q = self.queue
        if q is None:
            self.layer.set_data(())
            self.events.changed.emit(([], None))
            return
        q.refresh()
        cur = q.current
        rows, items = [], []
        for pid in q.ids():
            p = q.set.proposals[pid]
            rows.append((pid, p.element.label, p.confidence, float(p.details.get("length_m", p.element.length()))))
            items.append(PlainElement(pid, p.element.label, p.element.vertices, p.element.closed))
        self.layer.selected = () if cur is None else (cur,)
        self.layer.set_data(items)
        self.events.changed.emit((rows, cur))

    # ---- the assist ------------------------------------------------------------------------------
    def start_extract(self, kind: str, sweeps: int = ASSIST_SWEEPS) -> bool:
        """Run the ``kind`` assist ("lanes" or "curbs") on ``sweeps`` sweeps spread over the
        sequence in a background job; its proposals replace the map proposals (one undo step)."""
        if kind not in ASSIST_KINDS:
            raise ValueError(f"unknown map assist {kind!r}")
        m = self.model
        s = getattr(m, "session", None)
        if s is None or self.job is not None:
            return False
        from fusionlabel.map.accumulate import pick_frames

        loaded, frames = s.loaded, pick_frames(len(s), sweeps)
        what = "lane lines" if kind == "lanes" else "kerbs"

        def work(job: Any) -> Any:
            return map_assist(loaded, kind, frames, progress=lambda d, t: job.report(d, t, f"extracting {what}"))

        def finished(job: Any) -> None:
            self.job = None
            if m.session is not s:
                return
            if job.state != "done":
                self.message(f"extracting {what} failed: {job.error or job.state}")
                return
            self.set_proposals(job.result)
            self.message(f"{len(job.result)} {what} proposed from {len(frames)} sweeps; review them in the "
                         "Map proposals tab (accept / reject)")

        self.message(f"extracting {what} from {len(frames)} sweeps ...")
        self.job = m.jobs.submit(f"map-{kind}", work, finished=finished)
        return True

    def set_proposals(self, proposals: list[Any]) -> None:
        """Replace the map proposals (one undoable step) and review from the first."""
        self.bind()
        s = self.model.session
        if s is None or self.queue is None or (not proposals and not len(self.queue)):
            return  # nothing found and nothing to replace: no empty undo step
        s.undo.push(SetMapProposals(proposals))
        self.show_current()

    # ---- review ----------------------------------------------------------------------------------
    def show_current(self) -> None:
        """Redraw and centre the views on the proposal under review."""
        self.refresh()
        q = self.queue
        cur = None if q is None else q.current
        if cur is None:
            self.events.look_at.emit(None)
            return
        v = q.set.proposals[cur].element.vertices  # type: ignore[union-attr]
        self.events.look_at.emit(np.asarray(v[len(v) // 2], dtype=np.float64))

    def _verb(self, what: str) -> bool:
        q = self.queue
        if q is None or q.current is None:
            self.message("no map proposals to review (Map > Extract lane lines / kerbs first)")
            return False
        try:
            if what == "accept":
                cmd = q.accept()
                self.message(f"map proposal accepted as map element {cmd.element_ids[0]} ({len(q)} left)")
            elif what == "reject":
                q.reject()
                self.message(f"map proposal rejected ({len(q)} left)")
            elif what == "accept_above":
                acc = q.accept_above(self.threshold)
                n = 0 if acc is None else len(acc.element_ids)
                self.message(f"accepted {n} map proposals with confidence >= {self.threshold:.2f} ({len(q)} left; "
                             "Ctrl+Z undoes them all)")
            elif what == "reject_rest":
                rej = q.reject_rest()
                self.message(f"rejected {0 if rej is None else len(rej.ids)} map proposals (Ctrl+Z undoes them all)")
            else:
                q.step(1 if what == "next" else -1)
        except ModelError as e:
            self.message(f"map proposal: {e}")
            return False
        self.show_current()
        return True

    def accept(self) -> bool:
        """Accept the proposal under review: it becomes a map element (AcceptMapProposals)."""
        return self._verb("accept")

    def reject(self) -> bool:
        """Reject the proposal under review (RejectMapProposals)."""
        return self._verb("reject")

    def next(self) -> bool:
        return self._verb("next")

    def previous(self) -> bool:
        return self._verb("previous")

    def accept_above(self) -> bool:
        """Accept every proposal with confidence >= ``threshold`` (one undo step)."""
        return self._verb("accept_above")

    def reject_rest(self) -> bool:
        """Reject the proposal under review and all after it (one undo step)."""
        return self._verb("reject_rest")

    def pick(self, pid: int) -> None:
        """Make proposal ``pid`` the one under review (the dock's list, a click on it)."""
        if self.queue is not None and pid in self.queue.set.proposals:
            self.queue.pick(pid)
            self.show_current()
