"""Map tools of the bird's-eye view (Qt-free state machines, like the box tools): draw a map
element (:class:`PolylineTool`) and edit the vertices of existing ones (:class:`MapEditTool`);
plus the element commands (reverse, split, join, delete, change class) as functions.

Positions are world ``(x, y)`` metres (BEV ``PointerEvent.pos_world``); every vertex gets its
height from ``ground(x, y)`` (default: ``ctx.ground_height``, the ground estimate; the window
passes the accumulated ground when it is built). Pixel tolerances become metres through the
event's ``pixels_per_metre``.

:class:`PolylineTool` (class ``label``, one of ``fusionlabel.map.MAP_CLASSES``):
- left press adds a vertex (snapped to an existing element's end, or for a polygon to its own
  first vertex, within ``SNAP_PX`` pixels); a move shows the rubber band (``draft`` / ``hover``);
- Enter or a double-click finishes: one :class:`~fusionlabel.map.commands.AddMapElement`
  (a polygon needs 3 vertices, a line 2); Backspace removes the last vertex; Escape cancels.

:class:`MapEditTool`:
- press on a vertex (within ``VERTEX_PX``) and drag moves it; the release pushes one
  :class:`~fusionlabel.map.commands.MoveVertex` (one undo step per drag; Escape cancels);
- a click on an element selects it (``selected`` element id, ``selected_vertex`` or None);
- a double-click on a segment inserts a vertex there (:class:`InsertVertex`);
- Delete / Backspace deletes the selected vertex (:class:`DeleteVertex`), or with no vertex
  selected the element.

Both report changes of what they show through ``on_change()`` (the window redraws the draft).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError
from fusionlabel.map.commands import (
    AddMapElement,
    DeleteMapElement,
    DeleteVertex,
    InsertVertex,
    JoinElements,
    MoveVertex,
    ReverseElement,
    SetMapClass,
    SetVertices,
    SplitElement,
)
from fusionlabel.map.element import MAP_CLASSES, MapElement, map_class
from fusionlabel.map.geometry import resample, smooth
from fusionlabel.tools.base import Tool, moved_beyond_threshold
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import KeyEvent, PointerEvent

F64 = NDArray[np.float64]
#: Snap radius (screen px) to an existing element's end (and a polygon's first vertex).
SNAP_PX = 8.0
#: Grab radius (screen px) of a vertex.
VERTEX_PX = 8.0
#: Pick radius (screen px) of a segment.
SEGMENT_PX = 6.0

Ground = Callable[[float, float], float]


def _segment_hit(v: F64, p: F64, closed: bool) -> tuple[int, float, F64]:
    """(segment index i: between vertex i and i+1, distance m, foot point (2,)) nearest to ``p``."""
    pts = np.concatenate([v, v[:1]]) if closed else v
    a, b = pts[:-1, :2], pts[1:, :2]
    d = b - a
    L2 = np.maximum((d * d).sum(axis=1), 1e-18)
    t = np.clip(((p - a) * d).sum(axis=1) / L2, 0.0, 1.0)
    q = a + d * t[:, None]
    dist = np.hypot(*(q - p).T)
    i = int(np.argmin(dist))
    return i, float(dist[i]), q[i]


class _MapTool(Tool):
    """What both map tools share: the ground function and the change callback."""

    def __init__(self, ctx: ToolContext, ground: Ground | None = None) -> None:
        super().__init__(ctx)
        self.ground = ground
        self.on_change: Callable[[], None] | None = None
        #: keys go to this tool before the keymap (see ``ToolController.on_key``)
        self.wants_keys = True

    def _z(self, x: float, y: float) -> float:
        return float(self.ground(x, y)) if self.ground is not None else self.ctx.ground_height(x, y)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _elements(self) -> list[MapElement]:
        m = self.ctx.doc.map_elements
        return [m[k] for k in sorted(m)]


class PolylineTool(_MapTool):
    """Draw one map element at a time (see the module doc). ``vertices`` (K, 3) world of the
    element being drawn; ``hover`` the rubber band's end (x, y) or None; ``created`` the id of
    the last element made."""

    name = "map_draw"

    def __init__(self, ctx: ToolContext, label: str = "lane_divider", ground: Ground | None = None) -> None:
        super().__init__(ctx, ground)
        self.label = label
        self._verts: list[tuple[float, float, float]] = []
        self.hover: tuple[float, float] | None = None
        self.created: int | None = None
        self.on_created: Callable[[int], None] | None = None

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        self._label = map_class(value).name

    @property
    def vertices(self) -> F64:
        return np.array(self._verts, dtype=np.float64).reshape(-1, 3)

    @property
    def drawing(self) -> bool:
        """True while an element is being drawn (at least one vertex placed)."""
        return bool(self._verts)

    def snap(self, xy: tuple[float, float], tolerance_m: float) -> F64 | None:
        """The existing vertex (3,) ``xy`` snaps to: an end of an existing polyline, a polygon's
        vertex, or the first vertex of the element being drawn; None when none is within
        ``tolerance_m``."""
        cands = [el.vertices[[0, -1]] if not el.closed else el.vertices for el in self._elements()]
        if len(self._verts) >= 2:
            cands.append(self.vertices[:1])
        if not cands:
            return None
        pts = np.concatenate(cands)
        d = np.hypot(pts[:, 0] - xy[0], pts[:, 1] - xy[1])
        i = int(np.argmin(d))
        return pts[i].copy() if d[i] <= tolerance_m else None

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "bev":
            return False
        if ev.kind == "move":
            self.hover = ev.pos_world
            if self._verts:
                self._changed()
            return bool(self._verts)
        if ev.button != "left":
            return False
        if ev.kind == "press":
            s = self.snap(ev.pos_world, ev.metres(SNAP_PX))
            if s is not None and len(self._verts) >= 2 and np.allclose(s, self._verts[0]):
                return self.finish()  # clicking the first vertex closes / ends the element
            x, y = ev.pos_world
            p = (float(s[0]), float(s[1]), float(s[2])) if s is not None else (x, y, self._z(x, y))
            if not self._verts or math.hypot(p[0] - self._verts[-1][0], p[1] - self._verts[-1][1]) > 1e-6:
                self._verts.append(p)
            self._changed()
            return True
        if ev.kind == "double_click":
            self.finish()
            return True
        return ev.kind == "release"

    def on_key(self, ev: KeyEvent) -> bool:
        if not self._verts:
            return False
        if ev.key == "enter":
            self.finish()
            return True
        if ev.key == "backspace":
            self._verts.pop()
            self._changed()
            return True
        if ev.key == "escape":
            return self.cancel()
        return False

    def finish(self) -> bool:
        """Make the element (one undoable command); too few vertices: a message, the drawing
        goes on. True when an element was made."""
        need = MAP_CLASSES[self._label].min_vertices
        if len(self._verts) < need:
            self.ctx.message(f"a {self._label} needs at least {need} vertices")
            return False
        cmd = AddMapElement(self._label, self.vertices)
        self.ctx.stack.push(cmd)
        self._verts = []
        self.created = cmd.element_id
        self._changed()
        self.ctx.message(f"{self._label} {cmd.element_id} added")
        if self.on_created is not None and cmd.element_id is not None:
            self.on_created(cmd.element_id)
        return True

    def cancel(self) -> bool:
        had = bool(self._verts)
        self._verts = []
        if had:
            self._changed()
        return had


class MapEditTool(_MapTool):
    """Select map elements and edit their vertices (see the module doc). ``drag`` is the vertex
    being moved ``(element id, index, (x, y, z))`` or None."""

    name = "map_edit"

    def __init__(self, ctx: ToolContext, ground: Ground | None = None) -> None:
        super().__init__(ctx, ground)
        self.selected: int | None = None
        self.selected_vertex: int | None = None
        self.drag: tuple[int, int, tuple[float, float, float]] | None = None
        self._press: tuple[float, float] | None = None
        self._moved = False
        self._drags = 0

    @property
    def dragging(self) -> bool:
        return self.drag is not None

    def select(self, element_id: int | None, vertex: int | None = None) -> None:
        if element_id is not None and element_id not in self.ctx.doc.map_elements:
            element_id, vertex = None, None
        if (element_id, vertex) != (self.selected, self.selected_vertex):
            self.selected, self.selected_vertex = element_id, vertex
            self._changed()

    def validate(self) -> None:
        """Drop a selection whose element or vertex is gone (after an undo)."""
        m = self.ctx.doc.map_elements
        if self.selected is not None and self.selected not in m:
            self.select(None)
        elif self.selected is not None and self.selected_vertex is not None \
                and self.selected_vertex >= len(m[self.selected]):
            self.select(self.selected, None)

    def vertex_at(self, xy: tuple[float, float], tolerance_m: float) -> tuple[int, int] | None:
        """(element id, vertex index) of the vertex nearest ``xy`` within ``tolerance_m``; the
        selected element's vertices win ties."""
        best: tuple[float, int, int, int] | None = None
        for el in self._elements():
            d = np.hypot(el.vertices[:, 0] - xy[0], el.vertices[:, 1] - xy[1])
            i = int(np.argmin(d))
            key = (float(d[i]), 0 if el.element_id == self.selected else 1, el.element_id, i)
            if d[i] <= tolerance_m and (best is None or key < best):
                best = key
        return None if best is None else (best[2], best[3])

    def segment_at(self, xy: tuple[float, float], tolerance_m: float) -> tuple[int, int, F64] | None:
        """(element id, segment index, foot point (2,)) of the nearest segment within tolerance."""
        p = np.asarray(xy, dtype=np.float64)
        best = None
        for el in self._elements():
            i, d, q = _segment_hit(el.vertices, p, el.closed)
            if d <= tolerance_m and (best is None or d < best[0]):
                best = (d, el.element_id, i, q)
        return None if best is None else best[1:]

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "bev":
            return False
        if ev.kind == "press" and ev.button == "left":
            hit = self.vertex_at(ev.pos_world, ev.metres(VERTEX_PX))
            if hit is not None:
                eid, i = hit
                self.select(eid, i)
                v = self.ctx.doc.map_element(eid).vertices[i]
                self.drag = (eid, i, (float(v[0]), float(v[1]), float(v[2])))
                self._press, self._moved = ev.pos_world, False
                return True
            seg = self.segment_at(ev.pos_world, ev.metres(SEGMENT_PX))
            self.select(None if seg is None else seg[0], None)
            return seg is not None
        if ev.kind == "move" and self.drag is not None:
            press = self._press
            if not self._moved and press is not None and not moved_beyond_threshold(press, ev.pos_world, ev):
                return True
            self._moved = True
            x, y = ev.pos_world
            self.drag = (self.drag[0], self.drag[1], (x, y, self._z(x, y)))
            self._changed()
            return True
        if ev.kind == "release" and self.drag is not None:
            eid, i, p = self.drag
            self.drag, self._press = None, None
            if self._moved:
                self._drags += 1
                self.ctx.stack.push(MoveVertex(eid, i, p, merge_key=("map-drag", self._drags)))
            self._changed()
            return True
        if ev.kind == "double_click" and ev.button == "left":
            seg = self.segment_at(ev.pos_world, ev.metres(SEGMENT_PX))
            if seg is None or self.vertex_at(ev.pos_world, ev.metres(VERTEX_PX)) is not None:
                return False
            eid, i, q = seg
            x, y = float(q[0]), float(q[1])
            self.ctx.stack.push(InsertVertex(eid, i + 1, (x, y, self._z(x, y))))
            self.select(eid, i + 1)
            return True
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        if ev.key == "escape" and self.drag is not None:
            return self.cancel()
        if ev.key in ("delete", "backspace") and self.selected is not None and not ev.modifiers:
            if self.selected_vertex is not None:
                self.ctx.stack.push(DeleteVertex(self.selected, self.selected_vertex))
                self.select(self.selected, None)
            else:
                self.ctx.stack.push(DeleteMapElement(self.selected))
                self.select(None)
            return True
        return False

    def cancel(self) -> bool:
        had = self.drag is not None
        self.drag, self._press = None, None
        if had:
            self._changed()
        return had

    def shown_vertices(self, element: MapElement) -> F64:
        """The element's vertices as drawn now (the dragged vertex at the pointer)."""
        if self.drag is None or self.drag[0] != element.element_id:
            return element.vertices
        v = np.array(element.vertices)
        v[self.drag[1]] = self.drag[2]
        return v


