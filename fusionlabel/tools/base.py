"""The tool protocol: a state machine fed :class:`PointerEvent` / :class:`KeyEvent` objects."""

from __future__ import annotations

import math

from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import KeyEvent, PointerEvent
from fusionlabel.tools.handles import DRAG_THRESHOLD_PX


class Tool:
    """Base class of the interaction tools.

    ``on_pointer`` / ``on_key`` return True when the tool consumed the event (the GUI then does
    not use it for camera navigation). A tool changes the document only by pushing commands on
    ``ctx.stack``; while dragging it shows the dragged box through ``ctx.set_preview`` and pushes
    exactly one command on release (none when nothing changed). ``cancel()`` ends a drag and
    restores the original (the preview is dropped; the document was never touched).
    """

    name = "tool"

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    @property
    def dragging(self) -> bool:
        """True between a press that started a gesture and its release or cancel."""
        return False

    def on_pointer(self, ev: PointerEvent) -> bool:
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        """Escape during a gesture cancels it; other keys are left to the keymap."""
        if ev.key == "escape" and self.dragging:
            return self.cancel()
        return False

    def cancel(self) -> bool:
        """Abort the current gesture (if any); True when there was one."""
        return False

    def cursor(self, ev: PointerEvent) -> str:
        """A cursor-shape hint for a hover at ``ev``: ``"default"``, ``"move"``, ``"rotate"``,
        ``"crosshair"`` or ``"resize:<handle name>"``."""
        return "default"


def moved_beyond_threshold(a: tuple[float, float], b: tuple[float, float], ev: PointerEvent) -> bool:
    """True when ``a`` and ``b`` (view plane, metres) are at least the drag threshold apart."""
    return math.hypot(b[0] - a[0], b[1] - a[1]) >= ev.metres(DRAG_THRESHOLD_PX)
