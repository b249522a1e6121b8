"""The real sample datasets open with the right counts (skipped when ../shared/data/real is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from calib.transforms import transform_points
from formats.datasets import DatasetError, describe, detect_format, open_dataset
from fusionlabel.geometry import count_points_in_boxes
from tests.conftest import real_data

pytestmark = pytest.mark.real

ABD = "ab3dmot_kitti_tracking"


def test_kitti_object_vis() -> None:
    root = real_data("kitti_object_vis", "data", "object")
    assert detect_format(root) == "kitti-object"
    ls = open_dataset(root)
    assert ls.format == "kitti-object"
    assert len(ls) == 3
    assert ls.camera_names == ["image_2"] and ls.lidar_names == ["velodyne"]
    assert ls.annotations.num_boxes() == 6  # DontCare not counted
    assert len(ls.ignore_regions) == 4
    assert {r.frame for r in ls.ignore_regions} == {1}
    labels = sorted(t.label for t in ls.annotations.tracks.values())
    assert labels == ["Car", "Car", "Cyclist", "Misc", "Pedestrian", "Truck"]
    assert [len(ls.read_lidar(i)) for i in range(3)] == [115384, 120268, 126891]
    # per-frame rigs: frame 0's image is 1224x370, the others 1242x375
    assert [(ls.rig(i).camera("image_2").width, ls.rig(i).camera("image_2").height) for i in range(3)] == [
        (1224, 370), (1242, 375), (1242, 375)]
    assert ls.read_image(0, "image_2").shape == (370, 1224, 3)
    assert ls.sync.cameras["image_2"].matched == 3 and ls.sync.complete
    # every box holds LiDAR points (the boxes are in the right frame)
    for k in range(3):
        boxes = [b.box for b in ls.annotations.boxes_at(k)]
        pts = ls.read_lidar(k).xyz
        assert (count_points_in_boxes(pts, boxes) > 0).all()


def test_pointpillars_flat_val_and_test() -> None:
    val = real_data("pointpillars_demo", "pointpillars", "dataset", "demo_data", "val")
    assert detect_format(val) == "kitti-flat"
    ls = open_dataset(val, format="kitti-flat")
    assert len(ls) == 1
    assert ls.annotations.num_boxes() == 15 and len(ls.ignore_regions) == 2
    assert len(ls.read_lidar(0)) == 19097
    assert ls.read_image(0, "image_2").shape == (370, 1224, 3)
    info = describe(ls)
    assert info["labels"] == {"Car": 3, "Cyclist": 5, "Pedestrian": 7}
    test = open_dataset(val.parent / "test", format="kitti_flat")
    assert len(test) == 1 and len(test.annotations) == 0 and len(test.read_lidar(0)) == 17694


def test_sustechpoints_example() -> None:
    root = real_data("sustechpoints_example", "data", "example")
    assert detect_format(root) == "sustech"
    ls = open_dataset(root)
    assert len(ls) == 4
    assert ls.camera_names == ["front", "left", "right"]
    assert ls.info.meta["frame_ids"] == ["000950", "000965", "000970", "000975"]
    # images only for 3 of the 4 sweeps, reported per camera
    for cam in ("front", "left", "right"):
        st = ls.sync.cameras[cam]
        assert (st.frames, st.matched, st.missing_frames) == (4, 3, [0])
        assert ls.read_image(0, cam) is None
        assert ls.read_image(1, cam).shape == (1536, 2048, 3)
    assert not ls.sync.complete
    # timestamps from the per-point times: 1.5 s, then 0.5 s steps
    ts = np.array([f.timestamp_ns for f in ls.info.frames])
    assert np.allclose(np.diff(ts) / 1e9, [1.5, 0.5, 0.5], atol=0.02)
    assert ls.info.meta["timestamps_from"] == "points"
    assert [sum(r.is_keyframe for r in ls.annotations.boxes_at(k)) for k in range(4)] == [19, 21, 23, 24]
    assert ls.annotations.num_keyframes() == 87
    # every frame is labelled: an object missing from a frame is absent there, not interpolated
    assert ls.annotations.num_boxes() == 87
    for tid in (1, 5, 6, 8, 15, 20, 23, 27, 31, 50, 51, 53, 54, 81, 82, 1001):
        assert ls.annotations.track(tid).keyframe_indices() == [0, 1, 2, 3]
    assert [len(ls.read_lidar(k)) for k in range(4)] == [68242, 66781, 66899, 67153]
    # projection: a good share of points in front of the front camera lands in its image
    pc = ls.read_lidar(1)
    T = ls.T_sensor_from_world(1, "front") @ ls.T_world_from_sensor(1, "lidar")
    pts = transform_points(T, pc.xyz)
    _, _, valid = ls.rig(1).camera("front").project(pts)
    assert valid.sum() > 10_000


def test_nuscenes_kf() -> None:
    root = real_data("nuscenes_kf")
    assert detect_format(root) == "nuscenes"
    ls = open_dataset(root)
    assert ls.name == "scene-0061" and len(ls) == 1
    assert ls.lidar_names == ["LIDAR_TOP"] and len(ls.camera_names) == 6
    pc = ls.read_lidar(0)
    assert len(pc) == 34688 and set(pc.fields) == {"intensity", "ring"}
    assert ls.annotations.num_boxes() == 69 and len(ls.annotations) == 69
    assert all(t.attributes["instance_token"] for t in ls.annotations.tracks.values())
    assert sorted(ls.annotations.tracks) == list(range(69))
    assert ls.sync.complete
    for cam in ls.camera_names:
        assert ls.read_image(0, cam).shape == (900, 1600, 3)
    # boxes hold LiDAR points once brought into the LiDAR frame
    pts_world = transform_points(ls.T_world_from_sensor(0, "LIDAR_TOP"), pc.xyz)
    per_box = count_points_in_boxes(pts_world, [b.box for b in ls.annotations.boxes_at(0)])
    assert (per_box > 0).mean() > 0.9


def test_lyft_schema_tables_parse() -> None:
    root = real_data("mmdet3d_lyft_schema", "tests", "data", "lyft", "v1.01-train")
    ls = open_dataset(root, format="lyft", check_files=False)
    assert len(ls) == 1
    assert ls.lidar_names == ["LIDAR_FRONT_LEFT", "LIDAR_FRONT_RIGHT", "LIDAR_TOP"]
    assert len(ls.camera_names) == 7
    assert all(ls.rig().camera(c).width == 1920 for c in ls.camera_names)
    assert len(ls.annotations) == 4 and {t.label for t in ls.annotations.tracks.values()} == {"car"}
    # float microsecond timestamps become exact integer ns
    assert ls.info.frames[0].timestamp_ns == 1556675185903083200
    b = ls.annotations.track(0).keyframes[0]
    assert b.size[0] > b.size[1]  # (w, l, h) -> (l, w, h)


def test_ab3dmot_tracking_labels() -> None:
    base = real_data(ABD)
    training = base / "data" / "KITTI" / "mini" / "training"
    assert detect_format(training) == "kitti-tracking"
    for seq, frames, ntracks, nboxes, ndc, img_frames, size in (
        ("0001", 447, 98, 3030, 1241, [10, 15, 20], (1242, 375)),
        ("0016", 209, 28, 3135, 1010, [2, 7, 12], (1224, 370)),
    ):
        ls = open_dataset(training, format="kitti-tracking", sequence=seq,
                          label_path=base / "scripts" / "KITTI" / "label" / f"{seq}.txt")
        assert len(ls) == frames
        assert len(ls.annotations) == ntracks
        assert ls.annotations.num_keyframes() == nboxes
        assert len(ls.ignore_regions) == ndc
        assert [f.index for f in ls.info.frames if f.camera_files] == img_frames
        cam = ls.rig().camera("image_2")
        assert (cam.width, cam.height) == size
        assert ls.read_lidar(0) is None  # no LiDAR in this sample
        assert ls.sync.cameras["image_2"].matched == 3
    # sequence 0016: ids 0-3, 5-7, 22-26 in all three imaged frames; 4 drops out at frame 12
    for tid in (0, 1, 2, 3, 5, 6, 7, 22, 23, 24, 25, 26):
        assert all(ls.annotations.track(tid).is_keyframe(f) for f in (2, 7, 12))
    assert ls.annotations.track(4).is_keyframe(7) and not ls.annotations.track(4).is_keyframe(12)
    # the 3D box centres project inside their 2D boxes for most objects (P2 through the rig)
    ok = total = 0
    for f in (2, 7, 12):
        T = ls.T_sensor_from_world(f, "image_2")
        for ref in ls.annotations.boxes_at(f):
            if not ref.is_keyframe:
                continue
            uv, _, _ = ls.rig(f).camera("image_2").project(
                transform_points(T, np.array([ref.box.center])), require_in_image=False)
            total += 1
            ok += bool(0 <= uv[0, 0] < 1224 and 0 <= uv[0, 1] < 370)
    assert ok / total > 0.8


def test_nuscenes_missing_sensor_file_is_named(tmp_path) -> None:
    root = real_data("nuscenes_kf")
    (tmp_path / "v1.0-mini-kf").symlink_to(root / "v1.0-mini-kf")
    with pytest.raises(DatasetError, match="outside the dataset root"):  # the tables are outside tmp_path
        open_dataset(tmp_path)
    with pytest.raises(DatasetError) as e:  # allowed explicitly
        open_dataset(tmp_path, allow_roots=[root])
    assert "samples/LIDAR_TOP/" in str(e.value.path) and "not found" in str(e.value)
    ls = open_dataset(tmp_path, check_files=False, allow_roots=[root])  # the tables alone still parse
    assert ls.annotations.num_boxes() == 69
    with pytest.raises(DatasetError, match="no scene 'scene-9999'"):
        open_dataset(root, scene="scene-9999")
