"""Batch runs of the sequence commands over a folder of sequences or a list file.

``fusionlabel batch CMD SRC OUT [batch options] [CMD's own options]`` runs the command ``CMD``
(``convert``, ``export-bev``, ``export-images``, ``prelabel``, ``track``, ``qa``) once per
sequence of ``SRC``, as one task each, through an executor (``--executor inline|processes|ray``,
``--jobs N``, ``--address HOST:PORT``), and records every task in a Parquet manifest
(``OUT/batch-manifest.parquet`` unless ``--manifest``). A rerun skips the tasks whose input
fingerprint and options are unchanged and whose outputs exist.

Sources (:func:`discover`): a folder (its sub-folders that are sequences, every sequence of a
KITTI tracking folder or nuScenes table set, and the project files ``*.flproj`` in it), a list
file (``.txt``/``.lst``/``.list``: one path per line, relative to the list's folder, ``#``
comments; each entry is expanded the same way), or one sequence or project.

Outputs per task, under ``OUT`` (``NAME``: the sequence's name):

- ``convert``, ``export-bev``, ``export-images``: the folder ``OUT/NAME``;
- ``prelabel``, ``track``: the project file ``OUT/NAME.flproj``;
- ``qa``: ``OUT/NAME.qa.json`` (the command's ``--json`` output; exit code 1, findings of the
  ``--fail-on`` severity, counts as done: the findings are in the file).

A task runs the command's own entry point (the CLI's ``main``, handed in by the caller so that
this module does not import the command line) with the argument list of one sequence, its
standard output and error captured. This module knows the arguments, not the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formats.errors import FormatError
from fusionlabel.batch import Manifest, ManifestRow, Task, TaskOutcome, fingerprint, make_executor, summarize
from fusionlabel.batch.executor import EXECUTORS
from fusionlabel.batch.manifest import options_text

LIST_SUFFIXES = (".txt", ".lst", ".list")
MANIFEST_NAME = "batch-manifest.parquet"
#: Modules the process backend's forkserver imports once (workers start without importing them).
PRELOAD = ("fusionlabel.cli", "formats.batch.commands", "formats.convert", "formats.datasets",
           "formats.export.kitti", "formats.export.nuscenes", "formats.export.native", "formats.bev",
           "formats.render_export", "formats.qa_report", "formats.project", "formats.batch.preload")


@dataclass(frozen=True)
class BatchSpec:
    """How a command is run per sequence: what it writes (``folder``, ``project`` or ``json``)
    and the exit codes that mean done."""

    output: str
    ok_codes: tuple[int, ...] = (0,)


BATCH_COMMANDS: dict[str, BatchSpec] = {
    "convert": BatchSpec("folder"),
    "export-bev": BatchSpec("folder"),
    "export-images": BatchSpec("folder"),
    "prelabel": BatchSpec("project"),
    "track": BatchSpec("project"),
    "qa": BatchSpec("json", (0, 1)),
}


# ---- sources ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchSource:
    """One input of a batch: ``name`` (unique in the batch), the ``path`` fingerprinted and
    opened, and the arguments that select it (``--format``, ``--sequence``, ``--scene``)."""

    name: str
    path: Path
    args: tuple[str, ...] = ()


def _expand(p: Path) -> list[BatchSource]:
    from formats.convert import find_sequences
    from formats.datasets import UnknownFormatError
    from formats.source import is_project_file  # the one project-file rule

    projects = sorted(x for x in p.iterdir() if x.is_file() and is_project_file(x)) if p.is_dir() else []
    out = [BatchSource(x.stem, x) for x in projects]
    try:
        sources = find_sequences(p)
    except UnknownFormatError:
        if out:
            return out
        raise
    for s in sources:
        if s.format == "project" or is_project_file(s.path):
            out.append(BatchSource(s.name, s.path))
            continue
        args: list[str] = ["--format", s.format] if s.format else []
        opts = dict(s.options)
        for key in ("sequence", "scene"):
            if opts.get(key) is not None:
                args += [f"--{key}", str(opts[key])]
        out.append(BatchSource(s.name, s.path, tuple(args)))
    return out


def discover(src: str | os.PathLike[str]) -> list[BatchSource]:
    """The inputs of ``src`` (module docstring), in a stable order. FormatError naming the list
    file for a missing entry; DatasetError / UnknownFormatError for a path holding no sequence;
    FormatError when two inputs share a name."""
    p = Path(src)
    if not p.exists():
        raise FormatError(p, "no such file or folder")
    if p.is_file() and p.suffix.lower() in LIST_SUFFIXES:
        out: list[BatchSource] = []
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            q = Path(entry) if Path(entry).is_absolute() else p.parent / entry
            if not q.exists():
                raise FormatError(p, f"line {n}: {entry}: no such file or folder")
            out += _expand(q)
    else:
        out = _expand(p)
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise FormatError(p, f"input names are not unique: {', '.join(dup)}")
    if not out:
        raise FormatError(p, "holds no sequence")
    return out


# ---- tasks -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CommandPayload:
    """What a worker runs: ``main(argv)`` with stdout captured (and written to ``stdout_to``)."""

    main: Callable[[Sequence[str]], int]
    argv: tuple[str, ...]
    ok_codes: tuple[int, ...]
    stdout_to: str | None = None
    crash: bool = False  # test hook: the worker kills itself (SIGKILL) before running


def run_command(payload: CommandPayload) -> dict[str, Any]:
    """Worker body: run one command, return ``{"exit_code", "summary"}``; RuntimeError with the
    command's error line when its exit code is not one of ``ok_codes``."""
    if payload.crash:
        os.kill(os.getpid(), signal.SIGKILL)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = int(payload.main(list(payload.argv)) or 0)
        except SystemExit as e:  # argparse
            rc = e.code if isinstance(e.code, int) else 2
    if rc not in payload.ok_codes:
        lines = [x for x in err.getvalue().splitlines() if x.strip()]
        raise RuntimeError(f"exit code {rc}: {lines[-1] if lines else 'no message'}")
    text = out.getvalue()
    if payload.stdout_to is not None:
        from calib.fileio import atomic_write_text

        atomic_write_text(Path(payload.stdout_to), text)
    last = [x for x in text.splitlines() if x.strip()]
    return {"exit_code": rc, "summary": last[-1][:500] if last and payload.stdout_to is None else ""}


