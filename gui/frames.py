"""Frame data of the GUI (no Qt): :class:`FrameData` is what the views draw for one frame;
:func:`make_frame_cache` makes the window's cache of them (the core's
``fusionlabel.frames.FrameCache``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from fusionlabel.frames import FrameCache
from fusionlabel.lod import LevelOfDetail
from fusionlabel.packed import PackedPoints, pack_points

#: ``FrameData.memo`` keys of the whole-frame drawing's arrays (``gui.session.derive``), besides
#: the 3D colours ``("rgb", mode)``.
DERIVED_KEYS = frozenset({"z_order", "bev_rgb", "bev_rgb32", "bev_xy"})


class HeldPoints:
    """A sweep's points held at full precision (``pts_full`` (N, 3) float32 world metres,
    ``intensity_full`` (N,) float32 in [0, 1]) or compact (``packed``:
    ``fusionlabel.packed.PackedPoints``, the float32 arrays then None): what :class:`FrameData`
    and ``gui.model.cloud.CloudPart`` share. ``pts_world`` / ``intensity`` give float32 either way
    (of compact points: dequantized, a new array each read)."""

    pts_full: NDArray[np.float32] | None
    intensity_full: NDArray[np.float32] | None
    packed: PackedPoints | None

    def _check_held(self) -> None:
        if self.pts_full is None and self.packed is None:
            raise ValueError(f"{type(self).__name__} needs its points: pts_full or packed")

    @property
    def pts_world(self) -> NDArray[np.float32]:
        """(N, 3) float32 world points (metres), in file order."""
        pts = self.pts_full
        if pts is not None:
            return pts
        assert self.packed is not None
        return self.packed.points()

    @property
    def intensity(self) -> NDArray[np.float32]:
        """(N,) float32 intensities in [0, 1], in file order."""
        inten = self.intensity_full
        if inten is not None:
            return inten
        assert self.packed is not None
        return self.packed.intensities()

    @property
    def n(self) -> int:
        """Number of points."""
        pts = self.pts_full
        return len(pts) if pts is not None else len(self.packed)  # type: ignore[arg-type]


@dataclass
class FrameData(HeldPoints):
    """Everything the views show of one frame.

    ``pts_world``: (N, 3) float32 LiDAR points in the world frame (metres), all LiDARs stacked;
    ``intensity``: (N,) float32 in [0, 1]; ``images``: camera name -> (H, W, 3) uint8 RGB;
    ``T_world_from_ego``: 4x4 ego pose at the frame's time; ``lod``: the points' level of detail
    (``fusionlabel.lod``: a progressive order, built by the loader in the prefetch thread; None
    when not built); ``images_read``: False when the camera images were not read (a sweep loaded
    only to be accumulated: ``gui.session.load_frame(cameras=False)``) or were released
    (:meth:`drop_images`): ``images`` is then empty, and the frame cache completes the frame
    (``gui.session.complete_frame``) before it is shown.

    The points are held either at full precision (``pts_full`` (N, 3) float32 and
    ``intensity_full`` (N,) float32, what the loader read) or, for a sweep kept only to be
    accumulated, compact (``packed``: ``fusionlabel.packed.PackedPoints``, int16 offsets at 1 cm
    and float16 intensities, 8 bytes a point instead of 16; :meth:`compact`), the float32 arrays
    then None. ``pts_world`` / ``intensity`` give float32 in either case (dequantized, a new array
    each read, for a compact frame: the views draw its level-of-detail subset through
    ``packed.points(index)`` instead). A compact frame is never whole (:func:`images_read`): the
    frame cache completes it, its full points read again, before it is shown.
    """

    index: int
    pts_full: NDArray[np.float32] | None
    intensity_full: NDArray[np.float32] | None
    T_world_from_ego: NDArray[np.float64]
    images: dict[str, NDArray[np.uint8]] = field(default_factory=dict)
    #: Derived arrays computed once (in the loading thread when possible), e.g. ``"z_order"``.
    memo: dict[object, Any] = field(default_factory=dict, repr=False)
    lod: LevelOfDetail | None = field(default=None, repr=False)
    images_read: bool = True
    packed: PackedPoints | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._check_held()

    @property
    def is_compact(self) -> bool:
        """Whether the points are held compact (``packed``, no float32 copy)."""
        return self.pts_full is None

    def compact(self) -> int:
        """Hold the points compact (``fusionlabel.packed.pack_points``) and release the float32
        ones and the loader's deskewed copy (``memo["pts_world_timed"]``) with them: for a sweep
        kept only to be accumulated, which the frame cache completes (its points read again)
        before it is shown. Nothing when already compact or when the points cannot be packed
        (non-finite coordinates). Returns the bytes released."""
        pts, inten = self.pts_full, self.intensity_full
        if pts is None or inten is None:
            return 0
        packed = pack_points(pts, inten)
        if packed is None:
            return 0
        timed = self.memo.pop("pts_world_timed", None)
        self.packed = packed  # first: a reader finding no float32 points finds the packed ones
        self.images_read = False
        self.pts_full = None
        self.intensity_full = None
        return int(pts.nbytes + inten.nbytes - packed.nbytes + getattr(timed, "nbytes", 0))

    def drop_derived(self) -> int:
        """Release the full-size arrays of the whole-frame drawing (``gui.session.derive``: the
        height order, the 3D colours, the BEV's positions and colours; 32 bytes a point, twice the
        raw points): a sweep drawn as a part of an accumulation is drawn from its level of detail
        (``gui.model.cloud``), and ``derive`` makes them again if the frame is drawn whole. The
        ground height and the loader's other entries stay. Returns the bytes released."""
        freed = 0
        for key in list(self.memo):
            if key in DERIVED_KEYS or (isinstance(key, tuple) and key[:1] == ("rgb",)):
                value = self.memo.pop(key)
                freed += int(getattr(value, "nbytes", 0))
        return freed

    def drop_images(self) -> int:
        """Release the camera images (a sweep that is only accumulated needs its points; with six
        1600x900 cameras they are 26 MB a frame, more than the sweep): ``images_read`` becomes
        False, and the frame cache reads them again before the frame is shown. Returns the bytes
        released."""
        freed = sum(int(a.nbytes) for a in self.images.values())
        self.images_read = False  # first: a reader seeing images gone also sees the flag
        self.images = {}
        return freed

    @property
    def nbytes(self) -> int:
        pts, inten, packed = self.pts_full, self.intensity_full, self.packed
        arrays = [*(a for a in (pts, inten) if a is not None), *self.images.values(),
                  *(v for v in self.memo.values() if isinstance(v, np.ndarray))]
        return (int(sum(a.nbytes for a in arrays)) + (self.lod.nbytes if self.lod is not None else 0)
                + (packed.nbytes if packed is not None and pts is None else 0))


