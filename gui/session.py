"""What the window edits: a loaded sequence, its annotation document and undo stack (no Qt).

All loading goes through :func:`load_session`, which opens every path through the one opener
``formats.source.open_source`` (native, KITTI object/tracking/raw, nuScenes, SUSTechPOINTS,
recordings, packed HDF5, plain folders: the format is detected; project files by the one
project-file rule), and all frame reading through :func:`load_frame`.

``load_session`` takes a sequence (folder or file) or a project file (``formats.project``,
``*.flproj``):

- a project: its document is the annotation and Save writes back to the project file;
- a sequence: its ground-truth / label tracks (``LoadedSequence.annotations``: every synthetic
  sequence has them, KITTI and nuScenes their labels) become the initial annotation, so that the
  demo shows boxes and a labeler corrects them instead of starting from nothing; Save asks where
  to write the project (suggesting ``<sequence>/annotations.flproj``).

The document is clean (not "modified") right after loading.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calib.camera import CameraModel
from formats.project import SequenceRef
from formats.source import is_project_file as _is_project_file
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.errors import FusionLabelError
from fusionlabel.lod import build_lod, stride_lod
from fusionlabel.model import SequenceInfo
from fusionlabel.ontology import Ontology
from fusionlabel.sequence import SensorSequence
from gui.frames import FrameData, FrameSource, make_frame_cache, transform_f32

Progress = Callable[[int, int, str], None]

#: Frames of up to this many points also get the full-size colour and BEV arrays of :func:`derive`
#: in the loader (the window's drawing of a frame without its level of detail); bigger frames
#: only get their level of detail (``FrameData.lod``) and ground height: the views draw them
#: through ``gui.model.cloud.ShownCloud``, within a point budget.
EAGER_DERIVE_MAX_POINTS = 2_000_000


class SessionError(FusionLabelError):
    """A sequence or project cannot be opened; the message names the file and the problem (one
    of the project's error family, so the window and the command line report it like any reader's
    error)."""


@dataclass
class Session:
    """A sequence being labelled: ``loaded`` (the ``formats.datasets.LoadedSequence``: frames,
    rig(s), readers), ``doc`` (the annotation document), ``undo`` (its undo stack), ``source``
    (the sequence path), ``project_path`` (where Save writes; None until chosen) and ``frames``
    (cache of :class:`FrameData`)."""

    loaded: SensorSequence
    doc: AnnotationDocument
    undo: UndoStack
    source: Path
    project_path: Path | None = None
    frames: FrameSource | None = field(default=None, repr=False)
    initial_annotation: str = "empty"  # "ground_truth", "project" or "empty"
    ontology: Ontology = field(default_factory=Ontology.default, repr=False)
    ontology_name: str = "default"
    #: the reader options the sequence was opened with (``formats.openargs.open_options``), kept in
    #: the project so that it reopens the same way (e.g. estimated ego poses: the world frame)
    open_options: dict[str, Any] = field(default_factory=dict)
    #: draw each image's boxes at its capture time (``camera_pose``; docs/timing.md)
    time_correct: bool = True
    #: sweeps motion-compensated through the ego poses where points carry times (``set_deskew``)
    deskew: bool = False
    _timing: Any = field(default=None, repr=False)
    #: the loader gives big frames a provisional level of detail (``load_frame(quick_lod=True)``)
    _quick_lod: bool = field(default=False, repr=False)

    @property
    def timing(self) -> Any:
        """The sequence's ``formats.timing.SequenceTiming`` (None where its frame times cannot
        give one, e.g. repeated timestamps)."""
        if self._timing is None:
            from formats.timing import SequenceTiming
            from fusionlabel.errors import ModelError

            try:
                self._timing = SequenceTiming(self.loaded, self.doc)
            except ModelError:
                self._timing = False
        return self._timing or None

    def camera_pose(self, frame: int, name: str) -> tuple[np.ndarray, Any]:
        """``(T_cam_from_world (4, 4), timing)`` for drawing camera ``name`` at ``frame``: with
        :attr:`time_correct` the pose at the image's capture time and its
        ``fusionlabel.timing.CaptureTiming`` (``CameraPanel.set_frame(..., timing=)`` draws the
        boxes there), else :meth:`T_cam_from_world` and None."""
        timing = self.timing if self.time_correct else None
        if timing is None:
            return self.T_cam_from_world(frame, name), None
        return timing.camera_pose(frame, name)

    def overlay_points(self, frame: int) -> np.ndarray:
        """World points (N, 3) float32 of the LiDAR-in-camera overlay: with :attr:`time_correct`
        each point through the ego pose at its own time (where the sweep has point times)."""
        assert self.frames is not None
        fd = self.frames.get(frame, prefetch=False)
        return fd.memo.get("pts_world_timed", fd.pts_world) if self.time_correct else fd.pts_world

    def set_deskew(self, on: bool) -> None:
        """Show raw (False) or deskewed (True) sweeps: the frame cache is rebuilt (the window
        redraws the frame after)."""
        if bool(on) == self.deskew:
            return
        self.deskew = bool(on)
        if self.frames is not None:
            self.frames.close()
            self.frames = self._make_frame_cache()

    def deskew_note(self) -> str | None:
        """Why deskewed sweeps are the raw ones in this sequence (no per-point times, no ego
        poses...: ``formats.timing.deskew_note``), or None when deskew compensates them."""
        from formats.timing import deskew_note

        timing = self.timing
        return timing.deskew_note if timing is not None else deskew_note(self.loaded)

    def _frame_loader(self, part: bool = False) -> Callable[[int], FrameData]:
        """``i -> FrameData`` of the frame cache: whole, or (``part``) a sweep to accumulate:
        without its camera images and the whole-frame drawing's arrays."""
        loaded, timing, deskew = self.loaded, self.timing, self.deskew
        if part:
            return lambda i: load_frame(loaded, i, cameras=False, deskew=deskew, timing=timing,
                                        quick_lod=self._quick_lod, derived=False, compact=True)
        return lambda i: load_frame(loaded, i, deskew=deskew, timing=timing, quick_lod=self._quick_lod)

    def _make_frame_cache(self) -> FrameSource:
        """The window's frame cache of this sequence (``gui.frames.make_frame_cache``): whole
        frames, and parts for the accumulation completed with their images when shown."""
        loaded, timing, deskew = self.loaded, self.timing, self.deskew
        return make_frame_cache(self._frame_loader(), len(self), part_loader=self._frame_loader(part=True),
                                complete=lambda i, fd: complete_frame(loaded, fd, deskew=deskew, timing=timing))

    @property
    def seq(self) -> SequenceInfo:
        """Frames (timestamps, ego poses, files) and the sequence rig."""
        return self.loaded.info

    @property
    def camera_names(self) -> list[str]:
        return list(self.loaded.rig().camera_names())

    def camera(self, frame: int, name: str) -> CameraModel:
        """The camera model valid at ``frame`` (calibration may change per frame, e.g. KITTI
        object)."""
        return self.loaded.rig(frame).camera(name)

    def T_cam_from_world(self, frame: int, name: str) -> np.ndarray:
        """4x4 pose of the world in camera ``name``'s optical frame at ``frame``."""
        return self.loaded.T_sensor_from_world(frame, name)

    @property
    def sequence_ref(self) -> SequenceRef:
        """Where the sequence is, for the project file."""
        root = self.seq.root if self.seq.root is not None else self.source
        from formats.datasets import reopen_format

        return SequenceRef(Path(root), reopen_format(self.loaded), self.seq.name, dict(self.open_options))

    def __len__(self) -> int:
        return len(self.seq)

    def frame(self, index: int) -> FrameData:
        """Frame data through the cache (prefetching the neighbours)."""
        assert self.frames is not None
        return self.frames.get(index)

    def points_at(self, index: int, prefetch: bool = False) -> np.ndarray:
        """World points (N, 3) float32 of frame ``index`` through the cache (the one points
        provider of the window: frame display, accumulation, propagation, sizes, motion cues;
        without ``prefetch`` the frame is read without its camera images when not cached, and a
        frame held compact for the accumulation gives its points dequantized, within half a
        centimetre: ``FrameData.compact``; with ``prefetch`` the whole frame's full-precision points).
        Raises the reader's error when the frame cannot be read."""
        assert self.frames is not None
        if prefetch:
            return self.frames.get(index, prefetch=True).pts_world
        return self.frames.get_part(index).pts_world

    def sensor_origin(self, index: int) -> np.ndarray:
        """(3,) world position (m) of the first LiDAR at frame ``index`` (the ego origin when the
        sequence has no LiDAR): where the one-click box extends partial views away from and the
        track size estimate looks from."""
        names = list(getattr(self.loaded, "lidar_names", []))
        if names:
            T = self.loaded.T_world_from_sensor(index, names[0])
        else:
            T = self.seq.frames[index].T_world_from_ego
        return np.asarray(T, dtype=np.float64)[:3, 3].copy()

    def ego_yaw(self, index: int) -> float:
        """The ego's heading (rad about world +z) at frame ``index``."""
        T = np.asarray(self.seq.frames[index].T_world_from_ego, dtype=np.float64)
        return math.atan2(float(T[1, 0]), float(T[0, 0]))

    def sweep_near(self, index: int, offset: int) -> tuple[float, np.ndarray] | None:
        """The sweep ``offset`` frames from frame ``index``: (its time from frame ``index`` in s,
        world points (M, 3)); None outside the sequence or when it cannot be read (the
        ``ToolContext.neighbour_points`` of the one-click tool: a bad neighbour only costs the
        motion cue)."""
        f = int(index) + int(offset)
        if not 0 <= f < len(self):
            return None
        try:
            pts = self.points_at(f)
        except Exception:
            return None
        ts = self.seq.frames
        return (ts[f].timestamp_ns - ts[index].timestamp_ns) * 1e-9, pts

    def close(self) -> None:
        if self.frames is not None:
            self.frames.close()
        closer = getattr(self.loaded, "closer", None)
        if closer is not None:
            closer()


