"""The Qt adapter of the job runner (:mod:`gui.model.jobs`): what a job reports is posted to the
GUI thread's event loop (a queued signal), so the callbacks and events run there."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from gui.model.jobs import JobRunner


class _Marshal(QObject):
    """Lives in the GUI thread; ``call`` emitted from a worker runs its callable there."""

    call = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.call.connect(self._run)

    @pyqtSlot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()


def qt_job_runner(parent: QObject) -> JobRunner:
    """A :class:`JobRunner` delivering on ``parent``'s (the GUI) thread; once ``parent`` is
    deleted, what jobs still report is dropped."""
    marshal = _Marshal(parent)
    return JobRunner(deliver=marshal.call.emit)
