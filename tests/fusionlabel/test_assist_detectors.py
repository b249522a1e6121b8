"""The detector plug-in: a tiny in-test detector reached as module:callable and as an installed
entry point (a dist-info on sys.path); its sensor-frame boxes become world-frame proposals."""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from calib.transforms import pose_from_xyz_yaw
from fusionlabel.assist import DetectorError, FrameInput, available_detectors, load_detector, prelabel
from fusionlabel.assist.detectors import to_detections
from fusionlabel.ontology import Ontology

DETECTOR_SOURCE = '''
import numpy as np

CALLS = []


def detect(frame):
    """One 'Car' 10 m ahead of the sensor, moving 1 m per frame (sensor frame)."""
    CALLS.append(frame.frame)
    return [{"box": [10.0 + frame.frame, 0.0, -0.9, 4.2, 1.8, 1.5, 0.0], "label": "Car", "score": 0.8}]


class Detector:
    def __init__(self):
        self.ready = True

    def __call__(self, frame):
        return [{"box": [5.0, 2.0, 1.0, 0.8, 0.7, 1.7, 0.0], "label": "pedestrian", "score": 0.6,
                 "frame": "world"}]


def bad_label(frame):
    return [{"box": [1, 2, 3, 1, 1, 1, 0], "label": "spaceship", "score": 0.5}]


def bad_score(frame):
    return [{"box": [1, 2, 3, 1, 1, 1, 0], "label": "car", "score": 1.5}]
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"fl_test_detector_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(DETECTOR_SOURCE))
    dist = tmp_path / f"{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[fusionlabel.detectors]\ntiny = {name}:detect\nped = {name}:Detector\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _frames(n: int = 4) -> list[FrameInput]:
    out = []
    for k in range(n):
        T = pose_from_xyz_yaw(100.0 + 2.0 * k, 50.0, 1.8, math.radians(90.0))  # sensor pose in the world
        out.append(FrameInput(k, k * 100_000_000, np.zeros((10, 4), np.float32), T, "lidar"))
    return out


def test_module_callable_boxes_go_to_the_world_frame(plugin: str) -> None:
    det = load_detector(f"{plugin}:detect")
    fr = _frames(1)[0]
    (d,) = det(fr)
    assert d.label == "car" and d.score == pytest.approx(0.8) and d.source == f"detector:{plugin}:detect"
    # 10 m ahead of a sensor at (100, 50) facing +y (yaw 90 deg)
    assert d.box.center == pytest.approx((100.0, 60.0, 0.9))
    assert d.box.yaw == pytest.approx(math.pi / 2)
    assert sys.modules[plugin].CALLS == [0]


def test_entry_point_and_class_instantiation(plugin: str) -> None:
    assert available_detectors()["tiny"] == f"{plugin}:detect"
    (d,) = load_detector("ped")(_frames(1)[0])
    assert d.label == "pedestrian" and d.box.center == pytest.approx((5.0, 2.0, 1.0))


def test_prelabel_with_a_detector_tracks_its_boxes(plugin: str) -> None:
    res = prelabel(_frames(4), detector=load_detector("tiny"))
    assert len(res.proposals) == 1
    p = res.proposals[0]
    assert sorted(p.boxes) == [0, 1, 2, 3] and p.label == "car" and p.source.startswith("detector:")
    # the sensor moved 2 m in +x, the object 1 m per frame along the sensor's x (world +y)
    assert [round(p.boxes[k].center[1], 6) for k in range(4)] == [60.0, 61.0, 62.0, 63.0]
    assert 0.0 < p.confidence <= 0.8


def test_bad_detectors_are_named(plugin: str) -> None:
    with pytest.raises(DetectorError, match="spaceship"):
        load_detector(f"{plugin}:bad_label")(_frames(1)[0])
    with pytest.raises(DetectorError, match=r"'score' must be a number in \[0, 1\]"):
        load_detector(f"{plugin}:bad_score")(_frames(1)[0])
    with pytest.raises(DetectorError, match="no attribute"):
        load_detector(f"{plugin}:nothing")
    with pytest.raises(DetectorError, match="no entry point"):
        load_detector("not-installed-anywhere")
    with pytest.raises(DetectorError, match="returned None"):
        to_detections(None, _frames(1)[0], Ontology.default())
    with pytest.raises(DetectorError, match="missing key 'label'"):
        to_detections([{"box": [0] * 7, "score": 0.1}], _frames(1)[0], Ontology.default())
