"""Track-level pre-labels: keyframe reduction, the parked car's heading from its shape, fragments
merged, and the floors of the track-level benchmark on one synthetic seed (30 frames)."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest

from fusionlabel.assist.prelabel import Detection
from fusionlabel.assist.tracklabel import (
    TrackParams,
    cabin_vote,
    chain_axes,
    finish_track,
    merge_fragments,
    points_move,
    reduce_keyframes,
)
from fusionlabel.box import Box3D
from fusionlabel.interpolation import interpolate_boxes_at
from fusionlabel.ontology import Ontology
from tests.conftest import load_benchmark


def _box(x: float, y: float = 0.0, yaw: float = 0.0) -> Box3D:
    return Box3D((x, y, 0.8), (4.5, 1.9, 1.6), yaw)


def test_reduce_keyframes_keeps_what_the_motion_needs() -> None:
    parked = {f: _box(5.0) for f in range(30)}
    assert sorted(reduce_keyframes(parked)) == [0, 29]
    assert sorted(reduce_keyframes(parked, hold=True)) == [0]  # held to the track's end
    stops = {f: _box(0.8 * min(f, 20)) for f in range(30)}  # drives, then stands from frame 20
    assert max(reduce_keyframes(stops, hold=True)) <= 21 < max(reduce_keyframes(stops))
    straight = {f: _box(0.8 * f) for f in range(30)}
    assert sorted(reduce_keyframes(straight)) == [0, 29]
    # a quarter turn of radius 10 m in 30 frames: a few keyframes, every frame within tolerance
    turn = {}
    for f in range(30):
        a = f / 29 * math.pi / 2
        turn[f] = _box(10 * math.sin(a), 10 - 10 * math.cos(a), a)
    kept = reduce_keyframes(turn, tol_m=0.15, tol_yaw=math.radians(3))
    assert 2 < len(kept) < 12 and 0 in kept and 29 in kept
    got = interpolate_boxes_at(kept, range(30), "smooth")
    for f, b in zip(range(30), got, strict=True):
        assert np.linalg.norm(np.subtract(b.center, turn[f].center)) <= 0.15 + 1e-9
        assert abs(math.remainder(b.yaw - turn[f].yaw, 2 * math.pi)) <= math.radians(3) + 1e-9


def _car_points(x: float, yaw: float, rng: np.random.Generator) -> np.ndarray:
    """Side-view points of a car (length 4.5) headed ``yaw``: a body and a cabin set back by 8 %."""
    u = np.concatenate([rng.uniform(-2.25, 2.25, 300), rng.uniform(-0.36 - 1.1, -0.36 + 1.1, 150)])
    z = np.concatenate([rng.uniform(0.1, 0.95, 300), rng.uniform(1.0, 1.5, 150)])
    v = np.full(len(u), -0.95)
    c, s = math.cos(yaw), math.sin(yaw)
    return np.column_stack([x + c * u - s * v, s * u + c * v, z])


def test_cabin_vote_tells_the_front_of_a_parked_car() -> None:
    rng = np.random.default_rng(0)
    pts = _car_points(0.0, 0.3, rng)
    assert cabin_vote(pts, Box3D((0.0, 0.0, 0.775), (4.5, 1.9, 1.55), 0.3)) > 0.3
    assert cabin_vote(pts, Box3D((0.0, 0.0, 0.775), (4.5, 1.9, 1.55), 0.3 + math.pi)) < -0.3
    # an end view (the cabin spans little of the length) says nothing
    assert cabin_vote(pts[np.abs(pts[:, 0]) < 0.3], Box3D((0.0, 0.0, 0.775), (4.5, 1.9, 1.55), 0.3)) == 0.0


def test_points_move_and_fragments() -> None:
    rng = np.random.default_rng(1)
    times = {f: 0.1 * f for f in range(20)}
    moving = {f: Detection(_box(8.0 * times[f]), "car", 0.8, 450, points=_car_points(8.0 * times[f], 0.0, rng))
              for f in range(20)}
    parked = {f: Detection(_box(3.0), "car", 0.8, 450, points=_car_points(3.0, 0.0, rng)) for f in range(20)}
    assert points_move(moving, times, np.array([8.0, 0.0]))
    assert not points_move(parked, times, np.array([1.5, 0.0]))  # a drift of the box centres only
    # a fragment inside the parked car, and the moving car broken by an occlusion (frames 8-10)
    frag = {f: Detection(Box3D((3.5, -0.9, 0.5), (0.8, 0.7, 1.0), 0.0), "pedestrian", 0.4, 20,
                         points=parked[f].points[:20]) for f in range(5, 15)}
    first = {f: moving[f] for f in range(8)}
    second = {f: moving[f] for f in range(11, 20)}
    tracks = [dict(parked), frag, first, second]
    keep = merge_fragments(tracks, times, [True, False, True, True])
    assert keep == [0, 2] and sorted(tracks[2]) == [*range(8), *range(11, 20)]


def test_still_duplicates_and_a_join_past_a_thrown_off_box() -> None:
    """A parked car tracked twice (a passer-by split its cluster: the second track starts with
    boxes off the car and overlaps the first in time) is one track; a track whose last box a partial
    view threw off is continued by the one that starts where it stood."""
    rng = np.random.default_rng(2)
    times = {f: 0.1 * f for f in range(30)}

    def det(x: float, y: float, n: int = 450) -> Detection:
        return Detection(_box(x).replace(center=(x, y, 0.8)), "car", 0.8, n, points=_car_points(x, 0.0, rng))

    first = {f: det(3.0 + rng.normal(0, 0.05), 0.0) for f in range(19)}
    second = {11: det(5.2, -0.7, 70), 12: det(4.0, -0.5, 80), **{f: det(3.0, 0.02) for f in range(16, 30)}}
    other = {f: det(9.0, 0.0) for f in range(30)}  # a second parked car 6 m ahead stays apart
    tracks = [first, second, other]
    assert merge_fragments(tracks, times, [True, True, True]) == [0, 2]
    assert sorted(tracks[0]) == [*range(19), *range(19, 30)] and tracks[0][12].box.center[0] < 3.2
    # a parked car whose last box is thrown 1.6 m off by a partial view, then seen again 1.3 m off
    ended = {f: det(20.0, 0.0) for f in range(21)}
    ended[21] = det(18.4, 0.3, 130)
    again = {22: det(20.3, 1.2, 50), **{f: det(20.0, 0.0) for f in range(24, 30)}}
    both = [ended, again]
    assert merge_fragments(both, times, [True, True], TrackParams(still_spread_m=-1.0)) == [0]


def _turn(n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and headings (rad) of a car that drives straight for 12 frames, then turns by
    10 degrees a frame (a sharp turn at 10 Hz)."""
    t = 0.1 * np.arange(n)
    yaw = np.radians(np.where(np.arange(n) < 12, 0.0, -10.0 * (np.arange(n) - 11)))
    return t, yaw


