"""The parameters of box fitting (:mod:`fusionlabel.assist.fit`) in one frozen dataclass.

Every function of the package that depends on one of them takes ``fit_params: FitParams =
DEFAULT_FIT_PARAMS``; a caller (or a test) changes one with ``dataclasses.replace(DEFAULT_FIT_PARAMS,
pole_excess=99.0)``. Metres, degrees where the name says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fusionlabel.assist.cluster import ClusterParams


def _class_priors() -> Mapping[str, float]:
    return MappingProxyType({"car": 0.5, "pedestrian": 0.2, "cyclist": 0.1, "van": 0.08, "truck": 0.06, "bus": 0.03})


@dataclass(frozen=True)
class FitParams:
    """Knobs of the one-click box, auto-fit and the box of a cluster (see each field's comment)."""

    # ---- class guess ----
    #: Classes a cluster may be guessed as when no candidates are given (names of the default ontology).
    default_candidates: tuple[str, ...] = ("car", "van", "truck", "bus", "cyclist", "pedestrian")
    #: Prior class frequencies (road scenes) for the class guess; classes not listed get
    #: ``other_class_prior``. A partly seen car (its rear only) looks like a cyclist's side: the
    #: frequency decides such ties. Read-only mapping (not part of the hash).
    class_priors: Mapping[str, float] = field(default_factory=_class_priors, hash=False)
    other_class_prior: float = 0.03
    #: Classes whose side view is a rider above a bike (low ``top_coverage``).
    two_wheelers: frozenset[str] = frozenset({"cyclist", "bicycle", "motorcycle"})
    #: Top coverage above which a cluster looks like a vehicle face rather than a rider on a bike.
    top_cover_split: float = 0.75
    #: A visible extent may exceed the class's largest by this much (m) of range noise and mirrors.
    max_extent_slack: float = 0.1

    # ---- segmentation (one-click) ----
    #: Points higher than this above the ground are ignored when segmenting (overhangs, trees).
    max_object_height: float = 4.5
    #: One-click segmentation: the range-adaptive link of :class:`ClusterParams`, elliptical (finer
    #: across the line of sight, where the azimuth resolution is fine, than along it).
    one_click_cluster: ClusterParams = ClusterParams(tangential=(0.15, 0.008))
    #: The across-the-line-of-sight link (base m, per metre of range) of the finest segmentation tried.
    fine_tangential: tuple[float, float] = (0.1, 0.004)
    #: The across-the-line-of-sight link (base m, per metre of range) of the coarse segmentation.
    coarse_tangential: tuple[float, float] = (0.3, 0.012)
    #: One-click segmentation uses the points at least this high (m) above the ground: kerbs, low
    #: vegetation and ground noise (up to about 0.25 m) would bridge a car to a wall or a hedge; a
    #: car's body, a person's legs and a bike's wheels reach higher.
    segment_min_height: float = 0.3
    #: In a neighbouring sweep, an object of a given class is segmented among the points within its
    #: reach of the seed plus this margin (m).
    neighbour_margin: float = 1.5

    # ---- heading ----
    #: Classes whose longest plausible length is below this (m) are "small" (people, bikes): their
    #: heading comes from the principal axis of the points rather than the L-shape.
    small_object_length: float = 3.0
    #: When a vehicle shows no extent longer than its widest, the L-shape heading is kept if it lies
    #: within this many degrees (modulo 90) of the normal of the face (see ``end_face_yaw``), else that
    #: normal is the heading (a rounded front or rear).
    end_face_agree_deg: float = 15.0
    #: A walker's heading from one sweep is poor (its principal axis is the stride or the shoulders,
    #: whichever shows more): with the ego's heading known, a walker's heading is taken as the ego axis
    #: (ego heading + k * 90 degrees) nearest the principal axis. People walk along the road the ego
    #: drives on or across it: in the real KITTI, SUSTechPOINTS and nuScenes samples 85% of the
    #: labelled people lie within 20 degrees of an ego axis (docs/assist.md, "Walkers' heading").
    walker_ego_axes: bool = True
    #: A vehicle's motion sets only the sign of its shape heading (see docs/assist.md: on the synthetic
    #: cars the L-shape axis is more precise than the direction of the centroids' motion).
    vehicle_motion_sign_only: bool = True
    #: A vehicle whose heading the motion does not give (no neighbouring sweeps, or it stands still)
    #: takes its front from its shape: the cabin (the top 30 % of its height) sits behind the middle,
    #: the hood is longer than the trunk (``cabin_vote``, as the track-level pre-labels do). One
    #: sweep of a parked car otherwise leaves the direction to the L-shape's arbitrary sign.
    vehicle_cabin_cue: bool = True
    #: The cabin vote (hood minus trunk, m) must exceed this in size to decide the sign: a flat top
    #: (a bus, a van's roof) votes about 0 by noise. Decided votes measured 0.37-2.65 m on the synthetic
    #: parked cars, 0.76-1.5 m on the real KITTI cars (docs/assist.md).
    cabin_min_vote: float = 0.2
    #: ... and the points must span this share of the box's length (1st to 99th percentile along the
    #: heading): a car seen from behind at range, its box grown to the class's length over unseen
    #: space, shows a fake gap at the unseen end (a moving car too slow in the sweeps to count as moving
    #: was turned backwards by it in bench_effort.py).
    cabin_min_cover: float = 0.8

    # ---- partial views and free space ----
    #: A visible extent shorter than this share of the prior's typical size counts as partly seen.
    partial_share: float = 0.75
    #: Free-space points (ground) count against a footprint only this far (m) inside its edges (the
    #: LiDAR sees a little under a car's bumpers and sills).
    free_inset: float = 0.3
    #: A face ends in unobserved space when nothing at all was seen this far (m) past its end.
    open_end_gap: float = 1.0
    #: Free space stops a grown side at the third ray through it (one or two may be stray ground points).
    free_min_points: int = 3
    #: Ground points within this distance (m) of a click are the free space a partly seen object must
    #: not grow into.
    free_space_radius: float = 8.0
    #: When the size prior's two assignments of length and width to a cluster's visible extents cost
    #: within this much of each other, free space decides between them.
    axis_ambiguity: float = 8.0

    # ---- small objects (people, bikes) ----
    #: A person's or a bike's centre lies this far (m) behind the centroid of its points, as seen from
    #: the sensor: the LiDAR sees only the near half of a body (about a third of a body's 0.3 m radius).
    small_depth_shift: float = 0.1
    #: A person's or a bike's points lie within this share of the class's typical length (+ 5 cm) of
    #: its centre: half the length, the farthest a body reaches from its middle.
    body_radius: float = 0.5
    #: Small classes at least this long (m) are ridden (bikes, scooters): their heading comes from the
    #: points below ``bike_top`` m above the ground and their centre along it from the middle of the
    #: points' extent (a rider's torso makes the rear denser).
    ridden_length: float = 1.2
    bike_top: float = 1.0
    #: Two people side by side are cut apart at an empty strip at least this wide (m) across their
    #: points when each side holds at least ``person_gap_share`` of them.
    person_gap: float = 0.15
    person_gap_share: float = 0.2
    #: A post beside a rider (a sign, a lamp, a bollard with a plate) is cut out of a ridden class's
    #: segment: a thin column (points within ``pole_radius`` m in BEV) spanning at least
    #: ``pole_span_share`` of the class's typical height whose top rises more than ``pole_excess`` m
    #: above every point away from it. A rider's own tallest column (the head over the torso) rises
    #: only about a head's height (~0.25-0.3 m) above the shoulders and arms beside it; signs are
    #: mounted above head height. The column is grown by ``pole_radius`` steps (``pole_grow`` times)
    #: to take the post's lower part and its plate.
    pole_radius: float = 0.12
    pole_span_share: float = 0.7
    pole_excess: float = 0.45
    pole_grow: int = 3
    #: A walker standing in front of someone or something (a companion walking behind, a wall) shows
    #: an occluding contour: on the laser rings crossing one bearing the range steps back by more than
    #: ``occlusion_step`` m (deeper than a torso, ~0.25 m), at the same place across the line of sight
    #: (within ``occlusion_edge`` m) and the same way round, on at least ``occlusion_min_rings`` rings
    #: and ``occlusion_ring_share`` of the rings crossing that bearing, reaching over
    #: ``occlusion_span_share`` of the class's typical height. One body does not: a stride's back leg
    #: steps back only at leg height, a swinging arm only at arm height (and the arm swinging back is
    #: on the other side from the leg swinging back), and a torso's side curves away smoothly. Rings:
    #: points whose elevation angles (seen from the sensor) lie within ``ring_gap_deg`` of each other.
    occlusion_step: float = 0.3
    occlusion_edge: float = 0.1
    occlusion_min_rings: int = 4
    occlusion_ring_share: float = 0.6
    occlusion_span_share: float = 0.45
    ring_gap_deg: float = 0.1


#: The defaults, measured on the benchmarks (docs/assist.md).
DEFAULT_FIT_PARAMS = FitParams()
