"""The loader options' value checks (options come from the command line, project files and topic
mapping files, so each is checked before a loader sees it). Kept apart from
:mod:`formats.datasets` so that a loader (the recordings' mapping files) can use them without an
import cycle."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from formats.datasets.errors import DatasetError
from formats.limits import MAX_TOLERANCE_MS


def _is_str(v: Any) -> bool:
    return isinstance(v, str | os.PathLike)


def _is_num(v: Any) -> bool:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer beyond the float range
        return False


def _is_topics(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list | tuple) and all(isinstance(x, str) for x in v))


#: The value each loader option must have (options come from the command line and from project
#: files, so they are checked before a loader sees them): a test and what it expects.
OPTION_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "layout": (lambda v: _is_str(v) or (isinstance(v, list | tuple) and all(isinstance(x, str) for x in v)),
               "a layout name or a list of field names"),
    "sequence": (lambda v: _is_str(v) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
                 "a sequence name or number"),
    "label_path": (_is_str, "a file path"),
    "oxts_path": (_is_str, "a file path"),
    "rig": (_is_str, "a file path"),
    "drive": (lambda v: _is_str(v) or (isinstance(v, int) and not isinstance(v, bool)), "a drive name or number"),
    "scene": (_is_str, "a scene name or token"),
    "version": (_is_str, "a table folder name"),
    "split": (_is_str, "a split name"),
    "name": (_is_str, "a name"),
    "timestamp_unit": (lambda v: v in ("ns", "us", "ms", "s"), "one of ns, us, ms, s"),
    "timestamps": (lambda v: v in ("points", "ids"), "'points' or 'ids'"),
    "tolerance_ms": (lambda v: _is_num(v) and 0 <= v <= MAX_TOLERANCE_MS,
                     f"a number of milliseconds in 0..{MAX_TOLERANCE_MS:.0f}"),
    "rate_hz": (lambda v: _is_num(v) and v > 0, "a positive number"),
    "check_files": (lambda v: isinstance(v, bool), "true or false"),
    "lidar": (_is_str, "a LiDAR name"),
    "lidar_topic": (lambda v: _is_topics(v), "a topic or a list of topics"),
    "camera_topics": (lambda v: _is_topics(v), "a topic or a list of topics"),
    "odom_topic": (_is_str, "a topic"),
    "ego_frame": (_is_str, "a tf frame name"),
    "world_frame": (_is_str, "a tf frame name"),
    "mapping": (_is_str, "a file path"),
    "stamps": (lambda v: v in ("header", "log"), "'header' or 'log'"),
    "sweeps": (lambda v: isinstance(v, bool), "true or false"),
    "image_size": (lambda v: isinstance(v, list | tuple) and len(v) == 2 and all(
        isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 100_000 for x in v), "[width, height]"),
}


def check_options(path: Path, options: dict[str, Any]) -> None:
    """DatasetError naming ``path`` and the option when a loader option has a value of the wrong
    kind (a string where a number is due, ...). Unknown options are left to :func:`open_dataset`
    (a warning)."""
    for k, v in options.items():
        rule = OPTION_TYPES.get(k)
        if rule is not None and v is not None and not rule[0](v):
            raise DatasetError(path, f"option {k!r}: expected {rule[1]}, got {v!r}")
