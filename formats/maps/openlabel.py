"""Map elements as ASAM OpenLABEL 1.0 static objects with ``poly3d`` geometry.

One JSON file: ``openlabel.metadata`` (``schema_version`` "1.0.0", the sequence name),
``coordinate_systems.odom`` (the sequence's world frame, ``scene_cs``, as in
:mod:`formats.export.openlabel`) and one object per map element, key = the element id::

    "objects": {"3": {"name": "lane_divider-3", "type": "lane_divider", "coordinate_system": "odom",
                      "object_data": {"poly3d": [{"name": "shape", "closed": false,
                                                  "coordinate_system": "odom",
                                                  "val": [x0, y0, z0, x1, y1, z1, ...]}],
                                      "text": [{"name": "color", "val": "white"},
                                               {"name": "type", "val": "dashed"}]}}}

Static objects (no ``frame_intervals``: a map element holds for the whole sequence); a polygon
has ``closed`` true and its first vertex is not repeated. The file validates against the official
schema; :func:`read_openlabel_map` reads it (and the ``poly3d`` of any OpenLABEL file whose object
types are map classes) back.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from formats.errors import FormatError
from formats.io import atomic_write_json, read_json_file
from fusionlabel.errors import ModelError
from fusionlabel.map.element import MAP_CLASSES, MapElement

PathLike = str | os.PathLike[str]
SCHEMA_VERSION = "1.0.0"


def openlabel_map_dict(name: str, elements: Iterable[MapElement]) -> dict[str, Any]:
    objects: dict[str, Any] = {}
    for el in sorted(elements, key=lambda e: e.element_id):
        od: dict[str, Any] = {"poly3d": [{"name": "shape", "closed": el.closed, "coordinate_system": "odom",
                                          "val": [float(c) for c in el.vertices.ravel()]}]}
        if el.attributes:
            od["text"] = [{"name": k, "val": v} for k, v in sorted(el.attributes.items())]
        objects[str(el.element_id)] = {"name": f"{el.label}-{el.element_id}", "type": el.label,
                                       "coordinate_system": "odom", "object_data": od}
    return {"openlabel": {
        "metadata": {"schema_version": SCHEMA_VERSION, "name": name, "annotator": "fusionlabel"},
        "coordinate_systems": {"odom": {"type": "scene_cs", "parent": "", "children": []}},
        "objects": objects,
    }}


def write_openlabel_map(path: PathLike, name: str, elements: Iterable[MapElement]) -> dict[str, Any]:
    data = openlabel_map_dict(name, elements)
    atomic_write_json(path, data)
    return data


def read_openlabel_map(path: PathLike) -> list[MapElement]:
    """The map elements (objects whose type is a map class and that have a ``poly3d``) of an
    OpenLABEL file; poly3d in ``odom`` (or without a coordinate system) only. FormatError names the
    file and the object."""
    data = read_json_file(path, FormatError, allow_nan=False)
    root = data.get("openlabel") if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise FormatError(path, "not an OpenLABEL file: no 'openlabel' object")
    objects = root.get("objects", {})
    if not isinstance(objects, dict):
        raise FormatError(path, "openlabel.objects must be an object")
    out = []
    for key, ob in objects.items():
        where = f"openlabel.objects.{key}"
        if not isinstance(ob, dict) or not isinstance(ob.get("type"), str) or ob["type"] not in MAP_CLASSES:
            continue
        od = ob.get("object_data") or {}
        polys = (od.get("poly3d") or []) if isinstance(od, dict) else None
        if not isinstance(polys, list) or not all(isinstance(p, dict) for p in polys):
            raise FormatError(path, f"{where}: object_data.poly3d must be a list of poly3d objects")
        if len(polys) != 1:
            raise FormatError(path, f"{where}: a map element needs exactly one poly3d, got {len(polys)}")
        poly = polys[0]
        cs = poly.get("coordinate_system", ob.get("coordinate_system", "odom"))
        if cs != "odom":
            raise FormatError(path, f"{where}: poly3d in {cs!r}; only the world frame 'odom' is read")
        try:
            v = np.asarray(poly["val"], dtype=np.float64).reshape(-1, 3)
            attrs = {t["name"]: t["val"] for t in (od.get("text") or [])}
            el = MapElement(int(key), ob["type"], v, attrs)
        except (KeyError, TypeError, ValueError, ModelError) as e:
            raise FormatError(path, f"{where}: {e}") from None
        if bool(poly.get("closed")) != el.closed:
            raise FormatError(path, f"{where}: closed={poly.get('closed')!r} does not fit a {el.label}")
        out.append(el)
    return sorted(out, key=lambda e: e.element_id)
