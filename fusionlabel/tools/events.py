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
- ``view="camera"``: a camera panel. ``camera`` names the camera (a rig sensor name) and
  ``pos_px = (u, v)`` is the position in that camera's image in pixels (the convention of
  :mod:`calib.camera`: pixel centres at integers), whatever the panel's zoom; ``pos_world`` is
  unused (leave it at (0, 0)).
- ``view="3d"``: the 3D view. ``ray_origin`` (3,) and ``ray_direction`` (3,) (unit length after
  construction) are the viewing ray under the pointer in the ``world`` frame (metres) and
  ``pos_px`` the pointer's position on the canvas (pixels, for the click-vs-drag threshold);
  ``pos_world`` is unused.

The tools of the plane views (``PLANE_VIEWS``) ignore the camera and 3D views; the controller
hands those to their own tools (docs/tools.md).

Key names are lower-case: letters ``"a"``..``"z"``, digits, ``"left" "right" "up" "down"``,
``"tab" "escape" "delete" "backspace" "space" "enter" "page_up" "page_down" "home" "end"``,
punctuation as the unshifted character (``","`` ``"."``; shift goes into ``modifiers``).
Modifiers are a frozenset of ``"shift"``, ``"ctrl"`` (Command on macOS) and ``"alt"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

POINTER_KINDS = ("press", "move", "release", "double_click", "wheel")
#: Views whose pointer position is a view-plane position in metres (``pos_world``).
PLANE_VIEWS = ("bev", "side", "front")
VIEWS = (*PLANE_VIEWS, "camera", "3d")
MODIFIERS = frozenset({"shift", "ctrl", "alt"})
BUTTONS = ("left", "right", "middle", "none")


def _modifiers(mods: object) -> frozenset[str]:
    m = frozenset(mods)  # type: ignore[arg-type]
    bad = m - MODIFIERS
    if bad:
        raise ValueError(f"unknown modifier(s) {sorted(bad)}; known: {sorted(MODIFIERS)}")
    return m


def _finite(values: object, n: int, name: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {n} finite numbers, got {values!r}") from None
    if len(out) != n or not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name} must be {n} finite numbers, got {values!r}")
    return out


@dataclass(frozen=True, slots=True)
class PointerEvent:
    """A mouse/pen event in a view.

    ``kind``: one of ``POINTER_KINDS``. ``pos_world``: (2,) position in the view plane, metres
    (see the module doc for each view). ``button``: the button that was pressed/released
    (``"none"`` for hover moves); tools drag with ``"left"`` only. ``modifiers``: held keys.
    ``pixels_per_metre``: the view's current zoom, used to turn pixel tolerances (handle picking,
    the click-vs-drag threshold) into metres. ``delta``: wheel steps (positive away from the user).
    ``pos_px``, ``camera``, ``ray_origin``, ``ray_direction``: the camera and 3D views (module doc);
    build those events with :meth:`in_camera` and :meth:`in_3d`.
    """

    kind: str
    pos_world: tuple[float, float] = (0.0, 0.0)
    button: str = "left"
    modifiers: frozenset[str] = field(default_factory=frozenset)
    view: str = "bev"
    pixels_per_metre: float = 20.0
    delta: float = 0.0
    pos_px: tuple[float, float] | None = None
    camera: str | None = None
    ray_origin: tuple[float, float, float] | None = None
    ray_direction: tuple[float, float, float] | None = None

    @classmethod
    def in_camera(cls, kind: str, camera: str, pos_px: tuple[float, float], button: str = "left",
                  modifiers: frozenset[str] | set[str] = frozenset()) -> PointerEvent:
        """An event at pixel ``pos_px`` (u, v) of camera ``camera``'s image."""
        return cls(kind, button=button, modifiers=frozenset(modifiers), view="camera", pos_px=pos_px, camera=camera)

    @classmethod
    def in_3d(cls, kind: str, ray_origin: Sequence[float], ray_direction: Sequence[float],
              pos_px: tuple[float, float], button: str = "left",
              modifiers: frozenset[str] | set[str] = frozenset()) -> PointerEvent:
        """An event of the 3D view: the world-frame viewing ray under the pointer and its canvas
        position (pixels)."""
        return cls(kind, button=button, modifiers=frozenset(modifiers), view="3d", pos_px=pos_px,
                   ray_origin=tuple(ray_origin), ray_direction=tuple(ray_direction))  # type: ignore[arg-type]

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
        if self.pos_px is not None:
            object.__setattr__(self, "pos_px", _finite(self.pos_px, 2, "pos_px"))
        if self.view in ("camera", "3d") and self.pos_px is None:
            raise ValueError(f"a {self.view!r} event needs pos_px (pixels)")
        if self.view == "camera" and not (isinstance(self.camera, str) and self.camera):
            raise ValueError(f"a 'camera' event needs the camera's name, got {self.camera!r}")
        if self.view == "3d":
            if self.ray_origin is None or self.ray_direction is None:
                raise ValueError("a '3d' event needs ray_origin and ray_direction (world frame)")
            o = _finite(self.ray_origin, 3, "ray_origin")
            d = _finite(self.ray_direction, 3, "ray_direction")
            n = math.sqrt(sum(v * v for v in d))
            if n < 1e-12:
                raise ValueError("ray_direction must not be zero")
            object.__setattr__(self, "ray_origin", o)
            object.__setattr__(self, "ray_direction", tuple(v / n for v in d))

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
