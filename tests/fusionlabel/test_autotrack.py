"""Auto-track on synthetic world points: a moving car followed from one keyframe, a parked car that
does not drift, a walker at walking pace, both-ends blending through keyframes, lost frames when a
moving object's points vanish, the review list, the undoable AutoTrack command and cancelling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.transforms import wrap_angle
from fusionlabel.autotrack import (
    AutoTrack,
    AutoTrackParams,
    AutoTrackResult,
    Cancelled,
    TrackSeed,
    auto_track,
    auto_track_all,
    keyframe_motion,
    review_list,
    shift_along,
    visible_offset,
)
from fusionlabel.box import Box3D
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import Track
from fusionlabel.motion_model import frame_seconds

CAR = (4.5, 1.9, 1.5)
WALKER = (0.5, 0.6, 1.75)
N = 20
TIMES = [100_000_000 * f for f in range(N)]  # 10 Hz, integer ns


def shell(box: Box3D, rng: np.random.Generator, n: int = 300, noise: float = 0.02) -> np.ndarray:
    """World points (n, 3) on the four side faces of ``box`` (a LiDAR's view from all around)."""
    l, w, h = box.size
    s = rng.uniform(-1, 1, n)
    face = rng.integers(0, 4, n)
    u = np.where(face < 2, np.where(face == 0, l / 2, -l / 2), s * l / 2)
    v = np.where(face < 2, s * w / 2, np.where(face == 2, w / 2, -w / 2))
    z = rng.uniform(-h / 2 + 0.35, h / 2, n)
    c, sn = math.cos(box.yaw), math.sin(box.yaw)
    pts = np.column_stack([box.center[0] + c * u - sn * v, box.center[1] + sn * u + c * v, box.center[2] + z])
    return pts + rng.normal(0, noise, pts.shape)


def scene(truth: dict[int, Box3D], seed: int = 0, missing: set[int] | None = None):
    """``points_at`` over the ground-truth boxes plus a wall 6 m to the side."""
    rng = np.random.default_rng(seed)
    wall = np.column_stack([rng.uniform(-20, 80, 2000), np.full(2000, 8.0), rng.uniform(0.3, 2.5, 2000)])
    frames = {f: np.vstack([shell(b, rng), wall]) if f not in (missing or set()) else wall for f, b in truth.items()}
    return lambda f: frames.get(f)


def driving(speed: float, yaw_rate: float = 0.0, size: tuple[float, float, float] = CAR) -> dict[int, Box3D]:
    """Boxes of an object at ``speed`` m/s turning at ``yaw_rate`` rad/s, at 10 Hz."""
    out, x, y, yaw = {}, 0.0, 0.0, 0.2
    for f in range(N):
        out[f] = Box3D((x, y, size[2] / 2), size, yaw)
        x += speed * 0.1 * math.cos(yaw)
        y += speed * 0.1 * math.sin(yaw)
        yaw += yaw_rate * 0.1
    return out


def err(a: Box3D, b: Box3D) -> tuple[float, float]:
    return math.dist(a.center[:2], b.center[:2]), abs(wrap_angle(a.yaw - b.yaw))


@pytest.mark.parametrize(("speed", "rate"), [(10.0, 0.0), (8.0, 0.3), (0.0, 0.0)])
def test_car_followed_from_one_keyframe(speed: float, rate: float) -> None:
    truth = driving(speed, rate)
    r = auto_track(1, "car", {0: truth[0]}, scene(truth), range(N), TIMES)
    assert sorted(r.boxes) == list(range(1, N)) and not r.lost
    for f, b in r.boxes.items():
        d, dy = err(b, truth[f])
        assert d < 0.15 and dy < math.radians(3), (f, d, dy)
        assert b.size == CAR and 0.0 <= r.confidence[f] <= 1.0
    if speed == 0.0:  # a parked car stays exactly where it was put: no drift
        assert max(err(b, truth[0])[0] for b in r.boxes.values()) < 0.05


def test_walker_at_walking_pace_is_followed_and_faces_its_motion() -> None:
    truth = driving(1.4, 0.0, WALKER)
    r = auto_track(2, "pedestrian", {0: truth[0]}, scene(truth, 1), range(N), TIMES)
    assert max(err(r.boxes[f], truth[f])[0] for f in r.boxes) < 0.12
    assert max(err(r.boxes[f], truth[f])[1] for f in r.boxes) < math.radians(10)
    assert math.dist(r.boxes[N - 1].center[:2], truth[0].center[:2]) > 2.4  # it moved on


def test_visible_offset_is_half_the_depth_of_the_faces_seen() -> None:
    box = Box3D((0.0, 0.0, 0.9), (0.3, 0.5, 1.8), 0.0)
    np.testing.assert_allclose(visible_offset(box, (-10.0, 0.0)), [0.15, 0.0], atol=1e-9)  # back face only
    np.testing.assert_allclose(visible_offset(box, (0.0, 10.0)), [0.0, -0.25], atol=1e-9)  # left side only
    g = visible_offset(box, (-10.0, 10.0))  # both: weighted by their width as seen from the sensor
    np.testing.assert_allclose(g, [0.15 * 0.5 / 0.8, -0.25 * 0.3 / 0.8], atol=1e-9)
    assert not visible_offset(box, (0.0, 0.0, 1.0)).any()


def seen_faces(box: Box3D, origin: tuple[float, float], rng: np.random.Generator, n: int) -> np.ndarray:
    """World points (n, 3) on the faces of ``box`` (shrunk to WALKER_SCALE, a body narrower than
    its box) turned towards ``origin``, as many per face as its width seen from there."""
    from fusionlabel.autotrack import WALKER_SCALE

    l, w = WALKER_SCALE * box.size[0], WALKER_SCALE * box.size[1]
    c, sn = math.cos(box.yaw), math.sin(box.yaw)
    d = np.array(box.center[:2]) - np.array(origin)
    d /= np.linalg.norm(d)
    faces = [((c, sn), (l / 2, 0.0), w), ((-c, -sn), (-l / 2, 0.0), w), ((-sn, c), (0.0, w / 2), l),
             ((sn, -c), (0.0, -w / 2), l)]
    weight = np.array([max(0.0, -(nx * d[0] + ny * d[1])) * length for (nx, ny), _, length in faces])
    pick = rng.choice(4, size=n, p=weight / weight.sum())
    s = rng.uniform(-0.5, 0.5, n)
    u = np.array([faces[k][1][0] if faces[k][1][0] else s[i] * l for i, k in enumerate(pick)])
    v = np.array([faces[k][1][1] if faces[k][1][1] else s[i] * w for i, k in enumerate(pick)])
    z = rng.uniform(-box.size[2] / 2 + 0.4, box.size[2] / 2, n)
    return np.column_stack([box.center[0] + c * u - sn * v, box.center[1] + sn * u + c * v, box.center[2] + z])


@pytest.mark.parametrize("n", [60, 1])
def test_walker_passed_by_the_sensor_keeps_its_box_behind_the_faces_seen(n: int) -> None:
    """The sensor drives past a walker: the faces it sees turn from the side to the back, and the
    points' centre moves on the body; the box stays on the walker (also with one point a sweep)."""
    walker = (0.3, 0.5, 1.8)
    truth = {f: Box3D((10.0 + 0.12 * f, 6.0, 0.9), walker, 0.0) for f in range(N)}
    origin = {f: np.array([10.0 + 1.2 * f, 0.0, 1.8]) for f in range(N)}
    rng = np.random.default_rng(11)
    pts = {f: seen_faces(truth[f], tuple(origin[f][:2]), rng, n) for f in range(N)}
    r = auto_track(3, "pedestrian", {0: truth[0]}, pts.get, range(N), TIMES, origin_at=origin.get)
    assert max(err(b, truth[f])[0] for f, b in r.boxes.items()) < (0.04 if n > 1 else 0.25)  # it walks 2.3 m
    assert len(r.fitted) == N - 1


def test_two_keyframes_the_result_passes_through_both() -> None:
    truth = driving(9.0, 0.2)
    keys = {3: truth[3], 15: truth[15]}
    r = auto_track(1, "car", keys, scene(truth, 2), range(N), TIMES)
    assert 3 not in r.boxes and 15 not in r.boxes and sorted(r.boxes) == [f for f in range(N) if f not in keys]
    assert err(r.boxes[4], truth[4])[0] < 0.1 and err(r.boxes[14], truth[14])[0] < 0.1
    assert max(err(b, truth[f])[0] for f, b in r.boxes.items()) < 0.15


def test_a_moving_object_whose_points_vanish_is_lost() -> None:
    truth = driving(10.0)
    gone = set(range(8, N))
    r = auto_track(1, "car", {0: truth[0]}, scene(truth, 3, gone), range(N), TIMES)
    assert max(r.fitted) == 7 and r.lost and min(r.lost) > 7
    assert all(f not in r.boxes for f in r.lost)


def test_neighbours_points_are_left_out_and_review_list() -> None:
    car = driving(10.0)
    parked = {f: Box3D((12.0, 2.6, 0.75), CAR, 0.2) for f in range(N)}  # beside the car's path
    rng = np.random.default_rng(4)
    pts = {f: np.vstack([shell(car[f], rng), shell(parked[f], rng)]) for f in range(N)}
    seeds = [TrackSeed(1, "car", {0: car[0]}), TrackSeed(2, "car", {0: parked[0]})]
    seen: list[tuple[int, int]] = []
    res = auto_track_all(seeds, pts.get, range(N), TIMES, progress=lambda d, n: seen.append((d, n)) is None)
    assert max(err(b, car[f])[0] for f, b in res[1].boxes.items()) < 0.2
    assert max(err(b, parked[f])[0] for f, b in res[2].boxes.items()) < 0.1
    assert seen and seen[-1][0] == seen[-1][1]
    rows = review_list(res.values())
    assert len(rows) == 2 * (N - 1) and [c for _, _, c in rows] == sorted(c for _, _, c in rows)
    assert review_list(res.values(), 3) == rows[:3]
    with pytest.raises(Cancelled):
        auto_track_all(seeds, pts.get, range(N), TIMES, progress=lambda d, n: d < 5)


def test_autotrack_command_sets_tracked_boxes_and_undoes() -> None:
    truth = driving(10.0)
    doc = AnnotationDocument.from_tracks([Track(1, "car", keyframes={0: truth[0]})], frame_count=N)
    r = auto_track(1, "car", {0: truth[0]}, scene(truth), range(N), TIMES)
    stack = UndoStack(doc)
    stack.push(AutoTrack({1: r}, range(N)))
    t = doc.track(1)
    assert sorted(t.tracked) == list(range(1, N)) and t.keyframes == {0: truth[0]}
    ref = doc.box_at(1, 10)
    assert ref is not None and ref.box == r.boxes[10] and ref.state == "tracked"
    assert ref.confidence == pytest.approx(r.confidence[10])
    stack.undo()
    assert not doc.track(1).tracked
    stack.redo()
    # re-tracking replaces the tracked boxes over the range, a lost stretch is cleared
    short = AutoTrackResult(1, {1: r.boxes[1]}, {1: 0.5}, lost=list(range(2, N)))
    stack.push(AutoTrack({1: short}, range(N)))
    assert sorted(doc.track(1).tracked) == [1]


def rigid(truth: dict[int, Box3D], n: int = 8, seed: int = 7) -> dict[int, np.ndarray]:
    """A far object's few points: the same ``n`` spots of its front face and one side (body frame)
    in every sweep, as a distant LiDAR samples a rigid body, plus 2 cm noise."""
    rng = np.random.default_rng(seed)
    l, w, h = CAR
    front = np.column_stack([np.full(n - n // 3, l / 2), rng.uniform(-w / 2, w / 2, n - n // 3)])
    side = np.column_stack([rng.uniform(0, l / 2, n // 3), np.full(n // 3, -w / 2)])
    body = np.column_stack([np.vstack([front, side]), rng.uniform(-h / 2 + 0.4, h / 2, n)])
    out = {}
    for f, b in truth.items():
        c, s = math.cos(b.yaw), math.sin(b.yaw)
        xy = np.column_stack([c * body[:, 0] - s * body[:, 1], s * body[:, 0] + c * body[:, 1]]) + b.center[:2]
        out[f] = np.column_stack([xy, body[:, 2] + b.center[2]]) + rng.normal(0, 0.02, (n, 3))
    return out


def test_keyframe_motion_from_the_sweeps_around_a_sparse_keyframe() -> None:
    secs = frame_seconds(range(N), TIMES, 5)
    moving, parked = driving(9.0), {f: Box3D((0.0, 0.0, 0.75), CAR, 0.2) for f in range(N)}
    got = keyframe_motion(moving[5], 5, [2, 3, 4, 6, 7, 8], rigid(moving).get, secs, "vehicle", AutoTrackParams())
    assert len(got) == 6
    for t, b, w in got:  # the keyframe's box carried along the seen velocity to each sweep's time
        f = 5 + round(t / 0.1)
        assert err(b, moving[f])[0] < 0.1 and b.yaw == moving[5].yaw and w == 0.5
    assert keyframe_motion(parked[5], 5, [2, 3, 4, 6, 7, 8], rigid(parked).get, secs, "vehicle",
                           AutoTrackParams()) == []
    # a sparse mover is followed along its motion; without the sweeps around the keyframe it is
    # held where it was put (too few points for a fit)
    truth = driving(9.0)
    pts = rigid(truth)
    r = auto_track(1, "car", {0: truth[0]}, pts.get, range(N), TIMES)
    assert max(err(b, truth[f])[0] for f, b in r.boxes.items()) < 0.3
    off = auto_track(1, "car", {0: truth[0]}, pts.get, range(N), TIMES, AutoTrackParams(keyframe_motion=False))
    assert err(off.boxes[N - 1], truth[N - 1])[0] > 10.0


def test_shift_along_refuses_a_side_seen_along_its_length() -> None:
    side = np.column_stack([np.linspace(-2.2, 2.2, 40), np.full(40, 0.95)])
    assert shift_along(side, side + [0.8, 0.0], 0.0, 4.0, 0.15) is None  # slides anywhere along it
    front = np.column_stack([np.full(6, 2.25), np.linspace(-0.9, 0.9, 6)])
    assert abs(shift_along(front, front + [0.8, 0.0], 0.0, 4.0, 0.15) - 0.8) < 0.02


def test_keyframe_motion_from_points_off_the_faces_is_refused_when_the_sensor_explains_it() -> None:
    secs = frame_seconds(range(N), TIMES, 0)
    line = np.column_stack([np.full(8, 0.3), np.linspace(-0.8, 0.8, 8), np.full(8, 1.3)])  # across the roof

    def cloud(boxes: dict[int, Box3D], ring_shift: float) -> dict[int, np.ndarray]:
        out = {}
        for f, b in boxes.items():
            c, s = math.cos(b.yaw), math.sin(b.yaw)
            u = line[:, 0] + ring_shift * f
            out[f] = np.column_stack([b.center[0] + c * u - s * line[:, 1], b.center[1] + s * u + c * line[:, 1],
                                      line[:, 2]])
        return out

    # the sensor drives along the car's heading at 6.5 m/s
    origin = {f: np.array([-30.0 + 0.65 * f * math.cos(0.2), 0.65 * f * math.sin(0.2), 1.8])
              for f in range(N)}
    parked = {f: Box3D((0.0, 0.0, 0.75), CAR, 0.2) for f in range(N)}
    # a ring across a parked car's roof moves with the sensor: seen, but explained by it
    got = keyframe_motion(parked[0], 0, [1, 2, 3], cloud(parked, 0.65).get, secs, "vehicle", AutoTrackParams(),
                          origin_at=origin.get)
    assert got == []
    # a car coming towards the sensor: its cabin's points move with it, against the sensor
    oncoming = {f: Box3D((40.0 - 0.9 * f * math.cos(0.2), -0.9 * f * math.sin(0.2), 0.75), CAR, 0.2 + math.pi)
                for f in range(N)}
    got = keyframe_motion(oncoming[0], 0, [1, 2, 3], cloud(oncoming, 0.0).get, secs, "vehicle", AutoTrackParams(),
                          origin_at=origin.get)
    assert len(got) == 3 and all(err(b, oncoming[round(t / 0.1)])[0] < 0.1 for t, b, _ in got)
    assert keyframe_motion(oncoming[0], 0, [1, 2, 3], cloud(oncoming, 0.0).get, secs, "vehicle",
                           AutoTrackParams()) == []  # no sensor position: points off the faces are not used
