"""The FusionLabel labeling workstation: the main window and ``main(argv)``.

``fusionlabel open PATH [--frame N] [--screenshot OUT.png]`` and ``fusionlabel demo`` end here.
The window binds thin widgets to the session (sequence, annotation document, undo stack):

- 3D view (:mod:`gui.render.view3d`): the sweep in the world frame, boxes, level of detail.
- BEV editor and side/front views of the selected box (:mod:`gui.ortho`).
- Camera panels with the projected boxes (:mod:`gui.cameras`).
- Timeline, object list, shortcut help (:mod:`gui.widgets`).

The document changes only through commands on the undo stack; every view redraws from document
events. Loading runs in a worker thread with progress in the status bar; errors open a dialog
naming the file and the window stays up. User prompts go through a :class:`Prompter` that tests
replace.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QEvent, QObject, QPoint, Qt, QThread, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QImage, QKeyEvent, QKeySequence, QPainter
from PyQt6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from formats.datasets import add_open_arguments
from formats.project import AUTOSAVE_INTERVAL_S, RecoveryStore
from fusionlabel.box import Box3D
from fusionlabel.commands import SetAttribute, SetLabel, UndoStack
from fusionlabel.document import BoxRef, DocumentEvent
from fusionlabel.events import log_listener_error
from fusionlabel.geometry import box_corners
from fusionlabel.tools import (
    KeyEvent,
    Keymap,
    PointerEvent,
    Preview,
    ToolContext,
    ToolController,
    box_handles,
    box_outline,
)
from fusionlabel.tools.select import click_3d
from gui import persist
from gui.bindings import bind_check, bind_combo, bind_progress, bind_spin, bind_status
from gui.cameras import CameraBox, CameraGrid
from gui.colors import (
    COLOR_MODES,
    SELECTED_COLOR,
    bev_colors,
    class_color,
    class_color_f,
    point_colors,
    tracked_opacity,
)
from gui.frames import FrameData
from gui.model import MAX_ACCUMULATE, ViewerModel
from gui.model.boxview import NEIGHBOURHOOD_MARGIN, box_neighbourhood
from gui.model.shapes import BoxGlyph, Shape
from gui.ortho import OrthoView, PlaneEvent, modifier_names
from gui.session import Session, derive, height_order, load_session
from gui.tracking import TRACKING_ACTIONS, AutoTrackActions  # T / Shift+T in the background, review list (I)
from gui.widgets import ObjectList, ShortcutHelp, Timeline

APP_NAME = "FusionLabel"


# ---- prompts (replaceable in tests) ---------------------------------------------------------------
class Prompter:
    """Every question the window asks the user. Tests pass a subclass with canned answers."""

    def ask_save_changes(self, parent: QWidget) -> str:
        """'save', 'discard' or 'cancel' for unsaved changes on quit/open."""
        r = QMessageBox.question(
            parent,
            APP_NAME,
            "The annotations have unsaved changes. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(r, "cancel")

    def ask_recover(self, parent: QWidget, path: Path, when: float) -> bool | None:
        """Restore the autosaved recovery copy ``path`` (written at ``when``, epoch seconds)?
        True: restore; False: discard it; None: keep it (moved aside, see
        :meth:`MainWindow._offer_recovery`) and open without it."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        box = QMessageBox(parent)
        box.setWindowTitle(APP_NAME)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(f"FusionLabel did not close properly. A recovery copy of your annotations from {stamp} "
                    f"exists:\n{path}\n\nRestore it?")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard it", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Not now (keep it)", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.setEscapeButton(keep)  # Esc: keep it for later, decide nothing
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is restore else False if clicked is discard else None

    def error(self, parent: QWidget, title: str, text: str) -> None:
        QMessageBox.critical(parent, title, text)

    def save_path(self, parent: QWidget, suggested: Path) -> Path | None:
        p, _ = QFileDialog.getSaveFileName(parent, "Save annotations", str(suggested),
                                           "FusionLabel projects (*.flproj);;JSON (*.json)")
        return Path(p) if p else None

    def open_path(self, parent: QWidget) -> Path | None:
        """A sequence folder (or, after cancelling that, a project file)."""
        p = QFileDialog.getExistingDirectory(parent, "Open a sequence folder (cancel: open a project file)")
        if not p:
            p, _ = QFileDialog.getOpenFileName(parent, "Open a project", "", "FusionLabel projects (*.flproj *.json)")
        return Path(p) if p else None


# ---- loading in a worker thread -------------------------------------------------------------------
class _LoadWorker(QObject):
    progress = pyqtSignal(int, int, str)
    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, path: Path, open_args: argparse.Namespace | None = None) -> None:
        super().__init__()
        self.path = path
        self.open_args = open_args

    def run(self) -> None:
        try:
            session = load_session(self.path, progress=lambda d, t, w: self.progress.emit(d, t, w),
                                   open_args=self.open_args)
        except Exception as e:  # shown in a dialog; the window stays up
            self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.done.emit(session)


