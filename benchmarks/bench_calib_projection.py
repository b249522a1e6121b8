"""Timing of calib's hot paths: point projection, undistortion and box-edge drawing.

Run: PYTHONPATH=. python benchmarks/bench_calib_projection.py   (prints figures, asserts nothing)
"""

from __future__ import annotations

import time

import numpy as np

from calib.camera import CameraModel
from calib.projection import box_bbox2d, project_box_edges

K = np.array([[1266.0, 0.0, 816.0], [0.0, 1266.0, 491.0], [0.0, 0.0, 1.0]])
CAMS = {
    "pinhole": CameraModel(K, 1600, 900),
    "radtan5": CameraModel(K, 1600, 900, "radtan", (-0.28, 0.07, 0.0008, -0.0011, -0.02)),
    "rational8": CameraModel(K, 1600, 900, "radtan", (0.5, -0.2, 0.001, 0.002, 0.05, 0.8, -0.1, 0.1)),
    "fisheye": CameraModel(K, 1600, 900, "fisheye", (0.05, -0.01, 0.003, -0.001)),
}
SIGNS = np.array(
    [[1, 1, -1], [1, -1, -1], [-1, -1, -1], [-1, 1, -1], [1, 1, 1], [1, -1, 1], [-1, -1, 1], [-1, 1, 1]],
    float,
)


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(120_000, 3)) * [20.0, 3.0, 20.0]
    boxes = [SIGNS * [1.0, 0.8, 2.2] + [rng.uniform(-8, 8), 1.0, rng.uniform(-5, 40)] for _ in range(100)]
    for name, cam in CAMS.items():
        uv = np.stack([rng.uniform(0, 1600, 100_000), rng.uniform(0, 900, 100_000)], 1)
        t_proj = best_of(lambda cam=cam: cam.project(pts))
        t_rays = best_of(lambda cam=cam, uv=uv: cam.rays(uv), repeat=2)
        t_edges = best_of(lambda cam=cam: [project_box_edges(b, cam) for b in boxes], repeat=3)
        t_bbox = best_of(lambda cam=cam: [box_bbox2d(b, cam) for b in boxes], repeat=3)
        print(
            f"{name:<10} project 120k pts {t_proj * 1e3:6.1f} ms | rays 100k px {t_rays * 1e3:6.1f} ms | "
            f"edges 100 boxes {t_edges * 1e3:6.1f} ms | bbox2d 100 boxes {t_bbox * 1e3:6.1f} ms"
        )


if __name__ == "__main__":
    main()
