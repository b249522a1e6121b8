"""The annotation model: tracks with keyframes, and the description of a sequence.

Boxes are world-frame :class:`~fusionlabel.box.Box3D`. A :class:`Track` stores its **keyframes**
(set by the labeler), the boxes found by auto-tracking (``tracked``, with a confidence each), its
gaps and its ``end``; the other boxes of its frames (interpolated between keyframes, held after
the last one) are computed on demand (never stored, see :mod:`fusionlabel.interpolation`), so
editing a keyframe updates them. Frames are integer indices into the sequence; time is integer
nanoseconds.

Tracks are changed only by commands (see ``fusionlabel.commands`` and ``fusionlabel.trackops``);
code outside the commands treats them as read-only.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.transforms import check_transform
from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import (
    DEFAULT_METHOD,
    METHODS,
    FrameTimes,
    affected_frames,
    check_method,
    covered_frames,
    gap_between,
    in_gap,
    interpolate_boxes_at,
    lerp_box,
    normalize_gaps,
    pieces,
    time_between,
)

#: Interpolation methods a track may use (see :mod:`fusionlabel.interpolation`).
INTERPOLATION_METHODS = METHODS
#: Method of a new track.
DEFAULT_INTERPOLATION = DEFAULT_METHOD


def interpolate_boxes(a: Box3D, b: Box3D, t: float) -> Box3D:
    """Linear blend of two world-frame boxes at ``t`` in [0, 1]: centre and size linearly, yaw
    along the shortest arc (never flips by pi through the long way)."""
    return lerp_box(a, b, t)


#: States of a track's box at a frame (see :meth:`Track.box_state`).
BOX_STATES = ("keyframe", "tracked", "interpolated", "held")


@dataclass
class Track:
    """One object over time: id, class, attributes, its keyframes (frame index -> world box), the
    interpolation method, its gaps, its end and the boxes found by auto-tracking.

    A box at a frame is in one of four states (``BOX_STATES``), by precedence:

    1. in a gap and not a keyframe: no box;
    2. ``"keyframe"``: set by the labeler (``keyframes``);
    3. ``"tracked"``: found by auto-tracking (``tracked``, with ``tracked_confidence`` in [0, 1]);
    4. ``"interpolated"``: between two keyframes of one piece (the track's method, see
       :mod:`fusionlabel.interpolation`); elsewhere (next to tracked boxes) a linear blend of the
       nearest keyframe / tracked boxes on both sides when no gap lies between them;
    5. ``"held"``: after the last keyframe, up to the track's last frame, the box of the latest
       keyframe or tracked box before it (a parked car needs one keyframe); before the first
       keyframe (only with tracked boxes there), the box of the earliest one after it.

    The track's frames run from its first keyframe or tracked box to its last frame: ``end``
    when set, else its last keyframe or tracked box (``end`` None keeps the meaning of imported
    labels and older files: the track ends at its last keyframe). A keyframe or tracked box after
    ``end`` extends the track to it. ``gaps`` are inclusive frame intervals ``(first, last)`` where
    the object is absent (occluded): a gap frame has no box unless it is a keyframe, and
    interpolation never crosses a gap (a held box does: a parked car seen again after an
    occlusion). They are stored normalised (sorted, disjoint, merged).
    """

    track_id: int
    label: str
    attributes: dict[str, str] = field(default_factory=dict)
    keyframes: dict[int, Box3D] = field(default_factory=dict)
    interpolation: str = DEFAULT_INTERPOLATION
    gaps: tuple[tuple[int, int], ...] = ()
    end: int | None = None
    tracked: dict[int, Box3D] = field(default_factory=dict)
    tracked_confidence: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"track {self.track_id}"
        check_method(self.interpolation, where)
        self.gaps = normalize_gaps(self.gaps, where)
        if self.end is not None:
            if isinstance(self.end, bool) or not hasattr(self.end, "__index__") or int(self.end) < 0:
                raise ModelError(f"{where}: end must be a frame index >= 0 or None, got {self.end!r}")
            self.end = int(self.end)
        if set(self.tracked) != set(self.tracked_confidence):
            raise ModelError(f"{where}: tracked boxes and their confidences must have the same frames")
        for f, c in self.tracked_confidence.items():
            if isinstance(c, bool) or not isinstance(c, (int, float, np.floating)) or not 0.0 <= float(c) <= 1.0:
                raise ModelError(f"{where}: tracked confidence at frame {f} must be a number in [0, 1], got {c!r}")

    def copy(self, **changes: Any) -> Track:
        """An independent copy (its own keyframes, tracked and attributes dicts) with ``changes``
        applied (any field: ``track_id``, ``label``, ``attributes``, ``keyframes``,
        ``interpolation``, ``gaps``, ``end``, ``tracked``, ``tracked_confidence``)."""
        fields = {
            "track_id": self.track_id,
            "label": self.label,
            "attributes": dict(self.attributes),
            "keyframes": dict(self.keyframes),
            "interpolation": self.interpolation,
            "gaps": self.gaps,
            "end": self.end,
            "tracked": dict(self.tracked),
            "tracked_confidence": dict(self.tracked_confidence),
        }
        fields.update(changes)
        return Track(**fields)

    def keyframe_indices(self) -> list[int]:
        """Sorted frame indices of the keyframes."""
        return sorted(self.keyframes)

    def keyframe_span(self) -> tuple[int, int] | None:
        """(first, last) keyframe index, or None for a track without keyframes."""
        if not self.keyframes:
            return None
        k = self.keyframe_indices()
        return k[0], k[-1]

    def span(self) -> tuple[int, int] | None:
        """(first, last) frame of the track: from its first keyframe or tracked box to its last
        frame (``end``, or the last keyframe / tracked box, whichever is later); None without
        keyframes and tracked boxes. Frames inside it may still have no box (gaps)."""
        kf, tr = self.keyframes, self.tracked
        if not kf and not tr:
            return None
        first, last = (min(kf), max(kf)) if kf else (min(tr), max(tr))
        if tr and kf:
            first, last = min(first, min(tr)), max(last, max(tr))
        if self.end is not None:
            last = max(last, self.end)
        return first, last

    def is_keyframe(self, frame: int) -> bool:
        return frame in self.keyframes

    def is_tracked(self, frame: int) -> bool:
        """True when the box at ``frame`` is a tracked one (a tracked box, no keyframe, no gap)."""
        return frame in self.tracked and frame not in self.keyframes and not self.in_gap(frame)

    def in_gap(self, frame: int) -> bool:
        """True when ``frame`` lies in one of the track's gaps (whether or not it is a keyframe)."""
        return in_gap(self.gaps, frame)

    def pieces(self) -> list[list[int]]:
        """Keyframe frames split at the gaps: runs interpolated independently of each other."""
        return pieces(self.keyframes, self.gaps)

    def box_at(self, frame: int, times_ns: FrameTimes | None = None, extrapolate: int = 0) -> Box3D | None:
        """World-frame box at ``frame`` (see the class doc for the states), or None outside the
        track and in a gap.

        ``times_ns``: frame timestamps (integer ns; a sequence indexed by frame or a mapping) to
        interpolate in time rather than by frame index; ``extrapolate``: up to this many frames
        (at most ``MAX_EXTRAPOLATION_FRAMES``) past a keyframe piece's first / last keyframe get a
        predicted box where the track has none.
        """
        box = self.keyframes.get(frame)
        if box is not None:
            return box
        return self.boxes_at([frame], times_ns, extrapolate)[0]

    def box_state(self, frame: int, times_ns: FrameTimes | None = None) -> str | None:
        """State of the box at ``frame``: ``"keyframe"``, ``"tracked"``, ``"interpolated"``,
        ``"held"`` or None where the track has no box."""
        return self.resolve([frame], times_ns)[0][1]

    def boxes_at(
        self, frames: Iterable[int], times_ns: FrameTimes | None = None, extrapolate: int = 0
    ) -> list[Box3D | None]:
        """World-frame boxes (or None) at each of ``frames`` (see :meth:`box_at`), computed in one
        pass (cheaper than calling ``box_at`` per frame)."""
        return [r[0] for r in self.resolve(frames, times_ns, extrapolate)]

    def resolve(
        self, frames: Iterable[int], times_ns: FrameTimes | None = None, extrapolate: int = 0
    ) -> list[tuple[Box3D | None, str | None, float | None]]:
        """``(box, state, confidence)`` at each of ``frames``: the world-frame box or None, its
        state (one of ``BOX_STATES``, None without a box; an extrapolated box counts as
        ``"interpolated"``) and the tracking confidence (tracked boxes only, else None)."""
        frames = [int(f) for f in frames]
        kf = self.keyframes
        if all(f in kf for f in frames):  # the common case of imported labels: every frame a keyframe
            return [(kf[f], "keyframe", None) for f in frames]
        out: list[tuple[Box3D | None, str | None, float | None]] = [(None, None, None)] * len(frames)
        span = self.span()
        if span is None:
            return out
        lo, hi = span
        tr, gaps = self.tracked, self.gaps
        todo = [i for i, f in enumerate(frames)
                if f not in kf and lo <= f <= hi and not in_gap(gaps, f) and f not in tr]
        interp = interpolate_boxes_at(kf, [frames[i] for i in todo], self.interpolation, gaps, times_ns)
        ks: list[int] = []
        anchors: list[int] | None = None
        missing: list[int] = []
        for i, f in enumerate(frames):
            box = kf.get(f)
            if box is not None:
                out[i] = (box, "keyframe", None)
            elif not lo <= f <= hi or in_gap(gaps, f):
                missing.append(i)
            elif f in tr:
                out[i] = (tr[f], "tracked", float(self.tracked_confidence[f]))
        for i, box in zip(todo, interp, strict=True):
            if box is not None:
                out[i] = (box, "interpolated", None)
                continue
            if anchors is None:
                ks, anchors = self.keyframe_indices(), sorted({*kf, *tr})
            res = self._free_box(frames[i], ks, anchors, times_ns)
            if res is None:
                missing.append(i)
            else:
                out[i] = res
        if extrapolate and missing and kf:
            missing.sort()
            boxes = interpolate_boxes_at(kf, [frames[i] for i in missing], self.interpolation, gaps, times_ns,
                                         extrapolate)
            for i, box in zip(missing, boxes, strict=True):
                if box is not None:
                    out[i] = (box, "interpolated", None)
        return out

    def _anchor_box(self, frame: int) -> Box3D:
        box = self.keyframes.get(frame)
        return self.tracked[frame] if box is None else box

    def _free_box(
        self, f: int, ks: list[int], anchors: list[int], times_ns: FrameTimes | None
    ) -> tuple[Box3D, str, None] | None:
        """Box at a frame in the track and outside a gap that is neither an anchor (keyframe or
        tracked box) nor between two keyframes of one piece: a linear blend of the anchors on
        both sides when no gap lies between them, else held from the reachable anchor after the
        last / before the first keyframe, else None."""
        j = bisect.bisect_left(anchors, f)
        left = anchors[j - 1] if j > 0 else None
        right = anchors[j] if j < len(anchors) else None
        left_ok = left is not None and not gap_between(self.gaps, left + 1, f - 1)
        right_ok = right is not None and not gap_between(self.gaps, f + 1, right - 1)
        if left_ok and right_ok:
            assert left is not None and right is not None
            s = time_between(left, f, times_ns) / time_between(left, right, times_ns)
            return lerp_box(self._anchor_box(left), self._anchor_box(right), s), "interpolated", None
        after, before = bool(ks) and f > ks[-1], bool(ks) and f < ks[0]
        if not (after or before):
            return None
        if left_ok or right_ok:
            src = left if left_ok else right
        else:  # across a gap: the object seen again where it was (a parked car after an occlusion)
            src = left if after else right
        return None if src is None else (self._anchor_box(src), "held", None)

    def frames(self) -> range | list[int]:
        """All frames on which the track has a box (any state), ascending: a range when the
        track has no gap."""
        s = self.span()
        if s is None:
            return range(0)
        if not self.gaps or not gap_between(self.gaps, s[0], s[1]):
            return range(s[0], s[1] + 1)
        if not self.tracked and s[1] == max(self.keyframes):
            return covered_frames(self.keyframes, self.gaps)
        candidates = range(s[0], s[1] + 1)
        return [f for f, r in zip(candidates, self.resolve(candidates), strict=True) if r[0] is not None]

    def affected_frames(self, frame: int) -> range:
        """Frames whose box may change when the keyframe at ``frame`` is set or removed: the
        interpolation's reach and, at the first / last keyframe, every frame before / after it
        (tracked neighbours and held boxes depend on it)."""
        r = affected_frames(self.keyframes, frame, self.interpolation, self.gaps)
        lo, hi = r.start, r.stop - 1
        span = self.span()
        if span is not None:
            others = [k for k in self.keyframes if k != frame]
            if not any(k > frame for k in others):
                hi = max(hi, span[1])
            if not any(k < frame for k in others):
                lo = min(lo, span[0])
        return range(lo, hi + 1)


