"""Saving the annotation project and the autosave recovery copy, through ``formats.project``.

- :func:`save_project` writes the project file atomically (``formats.project.save_project``:
  temp file, fsync, rename), with the sequence path relative to the project file.
- :func:`recovery_store` makes the ``formats.project.RecoveryStore`` of a session: the recovery
  copy lives next to the project (``<project>.recovery.json``) or, for a project never saved, in
  ``$FUSIONLABEL_CACHE/recovery/``; the window writes it from a timer, offers it on the next start
  when it is newer than the project (after a crash), and removes it after a save or a discard.
  The store also keeps the edit journal (``formats.journal``): every applied edit is appended and
  fsynced beside the recovery copy, so a killed window loses no completed edit.
- :func:`remove_stale_files` removes what crashed writes left next to the session's files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from formats.io import remove_stale_temps, remove_stale_temps_in
from formats.journal import journal_path_for
from formats.pointlabel_recovery import recovery_points_dir
from formats.pointlabels import point_labels_dir
from formats.project import RecoveryStore, recovery_path_for_project, recovery_path_for_sequence
from formats.project import save_project as _save_project
from gui.session import Session


def default_project_path(session: Session) -> Path:
    """Suggested project file: ``<sequence folder>/annotations.flproj``."""
    root = session.seq.root if session.seq.root is not None else session.source
    return Path(root) / "annotations.flproj"


def save_project(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write the session's project atomically to ``path``; returns the path. The caller marks the
    undo stack clean and the recovery store saved."""
    p = Path(path)
    _save_project(p, session.doc, session.sequence_ref, ontology=session.ontology_name)
    return p


def recovery_store(session: Session, interval_s: float, track_clean_state: bool = True, edits: int = 0,
                   on_error: Callable[[Exception], None] | None = None) -> RecoveryStore:
    """The recovery store (autosave and edit journal) of a session. ``track_clean_state`` False
    makes it ignore the undo stack's clean state (used right after restoring a recovery copy, whose
    content is not saved anywhere although the fresh undo stack is clean); ``edits``: edits the
    document already holds (restored ones); ``on_error``: told of a failed journal write."""
    return RecoveryStore(
        session.doc,
        session.sequence_ref,
        project_path=session.project_path,
        stack=session.undo,
        track_clean_state=track_clean_state,
        ontology=session.ontology_name,
        interval_s=interval_s,
        edits=edits,
        on_error=on_error,
    )


def remove_stale_files(session: Session, cache_dir: Path | None = None) -> list[Path]:
    """Remove the temporary files and folders that crashed writes left beside the session's files
    (``formats.io.remove_stale_temps``: old, and no running writer): the project file's, its
    recovery copy's and journal's, the never-saved recovery folder's, and the sequence folder's
    (an interrupted ``synth`` or export). Returns what was removed."""
    removed: list[Path] = []
    if session.project_path is not None:
        p = Path(session.project_path)
        rec = recovery_path_for_project(p)
        removed += remove_stale_temps(p.parent, [p.name, rec.name, journal_path_for(rec).name])
        for labels in (point_labels_dir(p), recovery_points_dir(rec)):  # the point labels beside them
            removed += remove_stale_temps_in(labels)
    rec = recovery_path_for_sequence(session.sequence_ref.path, cache_dir)
    removed += remove_stale_temps(rec.parent, [rec.name, journal_path_for(rec).name])
    removed += remove_stale_temps_in(recovery_points_dir(rec))
    root = Path(session.seq.root if session.seq.root is not None else session.source)
    removed += remove_stale_temps(root.parent, [root.name])
    return removed
