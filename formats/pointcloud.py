"""Point-cloud readers and writers: KITTI/nuScenes .bin, PCD (ascii, binary, binary_compressed),
PLY, .npy and .npz.

Every reader returns a :class:`PointCloud`: ``xyz`` as ``(N, 3)`` float32 metres in the **sensor
frame** the file was recorded in, plus named per-point fields (``intensity``, ``ring``, ``time``,
...) as ``(N,)`` arrays (``(N, k)`` for fields with a count > 1).

Rules
-----
* A ``.bin`` is never read by guessing its column count from the file size: the layout comes from
  the dataset type (``"kitti"``: x y z intensity, ``"nuscenes"``: x y z intensity ring, all
  float32) or is given explicitly as a list of field names.
* A PCD whose header disagrees with its data is recovered only when the true layout is
  unambiguous, with a warning in :attr:`PointCloud.warnings`; otherwise it is refused with a
  :class:`~formats.errors.PointCloudError` naming the file and the mismatch. See
  :func:`read_pcd` for the exact rules.
* Points whose x, y or z is not finite (the "no return" entries of organised clouds) are dropped,
  and the count is reported in the warnings.
"""

from __future__ import annotations

import os
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formats.errors import PointCloudError
from formats.io import atomic_write_bytes, check_confined

#: Known ``.bin`` layouts (all float32, row-major).
BIN_LAYOUTS: dict[str, tuple[str, ...]] = {
    "kitti": ("x", "y", "z", "intensity"),
    "nuscenes": ("x", "y", "z", "intensity", "ring"),
}

SUFFIXES = (".bin", ".pcd", ".ply", ".npy", ".npz")

#: LZF turns 3 bytes into at most 264 (a back reference of maximal length): a binary_compressed
#: PCD claiming more raw bytes than this many times its compressed bytes is corrupt.
LZF_MAX_RATIO = 90
#: Deflate expands at most ~1032x: the same check for the members of an ``.npz``.
DEFLATE_MAX_RATIO = 1040


@dataclass
class PointCloud:
    """A sweep: ``xyz`` (N, 3) float32 metres in the sensor frame, and per-point ``fields``."""

    xyz: NDArray[np.float32]
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def intensity(self) -> np.ndarray | None:
        return self.fields.get("intensity")

    def subset(self, mask: np.ndarray) -> PointCloud:
        """The points selected by a boolean mask or index array, fields included."""
        return PointCloud(
            self.xyz[mask], {k: v[mask] for k, v in self.fields.items()}, self.path, list(self.warnings)
        )

    @property
    def nbytes(self) -> int:
        return int(self.xyz.nbytes + sum(v.nbytes for v in self.fields.values()))


def _finish(
    xyz: np.ndarray, fields: dict[str, np.ndarray], path: Path, warnings: list[str], contiguous: bool = True
) -> PointCloud:
    """Cast to float32, drop rows with non-finite xyz (recording how many). With ``contiguous``
    False, arrays that need no cast stay as given (views of the caller's buffer)."""
    xyz = np.ascontiguousarray(xyz, dtype=np.float32) if contiguous else np.asarray(xyz, dtype=np.float32)
    if np.isfinite(xyz).all():  # the common case, ~50x cheaper than the per-row test below
        if contiguous:
            fields = {k: np.ascontiguousarray(v) for k, v in fields.items()}
        return PointCloud(xyz, fields, path, warnings)
    finite = np.isfinite(xyz).all(axis=1)
    n_bad = int((~finite).sum())
    if n_bad:
        warnings.append(f"{path}: dropped {n_bad} of {len(xyz)} points with non-finite x/y/z")
        xyz = xyz[finite]
        fields = {k: v[finite] for k, v in fields.items()}
    fields = {k: np.ascontiguousarray(v) for k, v in fields.items()}
    return PointCloud(xyz, fields, path, warnings)


