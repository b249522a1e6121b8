"""Convert any readable layout into an output format: the writer registry and the drivers.

A *writer* turns one opened sequence into one output layout::

    writer(loaded: LoadedSequence, dst: Path, *, progress: ProgressFn | None = None, **options) -> ConvertSummary

``progress(done, total)`` is called with frames written so far and the frame total (at least once
at the end); ``options`` are format specific (unknown ones are ignored by the writer). Writers are
registered by name in :data:`WRITERS` as ``"module:function"`` so that the registry can be imported
without importing every writer (the OpenLABEL writer lives in :mod:`formats.export.openlabel`). Add one
with :func:`register_writer`.

:func:`convert` opens ``src`` (any layout :func:`formats.datasets.open_dataset` reads) and runs a
writer; :func:`convert_path` also handles a folder holding many sequences (one sub-folder each),
converting them as tasks of the batch executor (``fusionlabel.batch``: inline, worker processes
or Ray; ``jobs`` workers), long sequences split into frame ranges, with one overall progress
callback.

Sources (:func:`find_sequences`): a sequence in any layout :func:`formats.datasets.open_dataset`
detects (or ``src_format``); a native annotation project file (``.flproj``: its sequence with the
project's annotations); or a folder holding many sequences: sub-folders that are sequences
(e.g. several native scenes), every sequence of a KITTI tracking folder (unless ``sequence`` is
given) or every scene of a nuScenes table set (unless ``scene`` is given). Several sequences are
written to ``dst/<sequence name>/`` each, one task per sequence (or per frame range of a long one,
:func:`convert_path`); the progress callback then counts the frames of all of them. A sequence
that fails is reported in the summary's ``failed`` list and the others go on.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from formats.errors import FormatError
from formats.export.summary import ConvertSummary
from formats.io import read_json_file, staged_output
from fusionlabel.sequence import SensorSequence

__all__ = ["ConvertSummary"]

#: ``progress(done, total)``: frames done so far out of the total.
ProgressFn = Callable[[int, int], None]




@dataclass(frozen=True)
class WriterSpec:
    """A registered output format: ``name``, the writer as ``"module:function"``, a description."""

    name: str
    target: str
    description: str

    def load(self) -> Callable[..., ConvertSummary]:
        module, _, attr = self.target.partition(":")
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            raise FormatError(None, f"output format {self.name!r} needs {module}, which cannot be imported: {e}") from e
        fn = getattr(mod, attr, None)
        if fn is None:
            raise FormatError(None, f"output format {self.name!r}: {module} has no {attr}")
        return fn


#: Output formats by name (``fusionlabel convert --to NAME``).
WRITERS: dict[str, WriterSpec] = {}


def register_writer(name: str, target: str | Callable[..., ConvertSummary], description: str = "") -> None:
    """Register a writer under ``name``: ``target`` is ``"module:function"`` (imported when used)
    or a module-level function (stored as its ``module:qualname``, so worker processes find it)."""
    if callable(target):
        target = f"{target.__module__}:{target.__qualname__}"
    if ":" not in target:
        raise ValueError(f"writer target must be 'module:function', got {target!r}")
    WRITERS[name] = WriterSpec(name, target, description)


register_writer("kitti", "formats.export.kitti:write_kitti_object",
                "KITTI object: calib/, velodyne/, image_2/, label_2/ (one sample per frame)")
register_writer("kitti-tracking", "formats.export.kitti:write_kitti_tracking",
                "KITTI tracking: calib/<seq>.txt, velodyne/<seq>/, image_02/<seq>/, label_02/<seq>.txt, oxts/")
register_writer("nuscenes", "formats.export.nuscenes:write_nuscenes",
                "nuScenes: <dst>/<version>/*.json tables, samples/ and sweeps/")
register_writer("openlabel", "formats.export.openlabel:write_openlabel", "ASAM OpenLABEL 1.0 JSON")
register_writer("native", "formats.export.native:write_native", "native layout (fusionlabel.json) + tracks")
register_writer("semantickitti", "formats.export.semantickitti:write_semantickitti",
                "SemanticKITTI: sequences/NN/velodyne/*.bin, labels/*.label (point labels), semantic-kitti.yaml")

ALIASES = {"kitti-object": "kitti", "kitti_object": "kitti", "kitti_tracking": "kitti-tracking", "nusc": "nuscenes",
           "semantic-kitti": "semantickitti"}


def writer_names() -> list[str]:
    return list(WRITERS)


def get_writer(name: str) -> Callable[..., ConvertSummary]:
    """The writer function registered under ``name`` (or an alias); FormatError when unknown."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in WRITERS:
        raise FormatError(None, f"unknown output format {name!r}; known: {', '.join(WRITERS)}")
    return WRITERS[key].load()


