"""Camera images with the 3D boxes drawn in: a PNG per camera per frame and an MP4 per camera.

Every box edge goes through :func:`calib.projection.project_box_edges` (clipped at the near plane,
bent by the lens distortion, clipped to the image), in the class colour of the ontology (labels
resolved by name, KITTI type or nuScenes category); the front face (x = +length/2) is drawn one
pixel thicker and crossed by its two diagonals; the track id is written above the box. Boxes are
drawn far to near so that nearer boxes are on top. With ``time_correct`` (default) each image's
boxes are drawn at that image's capture time: the tracks' boxes moved to it and the camera at the
ego pose of that time (:mod:`formats.timing`, docs/timing.md). Edges are drawn without anti-aliasing (every
edge pixel has exactly the class colour); the id text is anti-aliased, white on a dark outline.

Layout written by :func:`write_images` (``docs/bev.md`` shows an example)::

    DST/index.json                 cameras, image sizes, frame indices, timestamps, video fps
    DST/<camera>/<frame:06d>.png   8-bit RGB
    DST/<camera>.mp4               with mp4=True: every PNG of the camera in order (OpenCV 'mp4v')
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from calib.camera import CameraModel
from calib.projection import FRONT_FACE_EDGES, project_box_edges
from calib.transforms import transform_points
from formats.bev import class_color
from formats.errors import FormatError
from formats.timing import SequenceTiming
from fusionlabel.ontology import Ontology
from fusionlabel.sequence import SensorSequence
from fusionlabel.timing import CaptureTiming

F64 = NDArray[np.float64]
PathLike = str | os.PathLike[str]
ProgressFn = Callable[[int, int], None]

_SHIFT = 4  # cv2 fixed-point bits: sub-pixel precision 1/16 px
_DIAG = (0, 4)  # edges of the diagonal "box" that carry the front-face diagonals


def default_thickness(camera: CameraModel) -> int:
    """Edge thickness in pixels for an image: 1 up to 640 px wide, +1 per further 640 px."""
    return 1 + max(camera.width - 1, 0) // 640


def _to_fixed(uv: F64) -> NDArray[np.int32]:
    return np.round(uv * (1 << _SHIFT)).astype(np.int32)


def draw_boxes(image: NDArray[np.uint8], boxes: Sequence[Any], camera: CameraModel, T_cam_from_world: F64,
               ontology: Ontology | None = None, thickness: int | None = None, ids: bool = True,
               timing: CaptureTiming | None = None) -> NDArray[np.uint8]:
    """Draw world-frame boxes into a copy of ``image`` ((H, W, 3) uint8 RGB of ``camera``).

    ``boxes`` are ``BoxRef``-like (``.box`` a world-frame Box3D, ``.label``, ``.track_id``);
    ``T_cam_from_world`` (4, 4) maps world points into the camera's optical frame; ``timing``
    moves the boxes to the image's capture time (``T_cam_from_world`` is then that time's pose).
    Returns the drawn (H, W, 3) uint8 RGB image."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[:2] != (camera.height, camera.width):
        raise ValueError(f"image is {image.shape[1]}x{image.shape[0]}, camera model {camera.width}x{camera.height}")
    img = np.ascontiguousarray(image[..., :3], dtype=np.uint8).copy()
    ontology = ontology or Ontology.default()
    th = default_thickness(camera) if thickness is None else int(thickness)
    items = []
    for ref in boxes:
        world = ref.box.corners()
        if timing is not None:
            world = timing.corners_at([ref.track_id], world)[0]
        corners = transform_points(T_cam_from_world, world)
        depth = float(corners.mean(axis=0)[2])
        items.append((depth, ref, corners))
    texts = []
    for _, ref, c in sorted(items, key=lambda t: -t[0]):
        pieces = project_box_edges(c, camera)
        if not pieces:
            continue
        col = tuple(int(v) for v in class_color(ontology, ref.label))
        for edge, uv in pieces:
            w = th + 1 if edge in FRONT_FACE_EDGES else th
            cv2.polylines(img, [_to_fixed(uv)], False, col, w, cv2.LINE_8, shift=_SHIFT)
        # the front face's diagonals: corners 0-5 and 1-4 placed as edges 0 and 4 of a helper box
        diag = c[[0, 5, 2, 3, 1, 4, 6, 7]]
        for edge, uv in project_box_edges(diag, camera):
            if edge in _DIAG:
                cv2.polylines(img, [_to_fixed(uv)], False, col, th, cv2.LINE_8, shift=_SHIFT)
        if ids:
            pts = np.concatenate([uv for _, uv in pieces])
            k = int(np.argmin(pts[:, 1]))
            texts.append((str(ref.track_id), pts[k]))
    if ids:
        scale = max(0.3, camera.height / 900.0)
        for text, (u, v) in texts:
            (tw, tht), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            org = (int(np.clip(u - tw / 2, 0, max(camera.width - tw, 0))), int(np.clip(v - 3, tht, camera.height - 1)))
            cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def render_frame(loaded: SensorSequence, frame: int, camera: str, ontology: Ontology | None = None,
                 thickness: int | None = None, ids: bool = True, time_correct: bool = True,
                 timing: SequenceTiming | None = None) -> NDArray[np.uint8] | None:
    """The image of ``camera`` at ``frame`` of ``loaded`` (a LoadedSequence) with every box of the
    frame drawn in (at the image's capture time with ``time_correct``; ``timing``: the sequence's
    ``SequenceTiming``, built when not given), (H, W, 3) uint8 RGB; None when the frame has no
    image of that camera."""
    img = loaded.read_image(frame, camera)
    if img is None:
        return None
    if img.dtype != np.uint8:  # 16-bit images: scale to 8 bits for the report
        img = (img.astype(np.float64) / max(float(img.max()), 1.0) * 255.0).astype(np.uint8)
    cam = loaded.rig(frame).camera(camera)
    T, ct = loaded.T_sensor_from_world(frame, camera), None
    if time_correct:
        T, ct = (timing or SequenceTiming(loaded)).camera_pose(frame, camera)
    return draw_boxes(img, loaded.annotations.boxes_at(frame), cam, T, ontology, thickness, ids, ct)


