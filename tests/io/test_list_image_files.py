"""Folder listing: images only, never their label images, labels or hidden files."""

from __future__ import annotations

import shutil

import pytest

import cellpose_io

DSB = "labelled/dsb2018"


def test_folder_listing_leaves_out_label_files(tmp_path, data_dir):
    stem = "fluorescence_00071198d059"
    shutil.copy2(data_dir / DSB / "images" / f"{stem}.png", tmp_path / f"{stem}.png")
    shutil.copy2(data_dir / DSB / "masks" / f"{stem}.tif", tmp_path / f"{stem}_masks.tif")
    shutil.copy2(data_dir / DSB / "masks" / f"{stem}.tif", tmp_path / f"{stem}_cp_masks.tif")
    shutil.copy2(data_dir / "formats/ome_tiff/s_1_t_1_c_1_z_1.ome.tiff", tmp_path / "b.ome.tiff")
    masks = cellpose_io.read_label_image(tmp_path / f"{stem}_masks.tif")
    cellpose_io.save_seg(tmp_path / f"{stem}.png", masks)
    (tmp_path / "._b.ome.tiff").write_bytes(b"resource fork")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()

    names = [p.name for p in cellpose_io.list_image_files(tmp_path)]

    assert names == ["b.ome.tiff", f"{stem}.png"]
    with pytest.raises(NotADirectoryError):
        cellpose_io.list_image_files(tmp_path / "notes.txt")
