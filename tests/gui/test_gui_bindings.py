"""gui.bindings: each widget shows one piece of the model and edits it back."""

from __future__ import annotations

from PyQt6.QtWidgets import QCheckBox, QComboBox, QMainWindow, QProgressBar, QSpinBox, QToolButton

from gui.bindings import bind_check, bind_combo, bind_progress, bind_spin, bind_status
from gui.model import ViewerModel


def test_status_and_progress(qtbot) -> None:
    win = QMainWindow()
    qtbot.addWidget(win)
    m = ViewerModel()
    bar, cancel = QProgressBar(), QToolButton()
    win.statusBar().addPermanentWidget(bar)
    win.statusBar().addPermanentWidget(cancel)
    win.show()
    unbind_status = bind_status(m, win.statusBar())
    unbind = bind_progress(m.progress, bar, cancel)
    assert not bar.isVisible() and not cancel.isVisible()
    m.show_message("Loading x ...")
    assert win.statusBar().currentMessage() == "Loading x ..."
    m.progress.start(0, "Loading")
    assert bar.isVisible() and bar.maximum() == 0 and not cancel.isVisible()
    m.progress.update(4, 10, "frame 4")
    assert (bar.value(), bar.maximum(), bar.toolTip()) == (4, 10, "frame 4")
    m.progress.start(3, "pre-labelling", cancellable=True)
    assert cancel.isVisible()
    asked: list[bool] = []
    m.progress.events.cancel.connect(lambda: asked.append(True))
    cancel.click()
    assert asked == [True]
    m.progress.finish()
    assert not bar.isVisible() and not cancel.isVisible()
    m.show_message("")
    assert win.statusBar().currentMessage() == ""
    unbind()
    unbind_status()
    m.progress.start(2)
    m.show_message("after unbinding")
    cancel.click()
    assert not bar.isVisible() and win.statusBar().currentMessage() == "" and asked == [True]


def test_view_option_widgets_edit_the_model_both_ways(qtbot) -> None:
    m = ViewerModel()
    combo, spin, check = QComboBox(), QSpinBox(), QCheckBox()
    for w in (combo, spin, check):
        qtbot.addWidget(w)
    combo.addItems(["height", "intensity", "distance"])
    spin.setRange(0, 10)
    m.view.accumulate = 2
    offs = [bind_combo(m.view, "color_mode", combo), bind_spin(m.view, "accumulate", spin),
            bind_check(m.view, "camera_points", check)]
    assert spin.value() == 2  # the widget shows the model at binding
    heard: list[object] = []
    for n in ("color_mode", "accumulate", "camera_points"):
        m.view.events[n].connect(heard.append)
    combo.setCurrentText("distance")  # widget -> model
    spin.setValue(5)
    check.setChecked(True)
    assert (m.view.color_mode, m.view.accumulate, m.view.camera_points) == ("distance", 5, True)
    m.view.color_mode = "intensity"  # model -> widget, no echo back
    m.view.accumulate = 0
    m.view.camera_points = False
    assert (combo.currentText(), spin.value(), check.isChecked()) == ("intensity", 0, False)
    assert heard == ["distance", 5, True, "intensity", 0, False]
    for off in offs:
        off()
    spin.setValue(7)
    m.view.color_mode = "height"
    assert m.view.accumulate == 0 and combo.currentText() == "intensity"