@dataclass
class PlannedTask:
    """A task of the batch with its manifest row (``skip``: done before, not run again)."""

    source: BatchSource
    argv: list[str]
    outputs: list[Path]
    row: ManifestRow
    skip: bool = False
    stdout_to: Path | None = None


def _outputs(command: str, out: Path, name: str) -> tuple[list[str], list[Path], Path | None]:
    """(command arguments naming the output, output paths, stdout file)."""
    kind = BATCH_COMMANDS[command].output
    if kind == "folder":
        return [str(out / name)], [out / name], None
    if kind == "project":
        return ["--out", str(out / f"{name}.flproj")], [out / f"{name}.flproj"], None
    return ["--json"], [out / f"{name}.qa.json"], out / f"{name}.qa.json"


def plan_tasks(command: str, sources: Sequence[BatchSource], out: Path, options: Sequence[str],
               manifest: Manifest) -> list[PlannedTask]:
    """One task per source: its argument list (``command`` first), outputs and manifest row;
    ``skip`` when the manifest has it done with the same input fingerprint and options and its
    outputs exist. A rerun task whose output exists from an earlier run of the manifest gets
    ``--force`` (the output is the batch's own)."""
    if command not in BATCH_COMMANDS:
        raise ValueError(f"unknown batch command {command!r}; known: {', '.join(BATCH_COMMANDS)}")
    planned = []
    for s in sources:
        key = f"{command}:{s.name}"
        out_args, outputs, stdout_to = _outputs(command, out, s.name)
        argv = [command, str(s.path), *out_args, *s.args, *options]
        opts = options_text({"args": list(options), "select": list(s.args), "out": str(out)})
        fp = fingerprint(s.path)
        skip = manifest.is_done(key, fp, opts)
        prior = manifest.rows.get(key)
        if (not skip and prior is not None and BATCH_COMMANDS[command].output == "folder"
                and outputs[0].exists() and "--force" not in options):
            argv.append("--force")
        row = prior if skip and prior is not None else ManifestRow(
            key, command, s.name, str(s.path), fp, opts, outputs=[str(o) for o in outputs])
        planned.append(PlannedTask(s, argv, outputs, row, skip, stdout_to))
    return planned


