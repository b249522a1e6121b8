"""The motion model fitted over a track's boxes in time, and the prediction of C / Shift+C / Alt+C
(propagation.predict_box_at) built on it: the turning-car and frozen-walker cases of the issue."""

from __future__ import annotations

import math

import pytest

from calib.transforms import wrap_angle
from fusionlabel.box import Box3D
from fusionlabel.model import Track
from fusionlabel.motion_model import LIMITS, fit_motion, frame_seconds, limits_for, track_samples
from fusionlabel.propagation import predict_box_at

CAR = (4.5, 1.9, 1.5)
WALKER = (0.6, 0.7, 1.75)
TIMES = [1_000_000_000 + 100_000_000 * f for f in range(40)]  # 10 Hz, integer ns


def test_car_with_two_distant_keyframes_keeps_its_heading() -> None:
    """Keyframes at 0 and 10 of a car driving at yaw 0.288: predicted at frame 20 close to the
    truth (yaw 0.27 at (42.7, 4.0)), not turned by the one-frame step (yaw 0.925 before)."""
    t = Track(1, "car", keyframes={0: Box3D((22.49, -0.41, 0.8), CAR, 0.288),
                                   10: Box3D((32.61, 1.32, 0.8), CAR, 0.288)})
    p = predict_box_at(t, 10, 20, TIMES)
    assert abs(wrap_angle(p.yaw - 0.27)) < math.radians(3.0)
    assert math.dist(p.center[:2], (42.7, 4.0)) < 0.5
    # an earlier target: half the way back along the heading
    b = predict_box_at(t, 10, 5, TIMES)
    assert math.dist(b.center[:2], t.keyframes[10].center[:2]) == pytest.approx(0.5 * 10.27, abs=0.05)


def test_walker_at_walking_pace_is_predicted_to_move() -> None:
    """A pedestrian at 1.4 m/s (0.14 m per frame, under the old 0.25 m threshold) moves on."""
    yaw = 0.6
    d = (math.cos(yaw), math.sin(yaw))
    kf = {f: Box3D((5.0 + 0.14 * f * d[0], 2.0 + 0.14 * f * d[1], 0.9), WALKER, yaw) for f in (0, 4, 10)}
    t = Track(2, "pedestrian", keyframes=kf)
    p = predict_box_at(t, 10, 20, TIMES)
    expect = (5.0 + 0.14 * 20 * d[0], 2.0 + 0.14 * 20 * d[1])
    assert math.dist(p.center[:2], expect) < 0.1
    assert abs(wrap_angle(p.yaw - yaw)) < 1e-6
    # one step forwards (Alt+C): 0.14 m, not zero
    q = predict_box_at(t, 10, 11, TIMES)
    assert math.dist(q.center[:2], kf[10].center[:2]) == pytest.approx(0.14, abs=0.01)


def test_still_objects_do_not_drift() -> None:
    """A parked car labelled with 3 cm of noise, a standing walker: no velocity, no turn."""
    noise = [(0.0, 0.0, 0.0), (0.03, -0.02, 0.01), (-0.02, 0.03, -0.02), (0.01, 0.0, 0.015)]
    kf = {f: Box3D((10 + n[0], 3 + n[1], 0.8), CAR, 1.0 + n[2]) for f, n in zip((0, 3, 7, 12), noise, strict=True)}
    p = predict_box_at(Track(3, "car", keyframes=kf), 12, 29, TIMES)
    assert p == kf[12]
    kw = {0: Box3D((1.0, 1.0, 0.9), WALKER, 0.2), 10: Box3D((1.02, 0.99, 0.9), WALKER, 0.25)}
    assert predict_box_at(Track(4, "pedestrian", keyframes=kw), 10, 25, TIMES) == kw[10]


def test_side_stepping_walker_moves_along_its_path_not_its_heading() -> None:
    """A walker whose labelled heading is across its path: the fitted velocity vector is used."""
    kf = {f: Box3D((0.1 * f, 0.0, 0.9), WALKER, math.pi / 2) for f in (0, 5, 10)}
    p = predict_box_at(Track(5, "pedestrian", keyframes=kf), 10, 15, TIMES)
    assert p.center[0] == pytest.approx(1.5, abs=0.02) and abs(p.center[1]) < 0.02
    assert p.yaw == pytest.approx(math.pi / 2)


def test_limits_per_class() -> None:
    """Speed and turn rate are clipped to the class's limits; unknown labels count as vehicles."""
    assert limits_for("pedestrian") == LIMITS["walker"]
    assert limits_for("cyclist") == LIMITS["ridden"]
    assert limits_for("car") == LIMITS["vehicle"] == limits_for("no-such-class")
    # a walker "moving" 2 m per 0.1 s (a mislabelled keyframe): clipped to 4 m/s
    samples = [(0.0, Box3D((0, 0, 0.9), WALKER, 0.0), 1.0), (0.1, Box3D((2.0, 0, 0.9), WALKER, 0.0), 1.0)]
    m = fit_motion(samples, 0.1, LIMITS["walker"])
    assert m.moving and m.speed == pytest.approx(LIMITS["walker"].max_speed)
    # a car spinning 1 rad per frame is clipped to the vehicle's turn rate
    spin = [(0.1 * k, Box3D((k * 1.0, 0, 0.8), CAR, 0.1 * k), 1.0) for k in range(4)]
    spin[-1] = (0.3, Box3D((3.0, 0.0, 0.8), CAR, 3.0), 1.0)
    m = fit_motion(spin, 0.3, LIMITS["vehicle"])
    assert abs(m.turn_rate) <= LIMITS["vehicle"].max_turn_rate + 1e-12


def test_samples_respect_gaps_and_weights() -> None:
    kf = {0: Box3D((0, 0, 0.8), CAR, 0.0), 10: Box3D((10, 0, 0.8), CAR, 0.0), 20: Box3D((10, 0, 0.8), CAR, 0.0)}
    s = track_samples(kf, 20, TIMES, gaps=[(12, 15)], tracked={18: Box3D((10, 0, 0.8), CAR, 0.0)},
                      tracked_confidence={18: 0.7})
    assert [round(t, 3) for t, _, _ in s] == [-0.2, 0.0] and [w for _, _, w in s] == [0.7, 1.0]
    assert frame_seconds([0, 10], None, 0) == {0: 0.0, 10: pytest.approx(1.0)}
