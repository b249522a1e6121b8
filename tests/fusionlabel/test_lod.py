"""Level of detail (fusionlabel.lod): the progressive order is a permutation, its prefixes are
spatially uniform, its memory is bounded, budgets are respected."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.errors import ModelError
from fusionlabel.lod import build_lod, golden_stride, split_budget, voxel_occupancy


def lidar_like(n: int, seed: int = 0) -> np.ndarray:
    """A sweep-like cloud (N, 3) float32: dense ground near the sensor, sparse far, a few walls."""
    rng = np.random.default_rng(seed)
    r = (2 + 78 * rng.uniform(0, 1, n) ** 2).astype(np.float32)  # density falls with range
    a = rng.uniform(-np.pi, np.pi, n).astype(np.float32)
    z = rng.normal(0, 0.05, n).astype(np.float32)
    wall = rng.uniform(0, 1, n) < 0.2
    z[wall] = rng.uniform(0, 4, int(wall.sum()))
    return np.column_stack([r * np.cos(a), r * np.sin(a), z]).astype(np.float32)


def test_golden_stride_is_a_permutation_with_even_prefixes() -> None:
    for n in (1, 2, 7, 100, 1000, 4096):
        g = golden_stride(n)
        assert np.array_equal(np.sort(g), np.arange(n))
    g = golden_stride(10_000, 100)  # 100 terms: about one in every 100-wide bin
    assert np.bincount(g // 100, minlength=100).max() <= 2
    per_500 = np.bincount(g // 500, minlength=20)
    assert per_500.min() >= 4 and per_500.max() <= 6


@pytest.mark.parametrize("n", [0, 1, 5, 1000, 60_000])
def test_order_is_a_permutation(n: int) -> None:
    pts = lidar_like(n)
    lod = build_lod(pts)
    assert lod.order.dtype == np.uint32 and len(lod.order) == n
    assert np.array_equal(np.sort(lod.order), np.arange(n))
    assert lod.level_starts[0] == 0 and lod.level_starts[-1] == n == lod.n
    assert np.all(np.diff(lod.level_starts) >= 0)
    assert len(lod.level_starts) == lod.levels + 2


def test_order_is_a_permutation_with_a_level_subsample() -> None:
    pts = lidar_like(50_000, 3)
    lod = build_lod(pts, max_level_points=5000)  # the voxel levels from a 5000-point subsample
    assert np.array_equal(np.sort(lod.order), np.arange(50_000))
    assert lod.level_starts[-2] <= 5000


def test_each_voxel_level_has_one_point_per_occupied_voxel() -> None:
    pts = lidar_like(40_000, 1)
    lod = build_lod(pts)
    origin = np.asarray(lod.origin)
    # the octree's cube is the robust box (0.1-99.9 %): points beyond it count in its edge voxels
    pts = np.clip(pts, origin, origin + lod.cell_sizes[0] * (1 - 1e-6)).astype(np.float64)
    for j, cell in enumerate(lod.cell_sizes):
        k = lod.level_budget(j)
        full = voxel_occupancy(pts, cell, origin)
        # the prefix through level j covers every occupied voxel of that level's grid (but for
        # points on a voxel boundary, rounded the other way in float32)...
        assert voxel_occupancy(pts[lod.order[:k]], cell, origin) >= full - max(1, full // 1000)
        # ...with no more points than voxels in any coarser level combined
        assert k <= sum(voxel_occupancy(pts, c, origin) for c in lod.cell_sizes[: j + 1])


@pytest.mark.parametrize("frac", [0.02, 0.1, 0.3])
def test_prefixes_are_spatially_uniform(frac: float) -> None:
    """Voxel occupancy (on a grid of its own, not the octree's) of a prefix of k points is close to
    the most it can be, min(k, occupancy of the whole cloud), and much closer than that of a
    random subsample of the same size."""
    n = 100_000
    pts = lidar_like(n, 2)
    lod = build_lod(pts)
    k = int(frac * n)
    rng = np.random.default_rng(5)
    for cell in (2.0, 5.0):
        most = min(k, voxel_occupancy(pts, cell, (0.37, -0.21, 0.05)))
        pre = voxel_occupancy(pts[lod.order[:k]], cell, (0.37, -0.21, 0.05)) / most
        rnd = voxel_occupancy(pts[rng.choice(n, k, replace=False)], cell, (0.37, -0.21, 0.05)) / most
        assert pre >= 0.7 and pre >= rnd + 0.4 * (1 - rnd), (cell, k, pre, rnd)


def test_subsampled_levels_keep_big_clouds_uniform() -> None:
    n = 400_000
    pts = lidar_like(n, 4)
    lod = build_lod(pts, max_level_points=50_000)
    k = 20_000
    most = min(k, voxel_occupancy(pts, 5.0))
    rnd = voxel_occupancy(pts[np.random.default_rng(1).choice(n, k, replace=False)], 5.0) / most
    pre = voxel_occupancy(pts[lod.order[:k]], 5.0) / most
    assert pre >= 0.7 and pre >= rnd + 0.4 * (1 - rnd), (pre, rnd)


def test_memory_overhead_is_bounded() -> None:
    n = 200_000
    pts = lidar_like(n)
    raw = pts.nbytes + 4 * n  # x, y, z, intensity float32
    lod = build_lod(pts)
    assert lod.nbytes < 0.5 * raw
    assert lod.nbytes <= 4 * n + 8 * (lod.levels + 2)
    short = build_lod(pts, max_prefix=100_000)  # the order kept for 100k points: 0.125x raw
    assert len(short.order) == 100_000 and short.nbytes <= 4 * 100_000 + 8 * (short.levels + 2)


def test_a_shortened_order_keeps_the_levels_and_serves_budgets() -> None:
    n = 50_000
    pts = lidar_like(n, 6)
    full, short = build_lod(pts), build_lod(pts, max_prefix=30_000)
    assert short.n == n and len(short.order) == 30_000
    assert np.array_equal(short.order, full.order[:30_000])  # the same order, cut
    assert np.array_equal(short.level_starts[:-1], full.level_starts[:-1]) and short.level_starts[-1] == 30_000
    assert short.count(5000) == 5000 and short.count(40_000) == 30_000
    assert short.count(n) == short.count(None) == n
    assert short.take(pts, None) is pts and len(short.take(pts, 40_000)) == 30_000
    assert np.array_equal(np.sort(short.prefix(None)), np.arange(n))
    tiny = build_lod(pts, max_prefix=1)  # never shorter than the voxel levels
    assert len(tiny.order) == tiny.level_starts[-2] > 1


def test_budgets_are_respected_and_take_gives_prefix_rows() -> None:
    pts = lidar_like(10_000)
    lod = build_lod(pts)
    for budget in (0, 1, 999, 10_000, 50_000, None):
        k = lod.count(budget)
        assert k == (10_000 if budget is None else min(budget, 10_000))
        got = lod.take(pts, budget)
        assert len(got) == k
        assert np.array_equal(got, pts if k == 10_000 else pts[lod.order[:k]])
    assert lod.take(pts, None) is pts  # no copy for the whole cloud
    with pytest.raises(ValueError):
        lod.count(-1)
    with pytest.raises(ModelError, match="10000 points"):
        lod.take(pts[:5], 3)


def test_deterministic() -> None:
    pts = lidar_like(20_000)
    assert np.array_equal(build_lod(pts).order, build_lod(pts.copy()).order)


def test_bad_input_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="shape"):
        build_lod(np.zeros((5, 2)))
    bad = lidar_like(10)
    bad[3, 1] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        build_lod(bad)


def test_outliers_do_not_flatten_the_octree() -> None:
    pts = lidar_like(20_000)
    pts[0] = (1e6, 1e6, 0)  # one wild point
    lod = build_lod(pts)
    assert min(lod.cell_sizes) < 5.0
    assert np.array_equal(np.sort(lod.order), np.arange(20_000))


def test_split_budget() -> None:
    assert split_budget([100, 300], None) == [100, 300]
    assert split_budget([100, 300], 1000) == [100, 300]
    s = split_budget([100, 300, 7], 101)
    assert sum(s) == 101 and s[1] > s[0] > s[2] >= 0
    assert split_budget([5, 5, 5], 2) == [1, 1, 0]
    assert split_budget([], 10) == []
    with pytest.raises(ValueError):
        split_budget([3], -1)


def test_stride_lod_is_a_provisional_golden_stride_prefix() -> None:
    from fusionlabel.lod import stride_lod

    n = 10_007
    lod = stride_lod(n, max_prefix=3000)
    assert lod.provisional and lod.levels == 0 and lod.n == n
    assert np.array_equal(lod.order, golden_stride(n, 3000))
    assert len(np.unique(lod.order)) == 3000  # distinct points
    assert lod.count(500) == 500 and lod.count(5000) == 3000 and lod.count(None) == n
    full = stride_lod(n, max_prefix=None)
    assert np.array_equal(np.sort(full.order), np.arange(n))
    assert not build_lod(lidar_like(2000)).provisional
    assert stride_lod(0).n == 0
    with pytest.raises(ModelError):
        stride_lod(-1)
