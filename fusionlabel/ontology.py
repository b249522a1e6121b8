"""The label ontology: classes, their colours, size priors, attributes and dataset mappings.

An :class:`Ontology` is loaded from a JSON (or, when PyYAML is installed, YAML) file::

    {
     "format": "fusionlabel-ontology", "version": 1, "name": "default",
     "classes": [
      {"name": "car",                          # the label stored on tracks (unique)
       "display_name": "Car",                  # optional, default: name
       "color": [255, 140, 0],                 # RGB 0-255
       "size": {"mean": [4.6, 1.9, 1.7],       # typical (length, width, height), metres
                "min":  [3.2, 1.5, 1.3],       # plausible range (QA flags boxes outside it)
                "max":  [5.8, 2.2, 2.3],
                "datasets": {"kitti": {"mean": [3.89, 1.62, 1.53]}}},  # optional, see below
       "attributes": [{"name": "state", "values": ["moving", "stopped", "parked"],
                       "required": true, "default": "moving"}],   # default optional
       "kitti": "Car",                         # KITTI type, or null when KITTI has none
       "nuscenes": "vehicle.car",              # nuScenes category, or null
       "nuscenes_detection": "car",            # nuScenes detection class, or null
       "description": "..."}                   # optional
     ]
    }

**Per-dataset size priors.** Datasets label the same class with different typical sizes (KITTI's
cars average 3.9 m long, nuScenes' 4.6 m), and the one-click box and pre-labels complete partly seen
objects from the class's mean. ``size.datasets`` maps a dataset key to a prior for data of that
dataset: ``mean``, optionally ``min`` / ``max`` (missing ones are the class's own). The key names a
source format family: ``kitti`` applies to the formats ``kitti`` and ``kitti-*`` (``kitti-object``,
``kitti-flat``, ``kitti-tracking``, ``kitti-raw``), ``nuscenes`` to ``nuscenes``.
:meth:`Ontology.for_dataset` (called with ``SequenceInfo.format`` when a sequence is opened) gives the
ontology with those priors in place of the class's own; it writes the original file back unchanged.

Mappings to datasets are many-to-one: several classes may map to one KITTI type (``van`` and
``car`` are distinct in KITTI, but ``child`` and ``pedestrian`` both become ``Pedestrian``). The
reverse lookups (:meth:`Ontology.from_kitti`, :meth:`Ontology.from_nuscenes`) prefer the class
named like the foreign name (``Misc`` -> ``misc``, ``vehicle.bicycle`` -> ``bicycle``), else the
first class in file order with that mapping. Every problem raises :class:`OntologyError` naming the
file and the key (``classes[3].size.min``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from calib.fileio import parse_json_bytes
from fusionlabel.errors import FusionLabelError

ONTOLOGY_FORMAT = "fusionlabel-ontology"
ONTOLOGY_VERSION = 1
DEFAULT_ONTOLOGY_RESOURCE = "default_ontology.json"
#: Colour (RGB) of a label that the ontology does not know.
UNKNOWN_COLOR = (160, 160, 160)
#: Size (l, w, h) metres used for a label that the ontology does not know.
UNKNOWN_SIZE = (1.0, 1.0, 1.0)
#: The value of a motion-state attribute that one box cannot tell (see ``Ontology.default_attributes``).
MOVING_VALUE = "moving"
#: Values of a motion-state attribute that say the object stands still for the whole track ("hold
#: still": auto-tracking keeps its box in one place), in the order a still track is given one.
STILL_VALUES = ("parked", "standing", "stopped", "sitting_lying_down")


def motion_state_attribute(spec: ClassSpec | None) -> AttributeSpec | None:
    """The class's motion-state attribute (the one with the value ``"moving"``), or None."""
    if spec is None:
        return None
    return next((a for a in spec.attributes if MOVING_VALUE in a.values), None)


def still_value(spec: ClassSpec | None) -> str | None:
    """The motion-state value a still track of the class gets (``parked`` for vehicles,
    ``standing`` for people, ``stopped`` for riders), None when the class has no such value."""
    a = motion_state_attribute(spec)
    return None if a is None else next((v for v in STILL_VALUES if v in a.values), None)


def holds_still(attributes: Mapping[str, str]) -> bool:
    """Whether a track's attributes say it stands still for the whole track (a motion state in
    ``STILL_VALUES``)."""
    return any(v in STILL_VALUES for v in attributes.values())


