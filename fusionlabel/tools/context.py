"""What the interaction tools work on: :class:`ToolContext` and the drag :class:`Preview`.

The GUI owns one context per open sequence and keeps it current (frame, points of the frame);
the tools read the document through it, edit it only by pushing commands on its undo stack, and
report selection, preview, frame and message events through its :class:`EventGroup` ``events``
(plain Python, no Qt; any number of listeners, see :mod:`fusionlabel.events`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.box import Box3D
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument, BoxRef
from fusionlabel.events import EventGroup
from fusionlabel.ontology import Ontology
from fusionlabel.tools.handles import HANDLE_TOLERANCE_PX

#: Radius (m) around a position in which the ground height is estimated from the points.
GROUND_RADIUS = 4.0
#: Percentile of the point heights taken as the ground there.
GROUND_PERCENTILE = 5.0


@dataclass(frozen=True, slots=True)
class Preview:
    """A box shown by the views but not (yet) in the document: the box being dragged.

    ``track_id`` is the edited track (None while creating a new one); ``box`` is world-frame;
    ``kind`` is the gesture (``"create"``, ``"move"``, ``"resize"``, ``"rotate"``); ``handle``
    names the grabbed handle (or None); ``frame`` is the frame it belongs to.
    """

    track_id: int | None
    box: Box3D
    kind: str
    frame: int
    handle: str | None = None


GroundModel = float | Callable[[float, float], float] | None
#: ``(doc, track_id, from_frame, to_frame) -> Box3D | None``: where a track's box will be at
#: ``to_frame`` (motion prediction); None falls back to a plain copy.
BoxPredictor = Callable[[AnnotationDocument, int, int, int], Box3D | None]

#: ``(frame offset) -> (dt seconds, world points (M, 3+)) | None``: a neighbouring sweep of the sequence.
NeighbourPoints = Callable[[int], "tuple[float, ArrayLike] | None"]

#: The events of a :class:`ToolContext` (``ctx.events.<name>``).
CONTEXT_EVENTS = ("selection", "preview", "frame", "message")


class ToolContext:
    """The state the tools share with the GUI.

    - ``doc`` / ``stack``: the document and its :class:`~fusionlabel.commands.UndoStack`.
    - ``frame``: the current frame index; change it with :meth:`set_frame`.
    - ``selection``: the selected track id or None; change it with :meth:`set_selection`.
    - ``points``: the current frame's LiDAR points in the ``world`` frame, ``(N, 3+)`` float
      (extra columns ignored), or None when not loaded. Used by create (height and z).
    - ``ground``: ground height (m, world z): a constant, a function ``(x, y) -> z``, or None to
      estimate it from ``points`` (the 5th percentile of the heights within 4 m; 0 without points).
    - frame facts, set with the points by :meth:`set_frame_data` and cleared with them on a frame
      change: ``sensor_origin`` (the LiDAR's position (x, y, z) in the world frame at this frame,
      or None) and ``ego_yaw`` (the ego's heading at this frame, rad about world +z, or None).
    - ``default_class``: the class of new boxes; ``ontology``: class priors (size, attributes).
    - ``box_predictor``: optional motion prediction used by "copy to next frame" (see
      ``BoxPredictor``); without one the box is copied unchanged.
    - ``pick_tolerance_px``: how close (screen pixels) the pointer must be to a handle, an edge
      or a footprint to grab or pick it (raise it on high-DPI screens).
    - ``events`` (an :class:`~fusionlabel.events.EventGroup`, many listeners each):
      ``selection(track_id | None)``, ``preview(Preview | None)``, ``frame(frame)`` (a listener
      loads the frame and assigns ``points``), ``message(text)`` (a status line for the user).
      The ``on_selection`` / ``on_preview`` / ``on_frame`` / ``on_message`` arguments, when given,
      are connected to them.
    - ``proposal_under_review``: optional ``() -> proposal id | None``, the pre-label proposal a
      reviewer has open; with no box selected the keyboard nudges edit its box at this frame.
    - ``neighbour_points``: optional ``(offset) -> (dt seconds, points) | None``: the sweep of frame
      ``frame + offset`` in the **world** frame ``(M, 3+)`` and its time relative to the current
      frame's sweep (seconds, negative for earlier frames), or None when that frame does not exist
      or is not loaded. The one-click tool heads walkers and riders along their motion with it.
    """

    def __init__(
        self,
        doc: AnnotationDocument,
        stack: UndoStack | None = None,
        frame: int = 0,
        *,
        selection: int | None = None,
        points: ArrayLike | None = None,
        ground: GroundModel = None,
        default_class: str = "car",
        ontology: Ontology | None = None,
        on_selection: Callable[[int | None], None] | None = None,
        on_preview: Callable[[Preview | None], None] | None = None,
        on_frame: Callable[[int], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        pick_tolerance_px: float = HANDLE_TOLERANCE_PX,
        box_predictor: BoxPredictor | None = None,
    ) -> None:
        self.doc = doc
        self.stack = stack if stack is not None else UndoStack(doc)
        self.frame = doc.check_frame(frame)
        self._selection: int | None = None
        self._points: NDArray[np.float64] | None = None
        self._points_given: NDArray[np.generic] | None = None
        self.points = points
        self.ground = ground
        self.default_class = default_class
        self.ontology = ontology if ontology is not None else Ontology.default()
        self.events = EventGroup(*CONTEXT_EVENTS)
        for name, listener in zip(CONTEXT_EVENTS, (on_selection, on_preview, on_frame, on_message), strict=True):
            if listener is not None:
                self.events[name].connect(listener)
        self.preview: Preview | None = None
        self.pick_tolerance_px = float(pick_tolerance_px)
        self.box_predictor = box_predictor
        self.proposal_under_review: Callable[[], int | None] | None = None
        self.neighbour_points: NeighbourPoints | None = None
        self.sensor_origin: tuple[float, float, float] | None = None
        self.ego_yaw: float | None = None
        if selection is not None:
            self.set_selection(selection)

    # ---- points ---------------------------------------------------------------------------------
    @property
    def points(self) -> NDArray[np.float64] | None:
        """The current frame's world-frame points ``(N, 3)`` float64, or None (converted from
        the points given on first use: a 10M-point frame stepped past costs no 240 MB copy)."""
        if self._points is None and self._points_given is not None:
            self._points = np.asarray(self._points_given[:, :3], dtype=np.float64)
            self._points_given = None
        return self._points

    @points.setter
    def points(self, pts: ArrayLike | None) -> None:
        self._points = self._points_given = None
        if pts is None:
            return
        p = np.asarray(pts)
        if p.ndim != 2 or p.shape[1] < 3:
            raise ValueError(f"points must have shape (N, 3), got {p.shape}")
        if p.dtype == np.float64:
            self._points = p[:, :3]
        else:
            self._points_given = p

    def set_frame_data(self, points: ArrayLike | None, sensor_origin: ArrayLike | None = None,
                       ego_yaw: float | None = None) -> None:
        """The current frame's world points ``(N, 3+)`` and facts: the sensor position (3,) and
        the ego heading (rad), both in the world frame (None: unknown)."""
        origin = None
        if sensor_origin is not None:
            o = np.asarray(sensor_origin, dtype=np.float64)
            if o.shape != (3,) or not np.isfinite(o).all():
                raise ValueError(f"sensor_origin must be 3 finite numbers, got {sensor_origin!r}")
            origin = (float(o[0]), float(o[1]), float(o[2]))
        self.points = points
        self.sensor_origin = origin
        self.ego_yaw = None if ego_yaw is None else float(ego_yaw)

    # ---- selection ------------------------------------------------------------------------------
    @property
    def selection(self) -> int | None:
        return self._selection

    def set_selection(self, track_id: int | None) -> None:
        """Select a track (None: nothing). An id not in the document selects nothing."""
        if track_id is not None and track_id not in self.doc:
            track_id = None
        if track_id == self._selection:
            return
        self._selection = track_id
        self.events.selection.emit(track_id)

    def selected_box(self) -> BoxRef | None:
        """The selected track's committed box at the current frame (None when there is none)."""
        if self._selection is None or self._selection not in self.doc:
            return None
        return self.doc.box_at(self._selection, self.frame)

    def validate_selection(self) -> None:
        """Drop a selection whose track no longer exists (e.g. after an undo)."""
        if self._selection is not None and self._selection not in self.doc:
            self.set_selection(None)

    # ---- preview --------------------------------------------------------------------------------
    def set_preview(self, preview: Preview | None) -> None:
        self.preview = preview
        self.events.preview.emit(preview)

    # ---- frame ----------------------------------------------------------------------------------
    @property
    def frame_count(self) -> int | None:
        return self.doc.frame_count

    def set_frame(self, frame: int) -> int:
        """Go to ``frame`` (clamped to the sequence); returns the new frame. Clears ``points``
        (a listener of ``events.frame`` is expected to load the new ones) when the frame changes."""
        frame = max(0, int(frame))
        if self.frame_count is not None:
            frame = min(frame, max(self.frame_count - 1, 0))
        if frame != self.frame:
            self.frame = frame
            self.points = None
            self.sensor_origin, self.ego_yaw = None, None
            self.events.frame.emit(frame)
        return self.frame

    # ---- ground and priors ----------------------------------------------------------------------
    def ground_height(self, x: float, y: float) -> float:
        """Ground height (world z, metres) at world (x, y); see ``ground`` in the class doc."""
        if self.ground is not None:
            if callable(self.ground):
                return float(self.ground(float(x), float(y)))
            return float(self.ground)
        pts = self.points
        if pts is None or len(pts) == 0:
            return 0.0
        d2 = (pts[:, 0] - x) ** 2 + (pts[:, 1] - y) ** 2
        near = pts[d2 <= GROUND_RADIUS**2, 2]
        if len(near) < 3:
            near = pts[:, 2]
        return float(np.percentile(near, GROUND_PERCENTILE))

    def default_size(self, label: str | None = None) -> tuple[float, float, float]:
        """Typical (l, w, h) in metres of ``label`` (default: ``default_class``)."""
        return self.ontology.default_size(self.default_class if label is None else label)

    def message(self, text: str) -> None:
        """Tell the user ``text`` (emits ``events.message``)."""
        self.events.message.emit(text)
