"""One-click box pieces on hand-made sweeps: the elliptical link across the line of sight, free
space deciding where a partly seen car grows and where it stops, people cut apart by mean shift,
a body's centre behind its visible surface."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.assist import ClusterParams, box_from_click, cluster_points
from fusionlabel.assist.ground import GroundModel
from fusionlabel.box import Box3D
from fusionlabel.geometry import bev_iou


def FlatGround() -> GroundModel:  # noqa: N802
    """z = 0 everywhere (world frame of these tests)."""
    return GroundModel((0.0, 0.0, 0.0))


def _visible(xy: np.ndarray, boxes: list[Box3D]) -> np.ndarray:
    """(N,) True where the BEV segment from the sensor (origin) to ``xy`` (N, 2) crosses none of
    the (tall) boxes: ground the LiDAR can see."""
    t = np.linspace(0.02, 0.98, 60)
    ok = np.ones(len(xy), dtype=bool)
    for b in boxes:
        c, s = math.cos(b.yaw), math.sin(b.yaw)
        for tt in t:
            q = xy * tt - np.asarray(b.center[:2])
            u, v = q[:, 0] * c + q[:, 1] * s, -q[:, 0] * s + q[:, 1] * c
            ok &= ~((np.abs(u) < b.length / 2) & (np.abs(v) < b.width / 2))
    return ok


def _ground(xmin: float, xmax: float, ymin: float, ymax: float, boxes: list[Box3D], step: float = 0.15) -> np.ndarray:
    x, y = np.meshgrid(np.arange(xmin, xmax, step), np.arange(ymin, ymax, step))
    xy = np.column_stack([x.ravel(), y.ravel()])
    xy = xy[_visible(xy, boxes)]
    return np.column_stack([xy, np.zeros(len(xy))])


def _face(p0: tuple[float, float], p1: tuple[float, float], z0: float, z1: float, step: float = 0.05) -> np.ndarray:
    n = max(int(math.dist(p0, p1) / step), 2)
    t = np.linspace(0.0, 1.0, n)
    xy = np.outer(1 - t, p0) + np.outer(t, p1)
    zs = np.arange(z0, z1, 0.1)
    return np.array([[x, y, z] for x, y in xy for z in zs])


def test_elliptical_link_splits_side_by_side_keeps_rings() -> None:
    # two walls side by side at 30 m, 0.4 m apart across the line of sight (+y here)
    a = _face((30.0, 0.0), (30.0, 1.0), 0.5, 1.5)
    b = _face((30.0, 1.4), (30.0, 2.4), 0.5, 1.5)
    # a roof seen as two rings 0.6 m apart along the line of sight (+x)
    r1 = _face((40.0, -5.0), (40.0, -3.0), 1.4, 1.5)
    r2 = _face((40.6, -5.0), (40.6, -3.0), 1.4, 1.5)
    pts = np.concatenate([a, b, r1, r2])
    iso = cluster_points(pts, (0, 0, 0), ClusterParams())
    ell = cluster_points(pts, (0, 0, 0), ClusterParams(tangential=(0.15, 0.008)))
    na, nb, n1 = len(a), len(b), len(r1)
    assert iso[0] == iso[na]  # the round link (0.66 m at 30 m) merges the walls
    assert ell[0] != ell[na]  # the elliptical one (0.39 m across) keeps them apart
    assert ell[na + nb] == ell[na + nb + n1]  # and still joins the roof rings along the line of sight


def _car_sweep(car: Box3D, seen_from_x: float | None = None) -> np.ndarray:
    """Points of the faces of ``car`` (yaw 0) facing the sensor at the origin, above x =
    ``seen_from_x`` only (a camera's field of view), plus the visible ground around."""
    x0, x1 = car.center[0] - car.length / 2, car.center[0] + car.length / 2
    y0 = car.center[1] - car.width / 2
    side = _face((x0, y0), (x1, y0), 0.35, car.height)
    near_end = _face((x0, y0), (x0, y0 + car.width), 0.35, car.height)
    pts = np.concatenate([side, near_end])
    g = _ground(x0 - 6, x1 + 6, y0 - 4, y0 + car.width + 5, [car])
    pts = np.concatenate([pts, g])
    if seen_from_x is not None:
        pts = pts[pts[:, 0] >= seen_from_x]
    return pts


def test_partly_seen_car_grows_into_unseen_space_not_into_free_ground() -> None:
    car = Box3D((10.2, 5.9, 0.75), (4.4, 1.8, 1.5), 0.0)
    # the camera's field of view cuts the car at x = 10: its near 2 m are not in the cloud at all
    pts = _car_sweep(car, seen_from_x=10.0)
    fit = box_from_click(pts, car.center[:2], FlatGround(), class_hint="car")
    assert fit.box is not None and fit.partial
    # grown toward the sensor (where nothing was seen), not away over the visible ground
    assert fit.box.center[0] < 10.6, fit.box
    assert bev_iou(fit.box, car) > 0.75, (fit.box, bev_iou(fit.box, car))


def test_short_car_stops_where_ground_shows() -> None:
    # a small car fully in view (near side and rear seen, ground visible past its far end)
    car = Box3D((9.5, 5.8, 0.7), (3.1, 1.6, 1.4), 0.0)
    pts = _car_sweep(car)
    fit = box_from_click(pts, car.center[:2], FlatGround(), class_hint="car")
    # the default car (4.6 m) would reach 1.5 m over visible ground; the box stops near the end
    assert fit.box is not None and fit.box.length < 3.5, fit.box
    assert bev_iou(fit.box, car) > 0.75


def _person(centre: tuple[float, float], rng: np.random.Generator, n: int = 60) -> np.ndarray:
    """The near half of a 0.25 m radius body seen from the origin, 0.3 to 1.7 m high."""
    c = np.asarray(centre)
    toward = math.atan2(-c[1], -c[0])
    a = toward + rng.uniform(-math.pi / 2, math.pi / 2, n)
    xy = c + 0.25 * np.column_stack([np.cos(a), np.sin(a)])
    return np.column_stack([xy, rng.uniform(0.3, 1.7, n)])


def test_people_walking_together_are_cut_apart() -> None:
    rng = np.random.default_rng(3)
    a, b = (20.0, 3.0), (20.0, 3.75)  # 0.75 m apart, centre to centre
    pa, pb = _person(a, rng), _person(b, rng)
    pts = np.concatenate([pa, pb, _ground(17, 23, 0, 7, [])])
    fit = box_from_click(pts, a, FlatGround(), class_hint="pedestrian")
    assert fit.box is not None
    got = set(fit.indices.tolist())
    assert got <= set(range(len(pa))) and len(got) >= 0.9 * len(pa)
    # the centre lies behind the visible surface, near the body's axis
    assert math.dist(fit.box.center[:2], a) < 0.12, fit.box.center
    # the centroid of the near half-circle is 0.16 m in front of the axis: the box is moved back
    centroid = pa[:, :2].mean(axis=0)
    assert math.dist(fit.box.center[:2], a) < math.dist(centroid, a)


@pytest.mark.parametrize("yaw_deg", [0.0, 35.0, 90.0])
def test_bike_heading_from_its_low_points(yaw_deg: float) -> None:
    rng = np.random.default_rng(int(yaw_deg))
    yaw = math.radians(yaw_deg)
    e = np.array([math.cos(yaw), math.sin(yaw)])
    n = np.array([-e[1], e[0]])
    c = np.array([15.0, -6.0])
    # wheels and frame along the heading below 1 m; the rider's shoulders across it above
    t = rng.uniform(-0.85, 0.85, 120)
    low = np.column_stack([c + np.outer(t, e) + rng.normal(0, 0.03, (120, 2)), rng.uniform(0.3, 1.0, 120)])
    s = rng.uniform(-0.3, 0.3, 60)
    high = np.column_stack([c + np.outer(s, n) + rng.normal(0, 0.03, (60, 2)), rng.uniform(1.1, 1.7, 60)])
    pts = np.concatenate([low, high])
    fit = box_from_click(pts, c, FlatGround(), class_hint="cyclist")
    err = abs((math.degrees(fit.box.yaw - yaw) + 90) % 180 - 90)
    assert err < 5.0, (yaw_deg, math.degrees(fit.box.yaw))


def test_rounded_end_face_gives_the_heading_across_it() -> None:
    """A car 30 m ahead seen nose on, its front rounded (an arc 1.7 m wide, 0.35 m deep, two
    rings) plus a few roof points: the L-shape fit takes the arc for a corner (45 degrees off);
    the end-face rule puts the length along the line of sight, away from the sensor."""
    rng = np.random.default_rng(5)
    yaw = math.radians(10.0)  # the car's heading; the sensor sees its front
    c, s = math.cos(yaw), math.sin(yaw)
    parts = []
    for z, dx in ((0.5, 0.0), (0.8, 0.2)):  # bumper ring and bonnet-level ring behind it
        v = rng.uniform(-0.85, 0.85, 30)
        u = -2.0 + dx + 0.35 * (v / 0.85) ** 2
        parts.append(np.column_stack([u, v, np.full(30, z)]))
    parts.append(np.array([[-0.5, 0.4, 1.4], [0.3, -0.3, 1.45], [-0.2, 0.0, 1.5]]))  # roof
    local = np.vstack(parts)
    centre = np.array([30.0 + 2.0, 0.0])
    pts = np.column_stack([centre[0] + local[:, 0] * c - local[:, 1] * s,
                           centre[1] + local[:, 0] * s + local[:, 1] * c, local[:, 2]])
    truth = Box3D((*centre, 0.75), (4.0, 1.7, 1.5), yaw)
    fit = box_from_click(pts, centre, FlatGround(), class_hint="car")
    err = abs((math.degrees(fit.box.yaw - yaw) + 90.0) % 180.0 - 90.0)
    assert err < 8.0 and fit.box.length > 3.0, (err, fit.box)
    assert bev_iou(fit.box, truth) > 0.6


def test_two_people_shoulder_to_shoulder_are_cut_apart() -> None:
    """Two walkers 0.55 m apart side by side, 20 m away: the clicked one's box sits on that body."""
    rng = np.random.default_rng(6)
    bodies = []
    for y0 in (0.0, 0.55):
        # the near half of a body: an arc 0.4 m wide across the line of sight, 0.3..1.7 m high
        a = rng.uniform(-math.pi / 2, math.pi / 2, 50)
        bodies.append(np.column_stack([20.0 - 0.15 * np.cos(a), y0 + 0.2 * np.sin(a), rng.uniform(0.3, 1.7, 50)]))
    pts = np.vstack(bodies)
    fit = box_from_click(pts, (20.0, 0.0), FlatGround(), class_hint="pedestrian")
    assert set(fit.indices.tolist()) <= set(range(50)) and len(fit.indices) >= 45
    assert abs(fit.box.center[1]) < 0.15


def _striding_walker(c: np.ndarray, heading: float, rng: np.random.Generator) -> np.ndarray:
    """A walker mid-stride headed ``heading`` (rad): legs spread 0.5 m along the heading below
    0.9 m, a 0.3 m deep, 0.45 m wide torso above."""
    e = np.array([math.cos(heading), math.sin(heading)])
    n = np.array([-e[1], e[0]])
    t = rng.uniform(-0.25, 0.25, 80)
    legs = np.column_stack([c + np.outer(t, e) + rng.normal(0, 0.03, (80, 2)), rng.uniform(0.3, 0.9, 80)])
    a, b = rng.uniform(-0.15, 0.15, 60), rng.uniform(-0.22, 0.22, 60)
    torso = np.column_stack([c + np.outer(a, e) + np.outer(b, n), rng.uniform(0.9, 1.6, 60)])
    return np.concatenate([legs, torso])


def test_snap_to_axes() -> None:
    from fusionlabel.assist.fit import snap_to_axes

    for yaw, axes, want in [(0.3, 0.0, 0.0), (1.0, 0.0, math.pi / 2), (-2.5, 0.0, -math.pi), (0.5, 0.4, 0.4),
                            (2.2, 0.4, 0.4 + math.pi / 2)]:
        got = snap_to_axes(yaw, axes)
        assert abs(math.remainder(got - want, 2 * math.pi)) < 1e-9, (yaw, axes, got)


@pytest.mark.parametrize("ego_deg", [0.0, 30.0])
def test_walker_heading_takes_the_nearest_ego_axis(ego_deg: float) -> None:
    """A walker crossing the ego's road 25 degrees off its axis: its stride is headed 25 degrees off
    without the ego heading, along the ego axis with it; a bike keeps its own axis."""
    rng = np.random.default_rng(7)
    ego = math.radians(ego_deg)
    true = ego + math.pi / 2  # crossing the road
    seen = true + math.radians(25.0)  # the stride's direction in this sweep
    c = np.array([12.0, 2.0])
    pts = _striding_walker(c, seen, rng)

    def err(yaw: float, ref: float) -> float:
        return abs((math.degrees(yaw - ref) + 90.0) % 180.0 - 90.0)

    plain = box_from_click(pts, c, FlatGround(), class_hint="pedestrian")
    assert err(plain.box.yaw, seen) < 8.0
    prior = box_from_click(pts, c, FlatGround(), class_hint="pedestrian", ego_yaw=ego)
    assert err(prior.box.yaw, true) < 1e-6, math.degrees(prior.box.yaw)
    assert math.dist(prior.box.center[:2], plain.box.center[:2]) < 1e-9  # the heading only
    # a bike's frame gives a good axis: not snapped
    bike = box_from_click(pts, c, FlatGround(), class_hint="cyclist", ego_yaw=ego)
    assert err(bike.box.yaw, true) > 10.0
