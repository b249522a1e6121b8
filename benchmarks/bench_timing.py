"""Sensor timing on the synthetic sequence: time-correct projection and deskew, before / after.

A synthetic sequence with timing (``SynthConfig(rolling_sweep=True, exposure_offset_ns=...)``:
a rotating sweep whose points each carry their own time, agents and ego moving during it, and
cameras triggered as the sweep passes them plus an exposure offset) is written in the native
layout and opened like any sequence (``formats.datasets.open_dataset``); its ground-truth tracks
(keyframes at the frame times only) are the annotation.

1. **Projection**: for every image and every *moving* labelled object whose box is wholly in
   front of the camera and inside the image, the projected 2D extent of the track's box (edges
   sampled densely through the lens model) is compared with the object's box mask: the
   silhouette of its ground-truth box at the image's true capture time, ray cast by the
   generator's renderer (``CameraRenderer.silhouette``). Edge error (px) per side: the distance
   of the projected edge from the pixel interval where the mask's edge lies (0 when the edge falls
   between the last pixel centre outside and the first inside). "frame time": the box of the
   frame and the camera at the frame's ego pose (what the tool drew before); "capture time": the
   time-correct path of the tool (``formats.timing.SequenceTiming.camera_pose`` and
   ``CaptureTiming.corners_at``: the track interpolated to the image's time, the ego pose
   interpolated there). Target: within 1 px with correction.
2. **Deskew**: moving objects' LiDAR points (their instance ids from the generator) against their
   boxes taken at the points' own times (``fusionlabel.timing.distance_outside_boxes``), with the
   sweep placed raw (every point through the frame's ego pose) and deskewed (each point through
   the ego pose at its own time). Target: within 2 cm deskewed.
3. **Objects at the frame time**: the same points against the boxes drawn at the frame time
   (what the views show): deskewed by the ego motion only, the objects' own motion during the
   sweep smears them; carried by their tracks' motion to the frame time
   (``fusionlabel.timing.objects_to_frame_time``: points assigned to a track by lying in its box
   at their own time) they lie inside. Also the share of points assigned to their own track and
   the CPU time per sweep.

Usage: ``python benchmarks/bench_timing.py [--frames 4] [--seed 0] [--exposure-offset 20]
[--size 800x450] [--keep DIR]``. Prints the figures; takes a few minutes (the generator renders
six cameras per frame).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calib.projection import BOX_EDGES  # noqa: E402
from formats import native  # noqa: E402
from formats.datasets import open_dataset  # noqa: E402
from formats.timing import SequenceTiming  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402
from fusionlabel.timing import distance_outside_boxes, times_to_ns  # noqa: E402

EDGE_SAMPLES = 200


def projected_extent(corners_cam: np.ndarray, camera) -> tuple[float, float, float, float] | None:  # noqa: ANN001
    """(x1, y1, x2, y2) px of a box's projected edges (corners (8, 3) camera frame, all in
    front), sampled densely through the lens model; None when a sample is not valid."""
    a, b = corners_cam[BOX_EDGES[:, 0]], corners_cam[BOX_EDGES[:, 1]]
    t = np.linspace(0.0, 1.0, EDGE_SAMPLES)[None, :, None]
    pts = (a[:, None] + (b - a)[:, None] * t).reshape(-1, 3)
    uv, _, valid = camera.project(pts, require_in_image=False)
    if not valid.all():
        return None
    return float(uv[:, 0].min()), float(uv[:, 1].min()), float(uv[:, 0].max()), float(uv[:, 1].max())


def mask_edge_errors(ext: tuple[float, float, float, float], mask: np.ndarray) -> np.ndarray:
    """(4,) px: left, top, right, bottom edge of ``ext`` against the mask's pixel extent (0 inside
    the interval where the silhouette's edge lies, see the module doc)."""
    vs, us = np.nonzero(mask)
    lo = np.array([us.min() - 1.0, vs.min() - 1.0, us.max() + 0.0, vs.max() + 0.0])
    hi = lo + 1.0
    e = np.asarray(ext)
    return np.maximum(np.maximum(lo - e, e - hi), 0.0)


def _fmt(errs: list[np.ndarray]) -> str:
    if not errs:
        return "     -        -        -"
    a = np.concatenate(errs)
    return f"{a.mean():7.2f}  {np.percentile(a, 95):7.2f}  {a.max():7.2f}"


