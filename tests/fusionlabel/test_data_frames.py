"""fusionlabel.frames.FrameCache: LRU in bytes, prefetch, waits instead of double loads, errors."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import numpy as np
import pytest

from fusionlabel.frames import FrameCache, nbytes_of


class Loader:
    """Counts loads per frame; each frame is a 1 KiB array filled with its index."""

    def __init__(self, delay: float = 0.0, fail: set[int] | None = None) -> None:
        self.calls: Counter[int] = Counter()
        self.delay = delay
        self.fail = fail or set()
        self.lock = threading.Lock()
        self.gate: threading.Event | None = None

    def __call__(self, i: int) -> np.ndarray:
        with self.lock:
            self.calls[i] += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.delay:
            time.sleep(self.delay)
        if i in self.fail:
            raise OSError(f"cannot read frame {i}")
        return np.full(128, i, dtype=np.float64)  # 1024 bytes


def test_hits_misses_and_prefetch() -> None:
    ld = Loader()
    with FrameCache(ld, 10, max_bytes=1 << 20, ahead=2, behind=1) as c:
        assert c.get(5)[0] == 5
        assert c.stats.misses == 1
        assert c.wait_idle(5)
        assert {4, 6, 7} <= {i for i in range(10) if i in c}
        assert c.get(6)[0] == 6 and c.stats.hits == 1
        assert c.get(5)[0] == 5 and c.stats.hits == 2
        c.wait_idle(5)
        assert c.stats.prefetched >= 3
    assert max(ld.calls.values()) == 1  # nothing loaded twice


def test_get_waits_for_an_in_flight_prefetch() -> None:
    ld = Loader()
    c = FrameCache(ld, 10, ahead=1, behind=0)
    c.get(0)
    c.wait_idle(5)
    ld.gate = threading.Event()
    c.prefetch([3])
    time.sleep(0.05)  # the prefetch of 3 is blocked in the loader
    threading.Timer(0.1, ld.gate.set).start()
    assert c.get(3, prefetch=False)[0] == 3
    assert c.stats.waits == 1 and c.stats.wait_s[0] > 0.05
    assert ld.calls[3] == 1
    c.close()


def test_lru_bounded_in_bytes() -> None:
    ld = Loader()
    c = FrameCache(ld, 20, max_bytes=3 * 1024, ahead=0, behind=0)
    for i in (0, 1, 2):
        c.get(i)
    c.get(0)  # 0 is now the most recent; 1 the least
    c.get(3)
    assert 1 not in c and {0, 2, 3} == {i for i in range(20) if i in c}
    assert c.stats.bytes == 3 * 1024 and c.stats.evictions == 1 and c.stats.items == 3
    c.get(1)
    assert ld.calls[1] == 2
    c.close()


def test_big_frames_prefetch_only_what_the_cache_holds() -> None:
    """Frames of 1 KiB in a 2.5 KiB cache: beside the frame shown, one more fits, so only the next
    frame in the direction of travel is prefetched (no frame evicts another before it is shown)."""
    ld = Loader()
    c = FrameCache(ld, 20, max_bytes=2560, ahead=2, behind=1)
    c.get(5)
    assert c.wait_idle(5)
    assert sorted(ld.calls) == [5, 6]
    c.get(6)
    assert c.wait_idle(5)
    assert sorted(ld.calls) == [5, 6, 7] and 6 in c and 7 in c
    c.get(4)  # backwards: the frame behind first
    assert c.wait_idle(5)
    assert 3 in ld.calls and 8 not in ld.calls
    assert c.stats.evictions <= 3 and max(ld.calls.values()) == 1
    c.close()


def test_item_larger_than_the_cache_is_returned_not_kept() -> None:
    c = FrameCache(lambda i: np.zeros(1000), 3, max_bytes=100, ahead=0, behind=0)
    assert c.get(0).shape == (1000,)
    assert 0 not in c and c.stats.bytes == 0
    c.close()


def test_loader_errors_propagate_and_are_not_cached() -> None:
    ld = Loader(fail={2})
    c = FrameCache(ld, 5, ahead=1, behind=0)
    c.get(1)  # prefetches 2, which fails in the background
    c.wait_idle(5)
    with pytest.raises(OSError, match="frame 2"):
        c.get(2, prefetch=False)
    ld.fail.clear()
    assert c.get(2)[0] == 2
    c.close()


def test_many_threads_random_access() -> None:
    ld = Loader(delay=0.001)
    c = FrameCache(ld, 50, max_bytes=1 << 20, ahead=2, behind=2, workers=2)
    errors = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(100):
            i = rng.randrange(50)
            if c.get(i)[0] != i:
                errors.append(i)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close()
    assert not errors
    assert max(ld.calls.values()) == 1  # the cache never loads a frame twice when nothing is evicted
    s = c.stats
    assert s.hits + s.misses + s.waits == 400


def test_close_with_pending_prefetch_does_not_hang() -> None:
    ld = Loader(delay=0.02)
    c = FrameCache(ld, 100, ahead=20, behind=0, workers=1)
    c.get(0)
    c.close()
    assert c.get(15, prefetch=True)[0] == 15


def test_bad_frames_and_nbytes() -> None:
    c = FrameCache(lambda i: i, 3, ahead=0, behind=0)
    with pytest.raises(IndexError):
        c.get(3)
    with pytest.raises(TypeError):
        c.get(True)
    c.close()
    assert nbytes_of({"a": np.zeros(4), "b": [np.zeros(2, np.float32)]}) == 40


def test_held_prefetch_starts_on_release_around_the_last_frame() -> None:
    ld = Loader()
    with FrameCache(ld, 10, max_bytes=1 << 20, ahead=2, behind=1) as c:
        c.hold_prefetch()
        assert c.prefetch_held
        c.get(3)
        c.get(4)
        c.wait_idle(5)
        assert set(ld.calls) == {3, 4}  # nothing prefetched while held
        c.release_prefetch()
        assert not c.prefetch_held
        c.wait_idle(5)
        assert {5, 6} <= set(ld.calls)  # around the last frame asked (4, forward)
        c.release_prefetch()  # a second release does nothing


def test_refresh_size_counts_an_item_again_after_its_owner_shrank_it() -> None:
    items: dict[int, dict[str, np.ndarray]] = {}

    def load(i: int) -> dict[str, np.ndarray]:
        items[i] = {"points": np.zeros(128), "extra": np.zeros(384)}  # 1 KiB + 3 KiB
        return items[i]

    with FrameCache(load, 10, max_bytes=9 * 1024, ahead=0, behind=0) as c:
        c.get(0)
        c.get(1)
        assert c.stats.bytes == 8 * 1024
        items[0].pop("extra")
        c.refresh_size(0)
        c.refresh_size(7)  # not cached: nothing
        assert c.stats.bytes == 5 * 1024 and c.stats.items == 2
        c.get(2, prefetch=False)  # 4 KiB more: 5 + 4 KiB fit (counted as 8 + 4, frame 0 went)
        assert 0 in c and 1 in c and 2 in c and c.stats.evictions == 0
