"""The exporters' fast per-frame geometry (formats.export.occlusion) equals the straightforward
computation bit for bit: box outlines, boxes outside the image, occlusion counts, points near boxes."""

from __future__ import annotations

import numpy as np
import pytest

from calib.camera import CameraModel
from calib.projection import box_extent2d
from calib.transforms import invert, make_transform
from formats.export.common import HIT_MARGIN, may_be_in_image, occlusion_counts, project_sweep, xform
from formats.export.occlusion import SweepBoxes, box_radii, pinhole_extent2d, spheres_outside
from fusionlabel.box import Box3D
from fusionlabel.geometry import point_box_indices

CAM = CameraModel(np.array([[571.26, 0.0, 399.5], [0.0, 571.26, 224.5], [0.0, 0.0, 1.0]]), 800, 450, "none", ())


def _random_boxes(rng: np.random.Generator, n: int, spread: float = 30.0) -> list[Box3D]:
    """Boxes in a camera frame (z forward): many in view, some beside, behind or across the near plane."""
    out = []
    for _ in range(n):
        c = rng.uniform([-spread, -3.0, -8.0], [spread, 3.0, 2.0 * spread])
        size = rng.uniform([0.5, 0.5, 0.5], [6.0, 3.0, 3.0])
        tilt = rng.uniform(-0.3, 0.3, 2) if rng.random() < 0.2 else (0.0, 0.0)
        out.append(Box3D(tuple(c), tuple(size), float(rng.uniform(-np.pi, np.pi)), float(tilt[0]), float(tilt[1])))
    return out


