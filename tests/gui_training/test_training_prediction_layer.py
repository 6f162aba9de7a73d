"""A prediction with objects and a class the document lacks: preview, accept, one undo."""

from __future__ import annotations

import numpy as np
import tifffile
from PyQt6 import QtCore
from PyQt6.QtTest import QTest
from training_helpers import DSB, STEMS, answer_question

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier


def test_accept_merges_classes_by_name_and_undo_restores_all(qtbot, labelled_folder):
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.trainer_controller import TrainerController
    from guv_app.controllers.training_attach import attach_training
    from guv_app.services.engine.inference import SegmentResult

    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    ctl.show()
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(labelled_folder / f"{STEMS[1]}.png")
    hook = attach_training(ctl, ModelCatalog())
    try:
        before, classes_before = ctl.doc.masks.copy(), ctl.doc.classes
        table_before = list(ctl.doc.class_table.names)
        assert table_before == ["background", "small", "large"]
        # a "prediction": the real objects, renumbered, half "small" and half "dead"
        true = tifffile.imread(DSB / "masks" / f"{STEMS[1]}.tif").astype(np.uint32)
        ids = np.unique(true[true > 0])
        pred = np.zeros_like(true)
        for new, old in enumerate(ids[::-1], start=1):
            pred[true == old] = new
        pred_classes = np.zeros(len(ids) + 1, np.int32)
        pred_classes[1:] = np.where(np.arange(len(ids)) % 2 == 0, 1, 2)
        result = SegmentResult(pred, pred_classes, None, np.zeros((2, *pred.shape), np.float32),
                               np.zeros(pred.shape, np.float32),
                               ["background", "small", "dead"],
                               [(0, 0, 0), (255, 255, 0), (200, 0, 0)], model_name="m")
        hook.show_prediction(result)
        assert hook.layer.visible and hook.accept_action.isEnabled()
        shown = hook.layer.item.image
        edge = shown[..., 3] > 0
        assert edge.any() and not edge[pred == 0].any()  # outlines only on objects
        dead_px = np.isin(pred, np.flatnonzero(pred_classes == 2)) & edge
        assert (shown[dead_px][:, :3] == (200, 0, 0)).all()  # drawn in the class colour

        import cellpose_io

        seg = cellpose_io.seg_path_for(ctl.files.path)
        seg_bytes = seg.read_bytes()
        hook.accept_action.trigger()
        asked = answer_question(qtbot, ctl.window, "Keep my labels")  # decline: no change
        n_before = len(np.unique(before)) - 1
        assert f"{n_before} object(s) will be lost" in asked
        assert np.array_equal(ctl.doc.masks, before) and not ctl.doc.dirty
        assert seg.read_bytes() == seg_bytes and not list(seg.parent.glob("*.bak*"))
        assert hook.layer.visible and hook.accept_action.isEnabled()

        hook.accept_action.trigger()
        answer_question(qtbot, ctl.window, "Replace")
        assert seg.with_name(seg.name + ".bak").read_bytes() == seg_bytes  # kept
        assert np.array_equal(ctl.doc.masks, pred)
        assert ctl.doc.class_table.names == ["background", "small", "large", "dead"]
        assert ctl.doc.class_table.colors[3] == (200, 0, 0)
        expected = np.where(pred_classes == 2, 3, pred_classes)  # dead -> new class 3
        assert np.array_equal(ctl.doc.classes, expected)
        assert not hook.layer.visible and not hook.accept_action.isEnabled()

        ctl.window.activateWindow()
        qtbot.waitUntil(ctl.window.isActiveWindow, timeout=5000)
        QTest.keyClick(ctl.window, Qt.Key.Key_Z, CTRL)
        assert np.array_equal(ctl.doc.masks, before)
        assert np.array_equal(ctl.doc.classes, classes_before)
        assert ctl.doc.class_table.names == table_before
        assert ctl.doc.redo() and np.array_equal(ctl.doc.masks, pred)

        # opening another image drops a pending preview
        hook.show_prediction(result)
        ctl.doc.mark_saved()  # autosave is off: no "save changes?" question
        assert ctl.files.open_path(labelled_folder / f"{STEMS[2]}.png")
        assert not hook.layer.visible and hook.prediction is None
    finally:
        ctl.doc.mark_saved()
        hook.shutdown(10)
        ctl.files.autosaver.shutdown()
