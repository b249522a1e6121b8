"""The job runner headless (no Qt): progress, results, failures and cancel reach the consumer only
when it processes the deliveries, on its own thread; dropped jobs deliver nothing."""

from __future__ import annotations

import threading

import pytest

from gui.model.jobs import Job, JobCancelled, JobRunner


def finish(runner: JobRunner, job: Job) -> None:
    assert job.wait(30.0)
    runner.process()


def test_result_and_progress_arrive_on_the_consumer_thread() -> None:
    r = JobRunner()
    seen: list[tuple[str, object, str]] = []
    events: list[str] = []
    r.events.started.connect(lambda j: events.append(f"started {j.name}"))
    r.events.finished.connect(lambda j: events.append(f"finished {j.state}"))

    def work(job: Job) -> int:
        for k in range(3):
            job.report(k + 1, 3, f"step {k + 1}")
        return 42

    def progress(job: Job, done: int, total: int, text: str) -> None:
        seen.append(("progress", (done, total), threading.current_thread().name))

    def finished(job: Job) -> None:
        seen.append(("finished", job.result, threading.current_thread().name))

    job = r.submit("count", work, progress=progress, finished=finished)
    assert job.wait(30.0) and seen == []  # nothing delivered before the consumer processes
    assert job.running and r.jobs("count") == [job]
    assert r.process() == 4
    me = threading.current_thread().name
    assert seen == [("progress", (1, 3), me), ("progress", (2, 3), me), ("progress", (3, 3), me),
                    ("finished", 42, me)]
    assert job.state == "done" and job.result == 42 and job.error is None and job.seconds >= 0
    assert events == ["started count", "finished done"] and r.jobs() == []


def test_a_failure_is_reported_not_raised() -> None:
    r = JobRunner()
    got: list[Job] = []

    def work(job: Job) -> None:
        raise OSError("disk gone")

    job = r.submit("broken", work, finished=got.append)
    finish(r, job)
    assert got == [job] and job.state == "failed" and job.error == "OSError: disk gone"


def test_cancel_stops_the_work_at_its_next_check() -> None:
    r = JobRunner()
    started, steps = threading.Event(), []

    def work(job: Job) -> None:
        started.set()
        while True:
            steps.append(1)
            job.check()
            if not job.report(len(steps)):
                raise AssertionError("report said stop but check did not")
            threading.Event().wait(0.001)

    job = r.submit("endless", work)
    assert started.wait(30.0)
    job.cancel()
    finish(r, job)
    assert job.state == "cancelled" and job.error == "cancelled" and job.cancelled


def test_a_workers_own_cancel_exception_counts_as_cancel() -> None:
    class ExportCancelled(Exception):
        pass

    r = JobRunner()
    go = threading.Event()

    def work(job: Job) -> None:
        go.wait(30.0)
        if job.cancelled:
            raise ExportCancelled()

    job = r.submit("export", work)
    job.cancel()
    go.set()
    finish(r, job)
    assert job.state == "cancelled"


def test_dropped_jobs_deliver_nothing_and_shutdown_waits() -> None:
    r = JobRunner()
    got: list[str] = []
    release = threading.Event()

    def work(job: Job) -> str:
        release.wait(30.0)
        job.report(1, 1)
        return "late"

    job = r.submit("slow", work, progress=lambda *a: got.append("progress"), finished=lambda j: got.append("done"))
    job.cancel(drop=True)
    release.set()
    r.shutdown(30.0)
    r.process()
    assert got == [] and not job._thread.is_alive()  # type: ignore[union-attr]


def test_delivery_to_a_vanished_consumer_is_dropped_quietly() -> None:
    def gone(_call: object) -> None:
        raise RuntimeError("wrapped C/C++ object has been deleted")

    r = JobRunner(deliver=gone)
    job = r.submit("orphan", lambda j: j.report(1, 2) and 1)
    assert job.wait(30.0)  # no exception escaped the worker thread


def test_jobcancelled_is_an_exception() -> None:
    with pytest.raises(JobCancelled):
        Job(1, "x", _cancel=_set()).check()


def _set() -> threading.Event:
    e = threading.Event()
    e.set()
    return e
