"""Open real datasets as core sequences: one entry point for every layout.

>>> loaded = open_dataset("/data/kitti/object")            # format detected
>>> loaded = open_dataset(path, format="kitti-tracking", sequence="0001", label_path=".../0001.txt")
>>> loaded.info            # fusionlabel.model.SequenceInfo (frames, timestamps, poses, rig)
>>> loaded.annotations     # fusionlabel.document.AnnotationDocument (world-frame tracks)
>>> loaded.read_lidar(0)   # formats.pointcloud.PointCloud in the sensor frame
>>> loaded.read_image(0, "image_2")

Formats (``FORMATS``; ``detect_format`` tries them in this order): ``packed`` (``.h5``),
``rosbag`` (ROS 1/2 bags and MCAP files, :mod:`formats.datasets.rosbag`), ``openlabel`` (an
OpenLABEL 1.0 ``.json`` file, or a folder holding ``openlabel.json`` and no
``fusionlabel.json``), ``native``, ``nuscenes``, ``kitti-raw``, ``kitti-tracking``, ``kitti-object``, ``sustech``,
``kitti-flat``, ``folder``. Each loader's module documents its layout, frames and conventions;
``docs/datasets.md`` has the overview.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formats.datasets.base import FrameData, IgnoreRegion, LoadedSequence, list_files
from formats.datasets.errors import DatasetError, ImageSizeError, TimestampError, UnknownFormatError
from formats.datasets.folder import find_rig, load_folder
from formats.datasets.kitti_object import load_kitti_flat, load_kitti_object
from formats.datasets.kitti_raw import find_drives, load_kitti_raw
from formats.datasets.kitti_tracking import load_kitti_tracking
from formats.datasets.names import ALIASES as NAME_ALIASES
from formats.datasets.names import FORMAT_NAMES, PATH_OPTIONS
from formats.datasets.native import is_native, load_native
from formats.datasets.nuscenes import find_versions, load_nuscenes
from formats.datasets.options import check_options
from formats.datasets.sustech import is_sustech, load_sustech
from formats.io import confined_to, outside_roots
from formats.pointcloud import SUFFIXES as CLOUD_SUFFIXES
from fusionlabel.errors import ModelError

__all__ = [
    "FORMATS",
    "DatasetError",
    "FrameData",
    "IgnoreRegion",
    "ImageSizeError",
    "LoadedSequence",
    "TimestampError",
    "UnknownFormatError",
    "check_files_inside",
    "dataset_root",
    "describe",
    "detect_format",
    "format_names",
    "open_dataset",
    "reopen_format",
]


def _load_packed(path: Path, **options: Any) -> LoadedSequence:
    from formats.packed import load_packed

    return load_packed(path, **options)


def _is_packed(path: Path) -> bool:
    if not path.is_file():  # (a packed sequence is a file: folders need not import h5py)
        return False
    from formats.packed import is_packed

    return is_packed(path)


def _load_openlabel(path: Path) -> LoadedSequence:
    from formats.datasets.openlabel import load_openlabel

    return load_openlabel(path)


_OPENLABEL_HEAD = re.compile(rb'^\s*\{\s*"openlabel"\s*:')


def _load_recording(path: Path, **options: Any) -> LoadedSequence:
    from formats.datasets.rosbag import load_recording

    return load_recording(path, **options)


def _is_recording(path: Path) -> bool:
    if path.is_dir() and not (path / "metadata.yaml").is_file():  # (no ROS 2 bag folder: the reader's import spared)
        return False
    from formats.datasets.rosbag import is_recording

    return is_recording(path)


def _is_openlabel(path: Path) -> bool:
    """An OpenLABEL JSON file (``.json`` whose first key is ``"openlabel"``; only the first 4 KB
    are read), or a folder holding one named ``openlabel.json`` (and no native ``fusionlabel.json``:
    a native sequence folder stays native)."""
    if path.is_dir():
        if (path / "fusionlabel.json").is_file():
            return False
        inner = path / "openlabel.json"
        if inner.is_file() and outside_roots(inner, [os.path.realpath(path)]) is not None:
            return True  # a link out of the folder: not read here; the loader refuses it, naming it
        path = inner
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return _OPENLABEL_HEAD.match(head) is not None


def _split_dir(path: Path) -> Path | None:
    if (path / "calib").is_dir():
        return path
    for s in ("training", "testing"):
        if (path / s / "calib").is_dir():
            return path / s
    return None


def _is_kitti_tracking(path: Path) -> bool:
    d = _split_dir(path)
    if d is None or not list_files(d / "calib", (".txt",)):
        return False
    subdirs = [d / x for x in ("velodyne", "image_02", "image_03")]
    has_seq_dirs = any(s.is_dir() and any(p.is_dir() for p in s.iterdir()) for s in subdirs)
    return has_seq_dirs or (d / "label_02").is_dir() or (d / "oxts").is_dir()


def _is_kitti_object(path: Path) -> bool:
    d = _split_dir(path)
    return d is not None and any((d / x).is_dir() for x in ("velodyne", "image_2", "label_2"))


def _is_kitti_raw(path: Path) -> bool:
    return bool(find_drives(path)) and (
        (path / "calib_cam_to_cam.txt").is_file() or (path.parent / "calib_cam_to_cam.txt").is_file()
        or any((d.parent / "calib_cam_to_cam.txt").is_file() for d in find_drives(path))
    )


def _is_nuscenes(path: Path) -> bool:
    return bool(find_versions(path)) or ((path / "sample.json").is_file() and (path / "scene.json").is_file())


def _is_kitti_flat(path: Path) -> bool:
    if not path.is_dir():
        return False
    txt = list_files(path, (".txt",))
    data = set(list_files(path, (".bin", ".png", ".jpg")))
    real_root = os.path.realpath(path)
    for stem, p in txt.items():
        if stem in data and outside_roots(p, [real_root]) is None:  # links out are not read here
            try:
                head = p.read_text(encoding="utf-8", errors="replace")[:4096]
            except OSError:
                continue
            if "P2" in head and "Tr_velo" in head:
                return True
    return False


def _is_folder(path: Path) -> bool:
    if not path.is_dir():
        return False
    if find_rig(path) is not None:
        return True
    suffixes = (".pcd.bin", *CLOUD_SUFFIXES)
    return bool(list_files(path, suffixes)) or bool(list_files(path / "lidar", suffixes))


@dataclass(frozen=True)
class DatasetFormat:
    """A layout: its ``name``, how it is recognised, how it is opened, and what it expects."""

    name: str
    detect: Callable[[Path], bool]
    load: Callable[..., LoadedSequence]
    expects: str


#: The layouts in detection order (the first match wins).
FORMATS: dict[str, DatasetFormat] = {
    f.name: f
    for f in (
        DatasetFormat("packed", _is_packed, _load_packed, "a .h5/.hdf5 file written by formats.packed.pack"),
        DatasetFormat("rosbag", _is_recording, _load_recording,
                      "a ROS 1 .bag, a ROS 2 bag folder (metadata.yaml; sqlite3 or MCAP), or an .mcap/.db3 file"),
        DatasetFormat("openlabel", _is_openlabel, _load_openlabel,
                      "an OpenLABEL 1.0 .json file (first key \"openlabel\"), or a folder with openlabel.json"),
        DatasetFormat("native", is_native, load_native, "a folder with fusionlabel.json (fusionlabel synth)"),
        DatasetFormat("nuscenes", _is_nuscenes, load_nuscenes, "<root>/<version>/{scene,sample,...}.json"),
        DatasetFormat("kitti-raw", _is_kitti_raw, load_kitti_raw,
                      "<date>/calib_*.txt + <date>_drive_NNNN_sync/{velodyne_points,image_0X,oxts}/"),
        DatasetFormat("kitti-tracking", _is_kitti_tracking, load_kitti_tracking,
                      "calib/<seq>.txt + velodyne/<seq>/, image_02/<seq>/, label_02/<seq>.txt"),
        DatasetFormat("kitti-object", _is_kitti_object, load_kitti_object,
                      "[training/]{calib,velodyne,image_2,label_2}/<id>.*"),
        DatasetFormat("sustech", is_sustech, load_sustech, "lidar/*.pcd + label/ or calib/camera/ (SUSTechPOINTS)"),
        DatasetFormat("kitti-flat", _is_kitti_flat, load_kitti_flat,
                      "<id>.bin, <id>.png, <id>.txt (KITTI calib), <id>_gt.txt in one folder"),
        DatasetFormat("folder", _is_folder, load_folder,
                      "point-cloud files (in lidar/ or per-LiDAR folders), camera folders, rig.json"),
    )
}

ALIASES = dict(NAME_ALIASES)
if tuple(FORMATS) != FORMAT_NAMES:  # pragma: no cover - a programming error caught at import
    raise RuntimeError("formats.datasets.names.FORMAT_NAMES is out of step with FORMATS")


def format_names() -> list[str]:
    """The names ``--format`` accepts (aliases not included)."""
    return list(FORMATS)


def _canonical(fmt: str, path: Path) -> str:
    name = ALIASES.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise UnknownFormatError(path, f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    return name


def detect_format(path: str | os.PathLike[str]) -> str:
    """The name of the first layout of ``FORMATS`` that ``path`` matches. UnknownFormatError
    (naming the path and what each layout expects) when none does."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(p, "no such file or folder")
    for f in FORMATS.values():
        if f.detect(p):
            return f.name
    lines = "\n".join(f"  {f.name}: {f.expects}" for f in FORMATS.values())
    raise UnknownFormatError(p, f"not a recognised dataset layout; expected one of:\n{lines}")


