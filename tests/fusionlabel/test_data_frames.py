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


# ---- parts: items loaded without their heavy data, completed before they are returned whole ----
class Item:
    """A frame: 1 KiB of points, plus 3 KiB of images when whole."""

    def __init__(self, i: int, whole: bool) -> None:
        self.points = np.full(128, i, dtype=np.float64)
        self.images = np.zeros(384) if whole else np.zeros(0)
        self.whole = whole


class PartLoader:
    """Whole loads, part loads and completions, counted per frame (a gate can hold any of them)."""

    def __init__(self) -> None:
        self.whole: Counter[int] = Counter()
        self.parts: Counter[int] = Counter()
        self.completed: Counter[int] = Counter()
        self.threads: dict[int, str] = {}
        self.gate: threading.Event | None = None
        self.part_started = threading.Event()

    def load(self, i: int) -> Item:
        self.whole[i] += 1
        return Item(i, True)

    def part(self, i: int) -> Item:
        self.parts[i] += 1
        self.part_started.set()
        if self.gate is not None:
            self.gate.wait()
        return Item(i, False)

    def complete(self, i: int, part: Item) -> Item:
        self.completed[i] += 1
        self.threads[i] = threading.current_thread().name
        if self.gate is not None:
            self.gate.wait()
        assert not part.whole
        out = Item(i, True)
        out.points = part.points  # the part's points, shared
        return out

    def cache(self, **kw: int) -> FrameCache[Item]:
        return FrameCache(self.load, 12, max_bytes=kw.pop("max_bytes", 1 << 20), part_loader=self.part,
                          complete=self.complete, is_whole=lambda it: it.whole, **kw)


def test_parts_are_cached_and_completed_when_asked_whole() -> None:
    ld = PartLoader()
    with ld.cache(ahead=0, behind=0) as c:
        assert c.has_parts
        p = c.get_part(5)
        assert not p.whole and 5 in c and not c.is_whole(5)
        assert c.stats.misses == c.stats.part_misses == 1 and c.stats.bytes == 1024
        assert c.get_part(5) is p and c.stats.hits == 1  # a cached part is a hit for get_part
        w = c.get(5)
        assert w.whole and w.points is p.points and c.is_whole(5)
        assert c.stats.completions == 1 and c.stats.completed_ahead == 0 and c.stats.bytes == 4096  # recounted
        assert c.get(5) is w and c.get_part(5) is w  # whole serves both
        assert ld.whole[5] == 0 and ld.parts[5] == 1 and ld.completed[5] == 1
        c.get(7)  # not cached: loaded whole, no part
        assert ld.whole[7] == 1 and ld.parts[7] == 0


def test_the_prefetch_completes_a_neighbour_cached_as_a_part() -> None:
    ld = PartLoader()
    with ld.cache(ahead=2, behind=1) as c:
        assert c.neighbours(6) == [5, 7, 8] and c.neighbours(0) == [1, 2] and c.neighbours(11) == [10]
        for f in range(2, 11):  # an accumulation of 2..10 around frame 6: parts
            c.get_part(f)
        c.get(6)  # shown: completed here; its neighbours 7, 8, 5 completed by the prefetch
        c.wait_idle()
        assert all(c.is_whole(f) for f in (5, 6, 7, 8)) and not c.is_whole(4) and not c.is_whole(9)
        assert c.stats.completed_ahead == 3 and c.stats.completions == 4
        assert all(ld.threads[f].startswith("frame-prefetch") for f in (5, 7, 8))
        misses = c.stats.misses
        assert c.get(7).whole and c.stats.misses == misses and ld.completed[7] == 1  # the step: a hit
        c.wait_idle()
        assert c.is_whole(9) and ld.completed[9] == 1  # the next neighbour, completed ahead
        assert sum(ld.whole.values()) == 0  # nothing read twice: every frame's points read once
        assert all(n == 1 for n in ld.parts.values())


def test_a_whole_get_waits_for_the_completion_in_flight() -> None:
    ld = PartLoader()
    with ld.cache(ahead=1, behind=0) as c:
        c.get_part(3)
        ld.gate = threading.Event()
        c.prefetch([3])  # completion blocked in the prefetch thread
        got: list[Item] = []
        t = threading.Thread(target=lambda: got.append(c.get(3, prefetch=False)))
        t.start()
        assert c.get_part(3).whole is False  # the part is served meanwhile, not waited for
        ld.gate.set()
        t.join()
        assert got[0].whole and ld.completed[3] == 1 and c.stats.waits == 1


def test_the_prefetch_completes_a_part_whose_load_was_in_flight() -> None:
    ld = PartLoader()
    with ld.cache(ahead=0, behind=0) as c:
        ld.gate = threading.Event()
        t = threading.Thread(target=c.get_part, args=(4,))
        t.start()
        ld.part_started.wait()  # the part's load has started (blocked)
        c.prefetch([4])  # wants it whole: completed once the part is in
        ld.gate.set()
        t.join()
        c.wait_idle()
        assert c.is_whole(4) and ld.parts[4] == 1 and ld.completed[4] == 1 and ld.whole[4] == 0


def test_an_item_released_by_its_owner_is_completed_again() -> None:
    ld = PartLoader()
    with ld.cache(ahead=0, behind=0) as c:
        w = c.get(2)
        w.images, w.whole = np.zeros(0), False  # the owner released its images
        c.refresh_size(2)
        assert c.stats.bytes == 1024 and not c.is_whole(2)
        assert c.get(2).whole and ld.completed[2] == 1 and c.stats.bytes == 4096


def test_parts_need_the_three_callables_and_without_them_get_part_is_get() -> None:
    ld = Loader()
    with FrameCache(ld, 4, ahead=1, behind=0) as c:
        assert not c.has_parts
        assert c.get_part(2)[0] == 2 and c.stats.misses == 1
        c.wait_idle()
        assert 3 not in c  # get_part prefetches nothing
    with pytest.raises(ValueError):
        FrameCache(ld, 4, part_loader=ld)
