"""Analyzer on a Cellpose-style folder (X.png + X_masks.tif): promote asks, naming how many
labelled objects would be lost; No keeps every file byte-identical; Yes keeps the masks as
backups and Undo promote restores them. The viewer always shows the selected row."""

from __future__ import annotations

import shutil

import numpy as np
import tifffile
from analyzer_helpers import DSB
from modal_answers import answer_modal
from PyQt6 import QtCore

import cellpose_io
from guv_app.services.analysis.predictions import save_prediction
from guv_app.services.datasets.summary import summarize_folder

Qt = QtCore.Qt


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_promote_over_mask_labels_asks_and_no_keeps_every_byte(qtbot, analyzer,
                                                               analyzer_folder):
    ctl = analyzer
    images = sorted(analyzer_folder.glob("*.png"))
    hand = 0
    for image in images:
        truth = tifffile.imread(DSB / "masks" / f"{image.stem}.tif")
        tifffile.imwrite(image.with_name(f"{image.stem}_masks.tif"), truth)
        hand += len(np.unique(truth)) - 1
        pred = np.zeros_like(truth)
        pred[5:25, 5:25] = 1  # a poor prediction with one object
        save_prediction(image, pred.astype(np.uint32), None, None, None, model="tiny",
                        params={})
    assert summarize_folder(analyzer_folder).n_objects == hand
    before = _snapshot(analyzer_folder)
    ctl.confirm = ctl._confirm  # the real question, answered with a real click
    ctl.open_folder(analyzer_folder)
    ctl.window.files.table.selectAll()

    asked = answer_modal(qtbot, "No")
    qtbot.mouseClick(ctl.window.files.promote, Qt.MouseButton.LeftButton)
    assert asked and f"loses {hand} labelled object(s)" in asked[0]
    assert all(f"{p.stem}_masks.tif" in asked[0] for p in images)
    assert _snapshot(analyzer_folder) == before  # nothing written, nothing renamed
    assert not ctl.window.files.undo_promote.isEnabled()

    answer_modal(qtbot, "Yes")
    qtbot.mouseClick(ctl.window.files.promote, Qt.MouseButton.LeftButton)
    assert summarize_folder(analyzer_folder).n_objects == len(images)  # the predictions
    for image in images:
        backup = image.with_name(f"{image.stem}_masks.tif.bak")
        assert backup.read_bytes() == before[f"{image.stem}_masks.tif"]
        assert cellpose_io.choose_labels(image).chosen.kind == "seg"
    qtbot.mouseClick(ctl.window.files.undo_promote, Qt.MouseButton.LeftButton)
    assert _snapshot(analyzer_folder) == before
    assert summarize_folder(analyzer_folder).n_objects == hand


def test_open_folder_shows_the_new_folders_image(qtbot, analyzer, analyzer_folder, tmp_path):
    ctl = analyzer
    other = tmp_path / "second"
    other.mkdir()
    name = "fluorescence_00071198d059"
    shutil.copy2(DSB / "images" / f"{name}.png", other / f"{name}.png")
    ctl.open_folder(analyzer_folder)
    first = sorted(analyzer_folder.glob("*.png"))[0]
    assert ctl.editor.path == first and ctl.current_row() == 0
    ctl.open_folder(other)  # row 0 again: no currentChanged signal comes
    assert ctl.current_row() == 0 and ctl.editor.path == other / f"{name}.png"
    planes = cellpose_io.read_image(other / f"{name}.png").plane(0, 0)
    assert np.array_equal(ctl.editor.trainer.planes, planes)  # the pixels on screen
    empty = tmp_path / "empty"
    empty.mkdir()
    ctl.open_folder(empty)
    assert ctl.editor.path is None and ctl.editor.trainer.planes.shape[-2:] == (1, 1)
