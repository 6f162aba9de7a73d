"""Intensity on each object's boundary ring versus its interior (e.g. membrane enrichment).

The ring is ``width`` pixels wide, taken inside the object (``inner``: width 1 is the
4-connected border), outside it (``outer``: background pixels, each given to the nearest
object), or both. Columns: ``boundary_area`` (ring pixels), then per channel ``c``:
``ch{c}_boundary_mean``, ``ch{c}_boundary_integrated``, ``ch{c}_interior_mean`` (object
pixels not in the ring; NaN when the ring covers the whole object) and
``ch{c}_boundary_ratio`` (boundary mean / interior mean).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from guv_app.plugins.base import MeasurementPlugin, ParamSpec, Table
from guv_app.plugins.regions import (
    Objects,
    check_channels,
    check_masks,
    grouped_mean,
    inner_ring,
    outer_ring,
)


def boundary_table(
    channels: np.ndarray, masks: np.ndarray, width: int = 2, side: str = "inner"
) -> Table:
    masks = check_masks(masks)
    channels = check_channels(channels, masks)
    objects = Objects.cached(masks)
    n = objects.n
    pixels: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    interior = np.ones(objects.pixels.size, dtype=bool)
    if side in ("inner", "both"):
        inner = inner_ring(masks, objects, width)
        pixels.append(objects.pixels[inner])
        owners.append(objects.rank[inner])
        interior = ~inner
    if side in ("outer", "both"):
        ring_pixels, ring_owner = outer_ring(masks, objects, width)
        pixels.append(ring_pixels)
        owners.append(ring_owner)
    ring = np.concatenate(pixels)
    owner = np.concatenate(owners)
    table: Table = {"object_id": objects.ids, "boundary_area": np.bincount(owner, minlength=n)}
    for c, channel in enumerate(channels):
        flat = channel.ravel()
        boundary_mean, count = grouped_mean(flat[ring], owner, n)
        interior_mean, _ = grouped_mean(
            flat[objects.pixels[interior]], objects.rank[interior], n
        )
        table[f"ch{c}_boundary_mean"] = boundary_mean
        table[f"ch{c}_boundary_integrated"] = np.nan_to_num(boundary_mean) * count
        table[f"ch{c}_interior_mean"] = interior_mean
        with np.errstate(divide="ignore", invalid="ignore"):
            table[f"ch{c}_boundary_ratio"] = boundary_mean / interior_mean
    return table


class BoundaryPlugin(MeasurementPlugin):
    """Mean intensity of a ring along each object's edge, and its ratio to the interior."""

    name = "boundary"
    description = "Boundary-ring intensity per channel and its ratio to the interior."
    params_schema = (
        ParamSpec("width", "int", 2, minimum=1, maximum=50,
                  help="Ring width in pixels (1 = the object's outermost pixels)."),
        ParamSpec("side", "choice", "inner", choices=("inner", "outer", "both"),
                  help="Ring inside the object's edge, outside it (background), or both."),
    )

    def measure(
        self,
        channels: np.ndarray,
        masks: np.ndarray,
        classes: np.ndarray,
        params: Mapping[str, Any],
    ) -> Table:
        return boundary_table(channels, masks, params["width"], params["side"])
