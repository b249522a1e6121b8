"""Big frames: a 10M-point frame and an accumulation of 50 sweeps, drawn with the level of detail
(``fusionlabel.lod``, ``gui.model.cloud``) and without it (the reference: every point to every
view, as the window's drawing did before), each in a process of its own. Run under Xvfb:
``xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_bigframe.py``.

Cases (the data is generated once under ``--dir``, no download):

* ``big``: a native sequence of 3 frames of ``--points`` (default 10M) points: the sweeps of a
  synthetic sequence (``fusionlabel synth``, ~113k points) repeated with 3 cm jitter;
* ``accum``: a synthetic sequence of ``--sweeps + 2`` frames; frame ``--sweeps / 2`` is shown
  with ``Accumulate +-sweeps/2`` (``--sweeps + 1`` sweeps placed in the world frame through their
  ego poses).

Figures per case and mode: **first picture** (from opening the sequence, or from asking the
accumulation, to the 3D view (900x600) and the BEV (600x600) drawn once), **rest** (the full
detail drawn after it), **orbit** (median 3D frame while the camera moves), **BEV pan** (median
raster while panning), **camera overlay** (LiDAR points into the camera, while stepping / at rest),
**step** (next frame drawn, prefetched: the loader's work, level of detail included, happened in
the prefetch thread; its time is printed as **prefetch load**), **RSS** (resident memory of the
process, psutil, after the steps, minus before opening) against the raw point data of the frames
held (x, y, z, intensity float32) and **peak** (``ru_maxrss``). The first picture's CPU time of the
window's thread (``time.thread_time``: reading, level of detail, drawing; without the GL
rasteriser's threads and the prefetch) tells what it costs on a machine not shared with others.

Modes: ``lod`` (the views draw through the level of detail; the loader makes no whole-frame
drawing arrays), ``window`` (the same drawing with the window's loader: frames up to
``gui.session.EAGER_DERIVE_MAX_POINTS`` points also get the arrays of ``derive``, the sweeps
loaded for the accumulation included where the cache reads them whole) and ``reference``. The
frame cache's counters after the steps are printed (``cache``: loads in the drawing thread, of
them parts without images, images completed, by the prefetch).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ---- data -----------------------------------------------------------------------------------------
def ensure_synth(path: Path, frames: int) -> Path:
    from formats import native
    from fusionlabel.cli import generate

    if not native.is_native(path):
        print(f"generating {frames} synthetic frames into {path} (once) ...", flush=True)
        generate(path, frames=frames, seed=3, cameras=1, size=(480, 270), force=True)
    return path


def ensure_big(path: Path, points: int, frames: int = 3) -> Path:
    """A native sequence of ``frames`` frames of ``points`` points each (synthetic sweeps repeated
    with jitter)."""
    from formats import native

    index = path / native.INDEX_FILE
    if index.is_file():
        data = json.loads(index.read_text())
        if all(sum(fr["lidar_points"].values()) == points for fr in data["frames"]):
            return path
    ensure_synth(path, frames)
    print(f"densifying to {points:,} points a frame ...", flush=True)
    data = json.loads(index.read_text())
    rng = np.random.default_rng(0)
    for fr in data["frames"]:
        fr.pop("lidar_instance", None)
        for name, rel in fr["lidar"].items():
            src = native.read_lidar(path / rel)
            reps = -(-points // len(src))
            out = np.repeat(src, reps, axis=0)[:points]
            out[len(src):, :3] += rng.normal(0, 0.03, (points - len(src), 3)).astype(np.float32)
            native.write_lidar(path / rel, out)
            fr["lidar_points"][name] = points
    index.write_text(json.dumps(data))
    return path


# ---- measuring ------------------------------------------------------------------------------------
def rss() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:  # Linux fallback
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def trimmed_rss() -> int:
    """Resident memory after returning the allocator's free pages to the system (glibc
    ``malloc_trim``; freed arrays of the loader thread stay in its arena otherwise)."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return rss()


def peak() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def ms(t: float) -> float:
    return 1000.0 * (time.perf_counter() - t)


