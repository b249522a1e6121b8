"""Point-labeling tools, Qt-free and vectorised: each builds one undoable command.

Every tool reads the sweeps through :class:`Sweeps` (world-frame points of the labelled LiDAR per
frame, and the sensor's world position per frame) and returns a
:class:`~fusionlabel.pointlabels.commands.SetPointLabels` for the caller to push on the undo stack
(None when nothing would change).

- :func:`fill_from_boxes`: every point inside a track's box gets the track's class and instance, in
  every frame of the track (all tracks by default): one command.
- :func:`ground_and_road`: points within ``height`` m above the ground estimate
  (:func:`fusionlabel.assist.ground.fit_ground` per sweep, or a given model) and ``max_distance`` m
  of the sensor become road (within ``road_width`` m of the ego's path) or ground: one command
  for the sequence. Points of an instance (inside a box) and already labelled points are kept
  unless ``overwrite``.
- :func:`lasso_mask` / :func:`brush_mask` (BEV polygon or disc, world x y metres, with an optional
  z band) and :func:`label_mask`: the selection tools' data side.
- :func:`cleanup_small_clusters`: connected components of each label (points closer than
  ``radius`` m are connected); components smaller than ``min_points`` that are not their label's
  largest take the label of their nearest differently-labelled neighbour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.geometry import boxes_to_array, points_in_any_box
from fusionlabel.pointlabels.classes import NO_INSTANCE, UNLABELLED
from fusionlabel.pointlabels.commands import PointEdit, SetPointLabels
from fusionlabel.pointlabels.store import instance_of_track, labels_of

F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]
#: Points of a sweep used to fit its ground surface (a regular subsample of the sweep).
FIT_POINTS = 30_000


@dataclass
class Sweeps:
    """The sweeps to label: ``points_of(frame)`` -> (N, 3) world-frame points (m) of the labelled
    LiDAR in the sweep's point order; ``origins`` (F, 3) the sensor's world position per frame."""

    points_of: Callable[[int], ArrayLike]
    origins: F64
    frame_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.origins = np.asarray(self.origins, dtype=np.float64).reshape(-1, 3)
        self.frame_count = len(self.origins)

    def points(self, frame: int) -> F64:
        """(N, 3) float64 world points of ``frame``."""
        return self.raw(frame).astype(np.float64, copy=False)[:, :3]

    def raw(self, frame: int) -> NDArray[np.floating]:
        """(N, 3+) world points of ``frame`` as given (float32 stays float32: no copy)."""
        p = np.asarray(self.points_of(frame))
        if p.dtype.kind != "f":
            p = p.astype(np.float64)
        if p.ndim != 2 or p.shape[1] < 3:
            raise ModelError(f"sweep of frame {frame}: points must be (N, 3+), got {p.shape}")
        return p


def _boxes_by_frame(doc: AnnotationDocument, track_ids: Sequence[int], frames: Iterable[int]
                    ) -> dict[int, tuple[list[int], list[Box3D]]]:
    """frame -> (track ids ascending, their world boxes) of ``track_ids`` at ``frames``: each
    track resolved once over all its frames (keyframes, tracked, interpolated and held boxes as
    in :meth:`~fusionlabel.document.AnnotationDocument.boxes_at`, interpolation done per track
    rather than per frame)."""
    frame_list = [doc.check_frame(f) for f in frames]
    out: dict[int, tuple[list[int], list[Box3D]]] = {}
    times = doc.frame_times_ns
    for tid in sorted(track_ids):
        t = doc.track(tid)
        span = t.span()
        if span is None:
            continue
        fs = [f for f in frame_list if span[0] <= f <= span[1]]
        for f, (box, _, _) in zip(fs, t.resolve(fs, times), strict=True):
            if box is not None:
                ids, boxes = out.setdefault(f, ([], []))
                ids.append(tid)
                boxes.append(box)
    return out


@dataclass
class FillReport:
    """What :func:`fill_from_boxes` found: points labelled per class name, frames touched and the
    tracks skipped because their class maps to no point class."""

    points: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    unmapped: dict[int, str] = field(default_factory=dict)


def fill_from_boxes(
    doc: AnnotationDocument,
    sweeps: Sweeps,
    *,
    track_ids: Iterable[int] | None = None,
    frames: Iterable[int] | None = None,
    ontology: Any = None,
    margin: float = 0.0,
    report: FillReport | None = None,
) -> SetPointLabels | None:
    """One command giving every point inside a track's box (world frame, ``margin`` m around it)
    the track's class and instance (:func:`instance_of_track`), in every frame where the track has
    a box (any state: keyframe, tracked, interpolated, held). ``track_ids`` None: all tracks;
    ``frames`` None: every frame. Where boxes overlap, the lowest track id wins."""
    labels = labels_of(doc)
    table = labels.table
    wanted = None if track_ids is None else set(int(t) for t in track_ids)
    cls_of: dict[int, int | None] = {}
    for tid, t in doc.tracks.items():
        if wanted is None or tid in wanted:
            cls_of[tid] = table.class_for_label(t.label, ontology)
            if cls_of[tid] is None and report is not None:
                report.unmapped[tid] = t.label
    frame_list = range(sweeps.frame_count) if frames is None else sorted(set(int(f) for f in frames))
    by_frame = _boxes_by_frame(doc, [t for t, c in sorted(cls_of.items()) if c is not None], frame_list)
    edits: dict[int, PointEdit] = {}
    for f in frame_list:
        if f not in by_frame:
            continue
        tids, boxes = by_frame[f]
        pts = sweeps.raw(f)
        idx, b = points_in_any_box(pts, boxes_to_array(boxes), margin)
        if idx.size == 0:
            continue
        sem_lut = np.array([cls_of[t] for t in tids], dtype=np.uint8)
        inst_lut = np.array([instance_of_track(t) for t in tids], dtype=np.uint16)
        edits[f] = PointEdit(idx, sem_lut[b], inst_lut[b], len(pts))
        if report is not None:
            report.frames += 1
            for k, c in zip(*np.unique(sem_lut[b], return_counts=True), strict=True):
                name = table.name(int(k))
                report.points[name] = report.points.get(name, 0) + int(c)
    if not edits:
        return None
    return SetPointLabels(edits, "Fill points from boxes")


def _path_samples(origins: F64, extend: float = 0.0, step: float = 0.5) -> tuple[F64, F64]:
    """Points every ``step`` m along the BEV polyline of the sensor positions (M, 2) and the unit
    direction of travel at each (M, 2); the path goes on ``extend`` m beyond both ends with the
    path's mean curvature (the road continues as it bends)."""
    xy = origins[:, :2]
    seg = np.diff(xy, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    moving = length > 1e-6
    if not moving.any():  # a standing sensor: its position, heading +x
        return xy[:1].copy(), np.array([[1.0, 0.0]])
    seg, length, a = seg[moving], length[moving], xy[:-1][moving]
    head = np.unwrap(np.arctan2(seg[:, 1], seg[:, 0]))
    total = float(length.sum())
    kappa = float(head[-1] - head[0]) / total if total > 1.0 else 0.0
    n = np.maximum(1, np.ceil(length / step).astype(int))
    t = np.concatenate([np.arange(k) / k for k in n])
    rep = np.repeat(np.arange(len(seg)), n)
    pts = [a[rep] + t[:, None] * seg[rep], xy[-1:]]
    heads = [head[rep], head[-1:]]
    if extend > 0:
        s = np.arange(1, int(np.ceil(extend / step)) + 1) * step
        for p0, h0, sign in ((xy[-1], head[-1], 1.0), (xy[0], head[0], -1.0)):
            h = h0 + sign * kappa * s
            # integrate the heading along the arc (midpoint rule per step)
            hm = h - sign * kappa * step / 2
            pts.append(p0 + sign * np.cumsum(step * np.c_[np.cos(hm), np.sin(hm)], axis=0))
            heads.append(h)
    hh = np.concatenate(heads)
    return np.concatenate(pts), np.c_[np.cos(hh), np.sin(hh)]


class RoadPath:
    """The ego's path for the road test: samples of the BEV polyline of the sensor positions
    ``origins`` (F, 3), continued ``extend`` m beyond both ends with the path's mean curvature."""

    def __init__(self, origins: F64, extend: float = 80.0) -> None:
        self.samples, self.dirs = _path_samples(np.asarray(origins, dtype=np.float64).reshape(-1, 3), extend)
        self.tree = cKDTree(self.samples)

    def mask(self, xy: F64, road_width: float | tuple[float, float]) -> Mask:
        """(M,) True for BEV points ``xy`` (M, 2) within ``road_width`` m of the path, or (left,
        right) m to the left / right of the direction of travel."""
        left, right = (road_width, road_width) if np.ndim(road_width) == 0 else road_width  # type: ignore[misc]
        d, i = self.tree.query(xy, distance_upper_bound=max(left, right))
        ok = np.isfinite(d)
        j = np.minimum(i[ok], len(self.samples) - 1)
        rel = xy[ok] - self.samples[j]
        side = self.dirs[j, 0] * rel[:, 1] - self.dirs[j, 1] * rel[:, 0]  # > 0: left of the travel
        out = np.zeros(len(xy), dtype=bool)
        out[np.flatnonzero(ok)] = np.where(side > 0, d[ok] <= left, d[ok] <= right)
        return out


def ground_and_road(
    doc: AnnotationDocument,
    sweeps: Sweeps,
    *,
    frames: Iterable[int] | None = None,
    height: float = 0.2,
    max_distance: float = 80.0,
    road_width: float | tuple[float, float] | None = 8.0,
    road_class: str = "flat.driveable_surface",
    ground_class: str = "flat.other",
    ground_of: Callable[[int, F64], Any] | None = None,
    overwrite: bool = False,
) -> SetPointLabels | None:
    """One command for the sequence: ground points become ``road_class`` within ``road_width`` m
    (BEV) of the path of the sensor positions (all frames; a pair: (left, right) of the direction of
    travel, see :class:`RoadPath`), else ``ground_class`` (``road_width`` None: all ``ground_class``).
    A point is ground when it lies less than ``height`` m above the ground surface of its sweep
    and within ``max_distance`` m (BEV) of the sensor. The surface is ``ground_of(frame,
    pts_world)`` (anything with ``height_above``) or a :func:`~fusionlabel.assist.ground.fit_ground`
    grid fit of a subsample of the sweep (:data:`FIT_POINTS`). Points with an instance or a class
    are kept unless ``overwrite``."""
    from fusionlabel.assist.ground import fit_ground

    labels = labels_of(doc)
    table = labels.table
    road_i = table.index(road_class)
    ground_i = table.index(ground_class)
    frame_list = range(sweeps.frame_count) if frames is None else sorted(set(int(f) for f in frames))
    path = RoadPath(sweeps.origins, max_distance) if road_width is not None else None
    edits: dict[int, PointEdit] = {}
    for f in frame_list:
        pts = sweeps.points(f)
        if len(pts) == 0:
            continue
        o = sweeps.origins[f]
        near = np.hypot(pts[:, 0] - o[0], pts[:, 1] - o[1]) <= max_distance
        try:
            # the fit needs no full sweep: a regular subsample of at most FIT_POINTS points
            sub = pts[:: max(1, len(pts) // FIT_POINTS)]
            model = ground_of(f, pts) if ground_of is not None else fit_ground(sub, o, frame="world")
        except ValueError:  # too few points for a ground fit: nothing to label in this sweep
            continue
        ok = near & (np.asarray(model.height_above(pts)) < height)
        if not overwrite:
            lab = labels.get(f, len(pts))
            ok &= (lab.semantic == UNLABELLED) & (lab.instance == NO_INSTANCE)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            continue
        sem = np.full(idx.size, ground_i, dtype=np.uint8)
        if path is not None:
            sem[path.mask(pts[idx, :2], road_width)] = road_i  # type: ignore[arg-type]
        edits[f] = PointEdit(idx, sem, NO_INSTANCE, len(pts))
    if not edits:
        return None
    return SetPointLabels(edits, "Label ground and road")


# ---- BEV selection ---------------------------------------------------------------------------------
def _z_band(pts: F64, z_band: Sequence[float] | None) -> Mask:
    if z_band is None:
        return np.ones(len(pts), dtype=bool)
    lo, hi = float(z_band[0]), float(z_band[1])
    if hi < lo:
        raise ModelError(f"height band: {lo} > {hi}")
    return (pts[:, 2] >= lo) & (pts[:, 2] <= hi)


def lasso_mask(pts: ArrayLike, polygon: ArrayLike, z_band: Sequence[float] | None = None) -> Mask:
    """(N,) True for points whose (x, y) lie inside ``polygon`` (K, 2) (even-odd rule; any
    closed polygon, convex or not) and whose z is in ``z_band`` (lo, hi), all in one frame, m."""
    p = np.asarray(pts, dtype=np.float64)
    p = p.reshape(-1, p.shape[-1])[:, :3]
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(poly) < 3:
        raise ModelError(f"lasso: a polygon needs 3 vertices or more, got {len(poly)}")
    mask = _z_band(p, z_band)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    cand = np.flatnonzero(mask & (p[:, 0] >= lo[0]) & (p[:, 0] <= hi[0]) & (p[:, 1] >= lo[1]) & (p[:, 1] <= hi[1]))
    x, y = p[cand, 0], p[cand, 1]
    inside = np.zeros(cand.size, dtype=bool)
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    for a, b, c, d in zip(x1, y1, x2, y2, strict=True):
        crosses = (b > y) != (d > y)
        if not crosses.any():
            continue
        xi = a + (y - b) * (c - a) / np.where(d == b, 1.0, d - b)
        inside ^= crosses & (x < xi)
    out = np.zeros(len(p), dtype=bool)
    out[cand[inside]] = True
    return out


def brush_mask(pts: ArrayLike, center: Sequence[float], radius: float, z_band: Sequence[float] | None = None) -> Mask:
    """(N,) True for points within ``radius`` m (BEV) of ``center`` (x, y) and in ``z_band``."""
    p = np.asarray(pts, dtype=np.float64)[:, :3]
    if radius <= 0:
        raise ModelError(f"brush: radius must be positive, got {radius}")
    return _z_band(p, z_band) & (np.hypot(p[:, 0] - center[0], p[:, 1] - center[1]) <= radius)


def label_mask(doc: AnnotationDocument, frame: int, mask: ArrayLike, semantic: int | str | None = None,
               instance: int | None = None, *, only_unlabelled: bool = False,
               description: str = "Label points") -> SetPointLabels | None:
    """A command labelling the points of ``mask`` (N,) at ``frame`` with ``semantic`` (an index or
    a class name) and/or ``instance``; ``only_unlabelled`` keeps points that have a class."""
    return label_masks(doc, {frame: mask}, semantic, instance, only_unlabelled=only_unlabelled,
                       description=description)


def label_masks(doc: AnnotationDocument, masks: Mapping[int, ArrayLike], semantic: int | str | None = None,
                instance: int | None = None, *, only_unlabelled: bool = False,
                description: str = "Label points") -> SetPointLabels | None:
    """One command labelling, in every frame of ``masks`` (frame -> (N,) bool over that sweep),
    the selected points (see :func:`label_mask`): a stroke over accumulated sweeps labels each
    sweep's own points in one undo step. None when nothing is selected."""
    labels = labels_of(doc)
    sem = labels.table.index(semantic) if isinstance(semantic, str) else semantic
    edits: dict[int, PointEdit] = {}
    for frame, mask in masks.items():
        m = np.asarray(mask, dtype=bool).reshape(-1)
        if only_unlabelled:
            m = m & (labels.get(frame, len(m)).semantic == UNLABELLED)
        idx = np.flatnonzero(m)
        if idx.size:
            edits[int(frame)] = PointEdit(idx, sem, instance, len(m))
    return SetPointLabels(edits, description) if edits else None


def camera_lasso_mask(pts: ArrayLike, polygon_uv: ArrayLike, camera: Any, T_cam_from_world: ArrayLike, *,
                      z_band: Sequence[float] | None = None, nearest_only: bool = False,
                      depth_tol: float = 0.5, cell_px: float = 4.0) -> Mask:
    """(N,) True for world points ``pts`` (N, 3) m in front of ``camera`` (a
    :class:`calib.camera.CameraModel`, pose ``T_cam_from_world`` (4, 4)) whose projection lies in
    the image and inside ``polygon_uv`` (K, 2) image px (even-odd rule), with world z in
    ``z_band``. ``nearest_only``: only the visible surface, points at most ``depth_tol`` m behind
    the nearest selected point of their ``cell_px`` x ``cell_px`` pixel cell (the frustum's
    background and what a wall hides stay out)."""
    p = np.asarray(pts, dtype=np.float64)
    p = p.reshape(-1, p.shape[-1])[:, :3]
    poly = np.asarray(polygon_uv, dtype=np.float64).reshape(-1, 2)
    if len(poly) < 3:
        raise ModelError(f"camera lasso: a polygon needs 3 vertices or more, got {len(poly)}")
    if cell_px <= 0 or depth_tol < 0:
        raise ModelError(f"camera lasso: cell_px must be > 0 and depth_tol >= 0, got {cell_px}, {depth_tol}")
    T = np.asarray(T_cam_from_world, dtype=np.float64)
    cand = np.flatnonzero(_z_band(p, z_band))
    pc = p[cand] @ T[:3, :3].T + T[:3, 3]
    front = pc[:, 2] > 0
    cand, pc = cand[front], pc[front]
    uv, depth, valid = camera.project(pc)
    cand, uv, depth = cand[valid], uv[valid], depth[valid]
    inside = lasso_mask(np.c_[uv, np.zeros(len(uv))], poly)
    cand, uv, depth = cand[inside], uv[inside], depth[inside]
    if nearest_only and cand.size:
        cell = np.floor((uv + 0.5) / cell_px).astype(np.int64)  # image px from -0.5: cells from 0
        key = cell[:, 0] * (int(camera.height / cell_px) + 2) + cell[:, 1]
        _, inv = np.unique(key, return_inverse=True)
        near = np.full(inv.max() + 1, np.inf)
        np.minimum.at(near, inv, depth)
        keep = depth <= near[inv] + depth_tol
        cand = cand[keep]
    out = np.zeros(len(p), dtype=bool)
    out[cand] = True
    return out


# ---- small-cluster cleanup -------------------------------------------------------------------------
def small_cluster_edit(pts: ArrayLike, semantic: ArrayLike, instance: ArrayLike, *, radius: float = 0.5,
                       min_points: int = 5) -> PointEdit | None:
    """The edit that relabels the small stray pieces of each label of one sweep (module doc):
    ``pts`` (N, 3) m, ``semantic`` / ``instance`` (N,). Unlabelled points are left alone."""
    p = np.asarray(pts, dtype=np.float64)[:, :3]
    sem = np.asarray(semantic, dtype=np.int64)
    inst = np.asarray(instance, dtype=np.int64)
    key = sem * 65536 + inst
    labelled = sem != UNLABELLED
    if not labelled.any():
        return None
    pairs = cKDTree(p).query_pairs(radius, output_type="ndarray")
    if len(pairs):
        pairs = pairs[key[pairs[:, 0]] == key[pairs[:, 1]]]
    n = len(p)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else \
        coo_matrix((n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    # the largest component of each label stays whatever its size
    order = np.lexsort((-sizes[comp], key))
    first_of_key = np.ones(n, dtype=bool)
    first_of_key[1:] = key[order][1:] != key[order][:-1]
    largest = np.zeros(sizes.size, dtype=bool)
    largest[comp[order[first_of_key]]] = True
    small = labelled & (sizes[comp] < min_points) & ~largest[comp]
    idx = np.flatnonzero(small)
    if idx.size == 0:
        return None
    others = np.flatnonzero(labelled & ~small)
    if others.size == 0:
        return None
    _, nn = cKDTree(p[others]).query(p[idx])
    src = others[nn]
    return PointEdit(idx, sem[src].astype(np.uint8), inst[src].astype(np.uint16), n)


def cleanup_small_clusters(doc: AnnotationDocument, sweeps: Sweeps, *, frames: Iterable[int] | None = None,
                           radius: float = 0.5, min_points: int = 5) -> SetPointLabels | None:
    """One command applying :func:`small_cluster_edit` to the labelled ``frames`` (default: every
    frame with labels)."""
    labels = labels_of(doc)
    frame_list = labels.labelled_frames() if frames is None else sorted(set(int(f) for f in frames))
    edits: dict[int, PointEdit] = {}
    for f in frame_list:
        pts = sweeps.points(f)
        lab = labels.get(f, len(pts))
        e = small_cluster_edit(pts, lab.semantic, lab.instance, radius=radius, min_points=min_points)
        if e is not None:
            edits[f] = e
    return SetPointLabels(edits, "Clean up small clusters") if edits else None
