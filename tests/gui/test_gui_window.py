"""The real main window under Xvfb (pytest-qt): loading, what is drawn where, navigation, prompts,
autosave and recovery. The 3D canvas needs GL, so every test here is marked ``gl``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.gui.gui_support import OPEN_WINDOWS, FakePrompter, open_window, synth_scene

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_scene(tmp_path_factory, frames=3, cameras=6, size=(320, 180))

QtCore = pytest.importorskip("PyQt6.QtCore")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _near_color(img: np.ndarray, xy: np.ndarray, rgb: tuple[int, int, int], tol: int = 40, r: int = 1) -> np.ndarray:
    """For each (x, y): is there a pixel within ``r`` px whose RGB is within ``tol`` of ``rgb``?"""
    h, w = img.shape[:2]
    out = np.zeros(len(xy), bool)
    for k, (x, y) in enumerate(np.rint(xy).astype(int)):
        x0, x1, y0, y1 = max(x - r, 0), min(x + r + 1, w), max(y - r, 0), min(y + r + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        patch = img[y0:y1, x0:x1, :3].astype(int)
        out[k] = bool((np.abs(patch - np.array(rgb)).max(axis=-1) <= tol).any())
    return out


def _qimage_rgb(qimg) -> np.ndarray:  # type: ignore[no-untyped-def]
    from PyQt6.QtGui import QImage

    q = qimg.convertToFormat(QImage.Format.Format_RGB888)
    w, h = q.width(), q.height()
    buf = np.frombuffer(q.constBits().asstring(q.sizeInBytes()), np.uint8).reshape(h, q.bytesPerLine())
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def test_camera_panel_draws_gt_box_edges_in_class_colour(qtbot, scene: Path, cache: Path) -> None:
    from gui.colors import class_color

    win = open_window(qtbot, scene)
    panel = win.camera_grid.panels["cam_front"]
    img = _qimage_rgb(panel.grab().toImage())
    best = None
    for r in win.boxes():
        pieces = panel.edges_of(r.track_id)
        length = sum(float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) for _, p in pieces)
        if best is None or length > best[0]:
            best = (length, r, pieces)
    assert best is not None and best[0] > 100, "no GT box clearly visible in cam_front"
    _, ref, pieces = best
    samples = []
    for _, poly in pieces:
        seg = np.diff(poly, axis=0)
        for a, d in zip(poly[:-1], seg, strict=True):
            n = max(2, int(np.linalg.norm(d) / 3))
            samples.append(a + np.linspace(0.1, 0.9, n)[:, None] * d)
    uv = np.concatenate(samples)
    xy = panel.image_to_widget(uv)
    hit = _near_color(img, xy, class_color(ref.label), tol=45, r=1)
    assert hit.mean() > 0.8, f"only {hit.mean():.0%} of the edge samples of track {ref.track_id} are box-coloured"
    # and the image itself is there: the panel is not a flat background
    assert img.std() > 20


def test_3d_view_draws_boxes_where_they_project(qtbot, scene: Path, cache: Path) -> None:
    from gui.colors import class_color

    win = open_window(qtbot, scene)
    pixels = win.view3d.render()
    assert pixels.ndim == 3 and pixels.shape[2] == 4
    h, w = pixels.shape[:2]
    ego = win.session.seq.T_world_from_ego(0)[:3, 3]
    refs = sorted(win.boxes(), key=lambda r: np.linalg.norm(np.asarray(r.box.center) - ego))
    checked = 0
    for ref in refs[:8]:
        corners = ref.box.corners()
        # bottom and top rings of the box as projected polylines
        ring = np.concatenate([corners[[0, 1, 2, 3, 0]], corners[[4, 5, 6, 7, 4]]])
        px = win.view3d.to_canvas(ring)
        if not ((px[:, 0] > 5) & (px[:, 0] < w - 5) & (px[:, 1] > 5) & (px[:, 1] < h - 5)).all():
            continue
        samples = []
        for start in (0, 5):
            for i in range(4):
                a, b = px[start + i], px[start + i + 1]
                samples.append(a + np.linspace(0.2, 0.8, 6)[:, None] * (b - a))
        hit = _near_color(pixels, np.concatenate(samples), class_color(ref.label), tol=60, r=2)
        assert hit.mean() > 0.6, f"track {ref.track_id}: {hit.mean():.0%} of its projected edges are box-coloured"
        checked += 1
    assert checked >= 3
    # the cloud is drawn: many pixels differ from the background
    bg = np.array([0.06, 0.07, 0.09]) * 255
    assert (np.abs(pixels[..., :3].astype(float) - bg).max(axis=-1) > 30).mean() > 0.05


def test_level_of_detail_while_moving(qtbot, scene: Path, cache: Path) -> None:
    win = open_window(qtbot, scene)
    v = win.view3d
    full = v.points.count
    assert full > 50000 and not v.lod_active
    v.interacted()
    assert v.lod_active and v.points.count == v.lod_points
    qtbot.waitUntil(lambda: not v.lod_active, timeout=3000)
    assert v.points.count == full


def test_navigation_selection_and_timeline(qtbot, scene: Path, cache: Path) -> None:
    win = open_window(qtbot, scene)
    assert win.frame == 0
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Right)
    assert win.frame == 1
    win.set_frame(99)
    assert win.frame == 2
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Home)
    assert win.frame == 0
    tid = win.boxes()[0].track_id
    win.select(tid)
    assert win.objects._current == tid
    assert win.timeline.bar.keyframes == [0, 1, 2]
    win.jump_keyframe(1)
    assert win.frame == 1
    win.jump_keyframe(-1)
    assert win.frame == 0
    # side/front views show the selected box's neighbourhood
    assert win.side.shapes and len(win.side._pts) > 0
    # colour modes and accumulation redraw without errors
    for mode in ("intensity", "distance", "height"):
        win.set_color_mode(mode)
    # frame changes draw the decimated cloud until the views rest
    assert win.view3d.lod_active
    qtbot.waitUntil(lambda: not win.view3d.lod_active, timeout=3000)
    n = win.view3d.points.count
    win.set_accumulate(1)  # sweeps accumulated: a first picture within the budget, every point at rest
    qtbot.waitUntil(lambda: win.view3d.points.count > n, timeout=5000)
    win.set_accumulate(0)
    win.set_camera_points(True)
    win.set_camera_points(False)


def test_click_in_camera_and_bev_selects(qtbot, scene: Path, cache: Path) -> None:
    win = open_window(qtbot, scene)
    panel = win.camera_grid.panels["cam_front"]
    target = None
    for r in win.boxes():
        if panel.edges_of(r.track_id):
            T = panel._T_cam_from_world
            c = np.asarray(r.box.center) @ T[:3, :3].T + T[:3, 3]
            if c[2] > 3:
                uv, _, ok = panel.camera.project(c[None])
                if ok[0] and panel.box_at(uv[0]) == r.track_id:
                    target = (r.track_id, uv[0])
                    break
    assert target is not None
    xy = panel.image_to_widget(target[1][None])[0]
    qtbot.mouseClick(panel, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(xy[0]), int(xy[1])))
    assert win.selection == target[0]
    # BEV: click on the centre of another box
    other = next(r for r in win.boxes() if r.track_id != target[0])
    s = win.bev.to_screen(np.asarray(other.box.center[:2])[None])[0]
    qtbot.mouseClick(win.bev, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(int(s[0]), int(s[1])))
    assert win.selection == other.track_id


def test_bad_folder_shows_an_error_and_the_window_stays(qtbot, tmp_path: Path, cache: Path) -> None:
    from gui.qt.window import MainWindow

    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "fusionlabel.json").write_text("{oops")
    p = FakePrompter()
    win = MainWindow(p)
    OPEN_WINDOWS.append(win)
    win.show()
    with qtbot.waitSignal(win.load_failed, timeout=10000):
        win.open_path(bad)
    assert p.errors and "fusionlabel.json" in p.errors[0]
    assert win.isVisible() and win.session is None


def test_title_star_quit_prompt_autosave_and_recovery(qtbot, scene: Path, cache: Path, tmp_path: Path) -> None:
    from fusionlabel.commands import DeleteTrack

    p = FakePrompter(save_answer="cancel")
    win = open_window(qtbot, scene, p)
    assert "*" not in win.windowTitle()
    tid = win.boxes()[0].track_id
    win.session.undo.push(DeleteTrack(tid))
    assert win.windowTitle().startswith("*")
    qtbot.waitUntil(lambda: tid not in [it for it in win.objects._items], timeout=2000)
    rec = win.autosave()
    assert rec is not None and rec.exists()
    # quitting with unsaved changes asks; "cancel" keeps the window
    win.close()
    assert p.asked[-1] == "save_changes" and win.isVisible()
    # simulate a crash: the recovery copy stays; a new window offers it
    n_before = len(win.session.doc)
    p.save_answer = "discard"
    win.keeper.recovered = False
    win.session.undo.mark_clean()  # pretend-crash: close without prompting, keep the recovery file
    win.close()
    assert rec.exists()
    p2 = FakePrompter(recover=True, save_answer="discard")
    win2 = open_window(qtbot, scene, p2)
    assert "recover" in p2.asked
    assert len(win2.session.doc) == n_before and tid not in win2.session.doc
    assert win2.windowTitle().startswith("*")
    # save: the recovery copy goes, the title is clean
    p2.save_to = tmp_path / "proj.json"
    assert win2.save()
    assert (tmp_path / "proj.json").exists() and not rec.exists()
    assert not win2.windowTitle().startswith("*")


def test_undo_redo_keys_and_delete(qtbot, scene: Path, cache: Path) -> None:
    win = open_window(qtbot, scene)
    n = len(win.session.doc)
    tid = win.boxes()[0].track_id
    win.select(tid)
    # Delete: the keyframe at this frame (GT has one on every frame)
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_Delete)
    assert 0 not in win.session.doc.track(tid).keyframes and len(win.session.doc) == n
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert 0 in win.session.doc.track(tid).keyframes
    # Shift+Delete: the whole track
    win.select(tid)
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_Delete, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert len(win.session.doc) == n - 1
    qtbot.wait(10)
    assert win.selection is None
    qtbot.keyClick(win.objects.tree, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert len(win.session.doc) == n
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_Y, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert len(win.session.doc) == n - 1
    win.undo()
    assert len(win.session.doc) == n
    win._set_label(tid, "truck")
    assert win.session.doc.track(tid).label == "truck"


def test_screenshot_shows_cameras_and_3d(qtbot, scene: Path, cache: Path, tmp_path: Path) -> None:
    win = open_window(qtbot, scene)
    img = _qimage_rgb(win.screenshot())
    assert img.shape[0] == win.height() and img.shape[1] == win.width()
    w3 = win.view3d.widget
    pos = w3.mapTo(win, QtCore.QPoint(0, 0))
    part = img[pos.y(): pos.y() + w3.height(), pos.x(): pos.x() + w3.width()]
    assert part.std() > 15  # the 3D canvas is in the screenshot, not a blank rectangle


def test_help_dialog_lists_the_keymap_and_play_advances(qtbot, scene: Path, cache: Path) -> None:
    win = open_window(qtbot, scene)
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_F1)
    dlg = win._help
    assert dlg is not None and dlg.isVisible()
    texts = [dlg.table.item(r, 2).text() for r in range(dlg.table.rowCount())]
    keys = [dlg.table.item(r, 1).text() for r in range(dlg.table.rowCount())]
    assert "Undo" in texts and "Ctrl+Z" in keys  # from the tools' keymap
    assert any("keyframe" in t for t in texts)  # the window's own keys
    dlg.close()
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_Question)
    assert win._help.isVisible()
    win._help.close()
    # play at the sensor rate (10 Hz) runs to the end and stops
    win.set_frame(0)
    qtbot.keyClick(win.bev, QtCore.Qt.Key.Key_Space)
    assert win.play_timer.isActive() and win.play_timer.interval() == 100
    qtbot.waitUntil(lambda: win.frame == 2 and not win.play_timer.isActive(), timeout=5000)


def test_object_list_filter_and_attribute_editing(qtbot, scene: Path, cache: Path) -> None:
    win = open_window(qtbot, scene)
    doc = win.session.doc
    ol = win.objects
    ol.filter.setCurrentText("pedestrian")
    shown = [tid for tid, it in ol._items.items() if not it.isHidden()]
    assert shown and all(doc.track(t).label == "pedestrian" for t in shown)
    ol.filter.setCurrentText(ol.ALL)
    car = next(t for t in doc.track_ids() if doc.track(t).label == "car")
    ol.tree.setCurrentItem(ol._items[car])  # selecting in the list selects in the window
    assert win.selection == car
    assert "state" in ol.attr_boxes  # the ontology's attributes of a car
    box = ol.attr_boxes["occlusion"]
    values = [box.itemText(i) for i in range(box.count())]
    value = next(v for v in values if v and v != doc.track(car).attributes.get("occlusion"))
    box.setCurrentText(value)
    box.activated.emit(box.currentIndex())
    assert doc.track(car).attributes["occlusion"] == value
    win.undo()
    assert doc.track(car).attributes.get("occlusion") != value
    # class change through the class box is one undoable command
    cb = ol.class_box
    cb.setCurrentText("truck")
    cb.activated.emit(cb.currentIndex())
    assert doc.track(car).label == "truck"
    qtbot.waitUntil(lambda: ol._items[car].text(1) == "truck", timeout=2000)
    win.undo()
    assert doc.track(car).label == "car"


def test_recovery_kept_for_later_is_moved_aside(qtbot, scene: Path, cache: Path) -> None:
    from fusionlabel.commands import DeleteTrack

    win = open_window(qtbot, scene, FakePrompter(save_answer="discard"))
    win.session.undo.push(DeleteTrack(win.boxes()[0].track_id))
    rec = win.autosave()
    assert rec is not None and rec.exists()
    win.session.undo.mark_clean()  # pretend-crash: close without prompting; the copy stays
    win.close()
    p2 = FakePrompter(recover=None)  # type: ignore[arg-type]
    win2 = open_window(qtbot, scene, p2)
    assert "recover" in p2.asked
    kept = list(rec.parent.glob("*.kept-*.json"))
    assert len(kept) == 1 and not rec.exists()
    assert not win2.is_modified  # opened without it
    # this session autosaves normally, next to the kept copy
    win2.session.undo.push(DeleteTrack(win2.boxes()[0].track_id))
    assert win2.autosave() == rec and rec.exists() and kept[0].exists()
    # a screenshot-style window neither asks nor autosaves
    from gui.qt.window import MainWindow

    p3 = FakePrompter()
    win3 = MainWindow(p3, recovery=False)
    OPEN_WINDOWS.append(win3)
    win3.show()
    with qtbot.waitSignal(win3.loaded, timeout=30000):
        win3.open_path(scene)
    assert "recover" not in p3.asked and win3.recovery is None


def test_proposals_and_issue_markers_are_drawn(qtbot, scene: Path, cache: Path) -> None:
    from fusionlabel.assist.review import SetProposals
    from fusionlabel.commands import AddIssueMarker
    from fusionlabel.document import Proposal

    win = open_window(qtbot, scene)
    doc = win.session.doc
    n_shapes = len(win.bev.shapes)
    box = doc.boxes_at(0)[0].box.replace(center=(1.0, 2.0, 0.8))
    win.session.undo.push(SetProposals([Proposal(0, "car", {0: box}, {0: 0.8}, 0.8)]))
    win.session.undo.push(AddIssueMarker((3.0, 4.0, 0.5), "check this one", frame=0))
    qtbot.waitUntil(lambda: len(win.bev.shapes) == n_shapes + 2, timeout=2000)
    texts = [s.text for s in win.bev.shapes]
    assert "p0 0.80" in texts and any(t.startswith("! check") for t in texts)
    assert any(t == "p0 0.80" for t in win.view3d._texts)
    win.session.undo.undo()
    win.session.undo.undo()
    qtbot.waitUntil(lambda: len(win.bev.shapes) == n_shapes, timeout=2000)


def test_timeline_draws_the_selected_tracks_gaps(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A track's gaps (frames where the object is not annotated) break its span on the ruler."""
    from gui.widgets import TimelineBar

    bar = TimelineBar()
    qtbot.addWidget(bar)
    bar.resize(420, 34)
    bar.set_state(101, 0, [0, 100], (0, 100))
    plain = _qimage_rgb(bar.grab().toImage())
    bar.set_state(101, 0, [0, 100], (0, 100), gaps=[(40, 59)])
    gapped = _qimage_rgb(bar.grab().toImage())
    mid = bar.height() // 2
    x_gap, x_span = int(round(bar._x(50))), int(round(bar._x(20)))
    span_rgb = plain[mid + 2, x_span].astype(int)
    assert np.abs(gapped[mid + 2, x_span].astype(int) - span_rgb).max() < 10  # outside the gap: span
    assert np.abs(plain[mid + 2, x_gap].astype(int) - span_rgb).max() < 10
    assert np.abs(gapped[mid + 2, x_gap].astype(int) - span_rgb).max() > 30  # in the gap: not the span


