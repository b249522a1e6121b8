"""Shared pieces of the window tests: the small synthetic scenes, a prompter with canned answers,
opening a window with data loaded, closing what a test left open, and pointer helpers that work
in an ortho view's plane coordinates (metres)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest

OPEN_WINDOWS: list = []  # windows opened by tests; tests/gui/conftest.py closes them after each test


def synth_scene(
    tmp_path_factory: pytest.TempPathFactory, frames: int = 3, cameras: int = 6, size: tuple[int, int] = (320, 180)
) -> Path:
    """A synthetic sequence (seed 0) generated once per test session and shared by the GUI tests."""
    from fusionlabel.cli import generate

    root = tmp_path_factory.getbasetemp() / f"gui-scene-{frames}f-{cameras}cam-{size[0]}x{size[1]}"
    if not (root / "fusionlabel.json").exists():
        generate(root, frames=frames, seed=0, cameras=cameras, size=size, force=True)
    return root


class FakePrompter:
    """The window's Prompter with canned answers; records what was asked and the errors shown."""

    def __init__(self, save_answer: str = "discard", recover: bool = False, save_to: Path | None = None) -> None:
        self.save_answer, self.recover, self.save_to = save_answer, recover, save_to
        self.asked: list[str] = []
        self.errors: list[str] = []

    def ask_save_changes(self, parent: object) -> str:
        self.asked.append("save_changes")
        return self.save_answer

    def ask_recover(self, parent: object, path: Path, when: float) -> bool:
        self.asked.append("recover")
        return self.recover

    def error(self, parent: object, title: str, text: str) -> None:
        self.errors.append(f"{title}: {text}")

    def save_path(self, parent: object, suggested: Path) -> Path | None:
        self.asked.append("save_path")
        return self.save_to

    def open_path(self, parent: object) -> Path | None:
        return None


def open_window(qtbot, path: Path, prompter: object | None = None, focus_bev: bool = True,  # type: ignore[no-untyped-def]
                follow: bool = False, **kw):
    """A shown 1400x900 MainWindow with ``path`` loaded (waits for the load to finish). ``follow``:
    new and edited boxes track themselves (the window's default; off here so that a test of
    something else sees no background tracking)."""
    from gui.qt.window import MainWindow

    win = MainWindow(prompter or FakePrompter(), **kw)
    win.model.view.auto_track_new = win.model.view.auto_track_edits = follow
    OPEN_WINDOWS.append(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.loaded, timeout=30000):
        win.open_path(path)
    win.activateWindow()
    qtbot.waitActive(win)
    if focus_bev:
        win.bev.setFocus()
    qtbot.wait(50)
    return win


def close_open_windows(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Close the windows a test left open, answering "discard", and let Qt run deferred deletes
    (windows delete themselves on close, freeing their GL context)."""
    from PyQt6 import sip

    while OPEN_WINDOWS:
        w = OPEN_WINDOWS.pop()
        if not sip.isdeleted(w):
            if hasattr(w.prompter, "save_answer"):
                w.prompter.save_answer = "discard"
            w.close()
    qtbot.wait(5)


def to_qpoint(view, xy):  # type: ignore[no-untyped-def]
    """The widget pixel (QPoint) of plane point ``xy`` (metres) in an ortho view."""
    from PyQt6.QtCore import QPoint

    s = view.to_screen(np.asarray(xy, dtype=np.float64)[None])[0]
    return QPoint(int(round(s[0])), int(round(s[1])))


def drag(qtbot, view, a, b, steps: int = 6, modifier=None) -> None:  # type: ignore[no-untyped-def]
    """Left-drag in an ortho view from plane point ``a`` to ``b`` (metres)."""
    from PyQt6.QtCore import Qt

    modifier = Qt.KeyboardModifier.NoModifier if modifier is None else modifier
    a, b = np.asarray(a, float), np.asarray(b, float)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, modifier, to_qpoint(view, a))
    for t in np.linspace(0, 1, steps + 1)[1:]:
        qtbot.mouseMove(view, to_qpoint(view, a + t * (b - a)))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, modifier, to_qpoint(view, b))
    qtbot.wait(5)


def key(qtbot, win, k, mods=None) -> None:  # type: ignore[no-untyped-def]
    """A key press (Qt key ``k``, modifiers ``mods``) in the window's BEV (where the keymap listens)."""
    from PyQt6.QtCore import Qt

    qtbot.keyClick(win.bev, k, Qt.KeyboardModifier.NoModifier if mods is None else mods)
    qtbot.wait(1)


def cache_sizes_add_up(frames) -> None:  # type: ignore[no-untyped-def]
    """The frame cache's byte count equals the sum of its items' sizes, each its item's nbytes."""
    items = dict(frames._items)  # noqa: SLF001 - the cache's own count against its items
    assert frames.stats.bytes == sum(size for _, size in items.values())
    assert all(size == item.nbytes for item, size in items.values())


def accumulating_window(qtbot, path: Path, accumulate: int = 3, frame: int = 4):  # type: ignore[no-untyped-def]
    """``(window, prompter)``: :func:`open_window` showing ``frame`` with ``Accumulate +-accumulate``."""
    prompter = FakePrompter()
    win = open_window(qtbot, path, prompter)
    win.set_accumulate(accumulate)
    win.set_frame(frame)
    qtbot.wait(20)
    return win, prompter


@contextlib.contextmanager
def accumulating_session(path: Path, frames: int, frame: int = 5, accumulate: int = 4):  # type: ignore[no-untyped-def]
    """A session of ``path`` (``frames`` frames) showing ``frame`` with ``accumulate`` sweeps on
    each side, its prefetch done; closed on exit."""
    from gui.model.cloud import shown_cloud
    from gui.session import load_session

    s = load_session(path)
    try:
        s.frame(frame)
        shown_cloud(s.frames, frame, frames, accumulate=accumulate)
        s.frames.wait_idle()
        yield s
    finally:
        s.close()
