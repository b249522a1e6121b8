"""The interpolation benchmark's claims, on a few of its synthetic scenes (a looser floor than the
benchmark's targets): smooth follows turning agents, world frame beats sensor frame."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_interpolation")


@pytest.fixture(scope="module")
def results(bench: ModuleType) -> dict[str, dict[str, np.ndarray]]:
    return bench.evaluate([bench.make_scenario(seed) for seed in range(4)])


def test_smooth_meets_a_floor_on_turning_agents(results: dict[str, dict[str, np.ndarray]]) -> None:
    smooth = results["smooth/world"]
    for kind in ("turning car", "cyclist"):
        assert smooth[kind].mean() >= 0.85 and smooth[kind].min() >= 0.65, kind
    everything = np.concatenate(list(smooth.values()))
    assert everything.mean() >= 0.9


def test_world_frame_beats_sensor_frame_and_smooth_beats_linear(results: dict[str, dict[str, np.ndarray]]) -> None:
    def mean(method: str, kind: str | None = None) -> float:
        per = results[method]
        return float((np.concatenate(list(per.values())) if kind is None else per[kind]).mean())

    assert mean("linear/world") > mean("linear/sensor") + 0.1
    for kind in results["linear/world"]:
        assert mean("linear/world", kind) > mean("linear/sensor", kind), kind
        assert mean("smooth/world", kind) >= mean("linear/world", kind) - 1e-9, kind
    assert mean("smooth/world", "turning car") > mean("linear/world", "turning car") + 0.05


def test_ground_truth_generator_is_kinematic(bench: ModuleType) -> None:
    sc = bench.make_scenario(0)
    times = np.asarray(sc.times_ns)
    assert len(times) == bench.N_FRAMES and (np.diff(times) > 0).all()
    turning = sc.agents[0]
    assert turning.kind == "turning car"
    turned = np.unwrap(turning.yaw)[-1] - turning.yaw[0]
    assert abs(turned - np.pi / 2) < 1e-3  # a full 90-degree turn inside the sequence
    assert not np.allclose(sc.T_world_from_ego[0], sc.T_world_from_ego[-1])
