"""The immutable 3D box of the annotation model.

A box is stored in the ``world`` frame: ``center`` is the geometric centre (metres), ``size`` is
(length along the heading, width, height) in metres, ``yaw`` is the heading about +z in radians,
wrapped to (-pi, pi].

Most boxes are upright. A source that labels tilted boxes (SUSTechPOINTS, nuScenes and OpenLABEL
quaternions) keeps the tilt in ``pitch`` and ``roll`` (radians, default 0): the box's rotation is
``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (:func:`calib.transforms.ypr_to_rotation`), so ``yaw`` stays
the heading that tools edit, and an editing tool that sets a new heading with :meth:`Box3D.replace`
keeps the tilt. An upright box behaves exactly as before the tilt existed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calib.transforms import rotation_to_yaw, rotation_to_ypr, wrap_angle, yaw_to_rotation, ypr_to_rotation
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
#: A roll or pitch at most this large (radians) read from a rotation is numerical noise: the box
#: is upright (:meth:`Box3D.from_rotation`).
TILT_EPS = 1e-9
#: The 12 edges as pairs of corner indices: bottom ring, top ring, verticals.
BOX_EDGES = np.array(
    [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]],
    dtype=np.int64,
)


@dataclass(frozen=True, slots=True)
class Box3D:
    """An oriented 3D box: geometric centre (x, y, z) m, size (l, w, h) m, yaw rad about +z; an
    optional tilt: ``roll`` and ``pitch`` rad (module docstring), 0 for upright boxes."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float
    roll: float = 0.0
    pitch: float = 0.0

    def __post_init__(self) -> None:
        c = tuple(map(float, self.center))
        s = tuple(map(float, self.size))
        if len(c) != 3 or len(s) != 3:
            raise ModelError(f"Box3D needs 3 centre and 3 size values, got {len(c)} and {len(s)}")
        yaw, roll, pitch = float(self.yaw), float(self.roll), float(self.pitch)
        # a finite sum means finite terms (a NaN or an infinity makes it NaN or infinite); only a
        # sum that is not (an overflow, or a bad value) is checked term by term
        if not math.isfinite(c[0] + c[1] + c[2] + s[0] + s[1] + s[2] + yaw + roll + pitch) and not all(
                math.isfinite(v) for v in (*c, *s, yaw, roll, pitch)):
            raise ModelError(f"Box3D has a non-finite value: centre={c} size={s} yaw={self.yaw} "
                             f"roll={self.roll} pitch={self.pitch}")
        if min(s) <= 0:
            raise ModelError(f"Box3D size must be positive, got {s}")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "size", s)
        object.__setattr__(self, "yaw", wrap_angle(yaw))
        if roll or pitch:  # upright boxes (nearly all) skip the wrapping
            object.__setattr__(self, "roll", wrap_angle(roll))
            object.__setattr__(self, "pitch", wrap_angle(pitch))
        else:
            object.__setattr__(self, "roll", 0.0)
            object.__setattr__(self, "pitch", 0.0)

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_array(cls, a: ArrayLike) -> Box3D:
        """From a (7,) array ``[x, y, z, l, w, h, yaw]``."""
        a = np.asarray(a, dtype=np.float64).reshape(7)
        return cls(tuple(a[:3]), tuple(a[3:6]), float(a[6]))

    @classmethod
    def from_rotation(cls, center: ArrayLike, size: ArrayLike, R: ArrayLike) -> Box3D:
        """From a centre, a size (l, w, h) and a (3, 3) rotation ``R_frame_from_box``: a tilted box
        where ``R`` has a roll or pitch above :data:`TILT_EPS`, else an upright one (its yaw)."""
        yaw, pitch, roll = rotation_to_ypr(R)
        if type(center) is list and type(size) is list and len(center) == 3 and len(size) == 3:
            c, s = tuple(map(float, center)), tuple(map(float, size))  # (a reader's JSON lists)
        else:
            c = tuple(np.asarray(center, dtype=np.float64).reshape(3))
            s = tuple(np.asarray(size, dtype=np.float64).reshape(3))
        if abs(pitch) <= TILT_EPS and abs(roll) <= TILT_EPS:
            return cls(c, s, yaw)  # type: ignore[arg-type]
        return cls(c, s, yaw, roll, pitch)  # type: ignore[arg-type]

    @classmethod
    def from_pose(cls, T_frame_from_box: ArrayLike, size: ArrayLike, tilt: bool = False) -> Box3D:
        """From a 4x4 box pose and a (3,) size (l, w, h): only its yaw is kept, or with ``tilt``
        its whole rotation (yaw, pitch, roll)."""
        T = np.asarray(T_frame_from_box, dtype=np.float64)
        sz = tuple(np.asarray(size, dtype=np.float64))
        if tilt:
            yaw, pitch, roll = rotation_to_ypr(T[:3, :3])
            return cls(tuple(T[:3, 3]), sz, yaw, roll, pitch)  # type: ignore[arg-type]
        return cls(tuple(T[:3, 3]), sz, rotation_to_yaw(T[:3, :3]))  # type: ignore[arg-type]

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

    @property
    def tilted(self) -> bool:
        """True when the box has a roll or a pitch."""
        return self.roll != 0.0 or self.pitch != 0.0

    def rotation(self) -> NDArray[np.float64]:
        """(3, 3) ``R_frame_from_box``: ``Rz(yaw)`` for an upright box, else with its tilt."""
        if not self.tilted:
            return yaw_to_rotation(self.yaw)
        return ypr_to_rotation(self.yaw, self.pitch, self.roll)

    def pose(self) -> NDArray[np.float64]:
        """4x4 ``T_frame_from_box`` (box frame: x forward along the heading, y left, z up)."""
        T = np.eye(4)
        T[:3, :3] = self.rotation()
        T[:3, 3] = self.center
        return T

    def corners(self) -> NDArray[np.float64]:
        """(8, 3) corners in the box's frame, ordered as ``CORNER_SIGNS``."""
        half = np.asarray(self.size) / 2.0
        local = CORNER_SIGNS * half
        return local @ self.rotation().T + np.asarray(self.center)

    def replace(self, **changes: object) -> Box3D:
        """A copy with the given fields changed (``center``, ``size``, ``yaw``, ``roll``,
        ``pitch``); a tilt is kept unless changed."""
        return replace(self, **changes)

    def upright(self) -> Box3D:
        """The box without its tilt (same centre, size and heading)."""
        return self if not self.tilted else replace(self, roll=0.0, pitch=0.0)

    def transformed(self, T_dst_from_src: ArrayLike) -> Box3D:
        """The box expressed in another frame. An upright box stays upright: only the yaw of the
        rotation is kept, so ``T_dst_from_src`` should be (close to) a rotation about z; a tilted
        box keeps its whole rotation (yaw, pitch, roll in the new frame)."""
        T = np.asarray(T_dst_from_src, dtype=np.float64) @ self.pose()
        return Box3D.from_pose(T, self.size, tilt=self.tilted)
