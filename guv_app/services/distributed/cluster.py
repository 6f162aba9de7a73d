"""Start or reach a Dask cluster for a :class:`ClusterConfig` and hand out a ``Client``.

* ``local``: a ``LocalCluster`` of N worker *processes* (one thread each, so N planes run
  truly in parallel and torch does not oversubscribe the cores), scheduler and workers bound
  to 127.0.0.1 with the dashboard off: nothing listens on a public interface.
* ``scheduler``: connect to a running ``dask scheduler`` (``tcp://`` or ``tls://`` with the
  user's certificates through Dask ``Security``; or ``tcp://127.0.0.1:PORT`` at the local
  end of an SSH tunnel).
* ``slurm``/``pbs``/``sge``/``lsf``: a dask-jobqueue cluster (one worker per batch job) that
  scales adaptively between ``min_jobs`` and ``max_jobs`` to the work queued.

No home-made server: everything here is ``distributed``/``dask_jobqueue`` configuration.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from guv_app.services.distributed.config import (
    JOBQUEUE_KINDS,
    ClusterConfig,
    ClusterConfigError,
    JobQueueConfig,
    TLSFiles,
)

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
GPU_RESOURCE = "GPU"
# How each queue asks for GPUs per job (a user with another site convention adds job_extra).
GPU_DIRECTIVES = {
    "slurm": "--gres=gpu:{n}",
    "pbs": "-l ngpus={n}",
    "sge": "-l gpu={n}",
    "lsf": '-gpu "num={n}"',
}
# A task whose worker died is tried once more, then reported (KilledWorker) for that item.
ALLOWED_FAILURES = 1


def worker_env(threads: int = 1) -> dict[str, str]:
    """Environment of local worker processes: our code importable, one BLAS/torch pool each."""
    env = {name: str(threads) for name in
           ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    for name in ("PYTHONPATH", "MULTICELLPOSE_HOME", "CELLPOSE_LOCAL_MODELS_PATH"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


#: Dask settings of the clusters we start on this computer (see :func:`local_cluster`).
LOCAL_CLUSTER_CONFIG = {
    # Dask exports MALLOC_TRIM_THRESHOLD_=65536 to its workers to hand freed memory back to
    # the OS; that also switches off glibc's adaptive mmap threshold, so every array over
    # 128 KiB is mmapped, page-faulted in and unmapped again: measuring 256x256 planes took
    # 1.5x the CPU time of the same work in-process (measured: +0.8 s system time per 200
    # planes). Our tasks hold one plane at a time, so the heap stays small without it.
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # The statistical profiler samples every worker's stack every 10 ms (its dashboard
    # view, off here): CPU time taken from the work on a machine with few cores.
    "distributed.worker.profile.enabled": False,
    # Event-loop health ticks (20 ms) and the system monitor (500 ms, for the dashboard) of
    # the scheduler, the nannies and every worker: 3-4% of a core while idle on 2 cores.
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
}


def local_cluster(n_workers: int, threads_per_worker: int = 1, gpus_per_worker: int = 0):
    """A ``LocalCluster`` of ``n_workers`` processes on 127.0.0.1 (no dashboard); with
    ``gpus_per_worker`` each worker offers that many of the ``GPU`` resource. Workers run
    with :data:`LOCAL_CLUSTER_CONFIG` (the nannies take the configuration when they are made).
    The nannies are :class:`~.local_nanny.LocalNanny`: this process's ``os.environ`` stays as
    it was (Dask's nanny would leave ``OMP_NUM_THREADS=1`` etc. in it for good)."""
    import dask
    from distributed import LocalCluster

    from guv_app.services.distributed.local_nanny import LocalNanny

    extra = {"resources": {GPU_RESOURCE: gpus_per_worker}} if gpus_per_worker else {}

    # dashboard_address=None would still start the scheduler's HTTP server (health and
    # metrics routes) on port 8787 of *every* interface: bind it to loopback, dashboard off.
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        return LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
            host=LOOPBACK, dashboard_address=f"{LOOPBACK}:0", worker_dashboard_address=None,
            silence_logs=logging.ERROR, env=worker_env(threads_per_worker),
            worker_class=LocalNanny,
            scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES, "dashboard": False},
            **extra,
        )


def security_for(tls: TLSFiles):
    """Dask ``Security`` for a client that talks ``tls://`` with the user's certificates."""
    from distributed import Security

    tls.check()
    return Security(tls_ca_file=os.path.expanduser(tls.ca_file),
                    tls_client_cert=os.path.expanduser(tls.cert),
                    tls_client_key=os.path.expanduser(tls.key) if tls.key else None,
                    require_encryption=True)


