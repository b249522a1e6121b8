"""The synthetic scene generator: ground truth, LiDAR and camera self-consistency.

These tests check the generator's outputs against each other through independent code paths: the
LiDAR returns against the GT boxes (via the rig and the ego poses), an independent brute-force
visibility test against the presence of returns, and the rendered instance masks against the GT
boxes projected with calib (forward distortion model, not the renderer's pixel rays).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from calib.projection import box_extent2d
from calib.transforms import invert, transform_points
from fusionlabel.synth import SynthConfig, SynthScene
from fusionlabel.synth.scene import primitives_at

CFG = SynthConfig(frames=4, seed=3, cameras=6, image_size=(320, 180))


@pytest.fixture(scope="module")
def scene() -> SynthScene:
    return SynthScene(CFG)


@pytest.fixture(scope="module")
def frames(scene: SynthScene) -> list:
    return [scene.frame(i) for i in (0, len(scene) - 1)]


# ---- ground truth --------------------------------------------------------------------------------
def test_tracks_cover_every_frame_with_stable_ids(scene: SynthScene) -> None:
    tracks = scene.tracks()
    assert len(tracks) >= 15
    ids = [t.track_id for t in tracks]
    assert len(set(ids)) == len(ids) and min(ids) >= 0
    assert {t.label for t in tracks} == {"car", "pedestrian", "cyclist"}
    for tr in tracks:
        assert tr.keyframe_indices() == list(range(len(scene)))
        for i in range(len(scene)):
            assert tr.box_at(i) == scene.boxes(i)[tr.track_id]
    # moving agents move, parked cars do not
    moving = [t for t in tracks if t.attributes["state"] == "moving"]
    parked = [t for t in tracks if t.attributes["state"] == "parked"]
    assert moving and parked
    last = len(scene) - 1
    for t in moving:
        assert np.linalg.norm(np.subtract(t.box_at(last).center, t.box_at(0).center)) > 0.2
    for t in parked:
        assert t.box_at(last) == t.box_at(0)


def test_ego_drives_a_curved_path_at_10hz(scene: SynthScene) -> None:
    ts = [scene.timestamp_ns(i) for i in range(len(scene))]
    assert np.all(np.diff(ts) == 100_000_000)
    long = SynthScene(SynthConfig(frames=40, seed=3, cameras=0))
    yaws = [math.atan2(long.ego_pose(i)[1, 0], long.ego_pose(i)[0, 0]) for i in range(40)]
    assert abs(yaws[-1] - yaws[0]) > math.radians(5)  # it turns
    step = np.linalg.norm(long.ego_pose(1)[:3, 3] - long.ego_pose(0)[:3, 3])
    assert 0.5 < step < 1.0  # 5-10 m/s at 10 Hz


def test_turning_and_lane_changing_cars() -> None:
    long = SynthScene(SynthConfig(frames=60, seed=5, cameras=0))
    tracks = long.tracks()
    yaw_change = [abs(math.remainder(t.box_at(59).yaw - t.box_at(0).yaw, 2 * math.pi)) for t in tracks]
    assert max(yaw_change) > math.radians(60)  # the car turning into the side street
    road = long.layout.road
    lateral = []
    for t in tracks:
        d = [float(road.to_road(*t.box_at(i).center[:2])[1]) for i in range(60)]
        lateral.append(max(d) - min(d))
    assert sorted(lateral)[-2] > 2.5  # a lane change (besides the turn)


def test_gt_box_encloses_every_part(scene: SynthScene) -> None:
    t = scene.time_s(2)
    prims = primitives_at(scene.layout.objects, t)
    boxes = scene.boxes(2)
    corners = prims.corners()
    for p in range(len(prims)):
        k = int(prims.instance[p])
        if k < 0:
            continue
        b = boxes[k]
        local = (corners[p] - np.asarray(b.center)) @ _rot(b.yaw)
        assert np.all(np.abs(local) <= np.asarray(b.size) / 2 + 1e-9)


def _rot(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# ---- LiDAR ---------------------------------------------------------------------------------------
def test_sweep_has_64_beams_about_100k_points_and_intensity(frames: list) -> None:
    for fr in frames:
        sweep = fr.lidar["lidar_top"]
        pts = sweep.points
        assert pts.dtype == np.float32 and pts.shape[1] == 4
        assert 90_000 <= pts.shape[0] <= 125_000
        assert np.isfinite(pts).all()
        inten = pts[:, 3]
        assert inten.min() >= 0.0 and inten.max() <= 1.0 and inten.std() > 0.05
        # every point lies on one of 64 beam elevations (range noise is along the ray)
        el = np.degrees(np.arctan2(pts[:, 2], np.hypot(pts[:, 0], pts[:, 1])))
        beams = np.linspace(-24.8, 2.0, 64)
        nearest = np.abs(el[:, None] - beams[None, :]).argmin(axis=1)
        assert np.abs(el - beams[nearest]).max() < 0.01
        assert np.unique(nearest).size == 64
        assert sweep.instance.shape == (pts.shape[0],) and sweep.instance.dtype == np.int32
        assert (sweep.instance >= 0).sum() > 2000


def _to_world(scene: SynthScene, fr, pts_lidar: np.ndarray) -> np.ndarray:
    T_world_from_lidar = fr.T_world_from_ego @ scene.rig.T("ego", "lidar_top")
    return transform_points(T_world_from_lidar, pts_lidar.astype(np.float64))


def test_lidar_returns_lie_inside_their_gt_box(scene: SynthScene, frames: list) -> None:
    checked = 0
    for fr in frames:
        sweep = fr.lidar["lidar_top"]
        pts_world = _to_world(scene, fr, sweep.points[:, :3])
        for k in np.unique(sweep.instance):
            if k < 0:
                continue
            box = fr.boxes[int(k)]
            local = (pts_world[sweep.instance == k] - np.asarray(box.center)) @ _rot(box.yaw)
            excess = np.abs(local) - np.asarray(box.size) / 2
            assert excess.max() <= 0.01, f"track {k}: a point is {excess.max():.3f} m outside its box"
            checked += 1
        # and no object point is labelled ground: points inside a GT box belong to that box
        for k, box in fr.boxes.items():
            local = (pts_world - np.asarray(box.center)) @ _rot(box.yaw)
            inside = np.all(np.abs(local) < np.asarray(box.size) / 2 - 0.02, axis=1)
            assert np.all(sweep.instance[inside] == k)
    assert checked >= 10


def test_lidar_agrees_with_core_points_in_boxes(scene: SynthScene, frames: list) -> None:
    """Cross-check with the core's vectorised points-in-boxes (fusionlabel.geometry)."""
    from fusionlabel.geometry import point_box_indices, points_in_boxes

    for fr in frames:
        sweep = fr.lidar["lidar_top"]
        pts_world = _to_world(scene, fr, sweep.points[:, :3])
        ids = sorted(fr.boxes)
        boxes = [fr.boxes[k] for k in ids]
        inside = points_in_boxes(pts_world, boxes, margin=0.01)
        for row, k in enumerate(ids):
            assert inside[row, sweep.instance == k].all(), f"track {k}"
        # ground and structure points are in no box (shrunk by 2 cm against range noise)
        first = point_box_indices(pts_world[sweep.instance < 0], boxes, margin=-0.02)
        assert (first == -1).all()


