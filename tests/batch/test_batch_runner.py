"""The one batch runner: statuses, skip, cancel, progress, executors (threads, processes)."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from guv_app.services.batch import (
    ItemFailed,
    ItemSkipped,
    current_cancel,
    format_eta,
    run_batch,
)


@dataclass
class Job:
    value: float


@dataclass
class Root:
    value: float
    root: float


def square_root(job: Job) -> Root:
    """Top-level work: fails for negatives, skips zero, raises a plain error for NaN."""
    if job.value != job.value:
        raise ArithmeticError("not a number")
    if job.value < 0:
        raise ItemFailed(f"{job.value} is negative")
    if job.value == 0:
        raise ItemSkipped("nothing to do for zero")
    return Root(job.value, math.sqrt(job.value))


def test_serial_run_gives_one_status_per_item_in_input_order():
    jobs = [Job(4.0), Job(-1.0), Job(0.0), Job(float("nan")), Job(9.0)]
    seen, progress = [], []
    report = run_batch(jobs, square_root, name=lambda j: f"job {j.value}",
                       on_outcome=lambda o: seen.append(o.index),
                       progress=lambda d, t, m: progress.append((d, t, m)))
    assert [o.status for o in report.outcomes] == ["done", "failed", "skipped", "failed", "done"]
    assert report.outcomes[0].result == Root(4.0, 2.0)
    assert report.outcomes[4].result.root == 3.0
    assert report.outcomes[1].reason == "-1.0 is negative"
    assert report.outcomes[2].reason == "nothing to do for zero"
    assert report.outcomes[3].reason == "ArithmeticError: not a number"
    assert sorted(seen) == [0, 1, 2, 3, 4] and not report.cancelled
    assert [d for d, _, _ in progress] == sorted(d for d, _, _ in progress)
    assert progress[-1] == (5, 5, "finished: 2 done, 2 failed, 1 skipped")
    assert any("job 9.0: done" in m and "ETA" in m for _, _, m in progress)


def test_skip_hook_runs_before_work_and_work_is_not_called():
    called = []

    def work(job: Job) -> Root:
        called.append(job.value)
        return square_root(job)

    report = run_batch([Job(1.0), Job(4.0)], work,
                       skip=lambda j: "done before" if j.value == 1.0 else None)
    assert called == [4.0]
    assert [(o.status, o.reason) for o in report.outcomes] == [("skipped", "done before"),
                                                              ("done", "")]


def test_cancel_between_items_marks_the_rest_cancelled():
    cancel = threading.Event()
    report = run_batch([Job(1.0), Job(4.0), Job(9.0)], square_root, cancel=cancel,
                       on_outcome=lambda o: cancel.set())
    assert [o.status for o in report.outcomes] == ["done", "cancelled", "cancelled"]
    assert report.cancelled


def test_running_item_sees_the_cancel_flag_in_process():
    cancel = threading.Event()
    flags = []

    def work(job: Job) -> float:
        flag = current_cancel()
        flags.append(flag is not None and flag.is_set())
        cancel.set()
        return job.value

    run_batch([Job(1.0), Job(2.0)], work, cancel=cancel)
    assert flags == [False]  # second item never started
    assert current_cancel() is None  # outside a batch


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_executor_gives_the_same_statuses_as_serial(pool):
    jobs = [Job(float(v)) for v in (16, -2, 0, 25, 36, 49)]
    serial = run_batch(jobs, square_root)
    executor = ThreadPoolExecutor(2) if pool == "threads" else ProcessPoolExecutor(2)
    with executor:
        remote = run_batch(jobs, square_root, executor=executor, max_in_flight=2)
    assert [(o.status, o.reason, o.result) for o in remote.outcomes] == \
        [(o.status, o.reason, o.result) for o in serial.outcomes]


def test_cancel_with_an_executor_stops_submitting():
    cancel = threading.Event()
    submitted = []

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted.append(args)
            return super().submit(fn, *args, **kwargs)

    with CountingPool(1) as pool:
        report = run_batch([Job(float(v)) for v in range(1, 11)], square_root,
                           executor=pool, max_in_flight=1, cancel=cancel,
                           on_outcome=lambda o: cancel.set())
    assert report.outcomes[0].status == "done"
    assert {o.status for o in report.outcomes[1:]} == {"cancelled"}
    assert len(submitted) == 1 and report.cancelled


def test_format_eta():
    assert format_eta(None) == "?" and format_eta(65) == "1:05" and format_eta(3725) == "1:02:05"
