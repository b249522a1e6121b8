"""Interpolation, track operations and propagation in the real window (pytest-qt under Xvfb), driven
with real mouse and key events where the labeler would use them: two keyframes ten frames apart
interpolate the frames between them (drawn as interpolated, keyframe markers on the timeline),
make keyframe here, the per-track method, the Track menu (split, merge, delete from here, gaps),
and "copy to next frame" / "propagate all" with motion prediction and refinement on the points."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import drag, key, open_window, synth_scene

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=11, cameras=1, size=(160, 90))


def click_timeline(qtbot, win, frame: int) -> None:  # type: ignore[no-untyped-def]
    bar = win.timeline.bar
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(round(bar._x(frame))), bar.height() // 2))


def test_two_keyframes_ten_frames_apart_interpolate_in_the_window(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    doc, bev = win.session.doc, win.bev
    T = win.session.seq.T_world_from_ego(0)
    ego, fwd = T[:2, 3], T[:2, 0] / np.linalg.norm(T[:2, 0])

    # keyframe 0: a box created by a BEV drag (create tool), rear to front over 4 m
    key(qtbot, win, Qt.Key.Key_B)
    drag(qtbot, bev, ego - 2.0 * fwd, ego + 2.0 * fwd)
    tid = win.selection
    assert tid is not None and doc.track(tid).keyframe_indices() == [0]

    # frame 10 by the keyboard (Shift+Right: large step of 10 frames); the new track lasts to the
    # end of the sequence: its box is held there
    key(qtbot, win, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert win.frame == 10 and doc.box_at(tid, 10).state == "held"
    # Shift+C brings the box here (a keyframe), then nudges move it: 2 m forward, 1 m left, 10 deg
    key(qtbot, win, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)
    assert doc.track(tid).keyframe_indices() == [0, 10]
    for k in (Qt.Key.Key_W,) * 4 + (Qt.Key.Key_A,) * 2 + (Qt.Key.Key_Q,):
        key(qtbot, win, k, Qt.KeyboardModifier.ShiftModifier)
    # and a BEV drag of the box 1 m further forward
    c10 = np.asarray(doc.box_at(tid, 10).box.center[:2])
    drag(qtbot, bev, c10, c10 + 1.0 * fwd)
    b0, b10 = doc.track(tid).keyframes[0], doc.track(tid).keyframes[10]
    assert doc.track(tid).keyframe_indices() == [0, 10]
    assert np.linalg.norm(np.asarray(b10.center[:2]) - c10) == pytest.approx(1.0, abs=0.1)
    assert win.timeline.bar.keyframes == [0, 10]  # markers of the selected track

    # frame 5 through the timeline: the box is the track's interpolation, drawn as interpolated
    click_timeline(qtbot, win, 5)
    assert win.frame == 5
    ref = next(r for r in win.boxes() if r.track_id == tid)
    expected = doc.track(tid).box_at(5, doc.frame_times_ns)
    assert not ref.is_keyframe and ref.box == expected
    mid = (np.asarray(b0.center) + np.asarray(b10.center)) / 2
    assert np.linalg.norm(np.asarray(expected.center) - mid) < 0.3
    shapes = [s for s in bev.shapes if s.key == tid]
    assert shapes and shapes[0].dashed  # interpolated: dashed outline
    assert "(interpolated)" in win.side.message
    assert win.timeline.bar.keyframes == [0, 10]

    # K: make keyframe here (the box does not move); undo
    key(qtbot, win, Qt.Key.Key_K)
    assert doc.track(tid).keyframe_indices() == [0, 5, 10] and doc.box_at(tid, 5).box == expected
    assert win.timeline.bar.keyframes == [0, 5, 10]
    assert not [s for s in bev.shapes if s.key == tid][0].dashed
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.track(tid).keyframe_indices() == [0, 10]

    # the object panel's interpolation selector: linear puts frame 5 at the midpoint (uniform times)
    box = win.objects.interp_box
    assert box.isEnabled() and box.currentText() == doc.track(tid).interpolation == "smooth"
    box.setCurrentText("linear")
    box.activated.emit(box.currentIndex())
    qtbot.wait(5)
    assert doc.track(tid).interpolation == "linear"
    lin = doc.box_at(tid, 5).box
    assert np.allclose(lin.center, mid, atol=1e-6)
    assert math.remainder(lin.yaw - (b0.yaw + math.remainder(b10.yaw - b0.yaw, 2 * math.pi) / 2), 2 * math.pi) == \
        pytest.approx(0.0, abs=1e-6)
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.track(tid).interpolation == "smooth"
    qtbot.wait(5)
    assert win.objects.interp_box.currentText() == "smooth"


def test_track_menu_split_merge_delete_from_here_and_gaps(qtbot, scene: Path) -> None:
    from fusionlabel.commands import CreateTrack, SetKeyframe

    win = open_window(qtbot, scene)
    doc, undo = win.session.doc, win.session.undo
    T = win.session.seq.T_world_from_ego(0)
    box = doc.boxes_at(0)[0].box.replace(center=(*T[:2, 3], 0.8))
    cmd = CreateTrack("car", 0, box)
    undo.push(cmd)
    tid = cmd.track_id
    undo.push(SetKeyframe(tid, 10, box.replace(center=(box.center[0] + 5.0, box.center[1], 0.8))))
    n_steps, n_tracks = len(undo), len(doc)
    win.select(tid)
    win.set_frame(5)
    menu = next(a.menu() for a in win.menuBar().actions() if a.text().replace("&", "") == "Track")
    texts = [a.text().split("\t")[0] for a in menu.actions() if a.text()]
    assert {"Make keyframe here", "Split track at this frame", "Delete track from this frame on"} <= set(texts)
    acts = win.qactions  # the menu entries generated from the action registry

    # split at frame 5: frames 5.. become a new track (selected); the cut boxes stay where they were
    before5 = doc.box_at(tid, 5).box
    acts["split_track"].trigger()
    new = win.selection
    assert new != tid and len(doc) == n_tracks + 1
    assert doc.track(tid).keyframe_indices() == [0, 4] and doc.track(new).keyframe_indices() == [5, 10]
    assert doc.box_at(new, 5).box == before5
    # merge it back, the other id chosen in the (injected) dialog
    asked = []
    win.tracks.choose_track = lambda keep, ids: asked.append((keep, ids)) or (new, False)
    win.select(tid)
    acts["merge_tracks"].trigger()
    assert asked and asked[0][0] == tid and new in asked[0][1]
    assert new not in doc and doc.track(tid).keyframe_indices() == [0, 4, 5, 10]
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(doc) == n_tracks and doc.track(tid).keyframe_indices() == [0, 10]
    assert len(undo) == n_steps

    # delete from this frame on
    win.select(tid)
    acts["delete_from_here"].trigger()
    assert doc.track(tid).keyframe_indices() == [0, 4] and doc.box_at(tid, 5) is None
    undo.undo()
    assert doc.track(tid).keyframe_indices() == [0, 10]

    # gap from here to the next keyframe, then remove it from a frame inside it
    acts["mark_gap"].trigger()
    assert doc.track(tid).gaps == ((5, 9),) and doc.box_at(tid, 7) is None
    assert doc.track(tid).keyframe_indices() == [0, 4, 10]
    win.set_frame(7)
    acts["remove_gap"].trigger()
    assert doc.track(tid).gaps == () and doc.box_at(tid, 7) is not None
    undo.undo()
    undo.undo()
    assert doc.track(tid).gaps == () and doc.track(tid).keyframe_indices() == [0, 10]
    # refused operations change nothing and say why
    win.set_frame(0)
    acts["make_keyframe"].trigger()
    assert "already has a keyframe" in win.statusBar().currentMessage()
    assert len(undo) == n_steps


def _moving_car(win, frames: tuple[int, ...]) -> int:  # type: ignore[no-untyped-def]
    """A moving GT car with keyframes at ``frames`` and the most points at the last of them."""
    from fusionlabel.geometry import count_points_in_boxes

    doc = win.session.doc
    pts = win.session.frame(frames[-1]).pts_world
    best, most = None, 0
    for tid, t in doc.tracks.items():
        if t.label != "car" or not all(t.is_keyframe(f) for f in frames):
            continue
        if np.linalg.norm(np.subtract(t.keyframes[frames[1]].center, t.keyframes[frames[0]].center)) < 0.5:
            continue
        n = int(count_points_in_boxes(pts, [t.keyframes[frames[-1]]])[0])
        if n > most:
            best, most = tid, n
    assert best is not None and most >= 100, most
    return best


def test_copy_to_next_frame_predicts_and_refines_and_propagate_all(qtbot, scene: Path) -> None:
    from fusionlabel.geometry import bev_iou

    win = open_window(qtbot, scene)
    doc = win.session.doc
    tid = _moving_car(win, (0, 1, 2))
    gt2 = doc.track(tid).keyframes[2]
    # delete its keyframe at frame 2 (Delete at frame 2), back to frame 1, C: copy to the next frame
    win.set_frame(2)
    win.select(tid)
    key(qtbot, win, Qt.Key.Key_Delete)
    assert not doc.track(tid).is_keyframe(2)
    key(qtbot, win, Qt.Key.Key_Left)
    assert win.frame == 1 and win.selection == tid
    plain = doc.track(tid).keyframes[1]
    key(qtbot, win, Qt.Key.Key_C)
    assert win.frame == 2 and doc.track(tid).is_keyframe(2)
    new = doc.track(tid).keyframes[2]
    iou = bev_iou(new, gt2)
    assert iou > 0.7, iou
    assert iou > bev_iou(plain, gt2) + 0.1  # the moving car: much better than a plain copy
    res = win.tracks.last_refine
    assert res is not None
    msg = win.statusBar().currentMessage()
    assert ("refined on" in msg) if res.ok else ("refinement refused" in msg and res.reason in msg)

    # Alt+C: propagate all boxes of frame 2 to frame 3; tracks with a keyframe there are skipped
    others = [t for t in doc.track_ids() if t != tid and doc.track(t).is_keyframe(3) and doc.track(t).box_at(2)]
    gt3 = doc.track(tid).keyframes[3]
    from fusionlabel.commands import RemoveKeyframe

    win.session.undo.push(RemoveKeyframe(tid, 3))
    win.session.undo.push(RemoveKeyframe(others[0], 3))
    n = len(win.session.undo)
    key(qtbot, win, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    assert win.frame == 3 and len(win.session.undo) == n + 1
    assert doc.track(tid).is_keyframe(3) and doc.track(others[0]).is_keyframe(3)
    assert bev_iou(doc.track(tid).keyframes[3], gt3) > 0.7
    msg = win.statusBar().currentMessage()
    assert msg.startswith("propagated 2 boxes to frame 3") and "skipped" in msg
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not doc.track(tid).is_keyframe(3) and not doc.track(others[0]).is_keyframe(3)
