"""The ``fusionlabel`` command line: ``synth``, ``info`` and ``demo`` (more subcommands plug in
through :data:`COMMANDS`).

This is the one module of the core that may use ``formats`` and ``gui``; it imports them lazily,
inside the command functions. Errors are reported as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from fusionlabel import __version__
from fusionlabel.errors import FusionLabelError
from fusionlabel.sequence import SensorSequence

EXIT_OK = 0
EXIT_ERROR = 2


class CLIError(FusionLabelError):
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


def open_path(path: str | os.PathLike[str], args: argparse.Namespace | None = None,
              require_sequence: bool = True) -> Any:
    """Open any source at ``path`` through the one opener (``formats.source.open_source``): a
    dataset in any layout or a project file -> ``formats.source.OpenedSource``, with ``--format``,
    the reader options and ``--frame-mismatch`` of ``args`` (``formats.openargs``)."""
    from formats.openargs import frame_mismatch, open_format, open_options
    from formats.source import open_source

    p = Path(path)
    if not p.exists():
        raise CLIError(f"{p}: no such file or folder")
    if args is None:
        return open_source(p, require_sequence=require_sequence)
    return open_source(p, open_format(args), open_options(args), frame_mismatch=frame_mismatch(args),
                       require_sequence=require_sequence)


def open_sequence(path: str | os.PathLike[str], args: argparse.Namespace | None = None) -> SensorSequence:
    """The sequence of :func:`open_path` (``formats.datasets.LoadedSequence``; a project's
    sequence carries the project's document)."""
    return open_path(path, args).sequence


def describe_sequence(loaded: SensorSequence) -> dict[str, Any]:
    """Facts about an opened sequence as a JSON-ready dict (``formats.datasets.describe``): format,
    name, frames, sensors, points per sweep, tracks, boxes (interpolated ones included), sync."""
    from formats import datasets

    return datasets.describe(loaded)


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
            *_sync_lines(info),
            *_recording_lines(info),
            *(f"  warning: {w}" for w in info.get("warnings", [])),
        ]
    )


def _recording_lines(info: dict[str, Any]) -> list[str]:
    """A recording's topics (type, messages, rate) and the mapping chosen (``formats.datasets.rosbag``)."""
    rec = info.get("recording")
    if not isinstance(rec, dict):
        return []
    out = ["  topics:"]
    out += [f"    {t['topic']}  {t['type']}  {t['messages']} msgs  {t['rate_hz']:.2f} Hz" for t in rec["topics"]]
    m = rec["mapping"]
    out.append("  mapping: " + ", ".join(f"{n} <- {t}" for n, t in m["lidars"].items()))
    out += [f"    {n} <- {c['image']} ({c['camera_info']})" for n, c in m["cameras"].items()]
    out.append(f"    ego frame {m['ego_frame']}; poses from {m['poses']}; times from {m['stamps']} stamps")
    return out


def _sync_lines(info: dict[str, Any]) -> list[str]:
    """One line per camera whose images are not all paired with a sweep (missing or out of tolerance)."""
    out = []
    for cam, st in (info.get("sync") or {}).items():
        if not isinstance(st, dict):
            continue
        bad = {k: v for k, v in st.items() if k in ("missing", "out_of_tolerance", "unused") and v}
        if bad:
            detail = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in bad.items())
            out.append(f"  sync {cam}: matched {st.get('matched', '?')}; {detail}")
    return out


# ---- synth ---------------------------------------------------------------------------------------
def _add_synth(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="output folder (native layout); must not exist or be empty")
    p.add_argument("--frames", type=_positive_int, default=20, help="number of 10 Hz frames (default 20)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--cameras", type=int, choices=(1, 6), default=6, help="forward camera or a ring of 6")
    p.add_argument("--size", type=_image_size, default=(800, 450), help="camera image size WxH (800x450)")
    p.add_argument("--masks", action="store_true", help="also write 16-bit instance masks per image")
    p.add_argument("--rolling-sweep", action="store_true",
                   help="rotating LiDAR sweep: points at their own time, cameras triggered as it passes")
    p.add_argument("--exposure-offset", type=float, default=0.0, metavar="MS",
                   help="camera capture time after its trigger, milliseconds (default 0)")
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
    rolling_sweep: bool = False,
    exposure_offset_ms: float = 0.0,
) -> Path:
    """Generate a synthetic sequence into ``out`` (written to a temporary folder, then renamed);
    ``rolling_sweep`` / ``exposure_offset_ms``: sensor timing (docs/timing.md)."""
    from formats import native
    from fusionlabel.synth import SynthConfig, SynthScene

    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=cameras, image_size=size,
                                   rolling_sweep=rolling_sweep,
                                   exposure_offset_ns=int(round(exposure_offset_ms * 1e6))))

    def report(done: int, total: int) -> None:
        print(f"\r  frame {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return native.write_synth_scene(
        scene, out, overwrite=force, masks=masks, progress=report if progress else None
    )


