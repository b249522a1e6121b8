"""Map elements in the project file and the edit journal (a crash loses no map edit)."""

from __future__ import annotations

from pathlib import Path

from formats.project import RecoveryStore, SequenceRef, load_project, save_project
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.map.commands import AddMapElement, DeleteMapElement, MoveVertex, SplitElement


def test_map_elements_in_the_project_and_the_journal(tmp_path: Path) -> None:
    (tmp_path / "seq").mkdir()
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    stack.push(AddMapElement("lane_divider", [[0, 0, 0], [5, 0, 0], [10, 0, 0]], {"type": "dashed"}))
    stack.push(AddMapElement("ped_crossing", [[0, 2, 0], [3, 2, 0], [3, 5, 0], [0, 5, 0]]))
    proj = tmp_path / "p.flproj"
    save_project(proj, doc, tmp_path / "seq")
    stack.mark_clean()
    assert load_project(proj).document.to_dict() == doc.to_dict()
    store = RecoveryStore(doc, SequenceRef(tmp_path / "seq"), project_path=proj, stack=stack)
    stack.push(MoveVertex(0, 1, (5.0, 0.3, 0.02)))
    stack.push(SplitElement(0, 1))
    stack.push(DeleteMapElement(1))
    # journaled, not written as full copies
    assert not store.path.exists() and store.journal_path.exists()
    rec = RecoveryStore(AnnotationDocument(10), SequenceRef(tmp_path / "seq"), project_path=proj,
                        stack=UndoStack(AnnotationDocument(10)))
    assert rec.load_recovery().document.to_dict() == doc.to_dict()
    assert sorted(doc.map_elements) == [0, 2]
