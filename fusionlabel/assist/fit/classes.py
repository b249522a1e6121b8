"""Class guess from a cluster's visible extents and height under the classes' size priors
(:class:`~fusionlabel.ontology.SizePrior`, log-normal), the class frequencies and how much of the
cluster's top is covered (a vehicle's face against a rider over a bike); which rectangle axis is the
length. Metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from fusionlabel.assist.fit.heading import Rectangle
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams
from fusionlabel.ontology import ClassSpec, Ontology


@dataclass(frozen=True)
class ClassGuess:
    """A class guess: ``label`` and its probability among the candidates, with every candidate's."""

    label: str
    probability: float
    probabilities: dict[str, float] = field(default_factory=dict)
    fit: float = 0.0  # 0..1: how well the best class's size explains the cluster at all


def resolve_class(ontology: Ontology, name: str | None) -> ClassSpec | None:
    """The ontology class for a name: exact, case-insensitive, or via the KITTI / nuScenes mapping."""
    if name is None:
        return None
    spec = ontology.get(name)
    if spec is not None:
        return spec
    low = name.lower()
    for c in ontology:
        if c.name.lower() == low:
            return c
    return ontology.from_kitti(name) or ontology.from_nuscenes(name)


def _log_sigma(prior: ClassSpec, k: int) -> float:
    return max(math.log(prior.size.max[k] / prior.size.min[k]) / 4.0, 0.05)


def full_cost(v: float, prior: ClassSpec, k: int) -> float:
    """Squared normalised log-distance of a fully seen extent ``v`` from the class's typical one."""
    z = (math.log(max(v, 0.05)) - math.log(prior.size.mean[k])) / _log_sigma(prior, k)
    return z * z


def _bound_cost(v: float, prior: ClassSpec, k: int) -> float:
    """A partly seen extent is a lower bound: it costs only when above the typical size."""
    return full_cost(v, prior, k) if v > prior.size.mean[k] else 0.0


def _tail_cost(v: float, prior: ClassSpec, k: int) -> float:
    """An extent whose end is not seen (a top cut by the sensor's field of view) is at least ``v``:
    ``-2 ln min(1, 2 P(extent >= v))`` under the class's log-normal prior (0 up to the typical
    size, then about the full cost plus a little)."""
    z = (math.log(max(v, 0.05)) - math.log(prior.size.mean[k])) / _log_sigma(prior, k)
    if z <= 0.0:
        return 0.0
    tail = math.erfc(z / math.sqrt(2.0))  # 2 P(Z >= z)
    return -2.0 * math.log(max(tail, 1e-12))


def assign_cost(ext: tuple[float, float], prior: ClassSpec, *, fit_params: FitParams = DEFAULT_FIT_PARAMS) -> float:
    """Size-prior cost of taking the first of two visible extents as the length, the second as
    the width (a lower bound: it may be cut short by the viewpoint)."""
    first, second = ext
    c = full_cost(first, prior, 0) + _bound_cost(second, prior, 1)
    if second > prior.size.max[1] + fit_params.max_extent_slack:
        c += 25.0
    return c


def assign_axes(ext: tuple[float, float], prior: ClassSpec, big_open: bool = False, *,
                fit_params: FitParams = DEFAULT_FIT_PARAMS) -> tuple[bool, float]:
    """Which rectangle axis is the class's length: returns (True when the first axis is the length,
    cost). The larger visible extent is taken as a fully seen face (a lower bound too when
    ``big_open``: it ends in unobserved space, see :func:`open_ends`); the smaller one as a lower
    bound (it may be cut short by the viewpoint)."""
    a, b = ext
    big, small, big_first = (a, b, True) if a >= b else (b, a, False)
    cost = _bound_cost if big_open else full_cost
    # big face is the length
    c_len = cost(big, prior, 0) + _bound_cost(small, prior, 1)
    # big face is the width; a face clearly wider than the class's widest cannot be its width (a
    # near car's side cut short by the field of view looks as long as a wide car's rear)
    c_wid = cost(big, prior, 1) + _bound_cost(small, prior, 0)
    slack = fit_params.max_extent_slack
    if big > prior.size.max[1] + slack and big <= prior.size.max[0] + slack:
        c_wid += 25.0
    if c_len <= c_wid:
        return big_first, c_len
    return (not big_first), c_wid


def guess_class(
    ext: tuple[float, float],
    height: float,
    ontology: Ontology,
    candidates: Sequence[str] | None = None,
    priors: dict[str, float] | None = None,
    top_cover: float | None = None,
    height_bound: bool = False,
    *,
    fit_params: FitParams = DEFAULT_FIT_PARAMS,
) -> ClassGuess:
    """Class probabilities from a cluster's visible BEV extents (two axes, m) and height above the
    ground (m), under each candidate class's size prior (log-normal, sigma from its min..max range;
    the smaller BEV extent only as a lower bound) times the class frequency ``priors`` (default
    ``class_priors``). ``top_cover`` (see :func:`top_coverage`), when given, separates a
    car's
    rear (a full face: high coverage) from a cyclist's side (a rider above a bike: low). With
    ``height_bound`` the top was not seen (cut by the sensor's vertical field of view, or the
    object goes on above the height limit): the height is a lower bound (:func:`_tail_cost`)."""
    pri = fit_params.class_priors if priors is None else priors
    names = [n for n in (candidates or fit_params.default_candidates) if n in ontology]
    if not names:
        names = ontology.class_names()
    costs = []
    for n in names:
        spec = ontology[n]
        _, c = assign_axes(ext, spec)
        c += _tail_cost(height, spec, 2) if height_bound else full_cost(height, spec, 2)
        if top_cover is not None:
            split, two_wheeler = fit_params.top_cover_split, n in fit_params.two_wheelers
            if two_wheeler and top_cover > split:
                c += ((top_cover - split) / 0.08) ** 2
            elif not two_wheeler and spec.size.mean[0] >= fit_params.small_object_length and top_cover < split:
                c += ((split - top_cover) / 0.08) ** 2
        costs.append(c)
    costs_a = np.array(costs)
    logits = -0.5 * costs_a + np.log([max(pri.get(n, fit_params.other_class_prior), 1e-6) for n in names])
    prob = np.exp(logits - logits.max())
    prob /= prob.sum()
    i = int(np.argmax(prob))
    fit = float(math.exp(-0.5 * costs_a[i] / 3.0))  # per-dimension average
    return ClassGuess(names[i], float(prob[i]), {n: float(p) for n, p in zip(names, prob, strict=True)}, fit)


def top_coverage(pts: ArrayLike, rect: Rectangle, ground_z: float, height: float, bin_m: float = 0.2) -> float | None:
    """Share of the rectangle's longer side (in ``bin_m`` bins) under which some point is higher
    than 60% of ``height`` above ``ground_z``: a car's rear or side is a full face (near 1), a
    cyclist's side is a rider over a bike (low). None for sides shorter than 1 m."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    e1, e2 = rect.axes()
    axis, length = (e1, rect.a) if rect.a >= rect.b else (e2, rect.b)
    if length < 1.0 or len(p) < 5:
        return None
    t = p[:, :2] @ axis
    t0 = float(np.dot(rect.center, axis)) - length / 2
    nb = max(int(math.ceil(length / bin_m)), 1)
    k = np.clip(((t - t0) / bin_m).astype(np.int64), 0, nb - 1)
    high = p[:, 2] - ground_z > 0.6 * height
    occupied = np.bincount(k, minlength=nb) > 0
    covered = np.bincount(k[high], minlength=nb) > 0
    return float(covered.sum() / max(occupied.sum(), 1))
