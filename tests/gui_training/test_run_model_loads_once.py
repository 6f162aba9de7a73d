"""The Trainer's "Run" loads the model once: a second Run reuses the cached network (counted
by the engine's public load counter), gives the same masks and draws them in the view."""

from __future__ import annotations

import shutil

import numpy as np
from PyQt6 import QtCore
from training_helpers import DSB

SAMPLE = "fluorescence_02903040e19d"  # the bundled sample image
LONG = 240_000  # ms: shared machine


def test_second_run_does_not_reload(qtbot, tmp_path):
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.trainer_controller import TrainerController
    from guv_app.controllers.training_attach import attach_training
    from guv_app.services.engine.loading import clear_cache, load_count

    image = tmp_path / f"{SAMPLE}.png"
    shutil.copy2(DSB / "images" / image.name, image)
    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    ctl.show()
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(image)
    hook = attach_training(ctl, ModelCatalog())
    try:
        hook.select_model("nuclei-starter")
        button = hook.toolbar.widgetForAction(hook.run_action)
        clear_cache()
        before = load_count()
        shown = []
        for _ in range(2):
            with qtbot.waitSignal(hook.predictionReady, timeout=LONG):
                qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
            masks = hook.prediction.masks.copy()
            assert masks.max() > 5  # the starter model finds the nuclei
            drawn = hook.layer.item.image[..., 3] > 0  # outlines in the view's layer
            assert drawn.any() and not drawn[masks == 0].any()
            shown.append(masks)
            hook.discard_action.trigger()
            assert not hook.layer.visible
        assert load_count() - before == 1  # loaded for the first Run only
        assert np.array_equal(shown[0], shown[1])
    finally:
        hook.shutdown(10)
        ctl.files.autosaver.shutdown()
