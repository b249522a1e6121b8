"""Plain input events fed to the interaction tools (no Qt).

The Qt layer converts its mouse and key events into these. Pointer positions are already in the
*view plane* in metres (the tools never see pixels, only ``pixels_per_metre`` for pick
tolerances):

- ``view="bev"``: ``pos_world = (x, y)`` in the ``world`` frame (metres).
- ``view="side"``: ``pos_world = (u, z)``: ``u`` is the coordinate along the **selected box's**
  +x axis (its heading) measured from the box centre, ``z`` the world height (metres). The box
  used is the committed one of the document at the current frame (not a drag preview), so the
  plane stays fixed during a drag. See :func:`fusionlabel.tools.geometry.world_to_view`.
- ``view="front"``: ``pos_world = (u, z)`` with ``u`` along the selected box's +y axis (its left).

Key names are lower-case: letters ``"a"``..``"z"``, digits, ``"left" "right" "up" "down"``,
``"tab" "escape" "delete" "backspace" "space" "enter" "page_up" "page_down" "home" "end"``,
punctuation as the unshifted character (``","`` ``"."``; shift goes into ``modifiers``).
Modifiers are a frozenset of ``"shift"``, ``"ctrl"`` (Command on macOS) and ``"alt"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

POINTER_KINDS = ("press", "move", "release", "double_click", "wheel")
VIEWS = ("bev", "side", "front")
MODIFIERS = frozenset({"shift", "ctrl", "alt"})
BUTTONS = ("left", "right", "middle", "none")


def _modifiers(mods: object) -> frozenset[str]:
    m = frozenset(mods)  # type: ignore[arg-type]
    bad = m - MODIFIERS
    if bad:
        raise ValueError(f"unknown modifier(s) {sorted(bad)}; known: {sorted(MODIFIERS)}")
    return m


@dataclass(frozen=True, slots=True)
class PointerEvent:
    """A mouse/pen event in a view.

    ``kind``: one of ``POINTER_KINDS``. ``pos_world``: (2,) position in the view plane, metres
    (see the module doc for each view). ``button``: the button that was pressed/released
    (``"none"`` for hover moves); tools drag with ``"left"`` only. ``modifiers``: held keys.
    ``pixels_per_metre``: the view's current zoom, used to turn pixel tolerances (handle picking,
    the click-vs-drag threshold) into metres. ``delta``: wheel steps (positive away from the user).
    """

    kind: str
    pos_world: tuple[float, float]
    button: str = "left"
    modifiers: frozenset[str] = field(default_factory=frozenset)
    view: str = "bev"
    pixels_per_metre: float = 20.0
    delta: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in POINTER_KINDS:
            raise ValueError(f"pointer kind must be one of {POINTER_KINDS}, got {self.kind!r}")
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {self.view!r}")
        if self.button not in BUTTONS:
            raise ValueError(f"button must be one of {BUTTONS}, got {self.button!r}")
        pos = tuple(float(v) for v in self.pos_world)
        if len(pos) != 2 or not all(math.isfinite(v) for v in pos):
            raise ValueError(f"pos_world must be 2 finite numbers, got {self.pos_world!r}")
        if not (self.pixels_per_metre > 0 and math.isfinite(self.pixels_per_metre)):
            raise ValueError(f"pixels_per_metre must be positive, got {self.pixels_per_metre!r}")
        object.__setattr__(self, "pos_world", pos)
        object.__setattr__(self, "modifiers", _modifiers(self.modifiers))

    @property
    def shift(self) -> bool:
        return "shift" in self.modifiers

    @property
    def ctrl(self) -> bool:
        return "ctrl" in self.modifiers

    @property
    def alt(self) -> bool:
        return "alt" in self.modifiers

    def metres(self, pixels: float) -> float:
        """A distance of ``pixels`` screen pixels in metres at this view's zoom."""
        return float(pixels) / self.pixels_per_metre


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A key press: lower-case ``key`` name (see the module doc) and held ``modifiers``."""

    key: str
    modifiers: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"key must be a non-empty string, got {self.key!r}")
        object.__setattr__(self, "key", self.key.lower())
        object.__setattr__(self, "modifiers", _modifiers(self.modifiers))
