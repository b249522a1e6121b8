"""One-click boxes and auto-fit on ray-cast synthetic sweeps (exact ground truth), and the floor on
the real KITTI frames (the benchmark prints the figures)."""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType

import numpy as np
import pytest

from calib.transforms import transform_points
from fusionlabel.assist import auto_fit, box_from_click, click_from_ray, fit_ground, guess_class, lshape_yaw
from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS, heading_from_cabin
from fusionlabel.box import Box3D
from fusionlabel.geometry import bev_iou
from fusionlabel.ontology import Ontology
from fusionlabel.synth import LIDAR_NAME, SynthConfig, SynthScene
from tests.conftest import load_benchmark, real_data


@pytest.fixture(scope="module")
def sweep() -> tuple:
    scene = SynthScene(SynthConfig(frames=1, seed=0, cameras=0))
    fr = scene.frame(0, cameras=False)
    sw = fr.lidar[LIDAR_NAME]
    T = fr.T_world_from_ego @ scene.rig.T("ego", LIDAR_NAME)
    pts = transform_points(T, sw.points[:, :3].astype(np.float64))
    ground = fit_ground(pts, T[:3, 3])
    parked = {
        o.instance: fr.boxes[o.instance]
        for o in scene.layout.labelled
        if o.attributes.get("state") == "parked"
        and (sw.instance == o.instance).sum() >= 100
        and math.dist(fr.boxes[o.instance].center[:2], T[:2, 3]) < 30
    }
    return pts, ground, T[:3, 3], parked, sw.instance


def test_click_on_parked_cars(sweep: tuple) -> None:
    pts, ground, origin, parked, inst = sweep
    assert len(parked) >= 6
    ious = []
    for tid, gt in parked.items():
        fit = box_from_click(pts, gt.center[:2], ground, origin=origin)
        assert fit.box is not None and fit.label == "car"
        assert 0.0 < fit.confidence <= 1.0
        assert np.mean(inst[fit.indices] == tid) > 0.95  # the segment is that car
        ious.append(bev_iou(fit.box, gt))
        # bottom snapped to the ground (z = 0 in the synthetic world)
        assert fit.box.center[2] - fit.box.size[2] / 2 == pytest.approx(0.0, abs=0.1)
    assert np.mean(np.array(ious) >= 0.7) >= 0.8, ious


def _forward(box: Box3D | None, gt: Box3D) -> bool:
    return box is not None and abs(math.remainder(box.yaw - gt.yaw, 2 * math.pi)) <= math.pi / 2


def test_parked_cars_front_from_the_cabin(sweep: tuple) -> None:
    """One sweep of a parked car shows no motion: the cabin (behind the middle) tells its front."""
    pts, ground, origin, parked, _ = sweep
    off = dataclasses.replace(DEFAULT_FIT_PARAMS, vehicle_cabin_cue=False)
    with_cue, without = [], []
    for gt in parked.values():
        fit = box_from_click(pts, gt.center[:2], ground, class_hint="car", origin=origin)
        with_cue.append(_forward(fit.box, gt))
        assert fit.heading_source in ("shape", "shape+cabin")
        without.append(_forward(box_from_click(pts, gt.center[:2], ground, class_hint="car", origin=origin,
                                               fit_params=off).box, gt))
    assert np.mean(with_cue) >= 0.8 > np.mean(without), (with_cue, without)


def test_cabin_cue_only_for_vehicles() -> None:
    """A walker's or an unknown class's box is never turned by the cabin vote, nor a car's whose
    points do not span its length."""
    onto = Ontology.default()
    rng = np.random.default_rng(1)
    # a car seen from the side, its cabin set back (front toward -x): a box headed +x is turned
    u = np.concatenate([rng.uniform(-2.25, 2.25, 300), rng.uniform(-0.36 - 1.1, -0.36 + 1.1, 150)])
    z = np.concatenate([rng.uniform(0.1, 0.95, 300), rng.uniform(1.0, 1.5, 150)])
    p = np.column_stack([-u, np.full(len(u), -0.95), z])
    box = Box3D((0.0, 0.0, 0.775), (4.5, 1.9, 1.55), 0.0)
    turned, decided = heading_from_cabin(box, p, onto["car"])
    assert decided and abs(math.remainder(turned.yaw - math.pi, 2 * math.pi)) < 1e-9
    assert heading_from_cabin(box, p, onto["pedestrian"]) == (box, False)
    # only the rear half seen (the box grown over unseen space): undecided
    assert heading_from_cabin(box, p[p[:, 0] > 0.0], onto["car"]) == (box, False)
    assert heading_from_cabin(box, p, None) == (box, False)
    off = dataclasses.replace(DEFAULT_FIT_PARAMS, vehicle_cabin_cue=False)
    assert heading_from_cabin(box, p, onto["car"], fit_params=off) == (box, False)


