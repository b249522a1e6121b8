"""One-click boxes in the bird's-eye view: :class:`OneClickTool` (key ``G``).

A click (press and release without moving past the drag threshold, left button, BEV) on an
object's points makes a box with :func:`fusionlabel.assist.box_from_click`: the non-ground cluster
around the click, its L-shape heading, the current class's typical size where only part of the
object is seen (extended away from the sensor), bottom on the ground. One
:class:`~fusionlabel.commands.CreateTrack` (class default attributes), the new track selected,
``on_created`` called (the controller returns to the edit tool). A click where no object is says
so through ``ctx.message`` (the context's ``message`` event) and changes nothing.

The class is ``ctx.default_class`` (the labeller's current class) unless ``use_class`` is False
(then the class guessed from the size priors). The ground is ``ground`` when set, else
``ctx.ground`` when it is a :class:`~fusionlabel.assist.GroundModel`, else one fitted to
``ctx.points`` once per frame. The sensor position in the world frame at this frame is
``origin`` when set, else ``ctx.sensor_origin`` (the window sets it with the frame:
``ToolContext.set_frame_data``; None: the extension runs away from the world origin). The ego's
heading (rad, world frame) at this frame is ``ego_yaw`` when set, else ``ctx.ego_yaw``: a
walker's heading is then the ego axis nearest its points' principal axis (people walk along the
ego's road or across it); None: the principal axis.

In a sequence, when ``ctx.neighbour_points`` is set, the sweeps at the frame offsets
``motion_offsets`` (default -2, -1, +1, +2) are passed as ``neighbours``: a walker or rider that
clearly moves over them is headed along its motion, a moving vehicle's heading takes its sign from
it (see :mod:`fusionlabel.assist.motion`); ``last_fit.heading_source`` and ``last_fit.motion``
tell what was used. An offset the callback answers None for (the sequence's ends, a frame not
loaded) is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from fusionlabel.assist import BoxFit, GroundModel, box_from_click, click_from_ray, fit_ground
from fusionlabel.commands import CreateTrack
from fusionlabel.tools.base import Tool, moved_beyond_threshold
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import PointerEvent


class OneClickTool(Tool):
    """Click an object's points to box it (see the module doc). ``last_fit`` keeps the last
    :class:`~fusionlabel.assist.BoxFit` (class guess, confidence) for the status bar."""

    name = "oneclick"

    def __init__(self, ctx: ToolContext, use_class: bool = True) -> None:
        super().__init__(ctx)
        self.use_class = use_class
        self.origin: tuple[float, float, float] | None = None
        self.ego_yaw: float | None = None
        self.ground: GroundModel | None = None
        self.on_created: Callable[[int], None] | None = None
        self.last_fit: BoxFit | None = None
        self._press: tuple[float, float] | None = None
        self._moved = False
        self._ground_cache: tuple[int, int, GroundModel] | None = None  # (frame, id(points), model)
        self.motion_offsets: tuple[int, ...] = (-2, -1, 1, 2)

    def ground_model(self) -> GroundModel | None:
        """The ground of the current frame (given, the context's, or fitted once per frame)."""
        return self._ground()

    def _ground(self) -> GroundModel | None:
        if self.ground is not None:
            return self.ground
        if isinstance(self.ctx.ground, GroundModel):
            return self.ctx.ground
        pts = self.ctx.points
        if pts is None or len(pts) < 10:
            return None
        key = (self.ctx.frame, id(pts))
        if self._ground_cache is None or self._ground_cache[:2] != key:
            self._ground_cache = (*key, fit_ground(pts, self._origin()))
        return self._ground_cache[2]

    def _origin(self) -> tuple[float, float, float] | None:
        """The sensor position (world frame): ``origin`` when set, else the context's frame fact."""
        return self.origin if self.origin is not None else self.ctx.sensor_origin

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "bev" or (ev.button != "left" and ev.kind in ("press", "release")):
            return False
        if ev.kind == "press":
            self._press, self._moved = ev.pos_world, False
            return True
        if ev.kind == "move" and self._press is not None:
            self._moved = self._moved or moved_beyond_threshold(self._press, ev.pos_world, ev)
            return True
        if ev.kind == "release" and self._press is not None:
            click = not self._moved
            self._press = None
            if click:
                self.click(ev.pos_world)
            return True
        return False

    def click(self, xy: tuple[float, float]) -> int | None:
        """Box the object at world ``xy``; returns the new track id, or None when nothing is there."""
        ctx = self.ctx
        pts = ctx.points
        if pts is None or len(pts) == 0:
            self._say("no points loaded for this frame")
            return None
        origin = self._origin()
        fit = box_from_click(pts, np.asarray(xy, dtype=np.float64), self._ground(), ctx.ontology,
                             class_hint=ctx.default_class if self.use_class else None,
                             origin=origin if origin is not None else (0.0, 0.0, 0.0),
                             neighbours=self._neighbours(), ego_yaw=self.ego_yaw if self.ego_yaw is not None
                             else ctx.ego_yaw)
        self.last_fit = fit
        if fit.box is None or fit.label is None:
            self._say(f"no object at the click ({fit.reason})")
            return None
        # "moving" only when the neighbouring sweeps showed it moving (a parked car is not)
        moving = fit.motion.moving if fit.motion is not None and fit.motion.speed is not None else None
        cmd = CreateTrack(fit.label, ctx.frame, fit.box,
                          attributes=ctx.ontology.default_attributes(fit.label, moving=moving), to_sequence_end=True)
        ctx.stack.push(cmd)
        assert cmd.track_id is not None
        ctx.set_selection(cmd.track_id)
        guess = fit.guess.label if fit.guess is not None else fit.label
        moving = ""
        if fit.heading_source != "shape" and fit.motion is not None and fit.motion.speed is not None:
            moving = f", heading from motion ({fit.motion.speed:.1f} m/s)"
        self._say(f"{fit.label}: {len(fit.indices)} points, guess {guess}, confidence {fit.confidence:.2f}{moving}")
        if self.on_created is not None:
            self.on_created(cmd.track_id)
        return cmd.track_id

    def click_ray(self, origin: ArrayLike, direction: ArrayLike) -> int | None:
        """A click in the 3D view: box the object whose points the viewing ray (``origin`` (3,),
        ``direction`` (3,), world frame) hits first, else the one on the ground where the ray
        meets it (:func:`fusionlabel.assist.click_from_ray`); returns the new track id or None."""
        pts = self.ctx.points
        if pts is None or len(pts) == 0:
            self._say("no points loaded for this frame")
            return None
        xy = click_from_ray(pts, origin, direction, self._ground())
        if xy is None:
            self._say("the click hits neither points nor the ground")
            return None
        return self.click(xy)

    def _neighbours(self) -> list[tuple[float, np.ndarray]] | None:
        """The neighbouring sweeps (dt s, world points) from ``ctx.neighbour_points``, or None."""
        get = self.ctx.neighbour_points
        if get is None:
            return None
        out = []
        for k in self.motion_offsets:
            got = get(k) if k != 0 else None
            if got is None:
                continue
            dt, pts = got
            p = np.asarray(pts)
            if p.ndim != 2 or p.shape[1] < 3:
                raise ValueError(f"neighbour_points({k}) must give points of shape (M, 3+), got {p.shape}")
            out.append((float(dt), p))
        return out

    def _say(self, text: str) -> None:
        self.ctx.message(text)

    def cancel(self) -> bool:
        had = self._press is not None
        self._press = None
        return had

    def cursor(self, ev: PointerEvent) -> str:
        return "crosshair" if ev.view == "bev" else "default"
