"""Reading a map file of any supported kind into map elements (world frame), for
``fusionlabel import-map`` and Map > Import map file in the window.

Kinds: ``native`` (``{"format": "fusionlabel-map"}``, :mod:`formats.maps.native`), ``av2`` (an
Argoverse 2 ``log_map_archive_*.json``), ``maptr`` (the MapTR-style per-frame vectors of
``export-map``, or MapTR's own ``{"GTs": ...}`` file whose samples carry ``T_world_from_ego``: one
frame's instances, ``frame``, default the first), ``openlabel`` (``poly3d`` map objects). ``auto``
tells them apart by their content. Bad input raises :class:`formats.errors.FormatError` naming
the file.
"""

from __future__ import annotations

import os

from formats.errors import FormatError
from formats.io import read_json_file
from fusionlabel.map.element import MapElement

IMPORT_KINDS = ("auto", "native", "av2", "maptr", "openlabel")

PathLike = str | os.PathLike[str]


def detect_map_kind(path: PathLike) -> str:
    """``native`` / ``av2`` / ``maptr`` / ``openlabel`` from a map file's top-level keys."""
    data = read_json_file(path, FormatError, allow_nan=False)
    if isinstance(data, dict):
        if data.get("format") == "fusionlabel-map":
            return "native"
        if "openlabel" in data:
            return "openlabel"
        if "GTs" in data:
            return "maptr"
        if {"lane_segments", "drivable_areas", "pedestrian_crossings"} & set(data):
            return "av2"
    raise FormatError(path, "not a map file this tool reads (native map, Argoverse 2 map, MapTR vectors or "
                            "OpenLABEL poly3d)")


def read_map_file(path: PathLike, kind: str = "auto", frame: int | None = None) -> list[MapElement]:
    """The map elements of ``path`` (world frame, ids as in the file or 0, 1, ...). ``frame``: the
    MapTR sample (its ``frame`` field) whose instances are read (default: the first sample)."""
    if kind not in IMPORT_KINDS:
        raise ValueError(f"unknown map kind {kind!r} (one of {', '.join(IMPORT_KINDS)})")
    if kind == "auto":
        kind = detect_map_kind(path)
    if kind == "native":
        from formats.maps.native import load_map

        return load_map(path)
    if kind == "av2":
        from formats.maps.av2 import read_av2_map

        return read_av2_map(path)
    if kind == "openlabel":
        from formats.maps.openlabel import read_openlabel_map

        return read_openlabel_map(path)
    from formats.maps.maptr import read_maptr

    _, samples = read_maptr(path)
    if not samples:
        raise FormatError(path, "no samples in 'GTs'")
    if frame is None:
        sample = samples[0]
    else:
        sample = next((s for s in samples if s.frame == frame), None)  # type: ignore[assignment]
        if sample is None:
            raise FormatError(path, f"no sample of frame {frame} (frames {samples[0].frame} - {samples[-1].frame})")
    try:
        return sample.world_elements()
    except FormatError as e:
        raise FormatError(path, e.reason) from None
