"""Keyframe interpolation of world-frame boxes: linear and smooth, gap-aware, time-aware.

A track stores keyframes only (frame index -> world-frame :class:`~fusionlabel.box.Box3D`);
this module computes the boxes between them. Everything here is in the ``world`` frame (metres,
radians), so the ego's own motion never bends a path.

Methods (``METHODS``):

- ``"linear"``: centre and size linearly, yaw along the shortest arc.
- ``"smooth"`` (the default): cubic Hermite curve of the xy centre whose end tangents follow the
  keyframes' headings (``heading-consistent``) with the speed estimated from the neighbouring
  keyframes, and the yaw taken along the curve; this follows turns and lane changes that a
  straight chord cuts. A segment whose motion disagrees with the boxes' headings (a pedestrian
  side-stepping, a mislabelled heading) uses Catmull-Rom tangents (finite differences of the
  positions) and a shortest-arc yaw instead; a segment that barely moves (< ``MOVE_EPS``) is
  linear. z and size are linear in every method, so a size stays constant unless a keyframe
  changes it.

Time: when frame timestamps are given (integer ns, a sequence indexed by frame or a mapping
frame -> ns), the curve is parameterised by time, so jittered sensor rates do not distort speed;
without them frames are uniformly spaced.

Gaps: ``gaps`` are inclusive frame intervals ``(first, last)`` where the object is absent
(occluded, out of view). A gap frame has no box unless it is a keyframe, and interpolation never
crosses a gap: the keyframes split into *pieces* (runs of keyframes with no gap frame between
them) that are interpolated independently.

Extrapolation past the first or last keyframe of a piece is off by default; when asked for it is
limited to ``MAX_EXTRAPOLATION_FRAMES`` frames and uses a constant-velocity, constant-turn-rate
prediction from the piece's end.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from calib.transforms import rotation_to_ypr
from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError

#: Interpolation methods a track may use.
METHODS = ("linear", "smooth")
#: Method of new tracks.
DEFAULT_METHOD = "smooth"
#: Most frames a box may be extrapolated past the first / last keyframe of a piece.
MAX_EXTRAPOLATION_FRAMES = 10
#: A segment whose centre moves less than this (metres) is interpolated linearly.
MOVE_EPS = 0.25
#: A segment is heading-consistent when its chord is within this angle (rad) of the mean heading.
HEADING_TOL = math.radians(30.0)
#: The along-path yaw of a smooth segment is used only while it stays this close (rad) to the
#: shortest-arc yaw; otherwise the segment's yaw is the shortest arc.
PATH_YAW_TOL = math.radians(35.0)

#: Frame timestamps: a sequence indexed by frame, or a mapping frame -> timestamp (integer ns).
FrameTimes = Sequence[int] | Mapping[int, int]
#: Inclusive frame intervals (first, last) of a track's gaps.
Gaps = Sequence[tuple[int, int]]


def _wrap(a: float) -> float:
    """Angle in radians wrapped to (-pi, pi] (scalar; ``calib.transforms.wrap_angle`` semantics)."""
    w = math.remainder(a, 2.0 * math.pi)
    return math.pi if w <= -math.pi else w


# ---- gaps -----------------------------------------------------------------------------------------
def normalize_gaps(gaps: Iterable[Sequence[int]], where: str = "gaps") -> tuple[tuple[int, int], ...]:
    """Gaps as a sorted tuple of disjoint, non-adjacent inclusive ``(first, last)`` frame intervals
    (overlapping or touching intervals are merged). Raises ModelError for a non-integer or
    negative frame, or ``first > last``."""
    out: list[tuple[int, int]] = []
    items = []
    for g in gaps:
        try:
            a, b = g
        except (TypeError, ValueError):
            raise ModelError(f"{where}: a gap must be a (first, last) pair, got {g!r}") from None
        for v in (a, b):
            if isinstance(v, bool) or not isinstance(v, int) and not _is_np_int(v):
                raise ModelError(f"{where}: gap frames must be integers, got {g!r}")
        a, b = int(a), int(b)
        if a < 0 or b < a:
            raise ModelError(f"{where}: a gap needs 0 <= first <= last, got {(a, b)}")
        items.append((a, b))
    for a, b in sorted(items):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def _is_np_int(v: object) -> bool:
    return type(v).__module__ == "numpy" and hasattr(v, "__index__") and not isinstance(v, float)


def in_gap(gaps: Gaps, frame: int) -> bool:
    """True when ``frame`` lies in one of the (normalised) ``gaps``."""
    i = bisect.bisect_right(gaps, (frame, math.inf)) - 1
    return i >= 0 and gaps[i][0] <= frame <= gaps[i][1]


def gap_between(gaps: Gaps, lo: int, hi: int) -> bool:
    """True when a gap frame lies in the inclusive range ``[lo, hi]`` (False when ``lo > hi``)."""
    if lo > hi:
        return False
    i = bisect.bisect_right(gaps, (hi, math.inf)) - 1  # last gap starting at or before hi
    return i >= 0 and gaps[i][1] >= lo


def pieces(keyframe_frames: Iterable[int], gaps: Gaps = ()) -> list[list[int]]:
    """Sorted keyframe frames split into runs with no gap frame between consecutive ones."""
    out: list[list[int]] = []
    for f in sorted(keyframe_frames):
        if out and not gap_between(gaps, out[-1][-1] + 1, f - 1):
            out[-1].append(f)
        else:
            out.append([f])
    return out


# ---- time -----------------------------------------------------------------------------------------
def time_between(first: int, second: int, times_ns: FrameTimes | None) -> float:
    """``time(second) - time(first)``: seconds from the timestamps (exact integer difference), or
    frames without them."""
    if times_ns is None:
        return float(second - first)
    ns = []
    for f in (first, second):
        try:
            ns.append(int(times_ns[f]))
        except (IndexError, KeyError):
            raise ModelError(f"no timestamp for frame {f}") from None
    return (ns[1] - ns[0]) * 1e-9


def _times(frames: Sequence[int], times_ns: FrameTimes | None) -> list[float]:
    """Times (s, or frame units) of increasing ``frames``, relative to the first; checks that they
    increase strictly."""
    if times_ns is None:
        return [float(f - frames[0]) for f in frames]
    t0 = int(times_ns[frames[0]]) if frames else 0
    out = []
    for f in frames:
        try:
            out.append((int(times_ns[f]) - t0) * 1e-9)
        except (IndexError, KeyError):
            raise ModelError(f"no timestamp for frame {f}") from None
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            raise ModelError(f"frame timestamps must increase: frame {frames[i]} is not after {frames[i - 1]}")
    return out


# ---- pairwise blends ------------------------------------------------------------------------------
def lerp_box(a: Box3D, b: Box3D, t: float) -> Box3D:
    """Linear blend of two world-frame boxes at ``t`` in [0, 1]: centre and size linearly, yaw
    along the shortest arc (never the long way round through a flip). When either box is tilted
    the whole rotation is interpolated on the rotation group (spherical, shortest way)."""
    dyaw = _wrap(b.yaw - a.yaw)
    center = tuple(ca + t * (cb - ca) for ca, cb in zip(a.center, b.center, strict=True))
    size = tuple(sa + t * (sb - sa) for sa, sb in zip(a.size, b.size, strict=True))
    if a.tilted or b.tilted:
        R = Slerp([0.0, 1.0], Rotation.from_matrix(np.stack([a.rotation(), b.rotation()])))([t]).as_matrix()[0]
        yaw, pitch, roll = rotation_to_ypr(R)
        return Box3D(center, size, yaw, roll, pitch)  # type: ignore[arg-type]
    return Box3D(center, size, a.yaw + t * dyaw)  # type: ignore[arg-type]


# ---- smooth segments ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Segment:
    """Geometry of the segment between two consecutive keyframes of a piece."""

    dx: float
    dy: float
    dt: float  # > 0
    dyaw: float  # shortest arc b.yaw - a.yaw
    sign: float  # +1 driving forwards (along the heading), -1 backwards
    speed: float  # arc length / dt
    moving: bool
    consistent: bool  # chord agrees with the mean heading

    @classmethod
    def of(cls, a: Box3D, b: Box3D, dt: float) -> _Segment:
        dx, dy = b.center[0] - a.center[0], b.center[1] - a.center[1]
        chord = math.hypot(dx, dy)
        dyaw = float(_wrap(b.yaw - a.yaw))
        mid = a.yaw + dyaw / 2.0
        sign = 1.0 if dx * math.cos(mid) + dy * math.sin(mid) >= 0.0 else -1.0
        half = abs(dyaw) / 2.0
        arc = chord * (half / math.sin(half)) if half > 1e-6 else chord  # a circular arc's length
        moving = chord >= MOVE_EPS
        consistent = moving and abs(_wrap(math.atan2(sign * dy, sign * dx) - mid)) <= HEADING_TOL
        return cls(dx, dy, dt, dyaw, sign, arc / dt, moving, consistent)


def _weights(left: _Segment, right: _Segment) -> tuple[float, float]:
    """Weights of the segments before and after a keyframe: each weighted by the other's duration
    (second-order accurate for uneven spacing)."""
    total = left.dt + right.dt
    return right.dt / total, left.dt / total


def _speed_at(left: _Segment | None, right: _Segment | None) -> float:
    """Speed estimate at a keyframe from the segments before / after it (one-sided at the ends)."""
    if left is None or right is None:
        one = left or right
        return 0.0 if one is None else one.speed
    wl, wr = _weights(left, right)
    return wl * left.speed + wr * right.speed


def _end_speed(seg_speed: float, inner: float) -> float:
    """Speed at a piece's end keyframe: the end segment's mean speed (reached mid-segment)
    extrapolated linearly past the inner keyframe's speed ``inner``, kept within 50 % of it."""
    return min(max(2.0 * seg_speed - inner, 0.5 * seg_speed), 1.5 * seg_speed)


