"""What proposal makers exchange: :class:`Detection` (one object in one frame, world frame) and
:class:`FrameInput` (what a frame offers: the sweep in the sensor frame, its pose, images).

Shared by the pre-labeller (:mod:`fusionlabel.assist.prelabel`) and the detector plug-ins
(:mod:`fusionlabel.assist.detectors`), which therefore need not import each other."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.transforms import transform_points
from fusionlabel.assist.ground import GroundModel
from fusionlabel.box import Box3D

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Detection:
    """One object proposal in one frame: world-frame ``box``, class ``label``, ``score`` in [0, 1],
    the number of points it was fitted to and its ``source``."""

    box: Box3D
    label: str
    score: float
    n_points: int = 0
    source: str = "cluster"
    #: class probabilities of the size-prior guess (cluster proposals; empty for detectors)
    probabilities: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    #: the cluster's world points (M, 3), the ground and the sensor origin it was boxed with
    #: (cluster proposals only): a track re-boxes its frames with its own class and size
    points: F64 | None = field(default=None, compare=False, repr=False)
    ground: GroundModel | None = field(default=None, compare=False, repr=False)
    origin: F64 | None = field(default=None, compare=False, repr=False)
    partial: bool = False
    #: the ego's heading (rad, world frame) at the sweep, when known: a track of walkers re-boxed
    #: with its class is headed along the ego axis nearest its points' principal axis
    ego_yaw: float | None = field(default=None, compare=False, repr=False)
    #: the cluster's top was not seen in this sweep (cut by the sensor's highest ring, or the points
    #: go on above the segmentation's height limit): its visible height is a lower bound
    top_cut: bool = False


@dataclass(frozen=True)
class FrameInput:
    """What a frame offers to proposal makers (and to detector plug-ins): ``frame`` index,
    ``timestamp_ns``, the sweep ``points`` (N, C) float32 in the **sensor** frame (x, y, z first;
    then e.g. intensity), ``T_world_from_sensor`` (4, 4), the ``sensor`` name and an optional
    ``images`` callable ``camera name -> RGB uint8 (H, W, 3) | None`` with ``rig`` (a
    :class:`calib.rig.Rig`) for camera-based detectors; ``T_world_from_ego`` (4, 4) the ego pose
    when known (the heading prior of walkers)."""

    frame: int
    timestamp_ns: int
    points: NDArray[np.float32]
    T_world_from_sensor: F64
    sensor: str = "lidar"
    images: Callable[[str], Any] | None = None
    rig: Any = None
    T_world_from_ego: F64 | None = None

    @property
    def ego_yaw(self) -> float | None:
        """The ego's heading (rad) in the world frame, None when the ego pose is not given."""
        if self.T_world_from_ego is None:
            return None
        T = np.asarray(self.T_world_from_ego, dtype=np.float64)
        return math.atan2(T[1, 0], T[0, 0])

    @property
    def points_world(self) -> F64:
        """(N, 3) world-frame points."""
        return transform_points(self.T_world_from_sensor, np.asarray(self.points[:, :3], dtype=np.float64))

    @property
    def origin_world(self) -> F64:
        """(3,) sensor position in the world frame."""
        return np.asarray(self.T_world_from_sensor[:3, 3], dtype=np.float64)
