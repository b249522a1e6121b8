"""The session and the camera panel draw at each image's capture time; raw or deskewed sweeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import native
from fusionlabel.synth import SynthConfig, SynthScene


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = SynthConfig(frames=3, seed=0, cameras=1, image_size=(160, 90), beams=32, azimuths=720,
                      rolling_sweep=True, exposure_offset_ns=30_000_000)
    return native.write_synth_scene(SynthScene(cfg), tmp_path_factory.mktemp("timed") / "seq")


def test_session_camera_pose_overlay_and_deskew(timed: Path) -> None:
    from gui.session import load_session

    s = load_session(timed)
    try:
        T_cap, ct = s.camera_pose(1, "cam_front")
        assert ct is not None and ct.capture_ns != s.seq.frames[1].timestamp_ns
        s.time_correct = False
        T_frame, none = s.camera_pose(1, "cam_front")
        assert none is None
        np.testing.assert_allclose(T_frame, s.T_cam_from_world(1, "cam_front"))
        assert np.abs(T_cap[:3, 3] - T_frame[:3, 3]).max() > 0.1
        # points_at reads the frame as a part, held compact (int16 at 1 cm: within half a centimetre)
        cm = 0.0051
        part = s.points_at(1)
        raw = s.overlay_points(1)  # time correction off: the raw points of the whole frame
        assert raw.dtype == part.dtype == np.float32
        np.testing.assert_allclose(part, raw, rtol=0, atol=cm)
        np.testing.assert_array_equal(s.points_at(1, prefetch=True), raw)  # the whole frame: exact
        s.time_correct = True
        timed_pts = s.overlay_points(1)
        assert timed_pts.shape == raw.shape and np.abs(timed_pts - raw).max() > 0.1
        s.set_deskew(True)
        np.testing.assert_allclose(s.points_at(1), timed_pts, rtol=0, atol=cm)
        np.testing.assert_allclose(s.points_at(1, prefetch=True), timed_pts)
        s.set_deskew(False)
        np.testing.assert_allclose(s.points_at(1), raw, rtol=0, atol=cm)
        np.testing.assert_array_equal(s.points_at(1, prefetch=True), raw)
    finally:
        s.close()


def test_camera_panel_draws_at_capture_time(qtbot, timed: Path) -> None:  # noqa: ANN001
    from fusionlabel.geometry import box_corners
    from gui.cameras import CameraBox, CameraPanel
    from gui.session import load_session

    s = load_session(timed)
    try:
        refs = s.doc.boxes_at(1)
        corners = box_corners([r.box for r in refs])
        boxes = [CameraBox(r.track_id, r.label, c) for r, c in zip(refs, corners, strict=True)]
        panel = CameraPanel("cam_front", s.camera(1, "cam_front"))
        qtbot.addWidget(panel)
        T_frame = s.T_cam_from_world(1, "cam_front")
        T_cap, ct = s.camera_pose(1, "cam_front")
        panel.set_frame(None, T_frame, boxes)
        before = {r.track_id: panel.edges_of(r.track_id) for r in refs}
        panel.set_frame(None, T_cap, boxes, timing=ct)
        assert panel.camera_view().timing is ct
        after = {r.track_id: panel.edges_of(r.track_id) for r in refs}
        moved = [t for t in before if before[t] and after[t]
                 and not np.allclose(before[t][0][1][0], after[t][0][1][0])]
        assert moved
    finally:
        s.close()


@pytest.mark.gl
def test_window_view_menu_switches_capture_time_and_deskew(qtbot, timed: Path, tmp_path: Path,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The View menu's two timing entries (registry actions) reach the session and the panels:
    boxes at capture time by default, at the sweep time when switched off; deskewed sweeps on."""
    from tests.gui.gui_support import open_window

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    win = open_window(qtbot, timed)
    panel = next(iter(win.camera_grid.panels.values()))
    assert win.session.time_correct and panel.camera_view().timing is not None
    raw = win.session.points_at(win.frame).copy()
    win.qactions["time_correct"].trigger()
    qtbot.waitUntil(lambda: panel.camera_view().timing is None)
    assert not win.session.time_correct
    win.qactions["time_correct"].trigger()
    qtbot.waitUntil(lambda: panel.camera_view().timing is not None)
    win.qactions["deskew"].trigger()
    assert win.session.deskew and win.model.view.deskew
    assert np.abs(win.session.points_at(win.frame) - raw).max() > 0.1


def _moving_ref(s, frame: int):  # noqa: ANN001, ANN202
    """The box at ``frame`` of the track that moves most between frames 0 and 2, and its camera
    pose and timing at ``frame``."""
    def moved(r):  # noqa: ANN001, ANN202
        a, b = s.doc.box_at(r.track_id, 0), s.doc.box_at(r.track_id, 2)
        return 0.0 if a is None or b is None else float(np.linalg.norm(np.subtract(a.box.center, b.box.center)))
    T_cap, ct = s.camera_pose(frame, "cam_front")
    refs = [r for r in s.doc.boxes_at(frame) if moved(r) > 0.5]
    return max(refs, key=moved), T_cap, ct


