"""The annotation model: tracks with keyframes, and the description of a sequence.

Boxes are world-frame :class:`~fusionlabel.box.Box3D`. A :class:`Track` stores **keyframes only**;
the boxes of the frames between keyframes are computed on demand (never stored), so editing a
keyframe updates them. Frames are integer indices into the sequence; time is integer nanoseconds.

Tracks are changed only by commands (see ``fusionlabel.commands``); code outside the commands
treats them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.transforms import check_transform, wrap_angle
from fusionlabel.box import Box3D
from fusionlabel.errors import ModelError

INTERPOLATION_METHODS = ("linear",)


def interpolate_boxes(a: Box3D, b: Box3D, t: float) -> Box3D:
    """Linear blend of two world-frame boxes at ``t`` in [0, 1]: centre and size linearly, yaw
    along the shortest arc (never flips by pi through the long way)."""
    ca, cb = np.asarray(a.center), np.asarray(b.center)
    sa, sb = np.asarray(a.size), np.asarray(b.size)
    dyaw = wrap_angle(b.yaw - a.yaw)
    return Box3D(tuple(ca + t * (cb - ca)), tuple(sa + t * (sb - sa)), a.yaw + t * dyaw)


@dataclass
class Track:
    """One object over time: id, class, attributes and its keyframes (frame index -> world box).

    ``box_at(frame)`` returns the keyframe box, an interpolated box between keyframes, or None
    outside the keyframe span (extrapolation is off in the model).
    """

    track_id: int
    label: str
    attributes: dict[str, str] = field(default_factory=dict)
    keyframes: dict[int, Box3D] = field(default_factory=dict)
    interpolation: str = "linear"

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATION_METHODS:
            raise ModelError(f"track {self.track_id}: unknown interpolation {self.interpolation!r}")

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

    def box_at(self, frame: int) -> Box3D | None:
        """World-frame box at ``frame``: the keyframe, an interpolation, or None outside the span."""
        box = self.keyframes.get(frame)
        if box is not None:
            return box
        ks = self.keyframe_indices()
        if not ks or frame < ks[0] or frame > ks[-1]:
            return None
        i = int(np.searchsorted(ks, frame))
        f0, f1 = ks[i - 1], ks[i]
        return interpolate_boxes(self.keyframes[f0], self.keyframes[f1], (frame - f0) / (f1 - f0))

    def frames(self) -> range:
        """All frames on which the track has a box (keyframe or interpolated)."""
        s = self.span()
        return range(0) if s is None else range(s[0], s[1] + 1)


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

    def T_world_from_sensor(self, frame: int, sensor: str) -> NDArray[np.float64]:
        """Pose of a sensor in the world at ``frame``: ``T_world_from_ego @ T_ego_from_sensor``."""
        return self.frames[frame].T_world_from_ego @ self.rig.T("ego", sensor)
