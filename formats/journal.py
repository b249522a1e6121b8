"""The edit journal: every applied edit (do, undo, redo), appended and fsynced beside the recovery
copy, so that a process killed between two autosaves loses no completed edit.

The journal holds **states, not commands**: each record carries the plain data, after the edit,
of what the edit touched (the document's events name it: tracks, their box reviews, frame reviews,
proposals, issue markers), in the layout of ``AnnotationDocument.to_dict``. So the journal needs
no knowledge of command types (a new command or a new track field is journaled as it is), and
replaying a record twice gives the same document.

File ``<project>.recovery.journal`` (next to ``<project>.recovery.json``, see
:mod:`formats.project`), UTF-8, one record per line, each line ``<crc32 as 8 hex digits> <json>``
(the CRC-32 of the JSON bytes)::

    4c1d0a2e {"format": "fusionlabel-edit-journal", "version": 1, "base": "9f2c...", "base_edits": 12}
    0b7e44f1 {"seq": 13, "tracks": {"4": {...track_to_dict...}}}
    a1c3902d {"seq": 14, "tracks": {"4": null}, "track_reviews": {"4": []}}

- The header names the recovery copy it continues (``base``: the ``meta.journal_base`` token of
  that copy) and how many edits that copy already holds (``base_edits``). A journal whose base is
  not the current recovery copy is not replayed (it is older than the copy, which then holds all
  its edits, since a full copy is written before the journal is restarted).
- Records carry ``seq`` (``base_edits + 1``, ``+ 2``, ...) and any of: ``"tracks": {id: track or
  null}``, ``"track_reviews": {id: [review with "frame"]}`` (all box reviews of a track, after it
  was added or removed), ``"box_reviews": [{"track_id", "frame", "review": review or null}]``,
  ``"frame_reviews": [{"frame", "review": review or null}]``, ``"proposals": {id: proposal or
  null}``, ``"issues": [marker, ...]`` (all markers), ``"point_labels": [frame, ...]`` (frames whose
  point labels changed: their states are in ``<project>.recovery.pointlabels/``,
  :mod:`formats.pointlabel_recovery`). Ids are JSON object keys (strings).
- Reading stops at the first line that is torn (no newline at the end of the file), fails its
  CRC, is not JSON or breaks the ``seq`` order: a record cut by a crash is ignored, with every
  record after it.

Appending costs one JSON encoding of the touched tracks and one ``fsync``
(``benchmarks/bench_io.py --journal`` measures it).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from formats.errors import FormatError
from formats.io import atomic_write_bytes, outside_roots, validate
from fusionlabel.document import AnnotationDocument, DocumentEvent, track_to_dict

JOURNAL_FORMAT = "fusionlabel-edit-journal"
JOURNAL_VERSION = 1
JOURNAL_SUFFIX = ".journal"

#: Event kinds whose ``track_id`` names a track whose own data changed.
_TRACK_KINDS = frozenset({"track_changed", "label_changed", "attributes_changed"})


def journal_path_for(recovery_path: str | os.PathLike[str]) -> Path:
    """``<name>.recovery.journal`` beside ``<name>.recovery.json``."""
    p = Path(recovery_path)
    return p.with_name(p.name.removesuffix(".json") + JOURNAL_SUFFIX)


def encode_line(obj: dict[str, Any]) -> bytes:
    """One journal line: CRC-32 (8 hex digits), a space, compact JSON, a newline."""
    payload = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def decode_lines(data: bytes) -> list[dict[str, Any]]:
    """The valid records at the start of ``data`` (see the module doc: reading stops at the first
    torn or corrupt line)."""
    out: list[dict[str, Any]] = []
    for line in data.split(b"\n")[:-1]:  # the part after the last newline is torn (or empty)
        if len(line) < 10 or line[8:9] != b" ":
            break
        payload = line[9:]
        try:
            if int(line[:8], 16) != zlib.crc32(payload):
                break
            obj = json.loads(payload)
        except ValueError:
            break
        if not isinstance(obj, dict):
            break
        out.append(obj)
    return out


# ---- what an edit touched ------------------------------------------------------------------------
@dataclass
class Changes:
    """What changed in a document since the last journal record, from its events."""

    tracks: set[int] = field(default_factory=set)
    track_reviews: set[int] = field(default_factory=set)
    box_reviews: set[tuple[int, int]] = field(default_factory=set)
    frame_reviews: set[int] = field(default_factory=set)
    proposals: set[int] = field(default_factory=set)
    issues: bool = False
    map_elements: set[int] = field(default_factory=set)
    #: frames whose point labels changed (their states go to the recovery folder,
    #: formats.pointlabel_recovery; the record only names them)
    point_frames: set[int] = field(default_factory=set)
    unknown: bool = False  # an event kind this journal does not know: write a full copy instead

    def __bool__(self) -> bool:
        return bool(self.tracks or self.track_reviews or self.box_reviews or self.frame_reviews
                    or self.proposals or self.issues or self.map_elements or self.point_frames or self.unknown)

    def add(self, e: DocumentEvent) -> None:
        tid = e.track_id
        if e.kind in ("track_added", "track_removed") and tid is not None:
            self.tracks.add(tid)
            self.track_reviews.add(tid)
        elif e.kind in _TRACK_KINDS and tid is not None:
            self.tracks.add(tid)
        elif e.kind == "review_changed":
            if tid is None:
                self.frame_reviews.update(e.frames)
            else:
                self.box_reviews.update((tid, f) for f in e.frames)
        elif e.kind.startswith("proposal_") and tid is not None:
            self.proposals.add(tid)
        elif e.kind == "issue_changed":
            self.issues = True
        elif e.kind == "map_changed" and tid is not None:
            self.map_elements.add(tid)
        elif e.kind == "point_labels_changed":
            self.point_frames.update(e.frames)  # states beside the recovery copy (formats.pointlabel_recovery)
        else:
            self.unknown = True

    def record(self, doc: AnnotationDocument) -> dict[str, Any]:
        """The record body (without ``seq``): the touched parts' current plain data."""
        rec: dict[str, Any] = {}
        tracks = doc.tracks
        if self.tracks:
            rec["tracks"] = {str(t): (track_to_dict(tracks[t]) if t in tracks else None) for t in sorted(self.tracks)}
        if self.track_reviews or self.box_reviews:
            stored = doc.box_reviews()
            if self.track_reviews:
                by_track: dict[str, list[dict[str, Any]]] = {str(t): [] for t in sorted(self.track_reviews)}
                for (t, f), r in sorted(stored.items()):
                    if str(t) in by_track and t in self.track_reviews:
                        by_track[str(t)].append({"frame": f, **r.to_dict()})
                rec["track_reviews"] = by_track
            if self.box_reviews:
                rec["box_reviews"] = [
                    {"track_id": t, "frame": f, "review": stored[(t, f)].to_dict() if (t, f) in stored else None}
                    for t, f in sorted(self.box_reviews)]
        if self.frame_reviews:
            frames = doc.frame_reviews()
            rec["frame_reviews"] = [{"frame": f, "review": frames[f].to_dict() if f in frames else None}
                                    for f in sorted(self.frame_reviews)]
        if self.proposals:
            props = doc.proposals
            rec["proposals"] = {str(p): (props[p].to_dict() if p in props else None) for p in sorted(self.proposals)}
        if self.issues:
            rec["issues"] = [m.to_dict() for m in doc.issue_markers()]
        if self.map_elements:
            els = doc.map_elements
            rec["map"] = {str(i): (els[i].to_dict() if i in els else None) for i in sorted(self.map_elements)}
        if self.point_frames:
            rec["point_labels"] = sorted(self.point_frames)
        return rec


