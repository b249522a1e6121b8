"""Issue markers in the document (undoable add / resolve / delete, serialised additively), review
filters, and the sampling of frames to review."""

from __future__ import annotations

import json

import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import (
    AddIssueMarker,
    DeleteIssueMarker,
    ResolveIssueMarker,
    SetKeyframe,
    SetReview,
    UndoStack,
)
from fusionlabel.document import AnnotationDocument, IssueMarker
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.qa import (
    Finding,
    SamplingWeights,
    frame_risks,
    has_comments,
    open_issues,
    rejected,
    review_summary,
    sample_frames,
    unreviewed,
)

BOX = Box3D((10.0, 2.0, 0.8), (4.5, 1.9, 1.6), 0.3)


def _doc(n: int = 10) -> AnnotationDocument:
    t0 = Track(0, "car", {"state": "moving"}, {0: BOX, 9: BOX.replace(center=(19.0, 2.0, 0.8))})
    t1 = Track(1, "pedestrian", {"state": "moving", "confidence": "0.3"}, {2: BOX.replace(size=(0.8, 0.7, 1.7))})
    return AnnotationDocument.from_tracks([t0, t1], n)


def test_issue_markers_are_undoable_and_notify() -> None:
    doc = _doc()
    events = []
    doc.subscribe(events.append)
    stack = UndoStack(doc)
    add = AddIssueMarker((10.0, 2.0, 1.5), "box too short at the rear", author="qa-anna", frame=3, track_id=0)
    stack.push(add)
    assert add.marker_id == 0 and events[-1].kind == "issue_changed" and events[-1].frames == (3,)
    m = doc.issue_marker(0)
    assert m.position == (10.0, 2.0, 1.5) and m.author == "qa-anna" and not m.resolved and isinstance(m.when, int)
    stack.push(AddIssueMarker((0, 0, 0), "sequence-wide: check all cyclists"))
    assert [x.marker_id for x in open_issues(doc, frame=3)] == [0, 1] and open_issues(doc, frame=4)[0].marker_id == 1
    stack.push(ResolveIssueMarker(0, who="bob"))
    assert doc.issue_marker(0).resolved and doc.issue_marker(0).resolved_by == "bob"
    assert [x.marker_id for x in open_issues(doc)] == [1]
    stack.undo()
    assert not doc.issue_marker(0).resolved and doc.issue_marker(0).resolved_by == ""
    stack.redo()
    stack.push(DeleteIssueMarker(0))
    assert [x.marker_id for x in doc.issue_markers()] == [1]
    stack.undo()
    assert doc.issue_marker(0).resolved  # back as it was when deleted
    while stack.can_undo:
        stack.undo()
    assert doc.issue_markers() == []
    stack.redo()
    assert doc.issue_marker(0).text == "box too short at the rear"  # redo keeps the id


def test_issue_marker_validation() -> None:
    doc = _doc()
    stack = UndoStack(doc)
    with pytest.raises(ModelError, match="frame 12 is outside"):
        stack.push(AddIssueMarker((0, 0, 0), "x", frame=12))
    with pytest.raises(ModelError, match="no track with id 7"):
        stack.push(AddIssueMarker((0, 0, 0), "x", track_id=7))
    with pytest.raises(ModelError, match="position must be 3 finite numbers"):
        stack.push(AddIssueMarker((0, float("nan"), 0), "x"))
    with pytest.raises(ModelError, match="no issue marker with id 5"):
        stack.push(ResolveIssueMarker(5))
    with pytest.raises(ModelError, match="no issue marker with id 5"):
        stack.push(DeleteIssueMarker(5))
    assert doc.issue_markers() == [] and not stack.can_undo
    with pytest.raises(ModelError, match="resolved must be true or false"):
        IssueMarker(0, (0, 0, 0), "x", resolved="yes")  # type: ignore[arg-type]


