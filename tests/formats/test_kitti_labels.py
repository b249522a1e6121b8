"""KITTI label lines and the bottom-centre / rotation_y conventions, both directions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.readers import load_kitti_calib
from calib.transforms import invert, make_transform, yaw_to_rotation
from formats.kitti_labels import (
    KittiLabelError,
    box_to_kitti,
    kitti_to_box,
    parse_label_line,
    read_label_file,
    read_tracking_labels,
)
from formats.pointcloud import read_bin
from fusionlabel.box import Box3D
from fusionlabel.geometry import count_points_in_boxes
from tests.conftest import real_data

# Camera optical axes expressed in the LiDAR frame: cam x = -lidar y, cam y = -lidar z, cam z = lidar x.
R_CAM_FROM_LIDAR = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def _T_cam_from_ego(mount_yaw: float = 0.0, t: tuple[float, float, float] = (0.1, -0.2, 0.3)) -> np.ndarray:
    return make_transform(R_CAM_FROM_LIDAR @ yaw_to_rotation(mount_yaw), t)


def test_known_orientations_and_bottom_centre() -> None:
    T_cam_from_ego = _T_cam_from_ego(t=(0, 0, 0))
    T_ego_from_cam = invert(T_cam_from_ego)
    # A car 10 m ahead, 1.5 m tall, bottom centre on y = 1.65 (camera 1.65 m above ground).
    line = "Car 0.00 0 0.00 100 100 200 200 1.50 1.60 4.00 0.00 1.65 10.00 0.00"
    obj = parse_label_line(line)
    box = kitti_to_box(obj, T_ego_from_cam)
    np.testing.assert_allclose(box.center, [10.0, 0.0, -1.65 + 0.75], atol=1e-12)
    assert box.size == (4.0, 1.6, 1.5)
    # ry = 0 faces the camera's +x = the ego's -y.
    assert math.isclose(box.yaw, -math.pi / 2, abs_tol=1e-12)
    # ry = pi/2 faces the camera (-z) = the ego's -x.
    obj2 = parse_label_line(line.rsplit(" ", 1)[0] + " 1.5707963")
    assert math.isclose(abs(kitti_to_box(obj2, T_ego_from_cam).yaw), math.pi, abs_tol=1e-6)
    back = box_to_kitti(box, "Car", T_cam_from_ego)
    np.testing.assert_allclose(back.location, obj.location, atol=1e-12)
    assert back.dimensions == obj.dimensions
    assert math.isclose(back.rotation_y, 0.0, abs_tol=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    x=st.floats(-40, 40),
    y=st.floats(-40, 40),
    z=st.floats(-3, 3),
    l=st.floats(0.3, 15),
    w=st.floats(0.3, 4),
    h=st.floats(0.3, 5),
    yaw=st.floats(-math.pi, math.pi),
    mount=st.floats(-math.pi, math.pi),
)
def test_round_trip_box_kitti_box(
    x: float, y: float, z: float, l: float, w: float, h: float, yaw: float, mount: float
) -> None:
    T_cam_from_ego = _T_cam_from_ego(mount)
    box = Box3D((x, y, z), (l, w, h), yaw)
    obj = box_to_kitti(box, "Car", T_cam_from_ego)
    # alpha is the observation angle: ry - atan2(x, z)
    ref = obj.rotation_y - math.atan2(obj.location[0], obj.location[2])
    assert abs(math.remainder(obj.alpha - ref, 2 * math.pi)) < 1e-9
    back = kitti_to_box(parse_label_line(obj.format()), invert(T_cam_from_ego))
    np.testing.assert_allclose(back.center, box.center, atol=2e-4)
    np.testing.assert_allclose(back.size, box.size, atol=1e-4)
    assert abs(math.remainder(back.yaw - box.yaw, 2 * math.pi)) < 1e-3


def test_real_kitti_boxes_hold_their_points_and_round_trip() -> None:
    root = real_data("kitti_object_vis", "data", "object", "training")
    for stem in ("000000", "000001", "000002"):
        calib = load_kitti_calib(root / "calib" / f"{stem}.txt")
        T_cam_from_velo = calib.T_cam0rect_from_velo()
        objs = [o for o in read_label_file(root / "label_2" / f"{stem}.txt") if not o.is_dontcare]
        boxes = [kitti_to_box(o, invert(T_cam_from_velo)) for o in objs]
        pts = read_bin(root / "velodyne" / f"{stem}.bin", "kitti").xyz
        counts = count_points_in_boxes(pts, boxes)
        assert (counts > 0).all(), f"{stem}: boxes without points {counts}"
        for o, b in zip(objs, boxes, strict=True):
            back = box_to_kitti(b, o.type, T_cam_from_velo)
            # the real calibration is slightly tilted: round trip within 1 cm / 0.01 rad
            np.testing.assert_allclose(back.location, o.location, atol=0.01)
            assert abs(math.remainder(back.rotation_y - o.rotation_y, 2 * math.pi)) < 0.01
            assert abs(math.remainder(back.alpha - o.alpha, 2 * math.pi)) < 0.02


def test_tracking_labels_real() -> None:
    p = real_data("ab3dmot_kitti_tracking", "scripts", "KITTI", "label", "0001.txt")
    frames = read_tracking_labels(p)
    assert min(frames) == 0 and max(frames) == 446
    assert sum(len(v) for v in frames.values()) == 4271
    ids = {o.track_id for v in frames.values() for o in v if not o.is_dontcare}
    assert -1 not in ids and len(ids) > 50
    assert all(o.track_id == -1 for v in frames.values() for o in v if o.is_dontcare)


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "000007.txt"
    p.write_text("Car 0 0 0 1 1 2 2 1.5 1.6 4 0 1.6 10 0\nCar 0 0 0 1 1 2 2 1.5 1.6 4 0 1.6 10\n")
    with pytest.raises(KittiLabelError, match=r"000007\.txt:2: expected 15 or 16 fields"):
        read_label_file(p)
    p.write_text("Car 0 0 0 1 1 2 2 1.5 abc 4 0 1.6 10 0\n")
    with pytest.raises(KittiLabelError, match=r"000007\.txt:1: non-numeric"):
        read_label_file(p)
    p.write_text("Car 0 0 0 1 1 2 2 1.5 nan 4 0 1.6 10 0\n")
    with pytest.raises(KittiLabelError, match=r"000007\.txt:1: non-finite"):
        read_label_file(p)
    p.write_text("Car 0 0 0 1 1 2 2 1.5 -1 4 0 1.6 10 0\n")
    with pytest.raises(KittiLabelError, match="non-positive size"):
        read_label_file(p)
