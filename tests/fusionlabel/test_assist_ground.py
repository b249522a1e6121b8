"""Ground per sweep: the RANSAC plane ignores objects and walls; the piecewise grid follows slopes."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.assist import fit_ground, flat_ground


def _scene(rng: np.random.Generator, height) -> np.ndarray:
    xy = rng.uniform(-40, 40, size=(20000, 2))
    ground = np.column_stack([xy, height(xy[:, 0], xy[:, 1]) + rng.normal(0, 0.02, len(xy))])
    # a car-sized blob, a wall and a roof-like plane at car height
    car = np.column_stack([rng.uniform(-2, 2, 1500), rng.uniform(2, 4, 1500), rng.uniform(0.3, 1.6, 1500)])
    car[:, 2] += height(car[:, 0], car[:, 1])
    wall = np.column_stack([rng.uniform(-30, 30, 3000), np.full(3000, 20.0), rng.uniform(0, 6, 3000)])
    wall[:, 2] += height(wall[:, 0], wall[:, 1])
    roof = np.column_stack([rng.uniform(-30, -10, 3000), rng.uniform(-30, -10, 3000), np.full(3000, 1.5)])
    roof[:, 2] += height(roof[:, 0], roof[:, 1])
    return np.concatenate([ground, car, wall, roof])


def test_plane_fit_recovers_a_tilted_ground_among_objects() -> None:
    rng = np.random.default_rng(1)
    plane = lambda x, y: 0.02 * x - 0.01 * y - 1.73  # noqa: E731
    pts = _scene(rng, plane)
    g = fit_ground(pts, origin=(0, 0, 0), method="plane", frame="velodyne")
    assert g.plane == pytest.approx((0.02, -0.01, -1.73), abs=0.005)
    assert g.frame == "velodyne" and not g.is_grid
    assert g(0.0, 3.0) == pytest.approx(plane(0.0, 3.0), abs=0.02)
    mask = g.ground_mask(pts)
    assert mask[:20000].mean() > 0.99 and mask[20000:21500].mean() < 0.05
    n = g.normal_at(0.0, 0.0)
    assert n[2] > 0.99 and np.linalg.norm(n) == pytest.approx(1.0)


def test_grid_follows_a_slope_that_one_plane_cannot() -> None:
    rng = np.random.default_rng(2)
    ramp = lambda x, y: np.where(x > 10, 0.12 * (x - 10), 0.0)  # noqa: E731
    pts = _scene(rng, ramp)
    grid = fit_ground(pts, origin=(0, 0, 0))
    plane = fit_ground(pts, origin=(0, 0, 0), method="plane")
    xs = np.array([-30.0, -5.0, 5.0, 20.0, 30.0, 35.0])
    ys = np.zeros_like(xs)
    err_grid = np.abs(np.asarray(grid.height_at(xs, ys)) - ramp(xs, ys))
    err_plane = np.abs(np.asarray(plane.height_at(xs, ys)) - ramp(xs, ys))
    assert grid.is_grid and err_grid.max() < 0.3 and err_grid[:3].max() < 0.1
    assert err_plane.max() > 1.5
    # car points stand out of the grid ground too
    assert grid.height_above(np.array([[0.0, 3.0, 1.0]]))[0] == pytest.approx(1.0, abs=0.1)


def test_deterministic_and_clear_errors() -> None:
    rng = np.random.default_rng(3)
    pts = _scene(rng, lambda x, y: 0.0 * x)
    a, b = fit_ground(pts, (0, 0, 0)), fit_ground(pts, (0, 0, 0))
    assert a.plane == b.plane and np.array_equal(a.heights, b.heights)
    with pytest.raises(ValueError, match="points must be"):
        fit_ground(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="only 0 points within"):
        fit_ground(pts + 1000.0, origin=(0, 0, 0))
    with pytest.raises(ValueError, match="method"):
        fit_ground(pts, method="mesh")
    assert flat_ground(0.5)(3.0, 4.0) == 0.5
