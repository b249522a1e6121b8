"""The native map file: map elements in the world frame (``labels/map.json`` of a native sequence,
beside the ground-truth tracks)::

    {"format": "fusionlabel-map", "version": 1, "frame": "world",
     "elements": [{"id", "label", "attributes", "vertices": [[x, y, z], ...]}, ...]}

Elements are :meth:`fusionlabel.map.element.MapElement.to_dict` entries (metres). Bad input raises
:class:`formats.errors.FormatError` naming the file and the element.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from formats.errors import FormatError
from formats.io import atomic_write_json, read_json_file
from fusionlabel.errors import ModelError
from fusionlabel.map.element import MapElement, element_from_dict

MAP_FORMAT = "fusionlabel-map"
MAP_VERSION = 1

PathLike = str | os.PathLike[str]


def map_to_dict(elements: Iterable[MapElement]) -> dict[str, Any]:
    els = sorted(elements, key=lambda e: e.element_id)
    return {"format": MAP_FORMAT, "version": MAP_VERSION, "frame": "world", "elements": [e.to_dict() for e in els]}


def map_from_dict(data: Any, path: PathLike = "<map>") -> list[MapElement]:
    """Parse :func:`map_to_dict` data; FormatError naming ``path`` and the element."""
    if not isinstance(data, dict) or data.get("format") != MAP_FORMAT:
        raise FormatError(path, f"not a {MAP_FORMAT} file")
    if data.get("version") != MAP_VERSION:
        raise FormatError(path, f"unsupported map version {data.get('version')!r} (known: {MAP_VERSION})")
    if data.get("frame", "world") != "world":
        raise FormatError(path, f"map elements must be in the world frame, got {data.get('frame')!r}")
    raw = data.get("elements")
    if not isinstance(raw, list):
        raise FormatError(path, "'elements' must be a list")
    out: list[MapElement] = []
    seen: set[int] = set()
    for i, ed in enumerate(raw):
        try:
            el = element_from_dict(ed, f"elements[{i}]")
        except ModelError as e:
            raise FormatError(path, str(e)) from None
        if el.element_id in seen:
            raise FormatError(path, f"elements[{i}]: duplicate id {el.element_id}")
        seen.add(el.element_id)
        out.append(el)
    return out


def save_map(path: PathLike, elements: Iterable[MapElement]) -> None:
    """Write the map file atomically."""
    atomic_write_json(path, map_to_dict(elements))


def load_map(path: PathLike) -> list[MapElement]:
    return map_from_dict(read_json_file(path, FormatError, allow_nan=False), path)
