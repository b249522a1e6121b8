"""Imported once by the process executor's forkserver before it forks the workers (``PRELOAD`` of
``formats.batch.commands`` and ``formats.convert``): what every task would otherwise pay again
in each fresh worker (measured 0.27 s of CPU a task, about a fifth of a 20-frame KITTI
conversion): the JSON Schemas compiled, and the libraries the readers import lazily."""

from __future__ import annotations

import importlib

import formats.io  # noqa: F401  (adds formats/schemas to the schema folders)
from calib.schema import prepare

for _name in ("jsonschema", "fastjsonschema", "h5py", "sqlite3"):
    try:
        importlib.import_module(_name)
    except ImportError:  # optional in some environments: imported by the task if it needs it
        pass

SCHEMAS = prepare()
