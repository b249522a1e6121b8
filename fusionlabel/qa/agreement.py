"""Agreement of two annotation sets of one sequence (two labelers, or labeler and reviewer).

``a`` is the reference (ground truth, reviewer), ``b`` the one measured against it. Per frame the
boxes are matched one-to-one by the Hungarian method on IoU (bird's-eye ``"bev"`` or ``"3d"``),
maximising the summed IoU over the pairs with IoU >= ``threshold`` (class-agnostic: a box labelled
differently can match). A matched pair with equal labels is a true positive of that class; with
different labels it counts as a label mismatch, a miss (FN) of a's class and a false positive of
b's class. Unmatched a boxes are misses, unmatched b boxes false positives.

* precision = TP / (TP + FP), recall = TP / (TP + FN) per class and overall (1.0 when the
  denominator is 0: nothing to get wrong);
* mean IoU: over all matched pairs (and per class over its true positives);
* id switches: an a track matched to a different b track than at its previous match (CLEAR-MOT);
* MOTA = 1 - (FN + FP + id switches) / number of a boxes;
* heading error: the absolute yaw difference of a matched pair, wrapped to [0, 180] degrees (IoU
  ignores a box turned by 180 degrees); ``heading_error_deg`` gives its mean and 95th percentile,
  ``heading_flips`` the pairs more than ``FLIP_DEG`` (90) degrees apart (count and share of the
  pairs). Overall over all matched pairs, per class over its true positives, like the mean IoU.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from calib.transforms import wrap_angle
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.geometry import bev_iou_matrix, boxes_to_array, iou_3d_matrix

IOU_MODES = ("bev", "3d")
#: A matched pair whose headings differ by more than this (degrees) is a heading flip.
FLIP_DEG = 90.0


def heading_error_deg(yaw_a: float, yaw_b: float) -> float:
    """Absolute difference of two yaws (rad, about +z) in degrees, wrapped to [0, 180]."""
    return abs(math.degrees(float(wrap_angle(yaw_b - yaw_a))))


def heading_summary(errors_deg: Iterable[float]) -> dict[str, Any]:
    """``{"heading_error_deg": {"mean", "p95"}, "heading_flips": {"count", "share"}}`` of heading
    errors (degrees); mean, p95 and share are None without errors."""
    e = np.asarray(list(errors_deg), dtype=np.float64)
    flips = int(np.count_nonzero(e > FLIP_DEG))
    return {
        "heading_error_deg": {"mean": float(e.mean()) if len(e) else None,
                              "p95": float(np.percentile(e, 95)) if len(e) else None},
        "heading_flips": {"count": flips, "share": flips / len(e) if len(e) else None},
    }


@dataclass(frozen=True)
class Match:
    """A matched pair at ``frame``: a's track, b's track, their IoU and labels, and the absolute
    difference of their headings (degrees, in [0, 180])."""

    frame: int
    track_a: int
    track_b: int
    iou: float
    label_a: str
    label_b: str
    heading_error_deg: float = 0.0

    @property
    def flipped(self) -> bool:
        """The headings differ by more than ``FLIP_DEG`` (the box points the other way)."""
        return self.heading_error_deg > FLIP_DEG


@dataclass
class ClassStats:
    """Counts of one class; ``heading_errors`` (degrees) of its true positives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    iou_sum: float = 0.0
    heading_errors: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def mean_iou(self) -> float | None:
        return self.iou_sum / self.tp if self.tp else None

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall,
                "mean_iou": self.mean_iou, **heading_summary(self.heading_errors)}


@dataclass
class AgreementResult:
    """Figures of :func:`compare` (see the module doc); ``matches`` lists every matched pair."""

    iou_mode: str
    threshold: float
    frames: int
    boxes_a: int
    boxes_b: int
    matches: list[Match]
    per_class: dict[str, ClassStats]
    id_switches: int
    id_switch_events: list[tuple[int, int, int, int]] = field(default_factory=list)  # frame, a track, old b, new b
    per_frame: dict[int, dict[str, int]] = field(default_factory=dict)  # frame -> tp/fp/fn

    @property
    def total(self) -> ClassStats:
        s = ClassStats()
        for c in self.per_class.values():
            s.tp, s.fp, s.fn, s.iou_sum = s.tp + c.tp, s.fp + c.fp, s.fn + c.fn, s.iou_sum + c.iou_sum
        return s

    @property
    def label_mismatches(self) -> int:
        return sum(m.label_a != m.label_b for m in self.matches)

    @property
    def mean_iou(self) -> float | None:
        return float(np.mean([m.iou for m in self.matches])) if self.matches else None

    @property
    def mota(self) -> float:
        t = self.total
        return 1.0 - (t.fn + t.fp + self.id_switches) / self.boxes_a if self.boxes_a else 1.0

    def ious(self) -> list[float]:
        return [m.iou for m in self.matches]

    def heading_errors(self) -> list[float]:
        """Heading error (degrees) of every matched pair."""
        return [m.heading_error_deg for m in self.matches]

    def to_dict(self) -> dict[str, Any]:
        t = self.total
        return {
            "iou_mode": self.iou_mode,
            "threshold": self.threshold,
            "frames": self.frames,
            "boxes_a": self.boxes_a,
            "boxes_b": self.boxes_b,
            "matched": len(self.matches),
            "tp": t.tp, "fp": t.fp, "fn": t.fn,
            "precision": t.precision,
            "recall": t.recall,
            "mean_iou": self.mean_iou,
            "label_mismatches": self.label_mismatches,
            "id_switches": self.id_switches,
            "mota": self.mota,
            **heading_summary(m.heading_error_deg for m in self.matches),
            "per_class": {k: v.to_dict() for k, v in sorted(self.per_class.items())},
            "id_switch_events": [list(e) for e in self.id_switch_events],
        }


