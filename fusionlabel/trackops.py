"""Undoable track operations: make a keyframe here, interpolation method, gaps, split, merge,
change id, delete from a frame on, tracked boxes (auto-tracking results), end / continue a
track, flip its heading, one size for it; and :func:`interpolate_document` for the CLI.

Every operation is a :class:`~fusionlabel.commands.Command` (push it on an
:class:`~fusionlabel.commands.UndoStack`). Operations that restructure tracks are
:class:`ReplaceTracks` commands: at apply time they compute the new track(s) from the document as
it is, validate, then remove the old track(s) and insert the new one(s) (the document emits
``track_removed`` then ``track_added``); revert puts the original tracks and their box reviews back
exactly. A box review follows its box to the new track that still has a box at that frame and is
dropped (until undo) where no box is left.

Boundary boxes are *materialised*: where an operation cuts a track at a frame whose box was
interpolated (split, delete from a frame on, a new gap), that box first becomes a keyframe, so the
boxes the labeler saw on the kept side stay where they were. Boxes are world-frame
:class:`~fusionlabel.box.Box3D`; frames are integer indices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from fusionlabel.box import Box3D
from fusionlabel.commands import Command, CommandGroup, UndoStack
from fusionlabel.document import AnnotationDocument, BoxRef, Review
from fusionlabel.errors import ModelError
from fusionlabel.interpolation import check_method, normalize_gaps
from fusionlabel.model import Track
from fusionlabel.tracksize import ANCHORS, estimate_track_size, resize_box

T = TypeVar("T")


def _int(v: object, what: str) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise ModelError(f"{what} must be an integer, got {v!r}")
    return int(v)  # type: ignore[call-overload]


def _ref_here(doc: AnnotationDocument, track_id: int, frame: int) -> BoxRef | None:
    """The box at ``frame`` (any state, with the document's frame times) or None."""
    if frame < 0 or (doc.frame_count is not None and frame >= doc.frame_count):
        return None
    return doc.box_at(track_id, frame)


def _box_here(doc: AnnotationDocument, track_id: int, frame: int) -> Box3D | None:
    """The box (any state, with the document's frame times) or None."""
    ref = _ref_here(doc, track_id, frame)
    return None if ref is None else ref.box


# ---- single keyframes ------------------------------------------------------------------------------
class MakeKeyframe(Command):
    """Turn the interpolated box of a track at ``frame`` into a keyframe with the same box
    ("make keyframe here"). Refused where the track has no box or already a keyframe. With the
    smooth method the neighbouring interpolated boxes may move slightly (the new keyframe takes
    part in their tangents); the box at ``frame`` itself does not move."""

    def __init__(self, track_id: int, frame: int) -> None:
        self.track_id, self.frame = _int(track_id, "track id"), _int(frame, "frame")
        self.description = f"Make keyframe of track {track_id} at frame {frame}"
        self._box: Box3D | None = None

    def apply(self, doc: AnnotationDocument) -> None:
        track = doc.track(self.track_id)
        frame = doc.check_frame(self.frame)
        if frame in track.keyframes:
            raise ModelError(f"track {self.track_id} already has a keyframe at frame {frame}")
        box = _box_here(doc, self.track_id, frame)
        if box is None:
            raise ModelError(f"track {self.track_id} has no box at frame {frame} to make a keyframe of")
        doc._set_keyframe(self.track_id, frame, box)
        self._box = box

    def revert(self, doc: AnnotationDocument) -> None:
        doc._remove_keyframe(self.track_id, self.frame)


# ---- track replacement ----------------------------------------------------------------------------
class ReplaceTracks(Command):
    """Base of the operations that restructure tracks: subclasses implement :meth:`build`, which
    returns the ids of the tracks to remove and the new tracks, each with the ids of the removed
    tracks whose box reviews it may take over. Build must raise ModelError (changing nothing) when
    the operation is refused."""

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        raise NotImplementedError

    def apply(self, doc: AnnotationDocument) -> None:
        remove_ids, new = self.build(doc)
        taken = [t.track_id for t, _ in new]
        if len(set(taken)) != len(taken):
            raise ModelError("the new tracks must have distinct ids")
        clash = set(taken) & (set(doc.tracks) - set(remove_ids))
        if clash:
            raise ModelError(f"track id {min(clash)} already exists")
        for t, _ in new:  # validate like the document would, before anything changes
            if not t.keyframes:
                raise ModelError(f"track {t.track_id} would have no keyframe")
            for f in (*t.keyframes, *t.tracked, *(() if t.end is None else (t.end,))):
                doc.check_frame(f)
        all_reviews = doc.box_reviews()
        claimed: set[tuple[int, int]] = set()
        plan: list[tuple[Track, dict[int, Review]]] = []
        for t, sources in new:  # each review goes to the first new track that has its box
            reviews: dict[int, Review] = {}
            for (rt, f), r in sorted(all_reviews.items()):
                if rt in sources and (rt, f) not in claimed and f not in reviews:
                    if t.box_at(f, doc.frame_times_ns) is not None:
                        reviews[f] = r
                        claimed.add((rt, f))
            plan.append((t, reviews))
        removed: list[tuple[Track, dict[int, Review]]] = []
        inserted: list[int] = []
        try:
            for tid in remove_ids:
                removed.append(doc._remove_track(tid))
            for t, reviews in plan:
                doc._insert_track(t, reviews)
                inserted.append(t.track_id)
        except BaseException:
            for tid in reversed(inserted):
                doc._remove_track(tid)
            for track, reviews in reversed(removed):
                doc._insert_track(track, reviews)
            raise
        self._removed, self._inserted = removed, inserted

    def revert(self, doc: AnnotationDocument) -> None:
        for tid in reversed(self._inserted):
            doc._remove_track(tid)
        for track, reviews in reversed(self._removed):
            doc._insert_track(track, reviews)


def _materialise(
    doc: AnnotationDocument, track: Track, keyframes: dict[int, Box3D], frame: int,
    states: tuple[str, ...] = ("interpolated", "held"),
) -> None:
    """Add the track's current box at ``frame`` to ``keyframes`` when it is in one of ``states``
    (and always when ``keyframes`` is empty: every track keeps a keyframe)."""
    if frame not in keyframes:
        ref = _ref_here(doc, track.track_id, frame)
        if ref is not None and (ref.state in states or not keyframes):
            keyframes[frame] = ref.box


def _until(d: dict[int, T], last: int) -> dict[int, T]:
    return {f: v for f, v in d.items() if f <= last}


def _from(d: dict[int, T], first: int) -> dict[int, T]:
    return {f: v for f, v in d.items() if f >= first}


def _head(doc: AnnotationDocument, track: Track, frame: int) -> Track | None:
    """The part of ``track`` before ``frame`` (None when it has no box there): keyframes and
    tracked boxes before it, the box at ``frame - 1`` a keyframe when it was interpolated (or the
    part has no keyframe), its gaps clipped, and an ``end`` of ``frame - 1`` when the track had
    an end."""
    before = _until(track.keyframes, frame - 1)
    _materialise(doc, track, before, frame - 1, ("interpolated",))
    if not before:
        return None
    return track.copy(
        keyframes=before, gaps=_clip_gaps(track.gaps, 0, frame - 1),
        end=None if track.end is None else min(track.end, frame - 1),
        tracked=_until(track.tracked, frame - 1), tracked_confidence=_until(track.tracked_confidence, frame - 1),
    )


def _anchor_span(t: Track) -> tuple[int, int]:
    """(first, last) frame of a track's keyframes and tracked boxes (a track has a keyframe)."""
    anchors = [*t.keyframes, *t.tracked]
    return min(anchors), max(anchors)


def _clip_gaps(gaps: Iterable[tuple[int, int]], lo: int, hi: int | None) -> tuple[tuple[int, int], ...]:
    """The parts of ``gaps`` inside ``[lo, hi]`` (``hi`` None: no upper bound)."""
    out = []
    for a, b in gaps:
        a, b = max(a, lo), b if hi is None else min(b, hi)
        if a <= b:
            out.append((a, b))
    return tuple(out)


class SetInterpolation(ReplaceTracks):
    """Choose the interpolation method of a track (``"linear"`` or ``"smooth"``)."""

    def __init__(self, track_id: int, method: str) -> None:
        self.track_id, self.method = _int(track_id, "track id"), check_method(method)
        self.description = f"Interpolate track {track_id} {method}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        if track.interpolation == self.method:
            raise ModelError(f"track {self.track_id} already uses {self.method} interpolation")
        return [self.track_id], [(track.copy(interpolation=self.method), (self.track_id,))]


class ChangeTrackId(ReplaceTracks):
    """Give a track another id (refused when the new id is taken); its reviews follow."""

    def __init__(self, track_id: int, new_id: int) -> None:
        self.track_id, self.new_id = _int(track_id, "track id"), _int(new_id, "new track id")
        self.description = f"Change track id {track_id} to {new_id}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        if self.new_id == self.track_id:
            raise ModelError(f"track {self.track_id} already has that id")
        if self.new_id < 0:
            raise ModelError(f"track id must be >= 0, got {self.new_id}")
        if self.new_id in doc:
            raise ModelError(f"track id {self.new_id} already exists")
        return [self.track_id], [(track.copy(track_id=self.new_id), (self.track_id,))]


class SplitTrack(ReplaceTracks):
    """Split a track at ``frame``: frames before it keep the id, frames from it on go to a new
    track (``new_track_id``, or a fresh id chosen at the first apply and kept for redo) with the
    same class, attributes and method. The boxes at ``frame - 1`` and ``frame`` become keyframes
    of their parts when they were interpolated. Refused when either part would be empty."""

    def __init__(self, track_id: int, frame: int, new_track_id: int | None = None) -> None:
        self.track_id, self.frame = _int(track_id, "track id"), _int(frame, "frame")
        self.new_track_id = None if new_track_id is None else _int(new_track_id, "new track id")
        self.description = f"Split track {track_id} at frame {frame}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        frame = doc.check_frame(self.frame)
        head = _head(doc, track, frame)
        after = _from(track.keyframes, frame)
        _materialise(doc, track, after, frame)
        if head is None or not after:
            side = "before" if head is None else "from"
            raise ModelError(f"cannot split track {self.track_id} at frame {frame}: it has no box {side} that frame")
        new_id = doc.new_track_id() if self.new_track_id is None else self.new_track_id
        self.new_track_id = new_id
        tail = track.copy(track_id=new_id, keyframes=after, gaps=_clip_gaps(track.gaps, frame, None),
                          tracked=_from(track.tracked, frame),
                          tracked_confidence=_from(track.tracked_confidence, frame))
        return [self.track_id], [(head, (self.track_id,)), (tail, (self.track_id,))]


class MergeTracks(ReplaceTracks):
    """Merge track ``other_id`` into ``keep_id`` (the same object under two ids, e.g. before and
    after an occlusion). The spans of their keyframes and tracked boxes must not overlap (held
    boxes may: the later track's end is kept). The merged track keeps ``keep_id``'s
    class, method and attributes (``other_id``'s attributes fill the missing ones); the frames
    between the two spans become a gap unless ``bridge`` is True (then they are interpolated and
    any gap between the spans is cleared)."""

    def __init__(self, keep_id: int, other_id: int, bridge: bool = False) -> None:
        self.keep_id, self.other_id = _int(keep_id, "track id"), _int(other_id, "track id")
        self.bridge = bool(bridge)
        self.description = f"Merge track {other_id} into {keep_id}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        keep, other = doc.track(self.keep_id), doc.track(self.other_id)
        if self.keep_id == self.other_id:
            raise ModelError(f"cannot merge track {self.keep_id} with itself")
        (a0, a1), (b0, b1) = _anchor_span(keep), _anchor_span(other)
        if a0 <= b1 and b0 <= a1:
            raise ModelError(
                f"cannot merge tracks {self.keep_id} and {self.other_id}: their spans overlap "
                f"(frames {max(a0, b0)}..{min(a1, b1)})"
            )
        # a track's gaps never hide the other track's span (they marked absence before the merge)
        gaps = [*_clip_gaps(keep.gaps, 0, b0 - 1), *_clip_gaps(keep.gaps, b1 + 1, None),
                *_clip_gaps(other.gaps, 0, a0 - 1), *_clip_gaps(other.gaps, a1 + 1, None)]
        lo, hi = (a1 + 1, b0 - 1) if a1 < b0 else (b1 + 1, a0 - 1)
        if self.bridge:  # interpolate across: no gap frame may stay between the spans
            gaps = [*_clip_gaps(gaps, 0, lo - 1), *_clip_gaps(gaps, hi + 1, None)]
        elif lo <= hi:
            gaps.append((lo, hi))
        later = keep if a0 > b0 else other
        merged = keep.copy(
            attributes={**other.attributes, **keep.attributes},
            keyframes={**keep.keyframes, **other.keyframes},
            gaps=normalize_gaps(gaps),
            end=later.end,
            tracked={**keep.tracked, **other.tracked},
            tracked_confidence={**keep.tracked_confidence, **other.tracked_confidence},
        )
        return [self.keep_id, self.other_id], [(merged, (self.keep_id, self.other_id))]


class DeleteFromFrame(ReplaceTracks):
    """Delete a track's boxes from ``frame`` on (the box at ``frame - 1`` becomes a keyframe when
    it was interpolated); the whole track goes when it has no box before ``frame``."""

    def __init__(self, track_id: int, frame: int) -> None:
        self.track_id, self.frame = _int(track_id, "track id"), _int(frame, "frame")
        self.description = f"Delete track {track_id} from frame {frame} on"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        frame = doc.check_frame(self.frame)
        span = track.span()
        if span is None or span[1] < frame:
            raise ModelError(f"track {self.track_id} has no box from frame {frame} on")
        head = _head(doc, track, frame)
        if head is None:
            return [self.track_id], []
        return [self.track_id], [(head, (self.track_id,))]


class SetGap(ReplaceTracks):
    """Mark frames ``first..last`` (inclusive) of a track as a gap: the object is absent there
    (occluded). Keyframes inside are removed; the boxes just outside (``first - 1``, ``last + 1``)
    become keyframes when they were interpolated, so they stay where they were. Refused when no
    keyframe would be left."""

    def __init__(self, track_id: int, first: int, last: int) -> None:
        self.track_id = _int(track_id, "track id")
        self.first, self.last = _int(first, "gap first frame"), _int(last, "gap last frame")
        self.description = f"Gap in track {track_id} at frames {first}..{last}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        first, last = doc.check_frame(self.first), doc.check_frame(self.last)
        if last < first:
            raise ModelError(f"gap {first}..{last}: last frame before first")
        kept = {f: b for f, b in track.keyframes.items() if not first <= f <= last}
        _materialise(doc, track, kept, first - 1, ("interpolated",))
        _materialise(doc, track, kept, last + 1, ("interpolated",))
        if not kept:
            raise ModelError(f"a gap at frames {first}..{last} would leave track {self.track_id} without a box")
        new = track.copy(keyframes=kept, gaps=normalize_gaps([*track.gaps, (first, last)]),
                         tracked={f: b for f, b in track.tracked.items() if not first <= f <= last},
                         tracked_confidence={f: c for f, c in track.tracked_confidence.items()
                                             if not first <= f <= last})
        if new.keyframes == track.keyframes and new.gaps == track.gaps:
            raise ModelError(f"track {self.track_id} already has a gap at frames {first}..{last}")
        return [self.track_id], [(new, (self.track_id,))]


class RemoveGap(ReplaceTracks):
    """Clear frames ``first..last`` (inclusive) from a track's gaps: they get interpolated boxes
    again where they lie between keyframes. Refused when none of them is in a gap."""

    def __init__(self, track_id: int, first: int, last: int) -> None:
        self.track_id = _int(track_id, "track id")
        self.first, self.last = _int(first, "gap first frame"), _int(last, "gap last frame")
        self.description = f"Remove gap of track {track_id} at frames {first}..{last}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        first, last = self.first, self.last
        gaps = [*_clip_gaps(track.gaps, 0, first - 1), *_clip_gaps(track.gaps, last + 1, None)]
        new_gaps = normalize_gaps(gaps)
        if new_gaps == track.gaps:
            raise ModelError(f"track {self.track_id} has no gap at frames {first}..{last}")
        return [self.track_id], [(track.copy(gaps=new_gaps), (self.track_id,))]


# ---- auto-tracking results and track-level edits -----------------------------------------------
class SetTracked(ReplaceTracks):
    """Replace a track's tracked boxes (found by auto-tracking) in the inclusive frame range
    ``replace`` (default: the first to the last frame of ``boxes``) by ``boxes`` (frame ->
    world-frame Box3D) with their ``confidence`` (frame -> [0, 1]). Keyframes are never touched:
    a frame of ``boxes`` that is a keyframe is skipped. Empty ``boxes`` with a range clear it.
    Tracked boxes before the first keyframe make the track start there; after its end they
    extend it."""

    def __init__(
        self,
        track_id: int,
        boxes: Mapping[int, Box3D],
        confidence: Mapping[int, float],
        replace: tuple[int, int] | None = None,
    ) -> None:
        self.track_id = _int(track_id, "track id")
        self.boxes = {_int(f, "tracked frame"): b for f, b in boxes.items()}
        self.confidence = {_int(f, "tracked frame"): float(c) for f, c in confidence.items()}
        missing = set(self.boxes) - set(self.confidence)
        if missing:
            raise ModelError(f"track {track_id}: no confidence for the tracked box at frame {min(missing)}")
        if replace is None:
            if not self.boxes:
                raise ModelError("SetTracked needs boxes or a frame range to clear")
            replace = (min(self.boxes), max(self.boxes))
        lo, hi = _int(replace[0], "first frame"), _int(replace[1], "last frame")
        if hi < lo:
            raise ModelError(f"tracked range {lo}..{hi}: last frame before first")
        outside = [f for f in self.boxes if not lo <= f <= hi]
        if outside:
            raise ModelError(f"tracked box at frame {outside[0]} outside the range {lo}..{hi}")
        for b in self.boxes.values():
            if not isinstance(b, Box3D):
                raise ModelError(f"expected a Box3D, got {type(b).__name__}")
        self.replace = (lo, hi)
        self.description = f"Track {track_id} at frames {lo}..{hi}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        lo, hi = self.replace
        for f in self.boxes:
            doc.check_frame(f)
        tracked = {f: b for f, b in track.tracked.items() if not lo <= f <= hi}
        conf = {f: c for f, c in track.tracked_confidence.items() if not lo <= f <= hi}
        for f, b in self.boxes.items():
            if f not in track.keyframes:
                tracked[f], conf[f] = b, self.confidence[f]
        return [self.track_id], [(track.copy(tracked=tracked, tracked_confidence=conf), (self.track_id,))]


class EndTrack(ReplaceTracks):
    """The track ends at ``frame``: its keyframes and tracked boxes after it are removed, its
    gaps clipped, ``end = frame``. The box at ``frame`` becomes a keyframe when it was
    interpolated towards a removed keyframe (it stays where the labeler saw it); ``frame`` may be
    in a gap (the object left while hidden). Refused before the track's first keyframe and at or
    after its last frame (continue a track with :class:`ExtendTrack`)."""

    def __init__(self, track_id: int, frame: int) -> None:
        self.track_id, self.frame = _int(track_id, "track id"), _int(frame, "frame")
        self.description = f"End track {track_id} at frame {frame}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        frame = doc.check_frame(self.frame)
        span = track.span()
        assert span is not None
        if frame >= span[1]:
            raise ModelError(f"track {self.track_id} already ends at frame {span[1]}")
        head = _head(doc, track, frame + 1)
        if head is None:
            raise ModelError(f"track {self.track_id} has no keyframe up to frame {frame}")
        head = head.copy(end=frame)
        if head == track:
            raise ModelError(f"track {self.track_id} already ends at frame {frame}")
        return [self.track_id], [(head, (self.track_id,))]


class ExtendTrack(ReplaceTracks):
    """The track continues to frame ``end`` (None: the last frame of the sequence, the document's
    ``frame_count - 1``): its boxes after the last keyframe are held (or tracked). Refused when the
    track already lasts past ``end`` (shorten it with :class:`EndTrack`)."""

    def __init__(self, track_id: int, end: int | None = None) -> None:
        self.track_id = _int(track_id, "track id")
        self.end = None if end is None else _int(end, "end frame")
        to = "the end of the sequence" if end is None else f"frame {end}"
        self.description = f"Continue track {track_id} to {to}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        if self.end is None:
            if not doc.frame_count:
                raise ModelError("the sequence length is unknown: give the frame to continue to")
            end = doc.frame_count - 1
        else:
            end = doc.check_frame(self.end)
        span = track.span()
        assert span is not None
        if span[1] > end:
            raise ModelError(f"track {self.track_id} already lasts to frame {span[1]}, past {end}")
        if track.end == end:
            raise ModelError(f"track {self.track_id} already ends at frame {end}")
        return [self.track_id], [(track.copy(end=end), (self.track_id,))]


class FlipTrack(ReplaceTracks):
    """Turn the heading of every keyframe and tracked box of a track by 180 degrees (centres and
    sizes kept; the in-between boxes follow)."""

    def __init__(self, track_id: int) -> None:
        self.track_id = _int(track_id, "track id")
        self.description = f"Flip heading of track {track_id}"

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)

        def flip(boxes: dict[int, Box3D]) -> dict[int, Box3D]:
            return {f: b.replace(yaw=b.yaw + math.pi) for f, b in boxes.items()}

        return [self.track_id], [(track.copy(keyframes=flip(track.keyframes), tracked=flip(track.tracked)),
                                  (self.track_id,))]


