"""A minimal GL_POINTS point-cloud visual for vispy.

vispy's ``Markers`` computes per-point sprites with antialiased edges; for a labeling view a plain
square point of fixed pixel size is enough and about twice as fast under software GL. The visual
keeps two vertex buffers on the GPU, the full cloud and a decimated one, and switching between
them (level of detail) uploads nothing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from vispy import gloo
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

_VERT = """
attribute vec3 a_position;
attribute vec4 a_color;
uniform float u_size;
varying vec4 v_color;
void main() {
    gl_Position = $transform(vec4(a_position, 1.0));
    gl_PointSize = u_size;
    v_color = a_color;
}
"""

_FRAG = """
varying vec4 v_color;
void main() {
    gl_FragColor = v_color;
}
"""


class PointCloudVisual(Visual):
    """Points (N, 3) float32 (scene units: metres) with (N, 4) float32 RGBA colours in [0, 1],
    drawn as ``size`` px squares; ``set_lod(True)`` draws the decimated subset instead."""

    def __init__(self, size: float = 2.0, lod_size: float = 3.0) -> None:
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._draw_mode = "points"
        self.set_gl_state("opaque", depth_test=True)
        self.size, self.lod_size = float(size), float(lod_size)
        empty3 = np.zeros((1, 3), np.float32)
        empty4 = np.zeros((1, 4), np.float32)
        self._full = (gloo.VertexBuffer(empty3), gloo.VertexBuffer(empty4))
        self._lod = (gloo.VertexBuffer(empty3), gloo.VertexBuffer(empty4))
        self._n_full = self._n_lod = 0
        self._use_lod = False
        self._bind()

    @property
    def count(self) -> int:
        """Number of points drawn now."""
        return self._n_lod if self._use_lod else self._n_full

    @property
    def lod(self) -> bool:
        return self._use_lod

    def set_data(
        self,
        pos: NDArray[np.floating],
        color: NDArray[np.floating],
        lod_index: NDArray[np.integer] | None = None,
    ) -> None:
        """Upload the cloud (pos (N, 3), color (N, 4)) and its decimated subset ``lod_index``
        (indices into it; default every 4th point)."""
        pos = np.ascontiguousarray(pos, dtype=np.float32)
        color = np.ascontiguousarray(color, dtype=np.float32)
        if len(pos) == 0:
            pos, color = np.zeros((1, 3), np.float32), np.zeros((1, 4), np.float32)
            self._n_full = 0
        else:
            self._n_full = len(pos)
        if lod_index is None:
            lod_index = np.arange(0, len(pos), 4)
        self._full[0].set_data(pos)
        self._full[1].set_data(color)
        lp, lc = pos[lod_index], color[lod_index]
        if len(lp) == 0:
            lp, lc = pos[:1], color[:1] * 0
        self._lod[0].set_data(np.ascontiguousarray(lp))
        self._lod[1].set_data(np.ascontiguousarray(lc))
        self._n_lod = len(lod_index) if self._n_full else 0
        self._bind()
        self.update()

    def set_lod(self, on: bool) -> None:
        """Draw the decimated subset (True) or the full cloud (False)."""
        if on != self._use_lod:
            self._use_lod = on
            self._bind()
            self.update()

    def _bind(self) -> None:
        pos, col = self._lod if self._use_lod else self._full
        self.shared_program["a_position"] = pos
        self.shared_program["a_color"] = col
        self.shared_program["u_size"] = self.lod_size if self._use_lod else self.size

    def _prepare_transforms(self, view) -> None:  # type: ignore[no-untyped-def]
        view.view_program.vert["transform"] = view.get_transform()

    def _prepare_draw(self, view) -> bool:  # type: ignore[no-untyped-def]
        return self.count > 0


PointCloud = create_visual_node(PointCloudVisual)
