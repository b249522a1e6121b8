"""Annotation layers: each kind of annotation computes its own drawing data per view, without Qt.

A :class:`Layer` (in the manner of napari's layers) has a ``name``, ``visible``, ``opacity`` in
[0, 1] and the ``selected`` ids, all evented (``layer.events.<field>(value)``), plus
``events.data(layer)`` when its data change. It answers, for every view of the window:

============  ===========================================  ==========================================
view          drawing data                                 picking
============  ===========================================  ==========================================
BEV           :meth:`Layer.bev_shapes`: ``Shape`` s in      :meth:`Layer.pick_bev` (world x, y m)
              world x / y metres
side / front  :meth:`Layer.ortho_shapes` (view, the         --
              selected box): ``Shape`` s in the tools'
              view planes (``world_to_view``)
camera        :meth:`Layer.camera_lines` (``CameraView``):  :meth:`Layer.pick_camera` (image px)
              ``LineGroup`` s of image-px polylines
              (near-plane clipped, lens-bent, clipped)
3D            :meth:`Layer.segments_3d`: ``Segments3D``     :meth:`Layer.pick_3d` (the viewing ray,
              (world line segments by pen group)            world frame)
============  ===========================================  ==========================================

Layers: :class:`CuboidLayer` (tracks' boxes in their four states; proposals and the drag preview
as styles of it), :class:`PolylineLayer` (world-frame map elements: polylines and polygons, any
object with ``id``, ``label``, ``closed`` and ``vertices_world`` (N, 3)) and
:class:`PointLabelLayer` (per-point semantic / instance labels of a sweep: colours, legend,
unlabelled points). :class:`LayerList` orders them (first drawn first, at the bottom) and emits
``inserted`` / ``removed`` / ``moved`` / ``changed``. The Qt views only paint what the layers give
them (``gui.ortho``, ``gui.cameras``, ``gui.render.view3d``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.events import EventGroup
from fusionlabel.geometry import point_in_polygon
from fusionlabel.map.geometry import polygon_area, ray_polyline_distance
from fusionlabel.timing import PROPOSAL
from fusionlabel.tools.context import Preview
from fusionlabel.tools.handles import box_outline, world_to_view
from fusionlabel.tools.select import pick_camera_boxes, pick_footprints, pick_ray
from gui.colors import PROPOSAL_COLOR, SELECTED_COLOR, class_color, class_color_f, tracked_opacity
from gui.model.camproj import (
    FRONT_LOOP,
    REST_DASHED,
    REST_TRAIL,
    BoxProjection,
    CameraView,
    LineGroup,
    chain_index,
    in_view_cone,
    project_boxes,
    project_polylines,
)
from gui.model.evented import Evented, Field
from gui.model.shapes import BoxGlyph, Shape

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]

#: BEV fill (alpha 0-255) of a proposal, and of the proposal under review.
PROPOSAL_FILL = 28
CURRENT_FILL = 110
#: Colour (RGB 0-255) of points without a label; drawn on top of the others when highlighted.
UNLABELLED_COLOR = (255, 0, 255)
#: Colour of unlabelled points when not highlighted, and of label ids the class table lacks.
DIM_COLOR = (90, 90, 90)
UNKNOWN_COLOR = (150, 150, 150)


# ---- drawing data of the 3D view ---------------------------------------------------------------
#: Box edges (corner index pairs) in the corner order of ``fusionlabel.box.CORNER_SIGNS``, plus the
#: heading marker: the two diagonals of the front face (corners 0, 1, 4, 5).
EDGES_3D = np.array(
    [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7], [0, 5], [1, 4]],
    dtype=np.int64,
)


def box_segments(corners: ArrayLike) -> F64:
    """(16, 2, 3) line segments of one box: 12 edges, 2 front diagonals, centre -> front centre."""
    return box_segments_batch(np.asarray(corners, dtype=np.float64)[None])[0]


def box_segments_batch(corners: ArrayLike) -> F64:
    """:func:`box_segments` of (B, 8, 3) corners at once -> (B, 16, 2, 3)."""
    c = np.asarray(corners, dtype=np.float64)
    segs = c[:, EDGES_3D]  # (B, 14, 2, 3)
    tick = np.stack([c.mean(axis=1), c[:, [0, 1, 4, 5]].mean(axis=1)], axis=1)  # (B, 2, 3)
    return np.concatenate([segs, tick[:, None]], axis=1)


def dash(segments: ArrayLike, on: float = 0.35, off: float = 0.25) -> F64:
    """Split (K, 2, 3) segments into dashes ``on`` m long with ``off`` m gaps -> (M, 2, 3)."""
    out = []
    for a, b in np.asarray(segments, dtype=np.float64):
        d = b - a
        length = float(np.linalg.norm(d))
        if length < 1e-9:
            continue
        period = on + off
        n = max(1, int(math.ceil(length / period)))
        t0 = np.arange(n) * period / length
        t1 = np.minimum(t0 + on / length, 1.0)
        out.append(np.stack([a + t0[:, None] * d, a + t1[:, None] * d], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2, 3))


@dataclass(frozen=True)
class Segments3D:
    """Line segments of the 3D view, world metres, by pen group (:data:`GROUPS`: solid 2 px,
    dashed 1 px, tracked 1.5 px, selected 3 px): ``groups[name] = (pos (2M, 3) float32,
    color (2M, 4) float32 RGBA 0-1)``, segment ends back to back; ``texts`` with their world
    positions ``text_pos`` (T, 3)."""

    GROUPS: ClassVar[tuple[str, ...]] = ("key", "dash", "track", "sel")

    groups: dict[str, tuple[F32, F32]] = field(default_factory=dict)
    texts: tuple[str, ...] = ()
    text_pos: F32 = field(default_factory=lambda: np.zeros((0, 3), np.float32))

    @staticmethod
    def merge(parts: Iterable[Segments3D]) -> Segments3D:
        """One :class:`Segments3D` of several (groups concatenated in order)."""
        parts = list(parts)
        groups: dict[str, tuple[F32, F32]] = {}
        for g in Segments3D.GROUPS:
            got = [p.groups[g] for p in parts if g in p.groups and len(p.groups[g][0])]
            if got:
                groups[g] = (np.concatenate([a for a, _ in got]), np.concatenate([c for _, c in got]))
        texts = tuple(t for p in parts for t in p.texts)
        pos = np.concatenate([p.text_pos for p in parts]) if parts else np.zeros((0, 3), np.float32)
        return Segments3D(groups, texts, pos.astype(np.float32).reshape(-1, 3))


def glyph_segments(glyphs: Sequence[BoxGlyph], opacity: float = 1.0) -> Segments3D:
    """The 3D view's segments of box glyphs: selected white in ``sel``; tracked with short dashes,
    as opaque as the confidence, in ``track``; keyframes solid in ``key``; the others dashed and
    dimmer in ``dash``; the label above the top face. ``opacity`` scales every alpha."""
    buckets: dict[str, tuple[list[F64], list[F64]]] = {g: ([], []) for g in Segments3D.GROUPS}
    texts, text_pos = [], []
    segments = box_segments_batch(np.stack([b.corners for b in glyphs])) if glyphs else np.zeros((0, 16, 2, 3))
    for b, segs in zip(glyphs, segments, strict=True):
        if b.selected:
            key = "sel"
            color = np.array([1.0, 1.0, 1.0, 1.0])
        elif b.tracked:
            key = "track"
            segs = dash(segs, 0.15, 0.15)
            color = np.array(b.color) * np.array([1.0, 1.0, 1.0, tracked_opacity(b.confidence)])
        elif b.keyframe:
            key = "key"
            color = np.array(b.color)
        else:
            key = "dash"
            segs = dash(segs)
            color = np.array(b.color) * np.array([0.75, 0.75, 0.75, 0.85])
        if opacity != 1.0:
            color = color * np.array([1.0, 1.0, 1.0, opacity])
        buckets[key][0].append(segs.reshape(-1, 3))
        buckets[key][1].append(np.repeat(color[None], len(segs) * 2, axis=0))
        if b.text:
            texts.append(b.text)
            top = b.corners[4:].mean(axis=0)
            text_pos.append(top + np.array([0.0, 0.0, 0.4]))
    groups = {k: (np.concatenate(p).astype(np.float32), np.concatenate(c).astype(np.float32))
              for k, (p, c) in buckets.items() if p}
    return Segments3D(groups, tuple(texts), np.array(text_pos, dtype=np.float32).reshape(-1, 3))


# ---- the layer interface -----------------------------------------------------------------------
def _unit(v: Any) -> float:
    x = float(v)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"opacity must be within [0, 1], got {v!r}")
    return x


def _ids(v: Any) -> frozenset:
    return frozenset() if v is None else frozenset(v)


class Layer(Evented):
    """One kind of annotation drawn in every view (see the module doc). Subclasses override the
    drawing and picking methods of the views they draw in; the defaults draw nothing."""

    kind: ClassVar[str] = "layer"

    name = Field("layer", str, "unique in a LayerList")
    visible = Field(True, bool, "drawn in the views")
    opacity = Field(1.0, _unit, "multiplies the line opacity of everything the layer draws")
    selected = Field(frozenset(), _ids, "ids of the selected items (drawn highlighted)")

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.events.add("data")

    def _data_changed(self) -> None:
        self.events.data.emit(self)

    # ---- drawing data per view ------------------------------------------------------------------
    def bev_shapes(self) -> list[Shape]:
        """Shapes of the BEV, world x / y metres."""
        return []

    def ortho_shapes(self, view: str, ref_box: Box3D) -> list[Shape]:
        """Shapes of the ``"side"`` or ``"front"`` view of ``ref_box`` (the selected box as
        committed), in the tools' view-plane metres (``fusionlabel.tools.handles.world_to_view``)."""
        return []

    def camera_lines(self, view: CameraView) -> list[LineGroup]:
        """Polylines (image px) of one camera, grouped by pen in drawing order."""
        return []

    def segments_3d(self) -> Segments3D:
        """Line segments of the 3D view (world metres)."""
        return Segments3D()

    # ---- picking ----------------------------------------------------------------------------------
    def pick_bev(self, xy: ArrayLike, tolerance: float = 0.0) -> list[Hashable]:
        """Ids under world ``xy`` (m) in the BEV, best first."""
        return []

    def pick_camera(self, view: CameraView, uv: ArrayLike) -> list[Hashable]:
        """Ids under image point ``uv`` (px) of a camera, best first."""
        return []

    def pick_3d(self, eye: ArrayLike, direction: ArrayLike) -> list[Hashable]:
        """Ids hit by the 3D view's viewing ray ``eye`` + ``direction`` (world frame), nearest
        first."""
        return []

    def _alpha(self, color: tuple[int, ...]) -> tuple[int, ...]:
        """A camera pen colour with the layer's opacity applied (unchanged at opacity 1)."""
        if self.opacity >= 1.0:
            return color
        a = color[3] if len(color) == 4 else 255
        return (*color[:3], round(a * self.opacity))


