"""`fusionlabel track` against the ground truth, through the command line (issue 13's check).

Per seed: the synthetic sequence (``synth --frames F --seed S --cameras 6``; small images, the
LiDAR and the truth do not depend on them) is saved as a project whose tracks keep only their
first keyframe; ``fusionlabel track PROJECT --out TRACKED --json`` follows every track; then
``fusionlabel agree TRUTH TRACKED --json --threshold 0.1`` judges it, on the whole set and on the
tracks of each group (moving cars, pedestrians, cyclists: both sets cut to those tracks and saved
as projects). Mean BEV IoU over all ground-truth boxes = agree's ``mean_iou x tp / (tp + fn)``
(a missed box counts 0); heading flips = agree's ``heading_flips`` (matched pairs more than 90
degrees apart) over the matched boxes.

Run: ``PYTHONPATH=. python benchmarks/bench_track_cli.py [--seeds 0 1 2 3 4] [--frames 30]
[--work DIR]`` (the sequences are generated once under ``--work``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GROUPS = ("moving car", "pedestrian", "cyclist")


def cli(*args: str) -> str:
    """Run ``python -m fusionlabel ARGS`` and return its stdout (raises on a non-zero exit)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "fusionlabel", *args], capture_output=True, text=True, env=env,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"fusionlabel {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def group_of(label: str, state: str | None) -> str | None:
    if label == "car":
        return "moving car" if state == "moving" else None
    return label if label in ("pedestrian", "cyclist") else None


def over_all(c: dict) -> float:
    """Mean BEV IoU over all reference boxes (a missed one counts 0)."""
    n = c["tp"] + c["fn"]
    return c["mean_iou"] * c["tp"] / n if n else float("nan")


def run_seed(seed: int, frames: int, work: Path) -> dict:
    from formats.datasets import open_dataset
    from formats.project import SequenceRef, load_project, save_project
    from fusionlabel.cli import generate

    seq = work / f"s{seed}"
    if not (seq / "fusionlabel.json").exists():
        generate(seq, frames, seed, 6, size=(64, 36))
    loaded = open_dataset(seq)
    ref = SequenceRef(seq, loaded.info.format, loaded.info.name, {})
    truth = loaded.annotations
    first = open_dataset(seq).annotations
    for tid in list(first.tracks):
        tr = first.tracks[tid]
        k0 = min(tr.keyframes)
        first.tracks[tid] = tr.copy(keyframes={k0: tr.keyframes[k0]})
    proj, out = work / f"s{seed}_first.flproj", work / f"s{seed}_tracked.flproj"
    save_project(proj, first, ref)
    t0 = time.perf_counter()
    report = json.loads(cli("track", str(proj), "--out", str(out), "--json"))
    secs = time.perf_counter() - t0
    rows = {"all": json.loads(cli("agree", str(seq), str(out), "--json", "--threshold", "0.1"))}
    groups = {t: group_of(tr.label, tr.attributes.get("state")) for t, tr in truth.tracks.items()}
    for g in GROUPS:
        keep = {t for t, gg in groups.items() if gg == g}
        if not keep:
            continue
        a, b = open_dataset(seq).annotations, load_project(out).document
        for doc in (a, b):
            for t in list(doc.tracks):
                if t not in keep:
                    del doc.tracks[t]
        pa, pb = work / f"s{seed}_{g.replace(' ', '_')}_truth.flproj", work / f"s{seed}_{g.replace(' ', '_')}.flproj"
        save_project(pa, a, ref)
        save_project(pb, b, ref)
        rows[g] = json.loads(cli("agree", str(pa), str(pb), "--json", "--threshold", "0.1"))
    return {"seed": seed, "seconds": secs, "tracked_boxes": report.get("tracked_boxes"), "agree": rows}


def summary(runs: list[dict]) -> None:
    """Per group, pooled over the seeds: reference boxes, mean BEV IoU over them, heading flips
    over the matched boxes (and the IoU per seed)."""
    print(f"{'group':12s} {'boxes':>6s} {'IoU (all boxes)':>15s} {'flips':>12s}")
    for g in ("all", *GROUPS):
        rows = [r["agree"][g] for r in runs if g in r["agree"]]
        if not rows:
            continue
        n = sum(a["tp"] + a["fn"] for a in rows)
        iou = sum(a["mean_iou"] * a["tp"] for a in rows if a["tp"])
        flips, matched = sum(a["heading_flips"]["count"] for a in rows), sum(a["matched"] for a in rows)
        per_seed = " ".join(f"{over_all(a):.3f}" for a in rows)
        print(f"{g:12s} {n:6d} {iou / max(n, 1):15.3f} {flips:5d}/{matched:<6d} per seed {per_seed}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--work", type=Path, default=Path("/tmp/fusionlabel-bench-track-cli"))
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    runs = []
    for s in args.seeds:
        runs.append(run_seed(s, args.frames, args.work))
        print(f"  seed {s}: tracked in {runs[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    summary(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
