"""Shared test configuration: headless Qt by default, real-data paths, and GL skipping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: in CI (``CI`` set, as .ci/run does) the examples are derandomised, so a landing
# never depends on which random examples a run drew; locally they stay random (and failures are kept
# in .hypothesis/ and replayed).
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"

# Without Xvfb and without a display, Qt must not try xcb (pytest-qt would abort the whole run).
HAVE_DISPLAY = bool(os.environ.get("DISPLAY")) or shutil.which("Xvfb") is not None
if not HAVE_DISPLAY:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def real_data(*parts: str) -> Path:
    """Path under ../shared/data/real; skips the test when it is absent."""
    p = REAL.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real sample data not present: {p}")
    return p


def nusc_python() -> Path | None:
    """The python of ``<repo root>/.venv-nusc`` (the official nuScenes devkit, numpy<2); in a git
    worktree also the main checkout's. None when it is not installed (tests then skip)."""
    roots = [ROOT]
    git = ROOT / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().split("gitdir:", 1)[1].strip())
        roots.append(gitdir.parents[1].parent)
    for r in roots:
        exe = r / ".venv-nusc" / "bin" / "python"
        if exe.exists() and (r / ".venv-nusc" / ".installed").exists():
            return exe
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_DISPLAY:
        return
    skip = pytest.mark.skip(reason="no display and no Xvfb: GL tests need one")
    for item in items:
        if "gl" in item.keywords:
            item.add_marker(skip)
