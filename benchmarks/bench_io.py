"""I/O benchmark: point-cloud readers against references, and frame stepping with prefetch.

Prints, each with its reference measured in the same run:

1. a 120k-point KITTI ``.bin``: ``formats.pointcloud.read_bin`` (zero-copy views by default, and
   the ``contiguous=True`` copies) vs ``np.fromfile`` alone (target: within 1.5x);
2. a 120k-point binary PCD: ``read_pcd`` vs open3d's ``o3d.t.io.read_point_cloud`` (target:
   within 1.5x);
3. stepping through a generated 200-frame folder sequence (~100k-point ``.bin`` sweeps + two small
   PNG cameras) with ``fusionlabel.frames.FrameCache`` prefetching: wait for the next frame after
   warm-up (p50/p95/max; target p95 < 5 ms) at a labeler's stepping pace (a frame every
   ``--interval`` ms) and flat out (no pause: load-bound);
4. the same for the sequence packed into HDF5 (``formats.packed``, lzf).

Files are read from the page cache (just written): these are decode costs, not cold-disk costs.
Usage: ``python benchmarks/bench_io.py [--frames 200] [--points 100000] [--interval 30]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calib.camera import CameraModel  # noqa: E402
from calib.rig import Rig, Sensor, save_rig_json  # noqa: E402
from calib.transforms import make_transform, yaw_to_rotation  # noqa: E402
from formats.datasets import open_dataset  # noqa: E402
from formats.packed import pack  # noqa: E402
from formats.pointcloud import PointCloud, read_bin, read_pcd, write_pcd  # noqa: E402
from fusionlabel.frames import FrameCache  # noqa: E402


def best_of(fn: Callable[[], object], repeat: int = 30) -> float:
    """Median seconds of ``repeat`` calls after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def cloud(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.empty((n, 4), np.float32)
    a[:, :3] = rng.normal(scale=20.0, size=(n, 3))
    a[:, 3] = rng.random(n)
    return a


def bench_readers(tmp: Path) -> None:
    a = cloud(120_000, 0)
    binp = tmp / "sweep.bin"
    a.tofile(binp)
    t_ref = best_of(lambda: np.fromfile(binp, dtype=np.float32).reshape(-1, 4))
    t_view = best_of(lambda: read_bin(binp, "kitti"))
    t_copy = best_of(lambda: read_bin(binp, "kitti", contiguous=True))
    print("1. KITTI .bin, 120k points")
    print(f"   np.fromfile (reference)            {t_ref * 1e3:7.3f} ms")
    print(f"   read_bin (default: views)          {t_view * 1e3:7.3f} ms  ({t_view / t_ref:.2f}x; target <= 1.5x)")
    print(f"   read_bin(contiguous=True) (copies) {t_copy * 1e3:7.3f} ms  ({t_copy / t_ref:.2f}x)")

    pcdp = tmp / "sweep.pcd"
    write_pcd(pcdp, PointCloud(a[:, :3].copy(), {"intensity": a[:, 3].copy()}), data="binary")
    try:
        import open3d as o3d

        t_o3d = best_of(lambda: o3d.t.io.read_point_cloud(str(pcdp)), 15)
    except ImportError:
        t_o3d = float("nan")
    t_pcd = best_of(lambda: read_pcd(pcdp), 15)
    print("2. binary PCD (x y z intensity), 120k points")
    print(f"   open3d o3d.t.io.read_point_cloud   {t_o3d * 1e3:7.3f} ms (reference)")
    print(f"   read_pcd                           {t_pcd * 1e3:7.3f} ms  ({t_pcd / t_o3d:.2f}x; target <= 1.5x)")


def make_sequence(root: Path, frames: int, points: int) -> None:
    """A plain-folder sequence: rig.json, lidar/<us>.bin, cam_front/ and cam_left/ <us>.png."""
    w, h = 320, 240
    K = np.array([[200.0, 0, w / 2], [0, 200.0, h / 2], [0, 0, 1]])
    R_opt = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=float)
    rig = Rig([
        Sensor("lidar", "lidar", make_transform(None, [0, 0, 1.8])),
        Sensor("cam_front", "camera", make_transform(R_opt, [1.5, 0, 1.5]), CameraModel(K, w, h)),
        Sensor("cam_left", "camera", make_transform(yaw_to_rotation(np.pi / 2) @ R_opt, [1.0, 0.5, 1.5]),
               CameraModel(K, w, h)),
    ])
    root.mkdir(parents=True)
    save_rig_json(rig, root / "rig.json")
    for d in ("lidar", "cam_front", "cam_left"):
        (root / d).mkdir()
    t0 = 1_700_000_000_000_000  # microseconds
    rng = np.random.default_rng(1)
    base_img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
    for k in range(frames):
        t = t0 + 100_000 * k
        cloud(points, k).tofile(root / "lidar" / f"{t}.bin")
        img = np.roll(base_img, k, axis=1)
        cv2.imwrite(str(root / "cam_front" / f"{t + 5_000}.png"), img)
        cv2.imwrite(str(root / "cam_left" / f"{t + 8_000}.png"), img[::-1])


