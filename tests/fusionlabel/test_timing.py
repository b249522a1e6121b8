"""Sensor timing: ego poses and track boxes at any time, capture-time drawing, deskew; the
synthetic rotating sweep and camera exposure offsets that measure them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.transforms import pose_from_xyz_yaw
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.synth import SynthConfig, SynthScene
from fusionlabel.synth.lidar import sweep_column_offsets
from fusionlabel.timing import (
    CaptureTiming,
    EgoClock,
    deskew_points,
    distance_outside_boxes,
    objects_to_frame_time,
    times_to_ns,
    track_box_at_time,
)

T0 = 1_000_000_000_000
DT = 100_000_000


def _clock() -> EgoClock:
    poses = [pose_from_xyz_yaw(10.0 * k, 0.0, 0.0, 0.2 * k) for k in range(3)]
    return EgoClock([T0 + DT * k for k in range(3)], poses)


def test_ego_clock_interpolates_and_extrapolates() -> None:
    clock = _clock()
    np.testing.assert_allclose(clock.T_world_from_ego(T0 + DT), clock.poses[1], atol=1e-12)
    mid = clock.T_world_from_ego(T0 + DT // 2)
    np.testing.assert_allclose(mid[:3, 3], [5.0, 0.0, 0.0], atol=1e-9)
    assert math.isclose(math.atan2(mid[1, 0], mid[0, 0]), 0.1, abs_tol=1e-9)
    after = clock.T_world_from_ego(T0 + 3 * DT)  # one step past the last frame
    np.testing.assert_allclose(after[:3, 3], [30.0, 0.0, 0.0], atol=1e-9)
    assert math.isclose(math.atan2(after[1, 0], after[0, 0]), 0.6, abs_tol=1e-9)
    with pytest.raises(ModelError):
        EgoClock([T0, T0], [np.eye(4), np.eye(4)])


def _doc(moving: bool = True) -> AnnotationDocument:
    kf = {k: Box3D((2.0 * k if moving else 0.0, 5.0, 0.8), (4.0, 2.0, 1.6), 0.0) for k in range(3)}
    doc = AnnotationDocument.from_tracks([Track(1, "car", {}, kf)], 3)
    doc.set_frame_times([T0 + DT * k for k in range(3)])
    return doc


def test_track_box_at_time_blends_and_extrapolates() -> None:
    doc = _doc()
    b = track_box_at_time(doc, 1, T0 + DT + DT // 4)
    assert b is not None and math.isclose(b.center[0], 2.5, abs_tol=1e-9)
    # past the last keyframe: carried by the motion model (20 m/s along +x)
    late = track_box_at_time(doc, 1, T0 + 2 * DT + DT // 2)
    assert late is not None and math.isclose(late.center[0], 5.0, abs_tol=0.05)


def test_capture_timing_moves_boxes_and_camera() -> None:
    doc = _doc()
    clock = _clock()
    ct = CaptureTiming.of(doc, clock, 1, T0 + DT + DT // 2)
    corners = np.stack([doc.box_at(1, 1).box.corners(), Box3D((0, 0, 1), (1, 1, 1), 0.0).corners()])
    moved = ct.corners_at([1, None], corners)
    np.testing.assert_allclose(moved[0] - corners[0], np.tile([1.0, 0.0, 0.0], (8, 1)), atol=1e-9)
    np.testing.assert_allclose(moved[1], corners[1])
    np.testing.assert_allclose(ct.T_world_from_ego()[:3, 3], [15.0, 0.0, 0.0], atol=1e-9)
    same = CaptureTiming.of(doc, clock, 1, T0 + DT)
    np.testing.assert_allclose(same.corners_at([1], corners[:1]), corners[:1])


def test_deskew_undoes_ego_motion() -> None:
    clock = _clock()
    T_el = pose_from_xyz_yaw(1.0, 0.0, 1.8, 0.0)
    # a static world point seen at three times of the sweep, each in the sensor frame of its time
    p_world = np.array([30.0, 4.0, 1.0])
    ts = np.array([-0.04, 0.0, 0.03])
    pts = []
    for t in ts:
        T_wl = clock.T_world_from_ego(T0 + DT + int(round(t * 1e9))) @ T_el
        pts.append(np.linalg.inv(T_wl) @ np.append(p_world, 1.0))
    pts = np.array(pts)[:, :3]
    world = deskew_points(pts, ts, T0 + DT, clock, T_el, to="world")
    np.testing.assert_allclose(world, np.tile(p_world, (3, 1)), atol=1e-9)
    sensor = deskew_points(pts, ts, T0 + DT, clock, T_el)
    np.testing.assert_allclose(sensor, np.tile(pts[1], (3, 1)), atol=1e-9)
    with pytest.raises(ValueError):
        deskew_points(pts, ts[:2], T0 + DT, clock, T_el)


def test_distance_outside_boxes_at_point_times() -> None:
    doc = _doc()
    pts = np.array([[3.0, 5.0, 0.8], [3.0, 5.0, 0.8], [0.0, 0.0, 0.0]])
    times = np.array([T0 + DT + DT // 2, T0, T0])  # box centred at x=3 then, at x=0 at frame 0
    d = distance_outside_boxes(pts, times, [1, 1, -1], doc)
    assert d[0] == 0.0 and math.isclose(d[1], 1.0, abs_tol=1e-9) and np.isnan(d[2])


def test_objects_brought_to_the_frame_time() -> None:
    """A car moving 20 m/s along +x (box centred at x = 2 at frame 1): its points seen 50 ms
    before / after the frame time lie 1 m behind / ahead and are carried into the frame's box;
    a ground point under it, points far away and points of a static track stay."""
    doc = _doc()
    doc.tracks[2] = Track(2, "car", {}, {k: Box3D((30.0, 0.0, 0.8), (4.0, 2.0, 1.6), 0.0) for k in range(3)})
    t1 = T0 + DT
    pts = np.array([[-0.9, 5.0, 0.8], [4.6, 5.5, 1.2], [2.0, 5.0, -0.3], [50.0, 0.0, 0.0], [31.0, 0.5, 0.5]])
    times = np.array([t1 - DT // 2, t1 + DT // 2, t1 - DT // 2, t1, t1 - DT // 2])
    out, owner = objects_to_frame_time(pts, times, doc, 1)
    assert owner.tolist() == [1, 1, -1, -1, -1]
    assert np.allclose(out[0], [0.1, 5.0, 0.8]) and np.allclose(out[1], [3.6, 5.5, 1.2])
    assert np.array_equal(out[2:], pts[2:])
    d_before = distance_outside_boxes(pts[:2], np.full(2, t1), [1, 1], doc)
    d_after = distance_outside_boxes(out[:2], np.full(2, t1), [1, 1], doc)
    assert d_before.min() > 0.5 and np.all(d_after == 0.0)
    with pytest.raises(ValueError, match="one time per point"):
        objects_to_frame_time(pts, times[:2], doc, 1)


def test_sweep_column_offsets_turn_clockwise() -> None:
    offs = sweep_column_offsets(8, 0.1)
    assert offs[0] == 0.0 and offs[2] == pytest.approx(-0.025) and offs[6] == pytest.approx(0.025)
    assert offs.min() >= -0.05 and offs.max() < 0.05


SMALL = dict(frames=3, seed=2, cameras=1, image_size=(64, 36), beams=16, azimuths=360, sweep_blocks=36)


def _timed(sc: SynthScene) -> tuple[list[int], AnnotationDocument, EgoClock, object]:
    """A 3-frame scene's frame times, ground-truth document, ego clock and middle frame."""
    times = [sc.timestamp_ns(i) for i in range(3)]
    doc = AnnotationDocument.from_tracks(sc.tracks(), 3)
    doc.set_frame_times(times)
    return times, doc, EgoClock(times, [sc.ego_pose(i) for i in range(3)]), sc.frame(1)


