"""Binary and class-id masks are detected and labelled as objects, for training and import."""

from __future__ import annotations

import shutil

import numpy as np
import tifffile
from scipy import ndimage

from cellpose_io import check_label_image, label_components

DSB = "labelled/dsb2018"
NAME = "fluorescence_02903040e19d"


def _truth(data_dir) -> np.ndarray:
    return tifffile.imread(data_dir / DSB / "masks" / f"{NAME}.tif")


def test_detector_tells_binary_class_ids_and_instances_apart(data_dir):
    truth = _truth(data_dir)
    assert check_label_image(truth).kind == "instances"
    for fg in (1, 255):
        check = check_label_image(np.where(truth > 0, fg, 0).astype(np.uint8))
        n = ndimage.label(truth > 0, structure=np.ones((3, 3)))[1]
        assert check.kind == "binary" and check.n_components == n
    classes = np.where(truth > 0, 1 + truth % 2, 0).astype(np.uint8)  # two "class ids"
    assert check_label_image(classes).kind == "class_ids"
    single = np.zeros((20, 20), np.uint8)
    single[5:9, 5:9] = 255
    assert check_label_image(single).kind == "instances"  # one blob of 255 is one object


def test_label_components_gives_objects_with_their_class_value(data_dir):
    truth = _truth(data_dir)
    classes = np.where(truth > 0, 1 + truth % 2, 0).astype(np.uint8)
    labels, values = label_components(classes)
    for v in (1, 2):
        n = ndimage.label(classes == v, structure=np.ones((3, 3)))[1]
        assert int((values == v).sum()) == n
    assert np.array_equal(labels > 0, truth > 0)
    ids = np.arange(1, labels.max() + 1)
    assert np.array_equal(ndimage.maximum(classes, labels, ids), values[1:])


def test_dry_run_reports_and_relabels_a_binary_training_mask(tmp_path, data_dir):
    from guv_app.services.datasets.summary import summarize_folder, summary_lines

    shutil.copy2(data_dir / DSB / "images" / f"{NAME}.png", tmp_path / f"{NAME}.png")
    truth = _truth(data_dir)
    tifffile.imwrite(tmp_path / f"{NAME}_masks.tif", np.where(truth > 0, 255, 0).astype(np.uint8))
    s = summarize_folder(tmp_path, min_objects=1)
    n = ndimage.label(truth > 0, structure=np.ones((3, 3)))[1]
    assert s.n_objects == n > 1
    text = "\n".join(summary_lines(s))
    assert "binary mask" in text and f"labelled as {n} objects" in text
