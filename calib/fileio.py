"""Atomic file writes (a temp file in the target folder, fsync, then ``os.replace``) and the one
JSON reader of the project (:func:`read_json_file`: every decoding failure mapped to an error that
names the file).

Lives in calib/ (the lowest layer) so that every package can use the same implementation.

A crash or an error in the middle leaves the previous file untouched and no partial file behind.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process's file-mode creation mask (``/proc/self/status`` where there is one, else set
    and restored at once)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_prefix(name: str) -> str:
    """Prefix of the hidden temporary siblings of ``name`` written by this process:
    ``.<name>.pid<process id>.`` (so that a clean-up can tell a live writer's file from one left by
    a crash, see ``formats.io.remove_stale_temps``)."""
    return f".{name}.pid{os.getpid()}."


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (same-folder temp file, fsync, rename, fsync dir).
    The file gets the mode of the file it replaces, else ``0o666`` less the umask (as ``open``
    would give it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~current_umask()
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make renames and new entries in ``folder`` durable where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Atomically write UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 1) -> None:
    """Serialise ``obj`` to JSON first (so a serialisation error writes nothing), then write atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent, allow_nan=False) + "\n")


#: The digit count of an integer literal too long to convert to a float (every number the readers
#: use is one): 309 digits or more.
HUGE_INT_DIGITS = 309
#: Bytes -> b"0" for an ASCII digit, b" " for any other byte (:func:`huge_int_offset`).
_DIGIT_MASK = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))


def huge_int_offset(raw: bytes) -> int:
    """The offset of the first run of :data:`HUGE_INT_DIGITS` ASCII digits in ``raw`` (UTF-8
    text), -1 when there is none: the regular expression ``[0-9]{309}``'s first match, found by a
    byte translation and a substring search (a regular expression retries at every digit of every
    number: ten times slower on a JSON file of floats)."""
    return raw.translate(_DIGIT_MASK).find(b"0" * HUGE_INT_DIGITS)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse_json_bytes(
    data: bytes | str,
    source: str | os.PathLike[str],
    make_error: Callable[[str, str], Exception],
    allow_nan: bool = True,
) -> Any:
    """Parse JSON text; every failure raises ``make_error(source, message)`` naming the place:
    bytes that are not UTF-8 (with the byte offset), syntax errors (line and column), ``NaN`` /
    ``Infinity`` unless ``allow_nan`` (not JSON; where they are allowed, the caller's checks of
    finiteness name the key), integers of more than 308 digits (beyond any float), nesting deeper
    than the parser's depth limit (the interpreter's recursion limit, about 1,000 levels). A UTF-8
    byte-order mark is skipped."""
    src = os.fspath(source)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise make_error(src, f"not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start}") from None
    else:
        text = data
        raw = text.encode("utf-8", "surrogatepass")  # (digits and newlines are the same single bytes)
    huge = huge_int_offset(raw)
    if huge >= 0:
        line = raw.count(b"\n", 0, huge) + 1
        raise make_error(src, f"line {line}: an integer of more than 308 digits (beyond any float)")
    try:
        return json.loads(text, parse_constant=None if allow_nan else _reject_constant)
    except json.JSONDecodeError as e:
        raise make_error(src, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise make_error(src, "JSON nested too deeply") from None
    except ValueError as e:  # NaN / Infinity, numbers too long to convert
        raise make_error(src, f"invalid JSON: {e}") from None


def read_json_file(
    path: str | os.PathLike[str], make_error: Callable[[str, str], Exception], allow_nan: bool = True
) -> Any:
    """Read and parse a JSON file (see :func:`parse_json_bytes`); a missing or unreadable file
    (or one outside the :func:`confined_to` roots) raises ``make_error(path, message)`` too."""
    check_confined(path, make_error)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise make_error(os.fspath(path), "cannot read: file not found") from None
    except OSError as e:
        raise make_error(os.fspath(path), f"cannot read: {e.strerror or e}") from None
    return parse_json_bytes(data, path, make_error, allow_nan)


# ---- confinement: files a dataset may make the readers open ---------------------------------------
#: The roots (real paths: folders, or single files) that reads are confined to; None: no confinement.
_CONFINED: ContextVar[tuple[str, ...] | None] = ContextVar("fusionlabel_confined_roots", default=None)


@contextmanager
def confined_to(roots: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, ...]]:
    """Within the block, :func:`check_confined` refuses files whose real path (symlinks resolved)
    is not one of ``roots`` or inside one of them. Yields the real roots."""
    real = tuple(dict.fromkeys(os.path.realpath(r) for r in roots))
    token = _CONFINED.set(real)
    try:
        yield real
    finally:
        _CONFINED.reset(token)


def confined_roots() -> tuple[str, ...] | None:
    """The real roots reads are confined to now (:func:`confined_to`), None when nothing is."""
    return _CONFINED.get()


def real_path(path: str | os.PathLike[str], folders: dict[str, str] | None = None) -> str:
    """``os.path.realpath(path)``; with ``folders`` (a dict the caller keeps over many files) the
    real path of each file's folder is resolved once and kept there, and only the file itself is
    looked at (a file that is a link, cannot be looked at or is named ``.``/``..`` is resolved
    whole): the same result, for many files of few folders at a fraction of the system calls."""
    if folders is None:
        return os.path.realpath(path)
    p = os.fspath(path)
    head, tail = os.path.split(p)
    if not head or tail in ("", ".", ".."):
        return os.path.realpath(p)
    real_head = folders.get(head)
    if real_head is None:
        real_head = folders[head] = os.path.realpath(head)
    joined = os.path.join(real_head, tail)
    try:
        if stat.S_ISLNK(os.lstat(joined).st_mode):
            return os.path.realpath(p)
    except OSError:
        return os.path.realpath(p)
    return joined


def outside_roots(path: str | os.PathLike[str], roots: Iterable[str] | None = None,
                  folders: dict[str, str] | None = None) -> str | None:
    """The real path of ``path`` when it lies outside ``roots`` (default: the active
    :func:`confined_to` roots), else None (also None when nothing is confined). ``folders``: see
    :func:`real_path` (for a caller checking many files)."""
    rs = _CONFINED.get() if roots is None else tuple(roots)
    if rs is None:
        return None
    real = real_path(path, folders)
    for r in rs:
        if real == r or real.startswith(r.rstrip(os.sep) + os.sep):
            return None
    return real


def check_confined(path: str | os.PathLike[str], make_error: Callable[[str, str], Exception]) -> None:
    """Raise ``make_error(path, message)`` when ``path`` resolves outside the confined roots."""
    real = outside_roots(path)
    if real is not None:
        rs = _CONFINED.get() or ()
        raise make_error(
            os.fspath(path),
            f"resolves to {real}, outside the dataset root {rs[0] if rs else '?'}; refused (name extra "
            "roots explicitly to allow it: --allow-root)",
        )
