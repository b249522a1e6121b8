"""The window's state as a Qt-free evented model (no PyQt6, no vispy, no OpenGL; nothing from the
Qt or render parts of ``gui``): :class:`ViewerModel` with :class:`ViewOptions`, :class:`Progress`
and :class:`StatusMessage`; the annotation layers (:mod:`gui.model.layers`); :class:`Evented` /
:class:`Field` for evented state. See docs/architecture.md "The window's layers" and
"Annotation layers"."""

from gui.model.evented import Evented, Field
from gui.model.layers import (
    CuboidLayer,
    Layer,
    LayerList,
    PointLabelLayer,
    PolygonLayer,
    PolylineLayer,
)
from gui.model.viewer import (
    MAX_ACCUMULATE,
    Progress,
    ProgressState,
    StatusMessage,
    ViewerModel,
    ViewOptions,
)

__all__ = [
    "CuboidLayer",
    "Layer",
    "LayerList",
    "PointLabelLayer",
    "PolygonLayer",
    "PolylineLayer",
    "MAX_ACCUMULATE",
    "Evented",
    "Field",
    "Progress",
    "ProgressState",
    "StatusMessage",
    "ViewOptions",
    "ViewerModel",
]
