"""Assisted labelling: ground estimation, one-click boxes, auto-fit, pre-labels with confidence,
a review queue and the detector plug-in (see docs/assist.md). Core: no Qt, no formats."""

from fusionlabel.assist.cluster import ClusterParams, cluster_points, grow_cluster
from fusionlabel.assist.fit import (
    BoxFit,
    ClassGuess,
    auto_fit,
    box_from_click,
    box_from_cluster,
    click_from_ray,
    guess_class,
    lshape_yaw,
    resolve_class,
)
from fusionlabel.assist.ground import GroundModel, fit_ground, flat_ground

__all__ = [
    "BoxFit",
    "ClassGuess",
    "ClusterParams",
    "GroundModel",
    "auto_fit",
    "box_from_click",
    "box_from_cluster",
    "click_from_ray",
    "cluster_points",
    "fit_ground",
    "flat_ground",
    "grow_cluster",
    "guess_class",
    "lshape_yaw",
    "resolve_class",
]
