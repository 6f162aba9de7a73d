"""Labelled folders built from the real DSB2018 test images, in tmp dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ds_helpers import DSB, STEMS, read_mask, size_classes


@pytest.fixture
def mask_folder(tmp_path) -> Path:
    """Cellpose layout: <stem>.png beside <stem>_masks.tif."""
    folder = tmp_path / "masks_layout"
    folder.mkdir()
    for stem in STEMS:
        shutil.copy(DSB / "images" / f"{stem}.png", folder / f"{stem}.png")
        shutil.copy(DSB / "masks" / f"{stem}.tif", folder / f"{stem}_masks.tif")
    return folder


@pytest.fixture
def seg_folder(tmp_path) -> Path:
    """<stem>.png beside <stem>_seg.npy holding classes small/large."""
    from cellpose_io import save_seg

    folder = tmp_path / "seg_layout"
    folder.mkdir()
    for stem in STEMS:
        image = folder / f"{stem}.png"
        shutil.copy(DSB / "images" / f"{stem}.png", image)
        masks = read_mask(stem)
        save_seg(image, masks, size_classes(masks), ["background", "small", "large"])
    return folder