def _velocity_at(left: _Segment | None, right: _Segment | None) -> tuple[float, float]:
    """Finite-difference xy velocity at a keyframe (Catmull-Rom tangent; one-sided at the ends)."""
    if left is None or right is None:
        one = left or right
        return (0.0, 0.0) if one is None else (one.dx / one.dt, one.dy / one.dt)
    wl, wr = _weights(left, right)
    return (wl * left.dx / left.dt + wr * right.dx / right.dt, wl * left.dy / left.dt + wr * right.dy / right.dt)


def _hermite(p0: float, m0: float, p1: float, m1: float, s: float) -> tuple[float, float]:
    """Cubic Hermite value and derivative (per unit ``s``) at ``s`` in [0, 1]."""
    s2, s3 = s * s, s * s * s
    val = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * m1
    der = (6 * s2 - 6 * s) * p0 + (3 * s2 - 4 * s + 1) * m0 + (-6 * s2 + 6 * s) * p1 + (3 * s2 - 2 * s) * m1
    return val, der


class _SmoothSegment:
    """The smooth curve between keyframes ``a`` and ``b`` (xy Hermite, path yaw when valid)."""

    def __init__(self, a: Box3D, b: Box3D, seg: _Segment, prev: _Segment | None, nxt: _Segment | None) -> None:
        self.a, self.b, self.seg = a, b, seg
        self.kind = "linear"
        if not seg.moving:
            return
        if seg.consistent:
            u0, u1 = _speed_at(prev, seg), _speed_at(seg, nxt)
            # at a piece's end, extrapolate the speed trend (accelerating / braking) of the inner side
            if prev is None and nxt is not None:
                u0 = _end_speed(seg.speed, u1)
            if nxt is None and prev is not None:
                u1 = _end_speed(seg.speed, u0)
            k = seg.sign * seg.dt
            self.m0 = (k * u0 * math.cos(a.yaw), k * u0 * math.sin(a.yaw))
            self.m1 = (k * u1 * math.cos(b.yaw), k * u1 * math.sin(b.yaw))
            self.kind = "heading"
            # the along-path yaw is used only when it stays close to the shortest-arc yaw
            for s in (0.25, 0.5, 0.75):
                if abs(_wrap(self._path_yaw(s) - (a.yaw + s * seg.dyaw))) > PATH_YAW_TOL:
                    self.kind = "heading_arc_yaw"
                    break
        else:
            v0, v1 = _velocity_at(prev, seg), _velocity_at(seg, nxt)
            self.m0 = (v0[0] * seg.dt, v0[1] * seg.dt)
            self.m1 = (v1[0] * seg.dt, v1[1] * seg.dt)
            self.kind = "catmull_rom"

    def _xy(self, s: float) -> tuple[float, float, float, float]:
        (ax, ay, _), (bx, by, _) = self.a.center, self.b.center
        x, dx = _hermite(ax, self.m0[0], bx, self.m1[0], s)
        y, dy = _hermite(ay, self.m0[1], by, self.m1[1], s)
        return x, y, dx, dy

    def _path_yaw(self, s: float) -> float:
        _, _, dx, dy = self._xy(s)
        if math.hypot(dx, dy) < 1e-9:
            return self.a.yaw + s * self.seg.dyaw
        return math.atan2(self.seg.sign * dy, self.seg.sign * dx)

    def at(self, s: float) -> Box3D:
        lin = lerp_box(self.a, self.b, s)
        if self.kind == "linear":
            return lin
        x, y, dx, dy = self._xy(s)
        yaw = lin.yaw
        if self.kind == "heading" and math.hypot(dx, dy) > 1e-9:
            yaw = math.atan2(self.seg.sign * dy, self.seg.sign * dx)
        return Box3D((x, y, lin.center[2]), lin.size, yaw, lin.roll, lin.pitch)


