"""Review filters: which boxes and frames are rejected, unreviewed or commented, and open issues.

Reads the review state of an :class:`~fusionlabel.document.AnnotationDocument` (no mutation: the
review itself is made with ``commands.SetReview`` / ``AddIssueMarker`` / ``ResolveIssueMarker``).
A box is a track at a frame where it has a box (keyframe or interpolated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fusionlabel.document import AnnotationDocument, IssueMarker, Review


@dataclass(frozen=True)
class ReviewItem:
    """A reviewed (or reviewable) thing: a box (``track_id`` set) or a whole frame (``track_id`` None)."""

    frame: int
    track_id: int | None
    review: Review

    @property
    def is_frame(self) -> bool:
        return self.track_id is None


def _frames(doc: AnnotationDocument) -> range:
    if doc.frame_count is not None:
        return range(doc.frame_count)
    last = max((t.span()[1] for t in doc.tracks.values() if t.span() is not None), default=-1)
    return range(last + 1)


def review_items(doc: AnnotationDocument, boxes: bool = True, frames: bool = True) -> list[ReviewItem]:
    """Every box (each track at each frame it has a box) and/or every frame with its review
    (``unreviewed`` when none is stored), ordered by frame, frames before their boxes."""
    out: list[ReviewItem] = []
    if frames:
        out.extend(ReviewItem(f, None, doc.frame_review(f)) for f in _frames(doc))
    if boxes:
        for tid in doc.track_ids():
            out.extend(ReviewItem(f, tid, doc.box_review(tid, f)) for f in doc.track(tid).frames())
    return sorted(out, key=lambda r: (r.frame, -1 if r.track_id is None else r.track_id))


def filter_reviews(doc: AnnotationDocument, keep: Callable[[Review], bool], boxes: bool = True,
                   frames: bool = True) -> list[ReviewItem]:
    """The :func:`review_items` whose review satisfies ``keep``."""
    return [r for r in review_items(doc, boxes, frames) if keep(r.review)]


def rejected(doc: AnnotationDocument, boxes: bool = True, frames: bool = True) -> list[ReviewItem]:
    """Rejected boxes and frames."""
    return filter_reviews(doc, lambda r: r.status == "rejected", boxes, frames)


def unreviewed(doc: AnnotationDocument, boxes: bool = True, frames: bool = True) -> list[ReviewItem]:
    """Boxes and frames nobody accepted or rejected yet."""
    return filter_reviews(doc, lambda r: r.status == "unreviewed", boxes, frames)


def has_comments(doc: AnnotationDocument, boxes: bool = True, frames: bool = True) -> list[ReviewItem]:
    """Boxes and frames whose review carries a non-blank comment."""
    return filter_reviews(doc, lambda r: bool(r.comment.strip()), boxes, frames)


def open_issues(doc: AnnotationDocument, frame: int | None = None) -> list[IssueMarker]:
    """Unresolved issue markers (those of ``frame`` and sequence-wide ones when ``frame`` is given)."""
    return [m for m in doc.issue_markers()
            if not m.resolved and (frame is None or m.frame is None or m.frame == frame)]


def review_summary(doc: AnnotationDocument) -> dict[str, Any]:
    """Counts for a progress display: boxes and frames by status, commented items, open / resolved issues."""
    out: dict[str, Any] = {}
    for name, b, f in (("boxes", True, False), ("frames", False, True)):
        items = review_items(doc, b, f)
        counts = {s: 0 for s in ("unreviewed", "accepted", "rejected")}
        for r in items:
            counts[r.review.status] += 1
        out[name] = {**counts, "total": len(items), "commented": sum(bool(r.review.comment.strip()) for r in items)}
    markers = doc.issue_markers()
    out["issues"] = {"open": sum(not m.resolved for m in markers), "resolved": sum(m.resolved for m in markers)}
    return out
