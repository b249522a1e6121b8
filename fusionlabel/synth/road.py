"""The road of a synthetic scene: a circular arc with lanes, and its ground texture.

The road centreline starts at the world origin heading +x and turns with a constant radius
``radius`` (metres) to the left (``turn = +1``) or to the right (``turn = -1``). Road coordinates
are ``s`` (arc length along the centreline, metres) and ``d`` (lateral offset, metres, positive to
the left of the driving direction). The ground is the plane ``z = 0`` of the world frame.

Cross-section (|d| in metres, mirrored on both sides): driving lanes 0-3.5 and 3.5-7 (lane centres
1.75 and 5.25; traffic drives on the right, so ``d < 0`` lanes go with increasing ``s``), bike lane
7-8.5, parking strip 8.5-10.5, sidewalk 10.5-14.5, building walls from 15. An optional side
street leaves the road to the right (``d < 0``) at ``s = side_street_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fusionlabel.synth.junction import junction_paint

F64 = NDArray[np.float64]

LANE_WIDTH = 3.5
ROAD_EDGE = 7.0
BIKE_EDGE = 8.5
PARKING_EDGE = 10.5
SIDEWALK_EDGE = 14.5
WALL_OFFSET = 15.0
SIDE_STREET_HALF_WIDTH = 7.0

_ZONE_EDGES = np.array([ROAD_EDGE, BIKE_EDGE, PARKING_EDGE, SIDEWALK_EDGE])
_ZONE_COLORS = np.array(
    [
        (72, 72, 76),  # asphalt
        (150, 80, 70),  # bike lane
        (98, 98, 100),  # parking strip
        (165, 162, 155),  # sidewalk
        (86, 120, 64),  # grass
        (124, 122, 116),  # sidewalk joint
        (230, 190, 40),  # yellow centre line
        (235, 235, 235),  # white lines
    ],
    dtype=np.float32,
)
_ZONE_REFL = np.array([0.08, 0.14, 0.10, 0.22, 0.30, 0.20, 0.65, 0.65], dtype=np.float32)


@dataclass(frozen=True)
class Road:
    """Circular road of ``radius`` m turning ``turn`` (+1 left, -1 right) with an optional side
    street to the right at arc length ``side_street_s`` (None for none)."""

    radius: float
    turn: int
    side_street_s: float | None = None

    # ---- road <-> world --------------------------------------------------------------------
    def to_world(self, s: ArrayLike, d: ArrayLike) -> F64:
        """Road coordinates (s, d) (broadcast arrays, m) -> world xy, shape (..., 2)."""
        s = np.asarray(s, dtype=np.float64)
        dp = self.turn * np.asarray(d, dtype=np.float64)
        phi = s / self.radius
        r = self.radius - dp
        x = r * np.sin(phi)
        y = (self.radius - r * np.cos(phi)) * self.turn
        return np.stack(np.broadcast_arrays(x, y), axis=-1)

    def to_road(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        """World xy (broadcast arrays, m) -> road coordinates (s, d) in metres."""
        x = np.asarray(x, dtype=np.float64)
        yp = self.turn * np.asarray(y, dtype=np.float64)
        rx, ry = x, yp - self.radius
        r = np.hypot(rx, ry)
        phi = np.arctan2(rx, -ry)
        return phi * self.radius, (self.radius - r) * self.turn

    def heading(self, s: ArrayLike) -> F64:
        """Heading (yaw about +z, rad) of the centreline at arc length ``s``."""
        return self.turn * np.asarray(s, dtype=np.float64) / self.radius

    def tangent_normal(self, s: float) -> tuple[F64, F64]:
        """Unit tangent and left normal (2,) of the centreline at ``s``."""
        h = float(self.heading(s))
        return np.array([np.cos(h), np.sin(h)]), np.array([-np.sin(h), np.cos(h)])

    # ---- side street -------------------------------------------------------------------------
    def side_street_coords(self, x: ArrayLike, y: ArrayLike) -> tuple[F64, F64]:
        """World xy -> (a, k): ``a`` the signed distance from the side street's axis along the road
        tangent at the junction, ``k`` the distance along the street away from the centreline."""
        assert self.side_street_s is not None
        c = self.to_world(self.side_street_s, 0.0)
        t, n = self.tangent_normal(self.side_street_s)
        px = np.asarray(x, dtype=np.float64) - c[0]
        py = np.asarray(y, dtype=np.float64) - c[1]
        return px * t[0] + py * t[1], -(px * n[0] + py * n[1])

    def in_side_street(self, x: ArrayLike, y: ArrayLike, margin: float = 0.0) -> NDArray[np.bool_]:
        """Whether world xy lies on the side street's carriageway (beyond the bike lane)."""
        if self.side_street_s is None:
            return np.zeros(np.broadcast(np.asarray(x), np.asarray(y)).shape, dtype=bool)
        a, k = self.side_street_coords(x, y)
        return (np.abs(a) < SIDE_STREET_HALF_WIDTH + margin) & (k > BIKE_EDGE - margin)

    # ---- appearance ------------------------------------------------------------------------
    def ground_appearance(self, x: F64, y: F64) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Ground colour (M, 3) RGB float32 in [0, 255] and LiDAR reflectivity (M,) in [0, 1] at
        world points (x, y) on the plane z = 0.

        Asphalt, lane markings, bike lane, parking strip, sidewalk tiles and grass, modulated by a
        world-aligned 2 m checker and dark grid lines every 5 m so that motion and box placement
        are easy to judge in the images."""
        s, d = self.to_road(x, y)
        ad = np.abs(d)
        n = x.shape[0]
        # zone index: 0 road, 1 bike lane, 2 parking, 3 sidewalk, 4 grass, 5 joint, 6 yellow, 7 white
        zone = np.searchsorted(_ZONE_EDGES, ad, side="right").astype(np.int8)
        if self.side_street_s is not None:
            a, k = self.side_street_coords(x, y)
            aa = np.abs(a)
            street_zone = aa < SIDE_STREET_HALF_WIDTH + 0.5
            street = (aa < SIDE_STREET_HALF_WIDTH) & (k > BIKE_EDGE) & (ad >= ROAD_EDGE)
            zone[street] = 0
            junction = street_zone & (k > ROAD_EDGE - 0.5) & (d < -ROAD_EDGE + 0.5)
        else:
            junction = np.zeros(n, dtype=bool)
        # sidewalk tiles: darker joints every 1.5 m along s and at the kerb
        zone[(zone == 3) & ((np.mod(s, 1.5) < 0.06) | (ad < PARKING_EDGE + 0.15))] = 5
        # lane markings (not inside the junction)
        near_line = (ad < ROAD_EDGE + 0.1) & ~junction
        zone[near_line & (np.abs(ad - 0.15) < 0.06)] = 6
        white = (np.abs(ad - ROAD_EDGE) < 0.08) | ((np.abs(ad - LANE_WIDTH) < 0.07) & (np.mod(s, 9.0) < 3.0))
        zone[near_line & white] = 7
        zone[junction_paint(self, x, y)] = 7  # the side street's crossing and stop line
        # world-aligned 2 m checker and 5 m grid lines
        gain = np.where((np.floor(x * 0.5) + np.floor(y * 0.5)) % 2 == 0, 1.10, 1.0).astype(np.float32)
        grid = (np.abs(x - 5.0 * np.round(x * 0.2)) < 0.04) | (np.abs(y - 5.0 * np.round(y * 0.2)) < 0.04)
        gain[grid] *= 0.55
        col = _ZONE_COLORS[zone] * gain[:, None]
        np.clip(col, 0, 255, out=col)
        refl = _ZONE_REFL[zone]
        return col, refl
