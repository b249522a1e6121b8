"""SemanticKITTI writer and reader: per-point labels of one sequence.

Layout (``sequence`` default ``00``)::

    dst/semantic-kitti.yaml                  class config: labels (id -> name), color_map (id -> BGR),
                                             learning_map (id -> id) and the table the ids come from
    dst/fusionlabel-pointclasses.json        our class table (ClassTable.to_dict()) and "inverse": the id ->
                                             class of the classes written, for reading back
    dst/sequences/<NN>/velodyne/<frame:06d>.bin   float32 x y z intensity, the first LiDAR's frame
    dst/sequences/<NN>/labels/<frame:06d>.label   uint32 per point: instance << 16 | semantic id
    dst/sequences/<NN>/poses.txt             T_first_from_lidar per frame, 3x4 row-major (KITTI odometry)
    dst/sequences/<NN>/calib.txt             Tr: identity (the poses are the LiDAR's own)
    dst/sequences/<NN>/times.txt             seconds since the first frame

Every frame of the sequence is written; a ``.label`` file has one entry per point of the written
sweep, in its order. The semantic id is the class's SemanticKITTI id
(:attr:`~fusionlabel.pointlabels.classes.PointClass.kitti`; unlabelled points 0) and the instance our
16-bit instance id (0: none; a track's points carry track id + 1). Frames without point labels are
all 0 (unlabeled). :func:`read_semantickitti_labels` decodes a file back to our labels through the
table: exactly, when the classes used map to distinct ids (the summary warns otherwise, e.g. child
and adult both ``person`` (30)).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from calib.transforms import invert
from formats.datasets.base import LoadedSequence
from formats.errors import FormatError
from formats.export.common import write_bytes
from formats.export.summary import ConvertSummary
from formats.io import outside_roots, read_json_file, staged_output
from fusionlabel.errors import ModelError
from fusionlabel.pointlabels import ClassTable, FrameLabels
from fusionlabel.pointlabels.classes import KITTI_NAMES, UNLABELLED

CLASSES_FILE = "fusionlabel-pointclasses.json"
YAML_FILE = "semantic-kitti.yaml"


def encode_labels(labels: FrameLabels, table: ClassTable) -> np.ndarray:
    """(N,) uint32 SemanticKITTI labels: instance << 16 | SemanticKITTI id."""
    return (labels.instance.astype(np.uint32) << np.uint32(16)) | table.to_kitti(labels.semantic)


def decode_labels(raw: np.ndarray, table: ClassTable, inverse: dict[int, int] | None = None) -> FrameLabels:
    """SemanticKITTI uint32 labels -> our labels: ids through ``inverse`` (id -> our index, e.g. the
    classes an export used), then the table's (ids this table does not write -> unlabelled)."""
    raw = np.asarray(raw, dtype=np.uint32)
    kitti = (raw & np.uint32(0xFFFF)).astype(np.int64)
    lut = np.full(65536, UNLABELLED, dtype=np.uint8)
    for kid, idx in {**table.kitti_inverse(), **(inverse or {})}.items():
        lut[kid] = idx
    lut[0] = UNLABELLED
    return FrameLabels(lut[kitti], (raw >> np.uint32(16)).astype(np.uint16))


def _yaml(table: ClassTable) -> str:
    ids = sorted({0, *(int(c.kitti) for c in table)})
    color: dict[int, tuple[int, int, int]] = {0: (0, 0, 0)}
    for c in table:
        color.setdefault(int(c.kitti), c.color)
    lines = ["# SemanticKITTI class config written by fusionlabel", "labels:"]
    lines += [f"  {i}: \"{KITTI_NAMES.get(i, f'class-{i}')}\"" for i in ids]
    lines.append("color_map: # bgr")
    lines += [f"  {i}: [{color[i][2]}, {color[i][1]}, {color[i][0]}]" for i in ids]
    lines.append("learning_map:")
    lines += [f"  {i}: {i}" for i in ids]
    lines.append("fusionlabel_classes: # our class index -> SemanticKITTI id")
    lines += [f"  {c.index}: {int(c.kitti)} # {c.name}" for c in table]
    return "\n".join(lines) + "\n"


