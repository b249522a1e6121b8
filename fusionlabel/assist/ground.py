"""Ground estimation per sweep: a robust plane (RANSAC) refined into a smooth piecewise surface.

:func:`fit_ground` takes the points of one sweep in any z-up frame (the sensor, ego or world
frame: ``frame`` only names it) and returns a :class:`GroundModel` whose :meth:`GroundModel.height_at`
gives the ground height (metres, z of that same frame) at (x, y) of that frame. Nothing is
transformed here: fit in the world frame to snap world-frame boxes.

Method:

1. RANSAC plane (seeded numpy RNG, deterministic) on the points within ``max_range`` of
   ``origin``, with the plane normal within ``max_tilt_deg`` of +z; the lowest of the best planes
   wins ties, so car roofs and walls are never taken for the ground. Refined by least squares on
   its inliers.
2. ``method="grid"`` (default): the ground becomes a bilinear surface on a grid of nodes
   ``cell`` metres apart, fitted by least squares to the points near the current surface with a
   smoothness prior (second differences of neighbouring nodes, which cost nothing for a plane,
   so slopes are free and only bends pay). Repeated passes with a band around the current
   surface let it climb slopes away from the plane (the prior extrapolates the slope into cells
   not yet reached); the last passes narrow the band to drop objects standing on it.
   ``method="plane"`` keeps the single plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

#: Points closer than this (m) above the ground surface count as ground.
GROUND_TOLERANCE = 0.2


@dataclass(frozen=True)
class GroundModel:
    """The ground surface ``z = height_at(x, y)`` in one z-up frame (named by ``frame``).

    ``plane`` (a, b, c): ``z = a x + b y + c`` (the RANSAC plane). ``grid``, when set, is the
    piecewise surface: node heights ``heights`` (ny, nx) at ``x0 + i * cell``, ``y0 + j * cell``,
    interpolated bilinearly (clamped at the grid border). Callable as ``model(x, y)``, so it can be
    a ``ToolContext.ground``.
    """

    plane: tuple[float, float, float]
    frame: str = "world"
    x0: float = 0.0
    y0: float = 0.0
    cell: float = 0.0
    heights: F64 | None = None
    inliers: int = 0

    @property
    def is_grid(self) -> bool:
        return self.heights is not None

    def plane_height(self, x: ArrayLike, y: ArrayLike) -> F64:
        a, b, c = self.plane
        return a * np.asarray(x, dtype=np.float64) + b * np.asarray(y, dtype=np.float64) + c

    def height_at(self, x: ArrayLike, y: ArrayLike) -> F64 | float:
        """Ground height (m, z of ``frame``) at ``x``, ``y`` (m, scalars or arrays of one shape)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if self.heights is None:
            z = self.plane_height(x, y)
        else:
            ny, nx = self.heights.shape
            u = np.clip((x - self.x0) / self.cell, 0.0, nx - 1.0)
            v = np.clip((y - self.y0) / self.cell, 0.0, ny - 1.0)
            i = np.minimum(np.floor(u).astype(np.int64), max(nx - 2, 0))
            j = np.minimum(np.floor(v).astype(np.int64), max(ny - 2, 0))
            fu, fv = u - i, v - j
            h = self.heights
            i1, j1 = np.minimum(i + 1, nx - 1), np.minimum(j + 1, ny - 1)
            z = (h[j, i] * (1 - fu) * (1 - fv) + h[j, i1] * fu * (1 - fv) + h[j1, i] * (1 - fu) * fv
                 + h[j1, i1] * fu * fv)
        return float(z) if np.ndim(z) == 0 else z

    def __call__(self, x: float, y: float) -> float:
        return float(self.height_at(x, y))

    def height_above(self, pts: ArrayLike) -> F64:
        """(N,) height of each point (N, 3) above the ground surface, metres."""
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
        return p[:, 2] - np.asarray(self.height_at(p[:, 0], p[:, 1]))

    def ground_mask(self, pts: ArrayLike, tolerance: float = GROUND_TOLERANCE) -> NDArray[np.bool_]:
        """(N,) True for points within ``tolerance`` above (or anywhere below) the surface."""
        return self.height_above(pts) < tolerance

    def normal_at(self, x: float, y: float, eps: float = 0.5) -> F64:
        """Unit upward normal (3,) of the surface at (x, y) (finite differences over ``eps`` m)."""
        dzdx = (self(x + eps, y) - self(x - eps, y)) / (2 * eps)
        dzdy = (self(x, y + eps) - self(x, y - eps)) / (2 * eps)
        n = np.array([-dzdx, -dzdy, 1.0])
        return n / np.linalg.norm(n)


