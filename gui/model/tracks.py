"""Track operations of the window, Qt-free: "make keyframe here", the interpolation method,
propagation of boxes to other frames with motion prediction and refinement on the points, and the
whole-track edits (flip the heading, one size, end here / continue to the end).

Everything is an undoable command of the core (``fusionlabel.trackops``,
``fusionlabel.propagation``) pushed on the session's undo stack; a refused operation (the command
raises ``ModelError``) changes nothing and says why in the status bar. Boxes are world-frame;
points are the world-frame sweep of the target frame (``FrameData.pts_world``, (N, 3) metres).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from fusionlabel.box import Box3D
from fusionlabel.commands import Command
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.propagation import PropagateBoxes, RefineResult, bring_plan, predict_box_at, refine_box
from fusionlabel.trackops import (
    DeleteFromFrame,
    EndTrack,
    ExtendTrack,
    FlipTrack,
    MakeKeyframe,
    MergeTracks,
    RemoveGap,
    ResizeTrack,
    SetGap,
    SetInterpolation,
    SplitTrack,
)
from fusionlabel.tracksize import estimate_track_size

if TYPE_CHECKING:
    from gui.model.viewer import ViewerModel

#: ``(keep_id, candidate ids) -> (other id, bridge) or None`` (cancelled).
TrackChooser = Callable[[int, list[int]], "tuple[int, bool] | None"]


class TrackOperations:
    """The track operations on a :class:`~gui.model.ViewerModel` (see the module doc).
    ``choose_track(keep_id, candidate ids) -> (other id, bridge) | None`` asks which track to
    merge (the window's dialog; tests replace it). ``last_refine`` is the refinement outcome of
    the last propagated box."""

    def __init__(self, model: ViewerModel, choose_track: TrackChooser | None = None) -> None:
        self.model = model
        self.choose_track: TrackChooser | None = choose_track
        self.last_refine: RefineResult | None = None

    # ---- plumbing -------------------------------------------------------------------------------
    def _say(self, text: str, ms: int = 6000) -> None:
        self.model.show_message(text, ms)

    def _selected(self) -> int | None:
        """The selected track id, or None (said in the status bar)."""
        w = self.model
        if w.session is None or w.selection is None or w.selection not in w.session.doc:
            self._say("select a track first")
            return None
        return w.selection

    def push(self, cmd: Command) -> bool:
        """Push ``cmd`` on the undo stack; a refusal is shown in the status bar (False)."""
        assert self.model.session is not None
        try:
            self.model.session.undo.push(cmd)
        except ModelError as e:
            self._say(f"{cmd.description}: {e}", 8000)
            return False
        self._say(cmd.description, 4000)
        return True

    # ---- single-track operations ---------------------------------------------------------------
    def make_keyframe(self) -> bool:
        """The selected track's interpolated box at this frame becomes a keyframe (MakeKeyframe)."""
        tid = self._selected()
        return tid is not None and self.push(MakeKeyframe(tid, self.model.frame))

    # ---- whole-track edits -------------------------------------------------------------------------
    def flip_track(self) -> bool:
        """Turn the selected track's heading by 180 degrees on every frame (FlipTrack)."""
        tid = self._selected()
        return tid is not None and self.push(FlipTrack(tid))

    def end_track(self) -> bool:
        """The selected track ends at this frame (EndTrack)."""
        tid = self._selected()
        return tid is not None and self.push(EndTrack(tid, self.model.frame))

    def extend_track(self) -> bool:
        """The selected track continues to the last frame of the sequence (ExtendTrack)."""
        tid = self._selected()
        return tid is not None and self.push(ExtendTrack(tid))

    #: Most frames whose points the size estimate reads (evenly spread over the track).
    RESIZE_FRAMES = 20

    def resize_track(self) -> bool:
        """One size for the selected track: estimated from the frames where its points are seen
        best (:func:`~fusionlabel.tracksize.estimate_track_size`, at most ``RESIZE_FRAMES``
        frames read) and applied to every keyframe and tracked box, each keeping the faces its
        points support (ResizeTrack)."""
        tid = self._selected()
        if tid is None:
            return False
        s = self.model.session
        assert s is not None
        track = s.doc.track(tid)
        anchors = sorted({*track.keyframes, *track.tracked})
        if len(anchors) > self.RESIZE_FRAMES:
            step = (len(anchors) - 1) / (self.RESIZE_FRAMES - 1)
            anchors = sorted({anchors[round(i * step)] for i in range(self.RESIZE_FRAMES)})
        pts_cache: dict[int, object] = {}
        empty = np.zeros((0, 3))

        def points_at(f: int):  # type: ignore[no-untyped-def]
            if f not in pts_cache:  # only the chosen frames are read; the others resize about their centre
                pts_cache[f] = (self._points(f) if f in anchors else None)
            pts = pts_cache[f]
            return empty if pts is None else pts

        try:
            size = estimate_track_size(track, points_at, anchors, origin_at=s.sensor_origin,
                                       times_ns=s.doc.frame_times_ns)
        except ModelError as e:
            self._say(f"track {tid}: {e}", 8000)
            return False
        if not self.push(ResizeTrack(tid, size, points_at)):
            return False
        self._say(f"track {tid}: one size {size[0]:.2f} x {size[1]:.2f} x {size[2]:.2f} m", 8000)
        return True

    def set_interpolation(self, method: str) -> bool:
        """Interpolate the selected track ``"linear"`` or ``"smooth"`` (SetInterpolation)."""
        tid = self._selected()
        return tid is not None and self.push(SetInterpolation(tid, method))

    def split_here(self) -> bool:
        """Split the selected track: frames from this one on become a new track (selected)."""
        tid = self._selected()
        if tid is None:
            return False
        cmd = SplitTrack(tid, self.model.frame)
        if not self.push(cmd):
            return False
        self.model.select(cmd.new_track_id)
        return True

    def merge(self) -> bool:
        """Merge a track chosen in a dialog into the selected one (MergeTracks)."""
        tid = self._selected()
        if tid is None:
            return False
        doc = self.model.session.doc  # type: ignore[union-attr]
        ids = [i for i in doc.track_ids() if i != tid]
        if not ids:
            self._say("there is no other track to merge")
            return False
        if self.choose_track is None:
            self._say("merge: no way to choose the other track here")
            return False
        choice = self.choose_track(tid, ids)
        if choice is None:
            return False
        other, bridge = choice
        return self.push(MergeTracks(tid, int(other), bridge=bridge))

    def delete_from_here(self) -> bool:
        """Delete the selected track's boxes from this frame on (DeleteFromFrame)."""
        tid = self._selected()
        return tid is not None and self.push(DeleteFromFrame(tid, self.model.frame))

    def mark_gap(self) -> bool:
        """Mark the selected track absent from this frame up to the frame before its next keyframe
        (this frame alone when it is a keyframe or there is no later keyframe) (SetGap)."""
        tid = self._selected()
        if tid is None:
            return False
        f = self.model.frame
        track = self.model.session.doc.track(tid)  # type: ignore[union-attr]
        later = [k for k in track.keyframe_indices() if k > f]
        last = f if track.is_keyframe(f) or not later else later[0] - 1
        return self.push(SetGap(tid, f, last))

    def remove_gap(self) -> bool:
        """Clear the selected track's gap that holds this frame (RemoveGap)."""
        tid = self._selected()
        if tid is None:
            return False
        f = self.model.frame
        gap = next(((a, b) for a, b in self.model.session.doc.track(tid).gaps if a <= f <= b), None)  # type: ignore[union-attr]
        if gap is None:
            self._say(f"track {tid} has no gap at frame {f}")
            return False
        return self.push(RemoveGap(tid, *gap))

    # ---- propagation ----------------------------------------------------------------------------
    def _points(self, frame: int):  # type: ignore[no-untyped-def]
        """World points (N, 3) of ``frame`` (through the frame cache), or None when unreadable."""
        s = self.model.session
        if s is None:
            return None
        try:
            return s.points_at(frame, prefetch=True)
        except Exception as e:  # the frame cannot be read: propagate without refinement
            self._say(f"frame {frame}: {type(e).__name__}: {e}", 8000)
            return None

    @staticmethod
    def describe(res: RefineResult | None) -> str:
        """Status text of a refinement outcome."""
        if res is None:
            return "not refined (no points)"
        if res.ok:
            return f"refined on {res.n_support} of {res.n_points} points"
        return f"prediction kept (refinement refused: {res.reason})"

    def box_predictor(self, doc: AnnotationDocument, track_id: int, frame: int, target: int) -> Box3D | None:
        """The ``ToolContext.box_predictor`` of "copy to next frame": the track's box carried to
        ``target`` by its motion (:func:`predict_box_at`), then fitted to the target frame's points
        (:func:`refine_box`, the other tracks' boxes there excluded); a refused fit keeps the
        prediction. The outcome is kept in ``last_refine`` and shown in the status bar."""
        predicted = predict_box_at(doc.track(track_id), frame, target, doc.frame_times_ns)
        pts = self._points(target)
        self.last_refine = None
        if pts is None or len(pts) == 0:
            self._say(f"track {track_id} -> frame {target}: {self.describe(None)}")
            return predicted
        others = [r.box for r in doc.boxes_at(target) if r.track_id != track_id]
        res = refine_box(predicted, pts, exclude_boxes=others)
        self.last_refine = res
        self._say(f"track {track_id} -> frame {target}: {self.describe(res)}", 8000)
        return res.box

    def copy_to_this_frame(self) -> bool:
        """Put the selected track's box from its nearest frame with a box (before or after) at this
        frame as a keyframe: predicted by its motion and refined on this frame's points
        (PropagateBoxes); an interpolated or tracked box here becomes a keyframe as it is, a held
        one is predicted from the latest keyframe or tracked box. Refused when the track has a
        keyframe here already."""
        tid = self._selected()
        if tid is None:
            return False
        w = self.model
        doc = w.session.doc  # type: ignore[union-attr]
        f = w.frame
        try:
            plan = bring_plan(doc.track(tid), f, doc.frame_times_ns)  # fusionlabel.propagation: the policy
        except ModelError as e:
            self._say(str(e))
            return False
        if plan.action == "has_keyframe":
            self._say(f"track {tid} already has a keyframe at frame {f}")
            return False
        if plan.action == "make_keyframe":
            return self.make_keyframe()  # keep the box the labeler sees
        source = plan.source
        assert source is not None
        cmd = PropagateBoxes(source, f, [tid], points_world=self._points(f))
        if not self.push(cmd):
            return False
        out = (cmd.outcomes or {}).get(tid)
        if out is not None:
            text = "refined" if out.refined else f"prediction kept ({out.reason})" if out.reason else "predicted"
            self._say(f"track {tid}: box of frame {source} -> {f}, {text}", 8000)
        return True

    def propagate_all(self) -> bool:
        """Propagate every box of this frame to the next frame (PropagateBoxes with the next
        frame's points) and go there; the status bar counts refined / kept predictions and names
        the reasons of the refusals."""
        w = self.model
        if w.session is None:
            return False
        f = w.frame
        if f + 1 >= len(w.session):
            self._say("already at the last frame")
            return False
        cmd = PropagateBoxes(f, f + 1, None, points_world=self._points(f + 1))
        if not self.push(cmd):
            return False
        outs = cmd.outcomes or {}
        done = [t for t, o in outs.items() if o.box is not None]
        refined = [t for t in done if outs[t].refined]
        kept = [f"{t}: {outs[t].reason}" for t in done if not outs[t].refined and outs[t].reason]
        skipped = [f"{t}: {o.reason}" for t, o in outs.items() if o.box is None]
        w.set_frame(f + 1)
        text = f"propagated {len(done)} boxes to frame {f + 1}, {len(refined)} refined"
        if kept:
            text += f"; prediction kept for {'; '.join(kept[:4])}{' ...' if len(kept) > 4 else ''}"
        if skipped:
            text += f"; skipped {len(skipped)}"
        self._say(text, 12000)
        return True
