"""Create tool: rear-to-front drag, diagonal drag, click; height and z from the points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.ontology import Ontology
from fusionlabel.tools import (
    CreateTool,
    KeyEvent,
    PointerEvent,
    ToolContext,
    ToolController,
    fit_vertical,
)

PPM = 20.0


def pe(kind: str, xy, mods=(), view: str = "bev") -> PointerEvent:
    return PointerEvent(kind, xy, modifiers=frozenset(mods), view=view, pixels_per_metre=PPM)


def object_points(center=(10.0, 0.0), size=(4.0, 1.8), top=1.5, ground=0.0, n=400, seed=0) -> np.ndarray:
    """A ground plane grid around the object and points on a box-shaped object (top at ``top``)."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(0.0, 20.0, 0.25), np.arange(-8.0, 8.0, 0.25))
    ground_pts = np.stack([gx.ravel(), gy.ravel(), ground + rng.normal(0, 0.02, gx.size)], axis=1)
    obj = np.stack(
        [
            rng.uniform(center[0] - size[0] / 2, center[0] + size[0] / 2, n),
            rng.uniform(center[1] - size[1] / 2, center[1] + size[1] / 2, n),
            rng.uniform(ground + 0.3, ground + top, n),
        ],
        axis=1,
    )
    obj[0, 2] = ground + top
    return np.concatenate([ground_pts, obj])


def make(points=None, ground=None, frame: int = 3):
    doc = AnnotationDocument(10)
    stack = UndoStack(doc)
    ctx = ToolContext(doc, stack, frame, points=points, ground=ground, default_class="car")
    ctl = ToolController(ctx)
    ctl.set_tool("create")
    return ctx, ctl


def drag(ctl, p0, p1, mods=(), release=True) -> None:
    ctl.on_pointer(pe("press", p0, mods))
    for t in (0.3, 0.7, 1.0):
        ctl.on_pointer(pe("move", (p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])), mods))
    if release:
        ctl.on_pointer(pe("release", p1, mods))


def only_box(ctx):
    (tid,) = ctx.doc.track_ids()
    return tid, ctx.doc.box_at(tid, ctx.frame)


def test_rear_to_front_drag_gives_length_heading_and_class_width() -> None:
    ctx, ctl = make(points=object_points(), ground=None)
    drag(ctl, (8.0, 0.0), (12.0, 0.0), release=False)
    assert ctx.preview is not None and ctx.preview.kind == "create" and ctx.preview.track_id is None
    assert len(ctx.doc) == 0
    ctl.on_pointer(pe("release", (12.0, 0.0)))
    assert ctx.preview is None
    tid, ref = only_box(ctx)
    b = ref.box
    assert ref.is_keyframe and ref.frame == 3 and ref.label == "car"
    assert b.center[:2] == pytest.approx((10.0, 0.0))
    assert b.size[0] == pytest.approx(4.0)
    assert b.size[1] == pytest.approx(Ontology.default().default_size("car")[1])
    assert b.yaw == pytest.approx(0.0)
    # bottom on the estimated ground (about 0), top at the highest object point (1.5)
    assert b.center[2] - b.size[2] / 2 == pytest.approx(0.0, abs=0.06)
    assert b.center[2] + b.size[2] / 2 == pytest.approx(1.5, abs=0.06)
    assert ctx.selection == tid
    assert ctx.doc.track(tid).attributes == {}  # a drawn box may be parked: no "moving" state by default
    assert ctl.active_name == "edit"  # back to editing after a creation
    assert len(ctx.stack) == 1
    ctx.stack.undo()
    assert len(ctx.doc) == 0


def test_drag_direction_sets_heading() -> None:
    ctx, ctl = make(ground=0.0)
    drag(ctl, (0.0, 0.0), (0.0, -3.0))
    _, ref = only_box(ctx)
    assert ref.box.yaw == pytest.approx(-math.pi / 2)
    assert ref.box.size[0] == pytest.approx(3.0)
    assert ref.box.center[:2] == pytest.approx((0.0, -1.5))


def test_shift_drag_is_an_axis_aligned_rectangle() -> None:
    ctx, ctl = make(ground=-1.0)
    drag(ctl, (1.0, 1.0), (4.0, -1.0), mods=("shift",))
    _, ref = only_box(ctx)
    b = ref.box
    assert b.yaw == 0.0 and b.size[:2] == pytest.approx((3.0, 2.0)) and b.center[:2] == pytest.approx((2.5, 0.0))
    h = Ontology.default().default_size("car")[2]  # no points: class height
    assert b.size[2] == pytest.approx(h) and b.center[2] == pytest.approx(-1.0 + h / 2)


def test_click_creates_a_class_default_box_at_the_click() -> None:
    ctx, ctl = make(ground=0.5)
    ctx.default_class = "pedestrian"
    ctl.on_pointer(pe("press", (3.0, 4.0)))
    ctl.on_pointer(pe("move", (3.01, 4.0)))
    ctl.on_pointer(pe("release", (3.01, 4.0)))
    _, ref = only_box(ctx)
    l, w, h = Ontology.default().default_size("pedestrian")
    assert ref.label == "pedestrian"
    assert ref.box.center == pytest.approx((3.0, 4.0, 0.5 + h / 2))
    assert ref.box.size == pytest.approx((l, w, h)) and ref.box.yaw == 0.0


def test_escape_cancels_creation() -> None:
    ctx, ctl = make(ground=0.0)
    drag(ctl, (0.0, 0.0), (4.0, 0.0), release=False)
    assert ctl.on_key(KeyEvent("escape")) == "cancel"
    assert ctx.preview is None
    ctl.on_pointer(pe("release", (4.0, 0.0)))
    assert len(ctx.doc) == 0 and len(ctx.stack) == 0


def test_create_ignores_side_views() -> None:
    ctx, ctl = make()
    assert ctl.on_pointer(pe("press", (0.0, 0.0), view="side")) is False


def test_fit_vertical_uses_class_height_with_too_few_points() -> None:
    pts = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 1.0], [5.0, 5.0, 0.0]])
    ctx, _ = make(points=pts, ground=0.0)
    b = fit_vertical(ctx, (0.0, 0.0), 4.0, 2.0, 0.0, "car")
    assert b.size[2] == pytest.approx(Ontology.default().default_size("car")[2])


def test_fit_vertical_ignores_points_far_above_the_class() -> None:
    pts = object_points(top=1.4)
    pts = np.concatenate([pts, [[10.0, 0.0, 12.0]]])  # an overhanging branch above the car
    ctx, _ = make(points=pts, ground=0.0)
    b = fit_vertical(ctx, (10.0, 0.0), 4.0, 1.8, 0.0, "car")
    assert b.center[2] + b.size[2] / 2 == pytest.approx(1.4, abs=1e-6)


def test_ground_estimate_from_points_and_callable() -> None:
    ctx, _ = make(points=object_points(ground=-1.7), ground=None)
    assert ctx.ground_height(10.0, 0.0) == pytest.approx(-1.7, abs=0.06)
    ctx.ground = lambda x, y: 0.1 * x
    assert ctx.ground_height(10.0, 0.0) == pytest.approx(1.0)


def test_create_tool_label_override() -> None:
    ctx, _ = make(ground=0.0)
    tool = CreateTool(ctx, label="cyclist")
    tool.on_pointer(pe("press", (0.0, 0.0)))
    tool.on_pointer(pe("release", (0.0, 0.0)))
    _, ref = only_box(ctx)
    assert ref.label == "cyclist"
