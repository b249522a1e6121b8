"""The native annotation project file, and autosave / crash recovery.

A project file (suggested suffix ``.flproj``) is UTF-8 JSON, written atomically
(:mod:`formats.io`: temp file, fsync, rename)::

    {
     "format": "fusionlabel-project",
     "version": 1,
     "sequence": {"path": "../scenes/synth-seed0",      # relative to the project file's folder
                  "absolute_path": "/data/scenes/synth-seed0",   # where it was at save time
                  "format": "native",                   # the sequence reader to use
                  "name": "synth-seed0",                # optional
                  "options": {"estimate_poses": true}}, # optional: the reader options it was
                                                        # opened with (the world frame depends on them)
     "ontology": "default",                             # the ontology name (or a file path)
     "document": {...},                                 # AnnotationDocument.to_dict(): tracks with
                                                        # world-frame keyframes, review state
     "meta": {"saved_by": "alice", "saved_at": "2026-11-22T01:02:03.456789+00:00",
              "saved_at_ns": 1795..., "app": "fusionlabel 0.1.0", "...": "free-form"}
    }

Per-point labels (``AnnotationDocument.point_labels``) are saved beside the project file, in the
folder ``<project>.pointlabels/`` (one compressed npz per labelled frame, see
:mod:`formats.pointlabels`), and attached again by :func:`load_project`.

The sequence path is stored relative to the project file when possible (projects and data move
together), with the absolute path as a fallback for a project copied elsewhere: loading resolves
the relative path first, then the absolute one. A missing sequence is not an error here
(``SequenceRef.exists`` says so; the GUI asks the user).

Recovery: :class:`RecoveryStore` keeps a copy of an edited, unsaved document in
``<project>.recovery.json`` next to the project (or, for a project never saved, in
``<cache>/recovery/<sequence name>-<hash of the sequence path>.recovery.json``). The GUI calls
:meth:`RecoveryStore.maybe_autosave` from a timer; after a successful save it calls
:meth:`RecoveryStore.mark_saved`. On start, :meth:`RecoveryStore.recovery_is_newer` says whether
to offer the recovery copy (it was written after the project was last saved).

Nothing lost between autosaves: with an undo stack, the store also keeps the **edit journal**
(:mod:`formats.journal`, ``<project>.recovery.journal``): after every applied command (do, undo,
redo) it appends the touched tracks, reviews, proposals and markers and fsyncs. A journal
continues a full copy on disk, named in its header: after a save, the saved project file itself
(``project:<inode>:<size>:<mtime ns>``, so the first edit costs no full write); else a recovery
copy, which names its journal by a random token (``meta.journal_base``) and counts its edits
(``meta.edits``); a never-saved document's first edit writes that copy. With a journal the
autosave timer writes a full copy only to fold a journal grown past ``JOURNAL_COMPACT_BYTES`` (and
the last copy's size); every full copy restarts the journal; going back to the saved state (undo)
removes both. :meth:`RecoveryStore.load_recovery` is the base with the valid journal records
replayed (a record torn by a crash is ignored), so a process killed at any point loses at most the
edit it was in the middle of.

Errors are :class:`formats.errors.FormatError` naming the file and the key.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formats.errors import FormatError
from formats.io import atomic_write_json, outside_roots, validate
from formats.journal import (
    Changes,
    EditJournal,
    JournalConflict,
    apply_records,
    check_beside,
    journal_path_for,
    read_journal,
)
from formats.native import check_document_frames, read_json
from fusionlabel import __version__
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument, DocumentEvent
from fusionlabel.errors import ModelError
from fusionlabel.sequence import SensorSequence

PROJECT_FORMAT = "fusionlabel-project"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".flproj"
RECOVERY_SUFFIX = ".recovery.json"
#: Default autosave interval, seconds.
AUTOSAVE_INTERVAL_S = 60.0
#: The autosave timer folds the journal into a new full recovery copy once the journal is larger
#: than this (bytes) and than the last full copy (so the copy's cost is spread over many edits).
JOURNAL_COMPACT_BYTES = 1024 * 1024
#: An edit writes a full copy itself only when the journal grew past this many times that size
#: (the timer did not run).
JOURNAL_HARD_FACTOR = 8

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class SequenceRef:
    """Where the annotated sequence is: ``path`` (absolute once resolved), its reader ``format``
    (e.g. ``"native"``, ``"kitti-tracking"``, ``"nuscenes"``), an optional display ``name`` and the
    reader ``options`` it was opened with (``formats.datasets.open_options``: e.g.
    ``{"estimate_poses": True}``, ``{"sequence": "0001"}``; JSON values), so that a project reopens
    its sequence the same way: the world frame the boxes are stored in depends on them."""

    path: Path
    format: str = "native"
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not isinstance(self.format, str) or not self.format:
            raise ValueError(f"sequence format must be a non-empty string, got {self.format!r}")
        if not isinstance(self.options, dict) or not all(isinstance(k, str) for k in self.options):
            raise ValueError(f"sequence options must be a dict with string keys, got {self.options!r}")
        object.__setattr__(self, "options", dict(self.options))

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def open(self, format: str | None = None, **options: Any) -> SensorSequence:
        """The sequence opened as recorded (``formats.datasets.open_dataset`` with ``format`` and
        the recorded ``options``; ``format`` and ``options`` given here override them) ->
        ``LoadedSequence``."""
        from formats.datasets import open_dataset

        return open_dataset(self.path, format or self.format, **{**self.options, **options})


@dataclass
class Project:
    """A loaded project: the file it came from, the sequence reference (path resolved), the
    document, the ontology name and the metadata (``saved_by``, ``saved_at``, ``saved_at_ns``,
    ``app``, plus anything the saver added)."""

    path: Path | None
    sequence: SequenceRef
    document: AnnotationDocument
    ontology: str = "default"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def saved_at_ns(self) -> int | None:
        v = self.meta.get("saved_at_ns")
        return v if isinstance(v, int) and not isinstance(v, bool) else None


# ---- save ----------------------------------------------------------------------------------------
def _as_sequence_ref(sequence: SequenceRef | PathLike, sequence_format: str) -> SequenceRef:
    if isinstance(sequence, SequenceRef):
        return sequence
    return SequenceRef(Path(sequence), sequence_format)


def _sequence_entry(seq: SequenceRef, base_dir: Path) -> dict[str, Any]:
    absolute = Path(os.path.abspath(seq.path))
    try:
        rel = Path(os.path.relpath(absolute, os.path.abspath(base_dir))).as_posix()
    except ValueError:  # another drive (Windows): no relative path
        rel = absolute.as_posix()
    entry: dict[str, Any] = {"path": rel, "absolute_path": absolute.as_posix(), "format": seq.format}
    if seq.name:
        entry["name"] = seq.name
    if seq.options:
        entry["options"] = dict(seq.options)
    return entry


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return ""


def project_to_dict(
    doc: AnnotationDocument,
    sequence: SequenceRef,
    base_dir: PathLike,
    ontology: str = "default",
    saved_by: str | None = None,
    meta: Mapping[str, Any] | None = None,
    now_ns: int | None = None,
) -> dict[str, Any]:
    """The JSON-ready project (see the module doc); the sequence path is made relative to
    ``base_dir`` (the project file's folder). ``now_ns``: the save time (default: now)."""
    now_ns = time.time_ns() if now_ns is None else int(now_ns)
    seconds, rest_ns = divmod(now_ns, 1_000_000_000)
    stamp = (
        _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC) + _dt.timedelta(microseconds=rest_ns // 1000)
    ).isoformat()
    m: dict[str, Any] = dict(meta or {})
    m.update(
        saved_by=_user() if saved_by is None else saved_by,
        saved_at=stamp,
        saved_at_ns=now_ns,
        app=f"fusionlabel {__version__}",
    )
    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "sequence": _sequence_entry(sequence, Path(base_dir)),
        "ontology": ontology,
        "document": doc.to_dict(),
        "meta": m,
    }


