"""The "Map proposals" dock (Qt): the lane-line and kerb assist buttons, the map proposals in review
order (id, class, confidence, length), the review buttons (previous, accept, reject, next), accept
above a threshold and reject the rest, bound to the Qt-free
:class:`gui.model.mapreview.MapProposalWork`; and the camera-panel filter that picks map elements
and proposals with a click (:class:`MapPanelPicker`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import (
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

from gui.model.mapreview import MapProposalWork


class MapProposalDock(QWidget):
    """See the module doc; ``work`` the window's :class:`MapProposalWork`."""

    def __init__(self, work: MapProposalWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.work = work
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.buttons: dict[str, QPushButton] = {}
        lay.addLayout(self._row((
            ("lanes", "Extract lane lines", "lane-paint assist on the accumulated ground",
             lambda: work.start_extract("lanes")),
            ("curbs", "Extract kerbs", "kerb assist (height steps) on the accumulated ground",
             lambda: work.start_extract("curbs")))))
        self.summary = QLabel("no map proposals", self)
        lay.addWidget(self.summary)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["id", "class", "conf", "length"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.tree, 1)
        lay.addLayout(self._row((("previous", "\u25c0", "previous map proposal", work.previous),
                                 ("accept", "Accept", "accept: it becomes a map element", work.accept),
                                 ("reject", "Reject", "reject", work.reject),
                                 ("next", "\u25b6", "next map proposal", work.next))))
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(work.threshold)
        self.threshold.setToolTip("confidence threshold of 'Accept above'")
        self.threshold.valueChanged.connect(lambda v: setattr(work, "threshold", float(v)))
        bulk = self._row((("accept_above", "Accept above", "accept every one at or above the threshold (one undo "
                           "step)", work.accept_above),
                          ("reject_rest", "Reject rest", "reject this one and all after it (one undo step)",
                           work.reject_rest)))
        bulk.insertWidget(1, self.threshold)
        lay.addLayout(bulk)
        self._items: dict[int, QTreeWidgetItem] = {}
        self._updating = False
        self.tree.currentItemChanged.connect(self._on_current)
        work.events.changed.connect(lambda v: self.set_rows(*v))

    def _row(self, entries: Sequence[tuple[str, str, str, Callable[[], object]]]) -> QHBoxLayout:
        """A row of buttons ``(name, text, tooltip, slot)``, kept in ``buttons``."""
        row = QHBoxLayout()
        for name, text, tip, fn in entries:
            b = QPushButton(text, self)
            b.setToolTip(tip)
            b.clicked.connect(fn)
            row.addWidget(b)
            self.buttons[name] = b
        return row

    def set_rows(self, rows: Sequence[tuple[int, str, float, float]], current: int | None) -> None:
        """Rows ``(id, class, confidence, length m)`` in review order; ``current`` highlighted."""
        self._updating = True
        self.tree.clear()
        self._items = {}
        for pid, label, conf, length in rows:
            it = QTreeWidgetItem([str(pid), label, f"{conf:.2f}", f"{length:.0f} m"])
            it.setData(0, Qt.ItemDataRole.UserRole, pid)
            self.tree.addTopLevelItem(it)
            self._items[pid] = it
        if current in self._items:
            self.tree.setCurrentItem(self._items[current])
        n = len(rows)
        self.summary.setText(f"{n} map proposal{'s' if n != 1 else ''} to review (highest confidence first)"
                             if n else "no map proposals")
        self._updating = False

    def _on_current(self, cur: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if not self._updating and cur is not None:
            self.work.pick(int(cur.data(0, Qt.ItemDataRole.UserRole)))


class MapPanelPicker(QObject):
    """Event filter of the camera panels: a left click picks the map proposal or element drawn
    under it (``pick(view, uv)``, e.g. :meth:`gui.model.mapwork.MapWork.pick_camera`) when a map
    tool is active (``claims()``) or no box is under it; the click is then the map's. Off while
    ``busy()`` (the camera box tool)."""

    def __init__(self, pick: Callable[[Any, Any], bool], claims: Callable[[], bool], busy: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pick, self.claims, self.busy = pick, claims, busy
        self._panels: set[int] = set()

    def watch(self, panels: Sequence[Any]) -> None:
        """Filter these camera panels (once each)."""
        for p in panels:
            if id(p) not in self._panels:
                self._panels.add(id(p))
                p.installEventFilter(self)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # type: ignore[override]  # noqa: N802
        if ev.type() != QEvent.Type.MouseButtonPress or self.busy():
            return False
        me: QMouseEvent = ev  # type: ignore[assignment]
        if me.button() != Qt.MouseButton.LeftButton:
            return False
        panel: Any = obj
        uv = panel.widget_to_image(np.array([[me.position().x(), me.position().y()]]))[0]
        if not self.claims() and panel.box_at(uv) is not None:
            return False  # a box: the panel selects it
        return bool(self.pick(panel.camera_view(), uv))
