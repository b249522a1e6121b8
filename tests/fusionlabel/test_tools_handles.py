"""View-plane geometry of the tools: handles, picking priorities, box edits, and the
one-command-per-gesture rule with exact undo for every gesture."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionlabel.box import CORNER_SIGNS, Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.tools import (
    Handle,
    PointerEvent,
    ToolContext,
    ToolController,
    box_handles,
    box_outline,
    pick,
    view_delta_to_world,
    world_to_view,
)
from fusionlabel.tools.handles import resized, resized_by

CAR = Box3D((10.0, 5.0, 0.8), (4.0, 2.0, 1.6), 0.4)


def test_bev_handles_and_outline() -> None:
    hs = {h.name: h for h in box_handles("bev", CAR, 20.0)}
    assert set(hs) == {"front", "rear", "left", "right", "front_left", "front_right", "rear_left", "rear_right",
                       "rotate"}
    corners = CAR.corners()
    assert hs["front_left"].pos == pytest.approx(corners[0, :2])
    assert hs["rear_right"].pos == pytest.approx(corners[2, :2])
    assert hs["front"].signs == (1, 0, 0) and hs["left"].signs == (0, 1, 0) and hs["rear_left"].signs == (-1, 1, 0)
    out = box_outline("bev", CAR)
    assert {tuple(np.round(p, 9)) for p in out} == {tuple(np.round(c, 9)) for c in corners[:4, :2]}


def test_side_and_front_handles() -> None:
    side = {h.name: h for h in box_handles("side", CAR, 20.0, CAR)}
    assert set(side) == {"front", "rear", "top", "bottom", "top_front", "bottom_front", "top_rear", "bottom_rear"}
    assert side["top"].pos == pytest.approx((0.0, 1.6)) and side["top"].signs == (0, 0, 1)
    assert side["rear"].pos == pytest.approx((-2.0, 0.8)) and side["rear"].signs == (-1, 0, 0)
    front = {h.name: h for h in box_handles("front", CAR, 20.0, CAR)}
    assert front["left"].pos == pytest.approx((1.0, 0.8)) and front["left"].signs == (0, 1, 0)
    assert front["bottom_right"].pos == pytest.approx((-1.0, 0.0)) and front["bottom_right"].signs == (0, -1, -1)


def test_pick_priorities() -> None:
    b = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
    ppm = 20.0  # tolerance 0.4 m
    assert pick("bev", b, (2.1, 1.1), ppm).name == "front_left"  # corner wins over both edges
    assert pick("bev", b, (2.1, 0.2), ppm).name == "front"
    assert pick("bev", b, (1.7, 0.0), ppm).name == "front"  # inside, near the edge
    assert pick("bev", b, (1.0, 0.0), ppm) == "inside"
    assert pick("bev", b, (2.0 + 1.5, 0.1), ppm).name == "rotate"
    assert pick("bev", b, (5.0, 5.0), ppm) is None
    # zoomed out: the tolerance in metres grows but the middle of a small box still moves it
    ped = Box3D((0.0, 0.0, 1.0), (0.6, 0.6, 1.8), 0.0)
    assert pick("bev", ped, (0.0, 0.0), 5.0) == "inside"  # 8 px = 1.6 m here
    assert isinstance(pick("bev", ped, (0.45, 0.0), 5.0), Handle)


def test_view_transforms_are_consistent() -> None:
    for view in ("bev", "side", "front"):
        d = view_delta_to_world(view, (0.3, -0.2), CAR)
        p0 = np.array([[11.0, 4.0, 0.5]])
        assert world_to_view(view, p0 + d, CAR) - world_to_view(view, p0, CAR) == pytest.approx(
            np.array([[0.3, -0.2]])
        )
    with pytest.raises(ValueError):
        world_to_view("side", np.zeros((1, 3)), None)


def test_resized_keeps_the_opposite_faces_in_the_box_frame() -> None:
    b = resized(CAR, (1, -1, 1), np.array([1.0, 1.0, 0.5]))
    # the rear-left-bottom corner (opposite of front-right-top) is fixed
    fixed_idx = 3  # rear-left bottom in CORNER_SIGNS
    assert b.corners()[fixed_idx] == pytest.approx(CAR.corners()[fixed_idx])
    assert b.size == pytest.approx((4.0 + math.cos(0.4) + math.sin(0.4), 2.0 - math.cos(0.4) + math.sin(0.4), 2.1))
    assert resized_by(CAR, (-10.0, 0.0, 0.0)).size[0] == pytest.approx(0.1)


# ---- every gesture: one command, undo restores exactly ----------------------------------------
def gestures():
    rot = (10.0 + (2.0 + 1.5) * math.cos(0.4), 5.0 + (2.0 + 1.5) * math.sin(0.4))
    return [
        ("move", "bev", (10.0, 5.0), (11.0, 6.0)),
        ("resize-edge", "bev", tuple(box_handles("bev", CAR)[0].pos), (13.0, 7.0)),
        ("resize-corner", "bev", tuple(box_handles("bev", CAR)[4].pos), (13.0, 7.0)),
        ("rotate", "bev", rot, (10.0, 9.0)),
        ("side-move", "side", (0.0, 0.8), (0.5, 1.0)),
        ("side-top", "side", (0.0, 1.6), (0.0, 2.0)),
        ("front-left", "front", (1.0, 0.8), (1.4, 0.8)),
    ]


@pytest.mark.parametrize(("name", "view", "p0", "p1"), gestures())
def test_one_command_per_gesture_and_exact_undo(name, view, p0, p1) -> None:
    doc = AnnotationDocument(5)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, CAR))
    stack.clear()
    events = []
    doc.subscribe(events.append)
    ctx = ToolContext(doc, stack, 0, selection=0)
    ctl = ToolController(ctx)
    before = doc.to_dict()

    def ev(kind, p):
        return PointerEvent(kind, p, view=view, pixels_per_metre=20.0)

    ctl.on_pointer(ev("press", p0))
    for t in np.linspace(0.1, 1.0, 8):
        ctl.on_pointer(ev("move", (p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1]))))
    assert events == [] and doc.to_dict() == before  # previews never touch the document
    assert ctx.preview is not None and ctx.preview.track_id == 0
    ctl.on_pointer(ev("release", p1))
    assert len(stack) == 1 and doc.to_dict() != before
    assert len(events) == 1
    stack.undo()
    assert doc.to_dict() == before
    stack.redo()
    assert doc.box_at(0, 0).box != CAR


# ---- properties -------------------------------------------------------------------------------

finite = st.floats(-5.0, 5.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    yaw=st.floats(-math.pi, math.pi),
    signs=st.tuples(st.sampled_from([-1, 0, 1]), st.sampled_from([-1, 0, 1]), st.sampled_from([-1, 0, 1])),
    d=st.tuples(finite, finite, finite),
)
def test_resize_property_opposite_corner_fixed_and_min_size(yaw, signs, d) -> None:
    box = Box3D((1.0, -2.0, 0.5), (3.0, 1.5, 1.2), yaw)
    out = resized(box, signs, np.asarray(d), min_size=0.1)
    assert min(out.size) >= 0.1 - 1e-12 and out.yaw == box.yaw
    # the corner opposite to the grabbed faces (sign -s on each moved axis) does not move
    opposite = np.array([-s if s else 1 for s in signs], dtype=float)
    idx = int(np.flatnonzero((CORNER_SIGNS == opposite).all(axis=1))[0])
    assert out.corners()[idx] == pytest.approx(box.corners()[idx], abs=1e-9)
    for i, s in enumerate(signs):
        if not s:
            assert out.size[i] == box.size[i]
