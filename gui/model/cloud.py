"""The points the views draw, within a point budget (Qt-free).

A :class:`ShownCloud` is the current frame's sweep, or an accumulation of sweeps placed in the
world frame through their ego poses (``Accumulate +-N``), each with its level of detail
(``fusionlabel.lod``: a progressive order built by the frame loader in the prefetch thread).
A view asks :meth:`ShownCloud.take` for the points of its budget: each sweep gives the prefix of
its progressive order, the budget split in proportion to the sweeps' sizes
(``fusionlabel.lod.split_budget``), so that any budget gives a spatially uniform subsample of the
whole. The 3D view (``gui.render.view3d.View3D.set_cloud``), the bird's-eye view
(``gui.ortho.OrthoView.set_cloud``) and the camera overlays (``gui.cameras.CameraPanel``) all
draw from the same cloud, each with its own budgets: a small one while the view moves or frames
step, a bigger one (or everything) at rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fusionlabel.lod import LevelOfDetail, build_lod, split_budget
from fusionlabel.packed import PackedPoints
from gui.colors import bev_colors, point_colors
from gui.frames import FrameData, HeldPoints

F32 = NDArray[np.float32]

#: Samples of up to this many points are kept by the cloud (views asking the same budget share them).
CACHE_MAX_POINTS = 500_000


@dataclass(frozen=True)
class CloudPart(HeldPoints):
    """One sweep: its points at full precision (``pts_full``, ``intensity_full``) or, a sweep kept
    only to be accumulated, compact (``packed``: int16 at 1 cm, float16 intensities;
    :class:`~gui.frames.HeldPoints`); ``lod`` its level of detail. :meth:`take` gives the float32
    points of a budget (dequantizing only those)."""

    pts_full: F32 | None
    intensity_full: F32 | None
    lod: LevelOfDetail
    packed: PackedPoints | None = None

    def __post_init__(self) -> None:
        self._check_held()

    def _index(self, k: int | None) -> NDArray[np.intp] | None:
        """The points of a budget ``k``: the level of detail's first ``lod.count(k)``, None for all."""
        m = self.lod.count(k)
        return None if m >= self.n else self.lod.order[:m]

    def take(self, k: int | None) -> tuple[F32, F32]:
        """World points (m, 3) float32 and intensities (m,) float32 of the first ``k`` of the
        progressive order (``m = lod.count(k)``; None: every point, file order); a packed sweep
        dequantizes only those."""
        if self.pts_full is not None and self.intensity_full is not None:
            return self.lod.take(self.pts_full, k), self.lod.take(self.intensity_full, k)
        assert self.packed is not None
        index = self._index(k)
        return self.packed.points(index), self.packed.intensities(index)

    def take_into(self, k: int | None, pts_out: F32, inten_out: F32) -> None:
        """:meth:`take` written into ``pts_out`` (m, 3) and ``inten_out`` (m,) float32 (``m =
        lod.count(k)``): no array of the part's own (an accumulation's budget is one array)."""
        index = self._index(k)
        if self.packed is not None and self.pts_full is None:
            self.packed.points(index, out=pts_out)
            self.packed.intensities(index, out=inten_out)
            return
        assert self.pts_full is not None and self.intensity_full is not None
        if index is None:
            pts_out[...] = self.pts_full
            inten_out[...] = self.intensity_full
        else:
            pts_out[...] = self.pts_full[index]
            inten_out[...] = self.intensity_full[index]


def frame_part(fd: FrameData) -> CloudPart:
    """A frame's sweep as a cloud part (its level of detail built now if the loader did not; a
    compact frame shares its packed points)."""
    if fd.lod is None or fd.lod.n != fd.n:
        fd.lod = build_lod(fd.pts_world)
    pts, inten, packed = fd.pts_full, fd.intensity_full, fd.packed
    if pts is not None and inten is not None:
        return CloudPart(pts, inten, fd.lod)
    return CloudPart(None, None, fd.lod, packed)


