"""``convert_path`` on the batch executor: one task per sequence, long sequences split into frame
ranges (one task each, one staging folder), outputs byte-identical to one task."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats.convert import convert_path, frame_ranges, get_writer, supports_frame_ranges
from formats.errors import FormatError

FRAMES = 9


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes; links read through)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fusionlabel.cli import generate

    path = tmp_path_factory.mktemp("ranges") / "seq"
    generate(path, frames=FRAMES, seed=5, cameras=1, size=(160, 90), force=True)
    return path


def test_frame_ranges() -> None:
    assert frame_ranges(10, 4) == [(0, 3), (3, 7), (7, 10)]
    assert frame_ranges(10, 10) == [(0, 10)] and frame_ranges(3, 50) == [(0, 3)]
    assert frame_ranges(0, 5) == []
    got = frame_ranges(2000, 250)
    assert len(got) == 8 and got[0][0] == 0 and got[-1][1] == 2000
    assert all(b == c for (_, b), (c, _) in zip(got[:-1], got[1:], strict=True))
    with pytest.raises(ValueError):
        frame_ranges(10, 0)
    assert supports_frame_ranges(get_writer("kitti")) and not supports_frame_ranges(get_writer("nuscenes"))


def test_frame_range_tasks_write_the_bytes_of_one_task(seq: Path, tmp_path: Path) -> None:
    one = convert_path(seq, tmp_path / "one", "kitti")
    seen: list[tuple[int, int]] = []
    inline = convert_path(seq, tmp_path / "inline", "kitti", frames_per_task=4,
                          progress=lambda d, t: seen.append((d, t)))
    procs = convert_path(seq, tmp_path / "procs", "kitti", jobs=2, frames_per_task=2, executor="processes")
    ref = tree(tmp_path / "one")
    assert len([k for k in ref if k.startswith("label_2/")]) == FRAMES
    assert tree(tmp_path / "inline") == ref and tree(tmp_path / "procs") == ref
    for s in (one, inline, procs):
        assert s.frames == FRAMES and not s.failed
    assert inline.outputs == [str(tmp_path / "inline")] and inline.boxes == one.boxes
    assert sorted(inline.warnings) == sorted(one.warnings)  # once, not once per range
    assert seen[-1] == (FRAMES, FRAMES) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_a_failing_range_fails_its_sequence_and_leaves_no_output(seq: Path, tmp_path: Path) -> None:
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(seq, bad)
    lidar = sorted((bad / "lidar").rglob("*.bin"))[6]
    lidar.write_bytes(lidar.read_bytes()[:-5])  # frame 6: not whole points
    with pytest.raises(FormatError, match="multiple of 16"):
        convert_path(bad, tmp_path / "out", "kitti", frames_per_task=3)
    with pytest.raises(FormatError, match="multiple of 16"):
        convert_path(bad, tmp_path / "out", "kitti", jobs=2, frames_per_task=3, executor="processes")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # in a folder of sequences the others are written
    root = tmp_path / "many"
    root.mkdir()
    shutil.copytree(seq, root / "good")
    shutil.copytree(bad, root / "broken")
    s = convert_path(root, tmp_path / "many-out", "kitti", jobs=2, frames_per_task=3)
    assert [n for n, _ in s.failed] == ["broken"] and s.frames == FRAMES
    assert sorted(p.name for p in (tmp_path / "many-out").iterdir()) == ["good"]
    assert tree(tmp_path / "many-out" / "good") == tree_of_one(seq, tmp_path)


def tree_of_one(seq: Path, tmp_path: Path) -> dict[str, bytes]:
    convert_path(seq, tmp_path / "ref", "kitti")
    return tree(tmp_path / "ref")


def test_formats_without_ranges_run_one_task_per_sequence(seq: Path, tmp_path: Path) -> None:
    seen: list[int] = []
    s = convert_path(seq, tmp_path / "n", "native", jobs=2, frames_per_task=2, progress=lambda d, t: seen.append(d))
    assert s.frames == FRAMES and (tmp_path / "n" / "fusionlabel.json").is_file()
    assert len(seen) > 2 and seen[-1] == FRAMES  # one task runs in this process: progress per frame
    with pytest.raises(FormatError, match="not empty"):
        convert_path(seq, tmp_path / "n", "kitti", frames_per_task=2)  # the output exists: no --force


def test_cli_convert_jobs_and_frame_ranges(seq: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fusionlabel.cli import main

    assert main(["convert", str(seq), str(tmp_path / "a"), "--to", "kitti"]) == 0
    assert main(["convert", str(seq), str(tmp_path / "b"), "--to", "kitti", "--jobs", "2",
                 "--frames-per-task", "4"]) == 0
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_nuscenes_with_jobs_writes_the_bytes_of_one_process(seq: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A nuScenes sequence with ``jobs=2`` (its box numbers computed by forked workers, several
    chunks of keyframes) gives the same files as one process, through convert_path and the writer."""
    import formats.export.nuscenes as nus

    calls: list[int] = []
    real = nus.ParallelBoxNumbers.__init__

    def spy(self: nus.ParallelBoxNumbers, loaded: object, frames: list[int], *a: object) -> None:
        calls.append(len(frames))
        real(self, loaded, frames, *a)  # type: ignore[arg-type]
        if frames:  # the workers do the frames
            assert self._pool is not None and len(self._futures) == len(frames)

    monkeypatch.setattr(nus.ParallelBoxNumbers, "CHUNK", 2)
    monkeypatch.setattr(nus.ParallelBoxNumbers, "__init__", spy)
    one = convert_path(seq, tmp_path / "one", "nuscenes")
    two = convert_path(seq, tmp_path / "two", "nuscenes", jobs=2)
    ref = tree(tmp_path / "one")
    assert calls[0] == 0 and calls[1] == FRAMES  # one process: no frames handed out; jobs=2: every keyframe
    assert tree(tmp_path / "two") == ref and two.frames == one.frames == FRAMES and two.boxes == one.boxes > 0
    import json

    anns = json.loads(ref["v1.0-fusionlabel/sample_annotation.json"])
    assert any(a["num_lidar_pts"] > 0 for a in anns)
    assert {a["visibility_token"] for a in anns} != {"1"}  # occlusion counts reached the records
