"""Property tests of calib.transforms: inverses, quaternion round trips, boundary checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calib.errors import TransformError
from calib.transforms import (
    check_transform,
    compose,
    invert,
    make_transform,
    quat_to_rotation,
    rotation_to_quat,
    transform_points,
)

unit = st.floats(-1.0, 1.0, allow_nan=False)
quats = st.tuples(unit, unit, unit, unit).filter(lambda q: np.linalg.norm(q) > 0.1)
vec3 = st.tuples(*[st.floats(-100.0, 100.0, allow_nan=False)] * 3)


@settings(max_examples=100, deadline=None)
@given(q=quats, t=vec3)
def test_T_times_inverse_is_identity(q, t) -> None:
    T = make_transform(quat_to_rotation(q), t)
    np.testing.assert_allclose(T @ invert(T), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(invert(T) @ T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(invert(invert(T)), T, atol=1e-12)
    check_transform(invert(T))


@settings(max_examples=100, deadline=None)
@given(q=quats)
def test_quaternion_rotation_round_trip(q) -> None:
    q = np.asarray(q) / np.linalg.norm(q)
    R = quat_to_rotation(q)
    q2 = rotation_to_quat(R)
    assert q2[0] >= 0
    # q and -q are the same rotation
    assert min(np.abs(q2 - q).max(), np.abs(q2 + q).max()) < 1e-9
    np.testing.assert_allclose(quat_to_rotation(q2), R, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(q1=quats, t1=vec3, q2=quats, t2=vec3)
def test_compose_matches_sequential_application(q1, t1, q2, t2) -> None:
    T_b_from_a = make_transform(quat_to_rotation(q1), t1)
    T_c_from_b = make_transform(quat_to_rotation(q2), t2)
    pts_a = np.array([[1.0, 2.0, 3.0], [-4.0, 0.5, 10.0]])
    direct = transform_points(compose(T_c_from_b, T_b_from_a), pts_a)
    stepwise = transform_points(T_c_from_b, transform_points(T_b_from_a, pts_a))
    np.testing.assert_allclose(direct, stepwise, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(q=st.tuples(*[st.floats(-1e3, 1e3, allow_nan=False)] * 4).filter(lambda q: np.linalg.norm(q) > 1e-6))
def test_quaternion_matrix_is_scipys(q) -> None:
    """The direct formula gives scipy's matrix (to rounding), any scale of the quaternion."""
    from scipy.spatial.transform import Rotation

    w, x, y, z = q
    np.testing.assert_allclose(quat_to_rotation(q), Rotation.from_quat([x, y, z, w]).as_matrix(), rtol=0, atol=4e-15)


def test_quaternion_rejects_zero_and_non_finite() -> None:
    for bad in ([0.0, 0.0, 0.0, 0.0], [np.nan, 0.0, 0.0, 1.0], [np.inf, 0.0, 0.0, 1.0]):
        with pytest.raises(TransformError, match="norm"):
            quat_to_rotation(bad)


def test_quaternion_convention_is_wxyz() -> None:
    # 90 degrees about +z: (w, x, y, z) = (cos 45, 0, 0, sin 45) maps x to y
    R = quat_to_rotation([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])
    np.testing.assert_allclose(R @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_check_transform_rejects() -> None:
    with pytest.raises(TransformError, match="reflection"):
        check_transform(np.diag([1.0, 1.0, -1.0, 1.0]))
    with pytest.raises(TransformError, match="bottom row"):
        check_transform(np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]))


def test_wrap_angle_of_a_float_is_numpys_value() -> None:
    """A Python float is wrapped without numpy (``math.pi - (math.pi - a) % (2 pi)``): the very
    value of the array path, sign of zero included, also for non-finite input."""
    import math

    from calib.transforms import wrap_angle

    rng = np.random.default_rng(7)
    special = [0.0, -0.0, math.pi, -math.pi, 2 * math.pi, -2 * math.pi, 3 * math.pi, -7 * math.pi,
               float(np.nextafter(math.pi, 4)), float(np.nextafter(-math.pi, -4)), float(np.nextafter(math.pi, 0)),
               5e-324, -5e-324, 1e-300, 1.7976931348623157e308, -1.7976931348623157e308,
               math.inf, -math.inf, math.nan]
    values = [*special, *map(float, rng.normal(size=20000) * 4), *map(float, rng.uniform(-1e6, 1e6, 5000)),
              *map(float, rng.normal(size=500) * 1e300)]
    with np.errstate(invalid="ignore"):
        arr = wrap_angle(np.array(values))
    assert isinstance(arr, np.ndarray)
    for v, ref in zip(values, arr.tolist(), strict=True):
        got = wrap_angle(v)
        assert type(got) is float
        if math.isnan(ref):
            assert math.isnan(got)
        else:
            assert got == ref and math.copysign(1.0, got) == math.copysign(1.0, ref), v
    assert wrap_angle(np.float64(4.0)) == wrap_angle(4.0) and wrap_angle(4) == wrap_angle(4.0)