class ResizeTrack(ReplaceTracks):
    """One size (l, w, h) metres for every keyframe and tracked box of a track.

    ``size`` None: estimated by :func:`~fusionlabel.tracksize.estimate_track_size` from
    ``points_at(frame)`` (world points (N, 3) of a frame) at the first apply and kept for redo.
    Each box is placed by ``anchor`` (see :func:`~fusionlabel.tracksize.resize_box`): by default
    (``"visible"``) it keeps standing on the ground and keeps the faces its points support (the
    side the sensor sees) where they were, so growing a box seen from behind extends it forwards;
    ``"bottom"`` keeps the bottom centre, ``"center"`` the centre."""

    def __init__(
        self,
        track_id: int,
        size: tuple[float, float, float] | None = None,
        points_at: Callable[[int], NDArray[np.floating]] | None = None,
        anchor: str = "visible",
    ) -> None:
        self.track_id = _int(track_id, "track id")
        if size is not None:
            size = tuple(float(v) for v in size)  # type: ignore[assignment]
            if len(size) != 3 or not all(v > 0 and math.isfinite(v) for v in size):  # type: ignore[arg-type]
                raise ModelError(f"a size needs three positive lengths, got {size!r}")
        elif points_at is None:
            raise ModelError("ResizeTrack needs a size or the points to estimate it from")
        if anchor not in ANCHORS:
            raise ModelError(f"resize anchor must be one of {ANCHORS}, got {anchor!r}")
        self.size, self.points_at, self.anchor = size, points_at, anchor
        self.description = f"One size for track {track_id}"
        self._boxes: tuple[dict[int, Box3D], dict[int, Box3D]] | None = None

    def build(self, doc: AnnotationDocument) -> tuple[list[int], list[tuple[Track, tuple[int, ...]]]]:
        track = doc.track(self.track_id)
        if self._boxes is None:  # computed once: redo gives the same boxes without the points
            if self.size is None:
                assert self.points_at is not None
                self.size = estimate_track_size(track, self.points_at, times_ns=doc.frame_times_ns)
            size = self.size

            def resized(boxes: dict[int, Box3D]) -> dict[int, Box3D]:
                out = {}
                for f, b in boxes.items():
                    pts = self.points_at(f) if self.anchor == "visible" and self.points_at is not None else None
                    out[f] = resize_box(b, size, self.anchor, pts)
                return out

            self._boxes = resized(track.keyframes), resized(track.tracked)
        kf, tr = self._boxes
        return [self.track_id], [(track.copy(keyframes=dict(kf), tracked=dict(tr)), (self.track_id,))]


