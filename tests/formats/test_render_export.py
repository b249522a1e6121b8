"""Images with projected boxes: edge pixels carry the class colour where the camera model (with
its distortion) projects the 3D edges; PNG layout; the MP4 opens with the right frame count."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from calib.transforms import invert
from formats import native
from formats.datasets import open_dataset
from formats.errors import FormatError
from formats.render_export import draw_boxes, render_frame, write_images
from fusionlabel.box import BOX_EDGES, Box3D
from fusionlabel.cli import main
from fusionlabel.ontology import Ontology
from fusionlabel.synth import SynthConfig, SynthScene

CFG = SynthConfig(frames=3, seed=21, cameras=6, image_size=(160, 90), azimuths=360)
ONTO = Ontology.default()


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "seq"
    native.write_synth_scene(SynthScene(CFG), out)
    return out


@pytest.fixture(scope="module")
def loaded(scene_dir: Path):  # noqa: ANN201
    return open_dataset(scene_dir)


class _Ref:
    def __init__(self, box: Box3D, label: str = "car", track_id: int = 5) -> None:
        self.box, self.label, self.track_id = box, label, track_id


def _edge_pixels(box: Box3D, T_cam_from_world: np.ndarray, camera, edges=range(12), step: float = 0.02):  # noqa: ANN001, ANN202
    """Pixels where ``camera.project`` (independent of the drawing code) puts points sampled along
    the 3D edges of ``box``: (N, 2) int (col, row), only points in front and inside the image."""
    c = box.corners()
    out = []
    for e in edges:
        a, b = c[BOX_EDGES[e, 0]], c[BOX_EDGES[e, 1]]
        t = np.linspace(0, 1, max(int(np.linalg.norm(b - a) / step), 2))[1:-1, None]
        pts = a + (b - a) * t
        pts_cam = (T_cam_from_world @ np.c_[pts, np.ones(len(pts))].T).T[:, :3]
        uv, _, valid = camera.project(pts_cam)
        out.append(np.round(uv[valid]).astype(int))
    return np.concatenate(out)


def _colour_near(img: np.ndarray, px: np.ndarray, colour: tuple[int, int, int], radius: int = 1) -> np.ndarray:
    """(N,) bool: some pixel within ``radius`` of each of ``px`` has exactly ``colour``."""
    h, w = img.shape[:2]
    hit = np.zeros(len(px), dtype=bool)
    for du in range(-radius, radius + 1):
        for dv in range(-radius, radius + 1):
            u = np.clip(px[:, 0] + du, 0, w - 1)
            v = np.clip(px[:, 1] + dv, 0, h - 1)
            hit |= (img[v, u] == colour).all(axis=1)
    return hit


@pytest.mark.parametrize("camera_name", ["cam_front", "cam_back_left", "cam_back"])  # radtan, radtan, fisheye
def test_edges_drawn_where_the_camera_projects_them(loaded, camera_name: str) -> None:
    cam = loaded.rig().camera(camera_name)
    T_world_from_cam = loaded.T_world_from_sensor(0, camera_name)
    # a box 9 m in front of the camera, seen slightly from the side
    centre = (T_world_from_cam @ np.array([1.0, 0.3, 9.0, 1.0]))[:3]
    box = Box3D(tuple(centre), (4.2, 1.8, 1.5), 0.4)
    T_cam_from_world = invert(T_world_from_cam)
    img = draw_boxes(np.zeros((cam.height, cam.width, 3), np.uint8), [_Ref(box)], cam, T_cam_from_world, ONTO,
                     ids=False)
    px = _edge_pixels(box, T_cam_from_world, cam)
    assert len(px) > 50
    hit = _colour_near(img, px, ONTO.color("car"))
    assert hit.mean() >= 0.98, hit.mean()
    # nothing else than the class colour was drawn, and not far from the edges
    drawn = (img != 0).any(axis=2)
    assert (img[drawn] == ONTO.color("car")).all()
    assert drawn.sum() < 6 * len(np.unique(px, axis=0)) + 200


def test_box_behind_camera_draws_nothing(loaded) -> None:
    cam = loaded.rig().camera("cam_front")
    T_world_from_cam = loaded.T_world_from_sensor(0, "cam_front")
    centre = (T_world_from_cam @ np.array([0.0, 0.0, -6.0, 1.0]))[:3]
    img = draw_boxes(np.zeros((cam.height, cam.width, 3), np.uint8), [_Ref(Box3D(tuple(centre), (4, 2, 1.5), 0.0))],
                     cam, invert(T_world_from_cam), ONTO)
    assert not img.any()


def test_track_id_written(loaded) -> None:
    cam = loaded.rig().camera("cam_front")
    T_world_from_cam = loaded.T_world_from_sensor(0, "cam_front")
    centre = (T_world_from_cam @ np.array([0.0, 1.0, 8.0, 1.0]))[:3]
    ref = [_Ref(Box3D(tuple(centre), (4, 2, 1.5), 0.0), "pedestrian", 77)]
    a = draw_boxes(np.zeros((cam.height, cam.width, 3), np.uint8), ref, cam, invert(T_world_from_cam), ONTO, ids=False)
    b = draw_boxes(np.zeros((cam.height, cam.width, 3), np.uint8), ref, cam, invert(T_world_from_cam), ONTO)
    text = (b != a).any(axis=2)
    assert text.sum() > 10 and (b[text].min(axis=1) > 150).sum() > 3  # light (white, anti-aliased) text


def test_rendered_frames_match_ground_truth(loaded) -> None:
    """In the real synthetic images, the edges of the nearest fully visible box carry its colour."""
    checked = 0
    for f in range(len(loaded)):
        img = render_frame(loaded, f, "cam_front", ONTO, ids=False)
        cam = loaded.rig(f).camera("cam_front")
        T = loaded.T_sensor_from_world(f, "cam_front")
        refs = loaded.annotations.boxes_at(f)
        depth = [(T @ np.r_[r.box.center, 1.0])[2] for r in refs]
        for k in np.argsort(depth):
            corners_cam = (T @ np.c_[refs[k].box.corners(), np.ones(8)].T).T[:, :3]
            uv, _, valid = cam.project(corners_cam)
            if depth[k] > 0 and valid.all():
                px = _edge_pixels(refs[k].box, T, cam)
                assert _colour_near(img, px, ONTO.color(refs[k].label)).mean() >= 0.9
                checked += 1
                break
    assert checked >= 2


def test_write_images_png_and_mp4(loaded, tmp_path: Path) -> None:
    dst = tmp_path / "img"
    summary = write_images(loaded, dst, cameras=["cam_front", "cam_back"], mp4=True)
    assert summary.frames == 3 and not summary.skipped
    index = json.loads((dst / "index.json").read_text())
    assert set(index["cameras"]) == {"cam_front", "cam_back"} and index["fps"] == pytest.approx(10.0)
    for cam in ("cam_front", "cam_back"):
        pngs = sorted((dst / cam).glob("*.png"))
        assert [p.name for p in pngs] == ["000000.png", "000001.png", "000002.png"]
        png = cv2.imread(str(pngs[1]))
        assert png.shape == (90, 160, 3)
        rgb = render_frame(loaded, 1, cam, ONTO)
        assert np.array_equal(cv2.cvtColor(png, cv2.COLOR_BGR2RGB), rgb)
        cap = cv2.VideoCapture(str(dst / f"{cam}.mp4"))
        assert cap.isOpened()
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0, abs=0.1)
        frames = []
        while True:
            ok, fr = cap.read()
            if not ok:
                break
            frames.append(fr)
        cap.release()
        assert len(frames) == 3 and frames[1].shape == png.shape
        assert np.abs(frames[1].astype(int) - png.astype(int)).mean() < 12  # lossy codec, same picture
    assert not (dst / "cam_front_left").exists()
    with pytest.raises(FormatError, match="not an empty folder"):
        write_images(loaded, dst)
    with pytest.raises(KeyError, match="unknown camera"):
        write_images(loaded, tmp_path / "x", cameras=["cam_nope"])


def test_cli_export_images(scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-images", str(scene_dir), str(tmp_path / "o"), "--cameras", "cam_front", "--mp4"]) == 0
    assert "3 frames x 1 cameras" in capsys.readouterr().out
    assert (tmp_path / "o" / "cam_front.mp4").is_file() and len(list((tmp_path / "o" / "cam_front").glob("*.png"))) == 3
    assert main(["export-images", str(scene_dir), str(tmp_path / "p"), "--cameras", "nope"]) == 2
    assert "unknown camera" in capsys.readouterr().err
