"""The BEV point-label tool: a lasso or a brush with a height band, as a Qt-free state machine.

Press (left button) starts a stroke, moves extend it, release labels the points of the current
sweep under it with :attr:`PointLabelTool.semantic` (the current point class) and pushes **one**
:class:`~fusionlabel.pointlabels.commands.SetPointLabels` per stroke (none when nothing changes).
Lasso: the stroke's BEV polygon (world x / y, m; even-odd rule, closed by release). Brush: every
point within ``brush_radius`` m of the stroke's path. Both keep only points whose world z lies in
``z_band`` (m) above ``ground_z`` (None: every height). Escape cancels the stroke; other buttons
are left to the view (pan). The masks are :func:`fusionlabel.pointlabels.tools.lasso_mask` /
:func:`~fusionlabel.pointlabels.tools.brush_mask`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError
from fusionlabel.pointlabels.tools import brush_mask, label_mask, lasso_mask
from fusionlabel.tools.base import Tool
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import PointerEvent

#: Stroke vertices closer than this many screen pixels to the last one are not added.
STROKE_STEP_PX = 3.0
MODES = ("lasso", "brush")


class PointLabelTool(Tool):
    """Lasso / brush labelling in the BEV (module doc). ``points_of()`` gives the labelled LiDAR's
    world points (N, 3) of the current frame in the order of its labels (default: ``ctx.points``);
    ``on_stroke(stroke)`` hears the stroke (K, 2) while drawing (None when it ends), for the view's
    preview; ``on_labelled(command)`` hears each pushed command. ``last_count`` is the number of
    points the last stroke selected."""

    name = "label_points"

    def __init__(self, ctx: ToolContext, points_of: Callable[[], NDArray[np.floating] | None] | None = None) -> None:
        super().__init__(ctx)
        self.points_of = points_of or (lambda: None if ctx.points is None else np.asarray(ctx.points))
        self.mode = "lasso"
        self.semantic: int = 0
        self.instance: int | None = None
        self.z_band: tuple[float, float] | None = None
        self.ground_z: float = 0.0
        self.brush_radius = 1.0
        self.only_unlabelled = False
        self.on_stroke: Callable[[NDArray[np.float64] | None], None] | None = None
        self.on_labelled: Callable[[object], None] | None = None
        self.last_count = 0
        self._stroke: list[tuple[float, float]] | None = None
        self._brushed: NDArray[np.bool_] | None = None

    # ---- settings -------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"point-label mode must be one of {MODES}, got {mode!r}")
        self.cancel()
        self.mode = mode

    def set_z_band(self, lo: float | None, hi: float | None) -> None:
        """Heights (m above ``ground_z``) kept; None for both: every height."""
        if lo is None and hi is None:
            self.z_band = None
            return
        a = -math.inf if lo is None else float(lo)
        b = math.inf if hi is None else float(hi)
        if not a <= b:
            raise ValueError(f"height band: {a} > {b}")
        self.z_band = (a, b)

    def world_band(self) -> tuple[float, float] | None:
        """The height band in world z (m)."""
        return None if self.z_band is None else (self.ground_z + self.z_band[0], self.ground_z + self.z_band[1])

    @property
    def stroke(self) -> NDArray[np.float64] | None:
        """The stroke being drawn (K, 2) world x / y, m (None: none)."""
        return None if self._stroke is None else np.asarray(self._stroke, dtype=np.float64)

    @property
    def dragging(self) -> bool:
        return self._stroke is not None

    # ---- events ---------------------------------------------------------------------------------
    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "bev":
            return False
        if ev.kind == "press" and ev.button == "left":
            self._stroke = [ev.pos_world]
            self._brushed = None
            if self.mode == "brush":
                self._brush_at(ev.pos_world)
            self._tell()
            return True
        if self._stroke is None:
            return False
        if ev.kind == "move":
            last = self._stroke[-1]
            if math.hypot(ev.pos_world[0] - last[0], ev.pos_world[1] - last[1]) >= ev.metres(STROKE_STEP_PX):
                self._stroke.append(ev.pos_world)
                if self.mode == "brush":
                    self._brush_at(ev.pos_world)
                self._tell()
            return True
        if ev.kind == "release" and ev.button == "left":
            self._finish()
            return True
        return False

    def cancel(self) -> bool:
        had = self._stroke is not None
        self._stroke, self._brushed = None, None
        if had:
            self._tell()
        return had

    def cursor(self, ev: PointerEvent) -> str:
        return "crosshair"

    # ---- internals ------------------------------------------------------------------------------
    def _tell(self) -> None:
        if self.on_stroke is not None:
            self.on_stroke(self.stroke)

    def _points(self) -> NDArray[np.floating]:
        pts = self.points_of()
        if pts is None:
            raise ModelError("no points at this frame to label")
        return pts

    def _brush_at(self, xy: tuple[float, float]) -> None:
        m = brush_mask(self._points(), xy, self.brush_radius, self.world_band())
        self._brushed = m if self._brushed is None else (self._brushed | m)

    def mask(self) -> NDArray[np.bool_] | None:
        """(N,) the points the current stroke selects (None: no stroke or a lasso of < 3 vertices)."""
        if self._stroke is None:
            return None
        if self.mode == "brush":
            return self._brushed
        if len(self._stroke) < 3:
            return None
        return lasso_mask(self._points(), np.asarray(self._stroke), self.world_band())

    def _finish(self) -> None:
        try:
            m = self.mask()
        finally:
            frame = self.ctx.frame
            stroke = self._stroke
            self._stroke, self._brushed = None, None
            self._tell()
        self.last_count = 0 if m is None else int(m.sum())
        if m is None or stroke is None:
            return
        labels = getattr(self.ctx.doc, "point_labels", None)
        if labels is None:
            raise ModelError("the document has no point labels attached")
        what = labels.table.name(self.semantic)
        cmd = label_mask(self.ctx.doc, frame, m, self.semantic, self.instance, only_unlabelled=self.only_unlabelled,
                         description=f"{self.mode.capitalize()}: {self.last_count} points -> {what}")
        if cmd is None:
            return
        self.ctx.stack.push(cmd)
        if self.on_labelled is not None:
            self.on_labelled(cmd)
