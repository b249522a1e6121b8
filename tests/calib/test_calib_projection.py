"""Box-edge projection: near-plane clipping, distortion sampling, image clipping, 2D extents."""

from __future__ import annotations

import numpy as np
import pytest

from calib.camera import CameraModel
from calib.projection import (
    BOX_EDGES,
    FRONT_FACE_EDGES,
    box_bbox2d,
    box_extent2d,
    clip_polygon_to_rect,
    clip_polyline_to_rect,
    project_box_edges,
    project_boxes_edges,
    project_points,
    project_segments,
)

K = np.array([[800.0, 0.0, 640.0], [0.0, 790.0, 360.0], [0.0, 0.0, 1.0]])
CAMS = {
    "none": CameraModel(K, 1280, 720),
    "radtan5": CameraModel(K, 1280, 720, "radtan", (-0.28, 0.07, 0.0008, -0.0011, -0.02)),
    "fisheye": CameraModel(K, 1280, 720, "fisheye", (0.05, -0.01, 0.003, -0.001)),
}
SIGNS = np.array(
    [[1, 1, -1], [1, -1, -1], [-1, -1, -1], [-1, 1, -1], [1, 1, 1], [1, -1, 1], [-1, -1, 1], [-1, 1, 1]],
    float,
)


def box_cam(center, length_z: float, width_x: float, height_y: float) -> np.ndarray:
    """Corners of an axis-aligned box in the camera frame, its length along the optical axis."""
    # box frame x (length) = camera z, box y (width) = camera x, box z (height) = -camera y
    local = SIGNS * [length_z / 2, width_x / 2, height_y / 2]
    return np.stack([local[:, 1], -local[:, 2], local[:, 0]], axis=1) + np.asarray(center, float)


def test_box_edges_match_fusionlabel() -> None:
    from fusionlabel.box import BOX_EDGES as CORE_EDGES
    from fusionlabel.box import CORNER_SIGNS

    np.testing.assert_array_equal(BOX_EDGES, CORE_EDGES)
    # the front face edges join corners with x = +l/2
    for e in FRONT_FACE_EDGES:
        assert (CORNER_SIGNS[BOX_EDGES[e], 0] == 1).all()


def inside(cam: CameraModel, pts: np.ndarray) -> bool:
    u0, v0, u1, v1 = cam.image_rect()
    eps = 1e-6
    return bool(
        np.isfinite(pts).all()
        and (pts[:, 0] >= u0 - eps).all()
        and (pts[:, 0] <= u1 + eps).all()
        and (pts[:, 1] >= v0 - eps).all()
        and (pts[:, 1] <= v1 + eps).all()
    )


@pytest.mark.parametrize("key", list(CAMS))
def test_box_in_front_all_edges_drawn(key: str) -> None:
    cam = CAMS[key]
    corners = box_cam([1.0, 0.5, 20.0], 4.0, 2.0, 1.5)
    edges = project_box_edges(corners, cam)
    assert sorted(i for i, _ in edges) == list(range(12))
    for _, poly in edges:
        assert poly.shape[1] == 2 and len(poly) >= 2 and inside(cam, poly)
    # end points coincide with the projected corners
    uv, _, _ = cam.project(corners)
    for i, poly in edges:
        np.testing.assert_allclose(poly[0], uv[BOX_EDGES[i, 0]], atol=1e-9)
        np.testing.assert_allclose(poly[-1], uv[BOX_EDGES[i, 1]], atol=1e-9)


@pytest.mark.parametrize("key", list(CAMS))
def test_box_straddling_camera_plane(key: str) -> None:
    """Some corners behind z = 0: only finite in-image pieces, and the visible part is drawn."""
    cam = CAMS[key]
    corners = box_cam([1.5, 0.5, 1.0], 6.0, 2.0, 1.5)  # z from -2 to 4
    assert (corners[:, 2] < 0).sum() == 4
    edges = project_box_edges(corners, cam)
    assert len(edges) >= 4
    for _, poly in edges:
        assert inside(cam, poly)
    # the far face (box front face, z = 4) is fully visible: its 4 edges are there
    far_face = set(FRONT_FACE_EDGES)
    drawn = {i for i, _ in edges}
    assert far_face <= drawn
    # visible part: points of the far face project where the edges are
    uv_far, _, valid = cam.project(corners[corners[:, 2] > 0])
    assert valid.any()
    allpts = np.concatenate([p for _, p in edges])
    for p in uv_far[valid]:
        assert np.min(np.hypot(*(allpts - p).T)) < 1e-6
    ext = box_extent2d(corners, cam)
    assert ext is not None and ext.clipped is not None and 0 < ext.truncation < 1


