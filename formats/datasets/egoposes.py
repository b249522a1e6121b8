"""Give a sequence without ego poses the poses estimated from its own LiDAR sweeps.

:func:`with_estimated_poses` registers the sweeps (:mod:`fusionlabel.egomotion`), sets each
frame's ``T_world_from_ego`` (world = the first sweep's ego frame) and moves every annotation
keyframe from its frame's old world to the new one, so labels keep their place relative to the
sensor while parked objects now stand still in the world. Used by ``open_dataset(...,
estimate_poses=True)`` and ``--estimate-poses``.
"""

from __future__ import annotations

import numpy as np

from calib.transforms import invert
from formats.datasets.base import LoadedSequence
from formats.datasets.errors import DatasetError
from fusionlabel.document import AnnotationDocument
from fusionlabel.egomotion import estimate_ego_motion


def with_estimated_poses(loaded: LoadedSequence, lidar: str | None = None) -> LoadedSequence:
    """Estimate ego poses from the sweeps of ``lidar`` (default: the first LiDAR) and apply them
    to ``loaded`` in place (frames, per-sensor poses, annotations); returns it. Refused when a
    frame has no sweep or the sequence already has poses other than the identity."""
    info = loaded.info
    names = info.rig.lidar_names()
    if not names:
        raise DatasetError(info.root, "no LiDAR to estimate ego poses from")
    lidar = lidar or names[0]
    old = [fr.T_world_from_ego.copy() for fr in info.frames]
    if any(not np.allclose(T, np.eye(4)) for T in old):
        raise DatasetError(info.root, "the sequence already has ego poses; refusing to replace them")
    clouds = []
    for k in range(len(info.frames)):
        pc = loaded.read_lidar(k, lidar)
        if pc is None:
            raise DatasetError(info.root, f"frame {k} has no {lidar} sweep: cannot estimate its pose")
        clouds.append(pc.xyz)
    motion = estimate_ego_motion(clouds, info.frame_times_ns())
    T_lidar_from_ego = info.rig.T(lidar, "ego")
    new = [motion.T_world_from_lidar[k] @ T_lidar_from_ego for k in range(len(clouds))]
    for fr, T in zip(info.frames, new, strict=True):
        fr.T_world_from_ego = T
    if loaded.sensor_poses is not None:  # per-sensor capture poses move with their frame
        for k, per in enumerate(loaded.sensor_poses):
            move = new[k] @ invert(old[k])
            for s in per:
                per[s] = move @ per[s]
    moved = []
    for tr in loaded.annotations.tracks.values():
        kfs = {k: b.transformed(new[k] @ invert(old[k])) for k, b in tr.keyframes.items()}
        tracked = {k: b.transformed(new[k] @ invert(old[k])) for k, b in tr.tracked.items()}
        moved.append(tr.copy(keyframes=kfs, tracked=tracked))
    doc = AnnotationDocument.from_tracks(moved, loaded.annotations.frame_count)
    doc.set_frame_times(info.frame_times_ns())
    loaded.annotations = doc
    info.meta["poses_from"] = "lidar registration"
    info.meta["registration_fitness"] = [round(float(f), 3) for f in motion.fitness]
    loaded.warnings.extend(motion.warnings)
    return loaded