# ---- cuboids (tracks, proposals, the drag preview) ---------------------------------------------
@dataclass(frozen=True, eq=False)
class Cuboid:
    """A box to draw: ``id`` (a track id, a proposal id; None: a new box being created),
    ``label`` (class), ``corners`` (8, 3) world metres in ``CORNER_SIGNS`` order, ``state`` (one
    of ``fusionlabel.model.BOX_STATES``), the tracking ``confidence`` of a tracked box, ``text``
    (None: the id) and the ``box`` (world ``Box3D``; needed by the BEV picking and the side /
    front views, optional elsewhere)."""

    id: Any
    label: str
    corners: F64
    state: str = "keyframe"
    confidence: float | None = None
    text: str | None = None
    box: Box3D | None = None

    @classmethod
    def of(cls, id: Any, label: str, box: Box3D, state: str = "keyframe", confidence: float | None = None,
           text: str | None = None) -> Cuboid:
        return cls(id, label, np.asarray(box.corners(), dtype=np.float64), state, confidence, text, box)

    @property
    def pattern(self) -> str:
        """Line pattern: ``""`` solid (keyframe), ``"dash"`` (interpolated, held), ``"dashdot"``
        (tracked)."""
        if self.state == "tracked":
            return "dashdot"
        return "" if self.state == "keyframe" else "dash"


