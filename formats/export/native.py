"""Native writer: any opened sequence -> the native layout (``docs/native-format.md``) + its tracks.

* Every LiDAR of the rig is written as ``lidar/<name>/<frame>.bin`` (float32 x y z intensity in
  its own frame; intensity copied unscaled, 0 when the source has none), every camera image as
  ``cameras/<name>/<frame>.png`` (8-bit RGB; grey images are replicated to three channels).
* Poses, timestamps (the sweep's and each image's) and the rig are kept; the annotation
  document's tracks (world frame, keyframes and gaps, interpolation) become
  ``labels/ground_truth.json``.
* Not representable, hence reported: per-camera ego poses at the image time (nuScenes; the native
  layout has one pose per frame, a warning says so), ignore (DontCare) regions (skipped items),
  and calibrations that change from frame to frame (independent KITTI object frames): refused
  with a FormatError, since a native sequence has one rig.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from formats.datasets.base import LoadedSequence
from formats.errors import FormatError
from formats.export.summary import ConvertSummary
from formats.io import staged_output
from formats.native import NativeWriter
from formats.timing import SequenceTiming


def write_native(loaded: LoadedSequence, dst: Path, *, progress: Callable[[int, int], None] | None = None,
                 overwrite: bool = False, name: str | None = None, deskew: bool | str = False,
                 **_: Any) -> ConvertSummary:
    """Write ``loaded`` as a native sequence folder at ``dst`` (module docstring). Per-point times
    are kept (``lidar_time``); with ``deskew`` the sweeps are written motion-compensated to the
    frame time instead (``"objects"``: moving tracks' points too; docs/timing.md)."""
    if loaded.frame_rigs is not None and any(r != loaded.frame_rigs[0] for r in loaded.frame_rigs):
        raise FormatError(loaded.info.root, "the frames have different calibrations (independent KITTI object "
                          "frames?); a native sequence has one rig: convert to kitti instead")
    summary = ConvertSummary(outputs=[str(dst)])
    info = loaded.info
    n = len(loaded)
    lidars = loaded.lidar_names
    cams = loaded.camera_names
    with staged_output(Path(dst), overwrite) as out:
        writer = NativeWriter(out, name or info.name, loaded.rig(0))
        timing = SequenceTiming(loaded)
        for k, fi in enumerate(info.frames):
            sweeps, times = {}, {}
            for ln in lidars:
                pc = loaded.read_lidar(k, ln)
                if pc is None:
                    continue
                xyz, t = timing.export_sweep(k, ln, pc, deskew)
                if t is not None:
                    times[ln] = t.astype(np.float32)
                arr = np.zeros((len(pc), 4), dtype=np.float32)
                arr[:, :3] = xyz
                if pc.intensity is not None:
                    arr[:, 3] = np.asarray(pc.intensity, dtype=np.float32).reshape(len(pc))
                sweeps[ln] = arr
            images = {}
            for c in cams:
                img = loaded.read_image(k, c)
                if img is None:
                    continue
                if img.ndim == 2:
                    img = np.repeat(img[:, :, None], 3, axis=2)
                images[c] = np.ascontiguousarray(img[:, :, :3])
            writer.add_frame(k, fi.timestamp_ns, fi.T_world_from_ego, lidar=sweeps, cameras=images,
                             camera_timestamps_ns={c: fi.camera_timestamps_ns.get(c, fi.timestamp_ns) for c in images},
                             lidar_time=times or None)
            summary.frames += 1
            if progress is not None:
                progress(k + 1, n)
        tracks = [loaded.annotations.tracks[t] for t in sorted(loaded.annotations.tracks)]
        meta = {"converted_from": {"format": info.format, "name": info.name,
                                   "path": str(info.root) if info.root is not None else None}}
        doc_map = loaded.annotations.map_elements
        writer.finish(tracks, meta, [doc_map[k] for k in sorted(doc_map)] if doc_map else None)
    if deskew and timing.deskew_note is not None:
        summary.warnings.append(f"deskew: sweeps written as read: {timing.deskew_note}")
    summary.boxes = loaded.annotations.num_boxes()
    for r in loaded.ignore_regions:
        summary.skipped.append((f"frame {r.frame} {r.camera} {r.label} region",
                                "the native layout has no ignore regions"))
    if loaded.sensor_poses is not None and any(
        not np.allclose(T, info.frames[k].T_world_from_ego, atol=1e-9, rtol=0)
        for k, per in enumerate(loaded.sensor_poses) for T in per.values()
    ):
        summary.warnings.append("per-camera ego poses at the image times are not kept: the native layout has one "
                                "ego pose per frame")
    return summary
