"""Big frames: the cloud with its level of detail (gui.model.cloud) and the views drawing it within
their point budgets: the 3D view, the BEV raster and the camera overlay get at most their moving
budget while moving (or stepping), more at rest; accumulations split the budget over sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from fusionlabel.lod import build_lod
from gui.frames import FrameData
from gui.model.cloud import CloudPart, ShownCloud, shown_cloud


def sweep(n: int, seed: int = 0, x0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = (2 + 60 * rng.uniform(0, 1, n) ** 2).astype(np.float32)
    a = rng.uniform(-np.pi, np.pi, n).astype(np.float32)
    z = rng.uniform(-0.2, 3.0, n).astype(np.float32)
    pts = np.column_stack([x0 + r * np.cos(a), r * np.sin(a), z]).astype(np.float32)
    return pts, rng.uniform(0, 1, n).astype(np.float32)


def part(n: int, seed: int = 0, x0: float = 0.0) -> CloudPart:
    pts, inten = sweep(n, seed, x0)
    return CloudPart(pts, inten, build_lod(pts))


class Frames:
    """A frame cache stand-in: frames of ``n`` points, the ego moving 2 m a frame along x."""

    def __init__(self, count: int, n: int) -> None:
        self.fds = []
        for i in range(count):
            pts, inten = sweep(n, i, 2.0 * i)
            T = np.eye(4)
            T[0, 3] = 2.0 * i
            self.fds.append(FrameData(i, pts, inten, T, {"cam": np.zeros((4, 6, 3), np.uint8)}))
        self.asked: list[int] = []

    def get(self, i: int, prefetch: bool = True) -> FrameData:
        self.asked.append(i)
        return self.fds[i]


# ---- the cloud (no Qt) ----------------------------------------------------------------------------
def test_take_gives_the_progressive_prefix_and_the_whole_without_copy() -> None:
    p = part(20_000)
    cloud = ShownCloud([p])
    pts, inten = cloud.take(1000)
    assert len(pts) == len(inten) == 1000
    assert np.array_equal(pts, p.pts_world[p.lod.order[:1000]])
    assert np.array_equal(inten, p.intensity[p.lod.order[:1000]])
    full, _ = cloud.take(None)
    assert full is p.pts_world
    assert cloud.take(10**9)[0] is p.pts_world
    assert cloud.take(1000)[0] is pts  # small samples are shared by the views
    short = ShownCloud([CloudPart(p.pts_world, p.intensity, build_lod(p.pts_world, max_prefix=8000))])
    assert short.count(12_000) == len(short.take(12_000)[0]) == 8000  # at most the order kept
    assert short.count(20_000) == 20_000 and short.take(20_000)[0] is p.pts_world
    rgba = cloud.rgba(pts, inten)
    assert rgba.shape == (1000, 4) and rgba.dtype == np.uint8 and (rgba[:, 3] == 255).all()


def test_accumulation_splits_the_budget_over_sweeps() -> None:
    frames = Frames(7, 5000)
    cloud = shown_cloud(frames, 3, 7, accumulate=2)
    assert sorted(set(frames.asked)) == [1, 2, 3, 4, 5] and cloud.n == 25_000
    assert all(fd.lod is not None for fd in frames.fds[1:6])  # built when the loader had not
    pts, _ = cloud.take(5000)
    assert len(pts) == 5000
    # every sweep gives its share: its own prefix (sweeps are shifted by 2 m a frame)
    for k, p in enumerate(cloud.parts):
        rows = pts[k * 1000:(k + 1) * 1000]
        assert np.array_equal(rows, p.pts_world[p.lod.order[:1000]])
    at_edge = shown_cloud(frames, 0, 7, accumulate=2)
    assert len(at_edge.parts) == 3  # frames 0, 1, 2
    assert np.allclose(cloud.origin, [6.0, 0, 0])


def test_accumulated_sweeps_release_the_whole_frame_arrays_the_current_one_keeps_them() -> None:
    from gui.session import derive

    frames = Frames(7, 5000)
    refreshed: list[int] = []
    frames.refresh_size = refreshed.append  # type: ignore[attr-defined]
    for fd in frames.fds:
        fd.memo["ground_z"] = 0.0
        derive(fd)
        assert fd.nbytes >= 16 * 5000 + 32 * 5000 and "bev_rgb" not in fd.memo  # 32 bytes a point
    cloud = shown_cloud(frames, 3, 7, accumulate=2)
    kept = {"z_order", ("rgb", "height"), "bev_rgb32", "bev_xy"}
    assert kept <= set(frames.fds[3].memo)  # the current frame: drawn whole when accumulation stops
    for f in (1, 2, 4, 5):
        assert set(frames.fds[f].memo) == {"ground_z"}
    # released, and every level of detail built here (the current frame's too), counted again
    assert sorted(refreshed) == [1, 2, 3, 4, 5] and kept <= set(frames.fds[6].memo)
    assert all(fd.images for fd in frames.fds)  # a source that does not read them again keeps images
    shown_cloud(frames, 3, 7, accumulate=2)
    assert sorted(refreshed) == [1, 2, 3, 4, 5]  # nothing more released, the cache not asked again
    assert cloud.take(5000)[0].shape == (5000, 3)
    fd = derive(frames.fds[2])  # drawn whole again: derived again
    assert np.array_equal(fd.memo["bev_xy"], fd.pts_world[fd.memo["z_order"], :2])


# ---- the views ------------------------------------------------------------------------------------
pytest.importorskip("PyQt6.QtWidgets")


@pytest.fixture
def big_cloud() -> ShownCloud:
    return ShownCloud([part(60_000, 1)], ground=0.0)


def test_3d_view_draws_the_budget_while_moving_and_more_at_rest(qtbot, big_cloud: ShownCloud) -> None:  # type: ignore[no-untyped-def]
    from PyQt6.QtWidgets import QMainWindow

    from gui.render.view3d import View3D

    w = QMainWindow()
    qtbot.addWidget(w)
    v = View3D(lod_points=5000, still_points=40_000, rest_ms=50)
    w.setCentralWidget(v.widget)
    w.resize(400, 300)
    w.show()
    v.set_cloud(big_cloud)
    assert v.lod_active and v.drawn_points == 5000  # the first picture: the budget
    first = v.render()
    assert (first[..., :3].astype(int).sum(axis=2) > 60).sum() > 500
    v.settle()
    assert not v.lod_active and v.drawn_points == 40_000  # at rest: the still budget
    v.interacted()
    assert v.drawn_points == 5000
    qtbot.waitUntil(lambda: not v.lod_active, timeout=3000)
    assert v.drawn_points == 40_000
    v.still_points = None  # every point at rest
    v.set_cloud(big_cloud)
    v.settle()
    assert v.drawn_points == 60_000
    small = ShownCloud([part(3000, 2)])
    v.set_cloud(small)  # under the budget: drawn whole at once
    assert v.drawn_points == 3000 and not v.lod_active
    v.hold()
    v.set_cloud(big_cloud)  # deferred while held
    assert v.drawn_points == 3000
    v.release()
    assert v.drawn_points == 5000
    v.close()


def _shown_view3d(qtbot, width: int, height: int):  # type: ignore[no-untyped-def]
    """``(window, view)``: a 3D view in a shown window of ``width`` x ``height`` px (closed with the
    test's widgets; the caller keeps the window referenced, else it is collected with the view)."""
    from PyQt6.QtWidgets import QMainWindow

    from gui.render.view3d import View3D

    w = QMainWindow()
    qtbot.addWidget(w)
    v = View3D()
    w.setCentralWidget(v.widget)
    w.resize(width, height)
    w.show()
    return w, v


def test_3d_view_colours_are_exact(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Colours travel packed in one float a point (r + 256 g + 65536 b) and come out exact."""

    from gui.render.points import packed_rgb

    c = np.array([[255, 0, 7, 255], [1, 254, 128, 255], [13, 77, 255, 0]], np.uint8)
    assert np.array_equal(packed_rgb(c), c[:, 0] + 256.0 * c[:, 1] + 65536.0 * c[:, 2])
    _w, v = _shown_view3d(qtbot, 200, 200)
    pts = np.random.default_rng(0).uniform(-3, 3, (20_000, 3)).astype(np.float32)
    for rgb in ((201, 99, 3), (17, 230, 140)):
        v.set_points(pts, np.tile(np.array(rgb, np.float32) / 255.0, (len(pts), 1)))
        v.look_at((0, 0, 0), 0.0, 12.0)
        img = v.render()[..., :3].reshape(-1, 3)
        colours, counts = np.unique(img, axis=0, return_counts=True)
        assert tuple(colours[np.argmax(counts)]) == rgb
    v.close()


def test_3d_view_draws_a_big_cloud_in_chunks_with_the_same_pixels(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Clouds over DRAW_CHUNK points are drawn in several draw calls (bounded llvmpipe memory):
    the picture is the one of a single draw call, every point drawn (depth test and all)."""

    import gui.render.points as gp

    _w, v = _shown_view3d(qtbot, 300, 200)
    rng = np.random.default_rng(1)
    pts = rng.uniform(-3, 3, (25_000, 3)).astype(np.float32)
    rgb = rng.uniform(0, 1, (len(pts), 3)).astype(np.float32)
    v.set_points(pts, rgb)
    v.look_at((0, 0, 0), 0.3, 12.0)
    whole = v.render()
    calls: list[tuple[int, int]] = []
    real = gp.PointCloudVisual.draw

    def counting(self: gp.PointCloudVisual) -> None:
        calls.append((self.count, gp.DRAW_CHUNK))
        real(self)

    monkeypatch.setattr(gp, "DRAW_CHUNK", 4096)
    monkeypatch.setattr(gp.PointCloudVisual, "draw", counting)
    v.canvas.update()
    chunked = v.render()
    assert calls and calls[-1] == (25_000, 4096)  # 7 chunks
    assert np.array_equal(chunked, whole)
    v.close()


def test_bev_rasters_the_budget_in_draft_and_while_panning(qtbot, big_cloud: ShownCloud) -> None:  # type: ignore[no-untyped-def]
    from gui.ortho import OrthoView

    view = OrthoView()
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.show()
    view.draft_points, view.still_points = 4000, None
    view.set_cloud(big_cloud)
    view.set_view((0, 0), 2.0)
    view._rest.setInterval(50)
    view.set_draft(True)
    img = view.grab()
    assert view.raster_count == 4000 and not img.isNull()
    view.set_draft(False)
    qtbot.waitUntil(lambda: not view._moving, timeout=3000)
    view.repaint()
    assert view.raster_count == 60_000  # at rest: every point (still_points None)
    lit_full = int((view._raster_buf != view._raster_buf[0]).sum())
    view.set_view((1.0, 0))  # panning: the budget until rest
    view.repaint()
    assert view.raster_count == 4000
    lit_draft = int((view._raster_buf != view._raster_buf[0]).sum())
    assert 0.8 * 4000 < lit_draft < lit_full  # a spread-out subsample: few points share a pixel
    qtbot.waitUntil(lambda: not view._moving, timeout=3000)
    view.repaint()
    assert view.raster_count == 60_000


def test_bev_raster_shows_the_highest_point_of_a_pixel(qtbot) -> None:  # type: ignore[no-untyped-def]
    from gui.colors import bev_colors
    from gui.ortho import OrthoView, pack_rgb32

    pts = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 1.0]], np.float32)
    cloud = ShownCloud([CloudPart(pts, np.zeros(3, np.float32), build_lod(pts))])
    view = OrthoView()
    qtbot.addWidget(view)
    view.resize(100, 100)
    view.show()
    view.set_cloud(cloud)
    view.set_view((0.25, 0.25), 2.0)
    view.grab()
    lit = view._raster_buf[view._raster_buf != view._raster_buf[0]]
    assert set(lit.tolist()) == {int(pack_rgb32(bev_colors(np.array([2.0], np.float32)))[0])}


