"""What Cellpose / napari / QuPath users expect around the tools: keys, wheel, undo of class
removal, edits that say what happened, status bar, help, settings. Real key/mouse events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets
from PyQt6.QtTest import QTest
from trainer_gestures import drag, key, trace
from trainer_helpers import open_trainer, real_mask

from guv_app.views.trainer.canvas import Tool

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
NAME = "fluorescence_02903040e19d"
RECT = [(150.0, 150.0), (210.0, 150.0), (210.0, 190.0), (150.0, 190.0)]


@pytest.fixture
def lif_trainer_habits(qtbot, wait_exposed, lif_file):
    ctl = open_trainer(qtbot, wait_exposed, lif_file)
    yield ctl
    ctl.window.close()
    ctl.files.autosaver.shutdown()


def _wheel(widget, steps: int) -> None:
    pos = QtCore.QPointF(widget.rect().center())
    ev = QtGui.QWheelEvent(pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())),
                           QtCore.QPoint(0, 0), QtCore.QPoint(0, 120 * steps),
                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                           Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(widget, ev)


def _status(ctl) -> str:
    return ctl.window.statusBar().currentMessage()


def test_tool_and_number_keys_work_from_the_class_list_without_type_ahead(trainer, qtbot):
    ctl = trainer
    for name in ("bacteria", "kidney", "quiet"):
        ctl.add_class(name)
    panel = ctl.window.class_panel
    rect = panel.list.visualItemRect(panel.list.item(1))
    QTest.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.list.hasFocus() and ctl.doc.current_class == 1
    key(panel.list, Qt.Key.Key_K)  # a tool key, not a jump to "kidney"
    assert ctl.canvas.tool == Tool.SPLIT and ctl.doc.current_class == 1
    key(panel.list, Qt.Key.Key_Q)  # no shortcut: still no jump to "quiet"
    assert ctl.doc.current_class == 1
    key(panel.list, Qt.Key.Key_B)
    assert ctl.canvas.tool == Tool.BRUSH
    key(panel.list, Qt.Key.Key_3)  # number keys pick classes
    assert ctl.doc.current_class == 3 and panel.list.currentRow() == 3
    combo = ctl.window.tool_panel.mode
    combo.setFocus()
    key(combo, Qt.Key.Key_H)  # would type-ahead to "hidden"
    assert combo.currentText() == "filled"
    key(combo, Qt.Key.Key_2)
    assert ctl.doc.current_class == 2


def test_wheel_over_an_unfocused_spin_box_does_not_change_it(trainer, qtbot):
    ctl = trainer
    spin = ctl.window.tool_panel.brush_size
    ctl.canvas.setFocus()
    before = spin.value()
    _wheel(spin, +3)
    assert spin.value() == before
    spin.setFocus()
    _wheel(spin, +3)  # a focused spin box still follows the wheel
    assert spin.value() == before + 3


def test_wheel_in_training_dialog_leaves_values_alone(trainer, qtbot):
    from guv_app.controllers.training_attach import attach_training

    ctl = trainer
    hookup = attach_training(ctl)
    key(ctl.canvas, Qt.Key.Key_T, CTRL)
    dlg = hookup.training.dialog
    qtbot.waitUntil(dlg.isVisible)
    spins = [s for s in dlg.findChildren(QtWidgets.QAbstractSpinBox)
             if s.isEnabled() and not s.hasFocus()]
    assert spins
    before = [s.text() for s in spins]
    for s in spins:
        _wheel(s, -2)
    assert [s.text() for s in spins] == before
    dlg.close()
    hookup.shutdown()


def test_undo_of_class_removal_restores_the_current_class(trainer, qtbot):
    ctl = trainer
    for name in ("alive", "dead", "dividing"):
        ctl.add_class(name)
    panel = ctl.window.class_panel
    key(ctl.canvas, Qt.Key.Key_2)
    assert ctl.doc.current_class == 2
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    panel.dialog.setTextValue("dividing")
    panel.dialog.accept()
    assert ctl.doc.class_table.names == ["background", "alive", "dividing"]
    assert ctl.doc.current_class == 2  # "dividing", renumbered
    ctl.window.activateWindow()
    key(ctl.canvas, Qt.Key.Key_Z, CTRL)
    assert ctl.doc.class_table.names[2] == "dead"
    assert ctl.doc.current_class == 2 and panel.list.currentRow() == 2


def test_merging_objects_that_do_not_touch_warns(trainer, qtbot):
    ctl = trainer
    trace(ctl.canvas, RECT)
    trace(ctl.canvas, [(230.0, 150.0), (260.0, 150.0), (260.0, 190.0), (230.0, 190.0)])
    ctl.set_tool(Tool.RECT_SELECT)
    drag(ctl.canvas, [(140.0, 140.0), (270.0, 200.0)])
    assert len(ctl.doc.selected) == 2
    assert ctl.window.selection_label.text() == "2 selected"
    key(ctl.canvas, Qt.Key.Key_M)
    assert ctl.doc.n_objects == 1
    box = ctl.window.message_box
    assert box is not None and "do not touch" in box.text() and "2 separate parts" in box.text()
    box.close()


def test_erase_that_cuts_an_object_gives_two_objects(trainer, qtbot):
    ctl = trainer
    trace(ctl.canvas, RECT)
    cls_before = ctl.doc.current_class
    key(ctl.canvas, Qt.Key.Key_E)
    ctl.window.tool_panel.brush_size.setValue(8)
    drag(ctl.canvas, [(180.0, 140.0), (180.0, 200.0)])
    assert ctl.doc.n_objects == 2
    assert "cut 1 object" in _status(ctl)
    parts = [int((ctl.doc.masks == i).sum()) for i in ctl.doc.object_ids()]
    assert min(parts) > 500  # two real halves, not a sliver
    assert {ctl.doc.class_of(int(i)) for i in ctl.doc.object_ids()} == {cls_before}
    key(ctl.window, Qt.Key.Key_Z, CTRL)  # the stroke and the separation are one step
    assert ctl.doc.n_objects == 1


def test_split_line_that_crosses_nothing_says_so(trainer, qtbot):
    ctl = trainer
    trace(ctl.canvas, RECT)
    key(ctl.canvas, Qt.Key.Key_K)
    drag(ctl.canvas, [(230.0, 140.0), (232.0, 200.0)])
    assert ctl.doc.n_objects == 1
    assert "cuts no object" in _status(ctl)


def test_readout_follows_image_changes_under_a_still_mouse(trainer, qtbot):
    ctl = trainer
    ctl.doc.import_labels(real_mask(NAME), mode="replace")
    ys, xs = np.nonzero(real_mask(NAME))
    k = int(np.argmin((xs - 175) ** 2 + (ys - 170) ** 2))  # inside the framed region
    x, y = float(xs[k]) + 0.5, float(ys[k]) + 0.5
    QTest.mouseMove(ctl.canvas.viewport(), ctl.canvas.view_to_widget(x, y))
    qtbot.waitUntil(lambda: "object=" in ctl.window.cursor_label.text(), timeout=2000)
    text = ctl.window.cursor_label.text()
    assert "object=0" not in text
    key(ctl.canvas, Qt.Key.Key_Right)  # next image, mouse not moved
    assert ctl.window.cursor_label.text() != text
    assert "object=0" in ctl.window.cursor_label.text()  # the new image has no labels


def test_help_lists_every_shortcut_from_the_actions(trainer, qtbot):
    ctl = trainer
    key(ctl.canvas, Qt.Key.Key_F1)
    dlg = ctl.menus.dialog
    qtbot.waitUntil(dlg.isVisible)
    table = dlg.findChild(QtWidgets.QTableWidget, "shortcut_table")
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    for act in ctl.window.actions.values():
        if act.shortcuts():
            assert act.text().replace("&", "").rstrip("…") in rows
    assert rows["Import labels"] == QtGui.QKeySequence("Ctrl+I").toString(
        QtGui.QKeySequence.SequenceFormat.NativeText)
    assert any("Trace" in v for v in rows)  # right-click tracing is explained
    dlg.close()


def test_first_run_hint_once(qtbot, wait_exposed):
    ctl = open_trainer(qtbot, wait_exposed)
    assert ctl.menus.hint.isVisible() and "Right-click" in ctl.menus.hint.text()
    ctl2 = open_trainer(qtbot, wait_exposed)
    assert not ctl2.menus.hint.isVisible()


def test_recent_files_open_folder_and_settings_under_home(trainer, qtbot, image_folder,
                                                         _isolated_home):
    ctl = trainer
    key(ctl.canvas, Qt.Key.Key_Right)
    recent = ctl.menus.recent()
    assert recent[:2] == [str(ctl.files.folder[1]), str(ctl.files.folder[0])]
    assert all(Path(p).is_absolute() for p in recent)
    ctl.menus._fill_recent()
    acts = ctl.menus.recent_menu.actions()
    acts[1].trigger()  # back to the first image through File ▸ Open recent
    assert ctl.files.path == ctl.files.folder[0]
    key(ctl.canvas, Qt.Key.Key_O, CTRL | Qt.KeyboardModifier.ShiftModifier)
    dlg = ctl.menus.dialog
    qtbot.waitUntil(dlg.isVisible)
    dlg.selectFile(str(image_folder))
    dlg.accept()
    assert ctl.files.index == 0 and len(ctl.files.folder) == 3
    ini = _isolated_home / "settings" / "gui.ini"
    ctl.files.settings.sync()
    assert ini.is_file() and str(image_folder) in ini.read_text()


def test_open_dialog_filters_image_types(trainer, qtbot):
    key(trainer.canvas, Qt.Key.Key_O, CTRL)
    dlg = trainer.window.open_dialog
    filters = dlg.nameFilters()
    assert filters[0].startswith("Images (") and "*.tif" in filters[0] and "*.lif" in filters[0]
    assert "_seg.npy" in filters[1]
    dlg.reject()


def test_classes_and_colour_by_class_remembered_per_folder(trainer, qtbot, image_folder,
                                                          tmp_path):
    ctl = trainer
    ctl.add_class("nucleus")
    key(ctl.canvas, Qt.Key.Key_C)
    assert ctl.color_by_class
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.png").write_bytes((image_folder / f"{NAME}.png").read_bytes())
    ctl.files.open_path(other / "x.png")
    key(ctl.canvas, Qt.Key.Key_C)  # another folder: colour by class off there
    ctl.doc.reset(ctl.doc.masks.copy())  # and no classes
    ctl.files.open_path(image_folder / "fluorescence_573e1480b500.png")
    assert ctl.doc.class_table.names == ["background", "nucleus"]
    assert ctl.color_by_class and ctl.window.actions["color_by_class"].isChecked()
    ctl.files.open_path(other / "x.png")
    assert not ctl.color_by_class


def test_auto_contrast_changes_only_min_max(lif_trainer_habits, qtbot):
    ctl = lif_trainer_habits
    row = ctl.window.channel_panel.rows[0]
    row.color.setCurrentText("yellow")
    row.visible.setChecked(False)
    row.high.setValue(100)
    qtbot.mouseClick(ctl.window.channel_panel.auto, Qt.MouseButton.LeftButton)
    row = ctl.window.channel_panel.rows[0]
    assert row.color.currentText() == "yellow" and not row.visible.isChecked()
    assert ctl.displays[0].color == "yellow" and not ctl.displays[0].visible
    assert row.high.value() != 100
    assert (row.vmin, row.vmax) == (0.0, 255.0)  # 8-bit data: the slider spans the type


def test_side_panel_fits_1280x800_with_8_classes_and_4_channels(qtbot, wait_exposed, tmp_path):
    import tifffile

    path = tmp_path / "four.tif"
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 4000, (4, 64, 64), np.uint16),
                     photometric="minisblack", metadata={"axes": "CYX"})
    ctl = open_trainer(qtbot, wait_exposed, path, size=(1280, 800))
    for k in range(8):
        ctl.add_class(f"class number {k + 1}")
    qtbot.wait(50)
    scroll = ctl.window.side_scroll
    assert len(ctl.window.channel_panel.rows) == 4
    ctl.window.grab().save(str(tmp_path / "trainer_1280x800.png"))
    assert not scroll.verticalScrollBar().isVisible()
    lst = ctl.window.class_panel.list
    assert lst.verticalScrollBar().maximum() == 0  # every class row visible


def test_window_layout_is_remembered(qtbot, wait_exposed):
    ctl = open_trainer(qtbot, wait_exposed, size=(640, 560))  # fits the offscreen screen
    ctl.window.close()
    ctl.files.autosaver.shutdown()
    ctl2 = open_trainer(qtbot, wait_exposed, size=None)
    assert (ctl2.window.width(), ctl2.window.height()) == (640, 560)


def test_slider_ranges_widen_for_brighter_planes():
    from guv_app.views.trainer.composite import slider_ranges

    dim = np.full((1, 4, 4), 100, np.uint16)
    dim[0, 0, 0] = 10
    bright = np.full((1, 4, 4), 3000, np.uint16)
    first = slider_ranges(dim)
    assert first == [(10.0, 100.0)]
    assert slider_ranges(bright, first) == [(10.0, 3000.0)]
    assert slider_ranges(np.zeros((2, 3, 3), np.uint8)) == [(0.0, 255.0)] * 2


def test_digits_typed_into_a_spin_box_stay_there(trainer, qtbot):
    ctl = trainer
    ctl.add_class("a")
    ctl.add_class("b")
    ctl.pick_class(0)
    spin = ctl.window.tool_panel.brush_size
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "12")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert spin.value() == 12 and ctl.doc.current_class == 0  # no class picked by "1"/"2"


def test_lasso_delete_that_encloses_nothing_says_so(trainer, qtbot):
    ctl = trainer
    trace(ctl.canvas, RECT)
    key(ctl.canvas, Qt.Key.Key_X)
    drag(ctl.canvas, [(230.0, 200.0), (260.0, 200.0), (260.0, 240.0), (230.0, 240.0)],
         closed=True)
    assert ctl.doc.n_objects == 1 and "nothing deleted" in _status(ctl)
    drag(ctl.canvas, [(140.0, 140.0), (220.0, 140.0), (220.0, 200.0), (140.0, 200.0)],
         closed=True)
    assert ctl.doc.n_objects == 0 and "Deleted 1 object" in _status(ctl)
