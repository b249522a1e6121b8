"""Sensor timing of an opened sequence: per-point times of a sweep, the camera poses and boxes at
each image's capture time, deskewed sweeps (the core is :mod:`fusionlabel.timing`; docs/timing.md);
:func:`deskew_note`: why a sequence's sweeps cannot be deskewed (said in the window and exports).

Per-point times (:func:`point_times_s`) come from the first of these point fields: ``time``,
``t``, ``timestamp``, ``time_offset``, ``offset_time``, ``time_stamp``. Units: floating values are
seconds, integer values nanoseconds. The values are either absolute times on the clock of the
frame timestamps (SUSTechPOINTS' and Hesai's ``timestamp``) or offsets from the sweep's own
timestamp, which is the frame timestamp (a PointCloud2 header stamp; Velodyne's ``time``, Ouster's
``t``): the reading that puts the sweep's median point time nearer the frame time is taken. The
native layout writes ``time`` as float32 seconds relative to the frame timestamp.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from calib.transforms import invert
from fusionlabel.errors import ModelError
from fusionlabel.sequence import SensorSequence
from fusionlabel.timing import CaptureTiming, EgoClock, deskew_points, objects_to_frame_time, times_to_ns

F64 = NDArray[np.float64]

#: Export deskew modes: off, the ego motion (True or "ego"), and moving objects too ("objects").
DESKEW_MODES = (False, True, "ego", "objects")

#: Point fields holding per-point times, in the order they are looked up.
TIME_FIELDS = ("time", "t", "timestamp", "time_offset", "offset_time", "time_stamp")


def point_times_s(fields: dict[str, Any], frame_ns: int) -> F64 | None:
    """(N,) per-point times, seconds relative to ``frame_ns``, from a sweep's point ``fields``
    (see the module doc), or None when it has none."""
    for name in TIME_FIELDS:
        if name in fields:
            raw = np.asarray(fields[name]).reshape(-1)
            break
    else:
        return None
    if raw.size == 0:
        return np.zeros(0)
    if np.issubdtype(raw.dtype, np.integer):
        ns = raw.astype(np.int64)
        rel, absolute = ns * 1e-9, (ns - int(frame_ns)) * 1e-9
    else:
        rel = raw.astype(np.float64)
        absolute = rel - int(frame_ns) * 1e-9  # float64 keeps about 0.1 us at 1e9 s
    # absolute (on the frame's clock) or an offset from the frame time: whichever centres the
    # sweep nearer the frame time
    return absolute if abs(float(np.median(absolute))) < abs(float(np.median(rel))) else rel


def capture_pose(loaded: SensorSequence, frame: int, camera: str, doc: Any = None
                 ) -> tuple[F64, CaptureTiming | None]:
    """``(T_cam_from_world (4, 4), timing)`` to draw ``doc``'s boxes (default the sequence's) in
    ``camera``'s image of ``frame`` at its capture time (``SequenceTiming.camera_pose``; boxes
    moved by ``timing.corners_at``), or the sequence's own pose and None where the frame times give
    no ego clock (repeated timestamps)."""
    try:
        return SequenceTiming(loaded, doc).camera_pose(frame, camera)
    except ModelError:
        return loaded.T_sensor_from_world(frame, camera), None


def deskew_note(loaded: SensorSequence, timing: SequenceTiming | None = None) -> str | None:
    """Why deskewing ``loaded``'s sweeps (a ``LoadedSequence``) cannot change them, as a sentence
    for the user, or None when it can: no LiDAR, sweeps without per-point times (the first frame's
    sweeps are read), no ego poses (every pose the identity, e.g. SUSTechPOINTS unless opened with
    estimated poses), a single frame, or frame times that give no ego clock."""
    names = list(getattr(loaded, "lidar_names", []))
    if not names:
        return "the sequence has no LiDAR"
    if timing is None:
        try:
            timing = SequenceTiming(loaded)
        except ModelError as e:
            return f"its frame times give no ego motion ({e})"
    if all(timing.sweep_times(0, n) is None for n in names):
        return "its sweeps carry no per-point times"
    info = loaded.info
    if not info.has_ego_poses():
        return ("it has no ego poses (world = the LiDAR frame of each sweep), so there is no motion to "
                "compensate; open it with estimated poses (--estimate-poses) to deskew")
    if len(info.frames) < 2:
        return "it has a single frame: the ego motion during the sweep is unknown"
    return None


class SequenceTiming:
    """Timing of a ``formats.datasets.LoadedSequence`` (``loaded``): the ego clock of its frames,
    the capture time of every image, camera poses and box motion at those times, deskewed sweeps.
    ``doc``: the annotation document whose tracks move (default the sequence's own)."""

    def __init__(self, loaded: SensorSequence, doc: Any = None) -> None:
        self.loaded = loaded
        self.doc = doc if doc is not None else loaded.annotations
        self.clock = EgoClock.from_sequence(loaded.info)

    def capture_ns(self, frame: int, camera: str) -> int:
        fi = self.loaded.info.frames[frame]
        return int(fi.camera_timestamps_ns.get(camera, fi.timestamp_ns))

    def capture(self, frame: int, camera: str) -> CaptureTiming:
        """:class:`CaptureTiming` of ``camera``'s image at ``frame`` (the ego pose the data
        recorded for that image when it has one, else interpolated)."""
        poses = getattr(self.loaded, "sensor_poses", None)
        recorded = poses[frame].get(camera) if poses is not None else None
        return CaptureTiming.of(self.doc, self.clock, frame, self.capture_ns(frame, camera), recorded)

    def camera_pose(self, frame: int, camera: str, time_correct: bool = True) -> tuple[F64, CaptureTiming | None]:
        """``(T_cam_from_world (4, 4), timing)`` of ``camera`` at ``frame``: at its capture time
        (boxes to be moved by ``timing.corners_at``) or, without ``time_correct``, the
        sequence's own pose of the camera (``LoadedSequence.T_sensor_from_world``: the frame's ego
        pose, or the one recorded for the image) with timing None."""
        if not time_correct:  # as before: the sequence's own camera pose (nuScenes: recorded per image)
            return self.loaded.T_sensor_from_world(frame, camera), None
        rig = self.loaded.rig(frame)
        ct = self.capture(frame, camera)
        return ct.T_sensor_from_world(rig.T("ego", camera)), ct

    def sweep_times(self, frame: int, lidar: str, pc: Any = None) -> F64 | None:
        """Per-point times (N,) s relative to the frame time of a sweep (read unless ``pc``)."""
        if pc is None:
            pc = self.loaded.read_lidar(frame, lidar)
        if pc is None:
            return None
        fi = self.loaded.info.frames[frame]
        return point_times_s(pc.fields, fi.timestamp_ns)

    def world_points(self, frame: int, lidar: str, deskew: bool = True, pc: Any = None) -> tuple[F64, F64 | None]:
        """``(pts_world (N, 3) m, times (N,) s or None)`` of a sweep: deskewed (each point through
        the ego pose at its own time) when ``deskew`` and the sweep has times, else every point
        through the frame's pose."""
        if pc is None:
            pc = self.loaded.read_lidar(frame, lidar)
        if pc is None:
            return np.zeros((0, 3)), None
        times = self.sweep_times(frame, lidar, pc)
        fi = self.loaded.info.frames[frame]
        if deskew and times is not None:
            T_es = self.loaded.rig(frame).T("ego", lidar)
            return deskew_points(pc.xyz, times, fi.timestamp_ns, self.clock, T_es, to="world"), times
        T = self.loaded.T_world_from_sensor(frame, lidar)
        return np.asarray(pc.xyz, dtype=np.float64) @ T[:3, :3].T + T[:3, 3], times

    def frame_time_points(self, frame: int, lidar: str, pc: Any = None) -> tuple[F64, NDArray[np.int64]] | None:
        """``(pts_world (N, 3) m, owner (N,) track id or -1)``: the sweep deskewed and the points
        of moving tracks carried by their motion to the frame time
        (:func:`fusionlabel.timing.objects_to_frame_time` with :attr:`doc`); None when the sweep
        has no per-point times."""
        if pc is None:
            pc = self.loaded.read_lidar(frame, lidar)
        pts, times = self.world_points(frame, lidar, True, pc)
        if times is None:
            return None
        frame_times = self.loaded.info.frame_times_ns()
        return objects_to_frame_time(pts, times_to_ns(frame_times[frame], times), self.doc, frame, frame_times)

    def deskewed_sweep(self, frame: int, lidar: str, pc: Any = None) -> F64 | None:
        """(N, 3) sweep in the sensor frame at the frame time, motion-compensated; None when the
        sweep has no per-point times (or no sweep)."""
        if pc is None:
            pc = self.loaded.read_lidar(frame, lidar)
        times = None if pc is None else self.sweep_times(frame, lidar, pc)
        if times is None:
            return None
        fi = self.loaded.info.frames[frame]
        return deskew_points(pc.xyz, times, fi.timestamp_ns, self.clock, self.loaded.rig(frame).T("ego", lidar))

    @property
    def deskew_note(self) -> str | None:
        """Why deskew cannot change this sequence's sweeps (:func:`deskew_note`), or None."""
        if not hasattr(self, "_deskew_note"):
            self._deskew_note = deskew_note(self.loaded, self)
        return self._deskew_note

    def export_sweep(self, frame: int, lidar: str, pc: Any, deskew: bool | str
                     ) -> tuple[NDArray[np.floating], F64 | None]:
        """``(xyz (N, 3) sensor frame, times (N,) s or None)`` of a sweep to be written: deskewed
        into the sensor frame at the frame time (times None: every point is at the frame time
        then) when ``deskew`` (True or ``"ego"``; ``"objects"``: moving tracks' points also carried
        to the frame time, :meth:`frame_time_points`), the sweep has times and the sequence has ego
        motion (:attr:`deskew_note` None), else as read with its times (never dropped for nothing)."""
        if deskew not in DESKEW_MODES:
            raise ValueError(f"deskew must be one of {DESKEW_MODES}, got {deskew!r}")
        times = self.sweep_times(frame, lidar, pc)
        if deskew and times is not None and self.deskew_note is None:
            fi = self.loaded.info.frames[frame]
            T_es = self.loaded.rig(frame).T("ego", lidar)
            if deskew == "objects":
                got = self.frame_time_points(frame, lidar, pc)
                assert got is not None  # the sweep has times
                T_sw = invert(self.clock.T_world_from_ego(fi.timestamp_ns) @ T_es)
                return got[0] @ T_sw[:3, :3].T + T_sw[:3, 3], None
            return deskew_points(pc.xyz, times, fi.timestamp_ns, self.clock, T_es), None
        return pc.xyz, times
