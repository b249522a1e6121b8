"""Bird's-eye-view (BEV) products of a labelled sequence: raster layers and vector polygons.

The grid (see ``docs/bev.md``; the same text goes into every export's ``README.md``)
--------------------------------------------------------------------------------------
A square of ``2 * range_m`` metres centred on the ego origin, ``size = round(2 * range_m /
resolution)`` cells per side, in the *BEV frame*:

* ``axes="ego"`` (default): the ego frame (x forward, y left, z up) of that frame.
* ``axes="world"``: the world axes, origin moved to the ego origin (no rotation): north-up maps.

Rows run along -x, columns along -y: row 0 is the far front (x = +range), column 0 the far left
(y = +range), so the image looks like a map seen from above with the vehicle heading up. Cell
``(row i, col j)`` covers ``x in [R - (i+1) r, R - i r]``, ``y in [R - (j+1) r, R - j r]`` (R the
range, r the resolution); its centre is ``x = R - (i + 0.5) r``, ``y = R - (j + 0.5) r``. Pixel
coordinates ``(u, v) = (col, row)`` of a point follow the pixel-centre convention of the cameras:
``u = (R - y) / r - 0.5``, ``v = (R - x) / r - 0.5``. The ego origin sits at the corner between
cells ``size/2 - 1`` and ``size/2``. ``T_world_from_bev`` (4x4) is stored per frame.

Layers (per frame)
------------------
* ``coverage`` (C, H, W) uint8: share of each cell covered by boxes of class c, 0..255 (255 =
  fully covered), from ``supersample`` x ``supersample`` samples per cell (default 4: steps of 1/16).
* ``occupancy`` (C, H, W) bool: coverage >= 1/2 (the binary footprint; its IoU with the exact box
  rectangle is >= 0.95 at 0.1 m for vehicles, see the tests and docs/bev.md).
* ``instance`` (H, W) int32: track id of the box covering most of the cell (at least half), -1 where none.
* ``map_layers`` (4, H, W) bool, only when the document has map elements: drivable area, lane
  dividers, pedestrian crossings, road boundaries (names in ``map_classes``; ``formats.maps.bev``).
* ``height`` (H, W) float32: highest LiDAR point per cell, metres along the BEV frame's z (above
  the ego origin); NaN where no point fell. ``density`` (H, W) uint16: points per cell.

Vectors: per box, the BEV rectangle (metres and pixels), class, track id, centre, size, yaw, and the
velocity (world frame, m/s, central difference of the track's box centres at the neighbouring frames
over their timestamps; one-sided at a track end; null for a single box) also expressed in the BEV
frame's axes (the object's motion over the ground, not relative to the moving ego).
"""

from __future__ import annotations

import colorsys
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from calib.transforms import invert, make_transform, transform_points
from formats.errors import FormatError
from formats.pointlabels import bev_point_semantic
from fusionlabel.document import AnnotationDocument
from fusionlabel.geometry import bev_polygons
from fusionlabel.ontology import Ontology
from fusionlabel.sequence import SensorSequence

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]
ProgressFn = Callable[[int, int], None]

AXES = ("ego", "world")
BEV_FORMAT = "fusionlabel-bev"
BEV_VERSION = 1
#: Heights (m, BEV frame z) mapped to PNG values 1..255 (0 = no point).
DEFAULT_HEIGHT_RANGE = (-2.0, 4.0)


