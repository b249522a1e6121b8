"""The native layout written by ``fusionlabel synth``, opened through :mod:`formats.native`.

This module only adapts :func:`formats.native.load_sequence` (a :class:`SequenceInfo`) and its
ground truth to a :class:`LoadedSequence`; the layout itself is documented in ``formats.native``.
Sweeps are float32 (N, 4) x y z intensity, i.e. the ``kitti`` ``.bin`` layout.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from formats.datasets.base import LoadedSequence
from formats.datasets.errors import UnknownFormatError
from formats.pointcloud import PointCloud
from formats.sync import report_from_pairs
from fusionlabel.document import AnnotationDocument


def _native() -> Any:
    try:
        return importlib.import_module("formats.native")
    except ImportError:
        return None


def is_native(path: Path) -> bool:
    mod = _native()
    if mod is not None and hasattr(mod, "is_native"):
        return bool(mod.is_native(path))
    return (Path(path) / "fusionlabel.json").is_file() or Path(path).name == "fusionlabel.json"


def load_native(path: Path, **_: Any) -> LoadedSequence:
    """Open a native sequence folder (or its ``fusionlabel.json``)."""
    mod = _native()
    if mod is None or not hasattr(mod, "load_sequence"):
        raise UnknownFormatError(path, "native sequences need formats.native, which this build lacks")
    seq = mod.load_sequence(path)
    tracks = mod.load_ground_truth(seq) if hasattr(mod, "load_ground_truth") else []

    def read(frame: int, name: str) -> PointCloud | None:
        if name not in seq.frames[frame].lidar_files:
            return None
        arr = mod.read_lidar_frame(seq, frame, name)
        # views of the sweep (no copies: a big one is a memory map of the file, formats.native)
        fields = {"intensity": arr[:, 3]} if arr.shape[1] > 3 else {}
        times = mod.read_lidar_time(seq, frame, name) if hasattr(mod, "read_lidar_time") else None
        if times is not None:
            fields["time"] = times  # seconds relative to the frame timestamp (fusionlabel.timing)
        return PointCloud(arr[:, :3], fields, seq.frames[frame].lidar_files[name])

    per_cam = {
        c: {k: f.camera_timestamps_ns.get(c) for k, f in enumerate(seq.frames) if c in f.camera_files}
        for c in seq.rig.camera_names()
    }
    _, report = report_from_pairs([f.timestamp_ns for f in seq.frames], per_cam)
    doc = AnnotationDocument.from_tracks(tracks, len(seq.frames))
    for el in (mod.load_ground_truth_map(seq) if hasattr(mod, "load_ground_truth_map") else []):
        doc._put_map_element(el, replace=False)  # the ground-truth map, like the tracks
    if any(seq.meta.get("lidar_semantic_files") or []):  # per-point ground truth (fusionlabel synth)
        from formats.pointlabels import native_ground_truth

        doc.attach_point_labels(native_ground_truth(seq))
    return LoadedSequence(
        info=seq,
        annotations=doc,
        sync=report,
        lidar_layout="kitti",
        lidar_reader=read,
    )
