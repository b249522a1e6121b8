"""Synthetic scene generation speed: N frames with 6 cameras written in the native layout.

Usage: ``python benchmarks/bench_synth.py [--frames 20] [--cameras 6] [--size 800x450] [--seed 0]``.
Prints the time of each stage per frame (LiDAR ray casting, camera rendering, encoding + atomic
writes) and the end-to-end total, plus points per sweep and the image sizes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from formats.native import NativeWriter  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--cameras", type=int, default=6, choices=(0, 1, 6))
    ap.add_argument("--size", default="800x450")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    t_start = time.perf_counter()
    cfg = SynthConfig(frames=args.frames, seed=args.seed, cameras=args.cameras, image_size=(w, h))
    scene = SynthScene(cfg)
    t_scene = time.perf_counter() - t_start
    t0 = time.perf_counter()
    for name in scene.rig.camera_names():
        scene.renderer(name)  # pixel rays of every camera (once per sequence)
    t_rays = time.perf_counter() - t0

    t_lidar = t_cam = t_write = 0.0
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        writer = NativeWriter(tmp, scene.name, scene.rig)
        for i in range(len(scene)):
            t0 = time.perf_counter()
            fr = scene.frame(i, cameras=False)
            t1 = time.perf_counter()
            cams = scene.frame(i, lidar=False).cameras
            t2 = time.perf_counter()
            sweep = fr.lidar["lidar_top"]
            writer.add_frame(
                i,
                fr.timestamp_ns,
                fr.T_world_from_ego,
                lidar={"lidar_top": sweep.points},
                lidar_instance={"lidar_top": sweep.instance},
                cameras={k: v.image for k, v in cams.items()},
            )
            t3 = time.perf_counter()
            t_lidar += t1 - t0
            t_cam += t2 - t1
            t_write += t3 - t2
            points.append(sweep.points.shape[0])
        t0 = time.perf_counter()
        writer.finish(scene.tracks())
        t_finish = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
    total = time.perf_counter() - t_start
    n = len(scene)
    print(f"synthetic scene: {n} frames, {len(scene.rig.camera_names())} cameras, seed {args.seed}")
    for name in scene.rig.camera_names():
        cam = scene.rig.camera(name)
        print(f"  {name:16s} {cam.width}x{cam.height} {cam.model}")
    print(f"  points per sweep: min {min(points)}, mean {sum(points) / n:.0f}, max {max(points)}")
    print(f"  objects: {len(scene.layout.labelled)} labelled, {len(scene.layout.objects)} with structure")
    print(f"scene layout        {t_scene:7.2f} s")
    print(f"camera rays (once)  {t_rays:7.2f} s")
    print(f"lidar               {t_lidar:7.2f} s  ({t_lidar / n:.3f} s/frame)")
    print(f"cameras             {t_cam:7.2f} s  ({t_cam / n:.3f} s/frame)")
    print(f"encode + write      {t_write:7.2f} s  ({t_write / n:.3f} s/frame)")
    print(f"index, rig, labels  {t_finish:7.2f} s")
    print(f"TOTAL               {total:7.2f} s  ({total / n:.3f} s/frame), {size_mb:.0f} MB written")


if __name__ == "__main__":
    main()