def projection(scene: SynthScene, loaded, moving: set[int]) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Print the projection table; return all edge errors (px) at frame time and capture time."""
    timing = SequenceTiming(loaded)
    rig = scene.rig
    per_cam: dict[str, dict[str, list[np.ndarray]]] = {}
    counts: dict[str, int] = {}
    offsets: dict[str, float] = {}
    for k in range(len(loaded)):
        refs = [r for r in loaded.annotations.boxes_at(k) if r.track_id in moving]
        for cam in rig.camera_names():
            model = rig.camera(cam)
            t_cap = timing.capture_ns(k, cam)
            offsets[cam] = (t_cap - loaded.info.frames[k].timestamp_ns) * 1e-6
            t_s = (t_cap - scene.timestamp_ns(0)) * 1e-9
            T_world_from_cam = scene.layout.ego.pose_at(t_s) @ rig.T("ego", cam)
            renderer = scene.renderer(cam)
            truth = {o.instance: o.box_at(t_s) for o in scene.layout.labelled if o.instance in moving}
            T_before, _ = timing.camera_pose(k, cam, time_correct=False)
            T_after, ct = timing.camera_pose(k, cam, time_correct=True)
            for r in refs:
                mask = renderer.silhouette(T_world_from_cam, truth[r.track_id])
                if mask.sum() < 20:
                    continue
                vs, us = np.nonzero(mask)
                if us.min() < 2 or vs.min() < 2 or us.max() > model.width - 3 or vs.max() > model.height - 3:
                    continue  # cut by the image border: its edges are not the object's
                corners = r.box.corners()
                moved = ct.corners_at([r.track_id], corners)[0] if ct is not None else corners
                exts = []
                for T, c in ((T_before, corners), (T_after, moved)):
                    cc = c @ T[:3, :3].T + T[:3, 3]
                    exts.append(projected_extent(cc, model) if (cc[:, 2] > 0.2).all() else None)
                if exts[0] is None or exts[1] is None:
                    continue
                d = per_cam.setdefault(cam, {"before": [], "after": []})
                d["before"].append(mask_edge_errors(exts[0], mask))
                d["after"].append(mask_edge_errors(exts[1], mask))
                counts[cam] = counts.get(cam, 0) + 1
    print("\n1. Projected box edges of moving objects vs their masks (px; mean / p95 / max over 4 edges)")
    print(f"{'camera':<17}{'offset ms':>10}{'objects':>8}   {'frame time':^25}   {'capture time':^25}")
    allb: list[np.ndarray] = []
    alla: list[np.ndarray] = []
    for cam in rig.camera_names():
        d = per_cam.get(cam, {"before": [], "after": []})
        allb += d["before"]
        alla += d["after"]
        head = f"{cam:<17}{offsets.get(cam, 0.0):>10.1f}{counts.get(cam, 0):>8}"
        print(f"{head}   {_fmt(d['before'])}   {_fmt(d['after'])}")
    print(f"{'all':<17}{'':>10}{sum(counts.values()):>8}   {_fmt(allb)}   {_fmt(alla)}")
    if alla:
        a = np.concatenate(alla)
        print(f"capture time: {100.0 * float((a <= 1.0).mean()):.1f} % of edges within 1 px (target: all)")
    flat = [np.concatenate(x) if x else np.zeros(0) for x in (allb, alla)]
    return flat[0], flat[1]


def deskew(scene: SynthScene, loaded, moving: set[int]) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Print the deskew table; return the distances (m) of moving objects' points, raw and
    deskewed."""
    timing = SequenceTiming(loaded)
    doc = loaded.annotations
    times = loaded.info.frame_times_ns()
    lidar = loaded.lidar_names[0]
    res: dict[str, list[np.ndarray]] = {"raw": [], "deskewed": []}
    for k in range(len(loaded)):
        pc = loaded.read_lidar(k, lidar)
        inst = native.read_lidar_instance(loaded.info, k, lidar)
        assert pc is not None and inst is not None
        sel = np.isin(inst, list(moving))
        t_s = timing.sweep_times(k, lidar, pc)
        assert t_s is not None, "the sequence has no per-point times"
        t_ns = times_to_ns(times[k], t_s)
        for name, desk in (("raw", False), ("deskewed", True)):
            pts, _ = timing.world_points(k, lidar, desk, pc)
            res[name].append(distance_outside_boxes(pts[sel], t_ns[sel], inst[sel], doc, times))
    print("\n2. Moving objects' LiDAR points outside their boxes at the points' own times (cm)")
    _table(res)
    return {k: _finite(v) for k, v in res.items()}


