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


def test_stroke_over_accumulated_sweeps_labels_each_sweep_in_one_step() -> None:
    tool, doc, stack, pts = setup()
    other = pts + np.array([1.0, 0.0, 0.0])  # frame 1: the same wall seen from 1 m further
    tool.sweeps_of = lambda: [(0, pts), (1, other)]
    stroke(tool, [(-5, -5), (5, -5), (5, 5), (-5, 5)])
    assert len(stack.steps()) == 1 and "2 sweeps" in stack.steps()[0]
    for p, f in ((pts, 0), (other, 1)):
        want = (np.abs(p[:, 0]) <= 5) & (np.abs(p[:, 1]) <= 5)
        np.testing.assert_array_equal(doc.point_labels.get(f).semantic != UNLABELLED, want)
    assert tool.last_count == sum(int(((np.abs(p[:, 0]) <= 5) & (np.abs(p[:, 1]) <= 5)).sum()) for p in (pts, other))
    stack.undo()
    assert all((doc.point_labels.get(f).semantic == UNLABELLED).all() for f in (0, 1))


def _camera_setup() -> tuple[PointLabelTool, AnnotationDocument, UndoStack, np.ndarray, object, np.ndarray]:
    from calib.camera import CameraModel
    from fusionlabel.tools.imagebox import CameraFrame

    tool, doc, stack, _ = setup()
    # a wall 10 m ahead (x = 10) and a pole in front of it (x = 5), seen by a camera looking along +x
    ys, zs = np.meshgrid(np.linspace(-3, 3, 61), np.linspace(0, 3, 31))
    wall = np.c_[np.full(ys.size, 10.0), ys.ravel(), zs.ravel()]
    pole = np.c_[np.full(31, 5.0), np.zeros(31), np.linspace(0, 3, 31)]
    pts = np.r_[wall, pole]
    tool.points_of = lambda: pts
    n = len(pts)
    doc.point_labels.point_count = lambda f: n
    cam = CameraModel(np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]]), 640, 480)
    # optical frame: z forward (+x world), x right (-y world), y down (-z world); camera at 1.5 m
    R = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])
    T_cam_from_world = np.eye(4)
    T_cam_from_world[:3, :3] = R
    T_cam_from_world[:3, 3] = -R @ np.array([0.0, 0.0, 1.5])
    tool.cameras = lambda name: CameraFrame(cam, np.linalg.inv(T_cam_from_world)) if name == "front" else None
    return tool, doc, stack, pts, cam, T_cam_from_world


def cam_stroke(tool: PointLabelTool, path: list[tuple[float, float]], camera: str = "front") -> None:
    assert tool.on_pointer(PointerEvent.in_camera("press", camera, path[0]))
    for p in path[1:]:
        assert tool.on_pointer(PointerEvent.in_camera("move", camera, p))
    assert tool.on_pointer(PointerEvent.in_camera("release", camera, path[-1]))


def test_camera_lasso_labels_points_projecting_inside_and_nearest_surface_only() -> None:
    from fusionlabel.pointlabels.tools import camera_lasso_mask

    tool, doc, stack, pts, cam, T = _camera_setup()
    seen: list = []
    tool.on_camera_stroke = lambda name, s: seen.append((name, s))
    box = [(302.5, 101.0), (337.5, 101.0), (337.5, 401.0), (302.5, 401.0)]  # a thin column around u = 320
    cam_stroke(tool, box)
    uv, _, _ = cam.project(pts @ T[:3, :3].T + T[:3, 3])
    want = (uv[:, 0] >= 302.5) & (uv[:, 0] <= 337.5) & (uv[:, 1] >= 101) & (uv[:, 1] <= 401)
    assert want[-31:].sum() > 10 and want[:-31].sum() > 10  # pole and wall both project inside
    np.testing.assert_array_equal(doc.point_labels.get(0).semantic != UNLABELLED, want)
    assert len(stack.steps()) == 1 and "in front" in stack.steps()[0]
    assert seen[0][0] == "front" and seen[-1] == ("front", None)
    stack.undo()
    # nearest surface only: the pole hides the wall behind it in its pixels
    tool.nearest_only = True
    cam_stroke(tool, box)
    got = doc.point_labels.get(0).semantic != UNLABELLED
    assert got[-31:].sum() == want[-31:].sum()  # every pole point inside
    assert 0 < got[:-31].sum() < want[:-31].sum()  # the wall only beside the pole
    m = camera_lasso_mask(pts, np.array(box), cam, T, nearest_only=True)
    np.testing.assert_array_equal(m, got)
    # the height band (world z) applies too; other cameras, a BEV stroke and a brush are not camera strokes
    assert not camera_lasso_mask(pts, np.array(box), cam, T, z_band=(5.0, 6.0)).any()
    assert not tool.on_pointer(PointerEvent.in_camera("press", "rear", box[0]))
    tool.set_mode("brush")
    assert not tool.on_pointer(PointerEvent.in_camera("press", "front", box[0]))
    with pytest.raises(ModelError):
        camera_lasso_mask(pts, np.array(box[:2]), cam, T)
