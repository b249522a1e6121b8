"""Objects of a synthetic scene: box-shaped parts, motions along paths, and the scene layout.

All poses are in the ``world`` frame (metres, yaw in radians about +z); time ``t`` is seconds since
the first frame. An object is a set of box parts given in the object frame (x forward, y left,
z up, origin at the centre of the ground-truth box); its ground-truth box is the axis-aligned
(object-frame) bounding box of its parts, so every part lies inside it. The ground is z = 0 and
every object stands on it.

Labelled objects (instance id >= 0, the GT track id) are cars (``state`` parked or moving),
pedestrians (moving or standing) and cyclists. Poles and building walls are scene structure with
instance id -1: they get LiDAR returns and are rendered, but are not labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from calib.transforms import wrap_angle
from fusionlabel.box import Box3D
from fusionlabel.synth.road import (
    BIKE_EDGE,
    PARKING_EDGE,
    ROAD_EDGE,
    SIDE_STREET_HALF_WIDTH,
    WALL_OFFSET,
    Road,
)

F64 = NDArray[np.float64]
STRUCTURE = -1


@dataclass(frozen=True)
class Part:
    """A box part: centre ``offset`` (3,) m in the object frame, ``size`` (l, w, h) m, RGB colour
    (0-255) and LiDAR reflectivity in [0, 1]."""

    offset: tuple[float, float, float]
    size: tuple[float, float, float]
    color: tuple[float, float, float]
    reflectivity: float


class Polyline:
    """A path in the world xy plane sampled densely, parametrised by arc length ``u`` (m)."""

    def __init__(self, xy: F64) -> None:
        xy = np.asarray(xy, dtype=np.float64)
        seg = np.diff(xy, axis=0)
        keep = np.concatenate([[True], np.hypot(seg[:, 0], seg[:, 1]) > 1e-9])
        xy = xy[keep]
        seg = np.diff(xy, axis=0)
        self.xy = xy
        self.u = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
        tang = np.gradient(xy, self.u, axis=0)
        self.yaw = np.unwrap(np.arctan2(tang[:, 1], tang[:, 0]))

    @property
    def length(self) -> float:
        return float(self.u[-1])

    def pose(self, u: float) -> tuple[float, float, float]:
        """(x, y, yaw) at arc length ``u`` (clamped to the path's end; before its start, on the
        straight line leading into it: times before frame 0, e.g. a rotating sweep's first
        points, find a moving object where its motion puts it)."""
        if u < 0.0:
            yaw0 = float(self.yaw[0])
            x0, y0 = self.xy[0]
            return float(x0 + u * np.cos(yaw0)), float(y0 + u * np.sin(yaw0)), float(wrap_angle(yaw0))
        u = float(np.clip(u, 0.0, self.u[-1]))
        x = float(np.interp(u, self.u, self.xy[:, 0]))
        y = float(np.interp(u, self.u, self.xy[:, 1]))
        return x, y, float(wrap_angle(float(np.interp(u, self.u, self.yaw))))


@dataclass
class SceneObject:
    """An object: parts in its frame, and either a static pose or a motion along a path.

    ``instance`` is the GT track id (>= 0) or ``STRUCTURE`` (-1) for unlabelled structure.
    Moving objects are at arc length ``u0 + speed * t`` of ``path`` at time ``t`` (s)."""

    instance: int
    label: str | None
    parts: list[Part]
    attributes: dict[str, str] = field(default_factory=dict)
    static_pose: tuple[float, float, float] | None = None
    path: Polyline | None = None
    u0: float = 0.0
    speed: float = 0.0
    #: Point class of structure (``"building"``, ``"pole"``); labelled objects use their label.
    semantic: str | None = None
    size: tuple[float, float, float] = field(init=False)
    center_offset: tuple[float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        lo = np.min([np.subtract(p.offset, np.divide(p.size, 2)) for p in self.parts], axis=0)
        hi = np.max([np.add(p.offset, np.divide(p.size, 2)) for p in self.parts], axis=0)
        self.size = tuple(float(v) for v in hi - lo)
        # parts are given relative to the object origin; re-centre them on the GT box centre
        mid = (lo + hi) / 2.0
        self.parts = [
            Part(tuple(float(v) for v in np.subtract(p.offset, mid)), p.size, p.color, p.reflectivity)
            for p in self.parts
        ]
        self.center_offset = tuple(float(v) for v in mid)

    def pose_at(self, t: float) -> tuple[float, float, float]:
        """(x, y, yaw) of the object's ground footprint origin in the world at time ``t`` (s)."""
        if self.path is None:
            assert self.static_pose is not None
            return self.static_pose
        return self.path.pose(self.u0 + self.speed * t)

    def box_at(self, t: float) -> Box3D:
        """The exact ground-truth box (world frame) at time ``t``: encloses every part."""
        x, y, yaw = self.pose_at(t)
        c, s = np.cos(yaw), np.sin(yaw)
        ox, oy, oz = self.center_offset
        return Box3D((x + c * ox - s * oy, y + s * ox + c * oy, oz), self.size, yaw)


