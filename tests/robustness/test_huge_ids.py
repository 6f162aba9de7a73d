"""Ids up to 2**32-1 are valid labels: counting, class maps, the dry run and the training-set
build handle them without one table entry per possible id."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from cellpose_io.label_classes import object_ids, renumber_sparse_ids
from guv_app.services.datasets.classmap import IGNORE, build_class_map

IDS = [7, 3_000_000_000, 2**32 - 1]


def _masks() -> np.ndarray:
    masks = np.zeros((64, 64), np.uint32)
    for k, oid in enumerate(IDS):
        masks[4 + 16 * k: 14 + 16 * k, 8:30] = oid
    return masks


@pytest.mark.parametrize("dense", [True, False])
def test_object_ids_match_unique_on_both_paths(dense):
    rng = np.random.default_rng(3)
    top = 50 if dense else 2**32 - 1
    masks = rng.integers(0, top, (40, 40), dtype=np.uint64).astype(np.uint32)
    masks[rng.random((40, 40)) < 0.3] = 0
    ids, counts = object_ids(masks)
    want, want_counts = np.unique(masks[masks > 0], return_counts=True)
    assert ids.tolist() == want.tolist() and counts.tolist() == want_counts.tolist()


def test_class_map_with_huge_ids():
    masks = _masks()
    classes = np.zeros(8, np.int64)
    classes[7] = 2  # id 7 has class 2; the huge ids are beyond the vector: unassigned
    cmap = build_class_map(masks, classes)
    assert cmap.dtype == np.int16
    assert set(np.unique(cmap[masks == 7])) == {2}
    assert set(np.unique(cmap[masks == IDS[1]])) == {IGNORE}
    assert set(np.unique(cmap[masks == 0])) == {0}


def test_renumbering_keeps_order_and_moves_classes():
    masks = _masks()
    out, classes, done = renumber_sparse_ids(masks, np.array([0, 0, 0, 0, 0, 0, 0, 5]))
    assert done and out.dtype == np.uint16
    assert [int(out[masks == oid][0]) for oid in IDS] == [1, 2, 3]
    assert classes.tolist() == [0, 5, 0, 0]


def test_dry_run_and_training_use_a_mask_image_with_huge_ids(tmp_path):
    from guv_app.services.datasets.builder import DatasetOptions, build_training_set
    from guv_app.services.datasets.summary import summarize_folder

    image = np.random.default_rng(0).integers(100, 900, (64, 64), dtype=np.uint16)
    for k in range(2):
        tifffile.imwrite(tmp_path / f"cells{k}.tif", image)
        tifffile.imwrite(tmp_path / f"cells{k}_masks.tif", _masks())
    options = DatasetOptions(use_flow_cache=False, test_ratio=0.0)
    summary = summarize_folder(tmp_path, options)
    assert summary.skipped == [] and summary.n_objects == 6
    built = build_training_set(tmp_path, options)
    assert built.skipped == [] and len(built.train) == 2
    sample = built.train[0]
    assert sorted(np.unique(sample.masks).tolist()) == [0, *IDS]  # ids kept as drawn
    assert sample.n_objects == 3
    assert np.abs(sample.flows).max() > 0.5  # real flows for every object
    assert set(np.unique(sample.class_map).tolist()) == {0, IGNORE}


def test_label_document_opens_huge_ids_without_a_table_per_id():
    from guv_app.services.annotation.document import LabelDocument

    classes = np.zeros(8, np.int32)
    classes[7] = 1
    doc = LabelDocument(_masks(), classes)
    assert doc.max_id == 3
    assert [int(doc.masks[_masks() == oid][0]) for oid in IDS] == [1, 2, 3]


def test_measuring_a_stray_class_id_builds_no_table_per_class():
    from guv_app.plugins.discovery import get_plugin
    from guv_app.services.measurement.runner import measure_arrays

    masks = _masks()
    classes = {7: 1_000_000_000, IDS[1]: 2}
    vector = np.zeros(8, np.int64)
    vector[7] = classes[7]
    shape = get_plugin("shape")
    result = measure_arrays(np.ones((1, 64, 64), np.float32), masks, vector,
                            ["background", "a", "b"], [(shape, shape.resolve_params())], "x")
    assert result.key["class_name"].tolist() == ["class_1000000000", "unassigned",
                                                  "unassigned"]
    assert result.key["object_id"].tolist() == IDS
