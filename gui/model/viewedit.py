"""Drawing data of the 3D-view and camera-panel gestures, Qt-free (``gui.qt.viewedit`` binds them):
:class:`ImageRectLayer` draws the rectangle of a camera-box drag in progress
(:class:`fusionlabel.tools.imagebox.ImageRect`, image pixels) in the camera panel it belongs to;
:class:`RotateHandleLayer` draws the selected box's rotation handle in the 3D view."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.tools.edit3d import HANDLE_RADIUS, rotate_handle_3d
from fusionlabel.tools.imagebox import ImageRect
from gui.model.camproj import CameraView, LineGroup
from gui.model.layers import Layer, Segments3D

#: Pen of the rectangle being dragged: RGB 0-255, width px, pattern.
RECT_PEN = ((255, 220, 60), 2.0, "dash")


class OneValueLayer(Layer):
    """A layer that draws one ``value`` (None: nothing); :meth:`set_value` changes it. The name
    defaults to the class's ``kind``."""

    def __init__(self, name: str | None = None, **values: Any) -> None:
        super().__init__(name=name or self.kind, **values)
        self._value: Any = None

    @property
    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> bool:
        """Draw ``value``; True when that changed what is drawn (``events.data`` then emitted)."""
        if value == self._value:
            return False
        self._value = value
        self._data_changed()
        return True


class ImageRectLayer(OneValueLayer):
    """The rectangle of a camera-box drag (``value``: an :class:`ImageRect` or None), drawn as a
    closed dashed polyline in image pixels of the camera it names; nothing elsewhere."""

    kind = "image_rect"

    def camera_lines(self, view: CameraView) -> list[LineGroup]:
        r: ImageRect | None = self.value
        if r is None or r.camera != view.name:
            return []
        u0, v0, u1, v1 = r.rect
        poly = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1], [u0, v0]], dtype=np.float64)
        color, width, pattern = RECT_PEN
        return [LineGroup(self._alpha(color), width, pattern, (poly,))]


class RotateHandleLayer(OneValueLayer):
    """The 3D view's rotation handle of the selected box (``value``: a world-frame Box3D; None:
    none): a
    line from the top of the front face to :func:`~fusionlabel.tools.edit3d.rotate_handle_3d` and
    a diamond of ``HANDLE_RADIUS`` there, in the selected pen (white, 3 px)."""

    kind = "rotate_handle"

    def segments_3d(self) -> Segments3D:
        b: Box3D | None = self.value
        if b is None:
            return Segments3D()
        h = rotate_handle_3d(b)
        c, s = math.cos(b.yaw), math.sin(b.yaw)
        front = np.array([b.center[0] + c * b.length / 2, b.center[1] + s * b.length / 2, h[2]])
        r = HANDLE_RADIUS
        ring = [h + r * np.array([math.cos(a), math.sin(a), 0.0]) for a in b.yaw + np.arange(4) * math.pi / 2]
        segs = [front, h] + [p for k in range(4) for p in (ring[k], ring[(k + 1) % 4])]
        pos = np.asarray(segs, dtype=np.float32)
        col = np.tile(np.array([1.0, 1.0, 1.0, self.opacity], np.float32), (len(pos), 1))
        return Segments3D({"sel": (pos, col)})
