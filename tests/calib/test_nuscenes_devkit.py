"""Done-when check of the nuScenes reader against the official nuscenes-devkit.

The devkit needs numpy<2, so it lives in its own venv (``<repo root>/.venv-nusc``, made by
``make setup``) and runs ``nusc_devkit_reference.py`` in a subprocess; our side reads the JSON
tables with plain json and projects with calib. Every box centre must agree within 0.5 px."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from calib.readers import nuscenes_ego_pose, nuscenes_sensor
from calib.transforms import invert, transform_points
from tests.conftest import nusc_python, real_data

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VERSION = "v1.0-mini-kf"


def load_tables(root: Path) -> dict[str, dict[str, dict]]:
    tables = {}
    for name in ("sample", "sample_data", "sample_annotation", "calibrated_sensor", "sensor", "ego_pose"):
        records = json.loads((root / VERSION / f"{name}.json").read_text())
        tables[name] = {r["token"]: r for r in records}
    return tables


def our_projections(tables: dict) -> dict[str, dict[str, list[float]]]:
    """Per camera channel, per annotation token: [u, v, depth] of the annotation centre."""
    out: dict[str, dict[str, list[float]]] = {}
    for sd in tables["sample_data"].values():
        cs = tables["calibrated_sensor"][sd["calibrated_sensor_token"]]
        sensor_rec = tables["sensor"][cs["sensor_token"]]
        if sensor_rec["modality"] != "camera":
            continue
        sensor = nuscenes_sensor(cs, sensor_rec, image_size=(sd["width"], sd["height"]))
        T_global_from_ego = nuscenes_ego_pose(tables["ego_pose"][sd["ego_pose_token"]])
        T_cam_from_global = invert(sensor.T_ego_from_sensor) @ invert(T_global_from_ego)
        anns = [a for a in tables["sample_annotation"].values() if a["sample_token"] == sd["sample_token"]]
        pts_global = np.array([a["translation"] for a in anns], dtype=np.float64)
        uv, depth, _ = sensor.camera.project(
            transform_points(T_cam_from_global, pts_global), require_in_image=False
        )
        out[sensor.name] = {a["token"]: [*uv[k], depth[k]] for k, a in enumerate(anns)}
    return out


@pytest.mark.slow
def test_box_centres_match_devkit() -> None:
    root = real_data("nuscenes_kf")
    exe = nusc_python()
    if exe is None:
        pytest.skip(f"no .venv-nusc (with nuscenes-devkit) at {ROOT} or its main checkout")
    res = subprocess.run(
        [str(exe), str(HERE / "nusc_devkit_reference.py"), str(root), VERSION],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},  # the devkit's venv alone
    )
    assert res.returncode == 0, res.stderr[-2000:]
    ref = json.loads(res.stdout)
    ours = our_projections(load_tables(root))
    errors = []
    for channel, per in ref.items():
        for token, (u, v, depth) in per.items():
            if depth <= 0:
                continue
            ou, ov, od = ours[channel][token]
            assert od == pytest.approx(depth, abs=1e-6)
            errors.append(float(np.hypot(ou - u, ov - v)))
    print(f"nuScenes: {len(errors)} box-camera pairs, max centre error {max(errors):.2e} px")
    assert len(errors) >= 50
    assert max(errors) < 0.5
