"""The box of one object's points: heading (:mod:`.heading`), class (:mod:`.classes`), extension of
a partly seen object to its class's size and the free space that bounds it (:mod:`.freespace`), the
template box of people and bikes (:mod:`.small`), bottom on the ground. One z-up frame (the world
frame in the tools), metres, radians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from calib.transforms import wrap_angle
from fusionlabel.assist.fit.classes import (
    ClassGuess,
    assign_axes,
    assign_cost,
    guess_class,
    resolve_class,
    top_coverage,
)
from fusionlabel.assist.fit.freespace import extend_interval, least_free, open_ends, ray_crossings, stop_at_free
from fusionlabel.assist.fit.heading import end_face_yaw, lshape_yaw, pca_yaw, rectangle_at
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams
from fusionlabel.assist.fit.small import small_object_box
from fusionlabel.assist.ground import GroundModel
from fusionlabel.box import Box3D
from fusionlabel.ontology import Ontology


def box_from_cluster(
    pts: ArrayLike,
    ground: GroundModel | None,
    ontology: Ontology,
    origin: ArrayLike = (0.0, 0.0, 0.0),
    class_hint: str | None = None,
    candidates: Sequence[str] | None = None,
    yaw: float | None = None,
    size: tuple[float, float] | None = None,
    free_xy: ArrayLike | None = None,
    seen_xy: ArrayLike | None = None,
    top_unseen: float | None = None,
    ego_yaw: float | None = None,
    *,
    fit_params: FitParams = DEFAULT_FIT_PARAMS,
) -> tuple[Box3D, ClassGuess, bool]:
    """The box of one object's points (N, 3) (ground removed): L-shape heading (or the given
    ``yaw``), the class from ``class_hint`` or guessed from the size priors, extension to the
    class's typical size away from the sensor ``origin`` where the object is only partly seen,
    bottom on the ``ground`` (None: the lowest point). With ``size`` (length, width) m the
    footprint gets exactly that size, its edges nearest the sensor kept (a track's size applied
    to each frame). ``free_xy`` (M, 2): BEV positions seen as free space (ground points near the
    object); a partly seen object then grows toward the sensor instead when its far side is seen
    free. ``seen_xy`` (K, 2): BEV positions of every return near the object; a face that ends
    where nothing at all was seen (a camera's field of view, an occluder's shadow) may go on, so
    its length is then only a lower bound when choosing which side is the length. ``top_unseen`` (m):
    the object's top was not seen and it reaches at least this high above the ground (its height is
    then a lower bound for the class guess). ``ego_yaw`` (rad, world frame): the ego's heading; a
    walker (class given) is headed along the ego axis nearest its principal axis. Returns (box,
    guess, partial)."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    if len(p) == 0:
        raise ValueError("box_from_cluster: no points")
    o = np.asarray(origin, dtype=np.float64).reshape(3)
    spec = resolve_class(ontology, class_hint) if class_hint is not None else None
    if yaw is not None:
        th = float(yaw)
    else:
        th = lshape_yaw(p[:, :2])
        rect = rectangle_at(p[:, :2], th)
        small_len = fit_params.small_object_length
        small = spec.size.max[0] < small_len if spec is not None else max(rect.a, rect.b) < 2.2
        if small:  # people and bikes show no corners: their principal axis is the better heading
            th_pca, ratio = pca_yaw(p[:, :2])
            if ratio >= 1.2:
                th = th_pca
    rect = rectangle_at(p[:, :2], th)
    cx, cy = rect.center
    g0 = float(ground(cx, cy)) if ground is not None else float(p[:, 2].min())
    top = float(np.percentile(p[:, 2], 99.5)) if len(p) > 50 else float(p[:, 2].max())
    height = max(top - g0, 0.1)
    guess = guess_class((rect.a, rect.b), height if top_unseen is None else max(height, top_unseen), ontology,
                        candidates, top_cover=top_coverage(p, rect, g0, height), height_bound=top_unseen is not None,
                        fit_params=fit_params)
    if spec is None:
        spec = ontology[guess.label]
    end_face = (yaw is None and spec.size.max[0] >= fit_params.small_object_length
                and max(rect.a, rect.b) <= spec.size.max[1] + fit_params.max_extent_slack)
    if end_face:
        # no visible extent is longer than the vehicle's widest: only its front or rear is seen (an
        # unoccluded side shows its whole length; roof and rear-window rings behind the face may
        # reach deeper than the face is wide), so the length runs across the face, taken as the
        # straight band holding most points. A rounded face looks like a corner to the L-shape fit:
        # its heading is kept only when it agrees with the face's normal
        th_face = end_face_yaw(p[:, :2])
        k = th + np.arange(-2, 3) * (math.pi / 2)
        dk = np.abs(wrap_angle(k - th_face))
        th = float(k[int(np.argmin(dk))]) if dk.min() <= math.radians(fit_params.end_face_agree_deg) else th_face
        rect = rectangle_at(p[:, :2], th)
    e1, e2 = rect.axes()
    big_open = False
    if seen_xy is not None and yaw is None and not end_face:
        big_open = open_ends(rect, seen_xy, e1 if rect.a >= rect.b else e2, fit_params=fit_params)
    if end_face:
        first_is_length = True  # e1 (at th) is the length
    else:
        first_is_length, _ = (assign_axes((rect.a, rect.b), spec, big_open, fit_params=fit_params) if yaw is None
                               else (True, 0.0))
    u0 = float(np.dot(rect.center, e1))
    v0 = float(np.dot(rect.center, e2))
    lo_u, hi_u = u0 - rect.a / 2, u0 + rect.a / 2
    lo_v, hi_v = v0 - rect.b / 2, v0 + rect.b / 2
    su, sv = float(np.dot(o[:2], e1)), float(np.dot(o[:2], e2))
    # people and bikes vary little in size and their points (arms, pedals, a neighbour) say little
    # about it: with the class given, their footprint is the class's typical one
    template = size is None and class_hint is not None and spec.size.max[0] < fit_params.small_object_length
    if template and yaw is None:
        return small_object_box(p, ground, spec, o, top, ego_yaw, fit_params=fit_params), guess, False
    if template:
        size = (spec.size.mean[0], spec.size.mean[1])

    def footprints(length_first: bool) -> tuple[list[tuple[float, float]], list[tuple[float, float]], bool]:
        """Candidate intervals along e1 and e2 (the first: grown away from the sensor) and partial."""
        len_k, wid_k = (0, 1) if length_first else (1, 0)
        targets, part = [], False
        for ext, k in ((rect.a, len_k), (rect.b, wid_k)):
            mean = spec.size.mean[k]
            part = part or ext < fit_params.partial_share * mean
            if size is not None:
                targets.append(float(size[k]))
            else:
                targets.append(mean if ext < fit_params.partial_share * mean else ext)
        opts_u = [extend_interval(lo_u, hi_u, targets[0], su, exact=size is not None, centre=template)]
        opts_v = [extend_interval(lo_v, hi_v, targets[1], sv, exact=size is not None, centre=template)]
        if free_xy is not None and not template:
            # the other way too, where the box grows: toward the sensor when the far side is seen
            # free (ground points there) and the near side is not (cut by a camera's field of view)
            for opts, lo, hi, t in ((opts_u, lo_u, hi_u, targets[0]), (opts_v, lo_v, hi_v, targets[1])):
                if hi - lo < t:
                    opts.append((hi - t, hi) if opts[0][0] == lo else (lo, lo + t))
        return opts_u, opts_v, part

    cands = [(first_is_length, *footprints(first_is_length))]
    if yaw is None and free_xy is not None and not template:
        # the other assignment of length and width when the size prior hardly tells them apart
        other = (rect.b, rect.a) if first_is_length else (rect.a, rect.b)
        cur = (rect.a, rect.b) if first_is_length else (rect.b, rect.a)
        ambiguity = assign_cost(other, spec, fit_params=fit_params) - assign_cost(cur, spec, fit_params=fit_params)
        if ambiguity < fit_params.axis_ambiguity:
            cands.append((not first_is_length, *footprints(not first_is_length)))
    trim = None
    if free_xy is not None and not template and size is None:
        # a grown side stops where free space begins (at least the class's smallest size)
        f = np.asarray(free_xy, dtype=np.float64).reshape(-1, 2)
        fu, fv = f @ e1, f @ e2
        seen_u = (u0 - rect.a / 2, u0 + rect.a / 2)
        seen_v = (v0 - rect.b / 2, v0 + rect.b / 2)
        # where the rays to the seen ground cross the line of the near face: the face cannot reach there
        cross_u = ray_crossings(fu, fv, su, sv, seen_v[0] if abs(sv - seen_v[0]) <= abs(sv - seen_v[1]) else seen_v[1])
        cross_v = ray_crossings(fv, fu, sv, su, seen_u[0] if abs(su - seen_u[0]) <= abs(su - seen_u[1]) else seen_u[1])

        def trim(length_first: bool, iu: tuple[float, float], iv: tuple[float, float]) -> tuple:
            mins = (spec.size.min[0], spec.size.min[1]) if length_first else (spec.size.min[1], spec.size.min[0])
            return (stop_at_free(*iu, *seen_u, mins[0], cross_u, fit_params=fit_params),
                    stop_at_free(*iv, *seen_v, mins[1], cross_v, fit_params=fit_params))

    k, (lo_u, hi_u), (lo_v, hi_v) = least_free(cands, e1, e2, free_xy, trim, (su, sv),
                                                fit_params=fit_params)
    first_is_length, partial = cands[k][0], cands[k][3]
    um, vm = (lo_u + hi_u) / 2, (lo_v + hi_v) / 2
    centre_xy = um * e1 + vm * e2
    du, dv = hi_u - lo_u, hi_v - lo_v
    if first_is_length:
        length, width, box_yaw = du, dv, th
    else:
        length, width, box_yaw = dv, du, th + math.pi / 2
    gz = float(ground(centre_xy[0], centre_xy[1])) if ground is not None else g0
    height = max(top - gz, 0.1)
    if height < 0.5 * spec.size.min[2]:
        height = spec.size.mean[2]
        partial = True
    box = Box3D((float(centre_xy[0]), float(centre_xy[1]), gz + height / 2), (length, width, height),
                float(wrap_angle(box_yaw)))
    return box, guess, partial
