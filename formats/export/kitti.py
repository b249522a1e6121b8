"""KITTI object and KITTI tracking writers.

KITTI object (``write_kitti_object``), one sample per frame, written directly into ``dst``::

    dst/calib/<id>.txt  dst/velodyne/<id>.bin  dst/image_2/<id>.png  dst/label_2/<id>.txt

KITTI tracking (``write_kitti_tracking``), one sequence ``<seq>`` (default ``0000``; a KITTI
tracking source keeps its own)::

    dst/calib/<seq>.txt  dst/velodyne/<seq>/<frame:06d>.bin  dst/image_02/<seq>/<frame:06d>.png
    dst/label_02/<seq>.txt  dst/oxts/<seq>.txt

``<id>`` is the source's KITTI id for a KITTI object source, else the zero-padded frame index.

Geometry. Labels are in the rectified reference camera frame ``cam0rect`` through the calibration
(:func:`formats.kitti_labels.box_to_kitti`: bottom-centre location, ``h w l``, ``rotation_y`` and
``alpha`` from the geometry). A box is taken from the world to the ``velodyne`` frame of its frame
(``T_velo_from_world = T_velo_from_lidar @ inv(T_world_from_lidar)``) and on with
``R0_rect @ Tr_velo_to_cam``. The ``velodyne`` frame is the first LiDAR's origin with the ego's
axes (``velodyne_axes="ego"``, default: x forward, y left, z up, which KITTI tools assume; a
nuScenes LIDAR_TOP, x right, is turned by 90 degrees) or the LiDAR's own axes
(``velodyne_axes="lidar"``); the sweeps are written in it.

Calibration. A KITTI source's calibration file is copied byte for byte. Otherwise one is
synthesised from the rig: one camera becomes ``image_2`` (:func:`common.choose_camera`: the front
camera), ``Tr_velo_to_cam = T_cam_from_velo`` ("cam0" is that camera), ``R0_rect`` the rotation
that levels it (:func:`common.level_rotation`: the rectified y axis points along the ego's down, so
that ``rotation_y`` is a rotation about the vertical, as KITTI assumes; ``level=False`` gives the
identity), ``P2 = K [I | 0]`` with the camera's own K (``P0 = P1 = P3 = P2``: only image_2 is
written) and ``Tr_imu_to_velo = T_velo_from_imu`` (the rig's ``imu`` sensor, else the ego frame).
The image_2 files are the camera's images resampled to that rectified pinhole camera (undistorted
and levelled, :class:`common.PinholeView`), so ``cam0rect`` is the image_2 camera frame and P2
projects labels onto the written images.

Tilt. KITTI holds a heading (``rotation_y``) only: a tilted box (roll / pitch, ``Box3D``) is
written upright and counted in the summary (``ConvertSummary.tilt_dropped`` and the largest tilt,
``tilt_dropped_max``); its 2D box is the projection of the tilted box.

Which boxes. KITTI labels cover objects in the image: a box is written when its projected 3D box,
clipped to the image, is not empty. Boxes entirely outside image_2 (or behind it), and boxes whose
class has no KITTI type (ontology mapping), are listed in the summary's ``skipped`` with the reason.

Per-box fields. A KITTI source's boxes that are unchanged (equal to the box read from their line:
``LoadedSequence.source_label``) are written back as the source line, every number exactly as the
file wrote it (truncated, occluded, alpha, 2D box, h w l, x y z, rotation_y, score), when the
calibration is the source's own and image_2 is not resampled (``keep_source_fields``, default);
so are its ``DontCare`` rows. Any edit of a box (move, resize, turn) makes it differ from its
source box, and its fields are computed: ``bbox``: the projected 3D box clipped to the image,
at the image's capture time with ``time_correct`` (default: the track's box moved to that time
and the camera at the ego pose of that time, :mod:`formats.timing`; the 3D fields stay at the
sweep time)
(:func:`calib.projection.box_extent2d`; then to KITTI's pixel range ``[0, W-1] x [0, H-1]``, pixel
centres at integers; a box whose clipped 2D box is less than ``MIN_BOX_PX`` (1) pixel wide or high
is skipped with that reason: its outline covers under a pixel of the image, so no written 2D box
is degenerate), ``truncated``: the share of the projected outline outside the image (KITTI
tracking: the integer level of :func:`tracking_truncation`), ``occluded``: the LiDAR heuristic of
:mod:`formats.export.common` (3, unknown, without a sweep), ``alpha`` from the geometry. With
``keep_source_fields`` a track's own ``truncated`` / ``occluded`` / ``score`` attributes (as the
KITTI object reader keeps them) are written instead of the computed ones. ``DontCare`` lines are
written from the source's ignore regions of the exported camera. Numbers: 2
decimals for truncation and the 2D box, 4 for the 3D values and alpha (sub-centimetre round trips);
``decimals=2`` writes everything at the benchmark files' precision.

Sensor files. ``velodyne``: float32 x y z intensity in the velodyne frame (with ``deskew``,
sweeps with per-point times motion-compensated to the sweep time, :mod:`formats.timing`; ``deskew="objects"``:
moving tracks' points also carried to the sweep time) (a source file already in
that layout and frame is copied or linked, ``link``); intensity is copied unscaled (0 when the source has
none). ``image_2``: PNG (a PNG source image that needs no resampling is linked: hard link, else symbolic
link, else copy; ``images="reencode"`` encodes it again, ``link`` given places it that way).

Poses (tracking). ``oxts/<seq>.txt`` holds one OXTS record per frame: a KITTI tracking source's
own file is copied; otherwise the IMU poses (``T_world_from_ego @ T_ego_from_imu``) are written
back as OXTS through the inverse of the KITTI devkit's Mercator projection
(:mod:`formats.datasets.oxts`), the world's x/y axes taken as east/north and frame 0 placed at
``origin_latlon`` (default: Karlsruhe, 49.011 N 8.4237 E, altitude 112 m); velocities (vn, ve, vf,
vl, vu) are finite differences, the other fields 0. A source without real poses (KITTI object
frames, a tracking sequence without OXTS) gets no OXTS file. The KITTI tracking reader makes the
velodyne frame at frame 0 its world, so boxes read back equal the source's up to that fixed transform.
Frame times are not kept (the KITTI tracking reader assumes 10 Hz).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calib.readers import KittiCalib, load_kitti_calib
from calib.transforms import invert
from formats.datasets.base import LoadedSequence
from formats.datasets.oxts import EARTH_RADIUS_M, OXTS_FIELDS
from formats.errors import FormatError
from formats.export.common import (
    ClassMapper,
    PinholeView,
    ViewCache,
    choose_camera,
    encode_image,
    file_modes,
    kitti_occlusion,
    level_rotation,
    may_be_in_image,
    place_file,
    write_bytes,
    xform,
    xform_into,
)
from formats.export.occlusion import SweepBoxes, box_radii, pinhole_extent2d, spheres_outside
from formats.export.summary import ConvertSummary
from formats.io import staged_output
from formats.kitti_labels import DONTCARE, KittiObject, box_to_kitti
from formats.timing import SequenceTiming
from fusionlabel.ontology import Ontology

KITTI_FORMATS = ("kitti-object", "kitti-flat", "kitti-tracking")
#: Where frame 0 is put on the globe when poses are written as OXTS: (lat, lon) degrees, alt m.
DEFAULT_ORIGIN = (49.011, 8.4237, 112.0)

Progress = Callable[[int, int], None] | None


# ---- calibration --------------------------------------------------------------------------------
def _row(M: np.ndarray) -> str:
    return " ".join(f"{v:.12e}" for v in np.asarray(M, dtype=np.float64).ravel())


def calib_text(calib: KittiCalib) -> str:
    """A KITTI object/tracking calibration file for ``calib`` (12-digit mantissas)."""
    lines = [f"P{i}: {_row(calib.P[i])}" for i in range(4)]
    lines.append(f"R0_rect: {_row(calib.R0_rect)}")
    lines.append(f"Tr_velo_to_cam: {_row(calib.Tr_velo_to_cam[:3])}")
    if calib.Tr_imu_to_velo is not None:
        lines.append(f"Tr_imu_to_velo: {_row(calib.Tr_imu_to_velo[:3])}")
    return "\n".join(lines) + "\n"


def source_calib_file(loaded: LoadedSequence, frame: int) -> Path | None:
    """The KITTI calibration file a KITTI source's frame came with, or None."""
    info = loaded.info
    if info.root is None:
        return None
    if info.format == "kitti-object":
        p = info.root / "calib" / f"{info.meta['frame_ids'][frame]}.txt"
    elif info.format == "kitti-flat":
        p = info.root / f"{info.meta['frame_ids'][frame]}.txt"
    elif info.format == "kitti-tracking":
        p = info.root / "calib" / f"{info.meta['sequence']}.txt"
    else:
        return None
    return p if p.is_file() else None