def _same_extent(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (a.unclipped == b.unclipped and a.clipped == b.clipped and a.truncation == b.truncation  # type: ignore[attr-defined]
            and np.array_equal(a.polygon, b.polygon))  # type: ignore[attr-defined]


def test_pinhole_extent_equals_box_extent2d_bit_for_bit() -> None:
    rng = np.random.default_rng(1)
    boxes = _random_boxes(rng, 3000)
    kinds = {"none": 0, "clipped": 0, "whole": 0, "near": 0}
    for b in boxes:
        corners = b.corners()
        ref = box_extent2d(corners, CAM)
        got = pinhole_extent2d(corners, CAM)
        assert _same_extent(ref, got), b
        kinds["near" if (corners[:, 2] < 0.1).any() else "none" if ref is None or ref.clipped is None
              else "clipped" if ref.truncation > 0 else "whole"] += 1
        # precomputed rounded corners give the same
        if (corners[:, 2] >= 0.1).all():
            rounded = np.round(corners[:, :2] / corners[:, 2:3], 12)
            assert _same_extent(ref, pinhole_extent2d(corners, CAM, rounded))
    assert min(kinds.values()) > 50, kinds  # every case exercised
    # a distorted camera goes to box_extent2d itself
    fish = CameraModel(CAM.K, 800, 450, "radtan", (-0.1, 0.01, 0.0, 0.0, 0.0))
    b = Box3D((1.0, 0.5, 12.0), (4.0, 2.0, 1.5), 0.3)
    assert _same_extent(box_extent2d(b.corners(), fish), pinhole_extent2d(b.corners(), fish))


def test_spheres_outside_only_for_boxes_out_of_the_image() -> None:
    rng = np.random.default_rng(2)
    boxes = _random_boxes(rng, 3000, spread=60.0)
    centers = np.array([b.center for b in boxes])
    out = spheres_outside(centers, box_radii(boxes), CAM)
    assert 100 < out.sum() < len(boxes) - 100
    for b, o in zip(boxes, out, strict=True):
        if o:
            ext = box_extent2d(b.corners(), CAM) if may_be_in_image(b.corners(), CAM) else None
            assert ext is None or ext.clipped is None, b
            # and no point inside it projects into the image
            local = rng.uniform(-0.5, 0.5, (200, 3)) * np.array(b.size)
            pts = local @ b.rotation().T + np.array(b.center)
            assert not CAM.project(pts)[2].any()


@pytest.mark.parametrize("kernels", [False, True])
@pytest.mark.parametrize("indexed", [False, True])
@pytest.mark.parametrize("rotated", [False, True])
def test_sweep_counts_equal_the_straightforward_heuristic(rotated: bool, indexed: bool, kernels: bool) -> None:
    """Against project_sweep + point_box_indices over the whole sweep + occlusion_counts, in two
    cameras, with the sweep given in another frame (KITTI's velodyne) or as it is (nuScenes); with
    ``indexed`` the frame's box index is built first (as the nuScenes writer does), so that the hits
    come from the points of each box and the occluders from the points before the boxes."""
    rng = np.random.default_rng(3 + rotated)
    T_F_from_world = make_transform(np.eye(3), [-5.0, 2.0, -1.5])
    boxes_world = []
    for _ in range(40):  # cars on a ground plane around the sensor (world = F shifted)
        c = rng.uniform([-40, -40, 0.5], [40, 40, 1.2]) + np.array([5.0, -2.0, 1.5])
        boxes_world.append(Box3D(tuple(c), (4.5, 1.9, 1.6), float(rng.uniform(-np.pi, np.pi))))
    boxes_F = [b.transformed(T_F_from_world) for b in boxes_world]
    # points: inside boxes (with some beyond the margin), on the ground and in the air
    pts = [rng.uniform(-50, 50, (30000, 3)) * [1, 1, 0.1]]
    for b in boxes_F:
        local = rng.uniform(-0.55, 0.55, (300, 3)) * np.array(b.size)
        pts.append(local @ b.rotation().T + np.array(b.center))
    pts_F = np.concatenate(pts)
    T_F_from_src = make_transform(np.array([[0.9999619, -0.0087265, 0], [0.0087265, 0.9999619, 0], [0, 0, 1]]),
                                  [0.0, 0.0, 0.0]) if rotated else None
    src = (xform(invert(T_F_from_src), pts_F) if rotated else pts_F).astype(np.float32)
    exact_F = xform(T_F_from_src, src) if rotated else np.asarray(src, dtype=np.float64)
    box_of_all = point_box_indices(exact_F, boxes_F, margin=HIT_MARGIN)
    sb = SweepBoxes(src, T_F_from_src, boxes_world, T_F_from_world, kernels=kernels)
    if indexed:
        sb.near_box_index()
    views, expected = [], []
    for yaw in (0.0, 2.0):  # two cameras looking different ways (optical: z forward)
        R_F_from_cam = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], dtype=float)
        Rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
        T_cam_from_F = invert(make_transform(Rz @ R_F_from_cam, [0.5, 0.0, 0.3]))
        T_cam_from_world = T_cam_from_F @ T_F_from_world
        sweep = project_sweep(xform(T_cam_from_F, exact_F), CAM, box_of_all)
        items, want = [], []
        for m, b in enumerate(boxes_world):
            corners = xform(T_cam_from_world, b.corners())
            ext = box_extent2d(corners, CAM) if may_be_in_image(corners, CAM) else None
            if ext is None or ext.clipped is None:
                continue
            items.append((m, ext.polygon, corners))
            want.append(occlusion_counts(sweep, ext.polygon, corners, m))
        assert len(items) >= 3 and sum(h for h, _ in want) > 100 and sum(o for _, o in want) > 0, want
        views.append((T_cam_from_F, CAM, items))
        expected.append(want)
    assert sb.occlusion_counts(views) == expected
    # the grid pre-selection holds every point within the margin of a box
    near = sb.near_boxes()
    assert set(np.flatnonzero(box_of_all >= 0)) <= set(near.tolist())
    assert len(near) < len(src)


