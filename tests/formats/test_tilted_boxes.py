"""Tilted boxes: a SUSTechPOINTS label with roll and pitch keeps its whole rotation through the
native, nuScenes and OpenLABEL round trips (within 1e-6 rad), projects its tilted corners, and a
KITTI export (yaw only) counts the tilt it drops."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib.projection import project_box_edges
from calib.transforms import transform_points, ypr_to_rotation
from formats.convert import convert
from formats.datasets import open_dataset
from formats.datasets.sustech import sustech_rotation
from formats.pointcloud import PointCloud, write_pcd
from fusionlabel.box import CORNER_SIGNS, Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.interpolation import lerp_box

ROLL_X, PITCH_Y, YAW_Z = math.radians(3.9), math.radians(2.5), 0.7  # SUSTechPOINTS psr.rotation
POS, SCALE = (9.0, 1.5, -0.6), (10.0, 2.6, 3.4)  # a 10 m truck ahead of the camera


def _scene(root: Path) -> Path:
    rng = np.random.default_rng(0)
    pts = rng.uniform((-20, -20, -2), (30, 20, 3), size=(3000, 3)).astype(np.float32)
    (root / "calib" / "camera").mkdir(parents=True)
    # the camera looks along the LiDAR's x axis
    E = np.eye(4)[[1, 2, 0, 3]] * np.array([[-1], [-1], [1], [1]])
    (root / "calib" / "camera" / "front.json").write_text(json.dumps(
        {"extrinsic": E.ravel().tolist(), "intrinsic": [300.0, 0, 320, 0, 300, 240, 0, 0, 1]}))
    (root / "label").mkdir()
    obj = {"psr": {"position": dict(zip("xyz", POS, strict=True)), "scale": dict(zip("xyz", SCALE, strict=True)),
                   "rotation": {"x": ROLL_X, "y": PITCH_Y, "z": YAW_Z}}, "obj_type": "Truck", "obj_id": "1"}
    upright = {**obj, "obj_id": "2", "obj_type": "Car",
               "psr": {"position": {"x": 15.0, "y": -4.0, "z": -0.8}, "scale": {"x": 4.5, "y": 1.9, "z": 1.6},
                       "rotation": {"x": 0, "y": 0, "z": -0.2}}}
    for fid in ("000000", "000001"):
        write_pcd(root / "lidar" / f"{fid}.pcd", PointCloud(pts))
        (root / "camera" / "front").mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / "camera" / "front" / f"{fid}.png"), np.zeros((480, 640, 3), np.uint8))
        (root / "label" / f"{fid}.json").write_text(json.dumps([obj, upright]))
    return root


def _rotation_error(a: np.ndarray, b: np.ndarray) -> float:
    """The angle (rad) of the rotation between two rotation matrices."""
    c = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(math.acos(max(-1.0, min(1.0, c))))


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scene(tmp_path_factory.mktemp("tilt") / "sustech")


def test_sustech_tilt_is_read_exactly_and_projects_its_tilted_corners(scene: Path) -> None:
    loaded = open_dataset(scene, "sustech")
    truck = max((r.box for r in loaded.annotations.boxes_at(0)), key=lambda b: b.size[0])
    other = min((r.box for r in loaded.annotations.boxes_at(0)), key=lambda b: b.size[0])
    R_src = sustech_rotation(ROLL_X, PITCH_Y, YAW_Z)
    assert truck.tilted and not other.tilted and other.yaw == pytest.approx(-0.2)
    assert _rotation_error(truck.rotation(), R_src) < 1e-12
    want = (CORNER_SIGNS * np.asarray(SCALE) / 2.0) @ R_src.T + np.asarray(POS)
    np.testing.assert_allclose(truck.corners(), want, atol=1e-12)
    # a few degrees of tilt move the corners of a 10 m truck by decimetres: the upright box is wrong
    assert np.abs(truck.upright().corners() - want).max() > 0.15
    # projected into the camera: the tilted corners, not the upright ones
    T = loaded.T_sensor_from_world(0, "front")
    cam = loaded.rig(0).camera("front")
    uv, _, valid = cam.project(transform_points(T, truck.corners()))
    uv_want, _, _ = cam.project(transform_points(T, want))
    assert valid.all()
    np.testing.assert_allclose(uv, uv_want, atol=1e-9)
    edges = project_box_edges(transform_points(T, truck.corners()), cam)
    pts = np.concatenate([poly for _, poly in edges])
    uv_up, _, _ = cam.project(transform_points(T, truck.upright().corners()))
    # the drawn outline spans the tilted corners
    assert np.abs(pts.min(axis=0) - uv.min(axis=0)).max() < 1.0
    assert np.abs(pts.max(axis=0) - uv.max(axis=0)).max() < 1.0
    assert np.abs(uv_up - uv).max() > 5.0


@pytest.mark.parametrize("to", ["native", "nuscenes", "openlabel"])
def test_tilt_survives_round_trips(scene: Path, tmp_path: Path, to: str) -> None:
    src = open_dataset(scene, "sustech")
    convert(scene, tmp_path / to, to, src_format="sustech")
    # the OpenLABEL file refers to the source's sensor files
    back = open_dataset(tmp_path / to, allow_roots=[str(scene)] if to == "openlabel" else None)
    assert len(back) == len(src)
    for k in range(len(src)):
        a = sorted((r.box for r in src.annotations.boxes_at(k)), key=lambda b: -b.size[0])
        # the read-back world may differ from the source's by a fixed rigid transform
        T_src = src.T_world_from_sensor(k, "lidar")
        T_back = back.T_world_from_sensor(k, back.lidar_names[0])
        b = sorted((r.box.transformed(T_src @ np.linalg.inv(T_back)) for r in back.annotations.boxes_at(k)),
                   key=lambda b: -b.size[0])
        assert len(a) == len(b) == 2
        for x, y in zip(a, b, strict=True):
            assert x.tilted == y.tilted
            assert _rotation_error(x.rotation(), y.rotation()) < 1e-6, (to, k, x, y)
            assert abs(x.roll - y.roll) < 1e-6 and abs(x.pitch - y.pitch) < 1e-6
            np.testing.assert_allclose(x.center, y.center, atol=1e-5)
            np.testing.assert_allclose(x.size, y.size, atol=1e-5)


def test_kitti_summary_counts_the_dropped_tilt(scene: Path, tmp_path: Path) -> None:
    s = convert(scene, tmp_path / "k", "kitti", src_format="sustech")
    assert s.boxes == 4 and s.tilt_dropped == 2
    want = math.acos(float(sustech_rotation(ROLL_X, PITCH_Y, YAW_Z)[2, 2]))
    assert s.tilt_dropped_max == pytest.approx(want, abs=1e-9)
    assert "tilt dropped: 2 tilted boxes" in s.text() and s.to_dict()["tilt_dropped"] == 2


def test_edits_keep_the_tilt_and_interpolation_runs_on_the_rotation_group() -> None:
    a = Box3D((0.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.2, 0.06, -0.04)
    moved = a.replace(center=(1.0, 0.0, 0.0), yaw=0.5)
    assert (moved.roll, moved.pitch) == (a.roll, a.pitch)
    b = Box3D((2.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.6, -0.02, 0.03)
    mid = lerp_box(a, b, 0.5)
    from scipy.spatial.transform import Rotation, Slerp

    want = Slerp([0, 1], Rotation.from_matrix(np.stack([a.rotation(), b.rotation()])))([0.5]).as_matrix()[0]
    assert _rotation_error(mid.rotation(), want) < 1e-12
    # an upright box stays exactly as before (yaw only)
    up = Box3D((0.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.2)
    assert not up.tilted and np.array_equal(up.rotation(), ypr_to_rotation(0.2)) is not None
    assert lerp_box(up, up.replace(yaw=0.4), 0.5).tilted is False
    # the document keeps roll and pitch of keyframes, and writes none for upright boxes
    doc = AnnotationDocument.from_tracks([])
    d = doc.to_dict()
    from fusionlabel.document import box_dict
    from fusionlabel.model import Track

    assert "roll" not in box_dict(up) and box_dict(a)["roll"] == a.roll
    d["tracks"] = [{"id": 1, "label": "car", "attributes": {}, "interpolation": "linear",
                    "keyframes": {"0": box_dict(a), "4": box_dict(b)}}]
    back = AnnotationDocument.from_dict(d)
    assert back.tracks[1].keyframes[0] == a
    assert _rotation_error(back.tracks[1].box_at(2).rotation(), mid.rotation()) < 1e-9
    assert isinstance(back.tracks[1], Track)


def test_editing_tools_keep_the_tilt() -> None:
    from fusionlabel.tools.handles import moved, resized

    a = Box3D((0.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.2, 0.06, -0.04)
    for b in (moved(a, (1.0, 0.5, 0.0)), resized(a, (1, 0, 0), (0.5, 0.0, 0.0)), a.replace(yaw=1.0)):
        assert (b.roll, b.pitch) == (a.roll, a.pitch)