@dataclass
class FrameCalib:
    """The KITTI calibration of one exported frame: ``calib``, the file to copy (``source``) or
    the text to write (``text``), and ``view``, the image_2 camera as exported (pinhole model of
    the rectified camera 2, with the resampling from the source camera)."""

    calib: KittiCalib
    source: Path | None
    text: str | None
    view: PinholeView
    #: ``T_velo_from_lidar`` of the frames with this calibration (set by :func:`cached_frame_calib`)
    T_velo_from_lid: np.ndarray | None = None

    @functools.cached_property
    def T_cam2_from_cam0rect(self) -> np.ndarray:
        return self.calib.T_cami_from_cam0rect(2)

    @functools.cached_property
    def T_cam0rect_from_velo(self) -> np.ndarray:
        return self.calib.T_cam0rect_from_velo()

    @functools.cached_property
    def data(self) -> bytes | None:
        """The synthesised file's bytes (None for a source file)."""
        return None if self.text is None else self.text.encode()

    def write(self, path: Path, link: str) -> None:
        if self.source is not None:
            place_file(self.source, path, link)
        else:
            write_bytes(path, self.data or b"")


def T_velo_from_lidar(loaded: LoadedSequence, frame: int, lidar: str, axes: str = "ego") -> np.ndarray:
    """4x4 rotation from the LiDAR frame to the written ``velodyne`` frame: the ego's axes at the
    LiDAR's origin (``axes="ego"``: x forward, y left, z up, as KITTI tools assume) or the LiDAR's
    own frame (``axes="lidar"``). A KITTI source's velodyne frame is its ego frame either way."""
    if axes not in ("ego", "lidar"):
        raise ValueError(f"velodyne axes must be 'ego' or 'lidar', got {axes!r}")
    T = np.eye(4)
    if axes == "ego":
        T[:3, :3] = loaded.rig(frame).T("ego", lidar)[:3, :3]
    return T