def test_camera_overlay_projects_the_budget_in_draft(qtbot, big_cloud: ShownCloud) -> None:  # type: ignore[no-untyped-def]
    from calib.camera import CameraModel
    from gui.cameras import CameraPanel

    K = np.array([[200.0, 0, 160], [0, 200.0, 100], [0, 0, 1]])
    panel = CameraPanel("cam_front", CameraModel(K, 320, 200))
    qtbot.addWidget(panel)
    T_cam_from_world = np.array([[0.0, -1, 0, 0], [0, 0, -1, 1.5], [1, 0, 0, 0], [0, 0, 0, 1]])
    image = np.zeros((200, 320, 3), np.uint8)
    panel.draft_points, panel.still_points = 3000, None
    panel.set_show_points(True)
    panel.set_draft(True)
    panel.set_frame(image, T_cam_from_world, [], big_cloud)
    assert panel.overlay_count == 3000
    draft_lit = int((panel._composite.sum(axis=2) > 0).sum())
    panel.set_draft(False)  # at rest: recomposed with every point
    assert panel.overlay_count == 60_000
    full_lit = int((panel._composite.sum(axis=2) > 0).sum())
    assert 0 < draft_lit < full_lit
    # an array (no level of detail) is projected whole, nearest point on top, as before
    pts, _ = big_cloud.take(None)
    panel.set_frame(image, T_cam_from_world, [], pts)
    assert panel.overlay_count == 60_000
    assert int((panel._composite.sum(axis=2) > 0).sum()) == full_lit


def test_the_message_of_a_narrow_view_is_on_its_own_lines_and_elided(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The side view's caption: the box's numbers on one line, its state on the next, each cut
    with "..." where the view is narrower than the text (a 290 px panel cut it mid-word)."""
    from PyQt6.QtGui import QFontMetrics

    from gui.ortho import OrthoView

    view = OrthoView()
    qtbot.addWidget(view)
    view.resize(260, 200)
    view.show()
    view.title = "side (from the right)"
    view.message = "track 43 car  4.72 x 1.92 x 1.51 m and a long tail of words\n(tracked, confidence 0.93)"
    fm = QFontMetrics(view.font())
    texts = view.overlay_texts(fm)
    assert [(y, title) for _, y, title in texts] == [(4, True), (200 - 42, False), (200 - 22, False)]
    assert texts[2][0] == "(tracked, confidence 0.93)"
    assert texts[1][0].startswith("track 43 car") and texts[1][0].endswith("\u2026")
    assert all(fm.horizontalAdvance(t) <= 260 - 18 for t, _, _ in texts)
    view.resize(600, 200)
    assert view.overlay_texts(fm)[1][0] == "track 43 car  4.72 x 1.92 x 1.51 m and a long tail of words"
    assert not view.grab().isNull()
