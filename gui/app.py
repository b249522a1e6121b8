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
from PyQt6.QtCore import QObject, QPoint, Qt, QThread, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QImage, QKeySequence, QPainter
from PyQt6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.commands import DeleteTrack, SetLabel
from fusionlabel.document import BoxRef, DocumentEvent
from gui import persist
from gui.cameras import CameraBox, CameraGrid
from gui.colors import COLOR_MODES, SELECTED_COLOR, bev_colors, class_color, class_color_f, point_colors
from gui.frames import FrameData
from gui.ortho import OrthoView, PlaneEvent, Shape
from gui.session import Session, derive, load_session
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

    def ask_recover(self, parent: QWidget, path: Path, when: float) -> bool:
        """Restore the autosaved recovery copy ``path`` (written at ``when``, epoch seconds)?"""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
        r = QMessageBox.question(
            parent,
            APP_NAME,
            f"FusionLabel did not close properly. A recovery copy of your annotations from {stamp} "
            f"exists:\n{path}\n\nRestore it?",
        )
        return r == QMessageBox.StandardButton.Yes

    def error(self, parent: QWidget, title: str, text: str) -> None:
        QMessageBox.critical(parent, title, text)

    def save_path(self, parent: QWidget, suggested: Path) -> Path | None:
        p, _ = QFileDialog.getSaveFileName(parent, "Save annotations", str(suggested), "Projects (*.json)")
        return Path(p) if p else None

    def open_path(self, parent: QWidget) -> Path | None:
        p = QFileDialog.getExistingDirectory(parent, "Open a sequence folder")
        return Path(p) if p else None


# ---- loading in a worker thread -------------------------------------------------------------------
class _LoadWorker(QObject):
    progress = pyqtSignal(int, int, str)
    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def run(self) -> None:
        try:
            session = load_session(self.path, progress=lambda d, t, w: self.progress.emit(d, t, w))
        except Exception as e:  # shown in a dialog; the window stays up
            self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.done.emit(session)


