"""GUI performance figures (run under Xvfb: ``xvfb-run -a -s "-screen 0 1600x1000x24" python
benchmarks/bench_gui.py``).

1. Frame stepping in the real window through a synthetic sequence (default 200 frames, 6 cameras):
   time of ``set_frame(i)`` plus the repaint of every widget (``processEvents``), mean and p95,
   target < 50 ms; once stepping as fast as possible, once at the 10 Hz sensor rate (prefetch has
   time to work). While frames change the window's 3D view redraws in the idle gap after a step,
   or within a step once steps have come back to back for ``FrameView.MAX_3D_STALE_S`` (gui/qt/frameview.py) (those
   steps make the p95 of the flat-out run); both counts are printed.
2. The 3D view's frame time (``canvas.render()``, 900x600) for 100k and 1M points, full cloud and
   level of detail (decimated subset).

The sequence is generated once into ``--path`` (default ``$TMPDIR/fusionlabel-bench-gui-200``).

``--compare DIR`` measures frame stepping of another checkout (e.g. the main branch before a
change, ``git worktree add /tmp/before <commit>``) against this one in the same run: each
repetition (``--repeat``, default 3) runs the stepping of both, alternating, each in its own
process with its code first on the path, and the figures of both are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CODE = Path(os.environ.get("FUSIONLABEL_BENCH_CODE", ROOT))  # the checkout measured (--compare)
sys.path.insert(0, str(CODE))


def ensure_sequence(path: Path, frames: int) -> Path:
    from formats import native
    from fusionlabel.cli import generate

    if not native.is_native(path):
        print(f"generating {frames} frames into {path} (once) ...", flush=True)
        t0 = time.perf_counter()
        generate(path, frames=frames, seed=1, cameras=6, size=(480, 270), force=True)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    p50, p95 = np.percentile(a, 50), np.percentile(a, 95)
    return f"mean {a.mean():6.1f} ms  p50 {p50:6.1f}  p95 {p95:6.1f}  max {a.max():6.1f}"


def bench_stepping(path: Path, app) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Frame stepping in the window; returns the mean and p95 (ms) of each run."""
    from gui.app import Prompter

    try:
        from gui.qt.window import MainWindow
    except ImportError:  # a checkout from before the window moved to gui/qt
        from gui.app import MainWindow  # type: ignore[attr-defined,no-redef]

    class Quiet(Prompter):
        def ask_recover(self, parent, p, when):  # type: ignore[no-untyped-def]
            return False

        def ask_save_changes(self, parent):  # type: ignore[no-untyped-def]
            return "discard"

    win = MainWindow(Quiet())
    win.resize(1600, 1000)
    win.show()
    done = []
    win.loaded.connect(lambda: done.append(True))
    win.load_failed.connect(lambda m: done.append(m))
    t0 = time.perf_counter()
    win.open_path(path)
    while not done:
        app.processEvents()
        time.sleep(0.005)
    if done[0] is not True:
        raise SystemExit(f"cannot open {path}: {done[0]}")
    for _ in range(5):
        app.processEvents()
    print(f"open (index, GT, first frame, window build): {1000 * (time.perf_counter() - t0):.0f} ms")
    n = len(win.session)
    seq = win.session.seq
    s = win.session
    print(f"sequence: {n} frames, {len(seq.camera_names)} cameras, ~{len(s.frame(0).pts_world)} points/frame, "
          f"{len(s.doc)} tracks")
    win.select(s.doc.boxes_at(0)[0].track_id)

    split: list[tuple[float, float]] = []

    drawn = [0, 0]  # 3D renders within steps, in the gaps between them
    in_step = [False]
    render_now = win.view3d._render_now

    def counting_render():  # type: ignore[no-untyped-def]
        drawn[0 if in_step[0] else 1] += 1
        return render_now()

    win.view3d._render_now = counting_render  # type: ignore[method-assign]

    def step_all(period_s: float, frames: range) -> list[float]:
        out = []
        split.clear()
        drawn[:] = [0, 0]
        for i in frames:
            in_step[0] = True
            t = time.perf_counter()
            win.set_frame(i)
            t1 = time.perf_counter()
            app.processEvents()
            out.append(1000 * (time.perf_counter() - t))
            in_step[0] = False
            split.append((1000 * (t1 - t), 1000 * (time.perf_counter() - t1)))
            rest = period_s - (time.perf_counter() - t)
            end = time.perf_counter() + max(rest, 0)
            while time.perf_counter() < end:
                app.processEvents()
                time.sleep(0.002)
        return out

    half = n // 2
    def parts() -> str:
        a = np.asarray(split)
        return (f"    (set_frame: data + overlays {a[:, 0].mean():.1f} ms; repaint {a[:, 1].mean():.1f} ms; "
                f"3D redrawn within {drawn[0]} of {len(a)} steps, {drawn[1]} times in the gaps)")

    fast = step_all(0.0, range(1, half))
    print(f"step, as fast as possible ({half - 1} steps): {stats(fast)}")
    print(parts())
    paced = step_all(0.1, range(half, n))
    print(f"step at 10 Hz ({n - half} steps):            {stats(paced)}")
    print(parts())
    back = step_all(0.1, range(n - 2, n - 22, -1))
    print(f"step backwards at 10 Hz (20 steps, cached):  {stats(back)}")
    print(parts())
    win.session.undo.mark_clean()
    win.close()
    runs = (("fast", fast), ("10 Hz", paced), ("back", back))
    return {f"{name} {what}": float(f(np.asarray(ms))) for name, ms in runs
            for what, f in (("mean", np.mean), ("p95", lambda a: np.percentile(a, 95)))}


