"""Commands and UndoStack, without Qt: exact revert, redo, groups, nudge merging, clean state,
failure rollback, interpolated boxes after undo, and random command sequences."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from fusionlabel.box import Box3D
from fusionlabel.commands import (
    Command,
    CommandGroup,
    CreateTrack,
    DeleteTrack,
    RemoveKeyframe,
    SetAttribute,
    SetKeyframe,
    SetLabel,
    SetReview,
    UndoStack,
)
from fusionlabel.document import AnnotationDocument, Review
from fusionlabel.errors import ModelError

N_FRAMES = 30


def car(x: float, y: float = 0.0, yaw: float = 0.0, length: float = 4.2) -> Box3D:
    return Box3D((x, y, 0.8), (length, 1.8, 1.6), yaw)


def populated() -> tuple[AnnotationDocument, UndoStack]:
    doc = AnnotationDocument(frame_count=N_FRAMES)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, car(0.0), attributes={"parked": "no"}))
    stack.push(SetKeyframe(0, 10, car(10.0, 2.0, 0.5)))
    stack.push(SetKeyframe(0, 20, car(15.0, 6.0, 3.0, length=4.6)))
    stack.push(CreateTrack("pedestrian", 5, Box3D((2, 5, 0.9), (0.6, 0.6, 1.8), 1.0)))
    stack.push(SetReview.make(10, "accepted", track_id=0, who="qa", when=1))
    stack.push(SetReview.make(12, "rejected", comment="blurry", when="2026-11-22T00:00:00Z"))
    stack.clear()
    return doc, stack


def all_boxes(doc: AnnotationDocument) -> dict[tuple[int, int], Box3D | None]:
    return {(tid, f): doc.track(tid).box_at(f) for tid in doc.track_ids() for f in range(N_FRAMES)}


COMMANDS = {
    "create": lambda: CreateTrack("cyclist", 3, car(1.0, 1.0), attributes={"a": "b"}),
    "create_with_id": lambda: CreateTrack("cyclist", 3, car(1.0, 1.0), track_id=42),
    "delete": lambda: DeleteTrack(0),
    "add_keyframe": lambda: SetKeyframe(0, 15, car(11.0, 3.0, 1.0)),
    "replace_keyframe": lambda: SetKeyframe(0, 10, car(9.0, 1.0, -0.5)),
    "extend_track": lambda: SetKeyframe(1, 9, car(3.0, 5.0)),
    "remove_inner_keyframe": lambda: RemoveKeyframe(0, 10),
    "remove_last_keyframe": lambda: RemoveKeyframe(0, 20),
    "label": lambda: SetLabel(1, "child"),
    "attribute_set": lambda: SetAttribute(0, "parked", "yes"),
    "attribute_new": lambda: SetAttribute(1, "age", "adult"),
    "attribute_remove": lambda: SetAttribute(0, "parked", None),
    "review_box": lambda: SetReview.make(10, "rejected", track_id=0, comment="too long", who="b", when=2),
    "review_box_new": lambda: SetReview.make(3, "accepted", track_id=0, when=3),
    "review_frame": lambda: SetReview.make(12, "accepted", when=4),
    "review_clear": lambda: SetReview(10, None, track_id=0),
    "group": lambda: CommandGroup(
        "several", [SetLabel(0, "van"), SetKeyframe(0, 4, car(3.0)), DeleteTrack(1)]
    ),
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_apply_revert_restores_exactly_and_redo_reapplies(name: str) -> None:
    doc, stack = populated()
    before, boxes_before = doc.to_dict(), all_boxes(doc)
    stack.push(COMMANDS[name]())
    after, boxes_after = doc.to_dict(), all_boxes(doc)
    assert after != before
    assert stack.undo_text and stack.can_undo and not stack.can_redo
    assert stack.undo()
    assert doc.to_dict() == before and all_boxes(doc) == boxes_before
    assert stack.redo_text and stack.redo()
    assert doc.to_dict() == after and all_boxes(doc) == boxes_after
    stack.undo()
    assert doc.to_dict() == before


def test_undo_of_keyframe_edit_restores_every_interpolated_box() -> None:
    doc, stack = populated()
    before = {f: doc.track(0).box_at(f) for f in range(N_FRAMES)}
    stack.push(SetKeyframe(0, 10, car(5.0, -3.0, -2.0, length=3.0)))  # moves frames 1..19
    changed = [f for f in range(N_FRAMES) if doc.track(0).box_at(f) != before[f]]
    assert changed == list(range(1, 20))
    stack.push(SetKeyframe(0, 25, car(20.0)))  # extends the track
    stack.push(RemoveKeyframe(0, 20))
    stack.undo()
    stack.undo()
    stack.undo()
    assert {f: doc.track(0).box_at(f) for f in range(N_FRAMES)} == before


def test_create_track_picks_a_fresh_id_and_keeps_it_for_redo() -> None:
    doc, stack = populated()
    cmd = stack.push(CreateTrack("truck", 7, car(30.0)))
    assert cmd.track_id == 2 and doc.track(2).label == "truck"
    stack.undo()
    assert 2 not in doc
    stack.redo()
    assert doc.track(2).keyframes == {7: car(30.0)}


def test_numpy_integers_are_accepted_as_ids_and_frames() -> None:
    doc, stack = populated()
    stack.push(CreateTrack("truck", np.int64(4), car(30.0), track_id=np.int64(7)))
    stack.push(SetKeyframe(np.int32(7), np.int64(8), car(31.0)))
    stack.push(SetReview.make(np.int64(6), "accepted", track_id=np.int64(7), when=0))
    d = doc.to_dict()
    assert d["tracks"][-1]["id"] == 7 and set(d["tracks"][-1]["keyframes"]) == {"4", "8"}
    assert json.loads(json.dumps(d)) == d
    assert all(type(f) is int for f in doc.track(7).keyframes)


def test_delete_track_restores_its_reviews() -> None:
    doc, stack = populated()
    assert doc.box_review(0, 10).status == "accepted"
    stack.push(DeleteTrack(0))
    assert doc.box_reviews() == {}
    stack.undo()
    assert doc.box_review(0, 10) == Review("accepted", "", "qa", 1)


FAILING = {
    "unknown track": (lambda: SetKeyframe(9, 1, car(0)), "no track with id 9"),
    "frame outside": (lambda: SetKeyframe(0, N_FRAMES, car(0)), f"frame {N_FRAMES} is outside"),
    "not a box": (lambda: SetKeyframe(0, 3, (1, 2, 3)), "expected a Box3D"),
    "duplicate id": (lambda: CreateTrack("car", 1, car(0), track_id=1), "track id 1 already exists"),
    "empty label": (lambda: SetLabel(0, " "), "label must be a non-empty string"),
    "only keyframe": (lambda: RemoveKeyframe(1, 5), "only keyframe"),
    "no keyframe": (lambda: RemoveKeyframe(0, 3), "no keyframe at frame 3"),
    "bad attribute": (lambda: SetAttribute(0, "", "x"), "attribute name"),
    "review without box": (lambda: SetReview.make(25, "accepted", track_id=0), "no box at frame 25"),
    "bad interpolation": (lambda: CreateTrack("car", 0, car(0), interpolation="cubic"), "interpolation"),
    "group fails late": (
        lambda: CommandGroup("g", [SetLabel(0, "van"), DeleteTrack(1), SetKeyframe(1, 2, car(0))]),
        "no track with id 1",
    ),
}


@pytest.mark.parametrize("name", sorted(FAILING))
def test_failing_command_leaves_the_document_and_stack_unchanged(name: str) -> None:
    doc, stack = populated()
    stack.push(SetLabel(0, "van"))
    before, steps = doc.to_dict(), stack.steps()
    make, message = FAILING[name]
    with pytest.raises(ModelError, match=message):
        stack.push(make())
    assert doc.to_dict() == before and stack.steps() == steps
    stack.undo()
    assert doc.track(0).label == "car"


def test_group_is_one_step_and_nested_groups_fold_into_the_outer() -> None:
    doc, stack = populated()
    before = doc.to_dict()
    with stack.group("Move two boxes"):
        stack.push(SetKeyframe(0, 10, car(11.0)))
        assert stack.in_group and not stack.can_undo and not stack.is_clean
        with stack.group("inner"):
            stack.push(SetKeyframe(1, 5, Box3D((2, 6, 0.9), (0.6, 0.6, 1.8), 1.0)))
            stack.push(SetLabel(1, "child"))
    after = doc.to_dict()
    assert stack.steps() == ["Move two boxes"] and stack.undo_text == "Move two boxes"
    stack.undo()
    assert doc.to_dict() == before
    stack.redo()
    assert doc.to_dict() == after
    with stack.group("nothing"):
        pass
    assert len(stack) == 1


def test_exception_in_group_rolls_back_and_propagates() -> None:
    doc, stack = populated()
    before = doc.to_dict()
    with pytest.raises(ModelError), stack.group("bad"):
        stack.push(SetLabel(0, "van"))
        stack.push(DeleteTrack(1))
        stack.push(SetLabel(1, "x"))  # track 1 is gone
    assert doc.to_dict() == before and len(stack) == 0 and not stack.in_group
    # an inner group's failure caught inside the outer one only drops the inner part
    with stack.group("outer"):
        stack.push(SetLabel(0, "van"))
        with pytest.raises(RuntimeError, match="boom"), stack.group("inner"):
            stack.push(SetLabel(1, "child"))
            raise RuntimeError("boom")
    assert doc.track(0).label == "van" and doc.track(1).label == "pedestrian"
    assert stack.steps() == ["outer"]
    stack.undo()
    assert doc.to_dict() == before


def test_undo_redo_refused_inside_a_group() -> None:
    _, stack = populated()
    with stack.group("g"):
        with pytest.raises(RuntimeError, match="inside an open command group"):
            stack.undo()
        with pytest.raises(RuntimeError):
            stack.mark_clean()


def test_consecutive_nudges_with_a_merge_key_merge_into_one_step() -> None:
    doc, stack = populated()
    before = doc.to_dict()
    box = doc.track(0).keyframes[10]
    for i in range(1, 6):
        stack.push(SetKeyframe(0, 10, box.replace(center=(10.0 + 0.1 * i, 2.0, 0.8)), merge_key="nudge"))
    assert len(stack) == 1 and doc.track(0).keyframes[10].center[0] == pytest.approx(10.5)
    final = doc.to_dict()
    stack.undo()
    assert doc.to_dict() == before
    stack.redo()
    assert doc.to_dict() == final
    # after a redo (or break_merge) the next nudge is a new step
    stack.push(SetKeyframe(0, 10, box.replace(yaw=0.6), merge_key="nudge"))
    assert len(stack) == 2
    stack.break_merge()
    stack.push(SetKeyframe(0, 10, box.replace(yaw=0.7), merge_key="nudge"))
    assert len(stack) == 3
    # another box, another key or no key: no merge
    stack.push(SetKeyframe(0, 20, car(16.0), merge_key="nudge"))
    stack.push(SetKeyframe(0, 20, car(17.0), merge_key="rotate"))
    stack.push(SetKeyframe(0, 20, car(18.0)))
    stack.push(SetKeyframe(0, 20, car(19.0)))
    assert len(stack) == 7
    stack.undo_all()
    assert doc.to_dict() == before


def test_clean_state_tracking() -> None:
    doc, stack = populated()
    changes: list[int] = []
    stack.subscribe(lambda: changes.append(len(stack)))
    assert stack.is_clean
    stack.push(SetLabel(0, "van"))
    assert not stack.is_clean
    stack.mark_clean()
    assert stack.is_clean
    stack.push(SetLabel(0, "bus"))
    assert not stack.is_clean
    stack.undo()
    assert stack.is_clean
    stack.undo()
    assert not stack.is_clean
    stack.redo()
    assert stack.is_clean
    # a nudge never merges into the saved step
    stack.push(SetKeyframe(0, 10, car(1.0), merge_key="n"))
    stack.mark_clean()
    stack.push(SetKeyframe(0, 10, car(2.0), merge_key="n"))
    assert not stack.is_clean and len(stack) == 3
    stack.undo()
    assert stack.is_clean
    # dropping the redo branch that holds the saved state makes it unreachable
    stack.undo()
    stack.push(SetLabel(0, "tram"))
    assert not stack.is_clean
    stack.undo_all()
    assert not stack.is_clean
    assert changes  # listeners were told


def test_size_limit_drops_the_oldest_steps() -> None:
    doc, stack = populated()
    stack = UndoStack(doc, limit=3)
    for i in range(5):
        stack.push(SetAttribute(0, "n", str(i)))
    assert len(stack) == 3 and stack.steps()[0] == "Set attribute n of track 0"
    assert stack.undo_all() == 3 and doc.track(0).attributes["n"] == "1"
    assert not stack.is_clean  # the saved (initial) state fell off the stack
    with pytest.raises(ValueError, match="limit"):
        UndoStack(doc, limit=0)


def test_undo_redo_on_empty_stack() -> None:
    stack = UndoStack(AnnotationDocument())
    assert not stack.undo() and not stack.redo()
    assert stack.undo_text == "" and stack.redo_text == ""
    assert repr(Command()) == "<Command: edit>"


# ---- random command sequences ------------------------------------------------------------------
def random_box(data: st.DataObject) -> Box3D:
    f = st.floats(-20, 20, allow_nan=False)
    return Box3D(
        (data.draw(f), data.draw(f), data.draw(st.floats(0, 2))),
        (data.draw(st.floats(0.5, 6)), data.draw(st.floats(0.5, 3)), data.draw(st.floats(0.5, 3))),
        data.draw(st.floats(-math.pi, math.pi)),
    )


def random_command(data: st.DataObject, doc: AnnotationDocument) -> Command:
    """A command that is usually valid for ``doc`` (sometimes not, on purpose)."""
    ids = doc.track_ids() + [99]
    tid = data.draw(st.sampled_from(ids))
    frame = data.draw(st.integers(0, 11))
    kind = data.draw(
        st.sampled_from(
            ["create", "delete", "key", "nudge", "nudge", "unkey", "label", "attr", "review", "group"]
        )
    )
    if kind == "create":
        return CreateTrack(data.draw(st.sampled_from(["car", "van"])), frame, random_box(data))
    if kind == "delete":
        return DeleteTrack(tid)
    if kind == "key":
        return SetKeyframe(tid, frame, random_box(data))
    if kind == "nudge":  # always the same box, so that consecutive nudges merge
        return SetKeyframe(ids[0], 1, random_box(data), merge_key="nudge")
    if kind == "unkey":
        return RemoveKeyframe(tid, frame)
    if kind == "label":
        return SetLabel(tid, data.draw(st.sampled_from(["car", "truck", ""])))
    if kind == "attr":
        return SetAttribute(tid, "occluded", data.draw(st.sampled_from(["0", "1", None])))
    if kind == "review":
        target = data.draw(st.sampled_from([tid, None]))
        status = data.draw(st.sampled_from(["accepted", "rejected", "unreviewed"]))
        return SetReview.make(frame, status, track_id=target, when=7)
    n = data.draw(st.integers(1, 3))
    return CommandGroup("group", [random_command(data, doc) for _ in range(n)])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_sequences_undo_redo_consistently(data: st.DataObject) -> None:
    doc = AnnotationDocument(frame_count=12)
    stack = UndoStack(doc)
    history = [doc.to_dict()]  # history[i]: the document after i steps
    for _ in range(data.draw(st.integers(1, 25))):
        action = data.draw(st.sampled_from(["push", "push", "push", "undo", "redo", "break"]))
        if action == "undo":
            stack.undo()
        elif action == "redo":
            stack.redo()
        elif action == "break":
            stack.break_merge()
        else:
            before, n = doc.to_dict(), len(stack)
            try:
                stack.push(random_command(data, doc))
            except ModelError:
                assert doc.to_dict() == before and len(stack) == n
                continue
            del history[n + 1 :]
            event("push ok")
            if len(stack) == n:  # merged into the previous step
                event("merged")
                history[n] = doc.to_dict()
            else:
                history.append(doc.to_dict())
        assert doc.to_dict() == history[len(stack)]
    while stack.redo():
        assert doc.to_dict() == history[len(stack)]
    while stack.undo():
        assert doc.to_dict() == history[len(stack)]
    assert doc.to_dict() == history[0]
    assert AnnotationDocument.from_dict(history[-1]).to_dict() == history[-1]
