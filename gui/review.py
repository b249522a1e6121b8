"""The QA review docks of the window (Qt), bound to the Qt-free :class:`gui.model.review.QAReview`
(the QA review of the annotation; the proposal review of pre-labels is another thing).

:class:`ReviewMode` owns two docks (hidden until *Review > Review mode*):

- **Review** (:class:`ReviewPanel`): the review of the current frame and the selected box, accept /
  reject either, step through the review queue, and issue markers (place, list, jump to,
  resolve / reopen, delete); its fields are the model's :class:`~gui.model.review.ReviewOptions`.
- **QA findings** (:class:`FindingsPanel`): the model's QA checks (a background job), the findings
  (sortable, filtered by severity, check and text); a click or Enter jumps to one: its frame, its
  track selected, the BEV centred on its world location.

The views show the review state lightly: accepted boxes get a green tick, rejected ones a red
outline, in the BEV (:meth:`ReviewMode.bev_shapes`) and the camera panels
(:meth:`ReviewMode.paint_camera`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
from PyQt6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QCursor, QPainter, QPen
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.qa import Finding, QAResult
from gui.bindings import bind_check, bind_combo, bind_text
from gui.model.review import (  # noqa: F401  (re-exported: the review's helpers)
    FILTERS,
    SCOPES,
    QAReview,
    box_review_marks,
    default_reviewer,
    describe_review,
    format_when,
    quick_summary,
)
from gui.model.shapes import BoxGlyph, Shape

if TYPE_CHECKING:
    from gui.cameras import CameraGrid, CameraPanel
    from gui.ortho import OrthoView

ACCEPT_COLOR = (70, 215, 95)
REJECT_COLOR = (255, 55, 55)
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
SEVERITY_COLORS = {"error": (235, 70, 60), "warning": (235, 165, 40), "info": (110, 150, 220)}


def _html(text: str) -> str:
    return html.escape(text, quote=False)



class _SortItem(QTreeWidgetItem):
    """A tree row sorted by the keys stored per column (numbers as numbers, None last)."""

    def __init__(self, texts: list[str], keys: list[Any]) -> None:
        super().__init__(texts)
        self.keys = keys

    def __lt__(self, other: QTreeWidgetItem) -> bool:  # type: ignore[override]
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else 0
        a, b = self.keys[col], getattr(other, "keys", [None] * (col + 1))[col]
        return (a is None, a if a is not None else 0) < (b is None, b if b is not None else 0)


def _tree(headers: list[str]) -> QTreeWidget:
    t = QTreeWidget()
    t.setHeaderLabels(headers)
    t.setRootIsDecorated(False)
    t.setUniformRowHeights(True)
    t.setAlternatingRowColors(True)
    t.header().setStretchLastSection(True)
    t.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return t


# ---- the review dock ------------------------------------------------------------------------------
class ReviewPanel(QWidget):
    """Accept / reject the selected box and the current frame, step through the review queue and
    manage issue markers. All changes are commands on the window's undo stack."""

    def __init__(self, review: QAReview) -> None:
        super().__init__()
        self.review = mode = review
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        self.reviewer = QLineEdit()
        self.reviewer.setToolTip("name stamped on reviews and issue markers")
        form.addRow("Reviewer", self.reviewer)
        lay.addLayout(form)

        box = QGroupBox("Review")
        g = QGridLayout(box)
        self.frame_label = QLabel("frame: -")
        self.box_label = QLabel("box: -")
        for lab in (self.frame_label, self.box_label):
            lab.setWordWrap(True)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("comment (a rejection needs one)")
        self.accept_box = QPushButton("Accept box")
        self.reject_box = QPushButton("Reject box")
        self.accept_frame = QPushButton("Accept frame")
        self.reject_frame = QPushButton("Reject frame")
        self.accept_box.clicked.connect(lambda: mode.review_box("accepted"))
        self.reject_box.clicked.connect(lambda: mode.review_box("rejected"))
        self.accept_frame.clicked.connect(lambda: mode.review_frame("accepted"))
        self.reject_frame.clicked.connect(lambda: mode.review_frame("rejected"))
        g.addWidget(self.frame_label, 0, 0, 1, 2)
        g.addWidget(self.box_label, 1, 0, 1, 2)
        g.addWidget(self.comment, 2, 0, 1, 2)
        g.addWidget(self.accept_box, 3, 0)
        g.addWidget(self.reject_box, 3, 1)
        g.addWidget(self.accept_frame, 4, 0)
        g.addWidget(self.reject_frame, 4, 1)
        lay.addWidget(box)

        step = QGroupBox("Step through")
        s = QGridLayout(step)
        self.filter_box = QComboBox()
        self.filter_box.addItems(list(FILTERS))
        self.scope_box = QComboBox()
        self.scope_box.addItems(list(SCOPES))
        self.prev_button = QPushButton("\u25c0 Previous")
        self.next_button = QPushButton("Next \u25b6")
        self.prev_button.clicked.connect(lambda: mode.step(-1))
        self.next_button.clicked.connect(lambda: mode.step(1))
        s.addWidget(self.filter_box, 0, 0)
        s.addWidget(self.scope_box, 0, 1)
        s.addWidget(self.prev_button, 1, 0)
        s.addWidget(self.next_button, 1, 1)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        s.addWidget(self.summary, 2, 0, 1, 2)
        lay.addWidget(step)

        issues = QGroupBox("Issue markers")
        v = QVBoxLayout(issues)
        row = QHBoxLayout()
        self.issue_text = QLineEdit()
        self.issue_text.setPlaceholderText("text for the labeler")
        self.issue_add = QPushButton("Add")
        self.issue_add.setToolTip("at the selected box's centre, else at the last BEV pointer position")
        self.issue_add.clicked.connect(lambda: mode.add_issue(at_pointer=False))
        self.issue_text.returnPressed.connect(lambda: mode.add_issue(at_pointer=False))
        row.addWidget(self.issue_text, 1)
        row.addWidget(self.issue_add)
        v.addLayout(row)
        self.open_only = QCheckBox("open only")
        self.open_only.toggled.connect(lambda _: self.refresh_issues())
        v.addWidget(self.open_only)
        self.issues = _tree(["id", "frame", "state", "text", "by"])
        self.issues.setSortingEnabled(True)
        self.issues.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        for col, w in enumerate((32, 44, 56)):
            self.issues.setColumnWidth(col, w)
        self.issues.itemActivated.connect(lambda it, _c: mode.jump_to_issue(it.data(0, Qt.ItemDataRole.UserRole)))
        self.issues.itemDoubleClicked.connect(
            lambda it, _c: mode.jump_to_issue(it.data(0, Qt.ItemDataRole.UserRole)))
        v.addWidget(self.issues, 1)
        row = QHBoxLayout()
        self.issue_resolve = QPushButton("Resolve / reopen")
        self.issue_delete = QPushButton("Delete")
        self.issue_resolve.clicked.connect(lambda: mode.toggle_resolved())
        self.issue_delete.clicked.connect(lambda: mode.delete_issue())
        self.issues.currentItemChanged.connect(lambda _c, _p: setattr(mode, "current_issue", self.current_issue()))
        o = mode.options
        bind_text(o, "reviewer", self.reviewer)
        bind_text(o, "comment", self.comment)
        bind_combo(o, "filter", self.filter_box)
        bind_combo(o, "scope", self.scope_box)
        bind_text(o, "issue_text", self.issue_text)
        bind_check(o, "open_only", self.open_only)
        row.addWidget(self.issue_resolve)
        row.addWidget(self.issue_delete)
        v.addLayout(row)
        lay.addWidget(issues, 1)

    def current_issue(self) -> int | None:
        """The marker id of the current row of the issue list."""
        it = self.issues.currentItem()
        return None if it is None else int(it.data(0, Qt.ItemDataRole.UserRole))

    def refresh_current(self) -> None:
        """The labels of the current frame's and the selected box's reviews."""
        win = self.review.model
        if win.session is None:
            self.frame_label.setText("frame: -")
            self.box_label.setText("box: -")
            return
        doc, f = win.session.doc, win.frame
        self.frame_label.setText(f"<b>frame {f}</b>: {_html(describe_review(doc.frame_review(f)))}")
        ref = win.context.selected_box() if win.context is not None else None
        if ref is None:
            self.box_label.setText("box: none selected")
        else:
            self.box_label.setText(f"<b>box {ref.track_id}</b> ({_html(ref.label)}): "
                                   f"{_html(describe_review(doc.box_review(ref.track_id, f)))}")
        self.accept_box.setEnabled(ref is not None)
        self.reject_box.setEnabled(ref is not None)

    def refresh_summary(self) -> None:
        win = self.review.model
        if win.session is None:
            self.summary.setText("")
            return
        s = quick_summary(win.session.doc)
        b, f, i = s["boxes"], s["frames"], s["issues"]
        self.summary.setText(
            f"boxes: {b['accepted']} accepted, {b['rejected']} rejected, {b['unreviewed']} unreviewed "
            f"(of {b['total']})<br>frames: {f['accepted']} accepted, {f['rejected']} rejected of {f['total']}"
            f"<br>issues: {i['open']} open, {i['resolved']} resolved")

    def refresh_issues(self) -> None:
        win = self.review.model
        markers = win.session.doc.issue_markers() if win.session is not None else []
        keep = self.current_issue()
        self.issues.setSortingEnabled(False)
        self.issues.clear()
        for m in markers:
            if self.open_only.isChecked() and m.resolved:
                continue
            state = f"resolved ({m.resolved_by})" if m.resolved and m.resolved_by else (
                "resolved" if m.resolved else "open")
            it = _SortItem([str(m.marker_id), "all" if m.frame is None else str(m.frame), state, m.text, m.author],
                           [m.marker_id, -1 if m.frame is None else m.frame, int(m.resolved), m.text, m.author])
            it.setData(0, Qt.ItemDataRole.UserRole, m.marker_id)
            it.setToolTip(3, f"{m.text}\nat {', '.join(f'{v:.2f}' for v in m.position)} (world, m)"
                          + (f"\ntrack {m.track_id}" if m.track_id is not None else "")
                          + (f"\n{format_when(m.when)}" if m.when is not None else ""))
            if m.resolved:
                for c in range(5):
                    it.setForeground(c, QBrush(QColor(140, 140, 140)))
            self.issues.addTopLevelItem(it)
            if m.marker_id == keep:
                self.issues.setCurrentItem(it)
        self.issues.setSortingEnabled(True)