def test_synth_rolling_sweep_points_fit_boxes_only_when_deskewed() -> None:
    sc = SynthScene(SynthConfig(rolling_sweep=True, exposure_offset_ns=20_000_000, **SMALL))  # type: ignore[arg-type]
    times, doc, clock, fr = _timed(sc)
    sw = fr.lidar["lidar_top"]
    assert sw.time is not None and len(sw.time) == len(sw.points)
    assert -0.05 <= sw.time.min() < -0.04 and 0.04 < sw.time.max() <= 0.05
    off = fr.camera_timestamps_ns["cam_front"] - fr.timestamp_ns
    assert off == sc.camera_offset_ns("cam_front") and 19_000_000 < off < 21_000_000
    T_el = sc.rig.T("ego", "lidar_top")
    obj = sw.instance >= 0
    t_ns = times_to_ns(fr.timestamp_ns, sw.time)
    raw_T = fr.T_world_from_ego @ T_el
    raw = sw.points[:, :3].astype(np.float64) @ raw_T[:3, :3].T + raw_T[:3, 3]
    desk = deskew_points(sw.points[:, :3], sw.time, fr.timestamp_ns, clock, T_el, to="world")
    d_raw = distance_outside_boxes(raw[obj], t_ns[obj], sw.instance[obj], doc)
    d_desk = distance_outside_boxes(desk[obj], t_ns[obj], sw.instance[obj], doc)
    assert np.nanmax(d_desk) < 0.02
    assert np.nanmax(d_raw) > 0.1


def test_synth_moving_objects_fit_the_frame_boxes_only_when_carried() -> None:
    """Against the boxes drawn at the frame time, moving objects' deskewed points smear (the
    objects move during the sweep) unless carried by their tracks' motion to the frame time."""
    sc = SynthScene(SynthConfig(frames=3, seed=0, cameras=1, image_size=(64, 36), beams=32, azimuths=1024,
                                rolling_sweep=True))
    times, doc, clock, fr = _timed(sc)
    sw = fr.lidar["lidar_top"]
    desk = deskew_points(sw.points[:, :3], sw.time, fr.timestamp_ns, clock, sc.rig.T("ego", "lidar_top"), to="world")
    moving = [o.instance for o in sc.layout.labelled if o.path is not None and o.speed > 0]
    obj = np.isin(sw.instance, moving)
    at_frame = np.full(int(obj.sum()), fr.timestamp_ns)
    moved, owner = objects_to_frame_time(desk, times_to_ns(fr.timestamp_ns, sw.time), doc, 1, times)
    d_ego = distance_outside_boxes(desk[obj], at_frame, sw.instance[obj], doc, times)
    d_obj = distance_outside_boxes(moved[obj], at_frame, sw.instance[obj], doc, times)
    assert obj.sum() > 300 and np.nanmax(d_obj) < 0.02 and np.nanmax(d_ego) > 0.2
    assert (owner[obj] == sw.instance[obj]).mean() > 0.99 and (owner[~obj] >= 0).mean() < 0.001


def test_synth_default_timing_unchanged() -> None:
    sc = SynthScene(SynthConfig(**SMALL))  # type: ignore[arg-type]
    fr = sc.frame(0)
    assert fr.lidar["lidar_top"].time is None
    assert fr.camera_timestamps_ns == {"cam_front": fr.timestamp_ns}
