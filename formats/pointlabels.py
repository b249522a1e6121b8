"""Point labels on disk: beside a project, from a native sequence's ground truth, and sweeps to label.

Beside a project ``P.flproj`` the labels live in the folder ``P.flproj.pointlabels/``::

    index.json        {"format": "fusionlabel-pointlabels", "version": 1, "sensor": "lidar_top",
                       "frame_count": 200, "classes": {...ClassTable.to_dict()},
                       "frames": {"<frame>": {"file": "000012.npz", "points": N}}}
    000012.npz        numpy compressed: "semantic" (N,) uint8, "instance" (N,) uint16

one file per labelled frame, in the sweep's point order. Frames are read lazily
(:class:`NpzLabelSource`), saved incrementally (only frames edited since the last save, plus those
not yet in this folder) and atomically (each file, then the index last).

A native sequence written by ``fusionlabel synth`` carries exact per-point ground truth
(``lidar_semantic/`` classes, ``lidar_instance/`` track ids); :func:`native_ground_truth` wraps
them as :class:`~fusionlabel.pointlabels.PointLabels` (instance = track id + 1).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from formats.errors import FormatError
from formats.io import NPZ_READ_ERRORS, atomic_write_bytes, atomic_write_json, outside_roots, read_json_file
from fusionlabel.errors import ModelError
from fusionlabel.model import SequenceInfo
from fusionlabel.pointlabels import ClassTable, FrameLabels, PointLabels
from fusionlabel.pointlabels.classes import NO_INSTANCE, UNLABELLED

if TYPE_CHECKING:  # imported where used: tools pulls in scipy.sparse and cKDTree, which opening a scene does not need
    from fusionlabel.pointlabels.tools import Sweeps

FORMAT = "fusionlabel-pointlabels"
VERSION = 1
INDEX = "index.json"
SUFFIX = ".pointlabels"

PathLike = str | os.PathLike[str]


def point_labels_dir(project_path: PathLike) -> Path:
    """The folder of a project's point labels: ``<project file>.pointlabels``."""
    p = Path(project_path)
    return p.with_name(p.name + SUFFIX)


def encode_npz(labels: FrameLabels) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, semantic=labels.semantic, instance=labels.instance)
    return buf.getvalue()


def decode_npz(path: Path, expected: int | None = None) -> FrameLabels:
    """One frame's labels from an npz file; FormatError naming it when it is not one, or when it
    resolves (through links) outside its folder."""
    real = outside_roots(path, [os.path.realpath(path.parent)])
    if real is not None:
        raise FormatError(path, f"resolves to {real}, outside the point-label folder; refused")
    try:
        with np.load(path, allow_pickle=False) as z:
            sem, inst = z["semantic"], z["instance"]
    except NPZ_READ_ERRORS as e:
        raise FormatError(path, f"cannot read point labels: {e}") from None
    if sem.dtype != np.uint8 or inst.dtype != np.uint16 or sem.shape != inst.shape or sem.ndim != 1:
        raise FormatError(path, f"point labels must be (N,) uint8 semantic and uint16 instance, got "
                                f"{sem.dtype}{sem.shape} and {inst.dtype}{inst.shape}")
    if expected is not None and len(sem) != expected:
        raise FormatError(path, f"expected {expected} point labels, found {len(sem)}")
    return FrameLabels(sem, inst)


