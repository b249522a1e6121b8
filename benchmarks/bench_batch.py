"""Batch conversion per executor, the resumable rerun, and export speed with linked images.

Run: PYTHONPATH=. python benchmarks/bench_batch.py [--sequences 20] [--frames 50] [--jobs 2]
     [--executors inline,processes,ray] [--repeat R] [--long-frames N]
     [--export-frames 200] [--work DIR] [--skip-batch] [--skip-export]   (prints figures, asserts nothing)

1. A folder of ``--sequences`` synthetic sequences of ``--frames`` frames (one camera of
   ``--size``, full 64 x 1800 LiDAR) is converted to KITTI with ``fusionlabel batch convert`` on
   each executor: ``inline`` (one process: the baseline), ``processes`` and ``ray`` (a local
   runtime of ``--jobs`` CPUs, its start included); wall time and speed-up over one process. Then
   the same batch again with everything done (the manifest skips every task): the rerun time and
   its share of the first run. CPU figures per run: the tasks' CPU time (the manifest's
   ``cpu_seconds``), the cores it kept busy on average (task CPU / wall), how busy the whole
   machine was (``/proc/stat``) and the batch's share of that. ``--repeat``: rounds of the
   executors interleaved (a loaded machine's load changes from minute to minute).
   ``--long-frames N``: one sequence of N frames through ``convert_path``, one task against
   ``--jobs`` frame-range tasks. ``--probe-seconds S``: how many cores 1 and 2 busy processes
   of this session get, and 2 in sessions of their own (the kernel's autogroup scheduling shares
   a loaded machine between sessions, not processes).
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_export import _scene, _size  # noqa: E402  (the scenes are generated and kept the same way)

from formats.batch.commands import run_batch  # noqa: E402
from formats.convert import convert  # noqa: E402
from fusionlabel.cli import main as cli_main  # noqa: E402


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (``/proc/stat``, every process)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v) - idle) / tick, sum(v) / tick


class Measure:
    """Wall time, this process's CPU time and the machine's busy CPU over a ``with`` block."""

    def __enter__(self) -> Measure:
        self.t, self.c, self.m = time.perf_counter(), time.process_time(), _machine_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t
        self.cpu = time.process_time() - self.c
        (b1, t1), (b0, t0) = _machine_cpu(), self.m
        self.busy, self.total = b1 - b0, t1 - t0


def _cpu_line(m: Measure, task_cpu: float) -> str:
    """Task CPU (s), effective cores (task CPU / wall) and the machine: busy share of its CPU,
    and how much of it the batch had."""
    share = task_cpu / m.busy if m.busy > 0 else float("nan")
    return (f"task CPU {task_cpu:6.1f} s = {task_cpu / m.wall:4.2f} cores busy on average; machine "
            f"{100 * m.busy / max(m.total, 1e-9):3.0f} % busy, this batch {100 * share:3.0f} % of that")


def bench_batch(work: Path, sequences: int, frames: int, jobs: int, size: tuple[int, int],
                executors: list[str], repeat: int) -> None:
    from fusionlabel.batch import Manifest

    w, h = size
    folder = work / f"batch_{sequences}x{frames}f_1c_{w}x{h}"
    for i in range(sequences):
        _scene(folder / f"seq{i:02d}", frames, 200 + i, 1, size)
    print(f"batch convert --to kitti: {sequences} sequences x {frames} frames, --jobs {jobs}; "
          f"executors interleaved, {repeat} round(s)")
    walls: dict[str, list[float]] = {ex: [] for ex in executors}
    for r in range(repeat):
        for ex in executors:
            out = work / f"out_{ex}"
            shutil.rmtree(out, ignore_errors=True)
            with Measure() as m:
                res = run_batch("convert", folder, out, ["--to", "kitti"], cli_main, executor=ex, jobs=jobs)
            assert not res.failed, res.failed
            task_cpu = sum(row.cpu_seconds for row in Manifest.load(out / "batch-manifest.parquet").rows.values())
            walls[ex].append(m.wall)
            base = walls["inline"][-1] if walls.get("inline") else float("nan")
            print(f"  {ex:<10} {m.wall:7.1f} s  {sequences * frames / m.wall:6.1f} frames/s  speed-up over one "
                  f"process {base / m.wall:.2f}x; {_cpu_line(m, task_cpu)}; driver CPU {m.cpu:.1f} s", flush=True)
            if ex != "inline" and r == repeat - 1:
                t = time.perf_counter()
                again = run_batch("convert", folder, out, ["--to", "kitti"], cli_main, executor=ex, jobs=jobs)
                rerun = time.perf_counter() - t
                assert again.skipped == sequences, again
                print(f"  {ex:<10} rerun, everything done: {rerun:.2f} s ({100 * rerun / m.wall:.1f} % of the "
                      f"first run)")
            shutil.rmtree(out, ignore_errors=True)
    if "inline" in walls and len(walls) > 1:
        for ex, ws in walls.items():
            if ex != "inline":
                ratios = [a / b for a, b in zip(walls["inline"], ws, strict=True)]
                print(f"  speed-up {ex} over inline per round: " + ", ".join(f"{x:.2f}x" for x in ratios))
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes share them)")


def _burn(seconds: float, new_session: bool, out: Any) -> None:
    """Busy-loop for ``seconds`` of wall time; put this process's CPU time on ``out``."""
    if new_session:
        os.setsid()  # a session of its own: an autogroup of its own
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        sum(i * i for i in range(10_000))
    out.put(time.process_time())


