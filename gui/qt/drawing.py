"""What the window's views draw for the current frame (Qt side): the points (with accumulated
sweeps), the boxes with the drag preview, the selected box's handles, the ego context, the side /
front views of the selected box and the timeline. :class:`ViewDrawing` reads the Qt-free model
(:class:`~gui.model.ViewerModel`) and calls the views through their public methods; it holds the
frame being shown (``fd``, a :class:`~gui.frames.FrameData`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.document import BoxRef
from fusionlabel.geometry import box_corners
from fusionlabel.tools import box_handles, box_outline
from gui.colors import (
    SELECTED_COLOR,
    bev_colors,
    class_color,
    class_color_f,
    point_colors,
    tracked_opacity,
)
from gui.frames import FrameData
from gui.model import ViewerModel
from gui.model.boxview import NEIGHBOURHOOD_MARGIN, box_neighbourhood
from gui.model.shapes import BoxGlyph, Shape
from gui.ortho import OrthoView
from gui.session import derive, height_order
from gui.widgets import Timeline


class ViewDrawing:
    """Draws the model's frame in the views: ``bev``, ``side``, ``front`` (:class:`OrthoView`),
    ``view3d`` and the ``timeline``; ``review`` and ``proposal_review`` add their overlays
    (``bev_shapes`` / ``glyphs_3d``, ``overlays``); ``playing()`` tells the timeline."""

    def __init__(self, model: ViewerModel, bev: OrthoView, side: OrthoView, front: OrthoView, view3d: Any,
                 timeline: Timeline, review: Any, proposal_review: Any, playing: Callable[[], bool]) -> None:
        self.model = model
        self.bev, self.side, self.front, self.view3d, self.timeline = bev, side, front, view3d, timeline
        self.review, self.proposal_review, self.playing = review, proposal_review, playing
        self.fd: FrameData | None = None
        #: draws the points by their labels (gui.qt.pointlabels) when the colour mode asks it
        self.label_points: Callable[[FrameData], bool] | None = None

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """World points (and intensities) shown now: the frame's, plus +-accumulate sweeps."""
        assert self.model.session is not None and self.fd is not None
        pts, inten = [self.fd.pts_world], [self.fd.intensity]
        here, n = self.model.frame, self.model.view.accumulate
        for f in range(here - n, here + n + 1):
            if f == self.model.frame or not 0 <= f < len(self.model.session):
                continue
            fd = self.model.session.frames.get(f, prefetch=False)  # type: ignore[union-attr]
            pts.append(fd.pts_world)
            inten.append(fd.intensity)
        return np.concatenate(pts), np.concatenate(inten)

    def update_points(self) -> None:
        if self.fd is None:
            return
        fd = self.fd
        if self.label_points is not None and self.label_points(fd):
            return
        origin = fd.T_world_from_ego[:3, 3]
        ground = float(fd.memo.get("ground_z", origin[2]))
        if self.model.view.accumulate <= 0:  # the common case: colours and order precomputed by the loader
            derive(fd, self.model.view.color_mode)
            self.view3d.set_points(fd.pts_world, fd.memo[("rgb", self.model.view.color_mode)])
            self.bev.set_points(fd.memo["bev_xy"], fd.memo["bev_rgb32"])
            return
        pts, inten = self.points()
        self.view3d.set_points(pts, point_colors(self.model.view.color_mode, pts, inten, origin, ground))
        order = height_order(pts[:, 2])
        self.bev.set_points(pts[order, :2], bev_colors(pts[order, 2], ground))

    def boxes(self) -> list[BoxRef]:
        """The document's boxes at the current frame."""
        if self.model.session is None:
            return []
        return self.model.session.doc.boxes_at(self.model.frame)

    def shown_boxes(self) -> list[tuple[int | None, str, Box3D, str, float | None]]:
        """(track id, label, box, state, tracking confidence) drawn now: the document's, with the
        drag preview replacing its track's box (drawn as a keyframe; a new box while creating has
        track id None). ``state`` is one of ``fusionlabel.model.BOX_STATES``."""
        prev = self.model.context.preview if self.model.context is not None else None
        out: list[tuple[int | None, str, Box3D, str, float | None]] = []
        for r in self.boxes():
            if prev is not None and prev.frame == self.model.frame and prev.track_id == r.track_id:
                out.append((r.track_id, r.label, prev.box, "keyframe", None))
            else:
                out.append((r.track_id, r.label, r.box, r.state, r.confidence))
        if prev is not None and prev.frame == self.model.frame and prev.track_id is None:
            label = self.model.context.default_class if self.model.context is not None else "car"
            out.append((None, label, prev.box, "keyframe", None))
        return out

    def update_overlays(self) -> None:
        """3D and BEV boxes (with the preview), and the selected box's handles in the BEV."""
        if self.model.session is None:
            return
        glyphs, shapes = [], self.ego_shapes()
        sel = self.model.selection
        selected_box = None
        shown = self.shown_boxes()
        all_corners = box_corners([s[2] for s in shown]) if shown else np.zeros((0, 8, 3))
        # heading ticks: box centre -> front-face centre (BEV), all boxes at once
        ticks = np.stack([all_corners[:, :4, :2].mean(axis=1), all_corners[:, :2, :2].mean(axis=1)], axis=1)
        for (tid, label, box, state, conf), corners, tick in zip(shown, all_corners, ticks, strict=True):
            is_sel = tid is not None and tid == sel
            if is_sel or tid is None:
                selected_box = box
            key, tracked = state == "keyframe", state == "tracked"
            glyphs.append(BoxGlyph(corners, class_color_f(label), key, is_sel or tid is None,
                                   "new" if tid is None else str(tid), tracked, conf))
            color = SELECTED_COLOR if (is_sel or tid is None) else class_color(label)
            opacity = tracked_opacity(conf) if tracked and not is_sel else 1.0
            shapes.append(Shape(corners[:4, :2], color, 2.5 if is_sel else (1.6 if key else 1.2), True,
                                not key and not tracked, 45 if is_sel else 0, "" if tid is None else str(tid), tid,
                                dash_dot=tracked, opacity=opacity))
            shapes.append(Shape(tick, color, 1.5, closed=False, opacity=opacity))
        if selected_box is not None:
            shapes += self.handle_shapes("bev", selected_box, self.bev.scale, None)
        g, s = self.assist_overlays()
        shapes += self.review.bev_shapes()  # accepted / rejected marks
        g += self.review.glyphs_3d()  # issue markers
        self.view3d.set_boxes(glyphs + g)
        self.bev.set_shapes(s + shapes)

    def assist_overlays(self) -> tuple[list, list[Shape]]:
        """Machine proposals (pre-labels: dotted pale lilac, filled, ``p<id> <score>``) and QA issue markers
        (a ring with ``!``: red while open, grey when resolved) of the current frame, for the 3D
        view and the BEV. They are not human boxes: the tools do not pick them."""

        if self.model.session is None:
            return [], []
        doc = self.model.session.doc
        glyphs, shapes = self.proposal_review.overlays(doc, self.model.frame)  # dotted, filled
        ang = np.linspace(0, 2 * np.pi, 25)
        ring = np.column_stack([np.cos(ang), np.sin(ang)]) * (7.0 / max(self.bev.scale, 1e-6))
        for m in getattr(doc, "issue_markers", lambda: [])():
            if m.frame is not None and m.frame != self.model.frame:
                continue
            color = (150, 150, 150) if m.resolved else (255, 70, 60)
            shapes.append(Shape(np.asarray(m.position[:2]) + ring, color, 2.0, True, False, 90, f"! {m.text}"[:40]))
        return glyphs, shapes

    def ego_shapes(self) -> list[Shape]:
        """BEV context: range rings every 10 m around the ego vehicle and its footprint."""
        if self.fd is None:
            return []
        T = self.fd.T_world_from_ego
        up = self.model.view.bev_up_offset
        ang = math.atan2(T[1, 0], T[0, 0]) + up + np.linspace(0, 2 * np.pi, 97)  # labels on top
        ring = np.column_stack([np.cos(ang), np.sin(ang)])
        out = [Shape(T[:2, 3] + r * ring, (70, 76, 88), 1.0, closed=False, text=f"{r} m" if r in (20, 40) else "")
               for r in (10, 20, 30, 40, 50)]
        # a generic car footprint: the ego origin is below the rear axle
        fp = np.array([[3.8, 0.95], [3.8, -0.95], [-1.0, -0.95], [-1.0, 0.95]])
        c, sn = math.cos(up), math.sin(up)  # forward = ego x turned by it
        fp = fp @ np.array([[c, sn], [-sn, c]])
        out.append(Shape(fp @ T[:2, :2].T + T[:2, 3], (170, 170, 180), 1.5, True, False, 60, "ego"))
        return out

    def handle_shapes(self, view: str, box: Box3D, ppm: float, ref: Box3D | None) -> list[Shape]:
        """Small squares at the tools' handles (and the rotation handle with its stem)."""
        out = []
        half = 3.5 / ppm
        sq = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
        for h in box_handles(view, box, ppm, ref):
            pos = np.asarray(h.pos)
            if h.kind == "rotate":
                front = np.asarray(box_outline(view, box, ref)[:2].mean(axis=0))
                out.append(Shape(np.stack([front, pos]), (255, 230, 90), 1.2, closed=False))
                ang = np.linspace(0, 2 * np.pi, 13)[:-1]
                out.append(Shape(pos + 1.6 * half * np.column_stack([np.cos(ang), np.sin(ang)]), (255, 230, 90), 1.5,
                                 True, False, 200))
            else:
                out.append(Shape(pos + sq, (255, 255, 255), 1.0, True, False, 220))
        return out

    def update_box_views(self) -> None:
        """Side and front views of the selected box: its neighbourhood in the view planes of the
        tools (u along the box axis from its committed centre, z world)."""
        ref = self.model.context.selected_box() if self.model.context is not None else None
        if ref is None or self.fd is None:
            for v in (self.side, self.front):
                v.set_points(np.zeros((0, 2)), np.zeros((0, 3), np.uint8))
                v.set_shapes([])
                v.message = "select a box"
            return
        box = ref.box
        shown = box
        prev = self.model.context.preview if self.model.context is not None else None
        if prev is not None and prev.track_id == ref.track_id and prev.frame == self.model.frame:
            shown = prev.box
        l, w, h = box.size
        cz = box.center[2]
        m = NEIGHBOURHOOD_MARGIN
        hood = box_neighbourhood(self.fd.pts_world, box, m)
        side_uv, front_uv, inside = hood.side_uv, hood.front_uv, hood.inside
        rgb = np.full((len(inside), 3), 110, np.uint8)
        rgb[inside] = class_color(ref.label)
        text = f"track {ref.track_id} {ref.label}  {shown.size[0]:.2f} x {shown.size[1]:.2f} x {shown.size[2]:.2f} m"
        if ref.state == "tracked":
            text += f"  (tracked, confidence {ref.confidence:.2f})"
        elif not ref.is_keyframe:
            text += f"  ({ref.state})"
        for view, name, uv, half in ((self.side, "side", side_uv, l / 2), (self.front, "front", front_uv, w / 2)):
            view.message = text
            view.set_points(uv, rgb, order=inside.astype(np.float32))
            view.set_view(up_angle=math.pi / 2)
            view.fit((-half - m / 2, cz - h / 2 - m / 2), (half + m / 2, cz + h / 2 + m / 2), margin=0.05)
            outline = box_outline(name, shown, box)
            shapes = [Shape(outline, SELECTED_COLOR, 2.0, True, ref.state in ("interpolated", "held"), 30,
                            dash_dot=ref.state == "tracked")]
            if name == "side":
                c = outline.mean(axis=0)
                shapes.append(Shape(np.array([c, [outline[:2, 0].mean(), c[1]]]), SELECTED_COLOR, 1.5, closed=False))
            shapes += self.handle_shapes(name, shown, view.scale, box)
            view.set_shapes(shapes)

    def update_timeline(self) -> None:
        if self.model.session is None:
            return
        keys: list[int] = []
        span = None
        gaps: tuple[tuple[int, int], ...] = ()
        tracked: list[int] = []
        if self.model.selection is not None and self.model.selection in self.model.session.doc:
            t = self.model.session.doc.track(self.model.selection)
            keys = t.keyframe_indices()
            span = t.span()
            gaps = t.gaps
            tracked = [f for f in t.tracked if t.is_tracked(f)]
        ts = self.model.session.seq.frames
        t_s = (ts[self.model.frame].timestamp_ns - ts[0].timestamp_ns) / 1e9
        self.timeline.set_state(len(self.model.session), self.model.frame, t_s, keys, span, self.playing(), gaps,
                                tracked)
