"""The point-label class table: semantic classes by index, nuScenes-lidarseg compatible.

The default table holds the 32 nuScenes-lidarseg classes at their lidarseg indices (0 ``noise`` ..
31 ``vehicle.ego``), so a label array exports to ``lidarseg/*.bin`` unchanged, plus two finer
classes the synthetic scenes and SemanticKITTI tell apart (32 ``static.manmade.building``, 33
``static.manmade.pole``; both export to nuScenes as ``static.manmade``). Every class carries its
nuScenes-lidarseg name and its SemanticKITTI id (the ``semantic-kitti.yaml`` learning-map ids: 10
car, 40 road, 48 sidewalk, 50 building, 80 pole, ...).

Semantic labels are ``uint8`` arrays: a class index, or :data:`UNLABELLED` (255) for a point no one
labelled. A track's class (an ontology label such as ``car``) maps to a table class through the
ontology's nuScenes category (:meth:`ClassTable.class_for_label`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fusionlabel.errors import ModelError

#: Semantic value of an unlabelled point (outside every class table).
UNLABELLED = 255
#: Instance value of a point that belongs to no instance.
NO_INSTANCE = 0
SEMANTIC_DTYPE = np.uint8
INSTANCE_DTYPE = np.uint16
#: SemanticKITTI id of an unlabelled point.
KITTI_UNLABELLED = 0

#: nuScenes-lidarseg classes in index order: (name, RGB colour of the devkit, SemanticKITTI id).
NUSCENES_LIDARSEG: tuple[tuple[str, tuple[int, int, int], int], ...] = (
    ("noise", (0, 0, 0), 1),
    ("animal", (70, 130, 180), 99),
    ("human.pedestrian.adult", (0, 0, 230), 30),
    ("human.pedestrian.child", (135, 206, 235), 30),
    ("human.pedestrian.construction_worker", (100, 149, 237), 30),
    ("human.pedestrian.personal_mobility", (219, 112, 147), 30),
    ("human.pedestrian.police_officer", (0, 0, 128), 30),
    ("human.pedestrian.stroller", (240, 128, 128), 99),
    ("human.pedestrian.wheelchair", (138, 43, 226), 99),
    ("movable_object.barrier", (112, 128, 144), 51),
    ("movable_object.debris", (210, 105, 30), 99),
    ("movable_object.pushable_pullable", (105, 105, 105), 99),
    ("movable_object.trafficcone", (47, 79, 79), 99),
    ("static_object.bicycle_rack", (188, 143, 143), 52),
    ("vehicle.bicycle", (220, 20, 60), 11),
    ("vehicle.bus.bendy", (255, 127, 80), 13),
    ("vehicle.bus.rigid", (255, 69, 0), 13),
    ("vehicle.car", (255, 158, 0), 10),
    ("vehicle.construction", (233, 150, 70), 20),
    ("vehicle.emergency.ambulance", (255, 83, 0), 20),
    ("vehicle.emergency.police", (255, 215, 0), 10),
    ("vehicle.motorcycle", (255, 61, 99), 15),
    ("vehicle.trailer", (255, 140, 0), 20),
    ("vehicle.truck", (255, 99, 71), 18),
    ("flat.driveable_surface", (0, 207, 191), 40),
    ("flat.other", (175, 0, 75), 49),
    ("flat.sidewalk", (75, 0, 75), 48),
    ("flat.terrain", (112, 180, 60), 72),
    ("static.manmade", (222, 184, 135), 52),
    ("static.other", (255, 228, 196), 99),
    ("static.vegetation", (0, 175, 0), 70),
    ("vehicle.ego", (255, 240, 245), 0),
)
#: Finer classes after the lidarseg ones: (name, colour, SemanticKITTI id, nuScenes-lidarseg name).
EXTRA_CLASSES: tuple[tuple[str, tuple[int, int, int], int, str], ...] = (
    ("static.manmade.building", (200, 160, 110), 50, "static.manmade"),
    ("static.manmade.pole", (150, 150, 160), 80, "static.manmade"),
)
#: SemanticKITTI class names of the ids used above (``semantic-kitti.yaml`` ``labels``).
KITTI_NAMES: dict[int, str] = {
    0: "unlabeled", 1: "outlier", 10: "car", 11: "bicycle", 13: "bus", 15: "motorcycle", 18: "truck",
    20: "other-vehicle", 30: "person", 31: "bicyclist", 32: "motorcyclist", 40: "road", 44: "parking",
    48: "sidewalk", 49: "other-ground", 50: "building", 51: "fence", 52: "other-structure", 70: "vegetation",
    72: "terrain", 80: "pole", 99: "other-object",
}
#: The lidarseg index from which classes are "stuff" (no instances) in nuScenes-panoptic.
NUSCENES_STUFF_START = 24

#: Names of the flat (ground) classes of the default table.
GROUND_CLASSES = ("flat.driveable_surface", "flat.other", "flat.sidewalk", "flat.terrain")


@dataclass(frozen=True)
class PointClass:
    """One semantic class: ``index`` (the uint8 value), ``name``, RGB ``color``, the nuScenes-lidarseg
    name it exports as (``nuscenes``) and its SemanticKITTI id (``kitti``)."""

    index: int
    name: str
    color: tuple[int, int, int]
    nuscenes: str
    kitti: int

    @property
    def is_thing(self) -> bool:
        """Countable objects (have instances): every class that is not ground, structure or noise."""
        return not (self.nuscenes.startswith(("flat.", "static.")) or self.nuscenes in ("noise", "vehicle.ego"))


class ClassTable:
    """Semantic classes by index (at most 255: :data:`UNLABELLED` is reserved).

    ``nuscenes_lut`` / ``kitti_lut`` are (256,) lookup tables from our index to the lidarseg index /
    SemanticKITTI id (unlabelled -> ``noise`` (0) / 0)."""

    def __init__(self, classes: Iterable[PointClass]) -> None:
        self.classes: tuple[PointClass, ...] = tuple(sorted(classes, key=lambda c: c.index))
        if len(self.classes) > UNLABELLED:
            raise ModelError(f"class table: at most {UNLABELLED} classes, got {len(self.classes)}")
        self._by_name: dict[str, PointClass] = {}
        for c in self.classes:
            if not 0 <= c.index < UNLABELLED:
                raise ModelError(f"class table: index {c.index} of {c.name!r} outside 0..{UNLABELLED - 1}")
            if c.name in self._by_name:
                raise ModelError(f"class table: duplicate class name {c.name!r}")
            self._by_name[c.name] = c
        if len({c.index for c in self.classes}) != len(self.classes):
            raise ModelError("class table: duplicate class index")
        lidarseg = {name: i for i, (name, _, _) in enumerate(NUSCENES_LIDARSEG)}
        self.nuscenes_lut = np.zeros(256, dtype=np.uint8)
        self.kitti_lut = np.full(256, KITTI_UNLABELLED, dtype=np.uint32)
        self.colors = np.full((256, 3), 128, dtype=np.uint8)
        for c in self.classes:
            if c.nuscenes not in lidarseg:
                raise ModelError(f"class table: {c.name!r} exports as {c.nuscenes!r}, not a nuScenes-lidarseg class")
            self.nuscenes_lut[c.index] = lidarseg[c.nuscenes]
            if not (0 <= int(c.kitti) < 2**16 and len(c.color) == 3 and all(0 <= int(v) <= 255 for v in c.color)):
                raise ModelError(f"class table: {c.name!r}: SemanticKITTI id {c.kitti!r} or colour {c.color!r} out of "
                                 "range (id 0..65535, colour 3 x 0..255)")
            self.kitti_lut[c.index] = c.kitti
            self.colors[c.index] = c.color

    @classmethod
    def default(cls) -> ClassTable:
        """The 32 nuScenes-lidarseg classes at their indices plus the building and pole classes."""
        classes = [PointClass(i, n, col, n, k) for i, (n, col, k) in enumerate(NUSCENES_LIDARSEG)]
        base = len(classes)
        classes += [PointClass(base + i, n, col, nus, k) for i, (n, col, k, nus) in enumerate(EXTRA_CLASSES)]
        return cls(classes)

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self) -> Iterator[PointClass]:
        return iter(self.classes)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def index(self, name: str) -> int:
        """The index of class ``name``; ModelError when the table has none."""
        c = self._by_name.get(name)
        if c is None:
            raise ModelError(f"no point class {name!r} in the class table")
        return c.index

    def by_index(self, index: int) -> PointClass:
        for c in self.classes:
            if c.index == index:
                return c
        raise ModelError(f"no point class with index {index}")

    def name(self, index: int) -> str:
        return "unlabelled" if index == UNLABELLED else self.by_index(index).name

    def class_for_label(self, label: str, ontology: Any = None) -> int | None:
        """The class index for a track class ``label``: the label itself when it names a class,
        else its nuScenes category through ``ontology`` (default: the default ontology): the
        ontology class of that name, of that name in lower case, or the class a KITTI type maps to
        (datasets that keep their own names: SUSTechPOINTS ``Car``, KITTI ``Pedestrian``); None
        when none gives a class of the table."""
        if label in self._by_name:
            return self._by_name[label].index
        if ontology is None:
            from fusionlabel.ontology import Ontology

            ontology = Ontology.default()
        spec = ontology.get(label) or ontology.get(label.lower()) or ontology.from_kitti(label)
        cat = spec.nuscenes if spec is not None else None
        if cat is not None and cat in self._by_name:
            return self._by_name[cat].index
        return None

    def thing_mask(self) -> NDArray[np.bool_]:
        """(256,) True for the indices of thing (instance) classes."""
        m = np.zeros(256, dtype=bool)
        for c in self.classes:
            m[c.index] = c.is_thing
        return m

    def to_nuscenes(self, semantic: NDArray[np.integer]) -> NDArray[np.uint8]:
        """Our semantic array -> nuScenes-lidarseg indices (unlabelled -> 0 ``noise``)."""
        return self.nuscenes_lut[np.asarray(semantic, dtype=np.uint8)]

    def from_nuscenes(self, lidarseg: NDArray[np.integer]) -> NDArray[np.uint8]:
        """nuScenes-lidarseg indices -> ours (the first class of the table exporting as that name)."""
        lut = np.full(256, UNLABELLED, dtype=np.uint8)
        for c in reversed(self.classes):
            lut[self.nuscenes_lut[c.index]] = c.index
        return lut[np.asarray(lidarseg, dtype=np.uint8)]

    def to_kitti(self, semantic: NDArray[np.integer]) -> NDArray[np.uint32]:
        """Our semantic array -> SemanticKITTI ids (unlabelled -> 0)."""
        return self.kitti_lut[np.asarray(semantic, dtype=np.uint8)]

    def kitti_inverse(self) -> dict[int, int]:
        """SemanticKITTI id -> our index, for the ids this table writes; exact for a table whose
        classes have distinct ids, else the first class of the table with that id."""
        out: dict[int, int] = {}
        for c in self.classes:
            out.setdefault(int(c.kitti), c.index)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"classes": [{"index", "name", "color", "nuscenes", "kitti"}]}``."""
        return {"classes": [{"index": c.index, "name": c.name, "color": list(c.color), "nuscenes": c.nuscenes,
                             "kitti": c.kitti} for c in self.classes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassTable:
        """From :meth:`to_dict`; ModelError naming the bad entry."""
        if not isinstance(data, Mapping) or not isinstance(data.get("classes"), list):
            raise ModelError("class table: expected {'classes': [...]}")
        out = []
        for i, c in enumerate(data["classes"]):
            try:
                out.append(PointClass(int(c["index"]), str(c["name"]), tuple(int(v) for v in c["color"]),  # type: ignore[arg-type]
                                      str(c["nuscenes"]), int(c["kitti"])))
            except (KeyError, TypeError, ValueError) as e:
                raise ModelError(f"class table: classes[{i}]: {e!r}") from None
        return cls(out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClassTable) and self.classes == other.classes

    __hash__ = None  # type: ignore[assignment]
