"""QA checks of map elements (world frame), reported as :class:`fusionlabel.qa.checks.Finding` s.

:func:`run_map_checks` takes the elements (a document's ``map_elements`` values or any iterable)
and optionally the ground, ``ground(x, y) -> z`` with array arguments (a
:meth:`fusionlabel.assist.ground.GroundModel.height_at`), and returns findings sorted by element:

* ``map_self_intersection`` (error): two non-adjacent segments of one element cross (xy plane).
* ``map_ground`` (warning): a vertex more than ``ground_tolerance_m`` above or below the ground
  (skipped without a ground).
* ``map_dangling_end`` (warning): an end of a lane divider or road boundary within
  ``gap_m`` of an end of another element of its class but not on it (farther than ``snap_m``):
  lines that should meet and do not.
* ``map_duplicate`` (warning): two elements of one class whose Chamfer distance (both resampled
  every ``resample_m``) is below ``duplicate_m``.

Each finding names the element in ``details["element_id"]`` (``track_id`` stays None) and has a
world-frame ``location`` (a vertex) to jump to. :func:`add_map_checks` adds them to a
``QAResult`` with the ground taken from the sequence's LiDAR points (``fusionlabel qa`` does so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import chamfer_distance, resample, self_intersections
from fusionlabel.qa.checks import Finding

GroundFn = Callable[[ArrayLike, ArrayLike], "NDArray[np.float64] | float"]
MAP_CHECKS = ("map_self_intersection", "map_ground", "map_dangling_end", "map_duplicate")


@dataclass(frozen=True)
class MapQAConfig:
    """Thresholds of the map checks (metres)."""

    ground_tolerance_m: float = 0.3
    gap_m: float = 1.0
    snap_m: float = 0.05
    duplicate_m: float = 0.2
    resample_m: float = 0.5


def _loc(p: NDArray[np.float64]) -> tuple[float, float, float]:
    return (float(p[0]), float(p[1]), float(p[2]))


def run_map_checks(elements: Iterable[MapElement], ground: GroundFn | None = None,
                   config: MapQAConfig | None = None) -> list[Finding]:
    """Every map check on ``elements`` (see the module doc); ``ground`` None skips ``map_ground``."""
    cfg = config or MapQAConfig()
    els = sorted(elements, key=lambda e: e.element_id)
    out: list[Finding] = []
    for el in els:
        for i, j in self_intersections(el.vertices, el.closed):
            out.append(Finding("map_self_intersection", "error",
                               f"{el.label} {el.element_id}: segments {i} and {j} cross",
                               location=_loc(el.vertices[i]), details={"element_id": el.element_id,
                                                                       "segments": [i, j]}))
        if ground is not None:
            v = el.vertices
            dz = v[:, 2] - np.asarray(ground(v[:, 0], v[:, 1]), dtype=np.float64)
            for k in np.nonzero(np.abs(dz) > cfg.ground_tolerance_m)[0]:
                out.append(Finding("map_ground", "warning",
                                   f"{el.label} {el.element_id}: vertex {int(k)} is {dz[k]:+.2f} m off the ground",
                                   location=_loc(v[k]), details={"element_id": el.element_id, "vertex": int(k),
                                                                 "dz_m": round(float(dz[k]), 3)}))
    lines = [e for e in els if e.label in ("lane_divider", "road_boundary")]
    for el in lines:
        for end in (0, len(el) - 1):
            p = el.vertices[end]
            for other in lines:
                if other.element_id == el.element_id or other.label != el.label:
                    continue
                d = min(float(np.linalg.norm(other.vertices[k] - p)) for k in (0, len(other) - 1))
                if cfg.snap_m < d <= cfg.gap_m:
                    out.append(Finding("map_dangling_end", "warning",
                                       f"{el.label} {el.element_id}: end {d:.2f} m from an end of {other.element_id}",
                                       location=_loc(p), details={"element_id": el.element_id, "vertex": end,
                                                                  "other": other.element_id, "gap_m": round(d, 3)}))
    samples = {e.element_id: resample(e.vertices, spacing=cfg.resample_m, closed=e.closed) for e in els}
    for a_i, a in enumerate(els):
        for b in els[a_i + 1:]:
            if a.label != b.label:
                continue
            sa, sb = samples[a.element_id], samples[b.element_id]
            if (sa.min(axis=0) > sb.max(axis=0) + cfg.duplicate_m).any() or (
                    sb.min(axis=0) > sa.max(axis=0) + cfg.duplicate_m).any():
                continue
            cd = chamfer_distance(samples[a.element_id], samples[b.element_id])
            if cd < cfg.duplicate_m:
                out.append(Finding("map_duplicate", "warning",
                                   f"{a.label} {a.element_id} and {b.element_id} coincide (Chamfer {cd:.2f} m)",
                                   location=_loc(b.vertices[0]), details={"element_id": b.element_id,
                                                                          "other": a.element_id,
                                                                          "chamfer_m": round(cd, 3)}))
    return out


def ground_from_points(points_world: ArrayLike, radius: float = 1.5) -> GroundFn:
    """``ground(x, y) -> z``: the median height of the ground points (N, >=3, world frame) within
    ``radius`` m of (x, y); NaN where there are none (the ground check then skips the vertex)."""
    from scipy.spatial import cKDTree

    p = np.asarray(points_world, dtype=np.float64)[:, :3]
    tree = cKDTree(p[:, :2]) if len(p) else None

    def ground(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
        q = np.stack([np.ravel(np.asarray(x, dtype=np.float64)), np.ravel(np.asarray(y, dtype=np.float64))], axis=1)
        out = np.full(len(q), np.nan)
        if tree is not None:
            for i, nb in enumerate(tree.query_ball_point(q, radius)):
                if nb:
                    out[i] = float(np.median(p[nb, 2]))
        return out.reshape(np.shape(x))

    return ground


def add_map_checks(result: Any, doc: Any, load_points: Callable[[int], Any] | None = None,
                   max_frames: int = 10, config: MapQAConfig | None = None) -> Any:
    """Add the map checks of ``doc``'s map elements to a :class:`fusionlabel.qa.checks.QAResult`
    (in place; returned). The ground comes from the LiDAR points of up to ``max_frames`` frames
    spread over the sequence (``load_points(frame)``: world-frame points; each frame's ground
    fitted with :func:`fusionlabel.assist.ground.fit_ground`); without points ``map_ground`` is
    skipped. A document without map elements leaves the result as it was."""
    if not doc.map_elements:
        return result
    from fusionlabel.assist.ground import fit_ground

    ground = None
    if load_points is not None and result.frames:
        parts = []
        for f in sorted({int(round(v)) for v in np.linspace(0, result.frames - 1, min(max_frames, result.frames))}):
            pts = load_points(f)
            if pts is None or len(pts) < 10:
                continue
            pts = np.asarray(pts, dtype=np.float64)[:, :3]
            try:
                parts.append(pts[fit_ground(pts).ground_mask(pts, 0.15)])
            except ValueError:
                continue
        if parts:
            ground = ground_from_points(np.concatenate(parts))
    findings = run_map_checks(doc.map_elements.values(), ground, config)
    result.findings.extend(findings)
    result.checks_run.extend(c for c in MAP_CHECKS if ground is not None or c != "map_ground")
    if ground is None:
        result.skipped["map_ground"] = "no LiDAR points to find the ground under the map elements"
    return result
