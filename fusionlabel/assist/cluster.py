"""Euclidean clustering of non-ground points with a radius that grows with range.

LiDAR points get sparser with distance (the gap between two beams grows linearly with range), so
two points are linked when they are closer than ``radius_at(range)``: ``base + per_metre * range``
capped at ``max_radius``, with ``range`` the BEV distance from the sensor ``origin`` (same frame as
the points). Points are first reduced to ``voxel``-sized cells (their mean) so that dense
near-range surfaces cost no more than sparse far ones; each point takes its cell's cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ClusterParams:
    """Link radius ``base + per_metre * range`` (m) capped at ``max_radius``; ``voxel`` m cell size
    of the reduction; clusters with fewer than ``min_points`` points are dropped (label -1);
    ``z_scale`` < 1 shrinks vertical distances (beams are sparser vertically than horizontally).

    ``tangential`` (base, per metre), when set, makes the link an ellipse: the radius above holds
    along the line of sight (radially, where the rings of a spinning LiDAR lie far apart on a roof
    or a bonnet) and ``base + per_metre * range`` (at most the radial one) across it, where the
    azimuth resolution is fine, so that two objects side by side (a car and a hedge or a fence
    0.4 m away, two people walking together) stay apart."""

    base: float = 0.3
    per_metre: float = 0.012
    max_radius: float = 1.0
    voxel: float = 0.08
    min_points: int = 3
    z_scale: float = 0.0
    tangential: tuple[float, float] | None = None

    def radius_at(self, rng: ArrayLike) -> F64:
        return np.minimum(self.base + self.per_metre * np.asarray(rng, dtype=np.float64), self.max_radius)


def _voxelize(pts: F64, voxel: float) -> tuple[F64, NDArray[np.intp]]:
    cells = np.floor(pts / voxel).astype(np.int64)
    cells -= cells.min(axis=0)
    span = cells.max(axis=0) + 1
    keys = (cells[:, 0] * span[1] + cells[:, 1]) * span[2] + cells[:, 2]  # one int per cell
    _, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = int(inverse.max()) + 1 if len(inverse) else 0
    sums = np.stack([np.bincount(inverse, weights=pts[:, k], minlength=n) for k in range(3)], axis=1)
    counts = np.bincount(inverse, minlength=n).astype(np.float64)
    return sums / counts[:, None], inverse


def cluster_points(
    pts: ArrayLike, origin: ArrayLike = (0.0, 0.0, 0.0), params: ClusterParams | None = None
) -> NDArray[np.int64]:
    """Cluster labels (N,) for (N, 3) points (metres, z-up frame; ground removed beforehand):
    0, 1, ... ordered by decreasing size, -1 for clusters smaller than ``params.min_points``.
    ``origin`` (3,) is the sensor position in the points' frame (range for the radius)."""
    prm = params or ClusterParams()
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    # voxels in the scaled space (z_scale 0: BEV cells), so that a column of points is one node
    scale = np.array([1.0, 1.0, prm.z_scale])
    scaled, inverse = _voxelize(p * scale, prm.voxel)
    reps = scaled.copy()  # x, y are metres; the range below needs only x, y
    tree = cKDTree(scaled)
    pairs = tree.query_pairs(prm.max_radius, output_type="ndarray")
    m = len(reps)
    if len(pairs):
        rng = np.hypot(reps[:, 0] - o[0], reps[:, 1] - o[1])
        d = np.linalg.norm(scaled[pairs[:, 0]] - scaled[pairs[:, 1]], axis=1)
        r = prm.radius_at(np.maximum(rng[pairs[:, 0]], rng[pairs[:, 1]]))
        if prm.tangential is None:
            pairs = pairs[d <= r]
        else:
            mid = 0.5 * (reps[pairs[:, 0], :2] + reps[pairs[:, 1], :2]) - o[:2]
            los = mid / np.maximum(np.linalg.norm(mid, axis=1, keepdims=True), 1e-9)
            diff = scaled[pairs[:, 0]] - scaled[pairs[:, 1]]
            radial = np.abs(np.sum(diff[:, :2] * los, axis=1))
            across = np.abs(diff[:, 0] * los[:, 1] - diff[:, 1] * los[:, 0])
            rt = np.minimum(prm.tangential[0] + prm.tangential[1] * np.maximum(rng[pairs[:, 0]], rng[pairs[:, 1]]), r)
            dz = diff[:, 2]
            pairs = pairs[(radial / r) ** 2 + (across / rt) ** 2 + (dz / r) ** 2 <= 1.0]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)) if len(pairs) else \
        coo_matrix((m, m))
    _, comp = connected_components(graph, directed=False)
    labels = comp[inverse]
    counts = np.bincount(labels)
    order = np.argsort(-counts, kind="stable")
    remap = np.full(len(counts), -1, dtype=np.int64)
    keep = order[counts[order] >= prm.min_points]
    remap[keep] = np.arange(len(keep))
    return remap[labels]


def grow_cluster(
    pts: ArrayLike,
    seed_xy: ArrayLike,
    origin: ArrayLike = (0.0, 0.0, 0.0),
    params: ClusterParams | None = None,
    seed_radius: float = 0.6,
    max_seed_radius: float = 2.5,
    limit_radius: float | None = None,
) -> NDArray[np.intp]:
    """Indices of the points of the cluster at a BEV position ``seed_xy`` (2,) (same frame as
    ``pts`` (N, 3), ground removed). Clusters are built from the points within ``limit_radius`` m
    (BEV) of the seed (default: 8 m + the link radius there); the cluster chosen holds the most
    points within ``seed_radius`` of the seed (the radius doubles up to ``max_seed_radius`` when
    there are none). Empty when nothing is near."""
    prm = params or ClusterParams()
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    s = np.asarray(seed_xy, dtype=np.float64).reshape(2)
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    d = np.hypot(p[:, 0] - s[0], p[:, 1] - s[1])
    lim = 8.0 + float(prm.radius_at(np.hypot(*(s - o[:2])))) if limit_radius is None else limit_radius
    local = np.flatnonzero(d <= lim)
    if len(local) == 0:
        return np.zeros(0, dtype=np.intp)
    labels = cluster_points(p[local], o, ClusterParams(**{**prm.__dict__, "min_points": 1}))
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, dtype=np.int64)
    dl = d[local]
    r = seed_radius
    while True:
        near = (dl <= r) & (labels >= 0)
        if near.any():
            lab = labels[near]
            # clusters of at least 3 points beat stray points; then the most points near the seed,
            # nearer points counting more
            w = np.bincount(lab, weights=1.0 / (0.2 + dl[near]), minlength=len(sizes))
            w = w + 1e6 * (sizes >= 3)
            best = int(np.argmax(w))
            return local[labels == best]
        if r >= max_seed_radius:
            return np.zeros(0, dtype=np.intp)
        r = min(2 * r, max_seed_radius)
