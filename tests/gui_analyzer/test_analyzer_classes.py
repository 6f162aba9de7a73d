"""Plots are coloured by class with the class colours of the labels; home window opens it."""

from __future__ import annotations

import numpy as np
import tifffile
from analyzer_helpers import DSB

from guv_app.services.analysis.predictions import save_prediction

RED, BLUE = (220, 20, 60), (30, 90, 200)


def test_plot_series_per_class_in_class_colours(qtbot, analyzer, analyzer_folder):
    counts = {"round": 0, "long": 0}
    for image in sorted(analyzer_folder.glob("*.png")):
        masks = tifffile.imread(DSB / "masks" / f"{image.stem}.tif").astype(np.uint32)
        n = int(masks.max())
        classes = np.array([0] + [1 + (k % 2) for k in range(n)], np.int32)
        present = np.unique(masks)[1:]
        counts["round"] += int(np.sum(classes[present] == 1))
        counts["long"] += int(np.sum(classes[present] == 2))
        save_prediction(image, masks, classes, ["background", "round", "long"],
                        [(0, 0, 0), RED, BLUE], model="x", params={})
    ctl = analyzer
    ctl.open_folder(analyzer_folder)
    ctl.window.measure.set_checked(["shape"])
    with qtbot.waitSignal(ctl.measure.finished, timeout=120_000):
        ctl.window.measure.measure.click()
    items = {i.name(): i for i in ctl.window.plots.data_items()}
    assert set(items) == {"round", "long"}
    for name, color in (("round", RED), ("long", BLUE)):
        assert np.sum(items[name].getData()[1]) == counts[name]
        assert items[name].opts["pen"].color().getRgb()[:3] == color
    ctl.window.plots.kind.setCurrentText("scatter")
    items = {i.name(): i for i in ctl.window.plots.data_items()}
    assert len(items["long"].getData()[0]) == counts["long"]
    assert items["long"].opts["symbolBrush"].color().getRgb()[:3] == BLUE


def test_home_window_entry_opens_the_analyzer(qtbot):
    from guv_app.controllers.analyzer_controller import AnalyzerController
    from guv_app.gui_main import WINDOWS, resolve

    ctl = resolve(WINDOWS["analyzer"][1])()
    qtbot.addWidget(ctl.window)
    assert isinstance(ctl, AnalyzerController) and ctl.window.isVisible()
    names = [ctl.window.inference.model.itemText(i)
             for i in range(ctl.window.inference.model.count())]
    assert names[:2] == ["cpsam", "tiny"]
    ctl.window.close()


def test_plugin_forms_are_generated_from_the_schemas(qtbot, analyzer):
    from PyQt6 import QtWidgets

    from guv_app.plugins.discovery import get_plugin

    panel = analyzer.window.measure
    for name in ("shape", "intensity", "boundary", "neighbours"):
        schema = get_plugin(name).params_schema
        form = panel.form(name)
        assert list(form.fields) == [spec.name for spec in schema]
        assert form.values() == {spec.name: spec.default for spec in schema}
        for spec in schema:
            if spec.type == "choice":
                box = form.fields[spec.name]
                assert isinstance(box, QtWidgets.QComboBox)
                assert [box.itemData(i) for i in range(box.count())] == list(spec.choices)
            if spec.type == "int" and spec.maximum is not None:
                assert form.fields[spec.name].maximum() == spec.maximum
    choice = next(s for s in get_plugin("intensity").params_schema if s.type == "choice")
    other = next(c for c in choice.choices if c != choice.default)
    panel.form("intensity").set_value(choice.name, other)
    panel.set_checked(["intensity"])
    assert panel.params() == {"intensity": {**panel.form("intensity").values(),
                                            choice.name: other}}
