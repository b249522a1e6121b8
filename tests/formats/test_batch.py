"""Batch commands: executors (inline, processes), the resumable manifest, sources, failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from formats.batch.commands import discover, run_batch
from formats.errors import FormatError
from fusionlabel.batch import (
    InlineExecutor,
    Manifest,
    ManifestRow,
    ProcessExecutor,
    Task,
    fingerprint,
    make_executor,
    summarize,
)
from fusionlabel.cli import generate, main


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (the manifest left out) by relative path -> content."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".parquet")}


@pytest.fixture(scope="module")
def seqs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch") / "seqs"
    for s in range(3):
        generate(root / f"s{s}", frames=3, seed=s, cameras=1, size=(96, 64))
    return root


# ---- executors -------------------------------------------------------------------------------------
def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    if x == 99:
        os._exit(3)  # the worker dies
    return x * x


def test_inline_and_processes_run_every_task_and_isolate_failures() -> None:
    tasks = [Task(f"t{i}", _square, v) for i, v in enumerate([2, -1, 3, 99, 4])]
    for ex in (InlineExecutor(), ProcessExecutor(2)):
        seen = []
        run = tasks if ex.name == "processes" else [t for t in tasks if t.payload != 99]
        out = ex.run(run, seen.append)
        assert sorted(o.key for o in seen) == sorted(t.key for t in run)
        assert out["t0"].ok and out["t0"].value == 4 and out["t4"].value == 16
        assert not out["t1"].ok and "ValueError: negative -1" in out["t1"].error
        if ex.name == "processes":
            assert not out["t3"].ok and "died (exit code 3)" in out["t3"].error


def _burn(n: int) -> int:
    return sum(i * i for i in range(n))


def test_outcomes_carry_the_tasks_cpu_time_and_inline_keeps_the_exception() -> None:
    tasks = [Task("burn", _burn, 300_000), Task("bad", _square, -2)]
    for ex in (InlineExecutor(), ProcessExecutor(2)):
        out = ex.run(tasks)
        assert 0 < out["burn"].cpu_seconds <= out["burn"].seconds + 0.5
        exc = out["bad"].exception
        if ex.name == "inline":
            assert isinstance(exc, ValueError)
        else:
            assert exc is None and "ValueError: negative -2" in out["bad"].error


def test_make_executor_checks_its_arguments() -> None:
    assert make_executor("inline").name == "inline"
    assert make_executor("processes", 3).jobs == 3
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("threads")
    with pytest.raises(ValueError, match="--address is for the ray"):
        make_executor("processes", 2, "127.0.0.1:6379")


# ---- manifest --------------------------------------------------------------------------------------
def test_fingerprint_sees_size_time_and_small_content(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    f = tmp_path / "a" / "calib.txt"
    f.write_text("P0: 1 2 3\n")
    fp = fingerprint(tmp_path / "a")
    assert fingerprint(tmp_path / "a") == fp
    st = f.stat()
    f.write_text("P0: 1 2 4\n")  # same size, same time: the content tells
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fingerprint(tmp_path / "a") != fp
    (tmp_path / "a" / ".hidden").write_text("x")
    fp2 = fingerprint(tmp_path / "a")
    assert fp2 == fingerprint(tmp_path / "a")
    (tmp_path / "a" / "new.bin").write_bytes(b"\0" * (1 << 17))  # large: size and time only
    assert fingerprint(tmp_path / "a") != fp2


def test_manifest_round_trips_through_parquet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    m = Manifest(tmp_path / "m.parquet")
    m.rows["convert:a"] = ManifestRow("convert:a", "convert", "a", "/in/a", "f1", "{}", "done", "inline", 1.5, 2.0,
                                      [str(tmp_path)], "ok")
    m.rows["convert:b"] = ManifestRow("convert:b", "convert", "b", "/in/b", "f2", "{}", "failed", error="boom\nmore")
    m.save()
    table = pq.read_table(m.path)  # readable by any Parquet reader
    assert table.num_rows == 2 and "fingerprint" in table.column_names
    back = Manifest.load(m.path)
    assert back.rows == m.rows
    assert back.is_done("convert:a", "f1", "{}")
    assert not back.is_done("convert:a", "f0", "{}") and not back.is_done("convert:a", "f1", '{"x": 1}')
    assert not back.is_done("convert:b", "f2", "{}")
    s = summarize(back)
    assert s["status"] == {"done": 1, "failed": 1, "pending": 0}
    assert s["failed"] == [{"key": "convert:b", "error": "boom"}]
    # a manifest written before the cpu_seconds column reads with 0 there
    pq.write_table(table.drop(["cpu_seconds"]), tmp_path / "old.parquet")
    old = Manifest.load(tmp_path / "old.parquet")
    assert old.rows["convert:a"].cpu_seconds == 0.0 and old.rows["convert:a"].seconds == 2.0
    m.rows["convert:a"].cpu_seconds = 1.25
    m.save()
    assert summarize(Manifest.load(m.path))["task_cpu_seconds"] == 1.25
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="bad.parquet"):
        Manifest.load(tmp_path / "bad.parquet")


# ---- sources ---------------------------------------------------------------------------------------
def test_discover_folder_list_file_and_errors(seqs: Path, tmp_path: Path) -> None:
    assert [s.name for s in discover(seqs)] == ["s0", "s1", "s2"]
    assert discover(seqs)[0].args == ("--format", "native")
    lst = tmp_path / "some.txt"
    lst.write_text(f"# two of them\n{seqs / 's2'}\n\n{os.path.relpath(seqs / 's0', tmp_path)}  # relative\n")
    assert [s.name for s in discover(lst)] == ["s2", "s0"]
    lst.write_text(f"{seqs / 's0'}\n{seqs / 's0'}\n")
    with pytest.raises(FormatError, match="not unique: s0"):
        discover(lst)
    lst.write_text("nowhere\n")
    with pytest.raises(FormatError, match="line 1: nowhere"):
        discover(lst)


# ---- batch runs ------------------------------------------------------------------------------------
def test_convert_processes_matches_inline_and_reruns_skip(seqs: Path, tmp_path: Path) -> None:
    a = run_batch("convert", seqs, tmp_path / "a", ["--to", "kitti"], main, executor="inline")
    b = run_batch("convert", seqs, tmp_path / "b", ["--to", "kitti"], main, executor="processes", jobs=2)
    assert (a.done, b.done, a.failed, b.failed) == (3, 3, [], [])
    ta, tb = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert ta == tb and any(k.startswith("s2/label_2/") for k in ta)
    again = run_batch("convert", seqs, tmp_path / "b", ["--to", "kitti"], main, executor="processes", jobs=2)
    assert (again.total, again.skipped, again.done) == (3, 3, 0)
    # other options: every task again (the batch replaces its own outputs)
    opts = run_batch("convert", seqs, tmp_path / "b", ["--to", "kitti", "--decimals", "3"], main, executor="inline")
    assert (opts.done, opts.skipped) == (3, 0)
    # a removed output: that task again
    import shutil

    shutil.rmtree(tmp_path / "b" / "s1")
    one = run_batch("convert", seqs, tmp_path / "b", ["--to", "kitti", "--decimals", "3"], main, executor="inline")
    assert (one.done, one.skipped) == (1, 2)


def test_a_killed_worker_fails_its_task_only(seqs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    rc = main(["batch", "convert", str(seqs), str(out), "--to", "kitti", "--jobs", "2", "--crash-task", "s1"])
    assert rc == 1
    assert "failed s1: the worker died (signal SIGKILL)" in capsys.readouterr().err
    assert (out / "s0" / "label_2").is_dir() and (out / "s2" / "label_2").is_dir() and not (out / "s1").exists()
    assert main(["batch", "status", str(out / "batch-manifest.parquet")]) == 1
    text = capsys.readouterr().out
    assert "3 tasks: 2 done, 1 failed" in text and "failed convert:s1: the worker died" in text
    assert main(["batch", "convert", str(seqs), str(out), "--to", "kitti"]) == 0  # the failed one only
    assert "1 done, 2 skipped" in capsys.readouterr().out
    assert main(["batch", "status", str(out / "batch-manifest.parquet"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == {"done": 3, "failed": 0, "pending": 0}


def test_qa_prelabel_and_exports_per_sequence(seqs: Path, tmp_path: Path) -> None:
    qa = run_batch("qa", seqs, tmp_path / "qa", ["--fail-on", "warning"], main, executor="inline")
    assert qa.done == 3 and not qa.failed
    rep = json.loads((tmp_path / "qa" / "s1.qa.json").read_text())
    assert rep["frames"] == 3 and rep["source"] == str(seqs / "s1")
    pre = run_batch("prelabel", seqs, tmp_path / "pre", ["--max-range", "40"], main, executor="processes", jobs=2)
    assert pre.done == 3 and sorted(p.name for p in (tmp_path / "pre").glob("*.flproj")) == [
        "s0.flproj", "s1.flproj", "s2.flproj"]
    # the projects written by prelabel are the next batch's inputs (a folder of projects)
    assert [s.name for s in discover(tmp_path / "pre")] == ["s0", "s1", "s2"]
    bev = run_batch("export-bev", seqs, tmp_path / "bev", ["--range", "20", "--resolution", "0.5", "--no-png"], main,
                    executor="inline")
    assert bev.done == 3 and any((tmp_path / "bev" / "s0").rglob("*.npz"))
    img = run_batch("export-images", seqs, tmp_path / "img", [], main, executor="inline")
    assert img.done == 3 and any((tmp_path / "img" / "s2").rglob("*.png"))


def test_a_failing_command_is_reported_and_a_bad_option_stops_before_work(
        seqs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # track needs keyframes: the synthetic sequences' tracks have them, a bad --tracks id fails every task
    res = run_batch("track", seqs, tmp_path / "t", ["--tracks", "9999"], main, executor="inline")
    assert res.done == 0 and len(res.failed) == 3 and "no track 9999" in res.failed[0][1]
    with pytest.raises(SystemExit):
        main(["batch", "convert", str(seqs), str(tmp_path / "x"), "--to", "nowhere"])
    assert not (tmp_path / "x").exists()
    capsys.readouterr()


def test_the_forkserver_preload_compiles_every_schema() -> None:
    from formats.batch.commands import PRELOAD
    from formats.batch.preload import SCHEMAS
    from formats.convert import _PRELOAD

    assert {"rig", "native-index", "project"} <= set(SCHEMAS)
    assert "formats.batch.preload" in PRELOAD and "formats.batch.preload" in _PRELOAD
