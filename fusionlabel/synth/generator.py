"""The synthetic sequence: configuration, rig, ego poses, ground truth and per-frame sensor data.

``SynthScene(SynthConfig(frames=20, seed=0, cameras=6))`` builds the scene layout once
(deterministic for the seed) and renders frames on demand with :meth:`SynthScene.frame`. Nothing is
written to disk here: ``formats.native`` writes a scene in the native layout.

Frames are 10 Hz; frame ``i`` is at ``START_NS + i * dt_ns`` nanoseconds. By default the LiDAR sweep
and every camera image of a frame are captured at the frame time (``camera_timestamps_ns`` equal the
frame timestamp), so the ground truth of frame ``i`` holds exactly for all of its sensor data.

Timing (``SynthConfig.rolling_sweep`` / ``exposure_offset_ns``, docs/timing.md): with a rolling
sweep the LiDAR head turns once per frame period, looking forward at the frame time; each block of
azimuth columns is cast from the ego pose and against the agents at its own time, and every point
records that time (``LidarSweep.time``, seconds relative to the frame time). Each camera is then
triggered when the head passes its optical axis (as in nuScenes), plus ``exposure_offset_ns``;
without a rolling sweep every camera is at the frame time plus ``exposure_offset_ns``. Images are
rendered from the ego pose and the agents at the camera's own time; the ground-truth boxes stay
those of the frame time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.rig import Rig, Sensor
from calib.transforms import make_transform, pose_from_xyz_yaw
from fusionlabel.box import Box3D
from fusionlabel.map.element import MapElement
from fusionlabel.model import Track
from fusionlabel.synth.lidar import LidarSpec, LidarSweep, cast_sweep, sweep_column_offsets
from fusionlabel.synth.render import CameraImage, CameraRenderer
from fusionlabel.synth.roadmap import road_map
from fusionlabel.synth.scene import SceneLayout, build_layout, primitives_at

F64 = NDArray[np.float64]

#: Timestamp of frame 0 (ns): 2020-09-13T12:26:40Z, fixed so that outputs are reproducible.
START_NS = 1_600_000_000_000_000_000
LIDAR_NAME = "lidar_top"
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of a synthetic sequence.

    ``frames`` (>= 1) at ``dt_ns`` spacing; ``cameras`` 0, 1 (forward) or 6 (ring);
    ``image_size`` (width, height) px of every camera; ``beams`` x ``azimuths`` LiDAR rays."""

    frames: int = 20
    seed: int = 0
    cameras: int = 6
    image_size: tuple[int, int] = (800, 450)
    beams: int = 64
    azimuths: int = 1800
    dt_ns: int = 100_000_000
    #: a rotating sweep (one turn per ``dt_ns``; points at their own time) in ``sweep_blocks`` blocks
    rolling_sweep: bool = False
    #: every camera's capture time minus its trigger time (frame time, or sweep passage), ns
    exposure_offset_ns: int = 0
    sweep_blocks: int = 120

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.cameras not in (0, 1, 6):
            raise ValueError(f"cameras must be 0, 1 or 6, got {self.cameras}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        w, h = self.image_size
        if w < 16 or h < 16:
            raise ValueError(f"image size must be at least 16 x 16, got {w} x {h}")
        if self.beams < 1 or self.azimuths < 8:
            raise ValueError("need at least 1 beam and 8 azimuth steps")
        if self.sweep_blocks < 1:
            raise ValueError(f"sweep_blocks must be >= 1, got {self.sweep_blocks}")
        if abs(self.exposure_offset_ns) > self.dt_ns:
            raise ValueError(f"exposure offset {self.exposure_offset_ns} ns exceeds the frame period")


@dataclass
class SynthFrame:
    """Sensor data and ground truth of one frame.

    ``T_world_from_ego`` (4, 4); ``lidar`` sensor name -> :class:`LidarSweep` (points in that
    sensor's frame); ``cameras`` sensor name -> :class:`CameraImage`; ``boxes`` track id -> world
    box (at the frame time); ``camera_timestamps_ns`` sensor name -> capture time (ns)."""

    index: int
    timestamp_ns: int
    T_world_from_ego: F64
    lidar: dict[str, LidarSweep] = field(default_factory=dict)
    cameras: dict[str, CameraImage] = field(default_factory=dict)
    boxes: dict[int, Box3D] = field(default_factory=dict)
    camera_timestamps_ns: dict[str, int] = field(default_factory=dict)


def _camera_pose(x: float, y: float, z: float, yaw_deg: float, pitch_deg: float = 0.0) -> F64:
    """``T_ego_from_cam`` of an optical frame (x right, y down, z forward) looking along
    ``yaw_deg`` (about +z of ego) and tilted down by ``pitch_deg``."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    f = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)])
    r = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    d = np.cross(f, r)
    return make_transform(np.stack([r, d, f], axis=1), [x, y, z])


def _intrinsics(width: int, height: int, f: float) -> F64:
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def make_rig(cameras: int, image_size: tuple[int, int] = (800, 450)) -> Rig:
    """The synthetic rig: ``lidar_top`` on the roof and 0, 1 (``cam_front``) or 6 cameras.

    The ring: ``cam_front`` (radtan, 70 deg), ``cam_front_left``/``cam_front_right`` (pinhole,
    70 deg, +-55 deg), ``cam_back_left``/``cam_back_right`` (radtan, 70 deg, +-125 deg) and
    ``cam_back`` (fisheye, about 130 deg). The ego frame origin is on the ground below the rear
    axle; the lidar is yawed by 0.5 deg so that ``T_ego_from_lidar`` is not a pure translation."""
    w, h = image_size
    sensors = [Sensor(LIDAR_NAME, "lidar", pose_from_xyz_yaw(0.95, 0.0, 1.84, math.radians(0.5)))]
    f70 = (w / 2.0) / math.tan(math.radians(35.0))
    radtan_front = CameraModel(_intrinsics(w, h, f70), w, h, "radtan", (-0.10, 0.02, 0.0005, -0.0003, 0.0))
    radtan_back = CameraModel(_intrinsics(w, h, f70), w, h, "radtan", (-0.06, 0.01, 0.0, 0.0))
    pinhole = CameraModel(_intrinsics(w, h, f70), w, h, "none", ())
    f_fish = (w / 2.0) / math.radians(65.0)
    fisheye = CameraModel(_intrinsics(w, h, f_fish), w, h, "fisheye", (-0.01, 0.002, 0.0, 0.0))
    ring = [
        ("cam_front", _camera_pose(1.70, 0.0, 1.55, 0.0, 2.0), radtan_front),
        ("cam_front_left", _camera_pose(1.50, 0.45, 1.55, 55.0, 2.0), pinhole),
        ("cam_front_right", _camera_pose(1.50, -0.45, 1.55, -55.0, 2.0), pinhole),
        ("cam_back_left", _camera_pose(0.30, 0.45, 1.55, 125.0, 2.0), radtan_back),
        ("cam_back_right", _camera_pose(0.30, -0.45, 1.55, -125.0, 2.0), radtan_back),
        ("cam_back", _camera_pose(-0.85, 0.0, 1.60, 180.0, 5.0), fisheye),
    ]
    for name, T, cam in ring[: cameras if cameras in (0, 1) else 6]:
        sensors.append(Sensor(name, "camera", T, cam))
    return Rig(sensors)


class SynthScene:
    """A deterministic synthetic sequence for ``config`` (see the module docstring)."""

    def __init__(self, config: SynthConfig | None = None) -> None:
        self.config = config or SynthConfig()
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, GENERATOR_VERSION])
        self.duration_s = (cfg.frames - 1) * cfg.dt_ns * 1e-9
        self.layout: SceneLayout = build_layout(rng, self.duration_s)
        self.rig = make_rig(cfg.cameras, cfg.image_size)
        self.lidar_spec = LidarSpec.default(cfg.beams, cfg.azimuths)
        self._lidar_dirs = self.lidar_spec.directions()
        self._renderers: dict[str, CameraRenderer] = {}
        self.name = f"synth-seed{cfg.seed}-{cfg.frames}f-{cfg.cameras}cam"

    # ---- sequence-level truth ----------------------------------------------------------------
    def __len__(self) -> int:
        return self.config.frames

    def time_s(self, index: int) -> float:
        return index * self.config.dt_ns * 1e-9

    def timestamp_ns(self, index: int) -> int:
        return START_NS + index * self.config.dt_ns

    def ego_pose(self, index: int) -> F64:
        """``T_world_from_ego`` (4, 4) at frame ``index``."""
        return self.layout.ego.pose_at(self.time_s(index))

    def camera_offset_ns(self, name: str) -> int:
        """Capture time of camera ``name`` minus its frame's timestamp (ns): see the module doc."""
        cfg = self.config
        off = cfg.exposure_offset_ns
        if cfg.rolling_sweep:
            T = self.rig.T(LIDAR_NAME, name)  # the optical axis (z) in the lidar frame
            az = math.atan2(T[1, 2], T[0, 2])
            off += int(round(-az / (2.0 * math.pi) * cfg.dt_ns))
        return int(off)

    def boxes(self, index: int) -> dict[int, Box3D]:
        """Ground-truth world boxes of frame ``index``: track id -> Box3D."""
        t = self.time_s(index)
        return {o.instance: o.box_at(t) for o in self.layout.labelled}

    def tracks(self) -> list[Track]:
        """Ground-truth tracks: one per labelled object, every frame a keyframe (world frame)."""
        out = []
        for o in self.layout.labelled:
            kf = {i: o.box_at(self.time_s(i)) for i in range(len(self))}
            out.append(Track(o.instance, o.label or "unknown", dict(o.attributes), kf))
        return out

    def map_elements(self) -> list[MapElement]:
        """Ground-truth map (world frame, see :mod:`fusionlabel.synth.roadmap`): the road from
        60 m behind the ego's first position to 80 m beyond its last."""
        ego = self.layout.ego
        return road_map(self.layout.road, ego.s_at(0.0) - 60.0, ego.s_at(self.duration_s) + 80.0)

    # ---- per-frame sensor data ---------------------------------------------------------------
    def renderer(self, name: str) -> CameraRenderer:
        if name not in self._renderers:
            self._renderers[name] = CameraRenderer(self.rig.camera(name))
        return self._renderers[name]

    def frame(self, index: int, cameras: bool = True, lidar: bool = True) -> SynthFrame:
        """Render frame ``index``: LiDAR sweep(s) and camera images with instance ids."""
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} out of range 0..{len(self) - 1}")
        t = self.time_s(index)
        T_world_from_ego = self.ego_pose(index)
        prims = primitives_at(self.layout.objects, t)
        fr = SynthFrame(index, self.timestamp_ns(index), T_world_from_ego, boxes=self.boxes(index))
        if lidar:
            for name in self.rig.lidar_names():
                rng = np.random.default_rng([self.config.seed, index, GENERATOR_VERSION, 7])
                if self.config.rolling_sweep:
                    fr.lidar[name] = self._rolling_sweep(name, t, rng)
                    continue
                T_world_from_lidar = T_world_from_ego @ self.rig.T("ego", name)
                fr.lidar[name] = cast_sweep(
                    self.lidar_spec, T_world_from_lidar, prims, self.layout.road, rng, dirs_lidar=self._lidar_dirs
                )
        if cameras:
            for name in self.rig.camera_names():
                off = self.camera_offset_ns(name)
                fr.camera_timestamps_ns[name] = fr.timestamp_ns + off
                tc = t + off * 1e-9
                cam_prims = prims if off == 0 else primitives_at(self.layout.objects, tc)
                T_world_from_cam = self.layout.ego.pose_at(tc) @ self.rig.T("ego", name)
                fr.cameras[name] = self.renderer(name).render(T_world_from_cam, cam_prims, self.layout.road)
        return fr

    def _rolling_sweep(self, name: str, t: float, rng: np.random.Generator) -> LidarSweep:
        """A rotating sweep of lidar ``name`` around frame time ``t`` (s): the columns in
        ``sweep_blocks`` blocks of consecutive firing times, each cast from the lidar pose and
        against the scene at the block's mean time, which every point of the block records."""
        cfg = self.config
        offs = sweep_column_offsets(self.lidar_spec.n_azimuth, cfg.dt_ns * 1e-9)
        order = np.argsort(offs, kind="stable")
        T_ego_from_lidar = self.rig.T("ego", name)
        parts: list[LidarSweep] = []
        for cols in np.array_split(order, min(cfg.sweep_blocks, len(order))):
            tb = float(offs[cols].mean())
            T_world_from_lidar = self.layout.ego.pose_at(t + tb) @ T_ego_from_lidar
            prims = primitives_at(self.layout.objects, t + tb)
            sw = cast_sweep(self.lidar_spec, T_world_from_lidar, prims, self.layout.road, rng,
                            dirs_lidar=self._lidar_dirs, columns=cols)
            sw.time = np.full(len(sw.instance), tb, dtype=np.float32)
            parts.append(sw)
        has_part = all(p.part is not None for p in parts)
        return LidarSweep(
            np.concatenate([p.points for p in parts]),
            np.concatenate([p.instance for p in parts]),
            part=np.concatenate([p.part for p in parts if p.part is not None]) if has_part else None,
            time=np.concatenate([p.time for p in parts if p.time is not None]),
        )
