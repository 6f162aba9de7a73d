"""The nanny of our local worker processes: workers get Dask's pre-spawn environment, the
process that started the cluster keeps its own.

``distributed``'s ``Nanny`` writes ``distributed.nanny.pre-spawn-environ``
(``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``, ...),
``PYTHONHASHSEED`` and ``__DASK_PARENT_PID`` into ``os.environ`` of the process running the
nanny before it spawns each worker, and leaves them there (documented in its docstring:
"even if this means poisoning the process running the Nanny"). A ``LocalCluster`` runs its
nannies in *our* process — the GUI or the CLI — so after the first cluster every training
run, export or other subprocess the app starts later ran with one BLAS/OpenMP thread.

:class:`LocalNanny` undoes exactly those writes once the worker process exists (it has
inherited them: as soon as it has a pid), on every start: the first one, each restart
and each replacement of a worker that died. While a worker process is being spawned (a few
ms) the variables are set in this process, as they must be for the child to inherit them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from distributed import Nanny

log = logging.getLogger(__name__)

# Set by distributed.proctitle.enable_proctitle_on_children when a worker process starts.
PARENT_PID_VARIABLE = "__DASK_PARENT_PID"
# how often a starting nanny looks whether its worker process exists yet (s)
SPAWN_POLL_S = 0.005


class _EnvironmentKeeper:
    """Remembers the values (or absence) of some ``os.environ`` variables while one or more
    worker spawns are under way, and puts them back when the last one has finished.

    Nannies of one cluster start concurrently on its event loop (and a program may run two
    clusters), so the first spawn to begin records the original values and the last one to
    end restores them; a spawn that starts while another is under way would otherwise
    record the values already overwritten and "restore" those.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved: dict[str, str | None] = {}

    def enter(self, names: set[str]) -> None:
        with self._lock:
            self._active += 1
            for name in names:
                self._saved.setdefault(name, os.environ.get(name))

    def exit(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active:
                return
            for name, value in self._saved.items():
                if value is None:
                    os.environ.pop(name, None)
                elif os.environ.get(name) != value:
                    os.environ[name] = value
            self._saved.clear()


_KEEPER = _EnvironmentKeeper()


def _spawned_process(nanny: Nanny) -> object | None:
    """The nanny's worker process (``distributed.process.AsyncProcess``) once it has a pid,
    i.e. once the child exists and has inherited the environment; else None."""
    worker_process = getattr(nanny, "process", None)
    process = getattr(worker_process, "process", None)
    return process if getattr(process, "pid", None) is not None else None


class LocalNanny(Nanny):
    """A ``distributed.Nanny`` that leaves the environment of the process running it as it
    found it (see the module docstring); the workers get the same environment as under a
    plain ``Nanny``."""

    async def instantiate(self):  # noqa: ANN201 - distributed's Status
        # pre_spawn_env holds the variables WorkerProcess.start writes (PYTHONHASHSEED
        # included); the proctitle variable is written by the same call.
        _KEEPER.enter({*self.pre_spawn_env, PARENT_PID_VARIABLE})
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                _KEEPER.exit()

        previous = _spawned_process(self)

        async def release_once_spawned() -> None:
            # the worker registers with the scheduler before instantiate() returns: put the
            # variables back as soon as the child exists, not a second later
            while _spawned_process(self) in (None, previous):
                await asyncio.sleep(SPAWN_POLL_S)
            release()

        watcher = asyncio.ensure_future(release_once_spawned())
        try:
            return await super().instantiate()
        finally:
            watcher.cancel()
            release()