# ---- running -----------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """Counts of a batch run and the failed tasks (key, error)."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def _progress_line(command: str, executor: str, res: BatchResult, running: int, t0: float) -> str:
    return (f"\r  batch {command} [{executor}]: {res.done + res.skipped + len(res.failed)}/{res.total} tasks "
            f"({res.skipped} skipped, {len(res.failed)} failed, {running} to go) {time.perf_counter() - t0:.1f} s")


def run_batch(command: str, src: str | os.PathLike[str], out: str | os.PathLike[str], options: Sequence[str],
              main: Callable[[Sequence[str]], int], *, executor: str = "processes", jobs: int | None = None,
              address: str | None = None, manifest: str | os.PathLike[str] | None = None,
              crash: Sequence[str] = (), progress: Callable[[str], None] | None = None,
              validate: Callable[[Sequence[str]], Any] | None = None) -> BatchResult:
    """Run ``command`` over every input of ``src`` (module docstring) into ``out``.
    ``options``: the command's own arguments; ``main``: the command line's entry point run per
    task; ``validate(argv)``: parses the first task's arguments before any work (fails early on
    a bad option). ``crash``: names of inputs whose worker kills itself (tests). ``progress``
    receives the one progress line after each finished task."""
    t0 = time.perf_counter()
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    out = Path(out)
    sources = discover(src)
    man = Manifest.load(Path(manifest) if manifest is not None else out / MANIFEST_NAME)
    planned = plan_tasks(command, sources, out, options, man)
    if validate is not None:
        validate(planned[0].argv)
    unknown = set(crash) - {s.name for s in sources}
    if unknown:
        raise ValueError(f"--crash-task: no input named {', '.join(sorted(unknown))}")
    if crash and executor == "inline":
        raise ValueError("--crash-task needs a worker process (executor processes or ray)")
    out.mkdir(parents=True, exist_ok=True)
    res = BatchResult(total=len(planned), skipped=sum(p.skip for p in planned))
    todo = [p for p in planned if not p.skip]
    by_key = {p.row.key: p for p in planned}
    for p in planned:
        man.rows[p.row.key] = p.row
    ok = BATCH_COMMANDS[command].ok_codes
    tasks = [Task(p.row.key, run_command, CommandPayload(
        main, tuple(p.argv), ok, None if p.stdout_to is None else str(p.stdout_to), p.source.name in crash))
        for p in todo]
    left = [len(tasks)]

    def done(o: TaskOutcome) -> None:
        row = by_key[o.key].row
        row.started, row.seconds, row.executor = o.started, round(o.seconds, 4), executor
        row.cpu_seconds = round(o.cpu_seconds, 4)
        if o.ok:
            row.status, row.error, row.summary = "done", "", str(o.value.get("summary", ""))
            res.done += 1
        else:
            row.status, row.error = "failed", o.error
            res.failed.append((row.name, o.error.splitlines()[0] if o.error else "failed"))
        left[0] -= 1
        man.save()
        if progress is not None:
            progress(_progress_line(command, executor, res, left[0], t0))

    if tasks:
        for p in todo:
            p.row.status, p.row.error = "pending", ""
        man.save()
        ex = make_executor(executor, jobs, address, PRELOAD)
        try:
            ex.run(tasks, done)
        finally:
            ex.close()
    else:
        man.save()
    res.seconds = time.perf_counter() - t0
    return res


