"""CameraModel: validation, projection against OpenCV, valid field of view, round trips."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.camera import CameraModel
from calib.errors import CalibrationError

K = np.array([[800.0, 0.0, 640.0], [0.0, 790.0, 360.0], [0.0, 0.0, 1.0]])
MODELS = {
    "none": ("none", ()),
    "radtan4": ("radtan", (-0.3, 0.1, 0.001, -0.002)),
    "radtan5": ("radtan", (-0.28, 0.07, 0.0008, -0.0011, -0.02)),
    "rational8": ("radtan", (0.5, -0.2, 0.001, 0.002, 0.05, 0.8, -0.1, 0.1)),
    "fisheye4": ("fisheye", (0.05, -0.01, 0.003, -0.001)),
    "fisheye_fold": ("fisheye", (-0.5, 0.02, 0.0, 0.0)),
}


def cam_of(key: str) -> CameraModel:
    model, dist = MODELS[key]
    return CameraModel(K, 1280, 720, model, dist)


def random_points(rng: np.random.Generator, n: int) -> np.ndarray:
    pts = rng.normal(size=(n, 3)) * [4.0, 3.0, 1.0]
    pts[:, 2] = np.abs(pts[:, 2]) * 10.0 + 0.2
    return pts


@pytest.mark.parametrize("key", list(MODELS))
def test_project_matches_opencv(key: str) -> None:
    cam = cam_of(key)
    pts = random_points(np.random.default_rng(1), 3000)
    pts = pts[cam.in_fov(pts)]
    assert len(pts) > 500
    uv, depth, _ = cam.project(pts, require_in_image=False)
    if cam.model == "fisheye":
        ref, _ = cv2.fisheye.projectPoints(pts[:, None, :], np.zeros(3), np.zeros(3), K, np.array(cam.dist))
    else:
        ref, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, np.array(cam.dist) if cam.dist else None)
    np.testing.assert_allclose(uv, ref.reshape(-1, 2), atol=1e-6)
    np.testing.assert_array_equal(depth, pts[:, 2])


@pytest.mark.parametrize("key", list(MODELS))
def test_unproject_round_trip_in_pixels(key: str) -> None:
    """Every pixel of the image that lies inside the valid FOV round-trips to ~1e-6 px."""
    cam = cam_of(key)
    u, v = np.meshgrid(np.linspace(-0.5, cam.width - 0.5, 41), np.linspace(-0.5, cam.height - 0.5, 23))
    uv = np.stack([u.ravel(), v.ravel()], axis=1)
    rays = cam.rays(uv)
    ok = np.isfinite(rays).all(axis=1)
    assert ok.mean() > 0.5
    pts = rays[ok] * 7.0
    uv2, depth, valid = cam.project(pts, require_in_image=False)
    np.testing.assert_allclose(depth, 7.0)
    np.testing.assert_allclose(uv2, uv[ok], atol=1e-6)


def test_fold_back_points_are_invalid() -> None:
    """A point far outside the FOV whose folded projection lands in the image must be invalid."""
    cam = CameraModel(K, 1280, 720, "radtan", (-0.4, 0.0, 0.0, 0.0, 0.0))
    # radial r(1 - 0.4 r^2) folds at r = sqrt(1/1.2)
    assert cam.max_radius == pytest.approx(math.sqrt(1 / 1.2), rel=1e-6)
    far = np.array([[3.0, 0.0, 1.0]])  # r = 3: distorted radius 3 (1 - 3.6) = -7.8 -> folded
    near_axis = np.array([[0.06, 0.0, 1.0]])
    uv, _, valid = cam.project(np.concatenate([far, near_axis]), require_in_image=False)
    assert not valid[0] and valid[1]
    # A point at r=1.5 lands inside the image (u = 640 + 800 * 1.5 * 0.1 = 760) but is invalid.
    uv, _, valid = cam.project(np.array([[1.5, 0.0, 1.0]]))
    assert cam.in_image(uv)[0] and not valid[0]


def test_fisheye_fold_detected() -> None:
    cam = cam_of("fisheye_fold")
    # d theta_d / d theta = 1 - 1.5 theta^2 + 0.1 theta^4 vanishes near theta = 0.843
    t = cam.max_angle
    assert 0.8 < t < 0.9
    assert abs(1 - 1.5 * t**2 + 0.1 * t**4) < 1e-9
    td_max = t * (1 - 0.5 * t**2 + 0.02 * t**4)
    uv_beyond = cam._apply_K(np.array([[td_max * 1.01, 0.0]]))
    assert np.isnan(cam.rays(uv_beyond)).all()


def test_validity_near_plane_and_image() -> None:
    cam = cam_of("none")
    pts = np.array([[0, 0, 5.0], [0, 0, 0.05], [0, 0, -5.0], [100, 0, 5.0], [0, 0, 0.2]])
    uv, depth, valid = cam.project(pts)
    assert valid.tolist() == [True, False, False, False, True]
    assert np.isnan(uv[2]).all()
    _, _, valid_any = cam.project(pts, require_in_image=False)
    assert valid_any.tolist() == [True, False, False, True, True]
    _, _, valid_near = cam.project(pts, near=0.5)
    assert valid_near.tolist() == [True, False, False, False, False]


def test_empty_input() -> None:
    uv, depth, valid = cam_of("radtan5").project(np.zeros((0, 3)))
    assert uv.shape == (0, 2) and depth.shape == (0,) and valid.shape == (0,)
    assert cam_of("fisheye4").unproject(np.zeros((0, 2)), np.zeros(0)).shape == (0, 3)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"K": np.eye(2)}, "K"),
        ({"K": [[0, 0, 1], [0, 1, 1], [0, 0, 1]]}, "K"),
        ({"K": [[1, 0, 1], [0, float("nan"), 1], [0, 0, 1]]}, "K"),
        ({"width": 0}, "width"),
        ({"height": 10.5}, "height"),
        ({"model": "kb8"}, "model"),
        ({"model": "radtan", "dist": (0.1, 0.2, 0.3)}, "dist"),
        ({"model": "fisheye", "dist": (0.1, 0.2, 0.3, 0.4, 0.5)}, "dist"),
        ({"model": "none", "dist": (0.1,)}, "dist"),
        ({"model": "radtan", "dist": (0.1, 0.2, 0.0, float("inf"))}, "dist"),
        ({"model": "radtan", "dist": ("a", 0, 0, 0)}, "dist"),
    ],
)
def test_validation(kwargs: dict, key: str) -> None:
    args = {"K": K, "width": 640, "height": 480, "model": "none", "dist": ()} | kwargs
    with pytest.raises(CalibrationError) as ei:
        CameraModel(**args)
    assert ei.value.key == key
    assert key in str(ei.value)


@pytest.mark.parametrize("key", list(MODELS))
def test_dict_round_trip(key: str) -> None:
    cam = cam_of(key)
    assert CameraModel.from_dict(cam.to_dict()) == cam
    with pytest.raises(CalibrationError, match="rig.json.*'width'"):
        CameraModel.from_dict({"K": K.tolist(), "height": 3}, source="rig.json")


def test_scaled_keeps_pixel_centres() -> None:
    cam = cam_of("radtan5")
    half = cam.scaled(0.5)
    assert (half.width, half.height) == (640, 360)
    pts = random_points(np.random.default_rng(2), 100)
    pts = pts[cam.in_fov(pts)]
    uv, _, _ = cam.project(pts, require_in_image=False)
    uv_half, _, _ = half.project(pts, require_in_image=False)
    np.testing.assert_allclose((uv_half + 0.5), (uv + 0.5) * 0.5, atol=1e-9)


def test_k_is_read_only() -> None:
    cam = cam_of("none")
    with pytest.raises(ValueError):
        cam.K[0, 0] = 1.0


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(list(MODELS)),
    frac=st.floats(0.0, 0.97),
    phi=st.floats(-math.pi, math.pi),
    depth=st.floats(0.2, 200.0),
)
def test_project_unproject_identity(key: str, frac: float, phi: float, depth: float) -> None:
    """project then unproject gives the point back, inside the valid FOV, for every model."""
    cam = cam_of(key)
    angle = frac * min(cam.max_angle, math.radians(85.0))
    r = math.tan(angle)
    pt = np.array([[r * math.cos(phi) * depth, r * math.sin(phi) * depth, depth]])
    uv, d, valid = cam.project(pt, require_in_image=False)
    assert valid[0]
    back = cam.unproject(uv, d)
    np.testing.assert_allclose(back, pt, rtol=1e-6, atol=1e-6 * depth)


def test_pickle_and_deepcopy() -> None:
    import copy
    import pickle

    for key in MODELS:
        cam = cam_of(key)
        for other in (pickle.loads(pickle.dumps(cam)), copy.deepcopy(cam)):
            assert other == cam and other.max_angle == cam.max_angle
            uv, _, _ = other.project(np.array([[0.1, 0.2, 3.0]]))
            np.testing.assert_allclose(uv, cam.project(np.array([[0.1, 0.2, 3.0]]))[0])
