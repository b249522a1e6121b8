"""Level of detail for big point clouds (numpy only, no Qt): a *progressive order* of the points of
a sweep or an accumulation, so that any prefix of it is a spatially uniform subsample.

:func:`build_lod` returns a :class:`LevelOfDetail`: ``order`` (N,) uint32, a permutation of the
point indices, in levels:

* **voxel levels**, coarse to fine: level ``j`` holds one point of every occupied voxel of edge
  ``cell_sizes[j]`` (metres; halved from level to level, on an octree over a robust bounding cube)
  whose voxel has no point in a coarser level yet; inside a level the points are spread along the
  voxels' Morton curve (a golden-ratio stride through it), so a partial level is uniform too;
* the **rest**, every other point, in a golden-ratio stride through the input order (a
  low-discrepancy subsample: uniform over the sensor's scan).

A view with a point budget ``B`` draws ``order[:B]``: the coarse voxels first, so that far and
sparse parts of the scene keep their points while the dense ground near the sensor is thinned.
The voxel levels are computed on at most ``max_level_points`` points (a stride subsample of a
bigger cloud) and stop once a level would hold more than half of them; the cost is one sort of
those points, the rest is linear. Memory: the order, 4 bytes a point (a quarter of the raw
x, y, z, intensity float32 data), kept for the first ``MAX_PREFIX`` points (4M): views draw
budgets below that, or every point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError

#: Octree depth: 10 bits per axis (a 30-bit Morton key).
BITS = 10
#: The voxel levels are built on at most this many points (a stride subsample of bigger clouds).
MAX_LEVEL_POINTS = 1_000_000
#: The order is kept for this many points at most: a budget between it and the cloud's size gets
#: this many points, a budget covering the cloud gets every point (no order needed).
MAX_PREFIX = 4_000_000
#: The provisional order (:func:`stride_lod`) is kept for this many points: the views' budgets at
#: rest draw at most this many until the voxel order replaces it.
PROVISIONAL_PREFIX = 1_000_000
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _spread_lut() -> NDArray[np.uint32]:
    """Bit ``b`` of a 10-bit value moved to bit ``3 b`` (one axis of a Morton key)."""
    v = np.arange(1 << BITS, dtype=np.uint32)
    out = np.zeros(1 << BITS, np.uint32)
    for b in range(BITS):
        out |= ((v >> b) & 1) << (3 * b)
    return out


_SPREAD = _spread_lut()


def golden_stride(n: int, count: int | None = None) -> NDArray[np.int64]:
    """The first ``count`` (default ``n``) terms of ``(i * P) mod n`` with ``P`` the integer
    nearest ``0.618 n`` coprime with ``n``: a permutation of ``0..n-1`` whose every prefix is
    spread evenly over the range (a Weyl sequence)."""
    count = n if count is None else min(int(count), n)
    if n <= 1:
        return np.zeros(max(count, 0), np.int64)[: max(n, 0)]
    return (np.arange(count, dtype=np.int64) * _golden_step(n)) % n


def _golden_step(n: int) -> int:
    """The stride of :func:`golden_stride`: the integer nearest ``0.618 n`` coprime with ``n``."""
    p = max(1, int(round(n * _GOLDEN)))
    while math.gcd(p, n) != 1:
        p += 1
    return p


def _golden_u32(n: int) -> NDArray[np.uint32]:
    """:func:`golden_stride` of ``n`` as uint32, computed in chunks (small temporaries)."""
    out = np.empty(n, np.uint32)
    if n <= 1:
        out[:] = 0
        return out
    p = _golden_step(n)
    step = 1 << 20
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = (np.arange(a, b, dtype=np.int64) * p) % n
    return out


@dataclass(frozen=True)
class LevelOfDetail:
    """A progressive order of ``n`` points (see the module docstring).

    ``order`` (K,) uint32 point indices, the first ``K = min(N, max_prefix)`` of the order;
    ``points`` N; ``level_starts`` (L+2,) int64: the points of voxel level ``j`` are
    ``order[level_starts[j]:level_starts[j + 1]]`` and the last slice is the rest (as kept);
    ``cell_sizes`` (L,) voxel edges in metres (coarse to fine); ``origin`` (3,) the low corner of
    the octree's cube (metres, the cloud's frame)."""

    order: NDArray[np.uint32]
    level_starts: NDArray[np.int64]
    cell_sizes: tuple[float, ...]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    points: int = -1
    #: A stride order (:func:`stride_lod`) standing in until the voxel levels are built.
    provisional: bool = False

    def __post_init__(self) -> None:
        if self.points < 0:
            object.__setattr__(self, "points", len(self.order))

    @property
    def n(self) -> int:
        """Number of points."""
        return self.points

    @property
    def levels(self) -> int:
        """Number of voxel levels (the rest not counted)."""
        return len(self.cell_sizes)

    @property
    def nbytes(self) -> int:
        return int(self.order.nbytes + self.level_starts.nbytes)

    def count(self, budget: int | None) -> int:
        """Points drawn under ``budget`` (None: all): every point for a budget covering them,
        else ``budget`` points, at most the length of the order kept."""
        if budget is None or budget >= self.n:
            return self.n
        if budget < 0:
            raise ValueError(f"a point budget must be >= 0, got {budget}")
        return min(int(budget), len(self.order))

    def prefix(self, budget: int | None) -> NDArray[np.uint32]:
        """The ``count(budget)`` point indices drawn: the order's prefix (a view, no copy), or
        every index when the budget covers the cloud."""
        k = self.count(budget)
        return self.order[:k] if k <= len(self.order) else np.arange(self.n, dtype=np.uint32)

    def take(self, values: NDArray[np.generic], budget: int | None) -> NDArray[np.generic]:
        """``values`` (N, ...) of the points drawn under ``budget``: the whole array (no copy) when
        the budget covers every point, else its rows in progressive order."""
        if len(values) != self.n:
            raise ModelError(f"level of detail of {self.n} points applied to {len(values)} values")
        k = self.count(budget)
        return values if k >= self.n else values[self.order[:k]]

    def level_budget(self, level: int) -> int:
        """Points of voxel levels ``0..level`` (a budget that ends on a level's boundary)."""
        return int(self.level_starts[min(max(level + 1, 0), len(self.level_starts) - 1)])


def empty_lod() -> LevelOfDetail:
    """The level of detail of no points."""
    return LevelOfDetail(np.zeros(0, np.uint32), np.zeros(2, np.int64), (), points=0)


def stride_lod(n: int, max_prefix: int | None = PROVISIONAL_PREFIX) -> LevelOfDetail:
    """A provisional level of detail of ``n`` points without voxel levels: the golden stride
    through the input order (uniform over the sensor's scan), kept for its first ``max_prefix``
    points (None: all). It costs no pass over the points (a first picture at once; the window
    replaces it by :func:`build_lod`'s order built in a worker)."""
    if n < 0 or n >= 1 << 32:
        raise ModelError(f"{n} points: a level of detail holds 0 to 2**32 - 1")
    if n == 0:
        return empty_lod()
    kept = n if max_prefix is None else min(n, max(int(max_prefix), 1))
    if kept == n:
        order = _golden_u32(n)
    else:
        order = (np.arange(kept, dtype=np.int64) * _golden_step(n) % n).astype(np.uint32)
    return LevelOfDetail(order, np.array([0, kept], np.int64), (), points=n, provisional=True)


def build_lod(pts: NDArray[np.floating], max_level_points: int = MAX_LEVEL_POINTS,
              max_prefix: int | None = MAX_PREFIX) -> LevelOfDetail:
    """The progressive order of ``pts`` (N, 3+) metres (any frame; x, y, z used) (see the module
    docstring), kept for its first ``max_prefix`` points (None: all; never fewer than the voxel
    levels). Deterministic: the same points give the same order. Raises :class:`ModelError` for a
    bad shape or non-finite coordinates."""
    p = np.asarray(pts)
    if p.ndim != 2 or p.shape[1] < 3:
        raise ModelError(f"points must have shape (N, 3+), got {p.shape}")
    n = len(p)
    if n >= 1 << 32:
        raise ModelError(f"{n} points: at most 2**32 - 1 in one level of detail")
    if n == 0:
        return empty_lod()
    m = min(n, max(1, int(max_level_points)))
    cand = golden_stride(n, m) if m < n else np.arange(n, dtype=np.int64)
    xyz = p[cand, :3]
    if xyz.dtype != np.float32 and xyz.dtype != np.float64:
        xyz = xyz.astype(np.float64)
    sample = xyz[:: max(1, m // 100_000)]
    if not np.isfinite(sample).all():
        raise ModelError("points have NaN or infinite coordinates")
    lo = np.percentile(sample, 0.1, axis=0)
    hi = np.percentile(sample, 99.9, axis=0)
    edge = float(max(hi - lo)) * 1.02 + 1e-3
    lo = lo - (edge - (hi - lo)) / 2  # centre the cube on the robust box
    scale = (1 << BITS) / edge
    key = np.zeros(m, np.uint32)
    for axis in range(3):
        q = (xyz[:, axis] - lo[axis]) * scale
        np.clip(q, 0, (1 << BITS) - 1, out=q)
        key |= _SPREAD[q.astype(np.int32)] << axis
    srt = np.argsort(key)
    ks = key[srt]
    del key
    # runs of equal finest voxels (Morton order keeps every coarser voxel contiguous)
    starts0 = np.flatnonzero(np.concatenate(([True], ks[1:] != ks[:-1])))
    k0 = ks[starts0]
    assigned = np.zeros(m, bool)
    level_idx: list[NDArray[np.int64]] = []
    cells: list[float] = []
    for depth in range(BITS + 1):  # coarse (one voxel) -> fine
        shift = 3 * (BITS - depth)
        kd = k0 >> np.uint32(shift) if shift < 32 else np.zeros_like(k0)
        first = np.flatnonzero(np.concatenate(([True], kd[1:] != kd[:-1])))
        if len(first) > m // 2 and level_idx:
            break
        a = starts0[first]
        e = np.append(a[1:], m)
        span = (e - a).astype(np.uint64)
        h = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(33)
        rep = a + (h % span).astype(np.int64)  # one point at random in each voxel
        new = rep[~assigned[rep]]
        assigned[new] = True
        if len(new):
            new = new[golden_stride(len(new))]  # spread along the Morton curve
        level_idx.append(new)
        cells.append(edge / (1 << depth))
    head = srt[np.concatenate(level_idx)]
    head = cand[head] if m < n else head
    del srt, ks, assigned
    # the rest: the golden stride without the head, as far as kept; the place of point i in the
    # stride is i / P mod n, so the head is struck out without a pass over all points
    kept = n if max_prefix is None else min(n, max(int(max_prefix), len(head)))
    p = _golden_step(n)
    pos = (head.astype(np.int64) * pow(p, -1, n)) % n if n > 1 else head.astype(np.int64)
    keep = np.ones(kept, bool)
    keep[pos[pos < kept]] = False
    order = np.empty(kept, np.uint32)
    order[: len(head)] = head
    if kept == n:
        order[len(head):] = _golden_u32(n)[keep]
    else:
        order[len(head):] = (np.flatnonzero(keep)[: kept - len(head)] * p) % n
    del keep
    sizes = [len(x) for x in level_idx]
    level_starts = np.concatenate(([0], np.cumsum(sizes), [kept])).astype(np.int64)
    return LevelOfDetail(order, level_starts, tuple(float(c) for c in cells),
                         (float(lo[0]), float(lo[1]), float(lo[2])), points=n)


def split_budget(counts: Sequence[int], budget: int | None) -> list[int]:
    """Shares of a point ``budget`` (None: everything) over clouds of ``counts`` points, in
    proportion to their sizes (an accumulation of sweeps: each sweep draws its own prefix); the
    shares sum to ``min(budget, sum(counts))`` and none exceeds its cloud."""
    c = np.asarray(list(counts), dtype=np.int64)
    total = int(c.sum())
    if budget is None or budget >= total:
        return [int(x) for x in c]
    if budget < 0:
        raise ValueError(f"a point budget must be >= 0, got {budget}")
    share = np.floor(c * (budget / total)).astype(np.int64)
    left = int(budget - share.sum())
    if left > 0:  # the largest remainders get one more point
        rem = c * (budget / total) - share
        for i in np.argsort(-rem, kind="stable")[:left]:
            share[i] += 1
    return [int(x) for x in np.minimum(share, c)]


def voxel_occupancy(pts: NDArray[np.floating], cell: float, origin: Sequence[float] = (0.0, 0.0, 0.0)) -> int:
    """Number of distinct voxels of edge ``cell`` metres (grid anchored at ``origin``) holding a
    point of ``pts`` (N, 3+)."""
    if len(pts) == 0:
        return 0
    q = np.floor((np.asarray(pts)[:, :3] - np.asarray(origin)) / float(cell)).astype(np.int64)
    q -= q.min(axis=0)
    dims = q.max(axis=0) + 1
    flat = (q[:, 0] * dims[1] + q[:, 1]) * dims[2] + q[:, 2]
    return int(len(np.unique(flat)))
