"""The map assist on an opened sequence: lane-paint (``fusionlabel.map.extract``) and kerb
(``fusionlabel.map.curbs``) proposals from the ground returns of its sweeps, accumulated in the
world frame with the labelled objects' points left out. Used by the window's Map > Extract entries
(a background job) and the map benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fusionlabel.map.curbs import extract_curbs
from fusionlabel.map.extract import MapProposal, accumulate_ground, extract_lane_lines

ASSIST_KINDS = ("lanes", "curbs")
#: Height tolerance (m) round each sweep's fitted ground: 0.1 keeps the road surface (paint); 0.35
#: also a raised sidewalk (a kerb is its step).
GROUND_TOLERANCE = {"lanes": 0.1, "curbs": 0.35}


def sequence_sweeps(loaded: Any, frames: Sequence[int], origins: list[NDArray[np.float64]] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    ) -> Iterator[tuple[NDArray[np.float64], NDArray[np.float64], list[Any]]]:
    """``(points (N, 4) sensor frame x, y, z, intensity, T_world_from_sensor, the frame's labelled
    boxes (world))`` of every LiDAR sweep of ``frames`` of a ``SensorSequence``; each sensor
    position is appended to ``origins``; ``progress(done, total)`` after each frame."""
    doc = loaded.annotations
    for n, i in enumerate(frames):
        for lidar in loaded.lidar_names:
            pc = loaded.read_lidar(i, lidar)
            if pc is None or not len(pc.xyz):
                continue
            inten = pc.fields.get("intensity")
            inten = np.zeros(len(pc.xyz)) if inten is None else np.asarray(inten, dtype=np.float64)
            T = np.asarray(loaded.T_world_from_sensor(i, lidar), dtype=np.float64)
            if origins is not None:
                origins.append(T[:3, 3].copy())
            yield (np.concatenate([np.asarray(pc.xyz, dtype=np.float64), inten[:, None]], axis=1), T,
                   [b.box for b in doc.boxes_at(i)])
        if progress is not None:
            progress(n + 1, len(frames))


def map_assist(loaded: Any, kind: str, frames: Sequence[int], first_id: int = 0,
               progress: Callable[[int, int], None] | None = None) -> list[MapProposal]:
    """Lane-divider (``kind`` "lanes") or kerb (``"curbs"``) proposals from the sweeps of
    ``frames`` of ``loaded``, highest confidence first (world frame)."""
    if kind not in ASSIST_KINDS:
        raise ValueError(f"unknown map assist {kind!r} (one of {', '.join(ASSIST_KINDS)})")
    origins: list[NDArray[np.float64]] = []
    pts = accumulate_ground(sequence_sweeps(loaded, frames, origins, progress), tolerance=GROUND_TOLERANCE[kind])
    if kind == "lanes":
        return extract_lane_lines(pts, first_id=first_id)
    return extract_curbs(pts, first_id=first_id, origins=origins)
