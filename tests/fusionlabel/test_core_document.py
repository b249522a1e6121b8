"""AnnotationDocument: read API, events, review state, strict versioned to_dict/from_dict."""

from __future__ import annotations

import copy
import json
import logging

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, SetReview, UndoStack
from fusionlabel.document import AnnotationDocument, BoxRef, DocumentEvent, Review
from fusionlabel.errors import ModelError
from fusionlabel.model import Track


def car(x: float, yaw: float = 0.0) -> Box3D:
    return Box3D((x, 0.0, 0.8), (4.2, 1.8, 1.6), yaw)


def sample_doc() -> tuple[AnnotationDocument, UndoStack]:
    doc = AnnotationDocument(frame_count=20)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 2, car(0.0), attributes={"occluded": "no"}))
    stack.push(SetKeyframe(0, 6, car(4.0, 0.4)))
    stack.push(CreateTrack("pedestrian", 5, Box3D((3, 3, 0.9), (0.6, 0.6, 1.8), 1.0)))
    stack.push(
        SetReview.make(4, "accepted", track_id=0, comment="ok", who="qa1", when="2026-11-22T00:30:00Z")
    )
    stack.push(SetReview.make(5, "rejected", comment="missing cyclist", who="qa2", when=123))
    return doc, stack


def test_read_api() -> None:
    doc, _ = sample_doc()
    assert doc.track_ids() == [0, 1] and len(doc) == 2 and 0 in doc
    assert doc.new_track_id() == 2
    assert doc.track(0).label == "car"
    with pytest.raises(ModelError, match="no track with id 7"):
        doc.track(7)
    refs = doc.boxes_at(5)
    assert [(r.track_id, r.label, r.is_keyframe) for r in refs] == [
        (0, "car", False),
        (1, "pedestrian", True),
    ]
    assert isinstance(refs[0], BoxRef) and refs[0].box == doc.track(0).box_at(5) and refs[0].frame == 5
    assert doc.boxes_at(6)[0].is_keyframe and doc.boxes_at(0) == []
    assert doc.box_at(0, 3) is not None and doc.box_at(0, 7) is None
    assert doc.num_boxes() == 5 + 1 and doc.num_keyframes() == 3
    with pytest.raises(ModelError, match="frame 20 is outside"):
        doc.boxes_at(20)
    with pytest.raises(ModelError, match="frame -1"):
        doc.boxes_at(-1)


def test_review_state() -> None:
    doc, _ = sample_doc()
    assert doc.box_review(0, 4) == Review("accepted", "ok", "qa1", "2026-11-22T00:30:00Z")
    assert doc.box_review(0, 3).status == "unreviewed"
    assert doc.frame_review(5).comment == "missing cyclist" and doc.frame_review(5).when == 123
    assert doc.frame_review(6) == Review()
    assert set(doc.box_reviews()) == {(0, 4)} and set(doc.frame_reviews()) == {5}
    with pytest.raises(ModelError, match="status"):
        Review("maybe")
    with pytest.raises(ModelError, match="time"):
        Review("accepted", when=1.5)  # type: ignore[arg-type]


def test_new_document_and_bad_frame_count() -> None:
    doc = AnnotationDocument()
    assert doc.new_track_id() == 0 and doc.num_boxes() == 0 and doc.frame_count is None
    doc.check_frame(10_000)
    with pytest.raises(ModelError, match="frame_count"):
        AnnotationDocument(frame_count=-1)


def test_events_and_unsubscribe() -> None:
    doc = AnnotationDocument(frame_count=20)
    stack = UndoStack(doc)
    events: list[DocumentEvent] = []
    unsubscribe = doc.subscribe(events.append)
    stack.push(CreateTrack("car", 2, car(0.0)))
    stack.push(SetKeyframe(0, 6, car(4.0)))
    stack.push(SetKeyframe(0, 10, car(8.0)))
    stack.push(SetKeyframe(0, 6, car(5.0)))  # changes frames 3..9
    stack.push(SetReview.make(4, "accepted", track_id=0))
    assert [e.kind for e in events] == [
        "track_added",
        "track_changed",
        "track_changed",
        "track_changed",
        "review_changed",
    ]
    assert events[0].frames == (2,) and events[1].frames == (3, 4, 5, 6)
    assert events[3] == DocumentEvent("track_changed", 0, tuple(range(3, 10)))
    assert events[4].track_id == 0 and events[4].frames == (4,)
    stack.undo()
    stack.undo()  # back to keyframes 2, 6, 10 -> 2, 6, 10 with the old box at 6
    assert events[-1].frames == tuple(range(3, 10))
    unsubscribe()
    unsubscribe()  # idempotent
    stack.undo()
    assert len(events) == 7


