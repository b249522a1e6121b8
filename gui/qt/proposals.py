"""The proposal review dock (Qt): the review queue, the pre-label button, the review keys' buttons,
threshold and order, bound to the Qt-free :class:`gui.model.proposal_review.ProposalReview`."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import QObject, Qt, pyqtSignal
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

from fusionlabel.assist.prelabel import CUE_ATTRIBUTE
from fusionlabel.assist.review import ACCEPT_THRESHOLD
from fusionlabel.document import Proposal
from gui.bindings import bind_check, bind_double
from gui.model.proposal_review import ProposalReview


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
            if p.attributes.get(CUE_ATTRIBUTE):  # why the track-level cues lowered its confidence
                for col in range(4):
                    it.setToolTip(col, f"confidence lowered: {p.attributes[CUE_ATTRIBUTE]}")
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


class ProposalDock(QObject):
    """A :class:`ReviewDock` bound to a :class:`ProposalReview`: buttons call the model, the
    model's events redraw the list; threshold and order are the model's options."""

    def __init__(self, review: ProposalReview, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.review = review
        self.widget = d = ReviewDock()
        bind_double(review.options, "threshold", d.threshold)
        bind_check(review.options, "lowest_first", d.lowest_first)
        d.picked.connect(review.pick)
        d.prelabel_button.clicked.connect(lambda: review.start_prelabel())
        d.buttons["accept"].clicked.connect(review.accept)
        d.buttons["reject"].clicked.connect(review.reject)
        d.buttons["next"].clicked.connect(lambda: review.step(1))
        d.buttons["previous"].clicked.connect(lambda: review.step(-1))
        d.buttons["accept_above"].clicked.connect(lambda: review.accept_above())
        review.events.changed.connect(lambda v: d.set_queue(*v))
        review.events.running.connect(lambda on: d.prelabel_button.setEnabled(not on))
