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
