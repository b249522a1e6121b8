"""The bounded run of the readers' mutation fuzzer (benchmarks/fuzz_readers.py): a few hundred
mutated files through every reader with the window's consumption (open, every frame's points and
images, calibration, poses, labels, project save and reload) end in a load or in the project's own
error: no foreign exception, no hang, no memory blow-up, no read outside the dataset. The long run
(``--long``, 50,000 cases) is the benchmark's."""

from __future__ import annotations

from tests.conftest import load_benchmark

CASES = 300  # 15 per seed (20 seeds)


def test_quick_fuzz_run_has_only_loads_and_project_errors() -> None:
    fuzz = load_benchmark("fuzz_readers")
    summary = fuzz.run(CASES, base_seed=20261207)
    counts = summary.counts()
    bad = {k: counts.get(k, 0) for k in ("foreign", "timeout", "memory", "crash", "escape")}
    assert sum(counts.values()) == CASES
    assert not any(bad.values()), fuzz.report(summary, show=20)
    # the mutations do reach the readers: both outcomes occur
    assert counts["ok"] > 0 and counts["project-error"] > 0
    assert summary.peak_mb() < 2048
