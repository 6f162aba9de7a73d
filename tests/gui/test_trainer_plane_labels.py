"""Labels follow the Z/T controls: every plane of a stack keeps its own label file
(``<stem>_t{T}_z{Z}_seg.npy``, ``cellpose_io.plane_tag``), planes
nobody drew on stay unlabelled, and the training set takes every labelled plane. Real key
events (``.`` / ``,`` for T, PgUp / PgDown for Z) and real mouse traces."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import key, trace
from trainer_helpers import open_trainer, press

import cellpose_io

Qt = QtCore.Qt
SQUARE = [(10.0, 10.0), (30.0, 10.0), (30.0, 30.0), (10.0, 30.0)]
TRIANGLE = [(36.0, 36.0), (58.0, 36.0), (36.0, 58.0)]


@pytest.fixture
def movie(tmp_path):
    """A T=3, Z=2 ImageJ hyperstack whose planes differ (value 40 t + 10 z + ramp)."""
    ramp = np.add.outer(np.arange(64), np.arange(64)).astype(np.uint8) // 4
    data = np.stack([np.stack([ramp + 40 * t + 10 * z for z in range(2)]) for t in range(3)])
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, data.astype(np.uint8), imagej=True, metadata={"axes": "TZYX"})
    return path


def _draw(ctl, qtbot, pts) -> None:
    with qtbot.waitSignal(ctl.canvas.traceFinished):
        trace(ctl.canvas, pts)


def test_labels_follow_the_time_and_z_controls(qtbot, wait_exposed, movie):
    ctl = open_trainer(qtbot, wait_exposed, movie, region=((0, 64), (0, 64)))
    try:
        _draw(ctl, qtbot, SQUARE)
        square = ctl.doc.masks > 0
        assert square[20, 20] and not square[45, 40]

        press(ctl, qtbot, Qt.Key.Key_Period)  # t = 1: nothing drawn here yet
        assert (ctl.files.t, ctl.files.z) == (1, 0)
        assert np.array_equal(ctl.planes[0], cellpose_io.read_image(movie).plane(1, 0)[0])
        assert not ctl.doc.masks.any()
        _draw(ctl, qtbot, TRIANGLE)
        triangle = ctl.doc.masks > 0
        assert triangle[40, 40] and not triangle[20, 20]

        press(ctl, qtbot, Qt.Key.Key_PageUp)  # t = 1, z = 1: unlabelled
        assert (ctl.files.t, ctl.files.z) == (1, 1) and not ctl.doc.masks.any()
        press(ctl, qtbot, Qt.Key.Key_Comma)  # t = 0, z = 1: unlabelled
        assert not ctl.doc.masks.any()
        press(ctl, qtbot, Qt.Key.Key_PageDown)  # back to t = 0, z = 0: the square
        assert (ctl.files.t, ctl.files.z) == (0, 0)
        assert np.array_equal(ctl.doc.masks > 0, square)
        press(ctl, qtbot, Qt.Key.Key_Period)  # t = 1: the triangle
        assert np.array_equal(ctl.doc.masks > 0, triangle)
        assert not ctl.window.isWindowModified()
        ctl.files.autosaver.wait()
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()

    first = movie.with_name("movie_t0_z0_seg.npy")
    second = movie.with_name("movie_t1_z0_seg.npy")
    assert sorted(p.name for p in movie.parent.glob("*_seg.npy")) == sorted(
        [first.name, second.name])  # the planes nobody drew on have no file
    assert np.array_equal(cellpose_io.load_seg(first).masks > 0, square)
    assert np.array_equal(cellpose_io.load_seg(second).masks > 0, triangle)

    from guv_app.services.datasets.discovery import find_labelled_images
    from guv_app.services.datasets.labels import read_plane

    pairs = find_labelled_images(movie.parent).pairs
    assert [(p.t, p.z, p.labels.name) for p in pairs] == [
        (0, 0, first.name), (1, 0, second.name)]
    assert read_plane(movie, t=1, z=0).min() == 40  # the training image is that plane


def test_changing_plane_with_autosave_off_asks_and_cancel_stays(qtbot, wait_exposed, movie):
    ctl = open_trainer(qtbot, wait_exposed, movie, region=((0, 64), (0, 64)))
    Btn = QtWidgets.QMessageBox.StandardButton
    asked: list[str] = []

    def answer(button) -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        assert isinstance(box, QtWidgets.QMessageBox)
        asked.append(box.text())
        box.button(button).click()

    try:
        ctl.window.actions["autosave"].setChecked(False)
        _draw(ctl, qtbot, SQUARE)
        square = ctl.doc.masks.copy()
        QtCore.QTimer.singleShot(50, lambda: answer(Btn.Cancel))
        press(ctl, qtbot, Qt.Key.Key_Period)
        assert len(asked) == 1
        panel = ctl.window.channel_panel
        assert (ctl.files.t, panel.t.value()) == (0, 0)  # stayed, control put back
        assert np.array_equal(ctl.doc.masks, square)
        first = movie.with_name("movie_t0_z0_seg.npy")
        assert not first.exists()
        QtCore.QTimer.singleShot(50, lambda: answer(Btn.Save))
        press(ctl, qtbot, Qt.Key.Key_Period)
        assert (len(asked), ctl.files.t, ctl.window.channel_panel.t.value()) == (2, 1, 1)
        assert not ctl.doc.masks.any()
        assert np.array_equal(cellpose_io.load_seg(first).masks, square)
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()


def test_ctrl_i_of_a_multi_slice_roiset_puts_each_roi_on_its_plane(qtbot, wait_exposed,
                                                                     movie, tmp_path):
    """Ctrl+I on t=1 of the movie: that slice's ROIs land in the open plane (one undo step),
    the other slices' ROIs in their own plane files; an already labelled plane is kept."""
    import roifile

    def square(x0, y0, side, t):
        roi = roifile.ImagejRoi.frompoints(
            np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]]))
        roi.t_position, roi.z_position = t + 1, 1
        return roi

    rois = [square(4, 4, 10, 0), square(30, 30, 12, 1), square(40, 4, 8, 1),
            square(10, 40, 6, 2)]
    path = tmp_path / "RoiSet.zip"
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, roi in enumerate(rois):
            zf.writestr(f"{k}.roi", roi.tobytes())
    path.write_bytes(buf.getvalue())
    kept = np.zeros((64, 64), np.uint16)
    kept[50:60, 50:60] = 1
    labelled = movie.with_name("movie_t2_z0_seg.npy")
    cellpose_io.save_seg(movie, kept, out_path=labelled)
    before = labelled.read_bytes()

    ctl = open_trainer(qtbot, wait_exposed, movie, region=((0, 64), (0, 64)))
    try:
        press(ctl, qtbot, Qt.Key.Key_Period)  # t = 1
        key(ctl.canvas, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
        dlg = ctl.exchange.dialog
        dlg.selectFile(str(path))
        dlg.accept()
        qtbot.waitUntil(lambda: ctl.doc.n_objects == 2, timeout=3000)
        assert ctl.doc.masks[35, 35] and ctl.doc.masks[8, 44] and not ctl.doc.masks[8, 8]
        first = movie.with_name("movie_t0_z0_seg.npy")
        assert cellpose_io.load_seg(first).masks.sum() > 0  # slice 1's ROI, its own file
        assert np.count_nonzero(cellpose_io.load_seg(first).masks) == 100
        assert labelled.read_bytes() == before  # a labelled plane is never replaced
        assert "left as they were" in ctl.window.statusBar().currentMessage()
        key(ctl.window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert ctl.doc.n_objects == 0  # the open plane's import is one undo step
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()
