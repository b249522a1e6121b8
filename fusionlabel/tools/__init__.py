"""Interaction tools: Qt-free state machines fed plain pointer and key events.

The GUI converts Qt events into :class:`PointerEvent` / :class:`KeyEvent` (positions already in
the view plane, metres; image pixels in a camera panel; the world-frame viewing ray in the 3D
view), keeps a :class:`ToolContext` current (document, undo stack, frame, points) and hands the
events to a :class:`ToolController`. The tools edit the document only by
pushing commands; a drag shows its box in ``ctx.preview`` and pushes one command on release.
See ``docs/tools.md``.
"""

from fusionlabel.tools.actions import (
    NUDGE_MERGE_KEY,
    copy_to_next_frame,
    create_at,
    cycle_selection,
    delete_box,
    delete_track,
    nudge,
    nudge_world,
    resize,
    rotate,
    step_frame,
)
from fusionlabel.tools.base import Tool
from fusionlabel.tools.context import Preview, ToolContext
from fusionlabel.tools.controller import ToolController
from fusionlabel.tools.create import CreateTool, create_box_at, fit_vertical, footprint_from_drag
from fusionlabel.tools.edit import ROTATION_SNAP, EditTool
from fusionlabel.tools.edit3d import View3DEditTool, ray_plane_z, rotate_handle_3d
from fusionlabel.tools.events import PLANE_VIEWS, KeyEvent, PointerEvent
from fusionlabel.tools.handles import (
    DRAG_THRESHOLD_PX,
    HANDLE_TOLERANCE_PX,
    MIN_SIZE,
    ROTATE_HANDLE_PX,
    Handle,
    box_handles,
    box_outline,
    pick,
    view_delta_to_world,
    world_to_view,
)
from fusionlabel.tools.imagebox import CameraFrame, ImageBoxTool, ImageRect
from fusionlabel.tools.keymap import APP_ACTIONS, KeyBinding, Keymap, Steps
from fusionlabel.tools.select import SelectTool, pick_candidates, pick_ray, pick_ray_candidates, ray_box_hit

__all__ = [
    "APP_ACTIONS",
    "DRAG_THRESHOLD_PX",
    "HANDLE_TOLERANCE_PX",
    "MIN_SIZE",
    "NUDGE_MERGE_KEY",
    "PLANE_VIEWS",
    "ROTATE_HANDLE_PX",
    "ROTATION_SNAP",
    "CameraFrame",
    "CreateTool",
    "EditTool",
    "Handle",
    "ImageBoxTool",
    "ImageRect",
    "KeyBinding",
    "KeyEvent",
    "Keymap",
    "PointerEvent",
    "Preview",
    "SelectTool",
    "Steps",
    "Tool",
    "ToolContext",
    "ToolController",
    "View3DEditTool",
    "box_handles",
    "box_outline",
    "copy_to_next_frame",
    "create_at",
    "create_box_at",
    "cycle_selection",
    "delete_box",
    "delete_track",
    "fit_vertical",
    "footprint_from_drag",
    "nudge",
    "nudge_world",
    "pick",
    "pick_candidates",
    "pick_ray",
    "pick_ray_candidates",
    "ray_box_hit",
    "ray_plane_z",
    "resize",
    "rotate",
    "rotate_handle_3d",
    "step_frame",
    "view_delta_to_world",
    "world_to_view",
]