# ---- command line ------------------------------------------------------------------------------------
def _add_run_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    d = argparse.SUPPRESS if suppress else None
    p.add_argument("--executor", choices=EXECUTORS, default=d if suppress else "processes",
                   help="inline (debugging), local worker processes (default) or ray")
    p.add_argument("--jobs", type=int, default=d, help="workers (default: the CPU count)")
    p.add_argument("--address", default=d, metavar="HOST:PORT",
                   help="ray: the cluster to join (default: start a local runtime of --jobs CPUs)")
    p.add_argument("--manifest", type=Path, default=d, help=f"manifest file (default OUT/{MANIFEST_NAME})")
    p.add_argument("--crash-task", action="append", default=d if suppress else [], metavar="NAME",
                   help=argparse.SUPPRESS)  # tests: that task's worker kills itself


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``batch`` command's sub-commands: one per :data:`BATCH_COMMANDS` entry, and ``status``."""
    sub = p.add_subparsers(dest="batch_command", metavar="CMD", required=True)
    for name, spec in BATCH_COMMANDS.items():
        what = {"folder": "OUT/NAME/", "project": "OUT/NAME.flproj", "json": "OUT/NAME.qa.json"}[spec.output]
        sp = sub.add_parser(name, help=f"run '{name}' on every sequence of SRC (writes {what})",
                            description=f"Run '{name}' on every sequence of SRC, one task each, writing {what}; "
                                        f"options after OUT that are not batch options go to '{name}'.")
        sp.add_argument("src", type=Path, help="folder of sequences (or projects), list file, or one sequence")
        sp.add_argument("out", type=Path, help="output folder")
        _add_run_options(sp)
        sp.add_argument("options", nargs=argparse.REMAINDER, help=f"options of '{name}'")
    st = sub.add_parser("status", help="summarise a batch manifest", description="Summarise a batch manifest.")
    st.add_argument("manifest", type=Path, help=f"manifest file (e.g. OUT/{MANIFEST_NAME})")
    st.add_argument("--json", action="store_true", help="print one JSON object")


def split_options(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    """Batch options given after OUT are taken out of the command's options."""
    again = argparse.ArgumentParser(add_help=False)
    _add_run_options(again, suppress=True)
    known, rest = again.parse_known_args(list(args.options or []))
    merged = argparse.Namespace(**vars(args))
    for k, v in vars(known).items():
        if k == "crash_task":
            v = [*args.crash_task, *v]
        setattr(merged, k, v)
    return merged, rest


def run_status(args: argparse.Namespace) -> int:
    import json

    info = summarize(Manifest.load(args.manifest, missing_ok=False))
    if args.json:
        print(json.dumps(info))
        return 0
    st = info["status"]
    print(f"{info['manifest']}: {info['tasks']} tasks: {st['done']} done, {st['failed']} failed, "
          f"{st['pending']} pending; {info['task_seconds']:.1f} s of task time, "
          f"{info['task_cpu_seconds']:.1f} s of task CPU time")
    for cmd, c in info["commands"].items():
        print(f"  {cmd:14s} " + ", ".join(f"{k} {v}" for k, v in c.items()))
    for f in info["failed"]:
        print(f"  failed {f['key']}: {f['error']}")
    return 0 if not info["failed"] else 1


def run(args: argparse.Namespace, main: Callable[[Sequence[str]], int],
        validate: Callable[[Sequence[str]], Any] | None = None) -> int:
    """The ``batch`` command: ``main`` and ``validate`` are the command line's entry point and
    argument check (handed in by it). Exit code 0, or 1 when a task failed."""
    if args.batch_command == "status":
        return run_status(args)
    a, options = split_options(args)
    tty = sys.stderr.isatty()

    def show(line: str) -> None:
        if tty:
            print(line, end="", file=sys.stderr, flush=True)

    res = run_batch(a.batch_command, a.src, a.out, options, main, executor=a.executor, jobs=a.jobs,
                    address=a.address, manifest=a.manifest, crash=a.crash_task, progress=show, validate=validate)
    if tty and res.total > res.skipped:
        print(file=sys.stderr)
    print(f"batch {a.batch_command} [{a.executor}] {a.src} -> {a.out}: {res.total} tasks, {res.done} done, "
          f"{res.skipped} skipped (done before), {len(res.failed)} failed, in {res.seconds:.1f} s")
    for name, err in res.failed:
        print(f"  failed {name}: {err}", file=sys.stderr)
    return 1 if res.failed else 0