@dataclass(frozen=True)
class BEVGrid:
    """The square grid: half extent ``range_m`` (m) and cell size ``resolution`` (m)."""

    range_m: float = 51.2
    resolution: float = 0.2

    def __post_init__(self) -> None:
        if not (self.range_m > 0 and math.isfinite(self.range_m)):
            raise ValueError(f"BEV range must be positive, got {self.range_m}")
        if not (self.resolution > 0 and math.isfinite(self.resolution)):
            raise ValueError(f"BEV resolution must be positive, got {self.resolution}")
        if self.size < 1 or self.size > 20000:
            raise ValueError(f"BEV grid of {self.size} cells per side (range {self.range_m} m, "
                             f"resolution {self.resolution} m) is out of bounds 1..20000")

    @property
    def size(self) -> int:
        """Cells per side (H = W)."""
        return int(round(2.0 * self.range_m / self.resolution))

    @property
    def extent(self) -> float:
        """Half extent actually covered (size * resolution / 2), metres."""
        return int(round(2.0 * self.range_m / self.resolution)) * self.resolution / 2.0

    def to_pixel(self, xy: F64) -> F64:
        """(N, 2) BEV-frame x, y metres -> (N, 2) pixel (u = col, v = row), pixel-centre convention."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        R, r = self.extent, self.resolution
        return np.stack([(R - xy[:, 1]) / r - 0.5, (R - xy[:, 0]) / r - 0.5], axis=1)

    def cell_of(self, xy: F64) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        """(N, 2) x, y metres -> (rows, cols, inside) of the cells they fall in."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        R, r = self.extent, self.resolution
        rows = np.floor((R - xy[:, 0]) / r).astype(np.int64)
        cols = np.floor((R - xy[:, 1]) / r).astype(np.int64)
        inside = (rows >= 0) & (rows < self.size) & (cols >= 0) & (cols < self.size)
        return rows, cols, inside

    def cell_centers(self) -> tuple[F64, F64]:
        """x of each row's centre (H,) and y of each column's centre (W,), metres."""
        c = self.extent - (np.arange(self.size) + 0.5) * self.resolution
        return c, c.copy()


def polygon_coverage(poly: F64, grid: BEVGrid, supersample: int = 4) -> tuple[int, int, F64]:
    """Share of each cell covered by a convex counter-clockwise polygon (K, 2) in BEV metres.

    Returns ``(row0, col0, frac)`` with ``frac`` (h, w) float64 in [0, 1] for the block of cells
    starting at ``(row0, col0)`` (clipped to the grid; an empty block when outside)."""
    poly = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    R, r, n, s = grid.extent, grid.resolution, grid.size, int(supersample)
    i0 = max(int(np.floor((R - poly[:, 0].max()) / r)), 0)
    i1 = min(int(np.floor((R - poly[:, 0].min()) / r)), n - 1)
    j0 = max(int(np.floor((R - poly[:, 1].max()) / r)), 0)
    j1 = min(int(np.floor((R - poly[:, 1].min()) / r)), n - 1)
    if i1 < i0 or j1 < j0:
        return 0, 0, np.zeros((0, 0))
    sub = (np.arange(s) + 0.5) / s
    xs = R - (np.arange(i0, i1 + 1)[:, None] + sub[None, :]).reshape(-1) * r  # (h*s,)
    ys = R - (np.arange(j0, j1 + 1)[:, None] + sub[None, :]).reshape(-1) * r  # (w*s,)
    inside = np.ones((xs.size, ys.size), dtype=bool)
    for k in range(len(poly)):
        ax, ay = poly[k]
        bx, by = poly[(k + 1) % len(poly)]
        inside &= ((bx - ax) * (ys[None, :] - ay) - (by - ay) * (xs[:, None] - ax)) >= 0.0
    h, w = i1 - i0 + 1, j1 - j0 + 1
    frac = inside.reshape(h, s, w, s).sum(axis=(1, 3)) / float(s * s)
    return i0, j0, frac


def resolve_class(ontology: Ontology, label: str) -> Any:
    """The ontology class of a label: by its own name, else as a KITTI type ("Car"), else as a
    nuScenes category ("vehicle.car"); None when none matches."""
    return ontology.get(label) or ontology.from_kitti(label) or ontology.from_nuscenes(label)


def class_color(ontology: Ontology, label: str) -> tuple[int, int, int]:
    """RGB colour of a label through :func:`resolve_class` (the ontology's unknown colour else)."""
    spec = resolve_class(ontology, label)
    return ontology.color(label) if spec is None else tuple(spec.color)


def track_color(track_id: int) -> tuple[int, int, int]:
    """A stable, saturated RGB colour for a track id (golden-ratio hues)."""
    hue = (track_id * 0.6180339887498949) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