class OntologyError(FusionLabelError, ValueError):
    """A malformed ontology: ``path`` (file or None) and ``key`` (dotted key path) say where."""

    def __init__(self, path: str | os.PathLike[str] | None, key: str, message: str) -> None:
        self.path = None if path is None else Path(path)
        self.key = key
        self.reason = message
        where = f"{path}: " if path is not None else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """An attribute of a class: allowed string ``values``, ``required`` or not, optional
    ``default`` (one of the values) set on new boxes."""

    name: str
    values: tuple[str, ...]
    required: bool = False
    default: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "values": list(self.values), "required": self.required}
        if self.default is not None:
            d["default"] = self.default
        if self.description:
            d["description"] = self.description
        return d


@dataclass(frozen=True, slots=True)
class SizePrior:
    """Typical size ``mean`` (l, w, h) and plausible range ``min`` .. ``max``, metres."""

    mean: tuple[float, float, float]
    min: tuple[float, float, float]
    max: tuple[float, float, float]
    #: (dataset key, prior) pairs: the prior for data of that dataset (see the module doc)
    datasets: tuple[tuple[str, SizePrior], ...] = ()

    def for_dataset(self, source_format: str | None) -> SizePrior:
        """The prior for data in ``source_format`` (e.g. ``"kitti-object"``): the entry of
        ``datasets`` keyed by the format itself, else by its family (:func:`dataset_key`), else
        this prior. The result keeps the ``datasets`` table."""
        if source_format is None or not self.datasets:
            return self
        table = dict(self.datasets)
        prior = table.get(source_format.strip().lower()) or table.get(dataset_key(source_format) or "")
        return self if prior is None else SizePrior(prior.mean, prior.min, prior.max, self.datasets)

    def contains(self, size: Iterable[float], slack: float = 0.0) -> bool:
        """True when every side of ``size`` (l, w, h) is within [min, max] widened by ``slack``
        (a fraction: 0.1 widens each bound by 10%)."""
        s = tuple(float(v) for v in size)
        return all(lo * (1 - slack) <= v <= hi * (1 + slack) for v, lo, hi in zip(s, self.min, self.max, strict=True))

    def clamp(self, size: Iterable[float]) -> tuple[float, float, float]:
        """``size`` (l, w, h) clamped into [min, max]."""
        s = [min(max(float(v), lo), hi) for v, lo, hi in zip(size, self.min, self.max, strict=True)]
        return (s[0], s[1], s[2])

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mean": list(self.mean), "min": list(self.min), "max": list(self.max)}
        if self.datasets:
            d["datasets"] = {k: {"mean": list(p.mean), "min": list(p.min), "max": list(p.max)}
                             for k, p in self.datasets}
        return d


