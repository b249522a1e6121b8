"""What every dataset loader returns (:class:`LoadedSequence`) and the helpers they share.

Frames and units (see ``docs/datasets.md``): boxes of the annotation document are in the
sequence's ``world`` frame (from the ego poses; identity poses make world = ego of each frame);
point clouds are ``(N, 3)`` float32 metres in their sensor's frame; images are ``(H, W, 3)`` uint8
RGB (``(H, W)`` for grey images); times are integer nanoseconds.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from calib.rig import Rig
from calib.transforms import invert
from formats.datasets.errors import DatasetError, ImageSizeError, TimestampError
from formats.io import check_confined
from formats.limits import MAX_FRAMES, MAX_IMAGE_PIXELS, SPARSE_FACTOR, SPARSE_SLACK
from formats.pointcloud import PointCloud, read_point_cloud
from formats.sync import SyncReport
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import SequenceInfo, Track

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]

#: Frame period assumed where a layout has no timestamps (documented per loader): 10 Hz.
DEFAULT_PERIOD_NS = 100_000_000

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class IgnoreRegion:
    """A 2D region of one camera image at one frame that must not be labelled nor count as a miss
    (KITTI ``DontCare``). ``bbox`` is (x1, y1, x2, y2) in pixels of that image; ``source`` the
    record it was read from (KITTI: the ``KittiObject`` with its line's text), written back as it was
    by a writer of the same kind."""

    frame: int
    camera: str
    bbox: tuple[float, float, float, float]
    label: str = "DontCare"
    source: Any = field(default=None, compare=False, repr=False)


@dataclass
class FrameData:
    """Everything decoded for one frame: sweeps by LiDAR name and images by camera name (cameras
    without an image at this frame are absent)."""

    index: int
    lidar: dict[str, PointCloud] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.lidar.values()) + sum(int(a.nbytes) for a in self.images.values())


@dataclass
class LoadedSequence:
    """A recording opened by :func:`formats.datasets.open_dataset`.

    * ``info``: the core :class:`SequenceInfo` (frames with timestamps, ego poses, sensor files;
      the rig of frame 0 in ``info.rig``).
    * ``annotations``: the labels that came with the data, world-frame tracks.
    * ``ignore_regions``: 2D DontCare regions per frame and camera.
    * ``sync``: how cameras were paired with LiDAR sweeps (:class:`formats.sync.SyncReport`).
    * ``frame_rigs``: per-frame rigs where calibration changes from frame to frame (KITTI object
      frames are independent recordings), else None; use :meth:`rig`.
    * ``sensor_poses``: per frame, ``T_world_from_ego`` at the capture time of individual sensors
      where it differs from the sweep's (nuScenes cameras); use :meth:`T_world_from_sensor`.
    * ``lidar_layout``: the ``.bin`` layout of the sweeps (``"kitti"``, ``"nuscenes"``, field names).
    * ``warnings``: what was noticed but is not an error (skipped folders, recovered headers).
    * ``source_labels``: per frame, the labels as the source file wrote them, each with the
      world-frame box read from it, ``(box, record)`` (KITTI: the ``KittiObject`` holding its line's
      text); use :meth:`source_label`. A writer of the same kind writes a box that is still equal to
      its source box from the record (the source's own numbers); an edited box no longer matches.
    """

    info: SequenceInfo
    annotations: AnnotationDocument
    ignore_regions: list[IgnoreRegion] = field(default_factory=list)
    sync: SyncReport = field(default_factory=SyncReport)
    frame_rigs: list[Rig] | None = None
    sensor_poses: list[dict[str, F64]] | None = None
    lidar_layout: str | tuple[str, ...] | None = None
    warnings: list[str] = field(default_factory=list)
    lidar_reader: Callable[[int, str], PointCloud | None] | None = None
    image_reader: Callable[[int, str], np.ndarray | None] | None = None
    closer: Callable[[], None] | None = None
    #: The real folders (and files) the sequence's files were checked to lie in (set by
    #: :func:`formats.datasets.open_dataset`; empty when built otherwise).
    allowed_roots: tuple[str, ...] = ()
    source_labels: dict[int, list[tuple[Any, Any]]] = field(default_factory=dict)
    #: per frame ``(its source_labels list, its length, {box: first record})`` (:meth:`source_label`)
    _source_index: dict[int, tuple[Any, int, dict[Any, Any] | None]] = field(
        default_factory=dict, repr=False, compare=False)

    def source_label(self, frame: int, box: Any) -> Any | None:
        """The source record of ``frame`` whose box read is exactly ``box`` (an unchanged box),
        else None: the first equal one, looked up in a table of the frame's boxes (equal boxes hash
        equal), built on first use and again when the frame's list changes."""
        recs = self.source_labels.get(frame, ())
        got = self._source_index.get(frame)
        if got is None or got[0] is not recs or got[1] != len(recs):
            index: dict[Any, Any] | None = {}
            for b, rec in recs:
                try:
                    index.setdefault(b, rec)  # type: ignore[union-attr]
                except TypeError:  # an unhashable box: look it up in the list
                    index = None
                    break
            got = self._source_index[frame] = (recs, len(recs), index)
        if got[2] is not None:
            try:
                return got[2].get(box)
            except TypeError:
                pass
        for b, rec in recs:
            if b == box:
                return rec
        return None

    # ---- description ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.info.name

    @property
    def format(self) -> str:
        return self.info.format

    def __len__(self) -> int:
        return len(self.info.frames)

    @property
    def lidar_names(self) -> list[str]:
        return self.info.rig.lidar_names()

    @property
    def camera_names(self) -> list[str]:
        return self.info.rig.camera_names()

    def rig(self, frame: int | None = None) -> Rig:
        """The rig valid at ``frame`` (the sequence rig when calibration is constant)."""
        if frame is not None and self.frame_rigs is not None:
            return self.frame_rigs[self._check_frame(frame)]
        return self.info.rig

    def ignore_regions_at(self, frame: int, camera: str | None = None) -> list[IgnoreRegion]:
        return [r for r in self.ignore_regions if r.frame == frame and (camera is None or r.camera == camera)]

    # ---- poses ---------------------------------------------------------------------------------
    def T_world_from_sensor(self, frame: int, sensor: str) -> F64:
        """4x4 pose of ``sensor`` (or ``"ego"``) in the world at its own capture time of ``frame``."""
        fi = self.info.frames[self._check_frame(frame)]
        T_world_from_ego = fi.T_world_from_ego
        if self.sensor_poses is not None and sensor in self.sensor_poses[frame]:
            T_world_from_ego = self.sensor_poses[frame][sensor]
        return T_world_from_ego @ self.rig(frame).T("ego", sensor)

    def T_sensor_from_world(self, frame: int, sensor: str) -> F64:
        """4x4 inverse of :meth:`T_world_from_sensor` (e.g. ``T_cam_from_world`` for projection)."""
        return invert(self.T_world_from_sensor(frame, sensor))

    # ---- data access ---------------------------------------------------------------------------
    def _check_frame(self, frame: int) -> int:
        n = len(self.info.frames)
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or not 0 <= frame < n:
            raise IndexError(f"frame {frame!r} out of range 0..{n - 1} of {self.info.name}")
        return int(frame)

    def read_lidar(self, frame: int, name: str | None = None) -> PointCloud | None:
        """The sweep of LiDAR ``name`` (default: the first) at ``frame``, in the sensor frame, or
        None when this frame has no sweep of it. Unknown names raise KeyError."""
        frame = self._check_frame(frame)
        names = self.lidar_names
        if name is None:
            if not names:
                return None
            name = names[0]
        if name not in names:
            raise KeyError(f"unknown LiDAR {name!r}; the sequence has {names}")
        if self.lidar_reader is not None:
            return self.lidar_reader(frame, name)
        path = self.info.frames[frame].lidar_files.get(name)
        if path is None:
            return None
        return read_point_cloud(path, self.lidar_layout)

    def read_image(self, frame: int, camera: str) -> np.ndarray | None:
        """The image of ``camera`` at ``frame`` as (H, W, 3) uint8 RGB ((H, W) for grey), or None
        when this frame has no image of it (see ``sync``). The size is checked against the
        camera model (:class:`ImageSizeError`)."""
        frame = self._check_frame(frame)
        rig = self.rig(frame)
        if camera not in rig.camera_names():
            raise KeyError(f"unknown camera {camera!r}; the sequence has {rig.camera_names()}")
        if self.image_reader is not None:
            return self.image_reader(frame, camera)
        path = self.info.frames[frame].camera_files.get(camera)
        if path is None:
            return None
        return decode_camera_image(read_image_bytes(path), path, rig, camera)

    def read_frame(self, frame: int) -> FrameData:
        """Every sweep and image of ``frame`` (the unit the frame cache stores)."""
        frame = self._check_frame(frame)
        out = FrameData(frame)
        for name in self.lidar_names:
            pc = self.read_lidar(frame, name)
            if pc is not None:
                out.lidar[name] = pc
        for cam in self.rig(frame).camera_names():
            img = self.read_image(frame, cam)
            if img is not None:
                out.images[cam] = img
        return out

    def frame_cache(self, max_megabytes: float = 1024.0, **kwargs: Any) -> Any:
        """A :class:`fusionlabel.frames.FrameCache` over :meth:`read_frame` (keyword arguments
        are passed on: ``ahead``, ``behind``, ``workers``)."""
        from fusionlabel.frames import FrameCache

        return FrameCache(self.read_frame, len(self), max_bytes=int(max_megabytes * 2**20), **kwargs)

    def close(self) -> None:
        """Release open files (the packed HDF5 container); a no-op for folder layouts."""
        if self.closer is not None:
            self.closer()


# ---- images ------------------------------------------------------------------------------------
def header_image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG or JPEG (None for other formats or when the
    header is not there)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        import io

        return _jpeg_size(io.BytesIO(data))
    return None


def decode_image_bytes(data: bytes | np.ndarray, source: PathLike) -> np.ndarray:
    """Decode PNG/JPEG/... bytes to (H, W, 3) uint8 RGB or (H, W) grey (16-bit PNGs keep uint16).
    The size in a PNG/JPEG header is checked against :data:`MAX_IMAGE_PIXELS` first, so a corrupt
    header allocates nothing; DatasetError names ``source``."""
    buf = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if buf.size == 0:
        raise DatasetError(source, "image file is empty (0 bytes)")
    size = header_image_size(buf[:65536].tobytes())
    if size is not None and (size[0] * size[1] > MAX_IMAGE_PIXELS or 0 in size):
        raise DatasetError(source, f"image header says {size[0]}x{size[1]} px (corrupt header?)")
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise DatasetError(source, f"cannot decode image ({' '.join(str(e).split())[:120]})") from None
    if img is None:
        raise DatasetError(source, "cannot decode image (corrupt or unsupported)")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return img


def read_image_bytes(path: PathLike) -> bytes:
    """The bytes of an image file; DatasetError names it when it cannot be read."""
    check_confined(path, DatasetError)
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise DatasetError(path, f"cannot read image: {e.strerror or e}") from None


def decode_image_file(path: PathLike) -> np.ndarray:
    """Read and decode an image file (see :func:`decode_image_bytes`)."""
    return decode_image_bytes(read_image_bytes(path), path)


def decode_camera_image(data: bytes | np.ndarray, source: PathLike, rig: Rig, camera: str) -> np.ndarray:
    """Decode the image of ``camera``: its header size is checked against the camera model before
    decoding (:class:`ImageSizeError`), then the decoded size."""
    head = bytes(memoryview(data)[:65536]) if not isinstance(data, np.ndarray) else data[:65536].tobytes()
    size = header_image_size(head)
    if size is not None:
        check_image_size(source, size, rig, camera)
    img = decode_image_bytes(data, source)
    check_image_size(source, (img.shape[1], img.shape[0]), rig, camera)
    return img


def image_size(path: PathLike) -> tuple[int, int]:
    """(width, height) px of an image, from the PNG/JPEG header alone when possible (no decode)."""
    p = Path(path)
    check_confined(p, DatasetError)
    try:
        with open(p, "rb") as f:
            head = f.read(32)
            if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
                w, h = struct.unpack(">II", head[16:24])
                return int(w), int(h)
            if head[:2] == b"\xff\xd8":
                size = _jpeg_size(f)
                if size is not None:
                    return size
    except OSError as e:
        raise DatasetError(p, f"cannot read image: {e.strerror or e}") from None
    img = decode_image_file(p)
    return int(img.shape[1]), int(img.shape[0])


def _jpeg_size(f: Any) -> tuple[int, int] | None:
    """Walk JPEG markers up to the first SOFn frame header; None when not found."""
    f.seek(2)
    while True:
        b = f.read(1)
        while b and b != b"\xff":
            b = f.read(1)
        while b == b"\xff":
            b = f.read(1)
        if not b:
            return None
        marker = b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        seg = f.read(2)
        if len(seg) < 2:
            return None
        length = struct.unpack(">H", seg)[0]
        if length < 2:  # corrupt: a segment cannot be shorter than its length field
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            data = f.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        f.seek(length - 2, 1)


def check_image_size(path: PathLike, size: tuple[int, int], rig: Rig, camera: str) -> None:
    """Raise :class:`ImageSizeError` when ``size`` (w, h) differs from the camera model's."""
    cam = rig.camera(camera)
    if (cam.width, cam.height) != tuple(size):
        raise ImageSizeError(path, (cam.width, cam.height), (int(size[0]), int(size[1])), camera)


def list_files(folder: Path, suffixes: Iterable[str]) -> dict[str, Path]:
    """Files of ``folder`` with one of ``suffixes`` (case-insensitive), by stem, sorted by stem.
    A ``.pcd.bin`` keeps ``.pcd`` out of its stem."""
    if not folder.is_dir():
        return {}
    suf = tuple(s.lower() for s in suffixes)
    out = {}
    for p in folder.iterdir():
        name = p.name.lower()
        if p.is_file() and name.endswith(suf) and not name.startswith("."):
            stem = p.name
            for s in sorted(suf, key=len, reverse=True):
                if name.endswith(s):
                    stem = p.name[: -len(s)]
                    break
            out[stem] = p
    return dict(sorted(out.items(), key=lambda kv: natural_key(kv[0])))


def natural_key(s: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically ("2" < "10")."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


# ---- timestamps --------------------------------------------------------------------------------
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$")
UNITS_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def integer_unit(value: int) -> str | None:
    """The unit of an integer epoch timestamp judged by its magnitude (dates after 1973):
    >= 1e17 ns, >= 1e14 us, >= 1e11 ms, >= 1e8 s; None below (a frame number, not a time)."""
    v = abs(value)
    if v >= 10**17:
        return "ns"
    if v >= 10**14:
        return "us"
    if v >= 10**11:
        return "ms"
    if v >= 10**8:
        return "s"
    return None


def parse_timestamp(text: str, unit: str | None = None) -> int:
    """One timestamp -> integer ns. Accepted: ``YYYY-MM-DD HH:MM:SS[.fffffffff]`` (KITTI raw; taken
    as UTC), a decimal number with a point (seconds, unless ``unit``), or an integer (in ``unit``,
    or by :func:`integer_unit`). ValueError when it is none of these."""
    s = text.strip()
    m = _DATETIME.match(s)
    if m:
        d = _dt.datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=_dt.UTC)
        frac = (m.group(3) or "").ljust(9, "0")
        return int(d.timestamp()) * 1_000_000_000 + int(frac or 0)
    try:
        dec = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not a timestamp: {s!r}") from None
    if not dec.is_finite():
        raise ValueError(f"not a finite timestamp: {s!r}")
    if unit is None:
        if "." in s or "e" in s.lower():
            unit = "s"
        else:
            unit = integer_unit(int(dec))
            if unit is None:
                raise ValueError(f"integer {s} is too small to be an epoch time in s/ms/us/ns; give the unit")
    if unit not in UNITS_NS:
        raise ValueError(f"unknown time unit {unit!r}; known: {sorted(UNITS_NS)}")
    return int((dec * UNITS_NS[unit]).to_integral_value())


def read_timestamps_file(path: PathLike, unit: str | None = None, strictly_increasing: bool = True) -> list[int]:
    """A ``timestamps.txt`` (one timestamp per non-empty line, see :func:`parse_timestamp`) -> ns.
    Malformed lines and (with ``strictly_increasing``) out-of-order lines raise
    :class:`TimestampError` naming the file and the line."""
    p = Path(path)
    check_confined(p, DatasetError)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(p, f"cannot read timestamps: {e}") from None
    out: list[int] = []
    last_line = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            t = parse_timestamp(line, unit)
        except ValueError as e:
            raise TimestampError(p, str(e), lineno) from None
        if strictly_increasing and out and t <= out[-1]:
            raise TimestampError(
                p, f"timestamps out of order: {line.strip()!r} is not after line {last_line}", lineno
            )
        out.append(t)
        last_line = lineno
    return out


_LAST_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(?!.*\d)")


def timestamp_from_name(stem: str, unit: str | None = None) -> int | None:
    """The timestamp in a file name (its last number), or None when that number is a frame id.
    ``1532402927647951`` -> us, ``1532402927.647951`` -> s, ``000134`` -> None (see
    :func:`integer_unit`)."""
    m = _LAST_NUMBER.search(stem)
    if not m:
        return None
    s = m.group(1)
    if unit is None and "." not in s and integer_unit(int(s)) is None:
        return None
    try:
        return parse_timestamp(s, unit)
    except ValueError:
        return None


def check_increasing(ts: Sequence[int], source: PathLike, names: Sequence[str] | None = None) -> None:
    """:class:`TimestampError` when ``ts`` is not strictly increasing (names the offending item)."""
    for i in range(1, len(ts)):
        if ts[i] <= ts[i - 1]:
            what = f"{names[i]!r} after {names[i - 1]!r}" if names else f"entry {i} after entry {i - 1}"
            raise TimestampError(source, f"timestamps out of order: {what} ({ts[i]} <= {ts[i - 1]} ns)")


# ---- ids ---------------------------------------------------------------------------------------
def map_track_ids(ids: Iterable[str]) -> dict[str, int]:
    """Original object ids -> int track ids, deterministically: decimal ids keep their value;
    other ids (and decimal ids that would collide, e.g. "07" vs "7") get the next free integers
    after the largest decimal id, in sorted order."""
    uniq_ids = set(ids)
    numeric = [s for s in uniq_ids if re.fullmatch(r"-?\d+", s.strip())]
    # canonical spellings ("7") before others ("07") so that they keep the value
    numeric.sort(key=lambda s: (int(s), s.strip() != str(int(s)), s))
    uniq = numeric + sorted(uniq_ids - set(numeric))
    out: dict[str, int] = {}
    taken: set[int] = set()
    rest = []
    for s in uniq:
        if s in numeric and int(s) not in taken:
            out[s] = int(s)
            taken.add(int(s))
        else:
            rest.append(s)
    nxt = max(taken, default=-1) + 1
    for s in sorted(rest):
        out[s] = nxt
        nxt += 1
    return out


def check_frame_numbers(numbers: Mapping[int, PathLike], source: PathLike) -> int:
    """The frame count (1 + the largest frame number) of a layout whose frames are numbered by
    file names or label lines: ``numbers`` maps each number used to the file that uses it.
    DatasetError naming that file when a number is negative, above :data:`MAX_FRAMES`, or so far
    beyond the others that the sequence would be mostly empty frames (a renamed file)."""
    if not numbers:
        return 0
    low = min(numbers)
    if low < 0:
        raise DatasetError(numbers[low], f"negative frame number {low}")
    last = max(numbers)
    n = last + 1
    if n > MAX_FRAMES or n > SPARSE_FACTOR * len(numbers) + SPARSE_SLACK:
        raise DatasetError(
            numbers[last],
            f"frame number {last} would make a sequence of {n} frames for {len(numbers)} numbered frames "
            f"(limit {MAX_FRAMES} frames, at most {SPARSE_FACTOR}x as many frames as numbers + {SPARSE_SLACK})",
        )
    return n


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(path, f"{what} folder not found")
    return path


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DatasetError(path, f"{what} not found")
    return path


def dense_tracks(tracks: dict[int, Track]) -> list[Track]:
    """Tracks of a layout that labels every frame (KITTI tracking, nuScenes samples, SUSTechPOINTS),
    sorted by id, each with a gap wherever the object has no box between its first and last
    observation: absent means absent (occluded or out of view), not something to interpolate."""
    out = []
    for tid in sorted(tracks):
        tr = tracks[tid]
        ks = tr.keyframe_indices()
        gaps = tuple((a + 1, b - 1) for a, b in zip(ks, ks[1:], strict=False) if b - a > 1)
        out.append(tr.copy(gaps=gaps) if gaps else tr)
    return out
