"""A labeling process to be killed: opens a project through the window's own autosave / journal
code, applies edits, prints ``EDITS <n> <sha256 of the document>`` and waits to be killed.

``python tests/gui/journal_child.py headless|window PROJECT N``: ``headless`` uses the session and
recovery store the window uses (gui.session, gui.persist) and pushes N commands (the last two an
undo and a redo); ``window`` runs the real window and types keys on the selected box (nudges and a
rotation, which merge into one undo step per frame, a frame step, an undo and a redo) until N
edits were applied (a key that changes the document counts as one); ``points`` pushes N point-label
edits (a BEV lasso stroke per frame, the last two an undo and a redo) and a box edit, and prints the
digest of the document and of its point labels.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path


def digest(doc) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(json.dumps(doc.to_dict(), sort_keys=True).encode()).hexdigest()


def headless(project: Path, n: int) -> str:
    from fusionlabel.commands import SetKeyframe
    from gui import persist
    from gui.session import load_session

    s = load_session(project)
    store = persist.recovery_store(s, 3600.0)  # no timed autosave: only the journal keeps the edits
    assert store.journal is not None
    tid = s.doc.track_ids()[0]
    frames = len(s)
    for i in range(n - 2):
        b = s.doc.box_at(tid, i % frames)
        assert b is not None
        s.undo.push(SetKeyframe(tid, i % frames, b.box.replace(center=(b.box.center[0] + 0.5, *b.box.center[1:]))))
    s.undo.undo()
    s.undo.redo()
    return digest(s.doc)


def points_digest(labels) -> str:  # type: ignore[no-untyped-def]
    h = hashlib.sha256()
    for f in labels.labelled_frames():
        lab = labels.get(f)
        h.update(b"%d:" % f + lab.semantic.tobytes() + lab.instance.tobytes())
    return h.hexdigest()


def points(project: Path, n: int) -> str:
    from fusionlabel.commands import SetKeyframe
    from fusionlabel.pointlabels.tools import label_mask, lasso_mask
    from gui import persist
    from gui.session import load_session

    s = load_session(project)
    store = persist.recovery_store(s, 3600.0)
    assert store.journal is not None and s.doc.point_labels is not None
    for i in range(n - 2):
        f = i % len(s)
        pts = s.points_at(f)
        c = pts[:, :2].mean(axis=0) + (i, 0)
        square = c + [[-6, -6], [6, -6], [6, 6], [-6, 6]]
        cmd = label_mask(s.doc, f, lasso_mask(pts, square, (-5.0, 50.0)), "static.vegetation" if i % 2 else "noise")
        assert cmd is not None
        s.undo.push(cmd)
    s.undo.undo()
    s.undo.redo()
    tid = s.doc.track_ids()[0]
    b = s.doc.box_at(tid, 0)
    assert b is not None
    s.undo.push(SetKeyframe(tid, 0, b.box.replace(center=(b.box.center[0] + 0.5, *b.box.center[1:]))))
    return f"{digest(s.doc)}:{points_digest(s.doc.point_labels)}"


def window(project: Path, n: int) -> str:
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest
    from PyQt6.QtWidgets import QApplication

    from gui.qt.window import MainWindow
    from tests.gui.gui_support import FakePrompter

    app = QApplication.instance() or QApplication([])
    win = MainWindow(FakePrompter(), autosave_s=3600.0)
    win.resize(1200, 800)
    win.show()
    win.open_path(project)
    while win.session is None:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    win.bev.setFocus()
    win.select(win.session.doc.track_ids()[0])
    changed = [False]
    win.session.doc.subscribe(lambda e: changed.__setitem__(0, True))
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    keys = [(Qt.Key.Key_W, None), (Qt.Key.Key_Right, None), (Qt.Key.Key_W, shift), (Qt.Key.Key_Q, None),
            (Qt.Key.Key_Z, ctrl), (Qt.Key.Key_Z, ctrl | shift), (Qt.Key.Key_D, None), (Qt.Key.Key_A, None)]
    done = 0
    for k, m in keys * n:
        if done == n:
            break
        changed[0] = False
        QTest.keyClick(win.bev, k, Qt.KeyboardModifier.NoModifier if m is None else m)
        app.processEvents()
        done += changed[0]
    assert done == n and win.frame > 0
    return digest(win.session.doc)


def main() -> None:
    mode, project, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    sha = {"headless": headless, "window": window, "points": points}[mode](project, n)
    print(f"EDITS {n} {sha}", flush=True)
    while True:  # wait for SIGKILL: nothing is closed or saved
        time.sleep(1)


if __name__ == "__main__":
    main()
