"""Saving, autosave and crash recovery of the window's annotation project (Qt side: the questions
go through the window's :class:`~gui.qt.prompts.Prompter`). :class:`ProjectKeeper` holds the
recovery store of the session's document (autosave copy and edit journal, ``gui.persist``), says
whether the annotations are modified, saves (atomically), offers a newer recovery copy after a
crash and keeps the window title (``*`` while modified) through ``set_title``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from formats.project import RecoveryStore
from fusionlabel.commands import UndoStack
from gui import persist
from gui.model import ViewerModel
from gui.qt.prompts import APP_NAME, Prompter
from gui.session import Session

__all__ = ["ProjectKeeper", "restore_note"]


def _int_meta(meta: dict, key: str) -> int:
    v = meta.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def restore_note(meta: dict, recovery: Path, project: Path | None, doc: object) -> str:
    """The status line after a restore: how many edits came back, from which copy, and what the
    restored annotation holds, e.g. "Restored 12 edits (3 from the edit journal) from the recovery
    copy of annotations.flproj: 7 tracks, 95 keyframes", or "Restored 5 edits from the edit journal
    of annotations.flproj: ..." (edits made after the last save, no recovery copy written yet)."""
    edits, journaled = _int_meta(meta, "edits"), _int_meta(meta, "journal_records")
    of = project.name if project is not None else f"the unsaved annotation ({recovery.name})"
    count = f"{edits} edit{'s' if edits != 1 else ''}" if edits else "the unsaved edits"
    holds = f"{len(doc)} tracks, {doc.num_keyframes()} keyframes"  # type: ignore[arg-type, attr-defined]
    if meta.get("recovery_base") == "project":
        return f"Restored {count} from the edit journal of {of}: {holds}"
    tail = f" ({journaled} from the edit journal)" if journaled else ""
    return f"Restored {count}{tail} from the recovery copy of {of}: {holds}"


class ProjectKeeper:
    """The project's saving and recovery for a window (see the module doc): ``prompter()`` the
    window's current prompter, ``parent`` the dialogs' parent widget, ``set_title(text)`` the
    window title, ``autosave_s`` the autosave interval (s)."""

    def __init__(self, model: ViewerModel, prompter: Callable[[], Prompter], parent: object,
                 set_title: Callable[[str], None], autosave_s: float) -> None:
        self.model = model
        self.prompter = prompter
        self.parent = parent
        self.set_title = set_title
        self.autosave_s = float(autosave_s)
        self.recovery: RecoveryStore | None = None
        self.recovered = False  # document restored from a recovery copy and not saved yet
        self.restored_edits = 0  # edits the restored document holds since its last save
        self.restore_note = ""  # what was restored (or kept), for the status line

    @property
    def session(self) -> Session | None:
        return self.model.session  # type: ignore[no-any-return]

    def reset(self) -> None:
        """A new session: nothing restored yet."""
        self.recovered = False
        self.restored_edits = 0
        self.restore_note = ""

    def bind(self, session: Session) -> None:
        """The recovery store of the session's (possibly restored) document, if none yet."""
        if self.recovery is None:
            self.recovery = persist.recovery_store(session, self.autosave_s, track_clean_state=not self.recovered,
                                                   edits=self.restored_edits, on_error=self.journal_failed)

    def close(self) -> None:
        if self.recovery is not None:
            self.recovery.close()
            self.recovery = None

    @property
    def is_modified(self) -> bool:
        """True when the annotations differ from the saved project."""
        return self.session is not None and (self.recovered or not self.session.undo.is_clean)

    def update_title(self) -> None:
        if self.session is None:
            self.set_title(APP_NAME)
            return
        star = "*" if self.is_modified else ""
        where = self.session.project_path.name if self.session.project_path else self.session.seq.name
        self.set_title(f"{star}{where} - {APP_NAME}")

    def save(self, ask: bool = False) -> bool:
        """Save the annotation project (atomically); True on success."""
        if self.session is None:
            return False
        path = self.session.project_path
        if path is None or ask:
            path = self.prompter().save_path(self.parent, path or persist.default_project_path(self.session))
            if path is None:
                return False
        try:
            persist.save_project(self.session, path)
        except Exception as e:
            self.prompter().error(self.parent, "Cannot save", f"{path}: {type(e).__name__}: {e}")
            return False
        self.session.project_path = Path(path)
        self.session.undo.mark_clean()
        if self.recovery is not None:
            self.recovery.mark_saved(path)
            if self.recovered:  # from now on the undo stack's clean state is the saved one
                self.recovery.close()
                self.recovery = persist.recovery_store(self.session, self.autosave_s, on_error=self.journal_failed)
        self.recovered = False
        self.restored_edits = 0
        self.update_title()
        self.model.show_message(f"Saved {path}", 5000)
        return True

    def autosave_tick(self) -> None:
        if self.recovery is None:
            return
        try:
            if self.recovery.maybe_autosave():
                self.model.show_message(f"Autosaved to {self.recovery.path}", 3000)
        except Exception as e:  # never interrupt the labeler for an autosave; say it
            self.model.show_message(f"Autosave failed: {e}", 10000)

    def autosave(self) -> Path | None:
        """Write the recovery copy now if there are unsaved changes; its path, else None."""
        if self.recovery is None or not self.is_modified:
            return None
        try:
            return self.recovery.write_recovery()
        except Exception as e:
            self.model.show_message(f"Autosave failed: {e}", 10000)
            return None

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if not self.is_modified:
            return True
        ans = self.prompter().ask_save_changes(self.parent)
        if ans == "save":
            return self.save()
        if ans == "discard":
            if self.recovery is not None:
                self.recovery.discard()
            return True
        return False

    def offer_recovery(self) -> None:
        """After a crash: offer the recovery copy (with its edit journal) when it is newer than the
        project."""
        assert self.session is not None
        store = persist.recovery_store(self.session, self.autosave_s)
        if not store.recovery_is_newer():
            store.close()
            self.recovery = None
            return
        offered = store.offer_path  # the recovery copy, else the journal of edits after the last save
        answer = self.prompter().ask_recover(self.parent, offered, offered.stat().st_mtime)
        if answer is None:  # keep it, out of the way of this session's autosaves
            kept = store.move_aside()
            store.close()
            self.recovery = None
            self.restore_note = f"Recovery copy kept as {kept}"
            return
        if answer:
            try:
                project = store.load_recovery()
                doc = project.document
                if doc.frame_count is not None and doc.frame_count != len(self.session.seq):
                    raise ValueError(f"made for {doc.frame_count} frames, the sequence has {len(self.session.seq)}")
            except Exception as e:
                kept = store.move_aside()
                text = f"{store.path}: {type(e).__name__}: {e}\n(kept as {kept})"
                self.prompter().error(self.parent, "Cannot restore", text)
                store.close()
                self.recovery = None
                return
            store.close()
            self.session.doc = doc
            self.session.undo = UndoStack(doc)
            self.recovered = True
            self.restored_edits = _int_meta(project.meta, "edits")
            self.restore_note = restore_note(project.meta, store.path, self.session.project_path, doc)
            self.recovery = None  # made for the restored document by _bind_document
        else:
            store.discard()
            store.close()
            self.recovery = None

    def journal_failed(self, e: Exception) -> None:
        if self.recovery is not None and self.recovery.journal is None:  # another window journals it
            self.model.show_message(f"Edit journal off: {e}; this window autosaves every "
                                    f"{self.autosave_s:.0f} s only", 20000)
            return
        self.model.show_message(f"Edit journal: cannot write ({type(e).__name__}: {e}); "
                                "the next edit writes a full recovery copy", 10000)
