"""Keyboard actions through the keymap: nudges merging into one undo step, rotation, size,
delete, copy to the next frame, selection cycling, frames, undo/redo, save."""

from __future__ import annotations

import math

import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import KeyEvent, Keymap, PointerEvent, Steps, ToolContext, ToolController

A = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), math.pi / 2)  # heading +y
B = Box3D((10.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
ST = Steps()


def make(frame_count: int = 10):
    doc = AnnotationDocument(frame_count)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, A))
    stack.push(CreateTrack("car", 0, B))
    stack.clear()
    frames: list[int] = []
    app: list[str] = []
    ctx = ToolContext(doc, stack, 0, ground=0.0, on_frame=frames.append)
    ctl = ToolController(ctx, on_app_action=app.append)
    return ctx, ctl, frames, app


def key(ctl: ToolController, k: str, *mods: str) -> str | None:
    return ctl.on_key(KeyEvent(k, frozenset(mods)))


def test_nudges_in_the_box_frame_merge_into_one_undo_step() -> None:
    ctx, ctl, _, _ = make()
    ctx.set_selection(0)
    assert key(ctl, "w") == "nudge"  # forward = +y for this box
    key(ctl, "w")
    key(ctl, "a")  # left of a box heading +y is -x
    key(ctl, "w", "shift")
    key(ctl, "q")
    key(ctl, "r")
    b = ctx.doc.box_at(0, 0).box
    assert b.center == pytest.approx((-ST.move, 2 * ST.move + ST.move_large, 1.0 + ST.move))
    assert b.yaw == pytest.approx(math.pi / 2 + ST.rotate)
    assert len(ctx.stack) == 1
    ctx.stack.undo()
    assert ctx.doc.box_at(0, 0).box == A


def test_another_action_ends_the_nudge_step() -> None:
    ctx, ctl, _, _ = make()
    ctx.set_selection(0)
    key(ctl, "w")
    key(ctl, "w")
    key(ctl, "tab")  # select B
    key(ctl, "tab", "shift")  # back to A
    key(ctl, "d")
    assert len(ctx.stack) == 2
    # a mouse press also ends the run
    ctl.on_pointer(PointerEvent("press", (50.0, 50.0)))
    ctl.on_pointer(PointerEvent("release", (50.0, 50.0)))
    ctx.set_selection(0)
    key(ctl, "d")
    assert len(ctx.stack) == 3


def test_nudges_after_a_save_start_a_new_step() -> None:
    ctx, ctl, _, app = make()
    ctx.set_selection(0)
    key(ctl, "w")
    assert key(ctl, "s", "ctrl") == "save" and app == ["save"]
    ctx.stack.mark_clean()
    key(ctl, "w")
    assert len(ctx.stack) == 2


def test_rotation_and_resize_keys() -> None:
    ctx, ctl, _, _ = make()
    ctx.set_selection(1)
    key(ctl, "e", "shift")
    assert ctx.doc.box_at(1, 0).box.yaw == pytest.approx(-ST.rotate_large)
    key(ctl, "w", "alt")
    key(ctl, "a", "alt", "shift")
    key(ctl, "r", "alt")
    b = ctx.doc.box_at(1, 0).box
    assert b.size == pytest.approx((4.0 + ST.size, 2.0 - ST.size_large, 2.0 + ST.size))
    assert b.center == B.center
    assert len(ctx.stack) == 1


def test_nudge_without_selection_does_nothing() -> None:
    ctx, ctl, _, _ = make()
    assert key(ctl, "w") is None
    assert len(ctx.stack) == 0


def test_frames_and_copy_to_next_frame() -> None:
    ctx, ctl, frames, _ = make(frame_count=5)
    ctx.set_selection(1)
    assert key(ctl, "c") == "copy_to_next_frame"
    assert ctx.frame == 1 and frames == [1] and ctx.selection == 1
    assert ctx.doc.box_at(1, 1).is_keyframe and ctx.doc.box_at(1, 1).box == B
    key(ctl, "w")  # adjust the copy: a separate step
    assert len(ctx.stack) == 2
    assert key(ctl, "left") == "frame_step" and ctx.frame == 0
    assert key(ctl, "c") is None  # frame 1 already has a keyframe: not overwritten
    assert ctx.frame == 0
    key(ctl, "right", "shift")
    assert ctx.frame == 4  # clamped to the last frame
    assert key(ctl, "right") is None
    key(ctl, "home")
    assert ctx.frame == 0
    key(ctl, "end")
    assert ctx.frame == 4
    assert key(ctl, "c") is None  # last frame
    ctx.stack.undo()
    ctx.stack.undo()
    assert ctx.doc.track(1).keyframe_indices() == [0]


