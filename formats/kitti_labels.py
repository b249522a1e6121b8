"""KITTI object (label_2) and tracking (label_02) label lines, and their conversion to core boxes.

KITTI's convention (the one other tools get wrong)
---------------------------------------------------
A label line is ``type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]``
(tracking files prepend ``frame track_id``). Its 3D box lives in the **rectified reference
camera frame** ``cam0rect`` (x right, y down, z forward):

* ``(x, y, z)`` is the **bottom centre** of the box: the geometric centre is ``(x, y - h/2, z)``
  because camera y points down;
* the size is given as ``h w l`` (height, width, length);
* ``rotation_y`` is the rotation about the camera's +y axis; the heading (length axis) is the
  unit vector ``(cos ry, 0, -sin ry)`` in ``cam0rect``; ``ry = 0`` faces the camera's +x;
* ``alpha = ry - atan2(x, z)`` is the observation angle, wrapped to (-pi, pi].

The conversion to the core goes through the calibration, never through a fixed axis swap:
``T_ego_from_cam0rect`` (for KITTI object data, the ego frame is the Velodyne frame:
``invert(R0_rect @ Tr_velo_to_cam)``). The heading vector is rotated into the ego frame and the
yaw read in its xy plane; roll and pitch of the camera relative to the LiDAR are thereby dropped
(boxes in the core are upright). Going back, the box's up axis is taken as camera -y, as KITTI
assumes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from calib.transforms import transform_points, wrap_angle
from formats.errors import FormatError
from formats.io import check_confined
from formats.limits import MAX_FRAMES
from fusionlabel.box import Box3D

DONTCARE = "DontCare"


class KittiLabelError(FormatError):
    """A KITTI label file has a malformed line; the message names the file and the line."""


@dataclass(frozen=True)
class KittiObject:
    """One KITTI label line. Lengths in metres, angles in radians, pixels for ``bbox``.

    ``location`` is the bottom centre in ``cam0rect``; ``dimensions`` is (h, w, l).
    ``frame``/``track_id`` are set for tracking labels (``track_id`` -1 for DontCare).
    """

    type: str
    truncated: float
    occluded: int
    alpha: float
    bbox: tuple[float, float, float, float]
    dimensions: tuple[float, float, float]
    location: tuple[float, float, float]
    rotation_y: float
    score: float | None = None
    frame: int | None = None
    track_id: int | None = None
    #: The line's own text of the fields after ``type`` (truncated ... rotation_y [score]), as read;
    #: None for objects made here. :meth:`source_line` writes them back unchanged.
    text: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def is_dontcare(self) -> bool:
        return self.type == DONTCARE

    def format(self, decimals: int | None = None) -> str:
        """The label line (tracking form when ``frame`` is set). By default KITTI's 2-decimal
        precision for truncation and the 2D box, but 4 decimals for alpha, the 3D values and the
        score (sub-cm round trips); ``decimals`` sets every number's precision (2: exactly as
        the KITTI benchmark files)."""
        h, w, l = self.dimensions
        x, y, z = self.location
        d3 = 4 if decimals is None else decimals
        d2 = 2 if decimals is None else decimals
        parts = []
        if self.frame is not None:
            parts += [str(self.frame), str(self.track_id if self.track_id is not None else -1)]
        parts += [
            self.type,
            _num(self.truncated, d2),
            str(int(self.occluded)),
            _num(self.alpha, d3),
            *(_num(v, d2) for v in self.bbox),
            _num(h, d3),
            _num(w, d3),
            _num(l, d3),
            _num(x, d3),
            _num(y, d3),
            _num(z, d3),
            _num(self.rotation_y, d3),
        ]
        if self.score is not None:
            parts.append(_num(self.score, d3))
        return " ".join(parts)

    def source_line(self, type: str, frame: int | None = None, track_id: int | None = None) -> str:
        """The label line with every number exactly as the source file wrote it (``text``), under
        ``type`` (and ``frame track_id`` first when ``frame`` is given)."""
        if self.text is None:
            raise ValueError("this object was not read from a file: it has no source text")
        head = [str(frame), str(track_id if track_id is not None else -1)] if frame is not None else []
        return " ".join([*head, type, *self.text])


def _num(v: float, nd: int) -> str:
    s = f"{v:.{nd}f}"
    if nd == 0:
        return "0" if s == "-0" else s
    return "0." + "0" * nd if s in ("-0." + "0" * nd,) else s


def parse_label_line(line: str, source: str = "<label>", lineno: int = 0, tracking: bool = False) -> KittiObject:
    """Parse one label line (object form, or tracking form with ``frame track_id`` first)."""
    parts = line.split()
    off = 2 if tracking else 0
    where = f"{source}:{lineno}" if lineno else source
    if len(parts) not in (15 + off, 16 + off):
        raise KittiLabelError(where, f"expected {15 + off} or {16 + off} fields, got {len(parts)}: {line.strip()!r}")
    try:
        nums = [float(v) for v in parts[off + 1 :]]
        frame = int(parts[0]) if tracking else None
        track_id = int(parts[1]) if tracking else None
    except ValueError as e:
        raise KittiLabelError(where, f"non-numeric value ({e}): {line.strip()!r}") from e
    if not all(math.isfinite(v) for v in nums):
        raise KittiLabelError(where, f"non-finite value: {line.strip()!r}")
    if frame is not None and not 0 <= frame < MAX_FRAMES:
        raise KittiLabelError(where, f"frame {frame} is outside 0..{MAX_FRAMES - 1}: {line.strip()!r}")
    typ = parts[off]
    obj = KittiObject(
        type=typ,
        truncated=nums[0],
        occluded=int(nums[1]),
        alpha=nums[2],
        bbox=(nums[3], nums[4], nums[5], nums[6]),
        dimensions=(nums[7], nums[8], nums[9]),
        location=(nums[10], nums[11], nums[12]),
        rotation_y=nums[13],
        score=nums[14] if len(nums) == 15 else None,
        frame=frame,
        track_id=track_id,
        text=tuple(parts[off + 1 :]),
    )
    if not obj.is_dontcare and min(obj.dimensions) <= 0:
        raise KittiLabelError(where, f"{typ} has a non-positive size h w l = {obj.dimensions}")
    return obj


def read_label_file(path: str | os.PathLike[str], tracking: bool = False) -> list[KittiObject]:
    """All objects of a label_2 file (or, with ``tracking``, a label_02 sequence file)."""
    path = Path(path)
    check_confined(path, KittiLabelError)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KittiLabelError(path, f"cannot read: {e}") from None
    return [
        parse_label_line(line, str(path), i, tracking)
        for i, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def read_tracking_labels(path: str | os.PathLike[str]) -> dict[int, list[KittiObject]]:
    """A label_02 sequence file grouped by frame index."""
    out: dict[int, list[KittiObject]] = {}
    for obj in read_label_file(path, tracking=True):
        out.setdefault(int(obj.frame or 0), []).append(obj)
    return out


def kitti_to_box(obj: KittiObject, T_ego_from_cam0rect: ArrayLike) -> Box3D:
    """The object's 3D box as a core box in the ego frame (geometric centre, (l, w, h), yaw)."""
    if obj.is_dontcare:
        raise ValueError("a DontCare entry has no 3D box")
    T = np.asarray(T_ego_from_cam0rect, dtype=np.float64)
    h, w, l = obj.dimensions
    x, y, z = obj.location
    centre_cam = np.array([[x, y - h / 2.0, z]])
    centre_ego = transform_points(T, centre_cam)[0]
    ry = obj.rotation_y
    heading_ego = T[:3, :3] @ np.array([math.cos(ry), 0.0, -math.sin(ry)])
    yaw = math.atan2(heading_ego[1], heading_ego[0])
    return Box3D(tuple(centre_ego), (l, w, h), yaw)


