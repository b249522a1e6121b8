"""KITTI calibration readers, and the done-when check: label 3D boxes projected through our
KittiCalib -> CameraModel reproduce the labels' own 2D boxes (IoU >= 0.7)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from calib.errors import CalibrationError
from calib.projection import box_bbox2d
from calib.readers import load_kitti_calib, load_kitti_raw_calib, parse_kitti_calib
from calib.transforms import invert, transform_points
from tests.conftest import real_data

OBJECT = ("kitti_object_vis", "data", "object", "training")
FRAMES = ("000000", "000001", "000002")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def label_corners_cam0rect(
    h: float, w: float, l: float, x: float, y: float, z: float, ry: float
) -> np.ndarray:
    """(8, 3) corners of a KITTI label box in the rectified cam0 frame (x, y, z = bottom centre)."""
    xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * l / 2  # length along the object x
    zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h  # y down: the top is at -h
    c, s = np.cos(ry), np.sin(ry)
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])  # rotation about camera +y
    return (R @ np.stack([xs, ys, zs])).T + [x, y, z]


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def test_label_boxes_project_onto_their_2d_boxes() -> None:
    root = real_data(*OBJECT)
    ious = []
    for frame in FRAMES:
        calib = load_kitti_calib(root / "calib" / f"{frame}.txt")
        cam = calib.camera_model(2, png_size(root / "image_2" / f"{frame}.png"))
        T_cam2_from_cam0rect = calib.T_cami_from_cam0rect(2)
        for line in (root / "label_2" / f"{frame}.txt").read_text().splitlines():
            f = line.split()
            if not f or f[0] == "DontCare" or float(f[1]) != 0.0:
                continue
            box2d = [float(v) for v in f[4:8]]
            h, w, l, x, y, z, ry = (float(v) for v in f[8:15])
            corners = transform_points(T_cam2_from_cam0rect, label_corners_cam0rect(h, w, l, x, y, z, ry))
            ours = box_bbox2d(corners, cam)
            assert ours is not None, (frame, line)
            ious.append(iou(ours, box2d))
            print(f"{frame} {f[0]:<10} IoU {ious[-1]:.3f} ours {np.round(ours, 1)} label {box2d}")
    print(f"KITTI 2D IoU over {len(ious)} boxes: min {min(ious):.3f} mean {np.mean(ious):.3f}")
    assert len(ious) == 6
    assert min(ious) >= 0.7


def test_object_calib_matrices() -> None:
    root = real_data(*OBJECT)
    calib = load_kitti_calib(root / "calib" / "000001.txt")
    # P_i = K_i [I | t_i] exactly
    for i in range(4):
        P = calib.K(i) @ np.c_[np.eye(3), calib.t_cam(i)]
        np.testing.assert_allclose(P, calib.P[i], atol=1e-9)
    # projecting a velodyne point through P2 R0 Tr equals our camera model and transform
    pts_velo = np.array([[10.0, 1.0, -1.0], [25.0, -4.0, 0.5]])
    R0 = np.eye(4)
    R0[:3, :3] = calib.R0_rect
    hom = (calib.P[2] @ R0 @ calib.Tr_velo_to_cam @ np.c_[pts_velo, np.ones(2)].T).T
    cam = calib.camera_model(2, (1242, 375))
    uv, depth, valid = cam.project(transform_points(calib.T_cami_from_velo(2), pts_velo))
    np.testing.assert_allclose(uv, hom[:, :2] / hom[:, 2:], atol=1e-9)
    assert valid.all()
    # the rig: ego = velodyne
    rig = calib.to_rig((1242, 375), cameras=(2, 3))
    assert rig.camera_names() == ["image_2", "image_3"] and rig.lidar_names() == ["velodyne"]
    np.testing.assert_allclose(rig.T("image_2", "velodyne"), calib.T_cami_from_velo(2), atol=1e-12)
    np.testing.assert_allclose(rig.T("ego", "velodyne"), np.eye(4))
    np.testing.assert_allclose(rig.T("velodyne", "imu"), calib.Tr_imu_to_velo, atol=1e-12)
    # stereo baseline: image_3 is ~0.54 m to the right... of image_2 minus 0.06: cameras 0.53 m apart
    base = rig.T("image_2", "image_3")[:3, 3]
    assert 0.5 < -base[0] < 0.6 or 0.5 < base[0] < 0.6


def test_image_size_required() -> None:
    root = real_data(*OBJECT)
    calib = load_kitti_calib(root / "calib" / "000000.txt")
    with pytest.raises(CalibrationError, match="image size"):
        calib.camera_model(2)


def test_tracking_variant_keys(tmp_path: Path) -> None:
    root = real_data("ab3dmot_kitti_tracking", "data", "KITTI", "mini", "training", "calib")
    text = (root / "0001.txt").read_text()
    a = parse_kitti_calib(text, "0001.txt")
    renamed = (
        text.replace("R0_rect:", "R_rect")
        .replace("Tr_velo_to_cam:", "Tr_velo_cam")
        .replace("Tr_imu_to_velo:", "Tr_imu_velo")
    )
    renamed = renamed.replace("P0:", "P0").replace("P2:", "P2")
    path = tmp_path / "0001.txt"
    path.write_text(renamed)
    b = load_kitti_calib(path)
    for i in range(4):
        np.testing.assert_array_equal(a.P[i], b.P[i])
    np.testing.assert_array_equal(a.T_cam0rect_from_velo(), b.T_cam0rect_from_velo())
    np.testing.assert_array_equal(a.Tr_imu_to_velo, b.Tr_imu_to_velo)


GOOD = """P0: 7.2e+02 0 6.0e+02 0 0 7.2e+02 1.7e+02 0 0 0 1 0
P1: 7.2e+02 0 6.0e+02 -3.8e+02 0 7.2e+02 1.7e+02 0 0 0 1 0
P2: 7.2e+02 0 6.0e+02 4.4e+01 0 7.2e+02 1.7e+02 2.1e-01 0 0 1 2.7e-03
P3: 7.2e+02 0 6.0e+02 -3.3e+02 0 7.2e+02 1.7e+02 2.1e+00 0 0 1 2.7e-03
R0_rect: 1 0 0 0 1 0 0 0 1
Tr_velo_to_cam: 0 -1 0 0 0 0 -1 -0.08 1 0 0 -0.27
Tr_imu_to_velo: 1 0 0 -0.8 0 1 0 0.3 0 0 1 -0.8
"""


def test_good_synthetic_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "calib.txt"
    path.write_text(GOOD)
    calib = load_kitti_calib(path)
    np.testing.assert_allclose(calib.T_cam0rect_from_velo()[:3, :3] @ [1, 0, 0], [0, 0, 1])
    np.testing.assert_allclose(invert(calib.T_velo_from_imu())[:3, 3], [0.8, -0.3, 0.8])


@pytest.mark.parametrize(
    ("old", "new", "key", "what"),
    [
        ("P2: 7.2e+02 0 6.0e+02 4.4e+01 0 7.2e+02 1.7e+02 2.1e-01 0 0 1 2.7e-03\n", "", "P2", "missing"),
        ("R0_rect: 1 0 0 0 1 0 0 0 1", "R0_rect: 1 0 0 0 1 0 0 0", "R0_rect", "expected 9 numbers"),
        ("R0_rect: 1 0 0 0 1 0 0 0 1", "R0_rect: 1 0 0 0 1 0 0 0 x", "R0_rect", "non-numeric"),
        ("R0_rect: 1 0 0 0 1 0 0 0 1", "R0_rect: 1 0 0 0 nan 0 0 0 1", "R0_rect", "NaN"),
        ("R0_rect: 1 0 0 0 1 0 0 0 1", "R0_rect: 1.1 0 0 0 1 0 0 0 1", "R0_rect", "orthonormal"),
        ("Tr_velo_to_cam: 0 -1 0", "Tr_velo_to_cam: 0 1 0", "Tr_velo_to_cam", "determinant"),
        ("Tr_velo_to_cam: 0 -1 0 0 0 0 -1 -0.08 1 0 0 -0.27\n", "", "Tr_velo_to_cam", "missing"),
        ("P0: 7.2e+02", "P0: -7.2e+02", "P0", "focal"),
        ("P1: 7.2e+02 0 6.0e+02 -3.8e+02 0 7.2e+02 1.7e+02 0 0 0 1 0", "P1: 1 2", "P1", "expected 12"),
        ("Tr_imu_to_velo: 1 0 0", "Tr_imu_to_velo: 2 0 0", "Tr_imu_to_velo", "orthonormal"),
        (
            "R0_rect: 1 0 0 0 1 0 0 0 1\n",
            "R0_rect: 1 0 0 0 1 0 0 0 1\nR0_rect: 1 0 0 0 1 0 0 0 1\n",
            "R0_rect",
            "repeated",
        ),
    ],
)
def test_malformed_object_calib(tmp_path: Path, old: str, new: str, key: str, what: str) -> None:
    assert old in GOOD
    path = tmp_path / "bad_calib.txt"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(CalibrationError) as ei:
        load_kitti_calib(path)
    msg = str(ei.value)
    assert "bad_calib.txt" in msg and repr(key) in msg and what in msg, msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="nope.txt.*cannot read"):
        load_kitti_calib(tmp_path / "nope.txt")


# ---- KITTI raw -----------------------------------------------------------------------------------
def raw_files(tmp_path: Path, calib_obj_text: str) -> tuple[Path, Path, Path]:
    """Write KITTI raw calib files equivalent to an object calib text (distortion made up)."""
    obj = parse_kitti_calib(calib_obj_text, "obj")
    cc = ["calib_time: 09-Jan-2012 13:57:47", "corner_dist: 9.950000e-02"]
    for i in range(4):
        k = f"0{i}"
        fmt = " ".join
        cc += [
            f"S_{k}: 1.392000e+03 5.120000e+02",
            f"K_{k}: " + fmt(f"{v:e}" for v in [9.8e2, 0, 6.9e2, 0, 9.7e2, 2.4e2, 0, 0, 1]),
            f"D_{k}: -3.7e-01 2.0e-01 2.2e-03 1.3e-03 -7.2e-02",
            f"R_{k}: " + fmt(f"{v:e}" for v in np.eye(3).ravel()),
            f"T_{k}: " + fmt(f"{v:e}" for v in [-0.54 * (i % 2), 0, 0]),
            f"S_rect_{k}: 1.242000e+03 3.750000e+02",
            f"R_rect_{k}: " + fmt(f"{v:.12e}" for v in obj.R0_rect.ravel()),
            f"P_rect_{k}: " + fmt(f"{v:.12e}" for v in obj.P[i].ravel()),
        ]
    Tr = obj.Tr_velo_to_cam
    vc = [
        "calib_time: 15-Mar-2012 11:37:16",
        "R: " + " ".join(f"{v:.12e}" for v in Tr[:3, :3].ravel()),
        "T: " + " ".join(f"{v:.12e}" for v in Tr[:3, 3]),
        "delta_f: 0.000000e+00 0.000000e+00",
        "delta_c: 0.000000e+00 0.000000e+00",
    ]
    Ti = obj.Tr_imu_to_velo
    iv = [
        "calib_time: 25-May-2012 16:47:16",
        "R: " + " ".join(f"{v:.12e}" for v in Ti[:3, :3].ravel()),
        "T: " + " ".join(f"{v:.12e}" for v in Ti[:3, 3]),
    ]
    paths = (
        tmp_path / "calib_cam_to_cam.txt",
        tmp_path / "calib_velo_to_cam.txt",
        tmp_path / "calib_imu_to_velo.txt",
    )
    for p, lines in zip(paths, (cc, vc, iv), strict=True):
        p.write_text("\n".join(lines) + "\n")
    return paths


def test_raw_calib_builds_the_same_rectified_model(tmp_path: Path) -> None:
    root = real_data(*OBJECT)
    text = (root / "calib" / "000001.txt").read_text()
    obj = parse_kitti_calib(text, "obj")
    cc, vc, iv = raw_files(tmp_path, text)
    raw, unrect = load_kitti_raw_calib(cc, vc, iv)
    np.testing.assert_allclose(raw.T_cami_from_velo(2), obj.T_cami_from_velo(2), atol=1e-9)
    np.testing.assert_allclose(raw.T_velo_from_imu(), obj.T_velo_from_imu(), atol=1e-9)
    cam = raw.camera_model(2)  # size from S_rect_02
    assert (cam.width, cam.height) == (1242, 375)
    rig = raw.to_rig()
    assert rig.camera_names() == ["image_2"]
    dist_cam = unrect.camera_model(0)
    assert dist_cam.model == "radtan" and (dist_cam.width, dist_cam.height) == (1392, 512)
    np.testing.assert_allclose(unrect.T_cami_from_cam0[1][:3, 3], [-0.54, 0, 0])


@pytest.mark.parametrize(
    ("which", "old", "new", "key"),
    [
        (0, "S_rect_02: 1.242000e+03 3.750000e+02", "S_rect_02: 1.242000e+03", "S_rect_02"),
        (0, "D_01: -3.7e-01 2.0e-01 2.2e-03 1.3e-03 -7.2e-02", "D_01: -3.7e-01 2.0e-01", "D_01"),
        (1, "delta_f", "delta_f", None),
        (1, "T: ", "TT: ", "T"),
        (2, "R: ", "R: 9 ", "R"),
    ],
)
def test_malformed_raw_calib(tmp_path: Path, which: int, old: str, new: str, key: str | None) -> None:
    paths = raw_files(tmp_path, GOOD)
    text = paths[which].read_text()
    assert old in text
    paths[which].write_text(text.replace(old, new))
    if key is None:
        load_kitti_raw_calib(*paths)
        return
    with pytest.raises(CalibrationError) as ei:
        load_kitti_raw_calib(*paths)
    assert paths[which].name in str(ei.value) and repr(key) in str(ei.value), str(ei.value)


def test_kitti_rig_json_round_trip(tmp_path: Path) -> None:
    from calib.rig import load_rig_json, save_rig_json

    root = real_data(*OBJECT)
    rig = load_kitti_calib(root / "calib" / "000002.txt").to_rig(
        {2: (1242, 375), 3: (1242, 375)}, cameras=(2, 3)
    )
    save_rig_json(rig, tmp_path / "rig.json")
    assert load_rig_json(tmp_path / "rig.json") == rig
