"""A ``concurrent.futures.Executor`` over a Dask ``Client``: what the batch runner submits to.

Per-item functions (one plane, one image) are top-level and take plain, picklable data —
file paths and the model *name* — never a loaded network: each worker process loads the
model itself on first use and keeps it in ``load_model``'s per-process cache, so weights
reach a worker once, from its own disk, and never travel through the scheduler.

Failure semantics (Dask's, configured here): a task that raises is retried once
(``retries=1``); a task whose worker dies is rescheduled once on another worker
(``allowed_failures=1`` on clusters we start) and then fails with ``KilledWorker``; either
way only that item's future fails. Cancelling a future that has not started removes it from
the scheduler; ``shutdown(cancel_futures=True)`` does that for everything still queued.

Every ``concurrent.futures.Future`` handed out ends (result, exception or cancelled): Dask's
own ``ClientExecutor`` relays outcomes with a coroutine that died, leaving its future pending
for ever, when a task was cancelled after it finished but before its result reached the
client (``Client._gather`` raises ``FutureCancelledError`` even with ``raiseit=False``); a
batch cancelled at that moment then hung whoever waited on it. Ours relays every outcome,
and ``shutdown`` (cancelling) settles each unfinished future itself, at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distributed.cfexecutor import ClientExecutor

from guv_app.services.distributed.cluster import open_client
from guv_app.services.distributed.config import ClusterConfig

log = logging.getLogger(__name__)

TASK_RETRIES = 1


class DaskExecutor(ClientExecutor):
    """``Client.get_executor`` with our defaults: ``retries=1``, ``pure=False`` (two
    identical calls are two tasks: a rerun after a fix is not answered from memory).

    ``item_retries`` tells the batch runner to resubmit an item whose work reported a
    failure (the runner's work wrapper turns exceptions into a "failed" status, so Dask's
    own ``retries`` only sees errors outside it, e.g. a task that cannot be unpickled).
    """

    def __init__(self, client, *, retries: int = TASK_RETRIES,
                 resources: dict[str, float] | None = None) -> None:
        kwargs: dict[str, Any] = {"retries": retries, "pure": False}
        if resources:
            kwargs["resources"] = resources
        super().__init__(client, **kwargs)
        self.item_retries = retries
        # small items (a 10 ms measurement) are grouped into tasks: see batch.items_per_task
        self.items_per_task = "auto"
        self._handed_out: weakref.WeakSet[cf.Future] = weakref.WeakSet()
        self._notified: weakref.WeakSet[cf.Future] = weakref.WeakSet()  # waiters woken
        self._notify_lock = threading.Lock()

    @property
    def client(self):
        return self._client

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As ``concurrent.futures``: ``cancel_futures`` drops every task not yet finished
        and returns with every future done (finished or cancelled). ``wait=False`` alone
        cancels too (Dask's ``ClientExecutor``: its tasks cannot outlive the executor)."""
        if wait and not cancel_futures:
            super().shutdown(wait=True)
            return
        self._shutdown = True
        try:
            self._client.cancel(list(self._futures))
        except Exception as exc:  # noqa: BLE001 - a lost scheduler drops the tasks anyway
            log.warning("could not cancel the queued tasks: %s", exc)
        for cf_future in list(self._handed_out):  # nobody waits on these any more
            self._settle_cancelled(cf_future)

    def _wrap_future(self, future) -> cf.Future:
        """The ``concurrent.futures.Future`` for a Dask future (replaces Dask's, see module
        docstring); cancelling it cancels the task."""
        cf_future: cf.Future = cf.Future()

        def cancel_task(done: cf.Future) -> None:
            if done.cancelled() and future.status != "cancelled":
                future.cancel()

        cf_future.add_done_callback(cancel_task)
        self._handed_out.add(cf_future)
        self._client.loop.add_callback(self._relay, future, cf_future)
        return cf_future

    async def _relay(self, future, cf_future: cf.Future) -> None:
        """On the client's event loop: wait for the task, pass its outcome to ``cf_future``."""
        try:
            value = await future._result(raiseit=False)
        except BaseException as exc:  # noqa: BLE001 - every outcome must reach cf_future
            # cancelled between "finished" and its result arriving, a lost connection...
            if future.status == "cancelled" or isinstance(exc, cf.CancelledError):
                self._settle_cancelled(cf_future)
            else:
                self._settle(cf_future, exc=exc)
            return
        if future.status == "cancelled":
            self._settle_cancelled(cf_future)
        elif future.status == "error":
            _, exc, tb = value
            self._settle(cf_future, exc=exc.with_traceback(tb))
        else:
            self._settle(cf_future, value=value)

    @staticmethod
    def _settle(cf_future: cf.Future, *, value: Any = None,
                exc: BaseException | None = None) -> None:
        try:
            if exc is not None:
                cf_future.set_exception(exc)
            else:
                cf_future.set_result(value)
        except cf.InvalidStateError:
            pass  # already cancelled by shutdown: that outcome stands

    def _settle_cancelled(self, cf_future: cf.Future) -> None:
        """Cancel ``cf_future`` unless it finished, and wake its waiters (``cf.wait``,
        ``as_completed``) exactly once, from whichever thread gets here first."""
        if not cf_future.cancel():
            return  # finished with a result or an exception
        with self._notify_lock:
            if cf_future in self._notified:
                return
            self._notified.add(cf_future)
        cf_future.set_running_or_notify_cancel()


def dask_executor(client, *, retries: int = TASK_RETRIES,
                  resources: dict[str, float] | None = None) -> DaskExecutor:
    """The executor the batch runner takes (``submit(fn, *args) -> concurrent.futures.Future``)."""
    return DaskExecutor(client, retries=retries, resources=resources)


@contextmanager
def open_executor(config: ClusterConfig | None) -> Iterator[DaskExecutor | None]:
    """Yield an executor for ``config`` (None = in-process, the runner's default); the
    cluster and connection are closed on exit, after queued work was cancelled."""
    with open_client(config or ClusterConfig()) as client:
        if client is None:
            yield None
            return
        executor = dask_executor(client)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False, cancel_futures=True)


def _worker_load_count() -> int:
    from guv_app.services.engine.loading import load_count

    return load_count()


def model_load_counts(client) -> dict[str, int]:
    """``{worker address: networks loaded by that worker process}``."""
    return dict(client.run(_worker_load_count))
