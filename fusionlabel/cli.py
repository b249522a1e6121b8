"""The ``fusionlabel`` command line: ``synth``, ``info`` and ``demo`` (more subcommands plug in
through :data:`COMMANDS`).

This is the one module of the core that may use ``formats`` and ``gui``; it imports them lazily,
inside the command functions. Errors are reported as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusionlabel import __version__

EXIT_OK = 0
EXIT_ERROR = 2


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, how to add its arguments and how to run it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ---- helpers -----------------------------------------------------------------------------------
def _image_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 800x450, got {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"image size must be at least 16x16, got {text!r}")
    return w, h


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer seed, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer seed, got {text!r}")
    return v


def open_sequence(path: str | os.PathLike[str]) -> Any:
    """Load a sequence from ``path`` (native layout; other formats plug in here) -> SequenceInfo."""
    from formats import native

    p = Path(path)
    if not p.exists():
        raise CLIError(f"{p}: no such file or folder")
    if native.is_native(p):
        return native.load_sequence(p)
    raise CLIError(f"{p}: not a recognised sequence (expected a folder with {native.INDEX_FILE})")


def describe_sequence(seq: Any) -> dict[str, Any]:
    """Facts about a loaded sequence as a JSON-ready dict: format, name, frames, sensors, point
    counts (read from the sweeps), tracks and boxes (all frames, interpolated ones included)."""
    from formats import native

    n = len(seq)
    counts: list[int] = []
    for i in range(n):
        for name in seq.frames[i].lidar_files:
            if seq.format == "native":
                counts.append(int(native.read_lidar_frame(seq, i, name).shape[0]))
    tracks = native.load_ground_truth(seq) if seq.format == "native" else []
    boxes = 0
    labels: dict[str, int] = {}
    for tr in tracks:
        labels[tr.label] = labels.get(tr.label, 0) + 1
        boxes += sum(1 for f in tr.frames() if 0 <= f < n and tr.box_at(f) is not None)
    ts = [fr.timestamp_ns for fr in seq.frames]
    images = {}
    for name in seq.camera_names:
        cam = seq.rig.camera(name)
        images[name] = {"width": cam.width, "height": cam.height, "model": cam.model}
    return {
        "format": seq.format,
        "name": seq.name,
        "path": str(seq.root) if seq.root is not None else None,
        "frames": n,
        "duration_s": (ts[-1] - ts[0]) / 1e9 if n else 0.0,
        "lidars": list(seq.lidar_names),
        "cameras": list(seq.camera_names),
        "images": images,
        "points": {"min": min(counts), "max": max(counts)} if counts else {"min": 0, "max": 0},
        "tracks": len(tracks),
        "labels": dict(sorted(labels.items())),
        "boxes": boxes,
    }


def format_summary(info: dict[str, Any]) -> str:
    """Readable multi-line summary of :func:`describe_sequence`'s dict."""
    cams = (
        ", ".join(f"{n} ({v['width']}x{v['height']} {v['model']})" for n, v in info["images"].items())
        or "none"
    )
    labels = ", ".join(f"{k} {v}" for k, v in info["labels"].items()) or "none"
    return "\n".join(
        [
            f"{info['name']} ({info['format']}) at {info['path']}",
            f"  frames:  {info['frames']} ({info['duration_s']:.1f} s)",
            f"  lidars:  {', '.join(info['lidars']) or 'none'}; points per sweep "
            f"{info['points']['min']}..{info['points']['max']}",
            f"  cameras: {cams}",
            f"  tracks:  {info['tracks']} ({labels}); boxes over all frames: {info['boxes']}",
        ]
    )


# ---- synth ---------------------------------------------------------------------------------------
def _add_synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="output folder (native layout); must not exist or be empty")
    p.add_argument("--frames", type=_positive_int, default=20, help="number of 10 Hz frames (default 20)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--cameras", type=int, choices=(1, 6), default=6, help="forward camera or a ring of 6")
    p.add_argument("--size", type=_image_size, default=(800, 450), help="camera image size WxH (800x450)")
    p.add_argument("--masks", action="store_true", help="also write 16-bit instance masks per image")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")


