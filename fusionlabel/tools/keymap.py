"""The keyboard map: which key does what. The GUI shows :meth:`Keymap.help_rows` in its
shortcut dialog and feeds :class:`~fusionlabel.tools.events.KeyEvent` objects to the
:class:`~fusionlabel.tools.controller.ToolController`, which looks them up here.

Bindings match the key and the **exact** set of modifiers. ``shift`` selects the large step of
the step-sized actions (nudge, rotate, resize, frame step); see :class:`Steps`. The table is
documented in ``docs/tools.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from fusionlabel.tools.events import KeyEvent


@dataclass(frozen=True, slots=True)
class Steps:
    """Step sizes of the keyboard edits: small (plain key) and large (with shift)."""

    move: float = 0.05  # metres
    move_large: float = 0.5
    rotate: float = math.radians(1.0)  # radians
    rotate_large: float = math.radians(10.0)
    size: float = 0.05  # metres
    size_large: float = 0.5
    frames: int = 1
    frames_large: int = 10


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """``key`` + exact ``modifiers`` -> ``action`` with ``args`` (unit directions for the
    step-sized actions); ``large`` picks the large step; ``group`` and ``description`` are for
    the help dialog."""

    key: str
    modifiers: frozenset[str]
    action: str
    description: str
    group: str
    args: tuple[float, ...] = ()
    large: bool = False

    @property
    def shortcut(self) -> str:
        """Human-readable shortcut, e.g. ``"Ctrl+Shift+Z"``."""
        parts = [m.capitalize() for m in ("ctrl", "alt", "shift") if m in self.modifiers]
        return "+".join([*parts, _KEY_TEXT.get(self.key, self.key.upper())])


_KEY_TEXT = {
    "left": "Left", "right": "Right", "up": "Up", "down": "Down", "tab": "Tab", "escape": "Esc",
    "delete": "Delete", "backspace": "Backspace", "page_up": "PgUp", "page_down": "PgDown",
    "home": "Home", "end": "End", "space": "Space", "enter": "Enter", ",": ",", ".": ".",
}

#: Actions that the controller does not perform itself but hands to the application (they need
#: what only the application has: other frames' points, the proposal review queue, dialogs).
APP_ACTIONS = frozenset({
    "save",
    # tracks (docs/tools.md "Tracks")
    "make_keyframe", "copy_to_this_frame", "propagate_all",
    "flip_track", "resize_track", "end_track", "extend_track",
    # auto-tracking in the background and its review queue (docs/tools.md "Tracks")
    "auto_track", "auto_track_all", "next_tracked_review", "previous_tracked_review",
    # pre-label proposals (docs/tools.md "Proposals")
    "accept_proposal", "reject_proposal", "relabel_proposal", "next_proposal", "previous_proposal",
    "accept_above_threshold", "reject_rest",
    # the camera box tool: a view option of the window (docs/tools.md "Camera panels")
    "camera_box",
})

# ---- review mode (the window's gui/review.py performs these) ----
#: Review actions, handed to the application like ``save``.
REVIEW_ACTIONS = frozenset({"review_accept", "review_reject", "review_accept_frame", "review_next",
                            "review_previous", "review_issue"})
APP_ACTIONS = APP_ACTIONS | REVIEW_ACTIONS


def _b(key: str, mods: Iterable[str], action: str, description: str, group: str,
       args: tuple[float, ...] = (), large: bool = False) -> KeyBinding:
    return KeyBinding(key, frozenset(mods), action, description, group, args, large)


def _stepped(key: str, mods: tuple[str, ...], action: str, what: str, group: str,
             args: tuple[float, ...]) -> list[KeyBinding]:
    return [
        _b(key, mods, action, what, group, args),
        _b(key, (*mods, "shift"), action, f"{what} (large step)", group, args, large=True),
    ]


def default_bindings() -> list[KeyBinding]:
    """The default key table (see docs/tools.md)."""
    out: list[KeyBinding] = []
    nav = "Navigation"
    for key in ("right", ".", "page_down"):
        out += _stepped(key, (), "frame_step", "Next frame", nav, (1,))
    for key in ("left", ",", "page_up"):
        out += _stepped(key, (), "frame_step", "Previous frame", nav, (-1,))
    out += [
        _b("home", (), "frame_first", "First frame", nav),
        _b("end", (), "frame_last", "Last frame", nav),
        _b("tab", (), "select_next", "Select the next box of this frame", nav, (1,)),
        _b("tab", ("shift",), "select_next", "Select the previous box of this frame", nav, (-1,)),
        _b("escape", (), "escape", "Cancel the drag, else deselect", nav),
    ]
    ed = "Boxes"
    out += [
        _b("n", (), "create_at_cursor", "New box of the current class at the pointer (BEV)", ed),
        _b("delete", (), "delete_box", "Delete the box at this frame (its keyframe; the track if only one)", ed),
        _b("backspace", (), "delete_box", "Delete the box at this frame", ed),
        _b("delete", ("shift",), "delete_track", "Delete the whole track (all frames)", ed),
        _b("backspace", ("shift",), "delete_track", "Delete the whole track (all frames)", ed),
        _b("c", (), "copy_to_next_frame", "Copy the box to the next frame and go there", ed),
        _b("v", (), "tool_edit", "Select / edit tool", ed),
        _b("b", (), "tool_create", "Create tool (drag rear to front; shift: corner to corner)", ed),
        _b("g", (), "tool_oneclick", "One-click box tool (click an object's points)", ed),
        _b("b", ("shift",), "camera_box",
           "Camera box tool on / off: drag a rectangle over an object in a camera panel (a box from its LiDAR points)",
           ed),
        _b("g", ("shift",), "tool_oneclick_held",
           "One-click box tool held on: box after box (V or Esc with nothing selected leaves it)", ed),
    ]
    tr = "Tracks"
    out += [
        _b("k", (), "make_keyframe", "Make the interpolated box here a keyframe", tr),
        _b("c", ("shift",), "copy_to_this_frame",
           "Bring the selected track's nearest box to this frame (motion-predicted, fitted to the points)", tr),
        _b("c", ("alt",), "propagate_all", "Propagate all boxes to the next frame and go there", tr),
        _b("h", (), "flip_track", "Flip the selected track's heading by 180 degrees (every frame)", tr),
        _b("u", (), "resize_track", "One size for the whole track (estimated from the frames it is seen best)", tr),
        _b("end", ("ctrl",), "end_track", "End the selected track at this frame", tr),
        _b("end", ("ctrl", "shift"), "extend_track", "Continue the selected track to the end of the sequence", tr),
        _b("t", (), "auto_track", "Auto-track the selected track through the sequence (background; one undo step)", tr),
        _b("t", ("shift",), "auto_track_all", "Auto-track every track with a keyframe (background; one undo step)", tr),
        _b("i", (), "next_tracked_review", "Next low-confidence tracked box to check (after auto-tracking)", tr),
        _b("i", ("shift",), "previous_tracked_review", "Previous low-confidence tracked box to check", tr),
    ]
    pr = "Proposals"
    out += [
        _b("y", (), "accept_proposal", "Accept the current pre-label proposal: its whole track", pr),
        _b("y", ("shift",), "accept_above_threshold",
           "Accept every proposal at or above the review threshold (one undoable step)", pr),
        _b("x", (), "reject_proposal", "Reject the current proposal", pr),
        _b("x", ("shift",), "reject_rest",
           "Reject the current proposal and every one after it in the review queue (one undoable step)", pr),
        _b("l", (), "relabel_proposal", "Give the current proposal the class chosen for new boxes", pr),
        _b("j", (), "next_proposal", "Next proposal in the review queue (highest confidence first)", pr),
        _b("j", ("shift",), "previous_proposal", "Previous proposal in the review queue", pr),
    ]
    mv = "Nudge (box frame)"
    for key, what, d in (
        ("w", "Move forward", (1, 0, 0)), ("s", "Move backward", (-1, 0, 0)),
        ("a", "Move left", (0, 1, 0)), ("d", "Move right", (0, -1, 0)),
        ("r", "Move up", (0, 0, 1)), ("f", "Move down", (0, 0, -1)),
    ):
        out += _stepped(key, (), "nudge", what, mv, d)
    out += _stepped("q", (), "rotate", "Rotate counter-clockwise", mv, (1,))
    out += _stepped("e", (), "rotate", "Rotate clockwise", mv, (-1,))
    sz = "Resize (symmetric)"
    for key, what, d in (
        ("w", "Longer", (1, 0, 0)), ("s", "Shorter", (-1, 0, 0)),
        ("d", "Wider", (0, 1, 0)), ("a", "Narrower", (0, -1, 0)),
        ("r", "Taller", (0, 0, 1)), ("f", "Lower", (0, 0, -1)),
    ):
        out += _stepped(key, ("alt",), "resize", what, sz, d)
    gen = "General"
    out += [
        _b("z", ("ctrl",), "undo", "Undo", gen),
        _b("z", ("ctrl", "shift"), "redo", "Redo", gen),
        _b("y", ("ctrl",), "redo", "Redo", gen),
        _b("s", ("ctrl",), "save", "Save the project", gen),
    ]
    out += review_bindings()
    return out


def review_bindings() -> list[KeyBinding]:
    """Review mode keys (QA: accept / reject, review queue, issue markers)."""
    rv = "Review"
    return [
        _b("enter", ("ctrl",), "review_accept", "Accept the selected box", rv),
        _b("backspace", ("ctrl",), "review_reject", "Reject the selected box (with the Review panel's comment)", rv),
        _b("enter", ("ctrl", "shift"), "review_accept_frame", "Accept the current frame", rv),
        _b("j", ("ctrl",), "review_next", "Next box / frame to review (Review panel's filter)", rv),
        _b("j", ("ctrl", "shift"), "review_previous", "Previous box / frame to review", rv),
        _b("i", ("ctrl",), "review_issue", "Issue marker at the BEV pointer (Review panel's text)", rv),
    ]


@dataclass
class Keymap:
    """A lookup table of :class:`KeyBinding` (each key + modifier set bound at most once)."""

    bindings: list[KeyBinding] = field(default_factory=default_bindings)

    def __post_init__(self) -> None:
        self._index: dict[tuple[str, frozenset[str]], KeyBinding] = {}
        for b in self.bindings:
            k = (b.key, b.modifiers)
            if k in self._index:
                raise ValueError(f"{b.shortcut} is bound twice ({self._index[k].action} and {b.action})")
            self._index[k] = b

    @classmethod
    def default(cls) -> Keymap:
        return cls()

    def lookup(self, ev: KeyEvent) -> KeyBinding | None:
        """The binding of a key event, or None."""
        return self._index.get((ev.key, ev.modifiers))

    def help_rows(self) -> list[tuple[str, str, str]]:
        """(group, shortcut, description) rows for a help dialog, in table order."""
        return [(b.group, b.shortcut, b.description) for b in self.bindings]

    def shortcuts_for(self, action: str) -> list[str]:
        """Shortcut texts bound to ``action`` (e.g. for menu entries)."""
        return [b.shortcut for b in self.bindings if b.action == action]
