"""The Analyzer's status after Promote (real clicks) states the same facts as the CLI's
summary line (guv_app.services.analysis.promote.promote_summary), on a real folder where one
image is promoted, two are merged, one has no prediction and one fails."""

from __future__ import annotations

from modal_answers import answer_modal
from promote_cases import FAILURE, merge_text, promote_experiment
from PyQt6 import QtCore

Qt = QtCore.Qt


def test_promote_status_names_every_case(qtbot, analyzer, tmp_path):
    ctl = analyzer
    promote_experiment(tmp_path)
    ctl.open_folder(tmp_path)
    ctl.window.files.table.selectAll()
    asked = answer_modal(qtbot, "Add new objects only")
    qtbot.mouseClick(ctl.window.files.promote, Qt.MouseButton.LeftButton)
    assert asked
    assert ctl.window.statusBar().currentMessage() == (
        f"Promote: 3 promoted, 2 merged into their labels (add): {merge_text('b_merged')}, "
        "1 without prediction, 2 label file(s) of before kept as .bak, 1 failed: " + FAILURE)
    assert ctl.window.files.undo_promote.isEnabled()
