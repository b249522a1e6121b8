"""Lane-paint extraction from accumulated LiDAR ground returns: lane-divider proposals with a
confidence, to be reviewed before they become map elements.

Input: ground points of many sweeps in the world frame, ``(N, 4)`` x, y, z (metres), intensity
(any unit; only contrasts count). Method:

1. **Raster** (``cell`` m, default 0.1): mean intensity and mean height of the points in each cell.
2. **Paint cells**: a cell brighter than the ground ``side_m`` to both sides of it (in one of four
   directions; 0.3 m boxes, empty cells left out) by ``min_contrast`` (absolute) and by the factor
   ``min_ratio``: paint is a thin bright stripe on darker ground, while the edge between two
   surfaces (kerb, grass) is brighter on one side only. Both sides must also be dark (below
   ``max_background`` times the median intensity of all the ground points, i.e. road surface):
   paint lies on asphalt, and range-dependent intensity on bright grass or pavement is no paint.
   And the cell must lie on the ground: all its returns within ``max_height_m`` above the lowest
   cell (mean height) within 1 m (the lowest returns of cars are bright too).
3. **Tracing**: from the most line-like unvisited paint cell (local principal direction, within
   ``probe_m``, on a run of paint at least 1.2 ``probe_m`` long), the line is followed both ways
   in steps of about ``step_m``: the paint ahead within a corridor that widens with distance for
   curves; across a gap (dashes) the nearest paint ahead within ``max_gap_m`` that continues the
   direction. Each trace point is moved onto the
   middle of the paint across the line (a double line gives its middle). Cells near a trace are
   used up. Traces that continue each other across a gap (up to ``join_gap_m``, in line) are
   joined.
4. **Proposals**: traces longer than ``min_length_m`` become ``lane_divider`` polylines (smoothed,
   resampled every metre) with ``type`` dashed when less than ``dashed_below`` of their length is
   painted, else solid; ``confidence`` grows with length and paint coverage. Colour is not seen in
   LiDAR intensity (left at the default). Crossing stripes and stop lines (short pieces) are
   dropped by the length limit, and a proposal that crosses a more confident one is dropped (lane
   lines do not cross). Leave the points of labelled objects out of the input (their lowest
   returns are bright and close to the ground).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from fusionlabel.assist.ground import fit_ground
from fusionlabel.box import Box3D
from fusionlabel.geometry import points_in_boxes
from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import arc_length, polylines_cross, resample, smooth

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class PaintParams:
    """Parameters of :func:`extract_lane_lines` (metres unless noted)."""

    cell: float = 0.1
    side_m: float = 0.5
    min_contrast: float = 0.1
    min_ratio: float = 3.0
    max_background: float = 2.5
    max_height_m: float = 0.06
    probe_m: float = 1.0
    step_m: float = 0.8
    max_gap_m: float = 7.5
    join_gap_m: float = 12.0
    min_length_m: float = 10.0
    dashed_below: float = 0.7
    min_linearity: float = 0.9


@dataclass
class MapProposal:
    """A proposed map element (world frame) with a ``confidence`` in [0, 1] and what was measured
    (``details``: length_m, painted share)."""

    element: MapElement
    confidence: float
    details: dict[str, float] = field(default_factory=dict)


def accumulate_ground(sweeps: Iterable[tuple[ArrayLike, ArrayLike, Sequence[Box3D]]],
                      tolerance: float = 0.1, max_range: float = 60.0) -> F64:
    """Ground returns of many sweeps in the world frame, (M, 4) x, y, z, intensity.

    ``sweeps``: (points (N, 4) in the sensor frame, ``T_world_from_sensor`` (4, 4), world-frame
    boxes of the labelled objects at that sweep, whose points are left out). Each sweep's ground
    is fitted in the world frame (:func:`fusionlabel.assist.ground.fit_ground`, within
    ``max_range`` m of the sensor); points within ``tolerance`` m of it are kept."""
    out = []
    for pts, T, boxes in sweeps:
        p = np.asarray(pts, dtype=np.float64)
        T = np.asarray(T, dtype=np.float64)
        pw = p[:, :3] @ T[:3, :3].T + T[:3, 3]
        try:
            ground = fit_ground(pw, origin=T[:3, 3], max_range=max_range)
        except ValueError:
            continue
        keep = ground.ground_mask(pw, tolerance) & (ground.height_above(pw) > -tolerance)
        if len(boxes):
            keep &= ~points_in_boxes(pw, list(boxes), margin=0.1).any(axis=0)
        out.append(np.concatenate([pw[keep], p[keep, 3:4]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 4))


def paint_cells(points: ArrayLike, params: PaintParams | None = None) -> tuple[F64, F64]:
    """Centres (M, 2) and mean heights (M,) of the raster cells that look like paint (steps 1-2)."""
    prm = params or PaintParams()
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 4:
        raise ValueError(f"paint extraction: points must be (N, 4) x, y, z, intensity, got {p.shape}")
    p = p[np.isfinite(p[:, :4]).all(axis=1)]
    if len(p) == 0:
        return np.zeros((0, 2)), np.zeros(0)
    lo = p[:, :2].min(axis=0)
    ij = np.floor((p[:, :2] - lo) / prm.cell).astype(np.int64)
    shape = tuple(ij.max(axis=0) + 1)
    flat = np.ravel_multi_index((ij[:, 0], ij[:, 1]), shape)
    n = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float64)
    s = np.bincount(flat, weights=p[:, 3], minlength=n.size).reshape(shape)
    z = np.bincount(flat, weights=p[:, 2], minlength=n.size).reshape(shape)
    has = n > 0
    mean = np.where(has, s / np.maximum(n, 1), 0.0)
    # the ground a little to either side of a cell (4 directions, ``side_m`` away, 0.3 m boxes):
    # paint is brighter than both sides; a step between two surfaces (kerb, grass) only than one
    box = max(int(round(0.3 / prm.cell)), 1)
    side_sum = ndimage.uniform_filter(mean * has, box, mode="constant")
    side_n = ndimage.uniform_filter(has.astype(np.float64), box, mode="constant")
    side = np.where(side_n > 0.5 / box**2, side_sum / np.maximum(side_n, 1e-9), np.nan)  # a cell with data
    r = max(int(round(prm.side_m / prm.cell)), 2)
    rd = max(int(round(prm.side_m / prm.cell / np.sqrt(2.0))), 1)
    dark = prm.max_background * float(np.median(p[:, 3]))  # road surface: the bulk of the ground
    paint = np.zeros(shape, dtype=bool)
    for di, dj in ((r, 0), (0, r), (rd, rd), (rd, -rd)):
        a, b = _shifted(side, di, dj), _shifted(side, -di, -dj)
        hi = np.fmax(a, b)
        ok = np.isfinite(a) & np.isfinite(b)
        with np.errstate(invalid="ignore"):
            paint |= ok & (mean > hi + prm.min_contrast) & (mean > prm.min_ratio * hi) & (hi < dark)
    # on the ground itself: low returns of objects (car bottoms) are bright too, but stand above it
    zm = np.where(has, z / np.maximum(n, 1), np.inf)
    ground = ndimage.minimum_filter(zm, max(int(round(1.0 / prm.cell)) | 1, 3), mode="constant", cval=np.inf)
    ztop = np.full(n.size, -np.inf)
    np.maximum.at(ztop, flat, p[:, 2])  # the highest return of each cell
    ztop = ztop.reshape(shape)
    with np.errstate(invalid="ignore"):
        paint &= has & (ztop - ground < prm.max_height_m)
    ii, jj = np.nonzero(paint)
    centres = lo + (np.stack([ii, jj], axis=1) + 0.5) * prm.cell
    return centres, (z[ii, jj] / n[ii, jj])


def _shifted(a: F64, di: int, dj: int) -> F64:
    """``a`` moved so that out[i, j] = a[i + di, j + dj] (NaN outside)."""
    out = np.full_like(a, np.nan)
    h, w = a.shape
    src_i = slice(max(di, 0), h + min(di, 0))
    dst_i = slice(max(-di, 0), h + min(-di, 0))
    src_j = slice(max(dj, 0), w + min(dj, 0))
    dst_j = slice(max(-dj, 0), w + min(-dj, 0))
    out[dst_i, dst_j] = a[src_i, src_j]
    return out


def _direction(pts: F64) -> tuple[F64, float]:
    """Principal direction (2,) of points and linearity 1 - l2 / l1."""
    c = pts - pts.mean(axis=0)
    w, v = np.linalg.eigh(c.T @ c / max(len(pts), 1))
    return v[:, 1], float(1.0 - w[0] / max(w[1], 1e-12))


def _trace(xy: F64, tree: cKDTree, start: F64, u: F64, prm: PaintParams) -> list[F64]:
    """Follow the paint from ``start`` along ``u``; the trace points after the start."""
    out: list[F64] = []
    c, d = start, u
    for _ in range(5000):
        idx = tree.query_ball_point(c, prm.max_gap_m)
        if not idx:
            break
        q = xy[idx] - c
        along = q @ d
        lat = np.abs(q[:, 0] * d[1] - q[:, 1] * d[0])
        corridor = 0.2 + along**2 / 120.0  # a curve of radius ~60 m stays inside
        ahead = (along > 0.15) & (lat < corridor)
        near = ahead & (along < prm.step_m * 1.5)
        if near.any():
            sel = near & (along > prm.step_m * 0.5)
            if not sel.any():
                sel = near
            nxt = c + np.median(q[sel], axis=0)
        elif ahead.any():
            k = np.flatnonzero(ahead)[int(np.argmin(along[ahead]))]
            nxt = xy[idx[k]]
        else:
            break
        step = nxt - c
        if np.linalg.norm(step) < 1e-6:
            break
        d_step = step / np.linalg.norm(step)
        local = xy[tree.query_ball_point(nxt, prm.probe_m)]
        d_new = d_step
        if len(local) >= 3:
            du, lin = _direction(local)
            du = du if du @ d >= 0 else -du
            if lin > 0.8 and du @ d > np.cos(np.radians(25.0)):  # sparse far paint: a ring's crossing
                d_new = du  # is elongated across the line; then the step gives the direction
        if d_new @ d < np.cos(np.radians(25.0)):
            break
        d_new = 0.5 * (d_new + d)
        d_new /= np.linalg.norm(d_new)
        # move onto the middle of the paint across the line
        loc = xy[tree.query_ball_point(nxt, 0.45)] - nxt
        if len(loc):
            n_vec = np.array([-d_new[1], d_new[0]])
            across = loc @ n_vec
            along_l = loc @ d_new
            band = np.abs(along_l) < 0.3
            if band.any():
                nxt = nxt + n_vec * 0.5 * (across[band].min() + across[band].max())
        out.append(nxt)
        c, d = nxt, d_new
    return out


def _end_dir(line: F64, at_end: bool, span: float = 3.0) -> F64:
    """Unit direction of a trace at its end (pointing out of it) or start (pointing into it)."""
    u = arc_length(line)
    if at_end:
        k = int(np.searchsorted(u, u[-1] - span))
        d = line[-1] - line[min(k, len(line) - 2)]
    else:
        k = int(np.searchsorted(u, span))
        d = line[min(max(k, 1), len(line) - 1)] - line[0]
    n = np.linalg.norm(d)
    return d / n if n > 1e-9 else np.array([1.0, 0.0])


def _join(traces: list[F64], prm: PaintParams) -> list[F64]:
    """Join traces that continue each other (end to start, either orientation): gap up to
    ``join_gap_m`` along the direction, small sideways offset, directions within 15 degrees."""
    lines = [t for t in traces if len(t) >= 2 and arc_length(t)[-1] >= 1.0]
    while True:
        best = None
        for i, a in enumerate(lines):
            for j, b in enumerate(lines):
                if i == j:
                    continue
                for b_or in (b, b[::-1]):
                    da = _end_dir(a, True)
                    db = _end_dir(b_or, False)
                    g = b_or[0] - a[-1]
                    gap = float(np.linalg.norm(g))
                    along = float(g @ da)
                    side = abs(g[0] * da[1] - g[1] * da[0])
                    if (gap <= prm.join_gap_m and along > -0.5 and side < 0.4 + 0.02 * gap
                            and da @ db > np.cos(np.radians(15.0))) and (best is None or gap < best[0]):
                        best = (gap, i, j, b_or)
        if best is None:
            return lines
        _, i, j, b_or = best
        merged = np.concatenate([lines[i], b_or])
        lines = [t for k, t in enumerate(lines) if k not in (i, j)] + [merged]


def extract_lane_lines(points: ArrayLike, params: PaintParams | None = None, first_id: int = 0) -> list[MapProposal]:
    """Lane-divider proposals from ground points (N, 4) x, y, z, intensity in the world frame (see
    the module doc), highest confidence first; element ids from ``first_id``."""
    prm = params or PaintParams()
    xy, zc = paint_cells(points, prm)
    if len(xy) < 10:
        return []
    out: list[MapProposal] = []
    ground_tree = cKDTree(xy)
    for line in trace_cells(xy, prm):
        length = float(arc_length(line)[-1])
        if length < prm.min_length_m:
            continue
        steps = np.linalg.norm(np.diff(line, axis=0), axis=1)
        painted = float(steps[steps <= prm.step_m * 1.5].sum() / max(length, 1e-9))
        v = smooth(line, window_m=3.0, iterations=2)
        v = resample(v, spacing=1.0)
        _, k = ground_tree.query(v)
        v3 = np.concatenate([v, zc[k][:, None]], axis=1)
        kind = "dashed" if painted < prm.dashed_below else "solid"
        conf = float((1.0 - np.exp(-length / 25.0)) * (0.5 + 0.5 * min(painted / prm.dashed_below, 1.0)))
        el = MapElement(first_id + len(out), "lane_divider", v3, {"type": kind})
        out.append(MapProposal(el, conf, {"length_m": round(length, 2), "painted": round(painted, 3)}))
    return _uncrossed(out, first_id)


def _uncrossed(out: list[MapProposal], first_id: int) -> list[MapProposal]:
    """Highest confidence first; a line crossing a surer one is dropped (lane lines and kerbs do
    not cross); ids renumbered from ``first_id``."""
    out = sorted(out, key=lambda p: -p.confidence)
    kept: list[MapProposal] = []
    for prop in out:
        if not any(polylines_cross(prop.element.vertices, k.element.vertices) for k in kept):
            kept.append(prop)
    return [MapProposal(p.element.replace(element_id=first_id + i), p.confidence, p.details)
            for i, p in enumerate(kept)]


def trace_cells(xy: F64, prm: PaintParams) -> list[F64]:
    """Lines (each (K, 2) world xy) traced through the cell centres ``xy`` (M, 2) from line-like
    seeds both ways and joined where they continue each other (steps 3 of the module doc)."""
    tree = cKDTree(xy)
    used = np.zeros(len(xy), dtype=bool)
    # line-likeness of each paint cell
    lin = np.zeros(len(xy))
    dirs = np.zeros((len(xy), 2))
    for i, nb in enumerate(tree.query_ball_point(xy, prm.probe_m)):
        if len(nb) >= 8:
            dirs[i], lin[i] = _direction(xy[nb])
            extent = np.ptp(xy[nb] @ dirs[i])
            if extent < prm.probe_m * 1.2:  # a seed lies on a run of paint, not on a ring's crossing
                lin[i] = 0.0
    traces: list[F64] = []
    for i in np.argsort(-lin):
        if used[i] or lin[i] < prm.min_linearity:
            continue
        fwd = _trace(xy, tree, xy[i], dirs[i], prm)
        bwd = _trace(xy, tree, xy[i], -dirs[i], prm)
        line = np.array([*bwd[::-1], xy[i], *fwd])
        for p in line:
            used[tree.query_ball_point(p, 0.45)] = True
        for a, b in zip(line[:-1], line[1:], strict=True):
            if np.linalg.norm(b - a) <= prm.step_m * 1.5:  # between the points of a painted stretch
                used[tree.query_ball_point((a + b) / 2, 0.45)] = True
        if len(line) >= 2:
            traces.append(line)
    return _join(traces, prm)
