"""The window's small dialogs (Qt): the merge dialog of the track operations."""

from __future__ import annotations

from PyQt6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QWidget


def choose_track_dialog(parent: QWidget, keep_id: int, ids: list[int]) -> tuple[int, bool] | None:
    """Ask which track to merge into ``keep_id`` and whether to interpolate across the frames
    between them (bridge) instead of marking them a gap."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(f"Merge into track {keep_id}")
    form = QFormLayout(dlg)
    box = QComboBox(dlg)
    box.addItems([str(i) for i in ids])
    form.addRow("Track to merge", box)
    bridge = QCheckBox("interpolate across the frames between them (else: a gap)", dlg)
    form.addRow(bridge)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dlg)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    form.addRow(buttons)
    if dlg.exec() != QDialog.DialogCode.Accepted or not ids:
        return None
    return int(box.currentText()), bridge.isChecked()
