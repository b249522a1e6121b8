"""Image-first boxes: a 2D rectangle dragged in a camera image becomes a 3D box.

:func:`box_from_image_rect` takes the rectangle (pixels of that camera, the convention of
:mod:`calib.camera`: pixel centres at integers), the camera's :class:`~calib.camera.CameraModel`
(distortion included) and its pose ``T_world_from_cam`` at that frame, the sweep's LiDAR points
in the ``world`` frame and the ground (:mod:`fusionlabel.assist.ground`, fitted in the world
frame), and returns an :class:`ImageBoxFit`: a world-frame :class:`~fusionlabel.box.Box3D`, a
class, a confidence in [0, 1] and a reason.

Method:

1. **Frustum.** The points are moved into the camera frame and projected through the camera
   model (distortion, valid field of view, near plane); those whose pixel lies inside the
   rectangle and that stand at least ``FitParams.segment_min_height`` above the ground (and below
   ``max_object_height``) are the frustum's object points.
2. **Nearest surface.** Sorted by their distance from the camera, the frustum points split into
   depth clusters wherever consecutive distances jump by more than ``depth_gap`` (+
   ``depth_gap_per_m`` per metre), and each depth cluster into the parts of the one-click
   segmentation (``FitParams.one_click_cluster``; parked cars side by side lie at one depth).
   Candidates are the parts with at least ``min_points`` points whose pixels' bounding box covers
   at least ``min_cover`` of the rectangle (a depth cluster none of whose parts does stands as
   one), tried front to back (those covering at least half as much as the best one first): the car
   before the wall behind it (the wall fills the rectangle around the car but lies deeper); a pole
   crossing a thin column of the rectangle is no candidate.
3. **Fit.** Each candidate is boxed by the one-click fit
   (:func:`fusionlabel.assist.fit.box_from_click`: segmentation, free space, class size for partly
   seen objects, bottom on the ground) seeded at its point nearest its BEV median, then at its
   point seen nearest the rectangle's centre (a labeler centres the rectangle on the object; an
   occluder covers a side of it); when neither segment holds ``seed_share`` of the cluster's
   points, the cluster itself is boxed too (:func:`fusionlabel.assist.fit.box_from_cluster`).
4. **Check.** Each fitted box is projected back (:func:`calib.projection.box_extent2d`) and
   compared with the rectangle (2D IoU). Of at most ``max_candidates`` groups, the first whose box
   reaches ``sure_iou2d`` wins at once; else the best match wins (an earlier group within
   ``iou_tie`` of it first) if it reaches ``accept_iou2d``: a car or a cyclist in front that covers
   part of the rectangle (an occluder) is passed over for the car behind it. Otherwise the best
   match is returned, named a poor match, unless the ground-ray box (step 5) projects with a higher
   2D IoU (the object's own points are missing and the surfaces seen are the wall behind it or a
   neighbour). The confidence (:func:`fit_confidence`) says how far the box can be trusted:
   the 2D agreement of its projection with the rectangle, the number of object points it was
   fitted to, whether its size is one the class takes, the class probability when the class was
   guessed, and whether the object was seen only in part (a good fit of a well-seen car scores
   about 0.85-1; a box whose projection misses the rectangle or that rests on a dozen points
   scores low).
5. **Sparse objects.** With no candidate (fewer than ``min_points`` object points on one surface)
   the box stands on the ground where the ray through the rectangle's bottom centre meets it (the
   object's nearest contact with the ground), pushed back along the ray by half its depth; when the
   rectangle ends at the image's lower edge (the bottom is cut off), the ray through its top centre
   meets the class's typical height above the ground instead. Size: the class's typical one (class
   given, or guessed from the rectangle's metric size at that distance); heading along the ego's
   axis (``ego_yaw``; the sign that points away from the camera) or else along the ray; confidence
   ``fallback_confidence``. When the ray does not descend to the ground within ``max_range``, the
   distance comes from the class's typical height and the rectangle's height.

Frames: ``T_world_from_cam`` maps the camera's optical frame (x right, y down, z forward) to the
world frame; points, ground, ``origin`` (the LiDAR's position) and the returned box are in the
world frame. Metres, radians, pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.camera import CameraModel
from calib.projection import box_extent2d
from calib.transforms import check_transform, invert, wrap_angle
from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS, BoxFit, FitParams, box_from_click, box_from_cluster
from fusionlabel.assist.fit.classes import guess_class, resolve_class
from fusionlabel.assist.ground import GroundModel, fit_ground, flat_ground
from fusionlabel.box import Box3D
from fusionlabel.ontology import Ontology

F64 = NDArray[np.float64]
Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class ImageBoxParams:
    """Knobs of :func:`box_from_image_rect` (metres, pixels)."""

    #: Points closer than this (m, camera z) are not projected.
    near: float = 0.3
    #: Depth clusters split where the distance from the camera jumps by more than this (m) ...
    depth_gap: float = 0.8
    #: ... plus this much per metre of distance (range noise and sparse rings grow with range).
    depth_gap_per_m: float = 0.02
    #: Fewest object points for a fitted box; fewer give the ground-ray box.
    min_points: int = 8
    #: A depth cluster's pixels must cover at least this share of the rectangle (bounding boxes).
    min_cover: float = 0.2
    #: Unless a one-click segment holds at least this share of a depth cluster's points, the cluster
    #: itself is boxed as well.
    seed_share: float = 0.5
    #: At most this many groups of points are fitted, in order; the first whose box projects with
    #: at least ``sure_iou2d`` 2D IoU with the rectangle wins at once, else the best match (a group
    #: tried earlier within ``iou_tie`` of it wins) when it reaches ``accept_iou2d``.
    max_candidates: int = 4
    #: No further group is fitted once this many boxes were tried and one reaches ``accept_iou2d``
    #: (each one-click fit costs 50-300 ms).
    max_fits: int = 3
    sure_iou2d: float = 0.85
    iou_tie: float = 0.05
    accept_iou2d: float = 0.5
    #: Confidence of a ground-ray box (class prior size, no points).
    fallback_confidence: float = 0.15
    #: Confidence of a fitted box (:func:`fit_confidence`): its 2D IoU with the rectangle counts
    #: from ``conf_iou_low`` (0) to ``conf_iou_high`` (1); the points from ``1 - exp(-n / conf_points)``;
    #: a partly seen object is scaled by ``conf_partial``; a size outside the class's limits by
    #: ``exp(-(excess / (conf_size_tol x limit))^2)`` per dimension.
    conf_iou_low: float = 0.5
    conf_iou_high: float = 0.9
    conf_points: float = 25.0
    conf_partial: float = 0.85
    conf_size_tol: float = 0.15
    #: The ground ray is followed this far (m); beyond, the distance comes from the height prior.
    max_range: float = 150.0
    #: A rectangle smaller than this (px, either side) is refused.
    min_rect_px: float = 2.0


DEFAULT_IMAGE_BOX_PARAMS = ImageBoxParams()


@dataclass(frozen=True)
class ImageBoxFit:
    """Result of :func:`box_from_image_rect`.

    ``box`` (world frame) and ``label`` (None when nothing could be made), ``confidence`` in [0, 1],
    ``reason`` (what was done, and why when it is a fallback or a poor match), ``source``:
    ``"points"`` (fitted to the object's points), ``"ground_ray"`` (sparse object: class prior size
    on the ground ray) or ``"none"``; ``indices`` of the object's points in the input array;
    ``iou2d`` the 2D IoU of the box's projection with the rectangle (None when not projected);
    ``fit`` the underlying one-click fit when there was one."""

    box: Box3D | None
    label: str | None
    confidence: float
    reason: str
    source: str
    indices: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    iou2d: float | None = None
    fit: BoxFit | None = None

    @property
    def low_confidence(self) -> bool:
        """True for a ground-ray box or a poor match with the rectangle."""
        return self.source != "points" or (self.iou2d is not None and self.iou2d < 0.5)


def normalize_rect(rect: ArrayLike, camera: CameraModel, min_px: float = 2.0) -> Rect:
    """``(u0, v0, u1, v1)`` pixels with u0 < u1, v0 < v1, clipped to the image; ValueError when it
    is not 4 finite numbers, lies outside the image or is thinner than ``min_px``."""
    r = np.asarray(rect, dtype=np.float64).reshape(-1)
    if r.shape != (4,) or not np.isfinite(r).all():
        raise ValueError(f"rectangle must be 4 finite numbers (u0, v0, u1, v1) px, got {rect!r}")
    x0, y0, x1, y1 = camera.image_rect()
    u0, u1 = sorted((float(r[0]), float(r[2])))
    v0, v1 = sorted((float(r[1]), float(r[3])))
    u0, u1 = max(u0, x0), min(u1, x1)
    v0, v1 = max(v0, y0), min(v1, y1)
    if u1 - u0 < min_px or v1 - v0 < min_px:
        raise ValueError(f"rectangle {tuple(float(v) for v in r)} is empty or thinner than {min_px} px "
                         f"inside the {camera.width} x {camera.height} image")
    return (u0, v0, u1, v1)


def rect_iou(a: Rect, b: Rect) -> float:
    """IoU of two axis-aligned rectangles ``(u0, v0, u1, v1)``."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def projected_rect(box: Box3D, camera: CameraModel, T_world_from_cam: ArrayLike) -> Rect | None:
    """The image-clipped 2D extent (pixels) of a world-frame box in the camera, or None."""
    T_cam_from_world = invert(np.asarray(T_world_from_cam, dtype=np.float64))
    corners = np.asarray(box.corners()) @ T_cam_from_world[:3, :3].T + T_cam_from_world[:3, 3]
    ext = box_extent2d(corners, camera)
    return None if ext is None else ext.clipped


