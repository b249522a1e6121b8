"""formats.sync: nearest-time pairing within a tolerance, never with the wrong sweep."""

from __future__ import annotations

import numpy as np
import pytest

from formats.sync import SyncReport, match_nearest, report_from_pairs, synchronize

MS = 1_000_000


def test_nearest_within_tolerance() -> None:
    sweeps = [0, 100 * MS, 200 * MS, 300 * MS]
    images = [3 * MS, 95 * MS, 260 * MS, 301 * MS]
    pairs, st = match_nearest(sweeps, images, 50 * MS, "cam")
    # frame 2's nearest image (260 ms) is 60 ms away: out of tolerance, not paired
    assert pairs == [0, 1, None, 3]
    assert (st.matched, st.missing_frames, st.out_of_tolerance_frames) == (3, [2], [2])
    assert st.unused_images == 1 and st.max_abs_dt_ns == 5 * MS


def test_an_image_is_never_shared_by_two_sweeps() -> None:
    # a 5 Hz camera against a 10 Hz LiDAR with a generous tolerance
    sweeps = np.arange(6) * 100 * MS
    images = np.arange(3) * 200 * MS + 40 * MS
    pairs, st = match_nearest(sweeps, images, 150 * MS)
    used = [p for p in pairs if p is not None]
    assert len(used) == len(set(used)) == 3
    assert pairs == [0, None, 1, None, 2, None]
    assert st.out_of_tolerance_frames == [1, 3, 5]


def test_empty_and_invalid_inputs() -> None:
    pairs, st = match_nearest([0, 1], [], 10)
    assert pairs == [None, None] and st.missing_frames == [0, 1] and st.out_of_tolerance == 0
    pairs, st = match_nearest([], [5], 10)
    assert pairs == [] and st.unused_images == 1
    with pytest.raises(ValueError, match="strictly increasing"):
        match_nearest([0, 0], [1], 10)
    with pytest.raises(ValueError, match="tolerance"):
        match_nearest([0], [1], -1)


def test_synchronize_report_roundtrip() -> None:
    sweeps = [0, 100 * MS]
    pairs, rep = synchronize(sweeps, {"a": [1 * MS, 99 * MS], "b": [500 * MS]}, 20 * MS)
    assert pairs == {"a": [0, 1], "b": [None, None]}
    assert rep.cameras["a"].matched == 2 and not rep.complete
    assert rep.cameras["b"].out_of_tolerance_frames == [0, 1]
    again = SyncReport.from_dict(rep.to_dict())
    assert again.to_dict() == rep.to_dict()
    assert "b: 0/2 matched, 2 missing (2 out of tolerance)" in rep.summary()


def test_report_from_pairs_drops_far_pairs() -> None:
    ok, rep = report_from_pairs([0, 100 * MS, 200 * MS], {"c": {0: None, 1: 170 * MS}}, 50 * MS)
    assert ok == {"c": {0}}
    st = rep.cameras["c"]
    assert (st.matched, st.missing_frames, st.out_of_tolerance_frames, st.unused_images) == (1, [1, 2], [1], 1)
    assert rep.method == "frame_id"
