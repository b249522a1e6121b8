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
converting them in parallel worker processes (``jobs``) with one overall progress callback.

Sources (:func:`find_sequences`): a sequence in any layout :func:`formats.datasets.open_dataset`
detects (or ``src_format``); a native annotation project file (``.flproj``: its sequence with the
project's annotations); or a folder holding many sequences: sub-folders that are sequences
(e.g. several native scenes), every sequence of a KITTI tracking folder (unless ``sequence`` is
given) or every scene of a nuScenes table set (unless ``scene`` is given). Several sequences are
written to ``dst/<sequence name>/`` each, in ``jobs`` worker processes
(``concurrent.futures.ProcessPoolExecutor``, ``forkserver`` start method); the progress callback
then counts the frames of all of them. A sequence that fails is reported in the summary's
``failed`` list and the others go on.
"""

from __future__ import annotations

import importlib
import inspect
import multiprocessing
import os
import queue as _queue
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from formats.errors import FormatError
from formats.export.summary import ConvertSummary
from formats.io import read_json_file
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


_QUEUE: Any = None


def _init_worker(q: Any) -> None:
    """Worker start: keep the progress queue; one OpenCV thread per worker (the workers are the
    parallelism; nested thread pools would oversubscribe the cores)."""
    global _QUEUE
    _QUEUE = q
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        pass


def _convert_source(source: SequenceSource, dst: Path, to: str, options: dict[str, Any]) -> ConvertSummary:
    """Worker: convert one sequence, reporting ``(name, done, total)`` on the progress queue."""
    q = _QUEUE

    def report(done: int, total: int) -> None:
        if q is not None:
            q.put((source.name, done, total))

    return _convert_loaded(source.open(), get_writer(to), dst, report, options)


def convert_path(src: str | os.PathLike[str], dst: str | os.PathLike[str], to: str, *, src_format: str | None = None,
                 open_options: dict[str, Any] | None = None, jobs: int = 1, progress: ProgressFn | None = None,
                 frame_mismatch: str = "error", **options: Any) -> ConvertSummary:
    """Convert every sequence of ``src`` (:func:`find_sequences`) to ``to``: one sequence is written
    to ``dst`` itself, several to ``dst/<name>/`` in ``jobs`` worker processes. ``progress(done,
    total)`` counts frames over all sequences; ``frame_mismatch``: the frame-count rule for
    projects (``formats.source``). Returns the merged summary (``failed`` lists the sequences
    that raised)."""
    get_writer(to)  # unknown format: fail before any work
    sources = find_sequences(src, src_format, open_options, frame_mismatch)
    dst = Path(dst)
    if len(sources) == 1:
        return _convert_loaded(sources[0].open(), get_writer(to), dst, progress, options)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise FormatError(Path(src), f"sequence names are not unique: {names}")
    dst.mkdir(parents=True, exist_ok=True)
    totals = {s.name: _count_frames(s) for s in sources}
    done = dict.fromkeys(totals, 0)
    grand = sum(totals.values())
    summary = ConvertSummary()

    def tick(name: str, d: int) -> None:
        done[name] = d
        if progress is not None:
            progress(sum(done.values()), grand)

    if jobs <= 1:
        for s in sources:
            try:
                res = _convert_loaded(s.open(), get_writer(to), dst / s.name,
                                      lambda d, t, name=s.name: tick(name, d), options)
                summary.merge(res, prefix=f"{s.name}: ")
            except Exception as e:  # one bad sequence must not stop the others
                summary.failed.append((s.name, f"{type(e).__name__}: {e}"))
            tick(s.name, totals[s.name])
        return summary

    ctx = _mp_context()
    q = ctx.Queue()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(q,)) as pool:
        futures: dict[Future[ConvertSummary], SequenceSource] = {
            pool.submit(_convert_source, s, dst / s.name, to, options): s for s in sources
        }
        pending = set(futures)
        results: dict[str, Future[ConvertSummary]] = {}
        while pending:
            try:
                name, d, _ = q.get(timeout=0.05)
                tick(name, d)
            except _queue.Empty:
                pass
            for f in [f for f in pending if f.done()]:
                pending.discard(f)
                results[futures[f].name] = f
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                name, d, _ = q.get(timeout=0.01)
                tick(name, d)
            except _queue.Empty:
                break
    for s in sources:  # merged in source order, whatever the order of completion
        err = results[s.name].exception()
        if err is not None:
            summary.failed.append((s.name, f"{type(err).__name__}: {err}"))
        else:
            summary.merge(results[s.name].result(), prefix=f"{s.name}: ")
        tick(s.name, totals[s.name])
    q.close()
    return summary


#: Imported once by the forkserver, so that workers start without importing them again.
_PRELOAD = ["formats.convert", "formats.datasets", "formats.export.kitti", "formats.export.nuscenes",
            "formats.export.native"]


def _mp_context() -> Any:
    """``forkserver`` (else ``spawn``): workers start from a clean process. Forking the caller
    directly is unsafe once it has used OpenCV (its thread pool's locks are copied held). As with
    any multiprocessing, a script that calls :func:`convert_path` with ``jobs > 1`` must guard its
    entry point with ``if __name__ == "__main__":``."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _count_frames(source: SequenceSource) -> int:
    try:
        loaded = source.open()
    except Exception:
        return 0  # reported when the worker fails on it
    try:
        return len(loaded)
    finally:
        if loaded.closer is not None:
            loaded.closer()