class NpzLabelSource:
    """The frames stored in a point-label folder (read lazily)."""

    def __init__(self, folder: PathLike) -> None:
        self.folder = Path(folder)
        ip = self.folder / INDEX
        self._check_inside(ip)
        data = read_json_file(ip, FormatError) if ip.is_file() else None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise FormatError(ip, f"not a point-label index (format {FORMAT!r} expected)")
        if data.get("version") != VERSION:
            raise FormatError(ip, f"unsupported version {data.get('version')!r} (known: {VERSION})")
        try:
            self.table = ClassTable.from_dict(data.get("classes", {}))
        except ModelError as e:
            raise FormatError(ip, str(e)) from None
        self.sensor = data.get("sensor")
        self.frame_count = data.get("frame_count")
        frames = data.get("frames")
        if not isinstance(frames, dict):
            raise FormatError(ip, "frames: expected an object frame -> {file, points}")
        self._files: dict[int, tuple[Path, int]] = {}
        for k, v in frames.items():
            if not (isinstance(k, str) and k.isdigit() and isinstance(v, dict) and isinstance(v.get("file"), str)
                    and isinstance(v.get("points"), int)):
                raise FormatError(ip, f"frames.{k}: expected {{'file': name, 'points': N}}")
            name = Path(v["file"]).name  # a bare file name: never outside the folder
            self._files[int(k)] = (self.folder / name, int(v["points"]))

    def frames(self) -> list[int]:
        return sorted(self._files)

    def file(self, frame: int) -> Path:
        return self._files[frame][0]

    def where(self, frame: int) -> str:
        return str(self._files[frame][0])

    def load(self, frame: int) -> FrameLabels:
        path, n = self._files[frame]
        self._check_inside(path)
        return decode_npz(path, n)

    def _check_inside(self, path: Path) -> None:
        """FormatError when ``path`` (symlinks resolved) leaves the label folder: the labels are
        read from the folder beside the project, never from elsewhere."""
        real = outside_roots(path, [os.path.realpath(self.folder)])
        if real is not None:
            raise FormatError(path, f"resolves to {real}, outside the point-label folder {self.folder}; refused")


def load_point_labels(folder: PathLike, point_count: Any = None, max_clean_frames: int = 32) -> PointLabels:
    """The point labels stored in ``folder`` (read lazily)."""
    src = NpzLabelSource(folder)
    return PointLabels(src.table, src.frame_count, sensor=src.sensor, source=src, point_count=point_count,
                       max_clean_frames=max_clean_frames)


