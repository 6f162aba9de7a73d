"""Real Dask clusters on 127.0.0.1 for the distributed tests, started and stopped here.

* ``local_client``: a ``LocalCluster`` of 2 worker processes (our own ``open_client``);
* ``scheduler_pair``: a ``dask scheduler`` and a ``dask worker`` (advertising ``GPU=1``)
  in subprocesses, as a user would start them, and a client connected by address.

Both are module-scoped (starting worker processes costs seconds on a 2-core machine); their
workers get their own MULTICELLPOSE_HOME, fixed for the module.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from pathlib import Path

import pytest
from dask_cluster import WORKER_PATH, dask_pair

# far above the slowest test here (a model trained on workers); a hung one must not eat the suite
HANG_S = float(os.environ.get("MULTICELLPOSE_TEST_HANG_S", "600"))


@pytest.fixture(autouse=True)
def _hang_watchdog(request):
    """A test still running after HANG_S prints every thread's stack and ends the run (exit
    code 1), so a wait without an end fails the suite instead of hanging it (each wait in
    these tests has its own timeout; this catches the ones inside our code)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def hung() -> None:
        if capture is not None:  # to the terminal, not into the captured output that dies
            capture.suspend_global_capture(in_=True)
        print(f"\n{request.node.nodeid} still running after {HANG_S:.0f} s; stacks:",
              file=sys.stderr, flush=True)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)

    timer = threading.Timer(HANG_S, hung)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


@pytest.fixture(scope="module")
def worker_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker_home")


@pytest.fixture(scope="module")
def local_client(worker_home):
    from guv_app.services.distributed.cluster import open_client
    from guv_app.services.distributed.config import ClusterConfig

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTICELLPOSE_HOME", str(worker_home))
        mp.setenv("PYTHONPATH", WORKER_PATH)
        with open_client(ClusterConfig(kind="local", workers=2)) as client:
            mp.undo()
            yield client


@pytest.fixture(scope="module")
def scheduler_pair(tmp_path_factory, worker_home):
    """(address, client): `dask scheduler` + `dask worker --resources GPU=1` subprocesses."""
    from distributed import Client

    with dask_pair(tmp_path_factory.mktemp("dask_pair"), worker_home) as address:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=90)
            yield address, client
