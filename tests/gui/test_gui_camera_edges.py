"""Camera-panel box projection (gui.cameras): boxes wholly in front are drawn whole from their edge
samples (unclipped, the painter clips) as a few chained polylines; the others are clipped pieces.
The pieces a panel reports (``edges_of``) are clipped to the image either way."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")

from calib.camera import CameraModel  # noqa: E402
from calib.projection import BOX_EDGES, project_box_edges  # noqa: E402
from fusionlabel.box import Box3D  # noqa: E402

K = np.array([[300.0, 0, 200], [0, 300.0, 120], [0, 0, 1]])
CAMS = {
    "pinhole": CameraModel(K, 400, 240),
    "radtan": CameraModel(K, 400, 240, "radtan", (-0.28, 0.07, 0.001, -0.001, 0.0)),
}


def _corners_cam(center: tuple[float, float, float], yaw: float = 0.4) -> np.ndarray:
    """A car-sized box given in a camera-like frame (x right, y down, z forward)."""
    c = np.array(Box3D((0.0, 0.0, 0.0), (4.0, 1.8, 1.5), yaw).corners())
    R = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])  # box x forward -> camera z
    return c @ R.T + np.asarray(center)


def _to_polyline(q: np.ndarray, poly: np.ndarray) -> float:
    """Distance (px) of point q (2,) to polyline (M, 2)."""
    a, b = poly[:-1], poly[1:]
    d = b - a
    t = np.clip(((q - a) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(a + t[:, None] * d - q, axis=1).min())


@pytest.mark.parametrize("name", sorted(CAMS))
def test_whole_boxes_follow_the_reference_edges(name: str) -> None:
    from gui.cameras import FAST_SAMPLES, project_boxes_whole

    cam = CAMS[name]
    inside = _corners_cam((0.5, 0.5, 14.0))
    pieces, whole, uv = project_boxes_whole(inside[None], cam, clip=False)
    assert pieces == [] and whole.tolist() == [0] and uv.shape == (1, 12, FAST_SAMPLES if name == "radtan" else 2, 2)
    ref = dict(project_box_edges(inside, cam))
    assert sorted(ref) == list(range(12))
    for e in range(12):  # same ends, and the samples lie on the reference curve
        assert np.allclose(uv[0, e, 0], ref[e][0], atol=1e-6) and np.allclose(uv[0, e, -1], ref[e][-1], atol=1e-6)
        assert max(_to_polyline(q, ref[e]) for q in uv[0, e]) < 0.5


def test_chains_walk_every_edge_from_corner_to_corner() -> None:
    from gui.cameras import FRONT_LOOP, REST_DASHED, REST_TRAIL, chain_index

    k = 5
    ends = {}
    for e, (a, b) in enumerate(BOX_EDGES):
        ends[e * k], ends[e * k + k - 1] = int(a), int(b)
    for runs in (FRONT_LOOP, REST_TRAIL, *REST_DASHED):
        idx = chain_index(runs, k)
        assert len(idx) == len(runs) * (k - 1) + 1
        corners = [ends[i] for i in idx if i in ends]
        # consecutive corner visits are joined by a box edge (a continuous walk)
        for a, b in zip(corners[:-1], corners[1:], strict=True):
            assert a == b or {a, b} in [set(e) for e in BOX_EDGES.tolist()]
    front = {e for e, _ in FRONT_LOOP}
    rest = {e for e, _ in REST_TRAIL}
    assert front == {0, 4, 8, 9} and rest == set(range(12)) - front
    assert {e for chain in REST_DASHED for e, _ in chain} == rest


def test_panel_reports_clipped_pieces_and_skips_boxes_off_the_image(qtbot) -> None:  # type: ignore[no-untyped-def]
    from gui.cameras import CameraBox, CameraPanel

    cam = CAMS["radtan"]
    panel = CameraPanel("cam", cam)
    qtbot.addWidget(panel)
    R = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])  # camera from world: world x forward
    T = np.eye(4)
    T[:3, :3] = R
    boxes = [
        CameraBox(1, "car", np.array(Box3D((14.0, -0.5, -0.5), (4.0, 1.8, 1.5), 0.4).corners())),  # inside
        CameraBox(2, "car", np.array(Box3D((10.0, 7.5, 0.0), (4.0, 1.8, 1.5), 0.0).corners())),  # across the left edge
        CameraBox(3, "car", np.array(Box3D((1.0, 0.0, 0.0), (4.0, 1.8, 1.5), 0.0).corners())),  # through the near plane
        CameraBox(4, "car", np.array(Box3D((-10.0, 0.0, 0.0), (4.0, 1.8, 1.5), 0.0).corners())),  # behind
    ]
    panel.set_frame(None, T, boxes)
    u0, v0, u1, v1 = cam.image_rect()
    for tid in (1, 2, 3):
        pieces = panel.edges_of(tid)
        assert pieces, tid
        pts = np.concatenate([p for _, p in pieces])
        assert (pts[:, 0] >= u0 - 1e-6).all() and (pts[:, 0] <= u1 + 1e-6).all()
        assert (pts[:, 1] >= v0 - 1e-6).all() and (pts[:, 1] <= v1 + 1e-6).all()
    assert panel.edges_of(4) == []
    assert 0 in panel._whole.tolist() and 1 in panel._whole.tolist()  # drawn whole, the painter clips
    assert 2 not in panel._whole.tolist()  # crosses the near plane: clipped pieces
    panel.resize(400, 240)
    panel.grab()  # paints without error (chains, clip rect)
