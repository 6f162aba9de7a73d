"""Outline pixels of instance masks, computed the way the Cellpose GUI draws them.

Upstream (``cellpose.utils.masks_to_outlines``) traces each object with OpenCV and loops over
every id up to ``masks.max()``, which is unusable for sparse ids near 2**32-1 and would pull
cellpose into this layer. Here one vectorised pass marks every object pixel that has a
4-neighbour outside the object (or lies on the image border): the same inner boundary
upstream's external contour visits, except that upstream leaves out the rims of holes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["masks_to_outlines", "outlines_from_masks"]


def masks_to_outlines(masks: np.ndarray) -> np.ndarray:
    """Boolean (H, W) array, True on each object's boundary pixels (0 = background)."""
    masks = np.asarray(masks)
    if masks.ndim != 2:
        raise ValueError(f"masks must be 2-D (H, W), got shape {masks.shape}")
    padded = np.pad(masks, 1, mode="constant", constant_values=0)
    centre = padded[1:-1, 1:-1]
    edge = (
        (padded[:-2, 1:-1] != centre)
        | (padded[2:, 1:-1] != centre)
        | (padded[1:-1, :-2] != centre)
        | (padded[1:-1, 2:] != centre)
    )
    return edge & (centre != 0)


def outlines_from_masks(masks: np.ndarray) -> np.ndarray:
    """Outline image as Cellpose stores it: the object id on boundary pixels, 0 elsewhere."""
    masks = np.asarray(masks)
    return np.where(masks_to_outlines(masks), masks, 0).astype(masks.dtype, copy=False)