@dataclass
class FrameInfo:
    """One frame of a sequence: the LiDAR sweep time and the files of every sensor.

    ``T_world_from_ego`` is the ego pose at ``timestamp_ns`` (identity when the data has no poses).
    ``lidar_files`` / ``camera_files`` map sensor name -> file; ``camera_timestamps_ns`` gives each
    camera's own capture time.
    """

    index: int
    timestamp_ns: int
    T_world_from_ego: NDArray[np.float64] = field(default_factory=lambda: np.eye(4))
    lidar_files: dict[str, Path] = field(default_factory=dict)
    camera_files: dict[str, Path] = field(default_factory=dict)
    camera_timestamps_ns: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.T_world_from_ego = check_transform(self.T_world_from_ego, f"frame {self.index} T_world_from_ego")


@dataclass
class SequenceInfo:
    """Description of a sequence: name, source format, frames and the sensor rig.

    ``rig`` is a :class:`calib.rig.Rig` (sensor extrinsics relative to ``ego`` and camera models).
    """

    name: str
    format: str
    frames: list[FrameInfo]
    rig: Any
    root: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def lidar_names(self) -> list[str]:
        return self.rig.lidar_names()

    @property
    def camera_names(self) -> list[str]:
        return self.rig.camera_names()

    def T_world_from_ego(self, frame: int) -> NDArray[np.float64]:
        return self.frames[frame].T_world_from_ego

    def has_ego_poses(self) -> bool:
        """False for data without a common world across frames: independent frames
        (``meta["independent_frames"]``, e.g. KITTI object) or every ego pose the identity (no
        poses given nor estimated). World-frame motion across frames means something only when True."""
        if self.meta.get("independent_frames"):
            return False
        return not all(np.allclose(f.T_world_from_ego, np.eye(4)) for f in self.frames)

    def frame_times_ns(self) -> list[int]:
        """LiDAR timestamps (integer ns) of the frames, indexed by frame (for interpolation in time,
        e.g. ``AnnotationDocument.set_frame_times``)."""
        return [int(f.timestamp_ns) for f in self.frames]

    def T_world_from_sensor(self, frame: int, sensor: str) -> NDArray[np.float64]:
        """Pose of a sensor in the world at ``frame``: ``T_world_from_ego @ T_ego_from_sensor``."""
        return self.frames[frame].T_world_from_ego @ self.rig.T("ego", sensor)
