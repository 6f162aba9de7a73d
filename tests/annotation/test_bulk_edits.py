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
