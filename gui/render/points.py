"""A minimal GL_POINTS point-cloud visual for vispy.

vispy's ``Markers`` computes per-point sprites with antialiased edges; for a labeling view a plain
square point of fixed pixel size is enough and about twice as fast under software GL. The visual
keeps two vertex buffers on the GPU, the full cloud and a decimated one, and switching between
them (level of detail) uploads nothing. A colour is uploaded as one float (4 bytes a point): its 8-bit
red, green and blue as the integer ``r + 256 g + 65536 b`` (exact in float32), unpacked by the
vertex shader (GLSL 1.20 has no bit casts, and vispy declares attributes by their shader type).

Big clouds are drawn in chunks of :data:`DRAW_CHUNK` points with a ``glFinish`` after each: Mesa's
llvmpipe bins a whole draw call into scenes (about 100 bytes a point, up to four scenes of 36 MB
in flight) and keeps their memory once drawn; one draw of 1M points left some 100 MB more resident,
chunks of 64k points about 15 MB (the same pixels, no slower on 2 cores: the rasteriser threads
and the binning did not overlap much anyway).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from vispy import gloo
from vispy.gloo.context import get_current_canvas
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

_VERT = """
attribute vec3 a_position;
attribute float a_color;
uniform float u_size;
varying vec4 v_color;
void main() {
    gl_Position = $transform(vec4(a_position, 1.0));
    gl_PointSize = u_size;
    float b = floor(a_color / 65536.0);
    float g = floor((a_color - b * 65536.0) / 256.0);
    float r = a_color - b * 65536.0 - g * 256.0;
    v_color = vec4(r, g, b, 255.0) / 255.0;
}
"""

_FRAG = """
varying vec4 v_color;
void main() {
    gl_FragColor = v_color;
}
"""


#: Points per draw call of a big cloud (each followed by a ``glFinish``: module docstring).
DRAW_CHUNK = 65536


class PointCloudVisual(Visual):
    """Points (N, 3) float32 (scene units: metres) with (N, 4) RGBA colours (float in [0, 1] or
    uint8), drawn as ``size`` px squares; ``set_lod(True)`` draws the decimated subset instead."""

    def __init__(self, size: float = 2.0, lod_size: float = 3.0) -> None:
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._draw_mode = "points"
        self.set_gl_state("opaque", depth_test=True)
        self.size, self.lod_size = float(size), float(lod_size)
        empty3 = np.zeros((1, 3), np.float32)
        empty4 = np.zeros(1, np.float32)
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
        color = rgba_u8(color)
        if lod_index is None:
            lod_index = np.arange(0, len(pos), 4)
        self.set_full(pos, color)
        self.set_decimated(pos[lod_index], color[lod_index])

    def set_full(self, pos: NDArray[np.floating], color: NDArray[np.generic]) -> None:
        """Upload the cloud drawn at rest: pos (N, 3), color (N, 4) (float in [0, 1] or uint8)."""
        self._n_full = self._upload(self._full, pos, color)

    def set_decimated(self, pos: NDArray[np.floating], color: NDArray[np.generic]) -> None:
        """Upload the cloud drawn while moving: pos (M, 3), color (M, 4)."""
        self._n_lod = self._upload(self._lod, pos, color)

    def _upload(self, buffers: tuple[gloo.VertexBuffer, gloo.VertexBuffer], pos: NDArray[np.floating],
                color: NDArray[np.generic]) -> int:
        pos = np.ascontiguousarray(pos, dtype=np.float32).reshape(-1, 3)
        col = packed_rgb(color)
        n = len(pos)
        if n == 0:
            pos, col = np.zeros((1, 3), np.float32), np.zeros(1, np.float32)
        buffers[0].set_data(pos)
        buffers[1].set_data(col)
        self._bind()
        self.update()
        return n

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

    def draw(self) -> None:
        """Draw the points: as vispy's ``Visual.draw`` for up to :data:`DRAW_CHUNK` points, else
        in chunks of it, each followed by a ``glFinish`` (the module docstring: bounded driver
        memory under llvmpipe)."""
        n = self.count
        if n <= DRAW_CHUNK:
            super().draw()
            return
        if not self.visible or self._prepare_draw(view=self) is False:
            return
        self._configure_gl_state()
        prog = self._program
        prog.build_if_needed()  # what vispy's ModularProgram.draw does before gloo's Program.draw
        prog.update_variables()
        prog._buffer = None
        glir = get_current_canvas().context.glir
        glir.associate(prog.glir)
        for first in range(0, n, DRAW_CHUNK):
            glir.command("DRAW", prog._id, "points", (first, min(DRAW_CHUNK, n - first)), 1)
            glir.command("FUNC", "glFinish")
        get_current_canvas().context.flush_commands()


def rgba_u8(color: NDArray[np.generic]) -> NDArray[np.uint8]:
    """(N, 3 or 4) colours as uint8 (floats in [0, 1] scaled by 255)."""
    c = np.asarray(color)
    if c.dtype != np.uint8:
        c = np.clip(np.rint(c * 255.0), 0, 255).astype(np.uint8)
    return c


def packed_rgb(color: NDArray[np.generic]) -> NDArray[np.float32]:
    """(N, 3 or 4) colours (uint8, or floats in [0, 1]; alpha ignored) -> (N,) float32
    ``r + 256 g + 65536 b`` of their 8-bit channels (the vertex shader's colour attribute)."""
    c = rgba_u8(color)
    out = c[:, 2].astype(np.float32) * np.float32(65536.0)
    out += c[:, 1].astype(np.float32) * np.float32(256.0)
    out += c[:, 0]
    return out


PointCloud = create_visual_node(PointCloudVisual)