def dataset_key(source_format: str | None) -> str | None:
    """The dataset family of a source format name (``SequenceInfo.format``): the part before the
    first ``-``, lower case (``"kitti-tracking"`` -> ``"kitti"``, ``"nuscenes"`` -> ``"nuscenes"``);
    None for None."""
    if source_format is None:
        return None
    return source_format.strip().lower().split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class ClassSpec:
    """One class: ``name`` (the track label), ``color`` RGB 0-255, ``size`` prior, attributes,
    mappings to KITTI / nuScenes names (None when the dataset has no such class)."""

    name: str
    color: tuple[int, int, int]
    size: SizePrior
    attributes: tuple[AttributeSpec, ...] = ()
    kitti: str | None = None
    nuscenes: str | None = None
    nuscenes_detection: str | None = None
    display_name: str = ""
    description: str = ""

    @property
    def title(self) -> str:
        return self.display_name or self.name

    def attribute(self, name: str) -> AttributeSpec | None:
        return next((a for a in self.attributes if a.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.display_name:
            d["display_name"] = self.display_name
        d.update(
            color=list(self.color),
            size=self.size.to_dict(),
            attributes=[a.to_dict() for a in self.attributes],
            kitti=self.kitti,
            nuscenes=self.nuscenes,
            nuscenes_detection=self.nuscenes_detection,
        )
        if self.description:
            d["description"] = self.description
        return d


@dataclass(frozen=True)
class Ontology:
    """An ordered set of classes (see the module doc). Look classes up with ``onto[name]`` /
    :meth:`get`; ``name in onto``; iterate for the classes in file order."""

    name: str
    classes: tuple[ClassSpec, ...]
    source: Path | None = None
    #: the source format whose per-dataset size priors are in place (see :meth:`for_dataset`)
    dataset: str | None = None
    #: the ontology as read (without per-dataset priors in place); None when this is it
    base: Ontology | None = field(default=None, repr=False, compare=False)
    _by_name: dict[str, ClassSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, ClassSpec] = {}
        for i, c in enumerate(self.classes):
            if c.name in by_name:
                raise OntologyError(self.source, f"classes[{i}].name", f"duplicate class {c.name!r}")
            by_name[c.name] = c
        object.__setattr__(self, "_by_name", by_name)

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Ontology:
        """The shipped ontology (``fusionlabel/data/default_ontology.json``): the synthetic
        scene's car/pedestrian/cyclist, the KITTI classes and the nuScenes categories."""
        global _DEFAULT
        if _DEFAULT is None:
            ref = resources.files("fusionlabel").joinpath("data", DEFAULT_ONTOLOGY_RESOURCE)
            text = ref.read_text(encoding="utf-8")
            _DEFAULT = cls.from_dict(_parse_json(text, str(ref)), source=str(ref))
        return _DEFAULT

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Ontology:
        """Read an ontology file: ``.json``, or ``.yaml`` / ``.yml`` (needs PyYAML)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OntologyError(path, "", "file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise OntologyError(path, "", f"cannot read: {e}") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml  # optional dependency
            except ImportError:
                raise OntologyError(
                    path, "", "YAML ontologies need PyYAML (pip install pyyaml); or save it as .json"
                ) from None
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise OntologyError(path, "", f"invalid YAML: {e}") from None
        else:
            data = _parse_json(text, path)
        return cls.from_dict(data, source=path)

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike[str] | None = None) -> Ontology:
        """Validate and build from plain data (see the module doc); errors name ``source``."""
        src = None if source is None else Path(source)
        top = _mapping(data, src, "top level")
        _known(top, {"format", "version", "name", "classes", "description"}, src, "")
        fmt = top.get("format", ONTOLOGY_FORMAT)
        if fmt != ONTOLOGY_FORMAT:
            raise OntologyError(src, "format", f"expected {ONTOLOGY_FORMAT!r}, got {fmt!r}")
        version = top.get("version", ONTOLOGY_VERSION)
        if version != ONTOLOGY_VERSION:
            raise OntologyError(src, "version", f"unsupported version {version!r} (known: {ONTOLOGY_VERSION})")
        name = _string(top.get("name", "unnamed"), src, "name")
        items = top.get("classes")
        if not isinstance(items, list) or not items:
            raise OntologyError(src, "classes", "expected a non-empty list of classes")
        classes = tuple(_class_from_dict(c, src, f"classes[{i}]") for i, c in enumerate(items))
        return cls(name, classes, src)

    def for_dataset(self, source_format: str | None) -> Ontology:
        """This ontology with each class's size prior for data in ``source_format`` (the opened
        sequence's ``SequenceInfo.format``, e.g. ``"kitti-object"``; see the module doc) in place
        of its own; itself when no class has one (or for None). :meth:`to_dict` of the result
        writes the ontology as read."""
        base = self.base or self
        if source_format is None:
            return base
        sizes = [c.size.for_dataset(source_format) for c in base.classes]
        if all(s is c.size for s, c in zip(sizes, base.classes, strict=True)):
            return base
        classes = tuple(c if s is c.size else replace(c, size=s) for s, c in zip(sizes, base.classes, strict=True))
        return Ontology(base.name, classes, base.source, source_format, base)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back (the ontology as read: per-dataset priors
        stay in their ``size.datasets`` tables)."""
        if self.base is not None:
            return self.base.to_dict()
        return {
            "format": ONTOLOGY_FORMAT,
            "version": ONTOLOGY_VERSION,
            "name": self.name,
            "classes": [c.to_dict() for c in self.classes],
        }

    # ---- lookups --------------------------------------------------------------------------------
    def __contains__(self, label: object) -> bool:
        return label in self._by_name

    def __getitem__(self, label: str) -> ClassSpec:
        try:
            return self._by_name[label]
        except KeyError:
            raise KeyError(f"class {label!r} is not in ontology {self.name!r}") from None

    def __iter__(self) -> Iterator[ClassSpec]:
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)

    def get(self, label: str) -> ClassSpec | None:
        return self._by_name.get(label)

    def class_names(self) -> list[str]:
        """Class names in file order."""
        return [c.name for c in self.classes]

    def color(self, label: str) -> tuple[int, int, int]:
        """RGB 0-255 colour of a label (``UNKNOWN_COLOR`` for an unknown one)."""
        c = self._by_name.get(label)
        return UNKNOWN_COLOR if c is None else c.color

    def size_prior(self, label: str) -> SizePrior | None:
        c = self._by_name.get(label)
        return None if c is None else c.size

    def default_size(self, label: str) -> tuple[float, float, float]:
        """Typical (l, w, h) metres of a label (``UNKNOWN_SIZE`` for an unknown one)."""
        c = self._by_name.get(label)
        return UNKNOWN_SIZE if c is None else c.size.mean

    def default_attributes(self, label: str, moving: bool | None = None) -> dict[str, str]:
        """The attribute values a new box of ``label`` starts with: the declared defaults, except
        a motion state (an attribute with the value ``"moving"``, e.g. ``state``), which one box
        cannot tell: it is ``"moving"`` only when ``moving`` is True (the object was seen moving,
        e.g. by the one-click fit over the neighbouring sweeps) and left unset otherwise, so that a
        parked car does not start as moving."""
        c = self._by_name.get(label)
        if c is None:
            return {}
        out = {}
        for a in c.attributes:
            if MOVING_VALUE in a.values:
                if moving:
                    out[a.name] = MOVING_VALUE
            elif a.default is not None:
                out[a.name] = a.default
        return out

    def check_attributes(self, label: str, attributes: Mapping[str, str]) -> list[str]:
        """Problems of a track's attributes (empty when valid): unknown class, a missing required
        attribute, a value not allowed, an attribute the class does not declare."""
        c = self._by_name.get(label)
        if c is None:
            return [f"unknown class {label!r}"]
        problems = []
        for a in c.attributes:
            v = attributes.get(a.name)
            if v is None:
                if a.required:
                    problems.append(f"missing required attribute {a.name!r}")
            elif v not in a.values:
                problems.append(f"attribute {a.name!r}: {v!r} is not one of {list(a.values)}")
        for k in attributes:
            if c.attribute(k) is None:
                problems.append(f"attribute {k!r} is not declared for class {label!r}")
        return problems

    def to_kitti(self, label: str) -> str | None:
        c = self._by_name.get(label)
        return None if c is None else c.kitti

    def to_nuscenes(self, label: str) -> str | None:
        c = self._by_name.get(label)
        return None if c is None else c.nuscenes

    def to_nuscenes_detection(self, label: str) -> str | None:
        c = self._by_name.get(label)
        return None if c is None else c.nuscenes_detection

    def from_kitti(self, kitti_type: str) -> ClassSpec | None:
        """The class for a KITTI type (see :func:`_reverse` for the choice among several), or None."""
        return _reverse([c for c in self.classes if c.kitti == kitti_type], kitti_type)

    def from_nuscenes(self, category: str) -> ClassSpec | None:
        """The class for a nuScenes category (see :func:`_reverse`), or None."""
        return _reverse([c for c in self.classes if c.nuscenes == category], category)


def _reverse(candidates: list[ClassSpec], foreign: str) -> ClassSpec | None:
    """Among the classes mapping to one foreign name: the one named like it (case-insensitive,
    whole name or its last dotted part: ``Misc`` -> ``misc``, ``vehicle.car`` -> ``car``), else
    the first in file order."""
    keys = {foreign.lower(), foreign.rsplit(".", 1)[-1].lower()}
    return next((c for c in candidates if c.name.lower() in keys), candidates[0] if candidates else None)


_DEFAULT: Ontology | None = None


# ---- validation helpers --------------------------------------------------------------------------
def _parse_json(text: str, path: str | os.PathLike[str]) -> Any:
    return parse_json_bytes(text, path, lambda src, msg: OntologyError(src, "", msg))


def _mapping(v: Any, src: Path | None, key: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise OntologyError(src, key, f"expected an object, got {type(v).__name__}")
    return v


def _known(d: Mapping[str, Any], allowed: set[str], src: Path | None, where: str) -> None:
    unknown = sorted(str(k) for k in d if k not in allowed)
    if unknown:
        key = f"{where}.{unknown[0]}" if where else unknown[0]
        raise OntologyError(src, key, f"unknown key (allowed: {sorted(allowed)})")


def _string(v: Any, src: Path | None, key: str, optional: bool = False) -> Any:
    if v is None and optional:
        return None
    if not isinstance(v, str) or not v.strip():
        raise OntologyError(src, key, f"expected a non-empty string, got {v!r}")
    return v


def _triple(v: Any, src: Path | None, key: str) -> tuple[float, float, float]:
    if (
        not isinstance(v, list | tuple)
        or len(v) != 3
        or not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0 for x in v)
    ):
        raise OntologyError(src, key, f"expected 3 positive numbers (l, w, h) in metres, got {v!r}")
    return (float(v[0]), float(v[1]), float(v[2]))


def _ordered(lo: tuple[float, float, float], mean: tuple[float, float, float], hi: tuple[float, float, float],
             src: Path | None, key: str) -> None:
    if not all(a <= m <= b for a, m, b in zip(lo, mean, hi, strict=True)):
        raise OntologyError(src, key, f"needs min <= mean <= max per side, got {lo} {mean} {hi}")


def _class_from_dict(v: Any, src: Path | None, where: str) -> ClassSpec:
    d = _mapping(v, src, where)
    _known(
        d,
        {"name", "display_name", "color", "size", "attributes", "kitti", "nuscenes", "nuscenes_detection",
         "description"},
        src,
        where,
    )
    if "name" not in d:
        raise OntologyError(src, f"{where}.name", "missing")
    name = _string(d["name"], src, f"{where}.name")
    color = d.get("color")
    if (
        not isinstance(color, list | tuple)
        or len(color) != 3
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 255 for x in color)
    ):
        raise OntologyError(src, f"{where}.color", f"expected 3 integers 0-255 (RGB), got {color!r}")
    size_d = _mapping(d.get("size"), src, f"{where}.size")
    _known(size_d, {"mean", "min", "max", "datasets"}, src, f"{where}.size")
    mean, lo, hi = (_triple(size_d.get(k), src, f"{where}.size.{k}") for k in ("mean", "min", "max"))
    _ordered(lo, mean, hi, src, f"{where}.size")
    per_dataset = []
    ds = _mapping(size_d.get("datasets", {}), src, f"{where}.size.datasets")
    for key, v in ds.items():
        at = f"{where}.size.datasets.{key}"
        if not isinstance(key, str) or not key.strip() or key != key.strip().lower():
            raise OntologyError(src, at, "a dataset key is a lower-case format family name such as 'kitti'")
        e = _mapping(v, src, at)
        _known(e, {"mean", "min", "max"}, src, at)
        if "mean" not in e:
            raise OntologyError(src, f"{at}.mean", "missing")
        m2 = _triple(e["mean"], src, f"{at}.mean")
        lo2 = _triple(e["min"], src, f"{at}.min") if "min" in e else lo
        hi2 = _triple(e["max"], src, f"{at}.max") if "max" in e else hi
        _ordered(lo2, m2, hi2, src, at)
        per_dataset.append((key, SizePrior(m2, lo2, hi2)))
    attrs_v = d.get("attributes", [])
    if not isinstance(attrs_v, list):
        raise OntologyError(src, f"{where}.attributes", "expected a list")
    attrs = []
    for j, a in enumerate(attrs_v):
        attrs.append(_attribute_from_dict(a, src, f"{where}.attributes[{j}]"))
    names = [a.name for a in attrs]
    if len(set(names)) != len(names):
        raise OntologyError(src, f"{where}.attributes", f"duplicate attribute names in {names}")
    return ClassSpec(
        name=name,
        color=(int(color[0]), int(color[1]), int(color[2])),
        size=SizePrior(mean, lo, hi, tuple(per_dataset)),
        attributes=tuple(attrs),
        kitti=_string(d.get("kitti"), src, f"{where}.kitti", optional=True),
        nuscenes=_string(d.get("nuscenes"), src, f"{where}.nuscenes", optional=True),
        nuscenes_detection=_string(d.get("nuscenes_detection"), src, f"{where}.nuscenes_detection", optional=True),
        display_name=_string(d.get("display_name"), src, f"{where}.display_name", optional=True) or "",
        description=_description(d, src, where),
    )


def _description(d: Mapping[str, Any], src: Path | None, where: str) -> str:
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise OntologyError(src, f"{where}.description", f"expected a string, got {desc!r}")
    return desc


def _attribute_from_dict(v: Any, src: Path | None, where: str) -> AttributeSpec:
    d = _mapping(v, src, where)
    _known(d, {"name", "values", "required", "default", "description"}, src, where)
    if "name" not in d:
        raise OntologyError(src, f"{where}.name", "missing")
    name = _string(d["name"], src, f"{where}.name")
    values = d.get("values")
    if not isinstance(values, list) or not values or not all(isinstance(x, str) and x for x in values):
        raise OntologyError(src, f"{where}.values", f"expected a non-empty list of strings, got {values!r}")
    if len(set(values)) != len(values):
        raise OntologyError(src, f"{where}.values", f"duplicate values in {values}")
    required = d.get("required", False)
    if not isinstance(required, bool):
        raise OntologyError(src, f"{where}.required", f"expected true or false, got {required!r}")
    default = d.get("default")
    if default is not None and default not in values:
        raise OntologyError(src, f"{where}.default", f"{default!r} is not one of {values}")
    return AttributeSpec(name, tuple(values), required, default, _description(d, src, where))
