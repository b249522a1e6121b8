"""Session loading and closing (Qt side): :class:`SessionLoader` opens a path in a background job
of the model's runner, shows the loaded session (tool context and controller bound to the
model, recovery offered, camera panels made, the object list filled, frame 0 shown) and closes
it. It takes the model and the parts and widgets it needs, never the window."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QLabel, QVBoxLayout

from fusionlabel.document import DocumentEvent
from fusionlabel.lod import build_lod
from fusionlabel.tools import ToolContext, ToolController
from gui import persist
from gui.cameras import CameraGrid
from gui.model import ViewerModel
from gui.model.actions import ActionRegistry
from gui.model.jobs import Job
from gui.qt.drawing import ViewDrawing
from gui.qt.frameview import FrameView
from gui.qt.saving import ProjectKeeper
from gui.session import Session, load_session
from gui.widgets import ObjectList


class SessionLoader:
    """Loads, shows and closes sessions. ``parts``: the model's ``tracks``, ``proposal_review``
    and ``auto_track`` are (re)bound to each session; ``error(title, text)`` tells the user;
    ``loaded()`` / ``failed(message)`` report a load's end; ``recovery``: autosave and the
    recovery question (False for a screenshot run)."""

    def __init__(self, model: ViewerModel, registry: ActionRegistry, keeper: ProjectKeeper, drawing: ViewDrawing,
                 frames: FrameView, objects: ObjectList, cam_layout: QVBoxLayout, cam_placeholder: QLabel,
                 autosave_timer: QTimer, error: Callable[[str, str], None], loaded: Callable[[], None],
                 failed: Callable[[str], None], recovery: bool = True) -> None:
        self.model, self.registry, self.keeper, self.drawing, self.frames = model, registry, keeper, drawing, frames
        self.objects, self.cam_layout, self.cam_placeholder = objects, cam_layout, cam_placeholder
        self.autosave_timer, self.error, self.loaded, self.failed = autosave_timer, error, loaded, failed
        self.recovery = recovery
        self.job: Job | None = None  # the loading job
        self._unsub: list[Callable[[], None]] = []
        self.boxes_dirty = False  # a redraw after document changes is scheduled

    # ---- loading --------------------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike[str], open_args: argparse.Namespace | None = None) -> None:
        """Load a sequence or project in a background job; the window stays responsive.
        ``open_args``: dataset options from the command line (``--format``, ``--estimate-poses``...)."""
        if self.job is not None:
            return
        if self.model.session is not None and not self.keeper.confirm_discard():
            return
        p = Path(path)
        self.model.show_message(f"Loading {p} ...")
        self.model.progress.start(0, f"Loading {p}")

        def work(job: Job) -> Session:
            return load_session(p, progress=lambda d, t, w: job.report(d, t, w), open_args=open_args)

        self.job = self.model.jobs.submit("load", work, progress=self._on_progress, finished=self._on_finished)

    def finish(self, drop: bool = False) -> None:
        """Wait for the loading job (``drop``: its outcome is not wanted any more)."""
        if self.job is not None:
            if drop:
                self.job.cancel(drop=True)
            self.job.wait()
            self.job = None
        self.model.progress.finish()

    def _on_progress(self, job: Job, done: int, total: int, what: str) -> None:
        self.model.progress.update(done, total, what)
        self.model.show_message(what)

    def _on_finished(self, job: Job) -> None:
        self.finish()
        if job.state != "done":
            message = job.error or job.state
            self.model.show_message("Loading failed", 5000)
            self.error("Cannot open", message)
            self.failed(message)
            return
        self.set_session(job.result)
        self.loaded()

    # ---- showing --------------------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        """Show a loaded session (replacing the current one); offers a newer recovery copy."""
        self.close_session()
        session.time_correct = bool(self.model.view.time_correct)  # the View menu's timing options
        session.set_deskew(bool(self.model.view.deskew))
        self.model.set_session(session)
        self.keeper.reset()
        if self.recovery:
            try:
                persist.remove_stale_files(session)  # what crashed writes left (old, writer gone)
            except OSError:
                pass
            self.keeper.offer_recovery()
        self.bind_document()
        cams = {n: session.camera(0, n) for n in session.camera_names}
        if self.drawing.camera_grid is not None:
            self.drawing.camera_grid.setParent(None)
        self.cam_placeholder.setVisible(not cams)
        self.cam_placeholder.setText("no cameras in this sequence")
        grid = self.drawing.camera_grid = CameraGrid(cams)
        grid.box_clicked.connect(self.model.select)
        self.drawing.show_camera_points(bool(self.model.view.camera_points))
        self.drawing.mirror_layers()  # the model's further layers in the new panels
        self.cam_layout.addWidget(grid)
        self.objects.set_ontology(session.ontology, self.classes())
        self.objects.refresh(session.doc)
        ts = [f.timestamp_ns for f in session.seq.frames]
        period_ms = float(np.median(np.diff(ts))) / 1e6 if len(ts) > 1 else 100.0
        self.frames.play_timer.setInterval(max(10, int(round(period_ms))))
        first = session.frames.get(0, prefetch=False) if len(session) else None
        refine = first is not None and first.lod is not None and first.lod.provisional
        if refine:  # a big first frame: drawn now, refined next, its neighbours prefetched after
            session.frames.hold_prefetch()
        self.frames.show_frame(0, recentre=True)
        if refine:
            QTimer.singleShot(0, lambda: self.refine_lod(session, first))
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

    def refine_lod(self, session: Session, fd: Any) -> None:
        """Replace the provisional level of detail of a big frame ``fd`` (``FrameData``) by its
        voxel order (``fusionlabel.lod.build_lod``), built in a background job; then the views
        redraw it and the held prefetch of the neighbours starts."""

        def work(job: Job) -> Any:
            return build_lod(fd.pts_world)

        def finished(job: Job) -> None:
            if self.model.session is not session:
                return  # closed meanwhile (the job's frame is gone with it)
            if job.state == "done" and fd.lod is not None and fd.lod.provisional:
                fd.lod = job.result
                if self.model.frame == fd.index and self.drawing.fd is fd:
                    self.drawing.update_points()
            assert session.frames is not None
            session.frames.release_prefetch()

        self.model.jobs.submit("level of detail", work, finished=finished)

    def bind_document(self) -> None:
        """(Re)create the tool context, controller and recovery store for the session's document."""
        s: Any = self.model.session
        assert s is not None
        m = self.model
        for u in self._unsub:
            u()
        if self.recovery:
            self.keeper.bind(s)
        ctx = ToolContext(s.doc, s.undo, 0, ontology=s.ontology, default_class=self.objects.new_class or "car")
        ctl = ToolController(ctx, self.registry.keymap, on_app_action=lambda name: self.registry.run(name, m),
                             app_actions=self.registry.app_actions())
        with m.events.blocker("frame", "selection", "preview"):  # set_session shows frame 0
            m.bind_tools(ctx, ctl)  # the context's events reach the views through the model
        ctx.box_predictor = m.tracks.box_predictor  # "copy to next frame": predicted + refined
        # one-click: walkers' and riders' heading from their motion in the neighbouring sweeps (only
        # with ego poses: without them the ego's own motion would look like the object's)
        ctx.neighbour_points = (lambda k: s.sweep_near(m.frame, k)) if s.seq.has_ego_poses() else None
        # with no box selected, the nudge keys edit the proposal under review (until it is accepted)
        pr = m.proposal_review
        ctx.proposal_under_review = lambda: pr.current.proposal_id if pr.current is not None else None
        pr.bind()
        m.auto_track.bind()
        self._unsub = [s.doc.subscribe(self._on_doc_event), s.undo.subscribe(self.keeper.update_title)]

    def _on_doc_event(self, event: DocumentEvent) -> None:
        if not self.boxes_dirty:
            self.boxes_dirty = True
            QTimer.singleShot(0, self.refresh_after_change)

    def refresh_after_change(self) -> None:
        """The views after document changes (one redraw for a batch of events)."""
        self.boxes_dirty = False
        s = self.model.session
        if s is None:
            return
        if self.model.context is not None:
            self.model.context.validate_selection()
        self.drawing.update_boxes()
        self.objects.refresh(s.doc)
        self.model.proposal_review.refresh()

    def close_session(self) -> None:
        """Unbind and close the session (the model has none after)."""
        for u in self._unsub:
            u()
        self._unsub = []
        self.model.proposal_review.close()
        self.model.auto_track.close()
        self.frames.play_timer.stop()
        self.autosave_timer.stop()
        self.keeper.close()
        if self.model.session is not None:
            self.model.session.close()
        self.model.set_session(None)

    def classes(self) -> list[str]:
        """The ontology's class names, then the other labels used in the document."""
        s = self.model.session
        assert s is not None
        names = s.ontology.class_names()
        used = sorted({t.label for t in s.doc.tracks.values()} - set(names))
        return [*names, *used]
