"""The native layout (fusionlabel synth) through open_dataset, and packed from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import native
from formats.datasets import describe, detect_format, open_dataset
from formats.packed import pack
from fusionlabel.synth import SynthConfig, SynthScene

CFG = SynthConfig(frames=3, seed=2, cameras=1, image_size=(64, 36), azimuths=360)


@pytest.fixture(scope="module")
def seq_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("native") / "seq"
    native.write_synth_scene(SynthScene(CFG), out)
    return out


def test_native_opens_like_any_layout(seq_dir: Path) -> None:
    assert detect_format(seq_dir) == "native"
    ls = open_dataset(seq_dir)
    seq = native.load_sequence(seq_dir)
    assert ls.format == "native" and len(ls) == 3 and ls.camera_names == seq.camera_names
    gt = native.load_ground_truth(seq)
    assert len(ls.annotations) == len(gt) > 0
    for k in range(3):
        ref = native.read_lidar_frame(seq, k)
        pc = ls.read_lidar(k)
        np.testing.assert_array_equal(pc.xyz, ref[:, :3])
        np.testing.assert_array_equal(pc.fields["intensity"], ref[:, 3])
        for cam in ls.camera_names:
            np.testing.assert_array_equal(ls.read_image(k, cam), native.read_image(seq.frames[k].camera_files[cam]))
    assert ls.sync.complete
    info = describe(ls)
    assert info["frames"] == 3 and info["tracks"] == len(gt)


def test_native_packs(seq_dir: Path, tmp_path: Path) -> None:
    ls = open_dataset(seq_dir)
    packed = open_dataset(pack(ls, tmp_path / "n.h5"))
    try:
        assert packed.annotations.to_dict() == ls.annotations.to_dict()
        np.testing.assert_array_equal(packed.read_lidar(2).xyz, ls.read_lidar(2).xyz)
        cam = ls.camera_names[0]
        np.testing.assert_array_equal(packed.read_image(1, cam), ls.read_image(1, cam))
    finally:
        packed.close()
