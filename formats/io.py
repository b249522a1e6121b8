"""File writes for formats/: atomic single files (implemented in :mod:`calib.fileio`) and staged
output folders that appear at their destination only when complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from calib.fileio import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_confined,
    confined_to,
    fsync_dir,
    outside_roots,
    parse_json_bytes,
    read_json_file,
)
from formats.errors import FormatError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_confined",
    "confined_to",
    "fsync_dir",
    "outside_roots",
    "parse_json_bytes",
    "read_json_file",
    "staged_output",
]


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
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".partial", dir=dst.parent))
    try:
        yield tmp
        fsync_dir(tmp)
        if dst.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".old", dir=dst.parent))
            os.replace(dst, old / "x")
            os.replace(tmp, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dst)
        fsync_dir(dst.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
