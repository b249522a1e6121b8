"""The native sequence layout: round trip, atomic writes and clear errors on bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from calib.rig import load_rig_json
from formats import native
from formats.errors import FormatError
from fusionlabel.box import Box3D
from fusionlabel.model import Track
from fusionlabel.synth import SynthConfig, SynthScene

CFG = SynthConfig(frames=3, seed=4, cameras=6, image_size=(64, 36), azimuths=360)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthScene, Path]:
    scene = SynthScene(CFG)
    out = tmp_path_factory.mktemp("native") / "seq"
    native.write_synth_scene(scene, out, masks=True)
    return scene, out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_layout_files(written: tuple[SynthScene, Path]) -> None:
    _, out = written
    assert (out / "fusionlabel.json").is_file() and (out / "rig.json").is_file()
    assert (out / "labels" / "ground_truth.json").is_file()
    assert (out / "lidar" / "lidar_top" / "000002.bin").is_file()
    assert (out / "lidar_instance" / "lidar_top" / "000002.bin").is_file()
    assert (out / "cameras" / "cam_back" / "000000.png").is_file()
    assert (out / "masks" / "cam_back" / "000000.png").is_file()
    index = json.loads((out / "fusionlabel.json").read_text())
    assert index["format"] == "fusionlabel-native" and index["version"] == 1
    # no temporary leftovers next to or inside the sequence
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not [p for p in out.rglob(".*")]


def test_round_trip(written: tuple[SynthScene, Path]) -> None:
    scene, out = written
    seq = native.load_sequence(out)
    assert seq.format == "native" and len(seq) == len(scene)
    assert seq.lidar_names == ["lidar_top"]
    assert seq.camera_names == scene.rig.camera_names()
    assert load_rig_json(out / "rig.json") == scene.rig
    for i in range(len(scene)):
        fi = seq.frames[i]
        assert fi.timestamp_ns == scene.timestamp_ns(i)
        assert np.array_equal(fi.T_world_from_ego, scene.ego_pose(i))
        assert fi.camera_timestamps_ns == {n: scene.timestamp_ns(i) for n in scene.rig.camera_names()}
        fr = scene.frame(i)
        pts = native.read_lidar_frame(seq, i, "lidar_top")
        assert np.array_equal(pts, fr.lidar["lidar_top"].points)
        assert np.array_equal(native.read_lidar_instance(seq, i), fr.lidar["lidar_top"].instance)
        for name, ci in fr.cameras.items():
            assert np.array_equal(native.read_image(fi.camera_files[name]), ci.image)
            assert np.array_equal(native.read_mask(seq.meta["camera_mask_files"][i][name]), ci.instance)
    tracks = native.load_ground_truth(seq)
    expected = scene.tracks()
    assert [(t.track_id, t.label, t.attributes, t.keyframes) for t in tracks] == [
        (t.track_id, t.label, t.attributes, t.keyframes) for t in expected
    ]
    # loading the index file path works too
    assert len(native.load_sequence(out / "fusionlabel.json")) == len(scene)


def test_tracks_round_trip_with_sparse_keyframes(tmp_path: Path) -> None:
    tr = Track(
        7,
        "car",
        {"state": "moving"},
        {0: Box3D((1, 2, 0.8), (4, 2, 1.6), 3.1), 4: Box3D((5, 2, 0.8), (4, 2, 1.6), -3.1)},
    )
    p = tmp_path / "t.json"
    native.save_tracks(p, [tr])
    (back,) = native.load_tracks(p)
    assert back.keyframes == tr.keyframes and back.attributes == tr.attributes
    assert back.box_at(2) == tr.box_at(2)  # interpolated, not stored
    assert list(json.loads(p.read_text())["tracks"][0]["keyframes"]) == ["0", "4"]


def test_tracks_keep_gaps_and_interpolation(tmp_path: Path) -> None:
    tr = Track(
        3,
        "pedestrian",
        {},
        {k: Box3D((k, 0, 0.9), (0.6, 0.6, 1.8), 0) for k in (0, 2, 6, 9)},
        interpolation="smooth",
        gaps=((3, 5),),
    )
    p = tmp_path / "g.json"
    native.save_tracks(p, [tr])
    (back,) = native.load_tracks(p)
    assert back.gaps == ((3, 5),) and back.interpolation == "smooth"
    assert back.box_at(4) is None and back.box_at(1) is not None and back.box_at(7) is not None
    assert [back.box_at(f) for f in range(10)] == [tr.box_at(f) for f in range(10)]


def test_writes_are_deterministic(tmp_path: Path) -> None:
    cfg = SynthConfig(frames=2, seed=9, cameras=6, image_size=(64, 36), azimuths=360)
    a = native.write_synth_scene(SynthScene(cfg), tmp_path / "a")
    b = native.write_synth_scene(SynthScene(cfg), tmp_path / "b")
    c = native.write_synth_scene(
        SynthScene(SynthConfig(frames=2, seed=10, cameras=6, image_size=(64, 36), azimuths=360)),
        tmp_path / "c",
    )
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 10
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    differ = [rel for rel in files_a if (a / rel).read_bytes() != (c / rel).read_bytes()]
    assert Path("labels/ground_truth.json") in differ
    assert Path("lidar/lidar_top/000001.bin") in differ
    assert Path("cameras/cam_front/000001.png") in differ


# ---- atomic writes -------------------------------------------------------------------------------
def test_atomic_write_leaves_old_file_and_no_temp_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "x.json"
    native.atomic_write_json(p, {"a": 1})

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        native.atomic_write_json(p, {"a": 2})
    monkeypatch.undo()
    assert json.loads(p.read_text()) == {"a": 1}
    assert [q.name for q in tmp_path.iterdir()] == ["x.json"]
    with pytest.raises(ValueError):
        native.atomic_write_json(p, {"a": float("nan")})  # refused before any write
    assert [q.name for q in tmp_path.iterdir()] == ["x.json"]


def test_interrupted_sequence_write_leaves_nothing(tmp_path: Path) -> None:
    class Failing(SynthScene):
        def frame(self, index: int, cameras: bool = True, lidar: bool = True):  # type: ignore[override]
            if index == 1:
                raise RuntimeError("interrupted")
            return super().frame(index, cameras, lidar)

    out = tmp_path / "seq"
    with pytest.raises(RuntimeError):
        native.write_synth_scene(Failing(CFG), out)
    assert list(tmp_path.iterdir()) == []


def test_refuses_non_empty_output_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "seq"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    scene = SynthScene(SynthConfig(frames=1, seed=1, cameras=1, image_size=(32, 18), azimuths=90))
    with pytest.raises(FormatError, match="not empty"):
        native.write_synth_scene(scene, out)
    assert (out / "keep.txt").read_text() == "mine"
    native.write_synth_scene(scene, out, overwrite=True)
    assert not (out / "keep.txt").exists() and native.is_native(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]


# ---- bad input -----------------------------------------------------------------------------------
def test_truncated_bin_names_the_file(written: tuple[SynthScene, Path], tmp_path: Path) -> None:
    seq_dir = _copy(written[1], tmp_path / "s")
    f = seq_dir / "lidar" / "lidar_top" / "000001.bin"
    data = f.read_bytes()
    f.write_bytes(data[:-6])
    with pytest.raises(FormatError) as e:
        native.read_lidar(f)
    assert str(f) in str(e.value) and "multiple of 16" in str(e.value)
    # whole points missing: caught by the count recorded in the index
    f.write_bytes(data[:-32])
    seq = native.load_sequence(seq_dir)
    with pytest.raises(FormatError) as e:
        native.read_lidar_frame(seq, 1)
    assert str(f) in str(e.value) and "expected" in str(e.value)


def test_nan_points_are_rejected(tmp_path: Path) -> None:
    f = tmp_path / "p.bin"
    pts = np.zeros((10, 4), np.float32)
    pts[3, 1] = np.nan
    f.write_bytes(pts.tobytes())
    with pytest.raises(FormatError, match=r"p\.bin: 1 points contain NaN"):
        native.read_lidar(f)
    with pytest.raises(ValueError):
        native.write_lidar(tmp_path / "q.bin", pts)
    assert not (tmp_path / "q.bin").exists()


def test_missing_lidar_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="not found") as e:
        native.read_lidar(tmp_path / "nope.bin")
    assert "nope.bin" in str(e.value)


def test_malformed_index_json(written: tuple[SynthScene, Path], tmp_path: Path) -> None:
    seq_dir = _copy(written[1], tmp_path / "s")
    idx = seq_dir / "fusionlabel.json"
    text = idx.read_text()
    idx.write_text(text[: len(text) // 2])
    with pytest.raises(FormatError) as e:
        native.load_sequence(seq_dir)
    assert str(idx) in str(e.value) and "invalid JSON at line" in str(e.value)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("frames"), "$: 'frames' is a required property"),
        (lambda d: d.update(format="kitti"), "$.format: expected 'fusionlabel-native', got 'kitti'"),
        (lambda d: d.update(version=99), "$.version: expected 1, got 99"),
        (lambda d: d["frames"][1].pop("timestamp_ns"), "$.frames[1]: 'timestamp_ns' is a required property"),
        (lambda d: d["frames"][1].update(timestamp_ns=1.5), "$.frames[1].timestamp_ns: 1.5 is not of type 'integer'"),
        (lambda d: d["frames"][0]["T_world_from_ego"][3].__setitem__(3, 2.0), "bottom row"),
        (lambda d: d["frames"][2]["lidar"].update(lidar_top="lidar/nope.bin"), "not found"),
        (lambda d: d["frames"][0]["cameras"].update(cam_rear="x.png"), "not a camera of the rig"),
        (lambda d: d["frames"][2].update(index=5), "frames[2].index: expected 2"),
        (lambda d: d["lidar_point_format"].update(dtype="float64"), "lidar_point_format"),
    ],
)
def test_bad_index_content(written: tuple[SynthScene, Path], tmp_path: Path, mutate, message: str) -> None:
    seq_dir = _copy(written[1], tmp_path / "s")
    idx = seq_dir / "fusionlabel.json"
    data = json.loads(idx.read_text())
    mutate(data)
    idx.write_text(json.dumps(data))
    with pytest.raises(FormatError) as e:
        native.load_sequence(seq_dir)
    assert message in str(e.value)
    assert "fusionlabel.json" in str(e.value) or "nope.bin" in str(e.value)


def _doc(tracks: str) -> str:
    return '{"version": 1, "tracks": [' + tracks + "]}"


def _one(box: str) -> str:
    return _doc('{"id": 1, "label": "car", "keyframes": {"0": ' + box + "}}")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "invalid JSON at line 1"),
        (_one('{"center": [0, 0], "size": [1, 1, 1], "yaw": 0}'), "keyframes['0'].center: [0, 0] is too short"),
        (_one('{"center": [0, 0, 0], "size": [1, -1, 1], "yaw": 0}'), "keyframes['0'].size[1]: -1 is less"),
        (_one('{"center": [0, 0, NaN], "size": [1, 1, 1], "yaw": 0}'), "NaN is not allowed"),
        (_one('{"center": [0, 0, 0], "size": [1, 1, 1]}'), "$.tracks[0].keyframes['0']: 'yaw' is a required property"),
        (_doc('{"id": 1, "label": "car", "keyframes": {"x": {}}}'), "$.tracks[0].keyframes: 'x' does not match"),
        (_doc('{"id": 1, "keyframes": {}}'), "$.tracks[0]: 'label' is a required property"),
        (_doc('{"id": 1, "label": "car", "keyframes": {}}'), "$.tracks[0].keyframes: {} should be non-empty"),
        (
            _doc(
                '{"id": 1, "label": "a", "keyframes": {"0": {"center": [0, 0, 0], "size": [1, 1, 1], "yaw": 0}}}, '
                '{"id": 1, "label": "b", "keyframes": {"0": {"center": [0, 0, 0], "size": [1, 1, 1], "yaw": 0}}}'
            ),
            "track 1: duplicate track id",
        ),
    ],
)
def test_bad_track_files(tmp_path: Path, payload: str, message: str) -> None:
    p = tmp_path / "gt.json"
    p.write_text(payload)
    with pytest.raises(FormatError) as e:
        native.load_tracks(p)
    assert str(p) in str(e.value) and message in str(e.value)


def test_not_a_sequence(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="fusionlabel.json not found"):
        native.load_sequence(tmp_path)


def test_big_sweeps_are_read_through_a_copy_on_write_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(1000, 4)).astype(np.float32)
    path = tmp_path / "s.bin"
    native.write_lidar(path, pts)
    small = native.read_lidar(path)
    monkeypatch.setattr(native, "MMAP_MIN_BYTES", 64)
    big = native.read_lidar(path, expected_points=1000)
    assert np.array_equal(big, pts) and np.array_equal(small, pts)
    big[:, 0] += 1.0  # writes stay private to the array
    assert np.array_equal(np.fromfile(path, "<f4").reshape(-1, 4), pts)
    bad = pts.copy()
    bad[7, 2] = np.nan
    path.write_bytes(bad.tobytes())
    with pytest.raises(FormatError, match="NaN"):
        native.read_lidar(path)
    with pytest.raises(FormatError, match="expected 5 points"):
        native.write_lidar(path, pts)
        native.read_lidar(path, expected_points=5)
    (tmp_path / "e.bin").write_bytes(b"")
    assert native.read_lidar(tmp_path / "e.bin").shape == (0, 4)
