"""The packed HDF5 container: a whole opened sequence in one file, for fast frame stepping.

Layout (``h5py``; ``FORMAT``/``VERSION`` as root attributes)::

    /sequence          JSON (UTF-8 bytes): name, source format, frames (index, timestamp_ns,
                       T_world_from_ego, camera timestamps, which sensors it has), the rig
                       (native rig dict), per-frame rigs, per-sensor ego poses, .bin layout, meta
    /annotations       JSON: AnnotationDocument.to_dict() (world-frame tracks)
    /ignore_regions    JSON list of {frame, camera, bbox, label}
    /sync              JSON: SyncReport.to_dict()
    /frames/<i:06d>/lidar/<name>/xyz        (N, 3) float32, metres, sensor frame
    /frames/<i:06d>/lidar/<name>/<field>    (N,) or (N, k) per-point fields (intensity, ring, ...)
    /frames/<i:06d>/camera/<name>           (B,) uint8: the image file's bytes as they were
                                            (PNG/JPEG, not re-encoded; attribute "suffix")

Per-point arrays are chunked one chunk per frame (up to 1 Mi rows) and compressed (``lzf`` by
default, or ``gzip`` level 1). Files are written atomically (temporary file, fsync, rename).

Integrity: the file starts with a 512-byte HDF5 user block holding ``SEAL_MAGIC``, the length and
the CRC-32 of everything after it; :func:`load_packed` checks them before the HDF5 library reads a
byte (a corrupt HDF5 file can make the library loop forever: the reader fuzzer found one byte
inserted among the root attributes doing so). Checking costs one read of the file (~1 s per GB).
Files written before the seal (no magic) are opened unchecked.
:func:`load_packed` is one more layout of :func:`formats.datasets.open_dataset` (``.h5``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from calib.rig import Rig
from formats.datasets.base import LoadedSequence, decode_camera_image
from formats.datasets.errors import DatasetError
from formats.io import check_confined, parse_json_bytes
from formats.pointcloud import PointCloud
from formats.sync import SyncReport
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo

FORMAT = "fusionlabel-packed"
VERSION = 1
SUFFIXES = (".h5", ".hdf5")
#: The HDF5 user block at the start of the file, holding the seal (magic, length, CRC-32).
USERBLOCK = 512
SEAL_MAGIC = b"FUSIONLABEL-PACKED-SEAL "
MAX_CHUNK_ROWS = 1 << 20


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, Rig):
        return o.to_dict()
    return repr(o)


def _dumps(obj: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, default=_json_default).encode("utf-8"), dtype=np.uint8)


def _compression(compression: str) -> dict[str, Any]:
    if compression == "lzf":
        return {"compression": "lzf"}
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 1}
    if compression == "none":
        return {}
    raise ValueError(f"compression must be 'lzf', 'gzip' or 'none', got {compression!r}")


def _write_array(g: h5py.Group, name: str, a: np.ndarray, comp: dict[str, Any]) -> None:
    a = np.ascontiguousarray(a)
    if a.size == 0:
        g.create_dataset(name, data=a)
        return
    chunks = (min(a.shape[0], MAX_CHUNK_ROWS), *a.shape[1:])
    g.create_dataset(name, data=a, chunks=chunks, shuffle=bool(comp), **comp)


def pack(
    loaded: LoadedSequence,
    out: str | os.PathLike[str],
    compression: str = "lzf",
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write every sweep, image and the description of ``loaded`` into the HDF5 file ``out``."""
    out = Path(out)
    comp = _compression(compression)
    info = loaded.info
    desc = {
        "name": info.name,
        "format": info.format,
        "root": str(info.root) if info.root is not None else None,
        "rig": info.rig.to_dict(),
        "frame_rigs": [r.to_dict() for r in loaded.frame_rigs] if loaded.frame_rigs is not None else None,
        "sensor_poses": loaded.sensor_poses,
        "lidar_layout": loaded.lidar_layout,
        "meta": info.meta,
        "warnings": loaded.warnings,
        "frames": [
            {
                "index": f.index,
                "timestamp_ns": int(f.timestamp_ns),
                "T_world_from_ego": f.T_world_from_ego,
                "camera_timestamps_ns": {k: int(v) for k, v in f.camera_timestamps_ns.items()},
                "lidar": sorted(f.lidar_files),
                "cameras": sorted(f.camera_files),
            }
            for f in info.frames
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w", userblock_size=USERBLOCK) as h:
            h.attrs["format"] = FORMAT
            h.attrs["version"] = VERSION
            h.create_dataset("sequence", data=_dumps(desc))
            h.create_dataset("annotations", data=_dumps(loaded.annotations.to_dict()))
            h.create_dataset(
                "ignore_regions",
                data=_dumps([{"frame": r.frame, "camera": r.camera, "bbox": list(r.bbox), "label": r.label}
                             for r in loaded.ignore_regions]),
            )
            h.create_dataset("sync", data=_dumps(loaded.sync.to_dict()))
            frames = h.create_group("frames")
            n = len(info.frames)
            for k, f in enumerate(info.frames):
                g = frames.create_group(f"{k:06d}")
                gl = g.create_group("lidar")
                for name in sorted(f.lidar_files):
                    pc = loaded.read_lidar(k, name)
                    if pc is None:
                        continue
                    gs = gl.create_group(name)
                    _write_array(gs, "xyz", pc.xyz, comp)
                    for fname, arr in pc.fields.items():
                        _write_array(gs, fname, np.asarray(arr), comp)
                gc = g.create_group("camera")
                for cam, p in sorted(f.camera_files.items()):
                    if loaded.image_reader is not None:  # a packed source: re-encode losslessly
                        import cv2

                        img = loaded.read_image(k, cam)
                        ok, buf = cv2.imencode(".png", img[..., ::-1] if img.ndim == 3 else img)
                        data, suffix = buf.reshape(-1), ".png"
                    else:
                        try:
                            data, suffix = np.frombuffer(Path(p).read_bytes(), np.uint8), Path(p).suffix.lower()
                        except OSError as e:
                            raise DatasetError(p, f"cannot read image: {e.strerror or e}") from None
                    ds = gc.create_dataset(cam, data=data)
                    ds.attrs["suffix"] = suffix
                if progress is not None:
                    progress(k + 1, n)
            h.flush()
        with open(tmp, "rb+") as fh:
            n, crc = _crc_after_userblock(fh)
            fh.seek(0)
            fh.write(SEAL_MAGIC + f"{n} {crc:08x}\n".encode().ljust(USERBLOCK - len(SEAL_MAGIC), b"\0"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return out


def _crc_after_userblock(fh: Any) -> tuple[int, int]:
    """(length, CRC-32) of the bytes of the open file ``fh`` after the user block."""
    fh.seek(USERBLOCK)
    n, crc = 0, 0
    while chunk := fh.read(1 << 20):
        n += len(chunk)
        crc = zlib.crc32(chunk, crc)
    return n, crc


def check_seal(path: Path) -> None:
    """DatasetError when a sealed packed file's length or CRC-32 (its user block) does not match its
    content; files without the seal pass unchecked."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(USERBLOCK)
            if not head.startswith(SEAL_MAGIC):
                return
            try:
                n_s, crc_s = head[len(SEAL_MAGIC):].split(b"\n", 1)[0].decode("ascii").split()
                want_n, want_crc = int(n_s), int(crc_s, 16)
            except (ValueError, UnicodeDecodeError):
                raise DatasetError(path, "corrupt packed file: unreadable seal in its user block") from None
            n, crc = _crc_after_userblock(fh)
    except OSError as e:
        raise DatasetError(path, f"cannot read: {e.strerror or e}") from None
    if n != want_n:
        raise DatasetError(path, f"corrupt packed file: {n} bytes after the user block, its seal says {want_n}")
    if crc != want_crc:
        raise DatasetError(path, f"corrupt packed file: CRC-32 {crc:08x}, its seal says {want_crc:08x}")


def is_packed(path: str | os.PathLike[str]) -> bool:
    """True for an existing file with an HDF5 suffix (the content is checked on loading)."""
    p = Path(path)
    return p.is_file() and p.suffix.lower() in SUFFIXES


def _loads(h: h5py.File, key: str, path: Path) -> Any:
    if key not in h:
        raise DatasetError(path, f"packed file lacks /{key}")
    try:
        raw = bytes(h[key][()])
    except (OSError, TypeError, ValueError) as e:
        raise DatasetError(path, f"/{key} cannot be read ({e})") from None
    return parse_json_bytes(raw, path, lambda src, msg: DatasetError(src, f"/{key}: {msg}"))


def _check_sweep(xyz: np.ndarray, fields: dict[str, np.ndarray], where: str) -> None:
    """DatasetError unless ``xyz`` is (N, 3) numbers and every field has N rows of numbers."""
    if xyz.ndim != 2 or xyz.shape[1] != 3 or xyz.dtype.kind not in "iuf":
        raise DatasetError(where, f"xyz must be (N, 3) numbers, got {xyz.dtype} {xyz.shape}")
    for k, v in fields.items():
        if v.ndim < 1 or v.shape[0] != xyz.shape[0] or v.dtype.kind not in "biuf":
            raise DatasetError(where, f"field {k!r} must have {xyz.shape[0]} rows of numbers, got {v.dtype} {v.shape}")


def load_packed(path: str | os.PathLike[str], **_: Any) -> LoadedSequence:
    """Open a packed file; the returned sequence reads from it (call ``close()`` when done)."""
    path = Path(path)
    check_confined(path, DatasetError)
    check_seal(path)
    try:
        h = h5py.File(path, "r")
    except OSError as e:
        raise DatasetError(path, f"not an HDF5 file or unreadable ({e})") from None
    try:
        if h.attrs.get("format") != FORMAT:
            raise DatasetError(path, f"not a {FORMAT} file (format attribute {h.attrs.get('format')!r})")
        if int(h.attrs.get("version", -1)) != VERSION:
            raise DatasetError(path, f"unsupported version {h.attrs.get('version')!r} (known: {VERSION})")
        d = _loads(h, "sequence", path)
        rig = Rig.from_dict(d["rig"], source=str(path))
        frame_rigs = [Rig.from_dict(r, source=str(path)) for r in d["frame_rigs"]] if d["frame_rigs"] else None
        frames = [
            FrameInfo(
                f["index"],
                int(f["timestamp_ns"]),
                np.asarray(f["T_world_from_ego"], dtype=np.float64),
                lidar_files={n: path for n in f["lidar"]},
                camera_files={c: path for c in f["cameras"]},
                camera_timestamps_ns={k: int(v) for k, v in f["camera_timestamps_ns"].items()},
            )
            for f in d["frames"]
        ]
        sensor_poses = (
            [{k: np.asarray(v, dtype=np.float64) for k, v in per.items()} for per in d["sensor_poses"]]
            if d["sensor_poses"] is not None
            else None
        )
        meta = dict(d.get("meta") or {})
        meta["packed_from"] = d.get("root")
        info = SequenceInfo(d["name"], d["format"], frames, rig, root=path, meta=meta)
        doc = AnnotationDocument.from_dict(_loads(h, "annotations", path))
        from formats.datasets.base import IgnoreRegion

        ignore = [
            IgnoreRegion(int(r["frame"]), str(r["camera"]), tuple(r["bbox"]), str(r["label"]))  # type: ignore[arg-type]
            for r in _loads(h, "ignore_regions", path)
        ]
        sync = SyncReport.from_dict(_loads(h, "sync", path))
    except (KeyError, TypeError, ValueError, AttributeError, OSError, RuntimeError) as e:
        h.close()
        if isinstance(e, DatasetError):
            raise
        raise DatasetError(path, f"malformed packed description ({type(e).__name__}: {e})") from None
    except BaseException:
        h.close()
        raise
    lay = d.get("lidar_layout")
    lock = threading.Lock()  # h5py serialises anyway; this keeps the group lookups consistent

    def read_lidar(frame: int, name: str) -> PointCloud | None:
        key = f"frames/{frame:06d}/lidar/{name}"
        try:
            with lock:
                if key not in h:
                    return None
                g = h[key]
                xyz = np.asarray(g["xyz"][()])
                fields = {k: np.asarray(g[k][()]) for k in g if k != "xyz"}
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
            raise DatasetError(f"{path}:{key}", f"cannot read the sweep ({type(e).__name__}: {e})") from None
        _check_sweep(xyz, fields, f"{path}:{key}")
        return PointCloud(xyz, fields, path)

    def read_image(frame: int, camera: str) -> np.ndarray | None:
        key = f"frames/{frame:06d}/camera/{camera}"
        try:
            with lock:
                if key not in h:
                    return None
                data = np.asarray(h[key][()])
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
            raise DatasetError(f"{path}:{key}", f"cannot read the image ({type(e).__name__}: {e})") from None
        if data.dtype != np.uint8 or data.ndim != 1:
            raise DatasetError(f"{path}:{key}", f"expected encoded image bytes, got {data.dtype} {data.shape}")
        img = decode_camera_image(data, f"{path}:{key}", loaded.rig(frame), camera)
        return img

    loaded = LoadedSequence(
        info=info,
        annotations=doc,
        ignore_regions=ignore,
        sync=sync,
        frame_rigs=frame_rigs,
        sensor_poses=sensor_poses,
        lidar_layout=tuple(lay) if isinstance(lay, list) else lay,
        warnings=list(d.get("warnings") or []),
        lidar_reader=read_lidar,
        image_reader=read_image,
        closer=h.close,
    )
    return loaded
