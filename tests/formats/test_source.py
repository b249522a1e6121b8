"""The one opener (formats.source): the project-file rule, the frame-count rule, and that QA,
convert and the command line open through it and apply the same rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formats.errors import FormatError
from formats.project import SequenceRef, save_project
from formats.source import FrameCountError, MissingSequenceError, is_project_file, open_source
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import Track
from fusionlabel.sequence import PointsLike, SensorSequence

FRAMES = 3


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fusionlabel.cli import generate

    root = tmp_path_factory.mktemp("src") / "scene"
    generate(root, frames=FRAMES, seed=3, cameras=1, size=(64, 36), force=True)
    return root


def _project(tmp_path: Path, scene: Path, frame_count: int | None, name: str = "p.flproj") -> Path:
    doc = AnnotationDocument.from_tracks([Track(7, "car", keyframes={0: Box3D((5.0, 1.0, 0.8), (4.0, 1.8, 1.6), 0.2)})],
                                         frame_count)
    out = tmp_path / name
    save_project(out, doc, SequenceRef(scene, "native"))
    return out


# ---- the project-file rule -------------------------------------------------------------------------
def test_project_file_rule(tmp_path: Path, scene: Path) -> None:
    proj = _project(tmp_path, scene, FRAMES)
    assert is_project_file(proj)
    as_json = tmp_path / "p.json"
    as_json.write_text(proj.read_text())
    assert is_project_file(as_json)
    upper = tmp_path / "Q.FLPROJ"
    upper.write_text("not json")
    assert is_project_file(upper)  # by name: a broken project is an error, never a dataset
    with pytest.raises(FormatError, match="Q.FLPROJ"):
        open_source(upper)
    mention = tmp_path / "notes.json"
    mention.write_text(json.dumps({"comment": "fusionlabel-project", "openlabel": {}}))
    assert not is_project_file(mention)  # the word alone is not the format key
    assert not is_project_file(scene / "fusionlabel.json") and not is_project_file(scene)
    assert not is_project_file(tmp_path / "missing.flproj")
    # the callers' own names are the same rule
    from formats.qa_report import is_project_file as qa_rule

    assert [qa_rule(p) for p in (proj, as_json, upper, mention, scene)] == [True, True, True, False, False]


# ---- the seam --------------------------------------------------------------------------------------
def test_dataset_and_project_open_into_one_object(tmp_path: Path, scene: Path) -> None:
    ds = open_source(scene)
    try:
        assert ds.kind == "dataset" and ds.project is None and ds.sequence is not None
        assert ds.document is ds.sequence.annotations and len(ds.sequence) == FRAMES
        assert isinstance(ds.sequence, SensorSequence)  # the core's typed view of an opened sequence
        assert not isinstance(object(), SensorSequence)
        pc = ds.sequence.read_lidar(0)
        assert isinstance(pc, PointsLike) and pc.xyz.shape[1] == 3
    finally:
        ds.close()
    pr = open_source(_project(tmp_path, scene, FRAMES), options={"tolerance_ms": 20.0})
    try:
        assert pr.kind == "project" and pr.project is not None and pr.sequence is not None
        assert pr.document is pr.project.document is pr.sequence.annotations  # writers see the project
        assert list(pr.document.tracks) == [7] and pr.source_path == scene
        assert pr.options == {"tolerance_ms": 20.0} and pr.document.frame_times_ns is not None
    finally:
        pr.close()
    nocount = open_source(_project(tmp_path, scene, None, "n.flproj"))
    assert nocount.document.frame_count == FRAMES
    nocount.close()


def test_frame_count_rule(tmp_path: Path, scene: Path) -> None:
    proj = _project(tmp_path, scene, FRAMES + 2)
    with pytest.raises(FrameCountError) as e:
        open_source(proj)
    msg = str(e.value)
    assert "p.flproj" in msg and f"{FRAMES + 2} frames" in msg and f"has {FRAMES}" in msg and str(scene) in msg
    ok = open_source(proj, frame_mismatch="sequence")
    try:
        assert ok.document.frame_count == FRAMES
        assert any(f"annotated {FRAMES + 2} frames" in n for n in ok.notes)
    finally:
        ok.close()
    with pytest.raises(ValueError, match="frame_mismatch"):
        open_source(proj, frame_mismatch="project")


def test_missing_sequence(tmp_path: Path, scene: Path) -> None:
    proj = _project(tmp_path, scene, FRAMES)
    bad = tmp_path / "a" / "b" / "gone.flproj"  # the relative path does not lead to the sequence either
    bad.parent.mkdir(parents=True)
    bad.write_text(proj.read_text().replace(str(scene), str(tmp_path / "gone")))
    with pytest.raises(MissingSequenceError, match="gone.flproj"):
        open_source(bad)
    src = open_source(bad, require_sequence=False)
    assert src.sequence is None and any("not found" in n for n in src.notes)


# ---- every caller applies the same rule --------------------------------------------------------------
def test_qa_applies_the_rule(tmp_path: Path, scene: Path) -> None:
    from formats.qa_report import open_qa_source

    proj = _project(tmp_path, scene, FRAMES + 1)
    with pytest.raises(FrameCountError, match=f"{FRAMES + 1} frames"):
        open_qa_source(proj)
    src = open_qa_source(proj, frame_mismatch="sequence")
    assert src.kind == "project" and src.document.frame_count == FRAMES and src.records is not None
    assert any("annotated" in n for n in src.notes)


def test_convert_applies_the_rule(tmp_path: Path, scene: Path) -> None:
    from formats.convert import convert, convert_path

    proj = _project(tmp_path, scene, FRAMES + 1)
    with pytest.raises(FrameCountError):
        convert(proj, tmp_path / "out1", "openlabel")
    with pytest.raises(FrameCountError):
        convert_path(proj, tmp_path / "out2", "openlabel")
    assert not (tmp_path / "out1").exists() and not (tmp_path / "out2").exists()
    summary = convert_path(proj, tmp_path / "out3", "openlabel", frame_mismatch="sequence")
    assert summary.frames == FRAMES and summary.boxes >= 1


def test_cli_applies_the_rule(tmp_path: Path, scene: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fusionlabel.cli import main

    proj = _project(tmp_path, scene, FRAMES + 1)
    for argv in (["qa", str(proj)], ["convert", str(proj), str(tmp_path / "o"), "--to", "openlabel"],
                 ["info", str(proj)], ["agree", str(proj), str(proj)],
                 ["export-map", str(proj), str(tmp_path / "m"), "--to", "maptr"],
                 ["track", str(proj), "--out", str(tmp_path / "t.flproj")]):
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{FRAMES + 1} frames" in err and f"has {FRAMES}" in err, argv
    assert main(["qa", str(proj), "--frame-mismatch", "sequence", "--fail-on", "never"]) == 0
    assert main(["info", str(proj), "--frame-mismatch", "sequence"]) == 0
    assert f"{FRAMES} frames" in capsys.readouterr().out


def test_packed_copy_and_its_project(tmp_path: Path, scene: Path) -> None:
    """A packed copy opens through the seam like its folder, and a project on it obeys the rule."""
    from formats.packed import pack

    ds = open_source(scene)
    h5 = tmp_path / "seq.h5"
    pack(ds.sequence, h5)
    ds.close()
    packed = open_source(h5)
    try:
        assert packed.kind == "dataset" and len(packed.sequence) == FRAMES
        assert sorted(packed.document.tracks) == sorted(open_source(scene).document.tracks)
    finally:
        packed.close()
    doc = AnnotationDocument(FRAMES + 1)
    save_project(tmp_path / "h.flproj", doc, SequenceRef(h5, "packed"))
    with pytest.raises(FrameCountError, match=f"{FRAMES + 1} frames"):
        open_source(tmp_path / "h.flproj")