def frame_calib(loaded: LoadedSequence, frame: int, camera: str, lidar: str, views: ViewCache,
                level: bool = True, axes: str = "ego") -> FrameCalib:
    """The KITTI calibration for ``frame``: the source's own file when it is KITTI and ``camera``
    is its image_2, else synthesised from the rig (module docstring; ``level``: R0_rect levels
    the camera, else it is the identity)."""
    rig = loaded.rig(frame)
    if loaded.format in KITTI_FORMATS and camera == "image_2":
        src = source_calib_file(loaded, frame)
        if src is not None:
            return FrameCalib(load_kitti_calib(src), src, None, views.get(camera, rig.camera(camera)))
    cam = rig.camera(camera)
    R0 = level_rotation(rig.T_ego_from(camera)) if level else np.eye(3)
    view = views.get(camera, cam, R0)
    P = np.zeros((3, 4))
    P[:, :3] = view.pinhole.K
    imu = "imu" if "imu" in rig.names() else "ego"
    calib = KittiCalib(
        P=(P, P.copy(), P.copy(), P.copy()),
        R0_rect=R0,
        Tr_velo_to_cam=rig.T(camera, lidar) @ invert(T_velo_from_lidar(loaded, frame, lidar, axes)),
        Tr_imu_to_velo=T_velo_from_lidar(loaded, frame, lidar, axes) @ rig.T(lidar, imu),
        source="<synthesised>",
    )
    return FrameCalib(calib, None, calib_text(calib), view)


def cached_frame_calib(ctx: _Ctx, frame: int) -> FrameCalib:
    """:func:`frame_calib` of ``frame`` with the context's settings, made once per rig (and per
    source calibration file): frames that share them share the same calibration."""
    loaded = ctx.loaded
    src = source_calib_file(loaded, frame) if loaded.format in KITTI_FORMATS and ctx.camera == "image_2" else None
    key = (id(loaded.rig(frame)), src)
    fc = ctx.calibs.get(key)
    if fc is None:
        fc = ctx.calibs[key] = frame_calib(loaded, frame, ctx.camera, ctx.lidar, ctx.views, ctx.level, ctx.axes)
        fc.T_velo_from_lid = (np.eye(4) if fc.source is not None
                              else T_velo_from_lidar(loaded, frame, ctx.lidar, ctx.axes))
    return fc


