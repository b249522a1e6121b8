"""The fusionlabel command line: synth, info (checked against independent counts) and demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fusionlabel.cli import main
from fusionlabel.synth import SynthConfig, SynthScene

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [e.get("PYTHONPATH")])])
    e.pop("FUSIONLABEL_DEBUG", None)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fusionlabel", *args],
        capture_output=True,
        text=True,
        env=e,
        cwd=cwd or ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "scene"
    r = run_cli("synth", str(out), "--frames", "3", "--seed", "2", "--cameras", "6", "--size", "96x54")
    assert r.returncode == 0, r.stderr
    assert "3 (" in r.stdout and "generated in" in r.stdout
    return out


def test_info_json_matches_independent_counts(synth_dir: Path) -> None:
    r = run_cli("info", str(synth_dir), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)  # exactly one JSON object
    assert info["format"] == "native"
    assert info["frames"] == 3
    assert info["lidars"] == ["lidar_top"]
    assert info["cameras"] == [
        "cam_front",
        "cam_front_left",
        "cam_front_right",
        "cam_back_left",
        "cam_back_right",
        "cam_back",
    ]
    # point counts read independently from the raw files
    counts = [
        np.fromfile(synth_dir / "lidar" / "lidar_top" / f"{i:06d}.bin", dtype=np.float32).size // 4
        for i in range(3)
    ]
    assert info["points"] == {"min": min(counts), "max": max(counts)}
    assert 90_000 <= min(counts)
    # tracks and boxes against the generator's in-memory truth
    scene = SynthScene(SynthConfig(frames=3, seed=2, cameras=6, image_size=(96, 54)))
    tracks = scene.tracks()
    assert info["tracks"] == len(tracks)
    assert info["boxes"] == sum(len(scene.boxes(i)) for i in range(3)) == 3 * len(tracks)
    assert info["labels"] == {
        lab: sum(t.label == lab for t in tracks) for lab in sorted({t.label for t in tracks})
    }


def test_info_counts_interpolated_boxes(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Boxes are counted over frames (interpolated ones included), not as stored keyframes."""
    import shutil

    from formats import native

    seq = tmp_path / "seq"
    shutil.copytree(synth_dir, seq)
    gt = seq / "labels" / "ground_truth.json"
    tracks = native.load_tracks(gt)
    for t in tracks:  # keep only the first and last keyframe: frame 1 becomes interpolated
        t.keyframes = {0: t.keyframes[0], 2: t.keyframes[2]}
    tracks[0].keyframes = {1: tracks[0].keyframes.get(0) or next(iter(tracks[0].keyframes.values()))}
    native.save_tracks(gt, tracks)
    assert main(["info", str(seq), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tracks"] == len(tracks)
    assert info["boxes"] == 3 * (len(tracks) - 1) + 1


def test_info_text(synth_dir: Path) -> None:
    r = run_cli("info", str(synth_dir))
    assert r.returncode == 0
    assert "frames:  3" in r.stdout and "lidar_top" in r.stdout and "cam_back (96x54 fisheye)" in r.stdout


def test_info_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    r = run_cli("info", str(tmp_path / "missing"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "missing" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "fusionlabel.json").write_text("{oops")
    r = run_cli("info", str(bad), "--json")
    assert r.returncode == 2 and r.stdout == ""
    assert "fusionlabel.json" in r.stderr and "invalid JSON" in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr


def test_truncated_sweep_is_reported(synth_dir: Path, tmp_path: Path) -> None:
    import shutil

    seq = tmp_path / "seq"
    shutil.copytree(synth_dir, seq)
    f = seq / "lidar" / "lidar_top" / "000001.bin"
    f.write_bytes(f.read_bytes()[:-16])
    r = run_cli("info", str(seq), "--json")
    assert r.returncode == 2 and "000001.bin" in r.stderr and "expected" in r.stderr


def test_synth_refuses_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "f").write_text("")
    assert main(["synth", str(out), "--frames", "1", "--cameras", "1", "--size", "32x18"]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and err.count("\n") == 1


def test_bad_arguments_exit_2() -> None:
    for argv in (["synth", "o", "--cameras", "3"], ["synth", "o", "--frames", "0"], ["nope"], []):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2


def test_demo_generates_once_into_the_cache(tmp_path: Path) -> None:
    env = {"FUSIONLABEL_CACHE": str(tmp_path / "cache")}
    r = run_cli("demo", "--frames", "2", "--cameras", "1", "--no-gui", env=env)
    assert r.returncode == 0, r.stderr
    scene_dir = tmp_path / "cache" / "demo-v1-seed0-1cams-2f"
    assert (scene_dir / "fusionlabel.json").is_file()
    assert "generating" in r.stderr
    assert "frames:  2" in r.stdout  # the summary (--no-gui)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [scene_dir.name]  # no partial folder
    mtime = (scene_dir / "fusionlabel.json").stat().st_mtime_ns
    r = run_cli("demo", "--frames", "2", "--cameras", "1", "--no-gui", env=env)
    assert r.returncode == 0 and "generating" not in r.stderr
    assert (scene_dir / "fusionlabel.json").stat().st_mtime_ns == mtime


def test_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from fusionlabel.cli import cache_dir

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("FUSIONLABEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "fusionlabel"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h" / ".cache" / "fusionlabel"


def test_synth_is_byte_identical_across_processes(tmp_path: Path) -> None:
    args = ["--frames", "2", "--seed", "5", "--cameras", "6", "--size", "48x27"]
    for name in ("a", "b"):
        r = run_cli("synth", str(tmp_path / name), *args)
        assert r.returncode == 0, r.stderr
    r = run_cli(
        "synth", str(tmp_path / "c"), "--frames", "2", "--seed", "6", "--cameras", "6", "--size", "48x27"
    )
    assert r.returncode == 0, r.stderr
    a, b, c = (tmp_path / n for n in "abc")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files if f.suffix == ".bin")
