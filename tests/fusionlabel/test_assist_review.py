"""Proposals stay apart from human labels; accept / reject / edit are exact undoable commands; the
review queue is ordered highest confidence first (or lowest), accepts above a threshold in one
undoable step and follows the document; accepted tracks keep only the keyframes they need."""

from __future__ import annotations

import json

import pytest

from fusionlabel.assist import AcceptProposal, EditProposal, RejectProposal, ReviewQueue, SetProposals
from fusionlabel.assist.review import set_prelabels
from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument, Proposal
from fusionlabel.errors import ModelError


def _box(x: float, y: float = 0.0) -> Box3D:
    return Box3D((x, y, 0.85), (4.5, 1.9, 1.7), 0.1)


def _proposal(pid: int, conf: float, frames: range = range(3), x0: float = 10.0, label: str = "car") -> Proposal:
    return Proposal(pid, label, {f: _box(x0 + f) for f in frames}, {f: conf for f in frames}, conf, "cluster")


@pytest.fixture
def doc() -> AnnotationDocument:
    d = AnnotationDocument(frame_count=5)
    UndoStack(d).push(CreateTrack("car", 0, _box(-20.0)))  # a human label
    SetProposals([_proposal(0, 0.9), _proposal(1, 0.2, x0=30.0), _proposal(2, 0.5, range(1, 4), x0=50.0)]).apply(d)
    return d


def test_proposals_are_not_tracks_nor_boxes(doc: AnnotationDocument) -> None:
    assert len(doc.tracks) == 1 and len(doc.proposals) == 3
    assert [r.track_id for r in doc.boxes_at(0)] == [0] and not doc.boxes_at(1)  # what exports and QA read
    refs = doc.proposals_at(1)
    assert [r.proposal_id for r in refs] == [0, 1, 2]
    assert refs[1].score == pytest.approx(0.2) and refs[1].box == _box(31.0)


def test_round_trip_and_backward_compatible_layout(doc: AnnotationDocument) -> None:
    d = doc.to_dict()
    back = AnnotationDocument.from_dict(json.loads(json.dumps(d)))
    assert back.to_dict() == d
    assert back.proposals[2].boxes == doc.proposals[2].boxes
    plain = AnnotationDocument(frame_count=5)
    assert "proposals" not in plain.to_dict()  # version-1 layout unchanged without proposals
    d["proposals"][0]["boxes"]["0"]["score"] = 1.5
    with pytest.raises(ModelError, match=r"proposal 0.*\[0, 1\]"):
        AnnotationDocument.from_dict(d)


def test_accept_makes_a_track_and_undo_restores_exactly(doc: AnnotationDocument) -> None:
    stack = UndoStack(doc)
    before = doc.to_dict()
    cmd = stack.push(AcceptProposal(1, attributes={"state": "parked"}, machine_boxes=False))
    assert 1 not in doc.proposals
    t = doc.track(cmd.track_id)
    # the boxes point 0.1 rad off their motion: the interpolation would turn the middle one (past
    # the 3-degree tolerance), so every keyframe is kept
    assert t.label == "car" and t.attributes == {"state": "parked"} and sorted(t.keyframes) == [0, 1, 2]
    assert t.keyframes[2] == _box(32.0) and t.end == 2
    stack.undo()
    assert doc.to_dict() == before
    stack.redo()
    assert cmd.track_id in doc.tracks and 1 not in doc.proposals
    stack.undo()
    # by default a moving vehicle keeps its first keyframe; its other boxes are the machine's
    # (tracked, with their scores), which an edit re-tracks
    cmd = stack.push(AcceptProposal(1))
    t = doc.track(cmd.track_id)
    assert sorted(t.keyframes) == [0] and sorted(t.tracked) == [1, 2] and t.tracked[2] == _box(32.0)
    assert t.tracked_confidence == {1: pytest.approx(0.2), 2: pytest.approx(0.2)}  # the proposal's scores
    assert t.end == 2 and t.box_state(1) == "tracked"
    stack.undo()
    assert doc.to_dict() == before


