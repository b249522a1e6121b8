"""KITTI 3D-object layout (``training/{velodyne,image_2,calib,label_2}/<id>.*``) and its flat
variant (``<id>.bin``, ``<id>.png``, ``<id>.txt`` calib, ``<id>_gt.txt`` label in one folder, as
in the PointPillars demo data).

* Frames are the sorted ids found among the sweeps, images and labels; each needs its calib file.
* Every KITTI object frame is an **independent recording**: its own calibration (so
  :meth:`LoadedSequence.rig` is per frame, ``frame_rigs``), no ego pose (identity: world = ego =
  the Velodyne frame of that frame), and a made-up timestamp ``index * 100 ms`` (the data has none).
* Camera models need image sizes, which KITTI calib files lack: they come from each frame's image
  header. A frame without an image keeps the camera with the size of the nearest frame's image (a
  warning says so); without any image the camera is left out of the rig.
* ``label_2`` objects become single-frame tracks (one track per label line, ids in frame-major file
  order) whose ``attributes`` keep the KITTI id, truncation and occlusion; ``DontCare`` lines become
  :class:`IgnoreRegion` s of camera ``image_2``, not boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from calib.readers import KittiCalib, load_kitti_calib
from calib.rig import Rig
from formats.datasets.base import (
    DEFAULT_PERIOD_NS,
    IgnoreRegion,
    LoadedSequence,
    image_size,
    list_files,
)
from formats.datasets.errors import DatasetError
from formats.kitti_labels import KittiObject, kitti_to_box, read_label_file
from formats.sync import DEFAULT_TOLERANCE_NS, report_from_pairs
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo, Track

#: KITTI camera folder index -> rig camera name (``KittiCalib.to_rig`` names).
CAMERAS = {2: "image_2", 3: "image_3"}


def find_split(path: Path, split: str | None = None) -> Path:
    """The folder holding ``calib/`` etc.: ``path`` itself, or its ``training``/``testing`` child."""
    if split is not None:
        return path / split
    if (path / "calib").is_dir():
        return path
    for s in ("training", "testing"):
        if (path / s / "calib").is_dir():
            return path / s
    raise DatasetError(path, "not a KITTI object folder: no calib/ here nor in training/ or testing/")


def load_kitti_object(
    path: Path, split: str | None = None, tolerance_ms: float | None = None, name: str | None = None
) -> LoadedSequence:
    """Open a KITTI object split folder (or its parent, ``split`` = "training" by default)."""
    root = find_split(Path(path), split)
    velo = list_files(root / "velodyne", (".bin",))
    images = {i: list_files(root / f"image_{i}", (".png", ".jpg")) for i in CAMERAS}
    calibs = list_files(root / "calib", (".txt",))
    labels = list_files(root / "label_2", (".txt",))
    ids = sorted(set(velo) | set(labels) | {k for m in images.values() for k in m})
    if not ids:
        raise DatasetError(root, "no frames: velodyne/, image_2/ and label_2/ are empty or absent")
    return _load(
        root,
        ids,
        velo.get,
        {i: m.get for i, m in images.items() if m},
        lambda fid: calibs.get(fid, root / "calib" / f"{fid}.txt"),
        labels.get,
        "kitti-object",
        tolerance_ms,
        name,
    )


def load_kitti_flat(path: Path, tolerance_ms: float | None = None, name: str | None = None) -> LoadedSequence:
    """Open a flat KITTI folder: ``<id>.bin``, ``<id>.png``, ``<id>.txt`` (calib), ``<id>_gt.txt``."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(root, "not a folder")
    velo = list_files(root, (".bin",))
    imgs = list_files(root, (".png", ".jpg"))
    txt = list_files(root, (".txt",))
    labels = {k[: -len("_gt")]: v for k, v in txt.items() if k.endswith("_gt")}
    ids = sorted(set(velo) | set(imgs) | set(labels))
    if not ids:
        raise DatasetError(root, "no frames: no <id>.bin, <id>.png or <id>_gt.txt files")
    return _load(
        root,
        ids,
        velo.get,
        {2: imgs.get} if imgs else {},
        lambda fid: txt.get(fid, root / f"{fid}.txt"),
        labels.get,
        "kitti-flat",
        tolerance_ms,
        name,
    )


