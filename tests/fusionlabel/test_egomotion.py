"""Ego poses from LiDAR registration: recovered on a synthetic drive with known poses, and on the
real SUSTechPOINTS sweeps (parked cars stand still; interpolation improves over the sensor frame)."""

from __future__ import annotations

import numpy as np
import pytest

from calib.transforms import invert, rotation_to_yaw
from fusionlabel.egomotion import estimate_ego_motion
from fusionlabel.synth import SynthConfig, SynthScene
from tests.conftest import real_data


def test_relative_poses_of_a_synthetic_drive() -> None:
    scene = SynthScene(SynthConfig(frames=4, seed=5, cameras=1, image_size=(64, 36)))
    T_ego_from_lidar = scene.rig.T("ego", "lidar_top")
    clouds, truth = [], []
    for k in (0, 1, 3):  # a dropped sweep: the 1 -> 3 gap is twice the others
        fr = scene.frame(k, cameras=False)
        clouds.append(fr.lidar["lidar_top"].points[:, :3])
        truth.append(scene.ego_pose(k) @ T_ego_from_lidar)
    motion = estimate_ego_motion(clouds, [scene.timestamp_ns(k) for k in (0, 1, 3)])
    assert motion.warnings == []
    for i in (1, 2):
        T_true = invert(truth[0]) @ truth[i]
        err = invert(T_true) @ motion.T_world_from_lidar[i]
        assert np.linalg.norm(err[:3, 3]) < 0.05, err[:3, 3]
        assert abs(rotation_to_yaw(err[:3, :3])) < np.radians(0.3)


def test_sustech_poses_make_parked_cars_stand_still() -> None:
    from formats.datasets import open_dataset

    root = real_data("sustechpoints_example", "data", "example")
    ls = open_dataset(root, format="sustech", estimate_poses=True)
    assert ls.info.meta["poses_from"] == "lidar registration"
    doc = ls.annotations
    for tid in (12, 15, 23, 1001):  # parked: they move with the ego in the sensor frame
        a, b = doc.track(tid).keyframes[1].center, doc.track(tid).keyframes[3].center
        assert np.hypot(a[0] - b[0], a[1] - b[1]) < 0.2
    # the ego itself moved several metres between sweeps 965 and 975
    moved = np.linalg.norm(ls.info.frames[3].T_world_from_ego[:3, 3] - ls.info.frames[1].T_world_from_ego[:3, 3])
    assert moved > 3.0


def test_interpolation_in_the_estimated_world_beats_the_sensor_frame() -> None:
    real_data("sustechpoints_example")
    from tests.conftest import load_benchmark

    mod = load_benchmark("bench_interp_sustech")
    world = [r["linear"] for r in mod.sustech_interpolation_ious(estimate_poses=True)]
    sensor = [r["linear"] for r in mod.sustech_interpolation_ious(estimate_poses=False)]
    assert len(world) == len(sensor) == 20
    assert np.mean(world) > np.mean(sensor) + 0.05
    assert np.mean(world) >= 0.75 and min(world) >= 0.5


def test_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="2 clouds but 1 timestamps"):
        estimate_ego_motion([np.zeros((5, 3)), np.zeros((5, 3))], [0])
