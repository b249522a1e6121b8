"""The exporters' per-frame geometry, fast: which boxes a camera can see, their 2D outlines on the
exported pinhole camera, and the LiDAR occlusion heuristic's counts (:mod:`formats.export.common`).

Every result equals the straightforward computation bit for bit (tests compare them); only work
whose outcome is already decided is skipped:

* :func:`spheres_outside`: a box whose bounding sphere lies behind the near plane or wholly beyond
  one side of the image is not in it (a conservative pre-test before the exact one).
* :func:`pinhole_extent2d`: :func:`calib.projection.box_extent2d` for an undistorted camera,
  computed on plain floats (the same operations in the same order) instead of small arrays.
* :class:`SweepBoxes`: the sweep's points are pre-selected in float32 to those that can project
  into the rectangle around a camera's box outlines, then projected exactly in float64 (as
  ``common.project_sweep`` and ``CameraModel.project``, column by column); the points inside the
  outlines of all of a camera's boxes are found in one vectorised pass (``common._in_convex``'s
  arithmetic); the point-in-box test (``point_box_indices`` with the hit margin) runs only for
  the points inside an outline, against that outline's box and the earlier boxes that meet it
  (:meth:`SweepBoxes.occlusion_counts`), or, when the frame's boxes were indexed
  (:meth:`SweepBoxes.near_box_index`), is looked up: a coarse grid of the boxes' discs gives
  (point, box) pairs, each tested with the kernels' own expression, a point in a cell of one disc
  against that box only. The same pairs give nuScenes' ``num_lidar_pts`` in the world frame
  (:meth:`SweepBoxes.world_counts`): a box holds no point outside its sphere, whatever the frames'
  rotation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.projection import BOX_EDGES, BoxExtent2D, _normalized_bounds, box_extent2d, clip_segments_near
from calib.transforms import wrap_angle
from formats.export.common import HIT_MARGIN, xform
from fusionlabel.box import Box3D
from fusionlabel.geometry import (
    BOUNDARY_EPS,
    boxes_to_array,
    point_box_indices,
)

F64 = NDArray[np.float64]

#: Near plane of the exported cameras' projections (``calib.camera.DEFAULT_NEAR``, metres).
NEAR = 0.1

#: Whether :class:`SweepBoxes` uses the compiled kernels (:mod:`formats.export.kernels`) by
#: default: True where numba can be imported. Set it to False (or pass ``kernels=False``) for the
#: NumPy reference; both give the same numbers. ``FUSIONLABEL_KERNELS=0`` in the environment turns
#: them off.
USE_KERNELS = os.environ.get("FUSIONLABEL_KERNELS", "1") != "0"


def kernels() -> ModuleType | None:
    """The compiled kernels' module (imported on first use: it imports numba), None where numba
    is not installed or :data:`USE_KERNELS` is off. Numba caches the compiled kernels in
    ``__pycache__`` next to the module, else in the user's cache folder, or in ``NUMBA_CACHE_DIR``;
    where none of them is writable, in a folder under the system's temporary folder (and without
    that, the NumPy code runs)."""
    if not USE_KERNELS:
        return None
    try:
        from formats.export import kernels as kn
    except ImportError:
        return None
    except RuntimeError:  # numba found no writable cache folder for the module
        import tempfile

        import numba

        numba.config.CACHE_DIR = os.path.join(tempfile.gettempdir(), f"fusionlabel-numba-{_user()}")
        try:
            from formats.export import kernels as kn
        except RuntimeError:
            return None
    return kn


def _user() -> str:
    """A name of the current user for a per-user folder."""
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name (no such entry): the id
        return str(os.getpid() if not hasattr(os, "getuid") else os.getuid())


def _kernels_module(force: bool) -> ModuleType | None:
    """:func:`kernels`, or with ``force`` the kernels' module whatever :data:`USE_KERNELS` says
    (ImportError without numba)."""
    if force:
        from formats.export import kernels as kn

        return kn
    return kernels()


def box_radii(boxes: Sequence[Box3D], pad: float = 0.0) -> F64:
    """(M,) radius of each box's bounding sphere about its centre (m), ``pad`` added to every
    half size (a margin around the box) and a micrometre for rounding."""
    half = np.array([b.size for b in boxes], dtype=np.float64).reshape(-1, 3) / 2.0 + pad
    return np.sqrt((half * half).sum(axis=1)) + 1e-6


def spheres_outside(centers_cam: F64, radii: F64, camera: CameraModel, near: float = NEAR) -> NDArray[np.bool_]:
    """(M,) True where a sphere (centres (M, 3) in the camera frame, radii (M,), metres) certainly
    has nothing in the image of the pinhole ``camera``: it lies behind the near plane, or beyond one
    side of the image (so a box inside it has no clipped 2D outline: ``box_extent2d`` gives None or
    an empty clipped part, and no projected point of it is valid)."""
    c = np.asarray(centers_cam, dtype=np.float64).reshape(-1, 3)
    K = camera.K
    fx, s, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    W, H = camera.width, camera.height
    tol = 1e-6 + 1e-9 * np.abs(c).max(axis=1, initial=0.0)
    r = radii + tol
    z = c[:, 2]
    out = z + r < near
    # planes through the optical centre: a point p is on the image side of each when n . p >= 0
    normals = np.array([[fx, s, cx + 0.5], [-fx, -s, W - 0.5 - cx], [0.0, fy, cy + 0.5],
                        [0.0, -fy, H - 0.5 - cy]])
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    dist = c @ normals.T  # (M, 4) signed distances
    return out | (dist < -r[:, None]).any(axis=1)


def may_be_in_image_many(corners_cam: F64, camera: CameraModel, near: float = NEAR) -> NDArray[np.bool_]:
    """(M,) :func:`common.may_be_in_image` of boxes with corners (M, 8, 3) in the camera frame, the
    same arithmetic for all boxes at once."""
    c = np.asarray(corners_cam, dtype=np.float64).reshape(-1, 8, 3)
    z = c[:, :, 2]
    behind = z <= near
    any_behind = behind.any(axis=1)
    K = camera.K
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K[0, 0] * c[:, :, 0] / z + K[0, 1] * c[:, :, 1] / z + K[0, 2]
        v = K[1, 1] * c[:, :, 1] / z + K[1, 2]
    aside = ((u < -0.5).all(axis=1) | (u > camera.width - 0.5).all(axis=1) | (v < -0.5).all(axis=1)
             | (v > camera.height - 0.5).all(axis=1))
    return np.where(any_behind, ~behind.all(axis=1), ~aside)

# ---- the 2D outline of a box on a pinhole camera ---------------------------------------------------
def _hull(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``calib.projection.convex_hull`` of sorted unique points (monotone chain, same arithmetic)."""

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _clip(poly: list[tuple[float, float]], nx: float, ny: float, c: float) -> list[tuple[float, float]]:
    """``calib.projection._clip_polygon_halfplane``: the part with ``n . x <= c``."""
    out: list[tuple[float, float]] = []
    if not poly:
        return out
    prev = poly[-1]
    s_prev = prev[0] * nx + prev[1] * ny - c
    for p in poly:
        s_cur = p[0] * nx + p[1] * ny - c
        ins = s_cur <= 0
        if ins != (s_prev <= 0):
            t = s_prev / (s_prev - s_cur)
            out.append((prev[0] + (p[0] - prev[0]) * t, prev[1] + (p[1] - prev[1]) * t))
        if ins:
            out.append(p)
        prev, s_prev = p, s_cur
    return out


