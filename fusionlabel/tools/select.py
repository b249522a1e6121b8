"""Picking, Qt-free: what is under a click in each view, and :class:`SelectTool` (BEV clicks).

- BEV: :func:`pick_footprints` (boxes by their footprints), :func:`pick_candidates` (the
  document's boxes at the current frame), :func:`pick_proposals` (pre-label proposals).
- Camera images: :func:`pick_camera_boxes` (boxes by their projected, distortion-aware outlines).
- 3D view: the ray tests :func:`ray_box_hit`, :func:`pick_ray` (boxes along a viewing ray,
  nearest entry first; a box holding the eye first, boxes partly behind the eye included), used
  by :func:`click_3d` (a 3D-view click: a one-click box where the viewing ray meets points, else
  selection), the 3D edit tool and the layers' ``pick_3d``.

The views give positions (world metres, image or canvas pixels) and, for the 3D view, the viewing
ray and the world -> canvas projection; the window only turns Qt events into these calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.camera import CameraModel
from calib.projection import box_extent2d
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import point_in_polygon
from fusionlabel.tools.base import Tool, moved_beyond_threshold
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.handles import footprint_distance
from fusionlabel.tools.oneclick import OneClickTool

#: Nearest depth (m, camera z) a corner may have for a box to be picked in a camera image.
CAMERA_NEAR = 0.1


def pick_footprints(boxes: Iterable[tuple[int, Box3D]], xy: ArrayLike, tolerance: float = 0.0) -> list[int]:
    """Ids of the ``(id, box)`` pairs (world frame) whose BEV footprint is at most ``tolerance``
    metres from world ``xy``, best first: footprints containing ``xy``, smallest first (a
    pedestrian beside a truck wins over the truck), then the others, nearest first; ties by id.
    ``xy`` may carry a z (ignored)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1)[:2]  # a 3D position: its x, y
    scored = []
    for key, box in boxes:
        d = footprint_distance(box, p)
        if d <= tolerance:
            scored.append(((0, box.size[0] * box.size[1]) if d == 0.0 else (1, d), key))
    scored.sort()
    return [key for _, key in scored]


def pick_candidates(ctx: ToolContext, xy: tuple[float, float], tolerance: float) -> list[int]:
    """Track ids of the boxes at the current frame under world ``xy`` (BEV, metres), best first
    (:func:`pick_footprints`)."""
    return pick_footprints(((r.track_id, r.box) for r in ctx.doc.boxes_at(ctx.frame)), xy, tolerance)


def pick_proposals(doc: AnnotationDocument, frame: int, xy: ArrayLike, tolerance: float = 0.0) -> list[int]:
    """Ids of the pre-label proposals at ``frame`` under world ``xy`` (BEV, metres), best first
    (:func:`pick_footprints`)."""
    return pick_footprints(((p.proposal_id, p.box) for p in doc.proposals_at(frame)), xy, tolerance)


def pick_outlines(outlines: Iterable[tuple[int, ArrayLike, float]], uv: ArrayLike) -> list[int]:
    """Ids of the ``(id, polygon (K, 2), depth)`` outlines containing the 2D point ``uv`` (same
    units as the polygons), nearest (smallest depth) first; ties by id."""
    hits = sorted((float(depth), key) for key, poly, depth in outlines if point_in_polygon(poly, uv))
    return [key for _, key in hits]


def pick_camera_boxes(boxes: Iterable[tuple[int, ArrayLike]], T_cam_from_world: ArrayLike, camera: CameraModel,
                      uv: ArrayLike) -> list[int]:
    """Ids of the ``(id, corners (8, 3) world m)`` boxes whose projected outline in ``camera``
    (``calib.projection.box_extent2d``: near-plane clipped, distortion sampled, clipped to the
    image) contains image point ``uv`` (px), nearest (distance of the box centre from the camera)
    first. Boxes wholly behind the camera are skipped."""
    T = np.asarray(T_cam_from_world, dtype=np.float64)

    def outlines() -> Iterable[tuple[int, NDArray[np.float64], float]]:
        for key, corners in boxes:
            c = np.asarray(corners, dtype=np.float64) @ T[:3, :3].T + T[:3, 3]
            if c[:, 2].max() <= CAMERA_NEAR:
                continue
            ext = box_extent2d(c, camera)
            if ext is None or ext.clipped is None or len(ext.polygon) < 3:
                continue
            yield key, ext.polygon, float(np.linalg.norm(c.mean(axis=0)))

    return pick_outlines(outlines(), uv)


