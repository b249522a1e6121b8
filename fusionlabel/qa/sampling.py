"""Choose frames to review: a share of the sequence, riskiest first.

The risk of a frame adds up (weights in :class:`SamplingWeights`): its findings by severity, the
boxes whose ``confidence`` attribute (a number in [0, 1], e.g. from an assisted-labeling proposal)
is below a threshold, the tracked boxes (auto-tracking) whose tracking confidence is below that
threshold, and the interpolated or held boxes farther than ``far_frames`` from their track's
nearest keyframe or tracked box. :func:`sample_frames` takes ``ceil(rate * frames)`` frames: the riskiest first
(ties: lower frame), then, when fewer frames carry a risk, a seeded uniform draw of the rest so
that clean-looking frames are spot-checked too. Frames with an error finding are always taken when
``always_errors`` (even beyond the budget).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from fusionlabel.document import AnnotationDocument
from fusionlabel.qa.checks import Finding


@dataclass(frozen=True)
class SamplingWeights:
    """Risk weights: per finding of each severity, per low-confidence box, per far interpolated box."""

    error: float = 10.0
    warning: float = 3.0
    info: float = 0.5
    low_confidence: float = 2.0
    confidence_threshold: float = 0.5
    far_interpolated: float = 1.0
    far_frames: int = 5


@dataclass(frozen=True)
class SampledFrame:
    """A frame chosen for review, its risk score and the reasons (readable strings)."""

    frame: int
    risk: float
    reasons: tuple[str, ...] = field(default_factory=tuple)
    random: bool = False  # chosen by the uniform draw rather than by risk

    def to_dict(self) -> dict[str, object]:
        return {"frame": self.frame, "risk": round(self.risk, 3), "reasons": list(self.reasons), "random": self.random}


def frame_risks(
    doc: AnnotationDocument, findings: Iterable[Finding] = (), weights: SamplingWeights | None = None
) -> dict[int, tuple[float, list[str]]]:
    """frame -> (risk, reasons) for every frame with a risk > 0."""
    w = weights or SamplingWeights()
    risk: dict[int, float] = {}
    reasons: dict[int, list[str]] = {}

    def add(frame: int, value: float, why: str) -> None:
        risk[frame] = risk.get(frame, 0.0) + value
        reasons.setdefault(frame, []).append(why)

    for f in findings:
        if f.frame is not None:
            add(f.frame, getattr(w, f.severity), f"{f.severity} {f.check}" + (f" (track {f.track_id})" if
                                                                            f.track_id is not None else ""))
    for tid in doc.track_ids():
        t = doc.track(tid)
        conf = t.attributes.get("confidence")
        low = False
        if conf is not None:
            try:
                low = float(conf) < w.confidence_threshold
            except ValueError:
                low = True  # an unreadable confidence is no confidence
        keys = sorted({*t.keyframes, *t.tracked})  # the boxes placed by a person or the tracker
        for f in t.frames():
            if low:
                add(f, w.low_confidence, f"low confidence {conf} (track {tid})")
            if t.is_tracked(f):
                c = t.tracked_confidence[f]
                if c < w.confidence_threshold:
                    add(f, w.low_confidence, f"low tracking confidence {c:.2f} (track {tid})")
            elif f not in t.keyframes and keys:
                i = bisect.bisect_left(keys, f)
                d = min(abs(f - keys[j]) for j in (i - 1, i) if 0 <= j < len(keys))
                if d > w.far_frames:
                    add(f, w.far_interpolated, f"interpolated {d} frames from a keyframe (track {tid})")
    rank = {"error": 0, "warning": 1, "low": 2, "interpolated": 3, "info": 4}
    return {f: (risk[f], sorted(reasons[f], key=lambda r: rank.get(r.split()[0], 5))) for f in sorted(risk)
            if risk[f] > 0}


def sample_frames(
    doc: AnnotationDocument,
    rate: float,
    findings: Iterable[Finding] = (),
    frame_count: int | None = None,
    seed: int = 0,
    weights: SamplingWeights | None = None,
    always_errors: bool = True,
) -> list[SampledFrame]:
    """Frames to review (sorted by frame): ``ceil(rate * frames)`` of them, riskiest first, filled
    up by a seeded uniform draw (see the module doc). ``rate`` in [0, 1]."""
    if not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
        raise ValueError(f"sampling rate must be in [0, 1], got {rate!r}")
    findings = list(findings)
    n = frame_count if frame_count is not None else doc.frame_count
    if n is None:
        n = 1 + max((t.span()[1] for t in doc.tracks.values() if t.span() is not None), default=-1)
    budget = math.ceil(rate * n - 1e-9)
    risks = {f: r for f, r in frame_risks(doc, findings, weights).items() if 0 <= f < n}
    ranked = sorted(risks, key=lambda f: (-risks[f][0], f))
    chosen: dict[int, SampledFrame] = {}
    for f in ranked[:budget]:
        chosen[f] = SampledFrame(f, risks[f][0], tuple(risks[f][1]))
    if always_errors:
        for x in findings:
            if x.severity == "error" and x.frame is not None and 0 <= x.frame < n and x.frame not in chosen:
                r = risks.get(x.frame, (0.0, []))
                chosen[x.frame] = SampledFrame(x.frame, r[0], tuple(r[1]))
    rest = [f for f in range(n) if f not in chosen]
    k = max(0, budget - len(chosen))
    if k and rest:
        rng = np.random.default_rng(seed)
        for f in sorted(rng.choice(rest, size=min(k, len(rest)), replace=False).tolist()):
            chosen[f] = SampledFrame(f, risks.get(f, (0.0, []))[0], tuple(risks.get(f, (0.0, []))[1]), random=True)
    return [chosen[f] for f in sorted(chosen)]
