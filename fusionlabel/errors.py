"""Exceptions of the core."""

from __future__ import annotations


class FusionLabelError(Exception):
    """Base class of the project's own errors."""


class ModelError(FusionLabelError, ValueError):
    """An annotation-model invariant would be broken (unknown track, duplicate id, bad box)."""
