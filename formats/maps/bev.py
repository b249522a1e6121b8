"""BEV segmentation layers of the map elements, on the grid of :mod:`formats.bev`.

:func:`map_layers` rasterises, for one frame, the map elements into boolean layers (``MAP_LAYERS``
order): ``drivable_area`` (filled polygons), ``lane_divider`` (lines), ``ped_crossing`` (filled
polygons), ``road_boundary`` (lines). Lines are drawn ``line_width_m`` wide (at least one cell);
polygons fill the cells whose centres they contain. The elements are put in the BEV frame through
``T_world_from_bev`` and into pixels with ``BEVGrid.to_pixel`` (pixel-centre convention).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from numpy.typing import NDArray

from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import clip_polygon_to_rect, clip_polyline_to_rect, transform_points

MAP_LAYERS = ("drivable_area", "lane_divider", "ped_crossing", "road_boundary")
_SHIFT = 4  # cv2 sub-pixel bits


def map_layers(elements: Iterable[MapElement], T_world_from_bev: NDArray[np.float64], grid: object,
               line_width_m: float = 0.3) -> NDArray[np.bool_]:
    """(len(MAP_LAYERS), H, W) bool layers of one frame (see the module doc); ``grid`` a
    ``formats.bev.BEVGrid``."""
    size = int(grid.size)  # type: ignore[attr-defined]
    res = float(grid.resolution)  # type: ignore[attr-defined]
    ext = float(grid.extent)  # type: ignore[attr-defined]
    out = np.zeros((len(MAP_LAYERS), size, size), dtype=np.uint8)
    T_bev_from_world = np.linalg.inv(np.asarray(T_world_from_bev, dtype=np.float64))
    thick = max(int(round(line_width_m / res)), 1)
    margin = ext + line_width_m + 1.0  # clip far geometry first (keeps cv2's integer ranges small)
    rect = (-margin, margin, -margin, margin)
    for el in elements:
        if el.label not in MAP_LAYERS:
            continue
        k = MAP_LAYERS.index(el.label)
        v = transform_points(T_bev_from_world, el.vertices)[:, :2]
        if el.closed:
            v = clip_polygon_to_rect(v, rect)
            if len(v) < 3:
                continue
            px = np.round(grid.to_pixel(v) * (1 << _SHIFT)).astype(np.int32)  # type: ignore[attr-defined]
            cv2.fillPoly(out[k], [px.reshape(-1, 1, 2)], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        else:
            for piece in clip_polyline_to_rect(v, rect):
                px = np.round(grid.to_pixel(piece) * (1 << _SHIFT)).astype(np.int32)  # type: ignore[attr-defined]
                cv2.polylines(out[k], [px.reshape(-1, 1, 2)], False, 1, thickness=thick, lineType=cv2.LINE_8,
                              shift=_SHIFT)
    return out.astype(bool)
