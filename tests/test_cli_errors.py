"""The command line on malformed input: one line naming the file on stderr and exit code 2 for
each class of error the mutation fuzzer found; the traceback only with ``--debug``."""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fusionlabel.cli import EXIT_ERROR, main
from fusionlabel.errors import FusionLabelError


def _copy(reader_seeds: dict[str, Any], name: str, tmp_path: Path) -> Path:
    dst = tmp_path / "data" / name
    shutil.copytree(reader_seeds[name].root, dst, symlinks=True)
    return dst


def _edit_json(p: Path, edit: Callable[[Any], None]) -> None:
    d = json.loads(p.read_text())
    edit(d)
    p.write_text(json.dumps(d))


def _cloud_folder(reader_seeds: dict[str, Any], tmp_path: Path, name: str, mutate: Callable[[bytes], bytes]) -> Path:
    """A plain folder with one LiDAR sweep (a copy of a cloud seed, mutated) in lidar/."""
    folder = tmp_path / "data" / "clouds"
    (folder / "lidar").mkdir(parents=True)
    src = reader_seeds[f"cloud-{name}"].root / name
    dst = folder / "lidar" / f"000000{Path(name).suffix}"
    dst.write_bytes(mutate(src.read_bytes()))
    return folder


def _native_non_utf8(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "native", tmp_path)
    (root / "rig.json").write_bytes(b"\xff" + (root / "rig.json").read_bytes())
    return ["info", str(root)], "rig.json"


def _native_deep(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "native", tmp_path)
    (root / "labels" / "ground_truth.json").write_text("[" * 100_000 + "]" * 100_000)
    return ["info", str(root)], "ground_truth.json"