def load_frame(loaded: SensorSequence, index: int, cameras: bool = True, deskew: bool = False,
               timing: Any = None, lod: bool = True, quick_lod: bool = False, derived: bool = True,
               compact: bool = False) -> FrameData:
    """Read frame ``index`` of a ``LoadedSequence``: every LiDAR sweep transformed to the world
    frame with ``T_world_from_sensor`` (ego pose @ extrinsics) and stacked; intensities scaled to
    [0, 1] (0-255 data is divided by 255); every camera image as RGB (when ``cameras``); the
    points' level of detail (``FrameData.lod``, when ``lod`` and the frame has over
    :data:`EAGER_DERIVE_MAX_POINTS` points: only big frames are drawn within point budgets;
    ``quick_lod``: the provisional stride order of ``fusionlabel.lod.stride_lod``, built at no cost,
    for a first picture at once, the voxel order being built after); the whole-frame drawing's
    arrays (:func:`derive`) of frames up to :data:`EAGER_DERIVE_MAX_POINTS` points (when
    ``derived``). The frame cache calls it in its prefetch thread, so that is ready before the
    frame is shown; a sweep loaded only to be accumulated is read with ``cameras`` and ``derived``
    False (``FrameData.images_read`` False: :func:`complete_frame` reads the images) and
    ``compact`` (its level of detail built here, then the points held compact,
    ``FrameData.compact``: int16 at 1 cm and float16 intensities; :func:`complete_frame` reads the
    full points again).
    Raises the reader's error (naming the file) on bad data. With a ``timing``
    (``formats.timing.SequenceTiming``) and sweeps with per-point times, ``memo["pts_world_timed"]``
    holds the deskewed world points, and ``deskew`` shows them (``pts_world``)."""
    info = loaded.info
    pts_list, inten_list, timed_list = [], [], []
    slices: dict[str, tuple[int, int]] = {}  # where each LiDAR's points lie in pts_world
    has_times = False
    for name in loaded.lidar_names:
        pc = loaded.read_lidar(index, name)
        if pc is None or len(pc) == 0:
            continue
        raw = transform_f32(loaded.T_world_from_sensor(index, name), pc.xyz)
        timed = None
        if timing is not None and timing.sweep_times(index, name, pc) is not None:
            timed = np.asarray(timing.world_points(index, name, True, pc)[0], dtype=np.float32)
            has_times = True
        start = sum(len(p) for p in pts_list)
        slices[name] = (start, start + len(raw))
        timed_list.append(raw if timed is None else timed)
        pts_list.append(timed if deskew and timed is not None else raw)
        inten = pc.intensity
        if inten is None:
            inten_list.append(np.zeros(len(pc), np.float32))
        else:
            inten = np.asarray(inten, dtype=np.float32)
            inten_list.append(inten / 255.0 if inten.size and float(inten.max()) > 1.5 else inten)
    if len(pts_list) == 1:  # no copy (a 10M-point sweep is 120 MB): the reader's buffer is freed
        pts_world = pts_list[0]
        intensity = np.ascontiguousarray(inten_list[0])
    elif pts_list:
        pts_world = np.concatenate(pts_list)
        intensity = np.concatenate(inten_list)
    else:
        pts_world = np.zeros((0, 3), np.float32)
        intensity = np.zeros(0, np.float32)
    images = read_images(loaded, index) if cameras else {}
    fd = FrameData(index, pts_world, intensity, np.array(info.frames[index].T_world_from_ego), images,
                   images_read=cameras)
    fd.memo["lidar_slices"] = slices
    if has_times:
        fd.memo["pts_world_timed"] = np.concatenate(timed_list)
    if lod and len(pts_world) > EAGER_DERIVE_MAX_POINTS:  # a big frame is drawn within point budgets
        # (a small one gets it when accumulated: gui.model.cloud.frame_part)
        fd.lod = stride_lod(len(pts_world)) if quick_lod else build_lod(pts_world)
    if derived and len(pts_world) <= EAGER_DERIVE_MAX_POINTS:
        derive(fd)
    else:
        fd.memo["ground_z"] = ground_height(pts_world, fd.T_world_from_ego[:3, 3])
    if compact:  # drawn from its level of detail: built from the full points, then packed
        if lod and fd.lod is None:
            fd.lod = stride_lod(len(pts_world)) if quick_lod else build_lod(pts_world)
        fd.compact()
    return fd


