"""Autosave and crash recovery of the project (RecoveryStore)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from formats.project import (
    RecoveryStore,
    SequenceRef,
    is_recovery_newer,
    load_project,
    recovery_path_for_project,
    recovery_path_for_sequence,
    save_project,
)
from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument

BOX = Box3D((1.0, 2.0, 0.8), (4.5, 1.9, 1.6), 0.3)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def setup(tmp_path: Path, saved: bool = True, journal: bool = True):
    seq = tmp_path / "seq"
    seq.mkdir(exist_ok=True)
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, BOX))
    proj = tmp_path / "p.flproj"
    if saved:
        save_project(proj, doc, seq)
        stack.mark_clean()
    clock = Clock()
    store = RecoveryStore(doc, SequenceRef(seq), project_path=proj if saved else None, cache_dir=tmp_path / "cache",
                          stack=stack, interval_s=30.0, clock=clock, journal=journal)
    return doc, stack, proj, store, clock


def test_autosave_only_when_dirty_and_after_the_interval(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path, journal=False)  # the timer alone
    assert store.path == recovery_path_for_project(proj) == tmp_path / "p.flproj.recovery.json"
    clock.t += 100
    assert not store.maybe_autosave() and not store.has_recovery()  # clean: nothing to recover
    stack.push(SetKeyframe(0, 5, BOX.replace(center=(5.0, 2.0, 0.8))))
    assert store.dirty
    assert store.maybe_autosave()  # the last write was long ago
    assert store.has_recovery() and not store.dirty
    stack.push(SetKeyframe(0, 6, BOX))
    clock.t += 10
    assert not store.maybe_autosave()  # within the interval
    clock.t += 25
    assert store.maybe_autosave()
    clock.t += 100
    assert not store.maybe_autosave()  # nothing changed since
    rec = store.load_recovery()
    assert rec.document.to_dict() == doc.to_dict()
    assert rec.meta["recovery"] is True and rec.meta["recovery_of"] == str(proj)
    assert rec.sequence.path == (tmp_path / "seq").resolve()


def test_recovery_newer_than_the_project_after_a_crash(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path)
    stack.push(SetKeyframe(0, 5, BOX))
    store.write_recovery()
    # "crash": a new session opens the same project
    store2 = RecoveryStore(AnnotationDocument(10), tmp_path / "seq", project_path=proj)
    assert store2.has_recovery() and store2.recovery_is_newer()
    assert 5 in store2.load_recovery().document.track(0).keyframes
    assert 5 not in load_project(proj).document.track(0).keyframes
    # the user saved the project afterwards: the recovery is older, not offered
    save_project(proj, doc, tmp_path / "seq")
    assert not store2.recovery_is_newer()


def test_newer_check_uses_saved_at_not_file_times(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path)
    stack.push(SetKeyframe(0, 5, BOX))
    store.write_recovery()
    save_project(proj, doc, tmp_path / "seq", now_ns=1)  # e.g. copied from another machine, old stamp
    os.utime(proj, ns=(10**19, 10**19))
    assert store.recovery_is_newer()
    assert is_recovery_newer(store.path, tmp_path / "no-project.flproj")
    assert not is_recovery_newer(tmp_path / "no-recovery.json", proj)


def test_saving_discards_the_recovery(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path)
    stack.push(SetKeyframe(0, 5, BOX))
    store.write_recovery()
    save_project(proj, doc, tmp_path / "seq")
    stack.mark_clean()
    store.mark_saved()
    assert not store.has_recovery() and not store.dirty


def test_undo_back_to_the_saved_state_removes_a_stale_recovery(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path)
    stack.push(SetKeyframe(0, 5, BOX))
    store.write_recovery()
    stack.undo()
    assert stack.is_clean and not store.dirty
    assert not store.maybe_autosave() and not store.has_recovery()


def test_unsaved_project_recovers_from_the_cache_keyed_by_sequence(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path, saved=False)
    assert store.path == recovery_path_for_sequence(tmp_path / "seq", tmp_path / "cache")
    assert store.path.parent == tmp_path / "cache" / "recovery" and store.path.name.startswith("seq-")
    assert recovery_path_for_sequence(tmp_path / "other" / "seq", tmp_path / "cache") != store.path
    clock.t += 100
    assert store.maybe_autosave() and store.has_recovery() and store.recovery_is_newer()
    cached = store.path
    # first save: the recovery moves next to the project, the cached one goes
    save_project(proj, doc, tmp_path / "seq")
    stack.mark_clean()
    store.mark_saved(proj)
    assert not cached.exists() and store.path == recovery_path_for_project(proj)
    assert not store.has_recovery()


def test_discard_and_close(tmp_path: Path) -> None:
    doc, stack, proj, store, clock = setup(tmp_path)
    store.discard()  # nothing to remove: fine
    stack.push(SetKeyframe(0, 5, BOX))
    store.write_recovery()
    store.discard()
    assert not store.has_recovery()
    store.close()
    stack.push(SetKeyframe(0, 6, BOX))
    store._dirty = False
    assert not store.dirty  # no longer watching


def test_recovery_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc, stack, proj, store, clock = setup(tmp_path)
    stack.push(SetKeyframe(0, 5, BOX))
    store.write_recovery()
    before = store.path.read_bytes()
    stack.push(SetKeyframe(0, 6, BOX))

    def fail(*a: object) -> None:
        raise OSError("boom")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        store.write_recovery()
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert store.dirty  # still to be written
    assert json.loads(before)["meta"]["recovery"] is True


def test_bad_interval() -> None:
    with pytest.raises(ValueError):
        RecoveryStore(AnnotationDocument(1), "seq", interval_s=0)
