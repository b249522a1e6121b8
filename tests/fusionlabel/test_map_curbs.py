"""Kerb extraction: road-boundary proposals on a raised sidewalk's edge, none on a slope, rough
vegetation or flat road."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.map.curbs import CurbParams, curb_cells, extract_curbs
from fusionlabel.map.geometry import point_to_polyline_distance


def _kerb_y(x: np.ndarray) -> np.ndarray:
    return 5.0 + 0.004 * x**2  # a gentle curve (radius ~125 m at x = 0)


def _scene(rng: np.random.Generator, height: float = 0.15, gap: tuple[float, float] | None = (5.0, 9.0)) -> np.ndarray:
    """Ground returns (N, 4) of a 60 m road: flat road up to the kerb, a sidewalk ``height`` m
    higher beyond it, no returns along the kerb inside ``gap`` (a parked car hid it), a 5 %
    slope (-20 < y < -10), and bushes (y < -25: heights 0 - 0.3 m at random)."""
    n = 80_000
    x = rng.uniform(-30.0, 30.0, n)
    y = rng.uniform(-30.0, 12.0, n)
    z = np.where(y > _kerb_y(x), height, 0.0)
    z = np.where((y < -10) & (y > -20), 0.05 * (-10 - y), z)
    z = np.where(y <= -20, 0.5, z)
    bush = y < -25
    z[bush] += rng.uniform(0.0, 0.3, int(bush.sum()))
    z = z + rng.normal(0.0, 0.01, n)
    keep = np.ones(n, dtype=bool)
    if gap is not None:
        keep = ~((x > gap[0]) & (x < gap[1]) & (np.abs(y - _kerb_y(x)) < 1.5))
    return np.stack([x, y, z, np.full(n, 0.1)], axis=1)[keep]


def test_kerb_found_where_it_is() -> None:
    pts = _scene(np.random.default_rng(0))
    props = extract_curbs(pts)
    assert props, "no kerb found"
    best = props[0]
    el = best.element
    assert el.label == "road_boundary" and el.attributes["kind"] == "curb"
    assert best.details["length_m"] > 45.0  # across the hidden stretch
    xs = np.linspace(-25.0, 25.0, 200)
    truth = np.stack([xs, _kerb_y(xs)], axis=1)
    d = point_to_polyline_distance(el.vertices[:, :2], truth)
    inner = np.abs(el.vertices[:, 0]) < 25.0
    assert np.median(d[inner]) < 0.1 and d[inner].max() < 0.3
    assert np.abs(el.vertices[:, 2]).max() < 0.05  # at the road's height (the kerb's foot)
    # nothing on the slope or in the bushes: every proposal is the kerb
    for p in props:
        dd = point_to_polyline_distance(p.element.vertices[:, :2], truth)
        assert np.median(dd) < 0.3, p.details
    assert 0.0 < best.confidence <= 1.0


def test_no_kerb_on_flat_ground_or_a_low_step() -> None:
    rng = np.random.default_rng(1)
    assert extract_curbs(_scene(rng, height=0.0, gap=None)) == []
    assert extract_curbs(_scene(rng, height=0.03, gap=None)) == []  # under the 6 cm step
    xy, z = curb_cells(np.zeros((0, 3)))
    assert xy.shape == (0, 2) and z.shape == (0,)
    with pytest.raises(ValueError, match="curb extraction"):
        curb_cells(np.zeros((5, 2)))
    assert CurbParams().trace_params().max_gap_m == 6.0


def test_scan_ring_steps_are_dropped() -> None:
    """Two rings of returns round a sensor at the origin, the outer 8 cm higher (uneven ground seen
    from one place): a step along a circle, no kerb when the sensor position is given."""
    rng = np.random.default_rng(2)
    th = rng.uniform(-0.6, 0.6, 40_000)
    r = np.where(rng.random(40_000) < 0.5, rng.uniform(8.0, 9.0, 40_000), rng.uniform(9.0, 10.0, 40_000))
    z = np.where(r > 9.0, 0.08, 0.0) + rng.normal(0.0, 0.005, 40_000)
    pts = np.stack([r * np.cos(th), r * np.sin(th), z], axis=1)
    assert extract_curbs(pts)  # without the sensor position the ring step looks like a kerb
    assert extract_curbs(pts, origins=[[0.0, 0.0, 1.8]]) == []
    assert extract_curbs(_scene(np.random.default_rng(0)), origins=[[0.0, -2.0, 1.8]])  # a real kerb stays
