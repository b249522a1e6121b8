"""Camera panels: every camera image of the frame with all boxes projected through the calibration.

Boxes are projected with :func:`calib.projection.project_box_edges` (near-plane clipped, lens
distortion sampled, clipped to the image), in the class colour; the front face is drawn thicker,
interpolated and held boxes dashed, boxes found by auto-tracking dash-dotted and as opaque as
their confidence, the selected box white and thicker. A toggle overlays the LiDAR points
coloured by depth (``CameraModel.project``). Clicking inside a projected box emits
``box_clicked(track_id)`` (the nearest box wins when several contain the click).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PyQt6.QtWidgets import QGridLayout, QWidget

from calib.camera import CameraModel
from calib.projection import BOX_EDGES, FRONT_FACE_EDGES, clip_polyline, project_boxes_edges
from fusionlabel.tools.select import pick_camera_boxes
from gui.colors import PROPOSAL_COLOR, SELECTED_COLOR, class_color, depth_colors_u8, tracked_opacity
from gui.frames import transform_f32
from gui.ortho import qpolygon

F64 = NDArray[np.float64]

#: Preferred tiling order of the usual 6-camera ring (others follow in rig order).
RING_ORDER = ("cam_front_left", "cam_front", "cam_front_right", "cam_back_left", "cam_back", "cam_back_right")


@dataclass(frozen=True)
class CameraBox:
    """A box to draw in the cameras: ``corners`` (8, 3) world metres, ``label``, ``keyframe``;
    ``state`` (``fusionlabel.model.BOX_STATES``; empty: from ``keyframe``) and the tracking
    ``confidence`` of a tracked box."""

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


class CameraPanel(QWidget):
    """One camera: the image scaled to fit (aspect kept) and the projected boxes on top."""

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
        self._boxes: list[CameraBox] = []
        self._edges: list[tuple[int, int, F64]] = []  # (box index, edge index, (M, 2) image px)
        self._whole = np.zeros(0, np.int64)  # boxes drawn whole (unclipped): their indices (W,)
        self._whole_uv = np.zeros((0, 12, 2, 2))  # and their edge samples (W, 12, k, 2) image px
        self.selected: int | None = None
        self.show_points = False
        self._pts_world: NDArray[np.float32] | None = None
        self._cone: float | None = None
        self._scaled: tuple[tuple[int, int], QImage] | None = None
        self._polys: tuple[tuple[int, int, int | None], list] | None = None
        #: Draft quality (nearest-neighbour image scaling, 1 px lines without antialiasing) while
        #: frames change quickly; :meth:`set_draft` (False) repaints in full quality.
        self.draft = False
        self._preview_edges: list[tuple[int, F64]] = []
        #: Machine proposals (pre-labels), not human boxes: ``(proposal id, current, (M, 2) px)``
        #: pieces, drawn dotted in ``proposal_color`` (the one under review thicker); not clickable.
        self._proposals: list[tuple[int, bool, F64]] = []
        self.proposal_color: tuple[int, int, int] = PROPOSAL_COLOR

    # ---- data -----------------------------------------------------------------------------------
    def set_frame(
        self,
        image: NDArray[np.uint8] | None,
        T_cam_from_world: F64,
        boxes: Sequence[CameraBox],
        pts_world: NDArray[np.float32] | None = None,
        camera: CameraModel | None = None,
    ) -> None:
        """Image (H, W, 3) uint8 RGB (None: no image this frame), the pose ``T_cam_from_world``,
        the boxes, the world points (for the LiDAR overlay) and, when the calibration changes per
        frame, this frame's camera model."""
        if camera is not None and camera is not self.camera:
            self.camera = camera
            self._cone = None
            self._scaled = None
        self._image = image
        self._T_cam_from_world = np.asarray(T_cam_from_world, dtype=np.float64)
        self._pts_world = pts_world
        self.set_boxes(boxes, update=False)
        self._compose()
        self.update()

    def set_boxes(self, boxes: Sequence[CameraBox], update: bool = True) -> None:
        """Project the boxes' edges (boxes wholly outside the view cone are skipped first)."""
        self._boxes = list(boxes)
        T = self._T_cam_from_world
        self._polys = None
        if not self._boxes:
            self._edges, self._whole, self._whole_uv = [], np.zeros(0, np.int64), np.zeros((0, 12, 2, 2))
            return
        corners_cam = np.stack([b.corners for b in self._boxes]) @ T[:3, :3].T + T[:3, 3]  # (B, 8, 3)
        visible = np.flatnonzero(self._in_view_cone(corners_cam))
        # unclipped where a box is wholly in front: the painter clips to the image (cheaper)
        self._edges, self._whole, self._whole_uv = project_boxes_whole(
            corners_cam[visible], self.camera, visible, clip=False)
        self._polys = None
        if update:
            self.update()

    def view_cone(self) -> float:
        """Half-angle (rad) of a cone around the optical axis that contains every pixel's ray."""
        if self._cone is None:
            u0, v0, u1, v1 = self.camera.image_rect()
            n = 33
            us, vs = np.linspace(u0, u1, n), np.linspace(v0, v1, n)
            border = np.concatenate([
                np.stack([us, np.full(n, v0)], 1), np.stack([us, np.full(n, v1)], 1),
                np.stack([np.full(n, u0), vs], 1), np.stack([np.full(n, u1), vs], 1),
            ])
            rays = self.camera.rays(border)
            if np.isfinite(rays).all():
                self._cone = float(np.arctan(np.hypot(rays[:, 0], rays[:, 1]).max()))
            else:
                self._cone = float(self.camera.max_angle)
        return self._cone

    def _in_view_cone(self, corners_cam: F64) -> NDArray[np.bool_]:
        """(B,) conservative visibility of boxes (B, 8, 3) camera frame: the bounding sphere
        touches the view cone and some corner is in front of the camera."""
        centre = corners_cam.mean(axis=1)
        radius = np.linalg.norm(corners_cam - centre[:, None], axis=2).max(axis=1)
        dist = np.linalg.norm(centre, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            angle = np.arccos(np.clip(centre[:, 2] / dist, -1.0, 1.0))
            slack = np.arcsin(np.clip(radius / dist, 0.0, 1.0))
        inside = dist <= radius
        front = corners_cam[:, :, 2].max(axis=1) > 0.1
        return front & (inside | (angle - slack <= self.view_cone() + 0.02))

    def set_draft(self, on: bool) -> None:
        """Draft (fast) or full quality drawing."""
        if on != self.draft:
            self.draft = on
            self._scaled = None
            self.update()

    def set_preview(self, corners_world: F64 | None) -> None:
        """The box of a drag in progress ((8, 3) world corners), drawn white on top; None: none."""
        if corners_world is None:
            edges: list[tuple[int, F64]] = []
        else:
            T = self._T_cam_from_world
            corners_cam = (np.asarray(corners_world) @ T[:3, :3].T + T[:3, 3])[None]
            edges = [] if not self._in_view_cone(corners_cam)[0] else [
                (e, poly) for _, e, poly in project_boxes(corners_cam, self.camera)]
        if edges or self._preview_edges:
            self._preview_edges = edges
            self.update()

    def set_proposals(self, items: Sequence[tuple[int, F64, bool]], update: bool = True) -> None:
        """Proposals to draw: ``(proposal id, (8, 3) world corners, is the one under review)``."""
        out: list[tuple[int, bool, F64]] = []
        if items:
            T = self._T_cam_from_world
            corners_cam = np.stack([np.asarray(c, dtype=np.float64) for _, c, _ in items]) @ T[:3, :3].T + T[:3, 3]
            visible = np.flatnonzero(self._in_view_cone(corners_cam))
            for i, _, poly in project_boxes(corners_cam[visible], self.camera, visible):
                out.append((int(items[i][0]), bool(items[i][2]), poly))
        if out or self._proposals:
            self._proposals = out
            if update:
                self.update()

    def proposal_edges(self, proposal_id: int) -> list[F64]:
        """Projected edge pieces ((M, 2) image px, clipped to the image) of a proposal."""
        return [poly for pid, _, poly in self._proposals if pid == proposal_id]

    def set_selected(self, track_id: int | None) -> None:
        """Draw this track's box as the selected one (None: none)."""
        self.selected = track_id
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
        out = [(e, piece) for n, i in enumerate(self._whole) if self._boxes[i].track_id == track_id
               for e in range(12) for piece in clip_polyline(self._whole_uv[n, e], rect)]
        return out + [(e, poly) for i, e, poly in self._edges if self._boxes[i].track_id == track_id]

    def _compose(self) -> None:
        """The displayed image: the camera image, with the depth-coloured points when enabled."""
        if self._image is None:
            self._qimage = None
            return
        img = self._image
        if self.show_points and self._pts_world is not None and len(self._pts_world):
            img = img.copy()
            T = self._T_cam_from_world
            pts_cam = transform_f32(T, self._pts_world)
            front = pts_cam[:, 2] > 0.5
            uv, depth, valid = self.camera.project(pts_cam[front])
            uv, depth = uv[valid], depth[valid]
            order = np.argsort(-depth)  # far first, near on top
            u = np.rint(uv[order, 0]).astype(np.int64)
            v = np.rint(uv[order, 1]).astype(np.int64)
            rgb = depth_colors_u8(depth[order])
            h, w = img.shape[:2]
            for du, dv in ((0, 0), (1, 0), (0, 1), (1, 1)):
                uu, vv = u + du, v + dv
                k = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
                img[vv[k], uu[k]] = rgb[k]
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
        key = (self.width(), self.height(), self.selected, self.draft)
        if self._polys is None or self._polys[0] != key:
            self._polys = (key, self._styled_lines())
        p.save()
        p.setClipRect(r)  # edges of boxes drawn whole are not clipped to the image
        for (color, width, pattern), lines in self._polys[1]:
            pen = QPen(QColor(*color))
            pen.setWidthF(width)
            if pattern:
                pen.setStyle(Qt.PenStyle.DashDotLine if pattern == "dashdot" else Qt.PenStyle.DashLine)
            p.setPen(pen)
            for poly in lines:
                p.drawPolyline(poly)
        if self._proposals:  # machine proposals: dotted, apart from the human boxes
            for current in (False, True):
                pen = QPen(QColor(*self.proposal_color))
                pen.setWidthF(2.4 if current else 1.0 if self.draft else 1.4)
                pen.setStyle(Qt.PenStyle.DotLine)
                p.setPen(pen)
                for _, cur, poly in self._proposals:
                    if cur == current:
                        p.drawPolyline(qpolygon(self.image_to_widget(poly)))
        if self._preview_edges:  # the box being dragged, on top of its committed position
            pen = QPen(QColor(*SELECTED_COLOR))
            pen.setWidthF(2.2)
            p.setPen(pen)
            for _, poly in self._preview_edges:
                p.drawPolyline(qpolygon(self.image_to_widget(poly)))
        p.restore()
        if self.overlay is not None:
            self.overlay(self, p)
        p.setPen(QColor(235, 235, 235))
        p.fillRect(QRectF(r.x(), r.y(), 8 + 7 * len(self.name), 18), QColor(0, 0, 0, 140))
        p.drawText(QPointF(r.x() + 4, r.y() + 13), self.name)
        p.end()

    def _styled_lines(self) -> list[tuple[tuple[tuple[int, ...], float, str], object]]:
        """Edge polylines (QPolygonF, widget pixels) grouped by pen (colour (RGB or RGBA), width,
        pattern: see :attr:`CameraBox.pattern`), in drawing order (the selected box last). Boxes
        drawn whole go as 2 polylines (front loop and :data:`REST_TRAIL`; dashed: 5); each group
        is converted in one piece and sliced."""
        groups: dict[tuple[tuple[int, ...], float, str], list[F64]] = {}

        draft = self.draft

        def style(i: int, front: bool) -> tuple[tuple[int, ...], float, str]:
            b = self._boxes[i]
            pattern = b.pattern
            color: tuple[int, ...] = class_color(b.label)
            if pattern == "dashdot":  # tracked: as opaque as its confidence
                color = (*color, round(255 * tracked_opacity(b.confidence)))
            if draft:  # 1 px lines take the raster engine's fast path (wider ones the stroker: ~10x)
                if b.track_id == self.selected:
                    return (SELECTED_COLOR, 2.0, pattern)
                return (color, 1.0, pattern)
            width = (1.6 if not pattern else 1.2) * (1.8 if front else 1.0)
            if b.track_id == self.selected:
                return (SELECTED_COLOR, width + 1.0, pattern)
            return (color, width, pattern)

        for i, e, poly in self._edges:
            groups.setdefault(style(i, e in FRONT_FACE_EDGES), []).append(poly)
        if len(self._whole):
            k = self._whole_uv.shape[2]
            flat = self._whole_uv.reshape(len(self._whole), 12 * k, 2)
            by_style: dict[tuple[tuple[tuple[int, ...], float, str], bool], list[int]] = {}
            for n, i in enumerate(self._whole):
                by_style.setdefault((style(int(i), True), True), []).append(n)
                by_style.setdefault((style(int(i), False), False), []).append(n)
            for (st, front), rows in by_style.items():
                dashed = bool(st[2])
                chains = (FRONT_LOOP,) if front else REST_DASHED if dashed else (REST_TRAIL,)
                for runs in chains:
                    groups.setdefault(st, []).extend(flat[rows][:, chain_index(runs, k)])
        selected = {st for st in groups if st[0] == SELECTED_COLOR}
        out: list[tuple[tuple[tuple[int, ...], float, str], object]] = []
        for st in sorted(groups, key=lambda g: g in selected):
            polys = groups[st]
            big = qpolygon(self.image_to_widget(np.concatenate(polys)))
            starts = np.cumsum([0] + [len(q) for q in polys[:-1]])
            out.append((st, [big.mid(int(a), len(q)) for a, q in zip(starts, polys, strict=True)]))
        return out

    # ---- clicks ---------------------------------------------------------------------------------
    def box_at(self, uv: Sequence[float]) -> int | None:
        """Track id of the nearest box whose projected outline contains image point ``uv``
        (:func:`fusionlabel.tools.select.pick_camera_boxes`)."""
        ids = pick_camera_boxes(((b.track_id, b.corners) for b in self._boxes), self._T_cam_from_world, self.camera, uv)
        return ids[0] if ids else None

    def mousePressEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if e.button() != Qt.MouseButton.LeftButton:
            return
        uv = self.widget_to_image(np.array([[e.position().x(), e.position().y()]]))[0]
        tid = self.box_at(uv)
        if tid is not None:
            self.box_clicked.emit(tid)


#: Samples per edge of the fast path for distorted cameras.
FAST_SAMPLES = 12

#: How a box drawn whole is stroked (``(edge, reversed)`` runs, edges as ``BOX_EDGES``): the front
#: face as one closed loop (corners 0-1-5-4-0); the other 8 edges as one trail for solid boxes
#: (1-2-3-0-3-7-4-7-6-5-6-2, retracing 3 edges: invisible with a solid pen) or as 4 polylines for
#: dashed (interpolated) ones, whose dash pattern a retrace would disturb.
FRONT_LOOP = ((0, False), (9, False), (4, True), (8, True))
REST_TRAIL = ((1, False), (2, False), (3, False), (3, True), (11, False), (7, False), (7, True), (6, True),
              (5, True), (5, False), (10, True))
REST_DASHED = (((1, False), (2, False), (3, False)), ((5, False), (6, False), (7, False)), ((10, False),),
               ((11, False),))


@functools.lru_cache(maxsize=32)
def chain_index(runs: tuple[tuple[int, bool], ...], k: int) -> NDArray[np.int64]:
    """Flat indices into a box's (12 * k) edge samples that walk the edge ``runs`` as one polyline
    (each run after the first drops its first sample, the previous run's last)."""
    out: list[NDArray[np.int64]] = []
    for n, (e, rev) in enumerate(runs):
        j = np.arange(k)[::-1] if rev else np.arange(k)
        out.append(e * k + (j if n == 0 else j[1:]))
    idx = np.concatenate(out)
    idx.setflags(write=False)  # cached and shared
    return idx


def project_boxes(
    corners_cam: F64, camera: CameraModel, ids: NDArray[np.integer] | None = None
) -> list[tuple[int, int, F64]]:
    """Edges of boxes (B, 8, 3) in the camera frame (m) as image polylines ``(box id, edge index,
    (M, 2) px)`` clipped to the image. ``ids`` (B,) names the boxes (default 0..B-1)."""
    pieces, whole, uv = project_boxes_whole(corners_cam, camera, ids, clip=True)
    return [*((int(i), e, uv[n, e]) for n, i in enumerate(whole) for e in range(12)), *pieces]


def project_boxes_whole(
    corners_cam: F64, camera: CameraModel, ids: NDArray[np.integer] | None = None, clip: bool = True
) -> tuple[list[tuple[int, int, F64]], NDArray[np.int64], F64]:
    """Boxes (B, 8, 3) in the camera frame (m) -> ``(pieces, whole, uv)``: the ids of the boxes
    drawn whole (W,) with their 12 edges sampled (W, 12, k, 2) px, and the clipped edge pieces
    ``(box id, edge index, (M, 2) px)`` of every other box. ``ids`` (B,) names the boxes.

    Fast path, batched over all boxes: a box whose edges, sampled at ``FAST_SAMPLES`` points each
    (2 without distortion), all project validly (in front, inside the valid FOV and, with ``clip``,
    inside the image) is drawn whole from those samples: the same distortion-bent curves as
    :func:`calib.projection.project_box_edges`; without ``clip`` they may leave the image (the
    painter clips). Every other box goes through ``project_boxes_edges`` (near-plane and image
    clipping), all in one call."""
    B = len(corners_cam)
    ids = np.arange(B) if ids is None else np.asarray(ids)
    k = FAST_SAMPLES if camera.is_distorted else 2
    if B == 0:
        return [], np.zeros(0, np.int64), np.zeros((0, 12, k, 2))
    a = corners_cam[:, BOX_EDGES[:, 0]]  # (B, 12, 3)
    b = corners_cam[:, BOX_EDGES[:, 1]]
    t = np.linspace(0.0, 1.0, k)
    samples = a[:, :, None, :] + (b - a)[:, :, None, :] * t[None, None, :, None]  # (B, 12, k, 3)
    uv, _, valid = camera.project(samples.reshape(-1, 3), require_in_image=clip)
    uv = uv.reshape(B, 12, k, 2)
    fast = valid.reshape(B, 12 * k).all(axis=1)
    if not clip:  # drop boxes wholly off the image (their samples' bounding box misses it)
        u0, v0, u1, v1 = camera.image_rect()
        with np.errstate(invalid="ignore"):
            lo, hi = uv.min(axis=(1, 2)), uv.max(axis=(1, 2))  # (B, 2)
        off = (hi[:, 0] < u0) | (lo[:, 0] > u1) | (hi[:, 1] < v0) | (lo[:, 1] > v1)
        fast &= ~off
    else:
        off = np.zeros(B, dtype=bool)
    pieces: list[tuple[int, int, F64]] = []
    slow = np.flatnonzero(~fast & ~(off & valid.reshape(B, -1).all(axis=1)))
    if slow.size:  # all the other boxes in one vectorised call (the same pieces as one call per box)
        pieces = [(int(ids[slow[j]]), e, poly) for j, e, poly in project_boxes_edges(corners_cam[slow], camera)]
    return pieces, ids[fast].astype(np.int64), uv[fast]


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
