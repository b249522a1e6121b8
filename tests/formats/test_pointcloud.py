"""Point-cloud readers: layouts, PCD encodings, lying headers, truncation and bad values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import open3d as o3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.errors import PointCloudError
from formats.pointcloud import (
    PointCloud,
    read_bin,
    read_numpy,
    read_pcd,
    read_ply,
    read_point_cloud,
    write_bin,
    write_pcd,
)
from tests.conftest import real_data


def _cloud(n: int = 500, seed: int = 0) -> PointCloud:
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-50, 50, (n, 3)).astype(np.float32)
    return PointCloud(
        xyz,
        {
            "intensity": rng.uniform(0, 1, n).astype(np.float32),
            "ring": rng.integers(0, 64, n).astype(np.uint16),
            "time": rng.uniform(0, 0.1, n).astype(np.float64),
        },
    )


# ---- .bin ----------------------------------------------------------------------------------
def test_bin_round_trip_kitti_and_nuscenes(tmp_path: Path) -> None:
    c = _cloud()
    for layout, ncol in (("kitti", 4), ("nuscenes", 5)):
        p = tmp_path / f"{layout}.bin"
        write_bin(p, c, layout)
        assert p.stat().st_size == len(c) * 4 * ncol
        r = read_bin(p, layout)
        np.testing.assert_array_equal(r.xyz, c.xyz)
        np.testing.assert_allclose(r.fields["intensity"], c.fields["intensity"])
    np.testing.assert_array_equal(read_bin(tmp_path / "nuscenes.bin", "nuscenes").fields["ring"], c.fields["ring"])


def test_bin_needs_a_layout_and_never_guesses(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    write_bin(p, _cloud(20), "kitti")  # 20 x 16 bytes: divisible by 16 and by 20 -> ambiguous
    with pytest.raises(PointCloudError, match=r"a\.bin.*layout"):
        read_point_cloud(p)


def test_truncated_bin_is_refused_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "cut.bin"
    write_bin(p, _cloud(10), "kitti")
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(PointCloudError, match=r"cut\.bin.*not a multiple of the 16-byte row"):
        read_bin(p, "kitti")


def test_nan_points_are_dropped_and_reported(tmp_path: Path) -> None:
    c = _cloud(50)
    c.xyz[[3, 7]] = np.nan
    p = tmp_path / "nan.bin"
    write_bin(p, c, "kitti")
    r = read_bin(p, "kitti")
    assert len(r) == 48 and np.isfinite(r.xyz).all()
    assert any("dropped 2 of 50" in w for w in r.warnings)


# ---- PCD -----------------------------------------------------------------------------------
@pytest.mark.parametrize("data", ["ascii", "binary"])
def test_pcd_round_trip(tmp_path: Path, data: str) -> None:
    c = _cloud()
    p = tmp_path / f"{data}.pcd"
    write_pcd(p, c, data)
    r = read_pcd(p)
    np.testing.assert_allclose(r.xyz, c.xyz, rtol=1e-6)
    np.testing.assert_array_equal(r.fields["ring"], c.fields["ring"])
    np.testing.assert_allclose(r.fields["time"], c.fields["time"], rtol=1e-12)
    assert r.warnings == []


def test_pcd_written_by_us_reads_in_open3d(tmp_path: Path) -> None:
    c = _cloud()
    p = tmp_path / "b.pcd"
    write_pcd(p, c, "binary")
    t = o3d.t.io.read_point_cloud(str(p))
    np.testing.assert_allclose(t.point.positions.numpy(), c.xyz)
    np.testing.assert_allclose(t.point.intensity.numpy()[:, 0], c.fields["intensity"])


@pytest.mark.parametrize("compressed", [True, False])
def test_pcd_written_by_open3d_compressed_and_binary(tmp_path: Path, compressed: bool) -> None:
    c = _cloud(3000, seed=4)
    pc = o3d.t.geometry.PointCloud()
    pc.point.positions = o3d.core.Tensor(c.xyz)
    pc.point.intensity = o3d.core.Tensor(c.fields["intensity"][:, None])
    p = tmp_path / "o3d.pcd"
    o3d.t.io.write_point_cloud(str(p), pc, write_ascii=False, compressed=compressed)
    assert (b"binary_compressed" in p.read_bytes()[:400]) == compressed
    r = read_pcd(p)
    np.testing.assert_array_equal(r.xyz, c.xyz)
    np.testing.assert_array_equal(r.fields["intensity"], c.fields["intensity"])


def test_pcd_field_order_and_counts(tmp_path: Path) -> None:
    p = tmp_path / "order.pcd"
    p.write_text(
        "VERSION .7\nFIELDS intensity z _ y x normal\nSIZE 4 4 1 4 4 4\nTYPE F F U F F F\n"
        "COUNT 1 1 3 1 1 3\nWIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA ascii\n"
        "0.5 3 0 0 0 2 1 0 0 1\n0.25 6 0 0 0 5 4 1 0 0\n"
    )
    r = read_pcd(p)
    np.testing.assert_allclose(r.xyz, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(r.fields["intensity"], [0.5, 0.25])
    assert r.fields["normal"].shape == (2, 3)
    assert "_" not in r.fields


@pytest.mark.parametrize("data", ["ascii", "binary"])
@pytest.mark.parametrize("count", ["0", "2"])
def test_pcd_coordinate_with_a_count_other_than_one_is_refused(tmp_path: Path, data: str, count: str) -> None:
    """Found by the long fuzz run: COUNT 0 for y made numpy's stack raise a ValueError."""
    p = tmp_path / "c.pcd"
    write_pcd(p, _cloud(10), data)
    head, sep, body = p.read_bytes().partition(b"DATA")
    lines = head.decode().splitlines()
    i = next(j for j, ln in enumerate(lines) if ln.startswith("COUNT"))
    counts = lines[i].split()
    counts[2] = count  # y
    lines[i] = " ".join(counts)
    p.write_bytes(("\n".join(lines) + "\n").encode() + sep + body)
    with pytest.raises(PointCloudError, match=r"c\.pcd.*'y' has COUNT"):
        read_pcd(p)


