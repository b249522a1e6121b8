"""Proposal review, Qt-free: run ``fusionlabel.assist.prelabel`` as a background job (with progress,
the window stays responsive), draw the proposals styled apart from the human labels, and review them
from a dock and the keyboard (highest confidence first; "lowest first" turns the order round). This
is the *proposal review*, not the QA review of the annotation (gui/review.py). "Accept above"
(Shift+Y, Assist menu, the dock's button) accepts every proposal at or above the dock's threshold as
tracks in one undoable step. The proposal under review is centred in the BEV and the 3D view and
drawn highlighted there and in the cameras.

Proposals are not tracks (see docs/assist.md): they live in ``doc.proposals`` and become tracks only
through the undoable commands of ``fusionlabel.assist.review`` (accept, reject, edit), pushed on the
session's undo stack. Boxes are world-frame; the sweeps are read in the worker thread from the
session's ``LoadedSequence`` and moved to the world frame by ``frames_from_sequence``.

Style: a proposal is drawn in the BEV as a **dotted** pale-lilac footprint with a faint fill and
``p<id> <score>`` (human boxes: solid keyframes / dashed interpolated outlines in the class colour,
never filled except the selected one in white); the proposal under review is drawn thicker with a
stronger fill. In 3D: dashed pale-lilac wireframes with the same text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fusionlabel.assist import ReviewQueue, frames_from_sequence, prelabel, set_prelabels
from fusionlabel.assist.review import ACCEPT_THRESHOLD
from fusionlabel.document import AnnotationDocument, Proposal
from fusionlabel.errors import ModelError
from fusionlabel.events import EventGroup
from fusionlabel.ontology import Ontology
from fusionlabel.tools.select import pick_proposals
from gui.model.evented import Evented, Field
from gui.model.jobs import Job

if TYPE_CHECKING:
    from gui.model.viewer import ViewerModel

# ---- pre-labelling in a background job ------------------------------------------------------------
def prelabel_work(loaded: object, frames: Sequence[int], ontology: Ontology) -> Callable[[Job], object]:
    """The job running :func:`fusionlabel.assist.prelabel` over ``frames`` of a ``LoadedSequence``:
    it reports ``(n, total, "pre-labelling: frame n / total")`` and returns the
    ``PrelabelResult``. Sequences of independent frames (KITTI object) are not associated, as in
    ``fusionlabel prelabel``."""
    frames = list(frames)

    def work(job: Job) -> object:
        total = len(frames)
        inputs = frames_from_sequence(loaded, frames=frames)
        meta = getattr(getattr(loaded, "info", None), "meta", None) or {}
        return prelabel(inputs, ontology, independent_frames=bool(meta.get("independent_frames")),
                        progress=lambda n, _t: job.report(n, total, f"pre-labelling: frame {n} / {total}"))

    return work


def _unit(v: Any) -> float:
    x = float(v)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"threshold must be within 0..1, got {v!r}")
    return x


class ProposalReviewOptions(Evented):
    """The proposal review's settings (the dock binds to them)."""

    threshold = Field(ACCEPT_THRESHOLD, _unit, "confidence threshold of 'Accept above'")
    lowest_first = Field(False, bool, "review the least confident proposals first")