def test_chain_axes_follows_a_sharp_turn_that_the_motion_lags() -> None:
    """The fitted boxes' axes (known modulo 90 degrees, 0.5 degrees of noise, one odd fit, two
    frames without points) against a motion direction that lags the turn by three frames: the
    chain follows the axes through the turn to the track's last frame; the odd fit is not taken."""
    rng = np.random.default_rng(3)
    t, yaw = _turn()
    motion = np.concatenate([np.zeros(3), yaw[:-3]])  # a line fit over a few frames lags
    axes = yaw + np.radians(rng.normal(0.0, 0.5, len(t))) + (math.pi / 2) * rng.integers(-2, 3, len(t))
    axes[16] -= math.radians(25.0)  # a corner occluded: the fit turned off
    usable = np.ones(len(t), dtype=bool)
    usable[[5, 6]] = False
    out = np.array(chain_axes(list(axes), list(motion), t, usable, TrackParams()))
    err = np.degrees(np.abs(np.remainder(out - yaw + math.pi, 2 * math.pi) - math.pi))
    assert np.all(np.delete(err, 16) <= 2.0), err.round(1)
    assert err[16] <= 12.0  # turned as the motion did there
    assert np.degrees(np.abs(motion[-1] - yaw[-1])) >= 25.0  # what the motion alone gives
    # no frame whose axis agrees with the motion: the motion's own directions
    assert chain_axes(list(yaw + math.radians(40.0)), list(yaw), t, usable, TrackParams()) == list(yaw)


