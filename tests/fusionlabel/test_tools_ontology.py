"""The label ontology: the shipped default, dataset mappings, validation errors naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusionlabel.ontology import Ontology, OntologyError

KITTI = ["Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc"]
NUSC_CATEGORIES = [
    "human.pedestrian.adult", "human.pedestrian.child", "human.pedestrian.construction_worker",
    "human.pedestrian.personal_mobility", "human.pedestrian.police_officer", "human.pedestrian.stroller",
    "human.pedestrian.wheelchair", "animal", "movable_object.barrier", "movable_object.debris",
    "movable_object.pushable_pullable", "movable_object.trafficcone", "static_object.bicycle_rack",
    "vehicle.bicycle", "vehicle.bus.bendy", "vehicle.bus.rigid", "vehicle.car", "vehicle.construction",
    "vehicle.emergency.ambulance", "vehicle.emergency.police", "vehicle.motorcycle", "vehicle.trailer",
    "vehicle.truck",
]
NUSC_DETECTION = ["car", "truck", "bus", "trailer", "construction_vehicle", "pedestrian", "motorcycle", "bicycle",
                  "traffic_cone", "barrier"]


def test_default_covers_synthetic_kitti_and_nuscenes() -> None:
    o = Ontology.default()
    assert o is Ontology.default()  # loaded once
    for name in ("car", "pedestrian", "cyclist"):
        assert name in o
    assert {c.kitti for c in o} >= set(KITTI)
    assert {c.nuscenes for c in o} - {None} == set(NUSC_CATEGORIES)
    assert {c.nuscenes_detection for c in o} - {None} == set(NUSC_DETECTION)
    assert o.from_kitti("Car").name == "car" and o.from_kitti("Misc").name == "misc"
    assert o.from_kitti("Van").name == "van" and o.from_kitti("Pedestrian").name == "pedestrian"
    assert o.from_nuscenes("vehicle.car").name == "car"
    assert o.from_nuscenes("vehicle.bicycle").name == "bicycle"
    assert o.from_nuscenes("human.pedestrian.adult").name == "pedestrian"
    assert o.from_kitti("DontCare") is None
    assert o.to_kitti("child") == "Pedestrian" and o.to_nuscenes("cyclist") == "vehicle.bicycle"
    assert o.to_nuscenes_detection("van") == "car"


def test_default_priors_attributes_and_colours() -> None:
    o = Ontology.default()
    car = o["car"]
    assert car.size.contains(car.size.mean) and car.size.contains((4.5, 1.8, 1.5))
    assert not car.size.contains((12.0, 2.5, 3.5))
    assert car.size.clamp((12.0, 1.0, 1.5)) == (car.size.max[0], car.size.min[1], 1.5)
    assert o.default_size("pedestrian") == o["pedestrian"].size.mean
    assert o.default_size("no-such-class") == (1.0, 1.0, 1.0)
    assert o.color("car") == car.color and o.color("no-such-class") == (160, 160, 160)
    # a motion state is "moving" only for an object seen moving: a new parked car is not
    assert o.default_attributes("car") == {}
    assert o.default_attributes("car", moving=False) == {}
    assert o.default_attributes("car", moving=True) == {"state": "moving"}
    assert o.default_attributes("bicycle") == {"rider": "without_rider"}  # other defaults stay
    assert o.check_attributes("car", {"state": "parked"}) == []
    problems = o.check_attributes("car", {"state": "flying", "colour": "red"})
    assert any("flying" in p for p in problems) and any("colour" in p for p in problems)
    assert o.check_attributes("car", {}) == ["missing required attribute 'state'"]
    assert o.check_attributes("pedestrian", {"state": "standing"}) == []  # synthetic GT attribute values
    assert o.check_attributes("car", {"state": "parked", "occlusion": "partly"}) == []


def test_round_trip_through_json(tmp_path: Path) -> None:
    o = Ontology.default()
    p = tmp_path / "onto.json"
    p.write_text(json.dumps(o.to_dict()), encoding="utf-8")
    back = Ontology.load(p)
    assert back.classes == o.classes and back.name == o.name and back.source == p


def write(tmp_path: Path, data: object, name: str = "onto.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def good() -> dict:
    return {
        "format": "fusionlabel-ontology",
        "version": 1,
        "name": "mini",
        "classes": [
            {"name": "car", "color": [1, 2, 3], "size": {"mean": [4, 2, 1.5], "min": [3, 1, 1], "max": [6, 3, 2]},
             "attributes": [{"name": "state", "values": ["a", "b"], "required": True, "default": "a"}]},
        ],
    }


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d.update(classes=[]), "classes"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["classes"][0].pop("name"), "classes[0].name"),
        (lambda d: d["classes"][0].update(color=[1, 2, 300]), "classes[0].color"),
        (lambda d: d["classes"][0]["size"].update(min=[3, 1]), "classes[0].size.min"),
        (lambda d: d["classes"][0]["size"].update(mean=[7, 2, 1.5]), "classes[0].size"),
        (lambda d: d["classes"][0]["attributes"][0].update(default="c"), "classes[0].attributes[0].default"),
        (lambda d: d["classes"][0]["attributes"][0].update(values=[]), "classes[0].attributes[0].values"),
        (lambda d: d["classes"][0]["attributes"][0].update(required="yes"), "classes[0].attributes[0].required"),
        (lambda d: d["classes"][0].update(kitti=3), "classes[0].kitti"),
        (lambda d: d["classes"][0].update(colour=[1, 2, 3]), "classes[0].colour"),
        (lambda d: d["classes"].append(dict(d["classes"][0])), "classes[1].name"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, mutate, key: str) -> None:
    d = good()
    mutate(d)
    p = write(tmp_path, d)
    with pytest.raises(OntologyError) as ei:
        Ontology.load(p)
    assert ei.value.key == key and ei.value.path == p
    assert str(p) in str(ei.value) and key in str(ei.value)


def test_bad_json_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"classes": [', encoding="utf-8")
    with pytest.raises(OntologyError, match="invalid JSON at line 1"):
        Ontology.load(p)
    with pytest.raises(OntologyError, match="file not found"):
        Ontology.load(tmp_path / "missing.json")


def test_yaml_needs_pyyaml_or_loads(tmp_path: Path) -> None:
    p = tmp_path / "onto.yaml"
    try:
        import yaml
    except ImportError:
        p.write_text("name: x\n", encoding="utf-8")
        with pytest.raises(OntologyError, match="PyYAML"):
            Ontology.load(p)
        return
    p.write_text(yaml.safe_dump(good()), encoding="utf-8")
    assert Ontology.load(p).class_names() == ["car"]