class CuboidLike(Protocol):
    """What a :class:`CuboidLayer` draws (:class:`Cuboid`, or any object with these fields)."""

    @property
    def id(self) -> Any: ...
    @property
    def label(self) -> str: ...
    @property
    def corners(self) -> ArrayLike: ...
    @property
    def state(self) -> str: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def box(self) -> Box3D | None: ...
    @property
    def pattern(self) -> str: ...


#: Styles of a :class:`CuboidLayer`.
CUBOID_STYLES = ("track", "proposal", "preview")


def _style(v: Any) -> str:
    if v not in CUBOID_STYLES:
        raise ValueError(f"cuboid style must be one of {CUBOID_STYLES}, got {v!r}")
    return str(v)


class CuboidLayer(Layer):
    """Boxes in every view. ``style``:

    - ``"track"``: the document's boxes: class colour; keyframes solid, interpolated and held
      dashed (dimmer in 3D), tracked dash-dotted and as opaque as their confidence
      (``gui.colors.tracked_opacity``); the front face thicker in the cameras; selected ones
      white and thicker (a new box, id None, too); the BEV footprint with a heading tick.
    - ``"proposal"``: machine proposals: dotted pale lilac, filled in the BEV; the selected one
      (under review) bold. Not in the side / front views.
    - ``"preview"``: the box of a drag in progress in the cameras: white, 2.2 px, on top.
    """

    kind = "cuboids"
    style = Field("track", _style, "how the boxes are drawn (CUBOID_STYLES)")

    def __init__(self, name: str = "boxes", style: str = "track", **values: Any) -> None:
        super().__init__(name=name, style=style, **values)
        self._items: tuple[CuboidLike, ...] = ()
        self._corners = np.zeros((0, 8, 3))

    # ---- data -------------------------------------------------------------------------------------
    @property
    def data(self) -> tuple[CuboidLike, ...]:
        return self._items

    @property
    def corners(self) -> F64:
        """(B, 8, 3) world corners of the items, in their order."""
        return self._corners

    def set_data(self, items: Iterable[CuboidLike]) -> None:
        """Replace the boxes (corners (8, 3) world metres each); emits ``events.data``."""
        items = tuple(items)
        corners = np.stack([c.corners for c in items]).astype(np.float64, copy=False) if items else np.zeros((0, 8, 3))
        if corners.shape[1:] != (8, 3) or not np.isfinite(corners).all():
            raise ValueError(f"cuboid corners must be finite (8, 3) each, got {corners.shape[1:]}")
        self._items, self._corners = items, corners
        self._data_changed()

    def _is_selected(self, item: CuboidLike) -> bool:
        return item.id is not None and item.id in self.selected

    # ---- BEV ----------------------------------------------------------------------------------------
    def bev_shapes(self) -> list[Shape]:
        if self.style == "preview" or not self._items:
            return []
        c = self._corners
        out: list[Shape] = []
        if self.style == "proposal":
            rgb = PROPOSAL_COLOR
            for item, corners in zip(self._items, c, strict=True):
                cur = self._is_selected(item)
                out.append(Shape(corners[:4, :2], rgb, 3.6 if cur else 1.4, True, False,
                                 CURRENT_FILL if cur else PROPOSAL_FILL, item.text or "", ("proposal", item.id),
                                 dotted=True, opacity=self.opacity))
            return out
        # heading ticks: box centre -> front-face centre, all boxes at once
        ticks = np.stack([c[:, :4, :2].mean(axis=1), c[:, :2, :2].mean(axis=1)], axis=1)
        for item, corners, tick in zip(self._items, c, ticks, strict=True):
            sel = self._is_selected(item)
            key, tracked = item.state == "keyframe", item.state == "tracked"
            color = SELECTED_COLOR if (sel or item.id is None) else class_color(item.label)
            opacity = (tracked_opacity(item.confidence) if tracked and not sel else 1.0) * self.opacity
            text = "" if item.id is None else (item.text if item.text is not None else str(item.id))
            out.append(Shape(corners[:4, :2], color, 2.5 if sel else (1.6 if key else 1.2), True,
                             not key and not tracked, 45 if sel else 0, text, item.id, dash_dot=tracked,
                             opacity=opacity))
            out.append(Shape(tick, color, 1.5, closed=False, opacity=opacity))
        return out

    def pick_bev(self, xy: ArrayLike, tolerance: float = 0.0) -> list[Hashable]:
        """:func:`fusionlabel.tools.select.pick_footprints` over the items that carry a box."""
        return pick_footprints(((c.id, c.box) for c in self._items if c.box is not None and c.id is not None),
                               xy, tolerance)

    # ---- side / front ---------------------------------------------------------------------------
    def ortho_shapes(self, view: str, ref_box: Box3D) -> list[Shape]:
        """The selected boxes' outlines in the side or front view of ``ref_box`` (white, faintly
        filled, dashed when interpolated or held, dash-dotted when tracked; the side view with the
        heading tick)."""
        if self.style != "track":
            return []
        out: list[Shape] = []
        for item in self._items:
            if not self._is_selected(item) or item.box is None:
                continue
            outline = box_outline(view, item.box, ref_box)
            out.append(Shape(outline, SELECTED_COLOR, 2.0, True, item.state in ("interpolated", "held"), 30,
                             dash_dot=item.state == "tracked", opacity=self.opacity))
            if view == "side":
                c = outline.mean(axis=0)
                out.append(Shape(np.array([c, [outline[:2, 0].mean(), c[1]]]), SELECTED_COLOR, 1.5, closed=False,
                                 opacity=self.opacity))
        return out

    # ---- cameras ----------------------------------------------------------------------------------
    def camera_projection(self, view: CameraView) -> BoxProjection:
        """The boxes projected into ``view`` unclipped where wholly in front (the painter clips
        to the image): what :meth:`camera_lines` strokes. With ``view.timing`` the boxes stand
        where their tracks are at the image's capture time."""
        return BoxProjection.of(self._corners, view, self._track_ids())

    def _track_ids(self) -> list[Any]:
        """The items' keys for moving them to a capture time (``CaptureTiming.corners_at``): the
        track ids (style ``"track"``, and ``"preview"``: a drag of a track's box moves with the
        track, a new box (id None) stays); proposals as ``(PROPOSAL, id)``."""
        if self.style == "proposal":
            return [(PROPOSAL, c.id) for c in self._items]
        return [c.id for c in self._items]

    def camera_corners(self, view: CameraView) -> F64:
        """(B, 8, 3) world corners of the items as drawn in ``view`` (tracks' boxes at its capture
        time)."""
        ids = self._track_ids()
        return view.box_corners(ids, self._corners) if ids else self._corners

    def camera_pieces(self, view: CameraView) -> list[tuple[Any, int, F64]]:
        """Edge pieces ``(id, edge index, (M, 2) px)`` clipped to the image (boxes outside the
        view cone skipped)."""
        if not self._items:
            return []
        corners_cam = view.to_camera(self.camera_corners(view))
        visible = np.flatnonzero(in_view_cone(corners_cam, view.camera))
        pieces = project_boxes(corners_cam[visible], view.camera, visible)
        return [(self._items[i].id, e, poly) for i, e, poly in pieces]

    def camera_lines(self, view: CameraView, projection: BoxProjection | None = None) -> list[LineGroup]:
        if not self._items:
            return []
        if self.style == "preview":
            lines = tuple(poly for _, _, poly in self.camera_pieces(view))
            return [LineGroup(self._alpha(SELECTED_COLOR), 2.2, "", lines)] if lines else []
        if self.style == "proposal":
            pieces = self.camera_pieces(view)
            out = []
            for current in (False, True):
                lines = tuple(poly for pid, _, poly in pieces if (pid in self.selected) == current)
                if lines:
                    width = 2.4 if current else 1.0 if view.draft else 1.4
                    out.append(LineGroup(self._alpha(PROPOSAL_COLOR), width, "dot", lines))
            return out
        proj = projection if projection is not None else self.camera_projection(view)
        return self._track_groups(proj, view.draft)

    def _track_groups(self, proj: BoxProjection, draft: bool) -> list[LineGroup]:
        """Edge polylines grouped by pen (colour (RGB or RGBA), width, pattern), in drawing order
        (the selected boxes last). Boxes drawn whole go as 2 polylines (front loop and
        ``REST_TRAIL``; dashed: 5)."""
        groups: dict[tuple[tuple[int, ...], float, str], list[F64]] = {}

        def style(i: int, front: bool) -> tuple[tuple[int, ...], float, str]:
            b = self._items[i]
            pattern = b.pattern
            color: tuple[int, ...] = class_color(b.label)
            if pattern == "dashdot":  # tracked: as opaque as its confidence
                color = (*color, round(255 * tracked_opacity(b.confidence)))
            color = self._alpha(color)
            sel = self._is_selected(b)
            if draft:  # 1 px lines take the raster engine's fast path (wider ones the stroker: ~10x)
                if sel:
                    return (self._alpha(SELECTED_COLOR), 2.0, pattern)
                return (color, 1.0, pattern)
            width = (1.6 if not pattern else 1.2) * (1.8 if front else 1.0)
            if sel:
                return (self._alpha(SELECTED_COLOR), width + 1.0, pattern)
            return (color, width, pattern)

        for i, e, poly in proj.pieces:
            groups.setdefault(style(i, e in FRONT_FACE_EDGES), []).append(poly)
        if len(proj.whole):
            k = proj.whole_uv.shape[2]
            flat = proj.whole_uv.reshape(len(proj.whole), 12 * k, 2)
            by_style: dict[tuple[tuple[tuple[int, ...], float, str], bool], list[int]] = {}
            for n, i in enumerate(proj.whole):
                by_style.setdefault((style(int(i), True), True), []).append(n)
                by_style.setdefault((style(int(i), False), False), []).append(n)
            for (st, front), rows in by_style.items():
                dashed = bool(st[2])
                chains = (FRONT_LOOP,) if front else REST_DASHED if dashed else (REST_TRAIL,)
                for runs in chains:
                    groups.setdefault(st, []).extend(flat[rows][:, chain_index(runs, k)])
        selected = {st for st in groups if st[0][:3] == SELECTED_COLOR}
        return [LineGroup(st[0], st[1], st[2], tuple(groups[st])) for st in sorted(groups, key=lambda g: g in selected)]

    def pick_camera(self, view: CameraView, uv: ArrayLike) -> list[Hashable]:
        """:func:`fusionlabel.tools.select.pick_camera_boxes`: outlines containing ``uv``,
        nearest first."""
        corners = self.camera_corners(view)
        return pick_camera_boxes(((c.id, k) for c, k in zip(self._items, corners, strict=True)), view.T_cam_from_world,
                                 view.camera, uv)

    # ---- 3D ---------------------------------------------------------------------------------------
    def glyphs(self) -> list[BoxGlyph]:
        """The boxes as 3D glyphs (``gui.model.shapes.BoxGlyph``)."""
        if self.style == "preview":
            return []
        out = []
        if self.style == "proposal":
            r, g, b = PROPOSAL_COLOR
            rgba = (r / 255, g / 255, b / 255, 0.9)
            for item, corners in zip(self._items, self._corners, strict=True):
                out.append(BoxGlyph(corners, rgba, False, self._is_selected(item), item.text or ""))
            return out
        for item, corners in zip(self._items, self._corners, strict=True):
            text = "new" if item.id is None else (item.text if item.text is not None else str(item.id))
            out.append(BoxGlyph(corners, class_color_f(item.label), item.state == "keyframe",
                                self._is_selected(item) or item.id is None, text, item.state == "tracked",
                                item.confidence))
        return out

    def segments_3d(self) -> Segments3D:
        return glyph_segments(self.glyphs(), self.opacity)

    def pick_3d(self, eye: ArrayLike, direction: ArrayLike) -> list[Hashable]:
        """:func:`fusionlabel.tools.select.pick_ray` over the items that carry a box."""
        return pick_ray(((c.id, c.box) for c in self._items if c.box is not None and c.id is not None), eye,
                        direction)