def _clip_rect(poly: list[tuple[float, float]], rect: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = rect
    # a polygon inside the rectangle comes out of the four clips unchanged (each side's test
    # ``n . p - c <= 0`` is exactly the comparison below for finite coordinates)
    if all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in poly):
        return list(poly)
    for nx, ny, c in ((-1.0, 0.0, -x0), (1.0, 0.0, x1), (0.0, -1.0, -y0), (0.0, 1.0, y1)):
        poly = _clip(poly, nx, ny, c)
    return poly


def _area(poly: F64) -> float:
    """``calib.projection._polygon_area`` (the same dot products), the rolled coordinates sliced."""
    x, y = poly[:, 0], poly[:, 1]
    xr = np.concatenate((x[1:], x[:1]))
    yr = np.concatenate((y[1:], y[:1]))
    return 0.5 * abs(float(np.dot(x, yr) - np.dot(y, xr)))


def _bbox(poly: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return (min(xs), min(ys), max(xs), max(ys))


def pinhole_extent2d(corners_cam: F64, camera: CameraModel, rounded_xy: F64 | None = None,
                     need_truncation: bool = True) -> BoxExtent2D | None:
    """:func:`calib.projection.box_extent2d` (default near plane) of a box with corners (8, 3) in
    the frame of an undistorted pinhole ``camera``, equal to it bit for bit; a box reaching behind
    the near plane, or another camera model, goes to ``box_extent2d`` itself. ``rounded_xy``: the
    corners' ``np.round(xy / z, 12)`` (8, 2) when the caller computed it for many boxes at once.
    Without ``need_truncation`` the returned truncation is NaN (the polygon and boxes are exact)."""
    corners = np.asarray(corners_cam, dtype=np.float64)
    if (camera.model != "none" or math.isfinite(camera.max_radius) or corners.shape != (8, 3)
            or not np.isfinite(corners).all()):
        return box_extent2d(corners, camera)
    if not (corners[:, 2] >= NEAR).all():  # the solid clipped at the near plane, as box_outline_normalized
        a, b, keep = clip_segments_near(corners[BOX_EDGES[:, 0]], corners[BOX_EDGES[:, 1]], NEAR)
        pts3 = np.concatenate([a[keep], b[keep]])
        if len(pts3) == 0:
            return None
        rounded_xy = np.round(pts3[:, :2] / pts3[:, 2:3], 12)
    elif rounded_xy is None:
        rounded_xy = np.round(corners[:, :2] / corners[:, 2:3], 12)
    pts = sorted(set(map(tuple, rounded_xy.tolist())))
    if len(pts) <= 2:
        return None
    outline = _hull(pts)  # clipping to the field of view disk: none (infinite radius)
    if len(outline) < 3:
        return None
    K = camera.K
    k00, k01, k02, k11, k12 = float(K[0, 0]), float(K[0, 1]), float(K[0, 2]), float(K[1, 1]), float(K[1, 2])

    def px(poly: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(k00 * x + k01 * y + k02, k11 * y + k12) for x, y in poly]

    full = px(outline)
    near_img = _clip_rect(outline, _normalized_bounds(camera))
    clipped_poly: list[tuple[float, float]] = []
    if len(near_img) >= 3:
        clipped_poly = _clip_rect(px(near_img), camera.image_rect())
    poly = np.array(clipped_poly, dtype=np.float64).reshape(-1, 2)
    area_clip = _area(poly) if len(clipped_poly) >= 3 else 0.0
    clipped = _bbox(clipped_poly) if len(clipped_poly) >= 3 and area_clip > 0 else None
    if need_truncation:
        area_full = _area(np.array(full, dtype=np.float64))  # (_polygon_area's value: 3 or more vertices)
        trunc = 1.0 - area_clip / area_full if area_full > 0 else (0.0 if clipped else 1.0)
        trunc = float(min(max(trunc, 0.0), 1.0))
    else:
        trunc = math.nan
    return BoxExtent2D(_bbox(full), clipped, trunc, poly)


def pinhole_outlines(corners_cam: F64, rounded_xy: F64, camera: CameraModel) -> list[F64 | None]:
    """The clipped 2D outline (K, 2) px of each box with corners (J, 8, 3) in the frame of the
    pinhole ``camera``, None where it has no clipped part: ``pinhole_extent2d(corners_cam[j],
    camera, rounded_xy[j]).polygon`` where that extent's ``clipped`` is not None; ``rounded_xy``
    (J, 8, 2) the corners' ``np.round(xy / z, 12)``. With the compiled kernels the boxes in front
    of the near plane on an undistorted camera are outlined by :func:`kernels.outlines` (the same
    arithmetic), the others by :func:`pinhole_extent2d`."""
    c = np.asarray(corners_cam, dtype=np.float64).reshape(-1, 8, 3)
    out: list[F64 | None] = [None] * len(c)
    kn = kernels()
    fast = np.zeros(len(c), dtype=bool)
    if kn is not None and len(c) and camera.model == "none" and not math.isfinite(camera.max_radius):
        fast = (c[:, :, 2] >= NEAR).all(axis=1) & np.isfinite(c).all(axis=(1, 2))
        js = np.flatnonzero(fast)
        if len(js):
            polys, counts = kn.outlines(np.ascontiguousarray(rounded_xy[js], dtype=np.float64),
                                        np.array(_normalized_bounds(camera), dtype=np.float64),
                                        np.ascontiguousarray(camera.K, dtype=np.float64),
                                        np.array(camera.image_rect(), dtype=np.float64))
            for j, poly, n in zip(js.tolist(), polys, counts.tolist(), strict=True):
                if n >= 3:
                    q = poly[:n].copy()
                    if _area(q) > 0:
                        out[j] = q
    for j in np.flatnonzero(~fast).tolist():
        ext = pinhole_extent2d(c[j], camera, rounded_xy[j], need_truncation=False)
        if ext is not None and ext.clipped is not None:
            out[j] = ext.polygon
    return out


def _pairs_inside(p: F64, boxes: F64, box_idx: NDArray[np.intp], margin: float) -> NDArray[np.bool_]:
    """``fusionlabel.geometry._inside_pairs(p, boxes, box_idx, half, cos, sin)`` with ``half`` the
    half sizes plus ``margin + BOUNDARY_EPS``: the same expression on the same values, the
    boxes' numbers taken from one-dimensional tables."""
    half = boxes[:, 3:6] / 2.0 + (margin + BOUNDARY_EPS)
    cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])

    def col(a: F64) -> F64:
        return np.ascontiguousarray(a).take(box_idx)

    ok = np.abs(p[:, 2] - col(boxes[:, 2])) <= col(half[:, 2])
    dx = p[:, 0] - col(boxes[:, 0])
    dy = p[:, 1] - col(boxes[:, 1])
    c, s = col(cos), col(sin)
    ok &= np.abs(c * dx + s * dy) <= col(half[:, 0])
    ok &= np.abs(c * dy - s * dx) <= col(half[:, 1])
    return ok