def dataset_root(path: str | os.PathLike[str], format: str | None = None) -> Path:
    """The folder every file of the dataset at ``path`` must lie in: the folder itself, the folder
    of a file (``.h5``, OpenLABEL ``.json``, ``fusionlabel.json``), the data root of a nuScenes
    table folder, the date folder of a KITTI raw drive whose calibration lies there."""
    p = Path(path)
    if not p.is_dir():
        return p.parent
    if (p / "sample.json").is_file() and (p / "scene.json").is_file():
        return p.parent
    if format in (None, "kitti-raw") and find_drives(p) == [p] and (p.parent / "calib_cam_to_cam.txt").is_file():
        return p.parent
    return p


def _allowed_roots(path: Path, fmt: str, allow_roots: Any, options: dict[str, Any]) -> list[str]:
    """The dataset root, the extra roots the user named, and the files named by path options."""
    if allow_roots is None:
        extra: list[Any] = []
    elif isinstance(allow_roots, str | os.PathLike):
        extra = [allow_roots]
    elif isinstance(allow_roots, list | tuple) and all(isinstance(r, str | os.PathLike) for r in allow_roots):
        extra = list(allow_roots)
    else:
        raise DatasetError(path, f"allow_roots: expected a list of folders, got {allow_roots!r}")
    named = [v for k in PATH_OPTIONS if isinstance(v := options.get(k), str | os.PathLike)]
    if path.is_file():  # the file the user opened (an .h5, an OpenLABEL .json) may itself be a link
        named.append(path)
    return [os.fspath(dataset_root(path, fmt)), *map(os.fspath, extra), *map(os.fspath, named)]


