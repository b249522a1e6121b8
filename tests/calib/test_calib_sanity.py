"""Calibration sanity checks: correct extrinsics pass, inverted/transposed/non-orthonormal ones are
flagged, on the real KITTI frames and on a synthetic scene."""

from __future__ import annotations

import numpy as np
import pytest

from calib.camera import CameraModel
from calib.errors import CalibrationError
from calib.readers import load_kitti_calib
from calib.sanity import check_calibration
from calib.transforms import invert, make_transform, yaw_to_rotation
from tests.conftest import real_data

OBJECT = ("kitti_object_vis", "data", "object", "training")
# camera optical frame (x right, y down, z fwd) <- vehicle-style frame (x fwd, y left, z up)
R_OPT_FROM_VEH = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def rotation_transposed(T: np.ndarray) -> np.ndarray:
    out = T.copy()
    out[:3, :3] = T[:3, :3].T
    return out


@pytest.fixture(scope="module")
def kitti() -> list[tuple[np.ndarray, CameraModel, np.ndarray]]:
    root = real_data(*OBJECT)
    out = []
    for frame in ("000000", "000001", "000002"):
        calib = load_kitti_calib(root / "calib" / f"{frame}.txt")
        pts = np.fromfile(root / "velodyne" / f"{frame}.bin", dtype=np.float32).reshape(-1, 4)[:, :3]
        out.append((pts[::2], calib.camera_model(2, (1242, 375)), calib.T_cami_from_velo(2)))
    return out


def test_kitti_correct_passes(kitti) -> None:
    for pts, cam, T in kitti:
        r = check_calibration(pts, cam, T)
        assert r.ok, r.summary
        assert not r.looks_inverted and not r.looks_transposed
        assert 0.25 < r.share_in_image < 0.5  # about 17 % of all points, a third of those in front
        assert r.ground_below_share > 0.95 and r.upright > 0.99
        assert "plausible" in r.summary


def test_kitti_inverted_flagged(kitti) -> None:
    for pts, cam, T in kitti:
        r = check_calibration(pts, cam, invert(T))
        assert not r.ok and r.looks_inverted, r.summary
        assert "WRONG" in r.summary


def test_kitti_transposed_flagged(kitti) -> None:
    for pts, cam, T in kitti:
        r = check_calibration(pts, cam, rotation_transposed(T))
        assert not r.ok and r.looks_transposed, r.summary
        r = check_calibration(pts, cam, T.T)  # the whole 4x4 read in the wrong order
        assert not r.ok and r.looks_transposed and not r.looks_inverted, r.summary
        assert "4x4 matrix looks transposed" in r.summary


def test_kitti_not_orthonormal_flagged(kitti) -> None:
    pts, cam, T = kitti[0]
    bad = T.copy()
    bad[:3, :3] *= 1.01
    r = check_calibration(pts, cam, bad)
    assert not r.ok and not r.rotation_orthonormal and "not a proper rotation" in r.summary


def synthetic_scene(rng: np.random.Generator) -> np.ndarray:
    """A 360-degree LiDAR 1.7 m above flat ground with walls on both sides and boxes ahead."""
    rings = []
    for rng_m in np.geomspace(3.0, 60.0, 40):
        phi = rng.uniform(-np.pi, np.pi, 1500)
        rings.append(np.stack([rng_m * np.cos(phi), rng_m * np.sin(phi), np.full_like(phi, -1.7)], 1))
    walls = np.stack(
        [rng.uniform(-40, 40, 20000), np.repeat([-9.0, 9.0], 10000), rng.uniform(-1.7, 2.0, 20000)], 1
    )
    boxes = np.concatenate(
        [np.stack([rng.uniform(x, x + 4, 800), rng.uniform(y, y + 2, 800), rng.uniform(-1.7, -0.2, 800)], 1)
         for x, y in ((12, -3), (20, 2), (-15, 1), (30, -1))]
    )  # fmt: skip
    return np.concatenate([*rings, walls, boxes]) + rng.normal(scale=0.02, size=(1, 3))


@pytest.mark.parametrize(
    ("yaw", "t_lidar", "model", "dist"),
    [
        (0.0, [0.3, 0.0, -0.1], "none", ()),
        (0.6, [1.5, 0.5, -0.4], "radtan", (-0.2, 0.05, 0.0, 0.0, 0.0)),
        (-0.4, [0.2, -0.7, 0.2], "fisheye", (0.02, -0.01, 0.0, 0.0)),
    ],
)
def test_synthetic(yaw: float, t_lidar, model: str, dist) -> None:
    rng = np.random.default_rng(3)
    pts = synthetic_scene(rng)
    cam = CameraModel(np.array([[700.0, 0, 640], [0, 700.0, 360], [0, 0, 1]]), 1280, 720, model, dist)
    # camera at t_lidar (lidar frame), looking along yaw, pitched down 5 degrees
    pitch = np.radians(5)
    R_pitch = np.array([[np.cos(pitch), 0, np.sin(pitch)], [0, 1, 0], [-np.sin(pitch), 0, np.cos(pitch)]])
    T_lidar_from_cam = make_transform(yaw_to_rotation(yaw) @ R_pitch @ R_OPT_FROM_VEH.T, t_lidar)
    T = invert(T_lidar_from_cam)
    good = check_calibration(pts, cam, T)
    assert good.ok, good.summary
    inv = check_calibration(pts, cam, invert(T))
    assert not inv.ok and inv.looks_inverted, inv.summary
    tr = check_calibration(pts, cam, rotation_transposed(T))
    assert not tr.ok and tr.looks_transposed, tr.summary


def test_bad_input() -> None:
    cam = CameraModel(np.eye(3) * [500, 500, 1] + [[0, 0, 320], [0, 0, 240], [0, 0, 0]], 640, 480)
    with pytest.raises(CalibrationError, match="4x4"):
        check_calibration(np.zeros((5, 3)), cam, np.eye(3))
    T = np.eye(4)
    T[3, 0] = 1.0
    T[0, 3] = 1.0
    with pytest.raises(CalibrationError, match="bottom row"):
        check_calibration(np.zeros((5, 3)), cam, T)
    r = check_calibration(np.zeros((0, 3)), cam, np.eye(4))
    assert not r.ok and r.n_in_image == 0


def test_kitti_upside_down_camera_flagged(kitti) -> None:
    pts, cam, T = kitti[1]
    roll = np.diag([-1.0, -1.0, 1.0, 1.0])  # camera rolled by 180 degrees about its optical axis
    r = check_calibration(pts, cam, roll @ T)
    assert not r.ok and r.upright < -0.9 and "far from upright" in r.summary
