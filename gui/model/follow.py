"""Automatic tracking in the window, Qt-free: a new box tracks itself through the sequence, an edited
box re-tracks the frames up to its neighbouring keyframes (``fusionlabel.follow``).

Every step pushed on the session's undo stack is looked at (``UndoStack.on_push``); what it asks
for (:func:`fusionlabel.follow.requests_for`, under the View toggles ``model.view.auto_track_new``
and ``model.view.auto_track_edits``, Assist menu) is queued, one run per track (a later request
for a track replaces its queued one), and run one at a time through the model's job runner: the
plan is taken on the GUI thread, the tracking (and a new track's finish: heading, size, motion
state) in the worker on the session's world sweeps, and the result applied on the GUI thread as
part of the step that asked for it (one undo removes the box and its tracking, or the edit and
its re-tracking). A track edited again while its run was going keeps the edit; its new request
runs next. The status line says what was done; the tracked boxes below the review confidence
join the auto-track review list (``I``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fusionlabel.autotrack import Cancelled, SweepPoints
from fusionlabel.commands import Command
from fusionlabel.errors import ModelError
from fusionlabel.follow import (
    FollowOptions,
    FollowPlan,
    FollowRequest,
    apply_follow,
    plan_follow,
    requests_for,
    run_follow,
)
from gui.model.jobs import Job

if TYPE_CHECKING:
    from gui.model.viewer import ViewerModel


class Follow:
    """The automatic tracking of one window (see the module doc). ``on_applied(track_id,
    results)`` is called after a run's result was applied (the auto-track part refreshes its
    review list); ``pending`` the queued requests, ``running`` whether a run is going."""

    def __init__(self, model: ViewerModel, on_applied: Callable[[int, dict[int, Any]], None] | None = None) -> None:
        self.model = model
        self.on_applied = on_applied
        self.pending: list[tuple[FollowRequest, Command]] = []
        self._job: Job | None = None
        self._run: tuple[Any, FollowPlan, Command] | None = None
        self._unsub: Callable[[], None] | None = None
        self._points: tuple[Any, SweepPoints, SweepPoints] | None = None  # session, ground-free, whole

    # ---- binding --------------------------------------------------------------------------------
    def bind(self) -> None:
        """Watch the current session's undo stack (after the session changes)."""
        self.close()
        s = self.model.session
        if s is not None:
            self._unsub = s.undo.on_push(self._pushed)

    def close(self) -> None:
        """Stop watching, drop the queue and a running job (its result is dropped)."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self.pending = []
        if self._job is not None:
            self._job.cancel(drop=True)
        self._job = self._run = None
        self._points = None

    @property
    def running(self) -> bool:
        return self._run is not None

    def options(self) -> FollowOptions:
        v = self.model.view
        return FollowOptions(on_create=bool(v.auto_track_new), on_edit=bool(v.auto_track_edits),
                             on_accept=bool(v.auto_track_new),
                             finish=bool(v.auto_track_new))

    # ---- requests -------------------------------------------------------------------------------
    def _pushed(self, cmd: Command, step: Command) -> None:
        s = self.model.session
        if s is None:
            return
        for req in requests_for(s.doc, cmd, len(s), self.options()):
            self.pending = [(r, st) for r, st in self.pending if r.track_id != req.track_id]
            self.pending.append((req, step))
        self._next()

    def _sweeps(self, s: Any) -> tuple[SweepPoints, SweepPoints]:
        """The session's world sweeps (ground-free for the fits; whole for the size), kept between
        runs so that each sweep is read once."""
        if self._points is None or self._points[0] is not s:
            self._points = (s, SweepPoints(s.loaded), SweepPoints(s.loaded, remove_ground=False, cache=24))
        return self._points[1], self._points[2]

    def _next(self) -> None:
        s = self.model.session
        while self._run is None and self.pending and s is not None:
            req, step = self.pending.pop(0)
            try:
                fp = plan_follow(s.doc, len(s), req, s.seq.frame_times_ns())
            except ModelError:
                continue
            fit, whole = self._sweeps(s)
            self._run = (s, fp, step)
            what = "tracking the new box" if req.reason == "created" else "re-tracking around the edit"
            self.model.show_message(f"Track {req.track_id}: {what} (frames {req.frames[0]}-{req.frames[1]}) ...", 0)
            onto = s.ontology

            def work(job: Job, fp: FollowPlan = fp, fit: Any = fit, whole: Any = whole, onto: Any = onto) -> Any:
                out = run_follow(fp, fit, full_points_at=whole, ontology=onto,
                                 progress=lambda d, t: job.report(d, t))
                if job.cancelled:
                    raise Cancelled("automatic tracking cancelled")
                return out

            self._job = self.model.jobs.submit("follow", work, finished=self._finished)

    def _finished(self, job: Job) -> None:
        if job is not self._job or self._run is None:
            return
        session, fp, step = self._run
        self._job = self._run = None
        s = self.model.session
        if s is session and job.state == "done":
            out = apply_follow(s.undo, fp, job.result, step)
            tid = fp.request.track_id
            if out.applied:
                fin = job.result.finish
                extra = ""
                if fin is not None and (fin.flip or fin.size is not None):
                    extra = "; " + ", ".join(x for x in (f"turned round ({fin.heading})" if fin.flip else "",
                                                        "one size" if fin.size is not None else "") if x)
                n = len(job.result.results[tid].boxes)
                if fin is not None and fin.hold is not None:  # one pose for the whole track
                    n = len(fin.hold_confidence)
                    state = f" ({fin.state[1]})" if fin.state is not None and fin.state[1] else ""
                    extra += f"; held still{state}: one place at every frame"
                self.model.show_message(f"Track {tid}: {n} tracked boxes{extra} (Ctrl+Z undoes it with the "
                                        f"{'box' if fp.request.reason == 'created' else 'edit'})", 6000)
                if self.on_applied is not None:
                    self.on_applied(tid, job.result.results)
            elif out.changed:
                again = any(r.track_id == tid for r, _ in self.pending)
                self.model.show_message(f"Track {tid} changed while it was tracked: "
                                        f"{'tracking it again' if again else 'left as edited (T tracks it)'}", 3000)
        elif job.state == "failed":
            self.model.show_message(f"Automatic tracking failed: {job.error}", 8000)
        self._next()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running job's thread ends (tests); its result still arrives through the
        job runner's delivery."""
        if self._job is not None:
            self._job.wait(timeout)
