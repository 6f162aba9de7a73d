"""Label sets per channel in the Trainer (issue 14), with real keys and mouse traces on the
two-channel nd2 and lif samples: each channel keeps its own objects and its own undo, the
shared set stays what the Cellpose GUI sees, and a reopened plane gives every set back."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import key, trace
from trainer_helpers import LIF, open_trainer

import cellpose_io

Qt = QtCore.Qt
Alt, Ctrl = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier
Shift = Qt.KeyboardModifier.ShiftModifier
SQUARE_A = [(4.0, 4.0), (14.0, 4.0), (14.0, 14.0), (4.0, 14.0)]
SQUARE_B = [(20.0, 4.0), (34.0, 4.0), (34.0, 14.0), (20.0, 14.0)]
TRIANGLE_C = [(20.0, 18.0), (34.0, 18.0), (20.0, 28.0)]
SQUARE_D = [(4.0, 18.0), (14.0, 18.0), (14.0, 28.0), (4.0, 28.0)]


@pytest.fixture(params=["nd2", "lif"])
def two_channel_image(request, tmp_path, data_dir):
    name = "cluster.nd2" if request.param == "nd2" else LIF
    folder = tmp_path / request.param
    folder.mkdir()
    return shutil.copy2(data_dir / "formats" / request.param / name, folder / name)


def _draw(ctl, qtbot, pts) -> None:
    with qtbot.waitSignal(ctl.canvas.traceFinished):
        trace(ctl.canvas, pts)


def _press(ctl, qtbot, k, mods=Qt.KeyboardModifier.NoModifier) -> None:
    if QtWidgets.QApplication.activeWindow() is not ctl.window:
        ctl.window.activateWindow()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is ctl.window)
    ctl.canvas.setFocus()
    key(ctl.canvas, k, mods)


def _inside(masks: np.ndarray, pts) -> int:
    """The object id at the centre of a drawn shape (0: nothing there)."""
    x, y = np.mean(np.asarray(pts), axis=0)
    return int(masks[int(y), int(x)])


def test_each_channel_keeps_its_objects_and_undo_through_save_and_reopen(
        qtbot, wait_exposed, two_channel_image):
    path = two_channel_image
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        assert ctl.channels.sets.active is None  # one shared set is the default
        _press(ctl, qtbot, Qt.Key.Key_L, Ctrl | Shift)  # label each channel separately
        assert ctl.channels.sets.active == 0
        assert "channel 1" in ctl.window.findChild(QtWidgets.QLabel, "label_set_label").text()
        _draw(ctl, qtbot, SQUARE_A)
        assert ctl.doc.n_objects == 1 and _inside(ctl.doc.masks, SQUARE_A)

        _press(ctl, qtbot, Qt.Key.Key_2, Alt)  # channel 2: its own, empty set
        assert ctl.channels.sets.active == 1 and ctl.doc.n_objects == 0
        _draw(ctl, qtbot, SQUARE_B)
        _draw(ctl, qtbot, TRIANGLE_C)
        assert ctl.doc.n_objects == 2
        _press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)  # undo acts on channel 2's set only
        assert ctl.doc.n_objects == 1 and not _inside(ctl.doc.masks, TRIANGLE_C)
        assert _inside(ctl.doc.masks, SQUARE_B)
        channel_2 = ctl.doc.masks.copy()

        _press(ctl, qtbot, Qt.Key.Key_1, Alt)  # channel 1: its square, its history
        assert ctl.doc.n_objects == 1 and _inside(ctl.doc.masks, SQUARE_A)
        assert not _inside(ctl.doc.masks, SQUARE_B)
        _press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)
        assert ctl.doc.n_objects == 0
        _press(ctl, qtbot, Qt.Key.Key_Z, Ctrl | Shift)  # redo
        assert ctl.doc.n_objects == 1
        channel_1 = ctl.doc.masks.copy()

        _press(ctl, qtbot, Qt.Key.Key_0, Alt)  # the shared set: nothing drawn there yet
        assert ctl.channels.sets.active is None and ctl.doc.n_objects == 0
        _draw(ctl, qtbot, SQUARE_D)
        shared = ctl.doc.masks.copy()
        _press(ctl, qtbot, Qt.Key.Key_L, Ctrl | Shift)  # back to the last channel (1)
        assert ctl.channels.sets.active == 0
        _press(ctl, qtbot, Qt.Key.Key_2, Alt)
        assert np.array_equal(ctl.doc.masks, channel_2)
        _press(ctl, qtbot, Qt.Key.Key_S, Ctrl)
        assert not ctl.window.isWindowModified()
        seg_file = ctl.files.label_file()
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()

    assert seg_file.name.endswith("_t0_z0_seg.npy")  # per-plane files: sets are per plane
    dat = np.load(seg_file, allow_pickle=True).item()  # as the Cellpose GUI loads it
    np.testing.assert_array_equal(dat["masks"], shared)
    assert sorted(dat["channel_segmentations"]) == ["0", "1"]
    assert dat["active_channel_index"] == 1

    again = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        sets = again.channels.sets
        assert sets.active == 1  # reopened on the channel it was saved on
        np.testing.assert_array_equal(again.doc.masks, channel_2)
        np.testing.assert_array_equal(sets.document(0).masks, channel_1)
        np.testing.assert_array_equal(sets.document(None).masks, shared)
        assert not again.doc.can_undo  # a fresh history per set after opening
    finally:
        again.window.close()
        again.files.autosaver.shutdown()


def test_autosave_keeps_a_parked_channels_edits(qtbot, wait_exposed, two_channel_image):
    """Edits on channel 1, then a switch to channel 2 and to another plane: autosave
    writes both channels (nothing waits unsaved in a parked set)."""
    path = two_channel_image
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    ctl.files.set_autosave(True)
    try:
        _press(ctl, qtbot, Qt.Key.Key_1, Alt)
        _draw(ctl, qtbot, SQUARE_A)
        _press(ctl, qtbot, Qt.Key.Key_2, Alt)
        assert ctl.window.isWindowModified()  # channel 1's edit is not on disk yet
        _press(ctl, qtbot, Qt.Key.Key_PageUp)  # next Z plane: the first plane is saved
        assert ctl.files.z == 1 and ctl.doc.n_objects == 0
        assert ctl.channels.sets.active == 1  # still labelling channel 2
        ctl.files.autosaver.wait()
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()
    seg = cellpose_io.load_seg(ctl.files.label_file(0, 0))
    assert not seg.masks.any() and sorted(seg.channel_sets) == [0]
    assert _inside(seg.channel_sets[0].masks, SQUARE_A)


def test_import_and_export_act_on_the_active_set(qtbot, wait_exposed, two_channel_image,
                                                 tmp_path):
    path = two_channel_image
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        _draw(ctl, qtbot, SQUARE_D)  # shared set
        _press(ctl, qtbot, Qt.Key.Key_2, Alt)
        _draw(ctl, qtbot, SQUARE_B)
        out = ctl.exchange.export_path(tmp_path / "channel2.tif")
        import tifffile

        exported = tifffile.imread(out)
        np.testing.assert_array_equal(exported > 0, ctl.doc.masks > 0)
        assert not _inside(exported, SQUARE_D)
        _press(ctl, qtbot, Qt.Key.Key_1, Alt)
        assert ctl.exchange.import_path(out, mode="merge", as_objects=False)
        assert _inside(ctl.doc.masks, SQUARE_B) and ctl.doc.n_objects == 1
        assert ctl.channels.sets.document(None).n_objects == 1  # the shared set untouched
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()
