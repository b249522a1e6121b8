"""Track operations as undoable commands: make keyframe, method, gaps, split, merge, change id,
delete from a frame on, interpolate_document."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionlabel.box import Box3D
from fusionlabel.commands import Command, CreateTrack, SetKeyframe, SetReview, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.trackops import (
    ChangeTrackId,
    DeleteFromFrame,
    MakeKeyframe,
    MergeTracks,
    RemoveGap,
    SetGap,
    SetInterpolation,
    SplitTrack,
    interpolate_document,
)

N = 50


def car(x: float, y: float = 0.0, yaw: float = 0.0) -> Box3D:
    return Box3D((x, y, 0.8), (4.5, 1.9, 1.6), yaw)


def populated() -> tuple[AnnotationDocument, UndoStack]:
    """Track 0: a car turning, keyframes 0..40 every 10; track 1: a pedestrian 5..15."""
    doc = AnnotationDocument(frame_count=N)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, car(0.0), attributes={"color": "red"}))
    for k in (10, 20, 30, 40):
        a = k / 40 * math.pi / 2
        stack.push(SetKeyframe(0, k, car(25 * math.sin(a), 25 * (1 - math.cos(a)), a)))
    stack.push(CreateTrack("pedestrian", 5, Box3D((3, 3, 0.9), (0.6, 0.6, 1.8), 1.0)))
    stack.push(SetKeyframe(1, 15, Box3D((5, 4, 0.9), (0.6, 0.6, 1.8), 1.1)))
    stack.push(SetReview.make(13, "accepted", track_id=0, when=1))
    stack.push(SetReview.make(33, "rejected", track_id=0, when=2))
    stack.clear()
    return doc, stack


def boxes(doc: AnnotationDocument) -> dict[tuple[int, int], Box3D]:
    return {(r.track_id, f): r.box for f in range(N) for r in doc.boxes_at(f)}


def check_undo_redo(doc: AnnotationDocument, stack: UndoStack, cmd: object) -> None:
    before, b_before = doc.to_dict(), boxes(doc)
    stack.push(cmd)  # type: ignore[arg-type]
    after, b_after = doc.to_dict(), boxes(doc)
    assert after != before
    stack.undo()
    assert doc.to_dict() == before and boxes(doc) == b_before
    stack.redo()
    assert doc.to_dict() == after and boxes(doc) == b_after


def test_make_keyframe_here() -> None:
    doc, stack = populated()
    ref = doc.box_at(0, 13)
    assert ref is not None and not ref.is_keyframe
    check_undo_redo(doc, stack, MakeKeyframe(0, 13))
    now = doc.box_at(0, 13)
    assert now is not None and now.is_keyframe and now.box == ref.box
    with pytest.raises(ModelError, match="already has a keyframe"):
        stack.push(MakeKeyframe(0, 13))
    with pytest.raises(ModelError, match="no box at frame 45"):
        stack.push(MakeKeyframe(0, 45))


def test_set_interpolation() -> None:
    doc, stack = populated()
    check_undo_redo(doc, stack, SetInterpolation(0, "linear"))
    assert doc.track(0).interpolation == "linear"
    assert doc.box_review(0, 13).status == "accepted"  # reviews follow
    with pytest.raises(ModelError, match="already uses linear"):
        stack.push(SetInterpolation(0, "linear"))
    with pytest.raises(ModelError, match="unknown interpolation"):
        SetInterpolation(0, "bezier")


def test_split_materialises_both_sides_and_moves_reviews() -> None:
    doc, stack = populated()
    shown = boxes(doc)
    cmd = SplitTrack(0, 25)
    check_undo_redo(doc, stack, cmd)
    new = cmd.new_track_id
    assert new == 2
    head, tail = doc.track(0), doc.track(2)
    assert head.span() == (0, 24) and tail.span() == (25, 40)
    assert head.keyframes[24] == shown[(0, 24)] and tail.keyframes[25] == shown[(0, 25)]
    assert tail.label == "car" and tail.attributes == {"color": "red"}
    assert doc.box_review(0, 13).status == "accepted" and doc.box_review(2, 33).status == "rejected"
    assert doc.box_review(0, 33).status == "unreviewed"
    for bad in (SplitTrack(0, 0), SplitTrack(0, 45)):
        with pytest.raises(ModelError, match="cannot split"):
            stack.push(bad)
    with pytest.raises(ModelError, match="already exists"):
        stack.push(SplitTrack(0, 10, new_track_id=1))


def test_merge_two_tracks_with_a_gap_between() -> None:
    doc, stack = populated()
    stack.push(SplitTrack(0, 25))
    stack.push(SetGap(2, 25, 29))  # the tail now starts at 30
    assert doc.track(2).span()[0] == 30  # type: ignore[index]
    check_undo_redo(doc, stack, MergeTracks(0, 2))
    merged = doc.track(0)
    assert 2 not in doc and merged.span() == (0, 40)
    assert merged.gaps == ((25, 29),)
    assert all(doc.box_at(0, f) is None for f in range(25, 30))
    assert doc.box_review(0, 33).status == "rejected"
    stack.undo()
    bridged = MergeTracks(0, 2, bridge=True)
    stack.push(bridged)
    assert doc.track(0).gaps == () and all(doc.box_at(0, f) is not None for f in range(41))
    stack.undo()
    # a gap that marked the object absent after its first track ended does not hide the second
    stack.push(SetGap(0, 25, 49))
    stack.push(MergeTracks(0, 2))
    assert doc.track(0).gaps == ((25, 29), (41, 49)) and all(doc.box_at(0, f) is not None for f in range(30, 41))
    stack.undo()
    stack.undo()
    with pytest.raises(ModelError, match="spans overlap"):
        stack.push(MergeTracks(0, 1))
    with pytest.raises(ModelError, match="itself"):
        stack.push(MergeTracks(0, 0))


def test_change_track_id() -> None:
    doc, stack = populated()
    shown = boxes(doc)
    check_undo_redo(doc, stack, ChangeTrackId(0, 7))
    assert 0 not in doc and doc.track(7).label == "car"
    assert {(7 if t == 0 else t, f): b for (t, f), b in shown.items()} == boxes(doc)
    assert doc.box_review(7, 13).status == "accepted"
    with pytest.raises(ModelError, match="already exists"):
        stack.push(ChangeTrackId(7, 1))


def test_delete_from_frame_on() -> None:
    doc, stack = populated()
    shown = boxes(doc)
    check_undo_redo(doc, stack, DeleteFromFrame(0, 23))
    t = doc.track(0)
    assert t.span() == (0, 22) and t.keyframes[22] == shown[(0, 22)]
    assert doc.box_review(0, 33).status == "unreviewed" and doc.box_review(0, 13).status == "accepted"
    assert all(boxes(doc)[(0, f)] == shown[(0, f)] for f in range(0, 23) if f <= 10 or f == 22 or f == 20)
    stack.push(DeleteFromFrame(1, 0))  # everything: the track goes
    assert 1 not in doc
    stack.undo()
    assert 1 in doc
    with pytest.raises(ModelError, match="no box from frame 30"):
        stack.push(DeleteFromFrame(1, 30))


def test_set_and_remove_a_gap() -> None:
    doc, stack = populated()
    shown = boxes(doc)
    check_undo_redo(doc, stack, SetGap(0, 12, 27))
    t = doc.track(0)
    assert t.gaps == ((12, 27),) and 20 not in t.keyframes
    assert t.keyframes[11] == shown[(0, 11)] and t.keyframes[28] == shown[(0, 28)]
    assert [f for f in range(N) if doc.box_at(0, f) is None] == [*range(12, 28), *range(41, N)]
    assert doc.box_review(0, 13).status == "unreviewed"  # no box, no review (until undo)
    assert 0 in {r.track_id for r in doc.boxes_at(11)} and 0 not in {r.track_id for r in doc.boxes_at(12)}
    check_undo_redo(doc, stack, RemoveGap(0, 15, 20))
    assert doc.track(0).gaps == ((12, 14), (21, 27))
    with pytest.raises(ModelError, match="no gap"):
        stack.push(RemoveGap(0, 30, 35))
    stack.push(RemoveGap(0, 0, N - 1))
    assert doc.track(0).gaps == () and all(doc.box_at(0, f) is not None for f in range(41))
    with pytest.raises(ModelError, match="without a box"):
        stack.push(SetGap(1, 0, 30))
    with pytest.raises(ModelError, match="already has a gap"):
        stack.push(SetGap(0, 0, 10))
        stack.push(SetGap(0, 3, 5))


def test_refused_operations_leave_the_document_unchanged() -> None:
    doc, stack = populated()
    before = doc.to_dict()
    for cmd in (SplitTrack(5, 3), MergeTracks(0, 9), ChangeTrackId(0, -1), SetGap(0, 30, 20), DeleteFromFrame(0, 99)):
        with pytest.raises(ModelError):
            stack.push(cmd)
        assert doc.to_dict() == before
    assert len(stack) == 0


def test_interpolate_document_for_the_cli() -> None:
    doc, stack = populated()
    stack.push(SetGap(0, 12, 14))
    report = interpolate_document(doc, "linear", stack=stack)
    assert report.method == "linear" and report.tracks == 2 and report.changed == [0, 1]
    assert report.keyframes == len(doc.track(0).keyframes) + 2
    assert report.interpolated == doc.num_boxes() - doc.num_keyframes()
    assert report.gap_frames == 3
    assert all(t.interpolation == "linear" for t in doc.tracks.values())
    assert stack.undo_text == "Interpolate 2 tracks linear"
    stack.undo()
    assert all(t.interpolation == "smooth" for t in doc.tracks.values())
    again = interpolate_document(doc, "smooth")  # nothing to change: no step
    assert again.changed == [] and again.tracks == 2
    only = interpolate_document(doc, "linear", track_ids=[1])
    assert only.changed == [1] and doc.track(0).interpolation == "smooth"
    with pytest.raises(ModelError, match="unknown interpolation"):
        interpolate_document(doc, "cubic")


def make_op(name: str, tid: int, frame: int, k: int) -> Command:
    """One track operation from drawn numbers (it may well be refused)."""
    if name == "make":
        return MakeKeyframe(tid, frame)
    if name == "method":
        return SetInterpolation(tid, "linear" if k % 2 else "smooth")
    if name == "gap":
        return SetGap(tid, frame, min(N - 1, frame + k))
    if name == "ungap":
        return RemoveGap(tid, frame, frame + k)
    if name == "split":
        return SplitTrack(tid, frame)
    if name == "merge":
        return MergeTracks(tid, k % 4, bridge=bool(k % 2))
    if name == "id":
        return ChangeTrackId(tid, 10 + k)
    if name == "delete_from":
        return DeleteFromFrame(tid, frame)
    return SetKeyframe(tid, frame, car(frame * 0.5, k * 0.3, k * 0.1))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["make", "method", "gap", "ungap", "split", "merge", "id", "delete_from", "key"]),
            st.integers(0, 3),
            st.integers(0, N - 1),
            st.integers(0, 12),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_random_operation_sequences_undo_and_redo_exactly(ops: list[tuple[str, int, int, int]]) -> None:
    doc, stack = populated()
    start, start_boxes = doc.to_dict(), boxes(doc)
    states = []
    for name, tid, frame, k in ops:
        cmd = make_op(name, tid, frame, k)
        try:
            stack.push(cmd)
        except ModelError:
            continue
        states.append((doc.to_dict(), boxes(doc)))
    for state in reversed(states):
        assert (doc.to_dict(), boxes(doc)) == state
        stack.undo()
    assert doc.to_dict() == start and boxes(doc) == start_boxes
    for state in states:
        stack.redo()
        assert (doc.to_dict(), boxes(doc)) == state
