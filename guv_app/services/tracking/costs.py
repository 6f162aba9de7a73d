"""Per-object feature vectors whose squared distance is the linking cost (see TrackingConfig).

Every cost term of :class:`~guv_app.services.tracking.config.TrackingConfig` except the
overlap is a squared difference of one scaled feature, so the whole cost is the squared
Euclidean distance between feature vectors and ``scipy.spatial.distance.cdist`` computes it
in C for every pair at once (laptrack's ``"sqeuclidean"`` metric). The bounding-box overlap
term is not a difference of features; when it is asked for, a Python metric
(:class:`OverlapCost`) is used instead -- exact, but slower on crowded frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.tracking.config import TrackingConfig

POSITION_COLUMNS = {"px": ("centroid_y", "centroid_x"), "um": ("centroid_y_um", "centroid_x_um")}
BBOX_COLUMNS = ("bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1")


class TrackingError(ValueError):
    """A table that cannot be tracked (missing columns, no frames): one readable line."""


def require(table: Table, columns: tuple[str, ...] | list[str], why: str) -> None:
    missing = [c for c in columns if c not in table]
    if missing:
        raise TrackingError(
            f"the table has no {', '.join(repr(c) for c in missing)} column(s), needed {why}"
        )


def class_codes(table: Table) -> np.ndarray:
    """One integer per row naming its class (``class_id``, else the ``class_name`` text)."""
    if "class_id" in table:
        return np.asarray(table["class_id"], dtype=np.float64)
    require(table, ["class_name"], "for the same-class constraint")
    _, codes = np.unique(np.asarray(table["class_name"]).astype(str), return_inverse=True)
    return codes.astype(np.float64)


def feature_matrix(table: Table, config: TrackingConfig) -> np.ndarray:
    """(n_rows, n_features) float64: scaled features, then the 4 bbox columns if overlap.

    Raises :class:`TrackingError` when a column the configuration needs is missing.
    """
    position = POSITION_COLUMNS[config.units]
    require(table, list(position), "for the object positions (shape plugin"
            + (", on a file with a pixel size or --pixel-size)" if config.units == "um" else ")"))
    parts = [np.asarray(table[c], dtype=np.float64) for c in position]
    if config.area_weight:
        require(table, ["area"], "for the area cost")
        area = np.asarray(table["area"], dtype=np.float64)
        parts.append(config.area_weight * np.log(np.clip(area, 1e-9, None)))
    if config.intensity_weight:
        require(table, [config.intensity_column], "for the intensity cost")
        value = np.asarray(table[config.intensity_column], dtype=np.float64)
        parts.append(config.intensity_weight * np.log1p(np.clip(value, 0, None)))
    if config.same_class:
        # A class difference of 1 costs more than any allowed link: forbidden, exactly.
        step = 2.0 * max(config.max_distance, config.gap_distance) + 1.0
        parts.append(step * class_codes(table))
    if config.overlap_weight:
        require(table, list(BBOX_COLUMNS), "for the overlap cost (shape plugin)")
        parts += [np.asarray(table[c], dtype=np.float64) for c in BBOX_COLUMNS]
    return np.column_stack(parts) if parts else np.zeros((0, 0))


@dataclass(frozen=True)
class OverlapCost:
    """cdist metric: squared distance of the features + (weight · (1 − bbox IoU))².

    The last four entries of a vector are the bounding box (y0, x0, y1, x1), one past the
    last pixel like ``regionprops.bbox``.
    """

    weight: float

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        diff = a[:-4] - b[:-4]
        ay0, ax0, ay1, ax1 = a[-4:]
        by0, bx0, by1, bx1 = b[-4:]
        inter = max(0.0, min(ay1, by1) - max(ay0, by0)) * max(0.0, min(ax1, bx1) - max(ax0, bx0))
        union = (ay1 - ay0) * (ax1 - ax0) + (by1 - by0) * (bx1 - bx0) - inter
        iou = inter / union if union > 0 else 0.0
        return float(diff @ diff + (self.weight * (1.0 - iou)) ** 2)


def metric_for(config: TrackingConfig):
    """The laptrack/cdist metric that matches :func:`feature_matrix`."""
    return OverlapCost(config.overlap_weight) if config.overlap_weight else "sqeuclidean"
