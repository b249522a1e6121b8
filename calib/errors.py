"""Exceptions raised by calib/: each names the offending file or key where one exists.

The root of the project's one error family, :class:`FusionLabelError`, is defined here (the
lowest layer) so that calibration errors belong to it; ``fusionlabel.errors`` re-exports it.
"""

from __future__ import annotations


class FusionLabelError(Exception):
    """Base class of the project's own errors (bad input, broken invariants): anything else that
    escapes a reader is a bug."""


class TransformError(FusionLabelError, ValueError):
    """A 4x4 rigid transform (or rotation) failed a boundary check."""


class CalibrationError(FusionLabelError, ValueError):
    """A calibration file or record is missing, malformed or implausible.

    ``path`` and ``key`` name what was wrong when known; they are part of the message too.
    """

    def __init__(self, message: str, path: str | None = None, key: str | None = None) -> None:
        parts = []
        if path is not None:
            parts.append(str(path))
        if key is not None:
            parts.append(f"key {key!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.detail = message
        self.path = path
        self.key = key


class UnknownSensorError(FusionLabelError, KeyError):
    """A sensor name that the rig does not know; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
