"""The resumable batch manifest: one Parquet table (readable by pyarrow, pandas, Dask, Ray Data,
Spark), one row per task.

Columns: ``key`` (``<command>:<name>``), ``command``, ``name``, ``input`` (path), ``fingerprint``
(:func:`fingerprint` of the input), ``options`` (JSON text), ``status`` (``done``, ``failed``,
``pending``), ``executor``, ``started`` (Unix time, s), ``seconds`` (task wall time),
``outputs`` (list of paths), ``summary`` (the task's last output line), ``error``,
``cpu_seconds`` (CPU time of the task's process while it ran; absent from older manifests: 0).

A rerun skips a task whose row is ``done`` with the same fingerprint and options and whose
outputs all exist (:meth:`Manifest.is_done`). The table is rewritten whole after each finished
task (temporary file, then rename), so an interrupted batch leaves a readable manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: Files up to this size are hashed by content; larger ones count by size and modification time.
SMALL_FILE_BYTES = 64 * 1024

STATUSES = ("done", "failed", "pending")


def fingerprint(path: str | os.PathLike[str], small_file_bytes: int = SMALL_FILE_BYTES) -> str:
    """A cheap fingerprint of a file or folder (recursively, hidden entries skipped): the
    relative path, size and modification time (ns) of every file, plus the content of files of
    at most ``small_file_bytes`` (calibration, tables, labels). Hex digest of BLAKE2b-128."""
    p = Path(path)
    h = hashlib.blake2b(digest_size=16)
    if not p.exists():
        raise FileNotFoundError(2, "no such file or folder", str(p))
    files = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts))
    for f in files:
        st = f.stat()
        rel = f.name if f == p else f.relative_to(p).as_posix()
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        if st.st_size <= small_file_bytes:
            h.update(f.read_bytes())
    return h.hexdigest()


@dataclass
class ManifestRow:
    """One task's row (module docstring)."""

    key: str
    command: str
    name: str
    input: str
    fingerprint: str
    options: str
    status: str = "pending"
    executor: str = ""
    started: float = 0.0
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    summary: str = ""
    error: str = ""
    cpu_seconds: float = 0.0


#: Columns a manifest may lack (written by an older version): read as their defaults.
OPTIONAL_COLUMNS = ("cpu_seconds",)


def _schema() -> Any:
    import pyarrow as pa

    types = {"started": pa.float64(), "seconds": pa.float64(), "cpu_seconds": pa.float64(),
             "outputs": pa.list_(pa.string())}
    return pa.schema([(f.name, types.get(f.name, pa.string())) for f in fields(ManifestRow)])


class Manifest:
    """The rows of a manifest file, by key; :meth:`save` writes them (in key order)."""

    def __init__(self, path: str | os.PathLike[str], rows: Iterable[ManifestRow] = ()) -> None:
        self.path = Path(path)
        self.rows: dict[str, ManifestRow] = {r.key: r for r in rows}

    @classmethod
    def load(cls, path: str | os.PathLike[str], missing_ok: bool = True) -> Manifest:
        """Read ``path``; an absent file is an empty manifest when ``missing_ok``. ValueError
        naming the file when it is not a manifest."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        p = Path(path)
        if not p.exists():
            if missing_ok:
                return cls(p)
            raise FileNotFoundError(2, "no such manifest", str(p))
        try:
            table = pq.read_table(p)
        except (pa.ArrowException, OSError) as e:
            raise ValueError(f"{p}: not a readable Parquet manifest ({e})") from e
        names = [f.name for f in fields(ManifestRow)
                 if f.name in table.column_names or f.name not in OPTIONAL_COLUMNS]
        missing = [n for n in names if n not in table.column_names]
        if missing:
            raise ValueError(f"{p}: not a batch manifest (missing columns {', '.join(missing)})")
        rows = [ManifestRow(**{n: r[n] if r[n] is not None else ManifestRow.__dataclass_fields__[n].default
                               for n in names if n != "outputs"}, outputs=list(r["outputs"] or []))
                for r in table.select(names).to_pylist()]
        return cls(p, rows)

    def save(self) -> None:
        """Write the table atomically (temporary file in the same folder, then rename)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [asdict(self.rows[k]) for k in sorted(self.rows)]
        table = pa.Table.from_pylist(rows, schema=_schema())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)

    def is_done(self, key: str, fp: str, options: str) -> bool:
        """The task ``key`` finished with this input fingerprint and these options, and its
        outputs still exist."""
        r = self.rows.get(key)
        return (r is not None and r.status == "done" and r.fingerprint == fp and r.options == options
                and bool(r.outputs) and all(Path(o).exists() for o in r.outputs))


def options_text(options: Any) -> str:
    """Options as canonical JSON (sorted keys), the form compared on a rerun."""
    return json.dumps(options, sort_keys=True, default=str)


def summarize(manifest: Manifest) -> dict[str, Any]:
    """Counts by status and by command, total and summed task time, and the failed tasks
    (key, error's first line)."""
    rows = list(manifest.rows.values())
    by_status = {s: sum(r.status == s for r in rows) for s in STATUSES}
    by_command: dict[str, dict[str, int]] = {}
    for r in rows:
        c = by_command.setdefault(r.command, dict.fromkeys(STATUSES, 0))
        c[r.status] = c.get(r.status, 0) + 1
    return {
        "manifest": str(manifest.path),
        "tasks": len(rows),
        "status": by_status,
        "commands": by_command,
        "task_seconds": round(sum(r.seconds for r in rows), 3),
        "task_cpu_seconds": round(sum(r.cpu_seconds for r in rows), 3),
        "failed": [{"key": r.key, "error": (r.error.splitlines() or [""])[0]} for r in rows if r.status == "failed"],
    }
