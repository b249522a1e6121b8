"""Kerb (curb) extraction from accumulated LiDAR ground returns: ``road_boundary`` proposals (kind
curb) with a confidence, reviewed like the lane-paint proposals (``fusionlabel.map.review``).

Input: points near the ground of many sweeps in the world frame, ``(N, >= 3)`` x, y, z (metres),
e.g. :func:`fusionlabel.map.extract.accumulate_ground` with ``tolerance`` 0.35 m so that a raised
sidewalk is kept (leave the points of labelled objects out). Method:

1. **Raster** (``cell`` m, default 0.2): the lowest return of each cell (the surface, not what
   stands on it).
2. **Step cells**: across the cell (one of four directions, ``side_m`` to each side) the surface
   rises by ``min_step_m`` .. ``max_step_m`` (a kerb: 6 - 30 cm; more is a wall or a car, less a
   slope or noise), and each side is flat (the spread of the lowest returns within 0.3 m under
   ``max_rough_m``: a kerb joins two flat surfaces, grass and bushes are rough).
3. **Tracing** through the step cells as for the lane paint
   (:func:`fusionlabel.map.extract.trace_cells`: line-like seeds, followed both ways across gaps up
   to ``max_gap_m`` where parked cars hide the kerb, joined when they continue each other).
4. **Proposals**: lines longer than ``min_length_m`` become ``road_boundary`` polylines (kind curb,
   smoothed, a vertex every metre) at the height of the lower side (the road at the kerb's foot);
   ``confidence`` grows with length and the share of it seen as a step; a line crossing a surer
   one is dropped, and (given the sensor positions) a line running round a sensor at a constant
   range: the step between two scan rings, which few sweeps from one place show on uneven ground.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from fusionlabel.map.element import MapElement
from fusionlabel.map.extract import MapProposal, PaintParams, _shifted, _uncrossed, trace_cells
from fusionlabel.map.geometry import arc_length, resample, smooth

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class CurbParams:
    """Parameters of :func:`extract_curbs` (metres)."""

    cell: float = 0.2
    side_m: float = 0.4
    min_step_m: float = 0.06
    max_step_m: float = 0.3
    max_rough_m: float = 0.04
    step_m: float = 0.8
    max_gap_m: float = 6.0
    join_gap_m: float = 12.0
    min_length_m: float = 5.0
    min_linearity: float = 0.85
    ring_spread_m: float = 0.4

    def trace_params(self) -> PaintParams:
        """The tracing parameters of :func:`fusionlabel.map.extract.trace_cells`."""
        return PaintParams(cell=self.cell, step_m=self.step_m, max_gap_m=self.max_gap_m, join_gap_m=self.join_gap_m,
                           min_length_m=self.min_length_m, min_linearity=self.min_linearity)


def curb_cells(points: ArrayLike, params: CurbParams | None = None) -> tuple[F64, F64]:
    """Centres (M, 2) of the raster cells at a kerb-like height step, and the height (M,) of the
    lower side there (steps 1-2 of the module doc)."""
    prm = params or CurbParams()
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 3:
        raise ValueError(f"curb extraction: points must be (N, >= 3) x, y, z, got {p.shape}")
    p = p[np.isfinite(p[:, :3]).all(axis=1)]
    if len(p) == 0:
        return np.zeros((0, 2)), np.zeros(0)
    lo = p[:, :2].min(axis=0)
    ij = np.floor((p[:, :2] - lo) / prm.cell).astype(np.int64)
    shape = tuple(ij.max(axis=0) + 1)
    flat = np.ravel_multi_index((ij[:, 0], ij[:, 1]), shape)
    zmin = np.full(int(np.prod(shape)), np.inf)
    np.minimum.at(zmin, flat, p[:, 2])
    zmin = zmin.reshape(shape)
    has = np.isfinite(zmin)
    z0 = np.where(has, zmin, 0.0)
    box = max(int(np.ceil(0.3 / prm.cell - 1e-9)), 1) | 1  # an odd number of cells, at least 0.3 m
    cnt = ndimage.uniform_filter(has.astype(np.float64), box, mode="constant")
    ok_side = cnt > 0.5  # most of the side box has data (a roughness of a few cells says nothing)
    mean = ndimage.uniform_filter(z0, box, mode="constant") / np.maximum(cnt, 1e-9)
    sq = ndimage.uniform_filter(z0 * z0, box, mode="constant") / np.maximum(cnt, 1e-9)
    rough = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    side = np.where(ok_side, mean, np.nan)
    flat_side = np.where(ok_side, rough, np.nan)
    r = max(int(round(prm.side_m / prm.cell)), 1)
    rd = max(int(round(prm.side_m / prm.cell / np.sqrt(2.0))), 1)
    step = np.zeros(shape, dtype=bool)
    low = np.full(shape, np.nan)
    for di, dj in ((r, 0), (0, r), (rd, rd), (rd, -rd)):
        a, b = _shifted(side, di, dj), _shifted(side, -di, -dj)
        ra, rb = _shifted(flat_side, di, dj), _shifted(flat_side, -di, -dj)
        with np.errstate(invalid="ignore"):
            d = np.abs(a - b)
            hit = (d >= prm.min_step_m) & (d <= prm.max_step_m) & (ra < prm.max_rough_m) & (rb < prm.max_rough_m)
        hit &= ~step
        low[hit] = np.fmin(a, b)[hit]
        step |= hit
    step &= has
    ii, jj = np.nonzero(step)
    centres = lo + (np.stack([ii, jj], axis=1) + 0.5) * prm.cell
    return centres, low[ii, jj]


def extract_curbs(points: ArrayLike, params: CurbParams | None = None, first_id: int = 0,
                  origins: ArrayLike | None = None) -> list[MapProposal]:
    """``road_boundary`` (kind curb) proposals from points near the ground (N, >= 3) in the world
    frame (see the module doc), highest confidence first; element ids from ``first_id``.
    ``origins`` (K, >= 2): the sensor positions of the sweeps (world frame); a line running round
    one of them for most of its length (:func:`_round_a_sensor`) is the step between two scan
    rings on uneven ground (few sweeps from one place), not a kerb: dropped."""
    prm = params or CurbParams()
    org = None if origins is None else np.asarray(origins, dtype=np.float64).reshape(-1, np.shape(origins)[-1])[:, :2]
    xy, zlow = curb_cells(points, prm)
    if len(xy) < 10:
        return []
    tp = prm.trace_params()
    tree = cKDTree(xy)
    out: list[MapProposal] = []
    for line in trace_cells(xy, tp):
        length = float(arc_length(line)[-1])
        if length < prm.min_length_m:
            continue
        steps = np.linalg.norm(np.diff(line, axis=0), axis=1)
        seen = float(steps[steps <= prm.step_m * 1.5].sum() / max(length, 1e-9))
        v = resample(smooth(line, window_m=3.0, iterations=2), spacing=1.0)
        if org is not None and len(org) and _round_a_sensor(v, org, prm.ring_spread_m):
            continue
        _, k = tree.query(v)
        v3 = np.concatenate([v, zlow[k][:, None]], axis=1)
        conf = float((1.0 - np.exp(-length / 20.0)) * (0.4 + 0.6 * seen))
        el = MapElement(first_id + len(out), "road_boundary", v3, {"kind": "curb"})
        out.append(MapProposal(el, conf, {"length_m": round(length, 2), "seen": round(seen, 3)}))
    return _uncrossed(out, first_id)


def _round_a_sensor(v: F64, origins: F64, spread_m: float, window: int = 4) -> bool:
    """Whether the polyline ``v`` (K, 2), a vertex every metre, runs round a sensor (``origins``
    (S, 2)) for more than half its length: in most windows of ``window`` vertices its range to
    the nearest sensor varies by less than ``spread_m`` while it turns by at least half the angle
    an arc at that range would (a straight kerb passing a sensor does not turn)."""
    if len(v) < window:
        return False
    rng = np.linalg.norm(v[:, None, :] - origins[None], axis=2).min(axis=1)
    ring = []
    for k in range(len(v) - window + 1):
        a, b = v[k + 1] - v[k], v[k + window - 1] - v[k + window - 2]
        cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
        turn = float(np.arccos(np.clip(cos, -1.0, 1.0)))
        arc = float(np.linalg.norm(np.diff(v[k:k + window], axis=0), axis=1).sum())
        r = rng[k:k + window]
        ring.append(np.ptp(r) < spread_m and turn > 0.5 * arc / max(float(r.mean()), 1e-6))
    return float(np.mean(ring)) > 0.5
