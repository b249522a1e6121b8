"""Structure cues of pre-labels (``fusionlabel.assist.structure``) on hand-made sweeps: a top cut by
the highest ring, a structure going on above the height limit, a thin wall, a floating cluster, a
crown on a trunk; and what they do to a pole's proposal."""

from __future__ import annotations

import math

import numpy as np

from fusionlabel.assist.fit import guess_class
from fusionlabel.assist.ground import GroundModel
from fusionlabel.assist.prelabel import cluster_detections
from fusionlabel.assist.structure import ClusterCues, SweepCues, elevations_deg, top_ring_elevation
from fusionlabel.ontology import Ontology

SENSOR_H = 1.73
ORIGIN = np.array([0.0, 0.0, SENSOR_H])
RINGS = tuple(np.linspace(-24.8, 2.0, 64))  # degrees, like the synthetic 64-beam sensor
LIMIT = 4.5


def _flat() -> GroundModel:
    from fusionlabel.assist.ground import fit_ground

    g = np.random.default_rng(0).uniform(-30, 30, (2000, 2))
    return fit_ground(np.column_stack([g, np.zeros(len(g))]), ORIGIN, method="plane")


def _cast_box(cx: float, cy: float, half: tuple[float, float], z: tuple[float, float],
              rings: tuple[float, ...] = RINGS, step_deg: float = 0.1) -> np.ndarray:
    """Returns of the sensor at ORIGIN on an axis-aligned box (BEV half sizes, z range above ground
    0): per ring and azimuth, the nearest hit of the ray on the box (a 2D slab test in BEV)."""
    out = []
    az0 = math.atan2(cy, cx)
    span = math.atan2(max(half) * 1.5, math.hypot(cx, cy))
    for el in np.radians(rings):
        for az in np.arange(az0 - span, az0 + span, math.radians(step_deg)):
            d = np.array([math.cos(az), math.sin(az)])
            with np.errstate(divide="ignore"):
                t1 = (np.array([cx - half[0], cy - half[1]]) - ORIGIN[:2]) / d
                t2 = (np.array([cx + half[0], cy + half[1]]) - ORIGIN[:2]) / d
            tn, tf = float(np.max(np.minimum(t1, t2))), float(np.min(np.maximum(t1, t2)))
            if tn > tf or tf < 0:
                continue
            zz = SENSOR_H + tn * math.tan(el)
            if z[0] <= zz <= z[1]:
                out.append([d[0] * tn, d[1] * tn, zz])
    return np.array(out).reshape(-1, 3)


def _background() -> np.ndarray:
    """Ground rings and a far building facade (every ring hits it: the top ring is known)."""
    pts = []
    for el in np.radians(RINGS):
        for az in np.radians(np.arange(-180, 180, 0.5)):
            if el < 0 and SENSOR_H / math.tan(-el) < 60:
                r = SENSOR_H / math.tan(-el)
                pts.append([r * math.cos(az), r * math.sin(az), 0.0])
            elif 100 < az * 180 / math.pi < 140:
                pts.append([80 * math.cos(az), 80 * math.sin(az), SENSOR_H + 80 * math.tan(el)])
    return np.array(pts)


def _sweep_cues(obj: np.ndarray, high: np.ndarray | None = None, top_elev: float | None = 2.0) -> ClusterCues:
    h = obj[:, 2]
    hi = np.zeros((0, 3)) if high is None else high
    sc = SweepCues(obj, h, elevations_deg(obj, ORIGIN), top_elev, hi, hi[:, 2], LIMIT)
    return sc.cues(np.arange(len(obj)), 3.2)


def test_top_ring_elevation_ignores_strays() -> None:
    el = np.concatenate([np.full(50, 2.0), np.linspace(-20, 1.5, 500), [4.0, 3.1]])
    assert top_ring_elevation(el) == 2.0
    assert top_ring_elevation(np.array([1.0, 2.0])) is None


def test_pole_cut_by_the_top_ring_is_not_a_pedestrian() -> None:
    pole = _cast_box(10.0, 0.0, (0.15, 0.15), (0.25, 8.0))
    cues = _sweep_cues(pole)
    assert cues.top_unseen and cues.min_height is not None and cues.min_height > 2.0
    assert cues.factor(small=True) < 0.5 and cues.factor(small=False) == 1.0
    # a walker's head is below the top ring: its top is seen
    walker = _cast_box(10.0, 0.0, (0.25, 0.15), (0.25, 1.75))
    assert not _sweep_cues(walker).top_unseen
    # through the whole pipeline: the pole's proposal drops (or scores far below the walker's)
    onto = Ontology.default()
    g = _flat()
    bg = _background()
    scores = {}
    for name, obj in (("pole", pole), ("walker", walker)):
        dets = cluster_detections(np.vstack([bg, obj]), ORIGIN, onto, g)
        near = [d for d in dets if math.dist(d.box.center[:2], (10.0, 0.0)) < 1.0]
        scores[name] = max((d.score for d in near), default=0.0)
    assert scores["walker"] > 0.2
    assert scores["pole"] < 0.5 * scores["walker"]


