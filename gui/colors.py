"""Colours of the GUI: class colours and point colour maps (plain numpy, no Qt).

Colours are RGB(A) floats in [0, 1] unless a function says ``uint8``.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]

#: Class colours (RGB 0-255) for classes the default ontology does not know (its colours win).
CLASS_COLORS: dict[str, tuple[int, int, int]] = {
    "car": (255, 150, 0),
    "truck": (255, 90, 40),
    "bus": (255, 210, 60),
    "van": (240, 180, 90),
    "trailer": (200, 120, 60),
    "pedestrian": (40, 210, 255),
    "cyclist": (255, 60, 210),
    "bicycle": (230, 90, 255),
    "motorcycle": (170, 110, 255),
    "traffic_cone": (120, 255, 80),
    "barrier": (180, 180, 255),
}
#: The selected box is drawn in this colour (RGB 0-255) on top of everything.
SELECTED_COLOR = (255, 255, 255)
#: Colour (RGB 0-255) of machine proposals (pre-labels): a pale lilac no class of the default ontology uses.
PROPOSAL_COLOR = (200, 185, 255)
#: Dimming factor of interpolated (non-keyframe) boxes.
INTERPOLATED_DIM = 0.6
#: Opacity of a tracked box (auto-tracking) of confidence 0; confidence 1 is opaque.
TRACKED_MIN_OPACITY = 0.3


def tracked_opacity(confidence: float | None) -> float:
    """Line opacity in [TRACKED_MIN_OPACITY, 1] of a box found by auto-tracking, by its confidence
    in [0, 1] (None: 1), in quarter steps (few pens to draw with)."""
    if confidence is None:
        return 1.0
    c = round(min(max(float(confidence), 0.0), 1.0) * 4) / 4
    return TRACKED_MIN_OPACITY + (1.0 - TRACKED_MIN_OPACITY) * c

COLOR_MODES = ("height", "intensity", "distance")
#: Colour modes drawn from the point labels (gui.model.pointlabels): by class, by instance.
LABEL_MODES = ("class", "instance")
#: Every mode of the view's "Points by" chooser.
ALL_COLOR_MODES = COLOR_MODES + LABEL_MODES

# A perceptually ordered colour ramp (dark blue -> cyan -> green -> yellow -> red), RGB 0-1.
_RAMP = np.array(
    [
        [0.19, 0.07, 0.23],
        [0.27, 0.40, 0.87],
        [0.14, 0.75, 0.87],
        [0.29, 0.97, 0.47],
        [0.80, 0.93, 0.21],
        [0.98, 0.62, 0.13],
        [0.82, 0.23, 0.03],
        [0.48, 0.02, 0.01],
    ],
    dtype=np.float32,
)


@functools.cache
def _ontology_color(label: str) -> tuple[int, int, int] | None:
    """The default ontology's colour of ``label``, also for a KITTI type ("Car") or a nuScenes
    category ("vehicle.car") that the ontology maps to one of its classes."""
    from fusionlabel.ontology import Ontology

    onto = Ontology.default()
    spec = onto.get(label) or onto.get(label.lower()) or onto.from_kitti(label) or onto.from_nuscenes(label)
    return None if spec is None else (int(spec.color[0]), int(spec.color[1]), int(spec.color[2]))


def _map_color(label: str) -> tuple[int, int, int] | None:
    """The display colour of a map class (``fusionlabel.map.MAP_CLASSES``), or None."""
    from fusionlabel.map.element import MAP_CLASSES

    c = MAP_CLASSES.get(label)
    return None if c is None else c.color


def class_color(label: str) -> tuple[int, int, int]:
    """RGB 0-255 of a class: the default ontology's colour (see :func:`_ontology_color`), else the
    table above, else a stable colour derived from the name."""
    c = _ontology_color(label) or CLASS_COLORS.get(label) or _map_color(label)
    if c is not None:
        return c
    h = hashlib.md5(label.encode("utf-8")).digest()
    # Keep it bright: every channel in [90, 255].
    return (90 + h[0] % 166, 90 + h[1] % 166, 90 + h[2] % 166)


def class_color_f(label: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """RGBA floats in [0, 1] of a class colour."""
    r, g, b = class_color(label)
    return (r / 255.0, g / 255.0, b / 255.0, alpha)


def _ramp_exact(t: NDArray[np.floating]) -> F32:
    x = np.asarray(t, dtype=np.float32) * (len(_RAMP) - 1)
    i = np.minimum(x.astype(np.int32), len(_RAMP) - 2)
    f = (x - i)[:, None]
    return (_RAMP[i] * (1.0 - f) + _RAMP[i + 1] * f).astype(np.float32)


#: The ramp sampled at 1024 levels: colouring is one table lookup per point.
_LUT = _ramp_exact(np.linspace(0.0, 1.0, 1024))


def ramp(values: NDArray[np.floating], lo: float, hi: float) -> F32:
    """(N,) values -> (N, 3) float32 RGB in [0, 1] along the colour ramp, clipped to [lo, hi]
    (1024 levels). Values, ``lo`` and ``hi`` of any magnitude (a huge pose translation read from a
    file) give a colour of the ramp's ends, never an index outside it; NaN gives the low end."""
    with np.errstate(all="ignore"):
        return _ramp_index(values, lo, hi)


