"""``fusionlabel export-map``: write a sequence's or project's map elements as MapTR-style per-frame
vectors, an Argoverse 2 local map or OpenLABEL ``poly3d`` objects (see ``docs/map.md``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from formats.maps.export import EXPORT_KINDS


def _window(text: str) -> tuple[float, float]:
    """``WIDTHxLENGTH`` in metres (lateral x longitudinal), e.g. ``30x60``."""
    try:
        w, length = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxLENGTH in metres such as 30x60, got {text!r}") from None
    if not (0 < w < 1e4 and 0 < length < 1e4):
        raise argparse.ArgumentTypeError(f"window sides must be positive, got {text!r}")
    return w, length


def add_export_map(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("src", type=Path, help="project file (.flproj) or sequence (its ground-truth map)")
    p.add_argument("dst", type=Path, help="output folder (created when missing)")
    p.add_argument("--to", choices=EXPORT_KINDS, required=True, dest="kind", help="output format")
    p.add_argument("--range", type=_window, default=(30.0, 60.0), dest="window",
                   help="MapTR window WIDTHxLENGTH in metres around the ego (lateral x forward; default 30x60)")
    p.add_argument("--fixed-num", type=int, default=20, help="MapTR points per instance (default 20)")
    p.add_argument("--log-id", default=None, help="Argoverse 2 log id of the file name (default: the sequence name)")
    add_open_arguments(p)


def _open(src: Path, args: argparse.Namespace) -> tuple[Any, Any]:
    """(SequenceInfo, AnnotationDocument) of a project (its sequence reopened) or a sequence."""
    from fusionlabel.cli import open_path

    opened = open_path(src, args)
    return opened.sequence.info, opened.document


def run_export_map(args: argparse.Namespace) -> int:
    from formats.errors import FormatError
    from formats.maps.export import write_map
    from fusionlabel.cli import EXIT_OK, CLIError

    info, doc = _open(args.src, args)
    if not doc.map_elements:
        raise CLIError(f"{args.src}: no map elements to export")
    try:
        _, text = write_map(args.kind, args.dst, info, doc, args.window, args.fixed_num, args.log_id)
    except FormatError as e:
        raise CLIError(str(e)) from None
    print(text)
    sys.stdout.flush()
    return EXIT_OK
