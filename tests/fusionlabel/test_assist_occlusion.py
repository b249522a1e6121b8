"""One-click on a walker with a companion walking behind it, partly hidden by it: the occluding
contour (the range steps back at one bearing on the rings from the legs to the shoulders) cuts the
companion off; one body with a long stride and a swinging arm is not cut. Sweeps are ray-cast from
a spinning LiDAR (rings at fixed elevations, fixed azimuth steps) against vertical cylinders."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from fusionlabel.assist import box_from_click
from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS, resolve_class
from fusionlabel.assist.fit.small import cut_occluded
from fusionlabel.assist.ground import GroundModel
from fusionlabel.ontology import Ontology

SENSOR = np.array([0.0, 0.0, 1.73])  # a car-roof LiDAR over flat ground (z = 0)


def _cast(cylinders: list[tuple[float, float, float, float, float]], az_range: tuple[float, float]) -> tuple:
    """Ray-cast a spinning LiDAR (64 rings from -8 to +2 degrees, 0.09 degree azimuth steps within
    ``az_range`` degrees) against vertical cylinders (cx, cy, radius, z0, z1) and the ground z = 0.
    Returns (points (N, 3), index of the cylinder each point hit, -1 for the ground)."""
    el = np.radians(np.linspace(-8.0, 2.0, 64))
    az = np.radians(np.arange(az_range[0], az_range[1], 0.09))
    E, A = np.meshgrid(el, az, indexing="ij")
    d = np.stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)], axis=-1).reshape(-1, 3)
    best = np.full(len(d), np.inf)
    hit = np.full(len(d), -2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tg = np.where(d[:, 2] < 0, -SENSOR[2] / d[:, 2], np.inf)
    best, hit = np.where(tg < best, tg, best), np.where(tg < best, -1, hit)
    d2 = d[:, :2]
    a = (d2 ** 2).sum(axis=1)
    for k, (cx, cy, r, z0, z1) in enumerate(cylinders):
        oc = SENSOR[:2] - np.array([cx, cy])
        b = 2.0 * d2 @ oc
        c = oc @ oc - r * r
        disc = b * b - 4 * a * c
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / (2 * a)
        z = SENSOR[2] + t * d[:, 2]
        ok = (disc > 0) & (t > 0) & (z >= z0) & (z <= z1) & (t < best)
        best, hit = np.where(ok, t, best), np.where(ok, k, hit)
    keep = np.isfinite(best) & (best < 60.0)
    return SENSOR + best[keep, None] * d[keep], hit[keep]


def _walker(x: float, y: float) -> list[tuple[float, float, float, float, float]]:
    """A person standing at (x, y): legs, torso, head as cylinders."""
    return [(x, y - 0.1, 0.08, 0.0, 0.85), (x, y + 0.1, 0.08, 0.0, 0.85), (x, y, 0.2, 0.85, 1.5),
            (x, y, 0.1, 1.5, 1.75)]


def _pair_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A walker 24 m ahead (+x) and a companion 0.45 m behind it and 0.3 m to its side, partly
    hidden by it (torso steps of 0.3-0.35 m: the rule's threshold is 0.3, so a companion closer
    behind is not cut by it). Returns (points, True for the front walker's points, True for the
    companion's)."""
    front, back = _walker(24.0, 0.0), _walker(24.45, 0.3)
    pts, hit = _cast(front + back, (-2.0, 2.5))
    above = pts[:, 2] >= 0.3  # one-click with a class segments the points above kerb height
    return pts, (hit >= 0) & (hit < 4) & above, (hit >= 4) & above


def test_companion_behind_a_walker_is_cut_off() -> None:
    pts, front, back = _pair_scene()
    assert back.sum() >= 20 and front.sum() >= 40  # the companion is partly seen
    fit = box_from_click(pts, (24.0, 0.0), GroundModel((0.0, 0.0, 0.0)), class_hint="pedestrian", origin=SENSOR)
    got = fit.indices
    assert not back[got].any(), int(back[got].sum())
    assert front[got].sum() >= 0.9 * front.sum()
    assert math.dist(fit.box.center[:2], (24.0, 0.0)) < 0.15, fit.box.center
    # a click on the companion keeps the companion
    fit_b = box_from_click(pts, (24.45, 0.3), GroundModel((0.0, 0.0, 0.0)), class_hint="pedestrian",
                           origin=SENSOR)
    assert back[fit_b.indices].all() and back[fit_b.indices].sum() >= 0.9 * back.sum()


def test_without_the_contour_rule_the_companion_stays() -> None:
    """The scene above really needs the rule: switched off, companion points join the segment."""
    no_rule = replace(DEFAULT_FIT_PARAMS, occlusion_min_rings=999)
    pts, _, back = _pair_scene()
    fit = box_from_click(pts, (24.0, 0.0), GroundModel((0.0, 0.0, 0.0)), class_hint="pedestrian", origin=SENSOR,
                         fit_params=no_rule)
    assert back[fit.indices].sum() >= 5


@pytest.mark.parametrize("walk_deg", [0.0, 30.0, 90.0])
def test_one_walker_with_a_stride_and_a_swinging_arm_is_not_cut(walk_deg: float) -> None:
    """One body 20 m ahead walking at ``walk_deg`` to the line of sight: legs 0.6 m apart along the
    walking direction, an arm swung 0.3 m forward on one side and one 0.3 m back on the other."""
    w = math.radians(walk_deg)
    e = np.array([math.cos(w), math.sin(w)])  # walking direction
    n = np.array([-e[1], e[0]])
    c = np.array([20.0, 1.0])
    parts = []
    for along, side, r, z0, z1 in ((0.3, 0.1, 0.08, 0.0, 0.85), (-0.3, -0.1, 0.08, 0.0, 0.85),  # legs
                                   (0.0, 0.0, 0.17, 0.85, 1.5), (0.0, 0.0, 0.1, 1.5, 1.75),  # torso, head
                                   (-0.3, 0.25, 0.05, 0.8, 1.35), (0.3, -0.25, 0.05, 0.8, 1.35)):  # arms
        q = c + along * e + side * n
        parts.append((float(q[0]), float(q[1]), r, z0, z1))
    pts, hit = _cast(parts, (-0.5, 6.0))
    body = np.flatnonzero((hit >= 0) & (pts[:, 2] >= 0.3))
    q = pts[body]
    sel = cut_occluded(pts, body, tuple(c), SENSOR, GroundModel((0.0, 0.0, 0.0)),
                       resolve_class(Ontology.default(), "pedestrian"))
    assert len(q) >= 60 and np.array_equal(sel, body)
