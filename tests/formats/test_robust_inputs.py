"""Malformed input ends in the project's own error naming the file, never in a foreign exception,
a hang or a huge allocation: one test per class the mutation fuzzer found (benchmarks/fuzz_readers.py)."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calib.errors import CalibrationError
from formats.datasets import DatasetError, open_dataset
from formats.errors import FormatError, PointCloudError
from formats.kitti_labels import KittiLabelError
from formats.pointcloud import read_point_cloud
from formats.project import load_project
from fusionlabel.errors import FusionLabelError
from tests.conftest import load_benchmark


def _copy(reader_seeds: dict[str, Any], name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(reader_seeds[name].root, dst, symlinks=True)
    return dst


def _consume(path: Path) -> None:
    """Open and read everything, as the window does (the fuzzer's consumption)."""
    fuzz = load_benchmark("fuzz_readers")
    fuzz.consume_dataset(path)


def _raises_naming(path_part: str, fn: Any, *args: Any) -> FusionLabelError:
    with pytest.raises(FusionLabelError) as ei:
        fn(*args)
    assert path_part in str(ei.value), str(ei.value)
    return ei.value


def test_calibration_errors_belong_to_the_family() -> None:
    assert issubclass(CalibrationError, FusionLabelError)
    assert issubclass(FormatError, FusionLabelError)


# ---- JSON ------------------------------------------------------------------------------------------
def test_non_utf8_rig_json(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "native", tmp_path)
    data = (root / "rig.json").read_bytes()
    (root / "rig.json").write_bytes(data[:40] + b"\xff" + data[40:])
    err = _raises_naming("rig.json", open_dataset, root)
    assert "not UTF-8" in str(err) and "offset 40" in str(err)


@pytest.mark.parametrize(
    ("seed", "rel"),
    [
        ("native", "fusionlabel.json"),
        ("native", "labels/ground_truth.json"),
        ("native", "rig.json"),
        ("nuscenes", "v1.0-fusionlabel/sample.json"),
        ("openlabel", "openlabel.json"),
        ("sustech", "label/000000.json"),
        ("sustech", "calib/camera/cam_front.json"),
    ],
)
def test_deeply_nested_json(reader_seeds: dict[str, Any], tmp_path: Path, seed: str, rel: str) -> None:
    root = _copy(reader_seeds, seed, tmp_path)
    obj = json.loads((root / rel).read_text())
    text = json.dumps(obj)
    deep = "[" * 100_000 + "]" * 100_000
    # the deep value replaces the first value of the document, so the file stays recognisable
    i = text.index(":") + 1 if text.startswith("{") else 1
    j = text.index(",", i) if "," in text[i:] else len(text) - 1
    (root / rel).write_text(text[:i] + deep + text[j:])
    _raises_naming(Path(rel).name, _consume, root)


def test_deeply_nested_project(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "project", tmp_path)
    (root / "a.flproj").write_text('{"format": ' + "[" * 50_000 + "]" * 50_000 + "}")
    err = _raises_naming("a.flproj", load_project, root / "a.flproj")
    assert "nested too deeply" in str(err)


def test_integer_beyond_float(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "openlabel", tmp_path)
    text = (root / "openlabel.json").read_text()
    (root / "openlabel.json").write_text(text.replace('"val": [', '"val": [' + "9" * 400 + ", ", 1))
    err = _raises_naming("openlabel.json", _consume, root)
    assert "308 digits" in str(err)


def test_project_option_named_format(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "project", tmp_path)
    d = json.loads((root / "a.flproj").read_text())
    d["sequence"]["options"] = {"format": "kitti"}
    (root / "a.flproj").write_text(json.dumps(d))
    err = _raises_naming("a.flproj", load_project, root / "a.flproj")
    assert "$.sequence.options: 'format' is not allowed here" in str(err)


@pytest.mark.parametrize(("key", "value"), [("tolerance_ms", "fast"), ("layout", 5), ("sequence", [1]),
                                            ("estimate_poses", "yes"), ("allow_roots", 3)])
def test_reader_options_of_the_wrong_type(reader_seeds: dict[str, Any], key: str, value: Any) -> None:
    with pytest.raises(DatasetError, match=key):
        open_dataset(reader_seeds["native"].root, **{key: value})


# ---- nuScenes and OpenLABEL values of the wrong JSON type ------------------------------------------
@pytest.mark.parametrize(
    ("table", "field", "value"),
    [
        ("sample_data", "filename", 5),
        ("sample_data", "token", ["x"]),
        ("sample_data", "width", "wide"),
        ("sample_data", "calibrated_sensor_token", None),
        ("calibrated_sensor", "translation", "here"),
        ("sample", "timestamp", {"us": 1}),
        ("sample_annotation", "size", [1, 2]),
        ("sample_annotation", "attribute_tokens", "a"),
        ("sensor", "channel", 3),
        ("ego_pose", "rotation", [1, 0, 0, True]),
    ],
)
def test_nuscenes_wrong_types(reader_seeds: dict[str, Any], tmp_path: Path, table: str, field: str, value: Any) -> None:
    root = _copy(reader_seeds, "nuscenes", tmp_path)
    p = root / "v1.0-fusionlabel" / f"{table}.json"
    recs = json.loads(p.read_text())
    recs[0][field] = value
    p.write_text(json.dumps(recs))
    err = _raises_naming(f"{table}.json", _consume, root)
    assert isinstance(err, DatasetError)


def _first_stream_props(d: Any) -> Any:
    fr = next(iter(d["openlabel"]["frames"].values()))
    return next(iter(fr["frame_properties"]["streams"].values())).setdefault("stream_properties", {})


def _first_intrinsics(d: Any) -> Any:
    return next(st["stream_properties"]["intrinsics_pinhole"] for st in d["openlabel"]["streams"].values()
                if "intrinsics_pinhole" in st.get("stream_properties", {}))


def _first_frame_object(d: Any) -> Any:
    return next(o for fr in d["openlabel"]["frames"].values() for o in fr.get("objects", {}).values())


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["openlabel"].__setitem__("frames", [1, 2]),
        lambda d: d["openlabel"].__setitem__("objects", ["car"]),
        lambda d: d["openlabel"].__setitem__("streams", {"cam_front": 7}),
        lambda d: d["openlabel"].__setitem__("coordinate_systems", {"odom": []}),
        lambda d: d["openlabel"]["metadata"].__setitem__("schema_version", None),
        lambda d: next(iter(d["openlabel"]["frames"].values())).__setitem__("frame_properties", []),
        lambda d: next(iter(d["openlabel"]["objects"].values())).__setitem__("type", 5),
        lambda d: _first_frame_object(d)["object_data"].__setitem__("cuboid", 5),
        lambda d: _first_frame_object(d).__setitem__("object_data", [1]),
        # found by the long fuzz run: text entries that are not objects, a text that is not a list
        lambda d: next(iter(d["openlabel"]["objects"].values())).setdefault("object_data", {}).__setitem__(
            "text", [[[1]]]),
        lambda d: next(iter(d["openlabel"]["objects"].values())).setdefault("object_data", {}).__setitem__(
            "text", 3),
        lambda d: _first_stream_props(d).__setitem__("sync", ["timestamp"]),
        lambda d: _first_intrinsics(d).__setitem__("distortion_coeffs", 5),
        lambda d: _first_intrinsics(d).__setitem__("distortion_coeffs", "abc"),
    ],
)
def test_openlabel_wrong_types(reader_seeds: dict[str, Any], tmp_path: Path, edit: Any) -> None:
    root = _copy(reader_seeds, "openlabel", tmp_path)
    d = json.loads((root / "openlabel.json").read_text())
    edit(d)
    (root / "openlabel.json").write_text(json.dumps(d))
    _raises_naming("openlabel.json", _consume, root)


