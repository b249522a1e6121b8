"""Editing in the 3D view without a window: ray picking, move on the ground plane, rotation by the
handle and by ctrl + drag, cancel, undo, a click, a press that misses (left to the view)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import (
    KeyEvent,
    PointerEvent,
    ToolContext,
    ToolController,
    pick_ray,
    ray_box_hit,
    ray_plane_z,
    rotate_handle_3d,
)

CAR = Box3D((10.0, 5.0, 0.8), (4.0, 2.0, 1.6), 0.3)
EYE = np.array([0.0, -4.0, 9.0])  # a 3D-view camera above and beside the car


def make(frame: int = 5) -> tuple[ToolContext, ToolController, list]:
    doc = AnnotationDocument(20)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, CAR))
    stack.push(SetKeyframe(0, 10, CAR.replace(center=(14.0, 5.0, 0.8))))
    stack.clear()
    previews: list = []
    ctx = ToolContext(doc, stack, frame, ground=0.0, on_preview=previews.append, selection=0)
    return ctx, ToolController(ctx), previews


def ev3(kind: str, target, px: tuple[float, float], mods: tuple[str, ...] = (), button: str = "left") -> PointerEvent:
    """An event whose ray runs from EYE through the world point ``target``."""
    return PointerEvent.in_3d(kind, EYE, np.asarray(target, dtype=float) - EYE, px, button, frozenset(mods))


def test_ray_box_hit() -> None:
    b = Box3D((10.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
    assert ray_box_hit((0, 0, 1), (1, 0, 0), b) == pytest.approx(8.0)
    assert ray_box_hit((0, 0, 1), (2, 0, 0), b) == pytest.approx(8.0)  # any length of direction
    assert ray_box_hit((0, 0, 1), (-1, 0, 0), b) is None  # behind
    assert ray_box_hit((0, 5, 1), (1, 0, 0), b) is None  # beside
    assert ray_box_hit((0, 1.5, 1), (1, 0, 0), b, margin=0.6) == pytest.approx(7.4)
    assert ray_box_hit((10, 0, 1), (0, 0, 1), b) == 0.0  # inside
    turned = b.replace(yaw=math.pi / 2)  # now 2 m along x: entered at x = 9
    assert ray_box_hit((0, 0, 1), (1, 0, 0), turned) == pytest.approx(9.0)
    near, far = Box3D((5.0, 0.0, 1.0), (1.0, 1.0, 1.0), 0.0), b
    assert pick_ray([(7, far), (3, near)], (0, 0, 1), (1, 0, 0)) == [3, 7]
    with pytest.raises(ValueError):
        ray_box_hit((0, 0, 0), (0, 0, 0), b)


def test_event_validation() -> None:
    e = PointerEvent.in_3d("press", (0, 0, 1), (0, 0, -2), (10, 20))
    assert e.ray_direction == (0.0, 0.0, -1.0) and e.view == "3d"
    with pytest.raises(ValueError):
        PointerEvent("press", view="3d", pos_px=(1, 2))  # no ray
    with pytest.raises(ValueError):
        PointerEvent.in_3d("press", (0, 0, 1), (0, 0, 0), (1, 2))
    with pytest.raises(ValueError):
        PointerEvent("press", view="camera", pos_px=(1, 2))  # no camera name
    assert PointerEvent("press", (1.0, 2.0)).pos_px is None  # the plane views are unchanged


def test_drag_moves_on_the_ground_plane_and_undo_restores() -> None:
    ctx, ctl, previews = make()
    before = ctx.selected_box()
    assert before is not None and not before.is_keyframe  # interpolated at frame 5
    box0 = before.box
    grab = np.array([box0.center[0], box0.center[1], box0.center[2] + box0.height / 2])  # a point on the top
    assert ctl.on_pointer(ev3("press", grab, (100, 100)))
    target = grab + np.array([2.0, -1.5, 0.0])  # the same height: the grab plane
    ctl.on_pointer(ev3("move", grab + np.array([1.0, -0.5, 0.0]), (120, 110)))
    ctl.on_pointer(ev3("move", target, (140, 120)))
    assert previews[-1] is not None and previews[-1].kind == "move"
    assert len(ctx.stack) == 0  # nothing committed during the drag
    assert ctl.on_pointer(ev3("release", target, (140, 120)))
    assert previews[-1] is None
    assert len(ctx.stack) == 1  # one command
    after = ctx.selected_box()
    assert after is not None and after.is_keyframe  # the edit made a keyframe at frame 5
    assert after.box.center[0] - box0.center[0] == pytest.approx(2.0, abs=1e-9)
    assert after.box.center[1] - box0.center[1] == pytest.approx(-1.5, abs=1e-9)
    assert after.box.center[2] == pytest.approx(box0.center[2])
    assert after.box.yaw == pytest.approx(box0.yaw) and after.box.size == box0.size
    ctl.perform("undo")
    restored = ctx.selected_box()
    assert restored is not None and not restored.is_keyframe and restored.box == box0


def test_grab_offset_is_kept() -> None:
    # grabbing the side (not the centre) and moving the ray to a point 3 m further along x moves the
    # box by 3 m, not to the pointer
    ctx, ctl, _ = make(frame=0)
    side = np.array([CAR.center[0] - 1.0, CAR.center[1], CAR.center[2] + CAR.height / 2])
    assert ctl.on_pointer(ev3("press", side, (50, 50)))
    ctl.on_pointer(ev3("move", side + [3.0, 0.0, 0.0], (90, 50)))
    ctl.on_pointer(ev3("release", side + [3.0, 0.0, 0.0], (90, 50)))
    assert ctx.selected_box().box.center[:2] == pytest.approx((CAR.center[0] + 3.0, CAR.center[1]))


@pytest.mark.parametrize("how", ["handle", "ctrl"])
def test_rotate(how: str) -> None:
    ctx, ctl, previews = make(frame=0)
    c = np.asarray(CAR.center)
    if how == "handle":
        start = rotate_handle_3d(CAR)
        mods: tuple[str, ...] = ()
    else:
        start = c + np.array([1.2 * math.cos(CAR.yaw), 1.2 * math.sin(CAR.yaw), CAR.height / 2])
        mods = ("ctrl",)
    assert ctl.on_pointer(ev3("press", start, (0, 0), mods))
    turn = math.radians(30.0)
    rel = start[:2] - c[:2]
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]]) @ rel
    end = np.array([c[0] + rot[0] * 1.5, c[1] + rot[1] * 1.5, start[2]])  # radius does not matter
    ctl.on_pointer(ev3("move", end, (30, 0), mods))
    assert previews[-1].kind == "rotate"
    ctl.on_pointer(ev3("release", end, (30, 0), mods))
    got = ctx.selected_box().box
    assert got.yaw == pytest.approx(CAR.yaw + turn, abs=1e-9)
    assert got.center == pytest.approx(CAR.center) and len(ctx.stack) == 1


def test_escape_cancels_and_click_does_nothing() -> None:
    ctx, ctl, previews = make(frame=0)
    top = np.array([*CAR.center[:2], CAR.center[2] + CAR.height / 2])
    ctl.on_pointer(ev3("press", top, (10, 10)))
    ctl.on_pointer(ev3("move", top + [2.0, 0.0, 0.0], (40, 10)))
    assert ctl.dragging and previews[-1] is not None
    assert ctl.on_key(KeyEvent("escape")) == "cancel"
    assert previews[-1] is None and not ctl.dragging
    ctl.on_pointer(ev3("release", top + [2.0, 0.0, 0.0], (40, 10)))
    assert len(ctx.stack) == 0 and ctx.selected_box().box == CAR
    # press and release without moving past the threshold
    assert ctl.on_pointer(ev3("press", top, (10, 10)))
    ctl.on_pointer(ev3("move", top + [0.01, 0.0, 0.0], (11, 10)))
    ctl.on_pointer(ev3("release", top + [0.01, 0.0, 0.0], (11, 10)))
    assert len(ctx.stack) == 0 and ctx.selected_box().box == CAR


def test_press_off_the_box_is_not_handled() -> None:
    ctx, ctl, _ = make(frame=0)
    assert not ctl.on_pointer(ev3("press", (30.0, -20.0, 0.0), (5, 5)))  # the ground far away: orbit
    assert not ctl.on_pointer(ev3("press", CAR.center, (5, 5), button="right"))
    ctx.set_selection(None)
    assert not ctl.on_pointer(ev3("press", CAR.center, (5, 5)))  # nothing selected
    # the plane tools ignore 3D events; the active tool does not matter
    ctl.set_tool("create")
    ctx.set_selection(0)
    assert ctl.on_pointer(ev3("press", CAR.center, (5, 5)))
    assert ctl.tool.dragging is False and ctl.dragging


def test_box_in_front_takes_the_press_and_cursor_hints() -> None:
    ctx, ctl, _ = make(frame=0)
    top = np.array([*CAR.center[:2], CAR.center[2] + CAR.height / 2])
    assert ctl.cursor(ev3("move", top, (1, 1), button="none")) == "move"
    assert ctl.cursor(ev3("move", rotate_handle_3d(CAR), (1, 1), button="none")) == "rotate"
    assert ctl.cursor(ev3("move", top, (1, 1), ("ctrl",), button="none")) == "rotate"
    assert ctl.cursor(ev3("move", (40.0, 30.0, 0.0), (1, 1), button="none")) == "default"
    # a second box between the eye and the selected one
    mid = (EYE + top) / 2
    ctx.stack.push(CreateTrack("car", 0, Box3D(tuple(mid), (1.0, 1.0, 1.0), 0.0)))
    assert not ctl.on_pointer(ev3("press", top, (1, 1)))


def test_ray_plane() -> None:
    q = ray_plane_z(np.array([0.0, 0.0, 10.0]), np.array([0.6, 0.0, -0.8]), 2.0)
    assert q == pytest.approx((6.0, 0.0, 2.0))
    assert ray_plane_z(np.array([0.0, 0.0, 10.0]), np.array([1.0, 0.0, 0.0]), 2.0) is None
    assert ray_plane_z(np.array([0.0, 0.0, 10.0]), np.array([0.0, 0.0, 1.0]), 2.0) is None  # behind


def test_shift_drag_changes_the_height_only() -> None:
    ctx, ctl, previews = make(0)
    box0 = ctx.selected_box().box
    press = ev3("press", box0.center, (100, 100), ("shift",))
    grab = ctl.view_tools["3d"].hit(press)[1]  # where the ray enters the box
    assert ctl.on_pointer(press)
    up = grab + np.array([0.0, 0.0, 0.7])  # the ray through a point 0.7 m above the grabbed one
    assert ctl.on_pointer(ev3("move", up, (100, 60), ("shift",)))
    assert previews[-1] is not None and previews[-1].box.center[2] == pytest.approx(box0.center[2] + 0.7)
    assert ctl.on_pointer(ev3("release", up, (100, 60), ("shift",)))
    after = ctx.selected_box().box
    assert after.center[:2] == pytest.approx(box0.center[:2]) and after.yaw == pytest.approx(box0.yaw)
    assert after.center[2] == pytest.approx(box0.center[2] + 0.7)
    assert ctx.stack.undo() and ctx.selected_box().box.center[2] == pytest.approx(box0.center[2])
