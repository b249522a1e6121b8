"""Input routing (Qt side): :class:`InputRouter` turns the views' pointer events, the 3D view's
clicks and key presses into calls on the model's :class:`~fusionlabel.tools.ToolController`
(the tools' keymap first; what is not a tool action goes to the action registry). A tool or an
action failing is said in the status line; the document is unchanged. It takes the model and the
proposal review, never the window."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit, QTextEdit

from fusionlabel.tools import PointerEvent
from fusionlabel.tools.select import click_3d
from gui.model import ViewerModel
from gui.model.proposal_review import ProposalReview
from gui.ortho import OrthoView, PlaneEvent
from gui.qt.keys import CURSORS, key_event_from_qt


class InputRouter:
    """Routes the input of the views (``view3d`` gives the viewing ray of a 3D click) to the
    tools."""

    def __init__(self, model: ViewerModel, proposal_review: ProposalReview, view3d: Any) -> None:
        self.model, self.proposal_review, self.view3d = model, proposal_review, view3d

    def _failed(self, what: str, e: Exception) -> None:
        self.model.show_message(f"{what}{type(e).__name__}: {e}", 8000)

    def key(self, obj: QObject, event: QEvent) -> bool:
        """A key press in one of the window's widgets: True when the tools or an action took it.
        Typing in text fields is left to them."""
        ctl = self.model.controller
        if event.type() != QEvent.Type.KeyPress or ctl is None:
            return False
        if isinstance(obj, (QLineEdit, QAbstractSpinBox, QTextEdit)) or (
            isinstance(obj, QComboBox) and obj.isEditable()
        ):
            return False  # typing goes to text fields
        ke = key_event_from_qt(event)  # type: ignore[arg-type]
        if ke is None:
            return False
        try:
            action = ctl.on_key(ke)
        except Exception as e:  # an action failing must not kill the window
            self._failed(f"{ke.key}: ", e)
            return True
        return action is not None

    def perform(self, action: str, **kw: object) -> bool:
        """Perform a tool or registry action by id (False: none, or it failed)."""
        ctl = self.model.controller
        if ctl is None:
            return False
        try:
            return ctl.perform(action, **kw)
        except Exception as e:
            self._failed(f"{action}: ", e)
            return False

    def pointer(self, view: str, widget: OrthoView, ev: PlaneEvent) -> None:
        """A pointer event in the BEV, side or front view (plane metres): to the active tool (a
        BEV click with the edit tool may pick a proposal); the cursor follows the tool's hint."""
        ctl, ctx = self.model.controller, self.model.context
        if ctl is None or ctx is None:
            return
        if view != "bev" and ctx.selected_box() is None:
            return
        pe = PointerEvent(ev.kind, ev.xy, ev.button, ev.modifiers, view, max(ev.px_per_m, 1e-6))
        try:
            ctl.on_pointer(pe)
            if view == "bev" and ev.button == "left" and ctl.active_name == "edit":
                self.proposal_review.on_bev_pointer(ev.kind, ev.xy, ev.px_per_m)  # a click picks a proposal
            if ev.kind == "move" and ev.button == "none":
                hint = ctl.cursor(pe)
                shape = CURSORS.get(hint)
                if shape is None and hint.startswith("resize:"):
                    shape = Qt.CursorShape.SizeFDiagCursor if "_" in hint else Qt.CursorShape.SizeHorCursor
                widget.setCursor(shape or self.default_cursor())
        except Exception as e:  # a tool error must not kill the window; the document is unchanged
            self._failed("", e)

    def default_cursor(self) -> Qt.CursorShape:
        """A cross while a creating tool is active, else the arrow."""
        ctl = self.model.controller
        cross = ctl is not None and ctl.active_name in ("create", "oneclick")
        return Qt.CursorShape.CrossCursor if cross else Qt.CursorShape.ArrowCursor

    def click_3d(self, x: float, y: float) -> None:
        """A click in the 3D view (canvas px): ``fusionlabel.tools.select.click_3d`` on its viewing
        ray (a one-click box where the ray meets points, else the box it enters first selected);
        with a map tool active, or when no box was hit, the map element (or map proposal) the ray
        passes picked (``model.map.pick_ray``)."""
        ctl, ctx = self.model.controller, self.model.context
        if self.model.session is None or ctl is None or ctx is None:
            return
        try:
            origin, direction = self.view3d.ray_at(x, y)
            mw = getattr(self.model, "map", None)  # map work (gui/model/mapwork.py): picks map elements
            if mw is not None and mw.claims_clicks() and mw.pick_ray(origin, direction):
                return
            if click_3d(ctx, ctl.tool, origin, direction) is None and mw is not None:
                mw.pick_ray(origin, direction)
        except Exception as e:  # a tool error must not kill the window; the document is unchanged
            self._failed("", e)

