"""Convert any readable layout into an output format: the writer registry and the drivers.

A *writer* turns one opened sequence into one output layout::

    writer(loaded: LoadedSequence, dst: Path, *, progress: ProgressFn | None = None, **options) -> ConvertSummary

``progress(done, total)`` is called with frames written so far and the frame total (at least once
at the end); ``options`` are format specific (unknown ones are ignored by the writer). Writers are
registered by name in :data:`WRITERS` as ``"module:function"`` so that the registry can be imported
without importing every writer (the OpenLABEL writer lives in :mod:`formats.openlabel`). Add one
with :func:`register_writer`.

:func:`convert` opens ``src`` (any layout :func:`formats.datasets.open_dataset` reads) and runs a
writer; :func:`convert_path` also handles a folder holding many sequences (one sub-folder each),
converting them in parallel worker processes (``jobs``) with one overall progress callback.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formats.errors import FormatError

#: ``progress(done, total)``: frames done so far out of the total.
ProgressFn = Callable[[int, int], None]


@dataclass
class ConvertSummary:
    """What a conversion wrote: ``frames`` and ``boxes`` written, ``skipped`` items as
    ``(what, why)`` pairs (e.g. ``("frame 3 track 7", "outside the image_2 field of view")``),
    ``outputs`` the folders/files written (one per sequence), ``warnings`` notes that are not skips."""

    frames: int = 0
    boxes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def merge(self, other: ConvertSummary, prefix: str = "") -> ConvertSummary:
        """Add ``other`` into this summary (skipped items prefixed with ``prefix``); returns self."""
        self.frames += other.frames
        self.boxes += other.boxes
        self.skipped.extend((f"{prefix}{w}", why) for w, why in other.skipped)
        self.outputs.extend(other.outputs)
        self.warnings.extend(f"{prefix}{w}" for w in other.warnings)
        return self

    def skip_reasons(self) -> dict[str, int]:
        """How many items were skipped for each reason."""
        out: dict[str, int] = {}
        for _, why in self.skipped:
            out[why] = out.get(why, 0) + 1
        return out

    def text(self, max_items: int = 10) -> str:
        """A short human-readable closing summary."""
        lines = [f"{self.frames} frames, {self.boxes} boxes written; {len(self.skipped)} skipped"]
        for why, n in sorted(self.skip_reasons().items(), key=lambda kv: -kv[1]):
            lines.append(f"  skipped {n}: {why}")
        for what, why in self.skipped[:max_items]:
            lines.append(f"    {what}: {why}")
        if len(self.skipped) > max_items:
            lines.append(f"    ... {len(self.skipped) - max_items} more")
        for w in self.warnings[:max_items]:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "boxes": self.boxes, "skipped": [list(s) for s in self.skipped],
                "outputs": list(self.outputs), "warnings": list(self.warnings)}


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
register_writer("openlabel", "formats.openlabel:write_openlabel", "ASAM OpenLABEL 1.0 JSON")
register_writer("native", "formats.export.native:write_native", "native layout (fusionlabel.json) + tracks")

ALIASES = {"kitti-object": "kitti", "kitti_object": "kitti", "kitti_tracking": "kitti-tracking", "nusc": "nuscenes"}


def writer_names() -> list[str]:
    return list(WRITERS)


def get_writer(name: str) -> Callable[..., ConvertSummary]:
    """The writer function registered under ``name`` (or an alias); FormatError when unknown."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in WRITERS:
        raise FormatError(None, f"unknown output format {name!r}; known: {', '.join(WRITERS)}")
    return WRITERS[key].load()


def convert(src: str | os.PathLike[str], dst: str | os.PathLike[str], to: str, *, src_format: str | None = None,
            open_options: dict[str, Any] | None = None, progress: ProgressFn | None = None,
            **options: Any) -> ConvertSummary:
    """Open ``src`` (format detected unless ``src_format``; ``open_options`` go to the loader) and
    write it to ``dst`` as ``to``. Returns the writer's summary."""
    from formats.datasets import open_dataset

    writer = get_writer(to)
    loaded = open_dataset(src, src_format, **(open_options or {}))
    try:
        summary = writer(loaded, Path(dst), progress=progress, **options)
    finally:
        if loaded.closer is not None:
            loaded.closer()
    summary.warnings[:0] = list(loaded.warnings)
    return summary
