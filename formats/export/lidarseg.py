"""nuScenes-lidarseg and nuScenes-panoptic files of the nuScenes writer, and their reader.

When the exported sequence has point labels, every keyframe's LIDAR_TOP sample_data gets::

    dst/lidarseg/<version>/<sample_data_token>_lidarseg.bin    uint8 per point: lidarseg index
    dst/panoptic/<version>/<sample_data_token>_panoptic.npz    "data": uint16 per point,
                                                               lidarseg index * 1000 + instance
    dst/<version>/lidarseg.json, panoptic.json                 {token, sample_data_token, filename}
                                                               (token = sample_data_token, as the
                                                               devkit looks records up by it)

and ``category.json`` carries every lidarseg class with its ``index`` (0 ``noise`` .. 31
``vehicle.ego``). Our classes map through :meth:`ClassTable.to_nuscenes` (the finer building and
pole classes become ``static.manmade``; unlabelled points ``noise``). Panoptic instances: the
points of a thing class with an instance get a per-scene instance number 1..999 (our instances in
ascending order); stuff classes (index >= 24) and points without an instance get 0.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from formats.errors import FormatError
from formats.export.common import token, write_bytes
from formats.io import NPZ_READ_ERRORS, outside_roots, read_json_file
from fusionlabel.pointlabels import ClassTable, FrameLabels, PointLabels
from fusionlabel.pointlabels.classes import NO_INSTANCE, NUSCENES_LIDARSEG, NUSCENES_STUFF_START

#: Largest instance number of a nuScenes-panoptic label (index * 1000 + instance).
MAX_PANOPTIC_INSTANCE = 999


def lidarseg_categories(existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``category.json`` records with every lidarseg class and its ``index`` (the existing records,
    same tokens, gain theirs)."""
    index = {name: i for i, (name, _, _) in enumerate(NUSCENES_LIDARSEG)}
    by_name = {c["name"]: dict(c) for c in existing}
    for name in index:
        by_name.setdefault(name, {"token": token("category", name), "name": name, "description": name})
    unknown = sorted(set(by_name) - set(index))
    if unknown:
        raise FormatError(None, f"categories {unknown} are not nuScenes-lidarseg classes: no index for lidarseg")
    out = [{**by_name[n], "index": i} for n, i in sorted(index.items(), key=lambda kv: kv[1])]
    return out


