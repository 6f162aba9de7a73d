"""Viewing in the Trainer with real events: drop a file, zoom/pan, series, channel contrast,
overlay opacity, and the unsaved-changes mark in the title."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets
from PyQt6.QtTest import QTest
from trainer_gestures import key, screen_rgb, trace, vp_point
from trainer_helpers import LIF, open_trainer

import cellpose_io

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
A = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]


@pytest.fixture
def lif_trainer(qtbot, lif_file, wait_exposed):
    ctl = open_trainer(qtbot, wait_exposed, lif_file, region=((0, 64), (0, 64)))
    yield ctl
    ctl.window.close()
    ctl.files.autosaver.shutdown()


def _shown_title(win: QtWidgets.QWidget) -> str:
    """The title the window system shows ("[*]" replaced by "*" or nothing)."""
    return win.windowHandle().title()


def _drop(widget: QtWidgets.QWidget, paths: list[Path]) -> bool:
    """Drag enter + drop of local files at the centre of ``widget``, as the window system
    delivers them (through QApplication.notify, so propagation to parents happens)."""
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QtCore.QPointF(widget.rect().center())
    action = Qt.DropAction.CopyAction
    enter = QtGui.QDragEnterEvent(pos.toPoint(), action, mime, Qt.MouseButton.LeftButton,
                                  Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QtGui.QDropEvent(pos, action, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, drop)
    return True


def _view_width(canvas) -> float:
    (x0, x1), _ = canvas.vb.viewRange()
    return x1 - x0


# ------------------------------------------------------------------- drag and drop
@pytest.mark.parametrize("target", ["window", "canvas"])
def test_dropping_an_image_file_opens_it(trainer, qtbot, lif_file, target):
    win = trainer.window
    widget = win if target == "window" else trainer.canvas.viewport()
    assert _drop(widget, [lif_file])
    qtbot.waitUntil(lambda: trainer.files.path == lif_file, timeout=2000)
    expected = cellpose_io.read_image(lif_file).plane()
    assert trainer.planes.shape == (2, 64, 64)
    assert np.array_equal(trainer.planes, expected)
    assert trainer.doc.masks.shape == (64, 64)
    assert trainer.canvas.image_item.image.shape == (64, 64, 3)
    assert LIF in win.windowTitle() and LIF in _shown_title(win)


def test_dropping_an_unreadable_file_keeps_the_image(trainer, qtbot, tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff at all")
    before, shape = trainer.files.path, trainer.planes.shape
    assert _drop(trainer.window, [bad])
    qtbot.waitUntil(lambda: trainer.window.message_box is not None, timeout=2000)
    assert "broken.tif" in trainer.window.message_box.text()
    assert trainer.files.path == before and trainer.planes.shape == shape
    trainer.window.message_box.close()


# -------------------------------------------------------------------- zoom and pan
def _wheel(canvas, x: float, y: float, steps: int) -> None:
    vp = canvas.viewport()
    pos = QtCore.QPointF(vp_point(canvas, x, y))
    ev = QtGui.QWheelEvent(pos, QtCore.QPointF(vp.mapToGlobal(pos.toPoint())),
                           QtCore.QPoint(0, 0), QtCore.QPoint(0, 120 * steps),
                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                           Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(vp, ev)


def test_wheel_zooms_about_the_cursor(trainer, qtbot):
    canvas = trainer.canvas
    w0 = _view_width(canvas)
    _wheel(canvas, 175.0, 170.0, +2)
    w1 = _view_width(canvas)
    assert w1 < 0.9 * w0
    # the image point under the cursor stays under it
    p = canvas.vb.mapSceneToView(canvas.mapToScene(vp_point(canvas, 175.0, 170.0)))
    assert abs(p.x() - 175.0) < 2 and abs(p.y() - 170.0) < 2
    _wheel(canvas, 175.0, 170.0, -2)
    assert _view_width(canvas) == pytest.approx(w0, rel=0.02)
    _wheel(canvas, 175.0, 170.0, -2)
    assert _view_width(canvas) > 1.1 * w0


def test_zoom_keys_and_fit(trainer, qtbot):
    canvas = trainer.canvas
    canvas.setFocus()
    w0 = _view_width(canvas)
    key(canvas, Qt.Key.Key_Plus)
    assert _view_width(canvas) == pytest.approx(w0 / 1.25, rel=0.01)
    key(canvas, Qt.Key.Key_Equal)
    assert _view_width(canvas) == pytest.approx(w0 / 1.25**2, rel=0.01)
    key(canvas, Qt.Key.Key_Minus)
    key(canvas, Qt.Key.Key_Minus)
    key(canvas, Qt.Key.Key_Minus)
    assert _view_width(canvas) == pytest.approx(w0 * 1.25, rel=0.01)
    h, w = trainer.planes.shape[1:]
    key(canvas, Qt.Key.Key_0)  # fit: the whole image is in view
    (x0, x1), (y0, y1) = canvas.vb.viewRange()
    assert x0 <= 0 and x1 >= w and y0 <= 0 and y1 >= h
    assert min(x1 - x0 - w, y1 - y0 - h) < 0.05 * w  # and fills one direction


def test_left_drag_with_select_tool_pans(trainer, qtbot):
    canvas = trainer.canvas
    vp = canvas.viewport()
    (x0, x1), (y0, y1) = canvas.vb.viewRange()
    start, end = vp_point(canvas, 200.0, 200.0), vp_point(canvas, 160.0, 180.0)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 11):  # screen positions fixed up front: the view moves under them
        QTest.mouseMove(vp, start + (end - start) * (k / 10))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    (u0, u1), (v0, v1) = canvas.vb.viewRange()
    assert u1 - u0 == pytest.approx(x1 - x0, rel=1e-3)  # same zoom
    assert u0 - x0 == pytest.approx(40.0, abs=1.5)  # content follows the mouse
    assert v0 - y0 == pytest.approx(20.0, abs=1.5)
    assert trainer.doc.object_ids().size == 0  # panning edits nothing


# ------------------------------------------------------------------------- series
def test_choosing_another_series_shows_its_pixels(lif_trainer, qtbot, lif_file):
    ctl, win = lif_trainer, lif_trainer.window
    combo = win.channel_panel.series
    assert combo.count() == 4 and combo.isEnabled()
    s0 = cellpose_io.read_image(lif_file, series=0).plane()
    s1 = cellpose_io.read_image(lif_file, series=1).plane()
    # a pixel where the two tiles differ a lot in channel 0 (shown green)
    diff = np.abs(s0[0].astype(int) - s1[0].astype(int))
    r, c = np.unravel_index(int(np.argmax(diff)), diff.shape)
    assert diff[r, c] > 60
    before = screen_rgb(win, ctl.canvas, c + 0.5, r + 0.5)
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert ctl.files.series == 1
    assert np.array_equal(ctl.planes, s1)
    assert LIF in _shown_title(win)
    after = screen_rgb(win, ctl.canvas, c + 0.5, r + 0.5)
    assert abs(after[1] - before[1]) > 40
    assert (after[1] > before[1]) == (s1[0, r, c] > s0[0, r, c])


def test_series_change_resets_the_z_and_t_controls(lif_trainer, qtbot, lif_file):
    ctl, panel = lif_trainer, lif_trainer.window.channel_panel
    ctl.canvas.setFocus()
    key(ctl.canvas, Qt.Key.Key_PageUp)
    key(ctl.canvas, Qt.Key.Key_Period)
    assert (ctl.files.t, ctl.files.z) == (1, 1) == (panel.t.value(), panel.z.value())
    panel.series.setFocus()
    QTest.keyClick(panel.series, Qt.Key.Key_Down)
    assert ctl.files.series == 1
    assert (ctl.files.t, ctl.files.z) == (0, 0) == (panel.t.value(), panel.z.value())
    ctl.canvas.setFocus()
    key(ctl.canvas, Qt.Key.Key_PageUp)
    assert (ctl.files.t, ctl.files.z) == (0, 1)
    expected = cellpose_io.read_image(lif_file, series=1).plane(0, 1)
    assert np.array_equal(ctl.planes, expected)


# ------------------------------------------------------------------ channel display
def test_channel_max_slider_and_visibility_change_screen_pixels(lif_trainer, qtbot):
    ctl, win = lif_trainer, lif_trainer.window
    rows = win.channel_panel.rows
    assert len(rows) == 2
    # channel 0 is green, channel 1 magenta: screen green comes from channel 0 only
    assert [r.color.currentText() for r in rows] == ["green", "magenta"]
    p = ctl.planes[0]
    mid = np.argwhere((p > 0.3 * p.max()) & (p < 0.6 * p.max()))
    r, c = (int(v) for v in mid[len(mid) // 2])
    x, y = c + 0.5, r + 0.5
    g0 = screen_rgb(win, ctl.canvas, x, y)[1]
    assert 10 < g0 < 250
    high = rows[0].high
    high.setFocus()
    QTest.keyClick(high, Qt.Key.Key_Home)  # max down to the bottom: channel saturates
    assert ctl.displays[0].high < ctl.displays[0].low + 1e-6
    g1 = screen_rgb(win, ctl.canvas, x, y)[1]
    assert g1 > g0 + 20
    assert g1 == 255 or p[r, c] <= ctl.displays[0].low
    QTest.keyClick(high, Qt.Key.Key_End)  # max up to the channel's maximum: dimmer
    assert screen_rgb(win, ctl.canvas, x, y)[1] <= g0
    magenta = screen_rgb(win, ctl.canvas, x, y)
    box = rows[0].visible
    box.setFocus()
    QTest.keyClick(box, Qt.Key.Key_Space)  # channel 0 off: no green left anywhere
    assert not box.isChecked() and not ctl.displays[0].visible
    assert ctl.canvas.image_item.image[..., 1].max() == 0
    off = screen_rgb(win, ctl.canvas, x, y)
    assert off[1] == 0 and (off[0], off[2]) == (magenta[0], magenta[2])
    QTest.keyClick(box, Qt.Key.Key_Space)
    assert screen_rgb(win, ctl.canvas, x, y) == magenta


# ------------------------------------------------------------------------ overlay
def test_opacity_slider_blends_overlay_on_screen(trainer, qtbot):
    win, canvas = trainer.window, trainer.canvas
    win.tool_panel.mode.setCurrentText("hidden")
    image_rgb = np.array(screen_rgb(win, canvas, 175.0, 170.0), float)
    win.tool_panel.mode.setCurrentText("filled")
    trace(canvas, A)
    obj = int(trainer.doc.object_ids()[0])
    packed = np.array([canvas.overlay.lut[obj]], np.uint32).view(np.uint8)
    label_rgb = packed[:3].astype(float)
    assert np.abs(label_rgb - image_rgb).max() > 60  # the two are distinguishable
    slider = win.tool_panel.opacity
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key.Key_End)
    assert slider.value() == 100
    full = np.array(screen_rgb(win, canvas, 175.0, 170.0), float)
    assert np.abs(full - label_rgb).max() <= 2
    QTest.keyClick(slider, Qt.Key.Key_Home)
    none = np.array(screen_rgb(win, canvas, 175.0, 170.0), float)
    assert np.abs(none - image_rgb).max() <= 2
    for _ in range(5):  # 5 page steps of 10 = 50 %
        QTest.keyClick(slider, Qt.Key.Key_PageUp)
    assert slider.value() == 50
    half = np.array(screen_rgb(win, canvas, 175.0, 170.0), float)
    assert np.abs(half - (image_rgb + label_rgb) / 2).max() <= 4


# ------------------------------------------------------------------ unsaved changes
def test_title_marks_unsaved_changes_until_saved(trainer, qtbot):
    trainer.files.set_autosave(False)
    try:  # a failure must not leave a modal "save changes?" question blocking the teardown
        _check_title_marks(trainer, qtbot)
    finally:
        trainer.files.set_autosave(True)


def _check_title_marks(trainer, qtbot) -> None:
    win = trainer.window
    name = trainer.files.path.name
    clean = f"{name} — MultiCellPose Trainer"
    assert _shown_title(win) == clean
    trace(trainer.canvas, A)
    assert win.isWindowModified()
    assert _shown_title(win) == f"{name}* — MultiCellPose Trainer"
    qtbot.wait(TRAINER_AUTOSAVE_WAIT_MS)  # autosave is off: nothing clears the mark
    assert _shown_title(win).startswith(f"{name}*")
    key(win, Qt.Key.Key_S, CTRL)
    assert not win.isWindowModified() and _shown_title(win) == clean
    seg = cellpose_io.seg_path_for(trainer.files.path)
    assert np.array_equal(cellpose_io.load_seg(seg).masks, trainer.doc.masks)
    key(win, Qt.Key.Key_Z, CTRL)  # undoing the saved edit is an unsaved change again
    assert _shown_title(win).startswith(f"{name}*")
    key(win, Qt.Key.Key_S, CTRL)
    assert _shown_title(win) == clean
    assert cellpose_io.load_seg(seg).masks.max() == 0


def test_title_mark_clears_after_autosave(trainer, qtbot):
    win = trainer.window
    assert trainer.files.autosave
    trace(trainer.canvas, A)
    assert "*" in _shown_title(win)
    qtbot.waitUntil(lambda: not win.isWindowModified(), timeout=5000)
    assert "*" not in _shown_title(win)
    assert cellpose_io.seg_path_for(trainer.files.path).exists()


TRAINER_AUTOSAVE_WAIT_MS = 1700  # just past TrainerFiles.AUTOSAVE_DELAY_MS