@dataclass
class BEVFrame:
    """The BEV products of one frame (see the module docstring for every array)."""

    index: int
    timestamp_ns: int
    axes: str
    grid: BEVGrid
    classes: list[str]
    T_world_from_bev: F64
    coverage: NDArray[np.uint8]
    occupancy: NDArray[np.bool_]
    instance: NDArray[np.int32]
    height: NDArray[np.float32]
    density: NDArray[np.uint16]
    T_bev_from_ego: F64 = field(default_factory=lambda: np.eye(4))
    objects: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _velocity(doc: AnnotationDocument, track_id: int, frame: int, times: Sequence[int]) -> F64 | None:
    """World-frame velocity (3,) m/s of a track at ``frame`` from its boxes at frame -1/+1."""
    here = doc.box_at(track_id, frame)
    prev = doc.box_at(track_id, frame - 1) if frame > 0 else None
    nxt = doc.box_at(track_id, frame + 1) if frame + 1 < len(times) else None
    if here is None or (prev is None and nxt is None):
        return None
    a, fa = (prev.box, frame - 1) if prev is not None else (here.box, frame)
    b, fb = (nxt.box, frame + 1) if nxt is not None else (here.box, frame)
    dt = (times[fb] - times[fa]) * 1e-9
    if dt <= 0:
        return None
    return (np.asarray(b.center) - np.asarray(a.center)) / dt


def bev_pose(T_world_from_ego: F64, axes: str) -> F64:
    """``T_world_from_bev``, the pose of the BEV grid's axes: the ego pose (``axes="ego"``) or its
    translation only (``"world"``)."""
    if axes == "ego":
        return np.asarray(T_world_from_ego, dtype=np.float64)
    if axes == "world":
        return make_transform(None, np.asarray(T_world_from_ego)[:3, 3])
    raise ValueError(f"BEV axes must be one of {AXES}, got {axes!r}")


def bev_frame(loaded: SensorSequence, index: int, grid: BEVGrid, classes: Sequence[str], axes: str = "ego",
              supersample: int = 4, points: bool = True) -> BEVFrame:
    """Compute the BEV layers and vectors of frame ``index`` of ``loaded`` (a LoadedSequence).

    ``classes`` orders the class layers (labels not in it are skipped and reported)."""
    info = loaded.info
    doc: AnnotationDocument = loaded.annotations
    fi = info.frames[index]
    T_world_from_bev = bev_pose(fi.T_world_from_ego, axes)
    T_bev_from_world = invert(T_world_from_bev)
    n = grid.size
    C = len(classes)
    cls_index = {c: k for k, c in enumerate(classes)}
    cov = np.zeros((C, n, n), dtype=np.float32)
    best = np.full((n, n), 0.5 - 1e-12)
    instance = np.full((n, n), -1, dtype=np.int32)
    times = info.frame_times_ns()
    refs = doc.boxes_at(index)
    boxes_bev = [r.box.transformed(T_bev_from_world) for r in refs]
    polys = bev_polygons(boxes_bev) if refs else np.zeros((0, 4, 2))
    R_bev_from_world = T_bev_from_world[:3, :3]
    objects: list[dict[str, Any]] = []
    skipped: list[tuple[str, str]] = []
    for ref, box, poly in zip(refs, boxes_bev, polys, strict=True):
        what = f"frame {index} track {ref.track_id}"
        if ref.label not in cls_index:
            skipped.append((what, f"class {ref.label!r} not among the BEV classes"))
            continue
        i0, j0, frac = polygon_coverage(poly, grid, supersample)
        if frac.size == 0 or not frac.any():
            skipped.append((what, "outside the BEV range"))
            continue
        h, w = frac.shape
        k = cls_index[ref.label]
        block = cov[k, i0:i0 + h, j0:j0 + w]
        np.minimum(block + frac, 1.0, out=block)
        win = frac > best[i0:i0 + h, j0:j0 + w]
        best[i0:i0 + h, j0:j0 + w][win] = frac[win]
        instance[i0:i0 + h, j0:j0 + w][win] = ref.track_id
        v_world = _velocity(doc, ref.track_id, index, times)
        objects.append({
            "track_id": ref.track_id,
            "label": ref.label,
            "is_keyframe": bool(ref.is_keyframe),
            "polygon": np.round(poly, 4).tolist(),
            "polygon_px": np.round(grid.to_pixel(poly), 3).tolist(),
            "center": np.round(box.center, 4).tolist(),
            "size": np.round(box.size, 4).tolist(),
            "yaw": round(box.yaw, 6),
            "velocity_world": None if v_world is None else np.round(v_world, 4).tolist(),
            "velocity_bev": None if v_world is None else np.round(R_bev_from_world @ v_world, 4).tolist(),
        })
    height = np.full((n, n), np.nan, dtype=np.float32)
    density = np.zeros((n, n), dtype=np.uint16)
    if points:
        for name in info.rig.lidar_names():
            pc = loaded.read_lidar(index, name)
            if pc is None or len(pc.xyz) == 0:
                continue
            T = (T_bev_from_world @ loaded.T_world_from_sensor(index, name)).astype(np.float32)
            pts = pc.xyz.astype(np.float32, copy=False) @ T[:3, :3].T + T[:3, 3]
            rows, cols, inside = grid.cell_of(pts[:, :2])
            flat = rows[inside] * n + cols[inside]
            z = pts[inside, 2].astype(np.float32)
            hf = height.reshape(-1)
            cur = np.full(n * n, -np.inf, dtype=np.float32)
            np.maximum.at(cur, flat, z)
            seen = np.isfinite(cur)
            hf[seen] = np.fmax(hf[seen], cur[seen])
            cnt = np.bincount(flat, minlength=n * n)
            df = density.reshape(-1)
            df[:] = np.minimum(df.astype(np.int64) + cnt, np.iinfo(np.uint16).max).astype(np.uint16)
    coverage = np.round(cov * 255.0).astype(np.uint8)
    occupancy = cov >= 0.5
    return BEVFrame(index, int(fi.timestamp_ns), axes, grid, list(classes), T_world_from_bev, coverage, occupancy,
                    instance, height, density, T_bev_from_world @ fi.T_world_from_ego, objects, skipped)


