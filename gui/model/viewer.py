"""The window's state without Qt: :class:`ViewerModel` and its parts.

- ``session``: what is loaded (a ``gui.session.Session`` or None); ``events.session(session)``.
- ``frame``, ``selection``, ``preview``: owned by the tools' :class:`ToolContext` of the session;
  the model reads them through and re-emits the context's events (``events.frame(int)``,
  ``events.selection(track_id | None)``, ``events.preview(Preview | None)``); ``set_frame`` and
  ``select`` go through the context, so the tools and the views see one state.
- ``tool``: the active tool's name (``"edit"`` without a session); ``events.tool(name)``.
- ``view``: :class:`ViewOptions` (point colours, accumulated sweeps, follow ego, BEV rotation,
  LiDAR in cameras, level of detail), one event per option.
- ``status``: the last :class:`StatusMessage`; ``show_message(text, timeout_ms)`` emits
  ``events.status``. The message's expiry is the status bar's business.
- ``layers``: the annotation layers (:class:`gui.model.layers.LayerList`), each with its drawing
  data per view; ``layers.events`` ``inserted`` / ``removed`` / ``moved`` / ``changed``.
- ``progress``: :class:`Progress` of the window's foreground job (loading, pre-labelling):
  value / maximum / text / cancellable, ``events.changed(ProgressState)``, ``events.cancel()``.

Any number of listeners per event (:mod:`fusionlabel.events`); widgets bind to one piece each
(``gui/bindings.py``). One thread (the GUI's) reads and writes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fusionlabel.events import ErrorReporter, EventGroup
from fusionlabel.tools import Preview, ToolContext, ToolController
from gui.colors import ALL_COLOR_MODES, COLOR_MODES
from gui.model.evented import Evented, Field
from gui.model.jobs import JobRunner
from gui.model.layers import LayerList

#: Most sweeps accumulated before and after the current one.
MAX_ACCUMULATE = 50


def _color_mode(v: Any) -> str:
    if v not in ALL_COLOR_MODES:
        raise ValueError(f"colour mode must be one of {ALL_COLOR_MODES}, got {v!r}")
    return str(v)


def _accumulate(v: Any) -> int:
    n = int(v)
    if not 0 <= n <= MAX_ACCUMULATE:
        raise ValueError(f"accumulate must be within 0..{MAX_ACCUMULATE}, got {v!r}")
    return n


def _angle(v: Any) -> float:
    a = float(v)
    if not math.isfinite(a):
        raise ValueError(f"angle must be finite, got {v!r}")
    return a % (2 * math.pi)


class ViewOptions(Evented):
    """The window's view toggles (each ``view.events.<name>(value)`` on change)."""

    color_mode = Field("height", _color_mode, "points coloured by height, intensity or distance, or by their "
                       "point labels: class or instance")
    accumulate = Field(0, _accumulate, "also show this many sweeps before and after (world frame)")
    follow_ego = Field(True, bool, "the BEV and 3D view follow the ego vehicle while stepping")
    bev_up_offset = Field(0.0, _angle, "added to the ego heading as the BEV's up direction (rad, [0, 2 pi))")
    camera_points = Field(False, bool, "LiDAR points drawn over the camera images")
    level_of_detail = Field(True, bool, "the 3D view draws a decimated cloud while moving")
    time_correct = Field(True, bool, "each image's boxes and LiDAR overlay at the image's capture time "
                         "(fusionlabel.timing); off: at the sweep time")
    deskew = Field(False, bool, "sweeps with per-point times shown motion-compensated through the ego poses")
    camera_box = Field(False, bool, "a left drag in a camera panel draws a rectangle that becomes a 3D box "
                       "(gui.qt.viewedit)")
    auto_track_new = Field(True, bool, "a new box tracks itself through the sequence and gets one heading, size "
                           "and motion state for the whole track (gui.model.follow)")
    auto_track_edits = Field(True, bool, "an edited box of a tracked track re-tracks the frames up to its "
                             "neighbouring keyframes (gui.model.follow)")

    def cycle_color_mode(self) -> str:
        """Switch to the next colour mode (of height, intensity, distance); returns it."""
        i = COLOR_MODES.index(self.color_mode) if self.color_mode in COLOR_MODES else -1
        self.color_mode = COLOR_MODES[(i + 1) % len(COLOR_MODES)]
        return self.color_mode

    def rotate_bev(self, quarter_turns: int = 1) -> float:
        """Turn the BEV's up direction by 90 degrees counter-clockwise per quarter turn."""
        self.bev_up_offset = self.bev_up_offset + quarter_turns * math.pi / 2
        return self.bev_up_offset


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """A status line: ``text`` shown for ``timeout_ms`` milliseconds (0: until the next one)."""

    text: str
    timeout_ms: int = 0


