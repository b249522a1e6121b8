"""Undoable point-label edits, pushed on the document's :class:`~fusionlabel.commands.UndoStack`.

A :class:`SetPointLabels` sets a semantic class and/or an instance id on chosen points of one or
more frames (fill from boxes writes every frame of a track in one command). When applied it keeps
only what it changed: the indices whose value differs (as int32 indices, or as a packed bit mask
when that is smaller), the old values (one scalar when they were all equal) and the new value
(scalar or per changed point), so undo memory is a fraction of the label arrays themselves.

The document must carry point labels (``doc.point_labels``, see
:meth:`~fusionlabel.document.AnnotationDocument.attach_point_labels`); after a change the document
emits ``point_labels_changed`` with the frames touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.commands import Command
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.pointlabels.classes import INSTANCE_DTYPE, SEMANTIC_DTYPE, UNLABELLED
from fusionlabel.pointlabels.store import PointLabels, labels_of


@dataclass(frozen=True)
class PointEdit:
    """New labels for points ``indices`` (N,) of one frame of ``n_points`` points: ``semantic`` /
    ``instance`` a scalar or an (N,) array, None to leave it unchanged."""

    indices: NDArray[np.intp]
    semantic: int | NDArray[np.uint8] | None = None
    instance: int | NDArray[np.uint16] | None = None
    n_points: int | None = None


class _Packed:
    """A set of point indices of a frame: int32 indices or a packed bit mask, whichever is smaller."""

    __slots__ = ("n", "idx", "bits")

    def __init__(self, idx: NDArray[np.intp], n: int) -> None:
        self.n = n
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size * 4 > (n + 7) // 8:
            mask = np.zeros(n, dtype=bool)
            mask[idx] = True
            self.bits: NDArray[np.uint8] | None = np.packbits(mask)
            self.idx: NDArray[np.int32] | None = None
        else:
            self.bits, self.idx = None, idx.astype(np.int32)

    def indices(self) -> NDArray[np.intp]:
        if self.bits is not None:
            return np.flatnonzero(np.unpackbits(self.bits, count=self.n))
        assert self.idx is not None
        return self.idx.astype(np.intp)

    @property
    def nbytes(self) -> int:
        return int((self.bits if self.bits is not None else self.idx).nbytes)  # type: ignore[union-attr]


def _compact(values: NDArray[np.generic]) -> int | NDArray[np.generic]:
    """One scalar when every value is equal, else the array."""
    if values.size and (values == values[0]).all():
        return int(values[0])
    return values


def _take(v: object, keep: NDArray[np.bool_]) -> object:
    return v if v is None or np.ndim(v) == 0 else np.asarray(v)[keep]  # type: ignore[arg-type]


class SetPointLabels(Command):
    """Set point labels on several frames as one undo step: ``edits`` frame -> :class:`PointEdit`."""

    def __init__(self, edits: Mapping[int, PointEdit], description: str = "Label points") -> None:
        self.description = description
        self._edits = {int(f): e for f, e in edits.items()}
        # after the first apply: frame -> (indices, old semantic, old instance, new semantic, new instance)
        self._done: dict[int, tuple[_Packed, object, object, object, object]] | None = None

    @property
    def frames(self) -> list[int]:
        return sorted(self._done if self._done is not None else self._edits)

    @property
    def changed_points(self) -> int:
        """Points whose labels the command changed (after apply)."""
        return sum(len(d[0].indices()) for d in (self._done or {}).values())

    @property
    def nbytes(self) -> int:
        """Bytes held for undo (after apply)."""
        total = 0
        for packed, *vals in (self._done or {}).values():
            total += packed.nbytes + sum(np.asarray(v).nbytes for v in vals if v is not None)
        return total

    def apply(self, doc: AnnotationDocument) -> None:
        labels = labels_of(doc)
        if self._done is None:
            self._done = self._first_apply(labels)
        else:
            for f, (packed, _, _, sem, inst) in self._done.items():
                labels._write(f, packed.indices(), sem, inst)
        doc._emit("point_labels_changed", None, sorted(self._done))

    def _first_apply(self, labels: PointLabels) -> dict[int, tuple[_Packed, object, object, object, object]]:
        prepared = []
        for f, e in sorted(self._edits.items()):  # validate every frame before changing any
            lab = labels.get(f, e.n_points)
            idx = np.asarray(e.indices, dtype=np.intp).reshape(-1)
            if idx.size and (idx.min() < 0 or idx.max() >= len(lab)):
                raise ModelError(f"point labels: frame {f}: point index outside 0..{len(lab) - 1}")
            n_given = idx.size
            if idx.size < 2 or bool((idx[1:] > idx[:-1]).all()):  # already sorted and unique (tools)
                first = np.arange(idx.size)
            else:
                idx, first = np.unique(idx, return_index=True)
            sem = _value(e.semantic, first, n_given, SEMANTIC_DTYPE, f, "semantic")
            inst = _value(e.instance, first, n_given, INSTANCE_DTYPE, f, "instance")
            if sem is not None and np.any(np.asarray(sem) > UNLABELLED):
                raise ModelError(f"point labels: frame {f}: semantic value above {UNLABELLED}")
            old_s, old_i = lab.semantic[idx], lab.instance[idx]
            changed = np.zeros(idx.size, dtype=bool)
            if sem is not None:
                changed |= old_s != sem
            if inst is not None:
                changed |= old_i != inst
            prepared.append((f, len(lab), idx[changed], old_s[changed], old_i[changed], _take(sem, changed),
                             _take(inst, changed)))
        done: dict[int, tuple[_Packed, object, object, object, object]] = {}
        for f, n, idx, old_s, old_i, sem, inst in prepared:
            if idx.size == 0:
                continue
            labels._write(f, idx, sem, inst)
            done[f] = (_Packed(idx, n), _compact(old_s), _compact(old_i), _maybe_compact(sem), _maybe_compact(inst))
        self._edits = {}
        return done

    def revert(self, doc: AnnotationDocument) -> None:
        labels = labels_of(doc)
        assert self._done is not None
        for f, (packed, old_s, old_i, _, _) in self._done.items():
            labels._write(f, packed.indices(), old_s, old_i)
        doc._emit("point_labels_changed", None, sorted(self._done))


def _maybe_compact(v: object) -> object:
    return v if v is None or np.ndim(v) == 0 else _compact(np.asarray(v))


def _value(v: ArrayLike | int | None, first: NDArray[np.intp], n: int, dtype: type, frame: int,
           what: str) -> int | NDArray[np.generic] | None:
    """A scalar, or the (n,) values taken at the first occurrence of each unique index."""
    if v is None:
        return None
    if np.ndim(v) == 0:
        iv = int(v)  # type: ignore[arg-type]
        if not 0 <= iv <= np.iinfo(dtype).max:
            raise ModelError(f"point labels: frame {frame}: {what} value {iv} out of range")
        return iv
    arr = np.asarray(v)
    if arr.shape != (n,):
        raise ModelError(f"point labels: frame {frame}: {what} has shape {arr.shape} for {n} indices")
    arr = arr[first]
    if arr.size and (arr.min() < 0 or arr.max() > np.iinfo(dtype).max):
        raise ModelError(f"point labels: frame {frame}: {what} values out of range")
    return arr.astype(dtype)


def label_points(frame: int, indices: ArrayLike, semantic: int | None = None, instance: int | None = None,
                 description: str | None = None) -> SetPointLabels:
    """A command labelling points ``indices`` of one frame with one class and/or instance."""
    idx = np.asarray(indices, dtype=np.intp).reshape(-1)
    return SetPointLabels({frame: PointEdit(idx, semantic, instance)},
                          description or f"Label {idx.size} points at frame {frame}")
