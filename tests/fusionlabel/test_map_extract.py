"""Lane-paint extraction from accumulated ground returns (lane-divider proposals)."""

from __future__ import annotations

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.map.extract import accumulate_ground, extract_lane_lines, paint_cells
from fusionlabel.map.geometry import point_to_polyline_distance


def _ground(seed: int = 0) -> np.ndarray:
    """A 60 m x 30 m ground patch (5 points per 0.1 m cell on average): asphalt 0.05 with noise, a
    solid line at y = 0, a dashed line at y = 3.5 (3 m of 9 m), a bright pavement for y > 8 (a step,
    not a line) and a raised bright strip at y = -3 (10 cm up: not on the ground)."""
    rng = np.random.default_rng(seed)
    n = 900_000
    x, y = rng.uniform(0, 60, n), rng.uniform(-6, 12, n)
    z = rng.normal(0.0, 0.005, n)
    inten = 0.05 + rng.normal(0.0, 0.01, n)
    solid = np.abs(y) < 0.07
    dashed = (np.abs(y - 3.5) < 0.07) & (np.mod(x, 9.0) < 3.0)
    inten[solid | dashed] = 0.5 + rng.normal(0.0, 0.02, (solid | dashed).sum())
    inten[y > 8] = 0.4
    raised = np.abs(y + 3) < 0.07
    inten[raised], z[raised] = 0.5, 0.1
    return np.stack([x, y, z, inten], axis=1)


def test_paint_cells_are_thin_bright_stripes_on_the_ground() -> None:
    xy, z = paint_cells(_ground())
    assert len(xy) > 500
    y = xy[:, 1]
    on_lines = (np.abs(y) < 0.2) | (np.abs(y - 3.5) < 0.2)
    assert on_lines.mean() > 0.98  # not the pavement's edge (y = 8), not the raised strip (y = -3)
    assert np.abs(z).max() < 0.02


def test_extracts_the_solid_and_the_dashed_line() -> None:
    props = extract_lane_lines(_ground())
    assert len(props) == 2
    by_y = sorted(props, key=lambda p: float(np.mean(p.element.vertices[:, 1])))
    solid, dashed = by_y
    truth_solid = np.array([[0.0, 0.0], [60.0, 0.0]])
    truth_dashed = np.array([[0.0, 3.5], [60.0, 3.5]])
    assert point_to_polyline_distance(solid.element.vertices[:, :2], truth_solid).max() < 0.1
    assert point_to_polyline_distance(dashed.element.vertices[:, :2], truth_dashed).max() < 0.1
    assert solid.element.attributes["type"] == "solid" and dashed.element.attributes["type"] == "dashed"
    assert solid.details["length_m"] > 55 and dashed.details["length_m"] > 45
    assert 0 < dashed.confidence < solid.confidence <= 1
    assert [p.element.id for p in props] == [0, 1]


def test_accumulate_ground_leaves_out_objects_and_what_stands_above() -> None:
    rng = np.random.default_rng(1)
    g = np.stack([rng.uniform(-20, 20, 20000), rng.uniform(-20, 20, 20000), np.zeros(20000),
                  rng.uniform(0, 1, 20000)], axis=1)
    wall = np.stack([np.full(2000, 10.0), rng.uniform(-5, 5, 2000), rng.uniform(0.5, 3, 2000), np.ones(2000)], axis=1)
    pts = np.concatenate([g, wall])
    T = np.eye(4)
    T[:3, 3] = [100.0, 0.0, 0.0]  # the sensor in the world
    box = Box3D((105.0, 0.0, 0.5), (4.0, 4.0, 2.0), 0.0)
    out = accumulate_ground([(pts, T, [box])])
    assert np.allclose(out[:, 2], 0.0) and (out[:, 0] >= 80).all()
    inside = (np.abs(out[:, 0] - 105.0) < 2.0) & (np.abs(out[:, 1]) < 2.0)
    assert not inside.any() and len(out) > 15000
