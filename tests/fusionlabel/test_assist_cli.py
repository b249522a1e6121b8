"""``fusionlabel prelabel``: proposals written into a project file next to the human labels, re-runs
replace only the proposals, an external detector plugs in, errors are one line."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from formats.project import load_project, save_project
from fusionlabel.assist import AcceptProposal
from fusionlabel.cli import main
from fusionlabel.commands import UndoStack
from fusionlabel.geometry import bev_iou_matrix
from tests.conftest import real_data


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["prelabel", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_prelabel_kitti_flat_keeps_human_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = real_data("pointpillars_demo", "pointpillars", "dataset", "demo_data", "val")
    out = tmp_path / "val.flproj"
    rep = _run(capsys, str(src), "--format", "kitti-flat", "--tolerance-ms", "40", "--out", str(out))
    assert rep["frames"] == 1 and rep["human_tracks"] == 15 and rep["proposals"] > 0
    confs = [q["confidence"] for q in rep["review_queue"]]
    assert confs == sorted(confs, reverse=True)  # the review order: highest confidence first
    proj = load_project(out)
    doc = proj.document
    assert proj.sequence.format == "kitti-flat" and len(doc.tracks) == 15 and len(doc.proposals) == rep["proposals"]
    assert proj.sequence.options == {"tolerance_ms": 40.0}  # the project reopens its sequence the same way
    human = [r.box for r in doc.boxes_at(0)]
    props = [r.box for r in doc.proposals_at(0)]
    assert bev_iou_matrix(props, human).max() <= 0.1  # what humans labelled is not proposed again
    # accept one proposal, save, run again on the project: the accepted one stays a track and is
    # not proposed a second time; the other proposals are replaced, not duplicated
    stack = UndoStack(doc)
    first = min(doc.proposals)
    stack.push(AcceptProposal(first))
    save_project(out, doc, proj.sequence, ontology=proj.ontology)
    rep2 = _run(capsys, str(out))
    doc2 = load_project(out).document
    assert len(doc2.tracks) == 16 and rep2["proposals"] == rep["proposals"] - 1
    assert load_project(out).sequence.options == {"tolerance_ms": 40.0}


DETECTOR = '''
def detect(frame):
    return [{"box": [12.0, 1.0, -1.0, 4.0, 1.8, 1.5, 0.0], "label": "car", "score": 0.9}]
'''


def test_prelabel_native_with_an_external_detector(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "3", "--cameras", "1", "--size", "160x90"]) == 0
    capsys.readouterr()
    (tmp_path / "fl_cli_test_det.py").write_text(textwrap.dedent(DETECTOR))
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "p.flproj"
    rep = _run(capsys, str(seq), "--out", str(out), "--detector", "fl_cli_test_det:detect", "--frames", "0:2")
    sys.modules.pop("fl_cli_test_det", None)
    doc = load_project(out).document
    assert rep["frames"] == 3 and len(doc.tracks) > 0  # the ground truth of the scene is kept as labels
    (p,) = doc.proposals.values()
    assert p.source == "detector:fl_cli_test_det:detect" and sorted(p.boxes) == [0, 1, 2]


def test_prelabel_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prelabel", str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "1", "--cameras", "1", "--size", "160x90"]) == 0
    capsys.readouterr()
    assert main(["prelabel", str(seq), "--frames", "3:9", "--out", str(tmp_path / "x.flproj")]) == 2
    assert "out of range" in capsys.readouterr().err
    out = str(tmp_path / "x.flproj")
    assert main(["prelabel", str(seq), "--detector", "no_such_module_xyz:det", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "no_such_module_xyz" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.flproj").exists()
