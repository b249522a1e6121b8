"""Image-first creation in a camera panel: :class:`ImageBoxTool` (Qt-free, fed ``view="camera"``
events).

Gesture (left button, in any camera panel): press, drag a rectangle over the object (the tool's
``rect`` is the preview, reported through ``on_rect``), release: the rectangle becomes a box with
:func:`fusionlabel.assist.image_box.box_from_image_rect` (the frame's points in the world frame,
the ground, the camera's model and pose at this frame, the current class unless ``use_class`` is
False) and one :class:`~fusionlabel.commands.CreateTrack` is pushed (class default attributes), the
new track selected and ``on_created`` called. A box of low confidence (the ground-ray box of a
sparse object, or a poor match with the rectangle) is marked with an issue marker at its top,
pushed in the same undo step (``mark_low_confidence``). Escape cancels the drag; a press and release
without moving past the drag threshold is a click and is **not handled** (``on_pointer`` returns
False: the panel selects the box under it as before).

The window provides, per frame: ``cameras`` (a camera name -> :class:`CameraFrame`: the camera
model and ``T_world_from_cam`` at the image's capture time; None for an unknown camera), and sets
``origin`` (the LiDAR position in the world frame) and ``ego_yaw`` with the frame (see
``ToolContext.set_frame_data``; the tool's own ``origin`` / ``ego_yaw`` override them when
set). The ground is ``ground()`` when given (the controller passes the one-click tool's, fitted
once per frame), else ``ctx.ground`` when it is a ground model, else fitted to the points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from fusionlabel.assist.ground import GroundModel
from fusionlabel.assist.image_box import (
    DEFAULT_IMAGE_BOX_PARAMS,
    ImageBoxFit,
    ImageBoxParams,
    box_from_image_rect,
    normalize_rect,
)
from fusionlabel.commands import AddIssueMarker, CreateTrack
from fusionlabel.tools.base import Tool
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.events import PointerEvent
from fusionlabel.tools.handles import DRAG_THRESHOLD_PX


@dataclass(frozen=True)
class CameraFrame:
    """A camera at one frame: its model (intrinsics, distortion, image size) and
    ``T_world_from_cam`` (4, 4), the optical frame's pose in the world frame at the image's time."""

    camera: CameraModel
    T_world_from_cam: NDArray[np.float64]


@dataclass(frozen=True)
class ImageRect:
    """The rectangle being dragged: ``camera`` name, ``rect`` (u0, v0, u1, v1) pixels (u0 <= u1,
    v0 <= v1, not clipped), ``frame``."""

    camera: str
    rect: tuple[float, float, float, float]
    frame: int


class ImageBoxTool(Tool):
    """Drag a rectangle in a camera panel to create a box (see the module doc). ``last_fit`` keeps
    the last :class:`~fusionlabel.assist.image_box.ImageBoxFit` (confidence, reason)."""

    name = "image_box"

    def __init__(
        self,
        ctx: ToolContext,
        cameras: Callable[[str], CameraFrame | None] | None = None,
        ground: Callable[[], GroundModel | None] | None = None,
        use_class: bool = True,
        params: ImageBoxParams = DEFAULT_IMAGE_BOX_PARAMS,
    ) -> None:
        super().__init__(ctx)
        self.cameras = cameras
        self.ground = ground
        self.use_class = use_class
        self.params = params
        self.origin: tuple[float, float, float] | None = None
        self.ego_yaw: float | None = None
        self.mark_low_confidence = True
        self.on_created: Callable[[int], None] | None = None
        self.on_rect: Callable[[ImageRect | None], None] | None = None
        self.last_fit: ImageBoxFit | None = None
        self.rect: ImageRect | None = None
        self._press: tuple[str, tuple[float, float]] | None = None
        self._active = False

    @property
    def dragging(self) -> bool:
        return self._press is not None

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view != "camera" or ev.pos_px is None or ev.camera is None:
            return False
        if ev.kind == "press":
            if ev.button != "left":
                return False
            self.cancel()
            self._press, self._active = (ev.camera, ev.pos_px), False
            return True
        if self._press is None or ev.camera != self._press[0]:
            return False
        cam, p0 = self._press
        if ev.kind == "move":
            self._active = self._active or math.dist(p0, ev.pos_px) >= DRAG_THRESHOLD_PX
            if self._active:
                self._set_rect(ImageRect(cam, _rect(p0, ev.pos_px), self.ctx.frame))
            return True
        if ev.kind == "release" and ev.button == "left":
            active = self._active or math.dist(p0, ev.pos_px) >= DRAG_THRESHOLD_PX
            frame = self.rect.frame if self.rect is not None else self.ctx.frame
            self._press, self._active = None, False
            self._set_rect(None)
            if not active:
                return False  # a click: the panel's own selection
            if frame == self.ctx.frame:
                self.create(cam, _rect(p0, ev.pos_px))
            return True
        return False

    def _set_rect(self, rect: ImageRect | None) -> None:
        self.rect = rect
        if self.on_rect is not None:
            self.on_rect(rect)

    def ground_model(self) -> GroundModel | None:
        """The ground used: ``ground()``, else ``ctx.ground`` when a ground model, else None
        (fitted to the points by the fit)."""
        if self.ground is not None:
            g = self.ground()
            if g is not None:
                return g
        return self.ctx.ground if isinstance(self.ctx.ground, GroundModel) else None

    def create(self, camera: str, rect: tuple[float, float, float, float]) -> int | None:
        """Box the object in ``rect`` (u0, v0, u1, v1 px) of ``camera`` at the current frame; returns
        the new track id, or None (with a message) when no box could be made."""
        ctx = self.ctx
        cf = self.cameras(camera) if self.cameras is not None else None
        if cf is None:
            ctx.message(f"no calibration for camera {camera!r} at this frame")
            return None
        pts = ctx.points
        if pts is None or len(pts) == 0:
            ctx.message("no points loaded for this frame")
            return None
        try:
            r = normalize_rect(rect, cf.camera, self.params.min_rect_px)
        except ValueError as e:
            ctx.message(str(e))
            return None
        fit = box_from_image_rect(r, cf.camera, cf.T_world_from_cam, pts, self.ground_model(), ctx.ontology,
                                  ctx.default_class if self.use_class else None,
                                  origin=self.origin if self.origin is not None else ctx.sensor_origin,
                                  ego_yaw=self.ego_yaw if self.ego_yaw is not None else ctx.ego_yaw,
                                  params=self.params)
        self.last_fit = fit
        if fit.box is None or fit.label is None:
            ctx.message(f"no box from the rectangle ({fit.reason})")
            return None
        cmd = CreateTrack(fit.label, ctx.frame, fit.box, attributes=ctx.ontology.default_attributes(fit.label))
        low = fit.low_confidence
        with ctx.stack.group(f"Create {fit.label} from {camera}"):
            ctx.stack.push(cmd)
            assert cmd.track_id is not None
            if low and self.mark_low_confidence:
                x, y, z = fit.box.center
                ctx.stack.push(AddIssueMarker((x, y, z + fit.box.height / 2.0),
                                              f"low confidence {fit.confidence:.2f}: {fit.reason}",
                                              frame=ctx.frame, track_id=cmd.track_id))
        ctx.set_selection(cmd.track_id)
        ctx.message(f"{fit.label} from {camera}: confidence {fit.confidence:.2f}"
                    f"{' (low, marked)' if low and self.mark_low_confidence else ''}; {fit.reason}")
        if self.on_created is not None:
            self.on_created(cmd.track_id)
        return cmd.track_id

    def cancel(self) -> bool:
        had = self._press is not None
        self._press, self._active = None, False
        if self.rect is not None:
            self._set_rect(None)
        return had

    def cursor(self, ev: PointerEvent) -> str:
        return "crosshair" if ev.view == "camera" else "default"


def _rect(p0: tuple[float, float], p1: tuple[float, float]) -> tuple[float, float, float, float]:
    return (min(p0[0], p1[0]), min(p0[1], p1[1]), max(p0[0], p1[0]), max(p0[1], p1[1]))
