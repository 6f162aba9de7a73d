"""Links across channels in the Trainer (issue 14), with real keys and mouse clicks: link by
hand in link mode (one Ctrl+Z), auto-match by overlap through its dialog (the known right
pairing of a synthetic image), lines between linked centroids, the per-link table, save and
reopen (0.9's associations layout), and measure's per-link rows from the saved file."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tifffile
from linked_channels import two_channel_image, two_channel_labels, write_09_file
from PyQt6 import QtCore, QtWidgets
from trainer_gestures import click
from trainer_helpers import draw_object, open_trainer, press

import cellpose_io

Qt = QtCore.Qt
Alt, Ctrl = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier
Shift = Qt.KeyboardModifier.ShiftModifier
OUTER = [(4.0, 4.0), (16.0, 4.0), (16.0, 16.0), (4.0, 16.0)]  # channel 1's object
INNER = [(7.0, 7.0), (13.0, 7.0), (13.0, 13.0), (7.0, 13.0)]  # channel 2's, inside it
OTHER = [(22.0, 4.0), (34.0, 4.0), (34.0, 14.0), (22.0, 14.0)]  # channel 2, unlinked


def _close(ctl) -> None:
    ctl.window.close()
    ctl.files.autosaver.shutdown()


def _centroid_xy(masks, obj):
    ys, xs = np.nonzero(masks == obj)
    return xs.mean(), ys.mean()


def test_hand_link_undo_save_reopen_and_measure(qtbot, wait_exposed, two_channel_sample, tmp_path):
    path = two_channel_sample
    ctl = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        press(ctl, qtbot, Qt.Key.Key_1, Alt)  # label channel 1 ...
        outer = draw_object(ctl, qtbot, OUTER)
        press(ctl, qtbot, Qt.Key.Key_2, Alt)  # ... and channel 2 differently
        inner = draw_object(ctl, qtbot, INNER)
        other = draw_object(ctl, qtbot, OTHER)
        assert ctl.channels.sets.active == 1 and ctl.links.reference == 0
        # channel 1's objects are drawn as outlines over channel 2's labels
        qtbot.waitUntil(ctl.links.overlay.outlines.isVisible)
        press(ctl, qtbot, Qt.Key.Key_J)  # link mode
        click(ctl.canvas, 10.0, 10.0)  # channel 2's inner object ...
        assert ctl.links.pending == inner
        click(ctl.canvas, 5.0, 5.0)  # ... then channel 1's object around it
        groups = ctl.links.links.groups
        assert list(groups.values()) == [{0: outer, 1: inner}]
        qtbot.waitUntil(lambda: len(ctl.links.overlay.segments) == 1)
        (start, end), = ctl.links.overlay.segments
        ch1 = ctl.channels.sets.document(0).masks
        assert tuple(start) == pytest.approx(_centroid_xy(ctl.doc.masks, inner))
        assert tuple(end) == pytest.approx(_centroid_xy(ch1, outer))
        click(ctl.canvas, 28.0, 9.0)  # OTHER picked, then background: refused, no link
        click(ctl.canvas, 36.0, 28.0)
        assert len(ctl.links.links) == 1 and ctl.links.pending == other
        press(ctl, qtbot, Qt.Key.Key_Escape)  # Esc drops the pick, link mode stays
        assert ctl.links.pending == 0 and ctl.links.link_mode
        click(ctl.canvas, 28.0, 9.0)
        assert ctl.links.pending == other
        press(ctl, qtbot, Qt.Key.Key_J)  # leave link mode (the pick is dropped)
        assert ctl.links.pending == 0

        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)  # one Ctrl+Z undoes the link, not a drawing
        assert len(ctl.links.links) == 0 and ctl.doc.n_objects == 2
        qtbot.waitUntil(lambda: len(ctl.links.overlay.segments) == 0)
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl | Shift)
        assert list(ctl.links.links.groups.values()) == [{0: outer, 1: inner}]
        link_id = next(iter(ctl.links.links.groups))
        press(ctl, qtbot, Qt.Key.Key_S, Ctrl)
        assert not ctl.window.isWindowModified()
        seg_file = ctl.files.label_file()
    finally:
        _close(ctl)

    dat = np.load(seg_file, allow_pickle=True).item()  # 0.9's layout, as 0.9 read it
    assert dat["associations"]["groups"] == [{"object_id": link_id, "members": [
        {"channel": 0, "mask_id": outer}, {"channel": 1, "mask_id": inner}]}]
    assert dat["object_ids"][inner] == link_id and dat["object_ids"][other] == 0

    again = open_trainer(qtbot, wait_exposed, path, region=((0, 38), (0, 31)))
    try:
        assert again.links.links.groups == {link_id: {0: outer, 1: inner}}
        qtbot.waitUntil(lambda: len(again.links.overlay.segments) == 1)
        # the link table shows the link with the IoU of the two squares
        again.links.actions["links_table"].trigger()
        rows = again.links.table.dock.rows()
        assert len(rows) == 1 and rows[0][:3] == [str(link_id), str(outer), str(inner)]
        m0, m1 = again.channels.sets.document(0).masks, again.doc.masks
        iou = ((m0 == outer) & (m1 == inner)).sum() / ((m0 == outer) | (m1 == inner)).sum()
        assert float(rows[0][3]) == pytest.approx(iou, rel=1e-2)
        again.links.table.ask_save_path = lambda: str(tmp_path / "links.csv")
        qtbot.mouseClick(again.links.table.dock.export, Qt.MouseButton.LeftButton)
        with open(tmp_path / "links.csv", newline="") as fh:
            (saved,) = list(csv.DictReader(fh))
        assert (saved["link_id"], saved["mask_0"], saved["mask_1"]) == (
            str(link_id), str(outer), str(inner))
        cx, cy = _centroid_xy(m1, inner)
        assert (float(saved["centroid_x_1"]), float(saved["centroid_y_1"])) == pytest.approx(
            (cx, cy))
        # Enter on the row (activating it) selects the link's object of the active channel
        table = again.links.table.dock.table
        again.doc.set_selection([])
        qtbot.waitUntil(table.isVisible)
        table.setFocus()
        table.setCurrentCell(0, 0)
        qtbot.keyClick(table, Qt.Key.Key_Return)
        assert again.doc.selected == {inner}
    finally:
        _close(again)

    from guv_app.cli.main import main

    out = tmp_path / "results.csv"
    assert main(["measure", "--dir", str(path.parent), "--out", str(out), "--plugins",
                 "intensity", "--z", "0", "--quiet"]) == 0
    with open(tmp_path / "results_per_link.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    plane = cellpose_io.read_image(path).plane(t=0, z=0)  # series 0
    assert int(row["link_id"]) == link_id
    assert float(row["ch0_mean_set0"]) == pytest.approx(plane[0][m0 == outer].mean())
    assert float(row["ch1_mean_set1"]) == pytest.approx(plane[1][m1 == inner].mean())


@pytest.fixture
def synthetic_pair(tmp_path):
    a, b, right = two_channel_labels()
    folder = tmp_path / "pair"
    folder.mkdir()
    image = folder / "pair.tif"
    tifffile.imwrite(image, two_channel_image(), metadata={"axes": "CYX"})
    write_09_file(image, a, b, {}, active=0)  # two channel sets, no links yet
    return image, a, b, right


def _answer_auto_match(qtbot, threshold_text: str, seen: list) -> None:
    """Type the threshold into the open dialog and click Match (real key and mouse)."""

    def answer():
        dlg = QtWidgets.QApplication.activeModalWidget()
        if dlg is None:
            QtCore.QTimer.singleShot(20, answer)
            return
        spin = dlg.findChild(QtWidgets.QDoubleSpinBox, "iou_threshold")
        seen.append(spin.value())
        spin.setFocus()
        spin.selectAll()
        qtbot.keyClicks(spin, threshold_text)
        ok = dlg.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QtCore.QTimer.singleShot(0, answer)


def test_auto_match_finds_the_right_pairs_in_one_undo_step(qtbot, wait_exposed,
                                                           synthetic_pair):
    image, a, b, right = synthetic_pair
    ctl = open_trainer(qtbot, wait_exposed, image, region=((0, 160), (0, 120)))
    try:
        assert ctl.channels.sets.active == 0 and ctl.links.reference == 1
        seen: list = []
        _answer_auto_match(qtbot, "0.25", seen)
        press(ctl, qtbot, Qt.Key.Key_J, Ctrl | Shift)
        assert seen == [pytest.approx(0.25)]  # the default threshold was offered
        pairs = {(m[0], m[1]) for m in ctl.links.links.groups.values()}
        assert pairs == right
        qtbot.waitUntil(lambda: len(ctl.links.overlay.segments) == len(right))
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)  # the whole auto-match is one step
        assert len(ctl.links.links) == 0

        # labels replaced (a prediction accepted): objects A1 and A6 trade ids, so those
        # ids now name other objects -- their links go, in the same undo step
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl | Shift)  # the auto-match again
        qtbot.waitUntil(lambda: len(ctl.links.overlay.segments) == len(right))
        swapped = a.astype(np.uint32)
        swapped[a == 1], swapped[a == 6] = 6, 1
        ctl.accept_prediction(swapped)
        assert {(m[0], m[1]) for m in ctl.links.links.groups.values()} == {(2, 2), (5, 8)}
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)
        assert {(m[0], m[1]) for m in ctl.links.links.groups.values()} == right
        np.testing.assert_array_equal(ctl.doc.masks, a)
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)
        assert len(ctl.links.links) == 0

        _answer_auto_match(qtbot, "0.6", seen)  # a stricter threshold: only A2/B2
        press(ctl, qtbot, Qt.Key.Key_J, Ctrl | Shift)
        assert {(m[0], m[1]) for m in ctl.links.links.groups.values()} == {(2, 2)}

        click(ctl.canvas, 60.0, 20.0)  # select A2 and unlink it (Shift+J)
        assert ctl.doc.selected == {2}
        press(ctl, qtbot, Qt.Key.Key_J, Shift)
        assert len(ctl.links.links) == 0
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)
        assert len(ctl.links.links) == 1

        ctl.doc.set_selection([2])  # deleting the object hides its link; undo shows it
        press(ctl, qtbot, Qt.Key.Key_Delete)
        assert len(ctl.links.visible()) == 0
        press(ctl, qtbot, Qt.Key.Key_Z, Ctrl)
        assert len(ctl.links.visible()) == 1
    finally:
        _close(ctl)


def test_a_09_file_opens_with_its_links_and_saves_them_back(qtbot, wait_exposed, tmp_path):
    a, b, right = two_channel_labels()
    image = tmp_path / "old.tif"
    tifffile.imwrite(image, two_channel_image(), metadata={"axes": "CYX"})
    groups = {7: {0: 1, 1: 1}, 9: {0: 2, 1: 2}, 12: {0: 6, 1: 7}}
    seg_file = write_09_file(image, a, b, groups, active=1)
    ctl = open_trainer(qtbot, wait_exposed, image, region=((0, 160), (0, 120)))
    try:
        assert ctl.channels.sets.active == 1 and ctl.links.reference == 0
        assert ctl.links.links.groups == groups
        qtbot.waitUntil(lambda: len(ctl.links.overlay.segments) == 3)
        press(ctl, qtbot, Qt.Key.Key_0, Alt)  # the shared set: links are refused there
        press(ctl, qtbot, Qt.Key.Key_J)
        assert not ctl.links.link_mode
        assert "label each channel separately" in ctl.window.statusBar().currentMessage()
        press(ctl, qtbot, Qt.Key.Key_1, Alt)  # channel 1 (index 0): link A5 with B8 by hand
        press(ctl, qtbot, Qt.Key.Key_J)
        click(ctl.canvas, 50.0, 85.0)
        click(ctl.canvas, 43.0, 85.0)
        assert ctl.links.links.groups[13] == {0: 5, 1: 8}  # 0.9's next_object_id was 13
        press(ctl, qtbot, Qt.Key.Key_S, Ctrl)
    finally:
        _close(ctl)
    saved = cellpose_io.load_seg(seg_file)
    from guv_app.services.linking import from_associations

    assert from_associations(saved.associations).groups == {**groups, 13: {0: 5, 1: 8}}
    assert saved.associations["next_object_id"] == 14