@pytest.mark.parametrize("kernels", [False, True])
@pytest.mark.parametrize("rotated", [False, True])
def test_near_box_index_and_world_counts_equal_the_kernels(rotated: bool, kernels: bool) -> None:
    """The grid's (point, box) pairs give point_box_indices (frame F, hit margin) and
    count_points_in_boxes (world frame, no margin) over the whole sweep, bit for bit: overlapping
    boxes (cells of several boxes), tilted boxes, and F tilted against the world (so that an upright
    box in F is not the world box); the occlusion counts through them stay the same."""
    from fusionlabel.geometry import count_points_in_boxes

    rng = np.random.default_rng(11 + rotated)
    c, s = np.cos(0.7), np.sin(0.7)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    a, b = np.radians(4.0), np.radians(-3.0)  # pitch and roll of F against the world
    Ry = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    T_F_from_world = make_transform(Rz @ Ry @ Rx, [3.0, -7.0, -1.2])
    T_world_from_F = invert(T_F_from_world)
    boxes_world = []
    for i in range(50):
        if i % 5 == 4:  # overlapping the previous box
            p = boxes_world[-1]
            ctr = np.array(p.center) + rng.uniform(-1.5, 1.5, 3) * [1, 1, 0.2]
        else:
            ctr = rng.uniform([-30, -30, 0.5], [30, 30, 1.5])
        tilt = rng.uniform(-0.2, 0.2, 2) if i % 7 == 0 else (0.0, 0.0)
        boxes_world.append(Box3D(tuple(ctr), tuple(rng.uniform([1.0, 0.6, 0.8], [10.0, 2.6, 3.5])),
                                 float(rng.uniform(-np.pi, np.pi)), float(tilt[0]), float(tilt[1])))
    pts_w = [rng.uniform(-40, 40, (20000, 3)) * [1, 1, 0.1]]
    for bw in boxes_world:  # inside, on and just beyond the faces
        local = rng.uniform(-0.56, 0.56, (250, 3)) * np.array(bw.size)
        pts_w.append(local @ bw.rotation().T + np.array(bw.center))
    pts_F = xform(T_F_from_world, np.concatenate(pts_w))
    T_F_from_src = make_transform(np.array([[0.9999619, -0.0087265, 0], [0.0087265, 0.9999619, 0], [0, 0, 1]]),
                                  [0.0, 0.0, 0.0]) if rotated else None
    src = (xform(invert(T_F_from_src), pts_F) if rotated else pts_F).astype(np.float32)
    exact_F = xform(T_F_from_src, src) if rotated else np.asarray(src, dtype=np.float64)
    boxes_F = [bw.transformed(T_F_from_world) for bw in boxes_world]
    sb = SweepBoxes(src, T_F_from_src, boxes_world, T_F_from_world, kernels=kernels)
    idx, box_of = sb.near_box_index()
    want = point_box_indices(exact_F, boxes_F, margin=HIT_MARGIN)
    assert np.array_equal(box_of, want[idx])
    assert set(np.flatnonzero(want >= 0).tolist()) <= set(idx.tolist())
    _, code = sb._cells()
    assert (code == -2).sum() > 100  # cells of several boxes exercised
    counts = sb.world_counts(T_world_from_F)
    ref = count_points_in_boxes(xform(T_world_from_F, exact_F), boxes_world)
    assert np.array_equal(counts, ref) and ref.sum() > 1000
    # first_box_is answers from the same table
    q = rng.integers(0, len(src), 5000)
    m = rng.integers(0, len(boxes_world), 5000)
    assert np.array_equal(sb.first_box_is(q, m), want[q] == m)


