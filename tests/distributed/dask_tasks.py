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
