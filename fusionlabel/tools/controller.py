"""The one object the GUI talks to: routes pointer events to the active tool and key events
through the keymap to the actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import fusionlabel.tools.actions as actions
from fusionlabel.events import EventGroup
from fusionlabel.tools.base import Tool
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.create import CreateTool
from fusionlabel.tools.edit import EditTool
from fusionlabel.tools.edit3d import View3DEditTool
from fusionlabel.tools.events import PLANE_VIEWS, KeyEvent, PointerEvent
from fusionlabel.tools.imagebox import CameraFrame, ImageBoxTool
from fusionlabel.tools.keymap import APP_ACTIONS, KeyBinding, Keymap, Steps
from fusionlabel.tools.oneclick import OneClickTool

#: Actions that continue a run of nudges (merged into one undo step).
NUDGE_ACTIONS = frozenset({"nudge", "rotate", "resize"})


class ToolController:
    """Holds the tools (``"edit"``: :class:`EditTool`, ``"create"``: :class:`CreateTool`,
    ``"oneclick"``: :class:`~fusionlabel.tools.oneclick.OneClickTool`) and the keymap.

    - :meth:`on_pointer` forwards events of the plane views (BEV, side, front) to the active tool
      (returns True when consumed) and remembers the last BEV pointer position for "create at
      cursor"; events of a camera panel go to ``view_tools["camera"]`` (an
      :class:`~fusionlabel.tools.imagebox.ImageBoxTool`: drag a rectangle to create a box) and
      events of the 3D view to ``view_tools["3d"]`` (a
      :class:`~fusionlabel.tools.edit3d.View3DEditTool`: move and rotate the selected box),
      whichever tool is active. ``cameras`` (name -> :class:`CameraFrame` at the current frame)
      feeds the camera tool; the sensor origin and ego heading of the frame come from the
      context (``ToolContext.set_frame_data``).
    - :meth:`on_key` returns the name of the action performed (or handed to the application,
      see ``APP_ACTIONS``: ``on_app_action(name)`` is called for those), else None. During a
      drag only Escape (cancel) is handled.
    - :meth:`perform` runs an action by name (for menus and toolbar buttons).
    - ``return_to_edit``: after a box is created the edit tool becomes active again, unless the
      tool is ``held`` (``Shift+G``: the one-click tool stays on, box after box, until another
      tool is chosen or ``Esc`` with nothing selected).
    - ``events.tool(name)`` is emitted when the active tool changes (``on_tool_changed``, when
      given, is connected to it).
    """

    def __init__(
        self,
        ctx: ToolContext,
        keymap: Keymap | None = None,
        steps: Steps | None = None,
        on_app_action: Callable[[str], None] | None = None,
        on_tool_changed: Callable[[str], None] | None = None,
        return_to_edit: bool = True,
        cameras: Callable[[str], CameraFrame | None] | None = None,
        app_actions: Iterable[str] = (),
    ) -> None:
        self.ctx = ctx
        #: Actions handed to ``on_app_action``: ``APP_ACTIONS`` and the application's own.
        self.app_actions = APP_ACTIONS | frozenset(app_actions)
        self.keymap = keymap if keymap is not None else Keymap.default()
        self.steps = steps if steps is not None else Steps()
        self.on_app_action = on_app_action
        self.events = EventGroup("tool")
        if on_tool_changed is not None:
            self.events.tool.connect(on_tool_changed)
        self.return_to_edit = return_to_edit
        create = CreateTool(ctx)
        create.on_created = self._created
        oneclick = OneClickTool(ctx)
        oneclick.on_created = self._created
        self.tools: dict[str, Tool] = {"edit": EditTool(ctx), "create": create, "oneclick": oneclick}
        image_box = ImageBoxTool(ctx, cameras, ground=oneclick.ground_model)
        image_box.on_created = self._created
        #: The tools of the views that are not view planes, by view (see the class doc).
        self.view_tools: dict[str, Tool] = {"camera": image_box, "3d": View3DEditTool(ctx)}
        self._active = "edit"
        #: the tool held on after each created box (``Shift+G``: the one-click tool, box after box)
        self.held: str | None = None
        self.cursor_bev: tuple[float, float] | None = None

    # ---- tools ----------------------------------------------------------------------------------
    @property
    def active_name(self) -> str:
        return self._active

    @property
    def tool(self) -> Tool:
        return self.tools[self._active]

    def set_tool(self, name: str) -> None:
        if name not in self.tools:
            raise ValueError(f"unknown tool {name!r}; known: {sorted(self.tools)}")
        if name != self.held:
            self.held = None
        if name == self._active:
            return
        self.tool.cancel()
        self._active = name
        self.events.tool.emit(name)

    def cancel(self) -> bool:
        """Cancel the current gesture of any tool (call it when the frame or the document is changed
        from outside during a drag, e.g. by the timeline); True when there was one."""
        had = self.tool.cancel()
        for t in self.view_tools.values():
            had = t.cancel() or had
        return had

    @property
    def dragging(self) -> bool:
        """True while any tool (active or of the camera / 3D view) is in a gesture."""
        return self.tool.dragging or any(t.dragging for t in self.view_tools.values())

    def _tool_for(self, ev: PointerEvent) -> Tool:
        return self.tool if ev.view in PLANE_VIEWS else self.view_tools[ev.view]

    def _created(self, track_id: int) -> None:
        if self.return_to_edit and self._active != self.held:
            self.set_tool("edit")

    # ---- events ---------------------------------------------------------------------------------
    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.view == "bev":
            self.cursor_bev = ev.pos_world
        if ev.kind == "press":
            self.ctx.stack.break_merge()
        return self._tool_for(ev).on_pointer(ev)

    def cursor(self, ev: PointerEvent) -> str:
        """Cursor-shape hint for a hover (see :meth:`Tool.cursor`)."""
        return self._tool_for(ev).cursor(ev)

    def on_key(self, ev: KeyEvent) -> str | None:
        tool = self.tool
        if getattr(tool, "wants_keys", False) and tool.on_key(ev):  # the map tools' Enter / Backspace / Delete
            return f"{tool.name}:{ev.key}"
        if self.dragging:
            if ev.key == "escape" and self.cancel():
                return "cancel"
            return None
        b = self.keymap.lookup(ev)
        if b is None:
            return None
        return b.action if self.run(b) else None

    # ---- actions --------------------------------------------------------------------------------
    def run(self, b: KeyBinding) -> bool:
        """Perform a binding's action with its arguments and step size."""
        st = self.steps
        if b.action == "nudge":
            step = st.move_large if b.large else st.move
            return self.perform("nudge", d_box=tuple(step * a for a in b.args))
        if b.action == "rotate":
            return self.perform("rotate", dyaw=(st.rotate_large if b.large else st.rotate) * b.args[0])
        if b.action == "resize":
            step = st.size_large if b.large else st.size
            return self.perform("resize", dsize=tuple(step * a for a in b.args))
        if b.action == "frame_step":
            return self.perform("frame_step", step=int((st.frames_large if b.large else st.frames) * b.args[0]))
        if b.action == "select_next":
            return self.perform("select_next", step=int(b.args[0]))
        return self.perform(b.action)

    def perform(self, action: str, **kw: object) -> bool:
        """Run ``action`` (a keymap action name) with keyword arguments; True when it did
        something. Any action but a nudge ends the current run of merged nudges."""
        ctx = self.ctx
        if action not in NUDGE_ACTIONS:
            ctx.stack.break_merge()
        if action in self.app_actions:
            self.cancel()
            if self.on_app_action is not None:
                self.on_app_action(action)
            return True
        if action == "nudge":
            return actions.nudge(ctx, kw["d_box"])  # type: ignore[arg-type]
        if action == "rotate":
            return actions.rotate(ctx, float(kw["dyaw"]))  # type: ignore[arg-type]
        if action == "resize":
            return actions.resize(ctx, kw["dsize"])  # type: ignore[arg-type]
        if action == "frame_step":
            return actions.step_frame(ctx, int(kw.get("step", 1)))  # type: ignore[call-overload]
        if action == "frame_first":
            return actions.step_frame(ctx, -ctx.frame)
        if action == "frame_last":
            if ctx.frame_count is None:
                return False
            return actions.step_frame(ctx, ctx.frame_count - 1 - ctx.frame)
        if action == "select_next":
            return actions.cycle_selection(ctx, int(kw.get("step", 1)))  # type: ignore[call-overload]
        if action == "escape":
            if self.cancel():
                return True
            if ctx.selection is not None:
                ctx.set_selection(None)
                return True
            if self.held is not None:  # leave the held tool
                self.set_tool("edit")
                return True
            return False
        if action == "create_at_cursor":
            made = actions.create_at(ctx, self.cursor_bev) is not None
            if made and self.return_to_edit and self._active != self.held:
                self.set_tool("edit")
            return made
        if action == "delete_box":
            return actions.delete_box(ctx)
        if action == "delete_track":
            return actions.delete_track(ctx)
        if action == "copy_to_next_frame":
            return actions.copy_to_next_frame(ctx)
        if action == "tool_edit":
            self.set_tool("edit")
            return True
        if action == "tool_create":
            self.set_tool("create")
            return True
        if action == "tool_oneclick":
            self.set_tool("oneclick")
            return True
        if action == "tool_oneclick_held":
            self.set_tool("oneclick")
            self.held = "oneclick"
            return True
        if action in ("undo", "redo"):
            self.cancel()
            done = ctx.stack.undo() if action == "undo" else ctx.stack.redo()
            ctx.validate_selection()
            return done
        raise ValueError(f"unknown action {action!r}")
