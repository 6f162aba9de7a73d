"""Pairing images with labels the Cellpose way, and reporting what was skipped."""

from __future__ import annotations

import shutil

import pytest
from ds_helpers import DSB, STEMS

from guv_app.services.datasets import find_labelled_images, split_pairs


def test_mask_pairs_found_and_masks_not_listed_as_images(mask_folder):
    report = find_labelled_images(mask_folder)
    assert [p.image.name for p in report.pairs] == sorted(f"{s}.png" for s in STEMS)
    assert all(p.kind == "mask" and p.labels.name == f"{p.image.stem}_masks.tif"
               for p in report.pairs)
    assert report.skipped == []


def test_seg_npy_preferred_over_masks(seg_folder):
    stem = STEMS[0]
    shutil.copy(DSB / "masks" / f"{stem}.tif", seg_folder / f"{stem}_masks.tif")
    report = find_labelled_images(seg_folder)
    pair = next(p for p in report.pairs if p.image.stem == stem)
    assert pair.kind == "seg" and pair.labels.name == f"{stem}_seg.npy"


def test_unlabelled_image_is_skipped_with_reason(mask_folder):
    shutil.copy(DSB / "images" / "fluorescence_02903040e19d.png", mask_folder / "extra.png")
    report = find_labelled_images(mask_folder)
    assert len(report.pairs) == len(STEMS)
    assert [s.path.name for s in report.skipped] == ["extra.png"]
    assert "no labels" in report.skipped[0].reason


def test_custom_filters_and_one_level_down(tmp_path):
    sub = tmp_path / "exp" / "day1"
    sub.mkdir(parents=True)
    stem = STEMS[1]
    shutil.copy(DSB / "images" / f"{stem}.png", sub / "a_img.png")
    shutil.copy(DSB / "masks" / f"{stem}.tif", sub / "a_lbl.tif")
    flat = find_labelled_images(tmp_path / "exp", img_filter="_img", mask_filter="_lbl")
    assert flat.pairs == []
    deep = find_labelled_images(tmp_path / "exp", img_filter="_img", mask_filter="_lbl",
                                subfolders=True)
    assert [(p.image.name, p.labels.name) for p in deep.pairs] == [("a_img.png", "a_lbl.tif")]


def test_separate_mask_folder(tmp_path):
    report = find_labelled_images(DSB / "images", mask_filter="", mask_dir=DSB / "masks")
    assert len(report.pairs) == 6
    assert all(p.labels.parent == DSB / "masks" and p.labels.stem == p.image.stem
               for p in report.pairs)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_labelled_images(tmp_path / "nope")


def test_split_is_seeded_disjoint_and_keeps_one_for_training(mask_folder):
    pairs = find_labelled_images(mask_folder).pairs
    a = split_pairs(pairs, 0.25, seed=3)
    assert a == split_pairs(pairs, 0.25, seed=3)
    train, val = a
    assert len(val) == 1 and len(train) == 2 and not set(train) & set(val)
    seeds = {tuple(p.image.name for p in split_pairs(pairs, 0.5, s)[1]) for s in range(8)}
    assert len(seeds) > 1
    assert split_pairs(pairs, 0.0, 0)[1] == []
    with pytest.raises(ValueError):
        split_pairs(pairs, 1.0, 0)


def test_multi_series_file_gives_one_pair_per_labelled_series(tmp_path, data_dir):
    """A LIF with ``<stem>_seg.npy`` (series 0) and ``<stem>_s1_seg.npy`` (series 1): two
    pairs, and reading each pair gives that series' plane and its own masks."""
    import numpy as np

    import cellpose_io
    from guv_app.services.datasets.labels import read_labels, read_plane

    lif = tmp_path / "tiles.lif"
    shutil.copy(data_dir / "formats" / "lif" / "PR2729_frameOrderCombinedScanTypes.lif", lif)
    m0 = np.zeros((64, 64), np.uint16)
    m0[5:20, 5:20] = 1
    m1 = np.zeros((64, 64), np.uint16)
    m1[30:60, 30:50] = 1
    m1[2:8, 40:60] = 2
    cellpose_io.save_seg(lif, m0)
    cellpose_io.save_seg(lif, m1, out_path=cellpose_io.seg_path_for(lif, series=1))
    (tmp_path / "other_s2_seg.npy").write_bytes(b"")  # no image "other": ignored
    report = find_labelled_images(tmp_path)
    assert [(p.image.name, p.series, p.labels.name, p.kind) for p in report.pairs] == [
        ("tiles.lif", 0, "tiles_seg.npy", "seg"), ("tiles.lif", 1, "tiles_s1_seg.npy", "seg")]
    assert report.skipped == []
    for pair, masks in zip(report.pairs, (m0, m1), strict=True):
        expected = cellpose_io.read_image(lif, series=pair.series).plane()
        assert np.array_equal(read_plane(pair.image, series=pair.series), expected)
        assert np.array_equal(read_labels(pair).masks, masks)
    s0, s1 = (cellpose_io.read_image(lif, series=k).plane() for k in (0, 1))
    assert not np.array_equal(s0, s1)


def test_series_tag_of_a_sibling_image_is_not_a_series(seg_folder):
    """``a_s1_seg.npy`` belongs to the image ``a_s1.png`` when that image exists."""
    stem = STEMS[0]
    shutil.copy(seg_folder / f"{stem}.png", seg_folder / f"{stem}_s1.png")
    shutil.copy(seg_folder / f"{stem}_seg.npy", seg_folder / f"{stem}_s1_seg.npy")
    report = find_labelled_images(seg_folder)
    found = [(p.image.name, p.series) for p in report.pairs if p.image.stem.startswith(stem)]
    assert found == [(f"{stem}.png", 0), (f"{stem}_s1.png", 0)]
