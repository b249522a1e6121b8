"""Propagation of boxes to a neighbouring frame, predicted by the track's motion, with optional
refinement that fits the box to the new frame's points.

- :func:`predict_box_at`: a track's box carried from one frame to another by its motion fitted
  over the track's boxes in time (:mod:`fusionlabel.motion_model`: constant speed and turn rate;
  along the heading when the motion agrees with it; class limits).
- :func:`refine_box`: fits the position (x, y) and yaw of a box to a point cloud, size and z kept;
  returns a :class:`RefineResult` that refuses (``ok`` False, with the reason) when too few points
  support the fit.
- :class:`PropagateBoxes`: the undoable command "copy the selected box(es), or all boxes, to the
  next frame", refined when points are given.

Everything is in the ``world`` frame: boxes are world-frame :class:`~fusionlabel.box.Box3D`, points
``(N, 3)`` arrays ``pts_world`` in metres (the caller maps the sweep with ``T_world_from_lidar``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.box import Box3D
from fusionlabel.commands import Command
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import FrameTimes
from fusionlabel.model import Track
from fusionlabel.motion_model import fit_motion, frame_seconds, limits_for, track_samples
from fusionlabel.ontology import Ontology

F64 = NDArray[np.float64]

#: Most points the refinement search uses (an even subsample of the region beyond that).
MAX_FIT_POINTS = 1500


# ---- prediction -----------------------------------------------------------------------------------
def predict_box_at(
    track: Track, frame: int, target: int, times_ns: FrameTimes | None = None, ontology: Ontology | None = None
) -> Box3D:
    """The track's box at ``frame`` carried to ``target`` by its motion (world frame).

    The motion is fitted over the track's keyframes (and tracked boxes, weighted by their
    confidence) that no gap separates from ``frame``, around ``frame`` in time
    (:func:`fusionlabel.motion_model.fit_motion`: speed and turn rate by least squares over
    several samples, along the heading when the path agrees with it, within the limits of the
    track's class in ``ontology`` (default: the shipped one)); a still object (or a single
    keyframe) stays where it is. Raises ModelError when the track has no box at ``frame``.
    """
    src = track.box_at(frame, times_ns)
    if src is None:
        raise ModelError(f"track {track.track_id} has no box at frame {frame} to propagate")
    if target == frame:
        return src
    samples = track_samples(track.keyframes, frame, times_ns, track.gaps, getattr(track, "tracked", None),
                            getattr(track, "tracked_confidence", None))
    model = fit_motion(samples, 0.0, limits_for(track.label, ontology), ref_yaw=src.yaw)
    dt = frame_seconds([target], times_ns, frame)[target]
    return model.predict(src, dt)


# ---- refinement -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefineResult:
    """Outcome of :func:`refine_box`.

    ``ok``: the fit is accepted and ``box`` is the refined world box; otherwise ``box`` is the
    input box unchanged and ``reason`` says why the fit was refused. ``n_points``: points in the
    search region (ground removed); ``n_support``: points within the tolerance of the fitted box's
    faces; ``shift``: (dx, dy) metres in the world frame and dyaw radians applied.
    """

    ok: bool
    box: Box3D
    reason: str
    n_points: int
    n_support: int
    shift: tuple[float, float, float]


def _signed_distance(u: F64, v: F64, half_l: float, half_w: float) -> F64:
    """Signed distance (m) of BEV points in the box frame to the rectangle's boundary: negative
    inside, positive outside."""
    qx, qy = np.abs(u) - half_l, np.abs(v) - half_w
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _fit_cost(d: F64, tolerance: float) -> F64:
    """Mean robust cost over the last axis of signed boundary distances ``d``: squared distance,
    capped at ``tolerance`` inside the box (roof, cabin and far-side returns are neither rewarded
    nor punished beyond that) and at 3 ``tolerance`` outside it (points outside weigh more)."""
    inner = np.minimum(d, 0.0) ** 2
    outer = np.maximum(d, 0.0) ** 2
    return (np.minimum(inner, tolerance**2) + np.minimum(outer, (3.0 * tolerance) ** 2)).mean(axis=-1)


def refine_box(
    box: Box3D,
    pts_world: ArrayLike,
    *,
    search_xy: float = 1.0,
    search_yaw: float = math.radians(20.0),
    min_points: int = 20,
    min_support: float = 0.5,
    tolerance: float = 0.12,
    ground_clearance: float = 0.2,
    exclude_boxes: Sequence[Box3D] = (),
) -> RefineResult:
    """Fit the xy position and yaw of ``box`` to the points of a frame; size and z are kept.

    Points ``(N, 3)`` in the world frame, metres. The search region is the box grown by
    ``search_xy`` metres (plus what a ``search_yaw`` turn sweeps), without the ``ground_clearance``
    metres above its bottom (road surface) and without points inside ``exclude_boxes`` (other
    objects). A coarse-to-fine search over (dx, dy, dyaw) within +-``search_xy`` m and
    +-``search_yaw`` rad minimises a robust squared distance of the points to the box's faces
    (LiDAR returns lie on the surface; points outside the box weigh more than points inside),
    with a weak pull towards the input box (which decides where the points leave the position
    free, e.g. along the only visible face). The fit is
    refused (``ok`` False) when fewer than ``min_points`` points are in the region, when fewer
    than ``min_support`` of them lie within ``tolerance`` m of the fitted faces, or when the best
    fit is at the edge of the search (the object is further off than the search allows).
    """
    pts = np.asarray(pts_world, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise ValueError(f"points must have shape (N, 3), got {pts.shape}")
    pts = pts[np.isfinite(pts[:, :3]).all(axis=1), :3]
    half_l, half_w, half_h = box.size[0] / 2.0, box.size[1] / 2.0, box.size[2] / 2.0
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    dx, dy = pts[:, 0] - box.center[0], pts[:, 1] - box.center[1]
    u, v, w = c * dx + s * dy, -s * dx + c * dy, pts[:, 2] - box.center[2]
    grow = search_xy + max(half_l, half_w) * math.sin(min(search_yaw, math.pi / 2))
    sel = (np.abs(u) <= half_l + grow) & (np.abs(v) <= half_w + grow)
    sel &= (w >= -half_h + ground_clearance) & (w <= half_h + 0.1)
    for other in exclude_boxes:
        oc, os_ = math.cos(other.yaw), math.sin(other.yaw)
        ox, oy = pts[:, 0] - other.center[0], pts[:, 1] - other.center[1]
        sel &= ~(
            (np.abs(oc * ox + os_ * oy) <= other.size[0] / 2)
            & (np.abs(-os_ * ox + oc * oy) <= other.size[1] / 2)
            & (np.abs(pts[:, 2] - other.center[2]) <= other.size[2] / 2)
        )
    u, v = u[sel], v[sel]
    n = len(u)
    if n < min_points:
        return RefineResult(False, box, f"too few points to refine: {n} < {min_points}", n, 0, (0.0, 0.0, 0.0))
    if n > MAX_FIT_POINTS:  # a deterministic subsample keeps the search fast
        idx = np.linspace(0, n - 1, MAX_FIT_POINTS).astype(np.intp)
        u_fit, v_fit = u[idx], v[idx]
    else:
        u_fit, v_fit = u, v
    prior = 0.05 * tolerance**2

    def costs(cx: F64, cy: F64, ct: F64) -> F64:
        """Cost of candidate offsets (in the input box's frame), shape (K,)."""
        ca, sa = np.cos(ct)[:, None], np.sin(ct)[:, None]
        pu, pv = u_fit[None, :] - cx[:, None], v_fit[None, :] - cy[:, None]
        d = _signed_distance(ca * pu + sa * pv, -sa * pu + ca * pv, half_l, half_w)
        return _fit_cost(d, tolerance) + prior * (
            (cx * cx + cy * cy) / search_xy**2 + (ct * ct) / max(search_yaw, 1e-9) ** 2
        )

    # coarse grid over the whole window, then each of the best few coarse cells refined
    limits = np.array([search_xy, search_xy, search_yaw])
    axes = [np.linspace(-lim, lim, 9) for lim in limits]
    grid = np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)
    coarse = costs(grid[:, 0], grid[:, 1], grid[:, 2])
    best, best_cost = np.zeros(3), np.inf
    for k in np.argsort(coarse)[:4]:
        cand, span = grid[k], limits / 4.0
        for _level in range(4):
            local = [np.clip(cand[i] + np.linspace(-span[i], span[i], 5), -limits[i], limits[i]) for i in range(3)]
            g = np.stack([a.ravel() for a in np.meshgrid(*local, indexing="ij")], axis=1)
            cs = costs(g[:, 0], g[:, 1], g[:, 2])
            j = int(np.argmin(cs))
            cand, span = g[j], span / 2.0
        if cs[j] < best_cost:
            best, best_cost = cand, float(cs[j])
    bx, by, bt = (float(x) for x in best)
    ca, sa = math.cos(bt), math.sin(bt)
    # support at the fitted pose, over all region points
    pu, pv = u - bx, v - by
    d = np.abs(_signed_distance(ca * pu + sa * pv, -sa * pu + ca * pv, half_l, half_w))
    n_support = int((d <= tolerance).sum())
    shift_world = (c * bx - s * by, s * bx + c * by, bt)
    fitted = box.replace(center=(box.center[0] + shift_world[0], box.center[1] + shift_world[1], box.center[2]),
                         yaw=box.yaw + bt)  # a tilt is kept
    if n_support < min_support * n or n_support < min_points:
        return RefineResult(
            False, box, f"poor fit: {n_support} of {n} points within {tolerance} m of the faces", n, n_support,
            shift_world,
        )
    if max(abs(bx), abs(by)) >= 0.98 * search_xy or abs(bt) >= 0.98 * search_yaw:
        return RefineResult(False, box, "best fit at the edge of the search window", n, n_support, shift_world)
    return RefineResult(True, fitted, "", n, n_support, shift_world)


