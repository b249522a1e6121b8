"""Agreement between two annotation sets: perfect with itself, hand-computed figures with a
perturbed copy (deleted, shifted, raised, relabelled, split tracks and a false positive)."""

from __future__ import annotations

import math

import pytest

from fusionlabel.box import Box3D
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.qa import compare, match_frame
from fusionlabel.synth import SynthConfig, SynthScene

N = 8


@pytest.fixture(scope="module")
def gt() -> list[Track]:
    return SynthScene(SynthConfig(frames=N, seed=1, cameras=1, image_size=(160, 90), azimuths=360)).tracks()


def _along(b: Box3D, d: float) -> Box3D:
    return b.replace(center=(b.center[0] + d * math.cos(b.yaw), b.center[1] + d * math.sin(b.yaw), b.center[2]))


def test_self_agreement_is_perfect(gt: list[Track]) -> None:
    a = AnnotationDocument.from_tracks(gt, N)
    for mode in ("bev", "3d"):
        r = compare(a, AnnotationDocument.from_tracks(gt, N), iou=mode)
        t = r.total
        assert (t.tp, t.fp, t.fn) == (N * len(gt), 0, 0)
        assert t.precision == 1.0 and t.recall == 1.0 and r.mota == 1.0
        assert r.mean_iou == pytest.approx(1.0) and r.id_switches == 0 and r.label_mismatches == 0
        assert all(c.precision == 1.0 and c.recall == 1.0 for c in r.per_class.values())
        assert r.to_dict()["matched"] == N * len(gt)


def test_perturbed_copy_matches_hand_computed_figures(gt: list[Track]) -> None:
    cars = [t for t in gt if t.label == "car"]
    peds = [t for t in gt if t.label == "pedestrian"]
    T, C, P = len(gt), len(cars), len(peds)
    x, y, z, w, v = (c.track_id for c in cars[:5])  # deleted, shifted, relabelled, split, raised
    b_tracks = []
    new_id = max(t.track_id for t in gt) + 1
    for t in gt:
        if t.track_id == x:
            continue
        if t.track_id == y:  # shifted by a quarter length along its heading: IoU 0.75 / 1.25 = 0.6
            t = t.copy(keyframes={f: _along(b, 0.25 * b.size[0]) for f, b in t.keyframes.items()})
        if t.track_id == z:
            t = t.copy(label="van")
        if t.track_id == v:  # raised by a quarter height: BEV IoU 1, 3D IoU 0.6
            t = t.copy(keyframes={f: b.replace(center=(*b.center[:2], b.center[2] + b.size[2] / 4))
                                  for f, b in t.keyframes.items()})
        if t.track_id == w:  # the same object under a new id from frame 4: one id switch
            b_tracks.append(t.copy(track_id=new_id, keyframes={f: b for f, b in t.keyframes.items() if f >= 4}))
            t = t.copy(keyframes={f: b for f, b in t.keyframes.items() if f < 4})
        b_tracks.append(t)
    far = Box3D((500.0, 500.0, 0.9), (0.8, 0.7, 1.8), 0.0)  # a pedestrian nobody else saw, frames 0-1
    b_tracks.append(Track(new_id + 1, "pedestrian", {}, {0: far, 1: far}))
    a, b = AnnotationDocument.from_tracks(gt, N), AnnotationDocument.from_tracks(b_tracks, N)

    r = compare(a, b, iou="bev")
    car, van, ped = r.per_class["car"], r.per_class["van"], r.per_class["pedestrian"]
    assert (car.tp, car.fp, car.fn) == (8 * (C - 2), 0, 16)  # x deleted, z relabelled
    assert (van.tp, van.fp, van.fn) == (0, 8, 0) and van.precision == 0.0 and van.recall == 1.0
    assert (ped.tp, ped.fp, ped.fn) == (8 * P, 2, 0)
    assert ped.precision == pytest.approx(8 * P / (8 * P + 2))
    assert car.recall == pytest.approx((C - 2) / C) and car.precision == 1.0
    M = 8 * (T - 1)  # every box of a but x's is matched (z's with the wrong label)
    assert len(r.matches) == M and r.label_mismatches == 8
    assert r.mean_iou == pytest.approx((M - 8 * 0.4) / M, abs=1e-9)
    assert car.mean_iou == pytest.approx((8 * (C - 2) - 8 * 0.4) / (8 * (C - 2)), abs=1e-9)
    assert r.id_switches == 1 and r.id_switch_events == [(4, w, w, new_id)]
    assert r.mota == pytest.approx(1 - (16 + 8 + 2 + 1) / (8 * T))
    assert r.boxes_a == 8 * T and r.boxes_b == 8 * (T - 1) + 2
    t = r.total
    assert (t.tp, t.fp, t.fn) == (8 * (T - 2), 8 + 2, 16)

    r3 = compare(a, b, iou="3d")  # raising v now costs IoU 0.6 on its 8 boxes too
    assert r3.mean_iou == pytest.approx((M - 16 * 0.4) / M, abs=1e-9)
    assert (r3.total.tp, r3.total.fp, r3.total.fn) == (t.tp, t.fp, t.fn)

    r65 = compare(a, b, iou="bev", threshold=0.65)  # y's 0.6 is no match any more
    assert (r65.per_class["car"].tp, r65.per_class["car"].fp, r65.per_class["car"].fn) == (8 * (C - 3), 8, 24)
    assert r65.mean_iou == pytest.approx(1.0)


