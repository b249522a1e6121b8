"""The *Auto-track* dock (Qt): start buttons, progress with Cancel and the review list, bound to
the Qt-free :class:`gui.model.autotrack.AutoTrack` (which runs the jobs and holds the queue)."""

from __future__ import annotations

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.trackjob import (
    ReviewItem,
)
from gui.model.autotrack import AutoTrack

_DONE_COLOR = (140, 140, 140)


class TrackingPanel(QWidget):
    """The *Auto-track* dock: start buttons, progress with Cancel, and the review list (track,
    frame, confidence; lowest first). Emits ``picked(row)`` on a click or Enter."""

    picked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.track_button = QPushButton("Track selected", self)
        self.track_button.setToolTip("auto-track the selected track through the sequence (T)")
        self.all_button = QPushButton("Track all", self)
        self.all_button.setToolTip("auto-track every track with a keyframe (Shift+T)")
        row.addWidget(self.track_button)
        row.addWidget(self.all_button)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.status = QLabel("not run yet", self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["track", "frame", "conf"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(lambda it, _c: self.picked.emit(self.tree.indexOfTopLevelItem(it)))
        self.tree.itemActivated.connect(lambda it, _c: self.picked.emit(self.tree.indexOfTopLevelItem(it)))
        lay.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.prev_button = QPushButton("\u25c0", self)
        self.prev_button.setToolTip("previous low-confidence tracked box (Shift+I)")
        self.next_button = QPushButton("\u25b6", self)
        self.next_button.setToolTip("next low-confidence tracked box (I)")
        row.addWidget(self.prev_button)
        row.addWidget(self.next_button)
        lay.addLayout(row)

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.track_button.setEnabled(not running)
        self.all_button.setEnabled(not running)

    def set_items(self, items: list[ReviewItem], open_: list[bool], current: int) -> None:
        """Rows in queue order; the fixed ones greyed; row ``current`` highlighted (-1: none)."""
        self.tree.clear()
        for it, is_open in zip(items, open_, strict=True):
            row = QTreeWidgetItem([str(it.track_id), str(it.frame), f"{it.confidence:.2f}"])
            if not is_open:
                for c in range(3):
                    row.setForeground(c, QBrush(QColor(*_DONE_COLOR)))
                row.setToolTip(0, "no longer a tracked box (fixed, deleted or re-tracked)")
            self.tree.addTopLevelItem(row)
        if 0 <= current < self.tree.topLevelItemCount():
            cur = self.tree.topLevelItem(current)
            self.tree.setCurrentItem(cur)
            self.tree.scrollToItem(cur)


class AutoTrackDock(QObject):
    """The dock widget of an :class:`AutoTrack` model: the panel's buttons call the model, the
    model's events update the panel; ``finished(outcome)`` re-emits the model's (tests wait on it)."""

    finished = pyqtSignal(object)

    def __init__(self, tracking: AutoTrack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = tracking
        self.panel = TrackingPanel()
        self.dock = QDockWidget("Auto-track", parent)
        self.dock.setObjectName("autotrack")
        self.dock.setWidget(self.panel)
        self._list_timer = QTimer(self)  # coalesces list refreshes after document edits
        self._list_timer.setSingleShot(True)
        self._list_timer.setInterval(100)
        self._list_timer.timeout.connect(tracking.refresh)
        p, ev = self.panel, tracking.events
        p.track_button.clicked.connect(lambda: tracking.start_selected())
        p.all_button.clicked.connect(lambda: tracking.start())
        p.cancel_button.clicked.connect(lambda: tracking.cancel())
        p.next_button.clicked.connect(lambda: tracking.step(1))
        p.prev_button.clicked.connect(lambda: tracking.step(-1))
        p.picked.connect(tracking.pick)
        ev.running.connect(self._on_running)
        ev.progress.connect(self._on_progress)
        ev.status.connect(p.status.setText)
        ev.items.connect(lambda v: p.set_items(*v))
        ev.stale.connect(self._list_timer.start)
        ev.finished.connect(self.finished.emit)

    def _on_running(self, running: bool) -> None:
        self.panel.set_running(running)
        if running:
            self.dock.show()
            self.dock.raise_()

    def _on_progress(self, value: tuple[int, int]) -> None:
        done, total = value
        self.panel.bar.setRange(0, max(total, 1))
        self.panel.bar.setValue(min(done, max(total, 1)))
