"""Assisted labelling in the real window (pytest-qt under Xvfb): the one-click tool (G, then a click
on a parked car's points in the BEV), pre-labelling in a worker thread with progress while the
window keeps running, proposals drawn apart from the human labels, and the review queue driven
from the keyboard (J / Shift+J, Y accept, X reject, L relabel, undo), accept above the threshold
(Shift+Y and the Assist menu, one undoable step) with the proposal under review centred and
highlighted."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import key, open_window, synth_scene, to_qpoint

pytestmark = pytest.mark.gl

QtCore = pytest.importorskip("PyQt6.QtCore")
Qt = QtCore.Qt


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=11, cameras=1, size=(160, 90))


def test_one_click_box_on_a_parked_car(qtbot, scene: Path) -> None:
    from fusionlabel.geometry import bev_iou, count_points_in_boxes

    win = open_window(qtbot, scene)
    doc = win.session.doc
    pts = win.session.frame(0).pts_world
    lidar = win.session.loaded.T_world_from_sensor(0, win.session.loaded.lidar_names[0])[:3, 3]
    # the parked car with the most points within 30 m
    parked = [t for t in doc.tracks.values() if t.label == "car" and t.attributes.get("state") == "parked"
              and doc.box_at(t.track_id, 0) is not None]
    gts = [doc.box_at(t.track_id, 0).box for t in parked]
    counts = count_points_in_boxes(pts, gts)
    near = [i for i, b in enumerate(gts) if np.linalg.norm(np.subtract(b.center[:2], lidar[:2])) < 30]
    i = max(near, key=lambda k: counts[k])
    gt = gts[i]
    assert counts[i] >= 150, counts[i]
    assert np.allclose(win.ctx.sensor_origin, lidar)  # the frame facts: the LiDAR position
    Te = win.session.loaded.info.T_world_from_ego(0)  # and the ego's heading (walkers' axes)
    assert abs(math.remainder(win.ctx.ego_yaw - math.atan2(Te[1, 0], Te[0, 0]), 2 * math.pi)) < 1e-9

    n = len(doc)
    key(qtbot, win, Qt.Key.Key_G)
    assert win.ctl.active_name == "oneclick"
    qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, pos=to_qpoint(win.bev, gt.center[:2]))
    qtbot.wait(5)
    assert len(doc) == n + 1
    tid = win.selection
    assert tid is not None and tid == max(doc.track_ids()) and doc.track(tid).label == "car"
    iou = bev_iou(doc.box_at(tid, 0).box, gt)
    assert iou > 0.6, iou
    assert win.ctl.active_name == "edit"  # back to the edit tool
    assert "car:" in win.statusBar().currentMessage()
    # a click on empty ground makes nothing and says so
    key(qtbot, win, Qt.Key.Key_G)
    qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, pos=to_qpoint(win.bev, lidar[:2] + np.array([0.0, 0.5])))
    assert len(doc) == n + 1 and "no object" in win.statusBar().currentMessage()
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(doc) == n


def _prelabel(qtbot, win, frames):  # type: ignore[no-untyped-def]
    """Run the pre-labelling action in its thread; the window keeps processing events meanwhile."""
    ticks = []
    timer = QtCore.QTimer(win)
    timer.timeout.connect(lambda: ticks.append(win.progress.value()))
    timer.start(20)
    with qtbot.waitSignal(win.prelabel_finished, timeout=60000) as sig:
        assert win.proposal_review.start_prelabel(frames)
        assert win.proposal_review.running and win.progress.isVisible()
    timer.stop()
    assert len(ticks) >= 3  # the event loop ran during the pre-labelling: the window did not freeze
    assert not win.proposal_review.running and not win.progress.isVisible()
    return sig.args[0]


def test_prelabel_review_accept_reject_undo_and_styling(qtbot, scene: Path, tmp_path: Path) -> None:
    from fusionlabel.commands import DeleteTrack

    win = open_window(qtbot, scene)
    doc, undo = win.session.doc, win.session.undo
    # keep the even-id human tracks, delete the others (their objects get proposed)
    with undo.group("clear"):
        for t in [t for t in doc.track_ids() if t % 2]:
            undo.push(DeleteTrack(t))
    humans = set(doc.track_ids())
    n = _prelabel(qtbot, win, [0, 1, 2])
    assert n == len(doc.proposals) > 3
    assert set(doc.track_ids()) == humans  # proposals are not tracks
    # the review queue dock: highest confidence first
    ids = win.proposal_dock.widget.ids()
    confs = [doc.proposals[i].confidence for i in ids]
    assert ids == win.proposal_review.queue.ids() and confs == sorted(confs, reverse=True)
    assert win.proposal_review.current.proposal_id == ids[0]
    assert win.frame in win.proposal_review.current.boxes  # the window went to a frame of it

    # proposals are drawn apart from the human labels: dotted and filled, never so a human box
    win.set_frame(0)
    qtbot.wait(5)
    shapes = win.bev.shapes
    props = [s for s in shapes if isinstance(s.key, tuple) and s.key[0] == "proposal"]
    human = [s for s in shapes if isinstance(s.key, int)]
    assert len(props) == len(doc.proposals_at(0)) > 0 and human
    assert all(s.dotted and s.fill_alpha > 0 and s.text.startswith("p") for s in props)
    assert not any(s.dotted for s in human)
    assert {s.color for s in props}.isdisjoint({s.color for s in human})
    # ... and in the camera panels: dotted lilac edges where the proposal projects
    from gui.colors import PROPOSAL_COLOR

    seen = [(panel, pid) for panel in win.camera_grid.panels.values() for pid in {q for q, _, _ in panel._proposals}]
    assert seen, "no proposal projects into a camera"
    panel, pid = max(seen, key=lambda pp: sum(len(q) for q in pp[0].proposal_edges(pp[1])))
    win.frames.set_draft(False)
    qtbot.wait(20)
    grab = panel.grab().toImage()
    hits = total = 0
    for poly in panel.proposal_edges(pid):
        for a, b in zip(poly[:-1], poly[1:], strict=True):
            x, y = panel.image_to_widget(((a + b) / 2)[None])[0]
            near = [grab.pixelColor(min(max(int(x) + dx, 0), grab.width() - 1), min(max(int(y) + dy, 0),
                                                                                    grab.height() - 1))
                    for dx in (-2, -1, 0, 1, 2) for dy in (-2, -1, 0, 1, 2)]
            total += 1
            hits += any(abs(c.red() - PROPOSAL_COLOR[0]) + abs(c.green() - PROPOSAL_COLOR[1])
                        + abs(c.blue() - PROPOSAL_COLOR[2]) < 60 for c in near)
    assert total and hits / total > 0.6, (hits, total)
    img = win.screenshot()
    out = Path(os.environ.get("FUSIONLABEL_TEST_SHOTS", tmp_path)) / "proposals.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    assert img.save(str(out))

    # J / Shift+J walk the queue and go to the proposal's frame
    key(qtbot, win, Qt.Key.Key_J)
    assert win.proposal_review.current.proposal_id == ids[1] and win.frame in doc.proposals[ids[1]].boxes
    assert win.proposal_dock.widget.tree.currentItem().text(0) == str(ids[1])
    key(qtbot, win, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    assert win.proposal_review.current.proposal_id == ids[0]

    # Y accepts: a new track over the proposal's frames (keyframes where the motion needs them),
    # selected; the proposal is gone
    p = doc.proposals[ids[0]]
    n_tracks, n_steps = len(doc), len(undo)
    key(qtbot, win, Qt.Key.Key_Y)
    assert len(doc) == n_tracks + 1 and ids[0] not in doc.proposals
    tid = win.selection
    assert tid not in humans and doc.track(tid).label == p.label
    kf = doc.track(tid).keyframes
    assert set(kf) <= set(p.boxes) and min(kf) == min(p.boxes) and doc.track(tid).end == max(p.boxes)
    assert all(kf[f] == p.boxes[f] for f in kf)
    for f, b in p.boxes.items():
        assert np.linalg.norm(np.subtract(doc.box_at(tid, f).box.center, b.center)) <= 0.15 + 1e-6
    # L gives the next proposal the class of new boxes; X rejects it
    nxt = win.proposal_review.current.proposal_id
    assert nxt == ids[1]
    win.objects.new_box.setCurrentText("van")
    key(qtbot, win, Qt.Key.Key_L)
    assert doc.proposals[nxt].label == "van"
    key(qtbot, win, Qt.Key.Key_X)
    assert nxt not in doc.proposals and len(doc) == n_tracks + 1
    assert len(undo) == n_steps + 3
    # undo: the rejection, the relabel and the acceptance come back exactly
    for _ in range(3):
        key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(doc) == n_tracks and tid not in doc
    assert doc.proposals[ids[0]].boxes == p.boxes and doc.proposals[nxt].label != "van"
    qtbot.wait(5)
    assert win.proposal_dock.widget.ids() == ids

    # a click on a proposal's footprint in the BEV (no human box there) puts it under review
    from fusionlabel.tools import pick_candidates

    cur = win.proposal_review.current.proposal_id
    win.select(None)
    target = next(r for r in doc.proposals_at(win.frame) if r.proposal_id != cur
                  and not pick_candidates(win.ctx, tuple(r.box.center[:2]), 0.5))
    qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, pos=to_qpoint(win.bev, target.box.center[:2]))
    qtbot.wait(5)
    assert win.proposal_review.current.proposal_id == target.proposal_id and win.selection is None
    # with no box selected the nudge keys edit the proposal under review (it stays a proposal)
    before = doc.proposals[target.proposal_id].boxes[win.frame]
    n_steps = len(undo)
    key(qtbot, win, Qt.Key.Key_W)
    key(qtbot, win, Qt.Key.Key_E)
    moved = doc.proposals[target.proposal_id].boxes[win.frame]
    assert moved.center != before.center and moved.yaw != before.yaw and len(undo) == n_steps + 1
    shape = next(sh for sh in win.bev.shapes if sh.key == ("proposal", target.proposal_id))
    assert np.allclose(shape.points, moved.corners()[:4, :2])  # the BEV shows the edited box
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.proposals[target.proposal_id].boxes[win.frame] == before
    key(qtbot, win, Qt.Key.Key_W)
    moved = doc.proposals[target.proposal_id].boxes[win.frame]
    key(qtbot, win, Qt.Key.Key_Y)
    assert doc.box_at(win.selection, win.frame).box == moved  # accepted as edited
    assert target.proposal_id not in doc.proposals and doc.track(win.selection).label == target.label


def test_accept_above_threshold_by_key_and_menu(qtbot, scene: Path, tmp_path: Path) -> None:
    """Shift+Y (and the Assist menu's action) accepts every proposal at or above the dock's
    threshold as tracks in one undoable step; the proposal under review is centred in the BEV and
    drawn highlighted (screenshot saved)."""
    from fusionlabel.commands import DeleteTrack

    win = open_window(qtbot, scene)
    doc, undo = win.session.doc, win.session.undo
    with undo.group("clear"):
        for t in list(doc.track_ids()):
            undo.push(DeleteTrack(t))
    assert _prelabel(qtbot, win, [0, 1, 2, 3]) > 2
    ui = win.proposal_review
    # a proposal the track-level cues lowered says why in the dock's tooltip
    from fusionlabel.assist.prelabel import CUE_ATTRIBUTE

    for p in doc.proposals.values():
        item = win.proposal_dock.widget._items[p.proposal_id]
        reason = p.attributes.get(CUE_ATTRIBUTE)
        assert (reason in item.toolTip(1)) if reason else not item.toolTip(1)
    confs = sorted((p.confidence for p in doc.proposals.values()), reverse=True)
    thr = float(confs[len(confs) // 2])  # about half of them qualify
    win.proposal_dock.widget.threshold.setValue(thr)
    expect = {i for i, p in doc.proposals.items() if p.confidence >= round(thr, 2)}
    assert 0 < len(expect) < len(doc.proposals)
    # the proposal under review: centred in the BEV, drawn thicker and filled stronger
    cur = ui.current
    assert np.allclose(win.bev.center, cur.boxes[win.frame].center[:2])
    shape = next(s for s in win.bev.shapes if s.key == ("proposal", cur.proposal_id))
    others = [s for s in win.bev.shapes if isinstance(s.key, tuple) and s.key[0] == "proposal" and s is not shape]
    assert others and all(shape.width > s.width and shape.fill_alpha > s.fill_alpha for s in others)
    out = Path(os.environ.get("FUSIONLABEL_TEST_SHOTS", tmp_path)) / "proposal_queue_current.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    assert win.screenshot().save(str(out))

    n_steps, n_props = len(undo), len(doc.proposals)
    key(qtbot, win, Qt.Key.Key_Y, Qt.KeyboardModifier.ShiftModifier)
    assert len(undo) == n_steps + 1 and len(doc) == len(expect)
    assert set(doc.proposals) == set(range(n_props)) - expect
    assert "accepted" in win.statusBar().currentMessage()
    shown = win.proposal_dock.widget.ids()
    assert shown == ui.queue.ids() and len(shown) == n_props - len(expect)
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo brings all back
    assert len(doc) == 0 and len(doc.proposals) == n_props
    # the same through the Assist menu
    action = next(a for a in win.actions() if a.text().startswith("Accept all proposals above the threshold"))
    assert "Shift+Y" in action.text()
    action.trigger()
    assert len(undo) == n_steps + 1 and len(doc) == len(expect)
    # lowest first, from the dock
    win.proposal_dock.widget.lowest_first.setChecked(True)
    left = [doc.proposals[i].confidence for i in win.proposal_dock.widget.ids()]
    assert left == sorted(left) and ui.queue.lowest_first
    # Shift+X: the rest of the queue rejected in one undoable step
    win.proposal_dock.widget.lowest_first.setChecked(False)
    n_steps = len(undo)
    key(qtbot, win, Qt.Key.Key_X, Qt.KeyboardModifier.ShiftModifier)
    assert len(undo) == n_steps + 1 and not doc.proposals and len(doc) == len(expect)
    assert "rejected the rest" in win.statusBar().currentMessage()
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(doc.proposals) == n_props - len(expect)


def _click_3d(qtbot, win, xy) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtCore import QPoint

    pos = QPoint(int(round(xy[0])), int(round(xy[1])))
    qtbot.mouseClick(win.view3d.widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.wait(5)


def test_clicks_in_the_3d_view_select_and_one_click_box(qtbot, scene: Path) -> None:
    """In the 3D view a click (no drag) selects the box under it; with the one-click tool (G) it
    boxes the object whose points the viewing ray hits first."""
    from fusionlabel.commands import DeleteTrack
    from fusionlabel.geometry import bev_iou, count_points_in_boxes

    win = open_window(qtbot, scene)
    doc = win.session.doc
    v = win.view3d
    v.render()  # the view's camera and size as drawn
    w, h = v.widget.width(), v.widget.height()
    pts = win.session.frame(0).pts_world
    refs = [r for r in win.boxes() if r.label == "car"]
    counts = count_points_in_boxes(pts, [r.box for r in refs])

    def on_screen(r) -> np.ndarray | None:  # type: ignore[no-untyped-def]
        c = v.to_canvas(np.asarray(r.box.center)[None])[0]
        return c if 20 < c[0] < w - 20 and 20 < c[1] < h - 20 else None

    # nearest-to-eye first: a well-seen car drawn in the view
    o, d = v.ray_at(w / 2, h / 2)
    cands = sorted((float((np.asarray(r.box.center) - o) @ d), i) for i, r in enumerate(refs)
                   if counts[i] >= 100 and on_screen(r) is not None)
    assert cands, "no well-seen car in the 3D view"
    ref = refs[cands[0][1]]
    _click_3d(qtbot, win, on_screen(ref))
    assert win.selection == ref.track_id
    # a drag is an orbit, not a click: the selection stays
    win.select(None)
    qtbot.mousePress(v.widget, Qt.MouseButton.LeftButton, pos=QtCore.QPoint(20, 20))
    qtbot.mouseMove(v.widget, QtCore.QPoint(80, 60))
    qtbot.mouseRelease(v.widget, Qt.MouseButton.LeftButton, pos=QtCore.QPoint(80, 60))
    assert win.selection is None

    # one-click from the 3D view: remove the label, click where the car is drawn
    gt = ref.box
    win.session.undo.push(DeleteTrack(ref.track_id))
    n = len(doc)
    key(qtbot, win, Qt.Key.Key_G)
    assert win.ctl.active_name == "oneclick"
    _click_3d(qtbot, win, v.to_canvas(np.asarray(gt.center)[None])[0])
    assert len(doc) == n + 1, win.statusBar().currentMessage()
    tid = win.selection
    assert doc.track(tid).label == "car" and win.ctl.active_name == "edit"
    iou = bev_iou(doc.box_at(tid, 0).box, gt)
    assert iou > 0.5, iou


def test_one_click_walker_takes_its_heading_from_motion(qtbot, scene: Path) -> None:
    """In a sequence the window gives the one-click tool the neighbouring sweeps: a walking
    pedestrian's box points where it walks."""
    from fusionlabel.commands import DeleteTrack
    from fusionlabel.geometry import count_points_in_boxes

    win = open_window(qtbot, scene)
    doc = win.session.doc
    f = 5
    win.set_frame(f)
    qtbot.wait(5)
    dt, pts = win.ctx.neighbour_points(1)
    assert dt > 0 and pts.shape[1] == 3 and len(pts) > 1000
    assert win.ctx.neighbour_points(-f - 1) is None  # before the first frame
    refs = [r for r in win.boxes() if r.label == "pedestrian"]
    moving = []
    for r in refs:
        a, b = doc.box_at(r.track_id, f - 1), doc.box_at(r.track_id, f + 1)
        if a is not None and b is not None and np.hypot(*np.subtract(b.box.center[:2], a.box.center[:2])) > 0.15:
            moving.append(r)
    counts = count_points_in_boxes(win.session.frame(f).pts_world, [r.box for r in moving])
    assert len(moving) and counts.max() >= 15, "no well-seen walking pedestrian in the scene"
    ref = moving[int(np.argmax(counts))]
    win.session.undo.push(DeleteTrack(ref.track_id))
    win.objects.new_box.setCurrentText("pedestrian")
    key(qtbot, win, Qt.Key.Key_G)
    qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, pos=to_qpoint(win.bev, ref.box.center[:2]))
    qtbot.wait(5)
    assert "heading from motion" in win.statusBar().currentMessage(), win.statusBar().currentMessage()
    box = doc.box_at(win.selection, f).box
    err = abs(math.remainder(box.yaw - ref.box.yaw, math.pi))
    assert err < math.radians(15), math.degrees(err)
