"""The action registry headless (no Qt, no qtbot): every action reachable and documented, no key
bound twice, the keymap built from it, and actions run on a model without a window."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import APP_ACTIONS, KeyEvent, ToolContext, ToolController
from fusionlabel.tools.keymap import default_bindings
from gui.model import ViewerModel
from gui.model.actions import Action, ActionRegistry, default_actions, default_registry, normalise_shortcut
from gui.model.export import EXPORTS

A = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
B = Box3D((10.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)


class Recorder:
    """A part of the window that records what was called on it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self.calls.append((name, args)) or True


def headless(registry: ActionRegistry | None = None) -> tuple[ViewerModel, ToolContext, ActionRegistry]:
    """A model over a two-track, 10-frame document, its tools bound like the window binds them,
    and recording parts."""
    reg = registry or default_registry()
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, A))
    stack.push(CreateTrack("car", 0, B))
    m = ViewerModel()
    ctx = ToolContext(doc, stack, 0, ground=0.0)
    ctl = ToolController(ctx, reg.keymap, on_app_action=lambda name: reg.run(name, m), app_actions=reg.app_actions())
    m.set_session(SimpleNamespace(doc=doc, undo=stack))
    m.bind_tools(ctx, ctl)
    for part in ("shell", "tracks", "auto_track", "proposal_review", "review", "export"):
        setattr(m, part, Recorder())
    return m, ctx, reg


def test_every_action_has_a_menu_entry_or_a_key_and_a_help_row() -> None:
    reg = default_registry()
    helped = {r.action for r in reg.help_table()}
    for a in reg:
        assert a.menu or reg.keys_of(a.id), f"{a.id}: no menu entry and no key"
        assert a.id in helped, f"{a.id}: no help row"
    assert len(reg) > 60
    # the F1 table keeps every row of the tools' keymap, in its order
    assert reg.help_rows()[: len(default_bindings())] == reg.keymap.help_rows()


def test_every_key_action_is_registered_and_every_export_has_an_entry() -> None:
    reg = default_registry()
    assert {b.action for b in reg.keymap.bindings} <= {a.id for a in reg}
    assert APP_ACTIONS <= {a.id for a in reg}
    assert [a.id for a in reg if a.menu == "File/&Export"] == [f"export_{k}" for k in EXPORTS]


def test_no_shortcut_is_bound_twice_in_the_window() -> None:
    reg = default_registry()
    seen: dict[str, str] = {}
    for b in reg.keymap.bindings:
        k = normalise_shortcut(b.shortcut)
        assert k not in seen, (b.shortcut, b.action, seen.get(k))
        seen[k] = b.action
    for a in reg:
        for s in a.shortcuts:
            k = normalise_shortcut(s)
            assert k not in seen, (s, a.id, seen.get(k))
            seen[k] = a.id
    # the registry refuses a planted duplicate: a window shortcut on a keymap key, a key twice
    clash = Action("clash", "Clash", lambda m: None, "View", ("Ctrl+Z",))
    with pytest.raises(ValueError, match="bound twice"):
        ActionRegistry([*default_actions(), clash])
    twice = Action("twice", "Twice", lambda m: None, "View", keys=("Ctrl+S",))
    with pytest.raises(ValueError, match="bound twice"):
        ActionRegistry([*default_actions(), twice])
    with pytest.raises(ValueError, match="registered twice"):
        ActionRegistry([*default_actions(), default_actions()[0]])
    with pytest.raises(ValueError, match="unregistered"):
        ActionRegistry([a for a in default_actions() if a.id != "flip_track"])


def test_menus_in_order_with_the_export_submenu() -> None:
    reg = default_registry()
    tops = [p for p, _ in reg.menus() if "/" not in p]
    assert tops == ["File", "Edit", "Track", "Assist", "Navigate", "View", "Map", "Review", "Help"]
    assert reg.shown_key("flip_track") == "H" and reg.shown_key("save") == "Ctrl+S"
    assert reg.keys_of("help") == ["F1", "?"]


