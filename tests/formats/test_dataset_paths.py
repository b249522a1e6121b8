"""Every file a dataset or project refers to resolves inside the dataset root (symlinks resolved
first); ``../``, absolute paths and outward symlinks are refused with an error naming the reference,
unless the user names extra roots (``allow_roots`` / ``--allow-root``)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from formats.datasets import DatasetError, open_dataset
from formats.errors import FormatError
from formats.project import load_project
from fusionlabel.errors import FusionLabelError
from tests.conftest import load_benchmark


def _copy(reader_seeds: dict[str, Any], name: str, tmp_path: Path) -> tuple[Path, Path]:
    """(root, outside): a copy of a seed and an empty sibling folder outside it."""
    root = tmp_path / "data" / name
    shutil.copytree(reader_seeds[name].root, root, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    return root, outside


def _consume(path: Path, **options: Any) -> None:
    load_benchmark("fuzz_readers").consume_dataset(path, **options) if not options else _read_all(path, **options)


def _read_all(path: Path, **options: Any) -> None:
    loaded = open_dataset(path, **options)
    for k in range(len(loaded)):
        loaded.read_frame(k)
    loaded.close()


def _refused(path: Path, what: str) -> None:
    with pytest.raises(FusionLabelError) as ei:
        _read_all(path)
    msg = str(ei.value)
    assert "outside the dataset root" in msg and what in msg, msg


# ---- outward symlinks, every layout ------------------------------------------------------------------
SYMLINKED = [
    ("native", "lidar/lidar_top/000000.bin"),
    ("native", "cameras/cam_front/000001.png"),
    ("native", "rig.json"),
    ("native", "labels/ground_truth.json"),
    ("kitti", "velodyne/000000.bin"),
    ("kitti", "calib/000001.txt"),
    ("kitti", "label_2/000000.txt"),
    ("kitti", "image_2/000001.png"),
    ("kitti-tracking", "calib/0000.txt"),
    ("kitti-tracking", "label_02/0000.txt"),
    ("kitti-tracking", "image_02/0000/000000.png"),
    ("kitti-tracking", "velodyne/0000/000001.bin"),
    ("nuscenes", "v1.0-fusionlabel/sample_data.json"),
    ("openlabel", "openlabel.json"),
    ("sustech", "lidar/000000.pcd"),
    ("sustech", "calib/camera/cam_front.json"),
    ("sustech", "camera/cam_front/000001.png"),
    ("folder", "lidar_top/000001.pcd"),
    ("folder", "cam_front/000000.png"),
    ("folder", "rig.json"),
    ("kitti-flat", "000000.bin"),
    ("kitti-flat", "000001.txt"),
    ("kitti-flat", "000000_gt.txt"),
    ("kitti-raw", "calib_cam_to_cam.txt"),
    ("kitti-raw", "2011_09_26_drive_0005_sync/velodyne_points/data/0000000000.bin"),
    ("kitti-raw", "2011_09_26_drive_0005_sync/image_02/data/0000000001.png"),
    ("kitti-raw", "2011_09_26_drive_0005_sync/oxts/data/0000000000.txt"),
    ("ros2-mcap", "metadata.yaml"),
    ("ros2-mcap", "ros2-mcap.mcap"),
    ("ros2-sqlite3", "metadata.yaml"),
    ("ros2-sqlite3", "ros2-sqlite3.db3"),
]


@pytest.mark.parametrize(("seed", "rel"), SYMLINKED)
@pytest.mark.parametrize("relative", [False, True])
def test_outward_symlink_is_refused(reader_seeds: dict[str, Any], tmp_path: Path, seed: str, rel: str,
                                    relative: bool) -> None:
    root, outside = _copy(reader_seeds, seed, tmp_path)
    target = root / rel
    moved = outside / target.name
    shutil.move(target, moved)
    target.symlink_to(os.path.relpath(moved, target.parent) if relative else moved)
    _refused(root, target.name)
    if seed == "openlabel":  # the file the user opens by name may itself be a link
        _read_all(root / "openlabel.json")
    _read_all(root, allow_roots=[str(outside)])  # named explicitly: allowed


def test_nuscenes_sample_file_symlink(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, outside = _copy(reader_seeds, "nuscenes", tmp_path)
    target = sorted((root / "samples").rglob("*.pcd.bin"))[0]
    shutil.move(target, outside / target.name)
    target.symlink_to(outside / target.name)
    _refused(root, target.name)


def test_nuscenes_sweep_file_symlink(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    """With ``sweeps=True`` the sweeps between the samples are read too: a link out is refused."""
    root, outside = _copy(reader_seeds, "nuscenes-sweeps", tmp_path)
    target = sorted((root / "sweeps").rglob("*.pcd.bin"))[0]
    shutil.move(target, outside / target.name)
    target.symlink_to(outside / target.name)
    with pytest.raises(FusionLabelError, match="outside the dataset root"):
        _read_all(root, sweeps=True)
    _read_all(root, sweeps=True, allow_roots=[str(outside)])


# ---- recordings: the storage files a ROS 2 bag's metadata.yaml names ---------------------------------
class _Opened:
    """Files opened (audit hook) under a folder while the block runs."""

    def __init__(self, folder: Path) -> None:
        import sys

        self.prefix, self.seen, self.on = os.path.realpath(folder), [], False

        def hook(event: str, args: tuple[Any, ...]) -> None:
            if self.on and event in ("open", "sqlite3.connect") and args and isinstance(args[0], str | bytes | Path):
                p = os.path.realpath(os.fsdecode(args[0]))
                if p.startswith(self.prefix):
                    self.seen.append(p)

        sys.addaudithook(hook)

    def __enter__(self) -> _Opened:
        self.on = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.on = False


@pytest.mark.parametrize("kind", ["ros2-mcap", "ros2-sqlite3"])
@pytest.mark.parametrize("ref", ["relative", "absolute", "root"])
def test_ros2_bag_storage_outside_is_refused_before_it_is_opened(reader_seeds: dict[str, Any], tmp_path: Path,
                                                                 kind: str, ref: str) -> None:
    """A storage file named ``../...`` or absolute in metadata.yaml is refused, naming it, before
    the library opens anything (the library itself would look for its base name in the folder)."""
    root, outside = _copy(reader_seeds, kind, tmp_path)
    storage = next(p for p in root.iterdir() if p.suffix in (".mcap", ".db3"))
    shutil.move(storage, outside / storage.name)
    target = {"relative": os.path.relpath(outside / storage.name, root), "absolute": str(outside / storage.name),
              "root": "/etc/hostname"}[ref]
    meta = root / "metadata.yaml"
    meta.write_text(meta.read_text().replace(f" {storage.name}\n", f" '{target}'\n"))
    with _Opened(outside) as opened, pytest.raises(DatasetError, match="outside the dataset root") as ei:
        _read_all(root)
    assert opened.seen == [] and target in str(ei.value)


def test_ros2_bag_metadata_link_is_not_read(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    """Detection does not read a metadata.yaml linked out of the folder; the loader refuses it."""
    root, outside = _copy(reader_seeds, "ros2-mcap", tmp_path)
    shutil.move(root / "metadata.yaml", outside / "metadata.yaml")
    (root / "metadata.yaml").symlink_to(outside / "metadata.yaml")
    with _Opened(outside) as opened, pytest.raises(DatasetError, match="metadata.yaml: resolves to"):
        _read_all(root)
    assert opened.seen == []


# ---- point labels, SemanticKITTI and map files read back ---------------------------------------------
def test_semantickitti_label_link_is_refused(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    from formats.export.semantickitti import read_semantickitti

    root, outside = _copy(reader_seeds, "semantickitti", tmp_path)
    target = sorted(root.rglob("*.label"))[0]
    shutil.move(target, outside / target.name)
    target.symlink_to(os.path.relpath(outside / target.name, target.parent))
    with _Opened(outside) as opened, pytest.raises(FormatError, match="outside the SemanticKITTI folder"):
        read_semantickitti(root)
    assert opened.seen == []


def test_point_label_file_link_is_refused(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    from formats.source import open_source

    root, outside = _copy(reader_seeds, "project", tmp_path)
    target = root / "a.flproj.pointlabels" / "000000.npz"
    shutil.move(target, outside / target.name)
    target.symlink_to(outside / target.name)
    opened = open_source(root / "a.flproj")
    try:
        with _Opened(outside) as seen, pytest.raises(FormatError, match="outside the point-label folder"):
            opened.document.point_labels.get(0)
        assert seen.seen == []
    finally:
        opened.close()


def test_symlink_inside_the_root_is_fine(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, _ = _copy(reader_seeds, "kitti", tmp_path)
    target = root / "velodyne" / "000000.bin"
    shutil.move(target, root / "elsewhere.bin")
    target.symlink_to(root / "elsewhere.bin")
    _read_all(root)


def test_the_dataset_folder_itself_may_be_a_link(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, _ = _copy(reader_seeds, "native", tmp_path)
    link = tmp_path / "link"
    link.symlink_to(root)
    _read_all(link)


# ---- path entries: ../ and absolute -------------------------------------------------------------------
def _edit_json(p: Path, edit: Callable[[Any], None]) -> None:
    d = json.loads(p.read_text())
    edit(d)
    p.write_text(json.dumps(d))


@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("key", ["lidar", "cameras", "lidar_instance"])
def test_native_index_paths(reader_seeds: dict[str, Any], tmp_path: Path, key: str, absolute: bool) -> None:
    root, outside = _copy(reader_seeds, "native", tmp_path)
    index = json.loads((root / "fusionlabel.json").read_text())
    name, rel = next(iter(index["frames"][0][key].items()))
    shutil.copy(root / rel, outside / "x")
    ref = str(outside / "x") if absolute else os.path.relpath(outside / "x", root)
    index["frames"][0][key][name] = ref
    (root / "fusionlabel.json").write_text(json.dumps(index))
    _refused(root, "x")
    _read_all(root, allow_roots=[str(outside)])


@pytest.mark.parametrize("key", ["rig", "ground_truth"])
def test_native_index_rig_and_labels(reader_seeds: dict[str, Any], tmp_path: Path, key: str) -> None:
    root, outside = _copy(reader_seeds, "native", tmp_path)
    index = json.loads((root / "fusionlabel.json").read_text())
    shutil.copy(root / index[key], outside / "y.json")
    index[key] = "../../outside/y.json"
    (root / "fusionlabel.json").write_text(json.dumps(index))
    _refused(root, "y.json")


@pytest.mark.parametrize("absolute", [False, True])
def test_nuscenes_filename(reader_seeds: dict[str, Any], tmp_path: Path, absolute: bool) -> None:
    root, outside = _copy(reader_seeds, "nuscenes", tmp_path)
    p = root / "v1.0-fusionlabel" / "sample_data.json"
    recs = json.loads(p.read_text())
    shutil.copy(root / recs[0]["filename"], outside / Path(recs[0]["filename"]).name)
    moved = outside / Path(recs[0]["filename"]).name
    recs[0]["filename"] = str(moved) if absolute else os.path.relpath(moved, root)
    p.write_text(json.dumps(recs))
    _refused(root, moved.name)
    _read_all(root, allow_roots=[str(outside)])


@pytest.mark.parametrize("absolute", [False, True])
def test_openlabel_uri(reader_seeds: dict[str, Any], tmp_path: Path, absolute: bool) -> None:
    root, outside = _copy(reader_seeds, "openlabel", tmp_path)
    d = json.loads((root / "openlabel.json").read_text())
    streams = next(iter(d["openlabel"]["frames"].values()))["frame_properties"]["streams"]
    st = next(s for s in streams.values() if "uri" in s)
    src = root / st["uri"]
    shutil.copy(src, outside / src.name)
    st["uri"] = str(outside / src.name) if absolute else os.path.relpath(outside / src.name, root)
    (root / "openlabel.json").write_text(json.dumps(d))
    _refused(root, src.name)
    _read_all(root, allow_roots=[str(outside)])


def test_explicit_path_options_are_allowed(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, outside = _copy(reader_seeds, "kitti-tracking", tmp_path)
    shutil.move(root / "label_02" / "0000.txt", outside / "labels.txt")
    loaded = open_dataset(root, label_path=str(outside / "labels.txt"))  # the user named the file
    assert loaded.annotations.num_boxes() > 0


# ---- projects -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["../outside/onto.json", "ABS", "../../../../../../../../etc/hostname"])
def test_project_ontology_outside_is_refused(reader_seeds: dict[str, Any], tmp_path: Path, ref: str) -> None:
    root, outside = _copy(reader_seeds, "project", tmp_path)
    (outside / "onto.json").write_text("{}")
    value = str(outside / "onto.json") if ref == "ABS" else ref
    _edit_json(root / "a.flproj", lambda d: d.__setitem__("ontology", value))
    with pytest.raises(FormatError, match="ontology"):
        load_project(root / "a.flproj")


def test_project_ontology_inside_is_fine(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, outside = _copy(reader_seeds, "project", tmp_path)
    (root / "onto.json").write_text("{}")
    _edit_json(root / "a.flproj", lambda d: d.__setitem__("ontology", "onto.json"))
    assert load_project(root / "a.flproj").ontology == "onto.json"
    (root / "onto.json").unlink()
    (root / "onto.json").symlink_to(outside / "onto.json")  # a link out is refused
    with pytest.raises(FormatError, match="ontology"):
        load_project(root / "a.flproj")


def test_project_sequence_is_confined_to_its_own_root(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, outside = _copy(reader_seeds, "project", tmp_path)
    target = root / "seq" / "rig.json"
    shutil.move(target, outside / "rig.json")
    target.symlink_to(outside / "rig.json")
    proj = load_project(root / "a.flproj")
    with pytest.raises(FusionLabelError, match="outside the dataset root"):
        proj.sequence.open()
    _edit_json(root / "a.flproj", lambda d: d["sequence"].__setitem__("options", {"allow_roots": [str(outside)]}))
    load_project(root / "a.flproj").sequence.open().close()


def test_error_is_a_dataset_error(reader_seeds: dict[str, Any], tmp_path: Path) -> None:
    root, outside = _copy(reader_seeds, "kitti", tmp_path)
    target = root / "velodyne" / "000000.bin"
    shutil.move(target, outside / "v.bin")
    target.symlink_to(outside / "v.bin")
    with pytest.raises(DatasetError):
        _read_all(root)


@pytest.mark.parametrize("fmt", ["native", "openlabel", "packed", "kitti-object"])
def test_project_sequence_path_naming_an_arbitrary_file(reader_seeds: dict[str, Any], tmp_path: Path,
                                                        fmt: str) -> None:
    """A project may point anywhere (projects and data move apart), but at a dataset of its format:
    a file that cannot be one is refused by its name, before anything reads it."""
    root, outside = _copy(reader_seeds, "project", tmp_path)
    (outside / "secret").write_text("not a dataset\n")

    def edit(d: Any) -> None:
        d["sequence"].update(path=str(outside / "secret"), format=fmt)
        d["sequence"].pop("absolute_path", None)

    _edit_json(root / "a.flproj", edit)
    proj = load_project(root / "a.flproj")
    opened: list[str] = []

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and isinstance(args[0], str) and args[0].endswith("secret"):
            opened.append(args[0])

    import sys

    sys.addaudithook(hook)
    with pytest.raises(DatasetError, match="secret"):
        proj.sequence.open()
    assert not opened
