"""formats.packed: a sequence packed into one HDF5 file reads back the same, as one more layout."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from formats.datasets import DatasetError, detect_format, open_dataset
from formats.datasets.base import LoadedSequence
from formats.errors import FormatError
from formats.packed import pack
from tests.conftest import real_data
from tests.formats.test_data_layouts import make_tracking


def assert_same(a: LoadedSequence, b: LoadedSequence) -> None:
    assert len(a) == len(b) and a.name == b.name and a.format == b.format
    assert a.rig() == b.rig()
    for k in range(len(a)):
        fa, fb = a.info.frames[k], b.info.frames[k]
        assert fa.timestamp_ns == fb.timestamp_ns and fa.camera_timestamps_ns == fb.camera_timestamps_ns
        np.testing.assert_array_equal(fa.T_world_from_ego, fb.T_world_from_ego)
        assert sorted(fa.lidar_files) == sorted(fb.lidar_files)
        assert sorted(fa.camera_files) == sorted(fb.camera_files)
        assert a.rig(k) == b.rig(k)
        for name in a.lidar_names:
            pa, pb = a.read_lidar(k, name), b.read_lidar(k, name)
            assert (pa is None) == (pb is None)
            if pa is not None:
                np.testing.assert_array_equal(pa.xyz, pb.xyz)
                assert sorted(pa.fields) == sorted(pb.fields)
                for f in pa.fields:
                    np.testing.assert_array_equal(pa.fields[f], pb.fields[f])
        for cam in a.rig(k).camera_names():
            ia, ib = a.read_image(k, cam), b.read_image(k, cam)
            assert (ia is None) == (ib is None)
            if ia is not None:
                np.testing.assert_array_equal(ia, ib)
        for cam in a.rig(k).names():
            np.testing.assert_allclose(a.T_world_from_sensor(k, cam), b.T_world_from_sensor(k, cam))
    assert a.annotations.to_dict() == b.annotations.to_dict()
    assert a.ignore_regions == b.ignore_regions
    assert a.sync.to_dict() == b.sync.to_dict()


@pytest.mark.parametrize("compression", ["lzf", "gzip"])
def test_pack_roundtrip_synthetic(tmp_path: Path, compression: str) -> None:
    make_tracking(tmp_path / "seq")
    src = open_dataset(tmp_path / "seq")
    out = pack(src, tmp_path / "seq.h5", compression=compression)
    assert detect_format(out) == "packed"
    packed = open_dataset(out)
    try:
        assert packed.info.meta["packed_from"] == str(src.info.root)
        assert_same(src, packed)
        with h5py.File(out) as h:
            ds = h["frames/000000/lidar/velodyne/xyz"]
            assert ds.compression == compression and ds.chunks == (100, 3)
    finally:
        packed.close()
    # a packed sequence packs again (images re-encoded losslessly)
    again = open_dataset(out)
    pack(again, tmp_path / "again.h5")
    twice = open_dataset(tmp_path / "again.h5")
    assert_same(src, twice)
    again.close()
    twice.close()


def test_a_project_saved_on_a_packed_copy_reopens_it(tmp_path: Path) -> None:
    """The format a project records for a packed copy is ``packed`` (its ``info.format`` is the
    source's layout): the window's save and the CLI's record it so, and the project reopens."""
    from formats.datasets import reopen_format
    from formats.project import SequenceRef, load_project, save_project

    make_tracking(tmp_path / "seq", n=3)
    src = open_dataset(tmp_path / "seq")
    packed = open_dataset(pack(src, tmp_path / "seq.h5"))
    try:
        assert packed.format == "kitti-tracking" and reopen_format(packed) == "packed"
        assert reopen_format(src) == "kitti-tracking"
        save_project(tmp_path / "p.flproj", packed.annotations, SequenceRef(tmp_path / "seq.h5", reopen_format(packed)))
    finally:
        packed.close()
    again = load_project(tmp_path / "p.flproj").sequence.open()
    try:
        assert "packed_from" in again.info.meta and len(again) == 3
    finally:
        again.close()


def test_pack_is_atomic(tmp_path: Path) -> None:
    make_tracking(tmp_path / "seq", n=3)
    src = open_dataset(tmp_path / "seq")
    (tmp_path / "seq" / "velodyne" / "0003" / "000002.bin").write_bytes(b"12345")  # corrupt
    with pytest.raises(FormatError, match="000002.bin"):
        pack(src, tmp_path / "out.h5")
    assert list(tmp_path.glob("*.h5")) == [] and list(tmp_path.glob(".out.h5*")) == []


def test_not_a_packed_file(tmp_path: Path) -> None:
    p = tmp_path / "x.h5"
    p.write_bytes(b"not hdf5")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        open_dataset(p)
    with h5py.File(p, "w") as h:
        h.attrs["format"] = "something-else"
    with pytest.raises(DatasetError, match="not a fusionlabel-packed file"):
        open_dataset(p)


def test_a_corrupt_packed_file_is_refused_before_the_hdf5_library_reads_it(tmp_path: Path) -> None:
    """One byte inserted among the root attributes made the HDF5 library loop forever (found by the
    long run of the reader fuzzer): the seal (length, CRC-32) is checked first."""
    make_tracking(tmp_path / "seq", n=2)
    out = pack(open_dataset(tmp_path / "seq"), tmp_path / "a.h5")
    data = out.read_bytes()
    assert data.startswith(b"FUSIONLABEL-PACKED-SEAL ")
    at = data.index(b"fusionlabel-packed", 512) + 8  # inside the format attribute
    (tmp_path / "b.h5").write_bytes(data[:at] + b"\xff" + data[at:])
    with pytest.raises(DatasetError, match="b.h5: corrupt packed file: .* bytes after the user block"):
        open_dataset(tmp_path / "b.h5")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    (tmp_path / "c.h5").write_bytes(bytes(flipped))
    with pytest.raises(DatasetError, match="c.h5: corrupt packed file: CRC-32"):
        open_dataset(tmp_path / "c.h5")
    # a file written before the seal (no magic in its user block) opens unchecked
    (tmp_path / "d.h5").write_bytes(b"\0" * 512 + data[512:])
    assert len(open_dataset(tmp_path / "d.h5")) == 2


@pytest.mark.real
def test_pack_real_kitti_object_and_nuscenes(tmp_path: Path) -> None:
    for root in (real_data("kitti_object_vis", "data", "object"), real_data("nuscenes_kf")):
        src = open_dataset(root)
        packed = open_dataset(pack(src, tmp_path / f"{root.name}.h5"))
        assert_same(src, packed)
        packed.close()
