"""What the window's views draw for the current frame (Qt side): the points (with accumulated
sweeps), the annotation layers of the model (the boxes with the drag preview, the proposals), the
selected box's handles, the ego context, the side / front views of the selected box and the
timeline. :class:`ViewDrawing` fills the model's layers (:attr:`~gui.model.ViewerModel.layers`:
``"proposals"`` and ``"boxes"``, :mod:`gui.model.layers`) and paints their drawing data in the
views through the views' public methods; it holds the frame being shown (``fd``, a
:class:`~gui.frames.FrameData`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.document import BoxRef
from fusionlabel.tools import Preview, box_handles, box_outline
from gui.colors import class_color
from gui.frames import FrameData
from gui.model import ViewerModel
from gui.model.boxview import NEIGHBOURHOOD_MARGIN, box_neighbourhood
from gui.model.cloud import ShownCloud, shown_cloud
from gui.model.layers import Cuboid, CuboidLayer, Layer, proposal_cuboids, track_cuboids
from gui.model.shapes import Shape
from gui.ortho import OrthoView
from gui.session import EAGER_DERIVE_MAX_POINTS, derive
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
        #: The model's annotation layers drawn here: the proposals (drawn first) and the boxes.
        self.proposal_layer = model.layers.append(CuboidLayer("proposals", "proposal"))
        self.box_layer = model.layers.append(CuboidLayer("boxes"))
        self.committed: list[Cuboid] = []  # the document's boxes at the frame (the cameras')
        self.camera_grid: Any = None  # the session's camera panels (gui.cameras.CameraGrid)
        self._mirrored: list[Layer] = []
        for ev in ("inserted", "removed", "moved"):
            model.layers.events[ev].connect(lambda *_: self.mirror_layers())
        #: ``() -> (points (M, 3) world, colours (M, 3) uint8) | None``: shown instead of the sweep
        #: when it gives points (the accumulated world of map work, ``gui/qt/mapview.py``)
        self.points_override: Callable[[], tuple[np.ndarray, np.ndarray] | None] | None = None
        #: draws the points by their labels (gui.qt.pointlabels) when the colour mode asks it
        self.label_points: Callable[[FrameData], bool] | None = None

    def update_points(self) -> None:
        if self.fd is None:
            return
        over = self.points_override() if self.points_override is not None else None
        if over is not None:
            pts, rgb = over
            self.view3d.set_points(pts, rgb.astype(np.float32) / 255.0)
            self.bev.set_points(pts[:, :2], rgb)
            return
        fd = self.fd
        if self.label_points is not None and self.label_points(fd):
            return
        view = self.model.view
        if view.accumulate <= 0 and len(fd.pts_world) <= EAGER_DERIVE_MAX_POINTS:
            # the common case: colours and order precomputed by the loader, every point drawn
            derive(fd, view.color_mode)
            self.view3d.set_points(fd.pts_world, fd.memo[("rgb", view.color_mode)])
            self.bev.set_points(fd.memo["bev_xy"], fd.memo["bev_rgb32"])
            return
        # a big frame or sweeps accumulated: drawn within point budgets from their level of detail
        cloud = self.cloud()
        self.view3d.set_cloud(cloud)
        self.bev.set_cloud(cloud)

    def cloud(self) -> ShownCloud:
        """The frame's cloud plus +-accumulate sweeps with their level of detail
        (``gui.model.cloud.shown_cloud``): what big frames and accumulations draw within budgets."""
        session = self.model.session
        assert session is not None and session.frames is not None
        return shown_cloud(session.frames, self.model.frame, len(session), self.model.view.accumulate,
                           self.model.view.color_mode)

    def overlay_points(self, index: int) -> Any:
        """What the camera panels overlay: the session's (capture-time) world points, or for a big
        frame the cloud with its level of detail (the panels draw a budget of it)."""
        assert self.model.session is not None and self.fd is not None
        if len(self.fd.pts_world) > EAGER_DERIVE_MAX_POINTS:
            return self.cloud()
        return self.model.session.overlay_points(index)

    def mirror_layers(self) -> None:
        """The model's further layers (all but the boxes and proposals painted here), in the
        model's order, in the BEV's, the 3D view's and every camera panel's own layers (under the
        cameras' drag preview); a layer removed from the model leaves them. Called on the model's
        layer events and when the camera panels change."""
        order = list(self.model.layers)
        first_box = min(order.index(self.box_layer), order.index(self.proposal_layer))
        extra = [la for la in order if la is not self.box_layer and la is not self.proposal_layer]
        below = {id(la) for la in order[:first_box]}  # put before the boxes in the model: under them
        panels = list(self.camera_grid.panels.values()) if self.camera_grid is not None else []
        for layers, top in [(self.bev.layers, None), (self.view3d.layers, None),
                            *((p.layers, p.preview_layer) for p in panels)]:
            for la in self._mirrored:
                if la in layers and not any(la is e for e in extra):
                    layers.remove(la)
            n_below = 0
            for la in extra:
                if la in layers:
                    layers.remove(la)  # re-placed below, in the model's order
                if id(la) in below:
                    layers.insert(n_below, la)
                    n_below += 1
                else:
                    layers.insert(layers.index(top) if top is not None else len(layers), la)
        self._mirrored = extra

    def ground_z(self) -> float:
        """The ground height (world z, m) under the frame shown (0 before one)."""
        return float(self.fd.memo.get("ground_z", 0.0)) if self.fd is not None else 0.0

    def show_camera_points(self, on: bool) -> None:
        """Overlay the LiDAR points (coloured by depth) on the camera images, or not."""
        if self.camera_grid is not None:
            for panel in self.camera_grid.panels.values():
                panel.set_show_points(on)

    def boxes(self) -> list[BoxRef]:
        """The document's boxes at the current frame."""
        if self.model.session is None:
            return []
        return self.model.session.doc.boxes_at(self.model.frame)

    def refresh_layers(self) -> None:
        """Fill the model's layers for the current frame: ``"boxes"`` (the document's boxes,
        every state, with the drag preview; ``committed`` keeps them without it) and
        ``"proposals"`` (the one under review selected)."""
        s = self.model.session
        if s is None:
            self.committed = []
            self.box_layer.set_data(())
            self.proposal_layer.set_data(())
            return
        frame = self.model.frame
        self.committed = track_cuboids(s.doc, frame)
        self.refresh_preview()
        cur = self.proposal_review.current
        with self.model.layers.events.blocker("changed"):
            self.proposal_layer.selected = () if cur is None else (cur.proposal_id,)
        self.proposal_layer.set_data(proposal_cuboids(s.doc, frame))

    def refresh_preview(self) -> None:
        """The boxes layer with the drag preview (replacing its track's box, or a new box) and
        the selection."""
        ctx = self.model.context
        prev = ctx.preview if ctx is not None else None
        with self.model.layers.events.blocker("changed"):
            sel = self.model.selection
            self.box_layer.selected = () if sel is None else (sel,)
        if prev is None or prev.frame != self.model.frame or self.model.session is None:
            self.box_layer.set_data(self.committed)
            return
        self.box_layer.set_data(track_cuboids(self.model.session.doc, self.model.frame, prev,
                                              ctx.default_class if ctx is not None else "car"))

    def update_boxes(self) -> None:
        """Every view's boxes from the document (cameras included), the side / front views, the
        timeline and the review marks."""
        if self.model.session is None:
            return
        self.refresh_layers()
        if self.camera_grid is not None:  # the cameras paint their own layers, filled from the model's
            props = self.proposal_layer
            items = [(c.id, c.corners, c.id in props.selected) for c in props.data]
            for panel in self.camera_grid.panels.values():
                panel.set_boxes(self.committed, update=False)
                panel.set_proposals(items, update=False)
                panel.set_selected(self.model.selection)
        self.update_overlays()
        self.update_box_views()
        self.update_timeline()
        self.review.on_boxes_updated(self.camera_grid)

    def on_preview(self, preview: Preview | None) -> None:
        """A drag's preview changed: the boxes layer, the side / front views and the cameras."""
        self.refresh_preview()
        self.update_overlays()
        self.update_box_views()
        if self.camera_grid is not None:
            shown = preview is not None and preview.frame == self.model.frame
            corners = preview.box.corners() if shown else None  # type: ignore[union-attr]
            tid = preview.track_id if shown else None  # type: ignore[union-attr]
            for panel in self.camera_grid.panels.values():
                panel.set_preview(corners, tid)

    def update_overlays(self) -> None:
        """3D and BEV from the layers (proposals, then boxes with the preview), the QA issue
        markers and review marks, the ego context and the selected box's handles in the BEV."""
        if self.model.session is None:
            return
        shapes = self.ego_shapes() + self.box_layer.bev_shapes()
        selected_box = next((c.box for c in self.box_layer.data
                             if c.id is None or c.id in self.box_layer.selected), None)
        if selected_box is not None:
            shapes += self.handle_shapes("bev", selected_box, self.bev.scale, None)
        shapes += self.review.bev_shapes()  # accepted / rejected marks
        glyphs = self.box_layer.glyphs() + self.proposal_layer.glyphs() + self.review.glyphs_3d()  # issue markers
        self.view3d.set_boxes(glyphs)
        self.bev.set_shapes(self.proposal_layer.bev_shapes() + self.marker_shapes() + shapes)

    def marker_shapes(self) -> list[Shape]:
        """QA issue markers of the current frame in the BEV (a ring with ``!``: red while open,
        grey when resolved). They are not boxes: the tools do not pick them."""
        if self.model.session is None:
            return []
        doc = self.model.session.doc
        ang = np.linspace(0, 2 * np.pi, 25)
        ring = np.column_stack([np.cos(ang), np.sin(ang)]) * (7.0 / max(self.bev.scale, 1e-6))
        shapes = []
        for m in getattr(doc, "issue_markers", lambda: [])():
            if m.frame is not None and m.frame != self.model.frame:
                continue
            color = (150, 150, 150) if m.resolved else (255, 70, 60)
            shapes.append(Shape(np.asarray(m.position[:2]) + ring, color, 2.0, True, False, 90, f"! {m.text}"[:40]))
        return shapes

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
        shown = next((c.box for c in self.box_layer.data if c.id == ref.track_id and c.box is not None), box)
        l, w, h = box.size
        cz = box.center[2]
        m = NEIGHBOURHOOD_MARGIN
        hood = box_neighbourhood(self.fd.pts_world, box, m)
        side_uv, front_uv, inside = hood.side_uv, hood.front_uv, hood.inside
        rgb = np.full((len(inside), 3), 110, np.uint8)
        rgb[inside] = class_color(ref.label)
        text = f"track {ref.track_id} {ref.label}  {shown.size[0]:.2f} x {shown.size[1]:.2f} x {shown.size[2]:.2f} m"
        if ref.state == "tracked":
            text += f"\n(tracked, confidence {ref.confidence:.2f})"
        elif not ref.is_keyframe:
            text += f"\n({ref.state})"
        for view, name, uv, half in ((self.side, "side", side_uv, l / 2), (self.front, "front", front_uv, w / 2)):
            view.message = text
            view.set_points(uv, rgb, order=inside.astype(np.float32))
            view.set_view(up_angle=math.pi / 2)
            view.fit((-half - m / 2, cz - h / 2 - m / 2), (half + m / 2, cz + h / 2 + m / 2), margin=0.05)
            view.set_shapes(self.box_layer.ortho_shapes(name, box) + self.handle_shapes(name, shown, view.scale, box))

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