# ---- prediction (extrapolation, propagation) ------------------------------------------------------
def predict_box(box: Box3D, velocity: Sequence[float], yaw_rate: float, dt: float) -> Box3D:
    """Box after ``dt`` under a constant speed and constant turn rate (CTRV) motion.

    ``velocity`` is the world-frame (vx, vy[, vz]) of the centre and ``yaw_rate`` the turn rate
    (rad per time unit, the same unit as ``dt``: seconds with timestamps, frames without); the
    velocity vector turns with the yaw. Size is kept.
    """
    vx, vy = float(velocity[0]), float(velocity[1])
    vz = float(velocity[2]) if len(velocity) > 2 else 0.0
    x, y, z = box.center
    w = float(yaw_rate)
    if abs(w * dt) < 1e-9:
        nx, ny = x + vx * dt, y + vy * dt
    else:
        c, s = math.cos(w * dt), math.sin(w * dt)
        # integral of R(w t) v over [0, dt]
        ix, iy = s / w, (1.0 - c) / w
        nx, ny = x + ix * vx - iy * vy, y + iy * vx + ix * vy
    return Box3D((nx, ny, z + vz * dt), box.size, box.yaw + w * dt)


def end_motion(
    keys: Sequence[tuple[float, Box3D]], at_end: bool, method: str
) -> tuple[tuple[float, float, float], float]:
    """World velocity (vx, vy, vz) and yaw rate at the first (``at_end`` False) or last keyframe of
    a piece given as ``(time, box)`` pairs in time order; zero motion for a single keyframe.

    ``smooth``: the speed along the heading (sign of travel kept) and the segment's turn rate;
    ``linear``: the chord velocity of the end segment and its turn rate.
    """
    if len(keys) < 2:
        return (0.0, 0.0, 0.0), 0.0
    (t0, a), (t1, b) = (keys[-2], keys[-1]) if at_end else (keys[0], keys[1])
    dt = t1 - t0
    seg = _Segment.of(a, b, dt)
    vz = (b.center[2] - a.center[2]) / dt
    rate = seg.dyaw / dt
    if method == "smooth" and seg.consistent:
        box = b if at_end else a
        v = seg.sign * seg.speed
        return (v * math.cos(box.yaw), v * math.sin(box.yaw), vz), rate
    if method == "smooth" and not seg.moving:
        return (0.0, 0.0, 0.0), 0.0
    return (seg.dx / dt, seg.dy / dt, vz), rate


