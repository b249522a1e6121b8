"""Exceptions of formats/: every one names the offending file and what is wrong with it."""

from __future__ import annotations

import os

from fusionlabel.errors import FusionLabelError


class FormatError(FusionLabelError, ValueError):
    """A file is missing, unreadable or malformed. ``path`` is the file; ``message`` the problem.

    ``str(err)`` is ``"<path>: <message>"``."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")
