"""Ctrl+T "Run on: Dask scheduler": the same run on a real Dask worker (a LocalCluster on
127.0.0.1 started by the test), the same live curve, and bad addresses as one message."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore

Qt = QtCore.Qt


def _choose_scheduler(qtbot, dialog, address: str) -> None:
    run_on = dialog.basic.run_on
    assert not run_on.address.isEnabled()  # this computer by default
    run_on.choice.setFocus()
    qtbot.keyClick(run_on.choice, Qt.Key.Key_Down)
    assert run_on.choice.currentText() == "Dask scheduler" and run_on.address.isEnabled()
    run_on.address.clear()
    qtbot.keyClicks(run_on.address, address)


def test_training_on_a_dask_scheduler_plots_live_and_registers(training, qtbot):
    from guv_app.services.distributed.cluster import open_client
    from guv_app.services.distributed.config import ClusterConfig

    d = training.dialog
    name = d.basic.model_name.text()
    with open_client(ClusterConfig(kind="local", workers=1)) as client:
        _choose_scheduler(qtbot, d, client.scheduler.address)
        with qtbot.waitSignal(training.modelTrained, timeout=180_000):
            qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
            assert training.running and d.cancel_button.isEnabled()
    assert d.progress.n_points() == {"step": 4, "train": 2, "val": 2}
    x, y = d.progress.step_curve.getData()
    assert np.allclose(x, [0.5, 1.0, 1.5, 2.0]) and np.all(np.isfinite(y))
    outcome = training.last_outcome
    assert not outcome.cancelled and (outcome.model_dir / "meta.json").is_file()
    assert name in training.catalog.names()
    assert "Dask scheduler tcp://127.0.0.1:" in d.progress.log.toPlainText()


def test_bad_scheduler_address_is_one_message_and_nothing_starts(training, qtbot):
    d = training.dialog
    _choose_scheduler(qtbot, d, "localhost:8786")
    qtbot.mouseClick(d.start_button, Qt.MouseButton.LeftButton)
    assert not training.running
    msg = d.message_text()
    assert msg.startswith("Training failed:") and "expected tcp://HOST:PORT" in msg
