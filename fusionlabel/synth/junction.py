"""The side street's junction paint of a synthetic road: a zebra crossing and a stop line.

Positions are in the side street's coordinates (``Road.side_street_coords``): ``a`` across the
street (m, along the main road's tangent at the junction), ``k`` along it away from the main road's
centreline. The crossing: stripes 0.5 m wide every 1 m, parallel to the street, over |a| <= 6.25
and k in [11, 14] (where the sidewalk crosses the street); the stop line: 0.4 m wide at k = 15.2
over a in [0.2, 6.8] (the lane leaving the street). :func:`junction_paint` is used by
``Road.ground_appearance`` (camera colour and LiDAR reflectivity); the map ground truth
(:mod:`fusionlabel.synth.roadmap`) uses the same constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

CROSSWALK_K = (11.0, 14.0)
CROSSWALK_HALF_WIDTH = 6.25
STRIPE_WIDTH = 0.5
STRIPE_PITCH = 1.0
STOP_LINE_K = 15.2
STOP_LINE_HALF_WIDTH = 0.2
STOP_LINE_A = (0.2, 6.8)


def junction_paint(road: Any, x: F64, y: F64) -> NDArray[np.bool_]:
    """(M,) True where world points (x, y) on the ground lie on the crossing's stripes or the stop
    line (all False without a side street)."""
    if road.side_street_s is None:
        return np.zeros(np.shape(x), dtype=bool)
    a, k = road.side_street_coords(x, y)
    stripes = ((k >= CROSSWALK_K[0]) & (k <= CROSSWALK_K[1]) & (np.abs(a) <= CROSSWALK_HALF_WIDTH)
               & (np.mod(a + CROSSWALK_HALF_WIDTH, STRIPE_PITCH) < STRIPE_WIDTH))
    stop = (np.abs(k - STOP_LINE_K) <= STOP_LINE_HALF_WIDTH) & (a >= STOP_LINE_A[0]) & (a <= STOP_LINE_A[1])
    return stripes | stop
