"""One-click on a rider with a post beside it: the post (a thin column rising above the rider) is cut
out of the segment; a rider's own head over its torso is not taken for a post."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fusionlabel.assist import box_from_click
from fusionlabel.assist.fit import DEFAULT_FIT_PARAMS
from fusionlabel.assist.ground import GroundModel


def _rider_from_behind(rng: np.random.Generator, c: np.ndarray, post: bool) -> tuple[np.ndarray, int]:
    """A cyclist 30 m ahead riding away along the line of sight (+x), seen from behind: wheels, frame
    and legs in a thin vertical band along the heading below 1 m, the back and shoulders 0.45 m
    wide above; with ``post``, a sign post 0.45 m beside the bike (0.3 to 2.4 m high, a 0.3 m plate
    on top). Returns (points (N, 3), number of the bike's points, first)."""
    n_low, n_high = 40, 30
    low = np.column_stack([c[0] + rng.uniform(-0.85, 0.2, n_low), c[1] + rng.normal(0, 0.05, n_low),
                           rng.uniform(0.3, 1.0, n_low)])
    high = np.column_stack([c[0] + rng.uniform(-0.3, 0.1, n_high), c[1] + rng.uniform(-0.22, 0.22, n_high),
                            rng.uniform(1.0, 1.7, n_high)])
    bike = np.vstack([low, high])
    if not post:
        return bike, len(bike)
    z = np.arange(0.3, 2.45, 0.12)
    pole = np.column_stack([np.full(len(z), c[0] + 0.1), np.full(len(z), c[1] + 0.45) + rng.normal(0, 0.02, len(z)),
                            z])
    plate = np.column_stack([np.full(6, c[0] + 0.1), c[1] + 0.45 + np.linspace(-0.15, 0.15, 6), np.full(6, 2.3)])
    return np.vstack([bike, pole, plate]), len(bike)


def test_post_beside_a_rider_is_cut_out_and_the_heading_follows_the_bike() -> None:
    rng = np.random.default_rng(11)
    c = np.array([30.0, 0.0])
    pts, n_bike = _rider_from_behind(rng, c, post=True)
    fit = box_from_click(pts, c, GroundModel((0.0, 0.0, 0.0)), class_hint="cyclist")
    assert fit.box is not None
    assert set(fit.indices.tolist()) <= set(range(n_bike)) and len(fit.indices) >= 0.9 * n_bike
    err = abs((math.degrees(fit.box.yaw) + 90.0) % 180.0 - 90.0)  # the true heading is 0 (along x)
    assert err < 10.0, math.degrees(fit.box.yaw)


def test_without_the_post_rule_the_post_stays() -> None:
    """The scene above really needs the rule: with it switched off the post is in the segment."""
    no_rule = replace(DEFAULT_FIT_PARAMS, pole_excess=99.0)
    rng = np.random.default_rng(11)
    c = np.array([30.0, 0.0])
    pts, n_bike = _rider_from_behind(rng, c, post=True)
    fit = box_from_click(pts, c, GroundModel((0.0, 0.0, 0.0)), class_hint="cyclist", fit_params=no_rule)
    assert (fit.indices >= n_bike).sum() > 10


def test_rider_head_is_not_a_post() -> None:
    """A rider seen from the side: the head column rises about 0.25 m above the shoulders and arms;
    nothing is dropped."""
    rng = np.random.default_rng(12)
    c = np.array([15.0, 4.0])
    low = np.column_stack([c[0] + rng.normal(0, 0.04, 80), c[1] + rng.uniform(-0.85, 0.85, 80),
                           rng.uniform(0.3, 1.0, 80)])
    torso = np.column_stack([c[0] + rng.normal(0, 0.04, 40), c[1] + rng.uniform(-0.35, 0.25, 40),
                             rng.uniform(1.0, 1.45, 40)])
    head = np.column_stack([c[0] + rng.normal(0, 0.03, 10), c[1] - 0.1 + rng.normal(0, 0.04, 10),
                            rng.uniform(1.45, 1.72, 10)])
    pts = np.vstack([low, torso, head])
    fit = box_from_click(pts, c, GroundModel((0.0, 0.0, 0.0)), class_hint="cyclist")
    assert len(fit.indices) == len(pts)