# ---- whole document -------------------------------------------------------------------------------
@dataclass(frozen=True)
class InterpolationReport:
    """What :func:`interpolate_document` did: the method, the number of tracks considered, the
    ids whose method changed, and counts over those tracks afterwards: keyframes, interpolated
    boxes, gap frames within the tracks' spans, tracked and held boxes."""

    method: str
    tracks: int
    changed: list[int] = field(default_factory=list)
    keyframes: int = 0
    interpolated: int = 0
    gap_frames: int = 0
    tracked: int = 0
    held: int = 0


def interpolate_document(
    doc: AnnotationDocument,
    method: str = "smooth",
    stack: UndoStack | None = None,
    track_ids: Iterable[int] | None = None,
) -> InterpolationReport:
    """Interpolate every track (or ``track_ids``) of ``doc`` with ``method`` (``"linear"`` or
    ``"smooth"``): sets each track's method as one undoable step (pushed on ``stack`` when given,
    else applied directly) and reports the counts. The in-between boxes are computed, never
    stored, so this is what ``fusionlabel interpolate PROJECT --method M`` does before saving;
    world frame, with the document's frame times when it has them."""
    check_method(method)
    ids = doc.track_ids() if track_ids is None else [doc.track(_int(t, "track id")).track_id for t in track_ids]
    cmds = [SetInterpolation(t, method) for t in ids if doc.track(t).interpolation != method]
    if cmds:
        group = CommandGroup(f"Interpolate {len(cmds)} tracks {method}", cmds)
        if stack is not None:
            stack.push(group)
        else:
            group.apply(doc)
    keyframes = gap_frames = 0
    states: list[str | None] = []
    for t in ids:
        track = doc.track(t)
        lo, hi = track.span() or (0, -1)
        keyframes += len(track.keyframes)
        states += [r[1] for r in track.resolve(track.frames(), doc.frame_times_ns)]
        gap_frames += sum(max(0, min(b, hi) - max(a, lo) + 1) for a, b in track.gaps)
    return InterpolationReport(method, len(ids), [c.track_id for c in cmds], keyframes, states.count("interpolated"),
                               gap_frames, states.count("tracked"), states.count("held"))
