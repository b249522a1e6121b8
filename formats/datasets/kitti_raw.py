"""KITTI raw drives::

    <date>/calib_cam_to_cam.txt, calib_velo_to_cam.txt, calib_imu_to_velo.txt
    <date>/<date>_drive_<NNNN>_sync/velodyne_points/data/<i:010d>.bin  + velodyne_points/timestamps.txt
    <date>/<date>_drive_<NNNN>_sync/image_0{0,1,2,3}/data/<i:010d>.png + image_0X/timestamps.txt
    <date>/<date>_drive_<NNNN>_sync/oxts/data/<i:010d>.txt              + oxts/timestamps.txt

* Frames are the Velodyne sweeps (the images' when a drive has no ``velodyne_points``), at the
  times of ``timestamps.txt`` (``YYYY-MM-DD HH:MM:SS.fffffffff``, taken as UTC, -> int ns; they
  must increase, :class:`TimestampError` names the file and line otherwise).
* Cameras (rectified ``image_0i`` -> rig camera ``image_i``, sized by ``S_rect_0i`` and checked
  against the image files) are paired with the sweeps by nearest time (:mod:`formats.sync`).
* Poses: each sweep takes the OXTS record nearest in time (see :mod:`formats.datasets.oxts`;
  world = the Velodyne frame at frame 0); identity without ``oxts/``.
* Calibration files may be in ``<date>/`` or the drive folder itself; ``ego`` = Velodyne.
* No labels are read (``tracklet_labels.xml`` is not supported yet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from calib.readers import load_kitti_raw_calib
from calib.transforms import invert
from formats.datasets.base import (
    LoadedSequence,
    check_image_size,
    image_size,
    list_files,
    read_timestamps_file,
)
from formats.datasets.errors import DatasetError
from formats.datasets.oxts import ego_poses_from_oxts, read_oxts_folder
from formats.sync import DEFAULT_TOLERANCE_NS, synchronize
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo


def find_drives(path: Path) -> list[Path]:
    """``*_drive_*_sync`` folders: ``path`` itself or its children."""
    streams = ("oxts", "velodyne_points", "image_00", "image_01", "image_02", "image_03")
    if "_drive_" in path.name and any((path / s).is_dir() for s in streams):
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and "_drive_" in p.name)


def _stream(folder: Path, suffixes: tuple[str, ...]) -> tuple[list[Path], list[int]]:
    files = list(list_files(folder / "data", suffixes).values())
    tf = folder / "timestamps.txt"
    if not tf.is_file():
        raise DatasetError(tf, "timestamps file not found")
    ts = read_timestamps_file(tf)
    if len(ts) < len(files):
        raise DatasetError(tf, f"{len(ts)} timestamps for {len(files)} files in {folder / 'data'}")
    return files, ts[: len(files)]


def load_kitti_raw(
    path: Path, drive: str | None = None, tolerance_ms: float | None = None, **_: Any
) -> LoadedSequence:
    """Open one drive (``path``: the drive folder, or the date folder with ``drive=``/the first)."""
    drives = find_drives(Path(path))
    if not drives:
        raise DatasetError(path, "no <date>_drive_<NNNN>_sync folder")
    if drive is not None:
        drives = [d for d in drives if d.name == drive or f"_drive_{drive}" in d.name]
        if not drives:
            raise DatasetError(path, f"no drive {drive!r}")
    d = drives[0]
    calib_dir = next((c for c in (d.parent, d) if (c / "calib_cam_to_cam.txt").is_file()), None)
    if calib_dir is None:
        raise DatasetError(d.parent / "calib_cam_to_cam.txt", "KITTI raw calibration not found")
    imu = calib_dir / "calib_imu_to_velo.txt"
    calib, _ = load_kitti_raw_calib(
        calib_dir / "calib_cam_to_cam.txt", calib_dir / "calib_velo_to_cam.txt", imu if imu.is_file() else None
    )
    cams = {i: _stream(d / f"image_0{i}", (".png",)) for i in range(4) if (d / f"image_0{i}" / "data").is_dir()}
    rig = calib.to_rig(cameras=sorted(cams))
    for i, (files, _ts) in cams.items():
        for p in files:
            check_image_size(p, image_size(p), rig, f"image_{i}")
    has_velo = (d / "velodyne_points" / "data").is_dir()
    if has_velo:
        velo, t_ref = _stream(d / "velodyne_points", (".bin",))
    elif cams:
        velo, t_ref = [], cams[min(cams)][1]
    else:
        raise DatasetError(d, "no velodyne_points/ and no image_0X/")
    if not t_ref:
        raise DatasetError(d, "no frames")
    tol = DEFAULT_TOLERANCE_NS if tolerance_ms is None else int(tolerance_ms * 1e6)
    pairs, report = synchronize(t_ref, {f"image_{i}": ts for i, (_, ts) in cams.items()}, tol)

    warnings: list[str] = []
    if (d / "oxts" / "data").is_dir():
        if calib.Tr_imu_to_velo is None:
            raise DatasetError(imu, "oxts/ present but calib_imu_to_velo.txt missing")
        o_files, o_ts = _stream(d / "oxts", (".txt",))
        oxts = read_oxts_folder(o_files)
        idx = np.clip(np.searchsorted(o_ts, t_ref), 1, len(o_ts) - 1) if len(o_ts) > 1 else np.zeros(len(t_ref), int)
        if len(o_ts) > 1:
            o = np.asarray(o_ts, dtype=np.int64)
            t = np.asarray(t_ref, dtype=np.int64)
            idx = np.where(np.abs(o[idx - 1] - t) <= np.abs(o[idx] - t), idx - 1, idx)
        poses = ego_poses_from_oxts(oxts[idx], invert(calib.T_velo_from_imu()))
    else:
        poses = np.tile(np.eye(4), (len(t_ref), 1, 1))
        warnings.append(f"{d}: no oxts/; identity ego poses")
    frames = []
    for k, t in enumerate(t_ref):
        cf, ct = {}, {}
        for i, (files, ts) in cams.items():
            j = pairs[f"image_{i}"][k]
            if j is not None:
                cf[f"image_{i}"], ct[f"image_{i}"] = files[j], ts[j]
        frames.append(FrameInfo(k, t, poses[k], lidar_files={"velodyne": velo[k]} if has_velo else {},
                                camera_files=cf, camera_timestamps_ns=ct))
    info = SequenceInfo(d.name, "kitti-raw", frames, rig, root=d,
                        meta={"drives": [x.name for x in drives], "calib_dir": calib_dir})
    return LoadedSequence(
        info=info, annotations=AnnotationDocument(len(frames)), sync=report, lidar_layout="kitti", warnings=warnings
    )
