"""Promote over existing labels with "Fill unlabelled pixels" / "Add new objects only" (real
clicks): every labelled pixel kept, the added objects exactly the expected ones (computed
one by one, tests/merge_reference.py), the files of before kept and restored by Undo."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tifffile
from merge_reference import DSB, expected_added, labels_and_prediction
from modal_answers import answer_modal
from PyQt6 import QtCore

import cellpose_io
from guv_app.services.analysis.predictions import label_path_for, save_prediction

Qt = QtCore.Qt
STEM = "fluorescence_573e1480b500"


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize(("answer", "mode", "labels_as"), [
    ("Fill unlabelled pixels", "fill", "seg"),
    ("Add new objects only", "add", "mask"),
])
def test_promote_merges_into_frozen_labels_and_undo_restores(qtbot, analyzer, tmp_path,
                                                             answer, mode, labels_as):
    ctl = analyzer
    folder = tmp_path / "exp"
    folder.mkdir()
    image = folder / f"{STEM}.png"
    shutil.copy2(DSB / "images" / f"{STEM}.png", image)
    sparse, sparse_classes, pred, pred_classes = labels_and_prediction(STEM)
    ids, inverse = np.unique(sparse, return_inverse=True)  # ids 1..N as files hold them
    hand = inverse.reshape(sparse.shape).astype(np.uint32)
    hand_classes = sparse_classes[ids]
    top = len(ids) - 1
    if labels_as == "seg":  # hand labels with classes and Cellpose's ismanual flags
        cellpose_io.save_seg(image, hand, hand_classes, ["background", "small", "large"],
                             ismanual=np.ones(top, bool))
    else:  # a Cellpose-style mask image (no classes)
        tifffile.imwrite(folder / f"{STEM}_masks.tif", hand.astype(np.uint16))
    save_prediction(image, pred, pred_classes, ["background", "small", "dead"],
                    [(0, 0, 0), (255, 255, 0), (200, 0, 0)], model="tiny", params={})
    before = _snapshot(folder)
    ctl.open_folder(folder)
    ctl.window.files.table.selectAll()

    asked = answer_modal(qtbot, answer)
    qtbot.mouseClick(ctl.window.files.promote, Qt.MouseButton.LeftButton)
    assert asked and answer in asked[0]
    seg = cellpose_io.load_seg(label_path_for(image))
    out = seg.masks.astype(np.uint32)
    labelled = hand > 0
    assert np.array_equal(out[labelled], hand[labelled])  # every labelled pixel, same id
    want = expected_added(hand, pred, mode)
    new_ids = np.unique(out[out != hand])
    assert len(new_ids) == len(want) > 0
    dead = seg.class_names.index("dead")
    for new in new_ids.tolist():
        src = int(np.unique(pred[out == new])[0])
        assert np.array_equal(out == new, want[src])
        assert seg.classes[new] == (1 if pred_classes[src] == 1 else dead)
        assert not seg.ismanual[new - 1]  # added by a model, not drawn
    if labels_as == "seg":
        assert seg.ismanual[:top].all()
        assert np.array_equal(seg.classes[: top + 1], hand_classes)
    assert "merged into their labels" in ctl.window.statusBar().currentMessage()

    qtbot.mouseClick(ctl.window.files.undo_promote, Qt.MouseButton.LeftButton)
    assert _snapshot(folder) == before  # byte for byte