def write_semantickitti(loaded: LoadedSequence, dst: Path, *, progress: Callable[[int, int], None] | None = None,
                        sequence: str = "00", lidar: str | None = None, overwrite: bool = False,
                        **_: Any) -> ConvertSummary:
    """Write ``loaded`` (its first LiDAR, or ``lidar``) and its point labels as SemanticKITTI."""
    if not loaded.lidar_names:
        raise FormatError(loaded.info.root, "the sequence has no LiDAR: SemanticKITTI needs sweeps")
    lidar = lidar or loaded.lidar_names[0]
    labels = loaded.annotations.point_labels
    table = labels.table if labels is not None else ClassTable.default()
    n = len(loaded)
    summary = ConvertSummary(outputs=[str(dst)])
    times = loaded.info.frame_times_ns()
    used: set[int] = set()
    unlabelled_frames = 0
    with staged_output(Path(dst), overwrite) as out:
        seq = out / "sequences" / sequence
        (seq / "velodyne").mkdir(parents=True)
        (seq / "labels").mkdir()
        T0_inv = invert(loaded.T_world_from_sensor(0, lidar)) if n else np.eye(4)
        poses = []
        for k in range(n):
            pc = loaded.read_lidar(k, lidar)
            xyz = np.zeros((0, 3)) if pc is None else np.asarray(pc.xyz)
            arr = np.zeros((len(xyz), 4), dtype=np.float32)
            arr[:, :3] = xyz
            if pc is not None and pc.intensity is not None:
                arr[:, 3] = np.asarray(pc.intensity, dtype=np.float32).reshape(len(xyz))
            write_bytes(seq / "velodyne" / f"{k:06d}.bin", arr.tobytes())
            if labels is not None and labels.has(k):
                lab = labels.get(k, len(xyz))
                used.update(int(s) for s in np.unique(lab.semantic) if s != UNLABELLED)
                raw = encode_labels(lab, table)
            else:
                unlabelled_frames += 1
                raw = np.zeros(len(xyz), dtype=np.uint32)
            write_bytes(seq / "labels" / f"{k:06d}.label", raw.astype("<u4").tobytes())
            poses.append((T0_inv @ loaded.T_world_from_sensor(k, lidar))[:3].reshape(-1))
            summary.frames += 1
            if progress is not None:
                progress(k + 1, n)
        write_bytes(seq / "poses.txt", "".join(" ".join(f"{v:.9e}" for v in p) + "\n" for p in poses).encode())
        write_bytes(seq / "calib.txt", b"Tr: 1 0 0 0 0 1 0 0 0 0 1 0\n")
        write_bytes(seq / "times.txt", "".join(f"{(t - times[0]) * 1e-9:.6e}\n" for t in times).encode())
        write_bytes(out / YAML_FILE, _yaml(table).encode())
        inverse: dict[str, int] = {}
        for i in sorted(used):  # the classes written, so that the ids decode back to them
            inverse.setdefault(str(int(table.kitti_lut[i])), i)
        write_bytes(out / CLASSES_FILE, json.dumps({**table.to_dict(), "inverse": inverse}, indent=1).encode())
    by_id: dict[int, list[str]] = {}
    for i in sorted(used):
        by_id.setdefault(int(table.kitti_lut[i]), []).append(table.name(i))
    for kid, names in by_id.items():
        if len(names) > 1:
            summary.warnings.append(f"classes {', '.join(names)} are all written as SemanticKITTI {kid} "
                                    f"({KITTI_NAMES.get(kid, kid)}): they read back as {names[0]}")
    if labels is None:
        summary.warnings.append("the sequence has no point labels: every point is written unlabeled (0)")
    elif unlabelled_frames:
        summary.warnings.append(f"{unlabelled_frames} of {n} frames have no point labels (written as 0)")
    return summary


def read_semantickitti_labels(path: Path, table: ClassTable, expected: int | None = None,
                              inverse: dict[int, int] | None = None) -> FrameLabels:
    """One ``.label`` file -> our labels (:func:`decode_labels`); FormatError naming it when its
    size is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise FormatError(path, f"cannot read labels: {e}") from None
    if len(raw) % 4:
        raise FormatError(path, f"size {len(raw)} bytes is not a multiple of 4 (uint32 per point)")
    arr = np.frombuffer(raw, dtype="<u4")
    if expected is not None and len(arr) != expected:
        raise FormatError(path, f"expected {expected} labels (points of the sweep), found {len(arr)}")
    return decode_labels(arr, table, inverse)


def read_semantickitti(root: Path, sequence: str = "00") -> tuple[ClassTable, dict[int, FrameLabels]]:
    """The class table and every frame's labels of a sequence written by :func:`write_semantickitti`
    (the table from ``fusionlabel-pointclasses.json``, else the default). Every file read must
    lie in ``root`` (symlinks resolved) and label files are named by frame number; FormatError
    naming the file otherwise."""
    root = Path(root)
    real_root = os.path.realpath(root)

    def inside(p: Path) -> Path:
        real = outside_roots(p, [real_root])
        if real is not None:
            raise FormatError(p, f"resolves to {real}, outside the SemanticKITTI folder {root}; refused")
        return p

    cf = inside(root / CLASSES_FILE)
    data = read_json_file(cf, FormatError) if cf.is_file() else None
    try:
        table = ClassTable.from_dict(data) if isinstance(data, dict) else ClassTable.default()
    except ModelError as e:
        raise FormatError(cf, str(e)) from None
    raw_inv = data.get("inverse", {}) if isinstance(data, dict) else {}
    try:
        inverse = {int(k): int(v) for k, v in raw_inv.items()}
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise FormatError(cf, "inverse: expected {SemanticKITTI id: class index}") from None
    bad = [(k, v) for k, v in inverse.items() if not (0 <= k <= 0xFFFF and 0 <= v <= 255)]
    if bad:
        raise FormatError(cf, f"inverse: SemanticKITTI id {bad[0][0]} -> class {bad[0][1]} out of range "
                              "(ids 0..65535, classes 0..255)")
    seq = root / "sequences" / sequence
    out: dict[int, FrameLabels] = {}
    for p in sorted((seq / "labels").glob("*.label")):
        if not p.stem.isdigit() or len(p.stem) > 9:
            raise FormatError(p, "a label file is named by its frame number (000000.label)")
        velo = inside(seq / "velodyne" / f"{p.stem}.bin")
        n = velo.stat().st_size // 16 if velo.is_file() else None
        out[int(p.stem)] = read_semantickitti_labels(inside(p), table, n, inverse)
    return table, out
