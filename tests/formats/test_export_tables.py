"""The nuScenes writer's fast paths: its table and label-archive encoders (what they write reads
back as what they were given, one record per line; non-finite values refused), the occlusion
counts' padded outlines and the deterministic tokens."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from formats.export.common import table_json
from formats.export.lidarseg import npz_bytes


def test_table_json_reads_back_one_record_per_line() -> None:
    recs = [{"token": "a", "translation": [1.5, -2.0, 0.1], "camera_intrinsic": [[1.0, 0.0], [0.0, 1.0]],
             "is_key_frame": True, "next": "", "n": 3, "name": "caf\u00e9 \"x\""},
            {"token": "b", "translation": [1e-17, 12345678.123456789, -0.0], "prev": "a", "size": []}]
    data = table_json(recs)
    assert json.loads(data) == recs
    lines = data.decode().splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(recs) + 2
    assert [json.loads(ln.rstrip(",")) for ln in lines[1:-1]] == recs
    # floats keep every digit (repr), as the indented encoder wrote them
    assert json.loads(data)[1]["translation"][1] == 12345678.123456789
    assert table_json([]) == b"[]\n" and json.loads(table_json([])) == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_table_json_refuses_non_finite(bad: float) -> None:
    with pytest.raises(ValueError):
        table_json([{"token": "a", "translation": [0.0, bad, 0.0]}])


def test_npz_bytes_is_what_savez_compressed_stores() -> None:
    rng = np.random.default_rng(0)
    pan = (rng.integers(0, 32, 50_000) * 1000 + rng.integers(0, 5, 50_000)).astype(np.uint16)
    data = npz_bytes(pan)
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        assert z.files == ["data"]
        got = z["data"]
    assert got.dtype == np.uint16 and np.array_equal(got, pan)
    ref = io.BytesIO()
    np.savez_compressed(ref, data=pan)
    assert len(data) < pan.nbytes  # compressed, not stored
    with np.load(io.BytesIO(ref.getvalue())) as z:
        assert np.array_equal(z["data"], got)


def test_padded_repeats_each_polygons_last_vertex() -> None:
    from formats.export.occlusion import _padded

    polys = [np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]]), np.array([[1.0, 1.0], [2.0, 1.0], [2.0, 2.0],
                                                                        [1.5, 2.5], [1.0, 2.0]])]
    pad, ex, ey = _padded(polys)
    assert pad.shape == (2, 5, 2)
    assert np.array_equal(pad[0], [[0, 0], [4, 0], [4, 3], [4, 3], [4, 3]])
    assert np.array_equal(pad[1], polys[1])
    # edges b - a, closing back to the first vertex
    assert np.array_equal(ex[0], [4, 0, 0, 0, -4]) and np.array_equal(ey[0], [0, 3, 0, 0, -3])


def test_token_is_uuid5_of_the_joined_parts() -> None:
    import random
    import string
    import uuid

    from formats.export.common import TOKEN_NAMESPACE, token

    rnd = random.Random(0)
    for _ in range(3000):
        parts = [rnd.choice(["scene-0001", "sample", "\u00e9\u2603", "", 3, -7, 2.5]) for _ in range(rnd.randint(0, 4))]
        parts.append("".join(rnd.choices(string.printable, k=rnd.randint(0, 30))))
        assert token(*parts) == uuid.uuid5(TOKEN_NAMESPACE, "/".join(str(p) for p in parts)).hex

