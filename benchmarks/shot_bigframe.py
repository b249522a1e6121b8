"""The 10M-point frame through the final window (``gui.qt.window.MainWindow``, as ``fusionlabel
open`` shows it): times to a first picture and to the refined one, and PNG screenshots of both.
Run under Xvfb: ``xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/shot_bigframe.py``.

The data is ``benchmarks/bench_bigframe.py``'s ``big`` case (a native sequence of 3 frames of
``--points`` points, generated once under ``--dir``). Printed: from ``open_path`` to the loaded
session (reading, the first frame with its provisional level of detail), to the first picture
(the 3D view and the BEV painted with points), to the voxel level of detail replacing the
provisional one (built in a background job, then redrawn), and to the neighbours prefetched;
wall time, CPU time of the process (every thread) and of the window's thread. Screenshots:
``OUT/bigframe-first.png`` (the first picture) and ``OUT/bigframe-refined.png`` (refined, at rest).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "fusionlabel-bench-bigframe")
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "fusionlabel-shots")
    args = ap.parse_args()
    os.environ.setdefault("FUSIONLABEL_CACHE", str(Path(tempfile.gettempdir()) / "fusionlabel-bench-cache"))
    from bench_bigframe import ensure_big

    path = ensure_big(args.dir / f"big-{args.points}", args.points)
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gui.app import create_window

    win = create_window(None)
    win.recovery_enabled = False
    win.resize(1600, 1000)
    win.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    marks: dict[str, tuple[float, float, float]] = {}
    t0, p0, c0 = time.perf_counter(), time.process_time(), time.thread_time()

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = (time.perf_counter() - t0, time.process_time() - p0, time.thread_time() - c0)

    v3, bev = win.view3d, win.bev
    render_now = v3._render_now  # noqa: SLF001 - instrumented: when the 3D view first draws points

    def timed_render() -> Any:
        out = render_now()
        if v3.drawn_points > 0:
            mark("3d")
        return out

    v3._render_now = timed_render  # noqa: SLF001
    bev_paint = bev.paintEvent

    def timed_paint(event: Any) -> None:
        bev_paint(event)
        if bev.raster_count > 0:
            mark("bev")

    bev.paintEvent = timed_paint  # type: ignore[method-assign]
    state: dict[str, Any] = {}
    win.loaded.connect(lambda: (mark("loaded"), state.setdefault("ok", True)))
    win.load_failed.connect(lambda msg: state.setdefault("ok", msg))
    win.open_path(path)
    while "ok" not in state or not {"3d", "bev"} <= set(marks):
        app.processEvents()
        if state.get("ok", True) is not True:
            raise SystemExit(f"cannot open {path}: {state['ok']}")
        if time.perf_counter() - t0 > 300:
            raise SystemExit("no first picture within 300 s")
        time.sleep(0.001)
    mark("first picture")
    args.out.mkdir(parents=True, exist_ok=True)
    first_png = args.out / "bigframe-first.png"
    session = win.model.session
    fd = session.frames.get(0, prefetch=False)
    # (getattr: the script also times versions before the provisional level of detail)
    provisional_at_first = bool(getattr(fd.lod, "provisional", False))
    t_shot = time.perf_counter()
    win.screenshot().save(str(first_png))  # (outside the timings above; the refinement goes on)
    t_shot = time.perf_counter() - t_shot
    while getattr(fd.lod, "provisional", False) or getattr(session.frames, "prefetch_held", False):
        app.processEvents()
        time.sleep(0.005)
    mark("refined")
    session.frames.wait_idle()
    mark("neighbours prefetched")
    for _ in range(100):  # the views come to rest (their rest timers), full budgets drawn
        app.processEvents()
        time.sleep(0.01)
    refined_png = args.out / "bigframe-refined.png"
    win.screenshot().save(str(refined_png))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{fd.lod.n if fd.lod is not None else len(fd.pts_world):,} points in frame 0")
    print(f"{'from open_path to':28s} {'wall ms':>8s} {'CPU ms (process)':>17s} {'CPU ms (window thread)':>23s}")
    for name in ("loaded", "3d", "bev", "first picture", "refined", "neighbours prefetched"):
        w, p, c = marks[name]
        label = {"3d": "3D view painted", "bev": "BEV painted", "loaded": "session loaded"}.get(name, name)
        print(f"{label:28s} {1000 * w:8.0f} {1000 * p:17.0f} {1000 * c:23.0f}")
    print(f"first picture drawn with the {'provisional' if provisional_at_first else 'voxel'} level of detail; "
          f"3D {v3.drawn_points:,} points at rest, BEV {bev.raster_count:,}")
    print(f"(the first screenshot, {1000 * t_shot:.0f} ms, is inside the later figures)")
    print(f"screenshots: {first_png} {refined_png}")
    session.undo.mark_clean()
    win.close()


if __name__ == "__main__":
    main()