def _first_hit(origin: np.ndarray, target: np.ndarray, prims) -> tuple[int, float]:
    """Brute force: index of the first part hit on the segment origin -> target and its distance."""
    d = target - origin
    best, best_t = -1, math.inf
    for p in range(len(prims)):
        R = _rot(float(prims.yaw[p]))
        o = (origin - prims.center[p]) @ R
        dd = d @ R
        h = prims.half[p]
        t0, t1 = -math.inf, math.inf
        for a in range(3):
            if abs(dd[a]) < 1e-12:
                if abs(o[a]) > h[a]:
                    t0, t1 = math.inf, -math.inf
                    break
                continue
            ta, tb = sorted(((-h[a] - o[a]) / dd[a], (h[a] - o[a]) / dd[a]))
            t0, t1 = max(t0, ta), min(t1, tb)
        if t0 <= t1 and t0 > 0 and t0 < best_t:
            best, best_t = p, t0
    return best, best_t


def test_visible_objects_within_40m_get_returns(scene: SynthScene, frames: list) -> None:
    n_visible = 0
    for fr in frames:
        prims = primitives_at(scene.layout.objects, scene.time_s(fr.index))
        T_world_from_lidar = fr.T_world_from_ego @ scene.rig.T("ego", "lidar_top")
        origin = T_world_from_lidar[:3, 3]
        hits = set(np.unique(fr.lidar["lidar_top"].instance).tolist())
        for k, box in fr.boxes.items():
            if np.hypot(*(np.asarray(box.center[:2]) - origin[:2])) > 40.0:
                continue
            # sample points spread over the object's parts (shrunken corners and face centres)
            samples = []
            for p in np.nonzero(prims.instance == k)[0]:
                R = _rot(float(prims.yaw[p]))
                h = prims.half[p] * 0.8
                for sx in (-1, 0, 1):
                    for sy in (-1, 0, 1):
                        for sz in (-1, 0, 1):
                            samples.append(prims.center[p] + R @ (h * (sx, sy, sz)))
            first = [_first_hit(origin, s, prims)[0] for s in samples]
            seen = np.mean([f >= 0 and prims.instance[f] == k for f in first])
            if seen >= 0.25:
                n_visible += 1
                assert k in hits, (
                    f"track {k} is visible from the lidar ({seen:.0%} of samples) but has no return"
                )
    assert n_visible >= 8


