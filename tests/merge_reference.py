"""The expected result of a frozen merge, computed one object at a time (shared by the
merge tests; independent of the vectorised ``guv_app.services.annotation.merge``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage

from guv_app.services.annotation.merge import MIN_FRACTION, MIN_SIZE

DSB = Path(__file__).resolve().parent / "data" / "labelled" / "dsb2018"


def labels_and_prediction(stem: str = "fluorescence_573e1480b500"):
    """Real labels (DSB2018): every other object is the "hand-drawn" set (class 2); the
    "prediction" is every object shifted by 3 px and renumbered in reverse (classes 1/2 by
    predicted id), so some predicted objects lie free, some touch a hand-drawn one and some
    sit mostly on one. Returns (hand, hand_classes, pred, pred_classes)."""
    true = tifffile.imread(DSB / "masks" / f"{stem}.tif").astype(np.uint32)
    ids = np.flatnonzero(np.bincount(true.ravel()))[1:]
    hand = np.where(np.isin(true, ids[::2]), true, 0).astype(np.uint32)
    hand_classes = np.zeros(int(true.max()) + 1, np.int32)
    hand_classes[ids[::2]] = 2
    pred = np.zeros_like(true)
    moved = np.roll(true, (3, 3), axis=(0, 1))
    for new, old in enumerate(ids[::-1], start=1):
        pred[moved == old] = new
    pred_classes = np.zeros(len(ids) + 1, np.int32)
    pred_classes[1:] = np.arange(len(ids)) % 2 + 1  # 1 or 2 by predicted id
    return hand, hand_classes, pred, pred_classes


def expected_added(hand: np.ndarray, pred: np.ndarray, mode: str) -> dict[int, np.ndarray]:
    """Predicted id -> the pixels it should add, one object at a time."""
    out = {}
    for p in np.unique(pred[pred > 0]):
        own = pred == p
        on_hand = own & (hand > 0)
        if mode == "add":
            if not on_hand.any():
                out[int(p)] = own
            continue
        free = own & (hand == 0)
        if not on_hand.any():
            out[int(p)] = own
            continue
        pieces, n = ndimage.label(free)  # 4-connectivity by default
        if n == 0:
            continue
        sizes = np.bincount(pieces.ravel())[1:]
        big = int(np.argmax(sizes))
        if sizes[big] >= MIN_SIZE and sizes[big] >= MIN_FRACTION * own.sum():
            out[int(p)] = pieces == big + 1
    return out