def test_match_frame_is_optimal_not_greedy() -> None:
    # 2 m boxes offset along x by d have IoU (2 - d) / (2 + d): a0-b0 0.9, a0-b1 0.6, a1-b0 0.6,
    # a1-b1 0.29 (< 0.4). Greedy takes a0-b0 and leaves two boxes; the optimum pairs both (1.2 > 0.9).
    unit = (2.0, 1.0, 1.0)
    a = [(0, "car", Box3D((0.0, 0, 0), unit, 0.0)), (1, "car", Box3D((0.2 / 1.9 + 0.5, 0, 0), unit, 0.0))]
    b = [(0, "car", Box3D((0.2 / 1.9, 0, 0), unit, 0.0)), (1, "car", Box3D((-0.5, 0, 0), unit, 0.0))]
    pairs = match_frame(a, b, "bev", 0.4)
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 1), (1, 0)]
    assert [round(v, 6) for _, _, v in sorted(pairs)] == [0.6, 0.6]
    assert [(i, j) for i, j, _ in match_frame(a, b, "bev", 0.7)] == [(0, 0)]


def test_compare_rejects_bad_input(gt: list[Track]) -> None:
    a = AnnotationDocument.from_tracks(gt, N)
    with pytest.raises(ModelError, match="different sequences"):
        compare(a, AnnotationDocument.from_tracks(gt, N + 1))
    with pytest.raises(ValueError, match="iou must be one of"):
        compare(a, a, iou="2d")
    with pytest.raises(ValueError, match="threshold"):
        compare(a, a, threshold=0.0)


def test_heading_error_and_flips_overall_and_per_class() -> None:
    """One frame: cars off by 0, 180 and 10 degrees, pedestrians by 100 and 0, and a car labelled van
    off by 170 (a match, no true positive). IoU ignores all of it; the heading figures do not."""
    car, ped = (4.5, 1.9, 1.6), (0.8, 0.7, 1.8)
    d10, d100, d170 = (math.radians(v) for v in (10.0, 100.0, 170.0))
    cases = [  # (label a, label b, size, yaw a, yaw b)
        ("car", "car", car, 0.3, 0.3),
        ("car", "car", car, 0.3, 0.3 + math.pi),
        ("car", "car", car, -0.2, -0.2 + d10),
        ("pedestrian", "pedestrian", ped, 1.0, 1.0 + d100),
        ("pedestrian", "pedestrian", ped, 2.0, 2.0),
        ("car", "van", car, 3.0, 3.0 - d170),
    ]
    ta, tb = [], []
    for k, (la, lb, size, ya, yb) in enumerate(cases):
        c = (20.0 * k, 5.0, size[2] / 2)
        ta.append(Track(k, la, {}, {0: Box3D(c, size, ya)}))
        tb.append(Track(k, lb, {}, {0: Box3D(c, size, yb)}))
    r = compare(AnnotationDocument.from_tracks(ta, 1), AnnotationDocument.from_tracks(tb, 1))
    assert len(r.matches) == 6 and r.mean_iou is not None and r.mean_iou > 0.5
    errors = [m.heading_error_deg for m in sorted(r.matches, key=lambda m: m.track_a)]
    assert errors == pytest.approx([0.0, 180.0, 10.0, 100.0, 0.0, 170.0], abs=1e-9)
    assert [m.flipped for m in sorted(r.matches, key=lambda m: m.track_a)] == [False, True, False, True, False, True]
    d = r.to_dict()
    assert d["heading_error_deg"]["mean"] == pytest.approx(460.0 / 6)
    assert d["heading_error_deg"]["p95"] == pytest.approx(170.0 + 0.75 * 10.0)  # between 170 and 180
    assert d["heading_flips"] == {"count": 3, "share": 0.5}
    pc = d["per_class"]
    assert pc["car"]["heading_error_deg"]["mean"] == pytest.approx(190.0 / 3)  # true positives only
    assert pc["car"]["heading_error_deg"]["p95"] == pytest.approx(10.0 + 0.9 * 170.0)
    assert pc["car"]["heading_flips"] == {"count": 1, "share": pytest.approx(1 / 3)}
    assert pc["pedestrian"]["heading_error_deg"] == {"mean": pytest.approx(50.0), "p95": pytest.approx(95.0)}
    assert pc["pedestrian"]["heading_flips"] == {"count": 1, "share": 0.5}
    assert pc["van"]["heading_error_deg"] == {"mean": None, "p95": None}  # no true positive
    assert pc["van"]["heading_flips"] == {"count": 0, "share": None}


def test_heading_error_wraps_and_self_agreement_has_none(gt: list[Track]) -> None:
    from fusionlabel.qa.agreement import heading_error_deg

    assert heading_error_deg(3.1, -3.1) == pytest.approx(math.degrees(2 * math.pi - 6.2))
    assert heading_error_deg(0.0, math.radians(90.0)) == pytest.approx(90.0)
    assert heading_error_deg(-math.pi / 2, math.pi / 2) == pytest.approx(180.0)
    d = compare(AnnotationDocument.from_tracks(gt, N), AnnotationDocument.from_tracks(gt, N)).to_dict()
    assert d["heading_error_deg"] == {"mean": pytest.approx(0.0), "p95": pytest.approx(0.0)}
    assert d["heading_flips"] == {"count": 0, "share": 0.0}
    assert all(c["heading_flips"]["count"] == 0 for c in d["per_class"].values())