# ---- OXTS ---------------------------------------------------------------------------------------
def oxts_records(T_world_from_imu: np.ndarray, times_ns: list[int],
                 origin: tuple[float, float, float] = DEFAULT_ORIGIN) -> np.ndarray:
    """(F, 4, 4) IMU poses -> (F, 30) OXTS records (module docstring): the inverse of
    :func:`formats.datasets.oxts.oxts_imu_poses` with world x/y = east/north."""
    T = np.asarray(T_world_from_imu, dtype=np.float64)
    lat0, lon0, alt0 = origin
    scale = math.cos(lat0 * math.pi / 180.0)
    mx0 = scale * lon0 * math.pi * EARTH_RADIUS_M / 180.0
    my0 = scale * EARTH_RADIUS_M * math.log(math.tan((90.0 + lat0) * math.pi / 360.0))
    pos = T[:, :3, 3] - T[0, :3, 3] + np.array([mx0, my0, alt0])
    out = np.zeros((len(T), OXTS_FIELDS))
    out[:, 1] = pos[:, 0] * 180.0 / (scale * math.pi * EARTH_RADIUS_M)
    out[:, 0] = 360.0 / math.pi * np.arctan(np.exp(pos[:, 1] / (scale * EARTH_RADIUS_M))) - 90.0
    out[0, 0], out[0, 1] = lat0, lon0
    out[:, 2] = pos[:, 2]
    R = T[:, :3, :3]
    out[:, 5] = np.arctan2(R[:, 1, 0], R[:, 0, 0])
    out[:, 4] = np.arctan2(-R[:, 2, 0], np.hypot(R[:, 0, 0], R[:, 1, 0]))
    out[:, 3] = np.arctan2(R[:, 2, 1], R[:, 2, 2])
    if len(T) > 1:
        t = np.asarray(times_ns, dtype=np.float64) * 1e-9
        v_world = np.gradient(T[:, :3, 3], t, axis=0)
        out[:, 6] = v_world[:, 1]  # vn
        out[:, 7] = v_world[:, 0]  # ve
        v_imu = np.einsum("nji,nj->ni", R, v_world)
        out[:, 8:11] = v_imu  # vf vl vu
    return out


def oxts_text(records: np.ndarray) -> str:
    lines = []
    for r in records:
        vals = [f"{v + 0.0:.15g}" for v in r[:23]] + [str(int(v)) for v in r[23:]]
        lines.append(" ".join(vals))
    return "\n".join(lines) + "\n"


def _has_real_poses(loaded: LoadedSequence) -> bool:
    info = loaded.info
    if info.format == "kitti-tracking" and info.meta.get("oxts_file") is None:
        return False
    return info.has_ego_poses()


# ---- per-frame labels ----------------------------------------------------------------------------
#: The source layouts whose label lines an export writes back for unchanged boxes.
KITTI_FORMATS = ("kitti-object", "kitti-flat", "kitti-tracking")
#: A written 2D box (clipped to ``[0, W-1] x [0, H-1]``) is at least this wide and high (pixels);
#: a box whose clipped outline is narrower (it covers under a pixel of the image, e.g. its outline
#: lies between W-1 and W-0.5) is skipped with that reason.
MIN_BOX_PX = 1.0
#: Truncated-share bounds of the KITTI tracking truncation levels 0 and 1 (above: 2).
TRACKING_TRUNCATION_BOUNDS = (0.3, 0.99)


def tracking_truncation(share: float) -> int:
    """KITTI tracking's integer truncation level from the share of the projected box outside the
    image: < 0.3 -> 0, <= 0.99 -> 1, else 2 (on the KITTI tracking sample 0016 the 3077 boxes of
    level 0 have shares of 0 to 0.1 (95th percentile), the 58 of level 1 shares of 0.5 to 0.95)."""
    if share < TRACKING_TRUNCATION_BOUNDS[0]:
        return 0
    return 1 if share <= TRACKING_TRUNCATION_BOUNDS[1] else 2


