"""Bulk delete / merge (many objects in one pass) give the same labels, areas, boxes and undo
as deleting or merging the objects one by one."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from scipy import ndimage

from guv_app.services.annotation import LabelDocument


@pytest.fixture
def masks(data_dir) -> np.ndarray:
    return tifffile.imread(data_dir / "labelled/stardist/mask2d.tif").astype(np.uint32)


def _check_consistent(doc: LabelDocument) -> None:
    m = doc.masks
    areas = np.bincount(m.ravel(), minlength=len(doc.class_lookup))
    for i in np.flatnonzero(areas[1:]) + 1:
        assert doc.area(int(i)) == areas[i]
        sl = doc.bbox_of(int(i))
        assert (m[sl] == i).sum() == areas[i]  # the box holds every pixel of the object
    assert doc.n_objects == int(np.count_nonzero(areas[1:]))


@pytest.mark.parametrize("warm_boxes", [False, True])
def test_bulk_delete_matches_per_object_delete_and_undoes(masks, warm_boxes):
    doc = LabelDocument(masks.copy())
    if warm_boxes:
        doc.bbox_of(1)
    ids = np.unique(masks)[1::3]
    doc.set_selection(ids)
    assert len(ids) > 16
    doc.delete(doc.selected)
    expected = np.where(np.isin(masks, ids), 0, masks)
    assert np.array_equal(doc.masks, expected)
    assert not doc.selected
    _check_consistent(doc)
    doc.undo()
    assert np.array_equal(doc.masks, masks)
    _check_consistent(doc)
    doc.redo()
    assert np.array_equal(doc.masks, expected)
    _check_consistent(doc)


def test_bulk_merge_keeps_smallest_id_and_class(masks):
    doc = LabelDocument(masks.copy())
    doc.add_class("a")
    ids = np.unique(masks)[1:40]
    doc.assign_class([int(ids[0])], 1)
    target = doc.merge(ids)
    assert target == ids[0]
    assert np.array_equal(doc.masks == target, np.isin(masks, ids))
    assert doc.class_of(target) == 1
    _check_consistent(doc)
    doc.undo()
    assert np.array_equal(doc.masks, masks)
    _check_consistent(doc)
    # a new object after the bulk edit still gets a fresh id
    new = doc.add_polygon(np.array([[0, 0], [6, 0], [6, 6], [0, 6]], float), overwrite=True)
    assert new > masks.max() and ndimage.sum(doc.masks == new) > 0


def test_import_of_huge_sparse_ids_is_compacted_with_classes(masks):
    from guv_app.services.annotation.class_table import ClassTable

    doc = LabelDocument(masks.copy(), None, ClassTable.from_lists(["background", "cell"]))
    imp = np.zeros_like(masks, dtype=np.uint32)
    imp[:20, :20] = 2**31 + 5
    imp[30:40, 30:40] = 7
    # a class array indexed by id cannot hold 2**31 entries: classes by id only up to 7
    cls = np.zeros(8, np.int64)
    cls[7] = 1
    n = doc.import_labels(imp, cls, ["background", "cell"], mode="replace")
    assert n == 2 and doc.masks.max() <= 2 + 1 and len(doc.class_lookup) < 1000
    small = doc.masks[35, 35]
    assert doc.class_of(int(small)) == 1 and doc.class_of(int(doc.masks[5, 5])) == 0
    before = doc.n_objects
    doc.import_labels(np.where(imp > 0, imp, 0), None, mode="merge")
    assert doc.n_objects == before  # nothing on background: merge adds nothing