# ---- the command ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PropagationOutcome:
    """What :class:`PropagateBoxes` did for one track: the box set at the target frame (None when
    skipped), whether it was refined, and why it was skipped or not refined ("" when refined or
    when no points were given)."""

    box: Box3D | None
    refined: bool
    reason: str


class PropagateBoxes(Command):
    """Copy boxes from ``frame`` to ``target`` (default ``frame + 1``) as keyframes, each predicted
    by its track's motion and, when ``points_world`` (``(N, 3)`` world-frame points of the target
    frame) is given and ``refine`` is True, fitted to those points (see :func:`refine_box`; a
    refused fit keeps the prediction and records the reason).

    ``track_ids`` None propagates every track with a box at ``frame``. Tracks that already have a
    keyframe at ``target`` are skipped unless ``overwrite``; tracks with a gap at ``target`` are
    skipped. ``outcomes`` (track id -> :class:`PropagationOutcome`) is filled by the first apply;
    redo re-applies the same boxes. Refused (ModelError) when no track can be propagated.
    """

    def __init__(
        self,
        frame: int,
        target: int | None = None,
        track_ids: Iterable[int] | None = None,
        points_world: ArrayLike | None = None,
        refine: bool = True,
        overwrite: bool = False,
        refine_options: dict[str, float] | None = None,
    ) -> None:
        self.frame = int(frame)
        self.target = self.frame + 1 if target is None else int(target)
        self.track_ids = None if track_ids is None else [int(t) for t in track_ids]
        self.points_world = None if points_world is None else np.asarray(points_world, dtype=np.float64)
        self.refine, self.overwrite = bool(refine), bool(overwrite)
        self.refine_options = dict(refine_options or {})
        self.outcomes: dict[int, PropagationOutcome] | None = None
        self._previous: dict[int, Box3D | None] = {}
        what = "boxes" if self.track_ids is None else f"track {', '.join(map(str, self.track_ids))}"
        self.description = f"Propagate {what} from frame {self.frame} to {self.target}"

    def _plan(self, doc: AnnotationDocument) -> dict[int, PropagationOutcome]:
        frame, target = doc.check_frame(self.frame), doc.check_frame(self.target)
        times = doc.frame_times_ns
        ids = doc.track_ids() if self.track_ids is None else [doc.track(t).track_id for t in self.track_ids]
        out: dict[int, PropagationOutcome] = {}
        predicted: dict[int, Box3D] = {}
        for tid in ids:
            track = doc.track(tid)
            if track.box_at(frame, times) is None:
                if self.track_ids is not None:
                    out[tid] = PropagationOutcome(None, False, f"no box at frame {frame}")
                continue
            if target in track.keyframes and not self.overwrite:
                out[tid] = PropagationOutcome(None, False, f"already a keyframe at frame {target}")
                continue
            if track.in_gap(target):
                out[tid] = PropagationOutcome(None, False, f"frame {target} is in a gap of the track")
                continue
            predicted[tid] = predict_box_at(track, frame, target, times)
        for tid, box in predicted.items():
            if self.points_world is None or not self.refine:
                out[tid] = PropagationOutcome(box, False, "")
                continue
            others = [b for t, b in predicted.items() if t != tid]
            res = refine_box(box, self.points_world, exclude_boxes=others, **self.refine_options)  # type: ignore[arg-type]
            out[tid] = PropagationOutcome(res.box, res.ok, res.reason)
        if not any(o.box is not None for o in out.values()):
            reasons = "; ".join(f"track {t}: {o.reason}" for t, o in sorted(out.items())) or "no box at that frame"
            raise ModelError(f"nothing to propagate from frame {frame} to {target} ({reasons})")
        return out

    def apply(self, doc: AnnotationDocument) -> None:
        if self.outcomes is None:
            self.outcomes = self._plan(doc)
        done: list[int] = []
        previous: dict[int, Box3D | None] = {}
        try:
            for tid, o in sorted(self.outcomes.items()):
                if o.box is not None:
                    previous[tid] = doc._set_keyframe(tid, self.target, o.box)
                    done.append(tid)
        except BaseException:
            for tid in reversed(done):
                self._restore(doc, tid, previous[tid])
            raise
        self._previous = previous

    def _restore(self, doc: AnnotationDocument, tid: int, box: Box3D | None) -> None:
        if box is None:
            doc._remove_keyframe(tid, self.target)
        else:
            doc._set_keyframe(tid, self.target, box)

    def revert(self, doc: AnnotationDocument) -> None:
        for tid in sorted(self._previous, reverse=True):
            self._restore(doc, tid, self._previous[tid])

    @property
    def propagated(self) -> list[int]:
        """Ids of the tracks that got a box at the target frame."""
        return sorted(t for t, o in (self.outcomes or {}).items() if o.box is not None)



