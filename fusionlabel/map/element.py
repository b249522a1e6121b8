"""Map elements: the static world drawn once in the world frame (lane lines, road boundaries, stop
lines, pedestrian crossings, drivable area).

A :class:`MapElement` is a polyline (``closed`` False) or a polygon (``closed`` True, stored
without repeating the first vertex) of 3D vertices ``(N, 3)`` float64 in the **world** frame
(metres), with an integer id unique among the map elements of a document, a class (``label``, one
of :data:`MAP_CLASSES`) and string attributes checked against that class (a lane divider's ``type``
and ``color``). Elements are immutable values: an edit builds a new element
(:meth:`MapElement.replace`) and a command (:mod:`fusionlabel.map.commands`) swaps it in.

``to_dict`` / :func:`element_from_dict` give the JSON-ready layout stored under the document's
optional ``"map"`` key: ``{"id", "label", "attributes", "vertices": [[x, y, z], ...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.errors import ModelError

F64 = NDArray[np.float64]

#: Lane-marking types of a lane divider (the first named line is the left one in the element's
#: direction, as in Argoverse 2's ``SOLID_DASH`` = solid left, dashed right).
MARK_TYPES = ("solid", "dashed", "double_solid", "double_dashed", "solid_dashed", "dashed_solid", "none")
MARK_COLORS = ("white", "yellow", "blue")


@dataclass(frozen=True)
class MapClass:
    """A map class: ``name``, whether its elements are polygons (``closed``), the allowed values
    of each attribute and the default of each (filled in when an element omits it), an RGB
    display colour, and the smallest vertex count."""

    name: str
    closed: bool
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    color: tuple[int, int, int] = (255, 255, 255)

    @property
    def min_vertices(self) -> int:
        return 3 if self.closed else 2


MAP_CLASSES: dict[str, MapClass] = {
    c.name: c
    for c in (
        MapClass("lane_divider", False, {"type": MARK_TYPES, "color": MARK_COLORS},
                 {"type": "solid", "color": "white"}, (255, 130, 210)),
        MapClass("road_boundary", False, {"kind": ("curb", "edge", "barrier")}, {"kind": "curb"}, (255, 60, 60)),
        MapClass("stop_line", False, {}, {}, (255, 255, 0)),
        MapClass("ped_crossing", True, {}, {}, (60, 160, 255)),
        MapClass("drivable_area", True, {}, {}, (80, 200, 120)),
    )
}


def map_class(label: str) -> MapClass:
    """The :class:`MapClass` named ``label``; ModelError listing the known ones otherwise."""
    try:
        return MAP_CLASSES[label]
    except (KeyError, TypeError):
        raise ModelError(f"unknown map class {label!r} (known: {', '.join(MAP_CLASSES)})") from None


def as_vertices(vertices: ArrayLike, where: str = "map element") -> F64:
    """``vertices`` as a fresh read-only ``(N, 3)`` float64 array of finite numbers (``(N, 2)``
    gets z = 0); ModelError naming ``where`` otherwise."""
    try:
        v = np.array(vertices, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"{where}: vertices must be numbers") from None
    if v.ndim != 2 or v.shape[1] not in (2, 3):
        raise ModelError(f"{where}: vertices must have shape (N, 3), got {v.shape}")
    if v.shape[1] == 2:
        v = np.concatenate([v, np.zeros((v.shape[0], 1))], axis=1)
    if not np.isfinite(v).all():
        raise ModelError(f"{where}: vertices must be finite")
    v.setflags(write=False)
    return v


@dataclass(frozen=True, eq=False)
class MapElement:
    """One map element (see the module doc). ``vertices`` (N, 3) world frame, metres."""

    element_id: int
    label: str
    vertices: F64
    attributes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        eid = self.element_id
        if isinstance(eid, bool) or not isinstance(eid, (int, np.integer)) or eid < 0:
            raise ModelError(f"map element id must be a non-negative int, got {eid!r}")
        object.__setattr__(self, "element_id", int(eid))
        where = f"map element {eid}"
        cls = map_class(self.label)
        v = as_vertices(self.vertices, where)
        if v.shape[0] < cls.min_vertices:
            raise ModelError(f"{where}: a {cls.name} needs at least {cls.min_vertices} vertices, got {v.shape[0]}")
        object.__setattr__(self, "vertices", v)
        if not isinstance(self.attributes, Mapping):
            raise ModelError(f"{where}: attributes must be a mapping")
        attrs = dict(cls.defaults)
        for k, val in self.attributes.items():
            if not isinstance(k, str) or not isinstance(val, str):
                raise ModelError(f"{where}: attribute names and values must be strings, got {k!r}: {val!r}")
            allowed = cls.attributes.get(k)
            if allowed is not None and val not in allowed:
                raise ModelError(f"{where}: {cls.name} {k} must be one of {allowed}, got {val!r}")
            attrs[k] = val
        object.__setattr__(self, "attributes", dict(sorted(attrs.items())))

    # ---- the names the drawing layers read ----------------------------------------------------
    @property
    def id(self) -> int:
        return self.element_id

    @property
    def vertices_world(self) -> F64:
        """(N, 3) float64 vertices in the world frame (metres)."""
        return self.vertices

    @property
    def closed(self) -> bool:
        """True for a polygon (pedestrian crossing, drivable area)."""
        return MAP_CLASSES[self.label].closed

    def __len__(self) -> int:
        return int(self.vertices.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MapElement):
            return NotImplemented
        return (self.element_id == other.element_id and self.label == other.label
                and dict(self.attributes) == dict(other.attributes)
                and self.vertices.shape == other.vertices.shape and bool(np.array_equal(self.vertices, other.vertices)))

    __hash__ = None  # type: ignore[assignment]

    def replace(self, **changes: Any) -> MapElement:
        """A copy with some fields changed (``element_id``, ``label``, ``vertices``, ``attributes``).
        A class change keeps only the attributes the new class allows."""
        d: dict[str, Any] = {"element_id": self.element_id, "label": self.label, "vertices": self.vertices,
                             "attributes": dict(self.attributes)}
        d.update(changes)
        if "label" in changes and "attributes" not in changes:
            old_cls, new_cls = map_class(self.label), map_class(d["label"])
            d["attributes"] = {
                k: v for k, v in d["attributes"].items()
                if v in new_cls.attributes.get(k, ()) or (k not in new_cls.attributes and k not in old_cls.attributes)
            }
        return MapElement(**d)

    def length(self) -> float:
        """Length of the line (m, 3D), the closing edge included for a polygon."""
        v = self.vertices
        if self.closed:
            v = np.concatenate([v, v[:1]])
        return float(np.linalg.norm(np.diff(v, axis=0), axis=1).sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.element_id,
            "label": self.label,
            "attributes": dict(self.attributes),
            "vertices": [[float(c) for c in row] for row in self.vertices],
        }


def element_from_dict(data: object, where: str = "map element") -> MapElement:
    """Parse :meth:`MapElement.to_dict` data; strict: a missing or unknown key raises ModelError
    naming ``where``."""
    if not isinstance(data, Mapping):
        raise ModelError(f"{where}: expected an object")
    missing = {"id", "label", "vertices"} - set(data)
    extra = set(data) - {"id", "label", "vertices", "attributes"}
    if missing or extra:
        raise ModelError(f"{where}: missing keys {sorted(missing)}, unknown keys {sorted(extra)}")
    eid = data["id"]
    if isinstance(eid, bool) or not isinstance(eid, int):
        raise ModelError(f"{where}: id must be an int, got {eid!r}")
    try:
        return MapElement(eid, data["label"], data["vertices"], data.get("attributes", {}))
    except ModelError as e:
        raise ModelError(f"{where}: {e}") from None


def mark_type_of(el: MapElement) -> str:
    """The lane-mark type of a lane divider (``"solid"`` ...); ``"none"`` for other classes."""
    return el.attributes.get("type", "none") if el.label == "lane_divider" else "none"

