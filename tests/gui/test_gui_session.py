"""Qt-free parts of the GUI: session loading, frame data in the world frame, the frame providers,
project save/read and the recovery copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fusionlabel.box import Box3D
from fusionlabel.commands import CreateTrack
from fusionlabel.geometry import points_in_boxes


def _scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic sequence shared by the GUI tests of this session (3 frames, 6 cameras)."""
    from fusionlabel.cli import generate

    root = tmp_path_factory.getbasetemp() / "gui-scene-3f"
    if not (root / "fusionlabel.json").exists():
        generate(root, frames=3, seed=0, cameras=6, size=(320, 180), force=True)
    return root


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scene(tmp_path_factory)


def test_load_session_gt_as_initial_annotation(scene: Path) -> None:
    from formats import native
    from gui.session import load_session

    steps = []
    s = load_session(scene, progress=lambda d, t, w: steps.append((d, t)))
    try:
        assert len(s) == 3
        assert s.initial_annotation == "ground_truth"
        assert len(s.doc) == len(native.load_ground_truth(s.seq)) > 0
        assert s.undo.is_clean
        assert steps[0] == (0, 3) and steps[-1] == (3, 3)
    finally:
        s.close()


def test_frame_points_are_in_the_world_frame(scene: Path) -> None:
    """Points that the generator marks as lying on object k fall inside k's world-frame GT box."""
    from formats import native
    from gui.session import load_frame, load_session

    s = load_session(scene)
    try:
        frame = 2
        fd = load_frame(s.loaded, frame)
        inst = native.read_lidar_instance(s.seq, frame)
        assert inst is not None and len(inst) == len(fd.pts_world)
        refs = s.doc.boxes_at(frame)
        checked = 0
        for r in refs:
            mine = fd.pts_world[inst == r.track_id]
            if len(mine) < 20:
                continue
            inside = points_in_boxes(mine.astype(np.float64), [r.box], margin=0.01)[0]
            assert inside.mean() > 0.99, r.track_id
            checked += 1
        assert checked >= 5
        assert set(fd.images) == set(s.seq.camera_names)
        assert fd.images["cam_front"].shape == (180, 320, 3)
    finally:
        s.close()


def test_bad_path_names_the_file(tmp_path: Path) -> None:
    from fusionlabel.errors import FusionLabelError
    from gui.session import SessionError, load_session

    assert issubclass(SessionError, FusionLabelError)  # one error family: the CLI's one line, exit 2
    with pytest.raises(SessionError, match="nothing-here"):
        load_session(tmp_path / "nothing-here")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "fusionlabel.json").write_text("{not json")
    with pytest.raises(ValueError, match="fusionlabel.json"):
        load_session(bad)


def test_frame_providers(scene: Path) -> None:
    """One points provider and the frame facts (sensor origin, ego heading) of a session."""
    import math

    from gui.session import load_session

    s = load_session(scene)
    try:
        lidar = s.loaded.lidar_names[0]
        for f in range(len(s)):
            np.testing.assert_array_equal(s.points_at(f), s.frame(f).pts_world)
            np.testing.assert_allclose(s.sensor_origin(f), s.loaded.T_world_from_sensor(f, lidar)[:3, 3])
            Te = s.seq.frames[f].T_world_from_ego
            assert math.isclose(s.ego_yaw(f), math.atan2(Te[1, 0], Te[0, 0]))
        dt, pts = s.sweep_near(1, -1)
        ts = s.seq.frames
        assert dt == pytest.approx((ts[0].timestamp_ns - ts[1].timestamp_ns) * 1e-9) and dt < 0
        np.testing.assert_array_equal(pts, s.points_at(0))
        assert s.sweep_near(2, 1) is None and s.sweep_near(0, -1) is None  # outside the sequence
    finally:
        s.close()


