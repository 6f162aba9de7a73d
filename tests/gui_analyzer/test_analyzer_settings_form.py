"""The Analyzer's inference form is built from the same settings table as the CLI flags."""

from __future__ import annotations

from PyQt6 import QtCore

Qt = QtCore.Qt


def test_form_offers_the_same_settings_and_refuses_negative_values(qtbot, analyzer):
    from guv_app.controllers.analyzer_controller import FORM_PARAMS

    panel = analyzer.window.inference
    for spec in FORM_PARAMS:
        w = getattr(panel, spec.name)
        assert w.minimum() == spec.minimum and spec.help in w.toolTip()
    edit = panel.diameter.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "-5")  # typed: a spin box cannot go below 0 px
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert panel.diameter.value() >= 0 and panel.settings()["diameter"] != -5
    panel.diameter.setValue(0)
    assert panel.settings()["diameter"] is None  # 0 = the model's diameter
    assert panel.min_size.suffix() == " px²"
