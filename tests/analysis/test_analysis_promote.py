"""Promote predictions to training labels: conflicts listed first, overwrite only if allowed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import cellpose_io
from guv_app.services.analysis.predictions import (
    PRED_KEYS,
    label_path_for,
    pred_path_for,
    save_prediction,
)
from guv_app.services.analysis.promote import promote, promote_conflicts, undo_promote


def _predict(image, value: int, n: int = 3):
    masks = np.zeros(cellpose_io.read_image(image).shape[-2:], np.uint16)
    for k in range(n):
        masks[10 + 30 * k: 30 + 30 * k, 10:40] = k + 1
    classes = np.array([0] + [1] * n, np.int32)
    save_prediction(image, masks, classes, ["background", "cell"], [(0, 0, 0), (255, 0, 0)],
                    model=f"m{value}", params={"cellprob_threshold": value})
    return masks


def test_promote_lists_conflicts_and_keeps_labels_unless_allowed(small_folder):
    a, b = sorted(small_folder.glob("*.png"))
    pa = _predict(a, 1, n=3)
    pb = _predict(b, 2, n=2)
    existing = np.zeros((256, 320), np.uint16)
    existing[5:9, 5:9] = 1
    cellpose_io.save_seg(b, existing)  # b already has training labels
    before = label_path_for(b).read_bytes()

    conflicts = promote_conflicts([a, b])
    assert [c.image for c in conflicts] == [str(b)]
    assert conflicts[0].n_objects == 1 and conflicts[0].files == (label_path_for(b).name,)
    kept = promote([a, b])  # no overwrite allowed
    assert kept.promoted == [str(a)] and kept.kept_existing == [str(b)]
    assert label_path_for(b).read_bytes() == before
    seg_a = cellpose_io.load_seg(label_path_for(a))
    assert np.array_equal(seg_a.masks, pa) and seg_a.class_names == ["background", "cell"]
    assert seg_a.classes.tolist() == [0, 1, 1, 1]
    assert not set(PRED_KEYS) & set(seg_a.extra) and seg_a.extra["promoted_from"] == "m1"
    assert pred_path_for(a).exists()  # the prediction stays

    done = promote([b], overwrite=[b])
    assert done.promoted == [str(b)]
    assert np.array_equal(cellpose_io.load_seg(label_path_for(b)).masks, pb)
    backup = Path(done.backups[str(label_path_for(b))])  # the replaced file is kept
    assert backup.read_bytes() == before and backup.name.endswith(".bak")
    undo_promote(done)
    assert label_path_for(b).read_bytes() == before and not backup.exists()


def test_promote_sees_mask_image_labels_and_keeps_them(small_folder):
    """A Cellpose-style X_masks.tif is training labels too: promote must not shadow it."""
    import tifffile

    a, _ = sorted(small_folder.glob("*.png"))
    _predict(a, 1, n=3)
    hand = np.zeros(cellpose_io.read_image(a).shape[-2:], np.uint16)
    for k in range(5):
        hand[200:210, 10 + 20 * k: 20 + 20 * k] = k + 1
    mask = a.with_name(a.stem + "_masks.tif")
    tifffile.imwrite(mask, hand)
    before = mask.read_bytes()

    conflicts = promote_conflicts([a])
    assert [(c.files, c.n_objects) for c in conflicts] == [((mask.name,), 5)]
    kept = promote([a])  # not allowed: nothing is written, the mask still counts
    assert kept.kept_existing == [str(a)] and not label_path_for(a).exists()
    assert mask.read_bytes() == before
    assert cellpose_io.choose_labels(a).path == mask

    done = promote([a], overwrite=[a])  # allowed: the mask is renamed, not shadowed
    assert not mask.exists() and Path(done.backups[str(mask)]).read_bytes() == before
    assert cellpose_io.choose_labels(a).path == label_path_for(a)
    undo_promote(done)
    assert mask.read_bytes() == before and not label_path_for(a).exists()


def test_promote_without_prediction_or_with_a_broken_one(small_folder):
    a, b = sorted(small_folder.glob("*.png"))
    pred_path_for(b).write_bytes(b"garbage")
    result = promote([a, b])
    assert result.no_prediction == [str(a)]
    assert list(result.failed) == [str(b)] and pred_path_for(b).name in result.failed[str(b)]
    assert not label_path_for(a).exists() and not label_path_for(b).exists()