def scheduler_probe(seconds: float) -> None:
    """How many cores a batch can get here: CPU time obtained per wall second by 1 and 2 busy
    processes of this session, and by 2 in sessions of their own. With the kernel's autogroup
    scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) the CPU is shared between sessions,
    not processes: on a loaded machine more workers of one session get no more CPU."""
    import multiprocessing as mp

    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            auto = f.read().strip() == "1"
    except OSError:
        auto = False
    print(f"scheduler probe: {seconds:.0f} s of busy loops; autogroup scheduling {'on' if auto else 'off'}, "
          f"load average {os.getloadavg()[0]:.1f}")
    ctx = mp.get_context("fork")
    for n, new in ((1, False), (2, False), (2, True)):
        q = ctx.Queue()
        procs = [ctx.Process(target=_burn, args=(seconds, new, q)) for _ in range(n)]
        t = time.perf_counter()
        for p in procs:
            p.start()
        cpu = sum(q.get() for _ in procs)
        for p in procs:
            p.join()
        wall = time.perf_counter() - t
        what = "in sessions of their own" if new else "of this session"
        print(f"  {n} process{'es' if n > 1 else ''} {what:<24}: {cpu / wall:4.2f} cores of CPU obtained", flush=True)


def bench_long(work: Path, frames: int, jobs: int, size: tuple[int, int]) -> None:
    """One long sequence through ``convert --jobs``: frame-range tasks against one task."""
    from formats.convert import convert_path

    scene = _scene(work / f"long_{frames}f_1c_{size[0]}x{size[1]}", frames, 7, 1, size)
    print(f"convert --to kitti: one sequence of {frames} frames")
    base = None
    for ex, j in (("inline", 1), ("processes", jobs)):
        out = work / f"out_long_{ex}"
        shutil.rmtree(out, ignore_errors=True)
        with Measure() as m:
            s = convert_path(scene, out, "kitti", jobs=j, executor=ex)
        base = base or m.wall
        what = "one task" if j == 1 else f"--jobs {j}: frame ranges of {-(-frames // (4 * j))}+ frames"
        print(f"  {ex:<10} {m.wall:7.1f} s  {s.frames / m.wall:6.1f} frames/s  speed-up {base / m.wall:.2f}x ({what}); "
              f"this process's CPU {m.cpu:.1f} s; machine {100 * m.busy / max(m.total, 1e-9):.0f} % busy", flush=True)
        shutil.rmtree(out, ignore_errors=True)


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
    ap.add_argument("--executors", default="inline,processes,ray", help="comma-separated, inline first")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the executors, interleaved")
    ap.add_argument("--long-frames", type=int, default=0, help="frames of the one long sequence (0: skip)")
    ap.add_argument("--probe-seconds", type=float, default=0.0,
                    help="scheduler probe: busy loops of this length in 1 and 2 processes (0: skip)")
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
        if args.probe_seconds > 0:
            scheduler_probe(args.probe_seconds)
        if not args.skip_batch:
            bench_batch(work, args.sequences, args.frames, args.jobs, args.size, args.executors.split(","),
                        args.repeat)
        if args.long_frames:
            bench_long(work, args.long_frames, args.jobs, args.size)
        if not args.skip_export:
            bench_export(work, args.export_frames, args.size)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
