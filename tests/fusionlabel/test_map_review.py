"""Map proposals (lane-paint / curb extraction results) reviewed like box proposals: set, accept,
reject, accept above a threshold, reject the rest, all undoable and in confidence order."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.map.commands import AddMapElement
from fusionlabel.map.element import MapElement
from fusionlabel.map.extract import MapProposal
from fusionlabel.map.review import MapProposalQueue, SetMapProposals, map_proposals


def _proposals() -> list[MapProposal]:
    x = np.linspace(0.0, 20.0, 21)
    return [MapProposal(MapElement(0, "lane_divider", np.stack([x, np.full_like(x, y), np.zeros_like(x)], 1),
                                   {"type": "dashed"}), conf)
            for y, conf in ((1.75, 0.7), (-1.75, 0.9), (5.25, 0.4), (-5.25, 0.55))]


def test_review_queue_accept_reject_undo() -> None:
    doc = AnnotationDocument(4)
    stack = UndoStack(doc)
    stack.push(AddMapElement("stop_line", [[0, 0, 0], [3, 0, 0]]))
    stack.push(SetMapProposals(_proposals()))
    q = MapProposalQueue(doc, stack)
    assert q.ids() == [1, 0, 3, 2] and q.current == 1  # highest confidence first
    calls = []
    unsub = map_proposals(doc).subscribe(lambda: calls.append(1))
    cmd = q.accept()
    assert cmd.element_ids == [1] and doc.map_element(1).attributes["type"] == "dashed"
    assert np.allclose(doc.map_element(1).vertices[:, 1], -1.75)
    assert q.current == 0 and len(q) == 3 and calls
    q.reject()
    assert q.current == 3 and sorted(map_proposals(doc).proposals) == [2, 3]
    stack.undo()  # the reject
    assert sorted(map_proposals(doc).proposals) == [0, 2, 3]
    stack.undo()  # the accept
    assert sorted(doc.map_elements) == [0] and len(q) == 4
    stack.redo()
    assert sorted(doc.map_elements) == [0, 1] and 1 not in map_proposals(doc).proposals
    q.refresh()
    acc = q.accept_above(0.5)
    assert acc is not None and acc.element_ids == [2, 3] and sorted(map_proposals(doc).proposals) == [2]
    assert q.accept_above(0.95) is None
    stack.undo()
    assert sorted(map_proposals(doc).proposals) == [0, 2, 3]
    q.pick(3)
    rej = q.reject_rest()  # 3 and 2 (after it in order)
    assert rej is not None and sorted(rej.ids) == [2, 3] and sorted(map_proposals(doc).proposals) == [0]
    assert q.step(1) == 0
    stack.undo()
    assert q.step(-1) in (0, 2, 3)
    # a new extraction run replaces the proposals, undoable
    stack.push(SetMapProposals(_proposals()[:1]))
    assert len(q) == 1
    stack.undo()
    assert len(q) == 3
    unsub()
    with pytest.raises(ModelError):
        q.pick(99)
    empty = MapProposalQueue(AnnotationDocument(1), UndoStack(AnnotationDocument(1)))
    with pytest.raises(ModelError, match="no map proposal"):
        empty.accept()


def test_ray_polyline_distance() -> None:
    from fusionlabel.map.geometry import ray_polyline_distance

    line = [[10.0, -5.0, 0.0], [10.0, 5.0, 0.0]]
    d, t = ray_polyline_distance([0, 0, 2.0], [10.0, 0.5, -2.0], line)
    # the ray meets z = 0 at (10, 0.5): on the line
    assert d == pytest.approx(0.0, abs=1e-9) and t == pytest.approx(np.linalg.norm([10.0, 0.5, -2.0]))
    d, _ = ray_polyline_distance([0, 0, 2.0], [10.0, 7.0, -2.0], line)  # passes the end (10, 5, 0)
    assert d == pytest.approx(np.linalg.norm(np.cross([10.0, 5.0, -2.0], [10.0, 7.0, -2.0]))
                              / np.linalg.norm([10.0, 7.0, -2.0]), rel=1e-6)
    assert ray_polyline_distance([0, 0, 0], [-1, 0, 0], line) == (float("inf"), float("inf"))
    with pytest.raises(ValueError):
        ray_polyline_distance([0, 0, 0], [0, 0, 0], line)
