"""``fusionlabel import-map``: a map file of each kind (native, Argoverse 2, MapTR, OpenLABEL) into a
project's map elements, one undoable step; bad files give a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from formats.errors import FormatError
from formats.maps.imports import detect_map_kind, read_map_file
from formats.project import load_project, save_project
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.map.commands import AddMapElement, ImportMapElements
from fusionlabel.map.element import MapElement


def _elements() -> list[MapElement]:
    x = np.linspace(0.0, 40.0, 41)
    line = lambda y: np.stack([x, np.full_like(x, y), np.zeros_like(x)], axis=1)  # noqa: E731
    return [MapElement(3, "lane_divider", line(1.75), {"type": "dashed", "color": "white"}),
            MapElement(5, "lane_divider", line(-1.75), {"type": "solid", "color": "white"}),
            MapElement(8, "ped_crossing", [[10, -3, 0], [14, -3, 0], [14, 3, 0], [10, 3, 0]]),
            MapElement(9, "road_boundary", line(-5.0), {"kind": "curb"})]


def _same_geometry(a: list[MapElement], b: list[MapElement], tol: float = 0.01) -> None:
    """Same classes and vertices (a polygon may start at another vertex)."""
    assert sorted(e.label for e in a) == sorted(e.label for e in b)

    def same(e: MapElement, f: MapElement) -> bool:
        if f.label != e.label or len(f) != len(e):
            return False
        shifts = range(len(e)) if e.closed else [0]
        return any(np.allclose(np.roll(f.vertices, k, axis=0), e.vertices, atol=tol) for k in shifts)

    for e in a:
        assert any(same(e, f) for f in b), e


def test_import_command_undo_redo() -> None:
    doc = AnnotationDocument(3)
    stack = UndoStack(doc)
    stack.push(AddMapElement("stop_line", [[0, 0, 0], [3, 0, 0]]))
    cmd = ImportMapElements(_elements())
    stack.push(cmd)
    assert cmd.element_ids == [1, 2, 3, 4] and len(doc.map_elements) == 5
    assert doc.map_element(1).attributes["type"] == "dashed"
    stack.undo()
    assert sorted(doc.map_elements) == [0]
    stack.redo()
    assert sorted(doc.map_elements) == [0, 1, 2, 3, 4]
    rep = ImportMapElements(_elements()[:1], replace=True)
    stack.push(rep)
    assert sorted(doc.map_elements) == [0] and doc.map_element(0).label == "lane_divider"
    stack.undo()
    assert len(doc.map_elements) == 5 and doc.map_element(0).label == "stop_line"


def _write_all(tmp_path: Path) -> dict[str, Path]:
    from formats.maps.av2 import write_av2_map
    from formats.maps.maptr import write_maptr
    from formats.maps.native import save_map
    from formats.maps.openlabel import write_openlabel_map

    els = _elements()
    save_map(tmp_path / "map.json", els)
    write_openlabel_map(tmp_path / "m.openlabel.json", "s", els)
    T = np.eye(4)
    T[:3, 3] = (15.0, 0.0, 0.0)
    write_maptr(tmp_path / "maptr.json", "s", [(0, 0, T), (1, 100, T)], els, (30.0, 60.0), 20)
    return {"native": tmp_path / "map.json", "openlabel": tmp_path / "m.openlabel.json",
            "maptr": tmp_path / "maptr.json", "av2": write_av2_map(tmp_path, "log", els)}


def test_read_every_kind(tmp_path: Path) -> None:
    files = _write_all(tmp_path)
    els = _elements()
    for kind, path in files.items():
        assert detect_map_kind(path) == kind
    assert read_map_file(files["native"]) == els
    _same_geometry(read_map_file(files["openlabel"]), els)
    av2 = read_map_file(files["av2"])  # lane boundaries, crossings (no road boundaries in av2)
    _same_geometry(av2, [e for e in els if e.label != "road_boundary"])
    maptr = read_map_file(files["maptr"], frame=1)  # resampled to 20 points, back in the world frame
    assert sorted(e.label for e in maptr) == sorted(e.label for e in els)
    for e in maptr:
        ref = next(r for r in els if r.label == e.label and abs(r.vertices[0, 1] - e.vertices[0, 1]) < 0.5)
        assert np.abs(e.vertices[:, 1] - ref.vertices[0, 1]).max() < 1e-6 or e.label == "ped_crossing"
    with pytest.raises(FormatError, match="no sample of frame 7"):
        read_map_file(files["maptr"], frame=7)
    own = json.loads(files["maptr"].read_text())  # MapTR's own ground truth: no pose per sample
    for g in own["GTs"]:
        del g["T_world_from_ego"]
    (tmp_path / "own.json").write_text(json.dumps({"GTs": own["GTs"]}))
    with pytest.raises(FormatError, match="own.json: .*no T_world_from_ego"):
        read_map_file(tmp_path / "own.json")
    # a MapTR pose, frame or stamp of the wrong kind names the file and the sample
    d = json.loads(files["maptr"].read_text())
    for key, value in (("T_world_from_ego", [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, []], [0, 0, 0, 1]]),
                       ("T_world_from_ego", [1, 2]),
                       ("frame", "x"), ("frame", 2**70), ("frame", -1), ("timestamp_ns", 1.5)):
        g = json.loads(json.dumps(d))
        g["GTs"][1][key] = value
        (tmp_path / "m.json").write_text(json.dumps(g))
        with pytest.raises(FormatError, match=f"m.json: GTs\\[1\\].{key}"):
            read_map_file(tmp_path / "m.json")
    # an OpenLABEL map object whose object_data / poly3d is not an object / a list of them
    d = json.loads(files["openlabel"].read_text())
    key = next(iter(d["openlabel"]["objects"]))
    for od in ([1, 2], {"poly3d": 5}, {"poly3d": [1]}, {"poly3d": "ab"}):
        g = json.loads(json.dumps(d))
        g["openlabel"]["objects"][key]["object_data"] = od
        (tmp_path / "o.json").write_text(json.dumps(g))
        with pytest.raises(FormatError, match=f"o.json: openlabel.objects.{key}: object_data.poly3d"):
            read_map_file(tmp_path / "o.json")
    # an Argoverse 2 lane mark type that is not a string (AttributeError before)
    d = json.loads(files["av2"].read_text())
    key = next(iter(d["lane_segments"]))
    for mark in ({"a": 1}, -1, None, ["SOLID_WHITE"]):
        d["lane_segments"][key]["left_lane_mark_type"] = mark
        (tmp_path / "a.json").write_text(json.dumps(d))
        with pytest.raises(FormatError, match="a.json: bad entry: lane mark type"):
            read_map_file(tmp_path / "a.json", "av2")
    (tmp_path / "bad.json").write_text(json.dumps({"tracks": []}))
    with pytest.raises(FormatError, match="bad.json: not a map file"):
        read_map_file(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(FormatError, match="broken.json"):
        read_map_file(tmp_path / "broken.json")


def test_cli_import_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fusionlabel.cli import main

    files = _write_all(tmp_path)
    (tmp_path / "seq").mkdir()
    proj = tmp_path / "p.flproj"
    doc = AnnotationDocument(5)
    UndoStack(doc).push(AddMapElement("stop_line", [[0, 0, 0], [3, 0, 0]]))
    save_project(proj, doc, tmp_path / "seq")
    assert main(["import-map", str(proj), str(files["av2"]), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["imported"] == 3 and rep["classes"] == {"lane_divider": 2, "ped_crossing": 1}
    got = load_project(proj).document
    assert len(got.map_elements) == 4 and got.map_element(0).label == "stop_line"
    out = tmp_path / "q.flproj"
    assert main(["import-map", str(proj), str(files["native"]), "--replace", "--out", str(out)]) == 0
    assert "4 map elements imported" in capsys.readouterr().out
    _same_geometry(list(load_project(out).document.map_elements.values()), _elements())
    assert len(load_project(proj).document.map_elements) == 4  # --out: the project itself unchanged
    assert main(["import-map", str(proj), str(tmp_path / "none.json")]) != 0
    assert "no such map file" in capsys.readouterr().err
