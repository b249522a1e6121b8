"""GUI performance figures (run under Xvfb: ``xvfb-run -a -s "-screen 0 1600x1000x24" python
benchmarks/bench_gui.py``).

1. Frame stepping in the real window through a synthetic sequence (default 200 frames, 6 cameras):
   time of ``set_frame(i)`` plus the repaint of every widget (``processEvents``), mean and p95,
   target < 50 ms; once stepping as fast as possible, once at the 10 Hz sensor rate (prefetch has
   time to work). While frames change the window's 3D view redraws in the idle gap after a step,
   or within a step once steps have come back to back for ``MainWindow.MAX_3D_STALE_S`` (those
   steps make the p95 of the flat-out run); both counts are printed.
2. The 3D view's frame time (``canvas.render()``, 900x600) for 100k and 1M points, full cloud and
   level of detail (decimated subset).

The sequence is generated once into ``--path`` (default ``$TMPDIR/fusionlabel-bench-gui-200``).
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
sys.path.insert(0, str(ROOT))


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


def bench_stepping(path: Path, app) -> None:  # type: ignore[no-untyped-def]
    from gui.app import Prompter
    from gui.qt.window import MainWindow

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
    args = ap.parse_args()
    os.environ.setdefault("FUSIONLABEL_CACHE", str(Path(tempfile.gettempdir()) / "fusionlabel-bench-cache"))
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not args.skip_stepping:
        bench_stepping(ensure_sequence(args.path, args.frames), app)
    if not args.skip_3d:
        bench_3d(app)


if __name__ == "__main__":
    main()
