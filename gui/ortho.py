"""Orthographic 2D views painted with QPainter: the BEV editor and the side/front views of a box.

An :class:`OrthoView` shows points and shapes given in **plane coordinates** (metres, x right /
y up on the plane; which 3D axes they are is the caller's business: world x/y for the bird's-eye
view, box-frame x/z for the side view, box-frame -y/z for the front view). The points are
rasterised into an image of the widget's size with numpy (fast for 100k+ points); shapes are
painted over it. The view maps plane -> screen with a centre, a scale (px per metre) and the plane
direction that points up on screen (the BEV keeps the ego heading up).

Mouse: wheel zooms about the cursor, right or middle drag pans; left-button presses, releases and
double clicks and every other move (hover: button ``"none"``) are emitted as :class:`PlaneEvent`
in plane metres (``pointer`` signal) for the editing tools.

Shapes come from ``set_shapes`` (a thin adapter the window fills) and from the annotation layers
of :attr:`OrthoView.layers` (``gui.model.layers``: their ``bev_shapes``, or ``ortho_shapes`` of
the box given to :meth:`OrthoView.set_layer_view` in the side and front views), painted in that
order, the preview on top.

Big clouds: :meth:`OrthoView.set_cloud` takes a ``gui.model.cloud.ShownCloud`` (world points with
their level of detail) instead of points: the raster is then a height buffer (the highest point of
each pixel gives its colour, ``gui.colors.bev_colors``) of the cloud's ``draft_points`` prefix in
draft mode, while panning or zooming and for the first picture of a new cloud, and of
``still_points`` (default 2M; None: every point) at rest (300 ms after the last change).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import QPointF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PyQt6.QtWidgets import QWidget

from fusionlabel.box import Box3D
from fusionlabel.geometry import point_in_polygon, polygon_area
from gui.memory import request_idle_trim
from gui.model.cloud import ShownCloud
from gui.model.layers import LayerList
from gui.model.shapes import Shape

__all__ = ["OrthoView", "PlaneEvent", "Shape", "modifier_names", "pack_rgb32", "qpolygon"]

F64 = NDArray[np.float64]
BACKGROUND = (16, 18, 23)


def pack_rgb32(rgb: NDArray[np.uint8]) -> NDArray[np.uint32]:
    """(N, 3) uint8 RGB -> (N,) uint32 ``0xffRRGGBB`` (QImage.Format_RGB32 pixels)."""
    c = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
    return np.uint32(0xFF000000) | (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]


_BACKGROUND32 = int(pack_rgb32(np.array([BACKGROUND], np.uint8))[0])


@dataclass(frozen=True)
class PlaneEvent:
    """A pointer event in plane metres: ``kind`` ``press``/``move``/``release``/``double_click``;
    ``xy`` plane metres; ``button`` ``"left"`` or ``"none"`` (a hover move); ``modifiers`` a set
    of ``"shift"``/``"ctrl"``/``"alt"``; ``px_per_m`` the view's scale (for pixel tolerances)."""

    kind: str
    xy: tuple[float, float]
    button: str
    modifiers: frozenset[str]
    px_per_m: float


def modifier_names(mods: Qt.KeyboardModifier) -> frozenset[str]:
    """Qt modifiers -> {"shift", "ctrl", "alt"} (Ctrl is Command on macOS, as Qt maps it)."""
    out = set()
    if mods & Qt.KeyboardModifier.ShiftModifier:
        out.add("shift")
    if mods & Qt.KeyboardModifier.ControlModifier:
        out.add("ctrl")
    if mods & Qt.KeyboardModifier.AltModifier:
        out.add("alt")
    return frozenset(out)


