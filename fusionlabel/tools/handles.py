"""View-plane geometry of the tools: view transforms, box outlines, handles and handle picking.

A *view plane* position is 2D, metres (see :mod:`fusionlabel.tools.events`):

- ``bev``: world ``(x, y)``;
- ``side``: ``(u, z)``, ``u`` along the reference box's +x (heading) from its centre, ``z`` world;
- ``front``: ``(u, z)``, ``u`` along the reference box's +y (left) from its centre, ``z`` world.

The *reference box* of the side/front views is the selected track's committed box at the
current frame. Handles are described in the box's own frame by ``signs`` ``(sx, sy, sz)`` in
{-1, 0, 1}: the box faces that a resize through the handle moves (``+1``: the face at
``+size/2`` on that axis). The GUI draws :func:`box_handles` and uses :func:`pick` for cursors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.box import Box3D

#: Pick tolerance around handles and edges, screen pixels.
HANDLE_TOLERANCE_PX = 8.0
#: Distance of the rotation handle in front of the box's front face, screen pixels.
ROTATE_HANDLE_PX = 30.0
#: A press-release that moves less than this (screen pixels) is a click, not a drag.
DRAG_THRESHOLD_PX = 3.0
#: Smallest box side (metres) a resize may produce.
MIN_SIZE = 0.1

# For each view: the box axes (0 = x, 1 = y, 2 = z) that the view plane's (u, v) show.
_VIEW_AXES = {"bev": (0, 1), "side": (0, 2), "front": (1, 2)}


@dataclass(frozen=True, slots=True)
class Handle:
    """A grip of a box in a view: ``name`` (e.g. ``"front"``, ``"rear_left"``, ``"top"``,
    ``"rotate"``), ``kind`` (``"edge"``, ``"corner"``, ``"rotate"``), ``pos`` (u, v) in the view
    plane (metres) and ``signs`` (sx, sy, sz): the box faces it moves when resizing."""

    name: str
    kind: str
    pos: tuple[float, float]
    signs: tuple[int, int, int]


def box_axes(yaw: float) -> NDArray[np.float64]:
    """(3, 3) rows: the box's x (heading), y (left) and z (up) axes in the world frame."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def view_axes(view: str, ref_box: Box3D | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """World-frame unit vectors ``(U, V)`` (each (3,)) of the view plane's u and v directions.
    ``ref_box`` is needed for ``side`` and ``front``."""
    if view == "bev":
        return np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    if ref_box is None:
        raise ValueError(f"the {view!r} view needs a reference box")
    axes = box_axes(ref_box.yaw)
    iu, iv = _VIEW_AXES[view]
    return axes[iu], axes[iv]


def world_to_view(view: str, pts_world: ArrayLike, ref_box: Box3D | None = None) -> NDArray[np.float64]:
    """(N, 2) view-plane coordinates (metres) of world points ``pts_world`` (N, 3)."""
    p = np.asarray(pts_world, dtype=np.float64).reshape(-1, 3)
    if view == "bev":
        return p[:, :2].copy()
    U, _ = view_axes(view, ref_box)
    assert ref_box is not None
    u = (p - np.asarray(ref_box.center)) @ U
    return np.stack([u, p[:, 2]], axis=1)


def view_delta_to_world(view: str, duv: ArrayLike, ref_box: Box3D | None = None) -> NDArray[np.float64]:
    """(3,) world displacement (metres) of a (2,) view-plane displacement ``duv``."""
    du, dv = (float(v) for v in np.asarray(duv, dtype=np.float64).reshape(2))
    U, V = view_axes(view, ref_box)
    return du * U + dv * V


def _local_frame(view: str, box: Box3D, ref_box: Box3D | None) -> tuple[NDArray[np.float64], float, float, int, int]:
    """The box in the view plane: origin (2,), the plane angle of its u-axis (BEV: the yaw, else
    0), its half extents along its own two view axes, and which box axes those are."""
    ia, ib = _VIEW_AXES[view]
    half = np.asarray(box.size) / 2.0
    if view == "bev":
        return np.asarray(box.center[:2]), box.yaw, float(half[0]), float(half[1]), ia
    origin = world_to_view(view, np.asarray(box.center)[None], ref_box if ref_box is not None else box)[0]
    return origin, 0.0, float(half[ia]), float(half[ib]), ia


def to_local(view: str, box: Box3D, pos: ArrayLike, ref_box: Box3D | None = None) -> tuple[float, float]:
    """A view-plane position in the box's own 2D frame for this view (metres from its centre:
    BEV (x_box, y_box); side (x_box, z); front (y_box, z))."""
    origin, ang, _, _, _ = _local_frame(view, box, ref_box)
    d = np.asarray(pos, dtype=np.float64).reshape(2) - origin
    c, s = math.cos(ang), math.sin(ang)
    return float(c * d[0] + s * d[1]), float(-s * d[0] + c * d[1])


def _from_local(origin: NDArray[np.float64], ang: float, a: float, b: float) -> tuple[float, float]:
    c, s = math.cos(ang), math.sin(ang)
    return float(origin[0] + c * a - s * b), float(origin[1] + s * a + c * b)


def box_outline(view: str, box: Box3D, ref_box: Box3D | None = None) -> NDArray[np.float64]:
    """(4, 2) rectangle of ``box`` in the view plane, counter-clockwise in (u, v)."""
    origin, ang, ha, hb, _ = _local_frame(view, box, ref_box)
    return np.array([_from_local(origin, ang, sa * ha, sb * hb) for sa, sb in ((1, -1), (1, 1), (-1, 1), (-1, -1))])


_EDGE_NAMES = {
    "bev": {(1, 0): "front", (-1, 0): "rear", (0, 1): "left", (0, -1): "right"},
    "side": {(1, 0): "front", (-1, 0): "rear", (0, 1): "top", (0, -1): "bottom"},
    "front": {(1, 0): "left", (-1, 0): "right", (0, 1): "top", (0, -1): "bottom"},
}


def _signs(view: str, sa: int, sb: int) -> tuple[int, int, int]:
    ia, ib = _VIEW_AXES[view]
    s = [0, 0, 0]
    s[ia], s[ib] = sa, sb
    return (s[0], s[1], s[2])


def rotate_handle_offset(pixels_per_metre: float) -> float:
    """Distance (metres) of the rotation handle in front of the front face at this zoom."""
    return ROTATE_HANDLE_PX / pixels_per_metre


def box_handles(
    view: str, box: Box3D, pixels_per_metre: float = 20.0, ref_box: Box3D | None = None
) -> list[Handle]:
    """The handles of ``box`` in a view: 4 edge midpoints, 4 corners and, in BEV only, the
    rotation handle in front of the box (positions in the view plane, metres)."""
    origin, ang, ha, hb, _ = _local_frame(view, box, ref_box)
    names = _EDGE_NAMES[view]
    out = []
    for (sa, sb), name in names.items():
        out.append(Handle(name, "edge", _from_local(origin, ang, sa * ha, sb * hb), _signs(view, sa, sb)))
    for sa in (1, -1):
        for sb in (1, -1):
            name = f"{names[(0, sb)]}_{names[(sa, 0)]}" if view != "bev" else f"{names[(sa, 0)]}_{names[(0, sb)]}"
            out.append(Handle(name, "corner", _from_local(origin, ang, sa * ha, sb * hb), _signs(view, sa, sb)))
    if view == "bev":
        off = rotate_handle_offset(pixels_per_metre)
        out.append(Handle("rotate", "rotate", _from_local(origin, ang, ha + off, 0.0), (0, 0, 0)))
    return out


def pick(
    view: str,
    box: Box3D,
    pos: ArrayLike,
    pixels_per_metre: float = 20.0,
    ref_box: Box3D | None = None,
    tolerance_px: float = HANDLE_TOLERANCE_PX,
) -> Handle | str | None:
    """What of ``box`` is under ``pos`` (view plane, metres): a :class:`Handle` (corners win over
    the rotation handle, which wins over edges), ``"inside"`` (a move), or None.

    The tolerance is ``tolerance_px`` screen pixels; inside a small box it shrinks to a quarter of
    the box's smaller side so that the middle of the box still moves it.
    """
    a, b = to_local(view, box, pos, ref_box)
    origin, ang, ha, hb, _ = _local_frame(view, box, ref_box)
    tol = tolerance_px / pixels_per_metre
    inside = abs(a) <= ha and abs(b) <= hb
    tol_in = min(tol, 0.5 * min(ha, hb)) if inside else tol
    handles = box_handles(view, box, pixels_per_metre, ref_box)
    best: tuple[float, Handle] | None = None
    for h in handles:
        if h.kind != "corner":
            continue
        d = math.hypot(*(np.asarray(h.pos) - np.asarray(pos, dtype=np.float64)))
        if d <= tol_in and (best is None or d < best[0]):
            best = (d, h)
    if best is not None:
        return best[1]
    if view == "bev":
        rot = handles[-1]
        if math.hypot(*(np.asarray(rot.pos) - np.asarray(pos, dtype=np.float64))) <= 1.5 * tol:
            return rot
    for h in handles:
        if h.kind != "edge":
            continue
        sa, sb = _local_signs(view, h.signs)
        if sa:
            d, along = abs(a - sa * ha), abs(b) <= hb
        else:
            d, along = abs(b - sb * hb), abs(a) <= ha
        if along and d <= tol_in and (best is None or d < best[0]):
            best = (d, h)
    if best is not None:
        return best[1]
    return "inside" if inside else None


def _local_signs(view: str, signs: tuple[int, int, int]) -> tuple[int, int]:
    ia, ib = _VIEW_AXES[view]
    return signs[ia], signs[ib]


def footprint_distance(box: Box3D, xy: ArrayLike) -> float:
    """Distance (metres) from a world (x, y) to the box's BEV rectangle; 0 inside it."""
    a, b = to_local("bev", box, xy)
    da = max(abs(a) - box.size[0] / 2.0, 0.0)
    db = max(abs(b) - box.size[1] / 2.0, 0.0)
    return math.hypot(da, db)


