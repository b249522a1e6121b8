"""Review mode and the QA findings panel in the real window (pytest-qt under Xvfb): accept / reject
boxes and frames with real clicks and keys, undo, issue markers, save and reopen, and jumping to a
finding of the automatic checks on a scene with a seeded defect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import FakePrompter as Answers
from tests.gui.gui_support import open_window, synth_scene

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt


def open_review_window(qtbot, path: Path, prompter: Answers):  # type: ignore[no-untyped-def]
    """A window with ``path`` loaded and the review mode shown."""
    win = open_window(qtbot, path, prompter, focus_bev=False)
    win.review.show(True)
    qtbot.wait(50)
    return win


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))


def _visible_in_camera(win, track_id: int) -> bool:  # type: ignore[no-untyped-def]
    return any(p.edges_of(track_id) for p in win.camera_grid.panels.values())


def _color_pixels(img, rgb, tol: int = 40) -> int:  # type: ignore[no-untyped-def]
    """Number of pixels of a QImage within ``tol`` of ``rgb``."""
    from PyQt6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    a = np.frombuffer(img.constBits().asstring(bpl * h), np.uint8).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3)
    return int((np.abs(a.astype(int) - np.array(rgb)).max(axis=2) <= tol).sum())


def test_accept_reject_frame_undo_markers_save_reopen(qtbot, scene: Path, tmp_path: Path) -> None:
    from gui.review import ACCEPT_COLOR, REJECT_COLOR

    win = open_review_window(qtbot, scene, Answers(save_to=tmp_path / "review.flproj"))
    panel, doc = win.review.panel, win.session.doc
    panel.reviewer.setText("anna")
    shown = [r.track_id for r in win.boxes() if _visible_in_camera(win, r.track_id)]
    assert len(shown) >= 3, "the scene should show at least three boxes in the cameras"
    a, b, c = shown[:3]
    assert doc.box_review(a, 0).status == "unreviewed"

    # accept box a with a click
    win.select(a)
    qtbot.mouseClick(panel.accept_box, Qt.MouseButton.LeftButton)
    r = doc.box_review(a, 0)
    assert (r.status, r.who, r.comment) == ("accepted", "anna", "")
    assert isinstance(r.when, int) and r.when > 0
    assert "accepted by anna" in panel.box_label.text()

    # rejecting needs a comment: nothing happens without one
    win.select(b)
    qtbot.mouseClick(panel.reject_box, Qt.MouseButton.LeftButton)
    assert doc.box_review(b, 0).status == "unreviewed"
    qtbot.keyClicks(panel.comment, "rear edge 30 cm short")
    qtbot.mouseClick(panel.reject_box, Qt.MouseButton.LeftButton)
    r = doc.box_review(b, 0)
    assert (r.status, r.comment, r.who) == ("rejected", "rear edge 30 cm short", "anna")
    assert panel.comment.text() == ""

    # box c with the key, the frame with Ctrl+Shift+Enter (keys go through the window's keymap)
    win.select(c)
    win.bev.setFocus()
    qtbot.keyClick(win.bev, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert doc.box_review(c, 0).status == "accepted"
    qtbot.keyClick(win.bev, Qt.Key.Key_Return,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.frame_review(0).status == "accepted" and doc.frame_review(0).who == "anna"
    assert doc.frame_review(1).status == "unreviewed"
    assert doc.box_review(a, 1).status == "unreviewed"  # reviews are per frame
    qtbot.wait(20)

    # the views show it: a red outline and green ticks in the BEV, the same colours in a camera
    colors = [s.color for s in win.bev.shapes]
    assert colors.count(REJECT_COLOR) == 1 and colors.count(ACCEPT_COLOR) == 2
    cam = next(p for p in win.camera_grid.panels.values() if p.edges_of(b))
    assert _color_pixels(cam.grab().toImage(), REJECT_COLOR, 30) > 20

    # undo the frame review, then the box c review; redo brings the frame's back
    win.undo()
    assert doc.frame_review(0).status == "unreviewed"
    win.undo()
    assert doc.box_review(c, 0).status == "unreviewed"
    assert doc.box_review(b, 0).status == "rejected" and doc.box_review(a, 0).status == "accepted"
    win.redo()
    assert doc.box_review(c, 0).status == "accepted"
    win.redo()
    assert doc.frame_review(0).status == "accepted"

    # step through the rejected boxes: from frame 2 back to box b at frame 0
    panel.filter_box.setCurrentText("rejected")
    panel.scope_box.setCurrentText("boxes")
    win.set_frame(2)
    win.select(None)
    qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    assert win.frame == 2  # nothing rejected after frame 2
    qtbot.mouseClick(panel.prev_button, Qt.MouseButton.LeftButton)
    assert (win.frame, win.selection) == (0, b)
    # unreviewed frames: the next one after frame 0 is 1
    panel.filter_box.setCurrentText("unreviewed")
    panel.scope_box.setCurrentText("frames")
    qtbot.keyClick(win.bev, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert win.frame == 1

    # an issue marker at the selected box's centre, listed, resolved, jumped to
    win.set_frame(0)
    win.select(a)
    qtbot.keyClicks(panel.issue_text, "check the mirror")
    qtbot.mouseClick(panel.issue_add, Qt.MouseButton.LeftButton)
    (m,) = doc.issue_markers()
    assert (m.text, m.author, m.frame, m.track_id, m.resolved) == ("check the mirror", "anna", 0, a, False)
    np.testing.assert_allclose(m.position, doc.track(a).box_at(0).center)
    qtbot.wait(20)
    assert panel.issues.topLevelItemCount() == 1
    assert any(s.text.startswith("! check the mirror") for s in win.bev.shapes)
    assert win.review.glyphs_3d()[0].text == "! check the mirror"
    panel.issues.setCurrentItem(panel.issues.topLevelItem(0))
    qtbot.mouseClick(panel.issue_resolve, Qt.MouseButton.LeftButton)
    assert doc.issue_marker(m.marker_id).resolved and doc.issue_marker(m.marker_id).resolved_by == "anna"
    win.set_frame(2)
    win.select(None)
    qtbot.wait(20)
    win.review.jump_to_issue(int(panel.issues.topLevelItem(0).data(0, Qt.ItemDataRole.UserRole)))
    assert (win.frame, win.selection) == (0, a)
    np.testing.assert_allclose(win.bev.center, m.position[:2])

    # save, reopen: the review state and the marker come back
    boxes, frames = doc.box_reviews(), doc.frame_reviews()
    assert win.save()
    assert not win.is_modified
    win.close()
    win2 = open_review_window(qtbot, tmp_path / "review.flproj", Answers())
    doc2 = win2.session.doc
    assert doc2.box_reviews() == boxes and doc2.frame_reviews() == frames
    assert doc2.box_review(b, 0).comment == "rear edge 30 cm short"
    assert doc2.issue_markers() == doc.issue_markers()
    win2.select(b)
    qtbot.wait(20)
    assert "rejected by anna" in win2.review.panel.box_label.text()
    assert win2.review.panel.issues.topLevelItemCount() == 1


def test_findings_panel_finds_a_floating_box_and_jumps_there(qtbot, scene: Path) -> None:
    from fusionlabel.commands import SetKeyframe

    win = open_review_window(qtbot, scene, Answers())
    doc = win.session.doc
    ego = win.session.seq.frames[1].T_world_from_ego[:2, 3]
    cars = [t for t in doc.track_ids() if doc.track(t).label == "car" and doc.track(t).box_at(1) is not None]
    tid = min(cars, key=lambda t: float(np.linalg.norm(np.asarray(doc.track(t).box_at(1).center[:2]) - ego)))
    box = doc.track(tid).box_at(1)
    lifted = box.replace(center=(box.center[0], box.center[1], box.center[2] + 1.0))
    win.session.undo.push(SetKeyframe(tid, 1, lifted))

    findings = win.review.findings
    with qtbot.waitSignal(findings.finished, timeout=60000) as sig:
        assert win.review.run_checks()
        assert findings.running  # in the background: the window keeps handling events
        assert not findings.run_button.isEnabled()
    res = sig.args[0]
    assert res is not None
    hits = [f for f in res.findings if f.check == "ground" and f.track_id == tid and f.frame == 1]
    assert hits, [f.to_dict() for f in res.findings if f.check == "ground"]
    # the clean ground truth has no error
    assert not [f for f in res.findings if f.severity == "error"]
    assert findings.tree.topLevelItemCount() == len(res.findings)

    # filter to the ground check, then click the row: frame, selection and BEV centre follow
    findings.check_box.setCurrentText("ground")
    assert all(f.check == "ground" for f in findings.visible_findings())
    item = findings.item_of(hits[0])
    assert item is not None
    win.set_frame(0)
    win.select(None)
    tree = findings.tree
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert (win.frame, win.selection) == (1, tid)
    np.testing.assert_allclose(win.bev.center, hits[0].location[:2])

    # sorted by frame descending, the rows follow; Enter on a row also jumps
    tree.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    frames = [tree.topLevelItem(i).text(3) for i in range(tree.topLevelItemCount())]
    assert frames == sorted(frames, key=lambda s: int(s) if s else -1, reverse=True)
    win.set_frame(2)
    win.select(None)
    tree.setCurrentItem(item)
    tree.setFocus()
    qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert (win.frame, win.selection) == (1, tid)

    # an edit after the run does not touch the listed result; opening another document resets it
    assert findings.result is res


def test_review_keys_reject_and_marker_at_the_pointer(qtbot, scene: Path) -> None:
    win = open_review_window(qtbot, scene, Answers())
    panel, doc = win.review.panel, win.session.doc
    tid = win.boxes()[0].track_id
    win.select(tid)
    # the keymap's keys do not fire in a text field: type the comment, then the key in the BEV
    qtbot.keyClicks(panel.comment, "wrong class")
    win.bev.setFocus()
    qtbot.keyClick(win.bev, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ControlModifier)
    r = doc.box_review(tid, 0)
    assert (r.status, r.comment) == ("rejected", "wrong class")
    assert tid in doc  # Ctrl+Backspace is not the plain Backspace (delete box)
    # Ctrl+I: the marker lies at the BEV pointer (like N), on the ground, at this frame
    win.select(None)
    panel.issue_text.setText("missed cyclist")
    target = win.bev.center + np.array([3.0, -2.0])
    s = win.bev.to_screen(target[None])[0]
    pos = QtCore.QPoint(int(round(s[0])), int(round(s[1])))
    qtbot.mouseMove(win.bev, pos)
    qtbot.wait(20)
    win.bev.setFocus()
    qtbot.keyClick(win.bev, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    (m,) = doc.issue_markers()
    assert m.text == "missed cyclist" and m.frame == 0 and m.track_id is None
    np.testing.assert_allclose(m.position[:2], target, atol=2.0 / win.bev.scale)
    win.undo()
    assert not doc.issue_markers()