def npz_bytes(data: np.ndarray) -> bytes:
    """``data`` as a compressed ``.npz`` holding ``data.npy`` (what ``np.savez_compressed(f,
    data=data)`` writes, read back by ``np.load(f)["data"]``), deflated at level 1: the labels are
    long runs of few values, which level 1 packs nearly as well (4 KB against 2.3 KB a sweep) at
    under half the time."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("data.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array(f, np.asanyarray(data), allow_pickle=False)
    return buf.getvalue()


class LidarsegWriter:
    """Collects the lidarseg / panoptic files and records of one export (module doc)."""

    def __init__(self, out: Path, version: str, table: ClassTable) -> None:
        self.out, self.version, self.table = out, version, table
        self.lidarseg: list[dict[str, Any]] = []
        self.panoptic: list[dict[str, Any]] = []
        self._numbers: dict[tuple[str, int], int] = {}
        self._thing = np.zeros(256, dtype=bool)
        self._thing[:NUSCENES_STUFF_START] = True
        self._thing[0] = False  # noise

    def _instance_numbers(self, scene: str, instance: np.ndarray, semantic_nus: np.ndarray) -> np.ndarray:
        out = np.zeros(len(instance), dtype=np.uint16)
        has = (instance != NO_INSTANCE) & self._thing[semantic_nus]
        of = instance[has]
        small = of.dtype.kind == "u" and of.dtype.itemsize <= 2  # uint16 ids: a table, no sort
        insts = np.flatnonzero(np.bincount(of, minlength=1)) if small and len(of) else np.unique(of)
        numbers = np.zeros(len(insts), dtype=np.uint16)
        for j, inst in enumerate(insts.tolist()):
            key = (scene, int(inst))
            if key not in self._numbers:
                n = 1 + sum(1 for s, _ in self._numbers if s == scene)
                if n > MAX_PANOPTIC_INSTANCE:
                    raise FormatError(self.out, f"scene {scene}: more than {MAX_PANOPTIC_INSTANCE} instances "
                                      "do not fit nuScenes-panoptic labels")
                self._numbers[key] = n
            numbers[j] = self._numbers[key]
        if len(insts) and small:
            lut = np.zeros(int(insts[-1]) + 1, dtype=np.uint16)
            lut[insts] = numbers
            out[has] = lut[of]  # each point's instance number
        elif len(insts):
            out[has] = numbers[np.searchsorted(insts, of)]
        return out

    def add(self, scene: str, sd_token: str, labels: FrameLabels) -> None:
        """Write the files of one LIDAR_TOP keyframe sample_data."""
        sem = self.table.to_nuscenes(labels.semantic)
        rel_l = f"lidarseg/{self.version}/{sd_token}_lidarseg.bin"
        rel_p = f"panoptic/{self.version}/{sd_token}_panoptic.npz"
        (self.out / rel_l).parent.mkdir(parents=True, exist_ok=True)
        (self.out / rel_p).parent.mkdir(parents=True, exist_ok=True)
        write_bytes(self.out / rel_l, sem.astype(np.uint8).tobytes())
        pan = sem.astype(np.uint16) * np.uint16(1000) + self._instance_numbers(scene, labels.instance, sem)
        write_bytes(self.out / rel_p, npz_bytes(pan.astype(np.uint16)))
        self.lidarseg.append({"token": sd_token, "sample_data_token": sd_token,
                              "filename": rel_l})
        self.panoptic.append({"token": sd_token, "sample_data_token": sd_token,
                              "filename": rel_p})

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {"lidarseg": self.lidarseg, "panoptic": self.panoptic}


def _records(root: Path, version: str, name: str) -> list[dict[str, Any]]:
    p = root / version / f"{name}.json"
    if not p.is_file():
        return []
    data = read_json_file(p, FormatError)  # checked: confined, size-limited, depth-limited
    if not isinstance(data, list) or not all(isinstance(r, dict) and isinstance(r.get("filename"), str)
                                              and isinstance(r.get("sample_data_token"), str) for r in data):
        raise FormatError(p, "expected a list of {token, sample_data_token, filename} records")
    return data


def _inside(root: Path, rel: str) -> Path:
    """``root / rel``; FormatError when it resolves (through links or ``..``) outside ``root``."""
    p = root / rel
    real = outside_roots(p, [os.path.realpath(root)])
    if real is not None:
        raise FormatError(p, f"resolves to {real}, outside the dataset root {root}; refused")
    return p


def read_frame_labels(root: Path, lidarseg_file: str, panoptic_file: str | None, table: ClassTable) -> FrameLabels:
    """One sweep's labels from its lidarseg ``.bin`` (and panoptic ``.npz``, when given), paths
    relative to the data root ``root``: classes through ``table`` (:meth:`ClassTable.from_nuscenes`),
    instances the panoptic numbers (0: none)."""
    p = _inside(root, lidarseg_file)
    try:
        seg = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise FormatError(p, f"cannot read lidarseg labels: {e}") from None
    inst = np.zeros(len(seg), dtype=np.uint16)
    if panoptic_file is not None:
        pp = _inside(root, panoptic_file)
        try:
            with np.load(pp, allow_pickle=False) as z:
                pan = z["data"]
                if pan.dtype != np.uint16:  # nuScenes' own dtype is used as it is, others widened
                    pan = pan.astype(np.int64)
        except NPZ_READ_ERRORS as e:
            raise FormatError(pp, f"cannot read panoptic labels: {e}") from None
        if pan.shape != seg.shape or not np.array_equal(pan // 1000, seg):
            raise FormatError(pp, "panoptic labels disagree with the lidarseg labels of the same sweep")
        inst = (pan % 1000).astype(np.uint16)
    return FrameLabels(table.from_nuscenes(seg), inst)


def read_lidarseg(root: Path, version: str, table: ClassTable | None = None) -> dict[str, FrameLabels]:
    """Per LIDAR_TOP sample_data token, the labels of a nuScenes lidarseg (+ panoptic, when present)
    export as our labels (:func:`read_frame_labels`)."""
    table = table or ClassTable.default()
    root = Path(root)
    panoptic = {r["sample_data_token"]: r["filename"] for r in _records(root, version, "panoptic")}
    return {r["sample_data_token"]: read_frame_labels(root, r["filename"], panoptic.get(r["sample_data_token"]), table)
            for r in _records(root, version, "lidarseg")}


class LidarsegSource:
    """The lidarseg / panoptic labels of a nuScenes scene as a point-label source: frame ``k`` is
    the keyframe whose LIDAR_TOP sample_data token is ``tokens[k]``."""

    def __init__(self, root: Path, version: str, tokens: list[str], table: ClassTable) -> None:
        self.root, self.table = Path(root), table
        seg = {r["sample_data_token"]: r["filename"] for r in _records(self.root, version, "lidarseg")}
        pan = {r["sample_data_token"]: r["filename"] for r in _records(self.root, version, "panoptic")}
        self._files = {k: (seg[t], pan.get(t)) for k, t in enumerate(tokens) if t in seg}

    def frames(self) -> list[int]:
        return sorted(self._files)

    def where(self, frame: int) -> str:
        return str(self.root / self._files[frame][0])

    def load(self, frame: int) -> FrameLabels:
        return read_frame_labels(self.root, *self._files[frame], self.table)


def nuscenes_point_labels(root: Path, version: str, tokens: list[str], sensor: str) -> PointLabels | None:
    """Point labels of an opened nuScenes scene from its lidarseg files (None when it has none)."""
    table = ClassTable.default()
    src = LidarsegSource(root, version, tokens, table)
    if not src.frames():
        return None
    return PointLabels(table, len(tokens), sensor=sensor, source=src)