def track_cuboids(doc: AnnotationDocument, frame: int, preview: Preview | None = None,
                  new_label: str = "car") -> list[Cuboid]:
    """The document's boxes at ``frame`` as a ``"track"`` layer's data, every state included; a
    drag ``preview`` of this frame replaces its track's box (drawn as a keyframe) or, while a new
    box is being created (track id None), is appended with label ``new_label``."""
    prev = preview if preview is not None and preview.frame == frame else None
    out = []
    for r in doc.boxes_at(frame):
        if prev is not None and prev.track_id == r.track_id:
            out.append(Cuboid.of(r.track_id, r.label, prev.box))
        else:
            out.append(Cuboid.of(r.track_id, r.label, r.box, r.state, r.confidence))
    if prev is not None and prev.track_id is None:
        out.append(Cuboid.of(None, new_label, prev.box))
    return out


def proposal_cuboids(doc: AnnotationDocument, frame: int) -> list[Cuboid]:
    """The pre-label proposals at ``frame`` as a ``"proposal"`` layer's data (text
    ``p<id> <score>``)."""
    return [Cuboid.of(p.proposal_id, p.label, p.box, "interpolated", None, f"p{p.proposal_id} {p.score:.2f}")
            for p in doc.proposals_at(frame)]


#: Edges of the front face (x = +l/2 in the box frame), drawn thicker in the cameras.
FRONT_FACE_EDGES = (0, 4, 8, 9)


