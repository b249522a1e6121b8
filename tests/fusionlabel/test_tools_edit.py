"""Pointer tools without a window: select / pick / cycle, move, resize, rotate, side/front
views, cancel and the one-command-per-drag rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import (
    MIN_SIZE,
    KeyEvent,
    PointerEvent,
    ToolContext,
    ToolController,
    box_handles,
    pick,
    world_to_view,
)

CAR = Box3D((10.0, 5.0, 0.8), (4.0, 2.0, 1.6), 0.0)
PED = Box3D((30.0, 0.0, 0.9), (0.6, 0.6, 1.8), 0.0)
PPM = 20.0  # pixels per metre: handle tolerance 8 px = 0.4 m, drag threshold 3 px = 0.15 m


def make(boxes: list[Box3D] = (CAR, PED), frame_count: int = 10) -> tuple[ToolContext, ToolController, list]:
    doc = AnnotationDocument(frame_count)
    stack = UndoStack(doc)
    for b in boxes:
        stack.push(CreateTrack("car", 0, b))
    stack.clear()
    previews: list = []
    ctx = ToolContext(doc, stack, 0, ground=0.0, on_preview=previews.append)
    return ctx, ToolController(ctx), previews


def pe(kind: str, xy: tuple[float, float], view: str = "bev", mods: tuple[str, ...] = (), button: str = "left"):
    return PointerEvent(kind, xy, button=button, modifiers=frozenset(mods), view=view, pixels_per_metre=PPM)


def drag(ctl: ToolController, p0, p1, view: str = "bev", mods: tuple[str, ...] = (), release: bool = True) -> None:
    ctl.on_pointer(pe("press", p0, view, mods))
    for t in (0.25, 0.5, 1.0):
        ctl.on_pointer(pe("move", (p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])), view, mods))
    if release:
        ctl.on_pointer(pe("release", p1, view, mods))


def click(ctl: ToolController, p, view: str = "bev") -> None:
    ctl.on_pointer(pe("press", p, view))
    ctl.on_pointer(pe("release", p, view))


def box(ctx: ToolContext, tid: int = 0, frame: int | None = None) -> Box3D:
    return ctx.doc.box_at(tid, ctx.frame if frame is None else frame).box


# ---- selection ---------------------------------------------------------------------------------
def test_click_selects_and_empty_click_deselects() -> None:
    ctx, ctl, _ = make()
    click(ctl, (10.5, 5.2))
    assert ctx.selection == 0
    click(ctl, (30.0, 0.1))
    assert ctx.selection == 1
    click(ctl, (50.0, 50.0))
    assert ctx.selection is None
    assert len(ctx.stack) == 0  # selection is not an edit


def test_pick_within_tolerance_outside_the_footprint() -> None:
    ctx, ctl, _ = make()
    click(ctl, (30.0, 0.3 + 0.3))  # 0.3 m outside the pedestrian, tolerance 0.4 m
    assert ctx.selection == 1
    click(ctl, (30.0, 0.3 + 1.0))
    assert ctx.selection is None


def test_repeated_clicks_cycle_through_overlapping_boxes() -> None:
    big = Box3D((0.0, 0.0, 1.0), (8.0, 3.0, 2.0), 0.0)
    small = Box3D((1.0, 0.0, 1.0), (1.0, 1.0, 2.0), 0.3)
    ctx, ctl, _ = make([big, small])
    click(ctl, (1.0, 0.1))
    assert ctx.selection == 1  # the smaller footprint wins
    click(ctl, (1.0, 0.1))
    assert ctx.selection == 0
    click(ctl, (1.0, 0.1))
    assert ctx.selection == 1
    # a fresh click elsewhere on the selected box keeps it
    click(ctl, (-3.0, 1.0))
    assert ctx.selection == 0
    click(ctl, (1.05, 0.0))
    assert ctx.selection == 0  # fresh spot, the selection is a candidate: kept
    assert len(ctx.stack) == 0


def test_press_drag_on_unselected_box_selects_and_moves_it() -> None:
    ctx, ctl, _ = make()
    drag(ctl, (10.0, 5.0), (12.0, 6.0))
    assert ctx.selection == 0
    assert box(ctx).center == pytest.approx((12.0, 6.0, 0.8))
    assert len(ctx.stack) == 1


def test_drag_on_empty_space_does_nothing() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    drag(ctl, (50.0, 50.0), (55.0, 55.0))
    assert ctx.selection == 0 and len(ctx.stack) == 0


# ---- move / resize / rotate in BEV ----------------------------------------------------------------
def test_move_previews_then_commits_one_command() -> None:
    ctx, ctl, previews = make()
    ctx.set_selection(0)
    drag(ctl, (10.5, 5.0), (13.5, 4.0), release=False)
    assert ctx.preview is not None and ctx.preview.kind == "move"
    assert ctx.preview.box.center == pytest.approx((13.0, 4.0, 0.8))
    assert box(ctx) == CAR  # the document is untouched during the drag
    assert len(ctx.stack) == 0
    ctl.on_pointer(pe("release", (13.5, 4.0)))
    assert ctx.preview is None and previews[-1] is None
    assert box(ctx).center == pytest.approx((13.0, 4.0, 0.8))
    assert len(ctx.stack) == 1
    ctx.stack.undo()
    assert box(ctx) == CAR


def test_press_release_without_motion_pushes_nothing() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    for p in [(10.0, 5.0), (12.0, 5.0), (12.0, 6.0), (10.0 + 2.0 + 30 / PPM, 5.0)]:  # inside, edge, corner, rotate
        ctl.on_pointer(pe("press", p))
        ctl.on_pointer(pe("move", (p[0] + 0.01, p[1])))  # below the drag threshold
        ctl.on_pointer(pe("release", (p[0] + 0.01, p[1])))
    assert len(ctx.stack) == 0 and box(ctx) == CAR and ctx.selection == 0


def test_drag_back_to_start_pushes_nothing() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    ctl.on_pointer(pe("press", (10.0, 5.0)))
    ctl.on_pointer(pe("move", (11.0, 5.0)))
    ctl.on_pointer(pe("move", (10.0, 5.0)))
    ctl.on_pointer(pe("release", (10.0, 5.0)))
    assert len(ctx.stack) == 0


@pytest.mark.parametrize(
    ("grab", "to", "center", "size"),
    [
        ((12.0, 5.0), (13.0, 5.3), (10.5, 5.0), (5.0, 2.0)),  # front edge: rear stays at x = 8
        ((8.0, 5.0), (9.0, 5.0), (10.5, 5.0), (3.0, 2.0)),  # rear edge: front stays at x = 12
        ((10.0, 6.0), (10.0, 6.5), (10.0, 5.25), (4.0, 2.5)),  # left edge: right stays at y = 4
        ((12.0, 6.0), (13.0, 7.0), (10.5, 5.5), (5.0, 3.0)),  # front-left corner: rear-right fixed
        ((12.0, 5.0), (0.0, 5.0), (8.0 + MIN_SIZE / 2, 5.0), (MIN_SIZE, 2.0)),  # minimum size
    ],
)
def test_resize_keeps_the_opposite_side(grab, to, center, size) -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    drag(ctl, grab, to)
    b = box(ctx)
    assert b.center[:2] == pytest.approx(center)
    assert b.size[:2] == pytest.approx(size)
    assert b.size[2] == CAR.size[2] and b.center[2] == CAR.center[2] and b.yaw == CAR.yaw
    assert len(ctx.stack) == 1


def test_resize_of_a_yawed_box_is_in_the_box_frame() -> None:
    yawed = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), math.pi / 2)  # heading +y
    ctx, ctl, _ = make([yawed])
    ctx.set_selection(0)
    drag(ctl, (0.0, 2.0), (0.3, 3.0))  # front edge at y = 2 pulled 1 m further along +y
    b = box(ctx)
    assert b.size == pytest.approx((5.0, 2.0, 2.0))
    assert b.center[:2] == pytest.approx((0.0, 0.5))  # rear face stays at y = -2
    assert b.yaw == pytest.approx(math.pi / 2)


def test_rotate_handle_and_shift_snap() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    handle = next(h for h in box_handles("bev", CAR, PPM) if h.name == "rotate")
    assert handle.pos == pytest.approx((12.0 + 30 / PPM, 5.0))
    r = handle.pos[0] - 10.0
    target = (10.0 + r * math.cos(0.5), 5.0 + r * math.sin(0.5))
    drag(ctl, handle.pos, target)
    assert box(ctx).yaw == pytest.approx(0.5)
    assert box(ctx).center == CAR.center and box(ctx).size == CAR.size
    ctx.stack.undo()
    drag(ctl, handle.pos, target, mods=("shift",))
    assert box(ctx).yaw == pytest.approx(math.radians(30.0))  # 28.6 deg snapped to 30
    assert len(ctx.stack) == 1


def test_escape_cancels_a_drag_and_restores() -> None:
    ctx, ctl, previews = make()
    ctx.set_selection(0)
    drag(ctl, (12.0, 5.0), (15.0, 5.0), release=False)
    assert ctx.preview is not None
    assert ctl.on_key(KeyEvent("escape")) == "cancel"
    assert ctx.preview is None and previews[-1] is None
    ctl.on_pointer(pe("release", (15.0, 5.0)))
    assert box(ctx) == CAR and len(ctx.stack) == 0
    assert ctx.selection == 0  # escape cancelled the drag only


def test_keys_other_than_escape_are_ignored_during_a_drag() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    drag(ctl, (10.0, 5.0), (11.0, 5.0), release=False)
    assert ctl.on_key(KeyEvent("w")) is None
    assert ctl.on_key(KeyEvent("z", frozenset({"ctrl"}))) is None
    ctl.on_pointer(pe("release", (11.0, 5.0)))
    assert len(ctx.stack) == 1


def test_drag_on_an_interpolated_frame_creates_a_keyframe_and_undo_restores() -> None:
    ctx, ctl, _ = make([CAR])
    ctx.stack.push(CreateTrack("car", 0, PED))  # unrelated
    from fusionlabel.commands import SetKeyframe

    ctx.stack.push(SetKeyframe(0, 4, CAR.replace(center=(18.0, 5.0, 0.8))))
    before = {f: box(ctx, 0, f) for f in range(5)}
    ctx.set_frame(2)
    ctx.set_selection(0)
    assert not ctx.doc.box_at(0, 2).is_keyframe
    c = box(ctx).center
    drag(ctl, c[:2], (c[0], c[1] + 1.0))
    assert ctx.doc.box_at(0, 2).is_keyframe
    assert box(ctx).center == pytest.approx((c[0], c[1] + 1.0, c[2]))
    ctx.stack.undo()
    assert not ctx.doc.box_at(0, 2).is_keyframe
    assert {f: box(ctx, 0, f) for f in range(5)} == before


def test_right_button_is_not_consumed() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    assert ctl.on_pointer(pe("press", (10.0, 5.0), button="right")) is False
    assert ctl.on_pointer(pe("wheel", (10.0, 5.0), button="none")) is False


# ---- side and front views -------------------------------------------------------------------------
def yawed_ctx():
    b = Box3D((5.0, 5.0, 1.0), (4.0, 2.0, 2.0), math.pi / 2)  # heading +y, left is -x
    ctx, ctl, _ = make([b])
    ctx.set_selection(0)
    return b, ctx, ctl


def test_world_to_view_side_and_front() -> None:
    b, _, _ = yawed_ctx()
    pts = np.array([[5.0, 7.0, 3.0], [4.0, 5.0, 0.0]])
    assert world_to_view("side", pts, b) == pytest.approx(np.array([[2.0, 3.0], [0.0, 0.0]]))
    assert world_to_view("front", pts, b) == pytest.approx(np.array([[0.0, 3.0], [1.0, 0.0]]))


def test_side_view_move_along_heading_and_z() -> None:
    b, ctx, ctl = yawed_ctx()
    drag(ctl, (0.5, 1.2), (1.5, 1.7), view="side")
    assert box(ctx).center == pytest.approx((5.0, 6.0, 1.5))
    assert box(ctx).size == b.size and len(ctx.stack) == 1


def test_front_view_move_along_the_box_y_axis() -> None:
    b, ctx, ctl = yawed_ctx()
    drag(ctl, (0.2, 1.0), (1.2, 1.0), view="front")
    assert box(ctx).center == pytest.approx((4.0, 5.0, 1.0))  # +1 m to the box's left = -x


def test_side_view_top_handle_changes_height_bottom_fixed() -> None:
    b, ctx, ctl = yawed_ctx()
    assert pick("side", b, (0.0, 2.0), PPM, b).name == "top"
    drag(ctl, (0.0, 2.0), (0.4, 2.5), view="side")
    nb = box(ctx)
    assert nb.size == pytest.approx((4.0, 2.0, 2.5))
    assert nb.center[2] - nb.size[2] / 2 == pytest.approx(0.0)  # bottom stays on the ground
    assert nb.center[:2] == pytest.approx(b.center[:2])


def test_side_view_bottom_and_front_handles() -> None:
    b, ctx, ctl = yawed_ctx()
    drag(ctl, (0.0, 0.0), (0.0, 0.5), view="side")  # bottom up by 0.5: top fixed at 2
    nb = box(ctx)
    assert nb.size[2] == pytest.approx(1.5) and nb.center[2] + nb.size[2] / 2 == pytest.approx(2.0)
    ctx.stack.undo()
    drag(ctl, (2.0, 1.0), (3.0, 1.0), view="side")  # front face (+y in the world) by 1 m
    nb = box(ctx)
    assert nb.size[0] == pytest.approx(5.0) and nb.center[:2] == pytest.approx((5.0, 5.5))


def test_front_view_width_handle() -> None:
    b, ctx, ctl = yawed_ctx()
    assert pick("front", b, (1.0, 1.0), PPM, b).name == "left"
    drag(ctl, (1.0, 1.0), (1.5, 1.0), view="front")
    nb = box(ctx)
    assert nb.size[1] == pytest.approx(2.5) and nb.center[:2] == pytest.approx((4.75, 5.0))


def test_side_view_without_selection_is_not_consumed() -> None:
    ctx, ctl, _ = make()
    assert ctl.on_pointer(pe("press", (0.0, 1.0), view="side")) is False
    assert ctx.selection is None


def test_cursor_hints() -> None:
    ctx, ctl, _ = make()
    ctx.set_selection(0)
    assert ctl.cursor(pe("move", (10.0, 5.0), button="none")) == "move"
    assert ctl.cursor(pe("move", (12.0, 5.0), button="none")) == "resize:front"
    assert ctl.cursor(pe("move", (12.0, 6.0), button="none")) == "resize:front_left"
    assert ctl.cursor(pe("move", (12.0 + 30 / PPM, 5.0), button="none")) == "rotate"
    assert ctl.cursor(pe("move", (40.0, 40.0), button="none")) == "default"
