"""The window-free parts of the review mode (gui/review.py): progress counts equal the core's
``review_summary``, the per-frame review marks, how a review is described."""

from __future__ import annotations

import pytest

pytest.importorskip("PyQt6.QtWidgets")

from fusionlabel.box import Box3D  # noqa: E402
from fusionlabel.commands import AddIssueMarker, CreateTrack, ResolveIssueMarker, SetKeyframe, SetReview, UndoStack  # noqa: E402
from fusionlabel.document import AnnotationDocument, Review  # noqa: E402
from fusionlabel.qa import review_summary  # noqa: E402
from gui.review import box_review_marks, describe_review, quick_summary  # noqa: E402


def _doc() -> tuple[AnnotationDocument, UndoStack, list[int]]:
    doc = AnnotationDocument(10)
    st = UndoStack(doc)
    ids = []
    for k in range(3):
        c = CreateTrack("car", k, Box3D((5.0 * k, 0, 1), (4, 2, 1.5), 0.0))
        st.push(c)
        st.push(SetKeyframe(c.track_id, 6 + k, Box3D((5.0 * k, 8, 1), (4, 2, 1.5), 0.0)))
        ids.append(c.track_id)
    return doc, st, ids


def _same(doc: AnnotationDocument) -> dict:
    full, quick = review_summary(doc), quick_summary(doc)
    for key in ("boxes", "frames"):
        for s in ("accepted", "rejected", "unreviewed", "total"):
            assert quick[key][s] == full[key][s], (key, s)
    assert quick["issues"] == full["issues"]
    return quick


def test_quick_summary_equals_review_summary() -> None:
    doc, st, (a, b, c) = _doc()
    _same(doc)
    st.push(SetReview.make(0, "accepted", track_id=a, who="anna"))
    st.push(SetReview.make(3, "rejected", track_id=b, comment="too short", who="anna"))
    st.push(SetReview.make(8, "accepted", track_id=c))
    st.push(SetReview.make(2, "accepted"))
    st.push(SetReview.make(9, "rejected", comment="blurred"))
    m = st.push(AddIssueMarker((1, 2, 0), "look", frame=2))
    st.push(AddIssueMarker((1, 2, 0), "look again"))
    st.push(ResolveIssueMarker(m.marker_id))
    quick = _same(doc)
    assert quick["issues"] == {"open": 1, "resolved": 1}
    assert quick["boxes"]["accepted"] == 2 and quick["frames"]["rejected"] == 1


def test_review_marks_per_frame() -> None:
    doc, st, (a, b, c) = _doc()
    st.push(SetReview.make(3, "rejected", track_id=b, comment="x"))
    st.push(SetReview.make(3, "accepted", track_id=a))
    assert box_review_marks(doc, 3) == {a: "accepted", b: "rejected"}
    assert box_review_marks(doc, 4) == {}
    st.undo()
    assert box_review_marks(doc, 3) == {b: "rejected"}


def test_describe_review() -> None:
    assert describe_review(Review()) == "unreviewed"
    assert describe_review(Review("rejected", "too short", "anna", "2026-11-22T01:40:00")) == \
        'rejected by anna (2026-11-22 01:40): "too short"'
    assert describe_review(Review("accepted")) == "accepted"
