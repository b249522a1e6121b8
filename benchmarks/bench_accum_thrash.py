"""Does a +-N accumulation with big camera images thrash the window's frame cache? Counts the
frames read per step (no GUI, no timing).

The sequence is ``bench_bigframe``'s synthetic 52 frames (``--dir``, generated once), its one
480x270 camera replaced by a ``--megabytes`` image a frame (default 26 MB: six 1600x900 nuScenes
cameras' worth, one (H, 3200, 3) array standing in for them). The window's steps are replayed
without drawing: the frame shown through the session's cache (``Session.frame``: its neighbours
prefetched), the accumulation of ``Accumulate +-N`` (``gui.model.cloud.shown_cloud``), the
prefetch let finish (the user looks at the frame), then the next frame. Printed per step: the
LiDAR sweeps and camera images read (by the drawing thread and the prefetch), the cache's
evictions, the images and bytes it holds (budget 512 MiB), and whether the frame shown has its
image. Run: ``python benchmarks/bench_accum_thrash.py [--accumulate 25] [--steps 8]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "fusionlabel-bench-bigframe")
    ap.add_argument("--accumulate", type=int, default=25)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--megabytes", type=float, default=26.0, help="camera images of a frame (MB)")
    args = ap.parse_args()

    from benchmarks.bench_bigframe import ensure_synth
    from gui.model.cloud import shown_cloud
    from gui.session import load_session

    path = ensure_synth(args.dir / "synth-52", 52)
    reads = {"lidar": 0, "image": 0, "image_ahead": 0}
    lock = threading.Lock()
    rows = max(1, int(args.megabytes * 1e6 / (3200 * 3)))

    s = load_session(path)
    loaded: Any = s.loaded
    read_lidar, read_image = loaded.read_lidar, loaded.read_image

    def counted_lidar(frame: int, name: str | None = None) -> Any:
        with lock:
            reads["lidar"] += 1
        return read_lidar(frame, name)

    def big_image(frame: int, camera: str) -> np.ndarray | None:
        small = read_image(frame, camera)
        if small is None:
            return None
        with lock:
            reads["image"] += 1
            reads["image_ahead"] += threading.current_thread().name.startswith("frame-prefetch")
        out = np.empty((rows, 3200, 3), np.uint8)  # the frame's own picture, tiled
        h, w = small.shape[:2]
        for y in range(0, rows, h):
            for x in range(0, 3200, w):
                block = out[y:y + h, x:x + w]
                block[...] = small[: block.shape[0], : block.shape[1], :3]
        return out

    loaded.read_lidar, loaded.read_image = counted_lidar, big_image
    s.frames.clear()  # frame 0 was read before the patch
    frames = s.frames
    acc, start = args.accumulate, 25
    print(f"{len(s)} frames, one {rows}x3200 RGB image a frame ({rows * 3200 * 3 / 1e6:.0f} MB), "
          f"Accumulate +-{acc}, cache budget {frames.max_bytes / 2**20:.0f} MiB")
    print("step  frame  sweeps read  images read (by the prefetch)  evictions  frames with images held  "
          "MiB held  image shown")
    per_step = []
    for k, f in enumerate(range(start, min(len(s), start + args.steps + 1))):
        before = dict(reads)
        ev = frames.stats.evictions
        fd = s.frame(f)
        ok = fd.images.get(next(iter(fd.images), ""), None) is not None and len(fd.images) == 1
        shown_cloud(frames, f, len(s), acc)
        frames.wait_idle()
        items = [frames._items[g][0] for g in list(frames._items)]  # noqa: SLF001
        with_images = sum(1 for it in items if it.images)
        d_l, d_i = reads["lidar"] - before["lidar"], reads["image"] - before["image"]
        d_a = reads["image_ahead"] - before["image_ahead"]
        if k:
            per_step.append((d_l, d_i, frames.stats.evictions - ev))
        print(f"{k:4d}  {f:5d}  {d_l:11d}  {d_i:11d} ({d_a:3d}){'':15s}  {frames.stats.evictions - ev:9d}  "
              f"{with_images:23d}  {frames.stats.bytes / 2**20:8.0f}  {'yes' if ok else 'NO'}")
    if per_step:
        m = np.mean(np.array(per_step, dtype=float), axis=0)
        print(f"steps after the first: {m[0]:.1f} sweeps and {m[1]:.1f} images read a step, "
              f"{m[2]:.1f} evictions a step")
    s.close()


if __name__ == "__main__":
    main()
