"""nuScenes readers: records from the real tables, parsing and error paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calib.errors import CalibrationError
from calib.readers import nuscenes_ego_pose, nuscenes_rig, nuscenes_sensor
from tests.conftest import real_data

VERSION = "v1.0-mini-kf"


def load_tables(root: Path) -> dict[str, dict[str, dict]]:
    tables = {}
    for name in ("sample_data", "calibrated_sensor", "sensor"):
        records = json.loads((root / VERSION / f"{name}.json").read_text())
        tables[name] = {r["token"]: r for r in records}
    return tables


def test_rig_from_real_tables() -> None:
    root = real_data("nuscenes_kf")
    t = load_tables(root)
    sizes = {}
    for sd in t["sample_data"].values():
        cs = t["calibrated_sensor"][sd["calibrated_sensor_token"]]
        sizes[t["sensor"][cs["sensor_token"]]["channel"]] = (sd["width"], sd["height"])
    rig = nuscenes_rig(t["calibrated_sensor"].values(), t["sensor"], sizes)
    assert len(rig.camera_names()) == 6 and rig.lidar_names() == ["LIDAR_TOP"]
    # the front camera looks forward: its optical axis is the ego x axis, roughly
    z_axis_in_ego = rig.T("ego", "CAM_FRONT")[:3, 2]
    assert z_axis_in_ego[0] > 0.99
    assert rig.camera("CAM_FRONT").width == 1600


CS = {
    "token": "cs1",
    "sensor_token": "s1",
    "translation": [1.7, 0.0, 1.5],
    "rotation": [0.5, -0.5, 0.5, -0.5],
    "camera_intrinsic": [[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]],
}
SENSOR = {"token": "s1", "channel": "CAM_FRONT", "modality": "camera"}


def test_sensor_record() -> None:
    s = nuscenes_sensor(CS, SENSOR, (1600, 900))
    assert (s.name, s.kind) == ("CAM_FRONT", "camera")
    # optical z axis = ego x axis for this standard rotation
    np.testing.assert_allclose(s.T_ego_from_sensor[:3, 2], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(s.T_ego_from_sensor[:3, 3], [1.7, 0, 1.5])
    lidar = nuscenes_sensor(
        {**CS, "camera_intrinsic": []}, {**SENSOR, "channel": "LIDAR_TOP", "modality": "lidar"}
    )
    assert lidar.camera is None and lidar.kind == "lidar"
    T = nuscenes_ego_pose({"token": "e", "translation": [1, 2, 3], "rotation": [1, 0, 0, 0]})
    np.testing.assert_allclose(T[:3, 3], [1, 2, 3])


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"translation": [1.0, 2.0]}, "translation"),
        ({"translation": [1.0, "x", 2.0]}, "translation"),
        ({"translation": [1.0, float("nan"), 2.0]}, "translation"),
        ({"rotation": [1.0, 1.0, 0.0, 0.0]}, "rotation"),
        ({"rotation": None}, "rotation"),
        ({"camera_intrinsic": [[1.0, 0.0], [0.0, 1.0]]}, "camera_intrinsic"),
        ({"camera_intrinsic": [[-5.0, 0, 800], [0, 5.0, 400], [0, 0, 1]]}, "camera_intrinsic"),
        ({"camera_intrinsic": []}, "camera_intrinsic"),
        ({"sensor_token": "other"}, "sensor_token"),
    ],
)
def test_malformed_calibrated_sensor(change: dict, key: str) -> None:
    rec = {**CS, **change}
    with pytest.raises(CalibrationError) as ei:
        nuscenes_sensor(rec, SENSOR, (1600, 900))
    assert "cs1" in str(ei.value) and repr(key) in str(ei.value), str(ei.value)


def test_missing_keys_and_sizes() -> None:
    rec = dict(CS)
    del rec["rotation"]
    with pytest.raises(CalibrationError, match="cs1.*'rotation'.*missing"):
        nuscenes_sensor(rec, SENSOR, (1600, 900))
    with pytest.raises(CalibrationError, match="cs1.*image_size"):
        nuscenes_sensor(CS, SENSOR)
    with pytest.raises(CalibrationError, match="sensor record s1.*'modality'"):
        nuscenes_sensor(CS, {"token": "s1", "channel": "CAM_FRONT"}, (1600, 900))
    with pytest.raises(CalibrationError, match="ego_pose record e1.*'translation'"):
        nuscenes_ego_pose({"token": "e1", "rotation": [1, 0, 0, 0]})
    with pytest.raises(CalibrationError, match="cannot tell the kind"):
        nuscenes_sensor({**CS, "camera_intrinsic": []})
