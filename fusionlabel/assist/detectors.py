"""Detector plug-ins: how an external model supplies proposals for a frame.

A detector is any callable ``detector(frame: FrameInput) -> Iterable[Detection | Mapping]``:

- input: :class:`~fusionlabel.assist.prelabel.FrameInput` with the sweep ``points`` (N, C)
  float32 **in the sensor frame** (x, y, z, then e.g. intensity), ``T_world_from_sensor`` (4, 4),
  ``frame``, ``timestamp_ns``, ``sensor``, and, when asked for, ``images(camera)`` and ``rig``;
- output: one entry per object, either a :class:`~fusionlabel.assist.prelabel.Detection`
  (world-frame box) or a mapping ``{"box": [x, y, z, l, w, h, yaw], "label": str, "score": float,
  "frame": "sensor" | "world"}``: the box is the geometric centre, size (length along the heading,
  width, height) m and yaw about +z rad, **in the sensor frame unless ``frame`` says ``world``**;
  ``label`` an ontology class name, or a KITTI / nuScenes name that the ontology maps; ``score`` in
  [0, 1]. Mappings are converted (and checked) by :func:`to_detections`.

Where detectors come from (:func:`load_detector`):

- ``"module:callable"`` (``fusionlabel prelabel --detector my_pkg.det:make``), imported from the
  Python path;
- an entry point name in the group ``fusionlabel.detectors`` of an installed package::

      # the plug-in package's pyproject.toml
      [project.entry-points."fusionlabel.detectors"]
      pointpillars = "my_pkg.det:PointPillarsDetector"

The object found is used as the detector when it is a callable instance or function; a class is
instantiated without arguments first (a factory function taking no argument and returning a
detector is marked by the attribute ``fusionlabel_factory = True``). Nothing is downloaded: the
plug-in brings its own weights. :func:`available_detectors` lists the installed entry points.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

import numpy as np

from fusionlabel.assist.detection import Detection, FrameInput
from fusionlabel.assist.fit import resolve_class
from fusionlabel.box import Box3D
from fusionlabel.errors import FusionLabelError
from fusionlabel.ontology import Ontology

ENTRY_POINT_GROUP = "fusionlabel.detectors"


class DetectorError(FusionLabelError, ValueError):
    """A detector that cannot be loaded, or that returned something malformed (names which)."""


def available_detectors() -> dict[str, str]:
    """Installed detector entry points: name -> ``module:attribute``."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _resolve(spec: str) -> tuple[Any, str]:
    if ":" in spec:
        module, _, attr = spec.partition(":")
        try:
            obj: Any = importlib.import_module(module)
        except ImportError as e:
            raise DetectorError(f"detector {spec!r}: cannot import module {module!r} ({e})") from None
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise DetectorError(f"detector {spec!r}: module {module!r} has no attribute {attr!r}")
            obj = getattr(obj, part)
        return obj, spec
    eps = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == spec]
    if not eps:
        known = ", ".join(sorted(available_detectors())) or "none installed"
        raise DetectorError(f"detector {spec!r}: not 'module:callable' and no entry point of that name in group "
                            f"{ENTRY_POINT_GROUP!r} (known: {known})")
    try:
        return eps[0].load(), f"{spec} ({eps[0].value})"
    except Exception as e:  # the plug-in's own import error
        raise DetectorError(f"detector {spec!r}: loading entry point {eps[0].value!r} failed: {e}") from None


def load_detector(spec: str, ontology: Ontology | None = None) -> Callable[[FrameInput], list[Detection]]:
    """The detector named by ``spec`` (``module:callable`` or an entry point name), wrapped so that
    it returns checked world-frame :class:`Detection` s (source ``detector:<spec>``)."""
    obj, where = _resolve(spec)
    if inspect.isclass(obj) or getattr(obj, "fusionlabel_factory", False):
        try:
            obj = obj()
        except Exception as e:
            raise DetectorError(f"detector {where}: creating it failed: {e}") from None
    if not callable(obj):
        raise DetectorError(f"detector {where}: {type(obj).__name__} is not callable")
    return wrap_detector(obj, f"detector:{spec}", ontology)


def wrap_detector(fn: Callable[[FrameInput], Iterable[Any]], source: str = "detector",
                  ontology: Ontology | None = None) -> Callable[[FrameInput], list[Detection]]:
    """A detector callable whose output is converted by :func:`to_detections`."""
    onto = ontology or Ontology.default()

    def run(frame: FrameInput) -> list[Detection]:
        return to_detections(fn(frame), frame, onto, source)

    run.__name__ = getattr(fn, "__name__", "detector")
    return run


def to_detections(
    items: Iterable[Any], frame: FrameInput, ontology: Ontology, source: str = "detector"
) -> list[Detection]:
    """Check and convert a detector's output for ``frame`` into world-frame detections (see the
    module doc); raises :class:`DetectorError` naming the source, the frame and the entry."""
    if items is None:
        raise DetectorError(f"{source}: frame {frame.frame}: returned None (return an empty list for no objects)")
    out: list[Detection] = []
    for i, it in enumerate(items):
        where = f"{source}: frame {frame.frame}: detection {i}"
        if isinstance(it, Detection):
            out.append(it if it.source != "cluster" else Detection(it.box, it.label, it.score, it.n_points, source))
            continue
        if not isinstance(it, Mapping):
            raise DetectorError(f"{where}: expected a Detection or a mapping, got {type(it).__name__}")
        for key in ("box", "label", "score"):
            if key not in it:
                raise DetectorError(f"{where}: missing key {key!r}")
        try:
            arr = np.asarray(it["box"], dtype=np.float64).reshape(7)
        except (TypeError, ValueError):
            raise DetectorError(f"{where}: 'box' must be 7 numbers [x, y, z, l, w, h, yaw]") from None
        score = it["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float, np.floating)) or not (
                math.isfinite(float(score)) and 0.0 <= float(score) <= 1.0):
            raise DetectorError(f"{where}: 'score' must be a number in [0, 1], got {score!r}")
        try:
            box = Box3D.from_array(arr)
        except Exception as e:
            raise DetectorError(f"{where}: bad box: {e}") from None
        fr = it.get("frame", "sensor")
        if fr == "sensor":
            box = box.transformed(frame.T_world_from_sensor)
        elif fr != "world":
            raise DetectorError(f"{where}: 'frame' must be 'sensor' or 'world', got {fr!r}")
        spec = resolve_class(ontology, str(it["label"]))
        if spec is None:
            raise DetectorError(f"{where}: label {it['label']!r} is not a class of ontology {ontology.name!r} "
                                "(nor a KITTI / nuScenes name it maps)")
        out.append(Detection(box, spec.name, float(score), int(it.get("n_points", 0)), source))
    return out
