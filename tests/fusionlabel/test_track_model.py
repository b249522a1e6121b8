"""The track model: keyframe / tracked / interpolated / held boxes, a track's end, their
serialisation, and the track-level commands (SetTracked, EndTrack, ExtendTrack, FlipTrack,
ResizeTrack) with the size estimate against synthetic ground truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, SetReview, UndoStack
from fusionlabel.document import AnnotationDocument, BoxRef
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.trackops import (
    DeleteFromFrame,
    EndTrack,
    ExtendTrack,
    FlipTrack,
    MakeKeyframe,
    MergeTracks,
    ResizeTrack,
    SetGap,
    SetTracked,
    SplitTrack,
)
from fusionlabel.tracksize import estimate_track_size, resize_box, to_box_frame

N = 30


def car(x: float, y: float = 0.0, yaw: float = 0.0, size: tuple[float, float, float] = (4.5, 1.9, 1.6)) -> Box3D:
    return Box3D((x, y, size[2] / 2), size, yaw)


def boxes_equal(a: Box3D | None, b: Box3D | None) -> bool:
    if a is None or b is None:
        return a is b
    return np.allclose(a.to_array(), b.to_array())


def snapshot(doc: AnnotationDocument) -> dict:
    return json.loads(json.dumps(doc.to_dict()))


# ---- precedence and states -----------------------------------------------------------------------
def test_a_parked_car_needs_one_keyframe_when_its_track_lasts_to_the_end() -> None:
    t = Track(0, "car", keyframes={5: car(10.0)}, end=N - 1)
    assert t.span() == (5, N - 1) and t.keyframe_span() == (5, 5)
    assert t.box_at(4) is None
    assert t.box_state(5) == "keyframe"
    for f in (6, 17, N - 1):
        assert t.box_state(f) == "held" and t.box_at(f) == car(10.0)
    assert t.box_at(N) is None
    assert t.frames() == range(5, N)
    # None: the track ends at its last keyframe (imported labels, older files)
    assert Track(0, "car", keyframes={5: car(10.0)}).frames() == range(5, 6)


def test_precedence_gap_keyframe_tracked_interpolated_held() -> None:
    kf = {0: car(0.0), 10: car(10.0)}
    tracked = {3: car(3.5, 0.2), 10: car(99.0), 12: car(12.0), 14: car(14.0), 20: car(20.0)}
    conf = {f: 0.5 + f / 100 for f in tracked}
    t = Track(0, "car", keyframes=kf, interpolation="linear", gaps=((16, 17),), end=25, tracked=tracked,
              tracked_confidence=conf)
    states = {f: t.box_state(f) for f in range(-1, 28)}
    assert states[-1] is None and states[26] is None
    assert states[0] == states[10] == "keyframe"
    assert t.box_at(10) == car(10.0)  # the keyframe wins over a tracked box at its frame
    assert states[3] == states[12] == states[14] == states[20] == "tracked"
    assert t.box_at(3) == car(3.5, 0.2)
    assert states[5] == "interpolated" and boxes_equal(t.box_at(5), car(5.0))  # between keyframes
    # after the last keyframe, between two tracked boxes: a linear blend of the neighbours
    assert states[13] == "interpolated" and boxes_equal(t.box_at(13), car(13.0))
    assert states[11] == "interpolated" and boxes_equal(t.box_at(11), car(11.0))
    # next to a gap: held from the reachable side; in the gap: nothing
    assert states[15] == "held" and t.box_at(15) == car(14.0)
    assert states[16] is None and states[17] is None
    assert states[18] == "interpolated" or states[18] == "held"
    assert states[21] == "held" and t.box_at(25) == car(20.0)
    refs = t.resolve([3, 25])
    assert refs[0][2] == pytest.approx(0.53) and refs[1][2] is None
    assert list(t.frames()) == [f for f in range(0, 26) if f not in (16, 17)]


def test_tracked_boxes_before_the_first_keyframe_start_the_track_there() -> None:
    t = Track(0, "car", keyframes={10: car(10.0)}, tracked={4: car(4.0), 7: car(7.0)},
              tracked_confidence={4: 0.9, 7: 0.8})
    assert t.span() == (4, 10)
    assert t.box_at(3) is None
    assert t.box_state(5) == "interpolated" and boxes_equal(t.box_at(5), car(5.0))
    assert t.box_state(9) == "interpolated" and boxes_equal(t.box_at(9), car(9.0))
    with_gap = t.copy(gaps=((8, 8),))
    assert with_gap.box_state(9) == "held" and with_gap.box_at(9) == car(10.0)
    assert with_gap.box_state(8) is None


def test_old_gap_semantics_are_kept_between_keyframes() -> None:
    # between a piece's end and a gap there is no box (interpolation never crosses a gap)
    t = Track(0, "car", keyframes={0: car(0.0), 6: car(6.0), 20: car(20.0)}, gaps=((8, 12),))
    assert [t.box_state(f) for f in (3, 7, 8, 15)] == ["interpolated", None, None, None]
    assert t.frames() == [*range(0, 7), 20]


def test_held_boxes_cross_a_gap_a_parked_car_seen_again() -> None:
    t = Track(0, "car", keyframes={0: car(5.0)}, gaps=((10, 14),), end=N - 1)
    assert t.box_state(12) is None
    assert t.box_state(20) == "held" and t.box_at(20) == car(5.0)


def test_track_validation() -> None:
    with pytest.raises(ModelError, match="same frames"):
        Track(0, "car", keyframes={0: car(0.0)}, tracked={1: car(1.0)})
    with pytest.raises(ModelError, match=r"\[0, 1\]"):
        Track(0, "car", keyframes={0: car(0.0)}, tracked={1: car(1.0)}, tracked_confidence={1: 1.5})
    with pytest.raises(ModelError, match="end"):
        Track(0, "car", keyframes={0: car(0.0)}, end=-1)
    doc = AnnotationDocument(frame_count=10)
    with pytest.raises(ModelError, match="end"):
        doc._insert_track(Track(0, "car", keyframes={0: car(0.0)}, end=10))
    with pytest.raises(ModelError, match="outside"):
        doc._insert_track(Track(0, "car", keyframes={0: car(0.0)}, tracked={12: car(1.0)},
                                tracked_confidence={12: 0.5}))


def test_copy_carries_the_new_fields_independently() -> None:
    t = Track(0, "car", keyframes={0: car(0.0)}, end=9, tracked={2: car(2.0)}, tracked_confidence={2: 0.7})
    c = t.copy()
    assert c == t and c.end == 9
    c.tracked[3] = car(3.0)
    c.tracked_confidence[3] = 0.1
    assert 3 not in t.tracked and 3 not in t.tracked_confidence


def test_document_box_refs_carry_state_and_confidence() -> None:
    doc = AnnotationDocument.from_tracks(
        [Track(0, "car", keyframes={0: car(0.0)}, end=9, tracked={4: car(4.0)}, tracked_confidence={4: 0.25})], 10)
    refs = {f: doc.box_at(0, f) for f in range(10)}
    assert refs[0].state == "keyframe" and refs[0].is_keyframe and refs[0].confidence is None
    assert refs[2].state == "interpolated" and not refs[2].is_keyframe
    assert refs[4].state == "tracked" and refs[4].confidence == 0.25 and not refs[4].is_keyframe
    assert refs[9].state == "held" and refs[9].box == car(4.0)
    assert [r.state for r in doc.boxes_at(4)] == ["tracked"]
    assert doc.num_boxes() == 10
    # existing constructors still work; the state follows is_keyframe
    assert BoxRef(0, "car", car(0.0), True, 0).state == "keyframe"
    assert BoxRef(0, "car", car(0.0), False, 0).state == "interpolated"
    with pytest.raises(ModelError):
        BoxRef(0, "car", car(0.0), False, 0, "guessed")


def test_affected_frames_reach_held_and_tracked_neighbours() -> None:
    doc = AnnotationDocument(frame_count=N)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, car(0.0), end=N - 1))
    events = []
    doc.subscribe(events.append)
    stack.push(SetKeyframe(0, 0, car(1.0)))
    assert set(events[-1].frames) >= set(range(0, N))
    assert doc.box_at(0, 20).box == car(1.0)


# ---- serialisation -------------------------------------------------------------------------------
def make_doc() -> AnnotationDocument:
    return AnnotationDocument.from_tracks([
        Track(0, "car", keyframes={0: car(0.0), 5: car(5.0)}, end=N - 1,
              tracked={7: car(7.0, yaw=0.1), 9: car(9.0)}, tracked_confidence={7: 0.75, 9: 0.5}),
        Track(1, "pedestrian", keyframes={2: car(1.0, 3.0, size=(0.5, 0.6, 1.7))}),
    ], N)


def test_round_trip_of_end_and_tracked_boxes() -> None:
    doc = make_doc()
    d = doc.to_dict()
    assert d["tracks"][0]["end"] == N - 1
    assert d["tracks"][0]["tracked"]["7"] == {"center": [7.0, 0.0, 0.8], "size": [4.5, 1.9, 1.6],
                                             "yaw": pytest.approx(0.1), "confidence": 0.75}
    assert "end" not in d["tracks"][1] and "tracked" not in d["tracks"][1]  # older layout unchanged
    back = AnnotationDocument.from_dict(json.loads(json.dumps(d)))
    assert back.tracks == doc.tracks
    assert back.to_dict() == d


@pytest.mark.parametrize("mutate, match", [
    (lambda t: t.update(end="9"), "end"),
    (lambda t: t.update(end=N), "end"),
    (lambda t: t["tracked"]["7"].pop("confidence"), "confidence"),
    (lambda t: t["tracked"]["7"].update(confidence=2.0), "confidence"),
    (lambda t: t["tracked"]["7"].update(extra=1), "extra"),
    (lambda t: t.update(tracked=[1]), "tracked"),
    (lambda t: t["tracked"].update({"x": t["tracked"]["7"]}), "tracked key"),
])
def test_strict_checks_of_the_new_fields(mutate, match) -> None:  # type: ignore[no-untyped-def]
    d = make_doc().to_dict()
    mutate(d["tracks"][0])
    with pytest.raises(ModelError, match=match):
        AnnotationDocument.from_dict(d)


def test_native_tracks_file_and_project_keep_the_new_fields(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from formats.native import load_tracks, save_tracks

    doc = make_doc()
    save_tracks(tmp_path / "labels.json", doc.tracks.values())
    back = load_tracks(tmp_path / "labels.json")
    assert {t.track_id: t for t in back} == doc.tracks


# ---- commands ------------------------------------------------------------------------------------
def check_undo_redo(doc: AnnotationDocument, stack: UndoStack, cmd) -> dict:  # type: ignore[no-untyped-def]
    """Push ``cmd``; undo gives the state before exactly, redo the state after."""
    before = snapshot(doc)
    stack.push(cmd)
    after = snapshot(doc)
    assert after != before
    stack.undo()
    assert snapshot(doc) == before
    stack.redo()
    assert snapshot(doc) == after
    return after


def fresh() -> tuple[AnnotationDocument, UndoStack]:
    doc = make_doc()
    return doc, UndoStack(doc)


def test_set_tracked_replaces_a_range_and_never_touches_keyframes() -> None:
    doc, stack = fresh()
    boxes = {f: car(f + 0.3) for f in range(4, 13)}
    conf = {f: 0.9 for f in boxes}
    check_undo_redo(doc, stack, SetTracked(0, boxes, conf))
    t = doc.track(0)
    assert t.keyframes[5] == car(5.0) and 5 not in t.tracked  # keyframe skipped
    assert sorted(t.tracked) == [4, *range(6, 13)]  # 7 and 9 replaced, 4..12 set
    assert doc.box_at(0, 7).box == car(7.3) and doc.box_at(0, 7).state == "tracked"
    # re-tracking after a new keyframe replaces the tracked boxes after it only
    stack.push(SetTracked(0, {f: car(f + 0.5) for f in range(10, 12)}, {10: 0.4, 11: 0.4}, replace=(10, N - 1)))
    assert sorted(doc.track(0).tracked) == [4, 6, 7, 8, 9, 10, 11]
    # empty boxes with a range clear it
    stack.push(SetTracked(0, {}, {}, replace=(0, N - 1)))
    assert doc.track(0).tracked == {} and doc.track(0).tracked_confidence == {}
    with pytest.raises(ModelError, match="confidence"):
        SetTracked(0, {3: car(3.0)}, {})
    with pytest.raises(ModelError, match="outside"):
        SetTracked(0, {3: car(3.0)}, {3: 0.5}, replace=(4, 8))
    with pytest.raises(ModelError, match="range"):
        SetTracked(0, {}, {})
    with pytest.raises(ModelError, match="outside the sequence"):
        stack.push(SetTracked(0, {N: car(3.0)}, {N: 0.5}))


def test_set_tracked_keeps_box_reviews_where_a_box_stays() -> None:
    doc, stack = fresh()
    stack.push(SetReview.make(8, "accepted", track_id=0, when=1))
    stack.push(SetTracked(0, {8: car(8.2)}, {8: 0.6}))
    assert doc.box_review(0, 8).status == "accepted"


def test_end_track_and_continue_it() -> None:
    doc, stack = fresh()
    seen = doc.box_at(0, 8)
    assert seen.state == "interpolated"  # between the tracked boxes at 7 and 9
    check_undo_redo(doc, stack, EndTrack(0, 8))
    t = doc.track(0)
    assert t.end == 8 and sorted(t.tracked) == [7] and t.span() == (0, 8)
    assert doc.box_at(0, 8).state == "keyframe" and doc.box_at(0, 8).box == seen.box  # stays where it was
    assert doc.box_at(0, 9) is None
    stack.undo()
    stack.push(EndTrack(0, 12))
    assert doc.box_at(0, 12).state == "held" and 12 not in doc.track(0).keyframes
    with pytest.raises(ModelError, match="already ends"):
        stack.push(EndTrack(0, 12))
    check_undo_redo(doc, stack, ExtendTrack(0))
    assert doc.track(0).end == N - 1 and doc.box_at(0, N - 1).box == car(9.0)
    stack.push(ExtendTrack(1, 12))
    assert doc.track(1).span() == (2, 12)
    with pytest.raises(ModelError, match="past"):
        stack.push(ExtendTrack(1, 10))
    with pytest.raises(ModelError, match="no keyframe"):
        stack.push(EndTrack(1, 1))
    with pytest.raises(ModelError, match="already ends"):
        stack.push(EndTrack(1, 15))  # never lengthens a track
    stack.push(SetGap(0, 20, 25))
    stack.push(EndTrack(0, 22))  # the object left while hidden
    assert doc.track(0).span() == (0, 22) and doc.track(0).gaps == ((20, 22),)


def test_end_track_between_keyframes_keeps_the_box_seen_there() -> None:
    doc = AnnotationDocument.from_tracks([Track(0, "car", keyframes={0: car(0.0), 10: car(10.0)},
                                                interpolation="linear")], N)
    stack = UndoStack(doc)
    seen = doc.box_at(0, 4).box
    stack.push(EndTrack(0, 4))
    assert doc.track(0).keyframes[4] == seen and doc.track(0).span() == (0, 4)


def test_flip_track_turns_every_keyframe_and_tracked_box() -> None:
    doc, stack = fresh()
    before = {f: doc.box_at(0, f).box for f in range(N)}
    check_undo_redo(doc, stack, FlipTrack(0))
    for f in range(N):
        b, a = before[f], doc.box_at(0, f).box
        assert np.allclose(a.center, b.center, atol=1e-9)
        assert abs(math.remainder(a.yaw - b.yaw - math.pi, 2 * math.pi)) < 1e-9
    stack.push(FlipTrack(0))
    assert all(boxes_equal(doc.box_at(0, f).box, before[f]) for f in range(N))


def test_resize_track_gives_one_size_and_keeps_boxes_on_the_ground() -> None:
    doc, stack = fresh()
    check_undo_redo(doc, stack, ResizeTrack(0, (4.0, 1.8, 1.5)))
    t = doc.track(0)
    for b in (*t.keyframes.values(), *t.tracked.values()):
        assert b.size == (4.0, 1.8, 1.5)
        assert b.center[2] - b.size[2] / 2 == pytest.approx(0.0)  # the bottom stayed
    assert t.keyframes[5].center[:2] == (5.0, 0.0)  # no points: centre kept in x, y
    with pytest.raises(ModelError, match="size"):
        ResizeTrack(0, (4.0, -1.0, 1.5))
    with pytest.raises(ModelError, match="points"):
        ResizeTrack(0)


def test_resize_keeps_the_face_the_points_support() -> None:
    box = car(10.0, size=(3.5, 1.9, 1.6))
    # points on the rear face only (seen from behind)
    v = np.linspace(-0.9, 0.9, 20)
    z = np.linspace(0.3, 1.5, 10)
    vv, zz = np.meshgrid(v, z)
    rear = np.column_stack((np.full(vv.size, 10.0 - 1.75), vv.ravel(), zz.ravel()))
    grown = resize_box(box, (4.5, 1.9, 1.6), "visible", rear)
    assert grown.center[0] - 2.25 == pytest.approx(10.0 - 1.75)  # the rear face stayed
    assert resize_box(box, (4.5, 1.9, 1.6), "center").center == box.center
    flipped_pts = rear.copy()
    flipped_pts[:, 0] = 10.0 + 1.75
    assert resize_box(box, (4.5, 1.9, 1.6), "visible", flipped_pts).center[0] + 2.25 == pytest.approx(11.75)


def test_resize_with_an_estimate_is_computed_once_for_redo() -> None:
    doc, stack = fresh()
    calls = []

    def points_at(f: int) -> np.ndarray:
        calls.append(f)
        return np.zeros((0, 3))

    stack.push(ResizeTrack(0, points_at=points_at))
    n = len(calls)
    assert n > 0
    stack.undo()
    stack.redo()
    assert len(calls) == n
    sizes = {b.size for b in (*doc.track(0).keyframes.values(), *doc.track(0).tracked.values())}
    assert len(sizes) == 1


def test_an_edit_at_a_tracked_or_held_frame_makes_a_keyframe_there() -> None:
    doc, stack = fresh()
    assert doc.box_at(0, 7).state == "tracked" and doc.box_at(0, 20).state == "held"
    stack.push(SetKeyframe(0, 7, car(7.5)))
    stack.push(MakeKeyframe(0, 20))
    assert doc.box_at(0, 7).state == "keyframe" and doc.box_at(0, 7).box == car(7.5)
    assert doc.box_at(0, 20).state == "keyframe" and doc.box_at(0, 20).box == car(9.0)
    # the tools: a nudge at a tracked frame makes a keyframe
    from fusionlabel.tools.actions import nudge_world
    from fusionlabel.tools.context import ToolContext

    doc, stack = fresh()
    ctx = ToolContext(doc, stack, frame=9, selection=0)
    assert nudge_world(ctx, (0.5, 0.0, 0.0))
    assert doc.box_at(0, 9).state == "keyframe" and doc.box_at(0, 9).box.center[0] == pytest.approx(9.5)
    ctx.set_frame(25)
    assert nudge_world(ctx, (0.5, 0.0, 0.0))
    # held from the keyframe at 9 (x 9.5), moved by 0.5
    assert doc.box_at(0, 25).state == "keyframe" and doc.box_at(0, 25).box.center[0] == pytest.approx(10.0)
    assert doc.box_at(0, 26).state == "held"


def test_restructuring_operations_keep_end_and_tracked_boxes() -> None:
    doc, stack = fresh()
    seen = doc.box_at(0, 8).box
    stack.push(SplitTrack(0, 8, new_track_id=5))
    head, tail = doc.track(0), doc.track(5)
    assert head.span() == (0, 7) and sorted(head.tracked) == [7] and head.end == 7
    assert tail.span() == (8, N - 1) and sorted(tail.tracked) == [9] and tail.end == N - 1
    assert tail.keyframes[8] == seen  # the interpolated box there became the tail's keyframe
    stack.push(MergeTracks(0, 5, bridge=True))
    merged = doc.track(0)
    assert merged.end == N - 1 and sorted(merged.tracked) == [7, 9]
    stack.undo_all()
    stack.push(DeleteFromFrame(0, 20))
    assert doc.track(0).span() == (0, 19)
    stack.push(SetGap(0, 8, 12))
    assert 9 not in doc.track(0).tracked and doc.box_at(0, 10) is None


def test_labeler_created_tracks_last_to_the_end_of_the_sequence() -> None:
    from fusionlabel.tools.context import ToolContext
    from fusionlabel.tools.create import CreateTool

    doc = AnnotationDocument(frame_count=N)
    ctx = ToolContext(doc, UndoStack(doc), frame=4)
    tid = CreateTool(ctx).commit(car(3.0))
    assert doc.track(tid).end == N - 1 and doc.box_at(tid, N - 1).state == "held"
    assert doc.box_at(tid, 3) is None


# ---- the size estimate against synthetic ground truth ---------------------------------------------
@pytest.fixture(scope="module")
def synth_scene():  # type: ignore[no-untyped-def]
    synth = pytest.importorskip("fusionlabel.synth")
    from calib.transforms import transform_points

    scene = synth.SynthScene(synth.SynthConfig(frames=12, seed=5, cameras=0, beams=32, azimuths=1024))
    T = [scene.ego_pose(f) @ scene.rig.T("ego", synth.LIDAR_NAME) for f in range(12)]
    pts = [transform_points(T[f], scene.frame(f, cameras=False).lidar[synth.LIDAR_NAME].points[:, :3]
                            .astype(np.float64)) for f in range(12)]
    return scene, pts, [t[:3, 3] for t in T]


def test_estimate_track_size_recovers_ground_truth(synth_scene) -> None:  # type: ignore[no-untyped-def]
    scene, pts, origins = synth_scene
    errors: dict[float, list[np.ndarray]] = {}
    before: dict[float, list[np.ndarray]] = {}
    for gt in scene.tracks():
        if gt.label != "car":
            continue
        true = np.array(gt.keyframes[0].size)
        for scale in (0.8, 1.0, 1.2):
            def wrong(b: Box3D, scale: float = scale) -> Box3D:
                s = tuple(np.array(b.size) * scale)
                return b.replace(size=s, center=(*b.center[:2], b.center[2] - b.size[2] / 2 + s[2] / 2))

            tracked = {f: wrong(b) for f, b in gt.keyframes.items() if f > 0}
            t = Track(gt.track_id, "car", keyframes={0: wrong(gt.keyframes[0])}, tracked=tracked,
                      tracked_confidence=dict.fromkeys(tracked, 0.9))
            n_seen = sum(len(to_box_frame(b, pts[f])) and
                         np.count_nonzero(np.all(np.abs(to_box_frame(b, pts[f])) < np.array(b.size) / 2, axis=1)) >= 40
                         for f, b in gt.keyframes.items())
            if n_seen < 3:
                continue
            est = np.array(estimate_track_size(t, lambda f: pts[f], origin_at=lambda f: origins[f]))
            errors.setdefault(scale, []).append(np.abs(est - true))
            before.setdefault(scale, []).append(np.abs(true * scale - true))
    assert len(errors[1.0]) >= 5
    for scale in (0.8, 1.2):
        err, was = np.mean(errors[scale], axis=0), np.mean(before[scale], axis=0)
        assert err[0] < 0.5 * was[0] and err[1] < 0.5 * was[1]  # length and width: far closer to the truth
        assert err[2] <= was[2] + 1e-9  # height: never worse
    right = np.mean(errors[1.0], axis=0)
    assert right[0] < 0.2 and right[1] < 0.1 and right[2] < 0.1  # a right size stays about right


def test_estimate_without_points_keeps_the_current_size() -> None:
    t = Track(0, "car", keyframes={0: car(0.0), 5: car(5.0, size=(4.7, 1.9, 1.6))})
    assert estimate_track_size(t, lambda f: np.zeros((0, 3))) == pytest.approx((4.6, 1.9, 1.6))


def side_view_scene(wall: bool) -> tuple[np.ndarray, np.ndarray]:
    """A 4 x 1.8 x 1.5 m car at the origin (heading +x) seen from its left side by a sensor at
    (0, 10, 1.8): its side face and the ground around it, each point kept only when the ray to it
    does not enter the car (or a wall at y = 5 that hides the front half of the car)."""
    origin = np.array([0.0, 10.0, 1.8])
    u, z = np.meshgrid(np.arange(-2.0, 2.01, 0.1), np.arange(0.2, 1.45, 0.1))
    side = np.column_stack((u.ravel(), np.full(u.size, 0.9), z.ravel()))
    x, y = np.meshgrid(np.arange(-8.0, 8.0, 0.1), np.arange(-6.0, 8.0, 0.1))
    pts = np.vstack((side, np.column_stack((x.ravel(), y.ravel(), np.zeros(x.size)))))
    blockers = [((-2.0, -0.9, -0.1), (2.0, 0.89, 1.5))]
    if wall:
        blockers.append(((0.5, 4.9, -0.1), (4.0, 5.1, 2.5)))
        wx, wz = np.meshgrid(np.arange(0.5, 4.0, 0.1), np.arange(0.1, 2.5, 0.1))
        pts = np.vstack((pts, np.column_stack((wx.ravel(), np.full(wx.size, 4.85), wz.ravel()))))
    keep = np.ones(len(pts), bool)
    d = pts - origin
    for lo, hi in blockers:  # the ray enters the blocker before reaching the point
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (np.asarray(lo) - origin) / d, (np.asarray(hi) - origin) / d
        t_in = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf).max(axis=1)
        t_out = np.nan_to_num(np.maximum(t1, t2), nan=np.inf).min(axis=1)
        keep &= ~((t_in <= t_out) & (t_in < 1.0 - 1e-9) & (t_out > 0.0))
    return pts[keep], origin


@pytest.mark.parametrize("wall, expected_length", [(False, 4.0), (True, 4.5)])
def test_a_box_shrinks_only_where_the_sensor_saw_it_empty(wall: bool, expected_length: float) -> None:
    pts, origin = side_view_scene(wall)
    too_long = Box3D((0.0, 0.0, 0.75), (5.0, 1.8, 1.5), 0.0)  # 0.5 m too long at both ends
    t = Track(0, "car", keyframes={0: too_long, 1: too_long}, end=1)
    size = estimate_track_size(t, lambda f: pts, origin_at=lambda f: origin)
    # without the wall both ends were seen empty; with it the front end stays as labelled
    assert size[0] == pytest.approx(expected_length, abs=0.12)
    assert size[1] == pytest.approx(1.8)  # the far side was never seen: the labeler's width
    # without a sensor position nothing shrinks by more than the tolerance
    assert estimate_track_size(t, lambda f: pts)[0] == pytest.approx(4.9)


# ---- QA sees tracked and held boxes --------------------------------------------------------------
def test_qa_checks_and_sampling_see_tracked_boxes() -> None:
    from fusionlabel.qa.checks import run_checks
    from fusionlabel.qa.sampling import frame_risks

    odd = car(6.0, size=(9.0, 1.9, 1.6))  # a tracked box of an impossible size
    doc = AnnotationDocument.from_tracks([
        Track(0, "car", keyframes={0: car(0.0)}, end=N - 1, tracked={5: car(5.0), 6: odd, 7: car(7.0)},
              tracked_confidence={5: 0.9, 6: 0.2, 7: 0.9}),
    ], N)
    findings = run_checks(doc).findings
    assert any(f.check == "size_range" and f.frame == 6 for f in findings)
    assert any(f.check == "size_change" and f.frame == 6 for f in findings)
    risks = frame_risks(doc)
    assert any("low tracking confidence 0.20" in r for r in risks[6][1])
    assert 5 not in risks  # a confident tracked box is no risk
    assert any("interpolated" in r for r in risks[20][1])  # held far from any placed box


def test_interpolate_document_counts_each_state() -> None:
    from fusionlabel.trackops import interpolate_document

    doc = make_doc()  # track 0: keyframes 0, 5; tracked 7, 9; held 10..29; track 1: one keyframe
    report = interpolate_document(doc, "smooth")
    assert (report.keyframes, report.tracked, report.held) == (3, 2, N - 10)
    assert report.interpolated == 4 + 2  # 1..4 between the keyframes; 6 and 8 next to tracked boxes
