"""What the writers share: staged output folders, class mapping, pinhole resampling of distorted
cameras, the LiDAR occlusion heuristic, deterministic tokens and file copies.

Occlusion heuristic (KITTI ``occluded`` and nuScenes ``visibility``)
---------------------------------------------------------------------
Seen from a camera, a box is occluded where something closer lies on the line of sight. The LiDAR
sweep samples those lines of sight: the sweep's points are projected into the (pinhole) image; of
the points that fall inside the box's clipped 2D outline (the convex hull of its projection), those
**inside the box** (0.1 m margin) are *hits*, those **closer to the camera than the box's nearest
corner** (camera depth z) and not inside it are *occluders*; points behind the box are ignored
(the LiDAR sits above the camera and sees over objects). The occluded share is
``occluders / (occluders + hits)``; with neither, it is unknown. It approximates the camera's view
by the LiDAR's (the sensors are a few decimetres apart) and reflects the LiDAR's sampling density.

* KITTI ``occluded``: share <= 0.2 -> 0 (fully visible), <= 0.6 -> 1 (partly), else 2 (largely
  occluded); unknown -> 3.
* nuScenes ``visibility`` (visible share = 1 - occluded share, over every camera that sees the box):
  [0, 0.4) -> "1" (v0-40), [0.4, 0.6) -> "2", [0.6, 0.8) -> "3", [0.8, 1] -> "4"; a box with no
  evidence (no camera sees it, or no point hits or hides it) gets "1".

Pinhole resampling
------------------
KITTI and nuScenes assume undistorted pinhole images. A distorted camera (radtan, fisheye) is
exported as the pinhole camera with **the same K and image size**: each output pixel's ray
``K^-1 (u, v, 1)`` is projected through the distorted model and the source image is sampled there
(``cv2.remap``, bilinear; pixels outside the source image or its valid field of view are black).
The exported intrinsics are that K; 2D boxes and projections use the pinhole model. The KITTI
writer also levels the camera (a rotation about its centre, :func:`level_rotation`) in the same
resampling, as KITTI's rectification ``R0_rect`` does.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.rig import Rig
from formats.errors import FormatError
from fusionlabel.ontology import Ontology

F64 = NDArray[np.float64]

#: Margin (m) around a box within which a LiDAR point counts as a hit on it.
HIT_MARGIN = 0.1
#: Occluded-share bounds of KITTI occlusion levels 0 and 1 (above the last: level 2).
KITTI_OCCLUSION_BOUNDS = (0.2, 0.6)
#: Visible-share lower bounds of nuScenes visibility levels "2", "3", "4".
NUSCENES_VISIBILITY_BOUNDS = (0.4, 0.6, 0.8)

#: Namespace of the deterministic (uuid5) tokens of exported datasets.
TOKEN_NAMESPACE = uuid.UUID("6f1c2a58-5a0e-4d8e-9d3b-3e1f4f0c7a11")


_TOKEN_PREFIX = TOKEN_NAMESPACE.bytes


def token(*parts: object) -> str:
    """A deterministic 32-hex-digit token: ``uuid.uuid5(TOKEN_NAMESPACE, "/".join(parts)).hex``,
    computed as that function does (SHA-1 of the namespace and the name, version and variant bits
    set) without building a UUID object."""
    h = bytearray(hashlib.sha1(_TOKEN_PREFIX + "/".join(map(str, parts)).encode("utf-8"), usedforsecurity=False)
                  .digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    return h.hex()




LINK_MODES = ("copy", "hardlink", "symlink", "link")
#: How images the output format accepts as they are get there: ``link`` (placed with
#: :func:`place_file` mode ``link``, or the writer's ``link`` mode when one is given) or
#: ``reencode`` (decoded and encoded again, as an image that needs resampling always is).
IMAGE_MODES = ("link", "reencode")


def place_file(src: Path, dst: Path, mode: str = "copy") -> str:
    """Put ``src`` at ``dst`` (its folder must exist): a byte copy, a hard link (falls back to a
    copy across file systems), an absolute symbolic link, or ``link``: a hard link, else a
    symbolic link, else a copy. Returns how it was placed (``copy``, ``hardlink``, ``symlink``)."""
    if mode == "copy":
        shutil.copyfile(src, dst)
        return "copy"
    if mode in ("hardlink", "link"):
        try:
            os.link(src, dst)
            return "hardlink"
        except OSError:
            if mode == "hardlink":
                shutil.copyfile(src, dst)
                return "copy"
        try:
            os.symlink(Path(src).resolve(), dst)
            return "symlink"
        except OSError:
            shutil.copyfile(src, dst)
            return "copy"
    if mode == "symlink":
        os.symlink(Path(src).resolve(), dst)
        return "symlink"
    raise ValueError(f"link mode must be one of {LINK_MODES}, got {mode!r}")


def file_modes(link: str | None, images: str) -> tuple[str, str | None]:
    """(mode for the unchanged source files, mode for the images the format accepts as they are
    or None to re-encode them): ``link`` given applies to both; by default files are copied and
    images linked (``link``). ValueError for an unknown mode."""
    if link is not None and link not in LINK_MODES:
        raise ValueError(f"link mode must be one of {LINK_MODES}, got {link!r}")
    if images not in IMAGE_MODES:
        raise ValueError(f"image mode must be one of {IMAGE_MODES}, got {images!r}")
    return link or "copy", None if images == "reencode" else link or "link"


def table_json(records: list[dict]) -> bytes:
    """A dataset table (a JSON array of records) as UTF-8 bytes, one record per line: the C
    encoder's compact records (much faster than ``json.dumps(..., indent=...)``, whose encoder is
    pure Python), still readable line by line. NaN and infinity are refused (ValueError)."""
    if not records:
        return b"[]\n"
    enc = json.JSONEncoder(allow_nan=False, separators=(", ", ": ")).encode
    return ("[\n" + ",\n".join(map(enc, records)) + "\n]\n").encode()


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write a file inside a staged output folder (the folder rename makes the export atomic)."""
    with open(path, "wb") as f:
        f.write(data)


