"""Create on a synthetic LiDAR sweep: a rear-to-front drag over a ground-truth object gives a box
close to the ground truth (heading, height and z fitted from the points and the ground)."""

from __future__ import annotations

import numpy as np
import pytest

from calib.transforms import transform_points
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import bev_iou, count_points_in_boxes, yaw_diff
from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene
from fusionlabel.tools import PointerEvent, ToolContext, ToolController


@pytest.fixture(scope="module")
def sweep():
    scene = SynthScene(SynthConfig(frames=1, seed=1, cameras=0, beams=32, azimuths=900))
    fr = scene.frame(0, cameras=False)
    T = fr.T_world_from_ego @ scene.rig.T("ego", LIDAR_NAME)
    pts_world = transform_points(T, fr.lidar[LIDAR_NAME].points[:, :3].astype(np.float64))
    tracks = {t.track_id: t for t in scene.tracks()}
    return pts_world, fr.boxes, tracks, fr.T_world_from_ego


def test_drag_over_gt_objects_fits_height_and_z(sweep) -> None:
    pts_world, gt_boxes, tracks, T_world_from_ego = sweep
    ego_xy = T_world_from_ego[:2, 3]
    counts = count_points_in_boxes(pts_world, list(gt_boxes.values()))
    checked = 0
    for (tid, gt), n in zip(gt_boxes.items(), counts, strict=True):
        if n < 60 or np.hypot(*(np.asarray(gt.center[:2]) - ego_xy)) > 30.0:
            continue
        doc = AnnotationDocument(1)
        ctx = ToolContext(doc, UndoStack(doc), 0, points=pts_world, default_class=tracks[tid].label)
        ctl = ToolController(ctx)
        ctl.set_tool("create")
        heading = np.array([np.cos(gt.yaw), np.sin(gt.yaw)])
        rear = np.asarray(gt.center[:2]) - heading * gt.size[0] / 2
        front = np.asarray(gt.center[:2]) + heading * gt.size[0] / 2
        ctl.on_pointer(PointerEvent("press", tuple(rear)))
        ctl.on_pointer(PointerEvent("move", tuple(front)))
        ctl.on_pointer(PointerEvent("release", tuple(front)))
        (ref,) = doc.boxes_at(0)
        b = ref.box
        assert abs(yaw_diff(b.yaw, gt.yaw)) < 1e-6
        assert b.center[2] - b.size[2] / 2 == pytest.approx(gt.center[2] - gt.size[2] / 2, abs=0.15)
        assert b.size[2] == pytest.approx(gt.size[2], abs=0.3)
        assert bev_iou(b, gt) > 0.6
        checked += 1
    assert checked >= 2
