"""The window's views and the annotation layers (gui.model.layers): the layer drawing data equal
what the window draws today (so it can switch to layers without a pixel changing), and a layer
added to a view is painted there. Marked ``gl`` (the window has the 3D canvas)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import open_window, synth_scene

pytestmark = pytest.mark.gl
QtCore = pytest.importorskip("PyQt6.QtCore")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_allclose(a.points, b.points, atol=1e-9)
    assert (a.color, a.width, a.closed, a.dashed, a.fill_alpha, a.text, a.key, a.dotted, a.dash_dot) == \
        (b.color, b.width, b.closed, b.dashed, b.fill_alpha, b.text, b.key, b.dotted, b.dash_dot)
    assert a.opacity == pytest.approx(b.opacity)


def test_cuboid_layer_reproduces_the_window_bev_and_side_view(qtbot, scene: Path, cache: Path) -> None:  # type: ignore[no-untyped-def]
    from gui.model.layers import CuboidLayer, track_cuboids

    win = open_window(qtbot, scene)
    refs = win.session.doc.boxes_at(win.frame)
    assert len(refs) >= 3
    glyphs: list = []
    set_boxes = win.view3d.set_boxes
    win.view3d.set_boxes = lambda g: (glyphs.append(list(g)), set_boxes(g))  # type: ignore[method-assign]
    win.select(refs[1].track_id)
    qtbot.wait(5)
    layer = CuboidLayer()
    layer.set_data(track_cuboids(win.session.doc, win.frame, win.ctx.preview))
    layer.selected = {refs[1].track_id}
    expected = layer.bev_shapes()
    shown = win.bev.shapes
    start = next(i for i, s in enumerate(shown) if s.key == refs[0].track_id)
    for got, want in zip(shown[start:start + len(expected)], expected, strict=True):
        _same(got, want)
    for got, want in zip(glyphs[-1][: len(refs)], layer.glyphs(), strict=True):  # the 3D view's boxes
        np.testing.assert_allclose(got.corners, want.corners, atol=1e-9)
        assert (got.color, got.keyframe, got.selected, got.text, got.tracked, got.confidence) == \
            (want.color, want.keyframe, want.selected, want.text, want.tracked, want.confidence)
    side = layer.ortho_shapes("side", refs[1].box)
    for got, want in zip(win.side.shapes[: len(side)], side, strict=True):
        _same(got, want)
    # the window draws from the model's layers: the boxes (selection included) and the proposals
    names = [layer.name for layer in win.model.layers]
    assert names.index("proposals") + 1 == names.index("boxes")
    assert names.index("map") < names.index("proposals") < names.index("map_draft")  # the map under the boxes
    # ... and the further annotation kinds' layers, each mirrored into the views
    assert {"map", "map_draft"} <= {layer.name for layer in win.model.layers}
    assert win.model.layers["map"] in win.bev.layers and win.model.layers["map"] in win.view3d.layers
    assert [c.id for c in win.model.layers["boxes"].data] == [r.track_id for r in refs]
    assert win.model.layers["boxes"].selected == {refs[1].track_id}
    # the camera panels draw from their box layer: its selection follows the window's
    for panel in win.camera_grid.panels.values():
        assert panel.box_layer.selected == {refs[1].track_id}
        assert [c.id for c in panel.box_layer.data] == [r.track_id for r in refs]


def test_a_polyline_layer_added_to_the_views_is_painted(qtbot, scene: Path, cache: Path) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtGui import QColor

    from gui.colors import class_color
    from gui.model.layers import MapElement, PolylineLayer

    win = open_window(qtbot, scene)
    T = win.drawing.fd.T_world_from_ego
    ahead = [T[:3, :3] @ np.array([x, y, -1.7]) + T[:3, 3] for x, y in ((8.0, -6.0), (8.0, 6.0))]
    layer = PolylineLayer("map_test")  # beside the window's own map layer
    layer.set_data([MapElement(1, "stop_line", np.array(ahead))])
    color = class_color("stop_line")
    # a camera that sees it draws it in the class colour
    hits = 0
    for panel in win.camera_grid.panels.values():
        pieces = layer.camera_pieces(panel.camera_view())
        if not pieces:
            continue
        panel.layers.insert(0, layer)
        img = panel.grab().toImage()
        mid = panel.image_to_widget(pieces[0][1][len(pieces[0][1]) // 2][None])[0]
        near = [img.pixelColor(int(mid[0]) + dx, int(mid[1]) + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        hits += any(max(abs(c.red() - color[0]), abs(c.green() - color[1]), abs(c.blue() - color[2])) < 40
                    for c in near)
        panel.layers.remove(layer)
    assert hits >= 1
    # the BEV: its shapes include the layer's, painted in the class colour
    win.bev.layers.append(layer)
    assert any(s.key == ("map", 1) for s in win.bev.layer_shapes())
    img = win.bev.grab().toImage()
    mid = win.bev.to_screen(np.mean(np.array(ahead)[:, :2], axis=0)[None])[0]
    c = img.pixelColor(int(mid[0]), int(mid[1]))
    assert isinstance(c, QColor)
    near = [img.pixelColor(int(mid[0]) + dx, int(mid[1]) + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert any(max(abs(q.red() - color[0]), abs(q.green() - color[1]), abs(q.blue() - color[2])) < 40 for q in near)
    # the 3D view merges the layer's segments with the boxes'
    win.view3d.layers.append(layer)
    win.view3d.render()
    assert win.view3d.lines.visible
    win.bev.layers.remove(layer)
    win.view3d.layers.remove(layer)
    # a layer added to the model reaches every view (the cameras' under the drag preview) and
    # leaves them with the model
    win.model.layers.append(layer)
    views = [win.bev.layers, win.view3d.layers, *(p.layers for p in win.camera_grid.panels.values())]
    assert all(layer in v for v in views)
    panel = next(iter(win.camera_grid.panels.values()))
    names = [la.name for la in panel.layers]
    assert (names.index("map") < names.index("map_proposals") < names.index("boxes") < names.index(layer.name)
            < names.index("preview"))  # the map and its proposals under the boxes
    model_names = [la.name for la in win.model.layers if la.name not in ("boxes", "proposals", "map", "map_proposals")]
    assert names[names.index("proposals") + 1:names.index("preview")] == model_names  # the model's order
    assert any(s.key == ("map", 1) for s in win.bev.layer_shapes())
    win.model.layers.remove(layer)
    assert not any(layer in v for v in views)
