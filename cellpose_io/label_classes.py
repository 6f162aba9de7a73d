"""Class tables (names and colours) and per-object class vectors, normalised to one contract.

Files from different tools disagree: MultiCellPose 0.9 stores user classes only ("class 1",
...) with colours as a uint8 array, QuPath packs colours into signed ints, others write hex
strings. Everything here turns them into: ``class_names[0] == "background"``, one RGB
tuple of ints per name, and ``classes`` as int32 indexed by object id.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "BACKGROUND",
    "BACKGROUND_COLOR",
    "MAX_LABEL",
    "CLASS_PALETTE",
    "classes_from_map",
    "compact_labels",
    "object_ids",
    "renumber_sparse_ids",
    "mask_dtype_for",
    "default_class_color",
    "default_class_colors",
    "normalise_class_table",
    "normalise_color",
]

MAX_LABEL = 2**32 - 1
#: Largest id for which a table indexed by id (``classes``, bincount) is built: 2**24
#: entries are 64 MB of int32. Sparse ids above it (2**32-1 is a valid id) are handled with
#: sorted unique ids instead, never with one entry per possible id.
MAX_DENSE_IDS = 2**24
#: Class ids above this are refused: a class table names every class up to its largest id.
MAX_CLASS_ID = 4096
BACKGROUND = "background"
BACKGROUND_COLOR = (0, 0, 0)

# The one default class palette of the project (the Trainer, models, training data, files):
# Okabe-Ito's colour-blind-safe set (Okabe & Ito 2008, without black), then three of Paul
# Tol's "bright" scheme; further classes get golden-angle hues.
CLASS_PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (238, 102, 119), (34, 136, 51), (170, 51, 119),
)


def default_class_color(class_id: int) -> tuple[int, int, int]:
    """Colour of user class ``class_id`` (1-based) when none was chosen; 0 is background.

    Class k is ``CLASS_PALETTE[k - 1]`` for the first ten classes, then a golden-angle hue,
    so the same class id has the same colour wherever a default is needed.
    """
    if class_id <= 0:
        return BACKGROUND_COLOR
    if class_id <= len(CLASS_PALETTE):
        return CLASS_PALETTE[class_id - 1]
    hue = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return (round(r * 255), round(g * 255), round(b * 255))


def default_class_colors(n_user_classes: int) -> list[tuple[int, int, int]]:
    """Background black, then :func:`default_class_color` of classes 1..n_user_classes."""
    return [default_class_color(k) for k in range(n_user_classes + 1)]


def normalise_color(value: Any) -> tuple[int, int, int]:
    """RGB tuple of ints 0..255 from a hex string, packed int, or 3/4-sequence.

    Accepted: "#rrggbb", "#rgb", "rrggbb"; ints packed as 0xRRGGBB or signed ARGB (QuPath's
    ``colorRGB``); sequences of 3 or 4 numbers (alpha dropped), floats all within 0..1 read
    as fractions. Raises ValueError for anything else.
    """
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        text = value.strip().lstrip("#")
        if len(text) == 3:
            text = "".join(ch * 2 for ch in text)
        if len(text) in (6, 8):
            try:
                packed = int(text[-6:], 16)
            except ValueError:
                raise ValueError(f"not a colour: {value!r}") from None
            return ((packed >> 16) & 255, (packed >> 8) & 255, packed & 255)
        raise ValueError(f"not a colour: {value!r}")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        packed = int(value) & 0xFFFFFF
        return ((packed >> 16) & 255, (packed >> 8) & 255, packed & 255)
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.size not in (3, 4) or arr.dtype.kind not in "uif":
        raise ValueError(f"not a colour: {value!r}")
    rgb = arr[:3].astype(np.float64)
    if arr.dtype.kind == "f" and np.all((rgb >= 0) & (rgb <= 1)) and rgb.max() <= 1.0:
        rgb = rgb * 255.0
    if not np.all(np.isfinite(rgb)) or rgb.min() < 0 or rgb.max() > 255:
        raise ValueError(f"colour components out of range 0..255: {value!r}")
    r, g, b = (int(round(float(c))) for c in rgb)
    return (r, g, b)


def _as_name_list(names: Any) -> list[str]:
    if isinstance(names, np.ndarray):
        names = names.tolist()
    if isinstance(names, (str, bytes)):
        names = [names]
    out = []
    for name in names:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        out.append(str(name))
    return out


def _as_color_list(colors: Any) -> list[Any]:
    if isinstance(colors, np.ndarray):
        if colors.ndim == 1 and colors.dtype.kind in "uif" and colors.size in (3, 4):
            return [colors]
        return list(colors)
    if isinstance(colors, (str, bytes)):
        return [colors]
    return list(colors)


def normalise_class_table(
    class_names: Sequence[str] | np.ndarray | None,
    class_colors: Sequence[Any] | np.ndarray | None,
    n_user_classes: int = 0,
) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Return (names, colours) with "background" first and one colour per name.

    Names without a leading "background" entry (MultiCellPose 0.9 files) get one; colours
    given for the user classes only are shifted the same way; missing names become
    "class k" and missing colours come from the default palette, so that the table has at
    least ``n_user_classes + 1`` entries. Raises ValueError for unreadable colours.
    """
    if n_user_classes > MAX_CLASS_ID:  # never build a placeholder name per missing class
        raise ValueError(f"class id {n_user_classes} is above the limit of {MAX_CLASS_ID}")
    names = _as_name_list(class_names) if class_names is not None else []
    colors_in = _as_color_list(class_colors) if class_colors is not None else []
    colors = [normalise_color(c) for c in colors_in]
    if not names or names[0].strip().lower() != BACKGROUND:
        if len(colors) == len(names) + 1 and names:
            pass  # colours already include a background entry
        else:
            colors = [BACKGROUND_COLOR, *colors]
        names = [BACKGROUND, *names]
    else:
        names[0] = BACKGROUND
        if colors and len(colors) == len(names) - 1:
            colors = [BACKGROUND_COLOR, *colors]  # colours given for the user classes only
    while len(names) < n_user_classes + 1:
        names.append(f"class {len(names)}")
    colors = colors[: len(names)]
    while len(colors) < len(names):
        colors.append(default_class_color(len(colors)))
    return names, colors


