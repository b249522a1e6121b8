"""Saving the annotation project, the autosave recovery copy and restoring it (no Qt).

Interim project file (until ``formats.project`` is wired in): a JSON object
``{"format": "fusionlabel-gui-project", "version": 1, "sequence": "<path of the sequence>",
"document": AnnotationDocument.to_dict()}`` written atomically (``formats.io``: temp file, fsync,
rename). The recovery copy has the same layout and lives in the cache folder
(``$FUSIONLABEL_CACHE/recovery/<sequence name>-<hash of its path>.json``), so read-only datasets
work; it is removed after a successful save or when the user discards the changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from gui.session import Session

PROJECT_FORMAT = "fusionlabel-gui-project"
PROJECT_VERSION = 1


def _cache_dir() -> Path:
    from fusionlabel.cli import cache_dir

    return cache_dir()


def default_project_path(session: Session) -> Path:
    """Suggested project file: ``<sequence>/labels/annotations.json`` (native sequences)."""
    root = session.seq.root or session.source
    return Path(root) / "labels" / "annotations.json"


def project_dict(session: Session) -> dict[str, Any]:
    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "sequence": str(Path(session.source).resolve()),
        "document": session.doc.to_dict(),
    }


def save_project(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write the project atomically to ``path``; returns the path."""
    from formats.io import atomic_write_json

    p = Path(path)
    atomic_write_json(p, project_dict(session))
    return p


def read_project(path: str | os.PathLike[str]) -> AnnotationDocument:
    """The document of a project (or recovery) file; ValueError naming the file when malformed."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{p}: cannot read the project: {e}") from None
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        fmt = data.get("format") if isinstance(data, dict) else None
        raise ValueError(f"{p}: not a FusionLabel project (format {fmt!r})")
    try:
        return AnnotationDocument.from_dict(data["document"])
    except (KeyError, ValueError) as e:
        raise ValueError(f"{p}: {e}") from None


def recovery_path(session: Session) -> Path:
    key = hashlib.sha1(str(Path(session.source).resolve()).encode("utf-8")).hexdigest()[:12]
    return _cache_dir() / "recovery" / f"{session.seq.name}-{key}.json"


def write_recovery(session: Session) -> Path:
    """Write the recovery copy (atomically); returns its path."""
    return save_project(session, recovery_path(session))


def find_recovery(session: Session) -> Path | None:
    """The recovery copy of this sequence when one exists and is newer than the project file."""
    p = recovery_path(session)
    if not p.exists():
        return None
    proj = session.project_path
    if proj is not None and proj.exists() and proj.stat().st_mtime >= p.stat().st_mtime:
        return None
    return p


def restore_recovery(session: Session, path: Path) -> None:
    """Replace the session's document by the recovery copy (a fresh undo stack)."""
    doc = read_project(path)
    if doc.frame_count is not None and doc.frame_count != len(session.seq):
        raise ValueError(f"{path}: made for {doc.frame_count} frames, the sequence has {len(session.seq)}")
    session.doc = doc
    session.undo = UndoStack(doc)


def remove_recovery(session: Session) -> None:
    try:
        recovery_path(session).unlink()
    except FileNotFoundError:
        pass