# ---- the findings dock ----------------------------------------------------------------------------
class FindingsPanel(QWidget):
    """Run the automatic QA checks in the background and list the findings; a click or Enter on a
    row jumps there. ``finished`` is emitted (with the :class:`QAResult`, or None after an error)
    when a run ends."""

    finished = pyqtSignal(object)

    def __init__(self, review: QAReview) -> None:
        super().__init__()
        self.review = review
        self.result: QAResult | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run checks")
        self.run_button.clicked.connect(lambda: review.run_checks())
        review.events.checks_running.connect(self._on_running)
        review.events.checks_done.connect(lambda v: self._on_done(v[0]) if v[0] is not None else self._on_failed(v[1]))
        self.status = QLabel("not run yet")
        self.severity_box = QComboBox()
        self.severity_box.addItems(["all severities", "error", "warning", "info", "error + warning"])
        self.check_box = QComboBox()
        self.check_box.addItem("all checks")
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("filter: text in message, track id...")
        self.text_filter.setClearButtonEnabled(True)
        for w in (self.severity_box, self.check_box):
            w.currentIndexChanged.connect(lambda _: self.refresh())
        self.text_filter.textChanged.connect(lambda _: self.refresh())
        row.addWidget(self.run_button)
        row.addWidget(self.status, 1)
        row.addWidget(self.severity_box)
        row.addWidget(self.check_box)
        row.addWidget(self.text_filter, 1)
        lay.addLayout(row)
        self.tree = _tree(["severity", "check", "track", "frame", "message"])
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        for col, w in enumerate((80, 110, 60, 60)):
            self.tree.setColumnWidth(col, w)
        self.tree.itemClicked.connect(lambda it, _c: self.jump(it))
        self.tree.itemActivated.connect(lambda it, _c: self.jump(it))
        lay.addWidget(self.tree, 1)

    @property
    def running(self) -> bool:
        return self.review.checks_running

    def _on_running(self, what: object) -> None:
        """``(tracks, frames)``: a run started; False: the result was dropped (another document)."""
        if what:
            n_tracks, n_frames = what  # type: ignore[misc]
            self.run_button.setEnabled(False)
            self.status.setText(f"checking {n_tracks} tracks in {n_frames} frames ...")
            return
        self.result = None
        self.run_button.setEnabled(True)
        self.status.setText("not run yet")
        self.status.setToolTip("")
        self.refresh()

    def run_checks(self) -> bool:
        """Start the checks (see :meth:`QAReview.run_checks`)."""
        return self.review.run_checks()

    def _on_done(self, res: QAResult) -> None:
        self.run_button.setEnabled(True)
        self.result = res
        checks = sorted({f.check for f in res.findings})
        current = self.check_box.currentText()
        self.check_box.blockSignals(True)
        self.check_box.clear()
        self.check_box.addItems(["all checks", *checks])
        if current in checks:
            self.check_box.setCurrentText(current)
        self.check_box.blockSignals(False)
        counts = ", ".join(f"{n} {k}" for k, n in res.by_severity().items() if n) or "none"
        skipped = f"; skipped: {', '.join(res.skipped)}" if res.skipped else ""
        self.status.setText(f"{len(res.findings)} findings ({counts}){skipped}")
        self.status.setToolTip("\n".join(f"{k}: {v}" for k, v in res.skipped.items()))
        self.refresh()
        self.finished.emit(res)

    def _on_failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(f"checks failed: {message}")
        self.finished.emit(None)

    def visible_findings(self) -> list[Finding]:
        """The findings passing the severity, check and text filters (in result order)."""
        if self.result is None:
            return []
        sev = self.severity_box.currentText()
        check = self.check_box.currentText()
        text = self.text_filter.text().strip().lower()
        out = []
        for f in self.result.findings:
            if sev == "error + warning" and f.severity not in ("error", "warning"):
                continue
            if sev in SEVERITY_RANK and f.severity != sev:
                continue
            if check != "all checks" and f.check != check:
                continue
            if text and text not in f"{f.message} {f.check} {f.track_id} {f.frame}".lower():
                continue
            out.append(f)
        return out

    def refresh(self) -> None:
        """Rebuild the rows from the result and the filters."""
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for i, f in enumerate(self.visible_findings()):
            it = _SortItem(
                [f.severity, f.check, "" if f.track_id is None else str(f.track_id),
                 "" if f.frame is None else str(f.frame), f.message],
                [SEVERITY_RANK.get(f.severity, 9), f.check, f.track_id, f.frame, f.message])
            it.finding = f  # type: ignore[attr-defined]
            it.setData(0, Qt.ItemDataRole.UserRole, i)
            it.setForeground(0, QBrush(QColor(*SEVERITY_COLORS.get(f.severity, (200, 200, 200)))))
            it.setToolTip(4, f.message)
            self.tree.addTopLevelItem(it)
        self.tree.setSortingEnabled(True)

    def item_of(self, finding: Finding) -> QTreeWidgetItem | None:
        """The row showing ``finding`` (None when filtered out)."""
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if getattr(it, "finding", None) is finding:
                return it
        return None

    def jump(self, item: QTreeWidgetItem | None) -> None:
        f = getattr(item, "finding", None)
        if f is not None:
            self.review.jump_to(f.frame, f.track_id, f.location)