class ShownCloud:
    """The points drawn now (see the module docstring): ``parts`` (sweeps, world frame), the 3D
    colour ``color_mode`` (``gui.colors.COLOR_MODES``), ``origin`` (3,) the sensor / ego position
    of the current frame (world m; the distance colours) and ``ground`` its ground height (m)."""

    def __init__(self, parts: Sequence[CloudPart], color_mode: str = "height",
                 origin: Sequence[float] = (0.0, 0.0, 0.0), ground: float = 0.0) -> None:
        self.parts = list(parts)
        self.color_mode = color_mode
        self.origin = np.asarray(origin, dtype=np.float64).reshape(3)
        self.ground = float(ground)
        self._cache: dict[int | None, tuple[F32, F32]] = {}

    @property
    def n(self) -> int:
        """Number of points of every part."""
        return sum(p.n for p in self.parts)

    @property
    def raw_nbytes(self) -> int:
        """Bytes of the points' raw data (x, y, z, intensity as float32)."""
        return 16 * self.n

    def count(self, budget: int | None) -> int:
        """Points given for ``budget`` (None: all)."""
        if budget is None or budget >= self.n:
            return self.n
        shares = split_budget([p.n for p in self.parts], int(budget))
        return sum(p.lod.count(k) for p, k in zip(self.parts, shares, strict=True))

    def take(self, budget: int | None) -> tuple[F32, F32]:
        """World points (k, 3) float32 and intensities (k,) of a ``budget`` (None: every point),
        ``k = count(budget)``: each sweep's progressive prefix, its share of the budget. With one
        sweep and a budget covering it, its arrays themselves (no copy)."""
        key = None if budget is None or budget >= self.n else int(budget)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        shares = split_budget([p.n for p in self.parts], key)
        if len(self.parts) == 1:
            out = self.parts[0].take(shares[0])  # a budget covering it: its arrays, no copy
        elif not self.parts:
            out = (np.zeros((0, 3), np.float32), np.zeros(0, np.float32))
        else:  # each sweep's share written in place (no per-sweep arrays, no concatenation)
            counts = [p.lod.count(k) for p, k in zip(self.parts, shares, strict=True)]
            pts, inten = np.empty((sum(counts), 3), np.float32), np.empty(sum(counts), np.float32)
            a = 0
            for p, k, m in zip(self.parts, shares, counts, strict=True):
                p.take_into(k, pts[a:a + m], inten[a:a + m])
                a += m
            out = (pts, inten)
        if len(out[0]) <= CACHE_MAX_POINTS:
            self._cache[key] = out
        return out

    def rgba(self, pts_world: F32, intensity: F32 | None) -> NDArray[np.uint8]:
        """(k, 4) uint8 RGBA of points in the 3D colour mode (``gui.colors.point_colors``)."""
        rgb = point_colors(self.color_mode, pts_world, intensity, self.origin, self.ground)
        out = np.empty((len(rgb), 4), np.uint8)
        np.multiply(rgb, 255.0, out=rgb)
        out[:, :3] = rgb
        out[:, 3] = 255
        return out

    def bev_rgb(self, z: F32) -> NDArray[np.uint8]:
        """(k, 3) uint8 bird's-eye colours of world heights ``z`` (k,)."""
        return bev_colors(z, self.ground)


def shown_cloud(frames: Any, frame: int, frame_count: int, accumulate: int = 0, color_mode: str = "height",
                origin: Sequence[float] | None = None) -> ShownCloud:
    """The cloud of frame ``frame`` plus ``accumulate`` sweeps before and after it (within
    ``0..frame_count-1``), from ``frames`` (the window's frame cache: ``get(i, prefetch)`` ->
    :class:`~gui.frames.FrameData`). ``origin`` defaults to the frame's ego position; the ground
    height is the frame's (``memo["ground_z"]``, else the origin's height).

    The other sweeps are read as parts when the cache can (``get_part``: without their camera
    images, nor the whole-frame drawing's arrays) and release what they hold of them: the arrays of
    the whole-frame drawing (``FrameData.drop_derived``: twice their raw points) and, but for the
    frames the cache prefetches around ``frame`` (``neighbours``: the ones a step goes to), their
    camera images (``FrameData.drop_images``: 26 MB a frame with six 1600x900 cameras) and hold
    their points compact (``FrameData.compact``: int16 at 1 cm, float16 intensities; sweeps read
    as parts are so already); the cache counts them again (``refresh_size``) and reads the images
    and the full points again (in its prefetch thread for a neighbour) before such a frame is
    shown, and counts the levels of detail built here. The current frame keeps its float32
    points."""
    fd = frames.get(frame, prefetch=False)
    o = fd.T_world_from_ego[:3, 3] if origin is None else np.asarray(origin, dtype=np.float64)
    refresh = getattr(frames, "refresh_size", None)
    lod = fd.lod
    parts = [frame_part(fd)]
    if fd.lod is not lod and refresh is not None:  # its level of detail built now: counted
        refresh(frame)
    get_part = getattr(frames, "get_part", None)
    # images are released only where the cache reads them again (and the neighbours kept)
    completes = bool(getattr(frames, "has_parts", False))
    keep = set(frames.neighbours(frame)) if completes else set()
    for f in range(frame - accumulate, frame + accumulate + 1):
        if f != frame and 0 <= f < frame_count:
            other = get_part(f) if get_part is not None else frames.get(f, prefetch=False)
            lod = other.lod
            parts.append(frame_part(other))
            changed = other.drop_derived() > 0 or other.lod is not lod
            if completes and f not in keep and (other.images or not other.is_compact):
                changed = other.drop_images() > 0 or changed
                if other.lod is not None and other.lod.n == other.n:  # kept: the part has it
                    changed = other.compact() > 0 or changed
                parts[-1] = frame_part(other)
            if changed and refresh is not None:
                refresh(f)
    ground = float(fd.memo.get("ground_z", o[2]))
    return ShownCloud(parts, color_mode, o, ground)
