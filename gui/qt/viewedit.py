"""Editing in the 3D view and creating boxes in the camera panels: the thin Qt binding of the
Qt-free tools ``ctl.view_tools["3d"]`` (:class:`fusionlabel.tools.edit3d.View3DEditTool`) and
``ctl.view_tools["camera"]`` (:class:`fusionlabel.tools.imagebox.ImageBoxTool`).

:func:`install_view_editing` (one call from the window) installs event filters that turn Qt mouse
events into the tools' ``PointerEvent`` s:

- **3D view**: a left press on a box grabs it: on the selected box it goes to the edit tool; on
  another box (the nearest along the viewing ray) that box is selected first and grabbed in the
  same gesture. Drag: move on the ground plane (shift: height; ctrl or the rotation handle:
  turn). The drag previews in ``ctx.preview`` (every view draws it) and pushes one undoable
  ``SetKeyframe`` on release. A press on empty space, or with another button, orbits as before;
  a click (no drag) changes nothing. Hovering the selected box shows a move / rotate cursor.
- **camera panels**, while the camera box tool is on (``model.view.camera_box``, the registry
  action ``camera_box``, Shift+B): a left drag draws a rectangle (an :class:`ImageRectLayer` in
  each panel) and its release creates a box from the LiDAR points in the rectangle's frustum, of
  the class chosen for new boxes, one undoable step, selected. Esc cancels the drag; a click
  selects the box under it as before. With the tool off the panels behave as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QMouseEvent

from fusionlabel.tools import PointerEvent
from fusionlabel.tools.imagebox import CameraFrame, ImageRect
from fusionlabel.tools.select import pick_ray_candidates
from gui.cameras import CameraGrid, CameraPanel
from gui.model import ViewerModel
from gui.model.viewedit import ImageRectLayer, RotateHandleLayer
from gui.ortho import modifier_names
from gui.qt.keys import CURSORS

_PRESS, _MOVE, _RELEASE = QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease
_LEFT = Qt.MouseButton.LeftButton
#: Cursor of the 3D view over the selected box with shift held (height drag).
_HEIGHT_CURSOR = Qt.CursorShape.SizeVerCursor


class ViewEditing(QObject):
    """The event filters of the 3D view and the camera panels of one window (see the module doc):
    ``model`` the window's ``ViewerModel``, ``view3d`` its 3D view, ``camera_grid`` a callable
    giving the current camera grid (one per session; None before one), ``frame_shown`` the signal
    emitted after a frame is drawn, ``parent`` the QObject that owns the filters."""

    def __init__(self, model: ViewerModel, view3d: Any, camera_grid: Callable[[], CameraGrid | None],
                 frame_shown: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model, self.view3d, self._camera_grid = model, view3d, camera_grid
        self._grid: CameraGrid | None = None
        self._layers: dict[str, ImageRectLayer] = {}
        self._drag3d = False
        self._cam_drag: CameraPanel | None = None
        self._doc: object = None
        self._unsub_doc: Any = None
        #: The selected box's rotation handle in the 3D view (follows the drag preview).
        self.handle = view3d.layers.append(RotateHandleLayer())
        view3d.display.installEventFilter(self)
        frame_shown.connect(lambda _i: (self._bind(), self._update_handle()))
        model.events.tool.connect(lambda _n: self._bind())
        model.events.selection.connect(self._update_handle)
        model.events.preview.connect(self._update_handle)
        model.view.events.camera_box.connect(self._on_mode)

    @property
    def camera_grid(self) -> CameraGrid | None:
        """The window's current camera grid (None before a session)."""
        return self._camera_grid()

    @property
    def session(self) -> Any:
        """The loaded session (``model.session``)."""
        return self.model.session

    # ---- binding --------------------------------------------------------------------------------
    @property
    def on(self) -> bool:
        """The camera box tool is on."""
        return bool(self.model.view.camera_box)

    def _bind(self) -> None:
        """Feed the controller's camera tool (a new controller per document) and filter the panels
        of a new camera grid (one per session)."""
        ctl = self.model.controller
        if ctl is not None:
            tool = ctl.view_tools["camera"]
            tool.cameras = self.camera_frame
            tool.on_rect = self._on_rect
        session = self.session
        doc = session.doc if session is not None else None
        if doc is not self._doc:  # the handle follows the document's changes (undo, nudges...)
            if self._unsub_doc is not None:
                self._unsub_doc()
            self._doc, self._unsub_doc = doc, None if doc is None else doc.subscribe(self._update_handle)
        grid = self.camera_grid
        if grid is not None and grid is not self._grid:
            self._grid, self._layers, self._cam_drag = grid, {}, None
            for name, panel in grid.panels.items():
                panel.installEventFilter(self)
                self._layers[name] = panel.layers.append(ImageRectLayer())  # type: ignore[assignment]
            self._on_mode(self.on)

    def _update_handle(self, *_: object) -> None:
        """The handle of the selected box at the current frame (of its drag preview while one runs)."""
        ctx = self.model.context
        box = None
        if ctx is not None and self.session is not None and ctx.doc is self._doc:
            ref, prev = ctx.selected_box(), ctx.preview
            if ref is not None:
                same = prev is not None and prev.track_id == ref.track_id and prev.frame == ctx.frame
                box = prev.box if same else ref.box
        self.handle.set_value(box)

    def camera_frame(self, name: str) -> CameraFrame | None:
        """Camera ``name`` as its panel shows it: the lens and ``T_world_from_cam`` at the image's
        capture time (None: no such panel)."""
        grid = self.camera_grid
        panel = grid.panels.get(name) if grid is not None else None
        if panel is None:
            return None
        view = panel.camera_view()
        return CameraFrame(view.camera, np.linalg.inv(view.T_cam_from_world))

    def _on_mode(self, on: bool) -> None:
        grid = self.camera_grid
        if grid is not None:
            for panel in grid.panels.values():
                panel.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        if not on and self.model.controller is not None:
            self.model.controller.view_tools["camera"].cancel()
        self.model.show_message(
            "camera box tool on: drag a rectangle over an object in a camera panel (Shift+B: off)" if on
            else "camera box tool off", 4000)

    def _on_rect(self, rect: ImageRect | None) -> None:
        grid = self.camera_grid
        for name, layer in self._layers.items():
            if layer.set_value(rect if rect is not None and rect.camera == name else None) and grid is not None:
                grid.panels[name].update()

    # ---- events ---------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # type: ignore[override]
        t = e.type()
        if t not in (_PRESS, _MOVE, _RELEASE) or self.model.controller is None or self.session is None:
            return False
        try:
            if obj is self.view3d.display:
                return self._in_3d(e)  # type: ignore[arg-type]
            if isinstance(obj, CameraPanel) and self.on:
                return self._in_camera(obj, e)  # type: ignore[arg-type]
        except Exception as err:  # a tool error must not kill the window; the document is unchanged
            self._drag3d, self._cam_drag = False, None
            self.model.show_message(f"{type(err).__name__}: {err}", 8000)
        return False

    def _ev3(self, kind: str, e: QMouseEvent, button: str) -> PointerEvent:
        x, y = float(e.position().x()), float(e.position().y())
        origin, direction = self.view3d.ray_at(x, y)
        return PointerEvent.in_3d(kind, origin, direction, (x, y), button, modifier_names(e.modifiers()))

    def _in_3d(self, e: QMouseEvent) -> bool:
        ctl, ctx = self.model.controller, self.model.context
        tool = ctl.view_tools["3d"]
        t = e.type()
        if t == _PRESS:
            if e.button() != _LEFT:
                return False
            ev = self._ev3("press", e, "left")
            if tool.hit(ev) is None:  # not on the selected box: the nearest box under the pointer
                ids = pick_ray_candidates(ctx, ev.ray_origin, ev.ray_direction)
                if not ids:
                    return False  # empty space: the view orbits
                ctx.stack.break_merge()
                ctx.set_selection(ids[0])
            self._drag3d = bool(ctl.on_pointer(ev))
            return self._drag3d
        if t == _MOVE:
            if self._drag3d:
                ctl.on_pointer(self._ev3("move", e, "left"))
                return True
            if e.buttons() == Qt.MouseButton.NoButton:  # hover: what a press would grab
                hint = ctl.cursor(self._ev3("move", e, "none"))
                shape = _HEIGHT_CURSOR if hint == "height" else CURSORS.get(hint)
                self.view3d.display.setCursor(shape or Qt.CursorShape.ArrowCursor)
            return False
        if t == _RELEASE and self._drag3d and e.button() == _LEFT:
            self._drag3d = False
            ctl.on_pointer(self._ev3("release", e, "left"))
            return True
        return False

    def _in_camera(self, panel: CameraPanel, e: QMouseEvent) -> bool:
        ctl = self.model.controller
        tool = ctl.view_tools["camera"]
        uv = panel.widget_to_image(np.array([[e.position().x(), e.position().y()]]))[0]
        pos = (float(uv[0]), float(uv[1]))
        t = e.type()
        if t == _PRESS:
            if e.button() != _LEFT:
                return False
            self._bind()
            self._cam_drag = panel if ctl.on_pointer(PointerEvent.in_camera("press", panel.name, pos)) else None
            return self._cam_drag is not None
        if self._cam_drag is not panel:
            return False
        if t == _MOVE:
            ctl.on_pointer(PointerEvent.in_camera("move", panel.name, pos, "left"))
            return True
        if t == _RELEASE and e.button() == _LEFT:
            self._cam_drag = None
            if not tool.dragging:
                return True  # cancelled (Esc) during the drag: nothing more
            if not ctl.on_pointer(PointerEvent.in_camera("release", panel.name, pos)):
                tid = panel.box_at(uv)  # a click: the panel's selection, as with the tool off
                if tid is not None:
                    panel.box_clicked.emit(tid)
            return True
        return False


def install_view_editing(model: ViewerModel, view3d: Any, camera_grid: Callable[[], CameraGrid | None],
                         frame_shown: Any, parent: QObject | None = None) -> ViewEditing:
    """Bind 3D-view box dragging and the camera box tool (see :class:`ViewEditing` for the
    arguments); the window keeps the result as ``view_editing``."""
    return ViewEditing(model, view3d, camera_grid, frame_shown, parent)
