"""Label sets per channel in the Trainer (issue 14), with real keys and mouse traces on the
two-channel nd2 and lif samples: each channel keeps its own objects and its own undo, the
shared set stays what the Cellpose GUI sees, and a reopened plane gives every set back."""

from __future__ import annotations

import numpy as np
from modal_answers import answer_modal
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import key
from trainer_helpers import draw_object, open_trainer, press

import cellpose_io

Qt = QtCore.Qt
Alt, Ctrl = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier
Shift = Qt.KeyboardModifier.ShiftModifier
SQUARE_A = [(4.0, 4.0), (14.0, 4.0), (14.0, 14.0), (4.0, 14.0)]
SQUARE_B = [(20.0, 4.0), (34.0, 4.0), (34.0, 14.0), (20.0, 14.0)]
TRIANGLE_C = [(20.0, 18.0), (34.0, 18.0), (20.0, 28.0)]
SQUARE_D = [(4.0, 18.0), (14.0, 18.0), (14.0, 28.0), (4.0, 28.0)]


def _inside(masks: np.ndarray, pts) -> int:
    """The object id at the centre of a drawn shape (0: nothing there)."""
    x, y = np.mean(np.asarray(pts), axis=0)
    return int(masks[int(y), int(x)])


def test_each_channel_keeps_its_objects_and_undo_through_save_and_reopen(
        qtbot, wait_exposed, two_channel_sample):
    path = two_channel_sample
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        assert ctl.channels.sets.active is None  # one shared set is the default
        press(ctl, qtbot, Qt.Key.Key_L, Ctrl | Shift)  # label each channel separately
        assert ctl.channels.sets.active == 0
        status = ctl.window.findChild(QtWidgets.QLabel, "label_set_label").text()
        assert status.startswith("Labels: ") and status.endswith("(channel 0)")  # named
        names = ctl.files.channel_names(2)
        assert names[0] in status and names[1] in ctl.window.actions[
            "label_set_channel_2"].text()
        draw_object(ctl, qtbot, SQUARE_A)
        assert ctl.doc.n_objects == 1 and _inside(ctl.doc.masks, SQUARE_A)

        press(ctl, qtbot, Qt.Key.Key_2, Alt)  # channel 2: its own, empty set
        assert ctl.channels.sets.active == 1 and ctl.doc.n_objects == 0
        draw_object(ctl, qtbot, SQUARE_B)
        draw_object(ctl, qtbot, TRIANGLE_C)
        assert ctl.doc.n_objects == 2
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)  # undo acts on channel 2's set only
        assert ctl.doc.n_objects == 1 and not _inside(ctl.doc.masks, TRIANGLE_C)
        assert _inside(ctl.doc.masks, SQUARE_B)
        channel_2 = ctl.doc.masks.copy()

        press(ctl, qtbot, Qt.Key.Key_1, Alt)  # channel 1: its square, its history
        assert ctl.doc.n_objects == 1 and _inside(ctl.doc.masks, SQUARE_A)
        assert not _inside(ctl.doc.masks, SQUARE_B)
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)
        assert ctl.doc.n_objects == 0
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl | Shift)  # redo
        assert ctl.doc.n_objects == 1
        channel_1 = ctl.doc.masks.copy()

        combo = ctl.window.findChild(QtWidgets.QComboBox, "label_set_combo")
        assert combo.currentText() == ctl.channels.name(0)
        assert [combo.itemData(i) for i in range(combo.count())] == [-1, 0, 1]
        combo.setFocus()  # the image panel's chooser, one up: the shared set
        key(combo, Qt.Key.Key_Up)
        assert ctl.channels.sets.active is None and ctl.doc.n_objects == 0
        assert ctl.window.actions["label_set_shared"].isChecked()
        press(ctl, qtbot, Qt.Key.Key_1, Alt)
        press(ctl, qtbot, Qt.Key.Key_0, Alt)  # Alt+0: the shared set too
        assert ctl.channels.sets.active is None and combo.currentIndex() == 0
        draw_object(ctl, qtbot, SQUARE_D)
        shared = ctl.doc.masks.copy()
        press(ctl, qtbot, Qt.Key.Key_L, Ctrl | Shift)  # back to the last channel (1)
        assert ctl.channels.sets.active == 0
        press(ctl, qtbot, Qt.Key.Key_2, Alt)
        assert np.array_equal(ctl.doc.masks, channel_2)
        press(ctl, qtbot, Qt.Key.Key_S, Ctrl)
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


