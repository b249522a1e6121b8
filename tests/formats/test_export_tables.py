"""The nuScenes writer's table and label-archive encoders: what the fast encoders write reads back
as what they were given, laid out one record per line, and bad values are refused by name."""

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
