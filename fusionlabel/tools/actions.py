"""Keyboard-driven edits of the selected box and navigation (each a plain function of the context).

Every edit pushes commands on ``ctx.stack``. Nudges (move, rotate, resize by a step) push a
:class:`~fusionlabel.commands.SetKeyframe` with ``merge_key=NUDGE_MERGE_KEY``, so consecutive
nudges of one box at one frame become **one** undo step; any other action ends the run (the
controller calls ``stack.break_merge()``). A nudge on an interpolated frame creates a keyframe.
With no box selected, nudges edit the pre-label proposal under review (``ctx.proposal_under_review``)
at this frame instead (``EditProposal``, merged the same way).

Directions are in the **box frame**: +x forward along the heading, +y to the box's left, +z up;
positive yaw turns the box counter-clockwise seen from above.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from fusionlabel.assist.review import EditProposal
from fusionlabel.box import Box3D
from fusionlabel.commands import DeleteTrack, RemoveKeyframe, SetKeyframe
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.create import CreateTool, create_box_at
from fusionlabel.tools.handles import MIN_SIZE, box_axes, moved, resized_by
from fusionlabel.trackops import SetTracked

NUDGE_MERGE_KEY = ("nudge",)


def _edit_selected(ctx: ToolContext, edit: Callable[[Box3D], Box3D]) -> bool:
    ref = ctx.selected_box()
    if ref is None:
        return _edit_proposal(ctx, edit)
    box = edit(ref.box)
    if box == ref.box:
        return False
    ctx.stack.push(SetKeyframe(ref.track_id, ctx.frame, box, merge_key=NUDGE_MERGE_KEY))
    return True


def _edit_proposal(ctx: ToolContext, edit: Callable[[Box3D], Box3D]) -> bool:
    """With no box selected: edit the box of the proposal under review at this frame (an undoable
    :class:`~fusionlabel.assist.review.EditProposal`; a run of nudges is one undo step). The
    proposal stays a proposal until accepted."""
    pid = ctx.proposal_under_review() if ctx.proposal_under_review is not None else None
    if pid is None or pid not in ctx.doc.proposals:
        return False
    old = ctx.doc.proposals[pid].boxes.get(ctx.frame)
    if old is None:
        return False
    box = edit(old)
    if box == old:
        return False
    ctx.stack.push(EditProposal(pid, ctx.frame, box, merge_key=NUDGE_MERGE_KEY))
    return True


def nudge(ctx: ToolContext, d_box: ArrayLike) -> bool:
    """Move the selected box by (3,) ``d_box`` metres in its own frame (x forward, y left, z up)."""
    d = np.asarray(d_box, dtype=np.float64).reshape(3)
    return _edit_selected(ctx, lambda b: moved(b, d @ box_axes(b.yaw)))


def nudge_world(ctx: ToolContext, d_world: ArrayLike) -> bool:
    """Move the selected box by (3,) ``d_world`` metres in the world frame."""
    d = np.asarray(d_world, dtype=np.float64).reshape(3)
    return _edit_selected(ctx, lambda b: moved(b, d))


def rotate(ctx: ToolContext, dyaw: float) -> bool:
    """Turn the selected box by ``dyaw`` radians about its centre (positive: counter-clockwise)."""
    return _edit_selected(ctx, lambda b: b.replace(yaw=b.yaw + float(dyaw)))


def resize(ctx: ToolContext, dsize: ArrayLike, min_size: float = MIN_SIZE) -> bool:
    """Grow the selected box by (3,) ``dsize`` = (dl, dw, dh) metres, symmetric about its centre
    (no side below ``min_size``)."""
    return _edit_selected(ctx, lambda b: resized_by(b, dsize, min_size))


def delete_box(ctx: ToolContext) -> bool:
    """Delete the selected track's box **at the current frame**:

    - a keyframe of a track with other keyframes: that keyframe is removed (the frame then shows
      the interpolation of its neighbours, or no box when it was the first or last keyframe);
    - the track's only keyframe: the whole track is deleted (and the selection cleared);
    - a tracked box (auto-tracking): that tracked box is removed (the frame then shows the
      interpolated or held box);
    - an interpolated or held frame (no keyframe here): nothing is deleted (use
      :func:`delete_track`).
    """
    ref = ctx.selected_box()
    if ref is None:
        return False
    if ref.state == "tracked":
        ctx.stack.push(SetTracked(ref.track_id, {}, {}, replace=(ctx.frame, ctx.frame)))
        return True
    if not ref.is_keyframe:
        ctx.message(f"track {ref.track_id} has no keyframe at frame {ctx.frame} (shift+Delete deletes the track)")
        return False
    track = ctx.doc.track(ref.track_id)
    if len(track.keyframes) > 1:
        ctx.stack.push(RemoveKeyframe(ref.track_id, ctx.frame))
        return True
    return delete_track(ctx)


def delete_track(ctx: ToolContext) -> bool:
    """Delete the selected track on every frame (undoable)."""
    tid = ctx.selection
    if tid is None or tid not in ctx.doc:
        return False
    ctx.stack.push(DeleteTrack(tid))
    ctx.set_selection(None)
    return True


def copy_to_next_frame(ctx: ToolContext, advance: bool = True) -> bool:
    """Copy the selected track's box at this frame (keyframe or interpolated) to a new keyframe
    at frame + 1, then (``advance``) go to that frame keeping the selection. Refused (False)
    at the last frame or when frame + 1 already is a keyframe of the track (it would be
    overwritten). With ``ctx.box_predictor`` the new keyframe is its prediction instead of a
    plain copy."""
    ref = ctx.selected_box()
    if ref is None:
        return False
    target = ctx.frame + 1
    if ctx.frame_count is not None and target >= ctx.frame_count:
        ctx.message("already at the last frame")
        return False
    if ctx.doc.track(ref.track_id).is_keyframe(target):
        ctx.message(f"track {ref.track_id} already has a keyframe at frame {target}")
        return False
    box = ref.box
    if ctx.box_predictor is not None:
        predicted = ctx.box_predictor(ctx.doc, ref.track_id, ctx.frame, target)
        box = box if predicted is None else predicted
    ctx.stack.push(SetKeyframe(ref.track_id, target, box))
    if advance:
        ctx.set_frame(target)
    return True


def cycle_selection(ctx: ToolContext, step: int = 1) -> bool:
    """Select the next (``step`` 1) or previous (-1) box of the current frame in track-id order
    (the first / last one when nothing is selected)."""
    ids = [r.track_id for r in ctx.doc.boxes_at(ctx.frame)]
    if not ids:
        return False
    sel = ctx.selection
    if sel in ids:
        new = ids[(ids.index(sel) + step) % len(ids)]
    else:
        new = ids[0] if step > 0 else ids[-1]
    ctx.set_selection(new)
    return True


def create_at(ctx: ToolContext, xy: tuple[float, float] | None, label: str | None = None) -> int | None:
    """Create a class-default box centred at world ``xy`` (see
    :func:`~fusionlabel.tools.create.create_box_at`), select it and return its track id."""
    if xy is None:
        ctx.message("move the pointer over the bird's-eye view first")
        return None
    tool = CreateTool(ctx, label)
    return tool.commit(create_box_at(ctx, xy, tool._label()))


def step_frame(ctx: ToolContext, step: int) -> bool:
    """Go ``step`` frames forward (negative: back), clamped; True when the frame changed."""
    before = ctx.frame
    return ctx.set_frame(before + int(step)) != before
