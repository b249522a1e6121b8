"""Box creation in the bird's-eye view: :class:`CreateTool` and :func:`fit_vertical`.

Gestures (left button, BEV only; one :class:`~fusionlabel.commands.CreateTrack` on release, the
new track selected; Escape cancels):

- **drag from the rear to the front** of the object: the drag is the length and the heading
  (yaw = direction of the drag), the box is centred on the drag's midpoint and gets the class's
  typical width. This is the default because one gesture gives the heading, which a labeler
  otherwise fixes with a second gesture, and the width of a class varies little.
- **shift + drag** (shift held at the press): an axis-aligned rectangle from corner to opposite
  corner (yaw 0, length along world x).
- **click** (moved less than the drag threshold): a box of the class's typical size centred at
  the click, yaw 0.

Height and z come from the points (:func:`fit_vertical`): the bottom sits on the ground estimate
(``ctx.ground_height``); the top is the highest point inside the footprint between the ground
and the class's maximum height; with fewer than ``MIN_FIT_POINTS`` points there the class's
typical height is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack
from fusionlabel.tools.base import Tool, moved_beyond_threshold
from fusionlabel.tools.context import Preview, ToolContext
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.handles import MIN_SIZE

#: Fewest points inside a footprint for its height to come from the points.
MIN_FIT_POINTS = 3
#: Points less than this (m) above the ground are ground returns, not the object.
GROUND_CLEARANCE = 0.15
#: Height (m) searched above the ground for a label the ontology does not know.
UNKNOWN_MAX_HEIGHT = 4.0


def fit_vertical(
    ctx: ToolContext, center_xy: ArrayLike, length: float, width: float, yaw: float, label: str | None = None
) -> Box3D:
    """A box with the given BEV footprint (world ``center_xy`` (2,), ``length``, ``width`` m,
    ``yaw`` rad) standing on the ground: bottom at ``ctx.ground_height(x, y)``, top at the highest
    of ``ctx.points`` inside the footprint and between ``GROUND_CLEARANCE`` and the class's
    maximum height above the ground (x 1.25), or the class's typical height when fewer than
    ``MIN_FIT_POINTS`` such points exist."""
    label = ctx.default_class if label is None else label
    cx, cy = (float(v) for v in np.asarray(center_xy, dtype=np.float64).reshape(2))
    ground = ctx.ground_height(cx, cy)
    height = ctx.default_size(label)[2]
    prior = ctx.ontology.size_prior(label)
    h_max = 1.25 * (prior.max[2] if prior is not None else UNKNOWN_MAX_HEIGHT)
    pts = ctx.points
    if pts is not None and len(pts):
        c, s = math.cos(yaw), math.sin(yaw)
        dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
        along, across = c * dx + s * dy, -s * dx + c * dy
        dz = pts[:, 2] - ground
        inside = (
            (np.abs(along) <= length / 2.0)
            & (np.abs(across) <= width / 2.0)
            & (dz >= GROUND_CLEARANCE)
            & (dz <= h_max)
        )
        if int(inside.sum()) >= MIN_FIT_POINTS:
            height = max(float(dz[inside].max()), MIN_SIZE)
    return Box3D((cx, cy, ground + height / 2.0), (max(length, MIN_SIZE), max(width, MIN_SIZE), height), yaw)


def footprint_from_drag(
    ctx: ToolContext, p0: tuple[float, float], p1: tuple[float, float], diagonal: bool, label: str | None = None
) -> tuple[tuple[float, float], float, float, float]:
    """BEV footprint ``(center_xy, length, width, yaw)`` of a create drag from ``p0`` to ``p1``
    (world metres): rear-to-front (length and heading, class width) or, with ``diagonal``, an
    axis-aligned corner-to-corner rectangle."""
    mid = ((p0[0] + p1[0]) / 2.0, (p0[1] + p1[1]) / 2.0)
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    if diagonal:
        return mid, max(abs(dx), MIN_SIZE), max(abs(dy), MIN_SIZE), 0.0
    width = ctx.default_size(label)[1]
    return mid, max(math.hypot(dx, dy), MIN_SIZE), width, math.atan2(dy, dx)


def create_box_at(ctx: ToolContext, xy: tuple[float, float], label: str | None = None) -> Box3D:
    """A box of the class's typical length and width centred at world ``xy``, yaw 0, fitted
    vertically (see :func:`fit_vertical`)."""
    l, w, _ = ctx.default_size(label)
    return fit_vertical(ctx, xy, l, w, 0.0, label)


class CreateTool(Tool):
    """Draw new boxes in the BEV (see the module doc). ``label`` None uses ``ctx.default_class``.
    After each creation ``on_created(track_id)`` is called when given (the controller uses it to
    return to the edit tool)."""

    name = "create"

    def __init__(self, ctx: ToolContext, label: str | None = None) -> None:
        super().__init__(ctx)
        self.label = label
        self.on_created: Callable[[int], None] | None = None
        self._p0: tuple[float, float] | None = None
        self._diagonal = False
        self._active = False

    @property
    def dragging(self) -> bool:
        return self._p0 is not None

    def _label(self) -> str:
        return self.ctx.default_class if self.label is None else self.label

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "bev":
            return False
        if ev.kind == "press" and ev.button == "left":
            self.cancel()
            self._p0, self._diagonal, self._active = ev.pos_world, ev.shift, False
            return True
        if self._p0 is None:
            return False
        if ev.kind == "move":
            if not self._active and moved_beyond_threshold(self._p0, ev.pos_world, ev):
                self._active = True
            if self._active:
                self.ctx.set_preview(Preview(None, self._box(ev.pos_world), "create", self.ctx.frame))
            return True
        if ev.kind == "release" and ev.button == "left":
            if not self._active and moved_beyond_threshold(self._p0, ev.pos_world, ev):
                self._active = True
            box = self._box(ev.pos_world) if self._active else create_box_at(self.ctx, self._p0, self._label())
            self._p0 = None
            self.ctx.set_preview(None)
            self.commit(box)
            return True
        return False

    def _box(self, p1: tuple[float, float]) -> Box3D:
        assert self._p0 is not None
        center, l, w, yaw = footprint_from_drag(self.ctx, self._p0, p1, self._diagonal, self._label())
        return fit_vertical(self.ctx, center, l, w, yaw, self._label())

    def commit(self, box: Box3D) -> int:
        """Push one CreateTrack for ``box`` at the current frame (class default attributes) and
        select the new track; returns its id."""
        label = self._label()
        cmd = CreateTrack(label, self.ctx.frame, box, attributes=self.ctx.ontology.default_attributes(label),
                          to_sequence_end=True)
        self.ctx.stack.push(cmd)
        assert cmd.track_id is not None
        self.ctx.set_selection(cmd.track_id)
        if self.on_created is not None:
            self.on_created(cmd.track_id)
        return cmd.track_id

    def cancel(self) -> bool:
        had = self._p0 is not None
        self._p0, self._active = None, False
        if had:
            self.ctx.set_preview(None)
        return had

    def cursor(self, ev: PointerEvent) -> str:
        return "crosshair" if ev.view == "bev" else "default"