# ---- "bring the selected box to this frame" -------------------------------------------------------
@dataclass(frozen=True)
class BringPlan:
    """How a track's box is brought to a frame (:func:`bring_plan`): ``action`` is
    ``"has_keyframe"`` (nothing to do), ``"make_keyframe"`` (the interpolated or tracked box shown
    there becomes a keyframe as it is) or ``"propagate"`` (:class:`PropagateBoxes` from frame
    ``source``)."""

    action: str
    source: int | None = None


def bring_plan(track: Track, frame: int, times_ns: FrameTimes | None = None) -> BringPlan:
    """The policy of "bring the box to this frame" for ``track`` at ``frame``: a keyframe there
    stays; an interpolated or tracked box there becomes a keyframe as the labeler sees it;
    otherwise the box is propagated from the track's nearest box: after the last keyframe (held,
    or past the track's end) from the latest keyframe or tracked box before ``frame``, before the
    first from the earliest one after it, inside a gap from the nearest keyframe (earlier on a
    tie; the propagation then refuses the gap). ModelError when the track has no box at all."""
    frame = int(frame)
    if track.is_keyframe(frame):
        return BringPlan("has_keyframe")
    if track.box_state(frame, times_ns) in ("interpolated", "tracked"):
        return BringPlan("make_keyframe")
    ks = track.keyframe_indices()
    anchors = sorted({*ks, *track.tracked})
    if not anchors:
        raise ModelError(f"track {track.track_id} has no box to bring to frame {frame}")
    if not ks:  # tracked boxes only: the nearest one
        return BringPlan("propagate", min(anchors, key=lambda a: (abs(a - frame), a)))
    if frame > ks[-1]:
        return BringPlan("propagate", max(a for a in anchors if a < frame))
    if frame < ks[0]:
        return BringPlan("propagate", min(a for a in anchors if a > frame))
    return BringPlan("propagate", min(ks, key=lambda k: (abs(k - frame), k)))
