"""The map of a synthetic road: its ground truth as map elements, and the junction's paint.

The road of :mod:`fusionlabel.synth.road` carries painted lines: a double solid yellow centre line
(two 0.12 m lines at d = +-0.15), dashed white lane lines at |d| = 3.5 (3 m painted every 9 m of
s) and solid white edge lines at |d| = 7 (broken where the side street joins); the kerb (road
boundary) runs at |d| = 10.5 and follows the side street's edges (a = +-7) into it. At the side
street this module adds a zebra crossing (stripes 0.5 m wide every 1 m, parallel to the street,
over |a| <= 6.25 and k in [11, 14]) and a 0.4 m stop line for the traffic leaving the street
(k = 15.2, a in [0.2, 6.8]), painted by :func:`fusionlabel.synth.junction.junction_paint` into the
ground appearance (camera colour and LiDAR reflectivity, so both show them).

:func:`road_map` gives the ground truth: map elements (world frame, z = 0, vertices at most
``step`` m apart along the arc) along s in [s_from, s_to], each line on the centre of its paint.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import polygon_area
from fusionlabel.synth.junction import CROSSWALK_HALF_WIDTH, CROSSWALK_K, STOP_LINE_A, STOP_LINE_K
from fusionlabel.synth.road import LANE_WIDTH, PARKING_EDGE, ROAD_EDGE, SIDE_STREET_HALF_WIDTH, Road

F64 = NDArray[np.float64]

#: How far into the side street (k, m) its boundaries and drivable area run in the map.
SIDE_STREET_MAP_LENGTH = 60.0
#: The edge line at d = -7 is not painted where |a| < this (the junction, see Road.ground_appearance).
EDGE_LINE_GAP_A = 7.5


def _xyz(xy: F64) -> F64:
    return np.concatenate([xy, np.zeros((xy.shape[0], 1))], axis=1)


def _arc(road: Road, s_a: float, s_b: float, d: float, step: float) -> F64:
    """World points (M, 3) along the line at offset ``d`` from s_a to s_b (either order)."""
    n = max(int(np.ceil(abs(s_b - s_a) / step)), 1) + 1
    s = np.linspace(s_a, s_b, n)
    return _xyz(road.to_world(s, np.full_like(s, d)))


def _s_at_a(road: Road, d: float, a: float) -> float:
    """Arc length s where the line at offset ``d`` crosses the side-street coordinate ``a``."""
    assert road.side_street_s is not None
    s = np.linspace(road.side_street_s - 30.0, road.side_street_s + 30.0, 6001)
    xy = road.to_world(s, np.full_like(s, d))
    aa, _ = road.side_street_coords(xy[:, 0], xy[:, 1])
    s0 = float(np.interp(a, aa, s))
    for _ in range(3):  # refine on the exact curve (a is nearly linear in s here)
        p = road.to_world(s0, d)
        a0, _ = road.side_street_coords(p[0], p[1])
        p1 = road.to_world(s0 + 1e-3, d)
        a1, _ = road.side_street_coords(p1[0], p1[1])
        s0 += (a - float(a0)) / ((float(a1) - float(a0)) / 1e-3)
    return s0


def _street(road: Road, a: float, k_from: float, k_to: float, step: float) -> F64:
    """World points (M, 3) along the side street at coordinate ``a`` from k_from to k_to."""
    assert road.side_street_s is not None
    c = road.to_world(road.side_street_s, 0.0)
    t, n = road.tangent_normal(road.side_street_s)
    m = max(int(np.ceil(abs(k_to - k_from) / step)), 1) + 1
    k = np.linspace(k_from, k_to, m)[:, None]
    return _xyz(c + a * t - k * n)


def _street_k(road: Road, p: F64) -> float:
    _, k = road.side_street_coords(p[0], p[1])
    return float(k)


def road_map(road: Road, s_from: float, s_to: float, step: float = 1.0) -> list[MapElement]:
    """The ground-truth map elements of ``road`` between arc lengths ``s_from`` < ``s_to`` (see
    the module doc): lane dividers (centre double solid yellow, lane lines dashed white, edge lines
    solid white), road boundaries (kerbs, kind curb), and with a side street a pedestrian crossing,
    a stop line; one drivable-area polygon (kerb to kerb, the side street included). Ids from 0."""
    out: list[MapElement] = []

    def add(label: str, v: F64, **attrs: str) -> None:
        out.append(MapElement(len(out), label, v, attrs))

    add("lane_divider", _arc(road, s_from, s_to, 0.0, step), type="double_solid", color="yellow")
    for d in (-LANE_WIDTH, LANE_WIDTH):
        add("lane_divider", _arc(road, s_from, s_to, d, step), type="dashed", color="white")
    add("lane_divider", _arc(road, s_from, s_to, ROAD_EDGE, step), type="solid", color="white")
    add("road_boundary", _arc(road, s_from, s_to, PARKING_EDGE, step), kind="curb")
    left_kerb = out[-1].vertices
    ss = road.side_street_s
    if ss is None or not s_from + 20.0 < ss < s_to - 20.0:
        add("lane_divider", _arc(road, s_from, s_to, -ROAD_EDGE, step), type="solid", color="white")
        add("road_boundary", _arc(road, s_from, s_to, -PARKING_EDGE, step), kind="curb")
        right = [out[-1].vertices]
    else:
        s_gap = (_s_at_a(road, -ROAD_EDGE, -EDGE_LINE_GAP_A), _s_at_a(road, -ROAD_EDGE, EDGE_LINE_GAP_A))
        add("lane_divider", _arc(road, s_from, s_gap[0], -ROAD_EDGE, step), type="solid", color="white")
        add("lane_divider", _arc(road, s_gap[1], s_to, -ROAD_EDGE, step), type="solid", color="white")
        half = SIDE_STREET_HALF_WIDTH  # the street's asphalt edges
        s_kerb = (_s_at_a(road, -PARKING_EDGE, -half), _s_at_a(road, -PARKING_EDGE, half))
        k_end = SIDE_STREET_MAP_LENGTH
        before = _arc(road, s_from, s_kerb[0], -PARKING_EDGE, step)
        into = _street(road, -half, _street_k(road, before[-1]), k_end, step)
        after = _arc(road, s_kerb[1], s_to, -PARKING_EDGE, step)
        out_of = _street(road, half, k_end, _street_k(road, after[0]), step)
        add("road_boundary", np.concatenate([before, into[1:]]), kind="curb")
        add("road_boundary", np.concatenate([out_of, after[1:]]), kind="curb")
        right = [out[-2].vertices, out[-1].vertices]
        k0, k1 = CROSSWALK_K
        w = CROSSWALK_HALF_WIDTH
        corners = [_street(road, a, k_a, k_a, step)[0] for a, k_a in ((-w, k0), (w, k0), (w, k1), (-w, k1))]
        add("ped_crossing", np.array(corners))
        add("stop_line", np.array([_street(road, a, STOP_LINE_K, STOP_LINE_K, step)[0] for a in STOP_LINE_A]))
    ring = np.concatenate([*right, left_kerb[::-1]])
    if polygon_area(ring) < 0:
        ring = ring[::-1]
    add("drivable_area", ring)
    return out

