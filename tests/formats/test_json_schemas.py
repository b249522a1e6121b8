"""The project's own JSON files (rig, native index, tracks, project, edit journal) are validated
on read against the schemas shipped in the packages; an error names the file and the JSON path."""

from __future__ import annotations

import copy
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

import formats.io  # noqa: F401  (registers formats/schemas)
from calib.errors import CalibrationError
from calib.rig import load_rig_json
from calib.schema import SCHEMA_DIRS, _fast, schema_path, validate, validator
from formats.errors import FormatError
from formats.journal import encode_line, read_journal
from formats.native import load_sequence, load_tracks
from formats.project import load_project, save_project

NAMES = ("rig", "document", "tracks", "project", "native-index", "journal")


@pytest.fixture(scope="module")
def seq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fusionlabel.cli import main

    out = tmp_path_factory.mktemp("schemas") / "seq"
    assert main(["synth", str(out), "--frames", "3", "--cameras", "1", "--size", "64x48", "--seed", "2"]) == 0
    return out


def test_shipped_schemas_are_valid_and_in_the_package_data() -> None:
    from jsonschema import Draft202012Validator

    for name in NAMES:
        p = schema_path(name)
        assert p.parent in SCHEMA_DIRS
        Draft202012Validator.check_schema(json.loads(p.read_text()))
        validator(name)
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"schemas/*.json"' in text and "jsonschema" in text.split("[project.optional-dependencies]")[0]


def test_files_the_project_writes_validate(seq: Path, tmp_path: Path) -> None:
    from formats.datasets import open_dataset

    for name, rel in (("native-index", "fusionlabel.json"), ("rig", "rig.json"),
                      ("tracks", "labels/ground_truth.json")):
        validate(json.loads((seq / rel).read_text()), name, seq / rel, FormatError)
    loaded = open_dataset(seq)
    save_project(tmp_path / "a.flproj", loaded.annotations, seq)
    validate(json.loads((tmp_path / "a.flproj").read_text()), "project", "a.flproj", FormatError)
    assert load_project(tmp_path / "a.flproj").document.to_dict() == loaded.annotations.to_dict()


def _copy(seq: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(seq, tmp_path / "s"))


def _edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_rig_error_names_the_file_and_the_json_path(seq: Path, tmp_path: Path) -> None:
    s = _copy(seq, tmp_path)
    _edit(s / "rig.json", lambda d: d["sensors"][1]["camera"].update(width="64"))
    with pytest.raises(CalibrationError) as e:
        load_rig_json(s / "rig.json")
    assert str(s / "rig.json") in str(e.value) and "$.sensors[1].camera.width: '64' is not of type 'integer'" \
        in str(e.value)
    with pytest.raises(CalibrationError, match=r"\$\.sensors\[1\]\.camera\.width"):
        load_sequence(s)  # through the sequence reader too


@pytest.mark.parametrize(("file", "change", "message"), [
    ("fusionlabel.json", lambda d: d["frames"][2]["lidar"].update(lidar_top=7),
     "$.frames[2].lidar.lidar_top: 7 is not of type 'string'"),
    ("fusionlabel.json", lambda d: d["frames"][0]["T_world_from_ego"].pop(), "$.frames[0].T_world_from_ego: "),
    ("labels/ground_truth.json", lambda d: d["tracks"][1]["keyframes"]["0"].update(yaw="0.1"),
     "$.tracks[1].keyframes['0'].yaw: '0.1' is not of type 'number'"),
    ("labels/ground_truth.json", lambda d: d["tracks"][0].update(colour="red"),
     "$.tracks[0]: Additional properties are not allowed ('colour' was unexpected)"),
])
def test_native_errors_name_the_file_and_the_json_path(seq: Path, tmp_path: Path, file: str, change: Any,
                                                       message: str) -> None:
    s = _copy(seq, tmp_path)
    _edit(s / file, change)
    with pytest.raises(FormatError) as e:
        load_tracks(s / file) if file.startswith("labels") else load_sequence(s)
    assert str(s / file) in str(e.value) and message in str(e.value), str(e.value)


