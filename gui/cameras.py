"""Camera panels: every camera image of the frame with all boxes projected through the calibration.

A panel paints what its annotation layers give it (``gui.model.layers``, Qt-free): the boxes
(a ``CuboidLayer``: projected through the calibration with near-plane clipping and lens
distortion, in the class colour; the front face thicker, interpolated and held boxes dashed,
boxes found by auto-tracking dash-dotted and as opaque as their confidence, the selected box
white and thicker), the machine proposals (dotted) and the drag preview, plus any layer added to
:attr:`CameraPanel.layers` (map polylines...). ``set_boxes`` / ``set_proposals`` /
``set_preview`` / ``set_selected`` are thin adapters that fill those layers. A toggle overlays
the LiDAR points coloured by depth (``CameraModel.project``; the nearest point of each pixel on
top); given a ``gui.model.cloud.ShownCloud`` instead of an array, the overlay projects the prefix
of its level of detail: ``draft_points`` in draft mode, ``still_points`` (None: all) at rest.
Clicking inside a projected box
emits ``box_clicked(track_id)`` (the nearest box wins when several contain the click).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PyQt6.QtWidgets import QGridLayout, QWidget

from calib.camera import CameraModel
from calib.projection import clip_polyline
from fusionlabel.timing import CaptureTiming
from gui.colors import PROPOSAL_COLOR, depth_colors_u8
from gui.frames import transform_f32
from gui.model.camproj import (  # noqa: F401  (re-exported: the panel's projection, Qt-free)
    FAST_SAMPLES,
    FRONT_LOOP,
    REST_DASHED,
    REST_TRAIL,
    BoxProjection,
    CameraView,
    LineGroup,
    chain_index,
    in_view_cone,
    project_boxes,
    project_boxes_whole,
    view_cone,
)
from gui.model.cloud import ShownCloud
from gui.model.layers import Cuboid, CuboidLayer, CuboidLike, LayerList
from gui.ortho import qpolygon

F64 = NDArray[np.float64]

#: Preferred tiling order of the usual 6-camera ring (others follow in rig order).
RING_ORDER = ("cam_front_left", "cam_front", "cam_front_right", "cam_back_left", "cam_back", "cam_back_right")


@dataclass(frozen=True)
class CameraBox:
    """A box to draw in the cameras: ``corners`` (8, 3) world metres, ``label``, ``keyframe``;
    ``state`` (``fusionlabel.model.BOX_STATES``; empty: from ``keyframe``, set at construction)
    and the tracking ``confidence`` of a tracked box. Also a layer item
    (``gui.model.layers.CuboidLike``: ``id`` is the track id; no ``text``, no ``box``)."""

    track_id: int
    label: str
    corners: F64
    keyframe: bool = True
    state: str = ""
    confidence: float | None = None

    @property
    def pattern(self) -> str:
        """Line pattern: ``""`` solid (keyframe), ``"dash"`` (interpolated, held), ``"dashdot"``
        (tracked)."""
        if self.state == "tracked":
            return "dashdot"
        return "" if (self.keyframe if not self.state else self.state == "keyframe") else "dash"

    text = None
    box = None

    def __post_init__(self) -> None:
        if not self.state:
            object.__setattr__(self, "state", "keyframe" if self.keyframe else "interpolated")

    @property
    def id(self) -> int:
        return self.track_id


#: Qt pen styles of the drawing data's line patterns (``gui.model.camproj.PATTERNS``).
PEN_STYLES = {"": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine, "dashdot": Qt.PenStyle.DashDotLine,
              "dot": Qt.PenStyle.DotLine}


class CameraPanel(QWidget):
    """One camera: the image scaled to fit (aspect kept) and the layers' drawing on top.

    :attr:`layers` holds, bottom first, ``"boxes"`` (the document's boxes), ``"proposals"`` and
    ``"preview"``; more layers may be inserted (their ``camera_lines`` are painted in order)."""

    box_clicked = pyqtSignal(int)
    #: Antialiased box lines (nicer; costs some time per repaint with the software rasteriser).
    antialias = True
    #: Extra painting on top of the boxes: ``overlay(panel, painter)`` (the review marks).
    overlay: Callable[[CameraPanel, QPainter], None] | None = None

    def __init__(self, name: str, camera: CameraModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name, self.camera = name, camera
        self.setMinimumSize(120, 80)
        self._image: NDArray[np.uint8] | None = None
        self._qimage: QImage | None = None
        self._composite: NDArray[np.uint8] | None = None
        self._T_cam_from_world = np.eye(4)
        #: the image's capture time (``fusionlabel.timing.CaptureTiming``): boxes drawn there
        self.timing: CaptureTiming | None = None
        self._boxes: list[CuboidLike] = []
        self._proj = BoxProjection.empty()
        self.selected: int | None = None
        self.show_points = False
        self._pts_world: NDArray[np.float32] | ShownCloud | None = None
        #: Point budgets of the overlay of a cloud: in draft mode, at rest (None: every point).
        self.draft_points = 100_000
        self.still_points: int | None = 2_000_000
        #: Points projected by the last overlay (tests, benchmarks).
        self.overlay_count = 0
        #: ``overlay_colors(n)`` -> (n, 3) uint8 colours of the overlay's points (e.g. by point
        #: label, gui.model.pointlabels), or None for colours by depth
        self.overlay_colors: Callable[[int], NDArray[np.uint8] | None] | None = None
        self._scaled: tuple[tuple[int, int], QImage] | None = None
        self._polys: tuple[tuple[int, int, int | None, bool], list] | None = None
        #: Draft quality (nearest-neighbour image scaling, 1 px lines without antialiasing) while
        #: frames change quickly; :meth:`set_draft` (False) repaints in full quality.
        self.draft = False
        self.box_layer = CuboidLayer("boxes")
        #: Machine proposals (pre-labels), not human boxes: drawn dotted (the one under review,
        #: the layer's selection, thicker); not clickable.
        self.proposal_layer = CuboidLayer("proposals", "proposal")
        self.preview_layer = CuboidLayer("preview", "preview")
        self.layers = LayerList([self.box_layer, self.proposal_layer, self.preview_layer])
        self._lines: dict[int, list[LineGroup]] = {}  # camera lines of the other layers, by id(layer)
        for ev in ("inserted", "removed", "moved"):
            self.layers.events[ev].connect(lambda *_: self._invalidate())
        self.layers.events.changed.connect(self._on_layer_changed)

    @property
    def proposal_color(self) -> tuple[int, int, int]:
        return PROPOSAL_COLOR

    # ---- layers ---------------------------------------------------------------------------------
    def camera_view(self) -> CameraView:
        """This panel as the layers see it (camera, pose of the frame shown, draft)."""
        return CameraView(self.name, self.camera, self._T_cam_from_world, self.draft, self.timing)

    def _invalidate(self) -> None:
        self._lines.clear()
        self._polys = None

    def _on_layer_changed(self, layer: object, what: str) -> None:
        if layer is self.box_layer:
            if what == "data":
                self._proj = self.box_layer.camera_projection(self.camera_view())
            self._polys = None
        else:
            self._lines.pop(id(layer), None)

    # ---- data -----------------------------------------------------------------------------------
    def set_frame(
        self,
        image: NDArray[np.uint8] | None,
        T_cam_from_world: F64,
        boxes: Sequence[CameraBox],
        pts_world: NDArray[np.float32] | ShownCloud | None = None,
        camera: CameraModel | None = None,
        timing: CaptureTiming | None = None,
    ) -> None:
        """Image (H, W, 3) uint8 RGB (None: no image this frame), the pose ``T_cam_from_world``,
        the boxes, the world points (for the LiDAR overlay: (N, 3) float32, or a cloud with its
        level of detail) and, when the calibration changes per frame, this frame's camera model.
        ``timing``: the image's capture time, with ``T_cam_from_world`` the pose at that time
        (``gui.session.Session.camera_pose``): the tracks' boxes are drawn where they are then
        (None: at the frame time)."""
        if camera is not None and camera is not self.camera:
            self.camera = camera
            self._scaled = None
        self._image = image
        self._T_cam_from_world = np.asarray(T_cam_from_world, dtype=np.float64)
        self.timing = timing
        self._pts_world = pts_world
        self._invalidate()
        self.set_boxes(boxes, update=False)
        self._compose()
        self.update()

    def set_boxes(self, boxes: Sequence[CuboidLike], update: bool = True) -> None:
        """The document's boxes (the ``"boxes"`` layer's data; projected at once)."""
        self._boxes = list(boxes)
        self.box_layer.set_data(self._boxes)
        if update:
            self.update()

    @property
    def _whole(self) -> NDArray[np.int64]:
        """Indices of the boxes drawn whole (unclipped; the painter clips)."""
        return self._proj.whole

    def view_cone(self) -> float:
        """Half-angle (rad) of a cone around the optical axis that contains every pixel's ray."""
        return view_cone(self.camera)

    def _in_view_cone(self, corners_cam: F64) -> NDArray[np.bool_]:
        return in_view_cone(corners_cam, self.camera)

    def set_draft(self, on: bool) -> None:
        """Draft (fast) or full quality drawing."""
        if on != self.draft:
            self.draft = on
            self._scaled = None
            self._lines.clear()
            cloud = self._pts_world
            if self.show_points and isinstance(cloud, ShownCloud) and \
                    cloud.count(self.draft_points) < cloud.count(self.still_points):
                self._compose()
            self.update()

    def set_preview(self, corners_world: F64 | None, track_id: int | None = None) -> None:
        """The box of a drag in progress ((8, 3) world corners), drawn white on top; None: none.
        ``track_id``: the track whose box is dragged (drawn at the image's capture time as the
        track's box is; None: a new box)."""
        had = bool(self.preview_layer.data)
        items = [] if corners_world is None else [Cuboid(track_id, "", np.asarray(corners_world, dtype=np.float64))]
        if items or had:
            self.preview_layer.set_data(items)
            self.update()

    def set_proposals(self, items: Sequence[tuple[int, F64, bool]], update: bool = True) -> None:
        """Proposals to draw: ``(proposal id, (8, 3) world corners, is the one under review)``."""
        if not items and not self.proposal_layer.data:
            return
        with self.layers.events.blocker("changed"):
            self.proposal_layer.selected = {int(pid) for pid, _, cur in items if cur}
        self.proposal_layer.set_data(Cuboid(int(pid), "", np.asarray(c, dtype=np.float64), "interpolated")
                                     for pid, c, _ in items)
        if update:
            self.update()

    @property
    def _preview_edges(self) -> list[tuple[int, F64]]:
        """``(edge index, (M, 2) px)`` pieces of the drag preview, clipped to the image."""
        return [(e, poly) for _, e, poly in self.preview_layer.camera_pieces(self.camera_view())]

    @property
    def _proposals(self) -> list[tuple[int, bool, F64]]:
        """``(proposal id, is the one under review, (M, 2) px)`` pieces clipped to the image."""
        sel = self.proposal_layer.selected
        return [(pid, pid in sel, poly) for pid, _, poly in self.proposal_layer.camera_pieces(self.camera_view())]

    def proposal_edges(self, proposal_id: int) -> list[F64]:
        """Projected edge pieces ((M, 2) image px, clipped to the image) of a proposal."""
        return [poly for pid, _, poly in self.proposal_layer.camera_pieces(self.camera_view()) if pid == proposal_id]

    def set_selected(self, track_id: int | None) -> None:
        """Draw this track's box as the selected one (None: none)."""
        self.selected = track_id
        self.box_layer.selected = () if track_id is None else (track_id,)
        self.update()

    def set_show_points(self, on: bool) -> None:
        """Overlay the LiDAR points coloured by depth."""
        self.show_points = on
        self._compose()
        self.update()

    def edges_of(self, track_id: int) -> list[tuple[int, F64]]:
        """Projected edge pieces (edge index, (M, 2) image px) of a track's box in this camera,
        clipped to the image."""
        rect = self.camera.image_rect()
        proj = self._proj
        out = [(e, piece) for n, i in enumerate(proj.whole) if self._boxes[i].id == track_id
               for e in range(12) for piece in clip_polyline(proj.whole_uv[n, e], rect)]
        return out + [(e, poly) for i, e, poly in proj.pieces if self._boxes[i].id == track_id]

    def _compose(self) -> None:
        """The displayed image: the camera image, with the depth-coloured points when enabled."""
        if self._image is None:
            self._qimage = None
            return
        img = self._image
        pts = self._pts_world
        if isinstance(pts, ShownCloud):
            pts = pts.take(self.draft_points if self.draft else self.still_points)[0]
        self.overlay_count = 0
        if self.show_points and pts is not None and len(pts):
            self.overlay_count = len(pts)
            img = img.copy()
            pts_cam = transform_f32(self._T_cam_from_world, pts)
            front = pts_cam[:, 2] > 0.5
            uv, depth, valid = self.camera.project(pts_cam[front])
            uv, depth = uv[valid], depth[valid].astype(np.float32)
            u = np.rint(uv[:, 0]).astype(np.int64)
            v = np.rint(uv[:, 1]).astype(np.int64)
            given = None  # colours per point (by label), for an array overlay (not a cloud's budget)
            if self.overlay_colors is not None and pts is self._pts_world:
                given = self.overlay_colors(len(pts))
                if given is not None and len(given) != len(pts):
                    given = None
            h, w = img.shape[:2]
            near = np.full(h * w, np.inf, np.float32)  # depth buffer: the nearest point on top
            for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
                uu, vv = u + du, v + dv
                k = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
                np.minimum.at(near, vv[k] * w + uu[k], depth[k])
            hit = np.flatnonzero(near < np.inf)
            if given is None:
                img.reshape(-1, 3)[hit] = depth_colors_u8(near[hit])
            else:  # each pixel in the colour of its nearest point
                rgb = np.asarray(given)[front][valid]
                flat = img.reshape(-1, 3)
                for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
                    uu, vv = u + du, v + dv
                    k = np.flatnonzero((uu >= 0) & (uu < w) & (vv >= 0) & (vv < h))
                    pix = vv[k] * w + uu[k]
                    top = k[depth[k] <= near[pix]]
                    flat[vv[top] * w + uu[top]] = rgb[top]
        self._composite = np.ascontiguousarray(img)
        h, w = self._composite.shape[:2]
        # the screen's 32-bit format: scaling and drawing need no per-paint conversion (a deep copy)
        rgb = QImage(self._composite.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self._qimage = rgb.convertToFormat(QImage.Format.Format_RGB32)
        self._scaled = None

    # ---- geometry -------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is drawn in the widget (aspect kept, centred)."""
        W, H = self.camera.width, self.camera.height
        s = min(self.width() / W, self.height() / H)
        w, h = W * s, H * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def image_to_widget(self, uv: NDArray[np.floating]) -> F64:
        """(N, 2) image px (pixel centres at integers) -> (N, 2) widget px."""
        r = self.image_rect()
        s = r.width() / self.camera.width
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        return np.column_stack([r.x() + (uv[:, 0] + 0.5) * s, r.y() + (uv[:, 1] + 0.5) * s])

    def widget_to_image(self, xy: NDArray[np.floating]) -> F64:
        """(N, 2) widget px -> (N, 2) image px (pixel centres at integers)."""
        r = self.image_rect()
        s = r.width() / self.camera.width
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return np.column_stack([(xy[:, 0] - r.x()) / s - 0.5, (xy[:, 1] - r.y()) / s - 0.5])

    # ---- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(10, 10, 12))
        r = self.image_rect()
        if self._qimage is not None:
            size = (max(int(round(r.width())), 1), max(int(round(r.height())), 1))
            if self._scaled is None or self._scaled[0] != size:
                fast, smooth = Qt.TransformationMode.FastTransformation, Qt.TransformationMode.SmoothTransformation
                mode = fast if self.draft else smooth
                scaled = self._qimage.scaled(*size, Qt.AspectRatioMode.IgnoreAspectRatio, mode)
                self._scaled = (size, scaled)
            p.drawImage(QPointF(r.x(), r.y()), self._scaled[1])
        else:
            p.setPen(QColor(150, 150, 150))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "no image")
        p.setRenderHint(QPainter.RenderHint.Antialiasing, self.antialias and not self.draft)
        p.save()
        p.setClipRect(r)  # edges of boxes drawn whole are not clipped to the image
        for layer in self.layers.visible():
            if layer is self.box_layer:
                key = (self.width(), self.height(), self.selected, self.draft)
                if self._polys is None or self._polys[0] != key:
                    groups = self.box_layer.camera_lines(self.camera_view(), self._proj)
                    self._polys = (key, [(g, self._widget_polys(g.lines)) for g in groups])
                drawn = self._polys[1]
            else:
                if id(layer) not in self._lines:
                    self._lines[id(layer)] = layer.camera_lines(self.camera_view())
                drawn = [(g, [qpolygon(self.image_to_widget(q)) for q in g.lines]) for g in self._lines[id(layer)]]
            for group, polys in drawn:
                pen = QPen(QColor(*group.color))
                pen.setWidthF(group.width)
                if group.pattern:
                    pen.setStyle(PEN_STYLES[group.pattern])
                p.setPen(pen)
                for poly in polys:
                    p.drawPolyline(poly)
        p.restore()
        if self.overlay is not None:
            self.overlay(self, p)
        p.setPen(QColor(235, 235, 235))
        p.fillRect(QRectF(r.x(), r.y(), 8 + 7 * len(self.name), 18), QColor(0, 0, 0, 140))
        p.drawText(QPointF(r.x() + 4, r.y() + 13), self.name)
        p.end()

    def _widget_polys(self, lines: Sequence[F64]) -> list:
        """Image-px polylines -> QPolygonF in widget px, converted in one piece and sliced."""
        if not lines:
            return []
        big = qpolygon(self.image_to_widget(np.concatenate(lines)))
        starts = np.cumsum([0] + [len(q) for q in lines[:-1]])
        return [big.mid(int(a), len(q)) for a, q in zip(starts, lines, strict=True)]

    # ---- clicks ---------------------------------------------------------------------------------
    def box_at(self, uv: Sequence[float]) -> int | None:
        """Track id of the nearest box whose projected outline contains image point ``uv``
        (the boxes layer's picking: :func:`fusionlabel.tools.select.pick_camera_boxes`)."""
        ids = self.box_layer.pick_camera(self.camera_view(), uv)
        return int(ids[0]) if ids else None  # type: ignore[call-overload]

    def mousePressEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if e.button() != Qt.MouseButton.LeftButton:
            return
        uv = self.widget_to_image(np.array([[e.position().x(), e.position().y()]]))[0]
        tid = self.box_at(uv)
        if tid is not None:
            self.box_clicked.emit(tid)


def tile_order(names: Sequence[str]) -> list[str]:
    """Camera names in display order: the usual ring first (front row, back row; names compared
    case-insensitively, so nuScenes' ``CAM_FRONT`` counts), then the rest."""
    by_lower = {n.lower(): n for n in names}
    ring = [by_lower[r] for r in RING_ORDER if r in by_lower]
    return ring + [n for n in names if n not in ring]


class CameraGrid(QWidget):
    """All camera panels tiled in a grid (1 column for 1 camera, 2 for up to 4, 3 for up to 9...)."""

    box_clicked = pyqtSignal(int)

    def __init__(self, cameras: dict[str, CameraModel], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels: dict[str, CameraPanel] = {}
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        names = tile_order(list(cameras))
        n = len(names)
        cols = 1 if n <= 1 else 2 if n <= 4 else 3 if n <= 9 else math.ceil(math.sqrt(n))
        for k, name in enumerate(names):
            panel = CameraPanel(name, cameras[name], self)
            panel.box_clicked.connect(self.box_clicked)
            layout.addWidget(panel, k // cols, k % cols)
            self.panels[name] = panel
        self.columns = cols