# ---- polylines and polygons in the world frame (map elements) ----------------------------------
@runtime_checkable
class MapElementLike(Protocol):
    """What a :class:`PolylineLayer` draws: an ``id``, a class ``label``, ``closed`` (a polygon)
    and ``vertices_world`` (N, 3) metres in the world frame. The core's map elements provide it."""

    @property
    def id(self) -> Any: ...

    @property
    def label(self) -> str: ...

    @property
    def closed(self) -> bool: ...

    @property
    def vertices_world(self) -> ArrayLike: ...


@dataclass(frozen=True, eq=False)
class MapElement:
    """A plain :class:`MapElementLike`: ``vertices_world`` (N, 3) world metres."""

    id: Any
    label: str
    vertices_world: F64
    closed: bool = False


def _vertices(e: MapElementLike) -> F64:
    v = np.asarray(e.vertices_world, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 2 or not np.isfinite(v).all():
        raise ValueError(f"map element {e.id!r}: vertices_world must be finite (N >= 2, 3), got shape {v.shape}")
    return v


def _segment_distance(poly: F64, p: F64, closed: bool) -> float:
    """Distance from 2D point ``p`` to the polyline ``poly`` (K, 2) (closed: with its last edge)."""
    pts = np.concatenate([poly, poly[:1]]) if closed else poly
    a, b = pts[:-1], pts[1:]
    d = b - a
    L2 = np.maximum((d * d).sum(axis=1), 1e-18)
    t = np.clip(((p - a) * d).sum(axis=1) / L2, 0.0, 1.0)
    q = a + d * t[:, None]
    return float(np.hypot(*(q - p).T).min())


class PolylineLayer(Layer):
    """World-frame polylines and polygons (map elements: lane lines, road edges, crossings...) in
    every view, in their class colour; polygons (``closed``) faintly filled in the BEV; selected
    elements white and thicker. ``style`` ``"proposal"`` (map proposals of the assist): pale
    lilac, dotted, as box proposals. Picking: a line within the tolerance, nearest first, then
    the polygons holding the point, smallest first (a lane line inside the drivable area wins)."""

    kind = "polylines"
    #: Line width (px) of an element; selected ones are drawn this much wider.
    WIDTH = 2.0
    SELECTED_EXTRA = 1.5
    FILL_ALPHA = 35

    def __init__(self, name: str = "map", style: str = "class", **values: Any) -> None:
        super().__init__(name=name, **values)
        if style not in ("class", "proposal"):
            raise ValueError(f"polyline layer style must be 'class' or 'proposal', got {style!r}")
        self.style = style
        self._items: tuple[MapElementLike, ...] = ()
        self._verts: list[F64] = []

    @property
    def data(self) -> tuple[MapElementLike, ...]:
        return self._items

    def set_data(self, elements: Iterable[MapElementLike]) -> None:
        """Replace the elements (each checked: finite (N >= 2, 3) vertices); emits ``events.data``."""
        items = tuple(elements)
        verts = [_vertices(e) for e in items]
        self._items, self._verts = items, verts
        self._data_changed()

    def _pen(self, e: MapElementLike) -> tuple[tuple[int, int, int], float]:
        if e.id in self.selected:
            return SELECTED_COLOR, self.WIDTH + self.SELECTED_EXTRA
        return (PROPOSAL_COLOR if self.style == "proposal" else class_color(e.label)), self.WIDTH

    def bev_shapes(self) -> list[Shape]:
        out = []
        for e, v in zip(self._items, self._verts, strict=True):
            color, width = self._pen(e)
            closed = bool(e.closed) and len(v) > 2
            out.append(Shape(v[:, :2], color, width, closed, fill_alpha=self.FILL_ALPHA if closed else 0,
                             key=(self.name, e.id), opacity=self.opacity, dotted=self.style == "proposal"))
        return out

    def ortho_shapes(self, view: str, ref_box: Box3D) -> list[Shape]:
        out = []
        for e, v in zip(self._items, self._verts, strict=True):
            color, width = self._pen(e)
            out.append(Shape(world_to_view(view, v, ref_box), color, width, bool(e.closed) and len(v) > 2,
                             key=("map", e.id), opacity=self.opacity))
        return out

    def camera_pieces(self, view: CameraView) -> list[tuple[Any, F64]]:
        """``(id, (M, 2) px)`` pieces of the elements in a camera (near-plane clipped, bent by the
        lens, clipped to the image; ``gui.model.camproj.project_polylines``)."""
        pieces = project_polylines(self._verts, [bool(e.closed) for e in self._items], view)
        return [(self._items[i].id, poly) for i, poly in pieces]

    def camera_lines(self, view: CameraView) -> list[LineGroup]:
        groups: dict[tuple[tuple[int, ...], float], list[F64]] = {}
        by_id = {e.id: e for e in self._items}
        for eid, poly in self.camera_pieces(view):
            color, width = self._pen(by_id[eid])
            groups.setdefault((self._alpha(color), width), []).append(poly)
        sel = {k for k in groups if k[0][:3] == SELECTED_COLOR}
        pattern = "dot" if self.style == "proposal" else ""
        return [LineGroup(c, w, "" if (c, w) in sel else pattern, tuple(groups[(c, w)]))
                for c, w in sorted(groups, key=lambda k: k in sel)]

    def pick_camera(self, view: CameraView, uv: ArrayLike, tolerance_px: float = 6.0,
                    interiors: bool = True) -> list[Hashable]:
        """Elements whose projection passes within ``tolerance_px`` of ``uv`` (nearest first),
        then (``interiors``) the polygons whose projection holds it (smallest first)."""
        p = np.asarray(uv, dtype=np.float64).reshape(2)
        near: dict[Any, float] = {}
        inside: dict[Any, float] = {}
        closed = {e.id: bool(e.closed) for e in self._items}
        for eid, poly in self.camera_pieces(view):
            d = _segment_distance(poly, p, closed[eid] and len(poly) > 2)
            if d <= tolerance_px:
                near[eid] = min(near.get(eid, math.inf), _edge(d, closed[eid]))
            elif interiors and closed[eid] and len(poly) > 2 and point_in_polygon(poly, p):
                inside[eid] = min(inside.get(eid, math.inf), abs(polygon_area(poly)))
        return _ranked(near, inside)

    def pick_3d(self, eye: ArrayLike, direction: ArrayLike, tolerance: float = 0.25,
                angle: float = 0.012, interiors: bool = True) -> list[Hashable]:
        """Elements the viewing ray passes within ``max(tolerance m, angle * range)`` of (nearest
        in angle first), then (``interiors``) the polygons whose plane (mean height) it meets
        inside them (smallest first)."""
        o = np.asarray(eye, dtype=np.float64).reshape(3)
        d = np.asarray(direction, dtype=np.float64).reshape(3)
        d = d / max(float(np.linalg.norm(d)), 1e-12)
        near: dict[Any, float] = {}
        inside: dict[Any, float] = {}
        for e, v in zip(self._items, self._verts, strict=True):
            closed = bool(e.closed) and len(v) > 2
            dist, rng = ray_polyline_distance(o, d, v, closed)
            if np.isfinite(dist) and dist <= max(tolerance, angle * rng):
                near[e.id] = _edge(dist / max(rng, 1e-6), closed)
            elif interiors and closed and abs(d[2]) > 1e-9:
                t = (float(v[:, 2].mean()) - o[2]) / d[2]
                if t > 0 and point_in_polygon(v[:, :2], (o + t * d)[:2]):
                    inside[e.id] = abs(polygon_area(v[:, :2]))
        return _ranked(near, inside)

    def segments_3d(self) -> Segments3D:
        groups: dict[str, tuple[list[F64], list[F64]]] = {"key": ([], []), "sel": ([], [])}
        for e, v in zip(self._items, self._verts, strict=True):
            ends = np.concatenate([v, v[:1]]) if e.closed and len(v) > 2 else v
            segs = np.stack([ends[:-1], ends[1:]], axis=1).reshape(-1, 3)
            sel = e.id in self.selected
            rgba = np.array((1.0, 1.0, 1.0, 1.0) if sel else (*(c / 255.0 for c in PROPOSAL_COLOR), 1.0)
                            if self.style == "proposal" else class_color_f(e.label))
            rgba[3] *= self.opacity
            g = groups["sel" if sel else "key"]
            g[0].append(segs)
            g[1].append(np.repeat(rgba[None], len(segs), axis=0))
        return Segments3D({k: (np.concatenate(p).astype(np.float32), np.concatenate(c).astype(np.float32))
                           for k, (p, c) in groups.items() if p})

    def pick_bev(self, xy: ArrayLike, tolerance: float = 0.0) -> list[Hashable]:
        p = np.asarray(xy, dtype=np.float64).reshape(-1)[:2]
        near: dict[Any, float] = {}
        inside: dict[Any, float] = {}
        for e, v in zip(self._items, self._verts, strict=True):
            closed = bool(e.closed) and len(v) > 2
            d = _segment_distance(v[:, :2], p, closed)
            if d <= tolerance:
                near[e.id] = _edge(d, closed)
            elif closed and point_in_polygon(v[:, :2], p):
                inside[e.id] = abs(polygon_area(v[:, :2]))
        return _ranked(near, inside)


#: A polygon's edge counts this much farther than a line at the same distance when picking: a kerb
#: and the drivable area's edge along it are one line on screen; the kerb is meant.
POLYGON_EDGE_PENALTY = 1.5


def _edge(d: float, closed: bool) -> float:
    """The pick score of a distance ``d`` to an element's outline (a polygon's after a line's)."""
    return d * POLYGON_EDGE_PENALTY + 1e-9 if closed else d


def _ranked(near: dict[Any, float], inside: dict[Any, float]) -> list[Hashable]:
    """Ids of the elements near the pick (by distance) then of the polygons holding it (by area)."""
    first = [k for k, _ in sorted(near.items(), key=lambda kv: (kv[1], str(kv[0])))]
    return first + [k for k, _ in sorted(inside.items(), key=lambda kv: (kv[1], str(kv[0]))) if k not in near]


#: The polygon form of the same layer (elements with ``closed`` True).
PolygonLayer = PolylineLayer


# ---- per-point labels --------------------------------------------------------------------------
@dataclass(frozen=True)
class PointClass:
    """An entry of a point-label class table: label ``id`` (uint16), ``name``, ``color`` RGB 0-255."""

    id: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class LegendEntry:
    """A row of the point-label legend: ``id``, ``name``, ``color`` RGB 0-255, ``count`` points."""

    id: int
    name: str
    color: tuple[int, int, int]
    count: int


def _color_by(v: Any) -> str:
    if v not in ("class", "instance"):
        raise ValueError(f"color_by must be 'class' or 'instance', got {v!r}")
    return str(v)


def instance_colors(instances: ArrayLike) -> NDArray[np.uint8]:
    """(N,) instance ids -> (N, 3) uint8: a stable bright colour per id (golden-ratio hues);
    id 0 (no instance) grey."""
    ids = np.asarray(instances).astype(np.int64).reshape(-1)
    h = (ids * 0.6180339887498949) % 1.0
    k = np.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], axis=1)  # HSV -> RGB, s 0.65, v 1
    rgb = 1.0 - 0.65 * np.clip(np.minimum(k, 4 - k), 0, 1)
    out = (rgb * 255).round().astype(np.uint8)
    out[ids == 0] = UNKNOWN_COLOR
    return out


