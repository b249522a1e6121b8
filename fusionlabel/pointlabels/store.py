"""Per-point labels of a sequence: a semantic class and an instance id for every point of each sweep.

:class:`PointLabels` holds, per frame, two arrays over the points of the labelled LiDAR's sweep (in
the sweep's own point order): ``semantic`` (N,) uint8 class indices of a
:class:`~fusionlabel.pointlabels.classes.ClassTable` (:data:`UNLABELLED` = 255 for none) and
``instance`` (N,) uint16 (:data:`NO_INSTANCE` = 0 for none; a track's points carry
:func:`instance_of_track` = track id + 1).

Memory stays bounded for long sequences: frames are loaded lazily from a :class:`LabelSource`
(files beside a project, a dataset's ground truth) when first asked for; a frame that was edited
since the last save (*dirty*) stays in memory, the clean ones are kept in a small LRU
(``max_clean_frames``) and reloaded from the source when evicted. A frame with no stored labels
starts unlabelled, sized by ``point_count(frame)``. Edits go through
:mod:`fusionlabel.pointlabels.commands` only (undoable, changed indices only).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError
from fusionlabel.pointlabels.classes import (
    INSTANCE_DTYPE,
    NO_INSTANCE,
    SEMANTIC_DTYPE,
    UNLABELLED,
    ClassTable,
)

U8 = NDArray[np.uint8]
U16 = NDArray[np.uint16]


def instance_of_track(track_id: int) -> int:
    """The instance id of a track's points (track id + 1; 0 means no instance)."""
    inst = int(track_id) + 1
    if not 0 < inst <= np.iinfo(INSTANCE_DTYPE).max:
        raise ModelError(f"track id {track_id} does not fit a 16-bit instance id")
    return inst


def track_of_instance(instance: int) -> int | None:
    """The track id of an instance id (None for :data:`NO_INSTANCE`)."""
    return None if int(instance) == NO_INSTANCE else int(instance) - 1


@dataclass
class FrameLabels:
    """The labels of one sweep: ``semantic`` (N,) uint8 and ``instance`` (N,) uint16."""

    semantic: U8
    instance: U16

    def __post_init__(self) -> None:
        self.semantic = np.ascontiguousarray(self.semantic, dtype=SEMANTIC_DTYPE)
        self.instance = np.ascontiguousarray(self.instance, dtype=INSTANCE_DTYPE)
        if self.semantic.ndim != 1 or self.semantic.shape != self.instance.shape:
            raise ModelError(f"point labels: semantic {self.semantic.shape} and instance {self.instance.shape} "
                             "must be (N,) arrays of one length")

    @classmethod
    def empty(cls, n: int) -> FrameLabels:
        return cls(np.full(int(n), UNLABELLED, dtype=SEMANTIC_DTYPE), np.full(int(n), NO_INSTANCE, INSTANCE_DTYPE))

    def __len__(self) -> int:
        return int(self.semantic.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.semantic.nbytes + self.instance.nbytes)

    def labelled_share(self) -> float:
        """Share of points with a class (0 for an empty sweep)."""
        return float(np.count_nonzero(self.semantic != UNLABELLED)) / len(self) if len(self) else 0.0

    def copy(self) -> FrameLabels:
        return FrameLabels(self.semantic.copy(), self.instance.copy())


class LabelSource(Protocol):
    """Where stored labels come from: ``frames()`` the frames that have labels, ``load(frame)``
    their arrays (``formats.pointlabels`` provides file-backed sources). A source may also have
    ``where(frame) -> str``, the file a frame's labels come from, which errors then name."""

    def frames(self) -> Iterable[int]: ...

    def load(self, frame: int) -> FrameLabels: ...


def labels_of(doc: object) -> PointLabels:
    """The point labels attached to a document (``doc.point_labels``); ModelError when none."""
    labels = getattr(doc, "point_labels", None)
    if labels is None:
        raise ModelError("the document has no point labels attached")
    return labels  # type: ignore[no-any-return]


