"""File ▸ Import / Export labels, Export for Cellpose and opening a _seg.npy, driven by keys,
dialogs and button clicks like a user."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PyQt6 import QtWidgets
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from trainer_gestures import key, trace
from trainer_helpers import DSB, open_trainer, real_mask

import cellpose_io

CTRL = Qt.KeyboardModifier.ControlModifier
NAME = "fluorescence_02903040e19d"
ROISET = Path(__file__).resolve().parents[1] / "data" / "annotations" / "cryonuseg_roiset"


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two label images describe the same objects (ids may differ)."""
    if a.shape != b.shape or ((a > 0) != (b > 0)).any():
        return False
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def _choose_file(qtbot, ctl, path: Path, *, type_name: bool = False) -> None:
    dlg = ctl.exchange.dialog if ctl.exchange.dialog is not None else ctl.menus.dialog
    assert isinstance(dlg, QtWidgets.QFileDialog) and dlg.isVisible()
    if type_name:  # type the name like a user, then Enter
        dlg.setDirectory(str(path.parent))
        edit = dlg.findChild(QtWidgets.QLineEdit, "fileNameEdit")
        edit.clear()
        QTest.keyClicks(edit, path.name)
        QTest.keyClick(edit, Qt.Key.Key_Return)
    else:
        dlg.selectFile(str(path))
        dlg.accept()
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)


def _answer(qtbot, ctl, choice: str) -> str:
    qtbot.waitUntil(lambda: ctl.window.question_box is not None, timeout=3000)
    box = ctl.window.question_box
    text = box.text()
    button = next(b for b in box.buttons() if b.text().replace("&", "") == choice)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return text


@pytest.fixture
def roi_image(tmp_path) -> Path:
    folder = tmp_path / "he"
    folder.mkdir()
    src = next((ROISET / "TCGA-DE-A4MA").glob("*.tif"))
    return Path(shutil.copy2(src, folder / "tile.tif"))


def test_ctrl_i_imports_a_roiset_zip_as_objects_and_one_undo(qtbot, wait_exposed, roi_image):
    ctl = open_trainer(qtbot, wait_exposed, roi_image)
    key(ctl.canvas, Qt.Key.Key_I, CTRL)
    _choose_file(qtbot, ctl, ROISET / "TCGA-DE-A4MA" / "RoiSet.zip")
    expected = cellpose_io.read_imagej_rois(ROISET / "TCGA-DE-A4MA" / "RoiSet.zip", (512, 512))
    assert ctl.doc.n_objects == int(expected.masks.max()) > 40
    assert _same_partition(ctl.doc.masks, expected.masks.astype(np.uint32))
    key(ctl.window, Qt.Key.Key_Z, CTRL)
    assert ctl.doc.n_objects == 0


def test_import_label_image_merges_with_traced_object(trainer, qtbot, tmp_path):
    ctl = trainer
    trace(ctl.canvas, [(100, 100), (130, 100), (130, 125), (100, 125)])
    assert ctl.doc.n_objects == 1
    traced = ctl.doc.masks == ctl.doc.masks.max()
    truth = real_mask(NAME)
    tif = tmp_path / "truth.tif"
    tifffile.imwrite(tif, truth.astype(np.uint16))
    key(ctl.canvas, Qt.Key.Key_I, CTRL)
    _choose_file(qtbot, ctl, tif, type_name=True)
    text = _answer(qtbot, ctl, "Merge with current labels")
    assert "already has 1 object" in text
    m = ctl.doc.masks
    assert (m[traced] == m[traced][0]).all() and m[traced][0] > 0  # traced object untouched
    overlap = [i for i in np.unique(truth[traced]) if i and (truth == i).sum() <= traced.sum()
               and (truth[traced] == i).sum() == (truth == i).sum()]
    assert ctl.doc.n_objects == 1 + int(truth.max()) - len(overlap)
    key(ctl.window, Qt.Key.Key_Z, CTRL)  # one undo step back to the traced object only
    assert ctl.doc.n_objects == 1


