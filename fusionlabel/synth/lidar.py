"""A spinning multi-beam LiDAR, ray-cast against the scene's boxes and the ground plane.

By default the sweep is instantaneous (no motion within a sweep): every ray is cast at the frame
time, so the returns agree exactly with the ground truth of that frame. A rotating sweep
(``SynthConfig.rolling_sweep``) casts the azimuth columns in blocks, each from the lidar pose and
against the scene at its own time (:func:`sweep_column_offsets`), and records that time per point. Each return gets a
small Gaussian range noise along its ray; on boxes the noisy range is clipped to the segment where
the ray is inside the box that it hit (1 mm margin), so object points never leave their box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fusionlabel.synth.raycast import face_normal_world, ray_box, ray_ground
from fusionlabel.synth.road import Road
from fusionlabel.synth.scene import Primitives

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class LidarSpec:
    """Beam elevations (rad, lidar frame, ascending), azimuth steps per revolution, min/max range
    (m) and the range noise standard deviation (m)."""

    elevations: tuple[float, ...]
    n_azimuth: int = 1800
    min_range: float = 1.0
    max_range: float = 100.0
    range_noise: float = 0.01

    @classmethod
    def default(cls, beams: int = 64, n_azimuth: int = 1800) -> LidarSpec:
        """A 64-beam spinning LiDAR: elevations evenly spread over -24.8 .. +2.0 degrees."""
        el = np.radians(np.linspace(-24.8, 2.0, beams))
        return cls(tuple(float(e) for e in el), n_azimuth)

    @property
    def beams(self) -> int:
        return len(self.elevations)

    def directions(self) -> F64:
        """(beams, n_azimuth, 3) unit ray directions in the lidar frame (x fwd, y left, z up);
        azimuth 0 looks along +x and increases counter-clockwise."""
        el = np.asarray(self.elevations)[:, None]
        az = (2.0 * np.pi / self.n_azimuth) * np.arange(self.n_azimuth)[None, :]
        ce = np.cos(el)
        return np.stack(np.broadcast_arrays(ce * np.cos(az), ce * np.sin(az), np.sin(el)), axis=-1)


@dataclass
class LidarSweep:
    """One sweep: ``points`` (N, 4) float32 (x, y, z in the lidar frame in metres, intensity in
    [0, 1]) and ``instance`` (N,) int32 (GT track id of the hit object, -1 for ground/structure);
    ``part`` (N,) int32 the index of the primitive hit (into the frame's ``Primitives``), -1 for the
    ground. ``time`` (N,) float32 seconds of each point relative to the frame timestamp (None: every
    point at the frame time). With times, each point is in the lidar frame *at its own time*."""

    points: NDArray[np.float32]
    instance: NDArray[np.int32]
    part: NDArray[np.int32] | None = None
    time: NDArray[np.float32] | None = None


def sweep_column_offsets(n_azimuth: int, sweep_s: float) -> F64:
    """(n_azimuth,) time (s) at which each azimuth column is fired, relative to the frame time: the
    head turns clockwise (seen from above) once per ``sweep_s`` and looks forward (azimuth 0) at
    the frame time, so azimuth ``a`` (wrapped to (-pi, pi]) fires at ``-a / (2 pi) * sweep_s``:
    the left side (+90 deg) a quarter turn before the frame time, the right side after it."""
    az = (2.0 * np.pi / n_azimuth) * np.arange(n_azimuth)
    az = np.where(az > np.pi, az - 2.0 * np.pi, az)
    return -az / (2.0 * np.pi) * sweep_s


def cast_sweep(
    spec: LidarSpec,
    T_world_from_lidar: F64,
    prims: Primitives,
    road: Road,
    rng: np.random.Generator,
    dirs_lidar: F64 | None = None,
    columns: NDArray[np.int64] | None = None,
) -> LidarSweep:
    """Cast every beam x azimuth ray from the lidar pose against ``prims`` and the ground
    (``columns``: only these azimuth indices, in this order; default all)."""
    if dirs_lidar is None:
        dirs_lidar = spec.directions()
    na_full = dirs_lidar.shape[1]
    local = None
    if columns is not None:
        columns = np.asarray(columns, dtype=np.int64)
        local = np.full(na_full, -1, dtype=np.int64)
        local[columns] = np.arange(columns.size)
        dirs_lidar = dirs_lidar[:, columns]
    nb, na = dirs_lidar.shape[:2]
    R = T_world_from_lidar[:3, :3]
    o = T_world_from_lidar[:3, 3].copy()
    dirs_world = dirs_lidar @ R.T  # (nb, na, 3)
    flat = dirs_world.reshape(-1, 3)

    t_best = ray_ground(o, flat).reshape(nb, na)
    t_best[t_best > spec.max_range] = np.inf
    t_exit = np.full((nb, na), np.inf)
    owner = np.full((nb, na), -1, dtype=np.int64)  # index into prims, -1 = ground
    axis_best = np.zeros((nb, na), dtype=np.int64)
    sign_best = np.zeros((nb, na))

    el = np.asarray(spec.elevations)
    step = 2.0 * np.pi / na_full
    c_l = (prims.center - o) @ R  # part centres in the lidar frame
    radius = np.linalg.norm(prims.half, axis=1)
    dist = np.linalg.norm(c_l, axis=1)
    for p in range(len(prims)):
        if dist[p] - radius[p] > spec.max_range:
            continue
        if dist[p] <= radius[p] * 1.0001:
            rows = np.arange(nb)
            cols = np.arange(na)
        else:
            alpha = math.asin(radius[p] / dist[p])
            el_c = math.asin(float(np.clip(c_l[p, 2] / dist[p], -1.0, 1.0)))
            rows = np.nonzero((el >= el_c - alpha - 1e-9) & (el <= el_c + alpha + 1e-9))[0]
            if rows.size == 0:
                continue
            if abs(el_c) + alpha >= np.pi / 2 - 1e-6:
                cols = np.arange(na)
            else:
                daz = math.asin(min(1.0, math.sin(alpha) / math.cos(el_c)))
                az_c = math.atan2(c_l[p, 1], c_l[p, 0])
                j0 = math.floor((az_c - daz) / step)
                j1 = math.ceil((az_c + daz) / step)
                cols = np.mod(np.arange(j0, j1 + 1), na_full)
                if cols.size > na_full:
                    cols = np.arange(na_full)
                if local is not None:
                    cols = local[cols]
                    cols = cols[cols >= 0]
                    if cols.size == 0:
                        continue
        sub = dirs_world[rows[:, None], cols[None, :]].reshape(-1, 3)
        t_in, t_out, axis, sign = ray_box(o, sub, prims.center[p], prims.half[p], float(prims.yaw[p]))
        t_in = t_in.reshape(rows.size, cols.size)
        cur = t_best[rows[:, None], cols[None, :]]
        better = t_in < cur
        if not better.any():
            continue
        rr, cc = np.nonzero(better)
        gr, gc = rows[rr], cols[cc]
        t_best[gr, gc] = t_in[rr, cc]
        t_exit[gr, gc] = t_out.reshape(rows.size, cols.size)[rr, cc]
        owner[gr, gc] = p
        axis_best[gr, gc] = axis.reshape(rows.size, cols.size)[rr, cc]
        sign_best[gr, gc] = sign.reshape(rows.size, cols.size)[rr, cc]

    keep = np.isfinite(t_best) & (t_best >= spec.min_range) & (t_best <= spec.max_range)
    t = t_best[keep]
    own = owner[keep]
    d_l = dirs_lidar[keep]
    d_w = dirs_world[keep]
    n = t.shape[0]
    noise = rng.normal(0.0, spec.range_noise, n)
    on_box = own >= 0
    t_noisy = t + noise
    # keep box returns inside the box they hit: between entry (+1 mm) and exit (-1 mm)
    lo = t + 1e-3
    hi = np.maximum(t_exit[keep] - 1e-3, lo)
    t_noisy[on_box] = np.clip(t_noisy[on_box], lo[on_box], hi[on_box])
    pts = d_l * t_noisy[:, None]

    # intensity: surface reflectivity times a Lambertian-like incidence term, plus a little noise
    refl = np.empty(n, dtype=np.float64)
    cos_inc = np.empty(n, dtype=np.float64)
    g = ~on_box
    pw = o + d_w[g] * t[g, None]
    _, ground_refl = road.ground_appearance(pw[:, 0], pw[:, 1])
    refl[g] = ground_refl
    cos_inc[g] = np.abs(d_w[g, 2])
    if on_box.any():
        idx = own[on_box]
        refl[on_box] = prims.reflectivity[idx]
        ax = axis_best[keep][on_box]
        sg = sign_best[keep][on_box]
        normals = np.zeros((idx.size, 3))
        for p in np.unique(idx):
            m = idx == p
            normals[m] = face_normal_world(ax[m], sg[m], float(prims.yaw[p]))
        cos_inc[on_box] = np.abs(np.einsum("ij,ij->i", normals, d_w[on_box]))
    inten = refl * (0.35 + 0.65 * cos_inc) + rng.normal(0.0, 0.01, n)
    inten = np.clip(inten, 0.0, 1.0)

    out = np.empty((n, 4), dtype=np.float32)
    out[:, :3] = pts
    out[:, 3] = inten
    inst = np.where(on_box, prims.instance[np.maximum(own, 0)], -1).astype(np.int32)
    return LidarSweep(out, inst, np.where(on_box, own, -1).astype(np.int32))