def test_box_straddling_draws_exact_pinhole_lines() -> None:
    """With a pinhole camera the near-clipped edge is the straight line through the true points."""
    cam = CAMS["none"]
    corners = box_cam([0.5, 0.2, 1.0], 6.0, 2.0, 1.5)
    edges = dict((i, p) for i, p in project_box_edges(corners, cam, near=0.5))
    # an edge along z (a "bottom ring" edge of the box frame): sample 3D points on its visible part
    for i, poly in edges.items():
        a, b = corners[BOX_EDGES[i]]
        t = np.linspace(0, 1, 101)[:, None]
        pts = a + (b - a) * t
        uv, _, valid = cam.project(pts, near=0.5)
        if not valid.any():
            continue
        d = poly[-1] - poly[0]
        n = np.array([-d[1], d[0]]) / np.hypot(*d)
        assert np.abs((uv[valid] - poly[0]) @ n).max() < 1e-6


def test_box_fully_behind_or_outside() -> None:
    cam = CAMS["radtan5"]
    behind = box_cam([0.0, 0.0, -10.0], 4.0, 2.0, 1.5)
    assert project_box_edges(behind, cam) == []
    assert box_bbox2d(behind, cam) is None
    beside = box_cam([60.0, 0.0, 5.0], 4.0, 2.0, 1.5)  # far off to the side, beyond the FOV
    assert project_box_edges(beside, cam) == []
    assert box_bbox2d(beside, cam) is None


def test_fold_back_box_not_drawn() -> None:
    """A box well outside a folding lens's FOV must not appear in the image."""
    cam = CameraModel(K, 1280, 720, "radtan", (-0.4, 0.0, 0.0, 0.0, 0.0))
    corners = box_cam([1.8, 0.0, 1.0], 0.1, 0.1, 0.1)  # r = x/z ~ 1.8 >> r_max ~ 0.91
    uv, _, _ = cam.project(corners, require_in_image=False)
    assert cam.in_image(uv).any()  # the naive projection folds back into the picture
    assert project_box_edges(corners, cam) == []
    assert box_bbox2d(corners, cam) is None


def test_distorted_edges_bend() -> None:
    """A long edge near the image border is a curve with a distorting lens, sampled finely."""
    cam = CAMS["radtan5"]
    corners = box_cam([0.0, 3.0, 6.0], 8.0, 12.0, 0.5)
    edges = project_box_edges(corners, cam, step_px=4.0)
    i, longest = max(edges, key=lambda e: len(e[1]))
    assert len(longest) > 20
    d = longest[-1] - longest[0]
    n = np.array([-d[1], d[0]]) / np.hypot(*d)
    assert np.abs((longest - longest[0]) @ n).max() > 2.0  # bends by more than 2 px
    # every sample is the lens image of a point of the 3D edge: its ray lies in the plane
    # through the camera centre and the edge
    a, b = corners[BOX_EDGES[i]]
    normal = np.cross(a, b)
    rays = cam.rays(longest)
    cosines = (rays @ normal) / np.linalg.norm(rays, axis=1) / np.linalg.norm(normal)
    assert np.abs(cosines).max() < 1e-9
    steps = np.hypot(*np.diff(longest, axis=0).T)
    assert steps[1:-1].max() < 8.0


def test_clip_polyline_to_rect() -> None:
    rect = (0.0, 0.0, 10.0, 10.0)
    poly = np.array(
        [[-5.0, 5.0], [5.0, 5.0], [15.0, 5.0], [15.0, 8.0], [5.0, 8.0], [np.nan, 1.0], [5.0, 2.0]]
    )
    pieces = clip_polyline_to_rect(poly, rect)
    assert len(pieces) == 2
    np.testing.assert_allclose(pieces[0], [[0, 5], [5, 5], [10, 5]])
    np.testing.assert_allclose(pieces[1], [[10, 8], [5, 8]])
    assert clip_polyline_to_rect(np.array([[20.0, 20.0], [30.0, 30.0]]), rect) == []


def test_clip_polygon_to_rect() -> None:
    tri = np.array([[-10.0, -10.0], [20.0, -10.0], [5.0, 20.0]])
    out = clip_polygon_to_rect(tri, (0.0, 0.0, 10.0, 10.0))
    assert out[:, 0].min() >= 0 and out[:, 0].max() <= 10 and out[:, 1].min() >= 0 and out[:, 1].max() <= 10