def test_autosave_keeps_a_parked_channels_edits(qtbot, wait_exposed, two_channel_sample):
    """Edits on channel 1, then a switch to channel 2 and to another plane: autosave
    writes both channels (nothing waits unsaved in a parked set)."""
    path = two_channel_sample
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    ctl.files.set_autosave(True)
    try:
        press(ctl, qtbot, Qt.Key.Key_1, Alt)
        draw_object(ctl, qtbot, SQUARE_A)
        press(ctl, qtbot, Qt.Key.Key_2, Alt)
        assert ctl.window.isWindowModified()  # channel 1's edit is not on disk yet
        press(ctl, qtbot, Qt.Key.Key_PageUp)  # next Z plane: the first plane is saved
        assert ctl.files.z == 1 and ctl.doc.n_objects == 0
        assert ctl.channels.sets.active == 1  # still labelling channel 2
        ctl.files.autosaver.wait()
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()
    seg = cellpose_io.load_seg(ctl.files.label_file(0, 0))
    assert not seg.masks.any() and sorted(seg.channel_sets) == [0]
    assert _inside(seg.channel_sets[0].masks, SQUARE_A)


def test_import_and_export_act_on_the_active_set(qtbot, wait_exposed, two_channel_sample,
                                                 tmp_path):
    path = two_channel_sample
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        draw_object(ctl, qtbot, SQUARE_D)  # shared set
        press(ctl, qtbot, Qt.Key.Key_2, Alt)
        draw_object(ctl, qtbot, SQUARE_B)
        out = ctl.exchange.export_path(tmp_path / "channel2.tif")
        import tifffile

        exported = tifffile.imread(out)
        np.testing.assert_array_equal(exported > 0, ctl.doc.masks > 0)
        assert not _inside(exported, SQUARE_D)
        press(ctl, qtbot, Qt.Key.Key_1, Alt)
        assert ctl.exchange.import_path(out, mode="merge", as_objects=False)
        assert _inside(ctl.doc.masks, SQUARE_B) and ctl.doc.n_objects == 1
        assert ctl.channels.sets.document(None).n_objects == 1  # the shared set untouched
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()


def _v09_plane_file(image, shape) -> tuple[object, dict]:
    """A MultiCellPose 0.9 label file of the first plane, from its documented keys."""
    ch0 = np.zeros(shape, np.uint16)
    ch0[4:14, 4:14], ch0[4:14, 20:34] = 1, 2
    ch1 = np.zeros(shape, np.uint16)
    ch1[5:12, 5:12] = 1
    dat = {"masks": ch1[np.newaxis], "outlines": np.zeros((1, *shape), np.uint16),
           "filename": str(image), "ismanual": np.zeros(1, bool),
           "channel_segmentations": {
               "0": {"masks": ch0[np.newaxis], "mask_classes": np.zeros(3, np.int16)},
               "1": {"masks": ch1[np.newaxis], "classes": np.array([0, 2], np.int16)}},
           "active_channel_index": 1,
           "associations": {"version": 1, "next_object_id": 2, "groups": [
               {"object_id": 1, "members": [{"channel": 0, "mask_id": 1},
                                            {"channel": 1, "mask_id": 1}]}]},
           "object_ids": np.array([0, 1], np.int32)}
    seg_file = cellpose_io.seg_path_for(image, series=0, t=0, z=0)
    np.save(seg_file, dat, allow_pickle=True)
    return seg_file, dat


def test_a_v09_file_opens_on_its_channel_with_its_sets_and_links(
        qtbot, wait_exposed, two_channel_sample):
    path = two_channel_sample
    shape = cellpose_io.read_image(path).plane_shape[1:]
    seg_file, dat = _v09_plane_file(path, shape)
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        sets = ctl.channels.sets
        assert sets.active == 1 and ctl.channels.per_channel_action.isChecked()
        np.testing.assert_array_equal(ctl.doc.masks, dat["channel_segmentations"]["1"]["masks"][0])
        assert ctl.doc.class_of(1) == 2
        assert list(sets.document(0).classes) == [0, 1, 1]  # 0.9: unclassified = class 1
        press(ctl, qtbot, Qt.Key.Key_1, Alt)
        draw_object(ctl, qtbot, TRIANGLE_C)
        assert sets.document(0).n_objects == 3
        press(ctl, qtbot, Qt.Key.Key_S, Ctrl)
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()
    seg = cellpose_io.load_seg(seg_file)
    assert seg.active_channel == 0 and seg.channel_sets[0].n_objects == 3
    np.testing.assert_array_equal(seg.channel_sets[1].masks,
                                  dat["channel_segmentations"]["1"]["masks"][0])
    assert seg.associations["groups"] == dat["associations"]["groups"]  # links kept