def _car_faces(cx: float, cy: float, yaw: float, rng: np.random.Generator, length: float = 4.5,
               width: float = 1.9, n: int = 400) -> np.ndarray:
    """World points (n, 3) on the faces of a car box (``length`` x ``width`` x 1.5 m) that a
    sensor at the origin sees (their outward normals towards it)."""
    c, s = math.cos(yaw), math.sin(yaw)
    faces = []
    for (nu, nv), (half, span) in (((1, 0), (length / 2, width)), ((-1, 0), (length / 2, width)),
                                   ((0, 1), (width / 2, length)), ((0, -1), (width / 2, length))):
        normal = np.array([c * nu - s * nv, s * nu + c * nv])
        centre = np.array([cx, cy]) + half * normal
        if float(normal @ -centre) > 0.0:
            faces.append((nu, nv, half, span))
    pts = []
    for nu, nv, half, span in faces:
        m = n // len(faces)
        a = rng.uniform(-span / 2, span / 2, m)
        u, v = (np.full(m, half * nu), a) if nu else (a, np.full(m, half * nv))
        pts.append(np.column_stack([cx + c * u - s * v, cy + s * u + c * v, rng.uniform(0.2, 1.5, m)]))
    return np.vstack(pts)


def test_a_turning_car_is_headed_by_its_box_axes_to_its_last_frame() -> None:
    """A car seen from the side and the back as it turns sharply at the end of its track: the
    finished track's heading stays within 3 degrees of the truth at every frame; headed by its
    motion alone (``axis_gate`` 0) it lags by more than 10 degrees at the end."""
    rng = np.random.default_rng(5)
    t, yaw = _turn()
    pos = np.zeros((len(t), 2))
    pos[0] = (12.0, 8.0)
    for k in range(1, len(t)):  # 6 m/s along the heading
        pos[k] = pos[k - 1] + 0.6 * np.array([math.cos(yaw[k - 1]), math.sin(yaw[k - 1])])
    times = {k: float(t[k]) for k in range(len(t))}
    onto = Ontology.default()
    dets = {}
    for k in range(len(t)):
        pts = _car_faces(pos[k, 0], pos[k, 1], float(yaw[k]), rng)
        dets[k] = Detection(Box3D((pos[k, 0], pos[k, 1], 0.75), (4.5, 1.9, 1.5), float(yaw[k])), "car", 0.8,
                            len(pts), points=pts, origin=np.zeros(3))
    for prm, bound in ((TrackParams(), 3.0), (TrackParams(axis_gate=0.0), None)):
        fin = finish_track(dets, times, "car", onto, prm)
        assert fin.moving
        err = np.array([abs(math.degrees(math.remainder(fin.boxes[k].yaw - yaw[k], 2 * math.pi))) for k in dets])
        if bound is not None:
            assert err.max() <= bound, err.round(1)
        else:
            assert err[-1] > 10.0, err.round(1)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_prelabel_tracks")


def test_track_level_floors_on_one_seed(bench: ModuleType) -> None:
    """Seed 0, 30 frames: what accept-above-threshold takes is right and finds the cars; heading
    flips and pedestrian sizes are fixed; parked tracks need few keyframes (measured: car recall of
    the accepted 0.83, precision 0.99, no flip, pedestrian recall 0.78, 2.2 keyframes per car)."""
    truth, props = bench.seed_runs(0, 30, [True])
    sc = bench.score_seed(truth, props[True], 0.6, True)
    car, ped = sc["car"], sc["pedestrian"]
    assert car.right_acc_boxes / car.acc_boxes >= 0.95
    assert car.found_boxes_acc / car.gt_boxes >= 0.75
    assert car.found_boxes / car.gt_boxes >= 0.85
    assert car.flips_acc / car.matched_acc <= 0.02
    assert ped.found_boxes / ped.gt_boxes >= 0.7
    se = np.array(ped.size_err)
    assert se[:, 0].mean() < 0.25 and se[:, 1].mean() < 0.15
    assert np.mean(car.keyframes) <= 3.5


# ---- people: heading, size and centre from their points ---------------------------------------------
#: the synthetic pedestrian's parts (fusionlabel.synth.scene.pedestrian_parts, 1.75 m tall): legs,
#: torso, head as (length along the heading, width, bottom, top) m; its true box is 0.30 x 0.50
PERSON = ((0.28, 0.40, 0.0, 0.82), (0.30, 0.50, 0.82, 1.49), (0.22, 0.20, 1.49, 1.75))


