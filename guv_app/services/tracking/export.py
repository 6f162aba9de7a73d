"""The wide time-series layout spreadsheet users ask for: one row per frame, one column per track."""

from __future__ import annotations

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.tracking.costs import TrackingError, require


def wide_table(table: Table, column: str, frame_column: str = "t") -> Table:
    """``column`` of every track over time: ``t`` (and ``time_s``), then ``track_<id>``.

    ``table`` is a tracked table (:func:`~guv_app.services.tracking.link.track_table`). Rows
    are the frames present, sorted; a track's cell is NaN in frames where it has no object.
    ``time_s`` of a frame is the first one found for it (equal across a run's movies when
    they share a time base). Raises :class:`TrackingError` for a missing or text column.
    """
    require(table, ["track_id", frame_column, column], "for the wide export")
    values = np.asarray(table[column])
    if values.dtype.kind not in "iufb":
        raise TrackingError(f"column {column!r} is not numeric; choose a measurement column")
    track = np.asarray(table["track_id"], dtype=np.int64)
    t = np.asarray(table[frame_column])
    keep = track > 0
    frames = np.unique(t[keep]) if keep.any() else np.zeros(0, t.dtype)
    ids = np.unique(track[keep])
    row_of = np.searchsorted(frames, t[keep])
    col_of = np.searchsorted(ids, track[keep])
    grid = np.full((len(frames), len(ids)), np.nan)
    grid[row_of, col_of] = values[keep].astype(np.float64)
    out: Table = {frame_column: frames}
    if "time_s" in table:
        time_s = np.full(len(frames), np.nan)
        times = np.asarray(table["time_s"], dtype=np.float64)[keep]
        for r, value in zip(row_of[::-1], times[::-1], strict=True):  # the first one wins
            time_s[r] = value
        out["time_s"] = time_s
    for k, track_id in enumerate(ids):
        out[f"track_{int(track_id)}"] = grid[:, k]
    return out
