"""Batch commands on a real local Ray runtime (2 CPUs, 127.0.0.1 only), one for the module:
outputs byte-identical to the local-process backend's, a killed worker fails its task only, a
rerun skips finished tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from formats.batch.commands import run_batch
from fusionlabel.batch import Manifest
from fusionlabel.batch.executor import start_local_ray
from fusionlabel.cli import generate, main

pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray")


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".parquet")}


@pytest.fixture(scope="module")
def runtime() -> Iterator[None]:
    if ray.is_initialized():
        ray.shutdown()
    start_local_ray(2)
    assert ray.cluster_resources().get("CPU") == 2
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def seqs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch_ray") / "seqs"
    for s in range(3):
        generate(root / f"s{s}", frames=3, seed=10 + s, cameras=1, size=(96, 64))
    return root


def test_the_runtime_is_local_only(runtime: None) -> None:
    @ray.remote
    def where() -> str:
        return ray.util.get_node_ip_address()

    assert ray.get(where.remote()) == "127.0.0.1"
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes())


@pytest.mark.parametrize("command,options", [("convert", ["--to", "kitti"]), ("qa", ["--fail-on", "never"])])
def test_ray_outputs_equal_the_process_backends(runtime: None, seqs: Path, tmp_path: Path, command: str,
                                                options: list[str]) -> None:
    r = run_batch(command, seqs, tmp_path / "ray", options, main, executor="ray", jobs=2)
    p = run_batch(command, seqs, tmp_path / "proc", options, main, executor="processes", jobs=2)
    assert (r.done, r.failed, p.done, p.failed) == (3, [], 3, [])
    tr, tp = tree_bytes(tmp_path / "ray"), tree_bytes(tmp_path / "proc")
    assert tr == tp and len(tr) >= 3
    rows = Manifest.load(tmp_path / "ray" / "batch-manifest.parquet").rows
    assert {k: r.executor for k, r in rows.items()} == {f"{command}:s{i}": "ray" for i in range(3)}
    if command == "qa":
        assert json.loads(tr["s0.qa.json"])["frames"] == 3


def test_ray_killed_worker_fails_its_task_only_and_rerun_skips(runtime: None, seqs: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    res = run_batch("convert", seqs, out, ["--to", "kitti"], main, executor="ray", jobs=2, crash=["s2"])
    assert res.done == 2 and [n for n, _ in res.failed] == ["s2"] and "worker died" in res.failed[0][1]
    assert (out / "s0" / "label_2").is_dir() and (out / "s1" / "label_2").is_dir()
    rows = Manifest.load(out / "batch-manifest.parquet").rows
    assert rows["convert:s2"].status == "failed" and rows["convert:s0"].status == "done"
    again = run_batch("convert", seqs, out, ["--to", "kitti"], main, executor="ray", jobs=2)
    assert (again.skipped, again.done, again.failed) == (2, 1, [])
    assert rows["convert:s0"].started == Manifest.load(out / "batch-manifest.parquet").rows["convert:s0"].started
    last = run_batch("convert", seqs, out, ["--to", "kitti"], main, executor="ray", jobs=2)
    assert (last.skipped, last.done) == (3, 0)


def test_convert_frame_ranges_on_ray_equal_one_task(runtime: None, seqs: Path, tmp_path: Path) -> None:
    from formats.convert import convert_path

    one = convert_path(seqs / "s0", tmp_path / "one", "kitti")
    r = convert_path(seqs / "s0", tmp_path / "ray", "kitti", jobs=2, executor="ray", frames_per_task=1)
    assert r.frames == one.frames == 3 and not r.failed
    assert tree_bytes(tmp_path / "ray") == tree_bytes(tmp_path / "one")
