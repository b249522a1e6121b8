"""Picking without Qt (``fusionlabel.tools.select``): BEV footprints, proposals, camera images,
the 3D view's canvas and a 3D-view click with the one-click tool."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.camera import CameraModel
from fusionlabel.assist import box_from_click, fit_ground
from fusionlabel.assist.review import SetProposals
from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument, Proposal
from fusionlabel.geometry import bev_iou, point_in_polygon
from fusionlabel.tools import ToolContext, ToolController
from fusionlabel.tools.select import (
    click_3d,
    pick_camera_boxes,
    pick_footprints,
    pick_outlines,
    pick_proposals,
    pick_ray,
    ray_box_hit,
)
from tests.fusionlabel.test_assist_oneclick import sweep  # noqa: F401  (the synthetic sweep fixture)

TRUCK = Box3D((0.0, 0.0, 1.5), (10.0, 2.5, 3.0), 0.0)
WALKER = Box3D((1.0, 0.5, 0.9), (0.6, 0.6, 1.8), 0.3)  # on the truck's footprint
CAR = Box3D((20.0, 0.0, 0.8), (4.0, 1.8, 1.6), math.pi / 2)

#: A camera at the world origin looking along world +x (optical z), 640 x 480 px.
K = np.array([[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]])
CAM = CameraModel(K, 640, 480)
T_CAM_FROM_WORLD = np.array([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0, 0, 0, 1.0]])


def test_point_in_polygon() -> None:
    sq = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    assert point_in_polygon(sq, (1.0, 1.0)) and not point_in_polygon(sq, (3.0, 1.0))
    assert not point_in_polygon(sq[:2], (1.0, 0.0))  # not a polygon


def test_footprints_smallest_inside_first_then_nearest_within_tolerance() -> None:
    boxes = [(7, TRUCK), (3, WALKER), (9, CAR)]
    assert pick_footprints(boxes, (1.0, 0.5)) == [3, 7]  # the walker on the truck's footprint wins
    assert pick_footprints(boxes, (1.0, 0.5, 12.0)) == [3, 7]  # a z is ignored
    assert pick_footprints(boxes, (-4.0, 0.0)) == [7]
    assert pick_footprints(boxes, (17.0, 0.0)) == []
    assert pick_footprints(boxes, (17.0, 0.0), tolerance=2.5) == [9]  # 2.1 m from the car's side
    assert pick_footprints([(5, CAR), (2, CAR)], CAR.center) == [2, 5]  # ties by id


def test_proposals_are_picked_by_their_footprint_at_the_frame() -> None:
    doc = AnnotationDocument(frame_count=3)
    UndoStack(doc).push(SetProposals([
        Proposal(0, "truck", {0: TRUCK, 1: TRUCK}, {0: 0.5, 1: 0.5}, 0.5),
        Proposal(1, "pedestrian", {0: WALKER}, {0: 0.7}, 0.7),
    ]))
    assert pick_proposals(doc, 0, (1.0, 0.5)) == [1, 0]
    assert pick_proposals(doc, 1, (1.0, 0.5)) == [0]  # the walker has no box at frame 1
    assert pick_proposals(doc, 2, (1.0, 0.5)) == []
    # human tracks are not proposals
    UndoStack(doc).push(CreateTrack("car", 0, CAR))
    assert pick_proposals(doc, 0, CAR.center) == []


def test_outlines_nearest_first() -> None:
    sq = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    assert pick_outlines([(1, sq, 5.0), (2, sq * 0.5, 3.0), (3, sq + 20, 1.0)], (4.0, 4.0)) == [2, 1]


def test_camera_boxes_nearest_first_and_behind_skipped() -> None:
    near = Box3D((10.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.0)
    far = Box3D((25.0, 0.5, 0.0), (4.0, 2.0, 1.5), 0.0)
    behind = Box3D((-10.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.0)
    items = [(1, far.corners()), (2, near.corners()), (3, behind.corners())]
    centre = (319.5, 239.5)  # the optical axis: world +x
    assert pick_camera_boxes(items, T_CAM_FROM_WORLD, CAM, centre) == [2, 1]
    assert pick_camera_boxes(items, T_CAM_FROM_WORLD, CAM, (5.0, 5.0)) == []  # the image corner: sky
    # the near box's projection spans +-62.5 px horizontally (1 m at 8 m, its front face; 500 px focal)
    assert pick_camera_boxes(items, T_CAM_FROM_WORLD, CAM, (319.5 + 70.0, 239.5)) == []
    assert pick_camera_boxes(items, T_CAM_FROM_WORLD, CAM, (319.5 + 55.0, 239.5)) == [2]


def test_pick_ray_nearest_entry_first_with_boxes_holding_or_straddling_the_eye() -> None:
    near = Box3D((10.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.0)
    far = Box3D((25.0, 0.5, 0.0), (4.0, 2.0, 1.5), 0.0)
    around = Box3D((0.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.0)  # holds the eye
    items = [(1, far), (2, near), (3, around)]
    eye, ahead = np.zeros(3), np.array([1.0, 0.0, 0.0])
    assert pick_ray(items, eye, ahead) == [3, 2, 1]  # the box holding the eye first (entry 0)
    assert pick_ray(items[:2], eye, ahead) == [2, 1]
    assert pick_ray(items[:2], eye, 3.0 * ahead) == [2, 1]  # any length
    assert pick_ray(items[:2], eye, np.array([0.0, 1.0, 0.0])) == []
    with pytest.raises(ValueError, match="direction"):
        pick_ray(items, eye, np.zeros(3))
    # seen from beyond them (looking along +x from x = 30): all behind the eye
    assert pick_ray(items, np.array([30.0, 0.0, 0.0]), ahead) == []
    # a box straddling the eye's plane (corners behind the eye) is picked where the ray enters it
    straddle = Box3D((0.0, 1.5, 0.0), (6.0, 2.0, 1.5), 0.0)
    d = np.array([1.0, 0.3, 0.0])
    assert ((np.asarray(straddle.corners()) - eye) @ d).min() < 0  # partly behind the eye
    assert pick_ray([(7, straddle)], eye, d) == [7]
    assert ray_box_hit(eye, d, straddle) == pytest.approx(np.hypot(0.5 / 0.3, 0.5))


def _doc_with_boxes() -> tuple[AnnotationDocument, UndoStack, dict[str, int]]:
    doc = AnnotationDocument(frame_count=2)
    stack = UndoStack(doc)
    ids = {}
    for name, box in (("near", Box3D((10.0, 0.0, 0.0), (4.0, 2.0, 1.5), 0.0)),
                      ("far", Box3D((25.0, 0.5, 0.0), (4.0, 2.0, 1.5), 0.0))):
        cmd = CreateTrack("car", 0, box)
        stack.push(cmd)
        assert cmd.track_id is not None
        ids[name] = cmd.track_id
    return doc, stack, ids


def test_click_3d_selects_the_nearest_box_and_a_miss_keeps_the_selection() -> None:
    doc, stack, ids = _doc_with_boxes()
    ctx = ToolContext(doc, stack, frame=0)
    ctl = ToolController(ctx)
    eye, ahead = np.zeros(3), np.array([1.0, 0.0, 0.0])
    assert click_3d(ctx, ctl.tool, eye, ahead) == ids["near"]
    assert ctx.selection == ids["near"]
    assert click_3d(ctx, ctl.tool, eye, np.array([1.0, 1.0, 0.0])) is None
    assert ctx.selection == ids["near"] and len(stack) == 2  # nothing edited
    ctx.set_frame(1)  # the tracks end at their keyframe (frame 0): nothing to pick at frame 1
    assert doc.boxes_at(1) == [] and click_3d(ctx, ctl.tool, eye, ahead) is None


def test_click_3d_with_the_one_click_tool_boxes_what_the_ray_hits(sweep: tuple) -> None:  # noqa: F811
    pts, ground, origin, parked, _ = sweep
    gt = next(iter(parked.values()))
    doc = AnnotationDocument(frame_count=1)
    stack = UndoStack(doc)
    messages: list[str] = []
    ctx = ToolContext(doc, stack, frame=0, default_class="car", on_message=messages.append)
    ctx.set_frame_data(pts, origin, None)  # the frame facts the one-click tool reads
    ctl = ToolController(ctx)
    ctl.set_tool("oneclick")
    eye = np.array([gt.center[0] - 8.0, gt.center[1], 12.0])  # a 3D-view camera above and behind
    target = np.array([*gt.center[:2], gt.center[2] + gt.size[2] / 2 - 0.1])
    tid = click_3d(ctx, ctl.tool, eye, target - eye)
    assert tid is not None and ctx.selection == tid and ctl.active_name == "edit"
    box = doc.track(tid).keyframes[0]
    assert bev_iou(box, gt) > 0.7
    # the same box as a BEV click with the sensor origin given explicitly
    ref = box_from_click(pts, gt.center[:2], fit_ground(pts, origin), ctx.ontology, class_hint="car", origin=origin)
    assert ref.box is not None and bev_iou(box, ref.box) > 0.95
    # a ray into the sky: nothing made, the status says why
    ctl.set_tool("oneclick")
    assert click_3d(ctx, ctl.tool, eye, np.array([0.0, 0.0, 1.0])) is None
    assert len(doc) == 1 and "neither points nor the ground" in messages[-1]


def test_frame_facts_are_cleared_with_the_frame() -> None:
    doc = AnnotationDocument(frame_count=3)
    ctx = ToolContext(doc)
    ctx.set_frame_data(np.zeros((4, 3)), (1.0, 2.0, 3.0), 0.5)
    assert ctx.sensor_origin == (1.0, 2.0, 3.0) and ctx.ego_yaw == 0.5
    with pytest.raises(ValueError, match="sensor_origin"):
        ctx.set_frame_data(np.zeros((4, 3)), (1.0, 2.0), 0.5)
    ctx.set_frame_data(np.zeros((4, 3)), (1.0, 2.0, 3.0), 0.5)
    ctx.set_frame(2)
    assert ctx.points is None and ctx.sensor_origin is None and ctx.ego_yaw is None


def test_frame_points_are_converted_to_float64_on_first_use_only() -> None:
    from fusionlabel.document import AnnotationDocument
    from fusionlabel.tools import ToolContext

    ctx = ToolContext(AnnotationDocument(2), None, 0)
    pts = np.random.default_rng(0).normal(size=(1000, 4)).astype(np.float32)
    ctx.set_frame_data(pts, (0.0, 0.0, 0.0))
    assert ctx._points is None  # noqa: SLF001 - nothing converted while frames step past
    got = ctx.points
    assert got is not None and got.dtype == np.float64 and np.array_equal(got, pts[:, :3])
    assert ctx.points is got  # converted once
    assert float(pts[:, 2].min()) <= ctx.ground_height(0.0, 0.0) <= float(pts[:, 2].max())
    with pytest.raises(ValueError, match="shape"):
        ctx.set_frame_data(pts[:, :2])
    ctx.set_frame_data(None)
    assert ctx.points is None
