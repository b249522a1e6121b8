"""Nothing lost: a labeling process killed with SIGKILL after N edits reopens with all N edits,
headless through the window's session / recovery store and through the real window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gui.gui_support import FakePrompter, open_window, synth_scene
from tests.gui.journal_child import digest, points_digest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory)


def saved_project(scene: Path, tmp_path: Path) -> Path:
    from gui import persist
    from gui.session import load_session

    s = load_session(scene)
    proj = tmp_path / "annotations.flproj"
    persist.save_project(s, proj)
    s.close()
    return proj


def run_and_kill(mode: str, proj: Path, n: int) -> str:
    """Run the child until it reports its N edits, SIGKILL it; the document digest it reported."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    script = ROOT / "tests" / "gui" / "journal_child.py"
    child = subprocess.Popen([sys.executable, str(script), mode, str(proj), str(n)],
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = child.stdout.readline().split()  # type: ignore[union-attr]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert line[:2] == ["EDITS", str(n)], line
    return line[2]


def test_killed_headless_session_reopens_with_all_its_edits(scene: Path, tmp_path: Path) -> None:
    from gui import persist
    from gui.session import load_session

    proj = saved_project(scene, tmp_path)
    n = 12
    sha = run_and_kill("headless", proj, n)
    s = load_session(proj)
    assert digest(s.doc) != sha  # the project itself was never saved
    store = persist.recovery_store(s, 60.0)
    assert store.recovery_is_newer()
    project = store.load_recovery()
    assert digest(project.document) == sha
    assert project.meta["edits"] == project.meta["journal_records"] == n  # all journaled on the saved file
    store.close()
    s.close()


def test_killed_window_reopens_with_all_its_edits_and_says_so(qtbot, scene: Path, tmp_path: Path) -> None:
    proj = saved_project(scene, tmp_path)
    n = 7
    sha = run_and_kill("window", proj, n)
    p = FakePrompter(recover=True)
    win = open_window(qtbot, proj, p)
    assert "recover" in p.asked
    assert digest(win.session.doc) == sha
    msg = win.statusBar().currentMessage()
    assert f"Restored {n} edits from the edit journal of annotations.flproj: " in msg
    assert win.windowTitle().startswith("*")


def test_killed_session_reopens_with_its_point_label_edits(scene: Path, tmp_path: Path) -> None:
    """Point-label edits (not in the JSON journal) come back from the frames written beside the
    recovery copy, over the labels the project opened with; declining the recovery removes them."""
    from gui import persist
    from gui.session import load_session

    proj = saved_project(scene, tmp_path)
    before = load_session(proj)
    assert before.doc.point_labels is not None
    opened = points_digest(before.doc.point_labels)
    before.close()
    n = 6
    sha = run_and_kill("points", proj, n)
    assert sha.split(":")[1] != opened  # the child changed point labels
    s = load_session(proj)
    assert f"{digest(s.doc)}:{points_digest(s.doc.point_labels)}" != sha
    assert points_digest(s.doc.point_labels) == opened  # the project itself was never saved
    store = persist.recovery_store(s, 60.0)
    assert store.recovery_is_newer() and store.points_path.is_dir()
    project = store.load_recovery()
    assert f"{digest(project.document)}:{points_digest(project.document.point_labels)}" == sha
    assert project.meta["point_label_frames"] == len(s)  # every frame was edited
    assert project.document.point_labels.dirty_frames == list(range(len(s)))  # unsaved: a save writes them
    store.discard()
    assert not store.points_path.exists()
    store.close()
    s.close()


def test_killed_point_label_session_is_restored_by_the_window_and_saved(qtbot, scene: Path, tmp_path: Path) -> None:
    proj = saved_project(scene, tmp_path)
    sha = run_and_kill("points", proj, 5)
    win = open_window(qtbot, proj, FakePrompter(recover=True))
    labels = win.session.doc.point_labels
    assert points_digest(labels) == sha.split(":")[1]
    assert labels.dirty_frames  # restored, not saved yet
    assert win.save() and not labels.dirty_frames
    win.close()
    again = open_window(qtbot, proj, FakePrompter())
    assert points_digest(again.session.doc.point_labels) == sha.split(":")[1]
    again.close()