# ---- key conversion ------------------------------------------------------------------------------
_KEY_NAMES = {
    Qt.Key.Key_Left: "left", Qt.Key.Key_Right: "right", Qt.Key.Key_Up: "up", Qt.Key.Key_Down: "down",
    Qt.Key.Key_Tab: "tab", Qt.Key.Key_Backtab: "tab", Qt.Key.Key_Escape: "escape", Qt.Key.Key_Delete: "delete",
    Qt.Key.Key_Backspace: "backspace", Qt.Key.Key_Space: "space", Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter", Qt.Key.Key_PageUp: "page_up", Qt.Key.Key_PageDown: "page_down",
    Qt.Key.Key_Home: "home", Qt.Key.Key_End: "end", Qt.Key.Key_Comma: ",", Qt.Key.Key_Period: ".",
    Qt.Key.Key_Less: ",", Qt.Key.Key_Greater: ".",
}


def key_event_from_qt(e: QKeyEvent) -> KeyEvent | None:
    """A Qt key press as the tools' :class:`KeyEvent` (lower-case unshifted key name, modifiers),
    or None for keys the tools do not know (function keys, bare modifiers...)."""
    k = e.key()
    name = _KEY_NAMES.get(Qt.Key(k))
    if name is None:
        if Qt.Key.Key_A.value <= k <= Qt.Key.Key_Z.value:
            name = chr(k).lower()
        elif Qt.Key.Key_0.value <= k <= Qt.Key.Key_9.value:
            name = chr(k)
        else:
            return None
    mods = set(modifier_names(e.modifiers()))
    if k == Qt.Key.Key_Backtab:
        mods.add("shift")
    return KeyEvent(name, frozenset(mods))


