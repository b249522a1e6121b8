"""``fusionlabel export-map``: write a sequence's or project's map elements as MapTR-style per-frame
vectors, an Argoverse 2 local map or OpenLABEL ``poly3d`` objects (see ``docs/map.md``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXPORT_KINDS = ("maptr", "av2", "openlabel")


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
    from formats.maps.av2 import write_av2_map
    from formats.maps.maptr import write_maptr
    from formats.maps.openlabel import write_openlabel_map
    from fusionlabel.cli import EXIT_OK, CLIError

    info, doc = _open(args.src, args)
    elements = [doc.map_elements[i] for i in sorted(doc.map_elements)]
    if not elements:
        raise CLIError(f"{args.src}: no map elements to export")
    if args.fixed_num < 2:
        raise CLIError("--fixed-num must be at least 2")
    args.dst.mkdir(parents=True, exist_ok=True)
    name = info.name
    if args.kind == "maptr":
        frames = [(i, f.timestamp_ns, f.T_world_from_ego) for i, f in enumerate(info.frames)]
        out = args.dst / f"maptr_{name}.json"
        data = write_maptr(out, name, frames, elements, args.window, args.fixed_num)
        counts: dict[str, int] = {}
        for g in data["GTs"]:
            for v in g["vectors"]:
                counts[v["cls_name"]] = counts.get(v["cls_name"], 0) + 1
        per = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        print(f"{out}: {len(frames)} frames, window {args.window[0]:g} x {args.window[1]:g} m; instances: {per}")
    elif args.kind == "av2":
        out = write_av2_map(args.dst, args.log_id or name, elements)
        import json

        d = json.loads(out.read_text())
        print(f"{out}: {len(d['lane_segments'])} lane segments, {len(d['drivable_areas'])} drivable areas, "
              f"{len(d['pedestrian_crossings'])} pedestrian crossings")
    else:
        out = args.dst / f"{name}_map.openlabel.json"
        write_openlabel_map(out, name, elements)
        print(f"{out}: {len(elements)} map elements as poly3d")
    sys.stdout.flush()
    return EXIT_OK