# ---- the window -----------------------------------------------------------------------------------
class MainWindow(QMainWindow):
    """The labeling workstation. ``open_path(path)`` loads in the background (``loaded`` or
    ``load_failed`` is emitted); ``set_frame``, ``select`` drive it like the user does."""

    loaded = pyqtSignal()
    load_failed = pyqtSignal(str)
    frame_shown = pyqtSignal(int)

    def __init__(self, prompter: Prompter | None = None, autosave_s: float = 60.0) -> None:
        super().__init__()
        self.prompter = prompter or Prompter()
        self.session: Session | None = None
        self.frame = 0
        self.selection: int | None = None
        self.color_mode = "height"
        self.accumulate = 0
        self.follow_ego = True
        self._fd: FrameData | None = None
        self._thread: QThread | None = None
        self._worker: _LoadWorker | None = None
        self._unsub: list = []
        self._changes = 0  # document changes since the last autosave
        self._recovered = False  # document restored from a recovery copy and not saved yet
        self._boxes_dirty = False
        self.camera_grid: CameraGrid | None = None
        self.setWindowTitle(APP_NAME)
        self.resize(1600, 1000)
        self._build()
        self._actions()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(max(1, int(autosave_s * 1000)))
        self.autosave_timer.timeout.connect(self.autosave)
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._play_tick)

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        from gui.render.view3d import View3D  # the only vispy user

        self.view3d = View3D()
        self.bev = OrthoView(title="BEV")
        self.bev.pointer.connect(self._on_bev_pointer)
        self.side = OrthoView(title="side (from the right)")
        self.front = OrthoView(title="front")
        for v in (self.side, self.front):
            v.pointer.connect(self._on_box_view_pointer)

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
        self.color_box.currentTextChanged.connect(self.set_color_mode)
        form.addRow("Points by", self.color_box)
        self.accum_box = QSpinBox()
        self.accum_box.setRange(0, 10)
        self.accum_box.setToolTip("also show N sweeps before and after (world frame)")
        self.accum_box.valueChanged.connect(self.set_accumulate)
        form.addRow("Accumulate +-", self.accum_box)
        self.cam_points_box = QCheckBox("LiDAR in cameras")
        self.cam_points_box.toggled.connect(self.set_camera_points)
        form.addRow(self.cam_points_box)
        self.lod_box = QCheckBox("Level of detail while moving")
        self.lod_box.setChecked(True)
        self.lod_box.toggled.connect(lambda on: setattr(self.view3d, "lod_enabled", on))
        form.addRow(self.lod_box)
        rl.addLayout(form)
        rdock = QDockWidget("Selected box", self)
        rdock.setObjectName("selected")
        rdock.setWidget(right)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, rdock)
        self.resizeDocks([dock, rdock], [230, 300], Qt.Orientation.Horizontal)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.statusBar().addPermanentWidget(self.progress)

    def _actions(self) -> None:
        self.shortcut_rows: list[tuple[str, str]] = []

        def act(menu, text: str, keys: Sequence[str], slot, tip: str = "") -> QAction:  # type: ignore[no-untyped-def]
            a = QAction(text, self)
            if keys:
                a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(slot)
            menu.addAction(a)
            self.addAction(a)
            self.shortcut_rows.append((", ".join(keys), tip or text.replace("&", "")))
            return a

        m = self.menuBar().addMenu("&File")
        act(m, "&Open...", ["Ctrl+O"], lambda: self._ask_open())
        self.save_action = act(m, "&Save", ["Ctrl+S"], lambda: self.save())
        act(m, "Save &as...", ["Ctrl+Shift+S"], lambda: self.save(ask=True))
        act(m, "&Quit", ["Ctrl+Q"], self.close)
        m = self.menuBar().addMenu("&Edit")
        self.undo_action = act(m, "&Undo", ["Ctrl+Z"], self.undo)
        self.redo_action = act(m, "&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo)
        act(m, "&Delete track", ["Delete"], self.delete_selected, "delete the selected track")
        act(m, "Deselect", ["Escape"], lambda: self.select(None), "clear the selection")
        m = self.menuBar().addMenu("&Navigate")
        act(m, "Next frame", ["Right", "D"], lambda: self.set_frame(self.frame + 1))
        act(m, "Previous frame", ["Left", "A"], lambda: self.set_frame(self.frame - 1))
        act(m, "Play / pause", ["Space"], self.toggle_play)
        act(m, "Next keyframe", ["]"], lambda: self.jump_keyframe(1), "next keyframe of the selected track")
        act(m, "Previous keyframe", ["["], lambda: self.jump_keyframe(-1), "previous keyframe of the selected track")
        act(m, "First frame", ["Home"], lambda: self.set_frame(0))
        act(m, "Last frame", ["End"], lambda: self.set_frame(len(self.session) - 1 if self.session else 0))
        m = self.menuBar().addMenu("&View")
        act(m, "Cycle point colours", ["C"], self._cycle_colors, "points by height / intensity / distance")
        act(m, "LiDAR in cameras", ["P"], lambda: self.cam_points_box.toggle(), "toggle LiDAR points in the cameras")
        act(m, "Reset views", ["R"], self.reset_views, "centre the views on the ego vehicle")
        m = self.menuBar().addMenu("&Help")
        act(m, "&Keyboard shortcuts", ["F1", "?"], self.show_help)

    # ---- session --------------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str]) -> None:
        """Load a sequence in a worker thread; the window stays responsive meanwhile."""
        if self._thread is not None:
            return
        if self.session is not None and not self._confirm_discard():
            return
        p = Path(path)
        self.statusBar().showMessage(f"Loading {p} ...")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._thread = QThread(self)
        self._worker = _LoadWorker(p)
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
        self.progress.setVisible(False)

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.statusBar().showMessage(what)

    def _on_load_failed(self, message: str) -> None:
        self._finish_thread()
        self.statusBar().showMessage("Loading failed", 5000)
        self.prompter.error(self, "Cannot open", message)
        self.load_failed.emit(message)

    def _on_loaded(self, session: Session) -> None:
        self._finish_thread()
        self.set_session(session)
        self.loaded.emit()

    def set_session(self, session: Session) -> None:
        """Show a loaded session (replacing the current one)."""
        self._close_session()
        self.session = session
        self.frame = 0
        self.selection = None
        self._recovered = False
        self._changes = 0
        self._unsub = [session.doc.subscribe(self._on_doc_event), session.undo.subscribe(self._update_title)]
        cams = {n: session.seq.rig.camera(n) for n in session.seq.camera_names}
        if self.camera_grid is not None:
            self.camera_grid.setParent(None)
        self.cam_placeholder.setVisible(not cams)
        self.cam_placeholder.setText("no cameras in this sequence")
        self.camera_grid = CameraGrid(cams)
        self.camera_grid.box_clicked.connect(self.select)
        self.cam_layout.addWidget(self.camera_grid)
        self.objects.set_classes(self._classes())
        self.objects.refresh(session.doc)
        ts = [f.timestamp_ns for f in session.seq.frames]
        period_ms = float(np.median(np.diff(ts))) / 1e6 if len(ts) > 1 else 100.0
        self.play_timer.setInterval(max(10, int(round(period_ms))))
        self._maybe_recover()
        self.show_frame(0, recentre=True)
        self.autosave_timer.start()
        self._update_title()
        self.statusBar().showMessage(
            f"Loaded {session.seq.name}: {len(session)} frames, {len(session.doc)} tracks "
            f"({'ground truth' if session.initial_annotation == 'ground_truth' else session.initial_annotation})",
            8000,
        )

    def _close_session(self) -> None:
        for u in self._unsub:
            u()
        self._unsub = []
        self.play_timer.stop()
        if self.session is not None:
            self.session.close()
        self.session = None

    def _classes(self) -> list[str]:
        assert self.session is not None
        used = [t.label for t in self.session.doc.tracks.values()]
        return sorted(set(used) | {"car", "pedestrian", "cyclist", "truck", "bus"})

    # ---- frames ---------------------------------------------------------------------------------
    def set_frame(self, index: int) -> None:
        """Go to frame ``index`` (clamped to the sequence)."""
        if self.session is None:
            return
        index = int(min(max(index, 0), len(self.session) - 1))
        if index != self.frame:
            self.show_frame(index)

    def show_frame(self, index: int, recentre: bool = False) -> None:
        assert self.session is not None
        try:
            fd = self.session.frame(index)
        except Exception as e:
            self.play_timer.stop()
            self.prompter.error(self, "Cannot read frame", f"frame {index}: {type(e).__name__}: {e}")
            return
        self.frame = index
        self._fd = fd
        T = fd.T_world_from_ego
        ego_xy = T[:2, 3]
        ego_yaw = math.atan2(T[1, 0], T[0, 0])
        if recentre:
            self.view3d.look_at(T[:3, 3] + np.array([0, 0, 1.0]), ego_yaw, 60.0)
            self.bev.set_view(ego_xy, 7.0, ego_yaw)
        elif self.follow_ego:
            self.view3d.look_at(T[:3, 3] + np.array([0, 0, 1.0]))
            self.bev.set_view(ego_xy, None, ego_yaw)
        self._update_points()
        if self.camera_grid is not None:
            for name, panel in self.camera_grid.panels.items():
                T_cam = np.linalg.inv(self.session.seq.T_world_from_sensor(index, name))
                panel.set_frame(fd.images.get(name), T_cam, (), fd.pts_world)
        self._update_boxes()
        self.frame_shown.emit(index)

    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        """World points (and intensities) shown now: the frame's, plus +-accumulate sweeps."""
        assert self.session is not None and self._fd is not None
        if self.accumulate <= 0:
            return self._fd.pts_world, self._fd.intensity
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
        ground = float(origin[2])
        if self.accumulate <= 0:  # the common case: colours and order precomputed by the loader
            derive(fd, self.color_mode)
            self.view3d.set_points(fd.pts_world, fd.memo[("rgb", self.color_mode)])
            order = fd.memo["z_order"]
            self.bev.set_points(fd.pts_world[order, :2], fd.memo["bev_rgb"])
            return
        pts, inten = self._points()
        self.view3d.set_points(pts, point_colors(self.color_mode, pts, inten, origin, ground))
        order = np.argsort(pts[:, 2], kind="stable")
        self.bev.set_points(pts[order, :2], bev_colors(pts[order, 2], ground))

    # ---- boxes ----------------------------------------------------------------------------------
    def boxes(self) -> list[BoxRef]:
        """The document's boxes at the current frame."""
        if self.session is None:
            return []
        return self.session.doc.boxes_at(self.frame)

    def _update_boxes(self) -> None:
        from gui.render.view3d import BoxGlyph

        self._boxes_dirty = False
        if self.session is None:
            return
        refs = self.boxes()
        glyphs, shapes, cam_boxes = [], [], []
        for r in refs:
            corners = r.box.corners()
            sel = r.track_id == self.selection
            glyphs.append(BoxGlyph(corners, class_color_f(r.label), r.is_keyframe, sel, str(r.track_id)))
            color = SELECTED_COLOR if sel else class_color(r.label)
            shapes.append(
                Shape(corners[:4, :2], color, 2.5 if sel else (1.6 if r.is_keyframe else 1.2), True,
                      not r.is_keyframe, 50 if sel else 0, str(r.track_id), r.track_id)
            )
            c = np.asarray(r.box.center[:2])
            front = corners[[0, 1], :2].mean(axis=0)
            shapes.append(Shape(np.stack([c, front]), color, 1.5, closed=False))
            cam_boxes.append(CameraBox(r.track_id, r.label, corners, r.is_keyframe))
        self.view3d.set_boxes(glyphs)
        self.bev.set_shapes(shapes)
        if self.camera_grid is not None:
            for panel in self.camera_grid.panels.values():
                panel.set_boxes(cam_boxes, update=False)
                panel.set_selected(self.selection)
        self._update_box_views()
        self._update_timeline()

    def _update_box_views(self) -> None:
        """Side and front views of the selected box: its neighbourhood in the box frame."""
        ref = None
        if self.session is not None and self.selection is not None and self.selection in self.session.doc:
            ref = self.session.doc.box_at(self.selection, self.frame)
        if ref is None or self._fd is None:
            for v in (self.side, self.front):
                v.set_points(np.zeros((0, 2)), np.zeros((0, 3), np.uint8))
                v.set_shapes([])
                v.message = "select a box" if ref is None else ""
            return
        box = ref.box
        l, w, h = box.size
        cx, cy, cz = box.center
        cos, sin = math.cos(box.yaw), math.sin(box.yaw)
        pts = self._fd.pts_world
        dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
        u = dx * cos + dy * sin  # along the heading
        v = -dx * sin + dy * cos  # to the left
        z = pts[:, 2]
        m = 1.5
        near = (np.abs(u) < l / 2 + m) & (np.abs(v) < w / 2 + m) & (np.abs(z - cz) < h / 2 + m)
        u, v, z = u[near], v[near], z[near]
        inside = (np.abs(u) <= l / 2) & (np.abs(v) <= w / 2) & (np.abs(z - cz) <= h / 2)
        rgb = np.full((len(u), 3), 120, np.uint8)
        rgb[inside] = class_color(ref.label)
        color = SELECTED_COLOR
        for view, a, half in ((self.side, u, l / 2), (self.front, v, w / 2)):
            view.message = f"track {ref.track_id} {ref.label}  {l:.2f} x {w:.2f} x {h:.2f} m" + (
                "" if ref.is_keyframe else "  (interpolated)")
            view.set_points(np.column_stack([a, z]), rgb, order=inside.astype(np.float32))
            rect = np.array([[-half, cz - h / 2], [half, cz - h / 2], [half, cz + h / 2], [-half, cz + h / 2]])
            shapes = [Shape(rect, color, 2.0, True, not ref.is_keyframe, 30)]
            if view is self.side:
                shapes.append(Shape(np.array([[0.0, cz], [half, cz]]), color, 1.5, closed=False))
            view.set_shapes(shapes)
            view.set_view(up_angle=math.pi / 2)
            view.fit((-half - m / 2, cz - h / 2 - m / 2), (half + m / 2, cz + h / 2 + m / 2), margin=0.05)

    def _update_timeline(self) -> None:
        if self.session is None:
            return
        keys: list[int] = []
        span = None
        if self.selection is not None and self.selection in self.session.doc:
            t = self.session.doc.track(self.selection)
            keys = t.keyframe_indices()
            span = t.span()
        ts = self.session.seq.frames
        t_s = (ts[self.frame].timestamp_ns - ts[0].timestamp_ns) / 1e9
        self.timeline.set_state(len(self.session), self.frame, t_s, keys, span, self.play_timer.isActive())

    # ---- selection and editing ------------------------------------------------------------------
    def select(self, track_id: int | None) -> None:
        """Select a track (None: nothing)."""
        if self.session is not None and track_id is not None and track_id not in self.session.doc:
            track_id = None
        if track_id == self.selection:
            return
        self.selection = track_id
        self.objects.set_current(track_id)
        self._update_boxes()

    def _on_bev_pointer(self, ev: PlaneEvent) -> None:
        if ev.kind == "press":
            hits = self.bev.shapes_at(ev.xy)
            self.select(hits[0].key if hits else None)  # type: ignore[arg-type]

    def _on_box_view_pointer(self, ev: PlaneEvent) -> None:
        pass

    def _set_label(self, track_id: int, label: str) -> None:
        if self.session is None or self.session.doc.track(track_id).label == label:
            return
        self.session.undo.push(SetLabel(track_id, label))

    def delete_selected(self) -> None:
        if self.session is None or self.selection is None:
            return
        tid = self.selection
        self.select(None)
        self.session.undo.push(DeleteTrack(tid))

    def undo(self) -> None:
        if self.session is not None:
            self.session.undo.undo()
            self._validate_selection()

    def redo(self) -> None:
        if self.session is not None:
            self.session.undo.redo()
            self._validate_selection()

    def _validate_selection(self) -> None:
        if self.session is not None and self.selection is not None and self.selection not in self.session.doc:
            self.select(None)

    def _on_doc_event(self, event: DocumentEvent) -> None:
        self._changes += 1
        if not self._boxes_dirty:
            self._boxes_dirty = True
            QTimer.singleShot(0, self._refresh_after_change)

    def _refresh_after_change(self) -> None:
        if self.session is None:
            return
        self._update_boxes()
        self.objects.refresh(self.session.doc)

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
        self.color_mode = mode
        if self.color_box.currentText() != mode:
            self.color_box.setCurrentText(mode)
        self._update_points()

    def _cycle_colors(self) -> None:
        i = COLOR_MODES.index(self.color_mode)
        self.set_color_mode(COLOR_MODES[(i + 1) % len(COLOR_MODES)])

    def set_accumulate(self, n: int) -> None:
        self.accumulate = int(n)
        if self.accum_box.value() != n:
            self.accum_box.setValue(n)
        self._update_points()

    def set_camera_points(self, on: bool) -> None:
        if self.camera_grid is not None:
            for panel in self.camera_grid.panels.values():
                panel.set_show_points(on)

    def reset_views(self) -> None:
        if self.session is not None:
            self.show_frame(self.frame, recentre=True)

    def toggle_play(self) -> None:
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

    def show_help(self) -> None:
        ShortcutHelp(self.shortcut_rows, self).exec()

    # ---- saving, autosave, recovery -------------------------------------------------------------
    @property
    def is_modified(self) -> bool:
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
        self._recovered = False
        persist.remove_recovery(self.session)
        self._changes = 0
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def autosave(self) -> Path | None:
        """Write the recovery copy if the document changed since the last one."""
        if self.session is None or (self._changes == 0 and not self._recovered) or not self.is_modified:
            return None
        try:
            p = persist.write_recovery(self.session)
        except Exception as e:  # never interrupt the labeler for an autosave; say it
            self.statusBar().showMessage(f"Autosave failed: {e}", 10000)
            return None
        self._changes = 0
        self.statusBar().showMessage(f"Autosaved to {p}", 3000)
        return p

    def _maybe_recover(self) -> None:
        assert self.session is not None
        rec = persist.find_recovery(self.session)
        if rec is None:
            return
        if self.prompter.ask_recover(self, rec, rec.stat().st_mtime):
            try:
                persist.restore_recovery(self.session, rec)
            except Exception as e:
                self.prompter.error(self, "Cannot restore", f"{rec}: {type(e).__name__}: {e}")
                return
            # the session's document object was replaced: re-subscribe
            for u in self._unsub:
                u()
            self._unsub = [self.session.doc.subscribe(self._on_doc_event),
                           self.session.undo.subscribe(self._update_title)]
            self._recovered = True
            self.objects.refresh(self.session.doc)
        else:
            persist.remove_recovery(self.session)

    def _confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if not self.is_modified:
            return True
        ans = self.prompter.ask_save_changes(self)
        if ans == "save":
            return self.save()
        if ans == "discard":
            assert self.session is not None
            persist.remove_recovery(self.session)
            return True
        return False

    def _ask_open(self) -> None:
        p = self.prompter.open_path(self)
        if p is not None:
            self.open_path(p)

    def closeEvent(self, event: QCloseEvent) -> None:  # type: ignore[override]
        if not self._confirm_discard():
            event.ignore()
            return
        self.autosave_timer.stop()
        self._finish_thread()
        self._close_session()
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
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fusionlabel open", description="open a sequence in the labeling workstation")
    p.add_argument("path", nargs="?", type=Path, help="sequence folder")
    p.add_argument("--frame", type=int, default=0, help="frame to show first (0-based)")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window with the data loaded, then exit")
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--select", type=int, default=None, help="select this track id first")
    return p


def run(args: argparse.Namespace, prompter: Prompter | None = None) -> int:
    """Run the window for parsed arguments (see :func:`build_parser`); returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    win = MainWindow(prompter)
    try:
        w, h = (int(v) for v in str(args.size).lower().split("x"))
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
        if args.select is not None:
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

            def ask_recover(self, parent: QWidget, path: Path, when: float) -> bool:
                return False

        win.prompter = prompter or _Quiet()
    win.open_path(args.path)
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
    win.session.undo.mark_clean() if win.session else None  # a screenshot run never asks to save
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
