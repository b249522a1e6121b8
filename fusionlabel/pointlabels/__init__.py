"""Per-point semantic and instance labels of LiDAR sweeps (Qt-free; see docs/point_labels.md).

- :mod:`.classes`: the class table (nuScenes-lidarseg indices, SemanticKITTI ids).
- :mod:`.store`: :class:`PointLabels`, lazily loaded per-frame label arrays, memory bounded.
- :mod:`.commands`: undoable edits that keep only the changed indices.
- :mod:`.tools`: fill from boxes, ground and road, BEV lasso / brush, small-cluster cleanup.
- :mod:`.qa`: class / box contradictions and instances split across boxes.
"""

from fusionlabel.pointlabels.classes import NO_INSTANCE, UNLABELLED, ClassTable, PointClass
from fusionlabel.pointlabels.commands import PointEdit, SetPointLabels, label_points
from fusionlabel.pointlabels.store import FrameLabels, LabelSource, PointLabels, instance_of_track, track_of_instance

__all__ = [
    "NO_INSTANCE",
    "UNLABELLED",
    "ClassTable",
    "FrameLabels",
    "LabelSource",
    "PointClass",
    "PointEdit",
    "PointLabels",
    "SetPointLabels",
    "instance_of_track",
    "label_points",
    "track_of_instance",
]
