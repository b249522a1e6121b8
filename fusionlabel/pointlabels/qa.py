"""QA checks of point labels against the boxes of the same frame.

- ``class_conflict``: points inside a track's box labelled with another *thing* class (a car's
  points labelled pedestrian); ground and structure classes inside a box are not conflicts (the
  ground under a box, a wall behind it).
- ``instance_split``: one instance whose points lie in more than one box, or in a box of another
  track than its own.
- ``unlabelled_in_box``: unlabelled points inside a box of a frame that has point labels (a fill
  from boxes not run since the box moved or was added, or points erased by hand).

:func:`fusionlabel.qa.run_checks` gives them as QA findings when it is given point labels
(checks ``point_class`` / ``point_instance`` / ``point_unlabelled`` of the QA configuration,
:data:`QA_CHECKS`), with the world position of the offending points to jump to.

Boxes are world-frame; points are the world-frame sweep of the labelled LiDAR
(:class:`~fusionlabel.pointlabels.tools.Sweeps`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import as_box_array, points_in_any_box
from fusionlabel.pointlabels.classes import NO_INSTANCE, UNLABELLED
from fusionlabel.pointlabels.store import PointLabels, instance_of_track, track_of_instance
from fusionlabel.pointlabels.tools import Sweeps


@dataclass(frozen=True)
class PointLabelIssue:
    """One finding: ``kind`` (``class_conflict`` / ``instance_split`` / ``unlabelled_in_box``),
    the frame, the track (box) concerned, the instance, how many points, a sentence for the
    reviewer and ``location`` the mean world position (x, y, z, m) of those points."""

    kind: str
    frame: int
    track_id: int | None
    instance: int
    points: int
    message: str
    location: tuple[float, float, float] | None = None


def _where(pts: NDArray[np.floating], idx: NDArray[np.intp]) -> tuple[float, float, float] | None:
    if idx.size == 0:
        return None
    c = np.asarray(pts[idx, :3], dtype=np.float64).mean(axis=0)
    return (float(c[0]), float(c[1]), float(c[2]))


def check_point_labels(doc: AnnotationDocument, labels: PointLabels, sweeps: Sweeps, *,
                       frames: Iterable[int] | None = None, ontology: Any = None,
                       min_points: int = 1, min_unlabelled: int | None = 5) -> list[PointLabelIssue]:
    """Every issue of the labelled ``frames`` (default: all with labels), by frame; a finding
    needs at least ``min_points`` points (``min_unlabelled`` for ``unlabelled_in_box``; None:
    that check off)."""
    table = labels.table
    thing = table.thing_mask()
    out: list[PointLabelIssue] = []
    frame_list = labels.labelled_frames() if frames is None else sorted(set(int(f) for f in frames))
    for f in frame_list:
        refs = doc.boxes_at(f)
        if not refs:
            continue
        pts = sweeps.raw(f)
        lab = labels.get(f, len(pts))
        inside, box_in = points_in_any_box(pts, as_box_array([r.box for r in refs]))
        for m, r in enumerate(refs):
            want = table.class_for_label(r.label, ontology)
            sel = inside[box_in == m]
            sem = lab.semantic[sel]
            bad = (sem != UNLABELLED) & thing[sem] & (sem != (want if want is not None else -1))
            if want is not None and bad.sum() >= min_points:
                names = sorted({table.name(int(s)) for s in np.unique(sem[bad])})
                out.append(PointLabelIssue("class_conflict", f, r.track_id, instance_of_track(r.track_id),
                                           int(bad.sum()), f"{int(bad.sum())} points in the {r.label} box of track "
                                           f"{r.track_id} are labelled {', '.join(names)}", _where(pts, sel[bad])))
            empty = sel[sem == UNLABELLED]
            if min_unlabelled is not None and empty.size >= max(1, min_unlabelled):
                out.append(PointLabelIssue("unlabelled_in_box", f, r.track_id, instance_of_track(r.track_id),
                                           int(empty.size), f"{empty.size} of the {sel.size} points in the "
                                           f"{r.label} box of track {r.track_id} are unlabelled", _where(pts, empty)))
        inst = lab.instance[inside].astype(np.int64)
        has = inst != NO_INSTANCE
        if not has.any():
            continue
        pairs = np.unique(np.stack([inst[has], box_in[has]], axis=1), axis=0)
        for i in np.unique(pairs[:, 0]):
            boxes = pairs[pairs[:, 0] == i, 1]
            own = track_of_instance(int(i))
            foreign = [int(b) for b in boxes if refs[int(b)].track_id != own]
            if len(boxes) < 2 and not foreign:
                continue
            for b in foreign:
                sel = inside[(inst == i) & (box_in == b)]
                if sel.size >= min_points:
                    tid = refs[b].track_id
                    out.append(PointLabelIssue("instance_split", f, tid, int(i), int(sel.size),
                                               f"{sel.size} points of instance {int(i)} (track {own}) lie in the box "
                                               f"of track {tid}", _where(pts, sel)))
    return out


#: QA check name (``qa_defaults.json``) of each kind of point-label issue.
QA_CHECKS = {"class_conflict": "point_class", "instance_split": "point_instance",
             "unlabelled_in_box": "point_unlabelled"}
