"""Scores of pre-labels against ground truth: recall, precision and identity switches.

Per frame, ground-truth boxes and proposal boxes (world frame) are matched one-to-one by the
Hungarian method on BEV IoU (pairs below ``iou`` never match). Only ground truth of the evaluated
``label`` within ``max_range`` m (BEV) of the sensor and with at least ``min_points`` LiDAR points
counts for recall; a proposal within range counts for precision and is a true positive when it
matches any ground-truth box (of any class, however few points it has), so only proposals on
nothing labelled are false positives. An identity switch is a change of the proposal matched to
one ground-truth track between two of its matched frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from fusionlabel.box import Box3D
from fusionlabel.document import Proposal
from fusionlabel.geometry import bev_iou_matrix


@dataclass
class PrelabelScore:
    """``recall`` (matched / eligible ground-truth boxes), ``precision`` (matched / proposal boxes
    in range), ``precision_label`` (the same for proposals labelled ``label`` or in ``label_group``),
    ``id_switches``, counts, and the matched ground-truth track -> proposal ids per frame."""

    recall: float
    precision: float
    precision_label: float
    id_switches: int
    gt_boxes: int
    matched: int
    proposals: int
    true_positives: int
    gt_tracks: int
    assignments: dict[int, dict[int, int]] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"recall {self.recall:.3f} ({self.matched}/{self.gt_boxes}), precision {self.precision:.3f} "
                f"({self.true_positives}/{self.proposals}), precision of the class {self.precision_label:.3f}, "
                f"id switches {self.id_switches} over {self.gt_tracks} tracks")


def evaluate_prelabels(
    gt: Mapping[int, Mapping[int, Box3D]],
    gt_labels: Mapping[int, str],
    proposals: Sequence[Proposal],
    sensor_xy: Mapping[int, Sequence[float]],
    *,
    label: str = "car",
    label_group: Sequence[str] = ("car", "van", "police_car"),
    max_range: float = 40.0,
    iou: float = 0.5,
    points: Mapping[tuple[int, int], int] | None = None,
    min_points: int = 10,
) -> PrelabelScore:
    """Score ``proposals`` against ``gt`` (frame -> GT track id -> world box) with ``gt_labels``
    (GT track id -> class); ``sensor_xy`` frame -> (2,) sensor BEV position (world); ``points``
    (frame, GT id) -> LiDAR points in the box (None: every box counts)."""
    eligible = matched = n_prop = tp = tp_label = n_label = 0
    assign: dict[int, dict[int, int]] = {}
    for f in sorted(gt):
        o = np.asarray(sensor_xy[f], dtype=np.float64)[:2]
        g_ids = list(gt[f])
        g_boxes = [gt[f][i] for i in g_ids]
        props = [(p.proposal_id, p.label, p.boxes[f]) for p in proposals if f in p.boxes]
        props = [x for x in props if np.hypot(*(np.array(x[2].center[:2]) - o)) <= max_range]
        ok_gt = [
            gt_labels.get(i) == label
            and np.hypot(*(np.array(b.center[:2]) - o)) <= max_range
            and (points is None or points.get((f, i), 0) >= min_points)
            for i, b in zip(g_ids, g_boxes, strict=True)
        ]
        eligible += sum(ok_gt)
        n_prop += len(props)
        in_group = [x[1] in label_group for x in props]
        n_label += sum(in_group)
        if not props or not g_boxes:
            continue
        m = bev_iou_matrix(g_boxes, [x[2] for x in props])
        rows, cols = linear_sum_assignment(-m)
        for r, c in zip(rows, cols, strict=True):
            if m[r, c] < iou:
                continue
            tp += 1
            tp_label += int(in_group[c])
            if ok_gt[r]:
                matched += 1
                assign.setdefault(g_ids[r], {})[f] = props[c][0]
    switches = 0
    for seq in assign.values():
        ids = [seq[f] for f in sorted(seq)]
        switches += sum(1 for a, b in zip(ids, ids[1:], strict=False) if a != b)
    return PrelabelScore(
        matched / eligible if eligible else float("nan"),
        tp / n_prop if n_prop else float("nan"),
        tp_label / n_label if n_label else float("nan"),
        switches, eligible, matched, n_prop, tp, len(assign), assign,
    )
