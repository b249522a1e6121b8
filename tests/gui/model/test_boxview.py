"""The side/front neighbourhood and the drawing data classes, without Qt (``gui.model``)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from fusionlabel.box import Box3D
from gui.model.boxview import NEIGHBOURHOOD_MARGIN, box_neighbourhood


def test_points_around_a_turned_box_in_its_side_and_front_planes() -> None:
    box = Box3D((10.0, 5.0, 1.0), (4.0, 2.0, 2.0), math.pi / 2)  # length along world y
    pts = np.array([
        [10.0, 5.0, 1.0],  # the centre: inside
        [10.0, 6.9, 1.5],  # 1.9 m along the length, inside
        [10.0, 7.5, 1.0],  # 2.5 m along the length: outside, in the margin
        [11.4, 5.0, 1.0],  # 1.4 m across (half width 1): in the margin
        [10.0, 5.0, 3.4],  # 2.4 m up (half height 1): in the margin
        [10.0, 9.0, 1.0],  # 4 m along: beyond the margin
        [12.6, 5.0, 1.0],  # 2.6 m across: beyond
        [10.0, 5.0, 4.6],  # 3.6 m up: beyond
    ], dtype=np.float32)
    hood = box_neighbourhood(pts, box)
    assert len(hood.pts_world) == 5
    np.testing.assert_array_equal(hood.inside, [True, True, False, False, False])
    # side: u along the length (world +y here) from the centre, v = world z
    np.testing.assert_allclose(hood.side_uv, [[0, 1], [1.9, 1.5], [2.5, 1], [0, 1], [0, 3.4]], atol=1e-5)
    # front: u along the width axis (the box's +y, world -x here)
    np.testing.assert_allclose(hood.front_uv[:, 0], [0, 0, 0, -1.4, 0], atol=1e-5)
    assert hood.pts_world.dtype == np.float64
    assert len(box_neighbourhood(pts, box, margin=0.0).pts_world) == 2
    assert NEIGHBOURHOOD_MARGIN == 1.5


def test_bad_input() -> None:
    box = Box3D((0.0, 0.0, 1.0), (4.0, 2.0, 2.0), 0.0)
    assert len(box_neighbourhood(np.zeros((0, 3)), box).inside) == 0
    with pytest.raises(ValueError, match="shape"):
        box_neighbourhood(np.zeros((5, 2)), box)
    with pytest.raises(ValueError, match="margin"):
        box_neighbourhood(np.zeros((5, 3)), box, margin=-1.0)


def test_the_model_package_imports_no_qt_or_vispy() -> None:
    code = ("import sys, gui.model.boxview, gui.model.shapes; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'vispy', 'OpenGL')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_views_reexport_the_plain_data_classes() -> None:
    from gui.model.shapes import BoxGlyph, Shape
    from gui.ortho import Shape as OrthoShape

    assert OrthoShape is Shape
    pytest.importorskip("vispy")
    from gui.render.view3d import BoxGlyph as RenderGlyph

    assert RenderGlyph is BoxGlyph