@pytest.mark.parametrize("value", ["1e+308", "-90", "400", "3e6"])
def test_kitti_raw_oxts_position_out_of_range(reader_seeds: dict[str, Any], tmp_path: Path, value: str) -> None:
    """Found by the long fuzz run: a longitude of 1e308 made the poses infinite (LinAlgError)."""
    root = _copy(reader_seeds, "kitti-raw", tmp_path)
    f = next(root.glob("*_sync/oxts/data/0000000000.txt"))
    vals = f.read_text().split()
    vals[0 if value == "-90" else 2 if value == "3e6" else 1] = value
    f.write_text(" ".join(vals) + "\n")
    _raises_naming("0000000000.txt", _consume, root)


def test_errors_name_a_file_of_the_dataset(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    """Found by the long fuzz run: errors that named only "/" or no file at all."""
    root = _copy(reader_seeds, "native", tmp_path)
    d = json.loads((root / "fusionlabel.json").read_text())
    d["rig"] = "/"
    (root / "fusionlabel.json").write_text(json.dumps(d))
    _raises_naming("fusionlabel.json", _consume, root)
    root = _copy(reader_seeds, "sustech", tmp_path / "s")
    labels = json.loads((root / "label" / "000000.json").read_text())
    labels[0]["obj_type"] = ""
    (root / "label" / "000000.json").write_text(json.dumps(labels))
    _raises_naming("000000.json", _consume, root)
    labels[0]["obj_type"] = "Car"
    labels[0]["psr"]["rotation"] = -1  # found by the confirmation run (the tilt reads rotation.x / .y)
    (root / "label" / "000000.json").write_text(json.dumps(labels))
    _raises_naming("000000.json", _consume, root)


# ---- images ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", ["native", "kitti", "folder", "sustech", "kitti-tracking"])
def test_zero_byte_camera_image(reader_seeds: dict[str, Any], tmp_path: Path, seed: str) -> None:
    root = _copy(reader_seeds, seed, tmp_path)
    png = sorted(p for p in root.rglob("*.png"))[0]
    png.write_bytes(b"")
    _raises_naming(png.name, _consume, root)


def test_image_header_claiming_a_huge_size(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "native", tmp_path)
    png = root / "cameras" / "cam_front" / "000000.png"
    data = bytearray(png.read_bytes())
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    png.write_bytes(bytes(data))
    _raises_naming("000000.png", _consume, root)


def test_jpeg_with_a_corrupt_segment_length(tmp_path: Path) -> None:
    from formats.datasets.base import image_size

    p = tmp_path / "x.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0\x00\x00" + b"\x00" * 64)
    with pytest.raises(DatasetError, match="x.jpg"):
        image_size(p)


