"""MapTR-style vector map annotations: per frame, the map elements in the ego frame inside a
window, each instance resampled to a fixed number of points by arc length.

Layout (JSON, one file per sequence; ``GTs`` as MapTR's evaluation writes its ground truth)::

    {"meta": {"format": "fusionlabel-maptr", "version": 1, "sequence": "<name>",
              "classes": ["divider", "ped_crossing", "boundary"],   # "type" is the index here
              "frame": "ego", "axes": "x forward, y left, z up (m)",
              "patch_size": [30.0, 60.0],             # width (lateral, y) x length (x), metres
              "pc_range": [-30.0, -15.0, -5.0, 30.0, 15.0, 3.0],   # x, y, z min then max
              "fixed_num": 20},
     "GTs": [{"sample_token": "<name>:000000", "frame": 0, "timestamp_ns": 1600000000000000000,
              "T_world_from_ego": [[4 x 4]],
              "vectors": [{"pts": [[x, y], ...] (fixed_num), "pts_z": [z, ...], "pts_num": 20,
                           "cls_name": "divider", "type": 0, "element_id": 3}, ...]}, ...]}

Classes: ``lane_divider`` -> ``divider``, ``ped_crossing`` -> ``ped_crossing``, ``road_boundary``
-> ``boundary``; stop lines and drivable areas have no MapTR class and are left out. A line is
clipped to the window (|x| <= length / 2, |y| <= width / 2 in the ego frame); each piece inside
is one instance. A polygon is clipped to the window and its ring, closed (first point repeated at
the end, as MapTR samples a polygon's exterior), is the instance. MapTR's nuScenes pipeline works
in the LiDAR frame of nuScenes (x right, y forward): there, ``(x, y)`` here is ``(-y, x)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from formats.errors import FormatError
from formats.io import atomic_write_json, read_json_file
from formats.limits import MAX_FRAMES
from fusionlabel.errors import ModelError
from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import (
    arc_length,
    clip_polygon_to_rect,
    clip_polyline_to_rect,
    resample,
    transform_points,
)

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]

MAPTR_FORMAT = "fusionlabel-maptr"
MAPTR_VERSION = 1
MAPTR_CLASSES = ("divider", "ped_crossing", "boundary")
TO_MAPTR = {"lane_divider": "divider", "ped_crossing": "ped_crossing", "road_boundary": "boundary"}
FROM_MAPTR = {v: k for k, v in TO_MAPTR.items()}
DEFAULT_PATCH = (30.0, 60.0)
FIXED_NUM = 20


@dataclass(frozen=True)
class MapVector:
    """One instance in the ego frame: ``pts`` (fixed_num, 3) metres, MapTR class name, the id of
    the map element it came from (None when unknown)."""

    cls_name: str
    pts: F64
    element_id: int | None = None

    @property
    def type(self) -> int:
        return MAPTR_CLASSES.index(self.cls_name)


def frame_vectors(elements: Iterable[MapElement], T_world_from_ego: ArrayLike,
                  patch: tuple[float, float] = DEFAULT_PATCH, fixed_num: int = FIXED_NUM) -> list[MapVector]:
    """The MapTR instances of one frame (see the module doc). ``patch`` = (width, length) in
    metres; ``T_world_from_ego`` (4, 4)."""
    width, length = patch
    rect = (-length / 2.0, length / 2.0, -width / 2.0, width / 2.0)
    T_ego_from_world = np.linalg.inv(np.asarray(T_world_from_ego, dtype=np.float64))
    out: list[MapVector] = []
    for el in sorted(elements, key=lambda e: e.element_id):
        cls = TO_MAPTR.get(el.label)
        if cls is None:
            continue
        v = transform_points(T_ego_from_world, el.vertices)
        if el.closed:
            poly = clip_polygon_to_rect(v, rect)
            pieces = [np.concatenate([poly, poly[:1]])] if len(poly) >= 3 else []
        else:
            pieces = clip_polyline_to_rect(v, rect)
        for piece in pieces:
            if arc_length(piece)[-1] > 1e-6:
                out.append(MapVector(cls, resample(piece, num=fixed_num), el.element_id))
    return out


def maptr_dict(name: str, frames: Sequence[tuple[int, int, F64]], elements: Sequence[MapElement],
               patch: tuple[float, float] = DEFAULT_PATCH, fixed_num: int = FIXED_NUM) -> dict[str, Any]:
    """The JSON-ready file for ``frames`` = [(index, timestamp_ns, T_world_from_ego)]."""
    width, length = patch
    gts = []
    for index, ts, T in frames:
        vecs = frame_vectors(elements, T, patch, fixed_num)
        gts.append({
            "sample_token": f"{name}:{index:06d}", "frame": int(index), "timestamp_ns": int(ts),
            "T_world_from_ego": np.asarray(T, dtype=np.float64).tolist(),
            "vectors": [{"pts": v.pts[:, :2].tolist(), "pts_z": v.pts[:, 2].tolist(), "pts_num": int(len(v.pts)),
                         "cls_name": v.cls_name, "type": v.type, "element_id": v.element_id} for v in vecs],
        })
    meta = {"format": MAPTR_FORMAT, "version": MAPTR_VERSION, "sequence": name, "classes": list(MAPTR_CLASSES),
            "frame": "ego", "axes": "x forward, y left, z up (m)", "patch_size": [width, length],
            "pc_range": [-length / 2.0, -width / 2.0, -5.0, length / 2.0, width / 2.0, 3.0], "fixed_num": fixed_num}
    return {"meta": meta, "GTs": gts}


def write_maptr(path: PathLike, name: str, frames: Sequence[tuple[int, int, F64]], elements: Sequence[MapElement],
                patch: tuple[float, float] = DEFAULT_PATCH, fixed_num: int = FIXED_NUM) -> dict[str, Any]:
    data = maptr_dict(name, frames, elements, patch, fixed_num)
    atomic_write_json(path, data)
    return data


@dataclass
class MapTRSample:
    """One frame read back: index, timestamp, pose and its instances (ego frame)."""

    token: str
    frame: int
    timestamp_ns: int | None
    T_world_from_ego: F64 | None
    vectors: list[MapVector]

    def world_elements(self, first_id: int = 0) -> list[MapElement]:
        """The instances as world-frame map elements (ids from ``first_id``; a closed ring
        becomes a polygon without its repeated point). Needs the frame's pose."""
        if self.T_world_from_ego is None:
            raise FormatError("<maptr>", f"{self.token}: no T_world_from_ego to place its vectors in the world")
        out = []
        for i, v in enumerate(self.vectors):
            pts = transform_points(self.T_world_from_ego, v.pts)
            label = FROM_MAPTR[v.cls_name]
            if label == "ped_crossing" and np.linalg.norm(pts[0] - pts[-1]) < 1e-6:
                pts = pts[:-1]
            try:
                out.append(MapElement(first_id + i, label, pts))
            except ModelError as e:
                raise FormatError("<maptr>", f"{self.token}: vector {i}: {e}") from None
        return out