def read_images(loaded: SensorSequence, index: int) -> dict[str, np.ndarray]:
    """Every camera image of frame ``index``: name -> (H, W, 3) uint8 RGB (grey images repeated
    to three channels; cameras without an image at the frame left out)."""
    images = {}
    for name in loaded.rig(index).camera_names():
        img = loaded.read_image(index, name)
        if img is None:
            continue
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        images[name] = np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)
    return images


def complete_frame(loaded: SensorSequence, fd: FrameData, deskew: bool = False, timing: Any = None) -> FrameData:
    """The whole frame of ``fd`` (a sweep read without its images, or whose images were
    released: ``images_read`` False): a new :class:`FrameData` sharing its points, level of
    detail and loader entries, with the camera images read and, for a frame up to
    :data:`EAGER_DERIVE_MAX_POINTS` points, the whole-frame drawing's arrays (:func:`derive`), as
    :func:`load_frame` gives. A compact ``fd`` (``FrameData.compact``) is read again whole
    (:func:`load_frame` with ``deskew`` and ``timing`` as the cache's loader), its full-precision
    float32 points, keeping its level of detail. ``fd`` itself is not changed (other threads may
    be drawing it); the frame cache calls this in its prefetch thread for a neighbour of the
    frame shown."""
    pts, inten = fd.pts_full, fd.intensity_full  # read once: the drawing thread may compact fd
    if pts is None or inten is None:
        whole = load_frame(loaded, fd.index, deskew=deskew, timing=timing, lod=False)
        if fd.lod is not None and fd.lod.n == whole.n:
            whole.lod = fd.lod
        elif len(whole.pts_world) > EAGER_DERIVE_MAX_POINTS:
            whole.lod = build_lod(whole.pts_world)
        return whole
    images = read_images(loaded, fd.index)
    whole = dataclasses.replace(fd, pts_full=pts, intensity_full=inten, packed=None, images=images,
                                images_read=True, memo=dict(fd.memo))
    if whole.n <= EAGER_DERIVE_MAX_POINTS:
        derive(whole)
    return whole


