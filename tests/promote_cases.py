"""One folder where a promote meets every case its summary reports (shared by the summary
tests of the service, the CLI and the Analyzer), built from real DSB2018 images and masks.

``a_promoted``: a prediction, no labels. ``b_merged``: hand labels (every other real
object) and a shifted prediction (tests/merge_reference.py). ``c_kept``: one real object
drawn by hand and the real masks as prediction. ``d_unpredicted``: no prediction.
``e_failed``: 64 x 64 labels that do not fit its 256 x 256 prediction, so a merge into them
fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tifffile
from merge_reference import DSB, expected_added, labels_and_prediction

import cellpose_io
from guv_app.services.analysis.predictions import save_prediction

MERGED_STEM = "fluorescence_573e1480b500"
SOURCES = {"a_promoted": "fluorescence_00071198d059", "b_merged": MERGED_STEM,
           "c_kept": "fluorescence_02903040e19d", "d_unpredicted": "histology_color_4cbd6c37f3a5",
           "e_failed": "fluorescence_ff3e512b5fb8"}
FAILURE = "prediction of shape (256, 256) does not fit labels of shape (64, 64)"


def _truth(stem: str) -> np.ndarray:
    return tifffile.imread(DSB / "masks" / f"{stem}.tif").astype(np.uint32)


def _one_object(truth: np.ndarray) -> np.ndarray:
    return (truth == truth.max()).astype(np.uint16)


def _box(shape) -> np.ndarray:
    box = np.zeros(shape, np.uint16)
    box[20:40, 20:40] = 1
    return box


def promote_experiment(folder: Path) -> dict[str, Path]:
    """Write the five images (name -> path) with their labels and predictions."""
    images = {}
    for name, stem in SOURCES.items():
        images[name] = folder / f"{name}.png"
        shutil.copy2(DSB / "images" / f"{stem}.png", images[name])
    hand, hand_classes, pred, pred_classes = labels_and_prediction(MERGED_STEM)
    ids, inverse = np.unique(hand, return_inverse=True)
    cellpose_io.save_seg(images["b_merged"], inverse.reshape(hand.shape).astype(np.uint32),
                         hand_classes[ids], ["background", "small", "large"])
    save_prediction(images["b_merged"], pred, pred_classes, ["background", "small", "dead"],
                    [(0, 0, 0), (255, 255, 0), (200, 0, 0)], model="tiny", params={})
    for name in ("a_promoted", "c_kept", "e_failed"):
        save_prediction(images[name], _truth(SOURCES[name]), None, None, None, model="tiny",
                        params={})
    cellpose_io.save_seg(images["c_kept"], _one_object(_truth(SOURCES["c_kept"])))
    cellpose_io.save_seg(images["e_failed"], _box((64, 64)))
    return images


def merge_text(name: str, mode: str = "add") -> str:
    """What merging ``name``'s prediction into its labels does, counted one object at a time
    (``mode`` "add": predicted objects that overlap a labelled one are dropped)."""
    assert mode == "add"
    if name == "b_merged":
        hand, _, pred, _ = labels_and_prediction(MERGED_STEM)
    else:
        pred = _truth(SOURCES[name])
        hand = _one_object(pred)
    n_predicted = len(np.unique(pred[pred > 0]))
    n_added = len(expected_added(hand, pred, mode))
    assert 0 < n_added < n_predicted  # the case proves something: some added, some dropped
    return (f"added {n_added} of {n_predicted} predicted object(s); "
            f"{n_predicted - n_added} dropped (overlap labelled objects); "
            "labelled objects unchanged")
