"""A track's motion fitted over time: velocity and turn rate from all of its boxes, with limits per
class (prediction for propagation and auto-tracking).

Frame: every box is a world-frame :class:`~fusionlabel.box.Box3D` (the scene stands still, so a
parked car's boxes do not move). Time: seconds (from integer-ns frame timestamps), or frames times
``FRAME_PERIOD_S`` when a sequence has no timestamps, so that the limits (m/s, rad/s) mean the same.

The model (:func:`fit_motion`) is fitted around a reference time from weighted samples ``(t, box,
weight)`` (keyframes weigh 1, tracked boxes their confidence), each weighted further by
``exp(-|t - t_ref| / TIME_SCALE_S)``; at most ``MAX_SAMPLES`` samples nearest the reference, at most
``WINDOW_S`` away, are used:

- **speed**: the slope of a weighted least-squares line through the cumulative *signed arc length*
  of the centre path (each step between consecutive samples counts as a circular arc whose turn is
  the step's change of yaw, + when travelling along the heading, - against it): a turning car's
  speed is not shortened to its chords, and one step's noise does not decide it.
- **direction**: along the heading (the box's yaw, or its opposite when reversing) when the path
  agrees with the headings (chord within ``HEADING_TOL`` of them); otherwise the weighted
  least-squares velocity vector (a walker side-stepping, a heading not yet set).
- **turn rate**: the slope of a weighted least-squares line through the yaws (unwrapped, each
  relative to its predecessor), so one frame's step does not decide it either.
- **moving**: the speed is at least the class's ``min_speed`` and the path length over the samples'
  time span at least ``min_travel`` (the noise of a labelled position); a still object gets no
  velocity and no turn (a parked car's boxes never drift, and its heading is never taken from the
  motion).
- **limits**: speed within ``max_speed``, turn rate within ``max_turn_rate`` and, for wheeled
  classes, within ``speed / min_turn_radius`` (a car does not turn on the spot) of the class kind
  (:func:`class_kind`: walkers, ridden classes, vehicles; static classes never move).

:meth:`MotionModel.predict` carries a box by that motion for ``dt`` seconds (constant speed and
turn rate, :func:`fusionlabel.interpolation.predict_box`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import FrameTimes, gap_between, predict_box
from fusionlabel.ontology import ClassSpec, Ontology

#: Classes whose longest plausible length is below this (m) are people and bikes; a typical length
#: of at least ``RIDDEN_LENGTH`` m makes a small class ridden (bikes, scooters).
SMALL_LENGTH = 3.0
RIDDEN_LENGTH = 1.2
#: Seconds per frame assumed when a sequence has no timestamps.
FRAME_PERIOD_S = 0.1
#: Time scale (s) of the samples' weights, the farthest sample (s) and the most samples used.
TIME_SCALE_S = 1.5
WINDOW_S = 4.0
MAX_SAMPLES = 8
#: The path agrees with the headings when its chord is within this angle (rad) of them.
HEADING_TOL = math.radians(30.0)


@dataclass(frozen=True)
class MotionLimits:
    """Limits of a class kind: ``max_speed`` (m/s), ``max_turn_rate`` (rad/s), ``min_speed``
    (m/s) and ``min_travel`` (m over the samples' span) below which it counts as standing still,
    and ``min_turn_radius`` (m): a wheeled object turns at most ``speed / min_turn_radius`` (it
    cannot turn on the spot; 0 for walkers)."""

    max_speed: float
    max_turn_rate: float
    min_speed: float
    min_travel: float
    min_turn_radius: float = 0.0

    def turn_rate_limit(self, speed: float) -> float:
        """Largest turn rate (rad/s) at ``speed`` (m/s)."""
        if self.min_turn_radius <= 0:
            return self.max_turn_rate
        return min(self.max_turn_rate, abs(speed) / self.min_turn_radius)


#: Limits per class kind (see :func:`class_kind`). A walker's 0.3 m/s is a slow shuffle (the old
#: 0.25 m-per-frame threshold froze everything under 2.5 m/s); a vehicle's turn rate reaches
#: 1.2 rad/s when manoeuvring slowly.
LIMITS: dict[str, MotionLimits] = {
    "walker": MotionLimits(max_speed=4.0, max_turn_rate=2.0, min_speed=0.3, min_travel=0.1),
    "ridden": MotionLimits(max_speed=15.0, max_turn_rate=1.5, min_speed=0.5, min_travel=0.15, min_turn_radius=2.0),
    "vehicle": MotionLimits(max_speed=40.0, max_turn_rate=1.2, min_speed=0.5, min_travel=0.2, min_turn_radius=4.0),
    "static": MotionLimits(max_speed=0.0, max_turn_rate=0.0, min_speed=math.inf, min_travel=math.inf),
}


def class_kind(spec: ClassSpec | None) -> str:
    """``"walker"``, ``"ridden"``, ``"vehicle"`` or ``"static"`` (cones, barriers, debris: classes
    mapped to nuScenes ``movable_object.*`` / ``static_object.*``); None counts as a vehicle."""
    if spec is None:
        return "vehicle"
    if spec.nuscenes is not None and spec.nuscenes.split(".")[0] in ("movable_object", "static_object"):
        return "static"
    if spec.size.max[0] < SMALL_LENGTH:
        return "ridden" if spec.size.mean[0] >= RIDDEN_LENGTH else "walker"
    return "vehicle"


def limits_for(label: str, ontology: Ontology | None = None) -> MotionLimits:
    """The motion limits of a class label (the default ontology when None; an unknown label counts
    as a vehicle)."""
    onto = ontology or Ontology.default()
    return LIMITS[class_kind(onto.get(label))]


def _wrap(a: float) -> float:
    w = math.remainder(a, 2.0 * math.pi)
    return math.pi if w <= -math.pi else w


def _line_slope(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Slope of the weighted least-squares line ``y = a + b t`` (0 when ``t`` has no spread)."""
    sw = float(w.sum())
    if sw <= 0:
        return 0.0
    tm, ym = float((w * t).sum()) / sw, float((w * y).sum()) / sw
    var = float((w * (t - tm) ** 2).sum())
    if var <= 1e-12:
        return 0.0
    return float((w * (t - tm) * (y - ym)).sum()) / var


@dataclass(frozen=True)
class MotionModel:
    """An object's motion at time ``t_ref`` (s): ``speed`` (m/s, signed: negative when travelling
    against the heading), ``velocity`` (vx, vy) m/s in the world frame at the reference box's
    yaw, ``turn_rate`` (rad/s), ``moving``, ``along_heading`` (the velocity follows the heading
    and turns with it), and the number of samples it was fitted to."""

    t_ref: float
    speed: float
    velocity: tuple[float, float]
    turn_rate: float
    moving: bool
    along_heading: bool
    samples: int

    @classmethod
    def still(cls, t_ref: float = 0.0, samples: int = 0) -> MotionModel:
        return cls(t_ref, 0.0, (0.0, 0.0), 0.0, False, True, samples)

    def velocity_for(self, box: Box3D) -> tuple[float, float]:
        """World velocity (m/s) of ``box`` under this motion: along its heading when the motion
        follows the heading, else the fitted vector."""
        if not self.moving:
            return (0.0, 0.0)
        if self.along_heading:
            return (self.speed * math.cos(box.yaw), self.speed * math.sin(box.yaw))
        return self.velocity

    def predict(self, box: Box3D, dt: float) -> Box3D:
        """``box`` carried ``dt`` seconds (negative: into the past) by this motion; size and z kept."""
        if not self.moving or dt == 0.0:
            return box
        return predict_box(box, self.velocity_for(box), self.turn_rate, dt)


def fit_motion(
    samples: Sequence[tuple[float, Box3D, float]],
    t_ref: float,
    limits: MotionLimits,
    ref_yaw: float | None = None,
) -> MotionModel:
    """Fit a :class:`MotionModel` at ``t_ref`` (s) from ``samples`` ``(t s, world box, weight >= 0)``
    (any order; see the module doc). ``ref_yaw``: the heading at ``t_ref`` (default: that of the
    sample nearest it). Fewer than two samples, or samples at one time, give a still model."""
    pts = [(float(t), b, float(w)) for t, b, w in samples if w > 0]
    if not pts:
        return MotionModel.still(t_ref)
    pts.sort(key=lambda s: abs(s[0] - t_ref))
    pts = [s for s in pts if abs(s[0] - t_ref) <= WINDOW_S][:MAX_SAMPLES] or pts[:1]
    pts.sort(key=lambda s: s[0])
    if len(pts) < 2 or pts[-1][0] - pts[0][0] <= 1e-9:
        return MotionModel.still(t_ref, len(pts))
    t = np.array([s[0] for s in pts])
    w = np.array([s[2] for s in pts]) * np.exp(-np.abs(t - t_ref) / TIME_SCALE_S)
    xy = np.array([s[1].center[:2] for s in pts])
    yaws = [pts[0][1].yaw]
    for s in pts[1:]:
        yaws.append(yaws[-1] + _wrap(s[1].yaw - yaws[-1]))
    yaw = np.array(yaws)
    # signed arc length along the path, each step a circular arc turning by its change of yaw
    arc = [0.0]
    for k in range(1, len(pts)):
        d = xy[k] - xy[k - 1]
        chord = float(np.hypot(*d))
        half = abs(yaw[k] - yaw[k - 1]) / 2.0
        length = chord * (half / math.sin(half)) if 1e-6 < half < math.pi / 2 else chord
        mid = 0.5 * (yaw[k] + yaw[k - 1])
        sign = 1.0 if d[0] * math.cos(mid) + d[1] * math.sin(mid) >= 0.0 else -1.0
        arc.append(arc[-1] + sign * length)
    s_arc = np.array(arc)
    speed = _line_slope(t, s_arc, w)
    vel = np.array([_line_slope(t, xy[:, 0], w), _line_slope(t, xy[:, 1], w)])
    rate = _line_slope(t, yaw, w)
    span = float(t[-1] - t[0])
    travel = float(np.hypot(*(xy[-1] - xy[0])))
    moving = abs(speed) >= limits.min_speed and max(travel, abs(speed) * span) >= limits.min_travel
    moving = moving or (float(np.hypot(*vel)) >= limits.min_speed and travel >= limits.min_travel)
    if not moving:
        return MotionModel.still(t_ref, len(pts))
    # does the path follow the headings? (chord of the samples against their mean heading)
    chord = xy[-1] - xy[0]
    mean_yaw = float(np.average(yaw, weights=np.maximum(w, 1e-12)))
    off = abs(_wrap(math.atan2(chord[1], chord[0]) - mean_yaw))
    along = min(off, math.pi - off) <= HEADING_TOL if travel > 1e-9 else True
    if ref_yaw is None:
        ref_yaw = pts[int(np.argmin(np.abs(t - t_ref)))][1].yaw
    vmax = limits.max_speed
    if along:
        speed = float(np.clip(speed, -vmax, vmax))
        v = (speed * math.cos(ref_yaw), speed * math.sin(ref_yaw))
        wmax = limits.turn_rate_limit(speed)
        rate = float(np.clip(rate, -wmax, wmax))
    else:
        n = float(np.hypot(*vel))
        vel = vel * (min(n, vmax) / n) if n > 0 else vel
        speed, v = float(min(n, vmax)), (float(vel[0]), float(vel[1]))
        wmax = limits.turn_rate_limit(speed)
        rate = float(np.clip(rate, -wmax, wmax)) if abs(rate) * span > math.radians(5.0) else 0.0
    return MotionModel(t_ref, float(speed), (float(v[0]), float(v[1])), rate, True, along, len(pts))


def frame_seconds(frames: Iterable[int], times_ns: FrameTimes | None, origin: int | None = None) -> dict[int, float]:
    """Seconds of ``frames`` relative to frame ``origin`` (default: the first given), from the
    integer-ns timestamps (``FRAME_PERIOD_S`` per frame without them)."""
    fl = [int(f) for f in frames]
    if not fl:
        return {}
    o = fl[0] if origin is None else int(origin)
    if times_ns is None:
        return {f: (f - o) * FRAME_PERIOD_S for f in fl}
    out: dict[int, float] = {}
    for f in [o, *fl]:
        try:
            out[f] = int(times_ns[f]) * 1e-9
        except (IndexError, KeyError):
            raise ModelError(f"no timestamp for frame {f}") from None
    t0 = out[o]
    return {f: out[f] - t0 for f in fl}


def track_samples(
    keyframes: Mapping[int, Box3D],
    frame: int,
    times_ns: FrameTimes | None,
    gaps: Sequence[tuple[int, int]] = (),
    tracked: Mapping[int, Box3D] | None = None,
    tracked_confidence: Mapping[int, float] | None = None,
) -> list[tuple[float, Box3D, float]]:
    """Samples ``(t s relative to frame, box, weight)`` of a track for :func:`fit_motion`: its
    keyframes (weight 1) and tracked boxes (weight: their confidence, 0.5 when unknown; a keyframe
    wins at its frame) that no gap separates from ``frame``."""
    boxes: dict[int, tuple[Box3D, float]] = {}
    for f, b in (tracked or {}).items():
        boxes[int(f)] = (b, float((tracked_confidence or {}).get(f, 0.5)))
    for f, b in keyframes.items():
        boxes[int(f)] = (b, 1.0)
    linked = [f for f in boxes if not gap_between(gaps, min(f, frame) + 1, max(f, frame) - 1)]
    secs = frame_seconds([frame, *linked], times_ns, frame)
    return [(secs[f], boxes[f][0], boxes[f][1]) for f in sorted(linked)]
