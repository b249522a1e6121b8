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


def test_a_parked_car_is_turned_round_by_its_cabin_and_held_still_not_moving() -> None:
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
    assert fin.state == ("state", "parked")  # it stands still: not "moving", held still
    assert fin.hold is not None and abs(wrap_angle(fin.hold.yaw - car.yaw)) < math.radians(2)  # turned round
    right = Track(1, "car", keyframes={0: car}, attributes={"state": "parked"})
    fin = finish_track(right, result, points, Ontology.default())
    assert not fin.flip and fin.state is None and fin.hold is not None


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


# ---- hold still: a parked car keeps one pose, a slow walker and a car that drives off do not ----
def _faces_seen(box: Box3D, origin: np.ndarray, rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """World points (n, 3) on the faces of ``box`` (shrunk by ``scale``) turned towards ``origin``,
    as many per face as its width seen from there."""
    l, w = scale * box.size[0], scale * box.size[1]
    c, sn = math.cos(box.yaw), math.sin(box.yaw)
    d = np.array(box.center[:2]) - origin[:2]
    d /= np.linalg.norm(d)
    faces = [((c, sn), (l / 2, None), w), ((-c, -sn), (-l / 2, None), w), ((-sn, c), (None, w / 2), l),
             ((sn, -c), (None, -w / 2), l)]
    weight = np.array([max(0.0, -(nx * d[0] + ny * d[1])) * length for (nx, ny), _, length in faces])
    pick = rng.choice(4, size=n, p=weight / weight.sum())
    s = rng.uniform(-0.5, 0.5, n)
    u = np.array([faces[k][1][0] if faces[k][1][0] is not None else s[i] * l for i, k in enumerate(pick)])
    v = np.array([faces[k][1][1] if faces[k][1][1] is not None else s[i] * w for i, k in enumerate(pick)])
    z = rng.uniform(-box.size[2] / 2 + 0.4, box.size[2] / 2, n)
    pts = np.column_stack([box.center[0] + c * u - sn * v, box.center[1] + sn * u + c * v, box.center[2] + z])
    return pts + rng.normal(0, 0.02, pts.shape)


def _passing(truth: dict[int, Box3D], seed: int = 5, n: int = 250,
             scale: float = 1.0) -> tuple[dict[int, np.ndarray], dict]:
    """Points of ``truth`` as a sensor driving past at 12 m/s sees them (the faces turned towards it,
    from the front over the side to the back; a body narrower than its box: ``scale``), plus a
    wall; and the sensor's positions."""
    rng = np.random.default_rng(seed)
    origin = {f: np.array([-8.0 + 1.2 * f, -2.0, 1.8]) for f in truth}
    wall = np.column_stack([rng.uniform(-20, 80, 2000), np.full(2000, 12.0), rng.uniform(0.3, 2.5, 2000)])
    pts = {f: np.vstack([_faces_seen(b, origin[f], rng, n, scale), wall]) for f, b in truth.items()}
    return pts, origin


class _Sweeps:
    def __init__(self, pts: dict[int, np.ndarray], origin: dict) -> None:
        self.pts, self.origins = pts, origin

    def __call__(self, f: int) -> np.ndarray | None:
        return self.pts.get(f)

    def origin(self, f: int) -> np.ndarray | None:
        return self.origins.get(f)


def _boxes(doc: AnnotationDocument, tid: int) -> dict[int, Box3D]:
    return {f: doc.box_at(tid, f).box for f in range(N) if doc.box_at(tid, f) is not None}


def test_a_parked_car_holds_still_in_one_place_at_every_frame() -> None:
    car = Box3D((6.0, 3.0, 0.75), CAR, 0.05)
    truth = dict.fromkeys(range(N), car)
    pts, origin = _passing(truth)
    start = car.replace(center=(6.25, 3.1, 0.75), yaw=0.08)  # one-click's box, a little off
    doc, stack, cmd = doc_with(start, frame=4)
    _run(doc, stack, cmd, _Sweeps(pts, origin))
    tid = cmd.track_id
    tr = doc.track(tid)
    assert tr.attributes.get("state") == "parked"  # the window shows it as the motion state
    boxes = _boxes(doc, tid)
    assert len(boxes) == N and len(set(boxes.values())) == 1  # one pose, no per-frame drift
    held = boxes[0]
    assert math.dist(held.center[:2], car.center[:2]) < 0.05  # the fits' median, not one-click's box
    assert abs(wrap_angle(held.yaw - car.yaw)) < math.radians(1.5)
    assert len(stack) == 1  # created, tracked and held: one step


def test_an_edit_of_a_still_track_moves_it_at_every_frame_in_one_step() -> None:
    car = Box3D((6.0, 3.0, 0.75), CAR, 0.05)
    pts, origin = _passing(dict.fromkeys(range(N), car))
    doc, stack, cmd = doc_with(car, frame=0)
    sweeps = _Sweeps(pts, origin)
    _run(doc, stack, cmd, sweeps)
    tid = cmd.track_id
    assert doc.track(tid).attributes.get("state") == "parked"
    moved = doc.box_at(tid, 12).box.replace(center=(6.3, 3.0, 0.75))
    edit = SetKeyframe(tid, 12, moved)
    stack.push(edit)
    (req,) = requests_for(doc, edit, N)
    assert req.hold == moved and req.frames == (0, N - 1)
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, sweeps), edit)
    assert set(_boxes(doc, tid).values()) == {moved}
    assert len(stack) == 2
    stack.undo()  # the edit and its hold together
    assert len(set(_boxes(doc, tid).values())) == 1 and doc.box_at(tid, 12).box != moved


