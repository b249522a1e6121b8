"""Point labels: accuracy of "fill from boxes" + "ground and road" against the generator's exact
per-point truth, and the memory / time of a long, fully labelled sequence.

Run: PYTHONPATH=. python benchmarks/bench_pointlabels.py [--seeds 0 1 2 3 4] [--frames 30]
     [--long-frames 200] [--skip-long]      (prints figures, asserts nothing)

Accuracy (per seed, every frame of a synthetic sequence): the ground-truth tracks are the boxes;
the labeler's actions are (1) fill from boxes, (2) ground and road, one command each, with the road
thresholds set once per sequence (15.75 m left / 5.25 m right of the ego's path: the ego drives in
the right lane of a 2 x 10.5 m carriageway). IoU per class over all points of the sequence;
``mIoU target`` over the object classes and ``ground`` (the flat classes merged), ``mIoU fine`` with
road and sidewalk apart. Structure (buildings, poles) is left unlabelled by these actions and is
not in either mean (its IoU is printed).

Memory / time: a ``--long-frames`` sequence of full sweeps (~113k points) fully labelled (fill,
ground on the known flat ground, the rest static.manmade: 3 commands on all frames): bytes of the
label arrays held plus the undo steps; the time of fill from boxes over every frame (sweeps in
memory, as in the window's frame cache), as wall time and as the process's CPU time (the shared
machine's load stretches the wall time; the work is single-threaded).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fusionlabel.assist.ground import flat_ground
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.pointlabels import UNLABELLED, ClassTable, PointEdit, PointLabels, SetPointLabels
from fusionlabel.pointlabels.classes import GROUND_CLASSES
from fusionlabel.pointlabels.tools import Sweeps, fill_from_boxes, ground_and_road
from fusionlabel.synth import SynthConfig, SynthScene
from fusionlabel.synth.semantics import sweep_semantics

ROAD_WIDTH = (15.75, 5.25)
OBJECTS = ("vehicle.car", "human.pedestrian.adult", "vehicle.bicycle")


def render(seed: int, frames: int) -> tuple[SynthScene, list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """World points (float32), sensor positions and the true classes of every frame's sweep."""
    sc = SynthScene(SynthConfig(frames=frames, seed=seed, cameras=0))
    table = ClassTable.default()
    pts, origins, truth = [], [], []
    for i in range(frames):
        fr = sc.frame(i, cameras=False)
        sw = fr.lidar["lidar_top"]
        T = fr.T_world_from_ego @ sc.rig.T("ego", "lidar_top")
        pts.append((sw.points[:, :3].astype(np.float64) @ T[:3, :3].T + T[:3, 3]).astype(np.float32))
        origins.append(T[:3, 3])
        truth.append(sweep_semantics(sw, T, sc.layout.objects, sc.layout.road, table))
    return sc, pts, np.array(origins), truth


def labelled_doc(sc: SynthScene, pts: list[np.ndarray]) -> tuple[AnnotationDocument, UndoStack]:
    doc = AnnotationDocument.from_tracks(sc.tracks(), len(pts))
    doc.attach_point_labels(PointLabels(frame_count=len(pts), point_count=lambda f: len(pts[f]), sensor="lidar_top"))
    return doc, UndoStack(doc)


def confusion(truth: list[np.ndarray], pred: list[np.ndarray]) -> np.ndarray:
    c = np.zeros((256, 256), dtype=np.int64)
    for t, p in zip(truth, pred, strict=True):
        c += np.bincount(t.astype(np.int64) * 256 + p, minlength=256 * 256).reshape(256, 256)
    return c


def iou(c: np.ndarray, members: list[int]) -> float:
    """IoU of the union of classes ``members`` (a merged class) from a 256 x 256 confusion matrix."""
    m = np.zeros(256, dtype=bool)
    m[members] = True
    tp = c[np.ix_(m, m)].sum()
    fp = c[np.ix_(~m, m)].sum()
    fn = c[np.ix_(m, ~m)].sum()
    return float(tp / (tp + fp + fn)) if tp + fp + fn else float("nan")