@dataclass
class Primitives:
    """World-frame boxes of one instant, as arrays (P = number of parts): ``center`` (P, 3) m,
    ``half`` (P, 3) half sizes m, ``yaw`` (P,) rad, ``instance`` (P,) int32, ``color`` (P, 3)
    float32 RGB, ``reflectivity`` (P,) float32."""

    center: F64
    half: F64
    yaw: F64
    instance: NDArray[np.int32]
    color: NDArray[np.float32]
    reflectivity: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.center.shape[0])

    def corners(self) -> F64:
        """(P, 8, 3) world corners of every part."""
        signs = np.array(
            [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64
        )
        local = signs[None] * self.half[:, None, :]
        c, s = np.cos(self.yaw)[:, None], np.sin(self.yaw)[:, None]
        x = c * local[..., 0] - s * local[..., 1]
        y = s * local[..., 0] + c * local[..., 1]
        return np.stack([x, y, local[..., 2]], axis=-1) + self.center[:, None, :]


def primitives_at(objects: list[SceneObject], t: float) -> Primitives:
    """All parts of ``objects`` at time ``t`` as world-frame :class:`Primitives`."""
    centers, halves, yaws, inst, cols, refl = [], [], [], [], [], []
    for ob in objects:
        box = ob.box_at(t)
        c, s = np.cos(box.yaw), np.sin(box.yaw)
        for p in ob.parts:
            ox, oy, oz = p.offset
            centers.append(
                (box.center[0] + c * ox - s * oy, box.center[1] + s * ox + c * oy, box.center[2] + oz)
            )
            halves.append(np.divide(p.size, 2.0))
            yaws.append(box.yaw)
            inst.append(ob.instance)
            cols.append(p.color)
            refl.append(p.reflectivity)
    return Primitives(
        np.asarray(centers, dtype=np.float64).reshape(-1, 3),
        np.asarray(halves, dtype=np.float64).reshape(-1, 3),
        np.asarray(yaws, dtype=np.float64),
        np.asarray(inst, dtype=np.int32),
        np.asarray(cols, dtype=np.float32).reshape(-1, 3),
        np.asarray(refl, dtype=np.float32),
    )


# ---- object shapes ---------------------------------------------------------------------------
CAR_COLORS = [
    (200, 30, 35),
    (30, 70, 160),
    (230, 230, 225),
    (35, 35, 38),
    (150, 150, 155),
    (20, 110, 60),
    (230, 160, 20),
    (120, 20, 90),
    (90, 60, 40),
    (60, 160, 200),
]
CLOTHES = [(200, 60, 50), (40, 80, 170), (240, 200, 40), (40, 40, 45), (90, 160, 70), (220, 120, 170)]
GLASS = (55, 65, 80)


def car_parts(rng: np.random.Generator) -> list[Part]:
    """A car: a body box with a smaller cabin box on top (object frame, origin on the ground)."""
    length = rng.uniform(4.0, 4.9)
    width = rng.uniform(1.75, 1.95)
    body_h = rng.uniform(0.85, 1.0)
    cabin_h = rng.uniform(0.5, 0.65)
    col = CAR_COLORS[int(rng.integers(len(CAR_COLORS)))]
    refl = float(rng.uniform(0.3, 0.6))
    cabin_l = length * rng.uniform(0.45, 0.58)
    return [
        Part((0.0, 0.0, body_h / 2), (length, width, body_h), col, refl),
        Part((-0.08 * length, 0.0, body_h + cabin_h / 2), (cabin_l, width * 0.88, cabin_h), GLASS, 0.12),
    ]


def pedestrian_parts(rng: np.random.Generator) -> list[Part]:
    """A pedestrian: legs, torso and head boxes."""
    h = rng.uniform(1.55, 1.9)
    legs = 0.47 * h
    torso = 0.38 * h
    head = h - legs - torso
    shirt = CLOTHES[int(rng.integers(len(CLOTHES)))]
    return [
        Part((0.0, 0.0, legs / 2), (0.28, 0.40, legs), (40, 45, 70), 0.25),
        Part((0.0, 0.0, legs + torso / 2), (0.30, 0.50, torso), shirt, 0.35),
        Part((0.0, 0.0, legs + torso + head / 2), (0.22, 0.20, head), (215, 170, 135), 0.3),
    ]


def cyclist_parts(rng: np.random.Generator) -> list[Part]:
    """A cyclist: a bicycle box and a rider box on top of it."""
    shirt = CLOTHES[int(rng.integers(len(CLOTHES)))]
    bike_h = 1.0
    rider_h = rng.uniform(0.7, 0.85)
    return [
        Part((0.0, 0.0, bike_h / 2), (1.75, 0.45, bike_h), (30, 30, 30), 0.5),
        Part((-0.15, 0.0, bike_h + rider_h / 2), (0.5, 0.5, rider_h), shirt, 0.35),
    ]


# ---- scene layout ----------------------------------------------------------------------------
@dataclass
class EgoMotion:
    """Ego vehicle on the road: lane offset ``d`` (m), arc length ``s0`` at t = 0, speed (m/s).
    The ego frame origin is on the ground below the rear axle, x along the lane."""

    road: Road
    d: float
    s0: float
    speed: float

    def s_at(self, t: float) -> float:
        return self.s0 + self.speed * t

    def pose_at(self, t: float) -> F64:
        """4x4 ``T_world_from_ego`` at time ``t`` (s)."""
        s = self.s_at(t)
        x, y = self.road.to_world(s, self.d)
        yaw = float(self.road.heading(s))
        T = np.eye(4)
        c, sn = np.cos(yaw), np.sin(yaw)
        T[:2, :2] = [[c, -sn], [sn, c]]
        T[0, 3], T[1, 3] = x, y
        return T


def _sd_path(road: Road, s: F64, d: F64) -> Polyline:
    return Polyline(road.to_world(s, d))


def _lane_path(road: Road, s_from: float, s_to: float, d: float) -> Polyline:
    n = max(int(abs(s_to - s_from) / 0.25), 2)
    s = np.linspace(s_from, s_to, n)
    return _sd_path(road, s, np.full_like(s, d))


def _turn_path(road: Road, s_start: float, lane_d: float, r_turn: float, out_len: float) -> Polyline:
    """Drive in lane ``lane_d`` (< 0) from ``s_start``, turn right into the side street (quadratic
    Bezier of radius about ``r_turn``) and drive ``out_len`` metres along it."""
    s_int = road.side_street_s
    assert s_int is not None
    t, n = road.tangent_normal(s_int)
    c = road.to_world(s_int, 0.0)
    k_lane = -lane_d  # distance of the lane from the centreline
    corner = c - LANE_OFF * t - k_lane * n
    s_p0 = s_int - LANE_OFF - r_turn
    approach = road.to_world(np.linspace(s_start, s_p0, max(int((s_p0 - s_start) / 0.25), 2)), lane_d)
    p0 = approach[-1]
    p2 = c - LANE_OFF * t - (k_lane + r_turn) * n
    b = np.linspace(0.0, 1.0, 60)[:, None]
    bez = (1 - b) ** 2 * p0 + 2 * (1 - b) * b * corner + b**2 * p2
    ks = np.linspace(k_lane + r_turn, k_lane + r_turn + out_len, max(int(out_len / 0.25), 2))[:, None]
    out = c - LANE_OFF * t - ks * n
    return Polyline(np.concatenate([approach, bez[1:], out[1:]]))


LANE_OFF = 1.75
#: Smallest gap (m) between the footprints of two labelled objects at any time.
MIN_CLEARANCE = 0.25


def footprints_overlap(a: tuple[F64, F64, F64], b: tuple[F64, F64, F64], margin: float) -> bool:
    """Whether two moving oriented rectangles come closer than ``margin`` (m) at any sample time.

    Each is ``(centres (T, 2), yaws (T,), half sizes (2,))`` over the same T times; separating
    axis test on the four edge normals (a gap of at least ``margin`` on one axis separates)."""
    ca, ya, ha = a
    cb, yb, hb = b
    reach = np.hypot(*ha) + np.hypot(*hb) + margin
    close = np.hypot(*(cb - ca).T) < reach
    if not close.any():
        return False
    ca, ya, cb, yb = ca[close], ya[close], cb[close], yb[close]
    axes_a = np.stack([np.stack([np.cos(ya), np.sin(ya)], 1), np.stack([-np.sin(ya), np.cos(ya)], 1)], 1)
    axes_b = np.stack([np.stack([np.cos(yb), np.sin(yb)], 1), np.stack([-np.sin(yb), np.cos(yb)], 1)], 1)
    delta = cb - ca
    separated = np.zeros(ca.shape[0], dtype=bool)
    for k in range(2):
        for axes in (axes_a, axes_b):
            u = axes[:, k]
            ra = ha[0] * np.abs(np.einsum("ij,ij->i", u, axes_a[:, 0])) + ha[1] * np.abs(
                np.einsum("ij,ij->i", u, axes_a[:, 1])
            )
            rb = hb[0] * np.abs(np.einsum("ij,ij->i", u, axes_b[:, 0])) + hb[1] * np.abs(
                np.einsum("ij,ij->i", u, axes_b[:, 1])
            )
            separated |= np.abs(np.einsum("ij,ij->i", u, delta)) >= ra + rb + margin
    return not bool(separated.all())


@dataclass
class SceneLayout:
    """Everything static about a scene: road, ego motion and objects (labelled and structure)."""

    road: Road
    ego: EgoMotion
    objects: list[SceneObject]

    @property
    def labelled(self) -> list[SceneObject]:
        return [o for o in self.objects if o.instance >= 0]


def build_layout(rng: np.random.Generator, duration: float) -> SceneLayout:
    """Random but plausible scene for a drive of ``duration`` seconds (deterministic for ``rng``).

    The ego drives in the right lane (d = -5.25) along a circular road. Around it: a lead car that
    turns right into a side street, a car in the left lane that changes into the ego's lane, a car
    overtaking from behind, oncoming cars, cyclists in the bike lanes, pedestrians on the
    sidewalks, parked cars, poles and building walls.
    """
    radius = float(rng.uniform(90.0, 180.0))
    turn = 1 if rng.random() < 0.5 else -1
    v_ego = float(rng.uniform(6.5, 8.5))
    s_ego0 = 40.0
    t_mid = duration / 2.0
    s_ego_end = s_ego0 + v_ego * duration
    v_turn = v_ego * 0.9
    gap_turn = float(rng.uniform(10.0, 14.0))
    # the lead car reaches the start of its turn shortly after mid-sequence
    s_side = s_ego0 + gap_turn + v_turn * (t_mid + 0.5) + LANE_OFF + 7.0
    road = Road(radius, turn, s_side)
    ego = EgoMotion(road, -5.25, s_ego0, v_ego)

    objects: list[SceneObject] = []
    # labelled objects must never overlap: each new one is checked against the others (oriented
    # footprints, separating axis test, MIN_CLEARANCE margin) at 20 Hz over the whole drive; an
    # overlapping one is refused
    times = np.linspace(0.0, duration, max(int(round(duration / 0.05)) + 1, 2))
    placed: list[tuple[F64, F64, F64]] = []  # (centres (T, 2), yaws (T,), half length/width (2,))

    def add(label: str, parts: list[Part], state: str, **kw: object) -> bool:
        ob = SceneObject(len(placed) + 1, label, parts, {"state": state}, **kw)  # type: ignore[arg-type]
        boxes = [ob.box_at(float(t)) for t in times]
        mine = (
            np.array([b.center[:2] for b in boxes]),
            np.array([b.yaw for b in boxes]),
            np.array(ob.size[:2]) / 2.0,
        )
        if any(footprints_overlap(mine, other, MIN_CLEARANCE) for other in placed):
            return False
        objects.append(ob)
        placed.append(mine)
        return True

    s_lo, s_hi = s_ego0 - 45.0, s_ego_end + 85.0
    far = s_hi + 200.0

    # lead car turning right into the side street
    path = _turn_path(road, s_ego0 - 10.0, -5.25, 6.0, 120.0)
    add("car", car_parts(rng), "moving", path=path, u0=10.0 + gap_turn, speed=v_turn)

    # car in the left lane merging into the ego lane ahead
    s_lc0 = s_ego0 + rng.uniform(22.0, 28.0)
    v_lc = v_ego + rng.uniform(0.5, 1.5)
    s_change = s_lc0 + v_lc * (t_mid + 0.5)
    s = np.arange(s_lc0 - 5.0, far, 0.25)
    d = -1.75 - 3.5 * np.clip((s - s_change) / 30.0 + 0.5, 0.0, 1.0) ** 2 * (
        3 - 2 * np.clip((s - s_change) / 30.0 + 0.5, 0.0, 1.0)
    )
    add("car", car_parts(rng), "moving", path=_sd_path(road, s, d), u0=5.0, speed=v_lc)

    # car overtaking in the left lane from behind
    # (slow enough never to catch up with the merging car while that is still in the left lane)
    s_ov = s_ego0 - rng.uniform(12.0, 20.0)
    v_ov = v_lc + min(float(rng.uniform(1.0, 2.0)), (s_lc0 - s_ov - 8.0) / (t_mid + 3.0))
    add("car", car_parts(rng), "moving", path=_lane_path(road, s_ov, far, -1.75), speed=v_ov)

    # oncoming cars (drive towards decreasing s)
    for lane, ahead in (
        (1.75, rng.uniform(25, 40)),
        (5.25, rng.uniform(45, 60)),
        (1.75, rng.uniform(70, 90)),
    ):
        s0 = s_ego0 + ahead
        add(
            "car",
            car_parts(rng),
            "moving",
            path=_lane_path(road, s0, s0 - 400.0, lane),
            speed=rng.uniform(7.0, 11.0),
        )

    # cyclists in the bike lanes (one each way; the first position that is free of the others)
    bike_d = (ROAD_EDGE + BIKE_EDGE) / 2
    for _ in range(20):
        s0 = s_ego0 + rng.uniform(4.0, 30.0)
        path = _lane_path(road, s0, far, -bike_d)
        if add("cyclist", cyclist_parts(rng), "moving", path=path, speed=rng.uniform(3.5, 5.0)):
            break
    for _ in range(20):
        s0 = s_ego0 + rng.uniform(20.0, 40.0)
        path = _lane_path(road, s0, s0 - 300.0, bike_d)
        if add("cyclist", cyclist_parts(rng), "moving", path=path, speed=rng.uniform(4.0, 6.0)):
            break

    # pedestrians on the sidewalks (walking either way, some standing)
    n_ped = int(rng.integers(6, 9))
    tries = 0
    while n_ped > 0 and tries < 60:
        tries += 1
        side = 1 if rng.random() < 0.5 else -1
        dd = side * rng.uniform(11.8, 13.6)
        s0 = float(rng.uniform(s_ego0 - 10.0, s_ego_end + 45.0))
        if side < 0 and road.side_street_s is not None and abs(s0 - road.side_street_s) < 10.0:
            s0 = road.side_street_s - 10.0 - rng.uniform(0, 5)
        speed = float(rng.uniform(0.9, 1.6)) if rng.random() < 0.75 else 0.0
        direction = 1 if rng.random() < 0.5 else -1
        state = "moving" if speed > 0 else "standing"
        s_end = s0 + direction * (speed * duration + 2.0)
        if side < 0 and road.side_street_s is not None:
            # do not walk into the junction
            lim_lo, lim_hi = (
                road.side_street_s - SIDE_STREET_HALF_WIDTH - 2,
                road.side_street_s + SIDE_STREET_HALF_WIDTH + 2,
            )
            if min(s0, s_end) < lim_hi and max(s0, s_end) > lim_lo:
                s0 = lim_lo - 3.0 if s0 < road.side_street_s else lim_hi + 3.0
                s_end = s0 + direction * (speed * duration + 2.0)
                if min(s0, s_end) < lim_hi and max(s0, s_end) > lim_lo:
                    direction = -direction
                    s_end = s0 + direction * (speed * duration + 2.0)
        if speed == 0.0:
            x, y = road.to_world(s0, dd)
            yaw = float(road.heading(s0)) + rng.uniform(-np.pi, np.pi)
            pose = (float(x), float(y), float(wrap_angle(yaw)))
            n_ped -= add("pedestrian", pedestrian_parts(rng), state, static_pose=pose)
        else:
            path = _lane_path(road, s0, s_end, dd)
            n_ped -= add("pedestrian", pedestrian_parts(rng), state, path=path, speed=speed)

    # parked cars in the parking strips (the right one leaves the junction free)
    park_d = (BIKE_EDGE + PARKING_EDGE) / 2
    for side in (-1, 1):
        s = s_lo + rng.uniform(0.0, 6.0)
        while s < s_hi:
            length_gap = rng.uniform(5.5, 12.0)
            junction = (
                side < 0
                and road.side_street_s is not None
                and abs(s - road.side_street_s) < SIDE_STREET_HALF_WIDTH + 4.0
            )
            if not junction and rng.random() < 0.8:
                x, y = road.to_world(s, side * park_d)
                yaw = (
                    float(road.heading(s)) + (np.pi if rng.random() < 0.2 else 0.0) + rng.uniform(-0.05, 0.05)
                )
                add("car", car_parts(rng), "parked", static_pose=(float(x), float(y), float(wrap_angle(yaw))))
            s += length_gap

    # structure: poles on the sidewalks and building walls
    def add_structure(parts: list[Part], pose: tuple[float, float, float], semantic: str) -> None:
        objects.append(SceneObject(STRUCTURE, None, parts, static_pose=pose, semantic=semantic))

    pole_d = PARKING_EDGE + 0.6
    for side in (-1, 1):
        s = s_lo + rng.uniform(0.0, 10.0)
        while s < s_hi:
            junction = side < 0 and abs(s - s_side) < SIDE_STREET_HALF_WIDTH + 1.0
            if not junction:
                x, y = road.to_world(s, side * pole_d)
                h = float(rng.uniform(4.5, 8.0))
                add_structure(
                    [Part((0.0, 0.0, h / 2), (0.3, 0.3, h), (120, 120, 125), 0.55)], (float(x), float(y), 0.0),
                    "pole",
                )
            s += rng.uniform(15.0, 25.0)

    wall_colors = [(180, 150, 120), (150, 85, 70), (170, 170, 175), (200, 190, 160), (120, 125, 140)]
    thick = 2.0
    for side in (-1, 1):
        s = s_lo - 10.0
        while s < s_hi + 40.0:
            seg = float(rng.uniform(8.0, 20.0))
            a, b = s, s + seg
            s = b + (rng.uniform(1.0, 4.0) if rng.random() < 0.4 else 0.0)
            if side < 0:
                lo, hi = s_side - SIDE_STREET_HALF_WIDTH - 1.0, s_side + SIDE_STREET_HALF_WIDTH + 1.0
                if b > lo and a < hi:
                    if a < lo:
                        b = lo
                    elif b > hi:
                        a = hi
                    else:
                        continue
            p0 = road.to_world(a, side * WALL_OFFSET)
            p1 = road.to_world(b, side * WALL_OFFSET)
            mid = (p0 + p1) / 2
            yaw = float(np.arctan2(p1[1] - p0[1], p1[0] - p0[0]))
            outward = side * np.array([-np.sin(yaw), np.cos(yaw)])  # away from the road
            centre = mid + outward * thick / 2
            h = float(rng.uniform(5.0, 14.0))
            col = wall_colors[int(rng.integers(len(wall_colors)))]
            length = float(np.hypot(*(p1 - p0)))
            add_structure(
                [Part((0.0, 0.0, h / 2), (length, thick, h), col, float(rng.uniform(0.3, 0.6)))],
                (float(centre[0]), float(centre[1]), yaw),
                "building",
            )
    return SceneLayout(road, ego, objects)