def child(case: str, mode: str, path: Path, sweeps: int, shots: Path | None) -> dict[str, Any]:
    """One case in one mode (this process): the figures as a dict."""
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    import gui.session as gs
    from gui.cameras import CameraPanel
    from gui.colors import bev_colors, point_colors
    from gui.model.cloud import shown_cloud
    from gui.ortho import OrthoView
    from gui.render.view3d import View3D

    lod = mode in ("lod", "window")
    if mode == "lod":
        gs.EAGER_DERIVE_MAX_POINTS = 0  # the views draw through ShownCloud: no full-size colour arrays
    elif not lod:  # the loader and drawing as before the level of detail
        original = gs.load_frame

        def old_loader(loaded: Any, i: int, cameras: bool = True, **kw: Any) -> Any:
            kw["lod"] = False
            fd = original(loaded, i, cameras, **kw)
            return gs.derive(fd)

        gs.load_frame = old_loader  # type: ignore[assignment]
    load = gs.load_frame
    v3 = View3D()
    v3.display.resize(900, 600)
    v3.display.show()
    bev = OrthoView()
    bev.resize(600, 600)
    bev.show()
    for _ in range(5):
        app.processEvents()
    acc = sweeps // 2 if case == "accum" else 0
    frame = acc
    out: dict[str, Any] = {"case": case, "mode": mode}
    base = rss()

    def draw(fd: Any, f: int, session: Any) -> Any:
        if lod:
            cloud = shown_cloud(session.frames, f, len(session), acc)
            v3.set_cloud(cloud)
            bev.set_cloud(cloud)
            return cloud
        origin = fd.T_world_from_ego[:3, 3]
        ground = float(fd.memo.get("ground_z", origin[2]))
        if acc == 0:
            gs.derive(fd, "height")
            v3.set_points(fd.pts_world, fd.memo[("rgb", "height")])
            bev.set_points(fd.memo["bev_xy"], fd.memo["bev_rgb32"])
            return fd.pts_world
        parts = [session.frames.get(g, prefetch=False) for g in range(max(0, f - acc), min(len(session), f + acc + 1))]
        pts = np.concatenate([p.pts_world for p in parts])
        inten = np.concatenate([p.intensity for p in parts])
        v3.set_points(pts, point_colors("height", pts, inten, origin, ground))
        order = gs.height_order(pts[:, 2])
        bev.set_points(pts[order, :2], bev_colors(pts[order, 2], ground))
        return pts

    t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    session = gs.load_session(path)
    if acc:
        t_open = ms(t0)
        t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    first = session.frames.get(frame, prefetch=False)
    refine = lod and first.lod is not None and first.lod.provisional
    if refine:  # as the window (gui.qt.loading): drawn first, refined next, neighbours after
        session.frames.hold_prefetch()
    fd = session.frames.get(frame)
    T = fd.T_world_from_ego
    v3.look_at(T[:3, 3] + np.array([0, 0, 1.0]), float(np.arctan2(T[1, 0], T[0, 0])), 60.0)
    bev.set_view(T[:2, 3], 7.0)
    shown = draw(fd, frame, session)
    v3.render()
    bev.grab()
    out["first_ms"] = ms(t0)
    out["first_cpu_ms"] = 1000.0 * (time.thread_time() - c0)
    out["first_proc_cpu_ms"] = 1000.0 * (time.process_time() - p0)
    out["first_lod"] = "provisional (stride)" if refine else "voxel" if lod else "none"
    if refine:  # the window's refinement job: the voxel order, then the views redraw
        from fusionlabel.lod import build_lod

        t, c = time.perf_counter(), time.process_time()
        fd.lod = build_lod(fd.pts_world)
        shown = draw(fd, frame, session)
        v3.render()
        bev.grab()
        out["refine_ms"], out["refine_cpu_ms"] = ms(t), 1000.0 * (time.process_time() - c)
        session.frames.release_prefetch()
    stages = out.setdefault("rss_stages", {})
    stages["first picture"] = (rss() - base) / 2**20
    if acc:
        out["open_ms"] = t_open
    out["points"] = int(shown.n if lod else len(shown))
    out["first_3d_points"] = v3.drawn_points
    out["first_bev_points"] = bev.raster_count if lod else out["points"]
    t = time.perf_counter()
    if lod:
        v3.settle()
        bev.set_draft(False)
        bev._at_rest()
    v3.render()
    bev.grab()
    out["rest_ms"] = ms(t)
    session.frames.wait_idle()
    stages["at rest, prefetch done"] = (rss() - base) / 2**20
    out["rest_3d_points"] = v3.drawn_points
    out["rest_bev_points"] = bev.raster_count if lod else out["points"]
    if shots is not None:
        from PyQt6.QtGui import QImage

        shots.mkdir(parents=True, exist_ok=True)
        rgba = np.ascontiguousarray(v3.render())
        QImage(rgba.data, rgba.shape[1], rgba.shape[0], 4 * rgba.shape[1],
               QImage.Format.Format_RGBA8888).save(str(shots / f"{case}-{mode}-3d.png"))
        bev.grab().save(str(shots / f"{case}-{mode}-bev.png"))
    orbit = []
    for _ in range(8):
        v3.interacted()
        v3.view.camera.azimuth += 4
        t = time.perf_counter()
        v3.render()
        orbit.append(ms(t))
    out["orbit_ms"] = float(np.median(orbit))
    out["orbit_points"] = v3.drawn_points
    pan = []
    for k in range(5):
        t = time.perf_counter()
        bev.set_view(T[:2, 3] + np.array([0.5 * (k + 1), 0.0]))
        bev.grab()
        pan.append(ms(t))
    out["pan_ms"] = float(np.median(pan))
    if lod:
        v3.settle()
        bev._at_rest()
    # camera overlay: one 480x270 camera looking forward from the ego
    names = session.camera_names
    if names:
        cam = session.camera(frame, names[0])
        panel = CameraPanel(names[0], cam)
        panel.resize(480, 270)
        panel.show_points = True
        img = fd.images.get(names[0])
        cloud_or_pts = shown
        panel.set_draft(True)
        t = time.perf_counter()
        panel.set_frame(img, session.T_cam_from_world(frame, names[0]), [], cloud_or_pts)
        out["overlay_draft_ms"] = ms(t)
        out["overlay_draft_points"] = panel.overlay_count if lod else out["points"]
        t = time.perf_counter()
        panel.set_draft(False)
        if not lod:
            panel.set_frame(img, session.T_cam_from_world(frame, names[0]), [], cloud_or_pts)
        out["overlay_rest_ms"] = ms(t)
        out["overlay_rest_points"] = panel.overlay_count if lod else out["points"]
        if shots is not None:
            panel.grab().save(str(shots / f"{case}-{mode}-camera.png"))
        del cloud_or_pts
    stages["orbit, pan, overlay"] = (rss() - base) / 2**20
    # steps: the next frames, prefetched (the user looked at this one for a while)
    steps = []
    panel_frame = frame
    for f in (frame + 1, frame + 2):
        if f >= len(session):
            break
        session.frames.wait_idle()
        if acc:  # the sweep entering the window at the far end is prefetched too
            session.frames.prefetch([f + acc])
            session.frames.wait_idle()
        t = time.perf_counter()
        fd = session.frames.get(f)
        t_get = ms(t)
        shown = draw(fd, f, session)
        v3.render()
        bev.grab()
        steps.append((ms(t), t_get))
        if names:  # the camera panel follows (outside the timing: the overlay is timed above)
            panel.set_frame(fd.images.get(names[0]), session.T_cam_from_world(f, names[0]), [], shown)
            panel_frame = f
    out["step_ms"] = float(np.mean([s[0] for s in steps])) if steps else float("nan")
    out["step_get_ms"] = float(np.mean([s[1] for s in steps])) if steps else float("nan")
    session.frames.wait_idle()
    t = time.perf_counter()
    extra = load(session.loaded, min(frame + 1, len(session) - 1))
    del extra
    out["prefetch_load_ms"] = ms(t)
    stages["steps"] = (rss() - base) / 2**20
    import gc

    gc.collect()
    # frames held: in the cache and shown by the views
    held = {k: session.frames._items[k][0] for k in list(session.frames._items)}  # noqa: SLF001
    def storage(x: Any) -> Any:  # the points' arrays held (float32, or packed: compact sweeps)
        full = getattr(x, "pts_full", None)
        return full if full is not None else getattr(x, "packed", None)

    alive = {id(storage(h)): h.n for h in held.values()}
    for cloud in (getattr(v3, "_cloud", None), getattr(bev, "_cloud", None)):
        for p in getattr(cloud, "parts", ()):
            alive[id(storage(p))] = p.n
    out["raw_mb"] = sum(16 * n for n in alive.values()) / 2**20
    out["frames_held"] = len(alive)
    out["panel_frame"] = panel_frame
    # the window at rest: its views come to rest (still budgets drawn) and, a second later, it
    # returns the freed memory to the system (gui.memory.request_idle_trim)
    import gui.memory as gm

    trims = gm.trims
    t_end = time.perf_counter() + 8.0

    def quiet() -> bool:  # views at rest, and a trim ran after the last rest asked for one
        rests = [getattr(v, "_rest", None) for v in (v3, bev)]
        return (gm.trims > trims and not gm.idle_trim_pending()
                and not any(r is not None and r.isActive() for r in rests))

    while not quiet() and time.perf_counter() < t_end:
        app.processEvents()
        time.sleep(0.01)
    out["idle_trim"] = quiet()
    out["rss_mb"] = (rss() - base) / 2**20
    out["trimmed_mb"] = (trimmed_rss() - base) / 2**20
    out["peak_mb"] = peak() / 2**20
    out["base_mb"] = base / 2**20
    st = session.frames.stats
    out["cache"] = {k: getattr(st, k, 0) for k in ("misses", "part_misses", "prefetched", "completions",
                                                    "completed_ahead", "evictions")}
    session.close()
    v3.close()
    return out


