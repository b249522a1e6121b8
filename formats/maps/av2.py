"""Argoverse 2 local map (``log_map_archive_<log id>.json``), the layout
``av2.map.map_api.ArgoverseStaticMap.from_json`` reads::

    {"pedestrian_crossings": {"<id>": {"id", "edge1": [{"x", "y", "z"} x 2], "edge2": [... x 2]}},
     "lane_segments": {"<id>": {"id", "is_intersection", "lane_type": "VEHICLE",
                                "left_lane_boundary": [{"x", "y", "z"}, ...], "left_lane_mark_type",
                                "right_lane_boundary": [...], "right_lane_mark_type",
                                "successors": [], "predecessors": [],
                                "left_neighbor_id", "right_neighbor_id"}},
     "drivable_areas": {"<id>": {"id", "area_boundary": [{"x", "y", "z"}, ...]}}}

Coordinates are our world frame (Argoverse's city frame of the log), metres.

* **Lane segments** come from pairs of lane dividers: a lane runs along its right boundary (a
  divider, in that divider's direction) where another divider lies to its left 2 - 5 m away and
  no other divider lies between them; the left boundary is that divider's part alongside,
  oriented the same way. Boundaries keep the labelled vertices (the left one gets its two end
  points cut on the labelled line, or its own end within 0.5 m), so they lie on the labelled lines
  exactly. A lane between
  dividers of opposite directions is made only when its left divider is yellow or double (the
  centre line). To turn a lane round, reverse its right divider. Lane type ``VEHICLE``; mark types
  from the dividers' type and colour (``dashed`` + ``white`` -> ``DASHED_WHITE``, ``double_solid``
  + ``yellow`` -> ``DOUBLE_SOLID_YELLOW``, ``solid_dashed`` -> ``SOLID_DASH_*``, ...); lanes that
  share a boundary divider are neighbours. Road boundaries have no Argoverse 2 class.
* **Drivable areas**: the polygons, as they are.
* **Pedestrian crossings**: edge1 / edge2 are two opposite sides (the longer pair) of a 4-vertex
  crossing, so the crossing's polygon is exactly ours; a crossing with more vertices is written as
  its minimum-area bounding rectangle.

:func:`read_av2_map` reads such a file back into map elements: every distinct lane boundary
becomes a lane divider (its type and colour from the mark type), drivable areas and crossings
polygons.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formats.errors import FormatError
from formats.io import atomic_write_json, read_json_file
from fusionlabel.errors import ModelError
from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import arc_length, point_to_polyline_distance

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]

MIN_LANE_WIDTH = 2.0
MAX_LANE_WIDTH = 5.0
MIN_LANE_LENGTH = 2.0
#: A left boundary reaches its divider's end when that end is this close (m, along it) beyond the lane's.
END_SNAP = 0.5

_MARK_PATTERN = {"solid": "SOLID", "dashed": "DASHED", "double_solid": "DOUBLE_SOLID", "double_dashed": "DOUBLE_DASH",
                 "solid_dashed": "SOLID_DASH", "dashed_solid": "DASH_SOLID"}
_PATTERN_TYPE = {v: k for k, v in _MARK_PATTERN.items()}
_SWAP = {"solid_dashed": "dashed_solid", "dashed_solid": "solid_dashed"}


def av2_file_name(log_id: str) -> str:
    return f"log_map_archive_{log_id}.json"


def mark_type(el: MapElement, reversed_: bool = False) -> str:
    """The Argoverse 2 ``LaneMarkType`` of a divider (``reversed_``: it runs against the lane)."""
    kind = el.attributes.get("type", "none")
    if reversed_:
        kind = _SWAP.get(kind, kind)
    color = el.attributes.get("color", "white")
    if kind == "none" or kind not in _MARK_PATTERN:
        return "NONE"
    if color == "blue":
        return "SOLID_BLUE" if kind == "solid" else "UNKNOWN"
    return f"{_MARK_PATTERN[kind]}_{color.upper()}"


def _points(v: F64) -> list[dict[str, float]]:
    return [{"x": float(p[0]), "y": float(p[1]), "z": float(p[2])} for p in v]


def _tangents(v: F64) -> F64:
    t = np.gradient(v[:, :2], axis=0)
    return t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)


def _nearest_on(line: F64, p: F64) -> tuple[float, F64]:
    """Arc length along ``line`` (M, 3) of the point nearest to ``p`` (xy), and that point (3,)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    den = np.maximum((ab[:, :2] ** 2).sum(axis=1), 1e-18)
    t = np.clip(((p[:2] - a[:, :2]) * ab[:, :2]).sum(axis=1) / den, 0.0, 1.0)
    q = a + t[:, None] * ab
    k = int(np.argmin(np.linalg.norm(q[:, :2] - p[:2], axis=1)))
    u = arc_length(line)
    return float(u[k] + t[k] * np.linalg.norm(ab[k])), q[k]


