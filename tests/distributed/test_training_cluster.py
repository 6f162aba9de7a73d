"""Training on a LocalCluster worker: cancel through the Dask Event stops within a step and
keeps the checkpoint on the worker; ``resume`` continues from it and installs the model."""

from __future__ import annotations

import threading

from dask_data import fast_config, labelled_folder

from guv_app.services.datasets import DatasetOptions
from guv_app.services.distributed.training import train_on_cluster


def test_cancel_then_resume_on_a_worker(local_client, data_dir, tmp_path, _isolated_home):
    from guv_app.services.engine.registry import get_model_meta

    folder = labelled_folder(data_dir, tmp_path / "labels")
    config = fast_config(model_name="cancel-resume", epochs=4)  # 2 steps per epoch, 8 in all
    options = DatasetOptions(test_ratio=0.34, seed=0)
    cancel = threading.Event()
    first: list[int] = []

    def stop_at_two(event) -> None:
        if event.kind == "step":
            first.append(event.step)
            if event.step == 2:
                cancel.set()

    part = train_on_cluster(local_client, folder, config, options, progress=stop_at_two,
                            cancel=cancel)
    assert part.cancelled and part.model_dir is None
    done = part.result.steps_done
    assert 2 <= done < 8 and first == list(range(1, done + 1))
    assert not (_isolated_home / "models" / "cancel-resume").exists()

    second: list[int] = []
    rest = train_on_cluster(local_client, folder, config, options, resume=True,
                            progress=lambda e: second.append(e.step) if e.kind == "step"
                            else None)
    assert not rest.cancelled and rest.result.steps_done == 8
    assert second == list(range(done + 1, 9))  # only the missing steps ran
    assert rest.model_dir == _isolated_home / "models" / "cancel-resume"
    assert get_model_meta("cancel-resume").extra["training"]["epochs_done"] == 4