# ---- the model ------------------------------------------------------------------------------------
class ProposalReview:
    """Pre-labelling and proposal review on a :class:`~gui.model.ViewerModel` (see the module doc).

    ``queue`` is the document's :class:`~fusionlabel.assist.ReviewQueue` (its ``current`` is the
    proposal under review); ``running`` is True while a pre-labelling job runs. ``options``:
    threshold and order. Events: ``changed((proposals in review order, current id))`` (the
    dock's list), ``running(bool)``, ``look_at(world centre (3,) | None)`` (centre the views on
    the proposal under review, then redraw), ``finished(n)`` (proposals set by a pre-labelling
    run; -1: it failed). ``new_class()`` is the class chosen for new boxes (relabel);
    ``error(title, text)`` shows a failure (the window's dialog)."""

    def __init__(self, model: ViewerModel, new_class: Callable[[], str] | None = None,
                 error: Callable[[str, str], object] | None = None) -> None:
        self.model = model
        self.new_class = new_class
        self.error = error
        self.options = ProposalReviewOptions()
        self.events = EventGroup("changed", "running", "look_at", "finished")
        self.options.events.lowest_first.connect(self.set_lowest_first)
        self.options.events.threshold.connect(lambda _v: self.refresh())
        self.queue: ReviewQueue | None = None
        self._job: Job | None = None  # the pre-labelling job
        self.last_result: object = None
        self._press: tuple[float, float] | None = None

    # ---- session binding ------------------------------------------------------------------------
    def bind(self) -> None:
        """Follow the window's current document (call after it changes)."""
        self.close()
        s = self.model.session
        if s is None:
            return
        self.queue = ReviewQueue(s.doc, s.undo, attributes_for=s.ontology.default_attributes,
                                 lowest_first=self.options.lowest_first)
        self.refresh()

    def close(self) -> None:
        """Stop following the document (and wait for a running pre-labelling thread)."""
        self._finish_thread()
        if self.queue is not None:
            self.queue.close()
            self.queue = None
        self.events.changed.emit(([], None))

    @property
    def running(self) -> bool:
        return self._job is not None

    @property
    def current(self) -> Proposal | None:
        """The proposal under review, or None."""
        return self.queue.current if self.queue is not None else None

    def refresh(self) -> None:
        """Redraw the dock from the queue (after document changes)."""
        if self.queue is None:
            self.events.changed.emit(([], None))
            return
        self.queue.refresh()
        doc = self.queue.doc
        cur = self.queue.current
        self.events.changed.emit(([doc.proposals[i] for i in self.queue.ids()], cur.proposal_id if cur else None))

    def _say(self, text: str, ms: int = 6000) -> None:
        self.model.show_message(text, ms)

    # ---- pre-labelling --------------------------------------------------------------------------
    def start_prelabel(self, frames: Sequence[int] | None = None) -> bool:
        """Pre-label ``frames`` (default: every frame) as a background job; the proposals replace the
        document's (one undoable step, minus what human boxes cover) when it is done."""
        s = self.model.session
        if s is None or self.running:
            return False
        frames = list(range(len(s))) if frames is None else [int(f) for f in frames]
        self._t0 = time.perf_counter()
        self.model.progress.start(max(len(frames), 1), "pre-labelling")
        self.events.running.emit(True)
        self._say(f"pre-labelling {len(frames)} frames ...", 0)
        self._job = self.model.jobs.submit("prelabel", prelabel_work(s.loaded, frames, s.ontology),
                                               progress=self._on_progress, finished=self._on_finished)
        return True

    def _finish_thread(self) -> None:
        if self._job is not None:
            self._job.cancel(drop=True)  # the result is not wanted any more (or already here)
            self._job.wait()
            self._job = None
            self.model.progress.finish()
            self.events.running.emit(False)

    def _on_progress(self, job: Job, done: int, total: int, text: str) -> None:
        self.model.progress.update(done, max(total, 1), text)
        self._say(text, 0)

    def _on_finished(self, job: Job) -> None:
        self._finish_thread()
        if job.state != "done":
            self._on_failed(job.error or job.state)
            return
        s = self.model.session
        if s is None:
            return
        result = job.result
        self.last_result = result
        props = list(result.proposals)  # type: ignore[attr-defined]
        cmd = set_prelabels(s.doc, props, s.undo)
        n = len(cmd.proposals)
        self.refresh()
        self._say(f"pre-labelled in {time.perf_counter() - self._t0:.1f} s: {n} proposals "
                  f"({len(props) - n} dropped where human boxes are); review with J / Y / X", 12000)
        if n and self.queue is not None:  # review from the head of the queue
            self.pick(self.queue.ids()[0])
        self.events.finished.emit(n)

    def _on_failed(self, message: str) -> None:
        self._say(f"pre-labelling failed: {message}", 12000)
        if self.error is not None:
            self.error("Pre-labelling failed", message)
        self.events.finished.emit(-1)

    # ---- review ---------------------------------------------------------------------------------
    def show_current(self) -> None:
        """Go to a frame of the proposal under review (the nearest to the current frame), centre
        the BEV and the 3D view on its box there, and redraw (it is drawn highlighted)."""
        p = self.current
        if p is not None and p.boxes and self.model.frame not in p.boxes:
            self.model.set_frame(min(p.frames(), key=lambda f: abs(f - self.model.frame)))
        centre = None
        if p is not None and self.model.frame in p.boxes:
            centre = np.asarray(p.boxes[self.model.frame].center, dtype=np.float64)
        self.refresh()
        self.events.look_at.emit(centre)

    def set_lowest_first(self, lowest_first: bool) -> None:
        """Review order: lowest confidence first (True) or highest first (False)."""
        if self.options.lowest_first != bool(lowest_first):
            self.options.lowest_first = bool(lowest_first)  # comes back here through its event
            return
        if self.queue is not None:
            self.queue.set_lowest_first(lowest_first)
        self.refresh()

    def accept_above(self, threshold: float | None = None) -> bool:
        """Accept every proposal with confidence at or above ``threshold`` (default: the dock's)
        as tracks, one undoable step (:meth:`ReviewQueue.accept_above`)."""
        if self.queue is None or not len(self.queue):
            self._say("no proposals to review (Pre-label sequence first)")
            return False
        thr = self.options.threshold if threshold is None else float(threshold)
        try:
            cmd = self.queue.accept_above(thr)
        except ModelError as e:
            self._say(f"accept above {thr:.2f}: {e}", 8000)
            return False
        n = len(cmd.track_ids)
        self._say(f"accepted {n} proposal{'s' if n != 1 else ''} with confidence >= {thr:.2f} as tracks "
                  f"({len(self.queue)} left; Ctrl+Z undoes them all)" if n else f"no proposal at or above {thr:.2f}")
        self.show_current()
        return n > 0

    def reject_rest(self) -> bool:
        """Reject the proposal under review and every one after it in the queue, one undoable step
        (:meth:`ReviewQueue.reject_rest`)."""
        if self.queue is None or self.queue.current is None:
            self._say("no proposal to review")
            return False
        n = len(self.queue.reject_rest().proposal_ids)
        self._say(f"rejected the rest of the queue: {n} proposal{'s' if n != 1 else ''} ({len(self.queue)} left; "
                  "Ctrl+Z undoes them all)")
        self.show_current()
        return n > 0

    def pick(self, pid: int) -> None:
        """Make proposal ``pid`` the one under review."""
        if self.queue is None or pid not in self.queue.ids():
            return
        for _ in range(len(self.queue)):
            if self.queue.current is not None and self.queue.current.proposal_id == pid:
                break
            self.queue.next()
        self.show_current()

    def step(self, direction: int) -> bool:
        """Next (+1) / previous (-1) proposal in the queue; jumps to its frame."""
        if self.queue is None or not len(self.queue):
            self._say("no proposals to review (Pre-label sequence first)")
            return False
        self.queue.next() if direction > 0 else self.queue.previous()
        self.show_current()
        return True

    def _review(self, what: str) -> bool:
        if self.queue is None or self.queue.current is None:
            self._say("no proposal to review")
            return False
        p = self.queue.current
        try:
            if what == "accept":
                cmd = self.queue.accept()
                self.model.select(cmd.track_id)
                self._say(f"proposal {p.proposal_id} accepted as track {cmd.track_id} ({p.label})")
            elif what == "reject":
                self.queue.reject()
                self._say(f"proposal {p.proposal_id} rejected")
            else:
                label = self.new_class() if self.new_class is not None else ""
                if not label or label == p.label:
                    self._say(f"proposal {p.proposal_id} already is a {p.label} (choose the class in 'New boxes')")
                    return False
                self.queue.edit(label=label)
                self._say(f"proposal {p.proposal_id}: {p.label} -> {label}")
        except ModelError as e:
            self._say(f"proposal {p.proposal_id}: {e}", 8000)
            return False
        self.show_current()
        return True

    def accept(self) -> bool:
        """Accept the proposal under review (AcceptProposal): a new track, selected."""
        return self._review("accept")

    def reject(self) -> bool:
        """Reject the proposal under review (RejectProposal)."""
        return self._review("reject")

    def relabel(self) -> bool:
        """Give the proposal under review the class chosen for new boxes (EditProposal)."""
        return self._review("relabel")

    def proposal_at(self, doc: AnnotationDocument, frame: int, xy: Sequence[float]) -> int | None:
        """The proposal whose BEV footprint at ``frame`` holds world ``xy`` (the smallest one when
        several do), or None."""
        ids = pick_proposals(doc, frame, xy)
        return ids[0] if ids else None

    def on_bev_pointer(self, kind: str, xy: tuple[float, float], px_per_m: float) -> None:
        """BEV pointer events after the edit tool had them: a click (press and release within
        3 px) that selected no human box makes the proposal under it the one under review."""
        if kind == "press":
            self._press = xy
            return
        if kind != "release" or self._press is None:
            return
        press, self._press = self._press, None
        if np.hypot(xy[0] - press[0], xy[1] - press[1]) * px_per_m > 3.0 or self.model.selection is not None:
            return
        s = self.model.session
        pid = None if s is None else self.proposal_at(s.doc, self.model.frame, xy)
        if pid is not None:
            self.pick(pid)
            self._say(f"proposal {pid} under review: Y accept, X reject, L relabel, J next")
