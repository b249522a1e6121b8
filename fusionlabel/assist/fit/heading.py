"""Heading estimators: the L-shape fit, the principal axis, the normal of an end face, the tight
rectangle at a heading, snapping to the ego's axes, the heading from an object's motion and a
vehicle's front from its shape when it does not move (the cabin cue).

Frames: BEV points of one z-up frame (the world frame in the tools); angles in radians about +z.

The L-shape fit searches the rectangle orientation in [0, pi/2) that makes the points hug two
perpendicular edges (the closeness criterion: sum of 1 / max(d, d0) where ``d`` is a point's
distance to the nearest of the two chosen edges), then takes the tight rectangle at that
orientation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import wrap_angle
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams
from fusionlabel.assist.motion import MotionEstimate, class_kind
from fusionlabel.box import Box3D
from fusionlabel.ontology import ClassSpec

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Rectangle:
    """A BEV rectangle: centre (x, y), ``yaw`` of its first axis, extents ``a`` (along the first
    axis) and ``b`` (along the second), metres."""

    center: tuple[float, float]
    yaw: float
    a: float
    b: float

    def axes(self) -> tuple[F64, F64]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([c, s]), np.array([-s, c])


def lshape_yaw(xy: ArrayLike, step_deg: float = 1.0, d0: float = 0.05, max_points: int = 600) -> float:
    """Heading (rad, in [0, pi/2)) of the rectangle that best fits the BEV points ``xy`` (N, 2) by
    the closeness criterion; refined to ``step_deg / 10``."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    if len(p) > max_points:
        p = p[np.linspace(0, len(p) - 1, max_points).astype(np.intp)]
    p = p - p.mean(axis=0)

    def scores(thetas: F64) -> F64:
        c, s = np.cos(thetas), np.sin(thetas)
        c1 = p[:, 0:1] * c + p[:, 1:2] * s  # (N, T)
        c2 = -p[:, 0:1] * s + p[:, 1:2] * c
        out = []
        for cc in (c1, c2):
            lo, hi = cc.min(axis=0), cc.max(axis=0)
            d_lo, d_hi = cc - lo, hi - cc
            use_hi = np.linalg.norm(d_hi, axis=0) < np.linalg.norm(d_lo, axis=0)
            out.append(np.where(use_hi, d_hi, d_lo))
        d = np.maximum(np.minimum(out[0], out[1]), d0)
        return (1.0 / d).sum(axis=0)

    thetas = np.radians(np.arange(0.0, 90.0, step_deg))
    best = thetas[int(np.argmax(scores(thetas)))]
    fine = best + np.radians(np.arange(-step_deg, step_deg + 1e-9, step_deg / 10.0))
    return float(np.mod(fine[int(np.argmax(scores(fine)))], math.pi / 2))


