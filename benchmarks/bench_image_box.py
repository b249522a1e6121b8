"""Image-first boxes (``fusionlabel.assist.image_box``) on synthetic scenes with exact ground truth.

For every synthetic seed (``--seeds``, default 0-4; ``--frames`` frames each, 6 cameras), every
camera and every labelled car (``--classes``) in front of it, the rectangle a labeler would drag
is the 2D extent of the ground-truth box's projection clipped to the image
(``calib.projection.box_extent2d``). Objects are kept when the rectangle is not truncated by more
than 50 % and at least ``MIN_VISIBLE`` of its pixels show the object (the rendered instance map:
an object mostly hidden behind another gives a rectangle a labeler would not draw that way).

Each is boxed with :func:`box_from_image_rect` (the class given, as the window does with the
current class; ``--no-class`` lets it guess) and compared with the truth:

- **dense** (>= ``DENSE_POINTS`` LiDAR points on the object): share with BEV IoU >= 0.6, mean BEV
  IoU, share whose projection has 2D IoU >= 0.5 with the rectangle, the class accuracy;
- **sparse** (fewer points, the ground-ray fallback expected): the centre error (m) and the share
  whose centre lies within ``SPARSE_TOL`` m of the truth, and which route was taken;
- **stripped** (every object once more with its own points removed, as a far object the LiDAR
  misses): the share given the ground-ray box, its centre error (median, share within
  ``SPARSE_TOL`` m, 90th percentile of error / distance);
- time per rectangle.

Run: ``PYTHONPATH=. python benchmarks/bench_image_box.py [--seeds 0 1 2 3 4] [--frames 2] [--no-class]
[--classes car ...] [--no-strip] [--verbose]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calib.projection import box_extent2d  # noqa: E402
from calib.transforms import invert, transform_points  # noqa: E402
from fusionlabel.assist import fit_ground  # noqa: E402
from fusionlabel.assist.image_box import box_from_image_rect  # noqa: E402
from fusionlabel.geometry import bev_iou  # noqa: E402
from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene  # noqa: E402

MIN_VISIBLE = 0.5
DENSE_POINTS = 30
SPARSE_TOL = 3.0


@dataclass
class Case:
    seed: int
    frame: int
    camera: str
    instance: int
    label: str
    points: int
    distance: float
    iou: float
    centre_err: float
    iou2d: float | None
    source: str
    label_out: str | None
    ms: float
    stripped_err: float = float("nan")  # centre error (m) with the object's points removed
    stripped_source: str = ""
    confidence: float = 0.0  # the fit's confidence


def cases_of_scene(seed: int, frames: int, classes: tuple[str, ...], use_class: bool, strip: bool = True) -> list[Case]:
    scene = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=6))
    out: list[Case] = []
    for f in range(frames):
        fr = scene.frame(f)
        sw = fr.lidar[LIDAR_NAME]
        T_world_from_lidar = fr.T_world_from_ego @ scene.rig.T("ego", LIDAR_NAME)
        pts = transform_points(T_world_from_lidar, sw.points[:, :3].astype(np.float64))
        origin = T_world_from_lidar[:3, 3]
        ground = fit_ground(pts, origin)
        ego_yaw = math.atan2(fr.T_world_from_ego[1, 0], fr.T_world_from_ego[0, 0])
        labels = {o.instance: o.label for o in scene.layout.labelled}
        counts = np.bincount(sw.instance[sw.instance >= 0], minlength=max(labels, default=0) + 1)
        for cam_name in scene.rig.camera_names():
            cam = scene.rig.camera(cam_name)
            T_world_from_cam = fr.T_world_from_ego @ scene.rig.T("ego", cam_name)
            T_cam_from_world = invert(T_world_from_cam)
            inst_img = fr.cameras[cam_name].instance
            for tid, gt in fr.boxes.items():
                if labels.get(tid) not in classes:
                    continue
                corners = transform_points(T_cam_from_world, np.asarray(gt.corners()))
                if corners[:, 2].max() <= 0.3:
                    continue
                ext = box_extent2d(corners, cam)
                if ext is None or ext.clipped is None or ext.truncation > 0.5:
                    continue
                u0, v0, u1, v1 = ext.clipped
                if u1 - u0 < 4 or v1 - v0 < 4:
                    continue
                iu0, iv0 = max(int(math.floor(u0 + 0.5)), 0), max(int(math.floor(v0 + 0.5)), 0)
                iu1, iv1 = int(math.floor(u1 + 0.5)) + 1, int(math.floor(v1 + 0.5)) + 1
                patch = inst_img[iv0:iv1, iu0:iu1]
                if patch.size == 0:
                    continue
                # share of the object's unoccluded silhouette visible: pixels of it / pixels of the
                # rectangle that are either it or something in front of it is not known; use the
                # share of the rectangle's pixels showing the object against a car's fill (~0.75)
                visible = float((patch == tid).mean())
                if visible < MIN_VISIBLE * 0.75:
                    continue
                t0 = time.perf_counter()
                res = box_from_image_rect(ext.clipped, cam, T_world_from_cam, pts, ground,
                                          class_hint=labels[tid] if use_class else None, origin=origin,
                                          ego_yaw=ego_yaw)
                ms = (time.perf_counter() - t0) * 1e3
                iou = bev_iou(res.box, gt) if res.box is not None else 0.0
                err = math.dist(res.box.center[:2], gt.center[:2]) if res.box is not None else float("inf")
                case = Case(seed, f, cam_name, tid, str(labels[tid]), int(counts[tid]) if tid < len(counts) else 0,
                            float(math.dist(gt.center[:2], origin[:2])), iou, err, res.iou2d, res.source, res.label, ms,
                            confidence=res.confidence)
                if strip:
                    # the same rectangle with the object's points removed: the ground-ray box
                    bare = box_from_image_rect(ext.clipped, cam, T_world_from_cam, pts[sw.instance != tid], ground,
                                               class_hint=labels[tid] if use_class else None, origin=origin,
                                               ego_yaw=ego_yaw)
                    if bare.box is not None:
                        case.stripped_err = math.dist(bare.box.center[:2], gt.center[:2])
                    case.stripped_source = bare.source
                out.append(case)
    return out


def summarize(cases: list[Case], use_class: bool) -> dict[str, float]:
    dense = [c for c in cases if c.points >= DENSE_POINTS]
    sparse = [c for c in cases if c.points < DENSE_POINTS]
    res: dict[str, float] = {"cases": len(cases), "dense": len(dense), "sparse": len(sparse)}
    if dense:
        ious = np.array([c.iou for c in dense])
        res["dense_iou06"] = float((ious >= 0.6).mean())
        res["dense_mean_iou"] = float(ious.mean())
        res["dense_median_err"] = float(np.median([c.centre_err for c in dense]))
        res["dense_iou2d05"] = float(np.mean([(c.iou2d or 0.0) >= 0.5 for c in dense]))
        res["dense_points_route"] = float(np.mean([c.source == "points" for c in dense]))
        res["class_ok"] = float(np.mean([c.label_out == c.label for c in dense]))
    if sparse:
        errs = np.array([c.centre_err for c in sparse])
        res["sparse_within_tol"] = float((errs <= SPARSE_TOL).mean())
        res["sparse_median_err"] = float(np.median(errs))
        res["sparse_ground_ray"] = float(np.mean([c.source == "ground_ray" for c in sparse]))
    bare = [c for c in cases if c.stripped_source]
    if bare:
        rel = np.array([c.stripped_err / max(c.distance, 1.0) for c in bare])
        res["stripped_ground_ray"] = float(np.mean([c.stripped_source == "ground_ray" for c in bare]))
        res["stripped_median_err"] = float(np.nanmedian([c.stripped_err for c in bare]))
        res["stripped_rel_p90"] = float(np.nanpercentile(rel, 90))
        res["stripped_within_tol"] = float(np.mean([c.stripped_err <= SPARSE_TOL for c in bare]))
    fitted = [c for c in cases if c.source == "points"]
    for lo, hi in CONF_BINS:
        sel = [c for c in fitted if lo <= c.confidence < hi]
        res[f"conf_{lo:.1f}_n"] = float(len(sel))
        res[f"conf_{lo:.1f}_iou07"] = float(np.mean([c.iou >= 0.7 for c in sel])) if sel else float("nan")
    res["ms_mean"] = float(np.mean([c.ms for c in cases])) if cases else 0.0
    return res


#: confidence bins of the calibration table (fitted boxes: share with BEV IoU >= 0.7 per bin)
CONF_BINS = ((0.0, 0.3), (0.3, 0.6), (0.6, 0.8), (0.8, 1.01))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--frames", type=int, default=2)
    ap.add_argument("--classes", nargs="+", default=["car"])
    ap.add_argument("--no-class", action="store_true", help="let the fit guess the class")
    ap.add_argument("--no-strip", action="store_true", help="skip the runs with each object's points removed")
    ap.add_argument("--verbose", action="store_true", help="print every case")
    a = ap.parse_args()
    use_class = not a.no_class
    allc: list[Case] = []
    print(f"image-first boxes: seeds {a.seeds}, {a.frames} frames, 6 cameras, classes {a.classes}, "
          f"class {'given' if use_class else 'guessed'}")
    print(f"{'seed':>4} {'dense':>5} {'IoU>=0.6':>8} {'meanIoU':>7} {'2D>=0.5':>7} {'class':>5} "
          f"{'sparse':>6} {'<=3m':>5} {'med.err':>7} {'ms':>6}")
    for seed in a.seeds:
        cs = cases_of_scene(seed, a.frames, tuple(a.classes), use_class, strip=not a.no_strip)
        allc += cs
        s = summarize(cs, use_class)
        print(f"{seed:>4} {int(s['dense']):>5} {s.get('dense_iou06', float('nan')):>8.2f} "
              f"{s.get('dense_mean_iou', float('nan')):>7.2f} {s.get('dense_iou2d05', float('nan')):>7.2f} "
              f"{s.get('class_ok', float('nan')):>5.2f} {int(s['sparse']):>6} "
              f"{s.get('sparse_within_tol', float('nan')):>5.2f} {s.get('sparse_median_err', float('nan')):>7.2f} "
              f"{s['ms_mean']:>6.1f}")
        if a.verbose:
            for c in cs:
                print(f"     f{c.frame} {c.camera:<15} id {c.instance:>3} {c.points:>5} pts {c.distance:5.1f} m "
                      f"IoU {c.iou:.2f} err {c.centre_err:5.2f} 2D {c.iou2d if c.iou2d is None else round(c.iou2d, 2)} "
                      f"{c.source} {c.label_out} conf {c.confidence:.2f}")
    s = summarize(allc, use_class)
    print(f"dense: centre error median {s.get('dense_median_err', float('nan')):.2f} m")
    print("confidence of fitted boxes: " + ", ".join(
        f"[{lo:.1f}, {min(hi, 1.0):.1f}) {int(s[f'conf_{lo:.1f}_n'])} boxes, "
        f"{s[f'conf_{lo:.1f}_iou07']:.2f} with IoU >= 0.7"
        for lo, hi in CONF_BINS))
    if "stripped_ground_ray" in s:
        print(f"ground-ray fallback (each object's points removed): {s['stripped_ground_ray']:.2f} took it; "
              f"centre error median {s['stripped_median_err']:.2f} m, <= {SPARSE_TOL:.0f} m "
              f"{s['stripped_within_tol']:.2f}, p90 of error / distance {s['stripped_rel_p90']:.3f}")
    print(f" all {int(s['dense']):>5} {s.get('dense_iou06', float('nan')):>8.2f} "
          f"{s.get('dense_mean_iou', float('nan')):>7.2f} {s.get('dense_iou2d05', float('nan')):>7.2f} "
          f"{s.get('class_ok', float('nan')):>5.2f} {int(s['sparse']):>6} "
          f"{s.get('sparse_within_tol', float('nan')):>5.2f} {s.get('sparse_median_err', float('nan')):>7.2f} "
          f"{s['ms_mean']:>6.1f}")


if __name__ == "__main__":
    main()