def _scan_person(centre: tuple[float, float], yaw: float, origin: np.ndarray, rng: np.random.Generator,
                 parts: tuple[tuple[float, ...], ...] = PERSON, reach: float = 0.5) -> np.ndarray:
    """World points (N, 3) of the object of ``parts`` (length, width, bottom, top[, offset along
    the heading]) at BEV ``centre`` headed ``yaw`` as a 64-beam LiDAR at ``origin`` (3,) sees it:
    0.2-degree azimuth steps (within ``reach`` m of the centre), 1 cm range noise, nearest part hit."""
    from fusionlabel.synth.raycast import ray_box

    rel = np.asarray(centre) - origin[:2]
    az0, rng_xy = math.atan2(rel[1], rel[0]), float(np.hypot(*rel))
    half = math.atan2(reach, rng_xy)
    az = az0 + np.radians(np.arange(-math.degrees(half), math.degrees(half), 0.2))
    el = np.radians(np.linspace(-24.8, 2.0, 64))
    a, e = np.meshgrid(az, el)
    dirs = np.column_stack([(np.cos(e) * np.cos(a)).ravel(), (np.cos(e) * np.sin(a)).ravel(), np.sin(e).ravel()])
    best = np.full(len(dirs), np.inf)
    for length, width, z0, z1, *off in parts:
        du = off[0] if off else 0.0
        c = np.array([centre[0] + du * math.cos(yaw), centre[1] + du * math.sin(yaw), (z0 + z1) / 2])
        t, _, _, _ = ray_box(origin, dirs, c, np.array([length / 2, width / 2, (z1 - z0) / 2]), yaw)
        best = np.minimum(best, t)
    hit = np.isfinite(best)
    t = best[hit] + rng.normal(0.0, 0.01, int(hit.sum()))
    return origin + dirs[hit] * t[:, None]


def _person_track(yaw: float, rng: np.random.Generator, speed: float = 0.0, lateral: float = 8.0,
                  frames: int = 20) -> tuple[dict[int, Detection], dict[int, float], dict[int, Box3D]]:
    """A person (standing, or walking at ``speed`` m/s along ``yaw``) passed by a sensor driving
    along +x at 8 m/s, ``lateral`` m to its side: per frame the detection (its points), the
    times (s) and the true boxes."""
    dets, times, truth = {}, {}, {}
    for f in range(frames):
        t = 0.1 * f
        c = (speed * t * math.cos(yaw), speed * t * math.sin(yaw))
        origin = np.array([-8.0 + 8.0 * t, -lateral, 1.8])
        pts = _scan_person(c, yaw, origin, rng)
        box = Box3D((c[0], c[1], 0.875), (0.30, 0.50, 1.75), yaw)
        dets[f] = Detection(box.replace(size=(0.8, 0.7, 1.75)), "pedestrian", 0.6, len(pts), points=pts,
                            origin=origin, probabilities={"pedestrian": 1.0}, ego_yaw=0.0)
        times[f], truth[f] = t, box
    return dets, times, truth


def _axis_error_deg(a: float, b: float) -> float:
    return abs(math.degrees(math.remainder(2.0 * (a - b), 2.0 * math.pi))) / 2.0


def test_body_axis_of_a_standing_person_at_any_yaw() -> None:
    """The union of a standing person's upper-body points over a drive-by gives the axis the person
    faces along (modulo 180 degrees) within 3 degrees at any yaw (the principal axis of such points,
    the estimate before, was 6-39 degrees off for the standing people of synthetic seeds 0-4: the
    faces the sensor saw pull it round)."""
    from fusionlabel.assist.tracklabel import body_axis

    rng = np.random.default_rng(7)
    for yaw in rng.uniform(-math.pi, math.pi, 8):
        dets, _, _ = _person_track(float(yaw), rng)
        pts = np.vstack([d.points for d in dets.values()])
        upper = pts[pts[:, 2] >= 0.55 * 1.75]
        assert _axis_error_deg(body_axis(upper[:, :2]), float(yaw)) <= 3.0