def test_drag_preview_and_proposals_drawn_at_capture_time(qtbot, timed: Path) -> None:  # noqa: ANN001
    """The camera panel's drag preview of a track's box and the pre-label proposals stand where
    the track's box stands at the image's capture time (moved by the track's / proposal's motion),
    as the boxes do; a new box being drawn (no track) is not moved."""
    from fusionlabel.document import Proposal
    from gui.cameras import CameraPanel
    from gui.model.camproj import CameraView
    from gui.model.layers import CuboidLayer, track_cuboids
    from gui.session import load_session

    s = load_session(timed)
    try:
        ref, T_cap, ct = _moving_ref(s, 1)
        assert ct is not None
        view = CameraView("cam_front", s.camera(1, "cam_front"), T_cap, timing=ct)
        boxes = CuboidLayer("boxes", "track")
        boxes.set_data(track_cuboids(s.doc, 1))
        i = [c.id for c in boxes.data].index(ref.track_id)
        want = boxes.camera_corners(view)[i]
        assert np.abs(want - ref.box.corners()).max() > 0.05  # the track moves between the times
        panel = CameraPanel("cam_front", s.camera(1, "cam_front"))
        qtbot.addWidget(panel)
        panel.set_frame(None, T_cap, [], timing=ct)
        panel.set_preview(ref.box.corners(), ref.track_id)
        np.testing.assert_allclose(panel.preview_layer.camera_corners(panel.camera_view())[0], want, atol=1e-9)
        panel.set_preview(ref.box.corners())  # a new box: no track to move with
        np.testing.assert_allclose(panel.preview_layer.camera_corners(panel.camera_view())[0], ref.box.corners())
        # a proposal observed at frames 0-2 with the track's boxes moves as the track does
        s.doc.proposals[7] = Proposal(7, ref.label, {k: s.doc.box_at(ref.track_id, k).box for k in range(3)})
        panel.set_proposals([(7, ref.box.corners(), False)])
        np.testing.assert_allclose(panel.proposal_layer.camera_corners(panel.camera_view())[0], want, atol=1e-6)
        assert panel.proposal_edges(7)
    finally:
        s.close()


@pytest.mark.gl
def test_image_box_tool_fits_with_the_capture_time_pose(qtbot, timed: Path, tmp_path: Path,  # noqa: ANN001
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The camera box tool is given each camera at the image's capture time (the pose the panel
    draws with), and the frame-time pose when time correction is off."""
    from tests.gui.gui_support import open_window

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    win = open_window(qtbot, timed)
    name = next(iter(win.camera_grid.panels))
    tool = win.model.controller.view_tools["camera"]
    T_cap, ct = win.session.camera_pose(win.frame, name)
    assert ct is not None
    np.testing.assert_allclose(tool.cameras(name).T_world_from_cam, np.linalg.inv(T_cap), atol=1e-9)
    win.qactions["time_correct"].trigger()
    panel = win.camera_grid.panels[name]
    qtbot.waitUntil(lambda: panel.camera_view().timing is None)
    T_frame = win.session.T_cam_from_world(win.frame, name)
    np.testing.assert_allclose(tool.cameras(name).T_world_from_cam, np.linalg.inv(T_frame), atol=1e-9)
    assert np.abs(T_cap[:3, 3] - T_frame[:3, 3]).max() > 0.1


@pytest.mark.gl
def test_deskew_that_cannot_work_says_why(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Switching deskew on for sweeps without per-point times says so in the status line (and the
    session's note says why); on a sequence that has them, the message is the plain one."""
    from tests.gui.gui_support import open_window

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    plain = native.write_synth_scene(SynthScene(SynthConfig(frames=2, seed=0, cameras=1, image_size=(160, 90),
                                                            beams=16, azimuths=360)), tmp_path / "plain")
    win = open_window(qtbot, plain)
    assert "no per-point times" in (win.session.deskew_note() or "")
    win.qactions["deskew"].trigger()
    assert win.model.view.deskew
    text = win.model.status.text
    assert "sweeps shown raw: its sweeps carry no per-point times" in text, text


def test_window_session_opens_a_bag_with_its_timing(timed: Path, tmp_path: Path) -> None:
    """The window's session opens a recording through the seam like a folder: the same world
    points, capture-time camera poses from the image stamps, deskew from the PointCloud2 time field."""
    pytest.importorskip("rosbags")
    from formats.datasets import open_dataset
    from formats.datasets.rosbag_write import write_bag
    from gui.session import load_session

    bag = write_bag(open_dataset(timed), tmp_path / "rec", "ros2-mcap")
    a, b = load_session(bag), load_session(timed)
    try:
        assert len(a) == len(b) == 3 and a.loaded.format == "rosbag"
        np.testing.assert_allclose(a.points_at(1), b.points_at(1), atol=1e-5)
        (Ta, ca), (Tb, cb) = a.camera_pose(1, "cam_front"), b.camera_pose(1, "cam_front")
        assert ca is not None and cb is not None and ca.capture_ns == cb.capture_ns != ca.frame_ns
        np.testing.assert_allclose(Ta, Tb, atol=1e-6)
        assert a.deskew_note() is None
        a.set_deskew(True)
        b.set_deskew(True)
        np.testing.assert_allclose(a.points_at(1), b.points_at(1), atol=1e-4)
    finally:
        a.close()
        b.close()
