"""Auto-tracking as a job (fusionlabel.trackjob): the plan copies the document, the run follows a
moving car on synthetic points, the result is one undo step, tracks edited meanwhile keep their
edits, cancelling raises, and the review queue steps lowest confidence first, skipping fixed boxes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionlabel.autotrack import AutoTrackResult, Cancelled
from fusionlabel.box import Box3D
from fusionlabel.commands import SetKeyframe, UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.model import Track
from fusionlabel.trackjob import (
    ApplyOutcome,
    ReviewItem,
    TrackedReviewQueue,
    apply_results,
    plan_autotrack,
    run_plan,
    track_state,
)

N = 8
SPEED = 5.0  # m/s along +x, frames 0.1 s apart
SIZE = (4.5, 1.8, 1.5)


def car_at(frame: int) -> Box3D:
    return Box3D((10.0 + SPEED * 0.1 * frame, 2.0, 0.75), SIZE, 0.0)


def surface(box: Box3D, step: float = 0.1) -> np.ndarray:
    """World points on the rear and left faces and the top of ``box`` (yaw 0), as a LiDAR behind
    and to the left of it would see them."""
    (cx, cy, _), (l, w, h) = box.center, box.size
    a, b = np.arange(-w / 2, w / 2, step), np.arange(0.3, h, step)
    rear = np.array([(cx - l / 2, cy + y, z) for y in a for z in b])
    c = np.arange(-l / 2, l / 2, step)
    side = np.array([(cx + x, cy + w / 2, z) for x in c for z in b])
    top = np.array([(cx + x, cy + y, h) for x in c for y in a])
    return np.vstack([rear, side, top])


def points_at(frame: int) -> np.ndarray:
    return surface(car_at(frame))


def make_doc() -> tuple[AnnotationDocument, UndoStack]:
    car = Track(1, "car", keyframes={0: car_at(0)})
    cone = Track(2, "traffic_cone", keyframes={0: Box3D((30.0, -5.0, 0.35), (0.4, 0.4, 0.7), 0.0)})
    doc = AnnotationDocument.from_tracks([car, cone], frame_count=N)
    return doc, UndoStack(doc)


def test_plan_copies_what_it_tracks_and_refuses_bad_input() -> None:
    doc, undo = make_doc()
    plan = plan_autotrack(doc, N, [1])
    assert plan.track_ids == [1] and [s.track_id for s in plan.context] == [2]
    assert plan.frames == tuple(range(N))
    undo.push(SetKeyframe(1, 3, car_at(3)))
    assert 3 not in plan.seeds[0].keyframes  # a copy: later edits do not reach a running job
    assert plan_autotrack(doc, N).track_ids == [1, 2]
    with pytest.raises(ModelError, match="no track 7"):
        plan_autotrack(doc, N, [7])
    with pytest.raises(ModelError, match="no frame"):
        plan_autotrack(doc, 0)


def test_run_follows_the_car_and_applies_as_one_undo_step() -> None:
    doc, undo = make_doc()
    plan = plan_autotrack(doc, N, [1])
    ticks: list[tuple[int, int]] = []
    results = run_plan(plan, points_at, progress=lambda d, t: ticks.append((d, t)) is None)
    assert ticks and ticks[-1][0] == ticks[-1][1]
    r = results[1]
    assert sorted(r.boxes) == list(range(1, N))
    for f, b in r.boxes.items():  # on the moving car, not left behind at the keyframe
        assert math.hypot(b.center[0] - car_at(f).center[0], b.center[1] - car_at(f).center[1]) < 0.3
    before = track_state(doc.track(1))
    depth = len(undo._done)
    out = apply_results(doc, undo, plan, results)
    assert out.applied == [1] and not out.changed and "Auto-track 1 track" in out.message()
    assert sorted(doc.track(1).tracked) == list(range(1, N))
    assert doc.box_at(1, 5).state == "tracked" and doc.box_at(1, 0).state == "keyframe"
    assert len(undo._done) == depth + 1
    undo.undo()
    assert track_state(doc.track(1)) == before


def test_track_edited_meanwhile_keeps_its_edit() -> None:
    doc, undo = make_doc()
    plan = plan_autotrack(doc, N)
    results = {1: AutoTrackResult(1, {4: car_at(4)}, {4: 0.9}), 2: AutoTrackResult(2, {4: doc.track(2).keyframes[0]},
                                                                                       {4: 0.5})}
    undo.push(SetKeyframe(1, 2, car_at(2)))  # the labeler fixes track 1 while the job runs
    out = apply_results(doc, undo, plan, results)
    assert out.applied == [2] and out.changed == [1]
    assert not doc.track(1).tracked and 2 in doc.track(1).keyframes
    assert "track 1 edited while tracking" in out.message()
    assert doc.track(2).is_tracked(4)


def test_nothing_applied_when_every_track_changed() -> None:
    doc, undo = make_doc()
    plan = plan_autotrack(doc, N, [1])
    undo.push(SetKeyframe(1, 2, car_at(2)))
    n = len(undo._done)
    out = apply_results(doc, undo, plan, {1: AutoTrackResult(1, {4: car_at(4)}, {4: 0.9})})
    assert out == ApplyOutcome([], [1], [], "")
    assert len(undo._done) == n


def test_cancel_raises_and_reports_progress() -> None:
    doc, _ = make_doc()
    plan = plan_autotrack(doc, N, [1])
    seen: list[int] = []

    def progress(done: int, total: int) -> bool:
        seen.append(done)
        return done < 3

    with pytest.raises(Cancelled):
        run_plan(plan, points_at, progress=progress)
    assert seen[-1] == 3


def test_review_queue_steps_lowest_first_and_skips_fixed_boxes() -> None:
    doc, undo = make_doc()
    res = AutoTrackResult(1, {f: car_at(f) for f in range(1, N)}, {f: 0.9 - 0.1 * f for f in range(1, N)})
    apply_results(doc, undo, plan_autotrack(doc, N, [1]), {1: res})
    q = TrackedReviewQueue.from_results([res], below=0.6)
    assert [it.frame for it in q.items] == [7, 6, 5, 4]  # confidences 0.2, 0.3, 0.4, 0.5
    assert q.step(doc, -1) is None  # nothing before the first
    assert q.step(doc, 1) == ReviewItem(1, 7, pytest.approx(0.2))
    undo.push(SetKeyframe(1, 6, car_at(6)))  # frame 6 fixed: no longer to check
    assert q.step(doc, 1).frame == 5
    assert q.step(doc, -1).frame == 7
    assert [it.frame for it in q.open_items(doc)] == [7, 5, 4]
    assert q.select(3).frame == 4 and q.step(doc, 1) is None and q.current.frame == 4
    assert len(TrackedReviewQueue.from_results([res], below=0.6, limit=2)) == 2


def test_plan_over_a_frame_range_with_the_other_tracks_tracked_boxes_as_context() -> None:
    from fusionlabel.trackops import SetTracked

    doc, undo = make_doc()
    cone = doc.track(2).keyframes[0]
    undo.push(SetTracked(2, {3: cone, 4: cone}, {3: 0.9, 4: 0.1}))
    plan = plan_autotrack(doc, N, [1], frames=(2, 5))
    assert plan.frames == (2, 3, 4, 5)
    (ctx,) = plan.context
    assert sorted(ctx.keyframes) == [0, 3]  # the keyframe and the confident tracked box, not the weak one
    with pytest.raises(ModelError, match="no frame"):
        plan_autotrack(doc, N, [1], frames=(6, 3))
    undo.push(SetKeyframe(1, 7, car_at(7)))
    results = run_plan(plan_autotrack(doc, N, [1], frames=(2, 5)), points_at)
    assert sorted(results[1].boxes) == [2, 3, 4, 5]  # only the range is tracked
    out = apply_results(doc, undo, plan_autotrack(doc, N, [1], frames=(2, 5)), results)
    assert out.applied == [1] and sorted(doc.track(1).tracked) == [2, 3, 4, 5]