def test_ray_click_equals_bev_click(sweep: tuple) -> None:
    pts, ground, origin, parked, _ = sweep
    gt = next(iter(parked.values()))
    eye = np.array([gt.center[0] - 8.0, gt.center[1], 12.0])  # a 3D-view camera above and behind
    target = np.array([*gt.center[:2], gt.center[2] + gt.size[2] / 2 - 0.1])
    xy = click_from_ray(pts, eye, target - eye, ground)
    assert xy is not None and math.dist(xy, gt.center[:2]) < 3.0
    by_ray = box_from_click(pts, (eye, target - eye), ground, origin=origin)
    by_bev = box_from_click(pts, xy, ground, origin=origin)
    assert by_ray.box == by_bev.box
    # a ray into empty sky hits nothing
    assert box_from_click(pts, (eye, np.array([0.0, 0.0, 1.0])), ground).box is None


def test_auto_fit_tightens_and_grows(sweep: tuple) -> None:
    pts, ground, origin, parked, _ = sweep
    better = 0
    for gt in parked.values():
        rough = gt.replace(center=(gt.center[0] + 0.3, gt.center[1] - 0.25, gt.center[2] + 0.2),
                           size=(gt.length * 0.8, gt.width * 1.1, gt.height * 0.7))
        fit = auto_fit(rough, pts, ground, origin=origin)
        assert fit.box.yaw == rough.yaw
        assert fit.box.center[2] - fit.box.size[2] / 2 == pytest.approx(0.0, abs=0.1)
        tilted = auto_fit(rough.replace(yaw=rough.yaw + math.radians(12)), pts, ground, fit_yaw=True, origin=origin)
        better += bev_iou(fit.box, gt) > bev_iou(rough, gt) + 0.05 and bev_iou(tilted.box, gt) > 0.7
    assert better >= 0.75 * len(parked)
    lonely = Box3D((500.0, 500.0, 1.0), (4.0, 2.0, 1.5), 0.3)
    assert auto_fit(lonely, pts, ground).box == lonely  # no points: unchanged


def test_heading_and_class_from_points() -> None:
    rng = np.random.default_rng(0)
    yaw = math.radians(27.0)
    c, s = math.cos(yaw), math.sin(yaw)
    # the two visible sides of a 4.4 x 1.8 car (an L), in its own frame, then rotated
    u = np.concatenate([rng.uniform(-2.2, 2.2, 200), np.full(80, -2.2)])
    v = np.concatenate([np.full(200, -0.9), rng.uniform(-0.9, 0.9, 80)])
    xy = np.column_stack([u * c - v * s, u * s + v * c]) + rng.normal(0, 0.02, (280, 2))
    assert math.degrees(lshape_yaw(xy)) == pytest.approx(27.0, abs=2.0)
    onto = Ontology.default()
    assert guess_class((4.3, 1.8), 1.5, onto).label == "car"
    assert guess_class((0.6, 0.5), 1.75, onto).label == "pedestrian"
    assert guess_class((11.0, 2.8), 3.3, onto).label == "bus"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_assist")


def test_real_kitti_one_click_floor(bench: ModuleType) -> None:
    real_data("kitti_object_vis")
    results = bench.one_click_real(bench.real_frames())
    assert len(results) >= 18  # all three sources were read (mmdet3d pickle labels converted)
    iou = np.array([r.iou for r in results])  # class given, the data's (KITTI) size priors: as in the GUI
    dflt = np.array([r.iou_default for r in results])  # class given, the default ontology's own priors
    # the target: 80% of the objects at >= 0.6 (21 objects: 17 at >= 0.6, 19 at >= 0.5, mean 0.698;
    # with the default ontology's priors 14 at >= 0.6, mean 0.664; all 8 cars at >= 0.6 with KITTI's
    # priors); walkers headed along the ego's axes (ego_yaw 0: the KITTI object frame is the ego's),
    # see docs/assist.md
    assert np.mean(iou >= 0.6) >= FLOOR_SHARE_06, sorted(iou.round(2))
    assert np.mean(iou >= 0.5) >= FLOOR_SHARE_05, sorted(iou.round(2))
    assert iou.mean() >= FLOOR_MEAN, sorted(iou.round(2))
    assert np.mean(dflt >= 0.6) >= FLOOR_DEFAULT_SHARE_06, sorted(dflt.round(2))
    assert dflt.mean() >= FLOOR_DEFAULT_MEAN, sorted(dflt.round(2))
    cars = np.array([r.iou for r in results if r.label == "Car"])
    assert np.mean(cars >= 0.6) >= FLOOR_CAR_SHARE_06, sorted(cars.round(2))
    # people and bikes: the box sits on the body (centre within 0.4 m of the label's)
    small = [r for r in results if r.label in ("Pedestrian", "Cyclist")]
    assert small and max(r.offset for r in small) < 0.4, [round(r.offset, 2) for r in small]


def test_real_kitti_cars_no_more_flips_with_the_cabin(bench: ModuleType) -> None:
    """The cabin cue turns no real KITTI car backwards and keeps its IoU (8 cars: 3 -> 5 forward)."""
    real_data("kitti_object_vis")
    rows = np.array(bench.heading_sign_real(bench.real_frames()), dtype=np.float64)
    assert len(rows) >= 8
    assert not np.any((rows[:, 0] > 0) & (rows[:, 1] == 0))  # none turned backwards
    assert rows[:, 1].sum() > rows[:, 0].sum()
    assert np.allclose(rows[:, 2], rows[:, 3])  # a turn by pi keeps the BEV footprint