def frame_time(loaded, moving: set[int]) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Print the table of moving objects' points against the boxes drawn at the frame time:
    deskewed (ego motion only: the objects' own motion during the sweep smears them) and carried
    to the frame time by their tracks' motion (``SequenceTiming.frame_time_points``); return the
    distances (m)."""
    timing = SequenceTiming(loaded)
    doc = loaded.annotations
    times = loaded.info.frame_times_ns()
    lidar = loaded.lidar_names[0]
    res: dict[str, list[np.ndarray]] = {"ego only": [], "+ objects": []}
    caught, cpu = [], 0.0
    for k in range(len(loaded)):
        pc = loaded.read_lidar(k, lidar)
        inst = native.read_lidar_instance(loaded.info, k, lidar)
        assert pc is not None and inst is not None
        sel = np.isin(inst, list(moving))
        at = np.full(int(sel.sum()), times[k])
        desk, _ = timing.world_points(k, lidar, True, pc)
        c0 = time.process_time()
        got = timing.frame_time_points(k, lidar, pc)
        cpu += time.process_time() - c0
        assert got is not None
        moved, owner = got
        caught.append(owner[sel] == inst[sel])
        res["ego only"].append(distance_outside_boxes(desk[sel], at, inst[sel], doc, times))
        res["+ objects"].append(distance_outside_boxes(moved[sel], at, inst[sel], doc, times))
    print("\n3. Moving objects' points outside their boxes at the frame time (cm): deskewed by the ego motion,"
          "\n   then also carried by their tracks' motion to the frame time")
    _table(res)
    c = np.concatenate(caught)
    print(f"points given to their own track: {100.0 * float(c.mean()):.2f} %; "
          f"CPU {1000.0 * cpu / len(loaded):.1f} ms per sweep")
    return {k: _finite(v) for k, v in res.items()}


def _finite(parts: list[np.ndarray]) -> np.ndarray:
    d = np.concatenate(parts)
    return d[np.isfinite(d)]


def _table(res: dict[str, list[np.ndarray]]) -> None:
    """Print distances (m) per row as cm: points, mean, p99, max, share within 2 cm."""
    print(f"{'sweep':<10}{'points':>8}{'mean':>8}{'p99':>8}{'max':>8}{'within 2 cm':>13}")
    for name, parts in res.items():
        d = _finite(parts) * 100.0
        print(f"{name:<10}{len(d):>8}{d.mean():>8.2f}{np.percentile(d, 99):>8.2f}{d.max():>8.2f}"
              f"{100.0 * float((d <= 2.0).mean()):>12.1f}%")


def moving_ids(scene: SynthScene) -> set[int]:
    """Track ids of the scene's moving labelled objects."""
    return {o.instance for o in scene.layout.labelled if o.path is not None and o.speed > 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exposure-offset", type=float, default=20.0, help="ms (default 20)")
    ap.add_argument("--size", default="800x450")
    ap.add_argument("--keep", type=Path, help="reuse / keep the generated sequence in this folder")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    cfg = SynthConfig(frames=args.frames, seed=args.seed, cameras=6, image_size=(w, h), rolling_sweep=True,
                      exposure_offset_ns=int(round(args.exposure_offset * 1e6)))
    scene = SynthScene(cfg)
    work = Path(tempfile.mkdtemp(prefix="bench_timing_"))
    out = args.keep if args.keep is not None else work / "seq"
    try:
        if not (out / "fusionlabel.json").is_file():
            t0 = time.perf_counter()
            native.write_synth_scene(scene, out, overwrite=True)
            print(f"generated {cfg.frames} frames in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        loaded = open_dataset(out)
        moving = moving_ids(scene)
        print(f"synthetic seed {cfg.seed}: {cfg.frames} frames, 6 cameras {w}x{h}, rotating sweep "
              f"({cfg.sweep_blocks} blocks per 100 ms), exposure offset {args.exposure_offset:g} ms, "
              f"{len(moving)} moving objects")
        projection(scene, loaded, moving)
        deskew(scene, loaded, moving)
        frame_time(loaded, moving)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
