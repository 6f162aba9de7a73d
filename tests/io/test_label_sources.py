"""The one rule for which file holds an image's labels (cellpose_io.label_sources)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

import cellpose_io
from cellpose_io.label_sources import (
    CARRIES_KEY,
    LabelRule,
    carries_marker,
    choose_labels,
    find_label_sources,
    keep_aside,
    labelled_planes,
    same_objects,
)

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
NAME = "fluorescence_573e1480b500"


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path, np.ndarray]:
    """X.png + X_masks.tif, the Cellpose/QuPath export layout."""
    image = tmp_path / f"{NAME}.png"
    shutil.copy2(DSB / "images" / f"{NAME}.png", image)
    mask = tmp_path / f"{NAME}_masks.tif"
    shutil.copy2(DSB / "masks" / f"{NAME}.tif", mask)
    return image, mask, tifffile.imread(mask)


def test_mask_image_alone_counts(pair):
    image, mask, truth = pair
    choice = choose_labels(image)
    assert choice.chosen.kind == "mask" and choice.path == mask and choice.conflict is None
    data = cellpose_io.read_label_source(choice.chosen)
    assert np.array_equal(data.masks, truth) and data.class_names == ["background"]


def test_seg_with_the_same_objects_under_other_ids_agrees(pair):
    image, mask, truth = pair
    relabelled = np.where(truth > 0, truth.max() + 1 - truth, 0)  # same objects, new ids
    cellpose_io.save_seg(image, relabelled)
    choice = choose_labels(image)
    assert choice.chosen.kind == "seg" and choice.conflict is None
    assert [s.kind for s in choice.found] == ["seg", "mask"]


def test_disagreeing_seg_and_mask_is_a_conflict_naming_both(pair):
    image, mask, truth = pair
    edited = truth.copy()
    edited[edited == 1] = 0  # one object fewer
    cellpose_io.save_seg(image, edited)
    choice = choose_labels(image)
    n = len(np.unique(truth)) - 1
    assert choice.chosen is None and choice.conflict.n_objects == (n - 1, n)
    assert mask.name in choice.reason and f"{image.stem}_seg.npy" in choice.reason


def test_seg_made_from_the_mask_carries_it_until_the_mask_changes(pair):
    image, mask, truth = pair
    edited = truth.copy()
    edited[edited == 1] = 0
    cellpose_io.save_seg(image, edited, metadata={CARRIES_KEY: carries_marker(mask)})
    choice = choose_labels(image)
    assert choice.chosen.kind == "seg" and choice.carried.path == mask
    tifffile.imwrite(mask, truth[::-1].copy())  # re-exported from QuPath: now they disagree
    assert choose_labels(image).conflict is not None


def test_keep_aside_never_overwrites_a_backup(pair):
    _, mask, _ = pair
    data = mask.read_bytes()
    first = keep_aside(mask)
    shutil.copy2(first, mask)
    second = keep_aside(mask)
    assert (first.name, second.name) == (mask.name + ".bak", mask.name + ".bak.1")
    assert first.read_bytes() == second.read_bytes() == data and not mask.exists()
    assert cellpose_io.list_image_files(mask.parent) == [mask.with_name(f"{NAME}.png")]


def test_mask_folder_img_filter_and_prediction(tmp_path, pair):
    image, mask, truth = pair
    masks_dir = tmp_path / "labels"
    masks_dir.mkdir()
    shutil.move(mask, masks_dir / f"{NAME}_cp_masks.png")
    tifffile.imwrite(masks_dir / f"{NAME}_cp_masks.tif", truth)
    assert choose_labels(image).chosen is None
    rule = LabelRule(mask_filter="_cp_masks", mask_dir=masks_dir)
    assert choose_labels(image, rule=rule).path.parent == masks_dir
    cellpose_io.save_seg(image, truth, suffix="_pred_seg.npy")
    assert choose_labels(image, use="prediction").chosen.kind == "pred"
    assert choose_labels(image, rule=rule, use="auto").chosen.kind == "pred"
    assert choose_labels(image, rule=rule).chosen.kind == "mask"  # training never uses pred


def test_series_and_plane_files_each_count(pair):
    image, mask, truth = pair
    cellpose_io.save_seg(image, truth, out_path=cellpose_io.seg_path_for(image, series=2))
    cellpose_io.save_seg(image, truth, out_path=cellpose_io.seg_path_for(image, t=1, z=3))
    choices = labelled_planes(image)
    assert [(c.series, c.t or 0, c.z or 0, c.chosen.kind) for c in choices] == [
        (0, 0, 0, "mask"), (0, 1, 3, "seg"), (2, 0, 0, "seg")]
    assert [s.kind for s in find_label_sources(image, series=2)] == ["seg"]
    assert find_label_sources(image, t=1, z=3)[0].path.name.endswith("_t1_z3_seg.npy")
    # the first plane of a stack: its tagged file wins over the untagged one, with the mask
    edited = truth.copy()
    edited[edited == 1] = 0
    cellpose_io.save_seg(image, edited, out_path=cellpose_io.seg_path_for(image, t=0, z=0))
    first = choose_labels(image, t=0, z=0)
    assert first.conflict is not None and first.conflict.sources[0].path.name.endswith(
        "_t0_z0_seg.npy")


def test_same_objects():
    a = np.array([[1, 1, 0], [2, 0, 3]])
    assert same_objects(a, np.array([[7, 7, 0], [5, 0, 9]]))
    assert not same_objects(a, np.array([[1, 1, 0], [1, 0, 3]]))  # two merged
    assert not same_objects(a, np.array([[1, 1, 0], [2, 0, 0]]))  # one gone
