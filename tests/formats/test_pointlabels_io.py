"""Point labels on disk: synthetic ground truth, the project's label folder, sweeps of a sequence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from formats.datasets import open_dataset
from formats.errors import FormatError
from formats.native import write_synth_scene
from formats.pointlabels import (
    decode_npz,
    encode_npz,
    load_point_labels,
    point_labels_dir,
    save_point_labels,
    sweeps_of,
)
from formats.project import load_project, save_project
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import ModelError
from fusionlabel.pointlabels import UNLABELLED, FrameLabels, PointLabels, label_points
from fusionlabel.pointlabels.tools import fill_from_boxes
from fusionlabel.synth import SynthConfig, SynthScene


@pytest.fixture(scope="module")
def synth_seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plsynth") / "seq"
    write_synth_scene(SynthScene(SynthConfig(frames=3, seed=1, cameras=0, beams=32, azimuths=900)), out)
    return out


def test_synth_writes_exact_point_classes(synth_seq: Path) -> None:
    loaded = open_dataset(synth_seq)
    gt = loaded.annotations.point_labels
    assert gt is not None and gt.labelled_frames() == [0, 1, 2] and gt.sensor == "lidar_top"
    t = gt.table
    sweeps = sweeps_of(loaded)
    for f in range(3):
        lab = gt.get(f)
        pts = sweeps.points(f)
        assert len(lab) == len(pts) and (lab.semantic != UNLABELLED).all()
        # every object point has its track's class; every other point is ground or structure
        for tid, track in loaded.annotations.tracks.items():
            sel = lab.instance == tid + 1
            if sel.any():
                assert (lab.semantic[sel] == t.class_for_label(track.label)).all()
        flat = np.isin(lab.semantic, [t.index(n) for n in ("flat.driveable_surface", "flat.sidewalk", "flat.terrain")])
        assert np.abs(pts[flat, 2]).max() < 0.1  # the synthetic ground is z = 0
        names = {t.name(int(s)) for s in np.unique(lab.semantic)}
        assert {"vehicle.car", "flat.driveable_surface", "flat.sidewalk", "static.manmade.building"} <= names
        assert not (flat & (lab.instance != 0)).any()


def test_fill_from_ground_truth_boxes_reproduces_object_points(synth_seq: Path) -> None:
    loaded = open_dataset(synth_seq)
    gt = loaded.annotations.point_labels
    doc = AnnotationDocument.from_tracks(loaded.annotations.tracks.values(), len(loaded))
    doc.attach_point_labels(PointLabels(gt.table, len(loaded), point_count=gt.point_count))
    UndoStack(doc).push(fill_from_boxes(doc, sweeps_of(loaded)))
    for f in range(3):
        ours, truth = doc.point_labels.get(f), gt.get(f)
        obj = truth.instance != 0
        # a few returns on a box's lowest edge lie a fraction of a millimetre below it
        assert (ours.instance[obj] == truth.instance[obj]).mean() > 0.998
        same = ours.instance[obj] == truth.instance[obj]
        assert np.array_equal(ours.semantic[obj][same], truth.semantic[obj][same])
        assert (ours.instance[~obj] == 0).all()


def test_project_saves_labels_beside_it_and_reloads_lazily(tmp_path: Path) -> None:
    doc = AnnotationDocument(4)
    doc.attach_point_labels(PointLabels(frame_count=4, point_count=lambda f: 1000, sensor="lidar_top"))
    stack = UndoStack(doc)
    stack.push(label_points(1, np.arange(100), semantic=17, instance=5))
    stack.push(label_points(3, np.arange(500, 700), semantic=24))
    proj = tmp_path / "a.flproj"
    save_project(proj, doc, tmp_path, saved_by="t")
    folder = point_labels_dir(proj)
    assert sorted(p.name for p in folder.iterdir()) == ["000001.npz", "000003.npz", "index.json"]
    assert doc.point_labels.dirty_frames == []
    back = load_project(proj).document.point_labels
    assert back.labelled_frames() == [1, 3] and back.held_frames() == [] and back.sensor == "lidar_top"
    assert np.array_equal(back.get(1).semantic, doc.point_labels.get(1).semantic)
    assert np.array_equal(back.get(1).instance, doc.point_labels.get(1).instance)
    # a later save writes only the edited frame
    before = (folder / "000003.npz").stat().st_mtime_ns
    stack.push(label_points(1, [999], semantic=2))
    save_project(proj, doc, tmp_path, saved_by="t")
    assert (folder / "000003.npz").stat().st_mtime_ns == before
    assert load_project(proj).document.point_labels.get(1).semantic[999] == 2


def test_bad_label_files_name_the_file(tmp_path: Path) -> None:
    labels = PointLabels(frame_count=2, point_count=lambda f: 10)
    doc = AnnotationDocument(2)
    doc.attach_point_labels(labels)
    UndoStack(doc).push(label_points(0, [1, 2], semantic=3))
    save_point_labels(labels, tmp_path / "pl")
    (tmp_path / "pl" / "000000.npz").write_bytes(encode_npz(FrameLabels(np.zeros(9), np.zeros(9))))
    with pytest.raises(FormatError, match="000000.npz.*expected 10"):
        load_point_labels(tmp_path / "pl").get(0)
    (tmp_path / "pl" / "000000.npz").write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="000000.npz"):
        load_point_labels(tmp_path / "pl").get(0)


def test_labels_that_do_not_fit_the_sweep_name_their_file(tmp_path: Path, synth_seq: Path) -> None:
    """A label file that fits its own count but not the sweep (the sweep changed since): the error
    names the file the labels came from (stored labels and a native sequence's ground truth)."""
    labels = PointLabels(frame_count=2, point_count=lambda f: 10)
    doc = AnnotationDocument(2)
    doc.attach_point_labels(labels)
    UndoStack(doc).push(label_points(0, [1, 2], semantic=3))
    save_point_labels(labels, tmp_path / "pl")
    with pytest.raises(ModelError, match=r"000000\.npz.*frame 0 has 10 labels for 12 points"):
        load_point_labels(tmp_path / "pl").get(0, 12)
    gt = open_dataset(synth_seq).annotations.point_labels
    n = len(gt.get(1))
    where = re.escape(str(synth_seq.resolve()))
    with pytest.raises(ModelError, match=rf"\({where}/.*frame 1 has {n} labels for {n + 1} points"):
        open_dataset(synth_seq).annotations.point_labels.get(1, n + 1)


def test_point_label_edits_write_no_full_recovery_copy(tmp_path: Path) -> None:
    from formats.project import RecoveryStore, SequenceRef

    doc = AnnotationDocument(2)
    doc.attach_point_labels(PointLabels(frame_count=2, point_count=lambda f: 50))
    stack = UndoStack(doc)
    proj = tmp_path / "a.flproj"
    save_project(proj, doc, tmp_path, saved_by="t")
    store = RecoveryStore(doc, SequenceRef(tmp_path), project_path=proj, stack=stack)
    stack.push(label_points(0, [1, 2, 3], semantic=17))
    assert not store.path.exists()  # the JSON document did not change: nothing to copy
    store.close()


def test_label_files_leaving_the_folder_are_refused(tmp_path: Path) -> None:
    """A label file, the index or the whole label folder that is a symlink to elsewhere is refused
    with an error naming it: labels are read from beside the project only."""
    doc = AnnotationDocument(2)
    doc.attach_point_labels(PointLabels(frame_count=2, point_count=lambda f: 10))
    UndoStack(doc).push(label_points(0, [1, 2], semantic=3))
    proj = tmp_path / "p" / "a.flproj"
    proj.parent.mkdir()
    save_project(proj, doc, tmp_path, saved_by="t")
    folder = point_labels_dir(proj)
    outside = tmp_path / "outside"
    outside.mkdir()
    # one frame file pointing out of the folder
    (outside / "000000.npz").write_bytes((folder / "000000.npz").read_bytes())
    (folder / "000000.npz").unlink()
    (folder / "000000.npz").symlink_to(outside / "000000.npz")
    with pytest.raises(FormatError, match="000000.npz.*outside the point-label folder"):
        load_project(proj).document.point_labels.get(0)
    # the index pointing out of it
    (outside / "index.json").write_bytes((folder / "index.json").read_bytes())
    (folder / "index.json").unlink()
    (folder / "index.json").symlink_to(outside / "index.json")
    with pytest.raises(FormatError, match="index.json.*outside the point-label folder"):
        load_project(proj)
    # the folder itself elsewhere
    import shutil

    shutil.rmtree(folder)
    folder.symlink_to(outside, target_is_directory=True)
    with pytest.raises(FormatError, match="outside the project's folder"):
        load_project(proj)


def test_damaged_label_files_give_the_format_error(tmp_path: Path) -> None:
    """Bytes flipped in a point-label npz (zip, deflate or the npy header damaged) end in a
    FormatError naming the file, never another exception."""
    import random

    data = encode_npz(FrameLabels(np.arange(5000) % 7, np.zeros(5000)))
    p = tmp_path / "000000.npz"
    for seed in range(40):
        b, r = bytearray(data), random.Random(seed)
        for _ in range(8):
            i = r.randrange(60, len(b) - 100)
            b[i] ^= 0xFF
        p.write_bytes(bytes(b))
        try:
            decode_npz(p, 5000)
        except FormatError as e:
            assert "000000.npz" in str(e)


def test_class_table_values_out_of_range_are_refused() -> None:
    """A class colour or SemanticKITTI id that does not fit its array is the model's error (a
    damaged index or sequence file then names its file), not an overflow."""
    from fusionlabel.errors import ModelError
    from fusionlabel.pointlabels.classes import ClassTable, PointClass

    for color, kitti in (((0, 0, -1), 0), ((0, 4000000000, 0), 0), ((0, 0, 0), 2**40)):
        with pytest.raises(ModelError, match="out of range"):
            ClassTable([PointClass(0, "noise", color, "noise", kitti)])
