"""Exceptions of formats/: every one names the file and what is wrong with it."""

from __future__ import annotations

import os
from pathlib import Path

from fusionlabel.errors import FusionLabelError


class FormatError(FusionLabelError, ValueError):
    """A file could not be read or written as its format requires. ``path`` names the file."""

    def __init__(self, path: str | os.PathLike[str] | None, message: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = message
        self.message = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class PointCloudError(FormatError):
    """A point-cloud file is truncated, malformed, or its header disagrees with its data."""
