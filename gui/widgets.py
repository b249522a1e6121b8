"""Small widgets of the main window: the timeline, the object list and the shortcut help dialog."""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fusionlabel.document import AnnotationDocument
from fusionlabel.ontology import Ontology
from gui.colors import class_color


class TimelineBar(QWidget):
    """A frame ruler: the current frame, ticks, and keyframe markers of the selected track (its
    tracked frames as a teal strip in its span). Clicking or dragging picks a frame
    (``frame_picked``)."""

    frame_picked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = 0
        self.frame = 0
        self.keyframes: list[int] = []
        self.span: tuple[int, int] | None = None
        self.gaps: list[tuple[int, int]] = []
        self.tracked: list[int] = []
        #: per frame the share of labelled points (point labels), None where unknown: a strip
        self.label_shares: tuple[float | None, ...] = ()
        self._static: tuple[tuple, QPixmap] | None = None  # ruler without the cursor, by its state
        self.setMinimumHeight(34)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_state(
        self, count: int, frame: int, keyframes: Sequence[int] = (), span: tuple[int, int] | None = None,
        gaps: Sequence[tuple[int, int]] = (), tracked: Sequence[int] = (),
    ) -> None:
        """Frame count, current frame and the selected track's keyframes, span, gaps (inclusive
        frame intervals where the object is not annotated: drawn as breaks in the span) and the
        frames of its tracked boxes (auto-tracking)."""
        self.count, self.frame, self.keyframes, self.span = count, frame, list(keyframes), span
        self.gaps = [(int(a), int(b)) for a, b in gaps]
        self.tracked = sorted(int(f) for f in tracked)
        self.update()

    def set_label_shares(self, shares: Sequence[float | None]) -> None:
        """Per frame the share of labelled points in [0, 1] (None: unknown), drawn along the top
        edge from red (none) to green (all)."""
        shares = tuple(None if s is None else round(float(s), 3) for s in shares)
        if shares != self.label_shares:
            self.label_shares = shares
            self.update()

    def _x(self, f: float) -> float:
        n = max(self.count - 1, 1)
        return 10 + (self.width() - 20) * f / n

    def frame_at(self, x: float) -> int:
        """The frame under widget x (px), clamped to the sequence."""
        n = max(self.count - 1, 1)
        f = round((x - 10) / max(self.width() - 20, 1) * n)
        return int(min(max(f, 0), max(self.count - 1, 0)))

    def _paint_static(self, p: QPainter) -> None:
        """Background, span, ticks and keyframe markers (everything but the current frame)."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        h = self.height()
        p.fillRect(self.rect(), QColor(28, 30, 36))
        mid = h / 2
        if self.span is not None:
            p.fillRect(QRectF(self._x(self.span[0]), mid - 4, self._x(self.span[1]) - self._x(self.span[0]), 8),
                       QColor(70, 90, 120))
            half = 0.5 * (self._x(1) - self._x(0))  # a gap covers its frames' cells
            runs: list[list[int]] = []
            for f in self.tracked:
                if runs and f == runs[-1][1] + 1:
                    runs[-1][1] = f
                else:
                    runs.append([f, f])
            for a, b in runs:
                x0, x1 = self._x(a) - half, self._x(b) + half
                p.fillRect(QRectF(x0, mid - 4, max(x1 - x0, 2.0), 8), QColor(60, 170, 160))
            for a, b in self.gaps:
                x0, x1 = self._x(a) - half, self._x(b) + half
                p.fillRect(QRectF(x0, mid - 4, max(x1 - x0, 2.0), 8), QColor(28, 30, 36))
                p.setPen(QPen(QColor(200, 80, 70), 1.5))
                p.drawLine(QPointF(x0, mid - 5), QPointF(x1, mid + 5))
        half = 0.5 * (self._x(1) - self._x(0))
        for f, share in enumerate(self.label_shares[: self.count]):
            if share is not None:
                x0 = self._x(f) - half
                color = QColor(int(220 * (1 - share)), int(60 + 160 * share), 60)
                p.fillRect(QRectF(x0, 1, max(2 * half, 1.0), 3), color)
        p.setPen(QPen(QColor(90, 95, 105), 1))
        p.drawLine(int(self._x(0)), int(mid), int(self._x(max(self.count - 1, 0))), int(mid))
        step = max(1, self.count // 50)
        for f in range(0, self.count, step):
            x = self._x(f)
            tall = f % (step * 10) == 0
            p.drawLine(int(x), int(mid + 5), int(x), int(mid + (12 if tall else 8)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(255, 200, 40))
        for k in self.keyframes:
            x = self._x(k)
            p.drawPolygon(*[
                _pt(x, mid - 7), _pt(x + 5, mid), _pt(x, mid + 7), _pt(x - 5, mid)
            ])

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        key = (self.width(), self.height(), self.devicePixelRatioF(), self.count, tuple(self.keyframes), self.span,
               tuple(self.gaps), tuple(self.tracked), self.label_shares)
        if self._static is None or self._static[0] != key:  # redrawn only when the ruler changes
            pm = QPixmap(self.size() * self.devicePixelRatioF())
            pm.setDevicePixelRatio(self.devicePixelRatioF())
            sp = QPainter(pm)
            self._paint_static(sp)
            sp.end()
            self._static = (key, pm)
        p = QPainter(self)
        p.drawPixmap(0, 0, self._static[1])
        x = self._x(self.frame)
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawLine(int(x), 2, int(x), self.height() - 2)
        p.end()

    def mousePressEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if self.count:
            self.frame_picked.emit(self.frame_at(e.position().x()))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # type: ignore[override]
        if self.count and e.buttons() & Qt.MouseButton.LeftButton:
            self.frame_picked.emit(self.frame_at(e.position().x()))


def _pt(x: float, y: float):  # type: ignore[no-untyped-def]
    from PyQt6.QtCore import QPointF

    return QPointF(x, y)


class Timeline(QWidget):
    """Transport buttons (previous keyframe, previous, play/pause, next, next keyframe), the ruler
    and a frame label. Emits ``frame_picked``, ``step(+-1)``, ``key_step(+-1)``, ``play_toggled``."""

    frame_picked = pyqtSignal(int)
    step = pyqtSignal(int)
    key_step = pyqtSignal(int)
    play_toggled = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)

        def button(text: str, tip: str) -> QToolButton:
            b = QToolButton(self)
            b.setText(text)
            b.setToolTip(tip)
            b.setMinimumWidth(30)
            lay.addWidget(b)
            return b

        self.prev_key = button("|\u25c0", "previous keyframe of the selected track")
        self.prev = button("\u25c0", "previous frame")
        self.play = button("\u25b6", "play / pause")
        self.next = button("\u25b6|", "next frame")
        self.next_key = button("\u25b6\u25b6|", "next keyframe of the selected track")
        self.bar = TimelineBar(self)
        lay.addWidget(self.bar, 1)
        self.label = QLabel("-", self)
        self.label.setMinimumWidth(150)
        lay.addWidget(self.label)
        self.prev.clicked.connect(lambda: self.step.emit(-1))
        self.next.clicked.connect(lambda: self.step.emit(1))
        self.prev_key.clicked.connect(lambda: self.key_step.emit(-1))
        self.next_key.clicked.connect(lambda: self.key_step.emit(1))
        self.play.clicked.connect(self.play_toggled)
        self.bar.frame_picked.connect(self.frame_picked)

    def set_state(self, count: int, frame: int, time_s: float, keyframes: Sequence[int] = (),
                  span: tuple[int, int] | None = None, playing: bool = False,
                  gaps: Sequence[tuple[int, int]] = (), tracked: Sequence[int] = ()) -> None:
        """Frame count, current frame and the selected track's keyframes, span, gaps and tracked
        frames."""
        self.bar.set_state(count, frame, keyframes, span, gaps, tracked)
        self.label.setText(f"frame {frame + 1} / {count}   {time_s:6.2f} s")
        self.play.setText("\u23f8" if playing else "\u25b6")


class ObjectList(QWidget):
    """Tracks of the document: id, class, keyframes, frames; a class filter on top; below, the
    class and attribute editors of the selected track (values from the ontology) and the class of
    new boxes. Emits ``selected(track_id)``, ``label_edited(track_id, label)``,
    ``attribute_edited(track_id, name, value)``, ``interpolation_edited(track_id, method)`` (the
    track's interpolation method, ``"linear"`` or ``"smooth"``) and ``new_class_changed(label)``."""

    selected = pyqtSignal(int)
    label_edited = pyqtSignal(int, str)
    attribute_edited = pyqtSignal(int, str, str)
    interpolation_edited = pyqtSignal(int, str)
    new_class_changed = pyqtSignal(str)

    ALL = "all classes"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        top.addWidget(QLabel("Filter:"))
        self.filter = QComboBox(self)
        self.filter.addItem(self.ALL)
        top.addWidget(self.filter, 1)
        lay.addLayout(top)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["id", "class", "keys", "frames"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        lay.addWidget(self.tree, 1)
        self.form = QFormLayout()
        self.class_box = QComboBox(self)
        self.class_box.setToolTip("class of the selected track")
        self.form.addRow("Class", self.class_box)
        self.interp_box = QComboBox(self)
        self.interp_box.addItems(["smooth", "linear"])
        self.interp_box.setToolTip("how the boxes between the keyframes of the selected track are interpolated")
        self.form.addRow("Interpolation", self.interp_box)
        lay.addLayout(self.form)
        self.attr_form = QFormLayout()
        lay.addLayout(self.attr_form)
        new = QFormLayout()
        self.new_box = QComboBox(self)
        self.new_box.setToolTip("class of the boxes you create (B: create tool, N: box at the pointer)")
        new.addRow("New boxes", self.new_box)
        lay.addLayout(new)
        self.classes: list[str] = []
        self.ontology: Ontology | None = None
        self.attr_boxes: dict[str, QComboBox] = {}
        self._items: dict[int, QTreeWidgetItem] = {}
        self._current: int | None = None
        self._doc: AnnotationDocument | None = None
        self._updating = False
        self.tree.currentItemChanged.connect(self._on_current)
        self.filter.currentTextChanged.connect(lambda _t: self._apply_filter())
        self.class_box.activated.connect(self._on_class)
        self.interp_box.activated.connect(self._on_interp)
        self.new_box.currentTextChanged.connect(lambda t: None if self._updating else self.new_class_changed.emit(t))

    @property
    def new_class(self) -> str:
        """The class chosen for new boxes."""
        return self.new_box.currentText()

    def set_ontology(self, ontology: Ontology | None, classes: Sequence[str]) -> None:
        """Classes offered by the editors and the filter (the ontology's, then others in use)."""
        self.ontology = ontology
        self.set_classes(classes)

    def set_classes(self, classes: Sequence[str]) -> None:
        """Classes of the filter and the class editors, in order."""
        self.classes = list(dict.fromkeys(classes))
        self._updating = True
        cur = self.filter.currentText()
        self.filter.clear()
        self.filter.addItems([self.ALL, *self.classes])
        if cur in self.classes:
            self.filter.setCurrentText(cur)
        self.class_box.clear()
        self.class_box.addItems(self.classes)
        new = self.new_box.currentText() or ("car" if "car" in self.classes else (self.classes or [""])[0])
        self.new_box.clear()
        self.new_box.addItems(self.classes)
        self.new_box.setCurrentText(new)
        self._updating = False
        self._sync_editors()

    def refresh(self, doc: AnnotationDocument) -> None:
        """Rebuild the rows from the document (cheap: a few hundred tracks)."""
        self._doc = doc
        self._updating = True
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        self._items = {}
        for tid in doc.track_ids():
            t = doc.tracks[tid]
            span = t.span()
            n = 0 if span is None else span[1] - span[0] + 1
            it = _NumericItem([str(tid), t.label, str(len(t.keyframes)), str(n)])
            it.setData(0, Qt.ItemDataRole.UserRole, tid)
            it.setForeground(1, QColor(*class_color(t.label)))
            self.tree.addTopLevelItem(it)
            self._items[tid] = it
        self.tree.setSortingEnabled(True)
        self._apply_filter()
        if self._current in self._items:
            self.tree.setCurrentItem(self._items[self._current])
        self._updating = False
        self._sync_editors()

    def set_current(self, track_id: int | None, doc: AnnotationDocument | None = None) -> None:
        """Show ``track_id`` as the current row and in the editors (None: none)."""
        if doc is not None:
            self._doc = doc
        self._current = track_id
        self._updating = True
        if track_id is not None and track_id in self._items:
            self.tree.setCurrentItem(self._items[track_id])
            self.tree.scrollToItem(self._items[track_id])
        else:
            self.tree.clearSelection()
        self._updating = False
        self._sync_editors()

    def _sync_editors(self) -> None:
        """Class and attribute editors show the selected track (disabled without one)."""
        track = None
        if self._doc is not None and self._current is not None and self._current in self._doc:
            track = self._doc.track(self._current)
        self._updating = True
        self.class_box.setEnabled(track is not None)
        if track is not None:
            if self.class_box.findText(track.label) < 0:
                self.class_box.addItem(track.label)
            self.class_box.setCurrentText(track.label)
        self.interp_box.setEnabled(track is not None)
        if track is not None:
            self.interp_box.setCurrentText(track.interpolation)
        while self.attr_form.rowCount():
            self.attr_form.removeRow(0)
        self.attr_boxes = {}
        spec = self.ontology.get(track.label) if (track is not None and self.ontology is not None) else None
        if track is not None and spec is not None:
            for a in spec.attributes:
                box = QComboBox(self)
                values = list(a.values) if a.required else ["", *a.values]
                box.addItems(values)
                box.setCurrentText(track.attributes.get(a.name, ""))
                box.setToolTip(a.description or a.name)
                tid, name = track.track_id, a.name
                box.activated.connect(
                    lambda _i, b=box, t=tid, n=name: self.attribute_edited.emit(t, n, b.currentText()))
                self.attr_form.addRow(a.name, box)
                self.attr_boxes[a.name] = box
        self._updating = False

    def _apply_filter(self) -> None:
        cls = self.filter.currentText()
        for it in self._items.values():
            it.setHidden(cls not in ("", self.ALL) and it.text(1) != cls)

    def _on_current(self, cur: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if self._updating or cur is None:
            return
        tid = int(cur.data(0, Qt.ItemDataRole.UserRole))
        self._current = tid
        self._sync_editors()
        self.selected.emit(tid)

    def _on_interp(self, _index: int) -> None:
        if self._current is not None and not self._updating:
            self.interpolation_edited.emit(self._current, self.interp_box.currentText())

    def _on_class(self, _index: int) -> None:
        if self._current is not None and not self._updating:
            self.label_edited.emit(self._current, self.class_box.currentText())


class _NumericItem(QTreeWidgetItem):
    def __lt__(self, other: QTreeWidgetItem) -> bool:  # type: ignore[override]
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        a, b = self.text(col), other.text(col)
        if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
            return int(a) < int(b)
        return a < b


class ShortcutHelp(QDialog):
    """A table of every keyboard shortcut: (group, keys, what it does)."""

    def __init__(self, rows: Sequence[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        lay = QVBoxLayout(self)
        table = QTableWidget(len(rows), 3, self)
        table.setHorizontalHeaderLabels(["Group", "Keys", "Action"])
        for r, (group, keys, what) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(group))
            table.setItem(r, 1, QTableWidgetItem(keys))
            table.setItem(r, 2, QTableWidgetItem(what))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lay.addWidget(table)
        close = QPushButton("Close", self)
        close.clicked.connect(self.accept)
        lay.addWidget(close)
        self.table = table
        self.resize(640, 640)
