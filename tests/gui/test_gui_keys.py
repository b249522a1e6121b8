"""Keys of the real window: no shortcut (the whole tools' keymap and the window's own) collides
with a menu mnemonic or another shortcut; Alt+letters reach the box; F10 opens the menus; Esc
closes dialogs; an issue marker with no selection lies where the pointer is; stale temporary
files of crashed writes are removed when a session opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PyQt6 import QtCore
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QAction, QCursor, QKeySequence
from PyQt6.QtWidgets import QAbstractButton, QApplication, QGroupBox, QLabel, QTabBar

from fusionlabel.tools.keymap import KeyBinding
from tests.gui.gui_support import FakePrompter, key, open_window, synth_scene

#: The keymap's key names as Qt key-sequence text.
_QT_NAMES = {"left": "Left", "right": "Right", "up": "Up", "down": "Down", "tab": "Tab", "escape": "Esc",
             "delete": "Del", "backspace": "Backspace", "page_up": "PgUp", "page_down": "PgDown", "home": "Home",
             "end": "End", "space": "Space", "enter": "Return"}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory)


def binding_sequences(b: KeyBinding) -> list[str]:
    """The Qt key sequences (portable text) a keymap binding answers to (Shift+Tab also as Backtab)."""
    mods = [m.capitalize() for m in ("ctrl", "alt", "shift") if m in b.modifiers]
    name = _QT_NAMES.get(b.key, b.key.upper())
    out = [QKeySequence("+".join([*mods, name])).toString()]
    if b.key == "enter":
        out.append(QKeySequence("+".join([*mods, "Enter"])).toString())
    return out


def window_mnemonics(win) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Alt+letter mnemonics active anywhere in the window -> what declares them: the menu bar's
    titles, and buttons, group boxes, labels with a buddy and tabs of the docks."""
    out: dict[str, str] = {}

    def add(text: str, what: str) -> None:
        m = QKeySequence.mnemonic(text)
        if not m.isEmpty():
            out[m.toString()] = what
            # Alt+Shift+letter reaches the same mnemonic on some platforms: reserve it too
            out[QKeySequence(m.toString().replace("Alt+", "Alt+Shift+")).toString()] = what

    for a in win.menuBar().actions():
        add(a.text(), f"menu {a.text()!r}")
    for w in win.findChildren(QAbstractButton):
        add(w.text(), f"button {w.text()!r}")
    for w in win.findChildren(QGroupBox):
        add(w.title(), f"group {w.title()!r}")
    for w in win.findChildren(QLabel):
        if w.buddy() is not None:
            add(w.text(), f"label {w.text()!r}")
    for w in win.findChildren(QTabBar):
        for i in range(w.count()):
            add(w.tabText(i), f"tab {w.tabText(i)!r}")
    return out


