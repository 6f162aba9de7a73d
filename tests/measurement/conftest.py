"""A small real folder for measurement runs: dsb2018 images with ``_seg.npy`` labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

CLASS_NAMES = ["background", "round", "elongated"]
GOOD = ["fluorescence_00071198d059", "fluorescence_573e1480b500", "histology_color_4cbd6c37f3a5"]
PRED_OF = "fluorescence_573e1480b500"  # also has a prediction with fewer objects


def _classes(masks: np.ndarray) -> np.ndarray:
    classes = np.zeros(int(masks.max()) + 1, np.int32)
    ids = np.unique(masks)[1:]
    classes[ids] = np.where(ids % 2 == 1, 1, 2)
    return classes


def write_good_images(data_dir: Path, folder: Path) -> dict[str, np.ndarray]:
    """Copy the images and save their labels with cellpose_io; return masks per file name."""
    from cellpose_io import save_seg

    folder.mkdir(parents=True, exist_ok=True)
    used = {}
    for stem in GOOD:
        image = folder / f"{stem}.png"
        shutil.copy(data_dir / f"labelled/dsb2018/images/{stem}.png", image)
        masks = tifffile.imread(data_dir / f"labelled/dsb2018/masks/{stem}.tif")
        save_seg(image, masks, _classes(masks), CLASS_NAMES)
        used[image.name] = masks
    return used


@pytest.fixture
def good_folder(data_dir, tmp_path) -> tuple[Path, dict[str, np.ndarray]]:
    folder = tmp_path / "good"
    return folder, write_good_images(data_dir, folder)


@pytest.fixture
def mixed_folder(data_dir, tmp_path) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    """Good images, one with a prediction, a corrupt image, and one image without labels."""
    from cellpose_io import save_seg

    folder = tmp_path / "mixed"
    masks = write_good_images(data_dir, folder)
    pred = masks[f"{PRED_OF}.png"].copy()
    pred[pred > 5] = 0
    save_seg(folder / f"{PRED_OF}.png", pred, _classes(pred), CLASS_NAMES,
             suffix="_pred_seg.npy")
    (folder / "broken.tif").write_bytes(b"II*\x00" + b"\x17" * 200)  # truncated TIFF
    save_seg(folder / "broken.tif", np.ones((10, 10), np.uint16))
    shutil.copy(data_dir / f"labelled/dsb2018/images/{GOOD[0]}.png", folder / "nolabel.png")
    return folder, masks, pred
