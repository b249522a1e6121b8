"""Recording benchmark: a bag of >= 2 GB opens in seconds and steps frames as fast as the same data
in a folder.

A synthetic sequence (``fusionlabel.synth``: ``--frames`` frames (default 10), 6 cameras 800x450, 64 x 1800
LiDAR) is written once as a native folder; its frames are then written, repeated cyclically,
into a recording (``--kind``: ROS 2 bag with MCAP storage by default, or ``ros1``,
``ros2-sqlite3``; PointCloud2 with a per-point time field, PNG CompressedImage, CameraInfo,
tf_static, tf) until it is at least ``--gigabytes`` large. Printed:

* the bag's size, messages and frames; the time to write it;
* **open**: ``open_dataset(bag)`` (index every topic, read every header stamp, tf, CameraInfo,
  pair the cameras, interpolate the poses), and the folder's open for comparison;
* **step**: milliseconds per frame of ``read_frame`` (the sweep and the six images, decoded) over
  ``--steps`` consecutive frames, for the bag (frames spread over the whole file) and for the
  folder, and their ratio (target: bag <= folder; the images decode the same PNGs).

The page cache is warm for both (the files were just written); the bag is deleted afterwards
unless ``--keep``; ``--reuse DIR`` measures a kept folder again without writing. Wall and CPU
time are printed (on a shared machine the CPU time is the steadier figure). Run:
``PYTHONPATH=. python benchmarks/bench_bag.py [--gigabytes 2] [--frames 10] [--kind ros2-mcap]
[--steps 60] [--tmp /tmp] [--keep | --reuse DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from formats.datasets import open_dataset  # noqa: E402
from formats.datasets.rosbag_write import KINDS, write_bag  # noqa: E402
from formats.native import write_synth_scene  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _step_ms(loaded: object, frames: list[int]) -> tuple[float, float]:
    """(wall, CPU) milliseconds per frame of ``read_frame`` over ``frames``."""
    t0, c0 = time.perf_counter(), time.process_time()
    for k in frames:
        fd = loaded.read_frame(k)  # type: ignore[attr-defined]
        assert fd.lidar and fd.images
    return (time.perf_counter() - t0) * 1e3 / len(frames), (time.process_time() - c0) * 1e3 / len(frames)


def _timed_open(path: Path) -> tuple[object, float, float]:
    """(opened, wall s, CPU s) of ``open_dataset(path)``."""
    t0, c0 = time.perf_counter(), time.process_time()
    loaded = open_dataset(path)
    return loaded, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gigabytes", type=float, default=2.0)
    ap.add_argument("--frames", type=int, default=10, help="synthetic frames generated (repeated in the bag)")
    ap.add_argument("--kind", choices=KINDS, default="ros2-mcap")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a folder a --keep run left (synth/ and the bag): measure again without writing")
    args = ap.parse_args(argv)

    if args.reuse is not None:
        return _measure(args.reuse / "synth", next(p for p in sorted(args.reuse.iterdir()) if p.name.startswith("rec")),
                        args.steps)
    work = Path(tempfile.mkdtemp(prefix="bench_bag_", dir=args.tmp))
    try:
        folder = work / "synth"
        t0 = time.perf_counter()
        write_synth_scene(SynthScene(SynthConfig(frames=args.frames, seed=0, cameras=6)), folder)
        print(f"synthetic folder: {args.frames} frames, {_size(folder) / 1e6:.0f} MB "
              f"(generated in {time.perf_counter() - t0:.0f} s)")
        src = open_dataset(folder)
        per_frame = _size(folder / "lidar") * 24 / 16 / args.frames + _size(folder / "cameras") / args.frames
        n_bag = max(args.frames, int(args.gigabytes * 1e9 / per_frame * 1.02) + 1)
        bag = work / ("rec.bag" if args.kind == "ros1" else "rec")
        t0 = time.perf_counter()
        write_bag(src, bag, args.kind, frames=n_bag)
        while _size(bag) < args.gigabytes * 1e9:  # the estimate fell short: write a longer one
            n_bag = int(n_bag * args.gigabytes * 1e9 / _size(bag) * 1.02) + 1
            shutil.rmtree(bag) if bag.is_dir() else bag.unlink()
            write_bag(src, bag, args.kind, frames=n_bag)
        t_write = time.perf_counter() - t0
        print(f"bag ({args.kind}): {_size(bag) / 1e9:.2f} GB, {n_bag} frames, written in {t_write:.0f} s")

        _measure(folder, bag, args.steps, n_bag)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


def _measure(folder: Path, bag: Path, steps: int, n_bag: int | None = None) -> int:
    """Print the open and step figures of ``bag`` against ``folder`` (wall and CPU time: the
    machine may be shared)."""
    loaded, t_open, c_open = _timed_open(bag)
    native, t_open_folder, c_open_folder = _timed_open(folder)
    assert n_bag is None or len(loaded) == n_bag, (len(loaded), n_bag)  # type: ignore[arg-type]
    n_bag = len(loaded)  # type: ignore[arg-type]
    msgs = sum(t["messages"] for t in loaded.info.meta["recording"]["topics"])  # type: ignore[attr-defined]
    print(f"open: bag {t_open:.2f} s wall, {c_open:.2f} s CPU ({msgs} messages indexed; target < 5 s)   "
          f"folder {t_open_folder:.2f} s wall, {c_open_folder:.2f} s CPU ({len(native)} frames)")  # type: ignore[arg-type]
    steps = min(steps, n_bag)
    mid = n_bag // 2
    bag_frames = list(range(mid, mid + steps)) if mid + steps <= n_bag else list(range(steps))
    fold_frames = [k % len(native) for k in range(steps)]  # type: ignore[arg-type]
    _step_ms(loaded, bag_frames[:2]), _step_ms(native, fold_frames[:2])  # warm-up
    (ms_bag, cpu_bag), (ms_folder, cpu_folder) = _step_ms(loaded, bag_frames), _step_ms(native, fold_frames)
    print(f"step: bag {ms_bag:.1f} ms/frame ({cpu_bag:.1f} CPU)   folder {ms_folder:.1f} ms/frame ({cpu_folder:.1f} "
          f"CPU)   ratio bag/folder {ms_bag / ms_folder:.2f} wall, {cpu_bag / cpu_folder:.2f} CPU "
          f"(target <= 1; {steps} frames, 1 sweep + 6 images each)")
    loaded.close()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