class OrthoView(QWidget):
    """Top-down style 2D view of points and shapes in plane metres (see the module docstring)."""

    pointer = pyqtSignal(object)  # PlaneEvent
    view_changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, title: str = "") -> None:
        super().__init__(parent)
        self.title = title
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)
        self.center = np.zeros(2)
        self.scale = 8.0  # px per metre
        self.up_angle = math.pi / 2  # plane direction (rad) shown pointing up
        self.min_scale, self.max_scale = 0.5, 400.0
        self.splat_scale = 12.0  # from this zoom on, points are 2x2 px
        self._pts = np.zeros((0, 2))
        self._rgb32 = np.zeros(0, np.uint32)
        self._shapes: list[Shape] = []
        self._preview: list[Shape] = []
        self._raster: QImage | None = None
        self._raster_buf: NDArray[np.uint32] | None = None
        self._pan_from: tuple[QPointF, F64] | None = None
        self.message = ""
        #: Draft quality while frames change quickly (thin, aliased lines: the raster engine's fast
        #: path); :meth:`set_draft` (False) repaints in full quality.
        self.draft = False
        #: Annotation layers drawn over the shapes (``bev_shapes``, or ``ortho_shapes`` of
        #: :attr:`layer_ref_box` when :attr:`layer_view` is ``"side"`` / ``"front"``).
        self.layers = LayerList()
        self.layer_view = "bev"
        self.layer_ref_box: Box3D | None = None
        self._layer_shapes: list[Shape] | None = None
        for ev in ("inserted", "removed", "moved", "changed"):
            self.layers.events[ev].connect(self._on_layers)
        self._cloud: ShownCloud | None = None
        #: Point budgets of a cloud: in draft mode and while the view moves, and at rest (None: all).
        self.draft_points = 200_000
        self.still_points: int | None = 2_000_000
        #: Points rasterised by the last raster (tests, benchmarks).
        self.raster_count = 0
        self._moving = False
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(300)
        self._rest.timeout.connect(self._at_rest)

    # ---- layers ---------------------------------------------------------------------------------
    def set_layer_view(self, view: str, ref_box: Box3D | None = None) -> None:
        """Which view of the layers this is: ``"bev"``, or ``"side"`` / ``"front"`` of ``ref_box``
        (the selected box as committed; None: the layers draw nothing here)."""
        if view not in ("bev", "side", "front"):
            raise ValueError(f"layer view must be 'bev', 'side' or 'front', got {view!r}")
        self.layer_view, self.layer_ref_box = view, ref_box
        self._on_layers()

    def _on_layers(self, *_: object) -> None:
        self._layer_shapes = None
        self.update()

    def layer_shapes(self) -> list[Shape]:
        """The layers' shapes in this view (cached until a layer changes)."""
        if self._layer_shapes is None:
            if self.layer_view == "bev":
                self._layer_shapes = self.layers.bev_shapes()
            elif self.layer_ref_box is not None:
                self._layer_shapes = self.layers.ortho_shapes(self.layer_view, self.layer_ref_box)
            else:
                self._layer_shapes = []
        return self._layer_shapes

    # ---- data -----------------------------------------------------------------------------------
    def set_points(
        self, pts_plane: NDArray[np.floating], rgb: NDArray[np.uint8] | NDArray[np.uint32],
        order: NDArray[np.floating] | None = None,
    ) -> None:
        """(N, 2) plane metres with (N, 3) uint8 colours (or (N,) uint32 packed by :func:`pack_rgb32`);
        ``order`` (N,) draws high values on top."""
        pts = np.asarray(pts_plane).reshape(-1, 2)
        if pts.dtype != np.float32:
            pts = pts.astype(np.float64)
        rgb = np.asarray(rgb)
        rgb32 = rgb.reshape(-1) if rgb.dtype == np.uint32 else pack_rgb32(rgb)
        if order is not None and len(pts):
            idx = np.argsort(order, kind="stable")
            pts, rgb32 = pts[idx], rgb32[idx]
        self._pts, self._rgb32 = pts, rgb32
        self._cloud = None
        self._raster = None
        self.update()

    def set_cloud(self, cloud: ShownCloud | None) -> None:
        """Draw a cloud with its level of detail (world x, y on the plane; see the module
        docstring) instead of the points of :meth:`set_points`; None: no points."""
        self._pts, self._rgb32 = np.zeros((0, 2)), np.zeros(0, np.uint32)
        self._cloud = cloud
        self._raster = None
        if cloud is not None and cloud.count(self.draft_points) < cloud.count(self.still_points):
            self._moving = True  # the first picture from the draft budget, the rest at rest
            self._rest.start()
        self.update()

    @property
    def point_budget(self) -> int | None:
        """The cloud's budget of the next raster."""
        return self.draft_points if (self.draft or self._moving) else self.still_points

    def _at_rest(self) -> None:
        self._moving = False
        if self._cloud is not None and self._cloud.count(self.draft_points) < self._cloud.count(self.still_points):
            self._raster = None
            self.update()
            request_idle_trim()  # the drafts' temporaries back to the system (gui.memory)

    def set_draft(self, on: bool) -> None:
        """Draft (fast: 1 px lines, no antialiasing; the selected box 2 px; a cloud within
        ``draft_points``) or full quality."""
        if on != self.draft:
            self.draft = on
            if self._cloud is not None and self._cloud.count(self.draft_points) < self._cloud.count(self.still_points):
                self._raster = None
            self.update()

    def set_shapes(self, shapes: Sequence[Shape]) -> None:
        """Replace the shapes drawn over the points (plane metres)."""
        self._shapes = list(shapes)
        self.update()

    def set_preview(self, shapes: Sequence[Shape]) -> None:
        """Shapes of an interaction in progress (drawn on top)."""
        self._preview = list(shapes)
        self.update()

    @property
    def shapes(self) -> list[Shape]:
        """The shapes drawn now (a copy)."""
        return list(self._shapes)

    # ---- mapping --------------------------------------------------------------------------------
    def _rot(self) -> F64:
        a = math.pi / 2 - self.up_angle
        c, s = math.cos(a), math.sin(a)
        return np.array([[c, -s], [s, c]])

    def to_screen(self, pts_plane: NDArray[np.floating]) -> NDArray[np.floating]:
        """(N, 2) plane metres -> (N, 2) widget pixels (x right, y down); float32 in, float32 out
        (the point raster), else float64. Computed column-wise (no BLAS call)."""
        p = np.asarray(pts_plane).reshape(-1, 2)
        dt = np.float32 if p.dtype == np.float32 else np.float64
        r = self._rot().astype(dt)
        s = dt(self.scale)
        dx = p[:, 0] - dt(self.center[0])
        dy = p[:, 1] - dt(self.center[1])
        out = np.empty((len(p), 2), dt)
        out[:, 0] = (dx * r[0, 0] + dy * r[0, 1]) * s + dt(self.width() / 2)
        out[:, 1] = dt(self.height() / 2) - (dx * r[1, 0] + dy * r[1, 1]) * s
        return out

    def to_plane(self, pts_screen: NDArray[np.floating]) -> F64:
        """(N, 2) widget pixels -> (N, 2) plane metres."""
        s = np.asarray(pts_screen, dtype=np.float64).reshape(-1, 2)
        d = np.column_stack([(s[:, 0] - self.width() / 2) / self.scale, -(s[:, 1] - self.height() / 2) / self.scale])
        return d @ self._rot() + self.center

    def set_view(
        self, center: Sequence[float] | None = None, scale: float | None = None, up_angle: float | None = None
    ) -> None:
        """Change the centre (plane m), the scale (px/m, clamped) and/or the up direction (rad)."""
        if center is not None:
            self.center = np.asarray(center, dtype=np.float64).reshape(2).copy()
        if scale is not None:
            self.scale = float(min(max(scale, self.min_scale), self.max_scale))
        if up_angle is not None:
            self.up_angle = float(up_angle)
        self._raster = None
        if self._cloud is not None and self._cloud.count(self.draft_points) < self._cloud.count(self.still_points):
            self._moving = True
            self._rest.start()
        self.update()
        self.view_changed.emit()

    def fit(self, lo: Sequence[float], hi: Sequence[float], margin: float = 0.15) -> None:
        """Centre on the plane rectangle [lo, hi] (metres) and zoom so that it fits."""
        lo_a, hi_a = np.asarray(lo, float), np.asarray(hi, float)
        ext = np.maximum(hi_a - lo_a, 1e-3) * (1 + 2 * margin)
        rot = self._rot()
        # extent of the rotated rectangle on screen axes
        ex = abs(rot[0, 0]) * ext[0] + abs(rot[0, 1]) * ext[1]
        ey = abs(rot[1, 0]) * ext[0] + abs(rot[1, 1]) * ext[1]
        scale = min(max(self.width(), 1) / ex, max(self.height(), 1) / ey)
        self.set_view((lo_a + hi_a) / 2, scale)

    # ---- painting -------------------------------------------------------------------------------
    def _rasterize(self) -> QImage:
        """The points as a QImage in the screen's native 32-bit format (no conversion to draw)."""
        w, h = max(self.width(), 1), max(self.height(), 1)
        buf = np.full(h * w, _BACKGROUND32, np.uint32)
        if self._cloud is not None:
            self._raster_cloud(buf, w, h)
        elif len(self._pts):
            s = self.to_screen(self._pts)
            x = np.floor(s[:, 0]).astype(np.int64)
            y = np.floor(s[:, 1]).astype(np.int64)
            ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            x, y, rgb = x[ok], y[ok], self._rgb32[ok]
            flat = y * w + x
            buf[flat] = rgb
            if self.scale >= self.splat_scale:  # 2x2 px
                right, below = x < w - 1, y < h - 1
                for d, k in ((1, right), (w, below), (w + 1, right & below)):
                    buf[flat[k] + d] = rgb[k]
        self._raster_buf = buf
        return QImage(buf.data, w, h, 4 * w, QImage.Format.Format_RGB32)

    def _raster_cloud(self, buf: NDArray[np.uint32], w: int, h: int) -> None:
        """The cloud's points of :attr:`point_budget` into ``buf`` (h * w): the highest per pixel."""
        assert self._cloud is not None
        pts, _ = self._cloud.take(self.point_budget)
        self.raster_count = len(pts)
        if not len(pts):
            return
        s = self.to_screen(pts[:, :2])
        x = np.floor(s[:, 0]).astype(np.int32)
        y = np.floor(s[:, 1]).astype(np.int32)
        del s
        ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        x, y, z = x[ok], y[ok], pts[ok, 2]
        flat = y.astype(np.int64) * w + x
        top = np.full(h * w, -np.inf, np.float32)
        np.maximum.at(top, flat, z)
        if self.scale >= self.splat_scale:  # 2x2 px
            right, below = x < w - 1, y < h - 1
            for d, k in ((1, right), (w, below), (w + 1, right & below)):
                np.maximum.at(top, flat[k] + d, z[k])
        hit = np.flatnonzero(top > -np.inf)
        buf[hit] = pack_rgb32(self._cloud.bev_rgb(top[hit]))

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if self._raster is None or self._raster.width() != self.width() or self._raster.height() != self.height():
            self._raster = self._rasterize()
        p = QPainter(self)
        p.drawImage(0, 0, self._raster)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, not self.draft)
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        p.setFont(font)
        shapes = self._shapes + self.layer_shapes() + self._preview
        if shapes:  # one plane -> screen mapping and one polygon conversion for all shapes
            screen = self.to_screen(np.concatenate([sh.points for sh in shapes]))
            big = qpolygon(screen)
            start = 0
            for sh in shapes:
                n = len(sh.points)
                self._paint_shape(p, sh, big.mid(start, n), screen[start])
                start += n
        fm = p.fontMetrics()
        for text, y, title in self.overlay_texts(fm):
            p.fillRect(4, y, fm.horizontalAdvance(text) + 10, 18, QColor(0, 0, 0, 150))
            p.setPen(QColor(225, 225, 225) if title else QColor(200, 200, 200))
            p.drawText(9, y + 14, text)
        p.end()

    def overlay_texts(self, fm: QFontMetrics) -> list[tuple[str, int, bool]]:
        """The texts painted over the view: ``(text, top y px, is the title)``: the title at the
        top, the message's lines (``\\n``-separated) at the bottom, its last line lowest; each
        elided with "..." to the view's width (measured with ``fm``)."""
        width = max(self.width() - 18, 20)
        out = [(self.title, 4, True)] if self.title else []
        msg = [t for t in self.message.split("\n") if t] if self.message else []
        out += [(t, self.height() - 22 - 20 * (len(msg) - 1 - i), False) for i, t in enumerate(msg)]
        return [(fm.elidedText(t, Qt.TextElideMode.ElideRight, width), y, title) for t, y, title in out]

    def _paint_shape(self, p: QPainter, sh: Shape, poly: QPolygonF, first: F64) -> None:
        pen = QPen(QColor(*sh.color, round(255 * min(max(sh.opacity, 0.0), 1.0))))
        # draft: lines wider than 1 px go through the stroker (about 10x slower under software rendering)
        pen.setWidthF(sh.width if not self.draft else 1.0 if sh.width < 2.4 else 2.0)
        if sh.dotted:
            pen.setStyle(Qt.PenStyle.DotLine)
        elif sh.dash_dot:
            pen.setStyle(Qt.PenStyle.DashDotLine)
        elif sh.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        if sh.closed:
            if sh.fill_alpha:
                p.setBrush(QBrush(QColor(*sh.color, sh.fill_alpha)))
            else:
                p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPolygon(poly)
        else:
            path = QPainterPath()
            path.addPolygon(poly)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        if sh.text:
            p.setPen(QColor(*sh.color))
            p.drawText(QPointF(float(first[0]) + 3, float(first[1]) - 3), sh.text)

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        self._raster = None
        super().resizeEvent(event)

    # ---- hit tests ------------------------------------------------------------------------------
    def shapes_at(self, xy_plane: Sequence[float]) -> list[Shape]:
        """Closed shapes containing the plane point, smallest area first."""
        x, y = float(xy_plane[0]), float(xy_plane[1])
        hits = []
        for sh in self._shapes + self.layer_shapes():
            if sh.closed and sh.key is not None and point_in_polygon(sh.points, (x, y)):
                hits.append((abs(polygon_area(sh.points)), sh))
        return [sh for _, sh in sorted(hits, key=lambda t: t[0])]

    # ---- mouse ----------------------------------------------------------------------------------
    def _event(self, kind: str, e: QMouseEvent, button: str = "left") -> PlaneEvent:
        pos = e.position()
        xy = self.to_plane(np.array([[pos.x(), pos.y()]]))[0]
        return PlaneEvent(kind, (float(xy[0]), float(xy[1])), button, modifier_names(e.modifiers()), self.scale)

    def mousePressEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        self.setFocus()
        if e.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan_from = (e.position(), self.center.copy())
            return
        if e.button() == Qt.MouseButton.LeftButton:
            self.pointer.emit(self._event("press", e))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if self._pan_from is not None:
            start, c0 = self._pan_from
            d = np.array([[e.position().x() - start.x(), e.position().y() - start.y()]])
            dp = np.array([[d[0, 0] / self.scale, -d[0, 1] / self.scale]]) @ self._rot()
            self.set_view(c0 - dp[0])
            return
        left = bool(e.buttons() & Qt.MouseButton.LeftButton)
        self.pointer.emit(self._event("move", e, "left" if left else "none"))

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if self._pan_from is not None and e.button() in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self._pan_from = None
            return
        if e.button() == Qt.MouseButton.LeftButton:
            self.pointer.emit(self._event("release", e))

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if e.button() == Qt.MouseButton.LeftButton:
            self.pointer.emit(self._event("double_click", e))

    def wheelEvent(self, e: QWheelEvent) -> None:  # type: ignore[override]
        steps = e.angleDelta().y() / 120.0
        if steps == 0:
            return
        pos = e.position()
        anchor = self.to_plane(np.array([[pos.x(), pos.y()]]))[0]
        new_scale = float(min(max(self.scale * (1.2**steps), self.min_scale), self.max_scale))
        # keep the plane point under the cursor fixed
        self.scale = new_scale
        after = self.to_plane(np.array([[pos.x(), pos.y()]]))[0]
        self.set_view(self.center + (anchor - after))


def qpolygon(pts: NDArray[np.floating]) -> QPolygonF:
    """(N, 2) float array -> QPolygonF, filled through its buffer (no per-point Python objects)."""
    a = np.ascontiguousarray(pts, dtype=np.float64).reshape(-1, 2)
    poly = QPolygonF()
    poly.fill(QPointF(), len(a))
    if len(a):
        ptr = poly.data()
        ptr.setsize(a.nbytes)
        np.frombuffer(ptr, dtype=np.float64).reshape(-1, 2)[:] = a
    return poly

