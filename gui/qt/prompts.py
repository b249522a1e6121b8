"""The window's questions to the user (Qt dialogs), in one replaceable object: tests pass a
:class:`Prompter` subclass with canned answers."""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6.QtWidgets import QFileDialog, QMessageBox, QWidget

APP_NAME = "FusionLabel"


# ---- prompts (replaceable in tests) ---------------------------------------------------------------
class Prompter:
    """Every question the window asks the user. Tests pass a subclass with canned answers."""

    def ask_save_changes(self, parent: QWidget) -> str:
        """'save', 'discard' or 'cancel' for unsaved changes on quit/open."""
        r = QMessageBox.question(
            parent,
            APP_NAME,
            "The annotations have unsaved changes. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(r, "cancel")

    def ask_recover(self, parent: QWidget, path: Path, when: float) -> bool | None:
        """Restore the autosaved recovery copy ``path`` (written at ``when``, epoch seconds)?
        True: restore; False: discard it; None: keep it (moved aside, see
        :meth:`gui.qt.saving.ProjectKeeper.offer_recovery`) and open without it."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        box = QMessageBox(parent)
        box.setWindowTitle(APP_NAME)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(f"FusionLabel did not close properly. A recovery copy of your annotations from {stamp} "
                    f"exists:\n{path}\n\nRestore it?")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard it", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Not now (keep it)", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.setEscapeButton(keep)  # Esc: keep it for later, decide nothing
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is restore else False if clicked is discard else None

    def error(self, parent: QWidget, title: str, text: str) -> None:
        QMessageBox.critical(parent, title, text)

    def save_path(self, parent: QWidget, suggested: Path) -> Path | None:
        p, _ = QFileDialog.getSaveFileName(parent, "Save annotations", str(suggested),
                                           "FusionLabel projects (*.flproj);;JSON (*.json)")
        return Path(p) if p else None

    def open_path(self, parent: QWidget) -> Path | None:
        """A sequence folder (or, after cancelling that, a project file)."""
        p = QFileDialog.getExistingDirectory(parent, "Open a sequence folder (cancel: open a project file)")
        if not p:
            p, _ = QFileDialog.getOpenFileName(parent, "Open a project", "", "FusionLabel projects (*.flproj *.json)")
        return Path(p) if p else None
