"""Automatic tracking in the real window (pytest-qt under Xvfb): a one-click box on a moving car
tracks itself through the sequence in the background (one undo removes the box and its
tracking), an edit re-tracks the frames around it, and the Assist toggles switch both off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gui.gui_support import key, open_window, synth_scene, to_qpoint

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt
N = 8
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=N, cameras=1, size=(160, 90))


def settle(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    follow = win.auto_track.follow
    qtbot.waitUntil(lambda: not follow.running and not follow.pending, timeout=WAIT_MS)


def test_a_one_click_box_tracks_itself_and_an_edit_retracks(qtbot, scene: Path) -> None:
    from fusionlabel.commands import DeleteTrack
    from fusionlabel.geometry import bev_iou

    win = open_window(qtbot, scene, follow=True)
    doc, undo = win.session.doc, win.session.undo
    lidar = win.session.loaded.T_world_from_sensor(0, win.session.loaded.lidar_names[0])[:3, 3]
    moving = [t for t in doc.tracks.values() if t.label == "car" and t.attributes.get("state") == "moving"
              and all(doc.box_at(t.track_id, f) is not None for f in range(N))]
    gt_track = min(moving, key=lambda t: float(((doc.box_at(t.track_id, 0).box.center[:2] - lidar[:2]) ** 2).sum()))
    truth = {f: doc.box_at(gt_track.track_id, f).box for f in range(N)}
    undo.push(DeleteTrack(gt_track.track_id))
    steps = len(undo)

    key(qtbot, win, Qt.Key.Key_G)
    qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, pos=to_qpoint(win.bev, truth[0].center[:2]))
    tid = win.selection
    assert tid is not None and doc.track(tid).keyframe_indices() == [0]
    settle(qtbot, win)
    track = doc.track(tid)
    assert len(track.tracked) >= N - 2  # followed through the sequence by itself
    assert bev_iou(doc.box_at(tid, N - 1).box, truth[N - 1]) > 0.5
    assert len(undo) == steps + 1  # the box and its tracking: one step
    assert "tracked boxes" in win.statusBar().currentMessage()

    # an edit at frame 4 makes a keyframe there and re-tracks the frames around it
    win.set_frame(4)
    before = dict(doc.track(tid).tracked)
    key(qtbot, win, Qt.Key.Key_W)
    assert 4 in doc.track(tid).keyframes
    settle(qtbot, win)
    after = doc.track(tid).tracked
    assert any(before[f] != after.get(f) for f in before if f != 4)
    assert len(undo) == steps + 2
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.track(tid).tracked == before and 4 not in doc.track(tid).keyframes  # one undo: edit and re-track
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert tid not in doc  # one undo: the box and its tracking

    # the Assist toggles switch it off
    action = next(a for a in win.actions() if a.text().startswith("New boxes track themselves"))
    action.trigger()
    assert win.model.view.auto_track_new is False
    win.set_frame(0)
    key(qtbot, win, Qt.Key.Key_G)
    qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, pos=to_qpoint(win.bev, truth[0].center[:2]))
    tid = win.selection
    qtbot.wait(50)
    assert not win.auto_track.follow.running and not win.auto_track.follow.pending
    assert not doc.track(tid).tracked
