"""Ego poses from the LiDAR alone, for recordings that come without them.

Without poses the ``world`` frame of a sequence is the LiDAR frame of each sweep, so parked cars
appear to move and interpolation between keyframes follows the ego's own motion. This module
registers consecutive sweeps (point-to-plane ICP in open3d, coarse to fine) and chains the
results into ``T_world_from_lidar`` per sweep, with the first sweep's LiDAR frame as ``world``.

* Points nearer than ``min_range`` (the ego's own body) and farther than ``max_range`` are left
  out, the rest voxel-downsampled to ``voxel`` metres.
* The first guess of each registration is the previous relative motion scaled to the time gap
  (constant velocity; identity for the first pair). Pairs are registered from the shortest time
  gap outward, so a long gap (a dropped sweep) starts from a velocity measured on short ones.
* A registration whose inlier share (``fitness``) stays below ``min_fitness`` is reported in
  :class:`EgoMotion.warnings`; the result is still the best estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

F64 = NDArray[np.float64]


@dataclass
class EgoMotion:
    """``T_world_from_lidar`` (K, 4, 4) per sweep (world = the first sweep's LiDAR frame), the
    ICP fitness of each consecutive pair (K-1,) and any warnings."""

    T_world_from_lidar: F64
    fitness: F64
    rmse: F64
    warnings: list[str] = field(default_factory=list)


def _scaled(T: F64, s: float) -> F64:
    """The rigid motion ``T`` scaled by ``s`` in time (rotation vector and translation x s)."""
    out = np.eye(4)
    out[:3, :3] = Rotation.from_rotvec(Rotation.from_matrix(T[:3, :3]).as_rotvec() * s).as_matrix()
    out[:3, 3] = T[:3, 3] * s
    return out


def _prepare(pts: ArrayLike, voxel: float, min_range: float, max_range: float):  # noqa: ANN202 (open3d type)
    import open3d as o3d

    p = np.asarray(pts, dtype=np.float64)[:, :3]
    p = p[np.isfinite(p).all(axis=1)]
    r = np.linalg.norm(p[:, :2], axis=1)
    p = p[(r > min_range) & (r < max_range)]
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p)).voxel_down_sample(voxel)
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=3 * voxel, max_nn=30))
    return cloud


def register(
    src: object, dst: object, init: F64, distances: Sequence[float] = (3.0, 1.0, 0.5)
) -> tuple[F64, float, float]:
    """Point-to-plane ICP of ``src`` onto ``dst`` (open3d clouds with normals), coarse to fine.
    Returns ``(T_dst_from_src, fitness, inlier_rmse)``."""
    import open3d as o3d

    T = np.asarray(init, dtype=np.float64)
    res = None
    for d in distances:
        res = o3d.pipelines.registration.registration_icp(
            src, dst, d, T, o3d.pipelines.registration.TransformationEstimationPointToPlane()
        )
        T = np.asarray(res.transformation)
    assert res is not None
    return T, float(res.fitness), float(res.inlier_rmse)


def estimate_ego_motion(
    clouds: Sequence[ArrayLike],
    times_ns: Sequence[int],
    voxel: float = 0.3,
    min_range: float = 3.0,
    max_range: float = 60.0,
    min_fitness: float = 0.5,
) -> EgoMotion:
    """Poses of K sweeps ((N_k, 3) arrays in the LiDAR frame, metres; times in ns) by chained
    registration of consecutive sweeps. See the module docstring for the method."""
    k = len(clouds)
    if k != len(times_ns):
        raise ValueError(f"{k} clouds but {len(times_ns)} timestamps")
    if k == 0:
        return EgoMotion(np.zeros((0, 4, 4)), np.zeros(0), np.zeros(0))
    prepared = [_prepare(c, voxel, min_range, max_range) for c in clouds]
    dt = np.diff(np.asarray(times_ns, dtype=np.float64))
    rel: dict[int, F64] = {}  # pair i: T_{i}_from_{i+1}
    fitness = np.zeros(max(k - 1, 0))
    rmse = np.zeros(max(k - 1, 0))
    warnings: list[str] = []
    for i in sorted(range(k - 1), key=lambda j: (dt[j], j)):
        done = [j for j in rel if dt[j] > 0]
        if done:
            j = min(done, key=lambda m: abs(m - i))
            init = _scaled(rel[j], dt[i] / dt[j]) if dt[j] > 0 else np.eye(4)
        else:
            init = np.eye(4)
        T, fit, err = register(prepared[i + 1], prepared[i], init)
        rel[i], fitness[i], rmse[i] = T, fit, err
        if fit < min_fitness:
            warnings.append(f"sweeps {i} -> {i + 1}: registration fitness {fit:.2f} < {min_fitness} (pose unreliable)")
    poses = np.zeros((k, 4, 4))
    poses[0] = np.eye(4)
    for i in range(k - 1):
        poses[i + 1] = poses[i] @ rel[i]
    return EgoMotion(poses, fitness, rmse, warnings)
