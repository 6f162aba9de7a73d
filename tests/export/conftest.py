"""A tiny fine-tune with two classes, trained once per session on real DSB2018 images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

DSB = Path(__file__).resolve().parents[1] / "data" / "labelled" / "dsb2018"
STEMS = ["fluorescence_00071198d059", "fluorescence_573e1480b500", "fluorescence_ff3e512b5fb8"]
CLASSES = ["background", "small nucleus", "large nucleus"]


def make_class_folder(folder: Path) -> Path:
    """<stem>.png + <stem>_seg.npy, objects classed by area (below/above the median)."""
    import tifffile

    from cellpose_io import save_seg

    folder.mkdir(parents=True, exist_ok=True)
    for stem in STEMS:
        image = folder / f"{stem}.png"
        shutil.copy(DSB / "images" / f"{stem}.png", image)
        masks = tifffile.imread(DSB / "masks" / f"{stem}.tif")
        areas = np.bincount(masks.ravel())
        classes = np.zeros(len(areas), np.int32)
        ids = np.nonzero(areas)[0][1:] if areas[0] else np.nonzero(areas)[0]
        classes[ids] = np.where(areas[ids] < np.median(areas[ids]), 1, 2)
        save_seg(image, masks, classes, CLASSES)
    return folder


@pytest.fixture(scope="session")
def finetune_home(tmp_path_factory):
    """A MULTICELLPOSE_HOME holding ``tiny-ft``: 2 LoRA epochs of ``tiny`` with 2 classes
    (validation image: one of the three)."""
    from guv_app.services.datasets import DatasetOptions
    from guv_app.services.training.config import TrainConfig
    from guv_app.services.training.runner import run_training

    root = tmp_path_factory.mktemp("finetune")
    folder = make_class_folder(root / "labels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTICELLPOSE_HOME", str(root / "home"))
        config = TrainConfig(base_model="tiny", model_name="tiny-ft", mode="lora", blocks=1,
                             epochs=2, batch_size=1, images_per_epoch=2, learning_rate=3e-3,
                             device="cpu", seed=0)
        outcome = run_training(folder, config, DatasetOptions(test_ratio=0.34, seed=0))
    assert outcome.model_dir is not None
    return root / "home"


@pytest.fixture
def finetune(finetune_home, monkeypatch):
    """The session's fine-tune, visible in this test's registry as ``tiny-ft``."""
    from guv_app import paths

    shutil.copytree(finetune_home / "models" / "tiny-ft", paths.models_dir() / "tiny-ft")
    return "tiny-ft"
