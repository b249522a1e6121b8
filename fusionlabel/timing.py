"""Sensor timing: the ego pose, a track's box and a sweep's points at any capture time.

Every sensor sample has its own capture time (docs/timing.md): a camera image is exposed tens of
milliseconds away from the LiDAR sweep time, and a spinning LiDAR takes a whole frame period per
sweep. This module, Qt-free and format-free, gives what the views and exports need for that:

- :class:`EgoClock`: the ego pose ``T_world_from_ego`` (4, 4) at any time (ns), interpolated
  between the frames' poses (rotation by slerp, translation linearly; extrapolated from the
  nearest pair of frames outside the sequence).
- :func:`track_box_at_time`: a track's world box at any time: the track's boxes of the two frames
  around it blended linearly, or carried by the track's motion model
  (:mod:`fusionlabel.motion_model`) where only one side has a box.
- :class:`CaptureTiming`: one frame shown at one camera's capture time: ``T_cam_from_world`` from
  the ego pose at that time, and :meth:`CaptureTiming.corners_at` moving boxes drawn at the frame
  time (corners (B, 8, 3) world m) by their track's motion to the capture time (pre-label
  proposals, named ``(PROPOSAL, id)``, by their boxes at the neighbouring frames:
  :func:`proposal_box_at_time`).
- :func:`deskew_points`: a sweep whose points carry their own times (seconds relative to the
  frame time) motion-compensated through the ego poses: each point through the ego pose at its
  own time, into the world or into the sensor frame at the frame time.
- :func:`objects_to_frame_time`: moving objects' points of a deskewed sweep carried by their
  tracks' motion to the frame time, so that they lie in the boxes drawn at the frame.
- :func:`distance_outside_boxes`: how far points lie outside their objects' boxes taken at the
  points' own times (the check of deskewed sweeps).

Times are integer nanoseconds (absolute, as the frames' timestamps) unless a name says seconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation

from calib.transforms import invert
from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import lerp_box
from fusionlabel.motion_model import fit_motion, limits_for, track_samples

F64 = NDArray[np.float64]


# ---- ego poses at any time -----------------------------------------------------------------------
class EgoClock:
    """Ego poses ``T_world_from_ego`` of the frames (F, 4, 4) at their times (F,) integer ns,
    strictly increasing; the pose at any time by interpolation (see the module doc)."""

    def __init__(self, times_ns: Sequence[int], poses: ArrayLike) -> None:
        t = np.asarray([int(v) for v in times_ns], dtype=np.int64)
        P = np.asarray(poses, dtype=np.float64).reshape(-1, 4, 4)
        if len(t) == 0 or len(t) != len(P):
            raise ModelError(f"ego clock: need one pose per time, got {len(t)} times and {len(P)} poses")
        if np.any(np.diff(t) <= 0):
            raise ModelError("ego clock: frame times must increase strictly")
        if not np.isfinite(P).all():
            raise ModelError("ego clock: poses contain NaN or inf")
        self.times_ns = t
        self.poses = P
        self._t0 = int(t[0])
        self._secs = (t - self._t0) * 1e-9
        if len(t) > 1:  # rotation of each step, as a rotation vector in the earlier frame's axes
            rel = np.einsum("kji,kjl->kil", P[:-1, :3, :3], P[1:, :3, :3])
            self._steps = Rotation.from_matrix(rel).as_rotvec()
        else:
            self._steps = np.zeros((0, 3))

    @classmethod
    def from_sequence(cls, info: Any) -> EgoClock:
        """From a :class:`fusionlabel.model.SequenceInfo` (its frames' timestamps and poses)."""
        return cls([f.timestamp_ns for f in info.frames], np.stack([f.T_world_from_ego for f in info.frames]))

    def seconds(self, t_ns: int) -> float:
        """``t_ns`` as seconds since the first frame (float64, exact to the ns over hours)."""
        return (int(t_ns) - self._t0) * 1e-9

    def T_world_from_ego(self, t_ns: int) -> F64:
        """(4, 4) ego pose at time ``t_ns``."""
        return self.poses_at_seconds(np.array([self.seconds(t_ns)]))[0]

    def poses_at_seconds(self, secs: ArrayLike) -> F64:
        """(N, 4, 4) ego poses at ``secs`` (N,) seconds since the first frame."""
        s = np.asarray(secs, dtype=np.float64).reshape(-1)
        n = len(self._secs)
        out = np.tile(np.eye(4), (len(s), 1, 1))
        if n == 1:
            out[:] = self.poses[0]
            return out
        k = np.clip(np.searchsorted(self._secs, s, side="right") - 1, 0, n - 2)
        frac = (s - self._secs[k]) / (self._secs[k + 1] - self._secs[k])  # < 0 or > 1: extrapolated
        P0, P1 = self.poses[k], self.poses[k + 1]
        R = P0[:, :3, :3] @ Rotation.from_rotvec(self._steps[k] * frac[:, None]).as_matrix()
        out[:, :3, :3] = R
        out[:, :3, 3] = P0[:, :3, 3] + (P1[:, :3, 3] - P0[:, :3, 3]) * frac[:, None]
        return out


# ---- a track's box at any time -------------------------------------------------------------------
def _frame_bracket(times_ns: Sequence[int], t_ns: int) -> tuple[int, int]:
    """Frames ``(a, b)`` with ``time(a) <= t < time(b)`` (a == b outside the sequence or on a
    frame time)."""
    t = np.asarray(times_ns, dtype=np.int64)
    k = int(np.searchsorted(t, int(t_ns), side="right")) - 1
    if k < 0:
        return 0, 0
    if k >= len(t) - 1 or t[k] == t_ns:
        return k, k
    return k, k + 1


def track_box_at_time(doc: Any, track_id: int, t_ns: int, times_ns: Sequence[int] | None = None,
                      near_frame: int | None = None) -> Box3D | None:
    """World box of track ``track_id`` of ``doc`` (an ``AnnotationDocument``) at time ``t_ns``:
    the blend of its boxes at the two frames around ``t_ns``; where only one of them has a box (the
    track starts or ends there, the time lies outside the sequence) that box carried by the
    track's motion model to ``t_ns``. ``times_ns``: frame times (default the document's); None
    when the track has no box at either frame (nor at ``near_frame``, tried first otherwise)."""
    times = list(times_ns if times_ns is not None else (doc.frame_times_ns or ()))
    if not times:
        raise ModelError("track_box_at_time needs frame times (ns)")
    a, b = _frame_bracket(times, t_ns)
    ra, rb = doc.box_at(track_id, a), doc.box_at(track_id, b)
    if a == b and ra is not None and int(t_ns) == times[a]:
        return ra.box
    if a != b and ra is not None and rb is not None:
        return lerp_box(ra.box, rb.box, (int(t_ns) - times[a]) / (times[b] - times[a]))
    ref = ra or rb
    if ref is None and near_frame is not None:
        ref = doc.box_at(track_id, near_frame)
    if ref is None:
        return None
    track = doc.track(track_id)
    samples = track_samples(track.keyframes, ref.frame, times, track.gaps, track.tracked, track.tracked_confidence)
    model = fit_motion(samples, 0.0, limits_for(track.label), ref.box.yaw)
    return model.predict(ref.box, (int(t_ns) - times[ref.frame]) * 1e-9)


def box_pose(box: Box3D) -> F64:
    """(4, 4) ``T_world_from_box`` of a world box (centre, yaw about +z)."""
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    T = np.eye(4)
    T[:2, :2] = [[c, -s], [s, c]]
    T[:3, 3] = box.center
    return T


def box_motion(from_box: Box3D, to_box: Box3D) -> F64:
    """(4, 4) world -> world transform carrying ``from_box`` onto ``to_box`` (rigid: sizes are
    kept as drawn)."""
    return box_pose(to_box) @ invert(box_pose(from_box))


# ---- one frame seen at one camera's capture time -------------------------------------------------
@dataclass(frozen=True)
class CaptureTiming:
    """Frame ``frame`` (timestamp ``frame_ns``) shown in an image captured at ``capture_ns``.

    ``clock`` gives the ego pose at the capture time (unless the data recorded it:
    ``recorded_pose``, e.g. nuScenes' ego pose per image); ``doc`` (an ``AnnotationDocument``) the
    tracks' motion; ``times_ns`` the frame times. Build with :meth:`of`."""

    frame: int
    frame_ns: int
    capture_ns: int
    clock: EgoClock
    doc: Any
    times_ns: tuple[int, ...]
    recorded_pose: F64 | None = None

    @classmethod
    def of(cls, doc: Any, clock: EgoClock, frame: int, capture_ns: int,
           recorded_pose: ArrayLike | None = None) -> CaptureTiming:
        times = tuple(int(v) for v in clock.times_ns)
        pose = None if recorded_pose is None else np.asarray(recorded_pose, dtype=np.float64)
        return cls(int(frame), times[frame], int(capture_ns), clock, doc, times, pose)

    @property
    def offset_s(self) -> float:
        """Capture time minus frame time, seconds."""
        return (self.capture_ns - self.frame_ns) * 1e-9

    def T_world_from_ego(self) -> F64:
        """(4, 4) ego pose at the capture time."""
        if self.recorded_pose is not None:
            return self.recorded_pose
        return self.clock.T_world_from_ego(self.capture_ns)

    def ego_shift(self) -> F64:
        """(4, 4) world -> world ``T_world_from_ego(frame) @ inv(T_world_from_ego(capture))``: a
        pose ``T_cam_from_world`` of the frame time times this is the pose at the capture time."""
        return self.clock.poses[self.frame] @ invert(self.T_world_from_ego())

    def T_sensor_from_world(self, T_ego_from_sensor: ArrayLike) -> F64:
        """(4, 4) ``T_sensor_from_world`` at the capture time (e.g. ``T_cam_from_world``)."""
        return invert(self.T_world_from_ego() @ np.asarray(T_ego_from_sensor, dtype=np.float64))

    def track_motion(self, track_id: Hashable) -> F64 | None:
        """(4, 4) world -> world motion of a track from the frame time to the capture time, or
        None (no track of that id, or no box at the frame). ``(PROPOSAL, id)`` names a pre-label
        proposal (:func:`proposal_box_at_time`)."""
        if isinstance(track_id, tuple) and len(track_id) == 2 and track_id[0] == PROPOSAL:
            return self.proposal_motion(track_id[1])
        if not isinstance(track_id, (int, np.integer)) or isinstance(track_id, bool):
            return None
        try:
            ref = self.doc.box_at(int(track_id), self.frame)
        except (KeyError, ModelError):
            return None
        if ref is None:
            return None
        at = track_box_at_time(self.doc, int(track_id), self.capture_ns, self.times_ns, self.frame)
        return None if at is None else box_motion(ref.box, at)

    def proposal_motion(self, proposal_id: Hashable) -> F64 | None:
        """(4, 4) world -> world motion of a proposal from the frame time to the capture time,
        or None (no such proposal, no box at the frame, or no neighbouring box to move by)."""
        find = getattr(self.doc, "proposal", None)
        try:
            prop = find(proposal_id) if find is not None else None
        except (KeyError, ModelError):
            prop = None
        ref = None if prop is None else prop.boxes.get(self.frame)
        if ref is None:
            return None
        at = proposal_box_at_time(prop.boxes, self.times_ns, self.capture_ns, self.frame)
        return None if at is None else box_motion(ref, at)

    def corners_at(self, ids: Sequence[Hashable], corners_world: ArrayLike) -> F64:
        """Boxes drawn at the frame time, (B, 8, 3) world m, one per id of ``ids``, moved by their
        track's motion to the capture time (boxes without a track, e.g. a new box, unchanged).
        A box that differs from the track's (a drag in progress) moves with the track."""
        c = np.array(corners_world, dtype=np.float64).reshape(-1, 8, 3)
        if self.capture_ns == self.frame_ns:
            return c
        for i, tid in enumerate(ids):
            M = self.track_motion(tid)
            if M is not None:
                c[i] = c[i] @ M[:3, :3].T + M[:3, 3]
        return c


#: First element of the key naming a proposal in :meth:`CaptureTiming.corners_at`'s ids.
PROPOSAL = "proposal"


def proposal_box_at_time(boxes: dict[int, Box3D], times_ns: Sequence[int], t_ns: int, frame: int) -> Box3D | None:
    """A proposal's world box at time ``t_ns`` from its boxes by frame (observed frames only, no
    interpolated ones): the blend of its boxes at ``frame`` and the neighbouring frame on the side
    of ``t_ns``, or extrapolated linearly from the neighbour on the other side; None when it has no
    box at ``frame`` or at either neighbour."""
    b0 = boxes.get(frame)
    if b0 is None:
        return None
    t0 = int(times_ns[frame])
    side = 1 if int(t_ns) >= t0 else -1
    for nb in (frame + side, frame - side):
        b1 = boxes.get(nb)
        if b1 is not None and 0 <= nb < len(times_ns):
            return lerp_box(b0, b1, (int(t_ns) - t0) / (int(times_ns[nb]) - t0))
    return None


def capture_times(info: Any, frame: int) -> dict[str, int]:
    """Capture time (ns) of every camera image of ``frame`` of a ``SequenceInfo`` (the frame time
    for cameras without their own)."""
    fi = info.frames[frame]
    return {c: int(fi.camera_timestamps_ns.get(c, fi.timestamp_ns)) for c in info.rig.camera_names()}


# ---- deskew --------------------------------------------------------------------------------------
def deskew_points(pts_sensor: ArrayLike, times_s: ArrayLike, frame_ns: int, clock: EgoClock,
                  T_ego_from_sensor: ArrayLike, to: str = "sensor") -> F64:
    """Motion-compensate a sweep: points (N, 3) m in the sensor frame *at their own times*
    ``times_s`` (N,) seconds relative to ``frame_ns`` -> (N, 3) m in the world (``to="world"``)
    or in the sensor frame at the frame time (``to="sensor"``), each point through the ego pose
    at its own time (interpolated by ``clock``)."""
    if to not in ("sensor", "world"):
        raise ValueError(f"deskew target must be 'sensor' or 'world', got {to!r}")
    p = np.asarray(pts_sensor, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if len(t) != len(p):
        raise ValueError(f"need one time per point: {len(p)} points, {len(t)} times")
    if not np.isfinite(t).all():
        raise ValueError("point times contain NaN or inf")
    T_es = np.asarray(T_ego_from_sensor, dtype=np.float64)
    p_ego = p @ T_es[:3, :3].T + T_es[:3, 3]
    # one pose per distinct time (sweeps fire in blocks; rounded to 1 us)
    keys, inverse = np.unique(np.round(t * 1e6).astype(np.int64), return_inverse=True)
    poses = clock.poses_at_seconds(clock.seconds(frame_ns) + keys * 1e-6)
    P = poses[inverse.reshape(-1)]
    pts_world = np.einsum("nij,nj->ni", P[:, :3, :3], p_ego) + P[:, :3, 3]
    if to == "world":
        return pts_world
    T_sw = invert(clock.T_world_from_ego(frame_ns) @ T_es)
    return pts_world @ T_sw[:3, :3].T + T_sw[:3, 3]


def distance_outside_boxes(pts_world: ArrayLike, times_ns: ArrayLike, owners: ArrayLike, doc: Any,
                           frame_times_ns: Sequence[int] | None = None) -> F64:
    """(N,) distance (m) of each world point (N, 3) outside the box of its track ``owners`` (N,)
    int (< 0: none, distance NaN) taken at the point's own time ``times_ns`` (N,) int64 ns (0
    inside the box; NaN where the track has no box then)."""
    p = np.asarray(pts_world, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(times_ns, dtype=np.int64).reshape(-1)
    own = np.asarray(owners, dtype=np.int64).reshape(-1)
    out = np.full(len(p), np.nan)
    cache: dict[tuple[int, int], Box3D | None] = {}
    pairs = np.unique(np.stack([own, t], axis=1)[own >= 0], axis=0) if len(p) else np.zeros((0, 2), np.int64)
    for tid, tn in pairs:
        key = (int(tid), int(tn))
        if key not in cache:
            try:
                cache[key] = track_box_at_time(doc, key[0], key[1], frame_times_ns)
            except KeyError:
                cache[key] = None
        box = cache[key]
        if box is None:
            continue
        sel = (own == tid) & (t == tn)
        local = (p[sel] - np.asarray(box.center)) @ box_pose(box)[:3, :3]  # box axes
        excess = np.maximum(np.abs(local) - np.asarray(box.size) / 2.0, 0.0)
        out[sel] = np.linalg.norm(excess, axis=1)
    return out


def objects_to_frame_time(pts_world: ArrayLike, times_ns: ArrayLike, doc: Any, frame: int,
                          frame_times_ns: Sequence[int] | None = None, margin: float = 0.15
                          ) -> tuple[F64, NDArray[np.int64]]:
    """Moving objects' points brought to the frame time: a world point (N, 3) m seen at its own
    time ``times_ns`` (N,) int64 ns (an ego-deskewed sweep) that lies in a track's box at that
    time (the box enlarged by ``margin`` m on every side but the bottom: ground points stay) is
    carried by the track's motion from its time to frame ``frame``'s time (``box_motion``), so
    that it lies in the box drawn at the frame. Every track with a box at ``frame`` is tried
    (static ones move nothing). The track's box at a point's time is the piecewise-linear blend
    through the boxes at the sweep's first and last point times and the frame times between
    (:func:`track_box_at_time`). Returns ``(points (N, 3) m, owner (N,) track id or -1)``."""
    p = np.array(pts_world, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(times_ns, dtype=np.int64).reshape(-1)
    if len(t) != len(p):
        raise ValueError(f"need one time per point: {len(p)} points, {len(t)} times")
    owner = np.full(len(p), -1, dtype=np.int64)
    times = list(frame_times_ns if frame_times_ns is not None else (doc.frame_times_ns or ()))
    if len(p) == 0 or not times:
        return p, owner
    t_lo, t_hi = int(t.min()), int(t.max())
    knots = sorted({t_lo, t_hi, int(times[frame]), *(int(v) for v in times if t_lo < v < t_hi)})
    ks = np.asarray(knots, dtype=np.float64) - knots[0]
    ts = t.astype(np.float64) - knots[0]
    for ref in doc.boxes_at(frame):
        b0 = ref.box
        boxes = [track_box_at_time(doc, ref.track_id, tk, times, frame) for tk in knots]
        if any(b is None for b in boxes):
            continue
        c = np.array([b.center for b in boxes])  # type: ignore[union-attr]
        yaw = np.unwrap([b.yaw for b in boxes])  # type: ignore[union-attr]
        if np.abs(c - c[0]).max() < 1e-4 and np.abs(yaw - yaw[0]).max() < 1e-5:
            continue  # static over the sweep
        half = np.asarray(b0.size) / 2.0 + margin
        lo, hi = c[:, :2].min(axis=0) - np.linalg.norm(half[:2]), c[:, :2].max(axis=0) + np.linalg.norm(half[:2])
        near = np.flatnonzero((owner < 0) & (p[:, 0] >= lo[0]) & (p[:, 0] <= hi[0]) & (p[:, 1] >= lo[1])
                              & (p[:, 1] <= hi[1]))
        if len(near) == 0:
            continue
        ct = np.stack([np.interp(ts[near], ks, c[:, j]) for j in range(3)], axis=1)
        yt = np.interp(ts[near], ks, yaw)
        d = p[near] - ct
        cs, sn = np.cos(yt), np.sin(yt)
        local = np.stack([cs * d[:, 0] + sn * d[:, 1], -sn * d[:, 0] + cs * d[:, 1], d[:, 2]], axis=1)
        inside = (np.abs(local[:, 0]) <= half[0]) & (np.abs(local[:, 1]) <= half[1]) & \
                 (local[:, 2] >= -b0.size[2] / 2.0) & (local[:, 2] <= half[2])
        if not inside.any():
            continue
        idx, loc = near[inside], local[inside]
        c0, s0 = np.cos(b0.yaw), np.sin(b0.yaw)
        p[idx] = np.stack([c0 * loc[:, 0] - s0 * loc[:, 1], s0 * loc[:, 0] + c0 * loc[:, 1], loc[:, 2]],
                          axis=1) + np.asarray(b0.center)
        owner[idx] = ref.track_id
    return p, owner


def times_to_ns(frame_ns: int, times_s: ArrayLike) -> NDArray[np.int64]:
    """Per-point times (N,) seconds relative to ``frame_ns`` -> absolute int64 ns (rounded to
    1 us, the resolution of :func:`deskew_points`' pose lookup)."""
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    return int(frame_ns) + np.round(t * 1e6).astype(np.int64) * 1000

