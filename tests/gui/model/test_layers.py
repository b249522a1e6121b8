"""Annotation layers (gui.model.layers), headless: drawing data per view against hand-computed
values, camera clipping, tracked opacity, picking, map polylines in pinhole and fisheye cameras,
point-label colours / legend / unlabelled points, the layer list and its events."""

from __future__ import annotations

import numpy as np
import pytest

from calib.camera import CameraModel
from fusionlabel.box import Box3D
from gui.colors import PROPOSAL_COLOR, SELECTED_COLOR, class_color, tracked_opacity
from gui.model import ViewerModel
from gui.model.camproj import CameraView
from gui.model.layers import (
    UNKNOWN_COLOR,
    UNLABELLED_COLOR,
    Cuboid,
    CuboidLayer,
    LayerList,
    MapElement,
    MapElementLike,
    PointClass,
    PointLabelLayer,
    PolylineLayer,
    Segments3D,
    proposal_cuboids,
    track_cuboids,
)

W, H, F = 200, 100, 100.0
#: camera from world: the camera at the world origin looking along world +x (x right = -y, y down = -z)
R_CAM = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def pinhole() -> CameraModel:
    return CameraModel(np.array([[F, 0, 99.5], [0, F, 49.5], [0, 0, 1]]), W, H)


def fisheye() -> CameraModel:
    return CameraModel(np.array([[F, 0, 99.5], [0, F, 49.5], [0, 0, 1]]), W, H, "fisheye", (0.05, -0.01, 0.002, 0.0))


def view_of(camera: CameraModel, draft: bool = False) -> CameraView:
    T = np.eye(4)
    T[:3, :3] = R_CAM
    return CameraView("cam", camera, T, draft)


def px(p_world: np.ndarray) -> np.ndarray:
    """Hand projection through the pinhole above."""
    x, y, z = R_CAM @ np.asarray(p_world, dtype=float)
    return np.array([F * x / z + 99.5, F * y / z + 49.5])


BOX = Box3D((10.0, 2.0, 1.0), (4.0, 2.0, 1.5), 0.0)


def layer_of(*items: Cuboid, **kw) -> CuboidLayer:  # type: ignore[no-untyped-def]
    layer = CuboidLayer(**kw)
    layer.set_data(items)
    return layer


# ---- cuboids: BEV, side / front ----------------------------------------------------------------
def test_cuboid_bev_footprint_tick_and_styles_by_state() -> None:
    layer = layer_of(Cuboid.of(7, "car", BOX), Cuboid.of(8, "car", BOX, "interpolated"),
                     Cuboid.of(9, "car", BOX, "tracked", 0.5))
    shapes = layer.bev_shapes()
    assert len(shapes) == 6  # footprint + heading tick per box
    foot, tick = shapes[0], shapes[1]
    np.testing.assert_allclose(foot.points, [[12, 3], [12, 1], [8, 1], [8, 3]])  # CORNER_SIGNS order
    np.testing.assert_allclose(tick.points, [[10, 2], [12, 2]])  # centre -> front-face centre
    assert foot.closed and not tick.closed and foot.key == 7 and foot.text == "7"
    assert (foot.color, foot.width, foot.dashed, foot.dash_dot, foot.opacity) == (class_color("car"), 1.6, False,
                                                                                  False, 1.0)
    interp = shapes[2]
    assert interp.dashed and interp.width == 1.2 and not interp.dash_dot
    tracked = shapes[4]
    assert tracked.dash_dot and not tracked.dashed
    assert tracked.opacity == pytest.approx(0.3 + 0.7 * 0.5) == pytest.approx(tracked_opacity(0.5))
    layer.selected = {9}
    sel = layer.bev_shapes()[4]
    assert (sel.color, sel.width, sel.fill_alpha, sel.opacity) == (SELECTED_COLOR, 2.5, 45, 1.0)


def test_cuboid_side_and_front_outlines_of_the_selected_box() -> None:
    layer = layer_of(Cuboid.of(7, "car", BOX, "held"), Cuboid.of(8, "car", Box3D((0, 0, 1), (4, 2, 1.5), 0)))
    assert layer.ortho_shapes("side", BOX) == []  # nothing selected
    layer.selected = {7}
    side = layer.ortho_shapes("side", BOX)
    front = layer.ortho_shapes("front", BOX)
    # side: u along the length from the box centre, v world z; front: u along the width
    np.testing.assert_allclose(side[0].points, [[2, 0.25], [2, 1.75], [-2, 1.75], [-2, 0.25]])
    np.testing.assert_allclose(front[0].points, [[1, 0.25], [1, 1.75], [-1, 1.75], [-1, 0.25]])
    assert side[0].dashed and side[0].color == SELECTED_COLOR and side[0].fill_alpha == 30
    np.testing.assert_allclose(side[1].points, [[0, 1], [2, 1]])  # heading tick, side view only
    assert len(front) == 1


