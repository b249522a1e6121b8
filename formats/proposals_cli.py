"""``fusionlabel review-proposals PROJECT``: the proposal review queue's bulk actions on a project file.

After ``fusionlabel prelabel``, accept every proposal at or above a confidence threshold as tracks
(``--accept-above``, :meth:`~fusionlabel.assist.review.ReviewQueue.accept_above`) and reject
every one below another (``--reject-below``, :meth:`~fusionlabel.assist.review.ReviewQueue.reject_below`),
or reject all that is left after the accept (``--reject-rest``); the project is written back
(or to ``--out``) with its human tracks and the proposals left. Accepted tracks get the ontology's
default attributes of their class and keyframes only where the motion needs them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("project", type=Path, help="a project file with proposals (fusionlabel prelabel)")
    p.add_argument("--out", type=Path, default=None, help="project file to write (default: PROJECT itself)")
    from fusionlabel.assist.review import ACCEPT_THRESHOLD

    p.add_argument("--accept-above", type=float, nargs="?", const=ACCEPT_THRESHOLD, default=None, metavar="T",
                   help=f"accept every proposal with confidence >= T as a track (T omitted: the review queue's "
                        f"threshold, {ACCEPT_THRESHOLD})")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--reject-below", type=float, default=None, metavar="T",
                   help="reject every proposal with confidence < T")
    g.add_argument("--reject-rest", action="store_true", help="reject every proposal left (after --accept-above)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Apply the bulk actions, write the project, report what was done; returns the exit code."""
    from formats.project import kept_meta, load_project, save_project
    from fusionlabel.assist.review import ReviewQueue
    from fusionlabel.commands import UndoStack
    from fusionlabel.ontology import Ontology

    if args.accept_above is None and args.reject_below is None and not args.reject_rest:
        raise ValueError("review-proposals: nothing to do (give --accept-above, --reject-below or --reject-rest)")
    for name in ("accept_above", "reject_below"):
        v = getattr(args, name)
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} {v}: a confidence in [0, 1]")
    if not args.project.is_file():
        raise ValueError(f"{args.project}: no such project file")
    project = load_project(args.project)
    doc = project.document
    ontology = Ontology.default().for_dataset(project.sequence.format)
    before = len(doc.proposals)
    queue = ReviewQueue(doc, UndoStack(doc), attributes_for=ontology.default_attributes)
    accepted = queue.accept_above(args.accept_above).track_ids if args.accept_above is not None else []
    if args.reject_below is not None:
        rejected = queue.reject_below(args.reject_below).proposal_ids
    elif args.reject_rest:
        rejected = queue.reject_rest().proposal_ids
    else:
        rejected = []
    queue.close()
    out = args.out or args.project
    save_project(out, doc, project.sequence, ontology=project.ontology, meta=kept_meta(project))
    report = {"project": str(out), "proposals_before": before, "accepted": len(accepted),
              "accepted_tracks": accepted, "rejected": len(rejected), "proposals_left": len(doc.proposals),
              "human_tracks": len(doc.tracks)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{out}: {len(accepted)} of {before} proposals accepted as tracks, {len(rejected)} rejected, "
              f"{len(doc.proposals)} left; {len(doc.tracks)} human tracks")
    return 0
