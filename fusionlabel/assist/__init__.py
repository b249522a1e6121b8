"""Assisted labelling: ground estimation, one-click boxes, auto-fit, pre-labels with confidence,
a review queue and the detector plug-in (see docs/assist.md). Core: no Qt, no formats."""

from fusionlabel.assist.cluster import ClusterParams, cluster_points, grow_cluster
from fusionlabel.assist.detectors import (
    ENTRY_POINT_GROUP,
    DetectorError,
    available_detectors,
    load_detector,
    to_detections,
)
from fusionlabel.assist.fit import (
    BoxFit,
    ClassGuess,
    auto_fit,
    box_from_click,
    box_from_cluster,
    click_from_ray,
    guess_class,
    heading_from_motion,
    lshape_yaw,
    resolve_class,
)
from fusionlabel.assist.ground import GroundModel, fit_ground, flat_ground
from fusionlabel.assist.metrics import PrelabelScore, evaluate_prelabels
from fusionlabel.assist.motion import MotionEstimate, class_kind, estimate_motion
from fusionlabel.assist.prelabel import (
    Detection,
    FrameInput,
    PrelabelParams,
    PrelabelResult,
    associate,
    cluster_detections,
    frames_from_sequence,
    prelabel,
)
from fusionlabel.assist.review import (
    AcceptProposal,
    EditProposal,
    RejectProposal,
    ReviewQueue,
    SetProposals,
    proposals_apart_from,
    set_prelabels,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "AcceptProposal",
    "Detection",
    "DetectorError",
    "EditProposal",
    "FrameInput",
    "PrelabelParams",
    "PrelabelResult",
    "PrelabelScore",
    "RejectProposal",
    "ReviewQueue",
    "SetProposals",
    "associate",
    "available_detectors",
    "cluster_detections",
    "evaluate_prelabels",
    "frames_from_sequence",
    "load_detector",
    "prelabel",
    "proposals_apart_from",
    "set_prelabels",
    "to_detections",
    "BoxFit",
    "MotionEstimate",
    "class_kind",
    "estimate_motion",
    "heading_from_motion",
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
