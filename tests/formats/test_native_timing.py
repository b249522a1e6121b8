"""The native layout keeps the synthetic timing: per-point times and per-image capture times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import native
from formats.datasets import open_dataset
from formats.errors import FormatError
from fusionlabel.synth import SynthConfig, SynthScene

SMALL = dict(frames=2, seed=3, cameras=1, image_size=(64, 36), beams=16, azimuths=360, sweep_blocks=36)


def test_rolling_sweep_round_trip(tmp_path: Path) -> None:
    sc = SynthScene(SynthConfig(rolling_sweep=True, exposure_offset_ns=15_000_000, **SMALL))  # type: ignore[arg-type]
    out = native.write_synth_scene(sc, tmp_path / "seq", masks=True)
    loaded = open_dataset(out)
    fr = sc.frame(1)
    pc = loaded.read_lidar(1)
    assert pc is not None
    np.testing.assert_array_equal(pc.fields["time"], fr.lidar["lidar_top"].time)
    fi = loaded.info.frames[1]
    assert fi.camera_timestamps_ns["cam_front"] == fr.camera_timestamps_ns["cam_front"] != fi.timestamp_ns
    assert loaded.info.meta["meta"]["timing"]["rolling_sweep"] is True
    mask = native.read_mask(loaded.info.meta["camera_mask_files"][1]["cam_front"])
    assert mask.shape == (36, 64)
    # a truncated time file is refused, naming it
    p = loaded.info.meta["lidar_time_files"][1]["lidar_top"]
    Path(p).write_bytes(Path(p).read_bytes()[:-4])
    with pytest.raises(FormatError, match="point times"):
        loaded.read_lidar(1)


def test_default_sequence_has_no_times(tmp_path: Path) -> None:
    out = native.write_synth_scene(SynthScene(SynthConfig(**SMALL)), tmp_path / "seq")  # type: ignore[arg-type]
    loaded = open_dataset(out)
    pc = loaded.read_lidar(0)
    assert pc is not None and "time" not in pc.fields
    fi = loaded.info.frames[0]
    assert fi.camera_timestamps_ns["cam_front"] == fi.timestamp_ns