def transform_f32(T: np.ndarray, pts: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """(N, 3+) points (x, y, z used; any strides, e.g. a view of a mapped file) through a 4x4
    transform ``T`` -> (N, 3) float32, column by column (no BLAS call: a multi-threaded matrix
    product is slow on a busy 2-core machine), in blocks of ``chunk`` points that stay in the
    CPU's cache (about 40 % less time than whole columns on 10M points; the same values)."""
    R, t = T[:3, :3].astype(np.float32), T[:3, 3].astype(np.float32)
    out = np.empty((len(pts), 3), np.float32)
    tmp = np.empty(min(chunk, len(pts)), np.float32)
    for a in range(0, len(pts), chunk):
        block, o = pts[a:a + chunk], out[a:a + chunk]
        tm = tmp[: len(block)]
        x, y, z = block[:, 0], block[:, 1], block[:, 2]
        for r in range(3):
            np.multiply(x, R[r, 0], out=o[:, r])
            np.multiply(y, R[r, 1], out=tm)
            o[:, r] += tm
            np.multiply(z, R[r, 2], out=tm)
            o[:, r] += tm
            o[:, r] += t[r]
    return out


class FrameSource(Protocol):
    """What the window needs from a frame cache."""

    def get(self, frame: int, prefetch: bool = True) -> Any: ...

    def get_part(self, frame: int) -> Any: ...

    def neighbours(self, frame: int) -> list[int]: ...

    @property
    def has_parts(self) -> bool: ...

    def prefetch(self, frames: Iterable[int]) -> None: ...

    def hold_prefetch(self) -> None: ...

    def release_prefetch(self) -> None: ...

    def refresh_size(self, frame: int) -> None: ...

    def close(self) -> None: ...


def images_read(fd: FrameData) -> bool:
    """Whether ``fd`` is whole for the frame cache: its camera images read (``images_read``) and
    its points at full precision (not :meth:`FrameData.compact`)."""
    return fd.images_read and fd.pts_full is not None


def make_frame_cache(loader: Callable[[int], Any], frame_count: int,
                     part_loader: Callable[[int], Any] | None = None,
                     complete: Callable[[int, Any], Any] | None = None,
                     max_bytes: int = 512 << 20) -> FrameSource:
    """The window's frame cache: the core's ``fusionlabel.frames.FrameCache`` (LRU bounded in
    ``max_bytes``: roughly 8-16 frames of a 6-camera sequence with their images; 2 frames ahead and
    1 behind prefetched on one worker thread). With ``part_loader`` (a frame without its camera
    images: what an accumulated sweep needs, ``get_part``) and ``complete`` (the part with its
    images read), a frame cached without images is completed before ``get`` returns it, by the
    prefetch when it is a neighbour of the frame asked."""
    if part_loader is None or complete is None:
        return FrameCache(loader, frame_count, max_bytes=max_bytes, ahead=2, behind=1, workers=1)
    return FrameCache(loader, frame_count, max_bytes=max_bytes, ahead=2, behind=1, workers=1,
                      part_loader=part_loader, complete=complete, is_whole=images_read)