def call_writer(writer: Callable[..., ConvertSummary], loaded: SensorSequence, dst: Path, progress: ProgressFn | None,
                options: dict[str, Any]) -> ConvertSummary:
    """Run ``writer``, passing only the options it accepts (all of them when it takes ``**kwargs``);
    options left at None are not passed."""
    opts = {k: v for k, v in options.items() if v is not None}
    params = inspect.signature(writer).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        opts = {k: v for k, v in opts.items() if k in params}
    return writer(loaded, Path(dst), progress=progress, **opts)


# ---- sources ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SequenceSource:
    """One sequence to convert: a ``name`` (output sub-folder of a folder conversion), the
    ``path`` to open, its ``format`` (None: detect; ``"project"``: an annotation project file)
    and the loader ``options``."""

    name: str
    path: Path
    format: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    frame_mismatch: str = "error"

    def open(self) -> SensorSequence:
        """The :class:`formats.datasets.LoadedSequence` through ``formats.source.open_source`` (a
        project's sequence carries the project's document; its frame count must match the
        sequence's unless ``frame_mismatch="sequence"``: ``formats.source``)."""
        from formats.source import open_source

        fmt = None if self.format == "project" else self.format
        return open_source(self.path, fmt, dict(self.options), frame_mismatch=self.frame_mismatch).sequence


def find_sequences(src: str | os.PathLike[str], src_format: str | None = None,
                   open_options: dict[str, Any] | None = None, frame_mismatch: str = "error") -> list[SequenceSource]:
    """The sequences held by ``src`` (module docstring), each opened with the frame-count rule
    ``frame_mismatch`` (``formats.source``). UnknownFormatError when it holds none."""
    return [replace(s, frame_mismatch=frame_mismatch) for s in _find_sequences(src, src_format, open_options)]


def _find_sequences(src: str | os.PathLike[str], src_format: str | None,
                    open_options: dict[str, Any] | None) -> list[SequenceSource]:
    from formats.datasets import UnknownFormatError, detect_format
    from formats.datasets.errors import DatasetError
    from formats.source import is_project_file

    p = Path(src)
    opts = {k: v for k, v in (open_options or {}).items() if v is not None}
    if not p.exists():
        raise DatasetError(p, "no such file or folder")
    if src_format is None and is_project_file(p):
        return [SequenceSource(p.stem, p, "project", tuple(opts.items()))]
    try:
        detected: str | None = detect_format(p)
    except UnknownFormatError:
        detected = None
    fmt = src_format or detected
    if (detected is None or detected == "folder") and p.is_dir():
        subs = []
        for d in sorted(x for x in p.iterdir() if x.is_dir() and not x.name.startswith(".")):
            try:
                f = detect_format(d)
            except (UnknownFormatError, DatasetError):
                continue
            if f != "folder":
                subs.append(SequenceSource(d.name, d, src_format or f, tuple(opts.items())))
        if subs:
            return subs
    if fmt is None:
        detect_format(p)  # raises the detailed UnknownFormatError
    if fmt == "kitti-tracking" and not {"sequence", "label_path", "oxts_path"} & set(opts):
        from formats.datasets.kitti_tracking import list_sequences

        root = p if (p / "calib").is_dir() else p / "training"
        seqs = list_sequences(root)
        if len(seqs) > 1:
            return [SequenceSource(s, p, fmt, tuple({**opts, "sequence": s}.items())) for s in seqs]
    if fmt == "nuscenes" and "scene" not in opts:
        names = _nuscenes_scenes(p, opts.get("version"))
        if len(names) > 1:
            return [SequenceSource(s, p, fmt, tuple({**opts, "scene": s}.items())) for s in names]
    return [SequenceSource(p.stem if p.is_file() else p.name, p, fmt, tuple(opts.items()))]


def _nuscenes_scenes(root: Path, version: str | None) -> list[str]:
    from formats.datasets.nuscenes import find_versions

    if (root / "scene.json").is_file():
        vdir = root
    else:
        versions = [version] if version else find_versions(root)
        if len(versions) != 1:
            return []
        vdir = root / versions[0]
    try:  # a broken table is the loader's to report (it names the file); here: no scene list
        recs = read_json_file(vdir / "scene.json", FormatError)
        return [str(r.get("name") or r["token"]) for r in recs]
    except (FormatError, KeyError, TypeError, AttributeError):
        return []


