"""The labeling workstation's main window: it lays out the widgets, binds them to the Qt-free
model (:mod:`gui.model`: :class:`~gui.model.ViewerModel` and its parts) and connects the views'
events to the tools. ``fusionlabel open PATH`` ends here through :mod:`gui.app`.

- 3D view (:mod:`gui.render.view3d`): the sweep in the world frame, boxes, level of detail.
- BEV editor and side/front views of the selected box (:mod:`gui.ortho`).
- Camera panels with the projected boxes (:mod:`gui.cameras`).
- Timeline, object list, shortcut help (:mod:`gui.widgets`).

The menus, keys and F1 table come from the action registry (:mod:`gui.model.actions`); background
work goes through the model's job runner (:mod:`gui.model.jobs`); what the views draw is
:mod:`gui.qt.drawing`, saving and recovery :mod:`gui.qt.saving`. The document changes only through
commands on the undo stack; every view redraws from document events. User prompts go through a
:class:`~gui.qt.prompts.Prompter` that tests replace.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QImage, QPainter
from PyQt6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from formats.project import AUTOSAVE_INTERVAL_S, RecoveryStore
from fusionlabel.commands import SetAttribute, SetLabel
from fusionlabel.document import BoxRef, DocumentEvent
from fusionlabel.events import log_listener_error
from fusionlabel.geometry import box_corners
from fusionlabel.tools import (
    PointerEvent,
    Preview,
    ToolContext,
    ToolController,
)
from fusionlabel.tools.select import click_3d
from gui import persist
from gui.bindings import bind_check, bind_combo, bind_progress, bind_spin, bind_status
from gui.cameras import CameraBox, CameraGrid
from gui.colors import (
    COLOR_MODES,
)
from gui.model import MAX_ACCUMULATE, ViewerModel
from gui.model.actions import default_registry
from gui.model.autotrack import AutoTrack
from gui.model.jobs import Job
from gui.model.proposal_review import ProposalReview
from gui.model.review import QAReview
from gui.model.tracks import TrackOperations
from gui.ortho import OrthoView, PlaneEvent
from gui.qt.dialogs import choose_track_dialog
from gui.qt.drawing import ViewDrawing
from gui.qt.jobs import qt_job_runner
from gui.qt.keys import CURSORS, key_event_from_qt
from gui.qt.menus import build_menus
from gui.qt.pointlabels import install_point_labels
from gui.qt.prompts import APP_NAME, Prompter
from gui.qt.proposals import ProposalDock
from gui.qt.saving import ProjectKeeper
from gui.review import ReviewMode
from gui.session import Session, load_session
from gui.tracking import AutoTrackDock  # T / Shift+T in the background, review list (I)
from gui.widgets import ObjectList, ShortcutHelp, Timeline


# ---- the window -----------------------------------------------------------------------------------
class MainWindow(QMainWindow):
    """The labeling workstation. ``open_path(path)`` loads in the background (``loaded`` or
    ``load_failed`` is emitted); ``set_frame``, ``select`` drive it like the user does. Its state
    is the Qt-free :class:`~gui.model.ViewerModel` (``model``): session, frame, selection, drag
    preview and tool (read through the tools' :class:`ToolContext` ``ctx``), view options, status
    and progress; the widgets bind to the model's events. Mouse and keys go through the
    :class:`ToolController` (``ctl``)."""

    loaded = pyqtSignal()
    load_failed = pyqtSignal(str)
    frame_shown = pyqtSignal(int)
    prelabel_finished = pyqtSignal(int)  # proposals set (-1: the run failed)
    #: While frames change, the 3D view (the costliest panel under software GL) is redrawn in the
    #: idle gap after a step (``IDLE_3D_MS`` later, if no other step came first: every frame at
    #: 10 Hz playback, outside the step); when steps come back to back it is redrawn within a step
    #: at least every ``MAX_3D_STALE_S`` seconds (0: every step); the latest frame at rest.
    MAX_3D_STALE_S = 0.3
    IDLE_3D_MS = 15

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
        self._load: Job | None = None  # the loading job
        self._unsub: list = []
        self._closed = False
        self._boxes_dirty = False
        self._in_show = False
        self._last_3d = -1e9  # time.monotonic() of the last 3D redraw by a frame change
        self._idle_3d = QTimer(self)  # the 3D redraw in the gap after a step
        self._idle_3d.setSingleShot(True)
        self._idle_3d.setInterval(self.IDLE_3D_MS)
        self._idle_3d.timeout.connect(self._release_3d)
        self._help: ShortcutHelp | None = None
        self.camera_grid: CameraGrid | None = None
        self.setWindowTitle(APP_NAME)
        self.resize(1600, 1000)
        # Closing frees the window and its GL context at once (a leaked QOpenGLWidget keeps its
        # context; after many windows, e.g. in a test session, context creation fails).
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.registry = default_registry()  # every action: menus, keys, help (gui/model/actions.py)
        self.keymap = self.registry.keymap
        self._build()
        self._bind_model()
        self._build_editing()
        self.qactions, self.menus = build_menus(self, self.registry, self.model)  # before the review docks
        self.qa_review = QAReview(self.model)  # the QA review (gui/model/review.py) and its docks
        self.qa_review.ground_z = self._ground_z
        self.review = ReviewMode(self.qa_review, self.bev, self)
        self._place_review_docks()
        self.drawing = ViewDrawing(self.model, self.bev, self.side, self.front, self.view3d, self.timeline,
                                   self.review, self.proposal_review, lambda: self.play_timer.isActive())
        from gui.export import ExportActions  # File > Export (background export of the session)

        self.exporter = ExportActions(self.model, self)
        self._actions()
        install_point_labels(self)  # point labels: colours, dock, BEV lasso (gui/qt/pointlabels.py)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(1000, int(min(self.autosave_s, 30.0) * 1000)))
        self.autosave_timer.timeout.connect(self.keeper.autosave_tick)
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._play_tick)
        self.rest_timer = QTimer(self)  # full-quality camera panels once frames stop changing
        self.rest_timer.setSingleShot(True)
        self.rest_timer.setInterval(300)
        self.rest_timer.timeout.connect(lambda: self._set_draft(False))
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

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
        m, view = self.model, self.model.view
        bind_status(m, self.statusBar())
        bind_progress(m.progress, self.progress, self.progress_cancel)
        bind_combo(view, "color_mode", self.color_box)
        bind_spin(view, "accumulate", self.accum_box)
        bind_check(view, "camera_points", self.cam_points_box)
        bind_check(view, "level_of_detail", self.lod_box)
        view.events.color_mode.connect(lambda _m: self.drawing.update_points())
        view.events.accumulate.connect(lambda _n: self.drawing.update_points())
        view.events.camera_points.connect(self._show_camera_points)
        view.events.level_of_detail.connect(lambda on: setattr(self.view3d, "lod_enabled", on))
        view.events.time_correct.connect(self._on_timing_option)
        view.events.deskew.connect(self._on_timing_option)
        view.events.bev_up_offset.connect(lambda _a: self.reset_views())
        m.events.frame.connect(self._on_frame)
        m.events.selection.connect(
            lambda tid: self.objects.set_current(tid, self.session.doc if self.session else None))
        m.events.selection.connect(self._on_selection)
        m.events.preview.connect(self._on_preview)
        m.events.tool.connect(self._on_tool_changed)

    def _on_timing_option(self, _value: object = None) -> None:
        """Boxes at capture time / deskewed sweeps switched (View menu): the session follows the
        model's options and the frame is drawn again."""
        if self.session is None:
            return
        self.session.time_correct = bool(self.model.view.time_correct)
        self.session.set_deskew(bool(self.model.view.deskew))
        self.show_frame(self.frame)
        self.model.show_message(
            f"boxes at {'capture' if self.model.view.time_correct else 'sweep'} time; "
            f"{'deskewed' if self.model.view.deskew else 'raw'} sweeps", 3000)

    def _listener_failed(self, name: str, listener: object, error: BaseException) -> None:
        """A view failed on a model event: logged, and said in the status line; the window stays."""
        log_listener_error(name, listener, error)  # type: ignore[arg-type]
        if name != "status":  # (a failing status bar is only logged: no loop)
            self.model.show_message(f"{name}: {type(error).__name__}: {error}", 8000)

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        from gui.render.view3d import View3D  # the only vispy user

        self.view3d = View3D()
        self.view3d.on_click = self._on_3d_click
        self.bev = OrthoView(title="BEV (drag: edit; B: create tool; right drag: pan; wheel: zoom)")
        self.bev.pointer.connect(lambda ev: self._on_pointer("bev", self.bev, ev))
        self.bev.view_changed.connect(self._on_bev_view_changed)
        self.side = OrthoView(title="side (from the right)")
        self.front = OrthoView(title="front")
        self.side.pointer.connect(lambda ev: self._on_pointer("side", self.side, ev))
        self.front.pointer.connect(lambda ev: self._on_pointer("front", self.front, ev))

        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(self.bev)
        self.top_split.addWidget(self.view3d.widget)
        self.cam_holder = QWidget()
        self.cam_layout = QVBoxLayout(self.cam_holder)
        self.cam_layout.setContentsMargins(0, 0, 0, 0)
        self.cam_placeholder = QLabel("Open a sequence (Ctrl+O)")
        self.cam_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cam_layout.addWidget(self.cam_placeholder)
        self.main_split = QSplitter(Qt.Orientation.Vertical)
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.cam_holder)
        self.main_split.setStretchFactor(0, 5)
        self.main_split.setStretchFactor(1, 4)
        self.main_split.setSizes([560, 440])
        self.top_split.setSizes([500, 500])
        self.timeline = Timeline()
        self.timeline.frame_picked.connect(self.set_frame)
        self.timeline.step.connect(lambda d: self.set_frame(self.frame + d))
        self.timeline.key_step.connect(self.jump_keyframe)
        self.timeline.play_toggled.connect(self.toggle_play)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.main_split, 1)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)

        self.objects = ObjectList()
        self.objects.selected.connect(self.select)
        self.objects.label_edited.connect(self._set_label)
        self.objects.attribute_edited.connect(self._set_attribute)
        self.objects.new_class_changed.connect(self._set_default_class)
        dock = QDockWidget("Objects", self)
        dock.setObjectName("objects")
        dock.setWidget(self.objects)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(2, 2, 2, 2)
        box_split = QSplitter(Qt.Orientation.Vertical)
        box_split.addWidget(self.side)
        box_split.addWidget(self.front)
        rl.addWidget(box_split, 1)
        form = QFormLayout()
        self.color_box = QComboBox()
        self.color_box.addItems(COLOR_MODES)
        form.addRow("Points by", self.color_box)
        self.accum_box = QSpinBox()
        self.accum_box.setRange(0, MAX_ACCUMULATE)
        self.accum_box.setToolTip("also show N sweeps before and after (world frame)")
        form.addRow("Accumulate +-", self.accum_box)
        self.cam_points_box = QCheckBox("LiDAR in cameras")
        form.addRow(self.cam_points_box)
        self.lod_box = QCheckBox("Level of detail while moving")
        form.addRow(self.lod_box)
        rl.addLayout(form)
        rdock = QDockWidget("Selected box", self)
        rdock.setObjectName("selected")
        rdock.setWidget(right)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, rdock)
        self.resizeDocks([dock, rdock], [240, 300], Qt.Orientation.Horizontal)

        self.tool_label = QLabel("tool: edit")
        self.statusBar().addPermanentWidget(self.tool_label)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress)
        self.progress_cancel = QToolButton()
        self.progress_cancel.setText("Cancel")
        self.progress_cancel.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress_cancel)

    def _actions(self) -> None:
        """The parts the actions work on (the menus are generated from the action registry,
        :mod:`gui.model.actions`, in ``__init__``). Keys of the tools' keymap are handled by :meth:`eventFilter`
        (the menu shows them); the window's own keys are QAction shortcuts. The menu bar's titles
        have no ``Alt+letter`` mnemonic: ``Alt`` with a letter belongs to the box keys (resize:
        ``Alt+W/A/S/D/R/F``, ``Alt+C``); ``F10`` opens the menus from the keyboard."""
        m = self.model
        m.shell, m.tracks, m.auto_track = self, self.tracks, self.auto_track
        m.proposal_review, m.review, m.export = self.proposal_review, self.qa_review, self.exporter
        for dock in (self.review.dock, self.review.findings_dock):
            self.menus["Review"].addAction(dock.toggleViewAction())

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(group, keys, action) of every action: generated from the action registry."""
        return self.registry.help_rows()

    # ---- keys: the tools' keymap first ----------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # type: ignore[override]
        if event.type() != QEvent.Type.KeyPress or self.ctl is None:
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self:
            return False
        if isinstance(obj, (QLineEdit, QAbstractSpinBox, QTextEdit)) or (
            isinstance(obj, QComboBox) and obj.isEditable()
        ):
            return False  # typing goes to text fields
        ke = key_event_from_qt(event)  # type: ignore[arg-type]
        if ke is None:
            return False
        try:
            action = self.ctl.on_key(ke)
        except Exception as e:  # an action failing must not kill the window
            self.model.show_message(f"{ke.key}: {type(e).__name__}: {e}", 8000)
            return True
        return action is not None

    def _perform(self, action: str, **kw: object) -> bool:
        if self.ctl is None:
            return False
        try:
            return self.ctl.perform(action, **kw)
        except Exception as e:
            self.model.show_message(f"{action}: {type(e).__name__}: {e}", 8000)
            return False

    # ---- track operations, proposal review, auto-track (gui/model/, their docks gui/qt/) --------
    def _build_editing(self) -> None:
        """The track operations, the proposal review and auto-tracking, and their docks."""
        def error(title: str, text: str) -> None:
            self.prompter.error(self, title, text)

        self.tracks = TrackOperations(self.model, lambda keep, ids: choose_track_dialog(self, keep, ids))
        self.proposal_review = ProposalReview(self.model, lambda: self.objects.new_class, error)
        self.proposal_dock = ProposalDock(self.proposal_review, self)
        self.proposal_review.events.look_at.connect(self._look_at)
        self.proposal_review.events.finished.connect(self.prelabel_finished.emit)
        self.objects.interpolation_edited.connect(lambda _tid, m: self.tracks.set_interpolation(m))
        dock = QDockWidget("Proposals", self)
        dock.setObjectName("proposals")
        dock.setWidget(self.proposal_dock.widget)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.auto_track = AutoTrack(self.model, error)
        self.tracking = AutoTrackDock(self.auto_track, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.tracking.dock)
        self.tabifyDockWidget(dock, self.tracking.dock)
        dock.raise_()

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
        self._update_boxes()

    # ---- session --------------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str], open_args: argparse.Namespace | None = None) -> None:
        """Load a sequence or project in a background job; the window stays responsive.
        ``open_args``: dataset options from the command line (``--format``, ``--estimate-poses``...)."""
        if self._load is not None:
            return
        if self.session is not None and not self.keeper.confirm_discard():
            return
        p = Path(path)
        self.model.show_message(f"Loading {p} ...")
        self.model.progress.start(0, f"Loading {p}")

        def work(job: Job) -> Session:
            return load_session(p, progress=lambda d, t, w: job.report(d, t, w), open_args=open_args)

        self._load = self.model.jobs.submit("load", work, progress=self._on_progress, finished=self._on_load_finished)

    def _finish_thread(self, drop: bool = False) -> None:
        """Wait for the loading job (``drop``: its outcome is not wanted any more)."""
        if self._load is not None:
            if drop:
                self._load.cancel(drop=True)
            self._load.wait()
            self._load = None
        self.model.progress.finish()

    def _on_progress(self, job: Job, done: int, total: int, what: str) -> None:
        self.model.progress.update(done, total, what)
        self.model.show_message(what)

    def _on_load_finished(self, job: Job) -> None:
        self._finish_thread()
        if job.state != "done":
            message = job.error or job.state
            self.model.show_message("Loading failed", 5000)
            self.prompter.error(self, "Cannot open", message)
            self.load_failed.emit(message)
            return
        self.set_session(job.result)
        self.loaded.emit()

    def set_session(self, session: Session) -> None:
        """Show a loaded session (replacing the current one); offers a newer recovery copy."""
        self._close_session()
        session.time_correct = bool(self.model.view.time_correct)  # the View menu's timing options
        session.set_deskew(bool(self.model.view.deskew))
        self.model.set_session(session)
        self.keeper.reset()
        if self.recovery_enabled:
            try:
                persist.remove_stale_files(session)  # what crashed writes left (old, writer gone)
            except OSError:
                pass
            self.keeper.offer_recovery()
        self._bind_document()
        cams = {n: session.camera(0, n) for n in session.camera_names}
        if self.camera_grid is not None:
            self.camera_grid.setParent(None)
        self.cam_placeholder.setVisible(not cams)
        self.cam_placeholder.setText("no cameras in this sequence")
        self.camera_grid = CameraGrid(cams)
        self.camera_grid.box_clicked.connect(self.select)
        self._show_camera_points(self.model.view.camera_points)
        self.cam_layout.addWidget(self.camera_grid)
        self.objects.set_ontology(session.ontology, self._classes())
        self.objects.refresh(session.doc)
        ts = [f.timestamp_ns for f in session.seq.frames]
        period_ms = float(np.median(np.diff(ts))) / 1e6 if len(ts) > 1 else 100.0
        self.play_timer.setInterval(max(10, int(round(period_ms))))
        self.show_frame(0, recentre=True)
        self.autosave_timer.start()
        self.keeper.update_title()
        what = {"ground_truth": "ground truth as the initial annotation", "project": "project",
                "empty": "no annotation yet"}[session.initial_annotation]
        if self.keeper.recovered:
            what = "restored"
        loaded = f"Loaded {session.seq.name}: {len(session)} frames, {len(session.doc)} tracks ({what})"
        if self.keeper.restore_note:
            self.model.show_message(f"{self.keeper.restore_note}. {loaded}", 20000)
        else:
            self.model.show_message(loaded, 8000)

    def _bind_document(self) -> None:
        """(Re)create the tool context, controller and recovery store for the session's document."""
        assert self.session is not None
        s = self.session
        for u in self._unsub:
            u()
        if self.recovery_enabled:
            self.keeper.bind(s)
        ctx = ToolContext(s.doc, s.undo, 0, ontology=s.ontology, default_class=self.objects.new_class or "car")
        ctl = ToolController(ctx, self.keymap, on_app_action=lambda name: self.registry.run(name, self.model),
                             app_actions=self.registry.app_actions())
        with self.model.events.blocker("frame", "selection", "preview"):  # set_session shows frame 0
            self.model.bind_tools(ctx, ctl)  # the context's events reach the views through the model
        self.ctx.box_predictor = self.tracks.box_predictor  # "copy to next frame": predicted + refined
        # one-click: walkers' and riders' heading from their motion in the neighbouring sweeps (only
        # with ego poses: without them the ego's own motion would look like the object's)
        self.ctx.neighbour_points = (lambda k: s.sweep_near(self.frame, k)) if s.seq.has_ego_poses() else None
        # with no box selected, the nudge keys edit the proposal under review (until it is accepted)
        self.ctx.proposal_under_review = lambda: (
            self.proposal_review.current.proposal_id if self.proposal_review.current is not None else None)
        self.proposal_review.bind()
        self.auto_track.bind()
        self._unsub = [s.doc.subscribe(self._on_doc_event), s.undo.subscribe(self.keeper.update_title)]

    def _close_session(self) -> None:
        for u in self._unsub:
            u()
        self._unsub = []
        self.proposal_review.close()
        self.auto_track.close()
        self.play_timer.stop()
        self.autosave_timer.stop()
        self.keeper.close()
        if self.session is not None:
            self.session.close()
        self.model.set_session(None)

    def _classes(self) -> list[str]:
        assert self.session is not None
        names = self.session.ontology.class_names()
        used = sorted({t.label for t in self.session.doc.tracks.values()} - set(names))
        return [*names, *used]

    # ---- frames ---------------------------------------------------------------------------------
    def set_frame(self, index: int) -> None:
        """Go to frame ``index`` (clamped to the sequence)."""
        self.model.set_frame(index)

    def _on_frame(self, index: int) -> None:
        if self.ctl is not None and self.ctl.tool.dragging:
            self.ctl.cancel()  # a drag belongs to the frame it started on
        self.show_frame(index)

    def show_frame(self, index: int, recentre: bool = False) -> None:
        """Draw frame ``index`` (the context's frame) in every view."""
        assert self.session is not None and self.ctx is not None
        try:
            fd = self.session.frame(index)
        except Exception as e:
            self.play_timer.stop()
            self.prompter.error(self, "Cannot read frame", f"frame {index}: {type(e).__name__}: {e}")
            return
        self.drawing.fd = fd
        self.ctx.set_frame_data(fd.pts_world, self.session.sensor_origin(index), self.session.ego_yaw(index))
        T = fd.T_world_from_ego
        ego_xy = T[:2, 3]
        ego_yaw = math.atan2(T[1, 0], T[0, 0])
        # 3D level of detail in time: the 3D view is redrawn in the idle gap after the step, or
        # within it when steps have come back to back for MAX_3D_STALE_S; at rest in full.
        # Held before the camera moves, or the follow-ego move would repaint it within the step.
        self._idle_3d.stop()
        now = time.monotonic()
        draw_3d = recentre or now - self._last_3d >= self.MAX_3D_STALE_S
        self.view3d.hold()
        self._in_show = True  # the overlays are redrawn below, not on every view change
        try:
            up = ego_yaw + self.bev_up_offset
            if recentre:
                self.view3d.look_at(T[:3, 3] + np.array([0, 0, 1.0]), up, 60.0)
                self.bev.set_view(ego_xy, 7.0, up)
            elif self.model.view.follow_ego:
                self.view3d.look_at(T[:3, 3] + np.array([0, 0, 1.0]))
                self.bev.set_view(ego_xy, None, up)
        finally:
            self._in_show = False
        self.drawing.update_points()
        if not recentre:  # frames changing quickly: draft quality until 300 ms after the last one
            self.view3d.interacted()
        if not recentre:
            self._set_draft(True)
            self.rest_timer.start()
        if self.camera_grid is not None:
            for name, panel in self.camera_grid.panels.items():
                T_cam_from_world, timing = self.session.camera_pose(index, name)
                panel.set_frame(fd.images.get(name), T_cam_from_world, (), self.session.overlay_points(index),
                                camera=self.session.camera(index, name), timing=timing)
        self._update_boxes()
        if draw_3d:
            self._release_3d()
        else:
            self._idle_3d.start()
        self.frame_shown.emit(index)

    def _release_3d(self) -> None:
        """Let the 3D view draw the latest frame (its repaint follows in the event loop)."""
        self._last_3d = time.monotonic()
        self.view3d.release()

    def _set_draft(self, on: bool) -> None:
        """Draft (fast) drawing in the camera panels and the BEV / side / front views while frames
        change quickly; full quality at rest (``rest_timer``)."""
        for view in (self.bev, self.side, self.front):
            view.set_draft(on)
        if self.camera_grid is not None:
            for panel in self.camera_grid.panels.values():
                panel.set_draft(on)

    # ---- boxes (drawn by gui/qt/drawing.py) -------------------------------------------------------
    def boxes(self) -> list[BoxRef]:
        """The document's boxes at the current frame."""
        return self.drawing.boxes()

    def _ground_z(self) -> float:
        fd = self.drawing.fd
        return float(fd.memo.get("ground_z", 0.0)) if fd is not None else 0.0

    def _update_boxes(self) -> None:
        """Every view's boxes from the document (cameras included)."""
        self._boxes_dirty = False
        if self.session is None:
            return
        refs = self.drawing.boxes()
        corners = box_corners([r.box for r in refs]) if refs else np.zeros((0, 8, 3))  # one batch
        cam_boxes = [CameraBox(r.track_id, r.label, c, r.is_keyframe, r.state, r.confidence)
                     for r, c in zip(refs, corners, strict=True)]
        if self.camera_grid is not None:
            props = self.proposal_review.camera_items(self.session.doc, self.frame)
            for panel in self.camera_grid.panels.values():
                panel.set_boxes(cam_boxes, update=False)
                panel.set_proposals(props, update=False)
                panel.set_selected(self.selection)
        self.drawing.update_overlays()
        self.drawing.update_box_views()
        self.drawing.update_timeline()
        self.review.on_boxes_updated(self.camera_grid)

    def _on_bev_view_changed(self) -> None:
        if not self._in_show:  # zoom changes the handles' size in metres
            self.drawing.update_overlays()

    # ---- selection, tools and editing -----------------------------------------------------------
    def select(self, track_id: int | None) -> None:
        """Select a track (None: nothing)."""
        self.model.select(track_id)

    def _on_selection(self, track_id: int | None) -> None:
        """The views that show the selection (cameras, BEV, side/front, timeline) redraw."""
        if not self._boxes_dirty:
            self._update_boxes()

    def _on_preview(self, preview: Preview | None) -> None:
        self.drawing.update_overlays()
        self.drawing.update_box_views()
        if self.camera_grid is not None:
            shown = preview is not None and preview.frame == self.frame
            corners = preview.box.corners() if shown else None  # type: ignore[union-attr]
            for panel in self.camera_grid.panels.values():
                panel.set_preview(corners)

    def _on_tool_changed(self, name: str) -> None:
        self.tool_label.setText(f"tool: {name}")
        self.bev.setCursor(Qt.CursorShape.CrossCursor if name in ("create", "oneclick") else Qt.CursorShape.ArrowCursor)

    def _on_pointer(self, view: str, widget: OrthoView, ev: PlaneEvent) -> None:
        if self.ctl is None or self.ctx is None:
            return
        if view != "bev" and self.ctx.selected_box() is None:
            return
        pe = PointerEvent(ev.kind, ev.xy, ev.button, ev.modifiers, view, max(ev.px_per_m, 1e-6))
        try:
            self.ctl.on_pointer(pe)
            if view == "bev" and ev.button == "left" and self.ctl.active_name == "edit":
                self.proposal_review.on_bev_pointer(ev.kind, ev.xy, ev.px_per_m)  # a click picks a proposal
            if ev.kind == "move" and ev.button == "none":
                hint = self.ctl.cursor(pe)
                shape = CURSORS.get(hint)
                if shape is None and hint.startswith("resize:"):
                    shape = Qt.CursorShape.SizeFDiagCursor if "_" in hint else Qt.CursorShape.SizeHorCursor
                cross = self.ctl.active_name in ("create", "oneclick")
                default = Qt.CursorShape.CrossCursor if cross else Qt.CursorShape.ArrowCursor
                widget.setCursor(shape or default)
        except Exception as e:  # a tool error must not kill the window; the document is unchanged
            self.model.show_message(f"{type(e).__name__}: {e}", 8000)

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
        self._perform("delete_track")

    def undo(self) -> None:
        """Undo the last step (the keymap does the same on Ctrl+Z)."""
        self._perform("undo")

    def redo(self) -> None:
        """Redo the last undone step."""
        self._perform("redo")

    def _on_doc_event(self, event: DocumentEvent) -> None:
        if not self._boxes_dirty:
            self._boxes_dirty = True
            QTimer.singleShot(0, self._refresh_after_change)

    def _refresh_after_change(self) -> None:
        if self.session is None:
            return
        if self.ctx is not None:
            self.ctx.validate_selection()
        self._update_boxes()
        self.objects.refresh(self.session.doc)
        self.proposal_review.refresh()

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

    def _show_camera_points(self, on: bool) -> None:
        if self.camera_grid is not None:
            for panel in self.camera_grid.panels.values():
                panel.set_show_points(on)

    def reset_views(self) -> None:
        """Centre the BEV and the 3D view on the ego vehicle, heading up."""
        if self.session is not None:
            self.show_frame(self.frame, recentre=True)

    def _on_3d_click(self, x: float, y: float) -> None:
        """A click in the 3D view (canvas px): ``fusionlabel.tools.select.click_3d`` (a one-click
        box where the viewing ray meets points, else the nearest box under the click selected)."""
        if self.session is None or self.drawing.fd is None or self.ctl is None or self.ctx is None:
            return
        try:
            origin, direction = self.view3d.ray_at(x, y)
            click_3d(self.ctx, self.ctl.tool, origin, direction, self.view3d.to_canvas, (x, y))
        except Exception as e:  # a tool error must not kill the window; the document is unchanged
            self.model.show_message(f"{type(e).__name__}: {e}", 8000)

    def rotate_bev(self) -> None:
        """Turn the BEV's (and the 3D view's initial) up direction by 90 degrees counter-clockwise
        relative to the ego heading (for LiDAR frames whose x axis is not the driving direction)."""
        self.model.view.rotate_bev()  # the views recentre (reset_views)

    def toggle_play(self) -> None:
        """Play at the sensor rate (from the start when at the end) or pause."""
        if self.play_timer.isActive():
            self.play_timer.stop()
        elif self.session is not None:
            if self.frame >= len(self.session) - 1:
                self.set_frame(0)
            self.play_timer.start()
        self.drawing.update_timeline()

    def _play_tick(self) -> None:
        if self.session is None or self.frame >= len(self.session) - 1:
            self.play_timer.stop()
            self.drawing.update_timeline()
            return
        self.set_frame(self.frame + 1)

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
        self.play_timer.stop()
        self.rest_timer.stop()
        self._idle_3d.stop()
        self.autosave_timer.stop()
        self._finish_thread(drop=True)
        self._close_session()
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