def generate(
    out: Path,
    frames: int,
    seed: int,
    cameras: int,
    size: tuple[int, int] = (800, 450),
    masks: bool = False,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Generate a synthetic sequence into ``out`` (written to a temporary folder, then renamed)."""
    from formats import native
    from fusionlabel.synth import SynthConfig, SynthScene

    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=cameras, image_size=size))

    def report(done: int, total: int) -> None:
        print(f"\r  frame {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return native.write_synth_scene(
        scene, out, overwrite=force, masks=masks, progress=report if progress else None
    )


def _run_synth(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = generate(
        args.out, args.frames, args.seed, args.cameras, args.size, args.masks, args.force, sys.stderr.isatty()
    )
    dt = time.perf_counter() - t0
    info = describe_sequence(open_sequence(out))
    print(format_summary(info))
    print(f"generated in {dt:.1f} s ({dt / info['frames']:.2f} s per frame)")
    return EXIT_OK


# ---- info ----------------------------------------------------------------------------------------
def _add_info(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="sequence folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _run_info(args: argparse.Namespace) -> int:
    info = describe_sequence(open_sequence(args.path))
    if args.json:
        print(json.dumps(info))
    else:
        print(format_summary(info))
    return EXIT_OK


# ---- demo ----------------------------------------------------------------------------------------
def _demo_version() -> int:
    """Bumped with the generator, so that a cached demo scene of an older generator is not reused."""
    from fusionlabel.synth.generator import GENERATOR_VERSION

    return GENERATOR_VERSION


def cache_dir() -> Path:
    """``$FUSIONLABEL_CACHE``, else ``$XDG_CACHE_HOME/fusionlabel``, else ``~/.cache/fusionlabel``."""
    env = os.environ.get("FUSIONLABEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fusionlabel"


def demo_path(seed: int = 0, cameras: int = 6, frames: int = 20) -> Path:
    """Cache folder of the demo scene for these parameters."""
    name = f"demo-v{_demo_version()}-seed{seed}-{cameras}cams"
    if frames != 20:
        name += f"-{frames}f"
    return cache_dir() / name


def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--cameras", type=int, choices=(1, 6), default=6)
    p.add_argument("--frames", type=_positive_int, default=20)
    p.add_argument("--regenerate", action="store_true", help="generate again even when cached")
    p.add_argument("--no-gui", action="store_true", help="only prepare the scene and print its summary")


def _run_demo(args: argparse.Namespace) -> int:
    from formats import native

    path = demo_path(args.seed, args.cameras, args.frames)
    if args.regenerate or not native.is_native(path):
        print(f"generating the demo scene into {path} ...", file=sys.stderr)
        t0 = time.perf_counter()
        generate(path, args.frames, args.seed, args.cameras, force=True, progress=sys.stderr.isatty())
        print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    seq = open_sequence(path)
    if not args.no_gui:
        try:
            import gui.app as app  # lazy: the GUI is optional
        except ImportError as e:
            print(format_summary(describe_sequence(seq)))
            print(f"note: the GUI is not available ({e}); the scene is ready at {path}")
            return EXIT_OK
        launch = getattr(app, "main", None)
        if callable(launch):
            return int(launch([str(path)]) or 0)
        print(f"note: gui.app has no main(argv); the scene is ready at {path}")
    print(format_summary(describe_sequence(seq)))
    return EXIT_OK


COMMANDS: list[Command] = [
    Command("synth", "generate a synthetic sequence in the native layout", _add_synth, _run_synth),
    Command("info", "describe a sequence", _add_info, _run_info),
    Command("demo", "generate (once, cached) the demo scene and open it", _add_demo, _run_demo),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusionlabel", description="FusionLabel: LiDAR + camera labeling")
    parser.add_argument("--version", action="version", version=f"fusionlabel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 error). Set ``FUSIONLABEL_DEBUG=1``
    to get the traceback instead of the one-line message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except KeyboardInterrupt:
        print("fusionlabel: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, KeyError, OSError) as e:
        if os.environ.get("FUSIONLABEL_DEBUG"):
            raise
        msg = str(e) if not isinstance(e, KeyError) else str(e.args[0] if e.args else e)
        print(f"fusionlabel: error: {' '.join(msg.split())}", file=sys.stderr)
        return EXIT_ERROR