def _npz_truncated(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    folder = _cloud_folder(reader_seeds, tmp_path, "sweep.npz", lambda b: b[: len(b) // 2])
    return ["info", str(folder)], "000000.npz"


def _ply_header(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    def nameless(b: bytes) -> bytes:
        return b.replace(b"property float y", b"property float", 1)

    folder = _cloud_folder(reader_seeds, tmp_path, "ascii.ply", nameless)
    return ["info", str(folder)], "000000.ply"


def _pcd_4gib(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    n = 268_000_000

    def bomb(b: bytes) -> bytes:
        head = b[: b.index(b"DATA binary_compressed\n") + len(b"DATA binary_compressed\n")]
        head = head.replace(b"WIDTH 300", f"WIDTH {n}".encode()).replace(b"POINTS 300", f"POINTS {n}".encode())
        return head + struct.pack("<II", 64, n * 16) + b"\x00" * 64

    return ["info", str(_cloud_folder(reader_seeds, tmp_path, "compressed.pcd", bomb))], "000000.pcd"


def _npy_claim(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    folder = _cloud_folder(reader_seeds, tmp_path, "sweep.npy", lambda b: b.replace(b"(300, 4)", b"(4000000000, 4)"))
    return ["info", str(folder)], "000000.npy"


def _zero_byte_png(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "kitti", tmp_path)
    (root / "image_2" / "000001.png").write_bytes(b"")
    return ["info", str(root)], "000001.png"


def _nuscenes_type(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "nuscenes", tmp_path)
    _edit_json(root / "v1.0-fusionlabel" / "sample_data.json", lambda d: d[0].__setitem__("filename", 7))
    return ["info", str(root)], "sample_data.json"


def _openlabel_type(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "openlabel", tmp_path)
    _edit_json(root / "openlabel.json", lambda d: d["openlabel"].__setitem__("objects", ["car"]))
    return ["info", str(root)], "openlabel.json"


def _project_option_format(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "project", tmp_path)
    _edit_json(root / "a.flproj", lambda d: d["sequence"].__setitem__("options", {"format": "kitti"}))
    return ["convert", str(root / "a.flproj"), str(tmp_path / "out"), "--to", "native"], "a.flproj"


def _kitti_frame(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "kitti-tracking", tmp_path)
    lp = root / "label_02" / "0000.txt"
    text = lp.read_text()
    lp.write_text("99999999" + text[text.index(" "):])
    return ["info", str(root)], "0000.txt:1"


def _renamed_image(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "kitti-tracking", tmp_path)
    d = root / "image_02" / "0000"
    (d / "000001.png").rename(d / "1000000.png")
    return ["info", str(root)], "1000000.png"


def _dotdot_path(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "native", tmp_path)
    shutil.copy(root / "lidar" / "lidar_top" / "000000.bin", tmp_path / "stolen.bin")
    _edit_json(root / "fusionlabel.json",
               lambda d: d["frames"][0]["lidar"].__setitem__("lidar_top", "../../stolen.bin"))
    return ["info", str(root)], "stolen.bin"


def _absolute_path(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "nuscenes", tmp_path)
    p = root / "v1.0-fusionlabel" / "sample_data.json"
    recs = json.loads(p.read_text())
    shutil.copy(root / recs[0]["filename"], tmp_path / "stolen.pcd.bin")
    recs[0]["filename"] = str(tmp_path / "stolen.pcd.bin")
    p.write_text(json.dumps(recs))
    return ["info", str(root)], "stolen.pcd.bin"


def _outward_symlink(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "kitti", tmp_path)
    target = root / "calib" / "000000.txt"
    shutil.move(target, tmp_path / "calib.txt")
    target.symlink_to(tmp_path / "calib.txt")
    return ["info", str(root)], "000000.txt"


def _rig_schema(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "native", tmp_path)
    _edit_json(root / "rig.json", lambda d: d["sensors"][0].update(kind=7))
    return ["info", str(root)], "rig.json: $.sensors[0].kind: 7 is not of type 'string'"


def _bag_storage_outside(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "ros2-mcap", tmp_path)
    target = root / "ros2-mcap.mcap"
    shutil.move(target, tmp_path / "stolen.mcap")
    target.symlink_to(tmp_path / "stolen.mcap")
    return ["info", str(root)], "ros2-mcap.mcap: resolves to"


def _topic_map_value(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "ros1-mapping", tmp_path)
    (root / "mapping.yaml").write_text("tolerance_ms: 1e308\n")
    return ["info", str(root / "rec.bag"), "--topic-map", str(root / "mapping.yaml")], "mapping.yaml: option"


def _maptr_pose(reader_seeds: dict[str, Any], tmp_path: Path) -> tuple[list[str], str]:
    root = _copy(reader_seeds, "map-maptr", tmp_path)
    proj = _copy(reader_seeds, "project", tmp_path)
    _edit_json(root / "maptr.json", lambda d: d["GTs"][0].__setitem__("T_world_from_ego", [[1, 2], [3]]))
    return ["import-map", str(proj / "a.flproj"), str(root / "maptr.json")], "maptr.json: GTs[0].T_world_from_ego"


CASES = {
    "non-UTF-8 JSON": _native_non_utf8,
    "JSON Schema (rig)": _rig_schema,
    "deep JSON": _native_deep,
    "corrupt npz": _npz_truncated,
    "PLY header": _ply_header,
    "PCD claiming 4 GiB": _pcd_4gib,
    "npy header claiming 4e9 rows": _npy_claim,
    "0-byte PNG": _zero_byte_png,
    "nuScenes value type": _nuscenes_type,
    "OpenLABEL value type": _openlabel_type,
    "project option format": _project_option_format,
    "KITTI tracking frame 99999999": _kitti_frame,
    "image renamed 1000000.png": _renamed_image,
    "../ path": _dotdot_path,
    "absolute path": _absolute_path,
    "outward symlink": _outward_symlink,
    "ROS 2 bag storage linked out": _bag_storage_outside,
    "topic mapping value": _topic_map_value,
    "MapTR pose (import-map)": _maptr_pose,
}


@pytest.mark.parametrize("case", list(CASES))
def test_one_line_naming_the_file_and_exit_2(
    reader_seeds: dict[str, Any], tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FUSIONLABEL_DEBUG", raising=False)
    argv, names = CASES[case](reader_seeds, tmp_path)
    capsys.readouterr()
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fusionlabel: error: "), err
    assert names in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["deep JSON", "outward symlink"])
def test_debug_shows_the_traceback(reader_seeds: dict[str, Any], tmp_path: Path, case: str) -> None:
    argv, _ = CASES[case](reader_seeds, tmp_path)
    with pytest.raises(FusionLabelError):
        main(["--debug", *argv])


def test_allow_root_opens_what_it_names(reader_seeds: dict[str, Any], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    argv, _ = _outward_symlink(reader_seeds, tmp_path)
    assert main([*argv, "--allow-root", str(tmp_path)]) == 0, capsys.readouterr().err


def test_module_runs_as_a_script() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-m", "fusionlabel.cli", "info", str(root / "no-such-dataset")],
                       capture_output=True, text=True, env=env, check=False)
    assert r.returncode == EXIT_ERROR and r.stderr.count("\n") == 1 and "no-such-dataset" in r.stderr
