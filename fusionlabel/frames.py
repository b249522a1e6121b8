"""Random access to the frames of a sequence: an LRU cache bounded in bytes with background
prefetch of the neighbouring frames. Core module: no Qt, and no formats import, the frame loader is
a callable ``loader(index) -> item`` (e.g. ``LoadedSequence.read_frame``).

Behaviour
---------
* ``get(i)`` returns the cached item (a *hit*); waits for a load of ``i`` already in flight in a
  prefetch thread instead of loading it twice (a *wait*, its duration recorded); otherwise loads
  it in the calling thread (a *miss*). It then schedules prefetch of ``i+1 .. i+ahead`` and
  ``i-1 .. i-behind`` (in the direction of travel first) on a small thread pool; no more of them
  than the cache holds beside ``i`` (judged by the size of the last frame loaded), so that big
  frames (a 10M-point sweep is 200 MB) do not evict each other before they are shown.
* The cache holds items up to ``max_bytes`` (sizes from ``size_of``: by default the ``nbytes`` of
  the item, or the sum over numpy arrays found in it), evicting the least recently used first. An
  item larger than the bound is returned but not kept.
* A loader exception propagates to the ``get`` that asked (also when it happened in a prefetch);
  nothing is cached for that frame and the next ``get`` tries again.
* Thread-safe: any thread may call ``get``; ``close()`` stops the prefetch threads.
* ``hold_prefetch()`` defers the prefetch that ``get`` schedules until ``release_prefetch()``
  (then scheduled around the last frame asked): a window's first picture of a big frame, and the
  work that refines it, do not share the CPU with loading the neighbours.
* Parts (optional: ``part_loader``, ``complete``, ``is_whole``): ``get_part(i)`` is for callers
  that need only a part of a frame (a window's accumulated sweeps need their points, not their
  camera images): any cached item, whole or part, is a hit; an in-flight load is waited for;
  otherwise ``part_loader(i)`` loads the part in the calling thread and the part is cached.
  ``get(i)`` always returns a whole item: a cached part (``is_whole(item)`` False, also after its
  owner released data of a whole one) is completed by ``complete(i, part) -> whole item`` (in the
  calling thread, or waiting for a completion in flight); the prefetch of a neighbour that is
  cached as a part completes it in the prefetch thread, so that a step onto it does not wait.
  ``neighbours(i)`` are the frames the prefetch reads around ``i`` (the ones worth keeping whole).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


def nbytes_of(item: Any) -> int:
    """Bytes held by ``item``: its ``nbytes`` when it has one, else the sum over the numpy arrays in
    (nested) dicts, lists, tuples and dataclass-like objects' ``__dict__``."""
    nb = getattr(item, "nbytes", None)
    if isinstance(nb, (int, np.integer)):
        return int(nb)
    if isinstance(item, np.ndarray):
        return int(item.nbytes)
    if isinstance(item, dict):
        return sum(nbytes_of(v) for v in item.values())
    if isinstance(item, (list, tuple)):
        return sum(nbytes_of(v) for v in item)
    if hasattr(item, "__dict__"):
        return sum(nbytes_of(v) for v in vars(item).values())
    return 0


@dataclass
class CacheStats:
    """Counters of a :class:`FrameCache`: ``hits`` (served from the cache), ``misses`` (loaded in
    the caller's thread; ``part_misses`` of them parts), ``waits`` (waited for an in-flight
    prefetch), ``prefetched`` (loads done in the background), ``completions`` (parts completed,
    ``completed_ahead`` of them in the background), ``evictions``, ``wait_s`` (seconds of every
    wait, in order), ``bytes`` and ``items`` currently cached."""

    hits: int = 0
    misses: int = 0
    part_misses: int = 0
    waits: int = 0
    prefetched: int = 0
    completions: int = 0
    completed_ahead: int = 0
    evictions: int = 0
    wait_s: list[float] = field(default_factory=list)
    bytes: int = 0
    items: int = 0