def run_child(case: str, mode: str, path: Path, sweeps: int, shots: Path | None) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--child", case, mode, str(path), "--sweeps", str(sweeps)]
    if shots is not None:
        cmd += ["--screenshot", str(shots)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        print(f"{case}/{mode} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
        return None
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def report(res: dict[str, Any]) -> None:
    names = {"lod": "level of detail", "window": "level of detail, the window's loader"}
    name = names.get(res["mode"], "reference (no level of detail)")
    print(f"  {res['case']} / {name}: "
          f"{res['points']:,} points")
    if "open_ms" in res:
        print(f"    open the sequence {res['open_ms']:.0f} ms; then the accumulation:")
    print(f"    first picture {res['first_ms']:8.0f} ms  (3D {res['first_3d_points']:,} points, "
          f"BEV {res['first_bev_points']:,}); CPU time of this thread {res['first_cpu_ms']:.0f} ms, "
          f"of the process {res['first_proc_cpu_ms']:.0f} ms; level of detail {res['first_lod']}")
    if "refine_ms" in res:
        print(f"    refined        {res['refine_ms']:8.0f} ms more (voxel order built and drawn; CPU "
              f"{res['refine_cpu_ms']:.0f} ms), then the neighbours are prefetched")
    print(f"    full detail    {res['rest_ms']:8.0f} ms more (3D {res['rest_3d_points']:,}, "
          f"BEV {res['rest_bev_points']:,})")
    print(f"    orbit          {res['orbit_ms']:8.1f} ms/frame (3D {res['orbit_points']:,} points while moving)")
    print(f"    BEV pan        {res['pan_ms']:8.1f} ms/raster")
    if "overlay_draft_ms" in res:
        print(f"    camera overlay {res['overlay_draft_ms']:8.0f} ms stepping "
              f"({res['overlay_draft_points']:,} points), {res['overlay_rest_ms']:.0f} ms at rest "
              f"({res['overlay_rest_points']:,})")
    print(f"    step           {res['step_ms']:8.0f} ms (prefetched; of which the cache {res['step_get_ms']:.0f} ms; "
          f"the loader's prefetch work "
          f"{res['prefetch_load_ms']:.0f} ms a frame)")
    rest = "at rest, after the window's idle trim" if res.get("idle_trim") else "at rest (no idle trim ran)"
    print(f"    memory         {res['rss_mb']:8.0f} MiB resident ({rest}) over the {res['base_mb']:.0f} MiB "
          "before opening, "
          f"{res['rss_mb'] / max(res['raw_mb'], 1e-9):.2f}x the raw points of the {res['frames_held']} frames held "
          f"({res['raw_mb']:.0f} MiB); peak {res['peak_mb']:.0f} MiB")
    print(f"    after malloc_trim {res['trimmed_mb']:.0f} MiB: "
          f"{res['trimmed_mb'] / max(res['raw_mb'], 1e-9):.2f}x the raw points held")
    print("    resident over the start: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in res["rss_stages"].items()))
    if "cache" in res:
        print("    cache          " + ", ".join(f"{k} {v}" for k, v in res["cache"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "fusionlabel-bench-bigframe")
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--sweeps", type=int, default=50)
    ap.add_argument("--cases", default="big,accum")
    ap.add_argument("--modes", default="lod,reference")
    ap.add_argument("--screenshot", type=Path, default=None, help="folder for PNGs of the views")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("FUSIONLABEL_CACHE", str(Path(tempfile.gettempdir()) / "fusionlabel-bench-cache"))
    if args.child:
        case, mode, path = args.child
        print(json.dumps(child(case, mode, Path(path), args.sweeps, args.screenshot)))
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for case in args.cases.split(","):
        if case == "big":
            path = ensure_big(args.dir / f"big-{args.points}", args.points)
        elif case == "accum":
            path = ensure_synth(args.dir / f"synth-{args.sweeps + 2}", args.sweeps + 2)
        else:
            raise SystemExit(f"unknown case {case!r}")
        for mode in args.modes.split(","):
            res = run_child(case, mode if mode in ("lod", "window") else "reference", path, args.sweeps,
                            args.screenshot)
            if res is not None:
                report(res)


if __name__ == "__main__":
    main()
