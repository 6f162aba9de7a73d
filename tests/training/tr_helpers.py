"""Helpers for the training tests (unique module name: imported by test files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
STEMS = ["fluorescence_00071198d059", "fluorescence_573e1480b500",
         "histology_color_4cbd6c37f3a5"]
CLASS_NAMES = ["background", "small", "large"]


def size_classes(masks: np.ndarray) -> np.ndarray:
    """Class 1 ("small") below the median area, 2 ("large") otherwise; classes[0] = 0."""
    areas = np.bincount(masks.ravel())
    classes = np.zeros(len(areas), np.int32)
    ids = np.nonzero(areas)[0]
    ids = ids[ids > 0]
    classes[ids] = np.where(areas[ids] < np.median(areas[ids]), 1, 2)
    return classes


def make_seg_folder(folder: Path) -> Path:
    """<stem>.png + <stem>_seg.npy (classes small/large) for the real DSB2018 images."""
    import tifffile

    from cellpose_io import save_seg

    folder.mkdir(parents=True, exist_ok=True)
    for stem in STEMS:
        image = folder / f"{stem}.png"
        shutil.copy(DSB / "images" / f"{stem}.png", image)
        masks = tifffile.imread(DSB / "masks" / f"{stem}.tif")
        save_seg(image, masks, size_classes(masks), CLASS_NAMES)
    return folder


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def fast_config(**kw):
    """A few deterministic-ish steps on the tiny backbone."""
    from guv_app.services.training.config import TrainConfig

    base = dict(base_model="tiny", model_name="t", mode="lora", blocks=1, epochs=3,
                batch_size=1, images_per_epoch=1, learning_rate=3e-3, validate_every=100,
                device="cpu", seed=0, lora_dropout=0.0)
    base.update(kw)
    return TrainConfig(**base)


def fresh_net(n_classes: int = 2):
    from guv_app.services.engine.network import build_network

    return build_network("tiny", n_classes)
