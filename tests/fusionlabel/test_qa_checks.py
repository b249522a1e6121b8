"""QA checks on a synthetic sequence: the clean ground truth yields no error, and each seeded
defect (one per check) is found at the track and frame where it was put."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from calib.transforms import transform_points
from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import FrameInfo, SequenceInfo, Track
from fusionlabel.qa import (
    QAConfig,
    QAConfigError,
    check_duplicate_ids,
    dedupe_document_dict,
    records_from_document_dict,
    run_checks,
)
from fusionlabel.synth import SynthConfig, SynthScene

N = 8


class Scene:
    """The synthetic sequence, its description and cached world-frame points."""

    def __init__(self) -> None:
        self.scene = SynthScene(SynthConfig(frames=N, seed=0, cameras=1, image_size=(160, 90), azimuths=720))
        sc = self.scene
        frames = [FrameInfo(i, sc.timestamp_ns(i), sc.ego_pose(i)) for i in range(N)]
        self.info = SequenceInfo("synth", "synth", frames, sc.rig)
        self.gt = sc.tracks()
        self.points: dict[int, np.ndarray] = {}
        for i in range(N):
            fr = sc.frame(i, cameras=False)
            self.points[i] = np.concatenate([
                transform_points(fr.T_world_from_ego @ sc.rig.T("ego", n), sw.points[:, :3].astype(float))
                for n, sw in fr.lidar.items()
            ])

    def load(self, frame: int) -> np.ndarray:
        return self.points[frame]

    def doc(self, tracks: list[Track] | None = None) -> AnnotationDocument:
        return AnnotationDocument.from_tracks(self.gt if tracks is None else tracks, N)

    def lidar_xy(self, frame: int) -> np.ndarray:
        return self.info.T_world_from_sensor(frame, self.info.lidar_names[0])[:2, 3]

    def dist(self, box: Box3D, frame: int) -> float:
        return float(np.hypot(*(np.array(box.center[:2]) - self.lidar_xy(frame))))

    def pick(self, label: str, state: str | None = None, exclude: tuple[int, ...] = ()) -> Track:
        """The track of ``label`` (and state) nearest to the LiDAR at the middle frame."""
        cands = [t for t in self.gt if t.label == label and (state is None or t.attributes.get("state") == state)
                 and t.track_id not in exclude]
        return min(cands, key=lambda t: self.dist(t.keyframes[N // 2], N // 2))

    @property
    def clean(self):  # type: ignore[no-untyped-def]
        if not hasattr(self, "_clean"):
            self._clean = self.run(self.doc())
        return self._clean

    def run(self, doc: AnnotationDocument, **kw: object):  # type: ignore[no-untyped-def]
        return run_checks(doc, self.info, self.load, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def s() -> Scene:
    return Scene()


def test_clean_ground_truth_has_no_error(s: Scene) -> None:
    res = s.clean
    assert res.by_severity()["error"] == 0, [f.message for f in res.select(severity="error")]
    # occluded GT objects may be empty (warning) or sparse (info); nothing else fires on clean data
    assert {f.check for f in res.findings} <= {"empty_box", "few_points"}
    assert {f.severity for f in res.select(check="empty_box")} <= {"warning"}
    assert all(f.details["points"] == 0 for f in res.select(check="empty_box"))
    assert all(0 < f.details["points"] < 5 and f.severity == "info" for f in res.select(check="few_points"))
    assert res.select(check="few_points") and res.select(check="empty_box")  # sparse / occluded GT exists
    assert res.frames == N and res.tracks == len(s.gt) and res.boxes == N * len(s.gt)
    assert "duplicate_id" in res.skipped  # no raw records given
    assert all(f.location is not None for f in res.findings)


def _replace(s: Scene, track: Track) -> list[Track]:
    return [track if t.track_id == track.track_id else t for t in s.gt]


def _empty_box(s: Scene) -> tuple[list[Track], int, int]:
    """A car-sized box 10 cm above open ground (no object within 8 m): no point inside."""
    f = 3
    pts = s.points[f]
    d = np.hypot(*(pts[:, :2] - s.lidar_xy(f)).T)
    centres = np.array([t.keyframes[f].center[:2] for t in s.gt])
    ground = pts[(np.abs(pts[:, 2]) < 0.05) & (d > 8) & (d < 30)]
    far = np.min(np.hypot(*(ground[:, None, :2] - centres[None]).transpose(2, 0, 1)), axis=1) > 8
    x, y = ground[far][0, :2]
    tid = 1000
    box = Box3D((float(x), float(y), 0.1 + 0.8), (4.5, 1.9, 1.6), 0.0)
    return [*s.gt, Track(tid, "car", {"state": "parked"}, {f: box})], tid, f


def _size_range(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "moving")
    kf = {f: b.replace(size=(b.size[0] * 0.5, b.size[1], b.size[2])) for f, b in t.keyframes.items()}
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 2


def _size_change(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "parked")
    b = t.keyframes[5]
    kf = {**t.keyframes, 5: b.replace(size=(b.size[0] * 1.3, b.size[1], b.size[2]))}
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 5


def _lateral(b: Box3D, d: float) -> Box3D:
    return b.replace(center=(b.center[0] - d * math.sin(b.yaw), b.center[1] + d * math.cos(b.yaw), b.center[2]))


def _speed(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("pedestrian", "moving")
    kf = {**t.keyframes, 4: _lateral(t.keyframes[4], 2.0)}  # 2 m in 0.1 s: 20 m/s > 10 m/s
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 4


def _acceleration(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "moving")
    kf = {**t.keyframes, 4: _lateral(t.keyframes[4], 1.5)}  # ~18 m/s: plausible speed, not acceleration
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 4


def _heading_flip(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "moving")
    kf = {**t.keyframes, 5: t.keyframes[5].replace(yaw=t.keyframes[5].yaw + math.pi)}
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 5


def _overlap(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "parked")
    dup = t.copy(track_id=2000, keyframes={f: _lateral(b, 0.3) for f, b in t.keyframes.items()})
    return [*s.gt, dup], t.track_id, 0


def _floating(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "parked")
    b = t.keyframes[6]
    kf = {**t.keyframes, 6: b.replace(center=(b.center[0], b.center[1], b.center[2] + 0.8))}
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 6


def _sunk(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "moving")
    b = t.keyframes[2]
    kf = {**t.keyframes, 2: b.replace(center=(b.center[0], b.center[1], b.center[2] - 0.6))}
    return _replace(s, t.copy(keyframes=kf)), t.track_id, 2


def _gap(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("cyclist", "moving")
    kf = {f: b for f, b in t.keyframes.items() if f not in (3, 4)}
    return _replace(s, t.copy(keyframes=kf, gaps=((3, 4),))), t.track_id, 3


def _range(s: Scene) -> tuple[list[Track], int, int]:
    f = 1
    T = s.info.T_world_from_sensor(f, s.info.lidar_names[0])
    c = transform_points(T, np.array([[125.0, 0.0, -T[2, 3] + 0.8]]))[0]
    tid = 3000
    return [*s.gt, Track(tid, "car", {"state": "parked"}, {f: Box3D(tuple(c), (4.5, 1.9, 1.6), 0.0)})], tid, f


def _attributes(s: Scene) -> tuple[list[Track], int, int]:
    t = s.pick("car", "moving")
    return _replace(s, t.copy(attributes={})), t.track_id, 0


DEFECTS = {
    "empty_box": _empty_box,
    "size_range": _size_range,
    "size_change": _size_change,
    "speed": _speed,
    "acceleration": _acceleration,
    "heading_flip": _heading_flip,
    "overlap": _overlap,
    "ground/floating": _floating,
    "ground/sunk": _sunk,
    "track_gap": _gap,
    "lidar_range": _range,
    "attributes": _attributes,
}


@pytest.mark.parametrize("name", list(DEFECTS))
def test_seeded_defect_is_found(s: Scene, name: str) -> None:
    tracks, tid, frame = DEFECTS[name](s)
    check = name.split("/")[0]
    res = s.run(s.doc(tracks))
    hits = res.select(check=check, track_id=tid)
    seen = [(f.check, f.track_id, f.frame) for f in res.findings if f.check != "few_points"]
    assert hits, f"{name} not found; findings: {seen}"
    assert any(f.frame == frame for f in hits), [(f.frame, f.message) for f in hits]
    hit = next(f for f in hits if f.frame == frame)
    assert hit.location is not None and all(math.isfinite(v) for v in hit.location)
    # the finding is about the defect, not noise: the clean data had none of this check
    assert not s.clean.select(check=check) or check == "empty_box"
    if name == "ground/floating":
        assert "floats" in hit.message and hit.details["offset_m"] == pytest.approx(0.8, abs=0.1)
    if name == "ground/sunk":
        assert "sunk" in hit.message and hit.details["offset_m"] == pytest.approx(-0.6, abs=0.1)
    if name == "attributes":
        assert hit.severity == "error" and "state" in hit.message
    if name == "heading_flip":
        assert hit.severity == "error" and hit.details["yaw_change_deg"] == pytest.approx(180, abs=5)
    if name == "overlap":
        assert hit.details["other_track_id"] == 2000 and hit.severity == "error"
    if name == "speed":
        assert hit.details["speed_mps"] > 15
    if name == "acceleration":
        assert not res.select(check="speed", track_id=tid)  # a car at ~18 m/s is not too fast
    if name == "track_gap":
        assert (hit.details["first"], hit.details["last"]) == (3, 4)
    if name == "lidar_range":
        assert hit.details["distance_m"] == pytest.approx(125, abs=0.5)


def test_duplicate_ids_found_in_raw_document_data(s: Scene) -> None:
    data = s.doc().to_dict()
    entry = copy.deepcopy(data["tracks"][3])
    tid = entry["id"]
    entry["keyframes"] = {k: v for k, v in entry["keyframes"].items() if int(k) in (2, 3, 4)}
    data["tracks"].append(entry)  # e.g. two documents merged by hand
    with pytest.raises(Exception, match="duplicate track id"):
        AnnotationDocument.from_dict(data)
    recs = records_from_document_dict(json.loads(json.dumps(data)))
    found = check_duplicate_ids(recs)
    assert [(f.track_id, f.frame) for f in found] == [(tid, 2), (tid, 3), (tid, 4)]
    assert all(f.severity == "error" and f.location is not None for f in found)
    fixed, renamed = dedupe_document_dict(data)
    doc = AnnotationDocument.from_dict(fixed)
    assert renamed == {max(t.track_id for t in s.gt) + 1: tid} and len(doc) == len(s.gt) + 1
    res = s.run(doc, records=recs)
    assert len(res.select(check="duplicate_id")) == 3 and "duplicate_id" not in res.skipped
    assert not check_duplicate_ids(records_from_document_dict(s.doc().to_dict()))


def test_config_override_changes_thresholds_and_severities(s: Scene, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tracks, tid, frame = _speed(s)
    doc = s.doc(tracks)
    cfg = QAConfig.from_dict({"checks": {"speed": {"severity": "info"}, "empty_box": {"enabled": False}},
                              "classes": {"pedestrian": {"max_speed_mps": 50.0}}})
    res = s.run(doc, config=cfg)
    assert not res.select(check="speed") and not res.select(check="empty_box")
    cfg2 = QAConfig.from_dict({"checks": {"speed": {"severity": "info"}}})
    assert {f.severity for f in s.run(doc, config=cfg2).select(check="speed")} == {"info"}
    p = tmp_path / "qa.json"
    p.write_text(json.dumps({"checks": {"ground": {"tolerance_m": "big"}}}))
    with pytest.raises(QAConfigError, match=r"qa\.json: checks\.ground\.tolerance_m: wrong type"):
        QAConfig.load(p)
    p.write_text(json.dumps({"checks": {"nope": {}}}))
    with pytest.raises(QAConfigError, match=r"checks\.nope: unknown check"):
        QAConfig.load(p)
    p.write_text(json.dumps({"checks": {"speed": {"severity": "fatal"}}}))
    with pytest.raises(QAConfigError, match=r"checks\.speed\.severity"):
        QAConfig.load(p)
    p.write_text("{oops")
    with pytest.raises(QAConfigError, match="invalid JSON at line 1"):
        QAConfig.load(p)
    with pytest.raises(QAConfigError, match="file not found"):
        QAConfig.load(tmp_path / "missing.json")


def test_checks_without_points_or_info_skip_what_they_need(s: Scene) -> None:
    tracks, tid, frame = _heading_flip(s)
    res = run_checks(s.doc(tracks))
    assert res.select(check="heading_flip", track_id=tid, frame=frame)
    assert {"empty_box", "few_points", "ground", "lidar_range"} <= set(res.skipped)
    assert "ground" not in res.counts()


def test_labels_resolve_through_dataset_names() -> None:
    box = Box3D((10.0, 0.0, 0.8), (4.5, 1.9, 1.6), 0.0)
    long = Box3D((30.0, 0.0, 0.8), (9.0, 1.9, 1.6), 0.0)
    doc = AnnotationDocument.from_tracks([
        Track(0, "Car", {}, {0: box}),  # KITTI type -> car: no attribute requirement, car size prior
        Track(1, "vehicle.car", {"instance_token": "x"}, {0: long}),  # nuScenes category -> car
        Track(2, "spaceship", {}, {0: box.replace(center=(50.0, 0.0, 0.8))}),
        Track(3, "car", {"state": "flying", "colour": "red"}, {0: box.replace(center=(70.0, 0.0, 0.8))}),
    ], 1)
    res = run_checks(doc)
    att = {(f.track_id, f.severity, f.message) for f in res.select(check="attributes")}
    assert att == {
        (2, "warning", "spaceship: unknown class 'spaceship'"),
        (3, "warning", "car: attribute 'state': 'flying' is not one of ['moving', 'stopped', 'parked']"),
        (3, "info", "car: attribute 'colour' is not declared for class 'car'"),
    }
    assert [f.track_id for f in res.select(check="size_range")] == [1]


def test_motion_checks_need_ego_poses(s: Scene) -> None:
    tracks, tid, frame = _speed(s)
    still = SequenceInfo("x", "x", [FrameInfo(i, s.scene.timestamp_ns(i)) for i in range(N)], s.scene.rig)
    res = run_checks(s.doc(tracks), still)
    assert {"speed", "acceleration"} <= set(res.skipped) and not res.select(check="speed")
    cfg = QAConfig.from_dict({"checks": {"speed": {"require_ego_poses": False}}})  # a static sensor
    res = run_checks(s.doc(tracks), still, config=cfg)
    assert res.select(check="speed", track_id=tid, frame=frame) and "acceleration" in res.skipped
