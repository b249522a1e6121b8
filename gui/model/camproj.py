"""What the camera panels draw, computed without Qt: boxes and polylines projected through the
calibration (near-plane clipping, lens distortion, image clipping) as image-pixel polylines.

Frames and units: corners and vertices come in the world frame (metres) and go to the camera's
optical frame with ``T_cam_from_world`` (x right, y down, z forward); outputs are image pixels
in the convention of :mod:`calib.camera` (pixel centres at integer coordinates).

- :func:`project_boxes_whole`: the panel's fast path (boxes wholly in front drawn from their edge
  samples, the others through :func:`calib.projection.project_boxes_edges`).
- :func:`project_polylines`: world polylines (map elements) through
  :func:`calib.projection.project_segments`.
- :class:`LineGroup`: polylines sharing one pen (colour, width, pattern), the unit a panel strokes.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.camera import CameraModel
from calib.projection import BOX_EDGES, project_boxes_edges, project_segments
from fusionlabel.timing import CaptureTiming

F64 = NDArray[np.float64]

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

#: Line patterns of the drawing data: solid, dashed, dash-dotted, dotted.
PATTERNS = ("", "dash", "dashdot", "dot")


@dataclass(frozen=True)
class CameraView:
    """One camera panel as the layers see it: ``name``, the lens ``camera`` and the pose
    ``T_cam_from_world`` (4, 4) of the image shown; ``draft`` (thin lines while frames change
    quickly); ``timing`` (a :class:`fusionlabel.timing.CaptureTiming`, or None): the image's
    capture time, when ``T_cam_from_world`` is the pose at that time and boxes are to be drawn
    there too (docs/timing.md)."""

    name: str
    camera: CameraModel
    T_cam_from_world: F64
    draft: bool = False
    timing: CaptureTiming | None = None

    def box_corners(self, ids: Sequence[Hashable], corners_world: ArrayLike) -> F64:
        """Boxes (B, 8, 3) world m drawn at the frame time, as they stand at this image's capture
        time (moved by their track's motion; unchanged without ``timing``)."""
        corners = np.asarray(corners_world, dtype=np.float64).reshape(-1, 8, 3)
        if self.timing is None or len(corners) == 0:
            return corners
        return self.timing.corners_at(ids, corners)

    def to_camera(self, pts_world: ArrayLike) -> F64:
        """(..., 3) world metres -> (..., 3) camera optical frame metres."""
        T = np.asarray(self.T_cam_from_world, dtype=np.float64)
        return np.asarray(pts_world, dtype=np.float64) @ T[:3, :3].T + T[:3, 3]


@dataclass(frozen=True)
class LineGroup:
    """Polylines drawn with one pen: ``color`` RGB (or RGBA) 0-255, ``width`` px, ``pattern`` one
    of :data:`PATTERNS`, ``lines`` a list of (M, 2) image px polylines (camera) or plane metres."""

    color: tuple[int, ...]
    width: float
    pattern: str
    lines: tuple[F64, ...]

    @property
    def style(self) -> tuple[tuple[int, ...], float, str]:
        return (self.color, self.width, self.pattern)


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


def view_cone(camera: CameraModel) -> float:
    """Half-angle (rad) of a cone around the optical axis that contains every pixel's ray (cached
    on the camera model)."""
    cached = getattr(camera, "_view_cone", None)
    if cached is not None:
        return float(cached)
    u0, v0, u1, v1 = camera.image_rect()
    n = 33
    us, vs = np.linspace(u0, u1, n), np.linspace(v0, v1, n)
    border = np.concatenate([
        np.stack([us, np.full(n, v0)], 1), np.stack([us, np.full(n, v1)], 1),
        np.stack([np.full(n, u0), vs], 1), np.stack([np.full(n, u1), vs], 1),
    ])
    rays = camera.rays(border)
    if np.isfinite(rays).all():
        cone = float(np.arctan(np.hypot(rays[:, 0], rays[:, 1]).max()))
    else:
        cone = float(camera.max_angle)
    object.__setattr__(camera, "_view_cone", cone)  # frozen dataclass: cache by hand
    return cone


def in_view_cone(corners_cam: F64, camera: CameraModel) -> NDArray[np.bool_]:
    """(B,) conservative visibility of boxes (B, 8, 3) camera frame: the bounding sphere touches
    the view cone and some corner is in front of the camera."""
    corners_cam = np.asarray(corners_cam, dtype=np.float64).reshape(-1, 8, 3)
    if len(corners_cam) == 0:
        return np.zeros(0, dtype=bool)
    centre = corners_cam.mean(axis=1)
    radius = np.linalg.norm(corners_cam - centre[:, None], axis=2).max(axis=1)
    dist = np.linalg.norm(centre, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.arccos(np.clip(centre[:, 2] / dist, -1.0, 1.0))
        slack = np.arcsin(np.clip(radius / dist, 0.0, 1.0))
    inside = dist <= radius
    front = corners_cam[:, :, 2].max(axis=1) > 0.1
    return front & (inside | (angle - slack <= view_cone(camera) + 0.02))


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


@dataclass(frozen=True)
class BoxProjection:
    """Boxes projected into one camera (:func:`project_boxes_whole` without image clipping):
    ``pieces`` ``(box index, edge index, (M, 2) px)``, ``whole`` (W,) indices of the boxes drawn
    whole and their edge samples ``whole_uv`` (W, 12, k, 2) px (they may leave the image: the
    painter clips to it)."""

    pieces: list[tuple[int, int, F64]]
    whole: NDArray[np.int64]
    whole_uv: F64

    @classmethod
    def empty(cls) -> BoxProjection:
        return cls([], np.zeros(0, np.int64), np.zeros((0, 12, 2, 2)))

    @classmethod
    def of(cls, corners_world: ArrayLike, view: CameraView, ids: Sequence[Hashable] = ()) -> BoxProjection:
        """Project boxes (B, 8, 3) world metres into ``view`` (boxes wholly outside the view cone
        are skipped first); ``ids`` (their track ids) move them to the view's capture time."""
        corners = np.asarray(corners_world, dtype=np.float64).reshape(-1, 8, 3)
        if view.timing is not None and len(ids):
            corners = view.box_corners(ids, corners)
        if len(corners) == 0:
            return cls.empty()
        corners_cam = view.to_camera(corners)  # (B, 8, 3)
        visible = np.flatnonzero(in_view_cone(corners_cam, view.camera))
        # unclipped where a box is wholly in front: the painter clips to the image (cheaper)
        return cls(*project_boxes_whole(corners_cam[visible], view.camera, visible, clip=False))

    def chains(self, index: int, dashed: bool) -> list[tuple[bool, F64]]:
        """The polylines of whole box ``index`` (a position in :attr:`whole`) as the panel strokes
        them: ``(front face?, (K, 2) px)``: the front loop, then the rest (one trail when solid,
        four polylines when ``dashed``)."""
        k = self.whole_uv.shape[2]
        flat = self.whole_uv[index].reshape(12 * k, 2)
        out = [(True, flat[chain_index(FRONT_LOOP, k)])]
        for runs in REST_DASHED if dashed else (REST_TRAIL,):
            out.append((False, flat[chain_index(runs, k)]))
        return out


def project_polylines(
    vertices_world: list[F64], closed: list[bool], view: CameraView
) -> list[tuple[int, F64]]:
    """World polylines ((K_i, 3) metres each; ``closed[i]`` joins the last vertex to the first)
    as image pieces ``(polyline index, (M, 2) px)``: every segment near-plane clipped, bent by the
    lens and clipped to the image (:func:`calib.projection.project_segments`); consecutive pieces
    of one polyline that meet are joined into one."""
    a_all, b_all, owner = [], [], []
    for i, (v, c) in enumerate(zip(vertices_world, closed, strict=True)):
        v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
        if len(v) < 2:
            continue
        ends = np.concatenate([v, v[:1]]) if c and len(v) > 2 else v
        a_all.append(ends[:-1])
        b_all.append(ends[1:])
        owner.append(np.full(len(ends) - 1, i))
    if not a_all:
        return []
    a = view.to_camera(np.concatenate(a_all))
    b = view.to_camera(np.concatenate(b_all))
    who = np.concatenate(owner)
    out: list[tuple[int, F64]] = []
    for seg, piece in project_segments(a, b, view.camera):
        i = int(who[seg])
        if out and out[-1][0] == i and np.allclose(out[-1][1][-1], piece[0], atol=1e-6):
            out[-1] = (i, np.concatenate([out[-1][1], piece[1:]]))
        else:
            out.append((i, piece))
    return out
