"""Assisted labelling benchmark: one-click boxes on real KITTI frames, pre-labels on synthetic
sequences.

1. **One-click boxes** on the real KITTI frames in ``../shared/data/real`` (kitti_object_vis 3
   frames; pointpillars_demo val 000134 as ``kitti-flat``; mmdet3d_demo 000008, whose labels are
   only in the mmdet3d info pickle and are converted here through the frame's calibration from
   that pickle). For every labelled Car, Cyclist and Pedestrian with >= 30 LiDAR points inside, a
   click at the centre of the label (BEV, world = Velodyne frame) makes a box with
   :func:`fusionlabel.assist.box_from_click`; its BEV IoU against the label is printed. The
   headline run is the one the GUI makes: the labeler's current class as the hint and the default
   ontology with the opened data's per-dataset size priors in place (``Ontology.for_dataset`` of
   the source format: KITTI's class means on KITTI data). Also printed, for honesty: the same with
   the default ontology's own (nuScenes-like) priors, and without the hint (the class guessed).
   Target: IoU >= 0.6 for at least 80% of the objects.
2. **Pre-labels** on synthetic sequences (``fusionlabel.synth``, 20 frames): recall of the
   ground-truth cars within 40 m (with >= 10 LiDAR points) at BEV IoU 0.5, precision of the car
   proposals within 40 m, identity switches and fragmentations. Target: car recall >= 0.85.

3. **Pre-labels on real sequences** (``--real-prelabel``): the SUSTechPOINTS example (4 frames, a
   40-ring LiDAR) and the nuScenes keyframe (one frame), when present under ``../shared/data/real``:
   proposals per class, how many overlap a human label (BEV IoU > 0.3) and how many do not, and the
   recall of the labelled vehicles and people (with >= 10 points, within the pre-label range) at
   BEV IoU > 0.3. SUSTech labels cover only part of the scene, so "off label" counts unlabelled
   real objects too (see docs/assist.md).

4. **Walkers' heading** (``--walkers``): every labelled walker of the real samples (KITTI as above,
   SUSTechPOINTS and the nuScenes keyframe with >= 10 points), one sweep, class given, without and
   with the ego's heading (a walker headed along the ego axis nearest its principal axis): share
   within 20 degrees, median heading error, mean BEV IoU.

5. **Vehicles' direction** (``--heading-sign``): the share of one-click car boxes headed within 90
   degrees of the truth (front forward), with the cabin cue off and on (``FitParams.vehicle_cabin_cue``):
   on synthetic seeds (``--seeds``; ``--frames`` frames; a click at every car's truth centre at the
   middle frame, class given, the neighbouring sweeps f-2..f+2 given as the GUI does; parked and
   moving apart) and on the real KITTI cars (one sweep, class given, the data's priors, as in 1.;
   with their BEV IoU).

Run: ``PYTHONPATH=. python benchmarks/bench_assist.py [--seeds 0 1 2] [--frames 20] [--quick]
[--real-prelabel] [--no-one-click] [--walkers] [--heading-sign]``.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fusionlabel.assist import box_from_click, fit_ground  # noqa: E402
from fusionlabel.box import Box3D  # noqa: E402
from fusionlabel.geometry import bev_iou, count_points_in_boxes  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
CLASSES = ("Car", "Cyclist", "Pedestrian")
MIN_POINTS = 30
#: mmdet3d 1.x KITTI class order of ``bbox_label_3d``.
MMDET3D_KITTI_CLASSES = ("Pedestrian", "Cyclist", "Car")


@dataclass
class RealFrame:
    """One real frame: its name, points (N, 3) in the Velodyne frame (= world here), labels and the
    source format the GUI would open it as (selects the per-dataset size priors)."""

    name: str
    points: np.ndarray
    labels: list[tuple[str, Box3D]]
    source_format: str = "kitti-object"


def mmdet3d_kitti_frame(pkl: Path, bin_path: Path) -> RealFrame:
    """The mmdet3d demo frame: points from the .bin, labels from the info pickle (``bbox_3d`` in
    the rectified camera frame: bottom centre x, y, z, then l, h, w, ry), converted with
    ``R0_rect`` and ``lidar_points.Tr_velo_to_cam`` of that pickle."""
    from formats.kitti_labels import KittiObject, kitti_to_box

    with open(pkl, "rb") as f:
        info = pickle.load(f)
    entry = info["data_list"][0]
    R0 = np.asarray(entry["images"]["R0_rect"], dtype=np.float64)
    Tr = np.asarray(entry["lidar_points"]["Tr_velo_to_cam"], dtype=np.float64)
    T_cam0rect_from_velo = R0 @ Tr
    T_velo_from_cam0rect = np.linalg.inv(T_cam0rect_from_velo)
    pts = np.fromfile(bin_path, dtype=np.float32).reshape(-1, 4)[:, :3].astype(np.float64)
    labels = []
    for inst in entry["instances"]:
        k = int(inst["bbox_label_3d"])
        if k < 0:
            continue
        x, y, z, l, h, w, ry = (float(v) for v in inst["bbox_3d"])
        obj = KittiObject(MMDET3D_KITTI_CLASSES[k], float(inst["truncated"]), int(inst["occluded"]),
                          float(inst["alpha"]), tuple(inst["bbox"]), (h, w, l), (x, y, z), ry)
        labels.append((obj.type, kitti_to_box(obj, T_velo_from_cam0rect)))
    # a KITTI object training frame (the GUI opens such data as kitti-object)
    return RealFrame(f"mmdet3d_demo/{bin_path.stem}", pts, labels, "kitti-object")


def real_frames(real: Path = REAL) -> list[RealFrame]:
    """The real KITTI frames with labels (empty when the data is absent)."""
    from formats.datasets import open_dataset

    out: list[RealFrame] = []
    sets = [
        (real / "kitti_object_vis" / "data" / "object", None, "kitti_object_vis"),
        (real / "pointpillars_demo" / "pointpillars" / "dataset" / "demo_data" / "val", "kitti-flat",
         "pointpillars_demo/val"),
    ]
    for path, fmt, name in sets:
        if not path.exists():
            continue
        loaded = open_dataset(path, fmt)
        for k, fid in enumerate(loaded.info.meta.get("frame_ids", range(len(loaded.info.frames)))):
            pc = loaded.read_lidar(k)
            if pc is None:
                continue
            labels = [(r.label, r.box) for r in loaded.annotations.boxes_at(k)]
            out.append(RealFrame(f"{name}/{fid}", pc.xyz.astype(np.float64), labels, loaded.info.format))
    d = real / "mmdet3d_demo" / "demo" / "data" / "kitti"
    if (d / "000008.pkl").exists():
        out.append(mmdet3d_kitti_frame(d / "000008.pkl", d / "000008.bin"))
    return out


@dataclass
class ClickResult:
    frame: str
    label: str
    points: int
    range_m: float
    iou: float  # the headline: class given, the data's per-dataset size priors (as in the GUI)
    iou_default: float  # class given, the default ontology's own priors
    iou_auto: float  # class guessed, the data's per-dataset priors
    guess: str
    confidence: float
    ms: float
    offset: float = 0.0  # BEV centre distance (m) of the headline box from the label
    yaw_err: float = 0.0  # heading error (deg) modulo 180 (a box's heading sign is not judged by BEV IoU)
    size: tuple[float, float] = (0.0, 0.0)  # headline box (length, width) m
    label_size: tuple[float, float] = (0.0, 0.0)


def one_click_real(frames: list[RealFrame]) -> list[ClickResult]:
    """Click at the centre of every Car / Cyclist / Pedestrian label with >= MIN_POINTS points."""
    from fusionlabel.ontology import Ontology

    out = []
    default = Ontology.default()
    for fr in frames:
        data = default.for_dataset(fr.source_format)  # what gui.session gives a labeler on this data
        ground = fit_ground(fr.points, origin=(0.0, 0.0, 0.0), frame="velodyne")
        for label, box in fr.labels:
            if label not in CLASSES:
                continue
            n = int(count_points_in_boxes(fr.points, [box])[0])
            if n < MIN_POINTS:
                continue
            click = box.center[:2]
            t0 = time.perf_counter()
            hinted = box_from_click(fr.points, click, ground, data, class_hint=label, ego_yaw=0.0)
            ms = (time.perf_counter() - t0) * 1e3
            auto = box_from_click(fr.points, click, ground, data, ego_yaw=0.0)
            dflt = box_from_click(fr.points, click, ground, default, class_hint=label, ego_yaw=0.0)
            iou = bev_iou(hinted.box, box) if hinted.box is not None else 0.0
            iou_default = bev_iou(dflt.box, box) if dflt.box is not None else 0.0
            iou_auto = bev_iou(auto.box, box) if auto.box is not None else 0.0
            hb = hinted.box
            offset = math.dist(hb.center[:2], box.center[:2]) if hb is not None else float("nan")
            yaw_err = abs((math.degrees(hb.yaw - box.yaw) + 90.0) % 180.0 - 90.0) if hb is not None else float("nan")
            size = (hb.length, hb.width) if hb is not None else (0.0, 0.0)
            out.append(ClickResult(fr.name, label, n, math.hypot(*box.center[:2]), iou, iou_default, iou_auto,
                                   auto.label or "-", auto.confidence, ms, offset, yaw_err, size,
                                   (box.length, box.width)))
    return out


def print_one_click(results: list[ClickResult]) -> None:
    print("== one-click boxes on real KITTI (click at the label centre; BEV IoU against the label)")
    print("   IoU(data): the labeller's class given, the default ontology with the data's per-dataset size")
    print("   priors (KITTI's class means on KITTI data), as the GUI does; IoU(dflt): class given, the default")
    print("   ontology's own priors; IoU(auto): class guessed (data priors)")
    print("   IoU(data) box against the label: centre offset (m), heading error (deg, modulo 180), size l x w (m)")
    print(f"{'frame':28s} {'class':10s} {'pts':>5s} {'range':>6s} {'IoU(data)':>9s} {'IoU(dflt)':>9s} "
          f"{'IoU(auto)':>9s} {'guess':>10s} {'conf':>5s} {'ms':>6s} {'offset':>6s} {'dyaw':>5s} "
          f"{'size':>9s} {'label':>9s}")
    for r in results:
        print(f"{r.frame:28s} {r.label:10s} {r.points:5d} {r.range_m:6.1f} {r.iou:9.3f} {r.iou_default:9.3f} "
              f"{r.iou_auto:9.3f} {r.guess:>10s} {r.confidence:5.2f} {r.ms:6.1f} {r.offset:6.2f} {r.yaw_err:5.1f} "
              f"{r.size[0]:4.2f}x{r.size[1]:4.2f} {r.label_size[0]:4.2f}x{r.label_size[1]:4.2f}")
    if not results:
        print("  (no real data)")
        return
    iou = np.array([r.iou for r in results])
    dflt = np.array([r.iou_default for r in results])
    auto = np.array([r.iou_auto for r in results])
    print(f"objects: {len(results)}; share IoU >= 0.6: data priors {np.mean(iou >= 0.6):.0%} (target >= 80%), "
          f"default priors {np.mean(dflt >= 0.6):.0%}, auto class {np.mean(auto >= 0.6):.0%}")
    print(f"share IoU >= 0.5: {np.mean(iou >= 0.5):.0%} / {np.mean(dflt >= 0.5):.0%} / {np.mean(auto >= 0.5):.0%}; "
          f"mean IoU {iou.mean():.3f} / {dflt.mean():.3f} / {auto.mean():.3f}")
    for c in CLASSES:
        sel = np.array([r.label == c for r in results])
        if sel.any():
            print(f"  {c:10s} n={sel.sum():2d}  share >= 0.6: {np.mean(iou[sel] >= 0.6):.0%} (data), "
                  f"{np.mean(dflt[sel] >= 0.6):.0%} (dflt), {np.mean(auto[sel] >= 0.6):.0%} (auto); mean IoU "
                  f"{iou[sel].mean():.3f} (data), {dflt[sel].mean():.3f} (dflt)")
    correct = np.mean([r.guess.lower() == r.label.lower() for r in results])
    ms = np.median([r.ms for r in results])
    print(f"class guessed right (auto): {correct:.0%}; median time per click {ms:.1f} ms")


# ---- pre-labels on synthetic sequences -----------------------------------------------------------
@dataclass
class SynthRun:
    seed: int
    frames: int
    score: object
    proposals: int
    seconds_per_frame: float


def synth_inputs(seed: int, frames: int, azimuths: int = 1800) -> tuple[list, dict, dict, dict, dict]:
    """FrameInputs of a synthetic sequence (no files) and its truth: frame -> GT id -> box, GT
    labels, (frame, GT id) -> LiDAR points on the object, frame -> sensor BEV position."""
    from fusionlabel.assist.prelabel import FrameInput
    from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene

    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=0, azimuths=azimuths))
    T_ego_lidar = scene.rig.T("ego", LIDAR_NAME)
    inputs, gt, pts, sensor = [], {}, {}, {}
    labels = {o.instance: o.label for o in scene.layout.labelled}
    for k in range(frames):
        fr = scene.frame(k, cameras=False)
        sw = fr.lidar[LIDAR_NAME]
        T = fr.T_world_from_ego @ T_ego_lidar
        inputs.append(FrameInput(k, fr.timestamp_ns, sw.points, T, LIDAR_NAME, T_world_from_ego=fr.T_world_from_ego))
        gt[k] = fr.boxes
        ids, counts = np.unique(sw.instance[sw.instance >= 0], return_counts=True)
        for i, c in zip(ids, counts, strict=True):
            pts[(k, int(i))] = int(c)
        sensor[k] = T[:2, 3]
    return inputs, gt, labels, pts, sensor


def prelabel_synth(seed: int, frames: int, azimuths: int = 1800) -> SynthRun:
    from fusionlabel.assist.metrics import evaluate_prelabels
    from fusionlabel.assist.prelabel import prelabel

    inputs, gt, labels, pts, sensor = synth_inputs(seed, frames, azimuths)
    res = prelabel(inputs)
    score = evaluate_prelabels(gt, labels, res.proposals, sensor, label="car", points=pts)
    return SynthRun(seed, frames, score, len(res.proposals), res.seconds_per_frame)


def print_prelabel(runs: list[SynthRun]) -> None:
    print("== pre-labels on synthetic sequences (cars within 40 m with >= 10 points; BEV IoU 0.5)")
    for r in runs:
        print(f"seed {r.seed} ({r.frames} frames): {r.score.summary()}; {r.proposals} proposals; "
              f"{r.seconds_per_frame:.2f} s per frame")
    m = sum(r.score.matched for r in runs)
    n = sum(r.score.gt_boxes for r in runs)
    tp = sum(r.score.true_positives for r in runs)
    npr = sum(r.score.proposals for r in runs)
    print(f"overall: car recall {m / max(n, 1):.3f} (target >= 0.85), precision {tp / max(npr, 1):.3f}, "
          f"id switches {sum(r.score.id_switches for r in runs)}")


#: label names of the real sets, by group (SUSTech names and nuScenes categories, lower case prefixes)
REAL_VEHICLES = ("car", "bus", "truck", "van")  # and nuScenes vehicle.* but bicycle / motorcycle
REAL_PEOPLE = ("pedestrian", "rider", "cyclist", "motor")  # and nuScenes human.*, vehicle.bicycle / motorcycle
REAL_SETS = (("sustech", REAL / "sustechpoints_example" / "data" / "example"), ("nuscenes_kf", REAL / "nuscenes_kf"))


def _group(label: str) -> str | None:
    low = label.lower()
    if low in REAL_PEOPLE or low.startswith(("human.", "vehicle.bicycle", "vehicle.motorcycle")):
        return "person"
    if low in REAL_VEHICLES or low.startswith("vehicle."):
        return "vehicle"
    return None


@dataclass
class RealPrelabel:
    name: str
    frames: int
    by_class: dict[str, tuple[int, int]]  # proposal class -> (boxes on a label, boxes off any label)
    recall: dict[str, tuple[int, int]]  # group -> (labels found, labels eligible)
    seconds_per_frame: float


def prelabel_real(name: str, path: Path, max_range: float = 60.0) -> RealPrelabel:
    """Pre-label a real sequence as ``fusionlabel prelabel`` does and compare with its labels."""
    from formats.datasets import open_dataset
    from fusionlabel.assist.prelabel import PrelabelParams, frames_from_sequence, prelabel
    from fusionlabel.geometry import bev_iou_matrix
    from fusionlabel.ontology import Ontology

    loaded = open_dataset(path)
    onto = Ontology.default().for_dataset(loaded.info.format)
    inputs = list(frames_from_sequence(loaded))
    res = prelabel(inputs, onto, params=PrelabelParams(max_range=max_range))
    by_class: dict[str, list[int]] = {}
    recall = {"vehicle": [0, 0], "person": [0, 0]}
    for fin in inputs:
        f, o = fin.frame, fin.origin_world[:2]
        refs = [r for r in loaded.annotations.boxes_at(f) if math.dist(r.box.center[:2], o) <= max_range]
        props = [p for p in res.proposals if f in p.boxes]
        m = bev_iou_matrix([p.boxes[f] for p in props], [r.box for r in refs]) if props and refs else \
            np.zeros((len(props), len(refs)))
        for i, p in enumerate(props):
            on = bool(m.shape[1]) and float(m[i].max()) > 0.3
            by_class.setdefault(p.label, [0, 0])[0 if on else 1] += 1
        n_pts = count_points_in_boxes(fin.points_world, [r.box for r in refs]) if refs else []
        for j, r in enumerate(refs):
            g = _group(r.label)
            if g is None or n_pts[j] < 10:
                continue
            recall[g][1] += 1
            recall[g][0] += int(bool(m.shape[0]) and float(m[:, j].max()) > 0.3)
    return RealPrelabel(name, len(inputs), {k: (v[0], v[1]) for k, v in by_class.items()},
                        {k: (v[0], v[1]) for k, v in recall.items()}, res.seconds_per_frame)


def print_real_prelabel(runs: list[RealPrelabel]) -> None:
    print("== pre-labels on real sequences (proposal boxes on a human label at BEV IoU > 0.3 / off any label;")
    print("   recall of labelled vehicles and people with >= 10 points at BEV IoU > 0.3)")
    if not runs:
        print("  (no real data)")
    for r in runs:
        on = sum(v[0] for v in r.by_class.values())
        off = sum(v[1] for v in r.by_class.values())
        per = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(r.by_class.items()))
        rec = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in r.recall.items())
        print(f"{r.name} ({r.frames} frames): {on + off} proposal boxes, {on} on a label, {off} off; by class "
              f"(on/off): {per}; recall: {rec}; {r.seconds_per_frame:.2f} s per frame")


@dataclass
class WalkerClick:
    source: str
    points: int
    err: tuple[float, float]  # heading error (deg, modulo 180): principal axis, nearest ego axis
    iou: tuple[float, float]


def walker_heading_real(real: Path = REAL) -> list[WalkerClick]:
    """Single-sweep one-click on every labelled walker of the real samples (KITTI frames >= 30
    points as in the headline; SUSTechPOINTS, estimated poses, and the nuScenes keyframe >= 10
    points), class given, without and with the ego's heading (``ego_yaw``: walkers headed along
    the nearest ego axis)."""
    from calib.transforms import transform_points
    from formats.datasets import open_dataset
    from fusionlabel.assist.fit import resolve_class
    from fusionlabel.assist.motion import class_kind
    from fusionlabel.ontology import Ontology

    default = Ontology.default()
    cases = []
    for fr in real_frames(real):
        onto = default.for_dataset(fr.source_format)
        ground = fit_ground(fr.points, origin=(0.0, 0.0, 0.0), frame="velodyne")
        for label, box in fr.labels:
            n = int(count_points_in_boxes(fr.points, [box])[0])
            if label == "Pedestrian" and n >= MIN_POINTS:
                cases.append(("kitti", fr.points, ground, np.zeros(3), 0.0, box, onto, label, n))
    for name, path, kw in (("sustech", REAL_SETS[0][1], {"estimate_poses": True}), ("nuscenes", REAL_SETS[1][1], {})):
        if not path.exists():
            continue
        ds = open_dataset(path, **kw)
        onto = default.for_dataset(ds.info.format)
        for k in range(len(ds.info.frames)):
            T = np.asarray(ds.T_world_from_sensor(k, ds.lidar_names[0]))
            Te = ds.info.T_world_from_ego(k)
            pc = ds.read_lidar(k)
            if pc is None:
                continue
            pts = transform_points(T, pc.xyz.astype(np.float64))
            ground = fit_ground(pts, T[:3, 3])
            for ref in ds.annotations.boxes_at(k):
                spec = resolve_class(onto, ref.label)
                if class_kind(spec) != "walker":
                    continue
                n = int(count_points_in_boxes(pts, [ref.box])[0])
                if n >= 10:
                    cases.append((name, pts, ground, T[:3, 3], math.atan2(Te[1, 0], Te[0, 0]), ref.box, onto,
                                  spec.name, n))
    out = []
    for name, pts, ground, origin, ego, gt, onto, label, n in cases:
        fits = [box_from_click(pts, gt.center[:2], ground, onto, class_hint=label, origin=origin, ego_yaw=e)
                for e in (None, ego)]
        if any(f.box is None for f in fits):
            continue
        err = tuple(abs((math.degrees(f.box.yaw - gt.yaw) + 90.0) % 180.0 - 90.0) for f in fits)
        out.append(WalkerClick(name, n, err, tuple(bev_iou(f.box, gt) for f in fits)))  # type: ignore[arg-type]
    return out


def print_walker_heading(rows: list[WalkerClick]) -> None:
    print("== walkers' heading from one sweep, class given: principal axis -> nearest ego axis (ego_yaw)")
    print("   heading error modulo 180 deg; IoU: BEV IoU against the label")
    for src in ("kitti", "sustech", "nuscenes"):
        sub = [r for r in rows if r.source == src]
        if not sub:
            continue
        e = np.array([r.err for r in sub])
        i = np.array([r.iou for r in sub])
        print(f"{src:9s} n={len(sub):3d}  within 20 deg {np.mean(e[:, 0] < 20):4.0%} -> {np.mean(e[:, 1] < 20):4.0%}"
              f"  median error {np.median(e[:, 0]):5.1f} -> {np.median(e[:, 1]):5.1f}"
              f"  mean IoU {i[:, 0].mean():.3f} -> {i[:, 1].mean():.3f}"
              f"  IoU >= 0.6 {int((i[:, 0] >= 0.6).sum())} -> {int((i[:, 1] >= 0.6).sum())}")


# ---- vehicles' direction (front / back) ----------------------------------------------------------
def _forward(box: Box3D | None, gt: Box3D) -> bool:
    return box is not None and abs((math.degrees(box.yaw - gt.yaw) + 180.0) % 360.0 - 180.0) <= 90.0


def heading_sign_synth(seed: int, frames: int) -> list[tuple[str, bool, bool]]:
    """(state ``parked`` / ``moving``, forward with the cue off, on) for every car within 40 m with
    >= MIN_POINTS points at the middle frame of a synthetic sequence; neighbours f-2..f+2."""
    import dataclasses

    from calib.transforms import transform_points
    from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS
    from fusionlabel.ontology import Ontology
    from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene

    off = dataclasses.replace(DEFAULT_FIT_PARAMS, vehicle_cabin_cue=False)
    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=0))
    onto = Ontology.default()
    T_el = scene.rig.T("ego", LIDAR_NAME)
    f = frames // 2
    world, times = {}, {}
    for k in range(f - 2, f + 3):
        fr = scene.frame(k, cameras=False)
        T = fr.T_world_from_ego @ T_el
        world[k] = transform_points(T, fr.lidar[LIDAR_NAME].points[:, :3].astype(np.float64))
        times[k] = fr.timestamp_ns * 1e-9
        if k == f:
            origin, ego = T[:3, 3], math.atan2(fr.T_world_from_ego[1, 0], fr.T_world_from_ego[0, 0])
            inst = fr.lidar[LIDAR_NAME].instance
    ground = fit_ground(world[f], origin)
    nb = [(times[k] - times[f], world[k]) for k in (f - 2, f - 1, f + 1, f + 2)]
    objs = {o.instance: o for o in scene.layout.labelled}
    out = []
    for tid, gt in scene.boxes(f).items():
        o = objs[tid]
        if o.label != "car" or int((inst == tid).sum()) < MIN_POINTS or math.dist(gt.center[:2], origin[:2]) > 40.0:
            continue
        fwd = [_forward(box_from_click(world[f], gt.center[:2], ground, onto, class_hint="car", origin=origin,
                                       neighbours=nb, ego_yaw=ego, fit_params=fp).box, gt)
               for fp in (off, DEFAULT_FIT_PARAMS)]
        out.append(("moving" if o.path is not None else "parked", fwd[0], fwd[1]))
    return out


def heading_sign_real(frames: list[RealFrame]) -> list[tuple[bool, bool, float, float]]:
    """(forward off, on, BEV IoU off, on) for every real KITTI Car with >= MIN_POINTS points."""
    import dataclasses

    from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS
    from fusionlabel.ontology import Ontology

    off = dataclasses.replace(DEFAULT_FIT_PARAMS, vehicle_cabin_cue=False)
    out = []
    for fr in frames:
        data = Ontology.default().for_dataset(fr.source_format)
        ground = fit_ground(fr.points, origin=(0.0, 0.0, 0.0), frame="velodyne")
        for label, box in fr.labels:
            if label != "Car" or int(count_points_in_boxes(fr.points, [box])[0]) < MIN_POINTS:
                continue
            b = [box_from_click(fr.points, box.center[:2], ground, data, class_hint=label, ego_yaw=0.0,
                                fit_params=fp).box for fp in (off, DEFAULT_FIT_PARAMS)]
            out.append((_forward(b[0], box), _forward(b[1], box), *(bev_iou(x, box) if x is not None else 0.0
                                                                    for x in b)))
    return out


def print_heading_sign(synth: list[tuple[str, bool, bool]], real: list[tuple[bool, bool, float, float]]) -> None:
    print("== one-click car boxes headed within 90 deg of the truth: cabin cue off -> on")
    for state in ("parked", "moving"):
        rows = np.array([(a, b) for s, a, b in synth if s == state], dtype=bool).reshape(-1, 2)
        if len(rows):
            print(f"synthetic {state:7s} n={len(rows):3d}  {rows[:, 0].mean():.0%} -> {rows[:, 1].mean():.0%}")
    if real:
        r = np.array(real, dtype=np.float64)
        print(f"real KITTI cars  n={len(r):3d}  {r[:, 0].mean():.0%} -> {r[:, 1].mean():.0%}; mean BEV IoU "
              f"{r[:, 2].mean():.3f} -> {r[:, 3].mean():.3f}; IoU >= 0.6 {np.mean(r[:, 2] >= 0.6):.0%} -> "
              f"{np.mean(r[:, 3] >= 0.6):.0%}; flipped to backwards {int(np.sum((r[:, 0] > 0) & (r[:, 1] == 0)))}, "
              f"to forwards {int(np.sum((r[:, 0] == 0) & (r[:, 1] > 0)))}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="one seed, 10 frames")
    ap.add_argument("--real-prelabel", action="store_true", help="also pre-label the real SUSTech / nuScenes samples")
    ap.add_argument("--no-one-click", action="store_true", help="skip the one-click part")
    ap.add_argument("--no-synth", action="store_true", help="skip the synthetic pre-label part")
    ap.add_argument("--walkers", action="store_true",
                    help="also the walkers' single-sweep heading on the real samples, with and without the ego's axes")
    ap.add_argument("--heading-sign", action="store_true",
                    help="only the cars' direction (within 90 deg) with the cabin cue off and on, synthetic and real")
    args = ap.parse_args(argv)
    if args.heading_sign:
        synth = [r for s in args.seeds for r in heading_sign_synth(s, args.frames)]
        print_heading_sign(synth, heading_sign_real(real_frames()))
        return 0
    if not args.no_one_click:
        print_one_click(one_click_real(real_frames()))
    if args.walkers:
        print_walker_heading(walker_heading_real())
    if args.real_prelabel:
        print_real_prelabel([prelabel_real(n, p) for n, p in REAL_SETS if p.exists()])
    if args.no_synth:
        return 0
    seeds = [args.seeds[0]] if args.quick else args.seeds
    frames = 10 if args.quick else args.frames
    print_prelabel([prelabel_synth(s, frames) for s in seeds])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
