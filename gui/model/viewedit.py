"""Drawing data of the camera-box gesture, Qt-free: :class:`ImageRectLayer` draws the rectangle of
a drag in progress (:class:`fusionlabel.tools.imagebox.ImageRect`, image pixels) in the camera panel
it belongs to (``gui.qt.viewedit`` binds it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fusionlabel.tools.imagebox import ImageRect
from gui.model.camproj import CameraView, LineGroup
from gui.model.layers import Layer

#: Pen of the rectangle being dragged: RGB 0-255, width px, pattern.
RECT_PEN = ((255, 220, 60), 2.0, "dash")


class ImageRectLayer(Layer):
    """The rectangle of a camera-box drag (``rect``: an :class:`ImageRect` or None), drawn as a
    closed dashed polyline in image pixels of the camera it names; nothing elsewhere."""

    kind = "image_rect"

    def __init__(self, name: str = "image_rect", **values: Any) -> None:
        super().__init__(name=name, **values)
        self._rect: ImageRect | None = None

    @property
    def rect(self) -> ImageRect | None:
        return self._rect

    def set_rect(self, rect: ImageRect | None) -> bool:
        """Show ``rect`` (None: none); True when that changed what is drawn."""
        if rect == self._rect:
            return False
        self._rect = rect
        self._data_changed()
        return True

    def camera_lines(self, view: CameraView) -> list[LineGroup]:
        r = self._rect
        if r is None or r.camera != view.name:
            return []
        u0, v0, u1, v1 = r.rect
        poly = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1], [u0, v0]], dtype=np.float64)
        color, width, pattern = RECT_PEN
        return [LineGroup(self._alpha(color), width, pattern, (poly,))]
