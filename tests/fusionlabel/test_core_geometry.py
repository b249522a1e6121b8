"""Geometry: corners, points in boxes (against a per-point reference), exact BEV/3D IoU."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fusionlabel.geometry as geo
from calib.transforms import invert, pose_from_xyz_yaw, transform_points
from fusionlabel.box import Box3D
from fusionlabel.geometry import (
    bev_intersection_area,
    bev_iou,
    bev_iou_matrix,
    bev_polygon,
    bev_polygons,
    box_corners,
    boxes_to_array,
    convex_intersection,
    count_points_in_boxes,
    iou_3d,
    iou_3d_matrix,
    point_box_indices,
    points_in_boxes,
    polygon_area,
    yaw_diff,
)

coord = st.floats(-5.0, 5.0, allow_nan=False)
extent = st.floats(0.2, 6.0, allow_nan=False)
angle = st.floats(-math.pi, math.pi, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn) -> Box3D:
    center = (draw(coord), draw(coord), draw(coord))
    return Box3D(center, (draw(extent), draw(extent), draw(extent)), draw(angle))


@st.composite
def near_pairs(draw: st.DrawFn) -> tuple[Box3D, Box3D]:
    """Two boxes whose centres are close, so that they often overlap."""
    a = draw(boxes())
    off = st.floats(-3.0, 3.0, allow_nan=False)
    b = Box3D(
        (a.center[0] + draw(off), a.center[1] + draw(off), a.center[2] + draw(off) / 3),
        (draw(extent), draw(extent), draw(extent)),
        draw(angle),
    )
    return a, b


def reference_inside(pts: np.ndarray, box: Box3D, margin: float = 0.0) -> np.ndarray:
    """Per-point reference: into the box frame with the inverse pose, then |local| <= half size."""
    local = transform_points(invert(box.pose()), pts)
    return np.all(np.abs(local) <= np.asarray(box.size) / 2 + margin, axis=1)


def local_distance_to_boundary(pts: np.ndarray, box: Box3D, margin: float = 0.0) -> np.ndarray:
    """Distance (box frame, per axis, the smallest) of each point to the faces grown by ``margin``."""
    local = transform_points(invert(box.pose()), pts)
    return np.min(np.abs(np.abs(local) - (np.asarray(box.size) / 2 + margin)), axis=1)


# ---- corners, polygons, angles ----------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(boxes(), min_size=1, max_size=5))
def test_box_corners_match_box3d(bs: list[Box3D]) -> None:
    c = box_corners(boxes_to_array(bs))
    assert c.shape == (len(bs), 8, 3)
    for i, b in enumerate(bs):
        np.testing.assert_allclose(c[i], b.corners(), atol=1e-12)


def test_box_array_conversions_and_shapes() -> None:
    b = Box3D((1, 2, 3), (4, 2, 1.5), 0.25)
    np.testing.assert_array_equal(boxes_to_array([b, b]), np.stack([b.to_array()] * 2))
    assert boxes_to_array([]).shape == (0, 7)
    assert box_corners(b).shape == (1, 8, 3)
    assert box_corners(np.zeros((0, 7))).shape == (0, 8, 3)
    with pytest.raises(ValueError, match=r"\(M, 7\)"):
        box_corners(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="box 1 has a non-finite value or a non-positive size"):
        bev_iou_matrix([[0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 0, 1, 0]], b)
    with pytest.raises(ValueError, match="box 0"):
        points_in_boxes(np.zeros((1, 3)), [0, 0, np.nan, 1, 1, 1, 0])


@settings(max_examples=100, deadline=None)
@given(boxes())
def test_bev_polygon_is_ccw_with_box_area(b: Box3D) -> None:
    poly = bev_polygon(b)
    assert poly.shape == (4, 2)
    assert polygon_area(poly) == pytest.approx(b.length * b.width, rel=1e-9)
    # first corner is front-right: +l/2 along the heading, -w/2 to the left
    h = np.array([math.cos(b.yaw), math.sin(b.yaw)])
    left = np.array([-h[1], h[0]])
    expected = np.asarray(b.center[:2]) + h * b.length / 2 - left * b.width / 2
    np.testing.assert_allclose(poly[0], expected, atol=1e-9)
    assert bev_polygons([b, b]).shape == (2, 4, 2)


def test_yaw_diff_is_shortest_signed() -> None:
    assert yaw_diff(0.1, -0.1) == pytest.approx(0.2)
    assert yaw_diff(math.pi - 0.1, -math.pi + 0.1) == pytest.approx(-0.2)
    assert yaw_diff(-math.pi + 0.1, math.pi - 0.1) == pytest.approx(0.2)
    np.testing.assert_allclose(yaw_diff(np.array([3.0, -3.0]), 0.0), [3.0, -3.0])
    assert geo.wrap_yaw(3 * math.pi) == pytest.approx(math.pi)


# ---- points in boxes --------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(
    st.lists(boxes(), min_size=0, max_size=6),
    st.integers(0, 10_000),
    st.sampled_from([0.0, 0.1, 0.5]),
)
def test_points_in_boxes_matches_reference(bs: list[Box3D], seed: int, margin: float) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-9, 9, size=(400, 3))
    if bs:  # also points on the boxes' faces and corners (the boundary belongs to the box)
        pts = np.concatenate([pts, np.concatenate([b.corners() for b in bs])])
    mask = points_in_boxes(pts, boxes_to_array(bs), margin=margin)
    assert mask.shape == (len(bs), len(pts))
    for i, b in enumerate(bs):
        ref = reference_inside(pts, b, margin)
        # only rounding can disagree, and only within a hair of the (margin-grown) boundary: a box's
        # corner can lie exactly on another box's grown face (found by hypothesis: 0.6 vs 0.6000000000000001)
        clear = local_distance_to_boundary(pts, b, margin) > 1e-9
        np.testing.assert_array_equal(mask[i][clear], ref[clear])
        if margin == 0.0:
            assert mask[i][-8 * len(bs) + 8 * i : -8 * len(bs) + 8 * i + 8 or None].all()


@settings(max_examples=30, deadline=None)
@given(st.lists(boxes(), min_size=1, max_size=8), st.integers(0, 10_000))
def test_counts_and_first_box_indices_agree_with_mask(bs: list[Box3D], seed: int) -> None:
    pts = np.random.default_rng(seed).uniform(-8, 8, size=(500, 3))
    mask = points_in_boxes(pts, bs)
    np.testing.assert_array_equal(count_points_in_boxes(pts, bs), mask.sum(axis=1))
    idx = point_box_indices(pts, bs)
    expected = np.where(mask.any(axis=0), mask.argmax(axis=0), -1)
    np.testing.assert_array_equal(idx, expected)


def test_chunking_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(-20, 20, size=(3000, 3))
    bs = np.column_stack([rng.uniform(-15, 15, (40, 3)), rng.uniform(1, 8, (40, 3)), rng.uniform(-3, 3, 40)])
    full = points_in_boxes(pts, bs)
    counts = count_points_in_boxes(pts, bs)
    first = point_box_indices(pts, bs)
    monkeypatch.setattr(geo, "_CHUNK_PAIRS", 50)
    np.testing.assert_array_equal(points_in_boxes(pts, bs), full)
    np.testing.assert_array_equal(count_points_in_boxes(pts, bs), counts)
    np.testing.assert_array_equal(point_box_indices(pts, bs), first)
    assert full.any()


def test_points_in_boxes_edge_cases() -> None:
    b = Box3D((0, 0, 0), (2, 2, 2), 0.0)
    assert points_in_boxes(np.zeros((0, 3)), b).shape == (1, 0)
    assert points_in_boxes(np.zeros((5, 3)), np.zeros((0, 7))).shape == (0, 5)
    assert point_box_indices(np.zeros((2, 3)), np.zeros((0, 7))).tolist() == [-1, -1]
    # extra columns (intensity) are ignored; the boundary is inside; margin grows the box
    pts = np.array([[1.0, 0, 0, 7.0], [1.05, 0, 0, 7.0], [0, 0, -1.0, 0.0]])
    assert points_in_boxes(pts, b)[0].tolist() == [True, False, True]
    assert points_in_boxes(pts, b, margin=0.1)[0].tolist() == [True, True, True]
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        points_in_boxes(np.zeros((4, 2)), b)


def test_points_in_boxes_outside_the_cloud_and_degenerate_clouds() -> None:
    pts = np.array([[0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, -3.0, 0.5]])  # one x value only
    bs = [
        Box3D((-50, 0, 0), (2, 2, 2), 0.0),
        Box3D((0, 5, 0), (1, 1, 1), 1.0),
        Box3D((50, 50, 0), (2, 2, 2), 0.0),
        Box3D((0, -3, 0), (1, 1, 2), 0.5),
    ]
    assert point_box_indices(pts, bs).tolist() == [-1, 1, 3]
    far = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [1e4 + 0.4, -1e4, 0.0]])
    assert points_in_boxes(far, Box3D((1e4, -1e4, 0), (1, 1, 1), 0.0))[0].tolist() == [True, False, True]


def test_non_finite_points_are_in_no_box() -> None:
    pts = np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 0.0], [0.5, np.inf, 0.0], [0.2, 0.1, 0.0]])
    b = Box3D((0, 0, 0), (2, 2, 2), 0.3)
    assert points_in_boxes(pts, b)[0].tolist() == [True, False, False, True]
    assert point_box_indices(pts, b).tolist() == [0, -1, -1, 0]
    assert count_points_in_boxes(np.full((3, 3), np.nan), b).tolist() == [0]


def test_iou_is_robust_to_nearly_identical_and_parallel_boxes() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        a = Box3D(tuple(rng.uniform(-100, 100, 3)), tuple(rng.uniform(0.5, 5, 3)), rng.uniform(-3, 3))
        tiny = rng.choice([0.0, 1e-13, 1e-9])
        b = Box3D(
            np.asarray(a.center) + tiny * rng.standard_normal(3), a.size, a.yaw + tiny * rng.standard_normal()
        )
        flipped = a.replace(yaw=a.yaw + math.pi)  # same rectangle, corners in another order
        for x, y in ((a, b), (a, flipped)):
            assert bev_iou(x, y) == pytest.approx(1.0, abs=1e-6)
            assert bev_iou_matrix([x], [y])[0, 0] == pytest.approx(1.0, abs=1e-6)
            assert iou_3d_matrix([x], [y])[0, 0] == pytest.approx(1.0, abs=1e-6)
        # sliding along a shared heading: parallel, partly coincident edges
        h = np.array([math.cos(a.yaw), math.sin(a.yaw), 0.0])
        c = Box3D(np.asarray(a.center) + h * a.length / 2, a.size, a.yaw)
        assert bev_iou(a, c) == pytest.approx(1 / 3, abs=1e-9)
        assert bev_iou_matrix([a], [c])[0, 0] == pytest.approx(1 / 3, abs=1e-9)
        # touching end to end
        d = Box3D(np.asarray(a.center) + h * a.length, a.size, a.yaw)
        assert bev_iou(a, d) == pytest.approx(0.0, abs=1e-9)
        assert bev_iou_matrix([a], [d])[0, 0] == pytest.approx(0.0, abs=1e-9)


def test_points_in_yawed_box_hand_case() -> None:
    b = Box3D((10, 0, 0), (4, 1, 1), math.pi / 2)  # 4 m along +y, 1 m along x
    pts = np.array([[10, 1.9, 0], [11.9, 0, 0], [10.4, 0, 0], [10, -2.1, 0]])
    assert points_in_boxes(pts, b)[0].tolist() == [True, False, True, False]


# ---- IoU --------------------------------------------------------------------------------------
def grid_bev_iou(a: Box3D, b: Box3D, n: int = 400) -> float:
    """Independent estimate: dense grid over both boxes, per-point membership, counts."""
    corners = np.concatenate([a.corners()[:, :2], b.corners()[:, :2]])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    xs = lo[0] + (np.arange(n) + 0.5) * (hi[0] - lo[0]) / n
    ys = lo[1] + (np.arange(n) + 0.5) * (hi[1] - lo[1]) / n
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    flat_a, flat_b = Box3D((*a.center[:2], 0), a.size, a.yaw), Box3D((*b.center[:2], 0), b.size, b.yaw)
    ia, ib = reference_inside(pts, flat_a), reference_inside(pts, flat_b)
    return float((ia & ib).sum() / max(1, (ia | ib).sum()))


@settings(max_examples=30, deadline=None)
@given(near_pairs())
def test_bev_iou_matches_grid_estimate(pair: tuple[Box3D, Box3D]) -> None:
    a, b = pair
    assert bev_iou(a, b) == pytest.approx(grid_bev_iou(a, b), abs=0.02)


@settings(max_examples=150, deadline=None)
@given(near_pairs(), st.floats(-20, 20), st.floats(-20, 20), angle)
def test_bev_iou_properties(pair: tuple[Box3D, Box3D], tx: float, ty: float, rot: float) -> None:
    a, b = pair
    iou = bev_iou(a, b)
    assert 0.0 <= iou <= 1.0
    assert bev_iou(b, a) == pytest.approx(iou, abs=1e-9)
    assert bev_iou(a, a) == pytest.approx(1.0, abs=1e-9)
    assert 0.0 <= iou_3d(a, b) <= iou + 1e-12 or iou_3d(a, b) == pytest.approx(0.0)
    T = pose_from_xyz_yaw(tx, ty, 0.7, rot)
    assert bev_iou(a.transformed(T), b.transformed(T)) == pytest.approx(iou, abs=1e-7)
    assert iou_3d(a.transformed(T), b.transformed(T)) == pytest.approx(iou_3d(a, b), abs=1e-7)
    # the batched clipper agrees with the per-pair one
    m = bev_iou_matrix([a, b], [b, a])
    np.testing.assert_allclose(m, [[iou, 1.0], [1.0, iou]], atol=1e-9)
    np.testing.assert_allclose(iou_3d_matrix([a], [b]), [[iou_3d(a, b)]], atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(boxes(), st.floats(0.0, 3.0))
def test_disjoint_boxes_have_zero_iou(a: Box3D, gap: float) -> None:
    # b placed beyond a's bounding circle along a random direction
    r = math.hypot(a.length, a.width) / 2
    b = Box3D((a.center[0] + 2 * r + 3 + gap, a.center[1], a.center[2]), (2, 2, 2), 0.3)
    assert bev_iou(a, b) == 0.0 and iou_3d(a, b) == 0.0
    assert bev_iou_matrix([a], [b])[0, 0] == 0.0


def test_hand_computed_ious() -> None:
    a = Box3D((0, 0, 0), (2, 2, 2), 0.0)
    b = Box3D((1, 0, 0), (2, 2, 2), 0.0)  # overlap 1 x 2 x 2 = 4; union 8 + 8 - 4 = 12
    assert bev_iou(a, b) == pytest.approx(2 / 6)
    assert iou_3d(a, b) == pytest.approx(4 / 12)
    c = Box3D((1, 1, 1), (2, 2, 2), 0.0)  # overlap 1 x 1 x 1 = 1; union 15
    assert iou_3d(a, c) == pytest.approx(1 / 15)
    assert bev_iou(a, c) == pytest.approx(1 / 7)
    d = Box3D((0, 0, 0), (2, 2, 2), math.pi / 4)  # octagon: 8 (sqrt2 - 1) m^2
    inter = 8 * (math.sqrt(2) - 1)
    assert bev_intersection_area(a, d) == pytest.approx(inter)
    assert bev_iou(a, d) == pytest.approx(inter / (8 - inter))
    assert iou_3d(a, d) == pytest.approx(inter * 2 / (16 - inter * 2))
    # touching boxes (shared edge or corner) and boxes separated in z: zero
    assert bev_iou(a, Box3D((2, 0, 0), (2, 2, 2), 0.0)) == 0.0
    assert bev_iou(a, Box3D((2, 2, 0), (2, 2, 2), 0.0)) == 0.0
    assert iou_3d(a, Box3D((0, 0, 2), (2, 2, 2), 0.0)) == 0.0
    assert bev_iou(a, Box3D((0, 0, 2), (2, 2, 2), 0.0)) == 1.0
    # nested and identical-up-to-heading-flip boxes
    assert bev_iou(a, Box3D((0, 0, 0), (1, 1, 2), 0.0)) == pytest.approx(0.25)
    e = Box3D((0, 0, 0), (4, 2, 2), 0.3)
    assert bev_iou(e, e.replace(yaw=0.3 + math.pi)) == pytest.approx(1.0)
    # parallel, partially shared edges
    f = Box3D((0, 0.5, 0), (2, 1, 2), 0.0)
    assert bev_iou(a, f) == pytest.approx(0.5)


def test_convex_intersection_degenerate_inputs() -> None:
    sq = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    assert polygon_area(convex_intersection(sq, sq)) == pytest.approx(1.0)
    assert len(convex_intersection(sq, sq + 5)) == 0
    assert polygon_area(convex_intersection(sq, sq + [1, 0])) == pytest.approx(0.0)


def test_iou_matrix_shapes_and_values() -> None:
    rng = np.random.default_rng(0)
    A = np.column_stack(
        [
            rng.uniform(-10, 10, (30, 2)),
            rng.uniform(-1, 1, 30),
            rng.uniform(1, 5, (30, 3)),
            rng.uniform(-3, 3, 30),
        ]
    )
    B = np.column_stack(
        [
            rng.uniform(-10, 10, (20, 2)),
            rng.uniform(-1, 1, 20),
            rng.uniform(1, 5, (20, 3)),
            rng.uniform(-3, 3, 20),
        ]
    )
    m, m3 = bev_iou_matrix(A, B), iou_3d_matrix(A, B)
    assert m.shape == (30, 20) and m3.shape == (30, 20)
    for i in range(30):
        for j in range(20):
            assert m[i, j] == pytest.approx(bev_iou(A[i], B[j]), abs=1e-9)
            assert m3[i, j] == pytest.approx(iou_3d(A[i], B[j]), abs=1e-9)
    assert (m > 0).any()
    assert bev_iou_matrix(A, np.zeros((0, 7))).shape == (30, 0)


def test_box_corners_batched_equals_each_box() -> None:
    from fusionlabel.box import Box3D
    from fusionlabel.geometry import box3d_corners

    rng = np.random.default_rng(3)
    boxes = [Box3D(tuple(rng.normal(0, 40, 3)), tuple(rng.uniform(0.2, 15, 3)), float(rng.uniform(-7, 7)))
             for _ in range(300)]
    boxes[7] = Box3D((1.0, 2.0, 0.5), (4.0, 2.0, 1.5), 0.3, roll=0.05, pitch=-0.1)  # tilted: box by box
    got = box3d_corners(boxes)
    ref = np.stack([b.corners() for b in boxes])
    assert got.shape == (300, 8, 3)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert np.array_equal(got[7], boxes[7].corners())
    assert box3d_corners([]).shape == (0, 8, 3)
