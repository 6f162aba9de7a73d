"""Classes through the panel (add / assign / remove), colour by class on screen, undo."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import click, key, screen_rgb, trace

Qt = QtCore.Qt
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
A = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]
B = [(220.0, 150.0), (260.0, 150.0), (260.0, 190.0), (220.0, 190.0)]


def _add_class(panel, qtbot, name: str) -> None:
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    dlg = panel.dialog
    assert isinstance(dlg, QtWidgets.QInputDialog) and dlg.isVisible()
    dlg.setTextValue(name)
    dlg.accept()
    _back_to(panel.window(), qtbot)


def _back_to(win, qtbot) -> None:
    """After a dialog closes, keyboard shortcuts go to the main window again."""
    win.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is win, timeout=1000)


def test_add_assign_remove_class_with_undo(trainer, qtbot):
    doc, canvas, panel = trainer.doc, trainer.canvas, trainer.window.class_panel
    _add_class(panel, qtbot, "dividing")
    _add_class(panel, qtbot, "dead")
    assert doc.class_table.names == ["background", "dividing", "dead"]
    assert panel.list.count() == 3 and panel.current_class() == 2
    trace(canvas, A)   # new objects get the current class
    a = int(doc.object_ids()[0])
    assert doc.class_of(a) == 2
    panel.list.setCurrentRow(0)  # "no class": new objects unassigned
    trace(canvas, B)
    b = int(max(doc.object_ids()))
    assert doc.class_of(b) == 0
    panel.list.setCurrentRow(1)
    click(canvas, 240.0, 170.0, mods=SHIFT)  # Shift+click assigns the current class
    assert doc.class_of(b) == 1
    assert doc.counts_per_class().tolist() == [0, 1, 1]
    qtbot.waitUntil(lambda: "(1)" in panel.list.item(1).text(), timeout=1000)
    # remove "dividing", moving its objects to "dead"
    panel.list.setCurrentRow(1)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    dlg = panel.dialog
    dlg.setTextValue("dead")
    dlg.accept()
    _back_to(trainer.window, qtbot)
    assert doc.class_table.names == ["background", "dead"]
    assert doc.class_of(a) == 1 and doc.class_of(b) == 1
    key(trainer.window, Qt.Key.Key_Z, CTRL)
    assert doc.class_table.names == ["background", "dividing", "dead"]
    assert doc.class_of(a) == 2 and doc.class_of(b) == 1
    key(trainer.window, Qt.Key.Key_Z, CTRL)
    assert doc.class_of(b) == 0


def test_duplicate_class_name_shows_message(trainer, qtbot):
    panel = trainer.window.class_panel
    _add_class(panel, qtbot, "live")
    _add_class(panel, qtbot, "live")
    assert trainer.doc.class_table.names == ["background", "live"]
    assert trainer.window.message_box is not None
    trainer.window.message_box.close()


def test_colour_by_class_changes_screen_pixels(trainer, qtbot):
    doc, canvas, win = trainer.doc, trainer.canvas, trainer.window
    win.tool_panel.opacity.setValue(100)
    doc.add_class("red class", (255, 0, 0))
    trace(canvas, A)
    obj = int(doc.object_ids()[0])
    assert doc.class_of(obj) == 1
    qtbot.wait(10)
    inst = screen_rgb(win, canvas, 175.0, 170.0)
    assert inst != (255, 0, 0)
    key(canvas, Qt.Key.Key_C)
    assert trainer.color_by_class and win.tool_panel.color_by_class.isChecked()
    assert screen_rgb(win, canvas, 175.0, 170.0) == (255, 0, 0)
    # recolour the class: pixels follow; undo brings the old colour back
    doc.recolour_class(1, (0, 0, 255))
    assert screen_rgb(win, canvas, 175.0, 170.0) == (0, 0, 255)
    key(win, Qt.Key.Key_Z, CTRL)
    assert screen_rgb(win, canvas, 175.0, 170.0) == (255, 0, 0)
    # hiding the class makes its objects disappear from the overlay
    win.class_panel.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert screen_rgb(win, canvas, 175.0, 170.0) != (255, 0, 0)
    win.class_panel.list.item(1).setCheckState(Qt.CheckState.Checked)
    key(canvas, Qt.Key.Key_C)
    assert screen_rgb(win, canvas, 175.0, 170.0) == inst
    # the image itself under the object is shown when masks are hidden
    win.tool_panel.mode.setCurrentText("hidden")
    assert screen_rgb(win, canvas, 175.0, 170.0) != inst
    assert np.array_equal(np.unique(doc.masks), [0, obj])
