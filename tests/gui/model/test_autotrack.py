"""Auto-tracking as a model, headless (no Qt): a job on a synthetic sequence, its outcome applied as
one undo step when the consumer processes the job runner's deliveries, the review list stepped,
cancel and close."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionlabel.commands import RemoveKeyframe
from fusionlabel.tools import ToolContext, ToolController
from gui.model import ViewerModel
from gui.model.autotrack import AutoTrack
from gui.session import load_session


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fusionlabel.cli import generate

    root = tmp_path_factory.mktemp("autotrack-model") / "synth"
    generate(root, frames=6, seed=0, cameras=0, force=True)
    return root


def setup(scene: Path) -> tuple[ViewerModel, AutoTrack, list[tuple[str, object]]]:
    s = load_session(scene)
    m = ViewerModel()
    m.set_session(s)
    ctx = ToolContext(s.doc, s.undo, 0, ground=0.0)
    m.bind_tools(ctx, ToolController(ctx))
    jumps: list[tuple[str, object]] = []

    class Review:  # the QA review's jump, recorded
        def jump_to(self, frame: int, track_id: int | None, location: object = None) -> None:
            jumps.append(("jump", (frame, track_id)))
            m.set_frame(frame)

    m.review = Review()
    at = AutoTrack(m, error=lambda title, text: jumps.append(("error", title)))
    at.bind()
    return m, at, jumps


def one_keyframe_track(m: ViewerModel) -> int:
    """A track left with only its first keyframe (the others removed)."""
    doc, undo = m.session.doc, m.session.undo
    tid = max(doc.track_ids(), key=lambda t: len(doc.track(t).keyframes))
    for f in doc.track(tid).keyframe_indices()[1:]:
        undo.push(RemoveKeyframe(tid, f))
    return tid


def test_a_run_applies_its_result_when_delivered(scene: Path) -> None:
    m, at, jumps = setup(scene)
    tid = one_keyframe_track(m)
    events: list[tuple[str, object]] = []
    for name in ("running", "status", "finished", "progress"):
        at.events[name].connect(lambda v, n=name: events.append((n, v)))
    assert not at.start_selected()  # nothing selected: refused
    m.select(tid)
    n_undo = len(m.session.undo)
    assert at.start_selected() and at.running
    assert not at.start()  # one job at a time
    at.wait(60.0)
    assert at.running and len(m.session.undo) == n_undo  # nothing applied before delivery
    m.jobs.process()
    assert not at.running and at.last_error is None
    outcome = [v for n, v in events if n == "finished"][0]
    assert outcome is at.last_outcome and tid in outcome.applied
    assert len(m.session.undo) == n_undo + 1  # one undo step
    assert m.session.doc.track(tid).tracked  # tracked boxes after the keyframe
    assert events[0] == ("running", True) and ("running", False) in events
    assert any(n == "progress" for n, _ in events)
    # the review list: every tracked box below 1.01 joins it; I steps through it
    at.review_below = 1.01
    at.start([tid])
    at.wait(60.0)
    m.jobs.process()
    assert len(at.queue) > 0
    assert at.step(1) and jumps[-1][0] == "jump" and m.selection in (tid, None)


def test_cancel_and_close_change_nothing(scene: Path) -> None:
    m, at, jumps = setup(scene)
    tid = one_keyframe_track(m)
    n_undo = len(m.session.undo)
    done: list[object] = []
    at.events.finished.connect(done.append)
    assert at.start([tid])
    at.cancel()
    at.wait(60.0)
    m.jobs.process()
    assert done == [None] and at.last_error == "cancelled" and len(m.session.undo) == n_undo
    assert at.start([tid])
    at.close()  # the session goes: the run is dropped
    m.jobs.process()
    assert done == [None] and not at.running and len(m.session.undo) == n_undo
    assert not at.step(1)  # no list
