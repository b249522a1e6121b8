"""Frame data of the GUI and a tiny LRU frame cache with background prefetch (no Qt).

:class:`FrameData` is what the views draw for one frame. :class:`SmallFrameCache` has the same
interface as the core's ``fusionlabel.frames.FrameCache`` (``get``, ``prefetch``, ``close``,
``in``), so :func:`make_frame_cache` uses the core one when it exists and this one otherwise.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass
class FrameData:
    """Everything the views show of one frame.

    ``pts_world``: (N, 3) float32 LiDAR points in the world frame (metres), all LiDARs stacked;
    ``intensity``: (N,) float32 in [0, 1]; ``images``: camera name -> (H, W, 3) uint8 RGB;
    ``T_world_from_ego``: 4x4 ego pose at the frame's time.
    """

    index: int
    pts_world: NDArray[np.float32]
    intensity: NDArray[np.float32]
    T_world_from_ego: NDArray[np.float64]
    images: dict[str, NDArray[np.uint8]] = field(default_factory=dict)
    #: Derived arrays computed once (in the loading thread when possible), e.g. ``"z_order"``.
    memo: dict[object, Any] = field(default_factory=dict, repr=False)

    @property
    def nbytes(self) -> int:
        arrays = [self.pts_world, self.intensity, *self.images.values(),
                  *(v for v in self.memo.values() if isinstance(v, np.ndarray))]
        return int(sum(a.nbytes for a in arrays))


def transform_f32(T: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(N, 3) points through a 4x4 transform ``T`` -> (N, 3) float32, column by column (no BLAS call: a
    multi-threaded matrix product is slow on a busy 2-core machine)."""
    R, t = T[:3, :3].astype(np.float32), T[:3, 3].astype(np.float32)
    out = np.empty((len(pts), 3), np.float32)
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    for r in range(3):
        np.multiply(x, R[r, 0], out=out[:, r])
        out[:, r] += y * R[r, 1]
        out[:, r] += z * R[r, 2]
        out[:, r] += t[r]
    return out


class FrameSource(Protocol):
    """What the window needs from a frame cache."""

    def get(self, frame: int, prefetch: bool = True) -> Any: ...

    def prefetch(self, frames: Iterable[int]) -> None: ...

    def close(self) -> None: ...


class SmallFrameCache:
    """LRU cache of ``capacity`` frames; ``get(i)`` also prefetches ``i+1`` and ``i-1`` on one
    background thread. A load already in flight is awaited, not repeated. Loader exceptions
    propagate to the ``get`` that asked; nothing is cached for that frame."""

    def __init__(self, loader: Callable[[int], Any], frame_count: int, capacity: int = 8) -> None:
        self._loader = loader
        self.frame_count = int(frame_count)
        self.capacity = max(1, int(capacity))
        self._lock = threading.Lock()
        self._items: OrderedDict[int, Any] = OrderedDict()
        self._inflight: dict[int, Future[Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gui-prefetch")
        self._closed = False

    def __contains__(self, frame: object) -> bool:
        with self._lock:
            return frame in self._items

    def get(self, frame: int, prefetch: bool = True) -> Any:
        """Frame ``frame`` (loaded here when neither cached nor in flight)."""
        if not 0 <= frame < self.frame_count:
            raise IndexError(f"frame {frame} outside 0..{self.frame_count - 1}")
        with self._lock:
            if frame in self._items:
                self._items.move_to_end(frame)
                item = self._items[frame]
                fut = None
            else:
                item = None
                fut = self._inflight.get(frame)
        if item is None:
            item = fut.result() if fut is not None else self._load(frame)
        if prefetch:
            self.prefetch([frame + 1, frame - 1])
        return item

    def prefetch(self, frames: Iterable[int]) -> None:
        """Load these frames in the background (those cached, in flight or out of range skipped)."""
        if self._closed:
            return
        for f in frames:
            if not 0 <= f < self.frame_count:
                continue
            with self._lock:
                if f in self._items or f in self._inflight:
                    continue
                fut: Future[Any] = Future()
                self._inflight[f] = fut
            self._pool.submit(self._background, f, fut)

    def _background(self, frame: int, fut: Future[Any]) -> None:
        try:
            fut.set_result(self._load(frame))
        except BaseException as e:  # delivered to a get() waiting on it
            fut.set_exception(e)
        finally:
            with self._lock:
                self._inflight.pop(frame, None)

    def _load(self, frame: int) -> Any:
        item = self._loader(frame)
        with self._lock:
            self._items[frame] = item
            self._items.move_to_end(frame)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return item

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for the prefetches in flight; True when none is left."""
        with self._lock:
            futs = list(self._inflight.values())
        for f in futs:
            try:
                f.result(timeout)
            except Exception:
                pass
        with self._lock:
            return not self._inflight

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_frame_cache(loader: Callable[[int], Any], frame_count: int) -> FrameSource:
    """The core's ``fusionlabel.frames.FrameCache`` when available (LRU in bytes, prefetch),
    else :class:`SmallFrameCache`. Both keep roughly 8-16 frames of a 6-camera sequence."""
    try:
        from fusionlabel.frames import FrameCache  # type: ignore[import-not-found]
    except ImportError:
        return SmallFrameCache(loader, frame_count)
    return FrameCache(loader, frame_count, max_bytes=512 << 20, ahead=2, behind=1, workers=1)