def test_height_bound_in_the_class_guess() -> None:
    onto = Ontology.default()
    seen = guess_class((0.3, 0.3), 2.1, onto)
    bound = guess_class((0.3, 0.3), 2.1, onto, height_bound=True)
    assert bound.probabilities["pedestrian"] * bound.fit < seen.probabilities["pedestrian"] * seen.fit
    # a truck cut at 2.2 m: no height cost as a truck (it may be taller)
    t_seen = guess_class((8.0, 2.5), 2.2, onto)
    t_bound = guess_class((8.0, 2.5), 2.2, onto, height_bound=True)
    assert t_bound.fit > t_seen.fit


def test_structure_going_on_above_the_height_limit() -> None:
    crown = _cast_box(20.0, 0.0, (1.0, 0.4), (0.25, 7.0), rings=tuple(np.linspace(-16, 15, 60)))
    obj, high = crown[crown[:, 2] <= LIMIT], crown[(crown[:, 2] > LIMIT) & (crown[:, 2] <= LIMIT + 2.0)]
    cues = _sweep_cues(obj, high, top_elev=15.0)
    assert cues.top_unseen and cues.min_height is not None and cues.min_height > LIMIT + 1.0
    # a car under a canopy: points above the limit over it, but the car does not reach up there
    car = _cast_box(20.0, 0.0, (2.2, 0.9), (0.25, 1.5))
    assert not _sweep_cues(car, high, top_elev=15.0).top_unseen


def test_thin_wall_and_vehicle_corner() -> None:
    wall = _cast_box(12.0, 0.0, (0.1, 4.0), (0.25, 6.0))  # a 8 m long facade face on, cut at the top
    cues = _sweep_cues(wall)
    assert cues.top_unseen and cues.wall and cues.factor(small=False) < 0.5
    # a van's corner with the top cut: an L, not a plane
    van = _cast_box(8.0, 3.0, (2.5, 1.0), (0.3, 2.6))
    cv = _sweep_cues(van)
    assert cv.top_unseen and not cv.wall


def test_floating_and_top_heavy() -> None:
    wide = tuple(np.linspace(-16, 15, 60))  # a sensor with a wide vertical field of view
    board = _cast_box(15.0, 0.0, (0.2, 1.5), (2.6, 4.0), rings=wide)  # a sign board / an awning
    assert len(board) > 10 and _sweep_cues(board, top_elev=15.0).floating
    trunk = _cast_box(25.0, 0.0, (0.15, 0.15), (0.25, 2.0), rings=wide)
    crown = _cast_box(25.0, 0.0, (1.2, 1.5), (2.0, 4.2), rings=wide)
    tree = np.vstack([trunk, crown[crown[:, 2] > 2.0 + 0.3 * np.abs(crown[:, 1])]])  # a rounded crown
    ct = _sweep_cues(tree, top_elev=15.0)
    assert ct.top_heavy and ct.factor(small=False) < 0.5
    truck_side = _cast_box(25.0, 0.0, (1.25, 4.0), (0.3, 3.4), rings=wide)
    assert not _sweep_cues(truck_side, top_elev=15.0).top_heavy
    car = _cast_box(25.0, 0.0, (2.2, 0.9), (0.25, 1.5), rings=wide)
    cc = _sweep_cues(car, top_elev=15.0)
    assert not (cc.top_heavy or cc.floating or cc.top_unseen or cc.wall)


def test_partly_hidden_car_is_not_a_crown() -> None:
    # a car behind a parked one: its upper part over the other's roof and one wheel through a gap
    wide = tuple(np.linspace(-16, 15, 60))
    upper = _cast_box(25.0, 0.0, (2.2, 0.9), (1.05, 1.5), rings=wide)
    wheel = _cast_box(25.0, 1.6, (0.4, 0.3), (0.25, 0.7), rings=wide)
    cues = _sweep_cues(np.vstack([upper, wheel]), top_elev=15.0)
    assert not cues.top_heavy and cues.factor(small=False) == 1.0
