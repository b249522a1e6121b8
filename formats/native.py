"""The native sequence layout (written by ``fusionlabel synth``) and the native track file.

See ``docs/native-format.md`` for the full description. In short::

    ROOT/
      fusionlabel.json                 index: frames, timestamps (ns), ego poses, relative file paths
      rig.json                         sensor rig (calib.rig native rig JSON)
      lidar/<lidar>/<index:06d>.bin    float32 (N, 4): x, y, z (m, sensor frame), intensity [0, 1]
      lidar_instance/<lidar>/<index:06d>.bin   int32 (N,): GT track id per point, -1 = none (optional)
      lidar_semantic/<lidar>/<index:06d>.bin   uint8 (N,): GT point class per point (optional; the
                                       class table in the index's "point_classes", see
                                       fusionlabel.pointlabels.classes; 255 = none)
      lidar_time/<lidar>/<index:06d>.bin       float32 (N,): each point's time, seconds relative to
                                       the frame's timestamp_ns (optional; rotating sweeps)
      cameras/<camera>/<index:06d>.png 8-bit RGB images
      masks/<camera>/<index:06d>.png   16-bit instance masks, value = track id + 1, 0 = none (optional)
      labels/ground_truth.json         tracks in the world frame (optional)
      labels/map.json                  ground-truth map elements, world frame (optional, formats.maps.native)

Every file is written atomically (temporary file in the same folder, fsync, ``os.replace``); a
whole sequence is written into a temporary sibling folder that is renamed when complete. Bad input
raises :class:`formats.errors.FormatError` naming the file and the problem.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from calib.rig import Rig, load_rig_json, save_rig_json
from calib.transforms import check_transform
from formats.errors import FormatError
from formats.io import (
    atomic_write_bytes,
    atomic_write_json,
    check_confined,
    read_json_file,
    staged_output,
    validate,
)
from formats.limits import MAX_FRAMES
from formats.maps.native import load_map, save_map

if TYPE_CHECKING:
    from fusionlabel.synth import SynthScene
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument, box_dict
from fusionlabel.errors import FusionLabelError
from fusionlabel.map.element import MapElement
from fusionlabel.model import FrameInfo, SequenceInfo, Track

FORMAT = "fusionlabel-native"
VERSION = 1
INDEX_FILE = "fusionlabel.json"
RIG_FILE = "rig.json"
GT_FILE = "labels/ground_truth.json"
MAP_FILE = "labels/map.json"
TRACKS_FORMAT = "fusionlabel-tracks"
TRACKS_VERSION = 1
LIDAR_FIELDS = ("x", "y", "z", "intensity")
PNG_COMPRESSION = 1

PathLike = str | os.PathLike[str]


# ---- folder fsync and JSON (file writes: formats.io.atomic_write_*) ----------------------------
def read_json(path: PathLike) -> Any:
    """Parse a JSON file; FormatError names the file, line and column on failure."""
    return read_json_file(path, FormatError, allow_nan=False)


# ---- point clouds ----------------------------------------------------------------------------
def lidar_to_bytes(points: NDArray[np.floating]) -> bytes:
    """(N, 4) x, y, z, intensity -> little-endian float32 bytes (row-major)."""
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 4:
        raise ValueError(f"lidar points must have shape (N, 4), got {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("lidar points contain NaN or inf")
    return np.ascontiguousarray(pts, dtype="<f4").tobytes()


def write_lidar(path: PathLike, points: NDArray[np.floating]) -> None:
    """Write (N, 4) float32 points (x, y, z in metres in the sensor frame, intensity) atomically."""
    atomic_write_bytes(path, lidar_to_bytes(points))


#: Sweeps of at least this many bytes are memory-mapped by :func:`read_lidar` (1M points).
MMAP_MIN_BYTES = 16 << 20


def read_lidar(path: PathLike, expected_points: int | None = None) -> NDArray[np.float32]:
    """Read a native ``.bin`` sweep -> (N, 4) float32 (x, y, z m in the sensor frame, intensity).
    A sweep of :data:`MMAP_MIN_BYTES` or more is a copy-on-write memory map of the file (writes to
    the array stay private; the project's writers replace files, never rewrite them in place).

    Raises FormatError when the file is missing, its size is not a whole number of 16-byte
    points, the point count differs from ``expected_points`` or a value is NaN/inf."""
    path = Path(path)
    check_confined(path, FormatError)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size % 16:
                raise FormatError(
                    path, f"size {size} bytes is not a multiple of 16 (float32 x, y, z, intensity): truncated?"
                )
            if size and size >= MMAP_MIN_BYTES:  # big sweeps: mapped, copy-on-write (no 160 MB copy)
                pts = np.asarray(np.memmap(f, dtype="<f4", mode="c", shape=(size // 16, 4)))
            else:  # read straight into the array
                pts = np.empty((size // 16, 4), dtype="<f4")
                if size and f.readinto(memoryview(pts).cast("B")) != size:  # (an empty view cannot be cast)
                    raise FormatError(path, "lidar file changed while being read")
    except FileNotFoundError:
        raise FormatError(path, "lidar file not found") from None
    except OSError as e:  # (a failed map included: mmap.error is OSError)
        raise FormatError(path, f"cannot read lidar file: {e}") from None
    pts = pts.astype(np.float32, copy=False)  # native byte order (a copy on big-endian machines only)
    if expected_points is not None and pts.shape[0] != expected_points:
        raise FormatError(path, f"expected {expected_points} points, found {pts.shape[0]}")
    if not np.isfinite(pts.reshape(-1)).all():  # the cheap test first, the rows only when it fails
        bad = ~np.isfinite(pts).all(axis=1)
        raise FormatError(
            path, f"{int(bad.sum())} points contain NaN or inf (first at row {int(np.argmax(bad))})"
        )
    return pts


def write_instance(path: PathLike, instance: NDArray[np.integer]) -> None:
    """Write (N,) per-point instance ids as little-endian int32, atomically."""
    inst = np.asarray(instance)
    if inst.ndim != 1:
        raise ValueError(f"instance ids must have shape (N,), got {inst.shape}")
    atomic_write_bytes(path, np.ascontiguousarray(inst, dtype="<i4").tobytes())


def write_semantic(path: PathLike, semantic: NDArray[np.integer]) -> None:
    """Write (N,) per-point class indices as uint8, atomically."""
    sem = np.asarray(semantic)
    if sem.ndim != 1 or (sem.size and (sem.min() < 0 or sem.max() > 255)):
        raise ValueError(f"point classes must be (N,) values in 0..255, got shape {sem.shape}")
    atomic_write_bytes(path, np.ascontiguousarray(sem, dtype=np.uint8).tobytes())


def read_semantic(path: PathLike, expected_points: int | None = None) -> NDArray[np.uint8]:
    """Read per-point class indices (N,) uint8 written by :func:`write_semantic`."""
    path = Path(path)
    check_confined(path, FormatError)
    try:
        sem = np.frombuffer(path.read_bytes(), dtype=np.uint8).copy()
    except OSError as e:
        raise FormatError(path, f"cannot read point class file: {e}") from None
    if expected_points is not None and sem.shape[0] != expected_points:
        raise FormatError(path, f"expected {expected_points} point classes, found {sem.shape[0]}")
    return sem


def read_instance(path: PathLike, expected_points: int | None = None) -> NDArray[np.int32]:
    """Read per-point instance ids (N,) int32 (GT track id, -1 = ground/structure)."""
    path = Path(path)
    check_confined(path, FormatError)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(path, "instance file not found") from None
    except OSError as e:
        raise FormatError(path, f"cannot read instance file: {e}") from None
    if len(raw) % 4:
        raise FormatError(path, f"size {len(raw)} bytes is not a multiple of 4 (int32 per point): truncated?")
    inst = np.frombuffer(raw, dtype="<i4").astype(np.int32)
    if expected_points is not None and inst.shape[0] != expected_points:
        raise FormatError(path, f"expected {expected_points} instance ids, found {inst.shape[0]}")
    return inst


# ---- images ----------------------------------------------------------------------------------
def encode_png(image: NDArray[np.generic]) -> bytes:
    """RGB (H, W, 3) uint8 or single-channel (H, W) uint8/uint16 -> PNG bytes (deterministic)."""
    import cv2

    img = np.asarray(image)
    if img.ndim == 3:
        img = np.ascontiguousarray(img[:, :, ::-1])  # RGB -> BGR for OpenCV
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def read_image(path: PathLike) -> NDArray[np.uint8]:
    """Read an image file -> (H, W, 3) uint8 RGB; FormatError when missing or undecodable."""
    import cv2

    path = Path(path)
    check_confined(path, FormatError)
    if not path.is_file():
        raise FormatError(path, "image file not found")
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise FormatError(path, "cannot decode image (corrupt or not an image)")
    return img[:, :, ::-1].copy()


def read_mask(path: PathLike) -> NDArray[np.int32]:
    """Read a 16-bit instance mask PNG -> (H, W) int32 track ids (-1 = none)."""
    import cv2

    path = Path(path)
    check_confined(path, FormatError)
    if not path.is_file():
        raise FormatError(path, "mask file not found")
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None or img.ndim != 2:
        raise FormatError(path, "cannot decode a single-channel instance mask")
    return img.astype(np.int32) - 1


# ---- tracks ----------------------------------------------------------------------------------
def _num_list(v: Any, n: int, where: str, path: Path) -> list[float]:
    if (
        not isinstance(v, list)
        or len(v) != n
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    ):
        raise FormatError(path, f"{where}: expected a list of {n} numbers, got {v!r}")
    out = [float(x) for x in v]
    if not all(math.isfinite(x) for x in out):
        raise FormatError(path, f"{where}: contains NaN or inf")
    return out


def _require(d: Any, key: str, where: str, path: Path) -> Any:
    if not isinstance(d, dict):
        raise FormatError(path, f"{where}: expected an object, got {type(d).__name__}")
    if key not in d:
        raise FormatError(path, f"{where}: missing key {key!r}")
    return d[key]


def box_to_dict(box: Box3D) -> dict[str, Any]:
    return box_dict(box)


def tracks_to_dict(tracks: Iterable[Track]) -> dict[str, Any]:
    """Tracks -> the JSON document of ``labels/*.json`` (world frame, keyframes only, gaps). The
    track entries are exactly those of ``AnnotationDocument.to_dict`` (one serialisation)."""
    doc = AnnotationDocument.from_tracks(tracks)
    return {"format": TRACKS_FORMAT, "version": TRACKS_VERSION, "frame": "world", "tracks": doc.to_dict()["tracks"]}


def check_document_frames(tracks: Any, path: PathLike, where: str = "tracks") -> None:
    """FormatError naming ``path`` when a track entry of a document (``AnnotationDocument.to_dict``
    form) has a keyframe number or gap bound outside 0..MAX_FRAMES - 1: checked before the document
    is built, which walks every frame a track spans. Other problems are left to the document."""
    if not isinstance(tracks, list):
        return
    for i, t in enumerate(tracks):
        if not isinstance(t, dict):
            continue
        numbers: list[Any] = list(t.get("keyframes") or {}) if isinstance(t.get("keyframes"), dict) else []
        gaps = t.get("gaps")
        if isinstance(gaps, list):
            numbers += [v for g in gaps if isinstance(g, list) for v in g]
        for v in numbers:
            try:
                f = int(v)
            except (TypeError, ValueError):
                continue  # the document names it
            if not 0 <= f < MAX_FRAMES:
                raise FormatError(path, f"{where}[{i}]: frame {v!r} is outside 0..{MAX_FRAMES - 1}")


def tracks_from_dict(data: Any, path: PathLike = "<tracks>") -> list[Track]:
    """Parse the JSON document of :func:`tracks_to_dict`; FormatError names ``path`` and the key."""
    path = Path(path)
    version = _require(data, "version", "top level", path)
    if version != TRACKS_VERSION:
        raise FormatError(path, f"unsupported tracks version {version!r} (known: {TRACKS_VERSION})")
    fmt = data.get("format", TRACKS_FORMAT)
    if fmt != TRACKS_FORMAT:
        raise FormatError(path, f"format is {fmt!r}, expected {TRACKS_FORMAT!r}")
    if data.get("frame", "world") != "world":
        raise FormatError(path, f"boxes must be in the 'world' frame, got {data.get('frame')!r}")
    items = _require(data, "tracks", "top level", path)
    if not isinstance(items, list):
        raise FormatError(path, "tracks: expected a list")
    check_document_frames(items, path)
    # attributes and interpolation may be left out of hand-written files
    items = [
        {"attributes": {}, "interpolation": "linear", **t} if isinstance(t, dict) else t for t in items
    ]
    doc_dict = {"version": 1, "frame_count": None, "tracks": items, "reviews": {"boxes": [], "frames": []}}
    try:
        doc = AnnotationDocument.from_dict(doc_dict)
    except FusionLabelError as e:
        raise FormatError(path, str(e)) from None
    return [doc.tracks[t] for t in sorted(doc.tracks)]


def save_tracks(path: PathLike, tracks: Iterable[Track]) -> None:
    """Write tracks (world-frame keyframes) as JSON, atomically."""
    atomic_write_json(path, tracks_to_dict(tracks))


def load_tracks(path: PathLike) -> list[Track]:
    """Read a track file written by :func:`save_tracks` (validated against ``tracks.schema.json``)."""
    data = read_json(path)
    validate(data, "tracks", path, FormatError)
    return tracks_from_dict(data, path)


# ---- the sequence index ----------------------------------------------------------------------
class NativeWriter:
    """Writes a sequence into ``root`` (which must exist): sensor files with :meth:`add_frame`,
    then the rig, the tracks and the index with :meth:`finish`."""

    def __init__(self, root: PathLike, name: str, rig: Rig) -> None:
        self.root = Path(root)
        self.name = name
        self.rig = rig
        self.frames: list[dict[str, Any]] = []
        self._dirs: set[Path] = set()

    def _file(self, rel: str) -> Path:
        p = self.root / rel
        if p.parent not in self._dirs:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(p.parent)
        return p

    def add_frame(
        self,
        index: int,
        timestamp_ns: int,
        T_world_from_ego: NDArray[np.float64],
        lidar: Mapping[str, NDArray[np.floating]] | None = None,
        lidar_instance: Mapping[str, NDArray[np.integer]] | None = None,
        cameras: Mapping[str, NDArray[np.uint8]] | None = None,
        camera_timestamps_ns: Mapping[str, int] | None = None,
        masks: Mapping[str, NDArray[np.integer]] | None = None,
        lidar_semantic: Mapping[str, NDArray[np.integer]] | None = None,
        lidar_time: Mapping[str, NDArray[np.floating]] | None = None,
    ) -> None:
        """Write one frame's files. ``lidar`` sensor -> (N, 4) points in the sensor frame;
        ``cameras`` sensor -> (H, W, 3) RGB uint8; ``masks`` sensor -> (H, W) track ids (-1 none);
        ``lidar_time`` sensor -> (N,) per-point times, seconds relative to ``timestamp_ns``."""
        if index != len(self.frames):
            raise ValueError(f"frames must be added in order: expected {len(self.frames)}, got {index}")
        T = check_transform(T_world_from_ego, f"frame {index} T_world_from_ego")
        rec: dict[str, Any] = {
            "index": int(index),
            "timestamp_ns": int(timestamp_ns),
            "T_world_from_ego": T.tolist(),
            "lidar": {},
            "lidar_points": {},
            "cameras": {},
            "camera_timestamps_ns": {},
        }
        for name, pts in (lidar or {}).items():
            rel = f"lidar/{name}/{index:06d}.bin"
            write_lidar(self._file(rel), pts)
            rec["lidar"][name] = rel
            rec["lidar_points"][name] = int(np.asarray(pts).shape[0])
        per_point = (("lidar_instance", lidar_instance, write_instance, "instance ids"),
                     ("lidar_semantic", lidar_semantic, write_semantic, "point classes"))
        for key, arrays, write, what in per_point:
            if not arrays:
                continue
            rec[key] = {}
            for name, values in arrays.items():
                if np.asarray(values).shape[0] != rec["lidar_points"].get(name):
                    raise ValueError(f"frame {index} {name}: {what} do not match the point count")
                rel = f"{key}/{name}/{index:06d}.bin"
                write(self._file(rel), values)
                rec[key][name] = rel
        if lidar_time:
            rec["lidar_time"] = {}
            for name, tt in lidar_time.items():
                tt = np.asarray(tt, dtype="<f4")
                if tt.shape != (rec["lidar_points"].get(name),) or not np.isfinite(tt).all():
                    raise ValueError(f"frame {index} {name}: point times must be finite, one per point")
                rel = f"lidar_time/{name}/{index:06d}.bin"
                atomic_write_bytes(self._file(rel), np.ascontiguousarray(tt).tobytes())
                rec["lidar_time"][name] = rel
        for name, img in (cameras or {}).items():
            rel = f"cameras/{name}/{index:06d}.png"
            atomic_write_bytes(self._file(rel), encode_png(img))
            rec["cameras"][name] = rel
            ts = (camera_timestamps_ns or {}).get(name, timestamp_ns)
            rec["camera_timestamps_ns"][name] = int(ts)
        if masks:
            rec["camera_masks"] = {}
            for name, m in masks.items():
                m = np.asarray(m)
                if m.max(initial=-1) >= 65535:
                    raise ValueError("instance ids must be < 65535 to fit a 16-bit mask")
                rel = f"masks/{name}/{index:06d}.png"
                atomic_write_bytes(self._file(rel), encode_png((m + 1).astype(np.uint16)))
                rec["camera_masks"][name] = rel
        self.frames.append(rec)

    def finish(self, tracks: Iterable[Track] | None = None, meta: Mapping[str, Any] | None = None,
               map_elements: Iterable[MapElement] | None = None) -> Path:
        """Write ``rig.json``, the ground truth (when ``tracks`` is given; the map when
        ``map_elements`` is) and, last, the index."""
        save_rig_json(self.rig, self.root / RIG_FILE)
        index: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "rig": RIG_FILE,
            "lidar_point_format": {"dtype": "float32", "byte_order": "little", "fields": list(LIDAR_FIELDS)},
        }
        if tracks is not None:
            save_tracks(self._file(GT_FILE), tracks)
            index["ground_truth"] = GT_FILE
        if map_elements is not None:
            save_map(self._file(MAP_FILE), map_elements)
            index["map"] = MAP_FILE
        if meta:
            index["meta"] = dict(meta)
        index["frames"] = self.frames
        atomic_write_json(self.root / INDEX_FILE, index)
        return self.root / INDEX_FILE


def write_synth_scene(
    scene: SynthScene,
    out: PathLike,
    overwrite: bool = False,
    masks: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render every frame of a :class:`fusionlabel.synth.SynthScene` and write it to ``out``.

    The sequence is written into a temporary sibling folder and renamed to ``out`` when complete,
    so an interrupted run never leaves a half-written sequence at ``out``. ``out`` must not exist
    or be an empty folder unless ``overwrite`` (then the old folder is replaced at the end).
    ``progress(done, total)`` is called after each frame. Returns ``out``."""
    from fusionlabel.pointlabels.classes import ClassTable
    from fusionlabel.synth.semantics import sweep_semantics

    out = Path(out)
    table = ClassTable.default()
    with staged_output(out, overwrite) as tmp:
        writer = NativeWriter(tmp, scene.name, scene.rig)
        n = len(scene)
        for i in range(n):
            fr = scene.frame(i)
            semantic = {k: sweep_semantics(v, fr.T_world_from_ego @ scene.rig.T("ego", k), scene.layout.objects,
                                           scene.layout.road, table) for k, v in fr.lidar.items()}
            writer.add_frame(
                i,
                fr.timestamp_ns,
                fr.T_world_from_ego,
                lidar={k: v.points for k, v in fr.lidar.items()},
                lidar_instance={k: v.instance for k, v in fr.lidar.items()},
                cameras={k: v.image for k, v in fr.cameras.items()},
                camera_timestamps_ns={k: fr.camera_timestamps_ns.get(k, fr.timestamp_ns) for k in fr.cameras},
                masks={k: v.instance for k, v in fr.cameras.items()} if masks else None,
                lidar_semantic=semantic,
                lidar_time={k: v.time for k, v in fr.lidar.items() if v.time is not None} or None,
            )
            if progress is not None:
                progress(i + 1, n)
        cfg = scene.config
        meta = {
            "generator": "fusionlabel.synth",
            "seed": cfg.seed,
            "cameras": cfg.cameras,
            "image_size": list(cfg.image_size),
            "beams": cfg.beams,
            "azimuths": cfg.azimuths,
            "point_classes": table.to_dict(),
        }
        if cfg.rolling_sweep or cfg.exposure_offset_ns:
            meta["timing"] = {"rolling_sweep": cfg.rolling_sweep, "exposure_offset_ns": cfg.exposure_offset_ns,
                              "sweep_blocks": cfg.sweep_blocks}
        writer.finish(scene.tracks(), meta, scene.map_elements())
    return out


# ---- reading ---------------------------------------------------------------------------------
def _index_path(path: PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        return p / INDEX_FILE
    return p


def is_native(path: PathLike) -> bool:
    """Whether ``path`` is a native sequence folder or its index file (named ``fusionlabel.json``)."""
    p = _index_path(path)
    return p.name == INDEX_FILE and p.is_file()


def load_sequence(path: PathLike) -> SequenceInfo:
    """Load a native sequence (folder or its ``fusionlabel.json``) -> SequenceInfo (format
    ``"native"``). File paths in the frames are absolute. ``meta`` holds ``lidar_points``
    (per frame: sensor -> N), ``lidar_instance_files`` and ``camera_mask_files`` (per frame:
    sensor -> Path), ``ground_truth`` (Path or None) and the index's own ``meta``.

    Checks the index, the rig and that every referenced file exists; FormatError (or the rig's
    CalibrationError) names the file and the problem."""
    ip = _index_path(path)
    if not ip.exists():
        raise FormatError(ip, f"not a native sequence: {INDEX_FILE} not found")
    root = ip.parent
    data = read_json(ip)
    validate(data, "native-index", ip, FormatError)
    if not isinstance(data, dict):
        raise FormatError(ip, "top level must be a JSON object")
    fmt = _require(data, "format", "top level", ip)
    if fmt != FORMAT:
        raise FormatError(ip, f"format is {fmt!r}, expected {FORMAT!r}")
    version = _require(data, "version", "top level", ip)
    if version != VERSION:
        raise FormatError(ip, f"unsupported version {version!r} (known: {VERSION})")
    lpf = data.get("lidar_point_format")
    if lpf is not None and (
        not isinstance(lpf, dict)
        or lpf.get("dtype", "float32") != "float32"
        or lpf.get("byte_order", "little") != "little"
        or list(lpf.get("fields", LIDAR_FIELDS)) != list(LIDAR_FIELDS)
    ):
        raise FormatError(
            ip, f"lidar_point_format {lpf!r} is not supported (only little-endian float32 x, y, z, intensity)"
        )
    rig_path = root / str(data.get("rig", RIG_FILE))
    if not rig_path.is_file():
        raise FormatError(rig_path, f"rig file named by {ip} not found")
    rig = load_rig_json(rig_path)
    frames_raw = _require(data, "frames", "top level", ip)
    if not isinstance(frames_raw, list):
        raise FormatError(ip, "frames: expected a list")

    def file_of(rel: Any, where: str) -> Path:
        if not isinstance(rel, str) or not rel:
            raise FormatError(ip, f"{where}: expected a relative file path, got {rel!r}")
        p = root / rel
        if not p.is_file():
            raise FormatError(p, f"file referenced by {where} in {ip} not found")
        return p

    def sensor_map(fr: dict[str, Any], key: str, where: str, kind: str) -> dict[str, Any]:
        m = fr.get(key, {})
        if not isinstance(m, dict):
            raise FormatError(ip, f"{where}.{key}: expected an object sensor -> value")
        names = rig.lidar_names() if kind == "lidar" else rig.camera_names()
        for name in m:
            if name not in names:
                raise FormatError(ip, f"{where}.{key}: sensor {name!r} is not a {kind} of the rig ({names})")
        return m

    frames: list[FrameInfo] = []
    lidar_points: list[dict[str, int]] = []
    inst_files: list[dict[str, Path]] = []
    sem_files: list[dict[str, Path]] = []
    time_files: list[dict[str, Path]] = []
    mask_files: list[dict[str, Path]] = []
    last_ts: int | None = None
    for i, fr in enumerate(frames_raw):
        where = f"frames[{i}]"
        idx = _require(fr, "index", where, ip)
        if idx != i:
            raise FormatError(ip, f"{where}.index: expected {i}, got {idx!r}")
        ts = _require(fr, "timestamp_ns", where, ip)
        if not isinstance(ts, int) or isinstance(ts, bool):
            raise FormatError(ip, f"{where}.timestamp_ns: expected an integer (ns), got {ts!r}")
        if last_ts is not None and ts <= last_ts:
            raise FormatError(ip, f"{where}.timestamp_ns: timestamps must increase ({ts} after {last_ts})")
        last_ts = ts
        T_raw = _require(fr, "T_world_from_ego", where, ip)
        try:
            T = check_transform(np.asarray(T_raw, dtype=np.float64), f"{where}.T_world_from_ego")
        except (ValueError, TypeError) as e:
            raise FormatError(ip, str(e)) from None
        lid = {
            n: file_of(r, f"{where}.lidar.{n}") for n, r in sensor_map(fr, "lidar", where, "lidar").items()
        }
        cams = {
            n: file_of(r, f"{where}.cameras.{n}")
            for n, r in sensor_map(fr, "cameras", where, "camera").items()
        }
        cts = sensor_map(fr, "camera_timestamps_ns", where, "camera")
        for n, v in cts.items():
            if not isinstance(v, int) or isinstance(v, bool):
                raise FormatError(
                    ip, f"{where}.camera_timestamps_ns.{n}: expected an integer (ns), got {v!r}"
                )
        npts = sensor_map(fr, "lidar_points", where, "lidar")
        for n, v in npts.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise FormatError(ip, f"{where}.lidar_points.{n}: expected a point count, got {v!r}")
        lidar_points.append(dict(npts))
        inst_files.append(
            {
                n: file_of(r, f"{where}.lidar_instance.{n}")
                for n, r in sensor_map(fr, "lidar_instance", where, "lidar").items()
            }
        )
        sem_files.append(
            {
                n: file_of(r, f"{where}.lidar_semantic.{n}")
                for n, r in sensor_map(fr, "lidar_semantic", where, "lidar").items()
            }
        )
        time_files.append(
            {
                n: file_of(r, f"{where}.lidar_time.{n}")
                for n, r in sensor_map(fr, "lidar_time", where, "lidar").items()
            }
        )
        mask_files.append(
            {
                n: file_of(r, f"{where}.camera_masks.{n}")
                for n, r in sensor_map(fr, "camera_masks", where, "camera").items()
            }
        )
        frames.append(
            FrameInfo(
                i,
                ts,
                T,
                lidar_files=lid,
                camera_files=cams,
                camera_timestamps_ns={k: int(v) for k, v in cts.items()},
            )
        )
    gt = data.get("ground_truth")
    gt_path = file_of(gt, "ground_truth") if gt is not None else None
    map_path = file_of(data["map"], "map") if data.get("map") is not None else None
    name = data.get("name", root.name)
    meta = {
        "lidar_points": lidar_points,
        "lidar_instance_files": inst_files,
        "lidar_semantic_files": sem_files,
        "lidar_time_files": time_files,
        "camera_mask_files": mask_files,
        "ground_truth": gt_path,
        "map": map_path,
        "index_file": ip,
        "meta": data.get("meta", {}),
    }
    return SequenceInfo(str(name), "native", frames, rig, root=root, meta=meta)


def read_lidar_frame(seq: SequenceInfo, frame: int, name: str | None = None) -> NDArray[np.float32]:
    """(N, 4) float32 sweep of lidar ``name`` (default: the first) at ``frame`` of a native
    sequence, checked against the point count recorded in the index."""
    name = name or seq.lidar_names[0]
    fi = seq.frames[frame]
    if name not in fi.lidar_files:
        raise FormatError(
            seq.meta.get("index_file", seq.root or "?"), f"frame {frame} has no sweep of {name!r}"
        )
    expected = seq.meta.get("lidar_points", [{}] * len(seq))[frame].get(name)
    return read_lidar(fi.lidar_files[name], expected)


def _per_point_file(seq: SequenceInfo, frame: int, name: str | None, key: str) -> tuple[Path | None, int | None]:
    """The per-point file of ``key`` (``lidar_instance_files`` ...) of a sweep and its point count."""
    name = name or seq.lidar_names[0]
    p = seq.meta.get(key, [{}] * len(seq))[frame].get(name)
    return p, seq.meta.get("lidar_points", [{}] * len(seq))[frame].get(name)


def read_lidar_instance(seq: SequenceInfo, frame: int, name: str | None = None) -> NDArray[np.int32] | None:
    """Per-point instance ids of a sweep, or None when the sequence has none."""
    p, expected = _per_point_file(seq, frame, name, "lidar_instance_files")
    return None if p is None else read_instance(p, expected)


def read_lidar_semantic(seq: SequenceInfo, frame: int, name: str | None = None) -> NDArray[np.uint8] | None:
    """Per-point ground-truth classes of a sweep, or None when the sequence has none."""
    p, expected = _per_point_file(seq, frame, name, "lidar_semantic_files")
    return None if p is None else read_semantic(p, expected)


def read_lidar_time(seq: SequenceInfo, frame: int, name: str | None = None) -> NDArray[np.float32] | None:
    """Per-point times (N,) float32 seconds relative to the frame's timestamp, or None when the
    sweep has none; FormatError when the file is short, long or holds NaN/inf."""
    name = name or seq.lidar_names[0]
    p = seq.meta.get("lidar_time_files", [{}] * len(seq))[frame].get(name)
    if p is None:
        return None
    check_confined(p, FormatError)
    try:
        raw = Path(p).read_bytes()
    except OSError as e:
        raise FormatError(p, f"cannot read point times: {e}") from None
    expected = seq.meta.get("lidar_points", [{}] * len(seq))[frame].get(name)
    if len(raw) % 4 or (expected is not None and len(raw) // 4 != expected):
        raise FormatError(p, f"{len(raw)} bytes do not hold {expected} float32 point times")
    t = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.isfinite(t).all():
        raise FormatError(p, "point times contain NaN or inf")
    return t


def load_ground_truth(seq: SequenceInfo) -> list[Track]:
    """The sequence's ground-truth tracks ([] when it has none)."""
    p = seq.meta.get("ground_truth")
    return [] if p is None else load_tracks(p)


def load_ground_truth_map(seq: SequenceInfo) -> list[MapElement]:
    """The sequence's ground-truth map elements (world frame; [] when it has none)."""
    p = seq.meta.get("map")
    return [] if p is None else load_map(p)
