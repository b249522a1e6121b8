"""Map export benchmark: Chamfer-distance AP (MapTR's way, thresholds 0.5 / 1.0 / 1.5 m) of the
MapTR export of the synthetic ground truth against the generator's own map.

For each seed, a synthetic sequence's map is exported with ``formats.maps.maptr`` (written to a
file and read back) and compared, per frame, with ground-truth instances built without the
export's clipping and resampling code: each of the generator's map elements sampled every 5 cm,
put in the ego frame, the samples inside the 30 m x 60 m window kept, one instance per contiguous
run (a polygon's ring likewise). Prints AP per class and threshold, mAP, the mean
Chamfer distance of the matches and the export time. Expected: AP = 1.0 everywhere.

Second part, the lane-paint assist (``fusionlabel.map.extract``): ground returns of every second
sweep accumulated in the world frame (points of the labelled objects left out), lane-divider
proposals extracted with their confidence, exported per frame like the ground truth, and scored
against the ground-truth dividers (Chamfer AP, the proposals' confidence as the score). With
``--real``, the assist (lane paint, and kerbs from height steps: ``fusionlabel.map.curbs``) also
runs on the real samples under ../shared/data/real (no map ground truth there: paint and step
cells, proposal counts, lengths, confidences and timings are printed).

Usage: python benchmarks/bench_map.py [--seeds 0 1 2 3 4] [--frames 30] [--no-assist] [--real]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats.maps.maptr import (  # noqa: E402
    MAPTR_CLASSES,
    frame_vectors,  # noqa: E402
    read_maptr,
    write_maptr,
)
from fusionlabel.map.assist import sequence_sweeps  # noqa: E402
from fusionlabel.map.curbs import curb_cells, extract_curbs  # noqa: E402
from fusionlabel.map.extract import PaintParams, accumulate_ground, extract_lane_lines, paint_cells  # noqa: E402
from fusionlabel.map.geometry import chamfer_distance, resample, transform_points  # noqa: E402
from fusionlabel.map.metrics import Instance, chamfer_ap, mean_ap  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402

TO_MAPTR = {"lane_divider": "divider", "ped_crossing": "ped_crossing", "road_boundary": "boundary"}


def reference_instances(scene: SynthScene, frame: int, width: float, length: float) -> list[tuple[str, np.ndarray]]:
    """Ground truth of one frame from dense samples of each generator element (5 cm) inside the
    window (ego frame): one instance per run of samples inside."""
    T_ego_from_world = np.linalg.inv(scene.ego_pose(frame))
    out = []
    for el in scene.map_elements():
        cls = TO_MAPTR.get(el.label)
        if cls is None:
            continue
        dense = resample(el.vertices, spacing=0.05, closed=el.closed)
        if el.closed:
            dense = np.concatenate([dense, dense[:1]])
        ego = transform_points(T_ego_from_world, dense)
        inside = (np.abs(ego[:, 0]) <= length / 2) & (np.abs(ego[:, 1]) <= width / 2)
        if el.closed and inside.any() and not inside.all():
            k = int(np.argmin(inside))  # start the ring at an outside sample: runs do not wrap
            ego, inside = np.roll(ego[:-1], -k, axis=0), np.roll(inside[:-1], -k)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if b - a >= 2:
                out.append((cls, ego[a:b]))
    return out


def run(seeds: list[int], frames: int, width: float = 30.0, length: float = 60.0) -> float:
    worst = 1.0
    for seed in seeds:
        scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=0))
        els = scene.map_elements()
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            poses = [(i, scene.timestamp_ns(i), scene.ego_pose(i)) for i in range(frames)]
            write_maptr(Path(tmp) / "m.json", scene.name, poses, els, (width, length), 20)
            dt = time.perf_counter() - t0
            _, samples = read_maptr(Path(tmp) / "m.json")
        preds = [Instance(s.frame, v.cls_name, v.pts[:, :2], 1.0) for s in samples for v in s.vectors]
        gts = [Instance(i, c, p[:, :2]) for i in range(frames) for c, p in reference_instances(scene, i, width, length)]
        ap = chamfer_ap(preds, gts, MAPTR_CLASSES)
        cds = []
        for x in preds:
            cands = [g for g in gts if g.sample == x.sample and g.cls == x.cls]
            if cands:
                cds.append(min(chamfer_distance(resample(x.pts, num=100), resample(g.pts, num=100)) for g in cands))
        counts = {c: (sum(x.cls == c for x in preds), sum(x.cls == c for x in gts)) for c in MAPTR_CLASSES}
        m = mean_ap(ap)
        worst = min(worst, m)
        print(f"seed {seed}: {frames} frames, export {dt * 1000:.0f} ms; instances (export / reference): "
              + ", ".join(f"{c} {a}/{b}" for c, (a, b) in counts.items()))
        for c in MAPTR_CLASSES:
            print(f"  {c:13s} " + "  ".join(f"AP@{t:g}m {ap[c][t]:.3f}" for t in ap[c]))
        print(f"  mAP {m:.3f}; Chamfer distance of the matches: mean {np.mean(cds) * 100:.2f} cm, "
              f"max {np.max(cds) * 100:.2f} cm")
    return worst


def assist_ap(seed: int, frames: int, stride: int = 2) -> dict[float, float]:
    """AP of the lane-paint proposals of one synthetic sequence against its divider ground truth."""
    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=0))
    t0 = time.perf_counter()

    def sweeps():  # type: ignore[no-untyped-def]
        for i in range(0, frames, stride):
            fr = scene.frame(i, cameras=False)
            T = fr.T_world_from_ego @ scene.rig.T("ego", "lidar_top")
            yield fr.lidar["lidar_top"].points, T, list(fr.boxes.values())

    pts = accumulate_ground(sweeps())
    t1 = time.perf_counter()
    props = extract_lane_lines(pts)
    t2 = time.perf_counter()
    gt = [e for e in scene.map_elements() if e.label == "lane_divider"]
    preds, gts = [], []
    for i in range(frames):
        T = scene.ego_pose(i)
        for p in props:
            preds += [Instance(i, v.cls_name, v.pts[:, :2], p.confidence) for v in frame_vectors([p.element], T)]
        gts += [Instance(i, v.cls_name, v.pts[:, :2]) for v in frame_vectors(gt, T)]
    ap = chamfer_ap(preds, gts, ["divider"])["divider"]
    print(f"seed {seed}: {len(range(0, frames, stride))} sweeps, {len(pts)} ground points (render + ground "
          f"{t1 - t0:.1f} s), {len(props)} proposals in {t2 - t1:.1f} s (ground truth: {len(gt)} dividers); "
          + "  ".join(f"AP@{t:g}m {v:.3f}" for t, v in ap.items()))
    return ap


def _real_root() -> Path:
    """../shared/data/real beside the checkout (in a git worktree: beside its main checkout)."""
    root = Path(__file__).resolve().parents[1]
    git = root / ".git"
    if git.is_file() and not (root.parent / "shared").exists():  # a worktree: gitdir <main>/.git/worktrees/x
        root = Path(git.read_text().split("gitdir:", 1)[1].strip()).parents[1].parent
    return root.parent / "shared" / "data" / "real"


def real_figures() -> None:
    """The assist on the real samples (no map ground truth: counts and timings)."""
    from formats.datasets import open_dataset

    root = _real_root()
    for name, rel in (("nuScenes", "nuscenes_kf"), ("SUSTechPOINTS", "sustechpoints_example/data/example")):
        path = root / rel
        if not path.exists():
            print(f"{name}: sample not present at {path}")
            continue
        try:
            loaded = open_dataset(path)
        except Exception as e:  # noqa: BLE001  (report and go on)
            print(f"{name}: cannot open ({e})")
            continue
        info = loaded.info
        t0 = time.perf_counter()
        frames = range(len(info.frames))
        pts = accumulate_ground(sequence_sweeps(loaded, frames))
        t1 = time.perf_counter()
        props = extract_lane_lines(pts)
        t2 = time.perf_counter()
        cells, _ = paint_cells(pts)
        short = extract_lane_lines(pts, PaintParams(min_length_m=4.0))
        print(f"{name}: {len(info.frames)} frames, {len(pts)} ground points ({t1 - t0:.1f} s); {len(cells)} paint "
              f"cells of 0.1 m; {len(props)} lane-line proposals in {t2 - t1:.1f} s" + _lengths(props)
              + f"; with lines from 4 m: {len(short)}" + _lengths(short))
        origins: list[np.ndarray] = []
        near = accumulate_ground(sequence_sweeps(loaded, frames, origins), tolerance=0.35)  # a raised sidewalk kept
        t3 = time.perf_counter()
        curbs = extract_curbs(near, origins=origins)
        kerb_cells, _ = curb_cells(near)
        print(f"{name}: kerbs: {len(near)} points near the ground, {len(kerb_cells)} step cells of 0.2 m; "
              f"{len(curbs)} road-boundary proposals in {time.perf_counter() - t3:.1f} s" + _lengths(curbs))


def _lengths(props: list[Any]) -> str:
    if not props:
        return ""
    lengths = [p.details["length_m"] for p in props]
    return (f" (lengths {min(lengths):.1f}-{max(lengths):.1f} m, confidence "
            f"{min(p.confidence for p in props):.2f}-{max(p.confidence for p in props):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--no-assist", action="store_true", help="only the export's AP")
    ap.add_argument("--real", action="store_true", help="also run the assist on the real samples")
    args = ap.parse_args()
    worst = run(args.seeds, args.frames)
    print(f"lowest mAP over the seeds: {worst:.3f}")
    if not args.no_assist:
        print("lane-paint assist (lane-divider proposals vs the ground-truth dividers):")
        aps = [assist_ap(s, args.frames) for s in args.seeds]
        print(f"AP@1m over the seeds: mean {np.mean([a[1.0] for a in aps]):.3f}, "
              f"lowest {min(a[1.0] for a in aps):.3f}")
    if args.real:
        real_figures()


if __name__ == "__main__":
    main()
