"""OpenLABEL as an input layout of ``formats.datasets``: detection (a ``.json`` file or a folder
holding ``openlabel.json``), ``fusionlabel info`` and ``fusionlabel convert`` from it.

native -> OpenLABEL -> native keeps ids and world-frame boxes (1 cm / 0.01 rad); OpenLABEL ->
KITTI gives the same KITTI boxes as native -> KITTI directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calib.transforms import wrap_angle
from formats.convert import convert
from formats.datasets import detect_format, open_dataset
from formats.native import write_synth_scene
from fusionlabel.box import Box3D
from fusionlabel.cli import main as cli_main
from fusionlabel.synth import SynthConfig, SynthScene


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 3-frame synthetic scene and its OpenLABEL export (``<dir>/openlabel.json``)."""
    base = tmp_path_factory.mktemp("ol_input")
    src = base / "synth"
    write_synth_scene(SynthScene(SynthConfig(frames=3, seed=3, cameras=1, image_size=(160, 90), azimuths=360)), src)
    convert(src, base / "ol", "openlabel")
    return src, base / "ol"


def _close(a: Box3D, b: Box3D) -> bool:
    return (float(np.linalg.norm(np.subtract(a.center, b.center))) <= 0.01
            and float(np.abs(np.subtract(a.size, b.size)).max()) <= 0.01
            and abs(float(wrap_angle(a.yaw - b.yaw))) <= 0.01)


def test_detection(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    src, ol = scenes
    assert detect_format(ol / "openlabel.json") == "openlabel"
    assert detect_format(ol) == "openlabel"
    assert detect_format(src) == "native"  # a native folder stays native
    # indented by another tool, any file name
    other = tmp_path / "labels.json"
    other.write_text(json.dumps(json.loads((ol / "openlabel.json").read_text()), indent=2))
    assert detect_format(other) == "openlabel"
    # JSON that is not OpenLABEL is not taken for it
    (tmp_path / "x.json").write_text('{"objects": {}, "openlabel": {}}')
    from formats.datasets import FORMATS

    assert not FORMATS["openlabel"].detect(tmp_path / "x.json")
    (tmp_path / "y.txt").write_text('{"openlabel": {}}')
    assert not FORMATS["openlabel"].detect(tmp_path / "y.txt")
    # a broken OpenLABEL file: the reader's error names the file
    bad = tmp_path / "bad.json"
    bad.write_text('{"openlabel": {"metadata": {"schema_version": "0.3"}}}')
    from formats.errors import FormatError

    with pytest.raises(FormatError, match="bad.json"):
        open_dataset(bad)


def test_info_json_matches_the_source(scenes: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    src, ol = scenes
    facts = []
    for p in (src, ol / "openlabel.json"):
        # the export's uri refer to the source's files: their folder is named as an extra root
        assert cli_main(["info", str(p), "--json", "--allow-root", str(src)]) == 0
        facts.append(json.loads(capsys.readouterr().out))
    a, b = facts
    assert b["format"] == "openlabel" and a["format"] == "native"
    for key in ("frames", "tracks", "boxes", "labels", "lidars", "cameras", "points"):
        assert a[key] == b[key], key
    assert a["boxes"] > 20


def test_openlabel_to_native(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    src, ol = scenes
    assert cli_main(["convert", str(ol / "openlabel.json"), str(tmp_path / "nat"), "--to", "native",
                     "--allow-root", str(src)]) == 0
    want = open_dataset(src)
    back = open_dataset(tmp_path / "nat")
    assert back.format == "native" and len(back) == len(want)
    n = 0
    for k in range(len(want)):
        w = {r.track_id: r for r in want.annotations.boxes_at(k)}
        g = {r.track_id: r for r in back.annotations.boxes_at(k)}
        assert set(g) == set(w)
        for tid, r in g.items():
            assert r.label == w[tid].label
            assert _close(r.box, w[tid].box), (k, tid)
            n += 1
    assert n == want.annotations.num_boxes()
    for k in range(len(want)):
        assert np.abs(back.info.frames[k].T_world_from_ego - want.info.frames[k].T_world_from_ego).max() < 1e-9
        assert back.info.frames[k].timestamp_ns == want.info.frames[k].timestamp_ns


def test_openlabel_to_kitti_equals_native_to_kitti(scenes: tuple[Path, Path], tmp_path: Path) -> None:
    src, ol = scenes
    direct = convert(src, tmp_path / "k_direct", "kitti")
    assert cli_main(["convert", str(ol / "openlabel.json"), str(tmp_path / "k_ol"), "--to", "kitti",
                     "--allow-root", str(src)]) == 0
    a = open_dataset(tmp_path / "k_direct")
    b = open_dataset(tmp_path / "k_ol")
    assert len(a) == len(b) == 3
    n = 0
    for k in range(len(a)):
        wa = sorted(a.annotations.boxes_at(k), key=lambda r: r.box.center)
        wb = sorted(b.annotations.boxes_at(k), key=lambda r: r.box.center)
        assert len(wa) == len(wb)
        for ra, rb in zip(wa, wb, strict=True):
            assert ra.label == rb.label
            assert _close(ra.box, rb.box)
            n += 1
    assert n == direct.boxes > 5