def save_project(
    path: PathLike,
    doc: AnnotationDocument,
    sequence: SequenceRef | PathLike,
    *,
    sequence_format: str = "native",
    ontology: str = "default",
    saved_by: str | None = None,
    meta: Mapping[str, Any] | None = None,
    now_ns: int | None = None,
) -> Project:
    """Write the project atomically (the previous file stays intact if anything fails) and return
    it as :func:`load_project` would read it back. ``sequence`` is a :class:`SequenceRef` or a
    path (then ``sequence_format`` names its format). Call ``stack.mark_clean()`` (and
    :meth:`RecoveryStore.mark_saved`) after it returns."""
    path = Path(path)
    seq = _as_sequence_ref(sequence, sequence_format)
    data = project_to_dict(doc, seq, path.parent, ontology, saved_by, meta, now_ns)
    if doc.point_labels is not None:  # beside the project: <project>.pointlabels/ (formats.pointlabels)
        from formats.pointlabels import point_labels_dir, save_point_labels

        save_point_labels(doc.point_labels, point_labels_dir(path))
    atomic_write_json(path, data)
    return Project(path, SequenceRef(Path(os.path.abspath(seq.path)), seq.format, seq.name, seq.options), doc,
                   ontology, data["meta"])


# ---- load ----------------------------------------------------------------------------------------
def _require(d: Any, key: str, where: str, path: Path) -> Any:
    if not isinstance(d, dict):
        raise FormatError(path, f"{where}: expected an object, got {type(d).__name__}")
    if key not in d:
        raise FormatError(path, f"{where}: missing key {key!r}")
    return d[key]


