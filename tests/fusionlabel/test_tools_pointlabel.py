"""The BEV point-label tool: lasso / brush strokes with a height band, one undoable command each."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.pointlabels.classes import UNLABELLED, ClassTable
from fusionlabel.pointlabels.store import PointLabels
from fusionlabel.tools import PointerEvent, ToolContext
from fusionlabel.tools.pointlabel import PointLabelTool


def setup(n: int = 2000) -> tuple[PointLabelTool, AnnotationDocument, UndoStack, np.ndarray]:
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-20, 20, n), rng.uniform(-20, 20, n), rng.uniform(0, 4, n)])
    doc = AnnotationDocument(2)
    doc.attach_point_labels(PointLabels(ClassTable.default(), 2, point_count=lambda f: n))
    stack = UndoStack(doc)
    ctx = ToolContext(doc, stack, 0)
    ctx.set_frame_data(pts)
    tool = PointLabelTool(ctx)
    tool.semantic = doc.point_labels.table.index("static.vegetation")
    return tool, doc, stack, pts


def ev(kind: str, xy: tuple[float, float], button: str = "left") -> PointerEvent:
    return PointerEvent(kind, xy, button, frozenset(), "bev", 20.0)


def stroke(tool: PointLabelTool, path: list[tuple[float, float]]) -> None:
    assert tool.on_pointer(ev("press", path[0]))
    for p in path[1:]:
        assert tool.on_pointer(ev("move", p))
    assert tool.on_pointer(ev("release", path[-1]))


def test_lasso_labels_the_polygon_in_the_band_and_undo_restores() -> None:
    tool, doc, stack, pts = setup()
    tool.ground_z = 0.5
    tool.set_z_band(0.0, 1.5)  # world z 0.5 .. 2.0
    seen = []
    tool.on_stroke = seen.append
    stroke(tool, [(-5, -5), (5, -5), (5, 5), (-5, 5)])
    sem = doc.point_labels.get(0).semantic
    want = (np.abs(pts[:, 0]) <= 5) & (np.abs(pts[:, 1]) <= 5) & (pts[:, 2] >= 0.5) & (pts[:, 2] <= 2.0)
    assert want.sum() > 50
    np.testing.assert_array_equal(sem != UNLABELLED, want)
    assert tool.last_count == want.sum() and len(stack.steps()) == 1
    assert seen[-1] is None and seen[-2].shape == (4, 2)  # the preview followed the stroke, then ended
    stack.undo()
    assert (doc.point_labels.get(0).semantic == UNLABELLED).all()


def test_brush_unions_discs_along_its_path_and_escape_cancels() -> None:
    tool, doc, stack, pts = setup()
    tool.set_mode("brush")
    tool.brush_radius = 2.0
    stroke(tool, [(0, 0), (4, 0), (8, 0)])
    d = np.min([np.hypot(pts[:, 0] - x, pts[:, 1]) for x in (0, 4, 8)], axis=0)
    np.testing.assert_array_equal(doc.point_labels.get(0).semantic != UNLABELLED, d <= 2.0)
    assert len(stack.steps()) == 1  # one command per stroke
    tool.on_pointer(ev("press", (-10, -10)))
    assert tool.dragging and tool.cancel() and not tool.dragging
    assert len(stack.steps()) == 1


def test_nothing_pushed_for_a_click_an_empty_lasso_or_other_buttons() -> None:
    tool, doc, stack, _ = setup()
    stroke(tool, [(0, 0)])  # a click: no polygon
    stroke(tool, [(100, 100), (101, 100), (101, 101)])  # no points inside
    assert not tool.on_pointer(ev("press", (0, 0), "right"))  # pan is the view's
    assert len(stack.steps()) == 0
    with pytest.raises(ValueError):
        tool.set_z_band(2.0, 1.0)
    with pytest.raises(ValueError):
        tool.set_mode("fill")
    tool.ctx.set_frame_data(None)
    with pytest.raises(ModelError):
        stroke(tool, [(-5, -5), (5, -5), (5, 5)])
