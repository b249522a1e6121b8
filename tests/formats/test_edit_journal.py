"""The edit journal (formats.journal) under the recovery store: every applied edit survives a
crash; a torn or corrupt record is ignored; stale temporary files of crashed writes go."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from formats.errors import FormatError
from formats.io import atomic_write_bytes, remove_stale_temps, staged_output
from formats.journal import apply_records, decode_lines, encode_line, journal_path_for, read_journal
from formats.project import RecoveryStore, SequenceRef, load_project, save_project
from fusionlabel.assist.review import SetProposals
from fusionlabel.box import Box3D
from fusionlabel.commands import (
    AddIssueMarker,
    CreateTrack,
    DeleteTrack,
    SetAttribute,
    SetKeyframe,
    SetLabel,
    SetReview,
    UndoStack,
)
from fusionlabel.document import AnnotationDocument, Proposal, Review
from fusionlabel.trackops import EndTrack, ExtendTrack, FlipTrack, ResizeTrack, SetGap, SetTracked

BOX = Box3D((1.0, 2.0, 0.8), (4.5, 1.9, 1.6), 0.3)


def moved(x: float) -> Box3D:
    return BOX.replace(center=(x, 2.0, 0.8))


def saved_project(tmp_path: Path) -> tuple[AnnotationDocument, UndoStack, Path, RecoveryStore]:
    (tmp_path / "seq").mkdir()
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, BOX))
    proj = tmp_path / "p.flproj"
    save_project(proj, doc, tmp_path / "seq")
    stack.mark_clean()
    store = RecoveryStore(doc, SequenceRef(tmp_path / "seq"), project_path=proj, stack=stack)
    return doc, stack, proj, store


def reopen(tmp_path: Path, proj: Path) -> RecoveryStore:
    """A new session's store of the same project (after a crash: nothing was closed)."""
    return RecoveryStore(AnnotationDocument(10), SequenceRef(tmp_path / "seq"), project_path=proj,
                         stack=UndoStack(AnnotationDocument(10)))


def edits() -> list:
    p = Proposal(0, "pedestrian", {2: moved(9.0), 3: moved(9.5)}, {2: 0.4, 3: 0.5}, 0.45)
    return [
        SetKeyframe(0, 5, moved(5.0)),
        CreateTrack("pedestrian", 2, moved(-3.0)),
        SetLabel(0, "truck"),
        SetAttribute(0, "state", "parked"),
        SetReview(5, Review("rejected", "too long", "qa"), track_id=0),
        SetReview(3, Review("accepted", "", "qa")),
        AddIssueMarker((1.0, 2.0, 0.0), "check this", "qa", frame=4, when=7),
        SetGap(0, 7, 8),
        SetTracked(0, {1: moved(1.5), 2: moved(2.0)}, {1: 0.9, 2: 0.4}),
        FlipTrack(0),
        ResizeTrack(0, (4.0, 1.8, 1.5)),
        ExtendTrack(0),
        EndTrack(0, 8),
        SetProposals([p]),
        DeleteTrack(1),
    ]


def test_every_edit_is_journaled_and_replayed_without_any_autosave(tmp_path: Path) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    states = []
    for cmd in edits():
        stack.push(cmd)
        states.append(doc.to_dict())
    stack.undo()  # undo and redo are journaled too
    stack.undo()
    stack.redo()
    # no full copy was written: the journal continues the saved project file
    assert not store.path.exists() and store.journal_path.exists() and store.has_recovery()
    rec = reopen(tmp_path, proj)
    assert rec.recovery_is_newer() and rec.offer_path == store.journal_path
    project = rec.load_recovery()
    assert project.document.to_dict() == states[-2] == doc.to_dict()
    assert project.meta["journal_records"] == project.meta["edits"] == len(edits()) + 3
    assert project.meta["recovery_base"] == "project" and project.meta["recovery"] is True
    # the project file changed on disk (saved by someone else): the journal does not fit it any more
    save_project(proj, AnnotationDocument(10), tmp_path / "seq")
    assert not reopen(tmp_path, proj).recovery_is_newer()


