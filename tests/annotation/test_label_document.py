"""The label document without Qt: every edit, its undo/redo, areas, classes, events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage
from skimage.draw import polygon as sk_polygon

from guv_app.services.annotation import ClassTable, LabelDocument

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
SQUARE = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 25.0], [10.0, 25.0]])


def _real() -> tuple[np.ndarray, np.ndarray]:
    m = tifffile.imread(DSB / "masks" / "fluorescence_02903040e19d.tif").astype(np.uint32)
    classes = np.zeros(int(m.max()) + 1, np.int32)
    classes[1:] = 1 + (np.arange(1, m.max() + 1) % 2)
    return m, classes


def _doc() -> LabelDocument:
    m, c = _real()
    return LabelDocument(m, c, ClassTable.from_lists(["background", "a", "b"]))


def _consistent(doc: LabelDocument) -> None:
    """Cached areas and bounding boxes agree with the pixels."""
    areas = np.bincount(doc.masks.ravel())
    for i in range(1, len(areas)):
        assert doc.area(i) == areas[i]
    for i, sl in enumerate(ndimage.find_objects(doc.masks.astype(np.int64)), start=1):
        if sl is None:
            continue
        bb = doc.bbox_of(i)
        assert bb[0].start <= sl[0].start and bb[0].stop >= sl[0].stop
        assert bb[1].start <= sl[1].start and bb[1].stop >= sl[1].stop


def test_polygon_pixels_match_pixel_centres_inside():
    doc = LabelDocument(shape=(60, 60))
    obj = doc.add_polygon(SQUARE)
    got = doc.masks == obj
    rr, cc = sk_polygon(SQUARE[:, 1] - 0.5, SQUARE[:, 0] - 0.5, (60, 60))
    want = np.zeros_like(got)
    want[rr, cc] = True
    np.testing.assert_array_equal(got, want)  # exactly the pixels whose centre is inside
    assert got[10:25, 10:30].all() and not got[:10].any() and not got[:, :10].any()


def test_new_object_does_not_steal_unless_asked():
    doc = _doc()
    before = doc.masks.copy()
    occupied = before[100:140, 100:140] > 0
    assert occupied.any()
    pts = np.array([[100.0, 100.0], [140.0, 100.0], [140.0, 140.0], [100.0, 140.0]])
    obj = doc.add_polygon(pts)
    block = doc.masks[100:140, 100:140]
    assert np.array_equal(block[occupied], before[100:140, 100:140][occupied])
    assert (block[~occupied] == obj).all()
    doc.undo()
    obj2 = doc.add_polygon(pts, overwrite=True)
    assert (doc.masks[100:140, 100:140] == obj2).all()
    _consistent(doc)


def test_every_edit_undoes_and_redoes_exactly():
    doc = _doc()
    start_m, start_c = doc.masks.copy(), doc.classes.copy()
    ids = [int(i) for i in doc.object_ids()]
    states = []

    def snap():
        states.append((doc.masks.copy(), doc.classes.copy(), list(doc.class_table.names)))

    snap()
    doc.add_polygon(np.array([[5.0, 300.0], [40.0, 300.0], [40.0, 340.0], [5.0, 340.0]]))
    snap()
    with doc.group("stroke"):
        lab = doc.paint(np.array([[200.0, 20.0]]), 3)
        doc.paint(np.array([[200.0, 20.0], [230.0, 20.0]]), 3, lab)
    snap()
    doc.erase(np.array([[215.0, 10.0], [215.0, 30.0]]), 2)
    snap()
    doc.delete([ids[0]])
    snap()
    doc.merge(ids[1:3])
    snap()
    doc.assign_class([ids[4]], 3 - doc.class_of(ids[4]))  # a real change
    snap()
    doc.add_class("c")
    snap()
    doc.remove_class(1, reassign_to=2)
    snap()
    doc.replace_labels(np.zeros(doc.shape, np.uint32))
    snap()
    for masks, classes, names in reversed(states[:-1]):
        assert doc.undo()
        assert np.array_equal(doc.masks, masks)
        assert np.array_equal(doc.classes, classes)
        assert doc.class_table.names == names
    assert not doc.undo()
    assert np.array_equal(doc.masks, start_m) and np.array_equal(doc.classes, start_c)
    for masks, classes, names in states[1:]:
        assert doc.redo()
        assert np.array_equal(doc.masks, masks)
        assert np.array_equal(doc.classes, classes)
        assert doc.class_table.names == names
    _consistent(doc)


def test_brush_stroke_in_a_group_is_one_undo_step():
    doc = LabelDocument(shape=(50, 50))
    with doc.group("stroke"):
        lab = None
        for x in range(5, 40, 3):
            lab = doc.paint(np.array([[float(x), 20.0]]), 2, lab)
    assert doc.n_objects == 1
    doc.undo()
    assert doc.n_objects == 0 and not doc.can_undo


def test_split_cuts_object_into_pieces_keeping_all_pixels_and_class():
    doc = LabelDocument(shape=(60, 60), class_table=ClassTable.from_lists(["background", "x"]))
    obj = doc.add_polygon(SQUARE, class_id=1)
    area = doc.area(obj)
    new = doc.split(np.array([[20.0, 0.0], [20.0, 40.0]]))
    assert len(new) == 1
    assert doc.area(obj) + doc.area(new[0]) == area
    assert doc.class_of(new[0]) == 1
    assert doc.masks[15, 12] != doc.masks[15, 28]
    assert doc.split(np.array([[0.0, 50.0], [5.0, 55.0]])) == []  # misses: nothing happens


def test_fill_holes_and_lasso_delete():
    doc = LabelDocument(shape=(60, 60))
    obj = doc.add_polygon(SQUARE)
    doc.erase(np.array([[20.0, 17.0]]), 2)
    assert doc.masks[17, 20] == 0
    assert doc.fill_holes(obj) > 0 and doc.masks[17, 20] == obj
    other = doc.add_polygon(np.array([[40.0, 40.0], [55.0, 40.0], [55.0, 55.0], [40.0, 55.0]]))
    gone = doc.lasso_delete(np.array([[35.0, 35.0], [59.0, 35.0], [59.0, 59.0], [35.0, 59.0]]))
    assert gone == [other] and doc.area(obj) > 0


def test_remove_class_moves_objects_and_renumbers():
    doc = _doc()
    doc.add_class("c")
    a = int(doc.object_ids()[0])
    doc.assign_class([a], 3)
    counts = doc.counts_per_class()
    doc.remove_class(1, reassign_to=2)
    assert doc.class_table.names == ["background", "b", "c"]
    assert doc.class_of(a) == 2  # "c" moved down from 3 to 2
    assert doc.counts_per_class().tolist() == [0, counts[1] + counts[2], 1]
    with pytest.raises(ValueError):
        doc.remove_class(1, reassign_to=1)
    with pytest.raises(ValueError):
        doc.add_class("b")


def test_accept_prediction_is_one_undoable_step_and_dirty_tracks_saves():
    doc = LabelDocument(shape=(40, 40))
    assert not doc.dirty
    pred = np.zeros((40, 40), np.uint32)
    pred[5:15, 5:15] = 1
    pred[20:30, 20:30] = 2
    doc.accept_prediction(pred, np.array([0, 1, 2]), ["background", "p", "q"])
    assert doc.dirty and doc.class_table.names == ["background", "p", "q"]
    assert doc.counts_per_class().tolist() == [0, 1, 1]
    doc.mark_saved()
    assert not doc.dirty
    doc.undo()
    assert doc.n_objects == 0 and doc.class_table.names == ["background"] and doc.dirty


def test_events_report_the_edited_bounding_box():
    doc = LabelDocument(shape=(100, 100))
    seen = []
    doc.events.connect(seen.append)
    obj = doc.add_polygon(SQUARE)
    labels = [e for e in seen if e.kind == "labels"]
    assert len(labels) == 1
    sl = labels[0].slices
    assert sl[0].stop - sl[0].start <= 17 and sl[1].stop - sl[1].start <= 22
    assert labels[0].ids.tolist() == [obj]
    assert any(e.kind == "state" for e in seen)


def test_random_edits_keep_areas_and_bboxes_consistent():
    rng = np.random.default_rng(0)
    doc = _doc()
    doc.bbox_of(1)  # build the cache first so edits must maintain it
    for _ in range(30):
        x, y = rng.uniform(0, 340, 2)
        op = rng.integers(0, 4)
        if op == 0:
            doc.add_polygon(np.array([[x, y], [x + 20, y], [x + 10, y + 25]]))
        elif op == 1:
            doc.paint(np.array([[x, y], [x + 15, y + 5]]), 3, overwrite=True)
        elif op == 2:
            doc.erase(np.array([[x, y]]), 5)
        else:
            doc.delete([doc.label_at(x, y)])
    _consistent(doc)
    while doc.undo():
        pass
    assert np.array_equal(doc.masks, _real()[0])
    _consistent(doc)


def test_annotation_package_imports_no_qt():
    code = ("import sys, guv_app.services.annotation;"
            "print([m for m in ('PyQt6', 'pyqtgraph', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
