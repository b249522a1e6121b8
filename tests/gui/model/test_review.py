"""The QA review as a model, headless (no Qt): accept / reject with the comment rule, stepping
through the review queue by filter and scope, issue markers placed where the BEV pointer is or on
the selected box, resolved and deleted, and the 3D marker glyphs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import ToolContext, ToolController
from fusionlabel.trackops import ExtendTrack
from gui.model import ViewerModel
from gui.model.review import QAReview


def setup() -> tuple[ViewerModel, QAReview, list[tuple[str, object]]]:
    doc = AnnotationDocument(6)
    undo = UndoStack(doc)
    for x in (0.0, 10.0, 20.0):
        undo.push(CreateTrack("car", 0, Box3D((x, 0.0, 1.0), (4.0, 2.0, 1.6), 0.0)))
    for t in doc.track_ids():
        undo.push(ExtendTrack(t))
    m = ViewerModel()
    m.set_session(SimpleNamespace(doc=doc, undo=undo))
    ctx = ToolContext(doc, undo, 0, ground=0.0)
    m.bind_tools(ctx, ToolController(ctx))
    r = QAReview(m)
    r.options.reviewer = "anna"
    seen: list[tuple[str, object]] = []
    for name in ("show", "focus", "centre"):
        r.events[name].connect(lambda v, n=name: seen.append((n, v)))
    r.follow()
    return m, r, seen


def test_accept_and_a_rejection_needs_a_comment() -> None:
    m, r, seen = setup()
    doc = m.session.doc
    assert not r.review_box("accepted")  # nothing selected
    m.select(1)
    assert r.review_box("accepted") and doc.box_review(1, 0).status == "accepted"
    assert doc.box_review(1, 0).who == "anna"
    assert not r.review_box("rejected") and seen[-2:] == [("show", True), ("focus", "comment")]
    r.options.comment = "too long"
    assert r.review_box("rejected") and doc.box_review(1, 0).comment == "too long"
    assert r.options.comment == ""  # the field is cleared for the next one
    assert r.marks() == {1: "rejected"}
    assert r.review_frame("accepted") and doc.frame_review(0).status == "accepted"
    m.session.undo.undo()
    assert doc.frame_review(0).status == "unreviewed"


def test_stepping_through_the_queue_by_filter_and_scope() -> None:
    m, r, seen = setup()
    m.select(0)
    r.review_box("accepted")
    assert r.step(1) and (m.frame, m.selection) == (0, 1)  # the next unreviewed box
    assert seen[-1][0] == "centre" and seen[-1][1] == pytest.approx((10.0, 0.0))
    assert r.step(1) and (m.frame, m.selection) == (0, 2)
    assert r.step(1) and (m.frame, m.selection) == (1, 0)
    assert r.step(-1) and (m.frame, m.selection) == (0, 2)
    r.options.scope = "frames"
    assert r.step(1) and m.frame == 1 and m.selection == 2  # frames: the selection stays
    r.options.filter = "rejected"
    assert not r.step(1)  # nothing rejected
    with pytest.raises(ValueError):
        r.options.filter = "nonsense"


def test_issue_markers_where_the_pointer_is_or_on_the_box() -> None:
    m, r, seen = setup()
    doc = m.session.doc
    assert r.add_issue() is None and seen[-1] == ("focus", "issue_text")
    r.options.issue_text = "missed cyclist"
    r.pointer = lambda: (6.0, 4.0)
    r.ground_z = lambda: -1.5
    mid = r.add_issue()
    mk = doc.issue_marker(mid)
    assert mk.position == pytest.approx((6.0, 4.0, -1.5)) and mk.text == "missed cyclist" and mk.author == "anna"
    assert r.options.issue_text == ""
    m.select(2)
    mid2 = r.add_issue("check the mirror", at_pointer=False)
    assert doc.issue_marker(mid2).position == pytest.approx((20.0, 0.0, 1.0))
    assert doc.issue_marker(mid2).track_id == 2
    r.pointer = lambda: None
    r.view_centre = lambda: (3.0, 3.0)
    m.select(None)
    mid3 = r.add_issue("here")
    assert doc.issue_marker(mid3).position == pytest.approx((3.0, 3.0, -1.5))
    r.current_issue = mid
    r.toggle_resolved()
    assert doc.issue_marker(mid).resolved
    glyphs = r.glyphs_3d()
    assert len(glyphs) == 3 and {g.text for g in glyphs} >= {"! missed cyclist", "! check the mirror"}
    r.delete_issue(mid3)
    assert len(doc.issue_markers()) == 2
    m.set_frame(3)
    r.jump_to_issue(mid2)
    assert m.frame == 0 and m.selection == 2 and seen[-1] == ("centre", (20.0, 0.0))
