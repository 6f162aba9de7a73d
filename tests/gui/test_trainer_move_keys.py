"""Arrow keys move the selected objects (1 px, Shift: 10 px), refused where they would
overlap another object or leave the image, one undo step per press -- real key events."""

from __future__ import annotations

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets
from trainer_gestures import click, key, trace

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
A = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]
B = [(220.0, 150.0), (260.0, 150.0), (260.0, 190.0), (220.0, 190.0)]


def shifted(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``mask`` moved by (dy, dx) px, computed independently (np.roll of a mask far from the
    border)."""
    return np.roll(mask, (dy, dx), axis=(0, 1))


def undo(trainer):
    key(trainer.window, Qt.Key.Key_Z, CTRL)


def status(trainer) -> str:
    return trainer.window.statusBar().currentMessage()


def test_arrows_move_selection_refuse_overlap_and_undo(trainer, qtbot, image_folder):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    trace(canvas, B)
    a, b = (int(i) for i in doc.object_ids())
    doc.assign_class([a], doc.add_class("moved"))  # the class must move with the object
    start = doc.masks.copy()
    classes = doc.classes
    own_a, own_b = start == a, start == b
    gap = int(np.flatnonzero(own_b[170])[0] - np.flatnonzero(own_a[170])[-1] - 1)
    assert gap > 12
    key(canvas, Qt.Key.Key_S)
    click(canvas, 170.0, 170.0)
    assert doc.selected == {a}
    path = trainer.files.path
    canvas.setFocus()

    key(canvas, Qt.Key.Key_Right)  # selected: moves instead of opening the next image
    assert trainer.files.path == path
    assert np.array_equal(doc.masks == a, shifted(own_a, 0, 1))
    key(canvas, Qt.Key.Key_Right, SHIFT)  # +10
    key(canvas, Qt.Key.Key_Down)
    key(canvas, Qt.Key.Key_Up)
    key(canvas, Qt.Key.Key_Up)
    assert np.array_equal(doc.masks == a, shifted(own_a, -1, 11))
    assert np.array_equal(doc.masks == b, own_b)  # the other object never changes
    assert np.array_equal(doc.classes, classes) and doc.selected == {a}
    assert "Moved 1 object(s)" in status(trainer)

    # step right until the next pixel would land on B: refused, masks identical
    moved = 11
    while moved < gap:
        key(canvas, Qt.Key.Key_Right)
        moved += 1
    assert np.array_equal(doc.masks == a, shifted(own_a, -1, gap))
    at_limit = doc.masks.copy()
    key(canvas, Qt.Key.Key_Right)
    assert np.array_equal(doc.masks, at_limit)
    assert "overlap" in status(trainer) and str(b) in status(trainer)
    key(canvas, Qt.Key.Key_Right, SHIFT)
    assert np.array_equal(doc.masks, at_limit)

    # one Ctrl+Z per press: back one pixel, then all the way to the start
    undo(trainer)
    assert np.array_equal(doc.masks == a, shifted(own_a, -1, gap - 1))
    presses = 5 + (gap - 11) - 1
    for _ in range(presses):
        undo(trainer)
    assert np.array_equal(doc.masks, start)
    assert np.array_equal(doc.classes, classes)

    # nothing selected: Right is the next image again (napari's rule)
    canvas.setFocus()
    key(canvas, Qt.Key.Key_A, CTRL | SHIFT)  # clear selection
    assert not doc.selected
    key(canvas, Qt.Key.Key_Right)
    assert trainer.files.path != path


def test_move_refused_at_the_image_border_and_held_key_is_one_step(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    a = int(doc.object_ids()[0])
    own = doc.masks == a
    top = int(np.flatnonzero(own.any(axis=1))[0])
    key(canvas, Qt.Key.Key_S)
    click(canvas, 170.0, 170.0)
    canvas.setFocus()
    # a held Up key: the first press then auto-repeats (as the keyboard sends them)
    key_events = [QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, Qt.Key.Key_Up.value,
                                  Qt.KeyboardModifier.ShiftModifier, "", autorep=i > 0)
                  for i in range(top // 10 + 3)]
    for ev in key_events:
        QtWidgets.QApplication.sendEvent(canvas, ev)
    steps = top // 10
    assert np.array_equal(doc.masks == a, shifted(own, -10 * steps, 0))
    assert "leave the image" in status(trainer)
    last = doc.masks.copy()
    for _ in range(top - 10 * steps):
        key(canvas, Qt.Key.Key_Up)
    assert (doc.masks == a)[0].any()  # touches the top row
    key(canvas, Qt.Key.Key_Up)
    assert "leave the image" in status(trainer)
    assert np.array_equal(doc.masks == a, shifted(own, -top, 0))
    for _ in range(top - 10 * steps):
        undo(trainer)
    assert np.array_equal(doc.masks, last)
    undo(trainer)  # the whole held key: one step
    assert np.array_equal(doc.masks == a, own)


def test_help_names_the_arrow_keys(trainer, qtbot):
    key(trainer.canvas, Qt.Key.Key_F1)
    dlg = trainer.menus.dialog
    qtbot.waitUntil(dlg.isVisible)
    table = dlg.findChild(QtWidgets.QTableWidget, "shortcut_table")
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    arrows = next(v for k, v in rows.items() if k.startswith("Arrow keys"))
    assert "Move the selected objects by 1 / 10 px" in arrows
    dlg.close()


def test_move_acts_on_the_current_plane_only(qtbot, wait_exposed, tmp_path):
    import tifffile
    from trainer_helpers import open_trainer

    ramp = np.add.outer(np.arange(64), np.arange(64)).astype(np.uint8) // 4
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.stack([ramp, ramp + 10]), imagej=True, metadata={"axes": "ZYX"})
    ctl = open_trainer(qtbot, wait_exposed, movie, region=((0, 64), (0, 64)))
    try:
        square = [(10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0)]
        trace(ctl.canvas, square)  # z = 0
        z0 = ctl.doc.masks.copy()
        ctl.canvas.setFocus()
        key(ctl.canvas, Qt.Key.Key_PageUp)  # z = 1
        assert ctl.files.z == 1 and not ctl.doc.masks.any()
        trace(ctl.canvas, square)
        z1 = ctl.doc.masks.copy()
        key(ctl.canvas, Qt.Key.Key_S)
        click(ctl.canvas, 20.0, 20.0)
        ctl.canvas.setFocus()
        key(ctl.canvas, Qt.Key.Key_Down, SHIFT)
        assert np.array_equal(ctl.doc.masks, shifted(z1, 10, 0))
        key(ctl.canvas, Qt.Key.Key_PageDown)  # z = 0: untouched
        assert ctl.files.z == 0 and np.array_equal(ctl.doc.masks, z0)
        key(ctl.canvas, Qt.Key.Key_PageUp)
        assert np.array_equal(ctl.doc.masks, shifted(z1, 10, 0))  # kept with its plane
    finally:
        ctl.doc.mark_saved()
        ctl.window.close()
        ctl.files.autosaver.shutdown()
