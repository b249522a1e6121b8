"""Propagation: motion prediction, refinement on synthetic box-surface points (and its refusal),
the undoable PropagateBoxes command."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.transforms import wrap_angle
from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.geometry import bev_iou
from fusionlabel.model import Track
from fusionlabel.propagation import PropagateBoxes, predict_box_at, refine_box
from fusionlabel.trackops import SetGap

SIZE = (4.5, 1.9, 1.6)


def car(x: float, y: float = 0.0, yaw: float = 0.0) -> Box3D:
    return Box3D((x, y, 0.8), SIZE, yaw)


def surface_points(
    box: Box3D, per_face: int, rng: np.random.Generator, sensor: tuple[float, float] = (0.0, 0.0), noise: float = 0.02
) -> np.ndarray:
    """Points on the side faces of ``box`` that face ``sensor`` (what a LiDAR sees), plus noise;
    world frame, (N, 3)."""
    l, w, h = box.size
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    out = []
    for nx, ny, off, ext in ((1, 0, l / 2, w), (-1, 0, l / 2, w), (0, 1, w / 2, l), (0, -1, w / 2, l)):
        n = np.array([c * nx - s * ny, s * nx + c * ny])
        centre = np.array(box.center[:2]) + off * n
        if (np.array(sensor) - centre) @ n <= 0:
            continue
        t = rng.uniform(-ext / 2, ext / 2, per_face)
        z = rng.uniform(-h / 2, h / 2, per_face)
        along = np.array([-n[1], n[0]])
        out.append(np.column_stack([centre[0] + t * along[0], centre[1] + t * along[1], box.center[2] + z]))
    pts = np.concatenate(out)
    return pts + rng.normal(0.0, noise, pts.shape)


def ground_points(rng: np.random.Generator, n: int = 3000) -> np.ndarray:
    return np.column_stack([rng.uniform(-30, 30, n), rng.uniform(-30, 30, n), rng.normal(0.0, 0.02, n)])


# ---- prediction -----------------------------------------------------------------------------------
def test_prediction_continues_straight_and_turning_motion() -> None:
    straight = Track(0, "car", keyframes={0: car(0.0), 10: car(10.0)})
    assert predict_box_at(straight, 10, 11).center[0] == pytest.approx(11.0)
    assert predict_box_at(straight, 0, 0) == car(0.0)
    # backwards from the first keyframe: continues the motion into the past
    back = predict_box_at(Track(0, "car", keyframes={5: car(0.0), 15: car(10.0)}), 5, 4)
    assert back.center[0] == pytest.approx(-1.0)
    # turning on a circle (radius 10, 0.1 rad per frame): the prediction follows the arc
    r, w = 10.0, 0.1
    arc = {f: car(r * math.sin(w * f), r * (1 - math.cos(w * f)), w * f) for f in (0, 5, 9, 10)}
    p = predict_box_at(Track(1, "car", keyframes=arc), 10, 12)
    truth = car(r * math.sin(w * 12), r * (1 - math.cos(w * 12)), w * 12)
    assert math.dist(p.center, truth.center) < 0.02 and abs(wrap_angle(p.yaw - truth.yaw)) < 1e-3
    # a single keyframe stands still; no box at the source frame is an error
    assert predict_box_at(Track(2, "car", keyframes={3: car(1.0)}), 3, 4) == car(1.0)
    with pytest.raises(ModelError, match="no box at frame 20"):
        predict_box_at(straight, 20, 21)


def test_prediction_uses_timestamps() -> None:
    t = Track(0, "car", keyframes={0: car(0.0), 10: car(10.0)}, interpolation="linear")
    times = [int(1e8) * f for f in range(12)]
    times[11] = times[10] + int(2e8)  # the next sweep comes late: the car got further
    assert predict_box_at(t, 10, 11, times).center[0] == pytest.approx(12.0)


# ---- refinement -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("truth", "offset"),
    [
        (car(12.0, 5.0, 0.7), (0.4, -0.3, math.radians(8))),
        (car(-8.0, 15.0, -2.9), (-0.5, 0.6, math.radians(-12))),
        (car(20.0, -3.0, math.pi), (0.7, 0.2, math.radians(5))),
    ],
)
def test_refinement_recovers_position_and_yaw(truth: Box3D, offset: tuple[float, float, float]) -> None:
    rng = np.random.default_rng(1)
    pts = np.concatenate([surface_points(truth, 150, rng), ground_points(rng)])
    guess = Box3D((truth.center[0] + offset[0], truth.center[1] + offset[1], truth.center[2]), SIZE,
                  truth.yaw + offset[2])
    res = refine_box(guess, pts)
    assert res.ok, res.reason
    assert math.dist(res.box.center[:2], truth.center[:2]) < 0.08
    assert abs(wrap_angle(res.box.yaw - truth.yaw)) < math.radians(1.5)
    assert res.box.size == SIZE and res.box.center[2] == guess.center[2]
    assert bev_iou(res.box, truth) > 0.93 > bev_iou(guess, truth)
    assert res.n_support >= 0.8 * res.n_points


def test_refinement_is_refused_without_enough_support() -> None:
    rng = np.random.default_rng(2)
    truth = car(12.0, 5.0, 0.7)
    guess = Box3D((12.3, 5.2, 0.8), SIZE, 0.75)
    few = refine_box(guess, surface_points(truth, 4, rng), min_points=20)
    assert not few.ok and "too few points to refine" in few.reason and few.n_points < 20 and few.box == guess
    # ground only: nothing left above the ground clearance
    assert "too few points" in refine_box(guess, ground_points(rng)).reason
    # a scattered blob (a bush) does not support a box fit
    blob = np.column_stack([rng.normal(12, 1.0, 400), rng.normal(5, 1.0, 400), rng.uniform(0.3, 1.5, 400)])
    res = refine_box(guess, blob)
    assert not res.ok and res.box == guess and res.reason.startswith("poor fit")
    # the object is further off than the search allows
    off = (12.0 + 0.6 * math.cos(0.7), 5.0 + 0.6 * math.sin(0.7), 0.8)
    far = refine_box(Box3D(off, SIZE, 0.7), surface_points(truth, 150, rng), search_xy=0.5)
    assert not far.ok and "edge of the search" in far.reason
    with pytest.raises(ValueError, match="shape"):
        refine_box(guess, np.zeros((5, 2)))


# ---- the command ----------------------------------------------------------------------------------
def scene() -> tuple[AnnotationDocument, UndoStack]:
    doc = AnnotationDocument(frame_count=30)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, car(0.0, 5.0)))
    stack.push(SetKeyframe(0, 10, car(10.0, 5.0)))
    stack.push(CreateTrack("car", 8, car(-10.0, -6.0, 0.5)))
    stack.push(CreateTrack("pedestrian", 10, Box3D((3, -3, 0.9), (0.6, 0.6, 1.8), 0.0)))
    stack.clear()
    return doc, stack


def test_propagate_all_boxes_to_the_next_frame_and_undo() -> None:
    doc, stack = scene()
    before = doc.to_dict()
    cmd = stack.push(PropagateBoxes(10))
    assert isinstance(cmd, PropagateBoxes) and cmd.propagated == [0, 2]  # track 1 has no box at 10
    assert doc.track(0).keyframes[11].center[0] == pytest.approx(11.0)
    assert doc.track(2).keyframes[11] == doc.track(2).keyframes[10]
    assert all(r.is_keyframe for r in doc.boxes_at(11))
    after = doc.to_dict()
    stack.undo()
    assert doc.to_dict() == before
    stack.redo()
    assert doc.to_dict() == after
    # again: both already have a keyframe at 11
    with pytest.raises(ModelError, match="nothing to propagate"):
        stack.push(PropagateBoxes(10))
    stack.push(PropagateBoxes(10, overwrite=True, track_ids=[0]))
    assert len(stack) == 2


def test_propagate_selected_box_backwards_and_skip_reasons() -> None:
    doc, stack = scene()
    cmd = stack.push(PropagateBoxes(8, target=7, track_ids=[1, 2]))
    assert cmd.propagated == [1]  # type: ignore[attr-defined]
    assert cmd.outcomes[2].box is None and "no box at frame 8" in cmd.outcomes[2].reason  # type: ignore[attr-defined]
    stack.push(SetGap(0, 11, 12))
    with pytest.raises(ModelError, match="gap"):
        stack.push(PropagateBoxes(10, track_ids=[0]))
    with pytest.raises(ModelError, match="outside"):
        stack.push(PropagateBoxes(29))


def test_propagate_with_refinement() -> None:
    rng = np.random.default_rng(5)
    doc, stack = scene()
    # at frame 11 the car really is at (11.3, 5.2) with yaw 0.05; the pedestrian has no points
    truth = car(11.3, 5.2, 0.05)
    pts = np.concatenate([surface_points(truth, 150, rng), ground_points(rng)])
    cmd = stack.push(PropagateBoxes(10, points_world=pts))
    out = cmd.outcomes  # type: ignore[attr-defined]
    assert out[0].refined and bev_iou(doc.track(0).keyframes[11], truth) > 0.93
    assert not out[2].refined and "too few points" in out[2].reason
    assert doc.track(2).keyframes[11] == doc.track(2).keyframes[10]  # kept the prediction
    stack.undo()
    assert 11 not in doc.track(0).keyframes
    stack.redo()
    assert bev_iou(doc.track(0).keyframes[11], truth) > 0.93
    # refinement off: the plain prediction
    stack.undo()
    stack.push(PropagateBoxes(10, points_world=pts, refine=False, track_ids=[0]))
    assert doc.track(0).keyframes[11].center[0] == pytest.approx(11.0)


def test_refinement_on_a_ray_cast_sweep() -> None:
    synth = pytest.importorskip("fusionlabel.synth")
    from calib.transforms import transform_points
    from fusionlabel.geometry import count_points_in_boxes

    scene = synth.SynthScene(synth.SynthConfig(frames=11, seed=1, cameras=0, beams=32, azimuths=1024))
    fr = scene.frame(10, cameras=False)
    pts = transform_points(scene.ego_pose(10) @ scene.rig.T("ego", synth.LIDAR_NAME),
                           fr.lidar[synth.LIDAR_NAME].points[:, :3].astype(np.float64))
    truth = list(fr.boxes.values())
    counts = count_points_in_boxes(pts, truth)
    rng = np.random.default_rng(0)
    before, after = [], []
    cars = [b for b, n in zip(truth, counts, strict=True) if n >= 150 and b.size[0] > 3.5]
    assert len(cars) >= 3
    for b in cars:
        d = rng.uniform(-0.3, 0.3, 2)
        guess = Box3D((b.center[0] + d[0], b.center[1] + d[1], b.center[2]), b.size,
                      b.yaw + math.radians(rng.uniform(-5, 5)))
        res = refine_box(guess, pts, exclude_boxes=[o for o in truth if o is not b])
        if res.ok:
            before.append(bev_iou(guess, b))
            after.append(bev_iou(res.box, b))
    assert len(after) >= 0.8 * len(cars)
    assert np.mean(after) > max(0.85, np.mean(before) + 0.1)
