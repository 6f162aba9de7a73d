"""A cancelled run is resumed from the dialog and its loss curve continues where it stopped;
a name in use is never reused silently."""

from __future__ import annotations

import numpy as np
from modal_answers import answer_modal
from PyQt6 import QtCore

Qt = QtCore.Qt
EPOCHS = 5  # 2 steps per epoch with the fast settings


def _click(qtbot, button):
    assert button.isEnabled() and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _cancel_after(training, qtbot, n_steps: int) -> int:
    d = training.dialog
    steps: list = []
    training.runner.progress.connect(
        lambda batch: steps.extend(e for e in batch if getattr(e, "kind", "") == "step"))
    _click(qtbot, d.start_button)
    qtbot.waitUntil(lambda: len(steps) >= n_steps, timeout=60_000)
    with qtbot.waitSignal(training.stateChanged, timeout=60_000):
        _click(qtbot, d.cancel_button)
    out = training.last_outcome
    assert out.cancelled and 0 < out.result.steps_done < 2 * EPOCHS
    return out.result.steps_done


def test_resume_button_continues_the_loss_curve(training, qtbot):
    d = training.dialog
    d.set_values({"epochs": EPOCHS})
    name = d.basic.model_name.text()
    done = _cancel_after(training, qtbot, 3)
    assert d.resume_button.isVisible() and not d.run_button.isVisible()
    x, _ = d.progress.step_curve.getData()
    assert np.allclose(x, np.arange(1, done + 1) / 2)

    with qtbot.waitSignal(training.modelTrained, timeout=120_000) as sig:
        _click(qtbot, d.resume_button)
    assert sig.args == [name]
    total = 2 * EPOCHS
    assert training.last_outcome.result.steps_done == total
    assert training.last_outcome.result.net is None  # saved: the GUI keeps no second network
    x, y = d.progress.step_curve.getData()
    assert np.allclose(x, np.arange(1, total + 1) / 2) and np.all(np.isfinite(y))  # no restart
    assert d.progress.n_points()["train"] == EPOCHS
    assert not d.resume_button.isVisible()


def test_interrupted_run_is_offered_again_and_a_name_in_use_asks(training, qtbot,
                                                                 labelled_folder):
    from guv_app.controllers.training_controller import TrainingController

    d = training.dialog
    d.set_values({"epochs": EPOCHS})
    name = d.basic.model_name.text()
    done = _cancel_after(training, qtbot, 3)
    epochs_done = training.last_outcome.result.epochs_done

    again = TrainingController(training.catalog, folder=labelled_folder)  # a later session
    qtbot.addWidget(again.dialog)
    again.open()
    again.dialog.set_values({"epochs": EPOCHS, "model_name": name})
    again.check_name(name)
    assert "interrupted run" in again.dialog.basic.name_status.text()
    asked = answer_modal(qtbot, "Resume")  # Start on that name asks; Resume continues it
    with qtbot.waitSignal(again.modelTrained, timeout=120_000):
        _click(qtbot, again.dialog.start_button)
    assert asked and "interrupted run" in asked[0]
    pts = again.dialog.progress.n_points()
    assert pts["train"] == EPOCHS  # the earlier epochs are drawn from the kept run
    assert pts["step"] == 2 * EPOCHS - done
    x, _ = again.dialog.progress.step_curve.getData()
    assert np.isclose(x[0], (done + 1) / 2)  # continues where it stopped
    assert epochs_done <= EPOCHS
    assert again.shutdown(60)
