"""Run one work function over many items: per-item status, progress, cancel, skip, executor.

This is the one batch loop of the application: ``predict`` (per plane), ``measure`` (per
plane) and ``evaluate`` (per labelled image) all go through :func:`run_batch`, in the GUI,
the CLI and on Dask.

* **Work** is a top-level (picklable) function ``work(task) -> result`` taking and returning
  plain dataclasses, so it runs unchanged in this thread or on another process/machine.
  It reports "this item cannot be done" by raising :class:`ItemFailed` (or any exception:
  the message becomes the item's one-line reason) and "nothing to do" by raising
  :class:`ItemSkipped`. One failing item never stops the others.
* **Skip** (``skip(task) -> reason | None``) runs on the calling side before an item is
  submitted; that is how a rerun skips finished items (same settings) and how an
  interrupted run resumes without redoing them.
* **Executor**: anything with ``concurrent.futures.Executor.submit`` semantics (a
  ``ProcessPoolExecutor``, Dask's ``Client.get_executor()``...). At most ``max_in_flight``
  items are submitted at once so cancel takes effect quickly and memory stays bounded.
  Default (``executor=None``): in-process, serial, in the calling thread -- then the cancel
  flag is also visible *inside* a running item through :func:`current_cancel`, so a long
  item (segmenting a large plane) stops between network tiles.
* **Status** of every item, in input order: ``done``, ``failed`` (with the reason),
  ``skipped`` (with the reason) or ``cancelled`` (not reached because the user cancelled).
* **Progress** ``progress(done, total, message)`` counts finished items (skipped ones
  included); messages name the item and the ETA, measured on items actually run.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from guv_app.services.progress import CancelCheck, Progress

log = logging.getLogger(__name__)

STATUSES = ("done", "failed", "skipped", "cancelled")
T = TypeVar("T")


class ItemFailed(Exception):
    """Raised by a work function: this item failed; ``str(exc)`` is the one-line reason."""


class ItemSkipped(Exception):
    """Raised by a work function: nothing to do for this item; ``str(exc)`` says why."""


class ItemCancelled(Exception):
    """Raised by a work function that saw :func:`current_cancel` set mid-item."""


@dataclass
class Outcome(Generic[T]):
    """What happened to one item: its task, status, reason, the work's result (done only)."""

    index: int
    task: T
    status: str
    reason: str = ""
    result: Any = None
    seconds: float = 0.0


@dataclass
class BatchReport(Generic[T]):
    """Every item's :class:`Outcome`, in input order; ``cancelled`` when the user stopped."""

    outcomes: list[Outcome[T]] = field(default_factory=list)
    cancelled: bool = False

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


class _Flag:
    """A cancel check with ``threading.Event``'s ``is_set`` (what the engine polls)."""

    def __init__(self, check: CancelCheck) -> None:
        self._check = check

    def is_set(self) -> bool:
        return bool(self._check())


_CURRENT_CANCEL: contextvars.ContextVar[_Flag | None] = contextvars.ContextVar(
    "batch_cancel", default=None)


def current_cancel() -> _Flag | None:
    """The running batch's cancel flag (``.is_set()``) inside an in-process work function;
    None on a remote worker or outside a batch (then an item runs to its end)."""
    return _CURRENT_CANCEL.get()


def as_cancel_check(cancel: threading.Event | CancelCheck | None) -> CancelCheck:
    """A ``threading.Event``, a :data:`CancelCheck` or None as a :data:`CancelCheck`."""
    if cancel is None:
        return lambda: False
    if hasattr(cancel, "is_set"):
        return cancel.is_set  # type: ignore[union-attr]
    return cancel  # type: ignore[return-value]


