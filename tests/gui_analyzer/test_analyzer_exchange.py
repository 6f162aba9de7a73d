"""The Analyzer's prediction editor has the Trainer's Labels import/export too."""

from __future__ import annotations

import numpy as np
import tifffile
from analyzer_helpers import DSB
from PyQt6 import QtWidgets
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest

import cellpose_io

NAME = "fluorescence_573e1480b500"


def test_editor_imports_a_label_image_and_exports_geojson(qtbot, analyzer, analyzer_folder,
                                                          tmp_path):
    ctl = analyzer
    ctl.open_folder(analyzer_folder)
    image = analyzer_folder / f"{NAME}.png"
    ctl.window.files.set_current(ctl.images.index(image))
    editor = ctl.editor
    win = editor.trainer.window
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "Labels")
    assert [a.text() for a in menu.actions()][:2] == ["Import labels…", "Export labels…"]
    truth = tifffile.imread(DSB / "masks" / f"{NAME}.tif")
    src = tmp_path / "truth.tif"
    tifffile.imwrite(src, truth)
    editor.trainer.canvas.setFocus()
    QTest.keyClick(editor.trainer.canvas, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    dlg = editor.trainer.exchange.dialog
    assert isinstance(dlg, QtWidgets.QFileDialog) and dlg.isVisible()
    dlg.selectFile(str(src))
    dlg.accept()
    assert editor.doc.n_objects == int(len(np.unique(truth)) - 1)
    qtbot.waitUntil(lambda: not editor.doc.dirty, timeout=5000)  # saved to the prediction
    out = editor.trainer.exchange.export_path(tmp_path / "pred.geojson")
    back = cellpose_io.read_geojson(out, truth.shape)
    assert np.array_equal(back.masks > 0, truth > 0)
