"""The window returns freed memory to the system once its views are at rest (gui.memory)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gui.memory as gm


def test_release_free_memory_runs_on_glibc() -> None:
    before = gm.trims
    ran = gm.release_free_memory()
    if sys.platform.startswith("linux"):
        assert ran and gm.trims == before + 1
    else:
        assert gm.trims == before + int(ran)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_idle_trim_is_debounced(qtbot) -> None:  # type: ignore[no-untyped-def]
    before = gm.trims
    for _ in range(5):  # a run of rests (steps) asks five times: one trim, at its end
        gm.request_idle_trim(80)
        qtbot.wait(20)
    assert gm.idle_trim_pending() and gm.trims == before
    qtbot.waitUntil(lambda: gm.trims > before, timeout=3000)
    qtbot.wait(200)
    assert gm.trims == before + 1 and not gm.idle_trim_pending()


def test_views_coming_to_rest_ask_for_a_trim(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtWidgets import QMainWindow

    from gui.render.view3d import View3D

    w = QMainWindow()
    qtbot.addWidget(w)
    v = View3D()
    w.setCentralWidget(v.widget)
    w.resize(200, 200)
    w.show()
    pts = np.random.default_rng(0).uniform(-3, 3, (5000, 3)).astype(np.float32)
    v.set_points(pts, np.full((len(pts), 3), 0.5, np.float32))
    v.render()
    before = gm.trims
    v.interacted()  # the camera moves: the view draws its moving budget, then comes to rest
    qtbot.waitUntil(lambda: gm.trims > before, timeout=5000)
    v.close()