def configured_security(address: str):
    """Dask ``Security`` from the user's Dask configuration (``distributed.comm.tls.*``), for a
    ``tls://`` address given without certificate files (the GUI's case)."""
    from distributed import Security

    security = Security()
    if not (security.tls_ca_file and security.tls_client_cert):
        raise ClusterConfigError(
            f"{address}: a tls:// scheduler needs certificates: --tls-ca-file and --tls-cert, "
            "or distributed.comm.tls (ca-file, client.cert, client.key) in your Dask config")
    return security


def jobqueue_kwargs(kind: str, jq: JobQueueConfig) -> dict[str, Any]:
    """Keyword arguments of the dask-jobqueue cluster class for ``kind`` (pure, testable)."""
    if kind not in JOBQUEUE_KINDS:
        raise ClusterConfigError(f"unknown batch system {kind!r} (use "
                                 f"{', '.join(JOBQUEUE_KINDS)})")
    directives = list(jq.job_extra)
    worker_args: list[str] = []
    if jq.gpus:
        directives.append(GPU_DIRECTIVES[kind].format(n=jq.gpus))
        worker_args += ["--resources", f"{GPU_RESOURCE}={jq.gpus}"]
    kwargs: dict[str, Any] = {
        "cores": jq.cores, "processes": jq.processes, "memory": jq.memory,
        "walltime": jq.walltime if kind != "lsf" else jq.walltime.rsplit(":", 1)[0],
        "queue": jq.queue, "job_extra_directives": directives,
        "worker_extra_args": worker_args, "job_script_prologue": list(jq.job_script_prologue),
        "name": "multicellpose",
        "scheduler_options": {"dashboard_address": None,
                              "allowed_failures": ALLOWED_FAILURES},
    }
    if jq.account:
        kwargs["account" if kind in ("slurm", "pbs") else "project"] = jq.account
    if jq.interface:
        kwargs["interface"] = jq.interface
    if jq.local_directory:
        kwargs["local_directory"] = jq.local_directory
    if jq.tls is not False:
        try:
            import cryptography  # noqa: F401 - Security.temporary needs it
        except ImportError:
            if jq.tls:
                raise ClusterConfigError("cluster config: tls: true needs the 'cryptography' "
                                         "package on this computer") from None
            log.warning("batch-queue workers talk plain tcp:// to the scheduler: install "
                        "'cryptography' for tls:// with temporary certificates")
            return kwargs
        from distributed import Security

        kwargs["security"] = Security.temporary()
        kwargs["protocol"] = "tls://"
    return kwargs


def jobqueue_cluster(kind: str, jq: JobQueueConfig):
    """A dask-jobqueue cluster (nothing submitted until it is scaled or adapted)."""
    import dask_jobqueue

    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
           "sge": dask_jobqueue.SGECluster, "lsf": dask_jobqueue.LSFCluster}[kind]
    return cls(**jobqueue_kwargs(kind, jq))


@contextmanager
def open_client(config: ClusterConfig) -> Iterator[Any]:
    """Yield a connected ``distributed.Client`` for ``config`` (None for ``inprocess``).

    Clusters started here (local, batch queue) are closed on exit; an external scheduler is
    only disconnected from. Raises :class:`ClusterConfigError` with one line when the
    scheduler cannot be reached.
    """
    if config.kind == "inprocess":
        yield None
        return
    from distributed import Client

    cluster = None
    try:
        if config.kind == "local":
            cluster = local_cluster(config.workers, config.threads_per_worker,
                                    config.gpus_per_worker)
            client = Client(cluster)
        elif config.kind == "scheduler":
            security = None
            if config.tls is not None:
                security = security_for(config.tls)
            elif config.address.startswith("tls://"):
                security = configured_security(config.address)
            try:
                client = Client(config.address, security=security,
                                timeout=config.connect_timeout_s)
            except (OSError, TimeoutError) as exc:
                raise ClusterConfigError(
                    f"cannot reach the Dask scheduler at {config.address}: {exc}") from None
        else:
            jq = config.jobqueue or JobQueueConfig()
            cluster = jobqueue_cluster(config.kind, jq)
            cluster.adapt(minimum_jobs=jq.min_jobs, maximum_jobs=jq.max_jobs)
            client = Client(cluster)
        log.info("running on %s (%s)", config.describe(), client.scheduler.address)
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def worker_count(client) -> int:
    """Workers connected now (0 for an adaptive cluster that has not started any yet)."""
    return len(client.scheduler_info(n_workers=-1)["workers"])