@dataclass(frozen=True, slots=True)
class ProgressState:
    """The foreground job's progress: ``active`` (shown), ``value`` of ``maximum`` steps
    (``maximum`` 0: busy, length unknown), ``text`` (what is being done), ``cancellable``."""

    active: bool = False
    value: int = 0
    maximum: int = 0
    text: str = ""
    cancellable: bool = False


class Progress:
    """Progress of the window's foreground job: ``start``, ``update``, ``finish``; ``state`` is
    the current :class:`ProgressState`; ``events.changed(state)`` after each change;
    ``request_cancel()`` emits ``events.cancel()`` when the job is active and cancellable."""

    def __init__(self) -> None:
        self.events = EventGroup("changed", "cancel")
        self._state = ProgressState()

    @property
    def state(self) -> ProgressState:
        return self._state

    @property
    def active(self) -> bool:
        return self._state.active

    def _set(self, state: ProgressState) -> None:
        if state != self._state:
            self._state = state
            self.events.changed.emit(state)

    def start(self, maximum: int = 0, text: str = "", cancellable: bool = False) -> None:
        """Show progress of a job of ``maximum`` steps (0: unknown length) at step 0."""
        self._set(ProgressState(True, 0, _count(maximum, "maximum"), str(text), bool(cancellable)))

    def update(self, value: int, maximum: int | None = None, text: str | None = None) -> None:
        """Step ``value`` (clamped to ``maximum`` when that is known); optionally a new maximum or
        text. Starts the progress when it was not active."""
        s = self._state
        m = s.maximum if maximum is None else _count(maximum, "maximum")
        v = _count(value, "value")
        if m > 0:
            v = min(v, m)
        self._set(ProgressState(True, v, m, s.text if text is None else str(text), s.cancellable))

    def finish(self) -> None:
        """Hide the progress (the job ended, however)."""
        self._set(ProgressState())

    def request_cancel(self) -> bool:
        """Ask the job to stop (emits ``events.cancel``); False when nothing can be cancelled."""
        if not (self._state.active and self._state.cancellable):
            return False
        self.events.cancel.emit()
        return True


def _count(v: int, what: str) -> int:
    n = int(v)
    if n < 0:
        raise ValueError(f"progress {what} must be >= 0, got {v!r}")
    return n


