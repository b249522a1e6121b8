"""Track-level structure cues: what a whole track tells of walls and clutter that one sweep cannot.

A pre-label track (:mod:`fusionlabel.assist.tracklabel`) carries its cluster's world points at
every frame. A road user and a piece of scene structure differ over a track in ways that one sweep
leaves open; the cues here are measured on the track's points in the **world** frame (metres):

- **Structure** (a wall, a fence, a building face proposed as a vehicle): the track stands still,
  its top is cut in most frames (by the sensor's highest ring, or its points go on above the
  segmentation's height limit, :attr:`fusionlabel.assist.detection.Detection.top_cut`), and its
  points do not close into a vehicle: the union of all its frames' points is a thin plane, or it
  is longer than the class allows (the part of a long wall inside the clustering's window slides
  along it as the sensor moves, so the extent grows with the sweep), or the visible part is
  already as tall as the class's smallest member (a vehicle that tall whose roof is never seen is
  not confirmed as one: it may go on up, as a building does).
- **Clutter** (a bush, a post, a fragment proposed as a person or a rider): the track stands
  still, and its points cover more ground than one standing person or rider does (in one frame
  longer than the class's typical length along the track's principal axis, and over the track
  wider than half its typical width); or, moving or not, its top is cut in most frames (a pole:
  a person's head, the top, is seen).

Each cue gives a factor on the track's confidence (:class:`TrackCues.factor`); nothing is dropped,
the track only sinks below the accept threshold and towards the end of the review queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class TrackCueParams:
    """Knobs of the track-level cues (metres, shares of frames)."""

    #: the top is cut in at least this share of a track's frames: never seen
    top_cut_share: float = 0.6
    #: a wall: the union of a still track's points thinner than this across its principal axis
    wall_thickness: float = 0.3
    #: longer than the class's largest length by this factor (union or any one frame)
    length_margin: float = 1.05
    #: the visible top reaches this share of the class's smallest height
    tall_share: float = 1.0
    #: clutter: a still person's or rider's frame extent (union width) beyond this factor of the
    #: class's typical length (half its typical width)
    footprint_margin: float = 1.0
    #: confidence factors
    structure_factor: float = 0.25
    clutter_factor: float = 0.35


DEFAULT_TRACK_CUE_PARAMS = TrackCueParams()


@dataclass(frozen=True)
class TrackCues:
    """What a track's points say (see the module doc): ``structure`` / ``clutter`` with the
    ``reason``, and the measurements: the union's BEV ``length`` and ``thickness`` (2.5-97.5 %
    along and across its principal axis), the longest single frame's extent along that axis,
    the share of frames whose top was cut and the median visible top above the ground (m)."""

    structure: bool = False
    clutter: bool = False
    reason: str = ""
    length: float = 0.0
    thickness: float = 0.0
    longest_frame: float = 0.0
    top_cut_share: float = 0.0
    top: float = 0.0

    def factor(self, params: TrackCueParams = DEFAULT_TRACK_CUE_PARAMS) -> float:
        """Confidence factor of the cues."""
        f = params.structure_factor if self.structure else 1.0
        return f * (params.clutter_factor if self.clutter else 1.0)


def _extent(u: F64) -> float:
    return float(np.percentile(u, 97.5) - np.percentile(u, 2.5)) if len(u) else 0.0


def track_cues(dets: Mapping[int, Any], label: str, ontology: Any, moving: bool, small: bool,
               params: TrackCueParams = DEFAULT_TRACK_CUE_PARAMS) -> TrackCues:
    """The cues of one finished track: ``dets`` frame -> detection with world ``points`` (M, 3),
    ``ground`` and ``top_cut`` (:class:`fusionlabel.assist.detection.Detection`), its class
    ``label`` (a name of ``ontology``), whether it is ``moving`` and whether the class is a person
    or a rider (``small``). A moving track is not structure, and clutter only as a pole."""
    frames = [f for f in sorted(dets) if dets[f].points is not None and len(dets[f].points)]
    if not frames:
        return TrackCues()
    pts = np.vstack([np.asarray(dets[f].points, dtype=np.float64)[:, :3] for f in frames])
    xy = pts[:, :2] - pts[:, :2].mean(axis=0)
    _, vec = np.linalg.eigh(xy.T @ xy)
    axis = vec[:, 1]
    length, thickness = _extent(xy @ axis), _extent(xy @ vec[:, 0])
    longest = max(_extent(np.asarray(dets[f].points, dtype=np.float64)[:, :2] @ axis) for f in frames)
    cut = float(np.mean([bool(getattr(dets[f], "top_cut", False)) for f in frames]))
    tops = []
    for f in frames:
        p = np.asarray(dets[f].points, dtype=np.float64)[:, :3]
        g = dets[f].ground
        h = g.height_above(p) if g is not None else p[:, 2] - p[:, 2].min()
        tops.append(float(np.percentile(h, 99)))
    top = float(np.median(tops))
    base = dict(length=length, thickness=thickness, longest_frame=longest, top_cut_share=cut, top=top)
    spec = ontology[label]
    never_top = cut >= params.top_cut_share
    if small and never_top:  # moving or not: a person's head, the top, is seen
        return TrackCues(clutter=True, reason="a person or rider whose top is never seen (a pole)", **base)
    if moving:
        return TrackCues(**base)
    if small:
        wide = (longest > params.footprint_margin * spec.size.mean[0]
                and thickness > params.footprint_margin * spec.size.mean[1] * 0.5)
        if wide:
            why = f"a still {label} whose points cover {longest:.1f} m in one frame, {thickness:.1f} m across"
            return TrackCues(clutter=True, reason=f"{why} (more than one {label})", **base)
        return TrackCues(**base)
    if not never_top:
        return TrackCues(**base)
    max_len = params.length_margin * spec.size.max[0]
    if thickness < params.wall_thickness and length > spec.size.max[1]:
        why = f"a thin plane {length:.1f} m long, {thickness:.2f} m thick"
    elif max(length, longest) > max_len:
        why = f"{max(length, longest):.1f} m long, more than a {label} (the extent grows with the sweep)"
    elif top >= params.tall_share * spec.size.min[2]:
        why = f"its top never seen at {top:.1f} m (no roof: as tall as a {label} and maybe a building)"
    else:
        return TrackCues(**base)
    return TrackCues(structure=True, reason=f"still, top cut in {cut:.0%} of the frames, {why}", **base)
