"""Drawing data of the 3D-view and camera-box gestures (Qt-free): the rectangle drawn only in its
camera, the rotation handle where the 3D edit tool grabs it, both evented."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calib.camera import CameraModel
from fusionlabel.box import Box3D
from fusionlabel.tools.edit3d import HANDLE_RADIUS, rotate_handle_3d
from fusionlabel.tools.imagebox import ImageRect
from gui.model.camproj import CameraView
from gui.model.viewedit import ImageRectLayer, RotateHandleLayer


def view(name: str) -> CameraView:
    return CameraView(name, CameraModel(np.array([[100.0, 0, 99.5], [0, 100.0, 49.5], [0, 0, 1]]), 200, 100),
                      np.eye(4))


def test_rectangle_in_its_camera_only() -> None:
    layer = ImageRectLayer()
    seen: list = []
    layer.events.data.connect(seen.append)
    assert layer.name == "image_rect" and layer.camera_lines(view("a")) == []
    rect = ImageRect("a", (10.0, 20.0, 50.0, 60.0), 0)
    assert layer.set_value(rect) and not layer.set_value(rect) and len(seen) == 1
    (group,) = layer.camera_lines(view("a"))
    (poly,) = group.lines
    assert poly.tolist() == [[10, 20], [50, 20], [50, 60], [10, 60], [10, 20]] and group.pattern == "dash"
    assert layer.camera_lines(view("b")) == []
    assert layer.set_value(None) and layer.camera_lines(view("a")) == []


def test_rotation_handle_where_the_tool_grabs_it() -> None:
    layer = RotateHandleLayer()
    assert layer.segments_3d().groups == {}
    box = Box3D((10.0, 5.0, 0.8), (4.0, 2.0, 1.6), math.radians(30))
    assert layer.set_value(box)
    pos, col = layer.segments_3d().groups["sel"]
    h = rotate_handle_3d(box)
    assert pos[1] == pytest.approx(h)  # the stem ends at the handle
    assert pos[0] == pytest.approx([10 + 2 * math.cos(box.yaw), 5 + 2 * math.sin(box.yaw), 1.6])  # top of the front
    ring = pos[2:]
    assert np.linalg.norm(ring - h, axis=1) == pytest.approx(np.full(8, HANDLE_RADIUS), abs=1e-5)
    assert len(col) == len(pos) and (col == 1.0).all()