# ---- element commands (menu actions) ---------------------------------------------------------
def reverse_element(ctx: ToolContext, element_id: int) -> None:
    """Reverse an element's direction (one undo step)."""
    ctx.stack.push(ReverseElement(element_id))


def split_element(ctx: ToolContext, element_id: int, vertex: int) -> int:
    """Split a polyline at an inner vertex; returns the new piece's id."""
    cmd = SplitElement(element_id, vertex)
    ctx.stack.push(cmd)
    assert cmd.new_id is not None
    return cmd.new_id


def join_nearest(ctx: ToolContext, element_id: int) -> int:
    """Join onto polyline ``element_id`` the polyline of its class whose end is nearest one of its
    ends; returns the joined element's id. ModelError when there is none."""
    el = ctx.doc.map_element(element_id)
    if el.closed:
        raise ModelError(f"map element {element_id}: a {el.label} (polygon) cannot be joined")
    ends = el.vertices[[0, -1], :2]
    best: tuple[float, int] | None = None
    for other in ctx.doc.map_elements.values():
        if other.element_id == element_id or other.label != el.label:
            continue
        o = other.vertices[[0, -1], :2]
        d = float(np.min(np.hypot(*(ends[:, None, :] - o[None, :, :]).transpose(2, 0, 1))))
        if best is None or d < best[0]:
            best = (d, other.element_id)
    if best is None:
        raise ModelError(f"map element {element_id}: no other {el.label} to join")
    ctx.stack.push(JoinElements(element_id, best[1]))
    return best[1]


