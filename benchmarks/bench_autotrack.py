"""Auto-track accuracy on synthetic sequences: every ground-truth track keeps only its FIRST keyframe,
the rest of the sequence is tracked on the LiDAR points, and compared with the ground truth.

Per seed (``synth --frames 30 --seed S --cameras 6``, generated once into ``--data``), two
methods run on the same inputs:

- ``autotrack``: :func:`fusionlabel.autotrack.auto_track_all` (motion model fitted over time, BEV
  scan match around the prediction, gating, two passes);
- ``alt-c chain``: the window's "copy to next frame" chained frame by frame from the keyframe, as
  repeated ``Alt+C`` does: :func:`fusionlabel.propagation.predict_box_at` from the boxes placed so
  far, then :func:`fusionlabel.propagation.refine_box` on the frame's points (a refused fit keeps
  the prediction).

Figures per class group (moving cars, moving pedestrians, moving cyclists, static: parked cars and
standing pedestrians, and all pedestrians): the mean BEV IoU over all frames but the given keyframe
(a frame without a box counts 0), and heading flips (boxes more than 90 degrees off the truth) as
a share of the boxes that overlap their truth.

Run: ``PYTHONPATH=. python benchmarks/bench_autotrack.py [--seeds 0 1 2 3 4] [--data DIR]
[--no-reference] [--frames 30]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.geometry import bev_iou

GROUPS = ("moving car", "moving pedestrian", "moving cyclist", "static", "pedestrian (all)")


def sequence(data: Path, seed: int, frames: int, cameras: int = 6) -> Path:
    """The synthetic sequence of ``seed`` under ``data`` (generated when missing)."""
    from fusionlabel.cli import generate

    out = data / f"synth_f{frames}_c{cameras}_s{seed}"
    if not (out / "fusionlabel.json").exists():
        generate(out, frames, seed, cameras)
    return out


def groups_of(label: str, state: str | None) -> list[str]:
    """The class groups a ground-truth track counts in."""
    out = []
    if state in ("parked", "standing"):
        out.append("static")
    elif label in ("car", "pedestrian", "cyclist"):
        out.append(f"moving {label}")
    if label == "pedestrian":
        out.append("pedestrian (all)")
    return out


def alt_c_chain(track_id: int, label: str, k0: int, box0: Box3D, frames: Sequence[int],
                points_at: Callable[[int], np.ndarray | None], times_ns: Sequence[int]) -> dict[int, Box3D]:
    """Repeated "copy to next frame" (and to the previous frame before the keyframe): each new box
    predicted from the boxes placed so far and refined on the frame's points."""
    from fusionlabel.model import Track
    from fusionlabel.propagation import predict_box_at, refine_box

    out: dict[int, Box3D] = {}
    for direction in (1, -1):
        placed = {k0: box0}
        prev = k0
        for f in (range(k0 + 1, frames[-1] + 1) if direction > 0 else range(k0 - 1, frames[0] - 1, -1)):
            pred = predict_box_at(Track(track_id, label, keyframes=dict(placed)), prev, f, times_ns)
            pts = points_at(f)
            box = pred
            if pts is not None and len(pts):
                c = pred.center
                near = pts[(np.abs(pts[:, 0] - c[0]) <= 8.0) & (np.abs(pts[:, 1] - c[1]) <= 8.0)]
                res = refine_box(pred, near)
                box = res.box
            placed[f] = box
            out[f] = box
            prev = f
    return out


def evaluate(truth: dict[int, dict[int, Box3D]], k0: dict[int, int], got: dict[int, dict[int, Box3D]],
             groups: dict[int, list[str]]) -> dict[str, dict[str, float]]:
    """Per group: mean IoU over the frames but the keyframe, flips, matched boxes, tracks."""
    acc: dict[str, dict[str, float]] = {g: {"iou": 0.0, "n": 0, "flips": 0, "matched": 0, "tracks": 0} for g in GROUPS}
    for tid, boxes in truth.items():
        for g in groups[tid]:
            acc[g]["tracks"] += 1
        for f, gt in boxes.items():
            if f == k0[tid]:
                continue
            b = got.get(tid, {}).get(f)
            iou = bev_iou(b, gt) if b is not None else 0.0
            flip = b is not None and abs(math.remainder(b.yaw - gt.yaw, 2 * math.pi)) > math.pi / 2
            for g in groups[tid]:
                acc[g]["iou"] += iou
                acc[g]["n"] += 1
                acc[g]["matched"] += int(iou > 0)
                acc[g]["flips"] += int(flip and iou > 0)
    return acc


