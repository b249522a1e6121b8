"""Dataset layouts on small synthetic folders: KITTI tracking with LiDAR and OXTS, KITTI raw,
plain folders, detection, and the errors that name the file (and line)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib.camera import CameraModel
from calib.readers import parse_kitti_calib
from calib.rig import Rig, Sensor, save_rig_json
from calib.transforms import make_transform
from formats.datasets import (
    DatasetError,
    ImageSizeError,
    TimestampError,
    UnknownFormatError,
    detect_format,
    open_dataset,
)
from formats.datasets.base import map_track_ids, parse_timestamp, timestamp_from_name
from formats.datasets.oxts import EARTH_RADIUS_M
from formats.kitti_labels import KittiLabelError, box_to_kitti
from formats.pointcloud import PointCloud, write_pcd
from fusionlabel.box import Box3D

KITTI_CALIB = """P0: 721.5377 0 609.5593 0 0 721.5377 172.854 0 0 0 1 0
P1: 721.5377 0 609.5593 -387.5744 0 721.5377 172.854 0 0 0 1 0
P2: 721.5377 0 609.5593 44.85728 0 721.5377 172.854 0.2163791 0 0 1 0.002745884
P3: 721.5377 0 609.5593 -339.5242 0 721.5377 172.854 2.199936 0 0 1 0.002729905
R0_rect: 0.9999239 0.00983776 -0.007445048 -0.009869795 0.9999421 -0.004278459 0.007402527 0.004351614 0.9999631
Tr_velo_to_cam: 0.007533745 -0.9999714 -0.000616602 -0.004069766 0.01480249 0.0007280733 -0.9998902 \
-0.07631618 0.9998621 0.00752379 0.01480755 -0.2717806
Tr_imu_to_velo: 0.9999976 0.0007553071 -0.002035826 -0.8086759 -0.0007854027 0.9998898 -0.01482298 \
0.3195559 0.002024406 0.01482454 0.9998881 -0.7997231
"""
W, H = 64, 24  # tiny images keep the tests fast; the calib does not need to match them


def write_png(path: Path, w: int = W, h: int = H) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = (10, 20, 30)
    assert cv2.imwrite(str(path), img)


def write_bin(path: Path, n: int = 100, seed: int = 0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)
    a.tofile(path)
    return a


def oxts_line(lat: float, lon: float, alt: float = 10.0, yaw: float = 0.0) -> str:
    vals = [lat, lon, alt, 0.0, 0.0, yaw] + [0.0] * 24
    return " ".join(f"{v:.12f}" for v in vals)


# ---- KITTI tracking with LiDAR and OXTS ------------------------------------------------------------
def make_tracking(root: Path, n: int = 5, dx: float = 2.0) -> Box3D:
    """A sequence 0003 driving east by ``dx`` m per frame past a parked car; returns the car's
    world box (world = Velodyne frame at frame 0)."""
    (root / "calib").mkdir(parents=True)
    (root / "calib" / "0003.txt").write_text(KITTI_CALIB)
    calib = parse_kitti_calib(KITTI_CALIB)
    lat0, lon0 = 49.0, 8.4
    scale = math.cos(math.radians(lat0))
    dlon = dx / (scale * math.pi * EARTH_RADIUS_M / 180.0)
    (root / "oxts").mkdir()
    (root / "oxts" / "0003.txt").write_text("\n".join(oxts_line(lat0, lon0 + k * dlon) for k in range(n)) + "\n")
    car_world = Box3D((15.0, 3.0, -0.8), (4.2, 1.8, 1.5), 0.3)
    T_iv = np.linalg.inv(calib.Tr_imu_to_velo)  # T_imu_from_velo
    lines = []
    for k in range(n):
        write_bin(root / "velodyne" / "0003" / f"{k:06d}.bin", seed=k)
        write_png(root / "image_02" / "0003" / f"{k:06d}.png")
        # expected ego pose: inv(T_iv) @ translate(k dx east) @ T_iv (no rotation in the OXTS)
        T_world_from_ego = np.linalg.inv(T_iv) @ make_transform(None, [k * dx, 0, 0]) @ T_iv
        box_ego = car_world.transformed(np.linalg.inv(T_world_from_ego))
        obj = box_to_kitti(box_ego, "Car", calib.T_cam0rect_from_velo(), bbox=(1, 2, 30, 20), frame=k, track_id=7)
        lines.append(obj.format())
        lines.append(f"{k} -1 DontCare -1 -1 -10 5 5 9 9 -1 -1 -1 -1000 -1000 -1000 -10")
    (root / "label_02").mkdir()
    (root / "label_02" / "0003.txt").write_text("\n".join(lines) + "\n")
    return car_world


def test_kitti_tracking_oxts_poses_keep_a_parked_car_still(tmp_path: Path) -> None:
    car = make_tracking(tmp_path)
    assert detect_format(tmp_path) == "kitti-tracking"
    ls = open_dataset(tmp_path)
    assert len(ls) == 5 and ls.info.meta["sequence"] == "0003"
    np.testing.assert_allclose(ls.info.frames[0].T_world_from_ego, np.eye(4), atol=1e-9)
    # the ego moves ~2 m per frame; the parked car stays where it is in the world
    d = [np.linalg.norm(f.T_world_from_ego[:3, 3]) for f in ls.info.frames]
    np.testing.assert_allclose(d, [0, 2, 4, 6, 8], atol=1e-3)
    tr = ls.annotations.track(7)
    assert tr.label == "Car" and tr.keyframe_indices() == [0, 1, 2, 3, 4]
    for k in range(5):
        b = tr.keyframes[k]
        np.testing.assert_allclose(b.center, car.center, atol=2e-3)  # labels keep 4 decimals
        assert abs(b.yaw - car.yaw) < 1e-3
    assert len(ls.ignore_regions) == 5 and ls.ignore_regions[0].bbox == (5.0, 5.0, 9.0, 9.0)
    assert len(ls.read_lidar(2)) == 100
    assert ls.read_image(2, "image_2").shape == (H, W, 3)
    assert ls.sync.complete


def test_kitti_tracking_frame_count_from_labels_without_lidar(tmp_path: Path) -> None:
    make_tracking(tmp_path, n=3)
    for p in (tmp_path / "velodyne" / "0003").iterdir():
        p.unlink()
    with open(tmp_path / "label_02" / "0003.txt", "a") as f:
        f.write("9 -1 DontCare -1 -1 -10 5 5 9 9 -1 -1 -1 -1000 -1000 -1000 -10\n")
    with pytest.raises(DatasetError, match="3 OXTS records for 10 frames"):
        open_dataset(tmp_path, format="kitti-tracking")
    (tmp_path / "oxts" / "0003.txt").unlink()
    ls = open_dataset(tmp_path, format="kitti-tracking", sequence=3)
    assert len(ls) == 10 and ls.read_lidar(0) is None
    assert ls.sync.cameras["image_2"].missing_frames == list(range(3, 10))
    assert any("OXTS" in w for w in ls.warnings)


def test_kitti_tracking_label_with_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    make_tracking(tmp_path, n=2)
    lp = tmp_path / "label_02" / "0003.txt"
    lines = lp.read_text().splitlines()
    lines.insert(2, "1 4 Car 0 0 0.1 1 2 3 4 1.5 1.6 4.0 1 2")  # 15 fields, tracking needs 17
    lp.write_text("\n".join(lines) + "\n")
    with pytest.raises(KittiLabelError) as e:
        open_dataset(tmp_path)
    assert "0003.txt:3" in str(e.value) and "expected 17 or 18 fields, got 15" in str(e.value)


def test_kitti_tracking_image_of_another_size(tmp_path: Path) -> None:
    make_tracking(tmp_path, n=3)
    bad = tmp_path / "image_02" / "0003" / "000002.png"
    write_png(bad, W + 2, H)
    with pytest.raises(ImageSizeError) as e:
        open_dataset(tmp_path)
    assert Path(e.value.path) == bad and e.value.actual == (W + 2, H) and e.value.expected == (W, H)


# ---- KITTI raw ----------------------------------------------------------------------------------
CAM_TO_CAM_KEYS = """S_0{i}: 64 24
K_0{i}: 721.5 0 32 0 721.5 12 0 0 1
D_0{i}: 0 0 0 0 0
R_0{i}: 1 0 0 0 1 0 0 0 1
T_0{i}: {tx} 0 0
S_rect_0{i}: 64 24
R_rect_0{i}: 1 0 0 0 1 0 0 0 1
P_rect_0{i}: 721.5 0 32 {ptx} 0 721.5 12 0 0 0 1 0
"""


def make_raw(tmp: Path, n: int = 4, skip_image: int | None = 2) -> Path:
    date = tmp / "2011_09_26"
    date.mkdir(parents=True)
    cc = "calib_time: 09-Jan-2012 13:57:47\ncorner_dist: 9.95e-02\n" + "".join(
        CAM_TO_CAM_KEYS.format(i=i, tx=-0.5 * i, ptx=-360.0 * i) for i in range(4)
    )
    (date / "calib_cam_to_cam.txt").write_text(cc)
    (date / "calib_velo_to_cam.txt").write_text(
        "calib_time: x\nR: 0 -1 0 0 0 -1 1 0 0\nT: 0 -0.08 -0.27\ndelta_f: 0 0\ndelta_c: 0 0\n"
    )
    (date / "calib_imu_to_velo.txt").write_text("calib_time: x\nR: 1 0 0 0 1 0 0 0 1\nT: -0.81 0.32 -0.80\n")
    drive = date / "2011_09_26_drive_0005_sync"
    t0 = "2011-09-26 13:02:25"
    velo_ts, img_ts, oxts_ts = [], [], []
    for k in range(n):
        write_bin(drive / "velodyne_points" / "data" / f"{k:010d}.bin", seed=k)
        velo_ts.append(f"{t0}.{100_000_000 * k + 5_000_000:09d}")
        (drive / "oxts" / "data").mkdir(parents=True, exist_ok=True)
        (drive / "oxts" / "data" / f"{k:010d}.txt").write_text(oxts_line(49.0, 8.4 + 1e-5 * k) + "\n")
        oxts_ts.append(f"{t0}.{100_000_000 * k:09d}")
        if k != skip_image:
            write_png(drive / "image_02" / "data" / f"{k:010d}.png")
            img_ts.append(f"{t0}.{100_000_000 * k + 9_000_000:09d}")
    (drive / "velodyne_points" / "timestamps.txt").write_text("\n".join(velo_ts) + "\n")
    (drive / "image_02" / "timestamps.txt").write_text("\n".join(img_ts) + "\n")
    (drive / "oxts" / "timestamps.txt").write_text("\n".join(oxts_ts) + "\n")
    return drive


def test_kitti_raw_drive(tmp_path: Path) -> None:
    drive = make_raw(tmp_path)
    assert detect_format(drive) == "kitti-raw"
    assert detect_format(drive.parent) == "kitti-raw"
    ls = open_dataset(drive.parent)
    assert ls.format == "kitti-raw" and len(ls) == 4
    t0 = parse_timestamp("2011-09-26 13:02:25")
    assert [f.timestamp_ns for f in ls.info.frames] == [t0 + 100_000_000 * k + 5_000_000 for k in range(4)]
    assert ls.camera_names == ["image_2"]
    cam = ls.rig().camera("image_2")
    assert (cam.width, cam.height) == (64, 24)
    st = ls.sync.cameras["image_2"]
    assert (st.matched, st.missing_frames, st.max_abs_dt_ns) == (3, [2], 4_000_000)
    assert ls.info.frames[3].camera_timestamps_ns["image_2"] - ls.info.frames[3].timestamp_ns == 4_000_000
    assert ls.read_image(2, "image_2") is None and ls.read_image(3, "image_2").shape == (24, 64, 3)
    # OXTS poses: eastward motion, frame 0 at the origin
    np.testing.assert_allclose(ls.info.frames[0].T_world_from_ego, np.eye(4), atol=1e-9)
    assert ls.info.frames[3].T_world_from_ego[0, 3] > 1.5


def test_kitti_raw_timestamps_out_of_order_name_file_and_line(tmp_path: Path) -> None:
    drive = make_raw(tmp_path)
    tf = drive / "velodyne_points" / "timestamps.txt"
    lines = tf.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    tf.write_text("\n".join(lines) + "\n")
    with pytest.raises(TimestampError) as e:
        open_dataset(drive)
    assert Path(e.value.path) == tf and e.value.line == 3 and "out of order" in str(e.value)


def test_kitti_raw_images_with_a_tolerance_too_tight(tmp_path: Path) -> None:
    drive = make_raw(tmp_path, skip_image=None)
    ls = open_dataset(drive, tolerance_ms=2)
    st = ls.sync.cameras["image_2"]
    assert st.matched == 0 and st.out_of_tolerance == 4 and st.unused_images == 4
    assert all(not f.camera_files for f in ls.info.frames)


# ---- plain folder -------------------------------------------------------------------------------
def make_folder(root: Path, n: int = 4, w: int = 32, h: int = 16) -> Rig:
    K = np.array([[20.0, 0, w / 2], [0, 20.0, h / 2], [0, 0, 1]])
    T_ego_from_cam = make_transform(np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=float), [1.0, 0, 1.5])
    rig = Rig([Sensor("top", "lidar", make_transform(None, [0, 0, 1.8])),
               Sensor("cam_front", "camera", T_ego_from_cam, CameraModel(K, w, h))])
    root.mkdir(parents=True, exist_ok=True)
    save_rig_json(rig, root / "rig.json")
    t0 = 1_600_000_000_000_000  # us
    for k in range(n):
        xyz = np.random.default_rng(k).normal(size=(50, 3)).astype(np.float32)
        write_pcd(root / "top" / f"{t0 + 100_000 * k}.pcd",
                  PointCloud(xyz, {"intensity": np.ones(50, np.float32)}))
        dt = 80_000 if k == 1 else 10_000  # frame 1's image is 80 ms late: out of tolerance
        write_png(root / "cam_front" / f"{t0 + 100_000 * k + dt}.png", w, h)
    return rig


def test_folder_pairs_by_name_times(tmp_path: Path) -> None:
    make_folder(tmp_path)
    assert detect_format(tmp_path) == "folder"
    ls = open_dataset(tmp_path)
    assert len(ls) == 4 and ls.lidar_names == ["top"] and ls.camera_names == ["cam_front"]
    assert ls.info.frames[0].timestamp_ns == 1_600_000_000_000_000_000
    st = ls.sync.cameras["cam_front"]
    assert st.matched == 3 and st.out_of_tolerance_frames == [1] and st.max_abs_dt_ns == 10_000_000
    assert "cam_front" not in ls.info.frames[1].camera_files  # never paired with the wrong sweep
    assert len(ls.read_lidar(0)) == 50 and ls.read_image(0, "cam_front").shape == (16, 32, 3)


def test_folder_timestamps_txt_and_layout(tmp_path: Path) -> None:
    for k in range(3):
        write_bin(tmp_path / "lidar" / f"{k:06d}.bin", n=10, seed=k)
    with pytest.raises(DatasetError, match="layout"):
        open_dataset(tmp_path)
    ls = open_dataset(tmp_path, layout="kitti")
    assert len(ls) == 3 and [f.timestamp_ns for f in ls.info.frames] == [0, 100_000_000, 200_000_000]
    assert len(ls.read_lidar(1)) == 10 and "intensity" in ls.read_lidar(1).fields
    (tmp_path / "lidar" / "timestamps.txt").write_text("1.5\n1.6\n1.75\n")
    ls = open_dataset(tmp_path, layout=["x", "y", "z", "reflectance"])
    assert [f.timestamp_ns for f in ls.info.frames] == [1_500_000_000, 1_600_000_000, 1_750_000_000]
    assert "reflectance" in ls.read_lidar(0).fields
    (tmp_path / "lidar" / "timestamps.txt").write_text("1.5\n1.7\n1.65\n")
    with pytest.raises(TimestampError) as e:
        open_dataset(tmp_path, layout="kitti")
    assert e.value.line == 3 and "timestamps.txt" in str(e.value)


def test_folder_image_size_differs_from_rig(tmp_path: Path) -> None:
    make_folder(tmp_path)
    bad = sorted((tmp_path / "cam_front").iterdir())[2]
    write_png(bad, 30, 16)
    with pytest.raises(ImageSizeError) as e:
        open_dataset(tmp_path)
    assert Path(e.value.path) == bad and "32x16" in str(e.value) and "30x16" in str(e.value)


# ---- detection and errors -----------------------------------------------------------------------
def test_detect_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        detect_format(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnknownFormatError) as e:
        open_dataset(tmp_path)
    assert "kitti-object" in str(e.value) and "nuscenes" in str(e.value)
    assert isinstance(e.value, ValueError)  # FormatError is a ValueError
    with pytest.raises(UnknownFormatError, match="unknown format 'waymo'"):
        open_dataset(tmp_path, format="waymo")


def test_kitti_object_missing_calib_and_option_warning(tmp_path: Path) -> None:
    tr = tmp_path / "training"
    write_bin(tr / "velodyne" / "000000.bin")
    write_png(tr / "image_2" / "000000.png")
    (tr / "calib").mkdir()
    with pytest.raises(DatasetError) as e:
        open_dataset(tmp_path)
    assert Path(e.value.path) == tr / "calib" / "000000.txt"
    (tr / "calib" / "000000.txt").write_text(KITTI_CALIB)
    ls = open_dataset(tmp_path, sequence="0001")
    assert any("'sequence' is not used" in w for w in ls.warnings)
    assert ls.rig(0).camera("image_2").width == W


def test_sustech_like_layout(tmp_path: Path) -> None:
    """Non-numeric obj_ids, frame-id timestamps (no per-point times), a camera without calib."""
    for fid in ("000010", "000011"):
        write_pcd(tmp_path / "lidar" / f"{fid}.pcd", PointCloud(np.ones((5, 3), np.float32)))
        write_png(tmp_path / "camera" / "front" / f"{fid}.png")
        write_png(tmp_path / "camera" / "rear" / f"{fid}.png")
    (tmp_path / "calib" / "camera").mkdir(parents=True)
    E = np.eye(4)[[1, 2, 0, 3]]
    (tmp_path / "calib" / "camera" / "front.json").write_text(
        json.dumps({"extrinsic": E.ravel().tolist(), "intrinsic": [20, 0, 32, 0, 20, 12, 0, 0, 1]}))
    (tmp_path / "label").mkdir()
    obj = {"psr": {"position": {"x": 5, "y": 1, "z": 0}, "scale": {"x": 4, "y": 2, "z": 1.5},
                   "rotation": {"x": 0, "y": 0, "z": 0.5}}, "obj_type": "Car", "obj_id": "car-a"}
    (tmp_path / "label" / "000010.json").write_text(json.dumps([obj, {**obj, "obj_id": "3"}]))
    (tmp_path / "label" / "000011.json").write_text(json.dumps([obj]))
    assert detect_format(tmp_path) == "sustech"
    ls = open_dataset(tmp_path)
    assert ls.camera_names == ["front"] and any("rear" in w for w in ls.warnings)
    assert [f.timestamp_ns for f in ls.info.frames] == [1_000_000_000, 1_100_000_000]
    assert ls.info.meta["timestamps_from"] == "ids"
    assert sorted(ls.annotations.tracks) == [3, 4]
    assert ls.annotations.track(4).attributes == {"obj_id": "car-a"}
    assert ls.annotations.track(4).keyframes[1].size == (4.0, 2.0, 1.5)
    # the camera looks along the LiDAR's x axis: T_cam_from_lidar = extrinsic
    np.testing.assert_allclose(ls.T_sensor_from_world(0, "front") @ ls.T_world_from_sensor(0, "lidar"), E)
    (tmp_path / "label" / "000011.json").write_text('[{"obj_type": "Car"}]')
    with pytest.raises(DatasetError, match="000011.json"):
        open_dataset(tmp_path)


# ---- helpers ------------------------------------------------------------------------------------
def test_timestamp_parsing_rules() -> None:
    assert parse_timestamp("2011-09-26 13:02:25.964389445") == 1317042145_964389445
    assert parse_timestamp("1532402927.647951") == 1532402927_647951000
    assert parse_timestamp("1532402927647951") == 1532402927_647951000  # us by magnitude
    assert parse_timestamp("1532402927647951123") == 1532402927647951123  # ns
    assert parse_timestamp("1532402927647") == 1532402927_647000000  # ms
    assert parse_timestamp("1532402927") == 1532402927_000000000  # s
    assert parse_timestamp("12", unit="ms") == 12_000_000
    with pytest.raises(ValueError, match="too small"):
        parse_timestamp("134")
    assert timestamp_from_name("n015__CAM_FRONT__1532402927612460") == 1532402927_612460000
    assert timestamp_from_name("000134") is None
    assert timestamp_from_name("frame_1532402927.5") == 1532402927_500000000


def test_track_id_mapping_is_deterministic() -> None:
    m = map_track_ids(["8", "b", "a", "07", "7", "1001"])
    assert m == {"7": 7, "8": 8, "1001": 1001, "07": 1002, "a": 1003, "b": 1004}
    assert map_track_ids(reversed(list(m))) == m

