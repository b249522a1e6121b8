"""Command-line wiring of the one opener (``formats.source.open_source``): the ``--format`` and
reader options of every sub-command that opens a source, and their parsed values. The readers
(``formats.datasets``) take plain keyword options and never see argparse; this module reads only
the layouts' names (``formats.datasets.names``), not the readers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from formats.datasets.names import ALIASES, FORMAT_NAMES, PATH_OPTIONS

#: ``--frame-mismatch`` choices: the frame-count rule of ``formats.source`` (FRAME_MISMATCH).
FRAME_MISMATCH_CHOICES = ("error", "sequence")


def add_open_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--format``, the reader options and ``--frame-mismatch`` to a sub-command's parser
    (read back with :func:`open_options`, :func:`open_format` and :func:`frame_mismatch`)."""
    g = parser.add_argument_group("dataset options")
    g.add_argument("--format", dest="dataset_format", choices=sorted([*FORMAT_NAMES, *ALIASES]), default=None,
                   help="dataset layout (default: detected)")
    g.add_argument("--layout", default=None,
                   help=".bin point layout: kitti, nuscenes, or comma-separated field names (x,y,z,...)")
    g.add_argument("--sequence", default=None, help="KITTI tracking sequence (e.g. 0001)")
    g.add_argument("--label-path", type=Path, default=None, help="KITTI tracking label file")
    g.add_argument("--oxts-path", type=Path, default=None, help="KITTI tracking OXTS file")
    g.add_argument("--drive", default=None, help="KITTI raw drive (name or number)")
    g.add_argument("--scene", default=None, help="nuScenes scene name or token")
    g.add_argument("--sweeps", action="store_true",
                   help="nuScenes: every LiDAR sweep is a frame (20 Hz), annotated samples are keyframes")
    g.add_argument("--tables", dest="nusc_version", default=None, help="nuScenes table version folder")
    g.add_argument("--rig", type=Path, default=None, help="rig JSON for a plain folder")
    g.add_argument("--timestamp-unit", choices=["ns", "us", "ms", "s"], default=None,
                   help="unit of integer timestamps in file names / timestamps.txt")
    g.add_argument("--tolerance-ms", type=float, default=None, help="camera-LiDAR sync tolerance in ms")
    g.add_argument("--lidar-topic", default=None,
                   help="recording: PointCloud2 topic(s), comma-separated; the first drives the frames")
    g.add_argument("--camera-topics", default=None, help="recording: Image/CompressedImage topics, comma-separated")
    g.add_argument("--odom-topic", default=None, help="recording: nav_msgs/Odometry topic for the ego poses")
    g.add_argument("--ego-frame", default=None, help="recording: tf frame of the vehicle (default base_link)")
    g.add_argument("--world-frame", default=None, help="recording: tf frame of the world (default map/odom)")
    g.add_argument("--topic-map", dest="mapping", type=Path, default=None,
                   help="recording: YAML/JSON file with the topic choices (keys as the options above)")
    g.add_argument("--stamps", choices=["header", "log"], default=None,
                   help="recording: sensor times from header stamps (default) or the bag's log times")
    g.add_argument("--estimate-poses", action="store_true",
                   help="data without ego poses: estimate them by registering the LiDAR sweeps")
    g.add_argument("--allow-root", dest="allow_roots", action="append", type=Path, default=None, metavar="DIR",
                   help="also read files of the dataset that resolve into DIR (repeatable); by default every "
                        "file must lie inside the dataset's own folder, symlinks resolved")
    g.add_argument("--frame-mismatch", choices=FRAME_MISMATCH_CHOICES, default="error",
                   help="a project whose frame count differs from its sequence's: refuse it (error, the "
                        "default) or use the sequence's frame count (sequence)")


def open_format(args: argparse.Namespace) -> str | None:
    """The ``--format`` given (None: detect)."""
    v = getattr(args, "dataset_format", None)
    return v if isinstance(v, str) else None


def frame_mismatch(args: argparse.Namespace) -> str:
    """The frame-count rule chosen with ``--frame-mismatch`` (default ``"error"``)."""
    v = getattr(args, "frame_mismatch", None)
    return v if v in FRAME_MISMATCH_CHOICES else "error"


def open_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reader options parsed by :func:`add_open_arguments` that were given, JSON-ready (paths
    absolute strings, ``layout`` a string or a list, ``estimate_poses`` only when set): what
    ``formats.datasets.open_dataset`` takes as keywords, and what a project records to reopen
    its sequence the same way (``--format`` and ``--frame-mismatch`` are not reader options)."""
    layout = getattr(args, "layout", None)
    if isinstance(layout, str) and "," in layout:
        layout = [x.strip() for x in layout.split(",")]
    elif isinstance(layout, tuple):
        layout = list(layout)
    options: dict[str, Any] = {
        "layout": layout,
        "sequence": getattr(args, "sequence", None),
        "label_path": getattr(args, "label_path", None),
        "oxts_path": getattr(args, "oxts_path", None),
        "drive": getattr(args, "drive", None),
        "scene": getattr(args, "scene", None),
        "version": getattr(args, "nusc_version", None),
        "rig": getattr(args, "rig", None),
        "timestamp_unit": getattr(args, "timestamp_unit", None),
        "tolerance_ms": getattr(args, "tolerance_ms", None),
        "lidar_topic": _topic_list(getattr(args, "lidar_topic", None)),
        "camera_topics": _topic_list(getattr(args, "camera_topics", None)),
        "odom_topic": getattr(args, "odom_topic", None),
        "ego_frame": getattr(args, "ego_frame", None),
        "world_frame": getattr(args, "world_frame", None),
        "mapping": getattr(args, "mapping", None),
        "stamps": getattr(args, "stamps", None),
        "sweeps": True if getattr(args, "sweeps", False) else None,
        "estimate_poses": True if getattr(args, "estimate_poses", False) else None,
        "allow_roots": [os.path.abspath(r) for r in getattr(args, "allow_roots", None) or []] or None,
    }
    for k in PATH_OPTIONS:
        if options[k] is not None:
            options[k] = os.path.abspath(options[k])
    return {k: v for k, v in options.items() if v is not None}


def _topic_list(v: Any) -> list[str] | None:
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()] or None
    return v