# ---- the sweep and the boxes ---------------------------------------------------------------------
class SweepBoxes:
    """A sweep for the occlusion heuristic: its points in the frame the boxes are tested in (``F``:
    KITTI's velodyne, nuScenes' LiDAR), given as ``xyz`` (N, 3) in the source frame and
    ``T_F_from_src`` (None: the same frame; the points in ``F`` are ``xform(T, xyz)``, float64, as
    the writers compute them), and the frame's world boxes with ``T_F_from_world``.

    A point's box is ``point_box_indices(points_F, [b.transformed(T_F_from_world) ...],
    margin=HIT_MARGIN)``: the first box holding it (:meth:`first_box_is`)."""

    def __init__(self, xyz: NDArray[np.floating], T_F_from_src: F64 | None, boxes_world: Sequence[Box3D],
                 T_F_from_world: F64, kernels: bool | None = None) -> None:
        self.xyz = xyz
        #: the compiled kernels (``kernels``: True/False forces them on/off, None the module default)
        self._kn = None if kernels is False else _kernels_module(kernels is True)
        self.T = None if T_F_from_src is None else np.asarray(T_F_from_src, dtype=np.float64)
        self.boxes_world = list(boxes_world)
        self.T_F_from_world = np.asarray(T_F_from_world, dtype=np.float64)
        self._boxes_F: dict[int, Box3D] = {}
        centers = np.array([b.center for b in self.boxes_world], dtype=np.float64).reshape(-1, 3)
        self._centers_F = xform(self.T_F_from_world, centers) if len(centers) else centers
        self._radii = box_radii(self.boxes_world, HIT_MARGIN + BOUNDARY_EPS)
        self._cols: tuple[NDArray[np.float32], float] | None = None
        self._cell_cache: tuple[NDArray[np.intp], NDArray[np.int32]] | None = None
        self._several: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None
        self._boxes_F_arr: F64 | None = None
        self._near: tuple[NDArray[np.intp], NDArray[np.int64], F64 | None, NDArray[np.int64]] | None = None
        self._grid_cache: tuple[F64, float, int, int, NDArray[np.int32], NDArray[np.int64]] | None = None
        self._cell_of: NDArray[np.int64] | None = None  # kernels: (N,) each point's grid cell, -1 none
        self._exact: NDArray[np.floating] | None = None  # kernels: the source points (3, N), see _src

    def __len__(self) -> int:
        return len(self.xyz)

    def points(self, idx: NDArray[np.intp]) -> F64:
        """(K, 3) float64 points ``idx`` of the sweep in frame ``F``."""
        if self.T is None:
            return np.asarray(self.xyz[idx], dtype=np.float64)
        return xform(self.T, self.xyz[idx])

    def _box_F(self, m: int) -> Box3D:
        b = self._boxes_F.get(m)
        if b is None:
            b = self._boxes_F[m] = self.boxes_world[m].transformed(self.T_F_from_world)
        return b

    def near_boxes(self) -> NDArray[np.intp]:
        """Indices of a superset of the points within the hit margin of some box (every point
        ``point_box_indices`` puts in a box): the points in the cells of a coarse xy grid (frame
        ``F``) touched by the boxes' bounding discs."""
        return self._cells()[0]

    def _grid(self) -> tuple[F64, float, int, int, NDArray[np.int32], NDArray[np.int64]]:
        """``(lo (2,), cell, nx, ny, table, win)``: the coarse xy grid of :meth:`_cells` (source
        frame, metres): its origin, cell size and last cell indices, the one box whose disc touches
        each cell (``table`` ((nx + 1) * (ny + 1),) int32: -1 none, -2 several) and each box's
        window of cells ``(i0, i1, j0, j1)`` (M, 4). Needs boxes and points."""
        if self._grid_cache is None:
            c, r = self._centers_F, self._radii
            if self.T is not None:  # the grid lives in the source frame: discs there
                T_src_from_F = np.linalg.inv(self.T)
                c = xform(T_src_from_F, c)
            _, big = self._columns()
            pad = 1e-3 * (1.0 + big)  # far above float32 rounding of the coordinates
            lo = (c[:, :2] - r[:, None]).min(axis=0) - pad
            hi = (c[:, :2] + r[:, None]).max(axis=0) + pad
            cell = max(float(np.median(r)) / 2.0, float((hi - lo).max()) / 1024.0, 1e-3)
            nx, ny = int((hi[0] - lo[0]) // cell) + 1, int((hi[1] - lo[1]) // cell) + 1
            table = np.full((nx + 1) * (ny + 1), -1, dtype=np.int32)  # -1 no box, -2 several, else the box
            t = table.reshape(nx + 1, ny + 1)
            i0 = np.floor((c[:, 0] - r - pad - lo[0]) / cell).astype(np.int64).clip(0, nx)
            i1 = np.floor((c[:, 0] + r + pad - lo[0]) / cell).astype(np.int64).clip(0, nx)
            j0 = np.floor((c[:, 1] - r - pad - lo[1]) / cell).astype(np.int64).clip(0, ny)
            j1 = np.floor((c[:, 1] + r + pad - lo[1]) / cell).astype(np.int64).clip(0, ny)
            wins = np.stack([i0, i1, j0, j1], axis=1)
            if self._kn is not None:
                self._kn.fill_table(t, wins)
            else:
                for b, (a0, a1, b0, b1) in enumerate(wins.tolist()):
                    win = t[a0:a1 + 1, b0:b1 + 1]
                    win[win != -1] = -2
                    win[win == -1] = b
            self._grid_cache = (lo, cell, nx, ny, table, wins)
        return self._grid_cache

    def _cells(self) -> tuple[NDArray[np.intp], NDArray[np.int32]]:
        """``(idx, code)``: the (ascending) indices of the points in the cells of a coarse xy grid
        (the source frame) touched by some box's bounding disc (its sphere with the hit margin),
        and per point the one box whose disc touches its cell, -2 where several do. A box (hit
        margin) holds no point outside its disc, whatever the frame's rotation."""
        if self._cell_cache is not None:
            return self._cell_cache
        m = len(self.boxes_world)
        if m == 0 or len(self) == 0:
            self._cell_cache = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int32))
            self._several = None
            return self._cell_cache
        lo, cell, nx, ny, table, win = self._grid()
        if self._kn is not None:  # the kernel found every point's cell
            self.near_box_index()
            assert self._near is not None and self._cell_of is not None
            idx = self._near[0]
            self._cell_cache = (idx, table[self._cell_of[idx]])
            return self._cell_cache
        cols, _ = self._columns()
        x, y = cols[0], cols[1]
        inv = np.float32(1.0 / cell)
        fx = (x - np.float32(lo[0])) * inv
        fy = (y - np.float32(lo[1])) * inv
        inside = (fx >= 0) & (fx < nx + 1) & (fy >= 0) & (fy < ny + 1)
        idx = np.flatnonzero(inside)
        ci, cj = fx[idx].astype(np.int64), fy[idx].astype(np.int64)
        code = table[ci * (ny + 1) + cj]
        keep = code != -1
        self._cell_cache = (idx[keep], code[keep])
        several = np.flatnonzero(code[keep] == -2)
        ci, cj = ci[keep][several], cj[keep][several]
        pt = [several[(ci >= a0) & (ci <= a1) & (cj >= b0) & (cj <= b1)] for a0, a1, b0, b1 in win.tolist()]
        self._several = (np.concatenate(pt), np.repeat(np.arange(m), [len(q) for q in pt]))
        return self._cell_cache

    def _several_pairs(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """``(pos, box)``: the (point, box) pairs of the points of :meth:`_cells` whose cell several
        boxes' discs touch, one per such box (``pos`` indexes ``_cells()[0]``), in ascending box order."""
        self._cells()
        if self._several is None:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        return self._several

    def boxes_F_array(self) -> F64:
        """(M, 7) the boxes in frame ``F`` (``Box3D.transformed(T_F_from_world).to_array()``)."""
        if self._boxes_F_arr is None:
            T = np.asarray(self.T_F_from_world, dtype=np.float64)
            boxes = self.boxes_world
            m = len(boxes)
            # Box3D.transformed of the upright boxes without building them, all at once: each box's
            # pose (Box3D.pose), T @ pose, the yaw of its rotation (rotation_to_yaw), wrapped
            yaw = np.array([b.yaw for b in boxes], dtype=np.float64)
            c, s = np.cos(yaw), np.sin(yaw)
            poses = np.zeros((m, 4, 4))
            poses[:, 0, 0], poses[:, 0, 1], poses[:, 1, 0], poses[:, 1, 1] = c, -s, s, c
            poses[:, 2, 2] = poses[:, 3, 3] = 1.0
            poses[:, :3, 3] = [b.center for b in boxes]
            P = T @ poses
            out = np.empty((m, 7), dtype=np.float64)
            out[:, :3] = P[:, :3, 3]
            out[:, 3:6] = [b.size for b in boxes]
            with np.errstate(invalid="ignore"):
                out[:, 6] = wrap_angle(np.arctan2(P[:, 1, 0], P[:, 0, 0]))
            bad = ~np.isfinite(out).all(axis=1)
            for j, b in enumerate(boxes):
                if b.tilted or j in self._boxes_F or bad[j]:  # the box itself (Box3D's own error)
                    out[j] = self._box_F(j).to_array()
            self._boxes_F_arr = out
        return self._boxes_F_arr

    def _src(self) -> tuple[NDArray[np.floating], F64, bool]:
        """The kernels' ``(points (3, N), T_F_from_src (4, 4), rotated)``: the source points'
        coordinates as given (float32: :meth:`_columns`' array; else float64), contiguous."""
        if self._exact is None:
            if np.asarray(self.xyz).dtype == np.float32:
                self._exact = self._columns()[0]
            else:
                self._exact = np.ascontiguousarray(np.asarray(self.xyz, dtype=np.float64)[:, :3].T)
        if self.T is None:
            return self._exact, np.eye(4), False
        return self._exact, np.ascontiguousarray(self.T), True

    def near_box_index(self) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
        """``(idx, box_of)``: the points of :meth:`near_boxes` and the first box holding each
        (``point_box_indices(points_F, boxes_F, margin=HIT_MARGIN)``, -1 none), computed per
        (point, box) pair with that function's arithmetic: a point whose cell one box touches is
        tested against that box only (no other box can hold it), the others against every box."""
        if self._near is None and self._kn is not None and len(self.boxes_world) and len(self):
            lo, cell, nx, ny, table, win = self._grid()
            cols, _ = self._columns()
            b = self.boxes_F_array()
            half = b[:, 3:6] / 2.0 + (HIT_MARGIN + BOUNDARY_EPS)  # as _pairs_inside
            xyz, T, rotated = self._src()
            self._cell_of, full = self._kn.box_index(
                cols, xyz, T, rotated, np.float32(lo[0]), np.float32(lo[1]), np.float32(1.0 / cell), nx, ny,
                table, win, b, half, np.cos(b[:, 6]), np.sin(b[:, 6]))
            idx = np.flatnonzero(self._cell_of >= 0)
            self._near = (idx, full[idx], None, full)
        if self._near is None:
            idx, code = self._cells()
            box_of = np.full(len(idx), -1, dtype=np.int64)
            p = self.points(idx)
            if len(idx):
                b = self.boxes_F_array()
                one = np.flatnonzero(code >= 0)
                bi = code[one].astype(np.intp)
                ok = _pairs_inside(p[one], b, bi, HIT_MARGIN)
                box_of[one[ok]] = bi[ok]
                pos, box = self._several_pairs()  # the first box holding the point
                ok = _pairs_inside(p[pos], b, box, HIT_MARGIN)
                first = np.full(len(idx), len(b), dtype=np.int64)
                np.minimum.at(first, pos[ok], box[ok])
                got = np.flatnonzero(first < len(b))
                box_of[got] = first[got]
            full = np.full(len(self), -1, dtype=np.int64)
            full[idx] = box_of
            self._near = (idx, box_of, p, full)
        return self._near[0], self._near[1]

    def world_counts(self, T_world_from_F: F64) -> NDArray[np.int64]:
        """(M,) ``count_points_in_boxes(xform(T_world_from_F, points_F), boxes_world)`` over the
        whole sweep (nuScenes' ``num_lidar_pts``, no margin), computed per (point, box) pair as
        :meth:`near_box_index` does: a box without margin holds no point outside its disc."""
        m = len(self.boxes_world)
        idx, _ = self.near_box_index()
        assert self._near is not None
        counts = np.zeros(m, dtype=np.int64)
        if len(idx) == 0:
            return counts
        b = boxes_to_array(self.boxes_world)
        if self._kn is not None:
            _, _, _, ny, table, win = self._grid()
            half = b[:, 3:6] / 2.0 + (0.0 + BOUNDARY_EPS)  # as _pairs_inside without margin
            xyz, T, rotated = self._src()
            assert self._cell_of is not None
            return self._kn.world_counts(xyz, T, rotated, idx, self._cell_of, ny, table, win,
                                         np.ascontiguousarray(T_world_from_F, dtype=np.float64), b, half,
                                         np.cos(b[:, 6]), np.sin(b[:, 6]))
        p = self._near[2]
        assert p is not None
        _, code = self._cells()
        w = xform(np.asarray(T_world_from_F, dtype=np.float64), p)
        one = np.flatnonzero(code >= 0)
        bi = code[one].astype(np.intp)
        ok = _pairs_inside(w[one], b, bi, 0.0)
        counts += np.bincount(bi[ok], minlength=m)
        pos, box = self._several_pairs()
        ok = _pairs_inside(w[pos], b, box, 0.0)
        counts += np.bincount(box[ok], minlength=m)
        return counts

    def _columns(self) -> tuple[NDArray[np.float32], float]:
        """The source points as a contiguous (3, N) float32 array and their largest |coordinate|."""
        if self._cols is None:
            cols = np.empty((3, len(self.xyz)), dtype=np.float32)
            for i in range(3):
                cols[i] = self.xyz[:, i]
            big = max(float(cols.max(initial=0.0)), -float(cols.min(initial=0.0)))
            self._cols = (cols, big)
        return self._cols

    def candidates(self, T_cam_from_F: F64, camera: CameraModel, rect: tuple[float, float, float, float],
                   max_depth: float) -> NDArray[np.intp]:
        """Indices of a superset of the points whose pixel in the pinhole ``camera`` lies in ``rect``
        (inclusive) at a depth in (NEAR, ``max_depth``]: the bounding planes (the image sides through
        the optical centre, the near and far depths) evaluated in float32 on the source points, with
        a margin far above float32 rounding; each is a necessary condition for such a point."""
        cols, big = self._columns()
        T = np.asarray(T_cam_from_F, dtype=np.float64)
        if self.T is not None:
            T = T @ self.T
        K = camera.K
        fx, s, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
        u0, v0, u1, v1 = rect
        tol = 1e-4 * (1.0 + big + float(np.abs(T[:3, 3]).max()))
        R, t = T[:3, :3], T[:3, 3]
        # half-spaces lo <= n . p_cam <= hi (n unit): the image sides in u (the narrowest), the depth, v
        tests = [(np.array([fx, s, cx - u0]), 0.0, math.inf), (np.array([-fx, -s, u1 - cx]), 0.0, math.inf),
                 (np.array([0.0, 0.0, 1.0]), NEAR, min(max_depth, 1e30)), (np.array([0.0, fy, cy - v0]), 0.0, math.inf),
                 (np.array([0.0, -fy, v1 - cy]), 0.0, math.inf)]
        # the two u sides on every point, then the others on the points left (one gather)
        idx: NDArray[np.intp] | None = None
        xs, ys, zs = cols[0], cols[1], cols[2]
        ok: NDArray[np.bool_] | None = None
        for j, (n, lo, hi) in enumerate(tests):
            if j == 2:
                assert ok is not None
                idx = np.flatnonzero(ok)
                if idx.size == 0:
                    return idx
                xs, ys, zs = cols[0][idx], cols[1][idx], cols[2][idx]
                ok = None
            scale = float(np.linalg.norm(n))
            n = n / scale
            a = (R.T @ n).astype(np.float32)
            val = a[0] * xs + a[1] * ys + a[2] * zs
            off = float(n @ t)
            test = val >= lo / scale - off - tol
            if hi < math.inf:
                test &= val <= hi / scale - off + tol
            ok = test if ok is None else ok & test
        assert idx is not None and ok is not None
        return idx[ok]

    def occlusion_counts(self, views: Sequence[tuple[F64, CameraModel, Sequence[tuple[int, F64, F64]]]]
                         ) -> list[list[tuple[int, int]]]:
        """Per view ``(T_cam_from_F, pinhole camera, items)``, the list of
        ``common.occlusion_counts(project_sweep(...), polygon, corners_cam, m)`` of its items
        ``(m, polygon (K, 2) px, corners_cam (8, 3))`` (box ``m`` of this sweep in that camera),
        computed on the points that can fall in the polygons, with one point-in-box query for the
        points inside them over all views."""
        out: list[list[tuple[int, int]]] = []
        pending = []  # (view, slots, boxes, item of each selected point, its depth, its sweep index, near)
        kn = self._kn if len(self) and len(self.boxes_world) else None
        for v, (T_cam_from_F, camera, items) in enumerate(views):
            out.append([(0, 0)] * len(items))
            todo = [(i, m, poly, corners) for i, (m, poly, corners) in enumerate(items) if len(poly) >= 3]
            if not todo or len(self) == 0:
                continue
            ms = [m for _, m, _, _ in todo]
            cz = xform(np.asarray(T_cam_from_F, dtype=np.float64), self._centers_F[ms])[:, 2]
            zs = np.stack([c[:, 2] for _, _, _, c in todo])  # (T, 8) the corners' depths
            depth = max(float(zs.max()), float(np.max(cz + self._radii[ms]))) + 1e-6
            if kn is not None and camera.model == "none" and not math.isfinite(camera.max_radius):
                # one compiled pass over the sweep: projection, outlines, the points' boxes (the index)
                self.near_box_index()
                assert self._near is not None
                pad, ex, ey = _padded([poly for _, _, poly, _ in todo])
                xyz, T, rotated = self._src()
                hits, occ = kn.camera_counts(
                    xyz, T, rotated, np.ascontiguousarray(T_cam_from_F, dtype=np.float64), depth,
                    np.ascontiguousarray(camera.K, dtype=np.float64), np.array(camera.image_rect(), dtype=np.float64),
                    pad, ex, ey, pad.min(axis=1), pad.max(axis=1), np.array(ms, dtype=np.int64),
                    zs.min(axis=1), self._near[3])
                for (i, _, _, _), h, o in zip(todo, hits.tolist(), occ.tolist(), strict=True):
                    out[v][i] = (h, o)
                continue
            rect = union_rect([polygon_rect(poly) for _, _, poly, _ in todo])
            uv, z, index = self._project(T_cam_from_F, camera, rect, depth)  # type: ignore[arg-type]
            if len(uv) == 0:
                continue
            order = np.argsort(uv[:, 0], kind="stable")
            sel, item = _in_polygons(uv, order, [poly for _, _, poly, _ in todo])
            pending.append((v, [i for i, _, _, _ in todo], np.array(ms, dtype=np.intp), item, z[sel], index[sel],
                            np.array([float(np.min(c[:, 2])) for _, _, _, c in todo])))
        if not pending:
            return out
        inside = self.first_box_is(np.concatenate([p[5] for p in pending]),
                                   np.concatenate([p[2][p[3]] for p in pending]))
        start = 0
        for v, slots, _, item, depths, _, near in pending:
            ins = inside[start:start + len(item)]
            start += len(item)
            hits = np.bincount(item[ins], minlength=len(slots))
            occ = np.bincount(item[~ins & (depths < near[item])], minlength=len(slots))
            for j, i in enumerate(slots):
                out[v][i] = (int(hits[j]), int(occ[j]))
        return out

    def first_box_is(self, idx: NDArray[np.intp], m: NDArray[np.intp]) -> NDArray[np.bool_]:
        """(K,) ``box_of(idx) == m`` for points ``idx`` and boxes ``m`` (K,): the point lies in its
        box (hit margin) and in no box before it. The test is ``point_box_indices``' own
        arithmetic; the boxes before are asked only for the points inside, and only those boxes
        whose sphere meets the point's box's."""
        if len(idx) == 0:
            return np.zeros(0, dtype=bool)
        if self._near is not None:  # every point's box is known (near_box_index)
            return self._near[3][idx] == m
        p = self.points(idx)
        used = np.unique(m)
        boxes = np.zeros((len(self.boxes_world), 7))
        boxes[used] = [self._box_F(int(j)).to_array() for j in used]
        half = boxes[:, 3:6] / 2.0 + (HIT_MARGIN + BOUNDARY_EPS)
        cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
        ok = np.abs(p[:, 2] - boxes[m, 2]) <= half[m, 2]
        dx = p[:, 0] - boxes[m, 0]
        dy = p[:, 1] - boxes[m, 1]
        c, s = cos[m], sin[m]
        ok &= np.abs(c * dx + s * dy) <= half[m, 0]
        ok &= np.abs(c * dy - s * dx) <= half[m, 1]
        c_u = self._centers_F[used]
        d = np.sqrt(((c_u[:, None, :] - self._centers_F[None, :, :]) ** 2).sum(axis=2))  # (U, M)
        meets = (d <= self._radii[used][:, None] + self._radii[None, :]) & (
            np.arange(len(self.boxes_world))[None, :] < used[:, None])
        for row in np.flatnonzero(meets.any(axis=1)).tolist():  # a point in box j and an earlier one is not j's
            j = int(used[row])
            before = np.flatnonzero(meets[row])
            sub = np.flatnonzero(ok & (m == j))
            if sub.size:
                got = point_box_indices(p[sub], [self._box_F(int(b)) for b in before], margin=HIT_MARGIN)
                ok[sub[got >= 0]] = False
        return ok

    def _project(self, T_cam_from_F: F64, camera: CameraModel, rect: tuple[float, float, float, float],
                 max_depth: float) -> tuple[F64, F64, NDArray[np.intp]]:
        """``(uv (K, 2), depth (K,), index (K,))`` of the points :func:`common.project_sweep` keeps
        whose pixel lies in ``rect`` (inclusive) at a depth of at most ``max_depth``."""
        cand = self.candidates(T_cam_from_F, camera, rect, max_depth)
        T = np.asarray(T_cam_from_F, dtype=np.float64)
        u0, v0, u1, v1 = rect
        if camera.model == "none" and not math.isfinite(camera.max_radius):
            # CameraModel.project of a pinhole camera, column by column: the same operations
            if self.T is None:  # self.points(cand), column by column
                x, y, z = (np.asarray(self.xyz[:, i][cand], dtype=np.float64) for i in range(3))
            else:
                p = self.points(cand)
                x, y, z = p[:, 0], p[:, 1], p[:, 2]
            zc = T[2, 0] * x + T[2, 1] * y + T[2, 2] * z + T[2, 3]  # as xform
            front = np.flatnonzero((zc > NEAR) & (zc <= max_depth))
            x, y, z = x[front], y[front], z[front]
            zc = zc[front]
            xn = (T[0, 0] * x + T[0, 1] * y + T[0, 2] * z + T[0, 3]) / zc
            yn = (T[1, 0] * x + T[1, 1] * y + T[1, 2] * z + T[1, 3]) / zc
            K = camera.K
            u = K[0, 0] * xn + K[0, 1] * yn + K[0, 2]
            v = K[1, 1] * yn + K[1, 2]
            cu0, cv0, cu1, cv1 = camera.image_rect()
            valid = (zc > 0.1) & (u >= cu0) & (u < cu1) & (v >= cv0) & (v < cv1)
            valid &= (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)
            keep = np.flatnonzero(valid)
            return np.stack([u[keep], v[keep]], axis=1), zc[keep], cand[front[keep]]
        pts_cam = xform(T, self.points(cand))  # as project_sweep's
        z = pts_cam[:, 2]
        front = np.flatnonzero((z > NEAR) & (z <= max_depth))
        uv, depth, valid = camera.project(pts_cam[front])
        valid &= (uv[:, 0] >= u0) & (uv[:, 0] <= u1) & (uv[:, 1] >= v0) & (uv[:, 1] <= v1)
        keep = np.flatnonzero(valid)
        return uv[keep], depth[keep], cand[front[keep]]


def _padded(polys: Sequence[F64]) -> tuple[F64, F64, F64]:
    """``(pad, ex, ey)``: polygons (K, 2) padded to the same vertex count V by repeating their last
    vertex (T, V, 2), and their edge vectors (T, V), as ``common._in_convex``'s ``b - a``."""
    lens = np.array([len(q) for q in polys], dtype=np.intp)
    kmax = int(lens.max())
    starts = np.cumsum(lens) - lens
    take = starts[:, None] + np.minimum(np.arange(kmax)[None, :], lens[:, None] - 1)
    pad = np.concatenate(polys).reshape(-1, 2)[take]  # (T, V, 2): vertex min(i, K - 1) of each
    nxt = np.roll(pad, -1, axis=1)
    ex = nxt[:, :, 0] - pad[:, :, 0]  # (T, K) edge vectors, as _in_convex's b - a
    ey = nxt[:, :, 1] - pad[:, :, 1]
    return pad, ex, ey


def _in_polygons(uv: F64, order: NDArray[np.intp], polys: Sequence[F64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The (point, polygon) pairs with the pixel ``uv[point]`` inside polygon (K, 2) ``polys[item]``:
    ``(point indices, item indices)``, grouped by item in ascending order. A point is inside when
    it lies in the polygon's bounding rectangle (inclusive) and ``common._in_convex`` holds, computed
    with the same arithmetic for all polygons at once (``order``: the points sorted by u). Polygons
    are padded to the same vertex count by repeating their last vertex: the zero-length edges add
    zero cross products, which pass both orientation tests."""
    t = len(polys)
    pad, ex, ey = _padded(polys)
    kmax = pad.shape[1]
    lo = pad.min(axis=1)
    hi = pad.max(axis=1)
    u_sorted = uv[order, 0]
    a = np.searchsorted(u_sorted, lo[:, 0], "left")
    b = np.searchsorted(u_sorted, hi[:, 0], "right")
    cnt = np.maximum(b - a, 0)
    total = int(cnt.sum())
    offsets = np.repeat(np.cumsum(cnt) - cnt, cnt)
    sel = order[np.repeat(a, cnt) + np.arange(total) - offsets]
    item = np.repeat(np.arange(t), cnt)
    w = uv[sel, 1]
    keep = (w >= np.repeat(lo[:, 1], cnt)) & (w <= np.repeat(hi[:, 1], cnt))
    sel, item = sel[keep], item[keep]
    run = np.bincount(item, minlength=t)  # the pairs come in runs of one item each
    px, py = uv[sel, 0], uv[sel, 1]
    pos = np.ones(len(sel), dtype=bool)
    neg = np.ones(len(sel), dtype=bool)
    for k in range(kmax):
        cross = (np.repeat(ex[:, k], run) * (py - np.repeat(pad[:, k, 1], run))
                 - np.repeat(ey[:, k], run) * (px - np.repeat(pad[:, k, 0], run)))
        pos &= cross >= -1e-9
        neg &= cross <= 1e-9
    ok = pos | neg
    return sel[ok], item[ok]


def union_rect(rects: Sequence[tuple[float, float, float, float]]) -> tuple[float, float, float, float] | None:
    """The bounding rectangle of pixel rectangles (u0, v0, u1, v1), None for none."""
    if not rects:
        return None
    a = np.array(rects, dtype=np.float64)
    return (float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 2].max()), float(a[:, 3].max()))


def polygon_rect(poly: F64) -> tuple[float, float, float, float]:
    """(u0, v0, u1, v1) of a polygon (K, 2)."""
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


