"""nuScenes per-annotation source fields survive a nuScenes -> nuScenes export: an unchanged box of
an unchanged track keeps its annotation's own visibility level and attribute names (a car parked in
one sample and moving in the next keeps both); an edited box, or a box of a track whose attributes
were changed, gets them recomputed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from formats.convert import convert, get_writer
from formats.datasets import open_dataset
from formats.export.nuscenes import DEFAULT_VERSION
from formats.native import write_synth_scene
from fusionlabel.synth import SynthConfig, SynthScene
from tests.conftest import real_data

LEVELS = ["1", "2", "3", "4"]
CAR_ATTRS = ["vehicle.moving", "vehicle.parked", "vehicle.stopped"]


def _tables(root: Path, version: str = DEFAULT_VERSION) -> dict[str, list[dict]]:
    return {n: json.loads((root / version / f"{n}.json").read_text())
            for n in ("sample_annotation", "attribute", "visibility", "instance", "sample")}


def _fields(root: Path, version: str = DEFAULT_VERSION) -> dict[tuple[float, ...], tuple[str, tuple[str, ...]]]:
    """Each annotation's (visibility level, attribute names) by its rounded translation."""
    t = _tables(root, version)
    attr = {a["token"]: a["name"] for a in t["attribute"]}
    vis = {v["token"]: v["level"] for v in t["visibility"]}
    return {tuple(round(float(x), 4) for x in a["translation"]):
            (vis[a["visibility_token"]], tuple(attr[x] for x in a["attribute_tokens"]))
            for a in t["sample_annotation"]}


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A nuScenes export of a synthetic scene whose annotations were then given varied visibility
    levels and per-annotation attributes (as a real copy has them)."""
    base = tmp_path_factory.mktemp("nusc-fid")
    write_synth_scene(SynthScene(SynthConfig(frames=3, seed=4, cameras=6, image_size=(160, 90), azimuths=360)),
                      base / "native")
    convert(base / "native", base / "a", "nuscenes")
    t = _tables(base / "a")
    attr_tok = {a["name"]: a["token"] for a in t["attribute"]}
    cat_of_inst = {i["token"]: i["category_token"] for i in t["instance"]}
    cats = {c["token"]: c["name"] for c in json.loads((base / "a" / DEFAULT_VERSION / "category.json").read_text())}
    for n, a in enumerate(sorted(t["sample_annotation"], key=lambda a: a["token"])):
        a["visibility_token"] = LEVELS[n % 4]
        if cats[cat_of_inst[a["instance_token"]]].startswith("vehicle.car"):
            a["attribute_tokens"] = [attr_tok[CAR_ATTRS[n % 3]]]
    (base / "a" / DEFAULT_VERSION / "sample_annotation.json").write_text(json.dumps(t["sample_annotation"]))
    return base / "a"


def test_unchanged_boxes_keep_visibility_and_attributes(varied: Path, tmp_path: Path) -> None:
    src = _fields(varied)
    assert len({v for v, _ in src.values()}) == 4
    assert {("vehicle.moving",), ("vehicle.parked",), ("vehicle.stopped",)} <= {a for _, a in src.values()}
    convert(varied, tmp_path / "b", "nuscenes")
    assert _fields(tmp_path / "b") == src


def test_an_edit_recomputes_the_fields(varied: Path, tmp_path: Path) -> None:
    src = _fields(varied)
    loaded = open_dataset(varied)
    doc = loaded.annotations
    cars = [tr for tr in doc.tracks.values() if tr.label.startswith("vehicle.car") and tr.keyframes]
    moved_track, other = cars[0], cars[1]
    k = min(moved_track.keyframes)
    b = moved_track.keyframes[k]
    moved = b.replace(center=tuple(float(x) for x in np.asarray(b.center) + np.array([0.01, 0.0, 0.0])))
    moved_track.keyframes[k] = moved  # a box edit
    other.attributes["nuscenes_attributes"] = "vehicle.parked"  # a track attribute edit
    get_writer("nuscenes")(loaded, tmp_path / "c")
    out = _fields(tmp_path / "c")
    sources, loaded.source_labels = loaded.source_labels, {}  # the same edits, every field computed
    get_writer("nuscenes")(loaded, tmp_path / "computed")
    computed = _fields(tmp_path / "computed")
    assert sources and computed != src  # the heuristic and class defaults differ from the planted fields

    def key(box) -> tuple[float, ...]:  # type: ignore[no-untyped-def]
        return tuple(round(float(x), 4) for x in box.center)

    recomputed = {key(moved)} | {key(bx) for bx in other.keyframes.values()}
    assert all(out[kk] == computed[kk] for kk in recomputed)
    assert ("vehicle.parked",) == out[key(next(iter(other.keyframes.values())))][1]
    kept = [kk for kk in out if kk not in recomputed]
    assert len(kept) == len(out) - len(recomputed) > 0
    assert all(out[kk] == src[kk] for kk in kept)


@pytest.mark.real
def test_real_keyframe_keeps_its_fields(tmp_path: Path) -> None:
    root = real_data("nuscenes_kf")
    convert(root, tmp_path / "out", "nuscenes")
    src = _fields(root, "v1.0-mini-kf")
    assert _fields(tmp_path / "out") == src and len(src) == 69