def test_project_save_and_open_as_session(scene: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gui import persist
    from gui.session import SessionError, is_project_file, load_session

    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    s = load_session(scene)
    try:
        s.undo.push(CreateTrack("car", 1, Box3D((1.0, 2.0, 0.8), (4.0, 1.8, 1.6), 0.3)))
        out = persist.save_project(s, tmp_path / "work" / "p.flproj")
        assert is_project_file(out) and not is_project_file(scene)
        s2 = load_session(out)
        try:
            assert s2.initial_annotation == "project" and s2.project_path == out
            assert s2.doc.to_dict() == s.doc.to_dict()
            assert s2.seq.root == scene and len(s2) == 3
        finally:
            s2.close()
        # the recovery store of a never-saved session lives in the cache folder
        store = persist.recovery_store(s, 60.0)
        try:
            assert str(store.path).startswith(str(tmp_path / "cache"))
            assert store.dirty
            rec = store.write_recovery()
            assert rec.exists() and store.recovery_is_newer()
        finally:
            store.close()
        # a project whose sequence is gone names both
        text = out.read_text().replace(str(scene), str(tmp_path / "gone"))
        bad = tmp_path / "a" / "b" / "q.flproj"  # the relative path does not lead to it either
        bad.parent.mkdir(parents=True)
        bad.write_text(text)
        with pytest.raises(SessionError, match="q.flproj"):
            load_session(bad)
    finally:
        s.close()


def test_colors() -> None:
    from gui.colors import class_color, depth_colors_u8, point_colors

    pts = np.array([[0, 0, -1.0], [0, 0, 5.0], [30, 40, 0.0]])
    rgb = point_colors("height", pts, None)
    assert rgb.shape == (3, 3) and rgb.dtype == np.float32
    assert not np.allclose(rgb[0], rgb[1])
    assert point_colors("distance", pts, None).shape == (3, 3)
    assert point_colors("intensity", pts, np.array([0.0, 0.5, 1.0])).shape == (3, 3)
    with pytest.raises(ValueError):
        point_colors("nope", pts, None)
    assert class_color("car") != class_color("pedestrian")
    assert class_color("some_new_class") == class_color("some_new_class")
    near, far = depth_colors_u8(np.array([1.0, 60.0]))
    assert near[0] > near[2] and far[2] > far[0]  # near red, far blue


def test_fast_helpers_match_the_plain_computations() -> None:
    from calib.transforms import pose_from_xyz_yaw
    from gui.colors import _ramp_exact, ramp
    from gui.frames import transform_f32
    from gui.session import height_order

    rng = np.random.default_rng(1)
    pts = rng.uniform(-80, 80, (5000, 3)).astype(np.float32)
    T = pose_from_xyz_yaw(120.0, -40.0, 1.8, 2.3)
    ref = pts.astype(np.float64) @ T[:3, :3].T + T[:3, 3]
    assert np.abs(transform_f32(T, pts) - ref).max() < 1e-3
    # blocks of any size (and strided input, as a view of (N, 4) rows) give the same values
    rows = np.concatenate([pts, np.ones((5000, 1), np.float32)], axis=1)
    assert np.array_equal(transform_f32(T, rows, chunk=7), transform_f32(T, pts))
    assert transform_f32(T, pts[:0]).shape == (0, 3)
    z = rng.normal(0, 2, 5000).astype(np.float32)
    order = height_order(z)
    assert sorted(order.tolist()) == list(range(5000))
    assert np.all(np.diff(z[order]) > -0.011)  # ascending to 1 cm
    v = rng.uniform(-1, 4, 1000)
    t = np.clip((v + 0.5) / 3.5, 0, 1)
    assert np.abs(ramp(v, -0.5, 3.0) - _ramp_exact(t)).max() < 0.01


def test_project_reopens_its_sequence_with_the_options_it_was_opened_with(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A sequence opened with ``--estimate-poses`` and saved as a project reopens with estimated
    poses: the boxes are stored in that world frame (without the option they would land beside
    their points)."""
    from gui import persist
    from gui.app import build_parser
    from gui.session import load_session
    from tests.conftest import real_data

    path = real_data("sustechpoints_example", "data", "example")
    monkeypatch.setenv("FUSIONLABEL_CACHE", str(tmp_path / "cache"))
    s = load_session(path, open_args=build_parser().parse_args([str(path), "--estimate-poses"]))
    try:
        assert s.open_options == {"estimate_poses": True}
        poses = [f.T_world_from_ego.copy() for f in s.seq.frames]
        assert max(float(np.linalg.norm(T[:3, 3])) for T in poses) > 1.0
        out = persist.save_project(s, tmp_path / "p.flproj")
        s2 = load_session(out)
        try:
            assert s2.open_options == {"estimate_poses": True}
            for T, f in zip(poses, s2.seq.frames, strict=True):
                assert np.allclose(T, f.T_world_from_ego, atol=1e-6)
            assert s2.doc.to_dict() == s.doc.to_dict()
            assert s2.sequence_ref.options == {"estimate_poses": True}  # and kept on the next save
        finally:
            s2.close()
    finally:
        s.close()


def test_project_frame_count_rule(scene: Path, tmp_path: Path) -> None:
    """The window opens through formats.source: a project whose frame count differs from its
    sequence's is refused naming both counts, unless --frame-mismatch sequence."""
    import argparse

    from formats.openargs import add_open_arguments
    from formats.project import SequenceRef, save_project
    from fusionlabel.document import AnnotationDocument
    from gui.session import SessionError, load_session

    proj = tmp_path / "long.flproj"
    save_project(proj, AnnotationDocument(5), SequenceRef(scene, "native"))
    with pytest.raises(SessionError, match="annotates 5 frames but its sequence .* has 3"):
        load_session(proj)
    p = argparse.ArgumentParser()
    add_open_arguments(p)
    s = load_session(proj, open_args=p.parse_args(["--frame-mismatch", "sequence"]))
    try:
        assert s.initial_annotation == "project" and s.doc.frame_count == 3 and len(s) == 3
        assert s.open_options == {}  # the rule is not a reader option the project records
    finally:
        s.close()
