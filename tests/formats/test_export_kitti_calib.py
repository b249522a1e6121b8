"""KITTI calibration synthesis, image resampling, OXTS poses and the occlusion heuristic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from calib.camera import CameraModel
from calib.readers import load_kitti_calib, parse_kitti_calib
from calib.transforms import invert, make_transform, transform_points
from formats.convert import convert
from formats.datasets import open_dataset
from formats.datasets.oxts import ego_poses_from_oxts
from formats.export.common import (
    ClassMapper,
    PinholeView,
    ProjectedSweep,
    choose_camera,
    kitti_occlusion,
    level_rotation,
    nuscenes_visibility,
    occlusion_counts,
)
from formats.export.kitti import calib_text, oxts_records, oxts_text
from formats.export.nuscenes import attributes_for, camera_channel
from formats.native import write_synth_scene
from fusionlabel.synth import SynthConfig, SynthScene


@pytest.fixture(scope="module")
def kitti_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("export_calib")
    scene = base / "synth"
    cfg = SynthConfig(frames=2, seed=2, cameras=1, image_size=(320, 180), azimuths=720)
    write_synth_scene(SynthScene(cfg), scene, masks=True)
    convert(scene, base / "kitti", "kitti")
    return scene, base / "kitti"


def test_synthesised_calib_is_levelled_and_consistent(kitti_export: tuple[Path, Path]) -> None:
    scene, out = kitti_export
    src = open_dataset(scene)
    calib = load_kitti_calib(out / "calib" / "000000.txt")
    rig = src.rig(0)
    # Tr_velo_to_cam is the real camera's extrinsic (velodyne: the LiDAR with the ego's axes), P2 its own K
    T_velo_from_lidar = np.eye(4)
    T_velo_from_lidar[:3, :3] = rig.T("ego", "lidar_top")[:3, :3]
    assert np.allclose(calib.Tr_velo_to_cam, rig.T("cam_front", "lidar_top") @ invert(T_velo_from_lidar), atol=1e-10)
    assert np.allclose(calib.K(2), rig.camera("cam_front").K)
    assert np.allclose(calib.t_cam(2), 0.0)
    # the rectified frame's y axis is the ego's down: rotation_y is a rotation about the vertical
    T_rect_from_ego = calib.T_cam0rect_from_velo() @ T_velo_from_lidar @ rig.T("lidar_top", "ego")
    assert np.allclose(T_rect_from_ego[:3, :3] @ [0, 0, 1], [0, -1, 0], atol=1e-9)
    # the camera is pitched 2 degrees: R0_rect is that rotation, not the identity
    angle = math.degrees(math.acos((np.trace(calib.R0_rect) - 1) / 2))
    assert 1.9 < angle < 2.1
    # the text parses to the same matrices
    again = parse_kitti_calib(calib_text(calib))
    assert np.allclose(again.T_cam0rect_from_velo(), calib.T_cam0rect_from_velo(), atol=1e-11)


def test_image_2_is_the_rectified_pinhole_image(kitti_export: tuple[Path, Path]) -> None:
    """LiDAR points projected through the written calibration into image_2 see the same colours
    as through the source (distorted, pitched) camera into the source image."""
    scene, out = kitti_export
    src = open_dataset(scene)
    back = open_dataset(out)
    pts = src.read_lidar(0).xyz.astype(np.float64)
    cam_src = src.rig(0).camera("cam_front")
    uv_s, _, ok_s = cam_src.project(transform_points(src.rig(0).T("cam_front", "lidar_top"), pts))
    cam_out = back.rig(0).camera("image_2")
    assert cam_out.model == "none"
    T_velo_from_lidar = np.eye(4)
    T_velo_from_lidar[:3, :3] = src.rig(0).T("ego", "lidar_top")[:3, :3]
    uv_o, _, ok_o = cam_out.project(transform_points(back.rig(0).T("image_2", "velodyne") @ T_velo_from_lidar, pts))
    ok = ok_s & ok_o
    assert ok.sum() > 500
    img_s = src.read_image(0, "cam_front").astype(np.float64)
    img_o = back.read_image(0, "image_2").astype(np.float64)
    # compare away from the image border (bilinear resampling needs both neighbours)
    u, v = uv_o[:, 0], uv_o[:, 1]
    inner = ok & (u > 2) & (u < cam_out.width - 3) & (v > 2) & (v < cam_out.height - 3)
    si = np.round(uv_s[inner]).astype(int)
    oi = np.round(uv_o[inner]).astype(int)
    diff = np.abs(img_s[si[:, 1], si[:, 0]] - img_o[oi[:, 1], oi[:, 0]]).mean()
    shifted = np.abs(img_s[si[:, 1], si[:, 0]] - img_o[np.clip(oi[:, 1] + 4, 0, 179), oi[:, 0]]).mean()
    print(f"image_2 vs source at LiDAR points: mean |diff| {diff:.1f} (4 px off: {shifted:.1f})")
    assert diff < 6.0 and shifted > 1.5 * diff


def test_pinhole_view_of_an_undistorted_camera_is_a_copy() -> None:
    cam = CameraModel(np.array([[100.0, 0, 40], [0, 100, 30], [0, 0, 1]]), 80, 60)
    v = PinholeView.of(cam)
    assert not v.resamples
    img = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    assert v.image(img) is img
    R_ego_from_cam = np.array([[0.0, 0, 1], [-1, 0, 0], [0, -1, 0]])  # forward-looking, level
    R = level_rotation(make_transform(R_ego_from_cam))
    assert np.allclose(R, np.eye(3), atol=1e-12)  # a level camera needs no rotation


def test_level_rotation_refuses_a_camera_looking_up() -> None:
    from formats.errors import FormatError

    R_ego_from_cam = np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])  # optical axis along ego -z
    with pytest.raises(FormatError, match="straight up or down"):
        level_rotation(make_transform(R_ego_from_cam))


def test_oxts_round_trip() -> None:
    rng = np.random.default_rng(3)
    poses = []
    for k in range(20):
        yaw = 0.3 + 0.05 * k
        pitch, roll = rng.normal(0, 0.01, 2)
        cy, sy, cp, sp, cr, sr = (math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch), math.cos(roll),
                                  math.sin(roll))
        Rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
        Ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
        Rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
        poses.append(make_transform(Rz @ Ry @ Rx, [3.0 * k + 100.0, -2.0 * k + 50.0, 0.1 * k]))
    poses = np.stack(poses)
    rec = oxts_records(poses, [k * 100_000_000 for k in range(20)])
    text = oxts_text(rec)
    parsed = np.array([[float(v) for v in line.split()] for line in text.splitlines()])
    assert parsed.shape == (20, 30)
    T_imu_from_ego = make_transform(None, [0.8, 0.3, -0.9])
    back = ego_poses_from_oxts(parsed, T_imu_from_ego)
    want = np.einsum("ij,njk->nik", invert(poses[0] @ T_imu_from_ego), poses) @ T_imu_from_ego
    assert np.abs(back - want).max() < 1e-6
    # forward speed: 3.6 m/s along the heading
    assert np.allclose(np.hypot(rec[:, 6], rec[:, 7]), math.hypot(30.0, 20.0), atol=0.2)


def test_occlusion_heuristic() -> None:
    # a box seen straight on at 10 m; points on it (hits) and in front of it (occluders)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (10, 12)], dtype=float)
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    poly = np.array([[40.0, 40], [60, 40], [60, 60], [40, 60]])

    def sweep(n_hit: int, n_occ: int, n_behind: int) -> ProjectedSweep:
        uv = np.tile([[50.0, 50.0]], (n_hit + n_occ + n_behind + 1, 1))
        uv[-1] = [5.0, 5.0]  # outside the outline: ignored
        depth = np.r_[np.full(n_hit, 10.0), np.full(n_occ, 5.0), np.full(n_behind, 30.0), 3.0]
        box_of = np.r_[np.zeros(n_hit, int), np.full(n_occ + n_behind + 1, -1)]
        return ProjectedSweep(uv, depth, np.arange(len(depth)), box_of)

    assert occlusion_counts(sweep(10, 0, 5), poly, corners, 0) == (10, 0)
    assert occlusion_counts(sweep(10, 30, 0), poly, corners, 0) == (10, 30)
    assert kitti_occlusion(10, 0) == 0 and kitti_occlusion(10, 5) == 1 and kitti_occlusion(10, 30) == 2
    assert kitti_occlusion(0, 0) == 3
    assert [nuscenes_visibility(h, 10 - h) for h in (0, 4, 6, 8, 10)] == ["1", "2", "3", "4", "4"]
    assert nuscenes_visibility(0, 0) == "1"
    del K


def test_synthetic_occlusion_levels_follow_the_ground_truth(kitti_export: tuple[Path, Path], tmp_path: Path) -> None:
    """Against the ray-cast instance masks: the share of a box's 2D box covered by its own object's
    pixels is larger for boxes the heuristic calls fully visible (0) than for those it calls
    largely occluded (2)."""
    from calib.projection import box_extent2d
    from formats.kitti_labels import read_tracking_labels
    from formats.native import load_sequence, read_mask

    scene, _ = kitti_export
    convert(scene, tmp_path / "kt", "kitti-tracking")
    labels = read_tracking_labels(tmp_path / "kt" / "label_02" / "0000.txt")
    src = open_dataset(scene)
    seq = load_sequence(scene)
    cam = src.rig(0).camera("cam_front")
    shares: dict[int, list[float]] = {}
    for k, objs in labels.items():
        mask = read_mask(seq.meta["camera_mask_files"][k]["cam_front"])
        T_cam_from_world = invert(src.T_world_from_sensor(k, "cam_front"))
        for o in objs:
            box = src.annotations.box_at(o.track_id, k).box
            ext = box_extent2d(transform_points(T_cam_from_world, box.corners()), cam)
            if ext is None or ext.clipped is None or ext.truncation > 0.1:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in ext.clipped)
            area = max(1, (x2 - x1 + 1) * (y2 - y1 + 1))
            if area < 30:
                continue
            own = np.count_nonzero(mask[y1:y2 + 1, x1:x2 + 1] == o.track_id) / area
            shares.setdefault(o.occluded, []).append(own)
    means = {lv: round(float(np.mean(v)), 2) for lv, v in sorted(shares.items())}
    print("mean own-pixel share of the 2D box by occlusion level:", means, {lv: len(v) for lv, v in shares.items()})
    assert 0 in shares and 2 in shares
    assert means[0] > means[2] + 0.15


def test_class_mapping_and_channels() -> None:
    k = ClassMapper(None, "kitti")
    assert (k("car"), k("Car"), k("vehicle.car"), k("bicycle"), k("unicorn")) == ("Car", "Car", "Car", None, None)
    assert (k("vehicle.bicycle"), k("vehicle.bus.rigid"), k("Misc"), ClassMapper(None, "nuscenes")("Misc")) == (
        None, "Misc", "Misc", None)
    assert k.for_track("vehicle.bicycle", {"nuscenes_attributes": "cycle.with_rider"}) == "Cyclist"
    assert k.for_track("vehicle.bicycle", {"nuscenes_attributes": "cycle.without_rider"}) is None
    n = ClassMapper(None, "nuscenes")
    assert (n("pedestrian"), n("Pedestrian"), n("vehicle.truck"), n("tram")) == (
        "human.pedestrian.adult", "human.pedestrian.adult", "vehicle.truck", None)
    assert [camera_channel(c) for c in ("cam_front", "cam_back_left", "CAM_FRONT", "image_2", "left")] == [
        "CAM_FRONT", "CAM_BACK_LEFT", "CAM_FRONT", "CAM_FRONT", "CAM_LEFT"]
    assert attributes_for("vehicle.car", "car", {"state": "parked"}) == ["vehicle.parked"]
    assert attributes_for("vehicle.bicycle", "cyclist", {"state": "moving"}) == ["cycle.with_rider"]
    assert attributes_for("human.pedestrian.adult", "pedestrian", {"state": "standing"}) == ["pedestrian.standing"]


def test_choose_camera() -> None:
    from calib.rig import Rig, Sensor

    cam = CameraModel(np.eye(3) + np.diag([99, 99, 0]), 10, 10)
    rig = Rig([Sensor(n, "camera", np.eye(4), cam) for n in ("cam_left", "cam_front_left", "front_wide")])
    assert choose_camera(rig) == "front_wide"
    assert choose_camera(rig, "cam_left") == "cam_left"
