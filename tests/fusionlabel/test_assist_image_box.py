"""Image-first boxes on ray-cast synthetic sweeps (exact ground truth): the rectangle of each
visible car gives its box, a car before a wall is boxed and not the wall, a sparse object gets the
ground-ray box, and the camera-panel tool pushes one command (the benchmark prints the figures)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.projection import box_extent2d
from calib.transforms import invert, transform_points
from fusionlabel.assist import fit_ground
from fusionlabel.assist.image_box import box_from_image_rect, normalize_rect, rect_iou
from fusionlabel.box import Box3D
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import bev_iou
from fusionlabel.ontology import Ontology
from fusionlabel.synth import LIDAR_NAME
from fusionlabel.synth.generator import make_rig
from fusionlabel.synth.lidar import LidarSpec, cast_sweep
from fusionlabel.synth.road import Road
from fusionlabel.synth.scene import Part, SceneObject, car_parts, primitives_at
from fusionlabel.tools import CameraFrame, KeyEvent, PointerEvent, ToolContext, ToolController
from tests.conftest import load_benchmark


def gt_rect(box: Box3D, cam, T_world_from_cam) -> tuple[float, float, float, float]:
    ext = box_extent2d(transform_points(invert(T_world_from_cam), np.asarray(box.corners())), cam)
    assert ext is not None and ext.clipped is not None
    return ext.clipped


@pytest.fixture(scope="module")
def wall_scene() -> dict:
    """A car 14 m ahead of a front camera, turned by 25 degrees, a 6 m high wall 2.5 m behind it,
    and a second car 104 m away on the right, beyond the LiDAR's 100 m range: no point on it."""
    rng = np.random.default_rng(3)
    car = SceneObject(1, "car", car_parts(rng), static_pose=(14.0, 0.5, math.radians(25.0)))
    far = SceneObject(2, "car", car_parts(rng), static_pose=(97.0, -37.0, 0.0))
    wall = SceneObject(-1, None, [Part((0.0, 0.0, 3.0), (2.0, 14.0, 6.0), (150, 150, 150), 0.5)],
                       static_pose=(20.5, 2.0, 0.0))
    prims = primitives_at([car, far, wall], 0.0)
    rig = make_rig(6)
    T_world_from_ego = np.eye(4)
    T_world_from_lidar = T_world_from_ego @ rig.T("ego", LIDAR_NAME)
    sweep = cast_sweep(LidarSpec.default(64, 1800), T_world_from_lidar, prims, Road(1000.0, 1),
                       np.random.default_rng(0))
    pts = transform_points(T_world_from_lidar, sweep.points[:, :3].astype(np.float64))
    return {"pts": pts, "inst": sweep.instance, "car": car.box_at(0.0), "far": far.box_at(0.0), "rig": rig,
            "T_world_from_cam": T_world_from_ego @ rig.T("ego", "cam_front"), "cam": rig.camera("cam_front"),
            "origin": T_world_from_lidar[:3, 3], "ground": fit_ground(pts, T_world_from_lidar[:3, 3])}


def test_car_before_a_wall(wall_scene: dict) -> None:
    s = wall_scene
    rect = gt_rect(s["car"], s["cam"], s["T_world_from_cam"])
    for hint in ("car", None):  # the class given, or guessed from the size
        res = box_from_image_rect(rect, s["cam"], s["T_world_from_cam"], s["pts"], s["ground"], class_hint=hint,
                                  origin=s["origin"])
        assert res.source == "points" and res.label == "car", res.reason
        assert np.mean(s["inst"][res.indices] == 1) > 0.95  # the car's points, not the wall's
        assert bev_iou(res.box, s["car"]) >= 0.7
        assert res.iou2d is not None and res.iou2d >= 0.7 and not res.low_confidence
        assert 0.0 < res.confidence <= 1.0
    # a loose rectangle (10 % larger on every side) still gives the car
    u0, v0, u1, v1 = rect
    du, dv = 0.1 * (u1 - u0), 0.1 * (v1 - v0)
    loose = box_from_image_rect((u0 - du, v0 - dv, u1 + du, v1 + dv), s["cam"], s["T_world_from_cam"], s["pts"],
                                s["ground"], class_hint="car", origin=s["origin"])
    assert bev_iou(loose.box, s["car"]) >= 0.6