#: Loader options that name files: the user chose them, so they may lie outside the dataset root.


def check_files_inside(loaded: LoadedSequence, roots: tuple[str, ...]) -> None:
    """DatasetError naming the first sensor file of ``loaded`` (frames' LiDAR, camera, instance and
    mask files) whose real path lies outside ``roots``. A packed sequence reads everything from
    its container (the file names it records are those of its source): nothing to check."""
    info = loaded.info
    if "packed_from" in info.meta:
        return
    src = info.meta.get("index_file") or info.root or "dataset"
    extra = [info.meta.get(k) or [] for k in ("lidar_instance_files", "lidar_semantic_files", "camera_mask_files")]
    folders: dict[str, str] = {}  # (the real path of each folder, resolved once)
    for k, fr in enumerate(info.frames):
        files = [*fr.lidar_files.values(), *fr.camera_files.values()]
        for per_frame in extra:
            if isinstance(per_frame, list) and k < len(per_frame) and isinstance(per_frame[k], dict):
                files += list(per_frame[k].values())
        for f in files:
            real = outside_roots(f, roots, folders)
            if real is not None:
                raise DatasetError(
                    src,
                    f"frame {k}: file {f} resolves to {real}, outside the dataset root {roots[0]}; refused (name "
                    "extra roots explicitly to allow it: --allow-root)",
                )


