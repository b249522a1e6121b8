"""nuScenes writer: one opened sequence -> one scene of a nuScenes-schema dataset (independent KITTI
object frames: one scene per frame, named ``<sequence>-<KITTI id>``).

Layout (``dst`` is the data root; ``version`` default ``v1.0-fusionlabel``)::

    dst/<version>/{attribute,calibrated_sensor,category,ego_pose,instance,log,map,sample,
                   sample_annotation,sample_data,scene,sensor,visibility}.json
    dst/samples/<CHANNEL>/<scene>__<CHANNEL>__<timestamp_us>.{pcd.bin,jpg}    keyframes
    dst/sweeps/<CHANNEL>/...                                                  the other frames
    dst/maps/<map token>.png                                                  an empty placeholder

Frames and units. World = nuScenes' global frame; ``ego_pose`` records hold ``T_world_from_ego``
(one per sample_data, at its own time: a camera with its own pose in the source keeps it);
``calibrated_sensor`` holds ``T_ego_from_sensor`` (translation m, rotation quaternion w x y z) and,
for cameras, the pinhole ``camera_intrinsic``. Timestamps are integer microseconds (ns rounded).
Annotations (``sample_annotation``) are in the global frame: ``translation`` the geometric centre,
``size`` **w l h**, ``rotation`` the yaw as a quaternion (w, x, y, z); ``num_lidar_pts`` counts the
primary LiDAR's points inside the box (:func:`fusionlabel.geometry.count_points_in_boxes`),
``num_radar_pts`` is 0 (no radar); ``visibility_token`` comes from the LiDAR occlusion heuristic
over every camera (:mod:`formats.export.common`), ``attribute_tokens`` from the track attributes
(``state`` of vehicles and pedestrians, ``rider`` of cycles; cyclists are ``cycle.with_rider``).
From a nuScenes source, a box that is unchanged in a track whose attributes are unchanged keeps
the source annotation's own visibility level and attribute names (per annotation: a car parked,
then moving, keeps both); an edit recomputes them.
Tracks are instances; annotations, samples and sample_data are linked by ``prev``/``next``.

Keyframes. Every frame is a keyframe (a ``sample``) by default; ``keyframe_every=N`` (or
``keyframe_hz``: N = round(source rate / hz), e.g. 2 Hz from 10 Hz: every 5th frame) makes every
N-th frame a sample and writes the others as sweeps (``is_key_frame`` false, ``sample_token`` the
nearest keyframe's sample), without annotations, as nuScenes does. A source opened with its
sweeps (nuScenes ``sweeps=True``: ``info.meta["keyframes"]``) keeps its samples as samples and
its sweeps as sweeps unless ``keyframe_every``/``keyframe_hz`` is given. An image that serves
several frames (a camera slower than the LiDAR: the same capture time) is written once, as one
sample_data, with the keyframe among those frames (else the first).

Sensors. The first LiDAR is ``LIDAR_TOP`` (others: ``LIDAR_<NAME>``); its files are ``.pcd.bin``
float32 x y z intensity ring (intensity copied unscaled, ring 0 when the source has none; a
nuScenes ``.bin`` source file is copied or linked). Camera channels: a name that already is a
nuScenes channel is kept (``CAM_FRONT``), ``image_2`` (KITTI's left colour camera) becomes
``CAM_FRONT``, any other ``name`` becomes ``CAM_<NAME>`` upper-cased (``cam_front`` ->
``CAM_FRONT``, ``cam_back_left`` -> ``CAM_BACK_LEFT``); ``channels=`` overrides. nuScenes images
are undistorted pinhole images: a distorted camera is resampled to the pinhole camera with its own
K and size (:class:`formats.export.common.PinholeView`); a JPEG source image that needs no
resampling is linked (hard link, else symbolic link, else copy; ``link`` given places it that
way, ``images="reencode"`` encodes it again), others are encoded as JPEG (quality 95).

Point labels (``loaded.annotations.point_labels``), when present, add nuScenes-lidarseg and
nuScenes-panoptic files for every keyframe's LIDAR_TOP sweep (:mod:`formats.export.lidarseg`).

Categories map through the ontology (:meth:`Ontology.to_nuscenes`); a box whose class has none is
skipped and reported. Tokens are deterministic: uuid5 of the scene name and the record's key
(categories, attributes, visibility and sensors by name only), so exporting twice gives the same
files.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from calib.transforms import invert, rotation_to_quat, yaw_to_quat
from formats.datasets.base import LoadedSequence
from formats.datasets.nuscenes import NuScenesSourceAnnotation
from formats.errors import FormatError
from formats.export.common import (
    ClassMapper,
    ViewCache,
    encode_image,
    file_modes,
    frame_period_ns,
    nuscenes_visibility,
    place_file,
    table_json,
    token,
    write_bytes,
    xform,
)
from formats.export.lidarseg import LidarsegWriter, lidarseg_categories
from formats.export.occlusion import (
    SweepBoxes,
    box_radii,
    may_be_in_image_many,
    pinhole_outlines,
    spheres_outside,
)
from formats.export.summary import ConvertSummary
from formats.io import staged_output
from fusionlabel.geometry import box3d_corners
from fusionlabel.ontology import Ontology
from fusionlabel.pointlabels import FrameLabels

DEFAULT_VERSION = "v1.0-fusionlabel"
NUSCENES_CAMERAS = ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT")

VISIBILITY = [
    ("1", "v0-40", "visibility of whole object is between 0 and 40%"),
    ("2", "v40-60", "visibility of whole object is between 40 and 60%"),
    ("3", "v60-80", "visibility of whole object is between 60 and 80%"),
    ("4", "v80-100", "visibility of whole object is between 80 and 100%"),
]
VISIBILITY_TOKEN_OF_LEVEL = {level: tok for tok, level, _ in VISIBILITY}
ATTRIBUTES = {
    "vehicle.moving": "Vehicle is moving.",
    "vehicle.stopped": "Vehicle, with a driver/rider in/on it, is currently stationary but has an intent to move.",
    "vehicle.parked": "Vehicle is stationary (usually for longer duration) with no immediate intent to move.",
    "cycle.with_rider": "There is a rider on the bicycle or motorcycle.",
    "cycle.without_rider": "There is NO rider on the bicycle or motorcycle.",
    "pedestrian.moving": "The human is moving.",
    "pedestrian.standing": "The human is standing.",
    "pedestrian.sitting_lying_down": "The human is sitting or lying down.",
}


#: Tokens of records that recur unchanged (attributes, instances): computed once.
_fixed_token = functools.lru_cache(maxsize=65536)(token)


def camera_channel(name: str, channels: dict[str, str] | None = None) -> str:
    """The nuScenes channel of a camera (module docstring)."""
    if channels and name in channels:
        return channels[name]
    if name in NUSCENES_CAMERAS or name.startswith("CAM_"):
        return name
    if name == "image_2":
        return "CAM_FRONT"
    up = name.upper()
    return up if up.startswith("CAM_") else f"CAM_{up}"


def lidar_channel(name: str, primary: bool, channels: dict[str, str] | None = None) -> str:
    if channels and name in channels:
        return channels[name]
    if primary:
        return "LIDAR_TOP"
    up = name.upper()
    return up if up.startswith("LIDAR") else f"LIDAR_{up}"


def attributes_for(category: str, label: str, attrs: dict[str, str]) -> list[str]:
    """nuScenes attribute names of an annotation from its track's attributes (module docstring;
    a nuScenes source's own ``nuscenes_attributes`` are kept)."""
    own = [a for a in attrs.get("nuscenes_attributes", "").split(",") if a in ATTRIBUTES]
    if own:
        return own
    state = attrs.get("state")
    if category in ("vehicle.bicycle", "vehicle.motorcycle"):
        rider = attrs.get("rider")
        if rider in ("with_rider", "without_rider"):
            return [f"cycle.{rider}"]
        return ["cycle.with_rider"] if label.lower() == "cyclist" else []
    if category.startswith("vehicle.") and state in ("moving", "stopped", "parked"):
        return [f"vehicle.{state}"]
    if category.startswith("human.pedestrian") and state in ("moving", "standing", "sitting_lying_down"):
        return [f"pedestrian.{state}"]
    return []


