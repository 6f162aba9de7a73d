"""The training dialog end to end: real images, the tiny backbone, a few steps."""

from __future__ import annotations

import json

import numpy as np
from PyQt6 import QtCore
from training_helpers import FAST

Qt = QtCore.Qt


def _click(qtbot, button):
    assert button.isEnabled() and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_summary_shows_labelled_images_classes_and_skipped(training, labelled_folder):
    (labelled_folder / "unlabelled.png").write_bytes(
        (labelled_folder / "fluorescence_00071198d059.png").read_bytes())
    training.refresh_summary()
    s = training.summary
    assert s.n_labelled == 3 and s.n_images == 4
    assert set(s.objects_per_class) == {"small", "large"}
    assert s.n_objects == 27 + 12 + 13
    text = training.dialog.dataset.summary.text()
    assert "<b>3</b> labelled image(s) of 4" in text and "small" in text and "large" in text
    skipped = training.dialog.dataset.skipped
    assert skipped.count() == 1 and "unlabelled.png: no labels" in skipped.item(0).text()


def test_run_end_to_end_registers_model_and_plots(training, qtbot, labelled_folder):
    d = training.dialog
    name = d.basic.model_name.text()
    assert name == "labelled-tiny" and "free" in d.basic.name_status.text()
    batches: list[list] = []
    training.runner.progress.connect(batches.append)
    added: list[list] = []
    training.catalog.models_changed.connect(added.append)
    with qtbot.waitSignal(training.modelTrained, timeout=120_000) as sig:
        _click(qtbot, d.start_button)
        assert training.running and not d.start_button.isEnabled()
        assert d.cancel_button.isEnabled() and not d.basic.isEnabled()
    assert sig.args == [name]
    assert not training.running and d.start_button.isEnabled()
    assert not d.cancel_button.isEnabled()

    kinds = [getattr(ev, "kind", "dataset") for b in batches for ev in b]
    assert kinds.count("step") == 4 and kinds.count("epoch") == 2
    assert "dataset" in kinds and kinds[-1] == "done"
    assert training.events_seen == len(kinds)
    assert all(batches)
    points = d.progress.n_points()
    assert points == {"step": 4, "train": 2, "val": 2}
    x, y = d.progress.step_curve.getData()
    assert np.allclose(x, [0.5, 1.0, 1.5, 2.0]) and np.all(np.isfinite(y))
    assert "F1" in d.progress.metrics.text() and "class accuracy" in d.progress.metrics.text()
    assert d.progress.bar.value() == d.progress.bar.maximum() == 4

    msg = d.message_text()
    assert f"Model “{name}” trained" in msg
    assert "AP@0.5" in msg and "AP@0.75" in msg and "AP@0.9" in msg and "Time" in msg
    outcome = training.last_outcome
    assert outcome.n_train == 2 and outcome.n_val == 1 and not outcome.cancelled
    assert (outcome.model_dir / "meta.json").is_file()
    assert name in training.catalog.names() and added and name in added[-1]
    assert d.run_button.isVisible() and name in d.run_button.text()
    # the name field already suggests the next free name
    assert d.basic.model_name.text() == f"{name}-2"
    qtbot.wait(30)  # let the layout take the new button text
    d.grab().save("/tmp/training_dialog.png")

    # values are remembered for the next dialog (JSON in the settings folder)
    from guv_app import paths
    saved = json.loads((paths.settings_dir() / "training_dialog.json").read_text())
    assert saved["epochs"] == FAST["epochs"] and saved["base_model"] == "tiny"
    assert saved["val_ratio"] == FAST["val_ratio"] and "model_name" not in saved
    from guv_app.controllers.training_controller import TrainingController

    again = TrainingController(training.catalog, folder=labelled_folder)
    qtbot.addWidget(again.dialog)
    v = again.dialog.values()
    assert v["epochs"] == 2 and v["images_per_epoch"] == 4 and v["base_model"] == "tiny"
    assert v["val_ratio"] == FAST["val_ratio"]
