"""Interpolation through the document: undo of keyframe edits restores every interpolated box,
change events cover every moved box (smooth reaches two keyframes out), gaps in to_dict/from_dict,
frame timestamps."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, RemoveKeyframe, SetKeyframe, UndoStack
from fusionlabel.document import DOCUMENT_VERSION, AnnotationDocument, DocumentEvent
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.trackops import SetGap

N = 60


def car(x: float, y: float = 0.0, yaw: float = 0.0) -> Box3D:
    return Box3D((x, y, 0.8), (4.5, 1.9, 1.6), yaw)


def turning_doc(method: str = "smooth") -> tuple[AnnotationDocument, UndoStack]:
    doc = AnnotationDocument(frame_count=N)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, car(0.0), interpolation=method))
    for k in range(10, 51, 10):
        a = (k / 50) * math.pi / 2
        stack.push(SetKeyframe(0, k, car(20 * math.sin(a) + k * 0.2, 20 * (1 - math.cos(a)), a)))
    stack.clear()
    return doc, stack


def all_boxes(doc: AnnotationDocument) -> list[Box3D | None]:
    return [doc.track(0).box_at(f) for f in range(N)]


@pytest.mark.parametrize("method", ["linear", "smooth"])
def test_undo_of_a_keyframe_edit_restores_every_interpolated_box(method: str) -> None:
    doc, stack = turning_doc(method)
    before = all_boxes(doc)
    refs_before = [doc.boxes_at(f) for f in range(N)]
    stack.push(SetKeyframe(0, 30, car(12.0, 9.0, 1.2)))
    after = all_boxes(doc)
    changed = [f for f in range(N) if after[f] != before[f]]
    reach = range(21, 40) if method == "linear" else range(11, 50)
    assert changed and set(changed) <= set(reach)
    if method == "smooth":  # the tangents of the neighbouring keyframes move their far segments too
        assert min(changed) < 20 and max(changed) > 40
    stack.push(SetKeyframe(0, 35, car(15.0, 11.0, 1.3)))
    stack.push(RemoveKeyframe(0, 40))
    while stack.undo():
        pass
    assert all_boxes(doc) == before
    assert [doc.boxes_at(f) for f in range(N)] == refs_before
    assert all(r.is_keyframe == (f % 10 == 0) for f in range(N) for r in doc.boxes_at(f))


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["linear", "smooth"]),
    st.lists(st.tuples(st.sampled_from(["set", "remove"]), st.integers(0, N - 1), st.floats(-20, 20)), max_size=6),
)
def test_change_events_cover_every_moved_box(method: str, edits: list[tuple[str, int, float]]) -> None:
    doc, stack = turning_doc(method)
    events: list[DocumentEvent] = []
    doc.subscribe(events.append)
    for op, frame, v in edits:
        before = all_boxes(doc)
        events.clear()
        try:
            if op == "set":
                stack.push(SetKeyframe(0, frame, car(v, v / 2, v / 10)))
            else:
                stack.push(RemoveKeyframe(0, frame))
        except ModelError:
            continue
        moved = {f for f, (a, b) in enumerate(zip(before, all_boxes(doc), strict=True)) if a != b}
        assert moved <= {f for e in events for f in e.frames}


def test_gaps_survive_to_dict_from_dict_and_json() -> None:
    doc, stack = turning_doc()
    stack.push(SetGap(0, 22, 27))
    d = doc.to_dict()
    assert d["version"] == DOCUMENT_VERSION == 1
    assert d["tracks"][0]["gaps"] == [[22, 27]]
    back = AnnotationDocument.from_dict(json.loads(json.dumps(d)))
    assert back.track(0).gaps == ((22, 27),)
    assert [back.track(0).box_at(f) for f in range(N)] == all_boxes(doc)
    assert all(back.track(0).box_at(f) is None for f in range(22, 28))
    assert back.to_dict() == d


def test_documents_without_gaps_keep_the_original_layout() -> None:
    doc, _ = turning_doc()
    d = doc.to_dict()
    assert set(d["tracks"][0]) == {"id", "label", "attributes", "interpolation", "keyframes"}
    # an older file without the key reads back with no gaps
    assert AnnotationDocument.from_dict(d).track(0).gaps == ()


@pytest.mark.parametrize(
    ("gaps", "msg"),
    [
        ("x", "'gaps' must be a list"),
        ([[3, 1]], "track 0: gaps: a gap needs"),
        ([[1.0, 2]], "track 0: gaps: gap frames must be integers"),
        ([[1, 2, 3]], "track 0: gaps: a gap must be a"),
        ([[1, 99]], "frame 99 is outside"),
    ],
)
def test_bad_gaps_are_refused_with_the_track_named(gaps: object, msg: str) -> None:
    doc, _ = turning_doc()
    d = doc.to_dict()
    d["tracks"][0]["gaps"] = gaps
    with pytest.raises(ModelError, match=msg):
        AnnotationDocument.from_dict(d)


def test_unknown_track_key_is_still_refused() -> None:
    doc, _ = turning_doc()
    d = doc.to_dict()
    d["tracks"][0]["gapz"] = []
    with pytest.raises(ModelError, match="unknown key 'gapz'"):
        AnnotationDocument.from_dict(d)


def test_from_tracks_copies_gaps_and_method() -> None:
    t = Track(3, "car", keyframes={0: car(0.0), 10: car(10.0)}, interpolation="linear", gaps=[(4, 5)])
    doc = AnnotationDocument.from_tracks([t], frame_count=20)
    assert doc.track(3).gaps == ((4, 5),) and doc.track(3).interpolation == "linear"
    assert doc.track(3) is not t and doc.num_boxes() == 2  # one keyframe each side of the gap


def test_document_frame_times_drive_the_boxes() -> None:
    doc = AnnotationDocument(frame_count=11)
    UndoStack(doc).push(CreateTrack("car", 0, car(0.0), interpolation="linear"))
    UndoStack(doc).push(SetKeyframe(0, 10, car(10.0)))
    assert doc.box_at(0, 5).box.center[0] == pytest.approx(5.0)  # type: ignore[union-attr]
    times = [int(1e8) * f for f in range(11)]
    times[5] = int(5.8e8)
    events: list[DocumentEvent] = []
    doc.subscribe(events.append)
    doc.set_frame_times(times)
    assert doc.frame_times_ns == tuple(times) and events[-1].kind == "track_changed"
    assert doc.box_at(0, 5).box.center[0] == pytest.approx(5.8)  # type: ignore[union-attr]
    assert doc.boxes_at(5)[0].box.center[0] == pytest.approx(5.8)
    doc.set_frame_times(None)
    assert doc.box_at(0, 5).box.center[0] == pytest.approx(5.0)  # type: ignore[union-attr]
    for bad, msg in (([0] * 11, "increase"), (times[:5], "5 given for 11"), ([0.5] * 11, "integer")):
        with pytest.raises(ModelError, match=msg):
            doc.set_frame_times(bad)
    assert AnnotationDocument(frame_count=11, frame_times_ns=dict(enumerate(times))).frame_times_ns == tuple(times)
