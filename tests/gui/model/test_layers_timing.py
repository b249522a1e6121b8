"""Camera drawing data at the image's capture time (Qt-free)."""

from __future__ import annotations

import numpy as np

from calib.camera import CameraModel
from calib.transforms import invert, pose_from_xyz_yaw
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import Track
from fusionlabel.timing import CaptureTiming, EgoClock
from gui.model.camproj import CameraView
from gui.model.layers import Cuboid, CuboidLayer

T0, DT = 1_000_000_000_000, 100_000_000


def test_track_boxes_drawn_at_capture_time() -> None:
    kf = {k: Box3D((20.0, 2.0 * k, 0.8), (4.0, 2.0, 1.6), 0.0) for k in range(3)}  # crossing at 20 m/s
    doc = AnnotationDocument.from_tracks([Track(7, "car", {}, kf)], 3)
    clock = EgoClock([T0 + DT * k for k in range(3)], [np.eye(4)] * 3)
    cam = CameraModel(np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]), 640, 480)
    # camera looking along ego +x (optical z forward, x right = -y ego, y down = -z ego)
    R = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    T_ego_from_cam = pose_from_xyz_yaw(0, 0, 1.0, 0.0)
    T_ego_from_cam[:3, :3] = R
    T_cam_from_world = invert(T_ego_from_cam)
    ct = CaptureTiming.of(doc, clock, 1, T0 + DT + DT // 4)  # 25 ms later: the car moved 0.5 m
    layer = CuboidLayer("boxes")
    layer.set_data([Cuboid.of(7, "car", doc.box_at(7, 1).box), Cuboid.of(None, "car", kf[0])])
    plain = CameraView("cam", cam, T_cam_from_world)
    timed = CameraView("cam", cam, ct.T_sensor_from_world(T_ego_from_cam), timing=ct)
    c_plain, c_timed = layer.camera_corners(plain), layer.camera_corners(timed)
    np.testing.assert_allclose(c_timed[0] - c_plain[0], np.tile([0.0, 0.5, 0.0], (8, 1)), atol=1e-9)
    np.testing.assert_allclose(c_timed[1], c_plain[1])  # a box without a track stays
    # the projection moves left in the image (ego +y is image -u) by about f * 0.5 / 20 px
    u_plain = np.concatenate([p[:, 0] for i, _, p in layer.camera_pieces(plain) if i == 7])
    u_timed = np.concatenate([p[:, 0] for i, _, p in layer.camera_pieces(timed) if i == 7])
    assert 8.0 < u_plain.mean() - u_timed.mean() < 16.0
    assert layer.pick_camera(timed, [u_timed.mean(), 240.0])[0] == 7
    # proposals are not tracks: never moved
    props = CuboidLayer("proposals", "proposal")
    props.set_data([Cuboid.of(7, "car", kf[1])])
    np.testing.assert_allclose(props.camera_corners(timed), props.corners)
