"""Qt key presses as the tools' :class:`~fusionlabel.tools.KeyEvent`, and the cursor shapes of the
tools' hover hints."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeyEvent

from fusionlabel.tools import KeyEvent
from gui.ortho import modifier_names

# ---- key conversion ------------------------------------------------------------------------------
_KEY_NAMES = {
    Qt.Key.Key_Left: "left", Qt.Key.Key_Right: "right", Qt.Key.Key_Up: "up", Qt.Key.Key_Down: "down",
    Qt.Key.Key_Tab: "tab", Qt.Key.Key_Backtab: "tab", Qt.Key.Key_Escape: "escape", Qt.Key.Key_Delete: "delete",
    Qt.Key.Key_Backspace: "backspace", Qt.Key.Key_Space: "space", Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter", Qt.Key.Key_PageUp: "page_up", Qt.Key.Key_PageDown: "page_down",
    Qt.Key.Key_Home: "home", Qt.Key.Key_End: "end", Qt.Key.Key_Comma: ",", Qt.Key.Key_Period: ".",
    Qt.Key.Key_Less: ",", Qt.Key.Key_Greater: ".",
}


def key_event_from_qt(e: QKeyEvent) -> KeyEvent | None:
    """A Qt key press as the tools' :class:`KeyEvent` (lower-case unshifted key name, modifiers),
    or None for keys the tools do not know (function keys, bare modifiers...)."""
    k = e.key()
    name = _KEY_NAMES.get(Qt.Key(k))
    if name is None:
        if Qt.Key.Key_A.value <= k <= Qt.Key.Key_Z.value:
            name = chr(k).lower()
        elif Qt.Key.Key_0.value <= k <= Qt.Key.Key_9.value:
            name = chr(k)
        else:
            return None
    mods = set(modifier_names(e.modifiers()))
    if k == Qt.Key.Key_Backtab:
        mods.add("shift")
    return KeyEvent(name, frozenset(mods))


CURSORS = {
    "move": Qt.CursorShape.SizeAllCursor,
    "rotate": Qt.CursorShape.PointingHandCursor,
    "crosshair": Qt.CursorShape.CrossCursor,
}
