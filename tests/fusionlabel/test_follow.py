"""Tracks that follow themselves (fusionlabel.follow): what a pushed command asks for, a new box
tracked through the sequence and finished (heading from motion or shape, one size, motion state)
as part of its creation step, an edit re-tracking the frames up to its neighbouring keyframes,
and the undo stack's amend / on_push."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.transforms import wrap_angle
from fusionlabel.autotrack import AutoTrackResult
from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetAttribute, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.follow import (
    FollowOptions,
    apply_follow,
    edit_range,
    finish_track,
    plan_follow,
    requests_for,
    run_follow,
)
from fusionlabel.model import Track
from fusionlabel.ontology import Ontology
from fusionlabel.trackops import SetTracked
from tests.fusionlabel.test_autotrack import CAR, TIMES, driving, scene

N = len(TIMES)


def doc_with(box: Box3D, frame: int = 0, label: str = "car", **attrs: str) -> tuple[AnnotationDocument, UndoStack,
                                                                                     CreateTrack]:
    doc = AnnotationDocument(N, TIMES)
    stack = UndoStack(doc)
    cmd = CreateTrack(label, frame, box, attributes=attrs, to_sequence_end=True)
    stack.push(cmd)
    return doc, stack, cmd


def test_a_created_track_asks_for_the_whole_sequence_and_its_finish() -> None:
    doc, _, cmd = doc_with(Box3D((0, 0, 0.75), CAR, 0.0), frame=5)
    (req,) = requests_for(doc, cmd, N)
    assert (req.track_id, req.frames, req.finish, req.reason) == (cmd.track_id, (0, N - 1), True, "created")
    assert requests_for(doc, cmd, N, FollowOptions(on_create=False)) == []
    assert requests_for(doc, cmd, N, FollowOptions(finish=False))[0].finish is False


def test_an_edit_asks_for_the_frames_between_its_neighbouring_keyframes_only_when_tracked() -> None:
    box = Box3D((0, 0, 0.75), CAR, 0.0)
    doc, stack, cmd = doc_with(box, frame=2)
    tid = cmd.track_id
    edit = SetKeyframe(tid, 8, box.replace(center=(1.0, 0.0, 0.75)))
    stack.push(edit)
    assert requests_for(doc, edit, N) == []  # an interpolated track stays interpolated
    stack.push(SetTracked(tid, {f: box for f in range(3, N) if f != 8}, dict.fromkeys(range(3, N), 0.8)))
    stack.push(SetKeyframe(tid, 14, box))
    edit = SetKeyframe(tid, 11, box.replace(center=(2.0, 0.0, 0.75)))
    stack.push(edit)
    (req,) = requests_for(doc, edit, N)
    assert (req.frames, req.finish, req.reason) == ((9, 13), False, "edited")
    assert requests_for(doc, edit, N, FollowOptions(on_edit=False)) == []
    tr = doc.track(tid)
    assert edit_range(tr, 1, N) == (0, 1)  # before the first keyframe: from the sequence start
    assert edit_range(tr, 16, N) == (15, N - 1)  # after the last: to the track's end
    assert edit_range(tr.copy(end=17), 16, N) == (15, 17)


def test_amend_folds_into_the_step_while_it_is_on_top() -> None:
    doc, stack, cmd = doc_with(Box3D((0, 0, 0.75), CAR, 0.0))
    tid = cmd.track_id
    assert stack.amend(SetAttribute(tid, "state", "parked"), cmd) is True
    assert len(stack) == 1 and doc.track(tid).attributes["state"] == "parked"
    stack.undo()
    assert tid not in doc  # one undo: the box and what followed it
    stack.redo()
    assert doc.track(tid).attributes["state"] == "parked"
    other = SetKeyframe(tid, 3, Box3D((1, 0, 0.75), CAR, 0.0))
    stack.push(other)
    assert stack.amend(SetAttribute(tid, "state", "moving"), cmd) is False  # not on top: a step of its own
    assert len(stack) == 3
    stack.mark_clean()
    assert stack.amend(SetAttribute(tid, "state", None), stack.top) is False  # the saved step is never changed
    assert not stack.is_clean or len(stack) == 4


def test_on_push_reports_the_command_and_the_step_that_holds_it() -> None:
    doc = AnnotationDocument(N, TIMES)
    stack = UndoStack(doc)
    seen: list[tuple[object, object]] = []
    stack.on_push(lambda c, s: seen.append((c, s)))
    create = stack.push(CreateTrack("car", 0, Box3D((0, 0, 0.75), CAR, 0.0)))
    a = stack.push(SetKeyframe(create.track_id, 0, Box3D((0.1, 0, 0.75), CAR, 0.0), merge_key="n"))
    b = stack.push(SetKeyframe(create.track_id, 0, Box3D((0.2, 0, 0.75), CAR, 0.0), merge_key="n"))
    assert seen[0] == (create, create) and seen[1] == (a, a) and seen[2] == (b, a)  # b merged into a's step
    with stack.group("two"):
        stack.push(SetAttribute(create.track_id, "x", "1"))
        stack.push(SetAttribute(create.track_id, "y", "2"))
    assert len(seen) == 4 and seen[3][0] is stack.top
    stack.undo()
    assert len(seen) == 4  # undo does not push


def _run(doc: AnnotationDocument, stack: UndoStack, cmd: CreateTrack, points_at) -> None:  # type: ignore[no-untyped-def]
    (req,) = requests_for(doc, cmd, N)
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, points_at), cmd)


@pytest.mark.parametrize("backwards", [False, True])
def test_a_new_box_tracks_itself_and_drives_forwards(backwards: bool) -> None:
    truth = driving(8.0)
    k0 = truth[0]
    start = k0.replace(yaw=float(wrap_angle(k0.yaw + math.pi))) if backwards else k0
    doc, stack, cmd = doc_with(start, state="moving")
    _run(doc, stack, cmd, scene(truth))
    tr = doc.track(cmd.track_id)
    assert len(tr.tracked) >= N - 3
    for f in (5, 10, N - 1):
        b = doc.box_at(cmd.track_id, f).box
        assert math.dist(b.center[:2], truth[f].center[:2]) < 0.5
        assert abs(wrap_angle(b.yaw - truth[f].yaw)) < math.radians(10)  # a backwards box is turned round
    assert len(stack) == 1  # created and tracked: one step
    stack.undo()
    assert cmd.track_id not in doc


def test_a_parked_car_is_turned_round_by_its_cabin_and_loses_a_moving_state() -> None:
    rng = np.random.default_rng(3)
    car = Box3D((10.0, 4.0, 0.75), (4.5, 1.8, 1.5), 0.3)
    # body over the whole length up to 0.9 m, the cabin behind the middle above it
    c, s = math.cos(car.yaw), math.sin(car.yaw)

    def points(_f: int) -> np.ndarray:
        u = np.concatenate([rng.uniform(-2.25, 2.25, 400), rng.uniform(-1.6, 0.6, 200)])
        v = rng.choice([-0.9, 0.9], 600)
        z = np.concatenate([rng.uniform(0.2, 0.9, 400), rng.uniform(1.0, 1.5, 200)])
        return np.column_stack([car.center[0] + c * u - s * v, car.center[1] + s * u + c * v, z])

    result = AutoTrackResult(1, boxes={f: car for f in range(1, N)}, confidence=dict.fromkeys(range(1, N), 0.8),
                             fitted=set(range(1, N)))
    backwards = Track(1, "car", keyframes={0: car.replace(yaw=car.yaw + math.pi)}, attributes={"state": "moving"})
    fin = finish_track(backwards, result, points, Ontology.default())
    assert fin.flip and fin.heading == "shape"
    assert fin.state == ("state", None)  # it stands still: not "moving"
    right = Track(1, "car", keyframes={0: car})
    fin = finish_track(right, result, points, Ontology.default())
    assert not fin.flip and fin.state is None


def test_an_edit_that_resizes_a_box_sizes_the_whole_track() -> None:
    truth = driving(8.0)
    short = truth[0].replace(size=(3.6, 1.9, 1.5))
    doc, stack, cmd = doc_with(short)
    points = scene(truth)
    _run(doc, stack, cmd, points)
    tid = cmd.track_id
    assert doc.track(tid).tracked
    edit = SetKeyframe(tid, 6, doc.box_at(tid, 6).box.replace(size=CAR))
    stack.push(edit)
    (req,) = requests_for(doc, edit, N)
    assert req.size == CAR and req.frames == (1, N - 1)
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, points), edit)
    tr = doc.track(tid)
    assert {b.size for b in [*tr.keyframes.values(), *tr.tracked.values()]} == {CAR}
    assert len(stack) == 2
