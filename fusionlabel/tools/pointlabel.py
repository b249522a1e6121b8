"""The BEV point-label tool: a lasso or a brush with a height band, as a Qt-free state machine.

Press (left button) starts a stroke, moves extend it, release labels the points of the current
sweep under it with :attr:`PointLabelTool.semantic` (the current point class) and pushes **one**
:class:`~fusionlabel.pointlabels.commands.SetPointLabels` per stroke (none when nothing changes).
Lasso: the stroke's BEV polygon (world x / y, m; even-odd rule, closed by release). Brush: every
point within ``brush_radius`` m of the stroke's path. Both keep only points whose world z lies in
``z_band`` (m) above ``ground_z`` (None: every height). Escape cancels the stroke; other buttons
are left to the view (pan). The masks are :func:`fusionlabel.pointlabels.tools.lasso_mask` /
:func:`~fusionlabel.pointlabels.tools.brush_mask`.

Accumulated sweeps: with ``sweeps_of`` giving the sweeps shown (``[(frame, world points (N, 3))]``,
the current frame's and those accumulated around it), a BEV stroke selects in all of them and its
one command labels each sweep's own points ("static class everywhere": static structure labelled
once in the accumulated world view, carried to every sweep through the poses).

Camera lasso: camera events (``PointerEvent.in_camera``; the window feeds them while the lasso is
on) draw a polygon in image pixels; its release labels the current sweep's points whose
projection falls inside it (:func:`~fusionlabel.pointlabels.tools.camera_lasso_mask`, with the
height band; ``nearest_only``: the visible surface only). ``cameras(name)`` gives the camera as
its panel shows it (a :class:`~fusionlabel.tools.imagebox.CameraFrame`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError
from fusionlabel.pointlabels.tools import brush_mask, camera_lasso_mask, label_masks, lasso_mask
from fusionlabel.tools.base import Tool
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.imagebox import CameraFrame

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
        #: ``() -> [(frame, world points (N, 3))]``: the sweeps shown (accumulated); None / empty:
        #: the current frame's ``points_of()``
        self.sweeps_of: Callable[[], Sequence[tuple[int, NDArray[np.floating]]]] | None = None
        #: ``(name) -> CameraFrame | None``: the cameras for the camera lasso (None: no camera lasso)
        self.cameras: Callable[[str], CameraFrame | None] | None = None
        #: ``(camera, stroke (K, 2) px | None)`` while a camera lasso is drawn (None when it ends)
        self.on_camera_stroke: Callable[[str, NDArray[np.float64] | None], None] | None = None
        self.nearest_only = False
        self.last_count = 0
        self._stroke: list[tuple[float, float]] | None = None
        self._camera: str | None = None  # the camera of a camera stroke (None: a BEV stroke)
        self._brushed: NDArray[np.bool_] | None = None
        self._shown: list[tuple[int, int, int]] = []  # (frame, start, end) in the stroke's points
        self._pts: NDArray[np.floating] | None = None

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
        if ev.view == "camera":
            return self._on_camera(ev)
        if ev.view != "bev":
            return False
        if ev.kind == "press" and ev.button == "left":
            self.cancel()
            self._stroke = [ev.pos_world]
            self._brushed, self._pts = None, None
            if self.mode == "brush":
                self._brush_at(ev.pos_world)
            self._tell()
            return True
        if self._stroke is None or self._camera is not None:
            return False
        return self._continue(ev, ev.pos_world, ev.metres(STROKE_STEP_PX))

    def _continue(self, ev: PointerEvent, pos: tuple[float, float], step: float) -> bool:
        """A move extends the stroke (a vertex ``step`` away from the last: m in the BEV, px in a
        camera), the release labels."""
        assert self._stroke is not None
        if ev.kind == "move":
            last = self._stroke[-1]
            if math.hypot(pos[0] - last[0], pos[1] - last[1]) >= step:
                self._stroke.append(pos)
                if self._camera is None and self.mode == "brush":
                    self._brush_at(pos)
                self._tell()
            return True
        if ev.kind == "release" and ev.button == "left":
            self._finish()
            return True
        return False

    def _on_camera(self, ev: PointerEvent) -> bool:
        """A lasso in a camera image (module doc)."""
        if self.cameras is None or ev.camera is None or ev.pos_px is None:
            return False
        if ev.kind == "press" and ev.button == "left":
            if self.mode != "lasso" or self.cameras(ev.camera) is None:
                return False
            self.cancel()
            self._stroke, self._camera = [ev.pos_px], ev.camera
            self._tell()
            return True
        if self._stroke is None or self._camera != ev.camera:
            return False
        return self._continue(ev, ev.pos_px, STROKE_STEP_PX)

    def cancel(self) -> bool:
        had = self._stroke is not None
        self._stroke, self._brushed, self._pts = None, None, None
        if had:
            self._tell()
        self._camera = None
        return had

    def cursor(self, ev: PointerEvent) -> str:
        return "crosshair"

    # ---- internals ------------------------------------------------------------------------------
    def _tell(self) -> None:
        if self._camera is not None:
            if self.on_camera_stroke is not None:
                self.on_camera_stroke(self._camera, self.stroke)
        elif self.on_stroke is not None:
            self.on_stroke(self.stroke)

    def _points(self) -> NDArray[np.floating]:
        """The points a BEV stroke selects in: the shown sweeps one after the other (kept for the
        stroke), or the current frame's."""
        if self._pts is not None:
            return self._pts
        shown = list(self.sweeps_of()) if self.sweeps_of is not None else []
        if shown:
            parts, self._shown, start = [], [], 0
            for f, p in shown:
                a = np.asarray(p)[:, :3]
                parts.append(a)
                self._shown.append((int(f), start, start + len(a)))
                start += len(a)
            self._pts = np.concatenate(parts) if len(parts) > 1 else parts[0]
            return self._pts
        pts = self.points_of()
        if pts is None:
            raise ModelError("no points at this frame to label")
        self._shown = [(self.ctx.frame, 0, len(pts))]
        self._pts = pts
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

    def camera_mask(self) -> NDArray[np.bool_] | None:
        """(N,) the current sweep's points the camera stroke selects (None: no camera stroke of
        3 vertices or more, or its camera is gone)."""
        if self._stroke is None or self._camera is None or len(self._stroke) < 3 or self.cameras is None:
            return None
        cam = self.cameras(self._camera)
        if cam is None:
            return None
        pts = self.points_of()
        if pts is None:
            raise ModelError("no points at this frame to label")
        return camera_lasso_mask(pts, np.asarray(self._stroke), cam.camera, np.linalg.inv(cam.T_world_from_cam),
                                 z_band=self.world_band(), nearest_only=self.nearest_only)

    def _finish(self) -> None:
        camera = self._camera
        try:
            if camera is not None:
                m = self.camera_mask()
                masks = {} if m is None else {self.ctx.frame: m}
            else:
                m = self.mask()
                masks = {} if m is None else {f: m[a:b] for f, a, b in self._shown}
        finally:
            stroke = self._stroke
            self._tell_end()
        self.last_count = 0 if m is None else int(m.sum())
        if m is None or stroke is None:
            return
        labels = getattr(self.ctx.doc, "point_labels", None)
        if labels is None:
            raise ModelError("the document has no point labels attached")
        what = labels.table.name(self.semantic)
        where = f" in {camera}" if camera is not None else (f" over {len(masks)} sweeps" if len(masks) > 1 else "")
        cmd = label_masks(self.ctx.doc, masks, self.semantic, self.instance, only_unlabelled=self.only_unlabelled,
                          description=f"{self.mode.capitalize()}{where}: {self.last_count} points -> {what}")
        if cmd is None:
            return
        self.ctx.stack.push(cmd)
        if self.on_labelled is not None:
            self.on_labelled(cmd)

    def _tell_end(self) -> None:
        """The stroke is over: forget it and tell the views."""
        self._stroke, self._brushed, self._pts = None, None, None
        self._tell()
        self._camera = None
