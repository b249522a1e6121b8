"""Map export benchmark: Chamfer-distance AP (MapTR's way, thresholds 0.5 / 1.0 / 1.5 m) of the
MapTR export of the synthetic ground truth against the generator's own map.

For each seed, a synthetic sequence's map is exported with ``formats.maps.maptr`` (written to a
file and read back) and compared, per frame, with ground-truth instances built without the
export's clipping and resampling code: each of the generator's map elements sampled every 5 cm,
put in the ego frame, the samples inside the 30 m x 60 m window kept, one instance per contiguous
run (a polygon's ring likewise). Prints AP per class and threshold, mAP, the mean
Chamfer distance of the matches and the export time. Expected: AP = 1.0 everywhere.

Usage: python benchmarks/bench_map.py [--seeds 0 1 2 3 4] [--frames 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats.maps.maptr import MAPTR_CLASSES, read_maptr, write_maptr  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=30)
    args = ap.parse_args()
    worst = run(args.seeds, args.frames)
    print(f"lowest mAP over the seeds: {worst:.3f}")


if __name__ == "__main__":
    main()