def test_a_slow_walker_is_not_held_still() -> None:
    walker = (0.5, 0.6, 1.75)
    truth = {f: Box3D((8.0 + 0.08 * f, 4.0, 0.875), walker, 0.0) for f in range(N)}  # 0.8 m/s
    pts, origin = _passing(truth, n=60, scale=0.85)
    doc, stack, cmd = doc_with(truth[0], label="pedestrian")
    _run(doc, stack, cmd, _Sweeps(pts, origin))
    tid = cmd.track_id
    assert doc.track(tid).attributes.get("state") != "standing"
    last = doc.box_at(tid, N - 1).box
    assert math.dist(last.center[:2], truth[0].center[:2]) > 1.2  # it walked on (1.5 m)
    assert math.dist(last.center[:2], truth[N - 1].center[:2]) < 0.3


def test_a_standing_walker_is_held_still() -> None:
    person = Box3D((8.0, 4.0, 0.875), (0.5, 0.6, 1.75), 0.0)
    pts, origin = _passing(dict.fromkeys(range(N), person), n=60, scale=0.85)
    doc, stack, cmd = doc_with(person.replace(center=(8.1, 4.05, 0.875)), label="pedestrian")
    _run(doc, stack, cmd, _Sweeps(pts, origin))
    tid = cmd.track_id
    assert doc.track(tid).attributes.get("state") == "standing"
    boxes = _boxes(doc, tid)
    assert len(set(boxes.values())) == 1 and math.dist(boxes[0].center[:2], person.center[:2]) < 0.1


@pytest.mark.parametrize(("start", "accel"), [(10, 2.0), (12, 3.0)])
def test_a_car_that_drives_off_is_not_held_still(start: int, accel: float) -> None:
    car = Box3D((6.0, 3.0, 0.75), CAR, 0.0)
    truth = {}
    for f in range(N):  # stands, then drives off (0.8 m, 0.7 m by the last frame)
        t = max(0.0, (f - start) * 0.1)
        truth[f] = car.replace(center=(6.0 + 0.5 * accel * t * t, 3.0, 0.75))
    pts, origin = _passing(truth)
    doc, stack, cmd = doc_with(car, frame=0)
    _run(doc, stack, cmd, _Sweeps(pts, origin))
    tid = cmd.track_id
    assert doc.track(tid).attributes.get("state") != "parked"
    assert math.dist(doc.box_at(tid, N - 1).box.center[:2], truth[N - 1].center[:2]) < 0.3


def test_a_motion_state_set_by_hand_holds_the_track_still_or_lets_it_move() -> None:
    from fusionlabel.trackjob import plan_autotrack, run_plan

    truth = driving(8.0)
    points = scene(truth, missing={7})
    doc, stack, cmd = doc_with(truth[0], state="moving")
    _run(doc, stack, cmd, points)
    tid = cmd.track_id
    assert math.dist(doc.box_at(tid, N - 1).box.center[:2], truth[N - 1].center[:2]) < 0.5
    set_parked = SetAttribute(tid, "state", "parked")
    stack.push(set_parked)
    (req,) = requests_for(doc, set_parked, N)
    assert (req.frames, req.reason, req.hold) == ((0, N - 1), "state", None)
    plan = plan_autotrack(doc, N, [tid])
    assert plan.seeds[0].still
    r = run_plan(plan, points)[tid]
    key = doc.track(tid).keyframes[0]
    assert set(r.boxes.values()) == {key}  # held at its keyframe: no fit moves it
    assert r.confidence[1] > 0.6 and r.confidence[N - 1] < 0.3  # only frame 1's points are still there
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, points), set_parked)
    assert doc.box_at(tid, N - 1).box == key
    set_moving = SetAttribute(tid, "state", "moving")
    stack.push(set_moving)
    (req,) = requests_for(doc, set_moving, N)
    fp = plan_follow(doc, N, req)
    assert not fp.plan.seeds[0].still
    apply_follow(stack, fp, run_follow(fp, points), set_moving)
    assert math.dist(doc.box_at(tid, N - 1).box.center[:2], truth[N - 1].center[:2]) < 0.5


