"""Compact sweep storage (``fusionlabel.packed``): int16 offsets at 1 cm (coarser only where the
sweep's extent needs it) and float16 intensities; dequantized within half a code step."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.packed import CODE_MAX, SCALE, pack_points


def _tol(pts: np.ndarray, scale: float) -> float:
    # half a code step, plus float32 rounding of the world coordinate (its last bits)
    return scale / 2 + 4 * float(np.spacing(np.float32(np.abs(pts).max() + 1.0)))


def test_round_trip_within_half_a_centimetre() -> None:
    rng = np.random.default_rng(0)
    pts = (rng.normal(size=(50_000, 3)) * [30, 30, 2] + [1200.0, -350.0, 12.0]).astype(np.float32)
    inten = rng.random(len(pts)).astype(np.float32)
    p = pack_points(pts, inten)
    assert p is not None and p.scale == SCALE
    assert p.codes.dtype == np.int16 and p.codes.shape == (len(pts), 3)
    assert p.intensity.dtype == np.float16 and p.origin.dtype == np.float32
    back = p.points()
    assert back.dtype == np.float32 and back.shape == pts.shape
    assert float(np.abs(back - pts).max()) <= _tol(pts, p.scale)
    assert float(np.abs(p.intensities() - inten).max()) <= 2.0**-11  # float16 near 1
    assert p.nbytes == len(pts) * 8 + 12  # half the 16 bytes a point of float32 x, y, z, i
    idx = rng.choice(len(pts), 999, replace=False)
    assert np.array_equal(p.points(idx), back[idx]) and np.array_equal(p.intensities(idx), p.intensities()[idx])


def test_coarse_scale_where_the_extent_needs_it() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(-900, 900, size=(20_000, 3)).astype(np.float32)  # 1.8 km across
    pts[0] = (-900, -900, -900)
    pts[1] = (900, 900, 900)
    p = pack_points(pts, np.zeros(len(pts), np.float32))
    assert p is not None and p.scale > SCALE
    assert p.scale == pytest.approx(900 / (CODE_MAX - 1), rel=1e-3)
    assert int(np.abs(p.codes.astype(np.int32)).max()) <= CODE_MAX
    assert float(np.abs(p.points() - pts).max()) <= _tol(pts, p.scale)


def test_empty_and_single_point_sweeps() -> None:
    p = pack_points(np.zeros((0, 3), np.float32), np.zeros(0, np.float32))
    assert p is not None and p.n == 0 and p.points().shape == (0, 3) and p.intensities().shape == (0,)
    assert p.points(np.zeros(0, np.int64)).shape == (0, 3)
    one = np.array([[5.0, -3.0, 1.25]], np.float32)
    q = pack_points(one, np.array([0.5], np.float32))
    assert q is not None and np.abs(q.points() - one).max() <= _tol(one, q.scale)


def test_non_finite_points_are_not_packed_and_big_intensities_stay_float32() -> None:
    pts = np.zeros((4, 3), np.float32)
    pts[2, 1] = np.nan
    assert pack_points(pts, np.zeros(4, np.float32)) is None
    big = pack_points(np.zeros((2, 3), np.float32), np.array([1.0, 1e6], np.float32))
    assert big is not None and big.intensity.dtype == np.float32
    with pytest.raises(ValueError):
        pack_points(np.zeros((3, 2), np.float32), np.zeros(3, np.float32))
