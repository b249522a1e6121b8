"""Helpers for the window's background threads (export, auto-track): a worker reports its outcome
to the GUI thread through queued signals of a relay object, by run id."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def emit_safely(signal: Any, *args: Any) -> bool:
    """``signal.emit(*args)`` from a worker thread; False (nothing raised) when the receiving
    window was closed meanwhile (its relay object is deleted)."""
    try:
        signal.emit(*args)
    except RuntimeError:
        return False
    return True


def run_and_report(work: Callable[[], Any], done: Any, failed: Any, run_id: int,
                   cancelled: type[BaseException]) -> None:
    """Run ``work()`` in the calling (worker) thread and report: ``done(result, seconds, run_id)``,
    or ``failed("cancelled", run_id)`` when it raised ``cancelled``, or ``failed("Type: message",
    run_id)`` for any other error. Never raises."""
    t0 = time.monotonic()
    try:
        result = work()
    except cancelled:
        emit_safely(failed, "cancelled", run_id)
    except Exception as e:  # reported in the window; the session is untouched
        emit_safely(failed, f"{type(e).__name__}: {e}", run_id)
    else:
        emit_safely(done, result, time.monotonic() - t0, run_id)