def test_no_shortcut_collides_with_a_mnemonic_or_another_shortcut(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    mnemonics = window_mnemonics(win)
    actions: dict[str, str] = {}
    problems = []
    for a in win.findChildren(QAction):
        for seq in a.shortcuts():
            s = seq.toString()
            if s in actions and actions[s] != a.text():
                problems.append(f"{s}: window actions {actions[s]!r} and {a.text()!r}")
            actions[s] = a.text()
            if s in mnemonics:
                problems.append(f"{s}: window action {a.text()!r} and {mnemonics[s]}")
    bindings = win.keymap.bindings
    assert len(bindings) > 60 and any(b.modifiers == {"alt"} for b in bindings)
    for b in bindings:
        for s in binding_sequences(b):
            if s in mnemonics:
                problems.append(f"{s}: keymap {b.action!r} ({b.description}) and {mnemonics[s]}")
            if s in actions:
                problems.append(f"{s}: keymap {b.action!r} and window action {actions[s]!r}")
    assert not problems, "\n".join(problems)
    # the checker sees a menu mnemonic when there is one
    m = win.menuBar().addMenu("&Assist again")
    assert window_mnemonics(win)["Alt+A"] == "menu '&Assist again'"
    win.menuBar().removeAction(m.menuAction())


def test_alt_letters_resize_the_box_and_open_no_menu(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    doc = win.session.doc
    tid = next(t for t in doc.track_ids() if doc.track(t).label == "car")
    win.select(tid)
    before = doc.box_at(tid, 0).box.size
    for k in (Qt.Key.Key_A, Qt.Key.Key_F, Qt.Key.Key_R):
        key(qtbot, win, k, Qt.KeyboardModifier.AltModifier)
        assert QApplication.activePopupWidget() is None, f"Alt+{k.name} opened a menu"
    after = doc.box_at(tid, 0).box.size
    assert after[1] == pytest.approx(before[1] - 0.05)  # Alt+A: narrower
    assert after[2] == pytest.approx(before[2])  # Alt+F lower, Alt+R taller
    assert len(win.session.undo) >= 1
    # F10 is the keyboard way into the menus; Esc closes them
    key(qtbot, win, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=2000)
    popup = QApplication.activePopupWidget()
    assert popup is win.menuBar().actions()[0].menu()
    qtbot.keyClick(popup, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=2000)


def test_esc_closes_the_shortcut_table(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    key(qtbot, win, Qt.Key.Key_F1)
    dlg = win._help
    qtbot.waitUntil(lambda: dlg.isActiveWindow(), timeout=2000)
    # Esc goes where the keyboard focus is: the table, not the BEV behind it
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not dlg.isVisible()
    win.show_help()  # again, after it was closed once (what F1 does)
    qtbot.waitUntil(lambda: dlg.isActiveWindow(), timeout=2000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not dlg.isVisible()


def _escape_next_dialog(qtbot, seen: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Press Esc in the next modal dialog once it is shown; its title is appended to ``seen``."""

    def esc() -> None:
        w = QApplication.activeModalWidget()
        if w is None:
            QTimer.singleShot(20, esc)
            return
        seen.append(w.windowTitle())
        qtbot.keyClick(w, Qt.Key.Key_Escape)

    QTimer.singleShot(20, esc)


def test_esc_closes_the_window_dialogs_without_doing_anything(qtbot, scene: Path, tmp_path: Path) -> None:
    from gui.app import Prompter
    from gui.qt.dialogs import choose_track_dialog

    win = open_window(qtbot, scene)
    p = Prompter()
    seen: list[str] = []
    _escape_next_dialog(qtbot, seen)
    assert p.ask_recover(win, tmp_path / "x.recovery.json", 0.0) is None  # keep it, decide nothing
    _escape_next_dialog(qtbot, seen)
    assert p.ask_save_changes(win) == "cancel"
    _escape_next_dialog(qtbot, seen)
    assert choose_track_dialog(win, 0, [1, 2]) is None
    assert len(seen) == 3 and seen[2] == "Merge into track 0"


def test_issue_marker_without_selection_goes_where_the_pointer_is(qtbot, scene: Path) -> None:
    win = open_window(qtbot, scene)
    doc = win.session.doc
    win.review.show(True)
    win.select(None)
    win.review.panel.issue_text.setText("missed cyclist")
    target = win.bev.center + np.array([6.0, 4.0])  # not on the ego (the BEV centre)
    s = win.bev.to_screen(target[None])[0]
    # the pointer arrives and the key follows before any hover event was handled
    QCursor.setPos(win.bev.mapToGlobal(QtCore.QPoint(int(round(s[0])), int(round(s[1])))))
    win.review.pointer_xy = None
    assert win.registry.run("review_issue", win.model)
    (m,) = doc.issue_markers()
    np.testing.assert_allclose(m.position[:2], target, atol=2.0 / win.bev.scale)
    assert np.linalg.norm(np.asarray(m.position[:2]) - win.bev.center) > 5.0


def test_stale_temporary_files_are_removed_when_a_session_opens(qtbot, scene: Path, tmp_path: Path) -> None:
    from gui import persist
    from gui.session import load_session

    s = load_session(scene)
    proj = tmp_path / "annotations.flproj"
    persist.save_project(s, proj)
    s.close()
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)
    stale = tmp_path / f".annotations.flproj.pid{dead}.x1y2z3.tmp"
    live = tmp_path / f".annotations.flproj.recovery.json.pid{os.getpid()}.a1b2c3.tmp"  # a window writing
    for p in (stale, live):
        p.write_bytes(b"{")
        os.utime(p, (1e6, 1e6))
    win = open_window(qtbot, proj, FakePrompter())
    assert win.session is not None
    assert not stale.exists() and live.exists()
