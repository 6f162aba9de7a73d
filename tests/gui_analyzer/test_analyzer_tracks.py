"""The Analyzer's Tracks tab with real clicks and keys: load a measured movie, track it,
tracks coloured by track, merge / delete whole tracks (one Ctrl+Z each), per-class mean ± SD
over time, export."""

from __future__ import annotations

import numpy as np
import pytest
from disc_movies import crossing_movie, identities
from PyQt6 import QtCore, QtWidgets
from PyQt6.QtTest import QTest

from guv_app.services.measurement.tables import read_csv, write_csv
from guv_app.views.analyzer.track_panel import PER_CLASS, track_color

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def tracks_tab(analyzer, tmp_path, qtbot):
    """The Tracks tab showing the crossing-discs movie (disc C vanishes in frame 5)."""
    table, truth = crossing_movie()
    source = tmp_path / "movie_measurements.csv"
    write_csv(source, [table])
    ctl = analyzer.tracks
    ctl.ask_open_path = lambda: str(source)
    analyzer.window.tabs.setCurrentWidget(ctl.panel)
    QTest.mouseClick(ctl.panel.load, Qt.MouseButton.LeftButton)
    assert ctl.panel.track.isEnabled()
    return analyzer, ctl, truth


def _set_spin(qtbot, spin, text: str) -> None:
    spin.setFocus()
    QTest.keyClick(spin, Qt.Key.Key_A, CTRL)
    QTest.keyClicks(spin, text)
    QTest.keyClick(spin, Qt.Key.Key_Return)


def _click_track(ctl, track_id: int, mods=Qt.KeyboardModifier.NoModifier) -> None:
    lst = ctl.panel.tracks
    row = next(i for i in range(lst.count())
               if lst.item(i).data(Qt.ItemDataRole.UserRole) == track_id)
    lst.scrollToItem(lst.item(row))
    rect = lst.visualItemRect(lst.item(row))
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())


def _track_ids(ctl) -> list[int]:
    lst = ctl.panel.tracks
    return [lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())]


def _track(ctl, qtbot) -> None:
    with qtbot.waitSignal(ctl.tracked, timeout=20000):
        QTest.mouseClick(ctl.panel.track, Qt.MouseButton.LeftButton)


def test_track_colour_merge_delete_undo_and_export(tracks_tab, qtbot, tmp_path):
    analyzer, ctl, truth = tracks_tab
    panel = ctl.panel
    _set_spin(qtbot, panel.max_distance, "10")
    assert panel.max_distance.value() == 10
    _track(ctl, qtbot)
    found = identities(ctl.table["track_id"], truth)
    assert len(_track_ids(ctl)) == 5 and len(found[3]) == 2  # no gap closing: C split

    # colour by track: list swatches and plot lines share each track's colour
    lst = panel.tracks
    for i in range(lst.count()):
        track_id = lst.item(i).data(Qt.ItemDataRole.UserRole)
        swatch = lst.item(i).icon().pixmap(12, 12).toImage().pixelColor(6, 6)
        assert (swatch.red(), swatch.green(), swatch.blue()) == track_color(track_id)
    pens = sorted(item.opts["pen"].color().getRgb()[:3] for item in panel.data_items())
    assert pens == sorted(track_color(t) for t in _track_ids(ctl))

    # merge the two halves of C: select both with the mouse, press the button
    c1, c2 = sorted(found[3])
    _click_track(ctl, c1)
    _click_track(ctl, c2, CTRL)
    assert panel.selected() == [c1, c2]
    QTest.mouseClick(panel.merge, Qt.MouseButton.LeftButton)
    assert len(_track_ids(ctl)) == 4
    assert identities(ctl.table["track_id"], truth)[3] == {c1}
    (curve,) = panel.data_items()  # the selected (merged) track alone
    assert len(curve.xData) == 11

    lst.setFocus()
    QTest.keyClick(lst, Qt.Key.Key_Z, CTRL)  # one undo step brings both halves back
    assert len(_track_ids(ctl)) == 5 and len(identities(ctl.table["track_id"], truth)[3]) == 2

    a = next(iter(found[1]))
    _click_track(ctl, a)
    QTest.keyClick(lst, Qt.Key.Key_Delete)
    assert a not in _track_ids(ctl) and len(ctl.table["object_id"]) == len(truth) - 12
    QTest.keyClick(lst, Qt.Key.Key_Z, CTRL)
    assert a in _track_ids(ctl) and len(ctl.table["object_id"]) == len(truth)

    ctl.ask_save_path = lambda: str(tmp_path / "tracks.csv")
    QTest.mouseClick(panel.export, Qt.MouseButton.LeftButton)
    tracked = read_csv(tmp_path / "tracks.csv")
    assert np.array_equal(tracked["track_id"], ctl.table["track_id"])
    wide = read_csv(tmp_path / "tracks_wide_area.csv")
    assert len([k for k in wide if k.startswith("track_")]) == 5