def test_a_never_saved_document_starts_with_a_full_copy(tmp_path: Path) -> None:
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    store = RecoveryStore(doc, SequenceRef(tmp_path / "seq"), cache_dir=tmp_path / "cache", stack=stack)
    stack.push(CreateTrack("car", 0, BOX))
    assert load_project(store.path).document.to_dict() == doc.to_dict()  # the first edit: a full copy
    stack.push(SetKeyframe(0, 5, moved(5.0)))
    assert load_project(store.path).document.to_dict() != doc.to_dict()  # the second: the journal only
    rec = RecoveryStore(AnnotationDocument(10), SequenceRef(tmp_path / "seq"), cache_dir=tmp_path / "cache")
    project = rec.load_recovery()
    assert project.document.to_dict() == doc.to_dict() and project.meta["journal_records"] == 1
    assert project.meta["edits"] == 2


def test_a_full_copy_restarts_the_journal_and_an_old_journal_is_not_replayed(tmp_path: Path) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    stack.push(SetKeyframe(0, 5, moved(5.0)))
    stack.push(SetKeyframe(0, 6, moved(6.0)))
    old_journal = store.journal_path.read_bytes()
    assert len(decode_lines(old_journal)) == 3  # header (the project) + two records
    store.write_recovery()
    assert len(decode_lines(store.journal_path.read_bytes())) == 1  # header only
    stack.push(SetKeyframe(0, 7, moved(7.0)))
    assert reopen(tmp_path, proj).load_recovery().document.to_dict() == doc.to_dict()
    # a crash between the full copy and the new journal leaves the previous journal: its base is
    # the previous copy, so it is not replayed over the newer copy (which holds its edits)
    store.journal_path.write_bytes(old_journal)
    project = reopen(tmp_path, proj).load_recovery()
    assert project.meta["journal_records"] == 0
    assert 7 not in project.document.track(0).keyframes and 6 in project.document.track(0).keyframes


