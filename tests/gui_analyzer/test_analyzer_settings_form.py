"""The Analyzer's inference form is built from the same settings table as the CLI flags."""

from __future__ import annotations

from PyQt6 import QtCore

Qt = QtCore.Qt


def test_form_offers_the_same_settings_and_refuses_negative_values(qtbot, analyzer):
    from guv_app.controllers.analyzer_controller import FORM_PARAMS

    panel = analyzer.window.inference
    for spec in FORM_PARAMS:
        w = getattr(panel, spec.name)
        assert spec.help in w.toolTip()
        if spec.kind == "choice":
            assert [w.itemData(i) for i in range(w.count())] == [v for v, _ in spec.choices]
        else:
            assert w.minimum() == spec.minimum
    edit = panel.diameter.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, "-5")  # typed: a spin box cannot go below 0 px
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert panel.diameter.value() >= 0 and panel.settings()["diameter"] != -5
    panel.diameter.setValue(0)
    assert panel.settings()["diameter"] is None  # 0 = the model's diameter
    assert panel.min_size.suffix() == " px²"


def test_precision_choice_reaches_the_segment_params(qtbot, analyzer):
    """bfloat16 (Cellpose's default) unless float32 is chosen in the form."""
    panel = analyzer.window.inference
    assert analyzer.segment_params()[1].dtype == "bfloat16"
    panel.dtype.setFocus()
    qtbot.keyClick(panel.dtype, Qt.Key.Key_Down)
    assert panel.dtype.currentText() == "float32"
    assert analyzer.segment_params()[1].dtype == "float32"
