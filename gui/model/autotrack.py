"""Auto-tracking of the window, Qt-free: ``T`` follows the selected track through the sequence,
``Shift+T`` every track with a keyframe, as a background job (progress and Cancel in the
*Auto-track* dock, the window stays usable); the result is applied as one undoable command on
the GUI thread. The lowest-confidence tracked boxes then fill the review list; ``I`` /
``Shift+I`` step through it (frame shown, track selected, BEV centred on the box).

The logic (what a run tracks, applying to a document edited meanwhile, the review queue) is
:mod:`fusionlabel.trackjob`; this module runs it through the model's job runner and keeps the
queue; ``gui/tracking.py`` is the dock bound to it. Points come from the session's own sequence
(``fusionlabel.autotrack.SweepPoints``: each sweep in the world frame, ground removed), read in
the worker thread. A track edited while the job ran keeps its edits and is named in the status
bar; the others get their result (docs/gui.md "Auto-track"). ``follow`` (``gui/model/follow.py``)
tracks new and edited boxes by itself; its results join the review list.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fusionlabel.autotrack import AutoTrackResult, Cancelled, SweepPoints
from fusionlabel.errors import ModelError
from fusionlabel.events import EventGroup
from fusionlabel.trackjob import (
    REVIEW_BELOW,
    REVIEW_LIMIT,
    ApplyOutcome,
    AutoTrackPlan,
    ReviewItem,
    TrackedReviewQueue,
    apply_results,
    plan_autotrack,
    run_plan,
)
from gui.model.follow import Follow
from gui.model.jobs import Job

if TYPE_CHECKING:
    from gui.model.viewer import ViewerModel


class AutoTrack:
    """Auto-tracking jobs and the tracked-box review queue on a :class:`~gui.model.ViewerModel`
    (see the module doc). Events: ``running(bool)``, ``progress((done, total))``,
    ``status(text)`` (the panel's line), ``items((items, open flags, current row))`` (the review
    list), ``stale()`` (the document changed: refresh the list soon), ``finished(outcome)`` when a
    run ends: the :class:`fusionlabel.trackjob.ApplyOutcome`, or None after a cancel or failure
    (``last_error`` says which). ``queue`` is the review queue of the last run. ``error(title,
    text)``: how a failure is shown (the window's dialog)."""

    def __init__(self, model: ViewerModel, error: Callable[[str, str], object] | None = None) -> None:
        self.model = model
        self.error = error
        self.events = EventGroup("running", "progress", "status", "items", "stale", "finished")
        self.queue = TrackedReviewQueue()
        #: tracked boxes below this confidence join the review list (at most ``review_limit``)
        self.review_below, self.review_limit = REVIEW_BELOW, REVIEW_LIMIT
        self.last_outcome: ApplyOutcome | None = None
        self.last_error: str | None = None
        self.last_results: dict[int, AutoTrackResult] = {}
        self._job: Job | None = None
        self._run: tuple[Any, AutoTrackPlan, float] | None = None  # session, plan, start time
        self._unsub: Callable[[], None] | None = None
        #: the automatic tracking of new and edited boxes (its results join the review list)
        self.follow = Follow(model, self._followed)

    # ---- session binding ------------------------------------------------------------------------
    def bind(self) -> None:
        """Follow the window's current document (after it changes): an empty review list."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.queue = TrackedReviewQueue()
        s = self.model.session
        if s is not None:
            self._unsub = s.doc.subscribe(lambda _e: self.events.stale.emit())
        self.follow.bind()
        self.refresh()

    def close(self) -> None:
        """Stop a running job (its result is dropped) and forget the review list."""
        self._stop()
        self.follow.close()
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.queue = TrackedReviewQueue()
        self.refresh()

    def _stop(self) -> None:
        if self._job is not None:
            self._job.cancel(drop=True)
            self._job.wait(30.0)  # stops at its next frame step
        self._job = None
        self._run = None
        self.events.running.emit(False)

    @property
    def running(self) -> bool:
        return self._run is not None

    def _say(self, text: str, ms: int = 8000) -> None:
        self.model.show_message(text, ms)

    # ---- starting -------------------------------------------------------------------------------
    def start_selected(self) -> bool:
        """Auto-track the selected track (a message when none is selected)."""
        if self.model.session is None:
            return False
        tid = self.model.selection
        if tid is None:
            self._say("Auto-track: select a track first (Shift+T tracks all of them)")
            return False
        return self.start([tid])

    def start(self, track_ids: list[int] | None = None) -> bool:
        """Auto-track ``track_ids`` (default: every track with a keyframe) over the whole sequence
        in a background thread; False (and a message) when refused: no session, a job running,
        nothing to track."""
        s = self.model.session
        if s is None:
            return False
        if self.running:
            self._say("Auto-track: a job is running (Cancel in the Auto-track panel)")
            return False
        try:
            plan = plan_autotrack(s.doc, len(s), track_ids, s.seq.frame_times_ns())
        except ModelError as e:
            self._say(str(e))
            return False
        self._run = (s, plan, time.perf_counter())
        self.last_error = None
        n = len(plan.seeds)
        what = f"track {plan.track_ids[0]}" if n == 1 else f"{n} tracks"
        self.events.running.emit(True)
        self.events.progress.emit((0, 1))
        self.events.status.emit(f"tracking {what} over {len(plan.frames)} frames ...")
        self._say(f"Auto-tracking {what} over {len(plan.frames)} frames (Cancel in the Auto-track panel) ...", 0)
        self._job = self.model.jobs.submit("autotrack", autotrack_work(plan, s.loaded, s.ontology),
                                               progress=self._on_progress, finished=self._on_finished)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop (at its next frame step); the document is not changed."""
        if self.running:
            self._job.cancel()  # type: ignore[union-attr]
            self.events.status.emit("cancelling ...")
            self._say("Auto-track: cancelling ...", 5000)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the job's thread ends (tests); its outcome still arrives through the event
        loop."""
        if self._job is not None:
            self._job.wait(timeout)

    # ---- outcome (GUI thread) -----------------------------------------------------------------
    def _on_progress(self, job: Job, done: int, total: int, _text: str) -> None:
        if job is not self._job or self._run is None:
            return
        self.events.progress.emit((min(done, max(total, 1)), max(total, 1)))

    def _end(self, job: Job) -> tuple[Any, AutoTrackPlan, float] | None:
        if job is not self._job or self._run is None:
            return None
        run = self._run
        self._run = None
        self._job = None
        self.events.running.emit(False)
        return run

    def _on_finished(self, job: Job) -> None:
        if job is not self._job:
            return
        if job.state != "done":
            self._on_failed(job)
            return
        self._on_done(job)

    def _on_done(self, job: Job) -> None:
        run = self._end(job)
        if run is None:
            return
        results: dict[int, AutoTrackResult] = job.result
        seconds = job.seconds
        session, plan, _t0 = run
        s = self.model.session
        if s is not session:  # another sequence was opened meanwhile (close() drops the run first)
            self.events.finished.emit(None)
            return
        try:
            outcome = apply_results(s.doc, s.undo, plan, results)
        except ModelError as e:
            self.last_error = str(e)
            self.events.status.emit(f"not applied: {e}")
            self._say(f"Auto-track not applied: {e}")
            self.events.finished.emit(None)
            return
        self.last_outcome = outcome
        self.last_results = {t: results[t] for t in outcome.applied}
        self.queue = TrackedReviewQueue.from_results(self.last_results.values(), self.review_below,
                                                     self.review_limit)
        n_boxes = sum(len(r.boxes) for r in self.last_results.values())
        n_lost = sum(len(r.lost) for r in self.last_results.values())
        below = f"below {self.review_below:.2f}"
        review = f"{len(self.queue)} {below} to check (I: next)" if len(self.queue) else f"none {below} to check"
        self.events.status.emit(f"{n_boxes} tracked boxes, {n_lost} frames lost, in {seconds:.1f} s; {review}"
                                  + (f"\n{outcome.message()}" if outcome.changed or outcome.deleted else ""))
        self._say(f"{outcome.message()} in {seconds:.1f} s; review: {review}", 15000)
        self.refresh()
        self.events.finished.emit(outcome)

    def _on_failed(self, job: Job) -> None:
        if self._end(job) is None:
            return
        message = job.error or job.state
        self.last_error = message
        if message == "cancelled":
            self.events.status.emit("cancelled; nothing changed")
            self._say("Auto-track cancelled; the annotations are unchanged")
        else:
            self.events.status.emit(f"failed: {message}")
            self._say("Auto-track failed; the annotations are unchanged")
            if self.error is not None:
                self.error("Auto-track failed", f"{message}\n\nNothing was changed.")
        self.events.finished.emit(None)

    def _followed(self, track_id: int, results: dict[int, AutoTrackResult]) -> None:
        """An automatic run's result was applied: its low-confidence boxes join the review list."""
        self.last_results[track_id] = results[track_id]
        self.queue = TrackedReviewQueue.from_results(self.last_results.values(), self.review_below,
                                                     self.review_limit)
        self.refresh()

    # ---- the review list ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the review list (fixed items greyed)."""
        s = self.model.session
        items = self.queue.items
        open_ = [s is not None and self.queue.is_open(s.doc, it) for it in items]
        self.events.items.emit((items, open_, self.queue.pos))

    def step(self, direction: int) -> bool:
        """Go to the next (+1) / previous (-1) tracked box still to check; a message when none."""
        s = self.model.session
        if s is None:
            return False
        if not self.queue.items:
            self._say("No tracked boxes to check: auto-track first (T, Shift+T)")
            return False
        item = self.queue.step(s.doc, direction)
        if item is None:
            n = len(self.queue.open_items(s.doc))
            self._say(f"No {'next' if direction >= 0 else 'previous'} tracked box to check ({n} open in the list)")
            return False
        self._show(item)
        return True

    def pick(self, index: int) -> None:
        """Jump to the list's row ``index``."""
        item = self.queue.select(index)
        if item is not None:
            self._show(item)

    def _show(self, item: ReviewItem) -> None:
        s = self.model.session
        ref = s.doc.box_at(item.track_id, item.frame) if item.track_id in s.doc else None
        loc = None if ref is None else tuple(float(v) for v in ref.box.center)
        self.model.review.jump_to(item.frame, item.track_id if ref is not None else None, loc)
        self.refresh()
        open_n = len(self.queue.open_items(s.doc))
        self._say(f"Check track {item.track_id} at frame {item.frame}: tracked with confidence "
                  f"{item.confidence:.2f} ({open_n} to check; I / Shift+I: next / previous)")


def autotrack_work(plan: AutoTrackPlan, loaded: Any, ontology: Any) -> Callable[[Job], dict[int, AutoTrackResult]]:
    """The auto-tracking job: run ``plan`` on the sequence's world points (stops at the next frame
    step when cancelled)."""

    def work(job: Job) -> dict[int, AutoTrackResult]:
        results = run_plan(plan, SweepPoints(loaded), progress=lambda d, t: job.report(d, t), ontology=ontology)
        if job.cancelled:
            raise Cancelled("auto-tracking cancelled")
        return results

    return work