def step(
    loader: Callable[[int], object], n: int, interval_s: float, warmup: int = 10
) -> tuple[float, float, float, dict]:
    """Step 0..n-1 through a FrameCache; returns (p50, p95, max) wait of the frames after warm-up
    in seconds, and the cache stats."""
    cache = FrameCache(loader, n, max_bytes=512 << 20, ahead=3, behind=1, workers=2)
    waits = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            cache.get(i)
            dt = time.perf_counter() - t0
            if i >= warmup:
                waits.append(dt)
            if interval_s:
                time.sleep(max(0.0, interval_s - dt))
    finally:
        cache.close()
    waits.sort()
    p95 = waits[min(len(waits) - 1, int(round(0.95 * (len(waits) - 1))))]
    s = cache.stats
    return (statistics.median(waits), p95, waits[-1],
            {"hits": s.hits, "misses": s.misses, "waits": s.waits, "prefetched": s.prefetched})


def report_steps(loader: Callable[[int], object], frames: int, interval_ms: float) -> None:
    for iv in (interval_ms, 0.0):
        p50, p95, mx, st = step(loader, frames, iv / 1e3)
        pace = f"a frame every {iv:g} ms" if iv else "flat out (no pause)"
        ok = "  (target p95 < 5 ms)" if iv else ""
        print(f"   {pace:26s} wait p50 {p50 * 1e3:6.2f} ms, p95 {p95 * 1e3:6.2f} ms, max {mx * 1e3:6.2f} ms{ok}  {st}")


def bench_stepping(tmp: Path, frames: int, points: int, interval_ms: float) -> None:
    root = tmp / "seq"
    t0 = time.perf_counter()
    make_sequence(root, frames, points)
    gen = time.perf_counter() - t0
    ls = open_dataset(root, layout="kitti")
    t_load = best_of(lambda: ls.read_frame(frames // 2), 10)
    print(f"3. stepping a {frames}-frame folder sequence ({points // 1000}k-point .bin + 2 PNG 320x240 per frame;"
          f" generated in {gen:.1f} s)")
    print(f"   one frame loaded without cache: {t_load * 1e3:.2f} ms")
    report_steps(ls.read_frame, frames, interval_ms)

    h5 = tmp / "seq.h5"
    t0 = time.perf_counter()
    pack(ls, h5)
    t_pack = time.perf_counter() - t0
    size_raw = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    packed = open_dataset(h5)
    try:
        t_load = best_of(lambda: packed.read_frame(frames // 2), 10)
        print(f"4. the same packed into HDF5 (lzf): packed in {t_pack:.1f} s, {h5.stat().st_size / 2**20:.0f} MiB "
              f"(folder {size_raw / 2**20:.0f} MiB)")
        print(f"   one frame loaded without cache: {t_load * 1e3:.2f} ms")
        report_steps(packed.read_frame, frames, interval_ms)
    finally:
        packed.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--interval", type=float, default=30.0, help="ms between steps (labeler pace)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_io_"))
    try:
        bench_readers(tmp)
        bench_stepping(tmp, args.frames, args.points, args.interval)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
