"""Random access to the messages of a recording (ROS 1 bag, ROS 2 bag with sqlite3 or MCAP
storage, plain MCAP / ``.db3`` file) through the ``rosbags`` library, without loading it whole.

:class:`BagStore` opens the recording once with ``rosbags`` (its connection list, type
definitions and the storage's own index: ROS 1 index records, MCAP chunk and message indexes,
the sqlite ``messages`` table) and keeps, per topic, the log time (integer ns) and the location
of every message. :meth:`BagStore.read` then fetches one message by its position in its topic:
a ``pread`` at a known offset for uncompressed ROS 1 chunks and MCAP chunks, one row for sqlite;
compressed chunks are decompressed (the last one is kept). :meth:`BagStore.peek` reads only the
first bytes of a message (its ``std_msgs/Header`` stamp), which is how the loader gets every
sensor time without decoding clouds and images. Reads are thread-safe (``os.pread`` and a lock
for the shared sqlite connection and chunk cache).

Errors from the library or from damaged records raise :class:`formats.datasets.errors.DatasetError`
naming the file (and the topic where one is involved).
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from formats.datasets.errors import DatasetError
from formats.io import confined_roots, outside_roots

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

#: Suffixes of recording files (a ROS 2 bag is a folder holding ``metadata.yaml``).
BAG_SUFFIXES = (".bag", ".mcap", ".db3")


@dataclass
class TopicIndex:
    """The messages of one topic: ``msgtype`` (``sensor_msgs/msg/PointCloud2``), ``log_ns`` (M,)
    int64 log times (sorted), and ``refs`` (M,) locations private to the storage."""

    topic: str
    msgtype: str
    log_ns: NDArray[np.int64]
    refs: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.log_ns.size)


def _fail(path: Path, what: str) -> DatasetError:
    return DatasetError(path, what)


def check_storage_paths(path: Path) -> None:
    """DatasetError naming the file when a ROS 2 bag folder's ``metadata.yaml``, or a storage file
    it names (``relative_file_paths``, ``files[].path``: ``../``, absolute paths, links), resolves
    outside the roots reads are confined to (:func:`calib.fileio.confined_to`: the bag folder and
    the roots the user named), or outside the folder when nothing is confined; checked before the
    library opens anything. A recording file (``.bag``, ``.mcap``, ``.db3``) opened by name is the
    user's choice: not checked here."""
    if not path.is_dir():
        return
    roots = confined_roots() or (os.path.realpath(path),)

    def inside(p: Path) -> Path:
        real = outside_roots(p, roots)
        if real is not None:
            raise _fail(p, f"resolves to {real}, outside the dataset root {roots[0]}; refused (name extra roots "
                           "explicitly to allow it: --allow-root)")
        return p

    meta = inside(path / "metadata.yaml")
    try:
        from ruamel.yaml import YAML

        data = YAML(typ="safe", pure=True).load(meta.read_text(encoding="utf-8"))
    except Exception as e:  # noqa: BLE001 - any failure to read or parse names the file
        raise _fail(meta, f"cannot read the bag's metadata: {' '.join(str(e).split())[:200]}") from None
    info = data.get("rosbag2_bagfile_information") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        raise _fail(meta, "no 'rosbag2_bagfile_information' mapping")
    names, files = info.get("relative_file_paths") or [], info.get("files") or []
    if not isinstance(names, list) or not isinstance(files, list):
        raise _fail(meta, "'relative_file_paths' and 'files' must be lists")
    for name in [*names, *(f.get("path") for f in files if isinstance(f, dict) and "path" in f)]:
        if not isinstance(name, str) or not name:
            raise _fail(meta, f"storage file name {name!r}: expected a file name")
        inside(path / name)


