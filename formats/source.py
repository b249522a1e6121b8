"""One way to open a source: any path the project reads -> one :class:`OpenedSource`.

:func:`open_source` is the seam every caller opens through (the window's session, the command
line, QA, convert): a dataset in any layout :func:`formats.datasets.open_dataset` reads (native,
KITTI, nuScenes, recordings, OpenLABEL, plain folders, a packed copy) or an annotation project
file (:mod:`formats.project`) becomes the opened sequence, the annotation document, the project
(when it is one), the reader options used and notes for the user.

Two rules live here and nowhere else:

* **Project files** (:func:`is_project_file`): a regular file named ``*.flproj`` (any case), or a
  ``*.json`` file whose first 4 KB hold the key ``"format": "fusionlabel-project"``. A ``.flproj``
  that is not a valid project is an error naming the file, never a dataset.
* **Frame counts** (:data:`FRAME_MISMATCH`): a project whose document annotates ``N`` frames while
  its sequence has ``M != N`` is refused with a :class:`FrameCountError` naming the project, both
  counts and the sequence, unless the caller asks ``frame_mismatch="sequence"``: then the
  document takes the sequence's count (boxes past the end are not shown or written) and a note
  says so. A document with no frame count takes the sequence's. Datasets carry their own
  document, sized by their reader, so the rule concerns projects only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formats.datasets import LoadedSequence, open_dataset
from formats.errors import FormatError
from formats.project import PROJECT_SUFFIX, Project, attach_files_beside, project_from_dict
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError

PathLike = str | os.PathLike[str]

#: The frame-count rule's choices: ``"error"`` (the default) refuses a project whose frame count
#: differs from its sequence's; ``"sequence"`` makes the document take the sequence's count.
FRAME_MISMATCH = ("error", "sequence")

#: How much of a ``.json`` file is read to tell a project from other JSON.
PROJECT_HEAD_BYTES = 4096
_PROJECT_KEY = re.compile(r'"format"\s*:\s*"fusionlabel-project"')


class FrameCountError(FormatError):
    """A project annotates a different number of frames than its sequence has."""


class MissingSequenceError(FormatError):
    """A project's sequence does not exist (moved or deleted)."""