def test_partial_accept_and_reject(doc: AnnotationDocument) -> None:
    stack = UndoStack(doc)
    before = doc.to_dict()
    stack.push(AcceptProposal(2, frames=[1, 2], label="van"))
    assert sorted(doc.proposals[2].boxes) == [3]
    assert doc.tracks[max(doc.tracks)].label == "van"
    stack.push(RejectProposal(0, frames=[0]))
    assert sorted(doc.proposals[0].boxes) == [1, 2]
    stack.push(RejectProposal(0))
    assert 0 not in doc.proposals
    with pytest.raises(ModelError, match="no box at frame"):
        stack.push(AcceptProposal(2, frames=[0]))
    stack.undo_all()
    assert doc.to_dict() == before


def test_edit_proposal_box_and_label(doc: AnnotationDocument) -> None:
    stack = UndoStack(doc)
    new = _box(99.0)
    stack.push(EditProposal(0, frame=4, box=new, label="truck"))
    assert doc.proposals[0].boxes[4] == new and doc.proposals[0].label == "truck"
    stack.undo()
    assert 4 not in doc.proposals[0].boxes and doc.proposals[0].label == "car"
    with pytest.raises(ModelError):
        EditProposal(0, frame=1)


def test_queue_lowest_confidence_first_and_follows_undo(doc: AnnotationDocument) -> None:
    stack = UndoStack(doc)
    q = ReviewQueue(doc, stack, attributes_for=lambda label: {"state": "moving"} if label == "car" else {},
                    lowest_first=True)
    assert q.ids() == [1, 2, 0]
    assert q.current.proposal_id == 1
    cmd = q.accept()
    assert doc.track(cmd.track_id).attributes == {"state": "moving"}
    assert q.ids() == [2, 0] and q.current.proposal_id == 2
    q.reject()
    assert q.ids() == [0] and q.current.proposal_id == 0
    stack.undo()  # the reject
    assert q.ids() == [2, 0]
    stack.undo()  # the accept
    assert q.ids() == [1, 2, 0] and len(doc.tracks) == 1
    assert q.next().proposal_id in (1, 2, 0)
    framed = ReviewQueue(doc, stack, frame=0, lowest_first=True)
    assert framed.ids() == [1, 0]
    q.close()


def test_queue_highest_first_accept_above_and_accept_track(doc: AnnotationDocument) -> None:
    stack = UndoStack(doc)
    q = ReviewQueue(doc, stack, attributes_for=lambda label: {"state": "moving"})
    assert q.ids() == [0, 2, 1] and q.current.proposal_id == 0  # the most confident first
    q.set_lowest_first(True)
    assert q.ids() == [1, 2, 0] and q.current.proposal_id == 0  # the current one stays current
    q.set_lowest_first(False)
    before, steps, tracks = doc.to_dict(), len(stack), len(doc.tracks)
    assert q.above(0.5) == [0, 2]
    cmd = q.accept_above(0.5)
    assert len(stack) == steps + 1  # one undoable step
    assert len(cmd.track_ids) == 2 and len(doc.tracks) == tracks + 2
    assert set(doc.proposals) == {1} and q.ids() == [1] and q.current.proposal_id == 1
    assert all(doc.track(t).attributes == {"state": "moving"} for t in cmd.track_ids)
    assert sorted(doc.track(cmd.track_ids[1]).frames()) == [1, 2, 3]  # the whole track
    stack.undo()
    assert doc.to_dict() == before and q.ids() == [0, 2, 1]
    assert q.accept_above(0.95).track_ids == [] and len(stack) == steps  # nothing qualifies: no step
    # accept_track: every frame of the proposal, whichever frame the queue is restricted to
    framed = ReviewQueue(doc, stack, frame=1)
    t = framed.accept_track()
    assert sorted(doc.track(t.track_id).frames()) == [0, 1, 2] and 0 not in doc.proposals
    framed.close()
    q.close()


def test_set_prelabels_skips_what_humans_labelled() -> None:
    d = AnnotationDocument(frame_count=3)
    stack = UndoStack(d)
    stack.push(CreateTrack("car", 1, _box(10.0)))
    p = Proposal(0, "car", {0: _box(10.0), 1: _box(10.2)}, {0: 0.5, 1: 0.5}, 0.5)
    q = Proposal(1, "car", {1: _box(10.1)}, {1: 0.5}, 0.5)
    set_prelabels(d, [p, q], stack)
    assert list(d.proposals) == [0] and sorted(d.proposals[0].boxes) == [0]
    stack.undo()
    assert not d.proposals and len(d.tracks) == 1