def test_per_class_plot_is_the_mean_and_sd_over_objects(tracks_tab, qtbot):
    analyzer, ctl, truth = tracks_tab
    _track(ctl, qtbot)
    mode = ctl.panel.mode
    mode.setFocus()
    QTest.keyClick(mode, Qt.Key.Key_Down)
    assert mode.currentText() == PER_CLASS
    (mean,) = [i for i in ctl.panel.data_items() if i.opts["pen"] is not None
               and i.xData is not None and len(i.xData) == 12]
    table = ctl.table
    expected = [table["area"][table["t"] == t].mean() for t in range(12)]
    assert np.allclose(mean.xData, 2.5 * np.arange(12)) and np.allclose(mean.yData, expected)
    bands = [i for i in ctl.panel.plot.getPlotItem().items
             if isinstance(i, QtWidgets.QGraphicsItem) and type(i).__name__ == "FillBetweenItem"]
    assert len(bands) == 1


def test_table_without_time_column_says_why_tracking_is_off(analyzer, tmp_path):
    table, _ = crossing_movie()
    source = tmp_path / "flat.csv"
    write_csv(source, [{k: v for k, v in table.items() if k != "t"}])
    ctl = analyzer.tracks
    assert ctl.load_csv(source)
    assert not ctl.panel.track.isEnabled() and "no time column" in ctl.panel.status.text()
    frames = {k: v for k, v in table.items() if k != "t"}
    frames["image"] = np.array([f"frame_{k}.tif" for k in table["t"]], dtype=object)
    write_csv(source, [frames])
    assert ctl.load_csv(source)
    assert ctl.panel.track.isEnabled() and "one image per frame" in ctl.panel.status.text()
    assert np.array_equal(ctl.measured["t"], table["t"])


def test_measurement_plots_colour_by_track_after_tracking(tracks_tab, qtbot):
    analyzer, ctl, truth = tracks_tab
    plots = analyzer.window.plots
    assert not plots.color_by.model().item(1).isEnabled()  # not tracked yet
    _track(ctl, qtbot)
    assert "track_id" in analyzer.window.table.results.columns
    analyzer.window.tabs.setCurrentIndex(1)
    plots.kind.setFocus()
    QTest.keyClick(plots.kind, Qt.Key.Key_Down)  # scatter
    plots.color_by.setFocus()
    QTest.keyClick(plots.color_by, Qt.Key.Key_Down)  # track
    assert plots.color_by.currentText() == "track"
    brushes = sorted(item.opts["symbolBrush"].color().getRgb()[:3] for item in plots.data_items())
    assert brushes == sorted(track_color(t) for t in _track_ids(ctl))
    points = sum(len(item.xData) for item in plots.data_items())
    assert points == len(truth)


def test_folder_of_frames_measured_tracked_and_coloured_by_track_in_the_image(
        analyzer, qtbot, tmp_path):
    """One TIFF + prediction per frame: Measure, Track (frames in name order), then the Image
    tab colours each object by its track, so a disc keeps its colour from frame to frame."""
    import tifffile
    from disc_movies import crossing_frames, frame_masks

    import cellpose_io

    folder = tmp_path / "frames"
    folder.mkdir()
    truth_of: dict[tuple[int, int], int] = {}  # (frame, label) -> true id
    for t, objects in enumerate(crossing_frames()):
        masks, by_label = frame_masks(objects, t)
        image = folder / f"frame_{t}.tif"
        tifffile.imwrite(image, np.where(masks > 0, 200, 20).astype(np.uint8))
        cellpose_io.save_seg(image, masks, suffix=cellpose_io.PRED_SUFFIX)
        truth_of.update({(t, label): true for label, true in by_label.items()})
    assert analyzer.open_folder(folder)
    with qtbot.waitSignal(analyzer.measure.finished, timeout=60000):
        QTest.mouseClick(analyzer.window.measure.measure, Qt.MouseButton.LeftButton)
    ctl = analyzer.tracks
    analyzer.window.tabs.setCurrentWidget(ctl.panel)
    assert "one image per frame" in ctl.panel.status.text()
    _set_spin(qtbot, ctl.panel.max_distance, "10")
    _set_spin(qtbot, ctl.panel.gap, "1")
    _track(ctl, qtbot)
    QTest.mouseClick(ctl.panel.color_image, Qt.MouseButton.LeftButton)
    assert ctl.panel.color_image.isChecked()

    def colours_on_screen(frame: int) -> dict[int, tuple]:
        table = analyzer.window.files.table
        row = analyzer.images.index(folder / f"frame_{frame}.tif")
        table.scrollToItem(table.item(row, 0))
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier,
                         table.visualItemRect(table.item(row, 0)).center())
        editor = analyzer.editor
        assert editor.path.name == f"frame_{frame}.tif"
        lut = editor.trainer.canvas.overlay.lut.view(np.uint8).reshape(-1, 4)
        return {truth_of[(frame, int(i))]: tuple(lut[int(i), :3])
                for i in np.unique(editor.doc.masks) if i}

    four, six = colours_on_screen(4), colours_on_screen(6)
    assert four[3] == six[3]  # C: the same colour across its missing frame 5
    assert four[1] == six[1] and four[2] == six[2] and len({four[1], four[2], four[3]}) == 3
    c_label = next(label for (t, label), true in truth_of.items() if t == 6 and true == 3)
    rows = (ctl.table["frame_image"] == "frame_6.tif") & (ctl.table["object_id"] == c_label)
    assert six[3] == track_color(int(ctl.table["track_id"][rows][0]))
    QTest.mouseClick(ctl.panel.color_image, Qt.MouseButton.LeftButton)  # off: own colours
    assert analyzer.editor.trainer.object_colors is None