def test_binary_mask_import_offers_connected_components(trainer, qtbot, tmp_path):
    from scipy import ndimage

    ctl = trainer
    truth = real_mask(NAME)
    binary = np.where(truth > 0, 255, 0).astype(np.uint8)
    path = tmp_path / "binary.png"
    from PIL import Image

    Image.fromarray(binary).save(path)
    key(ctl.canvas, Qt.Key.Key_I, CTRL)
    _choose_file(qtbot, ctl, path)
    text = _answer(qtbot, ctl, "Label each blob as an object")
    n_blobs = ndimage.label(binary > 0, structure=np.ones((3, 3)))[1]
    assert "binary mask" in text and f"covers {n_blobs} separate" in text
    assert ctl.doc.n_objects == n_blobs > 10


def test_export_geojson_carries_class_names(trainer, qtbot, tmp_path):
    ctl = trainer
    truth = real_mask(NAME)
    ctl.doc.reset(truth)
    ctl.add_class("nucleus")
    ids = list(range(1, int(truth.max()) + 1, 2))
    ctl.doc.assign_class(ids, 1)
    key(ctl.canvas, Qt.Key.Key_E, CTRL)
    out = tmp_path / "exported.geojson"
    _choose_file(qtbot, ctl, out)
    back = cellpose_io.read_geojson(out, truth.shape)
    assert _same_partition(back.masks.astype(np.uint32), truth)
    assert back.class_names == ["background", "nucleus"]
    assert int((back.classes[1:] == 1).sum()) == len(ids)


def test_roiset_export_round_trips_class_names_through_roi_names(trainer, qtbot, tmp_path):
    ctl = trainer
    truth = real_mask(NAME)
    ctl.doc.reset(truth)
    ctl.add_class("dividing")
    ctl.doc.assign_class([1, 2, 3], 1)
    out = ctl.exchange.export_path(tmp_path / "rois.zip")
    back = cellpose_io.read_imagej_rois(out, truth.shape)
    assert back.class_names == ["background", "dividing"]
    assert int((back.classes == 1).sum()) == 3