def test_project_file_keeps_proposals_and_native_tracks_do_not(doc: AnnotationDocument, tmp_path) -> None:
    from formats.native import tracks_to_dict
    from formats.project import load_project, save_project

    path = tmp_path / "p.flproj"
    save_project(path, doc, tmp_path, sequence_format="native")
    back = load_project(path).document
    assert back.to_dict() == doc.to_dict()
    tracks = tracks_to_dict(doc.tracks.values())
    assert "proposals" not in json.dumps(tracks) and len(tracks["tracks"]) == 1


def test_keyboard_nudges_edit_the_proposal_under_review(doc: AnnotationDocument) -> None:
    """With no box selected, the nudge / rotate / resize keys edit the box of the proposal under
    review at this frame (one undo step per run of nudges); a selected human box takes them first."""
    from fusionlabel.tools import KeyEvent, Keymap, ToolContext, ToolController

    stack = UndoStack(doc)
    queue = ReviewQueue(doc, stack)
    ctx = ToolContext(doc, stack, 1)
    ctl = ToolController(ctx, Keymap.default())
    ctx.proposal_under_review = lambda: queue.current.proposal_id if queue.current is not None else None
    pid = queue.current.proposal_id
    before, other = doc.proposals[pid].boxes[1], doc.proposals[pid].boxes[0]
    n = len(stack)
    for _ in range(3):
        assert ctl.on_key(KeyEvent("w")) == "nudge"  # forward along the box heading
    assert ctl.on_key(KeyEvent("q")) == "rotate"
    after = doc.proposals[pid].boxes[1]
    assert after.center[0] > before.center[0] and after.yaw > before.yaw
    assert doc.proposals[pid].boxes[0] == other  # other frames untouched
    assert len(doc.tracks) == 1 and pid in doc.proposals  # still a proposal, not a track
    assert len(stack) == n + 1  # the run of nudges is one undo step
    stack.undo()
    assert doc.proposals[pid].boxes[1] == before
    # a selected human box takes the keys; the proposal stays as it is
    ctx.set_selection(0)
    ctx.set_frame(0)
    assert ctl.on_key(KeyEvent("w")) == "nudge"
    assert doc.proposals[pid].boxes[1] == before and doc.box_at(0, 0).box != _box(-20.0)
    # no proposal under review, nothing selected: the keys do nothing
    ctx.set_selection(None)
    ctx.proposal_under_review = None
    assert ctl.on_key(KeyEvent("w")) is None


def test_queue_reject_rest_and_reject_below(doc: AnnotationDocument) -> None:
    from fusionlabel.assist.review import RejectMany

    stack = UndoStack(doc)
    q = ReviewQueue(doc, stack)
    assert q.ids() == [0, 2, 1]
    before, steps = doc.to_dict(), len(stack)
    q.next()  # the labeler looked at the most confident one, moves on: 2 and 1 are the rest
    assert q.rest() == [2, 1]
    cmd = q.reject_rest()
    assert isinstance(cmd, RejectMany) and cmd.proposal_ids == [2, 1]
    assert len(stack) == steps + 1 and set(doc.proposals) == {0}  # one undoable step
    assert q.ids() == [0] and q.current.proposal_id == 0  # the queue goes on from its head
    stack.undo()
    assert doc.to_dict() == before and q.ids() == [0, 2, 1]
    low = doc.proposals[1].confidence
    assert q.below(low) == [] and q.reject_below(low).proposal_ids == [] and len(stack) == steps  # no step
    cmd = q.reject_below(doc.proposals[2].confidence)
    assert cmd.proposal_ids == [1] and set(doc.proposals) == {0, 2}
    q.reject_rest()  # from the head: everything
    assert len(q) == 0 and q.current is None and q.rest() == []
    assert q.reject_rest().proposal_ids == []  # an empty queue: nothing, no step
    q.close()
