"""Frame display (Qt side): :class:`FrameView` draws a frame in every view (points, cameras,
layers, side / front, timeline), keeps the 3D view's level of detail in time, the draft quality
while frames change and the playback timer. It takes the model and the drawing (which holds the
views), never the window."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QTimer

from gui.model import ViewerModel
from gui.qt.drawing import ViewDrawing


class FrameView:
    """Shows the model's frame. ``error(title, text)`` tells the user a frame could not be read;
    ``shown(index)`` is called after a frame is drawn (the window's ``frame_shown`` signal).

    While frames change, the 3D view (the costliest panel under software GL) is redrawn in the
    idle gap after a step (``IDLE_3D_MS`` later, if no other step came first: every frame at
    10 Hz playback, outside the step); when steps come back to back it is redrawn within a step at
    least every ``MAX_3D_STALE_S`` seconds (0: every step); the latest frame at rest."""

    MAX_3D_STALE_S = 0.3
    IDLE_3D_MS = 15

    def __init__(self, model: ViewerModel, drawing: ViewDrawing, error: Callable[[str, str], None],
                 shown: Callable[[int], None]) -> None:
        self.model, self.drawing, self.error, self.shown = model, drawing, error, shown
        self.in_show = False  # the overlays are redrawn by show_frame, not on every view change
        self.last_3d = -1e9  # time.monotonic() of the last 3D redraw by a frame change
        self.idle_3d = QTimer()  # the 3D redraw in the gap after a step
        self.idle_3d.setSingleShot(True)
        self.idle_3d.setInterval(self.IDLE_3D_MS)
        self.idle_3d.timeout.connect(self.release_3d)
        self.play_timer = QTimer()
        self.play_timer.timeout.connect(self.play_tick)
        self.rest_timer = QTimer()  # full-quality camera panels once frames stop changing
        self.rest_timer.setSingleShot(True)
        self.rest_timer.setInterval(300)
        self.rest_timer.timeout.connect(lambda: self.set_draft(False))
        drawing.playing = self.play_timer.isActive

    def show_frame(self, index: int, recentre: bool = False) -> None:
        """Draw frame ``index`` (the context's frame) in every view; ``recentre``: the BEV and
        the 3D view centred on the ego vehicle, heading up."""
        session, ctx, d = self.model.session, self.model.context, self.drawing
        assert session is not None and ctx is not None
        try:
            fd = session.frame(index)
        except Exception as e:
            self.play_timer.stop()
            self.error("Cannot read frame", f"frame {index}: {type(e).__name__}: {e}")
            return
        d.fd = fd
        ctx.set_frame_data(fd.pts_world, session.sensor_origin(index), session.ego_yaw(index))
        T = fd.T_world_from_ego
        ego_yaw = math.atan2(T[1, 0], T[0, 0])
        # 3D level of detail in time: the 3D view is redrawn in the idle gap after the step, or
        # within it when steps have come back to back for MAX_3D_STALE_S; at rest in full.
        # Held before the camera moves, or the follow-ego move would repaint it within the step.
        self.idle_3d.stop()
        draw_3d = recentre or time.monotonic() - self.last_3d >= self.MAX_3D_STALE_S
        d.view3d.hold()
        self.in_show = True
        try:
            up = ego_yaw + self.model.view.bev_up_offset
            if recentre:
                d.view3d.look_at(T[:3, 3] + np.array([0, 0, 1.0]), up, 60.0)
                d.bev.set_view(T[:2, 3], 7.0, up)
            elif self.model.view.follow_ego:
                d.view3d.look_at(T[:3, 3] + np.array([0, 0, 1.0]))
                d.bev.set_view(T[:2, 3], None, up)
        finally:
            self.in_show = False
        d.update_points()
        if not recentre:  # frames changing quickly: draft quality until 300 ms after the last one
            d.view3d.interacted()
            self.set_draft(True)
            self.rest_timer.start()
        if d.camera_grid is not None:
            overlay = d.overlay_points(index)  # a big frame: its cloud with the level of detail
            for name, panel in d.camera_grid.panels.items():
                T_cam_from_world, timing = session.camera_pose(index, name)
                panel.set_frame(fd.images.get(name), T_cam_from_world, (), overlay,
                                camera=session.camera(index, name), timing=timing)
        d.update_boxes()
        if draw_3d:
            self.release_3d()
        else:
            self.idle_3d.start()
        self.shown(index)

    def on_timing_option(self, _value: object = None) -> None:
        """Boxes at capture time / deskewed sweeps switched (View menu): the session follows the
        model's options and the frame is drawn again."""
        s, view = self.model.session, self.model.view
        if s is None:
            return
        s.time_correct = bool(view.time_correct)
        s.set_deskew(bool(view.deskew))
        self.show_frame(self.model.frame)
        note = s.deskew_note() if view.deskew else None  # deskew that cannot work says why
        sweeps = "deskewed sweeps" if note is None else f"sweeps shown raw: {note}"
        self.model.show_message(f"boxes at {'capture' if view.time_correct else 'sweep'} time; "
                                f"{'raw sweeps' if not view.deskew else sweeps}", 3000 if note is None else 10000)

    def release_3d(self) -> None:
        """Let the 3D view draw the latest frame (its repaint follows in the event loop)."""
        self.last_3d = time.monotonic()
        self.drawing.view3d.release()

    def set_draft(self, on: bool) -> None:
        """Draft (fast) drawing in the camera panels and the BEV / side / front views while frames
        change quickly; full quality at rest (``rest_timer``)."""
        d = self.drawing
        for view in (d.bev, d.side, d.front):
            view.set_draft(on)
        if d.camera_grid is not None:
            for panel in d.camera_grid.panels.values():
                panel.set_draft(on)

    # ---- playback -------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play at the sensor rate (from the start when at the end) or pause."""
        if self.play_timer.isActive():
            self.play_timer.stop()
        elif self.model.session is not None:
            if self.model.frame >= len(self.model.session) - 1:
                self.model.set_frame(0)
            self.play_timer.start()
        self.drawing.update_timeline()

    def play_tick(self) -> None:
        if self.model.session is None or self.model.frame >= len(self.model.session) - 1:
            self.play_timer.stop()
            self.drawing.update_timeline()
            return
        self.model.set_frame(self.model.frame + 1)

    def stop(self) -> None:
        """Stop every timer (the window closes)."""
        for t in (self.play_timer, self.rest_timer, self.idle_3d):
            t.stop()
