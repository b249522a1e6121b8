"""``fusionlabel import-map PROJECT MAP``: bring an existing map file (native, Argoverse 2, MapTR
vectors or OpenLABEL ``poly3d``; :mod:`formats.maps.imports`) into a project's map elements, one
undoable step (:class:`fusionlabel.map.commands.ImportMapElements`), and write the project back (or
to ``--out``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from formats.maps.imports import IMPORT_KINDS


def add_import_map(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path, help="project file (.flproj) to add the map elements to")
    p.add_argument("map", type=Path, help="map file: native map.json, log_map_archive_*.json, MapTR vectors, "
                                          "OpenLABEL")
    p.add_argument("--format", choices=IMPORT_KINDS, default="auto", dest="kind",
                   help="kind of the map file (default: told from its content)")
    p.add_argument("--frame", type=int, default=None, help="MapTR file: the frame whose instances are read "
                                                          "(default: the first)")
    p.add_argument("--replace", action="store_true", help="remove the project's map elements first")
    p.add_argument("--out", type=Path, default=None, help="project file to write (default: PROJECT itself)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_import_map(args: argparse.Namespace) -> int:
    from formats.errors import FormatError
    from formats.maps.imports import read_map_file
    from formats.project import kept_meta, load_project, save_project
    from fusionlabel.cli import EXIT_OK, CLIError
    from fusionlabel.commands import UndoStack
    from fusionlabel.map.commands import ImportMapElements

    if not args.project.is_file():
        raise CLIError(f"{args.project}: no such project file")
    if not args.map.is_file():
        raise CLIError(f"{args.map}: no such map file")
    try:
        elements = read_map_file(args.map, args.kind, args.frame)
        project = load_project(args.project)
    except FormatError as e:
        raise CLIError(str(e)) from None
    doc = project.document
    before = len(doc.map_elements)
    cmd = ImportMapElements(elements, replace=args.replace, description=f"Import map {args.map.name}")
    UndoStack(doc).push(cmd)
    out = args.out or args.project
    save_project(out, doc, project.sequence, ontology=project.ontology, meta=kept_meta(project))
    counts: dict[str, int] = {}
    for el in elements:
        counts[el.label] = counts.get(el.label, 0) + 1
    report = {"project": str(out), "map": str(args.map), "imported": len(elements), "classes": counts,
              "element_ids": cmd.element_ids, "replaced": before if args.replace else 0,
              "map_elements": len(doc.map_elements)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{out}: {len(elements)} map elements imported from {args.map} ("
              + ", ".join(f"{n} {c}" for c, n in sorted(counts.items())) + f"); {len(doc.map_elements)} in the project"
              + (f", {before} replaced" if args.replace else ""))
    sys.stdout.flush()
    return EXIT_OK