def format_eta(seconds: float | None) -> str:
    """``1:05`` style (``h:mm:ss`` past an hour); ``?`` before anything was measured."""
    if seconds is None or seconds != seconds:
        return "?"
    s = int(round(max(seconds, 0.0)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def one_line(exc: BaseException) -> str:
    """An exception as one readable line (its type when the message is empty)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ItemFailed | ItemSkipped | ItemCancelled):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _call(work: Callable[[T], Any], task: T) -> tuple[str, str, Any, float]:
    """Run one item; (status, reason, result, seconds). Never raises for the item's faults."""
    tic = time.perf_counter()
    try:
        result = work(task)
    except ItemSkipped as exc:
        return "skipped", one_line(exc), None, time.perf_counter() - tic
    except ItemCancelled:
        return "cancelled", "cancelled while it ran", None, time.perf_counter() - tic
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
        log.debug("item failed", exc_info=True)
        return "failed", one_line(exc), None, time.perf_counter() - tic
    return "done", "", result, time.perf_counter() - tic


def _call_many(work: Callable[[T], Any], tasks: list[T]) -> list[tuple[str, str, Any, float]]:
    """:func:`_call` for several items in one task (amortises a cluster's per-task cost)."""
    return [_call(work, task) for task in tasks]


#: Most items put into one executor task when the executor asks for grouping.
MAX_ITEMS_PER_TASK = 32


def items_per_task(executor: Any, n_items: int, window: int) -> int:
    """How many items go into one submitted task.

    An executor whose ``items_per_task`` attribute is ``"auto"`` (the Dask executor) gets
    items grouped so that about four tasks per in-flight slot remain (at most
    :data:`MAX_ITEMS_PER_TASK`): a small item (a 10 ms measurement) then no longer pays the
    scheduler's per-task cost on its own, while progress, cancel and the balance between
    workers stay fine-grained. An integer is used as given; anything else means 1.
    """
    wanted = getattr(executor, "items_per_task", 1)
    if wanted == "auto":
        return max(1, min(MAX_ITEMS_PER_TASK, n_items // (4 * max(window, 1))))
    return max(1, int(wanted)) if isinstance(wanted, int) else 1


def run_batch(
    tasks: Sequence[T],
    work: Callable[[T], Any],
    *,
    name: Callable[[T], str] = str,
    skip: Callable[[T], str | None] | None = None,
    executor: cf.Executor | None = None,
    max_in_flight: int = 8,
    progress: Progress | None = None,
    cancel: threading.Event | CancelCheck | None = None,
    on_outcome: Callable[[Outcome[T]], None] | None = None,
) -> BatchReport[T]:
    """Run ``work`` over ``tasks``; see the module docstring for the rules.

    ``name(task)`` labels an item in progress messages. ``on_outcome`` is called on the
    calling side for every item (cancelled ones included) as soon as its status is known (write an index row, update
    a file list); a failure there is logged, not raised. Returns a :class:`BatchReport`; never raises for an item's fault.
    """
    cancelled = as_cancel_check(cancel)
    total = len(tasks)
    outcomes: list[Outcome[T] | None] = [None] * total
    done = 0
    ran = 0
    start = time.perf_counter()

    def eta() -> str:
        if ran == 0:
            return "?"
        remaining = sum(o is None for o in outcomes)
        return format_eta((time.perf_counter() - start) / ran * remaining)

    def notify(outcome: Outcome[T]) -> None:
        nonlocal done
        outcomes[outcome.index] = outcome
        done += 1
        if on_outcome is not None:
            try:
                on_outcome(outcome)
            except Exception:  # noqa: BLE001 - a display/index hook must not end the batch
                log.exception("batch hook failed for %s", name(outcome.task))

    def finish(outcome: Outcome[T]) -> None:
        notify(outcome)
        if progress is not None:
            label = outcome.status if not outcome.reason else f"{outcome.status} ({outcome.reason})"
            progress(done, total, f"{name(outcome.task)}: {label} · ETA {eta()}")

    todo: list[int] = []
    for i, task in enumerate(tasks):
        reason = skip(task) if skip is not None else None
        if reason is None:
            todo.append(i)
        else:
            notify(Outcome(i, task, "skipped", reason))
    if progress is not None:
        progress(done, total, f"{done} skipped" if done else "starting")

    def record(i: int, status: str, reason: str, result: Any, seconds: float) -> None:
        nonlocal ran
        if status != "cancelled":
            ran += 1
        finish(Outcome(i, tasks[i], status, reason, result, seconds))

    if executor is None:
        flag = _Flag(cancelled)
        token = _CURRENT_CANCEL.set(flag)
        try:
            for i in todo:
                if cancelled():
                    break
                record(i, *_call(work, tasks[i]))
        finally:
            _CURRENT_CANCEL.reset(token)
    else:
        _run_on_executor(executor, work, tasks, todo, max(1, max_in_flight), cancelled, record)

    stopped = False
    for i, outcome in enumerate(outcomes):
        if outcome is None:
            stopped = True
            outcomes[i] = Outcome(i, tasks[i], "cancelled", "cancelled before it ran")
            if on_outcome is not None:  # so an index lists every item, reached or not
                try:
                    on_outcome(outcomes[i])  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 - see notify
                    log.exception("batch hook failed for %s", name(tasks[i]))
        elif outcome.status == "cancelled":
            stopped = True
    report = BatchReport([o for o in outcomes if o is not None], cancelled=stopped)
    if progress is not None:
        progress(total if not stopped else done, total, "cancelled" if stopped else
                 f"finished: {report.count('done')} done, {report.count('failed')} failed, "
                 f"{report.count('skipped')} skipped")
    return report


def _run_on_executor(executor, work, tasks, todo, window, cancelled, record) -> None:
    """Submit at most ``window`` tasks at a time; on cancel, drop what has not started.

    Items are grouped ``items_per_task(executor, ...)`` to a task. An executor with an
    ``item_retries`` attribute (the Dask executor: 1) gets each failed item resubmitted (on
    its own) that many times before the failure is reported (a file briefly unreadable on
    a network share, a worker lost mid-item).
    """
    retries = int(getattr(executor, "item_retries", 0))
    group = items_per_task(executor, len(todo), window)
    attempts: dict[int, int] = {}
    pending: list[list[int]] = [todo[k:k + group] for k in range(0, len(todo), group)][::-1]
    running: dict[cf.Future, tuple[list[int], float]] = {}
    while pending or running:
        while pending and len(running) < window and not cancelled():
            items = pending.pop()
            future = executor.submit(_call_many, work, [tasks[i] for i in items])
            running[future] = (items, time.perf_counter())
        if not running:
            break
        finished, _ = cf.wait(list(running), timeout=0.2, return_when=cf.FIRST_COMPLETED)
        for future in finished:
            items, tic = running.pop(future)
            try:
                results = future.result()
            except cf.CancelledError:
                continue  # cancelled below: reported as such at the end
            except Exception as exc:  # noqa: BLE001 - a lost worker fails only its items
                lost = ("failed", one_line(exc), None, time.perf_counter() - tic)
                results = [lost] * len(items)
            for i, (status, reason, result, seconds) in zip(items, results, strict=True):
                if status == "failed" and attempts.get(i, 0) < retries and not cancelled():
                    attempts[i] = attempts.get(i, 0) + 1
                    log.info("retrying %s after: %s", i, reason)
                    pending.append([i])
                    continue
                record(i, status, reason, result, seconds)
        if cancelled():  # items still running are reported cancelled; their results dropped
            for future in running:
                future.cancel()
            running.clear()
            pending.clear()
