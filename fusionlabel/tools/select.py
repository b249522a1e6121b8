"""Selection by clicking: in the bird's-eye view (:func:`pick_candidates`, :class:`SelectTool`)
and along a 3D-view ray (:func:`ray_box_hit`, :func:`pick_ray`, pure functions the 3D view calls)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from fusionlabel.box import Box3D
from fusionlabel.tools.base import Tool, moved_beyond_threshold
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.handles import footprint_distance


def pick_candidates(ctx: ToolContext, xy: tuple[float, float], tolerance: float) -> list[int]:
    """Track ids of the boxes at the current frame under world ``xy`` (BEV, metres), best first:
    boxes whose footprint contains ``xy``, smallest footprint first (a pedestrian beside a truck
    wins over the truck), then boxes whose footprint is within ``tolerance`` metres, nearest
    first; ties by track id."""
    scored = []
    for ref in ctx.doc.boxes_at(ctx.frame):
        d = footprint_distance(ref.box, xy)
        if d <= tolerance:
            inside = d == 0.0
            area = ref.box.size[0] * ref.box.size[1]
            scored.append(((0, area) if inside else (1, d), ref.track_id))
    scored.sort()
    return [tid for _, tid in scored]


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
