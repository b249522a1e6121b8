"""``fusionlabel open``: the subcommand, the screenshot mode in a separate process, bad paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic sequence shared by the GUI tests of this session (3 frames, 6 cameras)."""
    from fusionlabel.cli import generate

    root = tmp_path_factory.getbasetemp() / "gui-scene-3f"
    if not (root / "fusionlabel.json").exists():
        generate(root, frames=3, seed=0, cameras=6, size=(320, 180), force=True)
    return root


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scene(tmp_path_factory)


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), FUSIONLABEL_CACHE=str(tmp_path / "cache"))
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run([sys.executable, "-m", "fusionlabel", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


def test_open_is_a_registered_command() -> None:
    from fusionlabel.cli import COMMANDS, build_parser

    assert "open" in [c.name for c in COMMANDS]
    args = build_parser().parse_args(["open", "/x", "--frame", "2", "--screenshot", "/tmp/o.png"])
    assert args.frame == 2 and args.screenshot == Path("/tmp/o.png")


def test_open_missing_path_is_an_error(tmp_path: Path) -> None:
    r = _run(["open", str(tmp_path / "nope")], tmp_path)
    assert r.returncode == 2
    assert "nope" in r.stderr and "no such file" in r.stderr


@pytest.mark.gl
def test_open_screenshot(scene: Path, tmp_path: Path) -> None:
    import cv2

    out = tmp_path / "shot.png"
    r = _run(["open", str(scene), "--frame", "1", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 400 and img.shape[1] > 600
    assert img.std() > 25  # panels drawn, not an empty window


@pytest.mark.gl
def test_open_broken_sequence_screenshot_fails_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "fusionlabel.json").write_text("[1, 2")
    r = _run(["open", str(bad), "--screenshot", str(tmp_path / "x.png")], tmp_path)
    assert r.returncode == 2
    assert "fusionlabel.json" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_open_without_a_display_says_so(scene: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), FUSIONLABEL_CACHE=str(tmp_path / "cache"))
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(k, None)
    r = subprocess.run([sys.executable, "-m", "fusionlabel", "open", str(scene)], capture_output=True, text=True,
                       env=env, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and "no display" in r.stderr