class PointLabelLayer(Layer):
    """Per-point semantic (and instance) labels of one sweep: ``labels`` (N,) uint16 ids into a
    class table of :class:`PointClass`, ``unlabelled_id`` (default 0) for points not labelled yet.
    Colours per point by class or (``color_by="instance"``) by instance id; unlabelled points in
    :data:`UNLABELLED_COLOR` and drawn on top when ``highlight_unlabelled``; the legend counts the
    points of every class present. ``selected`` holds class ids drawn at full strength (others
    dimmed) when not empty."""

    kind = "point_labels"
    color_by = Field("class", _color_by, "colour points by 'class' or 'instance'")
    highlight_unlabelled = Field(True, bool, "unlabelled points bright and on top")

    def __init__(self, classes: Iterable[PointClass], name: str = "point labels", unlabelled_id: int = 0,
                 **values: Any) -> None:
        super().__init__(name=name, **values)
        table = list(classes)
        ids = [c.id for c in table]
        if len(set(ids)) != len(ids):
            raise ValueError(f"point classes have duplicate ids: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
        for c in table:
            if not 0 <= int(c.id) <= 0xFFFF:
                raise ValueError(f"point class {c.name!r}: id {c.id} is not a uint16")
        self.classes = {int(c.id): c for c in table}
        self.unlabelled_id = int(unlabelled_id)
        self._lut = np.tile(np.array(UNKNOWN_COLOR, np.uint8), (0x10000, 1))
        for c in table:
            self._lut[int(c.id)] = c.color
        self._labels = np.zeros(0, np.uint16)
        self._instances: NDArray[np.integer] | None = None

    @property
    def labels(self) -> NDArray[np.uint16]:
        return self._labels

    def set_labels(self, labels: ArrayLike, instances: ArrayLike | None = None) -> None:
        """The sweep's labels (N,) uint16 (and optional instance ids (N,)); emits ``events.data``."""
        lab = np.asarray(labels)
        if lab.ndim != 1:
            raise ValueError(f"labels must have shape (N,), got {lab.shape}")
        if lab.dtype != np.uint16:
            if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() > 0xFFFF):
                raise ValueError(f"labels must be uint16 ids, got dtype {lab.dtype}")
            lab = lab.astype(np.uint16)
        inst = None
        if instances is not None:
            inst = np.asarray(instances)
            if inst.shape != lab.shape:
                raise ValueError(f"instances must match labels {lab.shape}, got {inst.shape}")
        self._labels, self._instances = lab, inst
        self._data_changed()

    def unlabelled_mask(self) -> NDArray[np.bool_]:
        """(N,) True where a point has no label."""
        return self._labels == self.unlabelled_id

    def colors(self) -> NDArray[np.uint8]:
        """(N, 3) uint8 RGB per point (see the class doc)."""
        if self.color_by == "instance" and self._instances is not None:
            rgb = instance_colors(self._instances)
        else:
            rgb = self._lut[self._labels]
        if self.selected:
            keep = np.isin(self._labels, np.fromiter(self.selected, dtype=np.int64))
            rgb = np.where(keep[:, None], rgb, (rgb * 0.35).astype(np.uint8))
        un = self.unlabelled_mask()
        rgb[un] = UNLABELLED_COLOR if self.highlight_unlabelled else DIM_COLOR
        if self.opacity < 1.0:  # points have no alpha: fade towards black
            rgb = (rgb * self.opacity).astype(np.uint8)
        return rgb

    def order(self) -> NDArray[np.float32]:
        """(N,) drawing order: unlabelled points on top when highlighted."""
        return (self.unlabelled_mask() & self.highlight_unlabelled).astype(np.float32)

    def legend(self) -> list[LegendEntry]:
        """The classes present, by id (unlabelled first, ids the table lacks as ``"id N"``)."""
        ids, counts = np.unique(self._labels, return_counts=True)
        out = []
        for i, n in zip(ids.tolist(), counts.tolist(), strict=True):
            if i == self.unlabelled_id:
                out.append(LegendEntry(i, "unlabelled", UNLABELLED_COLOR if self.highlight_unlabelled else DIM_COLOR,
                                       n))
            elif i in self.classes:
                c = self.classes[i]
                out.append(LegendEntry(i, c.name, tuple(c.color), n))  # type: ignore[arg-type]
            else:
                out.append(LegendEntry(i, f"id {i}", UNKNOWN_COLOR, n))
        out.sort(key=lambda e: (e.id != self.unlabelled_id, e.id))
        return out

    def _check(self, pts_world: ArrayLike) -> F64:
        pts = np.asarray(pts_world)
        if pts.ndim != 2 or pts.shape[1] < 3 or len(pts) != len(self._labels):
            raise ValueError(f"points {pts.shape} do not match the {len(self._labels)} labels")
        return pts

    def bev_points(self, pts_world: ArrayLike) -> tuple[NDArray[np.floating], NDArray[np.uint8], NDArray[np.float32]]:
        """The BEV's points: world x / y (N, 2), colours (N, 3) uint8, drawing order (N,)."""
        pts = self._check(pts_world)
        return pts[:, :2], self.colors(), self.order()

    def camera_points(self, pts_world: ArrayLike, view: CameraView) -> tuple[F64, NDArray[np.uint8]]:
        """Image px (M, 2) and colours (M, 3) uint8 of the points that project into the camera
        (in front, in the image); unlabelled last (on top) when highlighted."""
        pts = self._check(pts_world)
        uv, _, valid = view.camera.project(view.to_camera(pts[:, :3]))
        rgb = self.colors()
        idx = np.flatnonzero(valid)
        idx = idx[np.argsort(self.order()[idx], kind="stable")]
        return uv[idx], rgb[idx]

    def points_3d(self, pts_world: ArrayLike) -> tuple[F64, F32]:
        """World points (N, 3) and RGB (N, 3) float32 in [0, 1] for the 3D view."""
        pts = self._check(pts_world)
        return np.asarray(pts[:, :3]), (self.colors() / np.float32(255.0)).astype(np.float32)