def delete_element(ctx: ToolContext, element_id: int) -> None:
    """Delete a map element (one undo step)."""
    ctx.stack.push(DeleteMapElement(element_id))


def set_element_class(ctx: ToolContext, element_id: int, label: str) -> None:
    """Change an element's class (polylines to polyline classes, polygons to polygon classes)."""
    if ctx.doc.map_element(element_id).label != label:
        ctx.stack.push(SetMapClass(element_id, label))


def resample_element(ctx: ToolContext, element_id: int, spacing: float = 1.0) -> None:
    """Resample an element's vertices every ``spacing`` m of arc length, ends (a polygon's first
    vertex) kept, heights interpolated (one undo step)."""
    el = ctx.doc.map_element(element_id)
    v = resample(el.vertices, spacing=spacing, closed=el.closed)
    if el.closed and len(v) > 3 and np.allclose(v[0], v[-1]):
        v = v[:-1]
    ctx.stack.push(SetVertices(element_id, v, f"Resample map element {element_id} every {spacing:g} m"))


def smooth_element(ctx: ToolContext, element_id: int, window_m: float = 3.0) -> None:
    """Smooth an element by a moving average over ``window_m`` m of arc length (vertex count and
    a line's ends kept; one undo step)."""
    el = ctx.doc.map_element(element_id)
    v = smooth(el.vertices, window_m=window_m, closed=el.closed, iterations=2)
    ctx.stack.push(SetVertices(element_id, v, f"Smooth map element {element_id}"))
