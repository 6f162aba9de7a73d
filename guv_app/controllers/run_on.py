"""The "Run on" choice of the Ctrl+T dialog and the Analyzer, turned into a cluster config."""

from __future__ import annotations


def scheduler_from_values(values: dict):
    """The Dask scheduler chosen under "Run on" (a ``ClusterConfig``), or None for this
    computer; ``ValueError`` (one line) for a missing or malformed address."""
    if values.get("run_on", "local") != "scheduler":
        return None
    from guv_app.services.distributed.config import ClusterConfig

    address = str(values.get("scheduler_address") or "").strip()
    if not address:
        raise ValueError("enter the Dask scheduler's address, e.g. tcp://127.0.0.1:8786")
    return ClusterConfig(kind="scheduler", address=address, connect_timeout_s=10)
