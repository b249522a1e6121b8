"""Export throughput (frames per second) of the BEV products, OpenLABEL and images with boxes.

A synthetic scene (``--frames`` frames, default 200; one forward camera of ``--size`` and a LiDAR of
64 beams x ``--azimuths`` steps, both smaller than the defaults so that generation stays short) is
written once in the native layout, then exported:

1. BEV at 51.2 m / 0.2 m (512 x 512) in the ego frame, with PNGs and NPZ; and NPZ + JSON only;
2. BEV at 51.2 m / 0.1 m (1024 x 1024), NPZ + JSON only;
3. OpenLABEL JSON (``formats.export.openlabel.write_openlabel``) of the whole sequence;
4. images with projected boxes (PNG per frame), and PNG + MP4.

Each line gives the wall time, frames per second and the CPU time per frame of this process (on a
shared machine the CPU time is the steadier figure; the loader's LiDAR and image reads are included).
Usage: ``python benchmarks/bench_bev.py [--frames 200] [--size 640x360] [--cameras 1]
[--keep DIR]`` (``--keep`` reuses / keeps the generated scene in DIR).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from formats import native  # noqa: E402
from formats.bev import write_bev  # noqa: E402
from formats.datasets import open_dataset  # noqa: E402
from formats.export.openlabel import write_openlabel  # noqa: E402
from formats.render_export import write_images  # noqa: E402
from fusionlabel.synth import SynthConfig, SynthScene  # noqa: E402


def _timed(name: str, frames: int, fn: Callable[[], object]) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  {name:<44s} {dt:7.2f} s  {frames / dt:8.1f} frames/s  ({1000 * dt / frames:6.1f} ms/frame; "
          f"CPU {1000 * cpu / frames:6.1f} ms/frame)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--size", default="640x360", help="camera image size WxH (default 640x360)")
    ap.add_argument("--cameras", type=int, choices=(1, 6), default=1)
    ap.add_argument("--azimuths", type=int, default=1024, help="LiDAR azimuth steps (default 1024, 64 beams)")
    ap.add_argument("--keep", type=Path, help="folder for the generated scene (reused when present)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="bench_bev_"))
    try:
        seq = args.keep or work / "seq"
        if not native.is_native(seq):
            cfg = SynthConfig(frames=args.frames, seed=1, cameras=args.cameras, image_size=(w, h),
                              azimuths=args.azimuths)
            t0 = time.perf_counter()
            native.write_synth_scene(SynthScene(cfg), seq, overwrite=True)
            print(f"generated {args.frames} frames in {time.perf_counter() - t0:.1f} s")
        loaded = open_dataset(seq)
        n = len(loaded)
        pts = loaded.read_lidar(0).xyz.shape[0]
        print(f"scene: {n} frames, {pts} points per sweep, {len(loaded.camera_names)} camera(s) {w}x{h}, "
              f"{len(loaded.annotations.tracks)} tracks, {loaded.annotations.num_boxes()} boxes")
        _timed("BEV 512x512 (0.2 m), PNG + NPZ + JSON", n,
               lambda: write_bev(loaded, work / "bev", overwrite=True))
        _timed("BEV 512x512 (0.2 m), NPZ + JSON", n,
               lambda: write_bev(loaded, work / "bev", overwrite=True, png=False))
        _timed("BEV 1024x1024 (0.1 m), NPZ + JSON", n,
               lambda: write_bev(loaded, work / "bev", overwrite=True, png=False, resolution=0.1))
        _timed("OpenLABEL JSON", n, lambda: write_openlabel(loaded, work / "ol"))
        _timed(f"images with boxes, PNG ({len(loaded.camera_names)} cam)", n,
               lambda: write_images(loaded, work / "img", overwrite=True))
        _timed(f"images with boxes, PNG + MP4 ({len(loaded.camera_names)} cam)", n,
               lambda: write_images(loaded, work / "img", overwrite=True, mp4=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