def test_finished_standing_person_gets_its_axis_size_and_centre() -> None:
    """A standing person at a random yaw, passed by the sensor: held still, one heading within 3
    degrees of its axis (modulo 180), its footprint within 3 cm of 0.30 x 0.50 m and its centre
    within 4 cm of the truth, so the box overlaps the true one by BEV IoU >= 0.8."""
    from fusionlabel.assist.tracklabel import finish_track
    from fusionlabel.geometry import bev_iou
    from fusionlabel.ontology import Ontology

    rng = np.random.default_rng(3)
    onto = Ontology.default()
    for yaw in rng.uniform(-math.pi, math.pi, 5):
        dets, times, truth = _person_track(float(yaw), rng, lateral=float(rng.uniform(6.0, 14.0)))
        fin = finish_track(dets, times, "pedestrian", onto)
        assert not fin.moving
        box = fin.boxes[10]
        assert _axis_error_deg(box.yaw, float(yaw)) <= 3.0
        assert abs(box.size[0] - 0.30) <= 0.03 and abs(box.size[1] - 0.50) <= 0.03
        assert math.dist(box.center[:2], truth[10].center[:2]) <= 0.04
        assert bev_iou(box, truth[10]) >= 0.8


def test_finished_walker_is_sized_by_its_points_not_more() -> None:
    """A walker at 1.3 m/s: headed along its motion, its size within 3 cm of 0.30 x 0.50 m (the
    margin for the point spacing was a fixed 5 cm: 0.34 x 0.55, a box that leaves BEV IoU 0.8 at best)."""
    from fusionlabel.assist.tracklabel import finish_track
    from fusionlabel.ontology import Ontology

    rng = np.random.default_rng(5)
    onto = Ontology.default()
    for yaw, lateral in ((0.4, 7.0), (2.0, 12.0), (-1.2, 9.0)):
        dets, times, truth = _person_track(yaw, rng, speed=1.3, lateral=lateral)
        fin = finish_track(dets, times, "pedestrian", onto)
        assert fin.moving
        box = fin.boxes[10]
        assert abs(math.degrees(math.remainder(box.yaw - yaw, 2 * math.pi))) <= 5.0
        assert abs(box.size[0] - 0.30) <= 0.03 and abs(box.size[1] - 0.50) <= 0.03


def test_walker_keyframes_keep_it_within_a_share_of_its_size() -> None:
    """A walker's accepted track keeps the keyframes that keep every box within 3 cm (a tenth of
    its 0.3 m length), its last box included: the 0.15 m of a car held a walker's last box where it
    was a frame before (13 cm behind at 1.3 m/s, BEV IoU 0.4)."""
    boxes = {f: Box3D((0.13 * f, 0.08 * math.sin(f / 3.0), 0.875), (0.30, 0.50, 1.75), 0.0) for f in range(30)}
    kept = reduce_keyframes(boxes, hold=True)
    assert 29 in kept
    got = interpolate_boxes_at(kept, range(30), "smooth")
    for f, b in zip(range(30), got, strict=True):
        assert math.dist(b.center[:2], boxes[f].center[:2]) <= 0.03 + 1e-9
    cars = {f: _box(0.13 * f) for f in range(30)}  # a car creeping along: 0.15 m as before
    assert sorted(reduce_keyframes(cars, hold=True)) == [0, 29]


def test_walker_with_a_neighbour_merged_at_one_frame() -> None:
    """A walker whose cluster took in a neighbour 1 m aside (on the sensor's side) at one frame
    (its box there thrown off): the frames around it stay on the walker (within 4 cm), not pulled
    by that box through the motion fit."""
    from fusionlabel.assist.tracklabel import finish_track
    from fusionlabel.ontology import Ontology

    rng = np.random.default_rng(11)
    dets, times, truth = _person_track(0.3, rng, speed=1.3, lateral=9.0)
    c = np.asarray(truth[10].center)
    side = np.array([-math.sin(0.3), math.cos(0.3), 0.0])
    extra = c - 1.0 * side + np.column_stack([rng.uniform(-0.15, 0.15, (60, 2)), rng.uniform(-0.8, 0.8, 60)])
    dets[10] = Detection(dets[10].box, "pedestrian", 0.6, len(dets[10].points) + 60,
                         points=np.vstack([dets[10].points, extra]), origin=dets[10].origin,
                         probabilities={"pedestrian": 1.0}, ego_yaw=0.0)
    fin = finish_track(dets, times, "pedestrian", Ontology.default())
    assert fin.moving
    for f in dets:
        if f != 10:
            assert math.dist(fin.boxes[f].center[:2], truth[f].center[:2]) <= 0.04, f


