"""Editing in the 3D view and image-first boxes in the camera panels, in the real window with real
mouse events (pytest-qt under Xvfb) on a synthetic scene: a left drag on a box moves it by the
ground distance the pointer sweeps (one undo step; a drag on empty space orbits and changes
nothing); its drawn rotation handle turns it; shift + drag changes its height; with the camera
box tool (Shift+B) a 2D drag over a ground-truth car gives a box of BEV IoU >= 0.6 with the
truth, selected and undoable; Esc cancels a rectangle."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import key, open_window, synth_scene

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt
QPoint = QtCore.QPoint


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))


def _pt(xy) -> QPoint:  # type: ignore[no-untyped-def]
    return QPoint(int(round(float(xy[0]))), int(round(float(xy[1]))))


def _held_move(widget, p, mods=None) -> None:  # type: ignore[no-untyped-def]
    """A mouse move to widget pixel ``p`` with the left button held (QTest's mouseMove carries no
    buttons)."""
    from PyQt6.QtCore import QPointF
    from PyQt6.QtGui import QMouseEvent
    from PyQt6.QtWidgets import QApplication

    mods = Qt.KeyboardModifier.NoModifier if mods is None else mods
    q = QPointF(float(p[0]), float(p[1]))
    QApplication.sendEvent(widget, QMouseEvent(QtCore.QEvent.Type.MouseMove, q, widget.mapToGlobal(q),
                                               Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, mods))


def _mouse_drag(qtbot, widget, a, b, steps: int = 8, mods=None, shot: str = "") -> None:  # type: ignore[no-untyped-def]
    """A left drag in ``widget`` from widget pixel ``a`` to ``b`` through ``steps`` moves; with
    ``shot`` the window is saved as ``shot`` before the release (``FUSIONLABEL_TEST_SHOTS``)."""
    mods = Qt.KeyboardModifier.NoModifier if mods is None else mods
    a, b = np.asarray(a, float), np.asarray(b, float)
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, mods, _pt(a))
    for t in np.linspace(0, 1, steps + 1)[1:]:
        _held_move(widget, a + t * (b - a), mods)
    if shot and os.environ.get("FUSIONLABEL_TEST_SHOTS"):
        out = Path(os.environ["FUSIONLABEL_TEST_SHOTS"]) / shot
        out.parent.mkdir(parents=True, exist_ok=True)
        assert widget.window().screenshot().save(str(out))
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, mods, _pt(b))
    qtbot.wait(5)


def _nearest_car(win):  # type: ignore[no-untyped-def]
    """The document's (ground-truth) car nearest the ego at the current frame."""
    ego = win.session.seq.T_world_from_ego(win.frame)[:3, 3]
    cars = [r for r in win.session.doc.boxes_at(win.frame) if r.label == "car"]
    return min(cars, key=lambda r: float(np.linalg.norm(np.asarray(r.box.center) - ego)))


