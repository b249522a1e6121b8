"""What the window edits: a loaded sequence, its annotation document and undo stack (no Qt).

All loading of sequences goes through :func:`load_session` (the one place to switch to
``formats.datasets.open_dataset`` for KITTI/nuScenes when it lands) and all frame reading through
:func:`load_frame`.

``load_session`` takes a sequence folder or a project file (``formats.project``, ``*.flproj``):

- a project: its document is the annotation and Save writes back to the project file;
- a sequence folder: its ground-truth tracks (if it has any, e.g. every synthetic sequence)
  become the initial annotation, so that the demo shows boxes and a labeler can correct them;
  Save asks where to write the project (suggesting ``<sequence>/annotations.flproj``).

The document is clean (not "modified") right after loading.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formats.project import PROJECT_FORMAT, PROJECT_SUFFIX, SequenceRef, load_project
from fusionlabel.commands import UndoStack
from fusionlabel.document import AnnotationDocument
from fusionlabel.model import SequenceInfo
from fusionlabel.ontology import Ontology
from gui.frames import FrameData, FrameSource, make_frame_cache, transform_f32

Progress = Callable[[int, int, str], None]


class SessionError(Exception):
    """A sequence or project cannot be opened; the message names the file and the problem."""


@dataclass
class Session:
    """A sequence being labelled: ``seq`` (frames, rig), ``doc`` (the annotation document),
    ``undo`` (its undo stack), ``source`` (the path that was opened), ``project_path`` (where
    Save writes; None until chosen) and ``frames`` (cache of :class:`FrameData`)."""

    seq: SequenceInfo
    doc: AnnotationDocument
    undo: UndoStack
    source: Path
    project_path: Path | None = None
    frames: FrameSource | None = field(default=None, repr=False)
    initial_annotation: str = "empty"  # "ground_truth", "project" or "empty"
    ontology: Ontology = field(default_factory=Ontology.default, repr=False)
    ontology_name: str = "default"

    @property
    def sequence_ref(self) -> SequenceRef:
        """Where the sequence is, for the project file."""
        root = self.seq.root if self.seq.root is not None else self.source
        return SequenceRef(Path(root), self.seq.format, self.seq.name)

    def __len__(self) -> int:
        return len(self.seq)

    def frame(self, index: int) -> FrameData:
        """Frame data through the cache (prefetching the neighbours)."""
        assert self.frames is not None
        return self.frames.get(index)

    def close(self) -> None:
        if self.frames is not None:
            self.frames.close()


def load_frame(seq: SequenceInfo, index: int, cameras: bool = True) -> FrameData:
    """Read frame ``index``: every LiDAR sweep transformed to the world frame with
    ``T_world_from_ego[index] @ T_ego_from_lidar`` and stacked; every camera image (when
    ``cameras``). Raises the reader's error (naming the file) on bad data."""
    from formats import native

    fi = seq.frames[index]
    pts_list, inten_list = [], []
    for name in fi.lidar_files:
        raw = native.read_lidar_frame(seq, index, name)  # (N, 4) float32, sensor frame
        T = seq.T_world_from_sensor(index, name)
        pts_list.append(transform_f32(T, raw[:, :3]))
        inten_list.append(raw[:, 3].astype(np.float32))
    if pts_list:
        pts_world = np.concatenate(pts_list)
        intensity = np.concatenate(inten_list)
    else:
        pts_world = np.zeros((0, 3), np.float32)
        intensity = np.zeros(0, np.float32)
    images = {}
    if cameras:
        for name, path in fi.camera_files.items():
            images[name] = native.read_image(path)
    fd = FrameData(index, pts_world, intensity, np.array(fi.T_world_from_ego), images)
    derive(fd)
    return fd


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
    the 3D view and ``"bev_rgb"`` (N, 3) uint8 colours of the BEV in ``z_order``."""
    from gui.colors import bev_colors, point_colors

    origin = fd.T_world_from_ego[:3, 3]
    if "z_order" not in fd.memo:
        fd.memo["z_order"] = height_order(fd.pts_world[:, 2])
    if ("rgb", mode) not in fd.memo:
        fd.memo[("rgb", mode)] = point_colors(mode, fd.pts_world, fd.intensity, origin, float(origin[2]))
    if "bev_rgb" not in fd.memo:
        fd.memo["bev_rgb"] = bev_colors(fd.pts_world[fd.memo["z_order"], 2], float(origin[2]))
    return fd


def _open_sequence(path: Path) -> SequenceInfo:
    """The one switch over sequence formats (native now; ``formats.datasets`` later)."""
    from formats import native

    if not path.exists():
        raise SessionError(f"{path}: no such file or folder")
    if native.is_native(path):
        return native.load_sequence(path)
    raise SessionError(f"{path}: not a recognised sequence (expected a folder with {native.INDEX_FILE})")


def is_project_file(path: Path) -> bool:
    """A project file: ``*.flproj``, or a JSON file whose ``format`` is the project format."""
    if not path.is_file():
        return False
    if path.suffix == PROJECT_SUFFIX:
        return True
    if path.suffix == ".json":
        try:
            with open(path, encoding="utf-8") as f:
                head = f.read(4096)
        except OSError:
            return False
        return f'"{PROJECT_FORMAT}"' in head
    return False


def _ontology(name: str, project_path: Path | None) -> Ontology:
    if name == "default":
        return Ontology.default()
    p = Path(name)
    if not p.is_absolute() and project_path is not None:
        p = project_path.parent / p
    return Ontology.load(p)


def load_session(path: str | os.PathLike[str], progress: Progress | None = None) -> Session:
    """Open a sequence folder or a project file (see the module docstring) and read the first
    frame (so that the window can draw at once). ``progress(done, total, what)`` is called between
    steps (from the calling thread). Errors: :class:`SessionError` or the reader's
    ``FormatError``/``CalibrationError``, all naming the file."""
    from formats import native

    p = Path(path)

    def step(done: int, what: str) -> None:
        if progress is not None:
            progress(done, 3, what)

    step(0, f"reading {p.name}")
    project = None
    if is_project_file(p):
        project = load_project(p)
        if not project.sequence.exists:
            raise SessionError(f"{p}: its sequence {project.sequence.path} does not exist (moved?)")
        seq = _open_sequence(project.sequence.path)
    else:
        seq = _open_sequence(p)
    step(1, "reading annotations")
    if project is not None:
        doc = project.document
        if doc.frame_count is not None and doc.frame_count != len(seq):
            raise SessionError(f"{p}: annotates {doc.frame_count} frames, the sequence has {len(seq)}")
        session = Session(seq, doc, UndoStack(doc), project.sequence.path, p, initial_annotation="project",
                          ontology=_ontology(project.ontology, p), ontology_name=project.ontology)
    else:
        tracks = native.load_ground_truth(seq) if seq.format == "native" else []
        doc = AnnotationDocument.from_tracks(tracks, frame_count=len(seq))
        kind = "ground_truth" if tracks else "empty"
        session = Session(seq, doc, UndoStack(doc), p, None, initial_annotation=kind)
    step(2, "reading the first frame")
    session.frames = make_frame_cache(lambda i: load_frame(seq, i), len(seq))
    if len(seq):
        session.frames.get(0)
    step(3, "done")
    return session
