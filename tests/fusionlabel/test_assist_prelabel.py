"""Pre-labels: association of per-frame detections into tracks, and the whole pipeline on a short
ray-cast synthetic sequence (a looser floor than the benchmark's 20-frame target)."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest

from fusionlabel.assist import Detection, associate, evaluate_prelabels, prelabel
from fusionlabel.assist.prelabel import PrelabelParams, drop_overlapping
from fusionlabel.box import Box3D
from tests.conftest import load_benchmark


def _det(x: float, y: float, label: str = "car", score: float = 0.7, yaw: float = 0.0) -> Detection:
    return Detection(Box3D((x, y, 0.8), (4.4, 1.8, 1.5), yaw), label, score)


def test_crossing_objects_keep_their_ids() -> None:
    frames = list(range(12))
    times = [f * 100_000_000 for f in frames]
    dets = []
    for f in frames:
        t = f * 0.1
        a = _det(-6.0 + 10.0 * t, 0.0)  # 10 m/s along +x
        b = _det(0.0, -6.0 + 10.0 * t, yaw=math.pi / 2)  # 10 m/s along +y: they cross at t = 0.6
        c = _det(30.0, 30.0, "pedestrian", 0.4)  # a standing pedestrian
        row = [b, a] if f % 2 else [a, b]
        if f == 5:
            row = [row[0]]  # a missed detection
        dets.append([*row, c])
    props = associate(dets, frames, times)
    assert len(props) == 3
    by_label = sorted((p.label, len(p.boxes)) for p in props)
    assert by_label == [("car", 11), ("car", 12), ("pedestrian", 12)]
    for p in props:
        xs = np.array([p.boxes[f].center for f in sorted(p.boxes)])
        # one object per proposal: one coordinate constant
        assert min(np.ptp(xs[:, 0]), np.ptp(xs[:, 1])) < 1e-9
        if p.label == "car":
            assert 0.5 < p.confidence <= 0.7
    ped = next(p for p in props if p.label == "pedestrian")
    assert ped.confidence == pytest.approx(0.4 * (1 - math.exp(-4)))


def test_gating_short_tracks_and_moving_heading() -> None:
    frames = [0, 1, 2]
    times = [0, 100_000_000, 200_000_000]
    # a car moving in -x with boxes yawed +x (L-shape cannot tell): heading follows the motion;
    # a one-frame blip far away is dropped (min_hits 2); a jump beyond the gate starts a new track
    dets = [[_det(10.0, 0.0), _det(80.0, 80.0)], [_det(9.0, 0.0)], [_det(8.0, 0.0), _det(8.0, 20.0)]]
    props = associate(dets, frames, times, PrelabelParams(min_hits=2))
    assert len(props) == 1 and sorted(props[0].boxes) == [0, 1, 2]
    assert all(abs(abs(b.yaw) - math.pi) < 1e-9 for b in props[0].boxes.values())
    one = associate(dets, frames, times, PrelabelParams(min_hits=1))
    assert len(one) == 3


def test_drop_overlapping_human_boxes() -> None:
    props = associate([[_det(0.0, 0.0)], [_det(0.1, 0.0)]], [0, 1], [0, 100_000_000])
    human = {1: [Box3D((0.1, 0.0, 0.8), (4.5, 1.9, 1.6), 0.0)]}
    kept = drop_overlapping(props, lambda f: human.get(f, []))
    assert len(kept) == 1 and sorted(kept[0].boxes) == [0]
    assert drop_overlapping(props, lambda f: [Box3D((0.05, 0.0, 0.8), (4.5, 1.9, 1.6), 0.0)]) == []


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_assist")


def test_prelabel_synthetic_sequence(bench: ModuleType) -> None:
    inputs, gt, labels, pts, sensor = bench.synth_inputs(1, 8, azimuths=900)
    res = prelabel(inputs)
    assert res.frames == 8 and set(res.detections) == set(range(8))
    score = evaluate_prelabels(gt, labels, res.proposals, sensor, label="car", points=pts)
    assert score.gt_boxes > 80
    assert score.recall >= 0.7, score.summary()
    assert score.precision_label >= 0.7, score.summary()
    assert score.id_switches <= 3, score.summary()
    assert all(0.0 <= p.confidence <= 1.0 for p in res.proposals)
    assert [p.proposal_id for p in res.proposals] == list(range(len(res.proposals)))
    # independent frames (KITTI object): one proposal per detection, nothing associated
    single = prelabel(inputs[:2], independent_frames=True)
    assert all(len(p.boxes) == 1 for p in single.proposals)
    assert len(single.proposals) == sum(len(v) for v in single.detections.values())
    one = prelabel(inputs[:1])  # a one-frame sequence is not dropped by min_hits
    assert len(one.proposals) == len(one.detections[0]) > 0


def test_nms_drops_fragments_inside_a_bigger_detection() -> None:
    """A cluster split off an object (most of its points inside the object's box) is dropped; an
    object beside it (its points outside) and a detection without points are kept."""
    from fusionlabel.assist.prelabel import Detection, nms

    rng = np.random.default_rng(0)
    car = Box3D((10.0, 0.0, 0.8), (4.5, 1.9, 1.6), 0.0)
    car_pts = rng.uniform([8.0, -0.9, 0.1], [12.0, 0.9, 1.5], (300, 3))
    frag_pts = rng.uniform([11.6, 0.5, 0.3], [12.1, 0.95, 1.0], (25, 3))  # a corner split off
    ped_pts = rng.uniform([10.0, 1.45, 0.1], [10.4, 1.85, 1.7], (40, 3))  # walks beside the car
    dets = [
        Detection(car, "car", 0.6, len(car_pts), points=car_pts),
        Detection(Box3D((11.85, 0.72, 0.85), (0.8, 0.7, 1.7), 0.0), "pedestrian", 0.7, len(frag_pts), points=frag_pts),
        Detection(Box3D((10.2, 1.65, 0.9), (0.8, 0.7, 1.8), 0.0), "pedestrian", 0.5, len(ped_pts), points=ped_pts),
        Detection(Box3D((30.0, 5.0, 0.8), (4.5, 1.9, 1.6), 0.0), "car", 0.4, 0, source="detector:x"),
    ]
    kept = nms(dets, 0.3)
    labels = sorted((d.label, d.n_points) for d in kept)
    assert labels == [("car", 0), ("car", 300), ("pedestrian", 40)]
    # without the containment step the fragment survives (its BEV IoU with the car is small)
    assert len(nms(dets, 0.3, contained=1.01)) == 4


def test_standing_walker_track_is_headed_by_its_upper_body() -> None:
    """Pre-labels re-box a still walker track from the union of its points: it faces across its
    upper body (shoulders wider than deep), whatever its legs do (here mid-stride), with or without
    the ego pose (FrameInput's ``T_world_from_ego``). (It used to take the ego axis nearest its
    stride; the synthetic standing people face anywhere, and the ego-axis snap cost their boxes
    15-30 degrees: docs/assist.md, track-level cues.)"""
    from fusionlabel.assist import FrameInput
    from tests.fusionlabel.test_assist_oneclick_geometry import _striding_walker

    ego = math.radians(30.0)
    T_ego = np.eye(4)
    T_ego[:2, :2] = [[math.cos(ego), -math.sin(ego)], [math.sin(ego), math.cos(ego)]]
    gx, gy = np.meshgrid(np.arange(4.0, 20.0, 0.25), np.arange(-6.0, 10.0, 0.25))
    ground = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    c = np.array([12.0, 2.0])
    truth = ego + math.pi / 2

    def run(with_ego: bool) -> float:
        frames = []
        for k in range(3):
            walker = _striding_walker(c, truth + math.radians(25.0), np.random.default_rng(k))
            pts = np.concatenate([walker, ground]).astype(np.float32)
            frames.append(FrameInput(k, k * 100_000_000, pts, np.eye(4), "lidar",
                                     T_world_from_ego=T_ego if with_ego else None))
        res = prelabel(frames)
        walkers = [p for p in res.proposals if p.label == "pedestrian"]
        assert len(walkers) == 1, [(p.label, p.boxes) for p in res.proposals]
        return walkers[0].boxes[1].yaw

    def err(yaw: float) -> float:
        return abs((math.degrees(yaw - truth) + 90.0) % 180.0 - 90.0)

    own = truth + math.radians(25.0)  # the walker's own heading
    for with_ego in (True, False):
        got = run(with_ego)
        assert abs((math.degrees(got - own) + 90.0) % 180.0 - 90.0) < 8.0, math.degrees(got - own)


def test_a_track_faster_than_a_walker_is_a_rider_and_keeps_its_seen_class_when_slow() -> None:
    """Points that look a little more like a person than a rider (a rider seen from behind): at
    1.4 m/s the track is a pedestrian, at 3.9 m/s (faster than people walk) a cyclist; a class
    that cannot move that fast is never chosen, whatever its probabilities."""
    from fusionlabel.assist.prelabel import WALKER_SPEED, _track_class, _track_speed
    from fusionlabel.ontology import Ontology

    onto = Ontology.default()
    times = {f: 0.1 * f for f in range(20)}

    def dets(speed: float) -> dict[int, Detection]:
        return {f: Detection(Box3D((speed * times[f], 2.0, 0.9), (0.8, 0.7, 1.8), 0.0), "pedestrian", 0.7, 80,
                             probabilities={"pedestrian": 0.62, "cyclist": 0.38, "car": 0.0}) for f in times}

    slow, fast = dets(1.4), dets(3.9)
    assert _track_speed(slow, times) == pytest.approx(1.4)
    assert _track_speed(dict(list(fast.items())[:4]), times) == 0.0  # too short to tell
    assert _track_class(slow.values(), _track_speed(slow, times), onto) == "pedestrian"
    assert 3.9 > WALKER_SPEED and _track_class(fast.values(), _track_speed(fast, times), onto) == "cyclist"
    assert _track_class(fast.values()) == "pedestrian"  # without the speed: the points' vote
    # nothing but walkers possible: the vote stands
    only = {f: Detection(d.box, "pedestrian", 0.7, 80, probabilities={"pedestrian": 1.0}) for f, d in fast.items()}
    assert _track_class(only.values(), 3.9, onto) == "pedestrian"
