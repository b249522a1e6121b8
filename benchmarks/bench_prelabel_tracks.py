"""Track-level pre-labels on synthetic sequences: what a labeler gets from the review queue.

For every seed (``fusionlabel.synth``, 30 frames by default; the LiDAR does not depend on the
cameras, so none are rendered) the sequence is pre-labelled and scored against the exact ground
truth, per class group (cars: car / van / police car; pedestrians):

- **boxes**: recall of the ground-truth boxes within 40 m with >= 10 LiDAR points at BEV IoU 0.5
  (one-to-one per frame, Hungarian on BEV IoU against every ground-truth box), and precision of
  the proposal boxes within 40 m of the sensor (right when matched to a ground-truth box of the
  same group), for all proposals and for those at or above the accept threshold (what
  "accept above threshold" takes in one action);
- **tracks**: a proposal is *right* when at least half of its boxes match one ground-truth track
  of its group; a ground-truth track (with an eligible box) is *found* when right proposals cover
  at least half of its eligible boxes;
- **heading flips** of accepted boxes (matched, more than 90 degrees from the truth);
- **pedestrian size error**: mean |length| and |width| error (m) of matched pedestrian boxes;
- **keyframes per accepted track**: keyframes of the track that accepting the proposal makes.

"other" groups every other class: the synthetic cyclists, and trucks and buses proposed on walls
(what accept-above-threshold would take wrongly beside cars and pedestrians).

``--old`` runs the frame-level path (``PrelabelParams(track_level=False)``: per-frame boxes and one
keyframe per observed frame) for comparison.

Run: ``PYTHONPATH=. python benchmarks/bench_prelabel_tracks.py [--seeds 0 1 2 3 4] [--frames 30]
[--threshold T] [--old]`` (default: the review queue's ``ACCEPT_THRESHOLD``).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_assist import synth_inputs  # noqa: E402
from fusionlabel.assist.review import ACCEPT_THRESHOLD  # noqa: E402
from fusionlabel.geometry import bev_iou_matrix  # noqa: E402

#: class groups; "other": every other class (the synthetic cyclists; trucks and buses proposed on walls)
GROUPS = {"car": ("car", "van", "police_car"), "pedestrian": ("pedestrian",), "other": ()}
MAX_RANGE = 40.0
MIN_POINTS = 10
IOU = 0.5


def group_of(label: str) -> str:
    for g, members in GROUPS.items():
        if label in members:
            return g
    return "other"


@dataclass
class ClassScore:
    """Counts of one class group on one or more seeds."""

    gt_boxes: int = 0
    found_boxes: int = 0
    found_boxes_acc: int = 0
    prop_boxes: int = 0
    right_boxes: int = 0
    acc_boxes: int = 0
    right_acc_boxes: int = 0
    proposals: int = 0
    right_proposals: int = 0
    accepted: int = 0
    right_accepted: int = 0
    gt_tracks: int = 0
    found_tracks: int = 0
    found_tracks_acc: int = 0
    matched_acc: int = 0
    flips_acc: int = 0
    size_err: list[tuple[float, float]] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)

    def add(self, o: ClassScore) -> None:
        for k, v in vars(o).items():
            cur = getattr(self, k)
            setattr(self, k, cur + v)


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f} ({a}/{b})" if b else "n/a"


def seed_runs(seed: int, frames: int, modes: list[bool]) -> tuple[tuple, dict[bool, list]]:
    """The truth of a seed and its proposals per mode (track_level True / False): the per-frame
    detections are made once and associated per mode."""
    from fusionlabel.assist.prelabel import PrelabelParams, associate, prelabel

    inputs, gt, labels, pts, sensor = synth_inputs(seed, frames)
    res = prelabel(inputs, params=PrelabelParams(track_level=modes[0]))
    out = {modes[0]: res.proposals}
    order = sorted(res.detections)
    times = {fi.frame: fi.timestamp_ns for fi in inputs}
    for tl in modes[1:]:
        out[tl] = associate([res.detections[f] for f in order], order, [times[f] for f in order],
                            PrelabelParams(track_level=tl))
    return (gt, labels, pts, sensor), out


def score_seed(truth: tuple, props: list, threshold: float, track_level: bool = True) -> dict[str, ClassScore]:
    """Scores of the proposals ``props`` of one seed against its ``truth`` (see the module doc)."""
    from fusionlabel.assist.review import ReviewQueue, SetProposals
    from fusionlabel.commands import UndoStack
    from fusionlabel.document import AnnotationDocument

    gt, labels, pts, sensor = truth
    accepted = {p.proposal_id for p in props if p.confidence >= threshold}
    # keyframes of the accepted tracks: through the review queue's own bulk accept (the
    # frame-level path made one keyframe per observed frame)
    if track_level:
        doc = AnnotationDocument()
        stack = UndoStack(doc)
        stack.push(SetProposals(props, renumber=False))
        queue = ReviewQueue(doc, stack)
        queue.accept_above(threshold)
        queue.close()
        kf_by_label = [(t.label, len(t.keyframes)) for t in doc.tracks.values()]
    else:
        kf_by_label = [(p.label, len(p.boxes)) for p in props if p.proposal_id in accepted]
    out = {g: ClassScore() for g in GROUPS}
    # per frame: one-to-one matching of every proposal box with every GT box
    match: dict[tuple[int, int], tuple[int, float]] = {}  # (proposal id, frame) -> (gt id, iou)
    eligible: dict[int, set[int]] = {}  # gt id -> eligible frames
    for f in sorted(gt):
        o = np.asarray(sensor[f])[:2]
        gids = list(gt[f])
        for i in gids:
            b = gt[f][i]
            g = group_of(labels.get(i, ""))
            if g and math.dist(b.center[:2], o) <= MAX_RANGE and pts.get((f, i), 0) >= MIN_POINTS:
                eligible.setdefault(i, set()).add(f)
        here = [p for p in props if f in p.boxes]
        if not here or not gids:
            continue
        m = bev_iou_matrix([gt[f][i] for i in gids], [p.boxes[f] for p in here])
        rows, cols = linear_sum_assignment(-m)
        for r, c in zip(rows, cols, strict=True):
            if m[r, c] >= IOU:
                match[(here[c].proposal_id, f)] = (gids[r], float(m[r, c]))
            if m[r, c] > 0.1 and labels.get(gids[r]) == "pedestrian" and here[c].label == "pedestrian":
                gb, pb = gt[f][gids[r]], here[c].boxes[f]
                out["pedestrian"].size_err.append((abs(pb.length - gb.length), abs(pb.width - gb.width)))
    # box level
    covered: dict[tuple[int, bool], set[tuple[int, int]]] = {}
    for p in props:
        g = group_of(p.label)
        acc = p.proposal_id in accepted
        for f, b in p.boxes.items():
            hit = match.get((p.proposal_id, f))
            right = hit is not None and group_of(labels.get(hit[0], "")) == g
            if hit is not None and f in eligible.get(hit[0], set()):
                gg = group_of(labels[hit[0]])
                covered.setdefault((hit[0], False), set()).add((f, int(gg == g)))
                if acc:
                    covered.setdefault((hit[0], True), set()).add((f, int(gg == g)))
            if g is None or math.dist(b.center[:2], np.asarray(sensor[f])[:2]) > MAX_RANGE:
                continue
            s = out[g]
            s.prop_boxes += 1
            s.right_boxes += int(right)
            if acc:
                s.acc_boxes += 1
                s.right_acc_boxes += int(right)
                if right:
                    s.matched_acc += 1
                    dyaw = abs(math.remainder(b.yaw - gt[f][hit[0]].yaw, 2 * math.pi))  # type: ignore[index]
                    s.flips_acc += int(dyaw > math.pi / 2)
    for i, fr in eligible.items():
        s = out[group_of(labels[i])]  # type: ignore[index]
        s.gt_boxes += len(fr)
        s.found_boxes += sum(1 for _, ok in covered.get((i, False), set()) if ok)
        s.found_boxes_acc += sum(1 for _, ok in covered.get((i, True), set()) if ok)
    # track level
    right_gt: dict[int, list[tuple[int, bool]]] = {}
    for p in props:
        g = group_of(p.label)
        if g is None:
            continue
        hits = Counter(match[(p.proposal_id, f)][0] for f in p.boxes if (p.proposal_id, f) in match)
        gid, n = hits.most_common(1)[0] if hits else (None, 0)
        right = gid is not None and n >= 0.5 * len(p.boxes) and group_of(labels.get(gid, "")) == g
        s = out[g]
        s.proposals += 1
        s.right_proposals += int(right)
        acc = p.proposal_id in accepted
        s.accepted += int(acc)
        s.right_accepted += int(right and acc)
        if right:
            right_gt.setdefault(gid, []).append((p.proposal_id, acc))  # type: ignore[arg-type]
    for i, fr in eligible.items():
        s = out[group_of(labels[i])]  # type: ignore[index]
        s.gt_tracks += 1
        for acc_only, attr in ((False, "found_tracks"), (True, "found_tracks_acc")):
            pids = {pid for pid, acc in right_gt.get(i, []) if acc or not acc_only}
            got = {f for (pid, f), (gid, _) in match.items() if pid in pids and gid == i and f in fr}
            if len(got) >= 0.5 * len(fr):
                setattr(s, attr, getattr(s, attr) + 1)
    for label, n in kf_by_label:
        g = group_of(label)
        if g:
            out[g].keyframes.append(n)
    return out


def print_scores(name: str, scores: dict[str, ClassScore]) -> None:
    for g, s in scores.items():
        se = np.array(s.size_err) if s.size_err else np.zeros((0, 2))
        size = f"size error l {se[:, 0].mean():.2f} w {se[:, 1].mean():.2f} m (n={len(se)})" if len(se) else ""
        kf = f"keyframes per accepted track {np.mean(s.keyframes):.1f}" if s.keyframes else "no accepted track"
        print(f"  {name:8s} {g:10s} boxes: recall {_ratio(s.found_boxes, s.gt_boxes)}, precision "
              f"{_ratio(s.right_boxes, s.prop_boxes)}; accepted: recall {_ratio(s.found_boxes_acc, s.gt_boxes)}, "
              f"precision {_ratio(s.right_acc_boxes, s.acc_boxes)}")
        print(f"  {'':8s} {'':10s} tracks: {_ratio(s.right_proposals, s.proposals)} proposals right, accepted "
              f"{_ratio(s.right_accepted, s.accepted)} right; GT tracks found {_ratio(s.found_tracks, s.gt_tracks)}, "
              f"by the accepted {_ratio(s.found_tracks_acc, s.gt_tracks)}")
        print(f"  {'':8s} {'':10s} heading flips of accepted boxes {_ratio(s.flips_acc, s.matched_acc)}; {kf}"
              + (f"; {size}" if size else ""))


def run(seeds: list[int], frames: int, threshold: float, modes: dict[str, bool], verbose: bool = True
        ) -> dict[str, dict[str, ClassScore]]:
    """Scores per mode name (summed over ``seeds``); printed per seed when ``verbose``."""
    total = {name: {g: ClassScore() for g in GROUPS} for name in modes}
    for seed in seeds:
        truth, props = seed_runs(seed, frames, list(modes.values()))
        for name, tl in modes.items():
            sc = score_seed(truth, props[tl], threshold, tl)
            if verbose:
                print_scores(f"{name} s{seed}", sc)
            for g in GROUPS:
                total[name][g].add(sc[g])
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--threshold", type=float, default=ACCEPT_THRESHOLD)
    ap.add_argument("--old", action="store_true", help="also the frame-level path (before track-level pre-labels)")
    args = ap.parse_args(argv)
    modes = {"new": True, "old": False} if args.old else {"new": True}
    print(f"== track-level pre-labels, seeds {args.seeds}, {args.frames} frames, accept threshold {args.threshold}")
    print(f"   boxes within {MAX_RANGE:.0f} m; recall of GT boxes with >= {MIN_POINTS} points at BEV IoU {IOU}")
    totals = run(args.seeds, args.frames, args.threshold, modes)
    print("== overall")
    for name, t in totals.items():
        print_scores(name, t)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