def test_truncated_pcd_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "t.pcd"
    write_pcd(p, _cloud(100), "binary")
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(PointCloudError, match=r"t\.pcd.*truncated"):
        read_pcd(p)


def test_pcd_points_disagreeing_with_width_height(tmp_path: Path) -> None:
    p = tmp_path / "wh.pcd"
    p.write_text("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 3\nHEIGHT 1\nPOINTS 2\nDATA ascii\n1 2 3\n4 5 6\n")
    with pytest.raises(PointCloudError, match=r"wh\.pcd.*WIDTH\*HEIGHT"):
        read_pcd(p)


def _misaligned_pcd(path: Path, n: int, ambiguous: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 32-byte row x y z pad4 t(f8 @16) ring(u2 @24) pad6, declared with wrong padding counts."""
    rng = np.random.default_rng(1)
    xyz = rng.uniform(-20, 20, (n, 3)).astype(np.float32)
    t = 1000.0 + np.sort(rng.uniform(0, 0.1, n))
    ring = rng.integers(0, 32, n).astype(np.uint16)
    rows = np.zeros((n, 32), np.uint8)
    rows[:, 0:12] = xyz.view(np.uint8).reshape(n, 12)
    rows[:, 16:24] = t.view(np.uint8).reshape(n, 8)
    rows[:, 24:26] = ring.view(np.uint8).reshape(n, 2)
    if ambiguous:  # a second informative uint16 column in the padding
        rows[:, 28:30] = rng.integers(0, 32, n).astype(np.uint16).view(np.uint8).reshape(n, 2)
    header = (
        "VERSION 0.7\nFIELDS x y z _ t ring _\nSIZE 4 4 4 1 8 2 1\nTYPE F F F U F U U\n"
        f"COUNT 1 1 1 2 1 1 8\nWIDTH {n}\nHEIGHT 1\nPOINTS {n}\nDATA binary\n"
    )
    path.write_bytes(header.encode() + rows.tobytes())
    return t, ring


def test_lying_pcd_header_is_recovered_when_unambiguous(tmp_path: Path) -> None:
    p = tmp_path / "lie.pcd"
    t, ring = _misaligned_pcd(p, 400, ambiguous=False)
    r = read_pcd(p)
    np.testing.assert_array_equal(r.fields["t"], t)
    np.testing.assert_array_equal(r.fields["ring"], ring)
    assert any("'t'" in w and "recovered" in w for w in r.warnings)


def test_lying_pcd_header_is_refused_when_ambiguous(tmp_path: Path) -> None:
    p = tmp_path / "amb.pcd"
    _misaligned_pcd(p, 400, ambiguous=True)
    with pytest.raises(PointCloudError, match=r"amb\.pcd.*'ring'.*several offsets"):
        read_pcd(p)


def test_sustechpoints_pcd_with_wrong_header_is_recovered() -> None:
    d = real_data("sustechpoints_example", "data", "example", "lidar")
    expected = {"000950": 68242, "000965": 66781, "000970": 66899, "000975": 67153}
    for stem, n in expected.items():
        r = read_pcd(d / f"{stem}.pcd")
        assert len(r) == n
        ring = r.fields["ring"]
        assert ring.min() == 0 and ring.max() == 39 and len(np.unique(ring)) == 40
        ts = r.fields["timestamp"]
        assert 0.09 < ts.max() - ts.min() < 0.11  # one 10 Hz sweep
        assert 0 <= r.fields["intensity"].min() and r.fields["intensity"].max() <= 255
        assert any("3848 bytes after" in w for w in r.warnings)


def test_real_kitti_and_nuscenes_bins() -> None:
    k = real_data("kitti_object_vis", "data", "object", "training", "velodyne", "000000.bin")
    r = read_point_cloud(k, layout="kitti")
    assert len(r) == 115384 and 0 <= r.fields["intensity"].min() <= r.fields["intensity"].max() < 1
    n = next(real_data("nuscenes_kf", "samples", "LIDAR_TOP").glob("*.pcd.bin"))
    r = read_point_cloud(n, layout="nuscenes")
    assert len(r) == 34688 and r.fields["ring"].max() == 31


# ---- PLY / numpy -----------------------------------------------------------------------------
@pytest.mark.parametrize("ascii_", [True, False])
def test_ply_written_by_open3d(tmp_path: Path, ascii_: bool) -> None:
    c = _cloud(200)
    pc = o3d.t.geometry.PointCloud()
    pc.point.positions = o3d.core.Tensor(c.xyz)
    pc.point.intensity = o3d.core.Tensor(c.fields["intensity"][:, None])
    p = tmp_path / "c.ply"
    o3d.t.io.write_point_cloud(str(p), pc, write_ascii=ascii_)
    r = read_ply(p)
    np.testing.assert_allclose(r.xyz, c.xyz, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r.fields["intensity"], c.fields["intensity"], rtol=1e-5, atol=1e-6)


def test_numpy_files(tmp_path: Path) -> None:
    c = _cloud(30)
    np.save(tmp_path / "a.npy", np.column_stack([c.xyz, c.fields["intensity"]]))
    r = read_numpy(tmp_path / "a.npy", layout="kitti")
    np.testing.assert_allclose(r.fields["intensity"], c.fields["intensity"])
    np.savez(tmp_path / "b.npz", xyz=c.xyz, ring=c.fields["ring"])
    r = read_point_cloud(tmp_path / "b.npz")
    np.testing.assert_array_equal(r.fields["ring"], c.fields["ring"])
    np.savez(tmp_path / "bad.npz", xyz=c.xyz, ring=c.fields["ring"][:5])
    with pytest.raises(PointCloudError, match=r"bad\.npz.*'ring'"):
        read_point_cloud(tmp_path / "bad.npz")


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(PointCloudError, match="does not exist"):
        read_point_cloud(tmp_path / "nope.pcd")
    (tmp_path / "x.las").write_bytes(b"")
    with pytest.raises(PointCloudError, match="unknown point-cloud suffix"):
        read_point_cloud(tmp_path / "x.las")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 60), seed=st.integers(0, 10_000), data=st.sampled_from(["ascii", "binary"]))
def test_pcd_round_trip_property(tmp_path_factory: pytest.TempPathFactory, n: int, seed: int, data: str) -> None:
    c = _cloud(n, seed)
    p = tmp_path_factory.mktemp("pcd") / "p.pcd"
    write_pcd(p, c, data)
    r = read_pcd(p)
    assert len(r) == n
    np.testing.assert_allclose(r.xyz, c.xyz, rtol=1e-6)
    np.testing.assert_array_equal(r.fields["ring"], c.fields["ring"])
