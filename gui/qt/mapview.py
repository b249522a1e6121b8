"""Map work in the window (Qt side): :func:`install_map` adds the map layers
(:class:`gui.model.mapwork.MapWork`: the elements and the draft being drawn) to the model's
annotation layers, which the window's drawing places in the BEV, the 3D view and every camera
panel; it adds the map tools to each session's tool controller and shows the accumulated world
view. The window calls it once; everything else follows the model's events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import Qt

from gui.model import ViewerModel
from gui.model.mapwork import MapWork


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

    for signal in session_changed:
        signal.connect(bind)
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
