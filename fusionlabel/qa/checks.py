"""Automatic consistency checks of an annotation document.

:func:`run_checks` takes the document, the sequence description (frame times, LiDAR poses; may be
None) and a point loader ``load_points(frame) -> (N, >=3) world-frame points or None`` (may be
None: the point-based checks are then skipped) and returns a :class:`QAResult` of
:class:`Finding` s. Checks (names as in ``qa_defaults.json``):

* ``empty_box`` / ``few_points``: LiDAR points inside the box (all sweeps of the frame).
* ``size_range``: a side outside the class's size prior (ontology) widened by ``slack``. A label
  that is a KITTI type or nuScenes category (imported data) uses the class it maps to.
* ``size_change``: a keyframe's size differs from the track's median size (rigid objects keep it).
* ``speed``: centre speed between consecutive frames above the class's ``max_speed_mps``. Speed
  and acceleration are skipped when every ego pose of ``info`` is the identity (a sequence without
  poses: world motion would include the ego's own) unless ``require_ego_poses`` is false.
* ``acceleration``: second difference of the centre over ``window_s``, above ``max_accel_mps2``
  (a one-frame jump of d metres at 10 Hz with a 0.3 s window reads 2d / 0.09 m/s^2).
* ``heading_flip``: yaw change between consecutive frames above ``max_change_deg``.
* ``overlap``: two boxes of a frame with 3D IoU >= ``min_iou`` (error from ``error_iou``).
* ``ground``: the box bottom more than ``tolerance_m`` above (floating) or below (sunk) the local
  ground: the ``percentile`` of z of the points in a ring ``inner_m`` .. ``outer_m`` around the
  footprint, points inside any box left out, only points up to ``min(h / 2, search_above_m)``
  above the bottom (walls next to the object are not ground; a box sunk deeper is not seen).
* ``track_gap``: a track absent for some frames between its first and last box.
* ``lidar_range``: box centre farther than ``max_range_m`` (bird's-eye) from the first LiDAR.
* ``duplicate_id``: two label records with one id in one frame; needs the raw records
  (:func:`records_from_document_dict`), since a document cannot hold duplicates.
* ``attributes``: required attribute missing (the check's severity); unknown class or value not
  allowed (warning); attribute not declared by the class (info). Names in ``ignore`` are skipped.
  Labels that are a dataset's own names (mapped to a class) are not held to the ontology's attributes.

Every finding has a world-frame ``location`` (x, y, z, metres) to jump to when it concerns a box.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import boxes_to_array, iou_3d_matrix, points_in_boxes
from fusionlabel.model import SequenceInfo, Track
from fusionlabel.ontology import ClassSpec, Ontology
from fusionlabel.qa.config import SEVERITIES, QAConfig

F64 = NDArray[np.float64]
#: ``load_points(frame)``: (N, >=3) points in the world frame (metres), or None when the frame has none.
PointLoader = Callable[[int], "NDArray[np.floating] | None"]
Location = tuple[float, float, float]


@dataclass(frozen=True)
class Finding:
    """One problem: the ``check`` that found it, ``severity`` (error / warning / info), the track
    and frame concerned (None when not about one), a readable ``message``, a world-frame
    ``location`` (x, y, z, metres) to jump to, and the measured figures in ``details``."""

    check: str
    severity: str
    message: str
    track_id: int | None = None
    frame: int | None = None
    location: Location | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "track_id": self.track_id,
            "frame": self.frame,
            "message": self.message,
            "location": None if self.location is None else [round(v, 4) for v in self.location],
            "details": dict(self.details),
        }


@dataclass
class QAResult:
    """Findings (sorted by frame, track, check) and what was checked."""

    findings: list[Finding]
    frames: int
    tracks: int
    boxes: int
    checks_run: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # check -> why it did not run

    def counts(self) -> dict[str, dict[str, int]]:
        """check -> severity -> number of findings (every check run appears, with zeros)."""
        out = {c: dict.fromkeys(SEVERITIES, 0) for c in self.checks_run}
        for f in self.findings:
            out.setdefault(f.check, dict.fromkeys(SEVERITIES, 0))[f.severity] += 1
        return out

    def by_severity(self) -> dict[str, int]:
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in SEVERITIES}

    def per_frame(self) -> dict[int, dict[str, int]]:
        """frame -> severity -> count, for findings that have a frame."""
        out: dict[int, dict[str, int]] = {}
        for f in self.findings:
            if f.frame is not None:
                out.setdefault(f.frame, dict.fromkeys(SEVERITIES, 0))[f.severity] += 1
        return dict(sorted(out.items()))

    def select(self, check: str | None = None, severity: str | None = None, track_id: int | None = None,
               frame: int | None = None) -> list[Finding]:
        return [
            f for f in self.findings
            if (check is None or f.check == check) and (severity is None or f.severity == severity)
            and (track_id is None or f.track_id == track_id) and (frame is None or f.frame == frame)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "tracks": self.tracks,
            "boxes": self.boxes,
            "by_severity": self.by_severity(),
            "counts": self.counts(),
            "skipped": dict(self.skipped),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class LabelRecord:
    """One raw label (before it becomes a track): frame, track id, class and world centre."""

    frame: int
    track_id: int
    label: str = ""
    center: Location | None = None


# ---- raw data helpers ----------------------------------------------------------------------------
def records_from_document_dict(data: Mapping[str, Any]) -> list[LabelRecord]:
    """Label records of a document dict (``AnnotationDocument.to_dict`` layout, possibly merged
    or hand-edited so that two track entries share an id): one record per entry and frame of its
    keyframe span (keyframes give the centre). Malformed entries are skipped (the loader reports them)."""
    out = []
    for td in data.get("tracks", []) if isinstance(data, Mapping) else []:
        if not isinstance(td, Mapping) or not isinstance(td.get("keyframes"), Mapping):
            continue
        tid, label = td.get("id"), td.get("label", "")
        frames = {}
        for k, bd in td["keyframes"].items():
            try:
                frames[int(k)] = tuple(float(v) for v in bd["center"])
            except (TypeError, ValueError, KeyError):
                continue
        if not isinstance(tid, int) or not frames:
            continue
        first, last = min(frames), max(frames)
        for f in range(first, last + 1):
            out.append(LabelRecord(f, tid, str(label), frames.get(f)))  # type: ignore[arg-type]
    return out


def dedupe_document_dict(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[int, int]]:
    """A copy of a document dict whose repeated track ids are renumbered (later entries get fresh
    ids above the largest), so that it loads; returns it and ``{new id: original id}``."""
    d = dict(data)
    tracks = [dict(t) if isinstance(t, Mapping) else t for t in d.get("tracks", [])]
    ids = [t.get("id") for t in tracks if isinstance(t, dict) and isinstance(t.get("id"), int)]
    next_id = max(ids, default=-1) + 1
    seen: set[int] = set()
    renamed: dict[int, int] = {}
    for t in tracks:
        if not isinstance(t, dict) or not isinstance(t.get("id"), int):
            continue
        if t["id"] in seen:
            renamed[next_id] = t["id"]
            t["id"] = next_id
            next_id += 1
        seen.add(t["id"])
    d["tracks"] = tracks  # reviews keep pointing at the original id, i.e. the first entry
    return d, renamed


# ---- the checks ----------------------------------------------------------------------------------
@dataclass
class _Ctx:
    doc: AnnotationDocument
    info: SequenceInfo | None
    onto: Ontology
    cfg: QAConfig
    times_s: list[float] | None
    out: list[Finding]

    def add(self, check: str, message: str, track_id: int | None = None, frame: int | None = None,
            location: Iterable[float] | None = None, severity: str | None = None, **details: Any) -> None:
        loc = None if location is None else tuple(round(float(v), 6) for v in location)
        self.out.append(Finding(check, severity or self.cfg.severity(check), message, track_id, frame,
                                loc, details))  # type: ignore[arg-type]

    def dt(self, f0: int, f1: int) -> float:
        if self.times_s is not None and f1 < len(self.times_s) and f0 < len(self.times_s):
            return self.times_s[f1] - self.times_s[f0]
        return (f1 - f0) * self.cfg.default_frame_dt_s


def _frame_count(doc: AnnotationDocument, info: SequenceInfo | None) -> int:
    if info is not None and len(info.frames):
        return len(info.frames)
    if doc.frame_count is not None:
        return doc.frame_count
    return 1 + max((t.span()[1] for t in doc.tracks.values() if t.span() is not None), default=-1)


def _track_boxes(doc: AnnotationDocument, t: Track) -> dict[int, Box3D]:
    frames = list(t.frames())
    boxes = t.boxes_at(frames, doc.frame_times_ns)
    return {f: b for f, b in zip(frames, boxes, strict=True) if b is not None}


def _runs(frames: Sequence[int]) -> list[list[int]]:
    """Consecutive-frame runs of sorted frames."""
    out: list[list[int]] = []
    for f in frames:
        if out and f == out[-1][-1] + 1:
            out[-1].append(f)
        else:
            out.append([f])
    return out


def _check_sizes(ctx: _Ctx, t: Track) -> None:
    spec = class_of(ctx.onto, t.label)
    prior = None if spec is None else spec.size
    if ctx.cfg.enabled("size_range") and prior is not None:
        slack = float(ctx.cfg.param("size_range", "slack"))
        for f, b in sorted({**t.tracked, **t.keyframes}.items()):
            if not prior.contains(b.size, slack):
                sides = [n for n, v, lo, hi in zip("lwh", b.size, prior.min, prior.max, strict=True)
                         if not lo * (1 - slack) <= v <= hi * (1 + slack)]
                ctx.add("size_range", f"{t.label} size {_fmt(b.size)} m outside {_fmt(prior.min)}..{_fmt(prior.max)} "
                        f"({', '.join(sides)})", t.track_id, f, b.center, size=list(b.size),
                        min=list(prior.min), max=list(prior.max))
    placed = {**t.tracked, **t.keyframes}  # the boxes placed by a person or the tracker (keyframes win)
    if ctx.cfg.enabled("size_change") and len(placed) >= 2:
        sizes = np.array([b.size for b in placed.values()])
        med = np.median(sizes, axis=0)
        rel, abs_tol = float(ctx.cfg.param("size_change", "rel_tol")), float(ctx.cfg.param("size_change", "abs_tol_m"))
        for f, b in sorted(placed.items()):
            d = np.abs(np.array(b.size) - med)
            bad = (d > rel * med) & (d > abs_tol)
            if bad.any():
                ctx.add("size_change", f"size {_fmt(b.size)} m differs from the track's median {_fmt(med)} m",
                        t.track_id, f, b.center, size=list(b.size), median=[float(v) for v in med])


def _check_motion(ctx: _Ctx, t: Track, boxes: dict[int, Box3D], skipped: Mapping[str, str]) -> None:
    spec = class_of(ctx.onto, t.label)
    name = t.label if spec is None else spec.name
    max_v = ctx.cfg.class_limit(name, "max_speed_mps")
    max_a = ctx.cfg.class_limit(name, "max_accel_mps2")
    flip = math.radians(float(ctx.cfg.param("heading_flip", "max_change_deg")))
    do_speed, do_accel, do_flip = (ctx.cfg.enabled(c) and c not in skipped for c in ("speed", "acceleration",
                                                                                      "heading_flip"))
    for run in _runs(sorted(boxes)):
        c = np.array([boxes[f].center for f in run])
        for i in range(1, len(run)):
            f0, f1 = run[i - 1], run[i]
            b0, b1 = boxes[f0], boxes[f1]
            dt = ctx.dt(f0, f1)
            if do_speed and dt > 0:
                v = float(np.linalg.norm(c[i] - c[i - 1])) / dt
                if v > max_v:
                    ctx.add("speed", f"{t.label} moves {v:.1f} m/s between frames {f0} and {f1} "
                            f"(max {max_v:g} m/s): track jump?", t.track_id, f1, b1.center,
                            speed_mps=round(v, 3), max_speed_mps=max_v, from_frame=f0)
            if do_flip:
                dyaw = abs(math.remainder(b1.yaw - b0.yaw, 2 * math.pi))
                if dyaw > flip:
                    ctx.add("heading_flip", f"heading turns {math.degrees(dyaw):.0f} deg between frames {f0} and "
                            f"{f1}", t.track_id, f1, b1.center, yaw_change_deg=round(math.degrees(dyaw), 2),
                            from_frame=f0)
        if not do_accel or len(run) < 3:
            continue
        dt_med = float(np.median([ctx.dt(a, b) for a, b in zip(run, run[1:], strict=False)]))
        h = max(1, round(float(ctx.cfg.param("acceleration", "window_s")) / dt_med)) if dt_med > 0 else 1
        h = min(h, (len(run) - 1) // 2)
        for i in range(h, len(run) - h):
            ta, tb = ctx.dt(run[i - h], run[i]), ctx.dt(run[i], run[i + h])
            if ta <= 0 or tb <= 0:
                continue
            va, vb = (c[i] - c[i - h]) / ta, (c[i + h] - c[i]) / tb
            a = float(np.linalg.norm(vb - va)) / (0.5 * (ta + tb))
            if a > max_a:
                f = run[i]
                ctx.add("acceleration", f"{t.label} accelerates {a:.1f} m/s^2 at frame {f} (max {max_a:g}): "
                        "track jump?", t.track_id, f, boxes[f].center, accel_mps2=round(a, 3), max_accel_mps2=max_a)


def _check_gaps(ctx: _Ctx, t: Track) -> None:
    for first, last in t.gaps:
        span = t.span()
        if span is None or last < span[0] or first > span[1]:
            continue
        before = t.box_at(first - 1, ctx.doc.frame_times_ns) if first > 0 else None
        after = t.box_at(last + 1, ctx.doc.frame_times_ns)
        ref = before or after
        loc = None
        if before is not None and after is not None:
            loc = tuple((a + b) / 2 for a, b in zip(before.center, after.center, strict=True))
        elif ref is not None:
            loc = ref.center
        n = last - first + 1
        ctx.add("track_gap", f"track absent in frame{'s' if n > 1 else ''} {first}" + (f"..{last}" if n > 1 else ""),
                t.track_id, (first + last) // 2, loc, first=first, last=last)


def class_of(onto: Ontology, label: str) -> ClassSpec | None:
    """The ontology class of a track label: the class of that name, else the class a KITTI type or
    a nuScenes category maps to (imported datasets keep their own names), else None."""
    return onto.get(label) or onto.from_nuscenes(label) or onto.from_kitti(label)


def _check_attributes(ctx: _Ctx, t: Track, boxes: dict[int, Box3D]) -> None:
    f0 = min(boxes) if boxes else None
    loc = boxes[f0].center if f0 is not None else None
    if ctx.onto.get(t.label) is None:
        if class_of(ctx.onto, t.label) is None:
            ctx.add("attributes", f"{t.label}: unknown class {t.label!r}", t.track_id, f0, loc, severity="warning")
        return  # a dataset's own name (KITTI / nuScenes): its attributes are not the ontology's
    ignore = set(ctx.cfg.param("attributes", "ignore"))
    attrs = {k: v for k, v in t.attributes.items() if k not in ignore}
    for problem in ctx.onto.check_attributes(t.label, attrs):
        if problem.startswith("missing required"):
            sev = ctx.cfg.severity("attributes")
        elif "is not declared" in problem:
            sev = "info"
        else:
            sev = "warning"
        ctx.add("attributes", f"{t.label}: {problem}", t.track_id, f0, loc, severity=sev)


def _ground_z(free_pts: F64, tree: cKDTree, box: Box3D, inner: float, outer: float, pct: float,
              min_points: int, above: float) -> tuple[float | None, int]:
    """Low percentile of z of the free points (in no box; ``tree`` indexes their x, y) in the ring
    around the footprint, between 3 m below the box bottom and ``min(h / 2, above)`` above it."""
    cx, cy, cz = box.center
    l, w, h = box.size
    bottom = cz - h / 2
    top = bottom + min(h / 2, above)  # higher points are more likely walls or other objects than ground
    idx = np.asarray(tree.query_ball_point((cx, cy), math.hypot(l / 2 + outer, w / 2 + outer)), dtype=np.intp)
    if len(idx) < min_points:
        return None, len(idx)
    p = free_pts[idx]
    p = p[(p[:, 2] <= top) & (p[:, 2] > bottom - 3.0)]
    dx, dy = p[:, 0] - cx, p[:, 1] - cy
    cs, sn = math.cos(box.yaw), math.sin(box.yaw)
    x = cs * dx + sn * dy
    y = -sn * dx + cs * dy
    in_outer = (np.abs(x) <= l / 2 + outer) & (np.abs(y) <= w / 2 + outer)
    in_inner = (np.abs(x) <= l / 2 + inner) & (np.abs(y) <= w / 2 + inner)
    z = p[in_outer & ~in_inner, 2]
    if len(z) < min_points:
        return None, len(z)
    return float(np.percentile(z, pct)), len(z)


def _lidar_origin(info: SequenceInfo | None, frame: int) -> F64 | None:
    if info is None or frame >= len(info.frames):
        return None
    names = info.lidar_names
    T = info.T_world_from_sensor(frame, names[0]) if names else info.T_world_from_ego(frame)
    return np.asarray(T[:3, 3], dtype=float)


def _check_frame(ctx: _Ctx, frame: int, refs: list[tuple[int, str, Box3D]], load_points: PointLoader | None,
                 skipped: dict[str, str]) -> None:
    if not refs:
        return
    boxes = [b for _, _, b in refs]
    arr = boxes_to_array(boxes)
    cfg = ctx.cfg
    # overlap
    if cfg.enabled("overlap") and len(refs) > 1:
        iou = iou_3d_matrix(arr, arr)
        lo, hi = float(cfg.param("overlap", "min_iou")), float(cfg.param("overlap", "error_iou"))
        ii, jj = np.nonzero(np.triu(iou >= lo, k=1))
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            v = float(iou[i, j])
            loc = tuple((a + b) / 2 for a, b in zip(boxes[i].center, boxes[j].center, strict=True))
            ctx.add("overlap", f"{refs[i][1]} {refs[i][0]} overlaps {refs[j][1]} {refs[j][0]} (3D IoU {v:.2f})",
                    refs[i][0], frame, loc, severity="error" if v >= hi else None, other_track_id=refs[j][0],
                    iou=round(v, 4))
    # range
    origin = _lidar_origin(ctx.info, frame)
    if cfg.enabled("lidar_range") and origin is not None:
        rmax = float(cfg.param("lidar_range", "max_range_m"))
        d = np.hypot(arr[:, 0] - origin[0], arr[:, 1] - origin[1])
        for k in np.flatnonzero(d > rmax).tolist():
            tid, label, b = refs[k]
            ctx.add("lidar_range", f"{label} {float(d[k]):.1f} m from the LiDAR (range {rmax:g} m)", tid, frame,
                    b.center, distance_m=round(float(d[k]), 3))
    # point-based checks
    want = [c for c in ("empty_box", "few_points", "ground") if cfg.enabled(c)]
    if not want:
        return
    pts = None if load_points is None else load_points(frame)
    if pts is None:
        for c in want:
            skipped.setdefault(c, "no LiDAR points" if load_points is not None else "no point loader")
        return
    pts = np.asarray(pts, dtype=float)[:, :3]
    pts = pts[np.isfinite(pts).all(axis=1)]
    inside = points_in_boxes(pts, arr)  # (boxes, points), one pass for the counts and the free points
    if cfg.enabled("empty_box") or cfg.enabled("few_points"):
        counts = inside.sum(axis=1)
        min_pts = int(cfg.param("few_points", "min_points"))
        for k, n in enumerate(counts.tolist()):
            tid, label, b = refs[k]
            if n == 0 and cfg.enabled("empty_box"):
                ctx.add("empty_box", f"{label} box has no LiDAR point", tid, frame, b.center, points=0)
            elif 0 < n < min_pts and cfg.enabled("few_points"):
                ctx.add("few_points", f"{label} box has only {n} LiDAR point{'s' if n > 1 else ''} (< {min_pts})",
                        tid, frame, b.center, points=n)
    if cfg.enabled("ground"):
        free_pts = pts[~inside.any(axis=0)]
        tree = cKDTree(free_pts[:, :2])
        tol = float(cfg.param("ground", "tolerance_m"))
        args = (float(cfg.param("ground", "inner_m")), float(cfg.param("ground", "outer_m")),
                float(cfg.param("ground", "percentile")), int(cfg.param("ground", "min_points")),
                float(cfg.param("ground", "search_above_m")))
        for tid, label, b in refs:
            gz, n = _ground_z(free_pts, tree, b, *args)
            if gz is None:
                continue
            bottom = b.center[2] - b.size[2] / 2
            off = bottom - gz
            if abs(off) > tol:
                what = f"floats {off:.2f} m above" if off > 0 else f"is sunk {-off:.2f} m into"
                gz_txt = f"{round(gz, 2) + 0.0:.2f}"  # no "-0.00"
                ctx.add("ground", f"{label} {what} the local ground (z {gz_txt} m from {n} points)", tid, frame,
                        (b.center[0], b.center[1], bottom), offset_m=round(off, 4), ground_z=round(gz, 4))


def check_duplicate_ids(records: Iterable[LabelRecord], config: QAConfig | None = None) -> list[Finding]:
    """``duplicate_id`` findings: one per (frame, track id) that has more than one record."""
    groups: dict[tuple[int, int], list[LabelRecord]] = defaultdict(list)
    for r in records:
        groups[(r.frame, r.track_id)].append(r)
    out = []
    sev = (config or QAConfig.default()).severity("duplicate_id")
    for (f, tid), rs in sorted(groups.items()):
        if len(rs) > 1:
            loc = next((r.center for r in rs if r.center is not None), None)
            labels = ", ".join(sorted({r.label for r in rs}))
            out.append(Finding("duplicate_id", sev, f"track id {tid} used by {len(rs)} boxes in frame {f} ({labels})",
                               tid, f, loc, {"count": len(rs)}))
    return out


def run_checks(
    doc: AnnotationDocument,
    info: SequenceInfo | None = None,
    load_points: PointLoader | None = None,
    ontology: Ontology | None = None,
    config: QAConfig | None = None,
    records: Iterable[LabelRecord] | None = None,
    frames: Iterable[int] | None = None,
    point_labels: Any = None,
    point_sweeps: Any = None,
) -> QAResult:
    """Run every enabled check (see the module doc) on ``doc``.

    ``info``: frame times and LiDAR poses (None: uniform ``default_frame_dt_s`` and no range check);
    ``load_points(frame)``: world-frame points (N, >=3) or None; ``records``: raw label records for
    the duplicate-id check; ``frames``: limit the per-frame checks to these frames.
    ``point_labels`` (a ``fusionlabel.pointlabels.PointLabels``) with ``point_sweeps`` (the
    labelled LiDAR's ``Sweeps``): also the point-label checks ``point_class``, ``point_instance``
    and ``point_unlabelled`` (:func:`point_label_findings`) on the
    frames that have point labels.
    """
    cfg = config or QAConfig.default()
    onto = ontology or Ontology.default()
    times = doc.frame_times_ns
    if times is None and info is not None and len(info.frames):
        times = tuple(info.frame_times_ns())
    times_s = None if times is None else [(t - times[0]) * 1e-9 for t in times]
    ctx = _Ctx(doc, info, onto, cfg, times_s, [])
    n = _frame_count(doc, info)
    skipped: dict[str, str] = {}
    if info is not None and len(info.frames) > 1 and not info.has_ego_poses():
        for c in ("speed", "acceleration"):
            if cfg.enabled(c) and cfg.param(c, "require_ego_poses"):
                skipped[c] = ("no common world across frames (independent frames, or every ego pose is the "
                              "identity: no poses): world motion would include the ego's own "
                              "(set require_ego_poses false for a static sensor)")
    per_frame: dict[int, list[tuple[int, str, Box3D]]] = defaultdict(list)
    nboxes = 0
    for tid in doc.track_ids():
        t = doc.track(tid)
        boxes = _track_boxes(doc, t)
        nboxes += len(boxes)
        for f, b in boxes.items():
            per_frame[f].append((tid, t.label, b))
        _check_sizes(ctx, t)
        _check_motion(ctx, t, boxes, skipped)
        if cfg.enabled("track_gap"):
            _check_gaps(ctx, t)
        if cfg.enabled("attributes"):
            _check_attributes(ctx, t, boxes)
    wanted = set(range(n)) | set(per_frame) if frames is None else {int(f) for f in frames}
    for f in sorted(wanted):
        _check_frame(ctx, f, per_frame.get(f, []), load_points, skipped)
    point_checks: list[str] = []
    if point_labels is not None and point_sweeps is not None:
        found, point_checks = point_label_findings(doc, point_labels, point_sweeps, cfg, frames=frames,
                                                   ontology=onto)
        ctx.out.extend(found)
    if info is None and cfg.enabled("lidar_range"):
        skipped["lidar_range"] = "no sequence description (LiDAR poses)"
    if cfg.enabled("duplicate_id"):
        if records is None:
            skipped["duplicate_id"] = "no raw label records (a loaded document cannot hold duplicate ids)"
        else:
            ctx.out.extend(check_duplicate_ids(records, cfg))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings = sorted(ctx.out, key=lambda x: (x.frame if x.frame is not None else -1,
                                              x.track_id if x.track_id is not None else -1,
                                              order[x.severity], x.check, x.message))
    run = [c for c in cfg.check_names() if cfg.enabled(c) and c not in skipped
           and (not c.startswith("point_") or c in point_checks)]
    return QAResult(findings, n, len(doc), nboxes, run, skipped)


def point_label_findings(doc: AnnotationDocument, labels: Any, sweeps: Any, config: QAConfig, *,
                         frames: Iterable[int] | None = None, ontology: Any = None) -> tuple[list[Finding], list[str]]:
    """The point-label issues (:func:`fusionlabel.pointlabels.qa.check_point_labels` of
    ``labels``, a ``PointLabels``, on ``sweeps``, the labelled LiDAR's ``Sweeps``) as findings of
    the checks ``QA_CHECKS`` enabled in ``config`` (severity and ``min_points`` from it), and the
    names of the checks run. Frames without point labels are not checked."""
    from fusionlabel.pointlabels.qa import QA_CHECKS, check_point_labels

    run = [c for c in QA_CHECKS.values() if config.enabled(c)]
    if not run:
        return [], []
    if frames is not None:  # frames without point labels have nothing to check
        frames = [f for f in frames if labels.has(int(f))]
    issues = check_point_labels(
        doc, labels, sweeps, frames=frames, ontology=ontology,
        min_points=int(min((config.param(c, "min_points") for c in ("point_class", "point_instance")
                            if config.enabled(c)), default=1)),
        min_unlabelled=int(config.param("point_unlabelled", "min_points")) if config.enabled("point_unlabelled")
        else None)
    out = []
    for i in issues:
        check = QA_CHECKS[i.kind]
        if not config.enabled(check) or i.points < int(config.param(check, "min_points")):
            continue
        out.append(Finding(check, config.severity(check), f"frame {i.frame}: {i.message}", i.track_id, i.frame,
                           i.location, {"points": i.points, "instance": i.instance}))
    return out, run


def _fmt(v: Iterable[float]) -> str:
    return "x".join(f"{float(x):.2f}" for x in v)
