"""Map exports: MapTR-style per-frame vectors, the Argoverse 2 local map (checked with the official
``av2`` API in its own venv) and OpenLABEL poly3d; each read back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from formats.errors import FormatError
from formats.maps.av2 import av2_map_dict, mark_type, read_av2_map, write_av2_map
from formats.maps.maptr import MAPTR_CLASSES, frame_vectors, read_maptr, write_maptr
from formats.maps.openlabel import openlabel_map_dict, read_openlabel_map, write_openlabel_map
from formats.native import write_synth_scene
from fusionlabel.cli import main
from fusionlabel.map.element import MapElement
from fusionlabel.map.geometry import point_to_polyline_distance, transform_points
from fusionlabel.synth import SynthConfig, SynthScene

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.fixture(scope="module")
def scene() -> SynthScene:
    return SynthScene(SynthConfig(frames=30, seed=0, cameras=0))


def _on_lines(pts: np.ndarray, lines: list[MapElement]) -> np.ndarray:
    """Distance (N,) of each point to the nearest of ``lines`` (3D, closed ones as rings)."""
    return np.min([point_to_polyline_distance(pts, e.vertices, e.closed) for e in lines], axis=0)


def test_maptr_vectors_in_the_ego_window(scene: SynthScene) -> None:
    els = scene.map_elements()
    T = scene.ego_pose(15)
    vecs = frame_vectors(els, T)
    classes = {v.cls_name for v in vecs}
    assert classes == set(MAPTR_CLASSES)
    for v in vecs:
        assert v.pts.shape == (20, 3)
        assert (np.abs(v.pts[:, 0]) <= 30.0 + 1e-9).all() and (np.abs(v.pts[:, 1]) <= 15.0 + 1e-9).all()
        steps = np.linalg.norm(np.diff(v.pts, axis=0), axis=1)
        if v.cls_name == "divider":  # equal arc-length steps (chords of a gentle arc: equal too)
            assert steps.max() - steps.min() < 0.02 * steps.mean() + 1e-6
        src = next(e for e in els if e.element_id == v.element_id)
        back = transform_points(T, v.pts)
        assert point_to_polyline_distance(back, src.vertices, src.closed).max() < 1e-6
    crossing = next(v for v in vecs if v.cls_name == "ped_crossing")
    assert np.allclose(crossing.pts[0], crossing.pts[-1])  # a closed ring
    # the dividers the ego drives between are 1.75 m to either side
    lateral = sorted(np.abs(v.pts[np.argmin(np.abs(v.pts[:, 0])), 1]) for v in vecs if v.cls_name == "divider"
                     and v.pts[:, 0].min() < 0 < v.pts[:, 0].max())
    assert lateral[0] == pytest.approx(0.0, abs=0.05) or lateral[0] == pytest.approx(1.75, abs=0.05)
    narrow = frame_vectors(els, T, patch=(4.0, 60.0))
    assert {v.cls_name for v in narrow} == {"divider"}


def test_maptr_file_round_trip(scene: SynthScene, tmp_path: Path) -> None:
    els = scene.map_elements()
    frames = [(i, scene.timestamp_ns(i), scene.ego_pose(i)) for i in (0, 10)]
    data = write_maptr(tmp_path / "m.json", "s", frames, els, (30.0, 60.0), 20)
    assert data["GTs"][1]["sample_token"] == "s:000010" and data["meta"]["fixed_num"] == 20
    meta, samples = read_maptr(tmp_path / "m.json")
    assert meta["classes"] == list(MAPTR_CLASSES) and len(samples) == 2
    world = samples[1].world_elements()
    assert len(world) == len(data["GTs"][1]["vectors"])
    for w, v in zip(world, samples[1].vectors, strict=True):
        same = [e for e in els if e.label == w.label]
        on_window = (np.abs(np.abs(v.pts[:, 0]) - 30.0) < 1e-6) | (np.abs(np.abs(v.pts[:, 1]) - 15.0) < 1e-6)
        off = _on_lines(w.vertices, same)[~on_window[: len(w.vertices)]]  # a polygon cut by the window
        assert off.max() < 1e-6
    (tmp_path / "bad.json").write_text(json.dumps({"GTs": [{"vectors": [{"pts": [[0, 0]], "cls_name": "lane"}]}]}))
    with pytest.raises(FormatError, match="cls_name"):
        read_maptr(tmp_path / "bad.json")


def test_av2_map_layout_and_read_back(scene: SynthScene, tmp_path: Path) -> None:
    els = scene.map_elements()
    d = av2_map_dict(els)
    dividers = [e for e in els if e.label == "lane_divider"]
    assert len(d["lane_segments"]) == 5  # 4 lanes, the right one cut by the side street's mouth
    marks = {(ls["left_lane_mark_type"], ls["right_lane_mark_type"]) for ls in d["lane_segments"].values()}
    assert ("DASHED_WHITE", "SOLID_WHITE") in marks and ("DASHED_WHITE", "DOUBLE_SOLID_YELLOW") in marks
    assert any(ls["left_neighbor_id"] is not None for ls in d["lane_segments"].values())
    path = write_av2_map(tmp_path, "log0", els)
    assert path.name == "log_map_archive_log0.json"
    back = read_av2_map(path)
    lines = [e for e in back if e.label == "lane_divider"]
    assert _on_lines(np.concatenate([e.vertices for e in lines]), dividers).max() < 1e-6
    assert _on_lines(np.concatenate([e.vertices for e in dividers]), lines).max() < 0.01  # every divider is a boundary
    area = next(e for e in back if e.label == "drivable_area")
    assert np.allclose(area.vertices, next(e for e in els if e.label == "drivable_area").vertices)
    cross = next(e for e in back if e.label == "ped_crossing")
    ours = next(e for e in els if e.label == "ped_crossing").vertices
    assert any(np.allclose(np.roll(cross.vertices, k, axis=0), ours) for k in range(4))
    el = MapElement(0, "lane_divider", [[0, 0, 0], [1, 0, 0]], {"type": "solid_dashed", "color": "yellow"})
    assert mark_type(el) == "SOLID_DASH_YELLOW" and mark_type(el, reversed_=True) == "DASH_SOLID_YELLOW"
    with pytest.raises(FormatError):
        write_av2_map(tmp_path, "../x", els)


def test_av2_official_api_loads_the_map(scene: SynthScene, tmp_path: Path) -> None:
    """The official ``av2.map.map_api.ArgoverseStaticMap`` loads the export; its lane boundaries,
    drivable areas and crossings equal the labelled elements within 1 cm."""
    from tests.conftest import venv_python

    exe = venv_python(".venv-av2")
    if exe is None:
        pytest.skip(f"no .venv-av2 (with av2) at {ROOT} or its main checkout; run make setup")
    els = scene.map_elements()
    path = write_av2_map(tmp_path, "synth0", els)
    res = subprocess.run([str(exe), str(HERE / "av2_map_reference.py"), str(path)], capture_output=True, text=True,
                         timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert res.returncode == 0, res.stderr[-2000:]
    ref = json.loads(res.stdout)
    assert ref["log_id"] == "synth0"
    dividers = [e for e in els if e.label == "lane_divider"]
    assert len(ref["lane_segments"]) == 5
    bounds = []
    for ls in ref["lane_segments"].values():
        for side in ("left", "right"):
            b = np.asarray(ls[side])
            assert _on_lines(b, dividers).max() < 0.01
            bounds.append(MapElement(len(bounds), "lane_divider", b))
        centre = np.asarray(ls["centerline"])
        gap = point_to_polyline_distance(centre, np.asarray(ls["left"])) + point_to_polyline_distance(
            centre, np.asarray(ls["right"]))
        assert np.allclose(gap, 3.5, atol=0.05)  # the API's centre line lies mid-lane
    assert _on_lines(np.concatenate([e.vertices for e in dividers]), bounds).max() < 0.01
    (area,) = [e for e in els if e.label == "drivable_area"]
    (ref_area,) = ref["drivable_areas"].values()
    ref_area = np.asarray(ref_area)
    assert np.allclose(ref_area[0], ref_area[-1]) and np.abs(ref_area[:-1] - area.vertices).max() < 0.01
    (cross,) = [e for e in els if e.label == "ped_crossing"]
    (ref_cross,) = ref["pedestrian_crossings"].values()
    ref_cross = np.asarray(ref_cross)[:-1]
    assert min(np.abs(np.roll(ref_cross, k, axis=0) - cross.vertices).max() for k in range(4)) < 0.01


def test_openlabel_poly3d_valid_and_exact(scene: SynthScene, tmp_path: Path) -> None:
    els = scene.map_elements()
    write_openlabel_map(tmp_path / "m.json", "s", els)
    assert read_openlabel_map(tmp_path / "m.json") == els
    jsonschema = pytest.importorskip("jsonschema")
    schema = pytest.importorskip("vcd.schema", reason="the official OpenLABEL schema ships in 'vcd'").openlabel_schema
    jsonschema.Draft7Validator(schema).validate(openlabel_map_dict("s", els))
    bad = openlabel_map_dict("s", els[:1])
    bad["openlabel"]["objects"]["0"]["object_data"]["poly3d"][0]["val"] = [0.0, 1.0]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(FormatError, match="objects.0"):
        read_openlabel_map(tmp_path / "bad.json")


def test_cli_export_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seq = write_synth_scene(SynthScene(SynthConfig(frames=3, seed=1, cameras=1, image_size=(64, 36), azimuths=90)),
                            tmp_path / "seq")
    out = tmp_path / "out"
    assert main(["export-map", str(seq), str(out), "--to", "maptr", "--range", "20x40"]) == 0
    (f,) = out.glob("maptr_*.json")
    meta, samples = read_maptr(f)
    assert meta["patch_size"] == [20.0, 40.0] and len(samples) == 3 and samples[0].vectors
    assert main(["export-map", str(seq), str(out), "--to", "av2"]) == 0
    assert read_av2_map(next(out.glob("log_map_archive_*.json")))
    assert main(["export-map", str(seq), str(out), "--to", "openlabel"]) == 0
    assert len(read_openlabel_map(next(out.glob("*_map.openlabel.json")))) == 12
    with pytest.raises(SystemExit):
        main(["export-map", str(seq), str(out), "--to", "maptr", "--range", "0x4"])
    assert "window sides must be positive" in capsys.readouterr().err


def test_bev_map_layers(tmp_path: Path) -> None:
    from formats.bev import BEVGrid, load_bev_frame, write_bev
    from formats.datasets import open_dataset
    from formats.maps.bev import MAP_LAYERS, map_layers

    grid = BEVGrid(10.0, 0.1)
    els = [MapElement(0, "lane_divider", [[-20.0, 2.0, 0.0], [20.0, 2.0, 0.0]]),
           MapElement(1, "ped_crossing", [[3.0, -4.0, 0.0], [6.0, -4.0, 0.0], [6.0, 4.0, 0.0], [3.0, 4.0, 0.0]]),
           MapElement(2, "drivable_area", [[-50.0, -7.0, 0.0], [50.0, -7.0, 0.0], [50.0, 7.0, 0.0], [-50.0, 7.0, 0.0]])]
    layers = map_layers(els, np.eye(4), grid)
    assert layers.shape == (4, 200, 200)
    area, lines, cross, bound = (layers[MAP_LAYERS.index(n)] for n in MAP_LAYERS)
    assert not bound.any()
    assert abs(area.sum() - 140 * 200) <= 2 * 200  # |y| <= 7 m: 140 columns, every row
    rows, cols, _ = grid.cell_of(np.array([[0.0, 2.0], [4.5, 0.0], [0.0, -5.0]]))
    assert lines[rows[0], cols[0]] and cross[rows[1], cols[1]] and area[rows[2], cols[2]]
    assert not lines[rows[1], cols[1]]
    assert abs(cross.sum() - 30 * 80) < 2 * (30 + 80)
    # export-bev writes them for a sequence with a map (the synthetic ground truth)
    seq = write_synth_scene(SynthScene(SynthConfig(frames=2, seed=1, cameras=1, image_size=(64, 36), azimuths=90)),
                            tmp_path / "seq")
    write_bev(open_dataset(seq), tmp_path / "bev", range_m=20.0, resolution=0.5)
    fr = load_bev_frame(tmp_path / "bev" / "npz" / "000000.npz")
    assert list(fr["map_classes"]) == list(MAP_LAYERS) and fr["map_layers"].shape == (4, 80, 80)
    assert fr["map_layers"][0].mean() > 0.3 and fr["map_layers"][1].any()
    assert (tmp_path / "bev" / "png" / "map" / "lane_divider" / "000000.png").is_file()


def test_native_conversion_keeps_the_map(tmp_path: Path) -> None:
    from formats.datasets import open_dataset
    from formats.export.native import write_native

    sc = SynthScene(SynthConfig(frames=2, seed=2, cameras=1, image_size=(64, 36), azimuths=90))
    seq = write_synth_scene(sc, tmp_path / "seq")
    write_native(open_dataset(seq), tmp_path / "copy")
    assert open_dataset(tmp_path / "copy").annotations.map_elements == open_dataset(seq).annotations.map_elements
