"""Training regions read from files beside the image and from a "region" class."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ds_helpers import DSB, STEMS, read_mask, size_classes, snapshot

from guv_app.services.datasets import DatasetOptions, build_training_set, summarize_folder

STEM = STEMS[0]


def _region_mask(shape, box):
    y0, y1, x0, x1 = box
    region = np.zeros(shape, np.uint32)
    region[y0:y1, x0:x1] = 1
    return region


@pytest.fixture
def one_image(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(DSB / "images" / f"{STEM}.png", folder / f"{STEM}.png")
    shutil.copy(DSB / "masks" / f"{STEM}.tif", folder / f"{STEM}_masks.tif")
    return folder


def test_geojson_region_file_crops_to_its_box(one_image):
    from cellpose_io import write_geojson

    masks = read_mask(STEM)
    box = (20, 150, 40, 200)  # y0, y1, x0, x1 inside the 256x256 image
    write_geojson(one_image / f"{STEM}_regions.geojson", _region_mask(masks.shape, box))
    before = snapshot(one_image)

    ts = build_training_set(one_image, DatasetOptions(test_ratio=0.0))
    assert [s.box for s in ts.train] == [box]
    sample = ts.train[0]
    y0, y1, x0, x1 = box
    assert sample.masks.shape == (y1 - y0, x1 - x0)
    np.testing.assert_array_equal(sample.masks, masks[y0:y1, x0:x1])
    assert snapshot(one_image) == before  # nothing written beside the user's data

    whole = build_training_set(one_image, DatasetOptions(test_ratio=0.0, region_source="none"))
    assert [s.box for s in whole.train] == [(0, masks.shape[0], 0, masks.shape[1])]


def test_imagej_region_file_crops_to_its_box(one_image):
    from cellpose_io import write_imagej_rois

    masks = read_mask(STEM)
    box = (64, 200, 10, 120)
    write_imagej_rois(one_image / f"{STEM}_regions.zip", _region_mask(masks.shape, box))
    ts = build_training_set(one_image, DatasetOptions(test_ratio=0.0))
    assert [s.box for s in ts.train] == [box]


def test_unreadable_region_file_skips_the_image_naming_the_file(one_image):
    (one_image / f"{STEM}_regions.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=f"{STEM}_regions.geojson"):
        build_training_set(one_image, DatasetOptions(test_ratio=0.0))


def test_region_class_in_seg_crops_and_is_not_a_class(tmp_path):
    from cellpose_io import save_seg

    folder = tmp_path / "seg_regions"
    folder.mkdir()
    image = folder / f"{STEM}.png"
    shutil.copy(DSB / "images" / f"{STEM}.png", image)
    masks = read_mask(STEM).astype(np.uint32)
    classes = size_classes(masks)
    box = (30, 170, 50, 230)
    # the region object is drawn under the cells: it owns the background pixels of its box
    y0, y1, x0, x1 = box
    region_id = int(masks.max()) + 1
    sub = masks[y0:y1, x0:x1]
    sub[sub == 0] = region_id
    classes = np.append(classes, 3).astype(np.int32)
    save_seg(image, masks, classes, ["background", "small", "large", "Region"])

    ts = build_training_set(folder, DatasetOptions(test_ratio=0.0))
    assert ts.class_names == ["background", "small", "large"]
    assert [s.box for s in ts.train] == [box]
    sample = ts.train[0]
    assert region_id not in np.unique(sample.masks)
    assert np.all(sample.class_map[sample.masks == 0] == 0)
    expected = masks[y0:y1, x0:x1].copy()
    expected[expected == region_id] = 0
    np.testing.assert_array_equal(sample.masks, expected)

    summary = summarize_folder(folder)
    assert "Region" not in summary.objects_per_class
    assert summary.n_region_objects == 1
    assert summary.n_objects == int(np.count_nonzero(np.bincount(read_mask(STEM).ravel())[1:]))


def test_summary_follows_filters_and_min_objects(mask_folder):
    summary = summarize_folder(mask_folder, DatasetOptions(min_objects=10_000))
    assert summary.n_images == len(STEMS) and summary.n_labelled == 0
    assert all("too few objects" in reason for _, reason in summary.skipped)
    missing = summarize_folder(mask_folder, DatasetOptions(mask_filter="_labels"))
    assert missing.n_labelled == 0
    reasons = dict(missing.skipped)
    for stem in STEMS:  # (the _masks files now count as unlabelled images too)
        assert reasons[f"{stem}.png"].startswith("no labels")