@pytest.mark.parametrize("damage", ["torn", "crc", "seq"])
def test_a_torn_or_corrupt_record_is_ignored_with_what_follows(tmp_path: Path, damage: str) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    for x in (5, 6, 7, 8):
        stack.push(SetKeyframe(0, x, moved(float(x))))
    data = store.journal_path.read_bytes()
    lines = data.split(b"\n")[:-1]  # header, frames 5, 6, 7, 8
    assert len(lines) == 5
    if damage == "torn":  # the last write was cut short
        data = data[: -len(lines[-1]) // 2 - 1]
        expect = {5, 6, 7}
    elif damage == "crc":  # a flipped byte in the second record
        bad = lines[2].replace(b'"center"', b'"centre"', 1)
        data = b"\n".join([lines[0], lines[1], bad, *lines[3:]]) + b"\n"
        expect = {5}
    else:  # a record missing
        data = b"\n".join([lines[0], lines[1], *lines[3:]]) + b"\n"
        expect = {5}
    store.journal_path.write_bytes(data)
    got = set(reopen(tmp_path, proj).load_recovery().document.track(0).keyframes) - {0}
    assert got == expect


def test_records_are_states_so_replaying_twice_changes_nothing(tmp_path: Path) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    for cmd in edits():
        stack.push(cmd)
    base = load_project(proj).document.to_dict()
    records, _ = read_journal(store.journal_path, store._project_token())
    assert len(records) == len(edits())
    once = apply_records(base, records)
    assert apply_records(once, records) == once == doc.to_dict()


def test_save_and_undo_to_the_saved_state_remove_the_journal(tmp_path: Path) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    stack.push(SetKeyframe(0, 5, moved(5.0)))
    stack.push(SetKeyframe(0, 6, moved(6.0)))
    save_project(proj, doc, tmp_path / "seq")
    stack.mark_clean()
    store.mark_saved()
    assert not store.has_recovery() and not store.journal_path.exists()
    stack.push(SetKeyframe(0, 7, moved(7.0)))  # the first edit after a save: journaled on the saved file
    assert not store.path.exists() and len(decode_lines(store.journal_path.read_bytes())) == 2
    assert reopen(tmp_path, proj).load_recovery().document.to_dict() == doc.to_dict()
    stack.undo()
    assert not store.maybe_autosave() and not store.has_recovery() and not store.journal_path.exists()


def test_move_aside_folds_the_journal_into_the_kept_copy(tmp_path: Path) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    stack.push(SetKeyframe(0, 5, moved(5.0)))
    stack.push(SetKeyframe(0, 6, moved(6.0)))
    kept = reopen(tmp_path, proj).move_aside()
    assert kept.name.startswith("p.flproj.recovery.kept-") and not store.path.exists()
    assert not store.journal_path.exists()
    assert load_project(kept).document.to_dict() == doc.to_dict()


def test_a_failed_append_is_reported_and_the_next_edit_writes_a_full_copy(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    errors: list[Exception] = []
    store.on_error = errors.append
    stack.push(SetKeyframe(0, 5, moved(5.0)))

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    stack.push(SetKeyframe(0, 6, moved(6.0)))  # the edit itself is not undone
    monkeypatch.undo()
    assert 6 in doc.track(0).keyframes and len(errors) == 1
    stack.push(SetKeyframe(0, 7, moved(7.0)))
    assert reopen(tmp_path, proj).load_recovery().document.to_dict() == doc.to_dict()


def test_line_format() -> None:
    line = encode_line({"seq": 3, "tracks": {}})
    assert line.endswith(b"\n") and line[8:9] == b" "
    assert decode_lines(line + line[:-1]) == [{"seq": 3, "tracks": {}}]  # the second is torn
    assert journal_path_for("/a/p.flproj.recovery.json") == Path("/a/p.flproj.recovery.journal")


def test_atomic_writes_respect_the_umask_and_keep_a_file_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
        os.chmod(tmp_path / "a.json", 0o600)
        atomic_write_bytes(tmp_path / "a.json", b"{}")  # replacing keeps the file's mode
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
        with staged_output(tmp_path / "out") as tmp:
            (tmp / "x").write_text("x")
        assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750
    finally:
        os.umask(old)


def test_stale_temps_of_dead_writers_go_live_or_young_ones_stay(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    names = {
        "dead": f".annotations.flproj.pid{dead_pid}.abc123.tmp",
        "live": f".annotations.flproj.pid{os.getpid()}.def456.tmp",  # another window writing now
        "legacy": ".annotations.flproj.k2j4h5.tmp",  # no process id: goes when old
        "young": f".annotations.flproj.pid{dead_pid}.young.tmp",
        "other": ".notes.txt.pid1.x.tmp",  # not one of the names asked for
        # a live writer of a longer name that starts with one asked for
        "live-longer": f".annotations.flproj.recovery.json.pid{os.getpid()}.ghi789.tmp",
    }
    for n in names.values():
        (tmp_path / n).write_bytes(b"x")
    partial = tmp_path / f".synth-seed0.pid{dead_pid}.q1w2.partial"
    partial.mkdir()
    (partial / "frame.bin").write_bytes(b"x")
    old = 1_000_000.0
    for p in tmp_path.iterdir():
        if "young" not in p.name:
            os.utime(p, (old, old))
    removed = remove_stale_temps(tmp_path, ["annotations.flproj", "annotations.flproj.recovery.json",
                                            "synth-seed0"], now=old + 3600)
    assert sorted(p.name for p in removed) == sorted([names["dead"], names["legacy"], partial.name])
    assert all((tmp_path / names[k]).exists() for k in ("live", "young", "other", "live-longer"))
    assert not partial.exists()


def test_the_timer_writes_a_full_copy_only_to_fold_a_grown_journal(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import formats.project as project_module

    monkeypatch.setattr(project_module, "JOURNAL_COMPACT_BYTES", 3000)
    doc, stack, proj, store = saved_project(tmp_path)
    later = 1e12  # the autosave interval has long passed
    stack.push(SetKeyframe(0, 1, moved(1.0)))
    assert store.dirty and not store.maybe_autosave(now=later)  # the journal holds it: no full write
    assert not store.path.exists()
    x = 2
    while store.journal.size <= 3000:
        stack.push(SetKeyframe(0, x % 10, moved(float(x))))
        x += 1
    assert store.maybe_autosave(now=later)  # folded into a full copy; the journal restarts
    assert store.path.exists() and len(decode_lines(store.journal_path.read_bytes())) == 1
    stack.push(SetKeyframe(0, 3, moved(33.0)))
    project = reopen(tmp_path, proj).load_recovery()
    assert project.document.to_dict() == doc.to_dict() and project.meta["journal_records"] == 1
    assert project.meta["edits"] == x  # x - 1 pushes folded in the copy, one journaled after it


def test_a_second_window_on_the_same_project_turns_the_first_ones_journal_off(tmp_path: Path) -> None:
    doc, stack, proj, store = saved_project(tmp_path)
    errors: list[Exception] = []
    store.on_error = errors.append
    stack.push(SetKeyframe(0, 5, moved(5.0)))
    doc2 = load_project(proj).document
    stack2 = UndoStack(doc2)
    store2 = RecoveryStore(doc2, SequenceRef(tmp_path / "seq"), project_path=proj, stack=stack2)
    stack2.push(SetKeyframe(0, 6, moved(6.0)))  # its journal replaces the first one's file
    stack.push(SetKeyframe(0, 7, moved(7.0)))
    assert store.journal is None and len(errors) == 1 and "open twice" in str(errors[0])
    assert store2.journal is not None
    stack2.push(SetKeyframe(0, 8, moved(8.0)))
    assert reopen(tmp_path, proj).load_recovery().document.to_dict() == doc2.to_dict()  # the last writer's


def test_an_event_the_journal_does_not_know_writes_a_full_copy(tmp_path: Path) -> None:
    from fusionlabel.commands import Command

    class NewKind(Command):  # a future edit whose event kind the journal has no record for
        def apply(self, doc: AnnotationDocument) -> None:
            doc.track(0).attributes["x"] = "1"
            doc._emit("something_new", 0, ())

        def revert(self, doc: AnnotationDocument) -> None:
            doc.track(0).attributes.pop("x")
            doc._emit("something_new", 0, ())

    doc, stack, proj, store = saved_project(tmp_path)
    stack.push(NewKind())
    assert store.path.exists()  # a full copy, not a record that would miss the change
    assert reopen(tmp_path, proj).load_recovery().document.track(0).attributes == {"x": "1"}


def test_a_staged_output_removes_what_an_earlier_crashed_run_left(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)
    left = tmp_path / f".synth-seed5.pid{dead}.k3j2.partial"  # a synth killed half-way
    left.mkdir()
    (left / "0000.bin").write_bytes(b"x")
    os.utime(left, (1e6, 1e6))
    with staged_output(tmp_path / "synth-seed5") as tmp:
        (tmp / "fusionlabel.json").write_text("{}")
    assert not left.exists() and (tmp_path / "synth-seed5" / "fusionlabel.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth-seed5"]


def test_a_recovery_copy_or_journal_linked_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    here = tmp_path / "p"
    here.mkdir()
    doc, stack, proj, store = saved_project(here)
    stack.push(SetKeyframe(0, 5, moved(5.0)))
    store.write_recovery()
    stack.push(SetKeyframe(0, 6, moved(6.0)))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for f in (store.journal_path, store.path):
        moved_to = outside / f.name
        f.rename(moved_to)
        f.symlink_to(moved_to)
        with pytest.raises(FormatError, match="outside its folder"):
            reopen(here, proj).load_recovery()
        f.unlink()
        moved_to.rename(f)
    assert reopen(here, proj).load_recovery().document.to_dict() == doc.to_dict()
