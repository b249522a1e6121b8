"""Review mode and the QA findings panel of the window.

:class:`ReviewMode` is created by :class:`gui.app.MainWindow` and owns two docks (hidden until
*Review > Review mode*):

- **Review** (:class:`ReviewPanel`): the review of the current frame and the selected box, accept /
  reject either (``commands.SetReview`` stamped with the reviewer's name and the time; a rejection
  needs a comment), step to the next / previous box or frame that is unreviewed, rejected or
  commented (``fusionlabel.qa.review`` filters), and issue markers: place one (``AddIssueMarker``,
  at the BEV pointer or the selected box's centre, world frame), list, jump to, resolve / reopen,
  delete them.
- **QA findings** (:class:`FindingsPanel`): runs ``fusionlabel.qa.run_checks`` on a copy of the
  document in a background thread (the window stays usable), lists the findings (sortable, filtered
  by severity, check and text) and jumps to one on click or Enter: its frame, its track selected,
  the BEV centred on its world location.

The views show the review state lightly: accepted boxes get a green tick, rejected ones a red
outline, in the BEV (:meth:`ReviewMode.bev_shapes`) and the camera panels (:meth:`ReviewMode.paint_camera`).
Everything the review changes lives in the annotation document, so undo/redo, saving and
autosave cover it.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import html
from collections.abc import Callable
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
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.commands import AddIssueMarker, DeleteIssueMarker, ResolveIssueMarker, SetReview
from fusionlabel.document import AnnotationDocument, DocumentEvent, IssueMarker, Review
from fusionlabel.qa import Finding, QAResult, has_comments, rejected, unreviewed
from gui.model.jobs import Job
from gui.model.shapes import BoxGlyph, Shape

if TYPE_CHECKING:
    from gui.app import MainWindow
    from gui.cameras import CameraPanel

ACCEPT_COLOR = (70, 215, 95)
REJECT_COLOR = (255, 55, 55)
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
SEVERITY_COLORS = {"error": (235, 70, 60), "warning": (235, 165, 40), "info": (110, 150, 220)}

#: step filters: name -> fusionlabel.qa.review filter
FILTERS: dict[str, Callable[..., list]] = {"unreviewed": unreviewed, "rejected": rejected, "has comments": has_comments}
#: step scopes
SCOPES = ("boxes", "frames", "selected track")


def default_reviewer() -> str:
    """The OS user name (the reviewer stamped on reviews until one is typed in)."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (containers)
        return "reviewer"


def format_when(when: str | int | None) -> str:
    """A review/marker time (ISO string or integer ns since the epoch) as local ``YYYY-MM-DD HH:MM``."""
    if when is None:
        return ""
    if isinstance(when, int):
        return _dt.datetime.fromtimestamp(when / 1e9).strftime("%Y-%m-%d %H:%M")
    return str(when)[:16].replace("T", " ")


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def describe_review(r: Review) -> str:
    """``accepted by anna 2026-11-22 01:40: "text"`` (``unreviewed`` when none)."""
    if r.status == "unreviewed" and not r.comment:
        return "unreviewed"
    parts = [r.status]
    if r.who:
        parts.append(f"by {r.who}")
    if r.when is not None:
        parts.append(f"({format_when(r.when)})")
    text = " ".join(parts)
    return f'{text}: "{r.comment}"' if r.comment else text


def box_review_marks(doc: AnnotationDocument, frame: int) -> dict[int, str]:
    """Track id -> ``accepted`` / ``rejected`` for the reviewed boxes of ``frame`` (tracks with a
    box there; no interpolation is computed, so this is cheap enough for every repaint)."""
    out = {}
    for tid in doc.track_ids():
        s = doc.box_review(tid, frame).status
        if s != "unreviewed" and frame in doc.track(tid).frames():
            out[tid] = s
    return out