def save_point_labels(labels: PointLabels, folder: PathLike) -> Path:
    """Write ``labels`` into ``folder`` (module doc): the frames edited since the last save and
    any not yet stored there; then the index. The labels then read from ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        current: NpzLabelSource | None = NpzLabelSource(folder)
    except FormatError:
        current = None
    stored = set(current.frames()) if current is not None else set()
    source = getattr(labels, "_source", None)
    same = isinstance(source, NpzLabelSource) and source.folder.resolve() == folder.resolve()
    dirty = set(labels.dirty_frames)
    entries: dict[str, dict[str, Any]] = {}
    for f in labels.labelled_frames():
        name = f"{f:06d}.npz"
        if f in dirty or not (same and f in stored):
            lab = labels.get(f)
            atomic_write_bytes(folder / name, encode_npz(lab))
            n = len(lab)
        else:
            assert current is not None
            n = current._files[f][1]
        entries[str(f)] = {"file": name, "points": n}
    atomic_write_json(folder / INDEX, {"format": FORMAT, "version": VERSION, "sensor": labels.sensor,
                                       "frame_count": labels.frame_count, "classes": labels.table.to_dict(),
                                       "frames": entries})
    labels.mark_saved(NpzLabelSource(folder))
    return folder


# ---- native ground truth ---------------------------------------------------------------------------
class NativeGroundTruth:
    """Per-point ground truth of a native sequence: ``lidar_semantic`` classes and
    ``lidar_instance`` track ids of LiDAR ``sensor``."""

    def __init__(self, seq: SequenceInfo, sensor: str) -> None:
        self.seq, self.sensor = seq, sensor
        sem = seq.meta.get("lidar_semantic_files") or []
        self._frames = [k for k, per in enumerate(sem) if isinstance(per, dict) and sensor in per]

    def frames(self) -> list[int]:
        return list(self._frames)

    def where(self, frame: int) -> str:
        files = self.seq.meta.get("lidar_semantic_files") or []
        return str(files[frame][self.sensor]) if frame < len(files) else str(self.seq.meta.get("index_file"))

    def load(self, frame: int) -> FrameLabels:
        from formats.native import read_lidar_instance, read_lidar_semantic

        sem = read_lidar_semantic(self.seq, frame, self.sensor)
        assert sem is not None
        tid = read_lidar_instance(self.seq, frame, self.sensor)
        if tid is None:
            inst = np.full(len(sem), NO_INSTANCE, dtype=np.uint16)
        else:
            if tid.size and tid.max() >= 65535:
                raise FormatError(self.seq.meta.get("index_file"), f"frame {frame}: track id {tid.max()} "
                                  "does not fit a 16-bit instance id")
            inst = np.where(tid >= 0, tid + 1, NO_INSTANCE).astype(np.uint16)
        if len(inst) != len(sem):
            raise FormatError(self.seq.meta.get("index_file"), f"frame {frame}: {len(sem)} point classes for "
                              f"{len(inst)} instance ids")
        return FrameLabels(sem, inst)


def native_ground_truth(seq: SequenceInfo, sensor: str | None = None) -> PointLabels | None:
    """The ground-truth point labels of a native sequence (None when it has none)."""
    sensor = sensor or (seq.lidar_names[0] if seq.lidar_names else None)
    if sensor is None:
        return None
    src = NativeGroundTruth(seq, sensor)
    if not src.frames():
        return None
    classes = (seq.meta.get("meta") or {}).get("point_classes")
    try:
        table = ClassTable.from_dict(classes) if classes else ClassTable.default()
    except ModelError as e:
        raise FormatError(seq.meta.get("index_file"), f"meta.point_classes: {e}") from None
    counts = seq.meta.get("lidar_points") or []

    def point_count(f: int) -> int:
        return int(counts[f][sensor])

    return PointLabels(table, len(seq.frames), sensor=sensor, source=src, point_count=point_count)


# ---- the sweeps of an opened sequence ------------------------------------------------------------
def sweeps_of(loaded: Any, sensor: str | None = None, frames: Iterable[int] | None = None) -> Sweeps:
    """:class:`~fusionlabel.pointlabels.tools.Sweeps` of a ``LoadedSequence``: the world-frame
    points of LiDAR ``sensor`` (default: the first) and its world position per frame."""
    from fusionlabel.pointlabels.tools import Sweeps

    sensor = sensor or loaded.lidar_names[0]
    n = len(loaded)
    origins = np.array([loaded.T_world_from_sensor(k, sensor)[:3, 3] for k in range(n)])

    def points_of(frame: int) -> np.ndarray:
        pc = loaded.read_lidar(frame, sensor)
        if pc is None:
            return np.zeros((0, 3))
        T = loaded.T_world_from_sensor(frame, sensor)
        xyz = np.asarray(pc.xyz, dtype=np.float64)
        return xyz @ T[:3, :3].T + T[:3, 3]

    return Sweeps(points_of, origins)


def ensure_point_labels(loaded: Any, sensor: str | None = None) -> PointLabels:
    """The point labels of ``loaded.annotations``, attaching empty ones (sized from the sweeps)
    when it has none."""
    doc = loaded.annotations
    if doc.point_labels is None:
        sensor = sensor or loaded.lidar_names[0]

        def point_count(f: int) -> int:
            pc = loaded.read_lidar(f, sensor)
            return 0 if pc is None else len(pc)

        doc.attach_point_labels(PointLabels(ClassTable.default(), len(loaded), sensor=sensor, point_count=point_count))
    return doc.point_labels  # type: ignore[no-any-return]


# ---- BEV semantic raster -----------------------------------------------------------------------
def bev_point_semantic(loaded: Any, index: int, grid: Any, T_bev_from_world: np.ndarray) -> np.ndarray | None:
    """(H, W) uint8 BEV raster of frame ``index``: per cell the class with the most labelled points
    of the point-labelled LiDAR (ties: the lower class index), 255 where no labelled point fell;
    None when the sequence has no point labels or no labels for this frame. ``grid`` is a
    ``formats.bev.BEVGrid``; ``T_bev_from_world`` places the frame's BEV grid."""
    labels = loaded.annotations.point_labels
    if labels is None or not labels.has(index):
        return None
    sensor = labels.sensor or loaded.lidar_names[0]
    pc = loaded.read_lidar(index, sensor)
    n = grid.size
    out = np.full((n, n), UNLABELLED, dtype=np.uint8)
    if pc is None or len(pc) == 0:
        return out
    sem = labels.get(index, len(pc)).semantic
    T = T_bev_from_world @ loaded.T_world_from_sensor(index, sensor)
    xy = np.asarray(pc.xyz, dtype=np.float64) @ T[:2, :3].T + T[:2, 3]
    rows, cols, inside = grid.cell_of(xy)
    keep = inside & (sem != UNLABELLED)
    key = (rows[keep] * n + cols[keep]) * 256 + sem[keep]
    uniq, counts = np.unique(key, return_counts=True)
    cell, cls = uniq // 256, uniq % 256
    order = np.lexsort((-cls, counts, cell))  # per cell ascending count; among equals the lower class last
    last = np.r_[cell[order][1:] != cell[order][:-1], True]
    pick = order[last]
    out.reshape(-1)[cell[pick]] = cls[pick].astype(np.uint8)
    return out
