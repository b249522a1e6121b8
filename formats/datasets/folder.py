"""A plain folder of sweeps and images::

    <root>/rig.json                    native rig JSON (calib.rig); also calib.rig or <name>.rig.json
    <root>/<lidar>/*.pcd|.bin|.ply|.npy|.npz   one folder per LiDAR of the rig (or ``lidar/``, or the
                                       cloud files directly in <root> for a single LiDAR)
    <root>/<camera>/*.png|.jpg         one folder per camera of the rig
    <folder>/timestamps.txt            optional: one timestamp per file, in file-name order

* ``.bin`` sweeps need ``layout=`` (``"kitti"``, ``"nuscenes"`` or field names): never guessed.
* Without a rig file there is one LiDAR ``lidar`` at the ego origin and camera folders are
  ignored (with a warning: images cannot be used without calibration).
* Timestamps, per folder: ``timestamps.txt`` if present (see
  :func:`formats.datasets.base.parse_timestamp`: datetimes, decimal seconds, or integers whose
  unit is ``timestamp_unit=`` or judged by magnitude: >= 1e17 ns, >= 1e14 us, >= 1e11 ms, >= 1e8
  s); otherwise the **last number of each file name** with the same rules (``1532402927647951``
  is microseconds, ``1532402927.647951`` seconds). Numbers below 1e8 are frame ids, not times.
* When every folder has times, cameras are paired with sweeps by nearest time within
  ``tolerance_ms`` (default 50) as :mod:`formats.sync` describes; when none has, files pair by
  equal name (stem) and frames are ``index / rate_hz`` apart (default 10 Hz). A mix is an error.
* No ego poses: identity (world = ego of each frame). No labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from calib.rig import Rig, Sensor, load_rig_json
from formats.datasets.base import (
    IMAGE_SUFFIXES,
    LoadedSequence,
    check_image_size,
    check_increasing,
    image_size,
    list_files,
    read_timestamps_file,
    timestamp_from_name,
)
from formats.datasets.errors import DatasetError, TimestampError
from formats.pointcloud import SUFFIXES as CLOUD_SUFFIXES
from formats.sync import DEFAULT_TOLERANCE_NS, report_from_pairs, synchronize
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo

RIG_NAMES = ("rig.json", "calib.rig")
CLOUD_SUFFIXES_ALL = (".pcd.bin", *CLOUD_SUFFIXES)


def find_rig(root: Path) -> Path | None:
    for n in RIG_NAMES:
        if (root / n).is_file():
            return root / n
    found = sorted(root.glob("*.rig.json"))
    return found[0] if found else None


def _times(folder: Path, files: dict[str, Path], unit: str | None) -> list[int] | None:
    """Per-file ns from ``timestamps.txt`` or the file names; None when the names are frame ids."""
    tf = folder / "timestamps.txt"
    if tf.is_file():
        ts = read_timestamps_file(tf, unit)
        if len(ts) != len(files):
            raise DatasetError(tf, f"{len(ts)} timestamps for {len(files)} files in {folder}")
        return ts
    ts_or_none = [timestamp_from_name(stem, unit) for stem in files]
    if all(t is None for t in ts_or_none):
        return None
    if any(t is None for t in ts_or_none):
        bad = next(s for s, t in zip(files, ts_or_none, strict=True) if t is None)
        raise TimestampError(files[bad], "file name has no timestamp while other files of the folder have")
    ts = [int(t) for t in ts_or_none if t is not None]
    check_increasing(ts, folder, [p.name for p in files.values()])
    return ts


def load_folder(
    path: Path,
    layout: str | tuple[str, ...] | list[str] | None = None,
    rig: str | Path | None = None,
    timestamp_unit: str | None = None,
    tolerance_ms: float | None = None,
    rate_hz: float = 10.0,
    **_: Any,
) -> LoadedSequence:
    """Open a plain folder (layout in the module docstring)."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(root, "not a folder")
    warnings: list[str] = []
    rig_path = Path(rig) if rig is not None else find_rig(root)
    if rig_path is not None:
        the_rig = load_rig_json(rig_path)
        if not the_rig.lidar_names():
            raise DatasetError(rig_path, "the rig has no LiDAR sensor")
    else:
        the_rig = Rig([Sensor("lidar", "lidar", np.eye(4))])
    lidar_names = the_rig.lidar_names()

    # sweep folders
    lidar_dirs: dict[str, Path] = {}
    for n in lidar_names:
        if (root / n).is_dir():
            lidar_dirs[n] = root / n
    if not lidar_dirs and len(lidar_names) == 1:
        cand = root / "lidar" if list_files(root / "lidar", CLOUD_SUFFIXES_ALL) else root
        lidar_dirs[lidar_names[0]] = cand
    sweeps = {n: list_files(d, CLOUD_SUFFIXES_ALL) for n, d in lidar_dirs.items()}
    sweeps = {n: m for n, m in sweeps.items() if m}
    if not sweeps:
        raise DatasetError(root, f"no point-cloud files ({', '.join(CLOUD_SUFFIXES)}) for LiDAR(s) {lidar_names}")
    primary = lidar_names[0] if lidar_names[0] in sweeps else sorted(sweeps)[0]
    for n, m in sweeps.items():
        if any(p.name.lower().endswith(".bin") for p in m.values()) and layout is None:
            raise DatasetError(
                lidar_dirs[n], ".bin sweeps need their layout: pass layout='kitti' (x y z intensity), "
                "'nuscenes' (x y z intensity ring) or the field names (--layout)"
            )
    lay = tuple(layout) if isinstance(layout, list) else layout

    # camera folders
    cams: dict[str, dict[str, Path]] = {}
    for c in the_rig.camera_names():
        files = list_files(root / c, IMAGE_SUFFIXES)
        if not files:
            warnings.append(f"{root / c}: no images of camera {c!r}")
            continue
        for p in files.values():
            check_image_size(p, image_size(p), the_rig, c)
        cams[c] = files
    if rig_path is None:
        for p in sorted(root.iterdir()):
            if p.is_dir() and list_files(p, IMAGE_SUFFIXES):
                warnings.append(
                    f"{p}: images ignored: there is no rig file ({' or '.join(RIG_NAMES)}) to calibrate them"
                )

    # timestamps and pairing
    ref = sweeps[primary]
    t_ref = _times(lidar_dirs[primary], ref, timestamp_unit)
    t_cams = {c: _times(root / c, m, timestamp_unit) for c, m in cams.items()}
    t_other = {n: _times(lidar_dirs[n], m, timestamp_unit) for n, m in sweeps.items() if n != primary}
    timed = [t is not None for t in [t_ref, *t_cams.values(), *t_other.values()]]
    tol = DEFAULT_TOLERANCE_NS if tolerance_ms is None else int(tolerance_ms * 1e6)
    ref_stems = list(ref)
    frames: list[FrameInfo] = []
    if all(timed):
        assert t_ref is not None
        pairs, report = synchronize(t_ref, {c: t for c, t in t_cams.items() if t is not None}, tol)
        other_pairs, _ = synchronize(t_ref, {n: t for n, t in t_other.items() if t is not None}, tol)
        for k, stem in enumerate(ref_stems):
            lid = {primary: ref[stem]}
            for n, pr in other_pairs.items():
                if pr[k] is not None:
                    lid[n] = list(sweeps[n].values())[pr[k]]
            cf, ct = {}, {}
            for c, pr in pairs.items():
                j = pr[k]
                if j is not None:
                    cf[c] = list(cams[c].values())[j]
                    ct[c] = t_cams[c][j]  # type: ignore[index]
            frames.append(FrameInfo(k, t_ref[k], lidar_files=lid, camera_files=cf, camera_timestamps_ns=ct))
    elif not any(timed):
        period = int(round(1e9 / rate_hz))
        warnings.append(f"{root}: no timestamps in file names or timestamps.txt; frames are {1e3 / rate_hz:g} ms apart")
        for k, stem in enumerate(ref_stems):
            lid = {n: m[stem] for n, m in sweeps.items() if stem in m}
            cf = {c: m[stem] for c, m in cams.items() if stem in m}
            frames.append(FrameInfo(k, k * period, lidar_files=lid, camera_files=cf,
                                    camera_timestamps_ns={c: k * period for c in cf}))
        per_cam = {c: {k: None for k, s in enumerate(ref_stems) if s in m} for c, m in cams.items()}
        unused = {c: len(set(m) - set(ref_stems)) for c, m in cams.items()}
        _, report = report_from_pairs([f.timestamp_ns for f in frames], per_cam, tol, unused)
    else:
        names = [str(lidar_dirs[primary]), *(str(root / c) for c in t_cams), *(str(lidar_dirs[n]) for n in t_other)]
        untimed = [n for n, t in zip(names, timed, strict=True) if not t]
        raise DatasetError(root, f"some folders have timestamps and some do not (no times in {untimed})")
    info = SequenceInfo(root.name, "folder", frames, the_rig, root=root,
                        meta={"rig_file": rig_path, "frame_ids": ref_stems})
    return LoadedSequence(
        info=info,
        annotations=AnnotationDocument(len(frames)),
        sync=report,
        lidar_layout=lay,
        warnings=warnings,
    )
