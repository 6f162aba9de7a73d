"""An Analyzer run over several images loads the model once (engine's public load counter),
and a following run reuses it."""

from __future__ import annotations

from PyQt6 import QtCore

LONG = 240_000  # ms: shared machine


def test_one_model_load_per_run_over_several_images(qtbot, analyzer, analyzer_folder):
    from guv_app.services.engine.loading import clear_cache, load_count

    ctl = analyzer
    assert ctl.open_folder(analyzer_folder)
    inf = ctl.window.inference
    inf.model.setCurrentIndex(inf.model.findText("nuclei-starter"))
    clear_cache()
    before = load_count()
    with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as blocker:
        qtbot.mouseClick(inf.run_folder, QtCore.Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result.count("done") == len(ctl.images) == 3
    assert load_count() - before == 1
    ctl.window.files.table.selectRow(1)
    with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as again:
        qtbot.mouseClick(inf.run_current, QtCore.Qt.MouseButton.LeftButton)
    assert again.args[0].count("done") == 1
    assert load_count() - before == 1  # the second run reuses the loaded network