def read_maptr(path: PathLike) -> tuple[dict[str, Any], list[MapTRSample]]:
    """Read a MapTR-style file (this layout, or MapTR's own ``{"GTs": [...]}`` ground truth whose
    vectors have ``pts`` and ``cls_name``) -> (meta, samples); FormatError names the file."""
    data = read_json_file(path, FormatError, allow_nan=False)
    if not isinstance(data, dict) or not isinstance(data.get("GTs"), list):
        raise FormatError(path, "not a MapTR annotation file: no 'GTs' list")
    meta = data.get("meta", {})
    samples = []
    for i, g in enumerate(data["GTs"]):
        where = f"GTs[{i}]"
        if not isinstance(g, dict) or not isinstance(g.get("vectors"), list):
            raise FormatError(path, f"{where}: expected an object with 'vectors'")
        vecs = []
        for j, v in enumerate(g["vectors"]):
            try:
                pts = np.asarray(v["pts"], dtype=np.float64)
                cls = v["cls_name"]
                if pts.ndim != 2 or pts.shape[1] != 2 or cls not in MAPTR_CLASSES:
                    raise ValueError
                z = np.asarray(v.get("pts_z", np.zeros(len(pts))), dtype=np.float64).reshape(len(pts), 1)
            except (KeyError, TypeError, ValueError):
                raise FormatError(path, f"{where}.vectors[{j}]: needs 'pts' [[x, y], ...] and a 'cls_name' "
                                        f"of {MAPTR_CLASSES}") from None
            vecs.append(MapVector(cls, np.concatenate([pts, z], axis=1), v.get("element_id")))
        T = g.get("T_world_from_ego")
        if T is not None:
            try:
                T = np.asarray(T, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                T = None
            if T is None or T.shape != (4, 4) or not np.isfinite(T).all():
                raise FormatError(path, f"{where}.T_world_from_ego: expected a 4x4 matrix of finite numbers")
        frame, stamp = g.get("frame", i), g.get("timestamp_ns")
        if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame <= MAX_FRAMES:
            raise FormatError(path, f"{where}.frame: expected a frame number in 0..{MAX_FRAMES}, got {frame!r}")
        if stamp is not None and (not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 <= stamp < 2**63):
            raise FormatError(path, f"{where}.timestamp_ns: expected an integer of nanoseconds, got {stamp!r}")
        samples.append(MapTRSample(str(g.get("sample_token", i)), frame, stamp, T, vecs))
    return meta, samples
