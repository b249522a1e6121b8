"""Exact per-point semantic classes of synthetic LiDAR sweeps.

Every return of a :class:`~fusionlabel.synth.lidar.LidarSweep` gets the class of what the ray hit,
as an index of a :class:`~fusionlabel.pointlabels.classes.ClassTable` (default: nuScenes-lidarseg
indices): a labelled object its track class (``car`` -> ``vehicle.car``, ``pedestrian`` ->
``human.pedestrian.adult``, ``cyclist`` -> ``vehicle.bicycle``), a building wall
``static.manmade.building``, a pole ``static.manmade.pole``; a ground return its road zone at the
hit's world (x, y): ``flat.driveable_surface`` on the lanes, bike lanes, parking strips and the side
street, ``flat.sidewalk`` on the sidewalks, ``flat.terrain`` beyond (the grass strip).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from fusionlabel.pointlabels.classes import UNLABELLED, ClassTable
from fusionlabel.synth.lidar import LidarSweep
from fusionlabel.synth.road import PARKING_EDGE, SIDEWALK_EDGE, Road
from fusionlabel.synth.scene import SceneObject

STRUCTURE_CLASSES = {"building": "static.manmade.building", "pole": "static.manmade.pole"}


def object_classes(objects: list[SceneObject], table: ClassTable) -> NDArray[np.uint8]:
    """(P,) class index of every primitive of ``primitives_at(objects, t)`` (parts in object order)."""
    per_object = []
    for ob in objects:
        if ob.label is not None:
            c = table.class_for_label(ob.label)
        else:
            c = table.index(STRUCTURE_CLASSES[ob.semantic]) if ob.semantic in STRUCTURE_CLASSES else None
        per_object.append(UNLABELLED if c is None else c)
    counts = [len(ob.parts) for ob in objects]
    return np.repeat(np.asarray(per_object, dtype=np.uint8), counts)


def ground_classes(road: Road, xy_world: NDArray[np.float64], table: ClassTable) -> NDArray[np.uint8]:
    """(M,) class of ground returns at world (x, y) (M, 2) metres (module doc)."""
    _, d = road.to_road(xy_world[:, 0], xy_world[:, 1])
    ad = np.abs(d)
    out = np.full(len(xy_world), table.index("flat.terrain"), dtype=np.uint8)
    out[ad < SIDEWALK_EDGE] = table.index("flat.sidewalk")
    drive = (ad < PARKING_EDGE) | road.in_side_street(xy_world[:, 0], xy_world[:, 1])
    out[drive] = table.index("flat.driveable_surface")
    return out


def sweep_semantics(sweep: LidarSweep, T_world_from_lidar: NDArray[np.float64], objects: list[SceneObject],
                    road: Road, table: ClassTable | None = None) -> NDArray[np.uint8]:
    """(N,) uint8 class of every return of ``sweep`` (cast with ``primitives_at(objects, t)`` from
    the pose ``T_world_from_lidar`` (4, 4))."""
    if sweep.part is None:
        raise ValueError("the sweep carries no part ids (cast it with fusionlabel.synth.lidar.cast_sweep)")
    table = table or ClassTable.default()
    part = np.asarray(sweep.part)
    out = np.empty(len(part), dtype=np.uint8)
    hit = part >= 0
    out[hit] = object_classes(objects, table)[part[hit]]
    g = ~hit
    if g.any():
        p = sweep.points[g, :3].astype(np.float64)
        xy = p @ T_world_from_lidar[:2, :3].T + T_world_from_lidar[:2, 3]
        out[g] = ground_classes(road, xy, table)
    return out