def run_seed(path: Path, reference: bool, methods: Sequence[str] = ("scan",)) -> dict[str, dict[str, dict[str, float]]]:
    """Both methods on one sequence: method -> group -> sums (see :func:`evaluate`), and timings."""
    from formats.datasets import open_dataset
    from fusionlabel.autotrack import AutoTrackParams, SweepPoints, TrackSeed, auto_track_all

    loaded = open_dataset(path)
    doc = loaded.annotations
    times = loaded.info.frame_times_ns()
    frames = list(range(len(loaded.info.frames)))
    points = SweepPoints(loaded, cache=len(frames))
    t0 = time.perf_counter()
    for f in frames:
        points(f)
    t_points = time.perf_counter() - t0
    truth, k0, groups, seeds = {}, {}, {}, []
    for tid, tr in sorted(doc.tracks.items()):
        truth[tid] = {f: tr.box_at(f, times) for f in frames if tr.box_at(f, times) is not None}
        k0[tid] = min(tr.keyframes)
        groups[tid] = groups_of(tr.label, tr.attributes.get("state"))
        seeds.append(TrackSeed(tid, tr.label, {k0[tid]: tr.keyframes[k0[tid]]}))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in methods:
        name = "autotrack" if method == "scan" else f"at/{method}"
        t0 = time.perf_counter()
        res = auto_track_all(seeds, points, frames, times, AutoTrackParams(method=method))
        got = {tid: {**r.boxes, k0[tid]: truth[tid][k0[tid]]} for tid, r in res.items()}
        out[name] = evaluate(truth, k0, got, groups)
        out[name]["_time"] = {"s": time.perf_counter() - t0, "points_s": t_points}
    if reference:
        t0 = time.perf_counter()
        ref = {s.track_id: alt_c_chain(s.track_id, s.label, k0[s.track_id], s.keyframes[k0[s.track_id]], frames,
                                       points, times) for s in seeds}
        out["alt-c chain"] = evaluate(truth, k0, ref, groups)
        out["alt-c chain"]["_time"] = {"s": time.perf_counter() - t0, "points_s": 0.0}
    return out


def merge(total: dict[str, dict[str, dict[str, float]]], part: dict[str, dict[str, dict[str, float]]]) -> None:
    for method, groups in part.items():
        for g, vals in groups.items():
            dst = total.setdefault(method, {}).setdefault(g, {})
            for k, v in vals.items():
                dst[k] = dst.get(k, 0.0) + v


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [f"{'method':12s} {'group':18s} {'tracks':>6s} {'boxes':>6s} {'mean IoU':>8s} {'flips':>6s} {'flip %':>6s}"]
    for method, groups in results.items():
        for g in GROUPS:
            a = groups.get(g)
            if not a or not a["n"]:
                continue
            share = 100.0 * a["flips"] / a["matched"] if a["matched"] else 0.0
            lines.append(f"{method:12s} {g:18s} {int(a['tracks']):6d} {int(a['n']):6d} {a['iou'] / a['n']:8.3f} "
                         f"{int(a['flips']):6d} {share:6.2f}")
        t = groups.get("_time", {})
        lines.append(f"{method:12s} time {t.get('s', 0.0):.1f} s (points and ground: {t.get('points_s', 0.0):.1f} s)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--data", type=Path, default=Path("/tmp/fusionlabel-bench-autotrack"))
    ap.add_argument("--no-reference", action="store_true", help="skip the Alt+C chain reference")
    ap.add_argument("--methods", nargs="+", default=["scan"], choices=["scan", "icp"],
                    help="registration of auto-track: BEV scan match (default) and/or open3d ICP")
    args = ap.parse_args(argv)
    total: dict[str, dict[str, dict[str, float]]] = {}
    for seed in args.seeds:
        part = run_seed(sequence(args.data, seed, args.frames), not args.no_reference, args.methods)
        print(f"seed {seed}\n{table(part)}", flush=True)
        merge(total, part)
    print(f"\nall seeds {args.seeds} ({args.frames} frames, first keyframe only)\n{table(total)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