def _load(
    root: Path,
    ids: list[str],
    velo_of: Callable[[str], Path | None],
    image_of: dict[int, Callable[[str], Path | None]],
    calib_of: Callable[[str], Path],
    label_of: Callable[[str], Path | None],
    fmt: str,
    tolerance_ms: float | None = None,
    name: str | None = None,
) -> LoadedSequence:
    warnings: list[str] = []
    calibs: list[KittiCalib] = []
    for fid in ids:
        p = calib_of(fid)
        if not p.is_file():
            raise DatasetError(p, f"calibration of frame {fid} not found")
        calibs.append(load_kitti_calib(p))
    # image sizes per camera and frame, from the headers
    sizes: dict[int, dict[int, tuple[int, int]]] = {}
    for i, of in image_of.items():
        sizes[i] = {}
        for k, fid in enumerate(ids):
            p = of(fid)
            if p is not None:
                sizes[i][k] = image_size(p)
    rigs: list[Rig] = []
    frames: list[FrameInfo] = []
    for k, fid in enumerate(ids):
        cam_sizes = {}
        for i, per in sizes.items():
            if not per:
                continue
            if k in per:
                cam_sizes[i] = per[k]
            else:
                near = min(per, key=lambda j: (abs(j - k), j))
                cam_sizes[i] = per[near]
                warnings.append(
                    f"frame {fid}: no {CAMERAS[i]} image; its camera model uses the image size of frame {ids[near]}"
                )
        rigs.append(calibs[k].to_rig(image_size=cam_sizes, cameras=sorted(cam_sizes)))
        v = velo_of(fid)
        cams = {CAMERAS[i]: of(fid) for i, of in image_of.items() if of(fid) is not None}
        frames.append(
            FrameInfo(
                index=k,
                timestamp_ns=k * DEFAULT_PERIOD_NS,
                lidar_files={"velodyne": v} if v is not None else {},
                camera_files=cams,  # type: ignore[arg-type]
                camera_timestamps_ns={c: k * DEFAULT_PERIOD_NS for c in cams},
            )
        )
    # labels: one single-frame track per object line; DontCare -> ignore regions
    tracks: list[Track] = []
    ignore: list[IgnoreRegion] = []
    sources: dict[int, list[tuple[Box3D, KittiObject]]] = {}
    for k, fid in enumerate(ids):
        lp = label_of(fid)
        if lp is None:
            continue
        # the exact inverse: R0_rect @ Tr_velo_to_cam is orthonormal only to the file's 7 digits
        T_ego_from_cam0rect = np.linalg.inv(calibs[k].T_cam0rect_from_velo())
        for obj in read_label_file(lp):
            if obj.is_dontcare:
                ignore.append(IgnoreRegion(k, CAMERAS[2], obj.bbox, obj.type, obj))
                continue
            box = kitti_to_box(obj, T_ego_from_cam0rect)
            sources.setdefault(k, []).append((box, obj))
            attrs = {
                "kitti_id": fid,
                "truncated": f"{obj.truncated:g}",
                "occluded": str(obj.occluded),
            }
            if obj.score is not None:
                attrs["score"] = f"{obj.score:g}"
            tracks.append(Track(len(tracks), obj.type, attrs, {k: box}))
    stamps = [f.timestamp_ns for f in frames]
    tol = DEFAULT_TOLERANCE_NS if tolerance_ms is None else int(tolerance_ms * 1e6)
    per_cam = {
        CAMERAS[i]: {k: None for k, f in enumerate(frames) if CAMERAS[i] in f.camera_files} for i in image_of
    }
    _, report = report_from_pairs(stamps, per_cam, tol)
    info = SequenceInfo(
        name or root.name,
        fmt,
        frames,
        rigs[0],
        root=root,
        meta={"frame_ids": ids, "independent_frames": True},
    )
    return LoadedSequence(
        info=info,
        annotations=AnnotationDocument.from_tracks(tracks, len(frames)),
        ignore_regions=ignore,
        sync=report,
        frame_rigs=rigs,
        lidar_layout="kitti",
        warnings=warnings,
        source_labels=sources,
    )
