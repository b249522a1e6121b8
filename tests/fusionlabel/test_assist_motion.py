"""One-click heading from the motion over neighbouring sweeps (fusionlabel.assist.motion): walkers
headed along their motion, a standing walker keeps its shape heading, a wrong association is
rejected, vehicles take only the sign, and the one-click tool's neighbour callback."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.assist import box_from_click, estimate_motion, flat_ground
from fusionlabel.assist.fit import resolve_class
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.ontology import Ontology
from fusionlabel.synth.raycast import ray_box, ray_ground
from fusionlabel.tools.context import ToolContext
from fusionlabel.tools.oneclick import OneClickTool

ORIGIN = np.array([0.0, -8.0, 1.8])
GROUND = flat_ground(0.0)
DTS = (-0.2, -0.1, 0.1, 0.2)


Obj = tuple[tuple[float, float], float, float, float, float]  # (x, y), yaw, length, width, height
WALKER = (0.3, 0.5, 1.7)  # 0.3 m along its heading, 0.5 m across: its BEV principal axis lies across


def _cast(rng: np.random.Generator, objects: list[Obj]) -> np.ndarray:
    """A ray-cast sweep (world frame) from ``ORIGIN``: 44 rings (-16 .. +2 degrees) over the
    azimuths toward (0, 0) +- 30 degrees (0.15 degree steps, a random phase per sweep) against the
    boxes ``objects`` (standing on z = 0) and the ground z = 0 within 14 m; 1 cm range noise."""
    el = np.radians(np.linspace(-16.0, 2.0, 44))
    az = np.radians(90.0 + np.arange(-30.0, 30.0, 0.15) + rng.uniform(0.0, 0.15))
    E, A = np.meshgrid(el, az, indexing="ij")
    d = np.stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)], axis=-1).reshape(-1, 3)
    t = ray_ground(ORIGIN, d)
    for (x, y), yaw, length, width, height in objects:
        t_in, _, _, _ = ray_box(ORIGIN, d, np.array([x, y, height / 2]), np.array([length, width, height]) / 2, yaw)
        t = np.minimum(t, t_in)
    ok = np.isfinite(t)
    pts = ORIGIN + (t[ok] + rng.normal(0.0, 0.01, ok.sum()))[:, None] * d[ok]
    return pts[np.hypot(pts[:, 0], pts[:, 1]) < 14.0]


def _walker_sweeps(speed: float, heading: float, seed: int = 0, dts: tuple[float, ...] = DTS,
                   distractor: dict[float, tuple[float, float]] | None = None, drop: tuple[float, ...] = ()
                   ) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    """The current sweep and the neighbours (dt, points) of a walker (``WALKER``) at (0, 0) at dt 0,
    moving at ``speed`` along ``heading``; ``distractor``: dt -> another walker's position there;
    ``drop``: sweeps in which the walker is not seen."""
    rng = np.random.default_rng(seed)
    v = speed * np.array([math.cos(heading), math.sin(heading)])

    def sweep(dt: float) -> np.ndarray:
        objs: list[Obj] = []
        if dt not in drop:
            objs.append(((float(v[0] * dt), float(v[1] * dt)), heading, *WALKER))
        if distractor and dt in distractor:
            objs.append((distractor[dt], heading, *WALKER))
        return _cast(rng, objs)

    return sweep(0.0), [(dt, sweep(dt)) for dt in dts]


def _err(a: float, b: float) -> float:
    """Heading difference (deg, modulo 360)."""
    return abs(math.degrees((a - b + math.pi) % (2 * math.pi) - math.pi))


def test_moving_walker_is_headed_along_its_motion() -> None:
    heading = math.radians(30.0)
    cur, nb = _walker_sweeps(1.3, heading)
    shape = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN)
    assert shape.heading_source == "shape" and shape.motion is None
    # the single sweep's principal axis lies across the body: 90 degrees off (modulo 180)
    assert min(_err(shape.box.yaw, heading), _err(shape.box.yaw, heading + math.pi)) > 45.0
    fit = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN, neighbours=nb)
    assert fit.heading_source == "motion"
    assert fit.motion is not None and fit.motion.moving
    assert fit.motion.speed == pytest.approx(1.3, abs=0.15)
    assert len(fit.motion.track) == 5 and fit.motion.rejected == 0
    assert _err(fit.box.yaw, heading) < 8.0  # the direction, sign included
    # centre and size kept
    assert fit.box.center == pytest.approx(shape.box.center)
    assert fit.box.size == pytest.approx(shape.box.size)


def test_standing_walker_keeps_its_shape_heading() -> None:
    cur, nb = _walker_sweeps(0.0, 0.4, seed=1)
    shape = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN)
    fit = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN, neighbours=nb)
    assert fit.motion is not None and len(fit.motion.track) == 5  # followed ...
    assert not fit.motion.moving and fit.heading_source == "shape"  # ... but not moving
    assert fit.box == shape.box


def test_slow_sway_is_not_motion() -> None:
    # 0.3 m/s (a person shifting weight, turning on the spot) stays below the walker's floor
    cur, nb = _walker_sweeps(0.3, 0.0, seed=2)
    fit = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN, neighbours=nb)
    assert fit.motion is not None and fit.motion.speed == pytest.approx(0.3, abs=0.1)
    assert fit.heading_source == "shape"


def test_wrong_association_is_rejected() -> None:
    # at +0.1 s the walker is hidden and another walker stands 0.4 m beside where it should be: the
    # only candidate inside the gate; the line through the other four centroids rejects it
    heading = 0.0
    v = 1.3
    cur, nb = _walker_sweeps(v, heading, seed=3, drop=(0.1,), distractor={0.1: (0.13, 0.4)})
    fit = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN, neighbours=nb)
    m = fit.motion
    assert m is not None and m.rejected == 1
    assert all(abs(t - 0.1) > 1e-9 for t, _, _ in m.track)
    assert fit.heading_source == "motion" and _err(fit.box.yaw, heading) < 5.0
    # least squares over all five centroids would be pulled about 17 degrees off
    t = np.array([0.0, -0.2, -0.1, 0.1, 0.2])
    y = np.array([0.0, 0.0, 0.0, 0.4, 0.0])
    vy = float(np.polyfit(t, y, 1)[0])
    assert math.degrees(math.atan2(vy, v)) > 12.0


def test_too_far_is_not_followed() -> None:
    # the "walker" in the neighbours is 3 m away after 0.1 s (30 m/s): outside the walker's gate
    rng = np.random.default_rng(4)
    cur = _cast(rng, [((0.0, 0.0), 0.0, *WALKER)])
    nb = [(0.1, _cast(rng, [((3.0, 0.0), 0.0, *WALKER)]))]
    fit = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="pedestrian", origin=ORIGIN, neighbours=nb)
    assert fit.motion is not None and fit.motion.speed is None and fit.heading_source == "shape"


def test_different_size_is_not_associated() -> None:
    # a 1.0 m high object where the walker should be is not the walker
    rng = np.random.default_rng(5)
    cur = _cast(rng, [((0.0, 0.0), 0.0, *WALKER)])
    nb = [(0.1, _cast(rng, [((0.13, 0.0), 0.0, 0.3, 0.5, 1.0)]))]
    spec = resolve_class(Ontology.default(), "pedestrian")
    m = estimate_motion(cur[cur[:, 2] > 0.3], nb, GROUND, spec, lambda q, s: np.flatnonzero(q[:, 2] > 0.3))
    assert m.speed is None and len(m.track) == 1


def test_moving_car_takes_the_sign_only() -> None:
    rng = np.random.default_rng(6)
    yaw = math.radians(10.0)
    v = 8.0 * np.array([math.cos(yaw), math.sin(yaw)])

    def car(dt: float) -> np.ndarray:
        return _cast(rng, [((float(v[0] * dt), float(v[1] * dt)), yaw, 4.5, 1.8, 1.5)])

    cur = car(0.0)
    nb = [(dt, car(dt)) for dt in DTS]
    shape = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="car", origin=ORIGIN)
    fit = box_from_click(cur, (0.0, 0.0), GROUND, class_hint="car", origin=ORIGIN, neighbours=nb)
    assert fit.heading_source == "shape+motion" and fit.motion is not None and fit.motion.moving
    assert _err(fit.box.yaw, yaw) < 3.0  # the motion's sign on the shape's axis
    assert _err(fit.box.yaw, shape.box.yaw) in (pytest.approx(0.0, abs=1e-6), pytest.approx(180.0, abs=1e-6))
    assert fit.box.center == pytest.approx(shape.box.center) and fit.box.size == pytest.approx(shape.box.size)


def test_static_class_is_not_moved() -> None:
    cur, nb = _walker_sweeps(1.3, 0.0, seed=7)
    spec = resolve_class(Ontology.default(), "traffic_cone")
    m = estimate_motion(cur, nb, GROUND, spec, lambda q, s: np.arange(len(q)))
    assert not m.moving and m.reason == "a static class"


def test_oneclick_tool_uses_the_neighbour_callback() -> None:
    heading = math.radians(-60.0)
    cur, nb = _walker_sweeps(1.4, heading, seed=8)
    by_offset = {-2: nb[0], -1: nb[1], 1: nb[2], 2: nb[3]}
    asked: list[int] = []

    def neighbour_points(k: int) -> tuple[float, np.ndarray] | None:
        asked.append(k)
        return by_offset.get(k) if k != 2 else None  # +2: past the end of the sequence

    doc = AnnotationDocument(frame_count=5)
    ctx = ToolContext(doc, UndoStack(doc), frame=2, points=cur, ground=GROUND, default_class="pedestrian")
    tool = OneClickTool(ctx)
    tool.origin = tuple(ORIGIN)
    tid = tool.click((0.0, 0.0))
    assert tid is not None and tool.last_fit is not None and tool.last_fit.heading_source == "shape"
    ctx.neighbour_points = neighbour_points
    tid2 = tool.click((0.0, 0.0))
    assert sorted(asked) == [-2, -1, 1, 2]
    fit = tool.last_fit
    assert fit is not None and fit.heading_source == "motion" and len(fit.motion.track) == 4
    box = doc.box_at(tid2, 2).box
    assert _err(box.yaw, heading) < 8.0
    # without the callback the box is the single-sweep one
    assert _err(doc.box_at(tid, 2).box.yaw, heading) > 30.0
    # the motion state: "moving" only when the neighbouring sweeps showed it moving
    assert doc.track(tid2).attributes["state"] == "moving"
    assert "state" not in doc.track(tid).attributes  # one sweep cannot tell


def test_oneclick_box_of_a_standing_object_gets_no_moving_state() -> None:
    cur, nb = _walker_sweeps(0.0, 0.4, seed=1)
    by_offset = {-2: nb[0], -1: nb[1], 1: nb[2], 2: nb[3]}
    doc = AnnotationDocument(frame_count=5)
    ctx = ToolContext(doc, UndoStack(doc), frame=2, points=cur, ground=GROUND, default_class="pedestrian")
    ctx.neighbour_points = by_offset.get
    tool = OneClickTool(ctx)
    tool.origin = tuple(ORIGIN)
    tid = tool.click((0.0, 0.0))
    assert tid is not None and tool.last_fit.motion is not None and not tool.last_fit.motion.moving
    assert "state" not in doc.track(tid).attributes


def test_oneclick_tool_rejects_malformed_neighbours() -> None:
    cur, _ = _walker_sweeps(1.0, 0.0, seed=9)
    doc = AnnotationDocument(frame_count=3)
    ctx = ToolContext(doc, UndoStack(doc), frame=1, points=cur, ground=GROUND, default_class="pedestrian")
    ctx.neighbour_points = lambda k: (0.1 * k, np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"neighbour_points\(-2\)"):
        OneClickTool(ctx).click((0.0, 0.0))