# ---------------------------------------------------------------------------------------------
# .bin
# ---------------------------------------------------------------------------------------------
def read_bin(path: str | os.PathLike[str], layout: str | Sequence[str], contiguous: bool = False) -> PointCloud:
    """Read a raw float32 ``.bin`` sweep with a known layout.

    ``layout`` is ``"kitti"`` (x y z intensity), ``"nuscenes"`` (x y z intensity ring) or an
    explicit sequence of field names whose first three are x, y, z. The file size must be a whole
    number of rows; otherwise the file is refused as truncated or of another layout.

    By default nothing is copied: ``xyz`` and the float fields are strided views of the one (N, k)
    row-major buffer read from the file (within ~1.5x of ``np.fromfile`` alone; the buffer belongs
    to the returned cloud). ``contiguous=True`` copies each into its own C-contiguous array.
    """
    path = Path(path)
    check_confined(path, PointCloudError)
    names = _bin_layout(layout, path)
    row = 4 * len(names)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size % row:
                raise PointCloudError(
                    path,
                    f"size {size} bytes is not a multiple of the {row}-byte row of layout "
                    f"{' '.join(names)} (truncated file, or a different layout)",
                )
            arr = np.fromfile(f, dtype="<f4", count=size // 4)
    except OSError as e:
        raise PointCloudError(path, f"cannot read: {e.strerror or e}") from e
    if arr.size * 4 != size:
        raise PointCloudError(path, f"read {arr.size * 4} of {size} bytes (file changed while reading?)")
    arr = arr.reshape(-1, len(names))
    all_finite = bool(np.isfinite(np.dot(arr.reshape(-1), arr.reshape(-1))))  # NaN/inf anywhere -> not finite
    if contiguous:  # column by column: ~5x faster than copying the strided (N, 3) block at once
        xyz = np.empty((arr.shape[0], 3), np.float32)
        for i in range(3):
            xyz[:, i] = arr[:, i]
        fields = {n: arr[:, i].copy() for i, n in enumerate(names[3:], start=3)}
    else:
        xyz = arr[:, :3]
        fields = {n: arr[:, i] for i, n in enumerate(names[3:], start=3)}
    if "ring" in fields:
        fields["ring"] = fields["ring"].astype(np.uint16)
    if all_finite:
        return PointCloud(xyz, fields, path, [])
    return _finish(xyz, fields, path, [], contiguous)


def _bin_layout(layout: str | Sequence[str] | None, path: Path) -> tuple[str, ...]:
    if layout is None:
        raise PointCloudError(
            path,
            "a .bin point cloud needs its layout ('kitti': x y z intensity, 'nuscenes': x y z intensity "
            "ring, or explicit field names); it is never guessed from the file size",
        )
    if isinstance(layout, str):
        if layout not in BIN_LAYOUTS:
            raise PointCloudError(path, f"unknown .bin layout {layout!r}; known: {sorted(BIN_LAYOUTS)}")
        return BIN_LAYOUTS[layout]
    names = tuple(layout)
    if names[:3] != ("x", "y", "z"):
        raise PointCloudError(path, f"a .bin layout must start with x, y, z; got {names}")
    return names


def write_bin(path: str | os.PathLike[str], cloud: PointCloud, layout: str | Sequence[str] = "kitti") -> None:
    """Write a float32 ``.bin`` with the given layout (missing fields are written as 0), atomically."""
    path = Path(path)
    names = _bin_layout(layout, path)
    cols = [cloud.xyz[:, 0], cloud.xyz[:, 1], cloud.xyz[:, 2]]
    for n in names[3:]:
        v = cloud.fields.get(n)
        cols.append(np.zeros(len(cloud), np.float32) if v is None else np.asarray(v, np.float32).reshape(-1))
    atomic_write_bytes(path, np.stack(cols, axis=1).astype("<f4").tobytes())


# ---------------------------------------------------------------------------------------------
# PCD
# ---------------------------------------------------------------------------------------------
_PCD_TYPES = {
    ("F", 4): "<f4",
    ("F", 8): "<f8",
    ("U", 1): "u1",
    ("U", 2): "<u2",
    ("U", 4): "<u4",
    ("U", 8): "<u8",
    ("I", 1): "i1",
    ("I", 2): "<i2",
    ("I", 4): "<i4",
    ("I", 8): "<i8",
}


@dataclass
class PcdField:
    """One declared PCD field: name, numpy dtype string, size in bytes, count, byte offset in a row."""

    name: str
    dtype: str
    size: int
    count: int
    offset: int

    @property
    def is_padding(self) -> bool:
        return self.name == "_"

    @property
    def nbytes(self) -> int:
        return self.size * self.count


@dataclass
class PcdHeader:
    """A parsed PCD header: fields with declared offsets, point count and data encoding."""

    fields: list[PcdField]
    width: int
    height: int
    points: int
    data: str
    viewpoint: tuple[float, ...]
    data_offset: int

    @property
    def row_size(self) -> int:
        return sum(f.nbytes for f in self.fields)


def _parse_pcd_header(raw: bytes, path: Path) -> PcdHeader:
    keys: dict[str, list[str]] = {}
    pos = 0
    while True:
        end = raw.find(b"\n", pos)
        if end < 0:
            raise PointCloudError(path, "PCD header has no DATA line (not a PCD file, or truncated header)")
        line = raw[pos:end].decode("ascii", errors="replace").strip()
        pos = end + 1
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        key = parts[0].upper()
        keys[key] = parts[1:]
        if key == "DATA":
            break
        if pos > 64 * 1024:
            raise PointCloudError(path, "PCD header longer than 64 KiB (not a PCD file?)")
    for req in ("FIELDS", "SIZE", "TYPE"):
        if req not in keys:
            raise PointCloudError(path, f"PCD header lacks the {req} line")
    names = keys["FIELDS"]
    n = len(names)
    counts_raw = keys.get("COUNT", ["1"] * n)
    if not (len(keys["SIZE"]) == len(keys["TYPE"]) == len(counts_raw) == n):
        raise PointCloudError(
            path,
            f"PCD header FIELDS ({n}), SIZE ({len(keys['SIZE'])}), TYPE ({len(keys['TYPE'])}) and "
            f"COUNT ({len(counts_raw)}) disagree in length",
        )
    try:
        sizes = [int(s) for s in keys["SIZE"]]
        counts = [int(c) for c in counts_raw]
        width = int(keys.get("WIDTH", ["-1"])[0])
        height = int(keys.get("HEIGHT", ["1"])[0])
        points = int(keys["POINTS"][0]) if "POINTS" in keys else width * height
        viewpoint = tuple(float(v) for v in keys.get("VIEWPOINT", ["0", "0", "0", "1", "0", "0", "0"]))
    except (ValueError, IndexError) as e:
        raise PointCloudError(path, f"PCD header has a non-numeric SIZE/COUNT/WIDTH/HEIGHT/POINTS: {e}") from e
    if points < 0 or width * height != points:
        raise PointCloudError(path, f"PCD header WIDTH*HEIGHT ({width}*{height}) != POINTS ({points})")
    fields = []
    offset = 0
    for name, size, typ, count in zip(names, sizes, keys["TYPE"], counts, strict=True):
        dt = _PCD_TYPES.get((typ.upper(), size))
        if dt is None:
            raise PointCloudError(path, f"PCD field {name!r} has unsupported TYPE {typ} with SIZE {size}")
        if count < 0:
            raise PointCloudError(path, f"PCD field {name!r} has negative COUNT {count}")
        fields.append(PcdField(name, dt, size, count, offset))
        offset += size * count
    real = [f.name for f in fields if not f.is_padding]
    for axis in ("x", "y", "z"):
        if axis not in real:
            raise PointCloudError(path, f"PCD has no {axis!r} field (fields: {' '.join(names)})")
        f_axis = next(f for f in fields if f.name == axis)
        if f_axis.count != 1:
            raise PointCloudError(path, f"PCD field {axis!r} has COUNT {f_axis.count}; a coordinate has COUNT 1")
    data = keys["DATA"][0].lower() if keys["DATA"] else ""
    if data not in ("ascii", "binary", "binary_compressed"):
        raise PointCloudError(path, f"PCD DATA {data!r} is not ascii, binary or binary_compressed")
    return PcdHeader(fields, width, height, points, data, viewpoint, pos)


def _column(rows: np.ndarray, f: PcdField, offset: int) -> np.ndarray:
    """Decode field ``f`` at byte ``offset`` of each (N, row) uint8 row; (N,) or (N, count)."""
    n = rows.shape[0]
    raw = np.ascontiguousarray(rows[:, offset : offset + f.nbytes])
    col = raw.view(f.dtype).reshape(n, f.count)
    return col[:, 0].copy() if f.count == 1 else col.copy()


def _is_garbage_float(col: np.ndarray) -> bool:
    """True when a float column cannot be real data: NaN/inf everywhere-ish, denormals, absurd values."""
    c = col.astype(np.float64, copy=False).reshape(-1)
    if c.size == 0:
        return False
    finite = np.isfinite(c)
    if finite.mean() < 0.5:
        return True
    cf = np.abs(c[finite])
    nonzero = cf[cf > 0]
    if nonzero.size and (nonzero < 1e-30).mean() > 0.01:
        return True
    return bool(cf.size and np.max(cf) > 1e15)


def _is_informative(col: np.ndarray) -> bool:
    """True when a column carries data: not constant, and not one value in >= 95% of points."""
    c = col.reshape(len(col), -1)[:, 0]
    if c.size < 2:
        return True
    vals, cnt = np.unique(c, return_counts=True)
    return vals.size >= 2 and cnt.max() <= 0.95 * c.size


def _padding_carries_data(rows: np.ndarray, header: PcdHeader) -> bool:
    """True when some byte declared as padding (``_``) varies like data across the points."""
    for f in header.fields:
        if f.is_padding:
            for b in range(f.offset, f.offset + f.nbytes):
                if _is_informative(rows[:, b]):
                    return True
    return False


def _recover_layout(rows: np.ndarray, header: PcdHeader, path: Path, warnings: list[str]) -> dict[str, int]:
    """Byte offsets of the named fields of a binary PCD, recovering from a lying header.

    The header is taken as wrong when a float field decodes as garbage at its declared offset
    (NaN/inf, denormals, absurd magnitudes), or when a multi-byte field is declared at an offset
    that is not a multiple of its size while bytes declared as padding vary like data. Otherwise
    the declared offsets are used as they are.

    When it is wrong, a field is confirmed at its declared offset if it is naturally aligned
    there, decodes plausibly and carries information (is not one value for >= 95% of the points).
    Every other field is searched at the naturally aligned offsets that do not overlap fields
    already placed: exactly one informative, plausible candidate recovers it (with a warning);
    several candidates refuse the file; none keeps the declared offset when that one is aligned
    and plausible (a constant field), and refuses the file otherwise. x, y and z are never moved.
    """
    named = [f for f in header.fields if not f.is_padding]
    declared = {f.name: f.offset for f in named}

    def garbage(f: PcdField, off: int) -> bool:
        return f.dtype.endswith(("f4", "f8")) and _is_garbage_float(_column(rows, f, off))

    bad = [f.name for f in named if garbage(f, f.offset)]
    unaligned = [f.name for f in named if f.offset % f.size]
    if not bad and not (unaligned and _padding_carries_data(rows, header)):
        return declared
    for axis in ("x", "y", "z"):
        if axis in bad:
            raise PointCloudError(
                path, f"PCD field {axis!r} decodes as garbage at its declared offset {declared[axis]}: "
                "the header does not describe the data"
            )
    row = rows.shape[1]
    result: dict[str, int] = {}
    for f in named:
        aligned = f.offset % f.size == 0
        if f.name in ("x", "y", "z") or (
            aligned and not garbage(f, f.offset) and _is_informative(_column(rows, f, f.offset))
        ):
            result[f.name] = f.offset
    taken = [(result[f.name], result[f.name] + f.nbytes) for f in named if f.name in result]
    for f in named:
        if f.name in result:
            continue
        candidates = []
        for off in range(0, row - f.nbytes + 1, f.size):
            if any(off < hi and lo < off + f.nbytes for lo, hi in taken):
                continue
            if not garbage(f, off) and _is_informative(_column(rows, f, off)):
                candidates.append(off)
        if len(candidates) > 1:
            raise PointCloudError(
                path,
                f"PCD header does not match the data: field {f.name!r} is implausible at its declared "
                f"offset {f.offset} and several offsets {candidates} of the {row}-byte row decode as "
                "plausible data; refusing to guess",
            )
        if not candidates:
            if f.offset % f.size == 0 and not garbage(f, f.offset):
                off = f.offset  # a constant field where the header says
            else:
                raise PointCloudError(
                    path,
                    f"PCD header does not match the data: field {f.name!r} is implausible at its declared "
                    f"offset {f.offset} and no offset of the {row}-byte row decodes as plausible data",
                )
        else:
            off = candidates[0]
        result[f.name] = off
        taken.append((off, off + f.nbytes))
        if off != f.offset:
            warnings.append(
                f"{path}: PCD header is wrong about field {f.name!r}: declared at byte {f.offset}, "
                f"found at byte {off} of the {row}-byte row (recovered)"
            )
    return result


def _lzf_decompress(src: bytes, out_len: int, path: Path) -> bytes:
    """Decompress LZF data (the codec of PCD ``binary_compressed``)."""
    try:  # the C implementation when installed
        import lzf  # type: ignore[import-not-found]

        out = lzf.decompress(src, out_len)
        if out is not None and len(out) == out_len:
            return out
    except ImportError:
        pass
    out = bytearray(out_len)
    ip = op = 0
    n_in = len(src)
    try:
        while ip < n_in:
            ctrl = src[ip]
            ip += 1
            if ctrl < 32:  # literal run of ctrl + 1 bytes
                ln = ctrl + 1
                if ip + ln > n_in or op + ln > out_len:
                    raise IndexError("literal overruns")
                out[op : op + ln] = src[ip : ip + ln]
                ip += ln
                op += ln
            else:  # back reference
                ln = ctrl >> 5
                if ln == 7:
                    ln += src[ip]
                    ip += 1
                ln += 2
                ref = op - ((ctrl & 0x1F) << 8) - src[ip] - 1
                ip += 1
                if ref < 0 or op + ln > out_len:
                    raise IndexError("back reference out of range")
                if op - ref >= ln:
                    out[op : op + ln] = out[ref : ref + ln]
                else:  # overlapping copy: repeat the period
                    period = out[ref:op]
                    reps = -(-ln // len(period))
                    out[op : op + ln] = (period * reps)[:ln]
                op += ln
    except IndexError as e:
        raise PointCloudError(path, f"PCD binary_compressed data is corrupt ({e})") from e
    if op != out_len:
        raise PointCloudError(path, f"PCD binary_compressed data decompressed to {op} bytes, header says {out_len}")
    return bytes(out)


def read_pcd(path: str | os.PathLike[str]) -> PointCloud:
    """Read a PCD file (v0.5-0.7; ascii, binary or binary_compressed; any fields in any order).

    Header problems are handled as follows:

    * data shorter than ``POINTS`` rows: refused (truncated file), naming the byte counts;
    * bytes after the last row of binary data: ignored, with a warning;
    * fields at wrong offsets (padding sizes that disagree with the data, as some tools write):
      recovered by :func:`_recover_layout` when unambiguous, refused otherwise.

    Padding fields named ``_`` are skipped. ``VIEWPOINT`` is not applied (points stay in the
    sensor frame); it is reported in a warning when it is not the identity.
    """
    path = Path(path)
    check_confined(path, PointCloudError)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PointCloudError(path, f"cannot read: {e.strerror or e}") from e
    h = _parse_pcd_header(raw, path)
    warnings: list[str] = []
    if h.viewpoint != (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0):
        warnings.append(f"{path}: PCD VIEWPOINT {h.viewpoint} is not applied; points stay in the file's frame")
    named = [f for f in h.fields if not f.is_padding]
    body = raw[h.data_offset :]
    n = h.points
    cols: dict[str, np.ndarray] = {}
    if h.data == "ascii":
        text = body.decode("ascii", errors="replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) < n:
            raise PointCloudError(path, f"PCD ascii data has {len(lines)} rows, header POINTS says {n} (truncated)")
        if len(lines) > n:
            warnings.append(f"{path}: {len(lines) - n} rows after POINTS={n} ignored")
        ncol = sum(f.count for f in h.fields)
        try:
            vals = np.array(" ".join(lines[:n]).split(), dtype=np.float64)
        except ValueError as e:
            raise PointCloudError(path, f"PCD ascii data has a non-numeric value: {e}") from e
        if vals.size != n * ncol:
            raise PointCloudError(
                path, f"PCD ascii data has {vals.size} values, expected {n} rows x {ncol} columns"
            )
        vals = vals.reshape(n, ncol)
        c = 0
        for f in h.fields:
            if not f.is_padding:
                v = vals[:, c : c + f.count].astype(np.dtype(f.dtype).newbyteorder("="))
                cols[f.name] = v[:, 0] if f.count == 1 else v
            c += f.count
    elif h.data == "binary":
        need = n * h.row_size
        if len(body) < need:
            raise PointCloudError(
                path,
                f"PCD binary data is {len(body)} bytes, header needs POINTS {n} x row {h.row_size} = {need} "
                "(truncated file, or wrong SIZE/COUNT)",
            )
        if len(body) > need:
            warnings.append(f"{path}: {len(body) - need} bytes after the {n} declared points ignored")
        rows = np.frombuffer(body, dtype=np.uint8, count=need).reshape(n, h.row_size) if n else np.zeros(
            (0, h.row_size), np.uint8
        )
        offsets = _recover_layout(rows, h, path, warnings) if n else {f.name: f.offset for f in named}
        for f in named:
            cols[f.name] = _column(rows, f, offsets[f.name])
    else:  # binary_compressed: uint32 compressed size, uint32 raw size, LZF; fields stored one after another
        if len(body) < 8:
            raise PointCloudError(path, "PCD binary_compressed data lacks its 8-byte size prefix (truncated)")
        csize, usize = struct.unpack("<II", body[:8])
        if len(body) - 8 < csize:
            raise PointCloudError(
                path, f"PCD binary_compressed data is {len(body) - 8} bytes, its prefix says {csize} (truncated)"
            )
        if usize != n * h.row_size:
            raise PointCloudError(
                path,
                f"PCD binary_compressed raw size {usize} != POINTS {n} x row {h.row_size}: header and data disagree",
            )
        if usize > LZF_MAX_RATIO * csize + 64:  # checked before anything is allocated
            raise PointCloudError(
                path,
                f"PCD binary_compressed claims {usize} raw bytes from {csize} compressed bytes; LZF expands at "
                f"most {LZF_MAX_RATIO}x (corrupt header)",
            )
        dec = _lzf_decompress(body[8 : 8 + csize], usize, path) if usize else b""
        pos = 0
        for f in h.fields:
            nb = n * f.nbytes
            if not f.is_padding:
                v = np.frombuffer(dec, dtype=f.dtype, count=n * f.count, offset=pos).reshape(n, f.count)
                cols[f.name] = v[:, 0].copy() if f.count == 1 else v.copy()
            pos += nb
    xyz = np.stack([cols.pop("x"), cols.pop("y"), cols.pop("z")], axis=1)
    return _finish(xyz, cols, path, warnings)


def write_pcd(path: str | os.PathLike[str], cloud: PointCloud, data: str = "binary") -> None:
    """Write a PCD v0.7 (``ascii`` or ``binary``) with x y z and every 1-D field, atomically."""
    path = Path(path)
    if data not in ("ascii", "binary"):
        raise ValueError(f"write_pcd supports ascii and binary, not {data!r}")
    cols = {"x": cloud.xyz[:, 0], "y": cloud.xyz[:, 1], "z": cloud.xyz[:, 2]}
    cols.update({k: v for k, v in cloud.fields.items() if np.ndim(v) == 1})
    names, sizes, types = [], [], []
    for k, v in cols.items():
        dt = np.asarray(v).dtype
        kind = {"f": "F", "u": "U", "i": "I"}.get(dt.kind)
        if kind is None:
            raise ValueError(f"field {k!r} has unsupported dtype {dt}")
        names.append(k)
        sizes.append(dt.itemsize)
        types.append(kind)
    n = len(cloud)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(names)}\nSIZE {' '.join(map(str, sizes))}\nTYPE {' '.join(types)}\n"
        f"COUNT {' '.join('1' for _ in names)}\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {n}\nDATA {data}\n"
    ).encode("ascii")
    if data == "binary":
        rec = np.zeros(n, dtype=[(k, np.asarray(v).dtype.newbyteorder("<")) for k, v in cols.items()])
        for k, v in cols.items():
            rec[k] = v
        payload = rec.tobytes()
    else:
        lines = [" ".join(repr(float(x)) if t == "F" else str(int(x)) for x, t in zip(r, types, strict=True))
                 for r in zip(*cols.values(), strict=True)]
        payload = ("\n".join(lines) + ("\n" if lines else "")).encode("ascii")
    atomic_write_bytes(path, header + payload)


# ---------------------------------------------------------------------------------------------
# PLY
# ---------------------------------------------------------------------------------------------
_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def read_ply(path: str | os.PathLike[str]) -> PointCloud:
    """Read the ``vertex`` element of a PLY file (ascii, binary_little_endian, binary_big_endian).

    Scalar vertex properties become fields (``intensity``, ``red``, ...). The vertex element must
    come first or follow only elements without list properties.
    """
    path = Path(path)
    check_confined(path, PointCloudError)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PointCloudError(path, f"cannot read: {e.strerror or e}") from e
    if not raw.startswith(b"ply"):
        raise PointCloudError(path, "not a PLY file (no 'ply' magic)")
    end = raw.find(b"end_header")
    if end < 0:
        raise PointCloudError(path, "PLY header has no end_header line")
    nl = raw.find(b"\n", end)
    body_start = nl + 1 if nl >= 0 else len(raw)
    lines = raw[:end].decode("ascii", errors="replace").splitlines()
    fmt = None
    elements: list[tuple[str, int, list[tuple[str, str]]]] = []
    for lineno, ln in enumerate(lines, start=1):
        p = ln.split()
        if not p:
            continue
        if p[0] == "format":
            if len(p) < 2:
                raise PointCloudError(path, f"PLY header line {lineno}: 'format' without a value")
            fmt = p[1]
        elif p[0] == "element":
            try:
                elements.append((p[1], int(p[2]), []))
            except (IndexError, ValueError) as e:
                raise PointCloudError(path, f"PLY header line {lineno}: bad element line {ln!r}") from e
            if elements[-1][1] < 0:
                raise PointCloudError(path, f"PLY header line {lineno}: negative element count {ln!r}")
        elif p[0] == "property" and elements:
            if len(p) < 3 or (p[1] == "list" and len(p) < 5):
                raise PointCloudError(path, f"PLY header line {lineno}: property without a type or a name {ln!r}")
            if p[1] == "list":
                elements[-1][2].append((p[-1], "list"))
            else:
                t = _PLY_TYPES.get(p[1])
                if t is None:
                    raise PointCloudError(path, f"PLY header line {lineno}: property {p[-1]!r} has unknown type "
                                                f"{p[1]!r}")
                if any(name == p[2] for name, _ in elements[-1][2]):
                    raise PointCloudError(path, f"PLY header line {lineno}: property {p[2]!r} given twice")
                elements[-1][2].append((p[2], t))
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise PointCloudError(path, f"PLY format {fmt!r} is not supported")
    body = raw[body_start:]
    skip = 0
    for name, count, props in elements:
        if name == "vertex":
            break
        if any(t == "list" for _, t in props) or fmt == "ascii":
            raise PointCloudError(path, f"PLY element {name!r} before 'vertex' cannot be skipped")
        skip += count * sum(np.dtype(t).itemsize for _, t in props)
    else:
        raise PointCloudError(path, "PLY has no vertex element")
    _, n, props = next(e for e in elements if e[0] == "vertex")
    if any(t == "list" for _, t in props):
        raise PointCloudError(path, "PLY vertex element has list properties")
    names = [p for p, _ in props]
    for axis in ("x", "y", "z"):
        if axis not in names:
            raise PointCloudError(path, f"PLY vertex element has no {axis!r} property")
    if fmt == "ascii":
        text = body.decode("ascii", errors="replace").split()
        need = n * len(props)
        if len(text) < need:
            raise PointCloudError(path, f"PLY ascii data has {len(text)} values, needs {need} (truncated)")
        try:
            vals = np.array(text[:need], dtype=np.float64).reshape(n, len(props))
        except ValueError as e:
            raise PointCloudError(path, f"PLY ascii data has a non-numeric value: {e}") from e
        cols = {p: vals[:, i].astype(t) for i, (p, t) in enumerate(props)}
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        dt = np.dtype([(p, order + t) for p, t in props])
        need = skip + n * dt.itemsize
        if len(body) < need:
            raise PointCloudError(path, f"PLY binary data is {len(body)} bytes, needs {need} (truncated)")
        rec = np.frombuffer(body, dtype=dt, count=n, offset=skip)
        cols = {p: rec[p].astype(np.dtype(t).newbyteorder("=")) for p, t in props}
    xyz = np.stack([cols.pop("x"), cols.pop("y"), cols.pop("z")], axis=1)
    return _finish(xyz, cols, path, [])


# ---------------------------------------------------------------------------------------------
# numpy
# ---------------------------------------------------------------------------------------------
_NPZ_XYZ_KEYS = ("xyz", "points", "pts", "positions")


def read_numpy(path: str | os.PathLike[str], layout: str | Sequence[str] | None = None) -> PointCloud:
    """Read ``.npy`` ((N, >=3) array; extra columns named by ``layout`` or ``f3, f4, ...``; a
    structured array with x, y, z fields also works) or ``.npz`` (an ``xyz``/``points`` (N, 3+)
    array plus optional 1-D arrays of length N as fields)."""
    path = Path(path)
    check_confined(path, PointCloudError)
    if path.suffix.lower() == ".npz":
        _check_npz(path)
    else:
        _check_npy(path)
    try:
        obj = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise PointCloudError(path, f"cannot load numpy file: {e}") from None
    if path.suffix.lower() == ".npz":
        with obj:
            key = next((k for k in _NPZ_XYZ_KEYS if k in obj.files), None)
            if key is None:
                raise PointCloudError(path, f"npz has none of the arrays {_NPZ_XYZ_KEYS}; it has {obj.files}")
            try:
                arr = obj[key]
                extra = {k: obj[k] for k in obj.files if k != key}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
                raise PointCloudError(path, f"corrupt npz member: {e}") from None
        if not _is_numeric(arr):
            raise PointCloudError(path, f"npz array {key!r} has dtype {arr.dtype}, not numbers")
        for k, v in extra.items():
            if not _is_numeric(v):
                raise PointCloudError(path, f"npz array {k!r} has dtype {v.dtype}, not numbers")
        if arr.ndim != 2 or arr.shape[1] < 3:
            raise PointCloudError(path, f"npz array {key!r} must be (N, 3+), got {arr.shape}")
        fields = {}
        for k, v in extra.items():
            if v.shape[:1] != (len(arr),):
                raise PointCloudError(path, f"npz array {k!r} has {v.shape[:1]} rows, points have {len(arr)}")
            fields[k] = v
        if arr.shape[1] > 3 and layout is not None:
            names = _bin_layout(layout, path)
            fields.update({n: arr[:, i] for i, n in enumerate(names[3:], start=3) if i < arr.shape[1]})
        return _finish(arr[:, :3], fields, path, [])
    arr = obj
    if arr.dtype.names:
        for axis in ("x", "y", "z"):
            if axis not in arr.dtype.names:
                raise PointCloudError(path, f"structured npy has no {axis!r} field")
        for name in arr.dtype.names:
            if not _is_numeric(arr[name]) or arr[name].ndim != 1:
                raise PointCloudError(path, f"structured npy field {name!r} is not one number per point")
    elif not _is_numeric(arr):
        raise PointCloudError(path, f"npy array has dtype {arr.dtype}, not numbers")
        xyz = np.stack([arr["x"], arr["y"], arr["z"]], axis=1)
        return _finish(xyz, {k: arr[k] for k in arr.dtype.names if k not in "xyz"}, path, [])
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise PointCloudError(path, f"npy array must be (N, 3+), got shape {arr.shape}")
    names = _bin_layout(layout, path) if layout is not None else tuple(
        ["x", "y", "z"] + [f"f{i}" for i in range(3, arr.shape[1])]
    )
    if len(names) != arr.shape[1]:
        raise PointCloudError(path, f"npy has {arr.shape[1]} columns, layout names {len(names)}")
    return _finish(arr[:, :3], {n: arr[:, i] for i, n in enumerate(names[3:], start=3)}, path, [])


def _is_numeric(a: np.ndarray) -> bool:
    return a.dtype.kind in "biuf"


def _npy_payload(fp: Any, where: str, path: Path) -> int:
    """Bytes of array data an ``.npy`` header (read from ``fp``) announces; PointCloudError for an
    unreadable header."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError, tokenize.TokenError) as e:
        raise PointCloudError(path, f"{where}: bad .npy header ({e})") from None
    if dtype.hasobject:
        raise PointCloudError(path, f"{where}: holds Python objects (dtype {dtype}); only number arrays are read")
    n = 1
    for d in shape:
        n *= int(d)
    return n * dtype.itemsize


def _check_npy(path: Path) -> None:
    """Refuse an ``.npy`` whose header announces more data than the file holds (before numpy
    allocates it)."""
    try:
        with open(path, "rb") as f:
            need = _npy_payload(f, "npy", path)
            have = os.fstat(f.fileno()).st_size - f.tell()
    except OSError as e:
        raise PointCloudError(path, f"cannot read: {e.strerror or e}") from None
    if need > have:
        raise PointCloudError(path, f"npy header announces {need} bytes of data, the file holds {have} (truncated "
                                    "or corrupt header)")


def _check_npz(path: Path) -> None:
    """Refuse an ``.npz`` that is not a readable zip, or whose members announce more data than
    they can hold (checked from the zip directory and each member's ``.npy`` header, before
    anything is decompressed in full)."""
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.file_size > DEFLATE_MAX_RATIO * info.compress_size + 1024:
                    raise PointCloudError(path, f"npz member {info.filename!r} claims {info.file_size} bytes from "
                                                f"{info.compress_size} compressed (corrupt)")
                with z.open(info) as f:
                    need = _npy_payload(f, f"npz member {info.filename!r}", path)
                    header = f.tell()
                if need + header > info.file_size:
                    raise PointCloudError(path, f"npz member {info.filename!r} announces {need} bytes of data, "
                                                f"it holds {info.file_size - header}")
    except PointCloudError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as e:
        raise PointCloudError(path, f"not a readable npz (zip) file: {e}") from None
    except OSError as e:
        raise PointCloudError(path, f"cannot read: {e.strerror or e}") from None


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------
def read_point_cloud(path: str | os.PathLike[str], layout: str | Sequence[str] | None = None) -> PointCloud:
    """Read any supported point cloud by its suffix. ``.bin`` (and ``.pcd.bin``) need ``layout``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise PointCloudError(path, "file does not exist")
    if suffix == ".bin":
        return read_bin(path, layout)  # type: ignore[arg-type]
    if suffix == ".pcd":
        return read_pcd(path)
    if suffix == ".ply":
        return read_ply(path)
    if suffix in (".npy", ".npz"):
        return read_numpy(path, layout)
    raise PointCloudError(path, f"unknown point-cloud suffix {suffix!r}; supported: {', '.join(SUFFIXES)}")


def is_point_cloud_file(path: str | os.PathLike[str]) -> bool:
    """True for file names with a supported point-cloud suffix."""
    return bool(re.search(r"\.(bin|pcd|ply|npy|npz)$", str(path), re.IGNORECASE))