@dataclass
class _Ctx:
    loaded: LoadedSequence
    camera: str
    lidar: str
    mapper: ClassMapper
    views: ViewCache
    decimals: int | None
    keep_source_fields: bool
    occlusion: bool
    link: str
    level: bool
    axes: str
    timing: SequenceTiming | None = None
    deskew: bool | str = False
    image_link: str | None = None  # None: re-encode every image
    calibs: dict[tuple[int, Path | None], FrameCalib] = field(default_factory=dict)


def _fmt(v: float) -> str:
    s = f"{v:.2f}"
    return "0.00" if s == "-0.00" else s


def _dontcare(bbox: tuple[float, float, float, float], frame: int | None) -> str:
    head = f"{frame} -1 " if frame is not None else ""
    return head + "DontCare -1 -1 -10 " + " ".join(_fmt(v) for v in bbox) + " -1 -1 -1 -1000 -1000 -1000 -10"


def _write_velodyne(path: Path, xyz: np.ndarray, intensity: np.ndarray | None,
                    T_velo_from_lid: np.ndarray | None) -> None:
    """Write a sweep as KITTI float32 x y z intensity: ``xyz`` (N, 3) through ``T_velo_from_lid``
    (None: as it is), each coordinate computed as :func:`common.xform` computes it."""
    n = len(xyz)
    arr = np.empty((n, 4), dtype=np.float32)
    if T_velo_from_lid is None:
        arr[:, :3] = xyz
    else:  # the expression of common.xform, stored as float32
        xform_into(np.asarray(T_velo_from_lid, dtype=np.float64), xyz, arr)
    arr[:, 3] = 0.0 if intensity is None else np.asarray(intensity, dtype=np.float32).reshape(n)
    write_bytes(path, memoryview(arr).cast("B"))


@dataclass
class _Pending:
    """A box whose label line waits for its occlusion count."""

    m: int
    ref: Any
    typ: str
    attrs: dict[str, str]
    corners_cam: np.ndarray
    ext: Any
    bbox: tuple[float, float, float, float]