def height_order(z: np.ndarray) -> np.ndarray:
    """Indices sorting heights ``z`` (N,) ascending to 1 cm (a 16-bit radix sort, fast)."""
    if len(z) == 0:
        return np.zeros(0, np.int64)
    lo = float(z.min())
    q = np.clip((z - lo) * 100.0, 0, 65535).astype(np.uint16)
    return np.argsort(q, kind="stable")


def derive(fd: FrameData, mode: str = "height") -> FrameData:
    """Precompute what every frame switch needs (so that it happens in the prefetch thread):
    ``z_order`` (indices sorting the points by height), ``("rgb", mode)`` (N, 3) float colours of
    the 3D view, ``"bev_rgb32"`` (N,) uint32 packed RGB colours of the BEV in ``z_order``
    (``gui.ortho.pack_rgb32``) and ``"bev_xy"`` (N, 2) float32 world x, y in ``z_order``."""
    from gui.colors import bev_colors, point_colors
    from gui.ortho import pack_rgb32

    origin = fd.T_world_from_ego[:3, 3]
    if "ground_z" not in fd.memo:
        fd.memo["ground_z"] = ground_height(fd.pts_world, origin)
    ground = fd.memo["ground_z"]
    if "z_order" not in fd.memo:
        fd.memo["z_order"] = height_order(fd.pts_world[:, 2])
    if ("rgb", mode) not in fd.memo:
        fd.memo[("rgb", mode)] = point_colors(mode, fd.pts_world, fd.intensity, origin, ground)
    if "bev_rgb32" not in fd.memo:  # (the (N, 3) colours are not kept: the packed ones are drawn)
        fd.memo["bev_rgb32"] = pack_rgb32(bev_colors(fd.pts_world[fd.memo["z_order"], 2], ground))
    if "bev_xy" not in fd.memo:
        fd.memo["bev_xy"] = np.ascontiguousarray(fd.pts_world[fd.memo["z_order"], :2], dtype=np.float32)
    return fd