def test_shift_z_turns_the_bev_by_90_degrees(qtbot, scene: Path, cache: Path) -> None:
    """Shift+Z turns the BEV's up direction by 90 degrees relative to the ego heading (rigs whose
    LiDAR x axis is not the driving direction); it stays turned while frames change."""
    import math

    from PyQt6.QtCore import Qt

    win = open_window(qtbot, scene)
    T = win.session.frame(0).T_world_from_ego
    yaw = math.atan2(T[1, 0], T[0, 0])
    assert math.isclose(math.remainder(win.bev.up_angle - yaw, 2 * math.pi), 0.0, abs_tol=1e-9)
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier)
    assert math.isclose(math.remainder(win.bev.up_angle - yaw - math.pi / 2, 2 * math.pi), 0.0, abs_tol=1e-9)
    win.set_frame(1)
    T1 = win.session.frame(1).T_world_from_ego
    yaw1 = math.atan2(T1[1, 0], T1[0, 0])
    assert math.isclose(math.remainder(win.bev.up_angle - yaw1 - math.pi / 2, 2 * math.pi), 0.0, abs_tol=1e-9)
    for _ in range(3):
        qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier)
    assert win.bev_up_offset == 0.0


def test_big_first_frame_is_drawn_provisional_then_refined_then_prefetched(
        qtbot, scene: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gui.qt.drawing as drawing
    import gui.session as gs

    # every frame counts as big: drawn within budgets through its level of detail
    monkeypatch.setattr(gs, "EAGER_DERIVE_MAX_POINTS", 1000)
    monkeypatch.setattr(drawing, "EAGER_DERIVE_MAX_POINTS", 1000)
    win = open_window(qtbot, scene)
    frames = win.model.session.frames
    fd = frames.get(0, prefetch=False)
    qtbot.waitUntil(lambda: not fd.lod.provisional, timeout=20000)  # the voxel order replaced it
    assert fd.lod.levels > 0 and len(fd.lod.order) == min(fd.lod.n, 4_000_000)
    qtbot.waitUntil(lambda: not frames.prefetch_held, timeout=5000)
    frames.wait_idle(20)
    assert 1 in frames and frames.get(1, prefetch=False).lod.levels > 0  # prefetched: voxel order at once
    assert win.view3d._cloud.parts[0].lod is fd.lod  # noqa: SLF001 - the views redrew the refined cloud