def _export_frame(ctx: _Ctx, k: int, fc: FrameCalib, summary: ConvertSummary, tracking: bool,
                  velo_path: Path, image_path: Path) -> list[str]:
    """Write the sweep and image of frame ``k``; return its label lines (tracking form when
    ``tracking``)."""
    loaded = ctx.loaded
    view = fc.view
    T_velo_from_lid = fc.T_velo_from_lid
    if T_velo_from_lid is None:
        T_velo_from_lid = np.eye(4) if fc.source is not None else T_velo_from_lidar(loaded, k, ctx.lidar, ctx.axes)
    T_velo_from_world = T_velo_from_lid @ invert(loaded.T_world_from_sensor(k, ctx.lidar))
    T_cam0rect_from_velo = fc.T_cam0rect_from_velo
    T_cam0rect_from_world = T_cam0rect_from_velo @ T_velo_from_world
    T_cam2_from_world = fc.T_cam2_from_cam0rect @ T_cam0rect_from_world
    rotated = not np.allclose(T_velo_from_lid, np.eye(4), atol=1e-12, rtol=0)
    where = f"frame {k}"
    ct = ctx.timing.capture(k, ctx.camera) if ctx.timing is not None else None
    moved = ct is not None and ct.capture_ns != ct.frame_ns
    shift = ct.ego_shift() if ct is not None else np.eye(4)

    # sweep (in the velodyne frame)
    pc = loaded.read_lidar(k, ctx.lidar)
    src = loaded.info.frames[k].lidar_files.get(ctx.lidar)
    xyz_lid = None
    if pc is None:
        summary.skipped.append((f"{where} {ctx.lidar}", "no LiDAR sweep"))
    else:
        xyz_lid = pc.xyz
        deskewed = False
        if ctx.deskew:
            xyz_lid, t = (ctx.timing or SequenceTiming(loaded)).export_sweep(k, ctx.lidar, pc, ctx.deskew)
            deskewed = t is None and xyz_lid is not pc.xyz
        same_layout = loaded.lidar_layout == "kitti" and src is not None and src.suffix == ".bin"
        if not rotated and not deskewed and same_layout and src is not None and src.is_file():
            place_file(src, velo_path, ctx.link)
        else:
            _write_velodyne(velo_path, xyz_lid, pc.intensity, T_velo_from_lid if rotated else None)

    # image
    img_src = loaded.info.frames[k].camera_files.get(ctx.camera)
    if (ctx.image_link is not None and not view.resamples and img_src is not None
            and img_src.suffix.lower() == ".png" and img_src.is_file()):
        place_file(img_src, image_path, ctx.image_link)
    else:
        img = loaded.read_image(k, ctx.camera)
        if img is None:
            summary.skipped.append((f"{where} {ctx.camera}", "no image at this frame"))
        else:
            write_bytes(image_path, encode_image(view.image(img), ".png", image_path))

    refs = loaded.annotations.boxes_at(k)
    boxes = [r.box for r in refs]
    outside = np.zeros(len(refs), dtype=bool)
    if refs and not moved:  # boxes certainly outside the image (at the capture time when it differs)
        centers = xform(T_cam2_from_world, np.array([b.center for b in boxes], dtype=np.float64))
        outside = spheres_outside(centers, box_radii(boxes), view.pinhole)

    lines: list[str | None] = []
    pending: list[_Pending] = []
    frame_field = k if tracking else None
    # the source's own lines hold for its unchanged boxes only in the very camera it labelled
    same_view = (ctx.keep_source_fields and fc.source is not None and not view.resamples
                 and ctx.camera == "image_2" and loaded.format in KITTI_FORMATS)
    for m, ref in enumerate(refs):
        what = f"{where} track {ref.track_id}"
        attrs = loaded.annotations.tracks[ref.track_id].attributes
        typ = ctx.mapper.for_track(ref.label, attrs)
        if typ is None:
            summary.skipped.append((what, f"class {ref.label!r} has no KITTI type"))
            continue
        src = loaded.source_label(k, ref.box) if same_view else None
        if isinstance(src, KittiObject) and src.text is not None:
            lines.append(src.source_line(typ, frame_field, ref.track_id if tracking else None))
            summary.boxes += 1
            continue
        ext = None
        if not outside[m]:
            if moved:  # the 2D box of the image: where the object is at its capture time
                corners_cam = xform(T_cam2_from_world @ shift, ct.corners_at([ref.track_id], ref.box.corners())[0])
            else:
                corners_cam = xform(T_cam2_from_world, ref.box.corners())
            if may_be_in_image(corners_cam, view.pinhole):
                ext = pinhole_extent2d(corners_cam, view.pinhole)
        if ext is None or ext.clipped is None:
            summary.skipped.append((what, f"outside the {ctx.camera} image"))
            continue
        x1, y1, x2, y2 = ext.clipped
        w_max, h_max = view.pinhole.width - 1.0, view.pinhole.height - 1.0
        bbox = (min(max(x1, 0.0), w_max), min(max(y1, 0.0), h_max), min(max(x2, 0.0), w_max),
                min(max(y2, 0.0), h_max))
        if bbox[2] - bbox[0] < MIN_BOX_PX or bbox[3] - bbox[1] < MIN_BOX_PX:
            summary.skipped.append((what, f"less than {MIN_BOX_PX:g} pixel wide or high in the {ctx.camera} image"))
            continue
        pending.append(_Pending(m, ref, typ, attrs, corners_cam, ext, bbox))
        lines.append(None)  # filled below, in this order

    counts: list[tuple[int, int]] | None = None
    if ctx.occlusion and xyz_lid is not None and pending:
        # NumPy, not the compiled kernels: one camera's counts are a few milliseconds, about what
        # they take compiled, and numba's import and kernel loading (~0.3 s per process) would not pay
        sb = SweepBoxes(xyz_lid, T_velo_from_lid if rotated else None, boxes, T_velo_from_world, kernels=False)
        counts = sb.occlusion_counts([(fc.T_cam2_from_cam0rect @ T_cam0rect_from_velo, view.pinhole,
                                       [(p.m, p.ext.polygon, p.corners_cam) for p in pending])])[0]

    it = iter(enumerate(pending))
    for i, line in enumerate(lines):
        if line is not None:
            continue
        j, p = next(it)
        ref, ext, attrs = p.ref, p.ext, p.attrs
        trunc = ext.truncation
        occ = 3
        if counts is not None:
            occ = kitti_occlusion(*counts[j])
        score = None
        if ctx.keep_source_fields:
            try:
                trunc = float(attrs["truncated"]) if "truncated" in attrs else trunc
                occ = int(attrs["occluded"]) if "occluded" in attrs else occ
                score = float(attrs["score"]) if "score" in attrs else None
            except ValueError:
                pass
        if tracking:  # KITTI tracking's truncation is an integer level
            trunc = float(tracking_truncation(trunc))
        obj = box_to_kitti(ref.box, p.typ, T_cam0rect_from_world, p.bbox, trunc, occ, score,
                           frame_field, ref.track_id if tracking else None)
        summary.drop_tilt(ref.box)  # KITTI holds a rotation_y only
        text = obj.format(ctx.decimals)
        if tracking:
            parts = text.split(" ")
            parts[3] = str(int(trunc))
            text = " ".join(parts)
        lines[i] = text
        summary.boxes += 1
    out = [line for line in lines if line is not None]
    regions = loaded.ignore_regions_at(k, ctx.camera)
    if regions and view.resamples:
        summary.skipped.append((f"{where} DontCare", "ignore regions of a resampled camera are not kept"))
    elif regions:
        out += [r.source.source_line(DONTCARE, frame_field) if same_view and isinstance(r.source, KittiObject)
                and r.source.text is not None else _dontcare(r.bbox, frame_field) for r in regions]
    return out