def is_project_file(path: PathLike) -> bool:
    """The one project-file rule (module doc): ``*.flproj``, or ``*.json`` whose head says
    ``"format": "fusionlabel-project"``. False for folders and missing paths."""
    p = Path(path)
    if not p.is_file():
        return False
    suffix = p.suffix.lower()
    if suffix == PROJECT_SUFFIX:
        return True
    if suffix != ".json":
        return False
    try:
        with p.open("rb") as f:
            head = f.read(PROJECT_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return _PROJECT_KEY.search(head) is not None


@dataclass
class OpenedSource:
    """What :func:`open_source` opened.

    ``path``: the path given; ``kind``: ``"project"`` or ``"dataset"``; ``sequence``: the opened
    sequence (None only for a project whose sequence is missing, when the caller allowed it);
    ``document``: the annotation (a project's document, else the dataset's labels; for a project
    it is also ``sequence.annotations``, so writers see it); ``project``: the project (None for a
    dataset); ``options``: the reader options the sequence was opened with (a project's recorded
    ones, then the ones given); ``notes``: what the user should know (reader warnings included);
    ``project_dict``: a project file's raw JSON; ``renamed``: ids given to repeated track entries
    (new -> original) when the caller allowed renumbering."""

    path: Path
    kind: str
    sequence: LoadedSequence | None
    document: AnnotationDocument
    project: Project | None = None
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    project_dict: dict[str, Any] | None = field(default=None, repr=False)
    renamed: dict[int, int] = field(default_factory=dict)

    @property
    def source_path(self) -> Path:
        """The sequence's path (a project's sequence, else ``path``)."""
        return self.project.sequence.path if self.project is not None else self.path

    def close(self) -> None:
        """Release the sequence's open files (a recording, a packed copy)."""
        if self.sequence is not None and self.sequence.closer is not None:
            self.sequence.closer()


def open_source(path: PathLike, format: str | None = None, options: dict[str, Any] | None = None, *,
                frame_mismatch: str = "error", require_sequence: bool = True,
                renumber_duplicates: bool = False) -> OpenedSource:
    """Open ``path`` (module doc). ``format``: the dataset layout (detected when None; for a
    project it overrides the sequence's recorded format); ``options``: reader options
    (``formats.datasets.open_dataset``'s; for a project they override the recorded ones; None
    values are dropped); ``frame_mismatch``: the frame-count rule (:data:`FRAME_MISMATCH`);
    ``require_sequence``: a project whose sequence is missing is an error (else ``sequence`` is
    None and a note says so); ``renumber_duplicates``: a project repeating a track id loads with
    the repeats renumbered (``renamed``) instead of failing. Errors name the file:
    ``FormatError`` (``FrameCountError``), ``DatasetError`` and the readers' errors."""
    if frame_mismatch not in FRAME_MISMATCH:
        raise ValueError(f"frame_mismatch must be one of {FRAME_MISMATCH}, got {frame_mismatch!r}")
    p = Path(path)
    if not p.exists():
        raise FormatError(p, "no such file or folder")
    given = {k: v for k, v in (options or {}).items() if v is not None}
    if not is_project_file(p):
        loaded = open_dataset(p, format, **given)
        return OpenedSource(p, "dataset", loaded, loaded.annotations, None, given, list(loaded.warnings))
    return _open_project(p, format, given, frame_mismatch, require_sequence, renumber_duplicates)


def _open_project(p: Path, format: str | None, given: dict[str, Any], frame_mismatch: str,
                  require_sequence: bool, renumber_duplicates: bool) -> OpenedSource:
    from formats.native import read_json

    raw = read_json(p)
    notes: list[str] = []
    renamed: dict[int, int] = {}
    try:
        project = project_from_dict(raw, p)
    except FormatError as e:
        if not renumber_duplicates or "duplicate track id" not in str(e) or not isinstance(raw.get("document"), dict):
            raise
        from fusionlabel.qa import dedupe_document_dict

        fixed, renamed = dedupe_document_dict(raw["document"])
        project = project_from_dict({**raw, "document": fixed}, p)
        notes.append(f"repeated track ids renumbered to load the project: {renamed}")
    attach_files_beside(project)
    doc = project.document
    options = {**project.sequence.options, **given}
    seq_path = project.sequence.path
    if not project.sequence.exists:
        if require_sequence:
            raise MissingSequenceError(p, f"its sequence {seq_path} does not exist (moved?)")
        notes.append(f"sequence {seq_path} not found: point, range and image checks skipped")
        return OpenedSource(p, "project", None, doc, project, options, notes, raw, renamed)
    loaded = project.sequence.open(format, **given)
    notes += list(loaded.warnings)
    apply_frame_rule(p, doc, len(loaded), seq_path, frame_mismatch, notes)
    if doc.frame_times_ns is None:
        try:
            doc.set_frame_times(loaded.info.frame_times_ns())
        except ModelError as e:
            notes.append(f"frame times not used ({e}): uniform frames assumed")
    loaded.annotations = doc
    return OpenedSource(p, "project", loaded, doc, project, options, notes, raw, renamed)


def apply_frame_rule(project_path: Path, doc: AnnotationDocument, frames: int, sequence_path: Path,
                     frame_mismatch: str = "error", notes: list[str] | None = None) -> None:
    """The one frame-count rule (module doc) for a project's ``doc`` against its sequence's
    ``frames``: FrameCountError naming both counts, or (``frame_mismatch="sequence"``) the
    document takes ``frames`` and a note is added to ``notes``."""
    if doc.frame_count is None:
        doc.frame_count = frames
        return
    if doc.frame_count == frames:
        return
    if frame_mismatch == "error":
        raise FrameCountError(project_path, f"the project annotates {doc.frame_count} frames but its sequence "
                                            f"{sequence_path} has {frames}; open it with the sequence's frame "
                                            "count to continue (frame_mismatch='sequence', "
                                            "--frame-mismatch sequence)")
    if notes is not None:
        notes.append(f"the project annotated {doc.frame_count} frames, its sequence {frames}: "
                     f"using the sequence's {frames} frames")
    doc.frame_count = frames
