"""The side and front views of the selected box, as data (no Qt): which points they show.

The views are the tools' view planes (``fusionlabel.tools.handles.world_to_view``): ``side`` has u
along the box's length axis, ``front`` u along its width axis (both from the box centre, metres),
v is world z. A view shows the points of the box's neighbourhood: within ``margin`` metres of the
box along its length, its width and in height.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.box import Box3D
from fusionlabel.tools.handles import world_to_view

#: How far (m) around the box the side and front views show points.
NEIGHBOURHOOD_MARGIN = 1.5


@dataclass(frozen=True)
class BoxNeighbourhood:
    """The points around a box in its side and front views: ``side_uv`` and ``front_uv`` (M, 2)
    view-plane metres, ``pts_world`` (M, 3) float64 the same points in the world frame and
    ``inside`` (M,) bool, whether each lies in the box."""

    side_uv: NDArray[np.float64]
    front_uv: NDArray[np.float64]
    pts_world: NDArray[np.float64]
    inside: NDArray[np.bool_]


def box_neighbourhood(pts_world: ArrayLike, box: Box3D, margin: float = NEIGHBOURHOOD_MARGIN) -> BoxNeighbourhood:
    """The points of ``pts_world`` (N, 3+) world frame within ``margin`` m of ``box`` (along its
    length and width axes and in world z), in the box's side and front view planes."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    pts = np.asarray(pts_world)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must have shape (N, 3), got {pts.shape}")
    l, w, h = box.size
    cx, cy, cz = box.center
    r = max(l, w) / 2 + margin  # a square around the box first (cheap on 100k+ points)
    rough = (np.abs(pts[:, 0] - cx) < r) & (np.abs(pts[:, 1] - cy) < r)
    near = pts[rough, :3].astype(np.float64)
    side_uv = world_to_view("side", near, box)
    front_uv = world_to_view("front", near, box)
    dz = np.abs(near[:, 2] - cz)
    keep = (np.abs(side_uv[:, 0]) < l / 2 + margin) & (np.abs(front_uv[:, 0]) < w / 2 + margin) & (dz < h / 2 + margin)
    side_uv, front_uv, near, dz = side_uv[keep], front_uv[keep], near[keep], dz[keep]
    inside = (np.abs(side_uv[:, 0]) <= l / 2) & (np.abs(front_uv[:, 0]) <= w / 2) & (dz <= h / 2)
    return BoxNeighbourhood(side_uv, front_uv, near, inside)