def frustum_points(
    points_world: ArrayLike, rect: Rect, camera: CameraModel, T_world_from_cam: ArrayLike, near: float = 0.3
) -> tuple[NDArray[np.intp], F64, F64]:
    """Indices of the world points (N, 3+) whose projection lies in ``rect`` (pixels; in front of
    ``near``, inside the valid field of view), their pixels (M, 2) and their distance from the
    camera centre (M,) m."""
    p = np.asarray(points_world, dtype=np.float64)
    p = p.reshape(-1, p.shape[-1])[:, :3] if p.size else np.zeros((0, 3))
    T = invert(np.asarray(T_world_from_cam, dtype=np.float64))
    pts_cam = p @ T[:3, :3].T + T[:3, 3]
    uv, _, valid = camera.project(pts_cam, near=near, require_in_image=False)
    u0, v0, u1, v1 = rect
    with np.errstate(invalid="ignore"):
        inside = valid & (uv[:, 0] >= u0) & (uv[:, 0] <= u1) & (uv[:, 1] >= v0) & (uv[:, 1] <= v1)
    idx = np.flatnonzero(inside)
    return idx, uv[idx], np.linalg.norm(pts_cam[idx], axis=1)


def surface_candidates(
    dist: ArrayLike, uv: ArrayLike, rect: Rect, params: ImageBoxParams = DEFAULT_IMAGE_BOX_PARAMS
) -> list[NDArray[np.intp]]:
    """The depth clusters of the frustum's object points (see the module doc, step 2) that may be
    the object, in the order they are tried: positions into ``dist`` (M,) m / ``uv`` (M, 2) px.
    Clusters with ``params.min_points`` points whose pixels cover ``params.min_cover`` of the
    rectangle; first, front to back, those covering at least half as much as the best one, then the
    others front to back."""
    d = np.asarray(dist, dtype=np.float64).reshape(-1)
    q = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    if len(d) == 0:
        return []
    order = np.argsort(d, kind="stable")
    ds = d[order]
    gaps = np.diff(ds) > params.depth_gap + params.depth_gap_per_m * ds[:-1]
    starts = np.concatenate([[0], np.flatnonzero(gaps) + 1])
    ends = np.concatenate([starts[1:], [len(ds)]])
    area = max((rect[2] - rect[0]) * (rect[3] - rect[1]), 1e-9)
    clusters = []
    for s, e in zip(starts, ends, strict=True):
        members = order[s:e]
        if len(members) < params.min_points:
            continue
        lo, hi = q[members].min(axis=0), q[members].max(axis=0)
        cover = max(hi[0] - lo[0], 0.0) * max(hi[1] - lo[1], 0.0) / area
        if cover >= params.min_cover:
            clusters.append((np.sort(members), cover))
    if not clusters:
        return []
    best = max(c for _, c in clusters)
    return [m for m, c in clusters if c >= 0.5 * best] + [m for m, c in clusters if c < 0.5 * best]


