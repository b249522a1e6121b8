"""The 3D view: a vispy SceneCanvas with a turntable camera, the point cloud and box wireframes.

Everything is drawn in the ``world`` frame (metres). Boxes are wireframes in their class colour
with a heading marker (the diagonals of the front face and a line from the centre to it) and the
track id as text; interpolated and held boxes are dashed and dimmer; boxes found by auto-tracking
have short dashes and are as opaque as their confidence; the selected box is drawn white and
thicker on top. What is drawn is the layers' drawing data (``gui.model.layers.Segments3D``):
:meth:`View3D.set_boxes` turns box glyphs into segments (``glyph_segments``) and the layers of
:attr:`View3D.layers` (map polylines...) add theirs.

Level of detail: any interaction with the camera (mouse drag, wheel, or a programmatic move via
:meth:`View3D.interacted`) switches the cloud to a decimated subset; ``rest_ms`` after the last
interaction the full cloud is drawn again. A cloud given with its level of detail
(:meth:`View3D.set_cloud`, a ``gui.model.cloud.ShownCloud``) is drawn within two point budgets:
``lod_points`` (the prefix of its progressive order) while moving and at first, ``still_points``
at rest (uploaded when the view first comes to rest, so that a big frame shows a first picture at
once).

Holding (:meth:`View3D.hold`): while frames change quickly the window may defer the 3D view's new
data and its repaint (the latest points and boxes are kept and applied once, on :meth:`release`,
at rest, or by :meth:`render`), so the other views step at full rate.

The window shows the 3D view as an image (:class:`_Display`, a plain QWidget): the vispy canvas
(a QOpenGLWidget) lives in a hidden top-level window and renders offscreen (``canvas.render()``)
whenever it needs a redraw; mouse and wheel events are forwarded to it. A QOpenGLWidget inside the
main window would switch the whole window to GL composition, which costs about 20 ms per repaint
of any panel under software GL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import vispy
from numpy.typing import NDArray
from PyQt6.QtCore import QEvent, QPointF, Qt, QTimer
from PyQt6.QtGui import QImage, QPainter
from PyQt6.QtWidgets import QApplication, QWidget
from vispy import scene

from gui.memory import request_idle_trim
from gui.model.cloud import ShownCloud
from gui.model.layers import LayerList, Segments3D, glyph_segments
from gui.model.shapes import BoxGlyph
from gui.render.points import PointCloud

vispy.use(app="pyqt6")

F32 = NDArray[np.float32]

BACKGROUND = (0.06, 0.07, 0.09, 1.0)


class View3D:
    """The embedded 3D canvas. ``widget`` is the Qt widget to put in a layout.

    Data: :meth:`set_points` (world points and colours), :meth:`set_boxes` (:class:`BoxGlyph`),
    :meth:`look_at` (camera target). Tests: :meth:`render` (RGBA pixels) and :meth:`to_canvas`
    (world points -> canvas pixels).
    """

    def __init__(self, parent: QWidget | None = None, lod_points: int = 30000, rest_ms: int = 300,
                 still_points: int | None = 1_000_000) -> None:
        self._closed = False
        self._held = False
        #: Called with canvas (x, y) logical px on a left click (press and release in place).
        self.on_click: Callable[[float, float], None] | None = None
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=BACKGROUND, show=False)
        self.canvas.unfreeze()
        native = self.canvas.native
        native.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        native.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.display = _Display(self, parent)
        self._dirty = True
        self._image: QImage | None = None
        self.canvas._backend._vispy_update = self._request  # redraws go to the display
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.cameras.TurntableCamera(fov=45.0, elevation=35.0, azimuth=-90.0, distance=55.0)
        self.points = PointCloud(parent=self.view.scene)
        self.lines = scene.visuals.Line(connect="segments", width=2.0, parent=self.view.scene, antialias=False)
        self.dashed = scene.visuals.Line(connect="segments", width=1.0, parent=self.view.scene, antialias=False)
        self.tracked = scene.visuals.Line(connect="segments", width=1.5, parent=self.view.scene, antialias=False)
        self.selected = scene.visuals.Line(connect="segments", width=3.0, parent=self.view.scene, antialias=False)
        self.text = scene.visuals.Text("", color="white", font_size=9, parent=self.view.scene, anchor_x="left")
        for v in (self.lines, self.dashed, self.tracked, self.selected):
            v.set_gl_state("translucent", depth_test=False)
        self.text.set_gl_state("translucent", depth_test=False)
        self.lod_points = int(lod_points)
        #: Budget of a cloud with a level of detail at rest (None: every point). Software GL holds
        #: about 60 bytes per uploaded point (measured with llvmpipe), 4x the point's raw data: 1M
        #: points cost some 60 MB, and more than a 900x600 view has pixels.
        self.still_points = still_points
        self.lod_enabled = True
        self._cloud: ShownCloud | None = None
        self._still_stale = False
        self._lod_index: tuple[int, NDArray[np.int64]] | None = None
        self._texts: list[str] = []
        self._pending_points: tuple[NDArray[np.floating], NDArray[np.floating]] | ShownCloud | None = None
        self._pending_boxes: Sequence[BoxGlyph] | None = None
        self._box_segments = Segments3D()
        #: More annotation layers drawn in 3D (their ``segments_3d``), over the boxes' segments.
        self.layers = LayerList()
        self._layers_dirty = False
        for ev in ("inserted", "removed", "moved", "changed"):
            self.layers.events[ev].connect(self._on_layers)
        self._rest = QTimer(self.canvas.native)  # dies with the widget
        self._rest.setSingleShot(True)
        self._rest.setInterval(int(rest_ms))
        self._rest.timeout.connect(self._at_rest)
        self.canvas.events.mouse_press.connect(self._on_mouse)
        self.canvas.events.mouse_move.connect(self._on_mouse_move)
        self.canvas.events.mouse_wheel.connect(self._on_mouse)
        self.canvas.freeze()

    # ---- widget ---------------------------------------------------------------------------------
    @property
    def widget(self) -> QWidget:
        """The widget shown in the window (the rendered image; it forwards mouse events)."""
        return self.display

    def _request(self) -> None:
        """vispy asks for a redraw: render when the display next paints."""
        self._dirty = True
        if not self._closed and not self._held:  # held: the release repaints
            self.display.update()

    def _sync(self) -> bool:
        """Show the hidden canvas (once) at the display's size; False while it has no GL context."""
        native = self.canvas.native
        if self._closed:
            return False
        if not native.isVisible():
            native.resize(self.display.size())
            native.show()
        if native.size() != self.display.size():
            native.resize(self.display.size())
            self._dirty = True
        return bool(native.isValid())

    def _frame(self) -> QImage | None:
        """The current image of the scene (rendered now when something changed)."""
        if not self._sync():
            if not self._closed:
                QTimer.singleShot(20, self.display.update)  # the GL context is being created
            return self._image
        if self._dirty or self._image is None:
            self._store(self._render_now())
        return self._image

    def _render_now(self) -> NDArray[np.uint8]:
        # like SceneCanvas.on_draw: a draw is handled, so further updates must be scheduled again
        # (canvas.render() alone leaves vispy's "update pending" flag set and no redraw is requested)
        self.canvas._update_pending = False
        return self.canvas.render()

    def _store(self, rgba: NDArray[np.uint8]) -> None:
        h, w = rgba.shape[:2]
        buf = np.ascontiguousarray(rgba)
        img = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).convertToFormat(QImage.Format.Format_RGB32)
        img.setDevicePixelRatio(w / max(self.display.width(), 1))
        self._image = img
        self._dirty = False

    # ---- data -----------------------------------------------------------------------------------
    def set_points(self, pts_world: NDArray[np.floating], rgb: NDArray[np.floating]) -> None:
        """(N, 3) world points (m) and (N, 3) RGB in [0, 1]. The decimated subset for level of
        detail is ``lod_points`` points spread evenly over a fixed shuffle."""
        if self._held:
            self._pending_points = (pts_world, rgb)
            return
        self._cloud, self._still_stale = None, False
        n = len(pts_world)
        color = np.ones((n, 4), np.float32)
        color[:, :3] = rgb
        if self._lod_index is not None and self._lod_index[0] == n:
            lod = self._lod_index[1]
        elif n > self.lod_points:
            rng = np.random.default_rng(0)
            lod = np.sort(rng.choice(n, self.lod_points, replace=False))
        else:
            lod = np.arange(n)
        self._lod_index = (n, lod)
        self.points.set_data(pts_world, color, lod)

    def set_cloud(self, cloud: ShownCloud) -> None:
        """Draw ``cloud`` (world points with their level of detail) within the budgets: its
        ``lod_points`` prefix now (the first picture, and while moving), its ``still_points``
        at rest."""
        if self._held:
            self._pending_points = cloud
            return
        self._cloud = cloud
        pts, inten = cloud.take(self.lod_points)
        rgba = cloud.rgba(pts, inten)
        self.points.set_decimated(pts, rgba)
        if cloud.count(self.still_points) <= len(pts):
            self.points.set_full(pts, rgba)
            self._still_stale = False
        elif not self.lod_enabled:
            self._still_stale = True
            self._upload_still()
        else:  # the first picture from the prefix; the rest follows at rest
            self._still_stale = True
            self.points.set_lod(True)
            self._rest.start()

    def _upload_still(self) -> None:
        if self._cloud is not None and self._still_stale:
            pts, inten = self._cloud.take(self.still_points)
            self.points.set_full(pts, self._cloud.rgba(pts, inten))
        self._still_stale = False

    def settle(self) -> None:
        """Come to rest now (as ``rest_ms`` after the last interaction): apply deferred data,
        upload the still budget and draw it."""
        self._rest.stop()
        self._at_rest()

    @property
    def drawn_points(self) -> int:
        """Points drawn by the next render."""
        return self.points.count

    def set_boxes(self, boxes: Sequence[BoxGlyph]) -> None:
        """Replace the drawn boxes (a thin adapter: their segments, ``glyph_segments``)."""
        if self._held:
            self._pending_boxes = boxes
            return
        self._box_segments = glyph_segments(boxes)
        self._upload()

    def _on_layers(self, *_: object) -> None:
        if self._held:  # the release uploads
            self._layers_dirty = True
            return
        self._upload()

    def _upload(self) -> None:
        """Send the boxes' and the layers' segments to the line visuals."""
        self._layers_dirty = False
        seg = Segments3D.merge([self._box_segments, self.layers.segments_3d()])
        for key, visual in (("key", self.lines), ("dash", self.dashed), ("track", self.tracked),
                            ("sel", self.selected)):
            if key in seg.groups:
                pos, col = seg.groups[key]
                visual.set_data(pos=pos, color=col)
                visual.visible = True
            else:
                visual.visible = False
        texts = list(seg.texts)
        if texts:
            if texts != self._texts:  # the glyph buffers are rebuilt only when the strings change
                self.text.text = texts
                self._texts = texts
            self.text.pos = seg.text_pos
            self.text.visible = True
        else:
            self.text.visible = False
        self.canvas.update()

    def look_at(self, center: Sequence[float], yaw: float | None = None, distance: float | None = None) -> None:
        """Put the turntable's centre at ``center`` (world m); with ``yaw`` (rad) look along it."""
        cam = self.view.camera
        cam.center = tuple(float(v) for v in center)
        if yaw is not None:
            cam.azimuth = math.degrees(yaw) - 90.0
        if distance is not None:
            cam.distance = float(distance)
        self.canvas.update()

    # ---- deferred updates -----------------------------------------------------------------------
    def hold(self) -> None:
        """Defer new points and boxes and the repaint (the view keeps showing the last drawn state)
        until :meth:`release` or rest (``rest_ms`` after the last :meth:`interacted`)."""
        if not self._held and not self._closed:
            self._held = True
            self.display.setUpdatesEnabled(False)

    @property
    def held(self) -> bool:
        return self._held

    def _apply_pending(self) -> None:
        held, self._held = self._held, False
        try:
            if isinstance(self._pending_points, tuple):
                self.set_points(*self._pending_points)
            elif self._pending_points is not None:
                self.set_cloud(self._pending_points)
            if self._pending_boxes is not None:
                self.set_boxes(self._pending_boxes)
            elif self._layers_dirty:
                self._upload()
        finally:
            self._pending_points = self._pending_boxes = None
            self._held = held

    def release(self) -> None:
        """Apply the deferred points and boxes and repaint."""
        if not self._held:
            return
        self._apply_pending()
        self._held = False
        if not self._closed:
            self.display.setUpdatesEnabled(True)
            self.canvas.update()

    # ---- level of detail ------------------------------------------------------------------------
    def interacted(self) -> None:
        """The camera moves: draw the decimated cloud until ``rest_ms`` after the last call."""
        if self.lod_enabled:
            self.points.set_lod(True)
        self._rest.start()

    @property
    def lod_active(self) -> bool:
        return self.points.lod

    def _at_rest(self) -> None:
        if self._closed:
            return
        self.release()
        self._upload_still()
        self.points.set_lod(False)
        self.canvas.update()
        request_idle_trim()  # the moving picture's temporaries back to the system (gui.memory)

    def _on_mouse(self, event) -> None:  # type: ignore[no-untyped-def]
        self.interacted()

    def _on_mouse_move(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.is_dragging:
            self.interacted()

    # ---- output ---------------------------------------------------------------------------------
    def render(self) -> NDArray[np.uint8]:
        """Draw now (with any deferred data) and return the canvas pixels (H, W, 4) uint8 RGBA."""
        self._apply_pending()
        if not self._sync() and not self._closed:
            for _ in range(50):
                QApplication.processEvents()
                if self.canvas.native.isValid():
                    break
        rgba = self._render_now()
        if not self._closed:
            self._store(rgba)
        return rgba

    def ray_at(self, x: float, y: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The viewing ray through canvas pixel (x, y) (logical px, x right, y down): its origin
        (3,) at the near plane (about the eye) and unit direction (3,), world frame (m)."""
        tr = self.view.scene.node_transform(self.canvas.scene)
        h = np.asarray(tr.imap(np.array([[x, y, -1.0, 1.0], [x, y, 0.0, 1.0]])), dtype=np.float64)
        p = h[:, :3] / h[:, 3:4]
        d = p[1] - p[0]
        return p[0], d / np.linalg.norm(d)

    def to_canvas(self, pts_world: NDArray[np.floating]) -> NDArray[np.float64]:
        """(N, 3) world points -> (N, 2) canvas pixels (x right, y down, logical pixels)."""
        tr = self.view.scene.node_transform(self.canvas.scene)
        p = np.asarray(tr.map(np.asarray(pts_world, dtype=np.float64)))
        return p[:, :2] / p[:, 3:4]

    def close(self) -> None:
        """Stop the level-of-detail timer and close the canvas (once)."""
        self._pending_points = self._pending_boxes = None
        if self._closed:
            return
        self._closed = True
        self.lod_enabled = False
        try:
            self._rest.stop()
        except RuntimeError:  # already deleted with its widget
            pass
        try:
            native = self.canvas.native
            self.canvas.close()
            native.deleteLater()
        except RuntimeError:  # the C++ widget is gone already (application teardown)
            pass


class _Display(QWidget):
    """Shows the 3D view's latest rendering; mouse and wheel events go on to the hidden canvas."""

    #: A press and release of the left button closer than this (px) is a click, not an orbit.
    CLICK_SLOP_PX = 4.0

    def __init__(self, view: View3D, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._view = view
        self._press: QPointF | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setMouseTracking(True)
        self.setMinimumSize(50, 50)
        self.destroyed.connect(view.close)  # the hidden canvas goes with the window

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        img = self._view._frame()
        p = QPainter(self)
        if img is None:
            p.fillRect(self.rect(), Qt.GlobalColor.black)
        else:
            p.drawImage(0, 0, img)
        p.end()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        self._view._dirty = True
        super().resizeEvent(event)

    def event(self, e: QEvent) -> bool:  # type: ignore[override]
        if e.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease) and \
                e.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            pos = e.position()  # type: ignore[attr-defined]
            if e.type() == QEvent.Type.MouseButtonPress:
                self._press = QPointF(pos)
            elif self._press is not None:
                d = pos - self._press
                self._press = None
                if abs(d.x()) + abs(d.y()) <= self.CLICK_SLOP_PX and self._view.on_click is not None:
                    self._view.on_click(float(pos.x()), float(pos.y()))
        if e.type() in _FORWARDED and not self._view._closed:
            QApplication.sendEvent(self._view.canvas.native, e)
            return True
        return super().event(e)


_FORWARDED = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove,
              QEvent.Type.MouseButtonDblClick, QEvent.Type.Wheel}