# ---- the mode: docks and drawing -----------------------------------------------------------------
class ReviewMode(QObject):
    """The Review and QA findings docks of a :class:`QAReview` (the window places them in
    ``main``, a ``QMainWindow``, then hides them until review mode is on) and the review marks
    drawn in the BEV (``bev``) and the cameras. The model's requests (show the docks, focus a
    field, centre the BEV) are carried out here; the window calls :meth:`on_boxes_updated` after
    each redraw of its boxes."""

    def __init__(self, review: QAReview, bev: OrthoView, main: QMainWindow) -> None:
        super().__init__(main)
        self.review = review
        self.bev = bev
        self.main = main
        self.panel = ReviewPanel(review)
        self.findings = FindingsPanel(review)
        self.dock = QDockWidget("Review", main)
        self.dock.setObjectName("review")
        self.dock.setWidget(self.panel)
        self.findings_dock = QDockWidget("QA findings", main)
        self.findings_dock.setObjectName("findings")
        self.findings_dock.setWidget(self.findings)
        self.dock.visibilityChanged.connect(lambda on: on and self._refresh_all())
        self.pointer_xy: tuple[float, float] | None = None  # last hover position in the BEV (world m)
        bev.pointer.connect(self._on_bev_pointer)
        review.pointer = self.bev_pointer
        review.view_centre = lambda: (float(bev.center[0]), float(bev.center[1]))
        ev = review.events
        ev.show.connect(self._on_show)
        ev.focus.connect(lambda name: getattr(self.panel, name).setFocus())
        ev.centre.connect(lambda xy: bev.set_view(center=xy))
        ev.changed.connect(lambda: self.panel.refresh_current())
        review.options.events.open_only.connect(lambda _on: self.panel.refresh_issues())

    def _on_show(self, on: object) -> None:
        if on == "findings":
            self.findings_dock.show()
        else:
            self.show(not self.dock.isVisible() if on is None else bool(on))

    def show(self, on: bool = True) -> None:
        """Show (or hide) the review and findings docks."""
        first = on and not self.findings_dock.isVisible()
        self.dock.setVisible(on)
        self.findings_dock.setVisible(on)
        if first:  # a strip under the views, not half the window
            self.main.resizeDocks([self.findings_dock], [max(150, self.main.height() // 5)], Qt.Orientation.Vertical)
            QTimer.singleShot(0, self._fit_left)
        if on:
            self.dock.raise_()
            self._refresh_all()

    def _fit_left(self) -> None:
        """Most of the left column for the Objects / Review tabs, the rest for a dock below them."""
        main = self.main
        below = [d for d in main.findChildren(QDockWidget)
                 if d not in (self.dock, self.findings_dock) and d.objectName() != "objects" and d.isVisible()
                 and not d.isFloating() and main.dockWidgetArea(d) == Qt.DockWidgetArea.LeftDockWidgetArea]
        if below and self.dock.isVisible():
            h = main.height()
            main.resizeDocks([self.dock, *below], [int(h * 0.68), *[int(h * 0.25 / len(below))] * len(below)],
                             Qt.Orientation.Vertical)

    def run_checks(self) -> bool:
        """Show the findings dock and start the checks (:meth:`QAReview.run_checks`)."""
        return self.review.run_checks()

    def jump_to_issue(self, marker_id: int | None) -> None:
        self.review.jump_to_issue(marker_id)

    def glyphs_3d(self) -> list[BoxGlyph]:
        return self.review.glyphs_3d()

    # ---- hooks called by the window -------------------------------------------------------------
    def on_boxes_updated(self, grid: CameraGrid | None) -> None:
        """After the window redrew its boxes (frame, selection or document changed)."""
        if self.review.follow():
            self.findings.result = None
        if grid is not None:
            for panel in grid.panels.values():
                panel.overlay = self.paint_camera
        if self.dock.isVisible():
            self.panel.refresh_current()
            if self.review.dirty:
                self._refresh_lists()

    def _refresh_all(self) -> None:
        self.panel.refresh_current()
        self._refresh_lists()

    def _refresh_lists(self) -> None:
        self.review.dirty = False
        self.panel.refresh_summary()
        self.panel.refresh_issues()

    def _on_bev_pointer(self, ev: Any) -> None:
        self.pointer_xy = (float(ev.xy[0]), float(ev.xy[1]))

    def bev_pointer(self) -> tuple[float, float] | None:
        """The world (x, y) under the mouse pointer when it is over the BEV now (no hover event
        needed: a key pressed right after the pointer arrived), else its last BEV position, else
        None."""
        bev = self.bev
        p = bev.mapFromGlobal(QCursor.pos())
        if bev.isVisible() and bev.rect().contains(p):
            xy = bev.to_plane(np.array([[p.x(), p.y()]], dtype=np.float64))[0]
            return float(xy[0]), float(xy[1])
        return self.pointer_xy

    # ---- drawing --------------------------------------------------------------------------------
    def bev_shapes(self) -> list[Shape]:
        """BEV marks of the reviewed boxes of the current frame: rejected: a red outline around the
        footprint; accepted: a green tick (upright on screen) at the box centre."""
        m = self.review.model
        if m.session is None:
            return []
        doc, frame, bev = m.session.doc, m.frame, self.bev
        px = 1.0 / max(bev.scale, 1e-6)  # metres per pixel
        out: list[Shape] = []
        tick = np.array([[-5.0, 0.0], [-1.5, 4.0], [6.0, -6.0]])  # screen px, y down
        for tid, status in self.review.marks().items():
            ref = doc.box_at(tid, frame) if tid in doc else None
            if ref is None:
                continue
            fp = ref.box.corners()[:4, :2]
            c = fp.mean(axis=0)
            if status == "rejected":
                d = fp - c
                n = np.linalg.norm(d, axis=1, keepdims=True)
                out.append(Shape(c + d * (1 + 5 * px / np.maximum(n, 1e-6)), REJECT_COLOR, 2.5, True, False, 40))
            else:
                sc = bev.to_screen(c[None])[0]
                out.append(Shape(bev.to_plane(sc + tick * 1.3), ACCEPT_COLOR, 3.0, closed=False))
        return out

    def paint_camera(self, panel: CameraPanel, p: QPainter) -> None:
        """Camera overlay: a red rectangle around rejected boxes, a green tick badge at the top left
        of accepted ones (their projected edges' extent, widget px)."""
        if self.review.model.session is None:
            return
        for tid, status in self.review.marks().items():
            edges = panel.edges_of(tid)
            if not edges:
                continue
            xy = panel.image_to_widget(np.concatenate([poly for _, poly in edges]))
            (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
            if status == "rejected":
                pen = QPen(QColor(*REJECT_COLOR))
                pen.setWidthF(2.0)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(x0 - 3, y0 - 3, x1 - x0 + 6, y1 - y0 + 6))
            else:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(0, 0, 0, 150))
                p.drawEllipse(QPointF(x0, y0), 7, 7)
                pen = QPen(QColor(*ACCEPT_COLOR))
                pen.setWidthF(2.2)
                p.setPen(pen)
                p.drawPolyline([QPointF(x0 - 4, y0), QPointF(x0 - 1, y0 + 3), QPointF(x0 + 4, y0 - 4)])
        p.setBrush(Qt.BrushStyle.NoBrush)
