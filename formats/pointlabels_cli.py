"""``fusionlabel label-points``: apply the point-labeling tools to a sequence or project headlessly.

    fusionlabel label-points SRC [--out PROJECT] [--clear] [--fill-boxes] [--ground-road]
                             [--road-width W | --road-width LEFT RIGHT] [--height H] [--max-distance D]
                             [--ground-class NAME] [--cleanup] [--qa]

SRC is a sequence (any layout; ``--out`` names the project to write) or a project file (saved back,
or to ``--out``). The labels start from the document's (a project's own, a synthetic sequence's
ground truth) unless ``--clear``. Each tool is one undoable command, applied in the order above;
the per-class point counts are printed after, and with ``--qa`` the class / box contradictions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fusionlabel.commands import UndoStack
from fusionlabel.pointlabels import UNLABELLED, PointLabels
from fusionlabel.pointlabels.qa import check_point_labels
from fusionlabel.pointlabels.tools import FillReport, cleanup_small_clusters, fill_from_boxes, ground_and_road


def add_arguments(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("src", type=Path, help="sequence (any supported layout) or project file (.flproj)")
    p.add_argument("--out", type=Path, help="project file to write (default: the source project)")
    p.add_argument("--clear", action="store_true", help="start from no point labels")
    p.add_argument("--fill-boxes", action="store_true", help="points in every track's boxes get its class and id")
    p.add_argument("--ground-road", action="store_true", help="ground points become road or --ground-class")
    p.add_argument("--road-width", type=float, nargs="+", default=[8.0], metavar="M",
                   help="road: within M m of the ego path, or LEFT RIGHT m of its direction (default 8)")
    p.add_argument("--height", type=float, default=0.2, help="ground: at most this far above the ground, m")
    p.add_argument("--max-distance", type=float, default=80.0, help="ground: within this BEV range of the sensor, m")
    p.add_argument("--ground-class", default="flat.other", help="class of ground off the road (default flat.other)")
    p.add_argument("--cleanup", action="store_true", help="relabel small stray clusters (connected components)")
    p.add_argument("--qa", action="store_true", help="report points whose class contradicts their box")
    add_open_arguments(p)


def run(args: argparse.Namespace) -> int:
    from formats.datasets import reopen_format
    from formats.openargs import frame_mismatch, open_format, open_options
    from formats.pointlabels import ensure_point_labels, sweeps_of
    from formats.project import SequenceRef, save_project
    from formats.source import open_source

    src: Path = args.src
    if not src.exists():
        raise FileNotFoundError(2, "no such file or folder", str(src))
    opened = open_source(src, open_format(args), open_options(args), frame_mismatch=frame_mismatch(args))
    is_project = opened.project is not None
    out = args.out or (src if is_project else None)
    if out is None:
        raise ValueError(f"{src} is a sequence: name the project to write with --out")
    loaded = opened.sequence
    assert loaded is not None  # require_sequence
    if opened.project is not None:
        sequence, ontology = opened.project.sequence, opened.project.ontology
    else:
        sequence, ontology = SequenceRef(src, reopen_format(loaded)), "default"
    doc = loaded.annotations
    if args.clear:
        doc.attach_point_labels(None)
    labels = ensure_point_labels(loaded)
    if labels.point_count is None:
        labels.point_count = lambda f: len(loaded.read_lidar(f, labels.sensor) or ())
    sweeps = sweeps_of(loaded, labels.sensor)
    stack = UndoStack(doc)
    if args.fill_boxes:
        report = FillReport()
        cmd = fill_from_boxes(doc, sweeps, report=report)
        if cmd is not None:
            stack.push(cmd)
        print(f"fill from boxes: {sum(report.points.values())} points in {report.frames} frames"
              + (f"; tracks without a point class: {report.unmapped}" if report.unmapped else ""))
    if args.ground_road:
        width = args.road_width[0] if len(args.road_width) == 1 else tuple(args.road_width[:2])
        cmd = ground_and_road(doc, sweeps, height=args.height, max_distance=args.max_distance, road_width=width,
                              ground_class=args.ground_class)
        if cmd is not None:
            stack.push(cmd)
        print(f"ground and road: {0 if cmd is None else cmd.changed_points} points")
    if args.cleanup:
        cmd = cleanup_small_clusters(doc, sweeps)
        if cmd is not None:
            stack.push(cmd)
        print(f"small-cluster cleanup: {0 if cmd is None else cmd.changed_points} points relabelled")
    _print_counts(labels, len(loaded))
    if args.qa:
        issues = check_point_labels(doc, labels, sweeps)
        print(f"QA: {len(issues)} findings")
        for i in issues[:20]:
            print(f"  frame {i.frame}: {i.kind}: {i.message}")
    save_project(out, doc, sequence, ontology=ontology)
    print(f"saved {out} (point labels in {out}.pointlabels/)")
    return 0


def _print_counts(labels: PointLabels, frames: int) -> None:
    counts = np.zeros(256, dtype=np.int64)
    for f in labels.labelled_frames():
        counts += np.bincount(labels.get(f).semantic, minlength=256)
    total = int(counts.sum())
    print(f"point labels: {len(labels.labelled_frames())} of {frames} frames, {total} points, "
          f"{1 - counts[UNLABELLED] / max(total, 1):.1%} labelled")
    for i in np.flatnonzero(counts):
        print(f"  {labels.table.name(int(i)):40s} {int(counts[i]):10d}")
