"""One-click heading from motion in neighbouring sweeps: heading error and BEV IoU with and without
the neighbours.

1. **Synthetic sequences** (``fusionlabel.synth``, exact ground truth, 10 Hz, ego moving): at every
   ``--step``-th frame with two sweeps on each side, a click at the centre of every labelled walker,
   cyclist and car within 40 m with >= ``MIN_POINTS`` LiDAR points, the class given (as the GUI
   does). Once with this sweep only, once with the sweeps f-2..f+2 (world frame). Printed per class
   and state (moving / standing or parked): the heading error modulo 180 degrees (the box's axis:
   what BEV IoU sees) and modulo 360 (the direction, which a track's label carries), the BEV IoU,
   the share headed by motion, and the time per click.
2. **The real SUSTechPOINTS example** (4 sweeps 0.5-1.5 s apart, opened with ``estimate_poses=True``
   since it has no ego poses): every labelled pedestrian / cyclist / rider-like object with >= 10
   points, the class given; neighbours: the other sweeps.

Run: ``PYTHONPATH=. python benchmarks/bench_oneclick_motion.py [--seeds 0 1] [--frames 20] [--quick]
[--no-real]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calib.transforms import transform_points  # noqa: E402
from fusionlabel.assist import box_from_click, fit_ground  # noqa: E402
from fusionlabel.box import Box3D  # noqa: E402
from fusionlabel.geometry import bev_iou, count_points_in_boxes  # noqa: E402

SUSTECH = ROOT.parent / "shared" / "data" / "real" / "sustechpoints_example" / "data" / "example"
MIN_POINTS = 20
MAX_RANGE = 40.0
OFFSETS = (-2, -1, 1, 2)


@dataclass
class Click:
    source: str
    label: str
    state: str
    points: int
    err_axis: tuple[float, float]  # without, with neighbours (deg, modulo 180)
    err_dir: tuple[float, float]  # (deg, modulo 360)
    iou: tuple[float, float]
    source_with: str
    speed: float | None
    gt_speed: float
    ms: tuple[float, float]
    err_track: tuple[float, float] = (float("nan"), float("nan"))  # (deg, modulo 360) vs the labelled track's motion


def _errs(box: Box3D | None, gt: Box3D) -> tuple[float, float]:
    if box is None:
        return float("nan"), float("nan")
    d = math.degrees(box.yaw - gt.yaw)
    return abs((d + 90.0) % 180.0 - 90.0), abs((d + 180.0) % 360.0 - 180.0)


def _click_pair(src: str, label: str, state: str, n: int, pts: np.ndarray, ground: object, origin: np.ndarray,
                gt: Box3D, neighbours: list, gt_speed: float, ontology: object, ego_yaw: float | None = None) -> Click:
    t0 = time.perf_counter()
    a = box_from_click(pts, gt.center[:2], ground, ontology, class_hint=label, origin=origin, ego_yaw=ego_yaw)
    t1 = time.perf_counter()
    b = box_from_click(pts, gt.center[:2], ground, ontology, class_hint=label, origin=origin, neighbours=neighbours,
                       ego_yaw=ego_yaw)
    t2 = time.perf_counter()
    ea, eb = _errs(a.box, gt), _errs(b.box, gt)
    ia = bev_iou(a.box, gt) if a.box is not None else 0.0
    ib = bev_iou(b.box, gt) if b.box is not None else 0.0
    sp = b.motion.speed if b.motion is not None else None
    out = Click(src, label, state, n, (ea[0], eb[0]), (ea[1], eb[1]), (ia, ib), b.heading_source, sp, gt_speed,
                ((t1 - t0) * 1e3, (t2 - t1) * 1e3))
    out.boxes = (a.box, b.box)  # type: ignore[attr-defined]
    return out


def synth_clicks(seed: int, frames: int, step: int, azimuths: int = 1800) -> list[Click]:
    from fusionlabel.ontology import Ontology
    from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene

    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=0, azimuths=azimuths))
    onto = Ontology.default()
    T_el = scene.rig.T("ego", LIDAR_NAME)
    world, inst, origins, times, egos = {}, {}, {}, {}, {}
    for k in range(frames):
        fr = scene.frame(k, cameras=False)
        egos[k] = math.atan2(fr.T_world_from_ego[1, 0], fr.T_world_from_ego[0, 0])
        sw = fr.lidar[LIDAR_NAME]
        T = fr.T_world_from_ego @ T_el
        world[k] = transform_points(T, sw.points[:, :3].astype(np.float64))
        inst[k] = sw.instance
        origins[k] = T[:3, 3]
        times[k] = fr.timestamp_ns * 1e-9
    objs = {o.instance: o for o in scene.layout.labelled}
    out = []
    for f in range(2, frames - 2, step):
        ground = fit_ground(world[f], origins[f])
        nb = [(times[f + k] - times[f], world[f + k]) for k in OFFSETS]
        gts = scene.boxes(f)
        for tid, gt in gts.items():
            o = objs[tid]
            if o.label not in ("pedestrian", "cyclist", "car"):
                continue
            n = int((inst[f] == tid).sum())
            if n < MIN_POINTS or math.dist(gt.center[:2], origins[f][:2]) > MAX_RANGE:
                continue
            state = o.attributes.get("state", "moving")
            out.append(_click_pair(f"synth{seed}/{f}", o.label, state, n, world[f], ground, origins[f], gt, nb,
                                   o.speed if o.path is not None else 0.0, onto, egos[f]))
    return out


def sustech_clicks(path: Path = SUSTECH) -> list[Click]:
    from formats.datasets import open_dataset
    from fusionlabel.ontology import Ontology

    if not path.exists():
        return []
    ds = open_dataset(path, estimate_poses=True)
    onto = Ontology.default().for_dataset(ds.info.format)
    n_frames = len(ds.info.frames)
    world, origins, times = {}, {}, {}
    for k in range(n_frames):
        T = ds.T_world_from_sensor(k, ds.lidar_names[0])
        pc = ds.read_lidar(k)
        world[k] = transform_points(T, pc.xyz.astype(np.float64))
        origins[k] = np.asarray(T)[:3, 3]
        times[k] = ds.info.frames[k].timestamp_ns * 1e-9
    poses = [ds.info.T_world_from_ego(k) for k in range(n_frames)]
    egos = {k: math.atan2(T[1, 0], T[0, 0]) for k, T in enumerate(poses)}
    out = []
    from fusionlabel.assist.fit import resolve_class
    from fusionlabel.assist.motion import class_kind

    for k in range(n_frames):
        ground = fit_ground(world[k], origins[k])
        nb = [(times[j] - times[k], world[j]) for j in range(n_frames) if j != k]
        for ref in ds.annotations.boxes_at(k):
            spec = resolve_class(onto, ref.label)
            if class_kind(spec) not in ("walker", "ridden"):
                continue
            gt = ref.box
            n = int(count_points_in_boxes(world[k], [gt])[0])
            if n < 10:
                continue
            # the labelled speed: the track's box centres at the neighbouring frames
            c = [(times[j], ds.annotations.box_at(ref.track_id, j)) for j in range(n_frames)]
            c = [(t, b.box.center[:2]) for t, b in c if b is not None and b.is_keyframe]
            gsp, gdir = 0.0, None
            if len(c) >= 2:
                t = np.array([x[0] for x in c])
                xy = np.array([x[1] for x in c])
                A = np.stack([np.ones_like(t), t], axis=1)
                sol, *_ = np.linalg.lstsq(A, xy, rcond=None)
                gsp = float(np.hypot(*sol[1]))
                gdir = math.atan2(sol[1][1], sol[1][0])
            r = _click_pair(f"sustech/{k}", spec.name if spec else ref.label, f"tid {ref.track_id}", n, world[k],
                            ground, origins[k], gt, nb, gsp, onto, egos[k])
            if gdir is not None and gsp >= 0.5:
                ref_box = gt.replace(yaw=gdir)
                r.err_track = tuple(_errs(b, ref_box)[1] for b in r.boxes)  # type: ignore[assignment,attr-defined]
                r.label_vs_motion = _errs(gt, ref_box)[1]  # type: ignore[attr-defined]
            out.append(r)
    return out


def _summary(rows: list[Click], title: str) -> None:
    if not rows:
        return
    ax = np.array([r.err_axis for r in rows])
    di = np.array([r.err_dir for r in rows])
    io = np.array([r.iou for r in rows])
    mot = np.mean([r.source_with != "shape" for r in rows])
    print(f"{title:26s} {len(rows):4d}  axis {np.nanmedian(ax[:, 0]):5.1f} -> {np.nanmedian(ax[:, 1]):5.1f}"
          f" (mean {np.nanmean(ax[:, 0]):5.1f} -> {np.nanmean(ax[:, 1]):5.1f})  dir {np.nanmedian(di[:, 0]):5.1f} -> "
          f"{np.nanmedian(di[:, 1]):5.1f}  <=15deg {np.mean(ax[:, 0] <= 15):4.0%} -> {np.mean(ax[:, 1] <= 15):4.0%}"
          f"  IoU {io[:, 0].mean():.3f} -> {io[:, 1].mean():.3f}  motion {mot:4.0%}")


def print_synth(rows: list[Click]) -> None:
    print("== synthetic: one-click heading without -> with neighbours f-2..f+2 (class given)")
    print("   axis: heading error modulo 180 deg (median, mean); dir: modulo 360 (median); <=15deg: share of axis")
    print("   errors within 15 deg; IoU: mean BEV IoU; motion: share of clicks headed (or signed) by motion")
    groups: dict[tuple[str, str], list[Click]] = defaultdict(list)
    for r in rows:
        st = "moving" if r.gt_speed > 0 else "still"
        groups[(r.label, st)].append(r)
    for key in sorted(groups):
        _summary(groups[key], f"{key[0]} {key[1]}")
    ms = np.array([r.ms for r in rows])
    print(f"median time per click: {np.median(ms[:, 0]):.1f} ms without, {np.median(ms[:, 1]):.1f} ms with 4 "
          f"neighbours (max {ms[:, 1].max():.0f} ms)")
    moving = [r for r in rows if r.gt_speed > 0 and r.speed is not None]
    if moving:
        err = np.array([abs(r.speed - r.gt_speed) for r in moving])
        print(f"speed error on moving objects followed: median {np.median(err):.2f} m/s")
    still = [r for r in rows if r.gt_speed == 0]
    if still:
        sp = np.array([r.speed for r in still if r.speed is not None])
        fp = np.mean([r.source_with != "shape" for r in still])
        if len(sp):
            print(f"still objects: estimated speed median {np.median(sp):.2f}, 95th pct {np.percentile(sp, 95):.2f} "
                  f"m/s; wrongly headed by motion {fp:.1%}")


def _label_vs_motion(rows: list[Click]) -> float:
    vals = [r.label_vs_motion for r in rows if getattr(r, "label_vs_motion", None) is not None]  # type: ignore[attr-defined]
    return float(np.median(vals)) if vals else float("nan")


def print_real(rows: list[Click]) -> None:
    print("== SUSTechPOINTS example (4 sweeps, estimated ego poses): walkers / riders, class given")
    print(f"{'frame':16s} {'class':10s} {'track':8s} {'pts':>4s} {'v_lab':>5s} {'v_est':>5s} {'src':>12s} "
          f"{'axis':>11s} {'dir':>13s} {'vs motion':>13s} {'IoU':>11s} {'ms':>9s}")
    for r in rows:
        sp = f"{r.speed:5.2f}" if r.speed is not None else "    -"
        print(f"{r.source:16s} {r.label:10s} {r.state:8s} {r.points:4d} {r.gt_speed:5.2f} {sp} {r.source_with:>12s} "
              f"{r.err_axis[0]:5.1f}>{r.err_axis[1]:5.1f} {r.err_dir[0]:6.1f}>{r.err_dir[1]:6.1f} "
              f"{r.err_track[0]:6.1f}>{r.err_track[1]:6.1f} "
              f"{r.iou[0]:.2f}>{r.iou[1]:.2f} {r.ms[0]:4.0f}/{r.ms[1]:4.0f}")
    if rows:
        tr = np.array([r.err_track for r in rows if not math.isnan(r.err_track[0])])
        if len(tr):
            print(f"heading vs the labelled track's direction of motion (>= 0.5 m/s, {len(tr)} clicks): median "
                  f"{np.median(tr[:, 0]):.1f} -> {np.median(tr[:, 1]):.1f} deg, mean {tr[:, 0].mean():.1f} -> "
                  f"{tr[:, 1].mean():.1f} (hand labels' yaw: {_label_vs_motion(rows):.1f} deg off it, median)")
        _summary(rows, "all")
        _summary([r for r in rows if r.gt_speed >= 0.5], "labelled >= 0.5 m/s")
        _summary([r for r in rows if r.gt_speed < 0.5], "labelled < 0.5 m/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--step", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one seed, 12 frames")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--no-synth", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.frames = [0], 12
    if not args.no_synth:
        rows = []
        for s in args.seeds:
            rows += synth_clicks(s, args.frames, args.step)
        print_synth(rows)
    if not args.no_real:
        print_real(sustech_clicks())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
