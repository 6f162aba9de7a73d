"""Where a run executes: in-process, a local Dask cluster, an existing scheduler, or a batch queue.

Plain dataclasses (no dask import here), filled by the CLI flags (``--workers``,
``--scheduler``, ``--cluster``/``--cluster-config``) or the GUI's "Run on" choice, and turned
into a live ``distributed.Client`` by :mod:`guv_app.services.distributed.cluster`.

The batch-queue YAML file (``--cluster-config``) holds one mapping; keys are the fields of
:class:`JobQueueConfig` (``queue``, ``account``, ``cores``, ``processes``, ``memory``,
``gpus``, ``walltime``, ``job_extra``, ``job_script_prologue``, ``interface``,
``local_directory``, ``min_jobs``, ``max_jobs``, ``tls``), for example::

    queue: gpu
    cores: 8
    memory: 32GB
    gpus: 1
    walltime: "02:00:00"
    job_extra: ["--constraint=a100"]
    job_script_prologue: ["source ~/venvs/multicellpose/bin/activate"]
    max_jobs: 20
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

JOBQUEUE_KINDS = ("slurm", "pbs", "sge", "lsf")
KINDS = ("inprocess", "local", "scheduler", *JOBQUEUE_KINDS)


class ClusterConfigError(ValueError):
    """A cluster setting that cannot work (bad address, unknown key, missing certificate)."""


@dataclass
class TLSFiles:
    """Certificates for a ``tls://`` scheduler (Dask ``Security``): PEM file paths."""

    ca_file: str
    cert: str
    key: str | None = None  # None: the key is inside ``cert``

    def check(self) -> None:
        for what, path in (("CA", self.ca_file), ("certificate", self.cert), ("key", self.key)):
            if path is not None and not Path(path).expanduser().is_file():
                raise ClusterConfigError(f"{path}: TLS {what} file not found")


@dataclass
class JobQueueConfig:
    """One batch job = one Dask worker job (dask-jobqueue); scaled adaptively to the work.

    ``memory`` and ``walltime`` use the queue's notation (``16GB``, ``HH:MM:SS``); ``gpus``
    asks the queue for GPUs per job and advertises them to Dask as the ``GPU`` resource.
    """

    queue: str | None = None
    account: str | None = None
    cores: int = 4
    processes: int = 1
    memory: str = "16GB"
    gpus: int = 0
    walltime: str = "01:00:00"
    job_extra: list[str] = field(default_factory=list)
    job_script_prologue: list[str] = field(default_factory=list)
    interface: str | None = None
    local_directory: str | None = None
    min_jobs: int = 0
    max_jobs: int = 10
    # scheduler <-> workers over tls:// with temporary certificates; None (default): when
    # the 'cryptography' package is installed, else plain tcp:// with a warning
    tls: bool | None = None

    def __post_init__(self) -> None:
        for name in ("cores", "processes", "max_jobs"):
            if int(getattr(self, name)) < 1:
                raise ClusterConfigError(f"cluster config: {name} must be at least 1")
        if self.gpus < 0 or self.min_jobs < 0 or self.min_jobs > self.max_jobs:
            raise ClusterConfigError("cluster config: need gpus >= 0 and 0 <= min_jobs <= "
                                     "max_jobs")
        if isinstance(self.job_extra, str) or isinstance(self.job_script_prologue, str):
            raise ClusterConfigError("cluster config: job_extra and job_script_prologue "
                                     "are lists of strings")

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "cluster config") -> JobQueueConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ClusterConfigError(f"{source}: unknown key(s) {', '.join(unknown)} "
                                     f"(known: {', '.join(sorted(known))})")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ClusterConfigError(f"{source}: {exc}") from None


@dataclass
class ClusterConfig:
    """Where to run: ``inprocess`` (default), ``local`` (``workers`` processes on this
    computer), ``scheduler`` (``address`` of a running ``dask scheduler``) or a batch queue
    (``slurm``/``pbs``/``sge``/``lsf`` with ``jobqueue``)."""

    kind: str = "inprocess"
    workers: int = 0
    address: str = ""
    tls: TLSFiles | None = None
    jobqueue: JobQueueConfig | None = None
    threads_per_worker: int = 1
    connect_timeout_s: float = 30.0  # how long to keep trying an unreachable scheduler
    shared_fs: bool | None = None  # workers see our output folders; None: only when local
    gpus_per_worker: int = 0  # local workers advertise this many of the Dask resource GPU

    @property
    def workers_write(self) -> bool:
        """Workers write output files themselves (else they send results back to us)."""
        return self.shared_fs if self.shared_fs is not None else self.kind in (
            "inprocess", "local")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ClusterConfigError(f"unknown cluster kind {self.kind!r} "
                                     f"(use {', '.join(KINDS)})")
        if self.kind == "local" and self.workers < 1:
            raise ClusterConfigError("a local cluster needs at least 1 worker")
        if self.kind == "scheduler":
            check_address(self.address)  # tls:// without ``tls``: Dask's configured TLS
        if self.kind in JOBQUEUE_KINDS and self.jobqueue is None:
            self.jobqueue = JobQueueConfig()

    @property
    def distributed(self) -> bool:
        """True when the work leaves this process."""
        return self.kind != "inprocess"

    def describe(self) -> str:
        """A short phrase for logs and the GUI ("2 local workers", "tcp://...")."""
        if self.kind == "local":
            return f"{self.workers} local worker process(es)"
        if self.kind == "scheduler":
            return f"Dask scheduler {self.address}"
        if self.kind in JOBQUEUE_KINDS:
            return f"{self.kind} jobs (up to {self.jobqueue.max_jobs})"
        return "this process"


def check_address(address: str) -> str:
    """``tcp://host:port`` or ``tls://host:port``; a one-line error otherwise."""
    scheme, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if not sep or scheme not in ("tcp", "tls") or not colon or not host or not port.isdigit():
        raise ClusterConfigError(f"scheduler address {address!r}: expected tcp://HOST:PORT or "
                                 "tls://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    return address


def load_jobqueue_config(path: str | os.PathLike) -> JobQueueConfig:
    """Read a batch-queue YAML file (see the module docstring); one-line errors."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClusterConfigError(f"{path}: cannot read cluster config ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ClusterConfigError(f"{path}: not valid YAML ({exc})".splitlines()[0]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ClusterConfigError(f"{path}: expected a mapping of settings, got "
                                 f"{type(data).__name__}")
    return JobQueueConfig.from_mapping(data, str(path))
