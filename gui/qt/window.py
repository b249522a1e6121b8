"""The labeling workstation's main window: it lays out the widgets, binds them to the Qt-free
model (:mod:`gui.model`: :class:`~gui.model.ViewerModel` and its parts) and connects the views'
events to the tools. ``fusionlabel open PATH`` ends here through :mod:`gui.app`.

The parts it connects, each taking the model and the widgets it needs (never the window):
:mod:`gui.qt.docks` (the widgets and their layout), :mod:`gui.qt.drawing` (what the views draw,
from the model's annotation layers), :mod:`gui.qt.frameview` (frame display, playback),
:mod:`gui.qt.input` (pointer, 3D clicks and keys to the tools), :mod:`gui.qt.loading` (session
loading and closing), :mod:`gui.qt.saving` (save, autosave, recovery), :mod:`gui.qt.menus` (the
menu bar from the action registry, :mod:`gui.model.actions`). Background work goes through the
model's job runner (:mod:`gui.model.jobs`). The document changes only through commands on the
undo stack; every view redraws from document events. User prompts go through a
:class:`~gui.qt.prompts.Prompter` that tests replace.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QImage, QPainter
from PyQt6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from formats.project import AUTOSAVE_INTERVAL_S, RecoveryStore
from fusionlabel.commands import SetAttribute, SetLabel
from fusionlabel.document import BoxRef
from fusionlabel.events import log_listener_error
from fusionlabel.tools import ToolContext, ToolController
from gui.bindings import bind_check, bind_combo, bind_progress, bind_spin, bind_status
from gui.cameras import CameraGrid
from gui.model import ViewerModel
from gui.model.actions import default_registry
from gui.model.autotrack import AutoTrack
from gui.model.proposal_review import ProposalReview
from gui.model.review import QAReview
from gui.model.tracks import TrackOperations
from gui.qt.dialogs import choose_track_dialog
from gui.qt.docks import WindowWidgets, dock, tab_beside
from gui.qt.drawing import ViewDrawing
from gui.qt.frameview import FrameView
from gui.qt.input import InputRouter
from gui.qt.jobs import qt_job_runner
from gui.qt.loading import SessionLoader
from gui.qt.mapview import install_map
from gui.qt.menus import build_menus
from gui.qt.pointlabels import install_point_labels
from gui.qt.prompts import APP_NAME, Prompter
from gui.qt.proposals import ProposalDock
from gui.qt.saving import ProjectKeeper
from gui.qt.viewedit import install_view_editing
from gui.review import ReviewMode
from gui.session import Session
from gui.tracking import AutoTrackDock  # T / Shift+T in the background, review list (I)
from gui.widgets import ShortcutHelp


# ---- the window -----------------------------------------------------------------------------------
class MainWindow(QMainWindow):
    """The labeling workstation. ``open_path(path)`` loads in the background (``loaded`` or
    ``load_failed`` is emitted); ``set_frame``, ``select`` drive it like the user does. Its state
    is the Qt-free :class:`~gui.model.ViewerModel` (``model``): session, frame, selection, drag
    preview and tool (read through the tools' :class:`ToolContext` ``ctx``), view options, status,
    progress and the annotation layers; the widgets bind to the model's events. Mouse and keys go
    through the :class:`ToolController` (``ctl``) by ``router``; ``frames`` shows frames,
    ``loader`` loads sessions, ``drawing`` draws the layers."""

    loaded = pyqtSignal()
    load_failed = pyqtSignal(str)
    frame_shown = pyqtSignal(int)
    prelabel_finished = pyqtSignal(int)  # proposals set (-1: the run failed)

    def __init__(self, prompter: Prompter | None = None, autosave_s: float = AUTOSAVE_INTERVAL_S,
                 recovery: bool = True) -> None:
        """``autosave_s``: autosave interval (s); ``recovery`` False: no autosave and no recovery
        question (a screenshot run, which must leave a user's recovery copy alone)."""
        super().__init__()
        self.prompter = prompter or Prompter()
        self.autosave_s = float(autosave_s)
        self.recovery_enabled = bool(recovery)
        self.model = ViewerModel()
        self.model.jobs = qt_job_runner(self)  # background jobs report on the GUI thread
        self.model.report_errors_to(self._listener_failed)
        self.keeper = ProjectKeeper(self.model, lambda: self.prompter, self, self.setWindowTitle, autosave_s)
        self._closed = False
        self._help: ShortcutHelp | None = None
        self.setWindowTitle(APP_NAME)
        self.resize(1600, 1000)
        # Closing frees the window and its GL context at once (a leaked QOpenGLWidget keeps its
        # context; after many windows, e.g. in a test session, context creation fails).
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.registry = default_registry()  # every action: menus, keys, help (gui/model/actions.py)
        self.keymap = self.registry.keymap
        self._build()
        self._build_editing()
        self.qactions, self.menus = build_menus(self, self.registry, self.model)  # before the review docks
        self.qa_review = QAReview(self.model)  # the QA review (gui/model/review.py) and its docks
        self.review = ReviewMode(self.qa_review, self.bev, self)
        self._place_review_docks()
        self.drawing = ViewDrawing(self.model, self.bev, self.side, self.front, self.view3d, self.timeline,
                                   self.review, self.proposal_review, lambda: False)
        self.qa_review.ground_z = self.drawing.ground_z
        self.frames = FrameView(self.model, self.drawing, self._error, self.frame_shown.emit)
        self.router = InputRouter(self.model, self.proposal_review, self.view3d)
        from gui.export import ExportActions  # File > Export (background export of the session)

        self.exporter = ExportActions(self.model, self)
        self._actions()
        self.view_editing = install_view_editing(  # 3D-view box drag, camera box tool (gui/qt/viewedit.py)
            self.model, self.view3d, lambda: self.camera_grid, self.frame_shown, self)
        self.map_work = install_map(  # map layers, map tools, accumulated world (gui/qt/mapview.py)
            self.model, self.drawing, self.bev, lambda: self.camera_grid, (self.frame_shown, self.loaded))
        self.point_labels = install_point_labels(  # point labels: colours, dock, BEV lasso (gui/qt/pointlabels.py)
            self.model, self.drawing, self.bev, self.view3d, self.timeline, self.color_box, lambda: self.camera_grid,
            self.frame_shown, lambda d: tab_beside(self, self.findChild(QDockWidget, "proposals"), d), self)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(1000, int(min(self.autosave_s, 30.0) * 1000)))
        self.autosave_timer.timeout.connect(self.keeper.autosave_tick)
        self.loader = SessionLoader(self.model, self.registry, self.keeper, self.drawing, self.frames, self.objects,
                                    self.widgets.cam_layout, self.widgets.cam_placeholder, self.autosave_timer,
                                    self._error, self.loaded.emit, self.load_failed.emit, self.recovery_enabled)
        self._connect()
        self._bind_model()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _error(self, title: str, text: str) -> None:
        self.prompter.error(self, title, text)

    # ---- state: the window's model -------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        """What is loaded (``model.session``)."""
        return self.model.session  # type: ignore[no-any-return]

    @property
    def ctx(self) -> ToolContext | None:
        """The session's tool context (``model.context``)."""
        return self.model.context

    @property
    def ctl(self) -> ToolController | None:
        """The session's tool controller (``model.controller``)."""
        return self.model.controller

    @property
    def frame(self) -> int:
        """The current frame index (0 without a session)."""
        return self.model.frame

    @property
    def selection(self) -> int | None:
        """The selected track id, or None."""
        return self.model.selection

    @property
    def camera_grid(self) -> CameraGrid | None:
        """The session's camera panels (None before a session)."""
        return self.drawing.camera_grid  # type: ignore[no-any-return]

    @property
    def play_timer(self) -> QTimer:
        return self.frames.play_timer

    @property
    def color_mode(self) -> str:
        return self.model.view.color_mode  # type: ignore[no-any-return]

    @property
    def accumulate(self) -> int:
        return self.model.view.accumulate  # type: ignore[no-any-return]

    @property
    def follow_ego(self) -> bool:
        return self.model.view.follow_ego  # type: ignore[no-any-return]

    @property
    def bev_up_offset(self) -> float:
        """Added to the ego heading as the BEV's up direction (rad; multiples of 90 deg, Shift+Z):
        for rigs whose LiDAR x axis is not the driving direction."""
        return self.model.view.bev_up_offset  # type: ignore[no-any-return]

    def _bind_model(self) -> None:
        """The widgets follow the model: status bar, progress bar, view toggles, and the views
        that depend on the frame, the selection, the preview and the tool."""
        m, view, w = self.model, self.model.view, self.widgets
        bind_status(m, self.statusBar())
        bind_progress(m.progress, self.progress, w.progress_cancel)
        bind_combo(view, "color_mode", self.color_box)
        bind_spin(view, "accumulate", self.accum_box)
        bind_check(view, "camera_points", self.cam_points_box)
        bind_check(view, "level_of_detail", self.lod_box)
        view.events.color_mode.connect(lambda _m: self.drawing.update_points())
        view.events.accumulate.connect(lambda _n: self.drawing.update_points())
        view.events.camera_points.connect(self.drawing.show_camera_points)
        view.events.level_of_detail.connect(lambda on: setattr(self.view3d, "lod_enabled", on))
        view.events.time_correct.connect(self.frames.on_timing_option)
        view.events.deskew.connect(self.frames.on_timing_option)
        view.events.bev_up_offset.connect(lambda _a: self.reset_views())
        m.events.frame.connect(self._on_frame)
        m.events.selection.connect(
            lambda tid: self.objects.set_current(tid, self.session.doc if self.session else None))
        m.events.selection.connect(self._on_selection)
        m.events.preview.connect(self.drawing.on_preview)
        m.events.tool.connect(self._on_tool_changed)

    def _listener_failed(self, name: str, listener: object, error: BaseException) -> None:
        """A view failed on a model event: logged, and said in the status line; the window stays."""
        log_listener_error(name, listener, error)  # type: ignore[arg-type]
        if name != "status":  # (a failing status bar is only logged: no loop)
            self.model.show_message(f"{name}: {type(error).__name__}: {error}", 8000)

    # ---- layout (gui/qt/docks.py) and connections ----------------------------------------------
    def _build(self) -> None:
        w = self.widgets = WindowWidgets()
        self.view3d, self.bev, self.side, self.front, self.timeline = w.view3d, w.bev, w.side, w.front, w.timeline
        self.objects, self.tool_label, self.progress = w.objects, w.tool_label, w.progress
        self.color_box, self.accum_box, self.cam_points_box, self.lod_box = (
            w.color_box, w.accum_box, w.cam_points_box, w.lod_box)
        self.setCentralWidget(w.central)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.objects_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, w.selected_dock)
        self.resizeDocks([w.objects_dock, w.selected_dock], [240, 300], Qt.Orientation.Horizontal)
        for widget in (w.tool_label, w.progress, w.progress_cancel):
            self.statusBar().addPermanentWidget(widget)

    def _connect(self) -> None:
        """The widgets' signals to the model, the input routing and the frame display."""
        r = self.router
        self.view3d.on_click = r.click_3d
        for name, view in (("bev", self.bev), ("side", self.side), ("front", self.front)):
            view.pointer.connect(lambda ev, name=name, view=view: r.pointer(name, view, ev))
        self.bev.view_changed.connect(self._on_bev_view_changed)
        self.timeline.frame_picked.connect(self.set_frame)
        self.timeline.step.connect(lambda d: self.set_frame(self.frame + d))
        self.timeline.key_step.connect(self.jump_keyframe)
        self.timeline.play_toggled.connect(self.toggle_play)
        self.objects.selected.connect(self.select)
        self.objects.label_edited.connect(self._set_label)
        self.objects.attribute_edited.connect(self._set_attribute)
        self.objects.new_class_changed.connect(self._set_default_class)
        self.objects.interpolation_edited.connect(lambda _tid, m: self.tracks.set_interpolation(m))

    def _actions(self) -> None:
        """The parts the actions work on (the menus are generated from the action registry,
        :mod:`gui.model.actions`, in ``__init__``). Keys of the tools' keymap are handled by :meth:`eventFilter`
        (the menu shows them); the window's own keys are QAction shortcuts. The menu bar's titles
        have no ``Alt+letter`` mnemonic: ``Alt`` with a letter belongs to the box keys (resize:
        ``Alt+W/A/S/D/R/F``, ``Alt+C``); ``F10`` opens the menus from the keyboard."""
        m = self.model
        m.shell, m.tracks, m.auto_track = self, self.tracks, self.auto_track
        m.proposal_review, m.review, m.export = self.proposal_review, self.qa_review, self.exporter
        for d in (self.review.dock, self.review.findings_dock):
            self.menus["Review"].addAction(d.toggleViewAction())

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(group, keys, action) of every action: generated from the action registry."""
        return self.registry.help_rows()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # type: ignore[override]
        """Keys of the window's widgets: the tools' keymap first (``gui.qt.input``)."""
        if event.type() != QEvent.Type.KeyPress or not isinstance(obj, QWidget) or obj.window() is not self:
            return False
        return self.router.key(obj, event)

    # ---- track operations, proposal review, auto-track (gui/model/, their docks gui/qt/) --------
    def _build_editing(self) -> None:
        """The track operations, the proposal review and auto-tracking, and their docks."""
        self.tracks = TrackOperations(self.model, lambda keep, ids: choose_track_dialog(self, keep, ids))
        self.proposal_review = ProposalReview(self.model, lambda: self.objects.new_class, self._error)
        self.proposal_dock = ProposalDock(self.proposal_review, self)
        self.proposal_review.events.look_at.connect(self._look_at)
        self.proposal_review.events.finished.connect(self.prelabel_finished.emit)
        proposals = dock("Proposals", "proposals", self.proposal_dock.widget)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, proposals)
        self.auto_track = AutoTrack(self.model, self._error)
        self.tracking = AutoTrackDock(self.auto_track, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.tracking.dock)
        self.tabifyDockWidget(proposals, self.tracking.dock)
        proposals.raise_()

    def _place_review_docks(self) -> None:
        """The Review dock a tab next to the object list (both keep the full height), the QA
        findings a strip under the views (the side columns keep the full height)."""
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.review.dock)
        objects = self.findChild(QDockWidget, "objects")
        if objects is not None:
            self.tabifyDockWidget(objects, self.review.dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.review.findings_dock)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.review.dock.hide()  # until review mode is on
        self.review.findings_dock.hide()

    def _look_at(self, centre: np.ndarray | None) -> None:
        """Centre the BEV and the 3D view on a world point (the proposal under review), redraw."""
        if centre is not None:
            self.bev.set_view(centre[:2])
            self.view3d.look_at(centre)
        self.redraw_boxes()

    def redraw_boxes(self) -> None:
        """Redraw every view's boxes (document, proposals, markers) now."""
        self.loader.boxes_dirty = False
        self.drawing.update_boxes()

    # ---- session (gui/qt/loading.py) ------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str], open_args: argparse.Namespace | None = None) -> None:
        """Load a sequence or project in a background job; the window stays responsive.
        ``open_args``: dataset options from the command line (``--format``, ``--estimate-poses``...)."""
        self.loader.open_path(path, open_args)

    def set_session(self, session: Session) -> None:
        """Show a loaded session (replacing the current one); offers a newer recovery copy."""
        self.loader.set_session(session)

    # ---- frames (gui/qt/frameview.py) -----------------------------------------------------------
    def set_frame(self, index: int) -> None:
        """Go to frame ``index`` (clamped to the sequence)."""
        self.model.set_frame(index)

    def _on_frame(self, index: int) -> None:
        if self.ctl is not None and self.ctl.tool.dragging:
            self.ctl.cancel()  # a drag belongs to the frame it started on
        self.show_frame(index)

    def show_frame(self, index: int, recentre: bool = False) -> None:
        """Draw frame ``index`` (the context's frame) in every view."""
        self.frames.show_frame(index, recentre)

    def boxes(self) -> list[BoxRef]:
        """The document's boxes at the current frame."""
        return self.drawing.boxes()

    def _on_bev_view_changed(self) -> None:
        if not self.frames.in_show:  # zoom changes the handles' size in metres
            self.drawing.update_overlays()

    # ---- selection, tools and editing -----------------------------------------------------------
    def select(self, track_id: int | None) -> None:
        """Select a track (None: nothing)."""
        self.model.select(track_id)

    def _on_selection(self, track_id: int | None) -> None:
        """The views that show the selection (cameras, BEV, side/front, timeline) redraw."""
        if not self.loader.boxes_dirty:
            self.redraw_boxes()

    def _on_tool_changed(self, name: str) -> None:
        self.tool_label.setText(f"tool: {name}")
        self.bev.setCursor(self.router.default_cursor())

    def _set_label(self, track_id: int, label: str) -> None:
        if self.session is None or self.session.doc.track(track_id).label == label:
            return
        self.session.undo.push(SetLabel(track_id, label))

    def _set_attribute(self, track_id: int, key: str, value: str) -> None:
        if self.session is None or self.session.doc.track(track_id).attributes.get(key) == value:
            return
        self.session.undo.push(SetAttribute(track_id, key, value or None))

    def _set_default_class(self, label: str) -> None:
        if self.ctx is not None and label:
            self.ctx.default_class = label

    def delete_selected(self) -> None:
        """Delete the selected track (all frames)."""
        self.router.perform("delete_track")

    def undo(self) -> None:
        """Undo the last step (the keymap does the same on Ctrl+Z)."""
        self.router.perform("undo")

    def redo(self) -> None:
        """Redo the last undone step."""
        self.router.perform("redo")

    def jump_keyframe(self, direction: int) -> None:
        """Go to the next (+1) or previous (-1) keyframe of the selected track."""
        self.model.jump_keyframe(direction)

    # ---- view options ---------------------------------------------------------------------------
    def set_color_mode(self, mode: str) -> None:
        """Colour the points by ``"height"``, ``"intensity"`` or ``"distance"``."""
        self.model.view.color_mode = mode

    def set_accumulate(self, n: int) -> None:
        """Also show ``n`` sweeps before and after the current one (world frame)."""
        self.model.view.accumulate = n

    def set_camera_points(self, on: bool) -> None:
        """Overlay the LiDAR points (coloured by depth) on the camera images."""
        self.model.view.camera_points = on

    def reset_views(self) -> None:
        """Centre the BEV and the 3D view on the ego vehicle, heading up."""
        if self.session is not None:
            self.show_frame(self.frame, recentre=True)

    def rotate_bev(self) -> None:
        """Turn the BEV's (and the 3D view's initial) up direction by 90 degrees counter-clockwise
        relative to the ego heading (for LiDAR frames whose x axis is not the driving direction)."""
        self.model.view.rotate_bev()  # the views recentre (reset_views)

    def toggle_play(self) -> None:
        """Play at the sensor rate (from the start when at the end) or pause."""
        self.frames.toggle_play()

    def show_help(self) -> ShortcutHelp:
        """The shortcut table (non-modal: it can stay open while working)."""
        if self._help is None:
            self._help = ShortcutHelp(self.shortcut_rows(), self)
        self._help.show()
        self._help.raise_()
        self._help.activateWindow()  # keys (Esc closes it) go to the table, not to the BEV behind it
        self._help.table.setFocus()
        return self._help

    def open_menus(self) -> None:
        """Open the first menu of the menu bar (the keyboard way into the menus: arrows move)."""
        bar = self.menuBar()
        first = next((a for a in bar.actions() if a.menu() is not None and a.isVisible()), None)
        if first is not None:
            bar.setActiveAction(first)

    # ---- saving, autosave, recovery (gui/qt/saving.py) --------------------------------------------
    @property
    def is_modified(self) -> bool:
        """True when the annotations differ from the saved project."""
        return self.keeper.is_modified

    @property
    def recovery(self) -> RecoveryStore | None:
        """The recovery store (autosave copy, edit journal) of the session's document."""
        return self.keeper.recovery

    def save(self, ask: bool = False) -> bool:
        """Save the annotation project (atomically); True on success."""
        return self.keeper.save(ask)

    def autosave(self) -> Path | None:
        """Write the recovery copy now if there are unsaved changes; its path, else None."""
        return self.keeper.autosave()

    def ask_open(self) -> None:
        p = self.prompter.open_path(self)
        if p is not None:
            self.open_path(p)

    def closeEvent(self, event: QCloseEvent) -> None:  # type: ignore[override]
        if self._closed:  # closing twice (e.g. by the user and then by a test harness) is a no-op
            event.accept()
            return
        if not self.keeper.confirm_discard():
            event.ignore()
            return
        self._closed = True
        self.exporter.cancel()  # a running export stops; its staged output is removed
        self.frames.stop()
        self.autosave_timer.stop()
        self.loader.finish(drop=True)
        self.loader.close_session()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.view3d.close()
        event.accept()

    # ---- screenshots ----------------------------------------------------------------------------
    def screenshot(self) -> QImage:
        """The whole window as an image, with the 3D canvas rendered into it."""
        app = QApplication.instance()
        for _ in range(3):
            app.processEvents()  # type: ignore[union-attr]
        canvas = self.view3d.render()  # (H, W, 4) RGBA
        img = self.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        w = self.view3d.widget
        if w.isVisible() and w.width() > 0:
            h_, w_ = canvas.shape[:2]
            buf = np.ascontiguousarray(canvas)
            qimg = QImage(buf.data, w_, h_, 4 * w_, QImage.Format.Format_RGBA8888).copy()
            pos = w.mapTo(self, QPoint(0, 0))
            p = QPainter(img)
            p.drawImage(pos, qimg.scaled(w.width(), w.height()))
            p.end()
        return img


# ---- entry point --------------------------------------------------------------------------------


def create_window(prompter: Prompter | None = None, autosave_s: float = AUTOSAVE_INTERVAL_S,
                  recovery: bool = True) -> MainWindow:
    """A new main window (see :class:`MainWindow`)."""
    return MainWindow(prompter, autosave_s, recovery)