# ---- images ----------------------------------------------------------------------------------------
def height_png(height: NDArray[np.float32], height_range: tuple[float, float] = DEFAULT_HEIGHT_RANGE
               ) -> NDArray[np.uint8]:
    """Height map -> 8-bit: 0 no point, 1..255 linear over ``height_range`` metres (clipped)."""
    lo, hi = height_range
    out = np.zeros(height.shape, dtype=np.uint8)
    ok = np.isfinite(height)
    out[ok] = 1 + np.round(np.clip((height[ok] - lo) / (hi - lo), 0.0, 1.0) * 254.0).astype(np.uint8)
    return out


def instance_png(instance: NDArray[np.int32]) -> NDArray[np.uint8]:
    """Instance map -> (H, W, 3) RGB: each track id its :func:`track_color`, black background."""
    out = np.zeros((*instance.shape, 3), dtype=np.uint8)
    idx = np.flatnonzero(instance >= 0)
    if idx.size:
        ids, inv = np.unique(instance.reshape(-1)[idx], return_inverse=True)
        palette = np.array([track_color(int(t)) for t in ids], dtype=np.uint8).reshape(-1, 3)
        out.reshape(-1, 3)[idx] = palette[inv]
    return out


def composite_png(bf: BEVFrame, ontology: Ontology, height_range: tuple[float, float] = DEFAULT_HEIGHT_RANGE
                  ) -> NDArray[np.uint8]:
    """A preview (H, W, 3) RGB: LiDAR heights in grey, class footprints in class colours, box
    outlines with a heading tick, the ego position as a white triangle."""
    g = height_png(bf.height, height_range)
    grey = np.where(g > 0, 40 + (g.astype(np.uint16) * 3) // 5, 0).astype(np.uint8)
    img = np.repeat(grey[..., None], 3, axis=2)
    for k, c in enumerate(bf.classes):
        m = bf.coverage[k] > 0
        if m.any():
            a = bf.coverage[k][m].astype(np.float32)[:, None] / 255.0 * 0.55
            img[m] = (img[m] * (1 - a) + np.array(class_color(ontology, c), dtype=np.float32) * a).astype(np.uint8)
    scale = 4  # sub-pixel drawing precision for cv2 (shift = 2)
    for ob in bf.objects:
        col = class_color(ontology, ob["label"])
        px = np.round((np.asarray(ob["polygon_px"]) + 0.5) * scale - 0.5).astype(np.int32)
        cv2.polylines(img, [px], True, col, 1, cv2.LINE_AA, shift=2)
        front = (px[0] + px[1]) // 2
        mid = px.mean(axis=0).astype(np.int32)
        cv2.line(img, tuple(mid), tuple(front), col, 1, cv2.LINE_AA, shift=2)
    # ego marker: a triangle pointing along the ego heading
    tri = transform_points(bf.T_bev_from_ego, np.array([[2.5, 0.0, 0.0], [-1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]]))
    px = np.round((bf.grid.to_pixel(tri[:, :2]) + 0.5) * scale - 0.5).astype(np.int32)
    cv2.fillPoly(img, [px], (255, 255, 255), cv2.LINE_AA, shift=2)
    return img


def _png(path: Path, img: NDArray[np.generic]) -> None:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise FormatError(path, "PNG encoding failed")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())