class ViewerModel:
    """The window's evented state (see the module doc). ``events``: ``session``, ``frame``,
    ``selection``, ``preview``, ``tool``, ``status``; ``view`` and ``progress`` have their own."""

    #: How long a tool's message (``ToolContext.message``) stays in the status line (ms).
    TOOL_MESSAGE_MS = 5000

    def __init__(self) -> None:
        self.events = EventGroup("session", "frame", "selection", "preview", "tool", "status")
        self.view = ViewOptions()
        self.progress = Progress()
        self.layers = LayerList()
        self._session: Any = None
        self._ctx: ToolContext | None = None
        self._ctl: ToolController | None = None
        self._unbind: list[Callable[[], None]] = []
        self._status = StatusMessage("")
        #: What the actions (``gui.model.actions``) work on besides the tools: ``shell`` (what only
        #: the window can do, ``gui.model.actions.Shell``) and the window's parts (track
        #: operations, auto-tracking, proposal review, QA review, export); None until attached.
        self.shell: Any = None
        self.tracks: Any = None
        self.auto_track: Any = None
        self.proposal_review: Any = None
        self.review: Any = None
        self.export: Any = None
        #: The background jobs (load, pre-label, export, QA, auto-track); the window replaces it
        #: with one delivering on the GUI thread (``gui.qt.jobs.qt_job_runner``).
        self.jobs = JobRunner()

    def report_errors_to(self, report: ErrorReporter) -> None:
        """``report(event name, listener, exception)`` is told about every listener that raises,
        of the model's events, the view options' and the progress' (default: logged)."""
        for group in (self.events, self.view.events, self.progress.events, self.layers.events):
            group.report = report

    # ---- session and tools ----------------------------------------------------------------------
    @property
    def session(self) -> Any:
        """The loaded ``gui.session.Session`` (None: nothing loaded)."""
        return self._session

    def set_session(self, session: Any) -> None:
        """Replace what is loaded (None: close); the tools are unbound until :meth:`bind_tools`.
        Emits ``events.session``."""
        self._unbind_tools()
        self._session = session
        self.events.session.emit(session)

    @property
    def context(self) -> ToolContext | None:
        return self._ctx

    @property
    def controller(self) -> ToolController | None:
        return self._ctl

    def bind_tools(self, ctx: ToolContext, ctl: ToolController | None = None) -> None:
        """Follow the session's tool context (and controller): their events become the model's.
        Emits ``frame``, ``selection``, ``preview`` and ``tool`` once with the current values."""
        if ctl is not None and ctl.ctx is not ctx:
            raise ValueError("the controller drives another tool context")
        self._unbind_tools()
        self._ctx, self._ctl = ctx, ctl
        ev = ctx.events
        self._unbind = [
            ev.frame.connect(self.events.frame.emit),
            ev.selection.connect(self.events.selection.emit),
            ev.preview.connect(self.events.preview.emit),
            ev.message.connect(lambda text: self.show_message(text, self.TOOL_MESSAGE_MS)),
        ]
        if ctl is not None:
            self._unbind.append(ctl.events.tool.connect(self.events.tool.emit))
        self.events.frame.emit(ctx.frame)
        self.events.selection.emit(ctx.selection)
        self.events.preview.emit(ctx.preview)
        self.events.tool.emit(self.tool)

    def _unbind_tools(self) -> None:
        for u in self._unbind:
            u()
        self._unbind = []
        self._ctx = self._ctl = None

    # ---- frame, selection, preview, tool (through the tools) -----------------------------------
    @property
    def frame(self) -> int:
        """The current frame index (0 without tools)."""
        return self._ctx.frame if self._ctx is not None else 0

    def set_frame(self, frame: int) -> int:
        """Go to ``frame`` (clamped to the sequence); returns the frame now shown."""
        return self._ctx.set_frame(int(frame)) if self._ctx is not None else 0

    def jump_keyframe(self, direction: int) -> bool:
        """Go to the next (``direction`` > 0) or previous keyframe of the selected track; True when
        the frame changed."""
        doc = self._session.doc if self._session is not None else None
        sel = self.selection
        if doc is None or sel is None or sel not in doc:
            return False
        f = self.frame
        cand = [k for k in doc.track(sel).keyframe_indices() if (k > f if direction > 0 else k < f)]
        if not cand:
            return False
        self.set_frame(min(cand) if direction > 0 else max(cand))
        return True

    @property
    def selection(self) -> int | None:
        """The selected track id, or None."""
        return self._ctx.selection if self._ctx is not None else None

    def select(self, track_id: int | None) -> None:
        """Select a track (None: nothing; an unknown id selects nothing)."""
        if self._ctx is not None:
            self._ctx.set_selection(track_id)

    @property
    def preview(self) -> Preview | None:
        """The box being dragged (not yet in the document), or None."""
        return self._ctx.preview if self._ctx is not None else None

    @property
    def tool(self) -> str:
        """The active tool's name."""
        return self._ctl.active_name if self._ctl is not None else "edit"

    def set_tool(self, name: str) -> None:
        if self._ctl is not None:
            self._ctl.set_tool(name)

    # ---- status ---------------------------------------------------------------------------------
    @property
    def status(self) -> StatusMessage:
        """The last status message."""
        return self._status

    def show_message(self, text: str, timeout_ms: int = 0) -> None:
        """Put ``text`` in the status line for ``timeout_ms`` ms (0: until the next message)."""
        self._status = StatusMessage(str(text), max(0, int(timeout_ms)))
        self.events.status.emit(self._status)
