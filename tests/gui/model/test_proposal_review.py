"""The proposal review as a model, headless (no Qt): navigation through the queue (frame followed,
views told where to look), accept / reject / relabel / accept above as undoable steps, picking
in the BEV, and the overlays it draws."""

from __future__ import annotations

from types import SimpleNamespace

from fusionlabel.assist import set_prelabels
from fusionlabel.box import Box3D
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument, Proposal
from fusionlabel.ontology import Ontology
from fusionlabel.tools import ToolContext, ToolController
from gui.model import ViewerModel
from gui.model.layers import CuboidLayer, proposal_cuboids
from gui.model.proposal_review import ProposalReview


def box(x: float) -> Box3D:
    return Box3D((x, 0.0, 1.0), (4.0, 2.0, 1.6), 0.0)


def setup(new_class: str = "truck") -> tuple[ViewerModel, ProposalReview, list[tuple[str, object]]]:
    doc = AnnotationDocument(10)
    undo = UndoStack(doc)
    props = [Proposal(0, "car", {2: box(0.0), 3: box(0.5)}, {2: 0.9, 3: 0.9}, 0.9),
             Proposal(1, "car", {5: box(20.0)}, {5: 0.5}, 0.5),
             Proposal(2, "car", {7: box(40.0)}, {7: 0.3}, 0.3)]
    set_prelabels(doc, props, undo)
    m = ViewerModel()
    m.set_session(SimpleNamespace(doc=doc, undo=undo, ontology=Ontology.default()))
    ctx = ToolContext(doc, undo, 0, ground=0.0)
    m.bind_tools(ctx, ToolController(ctx))
    seen: list[tuple[str, object]] = []
    pr = ProposalReview(m, new_class=lambda: new_class)
    pr.events.changed.connect(lambda v: seen.append(("changed", [p.proposal_id for p in v[0]], v[1])))
    pr.events.look_at.connect(lambda c: seen.append(("look_at", None if c is None else tuple(c))))
    pr.bind()
    return m, pr, seen


def test_navigation_follows_the_queue_and_moves_the_frame() -> None:
    m, pr, seen = setup()
    assert pr.queue.ids() == [0, 1, 2] and seen[-1] == ("changed", [0, 1, 2], 0)
    assert pr.step(1) and pr.current.proposal_id == 1 and m.frame == 5
    assert seen[-1] == ("look_at", (20.0, 0.0, 1.0))
    assert pr.step(-1) and pr.current.proposal_id == 0 and m.frame in (2, 3)
    pr.options.lowest_first = True  # the dock's box
    assert pr.queue.ids() == [2, 1, 0]
    pr.pick(1)
    assert pr.current.proposal_id == 1 and m.frame == 5


def test_accept_reject_relabel_and_accept_above() -> None:
    m, pr, seen = setup()
    doc, undo = m.session.doc, m.session.undo
    n = len(undo)
    assert pr.relabel() and doc.proposals[0].label == "truck"
    assert pr.accept() and len(doc) == 1 and m.selection is not None and 0 not in doc.proposals
    assert doc.track(m.selection).label == "truck"
    assert pr.reject() and len(doc.proposals) == 1
    assert len(undo) == n + 3
    undo.undo()
    pr.options.threshold = 0.4
    assert pr.accept_above() and len(doc) == 2 and list(doc.proposals) == [2]  # 0.5 yes, 0.3 no
    assert not pr.accept_above(0.95)


def test_relabel_refused_without_another_class() -> None:
    m, pr, seen = setup(new_class="car")
    got: list[str] = []
    m.events.status.connect(lambda s: got.append(s.text))
    assert not pr.relabel() and "already is a car" in got[-1]


def test_a_bev_click_picks_the_proposal_under_it_and_overlays() -> None:
    m, pr, seen = setup()
    m.set_frame(5)
    pr.on_bev_pointer("press", (20.2, 0.1), 10.0)
    pr.on_bev_pointer("release", (20.2, 0.1), 10.0)
    assert pr.current.proposal_id == 1
    layer = CuboidLayer("proposals", "proposal")  # what the window draws: the proposals' layer
    layer.set_data(proposal_cuboids(m.session.doc, 5))
    layer.selected = (pr.current.proposal_id,)
    glyphs, shapes = layer.glyphs(), layer.bev_shapes()
    assert len(glyphs) == len(shapes) == 1 and shapes[0].key == ("proposal", 1) and shapes[0].dotted
    assert glyphs[0].selected and shapes[0].width > 3 and layer.corners.shape == (1, 8, 3)
    pr.on_bev_pointer("press", (0.0, 0.0), 10.0)
    pr.on_bev_pointer("release", (5.0, 0.0), 10.0)  # a drag, not a click: nothing picked
    assert pr.current.proposal_id == 1
