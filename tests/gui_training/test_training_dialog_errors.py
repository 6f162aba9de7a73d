"""Cancel and failures: the dialog says what happened and is ready for the next run."""

from __future__ import annotations

import json
import shutil

from modal_answers import answer_modal
from PyQt6 import QtCore
from training_helpers import STEMS

Qt = QtCore.Qt


def _click(qtbot, button):
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_cancel_stops_and_says_what_was_kept(training, qtbot):
    d = training.dialog
    d.set_values({"epochs": 200})
    steps: list = []
    training.runner.progress.connect(
        lambda batch: steps.extend(e for e in batch if getattr(e, "kind", "") == "step"))
    _click(qtbot, d.start_button)
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=60_000)
    with qtbot.waitSignal(training.stateChanged, timeout=60_000) as sig:
        _click(qtbot, d.cancel_button)
        assert d.cancel_button.text() == "Cancelling…" and not d.cancel_button.isEnabled()
    assert sig.args == [False]
    out = training.last_outcome
    assert out.cancelled and out.model_dir is None
    assert 1 <= out.result.steps_done < 200 * 2
    msg = d.message_text()
    assert "Training cancelled" in msg and "No model was added" in msg
    assert "checkpoint" in msg and str(out.result.checkpoint) in msg
    assert out.result.checkpoint.is_file()
    assert d.basic.model_name.text() not in training.catalog.names()
    assert d.start_button.isEnabled() and not d.cancel_button.isEnabled()
    assert d.basic.isEnabled() and not d.run_button.isVisible()


def test_errors_are_shown_and_the_dialog_can_start_again(training, qtbot, tmp_path,
                                                         labelled_folder):
    d = training.dialog
    # 1. a folder whose image has no labels
    empty = tmp_path / "no_labels"
    empty.mkdir()
    shutil.copy2(labelled_folder / f"{STEMS[0]}.png", empty / "a.png")
    training.set_folder(empty)
    assert "<b>0</b> labelled image(s) of 1" in d.dataset.summary.text()
    with qtbot.waitSignal(training.stateChanged, timeout=60_000,
                          check_params_cb=lambda running: not running):
        _click(qtbot, d.start_button)
    msg = d.message_text()
    assert msg.startswith("Training failed:") and "no usable training images" in msg
    assert "no labels" in msg and "\n" not in msg.strip()
    assert not training.running and d.start_button.isEnabled()

    # 2. a registered base model whose weights file is missing
    from guv_app import paths
    broken = paths.models_dir() / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text(json.dumps({
        "name": "broken", "backbone": "tiny", "kind": "trained",
        "weights": {"kind": "state_dict", "file": "weights.pt"}}))
    training.catalog.refresh()
    training.set_folder(labelled_folder)
    d.basic.base_model.setCurrentText("broken")
    with qtbot.waitSignal(training.stateChanged, timeout=60_000,
                          check_params_cb=lambda running: not running):
        _click(qtbot, d.start_button)
    msg = d.message_text()
    assert msg.startswith("Training failed:") and "weights.pt" in msg
    assert "Traceback" not in msg and d.start_button.isEnabled()

    # 3. a name that is taken is never reused silently: Start asks; Cancel runs nothing
    d.basic.model_name.setText("broken")
    training.check_name("broken")
    assert "taken" in d.basic.name_status.text()
    asked = answer_modal(qtbot, "Cancel")
    assert not training.start() and not training.running
    assert asked and "A model named “broken” already exists" in asked[0]

    # 4. and the same dialog then trains successfully
    d.basic.base_model.setCurrentText("tiny")
    d.basic.model_name.setText("after-errors")
    with qtbot.waitSignal(training.modelTrained, timeout=120_000):
        _click(qtbot, d.start_button)
    assert "after-errors" in training.catalog.names()
    assert "trained and added" in d.message_text()