def test_a_journal_record_that_breaks_the_schema_names_the_journal_and_the_record(tmp_path: Path) -> None:
    j = tmp_path / "p.flproj.recovery.journal"
    head = {"format": "fusionlabel-edit-journal", "version": 1, "base": "b", "base_edits": 0}
    good = {"seq": 1, "frame_reviews": [{"frame": 2, "review": None}]}
    bad = {"seq": 2, "tracks": {"4": {"id": 4, "label": "car", "attributes": {}, "interpolation": "linear",
                                      "keyframes": {"0": {"center": [0, 0], "size": [1, 1, 1], "yaw": 0}}}}}
    j.write_bytes(encode_line(head) + encode_line(good))
    assert read_journal(j, "b") == ([good], 0)
    j.write_bytes(encode_line(head) + encode_line(good) + encode_line(bad))
    with pytest.raises(FormatError) as e:
        read_journal(j, "b")
    assert f"{j}: record 2" in str(e.value) and "$.tracks['4'].keyframes['0'].center" in str(e.value)


def _mutations(obj: Any, rng: random.Random, n: int) -> list[Any]:
    """``n`` copies of ``obj`` with one value replaced by a value of another type or removed."""
    nodes: list[tuple[Any, ...]] = []

    def walk(o: Any, path: tuple[Any, ...]) -> None:
        nodes.append(path)
        items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
        for k, v in items:
            walk(v, (*path, k))

    walk(obj, ())
    out = []
    for _ in range(n):
        o = copy.deepcopy(obj)
        path = rng.choice(nodes[1:])
        parent = o
        for k in path[:-1]:
            parent = parent[k]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice([None, "x", -1, 1.5, True, [], {}, [1, 2], {"a": 1}, 0])
        out.append(o)
    return out


@pytest.mark.parametrize("name", ["project", "native-index", "rig"])
def test_the_fast_check_and_the_describing_validator_agree(seq: Path, tmp_path: Path, name: str) -> None:
    """Valid files are checked by the compiled fast validator, failures described by jsonschema:
    both say the same on mutated files."""
    from formats.datasets import open_dataset

    if name == "project":
        save_project(tmp_path / "a.flproj", open_dataset(seq).annotations, seq)
        base = json.loads((tmp_path / "a.flproj").read_text())
    else:
        base = json.loads((seq / ("rig.json" if name == "rig" else "fusionlabel.json")).read_text())
    valid = 0
    for m in _mutations(base, random.Random(7), 150):
        slow = validator(name).is_valid(m)
        try:
            _fast(name)(m)
            fast = True
        except Exception:
            fast = False
        assert fast == slow, json.dumps(m)[:300]
        valid += fast
    assert 0 < valid < 150


def test_map_elements_and_point_label_records_are_checked() -> None:
    """The document's map elements and the journal's map / point-label records follow the schema:
    a valid one passes, a bad vertex or an unknown key names the JSON path."""
    el = {"id": 3, "label": "lane_divider", "attributes": {"type": "dashed"}, "vertices": [[0, 0, 0], [5, 0.3, 0.02]]}
    doc = {"version": 1, "frame_count": 2, "tracks": [], "reviews": {"boxes": [], "frames": []}, "map": [el]}
    validate(doc, "document", "doc.json", FormatError)
    validate({"seq": 2, "map": {"3": el, "4": None}, "point_labels": [0, 1]}, "journal", "j", FormatError)
    bad = copy.deepcopy(doc)
    bad["map"][0]["vertices"][1] = [5, 0.3]
    with pytest.raises(FormatError, match=r"doc.json.*map\[0\]"):
        validate(bad, "document", "doc.json", FormatError)
    with pytest.raises(FormatError, match="j"):
        validate({"seq": 2, "point_labels": [-1]}, "journal", "j", FormatError)
    with pytest.raises(FormatError, match="j"):
        validate({"seq": 2, "map": {"3": {**el, "colour": "x"}}}, "journal", "j", FormatError)
