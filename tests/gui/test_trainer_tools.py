"""Brush, erase, fill holes, lasso delete, rectangle select + merge, split — real events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt6 import QtCore
from trainer_gestures import click, drag, key, trace

Qt = QtCore.Qt
CTRL = Qt.KeyboardModifier.ControlModifier
A = [(150.0, 150.0), (200.0, 150.0), (200.0, 190.0), (150.0, 190.0)]
B = [(220.0, 150.0), (260.0, 150.0), (260.0, 190.0), (220.0, 190.0)]


def undo(trainer):
    key(trainer.window, Qt.Key.Key_Z, CTRL)


def redo(trainer):
    key(trainer.window, Qt.Key.Key_Y, CTRL)


def test_brush_paints_then_erase_and_undo(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    key(canvas, Qt.Key.Key_B)
    assert canvas.tool.value == "brush"
    trainer.window.tool_panel.brush_size.setValue(8)  # radius 4
    drag(canvas, [(100.0, 250.0), (160.0, 250.0)])
    assert doc.n_objects == 1
    obj = int(doc.object_ids()[0])
    m = doc.masks == obj
    assert m[250, 100:160].all()            # along the stroke
    assert not m[256:, :].any() and not m[:244, :].any()  # not beyond the radius
    painted = m.copy()
    key(canvas, Qt.Key.Key_E)
    drag(canvas, [(130.0, 240.0), (130.0, 260.0)])
    m2 = doc.masks == obj
    assert not m2[245:255, 128:132].any()   # erased across the stroke
    assert m2[250, 100:120].all()           # the rest kept
    undo(trainer)
    assert np.array_equal(doc.masks == obj, painted)
    undo(trainer)
    assert doc.n_objects == 0
    redo(trainer)
    assert np.array_equal(doc.masks == obj, painted)


def test_brush_extends_object_under_stroke_start(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    obj = int(doc.object_ids()[0])
    area = doc.area(obj)
    key(canvas, Qt.Key.Key_B)
    drag(canvas, [(190.0, 170.0), (215.0, 170.0)])
    assert doc.n_objects == 1 and doc.area(obj) > area
    assert doc.masks[170, 210] == obj


def test_fill_holes_of_selected(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    obj = int(doc.object_ids()[0])
    key(canvas, Qt.Key.Key_E)
    trainer.window.tool_panel.brush_size.setValue(6)
    click(canvas, 175.0, 170.0)  # one dab = a hole
    hole_area = doc.area(obj)
    assert doc.masks[170, 175] == 0
    key(canvas, Qt.Key.Key_S)
    click(canvas, 160.0, 160.0)
    assert doc.selected == {obj}
    key(canvas, Qt.Key.Key_F)
    assert doc.masks[170, 175] == obj and doc.area(obj) > hole_area
    undo(trainer)
    assert doc.masks[170, 175] == 0


def test_lasso_delete_removes_only_enclosed_object(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    trace(canvas, B)
    a, b = (int(i) for i in doc.object_ids())
    before = doc.masks.copy()
    key(canvas, Qt.Key.Key_X)
    drag(canvas, [(140.0, 140.0), (210.0, 140.0), (210.0, 200.0), (140.0, 200.0)], closed=True)
    assert doc.area(a) == 0 and doc.area(b) > 0
    undo(trainer)
    assert np.array_equal(doc.masks, before)


def test_rect_select_then_merge(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    trace(canvas, B)
    a, b = (int(i) for i in doc.object_ids())
    union = (doc.masks == a) | (doc.masks == b)
    before = doc.masks.copy()
    key(canvas, Qt.Key.Key_R)
    drag(canvas, [(140.0, 140.0), (270.0, 200.0)])
    assert doc.selected == {a, b}
    key(canvas, Qt.Key.Key_M)
    assert doc.n_objects == 1
    assert np.array_equal(doc.masks == min(a, b), union)
    undo(trainer)
    assert np.array_equal(doc.masks, before)


def test_split_along_drawn_line(trainer, qtbot):
    doc, canvas = trainer.doc, trainer.canvas
    trace(canvas, A)
    obj = int(doc.object_ids()[0])
    total = doc.area(obj)
    before = doc.masks.copy()
    key(canvas, Qt.Key.Key_K)
    drag(canvas, [(175.0, 140.0), (175.0, 200.0)])
    assert doc.n_objects == 2
    ids = [int(i) for i in doc.object_ids()]
    assert sum(doc.area(i) for i in ids) == total  # the cut line's pixels are kept
    left = doc.masks[170, 160]
    right = doc.masks[170, 190]
    assert left != right and left in ids and right in ids
    undo(trainer)
    assert np.array_equal(doc.masks, before)
    redo(trainer)
    assert doc.n_objects == 2


def test_bulk_delete_of_a_rect_selection_clears_screen_and_undoes(qtbot, wait_exposed,
                                                                  tmp_path, data_dir):
    """More than a handful of objects take the one-pass path; screen and undo follow."""
    import shutil

    import tifffile
    from trainer_helpers import open_trainer

    src = data_dir / "labelled" / "stardist"
    image = Path(shutil.copy2(src / "img2d.tif", tmp_path / "img2d.tif"))
    masks = tifffile.imread(src / "mask2d.tif").astype(np.uint32)
    ctl = open_trainer(qtbot, wait_exposed, image, region=((0, 512), (0, 512)))
    ctl.doc.import_labels(masks, mode="replace")
    masks = ctl.doc.masks.copy()  # (ids renumbered 1..N by the import)
    n = ctl.doc.n_objects
    assert n > 100
    key(ctl.canvas, Qt.Key.Key_R)
    drag(ctl.canvas, [(1.0, 1.0), (511.0, 511.0)])
    assert len(ctl.doc.selected) >= n - 10  # objects cut by the border may stay out
    kept = set(np.unique(masks)) - set(ctl.doc.selected) - {0}
    key(ctl.canvas, Qt.Key.Key_Delete)
    assert set(np.unique(ctl.doc.masks)) - {0} == kept
    overlay = ctl.canvas.overlay
    assert np.array_equal(overlay._buf32, overlay.lut.take(ctl.doc.masks))  # screen follows
    key(ctl.window, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(ctl.doc.masks, masks)
    assert np.array_equal(overlay._buf32, overlay.lut.take(ctl.doc.masks))
    ctl.window.close()
    ctl.files.autosaver.shutdown()