def test_dragging_a_box_in_the_3d_view_moves_it(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    v3, doc = win.view3d, win.session.doc
    ref = _nearest_car(win)
    tid, box0 = ref.track_id, ref.box
    v3.look_at(box0.center, distance=18.0)
    v3.render()
    undo0 = len(win.session.undo)
    top = np.array([box0.center[0], box0.center[1], box0.center[2] + box0.height / 2])
    shift = np.array([1.5, -1.0, 0.0])  # metres on the ground (the grabbed point's plane)
    a, b = v3.to_canvas(np.array([top, top + shift]))
    assert win.selection != tid
    _mouse_drag(qtbot, v3.widget, a, b, shot="drag3d.png")  # selects the box under the pointer and drags it
    assert win.selection == tid
    got = doc.box_at(tid, win.frame).box
    assert len(win.session.undo) == undo0 + 1  # one step for the drag
    # the grabbed point follows the pointer: the centre moved by the same ground distance (to the
    # pixel rounding of the press and release positions, at ~18 m)
    moved = np.asarray(got.center) - np.asarray(box0.center)
    assert moved[:2] == pytest.approx(shift[:2], abs=0.12)
    assert moved[2] == pytest.approx(0.0, abs=1e-9) and got.yaw == pytest.approx(box0.yaw)
    assert got.size == pytest.approx(box0.size)
    assert win.ctx.preview is None  # the preview ended with the drag
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step restores it
    assert doc.box_at(tid, win.frame).box.center == pytest.approx(box0.center)
    assert len(win.session.undo) == undo0

    # the rotation handle is drawn for the selected box; dragging it turns the box about its centre
    from fusionlabel.tools.edit3d import rotate_handle_3d

    assert win.view_editing.handle.value == box0
    v3.render()
    h = rotate_handle_3d(box0)
    side = np.array([-np.sin(box0.yaw), np.cos(box0.yaw), 0.0]) * 1.5  # to the box's left
    a, b = v3.to_canvas(np.array([h, h + side]))
    _mouse_drag(qtbot, v3.widget, a, b)
    got = doc.box_at(tid, win.frame).box
    assert got.center == pytest.approx(box0.center)
    assert 0.2 < got.yaw - box0.yaw < 0.9  # counter-clockwise (about atan(1.5 / 3.3))
    assert win.view_editing.handle.value == got
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.box_at(tid, win.frame).box == box0

    # shift + drag: the height only
    v3.render()
    c = np.asarray(box0.center, dtype=float)
    a = v3.to_canvas(c[None])[0]
    b = a + np.array([0.0, -25.0])
    _mouse_drag(qtbot, v3.widget, a, b, mods=Qt.KeyboardModifier.ShiftModifier)
    got = doc.box_at(tid, win.frame).box
    assert got.center[:2] == pytest.approx(box0.center[:2]) and got.center[2] > box0.center[2] + 0.1

    # a drag on empty space (far above the scene) orbits: the document does not change
    before = [(r.track_id, r.box) for r in doc.boxes_at(win.frame)]
    _mouse_drag(qtbot, v3.widget, (30, 30), (120, 40))
    assert [(r.track_id, r.box) for r in doc.boxes_at(win.frame)] == before


def _camera_case(win):  # type: ignore[no-untyped-def]
    """(panel, track id, truth box, image rect) of the car with the largest projected rectangle
    that lies wholly inside a camera image at the current frame."""
    best = None
    for panel in win.camera_grid.panels.values():
        view = panel.camera_view()
        for r in win.session.doc.boxes_at(win.frame):
            if r.label != "car":
                continue
            corners = np.asarray(r.box.corners(), dtype=float)
            pts = corners @ view.T_cam_from_world[:3, :3].T + view.T_cam_from_world[:3, 3]
            if (pts[:, 2] < 1.0).any():
                continue
            uv, _, ok = view.camera.project(pts)
            if not ok.all():
                continue
            u0, v0 = uv.min(axis=0)
            u1, v1 = uv.max(axis=0)
            if u0 < 2 or v0 < 2 or u1 > view.camera.width - 3 or v1 > view.camera.height - 3:
                continue
            area = (u1 - u0) * (v1 - v0)
            if best is None or area > best[0]:
                best = (area, panel, r.track_id, r.box, (u0, v0, u1, v1))
    assert best is not None, "no car wholly inside a camera image"
    return best[1:]


def test_camera_drag_over_a_car_gives_its_box(qtbot, scene: Path) -> None:
    from fusionlabel.geometry import bev_iou

    win = open_window(qtbot, scene)
    doc = win.session.doc
    win.ctx.default_class = "car"
    panel, truth_id, truth, (u0, v0, u1, v1) = _camera_case(win)
    a, b = panel.image_to_widget(np.array([[u0, v0], [u1, v1]]))
    n0 = len(doc)

    # with the tool off a drag in a panel does nothing
    _mouse_drag(qtbot, panel, a, b)
    assert len(doc) == n0

    key(qtbot, win, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)  # camera box tool on
    assert win.model.view.camera_box

    # Esc cancels a rectangle: the drag is left before its release
    qtbot.mousePress(panel, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _pt(a))
    _held_move(panel, b)
    assert win.view_editing._layers[panel.name].value is not None  # the rectangle is drawn
    key(qtbot, win, Qt.Key.Key_Escape)
    assert win.view_editing._layers[panel.name].value is None
    qtbot.mouseRelease(panel, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _pt(b))
    assert len(doc) == n0

    # with the tool on a click still selects the box under it
    centre = np.array([(u0 + u1) / 2, (v0 + v1) / 2])
    expect = panel.box_at(centre)
    assert expect is not None
    win.select(None)
    qtbot.mouseClick(panel, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _pt(panel.image_to_widget(centre[None])[0]))
    assert win.selection == expect and len(doc) == n0

    _mouse_drag(qtbot, panel, a, b, shot="camera_rect.png")
    assert len(doc) == n0 + 1
    new = win.selection
    assert new is not None and new != truth_id
    track = doc.track(new)
    assert track.label == "car"
    got = doc.box_at(new, win.frame).box
    iou = bev_iou(got, truth)
    assert iou >= 0.6, (iou, got, truth)
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step removes it
    assert len(doc) == n0 and new not in doc