class _Reader:
    """One storage file: ``index(topic_ids)`` and ``read(ref, n)`` (first ``n`` bytes or all)."""

    path: Path

    def index(self, conns: dict[str, list[int]]) -> dict[str, tuple[list[int], list[Any]]]:
        raise NotImplementedError

    def read(self, ref: Any, n: int | None = None) -> bytes | bytearray:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _pread(fd: int, size: int, offset: int, path: Path) -> bytes:
    if not (0 <= size <= os.fstat(fd).st_size and 0 <= offset < 1 << 62):
        raise _fail(path, f"corrupt index: {size} bytes at offset {offset}")
    try:
        data = os.pread(fd, size, offset)
    except (OSError, OverflowError) as e:
        raise _fail(path, f"cannot read {size} bytes at offset {offset}: {e}") from None
    if len(data) != size:
        raise _fail(path, f"truncated: {size} bytes expected at offset {offset}, {len(data)} found")
    return data


def _pread_payload(fd: int, size: int, offset: int, path: Path) -> bytearray:
    """``size`` bytes at ``offset`` into a new writable buffer (arrays decoded from it are
    writable views, not copies)."""
    if not (0 <= size <= os.fstat(fd).st_size and 0 <= offset < 1 << 62):
        raise _fail(path, f"corrupt index: {size} bytes at offset {offset}")
    buf = bytearray(size)
    try:
        got = os.preadv(fd, [buf], offset) if size else 0
    except (OSError, OverflowError) as e:
        raise _fail(path, f"cannot read {size} bytes at offset {offset}: {e}") from None
    if got != size:
        raise _fail(path, f"truncated: {size} bytes expected at offset {offset}, {got} found")
    return buf


