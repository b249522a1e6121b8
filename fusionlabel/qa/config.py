"""QA thresholds and severities: ``fusionlabel/data/qa_defaults.json``, tunable by an override file.

The layout (the shipped file is the reference)::

    {"format": "fusionlabel-qa-config", "version": 1,
     "default_frame_dt_s": 0.1,                      # frame spacing when there are no timestamps
     "checks": {"<check>": {"enabled": true, "severity": "error|warning|info", "<param>": ...}},
     "classes": {"*": {"max_speed_mps": 70, "max_accel_mps2": 15}, "car": {...}}}

An override file has the same layout with only the keys it changes (``format`` / ``version``
optional): ``{"checks": {"ground": {"tolerance_m": 0.5}}, "classes": {"car": {"max_speed_mps": 45}}}``.
Unknown checks or parameters, wrong types and bad severities raise :class:`QAConfigError` naming
the file and the dotted key. Size ranges come from the ontology's size priors, not from here.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fusionlabel.errors import FusionLabelError

QA_CONFIG_FORMAT = "fusionlabel-qa-config"
QA_CONFIG_VERSION = 1
SEVERITIES = ("error", "warning", "info")
#: Class limits every class has (``classes["*"]`` gives the fallback).
CLASS_KEYS = ("max_speed_mps", "max_accel_mps2")


class QAConfigError(FusionLabelError, ValueError):
    """A malformed QA configuration: ``path`` (or None) and the dotted ``key`` say where."""

    def __init__(self, path: str | os.PathLike[str] | None, key: str, message: str) -> None:
        self.path = None if path is None else Path(path)
        self.key = key
        where = f"{path}: " if path is not None else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")


_DEFAULTS: dict[str, Any] | None = None


def _defaults() -> dict[str, Any]:
    global _DEFAULTS
    if _DEFAULTS is None:
        ref = resources.files("fusionlabel").joinpath("data", "qa_defaults.json")
        _DEFAULTS = json.loads(ref.read_text(encoding="utf-8"))
    return copy.deepcopy(_DEFAULTS)


def _same_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, type(default))


def _merge(base: dict[str, Any], override: Any, path: Path | None) -> dict[str, Any]:
    if not isinstance(override, Mapping):
        raise QAConfigError(path, "", f"expected a JSON object, got {type(override).__name__}")
    unknown = set(override) - {"format", "version", "default_frame_dt_s", "checks", "classes"}
    if unknown:
        raise QAConfigError(path, sorted(unknown)[0], "unknown key")
    if "format" in override and override["format"] != QA_CONFIG_FORMAT:
        raise QAConfigError(path, "format", f"expected {QA_CONFIG_FORMAT!r}, got {override['format']!r}")
    if "version" in override and override["version"] != QA_CONFIG_VERSION:
        raise QAConfigError(path, "version", f"unsupported version {override['version']!r}")
    out = copy.deepcopy(base)
    if "default_frame_dt_s" in override:
        v = override["default_frame_dt_s"]
        if not _same_type(0.1, v) or v <= 0:
            raise QAConfigError(path, "default_frame_dt_s", f"expected a positive number, got {v!r}")
        out["default_frame_dt_s"] = float(v)
    checks = override.get("checks", {})
    if not isinstance(checks, Mapping):
        raise QAConfigError(path, "checks", "expected an object")
    for name, params in checks.items():
        if name not in out["checks"]:
            raise QAConfigError(path, f"checks.{name}", f"unknown check (known: {', '.join(sorted(out['checks']))})")
        if not isinstance(params, Mapping):
            raise QAConfigError(path, f"checks.{name}", "expected an object")
        for k, v in params.items():
            key = f"checks.{name}.{k}"
            if k not in out["checks"][name]:
                raise QAConfigError(path, key, "unknown parameter")
            if k == "severity" and v not in SEVERITIES:
                raise QAConfigError(path, key, f"expected one of {list(SEVERITIES)}, got {v!r}")
            if not _same_type(out["checks"][name][k], v):
                raise QAConfigError(path, key, f"wrong type {type(v).__name__} ({v!r})")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
                raise QAConfigError(path, key, f"must not be negative, got {v!r}")
            out["checks"][name][k] = v
    classes = override.get("classes", {})
    if not isinstance(classes, Mapping):
        raise QAConfigError(path, "classes", "expected an object")
    for label, limits in classes.items():
        if not isinstance(limits, Mapping):
            raise QAConfigError(path, f"classes.{label}", "expected an object")
        entry = out["classes"].setdefault(label, {})
        for k, v in limits.items():
            key = f"classes.{label}.{k}"
            if k not in CLASS_KEYS:
                raise QAConfigError(path, key, f"unknown limit (known: {', '.join(CLASS_KEYS)})")
            if not _same_type(1.0, v) or v <= 0:
                raise QAConfigError(path, key, f"expected a positive number, got {v!r}")
            entry[k] = float(v)
    return out


@dataclass(frozen=True)
class QAConfig:
    """Thresholds and severities of the QA checks (see the module doc). Build with
    :meth:`default`, :meth:`load` (defaults + an override file) or :meth:`from_dict`."""

    data: dict[str, Any]
    source: Path | None = None

    @classmethod
    def default(cls) -> QAConfig:
        return cls(_defaults())

    @classmethod
    def from_dict(cls, override: Mapping[str, Any], source: str | os.PathLike[str] | None = None) -> QAConfig:
        """Defaults with ``override`` (same layout, only the changed keys) applied."""
        path = None if source is None else Path(source)
        return cls(_merge(_defaults(), override, path), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> QAConfig:
        """Defaults with the JSON override file at ``path`` applied."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise QAConfigError(path, "", "file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise QAConfigError(path, "", f"cannot read: {e}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise QAConfigError(path, "", f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        return cls.from_dict(data, path)

    def check_names(self) -> list[str]:
        return list(self.data["checks"])

    def enabled(self, check: str) -> bool:
        return bool(self.data["checks"][check]["enabled"])

    def severity(self, check: str) -> str:
        return str(self.data["checks"][check]["severity"])

    def param(self, check: str, key: str) -> Any:
        return self.data["checks"][check][key]

    def class_limit(self, label: str, key: str) -> float:
        """A class's ``max_speed_mps`` or ``max_accel_mps2`` (the ``"*"`` entry when the class has none)."""
        entry = self.data["classes"].get(label, {})
        return float(entry.get(key, self.data["classes"]["*"][key]))

    @property
    def default_frame_dt_s(self) -> float:
        return float(self.data["default_frame_dt_s"])
