"""The native layout keeps the synthetic timing: per-point times and per-image capture times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formats import native
from formats.datasets import open_dataset
from formats.errors import FormatError
from fusionlabel.synth import SynthConfig, SynthScene

SMALL = dict(frames=2, seed=3, cameras=1, image_size=(64, 36), beams=16, azimuths=360, sweep_blocks=36)


def test_rolling_sweep_round_trip(tmp_path: Path) -> None:
    sc = SynthScene(SynthConfig(rolling_sweep=True, exposure_offset_ns=15_000_000, **SMALL))  # type: ignore[arg-type]
    out = native.write_synth_scene(sc, tmp_path / "seq", masks=True)
    loaded = open_dataset(out)
    fr = sc.frame(1)
    pc = loaded.read_lidar(1)
    assert pc is not None
    np.testing.assert_array_equal(pc.fields["time"], fr.lidar["lidar_top"].time)
    fi = loaded.info.frames[1]
    assert fi.camera_timestamps_ns["cam_front"] == fr.camera_timestamps_ns["cam_front"] != fi.timestamp_ns
    assert loaded.info.meta["meta"]["timing"]["rolling_sweep"] is True
    mask = native.read_mask(loaded.info.meta["camera_mask_files"][1]["cam_front"])
    assert mask.shape == (36, 64)
    # a truncated time file is refused, naming it
    p = loaded.info.meta["lidar_time_files"][1]["lidar_top"]
    Path(p).write_bytes(Path(p).read_bytes()[:-4])
    with pytest.raises(FormatError, match="point times"):
        loaded.read_lidar(1)


def test_default_sequence_has_no_times(tmp_path: Path) -> None:
    out = native.write_synth_scene(SynthScene(SynthConfig(**SMALL)), tmp_path / "seq")  # type: ignore[arg-type]
    loaded = open_dataset(out)
    pc = loaded.read_lidar(0)
    assert pc is not None and "time" not in pc.fields
    fi = loaded.info.frames[0]
    assert fi.camera_timestamps_ns["cam_front"] == fi.timestamp_ns


def test_point_times_rules() -> None:
    from formats.timing import point_times_s

    frame_ns = 1_600_000_000_000_000_000
    assert point_times_s({"intensity": np.zeros(3)}, frame_ns) is None
    rel = np.array([-0.05, 0.0, 0.04], dtype=np.float32)
    np.testing.assert_allclose(point_times_s({"time": rel}, frame_ns), rel, atol=1e-7)
    ns = np.array([0, 25_000_000, 50_000_000], dtype=np.uint32)  # Ouster-like offsets (ns)
    np.testing.assert_allclose(point_times_s({"t": ns}, frame_ns), [0.0, 0.025, 0.05])
    absolute = frame_ns * 1e-9 + np.array([-0.02, 0.0, 0.03])  # SUSTechPOINTS-like seconds
    np.testing.assert_allclose(point_times_s({"timestamp": absolute}, frame_ns), [-0.02, 0.0, 0.03], atol=1e-6)
    abs_ns = np.array([frame_ns - 10_000_000, frame_ns], dtype=np.int64)
    np.testing.assert_allclose(point_times_s({"timestamp": abs_ns}, frame_ns), [-0.01, 0.0])


def _timed_sequence(tmp_path: Path):  # noqa: ANN202
    sc = SynthScene(SynthConfig(rolling_sweep=True, exposure_offset_ns=30_000_000, **SMALL))  # type: ignore[arg-type]
    return sc, open_dataset(native.write_synth_scene(sc, tmp_path / "seq"))


def test_sequence_timing_camera_pose_and_deskew(tmp_path: Path) -> None:
    from formats.timing import SequenceTiming

    sc, loaded = _timed_sequence(tmp_path)
    timing = SequenceTiming(loaded)
    T_frame, none = timing.camera_pose(0, "cam_front", time_correct=False)
    assert none is None
    np.testing.assert_allclose(T_frame, loaded.T_sensor_from_world(0, "cam_front"), atol=1e-9)
    T_cap, ct = timing.camera_pose(0, "cam_front")
    assert ct is not None and ct.capture_ns == loaded.info.frames[0].camera_timestamps_ns["cam_front"]
    t_s = (ct.capture_ns - sc.timestamp_ns(0)) * 1e-9
    truth = np.linalg.inv(sc.layout.ego.pose_at(t_s) @ sc.rig.T("ego", "cam_front"))
    np.testing.assert_allclose(T_cap, truth, atol=2e-3)  # interpolated between frames: mm
    assert np.abs(T_cap[:3, 3] - T_frame[:3, 3]).max() > 0.1  # the ego moved ~0.2 m meanwhile
    pts, times = timing.world_points(0, "lidar_top", deskew=True)
    raw, _ = timing.world_points(0, "lidar_top", deskew=False)
    assert times is not None and pts.shape == raw.shape
    assert np.abs(pts - raw).max() > 0.1
    sensor = timing.deskewed_sweep(0, "lidar_top")
    assert sensor is not None and sensor.shape == pts.shape


def test_exports_draw_at_capture_time(tmp_path: Path) -> None:
    from formats.export.kitti import write_kitti_object
    from formats.render_export import render_frame

    _, loaded = _timed_sequence(tmp_path)
    frame = 1
    on = render_frame(loaded, frame, "cam_front", ids=False)
    off = render_frame(loaded, frame, "cam_front", ids=False, time_correct=False)
    assert on is not None and off is not None and (on != off).any()
    a = write_kitti_object(loaded, tmp_path / "k_on")
    b = write_kitti_object(loaded, tmp_path / "k_off", time_correct=False)
    assert a.boxes > 0 and b.boxes > 0
    la = (tmp_path / "k_on" / "label_2" / f"{frame:06d}.txt").read_text().splitlines()
    lb = (tmp_path / "k_off" / "label_2" / f"{frame:06d}.txt").read_text().splitlines()
    # the 3D fields (sweep time) are equal; some 2D boxes (fields 4-7) differ
    assert [x.split()[8:] for x in la] == [x.split()[8:] for x in lb]
    assert any(x.split()[4:8] != y.split()[4:8] for x, y in zip(la, lb, strict=True))


def test_exports_keep_times_or_deskew(tmp_path: Path) -> None:
    from formats.export.kitti import write_kitti_object
    from formats.export.native import write_native
    from formats.timing import SequenceTiming

    _, loaded = _timed_sequence(tmp_path)
    write_native(loaded, tmp_path / "kept")
    kept = open_dataset(tmp_path / "kept").read_lidar(1)
    src = loaded.read_lidar(1)
    assert kept is not None and src is not None
    np.testing.assert_array_equal(kept.fields["time"], src.fields["time"])
    write_native(loaded, tmp_path / "desk", deskew=True)
    desk = open_dataset(tmp_path / "desk").read_lidar(1)
    assert desk is not None and "time" not in desk.fields
    expected = SequenceTiming(loaded).deskewed_sweep(1, "lidar_top")
    np.testing.assert_allclose(desk.xyz, expected, atol=1e-4)
    write_kitti_object(loaded, tmp_path / "k_raw")
    write_kitti_object(loaded, tmp_path / "k_desk", deskew=True)
    raw = np.fromfile(tmp_path / "k_raw" / "velodyne" / "000001.bin", dtype="<f4").reshape(-1, 4)
    dk = np.fromfile(tmp_path / "k_desk" / "velodyne" / "000001.bin", dtype="<f4").reshape(-1, 4)
    assert raw.shape == dk.shape and np.abs(raw[:, :3] - dk[:, :3]).max() > 0.05


def test_sustech_point_times_span_one_sweep() -> None:
    from formats.timing import SequenceTiming
    from tests.conftest import real_data

    loaded = open_dataset(real_data("sustechpoints_example", "data", "example"))
    t = SequenceTiming(loaded).sweep_times(0, loaded.lidar_names[0])
    assert t is not None and -0.08 < t.min() < -0.02 and 0.02 < t.max() < 0.08


def test_deskew_says_when_it_cannot(tmp_path: Path) -> None:
    """Deskew that cannot change the sweeps says why (no per-point times, no ego poses) and the
    exports then keep the sweeps and their times as read."""
    from formats.export.kitti import write_kitti_object
    from formats.export.native import write_native
    from formats.timing import SequenceTiming, deskew_note

    _, loaded = _timed_sequence(tmp_path)
    assert deskew_note(loaded) is None
    plain = open_dataset(native.write_synth_scene(SynthScene(SynthConfig(**SMALL)), tmp_path / "plain"))  # type: ignore[arg-type]
    assert "no per-point times" in (deskew_note(plain) or "")
    still = open_dataset(tmp_path / "seq")
    for f in still.info.frames:  # as SUSTechPOINTS: no ego poses (world = the LiDAR frame)
        f.T_world_from_ego = np.eye(4)
    note = SequenceTiming(still).deskew_note
    assert note is not None and "no ego poses" in note and "--estimate-poses" in note
    s = write_native(still, tmp_path / "desk", deskew=True)
    assert any(w.startswith("deskew: sweeps written as read: it has no ego poses") for w in s.warnings)
    got, src = open_dataset(tmp_path / "desk").read_lidar(1), still.read_lidar(1)
    assert got is not None and src is not None
    np.testing.assert_array_equal(got.fields["time"], src.fields["time"])  # times kept, not dropped
    np.testing.assert_array_equal(got.xyz, src.xyz)
    k = write_kitti_object(still, tmp_path / "k_desk", deskew=True)
    assert any("deskew: sweeps written as read" in w for w in k.warnings)
    assert not any("deskew" in w for w in write_native(loaded, tmp_path / "ok", deskew=True).warnings)


def test_sustech_deskew_needs_poses() -> None:
    from formats.timing import SequenceTiming, deskew_note
    from tests.conftest import real_data

    root = real_data("sustechpoints_example", "data", "example")
    assert "no ego poses" in (deskew_note(open_dataset(root)) or "")
    est = open_dataset(root, estimate_poses=True)  # estimated poses: deskew moves the points
    assert deskew_note(est) is None
    t = SequenceTiming(est)
    raw, desk = (t.world_points(0, est.lidar_names[0], d)[0] for d in (False, True))
    assert np.abs(raw - desk).max() > 0.05


def test_convert_cli_says_deskew_cannot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fusionlabel.cli import main

    src = native.write_synth_scene(SynthScene(SynthConfig(**SMALL)), tmp_path / "plain")  # type: ignore[arg-type]
    assert main(["convert", str(src), str(tmp_path / "k"), "--to", "kitti", "--deskew"]) == 0
    assert "deskew: sweeps written as read: its sweeps carry no per-point times" in capsys.readouterr().out


def test_qa_thumbnail_draws_at_capture_time(tmp_path: Path) -> None:
    """The QA report's camera thumbnail draws a moving track's box where it stands at the image's
    capture time (not at the sweep time)."""
    from calib.projection import project_box_edges
    from calib.transforms import transform_points
    from formats.qa_report import camera_thumbnail
    from formats.timing import SequenceTiming
    from fusionlabel.ontology import Ontology

    sc = SynthScene(SynthConfig(frames=3, seed=0, cameras=1, image_size=(640, 360), beams=16, azimuths=360,
                                rolling_sweep=True, exposure_offset_ns=40_000_000))
    loaded = open_dataset(native.write_synth_scene(sc, tmp_path / "seq"))
    cam = loaded.camera_names[0]
    model = loaded.rig(1).camera(cam)
    T_cap, ct = SequenceTiming(loaded).camera_pose(1, cam)
    T_frame = loaded.T_sensor_from_world(1, cam)
    assert ct is not None

    def rect(T: np.ndarray, corners: np.ndarray) -> np.ndarray | None:
        polys = [p for _, p in project_box_edges(transform_points(T, corners), model)]
        if not polys:
            return None
        uv = np.concatenate(polys)
        return np.array([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])

    best = None
    for r in loaded.annotations.boxes_at(1):
        a, b = rect(T_cap, ct.corners_at([r.track_id], r.box.corners())[0]), rect(T_frame, r.box.corners())
        if a is not None and b is not None and a[0] > 2 and a[1] > 2 and a[2] < 637 and a[3] < 357:
            if best is None or np.abs(a - b).max() > best[3]:
                best = (r, a, b, float(np.abs(a - b).max()))
    assert best is not None and best[3] > 4.0  # a box that moves by pixels between the two times
    r, want, before, _ = best
    img = camera_thumbnail(loaded, 1, cam, [(r.track_id, r.label, r.box)], {}, Ontology.default(), width=640)
    plain = loaded.read_image(1, cam)
    assert img is not None and plain is not None
    vs, us = np.nonzero(np.abs(img.astype(int) - plain.astype(int)).sum(axis=2) > 60)
    got = np.array([us.min(), vs.min(), us.max(), vs.max()], dtype=float)
    assert np.abs(got - want).max() <= 2.0 < np.abs(got - before).max(), (got, want, before)


def test_export_deskew_objects(tmp_path: Path) -> None:
    """``deskew="objects"`` (``convert --deskew objects``) writes sweeps whose moving objects'
    points lie in the boxes at the frame time; ``--deskew`` (ego only) leaves them smeared."""
    from formats.export.native import write_native
    from fusionlabel.cli import main
    from fusionlabel.timing import distance_outside_boxes

    sc = SynthScene(SynthConfig(frames=3, seed=0, cameras=1, image_size=(64, 36), beams=32, azimuths=1024,
                                rolling_sweep=True))
    src = native.write_synth_scene(sc, tmp_path / "seq")
    loaded = open_dataset(src)
    moving = [o.instance for o in sc.layout.labelled if o.path is not None and o.speed > 0]
    inst = native.read_lidar_instance(loaded.info, 1, "lidar_top")
    sel = np.isin(inst, moving)
    times = loaded.info.frame_times_ns()
    worst = {}
    for mode in ("ego", "objects"):
        assert main(["convert", str(src), str(tmp_path / mode), "--to", "native", "--deskew", mode]) == 0
        out = open_dataset(tmp_path / mode)
        pc = out.read_lidar(1)
        assert pc is not None and len(pc) == len(inst) and "time" not in pc.fields
        T = out.T_world_from_sensor(1, "lidar_top")
        pts = pc.xyz.astype(np.float64) @ T[:3, :3].T + T[:3, 3]
        d = distance_outside_boxes(pts[sel], np.full(int(sel.sum()), times[1]), inst[sel], loaded.annotations, times)
        worst[mode] = float(np.nanmax(d))
    assert sel.sum() > 300 and worst["objects"] < 0.02 < 0.2 < worst["ego"]
    with pytest.raises(ValueError, match="deskew must be one of"):
        write_native(loaded, tmp_path / "bad", deskew="sometimes")