@pytest.mark.parametrize("rotated", [False, True])
def test_kernels_equal_numpy_on_random_sweeps(rotated: bool) -> None:
    """The compiled kernels (formats.export.kernels) and the NumPy reference give the same box
    index, world counts and occlusion counts: float64 points (also on the boxes' faces and
    corners), crowded overlapping boxes, a distorted camera beside pinhole ones."""
    rng = np.random.default_rng(21 + rotated)
    T_F_from_world = make_transform(np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), [1.0, -2.0, -1.7])
    boxes_world = _random_boxes(rng, 60, spread=12.0)
    pts = [rng.uniform(-30, 30, (40000, 3))]
    for b in boxes_world:  # inside, on the faces, within and beyond BOUNDARY_EPS of them, beyond the margin
        size = np.array(b.size)
        local = rng.uniform(-0.55, 0.55, (200, 3)) * size
        local[::5, 0] = size[0] / 2.0
        local[1::5, 0] = size[0] / 2.0 + 1.5e-9
        local[2::5, 1] = -size[1] / 2.0 - 0.5e-9
        local[3::5, 2] = size[2] / 2.0 + HIT_MARGIN + 1.5e-9
        pts.append(xform(T_F_from_world, local @ b.rotation().T + np.array(b.center)))
    src = np.concatenate(pts)  # float64
    T_F_from_src = make_transform(np.eye(3), [0.2, 0.0, 0.1]) if rotated else None
    fish = CameraModel(CAM.K, 800, 450, "radtan", (-0.1, 0.01, 0.0, 0.0, 0.0))
    got = []
    for kernels in (False, True):
        sb = SweepBoxes(src, T_F_from_src, boxes_world, T_F_from_world, kernels=kernels)
        idx, box_of = sb.near_box_index()
        views = []
        for yaw, cam in ((0.0, CAM), (1.5, CAM), (3.0, fish)):
            R = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
            T_cam_from_F = make_transform(R, [0.1, 0.2, 0.3])
            items = []
            for m, b in enumerate(boxes_world):
                corners = xform(T_cam_from_F @ T_F_from_world, b.corners())
                ext = box_extent2d(corners, cam) if may_be_in_image(corners, cam) else None
                if ext is not None and ext.clipped is not None:
                    items.append((m, ext.polygon, corners))
            views.append((T_cam_from_F, cam, items))
        got.append((idx, box_of, sb.world_counts(invert(T_F_from_world)), sb.occlusion_counts(views)))
    (i0, b0, w0, o0), (i1, b1, w1, o1) = got
    assert np.array_equal(i0, i1) and np.array_equal(b0, b1) and np.array_equal(w0, w1) and o0 == o1
    assert (b0 >= 0).sum() > 3000 and w0.sum() > 3000
    assert sum(h for v in o0 for h, _ in v) > 1000 and sum(o for v in o0 for _, o in v) > 100