def test_export_all_labelled_planes(trainer, qtbot, image_folder, tmp_path):
    ctl = trainer
    truth = real_mask(NAME)
    ctl.doc.import_labels(truth, mode="replace")
    key(ctl.canvas, Qt.Key.Key_Right)  # autosave, next image
    ctl.files.autosaver.wait()
    ctl.doc.import_labels(real_mask("fluorescence_573e1480b500"), mode="replace")
    key(ctl.canvas, Qt.Key.Key_E, CTRL | Qt.KeyboardModifier.ShiftModifier)
    dlg = ctl.exchange.dialog
    qtbot.waitUntil(dlg.isVisible)
    out = tmp_path / "exported"
    dlg.folder.setText(str(out))
    dlg.format.setCurrentIndex(dlg.format.findData(".png"))
    qtbot.mouseClick(dlg.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{NAME}.png", "fluorescence_573e1480b500.png"]
    assert _same_partition(cellpose_io.read_label_image(out / f"{NAME}.png").astype(np.uint32),
                           truth)
    # one unreadable label file never stops the others; the message names it
    (image_folder / "histology_color_4cbd6c37f3a5_seg.npy").write_bytes(b"garbage")
    shutil.rmtree(out)
    ctl.exchange.export_all(out, ".zip")
    assert sorted(p.name for p in out.iterdir()) == [f"{NAME}.zip",
                                                     "fluorescence_573e1480b500.zip"]
    box = ctl.window.message_box
    assert box is not None and "histology_color_4cbd6c37f3a5.zip" in box.text()
    box.close()


def test_export_for_cellpose_writes_tif_and_seg(trainer, qtbot, tmp_path):
    ctl = trainer
    ctl.doc.import_labels(real_mask(NAME), mode="replace")
    ctl.window.actions["export_cellpose"].trigger()
    out = tmp_path / "for_cellpose"
    out.mkdir()
    _choose_file(qtbot, ctl, out)
    tif, seg = out / f"{NAME}.tif", out / f"{NAME}_seg.npy"
    data = cellpose_io.load_seg(seg)
    assert Path(data.filename) == tif.absolute()
    img = tifffile.imread(tif)
    assert img.shape[:2] == data.masks.shape and np.array_equal(
        np.moveaxis(img, -1, 0) if img.ndim == 3 else img[None], ctl.planes)
    assert _same_partition(data.masks.astype(np.uint32), real_mask(NAME))


def test_opening_a_seg_npy_opens_its_image_with_labels(qtbot, wait_exposed, tmp_path):
    folder = tmp_path / "cp"
    folder.mkdir()
    image = Path(shutil.copy2(DSB / "images" / f"{NAME}.png", folder / f"{NAME}.png"))
    cellpose_io.save_seg(image, real_mask(NAME))
    ctl = open_trainer(qtbot, wait_exposed)
    assert ctl.files.open_path(folder / f"{NAME}_seg.npy")
    assert ctl.files.path == image and ctl.doc.n_objects == int(real_mask(NAME).max())


def test_seg_without_its_image_asks_to_pick_it(qtbot, wait_exposed, tmp_path):
    elsewhere = tmp_path / "images"
    elsewhere.mkdir()
    image = Path(shutil.copy2(DSB / "images" / f"{NAME}.png", elsewhere / "cells.png"))
    labels_dir = tmp_path / "labels"
    labels_dir.mkdir()
    seg = cellpose_io.save_seg(tmp_path / "gone" / "cells.png", real_mask(NAME),
                               out_path=labels_dir / "cells_seg.npy")
    ctl = open_trainer(qtbot, wait_exposed)
    key(ctl.canvas, Qt.Key.Key_O, CTRL)
    dlg = ctl.window.open_dialog
    dlg.selectFile(str(seg))
    dlg.accept()
    text = _answer(qtbot, ctl, "Pick image…")
    assert "was not found" in text and "cells_seg.npy" in text
    assert "()" not in text and "Error" not in text  # user words, no function names
    _choose_file(qtbot, ctl, image)
    assert ctl.files.path == image.absolute()
    assert ctl.doc.n_objects == int(real_mask(NAME).max())


def test_a_plane_seg_npy_opens_its_plane_and_exports_with_its_name(qtbot, wait_exposed,
                                                                   lif_file, tmp_path):
    masks = np.zeros((64, 64), np.uint16)
    masks[5:20, 5:20] = 1
    masks[30:50, 30:40] = 2
    seg = cellpose_io.seg_path_for(lif_file, series=1, t=1, z=2)
    cellpose_io.save_seg(lif_file, masks, out_path=seg)
    ctl = open_trainer(qtbot, wait_exposed)
    assert ctl.files.open_path(seg)
    assert (ctl.files.series, ctl.files.t, ctl.files.z) == (1, 1, 2)
    assert ctl.window.channel_panel.t.value() == 1 and ctl.window.channel_panel.z.value() == 2
    assert np.array_equal(ctl.doc.masks, masks)
    out = tmp_path / "exported"
    ctl.exchange.export_all(out, ".tif")
    assert [p.name for p in out.iterdir()] == [f"{lif_file.stem}_s1_t1_z2.tif"]
    ctl.window.close()
    ctl.files.autosaver.shutdown()


def test_dropping_a_roiset_puts_its_objects_on_the_open_image(qtbot, wait_exposed, roi_image):
    from PyQt6 import QtCore, QtGui

    ctl = open_trainer(qtbot, wait_exposed, roi_image)
    zip_path = ROISET / "TCGA-DE-A4MA" / "RoiSet.zip"
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(zip_path))])
    pos = QtCore.QPointF(ctl.window.rect().center())
    for kind in (QtGui.QDragEnterEvent, QtGui.QDropEvent):
        if kind is QtGui.QDragEnterEvent:
            ev = kind(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
        else:
            ev = kind(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(ctl.window, ev)
    expected = cellpose_io.read_imagej_rois(zip_path, (512, 512))
    assert ctl.files.path == roi_image.absolute()  # the image stays open
    assert ctl.doc.n_objects == int(expected.masks.max())
    assert "unsupported" not in (ctl.window.statusBar().currentMessage() or "")


def test_big_import_runs_in_the_background_and_export_cancel_leaves_no_file(
        trainer, qtbot, tmp_path):
    ctl = trainer
    truth = real_mask(NAME)
    src = tmp_path / "truth.geojson"
    cellpose_io.write_geojson(src, truth)
    ctl.exchange.ASYNC_BYTES = 0  # every file counts as big: read off the GUI thread
    ctl.exchange.ASYNC_OBJECTS = 0
    key(ctl.canvas, Qt.Key.Key_I, CTRL)
    _choose_file(qtbot, ctl, src)
    assert ctl.doc.n_objects == 0 and ctl.exchange.progress.isVisible()  # not done yet
    qtbot.waitUntil(lambda: ctl.doc.n_objects == int(truth.max()), timeout=20000)
    assert not ctl.exchange.progress.isVisible()
    # export of many objects: Cancel before it ends leaves no file behind, not even a part
    out = tmp_path / "out" / "cancelled.zip"
    out.parent.mkdir()
    ctl.exchange.export_path(out)
    dlg = ctl.exchange.progress
    cancel = next(b for b in dlg.findChildren(QtWidgets.QPushButton) if "Cancel" in b.text())
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ctl.exchange.runner.running, timeout=20000)
    qtbot.wait(50)
    assert list(out.parent.iterdir()) == []
    assert "Cancelled" in ctl.window.statusBar().currentMessage()
    # and without Cancel the file lands where asked
    ctl.exchange.export_path(out)
    qtbot.waitUntil(lambda: ctl.exchange.last_export == out, timeout=20000)
    assert [p.name for p in out.parent.iterdir()] == ["cancelled.zip"]
    back = cellpose_io.read_imagej_rois(out, truth.shape)
    assert _same_partition(back.masks.astype(np.uint32), truth)


def test_export_all_in_the_background_reports_each_plane(trainer, qtbot, image_folder,
                                                         tmp_path):
    ctl = trainer
    ctl.doc.import_labels(real_mask(NAME), mode="replace")
    key(ctl.canvas, Qt.Key.Key_Right)
    ctl.files.autosaver.wait()
    ctl.doc.import_labels(real_mask("fluorescence_573e1480b500"), mode="replace")
    ctl.exchange.ASYNC_OBJECTS = 0  # as if the planes were big
    out = tmp_path / "bg"
    assert ctl.exchange.export_all(out, ".geojson") is None  # running, not done
    qtbot.waitUntil(lambda: not ctl.exchange.runner.running, timeout=20000)
    qtbot.wait(50)
    assert not ctl.exchange.progress.isVisible()
    assert sorted(p.name for p in out.iterdir()) == [f"{NAME}.geojson",
                                                     "fluorescence_573e1480b500.geojson"]
    assert "Exported 2 labelled plane(s)" in ctl.window.statusBar().currentMessage()


def test_import_replace_names_the_loss_keeps_the_file_and_cancel_changes_nothing(
        trainer, qtbot, tmp_path):
    ctl = trainer
    ctl.files.set_autosave(False)
    try:
        _replace_flow(ctl, qtbot, tmp_path)
    finally:
        ctl.doc.mark_saved()  # no "save changes?" question when the window closes


def _replace_flow(ctl, qtbot, tmp_path):
    trace(ctl.canvas, [(100, 100), (130, 100), (130, 125), (100, 125)])
    key(ctl.window, Qt.Key.Key_S, CTRL)
    seg = ctl.files.label_file()
    saved = seg.read_bytes()
    drawn = ctl.doc.masks.copy()
    truth = real_mask(NAME)
    tif = tmp_path / "truth.tif"
    tifffile.imwrite(tif, truth.astype(np.uint16))

    ctl.exchange.import_path(tif)
    text = _answer(qtbot, ctl, "Cancel")  # nothing changes, on screen or on disk
    assert "1 object(s) lost" in text
    assert np.array_equal(ctl.doc.masks, drawn) and not ctl.doc.dirty
    assert seg.read_bytes() == saved and not list(seg.parent.glob("*.bak*"))

    ctl.exchange.import_path(tif)
    _answer(qtbot, ctl, "Replace current labels")
    assert ctl.doc.n_objects == int(truth.max())
    assert seg.with_name(seg.name + ".bak").read_bytes() == saved  # kept before replacing
    ctl.window.activateWindow()  # the question had the focus
    qtbot.waitUntil(ctl.window.isActiveWindow, timeout=3000)
    key(ctl.window, Qt.Key.Key_Z, CTRL)  # one undo step
    assert np.array_equal(ctl.doc.masks, drawn)