def _ground_of(points: F64, ground: GroundModel | None, origin: F64 | None) -> GroundModel:
    if ground is not None:
        return ground
    if len(points) >= 10:
        return fit_ground(points, origin)
    return flat_ground(0.0)


def box_from_image_rect(
    rect: ArrayLike,
    camera: CameraModel,
    T_world_from_cam: ArrayLike,
    points_world: ArrayLike,
    ground: GroundModel | None = None,
    ontology: Ontology | None = None,
    class_hint: str | None = None,
    *,
    origin: ArrayLike | None = None,
    ego_yaw: float | None = None,
    params: ImageBoxParams = DEFAULT_IMAGE_BOX_PARAMS,
    fit_params: FitParams = DEFAULT_FIT_PARAMS,
) -> ImageBoxFit:
    """A world-frame box from a rectangle ``rect`` = (u0, v0, u1, v1) pixels dragged in the image of
    ``camera`` whose pose at this frame is ``T_world_from_cam`` (4, 4). ``points_world`` (N, 3+):
    the sweep in the world frame; ``ground``: fitted in the world frame (None: fitted here);
    ``class_hint``: the class to use (None: guessed from the size); ``origin``: the LiDAR's
    position in the world frame (default: the camera's); ``ego_yaw``: the ego's heading in the
    world frame (rad), used for the heading of a sparse object. See the module doc."""
    onto = ontology or Ontology.default()
    T = check_transform(np.asarray(T_world_from_cam, dtype=np.float64), "T_world_from_cam")
    r = normalize_rect(rect, camera, params.min_rect_px)
    p = np.asarray(points_world, dtype=np.float64)
    p = p.reshape(-1, p.shape[-1])[:, :3] if p.size else np.zeros((0, 3))
    sensor = T[:3, 3].copy() if origin is None else np.asarray(origin, dtype=np.float64).reshape(3)
    g = _ground_of(p, ground, sensor)
    if class_hint is not None and resolve_class(onto, class_hint) is None:
        raise ValueError(f"unknown class {class_hint!r}")
    idx, uv, dist = frustum_points(p, r, camera, T, params.near)
    if len(idx):
        dz = g.height_above(p[idx])
        keep = (dz >= fit_params.segment_min_height) & (dz <= fit_params.max_object_height)
        idx, uv, dist = idx[keep], uv[keep], dist[keep]
    cands = surface_candidates(dist, uv, r, params)[: params.max_candidates]
    if not cands:
        note = f"{len(idx)} object points in the rectangle, fewer than {params.min_points} on one surface"
        return ground_ray_box(r, camera, T, g, onto, class_hint, ego_yaw=ego_yaw, params=params, note=note)
    best: ImageBoxFit | None = None
    tried: list[ImageBoxFit] = []
    centre = np.array([(r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0])
    for k, pick in enumerate(cands):
        depth = float(np.median(dist[pick]))
        for fit in _fits_of_group(p, idx[pick], uv[pick], centre, g, onto, class_hint, sensor, ego_yaw, params,
                                  fit_params):
            proj = projected_rect(fit.box, camera, T)  # type: ignore[arg-type]
            iou = 0.0 if proj is None else rect_iou(r, proj)
            conf = fit_confidence(fit, iou, onto, class_hint, params)
            reason = (f"{len(fit.indices)} points at {depth:.1f} m (surface {k + 1} of {len(cands)}); "
                      f"2D IoU {iou:.2f}")
            res = ImageBoxFit(fit.box, fit.label, conf, reason, "points", fit.indices, iou, fit)
            if iou >= params.sure_iou2d:
                return res
            tried.append(res)
        if len(tried) >= params.max_fits and max(t.iou2d or 0.0 for t in tried) >= params.accept_iou2d:
            break  # enough tried, and one of them matches
    if tried:
        # the best match; a group in front within ``iou_tie`` of it wins (the candidates are in order)
        top = max(t.iou2d or 0.0 for t in tried)
        best = next(t for t in tried if (t.iou2d or 0.0) >= top - params.iou_tie)
        if top >= params.accept_iou2d:
            return best
    # no surface explains the rectangle well (the object's own points may be missing and the
    # surfaces be a background or a neighbour): the ground-ray box, when it matches better
    ray = ground_ray_box(r, camera, T, g, onto, class_hint, ego_yaw=ego_yaw, params=params,
                         note="no surface in the rectangle fits it")
    if best is None or (ray.box is not None and (ray.iou2d or 0.0) > (best.iou2d or 0.0)):
        return ray
    return replace(best, reason=best.reason + " (poor match with the rectangle: check the box)")


def fit_confidence(fit: BoxFit, iou2d: float, ontology: Ontology, class_hint: str | None = None,
                   params: ImageBoxParams = DEFAULT_IMAGE_BOX_PARAMS) -> float:
    """Confidence in [0, 1] of a box fitted to points for a rectangle: the product of the 2D
    agreement (``iou2d`` of its projection with the rectangle, 0 at ``conf_iou_low``, 1 from
    ``conf_iou_high``), the support (``1 - exp(-points / conf_points)``), the size plausibility
    (1 within the class's limits, falling off outside), the class probability (1 when the class was
    given as ``class_hint``; else the guess's probability of the label) and ``conf_partial`` when
    the object was seen only in part. Unlike the size-prior fit of the one-click tool, a car larger
    or smaller than the class's typical one but within its limits is not penalised."""
    if fit.box is None or fit.label is None:
        return 0.0
    span = max(params.conf_iou_high - params.conf_iou_low, 1e-6)
    agree = float(np.clip((iou2d - params.conf_iou_low) / span, 0.0, 1.0))
    support = 1.0 - math.exp(-len(fit.indices) / max(params.conf_points, 1e-6))
    spec = resolve_class(ontology, fit.label)
    size = 1.0
    if spec is not None:
        for x, lo, hi in zip(fit.box.size, spec.size.min, spec.size.max, strict=True):
            excess = max(lo - x, x - hi, 0.0)
            size *= math.exp(-((excess / max(params.conf_size_tol * hi, 1e-6)) ** 2))
    if class_hint is not None or fit.guess is None:
        prob = 1.0
    else:
        prob = float(fit.guess.probabilities.get(fit.label, fit.guess.probability))
    partial = params.conf_partial if fit.partial else 1.0
    return float(np.clip(agree * support * size * prob * partial, 0.0, 1.0))


def _fits_of_group(p: F64, group: NDArray[np.intp], uv: F64, centre: F64, ground: GroundModel, onto: Ontology,
                   class_hint: str | None, origin: F64, ego_yaw: float | None, params: ImageBoxParams,
                   fit_params: FitParams) -> list[BoxFit]:
    """The boxes one depth cluster (``group``: indices into ``p``, their pixels ``uv``) may give: the
    one-click fit seeded at its point nearest its BEV median (the median of an L-shaped cluster may
    fall inside the object), then at its point seen nearest the rectangle's centre (an object is
    drawn centred; an occluder covers a side); when neither segment holds ``seed_share`` of the
    cluster, also the box of the cluster itself. Different boxes only, in that order."""
    xy = np.median(p[group, :2], axis=0)
    seeds = [int(group[int(np.argmin(np.hypot(p[group, 0] - xy[0], p[group, 1] - xy[1])))]),
             int(group[int(np.argmin(np.hypot(*(uv - centre).T)))])]
    fits: list[BoxFit] = []
    held = False
    for k in dict.fromkeys(seeds):
        fit = box_from_click(p, p[k, :2], ground, onto, class_hint, origin=origin, ego_yaw=ego_yaw,
                             fit_params=fit_params)
        if fit.box is None or fit.label is None or any(f.box == fit.box for f in fits):
            continue
        fits.append(fit)
        held = held or bool(np.isin(group, fit.indices).mean() >= params.seed_share)
    if not held:
        box, guess, partial = box_from_cluster(p[group], ground, onto, origin, class_hint, ego_yaw=ego_yaw,
                                               fit_params=fit_params)
        spec = resolve_class(onto, class_hint if class_hint is not None else guess.label)
        label = spec.name if spec is not None else guess.label
        prob = 1.0 if class_hint is not None else guess.probability
        conf = prob * guess.fit * min(1.0, len(group) / 30.0) * (0.8 if partial else 1.0)
        fits.append(BoxFit(box, label, float(np.clip(conf, 0.0, 1.0)), group, guess, partial))
    return fits


def _ground_hit(o: F64, d: F64, ground: GroundModel, max_range: float, above: float = 0.0) -> F64 | None:
    """Where the ray ``o + t d`` (world frame, ``d`` unit) meets the surface ``above`` m over the
    ground (descending to it), or None."""
    if (float(ground(o[0], o[1])) + above - o[2]) * d[2] <= 0.0 or abs(d[2]) < 1e-6:
        return None
    t = (float(ground(o[0], o[1])) + above - o[2]) / d[2]
    for _ in range(8):
        if not (0.0 < t <= max_range):
            return None
        x, y = o[0] + t * d[0], o[1] + t * d[1]
        t = (float(ground(x, y)) + above - o[2]) / d[2]
    return o + t * d if 0.0 < t <= max_range else None


def ground_ray_box(
    rect: Rect,
    camera: CameraModel,
    T_world_from_cam: ArrayLike,
    ground: GroundModel,
    ontology: Ontology,
    class_hint: str | None = None,
    *,
    ego_yaw: float | None = None,
    params: ImageBoxParams = DEFAULT_IMAGE_BOX_PARAMS,
    note: str = "",
) -> ImageBoxFit:
    """The box of a sparse object (module doc, step 5): on the ground where the ray through the
    rectangle's bottom centre meets it, class prior size. ``note`` starts the reason."""
    T = np.asarray(T_world_from_cam, dtype=np.float64)
    u0, v0, u1, v1 = rect
    spec = resolve_class(ontology, class_hint) if class_hint is not None else None
    h_prior = spec.size.mean[2] if spec is not None else ontology.default_size("car")[2]
    _, y_top, _, y_bottom = camera.image_rect()
    # the object's bottom is cut by the image's lower edge: its top edge (at the class's typical
    # height above the ground) places it instead
    by_top = v1 >= y_bottom - 1.0 and v0 > y_top + 1.0
    ray_cam = camera.rays(np.array([[(u0 + u1) / 2.0, v0 if by_top else v1]]))[0]
    if not np.isfinite(ray_cam).all():
        return ImageBoxFit(None, None, 0.0, "the rectangle's edge lies outside the camera's field of view", "none")
    o = T[:3, 3]
    d = T[:3, :3] @ (ray_cam / np.linalg.norm(ray_cam))
    hit = _ground_hit(o, d, ground, params.max_range, above=h_prior if by_top else 0.0)
    how = "ray through the rectangle's top at the class height" if by_top else "ground ray"
    # metric size of the rectangle per metre of camera depth
    px_w, px_h = (u1 - u0) / camera.fx, (v1 - v0) / camera.fy
    if hit is None:
        # no ground there: the distance from the class's typical height (a car when unknown)
        z_cam = h_prior / max(px_h, 1e-6)
        hit = o + d * (z_cam / max(ray_cam[2] / np.linalg.norm(ray_cam), 1e-6))
        how = "height prior"
    hit = hit.copy()
    hit[2] = float(ground(hit[0], hit[1]))
    z_cam_hit = float(np.dot(T[:3, :3].T @ (hit - o), [0.0, 0.0, 1.0]))
    if spec is None:
        w_m, h_m = px_w * z_cam_hit, px_h * z_cam_hit
        guess = guess_class((max(w_m, 0.05), 0.05), max(h_m, 0.05), ontology)
        spec = ontology[guess.label]
        label_note = f"class guessed from the rectangle ({w_m:.1f} x {h_m:.1f} m): {spec.name}"
    else:
        label_note = f"class {spec.name}"
    length, width, height = spec.size.mean
    ray_yaw = math.atan2(d[1], d[0])
    if ego_yaw is not None:
        yaw = float(ego_yaw) if math.cos(ray_yaw - float(ego_yaw)) >= 0.0 else float(ego_yaw) + math.pi
    else:
        yaw = ray_yaw
    a = ray_yaw - yaw
    depth = abs(length * math.cos(a)) + abs(width * math.sin(a))
    horiz = np.array([math.cos(ray_yaw), math.sin(ray_yaw)])
    cxy = hit[:2] + horiz * depth / 2.0
    gz = float(ground(cxy[0], cxy[1]))
    box = Box3D((float(cxy[0]), float(cxy[1]), gz + height / 2.0), (length, width, height), float(wrap_angle(yaw)))
    dist = float(np.hypot(*(cxy - o[:2])))
    reason = f"box on the {how} at {dist:.1f} m, {label_note}, typical size (low confidence)"
    reason = f"{note}: {reason}" if note else reason
    proj = projected_rect(box, camera, T)
    iou = None if proj is None else rect_iou(rect, proj)
    return ImageBoxFit(box, spec.name, params.fallback_confidence, reason, "ground_ray", iou2d=iou)


__all__ = [
    "DEFAULT_IMAGE_BOX_PARAMS",
    "ImageBoxFit",
    "ImageBoxParams",
    "box_from_image_rect",
    "fit_confidence",
    "frustum_points",
    "ground_ray_box",
    "surface_candidates",
    "normalize_rect",
    "projected_rect",
    "rect_iou",
]
