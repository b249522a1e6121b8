"""``fusionlabel review-proposals``: accept above a confidence, reject below it or the rest, on a
project file; the result is written back and errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formats.project import load_project, save_project
from fusionlabel.box import Box3D
from fusionlabel.cli import main
from fusionlabel.document import AnnotationDocument, Proposal


def _project(path: Path) -> Path:
    doc = AnnotationDocument(frame_count=3)
    for pid, (x, conf) in enumerate(((10.0, 0.9), (20.0, 0.7), (30.0, 0.4), (40.0, 0.1))):
        boxes = {f: Box3D((x + f, 0.0, 0.8), (4.0, 1.8, 1.6), 0.0) for f in range(3)}
        doc._insert_proposal(Proposal(pid, "car", boxes, dict.fromkeys(boxes, conf), conf))
    save_project(path, doc, path.parent / "seq")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["review-proposals", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_accept_above_and_reject_below(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _project(tmp_path / "p.flproj")
    out = tmp_path / "q.flproj"
    rep = _run(capsys, str(src), "--accept-above", "0.6", "--reject-below", "0.3", "--out", str(out))
    assert (rep["accepted"], rep["rejected"], rep["proposals_left"], rep["human_tracks"]) == (2, 1, 1, 2)
    doc = load_project(out).document
    assert [p.confidence for p in doc.proposals.values()] == [0.4] and len(doc.tracks) == 2
    # moving vehicles: the first keyframe, the other boxes the machine's (tracked; an edit re-tracks them)
    assert all(t.label == "car" and sorted(t.keyframes) == [0] and sorted(t.tracked) == [1, 2]
               for t in doc.tracks.values())
    assert len(load_project(src).document.proposals) == 4  # --out: the source is untouched
    rep = _run(capsys, str(out), "--reject-rest")  # written back to itself
    assert rep["rejected"] == 1 and not load_project(out).document.proposals


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _project(tmp_path / "p.flproj")
    assert main(["review-proposals", str(src)]) == 2  # nothing to do
    assert main(["review-proposals", str(src), "--accept-above", "1.5"]) == 2
    assert main(["review-proposals", str(tmp_path / "missing.flproj"), "--reject-rest"]) == 2
    err = capsys.readouterr().err
    assert "nothing to do" in err and "1.5" in err and "missing.flproj" in err


def test_accept_above_the_queue_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--accept-above`` without a value takes the review queue's threshold (at 0.45: the 0.9 and
    0.7 proposals of 0.9 / 0.7 / 0.4 / 0.1)."""
    from fusionlabel.assist.review import ACCEPT_THRESHOLD

    src = _project(tmp_path / "p.flproj")
    rep = _run(capsys, str(src), "--accept-above")
    assert rep["accepted"] == sum(c >= ACCEPT_THRESHOLD for c in (0.9, 0.7, 0.4, 0.1)) >= 2
