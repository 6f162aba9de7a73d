"""Labelled folders built from the real DSB2018 test images, in tmp dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ds_helpers import DSB, STEMS, read_mask, size_classes


@pytest.fixture
def mask_folder(dsb_folder) -> Path:
    """Cellpose layout: <stem>.png beside <stem>_masks.tif."""
    folder = dsb_folder(STEMS, "masks_layout")
    for stem in STEMS:
        shutil.copy(DSB / "masks" / f"{stem}.tif", folder / f"{stem}_masks.tif")
    return folder


@pytest.fixture
def seg_folder(dsb_folder) -> Path:
    """<stem>.png beside <stem>_seg.npy holding classes small/large."""
    from cellpose_io import save_seg

    folder = dsb_folder(STEMS, "seg_layout")
    for stem in STEMS:
        masks = read_mask(stem)
        save_seg(folder / f"{stem}.png", masks, size_classes(masks),
                 ["background", "small", "large"])
    return folder
