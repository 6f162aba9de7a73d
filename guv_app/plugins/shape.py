"""Shape measurements in pixels, with scikit-image ``regionprops`` definitions.

Columns (all in pixel units, angles in radians):
``area`` (pixel count), ``perimeter`` (``regionprops`` 4-connectivity perimeter: weighted
border-pixel count, Benkrid & Crookes), ``centroid_y``/``centroid_x``, ``bbox_y0``/``bbox_x0``
(first row/col) and ``bbox_y1``/``bbox_x1`` (one past the last, like skimage's ``bbox``),
``equivalent_diameter`` (diameter of the disc of the same area), ``major_axis_length`` /
``minor_axis_length`` (of the ellipse with the same second moments), ``eccentricity``,
``orientation`` (angle between the row axis and the major axis, -pi/2..pi/2, skimage's sign
convention), ``convex_area`` (pixel centres in the convex hull) and ``solidity``
(area / convex_area).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from guv_app.plugins.base import MeasurementPlugin, Table
from guv_app.plugins.hull import convex_areas
from guv_app.plugins.regions import (
    NEIGHBOURS_4,
    NEIGHBOURS_DIAGONAL,
    Objects,
    check_masks,
    inner_border,
    neighbour_index,
)

# skimage.measure.perimeter weights, indexed by the 3x3 border-code convolution value.
_PERIMETER_WEIGHTS = np.zeros(50, dtype=np.float64)
_PERIMETER_WEIGHTS[[5, 7, 15, 17, 25, 27]] = 1
_PERIMETER_WEIGHTS[[21, 33]] = math.sqrt(2)
_PERIMETER_WEIGHTS[[13, 23]] = (1 + math.sqrt(2)) / 2


def perimeters(masks: np.ndarray, objects: Objects) -> np.ndarray:
    """``regionprops(...).perimeter`` of every object at once.

    skimage convolves each object's border image with [[10,2,10],[2,1,2],[10,2,10]] and
    weights the codes; only border pixels get odd codes (non-zero weights), so the code of a
    border pixel is 1 + 2 * (4-neighbours on the same object's border) + 10 * (diagonal ones).
    """
    border = inner_border(masks, objects)
    pixels = objects.pixels[border]
    rows, cols = objects.rows[border], objects.cols[border]
    flat = masks.ravel()
    on_border = np.zeros(flat.size, dtype=bool)
    on_border[pixels] = True
    own = flat[pixels]
    code = np.ones(len(pixels), dtype=np.int64)
    for offsets, weight in ((NEIGHBOURS_4, 2), (NEIGHBOURS_DIAGONAL, 10)):
        for dy, dx in offsets:
            index, valid = neighbour_index(masks.shape, pixels, rows, cols, dy, dx)
            code += weight * (valid & on_border[index] & (flat[index] == own))
    return np.bincount(objects.rank[border], weights=_PERIMETER_WEIGHTS[code],
                       minlength=objects.n)


def shape_table(masks: np.ndarray, objects: Objects | None = None) -> Table:
    masks = check_masks(masks)
    objects = objects or Objects.cached(masks)
    n = objects.n
    area = objects.counts.astype(np.float64)
    rows, cols = objects.rows, objects.cols
    cy, cx = objects.mean(rows), objects.mean(cols)
    dy = rows - objects.spread(cy)
    dx = cols - objects.spread(cx)
    mu20 = objects.sum(dy * dy)
    mu02 = objects.sum(dx * dx)
    mu11 = objects.sum(dy * dx)
    # skimage's inertia tensor [[a, b], [b, c]]
    a, b, c = mu02 / area, -mu11 / area, mu20 / area
    root = np.sqrt(((a - c) / 2) ** 2 + b * b)
    l1 = np.clip((a + c) / 2 + root, 0, None)
    l2 = np.clip((a + c) / 2 - root, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        eccentricity = np.where(l1 == 0, 0.0, np.sqrt(np.clip(1 - l2 / l1, 0, None)))
    orientation = 0.5 * np.arctan2(-2 * b, c - a)
    same = (a - c) == 0
    orientation[same] = np.where(b[same] < 0, math.pi / 4, -math.pi / 4)
    ends = objects.starts + objects.counts - 1
    convex = convex_areas(objects)
    return {
        "object_id": objects.ids,
        "area": objects.counts.astype(np.int64),
        "perimeter": perimeters(masks, objects) if n else np.zeros(0),
        "centroid_y": cy,
        "centroid_x": cx,
        "bbox_y0": rows[objects.starts] if n else np.zeros(0, np.int64),
        "bbox_x0": objects.min(cols),
        "bbox_y1": rows[ends] + 1 if n else np.zeros(0, np.int64),
        "bbox_x1": objects.max(cols) + 1,
        "equivalent_diameter": np.sqrt(4 * area / math.pi),
        "major_axis_length": 4 * np.sqrt(l1),
        "minor_axis_length": 4 * np.sqrt(l2),
        "eccentricity": eccentricity,
        "orientation": orientation,
        "convex_area": convex,
        "solidity": area / np.maximum(convex, 1),
    }


class ShapePlugin(MeasurementPlugin):
    """Area, perimeter, centroid, bounding box, ellipse fit and convexity of each object."""

    name = "shape"
    description = "Area, perimeter, centroid, bounding box, ellipse axes, solidity (pixels)."
    params_schema = ()

    def measure(
        self,
        channels: np.ndarray,
        masks: np.ndarray,
        classes: np.ndarray,
        params: Mapping[str, Any],
    ) -> Table:
        return shape_table(masks)
