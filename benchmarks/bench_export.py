"""Export throughput of the writers (frames per second) and the speed-up of the parallel folder
conversion.

Run: PYTHONPATH=. python benchmarks/bench_export.py [--frames 200] [--size 320x180] [--cameras 6]
     [--sequences 4] [--jobs 2] [--work DIR]     (prints figures, asserts nothing)
     PYTHONPATH=. python benchmarks/bench_export.py --linked [--baseline REV] [--rounds N] [--frames 200] [--work DIR]
                                                             [--cases kitti,nuscenes]

``--linked``: the export-speed figures with linked images (docs/batch.md, "Export speed"): KITTI
from the synthetic scene's undistorted pinhole camera ``cam_front_left`` without levelling (its PNG
images are linked) and nuScenes from a nuScenes copy of the scene (its JPEG images are linked);
frames per second of the writer alone and of the whole conversion (opening included), wall and
CPU time (``time.process_time``, plus the worker processes' CPU for a writer with ``jobs``: the
machine may be shared); nuScenes also with ``jobs=2`` (its box numbers in two worker processes).
``--baseline REV`` runs the same exports with the code of git revision ``REV`` (its ``calib``,
``fusionlabel`` and ``formats`` extracted once into ``--work``/``baseline_<commit>`` and kept
there with the compiled kernels' cache, as this checkout keeps its own; run in a subprocess) in the same
run, and says whether the exported files are byte-identical (or hold the same content: JSON equal
once parsed or its numbers within 1e-12, ``.npz`` arrays equal). Each run is a fresh interpreter
(the code of this checkout or of ``REV``), started after ``os.sync()`` (so that it is not billed
for writing back the previous run's files); ``--rounds N`` runs each side N times in alternating
order (baseline first, then this first, ...) and compares each side's run of least CPU time.
``--cases FMT[,FMT]`` runs only the cases of those output formats (``kitti``: the KITTI case alone).
Each ``--linked`` run writes its exports in a folder of its own under ``--work`` (removed at its
end): two runs sharing ``--work`` do not mix their files.

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


#: The export-speed cases with linked images: (format, source ("scene" or "nusc"), writer options).
#: ``jobs`` 2: the nuScenes writer's box numbers in two worker processes (a revision whose writer
#: has no ``jobs`` ignores it and runs in one process); ``link`` "link": the unchanged source
#: files (the nuScenes copy's LiDAR sweeps, 2.3 MB a frame) linked too, not only the images
#: (``convert --link link``; by default they are copied).
LINKED_CASES = (("kitti", "scene", {"camera": "cam_front_left", "level": False}),
                ("nuscenes", "nusc", {}),
                ("nuscenes", "nusc", {"jobs": 2}),
                ("nuscenes", "nusc", {"link": "link"}))


#: Opens a source and writes it, timed: defined as text so that either revision's code can run
#: it in a subprocess of its own (``timed_export(src, out, fmt, options) -> dict``).
_TIMED = """
import shutil, time
from pathlib import Path


def timed_export(src, out, fmt, options):
    import resource

    from formats.convert import call_writer, get_writer
    from formats.source import open_source

    def children():  # CPU of the finished worker processes (a writer with jobs)
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    shutil.rmtree(out, ignore_errors=True)
    w0, c0 = time.perf_counter(), time.process_time()
    loaded = open_source(Path(src)).sequence
    w1, c1 = time.perf_counter(), time.process_time()
    k1 = children()
    s = call_writer(get_writer(fmt), loaded, Path(out), None, dict(options))
    w2, c2 = time.perf_counter(), time.process_time() + children() - k1
    return {"frames": s.frames, "open_wall": w1 - w0, "open_cpu": c1 - c0, "write_wall": w2 - w1,
            "write_cpu": c2 - c1}
