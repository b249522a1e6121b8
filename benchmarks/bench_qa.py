"""Timing of the QA checks and of the agreement on a synthetic sequence (full-density LiDAR).

Run: PYTHONPATH=. python benchmarks/bench_qa.py [--frames N]   (prints figures, asserts nothing)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from calib.transforms import transform_points
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo
from fusionlabel.qa import QAConfig, compare, run_checks, sample_frames
from fusionlabel.synth import SynthConfig, SynthScene


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20)
    n = ap.parse_args().frames
    t0 = time.perf_counter()
    sc = SynthScene(SynthConfig(frames=n, seed=0, cameras=1, image_size=(160, 90)))
    info = SequenceInfo("synth", "synth", [FrameInfo(i, sc.timestamp_ns(i), sc.ego_pose(i)) for i in range(n)], sc.rig)
    points = {}
    for i in range(n):
        fr = sc.frame(i, cameras=False)
        points[i] = np.concatenate([transform_points(fr.T_world_from_ego @ sc.rig.T("ego", k), sw.points[:, :3])
                                    for k, sw in fr.lidar.items()])
    print(f"scene: {n} frames, {len(sc.tracks())} tracks, {np.mean([len(p) for p in points.values()]):.0f} "
          f"points per sweep (generated in {time.perf_counter() - t0:.1f} s)")
    doc = AnnotationDocument.from_tracks(sc.tracks(), n)
    for name, cfg in (("all checks", QAConfig.default()),
                      ("without point checks", QAConfig.from_dict({"checks": {c: {"enabled": False} for c in
                                                                             ("empty_box", "few_points", "ground")}}))):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            res = run_checks(doc, info, points.get, config=cfg)
            best = min(best, time.perf_counter() - t)
        print(f"run_checks ({name}): {best * 1e3:.0f} ms = {best / n * 1e3:.1f} ms per frame "
              f"({res.boxes} boxes, {len(res.findings)} findings)")
    b = AnnotationDocument.from_tracks(sc.tracks(), n)
    for mode in ("bev", "3d"):
        t = time.perf_counter()
        r = compare(doc, b, mode)
        dt = time.perf_counter() - t
        print(f"compare ({mode}): {dt * 1e3:.0f} ms = {dt / n * 1e3:.1f} ms per frame ({len(r.matches)} matches)")
    t = time.perf_counter()
    sample_frames(doc, 0.1, res.findings)
    print(f"sample_frames: {(time.perf_counter() - t) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
