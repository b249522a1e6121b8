"""Window tests: close what a test left open, and keep each test's cache (recovery files, demo
scenes) in its own temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _close_windows(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    # taken at set-up so that qtbot is torn down after this fixture, not before
    qtbot = request.getfixturevalue("qtbot") if "qtbot" in request.fixturenames else None
    yield
    if qtbot is not None:
        from tests.gui.gui_support import close_open_windows

        close_open_windows(qtbot)
