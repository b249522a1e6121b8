"""The QA review of the annotation, Qt-free (not the proposal review of pre-labels): accept / reject
the selected box or the current frame (``commands.SetReview`` stamped with the reviewer's name
and the time; a rejection needs a comment), step to the next / previous box or frame that is
unreviewed, rejected or commented (``fusionlabel.qa.review`` filters), issue markers (place at the
BEV pointer or the selected box's centre, world frame; jump to, resolve / reopen, delete), and the
automatic QA checks (``fusionlabel.qa.run_checks`` on a copy of the document, a background job).

:class:`QAReview` works on a :class:`~gui.model.ViewerModel`; its settings (reviewer, comment,
step filter and scope, issue text, open issues only) are the evented :class:`ReviewOptions` the
review dock binds to. What only the window can do is asked through events: ``show(on | None)``
(review mode on / off / toggled), ``focus(option)`` (type the comment or the issue text first),
``centre((x, y))`` (centre the BEV on a world point), ``changed()`` (redraw the panel),
``checks_running(bool)`` and ``checks_done(QAResult | None, message)``. Where the BEV pointer is
comes from ``pointer()``, the BEV centre from ``view_centre()`` and the ground height from
``ground_z()`` (set by the window). Everything the review changes lives in the annotation
document, so undo / redo, saving and autosave cover it.
"""

from __future__ import annotations

import datetime as _dt
import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fusionlabel.box import Box3D
from fusionlabel.commands import AddIssueMarker, DeleteIssueMarker, ResolveIssueMarker, SetReview
from fusionlabel.document import AnnotationDocument, DocumentEvent, IssueMarker, Review
from fusionlabel.events import EventGroup
from fusionlabel.qa import QAResult, has_comments, rejected, unreviewed
from gui.model.evented import Evented, Field
from gui.model.jobs import Job
from gui.model.shapes import BoxGlyph

if TYPE_CHECKING:
    from gui.model.viewer import ViewerModel

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


def _choice(options: tuple[str, ...] | dict[str, Any]) -> Callable[[Any], str]:
    def coerce(v: Any) -> str:
        if v not in options:
            raise ValueError(f"must be one of {list(options)}, got {v!r}")
        return str(v)

    return coerce


class ReviewOptions(Evented):
    """What the review panel's fields hold (each bound to its widget)."""

    reviewer = Field("", str, "name stamped on reviews and issue markers ('' : the OS user)")
    comment = Field("", str, "comment of the next review (a rejection needs one)")
    filter = Field("unreviewed", _choice(FILTERS), "what the review steps go to")
    scope = Field("boxes", _choice(SCOPES), "boxes, frames or the selected track's boxes")
    issue_text = Field("", str, "text of the next issue marker")
    open_only = Field(False, bool, "list open issue markers only")


