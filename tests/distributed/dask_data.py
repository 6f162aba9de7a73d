"""Real labelled images (dsb2018 PNGs with ``_seg.npy`` labels) and a fast training config
for the distributed tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

STEMS = ["fluorescence_00071198d059", "fluorescence_573e1480b500",
         "histology_color_4cbd6c37f3a5"]
CLASS_NAMES = ["background", "odd", "even"]


def labelled_folder(data_dir: Path, folder: Path, copies: int = 1) -> Path:
    """``copies`` x 3 images with labels (classes by object id parity), sorted names."""
    import tifffile

    from cellpose_io import save_seg

    folder.mkdir(parents=True, exist_ok=True)
    for k in range(copies):
        for stem in STEMS:
            image = folder / f"{stem}_{k}.png"
            shutil.copy(data_dir / "labelled" / "dsb2018" / "images" / f"{stem}.png", image)
            masks = tifffile.imread(data_dir / "labelled" / "dsb2018" / "masks" / f"{stem}.tif")
            classes = np.zeros(int(masks.max()) + 1, np.int32)
            ids = np.unique(masks)[1:]
            classes[ids] = np.where(ids % 2 == 1, 1, 2)
            save_seg(image, masks, classes, CLASS_NAMES)
    return folder


def fast_config(**kw):
    """A few steps of LoRA on the ``tiny`` backbone (seconds on a CPU)."""
    from guv_app.services.training.config import TrainConfig

    base = dict(base_model="tiny", model_name="t", mode="lora", blocks=1, epochs=1,
                batch_size=1, images_per_epoch=2, learning_rate=3e-3, validate_every=100,
                device="cpu", seed=0, lora_dropout=0.0)
    base.update(kw)
    return TrainConfig(**base)