class PointLabels:
    """Point labels of one LiDAR (``sensor``) of a sequence of ``frame_count`` frames (module doc).

    ``source``: stored labels (None: none yet); ``point_count(frame)``: the number of points of the
    sweep, for frames with no stored labels; ``max_clean_frames``: clean frames kept in memory.
    ``listeners`` are called with the tuple of frames after every change."""

    def __init__(
        self,
        table: ClassTable | None = None,
        frame_count: int | None = None,
        *,
        sensor: str | None = None,
        source: LabelSource | None = None,
        point_count: Callable[[int], int] | None = None,
        max_clean_frames: int = 32,
    ) -> None:
        self.table = table or ClassTable.default()
        self.frame_count = frame_count
        self.sensor = sensor
        self.point_count = point_count
        self.max_clean_frames = max(0, int(max_clean_frames))
        self._source = source
        self._source_frames: set[int] = set(source.frames()) if source is not None else set()
        self._dirty: dict[int, FrameLabels] = {}
        self._clean: OrderedDict[int, FrameLabels] = OrderedDict()
        self.loads = 0  # frames read from the source (for tests and figures)

    # ---- queries ----------------------------------------------------------------------------------
    def _check(self, frame: int) -> int:
        f = int(frame)
        if f < 0 or (self.frame_count is not None and f >= self.frame_count):
            raise ModelError(f"point labels: frame {frame} outside the sequence (frame count {self.frame_count})")
        return f

    def has(self, frame: int) -> bool:
        """Whether ``frame`` has labels (stored or edited)."""
        return frame in self._dirty or frame in self._source_frames

    def labelled_frames(self) -> list[int]:
        """Frames with labels, ascending."""
        return sorted(set(self._dirty) | self._source_frames)

    @property
    def dirty_frames(self) -> list[int]:
        """Frames edited since the last :meth:`mark_saved`."""
        return sorted(self._dirty)

    def held_frames(self) -> list[int]:
        """Frames whose arrays are in memory now."""
        return sorted(set(self._dirty) | set(self._clean))

    def nbytes(self) -> int:
        """Bytes of label arrays held in memory."""
        return sum(v.nbytes for v in self._dirty.values()) + sum(v.nbytes for v in self._clean.values())

    def get(self, frame: int, n_points: int | None = None) -> FrameLabels:
        """The labels of ``frame`` (do not modify them: edits are commands). A frame without
        labels is unlabelled, sized by ``n_points`` or ``point_count(frame)``."""
        f = self._check(frame)
        lab = self._dirty.get(f)
        if lab is None:
            lab = self._clean.get(f)
            if lab is not None:
                self._clean.move_to_end(f)
        if lab is None:
            if f in self._source_frames:
                assert self._source is not None
                lab = self._source.load(f)
                self.loads += 1
            else:
                n = n_points if n_points is not None else (self.point_count(f) if self.point_count else None)
                if n is None:
                    raise ModelError(f"point labels: frame {f} has no labels and its point count is unknown")
                lab = FrameLabels.empty(n)
            self._keep_clean(f, lab)
        if n_points is not None and len(lab) != n_points:
            raise ModelError(f"point labels{self._where(f)}: frame {f} has {len(lab)} labels for {n_points} points")
        return lab

    def _where(self, frame: int) -> str:
        """`` (<file>)`` when the frame's labels were read from a source that says where, else ''."""
        where = getattr(self._source, "where", None)
        if frame in self._dirty or frame not in self._source_frames or where is None:
            return ""
        try:
            return f" ({where(frame)})"
        except Exception:  # noqa: BLE001 - naming the file must not hide the error being raised
            return ""

    def _keep_clean(self, f: int, lab: FrameLabels) -> None:
        if self.max_clean_frames == 0:
            return
        self._clean[f] = lab
        while len(self._clean) > self.max_clean_frames:
            self._clean.popitem(last=False)

    # ---- mutation (fusionlabel.pointlabels.commands only) ------------------------------------------
    def _editable(self, frame: int, n_points: int | None = None) -> FrameLabels:
        f = self._check(frame)
        lab = self._dirty.get(f)
        if lab is None:
            lab = self.get(f, n_points)
            self._clean.pop(f, None)
            self._dirty[f] = lab
        return lab

    def _write(self, frame: int, idx: NDArray[np.intp], semantic: object | None, instance: object | None,
               n_points: int | None = None) -> None:
        """Set ``semantic`` / ``instance`` (scalars or arrays over ``idx``; None: unchanged) at the
        points ``idx`` of ``frame``."""
        lab = self._editable(frame, n_points)
        if semantic is not None:
            lab.semantic[idx] = semantic
        if instance is not None:
            lab.instance[idx] = instance

    def _replace(self, frame: int, labels: FrameLabels | None) -> FrameLabels | None:
        """Replace a whole frame (None: back to its stored state, or unlabelled); returns the
        previous dirty arrays (None when the frame was clean)."""
        f = self._check(frame)
        old = self._dirty.pop(f, None)
        self._clean.pop(f, None)
        if labels is not None:
            self._dirty[f] = labels
        return old

    def mark_saved(self, source: LabelSource | None) -> None:
        """Every frame is now stored in ``source`` (after a save): dirty frames become clean."""
        self._source = source
        self._source_frames = set(source.frames()) if source is not None else set()
        for f, lab in sorted(self._dirty.items()):
            self._keep_clean(f, lab)
        self._dirty.clear()

    def snapshot(self, frame: int) -> FrameLabels:
        """A copy of the labels of ``frame`` (for exports that outlive later edits)."""
        return self.get(frame).copy()