def test_failing_listener_is_logged_and_does_not_break_the_edit(caplog: pytest.LogCaptureFixture) -> None:
    doc = AnnotationDocument()
    stack = UndoStack(doc)
    seen: list[str] = []

    def bad(event: DocumentEvent) -> None:
        raise RuntimeError("view bug")

    doc.subscribe(bad)
    doc.subscribe(lambda e: seen.append(e.kind))
    with caplog.at_level(logging.ERROR):
        stack.push(CreateTrack("car", 0, car(0)))
    assert 0 in doc and seen == ["track_added"] and "view bug" in caplog.text


def test_dict_round_trip_is_json_ready_and_exact() -> None:
    doc, _ = sample_doc()
    d = doc.to_dict()
    assert d["version"] == 1 and d["frame_count"] == 20
    assert d["tracks"][0]["keyframes"]["2"] == {
        "center": [0.0, 0.0, 0.8],
        "size": [4.2, 1.8, 1.6],
        "yaw": 0.0,
    }
    text = json.dumps(d)
    back = AnnotationDocument.from_dict(json.loads(text))
    assert back.to_dict() == d
    assert back.track(0).box_at(4) == doc.track(0).box_at(4)
    assert back.box_review(0, 4) == doc.box_review(0, 4)


def bad_variants() -> list[tuple[str, object, str]]:
    """(name, mutation of a valid dict, expected message fragment)."""
    return [
        ("version", lambda d: d.update(version=2), "unsupported version 2"),
        ("missing key", lambda d: d.pop("reviews"), "missing key 'reviews'"),
        ("unknown key", lambda d: d.update(extra=1), "unknown key 'extra'"),
        (
            "track unknown key",
            lambda d: d["tracks"][1].update(color="red"),
            "tracks\\[1\\]: unknown key 'color'",
        ),
        ("track id type", lambda d: d["tracks"][0].update(id="0"), "tracks\\[0\\]: id"),
        ("duplicate id", lambda d: d["tracks"][1].update(id=0), "track 0: duplicate"),
        ("label", lambda d: d["tracks"][1].update(label=""), "track 1: label"),
        ("interp", lambda d: d["tracks"][0].update(interpolation="cubic"), "track 0: unknown interpolation"),
        ("no keyframes", lambda d: d["tracks"][0].update(keyframes={}), "track 0: 'keyframes'"),
        ("frame key", lambda d: d["tracks"][0]["keyframes"].update(x={}), "track 0: keyframe key"),
        (
            "box key",
            lambda d: d["tracks"][0]["keyframes"]["2"].pop("yaw"),
            "track 0 keyframe 2: missing key 'yaw'",
        ),
        (
            "box size",
            lambda d: d["tracks"][0]["keyframes"]["2"].update(size=[1, 0, 1]),
            "track 0 keyframe 2: Box3D size must be positive",
        ),
        (
            "box nan",
            lambda d: d["tracks"][0]["keyframes"]["6"].update(center=[0, float("nan"), 0]),
            "track 0 keyframe 6: 'center'",
        ),
        (
            "frame range",
            lambda d: d["tracks"][1].update(keyframes={"25": d["tracks"][1]["keyframes"]["5"]}),
            "track 1: frame 25 is outside",
        ),
        ("attributes", lambda d: d["tracks"][0].update(attributes={"a": 1}), "track 0: 'attributes'"),
        ("review track", lambda d: d["reviews"]["boxes"][0].update(track_id=9), "no track with id 9"),
        (
            "review status",
            lambda d: d["reviews"]["frames"][0].update(status="ok"),
            "reviews.frames\\[0\\] \\(frame 5\\): review status",
        ),
        (
            "review key",
            lambda d: d["reviews"]["boxes"][0].pop("who"),
            "reviews.boxes\\[0\\]: missing key 'who'",
        ),
        (
            "review frame",
            lambda d: d["reviews"]["frames"][0].update(frame=40),
            "reviews.frames\\[0\\] \\(frame 40\\): frame 40 is outside",
        ),
        ("not a mapping", lambda d: d["tracks"].append(3), "tracks\\[2\\]: expected a mapping"),
    ]


@pytest.mark.parametrize(("name", "mutate", "message"), bad_variants(), ids=[v[0] for v in bad_variants()])
def test_from_dict_is_strict(name: str, mutate: object, message: str) -> None:
    doc, _ = sample_doc()
    d = copy.deepcopy(doc.to_dict())
    mutate(d)  # type: ignore[operator]
    with pytest.raises(ModelError, match=message):
        AnnotationDocument.from_dict(d)


def test_from_tracks_copies_the_tracks() -> None:
    t = Track(3, "car", {"a": "b"}, {0: car(0.0), 4: car(4.0)})
    doc = AnnotationDocument.from_tracks([t], frame_count=5)
    assert doc.track(3).box_at(2) == t.box_at(2) and doc.track(3) is not t
    UndoStack(doc).push(SetKeyframe(3, 2, car(9.0)))
    assert 2 not in t.keyframes
    with pytest.raises(ModelError, match="frame 4 is outside"):
        AnnotationDocument.from_tracks([t], frame_count=4)