# ---- drivers ---------------------------------------------------------------------------------------
def convert(src: str | os.PathLike[str], dst: str | os.PathLike[str], to: str, *, src_format: str | None = None,
            open_options: dict[str, Any] | None = None, progress: ProgressFn | None = None,
            frame_mismatch: str = "error", **options: Any) -> ConvertSummary:
    """Open the one sequence ``src`` through ``formats.source.open_source`` (format detected unless
    ``src_format``; ``open_options`` go to the loader; a project file is opened with its
    annotations, its frame count checked by the rule ``frame_mismatch``) and write it to ``dst``
    as ``to``. Returns the writer's summary."""
    writer = get_writer(to)
    p = Path(src)
    fmt = None if src_format == "project" else src_format
    loaded = SequenceSource(p.stem, p, fmt, tuple((open_options or {}).items()), frame_mismatch).open()
    return _convert_loaded(loaded, writer, Path(dst), progress, options)


def _convert_loaded(loaded: SensorSequence, writer: Callable[..., ConvertSummary], dst: Path,
                    progress: ProgressFn | None, options: dict[str, Any]) -> ConvertSummary:
    try:
        summary = call_writer(writer, loaded, dst, progress, options)
    finally:
        if loaded.closer is not None:
            loaded.closer()
    summary.warnings[:0] = list(loaded.warnings)
    return summary


#: Frames of one task at least, where a long sequence is split into frame ranges.
MIN_RANGE_FRAMES = 50


def supports_frame_ranges(writer: Callable[..., ConvertSummary]) -> bool:
    """Whether ``writer`` takes ``frames`` (a range: it writes those frames' files into an existing
    folder, nothing else; the same bytes as writing the whole sequence)."""
    return "frames" in inspect.signature(writer).parameters