def quick_summary(doc: AnnotationDocument) -> dict[str, dict[str, int]]:
    """Review progress like ``fusionlabel.qa.review_summary`` (boxes / frames by status, open and
    resolved issues) from the stored reviews, without listing every box: a few ms on 13 000 boxes
    (``review_summary`` takes ~60 ms), so it can run after every edit."""
    out: dict[str, dict[str, int]] = {}
    n_frames = doc.frame_count if doc.frame_count is not None else max(
        (t.span()[1] + 1 for t in doc.tracks.values() if t.span() is not None), default=0)
    box_reviews = [r for (tid, f), r in doc.box_reviews().items() if tid in doc and f in doc.track(tid).frames()]
    frame_reviews = [r for f, r in doc.frame_reviews().items() if 0 <= f < n_frames]
    for name, reviews, total in (("boxes", box_reviews, doc.num_boxes()), ("frames", frame_reviews, n_frames)):
        acc = sum(r.status == "accepted" for r in reviews)
        rej = sum(r.status == "rejected" for r in reviews)
        out[name] = {"accepted": acc, "rejected": rej, "unreviewed": total - acc - rej, "total": total}
    markers = doc.issue_markers()
    out["issues"] = {"open": sum(not m.resolved for m in markers), "resolved": sum(m.resolved for m in markers)}
    return out


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

    def __init__(self, mode: ReviewMode) -> None:
        super().__init__()
        self.mode = mode
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        self.reviewer = QLineEdit(default_reviewer())
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
        self.issue_resolve.clicked.connect(mode.toggle_resolved)
        self.issue_delete.clicked.connect(mode.delete_issue)
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
        win = self.mode.win
        if win.session is None:
            self.frame_label.setText("frame: -")
            self.box_label.setText("box: -")
            return
        doc, f = win.session.doc, win.frame
        self.frame_label.setText(f"<b>frame {f}</b>: {_html(describe_review(doc.frame_review(f)))}")
        ref = win.ctx.selected_box() if win.ctx is not None else None
        if ref is None:
            self.box_label.setText("box: none selected")
        else:
            self.box_label.setText(f"<b>box {ref.track_id}</b> ({_html(ref.label)}): "
                                   f"{_html(describe_review(doc.box_review(ref.track_id, f)))}")
        self.accept_box.setEnabled(ref is not None)
        self.reject_box.setEnabled(ref is not None)

    def refresh_summary(self) -> None:
        win = self.mode.win
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
        win = self.mode.win
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

    def __init__(self, mode: ReviewMode) -> None:
        super().__init__()
        self.mode = mode
        self.result: QAResult | None = None
        self._job: Job | None = None  # the checks' job
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run checks")
        self.run_button.clicked.connect(self.run_checks)
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
        return self._job is not None

    def reset(self) -> None:
        """Forget the result (another sequence or document is shown); a run in flight is dropped."""
        if self._job is not None:
            self._job.cancel(drop=True)
        self._job = None
        self.result = None
        self.run_button.setEnabled(True)
        self.status.setText("not run yet")
        self.status.setToolTip("")
        self.refresh()

    def run_checks(self) -> bool:
        """Start the checks on a snapshot of the document (world-frame points read from the
        sequence in a daemon thread); False when there is no session or a run is going on."""
        win = self.mode.win
        if win.session is None or self._job is not None:
            return False
        from formats.qa_report import world_point_loader
        from fusionlabel.qa import records_from_document_dict

        s = win.session
        data = s.doc.to_dict()
        doc = AnnotationDocument.from_dict(data)  # the labeler keeps editing the original
        records = records_from_document_dict(data)
        info, onto, loader = s.seq, s.ontology, world_point_loader(s.loaded)
        self.run_button.setEnabled(False)
        self.status.setText(f"checking {len(doc)} tracks in {len(info)} frames ...")

        def work(_job: Job) -> QAResult:
            from fusionlabel.qa import run_checks

            return run_checks(doc, info, loader, ontology=onto, records=records)

        self._job = win.model.jobs.submit("qa-checks", work, finished=self._on_finished)
        return True

    def _on_finished(self, job: Job) -> None:
        if job is not self._job:
            return
        self._job = None
        if job.state == "done":
            self._on_done(job.result)
        else:
            self._on_failed(job.error or job.state)

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
            self.mode.jump_to(f.frame, f.track_id, f.location)