def test_bbox2d_pinhole_equals_corner_extent() -> None:
    cam = CAMS["none"]
    corners = box_cam([1.0, 0.5, 20.0], 4.0, 2.0, 1.5)
    uv, _, _ = cam.project(corners)
    bb = box_bbox2d(corners, cam)
    np.testing.assert_allclose(bb, [*uv.min(0), *uv.max(0)], atol=1e-9)
    ext = box_extent2d(corners, cam)
    assert ext.truncation == pytest.approx(0.0, abs=1e-12)
    # half out of the image on the right: truncation near one half
    corners = box_cam([0.0, 0.0, 20.0], 0.01, 2.0, 2.0) + [cam.image_rect()[2] - 640 + 0.5, 0, 0] * np.array(
        [20 / 800, 0, 0]
    )
    ext = box_extent2d(corners, cam)
    assert ext.truncation == pytest.approx(0.5, abs=0.01)
    assert ext.unclipped[2] > cam.image_rect()[2] and ext.clipped[2] == pytest.approx(cam.image_rect()[2])


def test_project_points_keeps_valid() -> None:
    cam = CAMS["fisheye"]
    pts = np.array([[0, 0, 5.0], [0, 0, -5.0], [1e3, 0, 5.0]])
    uv, depth, idx = project_points(pts, cam)
    assert idx.tolist() == [0] and uv.shape == (1, 2) and depth.tolist() == [5.0]


def test_bad_corners() -> None:
    with pytest.raises(ValueError):
        project_box_edges(np.zeros((4, 3)), CAMS["none"])
    with pytest.raises(ValueError):
        box_bbox2d(np.full((8, 3), np.nan), CAMS["none"])


@pytest.mark.parametrize("key", list(CAMS))
def test_batched_box_edges_equal_one_call_per_box(key: str) -> None:
    """Many boxes at once (in front, straddling the camera plane, off the image, behind) give the
    same pieces, with the right box and edge ids, as one call per box."""
    cam = CAMS[key]
    rng = np.random.default_rng(3)
    boxes = [box_cam(rng.uniform([-25, -4, -3], [25, 4, 40]), *rng.uniform([1, 1, 1], [8, 3, 3])) for _ in range(60)]
    got = project_boxes_edges(np.stack(boxes), cam)
    want = [(i, e, poly) for i, c in enumerate(boxes) for e, poly in project_box_edges(c, cam)]
    assert len(got) == len(want) and len({i for i, _, _ in want}) > 20
    for (gi, ge, gp), (wi, we, wp) in zip(got, want, strict=True):
        assert (gi, ge) == (wi, we)
        np.testing.assert_allclose(gp, wp, atol=1e-9)
    assert project_boxes_edges(np.zeros((0, 8, 3)), cam) == []


@pytest.mark.parametrize("key", list(CAMS))
def test_segments_are_drawn_like_box_edges(key: str) -> None:
    """``project_segments`` of a box's 12 edges gives ``project_box_edges``' pieces; a segment
    through the camera plane keeps only its part in front; bad input is refused."""
    cam = CAMS[key]
    c = box_cam((1.0, 0.5, 6.0), 4.0, 2.0, 1.5)
    got = project_segments(c[BOX_EDGES[:, 0]], c[BOX_EDGES[:, 1]], cam)
    want = project_box_edges(c, cam)
    assert [e for e, _ in got] == [e for e, _ in want]
    for (_, gp), (_, wp) in zip(got, want, strict=True):
        np.testing.assert_allclose(gp, wp, atol=1e-12)
    # from 5 m behind to 20 m ahead, 1 m right and 1 m below the axis: only z >= near is drawn
    a, b = np.array([[1.0, 1.0, -5.0]]), np.array([[1.0, 1.0, 20.0]])
    pieces = project_segments(a, b, cam)
    assert pieces and all(i == 0 for i, _ in pieces)
    far = cam.project(np.array([[1.0, 1.0, 20.0]]))[0][0]
    np.testing.assert_allclose(pieces[-1][1][-1], far, atol=1e-6)
    assert project_segments(-np.abs(a), -np.abs(a) - [0, 0, 1], cam) == []  # wholly behind
    assert project_segments(np.zeros((0, 3)), np.zeros((0, 3)), cam) == []
    with pytest.raises(ValueError, match="same shape"):
        project_segments(a, np.zeros((2, 3)), cam)
    with pytest.raises(ValueError, match="NaN"):
        project_segments(a, np.full((1, 3), np.nan), cam)
