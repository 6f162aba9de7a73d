"""Offline, the model selector starts on a model that runs; a failed run says why once,
with no traceback on stderr."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from trainer_gestures import key

from guv_app.services.engine import registry
from guv_app.services.engine.meta import ModelMeta


@pytest.fixture
def hooked(trainer):
    from guv_app.controllers.training_attach import attach_training

    hookup = attach_training(trainer)
    yield trainer, hookup
    hookup.shutdown()


def test_default_model_is_tiny_without_cpsam_weights(hooked):
    ctl, hookup = hooked
    assert hookup.toolbar.combo.currentText() == "tiny"


def test_last_used_model_is_chosen_when_it_can_run(trainer, qtbot):
    from guv_app.controllers.model_catalog import LAST_USED_KEY, default_catalog
    from guv_app.controllers.training_attach import attach_training

    registry.save_model("mine", ModelMeta(name="mine", backbone="tiny",
                                          weights={"kind": "state_dict", "file": "weights.pt"}),
                        files={"weights.pt": b"not a checkpoint"})
    default_catalog().refresh()
    trainer.files.settings.setValue(LAST_USED_KEY, "mine")
    hookup = attach_training(trainer)
    assert hookup.toolbar.combo.currentText() == "mine"
    trainer.files.settings.setValue(LAST_USED_KEY, "cpsam")  # no weights here: not chosen
    hookup2 = attach_training(trainer)
    assert hookup2.toolbar.combo.currentText() == "tiny"
    hookup.shutdown()
    hookup2.shutdown()


def test_failed_run_shows_reason_once_without_traceback(trainer, qtbot, capfd):
    from guv_app.controllers.model_catalog import default_catalog
    from guv_app.controllers.training_attach import attach_training

    registry.save_model("broken", ModelMeta(name="broken", backbone="tiny",
                                            weights={"kind": "state_dict", "file": "weights.pt"}),
                        files={"weights.pt": b"not a checkpoint"})
    default_catalog().refresh()
    hookup = attach_training(trainer)
    hookup.select_model("broken")
    failures: list[str] = []
    hookup.predictionFailed.connect(failures.append)
    hookup.run_action.trigger()
    qtbot.waitUntil(lambda: bool(failures), timeout=60000)
    box = trainer.window.message_box
    assert box is not None and "could not segment" in box.text()
    assert "Traceback" not in box.text() and len(failures) == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert hookup.run_action.isEnabled()
    box.close()
    key(trainer.canvas, Qt.Key.Key_Escape)
    hookup.shutdown()


def test_training_dialog_starts_from_a_model_that_runs(hooked, qtbot):
    ctl, hookup = hooked
    key(ctl.canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert hookup.training.dialog.basic.base_model.currentText() == "tiny"
    hookup.training.dialog.close()