def pca_yaw(xy: ArrayLike) -> tuple[float, float]:
    """Principal BEV axis (rad) of points (N, 2) and the elongation (ratio of the standard
    deviations along the principal and the second axis, >= 1)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0, 1.0
    ev, evec = np.linalg.eigh(np.cov((p - p.mean(axis=0)).T))
    ratio = math.sqrt(max(ev[1], 1e-12) / max(ev[0], 1e-12))
    return float(math.atan2(evec[1, 1], evec[0, 1])), ratio


def end_face_yaw(xy: ArrayLike, half_band: float = 0.1, step_deg: float = 2.0, max_points: int = 600) -> float:
    """Heading (rad, in [0, pi)) of an object whose BEV points (N, 2) show only one end face (a
    vehicle's front or rear): the normal of the straight band ``2 * half_band`` m wide that holds
    the most points (the face, even when rounded, with roof and rear-window rings or a few stray
    points elsewhere). A rounded face looks like a corner to an L-shape fit."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return 0.0
    if len(p) > max_points:
        p = p[np.linspace(0, len(p) - 1, max_points).astype(np.intp)]
    thetas = np.radians(np.arange(0.0, 180.0, step_deg))
    # coordinate across the band's direction theta, sorted per angle
    across = np.sort(-p[:, 0:1] * np.sin(thetas) + p[:, 1:2] * np.cos(thetas), axis=0)  # (N, T)
    best, best_n = 0.0, -1
    for k in range(len(thetas)):
        col = across[:, k]
        n = int((np.searchsorted(col, col + 2.0 * half_band, side="right") - np.arange(len(col))).max())
        if n > best_n:
            best, best_n = float(thetas[k]), n
    return best + math.pi / 2


def rectangle_at(xy: ArrayLike, yaw: float) -> Rectangle:
    """The tightest rectangle with first axis at ``yaw`` around the BEV points (N, 2)."""
    p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    c, s = math.cos(yaw), math.sin(yaw)
    u = p[:, 0] * c + p[:, 1] * s
    v = -p[:, 0] * s + p[:, 1] * c
    ul, uh, vl, vh = u.min(), u.max(), v.min(), v.max()
    um, vm = (ul + uh) / 2, (vl + vh) / 2
    return Rectangle((um * c - vm * s, um * s + vm * c), yaw, uh - ul, vh - vl)


def snap_to_axes(yaw: float, axes_yaw: float) -> float:
    """The direction among ``axes_yaw + k * pi / 2`` (rad) nearest ``yaw`` (rad)."""
    q = math.pi / 2
    return float(wrap_angle(axes_yaw + round((yaw - axes_yaw) / q) * q))


def heading_from_motion(box: Box3D, motion: MotionEstimate, spec: ClassSpec | None, *,
                        fit_params: FitParams = DEFAULT_FIT_PARAMS) -> tuple[Box3D, str]:
    """The box headed by the object's motion when it clearly moves: a walker or rider takes the
    direction of motion as its yaw (centre and size kept: the single-sweep principal axis of a body
    is poor); a vehicle keeps its shape's axis, turned by pi when that points against the motion.
    Returns (box, heading source: ``"motion"``, ``"shape+motion"`` or ``"shape"``)."""
    if not motion.moving or motion.heading is None:
        return box, "shape"
    kind = class_kind(spec)
    if kind in ("walker", "ridden"):
        return box.replace(yaw=float(wrap_angle(motion.heading))), "motion"
    if kind == "vehicle":
        if fit_params.vehicle_motion_sign_only:
            if abs(wrap_angle(box.yaw - motion.heading)) > math.pi / 2:
                return box.replace(yaw=float(wrap_angle(box.yaw + math.pi))), "shape+motion"
            return box, "shape+motion"
        return box.replace(yaw=float(wrap_angle(motion.heading))), "motion"
    return box, "shape"


def cabin_vote(points: F64, box: Box3D) -> float:
    """Evidence (signed, m) that a vehicle's front is toward +heading of ``box``: the points in
    the top 30 % of the box's height (the cabin) span an interval along the heading; the gap in
    front of it (hood) minus the gap behind it (trunk). 0 when the cabin is not seen along at
    least a third of the length (an end view)."""
    p = np.asarray(points, dtype=np.float64)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    u = (p[:, 0] - box.center[0]) * c + (p[:, 1] - box.center[1]) * s
    bottom = box.center[2] - box.size[2] / 2
    high = p[:, 2] >= bottom + 0.7 * box.size[2]
    if high.sum() < 5:
        return 0.0
    lo, hi = np.percentile(u[high], [3, 97])
    if hi - lo < box.size[0] / 3:
        return 0.0
    return float((box.size[0] / 2 - hi) - (lo + box.size[0] / 2))


def heading_from_cabin(box: Box3D, points: ArrayLike, spec: ClassSpec | None, *,
                       fit_params: FitParams = DEFAULT_FIT_PARAMS) -> tuple[Box3D, bool]:
    """A vehicle's box turned by pi when its shape says the front is the other way: the cabin
    (:func:`cabin_vote` on ``points`` (N, 3+), same frame as ``box``) sits behind the middle. Only
    for vehicle classes (``spec`` not None) with ``fit_params.vehicle_cabin_cue``; the box unchanged
    otherwise, when the points span less than ``fit_params.cabin_min_cover`` of the box's length
    (an end not seen: the box was grown over unseen space) or when the vote is within
    ``fit_params.cabin_min_vote`` m of 0 (an end view, a flat top). Returns (box, whether the cue
    decided the sign)."""
    if not fit_params.vehicle_cabin_cue or spec is None or class_kind(spec) != "vehicle":
        return box, False
    p = np.asarray(points, dtype=np.float64)
    if p.size == 0:
        return box, False
    p = p.reshape(-1, p.shape[-1])[:, :3]
    # both ends seen: a box grown to the class's length over unseen space would fake a gap
    u = (p[:, 0] - box.center[0]) * math.cos(box.yaw) + (p[:, 1] - box.center[1]) * math.sin(box.yaw)
    lo, hi = np.percentile(u, [1, 99])
    if hi - lo < fit_params.cabin_min_cover * box.size[0]:
        return box, False
    vote = cabin_vote(p, box)
    if abs(vote) <= fit_params.cabin_min_vote:
        return box, False
    if vote < 0:
        return box.replace(yaw=float(wrap_angle(box.yaw + math.pi))), True
    return box, True
