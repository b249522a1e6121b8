"""Auto-tracking in the window: ``T`` follows the selected track through the sequence, ``Shift+T``
every track with a keyframe, in a background thread (progress bar and Cancel in the *Auto-track*
dock, the window stays usable); the result is applied as one undoable command on the GUI thread.
The lowest-confidence tracked boxes then fill the dock's review list; ``I`` / ``Shift+I`` step
through it (frame shown, track selected, BEV centred on the box).

The logic (what a run tracks, applying to a document edited meanwhile, the review queue) is
Qt-free in :mod:`fusionlabel.trackjob`; this module is the thin Qt part. Points come from the
session's own sequence (``fusionlabel.autotrack.SweepPoints``: each sweep in the world frame,
ground removed), read in the worker thread. A track edited while the job ran keeps its edits and
is named in the status bar; the others get their result (docs/gui.md "Auto-track").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.autotrack import AutoTrackResult, Cancelled, SweepPoints
from fusionlabel.errors import ModelError
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
from gui.model.jobs import Job

_DONE_COLOR = (140, 140, 140)


class TrackingPanel(QWidget):
    """The *Auto-track* dock: start buttons, progress with Cancel, and the review list (track,
    frame, confidence; lowest first). Emits ``picked(row)`` on a click or Enter."""

    picked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.track_button = QPushButton("Track selected", self)
        self.track_button.setToolTip("auto-track the selected track through the sequence (T)")
        self.all_button = QPushButton("Track all", self)
        self.all_button.setToolTip("auto-track every track with a keyframe (Shift+T)")
        row.addWidget(self.track_button)
        row.addWidget(self.all_button)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.status = QLabel("not run yet", self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["track", "frame", "conf"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(lambda it, _c: self.picked.emit(self.tree.indexOfTopLevelItem(it)))
        self.tree.itemActivated.connect(lambda it, _c: self.picked.emit(self.tree.indexOfTopLevelItem(it)))
        lay.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.prev_button = QPushButton("\u25c0", self)
        self.prev_button.setToolTip("previous low-confidence tracked box (Shift+I)")
        self.next_button = QPushButton("\u25b6", self)
        self.next_button.setToolTip("next low-confidence tracked box (I)")
        row.addWidget(self.prev_button)
        row.addWidget(self.next_button)
        lay.addLayout(row)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.track_button.setEnabled(not running)
        self.all_button.setEnabled(not running)

    def set_items(self, items: list[ReviewItem], open_: list[bool], current: int) -> None:
        """Rows in queue order; the fixed ones greyed; row ``current`` highlighted (-1: none)."""
        self.tree.clear()
        for it, is_open in zip(items, open_, strict=True):
            row = QTreeWidgetItem([str(it.track_id), str(it.frame), f"{it.confidence:.2f}"])
            if not is_open:
                for c in range(3):
                    row.setForeground(c, QBrush(QColor(*_DONE_COLOR)))
                row.setToolTip(0, "no longer a tracked box (fixed, deleted or re-tracked)")
            self.tree.addTopLevelItem(row)
        if 0 <= current < self.tree.topLevelItemCount():
            cur = self.tree.topLevelItem(current)
            self.tree.setCurrentItem(cur)
            self.tree.scrollToItem(cur)


class AutoTrackActions(QObject):
    """Auto-tracking jobs and the tracked-box review queue of a :class:`gui.app.MainWindow`
    (``win``; see the module doc). ``finished(outcome)`` is emitted when a run ends: the
    :class:`fusionlabel.trackjob.ApplyOutcome`, or None after a cancel or failure
    (``last_error`` says which). ``queue`` is the review queue of the last run."""

    finished = pyqtSignal(object)

    def __init__(self, win: Any) -> None:
        super().__init__(win)
        self.win = win
        self.panel = TrackingPanel()
        self.dock = QDockWidget("Auto-track", win)
        self.dock.setObjectName("autotrack")
        self.dock.setWidget(self.panel)
        self.queue = TrackedReviewQueue()
        #: tracked boxes below this confidence join the review list (at most ``review_limit``)
        self.review_below, self.review_limit = REVIEW_BELOW, REVIEW_LIMIT
        self.last_outcome: ApplyOutcome | None = None
        self.last_error: str | None = None
        self.last_results: dict[int, AutoTrackResult] = {}
        self._job: Job | None = None
        self._run: tuple[Any, AutoTrackPlan, float] | None = None  # session, plan, start time
        self._unsub: Callable[[], None] | None = None
        self._list_timer = QTimer(self)  # coalesces list refreshes after document edits
        self._list_timer.setSingleShot(True)
        self._list_timer.setInterval(100)
        self._list_timer.timeout.connect(self.refresh)
        p = self.panel
        p.track_button.clicked.connect(lambda: self.start_selected())
        p.all_button.clicked.connect(lambda: self.start())
        p.cancel_button.clicked.connect(lambda: self.cancel())
        p.next_button.clicked.connect(lambda: self.step(1))
        p.prev_button.clicked.connect(lambda: self.step(-1))
        p.picked.connect(self.pick)

    # ---- session binding ------------------------------------------------------------------------
    def bind(self) -> None:
        """Follow the window's current document (after it changes): an empty review list."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.queue = TrackedReviewQueue()
        s = self.win.session
        if s is not None:
            self._unsub = s.doc.subscribe(lambda _e: self._list_timer.start())
        self.refresh()

    def close(self) -> None:
        """Stop a running job (its result is dropped) and forget the review list."""
        self._stop()
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
        self.panel.set_running(False)

    @property
    def running(self) -> bool:
        return self._run is not None

    def _say(self, text: str, ms: int = 8000) -> None:
        self.win.model.show_message(text, ms)

    # ---- starting -------------------------------------------------------------------------------
    def start_selected(self) -> bool:
        """Auto-track the selected track (a message when none is selected)."""
        if self.win.session is None:
            return False
        tid = self.win.selection
        if tid is None:
            self._say("Auto-track: select a track first (Shift+T tracks all of them)")
            return False
        return self.start([tid])

    def start(self, track_ids: list[int] | None = None) -> bool:
        """Auto-track ``track_ids`` (default: every track with a keyframe) over the whole sequence
        in a background thread; False (and a message) when refused: no session, a job running,
        nothing to track."""
        s = self.win.session
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
        self.panel.set_running(True)
        self.panel.bar.setRange(0, 1)
        self.panel.bar.setValue(0)
        self.panel.status.setText(f"tracking {what} over {len(plan.frames)} frames ...")
        self.dock.show()
        self.dock.raise_()
        self._say(f"Auto-tracking {what} over {len(plan.frames)} frames (Cancel in the Auto-track panel) ...", 0)
        self._job = self.win.model.jobs.submit("autotrack", autotrack_work(plan, s.loaded, s.ontology),
                                               progress=self._on_progress, finished=self._on_finished)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop (at its next frame step); the document is not changed."""
        if self.running:
            self._job.cancel()  # type: ignore[union-attr]
            self.panel.status.setText("cancelling ...")
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
        self.panel.bar.setRange(0, max(total, 1))
        self.panel.bar.setValue(min(done, max(total, 1)))

    def _end(self, job: Job) -> tuple[Any, AutoTrackPlan, float] | None:
        if job is not self._job or self._run is None:
            return None
        run = self._run
        self._run = None
        self._job = None
        self.panel.set_running(False)
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
        s = self.win.session
        if s is not session:  # another sequence was opened meanwhile (close() drops the run first)
            self.finished.emit(None)
            return
        try:
            outcome = apply_results(s.doc, s.undo, plan, results)
        except ModelError as e:
            self.last_error = str(e)
            self.panel.status.setText(f"not applied: {e}")
            self._say(f"Auto-track not applied: {e}")
            self.finished.emit(None)
            return
        self.last_outcome = outcome
        self.last_results = {t: results[t] for t in outcome.applied}
        self.queue = TrackedReviewQueue.from_results(self.last_results.values(), self.review_below,
                                                     self.review_limit)
        n_boxes = sum(len(r.boxes) for r in self.last_results.values())
        n_lost = sum(len(r.lost) for r in self.last_results.values())
        below = f"below {self.review_below:.2f}"
        review = f"{len(self.queue)} {below} to check (I: next)" if len(self.queue) else f"none {below} to check"
        self.panel.status.setText(f"{n_boxes} tracked boxes, {n_lost} frames lost, in {seconds:.1f} s; {review}"
                                  + (f"\n{outcome.message()}" if outcome.changed or outcome.deleted else ""))
        self._say(f"{outcome.message()} in {seconds:.1f} s; review: {review}", 15000)
        self.refresh()
        self.finished.emit(outcome)

    def _on_failed(self, job: Job) -> None:
        if self._end(job) is None:
            return
        message = job.error or job.state
        self.last_error = message
        if message == "cancelled":
            self.panel.status.setText("cancelled; nothing changed")
            self._say("Auto-track cancelled; the annotations are unchanged")
        else:
            self.panel.status.setText(f"failed: {message}")
            self._say("Auto-track failed; the annotations are unchanged")
            self.win.prompter.error(self.win, "Auto-track failed", f"{message}\n\nNothing was changed.")
        self.finished.emit(None)

    # ---- the review list ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the review list (fixed items greyed)."""
        s = self.win.session
        items = self.queue.items
        open_ = [s is not None and self.queue.is_open(s.doc, it) for it in items]
        self.panel.set_items(items, open_, self.queue.pos)

    def step(self, direction: int) -> bool:
        """Go to the next (+1) / previous (-1) tracked box still to check; a message when none."""
        s = self.win.session
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
        s = self.win.session
        ref = s.doc.box_at(item.track_id, item.frame) if item.track_id in s.doc else None
        loc = None if ref is None else tuple(float(v) for v in ref.box.center)
        self.win.review.jump_to(item.frame, item.track_id if ref is not None else None, loc)
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