def _fps(times_ns: Sequence[int]) -> float:
    if len(times_ns) < 2:
        return 10.0
    dt = float(np.median(np.diff(np.asarray(times_ns, dtype=np.int64)))) * 1e-9
    return 1.0 / dt if dt > 0 else 10.0


def write_images(loaded: SensorSequence, dst: PathLike, *, cameras: Sequence[str] | None = None, mp4: bool = False,
                 fps: float | None = None, ontology: Ontology | None = None, thickness: int | None = None,
                 ids: bool = True, overwrite: bool = False, progress: ProgressFn | None = None,
                 time_correct: bool = True, **options: Any) -> Any:
    """Write PNGs (and with ``mp4`` one MP4 per camera) of every frame with the boxes drawn in.

    ``cameras`` defaults to every camera of the rig (unknown names raise KeyError). ``fps``
    defaults to the frame rate of the LiDAR timestamps. The folder is written under a temporary
    name and renamed when complete. Returns a ``formats.export.summary.ConvertSummary`` (``frames`` =
    frames with at least one image, ``boxes`` = boxes of the frames, ``skipped`` = missing images).
    ``time_correct``: boxes at each image's capture time (False: at the frame time)."""
    from formats.export.summary import ConvertSummary

    names = list(loaded.camera_names if cameras is None else cameras)
    for c in names:
        if c not in loaded.camera_names:
            raise KeyError(f"unknown camera {c!r}; the sequence has {loaded.camera_names}")
    if not names:
        raise FormatError(getattr(loaded.info, "root", None), "the sequence has no camera to draw into")
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or (any(dst.iterdir()) and not overwrite)):
        raise FormatError(dst, "exists and is not an empty folder (use overwrite / --force to replace it)")
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    ontology = ontology or Ontology.default()
    n = len(loaded.info.frames)
    rate = float(fps) if fps else _fps(loaded.info.frame_times_ns())
    timing = SequenceTiming(loaded) if time_correct else None
    summary = ConvertSummary(outputs=[str(dst)])
    writers: dict[str, Any] = {}
    index: dict[str, Any] = {"cameras": {}, "frames": [], "fps": rate}
    try:
        for c in names:
            (tmp / c).mkdir()
            cam = loaded.rig(0).camera(c)
            index["cameras"][c] = {"width": cam.width, "height": cam.height, "frames": [],
                                   "video": f"{c}.mp4" if mp4 else None}
        for i in range(n):
            index["frames"].append({"index": i, "timestamp_ns": int(loaded.info.frames[i].timestamp_ns)})
            drawn = 0
            for c in names:
                img = render_frame(loaded, i, c, ontology, thickness, ids, time_correct, timing)
                if img is None:
                    summary.skipped.append((f"frame {i} camera {c}", "no image at this frame"))
                    continue
                bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
                ok, buf = cv2.imencode(".png", bgr)
                if not ok:
                    raise FormatError(tmp / c / f"{i:06d}.png", "PNG encoding failed")
                (tmp / c / f"{i:06d}.png").write_bytes(buf.tobytes())
                if mp4:
                    vw = writers.get(c)
                    if vw is None:
                        path = tmp / f"{c}.mp4"
                        vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), rate,
                                             (bgr.shape[1], bgr.shape[0]))
                        if not vw.isOpened():
                            raise FormatError(path, "OpenCV cannot open an MP4 writer (codec 'mp4v')")
                        writers[c] = vw
                    if (bgr.shape[1], bgr.shape[0]) != (index["cameras"][c]["width"], index["cameras"][c]["height"]):
                        raise FormatError(tmp / f"{c}.mp4", f"frame {i} image size differs from the camera's")
                    vw.write(bgr)
                index["cameras"][c]["frames"].append(i)
                drawn += 1
            summary.frames += 1 if drawn else 0
            if progress is not None:
                progress(i + 1, n)
        for vw in writers.values():
            vw.release()
        writers.clear()
        summary.boxes = sum(len(loaded.annotations.boxes_at(i)) for i in range(n))
        (tmp / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    except BaseException:
        for vw in writers.values():
            vw.release()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary
