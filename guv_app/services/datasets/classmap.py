"""Per-pixel class targets built from instance masks plus per-object classes.

Class ids follow the ``SegData`` convention: 0 = background / unassigned, 1..N user classes.
Pixels of an object whose class is 0 (drawn but not classified) get :data:`IGNORE` so the
class loss neither calls them background nor guesses a class for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cellpose_io.label_classes import object_ids

IGNORE = -1
BACKGROUND = "background"


def build_class_map(
    masks: np.ndarray, classes: np.ndarray | None, remap: np.ndarray | None = None
) -> np.ndarray:
    """Return an int16 (H, W) map: 0 background, class id inside objects, -1 unassigned.

    ``classes`` is indexed by object id (``classes[0]`` is ignored); ids beyond its length
    count as unassigned. ``remap`` translates the file's class ids to the training set's ids
    (``remap[file_id] -> set_id``) when files list their classes in different orders.
    """
    masks = np.asarray(masks)
    ids = object_ids(masks)[0]  # ids may be sparse up to 2**32-1: one entry per object
    lut = np.full(len(ids) + 1, IGNORE, dtype=np.int16)
    lut[0] = 0
    if classes is not None and len(ids):
        known = np.asarray(classes, dtype=np.int64).ravel()
        cls = np.zeros(len(ids), dtype=np.int64)
        inside = ids < len(known)
        cls[inside] = known[ids[inside]]
        if remap is not None:
            valid = (cls >= 0) & (cls < len(remap))
            cls = np.where(valid, np.asarray(remap)[np.clip(cls, 0, len(remap) - 1)], 0)
        lut[1:] = np.where(cls > 0, cls, IGNORE).astype(np.int16)
    # position of each pixel's id among the objects (0 = background)
    rank = np.searchsorted(ids, masks.ravel()).astype(np.int64) + 1
    rank[masks.ravel() == 0] = 0
    return lut[rank].reshape(masks.shape)


def merge_class_names(
    per_file: Sequence[Sequence[str]],
    base: Sequence[str] | None = None,
) -> tuple[list[str], list[np.ndarray]]:
    """Unify class lists from several label files (and a parent model's list).

    Returns the merged names (``names[0] == "background"``) and, per file, a lookup array
    mapping that file's class ids to merged ids. Names match case-sensitively after strip;
    the parent model's order is kept first so a continued fine-tune keeps its class ids.
    """
    names: list[str] = [BACKGROUND]
    for name in list(base or [])[1:]:
        if name.strip() not in names:
            names.append(name.strip())
    remaps = []
    for file_names in per_file:
        file_names = list(file_names) or [BACKGROUND]
        lut = np.zeros(len(file_names), dtype=np.int64)
        for i, name in enumerate(file_names[1:], start=1):
            key = name.strip()
            if key not in names:
                names.append(key)
            lut[i] = names.index(key)
        remaps.append(lut)
    return names, remaps


def class_pixel_counts(class_maps: Sequence[np.ndarray], n_total: int) -> np.ndarray:
    """Pixels per class id over all maps (ignored pixels not counted)."""
    counts = np.zeros(n_total, dtype=np.int64)
    for cmap in class_maps:
        valid = cmap[cmap >= 0]
        counts += np.bincount(valid.ravel(), minlength=n_total)[:n_total]
    return counts


def auto_class_weights(counts: np.ndarray) -> np.ndarray:
    """Inverse-frequency weights normalised to mean 1; absent classes get weight 1."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = np.ones_like(counts)
    present = counts > 0
    if present.any():
        freq = counts[present] / counts[present].sum()
        inv = 1.0 / freq
        weights[present] = inv / inv.mean()
    return weights.astype(np.float32)
