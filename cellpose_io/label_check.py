"""Is a label image really an instance mask? Detect binary and class-id masks, and fix them.

An instance mask (Cellpose ``_masks.tif``, ``_seg.npy`` ``masks``) gives every object its own
id. Two look-alikes are common and silently wrong as training labels or imports:

* a **binary mask** (0/1, 0/255, or bool): every object shares one value, so it counts as one
  object;
* a **class-id image** (semantic segmentation): a few values (1 = nucleus, 2 = cell...), each
  covering many separate blobs.

:func:`check_label_image` tells them apart from an instance mask; :func:`label_components`
turns either into an instance mask by connected-component labelling (8-connectivity, as
``skimage.measure.label`` for 2-D), returning the original value of each new object so a
class-id image keeps its classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LabelCheck", "check_label_image", "label_components"]

MAX_CLASS_VALUES = 32  # more distinct values than this: an instance mask, not class ids


@dataclass(frozen=True)
class LabelCheck:
    """What a label image looks like.

    ``kind`` is ``"instances"`` (ids are objects), ``"binary"`` (one foreground value over
    several separate blobs) or ``"class_ids"`` (few values, most of them over several
    blobs). ``n_values``: distinct non-zero values; ``n_components``: separate 8-connected
    blobs over all values (0 when not computed, i.e. for instance masks with many ids).
    """

    kind: str
    n_values: int
    n_components: int = 0

    @property
    def ok(self) -> bool:
        return self.kind == "instances"

    def describe(self, name: str = "the labels") -> str:
        """One line for the user (no function names)."""
        if self.kind == "binary":
            return (f"{name} look like a binary mask: one value covers {self.n_components} "
                    "separate objects, which would count as a single object")
        if self.kind == "class_ids":
            return (f"{name} look like class ids, not object ids: {self.n_values} values "
                    f"cover {self.n_components} separate objects")
        return f"{name}: {self.n_values} objects"


def _components(fg: np.ndarray) -> tuple[int, np.ndarray]:
    import cv2

    n, comp = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return n - 1, comp


def _values(m: np.ndarray) -> np.ndarray:
    """Distinct non-zero values (bincount when ids are small: ~10x faster than unique)."""
    if m.dtype == bool:
        return np.array([1]) if m.any() else np.array([], np.int64)
    if m.size and m.dtype.kind in "ui" and 0 <= int(m.min()) and int(m.max()) < 1 << 24:
        values = np.flatnonzero(np.bincount(m.ravel()))
    else:
        values = np.unique(m)
    return values[values != 0]


def check_label_image(masks: np.ndarray) -> LabelCheck:
    """Classify a 2-D label image (H, W) of non-negative integers or bools.

    Binary: a single non-zero value over two or more separate blobs. Class ids: at most
    ``MAX_CLASS_VALUES`` values, at least twice as many blobs as values, and more than half
    of the values split into several blobs. Anything else is taken as an instance mask.
    Costs one connected-component pass per distinct value, only when there are few values.
    """
    m = np.asarray(masks)
    if m.ndim != 2:
        raise ValueError(f"label image must be 2-D, got shape {m.shape}")
    values = _values(m)
    if len(values) == 0 or len(values) > MAX_CLASS_VALUES:
        return LabelCheck("instances", len(values))
    per_value = [_components(m == v)[0] for v in values]
    total = int(sum(per_value))
    if len(values) == 1:
        return LabelCheck("binary" if total > 1 else "instances", 1, total)
    split = sum(1 for n in per_value if n > 1)
    if total >= 2 * len(values) and split * 2 > len(values):
        return LabelCheck("class_ids", len(values), total)
    return LabelCheck("instances", len(values), total)


def label_components(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Instance mask from a binary or class-id image by 8-connected components.

    Returns ``(labels, values)``: ``labels`` (H, W) uint32 with ids 1..N (blobs of the first
    value first, each value's blobs in raster order) and ``values`` (N + 1,) int64 with the
    original pixel value of each new id (``values[0] == 0``), i.e. the class of each object
    when the input held class ids.
    """
    m = np.asarray(masks)
    if m.ndim != 2:
        raise ValueError(f"label image must be 2-D, got shape {m.shape}")
    out = np.zeros(m.shape, np.uint32)
    vals = [0]
    for v in _values(m):
        n, comp = _components(m == v)
        if n:
            hit = comp > 0
            out[hit] = comp[hit].astype(np.uint32) + np.uint32(len(vals) - 1)
            vals += [int(v)] * n
    return out, np.asarray(vals, np.int64)