FLOOR_SHARE_06 = 0.80
FLOOR_SHARE_05 = 0.88
FLOOR_MEAN = 0.69
FLOOR_DEFAULT_SHARE_06 = 0.64
FLOOR_DEFAULT_MEAN = 0.655
FLOOR_CAR_SHARE_06 = 0.85


def test_one_click_tool_through_the_controller(sweep: tuple) -> None:
    from fusionlabel.commands import UndoStack
    from fusionlabel.document import AnnotationDocument
    from fusionlabel.tools import KeyEvent, PointerEvent, ToolContext, ToolController

    pts, ground, origin, parked, _ = sweep
    doc = AnnotationDocument(frame_count=1)
    stack = UndoStack(doc)
    messages: list[str] = []
    ctx = ToolContext(doc, stack, frame=0, points=pts, ground=ground, default_class="car",
                      on_message=messages.append)
    ctl = ToolController(ctx)
    assert ctl.on_key(KeyEvent("g")) == "tool_oneclick" and ctl.active_name == "oneclick"
    ctl.tools["oneclick"].origin = tuple(origin)
    gt = next(iter(parked.values()))
    xy = gt.center[:2]
    ctl.on_pointer(PointerEvent("press", xy))
    ctl.on_pointer(PointerEvent("release", xy))
    (tid,) = doc.tracks
    assert ctx.selection == tid and ctl.active_name == "edit"  # one action, back to editing
    assert doc.track(tid).label == "car" and bev_iou(doc.track(tid).keyframes[0], gt) > 0.7
    assert doc.track(tid).attributes == ctx.ontology.default_attributes("car")
    assert "state" not in doc.track(tid).attributes  # a parked car does not start as "moving"
    assert len(stack) == 1 and messages and messages[-1].startswith("car:")
    stack.undo()
    assert not doc.tracks
    ctl.set_tool("oneclick")
    far = (gt.center[0] + 500.0, gt.center[1])
    ctl.on_pointer(PointerEvent("press", far))
    ctl.on_pointer(PointerEvent("release", far))
    assert not doc.tracks and "no object" in messages[-1] and len(stack) == 0


def test_one_click_tool_held_box_after_box(sweep: tuple) -> None:
    """Shift+G: the one-click tool stays on after each box (one key for many objects); V, or Esc
    with nothing selected, leaves it; G alone still returns to editing after one box."""
    from fusionlabel.commands import UndoStack
    from fusionlabel.document import AnnotationDocument
    from fusionlabel.tools import KeyEvent, PointerEvent, ToolContext, ToolController

    pts, ground, origin, parked, _ = sweep
    doc = AnnotationDocument(frame_count=1)
    ctx = ToolContext(doc, UndoStack(doc), frame=0, points=pts, ground=ground, default_class="car")
    ctl = ToolController(ctx)
    ctl.tools["oneclick"].origin = tuple(origin)
    assert ctl.on_key(KeyEvent("g", frozenset({"shift"}))) == "tool_oneclick_held"
    cars = list(parked.values())[:3]
    for k, gt in enumerate(cars, start=1):
        for kind in ("press", "release"):
            ctl.on_pointer(PointerEvent(kind, gt.center[:2]))
        assert len(doc.tracks) == k and ctl.active_name == "oneclick"  # still on: the next object
    assert ctl.on_key(KeyEvent("escape")) == "escape" and ctx.selection is None  # first: deselect
    assert ctl.active_name == "oneclick"
    assert ctl.on_key(KeyEvent("escape")) == "escape" and ctl.active_name == "edit"  # then: leave
    ctl.on_key(KeyEvent("g", frozenset({"shift"})))
    ctl.on_key(KeyEvent("v"))
    assert ctl.active_name == "edit" and ctl.held is None
    ctl.on_key(KeyEvent("g"))  # not held: back to editing after one box
    gt = list(parked.values())[3]
    for kind in ("press", "release"):
        ctl.on_pointer(PointerEvent(kind, gt.center[:2]))
    assert len(doc.tracks) == 4 and ctl.active_name == "edit"


def test_walkers_ego_axes_prior_on_real_samples(bench: ModuleType) -> None:
    """The walkers' heading prior (nearest ego axis) against the labels of every real sample that
    is present: more walkers within 20 degrees and no lower mean IoU, per source."""
    real_data("kitti_object_vis")
    rows = bench.walker_heading_real()
    sources = {r.source for r in rows}
    assert "kitti" in sources
    for src in sources:
        e = np.array([r.err for r in rows if r.source == src])
        i = np.array([r.iou for r in rows if r.source == src])
        assert np.mean(e[:, 1] < 20) > np.mean(e[:, 0] < 20), (src, e.round(1))
        assert i[:, 1].mean() >= i[:, 0].mean() - 1e-9, (src, i.round(3))
