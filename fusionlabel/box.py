"""The immutable 3D box of the annotation model.

A box is stored in the ``world`` frame: ``center`` is the geometric centre (metres), ``size`` is
(length along the heading, width, height) in metres, ``yaw`` is the heading about +z in radians,
wrapped to (-pi, pi].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import rotation_to_yaw, wrap_angle, yaw_to_rotation
from fusionlabel.errors import ModelError

# Corner order of a unit box (signs of +-l/2, +-w/2, +-h/2). Corners 0-3 are the bottom face
# (z = -h/2) clockwise seen from above (x forward, y left) starting front-left: front-left,
# front-right, rear-right, rear-left; 4-7 the top face, same order.
# Edges 0-1 (bottom) and 4-5 (top) are the FRONT face edges (x = +l/2).
CORNER_SIGNS = np.array(
    [
        [1, 1, -1],
        [1, -1, -1],
        [-1, -1, -1],
        [-1, 1, -1],
        [1, 1, 1],
        [1, -1, 1],
        [-1, -1, 1],
        [-1, 1, 1],
    ],
    dtype=np.float64,
)
#: The 12 edges as pairs of corner indices: bottom ring, top ring, verticals.
BOX_EDGES = np.array(
    [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]],
    dtype=np.int64,
)


@dataclass(frozen=True, slots=True)
class Box3D:
    """An oriented 3D box: geometric centre (x, y, z) m, size (l, w, h) m, yaw rad about +z."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float

    def __post_init__(self) -> None:
        c = tuple(float(v) for v in self.center)
        s = tuple(float(v) for v in self.size)
        if len(c) != 3 or len(s) != 3:
            raise ModelError(f"Box3D needs 3 centre and 3 size values, got {len(c)} and {len(s)}")
        if not all(math.isfinite(v) for v in (*c, *s, float(self.yaw))):
            raise ModelError(f"Box3D has a non-finite value: centre={c} size={s} yaw={self.yaw}")
        if min(s) <= 0:
            raise ModelError(f"Box3D size must be positive, got {s}")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "size", s)
        object.__setattr__(self, "yaw", float(wrap_angle(float(self.yaw))))

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_array(cls, a: ArrayLike) -> Box3D:
        """From a (7,) array ``[x, y, z, l, w, h, yaw]``."""
        a = np.asarray(a, dtype=np.float64).reshape(7)
        return cls(tuple(a[:3]), tuple(a[3:6]), float(a[6]))

    @classmethod
    def from_pose(cls, T_frame_from_box: ArrayLike, size: ArrayLike) -> Box3D:
        """From a 4x4 box pose (only its yaw is kept) and a (3,) size (l, w, h)."""
        T = np.asarray(T_frame_from_box, dtype=np.float64)
        return cls(tuple(T[:3, 3]), tuple(np.asarray(size, dtype=np.float64)), rotation_to_yaw(T[:3, :3]))

    # ---- accessors ----------------------------------------------------------------------
    def to_array(self) -> NDArray[np.float64]:
        """(7,) array ``[x, y, z, l, w, h, yaw]``."""
        return np.array([*self.center, *self.size, self.yaw], dtype=np.float64)

    @property
    def length(self) -> float:
        return self.size[0]

    @property
    def width(self) -> float:
        return self.size[1]

    @property
    def height(self) -> float:
        return self.size[2]

    @property
    def bottom_center(self) -> tuple[float, float, float]:
        """Centre of the bottom face (z - h/2), metres, same frame as the box."""
        x, y, z = self.center
        return (x, y, z - self.size[2] / 2.0)

    def pose(self) -> NDArray[np.float64]:
        """4x4 ``T_frame_from_box`` (box frame: x forward along the heading, y left, z up)."""
        T = np.eye(4)
        T[:3, :3] = yaw_to_rotation(self.yaw)
        T[:3, 3] = self.center
        return T

    def corners(self) -> NDArray[np.float64]:
        """(8, 3) corners in the box's frame, ordered as ``CORNER_SIGNS``."""
        half = np.asarray(self.size) / 2.0
        local = CORNER_SIGNS * half
        return local @ yaw_to_rotation(self.yaw).T + np.asarray(self.center)

    def replace(self, **changes: object) -> Box3D:
        """A copy with the given fields changed (``center``, ``size``, ``yaw``)."""
        return replace(self, **changes)

    def transformed(self, T_dst_from_src: ArrayLike) -> Box3D:
        """The box expressed in another frame. Only the yaw of the rotation is kept, so
        ``T_dst_from_src`` should be (close to) a rotation about z; roll/pitch are dropped."""
        T = np.asarray(T_dst_from_src, dtype=np.float64) @ self.pose()
        return Box3D(tuple(T[:3, 3]), self.size, rotation_to_yaw(T[:3, :3]))
