"""Recordings (ROS 1 / ROS 2 bags, MCAP) written from a synthetic sequence with ``rosbags``' own
writers open as the same sequence: frames, points, images, calibration, ego poses; their labels
export to KITTI and nuScenes; malformed bags and ambiguous topics give errors naming file and topic."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

pytest.importorskip("rosbags")

from calib.transforms import invert  # noqa: E402
from formats.convert import convert  # noqa: E402
from formats.datasets import detect_format, open_dataset  # noqa: E402
from formats.datasets.errors import DatasetError  # noqa: E402
from formats.datasets.rosbag import (  # noqa: E402
    camera_from_info,
    decode_image_msg,
    decode_pointcloud2,
    interpolate_poses,
)
from formats.datasets.rosbag_write import point_times_s, write_bag  # noqa: E402
from formats.native import write_synth_scene  # noqa: E402
from formats.project import save_project  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402

LIDAR = "lidar_top"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bag_src") / "synth"
    write_synth_scene(SynthScene(SynthConfig(frames=4, seed=3, cameras=6, image_size=(160, 90), azimuths=360)), out)
    return out


@pytest.fixture(scope="module")
def bags(scene: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bags")
    src = open_dataset(scene)
    return {
        "ros2-mcap": write_bag(src, d / "r2mcap", "ros2-mcap"),
        "ros1": write_bag(src, d / "r1.bag", "ros1"),
        "ros2-sqlite3": write_bag(src, d / "r2sql", "ros2-sqlite3", odometry=True),
    }


def _same_as_native(bag: Path, native: Path, **options: object) -> None:
    nat = open_dataset(native)
    got = open_dataset(bag, **options)
    assert got.format == "rosbag" and len(got) == len(nat)
    assert got.info.frame_times_ns() == nat.info.frame_times_ns()
    assert sorted(got.camera_names) == sorted(nat.camera_names) and got.lidar_names == [LIDAR]
    rng = np.random.default_rng(0)
    for k in range(len(nat)):
        a, b = got.read_lidar(k), nat.read_lidar(k)
        assert len(a) == len(b) and np.array_equal(a.xyz, b.xyz)
        assert np.array_equal(a.intensity, b.intensity)
        assert np.allclose(a.fields["time"], point_times_s(b.xyz), atol=1e-7)
        assert np.abs(got.info.frames[k].T_world_from_ego - nat.info.frames[k].T_world_from_ego).max() < 1e-9
        for c in nat.camera_names:
            assert np.array_equal(got.read_image(k, c), nat.read_image(k, c)), (k, c)
            # calibration: world points projected through both rigs agree within 1e-6 px
            cam_a, cam_b = got.rig(k).camera(c), nat.rig(k).camera(c)
            pts_cam = rng.uniform([-8, -4, 2], [8, 4, 40], (200, 3))
            pts_world = (nat.T_world_from_sensor(k, c) @ np.c_[pts_cam, np.ones(200)].T).T[:, :3]
            uv = []
            for src, cam in ((got, cam_a), (nat, cam_b)):
                p = (src.T_sensor_from_world(k, c) @ np.c_[pts_world, np.ones(200)].T).T[:, :3]
                uv.append(cam.project(p)[0])
            ok = np.isfinite(uv[1]).all(axis=1)
            assert ok.sum() > 50 and np.abs(uv[0][ok] - uv[1][ok]).max() < 1e-6, c
    assert got.sync.complete


@pytest.mark.parametrize("kind", ["ros2-mcap", "ros1", "ros2-sqlite3"])
def test_bag_opens_as_the_native_sequence(kind: str, bags: dict[str, Path], scene: Path) -> None:
    _same_as_native(bags[kind], scene)


def test_plain_mcap_file(bags: dict[str, Path], scene: Path) -> None:
    mcap = next(bags["ros2-mcap"].glob("*.mcap"))
    assert detect_format(mcap) == "rosbag"
    _same_as_native(mcap, scene)


def test_mapping_reported_and_info_cli(bags: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from fusionlabel.cli import main

    got = open_dataset(bags["ros1"])
    rec = got.info.meta["recording"]
    assert rec["mapping"]["lidars"] == {LIDAR: f"/sensors/{LIDAR}/points"}
    assert rec["mapping"]["poses"] == "tf map -> base_link" and rec["mapping"]["ego_frame"] == "base_link"
    by_topic = {t["topic"]: t for t in rec["topics"]}
    assert by_topic[f"/sensors/{LIDAR}/points"]["rate_hz"] == pytest.approx(10.0)
    assert by_topic["/tf_static"]["type"] == "tf2_msgs/TFMessage"
    assert main(["info", str(bags["ros1"])]) == 0
    out = capsys.readouterr().out
    assert "/sensors/cam_front/image/compressed  sensor_msgs/CompressedImage  4 msgs  10.00 Hz" in out
    assert "lidar_top <- /sensors/lidar_top/points" in out
    assert main(["info", "--json", str(bags["ros2-sqlite3"])]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["recording"]["mapping"]["poses"] == "odometry /odom"


def test_labels_on_a_bag_export_to_kitti_and_nuscenes(bags: dict[str, Path], scene: Path, tmp_path: Path) -> None:
    nat = open_dataset(scene)
    bag = bags["ros2-mcap"]
    proj = tmp_path / "bag.flproj"
    save_project(proj, nat.annotations, bag, sequence_format="rosbag")  # labels made on the bag
    for to in ("kitti", "nuscenes"):
        s_bag = convert(proj, tmp_path / f"bag_{to}", to)
        s_nat = convert(scene, tmp_path / f"nat_{to}", to)
        assert s_bag.boxes == s_nat.boxes > 10 and s_bag.frames == s_nat.frames
    for f in sorted((tmp_path / "nat_kitti" / "label_2").iterdir()):
        a = np.loadtxt(f, usecols=range(1, 15), ndmin=2)
        b = np.loadtxt(tmp_path / "bag_kitti" / "label_2" / f.name, usecols=range(1, 15), ndmin=2)
        assert a.shape == b.shape and np.abs(a - b).max() < 0.011  # 2-decimal text, 1 cm
    ann = {}
    for side in ("nat", "bag"):
        root = tmp_path / f"{side}_nuscenes"
        tables = next(p for p in root.iterdir() if p.is_dir() and (p / "sample_annotation.json").is_file())
        recs = json.loads((tables / "sample_annotation.json").read_text())
        ann[side] = np.array(sorted(r["translation"] + r["size"] for r in recs))
    assert ann["nat"].shape == ann["bag"].shape and np.abs(ann["nat"] - ann["bag"]).max() < 1e-6


def test_topic_choice_options_and_mapping_file(scene: Path, tmp_path: Path) -> None:
    src = open_dataset(scene)
    bag = write_bag(src, tmp_path / "two", "ros2-mcap")
    # a second LiDAR stream and a raw copy of one camera make the choice ambiguous
    from rosbags.rosbag2 import StoragePlugin, Writer

    from formats.datasets.rosbag_write import MessageBuilder

    m = MessageBuilder("ros2-mcap")
    amb = tmp_path / "amb"
    with Writer(amb, version=8, storage_plugin=StoragePlugin.MCAP) as w:
        from formats.datasets.rosbag_store import BagStore

        store = BagStore(bag)
        conns = {t: w.add_connection(t, ix.msgtype, typestore=m.ts) for t, ix in store.topics.items()}
        extra = w.add_connection("/sensors/lidar_top/points_copy", "sensor_msgs/msg/PointCloud2", typestore=m.ts)
        raw = w.add_connection("/sensors/cam_front/image", "sensor_msgs/msg/Image", typestore=m.ts)
        for t, ix in store.topics.items():
            for i in range(len(ix)):
                w.write(conns[t], int(ix.log_ns[i]), store.read(t, i))
                if t.endswith("/points"):
                    w.write(extra, int(ix.log_ns[i]), store.read(t, i))
        for k in range(len(src)):
            t = src.info.frames[k].timestamp_ns
            w.write(raw, t, m.serialize(m.raw_image(t, "cam_front", src.read_image(k, "cam_front")),
                                        "sensor_msgs/msg/Image"))
        store.close()
    with pytest.raises(DatasetError, match="several PointCloud2 topics"):
        open_dataset(amb)
    with pytest.raises(DatasetError, match="several image streams"):
        open_dataset(amb, lidar_topic="/sensors/lidar_top/points")
    cams = [f"/sensors/{c}/image/compressed" for c in src.camera_names if c != "cam_front"]
    cams.append("/sensors/cam_front/image")
    got = open_dataset(amb, lidar_topic="/sensors/lidar_top/points", camera_topics=cams)
    assert sorted(got.camera_names) == sorted(src.camera_names)
    assert np.array_equal(got.read_image(2, "cam_front"), src.read_image(2, "cam_front"))  # from the raw rgb8 stream
    mp = tmp_path / "map.yaml"
    mp.write_text("lidar_topic: /sensors/lidar_top/points\ncamera_topics:\n"
                  + "".join(f"  - {c}\n" for c in cams[:2]) + "tolerance_ms: 10\n")
    got = open_dataset(amb, mapping=str(mp))
    assert len(got.camera_names) == 2 and got.sync.tolerance_ns == 10_000_000
    # the command line takes the same choices
    from fusionlabel.cli import main

    assert main(["info", str(amb), "--lidar-topic", "/sensors/lidar_top/points", "--topic-map", str(mp)]) == 0
    mp.write_text("lidar: /x\n")
    with pytest.raises(DatasetError, match="unknown keys"):
        open_dataset(amb, mapping=str(mp))
    # values of the wrong kind or out of range name the mapping file (not OverflowError / ValueError)
    for bad, what in (("tolerance_ms: 1e308", "tolerance_ms"), ("tolerance_ms: -1", "tolerance_ms"),
                      ("tolerance_ms: " + "9" * 400, "tolerance_ms"), ("stamps: [1]", "stamps"),
                      ("lidar_topic: 7", "lidar_topic"), ("ego_frame: {a: 1}", "ego_frame")):
        mp.write_text(bad + "\n")
        with pytest.raises(DatasetError, match=f"map.yaml: option '{what}'"):
            open_dataset(amb, mapping=str(mp))
    with pytest.raises(DatasetError, match="option 'tolerance_ms'"):
        open_dataset(amb, tolerance_ms=1e308)
    with pytest.raises(DatasetError, match="not a PointCloud2 topic"):
        open_dataset(amb, lidar_topic="/tf")


def test_header_stamps_camera_times_and_interpolated_poses(scene: Path, tmp_path: Path) -> None:
    src = open_dataset(scene)
    offset = {c: 7_000_000 * (i + 1) for i, c in enumerate(src.camera_names)}  # 7..42 ms after the sweep
    for fr in src.info.frames:
        fr.camera_timestamps_ns = {c: fr.timestamp_ns + offset[c] for c in src.camera_names}
    bag = write_bag(src, tmp_path / "late.bag", "ros1", log_delay_ns=30_000_000)
    got = open_dataset(bag)
    assert got.info.frame_times_ns() == src.info.frame_times_ns()  # header stamps, not log times
    t_nat = np.array(src.info.frame_times_ns())
    poses = np.stack([f.T_world_from_ego for f in src.info.frames])
    for k in range(len(src) - 1):
        for c in src.camera_names:
            t_c = got.info.frames[k].camera_timestamps_ns[c]
            assert t_c == t_nat[k] + offset[c]
            want, _ = interpolate_poses(t_nat, poses, np.array([t_c]))
            assert np.abs(got.sensor_poses[k][c] - want[0]).max() < 1e-9
            a = (t_c - t_nat[k]) / (t_nat[k + 1] - t_nat[k])  # translation: linear between sweeps
            assert np.allclose(want[0][:3, 3], (1 - a) * poses[k][:3, 3] + a * poses[k + 1][:3, 3], atol=1e-9)
    logged = open_dataset(bag, stamps="log")
    assert logged.info.frame_times_ns() == [t + 30_000_000 for t in src.info.frame_times_ns()]


def test_lidar_frame_as_ego_without_poses(scene: Path, tmp_path: Path) -> None:
    """Without base_link in /tf_static and without poses the LiDAR frame is the ego frame."""
    src = open_dataset(scene)
    bag = write_bag(src, tmp_path / "x.bag", "ros1")
    got = open_dataset(bag, ego_frame=LIDAR)
    assert np.allclose(got.rig().T("ego", LIDAR), np.eye(4))
    T = got.rig().T(LIDAR, "cam_front")
    assert np.allclose(T, src.rig().T(LIDAR, "cam_front"), atol=1e-12)
    want = src.info.frames[2].T_world_from_ego @ src.rig().T("ego", LIDAR)
    assert np.abs(got.info.frames[2].T_world_from_ego - want).max() < 1e-9


# ---- decoders ------------------------------------------------------------------------------------
def _pf(name: str, offset: int, datatype: int, count: int = 1) -> SimpleNamespace:
    return SimpleNamespace(name=name, offset=offset, datatype=datatype, count=count)


def _cloud(rec: np.ndarray, fields: list[SimpleNamespace], h: int, w: int, big: bool = False,
           row_pad: int = 0) -> SimpleNamespace:
    step = rec.dtype.itemsize
    rows = rec.view(np.uint8).reshape(h, w * step)
    data = np.concatenate([rows, np.zeros((h, row_pad), np.uint8)], axis=1).reshape(-1)
    return SimpleNamespace(height=h, width=w, point_step=step, row_step=w * step + row_pad, fields=fields,
                           is_bigendian=big, data=data)


@pytest.mark.parametrize("big", [False, True])
def test_pointcloud2_types_padding_endianness_organised(big: bool) -> None:
    e = ">" if big else "<"
    h, w = 3, 5
    dt = np.dtype({"names": ["x", "y", "z", "intensity", "ring", "t", "normal"],
                   "formats": [e + "f8", e + "f8", e + "f8", "u1", e + "u2", e + "u4", (e + "f4", (3,))],
                   "offsets": [0, 8, 16, 25, 28, 32, 36], "itemsize": 56})
    rec = np.zeros(h * w, dtype=dt)
    rng = np.random.default_rng(1)
    xyz = rng.normal(size=(h * w, 3)) * 10
    xyz[4] = np.nan  # an organised cloud's no-return
    rec["x"], rec["y"], rec["z"] = xyz.T
    rec["intensity"] = np.arange(h * w)
    rec["ring"] = np.repeat(np.arange(h), w)
    rec["t"] = np.arange(h * w) * 1000
    rec["normal"] = rng.normal(size=(h * w, 3))
    fields = [_pf("x", 0, 8), _pf("y", 8, 8), _pf("z", 16, 8), _pf("intensity", 25, 2), _pf("ring", 28, 4),
              _pf("t", 32, 6), _pf("normal", 36, 7, 3)]
    pc = decode_pointcloud2(_cloud(rec, fields, h, w, big, row_pad=8), Path("x.bag"), "/pts", 10**18)
    keep = np.isfinite(xyz).all(axis=1)
    assert len(pc) == h * w - 1 and pc.warnings
    assert np.allclose(pc.xyz, xyz[keep].astype(np.float32))
    assert np.array_equal(pc.fields["ring"], np.repeat(np.arange(h), w)[keep])
    assert np.array_equal(pc.fields["intensity"], np.arange(h * w)[keep])
    assert np.allclose(pc.fields["time"], (np.arange(h * w) * 1000 * 1e-9)[keep])  # integer t: ns
    assert pc.fields["normal"].shape == (h * w - 1, 3)


def test_pointcloud2_absolute_time_and_errors() -> None:
    dt = np.dtype({"names": ["x", "y", "z", "timestamp"], "formats": ["<f4"] * 3 + ["<f8"],
                   "offsets": [0, 4, 8, 16], "itemsize": 24})
    rec = np.zeros(4, dtype=dt)
    stamp = 1_600_000_000_250_000_000
    rec["timestamp"] = 1_600_000_000.25 + np.arange(4) * 0.01
    fields = [_pf("x", 0, 7), _pf("y", 4, 7), _pf("z", 8, 7), _pf("timestamp", 16, 8)]
    pc = decode_pointcloud2(_cloud(rec, fields, 1, 4), Path("x.bag"), "/pts", stamp)
    assert np.allclose(pc.fields["time"], np.arange(4) * 0.01, atol=1e-6)
    short = _cloud(rec, fields, 1, 4)
    short.data = short.data[:50]
    with pytest.raises(DatasetError, match=r"x\.bag.*topic /pts.*data bytes"):
        decode_pointcloud2(short, Path("x.bag"), "/pts")
    with pytest.raises(DatasetError, match="exceeds point_step"):
        decode_pointcloud2(_cloud(rec, [*fields[:3], _pf("timestamp", 20, 8)], 1, 4), Path("x.bag"), "/pts")
    with pytest.raises(DatasetError, match="no 'z' field"):
        decode_pointcloud2(_cloud(rec, fields[:2], 1, 4), Path("x.bag"), "/pts")


def test_image_encodings_and_camera_info() -> None:
    from calib.camera import CameraModel
    from calib.rig import Rig, Sensor

    K = np.array([[100.0, 0, 20], [0, 100, 15], [0, 0, 1]])
    rig = Rig([Sensor("c", "camera", np.eye(4), CameraModel(K, 40, 30))])
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)

    def msg(enc: str, arr: np.ndarray, pad: int = 0) -> SimpleNamespace:
        rows = arr.reshape(30, -1)
        data = np.concatenate([rows, np.zeros((30, pad), np.uint8)], axis=1).reshape(-1)
        return SimpleNamespace(encoding=enc, height=30, width=40, step=rows.shape[1] + pad, is_bigendian=0, data=data)

    assert np.array_equal(decode_image_msg(msg("rgb8", rgb, 4), Path("b"), "/i", rig, "c"), rgb)
    assert np.array_equal(decode_image_msg(msg("bgr8", rgb[:, :, ::-1].copy()), Path("b"), "/i", rig, "c"), rgb)
    grey = rgb[:, :, 0].copy()
    assert np.array_equal(decode_image_msg(msg("mono8", grey), Path("b"), "/i", rig, "c"), grey)
    bayer = np.zeros((30, 40), np.uint8)  # an RGGB mosaic of a flat colour demosaics to that colour
    bayer[0::2, 0::2], bayer[0::2, 1::2], bayer[1::2, 0::2], bayer[1::2, 1::2] = 200, 100, 100, 50
    out = decode_image_msg(msg("bayer_rggb8", bayer), Path("b"), "/i", rig, "c")
    assert out.shape == (30, 40, 3) and np.abs(out[10:20, 10:30].reshape(-1, 3).mean(0) - [200, 100, 50]).max() < 2
    png = cv2.imencode(".png", rgb[:, :, ::-1])[1].reshape(-1)
    comp = SimpleNamespace(format="bgr8; png compressed bgr8", data=png)
    assert np.array_equal(decode_image_msg(comp, Path("b"), "/i", rig, "c"), rgb)
    with pytest.raises(DatasetError, match="encoding 'yuv422'"):
        decode_image_msg(msg("yuv422", rgb), Path("b"), "/i", rig, "c")
    small = msg("rgb8", rgb)
    small.data = small.data[:100]
    with pytest.raises(DatasetError, match="topic /i"):
        decode_image_msg(small, Path("b"), "/i", rig, "c")

    def info(model: str, d: list[float]) -> SimpleNamespace:
        return SimpleNamespace(distortion_model=model, d=d, k=K.reshape(-1), width=40, height=30)

    rp = camera_from_info(info("rational_polynomial", [0.1, 0.01, 0.001, 0.002, 0.0, 0.05, 0.0, 0.0]), Path("b"), "/ci")
    assert rp.model == "radtan" and len(rp.dist) == 8
    assert camera_from_info(info("equidistant", [0.1, 0, 0, 0]), Path("b"), "/ci").model == "fisheye"
    assert camera_from_info(info("plumb_bob", [0.0] * 5), Path("b"), "/ci").model == "none"
    with pytest.raises(DatasetError, match="topic /ci.*'kannala'"):
        camera_from_info(info("kannala", [0.1]), Path("b"), "/ci")


def test_malformed_bags_name_file_and_topic(bags: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "trunc.bag"
    bad.write_bytes(bags["ros1"].read_bytes()[:5000])
    with pytest.raises(DatasetError, match=r"trunc\.bag"):
        open_dataset(bad)
    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"\x89MCAP0\r\n" + b"\0" * 100)
    with pytest.raises(DatasetError, match=r"junk\.mcap"):
        open_dataset(junk)
    # a PointCloud2 message whose data is shorter than its header says
    src = next(bags["ros2-mcap"].glob("*.mcap")).read_bytes()
    from formats.datasets.rosbag_store import BagStore

    store = BagStore(bags["ros2-mcap"])
    topic = f"/sensors/{LIDAR}/points"
    msg = store.message(topic, 0)
    store.close()
    # the first cloud message claims twice its width: its data is shorter than the header says
    pos = src.find(np.array([msg.height, msg.width], "<u4").tobytes())
    assert pos > 0
    cut = bytearray(src)
    cut[pos + 4 : pos + 8] = np.array([msg.width * 2], "<u4").tobytes()
    broken = tmp_path / "broken.mcap"
    broken.write_bytes(bytes(cut))
    got = open_dataset(broken)
    with pytest.raises(DatasetError, match=rf"broken\.mcap.*topic {topic}"):
        got.read_lidar(0)


def test_frame_cache_over_a_bag(bags: dict[str, Path], scene: Path) -> None:
    """Frames read through the threaded frame cache equal direct reads (reads are thread-safe)."""
    got = open_dataset(bags["ros1"])
    cache = got.frame_cache(64, workers=2)
    nat = open_dataset(scene)
    for k in (0, 3, 1, 2):
        fd = cache.get(k)
        assert np.array_equal(fd.lidar[LIDAR].xyz, nat.read_lidar(k).xyz)
        assert np.array_equal(fd.images["cam_back"], nat.read_image(k, "cam_back"))
    cache.close()
    got.close()


def test_T_world_from_sensor_for_cameras_uses_camera_time(bags: dict[str, Path], scene: Path) -> None:
    got = open_dataset(bags["ros2-mcap"])
    nat = open_dataset(scene)
    for k in range(len(nat)):
        for c in nat.camera_names:
            assert np.abs(got.T_world_from_sensor(k, c) - nat.T_world_from_sensor(k, c)).max() < 1e-9
    assert np.allclose(invert(got.T_world_from_sensor(0, LIDAR)) @ got.T_world_from_sensor(0, LIDAR), np.eye(4))


@pytest.mark.parametrize(("kind", "compression"), [("ros1", "bz2"), ("ros1", "lz4"), ("ros2-mcap", "storage"),
                                                   ("ros2-mcap", "message"), ("ros2-sqlite3", "file")])
def test_compressed_bags(kind: str, compression: str, scene: Path, tmp_path: Path) -> None:
    """Compressed chunks are decompressed (once per chunk), compressed messages per message."""
    src = open_dataset(scene)
    bag = write_bag(src, tmp_path / ("c.bag" if kind == "ros1" else "c"), kind, compression=compression)
    got = open_dataset(bag)
    assert got.info.frame_times_ns() == src.info.frame_times_ns()
    for k in (3, 0):
        assert np.array_equal(got.read_lidar(k).xyz, src.read_lidar(k).xyz)
        assert np.array_equal(got.read_image(k, "cam_front"), src.read_image(k, "cam_front"))


@pytest.mark.parametrize("kind", ["ros1", "ros2-mcap", "ros2-sqlite3"])
def test_mutated_bags_raise_only_project_errors(kind: str, bags: dict[str, Path], tmp_path: Path) -> None:
    """Byte flips and truncations anywhere in a bag end in a FusionLabelError (naming the file) or
    load; never a foreign exception (found by fuzzing: lz4 errors, u64 offsets, sqlite errors)."""
    import random

    from fusionlabel.errors import FusionLabelError

    bag = bags[kind]
    data_file = bag if bag.is_file() else next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))
    seed_bytes = data_file.read_bytes()
    rng = random.Random(kind)
    for case in range(12):
        data = bytearray(seed_bytes)
        if case % 3 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(6):
                data[rng.randrange(len(data))] = rng.randrange(256)
        d = tmp_path / f"case{case}"
        d.mkdir()
        (d / data_file.name).write_bytes(bytes(data))
        if bag.is_dir():
            (d / "metadata.yaml").write_bytes((bag / "metadata.yaml").read_bytes())
        target = d if bag.is_dir() else d / data_file.name
        try:
            ls = open_dataset(target)
            for k in range(len(ls)):
                ls.read_frame(k)
            ls.close()
        except FusionLabelError as e:
            assert str(d) in str(e) or data_file.name in str(e), e


def test_bag_through_open_source_label_and_export(bags: dict[str, Path], scene: Path, tmp_path: Path) -> None:
    """A recording end to end through the one seam: ``open_source`` opens the bag (an empty
    document where it has no labels), boxes are labelled with undoable commands (the native
    sequence's ground truth, keyframe by keyframe), the project is saved and reopened through
    ``open_source`` (its frame count checked), and both KITTI and nuScenes exports of it equal
    the native sequence's (the devkit loads the nuScenes one)."""
    from formats.convert import call_writer, get_writer
    from formats.source import FrameCountError, open_source
    from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
    from tests.conftest import nusc_python

    bag = bags["ros1"]
    opened = open_source(bag)
    assert opened.kind == "dataset" and opened.sequence is not None and opened.sequence.format == "rosbag"
    doc = opened.document
    assert len(doc) == 0 and doc.frame_count == 4
    nat = open_dataset(scene)
    undo = UndoStack(doc)
    for tr in nat.annotations.tracks.values():
        frames = tr.keyframe_indices()
        cmd = undo.push(CreateTrack(tr.label, frames[0], tr.keyframes[frames[0]], end=frames[-1]))
        for k in frames[1:]:
            undo.push(SetKeyframe(cmd.track_id, k, tr.keyframes[k]))  # type: ignore[attr-defined]
    opened.close()
    proj = tmp_path / "bag.flproj"
    save_project(proj, doc, bag, sequence_format="rosbag")
    again = open_source(proj)
    assert again.kind == "project" and len(again.sequence) == 4  # type: ignore[arg-type]
    assert sorted(len(again.document.boxes_at(k)) for k in range(4)) == sorted(
        len(nat.annotations.boxes_at(k)) for k in range(4))
    for to in ("kitti", "nuscenes"):
        s_bag = call_writer(get_writer(to), again.sequence, tmp_path / f"bag_{to}", None, {})
        s_nat = call_writer(get_writer(to), nat, tmp_path / f"nat_{to}", None, {})
        assert s_bag.boxes == s_nat.boxes > 10 and s_bag.frames == s_nat.frames == 4
    again.close()
    for f in sorted((tmp_path / "nat_kitti" / "label_2").iterdir()):
        a = np.loadtxt(f, usecols=range(1, 15), ndmin=2)
        b = np.loadtxt(tmp_path / "bag_kitti" / "label_2" / f.name, usecols=range(1, 15), ndmin=2)
        assert a.shape == b.shape and np.abs(a - b).max() < 0.011  # 2-decimal text, 1 cm
    tables = next(p for p in (tmp_path / "bag_nuscenes").iterdir() if (p / "sample.json").is_file())
    # the frame-count rule on the bag's project: a 5-frame document is refused, naming both counts,
    # unless the sequence's count is asked for
    doc.frame_count = 5
    longer = tmp_path / "longer.flproj"
    save_project(longer, doc, bag, sequence_format="rosbag")
    with pytest.raises(FrameCountError, match="5 frames.*has 4"):
        open_source(longer)
    ok = open_source(longer, frame_mismatch="sequence")
    assert ok.document.frame_count == 4 and any("sequence's 4 frames" in n for n in ok.notes)
    ok.close()
    py = nusc_python()
    if py is None:
        pytest.skip("the nuScenes devkit venv (.venv-nusc) is not installed")
    import subprocess

    script = ("import sys\nfrom nuscenes.nuscenes import NuScenes\n"
              "n = NuScenes(version=sys.argv[2], dataroot=sys.argv[1], verbose=False)\n"
              "print(len(n.sample), len(n.sample_annotation))\n")
    out = subprocess.run([str(py), "-c", script, str(tmp_path / "bag_nuscenes"), tables.name], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split()[-2:] == ["4", str(s_bag.boxes)]


def test_bag_benchmark_measures_a_small_bag(bags: dict[str, Path], scene: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/bench_bag.py's measurement (open and step, wall and CPU) on the test's bag."""
    from tests.conftest import load_benchmark

    assert load_benchmark("bench_bag")._measure(scene, bags["ros2-mcap"], 3, 4) == 0
    out = capsys.readouterr().out
    assert "open: bag" in out and "s CPU" in out and "ratio bag/folder" in out


def test_a_damaged_type_definition_names_file_and_topic(bags: dict[str, Path], tmp_path: Path) -> None:
    """An MCAP whose CameraInfo schema names a field otherwise (``width`` -> ``wodth``) decodes into
    a message without it: a DatasetError naming the file and the topic (AttributeError before)."""
    mcap = next(bags["ros2-mcap"].glob("*.mcap"))
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(mcap.read_bytes().replace(b"uint32 width", b"uint32 wodth"))
    with pytest.raises(DatasetError, match=r"bad.mcap: topic /sensors/\w+/camera_info: message 0 does not have the "
                                           r"fields of its type \(AttributeError"):
        open_dataset(bad)