def click_3d(ctx: ToolContext, tool: Tool, eye: ArrayLike, direction: ArrayLike) -> int | None:
    """A click in the 3D view, whose viewing ray starts at ``eye`` along ``direction`` (world
    frame): with the one-click tool active (``tool``), box the object the ray hits first
    (:meth:`OneClickTool.click_ray`, which selects it); otherwise select the box of the current
    frame the ray enters first (:func:`pick_ray_candidates`: a box holding the eye first; a
    click on nothing keeps the selection). Returns the new or selected track id, or None."""
    if isinstance(tool, OneClickTool):
        return tool.click_ray(eye, direction)
    ids = pick_ray_candidates(ctx, eye, direction)
    if not ids:
        return None
    ctx.stack.break_merge()  # as a BEV click: nudges of another box are another undo step
    ctx.set_selection(ids[0])
    return ids[0]


def ray_box_hit(origin: ArrayLike, direction: ArrayLike, box: Box3D, margin: float = 0.0) -> float | None:
    """Distance (m, along the unit ``direction``) at which the ray from ``origin`` (both (3,),
    world frame) enters ``box`` enlarged by ``margin`` m on every side; 0.0 when ``origin`` lies
    inside it; None when the ray misses it or the box lies behind the origin. Slab test in the
    box's frame."""
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    n = float(np.linalg.norm(d))
    if not n > 0.0:
        raise ValueError("ray direction must not be zero")
    d = d / n
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # box -> world
    ol = (o - np.asarray(box.center)) @ R
    dl = d @ R
    half = np.asarray(box.size, dtype=np.float64) / 2.0 + margin
    t_lo, t_hi = -math.inf, math.inf
    for k in range(3):
        if abs(dl[k]) < 1e-12:
            if abs(ol[k]) > half[k]:
                return None
            continue
        t1, t2 = (-half[k] - ol[k]) / dl[k], (half[k] - ol[k]) / dl[k]
        t_lo, t_hi = max(t_lo, min(t1, t2)), min(t_hi, max(t1, t2))
    if t_lo > t_hi or t_hi < 0.0:
        return None
    return max(float(t_lo), 0.0)


def pick_ray(boxes: Iterable[tuple[int, Box3D]], origin: ArrayLike, direction: ArrayLike,
             margin: float = 0.0) -> list[int]:
    """Ids of the ``(id, box)`` pairs whose box (enlarged by ``margin`` m) the ray hits, nearest
    entry first (ties by id). Ray and boxes in the world frame."""
    hits = []
    for key, box in boxes:
        t = ray_box_hit(origin, direction, box, margin)
        if t is not None:
            hits.append((t, key))
    hits.sort()
    return [k for _, k in hits]


def pick_ray_candidates(ctx: ToolContext, origin: ArrayLike, direction: ArrayLike, margin: float = 0.0) -> list[int]:
    """Track ids of the boxes at the current frame that the 3D-view ray hits, nearest first."""
    return pick_ray(((r.track_id, r.box) for r in ctx.doc.boxes_at(ctx.frame)), origin, direction, margin)


class SelectTool(Tool):
    """Click to select in the BEV.

    A click (press and release without moving past the drag threshold) on box footprints selects
    the best candidate (see :func:`pick_candidates`), but keeps the current selection when it is
    one of the candidates; a repeated click at the same spot cycles through the overlapping
    candidates; a click on empty space deselects. Clicks in the side/front views are ignored
    (they show the selected box only).
    """

    name = "select"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self._press: tuple[float, float] | None = None
        self._press_moved = False
        self._last_click: tuple[float, float] | None = None

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "bev" or (ev.button != "left" and ev.kind in ("press", "release")):
            return False
        if ev.kind == "press":
            self._press, self._press_moved = ev.pos_world, False
            return True
        if ev.kind == "move" and self._press is not None:
            self._press_moved = self._press_moved or moved_beyond_threshold(self._press, ev.pos_world, ev)
            return True
        if ev.kind == "release" and self._press is not None:
            was_click = not self._press_moved
            self._press = None
            if was_click:
                self.click(ev)
            return True
        return False

    def click(self, ev: PointerEvent) -> None:
        """Apply the click rule at ``ev.pos_world`` (BEV)."""
        tol = ev.metres(self.ctx.pick_tolerance_px)
        pos = ev.pos_world
        cands = pick_candidates(self.ctx, pos, tol)
        repeat = self._last_click is not None and math.dist(pos, self._last_click) <= tol
        self._last_click = pos
        if not cands:
            self.ctx.set_selection(None)
            return
        sel = self.ctx.selection
        if sel in cands:
            new = cands[(cands.index(sel) + 1) % len(cands)] if repeat else sel
        else:
            new = cands[0]
        self.ctx.stack.break_merge()
        self.ctx.set_selection(new)

    def cancel(self) -> bool:
        had = self._press is not None
        self._press = None
        return had

    @property
    def dragging(self) -> bool:
        return False
