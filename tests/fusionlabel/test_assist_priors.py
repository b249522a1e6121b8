"""Per-dataset size priors in the ontology (``size.datasets``): selection by the opened data's source
format, validation, round trip, the GUI session and the one-click box using them."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from fusionlabel.assist import box_from_click
from fusionlabel.ontology import Ontology, OntologyError, dataset_key
from tests.conftest import real_data

KITTI_CAR = (3.89, 1.62, 1.53)


def _base_dict() -> dict:
    return copy.deepcopy(Ontology.default().to_dict())


def test_default_ontology_carries_kitti_priors() -> None:
    base = Ontology.default()
    assert base["car"].size.mean == (4.6, 1.9, 1.7)
    assert dict(base["car"].size.datasets)["kitti"].mean == KITTI_CAR
    for fmt in ("kitti-object", "kitti-flat", "kitti-tracking", "kitti-raw", "KITTI-Object"):
        k = base.for_dataset(fmt)
        assert k.dataset == fmt and k.base is base
        assert k["car"].size.mean == KITTI_CAR
        assert k["pedestrian"].size.mean == (0.84, 0.66, 1.76)
        assert k["cyclist"].size.mean == (1.76, 0.60, 1.74)
        assert k["car"].size.min == base["car"].size.min  # min / max inherited
        assert k["van"] is base["van"]  # no KITTI entry: the class's own prior
        assert k.to_dict() == base.to_dict()  # writes the ontology as read
        assert k.for_dataset(None) is base and k.for_dataset("nuscenes") is base
    # no class has a nuScenes / native entry, and None means no dataset: the ontology itself
    assert base.for_dataset("nuscenes") is base and base.for_dataset("native") is base
    assert base.for_dataset(None) is base
    assert dataset_key("kitti-tracking") == "kitti" and dataset_key("nuscenes") == "nuscenes"
    assert dataset_key(None) is None


def test_round_trip_and_exact_format_key_first() -> None:
    d = _base_dict()
    car = next(c for c in d["classes"] if c["name"] == "car")
    car["size"]["datasets"]["kitti-tracking"] = {"mean": [4.0, 1.7, 1.5], "min": [2.0, 1.2, 1.0]}
    o = Ontology.from_dict(d)
    assert Ontology.from_dict(o.to_dict()) == o
    assert o.for_dataset("kitti-tracking")["car"].size.mean == (4.0, 1.7, 1.5)
    assert o.for_dataset("kitti-tracking")["car"].size.min == (2.0, 1.2, 1.0)
    assert o.for_dataset("kitti-object")["car"].size.mean == KITTI_CAR


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"KITTI": {"mean": [3.9, 1.6, 1.5]}}, "classes[0].size.datasets.KITTI"),
        ({"kitti": {"min": [3.0, 1.4, 1.2]}}, "classes[0].size.datasets.kitti.mean"),
        ({"kitti": {"mean": [3.9, 1.6]}}, "classes[0].size.datasets.kitti.mean"),
        ({"kitti": {"mean": [9.0, 1.6, 1.5]}}, "classes[0].size.datasets.kitti"),  # above the class's max
        ({"kitti": {"mean": [3.9, 1.6, 1.5], "sigma": 1}}, "classes[0].size.datasets.kitti.sigma"),
        ([1, 2], "classes[0].size.datasets"),
    ],
)
def test_bad_dataset_priors_name_the_key(entry: object, key: str) -> None:
    d = _base_dict()
    assert d["classes"][0]["name"] == "car"
    d["classes"][0]["size"]["datasets"] = entry
    with pytest.raises(OntologyError) as e:
        Ontology.from_dict(d, source="my.json")
    assert e.value.key == key and "my.json" in str(e.value)


def test_one_click_completes_a_rear_view_with_the_dataset_mean() -> None:
    """Only a car's rear is seen (a 1.6 m face across the line of sight, 20 m ahead): the box is
    completed away from the sensor to the class's mean length, KITTI's with KITTI data."""
    rng = np.random.default_rng(3)
    y = rng.uniform(-0.8, 0.8, 400)
    z = rng.uniform(0.35, 1.4, 400)
    x = 20.0 + 0.05 * (y / 0.8) ** 2 + rng.normal(0.0, 0.01, 400)  # a slightly rounded face
    pts = np.column_stack([x, y, z])
    base = Ontology.default()
    for onto, length in ((base, 4.6), (base.for_dataset("kitti-object"), KITTI_CAR[0])):
        fit = box_from_click(pts, (21.0, 0.0), None, onto, class_hint="car")
        assert fit.box is not None and fit.partial
        assert fit.box.length == pytest.approx(length, abs=0.05)
        assert abs(math.sin(fit.box.yaw)) < math.sin(math.radians(5.0))  # length along the line of sight
        assert fit.box.center[0] - fit.box.length / 2 == pytest.approx(20.0, abs=0.1)  # rear face kept


def test_gui_session_on_kitti_data_gets_kitti_priors() -> None:
    path = real_data("kitti_object_vis", "data", "object")
    from gui.session import load_session

    s = load_session(path)
    assert s.seq.format.startswith("kitti")
    assert s.ontology.dataset == s.seq.format and s.ontology["car"].size.mean == KITTI_CAR
    assert s.ontology_name == "default" and s.ontology.to_dict() == Ontology.default().to_dict()
