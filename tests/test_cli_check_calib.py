"""`fusionlabel check-calib`: a correct rig passes, an inverted or transposed extrinsic is flagged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from calib.rig import Rig, Sensor, load_rig_json, save_rig_json
from calib.transforms import invert
from fusionlabel.cli import main


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cc") / "scene"
    assert main(["synth", str(out), "--frames", "1", "--seed", "3", "--cameras", "1", "--size", "160x90"]) == 0
    return out


def _with_camera_pose(src: Path, dst: Path, change: str) -> Path:
    shutil.copytree(src, dst)
    rig = load_rig_json(dst / "rig.json")
    sensors = []
    for s in rig.sensors:
        T = s.T_ego_from_sensor
        if s.kind == "camera":
            if change == "inverted":
                T = invert(T)
            elif change == "transposed":
                T = T.copy()
                T[:3, :3] = T[:3, :3].T
        sensors.append(Sensor(s.name, s.kind, T, s.camera))
    save_rig_json(Rig(sensors), dst / "rig.json")
    return dst


def test_correct_rig_passes(scene: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-calib", str(scene), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["camera"] for r in res] == ["cam_front"] and res[0]["ok"]


@pytest.mark.parametrize("change", ["inverted", "transposed"])
def test_flipped_extrinsic_is_flagged(
    scene: Path, tmp_path: Path, change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _with_camera_pose(scene, tmp_path / change, change)
    assert main(["check-calib", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL lidar_top -> cam_front")
    assert np.any([w in out.lower() for w in ("invert", "transpos")])


def test_frame_out_of_range_is_an_error(scene: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-calib", str(scene), "--frame", "5"]) == 2
    assert "frame 5 out of range" in capsys.readouterr().err