def _context(loaded: LoadedSequence, camera: str | None, lidar: str | None, ontology: Ontology | None,
             decimals: int | None, keep_source_fields: bool, occlusion: bool, link: str | None, level: bool,
             axes: str, images: str, time_correct: bool = True, deskew: bool | str = False) -> _Ctx:
    cam = choose_camera(loaded.rig(0), camera)
    lidars = loaded.lidar_names
    if lidar is None:
        if not lidars:
            raise FormatError(loaded.info.root, "the sequence has no LiDAR: KITTI needs velodyne/")
        lidar = lidars[0]
    elif lidar not in lidars:
        raise FormatError(loaded.info.root, f"no LiDAR {lidar!r}; the sequence has {lidars}")
    timing = SequenceTiming(loaded) if time_correct else None
    files, image_link = file_modes(link, images)
    return _Ctx(loaded, cam, lidar, ClassMapper(ontology, "kitti"), ViewCache(), decimals, keep_source_fields,
                occlusion, files, level, axes, timing, deskew, image_link)


def _notes(ctx: _Ctx, summary: ConvertSummary) -> None:
    loaded = ctx.loaded
    if ctx.deskew:
        note = (ctx.timing or SequenceTiming(loaded)).deskew_note
        if note is not None:
            summary.warnings.append(f"deskew: sweeps written as read: {note}")
    others = [n for n in loaded.lidar_names if n != ctx.lidar]
    if others:
        summary.warnings.append(f"only LiDAR {ctx.lidar!r} is written as velodyne; not written: {others}")
    cams = [n for n in loaded.camera_names if n != ctx.camera]
    if cams:
        summary.warnings.append(f"camera {ctx.camera!r} is written as image_2; not written: {cams}")
    fc = frame_calib(loaded, 0, ctx.camera, ctx.lidar, ctx.views, ctx.level, ctx.axes)
    if fc.view.resamples:
        what = "undistorted and levelled" if fc.view.source.is_distorted else "levelled"
        summary.warnings.append(f"camera {ctx.camera!r}: image_2 is resampled to the rectified pinhole camera "
                                f"({what}: R0_rect)")


