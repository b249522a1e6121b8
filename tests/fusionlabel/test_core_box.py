"""Box3D's checks and normalisation: the fast arithmetic gives the values and errors of the
term-by-term form (finite values, positive size, angles wrapped to (-pi, pi])."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.transforms import wrap_angle
from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError


def _reference(center: object, size: object, yaw: object, roll: object = 0.0, pitch: object = 0.0) -> tuple:
    """The fields Box3D stored before its fast checks (the term-by-term form)."""
    c = tuple(float(v) for v in center)  # type: ignore[attr-defined]
    s = tuple(float(v) for v in size)  # type: ignore[attr-defined]
    if len(c) != 3 or len(s) != 3:
        raise ModelError("len")
    if not all(math.isfinite(v) for v in (*c, *s, float(yaw), float(roll), float(pitch))):  # type: ignore[arg-type]
        raise ModelError("finite")
    if min(s) <= 0:
        raise ModelError("size")
    y = float(np.pi - np.mod(np.pi - np.float64(yaw), 2.0 * np.pi))  # type: ignore[arg-type]
    if roll or pitch:
        r = float(np.pi - np.mod(np.pi - np.float64(roll), 2.0 * np.pi))  # type: ignore[arg-type]
        p = float(np.pi - np.mod(np.pi - np.float64(pitch), 2.0 * np.pi))  # type: ignore[arg-type]
    else:
        r = p = 0.0
    return c, s, y, r, p


def test_fields_equal_the_term_by_term_form_on_random_boxes() -> None:
    rng = np.random.default_rng(3)
    for _ in range(3000):
        c = rng.normal(size=3) * 10.0 ** rng.integers(-3, 5)
        s = np.abs(rng.normal(size=3)) * 5 + 1e-9
        yaw, roll, pitch = rng.normal(size=3) * 10.0 ** rng.integers(-2, 3)
        if rng.random() < 0.5:
            roll = pitch = 0.0
        for args in ((tuple(c), tuple(s), float(yaw), float(roll), float(pitch)),
                     (list(c), np.asarray(s), np.float64(yaw), roll, pitch)):
            b = Box3D(*args)  # type: ignore[arg-type]
            ref = _reference(*args)
            got = (b.center, b.size, b.yaw, b.roll, b.pitch)
            assert got == ref
            assert all(type(v) is float for v in (*b.center, *b.size, b.yaw, b.roll, b.pitch))
            assert [math.copysign(1, v) for v in got[2:]] == [math.copysign(1, v) for v in ref[2:]]


@pytest.mark.parametrize(("center", "size", "yaw", "roll", "message"), [
    ((0.0, math.nan, 0.0), (1.0, 1.0, 1.0), 0.0, 0.0, "non-finite"),
    ((0.0, 0.0, 0.0), (1.0, math.inf, 1.0), 0.0, 0.0, "non-finite"),
    ((math.inf, -math.inf, 0.0), (1.0, 1.0, 1.0), 0.0, 0.0, "non-finite"),  # (a NaN sum)
    ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), math.inf, 0.0, "non-finite"),
    ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 0.0, math.nan, "non-finite"),
    ((0.0, 0.0, 0.0), (1.0, 0.0, 1.0), 0.0, 0.0, "size must be positive"),
    ((0.0, 0.0, 0.0), (1.0, -1.0, 1.0), 0.0, 0.0, "size must be positive"),
    ((0.0, 0.0), (1.0, 1.0, 1.0), 0.0, 0.0, "needs 3 centre and 3 size values, got 2 and 3"),
])
def test_bad_boxes_are_refused(center: tuple, size: tuple, yaw: float, roll: float, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        Box3D(center, size, yaw, roll)


def test_a_sum_that_overflows_is_checked_term_by_term() -> None:
    """Finite values whose sum overflows are a valid box (as before the fast check)."""
    big = 1.7e308
    b = Box3D((big, big, big), (big, big, big), 0.5)
    assert b.center == (big, big, big) and b.size == (big, big, big)
    assert b.yaw == wrap_angle(0.5)


def test_from_rotation_lists_and_arrays_give_the_same_box() -> None:
    """A reader's JSON lists take a shortcut (no arrays): the same box, and the same errors."""
    from calib.transforms import quat_to_rotation

    rng = np.random.default_rng(2)
    for _ in range(500):
        c, s = rng.normal(0, 50, 3).tolist(), rng.uniform(0.1, 20, 3).tolist()
        q = rng.normal(size=4).tolist() if rng.random() < 0.3 else [float(np.cos(a := rng.uniform(-3, 3))), 0.0, 0.0,
                                                                      float(np.sin(a))]
        R = quat_to_rotation(q)
        assert Box3D.from_rotation(c, s, R) == Box3D.from_rotation(np.array(c), tuple(s), R)
    assert Box3D.from_rotation([1, 2, 3], [4, 2, 1], np.eye(3)) == Box3D((1.0, 2.0, 3.0), (4.0, 2.0, 1.0), 0.0)
    for bad in ([1.0, float("nan"), 0.0], [1.0, 2.0, float("inf")]):
        with pytest.raises(ModelError):
            Box3D.from_rotation(bad, [1.0, 1.0, 1.0], np.eye(3))
    with pytest.raises(ModelError):
        Box3D.from_rotation([0.0, 0.0, 0.0], [1.0, 0.0, 1.0], np.eye(3))
