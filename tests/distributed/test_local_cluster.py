"""A real LocalCluster of 2 worker processes: loopback only, retries, a killed worker,
per-item failures, and the services' per-image functions giving in-process results."""

from __future__ import annotations

import concurrent.futures as cf
import os

import numpy as np
import psutil
import pytest
from dask_tasks import (
    always_fails,
    flaky_once,
    kill_worker_once,
    slow_square,
    worker_pid,
    worker_settings,
)

from guv_app.services.distributed.executor import dask_executor, model_load_counts


def test_local_cluster_listens_on_loopback_only_without_dashboard(local_client):
    info = local_client.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert len(info["workers"]) == 2
    for address, worker in info["workers"].items():
        assert address.startswith("tcp://127.0.0.1:")
        assert worker["nanny"].startswith("tcp://127.0.0.1:")
    pids = set(local_client.run(worker_pid).values())
    assert len(pids) == 2 and os.getpid() not in pids  # two real processes, not threads
    listening = [c.laddr for pid in (os.getpid(), *pids)
                 for c in psutil.Process(pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert len(listening) >= 5  # scheduler (+ its HTTP server), 2 nannies, 2 workers
    assert {addr.ip for addr in listening} == {"127.0.0.1"}, listening


def test_workers_run_without_malloc_trimming_profiler_or_extra_threads(local_client):
    """Dask's defaults made every worker page-fault each large array in and out
    (MALLOC_TRIM_THRESHOLD_) and sample its own stack every 10 ms (profiler): 1.5x the CPU
    time of the same measuring in-process. Our local workers run without both."""
    settings = list(local_client.run(worker_settings).values())
    assert len(settings) == 2
    for worker in settings:
        assert worker["MALLOC_TRIM_THRESHOLD_"] is None, worker
        assert worker["OMP_NUM_THREADS"] == "1"
        assert worker["profile"] is False
        assert "profile" not in worker["callbacks"] and "heartbeat" in worker["callbacks"]


def test_failing_task_is_retried_once(local_client, tmp_path):
    executor = dask_executor(local_client)
    future = executor.submit(flaky_once, str(tmp_path / "marker"), 4)
    assert isinstance(future, cf.Future)
    assert future.result(timeout=60) == 40
    assert (tmp_path / "marker").exists()  # the first attempt really failed


def test_item_failing_twice_is_reported_for_that_item_only(local_client):
    executor = dask_executor(local_client)
    futures = {i: executor.submit(always_fails if i == 2 else slow_square, i) for i in range(5)}
    cf.wait(list(futures.values()), timeout=120)
    with pytest.raises(ValueError, match="item 2 is broken"):
        futures[2].result(timeout=5)
    assert {i: f.result(timeout=5) for i, f in futures.items() if i != 2} == {
        0: 0, 1: 1, 3: 9, 4: 16}


def test_killed_worker_is_survived(local_client, tmp_path):
    executor = dask_executor(local_client)
    marker = tmp_path / "killed"
    others = [executor.submit(slow_square, i, 0.1) for i in range(6)]
    victim = executor.submit(kill_worker_once, str(marker), 7)
    value, pid = victim.result(timeout=180)
    assert value == 7
    assert int(marker.read_text()) != pid  # the first worker process really died
    assert [f.result(timeout=120) for f in others] == [i * i for i in range(6)]
    local_client.wait_for_workers(2, timeout=120)  # the nanny restarted it


def test_shutdown_with_cancel_drops_queued_items_and_keeps_finished_ones(local_client):
    executor = dask_executor(local_client)
    futures = [executor.submit(slow_square, i, 0.5) for i in range(12)]
    next(cf.as_completed(futures, timeout=60))
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(f.done() for f in futures)  # settled by shutdown itself, nothing to wait for
    _, not_done = cf.wait(futures, timeout=5)  # and their waiters were woken
    assert not not_done
    finished = [f for f in futures if not f.cancelled()]
    assert 1 <= len(finished) < 12 and any(f.cancelled() for f in futures)
    for f in finished:
        assert f.result(timeout=5) == futures.index(f) ** 2


def test_task_cancelled_while_its_result_is_fetched_ends_cancelled(local_client):
    """The race that hung a cancelled batch: the task finished, the client went to fetch its
    result, and the cancel arrived first. Dask's own executor left that future pending for
    ever (its relay coroutine died on ``FutureCancelledError``). Made deterministic on the
    client's event loop: the cancel runs right after the relay woke for "finished" (asyncio
    wakes an event's waiters in order) and before the fetch's first step."""
    executor = dask_executor(local_client)
    future = executor.submit(slow_square, 3, 0.2)
    (task,) = list(executor._futures)

    async def cancel_once_finished():
        await task._state.wait()  # woken after the executor's relay, which waited first
        await local_client._cancel([task])

    local_client.loop.add_callback(cancel_once_finished)
    done, _ = cf.wait([future], timeout=60)
    assert done == {future} and future.cancelled()
    with pytest.raises(cf.CancelledError):
        future.result(timeout=5)


def test_each_outcome_reaches_its_future_after_a_cancelled_run(local_client, tmp_path):
    """After ``shutdown(cancel_futures=True)`` the executor refuses work, and a fresh one on
    the same client runs results, errors and retries as before (nothing left stuck)."""
    executor = dask_executor(local_client)
    queued = [executor.submit(slow_square, i, 0.5) for i in range(6)]
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(f.done() for f in queued)
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(slow_square, 1)
    fresh = dask_executor(local_client)
    ok, bad = fresh.submit(slow_square, 5, 0.0), fresh.submit(always_fails, 9)
    retried = fresh.submit(flaky_once, str(tmp_path / "marker"), 2)
    assert ok.result(timeout=60) == 25 and retried.result(timeout=60) == 20
    with pytest.raises(ValueError, match="item 9 is broken"):
        bad.result(timeout=60)


def test_measure_image_on_workers_equals_in_process(local_client, data_dir, tmp_path):
    from dask_data import labelled_folder

    from guv_app.services.measurement.labels import find_items
    from guv_app.services.measurement.runner import measure_image, resolve_plugins

    items = find_items(labelled_folder(data_dir, tmp_path / "m"), "seg")
    plugins = resolve_plugins(["shape", "intensity", "boundary"], None)
    executor = dask_executor(local_client)
    futures = [executor.submit(measure_image, it.image, it.labels, plugins, it.image.name)
               for it in items]
    for item, future in zip(items, futures, strict=True):
        remote = future.result(timeout=120)
        local = measure_image(item.image, item.labels, plugins, item.image.name)
        assert remote.n_objects == local.n_objects > 0 and remote.errors == local.errors
        assert remote.tables.keys() == local.tables.keys()
        for name, table in local.tables.items():
            for column, values in table.items():
                np.testing.assert_array_equal(remote.tables[name][column], values)


def test_model_is_loaded_once_per_worker_not_per_task(local_client, data_dir, tmp_path):
    from dask_data import labelled_folder

    from cellpose_io import load_seg
    from guv_app.services.analysis.batch import predict_images

    folder = labelled_folder(data_dir, tmp_path / "p", copies=3)
    images = sorted(folder.glob("*.png"))
    before = model_load_counts(local_client)
    executor = dask_executor(local_client)
    futures = [executor.submit(predict_images, [img], "tiny", out_dir=str(tmp_path / "remote"))
               for img in images]
    statuses = [f.result(timeout=300).planes[0] for f in futures]
    assert [s.status for s in statuses] == ["done"] * len(images)
    after = model_load_counts(local_client)
    loads = {w: after[w] - before.get(w, 0) for w in after}
    assert sum(loads.values()) <= 2 < len(images), loads  # once per worker at most
    local = predict_images(images, "tiny", out_dir=tmp_path / "local")
    for status, here in zip(statuses, local.planes, strict=True):
        a, b = load_seg(status.file), load_seg(here.file)
        np.testing.assert_array_equal(a.masks, b.masks)
        np.testing.assert_array_equal(a.classes, b.classes)
