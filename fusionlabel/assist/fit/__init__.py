"""Boxes from point clusters: heading estimators, class guess, free space, small objects and the
orchestration of the one-click box and auto-fit, with their parameters in one frozen dataclass.

Modules (one concern each):

* :mod:`.params`: :class:`FitParams` (every knob) and ``DEFAULT_FIT_PARAMS``;
* :mod:`.heading`: the L-shape fit, the principal axis, an end face's normal, the tight
  rectangle, snapping to the ego's axes, the heading from motion, a vehicle's front from its
  cabin;
* :mod:`.classes`: the class guess under the size priors, which axis is the length;
* :mod:`.freespace`: growing a partly seen extent away from the sensor, bounded by the free space
  the LiDAR saw;
* :mod:`.small`: people and bikes: cutting their segment out of a cluster, their template box;
* :mod:`.cluster_box`: the box of one object's points (:func:`box_from_cluster`);
* :mod:`.oneclick`: the one-click box, the click of a 3D-view ray and auto-fit.

This package is also the facade: every name the single module ``fusionlabel.assist.fit`` offered
is importable from here. The upper-case constants are read-only copies of ``DEFAULT_FIT_PARAMS``
(changing one changes nothing): pass ``fit_params=dataclasses.replace(DEFAULT_FIT_PARAMS, ...)``
to the functions instead. Frames, units: see :mod:`.oneclick`.
"""

from fusionlabel.assist.fit.classes import ClassGuess, assign_axes, guess_class, resolve_class, top_coverage
from fusionlabel.assist.fit.cluster_box import box_from_cluster
from fusionlabel.assist.fit.heading import (
    Rectangle,
    cabin_vote,
    end_face_yaw,
    heading_from_cabin,
    heading_from_motion,
    lshape_yaw,
    pca_yaw,
    rectangle_at,
    snap_to_axes,
)
from fusionlabel.assist.fit.oneclick import F64, BoxFit, auto_fit, box_from_click, click_from_ray
from fusionlabel.assist.fit.params import DEFAULT_FIT_PARAMS, FitParams

_D = DEFAULT_FIT_PARAMS
DEFAULT_CANDIDATES = _D.default_candidates
CLASS_PRIORS = _D.class_priors
OTHER_CLASS_PRIOR = _D.other_class_prior
TWO_WHEELERS = _D.two_wheelers
TOP_COVER_SPLIT = _D.top_cover_split
MAX_OBJECT_HEIGHT = _D.max_object_height
SMALL_OBJECT_LENGTH = _D.small_object_length
ONE_CLICK_CLUSTER = _D.one_click_cluster
FINE_TANGENTIAL = _D.fine_tangential
COARSE_TANGENTIAL = _D.coarse_tangential
SMALL_DEPTH_SHIFT = _D.small_depth_shift
BODY_RADIUS = _D.body_radius
FREE_INSET = _D.free_inset
OPEN_END_GAP = _D.open_end_gap
FREE_MIN_POINTS = _D.free_min_points
FREE_SPACE_RADIUS = _D.free_space_radius
MAX_EXTENT_SLACK = _D.max_extent_slack
AXIS_AMBIGUITY = _D.axis_ambiguity
SEGMENT_MIN_HEIGHT = _D.segment_min_height
RIDDEN_LENGTH = _D.ridden_length
BIKE_TOP = _D.bike_top
WALKER_EGO_AXES = _D.walker_ego_axes
END_FACE_AGREE_DEG = _D.end_face_agree_deg
PERSON_GAP = _D.person_gap
PERSON_GAP_SHARE = _D.person_gap_share
PARTIAL_SHARE = _D.partial_share
POLE_RADIUS = _D.pole_radius
POLE_SPAN_SHARE = _D.pole_span_share
POLE_EXCESS = _D.pole_excess
POLE_GROW = _D.pole_grow
OCCLUSION_STEP = _D.occlusion_step
OCCLUSION_EDGE = _D.occlusion_edge
OCCLUSION_MIN_RINGS = _D.occlusion_min_rings
OCCLUSION_RING_SHARE = _D.occlusion_ring_share
OCCLUSION_SPAN_SHARE = _D.occlusion_span_share
RING_GAP_DEG = _D.ring_gap_deg
NEIGHBOUR_MARGIN = _D.neighbour_margin
VEHICLE_MOTION_SIGN_ONLY = _D.vehicle_motion_sign_only
VEHICLE_CABIN_CUE = _D.vehicle_cabin_cue
CABIN_MIN_VOTE = _D.cabin_min_vote
CABIN_MIN_COVER = _D.cabin_min_cover

__all__ = [
    "AXIS_AMBIGUITY", "BIKE_TOP", "BODY_RADIUS", "CABIN_MIN_COVER", "CABIN_MIN_VOTE", "CLASS_PRIORS",
    "COARSE_TANGENTIAL", "DEFAULT_CANDIDATES", "DEFAULT_FIT_PARAMS", "END_FACE_AGREE_DEG", "F64", "FINE_TANGENTIAL",
    "FREE_INSET", "FREE_MIN_POINTS", "FREE_SPACE_RADIUS", "MAX_EXTENT_SLACK", "MAX_OBJECT_HEIGHT", "NEIGHBOUR_MARGIN",
    "OCCLUSION_EDGE", "OCCLUSION_MIN_RINGS", "OCCLUSION_RING_SHARE", "OCCLUSION_SPAN_SHARE", "OCCLUSION_STEP",
    "ONE_CLICK_CLUSTER", "OPEN_END_GAP", "OTHER_CLASS_PRIOR", "PARTIAL_SHARE", "PERSON_GAP", "PERSON_GAP_SHARE",
    "POLE_EXCESS", "POLE_GROW", "POLE_RADIUS", "POLE_SPAN_SHARE", "RIDDEN_LENGTH", "RING_GAP_DEG",
    "SEGMENT_MIN_HEIGHT", "SMALL_DEPTH_SHIFT", "SMALL_OBJECT_LENGTH", "TOP_COVER_SPLIT", "TWO_WHEELERS",
    "VEHICLE_CABIN_CUE", "VEHICLE_MOTION_SIGN_ONLY", "WALKER_EGO_AXES", "BoxFit", "ClassGuess", "FitParams",
    "Rectangle", "assign_axes", "auto_fit", "box_from_click", "box_from_cluster", "cabin_vote", "click_from_ray",
    "end_face_yaw", "guess_class", "heading_from_cabin", "heading_from_motion", "lshape_yaw", "pca_yaw",
    "rectangle_at", "resolve_class", "snap_to_axes", "top_coverage",
]
