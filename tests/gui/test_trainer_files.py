"""Save / reopen, folder navigation with autosave, unreadable files, the home window."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import key, trace
from trainer_helpers import frame_region_on_screen, open_trainer, real_mask

import cellpose_io

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
A = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]
NAME = "fluorescence_02903040e19d"


def _new_trainer(qtbot, wait_exposed):
    ctl = open_trainer(qtbot, wait_exposed, size=None)
    ctl.window.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is ctl.window, timeout=1000)
    return ctl


def test_save_then_reopen_gives_identical_labels(qtbot, image_folder, wait_exposed):
    img = image_folder / f"{NAME}.png"
    mask = real_mask(NAME)
    classes = np.zeros(int(mask.max()) + 1, np.int32)
    classes[1::2] = 1
    classes[2::2] = 2
    cellpose_io.save_seg(img, mask, classes, ["background", "a", "b"],
                         [(0, 0, 0), (255, 0, 0), (0, 255, 0)])
    ctl = _new_trainer(qtbot, wait_exposed)
    ctl.files.set_autosave(False)
    assert ctl.files.open_path(img)
    assert np.array_equal(ctl.doc.masks, mask)
    assert np.array_equal(ctl.doc.classes, classes)
    frame_region_on_screen(ctl, qtbot, (0, 50), (290, 350))
    trace(ctl.canvas, [(5.0, 300.0), (40.0, 300.0), (40.0, 340.0), (5.0, 340.0)])
    ctl.doc.assign_class([int(np.max(ctl.doc.object_ids()))], 2)
    assert ctl.doc.dirty and ctl.window.isWindowModified()
    key(ctl.window, Qt.Key.Key_S, CTRL)
    assert not ctl.doc.dirty and not ctl.window.isWindowModified()
    masks, classes_now = ctl.doc.masks.copy(), ctl.doc.classes
    on_disk = cellpose_io.load_seg(cellpose_io.seg_path_for(img))
    assert np.array_equal(on_disk.masks, masks)
    other = _new_trainer(qtbot, wait_exposed)
    assert other.files.open_path(img)
    assert np.array_equal(other.doc.masks, masks)
    assert np.array_equal(other.doc.classes, classes_now)
    assert other.doc.class_table.names == ["background", "a", "b"]
    assert other.doc.class_table.colors[1] == (255, 0, 0)
    ctl.files.autosaver.shutdown()
    other.files.autosaver.shutdown()


def test_arrow_keys_navigate_and_autosave(trainer, qtbot, image_folder):
    files = sorted(image_folder.glob("*.png"))
    assert trainer.files.path == files[0]
    assert "0 labelled" in trainer.window.folder_label.text()
    trace(trainer.canvas, A)
    drawn = trainer.doc.masks.copy()
    trainer.canvas.setFocus()
    key(trainer.canvas, Qt.Key.Key_Right)
    assert trainer.files.path == files[1]
    assert trainer.doc.n_objects == 0 and not trainer.doc.can_undo  # history is per image
    trainer.files.autosaver.wait()
    qtbot.waitUntil(lambda: "1 labelled" in trainer.window.folder_label.text(), timeout=2000)
    saved = cellpose_io.load_seg(cellpose_io.seg_path_for(files[0]))
    assert np.array_equal(saved.masks, drawn)
    key(trainer.canvas, Qt.Key.Key_Left)
    assert trainer.files.path == files[0]
    assert np.array_equal(trainer.doc.masks, drawn)


def test_autosave_after_edit_without_navigation(trainer, qtbot, image_folder):
    trainer.files._timer.setInterval(10)
    trace(trainer.canvas, A)
    seg = cellpose_io.seg_path_for(trainer.files.path)
    qtbot.waitUntil(lambda: not trainer.doc.dirty, timeout=5000)
    assert np.array_equal(cellpose_io.load_seg(seg).masks, trainer.doc.masks)


def test_unreadable_image_shows_message_and_window_stays_usable(trainer, qtbot, image_folder):
    bad = image_folder / "broken.tif"
    bad.write_bytes(b"II*\x00 this is not a tiff at all")
    before = trainer.files.path
    assert not trainer.files.open_path(bad)
    box = trainer.window.message_box
    assert box is not None and box.isVisible() and "broken.tif" in box.text()
    assert not box.isModal()
    assert trainer.files.path == before
    trace(trainer.canvas, A)  # still editing the previous image
    assert trainer.doc.n_objects == 1
    box.close()


def test_unreadable_label_file_is_never_overwritten_by_autosave(qtbot, image_folder, wait_exposed):
    img = image_folder / f"{NAME}.png"
    seg = cellpose_io.seg_path_for(img)
    seg.write_bytes(b"garbage, not a numpy file")
    ctl = _new_trainer(qtbot, wait_exposed)
    ctl.files._timer.setInterval(5)
    assert ctl.files.open_path(img)
    assert ctl.window.message_box is not None
    ctl.window.message_box.close()
    frame_region_on_screen(ctl, qtbot, (140, 210), (140, 200))
    trace(ctl.canvas, A)
    qtbot.wait(50)
    ctl.files.autosaver.wait()
    assert seg.read_bytes() == b"garbage, not a numpy file"
    assert ctl.files.save()  # an explicit save keeps the old file aside
    assert (seg.parent / (seg.name + ".unreadable")).read_bytes() == b"garbage, not a numpy file"
    assert cellpose_io.load_seg(seg).max_id == ctl.doc.max_id
    ctl.files.autosaver.shutdown()


def test_home_window_opens_trainer_and_sample(qtbot, monkeypatch):
    from guv_app import gui_main

    keep: list = []
    home = gui_main._home_window(keep)
    qtbot.addWidget(home)
    home.show()
    qtbot.mouseClick(home.buttons["trainer"], Qt.MouseButton.LeftButton)
    assert keep and keep[0].window.isVisible()
    keep[0].window.close()
    img, seg = gui_main.sample_paths()
    assert cellpose_io.load_seg(seg).filename == str(img)  # the copy, not the install folder
    ctl = gui_main.resolve(gui_main.WINDOWS["trainer"][1])(img)
    qtbot.addWidget(ctl.window)
    assert ctl.doc.n_objects == 22
    assert ctl.doc.counts_per_class().tolist() == [0, 11, 11]
    assert isinstance(ctl.window, QtWidgets.QMainWindow)
    ctl.files.autosaver.shutdown()


def test_missing_window_entry_gives_a_closable_message(qtbot, monkeypatch):
    from guv_app import gui_main

    monkeypatch.setitem(gui_main.WINDOWS, "analyzer",
                        ("Analyzer", "guv_app.controllers.no_such_module:open_analyzer"))
    keep: list = []
    home = gui_main._home_window(keep)
    qtbot.addWidget(home)
    home.show()
    qtbot.mouseClick(home.buttons["analyzer"], Qt.MouseButton.LeftButton)
    assert keep == [] and home.message_box.isVisible()
    home.message_box.close()


def test_z_and_t_keys_change_the_plane_and_cursor_shows_values(qtbot, tmp_path, data_dir,
                                                                 wait_exposed):
    import shutil

    from PyQt6.QtTest import QTest
    from trainer_gestures import vp_point

    src = data_dir / "formats" / "nd2" / "cluster.nd2"
    shutil.copy2(src, tmp_path / src.name)
    ctl = _new_trainer(qtbot, wait_exposed)
    assert ctl.files.open_path(tmp_path / src.name)
    assert ctl.planes.shape == (2, 31, 38)
    first = ctl.planes.copy()
    ctl.canvas.setFocus()
    key(ctl.canvas, Qt.Key.Key_PageUp)
    assert (ctl.files.t, ctl.files.z) == (0, 1)
    assert not np.array_equal(ctl.planes, first)
    key(ctl.canvas, Qt.Key.Key_Period)
    assert (ctl.files.t, ctl.files.z) == (1, 1)
    image = cellpose_io.read_image(tmp_path / src.name)
    assert np.array_equal(ctl.planes, image.plane(1, 1))
    image.close()
    frame_region_on_screen(ctl, qtbot, (0, 38), (0, 31))  # on screen at any scale factor
    QTest.mouseMove(ctl.canvas.viewport(), vp_point(ctl.canvas, 10.5, 20.5))
    text = ctl.window.cursor_label.text()
    assert "x=10 y=20" in text and f"{ctl.planes[0, 20, 10]:g}" in text and "object=0" in text
    ctl.files.autosaver.shutdown()


def test_close_with_autosave_off_asks_first(trainer, qtbot):
    trainer.files.set_autosave(False)
    trace(trainer.canvas, A)
    seg = cellpose_io.seg_path_for(trainer.files.path)
    Btn = QtWidgets.QMessageBox.StandardButton

    def answer(button) -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        assert isinstance(box, QtWidgets.QMessageBox) and "Save the changes" in box.text()
        box.button(button).click()

    QtCore.QTimer.singleShot(50, lambda: answer(Btn.Cancel))
    assert not trainer.window.close()
    assert trainer.window.isVisible() and not seg.exists()
    QtCore.QTimer.singleShot(50, lambda: answer(Btn.Save))
    assert trainer.window.close()
    assert np.array_equal(cellpose_io.load_seg(seg).masks, trainer.doc.masks)
