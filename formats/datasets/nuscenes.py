"""nuScenes layout (also the Lyft Level 5 tables, which share the schema): JSON tables in
``<root>/<version>/*.json`` plus ``samples/`` (keyframe files) and ``sweeps/``.

* A **scene** is a sequence (``scene=`` name or token; default: the first scene of the table).
  Its keyframe ``sample`` s, sorted by timestamp, are the frames.
* The frame time and ego pose are those of the primary LiDAR's keyframe sample_data
  (``LIDAR_TOP`` when present); sweeps are read with the ``nuscenes`` ``.bin`` layout
  (x y z intensity ring, float32) in the LiDAR frame.
* Cameras: the keyframe sample_data of each camera channel of the sample. Each camera image has
  its own capture time and ego pose: ``LoadedSequence.sensor_poses`` keeps those, so that
  ``T_sensor_from_world(frame, "CAM_FRONT")`` projects exactly as the devkit does. A camera whose
  time differs from the sweep's by more than the tolerance (default 75 ms: the 20 Hz LiDAR sweeps
  for 50 ms and each camera fires as the sweep crosses its field of view) is not paired and is
  reported in ``sync``.
* The rig: sensors named by channel (``LIDAR_TOP``, ``CAM_FRONT``, ...) from ``calibrated_sensor``
  (camera sizes from the sample_data records, checked against the image files).
* World = nuScenes' global (map) frame. ``sample_annotation`` boxes are already global: size
  ``(w, l, h)`` becomes ``(l, w, h)`` and the rotation quaternion (w, x, y, z) its yaw.
  Annotations are grouped into tracks by ``instance_token``; track ids are 0, 1, ... in order of
  (first frame, instance token), and the token is kept as the ``instance_token`` attribute; the
  label is the category name; the attribute names of the instance's first annotation are kept as
  the ``nuscenes_attributes`` track attribute (comma-separated).
* Per-annotation source fields: each annotation's visibility level and attribute names are kept as
  its source record (``LoadedSequence.source_labels``, a :class:`NuScenesSourceAnnotation`); the
  nuScenes writer writes them back for a box that is unchanged in a track whose attributes are
  unchanged (an edit recomputes them).
* Timestamps: microseconds in the tables (Lyft writes them as floats) -> integer ns.
* ``sweeps=True`` (``--sweeps``): every sweep of the primary LiDAR in the scene (keyframes and
  the sample_data between them, 20 Hz in nuScenes) is a frame, in time order; each camera's
  nearest image (keyframe or sweep; within the tolerance) and the other LiDARs' nearest sweeps are
  paired with it, each with its own capture time and ego pose. Cameras fire at 12 Hz: one image
  may serve two neighbouring sweeps (the sync report's method is ``"nearest"``; its own time and
  pose are kept, so nothing is drawn at the wrong time).
  The 2 Hz sample annotations are the tracks' keyframes at their sweeps; the frames between are
  interpolated. ``info.meta["keyframes"]`` lists the keyframe frames (the nuScenes export writes
  the others back as sweeps). A scene without sweeps (a keyframe-only extract) opens as its
  keyframes with a warning saying so; a scene with sweeps opened without the option warns that
  they are there.
* ``check_files=False`` parses the tables without requiring the sensor files (tests on schema-only
  samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from calib.errors import CalibrationError
from calib.readers import nuscenes_ego_pose, nuscenes_sensor
from calib.rig import Rig
from calib.transforms import quat_to_rotation
from formats.datasets.base import LoadedSequence, check_image_size, check_increasing, image_size
from formats.datasets.errors import DatasetError
from formats.io import read_json_file
from formats.sync import SyncReport, report_from_pairs
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import FrameInfo, SequenceInfo, Track

TABLES = ("scene", "sample", "sample_data", "calibrated_sensor", "sensor", "ego_pose")
OPTIONAL_TABLES = ("sample_annotation", "instance", "category", "log", "attribute", "visibility")
NUSCENES_TOLERANCE_NS = 75_000_000
#: The visibility levels of the nuScenes schema by their usual tokens (used when a copy has no
#: visibility table).
VISIBILITY_LEVELS = {"1": "v0-40", "2": "v40-60", "3": "v60-80", "4": "v80-100"}


@dataclass(frozen=True)
class NuScenesSourceAnnotation:
    """What a ``sample_annotation`` said beyond its box: the visibility level (``"v0-40"`` ...,
    None when absent or unknown), the attribute names in the file's order, and the track's
    attributes as read (a writer keeps the source's fields only while they are unchanged)."""

    visibility: str | None
    attributes: tuple[str, ...]
    track_attributes: tuple[tuple[str, str], ...]


def find_versions(root: Path) -> list[str]:
    """Sub-folders of ``root`` that hold ``sample.json`` and ``scene.json`` (table versions)."""
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and (p / "sample.json").is_file() and (p / "scene.json").is_file()
    )


