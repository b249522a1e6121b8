"""What the core and the writers may ask of an opened sequence: :class:`SensorSequence`.

A typing protocol (no formats import): ``formats.datasets.LoadedSequence`` satisfies it, and so
does any object with the same members (a test double, a future reader). Code that takes an
opened sequence annotates it with this protocol instead of ``Any``.

In terms of the sequence:

* frame count: ``len(seq)`` (= ``len(seq.info.frames)``);
* timestamps: ``seq.info.frames[k].timestamp_ns`` (integer ns, the LiDAR time of frame ``k``),
  all of them as ``seq.info.frame_times_ns()``;
* calibration: ``seq.rig(k)`` (the rig valid at frame ``k``; ``seq.rig()`` the sequence's),
  ``seq.T_world_from_sensor(k, sensor)`` (4x4, the sensor's pose at its own capture time);
* frame ``k``: ``seq.read_lidar(k, name)`` (points in the sensor frame) and
  ``seq.read_image(k, camera)`` (H x W x 3 uint8 RGB);
* labels: ``seq.annotations`` (world-frame tracks; a project's document once opened through
  ``formats.source``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from calib.rig import Rig
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import SequenceInfo


@runtime_checkable
class PointsLike(Protocol):
    """A sweep: ``xyz`` (N, 3) float32 metres in the sensor frame, per-point ``fields`` ((N,)
    arrays by name: ``intensity``, ``time``, ...)."""

    xyz: NDArray[np.float32]
    fields: dict[str, np.ndarray]

    def __len__(self) -> int: ...


@runtime_checkable
class SensorSequence(Protocol):
    """An opened sequence of synchronised sensor frames (module doc): ``info`` (frames,
    timestamps, ego poses, the rig), ``annotations``, reader ``warnings``, per-frame rigs when
    the calibration changes (``frame_rigs``), and ``closer`` for open files."""

    info: SequenceInfo
    annotations: AnnotationDocument
    warnings: list[str]
    frame_rigs: list[Rig] | None
    closer: Callable[[], None] | None

    def __len__(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def format(self) -> str: ...

    @property
    def lidar_names(self) -> list[str]: ...

    @property
    def camera_names(self) -> list[str]: ...

    def rig(self, frame: int | None = None) -> Rig: ...

    def T_world_from_sensor(self, frame: int, sensor: str) -> NDArray[np.float64]: ...

    def T_sensor_from_world(self, frame: int, sensor: str) -> NDArray[np.float64]: ...

    def read_lidar(self, frame: int, name: str | None = None) -> PointsLike | None: ...

    def read_image(self, frame: int, camera: str) -> np.ndarray | None: ...
