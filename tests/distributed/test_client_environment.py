"""Starting, restarting and stopping our LocalCluster leaves this process's environment as it
was: Dask's nanny writes OMP_NUM_THREADS=1 (and MKL/OPENBLAS threads, PYTHONHASHSEED, its
parent pid) into os.environ of the process that runs it, so every subprocess a long-lived
GUI started after its first cluster (a training run, an export) ran on one thread. The
workers still get those settings."""

from __future__ import annotations

import os
import subprocess
import sys

from dask_cluster import WORKER_PATH
from dask_tasks import kill_worker_once, worker_pid, worker_settings

from guv_app.services.distributed.cluster import open_client
from guv_app.services.distributed.config import ClusterConfig

# what distributed's nanny writes before spawning a worker (distributed.yaml
# nanny.pre-spawn-environ, Nanny.__init__ and proctitle.enable_proctitle_on_children)
NANNY_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "PYTHONHASHSEED", "MALLOC_TRIM_THRESHOLD_", "__DASK_PARENT_PID")


def _worker_environment() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in NANNY_VARIABLES}


def test_cluster_start_restart_and_stop_leave_client_environment_unchanged(
        monkeypatch, tmp_path):
    # none of them set here (an earlier cluster in this test process must not hide a leak)
    # but one, set by the user to a value of its own that must stay this process's value
    for name in NANNY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    monkeypatch.setenv("MULTICELLPOSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", WORKER_PATH)
    before = dict(os.environ)

    with open_client(ClusterConfig(kind="local", workers=2)) as client:
        assert dict(os.environ) == before  # after the start
        workers = client.run(_worker_environment)
        assert len(workers) == 2
        for env in workers.values():  # the workers did get Dask's pre-spawn environment
            # one BLAS/OpenMP thread per worker process (worker_env), whatever the app has
            assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
            assert env["OPENBLAS_NUM_THREADS"] == "1"
            assert env["PYTHONHASHSEED"] == "6640"
            assert env["MALLOC_TRIM_THRESHOLD_"] is None  # LOCAL_CLUSTER_CONFIG
        assert all(s["OMP_NUM_THREADS"] == "1" for s in client.run(worker_settings).values())

        # a worker that dies is started again by its nanny: that spawn must not leak either
        old_pids = set(client.run(worker_pid).values())
        value, pid = client.submit(kill_worker_once, str(tmp_path / "killed"), 5,
                                   pure=False).result(timeout=180)
        assert value == 5
        client.wait_for_workers(2, timeout=120)
        new_pids = set(client.run(worker_pid).values())
        assert len(old_pids - new_pids) == 1  # one worker process really was replaced
        assert dict(os.environ) == before

        client.restart(timeout=120)  # every nanny restarts its worker
        assert not set(client.run(worker_pid).values()) & new_pids
        assert dict(os.environ) == before
    assert dict(os.environ) == before  # after the stop


def test_subprocess_started_after_a_cluster_gets_all_threads(monkeypatch):
    """What a user sees: a subprocess started after a cluster (a training run, an export)
    gets the app's environment, not the workers' one-thread settings."""
    for name in NANNY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", WORKER_PATH)
    with open_client(ClusterConfig(kind="local", workers=1)):
        pass
    probe = f"import os; print([os.environ.get(n) for n in {NANNY_VARIABLES!r}])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == str([None] * len(NANNY_VARIABLES))