def frame_ranges(n: int, per_task: int) -> list[tuple[int, int]]:
    """``n`` frames cut into ``ceil(n / per_task)`` contiguous ``(start, stop)`` ranges of equal
    size (within one frame)."""
    if per_task < 1:
        raise ValueError(f"frames per task must be at least 1, got {per_task}")
    k = max(1, -(-n // per_task))
    cuts = [round(i * n / k) for i in range(k + 1)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


@dataclass(frozen=True)
class ConvertTask:
    """One task of a conversion: the ``source`` sequence written as ``to`` into ``dst`` (for a
    frame range ``frames = (start, stop)``: the sequence's staging folder, shared by its ranges);
    ``options`` the writer's; ``progress`` only where the task runs in the caller's process."""

    source: SequenceSource
    dst: str
    to: str
    options: tuple[tuple[str, Any], ...]
    frames: tuple[int, int] | None = None
    progress: ProgressFn | None = None


def run_convert_task(task: ConvertTask) -> ConvertSummary:
    """Executor task body (``fusionlabel.batch``): open the source and run the writer."""
    writer = get_writer(task.to)
    options = dict(task.options)
    if task.frames is not None:
        if not supports_frame_ranges(writer):
            raise FormatError(None, f"output format {task.to!r} cannot be written in frame ranges")
        options["frames"] = range(*task.frames)
    return _convert_loaded(task.source.open(), writer, Path(task.dst), task.progress, options)


def convert_path(src: str | os.PathLike[str], dst: str | os.PathLike[str], to: str, *, src_format: str | None = None,
                 open_options: dict[str, Any] | None = None, jobs: int = 1, progress: ProgressFn | None = None,
                 frame_mismatch: str = "error", executor: str | None = None, address: str | None = None,
                 frames_per_task: int | None = None, **options: Any) -> ConvertSummary:
    """Convert every sequence of ``src`` (:func:`find_sequences`) to ``to``: one sequence is written
    to ``dst`` itself, several to ``dst/<name>/``, as tasks of a ``fusionlabel.batch`` executor
    (``executor``: ``inline``, ``processes`` or ``ray``; default ``processes`` with ``jobs > 1``
    and more than one task, else ``inline``; ``address``: a Ray cluster). A sequence longer than ``frames_per_task``
    frames (default with ``jobs > 1``: a quarter of the frames per worker, at least
    :data:`MIN_RANGE_FRAMES`) is split into frame ranges, one task each, where the writer takes
    them (:func:`supports_frame_ranges`): they write into one staging folder that becomes the
    output once all succeeded (the same files as one task). A single task whose writer takes
    ``jobs`` (nuScenes: its box numbers in worker processes) is given ``jobs``. ``progress(done, total)`` counts
    frames over all sequences (per frame in the caller's process, per task from workers);
    ``frame_mismatch``: the frame-count rule for projects (``formats.source``). Returns the merged
    summary (``failed`` lists the sequences whose task raised; one sequence raises its error)."""
    from fusionlabel.batch import Task, TaskOutcome, make_executor

    writer = get_writer(to)  # unknown format: fail before any work
    sources = find_sequences(src, src_format, open_options, frame_mismatch)
    dst = Path(dst)
    single = len(sources) == 1
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise FormatError(Path(src), f"sequence names are not unique: {names}")
    if not single:
        dst.mkdir(parents=True, exist_ok=True)
    totals = {s.name: _count_frames(s, strict=single) for s in sources}
    grand = sum(totals.values())
    per = frames_per_task
    if per is None and jobs > 1:
        per = max(MIN_RANGE_FRAMES, -(-grand // (4 * jobs)))
    opts = tuple(options.items())
    done: dict[str, int] = {}

    def tick(key: str, d: int) -> None:
        done[key] = d
        if progress is not None:
            progress(sum(done.values()), grand)

    summary = ConvertSummary()
    planned: list[tuple[str, SequenceSource, Path, tuple[int, int] | None]] = []  # key, source, target, range
    plan: dict[str, tuple[Path, list[str], ExitStack | None]] = {}  # name -> (output, task keys, staging)
    for s in sources:
        out = dst if single else dst / s.name
        n = totals[s.name]
        ranges = frame_ranges(n, per) if per is not None and n > per and supports_frame_ranges(writer) else None
        if ranges is None:
            keys, stage, target = [s.name], None, out
        else:
            keys, stage = [f"{s.name}[{a}:{b}]" for a, b in ranges], ExitStack()
            try:
                target = stage.enter_context(staged_output(out, bool(options.get("overwrite"))))
            except FormatError as e:
                if single:
                    raise
                summary.failed.append((s.name, f"{type(e).__name__}: {e}"))
                continue
        plan[s.name] = (out, keys, stage)
        planned += [(key, s, target, rng) for key, rng in zip(keys, ranges or [None], strict=True)]
    # workers where there is more than one task (one task runs here: per-frame progress, no start)
    name = executor or ("processes" if jobs > 1 and len(planned) > 1 else "inline")
    if (name == "inline" and len(planned) == 1 and planned[0][3] is None and jobs > 1
            and "jobs" in inspect.signature(writer).parameters and "jobs" not in options):
        opts += (("jobs", jobs),)  # one task: a writer with workers of its own (nuScenes) uses them
    tasks = [Task(key, run_convert_task, ConvertTask(
        s, str(target), to, opts, rng, (lambda d, _t, key=key: tick(key, d)) if name == "inline" else None))
        for key, s, target, rng in planned]
    sizes = {t.key: len(range(*t.payload.frames)) if t.payload.frames else totals[t.payload.source.name]
             for t in tasks}
    ex = make_executor(name, max(1, jobs), address, _PRELOAD)
    try:
        outcomes = ex.run(tasks, lambda o: tick(o.key, sizes[o.key]))
    finally:
        ex.close()
    for s in sources:  # merged in source order, whatever the order of completion
        if s.name not in plan:
            continue
        out, keys, stage = plan[s.name]
        got: list[TaskOutcome] = [outcomes[k] for k in keys]
        bad = next((o for o in got if not o.ok), None)
        if bad is None:
            seq = ConvertSummary()
            for o in got:
                seq.merge(o.value)
            seq.outputs = [str(out)]
            if stage is not None:
                stage.close()  # the staging folder becomes the output
        else:
            if stage is not None:
                stage.__exit__(RuntimeError, RuntimeError(bad.error), None)  # removed
            if single:
                if bad.exception is not None:
                    raise bad.exception
                raise FormatError(out, bad.error.splitlines()[0] if bad.error else "conversion failed")
            summary.failed.append((s.name, bad.error.splitlines()[0] if bad.error else "failed"))
            continue
        if single:
            return seq
        summary.merge(seq, prefix=f"{s.name}: ")
    return summary


#: Imported once by the process executor's forkserver, so that workers start without importing them.
_PRELOAD = ["formats.convert", "formats.datasets", "formats.export.kitti", "formats.export.nuscenes",
            "formats.export.native", "formats.batch.preload"]


def _count_frames(source: SequenceSource, strict: bool = False) -> int:
    """Frames of ``source``; 0 when it cannot be opened (reported when its task fails on it),
    or its error with ``strict``."""
    try:
        loaded = source.open()
    except Exception:
        if strict:
            raise
        return 0
    try:
        return len(loaded)
    finally:
        if loaded.closer is not None:
            loaded.closer()
