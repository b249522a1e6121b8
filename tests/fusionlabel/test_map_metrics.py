"""Chamfer-distance AP of vector map instances (MapTR's evaluation) and the map benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.map.metrics import Instance, chamfer_ap, mean_ap
from tests.conftest import load_benchmark


def _line(y: float, x0: float = 0.0, x1: float = 20.0) -> np.ndarray:
    return np.stack([np.linspace(x0, x1, 5), np.full(5, y)], axis=1)


def test_chamfer_ap_thresholds_and_ranking() -> None:
    gts = [Instance(0, "divider", _line(0.0)), Instance(0, "divider", _line(3.5)), Instance(1, "divider", _line(0.0))]
    exact = [Instance(g.sample, g.cls, g.pts, 0.9) for g in gts]
    assert chamfer_ap(exact, gts, ["divider"])["divider"] == {0.5: 1.0, 1.0: 1.0, 1.5: 1.0}
    shifted = [Instance(g.sample, g.cls, g.pts + [0.0, 0.7], 0.9) for g in gts]
    ap = chamfer_ap(shifted, gts, ["divider"])["divider"]
    assert ap[0.5] == 0.0 and ap[1.0] == 1.0 and ap[1.5] == 1.0
    # a duplicate scored below every true instance comes after full recall: AP stays 1; scored
    # above, it takes the match and its twin becomes a false positive before full recall
    low = chamfer_ap([*exact, Instance(0, "divider", _line(0.0), 0.5)], gts, ["divider"])["divider"]
    assert low[1.0] == pytest.approx(1.0)
    high = chamfer_ap([Instance(0, "divider", _line(0.0), 1.0), *exact], gts, ["divider"])["divider"]
    assert high[1.0] == pytest.approx(1 / 3 + (2 / 3) * 0.75)
    # half the ground truth missed: recall 0.5 at most
    half = chamfer_ap(exact[:1] + exact[2:], gts, ["divider"])["divider"][1.0]
    assert half == pytest.approx(2 / 3)
    # another sample's prediction never matches; an empty class is NaN and left out of the mean
    other = chamfer_ap([Instance(5, "divider", _line(0.0))], gts, ["divider", "boundary"])
    assert other["divider"][0.5] == 0.0 and np.isnan(other["boundary"][0.5])
    assert mean_ap(other) == 0.0


def test_map_benchmark_scores_one_on_a_short_sequence() -> None:
    bench = load_benchmark("bench_map")
    assert bench.run([0], frames=3) == 1.0
