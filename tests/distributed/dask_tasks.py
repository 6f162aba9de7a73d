"""Task functions for the distributed tests (importable by worker processes: the conftest
puts this folder on their PYTHONPATH)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def flaky_once(marker: str, value: int) -> int:
    """Raises the first time (creating ``marker``), succeeds on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        raise OSError(f"{marker}: transient failure")
    return value * 10


def always_fails(value: int) -> int:
    raise ValueError(f"item {value} is broken")


def kill_worker_once(marker: str, value: int) -> tuple[int, int]:
    """Kills its own worker process the first time (as an out-of-memory kill would)."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(0.2)
        os._exit(137)
    return value, os.getpid()


def slow_square(value: int, seconds: float = 0.3) -> int:
    time.sleep(seconds)
    return value * value


def worker_pid() -> int:
    return os.getpid()


def flaky_item(task: tuple[str, int]) -> int:
    """A batch work function (one task argument) that fails on its first attempt only."""
    return flaky_once(*task)


def failing_item(task: tuple[str, int]) -> int:
    """Fails on every attempt, logging each attempt as a line in the file ``task[0]``."""
    with open(task[0], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    raise ValueError(f"item {task[1]} is broken")


def killing_item(task: tuple[str, int]) -> tuple[int, int]:
    """Kills its worker on the first attempt (as the OOM killer would), then succeeds."""
    return kill_worker_once(*task)


def worker_settings(dask_worker) -> dict:
    """What a worker process runs with: malloc trimming, profiler, BLAS threads (for
    ``client.run``, which passes the worker as ``dask_worker``)."""
    import dask

    return {"MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "profile": dask.config.get("distributed.worker.profile.enabled"),
            "callbacks": sorted(dask_worker.periodic_callbacks)}
