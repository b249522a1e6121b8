"""File writes for formats/: atomic single files (implemented in :mod:`calib.fileio`) and staged
output folders that appear at their destination only when complete."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import tokenize
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from calib.fileio import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_confined,
    confined_roots,
    confined_to,
    current_umask,
    fsync_dir,
    outside_roots,
    parse_json_bytes,
    read_json_file,
    temp_prefix,
)
from calib.schema import add_schema_dir, validate
from formats.errors import FormatError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_confined",
    "confined_roots",
    "confined_to",
    "fsync_dir",
    "outside_roots",
    "parse_json_bytes",
    "read_json_file",
    "remove_stale_temps",
    "staged_output",
    "validate",
]

#: The schemas of formats' own JSON files (native index, tracks, project, edit journal).
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
add_schema_dir(SCHEMA_DIR)

#: A temporary file or folder left by a crash is removed once it is this old (seconds) and its
#: writer is not running.
STALE_AGE_S = 600.0
_TEMP_SUFFIXES = (".tmp", ".partial", ".old")
#: What reading a damaged ``.npz`` / ``.npy`` can raise (zip, deflate, the npy header's parser):
#: readers turn these into their format error naming the file.
NPZ_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, SyntaxError,
    tokenize.TokenError,
)
_PID = re.compile(r"pid(\d+)\.")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its files
    return True


def remove_stale_temps_in(folder: str | os.PathLike[str], max_age_s: float = STALE_AGE_S,
                          now: float | None = None) -> list[Path]:
    """:func:`remove_stale_temps` for every file of ``folder``: a folder only the project writes
    (its point labels beside it), where any hidden temporary file is a crashed write's."""
    try:
        names = sorted({p.name[1:].split(".pid", 1)[0] for p in Path(folder).iterdir()
                        if p.name.startswith(".") and ".pid" in p.name})
    except OSError:
        return []
    return remove_stale_temps(folder, names, max_age_s, now) if names else []


def remove_stale_temps(folder: str | os.PathLike[str], names: Iterable[str], max_age_s: float = STALE_AGE_S,
                       now: float | None = None) -> list[Path]:
    """Remove the temporary siblings of ``names`` in ``folder`` left by crashed writes: hidden
    ``.<name>.*.tmp`` files (atomic writes) and ``.<name>.*.partial`` / ``.old`` folders (staged
    outputs) that are older than ``max_age_s`` and whose writer (the ``pid<N>`` in the name) is not
    a running process; a name without a process id counts as not running. Another window or
    command writing the same file keeps its temporary file. Returns what was removed."""
    folder = Path(folder)
    now = time.time() if now is None else now
    prefixes = tuple(f".{n}." for n in names)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        name = p.name
        if not name.startswith(prefixes) or not name.endswith(_TEMP_SUFFIXES):
            continue
        # the longest name that fits: ".a.json.pid1.x.tmp" belongs to "a.json", not to "a"
        rest = name[max(len(pre) for pre in prefixes if name.startswith(pre)):]
        m = _PID.match(rest)
        if m is not None and _process_alive(int(m.group(1))):
            continue
        try:
            if now - p.lstat().st_mtime < max_age_s:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError:
            continue
        removed.append(p)
    return removed


@contextmanager
def staged_output(dst: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary sibling folder of ``dst`` to write into; on success it is renamed
    to ``dst`` (an existing ``dst`` is replaced only with ``overwrite``), on failure removed. So an
    interrupted export never leaves a half-written dataset at ``dst``."""
    dst = Path(dst)
    if dst.exists() and not dst.is_dir():
        raise FormatError(dst, "exists and is not a folder")
    if dst.is_dir() and any(dst.iterdir()) and not overwrite:
        raise FormatError(dst, "output folder exists and is not empty (use overwrite / --force)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dst.parent, [dst.name])  # left by an earlier run that crashed
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(dst.name), suffix=".partial", dir=dst.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # the output folder gets the usual mode, not mkdtemp's 0o700
    try:
        yield tmp
        fsync_dir(tmp)
        if dst.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(dst.name), suffix=".old", dir=dst.parent))
            os.replace(dst, old / "x")
            os.replace(tmp, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dst)
        fsync_dir(dst.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
