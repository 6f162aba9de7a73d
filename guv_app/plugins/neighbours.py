"""Which objects touch each other, and how far each object's nearest neighbour is.

Columns: ``n_touching`` (objects sharing an edge, or also a corner with connectivity 8),
``touching_ids`` (their ids separated by ``;``, empty when none), ``nearest_id`` and
``nearest_distance`` (centroid to nearest other centroid, pixels; 0 and NaN when the image
holds a single object).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from guv_app.plugins.base import MeasurementPlugin, ParamSpec, Table
from guv_app.plugins.regions import Objects, check_masks


def touching_pairs(masks: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Unique (a, b) id pairs with a < b whose pixels are adjacent, shape (k, 2)."""
    shifts = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if connectivity == 8 else [])
    found = []
    height, width = masks.shape
    for dy, dx in shifts:
        a = masks[: height - dy, max(0, -dx): width - max(0, dx)]
        b = masks[dy:, max(0, dx): width + min(0, dx)]
        hit = (a != b) & (a > 0) & (b > 0)
        pa, pb = a[hit].astype(np.int64), b[hit].astype(np.int64)
        found.append(np.stack([np.minimum(pa, pb), np.maximum(pa, pb)], axis=1))
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def neighbours_table(masks: np.ndarray, connectivity: int = 8) -> Table:
    from scipy.spatial import cKDTree

    masks = check_masks(masks)
    objects = Objects.cached(masks)
    n = objects.n
    pairs = touching_pairs(masks, connectivity)
    both = np.concatenate([pairs, pairs[:, ::-1]]) if len(pairs) else pairs
    both = both[np.lexsort((both[:, 1], both[:, 0]))] if len(both) else both
    rank = objects.index_of(both[:, 0]) if len(both) else np.zeros(0, dtype=np.int64)
    n_touching = np.bincount(rank, minlength=n)
    split = np.split(both[:, 1], np.cumsum(n_touching)[:-1]) if n else []
    touching_ids = np.array([";".join(map(str, ids.tolist())) for ids in split], dtype=object)
    nearest_id = np.zeros(n, dtype=np.int64)
    nearest_distance = np.full(n, np.nan)
    if n > 1:
        centroids = np.stack([objects.mean(objects.rows), objects.mean(objects.cols)], axis=1)
        distance, index = cKDTree(centroids).query(centroids, k=2)
        # with two identical centroids the query may list the other object first
        other = np.where(index[:, 0] == np.arange(n), index[:, 1], index[:, 0])
        nearest_id = objects.ids[other].astype(np.int64)
        nearest_distance = distance[:, 1]
    return {
        "object_id": objects.ids,
        "n_touching": n_touching,
        "touching_ids": touching_ids,
        "nearest_id": nearest_id,
        "nearest_distance": nearest_distance,
    }


class NeighboursPlugin(MeasurementPlugin):
    """Touching objects (count and ids) and nearest-neighbour centroid distance."""

    name = "neighbours"
    description = "Touching objects and nearest-neighbour centroid distance (pixels)."
    params_schema = (
        ParamSpec("connectivity", "choice", 8, choices=(4, 8),
                  help="4: objects touch when they share an edge; 8: a corner is enough."),
    )

    def measure(
        self,
        channels: np.ndarray,
        masks: np.ndarray,
        classes: np.ndarray,
        params: Mapping[str, Any],
    ) -> Table:
        return neighbours_table(masks, int(params["connectivity"]))
