"""Exceptions of the dataset loaders. Each names the offending file (``.path``) and, where there is
one, the line; all derive from :class:`formats.errors.FormatError` (constructed ``(path, message)``).
"""

from __future__ import annotations

import os

from formats.errors import FormatError


class DatasetError(FormatError):
    """A dataset folder is missing a file, or a file of it is malformed."""


class UnknownFormatError(DatasetError):
    """No known layout matches a path (or an unknown format name was asked for)."""


class TimestampError(DatasetError):
    """A timestamp is malformed, or timestamps are out of order; ``line`` is the 1-based line (or
    None when the timestamps came from file names)."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(path, f"line {line}: {message}" if line is not None else message)


class ImageSizeError(DatasetError):
    """An image's size differs from the calibration's camera model."""

    def __init__(
        self, path: str | os.PathLike[str], expected: tuple[int, int], actual: tuple[int, int], camera: str
    ) -> None:
        self.expected = expected
        self.actual = actual
        self.camera = camera
        super().__init__(
            path,
            f"image is {actual[0]}x{actual[1]} px but the calibration of camera {camera!r} says "
            f"{expected[0]}x{expected[1]}",
        )
