"""Chamfer-distance average precision of vector map instances, computed the way MapTR's
evaluation does (``mean_ap.py`` / ``tpfp_chamfer.py`` of MapTR).

Per class and threshold: every instance (prediction and ground truth) is resampled to
``num_sample`` points by arc length; predictions of all samples are sorted by score (highest
first); each takes the ground truth of its sample with the smallest Chamfer distance (the mean of
the two directed mean nearest-point distances): a true positive when that distance is below the
threshold and that ground truth is not taken yet, else a false positive; AP is the area under the precision-recall
curve with precision made monotone ("area" mode). Points are (N, 2) or (N, 3), metres, in any
one frame per sample (MapTR: the ego frame, 2D).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.map.geometry import chamfer_distance, resample

F64 = NDArray[np.float64]
THRESHOLDS = (0.5, 1.0, 1.5)


@dataclass(frozen=True)
class Instance:
    """One vector instance of a sample: class, points (N, D), score (1 for ground truth)."""

    sample: Hashable
    cls: str
    pts: F64
    score: float = 1.0


def _area_ap(recall: F64, precision: F64) -> float:
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def _dense(pts: ArrayLike, num_sample: int) -> F64:
    return resample(np.asarray(pts, dtype=np.float64), num=num_sample)


def chamfer_ap(preds: Iterable[Instance], gts: Iterable[Instance], classes: Sequence[str],
               thresholds: Sequence[float] = THRESHOLDS, num_sample: int = 100) -> dict[str, dict[float, float]]:
    """AP per class and threshold (see the module doc); a class without ground truth gets NaN."""
    preds, gts = list(preds), list(gts)
    out: dict[str, dict[float, float]] = {}
    for cls in classes:
        p = sorted((x for x in preds if x.cls == cls), key=lambda x: -x.score)
        g = [x for x in gts if x.cls == cls]
        gt_by_sample: dict[Hashable, list[F64]] = {}
        for x in g:
            gt_by_sample.setdefault(x.sample, []).append(_dense(x.pts, num_sample))
        dists = []  # per prediction: Chamfer distances to its sample's ground truths
        for x in p:
            q = _dense(x.pts, num_sample)
            dists.append(np.array([chamfer_distance(q, y) for y in gt_by_sample.get(x.sample, [])]))
        out[cls] = {}
        for thr in thresholds:
            used = {s: np.zeros(len(v), dtype=bool) for s, v in gt_by_sample.items()}
            tp = np.zeros(len(p))
            for i, (x, d) in enumerate(zip(p, dists, strict=True)):
                if d.size == 0:
                    continue
                j = int(np.argmin(d))  # the nearest ground truth; taken already: a false positive
                if d[j] < thr and not used[x.sample][j]:
                    used[x.sample][j] = True
                    tp[i] = 1.0
            if not g:
                out[cls][thr] = float("nan")
                continue
            ctp = np.cumsum(tp)
            recall = ctp / len(g)
            precision = ctp / np.maximum(np.arange(1, len(p) + 1), 1)
            out[cls][thr] = _area_ap(recall, precision) if len(p) else 0.0
    return out


def mean_ap(ap: dict[str, dict[float, float]]) -> float:
    """The mean over classes and thresholds (NaN entries left out)."""
    vals = [v for per in ap.values() for v in per.values() if not np.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")
