"""Map elements: the model, the document's map, undoable edits, geometry helpers and QA checks."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.map import MapElement, element_from_dict
from fusionlabel.map.commands import (
    AddMapElement,
    DeleteMapElement,
    DeleteVertex,
    InsertVertex,
    JoinElements,
    MoveVertex,
    ReverseElement,
    SetMapAttribute,
    SetMapClass,
    SetVertices,
    SplitElement,
)
from fusionlabel.map.geometry import (
    arc_length,
    chamfer_distance,
    polygon_area,
    resample,
    self_intersections,
    smooth,
)
from fusionlabel.map.qa import run_map_checks

LINE = [[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [10.0, 1.0, 0.1]]


def _doc_with_line() -> tuple[AnnotationDocument, UndoStack, int]:
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    cmd = AddMapElement("lane_divider", LINE, {"type": "dashed"})
    stack.push(cmd)
    assert cmd.element_id is not None
    return doc, stack, cmd.element_id


def test_element_validates_and_has_layer_attributes() -> None:
    el = MapElement(3, "lane_divider", LINE, {"type": "double_solid", "color": "yellow"})
    assert el.id == 3 and el.closed is False and el.vertices_world.shape == (3, 3)
    assert el.vertices_world.dtype == np.float64 and not el.vertices.flags.writeable
    poly = MapElement(4, "ped_crossing", [[0, 0], [1, 0], [1, 1]])
    assert poly.closed and poly.vertices[:, 2].tolist() == [0, 0, 0]
    assert MapElement(5, "lane_divider", LINE).attributes == {"color": "white", "type": "solid"}
    with pytest.raises(ModelError, match="unknown map class"):
        MapElement(1, "lane", LINE)
    with pytest.raises(ModelError, match="at least 3"):
        MapElement(1, "drivable_area", LINE[:2])
    with pytest.raises(ModelError, match="type must be one of"):
        MapElement(1, "lane_divider", LINE, {"type": "wavy"})
    with pytest.raises(ModelError, match="finite"):
        MapElement(1, "stop_line", [[0, 0, 0], [1, np.nan, 0]])
    assert element_from_dict(el.to_dict()) == el
    with pytest.raises(ModelError, match="unknown keys"):
        element_from_dict({**el.to_dict(), "colour": "red"}, "map[0]")


def test_document_round_trip_and_layout_without_map() -> None:
    doc, _, eid = _doc_with_line()
    assert "map" not in AnnotationDocument(5).to_dict()
    d = doc.to_dict()
    assert d["map"][0]["id"] == eid and d["map"][0]["attributes"]["type"] == "dashed"
    back = AnnotationDocument.from_dict(d)
    assert back.map_element(eid) == doc.map_element(eid)
    d["map"].append(dict(d["map"][0]))
    with pytest.raises(ModelError, match="already exists"):
        AnnotationDocument.from_dict(d)


def test_vertex_edits_undo_redo_and_events() -> None:
    doc, stack, eid = _doc_with_line()
    events = []
    doc.subscribe(lambda e: events.append(e))
    original = doc.map_element(eid)
    stack.push(MoveVertex(eid, 1, (5.0, 0.5, 0.0), merge_key=("drag", 1)))
    stack.push(MoveVertex(eid, 1, (5.0, 0.8, 0.0), merge_key=("drag", 1)))
    assert len(stack) == 2  # the drag merged into one step
    assert doc.map_element(eid).vertices[1].tolist() == [5.0, 0.8, 0.0]
    stack.push(InsertVertex(eid, 1, (2.0, 0.0, 0.0)))
    assert len(doc.map_element(eid)) == 4
    stack.push(DeleteVertex(eid, -1))
    assert doc.map_element(eid).vertices[-1].tolist() == [5.0, 0.8, 0.0]
    with pytest.raises(ModelError, match="out of range"):
        stack.push(MoveVertex(eid, 7, (0, 0, 0)))
    stack.push(DeleteVertex(eid, 0))
    with pytest.raises(ModelError, match="at least 2"):
        stack.push(DeleteVertex(eid, 0))
    assert all(e.kind == "map_changed" and e.track_id == eid for e in events)
    while stack.can_undo and len(stack.steps()) > 1:
        stack.undo()
    assert doc.map_element(eid) == original
    stack.redo()
    assert doc.map_element(eid).vertices[1].tolist() == [5.0, 0.8, 0.0]


def test_split_join_reverse_class_attribute_delete() -> None:
    doc, stack, eid = _doc_with_line()
    before = doc.map_element(eid)
    split = SplitElement(eid, 1)
    stack.push(split)
    a, b = doc.map_element(eid), doc.map_element(split.new_id)
    assert len(a) == 2 and len(b) == 2 and a.vertices[-1].tolist() == b.vertices[0].tolist()
    assert b.attributes == before.attributes
    with pytest.raises(ModelError, match="inner vertex"):
        stack.push(SplitElement(eid, 0))
    # reverse the second piece, then join: the shared vertex is kept once, first's direction kept
    stack.push(ReverseElement(split.new_id))
    stack.push(JoinElements(eid, split.new_id))
    assert doc.map_element(eid) == before and split.new_id not in doc.map_elements
    stack.undo()
    assert split.new_id in doc.map_elements
    stack.redo()
    stack.push(SetMapAttribute(eid, "type", "solid_dashed"))
    stack.push(ReverseElement(eid))
    assert doc.map_element(eid).attributes["type"] == "dashed_solid"
    stack.push(SetMapClass(eid, "road_boundary"))
    el = doc.map_element(eid)
    assert el.label == "road_boundary" and "type" not in el.attributes and el.attributes["kind"] == "curb"
    with pytest.raises(ModelError, match="do not mix"):
        stack.push(SetMapClass(eid, "ped_crossing"))
    stack.push(SetVertices(eid, resample(el.vertices, num=20), "Resample"))
    assert len(doc.map_element(eid)) == 20
    stack.push(DeleteMapElement(eid))
    assert not doc.map_elements
    stack.undo_all()
    assert not doc.map_elements
    stack.redo()
    assert doc.map_element(eid) == before


def test_resample_by_arc_length() -> None:
    line = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    r = resample(line, num=21)
    steps = np.linalg.norm(np.diff(r, axis=0), axis=1)
    assert r.shape == (21, 2) and np.allclose(steps, 1.0) and np.allclose(r[-1], [10, 10])
    sq = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]])
    rc = resample(sq, num=8, closed=True)
    assert np.allclose(rc[1], [2, 0]) and np.allclose(rc[-1], [0, 2])
    assert resample(line, spacing=3.0).shape[0] == 8  # 20 m: 7 steps + the end
    assert arc_length(sq, closed=True)[-1] == pytest.approx(16.0)
    with pytest.raises(ModelError):
        resample(line)


def test_smooth_keeps_ends_and_reduces_noise() -> None:
    x = np.linspace(0, 20, 81)
    noisy = np.stack([x, 0.2 * np.sin(x * 7.0), np.zeros_like(x)], axis=1)
    sm = smooth(noisy, window_m=2.0, iterations=2)
    assert sm.shape == noisy.shape and np.allclose(sm[[0, -1]], noisy[[0, -1]])
    assert np.abs(sm[5:-5, 1]).max() < 0.5 * np.abs(noisy[:, 1]).max()


def test_self_intersection_and_chamfer() -> None:
    bow = np.array([[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
    assert self_intersections(bow, closed=True) == [(0, 2)]
    assert self_intersections(bow[[0, 2, 1, 3]], closed=True) == []
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert chamfer_distance(a, a + [0.0, 0.5]) == pytest.approx(0.5)


def test_map_checks() -> None:
    els = [
        MapElement(0, "ped_crossing", [[0, 0, 0], [2, 2, 0], [2, 0, 0], [0, 2, 0]]),
        MapElement(1, "lane_divider", [[0, 5, 0], [10, 5, 0]]),
        MapElement(2, "lane_divider", [[10.5, 5, 0], [20, 5, 0]]),  # 0.5 m gap to 1
        MapElement(3, "lane_divider", [[0, 5.05, 0], [10, 5.05, 0.0]]),  # duplicate of 1
        MapElement(4, "road_boundary", [[0, 9, 0], [10, 9, 1.0]]),  # one vertex 1 m up
        MapElement(5, "road_boundary", [[10, 9, 1.0], [20, 9, 0.0]]),  # touches 4: no dangling end
    ]
    found = run_map_checks(els, ground=lambda x, y: np.zeros(np.shape(x)))
    by = {(f.check, f.details["element_id"]) for f in found}
    assert ("map_self_intersection", 0) in by
    assert ("map_dangling_end", 1) in by and ("map_dangling_end", 2) in by
    assert ("map_dangling_end", 4) not in by and ("map_dangling_end", 5) not in by
    assert ("map_duplicate", 3) in by
    assert ("map_ground", 4) in by and ("map_ground", 5) in by and ("map_ground", 1) not in by
    assert not any(f.check == "map_ground" for f in run_map_checks(els))


def test_clip_to_rect() -> None:
    from fusionlabel.map.geometry import clip_polygon_to_rect, clip_polyline_to_rect

    line = np.array([[-10.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 10.0, 2.0], [-10.0, 10.0, 2.0], [-10.0, 1.0, 2.0]])
    pieces = clip_polyline_to_rect(line, (-5.0, 5.0, -5.0, 5.0))
    assert len(pieces) == 1
    assert np.allclose(pieces[0], [[-5, 0, 0.5], [0, 0, 1], [0, 5, 1.5]])
    zig = np.array([[-10.0, 0.0], [10.0, 0.0], [10.0, 3.0], [-10.0, 3.0]])
    assert len(clip_polyline_to_rect(zig, (-5.0, 5.0, -1.0, 1.0))) == 1
    assert len(clip_polyline_to_rect(zig, (-5.0, 5.0, -1.0, 4.0))) == 2
    sq = np.array([[-2.0, -2.0, 0.0], [2.0, -2.0, 0.0], [2.0, 2.0, 4.0], [-2.0, 2.0, 4.0]])
    c = clip_polygon_to_rect(sq, (0.0, 5.0, 0.0, 5.0))
    assert c.shape == (4, 3) and abs(abs(polygon_area(c)) - 4.0) < 1e-9 and np.isclose(c[:, 2].min(), 2.0)
    assert clip_polygon_to_rect(sq, (10.0, 11.0, 0.0, 1.0)).shape == (0, 3)
