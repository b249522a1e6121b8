"""Keyframe interpolation: linear and smooth in the world frame, yaw across +-pi, sizes, time,
gaps, extrapolation limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.transforms import wrap_angle
from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.geometry import bev_iou
from fusionlabel.interpolation import (
    MAX_EXTRAPOLATION_FRAMES,
    affected_frames,
    covered_frames,
    interpolate_boxes_at,
    normalize_gaps,
    pieces,
)
from fusionlabel.model import Track, interpolate_boxes

SIZE = (4.5, 1.9, 1.6)


def car(x: float, y: float = 0.0, yaw: float = 0.0, size: tuple[float, float, float] = SIZE) -> Box3D:
    return Box3D((x, y, 0.8), size, yaw)


def arc_box(t: float, radius: float = 10.0, speed: float = 1.0, yaw0: float = 0.0) -> Box3D:
    """A car driving counter-clockwise on a circle at ``speed`` (m per frame) at time ``t``."""
    a = yaw0 + speed * t / radius
    return car(radius * math.sin(a - yaw0), radius * (1 - math.cos(a - yaw0)), a)


@pytest.mark.parametrize("method", ["linear", "smooth"])
def test_straight_constant_speed_is_exact(method: str) -> None:
    t = Track(0, "car", keyframes={0: car(0.0, 0.0, 0.3), 10: car(10 * math.cos(0.3), 10 * math.sin(0.3), 0.3),
                                   20: car(20 * math.cos(0.3), 20 * math.sin(0.3), 0.3)}, interpolation=method)
    for f in range(21):
        b = t.box_at(f)
        assert b is not None
        assert np.allclose(b.center[:2], (f * math.cos(0.3), f * math.sin(0.3)), atol=1e-9)
        assert b.yaw == pytest.approx(0.3) and b.size == SIZE


def test_smooth_follows_a_turn_that_linear_cuts() -> None:
    # keyframes every 10 frames on a radius-10 circle at 1 m/frame: 57 degrees per segment
    kf = {k: arc_box(k) for k in range(0, 31, 10)}
    frames = [f for f in range(31) if f % 10]
    lin = interpolate_boxes_at(kf, frames, "linear")
    smo = interpolate_boxes_at(kf, frames, "smooth")
    iou_lin = [bev_iou(b, arc_box(f)) for f, b in zip(frames, lin, strict=True)]
    iou_smo = [bev_iou(b, arc_box(f)) for f, b in zip(frames, smo, strict=True)]
    assert min(iou_smo) > 0.9 and np.mean(iou_smo) > 0.95
    assert min(iou_lin) < 0.75 and np.mean(iou_smo) > np.mean(iou_lin) + 0.1
    # the smooth yaw follows the path: close to the true heading everywhere
    err = [abs(wrap_angle(b.yaw - arc_box(f).yaw)) for f, b in zip(frames, smo, strict=True)]
    assert max(err) < math.radians(4)


@pytest.mark.parametrize("method", ["linear", "smooth"])
@pytest.mark.parametrize("direction", [1, -1])
def test_yaw_across_pi_takes_the_short_arc_without_flips(method: str, direction: int) -> None:
    # a car turning through heading pi (e.g. 170 deg -> -170 deg), driving along its heading
    yaws = [direction * math.radians(a) for a in (150.0, 170.0, -170.0, -150.0)]
    yaws = [float(wrap_angle(y)) for y in yaws]
    mids = [a + wrap_angle(b - a) / 2 for a, b in zip(yaws, yaws[1:], strict=False)]  # chord = mean heading
    pos = np.cumsum([[0.0, 0.0]] + [[10 * math.cos(m), 10 * math.sin(m)] for m in mids], axis=0)
    kf = {10 * i: car(pos[i, 0], pos[i, 1], y) for i, y in enumerate(yaws)}
    t = Track(0, "car", keyframes=kf, interpolation=method)
    boxes = [t.box_at(f) for f in range(31)]
    assert all(b is not None for b in boxes)
    steps = [abs(wrap_angle(b1.yaw - b0.yaw)) for b0, b1 in zip(boxes, boxes[1:], strict=False)]  # type: ignore[union-attr]
    assert max(steps) < math.radians(6)  # no flip, no long way round
    for b in boxes:
        assert -math.pi < b.yaw <= math.pi  # type: ignore[union-attr]
        # never far from the pi heading the whole path is around
        assert abs(wrap_angle(b.yaw - math.pi)) < math.radians(35)  # type: ignore[union-attr]


def test_linear_model_function_is_kept() -> None:
    a, b = car(0.0, yaw=math.radians(175)), car(2.0, yaw=math.radians(-175))
    m = interpolate_boxes(a, b, 0.5)
    assert m.center[0] == pytest.approx(1.0) and abs(wrap_angle(m.yaw - math.pi)) < 1e-9


def test_size_is_constant_unless_a_keyframe_changes_it() -> None:
    kf = {0: car(0.0), 10: car(10.0, 1.0, 0.1), 20: car(20.0, 3.0, 0.2, size=(5.0, 2.0, 1.8))}
    t = Track(0, "car", keyframes=kf)
    for f in range(11):
        assert t.box_at(f).size == SIZE  # type: ignore[union-attr]
    mid = t.box_at(15).size  # type: ignore[union-attr]
    assert SIZE[0] < mid[0] < 5.0 and SIZE[2] < mid[2] < 1.8


def test_timestamps_drive_the_interpolation() -> None:
    kf = {0: car(0.0), 10: car(10.0)}
    times = [int(1e9 * (0.1 * f)) for f in range(11)]
    times[5] = int(1e9 * 0.8)  # frame 5 captured late: the box is further along
    t = Track(0, "car", keyframes=kf, interpolation="linear")
    assert t.box_at(5).center[0] == pytest.approx(5.0)  # type: ignore[union-attr]
    assert t.box_at(5, times_ns=times).center[0] == pytest.approx(8.0)  # type: ignore[union-attr]
    assert t.box_at(5, times_ns=dict(enumerate(times))).center[0] == pytest.approx(8.0)  # type: ignore[union-attr]
    bad = list(times)
    bad[10] = bad[0]
    with pytest.raises(ModelError, match="increase"):
        t.box_at(5, times_ns=bad)
    bad = list(times)
    bad[5] = bad[10] + 1
    with pytest.raises(ModelError, match="frame 10 is not after 5"):
        t.box_at(5, times_ns=bad)
    with pytest.raises(ModelError, match="no timestamp"):
        t.box_at(5, times_ns=times[:6])


def test_smooth_with_uneven_times_matches_an_even_arc() -> None:
    rng = np.random.default_rng(3)
    t_s = np.arange(41) * 0.1 + np.r_[0.0, rng.uniform(-0.01, 0.01, 40)]
    times = [int(round(v * 1e9)) for v in t_s]
    kf = {k: arc_box(10 * t_s[k]) for k in range(0, 41, 10)}
    frames = [f for f in range(41) if f % 10]
    with_t = interpolate_boxes_at(kf, frames, "smooth", times_ns=times)
    without = interpolate_boxes_at(kf, frames, "smooth")
    e_t = [bev_iou(b, arc_box(10 * t_s[f])) for f, b in zip(frames, with_t, strict=True)]
    e_n = [bev_iou(b, arc_box(10 * t_s[f])) for f, b in zip(frames, without, strict=True)]
    assert np.mean(e_t) > np.mean(e_n) and min(e_t) > 0.9


def test_stationary_object_does_not_wiggle() -> None:
    # parked with small label noise between two moving segments' neighbours
    kf = {0: car(-20.0), 10: car(0.0), 20: car(0.05, 0.03, 0.01), 30: car(0.02, -0.02, 0.0)}
    t = Track(0, "car", keyframes=kf)
    for f in range(11, 30):
        b = t.box_at(f)
        assert abs(b.center[0]) < 0.1 and abs(b.center[1]) < 0.05  # type: ignore[union-attr]


def test_reversing_car_keeps_its_heading() -> None:
    # backing up along -x while facing +x: tangents follow the travel, yaw stays 0
    kf = {0: car(0.0), 10: car(-5.0, -0.5, 0.1), 20: car(-10.0, -1.5, 0.2)}
    t = Track(0, "car", keyframes=kf)
    for f in range(21):
        b = t.box_at(f)
        assert -0.05 <= b.yaw <= 0.25  # type: ignore[union-attr]  (never flipped to face the travel)
    xs = [t.box_at(f).center[0] for f in range(21)]  # type: ignore[union-attr]
    assert all(b < a for a, b in zip(xs, xs[1:], strict=False))


def test_sidestep_falls_back_to_position_tangents() -> None:
    # a pedestrian facing +x while walking along +y: heading disagrees with the motion
    ped = (0.6, 0.6, 1.7)
    kf = {k: Box3D((0.0, 0.14 * k, 0.85), ped, 0.0) for k in (0, 10, 20, 30)}
    t = Track(0, "pedestrian", keyframes=kf)
    for f in range(31):
        b = t.box_at(f)
        assert b.center[0] == pytest.approx(0.0, abs=1e-9) and b.center[1] == pytest.approx(0.14 * f)  # type: ignore[union-attr]
        assert b.yaw == pytest.approx(0.0)  # type: ignore[union-attr]


# ---- gaps ------------------------------------------------------------------------------------------
def test_gap_frames_have_no_box_and_interpolation_does_not_cross_them() -> None:
    kf = {0: car(0.0), 10: car(10.0), 20: car(20.0), 30: car(40.0, 5.0, 0.5)}
    t = Track(0, "car", keyframes=kf, gaps=[(12, 17)])
    assert t.gaps == ((12, 17),)
    assert [f for f in range(31) if t.box_at(f) is None] == [11, 12, 13, 14, 15, 16, 17, 18, 19]
    assert t.pieces() == [[0, 10], [20, 30]]
    frames = t.frames()
    assert list(frames) == [*range(0, 11), *range(20, 31)]
    # the piece before the gap is interpolated on its own (its smooth tangents ignore frame 20, 30)
    alone = Track(1, "car", keyframes={0: car(0.0), 10: car(10.0)})
    assert [t.box_at(f) for f in range(11)] == [alone.box_at(f) for f in range(11)]
    # a keyframe inside a gap is shown (it wins over the gap)
    t2 = t.copy(keyframes={**kf, 14: car(14.0)})
    assert t2.box_at(14) == car(14.0) and t2.box_at(13) is None and t2.box_at(15) is None


def test_gap_normalisation_and_errors() -> None:
    assert normalize_gaps([(5, 6), (1, 2), (3, 3), (10, 12), (11, 20), (7, 7)]) == ((1, 3), (5, 7), (10, 20))
    assert normalize_gaps([[4, 4]]) == ((4, 4),)
    assert normalize_gaps([(np.int64(2), np.int64(3))]) == ((2, 3),)
    cases = (([(3, 1)], "first <= last"), ([(1.5, 2)], "integers"), ([(1,)], "pair"), ([(-1, 2)], "0 <="))
    for bad, msg in cases:
        with pytest.raises(ModelError, match=msg):
            normalize_gaps(bad)
    with pytest.raises(ModelError, match="track 4"):
        Track(4, "car", keyframes={0: car(0.0)}, gaps=[(2, 1)])


def test_pieces_and_covered_frames() -> None:
    assert pieces([0, 5, 9, 20], [(6, 8)]) == [[0, 5], [9, 20]]
    assert pieces([0, 5, 9], [(10, 12)]) == [[0, 5, 9]]
    assert covered_frames([0, 5, 9, 20], [(6, 8), (15, 15)]) == [*range(0, 6), 9]  + [20]
    assert affected_frames([0, 10, 20, 30, 40], 20, "linear") == range(11, 30)
    assert affected_frames([0, 10, 20, 30, 40], 20, "smooth") == range(1, 40)
    assert affected_frames([0, 10], 25, "smooth") == range(1, 26)


# ---- extrapolation ---------------------------------------------------------------------------------
def test_extrapolation_is_off_by_default_and_limited() -> None:
    kf = {10: car(0.0), 20: car(10.0)}
    t = Track(0, "car", keyframes=kf)
    assert t.box_at(21) is None and t.box_at(9) is None
    b = t.box_at(23, extrapolate=3)
    assert b is not None and b.center[0] == pytest.approx(13.0)
    assert t.box_at(7, extrapolate=3).center[0] == pytest.approx(-3.0)  # type: ignore[union-attr]
    assert t.box_at(24, extrapolate=3) is None
    with pytest.raises(ModelError, match="extrapolation"):
        t.box_at(30, extrapolate=MAX_EXTRAPOLATION_FRAMES + 1)
    # never into a gap, and a single keyframe stands still
    tg = t.copy(gaps=[(22, 25)])
    assert tg.box_at(21, extrapolate=3) is not None and tg.box_at(22, extrapolate=3) is None
    assert tg.box_at(23, extrapolate=3) is None
    one = Track(1, "car", keyframes={5: car(1.0)})
    assert one.box_at(7, extrapolate=2) == car(1.0)


def test_extrapolation_turns_with_the_track() -> None:
    kf = {k: arc_box(k) for k in (0, 5, 10)}
    t = Track(0, "car", keyframes=kf)
    b = t.box_at(13, extrapolate=5)
    assert b is not None and bev_iou(b, arc_box(13)) > 0.9


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown interpolation 'cubic'"):
        Track(0, "car", keyframes={0: car(0.0)}, interpolation="cubic")
    with pytest.raises(ModelError, match="unknown interpolation"):
        interpolate_boxes_at({0: car(0.0)}, [0], "spline")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-30, 30), st.floats(-30, 30), st.floats(-math.pi, math.pi)), min_size=2, max_size=6
    ),
    st.lists(st.integers(2, 8), min_size=5, max_size=5),
    st.sampled_from(["linear", "smooth"]),
)
def test_random_tracks_give_finite_boxes_through_every_keyframe(
    states: list[tuple[float, float, float]], spacing: list[int], method: str
) -> None:
    frames = np.cumsum([0, *spacing])[: len(states)].tolist()
    kf = {int(f): car(x, y, yaw) for f, (x, y, yaw) in zip(frames, states, strict=True)}
    t = Track(0, "car", keyframes=kf, interpolation=method)
    boxes = t.boxes_at(range(frames[0], frames[-1] + 1))
    assert all(b is not None and b.size == SIZE for b in boxes)
    for f in kf:
        assert boxes[f - frames[0]] == kf[f]
    assert boxes == [t.box_at(f) for f in range(frames[0], frames[-1] + 1)]