# ---- cuboids: cameras --------------------------------------------------------------------------
def _points(groups) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.concatenate([q for g in groups for q in g.lines])


def test_cuboid_camera_lines_hit_the_hand_projected_corners() -> None:
    view = view_of(pinhole())
    box = Box3D((10.0, 0.5, 0.0), (2.0, 1.0, 1.0), 0.0)  # wholly in front and in the image
    layer = layer_of(Cuboid.of(3, "car", box))
    groups = layer.camera_lines(view)
    pts = _points(groups)
    for corner in box.corners():
        assert np.min(np.hypot(*(pts - px(corner)).T)) < 1e-9
    widths = sorted({g.width for g in groups})
    assert widths == pytest.approx([1.6, 1.6 * 1.8])  # the front face thicker
    assert all(g.color == class_color("car") and g.pattern == "" for g in groups)
    # draft: 1 px; selected: white, drawn last
    layer.selected = {3}
    sel = layer.camera_lines(view_of(pinhole(), draft=True))
    assert {(g.color, g.width) for g in sel} == {(SELECTED_COLOR, 2.0)}


def test_camera_clipping_behind_the_camera() -> None:
    cam = pinhole()
    view = view_of(cam)
    through = Cuboid.of(1, "car", Box3D((1.0, 0.0, 0.0), (4.0, 1.8, 1.5), 0.0))  # crosses the near plane
    behind = Cuboid.of(2, "car", Box3D((-10.0, 0.0, 0.0), (4.0, 1.8, 1.5), 0.0))
    layer = layer_of(through, behind)
    proj = layer.camera_projection(view)
    assert proj.whole.tolist() == [] and {i for i, _, _ in proj.pieces} == {0}
    pts = _points(layer.camera_lines(view))
    u0, v0, u1, v1 = cam.image_rect()
    assert np.isfinite(pts).all()
    assert (pts[:, 0] >= u0 - 1e-6).all() and (pts[:, 0] <= u1 + 1e-6).all()
    assert (pts[:, 1] >= v0 - 1e-6).all() and (pts[:, 1] <= v1 + 1e-6).all()
    assert {pid for pid, _, _ in layer.camera_pieces(view)} == {1}
    assert layer.pick_camera(view, (99.5, 49.5)) == [1]  # the box behind is never picked


def test_tracked_box_opacity_by_confidence_in_cameras_and_3d() -> None:
    view = view_of(pinhole())
    box = Box3D((10.0, 0.5, 0.0), (2.0, 1.0, 1.0), 0.0)
    for conf in (0.0, 0.5, 1.0):
        layer = layer_of(Cuboid.of(3, "car", box, "tracked", conf))
        groups = layer.camera_lines(view)
        alpha = round(255 * (0.3 + 0.7 * conf))
        assert {g.color for g in groups} == {(*class_color("car"), alpha)}
        assert {g.pattern for g in groups} == {"dashdot"}
        pos, col = layer.segments_3d().groups["track"]
        np.testing.assert_allclose(col[:, 3], 0.3 + 0.7 * conf, atol=1e-6)
    layer.opacity = 0.5  # the layer's opacity multiplies
    assert {g.color[3] for g in layer.camera_lines(view)} == {round(255 * 0.5)}


def test_proposal_and_preview_styles() -> None:
    view = view_of(pinhole())
    box = Box3D((10.0, 0.5, 0.0), (2.0, 1.0, 1.0), 0.0)
    props = layer_of(Cuboid.of(4, "", box, text="p4 0.80"), Cuboid.of(5, "", box), name="p", style="proposal")
    props.selected = {5}
    groups = props.camera_lines(view)
    assert [(g.color, g.width, g.pattern) for g in groups] == [(PROPOSAL_COLOR, 1.4, "dot"),
                                                               (PROPOSAL_COLOR, 2.4, "dot")]
    bev = props.bev_shapes()
    assert [s.key for s in bev] == [("proposal", 4), ("proposal", 5)]
    assert bev[0].dotted and bev[0].text == "p4 0.80" and bev[1].width == 3.6
    assert props.ortho_shapes("side", box) == []
    prev = layer_of(Cuboid(None, "", np.asarray(box.corners())), name="v", style="preview")
    assert [(g.color, g.width) for g in prev.camera_lines(view)] == [(SELECTED_COLOR, 2.2)]
    assert prev.bev_shapes() == [] and prev.segments_3d().groups == {}


