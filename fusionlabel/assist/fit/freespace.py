"""Partial views and free space: a partly seen extent grows to the class's size away from the
sensor (its near edge kept where it was measured), unless free space (ground points the LiDAR saw)
says otherwise: toward the sensor when the far side is seen free (a cloud cut to a camera's field of
view), and never past the place where the rays to the seen ground cross the object's near face.

Coordinates are along a rectangle's axes (metres) in one z-up frame, with the sensor's coordinates
on the same axes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.assist.fit.heading import Rectangle
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams

F64 = NDArray[np.float64]


def extend_interval(lo: float, hi: float, target: float, sensor: float, exact: bool = False,
                    centre: bool = False) -> tuple[float, float]:
    """Grow the interval [lo, hi] to length ``target`` away from ``sensor`` (its coordinate on the
    same axis): the edge nearest the sensor stays. With ``exact`` a longer interval is shortened
    the same way, or about its middle with ``centre`` (else it is kept)."""
    if hi - lo >= target and not exact:
        return lo, hi
    if centre:  # thin objects (a bike's frame) show their middle, not a near face
        m = (lo + hi) / 2
        if hi - lo < target:  # still, a body hides its far half: move half way away from the sensor
            m += (0.25 if abs(sensor - lo) <= abs(sensor - hi) else -0.25) * (target - (hi - lo))
        return m - target / 2, m + target / 2
    if abs(sensor - lo) <= abs(sensor - hi):
        return lo, lo + target
    return hi - target, hi


def least_free(cands: list[tuple[bool, list[tuple[float, float]], list[tuple[float, float]], bool]], e1: F64,
               e2: F64, free_xy: ArrayLike | None, trim: Callable[..., tuple] | None = None,
               sensor: tuple[float, float] = (0.0, 0.0), *,
               fit_params: FitParams = DEFAULT_FIT_PARAMS) -> tuple[int, tuple[float, float], tuple[float, float]]:
    """Among candidate footprints (per candidate axis assignment, intervals along ``e1`` and ``e2``;
    the very first is the default: the size prior's assignment grown away from the sensor), the one
    that the fewest rays from the ``sensor`` (its coordinates along e1, e2) to the ``free_xy`` (M, 2)
    BEV points seen as free space (ground) pass through, more than ``free_inset`` m inside
    it (the LiDAR saw through there); another than the default is taken only when clearly fewer rays cross
    it (at most half and 3 fewer). The chosen one is then cut back by ``trim(length_first, iu, iv)``
    where free space says the object ends. Returns (candidate index, interval along e1, along e2)."""
    if trim is None:
        def trim(_: bool, iu: tuple[float, float], iv: tuple[float, float]) -> tuple:
            return iu, iv
    best = (0, cands[0][1][0], cands[0][2][0])
    if free_xy is None:
        return (0, *trim(cands[0][0], best[1], best[2]))
    f = np.asarray(free_xy, dtype=np.float64).reshape(-1, 2)
    fu, fv = f @ e1, f @ e2

    du, dv = fu - sensor[0], fv - sensor[1]

    def count(iu: tuple[float, float], iv: tuple[float, float]) -> int:
        """Rays from the sensor to the free-space points that pass through the footprint shrunk
        by ``free_inset`` (slab test; a point inside it counts too)."""
        t_lo, t_hi = np.zeros(len(fu)), np.ones(len(fu))
        for d, s0, (a, b) in ((du, sensor[0], iu), (dv, sensor[1], iv)):
            a, b = a + fit_params.free_inset, b - fit_params.free_inset
            inside = (s0 > a) & (s0 < b)
            with np.errstate(divide="ignore", invalid="ignore"):
                t1, t2 = (a - s0) / d, (b - s0) / d
            flat = np.abs(d) < 1e-12
            t1 = np.where(flat, -np.inf if inside else np.inf, t1)
            t2 = np.where(flat, np.inf if inside else -np.inf, t2)
            t_lo = np.maximum(t_lo, np.minimum(t1, t2))
            t_hi = np.minimum(t_hi, np.maximum(t1, t2))
        return int(np.count_nonzero(t_lo < t_hi))

    n0 = count(best[1], best[2])
    n_best = n0
    for k, (_, opts_u, opts_v, _) in enumerate(cands):
        for iu in opts_u:
            for iv in opts_v:
                n = count(iu, iv)
                if n < n_best and n <= 0.5 * n0 and n <= n0 - 3:
                    best, n_best = (k, iu, iv), n
    return (best[0], *trim(cands[best[0]][0], best[1], best[2]))


def open_ends(rect: Rectangle, seen_xy: ArrayLike, axis: F64, *, fit_params: FitParams = DEFAULT_FIT_PARAMS) -> bool:
    """Whether the rectangle's extent along ``axis`` (one of its unit axes) ends in unobserved
    space: no return at all (ground or object) within ``open_end_gap`` m past one of its
    ends, across the rectangle's width (a face cut by the field of view of the cloud or by a shadow)."""
    q = np.asarray(seen_xy, dtype=np.float64).reshape(-1, 2) - np.asarray(rect.center)
    other = np.array([-axis[1], axis[0]])
    t, w = q @ axis, q @ other
    half = (rect.a if abs(float(np.dot(axis, rect.axes()[0]))) > 0.5 else rect.b) / 2
    half_w = (rect.b if abs(float(np.dot(axis, rect.axes()[0]))) > 0.5 else rect.a) / 2
    band = np.abs(w) <= half_w
    for sign in (1.0, -1.0):
        past = sign * t - half
        if not np.any(band & (past > 0.05) & (past < fit_params.open_end_gap)):
            return True
    return False


def ray_crossings(f_along: F64, f_across: F64, s_along: float, s_across: float, near: float) -> F64:
    """Where (coordinate along the face) the rays from the sensor (``s_along``, ``s_across``) to the
    free-space points (``f_along``, ``f_across``) cross the line ``across = near`` of an object's
    seen near face; only rays that do cross it (points beyond the line). The LiDAR saw through
    there, so the face does not reach any of these places."""
    d = f_across - s_across
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (near - s_across) / d
    ok = np.isfinite(t) & (t > 0.0) & (t < 1.0)
    return s_along + t[ok] * (f_along[ok] - s_along)


def stop_at_free(lo: float, hi: float, seen_lo: float, seen_hi: float, minimum: float, cross: F64, *,
                 fit_params: FitParams = DEFAULT_FIT_PARAMS) -> tuple[float, float]:
    """Trim the grown part of an interval [lo, hi] (the points cover [seen_lo, seen_hi]) back to the
    ``free_min_points``-th ray crossing ``cross`` (see :func:`ray_crossings`) past the seen
    end, never below ``minimum`` nor the seen extent."""
    k = fit_params.free_min_points - 1
    if hi > seen_hi + 1e-6:  # grown toward +
        beyond = np.sort(cross[(cross > seen_hi) & (cross < hi)])
        if len(beyond) > k:
            hi = max(float(beyond[k]), lo + minimum, seen_hi)
    if lo < seen_lo - 1e-6:  # grown toward -
        beyond = np.sort(cross[(cross < seen_lo) & (cross > lo)])[::-1]
        if len(beyond) > k:
            lo = min(float(beyond[k]), hi - minimum, seen_lo)
    return lo, hi
