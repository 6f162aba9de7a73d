"""A Cellpose/QuPath-style folder (X.png + X_masks.tif) in the Trainer: the objects are
shown, the first edit writes a _seg.npy that carries them (said once), the folder's object
count changes by exactly the edit, and two disagreeing label files are never shadowed."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tifffile
from modal_answers import answer_modal
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import click, key, trace
from trainer_helpers import DSB, frame_region_on_screen, open_trainer

import cellpose_io
from guv_app.services.datasets.summary import summarize_folder

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
NAMES = ("fluorescence_02903040e19d", "fluorescence_573e1480b500",
         "histology_color_4cbd6c37f3a5")
FIRST = NAMES[0]
A = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]


@pytest.fixture
def masks_folder(tmp_path):
    folder = tmp_path / "qupath_export"
    folder.mkdir()
    for name in NAMES:
        shutil.copy2(DSB / "images" / f"{name}.png", folder / f"{name}.png")
        shutil.copy2(DSB / "masks" / f"{name}.tif", folder / f"{name}_masks.tif")
    return folder


def _n(masks) -> int:
    return len(np.unique(masks)) - 1


def _active_trainer(qtbot, wait_exposed):
    ctl = open_trainer(qtbot, wait_exposed, size=None)
    ctl.window.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is ctl.window, timeout=1000)
    return ctl


def test_masks_are_shown_and_the_first_edit_carries_them(qtbot, masks_folder, wait_exposed):
    truth = {n: tifffile.imread(masks_folder / f"{n}_masks.tif") for n in NAMES}
    total = sum(_n(m) for m in truth.values())
    assert summarize_folder(masks_folder).n_objects == total  # Ctrl+T's count
    mask_bytes = (masks_folder / f"{FIRST}_masks.tif").read_bytes()

    ctl = open_trainer(qtbot, wait_exposed, masks_folder / f"{FIRST}.png",
                       region=((90, 280), (90, 270)))
    ctl.files._timer.setInterval(10)
    assert ctl.doc.n_objects == _n(truth[FIRST])
    assert np.array_equal(ctl.doc.masks, truth[FIRST])
    assert "3 labelled" in ctl.window.folder_label.text()

    trace(ctl.canvas, A)  # one new object
    assert ctl.doc.n_objects == _n(truth[FIRST]) + 1
    qtbot.waitUntil(lambda: not ctl.doc.dirty, timeout=5000)
    seg = cellpose_io.seg_path_for(masks_folder / f"{FIRST}.png")
    assert _n(cellpose_io.load_seg(seg).masks) == _n(truth[FIRST]) + 1
    assert (masks_folder / f"{FIRST}_masks.tif").read_bytes() == mask_bytes
    box = ctl.window.message_box
    assert box is not None and f"{FIRST}_masks.tif" in box.text() and seg.name in box.text()
    box.close()
    qtbot.waitUntil(lambda: ctl.window.message_box is None, timeout=1000)

    summary = summarize_folder(masks_folder)
    assert summary.n_objects == total + 1 and summary.n_labelled == 3  # not 294-style loss

    trace(ctl.canvas, [(210.0, 210.0), (250.0, 210.0), (250.0, 250.0), (210.0, 250.0)])
    qtbot.waitUntil(lambda: not ctl.doc.dirty, timeout=5000)
    assert ctl.window.message_box is None  # said once, not at every save
    assert summarize_folder(masks_folder).n_objects == ctl.doc.n_objects - _n(truth[FIRST]) + total
    ctl.window.close()
    ctl.files.autosaver.shutdown()

    again = open_trainer(qtbot, wait_exposed, masks_folder / f"{FIRST}.png")  # no question
    assert again.doc.n_objects == _n(truth[FIRST]) + 2
    again.window.close()
    again.files.autosaver.shutdown()


def test_disagreeing_files_ask_and_keep_the_other_aside(qtbot, masks_folder, wait_exposed):
    image = masks_folder / f"{FIRST}.png"
    mask = masks_folder / f"{FIRST}_masks.tif"
    truth = tifffile.imread(mask)
    other = np.zeros_like(truth)
    other[10:40, 10:40] = 1  # a _seg.npy from elsewhere with one object
    seg = cellpose_io.save_seg(image, other)
    before = {p: p.read_bytes() for p in (seg, mask)}
    assert summarize_folder(masks_folder).n_labelled == 2  # the conflict is skipped, named
    assert any(FIRST in name and "disagree" in why
               for name, why in summarize_folder(masks_folder).skipped)

    ctl = _active_trainer(qtbot, wait_exposed)
    ctl.files.set_autosave(False)
    asked = answer_modal(qtbot, "Cancel")
    assert not ctl.files.open_path(image)
    assert asked and f"{_n(truth)} object" in asked[0] and "1 object" in asked[0]
    assert {p: p.read_bytes() for p in (seg, mask)} == before  # cancel changes nothing

    asked = answer_modal(qtbot, f"Keep {mask.name}")
    assert ctl.files.open_path(image)
    assert np.array_equal(ctl.doc.masks, truth)
    backup = seg.with_name(seg.name + ".bak")
    assert not seg.exists() and backup.read_bytes() == before[seg]
    assert mask.read_bytes() == before[mask]
    frame_region_on_screen(ctl, qtbot, (90, 280), (90, 270))
    trace(ctl.canvas, A)
    ctl.window.activateWindow()  # the question had the focus
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is ctl.window, timeout=1000)
    key(ctl.window, Qt.Key.Key_S, CTRL)
    assert cellpose_io.choose_labels(image).chosen.kind == "seg"  # carries the mask now
    ctl.window.close()
    ctl.files.autosaver.shutdown()


def test_delete_on_masks_lowers_the_folder_count_by_one(qtbot, masks_folder, wait_exposed):
    total = summarize_folder(masks_folder).n_objects
    ctl = _active_trainer(qtbot, wait_exposed)
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(masks_folder / f"{FIRST}.png")
    frame_region_on_screen(ctl, qtbot, (90, 280), (90, 270))
    obj = int(ctl.doc.masks[160, 175])
    assert obj
    click(ctl.canvas, 175.5, 160.5, mods=CTRL)
    assert obj not in ctl.doc.object_ids()
    key(ctl.window, Qt.Key.Key_S, CTRL)
    assert summarize_folder(masks_folder).n_objects == total - 1
    ctl.window.close()
    ctl.files.autosaver.shutdown()