# ---- cuboids: 3D -------------------------------------------------------------------------------
def test_cuboid_3d_segments() -> None:
    layer = layer_of(Cuboid.of(7, "car", BOX), Cuboid.of(8, "car", BOX, "interpolated"))
    seg = layer.segments_3d()
    pos, col = seg.groups["key"]
    assert pos.shape == (30, 3) and col.shape == (30, 4)  # 12 edges + 2 diagonals + heading line
    corners = np.asarray(BOX.corners())
    np.testing.assert_allclose(pos[0:2], corners[[0, 1]])
    np.testing.assert_allclose(pos[-2:], [[10, 2, 1], [12, 2, 1]])  # centre -> front-face centre
    assert "dash" in seg.groups and len(seg.groups["dash"][0]) > 30  # dashed into short pieces
    assert seg.texts == ("7", "8")
    np.testing.assert_allclose(seg.text_pos[0], [10, 2, 1.75 + 0.4])
    layer.selected = {7}
    assert len(layer.segments_3d().groups["sel"][0]) == 30
    both = Segments3D.merge([seg, seg])
    assert len(both.groups["key"][0]) == 60 and both.texts == ("7", "8", "7", "8")


# ---- picking -----------------------------------------------------------------------------------
def test_cuboid_picking_in_bev_camera_and_3d() -> None:
    small = Box3D((10.0, 0.5, 0.0), (1.0, 1.0, 1.0), 0.0)
    big = Box3D((10.0, 0.5, 0.0), (6.0, 3.0, 2.0), 0.0)
    far = Box3D((30.0, 12.0, 0.0), (4.0, 2.0, 1.5), 0.0)
    layer = layer_of(Cuboid.of(1, "truck", big), Cuboid.of(2, "pedestrian", small), Cuboid.of(3, "car", far))
    assert layer.pick_bev((10.2, 0.6)) == [2, 1]  # smallest footprint first
    assert layer.pick_bev((20.0, 0.0)) == []
    assert layer.pick_bev((30.0, 13.3), tolerance=0.5) == [3]
    view = view_of(pinhole())
    assert layer.pick_camera(view, px((10.0, 0.5, 0.0))) == [1, 2]  # one centre: by id
    assert layer.pick_camera(view, px((30.0, 12.0, 0.0))) == [3]
    assert layer.pick_camera(view, px((30.0, -12.0, 0.0))) == []

    assert layer.pick_3d((0, 0, 0), (30.0, 12.0, 0.0)) == [3]  # the viewing ray towards a box
    assert layer.pick_3d((0, 0, 0), (10.0, 0.5, 0.0)) == [1, 2]  # nearest entry first
    assert layer.pick_3d((0, 0, 0), (-1.0, 0.0, 0.0)) == []


# ---- polylines / polygons (map elements) -------------------------------------------------------
def test_polyline_layer_bev_3d_and_picking() -> None:
    lane = MapElement(1, "lane_divider", np.array([[0.0, 0, 0], [10, 0, 0], [20, 5, 0]]))
    cross = MapElement(2, "ped_crossing", np.array([[5.0, 5, 0], [8, 5, 0], [8, 9, 0], [5, 9, 0]]), closed=True)
    assert isinstance(lane, MapElementLike)
    layer = PolylineLayer()
    layer.set_data([lane, cross])
    bev = layer.bev_shapes()
    np.testing.assert_allclose(bev[0].points, [[0, 0], [10, 0], [20, 5]])
    assert not bev[0].closed and bev[1].closed and bev[1].fill_alpha > 0 and bev[0].color == class_color("lane_divider")
    pos, _ = layer.segments_3d().groups["key"]
    assert len(pos) == 2 * (2 + 4)  # 2 segments + 4 of the closed polygon
    assert layer.pick_bev((6, 6)) == [2]  # inside the polygon
    assert layer.pick_bev((5, 0.3), tolerance=0.5) == [1]
    assert layer.pick_bev((5, 0.3)) == []
    layer.selected = {1}
    assert layer.bev_shapes()[0].color == SELECTED_COLOR
    assert "sel" in layer.segments_3d().groups
    side = layer.ortho_shapes("side", BOX)
    np.testing.assert_allclose(side[0].points, [[-10, 0], [0, 0], [10, 0]], atol=1e-9)  # u along the box
    with pytest.raises(ValueError, match="vertices_world"):
        layer.set_data([MapElement(3, "x", np.zeros((1, 3)))])


