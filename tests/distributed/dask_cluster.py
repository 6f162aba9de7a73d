"""Real `dask scheduler` + `dask worker` subprocesses on 127.0.0.1 for the distributed tests
(a unique module name: test folders share sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# workers import our tree and the task helpers of these tests (dask_tasks.py)
WORKER_PATH = os.pathsep.join([str(ROOT), str(HERE)])


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=WORKER_PATH, MULTICELLPOSE_HOME=str(home), OMP_NUM_THREADS="1",
               DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1")
    return env


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def dask_pair(run: Path, home: Path, *, tls: list[str] | None = None,
              resources: str = "GPU=1"):
    """Start ``dask scheduler`` + ``dask worker`` subprocesses on 127.0.0.1; yield the
    scheduler address; stop both. ``tls``: the ``--tls-*`` flags (then ``tls://``)."""
    sched_file = run / "scheduler.json"
    env = _env(home)
    tls = tls or []
    protocol = ["--protocol", "tls"] if tls else []
    logs = [open(run / "scheduler.log", "w"), open(run / "worker.log", "w")]  # noqa: SIM115
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file), *protocol,
         *tls], env=env, cwd=run, stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            assert procs[0].poll() is None, (run / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, but be safe on a loaded machine
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
             "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
             "--resources", resources, "--local-directory", str(run / "work"), *tls],
            env=env, cwd=run, stdout=logs[1], stderr=subprocess.STDOUT))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for fh in logs:
            fh.close()
