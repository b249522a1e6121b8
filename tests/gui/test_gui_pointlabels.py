"""Point labels in the real window: colours by class, the legend, a BEV lasso with real mouse
events (one undoable step), undo, save and reopen; the keys of the point-label actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from fusionlabel.pointlabels.classes import UNLABELLED
from tests.gui.gui_support import FakePrompter, open_window, synth_scene, to_qpoint


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory)


def lasso(qtbot, bev, square: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """A left-button lasso along ``square`` (K, 2) world metres, with moves between the corners."""
    qtbot.mousePress(bev, Qt.MouseButton.LeftButton, pos=to_qpoint(bev, square[0]))
    for a, b in zip(square, np.roll(square, -1, axis=0), strict=True):
        for t in np.linspace(0, 1, 5)[1:]:
            qtbot.mouseMove(bev, to_qpoint(bev, a + t * (b - a)))
    qtbot.mouseRelease(bev, Qt.MouseButton.LeftButton, pos=to_qpoint(bev, square[0]))
    qtbot.wait(20)


def test_bev_lasso_labels_points_undo_restores_save_and_reopen_keep(qtbot, scene: Path, tmp_path: Path) -> None:
    proj = tmp_path / "labels.flproj"
    win = open_window(qtbot, scene, FakePrompter(save_to=proj))
    part = win.model.point_labels
    labels = win.session.doc.point_labels
    assert labels is not None  # the synthetic scene's ground truth
    before = labels.get(0).semantic.copy()
    assert (before != UNLABELLED).mean() > 0.5
    # colours by class: the views draw from the labels, the legend counts them
    win.set_color_mode("class")
    assert win.color_box.currentText() == "class"
    legend = win.point_labels.dock_widget.legend
    rows = [legend.item(i).text() for i in range(legend.count())]
    assert any(r.startswith("flat.driveable_surface") for r in rows) and any(r.startswith("vehicle.car") for r in rows)
    assert win.timeline.bar.label_shares[0] == pytest.approx((before != UNLABELLED).mean(), abs=1e-3)
    # lasso mode by its key, the class from the chooser
    qtbot.keyClick(win.bev, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)
    assert win.ctl.active_name == "label_points"
    win.point_labels.dock_widget.class_box.setCurrentText("noise")
    noise = labels.table.index("noise")
    pts = part.frame_points(win.drawing.fd)
    ego = win.drawing.fd.T_world_from_ego[:2, 3]
    square = ego + np.array([[-6.0, -6.0], [6.0, -6.0], [6.0, 6.0], [-6.0, 6.0]])
    n_steps = len(win.session.undo)
    lasso(qtbot, win.bev, square)
    assert len(win.session.undo) == n_steps + 1  # one step per stroke
    after = labels.get(0).semantic
    inside = (np.abs(pts[:, 0] - ego[0]) < 5.5) & (np.abs(pts[:, 1] - ego[1]) < 5.5)
    assert inside.sum() > 100
    assert (after[inside] == noise).all()  # every point well inside
    far = (np.abs(pts[:, 0] - ego[0]) > 6.5) | (np.abs(pts[:, 1] - ego[1]) > 6.5)
    np.testing.assert_array_equal(after[far], before[far])  # nothing outside
    assert any(legend.item(i).text().startswith("noise") for i in range(legend.count()))
    win.undo()
    np.testing.assert_array_equal(labels.get(0).semantic, before)
    win.redo()
    labelled = labels.get(0).semantic.copy()
    assert (labelled[inside] == noise).all()
    assert win.save(ask=True) and (tmp_path / "labels.flproj.pointlabels").is_dir()
    win.close()
    again = open_window(qtbot, proj, FakePrompter())
    np.testing.assert_array_equal(again.session.doc.point_labels.get(0).semantic, labelled)
    again.close()


def test_fill_from_boxes_and_colour_modes_by_key(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene, FakePrompter())
    labels = win.session.doc.point_labels
    table = labels.table
    car = table.index("vehicle.car")
    # clear frame 0's cars, then fill them back from the boxes (a background job, one step)
    from fusionlabel.pointlabels.commands import label_points

    sem = labels.get(0).semantic
    win.session.undo.push(label_points(0, np.flatnonzero(sem == car), UNLABELLED))
    assert not (labels.get(0).semantic == car).any()
    qtbot.keyClick(win.bev, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: (labels.get(0).semantic == car).sum() > 0.95 * (sem == car).sum(), timeout=30000)
    assert win.color_mode == "class"  # the fill shows its result
    for mode in ("instance", "height", "class"):
        qtbot.keyClick(win.bev, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
        assert win.color_mode == mode
    win.close()


def _camera_drag(qtbot, panel, poly_uv: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """A left-button drag along the closed polygon ``poly_uv`` (K, 2) image px of a camera panel."""
    from PyQt6.QtCore import QPoint

    def at(uv: np.ndarray) -> QPoint:
        w = panel.image_to_widget(uv[None])[0]
        return QPoint(int(round(w[0])), int(round(w[1])))

    qtbot.mousePress(panel, Qt.MouseButton.LeftButton, pos=at(poly_uv[0]))
    for a, b in zip(poly_uv, np.roll(poly_uv, -1, axis=0), strict=True):
        for t in np.linspace(0, 1, 5)[1:]:
            qtbot.mouseMove(panel, at(a + t * (b - a)))
    qtbot.mouseRelease(panel, Qt.MouseButton.LeftButton, pos=at(poly_uv[0]))
    qtbot.wait(20)


def test_camera_lasso_labels_the_points_projecting_inside_one_step(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene, FakePrompter())
    win.resize(1400, 900)
    qtbot.wait(50)
    part, labels = win.model.point_labels, win.session.doc.point_labels
    win.set_color_mode("class")
    qtbot.keyClick(win.bev, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)
    assert win.ctl.active_name == "label_points" and part.tool.mode == "lasso"
    win.point_labels.dock_widget.class_box.setCurrentText("noise")
    noise = labels.table.index("noise")
    pts = part.frame_points(win.drawing.fd)
    lasso = win.point_labels.camera_lasso
    # the panel that sees most points in the middle of its image
    best = None
    for name in win.camera_grid.panels:
        cam = lasso.camera_frame(name)
        T = np.linalg.inv(cam.T_world_from_cam)
        pc = pts @ T[:3, :3].T + T[:3, 3]
        uv, _, valid = cam.camera.project(pc)
        W, H = cam.camera.width, cam.camera.height
        inner = valid & (np.abs(uv[:, 0] - W / 2) < 0.2 * W - 5) & (np.abs(uv[:, 1] - H / 2) < 0.2 * H - 5)
        outer = ~valid | (np.abs(uv[:, 0] - W / 2) > 0.2 * W + 5) | (np.abs(uv[:, 1] - H / 2) > 0.2 * H + 5)
        if best is None or inner.sum() > best[1].sum():
            best = (name, inner, outer, W, H)
    name, inner, outer, W, H = best
    assert inner.sum() > 50
    panel = win.camera_grid.panels[name]
    before = labels.get(0).semantic.copy()
    n_steps = len(win.session.undo)
    rect = np.array([[0.3 * W, 0.3 * H], [0.7 * W, 0.3 * H], [0.7 * W, 0.7 * H], [0.3 * W, 0.7 * H]])
    drawn = []
    layer = lasso.layers[name]
    layer.events.data.connect(lambda *_: drawn.append(layer.value))
    _camera_drag(qtbot, panel, rect)
    assert any(v is not None and v[0] == name and len(v[1]) >= 4 for v in drawn)  # the stroke was drawn
    assert layer.value is None  # and is gone after the release
    assert len(win.session.undo) == n_steps + 1
    after = labels.get(0).semantic
    assert (after[inner] == noise).all()
    np.testing.assert_array_equal(after[outer], before[outer])
    win.undo()
    np.testing.assert_array_equal(labels.get(0).semantic, before)
    # the camera box tool on: the panels belong to it, the lasso leaves them
    win.model.view.camera_box = True
    _camera_drag(qtbot, panel, rect)
    np.testing.assert_array_equal(labels.get(0).semantic, before)
    win.model.view.camera_box = False
    win.close()


def test_accumulated_sweeps_drawn_by_class_and_one_stroke_labels_each(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene, FakePrompter())
    part, labels = win.model.point_labels, win.session.doc.point_labels
    win.set_frame(1)
    win.set_color_mode("class")
    win.model.view.accumulate = 1
    qtbot.wait(50)
    fd = win.drawing.fd
    shown, rgb, _ = part.shown_colors(fd)
    frames = [f.index for f in part.shown_frames()]
    assert sorted(frames) == [0, 1, 2]
    assert len(shown) == sum(len(f.pts_world) for f in part.shown_frames()) and len(rgb) == len(shown)
    assert part.fd is fd  # the current frame stays the legend's
    qtbot.keyClick(win.bev, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)
    win.point_labels.dock_widget.class_box.setCurrentText("noise")
    noise = labels.table.index("noise")
    ego = fd.T_world_from_ego[:2, 3]
    square = ego + np.array([[-6.0, -6.0], [6.0, -6.0], [6.0, 6.0], [-6.0, 6.0]])
    before = {f: labels.get(f).semantic.copy() for f in frames}
    n_steps = len(win.session.undo)
    lasso(qtbot, win.bev, square)
    assert len(win.session.undo) == n_steps + 1
    for f in frames:
        p = part.frame_points(win.session.frames.get(f, prefetch=False))
        inside = (np.abs(p[:, 0] - ego[0]) < 5.5) & (np.abs(p[:, 1] - ego[1]) < 5.5)
        far = (np.abs(p[:, 0] - ego[0]) > 6.5) | (np.abs(p[:, 1] - ego[1]) > 6.5)
        assert inside.sum() > 100 and (labels.get(f).semantic[inside] == noise).all(), f
        np.testing.assert_array_equal(labels.get(f).semantic[far], before[f][far])
    win.undo()
    for f in frames:
        np.testing.assert_array_equal(labels.get(f).semantic, before[f])
    win.model.view.accumulate = 0
    win.close()


def test_qa_checks_list_unlabelled_and_contradicting_points_in_boxes(qtbot, scene: Path) -> None:
    from fusionlabel.pointlabels.commands import label_points

    win = open_window(qtbot, scene, FakePrompter(), focus_bev=False)
    win.review.show(True)
    labels, doc = win.session.doc.point_labels, win.session.doc
    car = labels.table.index("vehicle.car")
    findings = win.review.findings

    def run() -> list:  # type: ignore[type-arg]
        with qtbot.waitSignal(findings.finished, timeout=60000) as sig:
            assert win.review.run_checks()
        res = sig.args[0]
        assert res is not None and {"point_class", "point_unlabelled", "point_instance"} <= set(res.checks_run)
        return [f for f in res.findings if f.check.startswith("point_")]

    assert run() == []  # the generator's exact labels: nothing to report
    inst = labels.get(0).instance
    tid = int(np.bincount(inst[labels.get(0).semantic == car]).argmax()) - 1  # the car with most points
    pts = np.flatnonzero(inst == tid + 1)
    from fusionlabel.geometry import point_box_indices

    world = win.model.point_labels.frame_points(win.session.frames.get(0, prefetch=False))
    pts = pts[point_box_indices(world[pts], [doc.box_at(tid, 0).box]) == 0]  # those inside its box
    win.session.undo.push(label_points(0, pts[:6], UNLABELLED, 0))
    win.session.undo.push(label_points(0, pts[6:9], labels.table.index("human.pedestrian.adult")))
    got = {(f.check, f.frame, f.track_id): f for f in run()}
    assert set(got) == {("point_unlabelled", 0, tid), ("point_class", 0, tid)}
    assert got[("point_class", 0, tid)].severity == "error" and got[("point_unlabelled", 0, tid)].details["points"] == 6
    assert findings.item_of(got[("point_class", 0, tid)]) is not None  # listed in the findings dock
    box = doc.box_at(tid, 0).box
    assert np.linalg.norm(np.asarray(got[("point_class", 0, tid)].location[:2]) - box.center[:2]) < max(box.size[:2])
    win.undo()
    win.undo()
    assert run() == []
    win.close()
