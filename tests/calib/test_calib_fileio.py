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