def test_issue_markers_round_trip_and_old_documents_still_load() -> None:
    doc = _doc()
    plain = doc.to_dict()
    assert "issues" not in plain  # no markers: the layout is unchanged
    stack = UndoStack(doc)
    stack.push(AddIssueMarker((1.0, 2.0, 3.0), "rear", author="anna", frame=2, when="2026-11-22T01:00:00+00:00"))
    stack.push(ResolveIssueMarker(0, who="bob"))
    d = json.loads(json.dumps(doc.to_dict()))
    assert d["issues"] == [{"id": 0, "position": [1.0, 2.0, 3.0], "text": "rear", "author": "anna", "resolved": True,
                            "resolved_by": "bob", "frame": 2, "track_id": None,
                            "when": "2026-11-22T01:00:00+00:00"}]
    back = AnnotationDocument.from_dict(d)
    assert back.issue_markers() == doc.issue_markers() and back.to_dict() == d
    assert AnnotationDocument.from_dict(plain).issue_markers() == []
    bad = json.loads(json.dumps(d))
    bad["issues"][0]["frame"] = 99
    with pytest.raises(ModelError, match=r"issues\[0\]: frame 99 is outside"):
        AnnotationDocument.from_dict(bad)
    bad["issues"][0] = {"id": 0, "position": [1, 2], "text": "t"}
    with pytest.raises(ModelError, match=r"issues\[0\]: issue marker 0: position"):
        AnnotationDocument.from_dict(bad)
    bad["issues"][0] = {"id": 0, "position": [1, 2, 3], "text": "t", "colour": "red"}
    with pytest.raises(ModelError, match=r"issues\[0\]: unknown key 'colour'"):
        AnnotationDocument.from_dict(bad)


def test_review_filters() -> None:
    doc = _doc()
    stack = UndoStack(doc)
    stack.push(SetReview.make(3, "rejected", track_id=0, comment="rear edge off", who="anna"))
    stack.push(SetReview.make(4, "accepted", track_id=0, who="anna"))
    stack.push(SetReview.make(5, "rejected", who="anna"))
    stack.push(SetReview.make(6, "accepted", comment="ok but check the van", who="anna"))
    assert [(r.frame, r.track_id) for r in rejected(doc)] == [(3, 0), (5, None)]
    assert [(r.frame, r.track_id) for r in has_comments(doc)] == [(3, 0), (6, None)]
    assert [(r.frame, r.track_id) for r in rejected(doc, frames=False)] == [(3, 0)]
    un = unreviewed(doc)
    assert (3, 0) not in [(r.frame, r.track_id) for r in un] and (2, 1) in [(r.frame, r.track_id) for r in un]
    assert len(unreviewed(doc, boxes=False)) == 8 and len(unreviewed(doc, frames=False)) == 10 + 1 - 2
    s = review_summary(doc)
    assert s["boxes"] == {"unreviewed": 9, "accepted": 1, "rejected": 1, "total": 11, "commented": 1}
    assert s["frames"]["rejected"] == 1 and s["issues"] == {"open": 0, "resolved": 0}


def test_sampling_by_rate_and_risk() -> None:
    doc = _doc(20)
    stack = UndoStack(doc)
    stack.push(SetKeyframe(0, 19, BOX.replace(center=(29.0, 2.0, 0.8))))  # frames 10..19 now interpolated
    stack.push(SetKeyframe(0, 9, BOX.replace(center=(19.0, 2.0, 0.8))))
    findings = [Finding("speed", "error", "jump", 0, 15), Finding("few_points", "info", "sparse", 0, 1),
                Finding("ground", "warning", "floats", 0, 7)]
    risks = frame_risks(doc, findings)
    assert risks[2][0] == pytest.approx(2.0) and "low confidence 0.3 (track 1)" in risks[2][1]  # pedestrian
    assert set(risks) == {1, 2, 7, 15}  # keyframes at most 5 frames away everywhere
    w = SamplingWeights(far_frames=3)
    far = frame_risks(doc, [], w)
    assert sorted(far) == [2, 4, 5, 13, 14, 15]  # > 3 frames from keyframes 0, 9, 19 (+ the pedestrian)
    picked = sample_frames(doc, 0.1, findings, seed=1)  # 2 frames: the error, then the warning
    assert [p.frame for p in picked] == [7, 15] and not any(p.random for p in picked)
    picked = sample_frames(doc, 0.25, findings, seed=1)  # 5 frames: 4 risky + 1 drawn at random
    assert [p.frame for p in picked if not p.random] == [1, 2, 7, 15] and sum(p.random for p in picked) == 1
    assert picked == sample_frames(doc, 0.25, findings, seed=1)  # seeded
    assert [p.frame for p in sample_frames(doc, 0.0, findings)] == [15]  # errors always reviewed
    assert sample_frames(doc, 0.0, findings, always_errors=False) == []
    assert len(sample_frames(doc, 1.0, findings)) == 20
    with pytest.raises(ValueError, match="rate"):
        sample_frames(doc, 1.5)