# ---- the list of layers ------------------------------------------------------------------------
class LayerList:
    """The window's layers in drawing order (index 0 at the bottom). ``events``:
    ``inserted(index, layer)``, ``removed(index, layer)``, ``moved(from, to)`` and
    ``changed(layer, event name)`` when a layer's data, visibility, opacity, selection or another
    field changes. Layer names are unique; ``layers["boxes"]`` finds one by name."""

    def __init__(self, layers: Iterable[Layer] = ()) -> None:
        self.events = EventGroup("inserted", "removed", "moved", "changed")
        self._layers: list[Layer] = []
        self._unbind: dict[int, list[Callable[[], None]]] = {}
        for layer in layers:
            self.append(layer)

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(list(self._layers))

    def __contains__(self, item: object) -> bool:
        return any(item is layer or item == layer.name for layer in self._layers)

    def __getitem__(self, key: int | str) -> Layer:
        return self._layers[self.index(key)] if isinstance(key, str) else self._layers[key]

    def index(self, key: Layer | str) -> int:
        """Position of a layer (or of the layer named ``key``)."""
        for i, layer in enumerate(self._layers):
            if layer is key or layer.name == key:
                return i
        raise KeyError(f"no layer {key if isinstance(key, str) else key.name!r}")

    def append(self, layer: Layer) -> Layer:
        return self.insert(len(self._layers), layer)

    def insert(self, index: int, layer: Layer) -> Layer:
        """Put ``layer`` at ``index``; a second layer of the same name is refused (ValueError)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"not a layer: {layer!r}")
        if layer.name in self:
            raise ValueError(f"a layer named {layer.name!r} is already in the list")
        index = max(0, min(int(index), len(self._layers)))
        self._layers.insert(index, layer)
        self._unbind[id(layer)] = [
            layer.events[n].connect(lambda *_, n=n, layer=layer: self.events.changed.emit(layer, n))
            for n in layer.events.names]
        self.events.inserted.emit(index, layer)
        return layer

    def remove(self, key: Layer | str) -> Layer:
        i = self.index(key)
        layer = self._layers.pop(i)
        for u in self._unbind.pop(id(layer), []):
            u()
        self.events.removed.emit(i, layer)
        return layer

    def move(self, src: int, dst: int) -> None:
        """Move the layer at ``src`` to position ``dst`` (drawn later when ``dst`` is larger)."""
        n = len(self._layers)
        if not (0 <= src < n and 0 <= dst < n):
            raise IndexError(f"move {src} -> {dst} outside 0..{n - 1}")
        if src == dst:
            return
        self._layers.insert(dst, self._layers.pop(src))
        self.events.moved.emit(src, dst)

    def visible(self) -> list[Layer]:
        """The visible layers, bottom first."""
        return [layer for layer in self._layers if layer.visible]

    # ---- drawing data of all visible layers, bottom first ------------------------------------
    def bev_shapes(self) -> list[Shape]:
        return [s for layer in self.visible() for s in layer.bev_shapes()]

    def ortho_shapes(self, view: str, ref_box: Box3D) -> list[Shape]:
        return [s for layer in self.visible() for s in layer.ortho_shapes(view, ref_box)]

    def camera_lines(self, view: CameraView) -> list[LineGroup]:
        return [g for layer in self.visible() for g in layer.camera_lines(view)]

    def segments_3d(self) -> Segments3D:
        return Segments3D.merge(layer.segments_3d() for layer in self.visible())

    def pick_bev(self, xy: ArrayLike, tolerance: float = 0.0) -> list[tuple[str, Hashable]]:
        """``(layer name, id)`` under world ``xy``: the top layer's hits first."""
        return [(layer.name, i) for layer in reversed(self.visible()) for i in layer.pick_bev(xy, tolerance)]

    def pick_camera(self, view: CameraView, uv: ArrayLike) -> list[tuple[str, Hashable]]:
        return [(layer.name, i) for layer in reversed(self.visible()) for i in layer.pick_camera(view, uv)]