def _string(v: Any, key: str, path: Path) -> str:
    if not isinstance(v, str) or not v:
        raise FormatError(path, f"{key}: expected a non-empty string, got {v!r}")
    return v


def project_from_dict(data: Any, path: PathLike, base_dir: PathLike | None = None) -> Project:
    """Validate and build a :class:`Project` from :func:`project_to_dict` data; ``path`` names the
    file in errors, ``base_dir`` (default: its folder) resolves the relative sequence path."""
    path = Path(path)
    base = Path(base_dir) if base_dir is not None else path.parent
    fmt = _require(data, "format", "top level", path)
    if fmt != PROJECT_FORMAT:
        raise FormatError(path, f"format: expected {PROJECT_FORMAT!r}, got {fmt!r}")
    version = _require(data, "version", "top level", path)
    if version != PROJECT_VERSION:
        raise FormatError(path, f"version: unsupported version {version!r} (known: {PROJECT_VERSION})")
    unknown = sorted(set(data) - {"format", "version", "sequence", "ontology", "document", "meta"})
    if unknown:
        raise FormatError(path, f"{unknown[0]}: unknown top-level key")
    s = _require(data, "sequence", "top level", path)
    rel = _string(_require(s, "path", "sequence", path), "sequence.path", path)
    seq_format = _string(_require(s, "format", "sequence", path), "sequence.format", path)
    absolute = s.get("absolute_path")
    if absolute is not None:
        absolute = _string(absolute, "sequence.absolute_path", path)
    name = s.get("name")
    if name is not None:
        name = _string(name, "sequence.name", path)
    unknown = sorted(set(s) - {"path", "absolute_path", "format", "name", "options"})
    if unknown:
        raise FormatError(path, f"sequence.{unknown[0]}: unknown key")
    options = s.get("options", {})
    if not isinstance(options, dict):
        raise FormatError(path, f"sequence.options: expected an object, got {type(options).__name__}")
    for k, v in options.items():
        if k in ("format", "path"):
            raise FormatError(path, f"sequence.options.{k}: not a reader option (the sequence's {k} is "
                                    f"sequence.{k})")
        if not isinstance(v, str | int | float | bool | list) or (isinstance(v, list) and not all(
                isinstance(x, str) for x in v)):
            raise FormatError(path, f"sequence.options.{k}: expected a string, number, true/false or a list of "
                                    f"strings, got {v!r}")
    resolved = Path(os.path.abspath(base / rel))
    if not resolved.exists() and absolute is not None and Path(absolute).exists():
        resolved = Path(absolute)
    ontology = _string(data.get("ontology", "default"), "ontology", path)
    if ontology != "default":
        _check_ontology_path(ontology, path, resolved, options.get("allow_roots"))
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        raise FormatError(path, f"meta: expected an object, got {type(meta).__name__}")
    document = _require(data, "document", "top level", path)
    if isinstance(document, dict):
        check_document_frames(document.get("tracks"), path, "document.tracks")
    try:
        doc = AnnotationDocument.from_dict(document)
    except ModelError as e:
        raise FormatError(path, f"document: {e}") from None
    return Project(path, SequenceRef(resolved, seq_format, name, dict(options)), doc, ontology, dict(meta))