def test_has_ego_poses() -> None:
    """World-frame motion across frames means something only with ego poses and a common world."""
    import numpy as np

    from calib.rig import Rig
    from fusionlabel.model import FrameInfo, SequenceInfo

    def seq(poses: list[np.ndarray], **meta: object) -> SequenceInfo:
        return SequenceInfo("s", "native", [FrameInfo(i, i * 100_000_000, T) for i, T in enumerate(poses)], Rig([]),
                            meta=dict(meta))

    moved = np.eye(4)
    moved[0, 3] = 1.5
    assert seq([np.eye(4), moved]).has_ego_poses()
    assert not seq([np.eye(4), np.eye(4)]).has_ego_poses()
    assert not seq([np.eye(4), moved], independent_frames=True).has_ego_poses()


def _doc_with_box(box: object) -> dict:
    doc, _ = sample_doc()
    d = copy.deepcopy(doc.to_dict())
    d["tracks"][0]["keyframes"]["2"] = box
    return d


@pytest.mark.parametrize(("box", "message"), [
    ({"center": [0.0, float("nan"), 0.0], "size": [1.0, 1.0, 1.0], "yaw": 0.0},
     "track 0 keyframe 2: 'center' must be 3"),
    ({"center": [0.0, 0.0, 0.0], "size": [1.0, float("inf"), 1.0], "yaw": 0.0}, "track 0 keyframe 2: 'size' must be 3"),
    ({"center": [0.0, 0.0, 0.0], "size": [1.0, 1.0, 1.0], "yaw": float("inf")}, "track 0 keyframe 2: 'yaw' must be a"),
    ({"center": [0.0, 0.0, 0.0], "size": [1.0, -1.0, 1.0], "yaw": 0.0},
     "track 0 keyframe 2: Box3D size must be positive"),
    ({"center": [0.0, True, 0.0], "size": [1.0, 1.0, 1.0], "yaw": 0.0}, "track 0 keyframe 2: 'center' must be 3"),
    ({"center": [0.0, 0.0, 0.0], "size": [1.0, 1.0, 1.0], "yaw": True}, "track 0 keyframe 2: 'yaw' must be a"),
    ({"center": [0.0, 0.0], "size": [1.0, 1.0, 1.0], "yaw": 0.0}, "track 0 keyframe 2: 'center' must be 3"),
    ({"center": [0.0, 0.0, 0.0], "size": [1.0, 1.0, 1.0], "pitch": 0.0}, "track 0 keyframe 2: missing key 'yaw'"),
    ({"center": [0.0, 0.0, 0.0], "size": "abc", "yaw": 0.0}, "track 0 keyframe 2: 'size' must be 3"),
])
def test_float_boxes_are_checked_as_strictly(box: dict, message: str) -> None:
    """Boxes of floats take the fast path of the box reader: the same errors as the others."""
    with pytest.raises(ModelError, match=message):
        AnnotationDocument.from_dict(_doc_with_box(box))


def test_float_boxes_read_as_the_general_form_reads_them() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        c, s, yaw = rng.normal(size=3) * 50, np.abs(rng.normal(size=3)) + 0.1, float(rng.normal() * 9)
        fast = {"center": c.tolist(), "size": s.tolist(), "yaw": yaw}
        general = {**fast, "roll": 0.0}  # (another key: the general path)
        a = AnnotationDocument.from_dict(_doc_with_box(fast)).track(0).keyframes[2]
        b = AnnotationDocument.from_dict(_doc_with_box(general)).track(0).keyframes[2]
        assert (a.center, a.size, a.yaw, a.roll, a.pitch) == (b.center, b.size, b.yaw, b.roll, b.pitch)
    big = {"center": [1.7e308, 1.7e308, 0.0], "size": [1.0, 1.0, 1.0], "yaw": 0.0}  # (a sum that overflows)
    assert AnnotationDocument.from_dict(_doc_with_box(big)).track(0).keyframes[2].center == (1.7e308, 1.7e308, 0.0)


@pytest.mark.parametrize(("keyframes", "message"), [
    ({-1: car(0.0)}, "frame -1 is outside"),
    ({3: car(0.0), 9: car(1.0)}, "frame 9 is outside"),
    ({True: car(0.0)}, "frame index must be an int"),
    ({np.int64(2): car(0.0)}, r"keyframe index np.int64\(2\) must be a Python int"),
    ({1: car(0.0), 2: "box"}, "track 7 frame 2: expected a Box3D, got str"),
])
def test_inserted_keyframes_are_checked(keyframes: dict, message: str) -> None:
    t = Track(7, "car", {}, {0: car(0.0)})
    t.keyframes = keyframes  # (past Track's own checks)
    with pytest.raises(ModelError, match=message):
        AnnotationDocument(frame_count=5)._insert_track(t)
