"""Compact storage of a sweep's points (numpy only, no Qt): x, y, z as int16 offsets from a
per-sweep origin and intensities as float16, 8 bytes a point instead of the 16 of x, y, z,
intensity float32.

A sweep kept only to be accumulated with others (``gui.model.cloud``) is drawn within a point
budget, from its level of detail: storing it packed halves its memory, and the views dequantize only
the points they draw (:meth:`PackedPoints.points` with their indices).

Quantization: the origin is the centre of the sweep's bounding box (world metres, float32), the
scale (metres a code step, the same on x, y and z) :data:`SCALE` (1 cm, below a LiDAR's noise of
some 2 cm), or coarser where the sweep's half extent needs it (``max |offset| / 32767`` over
327 m). Every dequantized coordinate is within ``scale / 2`` of the original (plus float32
rounding of the world coordinate). Sweeps with non-finite coordinates are not packed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Metres a code step where the sweep's extent allows (1 cm).
SCALE = 0.01
#: Largest code magnitude (int16).
CODE_MAX = 32767
#: Points quantized per block (stays in the CPU's cache).
CHUNK = 1 << 14
#: Largest intensity stored as float16 (its largest finite value); above, float32 is kept.
F16_MAX = 65504.0


@dataclass(frozen=True)
class PackedPoints:
    """One sweep's points, compact: ``codes`` (N, 3) int16, ``origin`` (3,) float32 world metres,
    ``scale`` metres a code step; world point ``i`` = ``codes[i] * scale + origin`` (float32).
    ``intensity`` (N,) float16 (float32 where values exceed the float16 range)."""

    codes: NDArray[np.int16]
    origin: NDArray[np.float32]
    scale: float
    intensity: NDArray[np.floating]

    @property
    def n(self) -> int:
        """Number of points."""
        return len(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (codes, intensities, origin)."""
        return int(self.codes.nbytes + self.intensity.nbytes + self.origin.nbytes)

    def points(self, index: NDArray[np.integer] | None = None,
               out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """World points (k, 3) float32 (metres) of the points ``index`` (k,) (None: all N, in
        order), dequantized into ``out`` (k, 3) float32 (None: a new array), returned."""
        codes = self.codes if index is None else self.codes[index]
        if out is None:
            out = np.empty((len(codes), 3), np.float32)
        np.multiply(codes, np.float32(self.scale), out=out)
        out += self.origin
        return out

    def intensities(self, index: NDArray[np.integer] | None = None,
                    out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """Intensities (k,) float32 of the points ``index`` (None: all N), into ``out`` (k,)
        float32 (None: a new array), returned."""
        vals = self.intensity if index is None else self.intensity[index]
        if out is None:
            return vals.astype(np.float32)
        out[...] = vals
        return out


def pack_points(pts: NDArray[np.floating], intensity: NDArray[np.floating],
                scale: float = SCALE) -> PackedPoints | None:
    """Pack world points ``pts`` (N, 3) (metres, float32/64; any strides) and ``intensity`` (N,)
    (see the module docstring): one pass over the points in blocks. None when a coordinate is not
    finite (the caller keeps the float32 points)."""
    pts = np.asarray(pts)
    inten = np.asarray(intensity)
    if pts.ndim != 2 or pts.shape[1] < 3 or len(inten) != len(pts):
        raise ValueError(f"points (N, 3) and intensities (N,) expected, got {pts.shape} and {inten.shape}")
    n = len(pts)
    if n == 0:
        return PackedPoints(np.zeros((0, 3), np.int16), np.zeros(3, np.float32), float(scale),
                            np.zeros(0, np.float16))
    xyz = pts[:, :3]
    # column by column: a reduction along axis 0 of an (N, 3) array is several times slower
    lo = np.array([xyz[:, c].min() for c in range(3)], np.float64)
    hi = np.array([xyz[:, c].max() for c in range(3)], np.float64)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    origin = ((lo + hi) / 2.0).astype(np.float32)
    half = float(np.max(np.maximum(hi - origin, origin - lo)))
    step = max(float(scale), half / (CODE_MAX - 1))  # a code step to spare for rounding
    inv = np.float32(1.0 / step)
    codes = np.empty((n, 3), np.int16)
    tmp = np.empty((min(CHUNK, n), 3), np.float32)
    for a in range(0, n, CHUNK):
        block = xyz[a:a + CHUNK]
        t = tmp[: len(block)]
        np.subtract(block, origin, out=t, casting="unsafe")
        t *= inv  # |t| <= CODE_MAX - 1 (+ rounding) by the choice of the step: no clip
        np.rint(t, out=codes[a:a + CHUNK], casting="unsafe")
    fmax = float(np.abs(inten).max()) if inten.size else 0.0
    packed_inten = inten.astype(np.float16) if np.isfinite(fmax) and fmax <= F16_MAX else inten.astype(np.float32)
    return PackedPoints(codes, origin, step, packed_inten)
