"""Track-level structure cues (``fusionlabel.assist.trackcues``): a wall whose top is never seen,
a wall whose visible part slides along it, a pole and spread-out clutter are told from a parked
car, a standing person and movers, on point sets with known shapes (world frame, metres)."""

from __future__ import annotations

import numpy as np

from fusionlabel.assist.ground import flat_ground
from fusionlabel.assist.prelabel import Detection
from fusionlabel.assist.trackcues import TrackCueParams, track_cues
from fusionlabel.box import Box3D
from fusionlabel.ontology import Ontology

ONTO = Ontology.default()
G = flat_ground(0.0)


def _det(points: np.ndarray, label: str, top_cut: bool) -> Detection:
    c = points.mean(axis=0)
    return Detection(Box3D((float(c[0]), float(c[1]), 1.0), (4.0, 1.8, 1.5), 0.0), label, 0.7, len(points),
                     points=points, ground=G, origin=np.zeros(3), top_cut=top_cut)


def _block(rng: np.random.Generator, x0: float, x1: float, y0: float, y1: float, z1: float, n: int) -> np.ndarray:
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n), rng.uniform(0.2, z1, n)])


def test_walls_are_structure_and_a_parked_car_is_not() -> None:
    rng = np.random.default_rng(0)
    # a thin wall face seen from the road, its top cut by the highest ring at 2.8 m
    thin = {f: _det(_block(rng, 10.0, 19.0, 5.0, 5.05, 2.8, 400), "truck", True) for f in range(20)}
    cues = track_cues(thin, "truck", ONTO, moving=False, small=False)
    assert cues.structure and cues.thickness < 0.3 and cues.factor() < 0.5, cues
    # a 2 m thick building block with an end face, the part in the clustering window sliding along it
    slide = {f: _det(np.vstack([_block(rng, 2.0 * f, 2.0 * f + 9.0, 5.0, 5.05, 3.0, 300),
                                _block(rng, 2.0 * f, 2.0 * f + 0.05, 5.0, 7.0, 3.0, 60)]), "truck", True)
             for f in range(8)}
    cues = track_cues(slide, "truck", ONTO, moving=False, small=False)
    assert cues.structure and cues.length > ONTO["truck"].size.max[0], cues
    # a tall block whose roof is never seen, within a truck's length
    tall = {f: _det(np.vstack([_block(rng, 0.0, 6.0, 5.0, 5.05, 3.1, 300), _block(rng, 0.0, 0.05, 5.0, 7.0, 3.1, 80)]),
                    "truck", True) for f in range(10)}
    assert track_cues(tall, "truck", ONTO, moving=False, small=False).structure
    # a parked car: an L-shape whose roof is seen
    car = {f: _det(np.vstack([_block(rng, 0.0, 4.5, 3.0, 3.05, 1.5, 300), _block(rng, 0.0, 0.05, 3.0, 4.8, 1.5, 100)]),
                   "car", False) for f in range(20)}
    cues = track_cues(car, "car", ONTO, moving=False, small=False)
    assert not cues.structure and not cues.clutter and cues.factor() == 1.0
    # a van beside the sensor whose top is cut but which is neither thin, nor long, nor as tall as a van
    van = {f: _det(np.vstack([_block(rng, 0.0, 5.0, 3.0, 3.05, 1.6, 300), _block(rng, 0.0, 0.05, 3.0, 5.0, 1.6, 100)]),
                   "van", True) for f in range(20)}
    assert not track_cues(van, "van", ONTO, moving=False, small=False).structure
    # a mover is never structure, whatever its points
    assert not track_cues(thin, "truck", ONTO, moving=True, small=False).structure


def test_clutter_and_poles_against_a_standing_person() -> None:
    rng = np.random.default_rng(1)
    person = {f: _det(_block(rng, 0.0, 0.45, 0.0, 0.3, 1.75, 80), "pedestrian", False) for f in range(20)}
    assert track_cues(person, "pedestrian", ONTO, moving=False, small=True).factor() == 1.0
    pole = {f: _det(_block(rng, 0.0, 0.3, 0.0, 0.3, 2.0, 60), "pedestrian", True) for f in range(20)}
    cues = track_cues(pole, "pedestrian", ONTO, moving=False, small=True)
    assert cues.clutter and "pole" in cues.reason
    # a bush: 1.0 x 0.9 m in one sweep, other parts of it in other sweeps
    bush = {f: _det(_block(rng, 0.05 * f, 0.05 * f + 1.0, 0.0, 0.9, 1.3, 40), "pedestrian", False) for f in range(15)}
    cues = track_cues(bush, "pedestrian", ONTO, moving=False, small=True)
    assert cues.clutter and cues.factor() < 0.5, cues
    # the same points moving along: a walker
    assert not track_cues(bush, "pedestrian", ONTO, moving=True, small=True).clutter
    # the factors are parameters
    assert track_cues(pole, "pedestrian", ONTO, False, True).factor(TrackCueParams(clutter_factor=0.5)) == 0.5


