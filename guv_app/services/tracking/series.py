"""Measurements over time, per track and per class (mean ± standard deviation), for plots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.tracking.costs import TrackingError, require


@dataclass(frozen=True)
class Series:
    """One curve: x (time in s, or frame t), mean y, spread (SD, 0 for a track), n per x."""

    name: str
    x: np.ndarray
    y: np.ndarray
    spread: np.ndarray
    n: np.ndarray


def time_axis(table: Table, frame_column: str = "t") -> tuple[np.ndarray, str]:
    """(x per row, axis label): ``time_s`` when every row has one, else the frame number."""
    if "time_s" in table:
        time_s = np.asarray(table["time_s"], dtype=np.float64)
        if len(time_s) and np.isfinite(time_s).all():
            return time_s, "time (s)"
    require(table, [frame_column], "for a time axis")
    return np.asarray(table[frame_column], dtype=np.float64), f"frame ({frame_column})"


def _values(table: Table, column: str) -> np.ndarray:
    require(table, [column], "to plot it over time")
    values = np.asarray(table[column])
    if values.dtype.kind not in "iufb":
        raise TrackingError(f"column {column!r} is not numeric")
    return values.astype(np.float64)


def track_series(table: Table, column: str, frame_column: str = "t") -> list[Series]:
    """One :class:`Series` per track (``track_id`` > 0), points sorted by time."""
    require(table, ["track_id"], "to plot per track (track the table first)")
    x, _ = time_axis(table, frame_column)
    y = _values(table, column)
    ids = np.asarray(table["track_id"], dtype=np.int64)
    rows = np.flatnonzero(ids > 0)
    if not len(rows):
        return []
    rows = rows[np.lexsort((x[rows], ids[rows]))]  # by track, then time: one sort for all
    tracks, starts = np.unique(ids[rows], return_index=True)
    out = []
    for track, part in zip(tracks, np.split(rows, starts[1:]), strict=True):
        out.append(Series(f"track {int(track)}", x[part], y[part], np.zeros(len(part)),
                          np.ones(len(part), dtype=np.int64)))
    return out


def class_series(table: Table, column: str, frame_column: str = "t") -> list[Series]:
    """Per class: mean and SD (ddof 0) of ``column`` over the objects of each time point.

    NaN values are left out of both; a time point where a class has no value is left out.
    """
    x, _ = time_axis(table, frame_column)
    y = _values(table, column)
    names = (np.asarray(table["class_name"]).astype(str) if "class_name" in table
             else np.full(len(y), "all"))
    out = []
    for name in sorted(set(names.tolist())):
        keep = (names == name) & np.isfinite(y)
        if not keep.any():
            continue
        xs, inverse = np.unique(x[keep], return_inverse=True)
        n = np.bincount(inverse, minlength=len(xs))
        mean = np.bincount(inverse, weights=y[keep], minlength=len(xs)) / n
        sq = np.bincount(inverse, weights=(y[keep] - mean[inverse]) ** 2, minlength=len(xs))
        out.append(Series(name, xs, mean, np.sqrt(sq / n), n))
    return out