def _boxes(doc: AnnotationDocument, frame: int) -> list[tuple[int, str, Any]]:
    return [(r.track_id, r.label, r.box) for r in doc.boxes_at(frame)]


def match_frame(
    boxes_a: list[tuple[int, str, Any]], boxes_b: list[tuple[int, str, Any]], iou: str = "bev", threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """Hungarian matching of two box lists ``(track_id, label, Box3D)``: ``(index in a, index in b,
    IoU)`` for the pairs kept (IoU >= threshold), maximising their summed IoU."""
    if not boxes_a or not boxes_b:
        return []
    fn = bev_iou_matrix if iou == "bev" else iou_3d_matrix
    m = fn(boxes_to_array([b for _, _, b in boxes_a]), boxes_to_array([b for _, _, b in boxes_b]))
    gain = np.where(m >= threshold, m, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return [(int(i), int(j), float(m[i, j])) for i, j in zip(rows, cols, strict=True) if m[i, j] >= threshold]


def compare(
    a: AnnotationDocument,
    b: AnnotationDocument,
    iou: str = "bev",
    threshold: float = 0.5,
    frames: Iterable[int] | None = None,
) -> AgreementResult:
    """Agreement of ``b`` with the reference ``a`` over ``frames`` (default: every frame of the
    sequence); see the module doc. Both must describe one sequence (same frame count when known)."""
    if iou not in IOU_MODES:
        raise ValueError(f"iou must be one of {IOU_MODES}, got {iou!r}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"IoU threshold must be in (0, 1], got {threshold!r}")
    if a.frame_count is not None and b.frame_count is not None and a.frame_count != b.frame_count:
        raise ModelError(f"the two annotation sets cover different sequences ({a.frame_count} vs {b.frame_count} "
                         "frames)")
    if frames is None:
        n = a.frame_count if a.frame_count is not None else b.frame_count
        if n is None:
            ends = [t.span()[1] for d in (a, b) for t in d.tracks.values() if t.span() is not None]
            n = max(ends, default=-1) + 1
        frames = range(n)
    frames = sorted({int(f) for f in frames})
    per_class: dict[str, ClassStats] = defaultdict(ClassStats)
    matches: list[Match] = []
    last_b: dict[int, int] = {}
    switches: list[tuple[int, int, int, int]] = []
    per_frame: dict[int, dict[str, int]] = {}
    na = nb = 0
    for f in frames:
        ba, bb = _boxes(a, f), _boxes(b, f)
        na, nb = na + len(ba), nb + len(bb)
        pairs = match_frame(ba, bb, iou, threshold)
        used_a, used_b = {i for i, _, _ in pairs}, {j for _, j, _ in pairs}
        fr = {"tp": 0, "fp": 0, "fn": 0}
        for i, j, v in pairs:
            (ta, la, box_a), (tb, lb, box_b) = ba[i], bb[j]
            err = heading_error_deg(box_a.yaw, box_b.yaw)
            matches.append(Match(f, ta, tb, v, la, lb, err))
            if la == lb:
                per_class[la].tp += 1
                per_class[la].iou_sum += v
                per_class[la].heading_errors.append(err)
                fr["tp"] += 1
            else:
                per_class[la].fn += 1
                per_class[lb].fp += 1
                fr["fn"] += 1
                fr["fp"] += 1
            if ta in last_b and last_b[ta] != tb:
                switches.append((f, ta, last_b[ta], tb))
            last_b[ta] = tb
        for i, (_, la, _) in enumerate(ba):
            if i not in used_a:
                per_class[la].fn += 1
                fr["fn"] += 1
        for j, (_, lb, _) in enumerate(bb):
            if j not in used_b:
                per_class[lb].fp += 1
                fr["fp"] += 1
        per_frame[f] = fr
    return AgreementResult(iou, float(threshold), len(frames), na, nb, matches, dict(per_class), len(switches),
                           switches, per_frame)
