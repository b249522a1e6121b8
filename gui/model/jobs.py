"""The window's one background-job runner, Qt-free: loading, pre-labelling, export, the QA checks
and auto-tracking all run through :meth:`JobRunner.submit`.

``submit(name, fn, progress=..., finished=...)`` runs ``fn(job)`` in a daemon thread. The work
reports with ``job.report(done, total, text)`` and looks at ``job.cancelled`` (or calls
``job.check()``, which raises :class:`JobCancelled`) to stop early; ``job.cancel()`` asks it to.
What it reports reaches the consumer through ``deliver``: the ``progress(job, done, total, text)``
and ``finished(job)`` callbacks and the runner's events (``events.started(job)``,
``events.progress(job)``, ``events.finished(job)``) run on the consumer's thread. ``job.state`` is
then ``"done"`` (``job.result``), ``"failed"`` (``job.error``, ``"Type: message"``) or
``"cancelled"``; ``job.seconds`` the run time.

``deliver(call)`` hands a zero-argument callable to the consumer's thread. The default queues it
until :meth:`JobRunner.process` is called (headless tests, scripts); the window's Qt adapter
(``gui/qt/jobs.py``) posts it to the GUI thread's event loop. A job dropped with
``cancel(drop=True)`` (its consumer went away: the session closed) delivers nothing more.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fusionlabel.events import EventGroup

#: ``progress(job, done, total, text)`` on the consumer's thread.
ProgressCallback = Callable[["Job", int, int, str], object]
#: ``finished(job)`` on the consumer's thread (``job.state``: done, failed or cancelled).
FinishedCallback = Callable[["Job"], object]


class JobCancelled(Exception):
    """Raised by :meth:`Job.check` (or by the work itself) when the job was asked to stop."""


@dataclass(eq=False)
class Job:
    """One background job (see the module doc). Written by the runner; read by the consumer on
    its thread once ``finished`` was delivered."""

    id: int
    name: str
    state: str = "running"
    result: Any = None
    error: str | None = None
    seconds: float = 0.0
    dropped: bool = False
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _runner: JobRunner | None = field(default=None, repr=False)

    # ---- the work's side (worker thread) ---------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`JobCancelled` when the job was asked to stop."""
        if self._cancel.is_set():
            raise JobCancelled(self.name)

    def report(self, done: int, total: int = 0, text: str = "") -> bool:
        """Progress: ``done`` of ``total`` steps (0: unknown) and what is being done. Returns
        False when the job was asked to stop (a callback that answers "go on?")."""
        if self._runner is not None and not self.dropped:
            self._runner._deliver_progress(self, int(done), int(total), str(text))
        return not self._cancel.is_set()

    # ---- the consumer's side ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.state == "running"

    def cancel(self, drop: bool = False) -> None:
        """Ask the work to stop at its next check; ``drop``: deliver nothing more of it."""
        self._cancel.set()
        if drop:
            self.dropped = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work's thread ends (tests, shutdown); True when it has. Its outcome
        still arrives through ``deliver``."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True


class JobRunner:
    """Runs jobs in daemon threads and delivers what they report on the consumer's thread (see
    the module doc). ``deliver``: how a callable reaches that thread (default: queued until
    :meth:`process`)."""

    def __init__(self, deliver: Callable[[Callable[[], None]], object] | None = None) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._deliver = deliver if deliver is not None else self._queue.put
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._callbacks: dict[int, tuple[ProgressCallback | None, FinishedCallback | None]] = {}
        self.events = EventGroup("started", "progress", "finished")

    # ---- consumer thread -------------------------------------------------------------------------
    def submit(self, name: str, fn: Callable[[Job], Any], progress: ProgressCallback | None = None,
               finished: FinishedCallback | None = None) -> Job:
        """Run ``fn(job)`` in a daemon thread named ``name``; returns the :class:`Job` at once."""
        job = Job(next(self._ids), str(name))
        job._runner = self
        self._jobs[job.id] = job
        self._callbacks[job.id] = (progress, finished)
        job._thread = threading.Thread(target=self._work, args=(job, fn), name=f"job-{name}", daemon=True)
        self.events.started.emit(job)
        job._thread.start()
        return job

    def jobs(self, name: str | None = None) -> list[Job]:
        """The running jobs (of ``name``), oldest first."""
        return [j for j in self._jobs.values() if j.running and (name is None or j.name == name)]

    def shutdown(self, timeout: float | None = 30.0) -> None:
        """Cancel and drop every job and wait for their threads (the window closes)."""
        jobs = list(self._jobs.values())
        for j in jobs:
            j.cancel(drop=True)
        for j in jobs:
            j.wait(timeout)
        self._jobs.clear()

    def process(self) -> int:
        """Run the deliveries queued so far (the default ``deliver``); their number."""
        n = 0
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                return n
            call()
            n += 1

    # ---- worker threads --------------------------------------------------------------------------
    def _work(self, job: Job, fn: Callable[[Job], Any]) -> None:
        t0 = time.monotonic()
        try:
            result = fn(job)
        except JobCancelled:
            state, result, error = "cancelled", None, "cancelled"
        except Exception as e:  # the consumer is told; the window stays up
            state, result, error = ("cancelled", None, "cancelled") if job.cancelled and _is_cancel(e) else (
                "failed", None, f"{type(e).__name__}: {e}")
        else:
            state, error = "done", None
        seconds = time.monotonic() - t0
        self._safe_deliver(lambda: self._finish(job, state, result, error, seconds))

    def _deliver_progress(self, job: Job, done: int, total: int, text: str) -> None:
        self._safe_deliver(lambda: self._progress(job, done, total, text))

    def _safe_deliver(self, call: Callable[[], None]) -> None:
        try:
            self._deliver(call)
        except RuntimeError:  # the consumer is gone (its Qt object deleted): nothing to tell
            pass

    # ---- delivered on the consumer thread --------------------------------------------------------
    def _progress(self, job: Job, done: int, total: int, text: str) -> None:
        if job.dropped or not job.running:
            return
        cb = self._callbacks.get(job.id, (None, None))[0]
        if cb is not None:
            cb(job, done, total, text)
        self.events.progress.emit(job)

    def _finish(self, job: Job, state: str, result: Any, error: str | None, seconds: float) -> None:
        job.state, job.result, job.error, job.seconds = state, result, error, seconds
        self._jobs.pop(job.id, None)
        cb = self._callbacks.pop(job.id, (None, None))[1]
        if job.dropped:
            return
        if cb is not None:
            cb(job)
        self.events.finished.emit(job)


def _is_cancel(e: BaseException) -> bool:
    """A worker's own cancel exception (e.g. an export's) counts as a cancel once asked."""
    return "cancel" in type(e).__name__.lower()