def ground_height(pts_world: np.ndarray, origin: np.ndarray, radius: float = 25.0) -> float:
    """Ground height (world z, m) near the ego vehicle: the 10th percentile of the heights of the
    points within ``radius`` m of ``origin`` (3,) horizontally (origin z when there are none).
    Ego frames differ (on the ground, or at the LiDAR as in KITTI); the colours need the ground."""
    if len(pts_world) == 0:
        return float(origin[2])
    sub = pts_world[:: max(1, len(pts_world) // 20000)]
    near = sub[(sub[:, 0] - origin[0]) ** 2 + (sub[:, 1] - origin[1]) ** 2 < radius**2, 2]
    return float(np.percentile(near, 10)) if len(near) >= 50 else float(origin[2])


def is_project_file(path: Path) -> bool:
    """The one project-file rule (``formats.source.is_project_file``)."""
    return _is_project_file(path)


def _ontology(name: str, project_path: Path | None) -> Ontology:
    if name == "default":
        return Ontology.default()
    p = Path(name)
    if not p.is_absolute() and project_path is not None:
        p = project_path.parent / p
    return Ontology.load(p)


def open_sequence(path: Path, format: str | None = None, options: dict[str, Any] | None = None) -> SensorSequence:
    """The sequence at ``path`` through the one opener (``formats.source.open_source``: detected
    format unless ``format`` is given; reader ``options`` as ``formats.openargs.open_options``
    gives them; a project file opens its sequence with the project's document) ->
    ``LoadedSequence``."""
    from formats.source import open_source

    if not path.exists():
        raise SessionError(f"{path}: no such file or folder")
    return open_source(path, format, options).sequence


def load_session(path: str | os.PathLike[str], progress: Progress | None = None,
                 open_args: argparse.Namespace | None = None) -> Session:
    """Open a sequence or a project file (see the module docstring) and read the first frame (so
    that the window can draw at once). ``progress(done, total, what)`` is called between steps
    (from the calling thread). ``open_args``: the command line's dataset options for a sequence
    (``--format``, ``--estimate-poses``, ``--frame-mismatch``, ...: ``formats.openargs``; a project
    opens its sequence with its recorded format and options, those given override them).
    Errors: :class:`SessionError` (a missing path or project sequence; a project whose frame
    count differs from its sequence's, unless ``--frame-mismatch sequence``) or the reader's
    errors (``FormatError``, ``DatasetError``, ``CalibrationError``), all naming the file."""
    p = Path(path)

    def step(done: int, what: str) -> None:
        if progress is not None:
            progress(done, 3, what)

    step(0, f"reading {p.name}")
    from formats.openargs import frame_mismatch, open_format, open_options
    from formats.source import FrameCountError, MissingSequenceError, open_source

    given = open_options(open_args) if open_args is not None else {}
    fmt = open_format(open_args) if open_args is not None else None
    rule = frame_mismatch(open_args) if open_args is not None else "error"
    if not p.exists():
        raise SessionError(f"{p}: no such file or folder")
    try:  # the one opener: project-file rule, frame-count rule
        opened = open_source(p, fmt, given, frame_mismatch=rule)
    except (FrameCountError, MissingSequenceError) as e:
        raise SessionError(str(e)) from e
    loaded, project, options = opened.sequence, opened.project, opened.options
    assert loaded is not None  # required by open_source
    source = opened.source_path
    n = len(loaded.info)
    step(1, "reading annotations")
    if project is not None:
        doc = project.document
        session = Session(loaded, doc, UndoStack(doc), source, p, initial_annotation="project",
                          ontology=_ontology(project.ontology, p), ontology_name=project.ontology)
    else:
        doc = loaded.annotations if loaded.annotations is not None else AnnotationDocument(n)
        kind = "ground_truth" if len(doc) else "empty"
        session = Session(loaded, doc, UndoStack(doc), source, None, initial_annotation=kind)
    session.open_options = dict(options)
    # the size priors of the opened data's dataset (KITTI's cars are shorter than nuScenes'): the
    # one-click box and the pre-labels complete partly seen objects from them
    session.ontology = session.ontology.for_dataset(loaded.info.format)
    step(2, "reading the first frame")
    session.frames = session._make_frame_cache()
    if n:  # a big first frame with a provisional level of detail (the window refines it); its
        # neighbours are prefetched once it is shown (Session.frame), not while it is drawn first
        session._quick_lod = True
        try:
            session.frames.get(0, prefetch=False)
        finally:
            session._quick_lod = False
    step(3, "done")
    return session
