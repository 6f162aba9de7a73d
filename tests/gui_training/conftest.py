"""Training-dialog test set-up: a real labelled folder, shared flows.

Flows of the label images (what makes building a training set slow) are computed once per
session and copied into each test's isolated cache, so every test still builds its dataset
through the real service but skips the ~1 s per image of ``cellpose.dynamics``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from training_helpers import CLASS_COLORS, CLASS_NAMES, DSB, FAST, STEMS


def size_classes(masks: np.ndarray) -> np.ndarray:
    """Class 1 (small) below the median object area, class 2 (large) otherwise."""
    areas = np.bincount(masks.ravel().astype(np.int64))
    classes = np.zeros(len(areas), np.int32)
    ids = np.flatnonzero(areas[1:]) + 1
    classes[ids] = np.where(areas[ids] < np.median(areas[ids]), 1, 2)
    return classes


def write_labelled(folder: Path, stems=STEMS) -> Path:
    """Copy real DSB2018 images and save their masks with classes as ``_seg.npy``."""
    import tifffile

    import cellpose_io

    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        img = folder / f"{stem}.png"
        shutil.copy2(DSB / "images" / f"{stem}.png", img)
        masks = tifffile.imread(DSB / "masks" / f"{stem}.tif").astype(np.uint32)
        cellpose_io.save_seg(img, masks, size_classes(masks), CLASS_NAMES, CLASS_COLORS)
    return folder


@pytest.fixture(scope="session")
def flows_cache(tmp_path_factory) -> Path:
    """Flows of the test labels computed once (in a session-private app home)."""
    import tifffile

    home = tmp_path_factory.mktemp("flows_home")
    old = os.environ.get("MULTICELLPOSE_HOME")
    os.environ["MULTICELLPOSE_HOME"] = str(home)
    try:
        from guv_app.services.datasets.flows import flows_cache_dir, flows_for

        for stem in STEMS:
            flows_for(tifffile.imread(DSB / "masks" / f"{stem}.tif").astype(np.uint32))
        return flows_cache_dir()
    finally:
        if old is None:
            os.environ.pop("MULTICELLPOSE_HOME", None)
        else:
            os.environ["MULTICELLPOSE_HOME"] = old


@pytest.fixture
def labelled_folder(tmp_path, flows_cache) -> Path:
    """Three labelled images (classes small/large) and a warm flow cache in this test's home."""
    import torch

    from guv_app.services.datasets.flows import flows_cache_dir

    torch.set_num_threads(1)  # 2 shared cores; one run at a time is faster than contention
    dst = flows_cache_dir()
    for f in flows_cache.glob("*.npy"):
        shutil.copy2(f, dst / f.name)
    return write_labelled(tmp_path / "labelled")


@pytest.fixture
def training(qtbot, labelled_folder):
    """A training controller on the labelled folder with the fast settings, dialog shown."""
    from guv_app.controllers.model_catalog import ModelCatalog
    from guv_app.controllers.training_controller import TrainingController

    catalog = ModelCatalog()
    ctl = TrainingController(catalog, folder=labelled_folder)
    qtbot.addWidget(ctl.dialog)
    ctl.open()
    ctl.dialog.set_values(FAST)
    qtbot.waitUntil(ctl.dialog.isVisible, timeout=5000)
    yield ctl
    assert ctl.shutdown(60)