class _ChunkCache:
    """The last decompressed chunk (compressed bags only), shared by threads under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: Any = None
        self.data = b""

    def get(self, key: Any, load: Callable[[], bytes], path: Path) -> bytes:
        with self.lock:
            if self.key != key:
                try:
                    self.data = load()
                except DatasetError:
                    raise
                except Exception as e:  # noqa: BLE001 - the decompressors raise their own kinds
                    raise _fail(path, f"cannot decompress a chunk ({' '.join(str(e).split())[:150]})") from None
                self.key = key
            return self.data


class _Ros1(_Reader):
    """ROS 1 bag v2.0: the index the ``rosbags`` reader built (per connection: time, chunk
    position, offset in the uncompressed chunk)."""

    def __init__(self, reader: Any, path: Path) -> None:
        self.r = reader
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        self.cache = _ChunkCache()
        from rosbags.rosbag1.reader import decompressors

        self.plain = decompressors["none"]

    def index(self, conns: dict[str, list[int]]) -> dict[str, tuple[list[int], list[Any]]]:
        out = {}
        for topic, ids in conns.items():
            entries = sorted(e for cid in ids for e in self.r.indexes.get(cid, []))
            out[topic] = ([e.time for e in entries], [(e.chunk_pos, e.offset) for e in entries])
        return out

    def _record(self, buf: bytes, pos: int) -> tuple[int, int, int]:
        """(op, data offset, data length) of the record at ``pos`` of ``buf``."""
        (hlen,) = _U32.unpack_from(buf, pos)
        head = buf[pos + 4 : pos + 4 + hlen]
        op = -1
        i = 0
        while i + 4 <= len(head):
            (flen,) = _U32.unpack_from(head, i)
            fld = head[i + 4 : i + 4 + flen]
            if fld.startswith(b"op="):
                op = fld[3]
            i += 4 + flen
        (dlen,) = _U32.unpack_from(buf, pos + 4 + hlen)
        return op, pos + 8 + hlen, dlen

    def read(self, ref: Any, n: int | None = None) -> bytes:
        chunk_pos, offset = ref
        chunk = self.r.chunks[chunk_pos]
        if chunk.decompressor is self.plain:
            pos = chunk.datapos + offset
            for _ in range(64):  # connection records may precede the message
                head = _pread(self.fd, 4, pos, self.path)
                (hlen,) = _U32.unpack(head)
                if hlen > 1 << 20:
                    raise _fail(self.path, f"corrupt record header at offset {pos}")
                rec = _pread(self.fd, 8 + hlen, pos, self.path)
                op, start, dlen = self._record(rec, 0)
                if pos + start + dlen > chunk.datapos + chunk.datasize:
                    raise _fail(self.path, f"record at offset {pos} runs past its chunk")
                if op == 2:
                    if n is None:
                        return _pread_payload(self.fd, dlen, pos + start, self.path)
                    return _pread(self.fd, min(n, dlen), pos + start, self.path)
                pos += start + dlen
            raise _fail(self.path, f"no message record at chunk {chunk_pos} offset {offset}")

        def load() -> bytes:
            return bytes(chunk.decompressor(_pread(self.fd, chunk.datasize, chunk.datapos, self.path)))

        buf = self.cache.get(chunk_pos, load, self.path)
        pos = offset
        for _ in range(64):
            op, start, dlen = self._record(buf, pos)
            if op == 2:
                return buf[start : start + (dlen if n is None else min(n, dlen))]
            pos = start + dlen
        raise _fail(self.path, f"no message record at chunk {chunk_pos} offset {offset}")

    def close(self) -> None:
        os.close(self.fd)


class _Mcap(_Reader):
    """MCAP: chunk indexes from the summary (read by ``rosbags``) and the message index records
    of each chunk (log time, offset in the uncompressed chunk), read here."""

    def __init__(self, reader: Any, path: Path) -> None:
        self.r = reader
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        self.cache = _ChunkCache()
        self.size = os.fstat(self.fd).st_size
        if not reader.chunks:
            raise _fail(path, "MCAP file has no chunk index (unindexed or unchunked); re-index it (mcap recover)")

    def index(self, conns: dict[str, list[int]]) -> dict[str, tuple[list[int], list[Any]]]:
        out: dict[str, tuple[list[int], list[Any]]] = {}
        for topic, ids in conns.items():
            rows: list[tuple[int, int, int]] = []
            for ci, ch in enumerate(self.r.chunks):
                for cid in ids:
                    pos = ch.message_index_offsets.get(cid)
                    if pos is None:
                        continue
                    head = _pread(self.fd, 15, pos, self.path)
                    if head[0] != 0x07:
                        raise _fail(self.path, f"topic {topic}: no message index record at offset {pos}")
                    (nbytes,) = _U32.unpack_from(head, 11)
                    if nbytes % 16 or pos + 15 + nbytes > self.size:
                        raise _fail(self.path, f"topic {topic}: message index at offset {pos} claims {nbytes} bytes")
                    recs = np.frombuffer(_pread(self.fd, nbytes, pos + 15, self.path), dtype="<u8").reshape(-1, 2)
                    rows += [(int(t), ci, int(o)) for t, o in recs]
            rows.sort()
            out[topic] = ([r[0] for r in rows], [(r[1], r[2]) for r in rows])
        return out

    def read(self, ref: Any, n: int | None = None) -> bytes:
        ci, offset = ref
        ch = self.r.chunks[ci]
        data_start = ch.chunk_start_offset + 9 + 40 + len(ch.compression)
        if not ch.compression:
            head = _pread(self.fd, 9, data_start + offset, self.path)
            (rlen,) = _U64.unpack_from(head, 1)
            if head[0] != 0x05 or rlen < 22 or offset + 9 + rlen > ch.uncompressed_size:
                raise _fail(self.path, f"no message record at chunk offset {offset}")
            if n is None:
                return _pread_payload(self.fd, rlen - 22, data_start + offset + 31, self.path)
            return _pread(self.fd, min(n, rlen - 22), data_start + offset + 31, self.path)
        from rosbags.rosbag2.storage_mcap import decompress

        def load() -> bytes:
            (crc,) = _U32.unpack(_pread(self.fd, 4, ch.chunk_start_offset + 9 + 24, self.path))
            raw = _pread(self.fd, ch.compressed_size, data_start, self.path)
            return bytes(decompress(raw, ch.compression, ch.uncompressed_size, crc))

        buf = self.cache.get(ci, load, self.path)
        if buf[offset] != 0x05:
            raise _fail(self.path, f"no message record at chunk offset {offset}")
        (rlen,) = _U64.unpack_from(buf, offset + 1)
        size = rlen - 22 if n is None else min(n, rlen - 22)
        return buf[offset + 31 : offset + 31 + size]

    def close(self) -> None:
        os.close(self.fd)


class _Sqlite(_Reader):
    """rosbag2 sqlite3 storage: the ``messages`` table (``id``, ``topic_id``, ``timestamp``,
    ``data``); headers are read through incremental blob I/O."""

    def __init__(self, reader: Any, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            self.db = sqlite3.connect(f"file:{path}?immutable=1", uri=True, check_same_thread=False)
        except sqlite3.Error as e:
            raise _fail(path, f"cannot open the database: {e}") from None
        self.topic_ids = {c.topic: c.id for c in reader.connections}

    def index(self, conns: dict[str, list[int]]) -> dict[str, tuple[list[int], list[Any]]]:
        out = {}
        with self.lock:
            for topic in conns:
                tid = self.topic_ids.get(topic)
                try:
                    rows = [] if tid is None else self.db.execute(
                        "SELECT timestamp, id FROM messages WHERE topic_id=? ORDER BY timestamp, id", (tid,)
                    ).fetchall()
                    out[topic] = ([int(r[0]) for r in rows], [int(r[1]) for r in rows])
                except (sqlite3.Error, TypeError, ValueError) as e:
                    raise _fail(self.path, f"topic {topic}: cannot index the messages table ({e})") from None
        return out

    def read(self, ref: Any, n: int | None = None) -> bytes:
        with self.lock:
            try:
                if n is not None:
                    with self.db.blobopen("messages", "data", ref, readonly=True) as blob:
                        return bytes(blob.read(n))
                row = self.db.execute("SELECT data FROM messages WHERE id=?", (ref,)).fetchone()
            except sqlite3.Error as e:
                raise _fail(self.path, f"message {ref}: {e}") from None
        if row is None:
            raise _fail(self.path, f"message {ref} not found")
        return bytes(row[0])

    def close(self) -> None:
        self.db.close()


class BagStore:
    """An open recording: ``topics`` (topic -> :class:`TopicIndex`), :meth:`read`, :meth:`peek`,
    :meth:`decode` (message bytes -> ``rosbags`` message object) and :meth:`close`. ``is_ros1``
    tells the serialisation (ROS 1 or CDR); ``files`` the storage files read."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore

        self.path = Path(path)
        self.zstd_messages = False
        check_storage_paths(self.path)
        try:
            self.any = AnyReader([self.path], default_typestore=get_typestore(Stores.ROS2_HUMBLE))
            self.any.open()
        except Exception as e:  # the library raises many kinds; all mean a file it cannot read
            raise _fail(self.path, f"cannot open the recording: {' '.join(str(e).split())[:300]}") from None
        self.is_ros1 = not self.any.is2
        self.readers: list[_Reader] = []
        try:
            self._open_storages()
            self.topics = self._build_index()
        except BaseException:
            self.close()
            raise

    def _open_storages(self) -> None:
        from rosbags.rosbag2.reader import DirectoryReader
        from rosbags.rosbag2.storage_mcap import McapReader
        from rosbags.rosbag2.storage_sqlite3 import Sqlite3Reader

        for top in self.any.readers:
            if self.is_ros1:
                self.readers.append(_Ros1(top, Path(top.path)))
                continue
            storage = top.storage
            subs = storage.storages if isinstance(storage, DirectoryReader) else [storage]
            if isinstance(storage, DirectoryReader):
                mode = storage.metadata.compression_mode
                if mode == "message":
                    self.zstd_messages = True
            for s in subs:
                if isinstance(s, McapReader):
                    self.readers.append(_Mcap(s, Path(s.path)))
                elif isinstance(s, Sqlite3Reader):
                    self.readers.append(_Sqlite(s, Path(s.path)))
                else:
                    raise _fail(self.path, f"unsupported storage {type(s).__name__}")
        self.files = [r.path for r in self.readers]
        self._storage_conns = []
        for top in self.any.readers:
            subs = [top] if self.is_ros1 else (
                top.storage.storages if hasattr(top.storage, "storages") else [top.storage])
            for s in subs:
                per: dict[str, list[int]] = {}
                for c in s.connections:
                    per.setdefault(c.topic, []).append(c.id)
                self._storage_conns.append(per)

    def _build_index(self) -> dict[str, TopicIndex]:
        types: dict[str, str] = {}
        for c in self.any.connections:
            if types.setdefault(c.topic, c.msgtype) != c.msgtype:
                raise _fail(self.path, f"topic {c.topic}: two message types ({types[c.topic]}, {c.msgtype})")
        times: dict[str, list[int]] = {t: [] for t in types}
        refs: dict[str, list[Any]] = {t: [] for t in types}
        for si, (reader, conns) in enumerate(zip(self.readers, self._storage_conns, strict=True)):
            for topic, (ts, rs) in reader.index({t: ids for t, ids in conns.items() if t in types}).items():
                times[topic] += ts
                refs[topic] += [(si, r) for r in rs]
        out = {}
        for topic, msgtype in sorted(types.items()):
            try:
                t = np.asarray(times[topic], dtype=np.int64)
            except OverflowError:
                raise _fail(self.path, f"topic {topic}: a log time beyond 2^63 ns (corrupt index)") from None
            order = np.argsort(t, kind="stable")
            out[topic] = TopicIndex(topic, msgtype, t[order], [refs[topic][i] for i in order])
        return out

    # ---- messages --------------------------------------------------------------------------
    def _ref(self, topic: str, i: int) -> Any:
        idx = self.topics.get(topic)
        if idx is None:
            raise KeyError(f"{self.path}: no topic {topic!r}")
        if not 0 <= i < len(idx):
            raise IndexError(f"{self.path}: topic {topic}: message {i} out of range 0..{len(idx) - 1}")
        return idx.refs[i]

    def read(self, topic: str, i: int) -> bytearray:
        """The serialised bytes of message ``i`` (in log-time order) of ``topic``."""
        si, ref = self._ref(topic, i)
        try:
            data = self.readers[si].read(ref)
        except (OSError, struct.error, IndexError) as e:
            raise _fail(self.readers[si].path, f"topic {topic}: message {i} unreadable ({e})") from None
        if self.zstd_messages:
            from rosbags.rosbag2.reader import zstd  # type: ignore[attr-defined]

            data = zstd.decompress(data)
        return data if isinstance(data, bytearray) else bytearray(data)  # decoded arrays: writable

    def peek(self, topic: str, i: int, n: int = 64) -> bytes:
        """The first ``n`` bytes (or fewer) of message ``i`` of ``topic``."""
        if self.zstd_messages:
            return self.read(topic, i)[:n]
        si, ref = self._ref(topic, i)
        try:
            return self.readers[si].read(ref, n)
        except (OSError, struct.error, IndexError) as e:
            raise _fail(self.readers[si].path, f"topic {topic}: message {i} unreadable ({e})") from None

    def decode(self, topic: str, data: bytes | bytearray) -> Any:
        """Deserialise the bytes of a message of ``topic`` (``rosbags`` message object)."""
        msgtype = self.topics[topic].msgtype
        try:
            return self.any.deserialize(memoryview(data), msgtype)  # a view: the payload is not copied
        except Exception as e:  # noqa: BLE001 - any decoding failure is a malformed message
            raise _fail(self.path, f"topic {topic}: cannot decode a {msgtype} message ({str(e)[:200]})") from None

    def message(self, topic: str, i: int) -> Any:
        """Message ``i`` of ``topic``, decoded."""
        return self.decode(topic, self.read(topic, i))

    def close(self) -> None:
        for r in self.readers:
            try:
                r.close()
            except OSError:
                pass
        self.readers = []
        if getattr(self.any, "stack", None) is not None:
            self.any.close()


def header_stamp_ns(head: bytes, is_ros1: bool) -> int | None:
    """The ``std_msgs/Header`` stamp (ns) at the start of a message's serialised bytes (ROS 1:
    ``seq``, ``secs``, ``nsecs``; CDR: encapsulation, ``sec``, ``nanosec``); None when too short."""
    if len(head) < 12:
        return None
    if is_ros1:
        sec, nsec = struct.unpack_from("<II", head, 4)
    else:
        endian = ">" if head[1] == 0 else "<"
        sec, nsec = struct.unpack_from(endian + "iI", head, 4)
    return int(sec) * 1_000_000_000 + int(nsec)
