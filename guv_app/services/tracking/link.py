"""Link the objects of a measurement table into tracks over time (laptrack's LAP tracker).

A *movie* is one (image, series, z) of the table -- whichever of those columns it has, and
one label set per channel (``label_channel``: each channel's objects are tracked apart); its
frames are the values of the frame column (``t``). Frames are the multiples of the smallest
step between the t values present, so a movie measured every 10th frame (``--t ::10``) is
tracked frame to frame and a t that has no objects at all still counts as a frame.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import reduce

import numpy as np

from guv_app.plugins.base import Table
from guv_app.services.progress import CancelCheck, Progress, never_cancelled, no_progress
from guv_app.services.tracking.config import (
    STATUS_DIVIDED,
    STATUS_GAP_CLOSED,
    STATUS_MATCHED,
    STATUS_NEW,
    STATUS_UNTRACKED,
    TrackingConfig,
)
from guv_app.services.tracking.costs import TrackingError, feature_matrix, metric_for, require

log = logging.getLogger(__name__)

#: Columns that tell movies apart, when the table has them (planes of a run: image, series,
#: z; the label set of a channel, ``measurement.linked``).
MOVIE_COLUMNS = ("image", "series", "z", "label_channel")
#: Columns this module adds, in this order, after ``object_id``.
TRACK_COLUMNS = ("track_id", "track_status", "track_age", "parent_track_id", "lineage_id")


class TrackingCancelled(Exception):
    """The user cancelled; nothing was written."""


@dataclass
class TrackingResult:
    """The input table with the track columns, and counts for a one-line report.

    Added columns: ``track_id`` (int64, 1.., unique over the whole table; 0 for untracked
    rows), ``track_status`` (new / matched / gap-closed / divided / untracked),
    ``track_age`` (frames since the track's first object, in t units), ``track_age_s``
    (seconds, when the table has ``time_s``), ``parent_track_id`` (mother track of a
    daughter after a division, else 0) and ``lineage_id`` (the first track of its family
    tree: equal for a cell and all its descendants, its own id without divisions).
    """

    table: Table
    n_tracks: int
    n_movies: int
    statuses: dict[str, int] = field(default_factory=dict)
    n_divisions: int = 0

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.statuses.items() if n)
        return (f"{self.n_tracks} tracks in {self.n_movies} movie(s); rows: {counts}"
                + (f"; {self.n_divisions} division(s)" if self.n_divisions else ""))


def movie_groups(table: Table) -> list[np.ndarray]:
    """Row indices of each movie (same image, series, z, label_channel), in order of first
    appearance."""
    n = len(next(iter(table.values()))) if table else 0
    keys = [np.asarray(table[c]).astype(str) for c in MOVIE_COLUMNS if c in table]
    if not keys:
        return [np.arange(n)] if n else []
    joined = np.array(["\x1f".join(parts) for parts in zip(*keys, strict=True)], dtype=object)
    _, first, inverse = np.unique(joined, return_index=True, return_inverse=True)
    order = np.argsort(first)
    return [np.flatnonzero(inverse == g) for g in order]


def frame_indices(t: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(frame index per row, first t, t step) with step = gcd of the gaps between t values."""
    values = np.unique(t)
    step = int(reduce(math.gcd, np.diff(values).astype(int).tolist(), 0)) or 1
    start = int(values[0])
    return ((t - start) // step).astype(np.int64), start, step


def _laptrack(config: TrackingConfig):
    from laptrack import LapTrack

    cutoff = config.max_distance ** 2
    gap_cutoff = config.gap_distance ** 2
    metric = metric_for(config)
    return LapTrack(
        metric=metric,
        cutoff=cutoff,
        gap_closing_metric=metric,
        gap_closing_cutoff=gap_cutoff if config.max_gap else False,
        gap_closing_max_frame_count=config.max_gap + 1,
        splitting_metric=metric,
        splitting_cutoff=cutoff if config.divisions else False,
        track_start_cost=cutoff,
        track_end_cost=cutoff,
        segment_start_cost=gap_cutoff,
        segment_end_cost=gap_cutoff,
        no_splitting_cost=cutoff,
    )


def link_movie(features: np.ndarray, frames: np.ndarray, config: TrackingConfig):
    """Links of one movie: ``{row: (previous row, frame gap)}`` and the set of split rows.

    ``features`` (n, d) float64 from :func:`feature_matrix`; ``frames`` (n,) int64 frame
    indices from 0. Row numbers are positions in these arrays.
    """
    n_frames = int(frames.max()) + 1 if len(frames) else 0
    rows_of = [np.flatnonzero(frames == f) for f in range(n_frames)]
    coords = [features[r] for r in rows_of]
    graph = _laptrack(config).predict(coords)
    previous: dict[int, tuple[int, int]] = {}
    children: dict[int, int] = {}
    for (f0, i0), (f1, i1) in graph.edges():
        if f0 > f1:
            (f0, i0), (f1, i1) = (f1, i1), (f0, i0)
        a, b = int(rows_of[f0][i0]), int(rows_of[f1][i1])
        previous[b] = (a, f1 - f0)
        children[a] = children.get(a, 0) + 1
    return previous, {a for a, k in children.items() if k > 1}


def track_table(
    table: Table,
    config: TrackingConfig | None = None,
    progress: Progress = no_progress,
    cancel: CancelCheck = never_cancelled,
) -> TrackingResult:
    """Add track columns to a measurement table (one row per object per plane).

    ``table`` needs ``centroid_y``/``centroid_x`` (px) and the frame column (``t``); the
    feature columns the config weighs (``area``, an intensity column, bbox columns,
    ``class_id``/``class_name``). Existing track columns are replaced. Rows without a
    position or time (NaN centroid or t) are kept with status ``untracked``. Raises
    :class:`TrackingError` for a table that cannot be tracked and
    :class:`TrackingCancelled` when ``cancel()`` turns true.
    """
    config = config or TrackingConfig()
    table = {k: v for k, v in table.items() if k not in TRACK_COLUMNS + ("track_age_s",)}
    require(table, [config.frame_column], "for the time point of each object (measure "
            "every plane of a time-lapse, or name the frame column)")
    n = len(table[config.frame_column])
    t_all = np.asarray(table[config.frame_column], dtype=np.float64)
    timed = np.isfinite(t_all)
    if not np.array_equal(t_all[timed], np.round(t_all[timed])):
        raise TrackingError(f"column {config.frame_column!r} must hold whole frame numbers")
    features = feature_matrix(table, config)
    positioned = (np.isfinite(features).all(axis=1) & timed) if n else np.zeros(0, bool)
    track_id = np.zeros(n, dtype=np.int64)
    parent = np.zeros(n, dtype=np.int64)
    age = np.zeros(n, dtype=np.int64)
    status = np.full(n, STATUS_UNTRACKED, dtype=object)
    first_row: dict[int, int] = {}
    movies = movie_groups(table)
    next_id, n_divisions = 1, 0
    for done, rows in enumerate(movies):
        if cancel():
            raise TrackingCancelled()
        progress(done, len(movies), "linking")
        rows = rows[positioned[rows]]
        if not len(rows):
            continue
        t = t_all[rows].astype(np.int64)
        order = np.argsort(t, kind="stable")
        rows, t = rows[order], t[order]
        frames, _, _ = frame_indices(t)
        previous, split = link_movie(features[rows], frames, config)
        for k in range(len(rows)):  # rows are in frame order: a parent is seen first
            row = rows[k]
            link = previous.get(k)
            if link is None or link[0] in split:
                track_id[row] = next_id
                first_row[next_id] = row
                next_id += 1
                if link is None:
                    status[row] = STATUS_NEW
                else:
                    parent[row] = track_id[rows[link[0]]]
                    status[row] = STATUS_DIVIDED
            else:
                track_id[row] = track_id[rows[link[0]]]
                status[row] = STATUS_MATCHED if link[1] == 1 else STATUS_GAP_CLOSED
            age[row] = int(t[k] - t_all[first_row[track_id[row]]])
        n_divisions += len(split)
    progress(len(movies), len(movies), "linked")
    added: Table = {"track_id": track_id, "track_status": status, "track_age": age}
    if "time_s" in table:
        time_s = np.asarray(table["time_s"], dtype=np.float64)
        first = np.array([first_row.get(int(i), -1) for i in track_id], dtype=np.int64)
        added["track_age_s"] = np.where(track_id > 0, time_s - time_s[first], np.nan)
    added["parent_track_id"] = parent
    added["lineage_id"] = lineage_ids(track_id, parent)
    values, counts = np.unique(status.astype(str), return_counts=True)
    statuses = {s: 0 for s in (STATUS_NEW, STATUS_MATCHED, STATUS_GAP_CLOSED, STATUS_DIVIDED,
                               STATUS_UNTRACKED)}
    statuses.update({str(v): int(c) for v, c in zip(values, counts, strict=True)})
    log.info("tracked %d rows into %d tracks", n, next_id - 1)
    return TrackingResult(_insert_after(table, added), next_id - 1, len(movies), statuses,
                          n_divisions)


def lineage_ids(track_id: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Per row, the root track of its lineage (follow ``parent`` until a track has none)."""
    track_id, parent = np.asarray(track_id, np.int64), np.asarray(parent, np.int64)
    mother = {int(t): int(p) for t, p in zip(track_id, parent, strict=True) if t > 0 and p > 0}

    def root(track: int) -> int:
        seen = set()
        while track in mother and track not in seen:  # a cycle cannot come from tracking
            seen.add(track)
            track = mother[track]
        return track

    roots = {int(t): root(int(t)) for t in np.unique(track_id[track_id > 0])}
    return np.array([roots.get(int(t), 0) for t in track_id], dtype=np.int64)


def _insert_after(table: Table, added: Table, anchor: str = "object_id") -> Table:
    """``table`` with ``added`` columns right after ``anchor`` (at the end without one)."""
    if anchor not in table:
        return {**table, **added}
    out: Table = {}
    for name, values in table.items():
        out[name] = values
        if name == anchor:
            out.update(added)
    return out


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def frames_from_image_order(table: Table, frame_column: str = "t") -> Table:
    """``table`` with ``frame_column`` = the rank of each row's image in natural name order.

    For movies saved as one file per frame (``frame_2.tif`` before ``frame_10.tif``): the
    images become one movie whose frames are the files. Raises :class:`TrackingError`
    without an ``image`` column.
    """
    require(table, ["image"], "to number frames by image name")
    names = np.asarray(table["image"]).astype(str)
    order = sorted(set(names.tolist()), key=_natural_key)
    rank = {name: k for k, name in enumerate(order)}
    out = dict(table)
    out[frame_column] = np.array([rank[n] for n in names], dtype=np.int64)
    out["image"] = np.full(len(names), f"{order[0]} … {order[-1]}" if order else "", dtype=object)
    out.setdefault("frame_image", names.astype(object))
    return out