def _run_synth(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = generate(
        args.out, args.frames, args.seed, args.cameras, args.size, args.masks, args.force, sys.stderr.isatty(),
        args.rolling_sweep, args.exposure_offset,
    )
    dt = time.perf_counter() - t0
    info = describe_sequence(open_sequence(out))
    print(format_summary(info))
    print(f"generated in {dt:.1f} s ({dt / info['frames']:.2f} s per frame)")
    return EXIT_OK


# ---- info ----------------------------------------------------------------------------------------
def _add_info(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("path", type=Path, help="sequence folder or file (any supported layout)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_open_arguments(p)


def _run_info(args: argparse.Namespace) -> int:
    info = describe_sequence(open_sequence(args.path, args))
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


# ---- check-calib ---------------------------------------------------------------------------------
def _add_check_calib(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("path", type=Path, help="sequence folder or file (any supported layout)")
    p.add_argument("--frame", type=int, default=0, help="frame whose sweep is used (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_open_arguments(p)


def check_calibrations(loaded: SensorSequence, frame: int) -> list[dict[str, Any]]:
    """Run ``calib.sanity.check_calibration`` for every LiDAR x camera pair of ``frame``."""
    from calib.sanity import check_calibration

    info = loaded.info
    if not 0 <= frame < len(info.frames):
        raise CLIError(f"{info.root}: frame {frame} out of range 0..{len(info.frames) - 1}")
    out = []
    for lidar in info.frames[frame].lidar_files:
        cloud = loaded.read_lidar(frame, lidar)
        if cloud is None:
            continue
        for cam in info.rig.camera_names():
            T_cam_from_lidar = loaded.T_sensor_from_world(frame, cam) @ loaded.T_world_from_sensor(frame, lidar)
            rep = check_calibration(cloud.xyz, loaded.rig(frame).camera(cam), T_cam_from_lidar)
            out.append({"lidar": lidar, "camera": cam, "ok": bool(rep.ok), "summary": rep.summary})
    return out


def _run_check_calib(args: argparse.Namespace) -> int:
    results = check_calibrations(open_sequence(args.path, args), args.frame)
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            print(f"{'ok  ' if r['ok'] else 'FAIL'} {r['lidar']} -> {r['camera']}: {r['summary']}")
    return EXIT_OK if all(r["ok"] for r in results) else 1


# ---- pack ----------------------------------------------------------------------------------------
def _add_pack(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("path", type=Path, help="sequence folder or file (any supported layout)")
    p.add_argument("out", type=Path, help="output .h5 file")
    p.add_argument("--compression", choices=["lzf", "gzip", "none"], default="lzf")
    add_open_arguments(p)


def _run_pack(args: argparse.Namespace) -> int:
    from formats.packed import pack

    loaded = open_sequence(args.path, args)
    t0 = time.perf_counter()
    pack(loaded, args.out, compression=args.compression)
    size = args.out.stat().st_size / 1e6
    print(f"packed {len(loaded.info.frames)} frames into {args.out} ({size:.1f} MB) "
          f"in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


# ---- interpolate ---------------------------------------------------------------------------------
def _add_interpolate(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", type=Path, help="annotation project file (.json)")
    p.add_argument("--method", choices=["linear", "smooth"], default="smooth",
                   help="interpolation between keyframes, in the world frame (default: smooth)")
    p.add_argument("--track", type=int, action="append", dest="tracks", help="only this track id (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="report without saving")


def _run_interpolate(args: argparse.Namespace) -> int:
    from formats.project import load_project, save_project
    from fusionlabel.trackops import interpolate_document

    proj = load_project(args.project)
    report = interpolate_document(proj.document, args.method, track_ids=args.tracks)
    if report.changed and not args.dry_run:
        save_project(args.project, proj.document, proj.sequence, ontology=proj.ontology,
                     meta={k: v for k, v in proj.meta.items() if k not in ("saved_at", "saved_at_ns", "app")})
    print(f"{args.project}: {report.tracks} tracks, {report.keyframes} keyframes, "
          f"{report.interpolated} interpolated boxes ({report.method}), {report.gap_frames} gap frames; "
          + (f"{report.tracked} tracked and {report.held} held boxes; " if report.tracked or report.held else "")
          + f"{len(report.changed)} tracks changed method" + (" (not saved: dry run)" if args.dry_run else ""))
    return EXIT_OK


# ---- export-bev ----------------------------------------------------------------------------------
def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _progress_printer(enabled: bool) -> Callable[[int, int], None] | None:
    if not enabled:
        return None

    def report(done: int, total: int) -> None:
        print(f"\r  frame {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return report


def _add_export_bev(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("path", type=Path, help="sequence folder or file (any supported layout)")
    p.add_argument("out", type=Path, help="output folder (must not exist or be empty, unless --force)")
    p.add_argument("--range", type=_positive_float, default=51.2, dest="range_m",
                   help="half extent of the square grid, metres (default 51.2)")
    p.add_argument("--resolution", type=_positive_float, default=0.2, help="cell size, metres (default 0.2)")
    p.add_argument("--axes", "--frame", choices=["ego", "world"], default="ego", dest="axes",
                   help="grid axes: the ego frame's (default) or world-aligned axes centred on the ego "
                        "(--frame is the former name)")
    p.add_argument("--no-png", action="store_true", help="only NPZ layers and JSON vectors")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    add_open_arguments(p)


def _run_export_bev(args: argparse.Namespace) -> int:
    from formats.bev import write_bev

    loaded = open_sequence(args.path, args)
    t0 = time.perf_counter()
    summary = write_bev(loaded, args.out, range_m=args.range_m, resolution=args.resolution, axes=args.axes,
                        png=not args.no_png, overwrite=args.force, progress=_progress_printer(sys.stderr.isatty()))
    dt = time.perf_counter() - t0
    print(f"{args.out}: BEV products ({args.axes} axes, +-{args.range_m} m at {args.resolution} m)")
    print(summary.text())
    print(f"written in {dt:.1f} s ({summary.frames / max(dt, 1e-9):.1f} frames/s)")
    return EXIT_OK


# ---- export-images -------------------------------------------------------------------------------
def _add_export_images(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("path", type=Path, help="sequence folder or file (any supported layout)")
    p.add_argument("out", type=Path, help="output folder (must not exist or be empty, unless --force)")
    p.add_argument("--mp4", action="store_true", help="also write one MP4 per camera (OpenCV, mp4v)")
    p.add_argument("--cameras", nargs="+", metavar="CAMERA", help="only these cameras (default: all)")
    p.add_argument("--fps", type=_positive_float, help="video frame rate (default: from the timestamps)")
    p.add_argument("--no-ids", action="store_true", help="do not write track ids")
    p.add_argument("--no-time-correct", dest="time_correct", action="store_false",
                   help="draw boxes at the frame time, not at each image's capture time")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    add_open_arguments(p)


def _run_export_images(args: argparse.Namespace) -> int:
    from formats.render_export import write_images

    loaded = open_sequence(args.path, args)
    t0 = time.perf_counter()
    summary = write_images(loaded, args.out, cameras=args.cameras, mp4=args.mp4, fps=args.fps,
                           ids=not args.no_ids, overwrite=args.force, time_correct=args.time_correct,
                           progress=_progress_printer(sys.stderr.isatty()))
    dt = time.perf_counter() - t0
    cams = args.cameras or loaded.camera_names
    print(f"{args.out}: {summary.frames} frames x {len(cams)} cameras of PNG images"
          + (", one MP4 per camera" if args.mp4 else ""))
    print(summary.text())
    print(f"written in {dt:.1f} s")
    return EXIT_OK


# ---- convert -------------------------------------------------------------------------------------
def _add_convert(p: argparse.ArgumentParser) -> None:
    from formats.convert import writer_names
    from formats.openargs import add_open_arguments
    from fusionlabel.batch.executor import EXECUTORS

    p.add_argument("src", type=Path, help="sequence (any readable layout), project file, or a folder of sequences")
    p.add_argument("dst", type=Path, help="output folder (one sub-folder per sequence for a folder of sequences)")
    p.add_argument("--to", required=True, choices=sorted(writer_names()), help="output format")
    p.add_argument("--jobs", type=_positive_int, default=1,
                   help="workers: one task per sequence, long sequences split into frame ranges; one nuScenes "
                        "sequence: its box numbers in worker processes (default 1)")
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="batch executor of the tasks (default: processes with --jobs > 1, else inline)")
    p.add_argument("--address", default=None, metavar="HOST:PORT", help="ray: the cluster to join")
    p.add_argument("--frames-per-task", type=_positive_int, default=None,
                   help="split sequences longer than this into frame ranges, one task each, where the output "
                        "format allows (kitti; default with --jobs > 1: a quarter of the frames per worker, "
                        "at least 50)")
    p.add_argument("--force", action="store_true", help="replace non-empty output folders")
    w = p.add_argument_group("writer options")
    w.add_argument("--camera", default=None, help="KITTI: the camera written as image_2 (default: the front one)")
    w.add_argument("--lidar", default=None, help="KITTI: the LiDAR written as velodyne (default: the first)")
    w.add_argument("--decimals", type=int, default=None,
                   help="KITTI: decimals of every label number (default: 4 for 3D values, 2 for the 2D box)")
    w.add_argument("--no-level", dest="level", action="store_false", default=None,
                   help="KITTI: R0_rect = identity instead of levelling a synthesised camera")
    w.add_argument("--velodyne-axes", choices=["ego", "lidar"], default=None,
                   help="KITTI: velodyne frame axes: the ego's (x forward, default) or the LiDAR's own")
    w.add_argument("--sequence-name", dest="sequence_name", default=None, help="KITTI tracking: sequence (0000)")
    w.add_argument("--keyframe-every", type=_positive_int, default=None,
                   help="nuScenes: every N-th frame is a sample, the others sweeps (default 1)")
    w.add_argument("--keyframe-hz", type=float, default=None, help="nuScenes: keyframe rate, e.g. 2 (Hz)")
    w.add_argument("--out-version", dest="out_version", default=None,
                   help="nuScenes: table folder name of the output (v1.0-fusionlabel)")
    w.add_argument("--link", choices=["copy", "hardlink", "symlink", "link"], default=None,
                   help="how unchanged source files are placed (default copy; images the format accepts as "
                        "they are: link = hardlink, else symlink, else copy)")
    w.add_argument("--reencode-images", dest="images", action="store_const", const="reencode", default=None,
                   help="KITTI, nuScenes: encode every image again instead of linking the source image")
    w.add_argument("--no-time-correct", dest="time_correct", action="store_false", default=None,
                   help="KITTI: 2D boxes at the sweep time, not at the image's capture time")
    w.add_argument("--deskew", nargs="?", const="ego", choices=["ego", "objects"], default=None,
                   help="KITTI, native: sweeps with per-point times written motion-compensated (ego: the ego "
                        "motion; objects: moving tracks' points also carried to the frame time)")
    add_open_arguments(p)


def _run_convert(args: argparse.Namespace) -> int:
    from formats.convert import convert_path
    from formats.openargs import frame_mismatch
    from formats.openargs import open_options as dataset_options

    tty = sys.stderr.isatty()
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if tty and (now - last[0] > 0.1 or done >= total):
            last[0] = now
            pct = 100.0 * done / total if total else 100.0
            print(f"\r  converting: {done}/{total} frames ({pct:.0f} %)", end="", file=sys.stderr, flush=True)

    options = {"camera": args.camera, "lidar": args.lidar, "decimals": args.decimals, "level": args.level,
               "velodyne_axes": args.velodyne_axes,
               "sequence": args.sequence_name, "keyframe_every": args.keyframe_every,
               "keyframe_hz": args.keyframe_hz, "version": args.out_version, "link": args.link, "images": args.images,
               "time_correct": args.time_correct, "deskew": args.deskew,
               "overwrite": True if args.force else None}
    t0 = time.perf_counter()
    summary = convert_path(args.src, args.dst, args.to, src_format=args.dataset_format,
                           open_options=dataset_options(args), jobs=args.jobs, progress=report,
                           frame_mismatch=frame_mismatch(args), executor=args.executor, address=args.address,
                           frames_per_task=args.frames_per_task,
                           **{k: v for k, v in options.items() if v is not None})
    if tty:
        print(file=sys.stderr)
    dt = time.perf_counter() - t0
    print(f"{args.src} -> {args.dst} ({args.to}) in {dt:.1f} s")
    print(summary.text())
    if summary.failed:
        failed = "; ".join(f"{n}: {e}" for n, e in summary.failed)
        raise CLIError(f"{len(summary.failed)} sequence(s) failed: {failed}")
    return EXIT_OK


# ---- prelabel ------------------------------------------------------------------------------------
def _add_prelabel(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("src", type=Path, help="a sequence (any supported layout) or an annotation project file")
    p.add_argument("--out", type=Path, default=None,
                   help="project file to write (default: SRC itself for a project, else ./<sequence name>.flproj); "
                        "an existing project keeps its human labels, only its proposals are replaced")
    p.add_argument("--detector", default=None,
                   help="external detector: 'module:callable' or an entry point name of group "
                        "fusionlabel.detectors (default: geometric clusters with size-prior classes)")
    p.add_argument("--max-range", type=float, default=60.0, help="proposal range around the sensor, m (60)")
    p.add_argument("--frames", default=None, help="frame range FIRST:LAST (inclusive, default all)")
    p.add_argument("--lidar", default=None, help="LiDAR sensor name (default: the frame's first)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_open_arguments(p)


def _frame_range(text: str | None, n: int) -> range:
    if text is None:
        return range(n)
    try:
        a, _, b = text.partition(":")
        lo, hi = int(a) if a else 0, int(b) if b else n - 1
    except ValueError:
        raise CLIError(f"--frames: expected FIRST:LAST, got {text!r}") from None
    if not (0 <= lo <= hi < n):
        raise CLIError(f"--frames {text}: out of range 0..{n - 1}")
    return range(lo, hi + 1)


def _open_source(src: Path, args: argparse.Namespace) -> tuple[Any, Any, Path, dict[str, Any]]:
    """Open ``src``, a project file or a sequence, for a command that writes a project (prelabel,
    track): (loaded sequence, project or None, output path, reader options). A project reopens its
    sequence with its recorded reader options (those given override them) and is written back to
    itself unless ``--out``; a sequence is written to ``--out`` (default ./<sequence name>.flproj),
    and an existing project there is loaded (its labels are kept)."""
    from formats.openargs import frame_mismatch, open_format
    from formats.project import SequenceRef, load_project
    from formats.source import apply_frame_rule

    opened = open_path(src, args)
    loaded, project, options = opened.sequence, opened.project, opened.options
    if project is not None:
        fmt = open_format(args)
        project.sequence = SequenceRef(project.sequence.path, fmt or project.sequence.format,
                                       project.sequence.name, options)
        out = args.out or src
    else:
        out = args.out or Path.cwd() / f"{loaded.info.name}.flproj"
        if out.exists():
            project = load_project(out)
            apply_frame_rule(out, project.document, len(loaded), src, frame_mismatch(args))
    return loaded, project, out, options


def _kept_meta(project: Any) -> dict[str, Any]:
    """A project's meta without what every save rewrites (``formats.project.kept_meta``)."""
    from formats.project import kept_meta

    return kept_meta(project)


def _run_prelabel(args: argparse.Namespace) -> int:
    from formats.datasets import reopen_format
    from formats.project import SequenceRef, save_project
    from fusionlabel.assist import PrelabelParams, ReviewQueue, frames_from_sequence, load_detector, prelabel
    from fusionlabel.assist.review import set_prelabels
    from fusionlabel.commands import UndoStack
    from fusionlabel.ontology import Ontology

    src: Path = args.src
    loaded, project, out, options = _open_source(src, args)
    doc = project.document if project is not None else loaded.annotations
    ontology = Ontology.default().for_dataset(loaded.info.format)  # the dataset's size priors
    detector = load_detector(args.detector, ontology) if args.detector else None
    frames = _frame_range(args.frames, len(loaded.info.frames))
    t0 = time.perf_counter()
    result = prelabel(
        frames_from_sequence(loaded, args.lidar, frames, with_images=detector is not None),
        ontology,
        detector=detector,
        params=PrelabelParams(max_range=args.max_range),
        independent_frames=bool(loaded.info.meta.get("independent_frames")),
    )
    set_prelabels(doc, result.proposals)
    seq = project.sequence if project is not None else SequenceRef(
        Path(loaded.info.root or src), reopen_format(loaded), loaded.info.name, options)
    meta = _kept_meta(project)
    meta["prelabel"] = {"source": args.detector or "cluster", "frames": [frames.start, frames.stop - 1],
                        "proposals": len(doc.proposals)}
    save_project(out, doc, seq, ontology=project.ontology if project is not None else "default", meta=meta)
    dt = time.perf_counter() - t0
    queue = ReviewQueue(doc, UndoStack(doc))
    by_class: dict[str, int] = {}
    for p in doc.proposals.values():
        by_class[p.label] = by_class.get(p.label, 0) + 1
    report = {
        "project": str(out),
        "frames": result.frames,
        "proposals": len(doc.proposals),
        "proposal_boxes": sum(len(p.boxes) for p in doc.proposals.values()),
        "classes": dict(sorted(by_class.items())),
        "human_tracks": len(doc.tracks),
        "seconds": round(dt, 2),
        "review_queue": [
            {"id": pid, "label": doc.proposals[pid].label, "confidence": round(doc.proposals[pid].confidence, 3)}
            for pid in queue.ids()[:10]
        ],
    }
    if args.json:
        print(json.dumps(report))
    else:
        classes = ", ".join(f"{k} {v}" for k, v in report["classes"].items()) or "none"
        print(f"{out}: {report['proposals']} proposals ({classes}), {report['proposal_boxes']} boxes over "
              f"{result.frames} frames in {dt:.1f} s; {report['human_tracks']} human tracks kept")
        if report["review_queue"]:
            head = ", ".join(f"#{q['id']} {q['label']} {q['confidence']:.2f}" for q in report["review_queue"][:5])
            print(f"  review queue (highest confidence first): {head}")
    return EXIT_OK


# ---- track ---------------------------------------------------------------------------------------
def _add_track(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("src", type=Path, help="a sequence (any supported layout) or an annotation project file")
    p.add_argument("--out", type=Path, default=None,
                   help="project file to write (default: SRC itself for a project, else ./<sequence name>.flproj)")
    p.add_argument("--tracks", default=None, help="track ids to follow, comma-separated (default: every track)")
    p.add_argument("--frames", default=None, help="frame range FIRST:LAST (inclusive, default all)")
    p.add_argument("--lidar", default=None, help="LiDAR sensor name (default: the frame's first)")
    p.add_argument("--review", type=int, default=10, help="lowest-confidence tracked boxes to list (10)")
    p.add_argument("--finish", action="store_true",
                   help="tracks with one keyframe (new boxes) also get one heading (from their motion or shape), "
                        "size and motion state for the whole track, as in the window")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_open_arguments(p)


def _track_ids(text: str | None, doc: Any) -> list[int]:
    if text is None:
        return [t for t in doc.track_ids() if doc.track(t).keyframes]
    try:
        ids = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise CLIError(f"--tracks: expected comma-separated track ids, got {text!r}") from None
    unknown = [t for t in ids if t not in doc.tracks]
    if unknown:
        raise CLIError(f"--tracks: no track {unknown[0]} in the annotations")
    bare = [t for t in ids if not doc.track(t).keyframes]
    if bare:
        raise CLIError(f"--tracks: track {bare[0]} has no keyframe to start from")
    return ids


def _finishes(args: argparse.Namespace, loaded: Any, doc: Any, results: dict, sweeps: Any, times: Any) -> list:
    """``--finish``: how each followed track with one keyframe is finished (fusionlabel.follow)."""
    from fusionlabel.autotrack import SweepPoints
    from fusionlabel.follow import finish_track
    from fusionlabel.ontology import Ontology

    whole = SweepPoints(loaded, args.lidar, remove_ground=False)
    onto = Ontology.default()
    return [finish_track(doc.track(t), r, whole, onto, origin_at=sweeps.origin, times_ns=times)
            for t, r in results.items() if len(doc.track(t).keyframes) == 1]


def _run_track(args: argparse.Namespace) -> int:
    from formats.datasets import reopen_format
    from formats.project import SequenceRef, save_project
    from fusionlabel.autotrack import SweepPoints, TrackSeed, auto_track_all, review_list
    from fusionlabel.commands import UndoStack
    from fusionlabel.follow import follow_command
    from fusionlabel.ontology import holds_still

    src: Path = args.src
    loaded, project, out, options = _open_source(src, args)
    doc = project.document if project is not None else loaded.annotations
    frames = _frame_range(args.frames, len(loaded.info.frames))
    ids = _track_ids(args.tracks, doc)
    if not ids:
        raise CLIError(f"{src}: no track with a keyframe to follow")
    times = loaded.info.frame_times_ns()
    seeds = [TrackSeed(t, doc.track(t).label, dict(doc.track(t).keyframes), doc.track(t).gaps,
                       holds_still(doc.track(t).attributes)) for t in ids]
    context = []  # the other tracks' boxes (whatever their state), whose points the fits leave out
    for t in doc.track_ids():
        if t not in ids:
            boxes = {f: b for f, b in zip(frames, doc.track(t).boxes_at(frames, times), strict=True) if b is not None}
            context.append(TrackSeed(t, doc.track(t).label, boxes))
    printer = _progress_printer(not args.json and sys.stderr.isatty())
    t0 = time.perf_counter()
    sweeps = SweepPoints(loaded, args.lidar)
    results = auto_track_all(seeds, sweeps, frames, times, context=context,
                             progress=(lambda d, n: printer(d, n)) if printer is not None else None)
    finishes = _finishes(args, loaded, doc, results, sweeps, times) if args.finish else []
    UndoStack(doc).push(follow_command(results, frames, finishes))
    seq = project.sequence if project is not None else SequenceRef(
        Path(loaded.info.root or src), reopen_format(loaded), loaded.info.name, options)
    meta = _kept_meta(project)
    meta["autotrack"] = {"frames": [frames.start, frames.stop - 1], "tracks": ids}
    save_project(out, doc, seq, ontology=project.ontology if project is not None else "default", meta=meta)
    dt = time.perf_counter() - t0
    queue = review_list(results.values(), args.review)
    report = {
        "project": str(out),
        "frames": len(frames),
        "tracks": len(ids),
        "tracked_boxes": sum(len(r.boxes) for r in results.values()),
        "fitted_boxes": sum(len(r.fitted) for r in results.values()),
        "lost_frames": sum(len(r.lost) for r in results.values()),
        "seconds": round(dt, 2),
        "review": [{"track": t, "frame": f, "confidence": round(c, 3)} for t, f, c in queue],
    }
    if args.finish:
        report["finished"] = {"tracks": len(finishes), "turned": sum(f.flip for f in finishes),
                              "resized": sum(f.size is not None for f in finishes)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{out}: {report['tracks']} tracks followed over {report['frames']} frames: "
              f"{report['tracked_boxes']} tracked boxes ({report['fitted_boxes']} fitted to points), "
              f"{report['lost_frames']} frames lost, in {dt:.1f} s")
        if queue:
            head = ", ".join(f"track {t} frame {f} {c:.2f}" for t, f, c in queue[:5])
            print(f"  review (lowest confidence first): {head}")
    return EXIT_OK


# ---- qa / agree ----------------------------------------------------------------------------------
def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return v


def _iou_threshold(text: str) -> float:
    v = _fraction(text)
    if v == 0.0:
        raise argparse.ArgumentTypeError("the IoU threshold must be above 0")
    return v


def _add_agreement_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--iou", choices=["bev", "3d"], default="bev", help="match by bird's-eye or 3D IoU (default bev)")
    p.add_argument("--threshold", type=_iou_threshold, default=0.5, help="IoU a match needs (default 0.5)")


def _add_qa(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("src", type=Path, help="project file (.flproj / .json) or dataset (any supported layout)")
    p.add_argument("--json", action="store_true", help="print one JSON object (findings, counts, sampling)")
    p.add_argument("--config", type=Path, default=None, help="JSON file overriding QA thresholds / severities")
    p.add_argument("--html", type=Path, default=None, help="write a self-contained HTML report here")
    p.add_argument("--against", type=Path, default=None,
                   help="reference annotation set (project or dataset) to measure agreement with")
    p.add_argument("--sample-rate", type=_fraction, default=0.1, help="share of frames to pick for review (0.1)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random part of the sampling")
    p.add_argument("--limit", type=int, default=50, help="findings listed in the text output (default 50)")
    p.add_argument("--fail-on", choices=["error", "warning", "never"], default="error",
                   help="exit with 1 when a finding of this severity (or worse) exists (default error)")
    _add_agreement_options(p)
    add_open_arguments(p)


def _open_qa(path: Path, args: argparse.Namespace | None) -> Any:
    from formats.openargs import frame_mismatch, open_format, open_options
    from formats.qa_report import open_qa_source

    if not path.exists():
        raise CLIError(f"{path}: no such file or folder")
    if args is None:
        return open_qa_source(path)
    return open_qa_source(path, open_format(args), frame_mismatch=frame_mismatch(args), **open_options(args))


def _run_qa(args: argparse.Namespace) -> int:
    from formats.qa_report import world_point_loader, write_html_report
    from fusionlabel.qa import QAConfig, compare, run_checks, sample_frames

    cfg = QAConfig.load(args.config) if args.config is not None else QAConfig.default()
    src = _open_qa(args.src, args)
    loader = world_point_loader(src.loaded) if src.loaded is not None else None
    info = src.loaded.info if src.loaded is not None else None
    t0 = time.perf_counter()
    result = run_checks(src.document, info, loader, src.ontology, cfg, src.records)
    from fusionlabel.map.qa import add_map_checks  # map elements (a document without any: no change)

    add_map_checks(result, src.document, loader)
    agreement = None
    if args.against is not None:
        ref = _open_qa(args.against, None)
        agreement = compare(ref.document, src.document, args.iou, args.threshold)
    sampled = sample_frames(src.document, args.sample_rate, result.findings, frame_count=result.frames,
                            seed=args.seed)
    dt = time.perf_counter() - t0
    if args.html is not None:
        write_html_report(args.html, result, src, agreement=agreement,
                          agreement_names=(str(args.against), str(args.src)), config=cfg, sampled=sampled)
    if args.json:
        out = {"source": str(args.src), "kind": src.kind, "notes": src.notes, **result.to_dict(),
               "sampled_frames": [x.to_dict() for x in sampled]}
        if agreement is not None:
            out["agreement"] = agreement.to_dict()
        if args.html is not None:
            out["html"] = str(args.html)
        print(json.dumps(out))
    else:
        sev = result.by_severity()
        print(f"{src.name}: {result.frames} frames, {result.tracks} tracks, {result.boxes} boxes checked in "
              f"{dt:.1f} s: {sev['error']} errors, {sev['warning']} warnings, {sev['info']} info")
        for note in src.notes:
            print(f"  note: {note}")
        for check, why in result.skipped.items():
            print(f"  skipped {check}: {why}")
        shown = [f for f in result.findings if f.severity != "info"][: max(args.limit, 0)]
        for f in shown:
            where = " ".join(x for x in (f"frame {f.frame}" if f.frame is not None else "",
                                         f"track {f.track_id}" if f.track_id is not None else "") if x)
            loc = "" if f.location is None else " at ({:.1f}, {:.1f}, {:.1f})".format(*f.location)
            print(f"  {f.severity:7s} {f.check:13s} {where}: {f.message}{loc}")
        rest = sum(f.severity != "info" for f in result.findings) - len(shown)
        if rest > 0:
            print(f"  ... {rest} more (--limit, --json)")
        print("frames to review: " + ", ".join(str(x.frame) for x in sampled))
        if agreement is not None:
            print(format_agreement(agreement.to_dict()))
        if args.html is not None:
            print(f"report: {args.html}")
    worst = {"error": ("error",), "warning": ("error", "warning"), "never": ()}[args.fail_on]
    return 1 if any(f.severity in worst for f in result.findings) else EXIT_OK


def _heading_text(d: dict[str, Any]) -> tuple[str, str, str]:
    """(mean, p95, flips) of a heading summary (see ``fusionlabel.qa.agreement.heading_summary``)."""
    e, f = d["heading_error_deg"], d["heading_flips"]
    return ("-" if e["mean"] is None else f"{e['mean']:.1f}", "-" if e["p95"] is None else f"{e['p95']:.1f}",
            str(f["count"]) if f["share"] is None else f"{f['count']} ({100.0 * f['share']:.1f}%)")


def format_agreement(a: dict[str, Any]) -> str:
    """Readable table of ``AgreementResult.to_dict()``."""
    mean, p95, flips = _heading_text(a)
    lines = [f"agreement ({a['iou_mode']} IoU >= {a['threshold']:g}, {a['frames']} frames): "
             f"precision {a['precision']:.3f}, recall {a['recall']:.3f}, mean IoU "
             + ("-" if a["mean_iou"] is None else f"{a['mean_iou']:.3f}")
             + f", id switches {a['id_switches']}, label mismatches {a['label_mismatches']}, MOTA {a['mota']:.3f}",
             f"  heading error (deg): mean {mean}, p95 {p95}; flips (> 90 deg) {flips}",
             f"  {'class':20s} {'TP':>6s} {'FP':>6s} {'FN':>6s} {'prec':>6s} {'recall':>6s} {'mIoU':>6s} "
             f"{'hdg':>6s} {'hdg95':>6s} flips"]
    for label, c in a["per_class"].items():
        miou = "-" if c["mean_iou"] is None else f"{c['mean_iou']:.3f}"
        mean, p95, flips = _heading_text(c)
        lines.append(f"  {label:20s} {c['tp']:6d} {c['fp']:6d} {c['fn']:6d} {c['precision']:6.3f} "
                     f"{c['recall']:6.3f} {miou:>6s} {mean:>6s} {p95:>6s} {flips}")
    return "\n".join(lines)


def _add_agree(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=Path, help="reference annotation set: project file or dataset")
    p.add_argument("b", type=Path, help="annotation set measured against A: project file or dataset")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_agreement_options(p)


def _run_agree(args: argparse.Namespace) -> int:
    from fusionlabel.qa import compare

    a, b = _open_qa(args.a, None), _open_qa(args.b, None)
    result = compare(a.document, b.document, args.iou, args.threshold).to_dict()
    if args.json:
        print(json.dumps({"a": str(args.a), "b": str(args.b), **result}))
    else:
        print(f"{args.b} against {args.a}")
        print(format_agreement(result))
    return EXIT_OK
# ---- open ----------------------------------------------------------------------------------------
def _add_open(p: argparse.ArgumentParser) -> None:
    from formats.openargs import add_open_arguments

    p.add_argument("path", type=Path, help="sequence (any supported layout) or project file (.flproj)")
    p.add_argument("--frame", type=int, default=0, help="frame to show first (0-based)")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window with the data loaded, then exit")
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--select", type=int, default=None, help="select this track id first")
    add_open_arguments(p)  # --format, --estimate-poses, ... for a sequence


def _run_open(args: argparse.Namespace) -> int:
    if not args.path.exists():
        raise CLIError(f"{args.path}: no such file or folder")
    import gui.app as app  # lazy: the GUI is optional

    return int(app.run(args) or 0)


# ---- batch --------------------------------------------------------------------------------------
def _add_batch(p: argparse.ArgumentParser) -> None:
    from formats.batch.commands import add_arguments

    add_arguments(p)


def _run_batch(args: argparse.Namespace) -> int:
    from formats.batch.commands import run

    return run(args, main, validate=lambda argv: build_parser().parse_args(argv))


COMMANDS: list[Command] = [
    Command("synth", "generate a synthetic sequence in the native layout", _add_synth, _run_synth),
    Command("info", "describe a sequence", _add_info, _run_info),
    Command("demo", "generate (once, cached) the demo scene and open it", _add_demo, _run_demo),
    Command("check-calib", "check LiDAR-camera extrinsics against the point cloud", _add_check_calib,
            _run_check_calib),
    Command("interpolate", "set the interpolation of a project's tracks and report", _add_interpolate,
            _run_interpolate),
    Command("pack", "write a packed HDF5 copy of a sequence (opens and steps faster)", _add_pack, _run_pack),
    Command("export-bev", "write BEV raster layers (PNG + NPZ) and vector polygons (JSON)", _add_export_bev,
            _run_export_bev),
    Command("export-images", "write camera images with the projected boxes (PNG, optional MP4)", _add_export_images,
            _run_export_images),
    Command("convert", "convert a sequence (or a folder of sequences) to kitti, kitti-tracking, nuscenes, openlabel, "
            "semantickitti or native", _add_convert, _run_convert),
    Command("prelabel", "propose boxes for a sequence (pre-labels with confidence, kept apart from human labels)",
            _add_prelabel, _run_prelabel),
    Command("review-proposals", "accept proposals above a confidence and reject those below (or the rest), "
            "one step each", lambda p: importlib.import_module("formats.proposals_cli").add_arguments(p),
            lambda a: importlib.import_module("formats.proposals_cli").run(a)),
    Command("track", "follow tracks from their keyframes through the sequence on the LiDAR points (auto-track; "
            "tracked boxes with confidence)", _add_track, _run_track),
    Command("qa", "check a project or dataset's labels, sample frames to review, write a QA report", _add_qa,
            _run_qa),
    Command("agree", "agreement of two annotation sets of one sequence (precision, recall, IoU, id switches)",
            _add_agree, _run_agree),
    Command("export-map", "write map elements as MapTR vectors, an Argoverse 2 map or OpenLABEL poly3d",
            lambda p: import_module("formats.maps.cli").add_export_map(p),
            lambda a: import_module("formats.maps.cli").run_export_map(a)),
    Command("import-map", "add the map elements of a map file (native, Argoverse 2, MapTR, OpenLABEL) to a project",
            lambda p: import_module("formats.maps.import_cli").add_import_map(p),
            lambda a: import_module("formats.maps.import_cli").run_import_map(a)),
    Command("open", "open a sequence in the labeling workstation", _add_open, _run_open),
    Command("label-points", "per-point labels: fill from boxes, ground and road, cleanup, QA; saved in a project",
            lambda p: importlib.import_module("formats.pointlabels_cli").add_arguments(p),
            lambda a: importlib.import_module("formats.pointlabels_cli").run(a)),
    Command("batch", "run convert, export-bev, export-images, prelabel, track or qa over many sequences "
            "(inline, local processes or Ray; resumable manifest)", _add_batch, _run_batch),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusionlabel", description="FusionLabel: LiDAR + camera labeling")
    parser.add_argument("--version", action="version", version=f"fusionlabel {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 error). ``--debug`` (or
    ``FUSIONLABEL_DEBUG=1``) shows the traceback instead of the one-line message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except KeyboardInterrupt:
        print("fusionlabel: interrupted", file=sys.stderr)
        return 130
    except (FusionLabelError, ValueError, KeyError, OSError) as e:
        # the project's errors name the file (and key or line); an OSError names its file too
        if args.debug or os.environ.get("FUSIONLABEL_DEBUG"):
            raise
        print(f"fusionlabel: error: {error_line(e)}", file=sys.stderr)
        return EXIT_ERROR


def error_line(e: BaseException) -> str:
    """One line for an error: the message with its whitespace collapsed (a multi-line message, e.g.
    the list of known layouts, becomes one line); a KeyError without its quotes; an OSError with
    its file name."""
    if isinstance(e, KeyError) and not isinstance(e, FusionLabelError):
        msg = str(e.args[0] if e.args else e)
    elif isinstance(e, OSError) and e.filename is not None and not isinstance(e, FusionLabelError):
        msg = f"{e.filename}: {e.strerror or e}"
    else:
        msg = str(e)
    return " ".join(msg.split())


if __name__ == "__main__":
    sys.exit(main())
