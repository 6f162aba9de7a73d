"""Analyzer: measure label files with linked channels, plot one channel against another per
linked object; the points are checked against numpy means over each object's pixels."""

from __future__ import annotations

import pytest
import tifffile
from linked_channels import two_channel_image, two_channel_labels, write_09_file
from PyQt6.QtCore import Qt


@pytest.fixture
def linked_folder(tmp_path):
    a, b, right = two_channel_labels()
    img = two_channel_image(seed=3)
    folder = tmp_path / "linked"
    folder.mkdir()
    tifffile.imwrite(folder / "pair.tif", img, metadata={"axes": "CYX"})
    groups = {20 + k: {0: i, 1: j} for k, (i, j) in enumerate(sorted(right))}
    write_09_file(folder / "pair.tif", a, b, groups, active=1)
    return folder, img, a, b, groups


def test_links_tab_plots_channel_against_channel_per_linked_object(analyzer, qtbot,
                                                                   linked_folder):
    folder, img, a, b, groups = linked_folder
    ctl = analyzer
    assert ctl.open_folder(folder)
    panel = ctl.window.measure
    panel.set_checked(["shape", "intensity"])
    with qtbot.waitSignal(ctl.measure.finished, timeout=60000):
        qtbot.mouseClick(panel.measure, Qt.MouseButton.LeftButton)
    tabs = ctl.window.tabs
    tabs.setCurrentIndex(tabs.indexOf(ctl.links.panel))
    plot = ctl.links.panel
    assert plot.columns() == ("ch0_mean_set0", "ch1_mean_set1")
    ids, x, y = plot.points()
    assert sorted(ids.tolist()) == sorted(groups)
    for oid, xv, yv in zip(ids.tolist(), x.tolist(), y.tolist(), strict=True):
        assert xv == pytest.approx(img[0][a == groups[oid][0]].mean())
        assert yv == pytest.approx(img[1][b == groups[oid][1]].mean())
    (item,) = plot.data_items()
    xs, ys = item.getData()
    assert sorted(zip(xs.tolist(), ys.tolist(), strict=True)) == sorted(
        zip(x.tolist(), y.tolist(), strict=True))
    # y: the area of the channel-0 objects instead (keyboard on the combo)
    plot.y.setFocus()
    target = plot.y.findText("area")
    while plot.y.currentIndex() != target:
        qtbot.keyClick(plot.y, Qt.Key.Key_Down if plot.y.currentIndex() < target else Qt.Key.Key_Up)
    qtbot.keyClick(plot.y_set, Qt.Key.Key_Up)  # channel 1 -> channel 0
    assert plot.columns() == ("ch0_mean_set0", "area_set0")
    ids, x, y = plot.points()
    for oid, yv in zip(ids.tolist(), y.tolist(), strict=True):
        assert yv == (a == groups[oid][0]).sum()


def test_links_tab_loads_the_csv_files_of_measure(analyzer, qtbot, linked_folder, tmp_path):
    from guv_app.cli.main import main

    folder, img, a, b, groups = linked_folder
    out = tmp_path / "results.csv"
    assert main(["measure", "--dir", str(folder), "--out", str(out), "--plugins",
                 "intensity", "--quiet"]) == 0
    ctl = analyzer
    plot = ctl.links.panel
    for name in ("results.csv", "results_per_link.csv"):
        ctl.links.ask_open_path = lambda name=name: str(tmp_path / name)
        plot.set_table({})
        qtbot.mouseClick(plot.load, Qt.MouseButton.LeftButton)
        ids, x, y = plot.points()
        assert sorted(ids.tolist()) == sorted(groups), name
        for oid, xv, yv in zip(ids.tolist(), x.tolist(), y.tolist(), strict=True):
            assert xv == pytest.approx(img[0][a == groups[oid][0]].mean())
            assert yv == pytest.approx(img[1][b == groups[oid][1]].mean())
    # a CSV without links: said, and the plot keeps what it showed
    (tmp_path / "plain.csv").write_text("image,object_id,area\nx.tif,1,5\n")
    ctl.links.ask_open_path = lambda: str(tmp_path / "plain.csv")
    qtbot.mouseClick(plot.load, Qt.MouseButton.LeftButton)
    assert "no objects linked" in ctl.window.statusBar().currentMessage()
    assert len(plot.points()[0]) == len(groups)