def ontology_file(ontology: str, project_path: PathLike) -> Path | None:
    """The file a project's ``ontology`` names (None for ``"default"``): relative paths resolve
    relative to the project file's folder."""
    if ontology == "default":
        return None
    p = Path(ontology)
    return p if p.is_absolute() else Path(project_path).parent / p


def _check_ontology_path(ontology: str, path: Path, sequence: Path, allow_roots: Any) -> None:
    """FormatError when the ontology file resolves (symlinks resolved) outside the project's
    folder, its sequence's folder and the ``allow_roots`` the sequence options name."""
    extra = allow_roots if isinstance(allow_roots, list) else []
    roots = [os.path.realpath(path.parent), os.path.realpath(sequence if sequence.is_dir() else sequence.parent),
             *(os.path.realpath(r) for r in extra if isinstance(r, str))]
    real = outside_roots(ontology_file(ontology, path), roots)  # type: ignore[arg-type]
    if real is not None:
        raise FormatError(path, f"ontology: {ontology!r} resolves to {real}, outside the project's folder and its "
                                "sequence; refused (name extra roots in the sequence options: allow_roots)")


def kept_meta(project: Project | None) -> dict[str, Any]:
    """A project's meta without what every save rewrites (``saved_at``, ``app``, ...): what a
    command that saves the project again keeps."""
    return {k: v for k, v in (project.meta if project is not None else {}).items()
            if k not in ("saved_at", "saved_at_ns", "app", "saved_by")}


def load_project(path: PathLike) -> Project:
    """Read a project file; :class:`FormatError` names the file and the key on any problem."""
    path = Path(path)
    data = read_json(path)
    validate(data, "project", path, FormatError)
    project = project_from_dict(data, path)
    attach_files_beside(project)
    return project


def attach_files_beside(project: Project) -> None:
    """Attach what is saved beside the project file to its document: the per-point labels of
    ``<project>.pointlabels/`` (:mod:`formats.pointlabels`), when that folder exists."""
    from formats.pointlabels import load_point_labels, point_labels_dir

    if project.path is None:
        return
    labels_dir = point_labels_dir(project.path)
    real = outside_roots(labels_dir, [os.path.realpath(project.path.parent)])
    if real is not None:
        raise FormatError(labels_dir, f"resolves to {real}, outside the project's folder; refused")
    if labels_dir.is_dir():
        project.document.attach_point_labels(load_point_labels(labels_dir))


