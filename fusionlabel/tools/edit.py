"""The default pointer tool: select, move, resize and rotate boxes with the mouse.

Gestures (left button; every drag previews in ``ctx.preview`` and pushes exactly one
:class:`~fusionlabel.commands.SetKeyframe` on release, nothing when the box did not change;
Escape cancels; a drag on an interpolated frame creates a keyframe there):

BEV (world x, y):
- drag a **corner** or an **edge** of the selected box: resize; the opposite corner / edge stays
  fixed in the box frame; no side goes below ``MIN_SIZE``.
- drag the **rotation handle** (in front of the front face): rotate about the centre; with
  shift the yaw snaps to multiples of 15 degrees.
- drag **inside** the selected box: move in x, y (z kept).
- drag inside an unselected box: select it and move it.
- click: select / cycle / deselect (see :class:`~fusionlabel.tools.select.SelectTool`).

Side view (u along the box heading, z) and front view (u along the box's left, z):
- drag inside: move along the box's x (side) or y (front) axis and z.
- drag the top / bottom edge: height (the other face fixed); the front / rear (side view) or
  left / right (front view) edge: length or width; corners: both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.commands import SetKeyframe
from fusionlabel.tools.base import moved_beyond_threshold
from fusionlabel.tools.context import Preview, ToolContext
from fusionlabel.tools.events import PLANE_VIEWS, PointerEvent
from fusionlabel.tools.handles import (
    MIN_SIZE,
    Handle,
    moved,
    pick,
    resized,
    view_delta_to_world,
)
from fusionlabel.tools.select import SelectTool, pick_candidates

#: Shift-rotation snaps the yaw to multiples of this angle (radians).
ROTATION_SNAP = math.radians(15.0)


@dataclass
class _Drag:
    kind: str  # "move" | "resize" | "rotate"
    track_id: int
    frame: int
    view: str
    press: tuple[float, float]
    original: Box3D  # the committed box at press time (also the side/front reference box)
    handle: Handle | None = None
    active: bool = False  # moved past the drag threshold
    box: Box3D | None = None


class EditTool(SelectTool):
    """Select, move, resize and rotate (see the module doc)."""

    name = "edit"

    def __init__(self, ctx: ToolContext, min_size: float = MIN_SIZE) -> None:
        super().__init__(ctx)
        self.min_size = min_size
        self._drag: _Drag | None = None
        self._pending: tuple[tuple[float, float], int] | None = None  # press on an unselected box

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    # ---- events ---------------------------------------------------------------------------------
    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view not in PLANE_VIEWS:
            return False  # the camera and 3D views have their own tools
        if ev.kind == "press":
            if ev.button != "left":
                return False
            self.cancel()
            return self._press_at(ev)
        if ev.kind == "move":
            if self._drag is not None:
                self._drag_to(ev)
                return True
            if self._pending is not None:
                pos0, tid = self._pending
                if moved_beyond_threshold(pos0, ev.pos_world, ev):
                    self._pending = None
                    self._press = None
                    self.ctx.stack.break_merge()
                    self.ctx.set_selection(tid)
                    ref = self.ctx.selected_box()
                    if ref is not None:
                        self._drag = _Drag("move", tid, self.ctx.frame, ev.view, pos0, ref.box)
                        self._drag_to(ev)
                return True
            return super().on_pointer(ev)
        if ev.kind == "release":
            if ev.button != "left":
                return False
            if self._drag is not None:
                self._finish(ev)
                return True
            self._pending = None
            return super().on_pointer(ev)
        return False

    def cancel(self) -> bool:
        had = self._drag is not None or self._pending is not None
        self._pending = None
        super().cancel()
        if self._drag is not None:
            self._drag = None
            self.ctx.set_preview(None)
        return had

    def cursor(self, ev: PointerEvent) -> str:
        ref = self.ctx.selected_box()
        if ref is not None and ev.view in PLANE_VIEWS:
            hit = pick(ev.view, ref.box, ev.pos_world, ev.pixels_per_metre, ref.box, self.ctx.pick_tolerance_px)
            if isinstance(hit, Handle):
                return "rotate" if hit.kind == "rotate" else f"resize:{hit.name}"
            if hit == "inside":
                return "move"
        if ev.view == "bev" and pick_candidates(self.ctx, ev.pos_world, 0.0):
            return "move"
        return "default"

    # ---- gesture steps --------------------------------------------------------------------------
    def _press_at(self, ev: PointerEvent) -> bool:
        ref = self.ctx.selected_box()
        if ref is not None:
            hit = pick(ev.view, ref.box, ev.pos_world, ev.pixels_per_metre, ref.box, self.ctx.pick_tolerance_px)
            if hit is not None:
                kind = "move" if hit == "inside" else ("rotate" if hit.kind == "rotate" else "resize")
                handle = hit if isinstance(hit, Handle) else None
                self._drag = _Drag(kind, ref.track_id, self.ctx.frame, ev.view, ev.pos_world, ref.box, handle)
                return True
        if ev.view != "bev":
            return False
        inside = pick_candidates(self.ctx, ev.pos_world, 0.0)
        if inside and inside[0] != self.ctx.selection:
            self._pending = (ev.pos_world, inside[0])
        return super().on_pointer(ev)  # a click on release selects / cycles / deselects

    def _drag_to(self, ev: PointerEvent) -> None:
        d = self._drag
        assert d is not None
        if not d.active:
            if not moved_beyond_threshold(d.press, ev.pos_world, ev):
                return
            d.active = True
        d.box = self._edited(d, ev)
        self.ctx.set_preview(Preview(d.track_id, d.box, d.kind, d.frame, d.handle.name if d.handle else None))

    def _edited(self, d: _Drag, ev: PointerEvent) -> Box3D:
        duv = np.asarray(ev.pos_world) - np.asarray(d.press)
        if d.kind == "rotate":
            c = np.asarray(d.original.center[:2])
            a0 = math.atan2(d.press[1] - c[1], d.press[0] - c[0])
            a1 = math.atan2(ev.pos_world[1] - c[1], ev.pos_world[0] - c[0])
            yaw = d.original.yaw + (a1 - a0)
            if ev.shift:
                yaw = round(yaw / ROTATION_SNAP) * ROTATION_SNAP
            return d.original.replace(yaw=yaw)
        dw = view_delta_to_world(d.view, duv, d.original)
        if d.kind == "move":
            return moved(d.original, dw)
        assert d.handle is not None
        return resized(d.original, d.handle.signs, dw, self.min_size)

    def _finish(self, ev: PointerEvent) -> None:
        d = self._drag
        assert d is not None
        self._drag = None
        self.ctx.set_preview(None)
        if not d.active and d.kind == "move" and d.view == "bev":
            self.click(ev)  # a click inside the selected box: keep it, or cycle when repeated
            return
        if not d.active or d.box is None or d.box == d.original:
            return
        if d.track_id not in self.ctx.doc or d.frame != self.ctx.frame:
            return  # the document or frame changed under the drag: drop it
        self.ctx.stack.push(SetKeyframe(d.track_id, d.frame, d.box))
        self._last_click = None  # the boxes moved: the next click is a fresh one
