"""One executor interface for batch work, three backends.

A :class:`Task` is a key, a picklable module-level function and its payload; an executor runs
each task's ``fn(payload)`` and reports a :class:`TaskOutcome` per task (its value, or the error
that ended it) through ``on_done`` as soon as the task ends, in completion order. A task that
raises, or whose worker dies (killed, ``os._exit``, out of memory), fails alone: the others run
to their end.

Backends (``make_executor(name, jobs, address)``):

- ``inline``: in the calling process, one task after the other (debugging; a task that kills
  its process kills the caller).
- ``processes`` (default): one fresh worker process per task, at most ``jobs`` at a time,
  forked from a ``forkserver`` that has imported the project once (``preload``), so that a
  start costs milliseconds; a worker that dies fails its task only.
- ``ray``: Ray tasks (``num_cpus=1`` each, no retries). With ``address`` (``HOST:PORT``) it
  joins that cluster, whose workers must import the project; without, it starts a local runtime
  of ``jobs`` CPUs bound to 127.0.0.1 (no dashboard, no usage reporting) and stops it on
  :meth:`close`. A runtime already started in this process (``ray.init``) is used as it is.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

#: Backend names, the default first.
EXECUTORS = ("processes", "inline", "ray")


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(payload)`` run by a worker; ``key`` names it in outcomes."""

    key: str
    fn: Callable[[Any], Any]
    payload: Any


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended: ``ok`` with ``value`` (what ``fn`` returned), else ``error`` (one line
    or a short traceback); ``started`` (Unix time, s) and ``seconds`` (wall time of the task)."""

    key: str
    ok: bool
    value: Any = None
    error: str = ""
    started: float = 0.0
    seconds: float = 0.0
    #: CPU time of the task's process while it ran (s; every thread of a worker process)
    cpu_seconds: float = 0.0
    #: the exception itself where the task ran in this process (``inline``; None from workers)
    exception: BaseException | None = field(default=None, compare=False, repr=False)


OnDone = Callable[[TaskOutcome], None]


class Executor(Protocol):
    """Runs tasks; ``on_done`` is called in the calling process as each task ends."""

    name: str
    jobs: int

    def run(self, tasks: Sequence[Task], on_done: OnDone | None = None) -> dict[str, TaskOutcome]: ...

    def close(self) -> None: ...


def _error_text(e: BaseException) -> str:
    """``Type: message`` plus the last frames of the traceback (short enough for a table cell)."""
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    tail = "".join(tb[-3:]).strip()
    return f"{type(e).__name__}: {e}\n{tail}"[:4000]


def _call(task: Task) -> TaskOutcome:
    started = time.time()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        value = task.fn(task.payload)
    except Exception as e:  # a task's failure is its own: reported, the batch goes on
        return TaskOutcome(task.key, False, error=_error_text(e), started=started, seconds=time.perf_counter() - t0,
                           cpu_seconds=time.process_time() - c0, exception=e)
    return TaskOutcome(task.key, True, value=value, started=started, seconds=time.perf_counter() - t0,
                       cpu_seconds=time.process_time() - c0)


def _single_threaded_libraries() -> None:
    """One OpenCV thread per worker: the workers are the parallelism."""
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        pass


# ---- inline ------------------------------------------------------------------------------------------
class InlineExecutor:
    """Every task in the calling process, in order."""

    name = "inline"

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = 1

    def run(self, tasks: Sequence[Task], on_done: OnDone | None = None) -> dict[str, TaskOutcome]:
        out = {}
        for t in tasks:
            out[t.key] = res = _call(t)
            if on_done is not None:
                on_done(res)
        return out

    def close(self) -> None:
        pass


# ---- local processes ---------------------------------------------------------------------------------
def _child(conn: Any, task: Task) -> None:
    """Worker process body: run the task, send its outcome, exit."""
    _single_threaded_libraries()
    res = replace(_call(task), exception=None)  # the text travels, not the object
    try:
        conn.send(res)
    except Exception as e:  # an unpicklable value: say so instead of dying silently
        conn.send(TaskOutcome(task.key, False, error=f"cannot send the result: {e}", started=res.started,
                              seconds=res.seconds, cpu_seconds=res.cpu_seconds))
    conn.close()


def _signal_text(code: int | None) -> str:
    if code is not None and code < 0:
        import signal

        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class ProcessExecutor:
    """One fresh process per task (``forkserver``, else ``spawn``), at most ``jobs`` at a time.
    ``preload``: modules the forkserver imports once. A script using it must guard its entry
    point with ``if __name__ == "__main__":`` (as with any multiprocessing)."""

    name = "processes"

    def __init__(self, jobs: int = 2, preload: Sequence[str] = ()) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        methods = multiprocessing.get_all_start_methods()
        if "forkserver" in methods:
            self._ctx = multiprocessing.get_context("forkserver")
            if preload:
                self._ctx.set_forkserver_preload(list(preload))
        else:  # pragma: no cover - platforms without fork
            self._ctx = multiprocessing.get_context("spawn")

    def run(self, tasks: Sequence[Task], on_done: OnDone | None = None) -> dict[str, TaskOutcome]:
        pending = deque(tasks)
        running: dict[str, tuple[Any, Any, float, list[TaskOutcome]]] = {}  # key -> (proc, conn, start, got)
        out: dict[str, TaskOutcome] = {}

        def finish(key: str, res: TaskOutcome) -> None:
            out[key] = res
            if on_done is not None:
                on_done(res)

        while pending or running:
            while pending and len(running) < self.jobs:
                t = pending.popleft()
                recv, send = self._ctx.Pipe(duplex=False)
                proc = self._ctx.Process(target=_child, args=(send, t), name=f"batch-{t.key}", daemon=True)
                start = time.time()
                try:
                    proc.start()
                except Exception as e:  # cannot start (e.g. the payload does not pickle)
                    recv.close()
                    send.close()
                    finish(t.key, TaskOutcome(t.key, False, error=f"cannot start a worker: {_error_text(e)}",
                                              started=start))
                    continue
                send.close()  # the child holds the only writer: EOF when it dies
                running[t.key] = (proc, recv, start, [])
            waitables = [x for proc, conn, _, got in running.values() for x in ((proc.sentinel,) if got else
                                                                                 (conn, proc.sentinel))]
            ready = set(multiprocessing.connection.wait(waitables, timeout=1.0))
            for key in list(running):
                proc, conn, start, got = running[key]
                if not got and (conn in ready or proc.sentinel in ready):
                    try:
                        if conn.poll():
                            got.append(conn.recv())
                    except (EOFError, OSError):
                        pass
                if proc.sentinel in ready or (got and not proc.is_alive()):
                    proc.join()
                    conn.close()
                    del running[key]
                    if got:
                        finish(key, got[0])
                    else:
                        finish(key, TaskOutcome(key, False, started=start, seconds=time.time() - start,
                                                error=f"the worker died ({_signal_text(proc.exitcode)})"))
        return out

    def close(self) -> None:
        pass


# ---- Ray ---------------------------------------------------------------------------------------------
def _ray_call(task: Task) -> TaskOutcome:
    """Ray task body (a module-level function, so that workers import it by name)."""
    _single_threaded_libraries()
    return replace(_call(task), exception=None)


def _project_root() -> Path:
    import fusionlabel

    return Path(fusionlabel.__file__).resolve().parents[1]


def start_local_ray(num_cpus: int) -> None:
    """Start a local Ray runtime of ``num_cpus`` CPUs in this process, bound to 127.0.0.1 only
    (Ray's single-machine mode, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, set before Ray is
    imported), without dashboard or usage reporting; its workers import the project from this
    checkout (``PYTHONPATH``)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reporting home
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every server on 127.0.0.1
    root = str(_project_root())
    path = os.environ.get("PYTHONPATH", "")
    if root not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, path) if p)
    import ray
    from ray._private import ray_constants

    # Ray imported before the variable was set read it already: the same switch for this process
    # (its servers and workers are new processes and read the variable)
    ray_constants.ENABLE_RAY_CLUSTER = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] != "0"
    ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False)