@pytest.mark.parametrize("make", [pinhole, fisheye])
def test_polyline_projected_into_a_camera_follows_the_lens(make) -> None:  # type: ignore[no-untyped-def]
    cam = make()
    view = view_of(cam)
    # a line across the view 8 m ahead, and one running from behind the camera to 20 m ahead
    across = MapElement(1, "stop_line", np.array([[8.0, 3.0, -1.5], [8.0, -3.0, -1.5]]))
    along = MapElement(2, "road_edge", np.array([[-5.0, 1.0, -1.5], [20.0, 1.0, -1.5]]))
    layer = PolylineLayer()
    layer.set_data([across, along])
    pieces = layer.camera_pieces(view)
    assert {i for i, _ in pieces} == {1, 2}
    u0, v0, u1, v1 = cam.image_rect()
    for eid, poly in pieces:
        assert np.isfinite(poly).all()
        assert (poly[:, 0] >= u0 - 1e-6).all() and (poly[:, 0] <= u1 + 1e-6).all()
        # every drawn pixel lies on the lens image of the 3D line (dense reference samples)
        v = (across if eid == 1 else along).vertices_world
        t = np.linspace(0.0, 1.0, 20001)[:, None]
        dense = v[0] + (v[1] - v[0]) * t
        uv, _, ok = cam.project(view.to_camera(dense), require_in_image=False)
        ref = uv[ok]
        d = np.array([np.min(np.hypot(*(ref - p).T)) for p in poly])
        assert d.max() < 0.3, (eid, d.max())
    if not cam.is_distorted:  # a straight line stays straight; the end points by hand
        line = dict(pieces)[1]
        np.testing.assert_allclose(line[0], px((8.0, 3.0, -1.5)), atol=1e-9)
        np.testing.assert_allclose(line[-1], px((8.0, -3.0, -1.5)), atol=1e-9)
        assert len(line) == 2
    else:  # the fisheye bends it: sampled, not straight
        line = dict(pieces)[1]
        assert len(line) > 2
        chord = line[-1] - line[0]
        d = line - line[0]
        off = np.abs(chord[0] * d[:, 1] - chord[1] * d[:, 0]) / np.linalg.norm(chord)
        assert off.max() > 0.5
    groups = layer.camera_lines(view)
    assert groups and all(g.pattern == "" for g in groups)
    assert layer.pick_camera(view, dict(pieces)[1][len(dict(pieces)[1]) // 2]) == [1]


# ---- point labels ------------------------------------------------------------------------------
CLASSES = [PointClass(1, "car", (255, 0, 0)), PointClass(2, "road", (100, 100, 100))]


def test_point_label_colours_legend_and_unlabelled() -> None:
    layer = PointLabelLayer(CLASSES)
    layer.set_labels(np.array([0, 1, 2, 1, 7], np.uint16))
    rgb = layer.colors()
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, [UNLABELLED_COLOR, (255, 0, 0), (100, 100, 100), (255, 0, 0), UNKNOWN_COLOR])
    np.testing.assert_array_equal(layer.unlabelled_mask(), [True, False, False, False, False])
    assert [(e.id, e.name, e.count) for e in layer.legend()] == [(0, "unlabelled", 1), (1, "car", 2), (2, "road", 1),
                                                                 (7, "id 7", 1)]
    pts = np.array([[1.0, 2, 0], [3, 4, 0], [5, 6, 0], [7, 8, 0], [9, 10, 0]])
    xy, c, order = layer.bev_points(pts)
    np.testing.assert_array_equal(xy, pts[:, :2])
    assert order.argmax() == 0  # the unlabelled point on top
    layer.highlight_unlabelled = False
    assert tuple(layer.colors()[0]) != UNLABELLED_COLOR and layer.order().max() == 0
    layer.selected = {2}  # only roads at full strength
    rgb = layer.colors()
    assert tuple(rgb[2]) == (100, 100, 100) and tuple(rgb[1]) == (89, 0, 0)
    with pytest.raises(ValueError):
        layer.set_labels(np.array([-1, 3]))
    with pytest.raises(ValueError, match="do not match"):
        layer.bev_points(pts[:2])
    with pytest.raises(ValueError, match="duplicate"):
        PointLabelLayer([CLASSES[0], CLASSES[0]])


def test_point_labels_by_instance_in_a_camera_and_3d() -> None:
    layer = PointLabelLayer(CLASSES, color_by="instance")
    layer.set_labels(np.array([1, 1, 1, 0], np.uint16), instances=np.array([5, 5, 6, 0]))
    rgb = layer.colors()
    assert tuple(rgb[0]) == tuple(rgb[1]) != tuple(rgb[2])  # one colour per instance
    assert tuple(rgb[3]) == UNLABELLED_COLOR
    pts = np.array([[10.0, 0, 0], [10.0, 1, 0], [-10.0, 0, 0], [10.0, -1, 0]])  # the third behind the camera
    uv, c = layer.camera_points(pts, view_of(pinhole()))
    assert len(uv) == 3 and tuple(c[-1]) == UNLABELLED_COLOR  # unlabelled drawn last (on top)
    np.testing.assert_allclose(uv[0], px(pts[0]))
    p3, c3 = layer.points_3d(pts)
    assert c3.dtype == np.float32 and c3.max() <= 1.0 and p3.shape == (4, 3)


# ---- the layer list ----------------------------------------------------------------------------
def test_layer_list_add_remove_reorder_and_events() -> None:
    model = ViewerModel()
    layers = model.layers
    seen: list[tuple] = []
    for name in ("inserted", "removed", "moved", "changed"):
        layers.events[name].connect(lambda *a, name=name: seen.append((name, *a)))
    boxes = layers.append(CuboidLayer("boxes"))
    lines = layers.append(PolylineLayer("map"))
    assert [layer.name for layer in layers] == ["boxes", "map"] and layers["map"] is lines
    with pytest.raises(ValueError, match="already"):
        layers.append(CuboidLayer("boxes"))
    layers.move(1, 0)
    assert [layer.name for layer in layers] == ["map", "boxes"]
    boxes.visible = False
    boxes.set_data([Cuboid.of(1, "car", BOX)])
    assert ("changed", boxes, "visible") in seen and ("changed", boxes, "data") in seen
    assert layers.bev_shapes() == []  # the box layer is hidden, the map empty
    boxes.visible = True
    assert len(layers.bev_shapes()) == 2 and layers.pick_bev((10, 2)) == [("boxes", 1)]
    layers.remove("boxes")
    n = len(seen)
    boxes.opacity = 0.5  # no longer listened to
    assert len(seen) == n and "boxes" not in layers
    assert [s[0] for s in seen if s[0] != "changed"] == ["inserted", "inserted", "moved", "removed"]
    with pytest.raises(ValueError):
        boxes.opacity = 2.0
    assert isinstance(LayerList().segments_3d(), Segments3D)


# ---- the layers' data from the document --------------------------------------------------------
def test_cuboids_from_the_document_with_the_drag_preview() -> None:
    from fusionlabel.assist import SetProposals
    from fusionlabel.commands import CreateTrack, UndoStack
    from fusionlabel.document import AnnotationDocument, Proposal
    from fusionlabel.tools import Preview

    doc = AnnotationDocument(frame_count=3)
    stack = UndoStack(doc)
    stack.push(CreateTrack("car", 0, BOX))
    stack.push(CreateTrack("pedestrian", 0, Box3D((3.0, 3.0, 0.9), (0.6, 0.6, 1.8), 0.0)))
    SetProposals([Proposal(0, "car", {0: BOX}, {0: 0.75}, 0.75, "cluster")]).apply(doc)
    tids = [r.track_id for r in doc.boxes_at(0)]
    items = track_cuboids(doc, 0)
    assert [c.id for c in items] == tids and items[0].box == BOX and items[1].label == "pedestrian"
    moved = Box3D((11.0, 2.0, 1.0), BOX.size, 0.0)
    items = track_cuboids(doc, 0, Preview(tids[0], moved, "move", 0))
    assert items[0].box == moved and items[0].state == "keyframe"
    assert len(track_cuboids(doc, 0, Preview(tids[0], moved, "move", 1))) == 2  # another frame's drag: ignored
    new = track_cuboids(doc, 0, Preview(None, moved, "create", 0), new_label="truck")
    assert new[-1].id is None and new[-1].label == "truck"
    layer = CuboidLayer()
    layer.set_data(new)
    assert layer.bev_shapes()[-2].color == SELECTED_COLOR and layer.glyphs()[-1].text == "new"
    props = proposal_cuboids(doc, 0)
    assert [(c.id, c.text) for c in props] == [(0, "p0 0.75")]
