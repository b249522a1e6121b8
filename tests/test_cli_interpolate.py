"""`fusionlabel interpolate PROJECT --method M`: sets the method, keeps keyframes, saves atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats.project import load_project, save_project
from fusionlabel.box import Box3D
from fusionlabel.cli import main
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import Track


def _project(tmp_path: Path) -> Path:
    turn = {k: Box3D((10 * k, 5 * k * k / 10, 0.8), (4.5, 1.9, 1.6), 0.1 * k) for k in (0, 10, 20)}
    ped = {k: Box3D((k * 0.1, 3, 0.9), (0.6, 0.6, 1.8), 1.5) for k in (0, 20)}
    doc = AnnotationDocument.from_tracks(
        [Track(1, "car", {}, turn, "linear"), Track(2, "pedestrian", {}, ped, "linear")], frame_count=21
    )
    p = tmp_path / "proj.json"
    save_project(p, doc, tmp_path / "seq", sequence_format="native")
    return p


def test_interpolate_sets_method_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _project(tmp_path)
    before = load_project(p).document.track(1).box_at(5)
    assert main(["interpolate", str(p), "--method", "smooth"]) == 0
    out = capsys.readouterr().out
    assert "2 tracks, 5 keyframes, 37 interpolated boxes (smooth)" in out and "2 tracks changed" in out
    doc = load_project(p).document
    assert {t.interpolation for t in doc.tracks.values()} == {"smooth"}
    assert sorted(doc.track(1).keyframes) == [0, 10, 20]  # keyframes only, nothing stored in between
    assert doc.track(1).box_at(5) != before  # the smooth path differs from the straight line


def test_interpolate_dry_run_and_one_track(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _project(tmp_path)
    assert main(["interpolate", str(p), "--method", "smooth", "--track", "2", "--dry-run"]) == 0
    assert "1 tracks changed method (not saved: dry run)" in capsys.readouterr().out
    assert load_project(p).document.track(2).interpolation == "linear"


def test_interpolate_bad_project_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["interpolate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and err.count("\n") == 1
