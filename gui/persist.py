"""Saving the annotation project and the autosave recovery copy, through ``formats.project``.

- :func:`save_project` writes the project file atomically (``formats.project.save_project``:
  temp file, fsync, rename), with the sequence path relative to the project file.
- :func:`recovery_store` makes the ``formats.project.RecoveryStore`` of a session: the recovery
  copy lives next to the project (``<project>.recovery.json``) or, for a project never saved, in
  ``$FUSIONLABEL_CACHE/recovery/``; the window writes it from a timer, offers it on the next start
  when it is newer than the project (after a crash), and removes it after a save or a discard.
"""

from __future__ import annotations

import os
from pathlib import Path

from formats.project import RecoveryStore
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


def recovery_store(session: Session, interval_s: float, track_clean_state: bool = True) -> RecoveryStore:
    """The recovery store of a session. ``track_clean_state`` False makes it ignore the undo
    stack's clean state (used right after restoring a recovery copy, whose content is not saved
    anywhere although the fresh undo stack is clean)."""
    return RecoveryStore(
        session.doc,
        session.sequence_ref,
        project_path=session.project_path,
        stack=session.undo if track_clean_state else None,
        ontology=session.ontology_name,
        interval_s=interval_s,
    )