def _sub_line(line: F64, u0: float, u1: float) -> F64:
    """The part of ``line`` between arc lengths u0 < u1, its inner vertices kept, ends cut."""
    u = arc_length(line)
    inner = line[(u > u0 + 1e-6) & (u < u1 - 1e-6)]
    ends = [np.array([np.interp(uu, u, line[:, k]) for k in range(3)]) for uu in (u0, u1)]
    return np.concatenate([ends[0][None], inner, ends[1][None]])


def lane_segments(dividers: Iterable[MapElement]) -> list[dict[str, Any]]:
    """Lane segments (Argoverse 2 dicts without ids' neighbours resolved) from lane dividers (see
    the module doc). Each has the keys of the file plus ``_right`` / ``_left`` element ids."""
    divs = [d for d in dividers if d.label == "lane_divider"]
    lanes: list[dict[str, Any]] = []
    for A in divs:
        va = A.vertices
        ta = _tangents(va)
        best = np.full(len(va), np.inf)
        owner = np.full(len(va), -1)
        for j, B in enumerate(divs):
            if B.element_id == A.element_id:
                continue
            d = point_to_polyline_distance(va[:, :2], B.vertices[:, :2])
            # side: B to the left of A at each vertex (the nearest point of B)
            near = np.array([_nearest_on(B.vertices, p)[1][:2] for p in va]) - va[:, :2]
            left = ta[:, 0] * near[:, 1] - ta[:, 1] * near[:, 0] > 0
            cand = left & (d < best)
            best[cand], owner[cand] = d[cand], j
        ok = (best >= MIN_LANE_WIDTH) & (best <= MAX_LANE_WIDTH)
        i = 0
        while i < len(va):
            if not ok[i]:
                i += 1
                continue
            j_owner = owner[i]
            k = i
            while k + 1 < len(va) and ok[k + 1] and owner[k + 1] == j_owner:
                k += 1
            run = va[i:k + 1]
            i = k + 1
            if len(run) < 2 or arc_length(run)[-1] < MIN_LANE_LENGTH:
                continue
            B = divs[int(j_owner)]
            u0, _ = _nearest_on(B.vertices, run[0])
            u1, _ = _nearest_on(B.vertices, run[-1])
            opposite = u1 < u0
            u0, u1 = min(u0, u1), max(u0, u1)
            total = float(arc_length(B.vertices)[-1])
            # an end of B just beyond the run's (its dividers end at slightly different arc lengths)
            u0 = 0.0 if u0 < END_SNAP else u0
            u1 = total if u1 > total - END_SNAP else u1
            if opposite and not (B.attributes.get("color") == "yellow" or
                                 B.attributes.get("type", "").startswith("double")):
                continue
            left = _sub_line(B.vertices, u0, u1)
            if opposite:
                left = left[::-1]
            if len(left) < 2 or arc_length(left)[-1] < 1e-6:
                continue
            lanes.append({
                "is_intersection": False, "lane_type": "VEHICLE",
                "left_lane_boundary": left, "left_lane_mark_type": mark_type(B, opposite),
                "right_lane_boundary": run, "right_lane_mark_type": mark_type(A),
                "successors": [], "predecessors": [], "_right": A.element_id, "_left": B.element_id,
            })
    return lanes


def _crossing_edges(el: MapElement) -> tuple[F64, F64]:
    v = el.vertices
    if len(v) != 4:
        v = _min_area_rect(v)
    side = np.linalg.norm(np.roll(v, -1, axis=0)[:, :2] - v[:, :2], axis=1)
    if side[0] + side[2] >= side[1] + side[3]:
        return v[[0, 1]], v[[3, 2]]
    return v[[1, 2]], v[[0, 3]]


def _min_area_rect(v: F64) -> F64:
    """The minimum-area rectangle (4, 3) around a polygon's xy (z: the mean height)."""
    xy = v[:, :2]
    best = None
    for a, b in zip(xy, np.roll(xy, -1, axis=0), strict=True):
        e = b - a
        if np.linalg.norm(e) < 1e-9:
            continue
        e = e / np.linalg.norm(e)
        n = np.array([-e[1], e[0]])
        pe, pn = xy @ e, xy @ n
        area = (pe.max() - pe.min()) * (pn.max() - pn.min())
        if best is None or area < best[0]:
            best = (area, e, n, pe.min(), pe.max(), pn.min(), pn.max())
    assert best is not None
    _, e, n, e0, e1, n0, n1 = best
    corners = np.array([e0 * e + n0 * n, e1 * e + n0 * n, e1 * e + n1 * n, e0 * e + n1 * n])
    return np.concatenate([corners, np.full((4, 1), v[:, 2].mean())], axis=1)