class QAReview:
    """The QA review on a :class:`~gui.model.ViewerModel` (see the module doc). ``current_issue``:
    the marker selected in the issue list (the dock sets it)."""

    def __init__(self, model: ViewerModel) -> None:
        self.model = model
        self.options = ReviewOptions(reviewer=default_reviewer())
        self.events = EventGroup("show", "focus", "centre", "changed", "checks_running", "checks_done")
        self.current_issue: int | None = None
        self.pointer: Callable[[], tuple[float, float] | None] = lambda: None
        self.view_centre: Callable[[], tuple[float, float]] = lambda: (0.0, 0.0)
        self.ground_z: Callable[[], float] = lambda: 0.0
        self.result: QAResult | None = None
        self._job: Job | None = None
        self._doc: AnnotationDocument | None = None
        self._unsub: Callable[[], None] | None = None
        self._revision = 0
        self.dirty = True  # the lists (summary, issues) need a redraw
        self._marks_key: tuple[int, int, int] | None = None
        self._marks: dict[int, str] = {}

    # ---- the document ----------------------------------------------------------------------------
    def follow(self) -> bool:
        """Follow the session's document (call after each redraw); True when it changed (the
        checks' result is dropped then)."""
        s = self.model.session
        doc = s.doc if s is not None else None
        if doc is self._doc:
            return False
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        self._doc = doc
        if doc is not None:
            self._unsub = doc.subscribe(self._on_doc_event)
        self.dirty = True
        self.reset_checks()
        return True

    def _on_doc_event(self, event: DocumentEvent) -> None:
        self.dirty = True
        self._revision += 1

    def marks(self) -> dict[int, str]:
        """:func:`box_review_marks` of the current frame, cached until the frame or document changes
        (the BEV and every camera panel ask on each repaint)."""
        s = self.model.session
        if s is None:
            return {}
        key = (id(s.doc), self.model.frame, self._revision)
        if key != self._marks_key:
            self._marks_key, self._marks = key, box_review_marks(s.doc, self.model.frame)
        return self._marks

    # ---- review mode -----------------------------------------------------------------------------
    def toggle(self) -> None:
        """Review mode on or off (the window shows or hides the review docks)."""
        self.events.show.emit(None)

    def _say(self, text: str, ms: int = 5000) -> None:
        self.model.show_message(text, ms)

    @property
    def who(self) -> str:
        return self.options.reviewer.strip() or default_reviewer()

    def _comment(self, status: str) -> str | None:
        c = self.options.comment.strip()
        if status == "rejected" and not c:
            self._say("A rejection needs a comment: type it in the Review panel first", 8000)
            self.events.show.emit(True)
            self.events.focus.emit("comment")
            return None
        return c

    # ---- reviewing -------------------------------------------------------------------------------
    def review_box(self, status: str, comment: str | None = None) -> bool:
        """Accept / reject the selected box at the current frame (``comment`` None: the panel's)."""
        m = self.model
        ref = m.context.selected_box() if m.context is not None else None
        if m.session is None or ref is None:
            self._say("Select a box to review")
            return False
        c = self._comment(status) if comment is None else comment
        if c is None:
            return False
        m.session.undo.push(SetReview.make(m.frame, status, track_id=ref.track_id, comment=c, who=self.who))
        self.options.comment = ""
        self.events.changed.emit()
        self._say(f"Box {ref.track_id} at frame {m.frame} {status}")
        return True

    def review_frame(self, status: str, comment: str | None = None) -> bool:
        """Accept / reject the current frame as a whole."""
        m = self.model
        if m.session is None:
            return False
        c = self._comment(status) if comment is None else comment
        if c is None:
            return False
        m.session.undo.push(SetReview.make(m.frame, status, comment=c, who=self.who))
        self.options.comment = ""
        self.events.changed.emit()
        self._say(f"Frame {m.frame} {status}")
        return True

    def queue(self) -> list[tuple[int, int | None]]:
        """(frame, track id or None) of the items the step filter and scope select, in order."""
        m = self.model
        if m.session is None:
            return []
        doc = m.session.doc
        fn = FILTERS[self.options.filter]
        scope = self.options.scope
        if scope == "frames":
            items = fn(doc, boxes=False, frames=True)
        else:
            items = fn(doc, boxes=True, frames=False)
            if scope == "selected track":
                items = [r for r in items if r.track_id == m.selection]
        return [(r.frame, r.track_id) for r in items]

    def step(self, direction: int) -> bool:
        """Go to the next (+1) or previous (-1) item of the review queue after the current frame /
        selected box; False (and a message) when there is none."""
        m = self.model
        if m.session is None:
            return False
        scope = self.options.scope
        here = (m.frame, -1 if scope == "frames" or m.selection is None else m.selection)
        q = self.queue()
        key = [(f, -1 if t is None else t) for f, t in q]
        cand = [i for i, k in enumerate(key) if (k > here if direction > 0 else k < here)]
        if not cand:
            self._say(f"No {'next' if direction > 0 else 'previous'} {self.options.filter} "
                      f"{'frame' if scope == 'frames' else 'box'}")
            return False
        frame, tid = q[cand[0] if direction > 0 else cand[-1]]
        loc = None
        if tid is not None:
            ref = m.session.doc.box_at(tid, frame)
            loc = None if ref is None else tuple(float(v) for v in ref.box.center)
        self.jump_to(frame, tid, loc, keep_selection=tid is None)
        return True

    def jump_to(self, frame: int | None, track_id: int | None, location: Any = None,
                keep_selection: bool = False) -> None:
        """Show ``frame`` (None: stay), select ``track_id`` (None: deselect unless
        ``keep_selection``) and centre the BEV on the world ``location`` (x, y[, z]) when given."""
        m = self.model
        if m.session is None:
            return
        if frame is not None:
            m.set_frame(frame)
        if track_id is not None or not keep_selection:
            m.select(track_id)
        if location is not None:
            self.events.centre.emit((float(location[0]), float(location[1])))
        self.events.changed.emit()

    # ---- issue markers ---------------------------------------------------------------------------
    def add_issue(self, text: str | None = None, at_pointer: bool = True,
                  position: tuple[float, float, float] | None = None) -> int | None:
        """Place an issue marker at the current frame: at ``position`` (world m) when given, else at
        the BEV pointer (when ``at_pointer``; like ``N``) or the selected box's centre, else the BEV
        pointer, else the BEV centre; the text is ``text`` or the panel's. Returns the marker id
        (None when nothing was placed)."""
        m = self.model
        if m.session is None:
            return None
        text = (self.options.issue_text if text is None else text).strip()
        if not text:
            self._say("Type the issue's text in the Review panel first", 8000)
            self.events.show.emit(True)
            self.events.focus.emit("issue_text")
            return None
        ref = m.context.selected_box() if m.context is not None else None
        ground = float(self.ground_z())
        pointer = self.pointer()
        if position is None:
            if at_pointer and pointer is not None:
                position = (*pointer, ground)
            elif ref is not None:
                position = tuple(float(v) for v in ref.box.center)  # type: ignore[assignment]
            elif pointer is not None:
                position = (*pointer, ground)
            else:
                cx, cy = self.view_centre()
                position = (float(cx), float(cy), ground)
        cmd = AddIssueMarker(position, text, author=self.who, frame=m.frame,
                             track_id=None if ref is None else ref.track_id)
        m.session.undo.push(cmd)
        self.options.issue_text = ""
        self._say(f"Issue {cmd.marker_id} placed at frame {m.frame}")
        return cmd.marker_id

    def jump_to_issue(self, marker_id: int | None) -> None:
        """Show the marker's frame, select its track and centre the BEV on it."""
        if marker_id is None or self.model.session is None:
            return
        mk: IssueMarker = self.model.session.doc.issue_marker(int(marker_id))
        self.jump_to(mk.frame, mk.track_id, mk.position, keep_selection=mk.track_id is None)

    def toggle_resolved(self, marker_id: int | None = None) -> None:
        """Resolve the (current) marker, or reopen it when it is resolved."""
        mid = self.current_issue if marker_id is None else marker_id
        s = self.model.session
        if mid is None or s is None:
            return
        mk = s.doc.issue_marker(mid)
        s.undo.push(ResolveIssueMarker(mid, resolved=not mk.resolved, who=self.who))

    def delete_issue(self, marker_id: int | None = None) -> None:
        mid = self.current_issue if marker_id is None else marker_id
        if mid is not None and self.model.session is not None:
            self.model.session.undo.push(DeleteIssueMarker(mid))

    def glyphs_3d(self) -> list[BoxGlyph]:
        """3D view: each issue marker of the current frame (and sequence-wide ones) as a small cube
        (0.5 m) at its world position with ``! text``: red while open, grey when resolved."""
        s = self.model.session
        if s is None:
            return []
        out = []
        for mk in s.doc.issue_markers():
            if mk.frame is not None and mk.frame != self.model.frame:
                continue
            color = (0.6, 0.6, 0.6, 0.9) if mk.resolved else (1.0, 0.27, 0.24, 1.0)
            cube = Box3D(mk.position, (0.5, 0.5, 0.5), 0.0).corners()
            out.append(BoxGlyph(cube, color, True, False, f"! {mk.text}"[:40]))
        return out

    # ---- the QA checks ---------------------------------------------------------------------------
    @property
    def checks_running(self) -> bool:
        return self._job is not None

    def reset_checks(self) -> None:
        """Forget the checks' result (another document is shown); a run in flight is dropped."""
        if self._job is not None:
            self._job.cancel(drop=True)
        self._job = None
        self.result = None
        self.events.checks_running.emit(False)

    def run_checks(self) -> bool:
        """Start the checks on a snapshot of the document (world-frame points read from the
        sequence in a background job); False when there is no session or a run is going on."""
        m = self.model
        self.events.show.emit("findings")
        if m.session is None or self._job is not None:
            return False
        from formats.qa_report import world_point_loader
        from fusionlabel.qa import records_from_document_dict

        s = m.session
        data = s.doc.to_dict()
        doc = AnnotationDocument.from_dict(data)  # the labeler keeps editing the original
        records = records_from_document_dict(data)
        info, onto, loader = s.seq, s.ontology, world_point_loader(s.loaded)
        labels = s.doc.point_labels  # the point-label checks read the labels (and their sweeps)
        sweeps = None
        if labels is not None:
            from formats.pointlabels import sweeps_of

            sweeps = sweeps_of(s.loaded, labels.sensor)

        def work(_job: Job) -> QAResult:
            from fusionlabel.qa import run_checks

            return run_checks(doc, info, loader, ontology=onto, records=records, point_labels=labels,
                              point_sweeps=sweeps)

        self._job = m.jobs.submit("qa-checks", work, finished=self._on_checks)
        self.events.checks_running.emit((len(doc), len(info)))
        return True

    def _on_checks(self, job: Job) -> None:
        if job is not self._job:
            return
        self._job = None
        if job.state == "done":
            self.result = job.result
            self.events.checks_done.emit((job.result, ""))
        else:
            self.events.checks_done.emit((None, job.error or job.state))
