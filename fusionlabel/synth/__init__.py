"""Synthetic scenes with exact ground truth: a ray-cast spinning LiDAR, cameras rendered from the
same scene (pinhole, radtan and fisheye), ego poses along a curved road, and GT tracks.

Entry point: :class:`SynthScene` (see ``fusionlabel.synth.generator``). This package never
touches files; ``formats.native`` writes a scene in the native layout.
"""

from fusionlabel.synth.generator import (
    LIDAR_NAME,
    START_NS,
    SynthConfig,
    SynthFrame,
    SynthScene,
    make_rig,
)
from fusionlabel.synth.lidar import LidarSpec, LidarSweep
from fusionlabel.synth.render import CameraImage

__all__ = [
    "LIDAR_NAME",
    "START_NS",
    "CameraImage",
    "LidarSpec",
    "LidarSweep",
    "SynthConfig",
    "SynthFrame",
    "SynthScene",
    "make_rig",
]
