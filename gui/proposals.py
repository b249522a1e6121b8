"""Pre-label proposals in the window: run ``fusionlabel.assist.prelabel`` in a worker thread (with
progress, the window stays responsive), draw the proposals styled apart from the human labels,
and review them from a dock and the keyboard (highest confidence first; the dock's "lowest first"
box turns the order round). "Accept above" (Shift+Y, Assist menu, the dock's button) accepts every
proposal at or above the dock's threshold as tracks in one undoable step. The proposal under
review is centred in the BEV and the 3D view and drawn highlighted there and in the cameras.

Proposals are not tracks (see docs/assist.md): they live in ``doc.proposals`` and become tracks
only through the undoable commands of ``fusionlabel.assist.review`` (accept, reject, edit), pushed
on the session's undo stack. Boxes are world-frame; the sweeps are read in the worker thread from
the session's ``LoadedSequence`` and moved to the world frame by ``frames_from_sequence``.

Style: a proposal is drawn in the BEV as a **dotted** pale-lilac footprint with a faint fill and
``p<id> <score>`` (human boxes: solid keyframes / dashed interpolated outlines in the class colour,
never filled except the selected one in white); the proposal under review is drawn thicker with a
stronger fill. In 3D: dashed pale-lilac wireframes with the same text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PyQt6.QtCore import QObject, Qt, QThread, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.assist import ReviewQueue, frames_from_sequence, prelabel, set_prelabels
from fusionlabel.assist.review import ACCEPT_THRESHOLD
from fusionlabel.document import AnnotationDocument, Proposal
from fusionlabel.errors import ModelError
from fusionlabel.ontology import Ontology
from fusionlabel.tools.select import pick_proposals
from gui.colors import PROPOSAL_COLOR
from gui.ortho import Shape

if TYPE_CHECKING:
    from gui.app import MainWindow

#: Fill alpha (0-255) of a proposal's BEV footprint; the one under review is filled stronger.
PROPOSAL_FILL = 28
CURRENT_FILL = 110


# ---- pre-labelling in a worker thread -------------------------------------------------------------
class PrelabelWorker(QObject):
    """Runs :func:`fusionlabel.assist.prelabel` over ``frames`` of a ``LoadedSequence`` (in a
    ``QThread``): ``progress(done, total, text)``, then ``done(PrelabelResult)`` or
    ``failed(message)``. Sequences of independent frames (KITTI object) are not associated, as in
    ``fusionlabel prelabel``."""

    progress = pyqtSignal(int, int, str)
    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, loaded: object, frames: Sequence[int], ontology: Ontology) -> None:
        super().__init__()
        self.loaded, self.frames, self.ontology = loaded, list(frames), ontology

    def run(self) -> None:
        total = len(self.frames)
        try:
            inputs = frames_from_sequence(self.loaded, frames=self.frames)
            meta = getattr(getattr(self.loaded, "info", None), "meta", None) or {}
            res = prelabel(inputs, self.ontology, independent_frames=bool(meta.get("independent_frames")),
                           progress=lambda n, _t: self.progress.emit(n, total, f"pre-labelling: frame {n} / {total}"))
        except Exception as e:  # shown in the status bar and a dialog; nothing changed
            self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.done.emit(res)


# ---- the review dock ------------------------------------------------------------------------------
class ReviewDock(QWidget):
    """The review queue: proposals highest confidence first (``lowest_first`` box: the other way;
    id, class, confidence, frames), the current one highlighted; buttons for pre-labelling, the
    review keys and accept-above-``threshold``. Emits ``picked(pid)``."""

    picked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.prelabel_button = QPushButton("Pre-label sequence", self)
        lay.addWidget(self.prelabel_button)
        self.summary = QLabel("no proposals", self)
        lay.addWidget(self.summary)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["id", "class", "conf", "frames"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for name, text, tip in (("previous", "\u25c0", "previous proposal (Shift+J)"),
                                ("accept", "Accept", "accept: it becomes a track (Y)"),
                                ("reject", "Reject", "reject (X)"),
                                ("next", "\u25b6", "next proposal (J)")):
            b = QPushButton(text, self)
            b.setToolTip(tip)
            row.addWidget(b)
            self.buttons[name] = b
        lay.addLayout(row)
        bulk = QHBoxLayout()
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(ACCEPT_THRESHOLD)
        self.threshold.setToolTip("confidence threshold of 'Accept above'")
        b = QPushButton("Accept above", self)
        b.setToolTip("accept every proposal at or above the threshold as tracks, one undoable step (Shift+Y)")
        self.buttons["accept_above"] = b
        self.lowest_first = QCheckBox("lowest first", self)
        self.lowest_first.setToolTip("review the least confident proposals first")
        bulk.addWidget(b)
        bulk.addWidget(self.threshold)
        bulk.addWidget(self.lowest_first)
        lay.addLayout(bulk)
        self._items: dict[int, QTreeWidgetItem] = {}
        self._updating = False
        self.tree.currentItemChanged.connect(self._on_current)

    def set_queue(self, proposals: Sequence[Proposal], current: int | None) -> None:
        """Rows in review order; ``current`` highlighted."""
        self._updating = True
        self.tree.clear()
        self._items = {}
        for p in proposals:
            frames = p.frames()
            span = f"{frames[0]}-{frames[-1]}" if len(frames) > 1 else str(frames[0]) if frames else "-"
            it = QTreeWidgetItem([str(p.proposal_id), p.label, f"{p.confidence:.2f}", span])
            it.setData(0, Qt.ItemDataRole.UserRole, p.proposal_id)
            self.tree.addTopLevelItem(it)
            self._items[p.proposal_id] = it
        if current in self._items:
            self.tree.setCurrentItem(self._items[current])
            self.tree.scrollToItem(self._items[current])
        n = len(proposals)
        order = "lowest" if self.lowest_first.isChecked() else "highest"
        above = sum(1 for p in proposals if p.confidence >= self.threshold.value())
        self.summary.setText(f"{n} proposal{'s' if n != 1 else ''} to review ({order} confidence first; "
                             f"{above} at or above {self.threshold.value():.2f})" if n else "no proposals")
        self._updating = False

    def ids(self) -> list[int]:
        """Proposal ids in the order shown."""
        return list(self._items)

    def _on_current(self, cur: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if not self._updating and cur is not None:
            self.picked.emit(int(cur.data(0, Qt.ItemDataRole.UserRole)))


# ---- the controller -------------------------------------------------------------------------------
class ProposalReview:
    """Pre-labelling and review for a :class:`~gui.app.MainWindow` (see the module doc).

    ``queue`` is the document's :class:`~fusionlabel.assist.ReviewQueue` (its ``current`` is the
    proposal under review); ``running`` is True while a pre-labelling run is in its thread.
    """

    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.dock = ReviewDock()
        self.queue: ReviewQueue | None = None
        self._thread: QThread | None = None
        self._worker: PrelabelWorker | None = None
        self.last_result: object = None
        self._press: tuple[float, float] | None = None
        self.dock.picked.connect(self.pick)
        self.dock.prelabel_button.clicked.connect(lambda: self.start_prelabel())
        self.dock.buttons["accept"].clicked.connect(self.accept)
        self.dock.buttons["reject"].clicked.connect(self.reject)
        self.dock.buttons["next"].clicked.connect(lambda: self.step(1))
        self.dock.buttons["previous"].clicked.connect(lambda: self.step(-1))
        self.dock.buttons["accept_above"].clicked.connect(lambda: self.accept_above())
        self.dock.lowest_first.toggled.connect(self.set_lowest_first)
        self.dock.threshold.valueChanged.connect(lambda _v: self.refresh())

    # ---- session binding ------------------------------------------------------------------------
    def bind(self) -> None:
        """Follow the window's current document (call after it changes)."""
        self.close()
        s = self.win.session
        if s is None:
            return
        self.queue = ReviewQueue(s.doc, s.undo, attributes_for=s.ontology.default_attributes,
                                 lowest_first=self.dock.lowest_first.isChecked())
        self.refresh()

    def close(self) -> None:
        """Stop following the document (and wait for a running pre-labelling thread)."""
        self._finish_thread()
        if self.queue is not None:
            self.queue.close()
            self.queue = None
        self.dock.set_queue([], None)

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def current(self) -> Proposal | None:
        """The proposal under review, or None."""
        return self.queue.current if self.queue is not None else None

    def refresh(self) -> None:
        """Redraw the dock from the queue (after document changes)."""
        if self.queue is None:
            self.dock.set_queue([], None)
            return
        self.queue.refresh()
        doc = self.queue.doc
        cur = self.queue.current
        self.dock.set_queue([doc.proposals[i] for i in self.queue.ids()], cur.proposal_id if cur else None)

    def _say(self, text: str, ms: int = 6000) -> None:
        self.win.model.show_message(text, ms)

    # ---- pre-labelling --------------------------------------------------------------------------
    def start_prelabel(self, frames: Sequence[int] | None = None) -> bool:
        """Pre-label ``frames`` (default: every frame) in a worker thread; the proposals replace the
        document's (one undoable step, minus what human boxes cover) when it is done."""
        s = self.win.session
        if s is None or self.running:
            return False
        frames = list(range(len(s))) if frames is None else [int(f) for f in frames]
        self._thread = QThread(self.win)
        self._worker = PrelabelWorker(s.loaded, frames, s.ontology)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._t0 = time.perf_counter()
        self.win.model.progress.start(max(len(frames), 1), "pre-labelling")
        self.dock.prelabel_button.setEnabled(False)
        self._say(f"pre-labelling {len(frames)} frames ...", 0)
        self._thread.start()
        return True

    def _finish_thread(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._thread = None
            self._worker = None
            self.win.model.progress.finish()
            self.dock.prelabel_button.setEnabled(True)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.win.model.progress.update(done, max(total, 1), text)
        self._say(text, 0)

    def _on_done(self, result: object) -> None:
        self._finish_thread()
        s = self.win.session
        if s is None:
            return
        self.last_result = result
        props = list(result.proposals)  # type: ignore[attr-defined]
        cmd = set_prelabels(s.doc, props, s.undo)
        n = len(cmd.proposals)
        self.refresh()
        self._say(f"pre-labelled in {time.perf_counter() - self._t0:.1f} s: {n} proposals "
                  f"({len(props) - n} dropped where human boxes are); review with J / Y / X", 12000)
        if n and self.queue is not None:  # review from the head of the queue
            self.pick(self.queue.ids()[0])
        self.win.prelabel_finished.emit(n)

    def _on_failed(self, message: str) -> None:
        self._finish_thread()
        self._say(f"pre-labelling failed: {message}", 12000)
        self.win.prompter.error(self.win, "Pre-labelling failed", message)
        self.win.prelabel_finished.emit(-1)

    # ---- review ---------------------------------------------------------------------------------
    def show_current(self) -> None:
        """Go to a frame of the proposal under review (the nearest to the current frame), centre
        the BEV and the 3D view on its box there, and redraw (it is drawn highlighted)."""
        p = self.current
        if p is not None and p.boxes and self.win.frame not in p.boxes:
            self.win.set_frame(min(p.frames(), key=lambda f: abs(f - self.win.frame)))
        if p is not None and self.win.frame in p.boxes:
            c = p.boxes[self.win.frame].center
            self.win.bev.set_view(c[:2])
            self.win.view3d.look_at(c)
        self.refresh()
        self.win.redraw_boxes()

    def set_lowest_first(self, lowest_first: bool) -> None:
        """Review order: lowest confidence first (True) or highest first (False)."""
        if self.dock.lowest_first.isChecked() != bool(lowest_first):
            self.dock.lowest_first.setChecked(bool(lowest_first))  # comes back here through toggled
            return
        if self.queue is not None:
            self.queue.set_lowest_first(lowest_first)
        self.refresh()

    def accept_above(self, threshold: float | None = None) -> bool:
        """Accept every proposal with confidence at or above ``threshold`` (default: the dock's)
        as tracks, one undoable step (:meth:`ReviewQueue.accept_above`)."""
        if self.queue is None or not len(self.queue):
            self._say("no proposals to review (Pre-label sequence first)")
            return False
        thr = self.dock.threshold.value() if threshold is None else float(threshold)
        try:
            cmd = self.queue.accept_above(thr)
        except ModelError as e:
            self._say(f"accept above {thr:.2f}: {e}", 8000)
            return False
        n = len(cmd.track_ids)
        self._say(f"accepted {n} proposal{'s' if n != 1 else ''} with confidence >= {thr:.2f} as tracks "
                  f"({len(self.queue)} left; Ctrl+Z undoes them all)" if n else f"no proposal at or above {thr:.2f}")
        self.show_current()
        return n > 0

    def pick(self, pid: int) -> None:
        """Make proposal ``pid`` the one under review."""
        if self.queue is None or pid not in self.queue.ids():
            return
        for _ in range(len(self.queue)):
            if self.queue.current is not None and self.queue.current.proposal_id == pid:
                break
            self.queue.next()
        self.show_current()

    def step(self, direction: int) -> bool:
        """Next (+1) / previous (-1) proposal in the queue; jumps to its frame."""
        if self.queue is None or not len(self.queue):
            self._say("no proposals to review (Pre-label sequence first)")
            return False
        self.queue.next() if direction > 0 else self.queue.previous()
        self.show_current()
        return True

    def _review(self, what: str) -> bool:
        if self.queue is None or self.queue.current is None:
            self._say("no proposal to review")
            return False
        p = self.queue.current
        try:
            if what == "accept":
                cmd = self.queue.accept()
                self.win.select(cmd.track_id)
                self._say(f"proposal {p.proposal_id} accepted as track {cmd.track_id} ({p.label})")
            elif what == "reject":
                self.queue.reject()
                self._say(f"proposal {p.proposal_id} rejected")
            else:
                label = self.win.objects.new_class
                if not label or label == p.label:
                    self._say(f"proposal {p.proposal_id} already is a {p.label} (choose the class in 'New boxes')")
                    return False
                self.queue.edit(label=label)
                self._say(f"proposal {p.proposal_id}: {p.label} -> {label}")
        except ModelError as e:
            self._say(f"proposal {p.proposal_id}: {e}", 8000)
            return False
        self.show_current()
        return True

    def accept(self) -> bool:
        """Accept the proposal under review (AcceptProposal): a new track, selected."""
        return self._review("accept")

    def reject(self) -> bool:
        """Reject the proposal under review (RejectProposal)."""
        return self._review("reject")

    def relabel(self) -> bool:
        """Give the proposal under review the class chosen for new boxes (EditProposal)."""
        return self._review("relabel")

    def perform(self, action: str) -> bool:
        """The keymap's proposal actions (``accept_proposal``, ...)."""
        return {
            "accept_proposal": self.accept, "reject_proposal": self.reject, "relabel_proposal": self.relabel,
            "next_proposal": lambda: self.step(1), "previous_proposal": lambda: self.step(-1),
            "accept_above_threshold": self.accept_above, "reject_rest": self.reject_rest,
        }[action]()

    def reject_rest(self) -> bool:
        """Reject the proposal under review and every one after it in the queue, one undoable step
        (:meth:`ReviewQueue.reject_rest`)."""
        if self.queue is None or self.queue.current is None:
            self._say("no proposal to review")
            return False
        n = len(self.queue.reject_rest().proposal_ids)
        self._say(f"rejected the rest of the queue: {n} proposal{'s' if n != 1 else ''} ({len(self.queue)} left; "
                  "Ctrl+Z undoes them all)")
        self.show_current()
        return n > 0

    def proposal_at(self, doc: AnnotationDocument, frame: int, xy: Sequence[float]) -> int | None:
        """The proposal whose BEV footprint at ``frame`` holds world ``xy`` (the smallest one when
        several do), or None."""
        ids = pick_proposals(doc, frame, xy)
        return ids[0] if ids else None

    def on_bev_pointer(self, kind: str, xy: tuple[float, float], px_per_m: float) -> None:
        """BEV pointer events after the edit tool had them: a click (press and release within
        3 px) that selected no human box makes the proposal under it the one under review."""
        if kind == "press":
            self._press = xy
            return
        if kind != "release" or self._press is None:
            return
        press, self._press = self._press, None
        if np.hypot(xy[0] - press[0], xy[1] - press[1]) * px_per_m > 3.0 or self.win.selection is not None:
            return
        s = self.win.session
        pid = None if s is None else self.proposal_at(s.doc, self.win.frame, xy)
        if pid is not None:
            self.pick(pid)
            self._say(f"proposal {pid} under review: Y accept, X reject, L relabel, J next")

    # ---- drawing --------------------------------------------------------------------------------
    def camera_items(self, doc: AnnotationDocument, frame: int) -> list[tuple[int, np.ndarray, bool]]:
        """The proposals at ``frame`` for the camera panels: ``(proposal id, (8, 3) world corners,
        is the one under review)``."""
        cur = self.current
        cur_id = cur.proposal_id if cur is not None else None
        return [(p.proposal_id, np.asarray(p.box.corners()), p.proposal_id == cur_id) for p in doc.proposals_at(frame)]

    def overlays(self, doc: AnnotationDocument, frame: int) -> tuple[list, list[Shape]]:
        """3D glyphs and BEV shapes of the proposals at ``frame`` (one each per proposal)."""
        from gui.render.view3d import BoxGlyph

        cur = self.current
        cur_id = cur.proposal_id if cur is not None else None
        glyphs, shapes = [], []
        rgb = PROPOSAL_COLOR
        rgba = (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, 0.9)
        for p in doc.proposals_at(frame):
            corners = p.box.corners()
            text = f"p{p.proposal_id} {p.score:.2f}"
            is_cur = p.proposal_id == cur_id
            glyphs.append(BoxGlyph(corners, rgba, False, is_cur, text))  # the one under review: bold
            shapes.append(Shape(np.asarray(corners[:4, :2]), rgb, 3.6 if is_cur else 1.4, True, False,
                                CURRENT_FILL if is_cur else PROPOSAL_FILL, text, ("proposal", p.proposal_id),
                                dotted=True))
        return glyphs, shapes
