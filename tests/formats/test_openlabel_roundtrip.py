"""OpenLABEL 1.0 export: valid against the official schema (the ``vcd`` package), read back exactly,
poses agreeing with the ``vcd`` library's own transform chain, clear errors on bad files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from calib.transforms import pose_from_xyz_yaw
from formats import native
from formats.convert import convert, get_writer
from formats.datasets import open_dataset
from formats.datasets.openlabel import load_openlabel, read_openlabel
from formats.errors import FormatError
from formats.export.openlabel import cuboid_val, write_openlabel
from fusionlabel.box import Box3D
from fusionlabel.synth import SynthConfig, SynthScene

CFG = SynthConfig(frames=4, seed=5, cameras=6, image_size=(64, 36), azimuths=360)


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ol") / "seq"
    native.write_synth_scene(SynthScene(CFG), out)
    return out


@pytest.fixture(scope="module")
def exported(scene_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("ol_out") / "export"
    summary = convert(scene_dir, dst, "openlabel")
    assert summary.frames == CFG.frames and summary.boxes > 0 and not summary.skipped
    return dst / "openlabel.json"


def _schema() -> dict:
    schema_mod = pytest.importorskip("vcd.schema", reason="the official OpenLABEL schema ships in the 'vcd' package")
    return schema_mod.openlabel_schema


def test_validates_against_official_schema(exported: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _schema()
    assert schema["definitions"]["metadata"]["properties"]["schema_version"]["enum"] == ["1.0.0"]
    validator = jsonschema.Draft7Validator(schema)
    data = json.loads(exported.read_text())
    errors = [f"{list(e.absolute_path)}: {e.message[:120]}" for e in validator.iter_errors(data)]
    assert errors == []
    # the validator does reject a broken cuboid and a wrong version (the test can fail)
    bad = json.loads(exported.read_text())
    frame = next(f for f in bad["openlabel"]["frames"].values() if "objects" in f)
    next(iter(frame["objects"].values()))["object_data"]["cuboid"][0]["val"] = [1.0, 2.0, 3.0]
    bad["openlabel"]["metadata"]["schema_version"] = "0.9"
    assert len(list(validator.iter_errors(bad))) == 2


def test_round_trip_exact(scene_dir: Path, exported: Path) -> None:
    src = open_dataset(scene_dir)
    info, doc = read_openlabel(exported)
    assert info.rig == src.info.rig
    assert info.frame_times_ns() == src.info.frame_times_ns()
    assert sorted(doc.tracks) == sorted(src.annotations.tracks)
    worst = np.zeros(3)
    for f in range(len(src)):
        np.testing.assert_allclose(info.frames[f].T_world_from_ego, src.info.frames[f].T_world_from_ego, atol=1e-12)
        assert info.frames[f].camera_files == src.info.frames[f].camera_files
        assert info.frames[f].lidar_files == src.info.frames[f].lidar_files
        a = {r.track_id: r for r in src.annotations.boxes_at(f)}
        b = {r.track_id: r for r in doc.boxes_at(f)}
        assert a.keys() == b.keys()
        for tid, ra in a.items():
            rb = b[tid]
            assert rb.label == ra.label
            dc = np.abs(np.subtract(rb.box.center, ra.box.center)).max()
            ds = np.abs(np.subtract(rb.box.size, ra.box.size)).max()
            dy = abs(math.remainder(rb.box.yaw - ra.box.yaw, 2 * math.pi))
            worst = np.maximum(worst, [dc, ds, dy])
    assert worst[0] <= 0.01 and worst[1] <= 0.01 and worst[2] <= 0.01, worst
    assert worst.max() < 1e-9  # in fact exact: float64 JSON, no unit change
    for tid, tr in src.annotations.tracks.items():
        assert doc.track(tid).attributes == tr.attributes
        assert doc.track(tid).interpolation == tr.interpolation


def test_loaded_sequence_reads_sensor_data(scene_dir: Path, exported: Path) -> None:
    src = open_dataset(scene_dir)
    back = load_openlabel(exported.parent)
    np.testing.assert_array_equal(back.read_lidar(2).xyz, src.read_lidar(2).xyz)
    np.testing.assert_array_equal(back.read_image(1, "cam_back"), src.read_image(1, "cam_back"))


def test_chain_openlabel_to_native(scene_dir: Path, exported: Path, tmp_path: Path) -> None:
    """openlabel -> native through the registered native writer, opened again: same boxes and poses."""
    src = open_dataset(scene_dir)
    get_writer("native")(load_openlabel(exported), tmp_path / "nat", progress=None)
    back = open_dataset(tmp_path / "nat")
    assert back.info.rig == src.info.rig and back.info.frame_times_ns() == src.info.frame_times_ns()
    for f in range(len(src)):
        a = {r.track_id: (r.label, r.box.to_array()) for r in src.annotations.boxes_at(f)}
        b = {r.track_id: (r.label, r.box.to_array()) for r in back.annotations.boxes_at(f)}
        assert a.keys() == b.keys()
        for tid in a:
            assert a[tid][0] == b[tid][0]
            np.testing.assert_allclose(b[tid][1], a[tid][1], atol=1e-6)
    np.testing.assert_array_equal(back.read_lidar(1).xyz, src.read_lidar(1).xyz)
    with pytest.raises(FormatError, match="exists"):
        write_openlabel(src, exported)


def test_poses_agree_with_vcd_library(exported: Path, scene_dir: Path) -> None:
    core = pytest.importorskip("vcd.core", reason="the 'vcd' package reads OpenLABEL independently")
    scl = pytest.importorskip("vcd.scl")
    ol = core.OpenLABEL()
    ol.load_from_file(str(exported), validation=True)
    scene = scl.Scene(ol)
    src = open_dataset(scene_dir)
    for f in (0, 3):
        for sensor in ("lidar_top", "cam_front", "cam_back"):
            T_vcd, static = scene.get_transform(sensor, "odom", frame_num=f)
            assert not static
            np.testing.assert_allclose(T_vcd, src.T_world_from_sensor(f, sensor), atol=1e-9)
    # the cuboid as vcd hands it out is our box: centre, quaternion of the yaw, size
    tid = next(iter(src.annotations.tracks))
    ref = src.annotations.box_at(tid, src.annotations.track(tid).keyframe_indices()[0])
    od = ol.get_object_data(uid=str(tid), data_name="box3d", frame_num=ref.frame)
    x, y, z, qx, qy, qz, qw, sx, sy, sz = od["val"]
    assert (x, y, z) == pytest.approx(ref.box.center) and (sx, sy, sz) == pytest.approx(ref.box.size)
    assert 2 * math.atan2(qz, qw) == pytest.approx(ref.box.yaw) and qx == qy == 0.0


def test_interpolated_boxes_exported_with_keyframe_flag(scene_dir: Path, tmp_path: Path) -> None:
    from fusionlabel.document import AnnotationDocument
    from fusionlabel.model import Track

    src = open_dataset(scene_dir)
    a, b = Box3D((1, 2, 0.8), (4, 2, 1.6), 0.1), Box3D((7, 2, 0.8), (4, 2, 1.6), 0.4)
    src.annotations = AnnotationDocument.from_tracks([Track(42, "car", {"parked": "no"}, {0: a, 3: b})], 4)
    summary = write_openlabel(src, tmp_path / "x.json")
    assert (summary.frames, summary.boxes) == (4, 4)
    data = json.loads((tmp_path / "x.json").read_text())["openlabel"]
    flags = [data["frames"][str(f)]["objects"]["42"]["object_data"]["cuboid"][0]["attributes"]["boolean"][0]["val"]
             for f in range(4)]
    assert flags == [True, False, False, True]
    assert data["objects"]["42"]["frame_intervals"] == [{"frame_start": 0, "frame_end": 3}]
    _, doc = read_openlabel(tmp_path / "x.json")
    for f in range(4):
        np.testing.assert_allclose(doc.box_at(42, f).box.to_array(), src.annotations.box_at(42, f).box.to_array())
    assert doc.track(42).attributes == {"parked": "no"}


def _minimal(frames: dict) -> dict:
    return {"openlabel": {
        "metadata": {"schema_version": "1.0.0", "name": "hand"},
        "coordinate_systems": {
            "odom": {"type": "scene_cs", "parent": "", "children": ["base"]},
            "base": {"type": "local_cs", "parent": "odom", "children": []}},
        "objects": {"7": {"name": "ped", "type": "pedestrian"}},
        "frames": frames}}


def test_reads_cuboids_in_ego_frame_and_vcd_spellings(tmp_path: Path) -> None:
    """A file in another tool's style: cuboid in 'base' (ego), per-frame odom_to_base (inverse
    direction), Euler (9-value) cuboid, float timestamp."""
    T_world_from_ego = pose_from_xyz_yaw(10.0, -3.0, 0.0, 0.5)
    T_ego_from_world = np.linalg.inv(T_world_from_ego)
    frames = {"0": {"frame_properties": {
        "timestamp": 1.5,
        "transforms": {"odom_to_base": {"src": "odom", "dst": "base",
                                        "transform_src_to_dst": {"matrix4x4": T_ego_from_world.reshape(-1).tolist()}}}},
        "objects": {"7": {"object_data": {"cuboid": [
            {"name": "c", "coordinate_system": "base", "val": [2.0, 1.0, 0.9, 0.0, 0.0, 0.25, 0.6, 0.7, 1.8]}]}}}}}
    p = tmp_path / "hand.json"
    p.write_text(json.dumps(_minimal(frames)))
    info, doc = read_openlabel(p)
    assert info.frames[0].timestamp_ns == 1_500_000_000
    box = doc.box_at(7, 0).box
    expected = Box3D((2.0, 1.0, 0.9), (0.6, 0.7, 1.8), 0.25).transformed(T_world_from_ego)
    np.testing.assert_allclose(box.to_array(), expected.to_array(), atol=1e-12)
    assert box.yaw == pytest.approx(0.75)


def test_cuboid_val_quaternion_convention() -> None:
    v = cuboid_val(Box3D((1, 2, 3), (4, 5, 6), -math.pi / 2))
    assert v[:3] == [1, 2, 3] and v[7:] == [4, 5, 6]
    assert v[3:7] == pytest.approx([0.0, 0.0, -math.sqrt(0.5), math.sqrt(0.5)])  # x, y, z, w
    assert get_writer("openlabel") is write_openlabel


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["openlabel"]["metadata"].update(schema_version="2.0"), "schema_version"),
        (lambda d: d["openlabel"]["frames"]["0"]["objects"]["7"]["object_data"]["cuboid"][0].update(val=[1, 2]),
         r"frames\.0\.objects\.7\.object_data\.cuboid\[0\]\.val: expected a list of 9 or 10"),
        (lambda d: d["openlabel"]["frames"]["0"]["objects"].update({"9": {}}), "not declared"),
        (lambda d: d["openlabel"]["frames"]["0"]["frame_properties"].update(timestamp="soon"), "timestamp"),
        (lambda d: d["openlabel"]["frames"].update({"5": {}}), "without holes"),
        (lambda d: d["openlabel"]["objects"]["7"].update(object_data={"text": [{"name": "interpolation", "val": "x"}]}),
         "objects.7: track 7: unknown interpolation"),
    ],
)
def test_bad_files_name_file_and_location(tmp_path: Path, mutate, message: str) -> None:
    frames = {"0": {"frame_properties": {"timestamp": "0.0"}, "objects": {"7": {"object_data": {"cuboid": [
        {"name": "c", "coordinate_system": "odom", "val": [0, 0, 1, 0, 0, 0, 1, 1, 1, 1]}]}}}}}
    d = _minimal(frames)
    mutate(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(FormatError, match=message) as ei:
        read_openlabel(p)
    assert str(p) in str(ei.value)


def test_not_json(tmp_path: Path) -> None:
    p = tmp_path / "openlabel.json"
    p.write_text("{not json")
    with pytest.raises(FormatError, match="invalid JSON"):
        read_openlabel(tmp_path)


def test_real_kitti_object_frames_keep_their_calibrations(tmp_path: Path) -> None:
    """Independent KITTI object frames (one calibration each) -> OpenLABEL -> back: per-frame rigs,
    boxes and sensor data as read from the KITTI files."""
    from tests.conftest import real_data

    src = open_dataset(real_data("kitti_object_vis", "data", "object"))
    assert src.frame_rigs is not None
    write_openlabel(src, tmp_path / "k.json")
    back = load_openlabel(tmp_path / "k.json")
    assert back.frame_rigs is not None and len(back.frame_rigs) == len(src)
    for f in range(len(src)):
        for s in src.rig(f).sensors:
            np.testing.assert_allclose(back.rig(f).sensor(s.name).T_ego_from_sensor, s.T_ego_from_sensor, atol=1e-12)
            assert back.rig(f).sensor(s.name).camera == s.camera
        a = {r.track_id: r for r in src.annotations.boxes_at(f)}
        b = {r.track_id: r for r in back.annotations.boxes_at(f)}
        assert a.keys() == b.keys() and all(a[t].label == b[t].label for t in a)
        for t in a:
            np.testing.assert_allclose(b[t].box.to_array(), a[t].box.to_array(), atol=1e-9)
        np.testing.assert_array_equal(back.read_lidar(f).xyz, src.read_lidar(f).xyz)
        assert back.read_image(f, "image_2").shape == src.read_image(f, "image_2").shape
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft7Validator(_schema())
    assert list(validator.iter_errors(json.loads((tmp_path / "k.json").read_text()))) == []