def av2_map_dict(elements: Iterable[MapElement]) -> dict[str, Any]:
    """The JSON-ready Argoverse 2 local map of ``elements`` (see the module doc). Ids: drivable
    areas and crossings keep their element ids; lane segments are numbered after the largest."""
    els = sorted(elements, key=lambda e: e.element_id)
    next_id = max((e.element_id for e in els), default=-1) + 1
    lanes = lane_segments(els)
    for n, ln in enumerate(lanes):
        ln["id"] = next_id + n
    for ln in lanes:
        for other in lanes:
            if other is ln:
                continue
            if other["_right"] == ln["_left"]:
                ln["left_neighbor_id"] = other["id"]
            if other["_left"] == ln["_right"]:
                ln["right_neighbor_id"] = other["id"]
    out_lanes = {}
    for ln in lanes:
        d = {k: v for k, v in ln.items() if not k.startswith("_")}
        d["left_lane_boundary"] = _points(ln["left_lane_boundary"])
        d["right_lane_boundary"] = _points(ln["right_lane_boundary"])
        d.setdefault("left_neighbor_id", None)
        d.setdefault("right_neighbor_id", None)
        out_lanes[str(d["id"])] = d
    crossings = {}
    for el in els:
        if el.label == "ped_crossing":
            e1, e2 = _crossing_edges(el)
            crossings[str(el.element_id)] = {"id": el.element_id, "edge1": _points(e1), "edge2": _points(e2)}
    areas = {str(e.element_id): {"id": e.element_id, "area_boundary": _points(e.vertices)}
             for e in els if e.label == "drivable_area"}
    return {"pedestrian_crossings": crossings, "lane_segments": out_lanes, "drivable_areas": areas}


def write_av2_map(folder: PathLike, log_id: str, elements: Iterable[MapElement]) -> Path:
    """Write ``<folder>/log_map_archive_<log_id>.json``; returns its path."""
    if not log_id or "/" in log_id or log_id.startswith("."):
        raise FormatError(folder, f"bad log id {log_id!r}")
    path = Path(folder) / av2_file_name(log_id)
    atomic_write_json(path, av2_map_dict(elements))
    return path


def _xyz(pts: Any, path: PathLike, where: str) -> F64:
    try:
        return np.array([[float(p["x"]), float(p["y"]), float(p["z"])] for p in pts], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise FormatError(path, f"{where}: expected a list of {{'x', 'y', 'z'}} points") from None


def _type_of(mark: str) -> dict[str, str]:
    if not isinstance(mark, str):
        raise TypeError(f"lane mark type {mark!r}: expected a string")
    if mark in ("NONE", "UNKNOWN"):
        return {"type": "none"}
    if mark == "SOLID_BLUE":
        return {"type": "solid", "color": "blue"}
    pattern, _, color = mark.rpartition("_")
    if pattern not in _PATTERN_TYPE or color.lower() not in ("white", "yellow"):
        raise ValueError(mark)
    return {"type": _PATTERN_TYPE[pattern], "color": color.lower()}


def read_av2_map(path: PathLike) -> list[MapElement]:
    """Map elements from an Argoverse 2 local map file: one lane divider per distinct lane boundary
    (boundaries within 1 cm of each other are one), the drivable areas and the crossings (edge1,
    edge2 reversed). FormatError names the file and the entry."""
    data = read_json_file(path, FormatError, allow_nan=False)
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in
                                             ("lane_segments", "drivable_areas", "pedestrian_crossings")):
        raise FormatError(path, "not an Argoverse 2 map: expected objects lane_segments, drivable_areas, "
                                "pedestrian_crossings")
    out: list[MapElement] = []
    lines: list[F64] = []
    try:
        for key, ls in sorted(data.get("lane_segments", {}).items()):
            for side in ("left", "right"):
                v = _xyz(ls[f"{side}_lane_boundary"], path, f"lane_segments.{key}.{side}_lane_boundary")
                if any(len(w) == len(v) and (np.allclose(w, v, atol=0.01) or np.allclose(w, v[::-1], atol=0.01))
                       for w in lines):
                    continue
                lines.append(v)
                out.append(MapElement(len(out), "lane_divider", v, _type_of(ls[f"{side}_lane_mark_type"])))
        for key, da in sorted(data.get("drivable_areas", {}).items()):
            v = _xyz(da["area_boundary"], path, f"drivable_areas.{key}.area_boundary")
            if len(v) > 3 and np.allclose(v[0], v[-1]):
                v = v[:-1]
            out.append(MapElement(len(out), "drivable_area", v))
        for key, pc in sorted(data.get("pedestrian_crossings", {}).items()):
            e1 = _xyz(pc["edge1"], path, f"pedestrian_crossings.{key}.edge1")
            e2 = _xyz(pc["edge2"], path, f"pedestrian_crossings.{key}.edge2")
            out.append(MapElement(len(out), "ped_crossing", np.concatenate([e1, e2[::-1]])))
    except (KeyError, TypeError, ValueError, ModelError) as e:
        raise FormatError(path, f"bad entry: {e}") from None
    return out


