"""Auto-tracking in the real window (pytest-qt under Xvfb), on a small synthetic sequence whose
tracks keep only their first keyframe: T tracks the selected track and Shift+T all of them in the
background, the result is one undo step, Cancel leaves the document as it was, a track edited
while the job runs keeps its edit, and I steps to the lowest-confidence tracked box."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import key, open_window, synth_scene

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt
N = 6
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=N, cameras=1, size=(160, 90))


def first_keyframes_only(win, keep: int | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    """Every track keeps its first keyframe only; with ``keep``, only the ``keep`` tracks nearest to
    the ego at frame 0 stay (the others are deleted). Returns the remaining ids, nearest first."""
    from fusionlabel.commands import CommandGroup, DeleteTrack, RemoveKeyframe

    doc = win.session.doc
    ego = win.session.seq.T_world_from_ego(0)[:2, 3]

    def dist(t: int) -> float:
        k = min(doc.track(t).keyframes)
        return float(np.linalg.norm(np.asarray(doc.track(t).keyframes[k].center[:2]) - ego))

    ids = sorted(doc.track_ids(), key=dist)
    kept = ids if keep is None else ids[:keep]
    cmds = [DeleteTrack(t) for t in ids if t not in kept]
    cmds += [RemoveKeyframe(t, f) for t in kept for f in sorted(doc.track(t).keyframes)[1:]]
    win.session.undo.push(CommandGroup("first keyframes only", cmds))
    return kept


def states(win) -> dict:  # type: ignore[no-untyped-def]
    from fusionlabel.trackjob import track_state

    doc = win.session.doc
    return {t: track_state(doc.track(t)) for t in doc.track_ids()}


def run_key(qtbot, win, k, mods=None):  # type: ignore[no-untyped-def]
    """Press ``k`` and wait for the auto-track job it starts; returns its outcome (None: cancelled)."""
    with qtbot.waitSignal(win.tracking.finished, timeout=WAIT_MS) as sig:
        key(qtbot, win, k, mods)
        assert win.auto_track.running
    return sig.args[0]


def test_t_tracks_the_selected_track_and_one_undo_removes_it(qtbot, scene: Path) -> None:
    from formats.datasets import open_dataset

    win = open_window(qtbot, scene)
    tid, other = first_keyframes_only(win, keep=2)
    doc = win.session.doc
    before, depth = states(win), len(win.session.undo._done)
    win.select(tid)
    out = run_key(qtbot, win, Qt.Key.Key_T)
    assert out.applied == [tid] and not out.changed
    assert sorted(doc.track(tid).tracked) == list(range(1, N))
    assert all(doc.box_at(tid, f).state == "tracked" for f in range(1, N))
    assert not doc.track(other).tracked  # only the selected track
    assert len(win.session.undo._done) == depth + 1
    truth = open_dataset(scene).annotations  # the tracked boxes follow the object
    for f in range(1, N):
        a, b = doc.box_at(tid, f).box.center, truth.box_at(tid, f).box.center
        assert math.hypot(a[0] - b[0], a[1] - b[1]) < 0.5
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert states(win) == before


def test_shift_t_tracks_all_and_one_undo_removes_all(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    ids = first_keyframes_only(win, keep=3)
    doc = win.session.doc
    before = states(win)
    win.select(None)
    ticks: list[bool] = []
    timer = QtCore.QTimer(win)
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(win.auto_track.running))
    timer.start()
    out = run_key(qtbot, win, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier)
    timer.stop()
    assert any(ticks)  # the event loop kept running during the job
    assert sorted(out.applied) == sorted(ids)
    assert all(doc.track(t).tracked for t in ids)
    assert "3 tracks" in win.statusBar().currentMessage()
    win.undo()
    assert states(win) == before


def test_cancel_leaves_the_document_unchanged(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    first_keyframes_only(win)  # every track: a long job
    before, depth = states(win), len(win.session.undo._done)
    panel = win.tracking.panel
    with qtbot.waitSignal(win.tracking.finished, timeout=WAIT_MS) as sig:
        key(qtbot, win, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier)
        assert win.auto_track.running and panel.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: panel.bar.value() > 0, timeout=WAIT_MS)  # progress arrives
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert sig.args[0] is None and win.auto_track.last_error == "cancelled"
    assert states(win) == before and len(win.session.undo._done) == depth
    assert "cancelled" in win.statusBar().currentMessage()
    assert not win.auto_track.running and panel.track_button.isEnabled()


def test_track_edited_while_tracking_keeps_its_edit(qtbot, scene: Path) -> None:
    from fusionlabel.commands import SetKeyframe

    win = open_window(qtbot, scene)
    tid, other = first_keyframes_only(win, keep=2)
    doc = win.session.doc
    box = doc.track(tid).keyframes[0]
    with qtbot.waitSignal(win.tracking.finished, timeout=WAIT_MS) as sig:
        key(qtbot, win, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier)
        win.session.undo.push(SetKeyframe(tid, 3, box))  # the labeler edits track tid meanwhile
    out = sig.args[0]
    assert out.changed == [tid] and out.applied == [other]
    assert not doc.track(tid).tracked and doc.track(tid).keyframes[3] == box
    assert doc.track(other).tracked
    assert f"track {tid} edited while tracking" in win.statusBar().currentMessage()


def test_i_steps_to_the_lowest_confidence_tracked_box(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    ids = first_keyframes_only(win, keep=3)
    doc = win.session.doc
    win.auto_track.review_below = 1.01  # every tracked box joins the list
    key(qtbot, win, Qt.Key.Key_I)
    assert "auto-track first" in win.statusBar().currentMessage()
    run_key(qtbot, win, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier)
    rows = sorted((doc.track(t).tracked_confidence[f], t, f) for t in ids for f in doc.track(t).tracked)
    assert win.tracking.panel.tree.topLevelItemCount() == len(rows)
    win.set_frame(N - 1)
    key(qtbot, win, Qt.Key.Key_I)
    c0, t0, f0 = rows[0]
    assert (win.frame, win.selection) == (f0, t0)
    cx, cy = doc.box_at(t0, f0).box.center[:2]
    vx, vy = win.bev.center
    assert math.hypot(vx - cx, vy - cy) < 0.5  # the BEV is centred on the box
    assert f"{c0:.2f}" in win.statusBar().currentMessage()
    key(qtbot, win, Qt.Key.Key_I)
    assert (win.frame, win.selection) == (rows[1][2], rows[1][1])
    key(qtbot, win, Qt.Key.Key_I, Qt.KeyboardModifier.ShiftModifier)
    assert (win.frame, win.selection) == (f0, t0)
    key(qtbot, win, Qt.Key.Key_K)  # the labeler fixes it (a keyframe now): it leaves the queue
    assert doc.box_at(t0, f0).state == "keyframe"
    key(qtbot, win, Qt.Key.Key_I)
    assert (win.frame, win.selection) == (rows[1][2], rows[1][1])
    key(qtbot, win, Qt.Key.Key_I, Qt.KeyboardModifier.ShiftModifier)
    assert (win.frame, win.selection) == (rows[1][2], rows[1][1])
    assert "No previous tracked box to check" in win.statusBar().currentMessage()
