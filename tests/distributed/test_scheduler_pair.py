"""A real `dask scheduler` + `dask worker` pair in subprocesses on 127.0.0.1 (as a user starts
them): measure and predict through ``--scheduler``-style connection, a 1-epoch training on the
worker advertising ``GPU=1``, and a ``tls://`` pair that refuses clients without certificates."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from dask_cluster import dask_pair
from dask_data import fast_config, labelled_folder

from guv_app.services.distributed.config import ClusterConfig, ClusterConfigError, TLSFiles
from guv_app.services.distributed.executor import model_load_counts, open_executor


def test_measure_and_predict_through_a_scheduler_address(scheduler_pair, data_dir, tmp_path):
    from cellpose_io import load_seg
    from guv_app.services.analysis.batch import predict_images
    from guv_app.services.measurement.labels import find_items
    from guv_app.services.measurement.runner import measure_image, resolve_plugins

    address, client = scheduler_pair
    items = find_items(labelled_folder(data_dir, tmp_path / "m"), "seg")
    plugins = resolve_plugins(["shape"], None)
    with open_executor(ClusterConfig(kind="scheduler", address=address)) as executor:
        measured = [executor.submit(measure_image, it.image, it.labels, plugins, it.image.name)
                    for it in items]
        predicted = [executor.submit(predict_images, [it.image], "tiny",
                                     out_dir=str(tmp_path / "remote")) for it in items]
        measured = [f.result(timeout=300) for f in measured]
        predicted = [f.result(timeout=300).planes[0] for f in predicted]
    for item, remote in zip(items, measured, strict=True):
        local = measure_image(item.image, item.labels, plugins, item.image.name)
        for column, values in local.tables["shape"].items():
            np.testing.assert_array_equal(remote.tables["shape"][column], values)
    local = predict_images([it.image for it in items], "tiny", out_dir=tmp_path / "local")
    for remote, here in zip(predicted, local.planes, strict=True):
        assert remote.status == here.status == "done"
        np.testing.assert_array_equal(load_seg(remote.file).masks,
                                      load_seg(here.file).masks)
    assert list(model_load_counts(client).values()) == [1]  # 3 images, one load


def test_one_epoch_training_on_the_gpu_worker_lands_in_the_local_registry(
        scheduler_pair, data_dir, tmp_path, _isolated_home):
    import cellpose_io
    from guv_app.services.datasets import DatasetOptions
    from guv_app.services.distributed.training import train_on_cluster
    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import load_model
    from guv_app.services.engine.registry import get_model_meta

    _, client = scheduler_pair
    folder = labelled_folder(data_dir, tmp_path / "labels")
    events, prep = [], []
    outcome = train_on_cluster(
        client, folder, fast_config(model_name="pair-1"),
        DatasetOptions(test_ratio=0.34, seed=0), progress=events.append,
        dataset_progress=lambda d, t, m: prep.append((d, t)), gpus=1)
    assert not outcome.cancelled and outcome.result.net is None
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "epoch" in kinds
    steps = [e.step for e in events if e.kind == "step"]
    assert steps == [1, 2]  # every step, in order, with its loss
    assert all(e.train_loss is not None for e in events if e.kind == "step")
    assert prep and prep[-1][0] == prep[-1][1]
    # the worker keeps its registry in another folder: the model was copied into ours
    assert outcome.model_dir == _isolated_home / "models" / "pair-1"
    meta = get_model_meta("pair-1")
    assert meta.class_names == ["background", "odd", "even"]
    assert meta.extra["training"]["epochs_done"] == 1
    image = cellpose_io.read_image(next(folder.glob("*.png"))).plane(t=0, z=0)
    result = segment(image, load_model("pair-1", "cpu", cache=False), SegmentParams(device="cpu"))
    assert result.masks.shape == image.shape[-2:]


def test_gpu_training_waits_for_a_gpu_worker_and_names_are_checked_here_first(
        scheduler_pair, tmp_path, _isolated_home):
    import time

    from guv_app.services.distributed.training import TrainingJob, train_on_cluster

    _, client = scheduler_pair
    job = TrainingJob(client, tmp_path, fast_config(model_name="needs-2"), gpus=2)
    time.sleep(1.0)
    assert job.future.status == "pending"  # no worker offers 2 GPUs: nothing ran
    job.future.cancel()
    (_isolated_home / "models" / "taken").mkdir(parents=True)
    with pytest.raises(ValueError, match="'taken' is taken"):
        train_on_cluster(client, tmp_path, fast_config(model_name="taken"))
    with pytest.raises(ValueError, match="invalid model name"):
        train_on_cluster(client, tmp_path, fast_config(model_name="bad name"))


def _make_certs(folder) -> TLSFiles:
    """A throw-away CA and one certificate for 127.0.0.1 (openssl), as a site admin would."""
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "1", "-subj", "/CN=multicellpose-test-ca")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
        "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "node.pem", "-days", "1", "-extfile", "san.ext")
    return TLSFiles(str(folder / "ca.pem"), str(folder / "node.pem"), str(folder / "node.key"))


def test_tls_scheduler_with_certificates_and_refused_without(tmp_path, worker_home):
    import shutil

    from dask_tasks import slow_square
    from distributed import Client

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    tls = _make_certs(tmp_path)
    flags = ["--tls-ca-file", tls.ca_file, "--tls-cert", tls.cert, "--tls-key", tls.key]
    with dask_pair(tmp_path, worker_home, tls=flags) as address:
        assert address.startswith("tls://127.0.0.1:")
        config = ClusterConfig(kind="scheduler", address=address, tls=tls)
        with open_executor(config) as executor:
            executor.client.wait_for_workers(1, timeout=90)
            assert executor.submit(slow_square, 6, 0.0).result(timeout=60) == 36
        plain = address.replace("tls://", "tcp://")
        with pytest.raises((OSError, TimeoutError)):
            Client(plain, timeout=3).close()
        with pytest.raises(ClusterConfigError, match="cannot reach the Dask scheduler"):
            bad = ClusterConfig(kind="scheduler", address="tcp://127.0.0.1:1",
                                connect_timeout_s=2)
            with open_executor(bad):
                pass