# ---- recovery ------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``$FUSIONLABEL_CACHE``, else ``$XDG_CACHE_HOME/fusionlabel``, else ``~/.cache/fusionlabel``
    (the CLI's cache folder)."""
    env = os.environ.get("FUSIONLABEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fusionlabel"


def recovery_path_for_project(project_path: PathLike) -> Path:
    """``<project>.recovery.json`` next to the project file."""
    p = Path(project_path)
    return p.with_name(p.name + RECOVERY_SUFFIX)


def recovery_path_for_sequence(sequence_path: PathLike, cache_dir: PathLike | None = None) -> Path:
    """The recovery file of a never-saved project on ``sequence_path``: keyed by the sequence's
    absolute path in ``<cache>/recovery/``."""
    absolute = os.path.abspath(sequence_path)
    digest = hashlib.sha1(absolute.encode("utf-8")).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(absolute).name)[:60] or "sequence"
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / "recovery" / f"{stem}-{digest}{RECOVERY_SUFFIX}"


def _saved_at_ns(path: Path) -> int | None:
    """The ``meta.saved_at_ns`` of a project/recovery file, else its modification time (ns), else
    None when it does not exist."""
    if not path.exists():
        return None
    try:
        check_beside(path)
        v = read_json(path).get("meta", {}).get("saved_at_ns")
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    except (FormatError, AttributeError):
        pass
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def is_recovery_newer(recovery_path: PathLike, project_path: PathLike | None) -> bool:
    """True when a recovery file exists and was written after the project was last saved (or the
    project file does not exist). Times come from ``meta.saved_at_ns`` (file times as a fallback
    for unreadable files)."""
    rec = _saved_at_ns(Path(recovery_path))
    if rec is None:
        return False
    proj = None if project_path is None else _saved_at_ns(Path(project_path))
    return proj is None or rec > proj


class RecoveryStore:
    """Autosave of an edited document to a recovery file, and its edit journal (see the module doc).

    ``doc`` is watched for changes; ``stack`` (optional) tells when the document is back in its
    saved state (nothing to recover) unless ``track_clean_state`` is False (a document restored
    from a recovery copy is unsaved although its fresh stack is clean), and drives the journal:
    one record after each push / undo / redo (``journal`` False: autosave only). ``project_path``
    None means never saved: the recovery file is keyed by ``sequence.path`` in ``cache_dir``.
    ``interval_s``: least time between two autosaves; times are seconds from ``clock``
    (``time.monotonic`` by default). ``edits``: edits the document already holds since its last
    save (e.g. restored ones). ``on_error(exc)`` hears of a failed journal write (the edit is kept
    in the document; the next edit writes a full copy).
    """

    def __init__(
        self,
        doc: AnnotationDocument,
        sequence: SequenceRef | PathLike,
        *,
        project_path: PathLike | None = None,
        cache_dir: PathLike | None = None,
        stack: UndoStack | None = None,
        ontology: str = "default",
        interval_s: float = AUTOSAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        journal: bool = True,
        track_clean_state: bool = True,
        edits: int = 0,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"autosave interval must be positive, got {interval_s!r}")
        self.doc = doc
        self.sequence = _as_sequence_ref(sequence, "native")
        self.stack = stack if track_clean_state else None
        self.ontology = ontology
        self.interval_s = float(interval_s)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.clock = clock
        self.project_path = None if project_path is None else Path(project_path)
        self.path = (
            recovery_path_for_sequence(self.sequence.path, self.cache_dir)
            if project_path is None
            else recovery_path_for_project(project_path)
        )
        self._dirty = stack is not None and not stack.is_clean  # unsaved edits made before the store
        self._last_write = clock()
        self.edits = int(edits)
        self.on_error = on_error
        self.last_error: Exception | None = None
        self._changes = Changes()
        self._was_clean = self.stack is not None and self.stack.is_clean  # the document is the saved project
        self._base_size = 0  # bytes of the full copy the journal continues
        self.journal = EditJournal(journal_path_for(self.path)) if journal and stack is not None else None
        # point labels: the frames changed and not yet written beside the recovery copy; a store
        # for a restored document (track_clean_state False) keeps the folder it was restored from
        self._point_frames: set[int] = set()
        self._points_fresh = track_clean_state
        self._unsubscribe = [doc.subscribe(self._on_change)]
        if self.journal is not None and stack is not None:
            self._unsubscribe.append(stack.subscribe(self._on_step))

    @property
    def journal_path(self) -> Path:
        """The edit journal beside the recovery file."""
        return journal_path_for(self.path)

    @property
    def points_path(self) -> Path:
        """The folder of the point-label frames edited since the last save
        (:mod:`formats.pointlabel_recovery`)."""
        from formats.pointlabel_recovery import recovery_points_dir

        return recovery_points_dir(self.path)

    def _write_point_frames(self) -> None:
        """Write the point-label frames changed since the last write (before the journal record)."""
        if not self._point_frames or self.doc.point_labels is None:
            return
        from formats.pointlabel_recovery import remove, write_frames

        if self._points_fresh:  # a folder left by an older session is not this document's
            remove(self.points_path)
            self._points_fresh = False
        frames, self._point_frames = self._point_frames, set()
        write_frames(self.doc.point_labels, self.points_path, frames)

    def _on_change(self, event: DocumentEvent) -> None:
        self._dirty = True
        if event.kind == "point_labels_changed":
            self._point_frames.update(event.frames)
        if self.journal is not None:
            self._changes.add(event)

    def _on_step(self) -> None:
        """After a push / undo / redo (or a clean-state change): journal what the step touched."""
        was_clean = self._was_clean
        self._was_clean = self.stack is not None and self.stack.is_clean
        if self.journal is None or not self._changes:
            return
        changes, self._changes = self._changes, Changes()
        self.edits += 1
        if self._was_clean:  # back in the saved state (undo): nothing to recover
            self.edits = 0
            self.discard()
            return
        try:
            self._write_point_frames()
            hard = JOURNAL_HARD_FACTOR * max(JOURNAL_COMPACT_BYTES, self._base_size)
            if changes.unknown or (self.journal.is_open and self.journal.size > hard) or (
                    not self.journal.is_open and not (was_clean and self._start_on_project())):
                self.write_recovery()  # a full copy (it starts a new journal)
                return
            # (a journal just started on the saved project needs no full write)
            self.journal.append(changes.record(self.doc))
        except Exception as e:  # never break the edit; the next one writes a full copy
            self.journal.close()
            if isinstance(e, JournalConflict):  # another window journals this project: autosave only
                self.journal = None
            self.last_error = e
            if self.on_error is not None:
                self.on_error(e)

    def _project_token(self) -> str | None:
        """``project:<inode>:<size>:<mtime ns>`` of the project file (None: none on disk)."""
        if self.project_path is None:
            return None
        try:
            st = self.project_path.stat()
        except OSError:
            return None
        return f"project:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"

    def _start_on_project(self) -> bool:
        """Start the journal on the saved project file (the document before this step); False when
        there is no project file. A recovery copy of older edits is removed (the project is newer)."""
        token = self._project_token()
        if token is None or self.journal is None:
            return False
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self.journal.start(token, self.edits - 1)
        self._base_size = self.project_path.stat().st_size if self.project_path is not None else 0
        return True

    def set_project_path(self, project_path: PathLike) -> None:
        """The project now lives at ``project_path`` (first save, or save as): the recovery file
        moves next to it (the previous recovery file and journal are removed)."""
        new = recovery_path_for_project(project_path)
        if new != self.path:
            self.discard()
            if self.journal is not None:
                self.journal = EditJournal(journal_path_for(new))
        self.project_path = Path(project_path)
        self.path = new

    @property
    def dirty(self) -> bool:
        """True when the document changed since the last full recovery write and is not in its
        saved state."""
        if self.stack is not None and self.stack.is_clean:
            return False
        return self._dirty

    def maybe_autosave(self, now: float | None = None) -> bool:
        """Write the recovery file when :attr:`dirty` and at least ``interval_s`` passed since the
        last write, unless the journal holds the edits and is still small (see the module doc);
        True when written. When the document is back in its saved state, a stale recovery file is
        removed instead."""
        now = self.clock() if now is None else now
        if self.stack is not None and self.stack.is_clean:
            self._dirty = False
            if self.path.exists() or self.journal_path.exists():
                self.discard()
            return False
        if not self._dirty or now - self._last_write < self.interval_s:
            return False
        if (self.journal is not None and self.journal.is_open
                and self.journal.size <= max(JOURNAL_COMPACT_BYTES, self._base_size)):
            return False
        self.write_recovery(now)
        return True

    def write_recovery(self, now: float | None = None) -> Path:
        """Write the full recovery file now (atomically) and restart the journal; returns its
        path."""
        token = uuid.uuid4().hex
        meta = {"recovery": True, "recovery_of": None if self.project_path is None else str(self.project_path),
                "journal_base": token, "edits": self.edits}
        base = self.path.parent
        data = project_to_dict(self.doc, self.sequence, base, self.ontology, meta=meta)
        self._write_point_frames()
        atomic_write_json(self.path, data)
        self._dirty = False
        self._last_write = self.clock() if now is None else now
        if self.journal is not None:
            self._changes = Changes()  # all in the copy
            self._base_size = self.path.stat().st_size
            self.journal.start(token, self.edits)
        return self.path

    def has_recovery(self) -> bool:
        """True when a recovery copy or an edit journal is on disk."""
        return self.path.exists() or self.journal_path.exists()

    def _project_journal(self) -> tuple[list[dict[str, Any]], int]:
        """The records of a journal that continues the project file as it is on disk."""
        token = self._project_token()
        return read_journal(self.journal_path, token) if token is not None else ([], 0)

    def recovery_is_newer(self) -> bool:
        """True when the recovery file exists and is newer than the project file (or there is no
        project file), or the journal holds edits made after the project was saved: offer it to
        the user after a crash."""
        if is_recovery_newer(self.path, self.project_path):
            return True
        return bool(self._project_journal()[0])

    @property
    def offer_path(self) -> Path:
        """The file to name when offering the recovery: the copy, else the journal."""
        return self.path if self.path.exists() or not self.journal_path.exists() else self.journal_path

    def _read_replayed(self) -> tuple[dict[str, Any], int]:
        """The recovery data (the recovery copy, or the project file its journal continues) with the
        journal replayed, and the number of records replayed."""
        check_beside(self.path)
        data = read_json(self.path) if self.path.exists() else None
        if data is not None:
            validate(data, "project", self.path, FormatError)
        meta = data.get("meta") if isinstance(data, dict) else None
        base = meta.get("journal_base") if isinstance(meta, dict) else None
        records, base_edits = read_journal(self.journal_path, base if isinstance(base, str) else None)
        if not records and self.project_path is not None:
            on_project, edits = self._project_journal()
            if on_project and (data is None or not is_recovery_newer(self.path, self.project_path)):
                records, base_edits = on_project, edits
                data = read_json(self.project_path)
                validate(data, "project", self.project_path, FormatError)
                if not isinstance(data, dict) or not isinstance(data.get("meta"), dict):
                    raise FormatError(self.project_path, "not a project file")
                data["meta"].update(recovery=True, recovery_of=str(self.project_path), recovery_base="project")
        if data is None:
            raise FormatError(self.path, "no recovery copy")
        if records:
            try:
                data["document"] = apply_records(data["document"], records)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise FormatError(self.journal_path, f"edit journal does not fit its recovery copy: {e!r}") from None
            data["meta"]["edits"] = base_edits + len(records)
        return data, len(records)

    def load_recovery(self) -> Project:
        """Read the recovery file (a project file; ``meta["recovery"]`` is True) with the edits of
        its journal replayed: ``meta["edits"]`` counts the edits it holds since the last save,
        ``meta["journal_records"]`` those that came from the journal, ``meta["recovery_base"]`` is
        ``"project"`` when the journal continued the saved project file (no recovery copy)."""
        data, n = self._read_replayed()
        project = project_from_dict(data, self.path, base_dir=self.path.parent)
        project.meta["journal_records"] = n
        from formats.pointlabel_recovery import recovered_point_labels

        labels = recovered_point_labels(self.points_path, self.doc.point_labels)  # over the opened ones
        project.document.attach_point_labels(labels if labels is not None else self.doc.point_labels)
        project.meta["point_label_frames"] = len(labels.dirty_frames) if labels is not None else 0
        return project

    def move_aside(self) -> Path:
        """Keep the recovery copy for later as ``<name>.kept-<time>.json`` (never overwritten by
        autosave), with its journal folded in; a copy that cannot be read is renamed as it is
        (with its journal beside it). Returns the kept file."""
        stem = self.path.name.removesuffix(".json")
        kept = self.path.with_name(f"{stem}.kept-{time.strftime('%Y%m%d-%H%M%S')}.json")
        try:
            data, _ = self._read_replayed()
            project_from_dict(data, self.path)  # it loads: keep it as one file
            atomic_write_json(kept, data)
            if self.points_path.is_dir():  # its point-label frames beside it
                os.replace(self.points_path, kept.with_name(kept.name.removesuffix(".json") + ".pointlabels"))
            self.discard()
        except Exception:
            try:
                if self.path.exists():
                    os.replace(self.path, kept)
                if self.journal_path.exists():
                    os.replace(self.journal_path, kept.with_name(kept.name.removesuffix(".json") + ".journal"))
            except OSError:
                return self.path
        return kept

    def discard(self) -> None:
        """Remove the recovery file, its journal and its point-label frames (if any)."""
        from formats.pointlabel_recovery import remove

        remove(self.points_path)
        self._point_frames = set()
        self._points_fresh = False
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        if self.journal is not None:
            self.journal.discard()
        else:
            try:
                self.journal_path.unlink()
            except FileNotFoundError:
                pass

    def mark_saved(self, project_path: PathLike | None = None) -> None:
        """Call after a successful project save: the recovery file is no longer needed (the next
        edit's journal continues the saved file)."""
        if project_path is not None:
            self.set_project_path(project_path)
        self.discard()
        self._dirty = False
        self._changes = Changes()
        self.edits = 0
        self._was_clean = self.stack is not None and self.stack.is_clean
        self._last_write = self.clock()

    def close(self) -> None:
        """Stop watching the document (the recovery file and journal are kept)."""
        for u in self._unsubscribe:
            u()
        self._unsubscribe = []
        if self.journal is not None:
            self.journal.close()
