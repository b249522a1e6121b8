"""Returning the C heap's free memory to the system once the window comes to rest.

Drawing big clouds at rest frees large temporary arrays (the still budgets' positions and
colours, a sweep's float32 points before they are packed, a frame read only to be measured).
glibc keeps such freed blocks in its heap for reuse (its mmap threshold grows to 32 MB after the
first big frees), so the process stays as large as its busiest moment. When the views have been
at rest for :data:`IDLE_TRIM_MS`, the window asks glibc to hand those pages back
(``malloc_trim(0)``, after collecting Python's cyclic garbage: some 10-30 ms in all); on other C
libraries only the garbage is collected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

#: Quiet time (ms) after the last view came to rest before the free memory is returned.
IDLE_TRIM_MS = 1000

_trim: Any = None  # the C function, False where there is none
_timer: Any = None  # the shared single-shot QTimer
#: Times :func:`release_free_memory` ran (for tests and benchmarks).
trims = 0


def release_free_memory() -> bool:
    """Collect Python's cyclic garbage (arrays held only by reference cycles), then hand the C
    allocator's free memory back to the system (glibc ``malloc_trim(0)``). True where the trim
    ran, False where the C library has no such call."""
    global _trim, trims
    gc.collect()
    if _trim is None:
        _trim = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            fn = libc.malloc_trim
            fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
            _trim = fn
        except (OSError, AttributeError):
            pass
    if _trim is False:
        return False
    _trim(0)
    trims += 1
    return True


def request_idle_trim(delay_ms: int = IDLE_TRIM_MS) -> None:
    """Return the free memory once no view has come to rest for ``delay_ms`` (each request
    restarts the wait: a run of steps trims once, at its end). Needs a running Qt application;
    without one it does nothing."""
    global _timer
    from PyQt6.QtCore import QCoreApplication, QTimer

    if QCoreApplication.instance() is None:
        return
    if _timer is None:
        _timer = QTimer()
        _timer.setSingleShot(True)
        _timer.timeout.connect(release_free_memory)
    _timer.start(int(delay_ms))


def idle_trim_pending() -> bool:
    """Whether a requested return of the free memory is still waiting for the window to be quiet."""
    return _timer is not None and bool(_timer.isActive())