# ---- the mode: docks, menu, actions, drawing ------------------------------------------------------
class ReviewMode(QObject):
    """Review dock + findings dock of ``win``, the *Review* menu, the review key actions and the
    review marks drawn in the BEV and cameras. The window calls :meth:`on_boxes_updated` after
    each redraw of its boxes, :meth:`bev_shapes` for the BEV overlay and :meth:`perform` for the
    keymap's ``review_*`` actions."""

    def __init__(self, win: MainWindow) -> None:
        super().__init__(win)
        self.win = win
        self.panel = ReviewPanel(self)
        self.findings = FindingsPanel(self)
        self.dock = QDockWidget("Review", win)
        self.dock.setObjectName("review")
        self.dock.setWidget(self.panel)
        win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        objects = win.findChild(QDockWidget, "objects")
        if objects is not None:  # a tab next to the object list: both keep the full height
            win.tabifyDockWidget(objects, self.dock)
        self.findings_dock = QDockWidget("QA findings", win)
        self.findings_dock.setObjectName("findings")
        self.findings_dock.setWidget(self.findings)
        win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.findings_dock)
        # the side columns keep the full height (the findings strip lies under the views only)
        win.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        win.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock.hide()
        self.findings_dock.hide()
        self.dock.visibilityChanged.connect(lambda on: on and self._refresh_all())
        self.pointer_xy: tuple[float, float] | None = None  # last hover position in the BEV (world m)
        win.bev.pointer.connect(self._on_bev_pointer)
        self._doc: AnnotationDocument | None = None
        self._unsub: Callable[[], None] | None = None
        self._dirty = True
        self._revision = 0
        self._marks_key: tuple[int, int, int] | None = None
        self._marks: dict[int, str] = {}

    def toggle(self) -> None:
        """Review mode on or off (the review and findings docks)."""
        self.show(not self.dock.isVisible())

    def show(self, on: bool = True) -> None:
        """Show (or hide) the review and findings docks."""
        first = on and not self.findings_dock.isVisible()
        self.dock.setVisible(on)
        self.findings_dock.setVisible(on)
        if first:  # a strip under the views, not half the window
            self.win.resizeDocks([self.findings_dock], [max(150, self.win.height() // 5)], Qt.Orientation.Vertical)
            QTimer.singleShot(0, self._fit_left)
        if on:
            self.dock.raise_()
            self._refresh_all()

    def _fit_left(self) -> None:
        """Most of the left column for the Objects / Review tabs, the rest for a dock below them."""
        below = [d for d in self.win.findChildren(QDockWidget)
                 if d not in (self.dock, self.findings_dock) and d.objectName() != "objects" and d.isVisible()
                 and not d.isFloating() and self.win.dockWidgetArea(d) == Qt.DockWidgetArea.LeftDockWidgetArea]
        if below and self.dock.isVisible():
            h = self.win.height()
            self.win.resizeDocks([self.dock, *below], [int(h * 0.68), *[int(h * 0.25 / len(below))] * len(below)],
                                 Qt.Orientation.Vertical)

    def run_checks(self) -> bool:
        """Show the findings dock and start the checks (see :meth:`FindingsPanel.run_checks`)."""
        self.findings_dock.show()
        return self.findings.run_checks()

    # ---- hooks called by the window -------------------------------------------------------------
    def on_boxes_updated(self) -> None:
        """After the window redrew its boxes (frame, selection or document changed)."""
        s = self.win.session
        doc = s.doc if s is not None else None
        if doc is not self._doc:
            if self._unsub is not None:
                self._unsub()
                self._unsub = None
            self._doc = doc
            if doc is not None:
                self._unsub = doc.subscribe(self._on_doc_event)
            self._dirty = True
            self.findings.reset()
        grid = self.win.camera_grid
        if grid is not None:
            for panel in grid.panels.values():
                panel.overlay = self.paint_camera
        if self.dock.isVisible():
            self.panel.refresh_current()
            if self._dirty:
                self._refresh_lists()

    def _on_doc_event(self, event: DocumentEvent) -> None:
        self._dirty = True
        self._revision += 1

    def marks(self) -> dict[int, str]:
        """:func:`box_review_marks` of the current frame, cached until the frame or document changes
        (the BEV and every camera panel ask on each repaint)."""
        win = self.win
        if win.session is None:
            return {}
        key = (id(win.session.doc), win.frame, self._revision)
        if key != self._marks_key:
            self._marks_key, self._marks = key, box_review_marks(win.session.doc, win.frame)
        return self._marks

    def _refresh_all(self) -> None:
        self.panel.refresh_current()
        self._refresh_lists()

    def _refresh_lists(self) -> None:
        self._dirty = False
        self.panel.refresh_summary()
        self.panel.refresh_issues()

    def _on_bev_pointer(self, ev: Any) -> None:
        self.pointer_xy = (float(ev.xy[0]), float(ev.xy[1]))

    def bev_pointer(self) -> tuple[float, float] | None:
        """The world (x, y) under the mouse pointer when it is over the BEV now (no hover event
        needed: a key pressed right after the pointer arrived), else its last BEV position, else
        None."""
        bev = self.win.bev
        p = bev.mapFromGlobal(QCursor.pos())
        if bev.isVisible() and bev.rect().contains(p):
            xy = bev.to_plane(np.array([[p.x(), p.y()]], dtype=np.float64))[0]
            return float(xy[0]), float(xy[1])
        return self.pointer_xy

    def _say(self, text: str, ms: int = 5000) -> None:
        self.win.model.show_message(text, ms)

    # ---- reviewing ------------------------------------------------------------------------------
    @property
    def who(self) -> str:
        return self.panel.reviewer.text().strip() or default_reviewer()

    def _comment(self, status: str) -> str | None:
        c = self.panel.comment.text().strip()
        if status == "rejected" and not c:
            self._say("A rejection needs a comment: type it in the Review panel first", 8000)
            self.show(True)
            self.panel.comment.setFocus()
            return None
        return c

    def review_box(self, status: str, comment: str | None = None) -> bool:
        """Accept / reject the selected box at the current frame (``comment`` None: the panel's)."""
        win = self.win
        ref = win.ctx.selected_box() if win.ctx is not None else None
        if win.session is None or ref is None:
            self._say("Select a box to review")
            return False
        c = self._comment(status) if comment is None else comment
        if c is None:
            return False
        win.session.undo.push(SetReview.make(win.frame, status, track_id=ref.track_id, comment=c, who=self.who))
        self.panel.comment.clear()
        self.panel.refresh_current()
        self._say(f"Box {ref.track_id} at frame {win.frame} {status}")
        return True

    def review_frame(self, status: str, comment: str | None = None) -> bool:
        """Accept / reject the current frame as a whole."""
        win = self.win
        if win.session is None:
            return False
        c = self._comment(status) if comment is None else comment
        if c is None:
            return False
        win.session.undo.push(SetReview.make(win.frame, status, comment=c, who=self.who))
        self.panel.comment.clear()
        self.panel.refresh_current()
        self._say(f"Frame {win.frame} {status}")
        return True

    def queue(self) -> list[tuple[int, int | None]]:
        """(frame, track id or None) of the items the step filter and scope select, in order."""
        win = self.win
        if win.session is None:
            return []
        doc = win.session.doc
        fn = FILTERS[self.panel.filter_box.currentText()]
        scope = self.panel.scope_box.currentText()
        if scope == "frames":
            items = fn(doc, boxes=False, frames=True)
        else:
            items = fn(doc, boxes=True, frames=False)
            if scope == "selected track":
                items = [r for r in items if r.track_id == win.selection]
        return [(r.frame, r.track_id) for r in items]

    def step(self, direction: int) -> bool:
        """Go to the next (+1) or previous (-1) item of the review queue after the current frame /
        selected box; False (and a message) when there is none."""
        win = self.win
        if win.session is None:
            return False
        scope = self.panel.scope_box.currentText()
        here = (win.frame, -1 if scope == "frames" or win.selection is None else win.selection)
        q = self.queue()
        key = [(f, -1 if t is None else t) for f, t in q]
        cand = [i for i, k in enumerate(key) if (k > here if direction > 0 else k < here)]
        if not cand:
            self._say(f"No {'next' if direction > 0 else 'previous'} {self.panel.filter_box.currentText()} "
                      f"{'frame' if scope == 'frames' else 'box'}")
            return False
        frame, tid = q[cand[0] if direction > 0 else cand[-1]]
        loc = None
        if tid is not None:
            ref = win.session.doc.box_at(tid, frame)
            loc = None if ref is None else tuple(float(v) for v in ref.box.center)
        self.jump_to(frame, tid, loc, keep_selection=tid is None)
        return True

    def jump_to(self, frame: int | None, track_id: int | None, location: Any = None,
                keep_selection: bool = False) -> None:
        """Show ``frame`` (None: stay), select ``track_id`` (None: deselect unless
        ``keep_selection``) and centre the BEV on the world ``location`` (x, y[, z]) when given."""
        win = self.win
        if win.session is None:
            return
        if frame is not None:
            win.set_frame(frame)
        if track_id is not None or not keep_selection:
            win.select(track_id)
        if location is not None:
            win.bev.set_view(center=(float(location[0]), float(location[1])))
        self.panel.refresh_current()

    # ---- issue markers --------------------------------------------------------------------------
    def add_issue(self, text: str | None = None, at_pointer: bool = True,
                  position: tuple[float, float, float] | None = None) -> int | None:
        """Place an issue marker at the current frame: at ``position`` (world m) when given, else at
        the BEV pointer (when ``at_pointer``; like ``N``) or the selected box's centre, else the BEV
        pointer, else the BEV centre; the text is ``text`` or the panel's. The BEV pointer is where
        the mouse pointer is now when it is over the BEV, else its last position there. Returns the
        marker id (None when nothing was placed)."""
        win = self.win
        if win.session is None:
            return None
        text = (self.panel.issue_text.text() if text is None else text).strip()
        if not text:
            self._say("Type the issue's text in the Review panel first", 8000)
            self.show(True)
            self.panel.issue_text.setFocus()
            return None
        ref = win.ctx.selected_box() if win.ctx is not None else None
        ground = float(win._fd.memo.get("ground_z", 0.0)) if win._fd is not None else 0.0
        pointer = self.bev_pointer()
        if position is None:
            if at_pointer and pointer is not None:
                position = (*pointer, ground)
            elif ref is not None:
                position = tuple(float(v) for v in ref.box.center)  # type: ignore[assignment]
            elif pointer is not None:
                position = (*pointer, ground)
            else:
                position = (float(win.bev.center[0]), float(win.bev.center[1]), ground)
        cmd = AddIssueMarker(position, text, author=self.who, frame=win.frame,
                             track_id=None if ref is None else ref.track_id)
        win.session.undo.push(cmd)
        self.panel.issue_text.clear()
        self._say(f"Issue {cmd.marker_id} placed at frame {win.frame}")
        return cmd.marker_id

    def jump_to_issue(self, marker_id: int | None) -> None:
        """Show the marker's frame, select its track and centre the BEV on it."""
        if marker_id is None or self.win.session is None:
            return
        m: IssueMarker = self.win.session.doc.issue_marker(int(marker_id))
        self.jump_to(m.frame, m.track_id, m.position, keep_selection=m.track_id is None)

    def toggle_resolved(self, marker_id: int | None = None) -> None:
        """Resolve the (current) marker, or reopen it when it is resolved."""
        mid = self.panel.current_issue() if marker_id is None else marker_id
        if mid is None or self.win.session is None:
            return
        m = self.win.session.doc.issue_marker(mid)
        self.win.session.undo.push(ResolveIssueMarker(mid, resolved=not m.resolved, who=self.who))

    def delete_issue(self, marker_id: int | None = None) -> None:
        mid = self.panel.current_issue() if marker_id is None else marker_id
        if mid is not None and self.win.session is not None:
            self.win.session.undo.push(DeleteIssueMarker(mid))

    # ---- drawing --------------------------------------------------------------------------------
    def bev_shapes(self) -> list[Shape]:
        """BEV marks of the reviewed boxes of the current frame: rejected: a red outline around the
        footprint; accepted: a green tick (upright on screen) at the box centre."""
        win = self.win
        if win.session is None:
            return []
        doc, frame, bev = win.session.doc, win.frame, win.bev
        px = 1.0 / max(bev.scale, 1e-6)  # metres per pixel
        out: list[Shape] = []
        tick = np.array([[-5.0, 0.0], [-1.5, 4.0], [6.0, -6.0]])  # screen px, y down
        for tid, status in self.marks().items():
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

    def glyphs_3d(self) -> list[Any]:
        """3D view: each issue marker of the current frame (and sequence-wide ones) as a small cube
        (0.5 m) at its world position with ``! text``: red while open, grey when resolved."""
        from fusionlabel.box import Box3D

        win = self.win
        if win.session is None:
            return []
        out = []
        for m in win.session.doc.issue_markers():
            if m.frame is not None and m.frame != win.frame:
                continue
            color = (0.6, 0.6, 0.6, 0.9) if m.resolved else (1.0, 0.27, 0.24, 1.0)
            cube = Box3D(m.position, (0.5, 0.5, 0.5), 0.0).corners()
            out.append(BoxGlyph(cube, color, True, False, f"! {m.text}"[:40]))
        return out

    def paint_camera(self, panel: CameraPanel, p: QPainter) -> None:
        """Camera overlay: a red rectangle around rejected boxes, a green tick badge at the top left
        of accepted ones (their projected edges' extent, widget px)."""
        win = self.win
        if win.session is None:
            return
        for tid, status in self.marks().items():
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