def test_a_still_person_is_boxed_from_all_its_frames() -> None:
    """A standing person (0.3 m deep, 0.5 m across the shoulders, facing ``yaw``) seen from a
    passing sensor shows another side in each sweep: the union of its points gives the footprint,
    the heading across the shoulders (up to 180 degrees) and the size."""
    import math

    from fusionlabel.assist.tracklabel import finish_track

    rng = np.random.default_rng(3)
    yaw = 0.6
    c, s = math.cos(yaw), math.sin(yaw)
    dets, times = {}, {}
    for f in range(12):
        u, v = rng.uniform(-0.15, 0.15, 400), rng.uniform(-0.25, 0.25, 400)
        sensor = np.array([-8.0 + 1.5 * f, -6.0])
        x, y = 5.0 + c * u - s * v, 3.0 + s * u + c * v
        facing = (x - 5.0) * (sensor[0] - 5.0) + (y - 3.0) * (sensor[1] - 3.0) > 0  # the side towards the sensor
        pts = np.column_stack([x, y, rng.uniform(0.1, 1.75, 400)])[facing]
        d = _det(pts, "pedestrian", False)
        dets[f] = Detection(d.box, "pedestrian", 0.8, len(pts), points=pts, ground=G,
                            origin=np.array([*sensor, 1.8]), ego_yaw=0.0)
        times[f] = 0.1 * f
    fin = finish_track(dets, times, "pedestrian", ONTO)
    assert not fin.moving
    box = fin.boxes[0]
    assert abs(math.remainder(box.yaw - yaw, math.pi)) < math.radians(20), box  # measured: 15 degrees
    assert abs(box.length - 0.3) < 0.1 and abs(box.width - 0.5) < 0.1, box
    assert np.hypot(box.center[0] - 5.0, box.center[1] - 3.0) < 0.08, box


def test_association_lowers_a_wall_and_says_why() -> None:
    """Through the pre-labeller's association: a still wall face (top cut, a thin plane) and a parked
    car, seen over 12 frames; the wall's proposal sinks below the car's and carries the reason (the
    review dock shows it)."""
    from fusionlabel.assist.prelabel import CUE_ATTRIBUTE, associate

    rng = np.random.default_rng(4)
    frames = list(range(12))
    per_frame = []
    for _ in frames:
        wall = _block(rng, 10.0, 19.0, 5.0, 5.05, 2.8, 500)
        car = np.vstack([_block(rng, 0.0, 4.5, -4.0, -3.95, 1.5, 300), _block(rng, 0.0, 0.05, -5.8, -4.0, 1.5, 100)])
        dets = []
        for pts, label, cut in ((wall, "truck", True), (car, "car", False)):
            c = pts.mean(axis=0)
            size = (9.0, 2.5, 2.8) if label == "truck" else (4.5, 1.8, 1.5)
            dets.append(Detection(Box3D((float(c[0]), float(c[1]), size[2] / 2), size, 0.0), label, 0.8, len(pts),
                                  probabilities={label: 0.9, "bus": 0.1}, points=pts, ground=G,
                                  origin=np.array([0.0, 0.0, 1.8]), top_cut=cut))
        per_frame.append(dets)
    props = associate(per_frame, frames, [int(f * 1e8) for f in frames], ontology=ONTO)
    by_label = {p.label: p for p in props}
    assert set(by_label) == {"truck", "car"}
    wall, car = by_label["truck"], by_label["car"]
    assert "thin plane" in wall.attributes[CUE_ATTRIBUTE] and CUE_ATTRIBUTE not in car.attributes
    assert wall.confidence < 0.5 * car.confidence


def test_a_still_vehicle_is_extended_to_the_frames_it_was_lost() -> None:
    """A parked car observed at frames 5-9 gets its box at up to ``still_extend`` frames before and
    after, where the sensor is within range; not beyond either."""
    from fusionlabel.assist.prelabel import PrelabelParams, _still_extension

    box = Box3D((20.0, 0.0, 0.8), (4.5, 1.8, 1.5), 0.0)
    boxes = dict.fromkeys(range(5, 10), box)
    origins = {f: np.array([2.0 * f, 0.0, 1.8]) for f in range(40)}  # the ego drives along x
    ext = _still_extension(boxes, origins, PrelabelParams(max_range=15.0, still_extend=10))
    assert sorted(ext) == [*range(3, 5), *range(10, 18)]  # 0-2 and 18-19: over 15 m away; 20+: over 10 frames
    assert all(b == box for b in ext.values())
    assert _still_extension(boxes, origins, PrelabelParams(still_extend=0)) == {}
