"""Point labels in the window (Qt side): ``install_point_labels(model, widgets...)`` adds

- the colour modes ``class`` / ``instance`` to "Points by": the 3D view, the BEV and the
  LiDAR-in-camera overlay drawn by label (:class:`gui.model.pointlabels.PointLabelPart`);
- the "Point labels" dock: the current class, lasso / brush, the height band, the sequence tools
  (fill from boxes, ground and road, cleanup), the legend with the counts of the current sweep and
  the labelled share;
- the controller's ``"label_points"`` tool (BEV lasso / brush, one undoable step per stroke), its
  stroke drawn in the BEV while dragging; with the lasso on, a drag in a camera panel is a camera
  lasso (drawn in that panel; the camera box tool, when on, keeps the panels);
- with sweeps accumulated, all of them drawn by label (a BEV stroke labels each);
- redraws when the point labels change (edits, undo, redo).

The actions (keys, menu entries) are in :mod:`gui.model.actions` (``point_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QColor, QIcon, QMouseEvent, QPixmap
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.document import DocumentEvent
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.imagebox import CameraFrame
from gui.colors import LABEL_MODES
from gui.model import ViewerModel
from gui.model.pointlabels import ImageStrokeLayer, PointLabelPart
from gui.model.shapes import Shape

STROKE_COLOR = (255, 255, 255)


class PointLabelDock(QWidget):
    """The dock's widgets (module doc); ``refresh()`` redraws the legend."""

    def __init__(self, part: PointLabelPart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.part = part
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        self.class_box = QComboBox()
        self.class_box.addItems([c.name for c in part.table()])
        self.class_box.setCurrentText(part.current_class)
        self.class_box.currentTextChanged.connect(self._class_chosen)
        form.addRow("Class", self.class_box)
        band = QHBoxLayout()
        self.band_box = QCheckBox("height band")
        self.band_box.setToolTip("label only points this high above the ground (m)")
        self.band_lo, self.band_hi = QDoubleSpinBox(), QDoubleSpinBox()
        for sb, v in ((self.band_lo, -0.5), (self.band_hi, 3.0)):
            sb.setRange(-20.0, 50.0)
            sb.setSingleStep(0.1)
            sb.setValue(v)
            sb.valueChanged.connect(self._band_changed)
        self.band_box.toggled.connect(self._band_changed)
        band.addWidget(self.band_box)
        band.addWidget(self.band_lo)
        band.addWidget(self.band_hi)
        form.addRow(band)
        self.unlabelled_box = QCheckBox("only unlabelled points")
        self.unlabelled_box.toggled.connect(self._band_changed)
        form.addRow(self.unlabelled_box)
        self.nearest_box = QCheckBox("camera lasso: visible surface only")
        self.nearest_box.setToolTip("a lasso in a camera panel leaves the points hidden behind nearer ones")
        self.nearest_box.toggled.connect(self._band_changed)
        form.addRow(self.nearest_box)
        lay.addLayout(form)
        row = QGridLayout()  # two rows: the dock stays as narrow as its neighbours (a tab beside them)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, run in (("lasso", "Lasso", lambda: part.use_tool("lasso")),
                               ("brush", "Brush", lambda: part.use_tool("brush")),
                               ("fill", "Fill from boxes", part.fill_from_boxes),
                               ("ground", "Ground + road", part.ground_and_road),
                               ("cleanup", "Cleanup", part.cleanup)):
            b = QPushButton(text)
            b.clicked.connect(run)
            self.buttons[key] = b
            row.addWidget(b, len(self.buttons) > 2, (len(self.buttons) - 1) % 3 if len(self.buttons) <= 3
                          else len(self.buttons) - 4)
        lay.addLayout(row)
        self.share_label = QLabel("")
        lay.addWidget(self.share_label)
        self.legend = QListWidget()
        lay.addWidget(self.legend, 1)

    def _class_chosen(self, name: str) -> None:
        if name:
            self.part.set_class(name)

    def _band_changed(self, *_: object) -> None:
        tool = self.part.tool
        if tool is None:
            return
        tool.only_unlabelled = self.unlabelled_box.isChecked()
        tool.nearest_only = self.nearest_box.isChecked()
        if self.band_box.isChecked():
            tool.set_z_band(self.band_lo.value(), max(self.band_hi.value(), self.band_lo.value()))
        else:
            tool.set_z_band(None, None)

    def apply_settings(self) -> None:
        """Give a new tool (a new session) the dock's settings."""
        self._band_changed()
        self.part.set_class(self.class_box.currentText() or self.part.current_class)

    def refresh(self) -> None:
        self.legend.clear()
        if not self.part.active():  # (no label reads while stepping in the other colour modes)
            self.share_label.setText("points by class or instance (Shift+M): legend and shares")
            return
        entries = self.part.legend()
        total = sum(e.count for e in entries)
        for e in entries:
            pix = QPixmap(12, 12)
            pix.fill(QColor(*e.color))
            item = QListWidgetItem(QIcon(pix), f"{e.name}  {e.count}  ({100.0 * e.count / max(total, 1):.1f} %)")
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.legend.addItem(item)
        fd = self.part.fd
        share = self.part.labelled_share(fd.index) if fd is not None else None
        labels = self.part.labels()
        frames = labels.labelled_frames() if labels is not None else []
        self.share_label.setText(
            ("" if share is None else f"frame {fd.index}: {100 * share:.1f} % labelled; ")
            + f"{len(frames)} frames with labels")


