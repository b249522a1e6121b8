"""Batch conversion per executor, the resumable rerun, and export speed with linked images.

Run: PYTHONPATH=. python benchmarks/bench_batch.py [--sequences 20] [--frames 50] [--jobs 2]
     [--export-frames 200] [--work DIR] [--skip-batch] [--skip-export]   (prints figures, asserts nothing)

1. A folder of ``--sequences`` synthetic sequences of ``--frames`` frames (one camera of
   ``--size``, full 64 x 1800 LiDAR) is converted to KITTI with ``fusionlabel batch convert`` on
   each executor: ``inline`` (one process: the baseline), ``processes`` and ``ray`` (a local
   runtime of ``--jobs`` CPUs, its start included); wall time and speed-up over one process. Then
   the same batch again with everything done (the manifest skips every task): the rerun time and
   its share of the first run.
2. Export speed on the ``--export-frames`` synthetic sequence (6 cameras of ``--size``), frames
   per second per format with images linked (the default) and re-encoded (``images="reencode"``):
   KITTI from the undistorted pinhole camera ``cam_front_left`` without levelling (its PNG images
   are what KITTI takes as they are), and nuScenes from a nuScenes copy of the sequence (JPEG
   images, undistorted: what nuScenes takes as they are). Every run writes a fresh folder.

Generated scenes are kept in ``--work`` (default: a temporary folder) for the next run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_export import _scene, _size  # noqa: E402  (the scenes are generated and kept the same way)

from formats.batch.commands import run_batch  # noqa: E402
from formats.convert import convert  # noqa: E402
from fusionlabel.cli import main as cli_main  # noqa: E402


def bench_batch(work: Path, sequences: int, frames: int, jobs: int, size: tuple[int, int]) -> None:
    w, h = size
    folder = work / f"batch_{sequences}x{frames}f_1c_{w}x{h}"
    for i in range(sequences):
        _scene(folder / f"seq{i:02d}", frames, 200 + i, 1, size)
    print(f"batch convert --to kitti: {sequences} sequences x {frames} frames, --jobs {jobs}")
    times: dict[str, float] = {}
    for ex in ("inline", "processes", "ray"):
        out = work / f"out_{ex}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        res = run_batch("convert", folder, out, ["--to", "kitti"], cli_main, executor=ex, jobs=jobs)
        times[ex] = dt = time.perf_counter() - t
        assert not res.failed, res.failed
        print(f"  {ex:<10} {dt:7.1f} s  {sequences * frames / dt:6.1f} frames/s  speed-up over one process "
              f"{times['inline'] / dt:.2f}x", flush=True)
        if ex != "inline":
            t = time.perf_counter()
            again = run_batch("convert", folder, out, ["--to", "kitti"], cli_main, executor=ex, jobs=jobs)
            rerun = time.perf_counter() - t
            assert again.skipped == sequences, again
            print(f"  {ex:<10} rerun, everything done: {rerun:.2f} s ({100 * rerun / dt:.1f} % of the first run)")
        shutil.rmtree(out, ignore_errors=True)
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes share them)")


def _fps(src: Path, out: Path, fmt: str, **options: object) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    s = convert(src, out, fmt, **options)
    dt = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    return s.frames / dt


def bench_export(work: Path, frames: int, size: tuple[int, int]) -> None:
    w, h = size
    scene = _scene(work / f"scene_{frames}f_6c_{w}x{h}", frames, 0, 6, size)
    nusc = work / f"nusc_{frames}f_6c_{w}x{h}"
    if not nusc.is_dir():
        convert(scene, nusc, "nuscenes", images="reencode")
    out = work / "out_export"
    print(f"export: {frames} frames, 6 cameras {w}x{h}, frames/s (one process)")
    cases = [("kitti", scene, {"camera": "cam_front_left", "level": False}, "native, pinhole cam_front_left"),
             ("kitti", scene, {"camera": "cam_front_left", "level": False, "occlusion": False},
              "the same, occlusion heuristic off"),
             ("kitti", scene, {}, "native, cam_front (distorted: resampled either way)"),
             ("nuscenes", nusc, {}, "nuScenes copy (JPEG)"),
             ("nuscenes", scene, {}, "native (PNG, 4 distorted cameras: encoded either way)")]
    for fmt, src, opts, what in cases:
        linked = _fps(src, out, fmt, **opts)
        again = _fps(src, out, fmt, images="reencode", **opts)
        print(f"  {fmt:<9} from {what:<52} linked {linked:7.1f}   re-encoded {again:7.1f}", flush=True)
    bench_images(sorted((scene / "cameras" / "cam_front_left").glob("*.png")), out)


def bench_images(images: list[Path], out: Path) -> None:
    """The image step alone: place each PNG by a link, or decode and encode it again."""
    import cv2

    from formats.export.common import encode_image, place_file, write_bytes

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t = time.perf_counter()
    for i, src in enumerate(images):
        place_file(src, out / f"l{i:06d}.png", "link")
    linked = (time.perf_counter() - t) / len(images)
    t = time.perf_counter()
    for i, src in enumerate(images):
        rgb = cv2.cvtColor(cv2.imread(str(src)), cv2.COLOR_BGR2RGB)
        write_bytes(out / f"r{i:06d}.png", encode_image(rgb, ".png", out))
    again = (time.perf_counter() - t) / len(images)
    shutil.rmtree(out, ignore_errors=True)
    print(f"  image step alone ({len(images)} PNGs): linked {1e6 * linked:.0f} us/image, "
          f"re-encoded {1e3 * again:.2f} ms/image ({again / linked:.0f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=20)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--size", type=_size, default=(320, 180))
    ap.add_argument("--export-frames", type=int, default=200)
    ap.add_argument("--work", type=Path, default=None, help="folder for the generated scenes (kept)")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-export", action="store_true")
    args = ap.parse_args()
    tmp = None
    if args.work is None:
        tmp = work = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    print(f"cpu cores: {os.cpu_count()} (load average {os.getloadavg()[0]:.1f})")
    try:
        if not args.skip_batch:
            bench_batch(work, args.sequences, args.frames, args.jobs, args.size)
        if not args.skip_export:
            bench_export(work, args.export_frames, args.size)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
