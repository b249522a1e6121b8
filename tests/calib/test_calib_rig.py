"""Rig and Sensor: transforms between sensors, lookups, dict/JSON round trips and error paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calib.camera import CameraModel
from calib.errors import CalibrationError, UnknownSensorError
from calib.rig import Rig, Sensor, load_rig_json, save_rig_json
from calib.transforms import invert, make_transform, pose_from_xyz_yaw, transform_points

K = np.array([[1000.0, 0.0, 800.0], [0.0, 1000.0, 450.0], [0.0, 0.0, 1.0]])
# ego (x fwd, y left, z up) <- camera optical (x right, y down, z fwd)
R_EGO_FROM_OPT = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def make_rig() -> Rig:
    cam = CameraModel(K, 1600, 900, "radtan", (-0.1, 0.01, 0.0, 0.0, 0.0))
    return Rig(
        [
            Sensor("lidar_top", "lidar", pose_from_xyz_yaw(0.9, 0.0, 1.8, 0.01)),
            Sensor("cam_front", "camera", make_transform(R_EGO_FROM_OPT, [1.7, 0.0, 1.5]), cam),
            Sensor(
                "cam_left",
                "camera",
                make_transform(R_EGO_FROM_OPT, [1.5, 0.5, 1.5]) @ pose_from_xyz_yaw(0, 0, 0, 0.0),
                cam,
            ),
            Sensor("imu", "imu", np.eye(4)),
        ]
    )


def test_lookups() -> None:
    rig = make_rig()
    assert rig.camera_names() == ["cam_front", "cam_left"]
    assert rig.lidar_names() == ["lidar_top"]
    assert rig.camera("cam_front").width == 1600
    assert "ego" in rig and "cam_front" in rig and "nope" not in rig
    with pytest.raises(KeyError) as ei:
        rig.sensor("cam_back")
    msg = str(ei.value)
    assert "cam_back" in msg and "cam_front" in msg and "ego" in msg
    with pytest.raises(UnknownSensorError, match="not a camera"):
        rig.camera("lidar_top")


def test_transforms_compose() -> None:
    rig = make_rig()
    T_cam_from_lidar = rig.T("cam_front", "lidar_top")
    np.testing.assert_allclose(
        T_cam_from_lidar, invert(rig.T("ego", "cam_front")) @ rig.T("ego", "lidar_top"), atol=1e-12
    )
    np.testing.assert_allclose(rig.T("lidar_top", "cam_front") @ T_cam_from_lidar, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(rig.T("ego", "ego"), np.eye(4))
    # A point 10 m ahead of the vehicle is 10 - 1.7 m in front of the front camera (z axis).
    p_cam = transform_points(rig.T("cam_front", "ego"), np.array([[10.0, 0.0, 1.5]]))
    np.testing.assert_allclose(p_cam, [[0.0, 0.0, 8.3]], atol=1e-12)
    with pytest.raises(KeyError):
        rig.T("ego", "radar")


def test_sensor_validation() -> None:
    with pytest.raises(CalibrationError, match="T_ego_from_sensor"):
        Sensor("x", "lidar", np.eye(3))
    bad = np.eye(4)
    bad[0, 0] = 2.0
    with pytest.raises(CalibrationError, match="orthonormal"):
        Sensor("x", "lidar", bad)
    with pytest.raises(CalibrationError, match="needs a CameraModel"):
        Sensor("c", "camera", np.eye(4))
    with pytest.raises(CalibrationError, match="ego"):
        Sensor("ego", "lidar", np.eye(4))
    with pytest.raises(CalibrationError, match="duplicate"):
        Rig([Sensor("a", "lidar", np.eye(4)), Sensor("a", "imu", np.eye(4))])


def test_dict_and_json_round_trip(tmp_path: Path) -> None:
    rig = make_rig()
    assert Rig.from_dict(rig.to_dict()) == rig
    path = tmp_path / "rig.json"
    save_rig_json(rig, path)
    assert load_rig_json(path) == rig
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["rig.json"]  # no temp file left behind


def test_json_translation_quaternion_form(tmp_path: Path) -> None:
    d = {
        "version": 1,
        "sensors": [
            {
                "name": "lidar",
                "kind": "lidar",
                "translation": [1, 2, 3],
                "rotation_wxyz": [np.cos(0.25), 0, 0, np.sin(0.25)],
            }
        ],
    }
    path = tmp_path / "rig.json"
    path.write_text(json.dumps(d))
    rig = load_rig_json(path)
    np.testing.assert_allclose(rig.T("ego", "lidar"), pose_from_xyz_yaw(1, 2, 3, 0.5), atol=1e-12)


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d.pop("version"), "version"),
        (lambda d: d.update(version=7), "version"),
        (lambda d: d.pop("sensors"), "sensors"),
        (lambda d: d["sensors"][0].pop("kind"), "kind"),
        (lambda d: d["sensors"][0].update(T_ego_from_sensor=[[1, 0], [0, 1]]), "T_ego_from_sensor"),
        (lambda d: d["sensors"][0].update(T_ego_from_sensor=[["a"] * 4] * 4), "T_ego_from_sensor"),
        (lambda d: d["sensors"][0]["T_ego_from_sensor"][0].__setitem__(0, float("nan")), "T_ego_from_sensor"),
        (lambda d: d["sensors"][0]["T_ego_from_sensor"][0].__setitem__(0, 3.0), "T_ego_from_sensor"),
        (lambda d: d["sensors"][1]["camera"].pop("K"), "K"),
        (lambda d: d["sensors"][1]["camera"].update(dist=[0.1]), "dist"),
        (lambda d: d["sensors"][1].pop("camera"), "camera"),
        (lambda d: d["sensors"].append(dict(d["sensors"][0])), "sensors"),
    ],
)
def test_malformed_json_names_file_and_key(tmp_path: Path, mutate, key: str) -> None:
    d = make_rig().to_dict()
    mutate(d)
    path = tmp_path / "bad_rig.json"
    path.write_text(json.dumps(d))
    with pytest.raises(CalibrationError) as ei:
        load_rig_json(path)
    msg = str(ei.value)
    assert "bad_rig.json" in msg and key in msg, msg


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "rig.json"
    path.write_text("{ nope")
    with pytest.raises(CalibrationError, match="rig.json.*invalid JSON"):
        load_rig_json(path)
    with pytest.raises(CalibrationError, match="cannot read"):
        load_rig_json(tmp_path / "missing.json")