def test_actions_run_on_a_headless_model() -> None:
    m, ctx, reg = headless()
    assert reg.run("frame_step", m) and m.frame == 1
    m.select(0)
    assert reg.run("delete_track", m) and 0 not in ctx.doc and m.selection is None
    assert reg.run("undo", m) and 0 in ctx.doc
    reg.run("tool_create", m)
    assert m.tool == "create"
    mode = m.view.color_mode
    assert reg.run("cycle_colors", m) and m.view.color_mode != mode
    assert reg.run("camera_points", m) and m.view.camera_points
    reg.run("rotate_bev", m)
    assert m.view.bev_up_offset == pytest.approx(math.pi / 2)
    # the parts get the calls the menu entries stand for
    reg.run("flip_track", m)
    reg.run("review_accept", m)
    reg.run("next_proposal", m)
    reg.run("export_kitti", m)
    reg.run("save_as", m)
    assert m.tracks.calls == [("flip_track", ())]
    assert m.review.calls == [("review_box", ("accepted",))]
    assert m.proposal_review.calls == [("step", (1,))]
    assert m.export.calls == [("ask_export", ("kitti",))]
    assert m.shell.calls == [("save", (True,))]


def test_keys_reach_the_registry_through_the_controller() -> None:
    m, ctx, reg = headless()
    m.select(1)
    assert m.controller.on_key(KeyEvent("h", frozenset())) == "flip_track"
    assert m.tracks.calls == [("flip_track", ())]
    assert m.controller.on_key(KeyEvent("s", frozenset({"ctrl"}))) == "save"
    assert m.shell.calls == [("save", ())]


def test_next_keyframe_and_disabled_actions() -> None:
    m, ctx, reg = headless()
    ctx.stack.push(SetKeyframe(0, 6, A))
    m.select(0)
    assert reg.run("next_keyframe", m) and m.frame == 6
    assert reg.run("previous_keyframe", m) and m.frame == 0
    empty = ViewerModel()
    empty.shell = Recorder()
    assert not reg.run("flip_track", empty)  # nothing loaded: not enabled, nothing called
    assert reg.run("open", empty) and empty.shell.calls == [("ask_open", ())]


def test_a_new_action_is_one_entry_with_its_own_key() -> None:
    hits: list[int] = []
    extra = Action("count", "Count", lambda m: hits.append(m.frame), "View", keys=("Ctrl+K",), help="Count frames")
    m, ctx, reg = headless(ActionRegistry([*default_actions(), extra]))
    assert m.controller.on_key(KeyEvent("k", frozenset({"ctrl"}))) == "count"
    assert hits == [0]
    assert ("View", "Ctrl+K", "Count frames") in reg.help_rows()
    assert ("View", [a for a in reg if a.menu == "View"]) in reg.menus()


def test_a_failing_action_says_so_and_returns_false() -> None:
    m, ctx, reg = headless()
    got: list[str] = []
    m.events.status.connect(lambda s: got.append(s.text))

    def boom(_m: Any) -> None:
        raise RuntimeError("no")

    r = ActionRegistry([*default_actions(), Action("boom", "Boom", boom, "View")])
    assert not r.run("boom", m) and got == ["boom: RuntimeError: no"]


def test_map_actions_on_a_headless_model() -> None:
    from fusionlabel.tools import KeyEvent, PointerEvent
    from gui.model.mapwork import MapWork

    m, ctx, reg = headless()
    msgs: list[str] = []
    m.map = MapWork(m, msgs.append)
    m.map.bind(ctx, m.controller)
    assert reg.run("map_class_stop_line", m) and m.map.draw_tool.label == "stop_line"
    assert reg.run("tool_map_draw", m) and m.controller.active_name == "map_draw"
    for x in (0.0, 4.0, 8.0):
        m.controller.on_pointer(PointerEvent("press", (x, 1.0), view="bev"))
    assert len(m.map.draft.data) == 1
    assert m.controller.on_key(KeyEvent("enter")) == "map_draw:enter"
    (eid,) = ctx.doc.map_elements
    assert [e.id for e in m.map.layer.data] == [eid] and m.map.layer.selected == {eid}
    assert not m.map.draft.data
    reg.run("tool_map_edit", m)
    m.map.edit_tool.select(eid, 1)
    assert reg.run("map_split", m) and len(ctx.doc.map_elements) == 2
    assert reg.run("map_join", m) and len(ctx.doc.map_element(eid)) == 3
    assert reg.run("map_reverse", m) and ctx.doc.map_element(eid).vertices[0, 0] == 8.0
    reg.run("map_class_lane_divider", m)
    assert reg.run("map_apply_class", m) and ctx.doc.map_element(eid).label == "lane_divider"
    reg.run("map_visible", m)
    assert not m.map.layer.visible and not m.map.draft.visible
    assert reg.run("map_delete", m) and not ctx.doc.map_elements and not m.map.layer.data
    ctx.stack.undo()
    assert [e.id for e in m.map.layer.data] == [eid]
