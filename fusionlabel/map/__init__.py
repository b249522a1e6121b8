"""Map elements (the static world in the world frame): lane dividers, road boundaries, stop lines,
pedestrian crossings and drivable area, their geometry helpers, undoable edits
(:mod:`fusionlabel.map.commands`) and QA checks (:mod:`fusionlabel.map.qa`). Qt-free."""

from fusionlabel.map.element import (
    MAP_CLASSES,
    MARK_COLORS,
    MARK_TYPES,
    MapClass,
    MapElement,
    element_from_dict,
    map_class,
)

__all__ = ["MAP_CLASSES", "MARK_COLORS", "MARK_TYPES", "MapClass", "MapElement", "element_from_dict", "map_class"]
