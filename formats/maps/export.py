"""One writer of the map exports for the CLI (``fusionlabel export-map``) and File > Export:
:func:`write_map` writes a document's map elements as MapTR vectors, an Argoverse 2 local map or
OpenLABEL ``poly3d`` (docs/map.md); :func:`write_map_export` is its ``formats.convert`` writer
form (a loaded sequence whose ``annotations`` hold the map)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from formats.errors import FormatError
from formats.export.summary import ConvertSummary

EXPORT_KINDS = ("maptr", "av2", "openlabel")


def write_map(kind: str, dst: Path, info: Any, doc: Any, window: tuple[float, float] = (30.0, 60.0),
              fixed_num: int = 20, log_id: str | None = None) -> tuple[Path, str]:
    """Write ``doc``'s map elements (world frame) as ``kind`` into folder ``dst`` (created);
    ``info`` (SequenceInfo) gives the name and, for MapTR, the frames' ego poses. Returns the file
    written and a one-line summary. FormatError when there is nothing to write or a bad option."""
    from formats.maps.av2 import write_av2_map
    from formats.maps.maptr import write_maptr
    from formats.maps.openlabel import write_openlabel_map

    if kind not in EXPORT_KINDS:
        raise FormatError(f"map export: unknown kind {kind!r} (known: {', '.join(EXPORT_KINDS)})")
    elements = [doc.map_elements[i] for i in sorted(doc.map_elements)]
    if not elements:
        raise FormatError(f"{info.name}: no map elements to export")
    if fixed_num < 2:
        raise FormatError("map export: fixed_num must be at least 2")
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    name = info.name
    if kind == "maptr":
        frames = [(i, f.timestamp_ns, f.T_world_from_ego) for i, f in enumerate(info.frames)]
        out = dst / f"maptr_{name}.json"
        data = write_maptr(out, name, frames, elements, window, fixed_num)
        counts: dict[str, int] = {}
        for g in data["GTs"]:
            for v in g["vectors"]:
                counts[v["cls_name"]] = counts.get(v["cls_name"], 0) + 1
        per = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        return out, f"{out}: {len(frames)} frames, window {window[0]:g} x {window[1]:g} m; instances: {per}"
    if kind == "av2":
        out = write_av2_map(dst, log_id or name, elements)
        d = json.loads(out.read_text())
        return out, (f"{out}: {len(d['lane_segments'])} lane segments, {len(d['drivable_areas'])} drivable areas, "
                     f"{len(d['pedestrian_crossings'])} pedestrian crossings")
    out = dst / f"{name}_map.openlabel.json"
    write_openlabel_map(out, name, elements)
    return out, f"{out}: {len(elements)} map elements as poly3d"


def write_map_export(loaded: Any, dst: Path, progress: Callable[[int, int], None] | None = None,
                     kind: str = "maptr", window: tuple[float, float] = (30.0, 60.0), fixed_num: int = 20,
                     log_id: str | None = None) -> ConvertSummary:
    """The ``formats.convert`` writer form of :func:`write_map` (File > Export > Map as ...):
    the map elements of ``loaded.annotations``; the summary names the file and counts the frames
    (MapTR) and elements."""
    doc = loaded.annotations
    out, text = write_map(kind, Path(dst), loaded.info, doc, window, fixed_num, log_id)
    n = len(loaded.info.frames)
    if progress is not None:
        progress(n, n)
    return ConvertSummary(frames=n if kind == "maptr" else 0, outputs=[str(out)], warnings=[text])
