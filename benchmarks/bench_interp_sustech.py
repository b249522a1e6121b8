"""Interpolation on the real SUSTechPOINTS sequence: each track labelled at sweeps 965 and 975 is
interpolated (keyframes at those two sweeps only) and compared with its own label at 970.

The sequence has no ego poses, so its world frame is the LiDAR frame of each sweep. Prints the
BEV IoU per track for the linear and smooth methods (in time, using the sweep timestamps taken
from the per-point times). Needs ../shared/data/real; says so and exits 0 when it is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from formats.datasets import open_dataset
from fusionlabel.geometry import bev_iou
from fusionlabel.model import Track

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "real" / "sustechpoints_example" / "data" / "example"


def sustech_interpolation_ious(root: Path = DATA, estimate_poses: bool = True) -> list[dict[str, object]]:
    """Per track present at 965, 970 and 975: its class and BEV IoU at 970 for each method, in
    the world frame of poses estimated from the sweeps (or, without, in each sweep's LiDAR frame)."""
    ls = open_dataset(root, format="sustech", estimate_poses=estimate_poses)
    ids = ls.info.meta["frame_ids"]
    k965, k970, k975 = (ids.index(s) for s in ("000965", "000970", "000975"))
    times = ls.info.frame_times_ns()
    rows = []
    for tid, tr in sorted(ls.annotations.tracks.items()):
        if not all(k in tr.keyframes for k in (k965, k970, k975)):
            continue
        row: dict[str, object] = {"track": tid, "label": tr.label}
        for method in ("linear", "smooth"):
            probe = Track(tid, tr.label, {}, {k965: tr.keyframes[k965], k975: tr.keyframes[k975]}, method)
            pred = probe.box_at(k970, times_ns=times)
            row[method] = bev_iou(pred, tr.keyframes[k970])
        row["moved_m"] = float(np.hypot(*np.subtract(tr.keyframes[k975].center, tr.keyframes[k965].center)[:2]))
        rows.append(row)
    return rows


def main() -> int:
    if not DATA.exists():
        print(f"skipped: {DATA} is absent")
        return 0
    sensor = {r["track"]: r for r in sustech_interpolation_ious(estimate_poses=False)}
    rows = sustech_interpolation_ious(estimate_poses=True)
    print("SUSTechPOINTS: keyframes at 965 and 975, predicted 970 vs its label (BEV IoU)")
    print("  sensor = in each sweep's LiDAR frame (no poses); world = with poses from LiDAR registration")
    print(f"{'track':>6} {'class':<11} {'moved m':>8} {'sensor lin':>10} {'world lin':>9} {'world smooth':>12}")
    for r in rows:
        s = sensor[r["track"]]
        print(f"{r['track']:>6} {r['label']:<11} {r['moved_m']:8.2f} {s['linear']:10.3f} {r['linear']:9.3f} "
              f"{r['smooth']:12.3f}")
    for name, rs, m in (("sensor linear", sensor.values(), "linear"), ("world linear", rows, "linear"),
                        ("world smooth", rows, "smooth")):
        v = np.array([r[m] for r in rs])
        print(f"{name:>13}: {len(v)} tracks, mean {v.mean():.3f}, median {np.median(v):.3f}, worst {v.min():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
