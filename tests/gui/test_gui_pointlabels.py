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
