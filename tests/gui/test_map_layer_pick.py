"""Picking map elements in the layer (Qt-free): lines before the polygons holding the pick, a
kerb before the drivable area's edge along it, in the BEV, a camera and along a 3D ray."""

from __future__ import annotations

import numpy as np

from calib.camera import CameraModel
from gui.model.camproj import CameraView
from gui.model.layers import MapElement, PolylineLayer


def _layer() -> PolylineLayer:
    x = np.linspace(0.0, 40.0, 9)
    line = lambda y: np.stack([x, np.full_like(x, y), np.zeros_like(x)], axis=1)  # noqa: E731
    area = [[0, -5, 0], [40, -5, 0], [40, 5, 0], [0, 5, 0]]
    la = PolylineLayer("map")
    la.set_data([MapElement(1, "drivable_area", np.asarray(area, float), True),
                 MapElement(2, "road_boundary", line(5.0), False),
                 MapElement(3, "lane_divider", line(0.0), False),
                 MapElement(4, "ped_crossing", np.asarray([[20, -5, 0], [23, -5, 0], [23, 5, 0], [20, 5, 0]], float),
                            True)])
    return la


def test_pick_bev_and_ray() -> None:
    la = _layer()
    assert la.pick_bev((10.0, 0.1), 0.3) == [3, 1]  # the line, then the area holding the point
    assert la.pick_bev((10.0, 5.0), 0.3)[:2] == [2, 1]  # the kerb before the area's edge on it
    assert la.pick_bev((21.0, 2.0), 0.3) == [4, 1]  # the smaller polygon first
    eye = np.array([0.0, 0.0, 10.0])
    hit = np.array([10.0, 0.05, 0.0])
    assert la.pick_3d(eye, hit - eye)[:2] == [3, 1]
    assert la.pick_3d(eye, np.array([10.0, 5.0, 0.0]) - eye)[0] == 2
    assert la.pick_3d(eye, np.array([10.0, 2.5, 0.0]) - eye) == [1]
    assert la.pick_3d(eye, np.array([10.0, 2.5, 0.0]) - eye, interiors=False) == []
    assert la.pick_3d(eye, np.array([0.0, 0.0, 1.0])) == []


def test_pick_camera() -> None:
    la = _layer()
    cam = CameraModel(np.array([[400.0, 0, 400], [0, 400.0, 225], [0, 0, 1]]), 800, 450)
    # camera 1.5 m above the road at x = 0 looking along +x (optical z forward, x right, y down)
    T_world_from_cam = np.eye(4)
    T_world_from_cam[:3, :3] = np.array([[0, 0, 1], [-1, 0, 0], [0, -1, 0]], float)
    T_world_from_cam[:3, 3] = (0.0, 0.0, 1.5)
    view = CameraView("cam", cam, np.linalg.inv(T_world_from_cam))
    p = np.array([15.0, 0.0, 0.0])
    pc = np.linalg.inv(T_world_from_cam) @ np.append(p, 1.0)
    uv = cam.project(pc[None, :3])[0][0]
    assert la.pick_camera(view, uv)[:2] == [3, 1]
    assert la.pick_camera(view, uv, interiors=False) == [3]