# ---- box edits -------------------------------------------------------------------------------
def moved(box: Box3D, d_world: ArrayLike) -> Box3D:
    """``box`` translated by the (3,) world displacement ``d_world`` (metres)."""
    return box.replace(center=tuple(np.asarray(box.center) + np.asarray(d_world, dtype=np.float64)))


def resized(
    box: Box3D, signs: tuple[int, int, int], d_world: ArrayLike, min_size: float = MIN_SIZE
) -> Box3D:
    """``box`` with the faces named by ``signs`` moved by the (3,) world displacement ``d_world``
    (its component along each box axis) while the opposite faces stay fixed in the box frame.
    No side goes below ``min_size`` metres."""
    axes = box_axes(box.yaw)
    d = np.asarray(d_world, dtype=np.float64).reshape(3)
    size = np.asarray(box.size, dtype=np.float64)
    center = np.asarray(box.center, dtype=np.float64)
    for i, s in enumerate(signs):
        if not s:
            continue
        new = max(float(min_size), size[i] + s * float(d @ axes[i]))
        center = center + axes[i] * s * (new - size[i]) / 2.0
        size[i] = new
    return box.replace(center=tuple(center), size=tuple(size))  # keeps a tilt


def resized_by(box: Box3D, dsize: ArrayLike, min_size: float = MIN_SIZE) -> Box3D:
    """``box`` grown by (3,) ``dsize`` (dl, dw, dh) metres symmetrically about its centre."""
    size = np.maximum(np.asarray(box.size) + np.asarray(dsize, dtype=np.float64), min_size)
    return box.replace(size=tuple(size))
