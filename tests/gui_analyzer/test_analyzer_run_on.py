"""Analyzer "Run on: Dask scheduler": the folder is predicted by Dask workers (a LocalCluster
on 127.0.0.1 started by the test), with the same per-image progress and Cancel."""

from __future__ import annotations

import numpy as np
from analyzer_helpers import tiny_settings
from PyQt6 import QtCore

import cellpose_io
from guv_app.services.analysis.predictions import pred_path_for

Qt = QtCore.Qt
LONG = 240_000


def _choose_scheduler(qtbot, panel, address: str) -> None:
    run_on = panel.run_on
    run_on.choice.setFocus()
    qtbot.keyClick(run_on.choice, Qt.Key.Key_Down)
    assert run_on.choice.currentText() == "Dask scheduler" and run_on.address.isEnabled()
    qtbot.keyClicks(run_on.address, address)


def test_run_folder_on_a_dask_scheduler_then_cancel(qtbot, analyzer, analyzer_folder):
    from guv_app.services.distributed.cluster import open_client
    from guv_app.services.distributed.config import ClusterConfig

    ctl = analyzer
    assert ctl.open_folder(analyzer_folder)
    tiny_settings(ctl)
    panel = ctl.window.inference
    with open_client(ClusterConfig(kind="local", workers=1)) as client:
        _choose_scheduler(qtbot, panel, client.scheduler.address)
        steps: list = []
        ctl.task.progress.connect(lambda batch: steps.extend(
            (s.done, s.total) for s in batch if hasattr(s, "done")))
        with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as blocker:
            qtbot.mouseClick(panel.run_folder, Qt.MouseButton.LeftButton)
        result = blocker.args[0]
        assert [ctl.window.files.status(r) for r in range(3)] == ["done"] * 3
        assert steps and steps[-1] == (3, 3)  # per-image progress came back from the workers
        assert panel.progress.value() == panel.progress.maximum() == 3
        for image, status in zip(ctl.images, result.planes, strict=True):
            seg = cellpose_io.load_seg(pred_path_for(image))
            assert int(seg.masks.max()) == status.n_objects
            assert np.array_equal(np.unique(seg.masks)[1:], np.arange(1, status.n_objects + 1))

        qtbot.waitUntil(lambda: panel.run_folder.isEnabled())  # the worker thread ended
        panel.force.setChecked(True)
        with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as again:
            qtbot.mouseClick(panel.run_folder, Qt.MouseButton.LeftButton)
            assert panel.cancel.isEnabled()
            qtbot.mouseClick(panel.cancel, Qt.MouseButton.LeftButton)
        cancelled = again.args[0]
        assert cancelled.cancelled
        for image in ctl.images:  # every prediction file is still there and readable
            assert cellpose_io.load_seg(pred_path_for(image)).masks.max() > 0
    qtbot.waitUntil(lambda: panel.run_folder.isEnabled())


def test_bad_scheduler_address_is_a_message(qtbot, analyzer, analyzer_folder):
    ctl = analyzer
    ctl.open_folder(analyzer_folder)
    tiny_settings(ctl)
    _choose_scheduler(qtbot, ctl.window.inference, "my-server")
    qtbot.mouseClick(ctl.window.inference.run_folder, Qt.MouseButton.LeftButton)
    assert not ctl.running
    assert "expected tcp://HOST:PORT" in ctl.window.statusBar().currentMessage()
