"""The accumulated world view of map work: many sweeps placed in the world frame through the ego
poses and reduced to the ground surface, so that lane paint (bright returns) shows.

:func:`accumulate_sweeps` reads sweeps through a callable ``sweep(frame) -> (points (M, 3)
world metres, intensity (M,) in [0, 1])`` (the GUI passes its frame loader without images) and
keeps, per ``cell`` x ``cell`` metre column of the world x / y grid, the **lowest** return (the
ground, not a car passing over the paint) with its intensity. Sweeps are reduced as they come
(the memory stays that of the cells plus one batch). :func:`pick_frames` chooses N sweeps spread
evenly over the sequence (0: all). :meth:`AccumulatedCloud.ground_height` gives a vertex's
height from the accumulated ground.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError

F32 = NDArray[np.float32]
#: Default cell size (m) of the accumulated ground.
CELL_M = 0.1
#: Sweeps reduced together (a batch of points in memory).
BATCH_SWEEPS = 8

Sweep = Callable[[int], "tuple[NDArray[np.floating], NDArray[np.floating]]"]


@dataclass(frozen=True)
class AccumulatedCloud:
    """The reduced cloud: ``xyz`` (M, 3) float32 world metres (one lowest return per cell),
    ``intensity`` (M,) float32 in [0, 1], the ``frames`` read, the ``cell`` size (m) and the
    number of ``raw_points`` before the reduction."""

    xyz: F32
    intensity: F32
    frames: tuple[int, ...]
    cell: float
    raw_points: int

    def __len__(self) -> int:
        return int(len(self.xyz))

    def ground_height(self, x: float, y: float, radius: float = 1.0, default: float | None = None) -> float:
        """Median height (world z, m) of the accumulated ground within ``radius`` m of (x, y);
        ``default`` (or the median of all) when no cell is there."""
        if not len(self.xyz):
            return 0.0 if default is None else float(default)
        d2 = (self.xyz[:, 0] - x) ** 2 + (self.xyz[:, 1] - y) ** 2
        near = self.xyz[d2 <= radius * radius, 2]
        if len(near):
            return float(np.median(near))
        return float(np.median(self.xyz[:, 2])) if default is None else float(default)


def pick_frames(frame_count: int, n: int) -> list[int]:
    """``n`` frame indices spread evenly over ``0 .. frame_count - 1`` (first and last included;
    ``n`` <= 0 or >= frame_count: all)."""
    if frame_count <= 0:
        return []
    if n <= 0 or n >= frame_count:
        return list(range(frame_count))
    return sorted({int(round(v)) for v in np.linspace(0, frame_count - 1, n)})


_XY_BITS, _Z_BITS = 21, 20  # cell index bits per axis (around the origin), height bits (cm)


def _reduce(xyz: F32, inten: F32, cell: float, origin: tuple[float, float]) -> tuple[F32, F32]:
    """The lowest point (and its intensity) of each cell: one sort of a composite key (cell x,
    cell y, height in cm) per call."""
    if not len(xyz):
        return xyz, inten
    half = 1 << (_XY_BITS - 1)
    ix = np.floor((xyz[:, 0] - origin[0]) / cell).astype(np.int64) + half
    iy = np.floor((xyz[:, 1] - origin[1]) / cell).astype(np.int64) + half
    if ix.min() < 0 or iy.min() < 0 or ix.max() >= 2 * half or iy.max() >= 2 * half:
        raise ModelError(f"accumulate: points farther than {half * cell / 1000:.0f} km from the first sweep")
    zq = np.clip(np.round(xyz[:, 2] * 100.0).astype(np.int64) + (1 << (_Z_BITS - 1)), 0, (1 << _Z_BITS) - 1)
    key = (ix << (_XY_BITS + _Z_BITS)) | (iy << _Z_BITS) | zq
    order = np.argsort(key)
    c = key[order] >> _Z_BITS
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    keep = order[first]
    return xyz[keep], inten[keep]


def accumulate_sweeps(sweep: Sweep, frames: Sequence[int], cell: float = CELL_M,
                      progress: Callable[[int, int], None] | None = None) -> AccumulatedCloud:
    """Accumulate the sweeps of ``frames`` (see the module doc); ``progress(done, total)`` after
    each sweep (it may raise to cancel). ModelError on a bad cell size or bad sweep shapes."""
    if not (cell > 0 and np.isfinite(cell)):
        raise ModelError(f"accumulate: cell size must be positive, got {cell!r}")
    frames = [int(f) for f in frames]
    acc_xyz: list[F32] = []
    acc_int: list[F32] = []
    batch_xyz: list[F32] = []
    batch_int: list[F32] = []
    raw = 0
    origin: list[tuple[float, float]] = []

    def flush() -> None:
        if batch_xyz:
            x, i = _reduce(np.concatenate(acc_xyz + batch_xyz), np.concatenate(acc_int + batch_int), cell, origin[0])
            acc_xyz[:], acc_int[:] = [x], [i]
            batch_xyz.clear()
            batch_int.clear()

    for k, f in enumerate(frames):
        pts, inten = sweep(f)
        p = np.asarray(pts, dtype=np.float32)
        it = np.asarray(inten, dtype=np.float32).reshape(-1)
        if p.ndim != 2 or p.shape[1] < 3 or len(it) != len(p):
            raise ModelError(f"accumulate: frame {f}: points (M, 3) with M intensities expected, "
                             f"got {p.shape} and {it.shape}")
        ok = np.isfinite(p[:, :3]).all(axis=1)
        if not origin and ok.any():
            origin.append((float(np.median(p[ok, 0])), float(np.median(p[ok, 1]))))
        x, i = _reduce(p[ok, :3], it[ok], cell, origin[0]) if ok.any() else (p[ok, :3], it[ok])
        batch_xyz.append(x)  # each sweep reduced first: the merges sort fewer points
        batch_int.append(i)
        raw += int(ok.sum())
        if len(batch_xyz) >= BATCH_SWEEPS:
            flush()
        if progress is not None:
            progress(k + 1, len(frames))
    flush()
    xyz = acc_xyz[0] if acc_xyz else np.zeros((0, 3), np.float32)
    inten = acc_int[0] if acc_int else np.zeros(0, np.float32)
    return AccumulatedCloud(xyz, inten, tuple(frames), float(cell), raw)


def intensity_rgb(intensity: NDArray[np.floating], gain: float = 2.5) -> NDArray[np.uint8]:
    """(M, 3) uint8 grey levels of intensities in [0, 1] (brightened by ``gain``: asphalt dark,
    paint white)."""
    v = np.clip(np.asarray(intensity, dtype=np.float32) * gain, 0.0, 1.0)
    g = (40 + 215 * np.sqrt(v)).astype(np.uint8)
    return np.repeat(g[:, None], 3, axis=1)
