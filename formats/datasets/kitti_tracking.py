"""KITTI tracking layout: ``velodyne/<seq>/<frame>.bin``, ``image_02/<seq>/<frame>.png``
(optionally ``image_03``), ``calib/<seq>.txt``, ``label_02/<seq>.txt``, ``oxts/<seq>.txt``.

* One sequence is opened at a time (``sequence="0001"``; default: the first one found). The label
  and OXTS files may live elsewhere: ``label_path=`` / ``oxts_path=`` (the AB3DMOT sample keeps its
  labels in ``scripts/KITTI/label/<seq>.txt``).
* Frame count = 1 + the largest frame index among labels, images and sweeps: LiDAR is optional.
* Timestamps: the tracking benchmark has none; frames are ``index * 100 ms`` (its 10 Hz rate).
* Poses: from OXTS (see :mod:`formats.datasets.oxts`; world = the Velodyne frame at frame 0) when
  an OXTS file is present, identity otherwise (world = each frame's Velodyne frame).
* The rig: ``ego`` = Velodyne (as :meth:`calib.readers.KittiCalib.to_rig`), cameras ``image_2``
  (and ``image_3``) sized by their images (all images of a camera must share one size,
  :class:`ImageSizeError` otherwise; ``image_size=(w, h)`` when there are no images).
* Labels: one track per KITTI ``track_id`` with its boxes as keyframes (world frame), the first
  type as label; ``DontCare`` rows (track id -1) become ignore regions of ``image_2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from calib.readers import load_kitti_calib
from calib.transforms import invert
from formats.datasets.base import (
    DEFAULT_PERIOD_NS,
    IgnoreRegion,
    LoadedSequence,
    check_frame_numbers,
    check_image_size,
    dense_tracks,
    list_files,
)
from formats.datasets.base import (
    image_size as read_image_size,
)
from formats.datasets.errors import DatasetError
from formats.datasets.oxts import ego_poses_from_oxts, read_oxts_file
from formats.kitti_labels import KittiObject, kitti_to_box, read_tracking_labels
from formats.sync import DEFAULT_TOLERANCE_NS, report_from_pairs
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo, Track

CAMERA_DIRS = {2: "image_02", 3: "image_03"}


def list_sequences(root: Path) -> list[str]:
    """Sequence names found under ``calib/`` (``<seq>.txt``), sorted."""
    return sorted(list_files(root / "calib", (".txt",)))


def load_kitti_tracking(
    path: Path,
    sequence: str | int | None = None,
    label_path: str | Path | None = None,
    oxts_path: str | Path | None = None,
    image_size: tuple[int, int] | None = None,
    tolerance_ms: float | None = None,
    **_: Any,
) -> LoadedSequence:
    """Open one sequence of a KITTI tracking split folder (the one holding ``calib/``)."""
    root = Path(path)
    if not (root / "calib").is_dir() and (root / "training" / "calib").is_dir():
        root = root / "training"
    seqs = list_sequences(root)
    if not seqs:
        raise DatasetError(root / "calib", "no <sequence>.txt calibration files: not a KITTI tracking folder")
    if sequence is None:
        seq = seqs[0]
    else:
        seq = f"{int(sequence):04d}" if isinstance(sequence, int) or str(sequence).isdigit() else str(sequence)
        if seq not in seqs:
            raise DatasetError(root / "calib" / f"{seq}.txt", f"no such sequence; found {seqs}")
    calib = load_kitti_calib(root / "calib" / f"{seq}.txt")
    warnings: list[str] = []

    velo = list_files(root / "velodyne" / seq, (".bin",))
    imgs = {i: list_files(root / d / seq, (".png", ".jpg")) for i, d in CAMERA_DIRS.items()}
    lp = Path(label_path) if label_path is not None else root / "label_02" / f"{seq}.txt"
    if label_path is not None and not lp.is_file():
        raise DatasetError(lp, "label file not found")
    labels = read_tracking_labels(lp) if lp.is_file() else {}
    if not lp.is_file():
        warnings.append(f"{lp}: no label file; the sequence opens without labels")

    def index(stem: str, p: Path) -> int:
        if not stem.isdigit():
            raise DatasetError(p, "file name is not a frame number")
        return int(stem)

    velo_i = {index(s, p): p for s, p in velo.items()}
    imgs_i = {i: {index(s, p): p for s, p in m.items()} for i, m in imgs.items()}
    numbered: dict[int, Path] = {k: lp for k in labels}
    numbered.update(velo_i)
    for m in imgs_i.values():
        numbered.update(m)
    n = check_frame_numbers(numbered, root)
    if n == 0:
        raise DatasetError(root, f"sequence {seq}: no sweeps, images or labels")

    # rig: camera sizes from the image headers (one size per camera)
    sizes: dict[int, tuple[int, int]] = {}
    for i, m in imgs_i.items():
        if m:
            sizes[i] = read_image_size(next(iter(m.values())))
        elif i == 2 and image_size is not None:
            sizes[i] = (int(image_size[0]), int(image_size[1]))
    if 2 not in sizes:
        warnings.append(f"sequence {seq}: no image_02 images and no image_size=; the rig has no camera")
    rig = calib.to_rig(image_size=sizes, cameras=sorted(sizes))
    for i, m in imgs_i.items():
        for p in m.values():
            check_image_size(p, read_image_size(p), rig, f"image_{i}")

    # poses
    op = Path(oxts_path) if oxts_path is not None else root / "oxts" / f"{seq}.txt"
    if oxts_path is not None and not op.is_file():
        raise DatasetError(op, "OXTS file not found")
    if op.is_file():
        oxts = read_oxts_file(op)
        if len(oxts) < n:
            raise DatasetError(op, f"{len(oxts)} OXTS records for {n} frames")
        poses = ego_poses_from_oxts(oxts[:n], invert(calib.T_velo_from_imu()))
    else:
        poses = np.tile(np.eye(4), (n, 1, 1))
        warnings.append(f"sequence {seq}: no OXTS file; identity ego poses (world = each frame's Velodyne frame)")

    frames = []
    for k in range(n):
        cams = {f"image_{i}": m[k] for i, m in imgs_i.items() if k in m and i in sizes}
        frames.append(
            FrameInfo(
                k,
                k * DEFAULT_PERIOD_NS,
                poses[k],
                lidar_files={"velodyne": velo_i[k]} if k in velo_i else {},
                camera_files=cams,
                camera_timestamps_ns={c: k * DEFAULT_PERIOD_NS for c in cams},
            )
        )

    # labels -> tracks in the world frame
    # the exact inverse: R0_rect @ Tr_velo_cam is orthonormal only to the file's 7 digits
    T_ego_from_cam0rect = np.linalg.inv(calib.T_cam0rect_from_velo())
    tracks: dict[int, Track] = {}
    ignore: list[IgnoreRegion] = []
    sources: dict[int, list[tuple[Box3D, KittiObject]]] = {}
    for k in sorted(labels):
        for obj in labels[k]:
            if obj.is_dontcare or obj.track_id is None or obj.track_id < 0:
                ignore.append(IgnoreRegion(k, "image_2", obj.bbox, obj.type, obj))
                continue
            box = kitti_to_box(obj, T_ego_from_cam0rect).transformed(poses[k])
            sources.setdefault(k, []).append((box, obj))
            tr = tracks.get(obj.track_id)
            if tr is None:
                tr = tracks[obj.track_id] = Track(obj.track_id, obj.type, {"kitti_sequence": seq})
            elif obj.type != tr.label and "other_types" not in tr.attributes:
                tr.attributes["other_types"] = obj.type
            if k in tr.keyframes:
                raise DatasetError(lp, f"track {obj.track_id} has two boxes in frame {k}")
            tr.keyframes[k] = box
    tol = DEFAULT_TOLERANCE_NS if tolerance_ms is None else int(tolerance_ms * 1e6)
    per_cam = {f"image_{i}": {k: None for k in imgs_i[i]} for i in sorted(sizes)}
    unused = {f"image_{i}": sum(1 for k in imgs_i[i] if k >= n) for i in sorted(sizes)}
    _, report = report_from_pairs([f.timestamp_ns for f in frames], per_cam, tol, unused)
    info = SequenceInfo(
        f"{root.name}-{seq}" if root.name not in ("training", "testing") else seq,
        "kitti-tracking",
        frames,
        rig,
        root=root,
        meta={"sequence": seq, "sequences": seqs, "label_file": lp if lp.is_file() else None,
              "oxts_file": op if op.is_file() else None},
    )
    return LoadedSequence(
        info=info,
        annotations=AnnotationDocument.from_tracks(dense_tracks(tracks), n),
        ignore_regions=ignore,
        sync=report,
        lidar_layout="kitti",
        warnings=warnings,
        source_labels=sources,
    )
