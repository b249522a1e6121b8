"""Map work in the window: the map layer in the BEV, the 3D view and the cameras; a polyline drawn
in the BEV with real mouse clicks, a vertex dragged, undo / redo, save and reopen; the View toggle,
the accumulated world and File > Export of the map. Marked ``gl`` (the window has the 3D canvas)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import FakePrompter, drag, key, open_window, synth_scene, to_qpoint

pytestmark = pytest.mark.gl
QtCore = pytest.importorskip("PyQt6.QtCore")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))


def _ego(win, fwd: float, left: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """World (x, y) of a point ``fwd`` m ahead and ``left`` m left of the ego at the frame shown."""
    T = win.drawing.fd.T_world_from_ego
    return (T @ np.array([fwd, left, 0.0, 1.0]))[:2]


def test_map_layer_in_every_view(qtbot, scene: Path) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, scene)
    mw = win.model.map
    doc = win.session.doc
    assert len(doc.map_elements) > 5  # the synthetic ground-truth map
    assert {e.id for e in mw.layer.data} == set(doc.map_elements)
    assert "map" in win.bev.layers and "map" in win.view3d.layers
    panels = list(win.camera_grid.panels.values())
    assert panels and all("map" in p.layers for p in panels)
    assert any(s.key[0] == "map" for s in win.bev.layer_shapes() if isinstance(s.key, tuple))
    front = win.camera_grid.panels[win.session.camera_names[0]]
    assert mw.layer.camera_lines(front.camera_view())  # lane lines projected into a camera
    assert "sel" in mw.layer.segments_3d().groups or "key" in mw.layer.segments_3d().groups
    win.registry.run("map_visible", win.model)  # View > Map elements off
    assert not mw.layer.visible and not [s for s in win.bev.layer_shapes() if s.key and s.key[0] == "map"]
    win.registry.run("map_visible", win.model)
    assert mw.layer.visible


def test_draw_move_undo_save_reopen(qtbot, scene: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Qt = QtCore.Qt
    project = tmp_path / "map.flproj"
    win = open_window(qtbot, scene, FakePrompter(save_to=project))
    doc, mw = win.session.doc, win.model.map
    before = set(doc.map_elements)
    win.registry.run("map_class_road_boundary", win.model)
    win.registry.run("tool_map_draw", win.model)
    assert win.ctl.active_name == "map_draw"
    pts = [_ego(win, f, 14.0) for f in (-6.0, 2.0, 10.0)]  # on the sidewalk, left of the kerb
    for p in pts:
        qtbot.mouseClick(win.bev, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, to_qpoint(win.bev, p))
    assert len(mw.draw_tool.vertices) == 3 and mw.draft.data  # the draft is drawn
    key(qtbot, win, Qt.Key.Key_Return)
    (new,) = set(doc.map_elements) - before
    el = doc.map_element(new)
    tol = 1.5 / win.bev.scale  # a pixel's rounding
    assert el.label == "road_boundary" and len(el) == 3
    np.testing.assert_allclose(el.vertices[:, :2], pts, atol=tol)
    for v in el.vertices:  # heights from the ground estimate
        assert v[2] == pytest.approx(mw.ground_height(v[0], v[1]), abs=1e-6)
    assert new in {e.id for e in mw.layer.data}
    # move the middle vertex 3 m forward with the map edit tool: one undo step
    win.registry.run("tool_map_edit", win.model)
    target = _ego(win, 5.0, 14.0)
    drag(qtbot, win.bev, el.vertices[1, :2], target)
    moved = doc.map_element(new).vertices[1, :2]
    np.testing.assert_allclose(moved, target, atol=tol)
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(doc.map_element(new).vertices[1], el.vertices[1])
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert new not in doc.map_elements and new not in {e.id for e in mw.layer.data}
    key(qtbot, win, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, win, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(doc.map_element(new).vertices[1, :2], moved)
    assert win.save(ask=True) and project.exists()
    saved = doc.map_element(new)
    win.close()
    win2 = open_window(qtbot, project)
    assert win2.session.doc.map_element(new) == saved
    assert {e.id for e in win2.model.map.layer.data} == set(win2.session.doc.map_elements)


def test_accumulated_world_and_map_export(qtbot, scene: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    win = open_window(qtbot, scene)
    mw = win.model.map
    win.registry.run("map_accumulate_all", win.model)
    qtbot.waitUntil(lambda: mw.accumulated is not None, timeout=30000)
    c = mw.accumulated
    assert c.frames == (0, 1, 2) and 0 < len(c) < c.raw_points
    assert len(win.bev._pts) == len(c)  # the BEV shows the accumulated ground
    win.set_frame(1)
    assert len(win.bev._pts) == len(c)  # and keeps it while stepping
    win.registry.run("map_accumulate_off", win.model)
    assert len(win.bev._pts) == len(win.drawing.fd.pts_world)
    for kind, name in (("map-av2", "log_map_archive_"), ("map-openlabel", "_map.openlabel.json"),
                       ("map-maptr", "maptr_")):
        dst = tmp_path / kind
        assert win.exporter.start(kind, dst)
        win.exporter.wait(60)
        qtbot.waitUntil(lambda: not win.exporter.running, timeout=30000)
        assert win.exporter.last_error is None
        (out,) = [p for p in dst.iterdir() if name in p.name]
        assert json.loads(out.read_text())


def test_bench_map_view_runs_small(qtbot) -> None:  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_map_view import BEAMS, STEPS, run

    f = run(sweeps=3, repeats=1)
    assert f["raw_points"] == 3 * BEAMS * STEPS and 0 < f["points"] < f["raw_points"]
    assert all(f[k] > 0 for k in ("build_s", "redraw_pan_ms", "redraw_layer_ms", "redraw_all_ms"))