class RayExecutor:
    """Ray tasks of one CPU each, no retries (a crashed worker fails its task)."""

    name = "ray"

    def __init__(self, jobs: int = 2, address: str | None = None) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if not address:  # before Ray is imported: it reads this once
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        self.jobs = jobs
        self.address = address
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                start_local_ray(jobs)
            self._started = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)

    def run(self, tasks: Sequence[Task], on_done: OnDone | None = None) -> dict[str, TaskOutcome]:
        import ray

        refs = {}
        starts = {}
        for t in tasks:
            starts[t.key] = time.time()
            refs[self._remote.remote(t)] = t.key
        out: dict[str, TaskOutcome] = {}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in ready:
                key = refs[ref]
                try:
                    res = ray.get(ref)
                except ray.exceptions.WorkerCrashedError as e:
                    res = TaskOutcome(key, False, error=f"the worker died ({type(e).__name__})",
                                      started=starts[key], seconds=time.time() - starts[key])
                except Exception as e:  # the task could not run (lost node, unpicklable payload, ...)
                    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    res = TaskOutcome(key, False, error=f"{type(e).__name__}: {first}", started=starts[key],
                                      seconds=time.time() - starts[key])
                out[key] = res
                if on_done is not None:
                    on_done(res)
        return out

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def make_executor(name: str, jobs: int | None = None, address: str | None = None,
                  preload: Sequence[str] = ()) -> Executor:
    """The backend ``name`` (:data:`EXECUTORS`) with ``jobs`` workers (default: the CPU count);
    ``address`` only for Ray."""
    n = jobs if jobs is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"--jobs must be at least 1, got {n}")
    if address and name != "ray":
        raise ValueError("--address is for the ray executor")
    if name == "inline":
        return InlineExecutor()
    if name == "processes":
        return ProcessExecutor(n, preload)
    if name == "ray":
        return RayExecutor(n, address)
    raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
