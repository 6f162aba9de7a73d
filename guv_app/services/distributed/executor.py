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
"""

from __future__ import annotations

import logging
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

    @property
    def client(self):
        return self._client

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """As ``concurrent.futures``: ``cancel_futures`` drops every task not yet finished."""
        if cancel_futures:
            self._client.cancel(list(self._futures))
        super().shutdown(wait=wait and not cancel_futures)


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
