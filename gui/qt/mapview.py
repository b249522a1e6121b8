"""Map work in the window (Qt side): :func:`install_map` puts the map layer
(:class:`gui.model.mapwork.MapWork`) in the BEV, the 3D view and every camera panel, adds the map
tools to each session's tool controller and shows the accumulated world view. The window calls
it once; everything else follows the model's events."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt

from gui.model.mapwork import MapWork


def install_map(win: Any) -> MapWork:
    """Install map work in ``win`` (a ``gui.qt.window.MainWindow``); returns the
    :class:`MapWork` (also ``win.model.map``)."""
    mw = MapWork(win.model, lambda text: win.model.show_message(text, 6000))
    win.model.map = mw
    win.map_work = mw
    for layers in (win.bev.layers, win.view3d.layers):
        layers.append(mw.layer)
        layers.append(mw.draft)
    win.drawing.points_override = mw.accumulated_points
    state: dict[str, Any] = {"ctl": None, "grid": None}

    def panels() -> list[Any]:
        grid = win.camera_grid
        return [] if grid is None else list(grid.panels.values())

    def repaint_cameras(*_: object) -> None:
        for p in panels():
            p.update()

    def bind(*_: object) -> None:
        """A new session (controller) or camera grid: bind the tools, put the layers in the panels."""
        if win.ctl is not None and win.ctl is not state["ctl"]:
            state["ctl"] = win.ctl
            mw.bind(win.ctx, win.ctl)
        if win.camera_grid is not None and win.camera_grid is not state["grid"]:
            state["grid"] = win.camera_grid
            for p in panels():
                if "map" not in p.layers:
                    p.layers.append(mw.layer)
                    p.layers.append(mw.draft)

    win.frame_shown.connect(bind)
    win.loaded.connect(bind)
    mw.layer.events.data.connect(repaint_cameras)
    mw.layer.events.visible.connect(repaint_cameras)
    mw.layer.events.selected.connect(repaint_cameras)
    mw.draft.events.data.connect(repaint_cameras)
    mw.events.redraw.connect(lambda: win.drawing.update_points())

    def on_tool(name: str) -> None:
        if name in ("map_draw", "map_edit"):
            win.bev.setCursor(Qt.CursorShape.CrossCursor)

    win.model.events.tool.connect(on_tool)
    return mw
