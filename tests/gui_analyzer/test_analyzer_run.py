"""The Analyzer end to end on a small folder with the tiny backbone."""

from __future__ import annotations

import csv

import numpy as np
from analyzer_helpers import tiny_settings

import cellpose_io
from guv_app.services.analysis.predictions import KEY_EDITED, label_path_for, pred_path_for

LONG = 240_000  # ms; the machine is shared, the tiny model takes seconds per image


def test_run_folder_measure_plot_export(qtbot, analyzer, analyzer_folder, tmp_path):
    from PyQt6.QtCore import Qt

    ctl = analyzer
    broken = analyzer_folder / "zz_broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 40)
    assert ctl.open_folder(analyzer_folder)
    files = ctl.window.files
    assert files.table.rowCount() == 4
    tiny_settings(ctl)

    with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as blocker:
        ctl.window.inference.run_folder.click()
    result = blocker.args[0]
    assert [files.status(r) for r in range(4)] == ["done", "done", "done", "failed"]
    assert "zz_broken.png" in files.table.item(3, 2).toolTip()
    for image in ctl.images[:3]:
        assert pred_path_for(image).exists() and not label_path_for(image).exists()
    assert ctl.window.inference.progress.value() == 4
    assert "1 failed" in ctl.window.inference.progress_label.text()
    # the first image is on screen with its prediction in the Trainer's document
    qtbot.waitUntil(lambda: ctl.editor.doc.n_objects > 0)
    assert ctl.editor.doc.n_objects == result.planes[0].n_objects

    panel = ctl.window.measure
    panel.set_checked(["shape", "intensity"])
    with qtbot.waitSignal(ctl.measure.finished, timeout=LONG) as measured:
        panel.measure.click()
    run = measured.args[0]
    n_objects = sum(s.n_objects for s in result.planes[:3])
    model = ctl.window.table.model()
    assert model.rowCount() == run.n_rows == n_objects > 0
    columns = [model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(model.columnCount())]
    assert columns[:8] == ["image", "series", "t", "z", "object_id", "class_id", "class_name",
                           "area"]
    assert "1 skipped (no labels)" in panel.status.text()
    assert [s.status for s in run.statuses] == ["done", "done", "done", "skipped"]

    plots = ctl.window.plots
    assert plots.kind.currentText() == "histogram" and plots.x.currentText() == "area"
    items = plots.data_items()
    assert items and sum(float(np.sum(i.getData()[1])) for i in items) == n_objects
    plots.kind.setCurrentText("scatter")
    plots.y.setCurrentText("perimeter" if plots.y.findText("perimeter") >= 0
                           else plots.y.itemText(1))
    assert sum(len(i.getData()[0]) for i in plots.data_items()) == n_objects

    out = ctl.measure.export_csv(tmp_path / "results.csv")
    with open(out["merged"], newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header[:8] == ["image", "series", "t", "z", "object_id", "class_id", "class_name",
                          "area"]
    assert len(rows) == n_objects
    png = ctl.measure.export_png(tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    plots.kind.setCurrentText("histogram")
    ctl.window.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    ctl.window.grab().save("/tmp/analyzer.png")
    ctl.window.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    ctl.window.grab().save("/tmp/analyzer_image.png")

    # the same settings again: nothing to do
    with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as again:
        ctl.window.inference.run_folder.click()
    assert [s.status for s in again.args[0].planes[:3]] == ["skipped"] * 3


def test_cancel_marks_images_cancelled(qtbot, analyzer, analyzer_folder):
    ctl = analyzer
    ctl.open_folder(analyzer_folder)
    tiny_settings(ctl)
    with qtbot.waitSignal(ctl.batchFinished, timeout=LONG) as blocker:
        ctl.window.inference.run_folder.click()
        assert ctl.window.inference.cancel.isEnabled()
        ctl.window.inference.cancel.click()
    result = blocker.args[0]
    assert result.cancelled
    statuses = [ctl.window.files.status(r) for r in range(3)]
    assert statuses[-1] == "cancelled" and set(statuses) <= {"done", "cancelled"}
    qtbot.waitUntil(lambda: ctl.window.inference.run_folder.isEnabled())


def test_edits_go_to_the_prediction_file(qtbot, analyzer, analyzer_folder):
    from PyQt6.QtCore import Qt

    from guv_app.services.analysis.predictions import save_prediction

    image = analyzer_folder / "fluorescence_573e1480b500.png"
    masks = np.zeros((256, 256), np.uint16)
    masks[20:60, 20:60] = 1
    masks[100:150, 100:150] = 2
    save_prediction(image, masks, np.array([0, 1, 1]), ["background", "cell"],
                    [(0, 0, 0), (255, 0, 0)], model="tiny", params={})
    ctl = analyzer
    ctl.open_folder(analyzer_folder)
    ctl.window.files.set_current(ctl.images.index(image))
    assert ctl.editor.path == image and ctl.editor.doc.n_objects == 2
    # Ctrl+click deletes an object: the Trainer's gesture handler on the Trainer's document
    ctl.editor.trainer.on_click(30.5, 30.5, Qt.KeyboardModifier.ControlModifier)
    assert ctl.editor.doc.n_objects == 1 and ctl.editor.doc.dirty
    qtbot.waitUntil(lambda: not ctl.editor.doc.dirty, timeout=5000)  # autosaved
    saved = cellpose_io.load_seg(pred_path_for(image))
    assert set(np.unique(saved.masks)) == {0, 2} and saved.class_names == ["background", "cell"]
    assert bool(saved.extra[KEY_EDITED]) and not label_path_for(image).exists()
    assert ctl.window.files.table.item(ctl.images.index(image), 1).text() == "edited"
    # undo through the embedded Trainer, then Ctrl+S from the analyzer's editor
    ctl.editor.trainer.window.actions["undo"].trigger()
    assert ctl.editor.save() is not None
    assert set(np.unique(cellpose_io.load_seg(pred_path_for(image)).masks)) == {0, 1, 2}