def _us_to_ns(v: Any, where: Path, what: str) -> int:
    try:
        ns = int((Decimal(repr(v) if isinstance(v, float) else str(v)) * 1000).to_integral_value())
    except Exception:
        raise DatasetError(where, f"{what}: timestamp {v!r} is not a number (microseconds)") from None
    if not -(2**63) <= ns < 2**63:  # the frames' times are int64 nanoseconds
        raise DatasetError(where, f"{what}: timestamp {v!r} is out of range (microseconds)")
    return ns


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


_NUM_TYPES = frozenset({int, float})


def _vec(n: int) -> tuple[Callable[[Any], bool], str]:
    def test(v: Any) -> bool:
        if type(v) is not list or len(v) != n:
            return False
        # JSON numbers are exactly int or float (bool is a type of its own): finite when their sum
        # is; a sum that overflows is looked at number by number
        if {*map(type, v)} <= _NUM_TYPES and math.isfinite(sum(v)):
            return True
        return all(_is_num(x) for x in v)
    return test, f"a list of {n} numbers"


_STR = (lambda v: isinstance(v, str), "a string")
_NUM = (_is_num, "a number")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_SIZE = (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100_000, "a pixel count")
_STRS = (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings")
_LIST = (lambda v: isinstance(v, list), "a list")

#: The fields this loader reads, per table: name -> (required, (test, what it must be)). Every
#: record is checked when its table is loaded, so the loader itself meets only well-typed values.
TABLE_FIELDS: dict[str, dict[str, tuple[bool, tuple[Callable[[Any], bool], str]]]] = {
    "scene": {"name": (False, _STR), "log_token": (False, _STR)},
    "sample": {"scene_token": (True, _STR), "timestamp": (True, _NUM)},
    "sample_data": {
        "sample_token": (True, _STR), "calibrated_sensor_token": (True, _STR), "ego_pose_token": (True, _STR),
        "filename": (True, _STR), "timestamp": (True, _NUM), "is_key_frame": (False, _BOOL),
        "width": (False, _SIZE), "height": (False, _SIZE),
    },
    "calibrated_sensor": {"sensor_token": (True, _STR), "translation": (True, _vec(3)),
                          "rotation": (True, _vec(4)), "camera_intrinsic": (False, _LIST)},
    "sensor": {"channel": (True, _STR), "modality": (True, _STR)},
    "ego_pose": {"translation": (True, _vec(3)), "rotation": (True, _vec(4))},
    "sample_annotation": {"sample_token": (True, _STR), "instance_token": (True, _STR),
                          "translation": (True, _vec(3)), "size": (True, _vec(3)), "rotation": (True, _vec(4)),
                          "attribute_tokens": (False, _STRS), "visibility_token": (False, _STR)},
    "instance": {"category_token": (False, _STR)},
    "category": {"name": (False, _STR)},
    "attribute": {"name": (False, _STR)},
    "visibility": {"level": (False, _STR)},
    "log": {"logfile": (False, _STR), "location": (False, _STR)},
}


def _check_record(rec: dict[str, Any], table: str, p: Path, i: int) -> None:
    for key, (required, (test, what)) in TABLE_FIELDS.get(table, {}).items():
        v = rec.get(key)
        if v is None:
            if required:
                raise DatasetError(p, f"record {i} ({rec['token']}): missing {key!r}")
            continue
        if not test(v):
            raise DatasetError(p, f"record {i} ({rec['token']}): {key!r} must be {what}, got {v!r:.80}")


def load_tables(version_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The tables of a version folder, each as token -> record. Required: scene, sample,
    sample_data, calibrated_sensor, sensor, ego_pose; optional: sample_annotation, instance,
    category, log."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name in TABLES + OPTIONAL_TABLES:
        p = version_dir / f"{name}.json"
        if not p.is_file():
            if name in TABLES:
                raise DatasetError(p, "nuScenes table not found")
            out[name] = {}
            continue
        data = read_json_file(p, DatasetError)
        if not isinstance(data, list):
            raise DatasetError(p, "a nuScenes table must be a JSON list of records")
        table = {}
        for i, rec in enumerate(data):
            if not isinstance(rec, dict) or not isinstance(rec.get("token"), str):
                raise DatasetError(p, f"record {i} is not an object with a string token")
            _check_record(rec, name, p, i)
            table[rec["token"]] = rec
        out[name] = table
    return out


def load_nuscenes(
    path: Path,
    version: str | None = None,
    scene: str | None = None,
    check_files: bool = True,
    tolerance_ms: float | None = None,
    lidar: str | None = None,
    sweeps: bool = False,
    **_: Any,
) -> LoadedSequence:
    """Open one scene of a nuScenes-schema dataset (``path``: the data root or the version folder).
    ``sweeps``: every sweep of the primary LiDAR is a frame (module docstring), not only samples."""
    root = Path(path)
    if (root / "sample.json").is_file():  # the version folder itself
        version, root = root.name, root.parent
    versions = find_versions(root)
    if version is None:
        if not versions:
            raise DatasetError(root, "no <version>/sample.json + scene.json: not a nuScenes dataset")
        if len(versions) > 1:
            raise DatasetError(root, f"several table versions {versions}: pass version=")
        version = versions[0]
    vdir = root / version
    t = load_tables(vdir)
    where = {k: vdir / f"{k}.json" for k in TABLES + OPTIONAL_TABLES}

    def rec(table: str, token: Any, what: str) -> dict[str, Any]:
        r = t[table].get(token)
        if r is None:
            raise DatasetError(where[table], f"{what}: unknown {table} token {token!r}")
        return r

    scenes = list(t["scene"].values())
    if not scenes:
        raise DatasetError(where["scene"], "no scenes")
    if scene is None:
        sc = scenes[0]
    else:
        found = [s for s in scenes if scene in (s.get("name"), s["token"])]
        if not found:
            raise DatasetError(where["scene"], f"no scene {scene!r}; scenes: {[s.get('name') for s in scenes]}")
        sc = found[0]
    samples = sorted(
        (s for s in t["sample"].values() if s.get("scene_token") == sc["token"]),
        key=lambda s: (_us_to_ns(s.get("timestamp"), where["sample"], f"sample {s['token']}"), s["token"]),
    )
    if not samples:
        raise DatasetError(where["sample"], f"scene {sc.get('name')!r} has no samples")
    frame_of = {s["token"]: k for k, s in enumerate(samples)}

    # keyframe sample_data of each sample, by channel
    by_sample: list[dict[str, dict[str, Any]]] = [{} for _ in samples]
    for sd in t["sample_data"].values():
        k = frame_of.get(sd.get("sample_token"))
        if k is None or not sd.get("is_key_frame", True):
            continue
        cs = rec("calibrated_sensor", sd.get("calibrated_sensor_token"), f"sample_data {sd['token']}")
        sensor = rec("sensor", cs.get("sensor_token"), f"calibrated_sensor {cs['token']}")
        ch = sensor.get("channel")
        if ch in by_sample[k]:
            raise DatasetError(where["sample_data"], f"sample {samples[k]['token']} has two keyframes of {ch}")
        by_sample[k][ch] = sd

    def modality(sd: dict[str, Any]) -> str:
        cs = t["calibrated_sensor"][sd["calibrated_sensor_token"]]
        return str(t["sensor"][cs["sensor_token"]].get("modality"))

    channels: dict[str, dict[str, Any]] = {}
    for per in by_sample:
        for ch, sd in per.items():
            channels.setdefault(ch, sd)
    lidars = sorted(ch for ch, sd in channels.items() if modality(sd) == "lidar")
    cameras = sorted(ch for ch, sd in channels.items() if modality(sd) == "camera")
    if lidar is None:
        lidar = "LIDAR_TOP" if "LIDAR_TOP" in lidars else (lidars[0] if lidars else None)
    if lidar is None:
        raise DatasetError(where["sample_data"], f"scene {sc.get('name')!r} has no LiDAR keyframes")
    if lidar not in lidars:
        raise DatasetError(where["sample_data"], f"no LiDAR channel {lidar!r}; found {lidars}")

    # rig: one calibrated_sensor per channel (the first seen; a change within the scene is refused)
    sensors = []
    warnings: list[str] = []
    for ch in lidars + cameras:
        sd0 = channels[ch]
        cs = t["calibrated_sensor"][sd0["calibrated_sensor_token"]]
        srec = t["sensor"][cs["sensor_token"]]
        size = (int(sd0.get("width") or 0), int(sd0.get("height") or 0)) if ch in cameras else None
        try:
            sensors.append(nuscenes_sensor(cs, srec, image_size=size))
        except CalibrationError as e:
            raise DatasetError(where["calibrated_sensor"], str(e)) from None
        for per in by_sample:
            sd = per.get(ch)
            if sd is not None and sd["calibrated_sensor_token"] != cs["token"]:
                other = t["calibrated_sensor"][sd["calibrated_sensor_token"]]
                if other.get("translation") != cs.get("translation") or other.get("rotation") != cs.get("rotation"):
                    raise DatasetError(where["calibrated_sensor"], f"{ch}: calibration changes within the scene")
    rig = Rig(sensors)

    def pose(sd: dict[str, Any]) -> np.ndarray:
        try:
            return nuscenes_ego_pose(rec("ego_pose", sd.get("ego_pose_token"), f"sample_data {sd['token']}"))
        except CalibrationError as e:
            raise DatasetError(where["ego_pose"], str(e)) from None

    tol = NUSCENES_TOLERANCE_NS if tolerance_ms is None else int(tolerance_ms * 1e6)
    ann_frame_of = frame_of
    keyframes: list[int] | None = None
    if sweeps:
        frames, sensor_poses, report, ann_frame_of = _sweep_frames(
            t, where, root, frame_of, samples, lidar, lidars, cameras, pose, tol)
        keyframes = sorted(ann_frame_of.values())
    else:
        frames, sensor_poses, report = _sample_frames(
            by_sample, samples, where, root, lidar, lidars, cameras, pose, tol)
    warnings += _sweep_notes(t, frame_of, lidar, len(samples), len(frames), sweeps, sc)
    if check_files:
        for f in frames:
            for p in f.lidar_files.values():
                if not p.is_file():
                    raise DatasetError(p, f"LiDAR file referenced by {where['sample_data']} not found")
            for ch, p in f.camera_files.items():
                if not p.is_file():
                    raise DatasetError(p, f"camera image referenced by {where['sample_data']} not found")
                check_image_size(p, image_size(p), rig, ch)

    frame_of = ann_frame_of
    # annotations -> tracks by instance
    anns = [a for a in t["sample_annotation"].values() if a.get("sample_token") in frame_of]
    first: dict[str, int] = {}
    for a in anns:
        inst = a.get("instance_token")
        first[inst] = min(first.get(inst, 1 << 62), frame_of[a["sample_token"]])
    order = sorted(first, key=lambda i: (first[i], str(i)))
    ids = {inst: n for n, inst in enumerate(order)}
    tracks: dict[str, Track] = {}
    # the attribute names of each instance's first annotation (track attribute nuscenes_attributes)
    first_ann: dict[str, dict[str, Any]] = {}
    for a in sorted(anns, key=lambda a: (frame_of[a["sample_token"]], a["token"])):
        first_ann.setdefault(a.get("instance_token"), a)
    ann_sources: dict[int, list[tuple[Box3D, tuple[str, str | None, tuple[str, ...]]]]] = {}
    for a in sorted(anns, key=lambda a: a["token"]):
        inst = a.get("instance_token")
        k = frame_of[a["sample_token"]]
        w = where["sample_annotation"]
        try:
            wlh = [float(v) for v in a["size"]]
            box = Box3D.from_rotation(a["translation"], [wlh[1], wlh[0], wlh[2]], quat_to_rotation(a["rotation"]))
        except (KeyError, TypeError, ValueError, ModelError) as e:
            raise DatasetError(w, f"sample_annotation {a['token']}: bad box ({e})") from None
        tr = tracks.get(inst)
        if tr is None:
            label = "unknown"
            irec = t["instance"].get(inst)
            if irec is not None:
                crec = t["category"].get(irec.get("category_token"))
                if crec is not None and crec.get("name"):
                    label = str(crec["name"])
            tr = tracks[inst] = Track(ids[inst], label, {"instance_token": str(inst)})
            names = [str(t["attribute"][x].get("name")) for x in first_ann[inst].get("attribute_tokens") or []
                     if x in t["attribute"]]
            if names:
                tr.attributes["nuscenes_attributes"] = ",".join(names)
        if k in tr.keyframes:
            raise DatasetError(w, f"instance {inst} has two annotations in sample {a['sample_token']}")
        tr.keyframes[k] = box
        vis_tok = a.get("visibility_token")
        vis = t["visibility"].get(vis_tok, {}).get("level") if t["visibility"] else VISIBILITY_LEVELS.get(vis_tok)
        names = tuple(str(t["attribute"][x].get("name")) for x in a.get("attribute_tokens") or []
                      if x in t["attribute"])
        ann_sources.setdefault(k, []).append((box, (inst, vis if vis in VISIBILITY_LEVELS.values() else None, names)))
    log = t["log"].get(sc.get("log_token"), {})
    info = SequenceInfo(
        str(sc.get("name", sc["token"])),
        "nuscenes",
        frames,
        rig,
        root=root,
        meta={
            "version": version,
            "scene_token": sc["token"],
            "scenes": [s.get("name") for s in scenes],
            "sample_tokens": [s["token"] for s in samples],
            **({"keyframes": keyframes} if keyframes is not None else {}),
            "lidar_sample_data_tokens": [per[lidar]["token"] for per in by_sample],
            "log": log.get("logfile"),
            "location": log.get("location"),
        },
    )
    doc = AnnotationDocument.from_tracks(sorted(tracks.values(), key=lambda tr: tr.track_id), len(frames))
    track_attrs = {inst: tuple(sorted(tr.attributes.items())) for inst, tr in tracks.items()}
    sources = {k: [(box, NuScenesSourceAnnotation(vis, names, track_attrs[inst])) for box, (inst, vis, names) in lst]
               for k, lst in ann_sources.items()}
    if (vdir / "lidarseg.json").is_file():  # point labels (nuScenes-lidarseg / panoptic)
        from formats.export.lidarseg import nuscenes_point_labels

        doc.attach_point_labels(nuscenes_point_labels(root, version, info.meta["lidar_sample_data_tokens"], lidar))
    return LoadedSequence(
        info=info,
        annotations=doc,
        sync=report,
        sensor_poses=sensor_poses,
        lidar_layout="nuscenes",
        warnings=warnings,
        source_labels=sources,
    )


def _sweep_notes(t: dict[str, dict[str, dict[str, Any]]], frame_of: dict[str, int], lidar: str, samples: int,
                 frames: int, sweeps: bool, sc: dict[str, Any]) -> list[str]:
    """What the user should know about the scene's sweeps: asked for and absent (the scene opens as
    its keyframes), or present and not asked for."""
    name = sc.get("name", sc["token"])
    if sweeps:
        if frames > samples:
            return []
        return [f"scene {name!r} has no {lidar} sweeps between its samples: opened as its {samples} "
                "keyframe(s) only"]
    n = 0
    for sd in t["sample_data"].values():
        if sd.get("sample_token") in frame_of and not sd.get("is_key_frame", True):
            cs = t["calibrated_sensor"].get(sd.get("calibrated_sensor_token"), {})
            n += t["sensor"].get(cs.get("sensor_token"), {}).get("channel") == lidar
    if n == 0:
        return []
    return [f"scene {name!r} has {n} {lidar} sweeps between its {samples} samples: open with sweeps "
            "(--sweeps) to label every sweep"]


def _sample_frames(by_sample: list[dict[str, dict[str, Any]]], samples: list[dict[str, Any]], where: dict[str, Path],
                   root: Path, lidar: str, lidars: list[str], cameras: list[str], pose: Callable[[Any], np.ndarray],
                   tol: int) -> tuple[list[FrameInfo], list[dict[str, np.ndarray]], SyncReport]:
    """One frame per sample (the keyframe sample_data of each channel)."""
    frames: list[FrameInfo] = []
    sensor_poses: list[dict[str, np.ndarray]] = []
    pairs: dict[str, dict[int, int | None]] = {c: {} for c in cameras}
    for k, per in enumerate(by_sample):
        sd_l = per.get(lidar)
        if sd_l is None:
            raise DatasetError(where["sample_data"], f"sample {samples[k]['token']} has no {lidar} keyframe")
        ts = _us_to_ns(sd_l.get("timestamp"), where["sample_data"], f"sample_data {sd_l['token']}")
        lidar_files = {}
        for ch in lidars:
            sd = per.get(ch)
            if sd is not None:
                lidar_files[ch] = root / sd["filename"]
        cam_files, cam_ts, poses = {}, {}, {}
        for ch in cameras:
            sd = per.get(ch)
            if sd is None:
                continue
            cam_files[ch] = root / sd["filename"]
            cam_ts[ch] = _us_to_ns(sd.get("timestamp"), where["sample_data"], f"sample_data {sd['token']}")
            poses[ch] = pose(sd)
            pairs[ch][k] = cam_ts[ch]
        for ch in lidars:
            if ch != lidar and ch in per:
                poses[ch] = pose(per[ch])
        frames.append(FrameInfo(k, ts, pose(sd_l), lidar_files=lidar_files, camera_files=cam_files,
                                camera_timestamps_ns=cam_ts))
        sensor_poses.append(poses)
    for i in range(1, len(frames)):
        if frames[i].timestamp_ns <= frames[i - 1].timestamp_ns:
            raise DatasetError(where["sample_data"], f"{lidar} keyframe timestamps out of order at frame {i}")

    accepted, report = report_from_pairs([f.timestamp_ns for f in frames], pairs, tol)
    for k, f in enumerate(frames):
        for ch in list(f.camera_files):
            if k not in accepted[ch]:
                del f.camera_files[ch]
                del f.camera_timestamps_ns[ch]
                sensor_poses[k].pop(ch, None)

    return frames, sensor_poses, report


def _sweep_frames(t: dict[str, dict[str, dict[str, Any]]], where: dict[str, Path], root: Path,
                  frame_of: dict[str, int], samples: list[dict[str, Any]], lidar: str, lidars: list[str],
                  cameras: list[str], pose: Callable[[Any], np.ndarray], tol: int
                  ) -> tuple[list[FrameInfo], list[dict[str, np.ndarray]], SyncReport, dict[str, int]]:
    """One frame per sweep of ``lidar`` in the scene (keyframes and sweeps, by time); the other
    LiDARs and the cameras paired by nearest time (an image may serve two sweeps). Returns the
    frames, the per-sensor poses, the sync report and sample token -> frame of its keyframe."""
    w = where["sample_data"]

    def ts(sd: dict[str, Any]) -> int:
        return _us_to_ns(sd.get("timestamp"), w, f"sample_data {sd['token']}")

    by_ch: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for sd in t["sample_data"].values():
        if sd.get("sample_token") not in frame_of:
            continue
        cs = t["calibrated_sensor"].get(sd.get("calibrated_sensor_token"))
        sensor = t["sensor"].get(cs.get("sensor_token")) if cs is not None else None
        if sensor is None:  # a dangling token (the keyframes' are checked before: this is a sweep's)
            table, token = ("sensor", cs.get("sensor_token")) if cs is not None else (
                "calibrated_sensor", sd.get("calibrated_sensor_token"))
            raise DatasetError(where[table], f"sample_data {sd['token']}: unknown {table} token {token!r}")
        ch = str(sensor.get("channel"))
        by_ch.setdefault(ch, []).append((ts(sd), sd))
    for v in by_ch.values():
        v.sort(key=lambda x: (x[0], x[1]["token"]))
    lid = by_ch[lidar]
    sweep_ns = [x[0] for x in lid]
    check_increasing(sweep_ns, w, [x[1]["token"] for x in lid])
    key_frame_of: dict[str, int] = {}
    for i, (_, sd) in enumerate(lid):
        if sd.get("is_key_frame", True):
            if sd["sample_token"] in key_frame_of:
                raise DatasetError(w, f"sample {sd['sample_token']} has two keyframes of {lidar}")
            key_frame_of[sd["sample_token"]] = i
    for s in samples:
        if s["token"] not in key_frame_of:
            raise DatasetError(w, f"sample {s['token']} has no {lidar} keyframe")
    others = [ch for ch in lidars if ch != lidar and ch in by_ch] + [ch for ch in cameras if ch in by_ch]
    pairs: dict[str, list[int | None]] = {}
    for ch in others:  # each sweep: the nearest sample_data of the channel, when within the tolerance
        t_ch = np.array([x[0] for x in by_ch[ch]], dtype=np.int64)
        check_increasing(t_ch.tolist(), w, [x[1]["token"] for x in by_ch[ch]])
        s_ns = np.asarray(sweep_ns, dtype=np.int64)
        k = np.searchsorted(t_ch, s_ns)
        lo, hi = np.clip(k - 1, 0, len(t_ch) - 1), np.clip(k, 0, len(t_ch) - 1)
        j = np.where(np.abs(t_ch[lo] - s_ns) <= np.abs(t_ch[hi] - s_ns), lo, hi)
        pairs[ch] = [int(jj) if abs(int(t_ch[jj]) - int(ts_)) <= tol else None for jj, ts_ in zip(j, s_ns, strict=True)]
    cam_times = {ch: {i: by_ch[ch][jj][0] for i, jj in enumerate(pairs[ch]) if jj is not None}
                 for ch in cameras if ch in by_ch}
    unused = {ch: len(by_ch[ch]) - len({jj for jj in pairs[ch] if jj is not None}) for ch in cam_times}
    _, report = report_from_pairs(sweep_ns, cam_times, tol, unused)
    report.method = "nearest"
    frames: list[FrameInfo] = []
    sensor_poses: list[dict[str, np.ndarray]] = []
    for i, (t_i, sd_l) in enumerate(lid):
        lidar_files = {lidar: root / sd_l["filename"]}
        cam_files, cam_ts, poses = {}, {}, {}
        for ch in others:
            j = pairs[ch][i]
            if j is None:
                continue
            t_j, sd = by_ch[ch][j]
            if ch in cameras:
                cam_files[ch] = root / sd["filename"]
                cam_ts[ch] = t_j
            else:
                lidar_files[ch] = root / sd["filename"]
            poses[ch] = pose(sd)
        frames.append(FrameInfo(i, t_i, pose(sd_l), lidar_files=lidar_files, camera_files=cam_files,
                                camera_timestamps_ns=cam_ts))
        sensor_poses.append(poses)
    return frames, sensor_poses, report, key_frame_of
