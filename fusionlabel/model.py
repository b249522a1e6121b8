"""The annotation model: tracks with keyframes, and the description of a sequence.

Boxes are world-frame :class:`~fusionlabel.box.Box3D`. A :class:`Track` stores **keyframes only**
(and its gaps); the boxes of the frames between keyframes are computed on demand (never stored,
see :mod:`fusionlabel.interpolation`), so editing a keyframe updates them. Frames are integer
indices into the sequence; time is integer nanoseconds.

Tracks are changed only by commands (see ``fusionlabel.commands``); code outside the commands
treats them as read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.transforms import check_transform
from fusionlabel.box import Box3D
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
)

#: Interpolation methods a track may use (see :mod:`fusionlabel.interpolation`).
INTERPOLATION_METHODS = METHODS
#: Method of a new track.
DEFAULT_INTERPOLATION = DEFAULT_METHOD


def interpolate_boxes(a: Box3D, b: Box3D, t: float) -> Box3D:
    """Linear blend of two world-frame boxes at ``t`` in [0, 1]: centre and size linearly, yaw
    along the shortest arc (never flips by pi through the long way)."""
    return lerp_box(a, b, t)


@dataclass
class Track:
    """One object over time: id, class, attributes, its keyframes (frame index -> world box), the
    interpolation method and its gaps.

    ``box_at(frame)`` returns the keyframe box, an interpolated box between keyframes, or None
    outside the keyframe span and inside a gap (extrapolation is off unless asked for).

    ``interpolation`` is one of ``INTERPOLATION_METHODS`` (``"smooth"`` by default, see
    :mod:`fusionlabel.interpolation`). ``gaps`` are inclusive frame intervals ``(first, last)``
    where the object is absent (occluded): a gap frame has no box unless it is a keyframe, and
    interpolation never crosses a gap. They are stored normalised (sorted, disjoint, merged).
    """

    track_id: int
    label: str
    attributes: dict[str, str] = field(default_factory=dict)
    keyframes: dict[int, Box3D] = field(default_factory=dict)
    interpolation: str = DEFAULT_INTERPOLATION
    gaps: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        check_method(self.interpolation, f"track {self.track_id}")
        self.gaps = normalize_gaps(self.gaps, f"track {self.track_id}")

    def copy(self, **changes: Any) -> Track:
        """An independent copy (its own keyframes and attributes dicts) with ``changes`` applied
        (any field: ``track_id``, ``label``, ``attributes``, ``keyframes``, ``interpolation``,
        ``gaps``)."""
        fields = {
            "track_id": self.track_id,
            "label": self.label,
            "attributes": dict(self.attributes),
            "keyframes": dict(self.keyframes),
            "interpolation": self.interpolation,
            "gaps": self.gaps,
        }
        fields.update(changes)
        return Track(**fields)

    def keyframe_indices(self) -> list[int]:
        """Sorted frame indices of the keyframes."""
        return sorted(self.keyframes)

    def span(self) -> tuple[int, int] | None:
        """(first, last) keyframe index, or None for a track without keyframes."""
        if not self.keyframes:
            return None
        k = self.keyframe_indices()
        return k[0], k[-1]

    def is_keyframe(self, frame: int) -> bool:
        return frame in self.keyframes

    def in_gap(self, frame: int) -> bool:
        """True when ``frame`` lies in one of the track's gaps (whether or not it is a keyframe)."""
        return in_gap(self.gaps, frame)

    def pieces(self) -> list[list[int]]:
        """Keyframe frames split at the gaps: runs interpolated independently of each other."""
        return pieces(self.keyframes, self.gaps)

    def box_at(self, frame: int, times_ns: FrameTimes | None = None, extrapolate: int = 0) -> Box3D | None:
        """World-frame box at ``frame``: the keyframe, an interpolation, or None outside the span
        and in a gap.

        ``times_ns``: frame timestamps (integer ns; a sequence indexed by frame or a mapping) to
        interpolate in time rather than by frame index; ``extrapolate``: up to this many frames
        (at most ``MAX_EXTRAPOLATION_FRAMES``) past a piece's first / last keyframe get a
        predicted box.
        """
        box = self.keyframes.get(frame)
        if box is not None:
            return box
        return self.boxes_at([frame], times_ns, extrapolate)[0]

    def boxes_at(
        self, frames: Iterable[int], times_ns: FrameTimes | None = None, extrapolate: int = 0
    ) -> list[Box3D | None]:
        """World-frame boxes (or None) at each of ``frames`` (see :meth:`box_at`), computed in one
        pass (cheaper than calling ``box_at`` per frame)."""
        return interpolate_boxes_at(self.keyframes, frames, self.interpolation, self.gaps, times_ns, extrapolate)

    def frames(self) -> range | list[int]:
        """All frames on which the track has a box (keyframe or interpolated), ascending: a range
        when the track has no gap that splits it."""
        s = self.span()
        if s is None:
            return range(0)
        if not self.gaps or not gap_between(self.gaps, s[0], s[1]):
            return range(s[0], s[1] + 1)
        return covered_frames(self.keyframes, self.gaps)

    def affected_frames(self, frame: int) -> range:
        """Frames whose box may change when the keyframe at ``frame`` is set or removed."""
        return affected_frames(self.keyframes, frame, self.interpolation, self.gaps)


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