def _pose_record(tok: str, ts_us: int, T: np.ndarray,
                 cache: dict[bytes, tuple[list[float], list[float]]] | None = None) -> dict[str, Any]:
    """An ego_pose record; ``cache`` keeps the numbers of each pose (by its matrix's bytes: the
    sensors of a frame often share one pose)."""
    T = np.asarray(T, dtype=np.float64)
    key = T.tobytes()
    got = None if cache is None else cache.get(key)
    if got is None:
        got = ([float(v) for v in rotation_to_quat(T[:3, :3])], [float(v) for v in T[:3, 3]])
        if cache is not None:
            cache[key] = got
    return {"token": tok, "timestamp": ts_us, "rotation": list(got[0]), "translation": list(got[1])}


def _link(records: list[dict[str, Any]]) -> None:
    for i, r in enumerate(records):
        r["prev"] = records[i - 1]["token"] if i > 0 else ""
        r["next"] = records[i + 1]["token"] if i + 1 < len(records) else ""


def _png_placeholder() -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.zeros((10, 10), dtype=np.uint8))
    return buf.tobytes()


def write_nuscenes(loaded: LoadedSequence, dst: Path, *, progress: Callable[[int, int], None] | None = None,
                   version: str = DEFAULT_VERSION, keyframe_every: int | None = None, keyframe_hz: float | None = None,
                   ontology: Ontology | None = None, channels: dict[str, str] | None = None,
                   scene_name: str | None = None, location: str | None = None, occlusion: bool = True,
                   link: str | None = None, images: str = "link", overwrite: bool = False, jobs: int = 1,
                   **_: Any) -> ConvertSummary:
    """Write ``loaded`` as one nuScenes scene at ``dst`` (module docstring). ``jobs > 1``: the
    keyframes' box numbers (``num_lidar_pts`` and the occlusion counts, :func:`box_numbers`) are
    computed by ``jobs`` worker processes (:class:`ParallelBoxNumbers`) while this process writes
    the files and records; the output is the same bytes."""
    link, image_link = file_modes(link, images)
    info = loaded.info
    n = len(loaded)
    lidars = loaded.lidar_names
    if not lidars:
        raise FormatError(info.root, "the sequence has no LiDAR: nuScenes samples need LIDAR_TOP")
    primary = lidars[0]
    times = info.frame_times_ns()
    keys_given = keyframe_every is not None or keyframe_hz is not None
    if keyframe_every is None:
        keyframe_every = 1
        if keyframe_hz is not None:
            if keyframe_hz <= 0:
                raise ValueError(f"keyframe_hz must be positive, got {keyframe_hz}")
            keyframe_every = max(1, round(1e9 / frame_period_ns(times) / keyframe_hz))
    if keyframe_every < 1:
        raise ValueError(f"keyframe_every must be >= 1, got {keyframe_every}")
    base = scene_name or info.name
    independent = bool(info.meta.get("independent_frames"))
    if independent:  # KITTI object frames: separate recordings, one scene each, all keyframes
        ids = info.meta.get("frame_ids") or [f"{k:06d}" for k in range(n)]
        scene_of = [f"{base}-{ids[k]}" for k in range(n)]
        keyframe_every = 1
    else:
        scene_of = [base] * n
    scene_names = list(dict.fromkeys(scene_of))
    keys = [k for k in range(n) if k % keyframe_every == 0]
    src_keys = info.meta.get("keyframes")  # a source read with its sweeps: its samples stay samples
    if not keys_given and not independent and isinstance(src_keys, list) and src_keys and all(
            isinstance(k, int) and 0 <= k < n for k in src_keys):
        keys = sorted(set(src_keys))
    mapper = ClassMapper(ontology, "nuscenes")
    views = ViewCache()
    summary = ConvertSummary(outputs=[str(dst)])

    lid_ch = {ln: lidar_channel(ln, ln == primary, channels) for ln in lidars}
    cam_ch = {c: camera_channel(c, channels) for c in loaded.camera_names}
    all_ch = list(lid_ch.values()) + list(cam_ch.values())
    if len(set(all_ch)) != len(all_ch):
        raise FormatError(info.root, f"two sensors map to the same nuScenes channel: {all_ch} (pass channels=)")

    def us(ns: int) -> int:
        return int((int(ns) + 500) // 1000)

    sensors = [{"token": token("sensor", ch), "channel": ch, "modality": "lidar"} for ch in lid_ch.values()]
    sensors += [{"token": token("sensor", ch), "channel": ch, "modality": "camera"} for ch in cam_ch.values()]
    calibrated: dict[str, dict[str, Any]] = {}

    calib_of: dict[tuple[int, str, str], str] = {}  # (rig, sensor, channel) -> token: one rig, one record

    def calib_token(frame: int, name: str, ch: str, K: np.ndarray | None) -> str:
        rig = loaded.rig(frame)
        key = (id(rig), name, ch)
        if key not in calib_of:
            calib_of[key] = _calib_token(rig, name, ch, K)
        return calib_of[key]

    def _calib_token(rig: Any, name: str, ch: str, K: np.ndarray | None) -> str:
        T = rig.T_ego_from(name)
        rec = {"sensor_token": token("sensor", ch), "translation": [float(v) for v in T[:3, 3]],
               "rotation": [float(v) for v in rotation_to_quat(T[:3, :3])],
               "camera_intrinsic": [] if K is None else [[float(v) for v in row] for row in K]}
        key = json.dumps(rec, sort_keys=True)
        if key not in calibrated:
            rec = {"token": token(base, "calibrated_sensor", ch, len(calibrated)), **rec}
            calibrated[key] = rec
        return str(calibrated[key]["token"])

    log_tok = token(base, "log")
    sample_of_frame = {k: token(scene_of[k], "sample", k) for k in keys}
    key_times = np.array([times[k] for k in keys], dtype=np.int64)

    def nearest_sample(k: int) -> str:
        i = int(np.argmin(np.abs(key_times - times[k])))
        return sample_of_frame[keys[i]]

    samples_of: dict[str, list[dict[str, Any]]] = {name: [] for name in scene_names}
    for k in keys:
        samples_of[scene_of[k]].append(
            {"token": sample_of_frame[k], "timestamp": us(times[k]), "scene_token": token(scene_of[k], "scene")})
    for recs in samples_of.values():
        _link(recs)
    ego_poses: list[dict[str, Any]] = []
    sd_by_channel: dict[tuple[str, str], list[dict[str, Any]]] = {}
    anns_by_instance: dict[int, list[dict[str, Any]]] = {}
    categories_used: dict[int, str] = {}
    inst_scene: dict[int, str] = {}

    # an image serving several frames (a camera slower than the LiDAR) is written once: by the
    # keyframe among them, else the first
    image_owner: dict[tuple[str, str, int], int] = {}
    for k, fi in enumerate(info.frames):
        for cam in cam_ch:
            key = (scene_of[k], cam, int(fi.camera_timestamps_ns.get(cam, fi.timestamp_ns)))
            owner = image_owner.setdefault(key, k)
            if owner not in sample_of_frame and k in sample_of_frame:
                image_owner[key] = k

    point_labels = loaded.annotations.point_labels
    annotated = [k for k in keys if loaded.annotations.boxes_at(k)] if jobs > 1 else []
    with (ParallelBoxNumbers(loaded, annotated, primary, occlusion, jobs) as numbers,
          staged_output(Path(dst), overwrite) as out):
        vdir = out / version
        vdir.mkdir()
        made: set[Path] = set()
        seg = LidarsegWriter(out, version, point_labels.table) if point_labels is not None else None

        def folder(kind: str, ch: str) -> Path:
            p = out / kind / ch
            if p not in made:
                p.mkdir(parents=True, exist_ok=True)
                made.add(p)
            return p

        for k, fi in enumerate(info.frames):
            scene = scene_of[k]
            is_key = k in sample_of_frame
            kind = "samples" if is_key else "sweeps"
            sample_tok = sample_of_frame[k] if is_key else nearest_sample(k)
            rig = loaded.rig(k)
            poses = loaded.sensor_poses[k] if loaded.sensor_poses is not None else {}
            pose_cache: dict[bytes, tuple[list[float], list[float]]] = {}
            pc_primary = None
            # LiDARs
            for ln, ch in lid_ch.items():
                pc = loaded.read_lidar(k, ln)
                if pc is None:
                    if ln == primary:
                        raise FormatError(info.root, f"frame {k} has no {ln} sweep: a nuScenes sample needs one")
                    continue
                if ln == primary:
                    pc_primary = pc
                ts = us(fi.timestamp_ns)
                rel = f"{kind}/{ch}/{scene}__{ch}__{ts}.pcd.bin"
                folder(kind, ch)
                src = fi.lidar_files.get(ln)
                if loaded.lidar_layout == "nuscenes" and src is not None and src.suffix == ".bin" and src.is_file():
                    place_file(src, out / rel, link)
                else:
                    arr = np.zeros((len(pc), 5), dtype=np.float32)
                    arr[:, :3] = pc.xyz
                    if pc.intensity is not None:
                        arr[:, 3] = np.asarray(pc.intensity, dtype=np.float32).reshape(len(pc))
                    ring = pc.fields.get("ring")
                    if ring is not None and np.asarray(ring).shape == (len(pc),):
                        arr[:, 4] = ring
                    write_bytes(out / rel, arr.tobytes())
                ep = token(scene, "ego_pose", ch, k)
                ego_poses.append(_pose_record(ep, ts, poses.get(ln, fi.T_world_from_ego), pose_cache))
                sd_by_channel.setdefault((scene, ch), []).append({
                    "token": token(scene, "sample_data", ch, k), "sample_token": sample_tok, "ego_pose_token": ep,
                    "calibrated_sensor_token": calib_token(k, ln, ch, None), "timestamp": ts, "fileformat": "pcd",
                    "is_key_frame": is_key, "height": 0, "width": 0, "filename": rel})
                if seg is not None and is_key and ln == primary:  # point labels: lidarseg + panoptic
                    labs = point_labels.get(k, len(pc)) if point_labels.has(k) else FrameLabels.empty(len(pc))
                    seg.add(scene, token(scene, "sample_data", ch, k), labs)
            # cameras
            for cam, ch in cam_ch.items():
                if cam not in rig.camera_names():
                    continue
                if image_owner[(scene, cam, int(fi.camera_timestamps_ns.get(cam, fi.timestamp_ns)))] != k:
                    continue  # written with the frame that owns this image
                view = views.get(cam, rig.camera(cam))
                src = fi.camera_files.get(cam)
                ts = us(fi.camera_timestamps_ns.get(cam, fi.timestamp_ns))
                rel = f"{kind}/{ch}/{scene}__{ch}__{ts}.jpg"
                if (image_link is not None and not view.resamples and src is not None
                        and src.suffix.lower() in (".jpg", ".jpeg") and src.is_file()):
                    folder(kind, ch)
                    place_file(src, out / rel, image_link)
                else:
                    img = loaded.read_image(k, cam)
                    if img is None:
                        continue
                    folder(kind, ch)
                    write_bytes(out / rel, encode_image(view.image(img), ".jpg", out / rel))
                ep = token(scene, "ego_pose", ch, k)
                ego_poses.append(_pose_record(ep, ts, poses.get(cam, fi.T_world_from_ego), pose_cache))
                sd_by_channel.setdefault((scene, ch), []).append({
                    "token": token(scene, "sample_data", ch, k), "sample_token": sample_tok, "ego_pose_token": ep,
                    "calibrated_sensor_token": calib_token(k, cam, ch, view.pinhole.K), "timestamp": ts,
                    "fileformat": "jpg", "is_key_frame": is_key, "height": view.pinhole.height,
                    "width": view.pinhole.width, "filename": rel})
            summary.frames += 1
            if is_key:
                got = numbers.get(k)
                if got is None:
                    got = box_numbers(loaded, k, primary, pc_primary, rig, views, occlusion)
                _annotate(loaded, k, sample_of_frame[k], scene, got, mapper, anns_by_instance, categories_used,
                          inst_scene, summary)
            if progress is not None:
                progress(k + 1, n)

        # instances, categories, annotations
        cat_names = sorted({c.nuscenes for c in mapper.ontology if c.nuscenes} | set(categories_used.values()))
        categories = [{"token": token("category", c), "name": c, "description": c} for c in cat_names]
        instances = []
        annotations = []
        for tid in sorted(anns_by_instance):
            anns = anns_by_instance[tid]
            _link(anns)
            annotations += anns
            instances.append({"token": token(inst_scene[tid], "instance", tid), "category_token": token("category",
                              categories_used[tid]), "nbr_annotations": len(anns),
                              "first_annotation_token": anns[0]["token"], "last_annotation_token": anns[-1]["token"]})
        sample_data = []
        for recs in sd_by_channel.values():
            recs.sort(key=lambda r: (r["timestamp"], r["token"]))
            _link(recs)
            sample_data += recs
        date = _dt.datetime.fromtimestamp(times[0] / 1e9, tz=_dt.UTC).strftime("%Y-%m-%d") if n else ""
        map_tok = token(base, "map")
        (out / "maps").mkdir()
        write_bytes(out / "maps" / f"{map_tok}.png", _png_placeholder())
        tables: dict[str, list[dict[str, Any]]] = {
            "attribute": [{"token": token("attribute", a), "name": a, "description": d} for a, d in ATTRIBUTES.items()],
            "calibrated_sensor": list(calibrated.values()),
            "category": categories,
            "ego_pose": ego_poses,
            "instance": instances,
            "log": [{"token": log_tok, "logfile": base, "vehicle": "fusionlabel", "date_captured": date,
                     "location": location or str(info.meta.get("location") or "unknown")}],
            "map": [{"token": map_tok, "log_tokens": [log_tok], "category": "semantic_prior",
                     "filename": f"maps/{map_tok}.png"}],
            "sample": [r for name in scene_names for r in samples_of[name]],
            "sample_annotation": annotations,
            "sample_data": sample_data,
            "scene": [{"token": token(name, "scene"), "log_token": log_tok, "nbr_samples": len(samples_of[name]),
                       "first_sample_token": samples_of[name][0]["token"] if samples_of[name] else "",
                       "last_sample_token": samples_of[name][-1]["token"] if samples_of[name] else "", "name": name,
                       "description": f"exported by fusionlabel from {info.format} sequence {info.name}"}
                      for name in scene_names],
            "sensor": sensors,
            "visibility": [{"token": t, "level": lv, "description": d} for t, lv, d in VISIBILITY],
        }
        if seg is not None:
            tables["category"] = lidarseg_categories(categories)
            tables.update(seg.tables())
        for name, recs in tables.items():
            try:
                data = table_json(recs)
            except ValueError as e:  # NaN or infinity: the table would not be JSON
                raise FormatError(vdir / f"{name}.json", f"cannot write the {name} table: {e}") from e
            write_bytes(vdir / f"{name}.json", data)
    for r in loaded.ignore_regions:
        summary.skipped.append((f"frame {r.frame} {r.camera} {r.label} region", "nuScenes has no ignore regions"))
    if keyframe_every > 1:
        summary.warnings.append(f"one frame in {keyframe_every} is a keyframe; {n - len(keys)} frames are sweeps "
                                "without annotations")
    resampled = [c for c in cam_ch if views.get(c, loaded.rig(0).camera(c)).resamples]
    if resampled:
        summary.warnings.append(f"distorted cameras resampled to pinhole images: {resampled}")
    return summary


def _occlusion(sweep_boxes: SweepBoxes, rig: Any, primary: str, T_lidar_from_world: np.ndarray, views: ViewCache,
               hits: np.ndarray, occ: np.ndarray) -> None:
    """Add every camera's occlusion counts of the boxes (module docstring) to ``hits``/``occ``."""
    boxes = sweep_boxes.boxes_world
    centers = np.array([b.center for b in boxes], dtype=np.float64)
    radii = box_radii(boxes)
    corners_world = box3d_corners(boxes)  # (M, 8, 3) world frame
    per_camera = []
    for cam in rig.camera_names():
        view = views.get(cam, rig.camera(cam))
        T_cam_from_lidar = rig.T(cam, primary)
        T_cam_from_world = T_cam_from_lidar @ T_lidar_from_world
        centers_cam = xform(T_cam_from_world, centers)
        items = []
        ms = np.flatnonzero(~spheres_outside(centers_cam, radii, view.pinhole)).tolist()
        if ms:
            # every box's corners in this camera at once (the rows xform gives box by box)
            corners = xform(T_cam_from_world, corners_world[ms].reshape(-1, 3)).reshape(-1, 8, 3)
            seen = may_be_in_image_many(corners, view.pinhole)
            with np.errstate(divide="ignore", invalid="ignore"):
                rounded = np.round(corners[:, :, :2] / corners[:, :, 2:3], 12)
            js = np.flatnonzero(seen)
            for j, poly in zip(js.tolist(), pinhole_outlines(corners[js], rounded[js], view.pinhole), strict=True):
                if poly is not None:
                    items.append((ms[j], poly, corners[j]))
        per_camera.append((T_cam_from_lidar, view.pinhole, items))
    for (_, _, items), counts in zip(per_camera, sweep_boxes.occlusion_counts(per_camera), strict=True):
        for (m, _, _), (h, o) in zip(items, counts, strict=True):
            hits[m] += h
            occ[m] += o


#: What :func:`box_numbers` gives: (M,) ``num_lidar_pts``, occlusion hits, occluders of a frame's boxes.
BoxNumbers = tuple[np.ndarray, np.ndarray, np.ndarray]


def box_numbers(loaded: LoadedSequence, k: int, primary: str, pc: Any, rig: Any, views: ViewCache,
                occlusion: bool) -> BoxNumbers:
    """The numbers of frame ``k``'s boxes (``loaded.annotations.boxes_at(k)``, in that order), each
    (M,) int64: ``num_lidar_pts`` (the points of ``pc``, the primary LiDAR's sweep, in the box, world
    frame), and the occlusion heuristic's hits and occluders summed over every camera (zero without
    ``occlusion`` or a sweep)."""
    refs = loaded.annotations.boxes_at(k)
    counts = np.zeros(len(refs), dtype=np.int64)
    hits = np.zeros(len(refs), dtype=np.int64)
    occ = np.zeros(len(refs), dtype=np.int64)
    if refs and pc is not None:
        T_world_from_lidar = loaded.T_world_from_sensor(k, primary)
        T_lidar_from_world = invert(T_world_from_lidar)
        # points near some box (LiDAR frame, hit margin), then the exact count in the world frame
        sweep_boxes = SweepBoxes(pc.xyz, None, [r.box for r in refs], T_lidar_from_world)
        counts = sweep_boxes.world_counts(T_world_from_lidar)
        if occlusion:
            _occlusion(sweep_boxes, rig, primary, T_lidar_from_world, views, hits, occ)
    return counts, hits, occ


#: The sequence and settings that :class:`ParallelBoxNumbers`' workers read (set before they fork).
_JOB: dict[str, Any] = {}


def _numbers_of(frames: list[int]) -> list[BoxNumbers]:
    """Worker task of :class:`ParallelBoxNumbers`: :func:`box_numbers` of ``frames``."""
    loaded, primary, occlusion = _JOB["job"]
    views = _JOB.setdefault("views", ViewCache())
    return [box_numbers(loaded, k, primary, loaded.read_lidar(k, primary), loaded.rig(k), views, occlusion)
            for k in frames]


class ParallelBoxNumbers:
    """:func:`box_numbers` of the ``frames`` (ascending) computed ahead by ``jobs`` worker
    processes, in chunks of consecutive frames handed out in frame order, while the writer goes on;
    :meth:`get` waits for a frame's numbers (None for a frame not given, or with fewer than two
    jobs, or where processes cannot be forked: then the caller computes them itself). The workers
    are forked from this process (they share the opened sequence); use as a context manager."""

    #: Frames per worker task.
    CHUNK = 4

    def __init__(self, loaded: LoadedSequence, frames: list[int], primary: str, occlusion: bool, jobs: int) -> None:
        import multiprocessing as mp

        self._futures: dict[int, tuple[Any, int]] = {}
        self._pool: Any = None
        if jobs < 2 or len(frames) < 2 or "fork" not in mp.get_all_start_methods():
            return
        from concurrent.futures import ProcessPoolExecutor

        _JOB.clear()
        _JOB["job"] = (loaded, primary, occlusion)
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork"))
        for i in range(0, len(frames), self.CHUNK):
            chunk = frames[i:i + self.CHUNK]
            fut = self._pool.submit(_numbers_of, chunk)
            for j, k in enumerate(chunk):
                self._futures[k] = (fut, j)

    def get(self, k: int) -> BoxNumbers | None:
        """Frame ``k``'s numbers (waits for them), None where they were not computed ahead."""
        got = self._futures.pop(k, None)
        if got is None:
            return None
        fut, j = got
        return fut.result()[j]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the workers (pending tasks cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._futures.clear()
            _JOB.clear()

    def __enter__(self) -> ParallelBoxNumbers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _annotate(loaded: LoadedSequence, k: int, sample_tok: str, scene: str, numbers: BoxNumbers, mapper: ClassMapper,
              anns_by_instance: dict[int, list[dict[str, Any]]], categories_used: dict[int, str],
              inst_scene: dict[int, str], summary: ConvertSummary) -> None:
    refs = loaded.annotations.boxes_at(k)
    if not refs:
        return
    counts, hits, occ = (a.tolist() for a in numbers)  # Python ints, read box by box
    for m, ref in enumerate(refs):
        cat = mapper(ref.label)
        if cat is None:
            summary.skipped.append((f"frame {k} track {ref.track_id}", f"class {ref.label!r} has no nuScenes category"))
            continue
        tid = ref.track_id
        if tid in categories_used and categories_used[tid] != cat:
            cat = categories_used[tid]
        categories_used.setdefault(tid, cat)
        attrs = loaded.annotations.tracks[tid].attributes
        visibility = nuscenes_visibility(hits[m], occ[m])
        attribute_names = attributes_for(cat, ref.label, attrs)
        src = loaded.source_label(k, ref.box) if loaded.info.format == "nuscenes" else None
        if isinstance(src, NuScenesSourceAnnotation) and src.track_attributes == tuple(sorted(attrs.items())):
            # an unchanged box of an unchanged track: the source's own visibility and attributes
            visibility = VISIBILITY_TOKEN_OF_LEVEL.get(src.visibility or "", visibility)
            attribute_names = [a for a in src.attributes if a in ATTRIBUTES]
        l, w, h = ref.box.size
        anns_by_instance.setdefault(tid, []).append({
            "token": token(scene, "sample_annotation", tid, k), "sample_token": sample_tok,
            "instance_token": _fixed_token(inst_scene.setdefault(tid, scene), "instance", tid),
            "visibility_token": visibility,
            "attribute_tokens": [_fixed_token("attribute", a) for a in attribute_names],
            "translation": [float(v) for v in ref.box.center], "size": [w, l, h],
            "rotation": [float(v) for v in (rotation_to_quat(ref.box.rotation()) if ref.box.tilted
                                            else yaw_to_quat(ref.box.yaw))],
            "num_lidar_pts": counts[m], "num_radar_pts": 0})
        summary.boxes += 1