def test_kernels_equal_numpy_on_a_synthetic_nuscenes_export(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A synthetic scene (six cameras) exported to nuScenes with the kernels and with the NumPy
    reference: the box numbers of every frame are equal, and so are the files."""
    import formats.export.occlusion as occ
    from formats.convert import convert_path
    from formats.export.nuscenes import ViewCache, box_numbers
    from formats.source import open_source
    from fusionlabel.cli import generate

    seq = tmp_path / "seq"
    generate(seq, frames=4, seed=7, cameras=6, size=(160, 90), force=True)
    loaded = open_source(seq).sequence
    primary = loaded.rig(0).lidar_names()[0]
    numbers = {}
    for on in (False, True):
        monkeypatch.setattr(occ, "USE_KERNELS", on)
        numbers[on] = [box_numbers(loaded, k, primary, loaded.read_lidar(k, primary), loaded.rig(k), ViewCache(), True)
                       for k in range(len(loaded))]
        convert_path(seq, tmp_path / f"out{on}", "nuscenes")
    for a, b in zip(numbers[False], numbers[True], strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert sum(int(n[0].sum()) for n in numbers[True]) > 1000 and sum(int(n[1].sum()) for n in numbers[True]) > 100

    def tree(root):  # type: ignore[no-untyped-def]
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert tree(tmp_path / "outFalse") == tree(tmp_path / "outTrue")


def test_outline_kernel_equals_pinhole_extent2d(monkeypatch: pytest.MonkeyPatch) -> None:
    """pinhole_outlines with the compiled kernel gives pinhole_extent2d's clipped polygons bit
    for bit (and None where it has no clipped part): boxes in view, clipped, beside the image,
    across the near plane (those go to pinhole_extent2d), and on a distorted camera."""
    import formats.export.occlusion as occ

    rng = np.random.default_rng(5)
    boxes = _random_boxes(rng, 3000)
    corners = np.array([b.corners() for b in boxes])
    with np.errstate(divide="ignore", invalid="ignore"):
        rounded = np.round(corners[:, :, :2] / corners[:, :, 2:3], 12)
    fish = CameraModel(CAM.K, 800, 450, "radtan", (-0.1, 0.01, 0.0, 0.0, 0.0))
    for cam in (CAM, fish):
        got = {}
        for on in (False, True):
            monkeypatch.setattr(occ, "USE_KERNELS", on)
            got[on] = occ.pinhole_outlines(corners, rounded, cam)
        for c, r, a, b in zip(corners, rounded, got[False], got[True], strict=True):
            ext = pinhole_extent2d(c, cam, r, need_truncation=False)
            want = ext.polygon if ext is not None and ext.clipped is not None else None
            for poly in (a, b):
                assert (poly is None) == (want is None) and (poly is None or np.array_equal(poly, want))
        if cam is CAM:  # outlined or not, in front of the near plane or across it
            kinds = [(p is not None, bool((c[:, 2] < 0.1).any())) for p, c in zip(got[True], corners, strict=True)]
            assert len(set(kinds)) == 4 and kinds.count((True, False)) > 500 and kinds.count((False, False)) > 50


def test_boxes_F_array_equals_box3d_transformed() -> None:
    """SweepBoxes.boxes_F_array (upright boxes without building Box3D) equals
    ``Box3D.transformed(T_F_from_world).to_array()`` bit for bit, tilted boxes included."""
    rng = np.random.default_rng(8)
    boxes = _random_boxes(rng, 500, spread=50.0)
    a = rng.uniform(-np.pi, np.pi)
    T = make_transform(np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]]),
                       rng.uniform(-100, 100, 3))
    sb = SweepBoxes(np.zeros((0, 3), dtype=np.float32), None, boxes, T)
    want = np.array([b.transformed(T).to_array() for b in boxes])
    assert np.array_equal(sb.boxes_F_array(), want) and sum(b.tilted for b in boxes) > 50



@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.float16])
def test_xform_in_blocks_equals_the_column_expression_bit_for_bit(dtype: type) -> None:
    """common.xform / xform_into on large clouds (block by block) give the whole-column expression's
    values, also stored as float32 (the KITTI writer's velodyne files) and for a strided (N, 4) input."""
    from formats.export.common import XFORM_BLOCK, xform_into

    rng = np.random.default_rng(11)
    T = np.eye(4)
    T[:3, :3] = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    T[:3, 3] = rng.normal(size=3) * 10
    for n in (0, 1, 8, XFORM_BLOCK - 1, XFORM_BLOCK, XFORM_BLOCK + 1, 3 * XFORM_BLOCK + 77):
        raw = (rng.normal(size=(n, 4)) * 60).astype(dtype)
        for pts in (raw[:, :3], np.ascontiguousarray(raw[:, :3])):
            x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
            ref = np.empty((n, 3))
            for i in range(3):
                ref[:, i] = T[i, 0] * x + T[i, 1] * y + T[i, 2] * z + T[i, 3]
            got = xform(T, pts)
            assert got.dtype == np.float64 and got.tobytes() == ref.tobytes()
            out32 = np.zeros((n, 4), dtype=np.float32)
            xform_into(T, pts, out32)
            assert out32[:, :3].tobytes() == ref.astype(np.float32).tobytes() and not out32[:, 3].any()
    T[:3, 3] = 0.0  # a rotation: + 0.0 still turns -0.0 into 0.0
    pts = np.array([[-0.0, -0.0, -0.0]] * (XFORM_BLOCK + 5), dtype=dtype)
    assert xform(np.eye(4), pts).tobytes() == np.zeros((len(pts), 3)).tobytes()
