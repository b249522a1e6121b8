"""Tracked, interpolated and held boxes in the real window (pytest-qt under Xvfb): each state is
drawn in its own way in the BEV, the side view, the cameras and the 3D view, and the whole-track
keys work through the keymap: H flips the heading, U gives one size, Ctrl+End ends the track here,
Ctrl+Shift+End continues it to the end of the sequence."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import key, open_window, synth_scene

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt
N = 11


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=N, cameras=1, size=(160, 90))


def tracked_track(win) -> int:  # type: ignore[no-untyped-def]
    """A ground-truth track in front of the ego turned into: keyframe 0, tracked boxes 1..6
    (confidence 0.5 on odd frames, 1 on even ones), held after them up to the end."""
    from fusionlabel.commands import CommandGroup, RemoveKeyframe
    from fusionlabel.trackops import ExtendTrack, SetTracked

    doc = win.session.doc
    T = win.session.seq.T_world_from_ego(0)
    ego, fwd = T[:2, 3], T[:2, 0]

    def ahead(tid: int) -> float:
        d = np.asarray(doc.track(tid).keyframes[0].center[:2]) - ego
        return float(np.dot(d, fwd)) if np.linalg.norm(d) < 40 and np.dot(d, fwd) > 5 else math.inf

    tid = min((t for t in doc.track_ids() if sorted(doc.track(t).keyframes) == list(range(N))), key=ahead)
    truth = dict(doc.track(tid).keyframes)
    boxes = {f: truth[f] for f in range(1, 7)}
    conf = {f: 0.5 if f % 2 else 1.0 for f in boxes}
    win.session.undo.push(CommandGroup("make a tracked track", [
        *(RemoveKeyframe(tid, f) for f in range(1, N)), SetTracked(tid, boxes, conf), ExtendTrack(tid)]))
    return tid


def bev_outline(win, tid: int):  # type: ignore[no-untyped-def]
    return next(s for s in win.bev.shapes if s.key == tid and s.closed)


def test_each_box_state_is_drawn_its_own_way(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    tid = tracked_track(win)
    doc = win.session.doc
    assert [doc.box_at(tid, f).state for f in (0, 1, 6, 7, 10)] == ["keyframe", "tracked", "tracked", "held", "held"]

    win.set_frame(1)
    qtbot.wait(20)
    sh = bev_outline(win, tid)
    assert sh.dash_dot and not sh.dashed and sh.opacity < 1.0  # tracked, confidence 0.5
    glyph_lines = win.view3d.tracked
    assert glyph_lines.visible
    cam = [b for p in win.camera_grid.panels.values() for b in p.box_layer.data if b.id == tid]
    assert cam and cam[0].state == "tracked" and cam[0].pattern == "dashdot" and cam[0].confidence == 0.5

    win.set_frame(2)
    qtbot.wait(20)
    assert bev_outline(win, tid).dash_dot and bev_outline(win, tid).opacity == 1.0  # confidence 1

    win.set_frame(8)
    qtbot.wait(20)
    sh = bev_outline(win, tid)
    assert sh.dashed and not sh.dash_dot  # held: like interpolated
    win.select(tid)
    qtbot.wait(20)
    assert "(held)" in win.side.message

    win.set_frame(0)
    qtbot.wait(20)
    sh = bev_outline(win, tid)
    assert not sh.dashed and not sh.dash_dot
    bar = win.timeline.bar  # the selected track: keyframe 0, tracked 1..6, held to the end
    assert bar.keyframes == [0] and bar.tracked == [1, 2, 3, 4, 5, 6] and bar.span == (0, N - 1)


def test_whole_track_keys(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    tid = tracked_track(win)
    doc = win.session.doc
    win.select(tid)
    win.set_frame(3)
    before = {f: doc.box_at(tid, f).box for f in range(N)}

    # H: the heading of every frame turned by 180 degrees, one undo step
    steps = len(win.session.undo)
    key(qtbot, win, Qt.Key.Key_H)
    assert len(win.session.undo) == steps + 1
    for f in range(N):
        a, b = doc.box_at(tid, f).box, before[f]
        assert abs(math.remainder(a.yaw - b.yaw - math.pi, 2 * math.pi)) < 1e-9
        assert np.allclose(a.center, b.center)
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert all(doc.box_at(tid, f).box == before[f] for f in range(N))

    # U: one size for the whole track (estimated from its points)
    key(qtbot, win, Qt.Key.Key_U)
    t = doc.track(tid)
    sizes = {b.size for b in (*t.keyframes.values(), *t.tracked.values())}
    assert len(sizes) == 1
    true = np.array(before[0].size)
    assert np.allclose(next(iter(sizes)), true, atol=0.35)
    assert "one size" in win.statusBar().currentMessage()

    # Ctrl+End: the track ends here; Ctrl+Shift+End: it continues to the end again
    win.set_frame(5)
    key(qtbot, win, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert doc.track(tid).span() == (0, 5) and doc.box_at(tid, 6) is None
    assert win.frame == 5  # the key did not also jump to the last frame
    key(qtbot, win, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert doc.track(tid).span() == (0, N - 1) and doc.box_at(tid, N - 1).state == "held"

    # the Track menu shows the keys
    texts = {a.text() for a in win.menus["Track"].actions()}
    assert any(t.endswith("\tH") for t in texts) and any(t.endswith("\tU") for t in texts)
