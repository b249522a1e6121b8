"""QA inputs and the self-contained HTML QA report.

* :func:`open_qa_source`: a project file (``formats.project``; the sequence it references is opened
  for the points and images) or any dataset (``formats.datasets.open_dataset``; its labels are
  checked) -> :class:`QASource` with the document, the loaded sequence, the raw label records
  (for the duplicate-id check) and the ontology.
* :func:`world_point_loader`: ``frame -> (N, 3)`` world-frame points of every LiDAR of the frame.
* :func:`render_html` / :func:`write_html_report`: one HTML file, no external resource: the check
  counts, the agreement table, inline SVG plots (findings per frame, IoU histogram) and JPEG
  thumbnails (base64) of the flagged frames: the first camera's image with the boxes projected
  through the calibration (``calib.projection.project_box_edges``), or a bird's-eye view of the
  points when the sequence has no camera.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from calib.projection import project_box_edges
from calib.transforms import transform_points
from formats.io import atomic_write_text
from fusionlabel import __version__
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.geometry import bev_polygons
from fusionlabel.ontology import Ontology, OntologyError
from fusionlabel.qa import (
    SEVERITIES,
    AgreementResult,
    LabelRecord,
    QAConfig,
    QAResult,
    SampledFrame,
    records_from_document_dict,
)
from fusionlabel.sequence import SensorSequence

PathLike = str | os.PathLike[str]
SEVERITY_COLORS = {"error": "#d62728", "warning": "#ff9f1c", "info": "#7f8c9a"}
THUMB_WIDTH = 480


# ---- inputs --------------------------------------------------------------------------------------
@dataclass
class QASource:
    """What ``fusionlabel qa`` / ``agree`` work on: the annotation ``document`` (world frame), the
    opened sequence (``formats.datasets.LoadedSequence``, or None when a project's sequence is
    missing), the raw label ``records`` (projects only), the ``ontology`` and notes for the user.
    ``renamed``: ids given to repeated track entries so that the project loads (new -> original)."""

    path: Path
    kind: str  # "project" or "dataset"
    document: AnnotationDocument
    loaded: SensorSequence | None
    ontology: Ontology
    records: list[LabelRecord] | None = None
    notes: list[str] = field(default_factory=list)
    renamed: dict[int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.loaded is not None:
            return f"{self.loaded.info.name} ({self.path.name})" if self.kind == "project" else self.loaded.info.name
        return self.path.name


def is_project_file(path: PathLike) -> bool:
    """The one project-file rule (``formats.source.is_project_file``)."""
    from formats.source import is_project_file as rule

    return rule(path)


def _ontology(name: str, base: Path, notes: list[str]) -> Ontology:
    if name == "default":
        return Ontology.default()
    candidate = Path(name) if Path(name).is_absolute() else base / name
    if candidate.is_file():
        try:
            return Ontology.load(candidate)
        except OntologyError as e:
            notes.append(f"ontology {name!r} unreadable ({e}); using the default ontology")
            return Ontology.default()
    notes.append(f"ontology {name!r} not found next to the project; using the default ontology")
    return Ontology.default()


def open_qa_source(path: PathLike, dataset_format: str | None = None, loaded: SensorSequence | None = None,
                   frame_mismatch: str = "error", **options: Any) -> QASource:
    """Open a project file or a dataset for QA through ``formats.source.open_source`` (one
    project-file rule, one frame-count rule: a project whose frame count differs from its
    sequence's is a ``FrameCountError`` unless ``frame_mismatch="sequence"``). Dataset
    ``options`` go to the reader; ``loaded``: the dataset at ``path`` already opened. A project
    whose sequence is missing is checked without points (a note says so); one whose document
    repeats a track id (merged or hand-edited) loads with the repeats renumbered; the duplicates
    are in ``records`` for the duplicate-id check."""
    from formats.source import open_source

    p = Path(path)
    if loaded is not None and not is_project_file(p):
        doc = loaded.annotations
        notes: list[str] = []
        _set_times(doc, loaded, notes)
        return QASource(p, "dataset", doc, loaded, Ontology.default(), None, notes + list(loaded.warnings))
    src = open_source(p, dataset_format, options, frame_mismatch=frame_mismatch, require_sequence=False,
                      renumber_duplicates=True)
    notes = list(src.notes)
    if src.project is None:
        _set_times(src.document, src.sequence, notes)
        return QASource(p, "dataset", src.document, src.sequence, Ontology.default(), None, notes)
    raw = src.project_dict or {}
    records = records_from_document_dict(raw.get("document", {}))
    onto = _ontology(src.project.ontology, p.parent, notes)
    return QASource(p, "project", src.document, src.sequence, onto, records, notes, src.renamed)


def _set_times(doc: AnnotationDocument, loaded: SensorSequence, notes: list[str]) -> None:
    if doc.frame_times_ns is not None:
        return
    try:
        doc.set_frame_times(loaded.info.frame_times_ns())
    except ModelError as e:
        notes.append(f"frame times not used ({e}): uniform frames assumed")


def world_point_loader(loaded: SensorSequence) -> Callable[[int], NDArray[np.float64] | None]:
    """``load(frame)``: (N, 3) float64 world-frame points of every LiDAR of ``frame`` (None when
    the frame has no sweep)."""

    def load(frame: int) -> NDArray[np.float64] | None:
        if not 0 <= frame < len(loaded.info.frames):
            return None
        parts = []
        for name in loaded.info.frames[frame].lidar_files:
            pc = loaded.read_lidar(frame, name)
            if pc is not None and len(pc.xyz):
                parts.append(transform_points(loaded.T_world_from_sensor(frame, name), pc.xyz))
        return np.concatenate(parts) if parts else None

    return load


# ---- thumbnails ----------------------------------------------------------------------------------
def _rgb_to_jpeg_b64(rgb: NDArray[np.uint8], quality: int = 85) -> str:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def _draw_boxes(
    out: NDArray[np.uint8], polylines: Sequence[tuple[int, str, list[NDArray[np.int32]], bool]],
    flagged: Mapping[int, str], onto: Ontology,
) -> NDArray[np.uint8]:
    """Draw ``(track_id, label, [int (M, 1, 2) pixel polylines], closed)``: unflagged boxes thin and
    half-transparent in their class colour, flagged ones on top, thick, in their severity colour on a
    white halo, with their track id."""
    overlay = out.copy()
    for tid, label, polys, closed in polylines:
        if tid not in flagged:
            cv2.polylines(overlay, polys, closed, onto.color(label), 1, cv2.LINE_AA)
    out = cv2.addWeighted(overlay, 0.6, out, 0.4, 0.0)
    for tid, _, polys, closed in polylines:
        if tid in flagged and polys:
            color = _hex_rgb(SEVERITY_COLORS[flagged[tid]])
            cv2.polylines(out, polys, closed, (255, 255, 255), 4, cv2.LINE_AA)
            cv2.polylines(out, polys, closed, color, 2, cv2.LINE_AA)
            allp = np.concatenate([q.reshape(-1, 2) for q in polys])
            x, y = int(allp[:, 0].min()), int(allp[:, 1].min()) - 4
            y = max(y, 12)
            cv2.putText(out, f"#{tid}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 3, cv2.LINE_AA)
            cv2.putText(out, f"#{tid}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
    return out


def _hex_rgb(h: str) -> tuple[int, int, int]:
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


def camera_thumbnail(
    loaded: SensorSequence, frame: int, camera: str, boxes: Sequence[tuple[int, str, Box3D]],
    flagged: Mapping[int, str], onto: Ontology, width: int = THUMB_WIDTH, doc: AnnotationDocument | None = None,
) -> NDArray[np.uint8] | None:
    """The camera image of ``frame`` scaled to ``width`` px with every box's edges drawn (flagged
    track ids in their severity colour, thicker) at the image's capture time (``doc``: the document
    whose tracks move, default the sequence's; ``formats.timing.capture_pose``), or None when the
    image is missing."""
    from formats.timing import capture_pose

    img = loaded.read_image(frame, camera)
    if img is None:
        return None
    h0, w0 = img.shape[:2]
    s = width / w0
    out = np.ascontiguousarray(cv2.resize(img, (width, max(1, round(h0 * s))), interpolation=cv2.INTER_LINEAR))
    cam = loaded.rig(frame).camera(camera)
    T_cam_from_world, ct = capture_pose(loaded, frame, camera, doc)
    lines = []
    for tid, label, box in boxes:
        corners = box.corners() if ct is None else ct.corners_at([tid], box.corners())[0]
        corners_cam = transform_points(T_cam_from_world, corners)
        polys = [np.round((poly + 0.5) * s - 0.5).astype(np.int32).reshape(-1, 1, 2)
                 for _, poly in project_box_edges(corners_cam, cam)]
        lines.append((tid, label, polys, False))
    return _draw_boxes(out, lines, flagged, onto)


def bev_thumbnail(
    points_world: NDArray[np.floating] | None, center_xy: Sequence[float], boxes: Sequence[tuple[int, str, Box3D]],
    flagged: Mapping[int, str], onto: Ontology, size: int = 360, extent_m: float = 50.0,
) -> NDArray[np.uint8]:
    """A bird's-eye view (``size`` px square, ``extent_m`` metres each side of ``center_xy``, world
    x to the right, world y up) of the points (grey by height) and the box footprints."""
    out = np.full((size, size, 3), 18, dtype=np.uint8)
    s = size / (2 * extent_m)
    cx, cy = float(center_xy[0]), float(center_xy[1])
    if points_world is not None and len(points_world):
        p = np.asarray(points_world, dtype=float)
        u = ((p[:, 0] - cx) * s + size / 2).astype(np.int64)
        v = (size / 2 - (p[:, 1] - cy) * s).astype(np.int64)
        ok = (u >= 0) & (u < size) & (v >= 0) & (v < size)
        shade = np.clip(90 + (p[ok, 2] - np.percentile(p[:, 2], 5)) * 60, 60, 230).astype(np.uint8)
        out[v[ok], u[ok]] = shade[:, None]
    lines = []
    if boxes:
        for (tid, label, _), poly in zip(boxes, bev_polygons([b for _, _, b in boxes]), strict=True):
            uv = np.stack([(poly[:, 0] - cx) * s + size / 2, size / 2 - (poly[:, 1] - cy) * s], axis=1)
            lines.append((tid, label, [np.round(uv).astype(np.int32).reshape(-1, 1, 2)], True))
    out = _draw_boxes(out, lines, flagged, onto)
    cv2.circle(out, (size // 2, size // 2), 3, (80, 200, 255), -1)
    return out


def frame_thumbnail(src: QASource, frame: int, flagged: Mapping[int, str]) -> tuple[str, str] | None:
    """(base64 JPEG, caption) of a flagged frame: the first camera with projected boxes, else the BEV."""
    loaded = src.loaded
    if loaded is None:
        return None
    try:
        boxes = [(r.track_id, r.label, r.box) for r in src.document.boxes_at(frame)]
    except ModelError:  # a frame beyond the document's frame count
        boxes = []
    cams = loaded.info.camera_names
    if cams:
        img = camera_thumbnail(loaded, frame, cams[0], boxes, flagged, src.ontology, doc=src.document)
        if img is not None:
            return _rgb_to_jpeg_b64(img), cams[0]
    pts = world_point_loader(loaded)(frame)
    lidars = loaded.info.lidar_names
    T = loaded.T_world_from_sensor(frame, lidars[0]) if lidars else loaded.info.T_world_from_ego(frame)
    return _rgb_to_jpeg_b64(bev_thumbnail(pts, T[:2, 3], boxes, flagged, src.ontology)), "bird's-eye view"


# ---- SVG plots -----------------------------------------------------------------------------------
def svg_findings_per_frame(result: QAResult, width: int = 900, height: int = 200) -> str:
    """Stacked bars (error / warning / info) of the findings per frame."""
    n = max(result.frames, 1)
    per = result.per_frame()
    top = max((sum(v.values()) for v in per.values()), default=0)
    top = max(top, 1)
    ml, mb, mt = 40, 28, 10
    pw, ph = width - ml - 10, height - mb - mt
    bw = pw / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="findings per frame">',
             f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>']
    for k in range(5):
        val = top * k / 4
        y = mt + ph - ph * k / 4
        parts.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{ml - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{val:.3g}</text>')
    for f, counts in per.items():
        y = mt + ph
        for sev in SEVERITIES:
            c = counts[sev]
            if not c:
                continue
            h = ph * c / top
            y -= h
            parts.append(f'<rect x="{ml + f * bw + 0.1 * bw:.2f}" y="{y:.2f}" width="{max(0.8 * bw, 1):.2f}" '
                         f'height="{h:.2f}" fill="{SEVERITY_COLORS[sev]}"><title>frame {f}: {c} {sev}</title></rect>')
    step = max(1, math.ceil(n / 20))
    for f in range(0, n, step):
        parts.append(f'<text x="{ml + (f + 0.5) * bw:.1f}" y="{mt + ph + 14}" font-size="10" '
                     f'text-anchor="middle">{f}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 2}" font-size="11" text-anchor="middle">frame</text></svg>')
    return "".join(parts)


def svg_iou_histogram(ious: Sequence[float], threshold: float, width: int = 440, height: int = 200,
                      bins: int = 10) -> str:
    """Histogram of the IoU of matched pairs over [threshold, 1]."""
    lo = float(threshold)
    edges = np.linspace(lo, 1.0, bins + 1)
    counts, _ = np.histogram(np.clip(np.asarray(ious, dtype=float), lo, 1.0), bins=edges) if len(ious) else \
        (np.zeros(bins, dtype=int), edges)
    top = max(int(counts.max()) if len(counts) else 0, 1)
    ml, mb, mt = 40, 28, 10
    pw, ph = width - ml - 10, height - mb - mt
    bw = pw / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="IoU histogram">',
             f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>']
    for k in range(5):
        y = mt + ph - ph * k / 4
        parts.append(f'<text x="{ml - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{top * k / 4:.3g}</text>')
    for i, c in enumerate(counts.tolist()):
        h = ph * c / top
        parts.append(f'<rect x="{ml + i * bw + 1:.2f}" y="{mt + ph - h:.2f}" width="{bw - 2:.2f}" height="{h:.2f}" '
                     f'fill="#1f77b4"><title>IoU {edges[i]:.2f}-{edges[i + 1]:.2f}: {c}</title></rect>')
    for i in range(0, bins + 1, 2):
        parts.append(f'<text x="{ml + i * bw:.1f}" y="{mt + ph + 14}" font-size="10" '
                     f'text-anchor="middle">{edges[i]:.2f}</text>')
    parts.append(f'<text x="{ml + pw / 2}" y="{height - 2}" font-size="11" text-anchor="middle">IoU of matched '
                 'pairs</text></svg>')
    return "".join(parts)


# ---- HTML ----------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:13px} table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right} th{background:#f3f3f3}
td.l,th.l{text-align:left} .badge{display:inline-block;padding:3px 10px;border-radius:12px;color:#fff;
margin-right:6px;font-weight:600;font-size:13px} .error{background:#d62728}.warning{background:#ff9f1c}
.info{background:#7f8c9a} .zero{color:#bbb} .thumbs{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;width:480px} figure img{width:480px;display:block;border:1px solid #ccc}
figcaption{font-size:12px;color:#444;margin-top:4px} figcaption ul{margin:2px 0 0 16px;padding:0}
.sev-error{color:#d62728;font-weight:600}.sev-warning{color:#c77700}.sev-info{color:#7f8c9a}
table.checks td:nth-child(n+2):nth-child(-n+4){width:56px}
.note{background:#fff8e1;border:1px solid #f0d48a;padding:6px 10px;font-size:13px;margin:6px 0}
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _num(v: float | None, digits: int = 3) -> str:
    return "&ndash;" if v is None else f"{v:.{digits}f}"


def _flagged_frames(result: QAResult, limit: int) -> list[int]:
    weight = {"error": 100, "warning": 10, "info": 1}
    score: dict[int, int] = {}
    for f in result.findings:
        if f.frame is not None and f.severity != "info":
            score[f.frame] = score.get(f.frame, 0) + weight[f.severity]
    return sorted(score, key=lambda k: (-score[k], k))[:limit]  # worst first


def render_html(
    result: QAResult,
    src: QASource | None = None,
    agreement: AgreementResult | None = None,
    agreement_names: tuple[str, str] = ("A", "B"),
    config: QAConfig | None = None,
    sampled: Sequence[SampledFrame] | None = None,
    max_thumbnails: int = 12,
    max_rows: int = 1000,
    title: str = "QA report",
) -> str:
    """The report as one HTML string (no external resource; see the module doc)."""
    cfg = config or QAConfig.default()
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    name = src.name if src is not None else ""
    sev = result.by_severity()
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>{_e(title)} {_e(name)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}: {_e(name)}</h1>",
           f"<div class='meta'>{result.frames} frames, {result.tracks} tracks, {result.boxes} boxes &middot; "
           f"generated {now} by fusionlabel {__version__}"
           + (f" &middot; {_e(src.path)}" if src is not None else "") + "</div><p>"]
    out += [f"<span class='badge {s}'>{sev[s]} {s}{'s' if sev[s] != 1 else ''}</span>" for s in SEVERITIES]
    out.append("</p>")
    for note in (src.notes if src is not None else []):
        out.append(f"<div class='note'>{_e(note)}</div>")
    # check counts
    out.append("<h2>Checks</h2><table class='checks'><tr><th class='l'>check</th>"
               + "".join(f"<th>{s}</th>" for s in SEVERITIES) + "<th class='l'>what it looks for</th></tr>")
    counts = result.counts()
    for check in cfg.check_names():
        desc = cfg.data["checks"][check].get("description", "")
        if check in result.skipped:
            out.append(f"<tr><td class='l'>{_e(check)}</td><td colspan='3' class='l zero'>skipped: "
                       f"{_e(result.skipped[check])}</td><td class='l'>{_e(desc)}</td></tr>")
            continue
        if check not in counts:
            out.append(f"<tr><td class='l'>{_e(check)}</td><td colspan='3' class='l zero'>disabled</td>"
                       f"<td class='l'>{_e(desc)}</td></tr>")
            continue
        cells = "".join(f"<td class='{'' if counts[check][s] else 'zero'}'>{counts[check][s]}</td>" for s in SEVERITIES)
        out.append(f"<tr><td class='l'>{_e(check)}</td>{cells}<td class='l'>{_e(desc)}</td></tr>")
    out.append("</table>")
    out.append("<h2>Findings per frame</h2>" + svg_findings_per_frame(result))
    # agreement
    if agreement is not None:
        a = agreement.to_dict()
        out.append(f"<h2>Agreement: {_e(agreement_names[1])} against {_e(agreement_names[0])}</h2>")
        out.append(f"<div class='meta'>matching by {a['iou_mode'].upper()} IoU &ge; {a['threshold']:g} "
                   f"(Hungarian, per frame) over {a['frames']} frames</div>")
        out.append("<table><tr><th class='l'>class</th><th>TP</th><th>FP</th><th>FN</th><th>precision</th>"
                   "<th>recall</th><th>mean IoU</th></tr>")
        for label, c in a["per_class"].items():
            out.append(f"<tr><td class='l'>{_e(label)}</td><td>{c['tp']}</td><td>{c['fp']}</td><td>{c['fn']}</td>"
                       f"<td>{_num(c['precision'])}</td><td>{_num(c['recall'])}</td><td>{_num(c['mean_iou'])}</td></tr>")
        out.append(f"<tr><th class='l'>all</th><th>{a['tp']}</th><th>{a['fp']}</th><th>{a['fn']}</th>"
                   f"<th>{_num(a['precision'])}</th><th>{_num(a['recall'])}</th><th>{_num(a['mean_iou'])}</th></tr>"
                   "</table>")
        out.append(f"<p>boxes {_e(agreement_names[0])}: {a['boxes_a']}, {_e(agreement_names[1])}: {a['boxes_b']}; "
                   f"matched pairs {a['matched']}; label mismatches {a['label_mismatches']}; "
                   f"id switches <b>{a['id_switches']}</b>; MOTA {_num(a['mota'])}; heading error mean "
                   f"{_num(a['heading_error_deg']['mean'])}, p95 {_num(a['heading_error_deg']['p95'])} degrees; "
                   f"heading flips (&gt; 90 degrees) <b>{a['heading_flips']['count']}</b></p>")
        out.append(svg_iou_histogram(agreement.ious(), agreement.threshold))
    # sampled frames
    if sampled:
        out.append("<h2>Frames to review</h2><table><tr><th>frame</th><th>risk</th><th class='l'>why</th></tr>")
        for sf in sampled:
            why = "random spot check" if sf.random and not sf.reasons else "; ".join(sf.reasons[:6])
            more = f" (+{len(sf.reasons) - 6} more)" if len(sf.reasons) > 6 else ""
            out.append(f"<tr><td>{sf.frame}</td><td>{sf.risk:.1f}</td><td class='l'>{_e(why)}{more}</td></tr>")
        out.append("</table>")
    # thumbnails
    frames = _flagged_frames(result, max_thumbnails)
    if frames:
        out.append("<h2>Flagged frames</h2><div class='thumbs'>")
        for f in frames:
            fs = [x for x in result.findings if x.frame == f and x.severity != "info"]
            flagged: dict[int, str] = {}
            for x in sorted(fs, key=lambda x: SEVERITIES.index(x.severity), reverse=True):
                if x.track_id is not None:
                    flagged[x.track_id] = x.severity
            thumb = frame_thumbnail(src, f, flagged) if src is not None else None
            items = "".join(f"<li class='sev-{x.severity}'>{_e(x.check)}"
                            + (f" #{x.track_id}" if x.track_id is not None else "") + f": {_e(x.message)}</li>"
                            for x in fs[:8])
            if len(fs) > 8:
                items += f"<li>... {len(fs) - 8} more</li>"
            img = f"<img alt='frame {f}' src='data:image/jpeg;base64,{thumb[0]}'>" if thumb else \
                "<div class='note'>no image or points for this frame</div>"
            cap = f"frame {f}" + (f" &middot; {_e(thumb[1])}" if thumb else "")
            out.append(f"<figure>{img}<figcaption><b>{cap}</b><ul>{items}</ul></figcaption></figure>")
        out.append("</div>")
    # findings table
    out.append(f"<h2>Findings ({len(result.findings)})</h2><table><tr><th class='l'>severity</th><th class='l'>check"
               "</th><th>frame</th><th>track</th><th class='l'>message</th><th>location (world, m)</th></tr>")
    for x in result.findings[:max_rows]:
        loc = "" if x.location is None else ", ".join(f"{v:.2f}" for v in x.location)
        out.append(f"<tr><td class='l sev-{x.severity}'>{x.severity}</td><td class='l'>{_e(x.check)}</td>"
                   f"<td>{'' if x.frame is None else x.frame}</td><td>{'' if x.track_id is None else x.track_id}</td>"
                   f"<td class='l'>{_e(x.message)}</td><td>{loc}</td></tr>")
    out.append("</table>")
    if len(result.findings) > max_rows:
        out.append(f"<p class='meta'>{len(result.findings) - max_rows} more findings not listed (see --json)</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html_report(path: PathLike, result: QAResult, src: QASource | None = None, **kwargs: Any) -> Path:
    """Render (:func:`render_html`) and write the report atomically; returns the path."""
    p = Path(path)
    atomic_write_text(p, render_html(result, src, **kwargs))
    return p
