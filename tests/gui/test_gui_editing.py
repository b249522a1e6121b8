"""Editing in the real window with real mouse and key events (pytest-qt under Xvfb): create a box
by dragging in the BEV, resize and rotate it through its handles, edit it in the side view, step
frames, copy it to the next frame, undo and redo, save, and reopen the project. The document is
checked after every step."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import FakePrompter as Answers
from tests.gui.gui_support import drag, open_window, synth_scene, to_qpoint

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))


def test_create_resize_rotate_copy_undo_redo_save_reopen(qtbot, scene: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from fusionlabel.tools import box_handles, pick_candidates

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    answers = Answers(save_to=tmp_path / "work.flproj")
    win = open_window(qtbot, scene, answers)
    doc, bev = win.session.doc, win.bev
    n0 = len(doc)
    T = win.session.seq.T_world_from_ego(0)
    ego = T[:2, 3]
    fwd = T[:2, 0] / np.linalg.norm(T[:2, 0])
    yaw0 = math.atan2(fwd[1], fwd[0])
    assert pick_candidates(win.ctx, tuple(ego), 2.0) == []  # the ego's own spot is free

    # 1. create: B, then drag rear -> front over 4 m along the ego heading
    qtbot.keyClick(bev, Qt.Key.Key_B)
    assert win.ctl.active_name == "create"
    drag(qtbot, bev, ego - 2.0 * fwd, ego + 2.0 * fwd)
    assert len(doc) == n0 + 1
    tid = win.selection
    assert tid is not None and tid not in range(n0)
    box = doc.box_at(tid, 0).box
    assert np.allclose(box.center[:2], ego, atol=0.15)
    assert box.size[0] == pytest.approx(4.0, abs=0.15)
    assert math.cos(box.yaw - yaw0) > 0.999
    assert win.ctl.active_name == "edit"  # back to the edit tool
    assert win.windowTitle().startswith("*")
    assert tid in win.objects._items  # the object list shows it

    # 2. resize: drag the front edge handle 1 m forward; the rear stays
    rear = np.asarray(box.center[:2]) - fwd * box.size[0] / 2
    front = next(h for h in box_handles("bev", box, bev.scale) if h.name == "front")
    drag(qtbot, bev, front.pos, np.asarray(front.pos) + 1.0 * fwd)
    box2 = doc.box_at(tid, 0).box
    assert box2.size[0] == pytest.approx(box.size[0] + 1.0, abs=0.1)
    assert np.allclose(np.asarray(box2.center[:2]) - fwd * box2.size[0] / 2, rear, atol=0.1)
    assert box2.size[1] == pytest.approx(box.size[1], abs=1e-6)

    # 3. rotate: drag the rotation handle 30 degrees about the centre
    rot = next(h for h in box_handles("bev", box2, bev.scale) if h.name == "rotate")
    c = np.asarray(box2.center[:2])
    r = np.asarray(rot.pos) - c
    a = math.radians(30)
    target = c + np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ r
    drag(qtbot, bev, rot.pos, target, steps=10)
    box3 = doc.box_at(tid, 0).box
    assert math.degrees(math.remainder(box3.yaw - box2.yaw, 2 * math.pi)) == pytest.approx(30.0, abs=1.5)
    assert np.allclose(box3.center, box2.center, atol=1e-6)
    assert len(win.session.undo) == 3  # one undo step per gesture: create, resize, rotate

    # 4. side view: drag the top edge 0.5 m up (height grows, bottom stays)
    side = win.side
    top = next(h for h in box_handles("side", box3, side.scale, box3) if h.name == "top")
    bottom_z = box3.center[2] - box3.size[2] / 2
    drag(qtbot, side, top.pos, np.asarray(top.pos) + [0.0, 0.5])
    box4 = doc.box_at(tid, 0).box
    assert box4.size[2] == pytest.approx(box3.size[2] + 0.5, abs=0.08)
    assert box4.center[2] - box4.size[2] / 2 == pytest.approx(bottom_z, abs=1e-6)

    # 5. next frame (Right): the new track lasts to the end of the sequence, its box held there;
    # back, then copy to the next frame (C)
    qtbot.keyClick(bev, Qt.Key.Key_Right)
    assert win.frame == 1 and doc.box_at(tid, 1).state == "held" and doc.box_at(tid, 1).box == box4
    qtbot.keyClick(bev, Qt.Key.Key_Left)
    assert win.frame == 0
    qtbot.keyClick(bev, Qt.Key.Key_C)
    assert win.frame == 1
    assert doc.track(tid).keyframe_indices() == [0, 1]
    assert doc.box_at(tid, 1).box == box4
    assert win.timeline.bar.keyframes == [0, 1]

    # 6. undo / redo with the keyboard
    qtbot.keyClick(bev, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.track(tid).keyframe_indices() == [0]
    qtbot.keyClick(bev, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.box_at(tid, 0).box == box3
    qtbot.keyClick(bev, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.box_at(tid, 0).box == box4
    qtbot.keyClick(bev, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert doc.track(tid).keyframe_indices() == [0, 1]

    # 7. keyboard nudge: W moves 5 cm forward along the box heading (merged into one step per run)
    win.set_frame(0)
    win.select(tid)
    before = np.asarray(doc.box_at(tid, 0).box.center)
    qtbot.keyClick(bev, Qt.Key.Key_W)
    qtbot.keyClick(bev, Qt.Key.Key_W)
    after = np.asarray(doc.box_at(tid, 0).box.center)
    heading = np.array([math.cos(box4.yaw), math.sin(box4.yaw)])
    assert np.dot(after[:2] - before[:2], heading) == pytest.approx(0.10, abs=1e-6)

    # 8. save (Ctrl+S): asks where (the project is new), writes it, the title is clean
    qtbot.keyClick(bev, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert answers.save_to.exists()
    assert not win.windowTitle().startswith("*") and win.windowTitle().startswith("work.flproj")
    saved = doc.to_dict()

    # 9. reopen the project in a new window: the same document
    win.close()
    win2 = open_window(qtbot, answers.save_to, Answers())
    assert win2.session.initial_annotation == "project"
    assert win2.session.doc.to_dict() == saved
    assert not win2.is_modified
    win2.close()


def test_escape_cancels_a_drag_and_create_at_pointer(qtbot, scene: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    win = open_window(qtbot, scene, Answers())
    doc, bev = win.session.doc, win.bev
    ref = doc.boxes_at(0)[0]
    win.select(ref.track_id)
    c = np.asarray(ref.box.center[:2])
    qtbot.mousePress(bev, Qt.MouseButton.LeftButton, pos=to_qpoint(bev, c))
    for t in np.linspace(0, 1, 5)[1:]:
        qtbot.mouseMove(bev, to_qpoint(bev, c + t * np.array([2.0, 0.0])))
    assert win.ctx.preview is not None  # dragging: previewed, not committed
    assert doc.box_at(ref.track_id, 0).box == ref.box
    # the cameras that see the box show the dragged box on top
    seeing = [pn for pn in win.camera_grid.panels.values() if pn.edges_of(ref.track_id)]
    assert seeing and all(pn._preview_edges for pn in seeing)
    qtbot.keyClick(bev, Qt.Key.Key_Escape)
    qtbot.mouseRelease(bev, Qt.MouseButton.LeftButton, pos=to_qpoint(bev, c + [2.0, 0.0]))
    assert win.ctx.preview is None and doc.box_at(ref.track_id, 0).box == ref.box
    assert not any(pn._preview_edges for pn in win.camera_grid.panels.values())
    assert len(win.session.undo) == 0
    # N: a class-default box at the pointer, of the class chosen for new boxes
    win.objects.new_box.setCurrentText("pedestrian")
    ego = win.session.seq.T_world_from_ego(0)[:2, 3]
    qtbot.mouseMove(bev, to_qpoint(bev, ego))
    n = len(doc)
    qtbot.keyClick(bev, Qt.Key.Key_N)
    assert len(doc) == n + 1
    assert doc.track(win.selection).label == "pedestrian"
    # class and attribute editing of the selected track go through commands
    win._set_label(win.selection, "cyclist")
    assert doc.track(win.selection).label == "cyclist"
    win.session.undo.undo()
    assert doc.track(win.selection).label == "pedestrian"