"""


def _json_gap(x: object, y: object) -> float | None:
    """The largest difference between the numbers of two parsed JSON values of the same shape
    (0.0 when equal), None where they differ otherwise (keys, lengths, strings, types)."""
    if isinstance(x, dict) and isinstance(y, dict):
        if x.keys() != y.keys():
            return None
        gaps = [_json_gap(x[k], y[k]) for k in x]
    elif isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return None
        gaps = [_json_gap(u, v) for u, v in zip(x, y, strict=True)]
    elif type(x) in (int, float) and type(y) in (int, float):  # (bool is neither)
        return abs(float(x) - float(y))
    else:
        return 0.0 if type(x) is type(y) and x == y else None
    return None if any(g is None for g in gaps) else max(gaps, default=0.0)


def _same_tree(a: Path, b: Path) -> str:
    """Whether two folders hold the same files: "byte-identical"; "same content" where they hold
    the same files and the only differences are in how JSON files are laid out (equal once parsed)
    or how ``.npz`` archives are packed (equal arrays); "same content within rounding" where JSON
    numbers differ by at most 1e-12 (the largest difference named); else a line naming the first
    difference."""
    import filecmp
    import json

    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if fa != fb:
        only = sorted(set(map(str, fa)) ^ set(map(str, fb)))
        return f"different files ({len(only)} in one only, e.g. {only[0]})"
    _, bad, err = filecmp.cmpfiles(a, b, [str(p) for p in fa], shallow=False)
    if err:
        return f"unreadable: {err[0]}"
    rounding: list[tuple[float, str]] = []
    for rel in bad:
        if rel.endswith(".json"):
            gap = _json_gap(json.loads((a / rel).read_bytes()), json.loads((b / rel).read_bytes()))
            same = gap is not None and gap <= 1e-12
            if same and gap:
                rounding.append((gap, rel))
        elif rel.endswith(".npz"):
            import numpy as np

            with np.load(a / rel) as za, np.load(b / rel) as zb:
                same = sorted(za.files) == sorted(zb.files) and all(
                    za[k].dtype == zb[k].dtype and np.array_equal(za[k], zb[k]) for k in za.files)
        else:
            same = False
        if not same:
            return f"differs: {rel}"
    if rounding:
        gap, rel = max(rounding)
        return (f"same content within rounding ({len(bad)} JSON/npz files laid out differently; numbers in "
                f"{len(rounding)} files differ by up to {gap:.1e}, in {rel})")
    return f"same content ({len(bad)} JSON/npz files laid out differently)" if bad else "byte-identical"


def _baseline_tree(rev: str, work: Path) -> Path:
    """The ``calib``, ``fusionlabel`` and ``formats`` of git revision ``rev``, extracted once into
    ``work/baseline_<commit>`` and kept (a commit's files never change; numba's cache of its
    kernels stays beside them, so only the first run with that commit compiles them). Extracted
    into a temporary folder and renamed: a run beside this one never sees a half-made tree."""
    import subprocess

    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         check=True, capture_output=True, text=True).stdout.strip()
    dst = work / f"baseline_{sha[:12]}"
    if dst.is_dir():
        return dst
    tmp = Path(tempfile.mkdtemp(prefix=f"{dst.name}.tmp", dir=work))
    arch = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "calib", "fusionlabel", "formats"],
                          check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch, check=True)
    try:
        os.rename(tmp, dst)
    except OSError:  # another run extracted it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return dst


def bench_linked(work: Path, frames: int, size: tuple[int, int], baseline: str | None,
                 scene: Path | None = None, rounds: int = 1, cases: set[str] | None = None) -> None:
    """Export speed with linked images (module docstring), optionally against ``baseline``; ``scene``:
    a native scene to use (e.g. made by ``fusionlabel synth``) instead of generating one; ``rounds``:
    runs of each side, in alternating order (the comparison takes each side's run of least CPU);
    ``cases``: the output formats whose cases run (None: all)."""
    import json
    import subprocess

    w, h = size
    if scene is None:
        scene = _scene(work / f"scene_{frames}f_6c_{w}x{h}", frames, 0, 6, size)
    todo = [c for c in LINKED_CASES if cases is None or c[0] in cases]
    nusc = work / f"nusc_of_{scene.name}"
    if any(src == "nusc" for _, src, _ in todo) and not nusc.is_dir():
        convert(scene, nusc, "nuscenes", images="reencode")
    sources = {"scene": scene, "nusc": nusc}
    # this run's outputs in a folder of its own (two runs sharing --work do not mix them)
    run_dir = Path(tempfile.mkdtemp(prefix="linked_run_", dir=work))
    try:
        base_root = _baseline_tree(baseline, work) if baseline else None
        copy = " and its nuScenes copy" if any(src == "nusc" for _, src, _ in todo) else ""
        print(f"export with linked images: {scene}{copy} (load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores)")
        for fmt, src, opts in todo:
            label = fmt + (f" --jobs {opts['jobs']}" if "jobs" in opts else "") + (
                f" --link {opts['link']}" if "link" in opts else "")
            runs: dict[str, dict[str, float]] = {}
            whos = ("baseline", "this") if base_root is not None else ("this",)
            for rnd in range(rounds):
                for who in whos if rnd % 2 == 0 else whos[::-1]:  # ABBA...: neither side always goes first
                    out = run_dir / f"out_linked_{who}"
                    shutil.rmtree(out, ignore_errors=True)
                    os.sync()  # the previous run's files written back now, not during this run
                    # both sides in a fresh interpreter of their own (this process's state would bias one)
                    code_root = ROOT if who == "this" else base_root
                    code = _TIMED + ("\nimport json, sys\nprint(json.dumps(timed_export(sys.argv[1], sys.argv[2], "
                                     "sys.argv[3], json.loads(sys.argv[4]))))\n")
                    res = subprocess.run([sys.executable, "-c", code, str(sources[src]), str(out), fmt,
                                          json.dumps(opts)], check=True, capture_output=True, text=True,
                                         cwd=code_root, env={**os.environ, "PYTHONPATH": str(code_root)})
                    r = json.loads(res.stdout.strip().splitlines()[-1])
                    if who not in runs or r["write_cpu"] < runs[who]["write_cpu"]:
                        runs[who] = r
                    n = r["frames"]
                    ow, oc = r["open_wall"] + r["write_wall"], r["open_cpu"] + r["write_cpu"]
                    print(f"  {label:<9} {who:<8} writer {n / r['write_wall']:6.1f} frames/s wall "
                          f"{n / r['write_cpu']:6.1f} CPU | with opening {n / ow:6.1f} wall {n / oc:6.1f} CPU  "
                          f"(open {r['open_cpu']:.2f} s CPU)", flush=True)
            if base_root is not None:
                same = _same_tree(run_dir / "out_linked_baseline", run_dir / "out_linked_this")
                b, t = runs["baseline"], runs["this"]
                print(f"  {label:<9} writer speed-up {b['write_cpu'] / t['write_cpu']:.1f}x CPU, "
                      f"{b['write_wall'] / t['write_wall']:.1f}x wall (the runs of least CPU); "
                      f"output against {baseline}: {same}")
            for who in runs:
                shutil.rmtree(run_dir / f"out_linked_{who}", ignore_errors=True)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", type=_size, default=(320, 180))
    ap.add_argument("--cameras", type=int, choices=(1, 6), default=6)
    ap.add_argument("--sequences", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="folder for the generated scenes (kept)")
    ap.add_argument("--formats", default=None, help="comma-separated formats to time (default: all; '' for none)")
    ap.add_argument("--linked", action="store_true", help="only the export-speed figures with linked images")
    ap.add_argument("--baseline", default=None, help="with --linked: a git revision to compare against")
    ap.add_argument("--scene", type=Path, default=None, help="with --linked: an existing native scene to export")
    ap.add_argument("--rounds", type=int, default=1, help="with --linked: runs of each side, in alternating order")
    ap.add_argument("--cases", default=None,
                    help="with --linked: comma-separated output formats whose cases run (default: all)")
    args = ap.parse_args()
    tmp = None
    if args.work is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench_export_"))
        work = tmp
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    try:
        if args.linked:
            cases = None if args.cases is None else {c for c in args.cases.split(",") if c}
            known = {fmt for fmt, _, _ in LINKED_CASES}
            if cases is not None and not cases <= known:
                ap.error(f"--cases: unknown {sorted(cases - known)}; the linked cases are of {sorted(known)}")
            bench_linked(work, args.frames, args.size, args.baseline, args.scene, args.rounds, cases)
            return
        w, h = args.size
        print(f"cpu cores: {os.cpu_count()} (load average {os.getloadavg()[0]:.1f}); "
              f"scene: {args.frames} frames, {args.cameras} cameras {w}x{h}, "
              "LiDAR 64 x 1800")
        scene = _scene(work / f"scene_{args.frames}f_{args.cameras}c_{w}x{h}", args.frames, 0, args.cameras,
                       args.size)
        out = work / "out"
        print("export throughput (one process):")
        names = writer_names() if args.formats is None else [f for f in args.formats.split(",") if f]
        for fmt in names:
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
        print(f"parallel speed-up with {args.jobs} jobs: {times[1] / times[args.jobs]:.2f}x "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes share them)")
        shutil.rmtree(out, ignore_errors=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
