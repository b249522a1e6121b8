"""The bounded run of the readers' mutation fuzzer (benchmarks/fuzz_readers.py): a few hundred
mutated files through every reader with the window's consumption (open, every frame's points and
images, calibration, poses, labels, project save and reload) end in a load or in the project's own
error: no foreign exception, no hang, no memory blow-up, no read outside the dataset. The long run
(``--long``, 50,000 cases) is the benchmark's.

The run happens in a fresh interpreter, as a user runs the benchmark: each case is a child forked
from the fuzzer's process, and a forked child starts out with its parent's resident pages and
address space, so forking from the test process (grown by the tests before it) would measure the
test process, not the reader.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, load_benchmark

CASES = 300  # about 9 per seed (32 seeds)


def test_quick_fuzz_run_has_only_loads_and_project_errors(tmp_path: Path) -> None:
    fuzz = load_benchmark("fuzz_readers")
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_readers.py"), "--cases", str(CASES),
                           "--seed", "20261207", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert out.is_file(), proc.stdout + proc.stderr
    summary = fuzz.Summary([fuzz.Result(**d) for d in json.loads(out.read_text())])
    counts = summary.counts()
    bad = {k: counts.get(k, 0) for k in ("foreign", "timeout", "memory", "crash", "escape")}
    assert sum(counts.values()) == CASES
    assert not any(bad.values()), fuzz.report(summary, show=20)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the mutations do reach the readers: both outcomes occur
    assert counts["ok"] > 0 and counts["project-error"] > 0
    assert summary.peak_mb() < 2048