# ---- point clouds ----------------------------------------------------------------------------------
def _cloud(reader_seeds: dict[str, Any], name: str, tmp_path: Path) -> Path:
    p = tmp_path / name
    shutil.copy(reader_seeds[f"cloud-{name}"].root / name, p)
    return p


@pytest.mark.parametrize("cut", [0, 10, 200, -30])
def test_truncated_npz(reader_seeds: dict[str, Any], tmp_path: Path, cut: int) -> None:
    p = _cloud(reader_seeds, "sweep.npz", tmp_path)
    p.write_bytes(p.read_bytes()[:cut])
    _raises_naming("sweep.npz", read_point_cloud, p)


def test_npz_with_a_bad_crc(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    p = _cloud(reader_seeds, "sweep.npz", tmp_path)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    _raises_naming("sweep.npz", read_point_cloud, p)


def test_npz_object_array_is_refused_without_unpickling(tmp_path: Path) -> None:
    p = tmp_path / "obj.npz"
    np.savez(p, points=np.array([[1, 2, 3]], dtype=object))
    err = _raises_naming("obj.npz", read_point_cloud, p)
    assert "objects" in str(err)


def test_npz_member_claiming_more_than_it_holds(tmp_path: Path) -> None:
    p = tmp_path / "big.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 4), np.float32))
    header["shape"] = (4_000_000_000, 4)
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("points.npy", buf.getvalue() + b"\x00" * 16)
    err = _raises_naming("big.npz", read_point_cloud, p)
    assert "announces" in str(err)


def test_npy_header_claiming_4e9_rows(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    p = _cloud(reader_seeds, "sweep.npy", tmp_path)
    data = p.read_bytes()
    p.write_bytes(data.replace(b"(300, 4)", b"(4000000000, 4)"))
    err = _raises_naming("sweep.npy", read_point_cloud, p)
    assert "announces" in str(err)


def test_binary_compressed_pcd_claiming_4_gib(tmp_path: Path) -> None:
    n = 268_000_000  # x y z intensity float32: 4.3 GB raw
    head = (f"VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\nWIDTH {n}\n"
            f"HEIGHT 1\nPOINTS {n}\nDATA binary_compressed\n").encode()
    p = tmp_path / "bomb.pcd"
    p.write_bytes(head + struct.pack("<II", 100, n * 16) + b"\x00" * 100)
    err = _raises_naming("bomb.pcd", read_point_cloud, p)
    assert "LZF" in str(err)


@pytest.mark.parametrize(
    "header",
    [
        "ply\nformat\nelement vertex 1\nproperty float x\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty float\nproperty float y\nproperty float z\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty list uchar\nend_header\n",
        "ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float x\n"
        "property float y\nproperty float z\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex -3\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
        "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header",
        "ply\nformat ascii 1.0\nelement\nend_header\n",
    ],
)
def test_ply_header_oddities(tmp_path: Path, header: str) -> None:
    p = tmp_path / "odd.ply"
    p.write_text(header)
    _raises_naming("odd.ply", read_point_cloud, p)


# ---- resource limits from a few bytes ----------------------------------------------------------------
def test_kitti_tracking_label_frame_99999999(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "kitti-tracking", tmp_path)
    lp = root / "label_02" / "0000.txt"
    lines = lp.read_text().splitlines()
    lines[0] = "99999999" + lines[0][lines[0].index(" "):]
    lp.write_text("\n".join(lines) + "\n")
    with pytest.raises(KittiLabelError, match=r"0000.txt:1: frame 99999999"):
        open_dataset(root)


def test_image_renamed_1000000_png(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "kitti-tracking", tmp_path)
    d = root / "image_02" / "0000"
    (d / "000001.png").rename(d / "1000000.png")
    err = _raises_naming("1000000.png", open_dataset, root)
    assert "frame number 1000000" in str(err)


def test_huge_finite_pose_translation_is_drawn(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "native", tmp_path)
    d = json.loads((root / "fusionlabel.json").read_text())
    for fr in d["frames"]:
        fr["T_world_from_ego"][0][3] = 1e300
        fr["T_world_from_ego"][2][3] = -1e300
    (root / "fusionlabel.json").write_text(json.dumps(d))
    try:
        _consume(root)  # points coloured as the window colours them
    except FusionLabelError:
        pass


def test_corrupt_calibration_values(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root = _copy(reader_seeds, "sustech", tmp_path)
    p = root / "calib" / "camera" / "cam_front.json"
    d = json.loads(p.read_text())
    d["intrinsic"] = [[1, 2], "x"]
    p.write_text(json.dumps(d))
    _raises_naming("cam_front.json", _consume, root)


def test_point_cloud_error_is_a_format_error() -> None:
    assert issubclass(PointCloudError, FormatError) and issubclass(KittiLabelError, FormatError)


@pytest.mark.parametrize("where", ["ground_truth", "project"])
def test_keyframe_at_frame_4e9(reader_seeds: dict[str, Any], tmp_path: Path, where: str) -> None:
    """A track spanning 4e9 frames would be walked frame by frame: refused first."""
    if where == "ground_truth":
        root = _copy(reader_seeds, "native", tmp_path)
        p = root / "labels" / "ground_truth.json"
        d = json.loads(p.read_text())
        tracks = d["tracks"]
    else:
        root = _copy(reader_seeds, "project", tmp_path)
        p = root / "a.flproj"
        d = json.loads(p.read_text())
        tracks = d["document"]["tracks"]
    kf = tracks[0]["keyframes"]
    kf["4000000000"] = next(iter(kf.values()))
    p.write_text(json.dumps(d))
    fn = (lambda: open_dataset(root)) if where == "ground_truth" else (lambda: load_project(p))
    err = _raises_naming(p.name, fn)
    assert "4000000000" in str(err)


def test_npy_header_that_does_not_tokenize(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    p = _cloud(reader_seeds, "sweep.npy", tmp_path)
    data = p.read_bytes()
    p.write_bytes(data.replace(b"'descr': '<f4'", b"'descr': '<f4", 1))
    _raises_naming("sweep.npy", read_point_cloud, p)


def test_nuscenes_number_lists_checked_exactly() -> None:
    """The nuScenes tables' ``[x, y, z]`` check (its fast path by types and one sum) accepts exactly
    lists of finite JSON numbers of the length asked, whatever their sum."""
    from formats.datasets.nuscenes import _vec

    test, what = _vec(3)
    assert what == "a list of 3 numbers"
    good = ([1.0, 2.0, 3.0], [1, 2, 3], [0, -0.0, 5e-324], [1e308, 1e308, 1.0], [-1e308, -1e308, 2])
    bad = ([True, 1.0, 2.0], [float("nan"), 1.0, 2.0], [float("inf"), 1, 2], [1.0, 2.0], [1.0, 2.0, 3.0, 4.0],
           "abc", None, [1.0, "2", 3.0], [1e308, 1e308, float("inf")], (1.0, 2.0, 3.0), [None, 1.0, 2.0])
    assert all(test(v) for v in good)
    assert not any(test(v) for v in bad)
