"""QA checks of point labels against the boxes of the same frame.

- ``class_conflict``: points inside a track's box labelled with another *thing* class (a car's
  points labelled pedestrian); ground and structure classes inside a box are not conflicts (the
  ground under a box, a wall behind it).
- ``instance_split``: one instance whose points lie in more than one box, or in a box of another
  track than its own.

Boxes are world-frame; points are the world-frame sweep of the labelled LiDAR
(:class:`~fusionlabel.pointlabels.tools.Sweeps`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import as_box_array, point_box_indices
from fusionlabel.pointlabels.classes import NO_INSTANCE, UNLABELLED
from fusionlabel.pointlabels.store import PointLabels, instance_of_track, track_of_instance
from fusionlabel.pointlabels.tools import Sweeps


@dataclass(frozen=True)
class PointLabelIssue:
    """One finding: ``kind`` (``class_conflict`` / ``instance_split``), the frame, the track (box)
    concerned, the instance, how many points, and a sentence for the reviewer."""

    kind: str
    frame: int
    track_id: int | None
    instance: int
    points: int
    message: str


def check_point_labels(doc: AnnotationDocument, labels: PointLabels, sweeps: Sweeps, *,
                       frames: Iterable[int] | None = None, ontology: Any = None,
                       min_points: int = 1) -> list[PointLabelIssue]:
    """Every issue of the labelled ``frames`` (default: all with labels), by frame; a finding
    needs at least ``min_points`` points."""
    table = labels.table
    thing = table.thing_mask()
    out: list[PointLabelIssue] = []
    frame_list = labels.labelled_frames() if frames is None else sorted(set(int(f) for f in frames))
    for f in frame_list:
        refs = doc.boxes_at(f)
        if not refs:
            continue
        pts = sweeps.points(f)
        lab = labels.get(f, len(pts))
        box_of = point_box_indices(pts, as_box_array([r.box for r in refs]))
        inside = np.flatnonzero(box_of >= 0)
        for m, r in enumerate(refs):
            want = table.class_for_label(r.label, ontology)
            sel = inside[box_of[inside] == m]
            sem = lab.semantic[sel]
            bad = (sem != UNLABELLED) & thing[sem] & (sem != (want if want is not None else -1))
            if want is not None and bad.sum() >= min_points:
                names = sorted({table.name(int(s)) for s in np.unique(sem[bad])})
                out.append(PointLabelIssue("class_conflict", f, r.track_id, instance_of_track(r.track_id),
                                           int(bad.sum()), f"{int(bad.sum())} points in the {r.label} box of track "
                                           f"{r.track_id} are labelled {', '.join(names)}"))
        inst = lab.instance[inside].astype(np.int64)
        has = inst != NO_INSTANCE
        if not has.any():
            continue
        pairs = np.unique(np.stack([inst[has], box_of[inside][has]], axis=1), axis=0)
        for i in np.unique(pairs[:, 0]):
            boxes = pairs[pairs[:, 0] == i, 1]
            own = track_of_instance(int(i))
            foreign = [int(b) for b in boxes if refs[int(b)].track_id != own]
            if len(boxes) < 2 and not foreign:
                continue
            for b in foreign:
                n = int(np.count_nonzero((inst == i) & (box_of[inside] == b)))
                if n >= min_points:
                    tid = refs[b].track_id
                    out.append(PointLabelIssue("instance_split", f, tid, int(i), n,
                                               f"{n} points of instance {int(i)} (track {own}) lie in the box of "
                                               f"track {tid}"))
    return out
