"""The menu bar generated from the action registry (:mod:`gui.model.actions`): one ``QAction``
per action with a menu entry, in registry order; each runs ``registry.run(id, model)``."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QMainWindow, QMenu

from gui.model.actions import ActionRegistry


def build_menus(win: QMainWindow, registry: ActionRegistry, model: Any) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """Fill ``win``'s menu bar from ``registry``; returns the ``QAction`` of every action with a
    menu entry (by id) and the menus (by path). An action with the window's own ``shortcuts``
    gets them as window-wide ``QAction`` shortcuts; one with keymap keys shows its first key in
    the menu (the key itself reaches the tools' controller)."""
    bar = win.menuBar()
    menus: dict[str, QMenu] = {}

    def menu_for(path: str) -> QMenu:
        if path not in menus:
            parent, _, name = path.rpartition("/")
            menus[path] = menu_for(parent).addMenu(name) if parent else bar.addMenu(path)
        return menus[path]

    actions: dict[str, QAction] = {}
    for a in registry:
        if not a.menu:
            continue
        m = menu_for(a.menu)
        if a.separator:
            m.addSeparator()
        qa = QAction(a.title, win)
        if a.shortcuts:
            qa.setShortcuts([QKeySequence(k) for k in a.shortcuts])
            qa.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        elif registry.shown_key(a.id):
            qa.setText(f"{a.title}\t{registry.shown_key(a.id)}")
        qa.triggered.connect(lambda _=False, i=a.id: registry.run(i, model))
        m.addAction(qa)
        win.addAction(qa)
        actions[a.id] = qa
    return actions, menus