_CURSORS = {
    "move": Qt.CursorShape.SizeAllCursor,
    "rotate": Qt.CursorShape.PointingHandCursor,
    "crosshair": Qt.CursorShape.CrossCursor,
}


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
        self.model.report_errors_to(self._listener_failed)
        self.recovery: RecoveryStore | None = None
        self._fd: FrameData | None = None
        self._thread: QThread | None = None
        self._worker: _LoadWorker | None = None
        self._unsub: list = []
        self._recovered = False  # document restored from a recovery copy and not saved yet
        self._restored_edits = 0  # edits the restored document holds since its last save
        self._restore_note = ""  # what was restored (or kept), for the status line
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
        self.keymap = Keymap.default()
        self._build()
        self._bind_model()
        self._build_editing()
        self._actions()
        from gui.review import ReviewMode  # review mode and QA findings docks, Review menu

        self.review = ReviewMode(self)
        from gui.export import ExportActions  # File > Export (background export of the session)

        self.exporter = ExportActions(self)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(1000, int(min(self.autosave_s, 30.0) * 1000)))
        self.autosave_timer.timeout.connect(self._autosave_tick)
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
        view.events.color_mode.connect(lambda _m: self._update_points())
        view.events.accumulate.connect(lambda _n: self._update_points())
        view.events.camera_points.connect(self._show_camera_points)
        view.events.level_of_detail.connect(lambda on: setattr(self.view3d, "lod_enabled", on))
        view.events.bev_up_offset.connect(lambda _a: self.reset_views())
        m.events.frame.connect(self._on_frame)
        m.events.selection.connect(
            lambda tid: self.objects.set_current(tid, self.session.doc if self.session else None))
        m.events.selection.connect(self._on_selection)
        m.events.preview.connect(self._on_preview)
        m.events.tool.connect(self._on_tool_changed)

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
        """Menus. Keys of the tools' keymap are handled by :meth:`eventFilter` (the menu shows
        them); the window's own keys (not in the keymap) are QAction shortcuts. The menu bar's
        titles have no ``Alt+letter`` mnemonic: ``Alt`` with a letter belongs to the box keys
        (resize: ``Alt+W/A/S/D/R/F``, ``Alt+C``); ``F10`` opens the menus from the keyboard."""
        self.app_rows: list[tuple[str, str, str]] = []

        def act(menu, text: str, keys: Sequence[str], slot, group: str = "Window", shown: str = ""):  # type: ignore[no-untyped-def]
            a = QAction(text, self)
            if keys:
                a.setShortcuts([QKeySequence(k) for k in keys])
                a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
                self.app_rows.append((group, ", ".join(keys), text.replace("&", "").rstrip(".")))
            elif shown:
                a.setText(f"{text}\t{shown}")
            a.triggered.connect(slot)
            menu.addAction(a)
            self.addAction(a)
            return a

        def mapped(action: str) -> str:
            keys = self.keymap.shortcuts_for(action)
            return keys[0] if keys else ""

        m = self.menuBar().addMenu("File")
        act(m, "&Open sequence or project...", ["Ctrl+O"], lambda: self._ask_open(), "File")
        self.save_action = act(m, "&Save", [], lambda: self.save(), shown=mapped("save"))
        act(m, "Save &as...", ["Ctrl+Shift+S"], lambda: self.save(ask=True), "File")
        act(m, "&Quit", ["Ctrl+Q"], self.close, "File")
        m = self.menuBar().addMenu("Edit")
        self.undo_action = act(m, "&Undo", [], self.undo, shown=mapped("undo"))
        self.redo_action = act(m, "&Redo", [], self.redo, shown=mapped("redo"))
        act(m, "Copy box to next frame", [], lambda: self._perform("copy_to_next_frame"),
            shown=mapped("copy_to_next_frame"))
        act(m, "Delete box at this frame", [], lambda: self._perform("delete_box"), shown=mapped("delete_box"))
        act(m, "Delete track", [], lambda: self._perform("delete_track"), shown=mapped("delete_track"))
        m.addSeparator()
        act(m, "Edit tool", [], lambda: self._perform("tool_edit"), shown=mapped("tool_edit"))
        act(m, "Create tool", [], lambda: self._perform("tool_create"), shown=mapped("tool_create"))
        self._editing_menus(act)
        m = self.menuBar().addMenu("Navigate")
        act(m, "Next frame", [], lambda: self.set_frame(self.frame + 1), shown=mapped("frame_step"))
        act(m, "Play / pause", ["Space"], self.toggle_play, "Navigation")
        act(m, "Next keyframe", ["]"], lambda: self.jump_keyframe(1), "Navigation")
        act(m, "Previous keyframe", ["["], lambda: self.jump_keyframe(-1), "Navigation")
        m = self.menuBar().addMenu("View")
        act(m, "Cycle point colours", ["M"], self.model.view.cycle_color_mode, "View")
        act(m, "LiDAR in cameras", ["P"], lambda: self.set_camera_points(not self.model.view.camera_points), "View")
        act(m, "Centre the views on the ego vehicle", ["Z"], self.reset_views, "View")
        act(m, "Rotate the BEV by 90 degrees", ["Shift+Z"], self.rotate_bev, "View")
        m = self.menuBar().addMenu("Help")
        act(m, "&Keyboard shortcuts", ["F1", "?"], self.show_help, "Help")
        act(m, "Open the menus (arrow keys move, Esc closes)", ["F10"], self.open_menus, "Help")

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(group, keys, action) of every shortcut: the tools' keymap, then the window's own."""
        return [*self.keymap.help_rows(), *self.app_rows]

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

    def _on_app_action(self, name: str) -> None:
        if self.review.perform(name):  # the keymap's review_* actions (gui/review.py)
            return
        if name == "save":
            self.save()
        else:
            self._editing_action(name)

    # ---- track operations and proposals (gui/trackpanel.py, gui/proposals.py) -----------------
    def _build_editing(self) -> None:
        """The track operations and the proposal review dock."""
        from gui.proposals import ProposalReview
        from gui.trackpanel import TrackActions

        self.tracks = TrackActions(self)
        self.proposals_ui = ProposalReview(self)
        self.objects.interpolation_edited.connect(lambda _tid, m: self.tracks.set_interpolation(m))
        dock = QDockWidget("Proposals", self)
        dock.setObjectName("proposals")
        dock.setWidget(self.proposals_ui.dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.tracking = AutoTrackActions(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.tracking.dock)
        self.tabifyDockWidget(dock, self.tracking.dock)
        dock.raise_()

    def _editing_menus(self, act) -> None:  # type: ignore[no-untyped-def]
        """The Track and Assist menus (``act``: the menu-action helper of :meth:`_actions`)."""
        self.tracks.build_menu(self.menuBar(), act)
        self.tracking.build_menu(self.menuBar(), act)

        def mapped(action: str) -> str:
            keys = self.keymap.shortcuts_for(action)
            return keys[0] if keys else ""

        m = self.menuBar().addMenu("Assist")
        act(m, "One-click box tool", [], lambda: self._perform("tool_oneclick"), shown=mapped("tool_oneclick"))
        act(m, "Pre-label sequence", [], lambda: self.proposals_ui.start_prelabel())
        for name, text in (("accept_proposal", "Accept proposal"),
                           ("accept_above_threshold", "Accept all proposals above the threshold"),
                           ("reject_proposal", "Reject proposal"),
                           ("relabel_proposal", "Proposal: class of new boxes"),
                           ("next_proposal", "Next proposal"), ("previous_proposal", "Previous proposal")):
            act(m, text, [], lambda _=False, n=name: self._editing_action(n), shown=mapped(name))

    def _editing_action(self, name: str) -> bool:
        """Keymap actions handed to the window (``APP_ACTIONS``) for tracks and proposals."""
        if self.session is None:
            return False
        if name.endswith("_proposal") or name in ("accept_above_threshold", "reject_rest"):
            return self.proposals_ui.perform(name)
        if name in TRACKING_ACTIONS:
            return self.tracking.perform(name)
        handler = {"make_keyframe": self.tracks.make_keyframe, "copy_to_this_frame": self.tracks.copy_to_this_frame,
                   "propagate_all": self.tracks.propagate_all, "flip_track": self.tracks.flip_track,
                   "resize_track": self.tracks.resize_track, "end_track": self.tracks.end_track,
                   "extend_track": self.tracks.extend_track}.get(name)
        return handler() if handler is not None else False

    def redraw_boxes(self) -> None:
        """Redraw every view's boxes (document, proposals, markers) now."""
        self._update_boxes()

    # ---- session --------------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str], open_args: argparse.Namespace | None = None) -> None:
        """Load a sequence or project in a worker thread; the window stays responsive.
        ``open_args``: dataset options from the command line (``--format``, ``--estimate-poses``...)."""
        if self._thread is not None:
            return
        if self.session is not None and not self._confirm_discard():
            return
        p = Path(path)
        self.model.show_message(f"Loading {p} ...")
        self.model.progress.start(0, f"Loading {p}")
        self._thread = QThread(self)
        self._worker = _LoadWorker(p, open_args)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_loaded)
        self._worker.failed.connect(self._on_load_failed)
        self._thread.start()

    def _finish_thread(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread = None
            self._worker = None
        self.model.progress.finish()

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.model.progress.update(done, total, what)
        self.model.show_message(what)

    def _on_load_failed(self, message: str) -> None:
        self._finish_thread()
        self.model.show_message("Loading failed", 5000)
        self.prompter.error(self, "Cannot open", message)
        self.load_failed.emit(message)

    def _on_loaded(self, session: Session) -> None:
        self._finish_thread()
        self.set_session(session)
        self.loaded.emit()

    def set_session(self, session: Session) -> None:
        """Show a loaded session (replacing the current one); offers a newer recovery copy."""
        self._close_session()
        self.model.set_session(session)
        self._recovered = False
        self._restored_edits = 0
        self._restore_note = ""
        if self.recovery_enabled:
            try:
                persist.remove_stale_files(session)  # what crashed writes left (old, writer gone)
            except OSError:
                pass
            self._offer_recovery()
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
        self._update_title()
        what = {"ground_truth": "ground truth as the initial annotation", "project": "project",
                "empty": "no annotation yet"}[session.initial_annotation]
        if self._recovered:
            what = "restored"
        loaded = f"Loaded {session.seq.name}: {len(session)} frames, {len(session.doc)} tracks ({what})"
        if self._restore_note:
            self.model.show_message(f"{self._restore_note}. {loaded}", 20000)
        else:
            self.model.show_message(loaded, 8000)

    def _bind_document(self) -> None:
        """(Re)create the tool context, controller and recovery store for the session's document."""
        assert self.session is not None
        s = self.session
        for u in self._unsub:
            u()
        if self.recovery is None and self.recovery_enabled:
            self.recovery = persist.recovery_store(s, self.autosave_s, track_clean_state=not self._recovered,
                                                   edits=self._restored_edits, on_error=self._journal_failed)
        ctx = ToolContext(s.doc, s.undo, 0, ontology=s.ontology, default_class=self.objects.new_class or "car")
        ctl = ToolController(ctx, self.keymap, on_app_action=self._on_app_action)
        with self.model.events.blocker("frame", "selection", "preview"):  # set_session shows frame 0
            self.model.bind_tools(ctx, ctl)  # the context's events reach the views through the model
        self.ctx.box_predictor = self.tracks.box_predictor  # "copy to next frame": predicted + refined
        # one-click: walkers' and riders' heading from their motion in the neighbouring sweeps (only
        # with ego poses: without them the ego's own motion would look like the object's)
        self.ctx.neighbour_points = (lambda k: s.sweep_near(self.frame, k)) if s.seq.has_ego_poses() else None
        # with no box selected, the nudge keys edit the proposal under review (until it is accepted)
        self.ctx.proposal_under_review = lambda: (
            self.proposals_ui.current.proposal_id if self.proposals_ui.current is not None else None)
        self.proposals_ui.bind()
        self.tracking.bind()
        self._unsub = [s.doc.subscribe(self._on_doc_event), s.undo.subscribe(self._update_title)]

    def _offer_recovery(self) -> None:
        """After a crash: offer the recovery copy (with its edit journal) when it is newer than the
        project."""
        assert self.session is not None
        store = persist.recovery_store(self.session, self.autosave_s)
        if not store.recovery_is_newer():
            store.close()
            self.recovery = None
            return
        offered = store.offer_path  # the recovery copy, else the journal of edits after the last save
        answer = self.prompter.ask_recover(self, offered, offered.stat().st_mtime)
        if answer is None:  # keep it, out of the way of this session's autosaves
            kept = store.move_aside()
            store.close()
            self.recovery = None
            self._restore_note = f"Recovery copy kept as {kept}"
            return
        if answer:
            try:
                project = store.load_recovery()
                doc = project.document
                if doc.frame_count is not None and doc.frame_count != len(self.session.seq):
                    raise ValueError(f"made for {doc.frame_count} frames, the sequence has {len(self.session.seq)}")
            except Exception as e:
                kept = store.move_aside()
                self.prompter.error(self, "Cannot restore", f"{store.path}: {type(e).__name__}: {e}\n(kept as {kept})")
                store.close()
                self.recovery = None
                return
            store.close()
            self.session.doc = doc
            self.session.undo = UndoStack(doc)
            self._recovered = True
            self._restored_edits = _int_meta(project.meta, "edits")
            self._restore_note = restore_note(project.meta, store.path, self.session.project_path, doc)
            self.recovery = None  # made for the restored document by _bind_document
        else:
            store.discard()
            store.close()
            self.recovery = None

    def _journal_failed(self, e: Exception) -> None:
        if self.recovery is not None and self.recovery.journal is None:  # another window journals it
            self.model.show_message(f"Edit journal off: {e}; this window autosaves every "
                                    f"{self.autosave_s:.0f} s only", 20000)
            return
        self.model.show_message(f"Edit journal: cannot write ({type(e).__name__}: {e}); "
                                "the next edit writes a full recovery copy", 10000)

    def _close_session(self) -> None:
        for u in self._unsub:
            u()
        self._unsub = []
        self.proposals_ui.close()
        self.tracking.close()
        self.play_timer.stop()
        self.autosave_timer.stop()
        if self.recovery is not None:
            self.recovery.close()
            self.recovery = None
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
        self._fd = fd
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
        self._update_points()
        if not recentre:  # frames changing quickly: draft quality until 300 ms after the last one
            self.view3d.interacted()
        if not recentre:
            self._set_draft(True)
            self.rest_timer.start()
        if self.camera_grid is not None:
            for name, panel in self.camera_grid.panels.items():
                panel.set_frame(fd.images.get(name), self.session.T_cam_from_world(index, name), (), fd.pts_world,
                                camera=self.session.camera(index, name))
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

    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        """World points (and intensities) shown now: the frame's, plus +-accumulate sweeps."""
        assert self.session is not None and self._fd is not None
        pts, inten = [self._fd.pts_world], [self._fd.intensity]
        for f in range(self.frame - self.accumulate, self.frame + self.accumulate + 1):
            if f == self.frame or not 0 <= f < len(self.session):
                continue
            fd = self.session.frames.get(f, prefetch=False)  # type: ignore[union-attr]
            pts.append(fd.pts_world)
            inten.append(fd.intensity)
        return np.concatenate(pts), np.concatenate(inten)

    def _update_points(self) -> None:
        if self._fd is None:
            return
        fd = self._fd
        origin = fd.T_world_from_ego[:3, 3]
        ground = float(fd.memo.get("ground_z", origin[2]))
        if self.accumulate <= 0:  # the common case: colours and order precomputed by the loader
            derive(fd, self.color_mode)
            self.view3d.set_points(fd.pts_world, fd.memo[("rgb", self.color_mode)])
            self.bev.set_points(fd.memo["bev_xy"], fd.memo["bev_rgb32"])
            return
        pts, inten = self._points()
        self.view3d.set_points(pts, point_colors(self.color_mode, pts, inten, origin, ground))
        order = height_order(pts[:, 2])
        self.bev.set_points(pts[order, :2], bev_colors(pts[order, 2], ground))

    # ---- boxes ----------------------------------------------------------------------------------
    def boxes(self) -> list[BoxRef]:
        """The document's boxes at the current frame."""
        if self.session is None:
            return []
        return self.session.doc.boxes_at(self.frame)

    def _shown_boxes(self) -> list[tuple[int | None, str, Box3D, str, float | None]]:
        """(track id, label, box, state, tracking confidence) drawn now: the document's, with the
        drag preview replacing its track's box (drawn as a keyframe; a new box while creating has
        track id None). ``state`` is one of ``fusionlabel.model.BOX_STATES``."""
        prev = self.ctx.preview if self.ctx is not None else None
        out: list[tuple[int | None, str, Box3D, str, float | None]] = []
        for r in self.boxes():
            if prev is not None and prev.frame == self.frame and prev.track_id == r.track_id:
                out.append((r.track_id, r.label, prev.box, "keyframe", None))
            else:
                out.append((r.track_id, r.label, r.box, r.state, r.confidence))
        if prev is not None and prev.frame == self.frame and prev.track_id is None:
            label = self.ctx.default_class if self.ctx is not None else "car"
            out.append((None, label, prev.box, "keyframe", None))
        return out

    def _update_boxes(self) -> None:
        """Every view's boxes from the document (cameras included)."""
        self._boxes_dirty = False
        if self.session is None:
            return
        refs = self.boxes()
        corners = box_corners([r.box for r in refs]) if refs else np.zeros((0, 8, 3))  # one batch
        cam_boxes = [CameraBox(r.track_id, r.label, c, r.is_keyframe, r.state, r.confidence)
                     for r, c in zip(refs, corners, strict=True)]
        if self.camera_grid is not None:
            props = self.proposals_ui.camera_items(self.session.doc, self.frame)
            for panel in self.camera_grid.panels.values():
                panel.set_boxes(cam_boxes, update=False)
                panel.set_proposals(props, update=False)
                panel.set_selected(self.selection)
        self._update_overlays()
        self._update_box_views()
        self._update_timeline()
        self.review.on_boxes_updated()

    def _on_bev_view_changed(self) -> None:
        if not self._in_show:  # zoom changes the handles' size in metres
            self._update_overlays()

    def _update_overlays(self) -> None:
        """3D and BEV boxes (with the preview), and the selected box's handles in the BEV."""
        if self.session is None:
            return
        glyphs, shapes = [], self._ego_shapes()
        sel = self.selection
        selected_box = None
        shown = self._shown_boxes()
        all_corners = box_corners([s[2] for s in shown]) if shown else np.zeros((0, 8, 3))
        # heading ticks: box centre -> front-face centre (BEV), all boxes at once
        ticks = np.stack([all_corners[:, :4, :2].mean(axis=1), all_corners[:, :2, :2].mean(axis=1)], axis=1)
        for (tid, label, box, state, conf), corners, tick in zip(shown, all_corners, ticks, strict=True):
            is_sel = tid is not None and tid == sel
            if is_sel or tid is None:
                selected_box = box
            key, tracked = state == "keyframe", state == "tracked"
            glyphs.append(BoxGlyph(corners, class_color_f(label), key, is_sel or tid is None,
                                   "new" if tid is None else str(tid), tracked, conf))
            color = SELECTED_COLOR if (is_sel or tid is None) else class_color(label)
            opacity = tracked_opacity(conf) if tracked and not is_sel else 1.0
            shapes.append(Shape(corners[:4, :2], color, 2.5 if is_sel else (1.6 if key else 1.2), True,
                                not key and not tracked, 45 if is_sel else 0, "" if tid is None else str(tid), tid,
                                dash_dot=tracked, opacity=opacity))
            shapes.append(Shape(tick, color, 1.5, closed=False, opacity=opacity))
        if selected_box is not None:
            shapes += self._handle_shapes("bev", selected_box, self.bev.scale, None)
        g, s = self._assist_overlays()
        shapes += self.review.bev_shapes()  # accepted / rejected marks
        g += self.review.glyphs_3d()  # issue markers
        self.view3d.set_boxes(glyphs + g)
        self.bev.set_shapes(s + shapes)

    def _assist_overlays(self) -> tuple[list, list[Shape]]:
        """Machine proposals (pre-labels: dotted pale lilac, filled, ``p<id> <score>``) and QA issue markers
        (a ring with ``!``: red while open, grey when resolved) of the current frame, for the 3D
        view and the BEV. They are not human boxes: the tools do not pick them."""

        if self.session is None:
            return [], []
        doc = self.session.doc
        glyphs, shapes = self.proposals_ui.overlays(doc, self.frame)  # gui/proposals.py: dotted, filled
        ang = np.linspace(0, 2 * np.pi, 25)
        ring = np.column_stack([np.cos(ang), np.sin(ang)]) * (7.0 / max(self.bev.scale, 1e-6))
        for m in getattr(doc, "issue_markers", lambda: [])():
            if m.frame is not None and m.frame != self.frame:
                continue
            color = (150, 150, 150) if m.resolved else (255, 70, 60)
            shapes.append(Shape(np.asarray(m.position[:2]) + ring, color, 2.0, True, False, 90, f"! {m.text}"[:40]))
        return glyphs, shapes

    def _ego_shapes(self) -> list[Shape]:
        """BEV context: range rings every 10 m around the ego vehicle and its footprint."""
        if self._fd is None:
            return []
        T = self._fd.T_world_from_ego
        ang = math.atan2(T[1, 0], T[0, 0]) + self.bev_up_offset + np.linspace(0, 2 * np.pi, 97)  # labels on top
        ring = np.column_stack([np.cos(ang), np.sin(ang)])
        out = [Shape(T[:2, 3] + r * ring, (70, 76, 88), 1.0, closed=False, text=f"{r} m" if r in (20, 40) else "")
               for r in (10, 20, 30, 40, 50)]
        # a generic car footprint: the ego origin is below the rear axle
        fp = np.array([[3.8, 0.95], [3.8, -0.95], [-1.0, -0.95], [-1.0, 0.95]])
        c, sn = math.cos(self.bev_up_offset), math.sin(self.bev_up_offset)  # forward = ego x turned by it
        fp = fp @ np.array([[c, sn], [-sn, c]])
        out.append(Shape(fp @ T[:2, :2].T + T[:2, 3], (170, 170, 180), 1.5, True, False, 60, "ego"))
        return out

    def _handle_shapes(self, view: str, box: Box3D, ppm: float, ref: Box3D | None) -> list[Shape]:
        """Small squares at the tools' handles (and the rotation handle with its stem)."""
        out = []
        half = 3.5 / ppm
        sq = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
        for h in box_handles(view, box, ppm, ref):
            pos = np.asarray(h.pos)
            if h.kind == "rotate":
                front = np.asarray(box_outline(view, box, ref)[:2].mean(axis=0))
                out.append(Shape(np.stack([front, pos]), (255, 230, 90), 1.2, closed=False))
                ang = np.linspace(0, 2 * np.pi, 13)[:-1]
                out.append(Shape(pos + 1.6 * half * np.column_stack([np.cos(ang), np.sin(ang)]), (255, 230, 90), 1.5,
                                 True, False, 200))
            else:
                out.append(Shape(pos + sq, (255, 255, 255), 1.0, True, False, 220))
        return out

    def _update_box_views(self) -> None:
        """Side and front views of the selected box: its neighbourhood in the view planes of the
        tools (u along the box axis from its committed centre, z world)."""
        ref = self.ctx.selected_box() if self.ctx is not None else None
        if ref is None or self._fd is None:
            for v in (self.side, self.front):
                v.set_points(np.zeros((0, 2)), np.zeros((0, 3), np.uint8))
                v.set_shapes([])
                v.message = "select a box"
            return
        box = ref.box
        shown = box
        prev = self.ctx.preview if self.ctx is not None else None
        if prev is not None and prev.track_id == ref.track_id and prev.frame == self.frame:
            shown = prev.box
        l, w, h = box.size
        cz = box.center[2]
        m = NEIGHBOURHOOD_MARGIN
        hood = box_neighbourhood(self._fd.pts_world, box, m)
        side_uv, front_uv, inside = hood.side_uv, hood.front_uv, hood.inside
        rgb = np.full((len(inside), 3), 110, np.uint8)
        rgb[inside] = class_color(ref.label)
        text = f"track {ref.track_id} {ref.label}  {shown.size[0]:.2f} x {shown.size[1]:.2f} x {shown.size[2]:.2f} m"
        if ref.state == "tracked":
            text += f"  (tracked, confidence {ref.confidence:.2f})"
        elif not ref.is_keyframe:
            text += f"  ({ref.state})"
        for view, name, uv, half in ((self.side, "side", side_uv, l / 2), (self.front, "front", front_uv, w / 2)):
            view.message = text
            view.set_points(uv, rgb, order=inside.astype(np.float32))
            view.set_view(up_angle=math.pi / 2)
            view.fit((-half - m / 2, cz - h / 2 - m / 2), (half + m / 2, cz + h / 2 + m / 2), margin=0.05)
            outline = box_outline(name, shown, box)
            shapes = [Shape(outline, SELECTED_COLOR, 2.0, True, ref.state in ("interpolated", "held"), 30,
                            dash_dot=ref.state == "tracked")]
            if name == "side":
                c = outline.mean(axis=0)
                shapes.append(Shape(np.array([c, [outline[:2, 0].mean(), c[1]]]), SELECTED_COLOR, 1.5, closed=False))
            shapes += self._handle_shapes(name, shown, view.scale, box)
            view.set_shapes(shapes)

    def _update_timeline(self) -> None:
        if self.session is None:
            return
        keys: list[int] = []
        span = None
        gaps: tuple[tuple[int, int], ...] = ()
        tracked: list[int] = []
        if self.selection is not None and self.selection in self.session.doc:
            t = self.session.doc.track(self.selection)
            keys = t.keyframe_indices()
            span = t.span()
            gaps = t.gaps
            tracked = [f for f in t.tracked if t.is_tracked(f)]
        ts = self.session.seq.frames
        t_s = (ts[self.frame].timestamp_ns - ts[0].timestamp_ns) / 1e9
        self.timeline.set_state(len(self.session), self.frame, t_s, keys, span, self.play_timer.isActive(), gaps,
                                tracked)

    # ---- selection, tools and editing -----------------------------------------------------------
    def select(self, track_id: int | None) -> None:
        """Select a track (None: nothing)."""
        self.model.select(track_id)

    def _on_selection(self, track_id: int | None) -> None:
        """The views that show the selection (cameras, BEV, side/front, timeline) redraw."""
        if not self._boxes_dirty:
            self._update_boxes()

    def _on_preview(self, preview: Preview | None) -> None:
        self._update_overlays()
        self._update_box_views()
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
                self.proposals_ui.on_bev_pointer(ev.kind, ev.xy, ev.px_per_m)  # a click picks a proposal
            if ev.kind == "move" and ev.button == "none":
                hint = self.ctl.cursor(pe)
                shape = _CURSORS.get(hint)
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
        self.proposals_ui.refresh()

    def jump_keyframe(self, direction: int) -> None:
        """Go to the next (+1) or previous (-1) keyframe of the selected track."""
        if self.session is None or self.selection is None or self.selection not in self.session.doc:
            return
        keys = self.session.doc.track(self.selection).keyframe_indices()
        cand = [k for k in keys if (k > self.frame if direction > 0 else k < self.frame)]
        if cand:
            self.set_frame(min(cand) if direction > 0 else max(cand))

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
        if self.session is None or self._fd is None or self.ctl is None or self.ctx is None:
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
        self._update_timeline()

    def _play_tick(self) -> None:
        if self.session is None or self.frame >= len(self.session) - 1:
            self.play_timer.stop()
            self._update_timeline()
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

    # ---- saving, autosave, recovery -------------------------------------------------------------
    @property
    def is_modified(self) -> bool:
        """True when the annotations differ from the saved project."""
        return self.session is not None and (self._recovered or not self.session.undo.is_clean)

    def _update_title(self) -> None:
        if self.session is None:
            self.setWindowTitle(APP_NAME)
            return
        star = "*" if self.is_modified else ""
        where = self.session.project_path.name if self.session.project_path else self.session.seq.name
        self.setWindowTitle(f"{star}{where} - {APP_NAME}")

    def save(self, ask: bool = False) -> bool:
        """Save the annotation project (atomically); True on success."""
        if self.session is None:
            return False
        path = self.session.project_path
        if path is None or ask:
            path = self.prompter.save_path(self, path or persist.default_project_path(self.session))
            if path is None:
                return False
        try:
            persist.save_project(self.session, path)
        except Exception as e:
            self.prompter.error(self, "Cannot save", f"{path}: {type(e).__name__}: {e}")
            return False
        self.session.project_path = Path(path)
        self.session.undo.mark_clean()
        if self.recovery is not None:
            self.recovery.mark_saved(path)
            if self._recovered:  # from now on the undo stack's clean state is the saved one
                self.recovery.close()
                self.recovery = persist.recovery_store(self.session, self.autosave_s, on_error=self._journal_failed)
        self._recovered = False
        self._restored_edits = 0
        self._update_title()
        self.model.show_message(f"Saved {path}", 5000)
        return True

    def _autosave_tick(self) -> None:
        if self.recovery is None:
            return
        try:
            if self.recovery.maybe_autosave():
                self.model.show_message(f"Autosaved to {self.recovery.path}", 3000)
        except Exception as e:  # never interrupt the labeler for an autosave; say it
            self.model.show_message(f"Autosave failed: {e}", 10000)

    def autosave(self) -> Path | None:
        """Write the recovery copy now if there are unsaved changes; its path, else None."""
        if self.recovery is None or not self.is_modified:
            return None
        try:
            return self.recovery.write_recovery()
        except Exception as e:
            self.model.show_message(f"Autosave failed: {e}", 10000)
            return None

    def _confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if not self.is_modified:
            return True
        ans = self.prompter.ask_save_changes(self)
        if ans == "save":
            return self.save()
        if ans == "discard":
            if self.recovery is not None:
                self.recovery.discard()
            return True
        return False

    def _ask_open(self) -> None:
        p = self.prompter.open_path(self)
        if p is not None:
            self.open_path(p)

    def closeEvent(self, event: QCloseEvent) -> None:  # type: ignore[override]
        if self._closed:  # closing twice (e.g. by the user and then by a test harness) is a no-op
            event.accept()
            return
        if not self._confirm_discard():
            event.ignore()
            return
        self._closed = True
        self.exporter.cancel()  # a running export stops; its staged output is removed
        self.play_timer.stop()
        self.rest_timer.stop()
        self._idle_3d.stop()
        self.autosave_timer.stop()
        self._finish_thread()
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
def _int_meta(meta: dict, key: str) -> int:
    v = meta.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def restore_note(meta: dict, recovery: Path, project: Path | None, doc: object) -> str:
    """The status line after a restore: how many edits came back, from which copy, and what the
    restored annotation holds, e.g. "Restored 12 edits (3 from the edit journal) from the recovery
    copy of annotations.flproj: 7 tracks, 95 keyframes", or "Restored 5 edits from the edit journal
    of annotations.flproj: ..." (edits made after the last save, no recovery copy written yet)."""
    edits, journaled = _int_meta(meta, "edits"), _int_meta(meta, "journal_records")
    of = project.name if project is not None else f"the unsaved annotation ({recovery.name})"
    count = f"{edits} edit{'s' if edits != 1 else ''}" if edits else "the unsaved edits"
    holds = f"{len(doc)} tracks, {doc.num_keyframes()} keyframes"  # type: ignore[arg-type, attr-defined]
    if meta.get("recovery_base") == "project":
        return f"Restored {count} from the edit journal of {of}: {holds}"
    tail = f" ({journaled} from the edit journal)" if journaled else ""
    return f"Restored {count}{tail} from the recovery copy of {of}: {holds}"


def build_parser() -> argparse.ArgumentParser:
    """The ``fusionlabel open`` arguments (also used by ``fusionlabel demo``)."""
    p = argparse.ArgumentParser(prog="fusionlabel open", description="open a sequence in the labeling workstation")
    p.add_argument("path", nargs="?", type=Path, help="sequence (any supported layout) or project file")
    p.add_argument("--frame", type=int, default=0, help="frame to show first (0-based)")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window with the data loaded, then exit")
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--select", type=int, default=None, help="select this track id first")
    add_open_arguments(p)  # --format, --estimate-poses and the other loader options
    return p


def run(args: argparse.Namespace, prompter: Prompter | None = None) -> int:
    """Run the window for parsed arguments (see :func:`build_parser`); returns the exit code."""
    display = any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    if QApplication.instance() is None and sys.platform.startswith("linux") and not display:
        # Qt would abort the whole process; say what to do instead
        print("fusionlabel open: no display (DISPLAY is not set); run it in a desktop session or under "
              "xvfb-run -a -s '-screen 0 1600x1000x24' (the 3D view needs X or Wayland, not 'offscreen')",
              file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    win = MainWindow(prompter)
    try:
        w, h = (int(v) for v in str(getattr(args, "size", "1600x1000")).lower().split("x"))
    except ValueError:
        print(f"fusionlabel open: bad --size {args.size!r}", file=sys.stderr)
        return 2
    win.resize(w, h)
    win.show()
    if args.path is None:
        return 0 if args.screenshot else app.exec()
    status = {"ok": None}

    def on_loaded() -> None:
        status["ok"] = True
        if args.frame:
            win.set_frame(args.frame)
        if getattr(args, "select", None) is not None:
            win.select(args.select)

    def on_failed(msg: str) -> None:
        status["ok"] = False
        if args.screenshot:
            print(f"fusionlabel open: {msg}", file=sys.stderr)

    win.loaded.connect(on_loaded)
    win.load_failed.connect(on_failed)
    if args.screenshot:
        class _Quiet(Prompter):
            def error(self, parent: QWidget, title: str, text: str) -> None:
                print(f"fusionlabel open: {title}: {text}", file=sys.stderr)

        win.prompter = prompter or _Quiet()
        win.recovery_enabled = False  # a screenshot run leaves a recovery copy alone
    win.open_path(args.path, open_args=args)
    if not args.screenshot:
        return app.exec()
    while status["ok"] is None:
        app.processEvents()
        time.sleep(0.01)
    if not status["ok"]:
        win.close()
        return 2
    for _ in range(5):
        app.processEvents()
        time.sleep(0.02)
    img = win.screenshot()
    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    ok = img.save(str(args.screenshot))
    win._recovered = False
    if win.session is not None:
        win.session.undo.mark_clean()  # a screenshot run never asks to save
    win.close()
    if not ok:
        print(f"fusionlabel open: cannot write {args.screenshot}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``fusionlabel open`` / ``fusionlabel demo`` entry: ``argv`` like the command line (without
    the program name). Returns the exit code."""
    args = build_parser().parse_args(list(argv) if argv is not None else sys.argv[1:])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