def flat_ground(z: float = 0.0, frame: str = "world") -> GroundModel:
    """A horizontal ground at height ``z``."""
    return GroundModel((0.0, 0.0, float(z)), frame)


def _plane_from_points(p: F64) -> tuple[float, float, float] | None:
    """Least-squares plane z = a x + b y + c through (N, 3) points (total least squares)."""
    if len(p) < 3:
        return None
    c = p.mean(axis=0)
    _, _, vt = np.linalg.svd(p - c, full_matrices=False)
    n = vt[-1]
    if abs(n[2]) < 1e-6:
        return None
    a, b = -n[0] / n[2], -n[1] / n[2]
    return float(a), float(b), float(c[2] - a * c[0] - b * c[1])


def ransac_plane(
    pts: F64,
    threshold: float = 0.15,
    iterations: int = 200,
    max_tilt_deg: float = 15.0,
    seed: int = 0,
) -> tuple[tuple[float, float, float], NDArray[np.bool_]]:
    """Robust plane ``z = a x + b y + c`` through (N, 3) points with a normal within
    ``max_tilt_deg`` of +z; returns the plane (refined on its inliers) and the inlier mask.
    Among planes with nearly as many inliers as the best (within 20%), the lowest at the points'
    centroid wins (the ground is below the objects). Deterministic for ``seed``."""
    n = len(pts)
    if n < 3:
        raise ValueError(f"ground fit needs at least 3 points, got {n}")
    rng = np.random.default_rng(seed)
    cos_tilt = math.cos(math.radians(max_tilt_deg))
    sub = pts if n <= 8000 else pts[rng.choice(n, 8000, replace=False)]
    idx = rng.integers(0, len(sub), size=(iterations, 3))
    a, b, c = sub[idx[:, 0]], sub[idx[:, 1]], sub[idx[:, 2]]
    normals = np.cross(b - a, c - a)
    norm = np.linalg.norm(normals, axis=1)
    ok = norm > 1e-9
    normals[ok] /= norm[ok, None]
    ok &= np.abs(normals[:, 2]) >= cos_tilt
    if not ok.any():
        raise ValueError("ground fit: no near-horizontal plane among the samples")
    normals, a = normals[ok], a[ok]
    normals *= np.sign(normals[:, 2])[:, None]
    d = -(normals * a).sum(axis=1)
    dist = np.abs(sub @ normals.T + d)  # (M, K)
    counts = (dist < threshold).sum(axis=0)
    centroid = sub.mean(axis=0)
    z_at_centroid = -(normals[:, 0] * centroid[0] + normals[:, 1] * centroid[1] + d) / normals[:, 2]
    good = counts >= 0.8 * counts.max()
    best = int(np.flatnonzero(good)[np.argmin(z_at_centroid[good])])
    nb, db = normals[best], d[best]
    inl = np.abs(pts @ nb + db) < threshold
    plane = _plane_from_points(pts[inl]) or (-nb[0] / nb[2], -nb[1] / nb[2], -db / nb[2])
    # one refinement pass with the least-squares plane
    a_, b_, c_ = plane
    inl = np.abs(pts[:, 2] - (a_ * pts[:, 0] + b_ * pts[:, 1] + c_)) < threshold
    plane = _plane_from_points(pts[inl]) or plane
    return plane, inl


