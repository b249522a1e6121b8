"""Batch work over many inputs: one executor interface (inline, local processes, Ray) and a
resumable task manifest (Parquet). Knows nothing of formats: a task is a picklable module-level
function and its payload; ``formats.batch`` builds the tasks of the batch commands."""

from fusionlabel.batch.executor import (
    EXECUTORS,
    Executor,
    InlineExecutor,
    ProcessExecutor,
    RayExecutor,
    Task,
    TaskOutcome,
    make_executor,
)
from fusionlabel.batch.manifest import Manifest, ManifestRow, fingerprint, summarize

__all__ = ["EXECUTORS", "Executor", "InlineExecutor", "Manifest", "ManifestRow", "ProcessExecutor", "RayExecutor",
           "Task", "TaskOutcome", "fingerprint", "make_executor", "summarize"]
