"""What the views draw, as plain data (no Qt, no vispy): :class:`Shape` (a polyline or polygon of
the 2D views: BEV, side, front) and :class:`BoxGlyph` (a box of the 3D view).

The window and its satellites build these; ``gui.ortho.OrthoView`` paints shapes and
``gui.render.view3d.View3D`` draws glyphs (both modules re-export the classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Shape:
    """A polyline/polygon in plane metres: ``points`` (K, 2); ``color`` RGB 0-255; ``width`` px;
    ``closed``; ``dashed``; ``fill_alpha`` (0 = no fill); ``text`` drawn at the first point;
    ``key`` identifies what it is (e.g. a track id) for hit tests; ``dotted`` (machine proposals);
    ``dash_dot`` (boxes found by auto-tracking); ``opacity`` in [0, 1] of the line (a tracked box's
    confidence)."""

    points: F64
    color: tuple[int, int, int]
    width: float = 1.5
    closed: bool = True
    dashed: bool = False
    fill_alpha: int = 0
    text: str = ""
    key: object = None
    dotted: bool = False
    dash_dot: bool = False
    opacity: float = 1.0


@dataclass(frozen=True)
class BoxGlyph:
    """One box to draw in 3D: ``corners`` (8, 3) world metres in ``CORNER_SIGNS`` order, ``color``
    RGBA floats, ``keyframe`` (False: interpolated, drawn dashed), ``selected``, ``text`` (label);
    ``tracked`` (found by auto-tracking: short dashes) with its ``confidence`` (the opacity)."""

    corners: F64
    color: tuple[float, float, float, float]
    keyframe: bool = True
    selected: bool = False
    text: str = ""
    tracked: bool = False
    confidence: float | None = None