def compare(other: Path, path: Path, repeat: int) -> None:
    """Stepping of ``other`` (a checkout) and of this one, alternating, each in a fresh process."""
    import json
    import subprocess

    trees = {"before": other.resolve(), "this": ROOT}
    got: dict[str, list[dict[str, float]]] = {k: [] for k in trees}

    def run(tree: Path) -> dict[str, float]:
        env = dict(os.environ, FUSIONLABEL_BENCH_CODE=str(tree), PYTHONPATH=str(tree))
        out = subprocess.run([sys.executable, __file__, "--path", str(path), "--skip-3d", "--json"], env=env,
                             capture_output=True, text=True, check=True).stdout
        return json.loads(next(line for line in out.splitlines() if line.startswith("{")))  # type: ignore[no-any-return]

    run(ROOT)  # a warm-up, not counted: the frame cache on disk is filled for both
    for r in range(repeat):
        for name, tree in trees.items():
            row = run(tree)
            got[name].append(row)
            print(f"  run {r + 1} {name:<6} ({tree}): " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()), flush=True)
    print(f"frame stepping, median of {repeat} runs each (ms):")
    for key in got["this"][0]:
        a, b = (float(np.median([row[key] for row in got[n]])) for n in trees)
        print(f"  {key:<12} before {a:7.1f}   this {b:7.1f}   ({100 * (b - a) / a:+.0f} %)")


def bench_3d(app) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtWidgets import QMainWindow

    from gui.render.view3d import View3D

    w = QMainWindow()
    v = View3D()
    w.setCentralWidget(v.widget)
    w.resize(900, 600)
    w.show()
    for _ in range(5):
        app.processEvents()
    rng = np.random.default_rng(0)
    for n in (100_000, 1_000_000):
        r = rng.uniform(2, 60, n)
        a = rng.uniform(-np.pi, np.pi, n)
        pts = np.column_stack([r * np.cos(a), r * np.sin(a), rng.normal(0, 0.5, n)]).astype(np.float32)
        rgb = rng.uniform(0, 1, (n, 3)).astype(np.float32)
        t = time.perf_counter()
        v.set_points(pts, rgb)
        upload = 1000 * (time.perf_counter() - t)
        v.look_at((0, 0, 0), 0.0, 80.0)
        v.render()  # warm up (shader compile, upload)
        for lod in (False, True):
            v.points.set_lod(lod)
            times = []
            for _ in range(6):
                v.view.camera.azimuth += 3
                t = time.perf_counter()
                v.render()
                times.append(1000 * (time.perf_counter() - t))
            ms = float(np.median(times))
            label = f"LOD ({v.points.count} pts)" if lod else "full"
            print(f"3D {n:>9,} points, {label:<18}: {ms:7.1f} ms/frame ({1000 / ms:5.1f} fps); "
                  f"set_points {upload:.0f} ms")
        v.points.set_lod(False)
    v.close()
    w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "fusionlabel-bench-gui-200")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--skip-stepping", action="store_true")
    ap.add_argument("--skip-3d", action="store_true")
    ap.add_argument("--compare", type=Path, help="another checkout whose stepping is measured against this one")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the stepping figures as one JSON line")
    args = ap.parse_args()
    os.environ.setdefault("FUSIONLABEL_CACHE", str(Path(tempfile.gettempdir()) / "fusionlabel-bench-cache"))
    from PyQt6.QtWidgets import QApplication

    if args.compare is not None:
        compare(args.compare, ensure_sequence(args.path, args.frames), args.repeat)
        return
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not args.skip_stepping:
        figures = bench_stepping(ensure_sequence(args.path, args.frames), app)
        if args.json:
            import json

            print(json.dumps(figures), flush=True)
    if not args.skip_3d:
        bench_3d(app)


if __name__ == "__main__":
    main()
