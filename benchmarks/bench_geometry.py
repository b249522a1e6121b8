"""Timings of the geometry kernels (prints figures; no assertions on time).

Run: ``PYTHONPATH=. python benchmarks/bench_geometry.py``
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from fusionlabel.geometry import (
    bev_iou_matrix,
    count_points_in_boxes,
    iou_3d_matrix,
    point_box_indices,
    points_in_boxes,
)


def random_boxes(rng: np.random.Generator, m: int, extent: float) -> np.ndarray:
    """(m, 7) car-like boxes scattered over a square of side 2 * extent metres."""
    return np.column_stack(
        [
            rng.uniform(-extent, extent, (m, 2)),
            rng.uniform(-1.0, 1.0, m),
            rng.uniform(3.5, 5.0, m),
            rng.uniform(1.6, 2.1, m),
            rng.uniform(1.4, 1.9, m),
            rng.uniform(-np.pi, np.pi, m),
        ]
    )


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Best wall time of ``repeat`` calls, milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-60, 60, (120_000, 2)), rng.uniform(-2, 2, 120_000)])
    for m in (50, 100):
        boxes = random_boxes(rng, m, 50.0)
        for fn in (points_in_boxes, count_points_in_boxes, point_box_indices):
            ms = best_of(lambda fn=fn, boxes=boxes: fn(pts, boxes))
            print(f"{fn.__name__:22s} 120k pts x {m:3d} boxes: {ms:8.2f} ms")
    # 200 x 200 in a busy 40 m x 40 m scene: many neighbouring pairs reach the exact clipper
    A, B = random_boxes(rng, 200, 20.0), random_boxes(rng, 200, 20.0)
    iou = bev_iou_matrix(A, B)
    print(f"bev_iou_matrix  200 x 200: {best_of(lambda: bev_iou_matrix(A, B)):8.2f} ms "
          f"({int((iou > 0).sum())} overlapping pairs)")
    print(f"iou_3d_matrix   200 x 200: {best_of(lambda: iou_3d_matrix(A, B)):8.2f} ms")
    same = random_boxes(rng, 200, 3.0)  # worst case: every pair is near, all 40k pairs clipped
    ms = best_of(lambda: bev_iou_matrix(same, same))
    print(f"bev_iou_matrix  200 x 200 (all pairs near): {ms:8.2f} ms")


if __name__ == "__main__":
    main()
