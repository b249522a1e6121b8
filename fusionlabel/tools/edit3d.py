"""Editing boxes in the 3D view: :class:`View3DEditTool` (Qt-free, fed ``view="3d"`` events).

The 3D view gives, for every pointer event, the viewing ray under the pointer in the ``world``
frame (``ray_origin``, ``ray_direction``; see :mod:`fusionlabel.tools.events`) and the canvas
position in pixels. Gestures (left button, on the **selected** box at the current frame; each drag
previews in ``ctx.preview`` and pushes exactly one :class:`~fusionlabel.commands.SetKeyframe` on
release, none when nothing changed; an edit at a frame without a keyframe makes one there; Escape
cancels):

- **drag the box** (the ray hits it, :func:`~fusionlabel.tools.select.ray_box_hit`): move it on
  the horizontal plane through the grabbed point (the ray-plane intersection follows the pointer;
  the offset between the grabbed point and the centre is kept; z unchanged).
- **drag the rotation handle** (:func:`rotate_handle_3d`: a point ahead of the front face at the
  box's top, within ``HANDLE_RADIUS`` m or ``HANDLE_ANGLE`` rad of the ray) or **ctrl + drag the
  box**: turn it about its vertical axis through the centre by the angle the pointer sweeps on
  the horizontal plane of the handle (or of the grabbed point); shift snaps the yaw to 15 degrees.
- a press that hits neither, or hits another box in front of the selected one (or with nothing
  selected, or another button) is **not handled** (``on_pointer`` returns False): the view orbits
  or picks as before.
- a press and release without moving past the drag threshold changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fusionlabel.box import Box3D
from fusionlabel.commands import SetKeyframe
from fusionlabel.tools.base import Tool
from fusionlabel.tools.context import Preview, ToolContext
from fusionlabel.tools.edit import ROTATION_SNAP
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.handles import DRAG_THRESHOLD_PX
from fusionlabel.tools.select import ray_box_hit

#: The rotation handle lies this far (m) ahead of the box's front face, at least.
HANDLE_AHEAD = 0.8
#: A ray passing within this distance (m) of the handle grabs it ...
HANDLE_RADIUS = 0.35
#: ... or within this angle (rad) as seen from the ray's origin (far boxes).
HANDLE_ANGLE = 0.012
#: A drag whose plane intersection lies farther than this (m) from the ray origin is held (the ray
#: runs nearly parallel to the plane).
MAX_REACH = 1000.0


def rotate_handle_3d(box: Box3D) -> NDArray[np.float64]:
    """World position (3,) of the 3D view's rotation handle of ``box``: on its heading, ahead of its
    front face by ``max(HANDLE_AHEAD, 0.25 * length)``, at the height of its top."""
    ahead = box.length / 2.0 + max(HANDLE_AHEAD, 0.25 * box.length)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    x, y, z = box.center
    return np.array([x + c * ahead, y + s * ahead, z + box.height / 2.0])


def ray_point_distance(origin: NDArray[np.float64], direction: NDArray[np.float64],
                       point: NDArray[np.float64]) -> tuple[float, float]:
    """(distance along the unit ray to the foot of the perpendicular, perpendicular distance) m."""
    q = point - origin
    t = float(q @ direction)
    return t, float(np.linalg.norm(q - t * direction))


def ray_plane_z(origin: NDArray[np.float64], direction: NDArray[np.float64], z: float,
                max_reach: float = MAX_REACH) -> NDArray[np.float64] | None:
    """Where the ray meets the horizontal plane at height ``z`` (world), or None (parallel, behind
    the origin or beyond ``max_reach`` m)."""
    if abs(direction[2]) < 1e-9:
        return None
    t = (z - origin[2]) / direction[2]
    if not (0.0 < t <= max_reach):
        return None
    return origin + t * direction


def ray_vertical_z(origin: NDArray[np.float64], direction: NDArray[np.float64],
                   point: NDArray[np.float64]) -> float | None:
    """Height (world z, m) of the point of the vertical line through ``point`` (3,) nearest to the
    ray (unit ``direction``), or None when the ray runs (nearly) vertically."""
    dh = float(np.hypot(direction[0], direction[1]))
    if dh < 1e-6:
        return None
    # minimise |origin + t d - (point + s ez)| over t, s: the horizontal parts fix t
    w = np.asarray(point[:2]) - np.asarray(origin[:2])
    t = float(w @ np.asarray(direction[:2])) / (dh * dh)
    return float(origin[2] + t * direction[2])


@dataclass
class _Drag3D:
    kind: str  # "move" | "rotate" | "height"
    track_id: int
    frame: int
    press_px: tuple[float, float]
    original: Box3D
    plane_z: float
    grab: NDArray[np.float64]  # the press's point on the plane (world)
    handle: str | None = None
    active: bool = False
    box: Box3D | None = None


class View3DEditTool(Tool):
    """Move and rotate the selected box in the 3D view (see the module doc)."""

    name = "edit3d"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self._drag: _Drag3D | None = None

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def hit(self, ev: PointerEvent) -> tuple[str, NDArray[np.float64]] | None:
        """What a 3D-view ray grabs of the selected box: ``("rotate", handle point)`` or ``("box",
        entry point)`` (world), or None."""
        ref = self.ctx.selected_box()
        if ref is None or ev.view != "3d" or ev.ray_origin is None or ev.ray_direction is None:
            return None
        o, d = np.asarray(ev.ray_origin), np.asarray(ev.ray_direction)
        handle = rotate_handle_3d(ref.box)
        t, perp = ray_point_distance(o, d, handle)
        if t > 0 and perp <= max(HANDLE_RADIUS, HANDLE_ANGLE * t):
            return "rotate", handle
        t_box = ray_box_hit(o, d, ref.box)
        if t_box is None:
            return None
        for other in self.ctx.doc.boxes_at(self.ctx.frame):
            if other.track_id != ref.track_id:
                t = ray_box_hit(o, d, other.box)
                if t is not None and t < t_box:
                    return None  # another box in front: the press is for it (the view selects it)
        return "box", o + t_box * d

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "3d":
            return False
        if ev.kind == "press":
            if ev.button != "left":
                return False
            self.cancel()
            return self._press(ev)
        if self._drag is None:
            return False
        if ev.kind == "move":
            self._move(ev)
            return True
        if ev.kind == "release" and ev.button == "left":
            self._finish()
            return True
        return False

    def _press(self, ev: PointerEvent) -> bool:
        got = self.hit(ev)
        ref = self.ctx.selected_box()
        if got is None or ref is None:
            return False
        what, point = got
        rotate = what == "rotate" or ev.ctrl
        kind = "rotate" if rotate else "height" if ev.shift else "move"
        assert ev.pos_px is not None
        self._drag = _Drag3D(kind, ref.track_id, self.ctx.frame, ev.pos_px, ref.box,
                             float(point[2]), point, "rotate" if what == "rotate" else None)
        return True

    def _move(self, ev: PointerEvent) -> None:
        d = self._drag
        assert d is not None and ev.pos_px is not None and ev.ray_origin is not None and ev.ray_direction is not None
        if not d.active:
            if math.dist(d.press_px, ev.pos_px) < DRAG_THRESHOLD_PX:
                return
            d.active = True
        if d.kind == "height":
            z = ray_vertical_z(np.asarray(ev.ray_origin), np.asarray(ev.ray_direction), d.grab)
            if z is None:
                return
            b0 = d.original
            d.box = b0.replace(center=(b0.center[0], b0.center[1], b0.center[2] + z - float(d.grab[2])))
            self.ctx.set_preview(Preview(d.track_id, d.box, "move", d.frame, d.handle))
            return
        q = ray_plane_z(np.asarray(ev.ray_origin), np.asarray(ev.ray_direction), d.plane_z)
        if q is None:
            return  # the ray left the plane (above the horizon): keep the last box
        box0 = d.original
        if d.kind == "move":
            dx, dy = q[:2] - d.grab[:2]
            box = box0.replace(center=(box0.center[0] + float(dx), box0.center[1] + float(dy), box0.center[2]))
        else:
            c = np.asarray(box0.center[:2])
            a0 = math.atan2(d.grab[1] - c[1], d.grab[0] - c[0])
            a1 = math.atan2(q[1] - c[1], q[0] - c[0])
            yaw = box0.yaw + (a1 - a0)
            if ev.shift:
                yaw = round(yaw / ROTATION_SNAP) * ROTATION_SNAP
            box = box0.replace(yaw=yaw)
        d.box = box
        self.ctx.set_preview(Preview(d.track_id, box, d.kind, d.frame, d.handle))

    def _finish(self) -> None:
        d = self._drag
        assert d is not None
        self._drag = None
        self.ctx.set_preview(None)
        if not d.active or d.box is None or d.box == d.original:
            return
        if d.track_id not in self.ctx.doc or d.frame != self.ctx.frame:
            return  # the document or the frame changed under the drag: drop it
        self.ctx.stack.push(SetKeyframe(d.track_id, d.frame, d.box))

    def cancel(self) -> bool:
        had = self._drag is not None
        self._drag = None
        if had:
            self.ctx.set_preview(None)
        return had

    def cursor(self, ev: PointerEvent) -> str:
        got = self.hit(ev) if self._drag is None else None
        if got is None:
            return "default"
        return "rotate" if got[0] == "rotate" or ev.ctrl else "height" if ev.shift else "move"
