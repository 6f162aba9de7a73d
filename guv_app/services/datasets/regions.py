"""Training regions: bounding boxes of region polygons and ~512 px tiles of large images.

A box is ``(y0, y1, x0, x1)`` in pixel coordinates, end-exclusive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

Box = tuple[int, int, int, int]


def polygon_box(polygon: np.ndarray, shape: tuple[int, int]) -> Box | None:
    """Bounding box of an (N, 2) ``(y, x)`` polygon clipped to ``shape``; None if empty."""
    pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return None
    y0 = int(np.clip(np.floor(pts[:, 0].min()), 0, shape[0]))
    y1 = int(np.clip(np.ceil(pts[:, 0].max()) + 1, 0, shape[0]))
    x0 = int(np.clip(np.floor(pts[:, 1].min()), 0, shape[1]))
    x1 = int(np.clip(np.ceil(pts[:, 1].max()) + 1, 0, shape[1]))
    if y1 - y0 < 2 or x1 - x0 < 2:
        return None
    return (y0, y1, x0, x1)


def mask_boxes(masks: np.ndarray, object_ids: Iterable[int]) -> list[Box]:
    """Bounding boxes of the given object ids in a label image (region objects)."""
    boxes = []
    for oid in object_ids:
        ys, xs = np.nonzero(masks == oid)
        if len(ys):
            boxes.append((int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1))
    return boxes


def _cuts(length: int, tile: int) -> list[tuple[int, int]]:
    n = max(1, int(round(length / tile)))
    edges = np.linspace(0, length, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def tile_boxes(shape: Sequence[int], tile: int = 512) -> list[Box]:
    """Cut an image of ``shape`` (H, W) into near-equal tiles of about ``tile`` px.

    An image up to ~1.5 tiles long in a dimension stays whole in that dimension, so small
    images give one box covering everything.
    """
    if tile <= 0:
        return [(0, int(shape[0]), 0, int(shape[1]))]
    return [
        (y0, y1, x0, x1)
        for y0, y1 in _cuts(int(shape[0]), tile)
        for x0, x1 in _cuts(int(shape[1]), tile)
    ]


def crop(array: np.ndarray, box: Box) -> np.ndarray:
    """Crop the last two axes of ``array`` to ``box`` (a copy, so the source can be freed)."""
    y0, y1, x0, x1 = box
    return np.ascontiguousarray(array[..., y0:y1, x0:x1])
