"""The effort benchmark's counting (benchmarks/bench_effort.py): what a simulated labeler's gestures
cost, on a toy sequence with exact truth and on a short synthetic sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.document import Proposal
from fusionlabel.ontology import Ontology
from tests.conftest import load_benchmark

FRAMES = 8


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    return load_benchmark("bench_effort")


def surface_points(box: Box3D, n: int = 400, seed: int = 0) -> np.ndarray:
    """Points (n, 3) on the four sides of ``box`` (world frame)."""
    rng = np.random.default_rng(seed)
    l, w, h = box.size
    side = rng.integers(0, 4, n)
    u = rng.uniform(-0.5, 0.5, n)
    x = np.where(side < 2, np.where(side == 0, 0.5, -0.5) * l, u * l)
    y = np.where(side >= 2, np.where(side == 2, 0.5, -0.5) * w, u * w)
    z = rng.uniform(-0.4, 0.45, n) * h
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    return np.column_stack([box.center[0] + c * x - s * y, box.center[1] + s * x + c * y, box.center[2] + z])


def toy_sequence(bench, boxes: dict[int, Box3D]):  # type: ignore[no-untyped-def]
    """A sequence of FRAMES frames (10 Hz, sensor at the origin): a flat ground and one car with the
    given world box per frame."""
    gx, gy = np.meshgrid(np.linspace(-20, 20, 81), np.linspace(-20, 20, 81))
    ground = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    pts = [np.vstack([ground, surface_points(boxes[f], seed=f)]) for f in range(FRAMES)]
    origins = [np.array([0.0, 0.0, 1.8])] * FRAMES
    onto = Ontology.default()
    gt = bench._truth({7: ("car", dict(boxes))}, pts, origins, onto)
    return bench.SeqData("toy", [k * 100_000_000 for k in range(FRAMES)], pts, origins, [0.0] * FRAMES, True, gt,
                         onto, lambda: [])


PARKED = Box3D((10.0, 3.0, 0.8), (4.5, 1.9, 1.6), 0.3)


def perfect_proposal(box_at) -> Proposal:  # type: ignore[no-untyped-def]
    return Proposal(0, "car", {f: box_at(f) for f in range(FRAMES)}, {f: 0.9 for f in range(FRAMES)}, 0.9)


def actions(ledger, kind: str | None = None) -> list[tuple[tuple[int, ...], str, str]]:  # type: ignore[no-untyped-def]
    return [e for e in ledger.log if e[1] != "checks" and (kind is None or e[1] == kind)]


def test_key_steps(bench) -> None:
    assert bench.key_steps(180.0, 10.0, 1.0, 2.0) == (18, 0)
    assert bench.key_steps(-23.0, 10.0, 1.0, 2.0) == (-2, -1)
    assert bench.key_steps(0.96, 0.5, 0.05, 0.05) == (2, 0)  # one large step too many beats 9 small ones
    assert bench.key_steps(0.03, 0.5, 0.05, 0.05) == (0, 0)


def test_perfect_prelabel_of_a_parked_car_costs_one_accept(bench) -> None:
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq)
    res = bench.RouteResult("prelabel/before", "toy")
    claimed = bench.prelabel_before(desk, res, [perfect_proposal(lambda f: PARKED)])
    assert claimed == {7: next(iter(desk.doc.track_ids()))}
    # the pre-label button (overhead) and Y; nothing to fix
    assert [e[2] for e in actions(desk.ledger)] == ["pre-label button", "f0 y"]
    scored = bench.score(desk, "prelabel/before", res)
    (row,) = scored.rows
    t = row["tally"]
    assert (t.clicks, t.drags, t.keys) == (1, 0, 1)
    # the proposal looked at once, then the track inspected at frames 0, 5 and 7 (first, every 5th, last)
    assert t.checks == 4
    assert t.seconds() == pytest.approx(1.3 + 0.3 + 4 * 1.4)
    assert row["iou"] == pytest.approx(1.0) and row["flips"] == 0 and row["found"]
    assert (res.accepted, res.accepted_true) == (1, 1)


def test_flipped_prelabel_is_fixed_where_inspected(bench) -> None:
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq)
    flipped = PARKED.replace(yaw=PARKED.yaw + math.pi)
    bench.prelabel_before(desk, bench.RouteResult("prelabel/before", "toy"), [perfect_proposal(lambda f: flipped)])
    (tid,) = desk.doc.track_ids()
    log = [e for e in desk.ledger.log if e[1] in ("checks", "drags", "keys", "clicks")]
    looked = [int(e[2][1:]) for e in log if e[1] == "checks"][1:]  # after the proposal's own look
    drags = [e[2] for e in log if e[1] == "drags"]
    # the first inspected frame points backwards: one rotation-handle drag there (18 Shift+Q would be
    # dearer); every further drag follows a look at its frame
    assert drags and drags[0] == f"f{looked[0]} rotate" and all(d.endswith(" rotate") for d in drags)
    for i, e in enumerate(log):
        if e[1] == "drags":
            assert log[i - 1] == ((7,), "checks", e[2].split()[0])
    assert not [e for e in actions(desk.ledger, "keys") if e[2] != "f0 y"]
    for f in looked:  # what the labeler looked at is right afterwards
        assert desk.looks_wrong(tid, f, PARKED) is None
    (row,) = bench.score(desk, "prelabel/before").rows
    still = sum(abs(math.degrees(bench.wrap_angle(desk.doc.box_at(tid, f).box.yaw - PARKED.yaw))) > 90
                for f in range(FRAMES))
    assert row["flips"] == still
    assert set(range(FRAMES)) - set(looked) or still == 0


def test_wrong_proposal_is_rejected_and_charged_as_overhead(bench) -> None:
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq)
    ghost = PARKED.replace(center=(-10.0, -8.0, 0.8))
    res = bench.RouteResult("prelabel/before", "toy")
    claimed = bench.prelabel_before(desk, res, [perfect_proposal(lambda f: ghost)])
    assert claimed == {} and len(desk.doc) == 0 and res.accepted == 0
    assert desk.ledger.log[-1] == ((bench.OVERHEAD,), "keys", "f0 x")
    (row,) = bench.score(desk, "prelabel/before", res).rows
    assert not row["found"] and row["iou"] == 0.0
    assert row["tally"].keys == 1 and row["tally"].clicks == 1  # the overhead shared by the one object


def test_moving_car_by_hand_with_the_propagation_chain(bench) -> None:
    """A car driving at 5 m/s: one-click at frame 0, Alt+C at every frame; every box is checked, and
    the result looks right everywhere (all visible frames were checked and fixed)."""
    boxes = {f: PARKED.replace(center=(5.0 + 0.5 * f, 3.0 + 0.1 * f, 0.8), yaw=math.atan2(0.1, 0.5))
             for f in range(FRAMES)}
    seq = toy_sequence(bench, boxes)
    desk = bench.Desk(seq)
    bench.hand_before(desk)
    keys = [e[2] for e in actions(desk.ledger, "keys")]
    assert keys[:1] == ["f0 g"] and keys.count("f0 g") == 1
    assert [k for k in keys if k.endswith("alt+c")] == [f"f{f} alt+c" for f in range(FRAMES - 1)]
    assert sum(e[1] == "checks" for e in desk.ledger.log) == FRAMES  # every frame checked once
    (row,) = bench.score(desk, "hand/before").rows
    assert row["found"] and row["flips"] == 0
    (tid,) = desk.doc.track_ids()
    for f in range(FRAMES):
        assert desk.looks_wrong(tid, f, boxes[f]) is None


def test_quick_synthetic_run_is_consistent(bench) -> None:
    seq = bench.synth_sequence(0, 6)
    assert {g.category for g in seq.gt.values()} >= {"moving car", "static car"}
    desk = bench.Desk(seq)
    bench.hand_before(desk)
    rows = bench.summarize([bench.score(desk, "hand/before")])
    overall = next(r for r in rows if r["category"] == "all")
    assert overall["tracks"] == len(seq.gt) and overall["recall"] == 1.0
    # the per-object tallies add up to every counted gesture
    n_actions = sum(1 for e in desk.ledger.log if e[1] != "checks")
    assert overall["actions"] * overall["tracks"] == pytest.approx(n_actions)
    assert overall["iou"] > 0.7


def test_flipped_prelabel_with_flip_track_costs_one_key(bench) -> None:
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq, bench.Features(flip_track=True))
    flipped = PARKED.replace(yaw=PARKED.yaw + math.pi)
    bench.prelabel_after(desk, bench.RouteResult("prelabel/after", "toy"), [perfect_proposal(lambda f: flipped)])
    assert [e[2] for e in actions(desk.ledger)] == ["pre-label button", "f0 y", "f0 h"]
    (row,) = bench.score(desk, "prelabel/after").rows
    assert row["flips"] == 0 and row["iou"] == pytest.approx(1.0)
    # the proposal, then frames 0 (fixed), 5 and 7, and 2 (halfway from the fix to frame 5)
    assert [e[2] for e in desk.ledger.log if e[1] == "checks"] == ["f0", "f0", "f5", "f7", "f2"]
    assert row["tally"].checks == 5


def test_parked_car_by_hand_with_held_boxes(bench) -> None:
    """A new box lasts to the end of the sequence: a parked car is one-clicked once, then only looked at."""
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    feats = bench.Features.detect()
    if not feats.held:
        pytest.skip("new boxes do not last to the end of the sequence")
    desk = bench.Desk(seq, bench.Features(held=True))
    bench.hand_after(desk)
    (row,) = bench.score(desk, "hand/after").rows
    fixes = [e[2] for e in actions(desk.ledger)][2:]  # after G and the click
    assert row["found"] and row["iou"] > 0.7 and row["flips"] == 0
    assert row["tally"].actions == 2 + len(fixes)
    assert row["tally"].checks == 3


def test_bulk_accept_then_a_false_track_is_deleted(bench) -> None:
    if not bench.Features.detect().bulk_accept:
        pytest.skip("the review queue has no accept-above-threshold")
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq, bench.Features(bulk_accept=True))
    ghost = PARKED.replace(center=(-10.0, -8.0, 0.8))
    res = bench.RouteResult("prelabel/after", "toy")
    props = [perfect_proposal(lambda f: PARKED), perfect_proposal(lambda f: ghost).copy(proposal_id=1)]
    claimed = bench.prelabel_after(desk, res, props)
    assert (res.accepted, res.accepted_true) == (2, 1) and list(claimed) == [7]
    # Shift+Y, then the false track found and deleted (a click selects it, Shift+Delete)
    assert [e[2] for e in actions(desk.ledger)] == ["pre-label button", "f0 shift+y", "f0 select", "f0 shift+delete"]
    assert len(desk.doc) == 1
    (row,) = bench.score(desk, "prelabel/after", res).rows
    assert row["found"] and row["iou"] == pytest.approx(1.0)
    assert row["tally"].actions == 4  # all overhead, shared by the one object


def test_parked_car_with_the_one_click_tool_held_on(bench) -> None:
    """Shift+G holds the one-click tool on: the objects are clicked without G each, V leaves it."""
    if not bench.Features.detect().held_oneclick:
        pytest.skip("the one-click tool cannot be held on")
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq, bench.Features(held=True, held_oneclick=True))
    bench.hand_after(desk)
    names = [e[2] for e in actions(desk.ledger)]
    assert names[:3] == ["f0 shift+g", "f0 one-click", "f0 v"]
    (row,) = bench.score(desk, "hand/after").rows
    assert row["found"] and row["iou"] > 0.7 and row["tally"].actions == len(names)


def test_reject_the_rest_after_a_run_of_wrong_proposals(bench) -> None:
    """After Shift+Y the labeler looks at the rest highest first: X for each wrong one until
    REJECT_RUN in a row were wrong, then Shift+X rejects what is left unseen."""
    if not bench.Features.detect().reject_rest:
        pytest.skip("the review queue cannot reject the rest")
    seq = toy_sequence(bench, {f: PARKED for f in range(FRAMES)})
    desk = bench.Desk(seq, bench.Features(bulk_accept=True, reject_rest=True))
    res = bench.RouteResult("prelabel/after", "toy")
    props = [perfect_proposal(lambda f: PARKED)]
    from fusionlabel.assist.review import ACCEPT_THRESHOLD

    for k in range(bench.REJECT_RUN + 4):  # all below the bulk-accept threshold
        ghost = PARKED.replace(center=(-10.0 - 6.0 * k, -8.0, 0.8))
        conf = ACCEPT_THRESHOLD - 0.05 - 0.04 * k
        props.append(Proposal(k + 1, "car", {0: ghost}, {0: conf}, conf))
    bench.prelabel_after(desk, res, props)
    names = [e[2] for e in actions(desk.ledger)]
    assert names == ["pre-label button", "f0 shift+y", *["f0 x"] * bench.REJECT_RUN, "f0 shift+x"]
    assert not desk.doc.proposals and (res.accepted, res.accepted_true) == (1, 1)


def test_a_proposal_is_judged_where_the_truth_has_the_object(bench) -> None:
    """A real sample labels part of its frames: a proposal shown at a frame where the truth has no
    box of the object it sits on is judged at its nearest frame where the truth has one."""
    boxes = {f: PARKED for f in range(FRAMES)}
    seq = toy_sequence(bench, boxes)
    g = seq.gt[7]
    del g.boxes[0]
    desk = bench.Desk(seq)
    prop = {f: PARKED for f in range(FRAMES)}
    assert bench._object_under(desk, PARKED, 0, set()) is None  # the one frame alone: no truth there
    assert bench._object_under(desk, PARKED, 0, set(), prop) is g
    assert bench._object_under(desk, PARKED, 0, {7}, prop) is None  # labelled already


def test_moving_car_by_hand_with_boxes_that_track_themselves(bench) -> None:
    """With the window's automatic tracking a new box is tracked through the sequence by itself: no
    Shift+T; the objects are boxed at the nearer of the first and last frames."""
    import importlib

    truth = {f: Box3D((4.0 + 0.8 * f, 3.0, 0.8), (4.5, 1.9, 1.6), 0.0) for f in range(FRAMES)}
    seq = toy_sequence(bench, truth)
    feats = bench.Features(held=True, held_oneclick=True, flip_track=True, resize_track=True,
                           autotrack=importlib.import_module("fusionlabel.autotrack"),
                           follow=importlib.import_module("fusionlabel.follow"))
    desk = bench.Desk(seq, feats)
    bench.hand_after(desk)
    names = [e[2] for e in actions(desk.ledger)]
    assert names[:2] == ["f0 shift+g", "f0 one-click"] and "shift+t" not in " ".join(names)
    assert all(not n.endswith(" t") for n in names)  # no re-track key after a fix
    (tid,) = desk.doc.track_ids()
    assert len(desk.doc.track(tid).tracked) >= FRAMES - 2  # tracked by itself
    (row,) = bench.score(desk, "hand/after").rows
    assert row["found"] and row["iou"] > 0.7 and row["flips"] == 0