def _ramp_index(values: NDArray[np.floating], lo: float, hi: float) -> F32:
    v = np.asarray(values, dtype=np.float32)
    span = float(hi) - float(lo)
    if not (math.isfinite(lo) and math.isfinite(span)) or abs(lo) > 1e30 or span > 1e30:
        # beyond float32: the ramp in float64 (rare; only for absurd poses)
        t = (np.asarray(values, dtype=np.float64) - float(lo)) / max(span, 1e-6) if math.isfinite(span) else v * 0.0
        t = np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0)
        idx = np.clip(t * (len(_LUT) - 1) + 0.5, 0, len(_LUT) - 1).astype(np.int32)
        return _LUT[idx]
    scale = np.float32((len(_LUT) - 1) / max(span, 1e-6))
    x = (v - np.float32(lo)) * scale + np.float32(0.5)
    np.nan_to_num(x, copy=False, nan=0.0, posinf=len(_LUT) - 1, neginf=0.0)
    idx = np.clip(x, 0, len(_LUT) - 1).astype(np.int32)
    return _LUT[idx]


def point_colors(
    mode: str,
    pts_world: NDArray[np.floating],
    intensity: NDArray[np.floating] | None,
    origin_world: NDArray[np.floating] | None = None,
    ground_z: float = 0.0,
) -> F32:
    """(N, 3) float32 RGB of points coloured by ``mode``.

    ``height``: world z from ``ground_z - 0.5`` to ``ground_z + 3`` m; ``intensity``: [0, 1] (a
    gamma lifts dark returns); ``distance``: horizontal range from ``origin_world`` (3,) in metres,
    0-60 m. ``pts_world`` is (N, 3) metres in the world frame.
    """
    pts = np.asarray(pts_world)
    if mode == "height":
        return ramp(pts[:, 2], ground_z - 0.5, ground_z + 3.0)
    if mode == "intensity":
        if intensity is None:
            return np.full((len(pts), 3), 0.8, dtype=np.float32)
        return ramp(np.sqrt(np.clip(intensity, 0.0, 1.0)), 0.0, 1.0)
    if mode == "distance":
        o = np.zeros(3) if origin_world is None else np.asarray(origin_world, dtype=np.float64)
        d = np.hypot(pts[:, 0] - o[0], pts[:, 1] - o[1])
        return ramp(d, 0.0, 60.0)
    raise ValueError(f"unknown colour mode {mode!r}; expected one of {COLOR_MODES}")


def bev_colors(z: NDArray[np.floating], ground_z: float = 0.0) -> NDArray[np.uint8]:
    """(N,) world heights (m) -> (N, 3) uint8 RGB of the bird's-eye view (ground - 0.3 to + 2.5 m)."""
    return (ramp(z, ground_z - 0.3, ground_z + 2.5) * 255).astype(np.uint8)


def depth_colors_u8(depth: NDArray[np.floating], near: float = 1.0, far: float = 60.0) -> NDArray[np.uint8]:
    """(N,) depth m -> (N, 3) uint8 RGB along the ramp reversed: near red, far dark blue."""
    rgb = ramp(-np.asarray(depth, dtype=np.float32), -far, -near)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