# ---- evaluation -----------------------------------------------------------------------------------
def check_method(method: str, where: str = "interpolation") -> str:
    """``method`` if it is one of ``METHODS``, else ModelError naming it."""
    if method not in METHODS:
        raise ModelError(f"{where}: unknown interpolation {method!r} (expected one of {METHODS})")
    return method


def check_extrapolation(extrapolate: int) -> int:
    """``extrapolate`` (frames) if in ``[0, MAX_EXTRAPOLATION_FRAMES]``, else ModelError."""
    if isinstance(extrapolate, bool) or not isinstance(extrapolate, int) and not _is_np_int(extrapolate):
        raise ModelError(f"extrapolation must be a number of frames, got {extrapolate!r}")
    if not 0 <= int(extrapolate) <= MAX_EXTRAPOLATION_FRAMES:
        raise ModelError(f"extrapolation must be 0..{MAX_EXTRAPOLATION_FRAMES} frames, got {extrapolate}")
    return int(extrapolate)


def interpolate_boxes_at(
    keyframes: Mapping[int, Box3D],
    frames: Iterable[int],
    method: str = DEFAULT_METHOD,
    gaps: Gaps = (),
    times_ns: FrameTimes | None = None,
    extrapolate: int = 0,
) -> list[Box3D | None]:
    """World-frame boxes of a track at ``frames``: the keyframe box, an interpolated box, an
    extrapolated box (at most ``extrapolate`` frames past a piece's end) or None (outside the
    track, in a gap, or between a piece's end and a gap).

    ``keyframes`` maps frame -> world box; ``gaps`` are normalised inclusive intervals (see
    :func:`normalize_gaps`); ``times_ns`` gives frame timestamps (integer ns) or None for
    uniform frames. Each box needs at most four keyframes (the segment and its neighbours), and
    evaluating many frames at once shares the per-segment setup.
    """
    check_method(method)
    extrapolate = check_extrapolation(extrapolate)
    ks = sorted(keyframes)
    frames = list(frames)
    segments: dict[int, _SmoothSegment] = {}

    def linked(i: int, j: int) -> bool:
        """Keyframes ``ks[i]`` and ``ks[j] (j = i + 1)`` exist and are in the same piece."""
        return 0 <= i and j < len(ks) and not gap_between(gaps, ks[i] + 1, ks[j] - 1)

    def keys(lo: int, hi: int) -> list[tuple[float, Box3D]]:
        """(time, box) of keyframes ``ks[lo..hi]``, times relative to the first (checked increasing)."""
        sel = ks[lo:hi + 1]
        return list(zip(_times(sel, times_ns), (keyframes[f] for f in sel), strict=True))

    def smooth_segment(i: int) -> _SmoothSegment:
        if i not in segments:
            lo = i - 1 if linked(i - 1, i) else i
            hi = i + 2 if linked(i + 1, i + 2) else i + 1
            kk = keys(lo, hi)
            segs = [_Segment.of(kk[j][1], kk[j + 1][1], kk[j + 1][0] - kk[j][0]) for j in range(len(kk) - 1)]
            mid = i - lo
            segments[i] = _SmoothSegment(
                kk[mid][1], kk[mid + 1][1], segs[mid], segs[mid - 1] if mid > 0 else None,
                segs[mid + 1] if mid + 1 < len(segs) else None,
            )
        return segments[i]

    out: list[Box3D | None] = []
    for f in frames:
        f = int(f)
        box = keyframes.get(f)
        if box is not None:
            out.append(box)
            continue
        if not ks or in_gap(gaps, f):
            out.append(None)
            continue
        j = bisect.bisect_left(ks, f)
        if linked(j - 1, j):  # between two keyframes of one piece
            left, right = ks[j - 1], ks[j]
            _, t, t1 = _times([left, f, right], times_ns)  # raises unless the times increase
            s = t / t1
            a, b = keyframes[left], keyframes[right]
            out.append(lerp_box(a, b, s) if method == "linear" else smooth_segment(j - 1).at(s))
            continue
        # outside a piece: extrapolate from the nearer reachable end, if allowed
        box = None
        if extrapolate:
            if j > 0 and f - ks[j - 1] <= extrapolate and not gap_between(gaps, ks[j - 1] + 1, f):
                end = keys(j - 2 if linked(j - 2, j - 1) else j - 1, j - 1)
                vel, rate = end_motion(end, True, method)
                dt = _times([ks[j - 1], f], times_ns)[1]
                box = predict_box(end[-1][1], vel, rate, dt)
            elif j < len(ks) and ks[j] - f <= extrapolate and not gap_between(gaps, f, ks[j] - 1):
                end = keys(j, j + 1 if linked(j, j + 1) else j)
                vel, rate = end_motion(end, False, method)
                dt = -_times([f, ks[j]], times_ns)[1]
                box = predict_box(end[0][1], vel, rate, dt)
        out.append(box)
    return out


def covered_frames(keyframe_frames: Iterable[int], gaps: Gaps = ()) -> list[int]:
    """Frames on which a track has a box without extrapolation: each piece's frames from its first
    to its last keyframe (gap frames excluded unless they are keyframes), ascending."""
    out: list[int] = []
    for run in pieces(keyframe_frames, gaps):
        out.extend(range(run[0], run[-1] + 1))
    return out


def affected_frames(keyframe_frames: Iterable[int], frame: int, method: str, gaps: Gaps = ()) -> range:
    """Frames whose box may change when the keyframe at ``frame`` is set, moved or removed (the
    other keyframes being ``keyframe_frames``): the linear method reaches the neighbouring
    keyframes, the smooth one two keyframes each side (its tangents use the neighbours)."""
    ks = sorted(k for k in keyframe_frames if k != frame)
    reach = 1 if method == "linear" else 2
    j = bisect.bisect_left(ks, frame)
    before, after = ks[max(0, j - reach):j], ks[j:j + reach]
    lo = before[0] + 1 if before else frame
    hi = after[-1] - 1 if after else frame
    return range(min(lo, frame), max(hi, frame) + 1)
