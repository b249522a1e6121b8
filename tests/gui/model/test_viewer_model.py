"""gui.model headless (no Qt, no qtbot): the ViewerModel follows the tools, view options,
status and progress as evented state."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import PointerEvent, ToolContext, ToolController
from gui.model import MAX_ACCUMULATE, Evented, Field, Progress, ProgressState, StatusMessage, ViewerModel, ViewOptions

ROOT = Path(__file__).resolve().parents[3]
A = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
B = Box3D((10.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)


def tools(frames: int = 10) -> tuple[ToolContext, ToolController]:
    doc = AnnotationDocument(frames)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, A))
    stack.push(CreateTrack("car", 0, B))
    ctx = ToolContext(doc, stack, 0, ground=0.0)
    return ctx, ToolController(ctx)


def bound() -> tuple[ToolContext, ToolController, ViewerModel]:
    """Tools over a two-track document and a model following them."""
    ctx, ctl = tools()
    m = ViewerModel()
    m.bind_tools(ctx, ctl)
    return ctx, ctl, m


def record(model: ViewerModel, *names: str) -> list[tuple[str, object]]:
    got: list[tuple[str, object]] = []
    for n in names:
        model.events[n].connect(lambda v, n=n: got.append((n, v)))
    return got


def test_importing_the_model_loads_no_qt_nor_gl() -> None:
    code = ("import sys, gui.model; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PyQt6', 'PyQt5', 'PySide6', 'vispy', 'OpenGL')); print(bad); sys.exit(bool(bad))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert r.returncode == 0, r.stdout + r.stderr


def test_without_a_session() -> None:
    m = ViewerModel()
    assert m.session is None and m.context is None and m.frame == 0 and m.selection is None
    assert m.preview is None and m.tool == "edit"
    assert m.set_frame(5) == 0
    m.select(1)  # nothing to select in
    m.set_tool("create")
    assert m.selection is None and m.tool == "edit"


def test_the_model_follows_the_tool_context_and_drives_it() -> None:
    ctx, ctl = tools()
    m = ViewerModel()
    m.set_session("a session")
    got = record(m, "frame", "selection", "preview", "tool")
    m.bind_tools(ctx, ctl)
    assert got == [("frame", 0), ("selection", None), ("preview", None), ("tool", "edit")]
    got.clear()
    # changes made by the tools (keys, pointer) reach the model's listeners ...
    ctx.set_frame(4)
    ctx.set_selection(1)
    ctl.perform("tool_create")
    assert got == [("frame", 4), ("selection", 1), ("tool", "create")]
    assert (m.frame, m.selection, m.tool) == (4, 1, "create")
    got.clear()
    # ... and the model's setters go through the tools: one state
    assert m.set_frame(99) == 9 and ctx.frame == 9
    m.select(0)
    m.set_tool("edit")
    assert ctx.selection == 0 and ctl.active_name == "edit"
    assert got == [("frame", 9), ("selection", 0), ("tool", "edit")]


def test_the_drag_preview_is_evented() -> None:
    ctx, ctl, m = bound()
    previews: list[object] = []
    m.events.preview.connect(previews.append)
    ctx.set_selection(0)
    ppm = 10.0
    # drag the selected box's body in the BEV: a preview while dragging, none after the release
    ctl.on_pointer(PointerEvent("press", (0.0, 0.0), "left", frozenset(), "bev", ppm))
    ctl.on_pointer(PointerEvent("move", (1.0, 0.5), "left", frozenset(), "bev", ppm))
    assert m.preview is not None and m.preview.track_id == 0
    ctl.on_pointer(PointerEvent("release", (1.0, 0.5), "left", frozenset(), "bev", ppm))
    assert m.preview is None
    assert previews[0] is not None and previews[-1] is None


def test_tool_messages_become_status_messages() -> None:
    ctx, ctl, m = bound()
    seen: list[StatusMessage] = []
    m.events.status.connect(seen.append)
    ctx.message("no object at the click")
    assert seen == [StatusMessage("no object at the click", ViewerModel.TOOL_MESSAGE_MS)] and m.status == seen[0]
    m.show_message("Saved x", -5)
    assert m.status == StatusMessage("Saved x", 0)


def test_a_new_session_unbinds_the_old_tools() -> None:
    ctx, ctl, m = bound()
    sessions: list[object] = []
    m.events.session.connect(sessions.append)
    got = record(m, "frame", "selection", "tool", "status")
    m.set_session(None)
    assert sessions == [None] and m.context is None and m.controller is None
    ctx.set_frame(3)
    ctx.set_selection(1)
    ctl.set_tool("create")
    ctx.message("stale")
    assert got == [] and m.frame == 0
    ctx2, _ctl2 = tools()
    with pytest.raises(ValueError, match="another tool context"):
        m.bind_tools(ctx2, ctl)


def test_listeners_of_one_piece_do_not_hear_the_others_and_errors_are_reported() -> None:
    ctx, _ctl, m = bound()
    reports: list[str] = []
    m.report_errors_to(lambda name, _cb, e: reports.append(f"{name}: {e}"))
    frames: list[int] = []

    def broken(_f: int) -> None:
        raise RuntimeError("panel failed")

    m.events.frame.connect(broken)
    m.events.frame.connect(frames.append)
    ctx.set_frame(2)
    assert frames == [2] and reports == ["frame: panel failed"] and ctx.frame == 2
    m.view.events.accumulate.connect(broken)
    m.progress.events.changed.connect(broken)
    m.view.accumulate = 1
    m.progress.start()
    assert reports[1:] == ["accumulate: panel failed", "changed: panel failed"] and m.view.accumulate == 1
    # blocked while a batch of changes is made
    with m.events.blocker("frame"):
        ctx.set_frame(5)
    assert frames == [2] and m.frame == 5


def test_view_options_are_checked_and_evented() -> None:
    v = ViewOptions()
    assert v.as_dict() == {"color_mode": "height", "accumulate": 0, "follow_ego": True, "bev_up_offset": 0.0,
                           "camera_points": False, "level_of_detail": True, "time_correct": True, "deskew": False,
                           "camera_box": False, "auto_track_new": True, "auto_track_edits": True}
    got: list[tuple[str, object]] = []
    for n in v.events.names:
        v.events[n].connect(lambda val, n=n: got.append((n, val)))
    v.color_mode = "intensity"
    v.color_mode = "intensity"  # unchanged: no event
    assert v.cycle_color_mode() == "distance" and v.cycle_color_mode() == "height"
    v.accumulate = 3
    v.camera_points = True
    v.level_of_detail = False
    assert v.rotate_bev() == pytest.approx(math.pi / 2)
    v.rotate_bev(3)  # a full turn
    assert got == [("color_mode", "intensity"), ("color_mode", "distance"), ("color_mode", "height"),
                   ("accumulate", 3), ("camera_points", True), ("level_of_detail", False),
                   ("bev_up_offset", pytest.approx(math.pi / 2)), ("bev_up_offset", 0.0)]
    for name, bad in (("color_mode", "rainbow"), ("accumulate", -1), ("accumulate", MAX_ACCUMULATE + 1),
                      ("bev_up_offset", float("nan"))):
        with pytest.raises(ValueError):
            v.set(name, bad)
    with pytest.raises(AttributeError):
        v.set("zoom", 2)
    with pytest.raises(TypeError):
        ViewOptions(zoom=2)
    assert ViewOptions(accumulate=2).accumulate == 2


def test_evented_subclasses_inherit_fields() -> None:
    class Base(Evented):
        a = Field(1, int)

    class More(Base):
        b = Field("x")

    m = More(a="4")
    assert (m.a, m.b) == (4, "x") and m.events.names == ("a", "b")
    seen: list[int] = []
    m.events.a.connect(seen.append)
    m.a = 5
    assert seen == [5] and "a=5" in repr(m)


def test_progress_start_update_finish_cancel() -> None:
    p = Progress()
    states: list[ProgressState] = []
    cancels: list[bool] = []
    p.events.changed.connect(states.append)
    p.events.cancel.connect(lambda: cancels.append(True))
    assert not p.active and not p.request_cancel()
    p.start(0, "Loading scene")  # busy, length unknown
    p.update(3, 10, "frame 3 / 10")
    p.update(12)  # clamped to the maximum
    p.update(12)  # unchanged: no event
    assert not p.request_cancel() and cancels == []  # not cancellable
    p.finish()
    assert states == [ProgressState(True, 0, 0, "Loading scene"), ProgressState(True, 3, 10, "frame 3 / 10"),
                      ProgressState(True, 10, 10, "frame 3 / 10"), ProgressState()]
    p.start(5, "pre-labelling", cancellable=True)
    assert p.request_cancel() and cancels == [True]
    with pytest.raises(ValueError):
        p.update(-1)
    with pytest.raises(ValueError):
        p.start(-2)
