"""Selection by clicking in the bird's-eye view: :func:`pick_candidates` and :class:`SelectTool`."""

from __future__ import annotations

import math

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
