"""The batch commands (``fusionlabel batch CMD SRC OUT``): many sequences through one executor
(:mod:`fusionlabel.batch`), with a resumable manifest. See :mod:`formats.batch.commands`."""

from formats.batch.commands import BATCH_COMMANDS, BatchResult, BatchSpec, discover, plan_tasks, run_batch

__all__ = ["BATCH_COMMANDS", "BatchResult", "BatchSpec", "discover", "plan_tasks", "run_batch"]
