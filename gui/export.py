"""File > Export: write the current session (its sequence and the annotation document as edited,
unsaved changes included) in any output layout, in a background thread.

Every entry of :data:`EXPORTS` asks for a destination folder (:class:`ExportPrompts`, replaceable
in tests like the window's ``Prompter``), snapshots the document in the GUI thread, runs the writer
(``formats.convert`` writers, ``formats.bev.write_bev``, ``formats.render_export.write_images``) in
a daemon thread and shows a progress dialog (Cancel stops it: the writers stage their output, so
nothing half-written is left) while the window stays usable. It ends with a summary (frames, boxes,
skipped items and why, warnings) or an error dialog naming the file and the problem; the session
is never touched. The session's files stay open until the export is done with them, even when the
window closes the session meanwhile (:func:`hold_files`).

Destination: a new or empty folder is written directly; a non-empty one gets a sub-folder
``<sequence>-<format>`` (replacing an existing one only after asking).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from fusionlabel.document import AnnotationDocument
from gui.model.export import EXPORTS, ExportKind, export_name
from gui.model.jobs import Job

if TYPE_CHECKING:
    from gui.model.viewer import ViewerModel


def _name(kind: ExportKind) -> str:
    return export_name(kind)


class ExportCancelled(Exception):
    """Raised from the progress callback when the user cancels; the writer removes its staging."""


# ---- prompts (replaceable in tests) ---------------------------------------------------------------
class ExportPrompts:
    """Every question and message of the Export menu. Tests pass a subclass with canned answers."""

    def destination(self, parent: QWidget, title: str, suggested: Path) -> Path | None:
        """The folder to export into (None: cancelled)."""
        p = QFileDialog.getExistingDirectory(parent, title, str(suggested))
        return Path(p) if p else None

    def confirm_replace(self, parent: QWidget, path: Path) -> bool:
        """May the existing non-empty ``path`` be replaced?"""
        r = QMessageBox.question(parent, "Export", f"{path} exists and is not empty. Replace it?",
                                 QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        return r == QMessageBox.StandardButton.Yes

    def summary(self, parent: QWidget, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.setModal(False)
        box.show()

    def error(self, parent: QWidget, title: str, text: str) -> None:
        QMessageBox.critical(parent, title, text)


# ---- the session as a sequence --------------------------------------------------------------------
def snapshot_document(doc: AnnotationDocument) -> AnnotationDocument:
    """An independent copy of ``doc`` (tracks, gaps, reviews, frame times) that the labeler's
    further edits do not change; proposals and issue markers are not exported."""
    data = doc.to_dict()
    data.pop("proposals", None)
    data.pop("issues", None)
    copy_ = AnnotationDocument.from_dict(data)
    copy_.set_frame_times(doc.frame_times_ns)
    return copy_


def session_sequence(session: Any) -> Any:
    """The session's ``LoadedSequence`` with its annotations replaced by a snapshot of the
    session's document (unsaved edits included). Shares the readers (no closer: the session keeps
    the files open)."""
    loaded = copy.copy(session.loaded)
    loaded.annotations = snapshot_document(session.doc)
    loaded.warnings = list(getattr(session.loaded, "warnings", []))
    loaded.closer = None
    return loaded


def hold_files(loaded: Any) -> Callable[[], None]:
    """Keep ``loaded``'s files open while an export reads them: its ``closer`` (a packed HDF5
    file) is deferred until the returned ``release()`` is called (the window may close the session
    meanwhile, e.g. to open another sequence). ``release`` runs a deferred close."""
    orig = getattr(loaded, "closer", None)
    if orig is None:
        return lambda: None
    lock = threading.Lock()
    state = {"held": True, "close": False}

    def deferred() -> None:
        with lock:
            if state["held"]:
                state["close"] = True
                return
        orig()

    def release() -> None:
        with lock:
            state["held"] = False
            close = state["close"]
            if loaded.closer is deferred:
                loaded.closer = orig
        if close:
            orig()

    loaded.closer = deferred
    return release


def resolve_destination(chosen: Path, kind: str, sequence_name: str) -> Path:
    """``chosen`` when it is new or an empty folder (or not a folder: the writer says why), else
    ``chosen/<sequence>-<kind>``."""
    if chosen.is_dir() and any(chosen.iterdir()):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in sequence_name) or "sequence"
        return chosen / f"{safe}-{kind}"
    return chosen


def _target_exists(dst: Path, kind: str) -> bool:
    if kind == "openlabel":
        return (dst / "openlabel.json").exists()
    return dst.is_dir() and any(dst.iterdir())


def summary_text(kind: ExportKind, dst: Path, summary: Any, seconds: float) -> str:
    """The closing message: where, then ``ConvertSummary.text()`` (frames, boxes, skipped and why,
    warnings, failures)."""
    return f"{_name(kind)} written to\n{dst}\nin {seconds:.1f} s\n\n{summary.text()}"


@dataclass
class _Run:
    kind: ExportKind
    dst: Path
    job: Job | None = None
    dialog: QProgressDialog | None = None


class ExportActions(QObject):
    """The export runs of File > Export (the entries come from the action registry) on a
    :class:`~gui.model.ViewerModel` (its session, status line and job runner); ``parent`` is the
    widget its dialogs belong to. ``finished(summary)`` is emitted when a run ends (the
    ``ConvertSummary``, or None after a failure or cancel); ``last_summary`` and ``last_error``
    keep the outcome."""

    finished = pyqtSignal(object)

    def __init__(self, model: ViewerModel, parent: QWidget | None = None, prompts: ExportPrompts | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.parent_widget = parent
        self.prompts = prompts or ExportPrompts()
        self.last_summary: Any = None
        self.last_error: str | None = None
        self.last_destination: Path | None = None
        self._run: _Run | None = None

    @property
    def running(self) -> bool:
        return self._run is not None

    # ---- starting ---------------------------------------------------------------------------------
    def ask_export(self, key: str) -> bool:
        """Ask for a destination and start exporting as ``key`` (an :data:`EXPORTS` key); False when
        there is nothing to export, an export is running, or the user cancelled."""
        if self.model.session is None:
            self.model.show_message("Export: open a sequence first", 5000)
            return False
        if self._run is not None:
            self.model.show_message("Export: another export is still running", 5000)
            return False
        kind = EXPORTS[key]
        s = self.model.session
        suggested = (Path(s.seq.root) if s.seq.root is not None else Path(s.source)).parent
        title = f"Export as {_name(kind)}: destination folder"
        chosen = self.prompts.destination(self.parent_widget, title, suggested)
        if chosen is None:
            return False
        return self.start(key, chosen)

    def start(self, key: str, chosen: str | Path) -> bool:
        """Export the session as ``key`` into ``chosen`` (see the module docstring for where
        exactly) in a background thread; False when refused (no session, running, not replaced)."""
        if self.model.session is None or self._run is not None:
            return False
        kind = EXPORTS[key]
        dst = resolve_destination(Path(chosen), key, self.model.session.seq.name)
        overwrite = False
        if _target_exists(dst, key):
            shown = dst if key != "openlabel" else dst / "openlabel.json"
            if not self.prompts.confirm_replace(self.parent_widget, shown):
                return False
            overwrite = True
        try:
            writer = kind.load()
            loaded = session_sequence(self.model.session)
        except Exception as e:
            self._fail(kind, dst, f"{type(e).__name__}: {e}")
            return False
        options = {**kind.options, "overwrite": overwrite, "ontology": self.model.session.ontology}
        run = _Run(kind, dst)
        self._run = run
        self.last_destination = dst
        self.last_summary = None
        self.last_error = None
        n = len(loaded.info.frames)
        dlg = QProgressDialog(f"Exporting {n} frames to\n{dst}", "Cancel", 0, max(n, 1), self.parent_widget)
        dlg.setWindowTitle(f"Export: {_name(kind)}")
        dlg.setWindowModality(Qt.WindowModality.NonModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(lambda r=run: self.cancel(r))
        dlg.setValue(0)
        dlg.show()
        run.dialog = dlg
        self.model.show_message(f"Exporting to {dst} ...")
        release = hold_files(self.model.session.loaded)
        run.job = self.model.jobs.submit(f"export-{key}", export_work(writer, loaded, dst, options, release),
                                        progress=self._on_progress, finished=self._on_finished)
        return True

    def cancel(self, run: _Run | None = None) -> None:
        """Ask the running export to stop (at the next frame); nothing is left at the destination."""
        if self._run is not None and self._run.job is not None and (run is None or run is self._run):
            self._run.job.cancel()
            self.model.show_message("Export: cancelling ...", 5000)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running export's job ends (tests, shutdown); results still arrive
        through the event loop."""
        if self._run is not None and self._run.job is not None:
            self._run.job.wait(timeout)

    # ---- results (GUI thread) ----------------------------------------------------------------------
    def _on_progress(self, job: Job, done: int, total: int, _text: str) -> None:
        run = self._run
        if run is None or run.job is not job or run.dialog is None:
            return
        run.dialog.setMaximum(max(total, 1))
        run.dialog.setValue(min(done, max(total, 1)))
        self.model.show_message(f"Exporting to {run.dst}: frame {done} / {total}")

    def _end(self, job: Job) -> _Run | None:
        run = self._run
        if run is None or run.job is not job:
            return None
        self._run = None
        if run.dialog is not None:
            run.dialog.blockSignals(True)  # closing must not read as "cancel"
            run.dialog.close()
            run.dialog.deleteLater()
        return run

    def _on_finished(self, job: Job) -> None:
        run = self._end(job)
        if run is None:
            return
        if job.state == "done":
            summary = job.result
            self.last_summary = summary
            self.model.show_message(
                f"Exported {summary.frames} frames, {summary.boxes} boxes to {run.dst}", 10000)
            text = summary_text(run.kind, run.dst, summary, job.seconds)
            self.prompts.summary(self.parent_widget, "Export finished", text)
            self.finished.emit(summary)
            return
        if job.state == "cancelled":
            self.last_error = "cancelled"
            self.model.show_message(f"Export to {run.dst} cancelled; nothing written", 8000)
        else:
            self._fail(run.kind, run.dst, job.error or job.state)
        self.finished.emit(None)

    def _fail(self, kind: ExportKind, dst: Path, message: str) -> None:
        self.last_error = message
        self.model.show_message("Export failed", 8000)
        self.prompts.error(self.parent_widget, "Export failed",
                           f"{_name(kind)} export to {dst} failed:\n{message}\n\n"
                           "Nothing was changed in the annotations.")


def export_work(writer: Callable[..., Any], loaded: Any, dst: Path, options: dict[str, Any],
                release: Callable[[], None]) -> Callable[[Job], Any]:
    """The export job: run the writer, reporting progress (a cancel raises
    :class:`ExportCancelled` inside the writer, which removes its staged output); ``release()``
    (see :func:`hold_files`) when the writer is done with the files."""
    from formats.convert import call_writer

    def work(job: Job) -> Any:
        def progress(done: int, total: int) -> None:
            if job.cancelled:
                raise ExportCancelled
            job.report(done, total)

        try:
            summary = call_writer(writer, loaded, dst, progress, options)
        finally:
            release()
        summary.warnings[:0] = [w for w in loaded.warnings if w not in summary.warnings]
        return summary

    return work
