"""Ctrl+T from the Trainer, labels saved first, the new model listed and run on the image."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore
from PyQt6.QtTest import QTest
from training_helpers import FAST, STEMS, answer_question

import cellpose_io

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier


def test_ctrl_t_train_then_run_accept_and_undo(qtbot, labelled_folder):
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.trainer_controller import TrainerController
    from guv_app.controllers.training_attach import attach_training

    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    ctl.window.resize(1000, 800)
    ctl.show()
    ctl.files.set_autosave(False)
    img = labelled_folder / f"{STEMS[0]}.png"
    assert ctl.files.open_path(img)
    catalog = ModelCatalog()
    hook = attach_training(ctl, catalog)
    try:
        combo = hook.toolbar.combo
        assert [combo.itemText(i) for i in range(combo.count())] == [
            "cpsam", "tiny", "nuclei-starter"]
        ctl.doc.delete([1])  # an unsaved edit
        assert ctl.doc.dirty

        ctl.window.activateWindow()  # the key goes to the window the user works in
        qtbot.waitUntil(ctl.window.isActiveWindow, timeout=5000)
        QTest.keyClick(ctl.window, Qt.Key.Key_T, CTRL)
        assert hook.training is not None
        dlg = hook.training.dialog
        qtbot.waitUntil(dlg.isVisible, timeout=5000)
        assert dlg.isVisible() and str(labelled_folder) in dlg.dataset.folder.text()
        dlg.set_values(FAST)
        name = dlg.basic.model_name.text()
        with qtbot.waitSignal(hook.training.modelTrained, timeout=120_000):
            qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)
            # saved before the worker started reading the folder
            assert not ctl.doc.dirty
            on_disk = cellpose_io.load_seg(cellpose_io.seg_path_for(img))
            assert 1 not in on_disk.masks and on_disk.masks.max() > 1
        assert combo.findText(name) >= 0 and combo.currentText() == name

        before = ctl.doc.masks.copy()
        classes_before = ctl.doc.classes
        with qtbot.waitSignal(hook.predictionReady, timeout=60_000) as sig:
            qtbot.mouseClick(dlg.run_button, Qt.MouseButton.LeftButton)
        result = sig.args[0]
        assert result.model_name == name and result.masks.shape == before.shape
        assert hook.layer.visible and hook.accept_action.isEnabled()
        assert result.class_names == ["background", "large", "small"] or \
            result.class_names == ["background", "small", "large"]
        assert not np.array_equal(result.masks, before)

        hook.accept_action.trigger()  # the image has labelled objects: asked first
        assert "will be lost" in answer_question(qtbot, ctl.window, "Replace")
        ctl.window.activateWindow()  # the question had the focus
        qtbot.waitUntil(ctl.window.isActiveWindow, timeout=5000)
        assert np.array_equal(ctl.doc.masks, result.masks)
        assert not hook.layer.visible and not hook.accept_action.isEnabled()
        assert ctl.doc.class_table.names[:3] == ["background", "small", "large"]
        QTest.keyClick(ctl.window, Qt.Key.Key_Z, CTRL)  # one undo restores everything
        assert np.array_equal(ctl.doc.masks, before)
        assert np.array_equal(ctl.doc.classes, classes_before)
    finally:  # never leave a modal "unsaved labels?" box or a running thread behind
        ctl.doc.mark_saved()
        stopped = hook.shutdown(60)
        if hook.training is not None:
            hook.training.dialog.close()
        ctl.files.autosaver.shutdown()
    assert stopped
