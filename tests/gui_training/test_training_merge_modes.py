"""Accept a prediction into an image that has labels: add only new objects / fill only
unlabelled pixels keep every hand-drawn pixel; one Ctrl+Z restores the labels exactly.

Real DSB2018 labels (every other object hand-drawn) and a prediction of every object
shifted by 3 px; the expected objects are computed one by one (tests/merge_reference.py).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from merge_reference import DSB, expected_added, labels_and_prediction
from PyQt6 import QtCore
from PyQt6.QtTest import QTest
from training_helpers import answer_question

import cellpose_io

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
STEM = "fluorescence_573e1480b500"
CHOICES = {"add": "Add new objects only", "fill": "Fill unlabelled pixels"}


@pytest.fixture
def hand_labelled(tmp_path):
    hand, hand_classes, pred, pred_classes = labels_and_prediction(STEM)
    img = tmp_path / f"{STEM}.png"
    shutil.copy2(DSB / "images" / f"{STEM}.png", img)
    cellpose_io.save_seg(img, hand, hand_classes[: int(hand.max()) + 1],
                         ["background", "small", "large"],
                         [(0, 0, 0), (230, 159, 0), (86, 180, 233)])
    return img, pred, pred_classes


@pytest.mark.parametrize("mode", ["add", "fill"])
def test_accept_with_frozen_labels_then_one_undo(qtbot, hand_labelled, mode):
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.trainer_controller import TrainerController
    from guv_app.controllers.training_attach import attach_training
    from guv_app.services.engine.inference import SegmentResult

    img, pred, pred_classes = hand_labelled
    ctl = TrainerController()
    qtbot.addWidget(ctl.window)
    ctl.show()
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(img)
    hook = attach_training(ctl, ModelCatalog())
    try:
        doc = ctl.doc
        before, classes_before = doc.masks.copy(), doc.classes
        table_before = list(doc.class_table.names)
        seg_bytes = cellpose_io.seg_path_for(img).read_bytes()
        # the prediction's class 2 is "dead", a class the labels lack: added to the table
        result = SegmentResult(pred, pred_classes, None, np.zeros((2, *pred.shape), np.float32),
                               np.zeros(pred.shape, np.float32), ["background", "small", "dead"],
                               [(0, 0, 0), (255, 255, 0), (200, 0, 0)], model_name="m")
        hook.show_prediction(result)
        ctl.window.activateWindow()
        qtbot.waitUntil(ctl.window.isActiveWindow, timeout=5000)
        QTest.keyClick(ctl.window, Qt.Key.Key_Return, CTRL)  # Accept (asks: labels exist)
        asked = answer_question(qtbot, ctl.window, CHOICES[mode])
        assert "will be lost" in asked and CHOICES[mode] in asked
        after = doc.masks.copy()

        labelled = before > 0
        assert np.array_equal(after[labelled], before[labelled])  # every hand-drawn pixel
        hand_ids = np.flatnonzero(np.bincount(before.ravel()))[1:]
        assert np.array_equal(doc.classes[hand_ids], classes_before[hand_ids])
        want = expected_added(before, pred, mode)
        new_ids = np.unique(after[after != before])
        assert len(new_ids) == len(want) > 0
        dead = doc.class_table.names.index("dead")
        for new in new_ids.tolist():
            src = np.unique(pred[after == new])
            assert len(src) == 1 and np.array_equal(after == new, want[int(src[0])])
            assert doc.class_of(new) == (1 if pred_classes[src[0]] == 1 else dead)
        assert not hook.layer.visible and f"added {len(want)}" in hook.toolbar.status.text()
        assert not list(img.parent.glob("*.bak*"))  # nothing replaced: no backup needed
        assert cellpose_io.seg_path_for(img).read_bytes() == seg_bytes  # not saved yet

        ctl.window.activateWindow()  # the question had the focus
        qtbot.waitUntil(ctl.window.isActiveWindow, timeout=5000)
        QTest.keyClick(ctl.window, Qt.Key.Key_Z, CTRL)  # ONE undo: exactly as before
        assert np.array_equal(doc.masks, before)
        assert np.array_equal(doc.classes, classes_before)
        assert doc.class_table.names == table_before
        QTest.keyClick(ctl.window, Qt.Key.Key_Y, CTRL)
        assert np.array_equal(doc.masks, after)
    finally:
        ctl.doc.mark_saved()
        hook.shutdown(10)
        ctl.files.autosaver.shutdown()
