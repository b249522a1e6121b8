"""Point labels: class table, lazy bounded store, undoable commands, tools and QA (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.pointlabels import (
    NO_INSTANCE,
    UNLABELLED,
    ClassTable,
    FrameLabels,
    PointLabels,
    instance_of_track,
    label_points,
)
from fusionlabel.pointlabels.qa import check_point_labels
from fusionlabel.pointlabels.tools import (
    Sweeps,
    brush_mask,
    cleanup_small_clusters,
    fill_from_boxes,
    ground_and_road,
    label_mask,
    lasso_mask,
)


def test_default_table_is_lidarseg_and_maps_kitti() -> None:
    t = ClassTable.default()
    assert t.index("noise") == 0 and t.index("vehicle.car") == 17 and t.index("flat.driveable_surface") == 24
    assert t.index("vehicle.ego") == 31 and len(t) == 34
    assert t.class_for_label("car") == 17 and t.class_for_label("cyclist") == 14
    assert t.class_for_label("pedestrian") == 2 and t.class_for_label("tram") is None
    # datasets that keep their own names: SUSTechPOINTS / KITTI capitalised classes
    assert t.class_for_label("Car") == 17 and t.class_for_label("Pedestrian") == 2
    assert t.class_for_label("Truck") == t.index("vehicle.truck") and t.class_for_label("Rider") is None
    sem = np.array([17, 24, 26, t.index("static.manmade.pole"), UNLABELLED], dtype=np.uint8)
    assert t.to_kitti(sem).tolist() == [10, 40, 48, 80, 0]
    assert t.to_nuscenes(sem).tolist() == [17, 24, 26, 28, 0]
    assert t.from_nuscenes(t.to_nuscenes(sem[:3])).tolist() == [17, 24, 26]
    assert ClassTable.from_dict(t.to_dict()) == t
    assert t.by_index(17).is_thing and not t.by_index(24).is_thing


class _Source:
    def __init__(self, data: dict[int, FrameLabels]) -> None:
        self.data = data

    def frames(self) -> list[int]:
        return list(self.data)

    def load(self, frame: int) -> FrameLabels:
        return self.data[frame].copy()


def test_store_is_lazy_and_bounded() -> None:
    src = _Source({f: FrameLabels(np.full(10, 24), np.zeros(10)) for f in range(50)})
    lab = PointLabels(frame_count=60, source=src, point_count=lambda f: 10, max_clean_frames=4)
    assert lab.held_frames() == [] and lab.loads == 0
    for f in range(50):
        assert lab.get(f).semantic[0] == 24
    assert len(lab.held_frames()) == 4 and lab.loads == 50
    assert lab.get(55).semantic.tolist() == [UNLABELLED] * 10  # no stored labels: unlabelled
    assert lab.has(3) and not lab.has(55)
    with pytest.raises(ModelError):
        lab.get(60)


def _doc_with_labels(n_frames: int = 3, n_points: int = 100) -> tuple[AnnotationDocument, UndoStack]:
    doc = AnnotationDocument(n_frames)
    doc.attach_point_labels(PointLabels(frame_count=n_frames, point_count=lambda f: n_points, max_clean_frames=0))
    return doc, UndoStack(doc)


def test_command_undo_redo_keeps_only_changes() -> None:
    doc, stack = _doc_with_labels()
    events = []
    doc.subscribe(lambda e: events.append(e))
    stack.push(label_points(1, np.arange(0, 60), semantic=17, instance=3))
    lab = doc.point_labels.get(1)
    assert (lab.semantic[:60] == 17).all() and (lab.semantic[60:] == UNLABELLED).all()
    assert (lab.instance[:60] == 3).all()
    assert events[-1].kind == "point_labels_changed" and events[-1].frames == (1,)
    cmd = stack.push(label_points(1, np.arange(50, 70), semantic=17))
    assert cmd.changed_points == 10  # 50..59 already car
    stack.undo()
    assert (doc.point_labels.get(1).semantic[60:70] == UNLABELLED).all()
    stack.undo()
    assert (doc.point_labels.get(1).semantic == UNLABELLED).all()
    assert (doc.point_labels.get(1).instance == NO_INSTANCE).all()
    stack.redo()
    stack.redo()
    assert (doc.point_labels.get(1).semantic[:70] == 17).all()
    # a bad index changes nothing
    with pytest.raises(ModelError):
        stack.push(label_points(2, [5, 100], semantic=1))
    assert (doc.point_labels.get(2).semantic == UNLABELLED).all()


def test_fill_from_boxes_every_frame_of_a_track_in_one_command() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    pts = {f: np.c_[rng.uniform(-10, 10, (n, 2)), rng.uniform(0, 2, n)] for f in range(5)}
    doc, stack = _doc_with_labels(5, n)
    doc._insert_track(Track(4, "car", {}, {0: Box3D((0, 0, 1), (4, 2, 2), 0.0), 4: Box3D((4, 0, 1), (4, 2, 2), 0.0)}))
    doc._insert_track(Track(7, "pedestrian", {}, {2: Box3D((-6, -6, 1), (1, 1, 2), 0.0)}))
    sweeps = Sweeps(lambda f: pts[f], np.zeros((5, 3)))
    cmd = fill_from_boxes(doc, sweeps)
    stack.push(cmd)
    assert len(stack) == 1 and cmd.frames == [0, 1, 2, 3, 4]
    for f in range(5):
        lab = doc.point_labels.get(f)
        x = 0 + f  # interpolated car centre
        in_car = (np.abs(pts[f][:, 0] - x) <= 2) & (np.abs(pts[f][:, 1]) <= 1)
        assert np.array_equal(lab.semantic == 17, in_car)
        assert (lab.instance[in_car] == instance_of_track(4)).all()
    ped = doc.point_labels.get(2).semantic == 2
    assert ped.sum() > 0 and (doc.point_labels.get(2).instance[ped] == 8).all()
    # QA: a car point relabelled pedestrian is a class conflict; an instance inside another box a split
    car_pts = np.flatnonzero(doc.point_labels.get(0).semantic == 17)
    stack.push(label_points(0, car_pts[:3], semantic=2))
    stack.push(label_points(2, np.flatnonzero(ped)[:2], instance=instance_of_track(4)))
    issues = check_point_labels(doc, doc.point_labels, sweeps)
    kinds = {(i.kind, i.frame, i.track_id) for i in issues}
    assert ("class_conflict", 0, 4) in kinds and ("instance_split", 2, 7) in kinds
    stack.undo()
    stack.undo()
    assert check_point_labels(doc, doc.point_labels, sweeps) == []
    stack.undo()
    assert (doc.point_labels.get(3).semantic == UNLABELLED).all()


def test_ground_and_road_keeps_objects_and_splits_by_path() -> None:
    rng = np.random.default_rng(1)
    ground = np.c_[rng.uniform(-30, 30, (4000, 2)), rng.normal(0, 0.02, 4000)]
    car = np.c_[rng.uniform(-1, 1, (300, 2)) + [10, 0], rng.uniform(0.05, 1.5, 300)]
    pts = np.vstack([ground, car])
    doc, stack = _doc_with_labels(2, len(pts))
    doc._insert_track(Track(0, "car", {}, {0: Box3D((10, 0, 0.8), (2.1, 2.1, 1.6), 0.0)}, end=1))
    sweeps = Sweeps(lambda f: pts, np.array([[-20, 0, 1.8], [20, 0, 1.8]]))
    stack.push(fill_from_boxes(doc, sweeps))
    stack.push(ground_and_road(doc, sweeps, road_width=8.0, ground_class="flat.sidewalk"))
    lab = doc.point_labels.get(1)
    t = doc.point_labels.table
    gsel = np.arange(len(ground))
    inner = np.abs(pts[gsel, 0]) < 19  # beside the path (x -20..20, y = 0), not beyond its ends
    road_near = inner & (np.abs(pts[gsel, 1]) < 7.9) & (np.abs(pts[gsel, 0] - 10) > 1.1)  # not under the car
    assert (lab.semantic[gsel][road_near] == t.index("flat.driveable_surface")).all()
    far = inner & (np.abs(pts[gsel, 1]) > 8.1)
    assert (lab.semantic[gsel][far] == t.index("flat.sidewalk")).all()
    assert (lab.semantic[len(ground):] == t.index("vehicle.car")).all()
    assert len(stack) == 2


def test_lasso_brush_and_cleanup() -> None:
    pts = np.array([[0.5, 0.5, 0.0], [1.5, 0.5, 0.0], [0.5, 0.5, 3.0], [2.5, 2.5, 0.0], [1.0, 1.9, 0.1]])
    concave = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]])  # an L
    assert lasso_mask(pts, concave).tolist() == [True, True, True, False, False]
    assert lasso_mask(pts, concave, z_band=(-1, 1)).tolist() == [True, True, False, False, False]
    assert brush_mask(pts, (0.5, 0.5), 0.2).tolist() == [True, False, True, False, False]
    with pytest.raises(ModelError):
        lasso_mask(pts, [[0, 0], [1, 1]])
    # cleanup: a 2-point stray piece of the car far from its body takes its neighbours' label
    rng = np.random.default_rng(2)
    body = rng.uniform(0, 1, (50, 3))
    ground = np.c_[rng.uniform(5, 7, (50, 2)), np.zeros(50)]
    stray = np.array([[6.0, 6.0, 0.0], [6.05, 6.0, 0.0]])
    allp = np.vstack([body, ground, stray])
    doc, stack = _doc_with_labels(1, len(allp))
    stack.push(label_mask(doc, 0, np.r_[np.ones(50, bool), np.zeros(52, bool)], "vehicle.car", 1))
    stack.push(label_mask(doc, 0, np.r_[np.zeros(50, bool), np.ones(50, bool), np.zeros(2, bool)], "flat.other"))
    stack.push(label_points(0, [100, 101], semantic=17, instance=1))
    sweeps = Sweeps(lambda f: allp, np.zeros((1, 3)))
    stack.push(cleanup_small_clusters(doc, sweeps, radius=0.3, min_points=5))
    lab = doc.point_labels.get(0)
    assert (lab.semantic[100:] == doc.point_labels.table.index("flat.other")).all()
    assert (lab.instance[100:] == 0).all() and (lab.semantic[:50] == 17).all()
    stack.undo()
    assert (doc.point_labels.get(0).semantic[100:] == 17).all()


def test_command_undo_memory_is_small() -> None:
    n = 100_000
    doc, stack = _doc_with_labels(4, n)
    mask = np.zeros(n, bool)
    mask[::2] = True
    cmd = label_mask(doc, 0, mask, "flat.other")
    stack.push(cmd)
    assert cmd.nbytes <= n // 8 + 64  # a bit mask and two scalars, not 50k int32 indices


def test_create_track_then_fill_is_two_steps() -> None:
    doc, stack = _doc_with_labels(2, 10)
    pts = np.zeros((10, 3))
    stack.push(CreateTrack("car", 0, Box3D((0, 0, 0), (1, 1, 1), 0.0), track_id=0, end=1))
    stack.push(fill_from_boxes(doc, Sweeps(lambda f: pts, np.zeros((2, 3)))))
    assert (doc.point_labels.get(1).instance == 1).all()
    stack.undo()
    stack.undo()
    assert len(doc) == 0 and (doc.point_labels.get(1).semantic == UNLABELLED).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset", [0.0, 3e4])
def test_points_in_any_box_equals_point_box_indices(dtype: type, offset: float, monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    import fusionlabel.geometry as geo

    rng = np.random.default_rng(5)
    pts = np.c_[rng.uniform(-50, 50, (20000, 2)) + offset, rng.uniform(-1, 4, 20000)]
    boxes = np.c_[rng.uniform(-40, 40, (30, 2)) + offset, rng.uniform(0, 2, 30), rng.uniform(0.5, 9, (30, 3)),
                  rng.uniform(-np.pi, np.pi, 30)]
    pts[:240] = geo.box_corners(boxes).reshape(-1, 3)  # on faces and corners: inside
    pts[240:245] = np.nan
    pts[245, 0] = np.inf
    pts = pts.astype(dtype)
    for margin in (0.0, 0.1, -0.05):
        full = geo.point_box_indices(pts, boxes, margin=margin)
        idx, box_of = geo.points_in_any_box(pts, boxes, margin=margin)
        assert idx.size > 500 and np.array_equal(idx, np.flatnonzero(full >= 0))
        assert np.array_equal(box_of, full[idx])
    # points in cells several boxes touch: the pairwise test and, past its budget, the general one
    monkeypatch.setattr(geo, "_CHUNK_PAIRS", 10)
    idx2, box_of2 = geo.points_in_any_box(pts, boxes, margin=-0.05)
    assert np.array_equal(idx2, idx) and np.array_equal(box_of2, box_of)
    assert geo.points_in_any_box(pts[:0], boxes)[0].size == 0 and geo.points_in_any_box(pts, boxes[:0])[0].size == 0


def test_fill_from_boxes_matches_per_frame_boxes() -> None:
    """The fill resolves each track once (interpolated, tracked and held boxes): the same points as
    the boxes of each frame (``doc.boxes_at``) tested one frame at a time; lowest track id wins."""
    from fusionlabel.geometry import as_box_array, point_box_indices

    rng = np.random.default_rng(3)
    n, frames = 3000, 12
    pts = {f: np.c_[rng.uniform(-15, 15, (n, 2)), rng.uniform(0, 2.5, n)].astype(np.float32) for f in range(frames)}
    doc, stack = _doc_with_labels(frames, n)
    doc._insert_track(Track(3, "car", {}, {0: Box3D((-8, 0, 1), (4, 2, 2), 0.0), 6: Box3D((0, 1, 1), (4.5, 2, 2), 0.4),
                                           11: Box3D((8, 3, 1), (4, 2, 2), 0.8)}))
    doc._insert_track(Track(1, "pedestrian", {}, {2: Box3D((-7, 0, 1), (1, 1, 2), 0.0),
                                                  9: Box3D((2, 2, 1), (1, 1, 2), 0.0)}, end=11))
    doc._insert_track(Track(5, "tram", {}, {4: Box3D((0, -5, 1), (3, 3, 2), 0.0)}))  # maps to no class
    stack.push(fill_from_boxes(doc, Sweeps(lambda f: pts[f], np.zeros((frames, 3))), margin=0.05))
    table = doc.point_labels.table
    for f in range(frames):
        refs = [r for r in doc.boxes_at(f) if table.class_for_label(r.label) is not None]
        want_s = np.full(n, UNLABELLED)
        want_i = np.zeros(n)
        if refs:
            b = point_box_indices(pts[f], as_box_array([r.box for r in refs]), margin=0.05)
            for k, r in enumerate(refs):
                want_s[b == k] = table.class_for_label(r.label)
                want_i[b == k] = instance_of_track(r.track_id)
        lab = doc.point_labels.get(f)
        assert np.array_equal(lab.semantic, want_s) and np.array_equal(lab.instance, want_i), f
    assert (doc.point_labels.get(10).instance == 2).any()  # the held pedestrian box after its last keyframe


def test_qa_run_checks_reports_point_label_findings_and_follows_undo() -> None:
    from fusionlabel.qa import run_checks
    from fusionlabel.qa.config import QAConfig

    rng = np.random.default_rng(1)
    n = 4000
    pts = {f: np.c_[rng.uniform(-10, 10, (n, 2)), rng.uniform(0, 2, n)] for f in range(3)}
    doc, stack = _doc_with_labels(3, n)
    doc._insert_track(Track(2, "car", {}, {0: Box3D((0, 0, 1), (4, 2, 2), 0.0), 2: Box3D((2, 0, 1), (4, 2, 2), 0.0)}))
    sweeps = Sweeps(lambda f: pts[f], np.zeros((3, 3)))

    def point_findings(**kw: object) -> list:
        res = run_checks(doc, point_labels=doc.point_labels, point_sweeps=sweeps, **kw)  # type: ignore[arg-type]
        return [f for f in res.findings if f.check.startswith("point_")]

    assert point_findings() == []  # no frame has point labels yet: nothing to check
    stack.push(fill_from_boxes(doc, sweeps))
    res = run_checks(doc, point_labels=doc.point_labels, point_sweeps=sweeps)
    assert {"point_class", "point_instance", "point_unlabelled"} <= set(res.checks_run)
    assert [f for f in res.findings if f.check.startswith("point_")] == []
    car1 = np.flatnonzero(doc.point_labels.get(1).semantic == 17)
    stack.push(label_points(1, car1[:4], semantic=2))  # 4 car points labelled pedestrian
    stack.push(label_points(1, car1[4:14], semantic=UNLABELLED, instance=0))  # 10 erased
    found = {(f.check, f.severity, f.frame, f.track_id): f for f in point_findings()}
    assert set(found) == {("point_class", "error", 1, 2), ("point_unlabelled", "warning", 1, 2)}
    assert found[("point_class", "error", 1, 2)].details["points"] == 4
    loc = found[("point_unlabelled", "warning", 1, 2)].location
    assert loc is not None and abs(loc[0] - 1.0) <= 2.0 and abs(loc[1]) <= 1.0  # inside the box at frame 1
    # the thresholds and switches come from the QA configuration
    cfg = QAConfig.from_dict({"checks": {"point_unlabelled": {"min_points": 11}, "point_class": {"enabled": False}}})
    assert point_findings(config=cfg) == []
    assert "point_class" not in run_checks(doc, config=cfg, point_labels=doc.point_labels,
                                           point_sweeps=sweeps).checks_run
    stack.undo()
    stack.undo()
    assert point_findings() == []
