"""Crash safety of point labels: the frames edited since the last save, written beside the
recovery copy.

The edit journal (:mod:`formats.journal`) holds states as JSON; per-point labels are too large for
it. Instead, after every step that changed point labels, the :class:`~formats.project.RecoveryStore`
writes the **current labels of the frames it touched** into ``<name>.recovery.pointlabels/``
(beside ``<name>.recovery.json``): one ``NNNNNN.npz`` per frame (``semantic`` uint8, ``instance``
uint16, the project folder's encoding), each written atomically before the journal record of the
step. The folder holds states, not changes, so it needs no base token: it is valid for the edits
made since the last save and is removed with the recovery copy (save, discard, undo back to the
saved state). A process killed between two writes loses at most the frame being written.

:func:`recovered_point_labels` rebuilds the document's point labels: the recovered frames over
the labels the sequence or project opened with (``base``), the recovered frames marked edited so
that the next save writes them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from formats.io import atomic_write_bytes
from formats.pointlabels import decode_npz, encode_npz
from fusionlabel.pointlabels.store import FrameLabels, PointLabels

SUFFIX = ".pointlabels"
_NAME = re.compile(r"^(\d{6,})\.npz$")


def recovery_points_dir(recovery_path: str | os.PathLike[str]) -> Path:
    """``<name>.recovery.pointlabels`` beside ``<name>.recovery.json``."""
    p = Path(recovery_path)
    return p.with_name(p.name.removesuffix(".json") + SUFFIX)


def write_frames(labels: PointLabels, folder: Path, frames: Iterable[int]) -> list[int]:
    """Write the current labels of ``frames`` into ``folder`` (atomically, one file each); returns
    the frames written."""
    done = []
    for f in sorted(set(int(f) for f in frames)):
        if not labels.has(f):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / f"{f:06d}.npz", encode_npz(labels.get(f)))
        done.append(f)
    return done


def recovered_frames(folder: Path) -> list[int]:
    """The frames with a file in a recovery folder (none when it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for m in (_NAME.match(p.name) for p in folder.iterdir()) if m)


def remove(folder: Path) -> None:
    """Remove a recovery folder (if any)."""
    shutil.rmtree(folder, ignore_errors=True)


class _Overlay:
    """Label source: the recovered frames' files, else the ``base`` store's labels."""

    def __init__(self, folder: Path, base: PointLabels | None) -> None:
        self.folder, self.base = folder, base
        self._recovered = set(recovered_frames(folder))

    def frames(self) -> list[int]:
        base = set(self.base.labelled_frames()) if self.base is not None else set()
        return sorted(self._recovered | base)

    def where(self, frame: int) -> str:
        if frame in self._recovered or self.base is None:
            return str(self.folder / f"{frame:06d}.npz")
        return self.base._where(frame).strip(" ()") or str(self.folder)

    def load(self, frame: int) -> FrameLabels:
        if frame in self._recovered:
            return decode_npz(self.folder / f"{frame:06d}.npz")
        assert self.base is not None
        return self.base.get(frame).copy()


def recovered_point_labels(folder: Path, base: PointLabels | None) -> PointLabels | None:
    """The point labels after a crash: the frames of ``folder`` over ``base`` (the labels the
    document opened with; None: none), those frames held as edited (unsaved). None when the folder
    holds no frame (``base`` is then still right)."""
    frames = recovered_frames(folder)
    if not frames:
        return None
    src = _Overlay(folder, base)
    if base is not None:
        labels = PointLabels(base.table, base.frame_count, sensor=base.sensor, source=src,
                             point_count=base.point_count, max_clean_frames=base.max_clean_frames)
    else:
        labels = PointLabels(None, None, source=src)
    for f in frames:
        labels._editable(f)  # unsaved: the next save writes them
    return labels