#: the synthetic cyclist (fusionlabel.synth.scene.cyclist_parts): the bike and the rider 0.15 m
#: behind its middle; its true box is 1.75 x 0.50 x 1.8
CYCLIST = ((1.75, 0.45, 0.0, 1.0, 0.0), (0.5, 0.5, 1.0, 1.8, -0.15))


def _rider_track(rng: np.random.Generator, frames: int = 30, side: int = 3
                 ) -> tuple[dict[int, Detection], dict[int, float], dict[int, Box3D]]:
    """A cyclist riding along +x at 5 m/s, followed by a sensor 14 m back at the same speed, 0.3 m
    aside (its rider hides the bike's length) and at the last ``side`` frames 1.5-2.5 m aside (the
    bike's side seen at a grazing angle, 6-10 degrees). Each frame's class guess leans to
    pedestrian (a bike seen from behind looks like a person)."""
    dets, times, truth = {}, {}, {}
    for f in range(frames):
        t = 0.1 * f
        c = (5.0 * t, 0.0)
        k = f - (frames - side)
        origin = np.array([c[0] - 14.0, -(0.3 if k < 0 else 1.5 + 0.5 * k), 1.8])
        pts = _scan_person(c, 0.0, origin, rng, CYCLIST, reach=1.2)
        box = Box3D((c[0], c[1], 0.9), (1.75, 0.50, 1.8), 0.0)
        dets[f] = Detection(box.replace(size=(0.8, 0.7, 1.8)), "pedestrian", 0.6, len(pts), points=pts,
                            origin=origin, probabilities={"pedestrian": 0.7, "cyclist": 0.3}, ego_yaw=0.0)
        times[f], truth[f] = t, box
    return dets, times, truth


def test_a_bike_seen_from_behind_is_a_rider_of_the_class_length() -> None:
    """A cyclist followed from behind looks like a person in every sweep; its track's points reach
    along its motion as a bike's do at a few frames, so it is a cyclist, and its length (its side
    never seen more than 15 degrees off) is at least the class's typical one: every box overlaps
    the truth by BEV IoU >= 0.8 (with the 0.5 m most sweeps show, clipped to the class's smallest,
    1.2 m, the box anchored at its rear sat 0.3 m behind). A walker stays a walker."""
    from fusionlabel.assist.tracklabel import finish_track, ridden_instead
    from fusionlabel.geometry import bev_iou
    from fusionlabel.ontology import Ontology

    rng = np.random.default_rng(13)
    onto = Ontology.default()
    dets, times, truth = _rider_track(rng)
    reach = [float(np.ptp(d.points[:, 0])) for d in dets.values()]
    assert sum(r >= 1.2 for r in reach) == 3 and np.median(reach) < 0.6
    fin = finish_track(dets, times, "pedestrian", onto)
    assert fin.moving and ridden_instead(dets, fin, "pedestrian", onto) == "cyclist"
    fin = finish_track(dets, times, "cyclist", onto)
    assert all(bev_iou(fin.boxes[f], truth[f]) >= 0.8 for f in truth)
    wdets, wtimes, _ = _person_track(0.0, rng, speed=1.3)
    walker = finish_track(wdets, wtimes, "pedestrian", onto)
    assert walker.moving and ridden_instead(wdets, walker, "pedestrian", onto) is None


def test_inside_share_is_the_share_of_the_points_inside() -> None:
    """Three of four points inside the box (grown by the margin): 0.75, whichever point comes first
    (the share once read the first point's row of the box-by-point mask: 0 or 1)."""
    from fusionlabel.assist.tracklabel import _inside_share

    box = Box3D((0.0, 0.0, 0.5), (1.0, 1.0, 1.0), 0.0)
    pts = np.array([[3.0, 0.0, 0.5], [0.0, 0.0, 0.5], [0.55, 0.0, 0.5], [0.2, -0.2, 0.9]])
    for order in ([0, 1, 2, 3], [1, 0, 3, 2]):
        det = Detection(box, "pedestrian", 0.5, 4, points=pts[order])
        assert _inside_share(det, box, 0.1) == pytest.approx(0.75)
    assert _inside_share(Detection(box, "pedestrian", 0.5, 4, points=pts), box, 0.0) == pytest.approx(0.5)