def test_a_malformed_v09_file_is_named_kept_and_not_overwritten(
        qtbot, wait_exposed, two_channel_sample):
    path = two_channel_sample
    shape = cellpose_io.read_image(path).plane_shape[1:]
    seg_file, dat = _v09_plane_file(path, shape)
    dat["channel_segmentations"]["1"]["masks"] = np.zeros((5, 5), np.uint16)
    np.save(seg_file, dat, allow_pickle=True)
    before = seg_file.read_bytes()
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        text = ctl.window.message_box.text()
        assert seg_file.name in text and "channel '1': masks are 5x5" in text
        ctl.window.message_box.close()
        draw_object(ctl, qtbot, SQUARE_A)
        qtbot.wait(ctl.files.AUTOSAVE_DELAY_MS + 300)
        ctl.files.autosaver.wait()
        assert seg_file.read_bytes() == before  # autosave never writes over it
        ctl.files.set_autosave(False)
        asked = answer_modal(qtbot, "Discard")  # closing asks; the file stays as it was
        ctl.window.close()
        qtbot.waitUntil(lambda: bool(asked))
        assert seg_file.read_bytes() == before
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()


def test_ctrl_t_trains_on_the_set_being_labelled_and_saves_parked_sets(
        qtbot, wait_exposed, two_channel_sample):
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.training_attach import attach_training

    path = two_channel_sample
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    ctl.files.set_autosave(False)
    hook = attach_training(ctl, ModelCatalog())
    try:
        press(ctl, qtbot, Qt.Key.Key_2, Alt)
        draw_object(ctl, qtbot, SQUARE_B)  # channel 1's set ...
        press(ctl, qtbot, Qt.Key.Key_1, Alt)  # ... parked, unsaved, while channel 0 is shown
        assert ctl.window.isWindowModified()
        press(ctl, qtbot, Qt.Key.Key_T, Ctrl)
        dlg = hook.training.dialog
        qtbot.waitUntil(dlg.isVisible, timeout=5000)
        assert dlg.advanced.editors["label_channel"].value() == 0  # the set being labelled
        assert hook.save_labels()  # what Start does first
        seg = cellpose_io.load_seg(ctl.files.label_file())
        assert sorted(seg.channel_sets) == [1] and _inside(seg.channel_sets[1].masks, SQUARE_B)
        assert not ctl.window.isWindowModified()
        editor = dlg.advanced.editors["label_channel"]
        editor.setFocus()
        key(editor, Qt.Key.Key_Up)  # channel 1: the summary counts that set
        assert editor.value() == 1
        assert hook.training.summary.n_labelled == 1 and hook.training.summary.n_objects == 1
        key(editor, Qt.Key.Key_Down)
        assert hook.training.summary.n_labelled == 0  # nothing on channel 0
        assert "no labels for channel 0" in str(hook.training.summary.skipped)
        dlg.close()
    finally:
        hook.shutdown()
        ctl.window.close()
        ctl.files.autosaver.shutdown()


def test_export_of_all_planes_takes_the_channel_set_of_each_plane(
        qtbot, wait_exposed, two_channel_sample, tmp_path):
    import tifffile

    path = two_channel_sample
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    ctl.files.set_autosave(True)
    try:
        draw_object(ctl, qtbot, SQUARE_D)  # shared set of plane z0
        press(ctl, qtbot, Qt.Key.Key_2, Alt)
        draw_object(ctl, qtbot, SQUARE_A)  # channel 1 of plane z0
        press(ctl, qtbot, Qt.Key.Key_PageUp)  # plane z1 (z0 autosaved), still channel 1
        draw_object(ctl, qtbot, SQUARE_B)
        out = tmp_path / "exported"
        out.mkdir()
        written = ctl.exchange.export_all(out, ".tif")
        assert len(written) == 2
        by_plane = {p.name: tifffile.imread(p) for p in written}
        z0 = next(m for n, m in by_plane.items() if "_z0" in n)
        z1 = next(m for n, m in by_plane.items() if "_z1" in n)
        assert _inside(z0, SQUARE_A) and not _inside(z0, SQUARE_D)
        assert _inside(z1, SQUARE_B) and not _inside(z1, SQUARE_A)
        ctl.files.autosaver.wait()
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()


def test_importing_a_v09_file_takes_the_set_of_the_channel_being_labelled(
        qtbot, wait_exposed, two_channel_sample, tmp_path):
    path = two_channel_sample
    shape = cellpose_io.read_image(path).plane_shape[1:]
    seg_file, dat = _v09_plane_file(path, shape)
    other = tmp_path / "from_elsewhere_seg.npy"
    seg_file.rename(other)
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        press(ctl, qtbot, Qt.Key.Key_1, Alt)
        assert ctl.exchange.import_path(other, mode="merge", as_objects=False)
        ch0 = dat["channel_segmentations"]["0"]["masks"][0]
        np.testing.assert_array_equal(ctl.doc.masks > 0, ch0 > 0)
        press(ctl, qtbot, Qt.Key.Key_0, Alt)  # the shared set: nothing imported there
        assert ctl.doc.n_objects == 0
    finally:
        ctl.window.close()
        ctl.files.autosaver.shutdown()
