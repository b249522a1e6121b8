"""Frame stepping speed mechanics in the real window: the 3D view is an offscreen-rendered image
(no QOpenGLWidget in the window), it forwards the mouse wheel to the canvas, and while frames change
quickly it is redrawn in the idle gap after a step (or within a step when steps come back to back
for ``FrameView.MAX_3D_STALE_S``), the latest frame at rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl
QtCore = pytest.importorskip("PyQt6.QtCore")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fusionlabel.cli import generate

    root = tmp_path_factory.getbasetemp() / "gui-step-scene-4f"
    if not (root / "fusionlabel.json").exists():
        generate(root, frames=4, seed=2, cameras=1, size=(160, 90), force=True)
    return root


class _Quiet:
    def ask_save_changes(self, parent: object) -> str:
        return "discard"

    def ask_recover(self, parent: object, path: Path, when: float) -> bool:
        return False

    def error(self, parent: object, title: str, text: str) -> None:
        raise AssertionError(f"{title}: {text}")


@pytest.fixture
def win(qtbot, scene: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from gui.qt.window import MainWindow

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    w = MainWindow(_Quiet(), recovery=False)  # type: ignore[arg-type]
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.loaded, timeout=30000):
        w.open_path(scene)
    qtbot.wait(50)
    yield w
    w.close()
    qtbot.wait(5)


def _grab_rgb(widget) -> np.ndarray:  # type: ignore[no-untyped-def]
    from PyQt6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    buf = np.frombuffer(img.constBits().asarray(img.sizeInBytes()), np.uint8)
    return buf.reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()].reshape(img.height(), img.width(), 3)


def test_3d_view_is_an_image_in_the_window_and_takes_the_wheel(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtCore import QPoint, QPointF, Qt
    from PyQt6.QtGui import QWheelEvent
    from PyQt6.QtOpenGLWidgets import QOpenGLWidget
    from PyQt6.QtWidgets import QApplication

    assert not win.findChildren(QOpenGLWidget)  # no GL composition of the whole window
    w3 = win.view3d.widget
    assert w3.isVisible() and w3.width() > 100
    part = _grab_rgb(w3)
    assert part.shape[:2] == (w3.height(), w3.width()) and part.std() > 15  # points and boxes drawn
    d0 = win.view3d.view.camera.distance
    pos = QPointF(w3.width() / 2, w3.height() / 2)
    ev = QWheelEvent(pos, QPointF(w3.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(w3, ev)
    assert win.view3d.view.camera.distance < d0
    assert win.view3d.lod_active  # an interaction: the decimated cloud until rest


def test_fast_steps_hold_the_3d_view_until_rest(qtbot, win, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    v = win.view3d
    monkeypatch.setattr(type(win.frames), "MAX_3D_STALE_S", 10.0)
    win.frames.last_3d = -1e9  # the last 3D redraw by a frame change was long ago
    win.set_frame(1)  # drawn within the step (stale for too long)
    assert not v.held and v.lod_active
    win.set_frame(2)  # back to back: the 3D view keeps its frame, the data waits for the idle gap
    assert v.held and v._pending_points is not None and win.frames.idle_3d.isActive()
    n2 = len(win.session.frame(2).pts_world)
    qtbot.waitUntil(lambda: not v.held, timeout=3000)  # the gap: frame 2, decimated until rest
    assert v._lod_index is not None and v._lod_index[0] == n2
    qtbot.waitUntil(lambda: not v.lod_active, timeout=3000)  # at rest: the full cloud
    assert v.points.count == n2
    # render() always shows the latest data, even while held
    win.set_frame(3)
    assert v.held
    v.render()
    assert v._pending_points is None and v._lod_index is not None
    assert v._lod_index[0] == len(win.session.frame(3).pts_world)


def test_3d_image_in_the_window_follows_the_frame(qtbot, win) -> None:  # type: ignore[no-untyped-def]
    """After a frame change and rest, the window's 3D image is the current scene (not a stale one)."""
    v = win.view3d
    qtbot.waitUntil(lambda: not v.held and not v.lod_active, timeout=3000)
    before = _grab_rgb(v.widget).astype(np.int16)
    win.select(win.session.doc.boxes_at(0)[0].track_id)  # the selected box turns white
    win.set_frame(2)
    qtbot.waitUntil(lambda: not v.held and not v.lod_active, timeout=3000)
    qtbot.wait(50)
    shown = _grab_rgb(v.widget).astype(np.int16)
    assert np.abs(shown - before).max(axis=-1).mean() > 0.01  # the picture changed
    fresh = v.render()[..., :3].astype(np.int16)  # what the scene looks like now
    assert fresh.shape == shown.shape
    assert (np.abs(fresh - shown).max(axis=-1) > 40).mean() < 0.002


def test_steps_do_not_repaint_the_3d_view_which_follows_in_the_gap(qtbot, win, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A step's own repaint leaves the 3D view alone (the follow-ego camera move once repainted it
    within every step); the 3D view draws the step's frame in the idle gap after it."""
    from PyQt6.QtWidgets import QApplication

    v = win.view3d
    monkeypatch.setattr(type(win.frames), "MAX_3D_STALE_S", 10.0)
    assert win.follow_ego
    renders: list[int] = []
    real = v._render_now
    monkeypatch.setattr(v, "_render_now", lambda: renders.append(win.frame) or real())
    win.frames.idle_3d.setInterval(3000)  # a gap no step's own repaint can reach, even on a loaded machine
    win.frames.last_3d = -1e9
    win.set_frame(1)
    QApplication.processEvents()
    assert renders == [1]  # stale for too long: drawn within the step
    for f in (2, 3):  # steps back to back (each step's repaint processed, no gap)
        win.set_frame(f)
        QApplication.processEvents()
    assert renders == [1] and v.held
    qtbot.waitUntil(lambda: bool(renders) and renders[-1] == 3, timeout=20000)  # the gap
    assert not v.held