def accuracy(seed: int, frames: int) -> dict[str, float]:
    t0 = time.perf_counter()
    sc, pts, origins, truth = render(seed, frames)
    doc, stack = labelled_doc(sc, pts)
    sweeps = Sweeps(lambda f: pts[f], origins)
    t1 = time.perf_counter()
    stack.push(fill_from_boxes(doc, sweeps))
    t2 = time.perf_counter()
    stack.push(ground_and_road(doc, sweeps, road_width=ROAD_WIDTH, ground_class="flat.sidewalk"))
    t3 = time.perf_counter()
    table = doc.point_labels.table
    c = confusion(truth, [doc.point_labels.get(f).semantic for f in range(frames)])
    res = {name: iou(c, [table.index(name)]) for name in OBJECTS}
    res["ground"] = iou(c, [table.index(n) for n in GROUND_CLASSES])
    for name in ("flat.driveable_surface", "flat.sidewalk", "flat.terrain", "static.manmade.building",
                 "static.manmade.pole"):
        res[name] = iou(c, [table.index(name)])
    present = [n for n in OBJECTS if c[table.index(n)].sum()]
    res["mIoU target"] = float(np.mean([res[n] for n in (*present, "ground")]))
    res["mIoU fine"] = float(np.mean([res[n] for n in (*present, "flat.driveable_surface", "flat.sidewalk")]))
    res["actions"] = len(stack)
    res["unlabelled share"] = float(c[:, UNLABELLED].sum() / c.sum())
    print(f"seed {seed}: {frames} frames, {np.mean([len(p) for p in pts]):.0f} points/sweep, {len(doc)} tracks "
          f"(render {t1 - t0:.1f} s; fill {t2 - t1:.2f} s, ground and road {t3 - t2:.2f} s)")
    print("  " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in res.items()))
    return res


def long_sequence(frames: int) -> None:
    t0 = time.perf_counter()
    sc, pts, origins, _ = render(0, frames)
    doc, stack = labelled_doc(sc, pts)
    sweeps = Sweeps(lambda f: pts[f], origins)
    print(f"long sequence: {frames} frames, {np.mean([len(p) for p in pts]):.0f} points/sweep, {len(doc)} tracks "
          f"(rendered in {time.perf_counter() - t0:.0f} s; sweeps held {sum(p.nbytes for p in pts) / 2**20:.0f} MiB)")
    t, c = time.perf_counter(), time.process_time()
    fill = fill_from_boxes(doc, sweeps)
    stack.push(fill)
    t_fill, c_fill = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    ground = stack.push(ground_and_road(doc, sweeps, road_width=ROAD_WIDTH, ground_class="flat.sidewalk",
                                        ground_of=lambda f, p: flat_ground(0.0)))
    t_ground = time.perf_counter() - t
    labels = doc.point_labels
    rest = labels.table.index("static.manmade")
    edits = {}
    for f in range(frames):
        idx = np.flatnonzero(labels.get(f).semantic == UNLABELLED)
        if idx.size:
            edits[f] = PointEdit(idx, rest)
    rest_cmd = stack.push(SetPointLabels(edits, "Label the rest"))
    left = sum(int((labels.get(f).semantic == UNLABELLED).sum()) for f in range(frames))
    arrays = labels.nbytes()
    undo = sum(cmd.nbytes for cmd in (fill, ground, rest_cmd))  # type: ignore[attr-defined]
    print(f"  fill from boxes: {t_fill:.2f} s wall, {c_fill:.2f} s CPU ({c_fill / frames * 1e3:.1f} ms CPU per frame, "
          f"{fill.changed_points} points); ground and road (flat ground): {t_ground:.2f} s")
    print(f"  fully labelled ({left} points left): label arrays {arrays / 1e6:.1f} MB + undo {undo / 1e6:.1f} MB = "
          f"{(arrays + undo) / 1e6:.1f} MB of label state ({len(labels.held_frames())} frames held)")
    t = time.perf_counter()
    stack.undo_all()
    print(f"  undo of the 3 steps: {time.perf_counter() - t:.2f} s; "
          f"unlabelled again: {all((labels.get(f).semantic == UNLABELLED).all() for f in range(frames))}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4], help="none: only the long sequence")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--long-frames", type=int, default=200)
    ap.add_argument("--skip-long", action="store_true")
    a = ap.parse_args()
    rows = [accuracy(s, a.frames) for s in a.seeds]
    if rows:
        keys = [k for k in rows[0] if k != "actions"]
        print("mean over seeds: " + ", ".join(f"{k} {np.nanmean([r[k] for r in rows]):.4f}" for k in keys)
              + f"; actions per sequence {max(r['actions'] for r in rows)}")
    if not a.skip_long:
        long_sequence(a.long_frames)


if __name__ == "__main__":
    main()
