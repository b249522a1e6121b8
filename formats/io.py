"""Atomic file writes for formats/ (the implementation lives in :mod:`calib.fileio`)."""

from calib.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text, fsync_dir

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_text", "fsync_dir"]