def test_sparse_object_gets_the_ground_ray_box(wall_scene: dict) -> None:
    s = wall_scene
    assert not (s["inst"] == 2).any()  # the far car: no LiDAR return at all
    for key, inst, tol in (("car", 1, 1.0), ("far", 2, 3.0)):
        gt = s[key]
        rect = gt_rect(gt, s["cam"], s["T_world_from_cam"])
        for keep in (0, 3):  # no point of the object, or three of them
            own = np.flatnonzero(s["inst"] == inst)
            mask = s["inst"] != inst
            mask[own[:keep]] = True
            res = box_from_image_rect(rect, s["cam"], s["T_world_from_cam"], s["pts"][mask], s["ground"],
                                      class_hint="car", origin=s["origin"], ego_yaw=0.0)
            assert res.source == "ground_ray", res.reason
            assert res.low_confidence and res.confidence <= 0.2
            assert math.dist(res.box.center[:2], gt.center[:2]) <= tol, (key, keep, res.box, gt)
            assert res.box.size == pytest.approx(Ontology.default().default_size("car"))  # class prior size
            assert res.box.center[2] - res.box.height / 2 == pytest.approx(0.0, abs=0.15)  # on the ground
            assert res.box.yaw == pytest.approx(0.0)  # along the ego axis, away from the camera


def test_unknown_class_is_guessed_for_a_sparse_object(wall_scene: dict) -> None:
    s = wall_scene
    rect = gt_rect(s["far"], s["cam"], s["T_world_from_cam"])
    res = box_from_image_rect(rect, s["cam"], s["T_world_from_cam"], s["pts"][s["inst"] != 2], s["ground"],
                              origin=s["origin"])
    assert res.source == "ground_ray" and res.label == "car"


def test_bad_rectangles(wall_scene: dict) -> None:
    cam = wall_scene["cam"]
    assert normalize_rect((100, 80, 10, 20), cam) == (10.0, 20.0, 100.0, 80.0)
    with pytest.raises(ValueError):
        normalize_rect((10, 10, 11, 200), cam)  # 1 px wide
    with pytest.raises(ValueError):
        normalize_rect((-100, -100, -50, -50), cam)  # outside the image
    with pytest.raises(ValueError):
        normalize_rect((0, 0, float("nan"), 5), cam)
    assert rect_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        box_from_image_rect((0, 0, 50, 50), cam, wall_scene["T_world_from_cam"], wall_scene["pts"], class_hint="zebra")


def test_visible_cars_of_a_synthetic_frame() -> None:
    """The floor the benchmark measures (seed 0, frame 0, every camera): cars with >= 30 points."""
    bench = load_benchmark("bench_image_box")
    cases = bench.cases_of_scene(0, 1, ("car",), True, strip=False)
    dense = [c for c in cases if c.points >= bench.DENSE_POINTS]
    assert len(dense) >= 15
    ious = np.array([c.iou for c in dense])
    assert (ious >= 0.6).mean() >= 0.85, ious
    assert ious.mean() >= 0.8