def encode_image(image: np.ndarray, suffix: str, path_for_errors: Path, jpeg_quality: int = 95) -> bytes:
    """RGB (H, W, 3) or grey (H, W) uint8 -> PNG or JPEG bytes."""
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, buf = cv2.imencode(suffix, img, params)
    if not ok:
        raise FormatError(path_for_errors, f"cannot encode the image as {suffix}")
    return buf.tobytes()


# ---- classes ---------------------------------------------------------------------------------------
class ClassMapper:
    """Maps track labels to a dataset's class names through the ontology. A label may be an
    ontology class (``car``), already a name of the target dataset (``Car`` for KITTI,
    ``vehicle.car`` for nuScenes) or a name of the other dataset (through the ontology's reverse
    lookup: ``Cyclist`` -> ``cyclist`` -> ``vehicle.bicycle``); None when there is no mapping
    (``Misc`` has no nuScenes category, ``vehicle.bicycle`` no KITTI type unless ridden:
    :meth:`for_track`)."""

    def __init__(self, ontology: Ontology | None, target: str) -> None:
        self.ontology = ontology or Ontology.default()
        self.target = target
        self.kitti_types = {c.kitti for c in self.ontology if c.kitti}
        self.nusc_categories = {c.nuscenes for c in self.ontology if c.nuscenes}
        self._cache: dict[str, str | None] = {}

    def __call__(self, label: str) -> str | None:
        if label not in self._cache:
            self._cache[label] = self._map(label)
        return self._cache[label]

    def _map(self, label: str) -> str | None:
        onto = self.ontology
        own = self.kitti_types if self.target == "kitti" else self.nusc_categories
        if label in own:
            return label
        spec = onto.get(label) or onto.get(label.lower())
        if spec is None:
            spec = onto.from_nuscenes(label) if self.target == "kitti" else onto.from_kitti(label)
        if spec is None:
            return None
        return spec.kitti if self.target == "kitti" else spec.nuscenes

    def for_track(self, label: str, attributes: dict[str, str]) -> str | None:
        """As calling the mapper, but a nuScenes ``vehicle.bicycle`` whose ``nuscenes_attributes``
        (kept by the nuScenes reader) say ``cycle.with_rider`` is the ontology's ``cyclist``."""
        if (label == "vehicle.bicycle" and "cycle.with_rider" in attributes.get("nuscenes_attributes", "").split(",")
                and "cyclist" in self.ontology):
            return self("cyclist")
        return self(label)


