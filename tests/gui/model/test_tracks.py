"""The track operations headless (no Qt): each runs on a ViewerModel as one undoable command."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import ToolContext, ToolController
from gui.model import ViewerModel
from gui.model.tracks import TrackOperations

N = 12
A = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
B = Box3D((10.0, 5.0, 1.0), (4.0, 2.0, 2.0), 0.0)


class FakeSession:
    """What the track operations read of a session: the document, the undo stack, frame count
    and world points (none here: propagation keeps the motion prediction)."""

    def __init__(self) -> None:
        self.doc = AnnotationDocument(N)
        self.undo = UndoStack(self.doc)

    def __len__(self) -> int:
        return N

    def points_at(self, frame: int, prefetch: bool = False) -> np.ndarray:
        return np.zeros((0, 3))

    def sensor_origin(self, frame: int) -> np.ndarray:
        return np.zeros(3)


def setup() -> tuple[ViewerModel, TrackOperations, FakeSession, list[str]]:
    s = FakeSession()
    s.undo.push(CreateTrack("car", 0, A))
    s.undo.push(SetKeyframe(0, 8, A.replace(center=(8.0, 0.0, 1.0))))
    s.undo.push(CreateTrack("car", 0, B))
    m = ViewerModel()
    m.set_session(s)
    ctx = ToolContext(s.doc, s.undo, 0, ground=0.0)
    m.bind_tools(ctx, ToolController(ctx))
    said: list[str] = []
    m.events.status.connect(lambda st: said.append(st.text))
    return m, TrackOperations(m), s, said


def test_refused_without_a_selection() -> None:
    m, ops, s, said = setup()
    n = len(s.undo)
    assert not ops.flip_track() and said[-1] == "select a track first" and len(s.undo) == n


def test_flip_end_extend_and_keyframe() -> None:
    m, ops, s, said = setup()
    m.select(0)
    assert ops.flip_track()
    assert s.doc.track(0).keyframes[0].yaw == pytest.approx(math.pi)
    m.set_frame(4)
    assert ops.make_keyframe() and s.doc.track(0).is_keyframe(4)
    assert ops.extend_track() and s.doc.track(0).span()[1] == N - 1
    m.set_frame(10)
    assert ops.end_track() and s.doc.track(0).span()[1] == 10
    s.undo.undo()
    assert s.doc.track(0).span()[1] == N - 1


def test_split_selects_the_new_track_and_merge_asks_which() -> None:
    m, ops, s, said = setup()
    m.select(0)
    m.set_frame(5)
    assert ops.split_here()
    new = m.selection
    assert new not in (0, 1) and s.doc.track(new).keyframe_indices() == [5, 8]
    assert not ops.merge() and "no way to choose" in said[-1]  # no chooser: refused, said
    asked: list[tuple[int, list[int]]] = []
    ops.choose_track = lambda keep, ids: asked.append((keep, ids)) or (new, False)
    m.select(0)
    assert ops.merge() and asked[0][0] == 0 and new in asked[0][1] and new not in s.doc


def test_gap_marked_and_removed_at_this_frame() -> None:
    m, ops, s, said = setup()
    m.select(0)
    m.set_frame(3)
    assert ops.mark_gap() and s.doc.track(0).gaps == ((3, 7),)
    m.set_frame(5)
    assert ops.remove_gap() and s.doc.track(0).gaps == ()
    assert not ops.remove_gap() and "no gap at frame 5" in said[-1]


def test_propagate_all_goes_to_the_next_frame() -> None:
    m, ops, s, said = setup()
    m.set_frame(8)
    assert ops.propagate_all() and m.frame == 9
    assert s.doc.track(0).is_keyframe(9) and not s.doc.track(1).is_keyframe(9)  # track 1 ends at frame 0
    assert said[-1].startswith("propagated 1 boxes to frame 9")
    m.set_frame(N - 1)
    assert not ops.propagate_all() and said[-1] == "already at the last frame"
