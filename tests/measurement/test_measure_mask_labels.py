"""Measurement finds labels by the app's one rule: a Cellpose-style X_masks.tif counts as the
image's training labels, and a prediction is preferred under 'auto'."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile

from guv_app.services.analysis.predictions import save_prediction
from guv_app.services.measurement.folder import measure_folder
from guv_app.services.measurement.labels import find_items


def test_mask_images_are_measured_and_predictions_win_under_auto(data_dir, tmp_path):
    dsb = data_dir / "labelled" / "dsb2018"
    folder = tmp_path / "masks_layout"
    folder.mkdir()
    names = ("fluorescence_573e1480b500", "histology_color_4cbd6c37f3a5")
    truth = {}
    for name in names:
        shutil.copy2(dsb / "images" / f"{name}.png", folder / f"{name}.png")
        shutil.copy2(dsb / "masks" / f"{name}.tif", folder / f"{name}_masks.tif")
        truth[name] = tifffile.imread(dsb / "masks" / f"{name}.tif")
    items = find_items(folder, "seg")
    assert [i.image.name for i in items] == [f"{n}.png" for n in names]  # masks not images
    assert [i.labels.name for i in items] == [f"{n}_masks.tif" for n in names]

    pred = np.zeros_like(truth[names[0]], dtype=np.uint32)
    pred[10:30, 10:30] = 1
    save_prediction(folder / f"{names[0]}.png", pred, None, None, None, model="m", params={})
    auto = {i.image.stem: i.labels.name for i in find_items(folder, "auto")}
    assert auto == {names[0]: f"{names[0]}_pred_seg.npy", names[1]: f"{names[1]}_masks.tif"}

    result = measure_folder(folder, tmp_path / "out.csv", ["shape"], labels="seg")
    counts = {Path(s.image).name: s.n_objects for s in result.images}
    assert counts == {f"{n}.png": len(np.unique(truth[n])) - 1 for n in names}