# ---- the export ------------------------------------------------------------------------------------
README = """# BEV products ({name})

Written by `fusionlabel export-bev` ({frames} frames from `{source}`, format {source_format}).

## Layout

```
README.md                         this file
meta.json                         grid, classes, colours, per-frame index (times, poses, files)
npz/<frame:06d>.npz               all raster layers of a frame (numpy.load)
png/occupancy/<class>/<frame:06d>.png   8-bit, 255 where the class covers >= half of the cell
png/height/<frame:06d>.png        8-bit, 0 = no LiDAR point, 1..255 = {h0} .. {h1} m (linear, clipped)
png/instance/<frame:06d>.png      RGB, one colour per track id (meta.json "track_colors"), black = none
png/composite/<frame:06d>.png     preview: heights in grey, class footprints, box outlines, ego
vectors/<frame:06d>.json          one entry per box: polygon, class, track id, velocity
```

## Grid

* Frame: **{frame}**. {frame_text}
* Resolution {res} m per cell; range +-{rng} m; {n} x {n} cells (H = W).
* Rows run along -x and columns along -y: row 0 is the far front (x = +{rng} m), column 0 the far
  left (y = +{rng} m); the picture is a map seen from above with +x up and +y to the left.
* Cell (row i, col j) covers x in [R - (i+1) r, R - i r] and y in [R - (j+1) r, R - j r]
  (R = {rng}, r = {res}); its centre is x = R - (i + 0.5) r, y = R - (j + 0.5) r.
* Pixel coordinates `polygon_px` are (u, v) = (column, row) with pixel centres on integers:
  u = (R - y) / r - 0.5, v = (R - x) / r - 0.5. The ego origin is the corner between cells
  {half_m1} and {half}.
* `T_world_from_bev` (meta.json frames[i] and each npz) maps BEV-frame points (metres) to the world.

## NPZ arrays (per frame)

| key | shape, dtype | meaning |
|---|---|---|
| `classes` | (C,) str | class of each layer: {classes} |
| `occupancy` | (C, H, W) bool | class covers at least half of the cell |
| `coverage` | (C, H, W) uint8 | covered share of the cell x 255 ({ss} x {ss} samples per cell) |
| `instance` | (H, W) int32 | track id of the box covering most of the cell (>= half), -1 none |
| `height` | (H, W) float32 | highest LiDAR point, metres along the BEV frame z; NaN = no point |
| `density` | (H, W) uint16 | LiDAR points per cell |
| `point_semantic` | (H, W) uint8 | point labels: the cell's majority class (`point_classes`), 255 none |
| `T_world_from_bev` | (4, 4) float64 | pose of the BEV frame in the world |
| `resolution`, `range`, `timestamp_ns`, `frame` | scalars | as above; time in integer ns |

## Vectors (`vectors/<frame>.json`)

`objects`: per box `track_id`, `label`, `is_keyframe`, `polygon` (4 x [x, y] metres in the BEV
frame, counter-clockwise from the front-right corner: front-right, front-left, rear-left,
rear-right), `polygon_px` (same corners in pixels), `center` [x, y, z] m, `size` [length, width,
height] m and `yaw` rad in the BEV frame, `velocity_world` [vx, vy, vz] m/s in the world frame
(central difference of the track's box centres at the neighbouring frames over their timestamps;
one-sided at a track end; null for a one-box track), `velocity_bev` the same vector in the BEV
frame's axes (motion over the ground, not relative to the moving ego). Boxes outside the grid or of
a class not listed are left out (listed in meta.json `skipped`).
"""

