"""calib.fileio: the JSON reader's check for integers beyond any float (huge_int_offset)."""

from __future__ import annotations

import random
import re

import pytest

from calib.fileio import HUGE_INT_DIGITS, huge_int_offset, parse_json_bytes

_REGEX = re.compile(r"[0-9]{309}")  # the check's definition: the first run of 309 ASCII digits


class _Err(Exception):
    pass


def _make_error(src: str, msg: str) -> Exception:
    return _Err(f"{src}: {msg}")


def test_huge_int_offset_is_the_regular_expressions_first_match() -> None:
    rng = random.Random(0)
    pieces = ["0", "7", "9", "\n", " ", ",", ".", "e", "-", "é", "٣", "\U0001f600", '"']
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.3:  # runs around the limit
                n = rng.choice((1, 17, 307, 308, 309, 310, 400))
                parts.append("".join(rng.choice("0123456789") for _ in range(n)))
            else:
                parts.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 20))))
        text = "".join(parts)
        m = _REGEX.search(text)
        raw = text.encode("utf-8")
        got = huge_int_offset(raw)
        if m is None:
            assert got == -1
        else:  # the same place: the same line
            assert raw[:got].decode("utf-8") == text[: m.start()]
    assert HUGE_INT_DIGITS == 309
    assert huge_int_offset(b"") == -1
    assert huge_int_offset(b"1" * 308) == -1
    assert huge_int_offset(b"x" + b"1" * 309) == 1
    assert huge_int_offset("٣".encode() * 400) == -1  # (not an ASCII digit: as the regex's [0-9])


@pytest.mark.parametrize("as_bytes", [True, False])
def test_integer_beyond_float_names_its_line(as_bytes: bool) -> None:
    text = '{"a": [1.5,\n 2],\n "é": "x",\n "b": ' + "9" * 400 + "}"
    data: bytes | str = ("\ufeff" + text).encode("utf-8") if as_bytes else text
    with pytest.raises(_Err, match=r"f\.json: line 4: an integer of more than 308 digits"):
        parse_json_bytes(data, "f.json", _make_error)
    ok = '{"a": ' + "9" * 308 + "}"
    assert parse_json_bytes(ok.encode() if as_bytes else ok, "f.json", _make_error) == {"a": int("9" * 308)}


def test_real_path_with_folders_equals_realpath(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """real_path with a folder cache: os.path.realpath's result for plain files, links to files and
    folders (inside and out), dangling links, link loops, missing files, '.', '..' and relative paths."""
    import os
    from pathlib import Path

    from calib.fileio import outside_roots, real_path

    root = Path(str(tmp_path))
    (root / "a" / "b").mkdir(parents=True)
    (root / "out").mkdir()
    (root / "a" / "b" / "f.bin").write_bytes(b"x")
    (root / "out" / "g.bin").write_bytes(b"y")
    os.symlink(root / "out" / "g.bin", root / "a" / "b" / "link_out.bin")
    os.symlink("f.bin", root / "a" / "b" / "rel_link.bin")
    os.symlink(root / "nowhere", root / "a" / "b" / "dangling.bin")
    os.symlink(root / "a" / "loop1", root / "a" / "loop2")
    os.symlink(root / "a" / "loop2", root / "a" / "loop1")
    os.symlink(root / "out", root / "a" / "dirlink")
    names = ["a/b/f.bin", "a/b/link_out.bin", "a/b/rel_link.bin", "a/b/dangling.bin", "a/b/missing.bin",
             "a/loop1/x.bin", "a/loop1", "a/dirlink/g.bin", "a/dirlink/../b/f.bin", "a/b/.", "a/b/..",
             "a//b/f.bin", "a/b/", "a/./b/f.bin"]
    monkeypatch.chdir(root)
    folders: dict[str, str] = {}
    for _ in range(2):  # (the second time from the cache)
        for name in names:
            for p in (str(root / name), name, Path(name)):
                assert real_path(p, folders) == os.path.realpath(p), p
                assert real_path(p) == os.path.realpath(p)
    roots = [os.path.realpath(root / "a")]
    assert outside_roots("a/b/f.bin", roots, folders) is None
    assert outside_roots("a/b/link_out.bin", roots, folders) == os.path.realpath(root / "out" / "g.bin")
    assert outside_roots("a/dirlink/g.bin", roots, folders) == os.path.realpath(root / "out" / "g.bin")