# ---- writers ----------------------------------------------------------------------------------------
def write_kitti_object(loaded: LoadedSequence, dst: Path, *, progress: Progress = None, camera: str | None = None,
                       lidar: str | None = None, ontology: Ontology | None = None, decimals: int | None = None,
                       keep_source_fields: bool = True, occlusion: bool = True, link: str | None = None,
                       level: bool = True, velodyne_axes: str = "ego", images: str = "link",
                       overwrite: bool = False, time_correct: bool = True, deskew: bool | str = False,
                       frames: range | None = None, **_: Any) -> ConvertSummary:
    """Write ``loaded`` as a KITTI object folder at ``dst`` (module docstring). ``frames``: only
    these frames' files, into the existing folder ``dst`` (a frame-range task of
    ``formats.convert.convert_path``; the files are those of the whole sequence's export)."""
    ctx = _context(loaded, camera, lidar, ontology, decimals, keep_source_fields, occlusion, link, level,
                   velodyne_axes, images, time_correct, deskew)
    summary = ConvertSummary(outputs=[str(dst)])
    n = len(loaded)
    ks = range(n) if frames is None else frames
    if ks.step != 1 or ks.start < 0 or ks.stop > n:
        raise FormatError(loaded.info.root, f"frame range {ks.start}:{ks.stop} is not within 0:{n}")
    ids = loaded.info.meta.get("frame_ids") if loaded.format in ("kitti-object", "kitti-flat") else None
    target = staged_output(Path(dst), overwrite) if frames is None else nullcontext(Path(dst))
    with target as out:
        for d in ("calib", "velodyne", "image_2", "label_2"):
            (out / d).mkdir(exist_ok=frames is not None)
        for i, k in enumerate(ks):
            fid = str(ids[k]) if ids is not None else f"{k:06d}"
            fc = cached_frame_calib(ctx, k)
            fc.write(out / "calib" / f"{fid}.txt", ctx.link)
            lines = _export_frame(ctx, k, fc, summary, False, out / "velodyne" / f"{fid}.bin",
                                  out / "image_2" / f"{fid}.png")
            write_bytes(out / "label_2" / f"{fid}.txt", "".join(line + "\n" for line in lines).encode())
            summary.frames += 1
            if progress is not None:
                progress(i + 1, len(ks))
    if 0 in ks:  # (once per sequence)
        _notes(ctx, summary)
    return summary


def write_kitti_tracking(loaded: LoadedSequence, dst: Path, *, progress: Progress = None, camera: str | None = None,
                         lidar: str | None = None, ontology: Ontology | None = None, decimals: int | None = None,
                         keep_source_fields: bool = True, occlusion: bool = True, link: str | None = None,
                         level: bool = True, velodyne_axes: str = "ego", images: str = "link",
                         sequence: str | None = None,
                         origin_latlon: tuple[float, float, float] = DEFAULT_ORIGIN,
                         overwrite: bool = False, time_correct: bool = True, deskew: bool | str = False,
                         **_: Any) -> ConvertSummary:
    """Write ``loaded`` as one sequence of a KITTI tracking folder at ``dst`` (module docstring)."""
    ctx = _context(loaded, camera, lidar, ontology, decimals, keep_source_fields, occlusion, link, level,
                   velodyne_axes, images, time_correct, deskew)
    if loaded.frame_rigs is not None and any(r != loaded.frame_rigs[0] for r in loaded.frame_rigs):
        raise FormatError(loaded.info.root, "the frames have different calibrations (independent KITTI object "
                          "frames?); a KITTI tracking sequence has one calibration")
    seq = sequence or (str(loaded.info.meta["sequence"]) if loaded.format == "kitti-tracking" else "0000")
    summary = ConvertSummary(outputs=[str(dst)])
    n = len(loaded)
    with staged_output(Path(dst), overwrite) as out:
        for d in ("calib", f"velodyne/{seq}", f"image_02/{seq}", "label_02", "oxts"):
            (out / d).mkdir(parents=True)
        fc = cached_frame_calib(ctx, 0)
        fc.write(out / "calib" / f"{seq}.txt", ctx.link)
        lines: list[str] = []
        for k in range(n):
            lines += _export_frame(ctx, k, fc, summary, True, out / "velodyne" / seq / f"{k:06d}.bin",
                                   out / "image_02" / seq / f"{k:06d}.png")
            summary.frames += 1
            if progress is not None:
                progress(k + 1, n)
        write_bytes(out / "label_02" / f"{seq}.txt", "".join(line + "\n" for line in lines).encode())
        src_oxts = loaded.info.meta.get("oxts_file") if loaded.format == "kitti-tracking" else None
        if src_oxts is not None:
            place_file(Path(src_oxts), out / "oxts" / f"{seq}.txt", ctx.link)
        elif _has_real_poses(loaded):
            rig = loaded.rig(0)
            imu = "imu" if "imu" in rig.names() else "ego"
            T_ego_from_imu = rig.T("ego", imu)
            poses = np.stack([f.T_world_from_ego @ T_ego_from_imu for f in loaded.info.frames])
            recs = oxts_records(poses, loaded.info.frame_times_ns(), origin_latlon)
            write_bytes(out / "oxts" / f"{seq}.txt", oxts_text(recs).encode())
        else:
            summary.warnings.append("the source has no ego poses: no OXTS file written")
    _notes(ctx, summary)
    return summary
