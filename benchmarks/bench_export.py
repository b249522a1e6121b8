"""Export throughput of the writers (frames per second) and the speed-up of the parallel folder
conversion.

Run: PYTHONPATH=. python benchmarks/bench_export.py [--frames 200] [--size 320x180] [--cameras 6]
     [--sequences 4] [--jobs 2] [--work DIR]     (prints figures, asserts nothing)

A synthetic native scene of ``--frames`` frames (``--cameras`` cameras of ``--size``, full 64 x 1800
LiDAR) is generated once into ``--work`` (default: a temporary folder; pass a folder to reuse it),
then converted to every registered output format (a format whose writer cannot be imported is
reported as such). Then a folder of ``--sequences`` scenes of frames/sequences frames each is
converted to KITTI tracking with ``--jobs 1`` and ``--jobs N`` worker processes.
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

from formats.convert import convert, convert_path, get_writer, writer_names  # noqa: E402
from formats.errors import FormatError  # noqa: E402
from formats.native import write_synth_scene  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def _scene(path: Path, frames: int, seed: int, cameras: int, size: tuple[int, int]) -> Path:
    if not (path / "fusionlabel.json").is_file():
        t = time.perf_counter()
        write_synth_scene(SynthScene(SynthConfig(frames=frames, seed=seed, cameras=cameras, image_size=size)), path,
                          overwrite=True)
        print(f"  generated {path.name}: {frames} frames in {time.perf_counter() - t:.1f} s")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", type=_size, default=(320, 180))
    ap.add_argument("--cameras", type=int, choices=(1, 6), default=6)
    ap.add_argument("--sequences", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="folder for the generated scenes (kept)")
    args = ap.parse_args()
    tmp = None
    if args.work is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench_export_"))
        work = tmp
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    try:
        w, h = args.size
        print(f"cpu cores: {os.cpu_count()}; scene: {args.frames} frames, {args.cameras} cameras {w}x{h}, "
              "LiDAR 64 x 1800")
        scene = _scene(work / f"scene_{args.frames}f_{args.cameras}c_{w}x{h}", args.frames, 0, args.cameras,
                       args.size)
        out = work / "out"
        print("export throughput (one process):")
        for fmt in writer_names():
            try:
                get_writer(fmt)
            except FormatError as e:
                print(f"  {fmt:<15} n/a ({e})")
                continue
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            s = convert(scene, out, fmt)
            dt = time.perf_counter() - t
            print(f"  {fmt:<15} {s.frames / dt:7.1f} frames/s  ({s.frames} frames, {s.boxes} boxes, {dt:.1f} s)")
        shutil.rmtree(out, ignore_errors=True)

        per = max(1, args.frames // args.sequences)
        folder = work / f"folder_{args.sequences}x{per}f_{args.cameras}c_{w}x{h}"
        for i in range(args.sequences):
            _scene(folder / f"seq{i}", per, 100 + i, args.cameras, args.size)
        times = {}
        for jobs in (1, args.jobs):
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            s = convert_path(folder, out, "kitti-tracking", jobs=jobs)
            times[jobs] = time.perf_counter() - t
            assert not s.failed, s.failed
            print(f"folder of {args.sequences} x {per} frames -> kitti-tracking, --jobs {jobs}: {times[jobs]:.1f} s "
                  f"({s.frames / times[jobs]:.1f} frames/s)")
        print(f"parallel speed-up with {args.jobs} jobs: {times[1] / times[args.jobs]:.2f}x")
        shutil.rmtree(out, ignore_errors=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