def test_copy_from_an_interpolated_frame() -> None:
    ctx, ctl, _, _ = make()
    ctx.stack.push(SetKeyframe(1, 4, B.replace(center=(14.0, 0.0, 1.0))))
    ctx.set_frame(2)
    ctx.set_selection(1)
    key(ctl, "c")
    assert ctx.frame == 3 and ctx.doc.box_at(1, 3).is_keyframe
    assert ctx.doc.box_at(1, 3).box.center == pytest.approx((12.0, 0.0, 1.0))


def test_delete_removes_the_keyframe_then_the_track() -> None:
    ctx, ctl, _, _ = make()
    ctx.stack.push(SetKeyframe(0, 4, A))
    ctx.set_selection(0)
    ctx.set_frame(4)
    assert key(ctl, "delete") == "delete_box"
    assert ctx.doc.track(0).keyframe_indices() == [0] and ctx.selection == 0
    assert key(ctl, "delete") is None  # no box at frame 4 any more
    ctx.set_frame(0)
    key(ctl, "backspace")  # its only keyframe: the track goes
    assert 0 not in ctx.doc and ctx.selection is None
    ctx.stack.undo()
    assert 0 in ctx.doc


def test_delete_on_an_interpolated_frame_keeps_everything_and_shift_delete_deletes_the_track() -> None:
    ctx, ctl, _, _ = make()
    messages: list[str] = []
    ctx.events.message.connect(messages.append)
    ctx.stack.push(SetKeyframe(0, 4, A))
    ctx.set_selection(0)
    ctx.set_frame(2)
    assert key(ctl, "delete") is None and messages
    assert key(ctl, "delete", "shift") == "delete_track"
    assert 0 not in ctx.doc and ctx.selection is None
    assert key(ctl, "z", "ctrl") == "undo"
    assert ctx.doc.track(0).keyframe_indices() == [0, 4]


def test_undo_redo_keys_and_selection_after_undo() -> None:
    ctx, ctl, _, _ = make()
    ctx.set_selection(1)
    key(ctl, "w")
    key(ctl, "z", "ctrl")
    assert ctx.doc.box_at(1, 0).box == B
    key(ctl, "z", "ctrl", "shift")
    assert ctx.doc.box_at(1, 0).box.center == pytest.approx((ST.move + 10.0, 0.0, 1.0))
    key(ctl, "z", "ctrl")
    assert key(ctl, "y", "ctrl") == "redo"
    # undoing a creation drops the selection of the vanished track
    ctl.on_pointer(PointerEvent("move", (20.0, 20.0), button="none"))
    assert key(ctl, "n") == "create_at_cursor"
    new = ctx.selection
    assert new == 2 and ctx.doc.box_at(2, 0).box.center[:2] == pytest.approx((20.0, 20.0))
    key(ctl, "z", "ctrl")
    assert ctx.selection is None


def test_cycle_selection_with_tab() -> None:
    ctx, ctl, _, _ = make()
    key(ctl, "tab")
    assert ctx.selection == 0
    key(ctl, "tab")
    assert ctx.selection == 1
    key(ctl, "tab")
    assert ctx.selection == 0
    key(ctl, "tab", "shift")
    assert ctx.selection == 1
    assert key(ctl, "escape") == "escape" and ctx.selection is None


def test_tool_switch_keys() -> None:
    ctx, ctl, _, _ = make()
    key(ctl, "b")
    assert ctl.active_name == "create"
    key(ctl, "v")
    assert ctl.active_name == "edit"


def test_keymap_is_unambiguous_and_documented() -> None:
    km = Keymap.default()
    rows = km.help_rows()
    assert len(rows) == len(km.bindings)
    assert "Ctrl+Shift+Z" in km.shortcuts_for("redo")
    assert km.shortcuts_for("save") == ["Ctrl+S"]
    with pytest.raises(ValueError, match="bound twice"):
        Keymap([*km.bindings, km.bindings[0]])
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "tools.md").read_text(encoding="utf-8")
    for b in km.bindings:
        assert f"`{b.shortcut}`" in doc, f"{b.shortcut} ({b.action}) is not in docs/tools.md"


def test_key_event_normalises() -> None:
    ev = KeyEvent("W", frozenset({"shift"}))
    assert ev.key == "w"
    with pytest.raises(ValueError):
        KeyEvent("w", frozenset({"meta"}))
    with pytest.raises(ValueError):
        PointerEvent("press", (0.0, float("nan")))


def test_copy_to_next_frame_uses_the_box_predictor() -> None:
    ctx, ctl, _, _ = make()
    calls = []

    def predict(doc, tid, f0, f1):
        calls.append((tid, f0, f1))
        b = doc.box_at(tid, f0).box
        return b.replace(center=(b.center[0] + 1.0, b.center[1], b.center[2]))

    ctx.box_predictor = predict
    ctx.set_selection(1)
    key(ctl, "c")
    assert calls == [(1, 0, 1)]
    assert ctx.doc.box_at(1, 1).box.center == pytest.approx((11.0, 0.0, 1.0))
