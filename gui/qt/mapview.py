"""Map work in the window (Qt side): :func:`install_map` adds the map layers
(:class:`gui.model.mapwork.MapWork`: the elements, the draft being drawn and the assist's map
proposals) to the model's annotation layers, which the window's drawing places in the BEV, the 3D
view and every camera panel; it adds the map tools to each session's tool controller, shows the
accumulated world view, the "Map proposals" dock (a tab beside the proposal review, in the window
holding the BEV), picks map elements with a click in the camera panels, and asks for the file of
Map > Import map file. The window calls it once; everything else follows the model's events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QFileDialog, QMainWindow

from gui.model import ViewerModel
from gui.model.mapwork import MapWork
from gui.qt.mapproposals import MapPanelPicker, MapProposalDock


def install_map(model: ViewerModel, drawing: Any, bev: Any, camera_grid: Callable[[], Any],
                session_changed: Any) -> MapWork:
    """Install map work: ``model`` the window's ``ViewerModel`` (``model.map`` becomes the
    :class:`MapWork`), ``drawing`` its ``gui.qt.drawing.ViewDrawing`` (the accumulated world
    replaces the sweep there), ``bev`` the BEV view (its cursor for the map tools),
    ``camera_grid`` a callable giving the current camera grid, ``session_changed`` the signals
    after which the session's tool controller may be new (connected to a re-bind). Returns the
    :class:`MapWork`."""
    mw = MapWork(model, lambda text: model.show_message(text, 6000))
    model.map = mw  # type: ignore[attr-defined]
    model.layers.insert(0, mw.layer)  # under the boxes (the window mirrors the model's layers into its views)
    model.layers.insert(1, mw.proposals.layer)
    model.layers.append(mw.draft)  # the element being drawn: on top
    drawing.points_override = mw.accumulated_points
    state: dict[str, Any] = {"ctl": None}

    def repaint_cameras(*_: object) -> None:
        grid = camera_grid()
        for p in [] if grid is None else grid.panels.values():
            p.update()

    def bind(*_: object) -> None:
        """A new session (controller): bind the map tools to it."""
        ctl = model.controller
        if ctl is not None and ctl is not state["ctl"] and model.context is not None:
            state["ctl"] = ctl
            mw.bind(model.context, ctl)

    picker = MapPanelPicker(mw.pick_camera, mw.claims_clicks, lambda: bool(model.view.camera_box), bev)

    def watch_panels(*_: object) -> None:
        grid = camera_grid()
        if grid is not None:
            picker.watch(list(grid.panels.values()))

    for signal in session_changed:
        signal.connect(bind)
        signal.connect(watch_panels)
    win = bev.window()
    if isinstance(win, QMainWindow):  # the "Map proposals" dock, a tab beside the proposal review
        from gui.qt.docks import tab_beside

        dock = QDockWidget("Map proposals", win)
        dock.setObjectName("map_proposals")
        dock.setWidget(MapProposalDock(mw.proposals))
        anchor = win.findChild(QDockWidget, "proposals")
        tab_beside(win, anchor, dock) if anchor is not None else win.addDockWidget(
            Qt.DockWidgetArea.RightDockWidgetArea, dock)
        mw.proposals_dock = dock  # type: ignore[attr-defined]

    def look_at(centre: Any) -> None:
        if centre is not None:
            bev.set_view(centre[:2])
            view3d = getattr(drawing, "view3d", None)
            if view3d is not None:
                view3d.look_at(centre)

    mw.proposals.events.look_at.connect(look_at)
    for la in (mw.proposals.layer,):
        la.events.data.connect(repaint_cameras)
        la.events.selected.connect(repaint_cameras)
    mw.ask_open = lambda: QFileDialog.getOpenFileName(  # type: ignore[attr-defined]
        bev, "Import map file", "", "Map files (*.json);;All files (*)")[0] or None
    mw.layer.events.data.connect(repaint_cameras)
    mw.layer.events.visible.connect(repaint_cameras)
    mw.layer.events.selected.connect(repaint_cameras)
    mw.draft.events.data.connect(repaint_cameras)
    mw.events.redraw.connect(lambda: drawing.update_points())

    def on_tool(name: str) -> None:
        if name in ("map_draw", "map_edit"):
            bev.setCursor(Qt.CursorShape.CrossCursor)

    model.events.tool.connect(on_tool)
    return mw