_PRESS, _MOVE, _RELEASE = QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease


class CameraLasso(QObject):
    """The camera panels' event filter of the camera lasso: while the point-label lasso is the
    tool (and the camera box tool is off), left drags in a panel go to the tool as camera events;
    ``layers`` draw the stroke, one per panel."""

    def __init__(self, part: PointLabelPart, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.part = part
        self.grid: Any = None
        self.layers: dict[str, ImageStrokeLayer] = {}

    def bind(self, grid: Any, tool: Any) -> None:
        """Filter the panels of a new camera grid; give ``tool`` the cameras and the stroke."""
        if grid is not None and grid is not self.grid:
            self.grid, self.layers = grid, {}
            for name, panel in grid.panels.items():
                panel.installEventFilter(self)
                self.layers[name] = panel.layers.append(ImageStrokeLayer())  # type: ignore[assignment]
        if tool is not None:
            tool.cameras = self.camera_frame
            tool.on_camera_stroke = self._on_stroke

    def camera_frame(self, name: str) -> CameraFrame | None:
        panel = self.grid.panels.get(name) if self.grid is not None else None
        if panel is None:
            return None
        view = panel.camera_view()
        return CameraFrame(view.camera, np.linalg.inv(view.T_cam_from_world))

    def _on_stroke(self, camera: str, stroke: np.ndarray | None) -> None:
        value = None if stroke is None else (camera, tuple((float(u), float(v)) for u, v in stroke))
        for name, layer in self.layers.items():
            if layer.set_value(value if name == camera else None) and self.grid is not None:
                self.grid.panels[name].update()

    def _on(self) -> bool:
        m = self.part.model
        ctl, tool = m.controller, self.part.tool
        return (ctl is not None and tool is not None and ctl.active_name == "label_points" and tool.mode == "lasso"
                and not m.view.camera_box)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # type: ignore[override]
        if e.type() not in (_PRESS, _MOVE, _RELEASE) or not self._on() or not hasattr(obj, "widget_to_image"):
            return False
        me: QMouseEvent = e  # type: ignore[assignment]
        uv = obj.widget_to_image(np.array([[me.position().x(), me.position().y()]]))[0]
        kind = {_PRESS: "press", _MOVE: "move", _RELEASE: "release"}[e.type()]
        if kind != "move" and me.button() != Qt.MouseButton.LeftButton:
            return False
        try:
            return bool(self.part.tool.on_pointer(  # type: ignore[union-attr]
                PointerEvent.in_camera(kind, obj.name, (float(uv[0]), float(uv[1])))))  # type: ignore[attr-defined]
        except Exception as err:  # a tool error must not kill the window; the labels are unchanged
            self.part.tool.cancel()  # type: ignore[union-attr]
            self.part.model.show_message(f"{type(err).__name__}: {err}", 8000)
            return True


class PointLabelsInWindow:
    """Glue between the window's widgets and :class:`PointLabelPart` (module doc): ``model`` the
    window's ``ViewerModel``, ``drawing`` its ``gui.qt.drawing.ViewDrawing``, ``bev`` /
    ``view3d`` / ``timeline`` / ``color_box`` its widgets, ``camera_grid`` a callable giving the
    current camera grid, ``frame_shown`` the signal after a frame is drawn, ``add_dock(dock)``
    places the "Point labels" dock (a ``QDockWidget`` parented to ``parent``)."""

    def __init__(self, model: ViewerModel, drawing: Any, bev: Any, view3d: Any, timeline: Any, color_box: Any,
                 camera_grid: Callable[[], Any], frame_shown: Any, add_dock: Callable[[QDockWidget], None],
                 parent: QWidget | None = None) -> None:
        self.model, self.drawing, self.bev, self.view3d = model, drawing, bev, view3d
        self.timeline, self._camera_grid = timeline, camera_grid
        self.part = PointLabelPart(model)
        model.point_labels = self.part  # type: ignore[attr-defined]
        self._doc: Any = None
        self._unsub: Any = None
        for mode in LABEL_MODES:
            if color_box.findText(mode) < 0:
                color_box.addItem(mode)
        drawing.label_points = self.draw
        self.dock_widget = PointLabelDock(self.part)
        self.camera_lasso = CameraLasso(self.part, parent)
        self.dock = QDockWidget("Point labels", parent)
        self.dock.setObjectName("point_labels")
        self.dock.setWidget(self.dock_widget)
        add_dock(self.dock)
        model.events.tool.connect(self._on_tool)  # after every (re)bind of the tools
        model.view.events.color_mode.connect(lambda _m: self._recompose_cameras())
        frame_shown.connect(self._on_frame_shown)

    @property
    def camera_grid(self) -> Any:
        """The window's current camera grid (None before a session)."""
        return self._camera_grid()

    # ---- binding ------------------------------------------------------------------------------------
    def _on_tool(self, name: str) -> None:
        ctl, ctx, s = self.model.controller, self.model.context, self.model.session
        if ctl is None or ctx is None or s is None:
            return
        if "label_points" not in ctl.tools or ctl.tools["label_points"] is not self.part.tool:
            tool = self.part.make_tool(ctx, lambda: self.part.frame_points(self.drawing.fd))
            tool.on_stroke = self._on_stroke
            ctl.tools["label_points"] = tool
            self.dock_widget.apply_settings()
        self.camera_lasso.bind(self.camera_grid, self.part.tool)
        if self._doc is not s.doc:
            if self._unsub is not None:
                self._unsub()
            self._doc = s.doc
            self._unsub = s.doc.subscribe(self._on_doc_event)
        self.bev.setCursor(Qt.CursorShape.CrossCursor if name == "label_points" else Qt.CursorShape.ArrowCursor)

    def _on_frame_shown(self, _frame: int) -> None:
        """A new camera grid (a new session) gets the label colours of the overlay."""
        grid = self.camera_grid
        if grid is None:
            return
        self.camera_lasso.bind(grid, self.part.tool)
        for panel in grid.panels.values():
            if panel.overlay_colors is None:
                panel.overlay_colors = self._overlay_colors
                if panel.show_points and self.part.active():
                    panel._compose()
                    panel.update()

    def _on_doc_event(self, e: DocumentEvent) -> None:
        if e.kind == "point_labels_changed":
            self.redraw()

    def _on_stroke(self, stroke: np.ndarray | None) -> None:
        tool = self.part.tool
        if stroke is None or len(stroke) < 2 or tool is None:
            self.bev.set_preview([])
            return
        closed = tool.mode == "lasso"
        shapes = [Shape(stroke, STROKE_COLOR, 1.5, closed, True)]
        if tool.mode == "brush":
            ang = np.linspace(0, 2 * np.pi, 25)
            shapes.append(Shape(stroke[-1] + tool.brush_radius * np.column_stack([np.cos(ang), np.sin(ang)]),
                                STROKE_COLOR, 1.0, True))
        self.bev.set_preview(shapes)

    # ---- drawing --------------------------------------------------------------------------------------
    def draw(self, fd: Any) -> bool:
        """The drawing's hook: points by label when the colour mode asks it (True: drawn)."""
        tool = self.part.tool
        if tool is not None:
            tool.ground_z = float(fd.memo.get("ground_z", fd.T_world_from_ego[2, 3]))
        if not self.part.active():
            self.part.fd = fd
            self.dock_widget.refresh()
            bar = getattr(self.timeline, "bar", None)
            if bar is not None:
                bar.set_label_shares(())
            return False
        pts, rgb, order = self.part.shown_colors(fd)  # with the accumulated sweeps, if any
        self._rgb = rgb[:len(fd.pts_world)]  # the camera overlay: the current frame's
        self.view3d.set_points(pts, rgb.astype(np.float32) / np.float32(255.0))
        self.bev.set_points(pts[:, :2], rgb, order=order)
        self.dock_widget.refresh()
        self.update_shares()
        return True

    def update_shares(self) -> None:
        """The timeline's strip: the labelled share of the frames whose labels are in memory."""
        labels, s = self.part.labels(), self.model.session
        bar = getattr(self.timeline, "bar", None)
        if labels is None or s is None or bar is None:
            return
        held = set(labels.held_frames())
        bar.set_label_shares([self.part.labelled_share(f) if f in held else None for f in range(len(s))])

    def _overlay_colors(self, n: int) -> np.ndarray | None:
        if not self.part.active():
            return None
        rgb = getattr(self, "_rgb", None)
        return rgb if rgb is not None and len(rgb) == n else None

    def _recompose_cameras(self) -> None:
        if self.camera_grid is None:
            return
        for panel in self.camera_grid.panels.values():
            if panel.show_points:
                panel._compose()
                panel.update()

    def redraw(self) -> None:
        """The labels changed: points, camera overlays and legend again."""
        if self.drawing.fd is None:
            return
        self.drawing.update_points()
        self._recompose_cameras()


def install_point_labels(model: ViewerModel, drawing: Any, bev: Any, view3d: Any, timeline: Any, color_box: Any,
                         camera_grid: Callable[[], Any], frame_shown: Any,
                         add_dock: Callable[[QDockWidget], None], parent: QWidget | None = None) -> PointLabelsInWindow:
    """Add point labelling to the window's widgets (module doc; the arguments as
    :class:`PointLabelsInWindow`'s); call it once, after the window is built."""
    return PointLabelsInWindow(model, drawing, bev, view3d, timeline, color_box, camera_grid, frame_shown,
                               add_dock, parent)