def test_camera_panel_tool(wall_scene: dict) -> None:
    s = wall_scene
    doc = AnnotationDocument(5)
    stack = UndoStack(doc)
    rects: list = []
    messages: list[str] = []
    ctx = ToolContext(doc, stack, 0, points=s["pts"], ground=s["ground"], on_message=messages.append)
    frames = {"cam_front": CameraFrame(s["cam"], s["T_world_from_cam"])}
    ctl = ToolController(ctx, cameras=frames.get)
    ctl.view_tools["camera"].on_rect = rects.append
    ctx.set_frame_data(s["pts"], tuple(s["origin"]), 0.0)
    u0, v0, u1, v1 = gt_rect(s["car"], s["cam"], s["T_world_from_cam"])

    def ev(kind: str, uv: tuple[float, float], cam: str = "cam_front") -> PointerEvent:
        return PointerEvent.in_camera(kind, cam, uv)

    # a click is left to the panel (selection of the box under it); nothing is created
    assert ctl.on_pointer(ev("press", (u0, v0)))
    assert not ctl.on_pointer(ev("release", (u0 + 1, v0)))
    assert len(doc.tracks) == 0 and len(stack) == 0
    # Escape cancels a drag
    ctl.on_pointer(ev("press", (u0, v0)))
    ctl.on_pointer(ev("move", (u1, v1)))
    assert rects[-1] is not None and rects[-1].rect == (u0, v0, u1, v1)
    assert ctl.on_key(KeyEvent("escape")) == "cancel"
    assert rects[-1] is None
    ctl.on_pointer(ev("release", (u1, v1)))
    assert len(doc.tracks) == 0
    # a drag creates one track with the fitted box, selected
    ctl.on_pointer(ev("press", (u0, v0)))
    ctl.on_pointer(ev("move", ((u0 + u1) / 2, (v0 + v1) / 2)))
    ctl.on_pointer(ev("move", (u1, v1)))
    assert ctl.on_pointer(ev("release", (u1, v1)))
    assert len(stack) == 1 and len(doc.tracks) == 1 and not doc.issue_markers()
    ref = ctx.selected_box()
    assert ref is not None and doc.track(ref.track_id).label == "car"
    assert bev_iou(ref.box, s["car"]) >= 0.7
    assert "confidence" in messages[-1]
    ctl.perform("undo")
    assert len(doc.tracks) == 0 and ctx.selection is None
    # a sparse object: the box is made and marked (one undo step for the box and its marker)
    ctx.points = s["pts"][s["inst"] != 2]
    ctl.perform("undo")  # nothing left to undo: harmless
    r = gt_rect(s["far"], s["cam"], s["T_world_from_cam"])
    ctl.on_pointer(ev("press", r[:2]))
    ctl.on_pointer(ev("release", r[2:]))
    assert len(doc.tracks) == 1 and len(doc.issue_markers()) == 1
    assert "low confidence" in doc.issue_markers()[0].text
    ctl.perform("undo")
    assert len(doc.tracks) == 0 and not doc.issue_markers()
    # a drag whose frame changed under it is dropped
    ctx.points = s["pts"]
    ctl.on_pointer(ev("press", (u0, v0)))
    ctl.on_pointer(ev("move", (u1, v1)))
    ctx.set_frame(1)
    ctx.points = s["pts"]
    ctl.on_pointer(ev("release", (u1, v1)))
    assert len(doc.tracks) == 0
    ctx.set_frame(0)
    ctx.points = s["pts"][s["inst"] != 2]
    # an unknown camera says so and changes nothing
    ctl.on_pointer(ev("press", r[:2], "cam_nowhere"))
    ctl.on_pointer(ev("release", r[2:], "cam_nowhere"))
    assert len(doc.tracks) == 0 and "no calibration" in messages[-1]
    # a camera event does not reach the BEV tools, and a BEV event not the camera tool
    ctl.set_tool("create")
    assert not ctl.view_tools["camera"].on_pointer(PointerEvent("press", (1.0, 2.0)))




def test_confidence_is_calibrated() -> None:
    """A good fit scores high and a poor one low (seed 0, frame 0, every camera): the confidence
    follows the box's agreement with the truth, not the distance of the car's size from the class's
    typical one (a 0.975 BEV IoU fit once scored 0.15)."""
    bench = load_benchmark("bench_image_box")
    fitted = [c for c in bench.cases_of_scene(0, 1, ("car",), True, strip=False) if c.source == "points"]
    assert len(fitted) >= 15
    good = [c for c in fitted if c.iou >= 0.9 and (c.iou2d or 0.0) >= 0.9 and c.points >= 100]
    assert good and min(c.confidence for c in good) >= 0.8, [(c.iou, c.confidence) for c in good]
    bad = [c for c in fitted if c.iou < 0.5]
    assert all(c.confidence < 0.4 for c in bad), [(c.iou, c.confidence) for c in bad]
    high = [c for c in fitted if c.confidence >= 0.6]
    assert high and np.mean([c.iou >= 0.7 for c in high]) >= 0.9


def test_fit_confidence_terms(wall_scene: dict) -> None:
    """Each term of the confidence acts: 2D agreement, points, a size outside the class's limits,
    a guessed class's probability, a partial view."""
    from dataclasses import replace

    from fusionlabel.assist.image_box import fit_confidence

    s = wall_scene
    rect = gt_rect(s["car"], s["cam"], s["T_world_from_cam"])
    res = box_from_image_rect(rect, s["cam"], s["T_world_from_cam"], s["pts"], s["ground"], class_hint="car",
                              origin=s["origin"])
    fit, onto = res.fit, Ontology.default()
    assert fit is not None and not fit.partial
    full = fit_confidence(fit, 0.95, onto, "car")
    assert full >= 0.95 and res.confidence >= 0.9
    assert fit_confidence(fit, 0.7, onto, "car") == pytest.approx(0.5 * full, rel=1e-6)
    assert fit_confidence(fit, 0.45, onto, "car") == 0.0
    few = replace(fit, indices=fit.indices[:10])
    assert fit_confidence(few, 0.95, onto, "car") < 0.4
    huge = replace(fit, box=fit.box.replace(size=(9.0, 2.0, 1.5)))  # longer than any car
    assert fit_confidence(huge, 0.95, onto, "car") < 0.05
    assert fit_confidence(replace(fit, partial=True), 0.95, onto, "car") == pytest.approx(0.85 * full)
    guessed = fit_confidence(fit, 0.95, onto, None)
    assert guessed == pytest.approx(full * fit.guess.probabilities["car"])
