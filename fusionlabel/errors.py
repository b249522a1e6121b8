"""Exceptions of the core."""

from __future__ import annotations

from calib.errors import FusionLabelError

__all__ = ["FusionLabelError", "ModelError"]


class ModelError(FusionLabelError, ValueError):
    """An annotation-model invariant would be broken (unknown track, duplicate id, bad box)."""
