"""The accumulated world view of map work: accumulating N sweeps of ~113k points (default 100,
a 64-beam x 1766-step LiDAR on a road with lane paint, driving at 10 m/s, 10 Hz) into the ground
surface (``fusionlabel.map.accumulate.accumulate_sweeps``, 0.1 m cells), then drawing the BEV
(``gui.ortho.OrthoView``, 1000 x 800 px) with the map layer (the synthetic road's lane lines,
boundaries, crossing and drivable area as a ``PolylineLayer``).

Printed: the build time (sweeps read from memory, so only the accumulation), the points before and
after, the BEV redraw time with the points (a pan: the points raster again), with the map layer
only changed (a vertex drag: the raster is kept), and a zoom-out to the whole accumulated area;
each the median of ``--repeats`` runs. For comparison, a redraw of the raw, unreduced points
(``--raw``). Usage: ``python benchmarks/bench_map_view.py [--sweeps 100] [--repeats 5] [--raw]``
(needs a display: ``xvfb-run -a`` on a headless machine). :func:`run` returns the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BEAMS, STEPS = 64, 1766  # 113,024 points per sweep
SPEED, RATE = 10.0, 10.0  # m/s, Hz


def make_sweep(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sweep ``k`` in the world frame (the ego at x = SPEED * k / RATE on the road y = 0): rings on
    the ground out to ~60 m, lane paint at y = 0, +-3.5, +-7 brighter, kerbs and walls at +-10.5 / 14."""
    ex = SPEED * k / RATE
    elev = np.radians(np.linspace(-25.0, 3.0, BEAMS))[:, None]
    az = np.linspace(-np.pi, np.pi, STEPS, endpoint=False)[None, :] + rng.uniform(0, 2 * np.pi / STEPS)
    h = 1.8
    with np.errstate(divide="ignore"):
        r = np.where(elev < -0.01, h / np.tan(-elev), 80.0) * np.ones_like(az)
    x, y = r * np.cos(az), r * np.sin(az)
    wall = np.abs(y) > 14.0  # walls beyond the sidewalk
    scale = np.where(wall, 14.0 / np.maximum(np.abs(y), 1e-6), 1.0)
    x, y = x * scale, y * scale
    z = np.where(wall, np.clip(h + r * np.tan(elev) * scale, 0, 6), 0.0)
    z = z + np.where(np.abs(y) > 10.5, 0.15, 0.0) + rng.normal(0, 0.01, z.shape)
    pts = np.stack([x.ravel() + ex, y.ravel(), z.ravel()], axis=1).astype(np.float32)
    yy = pts[:, 1]
    paint = (np.abs(yy) < 0.25) | (np.abs(np.abs(yy) - 3.5) < 0.08) | (np.abs(np.abs(yy) - 7.0) < 0.08)
    inten = np.where(paint, 0.65, 0.08).astype(np.float32) + rng.uniform(0, 0.03, len(pts)).astype(np.float32)
    return pts, inten


def road_map(length: float) -> list[Any]:
    from gui.model.layers import MapElement

    xs = np.arange(-60.0, length + 60.0, 1.0)
    out = [MapElement(i, "lane_divider", np.column_stack([xs, np.full_like(xs, d), np.zeros_like(xs)]))
           for i, d in enumerate((0.0, 3.5, -3.5, 7.0, -7.0))]
    out += [MapElement(10 + i, "road_boundary", np.column_stack([xs, np.full_like(xs, d), np.zeros_like(xs)]))
            for i, d in enumerate((10.5, -10.5))]
    crossing = np.array([[40, -10.5, 0], [43, -10.5, 0], [43, 10.5, 0], [40, 10.5, 0.0]])
    out.append(MapElement(20, "ped_crossing", crossing, True))
    out.append(MapElement(21, "drivable_area", np.array([[-60, -10.5, 0], [length + 60, -10.5, 0],
                                                         [length + 60, 10.5, 0], [-60, 10.5, 0.0]]), True))
    return out


def _median_ms(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


def run(sweeps: int = 100, repeats: int = 5, raw: bool = False,
        size: tuple[int, int] = (1000, 800)) -> dict[str, float]:
    """Build and draw (see the module doc); returns the figures (seconds / milliseconds / counts)."""
    from PyQt6.QtWidgets import QApplication

    from fusionlabel.map.accumulate import accumulate_sweeps, intensity_rgb
    from gui.model.layers import PolylineLayer
    from gui.ortho import OrthoView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    rng = np.random.default_rng(0)
    data = [make_sweep(k, rng) for k in range(sweeps)]
    t0 = time.perf_counter()
    cloud = accumulate_sweeps(lambda f: data[f], range(sweeps))
    build_s = time.perf_counter() - t0
    bev = OrthoView(title="BEV")
    bev.resize(*size)
    layer = PolylineLayer("map")
    layer.set_data(road_map(SPEED * sweeps / RATE))
    bev.layers.append(layer)
    t0 = time.perf_counter()
    rgb = intensity_rgb(cloud.intensity)
    bev.set_points(cloud.xyz[:, :2], rgb)
    set_ms = 1000.0 * (time.perf_counter() - t0)
    centre = np.array([SPEED * sweeps / RATE / 2, 0.0])
    bev.set_view(centre, 10.0, np.pi / 2)
    app.processEvents()
    state = {"k": 0}

    def pan() -> None:
        state["k"] += 1
        bev.set_view(centre + [0.5 * (state["k"] % 2), 0.0])
        bev.grab()

    def layer_only() -> None:  # a vertex drag: the layer changes, the points' raster is kept
        state["k"] += 1
        els = list(layer.data)
        v = np.array(els[0].vertices_world)
        v[len(v) // 2, 1] = 0.1 * (state["k"] % 2)
        els[0] = type(els[0])(els[0].id, els[0].label, v, False)
        layer.set_data(els)
        bev.grab()

    figures = {"sweeps": sweeps, "raw_points": cloud.raw_points, "points": len(cloud), "build_s": build_s,
               "set_points_ms": set_ms, "redraw_pan_ms": _median_ms(pan, repeats),
               "redraw_layer_ms": _median_ms(layer_only, repeats)}
    bev.set_view(centre, size[0] / (SPEED * sweeps / RATE + 120.0))
    figures["redraw_all_ms"] = _median_ms(pan, repeats)
    if raw:
        allp = np.concatenate([d[0] for d in data])
        bev.set_points(allp[:, :2], intensity_rgb(np.concatenate([d[1] for d in data])))
        bev.set_view(centre, 10.0)
        figures["raw_redraw_pan_ms"] = _median_ms(pan, repeats)
    bev.close()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--raw", action="store_true", help="also redraw the unreduced points")
    a = ap.parse_args()
    f = run(a.sweeps, a.repeats, a.raw)
    print(f"accumulate {f['sweeps']} sweeps x {BEAMS * STEPS} points = {f['raw_points']:,} points -> "
          f"{f['points']:,} ground cells (0.1 m) in {f['build_s']:.2f} s")
    print(f"BEV set_points {f['set_points_ms']:.0f} ms; redraw (1000 x 800 px, map layer): "
          f"pan {f['redraw_pan_ms']:.0f} ms, "
          f"vertex drag (layer only) {f['redraw_layer_ms']:.0f} ms, whole area {f['redraw_all_ms']:.0f} ms")
    if "raw_redraw_pan_ms" in f:
        print(f"unreduced points: pan redraw {f['raw_redraw_pan_ms']:.0f} ms")


if __name__ == "__main__":
    main()
