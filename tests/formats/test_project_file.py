"""The native project file: round trip, relative sequence path, atomic saves, clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from formats.errors import FormatError
from formats.project import PROJECT_FORMAT, SequenceRef, load_project, project_from_dict, save_project
from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetAttribute, SetKeyframe, SetReview, UndoStack
from fusionlabel.document import AnnotationDocument


def sample_doc() -> AnnotationDocument:
    doc = AnnotationDocument(20)
    st = UndoStack(doc)
    st.push(CreateTrack("car", 0, Box3D((1.0, 2.0, 0.8), (4.5, 1.9, 1.6), 0.3), {"state": "moving"}))
    st.push(SetKeyframe(0, 10, Box3D((11.0, 2.5, 0.8), (4.5, 1.9, 1.6), 0.35)))
    st.push(CreateTrack("pedestrian", 3, Box3D((5.0, -3.0, 0.9), (0.7, 0.6, 1.8), -1.2)))
    st.push(SetAttribute(1, "state", "standing"))
    st.push(SetReview.make(5, "accepted", track_id=0, who="qa", when=123))
    st.push(SetReview.make(7, "rejected", comment="missing cyclist", who="qa", when="2026-01-01T00:00:00Z"))
    return doc


def test_round_trip(tmp_path: Path) -> None:
    seq = tmp_path / "data" / "seq0"
    seq.mkdir(parents=True)
    proj = tmp_path / "projects" / "p.flproj"
    doc = sample_doc()
    saved = save_project(proj, doc, SequenceRef(seq, "native", "seq0"), saved_by="alice", meta={"note": "x"},
                         now_ns=1_700_000_000_123_456_789)
    raw = json.loads(proj.read_text(encoding="utf-8"))
    assert raw["format"] == PROJECT_FORMAT and raw["version"] == 1
    assert raw["sequence"]["path"] == "../data/seq0"
    assert raw["sequence"]["format"] == "native" and raw["sequence"]["name"] == "seq0"
    assert raw["meta"]["saved_by"] == "alice" and raw["meta"]["note"] == "x"
    assert raw["meta"]["saved_at_ns"] == 1_700_000_000_123_456_789
    assert raw["meta"]["saved_at"].startswith("2023-11-14T22:13:20.123456")
    p = load_project(proj)
    assert p.document.to_dict() == doc.to_dict()
    assert p.sequence == SequenceRef(seq.resolve(), "native", "seq0") == saved.sequence
    assert p.ontology == "default" and p.saved_at_ns == saved.saved_at_ns
    assert p.document.box_review(0, 5).status == "accepted"
    assert p.document.frame_review(7).comment == "missing cyclist"


def test_project_and_data_move_together(tmp_path: Path) -> None:
    (tmp_path / "a" / "seq").mkdir(parents=True)
    save_project(tmp_path / "a" / "p.flproj", sample_doc(), tmp_path / "a" / "seq")
    os.rename(tmp_path / "a", tmp_path / "b")
    p = load_project(tmp_path / "b" / "p.flproj")
    assert p.sequence.path == (tmp_path / "b" / "seq").resolve() and p.sequence.exists


def test_absolute_path_fallback_when_only_the_project_moves(tmp_path: Path) -> None:
    seq = tmp_path / "seq"
    seq.mkdir()
    save_project(tmp_path / "p1" / "p.flproj", sample_doc(), seq)
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    os.rename(tmp_path / "p1" / "p.flproj", tmp_path / "elsewhere" / "deeper" / "p.flproj")
    p = load_project(tmp_path / "elsewhere" / "deeper" / "p.flproj")
    assert p.sequence.path == seq and p.sequence.exists


def test_missing_sequence_is_reported_not_raised(tmp_path: Path) -> None:
    save_project(tmp_path / "p.flproj", sample_doc(), tmp_path / "gone")
    assert not load_project(tmp_path / "p.flproj").sequence.exists


def test_failed_save_leaves_the_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "p.flproj"
    save_project(proj, sample_doc(), tmp_path)
    before = proj.read_bytes()
    doc = sample_doc()
    UndoStack(doc).push(CreateTrack("car", 1, Box3D((0.0, 0.0, 1.0), (1.0, 1.0, 1.0), 0.0)))

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)  # the data is written, fsync fails before the rename
    with pytest.raises(OSError, match="disk full"):
        save_project(proj, doc, tmp_path)
    monkeypatch.undo()
    assert proj.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.flproj"]  # no temp file left behind
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        save_project(proj, doc, tmp_path)
    monkeypatch.undo()
    assert proj.read_bytes() == before and load_project(proj).document.to_dict() == sample_doc().to_dict()


def write(tmp_path: Path, data: object) -> Path:
    p = tmp_path / "bad.flproj"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def good(tmp_path: Path) -> dict:
    save_project(tmp_path / "good.flproj", sample_doc(), tmp_path)
    return json.loads((tmp_path / "good.flproj").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d.update(version=9), "version"),
        (lambda d: d.pop("sequence"), "$: 'sequence' is a required property"),
        (lambda d: d["sequence"].pop("path"), "$.sequence: 'path' is a required property"),
        (lambda d: d["sequence"].update(format=""), "sequence.format"),
        (lambda d: d["sequence"].update(extra=1), "$.sequence: Additional properties are not allowed"),
        (lambda d: d.update(meta=[]), "meta"),
        (lambda d: d.update(bogus=1), "bogus"),
        (lambda d: d.pop("document"), "$: 'document' is a required property"),
        (lambda d: d["document"]["tracks"][0].pop("label"), "$.document.tracks[0]: 'label' is a required property"),
        (lambda d: d["document"]["tracks"][0]["keyframes"]["0"].update(size=[1, 2]), "keyframes['0'].size: [1, 2]"),
    ],
)
def test_malformed_files_name_the_file_and_key(tmp_path: Path, mutate, needle: str) -> None:
    d = good(tmp_path)
    mutate(d)
    p = write(tmp_path, d)
    with pytest.raises(FormatError) as ei:
        load_project(p)
    assert ei.value.path == p and str(p) in str(ei.value)
    assert needle in str(ei.value)


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.flproj"
    p.write_text('{"format": "fusionlabel-project", ', encoding="utf-8")
    with pytest.raises(FormatError, match="invalid JSON at line 1"):
        load_project(p)
    with pytest.raises(FormatError, match="file not found"):
        load_project(tmp_path / "nope.flproj")


def test_project_from_dict_with_base_dir(tmp_path: Path) -> None:
    d = good(tmp_path)
    p = project_from_dict(d, "<memory>", base_dir=tmp_path / "x")
    assert p.path == Path("<memory>")


def test_sequence_reader_options_round_trip(tmp_path: Path) -> None:
    """The reader options a sequence was opened with (estimated ego poses: the world frame the
    boxes are stored in) are kept, so that the project reopens it the same way."""
    seq = tmp_path / "seq"
    seq.mkdir()
    opts = {"estimate_poses": True, "sequence": "0001", "layout": ["velodyne", "image_02"], "tolerance_ms": 30.0}
    save_project(tmp_path / "p.flproj", sample_doc(), SequenceRef(seq, "sustech", "s", opts))
    raw = json.loads((tmp_path / "p.flproj").read_text(encoding="utf-8"))
    assert raw["sequence"]["options"] == opts
    assert load_project(tmp_path / "p.flproj").sequence.options == opts
    # none given: no key written (older readers load it), none read
    save_project(tmp_path / "q.flproj", sample_doc(), SequenceRef(seq, "native"))
    assert "options" not in json.loads((tmp_path / "q.flproj").read_text(encoding="utf-8"))["sequence"]
    assert load_project(tmp_path / "q.flproj").sequence.options == {}


@pytest.mark.parametrize("options, where", [([], "sequence.options"), ({"scene": {"a": 1}}, "sequence.options.scene"),
                                            ({"layout": ["a", 2]}, "sequence.options.layout")])
def test_bad_sequence_options_name_the_key(tmp_path: Path, options: object, where: str) -> None:
    seq = tmp_path / "seq"
    seq.mkdir()
    save_project(tmp_path / "p.flproj", sample_doc(), SequenceRef(seq, "native"))
    raw = json.loads((tmp_path / "p.flproj").read_text(encoding="utf-8"))
    raw["sequence"]["options"] = options
    (tmp_path / "p.flproj").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(FormatError, match=where.replace(".", r"\.")) as e:
        load_project(tmp_path / "p.flproj")
    assert "p.flproj" in str(e.value)


def test_open_options_are_json_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from formats.openargs import add_open_arguments, open_options

    p = argparse.ArgumentParser()
    add_open_arguments(p)
    assert open_options(p.parse_args([])) == {}
    monkeypatch.chdir(tmp_path)
    got = open_options(p.parse_args(["--estimate-poses", "--label-path", "labels/0001.txt", "--layout", "a, b",
                                     "--tolerance-ms", "25"]))
    assert got == {"estimate_poses": True, "label_path": str(tmp_path / "labels" / "0001.txt"), "layout": ["a", "b"],
                   "tolerance_ms": 25.0}
    assert json.loads(json.dumps(got)) == got