# ---- replay --------------------------------------------------------------------------------------
def apply_records(document: dict[str, Any], records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``AnnotationDocument.to_dict`` data with ``records`` applied in order (a new dict; validate
    it with ``AnnotationDocument.from_dict``)."""
    tracks = {int(t["id"]): t for t in document.get("tracks", [])}
    reviews = document.get("reviews", {})
    box_reviews = {(int(r["track_id"]), int(r["frame"])): r for r in reviews.get("boxes", [])}
    frame_reviews = {int(r["frame"]): r for r in reviews.get("frames", [])}
    proposals = {int(p["id"]): p for p in document.get("proposals", [])}
    issues = list(document.get("issues", []))
    map_elements = {int(m["id"]): m for m in document.get("map", [])}
    for rec in records:
        for tid_s, td in rec.get("tracks", {}).items():
            tid = int(tid_s)
            if td is None:
                tracks.pop(tid, None)
                box_reviews = {k: v for k, v in box_reviews.items() if k[0] != tid}
            else:
                tracks[tid] = td
        for tid_s, rs in rec.get("track_reviews", {}).items():
            tid = int(tid_s)
            box_reviews = {k: v for k, v in box_reviews.items() if k[0] != tid}
            for r in rs:
                box_reviews[(tid, int(r["frame"]))] = {"track_id": tid, **r}
        for r in rec.get("box_reviews", []):
            key = (int(r["track_id"]), int(r["frame"]))
            if r["review"] is None:
                box_reviews.pop(key, None)
            else:
                box_reviews[key] = {"track_id": key[0], "frame": key[1], **r["review"]}
        for r in rec.get("frame_reviews", []):
            f = int(r["frame"])
            if r["review"] is None:
                frame_reviews.pop(f, None)
            else:
                frame_reviews[f] = {"frame": f, **r["review"]}
        for pid_s, pd in rec.get("proposals", {}).items():
            if pd is None:
                proposals.pop(int(pid_s), None)
            else:
                proposals[int(pid_s)] = pd
        if "issues" in rec:
            issues = list(rec["issues"])
        for mid_s, md in rec.get("map", {}).items():
            if md is None:
                map_elements.pop(int(mid_s), None)
            else:
                map_elements[int(mid_s)] = md
    out = dict(document)
    out["tracks"] = [tracks[t] for t in sorted(tracks)]
    out["reviews"] = {"boxes": [box_reviews[k] for k in sorted(box_reviews)],
                      "frames": [frame_reviews[f] for f in sorted(frame_reviews)]}
    out.pop("proposals", None)
    out.pop("issues", None)
    if proposals:
        out["proposals"] = [proposals[p] for p in sorted(proposals)]
    if issues:
        out["issues"] = issues
    out.pop("map", None)
    if map_elements:
        out["map"] = [map_elements[m] for m in sorted(map_elements)]
    return out


def check_beside(path: Path) -> None:
    """FormatError when ``path`` (a recovery copy or journal, the tool's own file beside the project
    or in the cache folder) is a link that resolves outside its own folder: such a file is never
    followed (a project folder handed over could otherwise make the tool read any file)."""
    real = outside_roots(path, [os.path.realpath(path.parent)])
    if real is not None and os.path.lexists(path):
        raise FormatError(path, f"resolves to {real}, outside its folder {path.parent}; refused")


def read_journal(path: str | os.PathLike[str], base: str | None) -> tuple[list[dict[str, Any]], int]:
    """The valid records of the journal at ``path`` that continue the recovery copy whose token is
    ``base``, and the ``base_edits`` of its header. No file, another base or an unreadable
    header: ``([], 0)``."""
    path = Path(path)
    check_beside(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    except OSError as e:
        raise FormatError(path, f"cannot read the edit journal: {e}") from None
    lines = decode_lines(data)
    if not lines:
        return [], 0
    head = lines[0]
    if (head.get("format") != JOURNAL_FORMAT or head.get("version") != JOURNAL_VERSION or base is None
            or head.get("base") != base):
        return [], 0
    base_edits = head.get("base_edits", 0)
    if not isinstance(base_edits, int) or isinstance(base_edits, bool):
        return [], 0
    records = []
    for i, rec in enumerate(lines[1:]):
        if rec.get("seq") != base_edits + i + 1:
            break
        # a record that passed its CRC but breaks the schema was written wrong: say where
        validate(rec, "journal", f"{path}: record {i + 1}", FormatError)
        records.append(rec)
    return records, base_edits


# ---- writing -------------------------------------------------------------------------------------
class JournalConflict(OSError):
    """The journal file was replaced by another process (the same project open in two windows)."""


class EditJournal:
    """An open journal file: :meth:`start` writes its header (atomically: the file is replaced),
    :meth:`append` adds one record and fsyncs it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._f: BinaryIO | None = None
        self.seq = 0
        self.size = 0

    @property
    def is_open(self) -> bool:
        return self._f is not None

    def start(self, base: str, base_edits: int) -> None:
        """Begin a journal continuing the recovery copy ``base`` (holding ``base_edits`` edits)."""
        self.close()
        head = encode_line({"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "base": base,
                            "base_edits": int(base_edits)})
        atomic_write_bytes(self.path, head)
        self._f = open(self.path, "ab")  # noqa: SIM115 - held open between appends
        self.seq = int(base_edits)
        self.size = len(head)

    def append(self, body: dict[str, Any]) -> int:
        """Append one record (``seq`` is added) and fsync it; returns its size in bytes.
        :class:`JournalConflict` when another process replaced the file since :meth:`start`."""
        if self._f is None:
            raise RuntimeError("the edit journal is not started")
        try:
            replaced = os.stat(self.path).st_ino != os.fstat(self._f.fileno()).st_ino
        except FileNotFoundError:
            replaced = True
        if replaced:
            raise JournalConflict(f"{self.path}: replaced by another process (is the project open twice?)")
        line = encode_line({"seq": self.seq + 1, **body})
        self._f.write(line)
        self._f.flush()
        os.fsync(self._f.fileno())
        self.seq += 1
        self.size += len(line)
        return len(line)

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.close()
            finally:
                self._f = None

    def discard(self) -> None:
        """Close and remove the file."""
        self.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
