"""Edit whole tracks of a tracked table: delete, merge, undo (plain data, no Qt).

Each edit returns a new table (the input is not changed), so an undo step is simply the
previous table; :class:`TrackEdits` keeps them. Status and age of a merged track are
recomputed the way :func:`~guv_app.services.tracking.link.track_table` writes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.tracking.config import (
    STATUS_DIVIDED,
    STATUS_GAP_CLOSED,
    STATUS_MATCHED,
    STATUS_NEW,
)
from guv_app.services.tracking.costs import TrackingError, require
from guv_app.services.tracking.link import MOVIE_COLUMNS, lineage_ids


def _rows_of(table: Table, track: int) -> np.ndarray:
    return np.flatnonzero(np.asarray(table["track_id"]) == int(track))


def _copy(table: Table) -> Table:
    return {k: np.array(v, copy=True) for k, v in table.items()}


def delete_tracks(table: Table, tracks: Iterable[int]) -> Table:
    """``table`` without the rows of ``tracks``; their daughters lose their parent.

    Raises :class:`TrackingError` for a table without ``track_id`` or an unknown track.
    """
    require(table, ["track_id"], "to edit tracks (track the table first)")
    ids = np.asarray(table["track_id"])
    gone = sorted({int(t) for t in tracks})
    missing = [t for t in gone if t <= 0 or not (ids == t).any()]
    if missing:
        raise TrackingError(f"no track {missing[0]} in the table")
    keep = ~np.isin(ids, gone)
    out = {k: np.asarray(v)[keep] for k, v in table.items()}
    if "parent_track_id" in out:
        orphan = np.isin(out["parent_track_id"], gone)
        out["parent_track_id"] = np.where(orphan, 0, out["parent_track_id"])
        if "track_status" in out:
            status = np.asarray(out["track_status"], dtype=object).copy()
            status[orphan & (status == STATUS_DIVIDED)] = STATUS_NEW
            out["track_status"] = status
        if "lineage_id" in out:
            out["lineage_id"] = lineage_ids(out["track_id"], out["parent_track_id"])
    return out


def merge_tracks(table: Table, keep: int, other: int, frame_column: str = "t") -> Table:
    """Make ``other`` part of ``keep``: its rows take ``keep``'s id; status/age recomputed.

    The two tracks must belong to the same movie (image, series, z) and never have an
    object in the same frame. Raises :class:`TrackingError` otherwise.
    """
    require(table, ["track_id", frame_column], "to merge tracks")
    keep, other = int(keep), int(other)
    a, b = _rows_of(table, keep), _rows_of(table, other)
    if keep == other or not len(a) or not len(b):
        raise TrackingError(f"cannot merge track {other} into track {keep}: "
                            + ("the same track" if keep == other else "no such track"))
    for column in MOVIE_COLUMNS:
        if column in table and len({str(v) for v in np.asarray(table[column])[np.r_[a, b]]}) > 1:
            raise TrackingError(f"tracks {keep} and {other} are in different movies ({column})")
    t = np.asarray(table[frame_column])
    both = np.intersect1d(t[a], t[b])
    if len(both):
        raise TrackingError(f"tracks {keep} and {other} both have an object at "
                            f"{frame_column}={both[0]}; delete one of them first")
    out = _copy(table)
    out["track_id"][b] = keep
    if "parent_track_id" in out:
        out["parent_track_id"][out["parent_track_id"] == other] = keep
        if "lineage_id" in out:
            out["lineage_id"] = lineage_ids(out["track_id"], out["parent_track_id"])
    _restate(out, np.r_[a, b], frame_column)
    return out


def _restate(table: Table, rows: np.ndarray, frame_column: str) -> None:
    """Status and age of one track's rows from its frames (first new, then matched/gap)."""
    t = np.asarray(table[frame_column])[rows].astype(np.int64)
    order = np.argsort(t, kind="stable")
    rows, t = rows[order], t[order]
    movie = np.ones(len(table["track_id"]), dtype=bool)
    for column in MOVIE_COLUMNS:
        if column in table:
            values = np.asarray(table[column]).astype(str)
            movie &= values == values[rows[0]]
    frames = np.unique(np.asarray(table[frame_column])[movie].astype(np.int64))
    step = int(reduce(math.gcd, np.diff(frames).tolist(), 0)) or 1
    if "track_status" in table:
        status = np.asarray(table["track_status"], dtype=object)
        first = status[rows[0]]
        status[rows[0]] = first if first == STATUS_DIVIDED else STATUS_NEW
        gaps = np.diff(t)
        status[rows[1:]] = np.where(gaps == step, STATUS_MATCHED, STATUS_GAP_CLOSED)
        table["track_status"] = status
    if "track_age" in table:
        table["track_age"][rows] = t - t[0]
    if "track_age_s" in table and "time_s" in table:
        time_s = np.asarray(table["time_s"], dtype=np.float64)
        table["track_age_s"][rows] = time_s[rows] - time_s[rows[0]]


@dataclass
class TrackEdits:
    """The current tracked table and the tables before each edit (one undo step each)."""

    table: Table
    undo_stack: list[Table] = field(default_factory=list)
    redo_stack: list[Table] = field(default_factory=list)

    def apply(self, table: Table) -> None:
        self.undo_stack.append(self.table)
        self.redo_stack.clear()
        self.table = table

    def delete(self, tracks: Iterable[int]) -> None:
        self.apply(delete_tracks(self.table, tracks))

    def merge(self, keep: int, other: int, frame_column: str = "t") -> None:
        self.apply(merge_tracks(self.table, keep, other, frame_column))

    def undo(self) -> bool:
        if not self.undo_stack:
            return False
        self.redo_stack.append(self.table)
        self.table = self.undo_stack.pop()
        return True

    def redo(self) -> bool:
        if not self.redo_stack:
            return False
        self.undo_stack.append(self.table)
        self.table = self.redo_stack.pop()
        return True