# ---- cameras -------------------------------------------------------------------------------------
def test_images_are_not_blank(frames: list, scene: SynthScene) -> None:
    assert set(frames[0].cameras) == set(scene.rig.camera_names())
    models = {scene.rig.camera(n).model for n in scene.rig.camera_names()}
    assert models == {"none", "radtan", "fisheye"}
    for fr in frames:
        for name, ci in fr.cameras.items():
            assert ci.image.shape == (180, 320, 3) and ci.image.dtype == np.uint8
            assert ci.image.std() > 15, name
            assert ci.instance.shape == (180, 320)
        objects = sum(int((ci.instance >= 0).sum()) for ci in fr.cameras.values())
        assert objects > 2000
        assert sum(np.unique(ci.instance[ci.instance >= 0]).size for ci in fr.cameras.values()) >= 10


def test_instance_masks_lie_inside_projected_gt_boxes(scene: SynthScene, frames: list) -> None:
    """Each object's rendered pixels are inside its GT box projected with calib (1 px tolerance)."""
    kernel = np.ones((3, 3), np.uint8)
    checked = {"none": 0, "radtan": 0, "fisheye": 0}
    for fr in frames:
        for name, ci in fr.cameras.items():
            cam = scene.rig.camera(name)
            T_cam_from_world = invert(fr.T_world_from_ego @ scene.rig.T("ego", name))
            for k in np.unique(ci.instance):
                if k < 0:
                    continue
                corners = transform_points(T_cam_from_world, fr.boxes[int(k)].corners())
                ext = box_extent2d(corners, cam, near=0.05, step_px=1.0, max_samples=2048)
                assert ext is not None and len(ext.polygon) >= 3, (
                    f"{name}: track {k} rendered but not projected"
                )
                region = np.zeros((cam.height, cam.width), np.uint8)
                poly = np.round(ext.polygon * 16).astype(np.int32)
                cv2.fillPoly(region, [poly], 1, lineType=cv2.LINE_8, shift=4)
                region = cv2.dilate(region, kernel)
                mask = ci.instance == k
                outside = int((mask & (region == 0)).sum())
                assert outside == 0, f"{name} frame {fr.index}: {outside} px of track {k} outside its box"
                checked[cam.model] += 1
    assert all(v >= 3 for v in checked.values()), checked


def test_masks_are_consistent_with_depth(frames: list) -> None:
    for fr in frames:
        for ci in fr.cameras.values():
            obj = ci.instance >= 0
            assert np.isfinite(ci.depth[obj]).all() and (ci.depth[obj] > 0).all()


# ---- determinism ---------------------------------------------------------------------------------
def test_same_seed_same_data_different_seed_different_data() -> None:
    cfg = SynthConfig(frames=2, seed=11, cameras=1, image_size=(96, 54), azimuths=360)
    a, b = SynthScene(cfg), SynthScene(cfg)
    c = SynthScene(SynthConfig(frames=2, seed=12, cameras=1, image_size=(96, 54), azimuths=360))
    fa, fb, fc = a.frame(1), b.frame(1), c.frame(1)
    assert np.array_equal(fa.lidar["lidar_top"].points, fb.lidar["lidar_top"].points)
    assert np.array_equal(fa.cameras["cam_front"].image, fb.cameras["cam_front"].image)
    assert [t.keyframes for t in a.tracks()] == [t.keyframes for t in b.tracks()]
    assert not np.array_equal(fa.cameras["cam_front"].image, fc.cameras["cam_front"].image)
    assert [t.keyframes for t in a.tracks()] != [t.keyframes for t in c.tracks()]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="cameras"):
        SynthConfig(cameras=3)
    with pytest.raises(ValueError, match="frames"):
        SynthConfig(frames=0)


def test_road_coordinates_round_trip() -> None:
    from fusionlabel.synth.road import Road

    for turn in (1, -1):
        road = Road(120.0, turn, 60.0)
        s = np.array([0.0, 10.0, 55.5, 140.0])
        d = np.array([-5.25, 0.0, 3.0, 14.0])
        xy = road.to_world(s, d)
        s2, d2 = road.to_road(xy[:, 0], xy[:, 1])
        assert np.allclose(s2, s) and np.allclose(d2, d)
        # d > 0 is to the left of the driving direction
        t, n = road.tangent_normal(30.0)
        left = road.to_world(30.0, 2.0) - road.to_world(30.0, 0.0)
        assert np.allclose(left, 2.0 * n) and abs(t[0] * n[1] - t[1] * n[0] - 1.0) < 1e-12
        assert np.allclose(road.to_world(0.0, 0.0), [0.0, 0.0])
