"""Map elements in the project file and the edit journal (a crash loses no map edit)."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_qa_command_runs_the_map_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from formats.datasets import open_dataset
    from formats.native import write_synth_scene
    from fusionlabel.cli import main
    from fusionlabel.synth import SynthConfig, SynthScene

    seq = write_synth_scene(SynthScene(SynthConfig(frames=2, seed=0, cameras=1, image_size=(64, 36), azimuths=360)),
                            tmp_path / "seq")
    assert main(["qa", str(seq), "--json", "--fail-on", "never"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "map_ground" in out["counts"] and not [f for f in out["findings"] if f["check"].startswith("map_")]
    doc = open_dataset(seq).annotations
    stack = UndoStack(doc)
    x, y = doc.map_element(0).vertices[10, :2]  # on the centre line, near the ego
    stack.push(AddMapElement("stop_line", [[x, y, 1.0], [x + 3.0, y, 1.0]]))  # 1 m above the road
    stack.push(AddMapElement("ped_crossing", [[x, y, 0], [x + 2, y + 2, 0], [x + 2, y, 0], [x, y + 2, 0]]))
    proj = tmp_path / "p.flproj"
    save_project(proj, doc, seq)
    assert main(["qa", str(proj), "--json", "--fail-on", "never"]) == 0
    found = {(f["check"], f["details"]["element_id"]) for f in json.loads(capsys.readouterr().out)["findings"]
             if f["check"].startswith("map_")}
    n = len(doc.map_elements)
    assert ("map_ground", n - 2) in found and ("map_self_intersection", n - 1) in found
