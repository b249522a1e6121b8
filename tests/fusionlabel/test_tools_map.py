"""The BEV map tools (Qt-free): drawing a polyline / polygon with snapping and ground heights,
Backspace / Escape / Enter, vertex drag as one undo step, insert / delete vertex, element commands,
the controller routing keys to the map tools; the accumulated world view."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.map.accumulate import accumulate_sweeps, intensity_rgb, pick_frames
from fusionlabel.map.commands import AddMapElement
from fusionlabel.tools import KeyEvent, PointerEvent, ToolContext, ToolController
from fusionlabel.tools.maptools import (
    MapEditTool,
    PolylineTool,
    join_nearest,
    reverse_element,
    set_element_class,
    split_element,
)

PPM = 20.0  # pixels per metre of the events: snapping radius 8 px = 0.4 m


def ev(kind: str, x: float, y: float, button: str = "left") -> PointerEvent:
    return PointerEvent(kind, (x, y), button, view="bev", pixels_per_metre=PPM)


def click(tool, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    tool.on_pointer(ev("press", x, y))
    tool.on_pointer(ev("release", x, y))


@pytest.fixture
def ctx() -> ToolContext:
    doc = AnnotationDocument(frame_count=5)
    return ToolContext(doc, ground=lambda x, y: 0.1 * x)


def test_draw_polyline_ground_backspace_enter_undo(ctx: ToolContext) -> None:
    t = PolylineTool(ctx, "lane_divider")
    for x in (0.0, 5.0, 10.0, 20.0):
        click(t, x, 1.0)
    assert t.on_key(KeyEvent("backspace"))
    assert len(t.vertices) == 3
    assert t.on_key(KeyEvent("enter"))
    (el,) = ctx.doc.map_elements.values()
    assert el.label == "lane_divider" and not el.closed
    np.testing.assert_allclose(el.vertices, [[0, 1, 0], [5, 1, 0.5], [10, 1, 1.0]])  # z = ground(x, y)
    assert not t.drawing and t.created == el.element_id
    ctx.stack.undo()
    assert not ctx.doc.map_elements
    ctx.stack.redo()
    assert len(ctx.doc.map_elements) == 1


def test_too_few_vertices_escape_and_double_click(ctx: ToolContext) -> None:
    t = PolylineTool(ctx, "ped_crossing")
    msgs: list[str] = []
    ctx.events.message.connect(msgs.append)
    click(t, 0, 0)
    click(t, 4, 0)
    assert not t.finish() and "at least 3" in msgs[-1]
    assert t.on_key(KeyEvent("escape")) and not t.drawing and not ctx.doc.map_elements
    assert not t.on_key(KeyEvent("enter"))  # nothing drawn: the key goes on to the keymap
    for x, y in ((0, 0), (4, 0), (4, 3)):
        click(t, x, y)
    t.on_pointer(ev("double_click", 4, 3))
    (el,) = ctx.doc.map_elements.values()
    assert el.closed and len(el) == 3


def test_snap_to_existing_end_and_close_on_first_vertex(ctx: ToolContext) -> None:
    ctx.stack.push(AddMapElement("road_boundary", [[0, 0, 0.3], [10, 0, 0.3]]))
    t = PolylineTool(ctx, "road_boundary")
    click(t, 10.2, 0.2)  # within 8 px (0.4 m) of the end: snapped, keeps its height
    click(t, 20, 0)
    np.testing.assert_allclose(t.vertices[0], [10, 0, 0.3])
    click(t, 10.5, 0.5)  # 0.7 m away: not snapped
    assert len(t.vertices) == 3 and t.vertices[2, 0] == 10.5
    t.cancel()
    p = PolylineTool(ctx, "drivable_area")
    for x, y in ((30, 0), (40, 0), (40, 10)):
        click(p, x, y)
    click(p, 30.1, 0.1)  # the first vertex again: finishes the polygon
    assert not p.drawing
    assert ctx.doc.map_elements[p.created].closed and len(ctx.doc.map_elements[p.created]) == 3


def test_vertex_drag_is_one_undo_step_and_escape_restores(ctx: ToolContext) -> None:
    ctx.stack.push(AddMapElement("lane_divider", [[0, 0, 0], [10, 0, 0], [20, 0, 0]]))
    eid = next(iter(ctx.doc.map_elements))
    t = MapEditTool(ctx)
    n = len(ctx.stack.undo_descriptions()) if hasattr(ctx.stack, "undo_descriptions") else None
    assert t.on_pointer(ev("press", 10.1, 0.1))
    assert (t.selected, t.selected_vertex) == (eid, 1)
    for k in range(1, 6):
        t.on_pointer(ev("move", 10, k * 1.0))
    np.testing.assert_allclose(t.shown_vertices(ctx.doc.map_element(eid))[1], [10, 5, 1.0])
    np.testing.assert_allclose(ctx.doc.map_element(eid).vertices[1], [10, 0, 0])  # not yet in the document
    t.on_pointer(ev("release", 10, 5))
    np.testing.assert_allclose(ctx.doc.map_element(eid).vertices[1], [10, 5, 1.0])
    if n is not None:
        assert len(ctx.stack.undo_descriptions()) == n + 1
    ctx.stack.undo()
    np.testing.assert_allclose(ctx.doc.map_element(eid).vertices[1], [10, 0, 0])
    ctx.stack.redo()
    # Escape during a drag: nothing changes
    t.on_pointer(ev("press", 20, 0))
    t.on_pointer(ev("move", 25, 3))
    assert t.on_key(KeyEvent("escape")) and not t.dragging
    np.testing.assert_allclose(ctx.doc.map_element(eid).vertices[2], [20, 0, 0])
    # a click without moving selects, changes nothing
    t.on_pointer(ev("press", 20, 0))
    t.on_pointer(ev("release", 20, 0))
    np.testing.assert_allclose(ctx.doc.map_element(eid).vertices[2], [20, 0, 0])


def test_insert_and_delete_vertex_and_element(ctx: ToolContext) -> None:
    ctx.stack.push(AddMapElement("lane_divider", [[0, 0, 0], [10, 0, 0], [20, 0, 0]]))
    eid = next(iter(ctx.doc.map_elements))
    t = MapEditTool(ctx)
    assert t.on_pointer(ev("double_click", 5, 0.2))  # on segment 0: inserted as vertex 1 at the foot point
    v = ctx.doc.map_element(eid).vertices
    assert len(v) == 4
    np.testing.assert_allclose(v[1], [5, 0, 0.5])
    assert t.selected_vertex == 1
    assert t.on_key(KeyEvent("delete"))
    assert len(ctx.doc.map_element(eid)) == 3
    t.on_pointer(ev("press", 15, 0.1))  # on a segment, no vertex: the element selected
    t.on_pointer(ev("release", 15, 0.1))
    assert (t.selected, t.selected_vertex) == (eid, None)
    assert t.on_key(KeyEvent("backspace"))
    assert eid not in ctx.doc.map_elements
    ctx.stack.undo()
    t.validate()
    assert eid in ctx.doc.map_elements


def test_element_commands(ctx: ToolContext) -> None:
    ctx.stack.push(AddMapElement("lane_divider", [[0, 0, 0], [10, 0, 0], [20, 0, 0]]))
    ctx.stack.push(AddMapElement("lane_divider", [[20.5, 0, 0], [30, 0, 0]]))
    a, b = sorted(ctx.doc.map_elements)
    reverse_element(ctx, a)
    np.testing.assert_allclose(ctx.doc.map_element(a).vertices[0], [20, 0, 0])
    reverse_element(ctx, a)
    assert join_nearest(ctx, a) == b
    assert len(ctx.doc.map_element(a)) == 5 and b not in ctx.doc.map_elements
    new = split_element(ctx, a, 2)
    assert len(ctx.doc.map_element(a)) == 3 and len(ctx.doc.map_element(new)) == 3
    set_element_class(ctx, a, "stop_line")
    assert ctx.doc.map_element(a).label == "stop_line"
    with pytest.raises(ModelError):
        set_element_class(ctx, a, "ped_crossing")
    with pytest.raises(ModelError):
        join_nearest(ctx, a)  # no other stop line


def test_controller_routes_keys_to_the_map_tool(ctx: ToolContext) -> None:
    ctl = ToolController(ctx)
    t = PolylineTool(ctx, "stop_line")
    ctl.tools["map_draw"] = t
    ctl.set_tool("map_draw")
    ctl.on_pointer(ev("press", 0, 0))
    ctl.on_pointer(ev("press", 3, 0))
    assert ctl.on_key(KeyEvent("enter")) == "map_draw:enter"
    assert len(ctx.doc.map_elements) == 1
    assert ctl.on_key(KeyEvent("z", frozenset({"ctrl"}))) == "undo"  # not drawing: the keymap
    assert not ctx.doc.map_elements


def test_accumulate_keeps_the_lowest_return_per_cell() -> None:
    rng = np.random.default_rng(0)
    gx, gy = np.meshgrid(np.arange(0.05, 10, 0.1), np.arange(0.05, 10, 0.1))
    ground = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])  # one return per 0.1 m cell
    paint = (ground[:, 1] > 4.9) & (ground[:, 1] < 5.1)
    inten = np.where(paint, 0.7, 0.08)
    car = np.column_stack([rng.uniform(2, 4, 500), rng.uniform(4, 6, 500), rng.uniform(0.5, 1.5, 500)])
    sweeps = {0: (ground, inten), 1: (np.vstack([ground + [0, 0, 0.01], car]), np.r_[inten, np.full(500, 0.9)])}
    c = accumulate_sweeps(lambda f: sweeps[f], [0, 1], cell=0.1)
    assert c.raw_points == 2 * len(ground) + 500 and len(c) == len(ground)
    assert float(c.xyz[:, 2].max()) < 0.02  # the car above the ground is gone
    on = np.abs(c.xyz[:, 1] - 5.0) < 0.09
    assert c.intensity[on].mean() > 3 * c.intensity[~on].mean()  # the paint shows
    assert abs(c.ground_height(5, 5) - 0.0) < 0.02
    rgb = intensity_rgb(c.intensity)
    assert rgb.shape == (len(c), 3) and rgb[on].mean() > rgb[~on].mean()
    assert pick_frames(10, 0) == list(range(10)) and pick_frames(10, 3) == [0, 4, 9] and pick_frames(0, 5) == []
    with pytest.raises(ModelError):
        accumulate_sweeps(lambda f: (np.zeros((3, 2)), np.zeros(3)), [0])


def test_resample_and_smooth_a_drawn_line(ctx: ToolContext) -> None:
    from fusionlabel.tools.maptools import resample_element, smooth_element

    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 20.0, 6)
    ctx.stack.push(AddMapElement("lane_divider", np.stack([x, rng.normal(0, 0.2, 6), np.zeros(6)], axis=1)))
    ctx.stack.push(AddMapElement("ped_crossing", [[0, 5, 0], [4, 5, 0], [4, 8, 0], [0, 8, 0]]))
    line, poly = sorted(ctx.doc.map_elements)
    before = ctx.doc.map_element(line)
    resample_element(ctx, line, 1.0)
    v = ctx.doc.map_element(line).vertices
    steps = np.linalg.norm(np.diff(v, axis=0), axis=1)
    assert len(v) > 20 and np.ptp(steps) < 0.01 and np.allclose(v[[0, -1]], before.vertices[[0, -1]])
    wiggle = np.abs(np.diff(v[:, 1], 2)).max()  # the sharpest bend (at the drawn vertices)
    smooth_element(ctx, line, 3.0)
    s = ctx.doc.map_element(line).vertices
    assert len(s) == len(v) and np.abs(np.diff(s[:, 1], 2)).max() < 0.5 * wiggle
    assert np.allclose(s[[0, -1]], v[[0, -1]])
    ctx.stack.undo()
    ctx.stack.undo()
    assert ctx.doc.map_element(line) == before
    resample_element(ctx, poly, 1.0)  # a polygon: 14 m of outline, its ring not repeated
    assert len(ctx.doc.map_element(poly)) == 14 and ctx.doc.map_element(poly).closed
