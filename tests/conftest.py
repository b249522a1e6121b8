"""Shared test configuration: headless Qt by default, real-data paths, and GL skipping."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

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


def load_benchmark(name: str) -> ModuleType:
    """The module ``benchmarks/<name>.py`` (tests reuse the benchmarks' data preparation and
    measurements); loaded once and kept in ``sys.modules`` under ``name``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


def real_data(*parts: str) -> Path:
    """Path under ../shared/data/real; skips the test when it is absent."""
    p = REAL.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real sample data not present: {p}")
    return p


def venv_python(name: str) -> Path | None:
    """The python of ``<repo root>/<name>`` (a separate venv made by the Makefile, e.g.
    ``.venv-nusc``); in a git worktree also the main checkout's. None when it is not installed
    (tests then skip)."""
    roots = [ROOT]
    git = ROOT / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().split("gitdir:", 1)[1].strip())
        roots.append(gitdir.parents[1].parent)
    for r in roots:
        exe = r / name / "bin" / "python"
        if exe.exists() and (r / name / ".installed").exists():
            return exe
    return None


def nusc_python() -> Path | None:
    """The python of ``.venv-nusc`` (the official nuScenes devkit, numpy<2), or None."""
    return venv_python(".venv-nusc")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_DISPLAY:
        return
    skip = pytest.mark.skip(reason="no display and no Xvfb: GL tests need one")
    for item in items:
        if "gl" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def reader_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Small files of every layout the readers take (the seeds of ``benchmarks/fuzz_readers.py``:
    native, packed, KITTI object/tracking, nuScenes, OpenLABEL, SUSTechPOINTS, a plain folder,
    point clouds, a project), by name; tests copy them before mutating."""
    fuzz = load_benchmark("fuzz_readers")
    return {s.name: s for s in fuzz.build_seeds(tmp_path_factory.mktemp("reader_seeds"))}