_FRAME_TEXT = {
    "ego": "The ego frame of each frame: x forward, y left, z up, origin at the ego origin.",
    "world": "World-aligned axes (x, y, z of the sequence's world frame) with the origin moved to the "
             "ego origin of each frame (a translation, no rotation).",
}


def bev_classes(doc: AnnotationDocument, ontology: Ontology) -> list[str]:
    """The labels present in ``doc``: those the ontology knows (by name, KITTI or nuScenes name;
    see :func:`resolve_class`) in ontology order, then unknown labels (sorted)."""
    order = {c: k for k, c in enumerate(ontology.class_names())}
    present = {t.label for t in doc.tracks.values()}
    rank = {lb: order[spec.name] for lb in present if (spec := resolve_class(ontology, lb)) is not None}
    return sorted(rank, key=lambda lb: (rank[lb], lb)) + sorted(present - set(rank))


def write_bev(loaded: SensorSequence, dst: PathLike, *, range_m: float = 51.2, resolution: float = 0.2,
              axes: str = "ego",
              classes: Sequence[str] | None = None, ontology: Ontology | None = None, supersample: int = 4,
              height_range: tuple[float, float] = DEFAULT_HEIGHT_RANGE, png: bool = True,
              overwrite: bool = False, progress: ProgressFn | None = None, **options: Any) -> Any:
    """Write the BEV products of every frame of ``loaded`` into the folder ``dst``.

    The folder is written under a temporary sibling name and renamed when complete; ``dst`` must
    not exist or be empty unless ``overwrite``. Returns a ``formats.export.summary.ConvertSummary``."""
    from formats.export.summary import ConvertSummary

    if axes not in AXES:
        raise ValueError(f"BEV axes must be one of {AXES}, got {axes!r}")
    if not height_range[1] > height_range[0]:
        raise ValueError(f"height range must be increasing, got {height_range}")
    grid = BEVGrid(float(range_m), float(resolution))
    ontology = ontology or Ontology.default()
    doc: AnnotationDocument = loaded.annotations
    cls = list(classes) if classes is not None else bev_classes(doc, ontology)
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or (any(dst.iterdir()) and not overwrite)):
        raise FormatError(dst, "exists and is not an empty folder (use overwrite / --force to replace it)")
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    summary = ConvertSummary(outputs=[str(dst)])
    frames_meta = []
    colors: dict[str, int | list[int]] = {}
    n = len(loaded.info.frames)
    map_els = [doc.map_elements[k] for k in sorted(doc.map_elements)]  # map layers (formats.maps.bev)
    try:
        for i in range(n):
            bf = bev_frame(loaded, i, grid, cls, axes, supersample)
            stem = f"{i:06d}"
            extra: dict[str, Any] = {}
            if map_els:
                from formats.maps.bev import MAP_LAYERS, map_layers

                extra = {"map_layers": map_layers(map_els, bf.T_world_from_bev, grid),
                         "map_classes": np.array(MAP_LAYERS, dtype=str)}
            # point labels, when the sequence has them: the majority class per cell (formats.pointlabels)
            sem = bev_point_semantic(loaded, i, grid, invert(bf.T_world_from_bev))
            if sem is not None:
                extra["point_semantic"] = sem
            save_npz(_mk(tmp / "npz") / f"{stem}.npz", classes=np.array(cls, dtype=str), occupancy=bf.occupancy,
                     coverage=bf.coverage, instance=bf.instance, height=bf.height, density=bf.density,
                     T_world_from_bev=bf.T_world_from_bev, resolution=grid.resolution, range=grid.extent,
                     timestamp_ns=np.int64(bf.timestamp_ns), frame=axes, **extra)
            vec = {"frame": i, "timestamp_ns": bf.timestamp_ns, "bev_frame": axes,
                   "T_world_from_bev": bf.T_world_from_bev.tolist(), "objects": bf.objects}
            _mk(tmp / "vectors")
            (tmp / "vectors" / f"{stem}.json").write_text(json.dumps(vec, allow_nan=False), encoding="utf-8")
            if png:
                for k, c in enumerate(cls):
                    _png(tmp / "png" / "occupancy" / _safe(c) / f"{stem}.png", bf.occupancy[k].astype(np.uint8) * 255)
                _png(tmp / "png" / "height" / f"{stem}.png", height_png(bf.height, height_range))
                _png(tmp / "png" / "instance" / f"{stem}.png", instance_png(bf.instance))
                _png(tmp / "png" / "composite" / f"{stem}.png", composite_png(bf, ontology, height_range))
                for name, layer in zip(extra.get("map_classes", []), extra.get("map_layers", []), strict=True):
                    _png(tmp / "png" / "map" / str(name) / f"{stem}.png", layer.astype(np.uint8) * 255)
                if sem is not None:
                    colors_rgb = loaded.annotations.point_labels.table.colors.copy()
                    colors_rgb[255] = 0
                    _png(tmp / "png" / "semantic" / f"{stem}.png", colors_rgb[sem])
            for ob in bf.objects:
                colors[str(ob["track_id"])] = list(track_color(ob["track_id"]))
            summary.frames += 1
            summary.boxes += len(bf.objects)
            summary.skipped.extend(bf.skipped)
            frames_meta.append({"index": i, "timestamp_ns": bf.timestamp_ns,
                                "T_world_from_bev": bf.T_world_from_bev.tolist(),
                                "npz": f"npz/{stem}.npz", "vectors": f"vectors/{stem}.json", "boxes": len(bf.objects)})
            if progress is not None:
                progress(i + 1, n)
        meta = {"format": BEV_FORMAT, "version": BEV_VERSION, "name": loaded.info.name,
                "source_format": loaded.info.format, "frame": axes, "range_m": grid.extent,
                "resolution_m": grid.resolution, "size": [grid.size, grid.size], "supersample": supersample,
                "height_range_m": list(height_range), "classes": cls,
                "class_colors": {c: list(class_color(ontology, c)) for c in cls},
                "class_dirs": {c: _safe(c) for c in cls}, "track_colors": colors,
                "axes": {"rows": "-x", "cols": "-y", "origin": "ego origin at the grid centre"},
                "frames": frames_meta, "skipped": [list(s) for s in summary.skipped]}
        if map_els:
            from formats.maps.bev import MAP_LAYERS

            meta["map_layers"] = list(MAP_LAYERS)
        if doc.point_labels is not None:  # the table of the npz "point_semantic" rasters
            meta["point_classes"] = doc.point_labels.table.to_dict()
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, allow_nan=False), encoding="utf-8")
        half = grid.size // 2
        (tmp / "README.md").write_text(README.format(
            name=loaded.info.name, frames=n, source=loaded.info.root, source_format=loaded.info.format,
            h0=height_range[0], h1=height_range[1], frame=axes, frame_text=_FRAME_TEXT[axes],
            res=grid.resolution, rng=grid.extent, n=grid.size, half=half, half_m1=half - 1,
            classes=", ".join(cls) or "(none)", ss=supersample), encoding="utf-8")
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def save_npz(path: Path, **arrays: Any) -> None:
    """Like ``np.savez_compressed`` (a zip of ``.npy`` members, read by ``np.load``) with the fast
    deflate level 1: raster layers are mostly empty, level 1 is several times faster and barely larger."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, value in arrays.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _safe(name: str) -> str:
    """A class name usable as a folder name."""
    out = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return out or "_"


def load_bev_frame(path: PathLike) -> dict[str, Any]:
    """Read one exported ``npz/<frame>.npz`` -> dict of arrays (see the module docstring)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise FormatError(p, f"cannot read BEV layers: {e}") from None