# ---- cameras ---------------------------------------------------------------------------------------
def choose_camera(rig: Rig, preferred: str | None = None) -> str:
    """The camera exported as KITTI ``image_2``: ``preferred`` when given, else ``image_2``, else a
    forward camera (``cam_front``, ``CAM_FRONT``, any name with "front" but not left/right/back),
    else the first camera. FormatError when the rig has no camera."""
    names = rig.camera_names()
    if preferred is not None:
        if preferred not in names:
            raise FormatError(None, f"no camera {preferred!r}; the rig has {names}")
        return preferred
    if not names:
        raise FormatError(None, "the sequence has no camera: KITTI needs image_2 and its calibration")
    for n in names:
        if n in ("image_2", "cam_front", "CAM_FRONT"):
            return n
    for n in names:
        low = n.lower()
        if "front" in low and not any(s in low for s in ("left", "right", "back", "rear")):
            return n
    return names[0]


def level_rotation(T_ego_from_cam: F64) -> F64:
    """(3, 3) ``R_level_from_cam``: the rotation from a camera's optical frame to the levelled
    camera with the same heading: y along the ego's down (-z), z the optical axis projected onto
    the ego's horizontal plane, x = y cross z (right)."""
    R_cam_from_ego = np.asarray(T_ego_from_cam, dtype=np.float64)[:3, :3].T
    up = R_cam_from_ego @ np.array([0.0, 0.0, 1.0])
    y = -up
    z = np.array([0.0, 0.0, 1.0]) - up[2] * up
    nz = np.linalg.norm(z)
    if nz < 1e-6:
        raise FormatError(None, "the camera looks straight up or down: it cannot be levelled")
    z /= nz
    x = np.cross(y, z)
    return np.stack([x, y, z])


@dataclass
class PinholeView:
    """A camera as exported: ``pinhole`` (the source's K and size, no distortion), optionally
    rotated by ``R_out_from_cam`` (rectification), and, when resampling is needed, the
    ``cv2.remap`` maps from output pixels to source pixels."""

    source: CameraModel
    pinhole: CameraModel
    R_out_from_cam: F64
    map_x: NDArray[np.float32] | None = None
    map_y: NDArray[np.float32] | None = None

    @classmethod
    def of(cls, camera: CameraModel, R_out_from_cam: F64 | None = None) -> PinholeView:
        pin = CameraModel(camera.K, camera.width, camera.height, "none", ())
        R = np.eye(3) if R_out_from_cam is None else np.asarray(R_out_from_cam, dtype=np.float64)
        if not camera.is_distorted and np.allclose(R, np.eye(3), atol=1e-12, rtol=0):
            return cls(camera, pin, R)
        w, h = camera.width, camera.height
        u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        uv = np.stack([u.ravel(), v.ravel()], axis=1)
        rays_cam = pin.rays(uv) @ R  # r_cam = R_out_from_cam^T r_out
        src_uv, _, valid = camera.project(rays_cam, near=1e-9, require_in_image=False)
        src_uv[~valid] = -10.0
        mx = src_uv[:, 0].reshape(h, w).astype(np.float32)
        my = src_uv[:, 1].reshape(h, w).astype(np.float32)
        return cls(camera, pin, R, mx, my)

    @property
    def resamples(self) -> bool:
        return self.map_x is not None

    def image(self, image: np.ndarray) -> np.ndarray:
        """The source image resampled to the output model (unchanged when no resampling is needed)."""
        if self.map_x is None:
            return image
        return cv2.remap(image, self.map_x, self.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0)