def box_to_kitti_3d(
    box_ego: Box3D, T_cam0rect_from_ego: ArrayLike
) -> tuple[tuple[float, float, float], tuple[float, float, float], float, float]:
    """A core box in the ego frame -> KITTI ``(location, (h, w, l), rotation_y, alpha)`` in cam0rect."""
    T = np.asarray(T_cam0rect_from_ego, dtype=np.float64)
    l, w, h = box_ego.size
    centre_cam = transform_points(T, np.asarray([box_ego.center]))[0]
    heading_cam = T[:3, :3] @ np.array([math.cos(box_ego.yaw), math.sin(box_ego.yaw), 0.0])
    ry = float(wrap_angle(math.atan2(-heading_cam[2], heading_cam[0])))
    loc = (float(centre_cam[0]), float(centre_cam[1] + h / 2.0), float(centre_cam[2]))
    alpha = float(wrap_angle(ry - math.atan2(loc[0], loc[2])))
    return loc, (h, w, l), ry, alpha


def box_to_kitti(
    box_ego: Box3D,
    label: str,
    T_cam0rect_from_ego: ArrayLike,
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
    truncated: float = 0.0,
    occluded: int = 0,
    score: float | None = None,
    frame: int | None = None,
    track_id: int | None = None,
) -> KittiObject:
    """A full KittiObject for a core box (the 2D ``bbox``, truncation and occlusion are given)."""
    loc, dims, ry, alpha = box_to_kitti_3d(box_ego, T_cam0rect_from_ego)
    return KittiObject(label, truncated, occluded, alpha, bbox, dims, loc, ry, score, frame, track_id)


def with_track(obj: KittiObject, frame: int, track_id: int) -> KittiObject:
    """A copy carrying tracking fields."""
    return replace(obj, frame=frame, track_id=track_id)
