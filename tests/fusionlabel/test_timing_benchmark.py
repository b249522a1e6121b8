"""The timing benchmark's measurement on a small synthetic sequence: time-correct projection within
1 px of the box masks, deskewed moving-object points within 2 cm of their boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from formats import native
from formats.datasets import open_dataset
from fusionlabel.synth import SynthConfig, SynthScene
from tests.conftest import load_benchmark


def test_bench_timing_targets(tmp_path: Path) -> None:
    bench = load_benchmark("bench_timing")
    cfg = SynthConfig(frames=3, seed=0, cameras=6, image_size=(320, 180), beams=32, azimuths=900,
                      rolling_sweep=True, exposure_offset_ns=30_000_000)
    scene = SynthScene(cfg)
    loaded = open_dataset(native.write_synth_scene(scene, tmp_path / "seq"))
    moving = bench.moving_ids(scene)
    before, after = bench.projection(scene, loaded, moving)
    assert len(after) >= 8
    assert after.max() <= 1.0
    assert before.max() > 2.0  # without correction the edges are off by pixels
    d = bench.deskew(scene, loaded, moving)
    assert len(d["deskewed"]) > 100
    assert d["deskewed"].max() <= 0.02 < d["raw"].max()
    assert np.isfinite(d["raw"]).all()
    f = bench.frame_time(loaded, moving)  # against the boxes drawn at the frame time
    assert len(f["+ objects"]) > 100
    assert f["+ objects"].max() <= 0.02 < f["ego only"].max()