def classes_from_map(masks: np.ndarray, class_map: np.ndarray) -> np.ndarray:
    """Per-object class by majority vote of a per-pixel class map: the one rule of the project
    (reading class maps from files, a model's prediction, training metrics).

    ``masks`` (Y, X) instance mask, any integer dtype (ids may be sparse, up to 2**32-1);
    ``class_map`` (Y, X) integer class per pixel. Only positive class values vote (0 =
    background / unassigned and negatives mean "no class"), as MultiCellPose 0.9 did; ties go
    to the smaller class id; an object without votes gets class 0. Returns int32 of length
    ``masks.max() + 1`` with entry 0 = 0. Raises ValueError when the shapes differ.
    """
    masks = np.asarray(masks)
    class_map = np.asarray(class_map)
    if masks.shape != class_map.shape:
        raise ValueError(f"class map {class_map.shape} does not fit masks {masks.shape}")
    max_id = int(masks.max()) if masks.size else 0
    classes = np.zeros(max_id + 1, dtype=np.int32)
    sel = (masks > 0) & (class_map > 0)
    if not sel.any():
        return classes
    obj = masks[sel].astype(np.int64)
    cls = class_map[sel].astype(np.int64)
    n_cls = int(cls.max()) + 1
    if (max_id + 1) * n_cls <= 1 << 26:  # dense ids (model output): one bincount
        votes = np.bincount(obj * n_cls + cls, minlength=(max_id + 1) * n_cls)
        votes = votes.reshape(max_id + 1, n_cls)
        has = votes.any(axis=1)
        classes[has] = votes[has].argmax(axis=1)  # argmax: first (smaller) class on ties
        return classes
    pairs, counts = np.unique(np.stack([obj, cls]), axis=1, return_counts=True)
    # Sort by object, then by count descending, then class ascending; take the first.
    order = np.lexsort((pairs[1], -counts, pairs[0]))
    pairs = pairs[:, order]
    first = np.ones(pairs.shape[1], dtype=bool)
    first[1:] = pairs[0, 1:] != pairs[0, :-1]
    classes[pairs[0, first]] = pairs[1, first]
    return classes


def mask_dtype_for(max_id: int) -> np.dtype:
    """uint16 below 65535 (as upstream Cellpose), uint32 up to 2**32-1; never wraps."""
    if max_id < 0 or max_id > MAX_LABEL:
        raise ValueError(f"object ids must be within 0..{MAX_LABEL}, got {max_id}")
    return np.dtype(np.uint16) if max_id < 2**16 - 1 else np.dtype(np.uint32)


def compact_labels(
    labels: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Renumber ids to 1..N after painting removed some objects; narrow the dtype.

    ``classes`` is indexed by the painted ids. Returns (labels, classes, n_dropped).
    """
    present = np.unique(labels)
    present = present[present > 0]
    lost = len(classes) - 1 - len(present)
    if lost:
        lut = np.zeros(len(classes), dtype=np.uint32)
        lut[present] = np.arange(1, len(present) + 1, dtype=np.uint32)
        labels = lut[labels]
        classes = np.concatenate([[0], classes[present]]).astype(np.int32)
    max_id = int(labels.max()) if labels.size else 0
    return labels.astype(mask_dtype_for(max_id)), classes.astype(np.int32), lost


def object_ids(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids (> 0) present in ``masks``, ascending, and their pixel counts (both int64).

    Never allocates per possible id: ids up to 2**32-1 are valid, so large ids are counted
    with a sort (``np.unique``) instead of ``np.bincount`` over the whole id range.
    """
    flat = np.asarray(masks).ravel()
    if not flat.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    hi = int(flat.max())
    if hi < min(MAX_DENSE_IDS, 4 * flat.size + 16):
        counts = np.bincount(flat.astype(np.int64, copy=False), minlength=hi + 1)
        ids = np.flatnonzero(counts[1:]) + 1
        return ids.astype(np.int64), counts[ids].astype(np.int64)
    ids, counts = np.unique(flat, return_counts=True)
    keep = ids > 0
    return ids[keep].astype(np.int64), counts[keep].astype(np.int64)


def renumber_sparse_ids(
    masks: np.ndarray, classes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Renumber ids to 1..N (order kept) when the largest id is too large for tables indexed
    by id (``>= MAX_DENSE_IDS``), as the Cellpose GUI renumbers every file it opens.

    ``classes`` (indexed by the old ids, may be shorter) is moved to the new ids. Returns
    ``(masks, classes, renumbered)``; small ids come back unchanged.
    """
    masks = np.asarray(masks)
    hi = int(masks.max()) if masks.size else 0
    if hi < MAX_DENSE_IDS:
        return masks, classes, False
    ids, _counts = object_ids(masks)
    new = np.searchsorted(ids, masks.ravel()).astype(np.int64) + 1
    new[masks.ravel() == 0] = 0
    out = new.reshape(masks.shape).astype(mask_dtype_for(len(ids)))
    if classes is not None:
        classes = np.asarray(classes)
        moved = np.zeros(len(ids) + 1, dtype=np.int32)
        known = ids < len(classes)
        moved[1:][known] = classes[ids[known]]
        classes = moved
    return out, classes, True
