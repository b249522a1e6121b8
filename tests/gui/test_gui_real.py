"""The window on real samples (../shared/data/real, skipped when absent): nuScenes and KITTI
object open through ``formats.datasets``, and the projected label boxes are drawn in the cameras
in their class colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.gl, pytest.mark.real]

QtCore = pytest.importorskip("PyQt6.QtCore")
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


_OPEN: list = []  # windows opened by this module's tests, closed after each test


@pytest.fixture(autouse=True)
def _close_windows(qtbot):  # type: ignore[no-untyped-def]
    """Windows delete themselves on close (freeing their GL context); close those a test left
    open, answering "discard", and let Qt run the deferred deletes."""
    yield
    from PyQt6 import sip

    while _OPEN:
        w = _OPEN.pop()
        if not sip.isdeleted(w):
            if hasattr(w.prompter, "save_answer"):
                w.prompter.save_answer = "discard"
            w.close()
    qtbot.wait(5)


class Quiet:
    def ask_save_changes(self, parent: object) -> str:
        return "discard"

    def ask_recover(self, parent: object, path: Path, when: float) -> bool | None:
        return None

    def error(self, parent: object, title: str, text: str) -> None:
        raise AssertionError(f"{title}: {text}")

    def save_path(self, parent: object, suggested: Path) -> Path | None:
        return None

    def open_path(self, parent: object) -> Path | None:
        return None


@pytest.mark.parametrize(("sub", "camera"), [("nuscenes_kf", "CAM_FRONT"),
                                             ("kitti_object_vis/data/object", "image_2")])
def test_real_sample_boxes_in_camera(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sub: str,
                                     camera: str) -> None:
    from gui.colors import SELECTED_COLOR, class_color
    from gui.qt.window import MainWindow

    path = REAL / sub
    if not path.exists():
        pytest.skip(f"real sample data not present: {path}")
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    win = MainWindow(Quiet())  # type: ignore[arg-type]
    _OPEN.append(win)
    win.resize(1400, 900)
    win.show()
    with qtbot.waitSignal(win.loaded, timeout=60000):
        win.open_path(path)
    assert len(win.session.doc) > 0 and win.session.initial_annotation == "ground_truth"
    panel = win.camera_grid.panels[camera]
    # the box with the longest projected outline in this camera; selected, it is drawn on top
    best = max(win.boxes(), key=lambda r: sum(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())
                                              for _, p in panel.edges_of(r.track_id)))
    pieces = panel.edges_of(best.track_id)
    assert pieces
    for selected in (False, True):
        if selected:
            win.select(best.track_id)
        qtbot.wait(50)
        img = panel.grab().toImage()
        w, h = img.width(), img.height()
        rgb = SELECTED_COLOR if selected else class_color(best.label)
        hits = total = 0
        for _, poly in pieces:
            for a, b in zip(poly[:-1], poly[1:], strict=True):
                for t in (0.3, 0.5, 0.7):
                    x, y = panel.image_to_widget((a + t * (b - a))[None])[0]
                    xi, yi = int(round(x)), int(round(y))
                    near = [img.pixelColor(min(max(xi + dx, 0), w - 1), min(max(yi + dy, 0), h - 1))
                            for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
                    total += 1
                    hits += any(max(abs(c.red() - rgb[0]), abs(c.green() - rgb[1]), abs(c.blue() - rgb[2])) < 50
                                for c in near)
        # unselected, other boxes may cross it; selected, it is on top of everything
        assert hits / total > (0.95 if selected else 0.5), (best.track_id, best.label, selected, hits, total)
    win.close()


def test_open_with_dataset_options_estimates_poses_for_motion(qtbot, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``fusionlabel open --estimate-poses`` reaches the loader: the SUSTechPOINTS sample (no ego
    poses) gets registered poses, and only then does the one-click tool get neighbouring sweeps
    (without poses the ego's own motion would look like the objects')."""
    from gui.app import build_parser
    from gui.qt.window import MainWindow

    path = REAL / "sustechpoints_example" / "data" / "example"
    if not path.exists():
        pytest.skip(f"real sample data not present: {path}")
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    for estimate in (False, True):
        args = build_parser().parse_args([str(path), *(["--estimate-poses"] if estimate else [])])
        win = MainWindow(Quiet(), recovery=False)  # type: ignore[arg-type]
        _OPEN.append(win)
        win.show()
        with qtbot.waitSignal(win.loaded, timeout=120000):
            win.open_path(args.path, open_args=args)
        poses = [f.T_world_from_ego for f in win.session.seq.frames]
        moved = max(float(np.linalg.norm(T[:3, 3])) for T in poses)
        if estimate:
            assert moved > 1.0 and win.ctx.neighbour_points is not None
            dt, pts = win.ctx.neighbour_points(1)
            assert dt > 0 and len(pts) > 1000
        else:
            assert moved == 0.0 and win.ctx.neighbour_points is None
        win.close()


def test_open_cli_takes_the_format_option(tmp_path: Path) -> None:
    """``fusionlabel open DIR --format kitti-flat --screenshot``: a layout that needs the option."""
    import os
    import subprocess
    import sys

    path = REAL / "pointpillars_demo" / "pointpillars" / "dataset" / "demo_data" / "val"
    if not path.exists():
        pytest.skip(f"real sample data not present: {path}")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), FUSIONLABEL_CACHE=str(tmp_path / "cache"))
    env.pop("QT_QPA_PLATFORM", None)
    out = tmp_path / "pp.png"
    r = subprocess.run([sys.executable, "-m", "fusionlabel", "open", str(path), "--format", "kitti-flat",
                        "--screenshot", str(out)], capture_output=True, text=True, env=env, timeout=180, cwd=root)
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.stat().st_size > 10000