def _accepted(truth: dict[int, Box3D], frames: range) -> tuple[AnnotationDocument, UndoStack, object]:
    """A document whose pre-label of a moving car (its true boxes at ``frames``) is accepted."""
    from fusionlabel.assist.review import AcceptAbove, SetProposals
    from fusionlabel.document import Proposal

    doc = AnnotationDocument(N, TIMES)
    stack = UndoStack(doc)
    stack.push(SetProposals([Proposal(0, "car", {f: truth[f] for f in frames}, dict.fromkeys(frames, 0.9), 0.9)]))
    return doc, stack, stack.push(AcceptAbove([0], {0: "car"}))


def test_an_accepted_moving_car_is_extended_past_its_ends_in_the_accept_step() -> None:
    truth = driving(8.0)
    doc, stack, cmd = _accepted(truth, range(4, N - 4))  # the detector found it late and lost it early
    tid = cmd.track_ids[0]
    before = doc.track(tid).copy()
    (req,) = requests_for(doc, cmd, N)
    assert (req.track_id, req.frames, req.reason, req.extend) == (tid, (0, N - 1), "accepted", True)
    assert requests_for(doc, cmd, N, FollowOptions(on_accept=False)) == []
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, scene(truth)), cmd)
    tr = doc.track(tid)
    assert tr.span() == (0, N - 1)
    for f in range(N):
        b = doc.box_at(tid, f).box
        assert math.dist(b.center[:2], truth[f].center[:2]) < 0.3
        assert abs(wrap_angle(b.yaw - truth[f].yaw)) < math.radians(5)
    assert tr.keyframes == before.keyframes  # its own boxes are kept as they were
    assert all(tr.tracked[f] == b for f, b in before.tracked.items())
    assert len(stack) == 2  # the proposals, then accepted and extended: one step
    stack.undo()
    assert tid not in doc


def test_an_accepted_track_is_extended_only_where_the_object_is_seen() -> None:
    truth = driving(8.0)
    gone = set(range(N - 6, N))  # the car leaves the sensor's sight at frame N - 6
    doc, stack, cmd = _accepted(truth, range(4, N - 8))
    (req,) = requests_for(doc, cmd, N)
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, scene(truth, missing=gone)), cmd)
    tid = cmd.track_ids[0]
    assert doc.track(tid).span() == (0, N - 7)  # no box carried on past where it was last seen


def test_an_accepted_still_vehicle_asks_for_nothing() -> None:
    car = Box3D((6.0, 3.0, 0.75), CAR, 0.05)
    doc, _, cmd = _accepted(dict.fromkeys(range(N), car), range(4, N - 4))
    assert not doc.track(cmd.track_ids[0]).tracked  # one keyframe, held
    assert requests_for(doc, cmd, N) == []


def test_a_size_edit_of_an_interpolated_track_of_one_size_sizes_all_its_keyframes() -> None:
    truth = driving(1.4, size=(0.6, 0.7, 1.75))  # an accepted walker's boxes: keyframes of one size
    doc, stack, cmd = doc_with(truth[0], label="pedestrian")
    tid = cmd.track_id
    for f in (5, 10, 15):
        stack.push(SetKeyframe(tid, f, truth[f]))
    nudge = SetKeyframe(tid, 10, truth[10].replace(center=(truth[10].center[0] + 0.1, *truth[10].center[1:])))
    stack.push(nudge)
    assert requests_for(doc, nudge, N) == []  # a move: that keyframe only, interpolated as before
    edit = SetKeyframe(tid, 10, truth[10].replace(size=(1.8, 0.6, 1.75)))  # a rider, in fact
    stack.push(edit)
    (req,) = requests_for(doc, edit, N)
    assert (req.frames, req.size) == ((10, 10), (1.8, 0.6, 1.75))
    fp = plan_follow(doc, N, req)
    apply_follow(stack, fp, run_follow(fp, scene(truth)), edit)
    tr = doc.track(tid)
    assert not tr.tracked and sorted(tr.keyframes) == [0, 5, 10, 15]
    assert all(b.size[:2] == pytest.approx((1.8, 0.6)) for b in tr.keyframes.values())
    stack.undo()  # the edit and the sizes it gave: one step
    assert doc.track(tid).keyframes[5].size == truth[5].size
    mixed = SetKeyframe(tid, 5, truth[5].replace(size=(0.9, 0.7, 1.75)))
    stack.push(mixed)
    stack.push(edit := SetKeyframe(tid, 10, truth[10].replace(size=(1.8, 0.6, 1.75))))
    assert requests_for(doc, edit, N) == []  # keyframes of several sizes: a size by frame, left so