class ViewCache:
    """PinholeView per (camera name, camera model, rotation), so that remap tables are built once."""

    def __init__(self) -> None:
        self._views: list[tuple[str, CameraModel, F64 | None, PinholeView]] = []

    def get(self, name: str, camera: CameraModel, R_out_from_cam: F64 | None = None) -> PinholeView:
        for n, c, r, v in self._views:
            same_r = (r is None and R_out_from_cam is None) or (
                r is not None and R_out_from_cam is not None and np.array_equal(r, R_out_from_cam))
            if n == name and c == camera and same_r:
                return v
        v = PinholeView.of(camera, R_out_from_cam)
        self._views.append((name, camera, None if R_out_from_cam is None else np.array(R_out_from_cam), v))
        return v


# ---- occlusion heuristic ------------------------------------------------------------------------
def _in_convex(poly: F64, pts: F64) -> NDArray[np.bool_]:
    """(N,) bool: 2D points inside the convex polygon (K, 2) (either orientation, boundary in)."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    cross = (b[:, 0] - a[:, 0])[None, :] * (pts[:, 1:2] - a[:, 1][None, :]) - (b[:, 1] - a[:, 1])[None, :] * (
        pts[:, 0:1] - a[:, 0][None, :]
    )
    return np.all(cross >= -1e-9, axis=1) | np.all(cross <= 1e-9, axis=1)


@dataclass
class ProjectedSweep:
    """A sweep seen from one camera: pixel positions ``uv`` (M, 2) and depths ``depth`` (M,) of
    the points that land in the image, ``index`` (M,) into the sweep, and ``box_of`` (N,) the
    index of the box holding each sweep point (-1 none; ``fusionlabel.geometry.point_box_indices``
    with the hit margin)."""

    uv: F64
    depth: F64
    index: NDArray[np.int64]
    box_of: NDArray[np.int64]


def xform(T: F64, pts: np.ndarray) -> F64:
    """(N, 3) points through a 4x4 transform -> (N, 3) float64, as
    ``calib.transforms.transform_points`` but computed column by column (several times faster than
    numpy's (N, 3) @ (3, 3) matmul on large clouds): :func:`xform_into`."""
    p = np.asarray(pts)
    out = np.empty((len(p), 3), dtype=np.float64)
    xform_into(T, p, out)
    return out


#: Points per block of :func:`xform_into` on a large cloud (its float64 temporaries, 128 KB each,
#: stay in the CPU's cache: about twice as fast as whole-cloud temporaries on a 115,000-point sweep).
XFORM_BLOCK = 16384


def xform_into(T: F64, pts: np.ndarray, out: np.ndarray) -> None:
    """Store (N, 3) points ``pts`` through the 4x4 transform ``T`` in ``out[:, :3]`` ((N, >= 3) of
    any float dtype: each value is cast to it). Each coordinate is
    ``T[i, 0] * x + T[i, 1] * y + T[i, 2] * z + T[i, 3]`` computed in float64 in that order (the
    points converted to float64 first, as numpy promotes them), on a large cloud block by block
    of :data:`XFORM_BLOCK` points."""
    T = np.asarray(T, dtype=np.float64)
    p = np.asarray(pts)
    n = len(p)
    if n <= XFORM_BLOCK or p.dtype.kind not in "biuf" or p.dtype.itemsize > 8:  # (longdouble: as numpy does)
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        for i in range(3):
            out[:, i] = T[i, 0] * x + T[i, 1] * y + T[i, 2] * z + T[i, 3]
        return
    t = T[:3].tolist()  # (Python floats: the same float64 products as numpy's scalars)
    cols = np.empty((3, XFORM_BLOCK))
    acc = np.empty(XFORM_BLOCK)
    tmp = np.empty(XFORM_BLOCK)
    for s in range(0, n, XFORM_BLOCK):
        e = min(n, s + XFORM_BLOCK)
        k = e - s
        c, a, b = cols[:, :k], acc[:k], tmp[:k]
        c[...] = p[s:e, :3].T  # the block's x, y, z as float64 rows
        for i in range(3):
            np.multiply(c[0], t[i][0], out=a)
            np.multiply(c[1], t[i][1], out=b)
            a += b
            np.multiply(c[2], t[i][2], out=b)
            a += b
            a += t[i][3]
            out[s:e, i] = a


def project_sweep(pts_cam: F64, camera: CameraModel, box_of: NDArray[np.int64]) -> ProjectedSweep:
    """Project a sweep (N, 3) given in the camera frame (metres) into ``camera``."""
    front = np.flatnonzero(pts_cam[:, 2] > 0.1)
    uv, depth, valid = camera.project(pts_cam[front])
    keep = np.flatnonzero(valid)
    return ProjectedSweep(uv[keep], depth[keep], front[keep], box_of)


def may_be_in_image(corners_cam: F64, camera: CameraModel, near: float = 0.1) -> bool:
    """Cheap pre-test of :func:`calib.projection.box_extent2d` on a pinhole camera: False when the
    box (corners (8, 3), camera frame) is certainly not in the image (behind the camera, or in
    front of it but wholly to one side of the image)."""
    z = corners_cam[:, 2]
    if (z <= near).all():
        return False
    if (z <= near).any():
        return True
    K = camera.K
    u = K[0, 0] * corners_cam[:, 0] / z + K[0, 1] * corners_cam[:, 1] / z + K[0, 2]
    v = K[1, 1] * corners_cam[:, 1] / z + K[1, 2]
    return not ((u < -0.5).all() or (u > camera.width - 0.5).all() or (v < -0.5).all()
                or (v > camera.height - 0.5).all())


def occlusion_counts(sweep: ProjectedSweep, polygon: F64, corners_cam: F64, box_index: int) -> tuple[int, int]:
    """``(hits, occluders)`` of one box (see the module docstring): ``polygon`` (K, 2) its clipped
    outline in px, ``corners_cam`` (8, 3) its corners in the camera frame."""
    if len(polygon) < 3 or len(sweep.uv) == 0:
        return 0, 0
    lo = polygon.min(axis=0)
    hi = polygon.max(axis=0)
    uv = sweep.uv
    sel = np.flatnonzero((uv[:, 0] >= lo[0]) & (uv[:, 0] <= hi[0]) & (uv[:, 1] >= lo[1]) & (uv[:, 1] <= hi[1]))
    if sel.size == 0:
        return 0, 0
    sel = sel[_in_convex(polygon, uv[sel])]
    inside = sweep.box_of[sweep.index[sel]] == box_index
    near = float(np.min(corners_cam[:, 2]))
    hits = int(np.count_nonzero(inside))
    occ = int(np.count_nonzero(~inside & (sweep.depth[sel] < near)))
    return hits, occ


def kitti_occlusion(hits: int, occluders: int) -> int:
    """KITTI occlusion level 0..3 from the counts (module docstring)."""
    if hits + occluders == 0:
        return 3
    share = occluders / (hits + occluders)
    if share <= KITTI_OCCLUSION_BOUNDS[0]:
        return 0
    if share <= KITTI_OCCLUSION_BOUNDS[1]:
        return 1
    return 2


def nuscenes_visibility(hits: int, occluders: int) -> str:
    """nuScenes visibility token "1".."4" from the counts (module docstring)."""
    if hits + occluders == 0:
        return "1"
    visible = hits / (hits + occluders)
    b2, b3, b4 = NUSCENES_VISIBILITY_BOUNDS
    return "4" if visible >= b4 else "3" if visible >= b3 else "2" if visible >= b2 else "1"


def frame_period_ns(times_ns: list[int]) -> int:
    """Median frame period of a sequence (ns); 100 ms for fewer than two frames."""
    if len(times_ns) < 2:
        return 100_000_000
    d = np.diff(np.asarray(times_ns, dtype=np.int64))
    return int(np.median(d)) if len(d) else 100_000_000


def finite_or(value: float, default: float) -> float:
    return value if math.isfinite(value) else default

