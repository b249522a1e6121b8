"""Map elements picked with a click in a camera panel and in the 3D view; the lane-paint / kerb
assist's map proposals reviewed from the "Map proposals" dock (accept, reject, accept above, undo);
Map > Import map file. Marked ``gl`` (the window has the 3D canvas)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import key, open_window, synth_scene

pytestmark = pytest.mark.gl
QtCore = pytest.importorskip("PyQt6.QtCore")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))


def _divider_in_camera(win, name: str):  # type: ignore[no-untyped-def]
    """(panel, element id, image uv) of a lane divider's projected vertex in a camera, nearest the
    image's lower middle, on no box and picked first there."""
    panel = win.camera_grid.panels[name]
    view = panel.camera_view()
    mw = win.model.map
    cands = [(abs(uv[0] - 160) + abs(uv[1] - 150), eid, uv) for eid, poly in mw.layer.camera_pieces(view)
             if win.session.doc.map_element(eid).label == "lane_divider" for uv in poly]
    for _, eid, uv in sorted(cands, key=lambda c: c[0]):
        if panel.box_at(uv) is None and mw.layer.pick_camera(view, uv)[:1] == [eid]:
            return panel, eid, uv
    raise AssertionError("no lane divider to click")


def _ego(win, fwd: float, left: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """World (x, y) of a point ``fwd`` m ahead and ``left`` m left of the ego at the frame shown."""
    T = win.drawing.fd.T_world_from_ego
    return (T @ np.array([fwd, left, 0.0, 1.0]))[:2]


def test_pick_in_camera_and_3d(qtbot, scene: Path) -> None:  # type: ignore[no-untyped-def]
    Qt = QtCore.Qt
    win = open_window(qtbot, scene)
    win.set_frame(1)  # after stepping: the panels still pick
    mw = win.model.map
    name = next(n for n in win.camera_grid.panels if "front" in n.lower() and "left" not in n.lower()
                and "right" not in n.lower())
    panel, eid, uv = _divider_in_camera(win, name)
    w = panel.image_to_widget(np.array([uv]))[0]
    qtbot.mouseClick(panel, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QtCore.QPoint(int(round(w[0])), int(round(w[1]))))
    picked = mw.edit_tool.selected
    assert picked == eid and win.ctl.active_name == "map_edit"
    assert win.session.doc.map_element(picked).label == "lane_divider"
    assert mw.layer.selected == {picked}
    # the picked element's projection passes within the pick tolerance of the click
    pieces = [p for i, p in mw.layer.camera_pieces(panel.camera_view()) if i == picked]
    assert min(np.hypot(*(p - uv).T).min() for p in pieces) <= 6.0
    # Delete (the map edit tool) removes it, Ctrl+Z brings it back
    mw.edit_tool.select(picked)
    key(qtbot, win, Qt.Key.Key_Delete)
    assert picked not in win.session.doc.map_elements
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert picked in win.session.doc.map_elements
    # the 3D view: a click on another element's vertex picks it
    mw.edit_tool.select(None)
    other = next(e for e in win.session.doc.map_elements.values() if e.label == "road_boundary")
    target = other.vertices[len(other) // 2]
    win.view3d.look_at(target)
    win.view3d.render()
    x, y = win.view3d.to_canvas(target[None])[0]
    win.router.click_3d(float(x), float(y))
    assert mw.edit_tool.selected == other.element_id
    assert mw.layer.pick_3d(*win.view3d.ray_at(float(x), float(y)))[0] == other.element_id
    # without a map tool a click on the road inside the drivable area picks nothing of the map
    win.ctl.set_tool("edit")
    mw.edit_tool.select(None)
    road = np.asarray(_ego(win, 6.0, 0.0).tolist() + [0.0])  # mid-lane, 1.75 m from the dividers
    x, y = win.view3d.to_canvas(road[None])[0]
    win.router.click_3d(float(x), float(y))
    assert mw.edit_tool.selected is None and win.ctl.active_name == "edit"


def test_map_proposals_review_and_import(qtbot, scene: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Qt = QtCore.Qt
    win = open_window(qtbot, scene)
    mw = win.model.map
    doc = win.session.doc
    gt = [doc.map_element(k) for k in sorted(doc.map_elements)]
    # the lane-paint assist as a background job on the session's sweeps
    win.registry.run("map_extract_lanes", win.model)
    qtbot.waitUntil(lambda: mw.proposals.job is None, timeout=60000)
    n = len(mw.proposals.queue)
    assert n >= 1  # the synthetic paint gives lane-line proposals
    dock = win.findChild(QtCore.QObject, "map_proposals")
    assert dock is not None and dock.widget().tree.topLevelItemCount() == n
    assert {e.id for e in mw.proposals.layer.data} == set(mw.proposals.queue.ids())
    assert "map_proposals" in win.bev.layers
    panel = next(iter(win.camera_grid.panels.values()))
    assert "map_proposals" in panel.layers
    before = set(doc.map_elements)
    cur = mw.proposals.queue.current
    prop = mw.proposals.queue.proposal(cur)
    dock.widget().buttons["accept"].click()
    (new,) = set(doc.map_elements) - before
    assert doc.map_element(new).label == "lane_divider"
    np.testing.assert_allclose(doc.map_element(new).vertices, prop.element.vertices)
    assert len(mw.proposals.queue) == n - 1 and cur not in mw.proposals.queue.ids()
    if n > 1:
        dock.widget().buttons["reject"].click()
        assert len(mw.proposals.queue) == n - 2
        key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the reject
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the accept
    assert set(doc.map_elements) == before and len(mw.proposals.queue) == n
    assert dock.widget().tree.topLevelItemCount() == n
    mw.proposals.threshold = 0.0
    win.registry.run("map_proposal_accept_above", win.model)
    assert len(mw.proposals.queue) == 0 and len(doc.map_elements) == len(before) + n
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(mw.proposals.queue) == n
    # the accepted proposals lie on ground-truth dividers (within 0.5 m on average)
    from fusionlabel.map.geometry import point_to_polyline_distance

    for pid in mw.proposals.queue.ids():
        v = mw.proposals.queue.proposal(pid).element.vertices[:, :2]
        d = min(np.median(point_to_polyline_distance(v, e.vertices[:, :2])) for e in gt if e.label == "lane_divider")
        assert d < 0.5
    # Map > Import map file: one undoable step
    from formats.maps.native import save_map

    save_map(tmp_path / "m.json", gt[:3])
    assert mw.import_file(str(tmp_path / "m.json"))
    assert len(doc.map_elements) == len(before) + 3
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert set(doc.map_elements) == before
    (tmp_path / "bad.json").write_text("{}")
    assert not mw.import_file(str(tmp_path / "bad.json"))