def test_micrometre_distances_for_a_calibrated_table(analyzer, qtbot, tmp_path):
    table, truth = crossing_movie()
    ctl = analyzer.tracks
    ctl.set_measurements(table)
    assert not ctl.panel.units.model().item(1).isEnabled()  # no µm columns
    table["centroid_y_um"], table["centroid_x_um"] = table["centroid_y"] / 4, table["centroid_x"] / 4
    ctl.set_measurements(table)
    analyzer.window.tabs.setCurrentWidget(ctl.panel)
    ctl.panel.units.setFocus()
    QTest.keyClick(ctl.panel.units, Qt.Key.Key_Down)
    assert ctl.panel.units.currentData() == "um" and ctl.panel.max_distance.suffix() == " µm"
    _set_spin(qtbot, ctl.panel.max_distance, "2.5")  # 2.5 µm = 10 px
    _set_spin(qtbot, ctl.panel.gap, "1")
    _track(ctl, qtbot)
    assert all(len(s) == 1 for s in identities(ctl.table["track_id"], truth).values())


def test_movie_file_measured_per_plane_tracked_and_coloured_on_each_plane(
        analyzer, qtbot, tmp_path):
    """One movie file with a prediction per plane: Measure gives one row per object per
    plane (t), Track links them, and the Image tab's T control shows each plane coloured by
    track -- a disc keeps its colour across planes, also over its missing frame."""
    import tifffile
    from disc_movies import crossing_frames, frame_masks

    import cellpose_io

    folder = tmp_path / "movie"
    folder.mkdir()
    image = folder / "discs.tif"
    stack, truth_of = [], {}
    for t, objects in enumerate(crossing_frames()):
        masks, by_label = frame_masks(objects, t)
        stack.append(np.where(masks > 0, 180, 10).astype(np.uint8))
        cellpose_io.save_seg(image, masks, out_path=cellpose_io.seg_path_for(
            image, cellpose_io.PRED_SUFFIX, t=t, z=0))
        truth_of.update({(t, label): true for label, true in by_label.items()})
    tifffile.imwrite(image, np.stack(stack), imagej=True, metadata={"axes": "TYX"})
    assert analyzer.open_folder(folder)
    with qtbot.waitSignal(analyzer.measure.finished, timeout=60000):
        QTest.mouseClick(analyzer.window.measure.measure, Qt.MouseButton.LeftButton)
    ctl = analyzer.tracks
    assert sorted(set(ctl.measured["t"])) == list(range(12))
    analyzer.window.tabs.setCurrentWidget(ctl.panel)
    _set_spin(qtbot, ctl.panel.max_distance, "10")
    _set_spin(qtbot, ctl.panel.gap, "1")
    _track(ctl, qtbot)
    assert len(_track_ids(ctl)) == 4
    QTest.mouseClick(ctl.panel.color_image, Qt.MouseButton.LeftButton)
    analyzer.window.tabs.setCurrentIndex(0)
    spin = analyzer.editor.trainer.window.channel_panel.t

    def colours_at(t: int) -> dict[int, tuple]:
        spin.setFocus()
        while spin.value() != t:
            QTest.keyClick(spin, Qt.Key.Key_Up if spin.value() < t else Qt.Key.Key_Down)
        editor = analyzer.editor
        assert editor.plane.t == t
        lut = editor.trainer.canvas.overlay.lut.view(np.uint8).reshape(-1, 4)
        return {truth_of[(t, int(i))]: tuple(lut[int(i), :3])
                for i in np.unique(editor.doc.masks) if i}

    four, six = colours_at(4), colours_at(6)
    assert four == {k: v for k, v in six.items() if k in four} and len(set(four.values())) == 3
