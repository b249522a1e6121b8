"""Structure cues for pre-labels: what tells a wall, a pole or a tree crown from a road user.

All functions work in one z-up frame (the **world** frame of pre-labelling) with metres; the
sensor's own axes enter only through ``R_frame_from_sensor`` (3, 3), used to measure elevation
angles about the sensor (a spinning LiDAR's rings are cones of constant elevation in its frame).

Cues, each physical and measured per cluster (see ``docs/assist.md``, pre-labels):

- **Top not seen** (:attr:`ClusterCues.top_unseen`): the sensor's highest ring hits the cluster
  (its top is cut by the vertical field of view), or the points go on above the height limit of the
  segmentation in the cluster's own columns. The visible height is then only a lower bound: a
  0.3 m pole cut at 2.0 m or a wall cut at 2.3 m is not explained by a person's or a car's height.
- **A single thin vertical plane** (:attr:`ClusterCues.wall`): the top is not seen, the cluster is
  longer than any candidate class is wide, and across its principal axis it is thinner than
  ``WALL_THICKNESS`` (a wall or a fence seen face on; a vehicle's side with its top not seen shows
  at least a corner or a roof edge).
- **A pole** (a person or a bike guess whose top is not seen): a person's head, the top, is always
  below the highest ring except right beside the sensor.
- **A crown on a trunk** (:attr:`ClusterCues.top_heavy`, clusters over ``TOP_HEAVY_MIN_TOP``): the
  points up to ``SUPPORT_BAND`` above the ground span a small share of the cluster's length (a
  vehicle stands on wheels at both ends, a side or an end face reaches down to the ground).
- **Floating** (:attr:`ClusterCues.floating`): the lowest point is over ``FLOAT_BOTTOM`` above the
  ground (a tree crown, an awning, a sign board): a road user reaches down to the ground, and a
  sensor 1.7-2 m high never sees only the part of one above 2 m behind an ordinary occluder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

#: points within this many degrees below the highest ring's elevation are on that ring
TOP_RING_TOL_DEG = 0.2
#: at least this many points of a cluster on the highest ring make its top unseen
TOP_RING_MIN_POINTS = 3
#: the highest ring: the highest elevation with this many returns within ``TOP_RING_SPREAD_DEG`` below
TOP_RING_SUPPORT = 20
TOP_RING_SPREAD_DEG = 0.15
#: BEV cell (m) of the "goes on above the height limit" test and the band above the limit looked at
HIGH_CELL = 0.3
HIGH_BAND = 2.0
#: the cluster must reach this close (m) to the height limit in a column that goes on above it
HIGH_REACH = 0.5
#: share of the cluster's columns that must go on above the limit
HIGH_SHARE = 0.1
#: a wall: thinner than this (m) across its principal axis (2.5-97.5% of the points)
WALL_THICKNESS = 0.25
#: score factors of the cues that do not change the class guess
WALL_FACTOR = 0.3
FLOAT_BOTTOM = 2.0
FLOAT_FACTOR = 0.3
#: a person or a bike whose top is not seen: a pole, a trunk, a column
POLE_FACTOR = 0.3
#: a crown on a trunk: the points up to SUPPORT_BAND m above the ground span less than SUPPORT_SHARE
#: of the cluster's length (at least SUPPORT_MIN_EXTENT m) along its principal axis
SUPPORT_BAND = 1.0
SUPPORT_SHARE = 0.35
SUPPORT_MIN_EXTENT = 1.5
TOP_HEAVY_MIN_TOP = 2.5
TOP_HEAVY_FACTOR = 0.3


def elevations_deg(points: ArrayLike, origin: ArrayLike, R_frame_from_sensor: ArrayLike | None = None) -> F64:
    """(N,) elevation angles (degrees) of (N, 3) points about the sensor at ``origin`` (3,), in the
    sensor's axes (``R_frame_from_sensor`` (3, 3) rotates sensor axes into the points' frame; None:
    the same axes)."""
    d = np.asarray(points, dtype=np.float64).reshape(-1, 3) - np.asarray(origin, dtype=np.float64).reshape(3)
    if R_frame_from_sensor is not None:
        d = d @ np.asarray(R_frame_from_sensor, dtype=np.float64).reshape(3, 3)  # = (R^T d^T)^T
    return np.degrees(np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1])))


def top_ring_elevation(elev_deg: ArrayLike, support: int = TOP_RING_SUPPORT,
                       spread: float = TOP_RING_SPREAD_DEG) -> float | None:
    """Elevation (degrees) of the sensor's highest ring from a sweep's elevations: the highest one
    with at least ``support`` returns within ``spread`` degrees below it (stray returns above the
    ring do not count). None when the sweep has too few points."""
    e = np.sort(np.asarray(elev_deg, dtype=np.float64).reshape(-1))[::-1]
    if len(e) < support:
        return None
    ok = (e[:-support + 1] - e[support - 1:]) <= spread if support > 1 else np.ones(len(e), bool)
    if not ok.any():
        return None
    return float(e[int(np.argmax(ok))])


@dataclass(frozen=True)
class ClusterCues:
    """Structure cues of one cluster (see the module doc)."""

    top_unseen: bool = False
    wall: bool = False
    floating: bool = False
    #: the height (m above the ground) the object reaches at least when its top is not seen
    min_height: float | None = None
    top_heavy: bool = False

    def factor(self, small: bool) -> float:
        """Score factor of the cues that the class guess does not already weigh; ``small``: the
        guessed class is a person or a bike (whose head, the top, is always seen)."""
        f = WALL_FACTOR if self.wall else 1.0
        f *= FLOAT_FACTOR if self.floating else 1.0
        f *= POLE_FACTOR if small and self.top_unseen else 1.0
        f *= TOP_HEAVY_FACTOR if self.top_heavy and not small else 1.0
        return f


class SweepCues:
    """Per-sweep data for :meth:`cues`: the elevation of every segmented point (N,) and of the top
    ring, and the BEV cells holding points just above the height limit.

    ``points`` (N, 3): the segmented (non-ground) points of the sweep, ``height`` (N,) their height
    above the ground; ``high_points`` (M, 3): the points from ``limit`` to ``limit + HIGH_BAND``
    above the ground, ``high_height`` (M,) their height; ``top_elev`` the highest ring's elevation
    (None: unknown, no field-of-view cue)."""

    def __init__(self, points: ArrayLike, height: ArrayLike, elev_deg: ArrayLike, top_elev: float | None,
                 high_points: ArrayLike, high_height: ArrayLike, limit: float) -> None:
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        self.height = np.asarray(height, dtype=np.float64).reshape(-1)
        self.elev = np.asarray(elev_deg, dtype=np.float64).reshape(-1)
        self.top_elev = top_elev
        self.limit = float(limit)
        hp = np.asarray(high_points, dtype=np.float64).reshape(-1, 3)
        hh = np.asarray(high_height, dtype=np.float64).reshape(-1)
        self.high_keys = np.zeros(0, np.int64)
        self.high_top = np.zeros(0)
        if len(hp):
            self.high_keys, inv = np.unique(_cell_keys(hp[:, :2]), return_inverse=True)
            self.high_top = np.full(len(self.high_keys), -np.inf)
            np.maximum.at(self.high_top, inv.reshape(-1), hh)

    def cues(self, idx: NDArray[np.intp], max_width: float) -> ClusterCues:
        """Cues of the cluster ``idx`` (indices into ``points``); ``max_width`` (m): the widest any
        candidate class is (a longer thin plane is a wall)."""
        p, h = self.points[idx], self.height[idx]
        if len(p) == 0:
            return ClusterCues()
        top = float(np.percentile(h, 99.5)) if len(h) > 50 else float(h.max())
        min_height = None
        if self.top_elev is not None:
            if int((self.elev[idx] >= self.top_elev - TOP_RING_TOL_DEG).sum()) >= TOP_RING_MIN_POINTS:
                min_height = top
        if len(self.high_keys):
            reach = h >= self.limit - HIGH_REACH
            if reach.any():
                cols = np.unique(_cell_keys(p[:, :2]))
                up = np.unique(_cell_keys(p[reach, :2]))
                pos = np.clip(np.searchsorted(self.high_keys, up), 0, len(self.high_keys) - 1)
                hit = self.high_keys[pos] == up
                if hit.sum() >= max(1, math.ceil(HIGH_SHARE * len(cols))):
                    min_height = max(top, float(self.high_top[pos[hit]].max()))
        top_unseen = min_height is not None
        wall = top_heavy = False
        if top_unseen and len(p) >= 5:
            xy = p[:, :2] - p[:, :2].mean(axis=0)
            _, vec = np.linalg.eigh(xy.T @ xy)
            along, across = xy @ vec[:, 1], xy @ vec[:, 0]
            length = float(np.percentile(along, 97.5) - np.percentile(along, 2.5))
            thick = float(np.percentile(across, 97.5) - np.percentile(across, 2.5))
            wall = length > max_width + 0.3 and thick < WALL_THICKNESS
        if len(p) >= 10 and top > TOP_HEAVY_MIN_TOP:
            # a crown on a trunk: the part near the ground is much narrower than the whole (only for
            # clusters taller than a car: a car behind another shows only its upper part)
            xy = p[:, :2] - p[:, :2].mean(axis=0)
            _, vec = np.linalg.eigh(xy.T @ xy)
            along = xy @ vec[:, 1]
            full = float(np.percentile(along, 97.5) - np.percentile(along, 2.5))
            low = h <= SUPPORT_BAND
            if full >= SUPPORT_MIN_EXTENT and low.sum() >= 3:
                top_heavy = float(np.ptp(along[low])) < SUPPORT_SHARE * full
        floating = float(h.min()) > FLOAT_BOTTOM
        return ClusterCues(bool(top_unseen), bool(wall), bool(floating), min_height, bool(top_heavy))


def _cell_keys(xy: F64) -> NDArray[np.int64]:
    c = np.floor(np.asarray(xy, dtype=np.float64) / HIGH_CELL).astype(np.int64)
    return c[:, 0] * 4_000_003 + c[:, 1]