def open_dataset(
    path: str | os.PathLike[str],
    format: str | None = None,
    estimate_poses: bool = False,
    allow_roots: Any = None,
    **options: Any,
) -> LoadedSequence:
    """Open ``path`` as ``format`` (detected when None). Options go to the layout's loader (see
    its module: ``sequence``, ``label_path``, ``scene``, ``layout``, ``tolerance_ms``, ...);
    options that layout does not take are ignored with a warning in ``warnings``.
    ``estimate_poses``: for data without ego poses, estimate them by registering the LiDAR sweeps
    (:mod:`formats.datasets.egoposes`).

    Every file the dataset refers to must resolve (symlinks resolved) inside its root
    (:func:`dataset_root`), the folders named in ``allow_roots`` or the files named by the path
    options (``label_path``, ``oxts_path``, ``rig``); anything else is refused with a
    DatasetError naming the reference."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(p, "no such file or folder")
    if format is not None and not isinstance(format, str):
        raise DatasetError(p, f"format: expected a format name, got {format!r}")
    if not isinstance(estimate_poses, bool):
        raise DatasetError(p, f"option 'estimate_poses': expected true or false, got {estimate_poses!r}")
    name = detect_format(p) if format is None else _canonical(format, p)
    _check_entry(p, name)
    with confined_to(_allowed_roots(p, name, allow_roots, options)) as roots:
        loaded = _open(p, name, options)
        check_files_inside(loaded, roots)
    loaded.allowed_roots = roots
    if estimate_poses:
        from formats.datasets.egoposes import with_estimated_poses

        with_estimated_poses(loaded)
    try:  # interpolate the loaded tracks in time, not in frame counts
        loaded.annotations.set_frame_times(loaded.info.frame_times_ns())
    except ModelError as e:
        loaded.warnings.append(f"frame times not used for interpolation: {e}")
    return loaded


#: The layouts that open a file (the others open a folder), and the names their files have.
FILE_ENTRIES: dict[str, tuple[Callable[[Path], bool], str]] = {
    "native": (lambda p: p.name == "fusionlabel.json", "a file named fusionlabel.json"),
    "openlabel": (lambda p: p.suffix.lower() == ".json", "a .json file"),
    "packed": (lambda p: p.suffix.lower() in (".h5", ".hdf5"), "a .h5 / .hdf5 file"),
    "rosbag": (lambda p: p.suffix.lower() in (".bag", ".mcap", ".db3"), "a .bag / .mcap / .db3 file"),
}


def _check_entry(p: Path, name: str) -> None:
    """DatasetError when ``p`` is a file that layout ``name`` cannot be (checked by name, before
    anything is read: a project's sequence path cannot make a reader parse an arbitrary file)."""
    if p.is_dir():
        return
    rule = FILE_ENTRIES.get(name)
    if rule is None:
        raise DatasetError(p, f"is a file; format {name!r} opens a folder")
    if not rule[0](p):
        raise DatasetError(p, f"is not {rule[1]}, as format {name!r} needs")


def _open(p: Path, name: str, options: dict[str, Any]) -> LoadedSequence:
    check_options(p, options)
    loader = FORMATS[name].load
    params = inspect.signature(loader).parameters
    named = {k for k, v in params.items() if v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)}
    if name == "packed":
        from formats.packed import load_packed

        named = set(inspect.signature(load_packed).parameters) - {"_"}
    elif name == "rosbag":
        from formats.datasets.rosbag import load_recording

        named = set(inspect.signature(load_recording).parameters)
    unused = sorted(k for k, v in options.items() if k not in named and v is not None)
    loaded = loader(p, **{k: v for k, v in options.items() if k in named})
    for k in unused:
        loaded.warnings.append(f"option {k!r} is not used by format {name!r}")
    return loaded


def reopen_format(loaded: LoadedSequence) -> str:
    """The format that reopens ``loaded`` from its path, as a project records it: ``"packed"`` for
    a packed copy (its ``info.format`` is its source's layout, kept for the writers), else
    ``info.format``."""
    return "packed" if "packed_from" in loaded.info.meta else loaded.info.format


def describe(loaded: LoadedSequence, count_points: bool = True) -> dict[str, Any]:
    """Facts about an opened sequence as a JSON-ready dict (for ``fusionlabel info``): format,
    name, frames, duration, sensors, image sizes, points per sweep (reads every sweep when
    ``count_points``), tracks, labels, boxes over all frames, ignore regions, sync statistics."""
    info = loaded.info
    n = len(info.frames)
    counts = []
    if count_points:
        for k in range(n):
            for name in info.frames[k].lidar_files:
                pc = loaded.read_lidar(k, name)
                if pc is not None:
                    counts.append(len(pc))
    labels: dict[str, int] = {}
    boxes = 0
    for tr in loaded.annotations.tracks.values():
        labels[tr.label] = labels.get(tr.label, 0) + 1
        boxes += sum(1 for f in tr.frames() if 0 <= f < n and tr.box_at(f) is not None)
    ts = [f.timestamp_ns for f in info.frames]
    images = {}
    for c in info.rig.camera_names():
        cam = info.rig.camera(c)
        images[c] = {"width": cam.width, "height": cam.height, "model": cam.model}
    return {
        "format": reopen_format(loaded),
        "source_format": info.format,
        "name": info.name,
        "path": (str(info.meta["recording"]["path"]) if isinstance(info.meta.get("recording"), dict)
                 else str(info.root) if info.root is not None else None),
        "frames": n,
        "duration_s": (ts[-1] - ts[0]) * 1e-9 if n else 0.0,
        "lidars": list(info.rig.lidar_names()),
        "cameras": list(info.rig.camera_names()),
        "images": images,
        "points": {"min": min(counts), "max": max(counts)} if counts else {"min": 0, "max": 0},
        "tracks": len(loaded.annotations),
        "labels": dict(sorted(labels.items())),
        "boxes": boxes,
        "ignore_regions": len(loaded.ignore_regions),
        "sync": loaded.sync.to_dict()["cameras"],
        "warnings": list(loaded.warnings),
        **({"recording": info.meta["recording"]} if isinstance(info.meta.get("recording"), dict) else {}),
    }


# ---- command-line wiring moved to formats.openargs (the readers take no argparse) ---------------
def __getattr__(name: str) -> Any:
    """``add_open_arguments`` / ``open_options`` for modules that still import them from here
    (the window's entry point); new code imports them from :mod:`formats.openargs`."""
    if name in ("add_open_arguments", "open_options"):
        from formats import openargs

        return getattr(openargs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
