"""Every series of a multi-series file keeps its own labels, one file per plane
(``cellpose_io.plane_tag``): this LIF's tiles are Z/T stacks, so the first plane of series 0
is ``<stem>_t0_z0_seg.npy`` and of series k ``<stem>_s{k}_t0_z0_seg.npy`` (real 4-tile LIF,
real mouse events)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6 import QtCore, QtWidgets
from PyQt6.QtTest import QTest
from trainer_gestures import trace
from trainer_helpers import LIF, frame_region_on_screen, open_trainer

import cellpose_io

Qt = QtCore.Qt
SQUARE = [(10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0)]  # series 0
TRIANGLE = [(36.0, 36.0), (58.0, 36.0), (36.0, 58.0)]  # series 1, elsewhere


def _open(qtbot, wait_exposed, path: Path):
    return open_trainer(qtbot, wait_exposed, path, region=((0, 64), (0, 64)))


def _close(ctl) -> None:
    ctl.window.close()
    ctl.files.autosaver.shutdown()


def _choose_series(ctl, qtbot, series: int) -> None:
    combo = ctl.window.channel_panel.series
    combo.setFocus()
    while combo.currentIndex() != series:
        QTest.keyClick(combo, Qt.Key.Key_Down if combo.currentIndex() < series else Qt.Key.Key_Up)
    assert ctl.files.series == series
    frame_region_on_screen(ctl, qtbot, (0, 64), (0, 64))  # a new series resets the view


def _draw(ctl, qtbot, pts) -> None:
    with qtbot.waitSignal(ctl.canvas.traceFinished):
        trace(ctl.canvas, pts)


def test_each_series_keeps_and_saves_its_own_labels(qtbot, wait_exposed, lif_file):
    seg0 = lif_file.with_name(lif_file.stem + "_t0_z0_seg.npy")
    seg1 = lif_file.with_name(lif_file.stem + "_s1_t0_z0_seg.npy")
    assert cellpose_io.seg_path_for(lif_file, series=1, t=0, z=0) == seg1
    ctl = _open(qtbot, wait_exposed, lif_file)
    try:
        _draw(ctl, qtbot, SQUARE)
        square = ctl.doc.masks > 0
        assert ctl.doc.n_objects == 1 and square[20, 20] and not square[50, 40]

        _choose_series(ctl, qtbot, 1)
        assert ctl.doc.n_objects == 0 and not ctl.doc.masks.any()  # nothing carried over
        _draw(ctl, qtbot, TRIANGLE)
        triangle = ctl.doc.masks > 0
        assert ctl.doc.n_objects == 1 and triangle[40, 40] and not triangle[20, 20]

        _choose_series(ctl, qtbot, 0)
        assert ctl.doc.n_objects == 1
        assert np.array_equal(ctl.doc.masks > 0, square)
        assert not ctl.window.isWindowModified()
        ctl.files.autosaver.wait()
        assert ctl.window.folder_label.text().endswith("2 labelled")
    finally:
        _close(ctl)

    s0, s1 = cellpose_io.load_seg(seg0), cellpose_io.load_seg(seg1)
    assert np.array_equal(s0.masks > 0, square) and np.array_equal(s1.masks > 0, triangle)
    assert "series" not in s0.extra and "series" not in s1.extra  # the file name says it
    assert sorted(p.name for p in lif_file.parent.glob("*_seg.npy")) == sorted(
        [seg0.name, seg1.name])

    again = _open(qtbot, wait_exposed, lif_file)  # reopening restores each series' labels
    try:
        assert np.array_equal(again.doc.masks > 0, square)
        _choose_series(again, qtbot, 1)
        assert np.array_equal(again.doc.masks > 0, triangle)
        _choose_series(again, qtbot, 2)
        assert not again.doc.masks.any()
        assert not list(lif_file.parent.glob("*_s2_*seg.npy"))  # nothing drawn: no file
    finally:
        _close(again)


def test_switching_series_with_autosave_off_asks_and_cancel_stays(
        qtbot, wait_exposed, lif_file):
    ctl = _open(qtbot, wait_exposed, lif_file)
    seg0 = cellpose_io.seg_path_for(lif_file, t=0, z=0)
    Btn = QtWidgets.QMessageBox.StandardButton
    asked: list[str] = []

    def answer(button) -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        assert isinstance(box, QtWidgets.QMessageBox) and "Save the changes" in box.text()
        asked.append(box.text())
        box.button(button).click()

    try:
        ctl.window.actions["autosave"].setChecked(False)
        _draw(ctl, qtbot, SQUARE)
        square = ctl.doc.masks.copy()
        combo = ctl.window.channel_panel.series
        combo.setFocus()
        QtCore.QTimer.singleShot(50, lambda: answer(Btn.Cancel))
        QTest.keyClick(combo, Qt.Key.Key_Down)
        assert len(asked) == 1 and LIF in asked[0]
        assert ctl.files.series == 0 and combo.currentIndex() == 0  # stayed
        assert np.array_equal(ctl.doc.masks, square) and not seg0.exists()
        QtCore.QTimer.singleShot(50, lambda: answer(Btn.Save))
        QTest.keyClick(combo, Qt.Key.Key_Down)
        assert len(asked) == 2
        assert ctl.files.series == 1 and not ctl.doc.masks.any()
        assert np.array_equal(cellpose_io.load_seg(seg0).masks, square)
    finally:
        _close(ctl)