def fit_ground(
    pts: ArrayLike,
    origin: ArrayLike | None = None,
    *,
    method: str = "grid",
    frame: str = "world",
    max_range: float = 80.0,
    cell: float = 4.0,
    smoothness: float = 3.0,
    threshold: float = 0.15,
    seed: int = 0,
) -> GroundModel:
    """Fit the ground of one sweep.

    ``pts`` (N, 3+) metres in a z-up frame (extra columns ignored); ``origin`` (3,) the sensor
    position in that frame (default: the points' (x, y) centre, at the lowest 10% height + 2 m,
    which only limits the range); ``max_range`` m (BEV) around the origin; ``method`` ``"grid"``
    (piecewise, slopes) or ``"plane"``; ``cell`` m grid spacing; ``smoothness`` weight of the
    bending penalty. Raises ValueError when too few points remain."""
    p = np.asarray(pts, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 3:
        raise ValueError(f"ground fit: points must be (N, 3+), got shape {p.shape}")
    p = p[:, :3]
    p = p[np.isfinite(p).all(axis=1)]
    if method not in ("grid", "plane"):
        raise ValueError(f"ground fit: method must be 'grid' or 'plane', got {method!r}")
    if origin is None:
        o = np.array([*np.median(p[:, :2], axis=0), 0.0]) if len(p) else np.zeros(3)
    else:
        o = np.asarray(origin, dtype=np.float64).reshape(3)
    r = np.hypot(p[:, 0] - o[0], p[:, 1] - o[1])
    p = p[r <= max_range]
    if len(p) < 10:
        raise ValueError(f"ground fit: only {len(p)} points within {max_range} m")
    plane, inl = ransac_plane(p, threshold=threshold, seed=seed)
    model = GroundModel(plane, frame, inliers=int(inl.sum()))
    if method == "plane":
        return model
    return _fit_grid(p, model, cell, smoothness)


def _fit_grid(p: F64, model: GroundModel, cell: float, smoothness: float) -> GroundModel:
    # a fixed subsample bounds the cost (dense near-range points add nothing to a 4 m grid)
    q = p if len(p) <= 40000 else p[np.random.default_rng(0).choice(len(p), 40000, replace=False)]
    x0 = math.floor(q[:, 0].min() / cell) * cell - cell
    y0 = math.floor(q[:, 1].min() / cell) * cell - cell
    nx = int(math.ceil((q[:, 0].max() - x0) / cell)) + 2
    ny = int(math.ceil((q[:, 1].max() - y0) / cell)) + 2
    if nx * ny > 250_000:
        return model
    gx, gy = np.meshgrid(x0 + np.arange(nx) * cell, y0 + np.arange(ny) * cell)
    heights = model.plane_height(gx, gy)
    current = GroundModel(model.plane, model.frame, x0, y0, cell, heights, model.inliers)
    n_nodes = nx * ny
    # smoothness: second differences along x and y (zero for any plane)
    rows, cols, vals = [], [], []
    r = 0
    for j in range(ny):
        for i in range(1, nx - 1):
            k = j * nx + i
            rows += [r, r, r]
            cols += [k - 1, k, k + 1]
            vals += [1.0, -2.0, 1.0]
            r += 1
    for j in range(1, ny - 1):
        for i in range(nx):
            k = j * nx + i
            rows += [r, r, r]
            cols += [k - nx, k, k + nx]
            vals += [1.0, -2.0, 1.0]
            r += 1
    D = sp.csr_matrix((vals, (rows, cols)), shape=(r, n_nodes))
    plane_prior = model.plane_height(gx, gy).ravel()
    # the band around the current surface: passes at 0.5 m let the surface climb a slope cell by
    # cell (the bending prior extrapolates it linearly), the last ones drop objects on it
    for band in (0.5, 0.5, 0.5, 0.5, 0.35, 0.25):
        dz = q[:, 2] - np.asarray(current.height_at(q[:, 0], q[:, 1]))
        inb = (dz > -band) & (dz < band)
        sel = q[inb]
        if len(sel) < 10:
            break
        # (last passes) objects stand on the ground: points well above the surface weigh little, so the
        # lower parts of cars and walls do not lift it (noise is symmetric, objects are not)
        wt = np.where(dz[inb] > 0.1, 0.05, 1.0) if band < 0.5 else np.ones(len(sel))
        u = (sel[:, 0] - x0) / cell
        v = (sel[:, 1] - y0) / cell
        i = np.clip(np.floor(u).astype(np.int64), 0, nx - 2)
        j = np.clip(np.floor(v).astype(np.int64), 0, ny - 2)
        fu, fv = u - i, v - j
        m = len(sel)
        ridx = np.repeat(np.arange(m), 4)
        cidx = np.stack([j * nx + i, j * nx + i + 1, (j + 1) * nx + i, (j + 1) * nx + i + 1], axis=1).ravel()
        w = np.stack([(1 - fu) * (1 - fv), fu * (1 - fv), (1 - fu) * fv, fu * fv], axis=1).ravel()
        A = sp.diags(np.sqrt(wt)) @ sp.csr_matrix((w, (ridx, cidx)), shape=(m, n_nodes))
        # data where there are points (dense near the sensor: the data decide), bending penalty
        # everywhere, and a very weak pull to the plane (keeps the system well-posed)
        prior_w = np.full(n_nodes, 1e-3)
        lhs = (A.T @ A) + smoothness * 50.0 * (D.T @ D) + sp.diags(prior_w)
        rhs = A.T @ (np.sqrt(wt) * sel[:, 2]) + prior_w * plane_prior
        h = spla.spsolve(lhs.tocsc(), rhs)
        current = GroundModel(model.plane, model.frame, x0, y0, cell, h.reshape(ny, nx), model.inliers)
    return current
