"""The window bound to its model: widgets follow ``win.model`` and the model follows the tools.
The 3D canvas needs GL, so every test here is marked ``gl``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gui.gui_support import open_window, synth_scene

pytestmark = pytest.mark.gl
QtCore = pytest.importorskip("PyQt6.QtCore")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=1, size=(320, 180))


def test_widgets_follow_the_model_and_the_model_follows_the_tools(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    m = win.model
    assert m.session is win.session and m.context is win.ctx and m.controller is win.ctl
    # view options: model -> widgets and views
    m.view.camera_points = True
    assert win.cam_points_box.isChecked()
    assert all(p.show_points for p in win.camera_grid.panels.values())
    win.cam_points_box.setChecked(False)  # widget -> model
    assert not m.view.camera_points
    m.view.color_mode = "distance"
    assert win.color_box.currentText() == "distance" and win.color_mode == "distance"
    m.view.level_of_detail = False
    assert not win.lod_box.isChecked() and not win.view3d.lod_enabled
    # frame, selection and tool from the keyboard reach the model's listeners
    heard: list[tuple[str, object]] = []
    for n in ("frame", "selection", "tool"):
        m.events[n].connect(lambda v, n=n: heard.append((n, v)))
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Right)
    tid = win.boxes()[0].track_id
    win.select(tid)
    qtbot.keyClick(win, QtCore.Qt.Key.Key_B)  # create tool
    assert heard == [("frame", 1), ("selection", tid), ("tool", "create")]
    assert win.tool_label.text() == "tool: create" and win.objects._current == tid
    # status written through the model reaches the status bar
    m.show_message("hello from the model", 5000)
    assert win.statusBar().currentMessage() == "hello from the model"


def test_a_failing_view_is_reported_in_the_status_line(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)

    def broken(_frame: int) -> None:
        raise RuntimeError("panel exploded")

    ev = win.model.events.frame
    ev.disconnect(win._on_frame)  # the broken view first, the window's drawing after it
    ev.connect(broken)
    ev.connect(win._on_frame)
    win.set_frame(2)
    assert win.frame == 2 and win.timeline.bar.frame == 2  # the other views still followed
    assert "frame: RuntimeError: panel exploded" in win.statusBar().currentMessage()
