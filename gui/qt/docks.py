"""The window's widgets, built and laid out (Qt side): :class:`WindowWidgets` makes the views
(3D, BEV, side / front), the camera area, the timeline, the object list, the "Selected box" dock
with the view options, and the status bar's widgets. It connects nothing: the window adds the
docks and connects the widgets to the model and the input routing."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.colors import COLOR_MODES
from gui.model import MAX_ACCUMULATE
from gui.ortho import OrthoView
from gui.widgets import ObjectList, Timeline


def dock(title: str, name: str, widget: QWidget) -> QDockWidget:
    """A dock named ``name`` (its object name, kept in the window state) holding ``widget``."""
    d = QDockWidget(title)
    d.setObjectName(name)
    d.setWidget(widget)
    return d


def tab_beside(main: QMainWindow, anchor: QDockWidget, new: QDockWidget) -> None:
    """Add the dock ``new`` to ``main`` as a tab beside ``anchor`` (same area), ``anchor`` shown:
    the views keep their room (the point-label dock beside the proposal and auto-track tabs)."""
    main.addDockWidget(main.dockWidgetArea(anchor), new)
    main.tabifyDockWidget(anchor, new)
    anchor.raise_()


class WindowWidgets:
    """Every widget of the window's layout. ``central`` (views, cameras, timeline) is the central
    widget; ``objects_dock`` goes left, ``selected_dock`` right; ``tool_label``, ``progress`` and
    ``progress_cancel`` are permanent status bar widgets. ``cam_layout`` holds the camera grid of
    the session (``cam_placeholder`` while none)."""

    def __init__(self) -> None:
        from gui.render.view3d import View3D  # the only vispy user

        self.view3d = View3D()
        self.bev = OrthoView(title="BEV (drag: edit; B: create tool; right drag: pan; wheel: zoom)")
        self.side = OrthoView(title="side (from the right)")
        self.front = OrthoView(title="front")
        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(self.bev)
        self.top_split.addWidget(self.view3d.widget)
        self.cam_holder = QWidget()
        self.cam_layout = QVBoxLayout(self.cam_holder)
        self.cam_layout.setContentsMargins(0, 0, 0, 0)
        self.cam_placeholder = QLabel("Open a sequence (Ctrl+O)")
        self.cam_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cam_layout.addWidget(self.cam_placeholder)
        self.main_split = QSplitter(Qt.Orientation.Vertical)
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.cam_holder)
        self.main_split.setStretchFactor(0, 5)
        self.main_split.setStretchFactor(1, 4)
        self.main_split.setSizes([560, 440])
        self.top_split.setSizes([500, 500])
        self.timeline = Timeline()
        self.central = QWidget()
        lay = QVBoxLayout(self.central)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.main_split, 1)
        lay.addWidget(self.timeline)

        self.objects = ObjectList()
        self.objects_dock = dock("Objects", "objects", self.objects)
        self.selected_dock = dock("Selected box", "selected", self._selected_box())

        self.tool_label = QLabel("tool: edit")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.progress_cancel = QToolButton()
        self.progress_cancel.setText("Cancel")
        self.progress_cancel.setVisible(False)

    def _selected_box(self) -> QWidget:
        """The side / front views of the selected box over the view options."""
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(2, 2, 2, 2)
        box_split = QSplitter(Qt.Orientation.Vertical)
        box_split.addWidget(self.side)
        box_split.addWidget(self.front)
        rl.addWidget(box_split, 1)
        form = QFormLayout()
        self.color_box = QComboBox()
        self.color_box.addItems(COLOR_MODES)
        form.addRow("Points by", self.color_box)
        self.accum_box = QSpinBox()
        self.accum_box.setRange(0, MAX_ACCUMULATE)
        self.accum_box.setToolTip("also show N sweeps before and after (world frame)")
        form.addRow("Accumulate +-", self.accum_box)
        self.cam_points_box = QCheckBox("LiDAR in cameras")
        form.addRow(self.cam_points_box)
        self.lod_box = QCheckBox("Level of detail while moving")
        form.addRow(self.lod_box)
        rl.addLayout(form)
        return right
