"""fusionlabel.events: many listeners, blockers, disconnect, failing listeners reported."""

from __future__ import annotations

import logging

import pytest

from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.events import Event, EventGroup
from fusionlabel.tools import ToolContext, ToolController


def test_every_listener_is_called_in_order_with_the_values() -> None:
    ev = Event("frame")
    got: list[tuple[str, int]] = []
    ev.connect(lambda f: got.append(("a", f)))
    ev.connect(lambda f: got.append(("b", f)))
    ev.emit(3)
    assert got == [("a", 3), ("b", 3)]
    with pytest.raises(TypeError, match="callable"):
        ev.connect(42)  # type: ignore[arg-type]


def test_disconnect_by_handle_by_listener_and_all() -> None:
    ev = Event("x")
    got: list[str] = []

    def a(_v: object) -> None:
        got.append("a")

    def b(_v: object) -> None:
        got.append("b")

    off_a = ev.connect(a)
    ev.connect(b)
    off_a()
    off_a()  # twice is harmless
    ev.emit(1)
    assert got == ["b"]
    ev.disconnect(b)
    ev.emit(1)
    assert got == ["b"] and ev.listeners == ()
    ev.connect(a)
    ev.connect(b)
    ev.disconnect()
    ev.emit(1)
    assert got == ["b"]


def test_bound_methods_disconnect_by_equality() -> None:
    class View:
        def __init__(self) -> None:
            self.seen: list[int] = []

        def on(self, v: int) -> None:
            self.seen.append(v)

    v = View()
    g = EventGroup("frame", "selection")
    g.frame.connect(v.on)
    g.selection.connect(v.on)
    g.disconnect(v.on)  # every event of the group
    g.frame.emit(1)
    g.selection.emit(2)
    assert v.seen == []


def test_blocker_is_nestable_and_per_event() -> None:
    g = EventGroup("frame", "selection")
    got: list[tuple[str, object]] = []
    g.frame.connect(lambda v: got.append(("frame", v)))
    g.selection.connect(lambda v: got.append(("selection", v)))
    with g.frame.blocker():
        with g.frame.blocker():
            g.frame.emit(1)
        g.frame.emit(2)
        assert g.frame.blocked
        g.selection.emit(7)
    g.frame.emit(3)
    with g.blocker():  # all of them
        g.frame.emit(4)
        g.selection.emit(8)
    with g.blocker("selection"):
        g.frame.emit(5)
        g.selection.emit(9)
    assert got == [("selection", 7), ("frame", 3), ("frame", 5)]
    assert not g.frame.blocked and not g.selection.blocked


def test_blocker_unblocks_when_the_body_raises() -> None:
    g = EventGroup("frame")
    with pytest.raises(RuntimeError), g.blocker():
        raise RuntimeError
    assert not g.frame.blocked


def test_a_failing_listener_is_reported_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    reports: list[tuple[str, object, str]] = []
    g = EventGroup("frame", report=lambda name, cb, e: reports.append((name, cb, str(e))))
    got: list[int] = []

    def bad(_f: int) -> None:
        raise ValueError("broken view")

    g.frame.connect(bad)
    g.frame.connect(got.append)
    g.frame.emit(5)  # does not raise
    assert got == [5]
    assert reports == [("frame", bad, "broken view")]
    # the default reporter logs with the traceback
    d = EventGroup("frame")
    d.frame.connect(bad)
    d.frame.connect(got.append)
    with caplog.at_level(logging.ERROR, logger="fusionlabel.events"):
        d.frame.emit(6)
    assert got == [5, 6]
    assert any("frame" in r.getMessage() and r.exc_info for r in caplog.records)


def test_group_names_lookup_and_bad_names() -> None:
    g = EventGroup("frame", "selection")
    assert g.names == ("frame", "selection") and "frame" in g and "tool" not in g
    assert g["frame"] is g.frame
    with pytest.raises(AttributeError, match="no event 'tool'"):
        _ = g.tool
    with pytest.raises(KeyError):
        _ = g["tool"]
    for bad in ("frame", "not an identifier", "_private", "blocker", "disconnect"):
        with pytest.raises(ValueError):
            g.add(bad)


def test_tool_context_events_reach_many_listeners() -> None:
    doc = AnnotationDocument(frame_count=5)
    ctx = ToolContext(doc, UndoStack(doc), 0, ground=0.0)
    frames_a: list[int] = []
    frames_b: list[int] = []
    messages: list[str] = []
    ctx.events.frame.connect(frames_a.append)
    ctx.events.frame.connect(frames_b.append)
    ctx.events.message.connect(messages.append)
    assert ctx.set_frame(3) == 3
    ctx.set_frame(3)  # no change, no event
    ctx.message("hello")
    assert frames_a == frames_b == [3] and messages == ["hello"]
    # the constructor's callbacks are listeners like the others
    legacy: list[int | None] = []
    ctx2 = ToolContext(doc, UndoStack(doc), 0, on_selection=legacy.append)
    more: list[int | None] = []
    ctx2.events.selection.connect(more.append)
    ctx2.set_selection(99)  # not in the document: nothing selected, nothing emitted
    assert legacy == more == []


def test_controller_tool_event() -> None:
    doc = AnnotationDocument(frame_count=2)
    ctx = ToolContext(doc, UndoStack(doc), 0, ground=0.0)
    old: list[str] = []
    ctl = ToolController(ctx, on_tool_changed=old.append)
    new: list[str] = []
    ctl.events.tool.connect(new.append)
    ctl.set_tool("create")
    ctl.set_tool("create")
    ctl.perform("tool_edit")
    assert old == new == ["create", "edit"]