class FrameCache(Generic[T]):
    """LRU frame cache with prefetch (behaviour in the module docstring).

    ``loader(i)`` loads frame ``i`` of ``frame_count``; ``max_bytes`` bounds the cache;
    ``ahead``/``behind`` frames around each requested one are prefetched by ``workers`` threads.
    Optional parts: ``part_loader(i)`` loads a part of frame ``i`` (:meth:`get_part`),
    ``complete(i, part)`` makes the whole item of a part, ``is_whole(item)`` tells them apart
    (default: every item is whole).
    """

    def __init__(
        self,
        loader: Callable[[int], T],
        frame_count: int,
        max_bytes: int = 1 << 30,
        size_of: Callable[[T], int] = nbytes_of,
        ahead: int = 2,
        behind: int = 1,
        workers: int = 2,
        part_loader: Callable[[int], T] | None = None,
        complete: Callable[[int, T], T] | None = None,
        is_whole: Callable[[T], bool] | None = None,
    ) -> None:
        if frame_count < 0 or max_bytes < 0 or ahead < 0 or behind < 0 or workers < 1:
            raise ValueError("frame_count, max_bytes, ahead, behind must be >= 0 and workers >= 1")
        if (part_loader is None) != (complete is None) or (part_loader is None) != (is_whole is None):
            raise ValueError("part_loader, complete and is_whole go together")
        self._loader = loader
        self._part_loader = part_loader
        self._complete = complete
        self._is_whole: Callable[[T], bool] = is_whole if is_whole is not None else (lambda item: True)
        self.frame_count = int(frame_count)
        self.max_bytes = int(max_bytes)
        self._size_of = size_of
        self.ahead = int(ahead)
        self.behind = int(behind)
        self._lock = threading.Lock()
        self._items: OrderedDict[int, tuple[T, int]] = OrderedDict()
        self._inflight: dict[int, Future[T]] = {}
        self._inflight_parts: set[int] = set()  # frames whose load in flight is a part's
        self._complete_after: set[int] = set()  # the prefetch wants them whole once their part is in
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="frame-prefetch")
        self._closed = False
        self._last: int | None = None
        self._background_futures: dict[int, Future[T]] = {}
        self._last_size = 0  # bytes of the last whole item loaded
        self._held = False  # prefetch deferred (hold_prefetch)
        self._held_frame: int | None = None  # the last frame asked while held
        self.stats = CacheStats()

    # ---- public API ------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.frame_count

    def __contains__(self, frame: object) -> bool:
        with self._lock:
            return frame in self._items

    def get(self, frame: int, prefetch: bool = True) -> T:
        """Whole frame ``frame``, from the cache, an in-flight load, or loaded (or completed from
        a cached part) now; then prefetches."""
        frame = self._check(frame)
        item = self._get(frame, whole=True)
        if prefetch:
            self._schedule(frame)
        return item

    def get_part(self, frame: int) -> T:
        """Frame ``frame`` whole or as a part (whichever is cached or in flight, else its part
        loaded now; without a ``part_loader`` the whole item); no prefetch."""
        return self._get(self._check(frame), whole=self._part_loader is None)

    @property
    def has_parts(self) -> bool:
        """Whether the cache loads parts (``part_loader``) and completes them (so an owner may
        release data of a cached item that ``is_whole`` then tells)."""
        return self._part_loader is not None

    def is_whole(self, frame: int) -> bool:
        """Whether frame ``frame`` is cached whole."""
        with self._lock:
            entry = self._items.get(frame)
            return entry is not None and self._is_whole(entry[0])

    def neighbours(self, frame: int) -> list[int]:
        """The frames the prefetch reads (or completes) around ``frame``: ``behind`` before,
        ``ahead`` after, within the sequence (for big frames it reads only the first of them that
        the cache holds)."""
        return [f for f in range(frame - self.behind, frame + self.ahead + 1)
                if f != frame and 0 <= f < self.frame_count]

    def prefetch(self, frames: Iterable[int]) -> None:
        """Start background loads of ``frames`` that are neither cached nor in flight, and the
        completion of those cached as parts."""
        for f in frames:
            if 0 <= f < self.frame_count:
                self._submit(int(f))

    def hold_prefetch(self) -> None:
        """Defer the prefetch that :meth:`get` schedules until :meth:`release_prefetch`."""
        with self._lock:
            self._held = True

    def release_prefetch(self) -> None:
        """End :meth:`hold_prefetch`: the neighbours of the last frame asked meanwhile are
        prefetched now."""
        with self._lock:
            self._held, frame, self._held_frame = False, self._held_frame, None
        if frame is not None:
            self._schedule(frame)

    @property
    def prefetch_held(self) -> bool:
        return self._held

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no load is in flight (tests, benchmarks); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                futs = list(self._inflight.values())
            if not futs:
                return True
            for f in futs:
                rest = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    f.exception(timeout=rest)
                except TimeoutError:
                    return False
                except Exception:  # noqa: BLE001 - a cancelled future also counts as done here
                    pass

    def refresh_size(self, frame: int) -> None:
        """Count the cached item of ``frame`` again (``size_of``): its owner released (or added)
        data since it was stored. Nothing when it is not cached."""
        with self._lock:
            entry = self._items.get(frame)
        if entry is None:
            return
        size = int(self._size_of(entry[0]))
        with self._lock:
            entry = self._items.get(frame)
            if entry is None:
                return
            self._items[frame] = (entry[0], size)
            self.stats.bytes += size - entry[1]

    def clear(self) -> None:
        """Drop every cached item (in-flight loads finish and are cached)."""
        with self._lock:
            self._items.clear()
            self.stats.bytes = 0
            self.stats.items = 0

    def close(self) -> None:
        """Stop prefetching (pending prefetches are cancelled); ``get`` still works, loading in
        the caller's thread."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:  # prefetches the pool dropped before they ran
            for frame, fut in list(self._background_futures.items()):
                if not fut.done() and self._inflight.get(frame) is fut:
                    del self._inflight[frame]
                    fut.cancel()
            self._background_futures.clear()

    def __enter__(self) -> FrameCache[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- internals ----------------------------------------------------------------------------
    def _check(self, frame: int) -> int:
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
            raise TypeError(f"frame must be an int, got {frame!r}")
        if not 0 <= frame < self.frame_count:
            raise IndexError(f"frame {frame} out of range 0..{self.frame_count - 1}")
        return int(frame)

    def _get(self, frame: int, whole: bool) -> T:
        while True:
            with self._lock:
                entry = self._items.get(frame)
                fut = self._inflight.get(frame)
                if entry is not None and (not whole or self._is_whole(entry[0])):
                    self._items.move_to_end(frame)
                    self.stats.hits += 1
                    return entry[0]
                kind = "wait"
                if fut is None:
                    fut = Future()
                    self._inflight[frame] = fut
                    if entry is not None:
                        kind = "complete"
                        self.stats.completions += 1
                    else:
                        kind = "whole" if whole else "part"
                        self.stats.misses += 1
                        if kind == "part":
                            self._inflight_parts.add(frame)
                            self.stats.part_misses += 1
            if kind != "wait":
                return self._load_into(frame, fut, kind, entry[0] if entry is not None else None)
            t0 = time.perf_counter()
            try:
                item = fut.result()
            except CancelledError:  # the cache was closed before the prefetch ran: load here
                continue
            finally:
                with self._lock:
                    self.stats.waits += 1
                    self.stats.wait_s.append(time.perf_counter() - t0)
            if not whole or self._is_whole(item):
                return item
            # a part came in (or the item was released meanwhile): complete it

    def _load_into(self, frame: int, fut: Future[T], kind: str = "whole", part: T | None = None) -> T:
        try:
            if kind == "complete":
                assert self._complete is not None and part is not None
                item = self._complete(frame, part)
            elif kind == "part":
                assert self._part_loader is not None
                item = self._part_loader(frame)
            else:
                item = self._loader(frame)
        except BaseException as e:
            with self._lock:
                self._inflight.pop(frame, None)
                self._inflight_parts.discard(frame)
                self._complete_after.discard(frame)
            fut.set_exception(e)
            raise
        self._store(frame, item, whole=kind != "part")
        with self._lock:
            self._inflight.pop(frame, None)
            self._inflight_parts.discard(frame)
            follow = kind == "part" and frame in self._complete_after
            self._complete_after.discard(frame)
        fut.set_result(item)
        if follow:  # the prefetch asked for it whole while its part was loading
            self._submit(frame)
        return item

    def _store(self, frame: int, item: T, whole: bool = True) -> None:
        size = int(self._size_of(item))
        with self._lock:
            if whole:
                self._last_size = size
            if size > self.max_bytes:
                return
            old = self._items.pop(frame, None)
            if old is not None:
                self.stats.bytes -= old[1]
            self._items[frame] = (item, size)
            self.stats.bytes += size
            while self.stats.bytes > self.max_bytes and self._items:
                _, (_, s) = self._items.popitem(last=False)
                self.stats.bytes -= s
                self.stats.evictions += 1
            self.stats.items = len(self._items)

    def _schedule(self, frame: int) -> None:
        with self._lock:
            if self._held:
                self._held_frame = frame
                return
        direction = 1 if self._last is None or frame >= self._last else -1
        self._last = frame
        fwd = [frame + d for d in range(1, self.ahead + 1)]
        back = [frame - d for d in range(1, self.behind + 1)]
        order = fwd + back if direction > 0 else back + fwd
        with self._lock:
            size = self._last_size
        if size > 0:  # big frames: prefetch no more than the cache holds beside this one
            order = order[: max(0, self.max_bytes // size - 1)]
        self.prefetch(order)

    def _submit(self, frame: int) -> None:
        if self._closed:
            return
        with self._lock:
            if frame in self._inflight:
                if frame in self._inflight_parts:  # completed once its part is in
                    self._complete_after.add(frame)
                return
            entry = self._items.get(frame)
            if entry is not None and self._is_whole(entry[0]):
                return
            fut: Future[T] = Future()
            self._inflight[frame] = fut
            self._background_futures[frame] = fut
        part = entry[0] if entry is not None else None
        try:
            self._pool.submit(self._background, frame, fut, part)
        except RuntimeError:  # pool shut down meanwhile
            with self._lock:
                self._inflight.pop(frame, None)
            fut.cancel()

    def _background(self, frame: int, fut: Future[T], part: T | None = None) -> None:
        try:
            self._load_into(frame, fut, "whole" if part is None else "complete", part)
        except BaseException:  # noqa: BLE001 - delivered to whoever waits on the future
            return
        finally:
            with self._lock:
                if self._background_futures.get(frame) is fut:
                    del self._background_futures[frame]
        with self._lock:
            if part is None:
                self.stats.prefetched += 1
            else:
                self.stats.completions += 1
                self.stats.completed_ahead += 1
