"""``--workers`` / ``--scheduler`` / ``--cluster``: where a command runs, defined once.

Added to ``predict``, ``measure``, ``evaluate`` and ``train``. Without any of them a command
runs in this process, as before. Nothing here imports Dask: the parser stays cheap, and
``distributed`` is loaded only when one of the options is used.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from guv_app.services.distributed.config import (
    JOBQUEUE_KINDS,
    ClusterConfig,
    ClusterConfigError,
    TLSFiles,
    load_jobqueue_config,
)

_OVERRIDES = ("queue", "cores", "memory", "walltime", "max_jobs")


def add_cluster_options(parser: argparse.ArgumentParser, *, training: bool = False) -> None:
    """Add the "where to run" option group to a subcommand's parser."""
    group = parser.add_argument_group(
        "where to run (Dask; default: in this process)",
        "A local cluster listens on 127.0.0.1 only. Reach a remote scheduler over tls:// "
        "with your certificates, or through an SSH tunnel (ssh -L 8786:localhost:8786 "
        "head-node, then --scheduler tcp://127.0.0.1:8786). Input and --out paths must be "
        "readable/writable by the workers (shared file system).")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="start N worker processes on this computer (LocalCluster)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="use a running `dask scheduler`, e.g. tcp://127.0.0.1:8786 or "
                            "tls://head:8786")
    where.add_argument("--cluster", choices=JOBQUEUE_KINDS,
                       help="submit Dask workers as batch jobs (dask-jobqueue), scaled to "
                            "the work")
    group.add_argument("--cluster-config", metavar="FILE.yaml",
                       help="batch job settings: queue, account, cores, memory, gpus, "
                            "walltime, job_extra, job_script_prologue, max_jobs, ...")
    group.add_argument("--queue", help="batch queue/partition (overrides the config file)")
    group.add_argument("--cores", type=int, help="cores per batch job")
    group.add_argument("--memory", help="memory per batch job, e.g. 16GB")
    group.add_argument("--walltime", help="time limit per batch job, HH:MM:SS")
    group.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                       help="extra scheduler directive, e.g. --job-extra=--constraint=a100 "
                            "(repeatable)")
    group.add_argument("--max-jobs", type=int, help="most batch jobs at once (default 10)")
    group.add_argument("--gpus", type=int, default=0, metavar="N",
                       help=("GPUs the training needs on its worker (Dask resource GPU; start "
                             "workers with --resources GPU=1); with --cluster also GPUs per "
                             "batch job") if training else
                       ("with --cluster: GPUs per batch job; with a cluster, each image "
                        "then runs on a worker offering the GPU resource"))
    group.add_argument("--shared-fs", action="store_true",
                       help="workers write output files themselves (they see the output "
                            "folders as this computer does); default with --workers only, "
                            "otherwise results come back and are written here")
    group.add_argument("--tls-ca-file", metavar="PEM", help="CA certificate for tls://")
    group.add_argument("--tls-cert", metavar="PEM", help="your certificate for tls://")
    group.add_argument("--tls-key", metavar="PEM", help="its key (if not inside --tls-cert)")


def cluster_config(args: argparse.Namespace) -> ClusterConfig:
    """The :class:`ClusterConfig` the options describe; a one-line CLIError when they clash."""
    from guv_app.cli.main import CLIError

    workers, scheduler, kind = args.workers, args.scheduler, args.cluster
    tls = None
    if args.tls_ca_file or args.tls_cert:
        if not (args.tls_ca_file and args.tls_cert):
            raise CLIError("--tls-ca-file and --tls-cert go together")
        tls = TLSFiles(args.tls_ca_file, args.tls_cert, args.tls_key)
    try:
        if workers is not None:
            if workers < 1:
                raise CLIError(f"--workers must be at least 1, got {workers}")
            config = ClusterConfig(kind="local", workers=workers, gpus_per_worker=args.gpus)
        elif scheduler:
            config = ClusterConfig(kind="scheduler", address=scheduler, tls=tls)
            if tls is not None:
                tls.check()
        elif kind:
            jq = load_jobqueue_config(args.cluster_config) if args.cluster_config else None
            config = ClusterConfig(kind=kind, jobqueue=jq)
            for name in _OVERRIDES:
                if getattr(args, name) is not None:
                    setattr(config.jobqueue, name, getattr(args, name))
            config.jobqueue.job_extra = [*config.jobqueue.job_extra, *args.job_extra]
            if args.gpus:
                config.jobqueue.gpus = args.gpus
            config.jobqueue.__post_init__()  # check the merged values
        else:
            config = ClusterConfig()
    except ClusterConfigError as exc:
        raise CLIError(str(exc)) from None
    if kind is None and (args.cluster_config or args.job_extra or any(
            getattr(args, n) is not None for n in _OVERRIDES)):
        raise CLIError("--cluster-config and the batch job options need --cluster")
    if getattr(args, "shared_fs", False):
        config.shared_fs = True
    if args.gpus < 0:
        raise CLIError(f"--gpus must be 0 or more, got {args.gpus}")
    if args.gpus and not config.distributed:
        raise CLIError("--gpus needs --workers, --scheduler or --cluster")
    return config


@contextmanager
def cluster_client(args: argparse.Namespace) -> Iterator[Any]:
    """A Dask client for the options (None when running in this process)."""
    from guv_app.cli.main import CLIError

    config = cluster_config(args)
    if config.distributed:
        print(f"running on {config.describe()}", file=sys.stderr)
    from guv_app.services.distributed.cluster import open_client

    try:
        with open_client(config) as client:
            yield client
    except ClusterConfigError as exc:
        raise CLIError(str(exc)) from None


@contextmanager
def cluster_executor(args: argparse.Namespace, *, uses_gpu: bool = False) -> Iterator[Any]:
    """The batch runner's executor for the options (None: in this process).

    ``uses_gpu``: with ``--gpus``, each item asks for one ``GPU`` resource (network work).
    """
    with cluster_client(args) as client:
        if client is None:
            yield None
            return
        from guv_app.services.distributed.executor import dask_executor

        resources = {"GPU": 1} if uses_gpu and args.gpus else None
        executor = dask_executor(client, resources=resources)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False, cancel_futures=True)


@contextmanager
def interrupt_flag() -> Iterator[threading.Event]:
    """A cancel flag set by the first Ctrl+C (or SIGTERM, e.g. a batch time limit): the run
    stops scheduling, finished outputs and the index stay, a rerun resumes. A second Ctrl+C
    interrupts at once."""
    flag = threading.Event()

    def stop(signum, frame) -> None:
        if flag.is_set():
            raise KeyboardInterrupt
        print("\nstopping: no new items are started; finished outputs are kept "
              "(Ctrl+C again to abort)", file=sys.stderr)
        flag.set()

    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals can only be handled in the main thread (tests, embedding)
        return
    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
